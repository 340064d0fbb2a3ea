/* SPDX-License-Identifier: MIT */
/*
 * HTTP tests of authentication and authorization (issue 2): 401 with
 * WWW-Authenticate: Bearer (RFC 6750) for every kind of bad credential, 403
 * for missing or too low roles, read-only users and unknown projects, the
 * full role x route matrix over the router's own table, the order of checks
 * (401 -> 403 -> 415/413/400), 404/405 and problem bodies, and a 500 that
 * leaks nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "testapi.h"
#include "util.h"

static const char absa_docs[] =
    "{\"text\":\"The pasta was great.\",\"aspects\":[{\"category\":\"FOOD#QUALITY\","
    "\"polarity\":\"positive\"}]}\n";

enum who { W_VIEWER, W_ANNOTATOR, W_MANAGER, W_OWNER, W_NONE, W_READONLY, W_COUNT };
static const char *const who_name[W_COUNT] = {"VIEWER", "ANNOTATOR", "MANAGER",
                                              "OWNER",  "none",      "read-only OWNER"};

struct world {
    struct tserver ts;
    int64_t ws, pr, session;
    int64_t users[W_COUNT];
    char tok[W_COUNT][65];
};

static void world_up(struct world *w)
{
    static const char *const roles[W_COUNT] = {"VIEWER", "ANNOTATOR", "MANAGER",
                                               "OWNER",  NULL,        "OWNER"};

    memset(w, 0, sizeof(*w));
    tserver_start(&w->ts, 1);
    w->ws = tfx_workspace(&w->ts, "ws");
    w->pr = tfx_project(&w->ts, w->ws, "p");
    for (int i = 0; i < W_COUNT; i++) {
        char name[32];

        snprintf(name, sizeof(name), "user%d", i);
        w->users[i] = tfx_user(&w->ts, name, i == W_READONLY, w->tok[i]);
        if (roles[i])
            tfx_member(&w->ts, w->pr, w->users[i], roles[i]);
    }
    w->session = tfx_session(&w->ts, w->pr, "s", "ABSA", "en", absa_docs);
}

static void models_path(const struct world *w, char *buf, size_t len)
{
    snprintf(buf, len, "/projects/%lld/models", (long long)w->pr);
}

static void assert_401(const struct tresp *r, const char *secret)
{
    tassert_problem(r, 401);
    ck_assert_msg(strncmp(r->www_auth, "Bearer", 6) == 0, "WWW-Authenticate: '%s'", r->www_auth);
    if (secret)
        ck_assert_msg(strstr(r->body, secret) == NULL, "the token is echoed: %s", r->body);
}

/* ---- 401 ----------------------------------------------------------------------- */

START_TEST(test_401_kinds)
{
    struct world w;
    struct tresp r;
    char path[96], hdr[512], expired[65], later[65], revoked[65], out[128];
    char long_tok[301];

    world_up(&w);
    models_path(&w, path, sizeof(path));
    /* no Authorization header */
    thttp(&w.ts, "GET", path, NULL, NULL, NULL, &r);
    assert_401(&r, NULL);
    /* RFC 6750 3.1: no error code when the request carried no credentials */
    ck_assert_ptr_null(strstr(r.www_auth, "error="));
    tresp_release(&r);
    /* malformed headers */
    {
        const char *const bad[] = {"Authorization: Basic dXNlcjpwYXNz",
                                   "Authorization: Bearer",
                                   "Authorization: Bearer ",
                                   "Authorization: Token abc",
                                   "Authorization: Bearerabc",
                                   NULL};

        for (const char *const *b = bad; *b; b++) {
            const char *h[] = {*b, NULL};

            thttp_headers(&w.ts, "GET", path, h, NULL, &r);
            ck_assert_msg(r.status == 401, "%s -> %ld", *b, r.status);
            assert_401(&r, NULL);
            tresp_release(&r);
        }
    }
    /* a bearer token that is too long, and one that is unknown */
    memset(long_tok, 'a', 300);
    long_tok[300] = '\0';
    thttp(&w.ts, "GET", path, long_tok, NULL, NULL, &r);
    assert_401(&r, long_tok);
    tresp_release(&r);
    thttp(&w.ts, "GET", path, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
          NULL, NULL, &r);
    assert_401(&r, "0123456789abcdef0123456789abcdef");
    ck_assert_msg(strstr(r.www_auth, "invalid_token") != NULL, "%s", r.www_auth);
    tresp_release(&r);
    /* the scheme is case-insensitive (RFC 9110 11.1) */
    snprintf(hdr, sizeof(hdr), "Authorization: bearer %s", w.tok[W_OWNER]);
    {
        const char *h[] = {hdr, NULL};

        thttp_headers(&w.ts, "GET", path, h, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        tresp_release(&r);
    }
    /* expired, not yet expired */
    tfx_token(&w.ts, w.users[W_OWNER], util_now_unix() - 5, expired);
    tfx_token(&w.ts, w.users[W_OWNER], util_now_unix() + 3600, later);
    thttp(&w.ts, "GET", path, expired, NULL, NULL, &r);
    assert_401(&r, expired);
    ck_assert_msg(strstr(r.www_auth, "invalid_token") != NULL, "%s", r.www_auth);
    tresp_release(&r);
    thttp(&w.ts, "GET", path, later, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    /* revoked with the CLI while the daemon runs */
    tfx_token(&w.ts, w.users[W_OWNER], 0, revoked);
    thttp(&w.ts, "GET", path, revoked, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    {
        const char *args[] = {"token", "revoke", "--db", w.ts.db_path, "--token", revoked, NULL};

        ck_assert_int_eq(trun(args, out, sizeof(out)), 0);
    }
    /* the daemon caches callers and sees another process's revocation within 1 s */
    for (double t0 = util_monotonic();; tapi_sleep(0.02)) {
        thttp(&w.ts, "GET", path, revoked, NULL, NULL, &r);
        if (r.status == 401)
            break;
        ck_assert_msg(util_monotonic() - t0 < 1.0 * TAPI_SLOW, "revoked token still %ld",
                      r.status);
        tresp_release(&r);
    }
    assert_401(&r, revoked);
    tresp_release(&r);
    /* the other tokens of the user still work */
    thttp(&w.ts, "GET", path, w.tok[W_OWNER], NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    /* /base-models needs a token too; /health and /openapi.json do not */
    thttp(&w.ts, "GET", "/base-models", NULL, NULL, NULL, &r);
    assert_401(&r, NULL);
    tresp_release(&r);
    thttp(&w.ts, "GET", "/openapi.json", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    thttp(&w.ts, "GET", "/health", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "status")), "ok");
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "version")), MODELD_VERSION);
    tresp_release(&r);
    tserver_cleanup(&w.ts);
}
END_TEST

/* ---- 403 ----------------------------------------------------------------------- */

START_TEST(test_403_kinds)
{
    struct world w;
    struct tresp r;
    char path[96], body[256];

    world_up(&w);
    models_path(&w, path, sizeof(path));
    snprintf(body, sizeof(body), "{\"name\":\"m\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
             (long long)w.session);
    /* role too low, no role, read-only */
    tjson(&w.ts, "POST", path, w.tok[W_ANNOTATOR], body, &r);
    tassert_problem(&r, 403);
    tresp_release(&r);
    tjson(&w.ts, "POST", path, w.tok[W_NONE], body, &r);
    tassert_problem(&r, 403);
    tresp_release(&r);
    tjson(&w.ts, "POST", path, w.tok[W_READONLY], body, &r);
    tassert_problem(&r, 403);
    tresp_release(&r);
    /* a read-only user may still read */
    thttp(&w.ts, "GET", path, w.tok[W_READONLY], NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    /* an unknown project is a 403 too, exactly like a project without a role */
    {
        struct tresp r2;

        tjson(&w.ts, "POST", "/projects/987654/models", w.tok[W_OWNER], body, &r);
        tassert_problem(&r, 403);
        thttp(&w.ts, "GET", "/projects/987654/models", w.tok[W_OWNER], NULL, NULL, &r2);
        tassert_problem(&r2, 403);
        tresp_release(&r2);
        tresp_release(&r);
    }
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM models"), 0);
    tjson(&w.ts, "POST", path, w.tok[W_MANAGER], body, &r);
    ck_assert_int_eq(r.status, 201);
    tresp_release(&r);
    tserver_cleanup(&w.ts);
}
END_TEST

/* ---- role matrix ---------------------------------------------------------------- */

/* The minimum role the issue asks for on each route (reads: any role). */
static const struct {
    const char *method, *pattern;
    enum role min;
    int write;
} expected_roles[] = {
    {"GET", "/openapi.json", ROLE_NONE, 0},
    {"GET", "/openapi.yaml", ROLE_NONE, 0},
    {"GET", "/health", ROLE_NONE, 0},
    {"GET", "/healthz", ROLE_NONE, 0},
    {"GET", "/readyz", ROLE_NONE, 0},
    {"GET", "/metrics", ROLE_NONE, 0},
    {"GET", "/base-models", ROLE_NONE, 0},
    {"GET", "/projects", ROLE_NONE, 0},
    {"GET", "/projects/{id}/members", ROLE_MANAGER, 0},
    {"PUT", "/projects/{id}/members/{id}", ROLE_OWNER, 1},
    {"DELETE", "/projects/{id}/members/{id}", ROLE_OWNER, 1},
    {"POST", "/session", ROLE_NONE, 0},   /* checks the token of its body */
    {"DELETE", "/session", ROLE_NONE, 0}, /* checks its cookie */
    {"GET", "/session", ROLE_NONE, 0},    /* the cookie's session: 401 to all without one */
    {"GET", "/ui", ROLE_NONE, 0},         /* the dashboard's files: public */
    {"GET", "/ui/{asset}", ROLE_NONE, 0},
    {"GET", "/projects/{id}/annotations", ROLE_VIEWER, 0},
    {"POST", "/projects/{id}/annotations", ROLE_ANNOTATOR, 1},
    {"GET", "/projects/{id}/annotations/{id}", ROLE_VIEWER, 0},
    {"POST", "/projects/{id}/annotations/{id}/documents", ROLE_ANNOTATOR, 1},
    {"GET", "/projects/{id}/events", ROLE_VIEWER, 0},
    {"GET", "/projects/{id}/models", ROLE_VIEWER, 0},
    {"POST", "/projects/{id}/models", ROLE_MANAGER, 1},
    {"GET", "/projects/{id}/models/{id}", ROLE_VIEWER, 0},
    {"GET", "/projects/{id}/models/{id}/events", ROLE_VIEWER, 0},
    {"GET", "/projects/{id}/models/{id}/explanation", ROLE_VIEWER, 0},
    {"PATCH", "/projects/{id}/models/{id}", ROLE_MANAGER, 1},
    {"DELETE", "/projects/{id}/models/{id}", ROLE_MANAGER, 1},
    {"POST", "/projects/{id}/models/{id}/cancel", ROLE_MANAGER, 1},
    {"POST", "/projects/{id}/models/{id}/predict", ROLE_VIEWER, 0},
};

/* pattern with the first {id} = project, the second = a missing resource. */
static void fill_path(const char *pattern, int64_t project, char *out, size_t len)
{
    size_t o = 0;
    int n = 0;

    for (const char *p = pattern; *p && o + 24 < len;) {
        if (strncmp(p, "{id}", 4) == 0) {
            o += (size_t)snprintf(out + o, len - o, "%lld",
                                  n++ == 0 ? (long long)project : 999999LL);
            p += 4;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

START_TEST(test_role_matrix)
{
    struct world w;
    size_t n;
    const struct route *routes = router_routes(&n);
    int checked = 0;

    world_up(&w);
    ck_assert_uint_eq(n, sizeof(expected_roles) / sizeof(expected_roles[0]));
    for (size_t i = 0; i < n; i++) {
        const struct route *rt = &routes[i];
        size_t e;
        char path[256];
        const char *ctype = NULL, *body = NULL;
        /* the project's event stream never ends: an allowed caller asks with HEAD, which
         * gets its status and headers only */
        int endless = strcmp(rt->pattern, "/projects/{id}/events") == 0;

        for (e = 0; e < n; e++)
            if (strcmp(expected_roles[e].method, rt->method) == 0 &&
                strcmp(expected_roles[e].pattern, rt->pattern) == 0)
                break;
        ck_assert_msg(e < n, "route %s %s is not in the test's table", rt->method, rt->pattern);
        ck_assert_msg(rt->min_role == expected_roles[e].min, "%s %s: min role %d, expected %d",
                      rt->method, rt->pattern, rt->min_role, expected_roles[e].min);
        ck_assert_msg(!!(rt->flags & ROUTE_WRITE) == expected_roles[e].write, "%s %s: write flag",
                      rt->method, rt->pattern);
        fill_path(rt->pattern, w.pr, path, sizeof(path));
        if (rt->flags & ROUTE_JSON) {
            ctype = strcmp(rt->method, "PATCH") == 0 ? "application/merge-patch+json"
                                                     : "application/json";
            body = "{}";
        } else if (rt->flags & ROUTE_STREAM) {
            ctype = "application/x-ndjson";
            body = "{\"text\":\"x\",\"aspects\":[]}\n";
        }
        for (int u = -1; u < W_COUNT; u++) {
            struct tresp r;
            int allowed;

            if (rt->flags & ROUTE_PUBLIC)
                allowed = 1;
            else if (u < 0)
                allowed = 0;
            else if (!(rt->flags & ROUTE_PROJECT))
                allowed = 1;
            else
                allowed = u != W_NONE &&
                          (enum role)(u == W_READONLY ? ROLE_OWNER : u + 1) >= rt->min_role &&
                          !(u == W_READONLY && (rt->flags & ROUTE_WRITE));
            thttp(&w.ts, endless && allowed ? "HEAD" : rt->method, path,
                  u < 0 ? NULL : w.tok[u], ctype, body, &r);
            if (strcmp(rt->method, "GET") == 0 && strcmp(rt->pattern, "/session") == 0) {
                /* a bearer token is no session: GET /session answers by cookie only */
                tassert_problem(&r, 401);
            } else if (allowed) {
                ck_assert_msg(r.status != 401 && r.status != 403 && r.status < 500,
                              "%s %s as %s: %ld %s", rt->method, path,
                              u < 0 ? "anonymous" : who_name[u], r.status, r.body);
            } else {
                ck_assert_msg(r.status == (u < 0 ? 401 : 403), "%s %s as %s: %ld (expected %d)",
                              rt->method, path, u < 0 ? "anonymous" : who_name[u], r.status,
                              u < 0 ? 401 : 403);
                tassert_problem(&r, r.status);
            }
            tresp_release(&r);
            checked++;
        }
        /* an unknown project: 403 for every authenticated caller of a project route */
        if (rt->flags & ROUTE_PROJECT) {
            struct tresp r;

            fill_path(rt->pattern, 424242, path, sizeof(path));
            thttp(&w.ts, rt->method, path, w.tok[W_OWNER], ctype, body, &r);
            tassert_problem(&r, 403);
            tresp_release(&r);
        }
    }
    ck_assert_int_eq(checked, (int)n * (W_COUNT + 1));
    /* nothing was written by any denied (or invalid) request */
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM models"), 0);
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM annotations"), 1);
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM documents"), 1);
    tserver_cleanup(&w.ts);
}
END_TEST

/* ---- order of checks ---------------------------------------------------------------- */

struct gen_bytes {
    size_t left;
    char fill;
};

static size_t gen_fill(char *buf, size_t len, void *ctx)
{
    struct gen_bytes *g = ctx;
    size_t n = len < g->left ? len : g->left;

    memset(buf, g->fill, n);
    g->left -= n;
    return n;
}

START_TEST(test_order_of_checks)
{
    struct world w;
    struct tresp r;
    char path[96];

    world_up(&w);
    models_path(&w, path, sizeof(path));
    /* no token + wrong media type + invalid body: 401 */
    thttp(&w.ts, "POST", path, NULL, "text/plain", "not json", &r);
    assert_401(&r, NULL);
    tresp_release(&r);
    /* bad token + everything else wrong: 401 */
    thttp(&w.ts, "POST", path, "nope", "text/plain", "not json", &r);
    assert_401(&r, NULL);
    tresp_release(&r);
    /* too low a role + wrong media type: 403 */
    thttp(&w.ts, "POST", path, w.tok[W_VIEWER], "text/plain", "not json", &r);
    tassert_problem(&r, 403);
    tresp_release(&r);
    /* unknown project + invalid body: 403 */
    thttp(&w.ts, "POST", "/projects/5555/models", w.tok[W_OWNER], "application/json", "{", &r);
    tassert_problem(&r, 403);
    tresp_release(&r);
    /* allowed: wrong or missing media type is 415, before the body is looked at */
    thttp(&w.ts, "POST", path, w.tok[W_MANAGER], "text/plain", "not json", &r);
    tassert_problem(&r, 415);
    tresp_release(&r);
    thttp(&w.ts, "POST", path, w.tok[W_MANAGER], NULL, "{}", &r);
    tassert_problem(&r, 415);
    tresp_release(&r);
    thttp(&w.ts, "POST", path, w.tok[W_MANAGER], "application/jsonx", "{}", &r);
    tassert_problem(&r, 415);
    tresp_release(&r);
    /* parameters of the media type are fine */
    thttp(&w.ts, "POST", path, w.tok[W_MANAGER], "application/json; charset=utf-8", "{}", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    thttp(&w.ts, "POST", path, w.tok[W_MANAGER], "Application/JSON", "{}", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    /* over 1 MiB: 413 whether the length is declared or the body is chunked; a body of
     * exactly 1 MiB is read (and is invalid JSON here: 400) */
    {
        struct gen_bytes g = {((size_t)1 << 20) + 1, ' '};

        thttp_stream(&w.ts, "POST", path, w.tok[W_MANAGER], "application/json", gen_fill, &g,
                     (long long)g.left, &r);
        tassert_problem(&r, 413);
        tresp_release(&r);
        g = (struct gen_bytes){((size_t)1 << 20) + 1, ' '};
        ck_assert_int_eq(thttp_stream(&w.ts, "POST", path, w.tok[W_MANAGER], "application/json",
                                      gen_fill, &g, -1, &r),
                         0);
        tassert_problem(&r, 413);
        tresp_release(&r);
        g = (struct gen_bytes){(size_t)1 << 20, ' '};
        ck_assert_int_eq(thttp_stream(&w.ts, "POST", path, w.tok[W_MANAGER], "application/json",
                                      gen_fill, &g, (long long)g.left, &r),
                         0);
        tassert_problem(&r, 400);
        tresp_release(&r);
        /* 413 comes after 403 and 415 */
        g = (struct gen_bytes){((size_t)1 << 20) + 1, ' '};
        thttp_stream(&w.ts, "POST", path, w.tok[W_VIEWER], "application/json", gen_fill, &g,
                     (long long)g.left, &r);
        tassert_problem(&r, 403);
        tresp_release(&r);
        g = (struct gen_bytes){((size_t)1 << 20) + 1, ' '};
        thttp_stream(&w.ts, "POST", path, w.tok[W_MANAGER], "text/plain", gen_fill, &g,
                     (long long)g.left, &r);
        tassert_problem(&r, 415);
        tresp_release(&r);
    }
    tserver_cleanup(&w.ts);
}
END_TEST

/* ---- 404 / 405 --------------------------------------------------------------------- */

START_TEST(test_404_405)
{
    static const char *const unknown[] = {"/",
                                          "/nope",
                                          "/projectz",
                                          "/projects/1",
                                          "/projects/1/modelz",
                                          "/projects/abc/models",
                                          "/projects/0/models",
                                          "/projects/-1/models",
                                          "/projects/1/models/1/extra",
                                          "/projects/99999999999999999999999/models",
                                          "/projects//models",
                                          "/%FF",                 /* not UTF-8 */
                                          "/projects/1/mod%E4ls", /* Latin-1 */
                                          NULL};
    struct world w;
    struct tresp r;
    char p[128];

    world_up(&w);
    for (const char *const *u = unknown; *u; u++) {
        thttp(&w.ts, "GET", *u, w.tok[W_OWNER], NULL, NULL, &r);
        ck_assert_msg(r.status == 404, "%s -> %ld", *u, r.status);
        tassert_problem(&r, 404);
        tresp_release(&r);
        thttp(&w.ts, "GET", *u, NULL, NULL, NULL, &r);
        tassert_problem(&r, 404);
        tresp_release(&r);
    }
    /* a long path of two-byte characters: the detail is cut, never in mid-character */
    {
        char longp[4096] = "/x";

        for (int i = 0; i < 600; i++)
            strcat(longp, "%C3%A4");
        thttp(&w.ts, "GET", longp, w.tok[W_OWNER], NULL, NULL, &r);
        tassert_problem(&r, 404);
        tresp_release(&r);
    }
    snprintf(p, sizeof(p), "/projects/%lld/models", (long long)w.pr);
    thttp(&w.ts, "PUT", p, w.tok[W_OWNER], "application/json", "{}", &r);
    tassert_problem(&r, 405);
    ck_assert_msg(strstr(r.allow, "GET") && strstr(r.allow, "POST") && strstr(r.allow, "HEAD"),
                  "Allow: %s", r.allow);
    ck_assert_ptr_null(strstr(r.allow, "PUT"));
    tresp_release(&r);
    snprintf(p, sizeof(p), "/projects/%lld/models/1", (long long)w.pr);
    thttp(&w.ts, "POST", p, w.tok[W_OWNER], "application/json", "{}", &r);
    tassert_problem(&r, 405);
    ck_assert_msg(strstr(r.allow, "GET") && strstr(r.allow, "PATCH") && strstr(r.allow, "DELETE") &&
                      !strstr(r.allow, "POST"),
                  "Allow: %s", r.allow);
    tresp_release(&r);
    snprintf(p, sizeof(p), "/projects/%lld/models/1/cancel", (long long)w.pr);
    thttp(&w.ts, "GET", p, w.tok[W_OWNER], NULL, NULL, &r);
    tassert_problem(&r, 405);
    ck_assert_str_eq(r.allow, "POST");
    tresp_release(&r);
    thttp(&w.ts, "DELETE", "/base-models", NULL, NULL, NULL, &r);
    tassert_problem(&r, 405);
    ck_assert_msg(strstr(r.allow, "GET") != NULL, "Allow: %s", r.allow);
    tresp_release(&r);
    /* HEAD on a GET route: headers only */
    snprintf(p, sizeof(p), "/projects/%lld/models", (long long)w.pr);
    thttp(&w.ts, "HEAD", p, w.tok[W_OWNER], NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 0);
    tresp_release(&r);
    tserver_cleanup(&w.ts);
}
END_TEST

/* ---- 500 ------------------------------------------------------------------------------ */

START_TEST(test_500_leaks_nothing)
{
    struct world w;
    struct tresp r;
    char path[96], body[256];

    world_up(&w);
    models_path(&w, path, sizeof(path));
    /* break the storage under the daemon's feet */
    tsql(&w.ts, "DROP TABLE model_annotations");
    snprintf(body, sizeof(body), "{\"name\":\"m\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
             (long long)w.session);
    tjson(&w.ts, "POST", path, w.tok[W_MANAGER], body, &r);
    tassert_problem(&r, 500);
    ck_assert_ptr_null(strstr(r.body, "sqlite"));
    ck_assert_ptr_null(strstr(r.body, "SQL"));
    ck_assert_ptr_null(strstr(r.body, "model_annotations"));
    ck_assert_ptr_null(strstr(r.body, "no such"));
    ck_assert_ptr_null(strstr(r.body, w.ts.dir));
    tresp_release(&r);
    /* and the failed create left no half-written model */
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM models"), 0);
    tserver_cleanup(&w.ts);
}
END_TEST

Suite *api_auth_suite(void)
{
    Suite *s = suite_create("api_auth");
    TCase *tc = tcase_create("auth");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_401_kinds);
    tcase_add_test(tc, test_403_kinds);
    tcase_add_test(tc, test_role_matrix);
    tcase_add_test(tc, test_order_of_checks);
    tcase_add_test(tc, test_404_405);
    tcase_add_test(tc, test_500_leaks_nothing);
    suite_add_tcase(s, tc);
    return s;
}
