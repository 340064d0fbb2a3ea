/* SPDX-License-Identifier: MIT */
/*
 * CORS for browser dashboards: with --cors-origin (an allow-list) a response
 * to an admitted Origin carries Access-Control-Allow-Origin (and, for an
 * origin the list names, Access-Control-Allow-Credentials) and OPTIONS
 * preflights on known paths answer 204 with the path's methods, without a
 * token; a refused origin gets no CORS headers; `*` admits any origin
 * without credentials; without the option there are no CORS headers and
 * OPTIONS is a 405.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

START_TEST(test_cors_enabled)
{
    struct tserver ts;
    struct tresp r;
    char tok[65], auth[96];
    const char *origin[] = {"Origin: https://dash.example.com", NULL};
    const char *with_token[] = {"Origin: https://dash.example.com", auth, NULL};

    tserver_start(&ts, 1);
    ts.cfg.cors_origin = "https://dash.example.com";
    tserver_restart(&ts, 1);
    tfx_user(&ts, "u", 0, tok);

    thttp_headers(&ts, "OPTIONS", "/projects/1/models", origin, NULL, &r);
    ck_assert_int_eq(r.status, 204);
    ck_assert_str_eq(r.cors_origin, "https://dash.example.com");
    ck_assert(strstr(r.cors_methods, "GET") && strstr(r.cors_methods, "POST"));
    ck_assert_str_eq(r.cors_headers, "Authorization, Content-Type, Idempotency-Key, "
                                     "X-CSRF-Token, Last-Event-ID");
    ck_assert_str_eq(r.vary, "Origin");
    tresp_release(&r);

    thttp_headers(&ts, "OPTIONS", "/no/such/path", origin, NULL, &r);
    tassert_problem(&r, 404);
    tresp_release(&r);

    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    thttp_headers(&ts, "GET", "/base-models", with_token, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.cors_origin, "https://dash.example.com");
    tresp_release(&r);

    /* errors carry it too, or the browser hides them from the page */
    thttp_headers(&ts, "GET", "/base-models", origin, NULL, &r);
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

/* An allow-list of several origins (the form --cors-origin given twice
 * takes): each listed origin is admitted with credentials, any other
 * refused without a CORS header (preflights too); `*` admits the rest
 * without credentials. */
START_TEST(test_cors_allow_list)
{
    struct tserver ts;
    struct tresp r;
    const char *a[] = {"Origin: https://a.example", NULL};
    const char *b[] = {"Origin: http://b.example:8081", NULL};
    const char *c[] = {"Origin: https://c.example", NULL};

    tserver_start(&ts, 1);
    ts.cfg.cors_origin = "https://a.example,http://b.example:8081";
    tserver_restart(&ts, 1);
    thttp_headers(&ts, "GET", "/health", a, NULL, &r);
    ck_assert_str_eq(r.cors_origin, "https://a.example");
    ck_assert_str_eq(r.cors_credentials, "true");
    ck_assert_str_eq(r.vary, "Origin");
    tresp_release(&r);
    thttp_headers(&ts, "GET", "/health", b, NULL, &r);
    ck_assert_str_eq(r.cors_origin, "http://b.example:8081");
    tresp_release(&r);
    thttp_headers(&ts, "GET", "/health", c, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.cors_origin, "");
    ck_assert_str_eq(r.cors_credentials, "");
    ck_assert_str_eq(r.vary, "Origin");
    tresp_release(&r);
    thttp_headers(&ts, "OPTIONS", "/projects/1/models", c, NULL, &r);
    ck_assert_int_eq(r.status, 204);
    ck_assert_str_eq(r.cors_origin, "");
    ck_assert_str_eq(r.cors_methods, "");
    ck_assert_str_eq(r.cors_headers, "");
    tresp_release(&r);
    /* no Origin (not a browser's cross-origin request): no CORS headers */
    thttp(&ts, "GET", "/health", NULL, NULL, NULL, &r);
    ck_assert_str_eq(r.cors_origin, "");
    tresp_release(&r);

    ts.cfg.cors_origin = "*,https://a.example";
    tserver_restart(&ts, 1);
    thttp_headers(&ts, "GET", "/health", c, NULL, &r);
    ck_assert_str_eq(r.cors_origin, "*");
    ck_assert_str_eq(r.cors_credentials, ""); /* never with * */
    tresp_release(&r);
    thttp_headers(&ts, "GET", "/health", a, NULL, &r);
    ck_assert_str_eq(r.cors_origin, "https://a.example");
    ck_assert_str_eq(r.cors_credentials, "true");
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
    tcase_add_test(tc, test_cors_allow_list);
    suite_add_tcase(s, tc);
    return s;
}
