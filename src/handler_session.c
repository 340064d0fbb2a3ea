/* SPDX-License-Identifier: MIT */
/*
 * handler_session: browser sign-in. POST /session trades a token for a
 * session cookie (HttpOnly, SameSite=Strict, Path=/, Secure over TLS, with
 * Max-Age) and answers the session's CSRF token, which a page sends in
 * X-CSRF-Token with every request by cookie that changes state (router.c
 * checks it). DELETE /session signs out and clears the cookie.
 *
 * Both routes are public in the route table: POST checks the token of its
 * body, DELETE the cookie. A page on another site cannot sign a browser in
 * with a token of its own choosing: the body must be application/json,
 * which a cross-site form cannot send and a cross-origin fetch can only
 * send after a CORS preflight the allow-list answers.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "problem.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* The Set-Cookie value of the session cookie: value with max_age seconds to
 * live (0 and an empty value clear it). */
static void session_cookie(const struct request *req, struct response *resp, const char *value,
                           int64_t max_age)
{
    snprintf(resp->set_cookie, sizeof(resp->set_cookie),
             "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s", AUTH_SESSION_COOKIE,
             value, (long long)max_age, req->app->cfg->tls_cert ? "; Secure" : "");
}

void handler_session_create(struct request *req, struct response *resp)
{
    const json_t *tok = json_object_get(req->body, "token");
    const char *token = json_string_value(tok);
    int64_t ttl = req->app->cfg->session_ttl > 0 ? req->app->cfg->session_ttl : AUTH_SESSION_TTL_S;
    char id[65], csrf[65], expires[32];
    int64_t expires_at = 0;
    struct err err = {0};
    struct db_conn *c;
    struct tm tm;
    time_t t;
    int rc;

    if (!token || !*token || strlen(token) > 256 || strpbrk(token, " \t\r\n")) {
        json_t *errors = NULL;

        problem_field(&errors, "token", "%s",
                      tok ? "must be a token as printed by `modeld token create`"
                          : "is required: the token to sign in with");
        problem_validation(resp, errors);
        return;
    }
    c = db_acquire(req->app->db);
    rc = auth_session_start(req->app->authcache, c, token, ttl, id, csrf, &expires_at, &err);
    db_release(req->app->db, c);
    if (rc != 0) {
        if (err.code == ERR_UNAUTHORIZED) {
            resp->www_authenticate = 2;
            problem_set(resp, 401, "The token is unknown, revoked or expired.");
        } else {
            problem_from_err(resp, &err, req->request_id);
        }
        return;
    }
    t = (time_t)expires_at;
    gmtime_r(&t, &tm);
    strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
    resp->body = json_pack("{s:s, s:s}", "csrf_token", csrf, "expires", expires);
    if (!resp->body) {
        problem_set(resp, 500, "Cannot build the answer.");
        return;
    }
    session_cookie(req, resp, id, expires_at - util_now_unix());
    resp->status = 201;
}

void handler_session_delete(struct request *req, struct response *resp)
{
    struct db_session s = {0};
    struct err err = {0};
    struct db_conn *c;
    int rc = 0;

    if (req->session_cookie && auth_session_hash(req->session_cookie, s.hash) == 0) {
        c = db_acquire(req->app->db);
        rc = db_session_get(c, s.hash, util_now_unix(), &s, &err);
        if (rc == 0 && !auth_csrf_ok(s.csrf_hash, req->csrf_token)) {
            db_release(req->app->db, c);
            problem_typed(resp, 403, PROBLEM_CSRF_TOKEN,
                          "Signing out needs the header %s with the session's csrf_token.",
                          AUTH_CSRF_HEADER);
            return;
        }
        if (rc == 0)
            rc = db_session_delete(c, s.hash, &err);
        else if (err.code == ERR_NOT_FOUND)
            rc = 0; /* already ended: clearing the cookie is all there is to do */
        db_release(req->app->db, c);
    }
    if (rc != 0) {
        problem_from_err(resp, &err, req->request_id);
        return;
    }
    session_cookie(req, resp, "", 0);
    resp->status = 204;
}
