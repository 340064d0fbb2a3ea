/* SPDX-License-Identifier: MIT */
/* End-to-end smoke test: the walk-through of the README through HTTP. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

static const char absa_docs[] =
    "{\"text\":\"The pasta was great.\",\"aspects\":[{\"category\":\"FOOD#QUALITY\",\"polarity\":\"positive\"}]}\n"
    "{\"text\":\"Service was slow.\",\"aspects\":[{\"category\":\"SERVICE#GENERAL\",\"polarity\":\"negative\"}]}\n";

START_TEST(test_create_model_201)
{
    struct tserver ts;
    struct tresp r;
    char tok[65], body[512], path[128];
    int64_t ws, pr, u, s;

    tserver_start(&ts, 1);
    ws = tfx_workspace(&ts, "ws");
    pr = tfx_project(&ts, ws, "p");
    u = tfx_user(&ts, "mia", 0, tok);
    tfx_member(&ts, pr, u, "MANAGER");
    s = tfx_session(&ts, pr, "s", "ABSA", "en", absa_docs);
    snprintf(path, sizeof(path), "/projects/%lld/models", (long long)pr);
    snprintf(body, sizeof(body), "{\"name\":\"m\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
             (long long)s);
    tjson(&ts, "POST", path, tok, body, &r);
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "status")), "CREATED");
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "type")), "ABSA");
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "owner")), "mia");
    ck_assert(strstr(r.location, "/models/") != NULL);
    tresp_release(&r);
    tjson(&ts, "POST", path, NULL, body, &r);
    tassert_problem(&r, 401);
    ck_assert(strncmp(r.www_auth, "Bearer", 6) == 0);
    tresp_release(&r);
    tserver_cleanup(&ts);
}
END_TEST

Suite *api_smoke_suite(void)
{
    Suite *s = suite_create("api_smoke");
    TCase *tc = tcase_create("walkthrough");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_create_model_201);
    suite_add_tcase(s, tc);
    return s;
}
