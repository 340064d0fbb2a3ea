/* SPDX-License-Identifier: MIT */
/*
 * Unit suites for the pure server modules, without a database or a socket:
 * router (matching, canonical ids, 405 with Allow), validate (every field
 * error collected), problem (RFC 9457 bodies, status mapping, typed
 * problems) and util (strict integers, UTF-8 counting, cursors, hashes, the
 * keyed 64-bit hash and the sorted lookup), and view's model text against
 * its jansson view.
 */
#include <check.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"
#include "router.h"
#include "testutil.h"
#include "util.h"
#include "validate.h"
#include "view.h"

/* ---- router ------------------------------------------------------------------ */

static const struct route *match(const char *method, const char *path, struct request *req,
                                 struct response *resp)
{
    memset(req, 0, sizeof(*req));
    memset(resp, 0, sizeof(*resp));
    return router_match(method, path, req, resp);
}

START_TEST(test_router_match)
{
    struct request req;
    struct response resp;
    const struct route *r;

    r = match("GET", "/projects/7/models/42", &req, &resp);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->pattern, "/projects/{id}/models/{id}");
    ck_assert_int_eq(req.nargs, 2);
    ck_assert_int_eq(req.args[0], 7);
    ck_assert_int_eq(req.args[1], 42);
    /* HEAD is GET */
    r = match("HEAD", "/projects/7/models", &req, &resp);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->method, "GET");
    /* the largest int64 is an id */
    r = match("GET", "/projects/9223372036854775807/models", &req, &resp);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(req.args[0], INT64_MAX);
    response_release(&resp);
}
END_TEST

START_TEST(test_router_odd_ids)
{
    static const char *const odd[] = {"/projects/0/models",
                                      "/projects/01/models",
                                      "/projects/+1/models",
                                      "/projects/-1/models",
                                      "/projects/1x/models",
                                      "/projects//models",
                                      "/projects/9223372036854775808/models",
                                      "/projects/1/models/1%00",
                                      "/projects/1/models/1%2f",
                                      NULL};
    struct request req;
    struct response resp;

    for (int i = 0; odd[i]; i++) {
        ck_assert_msg(match("GET", odd[i], &req, &resp) == NULL, "%s matched", odd[i]);
        ck_assert_int_eq(resp.status, 404);
        response_release(&resp);
    }
}
END_TEST

START_TEST(test_router_405_allow)
{
    struct request req;
    struct response resp;

    ck_assert_ptr_null(match("PUT", "/projects/1/models/2", &req, &resp));
    ck_assert_int_eq(resp.status, 405);
    ck_assert_str_eq(resp.allow, "GET, HEAD, PATCH, DELETE");
    response_release(&resp);
    ck_assert_ptr_null(match("DELETE", "/healthz", &req, &resp));
    ck_assert_int_eq(resp.status, 405);
    ck_assert_str_eq(resp.allow, "GET, HEAD");
    response_release(&resp);
}
END_TEST

START_TEST(test_router_table)
{
    size_t n;
    const struct route *routes = router_routes(&n);

    for (size_t i = 0; i < n; i++) {
        const struct route *r = &routes[i];

        /* public routes need no role; project routes need one; bodies have a media type rule */
        if (r->flags & ROUTE_PUBLIC)
            ck_assert_int_eq(r->min_role, ROLE_NONE);
        if (r->flags & ROUTE_PROJECT)
            ck_assert_int_ge(r->min_role, ROLE_VIEWER);
        ck_assert_msg(!(r->flags & ROUTE_STREAM) || r->stream, "%s %s", r->method, r->pattern);
        ck_assert_msg(!(r->flags & ROUTE_IDEMPOTENT) || strcmp(r->method, "POST") == 0,
                      "%s %s", r->method, r->pattern);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(r->method, routes[j].method) || strcmp(r->pattern, routes[j].pattern),
                          "%s %s twice", r->method, r->pattern);
    }
}
END_TEST

/* ---- validate ---------------------------------------------------------------- */

START_TEST(test_validate_collects_every_error)
{
    json_t *body = json_loads("{\"name\":\"  \",\"type\":\"NOPE\",\"n\":0,\"ids\":[1,1],"
                              "\"extra\":1}",
                              0, NULL);
    static const char *const allowed[] = {"name", "type", "n", "ids", NULL};
    json_t *errors = NULL;
    char *name = NULL;
    const char *type = NULL;
    int64_t n = 0, *ids = NULL;
    size_t n_ids = 0;
    int present = 0;

    validate_known_fields(body, allowed, &errors);
    validate_string(body, "name", 1, 10, VALIDATE_REQUIRED | VALIDATE_TRIM, &name, NULL, &errors);
    validate_enum(body, "type", domain_annotation_type_names, VALIDATE_REQUIRED, &type, &errors);
    validate_int(body, "n", 1, 10, 0, &n, &present, &errors);
    validate_id_array(body, "ids", 5, VALIDATE_REQUIRED, &ids, &n_ids, &errors);
    ck_assert_int_eq(json_array_size(errors), 5);
    {
        const char *fields[] = {"extra", "name", "type", "n", "ids"};
        for (size_t i = 0; i < 5; i++) {
            const char *f = json_string_value(json_object_get(json_array_get(errors, i), "field"));
            ck_assert_msg(f && strncmp(f, fields[i], strlen(fields[i])) == 0, "error %zu: %s", i,
                          f);
        }
    }
    ck_assert_ptr_null(name);
    json_decref(errors);
    json_decref(body);
    free(name);
    free(ids);
}
END_TEST

START_TEST(test_validate_accepts)
{
    json_t *body = json_loads("{\"name\":\"  caf\\u00e9 \",\"type\":\"ABSA\",\"n\":3,\"ids\":[3,1]}",
                              0, NULL);
    json_t *errors = NULL;
    char *name = NULL;
    const char *type = NULL;
    int64_t n = 0, *ids = NULL;
    size_t n_ids = 0;
    int present = 0;

    ck_assert_int_eq(
        validate_string(body, "name", 1, 4, VALIDATE_REQUIRED | VALIDATE_TRIM, &name, NULL, &errors),
        0);
    ck_assert_str_eq(name, "caf\xc3\xa9"); /* trimmed; 4 code points */
    ck_assert_int_eq(validate_enum(body, "type", domain_annotation_type_names, 0, &type, &errors), 0);
    ck_assert_str_eq(type, "ABSA");
    ck_assert_int_eq(validate_int(body, "n", 1, 10, 0, &n, &present, &errors), 0);
    ck_assert_int_eq(present, 1);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(validate_id_array(body, "ids", 5, 0, &ids, &n_ids, &errors), 0);
    ck_assert_uint_eq(n_ids, 2);
    ck_assert_ptr_null(errors);
    free(name);
    free(ids);
    json_decref(body);
}
END_TEST

/* ---- problem ----------------------------------------------------------------- */

START_TEST(test_problem_bodies)
{
    struct response resp = {0};
    struct err err = {0};

    problem_set(&resp, 404, "no %s", "thing");
    ck_assert_int_eq(resp.status, 404);
    ck_assert_str_eq(resp.content_type, "application/problem+json");
    ck_assert_str_eq(json_string_value(json_object_get(resp.body, "detail")), "no thing");
    ck_assert_int_eq(json_integer_value(json_object_get(resp.body, "status")), 404);
    ck_assert_str_eq(json_string_value(json_object_get(resp.body, "type")),
                     "urn:modeld:problem:not-found");
    ck_assert(json_is_string(json_object_get(resp.body, "title")));
    response_release(&resp);
    /* internal errors never show their message */
    err_set(&err, ERR_INTERNAL, "sqlite: secret details");
    problem_from_err(&resp, &err, "rid");
    ck_assert_int_eq(resp.status, 500);
    ck_assert_str_eq(json_string_value(json_object_get(resp.body, "type")),
                     "urn:modeld:problem:internal-error");
    ck_assert_ptr_null(strstr(json_string_value(json_object_get(resp.body, "detail")), "secret"));
    response_release(&resp);
    /* a typed problem keeps its type */
    problem_typed(&resp, 422, "urn:modeld:problem:x", "d");
    ck_assert_str_eq(json_string_value(json_object_get(resp.body, "type")), "urn:modeld:problem:x");
    ck_assert_str_eq(json_string_value(json_object_get(resp.body, "title")),
                     "Unprocessable Content");
    response_release(&resp);
    /* invalid UTF-8 in a detail (client input) still gives a body */
    problem_set(&resp, 404, "no %s", "\xff\xfe/x");
    ck_assert_ptr_nonnull(resp.body);
    response_release(&resp);
    ck_assert_int_eq(problem_status(ERR_NOT_FOUND), 404);
    ck_assert_int_eq(problem_status(ERR_CONFLICT), 409);
    ck_assert_int_eq(problem_status(ERR_UNAUTHORIZED), 401);
    ck_assert_int_eq(problem_status(ERR_IO), 500);
}
END_TEST

/* ---- util -------------------------------------------------------------------- */

START_TEST(test_util)
{
    int64_t v = 7, id = 0;
    char hex[65], *cur;

    ck_assert_int_eq(util_parse_i64("42", 0, 100, &v), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(util_parse_i64("9223372036854775807", 0, INT64_MAX, &v), 0);
    ck_assert_int_eq(util_parse_i64("9223372036854775808", 0, INT64_MAX, &v), -1);
    ck_assert_int_eq(util_parse_i64("", 0, 100, &v), -1);
    ck_assert_int_eq(util_parse_i64("4 2", 0, 100, &v), -1);
    ck_assert_int_eq(util_parse_i64("101", 0, 100, &v), -1);
    ck_assert_int_eq(util_parse_i64("-1", 0, 100, &v), -1);
    ck_assert_uint_eq(util_utf8_chars("caf\xc3\xa9 \xd9\x83"), 6);
    ck_assert_uint_eq(util_utf8_chars_n("caf\xc3\xa9", 5), 4);
    cur = util_cursor_encode(12345);
    ck_assert_ptr_nonnull(cur);
    ck_assert_int_eq(util_cursor_decode(cur, &id), 0);
    ck_assert_int_eq(id, 12345);
    ck_assert_int_ne(util_cursor_decode("not a cursor!", &id), 0);
    free(cur);
    {
        /* the growth rule: doubles from min_cap; overflow leaves the array as it was */
        size_t cap = 0;
        int *a = util_grow(NULL, &cap, 5, sizeof(int), 4), *b;

        ck_assert_ptr_nonnull(a);
        ck_assert_uint_eq(cap, 8);
        ck_assert_ptr_eq(util_grow(a, &cap, 8, sizeof(int), 4), a); /* big enough */
        b = util_grow(a, &cap, 9, sizeof(int), 4);
        ck_assert_ptr_nonnull(b);
        ck_assert_uint_eq(cap, 16);
        ck_assert_ptr_null(util_grow(b, &cap, SIZE_MAX / 2 + 2, sizeof(int), 4));
        ck_assert_ptr_null(util_grow(b, &cap, SIZE_MAX / 8, 64, 4));
        ck_assert_uint_eq(cap, 16);
        free(b);
    }
    util_hash_hex("abc", hex);
    ck_assert_uint_eq(strlen(hex), 64);
    for (int i = 0; i < 64; i++)
        ck_assert(strchr("0123456789abcdef", hex[i]));
}
END_TEST

/* util_hash64 is persisted through feature ids and split assignments: its
 * values are pinned (they are the SipHash-2-4 values the artifacts hold). */
START_TEST(test_util_hash_and_find)
{
    static const unsigned char key[UTIL_HASH_KEY] = "modeld/word/1/uu";
    static const uint32_t a[] = {2, 3, 5, 8, 13, 21};

    ck_assert_int_ge(sodium_init(), 0);
    ck_assert(util_hash64(key, "abc", 3) == 0x3a47548a7dee083cULL);
    ck_assert(util_hash64(key, "", 0) == 0x30c26857cf45faabULL);
    ck_assert(util_hash64(key, "abd", 3) != util_hash64(key, "abc", 3));
    for (size_t i = 0; i < 6; i++)
        ck_assert_int_eq(util_find_u32(a, 6, a[i]), (long)i);
    ck_assert_int_eq(util_find_u32(a, 6, 0), -1);
    ck_assert_int_eq(util_find_u32(a, 6, 4), -1);
    ck_assert_int_eq(util_find_u32(a, 6, 22), -1);
    ck_assert_int_eq(util_find_u32(a, 1, 2), 0);
    ck_assert_int_eq(util_find_u32(NULL, 0, 2), -1);
}
END_TEST

/* view_model_write() puts out the bytes of json_dumps(view_model()): on
 * strings that need escapes, NULLs, reals of every shape, and stored texts
 * copied, reparsed or replaced. */
START_TEST(test_view_model_text)
{
    static const double reals[] = {0.0,    100.0,   0.5,      1.0 / 3.0, 5.434400009107776e-05,
                                   1e21,   1.5e300, -2.25,    1e-300,    123456789.0,
                                   0.1,    1e17,    -0.0,     42.125,    4.9e-324};
    static const char *const strs[] = {"plain", "quote \" and \\ back", "tab\tnl\ncr\rbs\bff\f",
                                       "ctl \x01\x1f\x7f end", "slash / é ✓ 😀", "", NULL};
    static const char *const metrics[] = {NULL, "{\"a\":1.5,\"b\":[1,\"x\"]}", " {\"a\": 1} ",
                                          "[1]", "not json", "{}"};
    static const char *const warnings[] = {"[]", NULL, "[\"w1\",\"w2\"]", " [ \"x\" ] ", "{}",
                                           "bad"};
    size_t k = 0;

    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        for (int with = 0; with <= 1; with++, k++) {
            const char *str = strs[k % (sizeof strs / sizeof strs[0])];
            struct db_model m = {.id = (int64_t)k + 1,
                                 .project_id = (int64_t)(k % 3),
                                 .uuid = (char *)"0f0e",
                                 .name = (char *)str,
                                 .display_name = (char *)strs[(k + 1) % 7],
                                 .base_name = (char *)strs[(k + 2) % 7],
                                 .created = (char *)"2026-12-05T03:15:14.076Z",
                                 .owner = (char *)strs[(k + 3) % 7],
                                 .failure_reason = (char *)strs[(k + 4) % 7],
                                 .metrics = (char *)metrics[k % 6],
                                 .warnings = (char *)warnings[k % 6],
                                 .language = (enum language)(k % 3),
                                 .type = TYPE_CLASS,
                                 .status = STATUS_READY,
                                 .progress = reals[i],
                                 .score = reals[(i + 3) % (sizeof reals / sizeof reals[0])],
                                 .has_score = (int)(k % 2)};
            struct strbuf sb = STRBUF_INIT;
            json_t *v = view_model(&m, with);
            char *want = json_dumps(v, JSON_COMPACT), *got;

            view_model_write(&sb, &m, with);
            got = strbuf_detach(&sb, NULL);
            ck_assert_ptr_nonnull(want);
            ck_assert_ptr_nonnull(got);
            ck_assert_str_eq(got, want);
            free(got);
            free(want);
            json_decref(v);
        }
    }
    /* the list page */
    {
        struct db_model two[2] = {{.id = 7, .uuid = (char *)"u", .name = (char *)"a\"b",
                                   .warnings = (char *)"[]", .status = STATUS_QUEUED},
                                  {.id = 8, .progress = 12.5, .status = STATUS_FAILED}};
        size_t len;
        char *page = view_models_page(two, 2, "c1", &len);
        json_t *items = json_array();
        for (int i = 0; i < 2; i++)
            json_array_append_new(items, view_model(&two[i], 0));
        json_t *want = json_pack("{s:o, s:s}", "items", items, "next_cursor", "c1");
        char *w = json_dumps(want, JSON_COMPACT);

        ck_assert_str_eq(page, w);
        ck_assert_uint_eq(len, strlen(w));
        free(page);
        free(w);
        json_decref(want);
        page = view_models_page(NULL, 0, NULL, &len);
        ck_assert_str_eq(page, "{\"items\":[],\"next_cursor\":null}");
        free(page);
    }
}
END_TEST

Suite *units_suite(void)
{
    Suite *s = suite_create("units");
    TCase *r = tcase_create("router"), *v = tcase_create("validate"), *p = tcase_create("problem");
    TCase *u = tcase_create("util");

    tcase_add_test(r, test_router_match);
    tcase_add_test(r, test_router_odd_ids);
    tcase_add_test(r, test_router_405_allow);
    tcase_add_test(r, test_router_table);
    tcase_add_test(v, test_validate_collects_every_error);
    tcase_add_test(v, test_validate_accepts);
    tcase_add_test(p, test_problem_bodies);
    tcase_add_test(p, test_view_model_text);
    tcase_add_test(u, test_util);
    tcase_add_test(u, test_util_hash_and_find);
    suite_add_tcase(s, r);
    suite_add_tcase(s, v);
    suite_add_tcase(s, p);
    suite_add_tcase(s, u);
    return s;
}
