/* SPDX-License-Identifier: MIT */
/*
 * handler_session: browser sign-in. POST /session trades a token for a
 * session cookie (HttpOnly, SameSite=Strict, Path=/, Secure over TLS, with
 * Max-Age) and answers the session's CSRF token, which a page sends in
 * X-CSRF-Token with every request by cookie that changes state (router.c
 * checks it). GET /session answers the session of the cookie (its user,
 * its CSRF token, its expiry): a reloaded page has lost the token it held
 * in memory, and the cookie is HttpOnly. DELETE /session signs out and
 * clears the cookie.
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

/* expires_at as RFC 3339 UTC into out (32 bytes). */
static void session_time(int64_t expires_at, char out[32])
{
    time_t t = (time_t)expires_at;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
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
    session_time(expires_at, expires);
    resp->body = json_pack("{s:s, s:s}", "csrf_token", csrf, "expires", expires);
    if (!resp->body) {
        problem_set(resp, 500, "Cannot build the answer.");
        return;
    }
    session_cookie(req, resp, id, expires_at - util_now_unix());
    resp->status = 201;
}

void handler_session_get(struct request *req, struct response *resp)
{
    struct caller who = {0};
    struct db_session s = {0};
    struct err err = {0};
    char csrf_hash[65], csrf[65], expires[32];
    struct db_conn *c;
    int rc = -1;

    if (req->session_cookie) {
        c = db_acquire(req->app->db);
        /* the session and its token, checked as for any request by cookie */
        rc = auth_identify_session(req->app->authcache, c, req->session_cookie, &who, csrf_hash,
                                   &err);
        if (rc == 0 && auth_session_hash(req->session_cookie, s.hash) == 0)
            rc = db_session_get(c, s.hash, util_now_unix(), &s, &err);
        db_release(req->app->db, c);
    } else {
        err_set(&err, ERR_UNAUTHORIZED, "no session cookie");
    }
    if (rc == 0) {
        auth_session_csrf(req->session_cookie, csrf);
        if (!auth_csrf_ok(csrf_hash, csrf)) { /* a session whose CSRF token was not derived */
            err_set(&err, ERR_UNAUTHORIZED, "a session of an older version");
            rc = -1;
        }
    }
    if (rc != 0) {
        if (err.code == ERR_UNAUTHORIZED || err.code == ERR_NOT_FOUND) {
            resp->www_authenticate = 1;
            problem_set(resp, 401, "There is no valid session (no cookie, or it is unknown, "
                                   "expired, signed out, or its token was revoked); sign in "
                                   "with POST /session.");
        } else {
            problem_from_err(resp, &err, req->request_id);
        }
        goto out;
    }
    session_time(s.expires_at, expires);
    resp->body = json_pack("{s:{s:I, s:s}, s:s, s:s}", "user", "id", (json_int_t)who.user_id,
                           "name", who.user_name ? who.user_name : "", "csrf_token", csrf,
                           "expires", expires);
    if (!resp->body) {
        problem_set(resp, 500, "Cannot build the answer.");
        goto out;
    }
    resp->status = 200;
out:
    auth_caller_release(&who);
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
