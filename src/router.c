/* SPDX-License-Identifier: MIT */
/*
 * router: the static route table and the checks every request passes before
 * its handler runs: route match (404/405), bearer token (401), project role
 * and read-only flag (403), media type (415). See router.h.
 */
#include "router.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "handlers.h"
#include "problem.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

static const char *const media_json[] = {"application/json", NULL};
static const char *const media_patch[] = {"application/json", "application/merge-patch+json",
                                          NULL};
static const char *const media_docs[] = {"application/json", "application/x-ndjson",
                                         "application/jsonl", "application/jsonlines", NULL};

#define P ROUTE_PROJECT
#define W ROUTE_WRITE
#define J ROUTE_JSON
#define I ROUTE_IDEMPOTENT

static const struct route routes[] = {
    {"GET", "/openapi.json", ROLE_NONE, ROUTE_PUBLIC, handler_meta_openapi_json, NULL, NULL},
    {"GET", "/openapi.yaml", ROLE_NONE, ROUTE_PUBLIC, handler_meta_openapi_yaml, NULL, NULL},
    {"GET", "/health", ROLE_NONE, ROUTE_PUBLIC, handler_meta_health, NULL, NULL},
    {"GET", "/healthz", ROLE_NONE, ROUTE_PUBLIC, handler_meta_healthz, NULL, NULL},
    {"GET", "/readyz", ROLE_NONE, ROUTE_PUBLIC, handler_meta_readyz, NULL, NULL},
    {"GET", "/metrics", ROLE_NONE, ROUTE_PUBLIC, handler_meta_metrics, NULL, NULL},
    {"GET", "/base-models", ROLE_NONE, 0, handler_base_list, NULL, NULL},
    {"GET", "/projects", ROLE_NONE, 0, handler_projects_list, NULL, NULL},
    /* browser sign-in: the handlers check the token / the cookie themselves */
    {"POST", "/session", ROLE_NONE, ROUTE_PUBLIC | J, handler_session_create, NULL, media_json},
    {"DELETE", "/session", ROLE_NONE, ROUTE_PUBLIC, handler_session_delete, NULL, NULL},
    {"GET", "/session", ROLE_NONE, ROUTE_PUBLIC, handler_session_get, NULL, NULL},
    /* the dashboard's files (handler_ui): public, the page signs in itself */
    {"GET", "/ui", ROLE_NONE, ROUTE_PUBLIC, handler_ui_index, NULL, NULL},
    {"GET", "/ui/{asset}", ROLE_NONE, ROUTE_PUBLIC, handler_ui_asset, NULL, NULL},
    {"GET", "/projects/{id}/annotations", ROLE_VIEWER, P, handler_annotations_list, NULL, NULL},
    {"POST", "/projects/{id}/annotations", ROLE_ANNOTATOR, P | W | J | I,
     handler_annotations_create,
     NULL, media_json},
    {"GET", "/projects/{id}/annotations/{id}", ROLE_VIEWER, P, handler_annotations_get, NULL,
     NULL},
    {"POST", "/projects/{id}/annotations/{id}/documents", ROLE_ANNOTATOR,
     P | W | I | ROUTE_STREAM,
     handler_annotations_upload, &handler_annotations_upload_stream, media_docs},
    {"GET", "/projects/{id}/members", ROLE_MANAGER, P, handler_members_list, NULL, NULL},
    {"PUT", "/projects/{id}/members/{id}", ROLE_OWNER, P | W | J, handler_members_put, NULL,
     media_json},
    {"DELETE", "/projects/{id}/members/{id}", ROLE_OWNER, P | W, handler_members_delete, NULL,
     NULL},
    {"GET", "/projects/{id}/events", ROLE_VIEWER, P, handler_projects_events, NULL, NULL},
    {"GET", "/projects/{id}/models", ROLE_VIEWER, P, handler_models_list, NULL, NULL},
    {"POST", "/projects/{id}/models", ROLE_MANAGER, P | W | J | I, handler_models_create, NULL,
     media_json},
    {"GET", "/projects/{id}/models/{id}", ROLE_VIEWER, P, handler_models_get, NULL, NULL},
    {"GET", "/projects/{id}/models/{id}/events", ROLE_VIEWER, P, handler_models_events, NULL,
     NULL},
    {"GET", "/projects/{id}/models/{id}/explanation", ROLE_VIEWER, P, handler_models_explanation,
     NULL, NULL},
    {"PATCH", "/projects/{id}/models/{id}", ROLE_MANAGER, P | W | J, handler_models_patch, NULL,
     media_patch},
    {"DELETE", "/projects/{id}/models/{id}", ROLE_MANAGER, P | W, handler_models_delete, NULL,
     NULL},
    {"POST", "/projects/{id}/models/{id}/cancel", ROLE_MANAGER, P | W, handler_models_cancel,
     NULL, NULL},
    {"POST", "/projects/{id}/models/{id}/predict", ROLE_VIEWER, P | J, handler_models_predict,
     NULL, media_json},
};

#undef P
#undef W
#undef J

const struct route *router_routes(size_t *n)
{
    *n = sizeof(routes) / sizeof(routes[0]);
    return routes;
}

const char *request_query(const struct request *r, const char *key)
{
    for (size_t i = 0; i < r->nq; i++)
        if (strcmp(r->qkeys[i], key) == 0)
            return r->qvals[i];
    return NULL;
}

void response_release(struct response *r)
{
    if (!r)
        return;
    json_decref(r->body);
    r->body = NULL;
    free(r->raw);
    r->raw = NULL;
    if (r->events.free)
        r->events.free(r->events.state);
    memset(&r->events, 0, sizeof(r->events));
}

/* Match path against pattern; fills args. 1 on match. A "{asset}" segment
 * (the last of a pattern) takes the rest of the path: one or more non-empty
 * segments (the handler reads it from the path). */
static int path_match(const char *pattern, const char *path, int64_t args[2], int *nargs)
{
    const char *p = pattern, *s = path;
    int n = 0;

    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return 0;
        p++;
        s++;
        size_t plen = strcspn(p, "/"), slen = strcspn(s, "/");

        if (plen == 7 && memcmp(p, "{asset}", 7) == 0) {
            assert(p[plen] == '\0'); /* the table's rule: only as the last segment */
            *nargs = n;
            return slen > 0 && s[strlen(s) - 1] != '/' && !strstr(s, "//");
        }
        if (plen == 4 && memcmp(p, "{id}", 4) == 0) {
            char num[24];
            int64_t v;

            if (slen == 0 || slen >= sizeof(num) || n >= 2)
                return 0;
            memcpy(num, s, slen);
            num[slen] = '\0';
            /* canonical ids only: decimal digits, no sign, no leading zero */
            if (num[0] < '1' || num[0] > '9' || util_parse_i64(num, 1, INT64_MAX, &v) != 0)
                return 0;
            args[n++] = v;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen;
        s += slen;
    }
    if (*p || (*s && strcmp(s, "/") != 0))
        return 0;
    *nargs = n;
    return 1;
}

const struct route *router_match(const char *method, const char *path, struct request *req,
                                 struct response *resp)
{
    size_t n = sizeof(routes) / sizeof(routes[0]);
    const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
    char allow[64] = "";
    int path_known = 0;

    assert(method && path && req && resp);
    for (size_t i = 0; i < n; i++) {
        int64_t args[2];
        int nargs = 0;

        if (!path_match(routes[i].pattern, path, args, &nargs))
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, m) == 0) {
            /* the table's own rules: a handler, stream ops exactly on streaming
             * routes, and a project id for a project route */
            assert(routes[i].handler && nargs >= 0 && nargs <= 2);
            assert(!(routes[i].flags & ROUTE_STREAM) == !routes[i].stream);
            assert(!(routes[i].flags & ROUTE_PROJECT) || nargs >= 1);
            memcpy(req->args, args, sizeof(args));
            req->nargs = nargs;
            return &routes[i];
        }
        if (!strstr(allow, routes[i].method)) {
            size_t len = strlen(allow);

            snprintf(allow + len, sizeof(allow) - len, "%s%s", len ? ", " : "", routes[i].method);
            if (strcmp(routes[i].method, "GET") == 0 && !strstr(allow, "HEAD")) {
                len = strlen(allow);
                snprintf(allow + len, sizeof(allow) - len, ", HEAD");
            }
        }
    }
    if (path_known) {
        problem_set(resp, 405, "%s is not allowed on %s; allowed: %s", method, path, allow);
        snprintf(resp->allow, sizeof(resp->allow), "%s", allow);
    } else {
        problem_set(resp, 404, "There is no resource at %s.", path);
    }
    return NULL;
}

static int media_ok(const struct route *route, const char *content_type)
{
    const char *const *types = route->media_types ? route->media_types : media_json;
    size_t len;

    if (!content_type)
        return 0;
    while (*content_type == ' ')
        content_type++;
    len = strcspn(content_type, "; \t");
    for (; *types; types++)
        if (strlen(*types) == len && strncasecmp(*types, content_type, len) == 0)
            return 1;
    return 0;
}

/* A token in the URL (it would end up in logs and browser histories): 1
 * after filling resp with the 400, else 0. The token is never looked up. */
static int token_in_url(const struct request *req, struct response *resp)
{
    static const char *const keys[] = {"token", "access_token"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (request_query(req, keys[i])) {
            json_t *errors = NULL;

            problem_field(&errors, keys[i], "a token is never accepted in a URL; send it in an "
                                            "'Authorization: Bearer <token>' header");
            problem_validation(resp, errors);
            return 1;
        }
    }
    return 0;
}

/* Identify the caller by the session cookie, and for a method that is not
 * safe check the CSRF token: 0, or -1 with resp filled (401/403/500). */
static int session_identify(struct db_conn *c, struct request *req, struct response *resp)
{
    struct err err = {0};
    char csrf_hash[65];
    int safe = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

    if (auth_identify_session(req->app->authcache, c, req->session_cookie, &req->caller,
                              csrf_hash, &err) != 0) {
        if (err.code == ERR_UNAUTHORIZED) {
            resp->www_authenticate = 1;
            problem_set(resp, 401, "The session cookie is not valid (unknown, expired, signed "
                                   "out, or its token was revoked); sign in again with POST "
                                   "/session or send 'Authorization: Bearer <token>'.");
        } else {
            problem_from_err(resp, &err, req->request_id);
        }
        return -1;
    }
    req->by_session = 1;
    if (!safe && !auth_csrf_ok(csrf_hash, req->csrf_token)) {
        problem_typed(resp, 403, PROBLEM_CSRF_TOKEN,
                      "A request by session cookie that changes state needs the header %s "
                      "with the csrf_token of POST /session (%s).",
                      AUTH_CSRF_HEADER, req->csrf_token ? "it does not match" : "it is missing");
        return -1;
    }
    return 0;
}

int router_authorize(const struct route *route, const char *authorization, struct request *req,
                     struct response *resp)
{
    struct db_conn *c = NULL;
    struct err err = {0};
    const char *token;
    int ret = -1;

    assert(route && req && resp);
    if (token_in_url(req, resp))
        return -1;
    if (route->flags & ROUTE_PUBLIC)
        goto media;
    if (!authorization && req->session_cookie) {
        c = db_acquire(req->app->db);
        if (session_identify(c, req, resp) != 0)
            goto out;
        goto identified;
    }
    token = auth_bearer(authorization);
    if (!token) {
        problem_set(resp, 401, authorization ? "The Authorization header must be 'Bearer <token>'."
                                             : "This request needs an 'Authorization: Bearer "
                                               "<token>' header (or a session cookie).");
        return -1;
    }
    c = db_acquire(req->app->db);
    if (auth_identify(req->app->authcache, c, token, &req->caller, &err) != 0) {
        if (err.code == ERR_UNAUTHORIZED)
            resp->www_authenticate = 2;
        problem_from_err(resp, &err, req->request_id);
        goto out;
    }
identified:
    if ((route->flags & ROUTE_PROJECT) &&
        auth_project_role(req->app->authcache, c, req->args[0], &req->caller, &err) != 0) {
        if (err.code == ERR_NOT_FOUND)
            problem_set(resp, 403, "You have no role in project %lld.", (long long)req->args[0]);
        else
            problem_from_err(resp, &err, req->request_id);
        goto out;
    }
    switch (auth_check(&req->caller, route->flags & ROUTE_PROJECT, route->min_role,
                       route->flags & ROUTE_WRITE)) {
    case AUTH_ROLE_TOO_LOW:
        problem_set(resp, 403, "This needs the project role %s or above; you are %s.",
                    domain_role_name(route->min_role), domain_role_name(req->caller.role));
        goto out;
    case AUTH_READ_ONLY:
        problem_set(resp, 403, "Your user is read-only.");
        goto out;
    case AUTH_ALLOWED:
        assert(!(route->flags & ROUTE_PROJECT) || req->caller.role >= route->min_role);
        break;
    }
media:
    if ((route->flags & (ROUTE_JSON | ROUTE_STREAM)) && !media_ok(route, req->content_type)) {
        char want[160] = "";
        const char *const *t = route->media_types ? route->media_types : media_json;

        for (; *t; t++) {
            size_t len = strlen(want);

            snprintf(want + len, sizeof(want) - len, "%s%s", len ? " or " : "", *t);
        }
        problem_set(resp, 415, "Send the body as %s (got %s).", want,
                    req->content_type ? req->content_type : "no Content-Type");
        goto out;
    }
    ret = 0;
out:
    if (c)
        db_release(req->app->db, c);
    return ret;
}
