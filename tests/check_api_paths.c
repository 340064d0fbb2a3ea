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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* GET /metrics: the Prometheus text format, route patterns as labels (never ids), counts
 * that follow the requests made, and promtool accepts it. With --metrics-token only that
 * token reads it. */
START_TEST(test_metrics)
{
    struct tapi a;
    struct tresp r;
    char path[128];

    tapi_start(&a, 1);
    int64_t s = tapi_session(&a, "m", "CLASS", "en", tapi_data_class("en", 6));
    json_decref(tapi_wait_ready(&a, tapi_model_on(&a, "m", "en", s), 60));
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/projects/%lld/models/%d", (long long)a.pr, 1);
        thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
        tresp_release(&r);
    }
    thttp(&a.ts, "GET", "/nowhere/42", NULL, NULL, NULL, &r);
    tresp_release(&r);
    /* a request is counted when it completes, just after its answer went out:
     * poll until the unmatched one is in */
    for (int i = 0;; i++) {
        thttp(&a.ts, "GET", "/metrics", NULL, NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        if (i >= 100 || strstr(r.body, "modeld_http_requests_total{route=\"unmatched\""))
            break;
        tresp_release(&r);
        tapi_sleep(0.02);
    }
    ck_assert_msg(strncmp(r.content_type, "text/plain", 10) == 0, "%s", r.content_type);
    const char *b = r.body;
    if (getenv("MODELD_TEST_DUMP"))
        fprintf(stderr, "%s\n", b);
    const char *key = "modeld_http_requests_total{route=\"/projects/{id}/models/{id}\","
                      "method=\"GET\",status=\"200\"} ";
    const char *line = strstr(b, key);
    ck_assert_msg(line, "no request count for GET /projects/{id}/models/{id}");
    ck_assert_int_ge(atoll(line + strlen(key)), 3); /* and the polls of the wait */
    ck_assert_msg(strstr(b, "modeld_http_requests_total{route=\"unmatched\",method=\"\",status="
                            "\"404\"} 1"),
                  "no count for the unmatched request");
    ck_assert(strstr(b, "modeld_models{status=\"READY\"} 1"));
    ck_assert(strstr(b, "modeld_training_duration_seconds_count{outcome=\"ready\"} 1"));
    ck_assert(strstr(b, "modeld_workers 1"));
    ck_assert(strstr(b, "# TYPE modeld_http_request_duration_seconds histogram"));
    ck_assert_msg(!strstr(b, "/nowhere") && !strstr(b, "/42"), "a path leaked into labels");
    const char *promtool = getenv("MODELD_PROMTOOL");
    if (promtool && access(promtool, X_OK) == 0) {
        char file[400], cmd[1024];
        snprintf(file, sizeof file, "%s/metrics.txt", a.ts.dir);
        FILE *f = fopen(file, "w");
        ck_assert_ptr_nonnull(f);
        fwrite(r.body, 1, r.len, f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "%s check metrics < %s > %s.out 2>&1", promtool, file, file);
        int rc = system(cmd);
        char out[4096] = "";
        snprintf(cmd, sizeof cmd, "%s.out", file);
        f = fopen(cmd, "r");
        if (f) {
            size_t n = fread(out, 1, sizeof out - 1, f);
            out[n] = '\0';
            fclose(f);
        }
        ck_assert_msg(rc == 0, "promtool check metrics failed (%d):\n%s", rc, out);
    } else {
        tskip_needed("promtool check of /metrics (MODELD_PROMTOOL not set)");
    }
    tresp_release(&r);
    /* --metrics-token */
    tserver_stop(&a.ts); /* the configuration is read-only while a server runs */
    a.ts.cfg.metrics_token = "scraper-secret-123456";
    tserver_restart(&a.ts, 1);
    thttp(&a.ts, "GET", "/metrics", NULL, NULL, NULL, &r);
    tassert_problem(&r, 401);
    tresp_release(&r);
    thttp(&a.ts, "GET", "/metrics", a.viewer, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 401); /* a user token is not the metrics token */
    tresp_release(&r);
    thttp(&a.ts, "GET", "/metrics", "scraper-secret-123456", NULL, NULL, &r);
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
    tcase_add_test(tc, test_metrics);
    suite_add_tcase(s, tc);
    return s;
}
