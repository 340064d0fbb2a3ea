/* SPDX-License-Identifier: MIT */
/*
 * Canonical ids only: a path id is decimal digits without a sign or leading
 * zeros, within int64; any other spelling of an existing resource (an
 * encoded NUL or slash after it, leading zeros, a sign) is a 404 problem,
 * never the resource. And the probes: /healthz (alive) and /readyz (database,
 * migrations, workers).
 */
#include <check.h>
#include <jansson.h>
#include <string.h>

#include "testapi.h"

START_TEST(test_odd_ids_are_404)
{
    struct tapi a;
    struct tresp r;
    char path[160];

    tapi_start(&a, 1);
    int64_t s = tapi_session(&a, "c", "CLASS", "en", tapi_data_class("en", 4));
    int64_t id = tapi_model_on(&a, "m", "en", s);
    ck_assert_int_eq(id, 1);
    snprintf(path, sizeof path, "/projects/%lld/models/1", (long long)a.pr);
    thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    static const char *const odd[] = {"1%00", "1%2f", "1%2F", "0001", "01", "+1", "1.0",
                                      "1%20", "0x1", "9223372036854775808",
                                      "99999999999999999999999"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        snprintf(path, sizeof path, "/projects/%lld/models/%s", (long long)a.pr, odd[i]);
        thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
        ck_assert_msg(r.status == 404, "%s answered %ld: %s", path, r.status, r.body);
        tassert_problem(&r, 404);
        tresp_release(&r);
    }
    /* the project id too, and the sub-routes */
    snprintf(path, sizeof path, "/projects/0%lld/models/1", (long long)a.pr);
    thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    tresp_release(&r);
    snprintf(path, sizeof path, "/projects/%lld/models/1%%2fpredict", (long long)a.pr);
    tjson(&a.ts, "POST", path, a.viewer, "{\"texts\":[\"x\"]}", &r);
    ck_assert_int_eq(r.status, 404);
    tresp_release(&r);
    /* an encoded NUL in a query argument is not cut short: no silent filter */
    snprintf(path, sizeof path, "/projects/%lld/models?status=READY%%00", (long long)a.pr);
    thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 400);
    tresp_release(&r);
    tserver_cleanup(&a.ts);
}
END_TEST

/* /healthz needs nothing; /readyz checks the database, the migrations and the workers. */
START_TEST(test_probes)
{
    struct tapi a;
    struct tresp r;

    tapi_start(&a, 1);
    thttp(&a.ts, "GET", "/healthz", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(tapi_str(r.json, "status"), "ok");
    tresp_release(&r);
    thttp(&a.ts, "GET", "/readyz", NULL, NULL, NULL, &r);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_str_eq(tapi_str(r.json, "status"), "ready");
    ck_assert_str_eq(tapi_str(json_object_get(r.json, "checks"), "workers"), "ok");
    tresp_release(&r);
    /* a migration not recorded: not ready, with Retry-After; live all the same */
    tsql(&a.ts, "DELETE FROM schema_migrations WHERE version = 1");
    thttp(&a.ts, "GET", "/readyz", NULL, NULL, NULL, &r);
    tassert_problem(&r, 503);
    ck_assert_msg(strstr(tapi_str(r.json, "detail"), "migrations"), "%s", r.body);
    ck_assert_str_eq(r.retry_after, "1");
    tresp_release(&r);
    thttp(&a.ts, "GET", "/healthz", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    tsql(&a.ts, "INSERT INTO schema_migrations (version, name, applied_at) VALUES "
                "(1, '0001_init', '2026-01-01T00:00:00Z')");
    thttp(&a.ts, "GET", "/readyz", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    tserver_cleanup(&a.ts);
}
END_TEST

Suite *api_paths_suite(void)
{
    Suite *s = suite_create("api_paths");
    TCase *tc = tcase_create("paths");

    tcase_set_timeout(tc, 60 * TAPI_SLOW);
    tcase_add_test(tc, test_odd_ids_are_404);
    tcase_add_test(tc, test_probes);
    suite_add_tcase(s, tc);
    return s;
}
