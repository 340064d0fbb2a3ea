/* SPDX-License-Identifier: MIT */
/*
 * CORS for browser dashboards: with --cors-origin every response carries
 * Access-Control-Allow-Origin and OPTIONS preflights on known paths answer
 * 204 with the path's methods, without a token; without the option there are
 * no CORS headers and OPTIONS is a 405.
 */
#include <string.h>

#include "testutil.h"

START_TEST(test_cors_enabled)
{
    struct tserver ts;
    struct tresp r;
    char tok[65];

    tserver_start(&ts, 1);
    ts.cfg.cors_origin = "https://dash.example.com";
    tserver_restart(&ts, 1);
    tfx_user(&ts, "u", 0, tok);

    thttp(&ts, "OPTIONS", "/projects/1/models", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 204);
    ck_assert_str_eq(r.cors_origin, "https://dash.example.com");
    ck_assert(strstr(r.cors_methods, "GET") && strstr(r.cors_methods, "POST"));
    tresp_release(&r);

    thttp(&ts, "OPTIONS", "/no/such/path", NULL, NULL, NULL, &r);
    tassert_problem(&r, 404);
    tresp_release(&r);

    thttp(&ts, "GET", "/base-models", tok, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.cors_origin, "https://dash.example.com");
    tresp_release(&r);

    /* errors carry it too, or the browser hides them from the page */
    thttp(&ts, "GET", "/base-models", NULL, NULL, NULL, &r);
    tassert_problem(&r, 401);
    ck_assert_str_eq(r.cors_origin, "https://dash.example.com");
    tresp_release(&r);
    tserver_cleanup(&ts);
}
END_TEST

START_TEST(test_cors_disabled_by_default)
{
    struct tserver ts;
    struct tresp r;

    tserver_start(&ts, 1);
    thttp(&ts, "OPTIONS", "/projects/1/models", NULL, NULL, NULL, &r);
    tassert_problem(&r, 405);
    ck_assert_str_eq(r.cors_origin, "");
    tresp_release(&r);
    thttp(&ts, "GET", "/health", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.cors_origin, "");
    tresp_release(&r);
    tserver_cleanup(&ts);
}
END_TEST

Suite *api_cors_suite(void)
{
    Suite *s = suite_create("api_cors");
    TCase *tc = tcase_create("cors");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cors_enabled);
    tcase_add_test(tc, test_cors_disabled_by_default);
    suite_add_tcase(s, tc);
    return s;
}
