/* SPDX-License-Identifier: MIT */
/*
 * check_api_members: the administration surface. Over HTTP: members listed,
 * added, re-roled and removed, the last OWNER guarded (409 last-owner),
 * GET /projects. Through the CLI binary writing to the daemon's database
 * from another process: a revoked token is refused, a lowered role is
 * forbidden and a disabled user is refused within one second although the
 * daemon caches callers and roles. Tokens expire to the second; "last used"
 * is written once a minute at most; the listings print tsv and json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testapi.h"

struct mworld {
    struct tserver ts;
    int64_t ws, pr, owner, mgr, viewer;
    char tok_owner[65], tok_mgr[65], tok_viewer[65];
};

static void mworld_up(struct mworld *w)
{
    memset(w, 0, sizeof(*w));
    tserver_start(&w->ts, 0);
    w->ws = tfx_workspace(&w->ts, "acme");
    w->pr = tfx_project(&w->ts, w->ws, "reviews");
    w->owner = tfx_user(&w->ts, "olga", 0, w->tok_owner);
    w->mgr = tfx_user(&w->ts, "max", 0, w->tok_mgr);
    w->viewer = tfx_user(&w->ts, "vera", 0, w->tok_viewer);
    tfx_member(&w->ts, w->pr, w->owner, "OWNER");
    tfx_member(&w->ts, w->pr, w->mgr, "MANAGER");
    tfx_member(&w->ts, w->pr, w->viewer, "VIEWER");
}

/* Run the CLI with "--db <the daemon's db>" appended; asserts exit status want. */
static void cli(struct mworld *w, int want, char *out, size_t outlen, const char *a0,
                const char *a1, const char *const *rest)
{
    const char *args[16];
    char err[1024] = "", buf[4096];
    int n = 0, rc;

    args[n++] = a0;
    args[n++] = a1;
    for (; rest && *rest; rest++)
        args[n++] = *rest;
    args[n++] = "--db";
    args[n++] = w->ts.db_path;
    args[n] = NULL;
    rc = trun2(args, out ? out : buf, out ? outlen : sizeof(buf), err, sizeof(err));
    ck_assert_msg(rc == want, "modeld %s %s: exit %d (want %d): %s", a0, a1, rc, want, err);
}

/* Seconds until GET path as token answers status (polling every 20 ms), or
 * a failed test after `limit` seconds. */
static double until_status(struct mworld *w, const char *path, const char *token, long status,
                           double limit)
{
    double t0 = util_monotonic(), dt;
    struct tresp r;

    for (;;) {
        thttp(&w->ts, "GET", path, token, NULL, NULL, &r);
        dt = util_monotonic() - t0;
        if (r.status == status) {
            tassert_problem(&r, status);
            tresp_release(&r);
            return dt;
        }
        tresp_release(&r);
        ck_assert_msg(dt < limit, "%s: still not %ld after %.2f s", path, status, dt);
        tapi_sleep(0.02);
    }
}

static void get_ok(struct mworld *w, const char *path, const char *token)
{
    struct tresp r;

    thttp(&w->ts, "GET", path, token, NULL, NULL, &r);
    ck_assert_msg(r.status == 200, "GET %s: %ld %s", path, r.status, r.body);
    tresp_release(&r);
}

/* A 409 problem of type last-owner. */
static void assert_last_owner(const struct tresp *r)
{
    ck_assert_msg(r->status == 409, "%ld %s", r->status, r->body);
    ck_assert_str_eq(r->content_type, "application/problem+json");
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "type")),
                     "urn:modeld:problem:last-owner");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "status")), 409);
}

START_TEST(test_members_http)
{
    struct mworld w;
    struct tresp r;
    char path[128], other[65];
    int64_t newbie;
    json_t *items;

    mworld_up(&w);
    newbie = tfx_user(&w.ts, "nina", 0, other);
    snprintf(path, sizeof(path), "/projects/%lld/members", (long long)w.pr);
    /* MANAGER reads, VIEWER may not */
    thttp(&w.ts, "GET", path, w.tok_mgr, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    items = json_object_get(r.json, "items");
    ck_assert_uint_eq(json_array_size(items), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "role")),
                     "OWNER");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "name")), "olga");
    tresp_release(&r);
    thttp(&w.ts, "GET", path, w.tok_viewer, NULL, NULL, &r);
    tassert_problem(&r, 403);
    tresp_release(&r);

    /* the newcomer has no project yet; PUT adds (201), PUT again changes (200) */
    thttp(&w.ts, "GET", "/projects", other, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 0);
    tresp_release(&r);
    snprintf(path, sizeof(path), "/projects/%lld/members/%lld", (long long)w.pr,
             (long long)newbie);
    tjson(&w.ts, "PUT", path, w.tok_mgr, "{\"role\":\"VIEWER\"}", &r);
    tassert_problem(&r, 403); /* a MANAGER changes nobody */
    tresp_release(&r);
    tjson(&w.ts, "PUT", path, w.tok_owner, "{\"role\":\"ANNOTATOR\"}", &r);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    ck_assert_str_eq(r.location, path);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "role")), "ANNOTATOR");
    tresp_release(&r);
    thttp(&w.ts, "GET", "/projects", other, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    items = json_object_get(r.json, "items");
    ck_assert_uint_eq(json_array_size(items), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(items, 0), "id")), w.pr);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "role")),
                     "ANNOTATOR");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(items, 0), "workspace_name")), "acme");
    tresp_release(&r);
    tjson(&w.ts, "PUT", path, w.tok_owner, "{\"role\":\"MANAGER\"}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "role")), "MANAGER");
    tresp_release(&r);
    /* the new role holds at once: a MANAGER lists members */
    snprintf(path, sizeof(path), "/projects/%lld/members", (long long)w.pr);
    get_ok(&w, path, other);

    /* bad bodies and unknown users */
    snprintf(path, sizeof(path), "/projects/%lld/members/%lld", (long long)w.pr,
             (long long)newbie);
    tjson(&w.ts, "PUT", path, w.tok_owner, "{\"role\":\"KING\"}", &r);
    tassert_problem(&r, 400);
    ck_assert_ptr_nonnull(terror(&r, "role"));
    tresp_release(&r);
    tjson(&w.ts, "PUT", path, w.tok_owner, "{\"role\":\"VIEWER\",\"x\":1}", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    snprintf(path, sizeof(path), "/projects/%lld/members/424242", (long long)w.pr);
    tjson(&w.ts, "PUT", path, w.tok_owner, "{\"role\":\"VIEWER\"}", &r);
    tassert_problem(&r, 404);
    tresp_release(&r);
    thttp(&w.ts, "DELETE", path, w.tok_owner, NULL, NULL, &r);
    tassert_problem(&r, 404);
    tresp_release(&r);

    /* the last OWNER: neither demoted nor removed; with a second OWNER, both work */
    snprintf(path, sizeof(path), "/projects/%lld/members/%lld", (long long)w.pr,
             (long long)w.owner);
    tjson(&w.ts, "PUT", path, w.tok_owner, "{\"role\":\"MANAGER\"}", &r);
    assert_last_owner(&r);
    tresp_release(&r);
    thttp(&w.ts, "DELETE", path, w.tok_owner, NULL, NULL, &r);
    assert_last_owner(&r);
    tresp_release(&r);
    tjson(&w.ts, "PUT", path, w.tok_owner, "{\"role\":\"OWNER\"}", &r); /* no change: fine */
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    snprintf(path, sizeof(path), "/projects/%lld/members/%lld", (long long)w.pr,
             (long long)newbie);
    tjson(&w.ts, "PUT", path, w.tok_owner, "{\"role\":\"OWNER\"}", &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    snprintf(path, sizeof(path), "/projects/%lld/members/%lld", (long long)w.pr,
             (long long)w.owner);
    thttp(&w.ts, "DELETE", path, other, NULL, NULL, &r);
    ck_assert_msg(r.status == 204, "%ld %s", r.status, r.body);
    tresp_release(&r);
    /* olga is gone: her next request has no role there */
    snprintf(path, sizeof(path), "/projects/%lld/models", (long long)w.pr);
    thttp(&w.ts, "GET", path, w.tok_owner, NULL, NULL, &r);
    tassert_problem(&r, 403);
    tresp_release(&r);
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM members WHERE role = 'OWNER'"), 1);
    tserver_cleanup(&w.ts);
}
END_TEST

/* The bound of the tests below: a change by another process within 1 s. */
#define WITHIN (1.0 * TAPI_SLOW)

START_TEST(test_cli_revoke_within_a_second)
{
    struct mworld w;
    char path[128], id[32];
    int64_t tid;
    double dt;

    mworld_up(&w);
    snprintf(path, sizeof(path), "/projects/%lld/models", (long long)w.pr);
    get_ok(&w, path, w.tok_viewer); /* cached now */
    get_ok(&w, path, w.tok_viewer);
    tid = tsql_int(&w.ts, "SELECT MAX(id) FROM tokens");
    snprintf(id, sizeof(id), "%lld", (long long)tid);
    {
        const char *const a[] = {"--id", id, NULL};

        cli(&w, 0, NULL, 0, "token", "revoke", a);
    }
    dt = until_status(&w, path, w.tok_viewer, 401, WITHIN);
    fprintf(stderr, "revoked token refused after %.3f s\n", dt);
    /* the others are untouched */
    get_ok(&w, path, w.tok_mgr);
    tserver_cleanup(&w.ts);
}
END_TEST

START_TEST(test_cli_role_lowered_within_a_second)
{
    struct mworld w;
    char path[128], pr[32], user[32];
    struct tresp r;

    mworld_up(&w);
    snprintf(path, sizeof(path), "/projects/%lld/members", (long long)w.pr);
    get_ok(&w, path, w.tok_mgr); /* MANAGER may list members: cached */
    snprintf(pr, sizeof(pr), "%lld", (long long)w.pr);
    snprintf(user, sizeof(user), "%lld", (long long)w.mgr);
    {
        const char *const a[] = {"--project", pr, "--user", user, "--role", "VIEWER", NULL};

        cli(&w, 0, NULL, 0, "member", "set-role", a);
    }
    until_status(&w, path, w.tok_mgr, 403, WITHIN);
    /* removed altogether: no role (still 403), and no project in GET /projects */
    {
        const char *const a[] = {"--project", pr, "--user", user, NULL};

        cli(&w, 0, NULL, 0, "member", "remove", a);
    }
    {
        double t0 = util_monotonic();

        for (;;) {
            size_t n;

            thttp(&w.ts, "GET", "/projects", w.tok_mgr, NULL, NULL, &r);
            ck_assert_int_eq(r.status, 200);
            n = json_array_size(json_object_get(r.json, "items"));
            tresp_release(&r);
            if (n == 0)
                break;
            ck_assert_msg(util_monotonic() - t0 < WITHIN, "still a member");
            tapi_sleep(0.02);
        }
    }
    tserver_cleanup(&w.ts);
}
END_TEST

START_TEST(test_cli_disable_within_a_second)
{
    struct mworld w;
    char path[128], user[32];

    mworld_up(&w);
    snprintf(path, sizeof(path), "/projects/%lld/models", (long long)w.pr);
    get_ok(&w, path, w.tok_viewer);
    snprintf(user, sizeof(user), "%lld", (long long)w.viewer);
    {
        const char *const a[] = {"--user", user, NULL};

        cli(&w, 0, NULL, 0, "user", "disable", a);
    }
    until_status(&w, path, w.tok_viewer, 401, WITHIN);
    get_ok(&w, path, w.tok_owner);
    {
        const char *const a[] = {"--user", user, NULL};

        cli(&w, 0, NULL, 0, "user", "enable", a);
    }
    for (double t0 = util_monotonic();;) { /* enabled again: accepted again */
        struct tresp r;
        long st;

        thttp(&w.ts, "GET", path, w.tok_viewer, NULL, NULL, &r);
        st = r.status;
        tresp_release(&r);
        if (st == 200)
            break;
        ck_assert_msg(util_monotonic() - t0 < WITHIN, "still refused after enable: %ld", st);
        tapi_sleep(0.02);
    }
    tserver_cleanup(&w.ts);
}
END_TEST

START_TEST(test_cli_revoke_user_tokens)
{
    struct mworld w;
    char path[128], user[32], out[64] = "", second[65];

    mworld_up(&w);
    tfx_token(&w.ts, w.viewer, 0, second);
    snprintf(path, sizeof(path), "/projects/%lld/models", (long long)w.pr);
    get_ok(&w, path, w.tok_viewer);
    get_ok(&w, path, second);
    snprintf(user, sizeof(user), "%lld", (long long)w.viewer);
    {
        const char *const a[] = {"--user", user, NULL};

        cli(&w, 0, out, sizeof(out), "token", "revoke", a);
    }
    ck_assert_str_eq(out, "2\n");
    until_status(&w, path, w.tok_viewer, 401, WITHIN);
    until_status(&w, path, second, 401, WITHIN);
    get_ok(&w, path, w.tok_mgr);
    tserver_cleanup(&w.ts);
}
END_TEST

START_TEST(test_expiry_to_the_second)
{
    struct mworld w;
    char path[128], tok[65];
    struct tresp r;
    int64_t exp;

    mworld_up(&w);
    exp = util_now_unix() + 2;
    tfx_token(&w.ts, w.viewer, exp, tok);
    snprintf(path, sizeof(path), "/projects/%lld/models", (long long)w.pr);
    get_ok(&w, path, tok); /* cached with its expiry */
    while (util_now_unix() < exp) {
        thttp(&w.ts, "GET", path, tok, NULL, NULL, &r);
        /* a request that began in the last second before exp may see it expire */
        ck_assert_msg(r.status == 200 || util_now_unix() >= exp, "%ld before expiry", r.status);
        tresp_release(&r);
        tapi_sleep(0.05);
    }
    thttp(&w.ts, "GET", path, tok, NULL, NULL, &r);
    tassert_problem(&r, 401);
    tresp_release(&r);
    tserver_cleanup(&w.ts);
}
END_TEST

START_TEST(test_last_used_once_a_minute)
{
    struct mworld w;
    char path[128], sql[128];
    int64_t tid, first;

    mworld_up(&w);
    tid = tsql_int(&w.ts, "SELECT MAX(id) FROM tokens"); /* the viewer's */
    snprintf(sql, sizeof(sql), "SELECT COALESCE(last_used, 0) FROM tokens WHERE id = %lld",
             (long long)tid);
    ck_assert_int_eq(tsql_int(&w.ts, sql), 0);
    snprintf(path, sizeof(path), "/projects/%lld/models", (long long)w.pr);
    get_ok(&w, path, w.tok_viewer);
    first = tsql_int(&w.ts, sql);
    ck_assert_int_ge(first, util_now_unix() - 5);
    tapi_sleep(1.1);
    for (int i = 0; i < 5; i++)
        get_ok(&w, path, w.tok_viewer);
    ck_assert_int_eq(tsql_int(&w.ts, sql), first); /* not rewritten within the minute */
    tserver_cleanup(&w.ts);
}
END_TEST

START_TEST(test_cli_listings)
{
    struct mworld w;
    char out[4096], pr[32], user[32];
    json_t *j;

    mworld_up(&w);
    snprintf(pr, sizeof(pr), "%lld", (long long)w.pr);
    {
        const char *const a[] = {"--format", "tsv", NULL};

        cli(&w, 0, out, sizeof(out), "user", "list", a);
        static const char head[] = "id\tname\tread_only\tdisabled\tcreated\n";

        ck_assert_msg(strncmp(out, head, strlen(head)) == 0, "%s", out);
        ck_assert_ptr_nonnull(strstr(out, "\tolga\tfalse\tfalse\t"));
    }
    {
        const char *const a[] = {"--project", pr, "--format", "json", NULL};

        cli(&w, 0, out, sizeof(out), "member", "list", a);
        j = json_loads(out, 0, NULL);
        ck_assert_ptr_nonnull(j);
        ck_assert_uint_eq(json_array_size(j), 3);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 1), "role")),
                         "MANAGER");
        json_decref(j);
    }
    {
        const char *const a[] = {"--format", "json", NULL};

        cli(&w, 0, out, sizeof(out), "token", "list", a);
        ck_assert_ptr_null(strstr(out, w.tok_owner)); /* never the token */
        ck_assert_ptr_null(strstr(out, "hash"));
        j = json_loads(out, 0, NULL);
        ck_assert_ptr_nonnull(j);
        ck_assert_uint_eq(json_array_size(j), 3);
        ck_assert(json_is_null(json_object_get(json_array_get(j, 0), "revoked")));
        json_decref(j);
    }
    snprintf(user, sizeof(user), "%lld", (long long)w.mgr);
    {
        const char *const a[] = {"--user", user, "--format", "tsv", NULL};

        cli(&w, 0, out, sizeof(out), "token", "list", a);
        ck_assert_ptr_nonnull(strstr(out, "\tmax\t"));
        ck_assert_ptr_null(strstr(out, "\tolga\t"));
    }
    {
        char err[512] = "";
        const char *args[] = {"member", "add", "--project", pr, "--user", user, "--role",
                              "OWNER", "--db", w.ts.db_path, NULL};

        ck_assert_int_eq(trun2(args, out, sizeof(out), err, sizeof(err)), 1);
        ck_assert_msg(strstr(err, "member set-role") != NULL, "%s", err);
    }
    {
        const char *const a[] = {"--format", "xml", NULL};

        cli(&w, 1, out, sizeof(out), "user", "list", a);
    }
    tserver_cleanup(&w.ts);
}
END_TEST

Suite *api_members_suite(void)
{
    Suite *s = suite_create("api_members");
    TCase *tc = tcase_create("members");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_members_http);
    tcase_add_test(tc, test_cli_revoke_within_a_second);
    tcase_add_test(tc, test_cli_role_lowered_within_a_second);
    tcase_add_test(tc, test_cli_disable_within_a_second);
    tcase_add_test(tc, test_cli_revoke_user_tokens);
    tcase_add_test(tc, test_expiry_to_the_second);
    tcase_add_test(tc, test_last_used_once_a_minute);
    tcase_add_test(tc, test_cli_listings);
    suite_add_tcase(s, tc);
    return s;
}
