/* SPDX-License-Identifier: MIT */
/*
 * Handlers called directly, without a socket or libmicrohttpd: a struct
 * request (routed and authorized as the router would leave it) on a
 * temporary database, and the struct response checked. Session create (201,
 * Location, the row, read back by the get handler), model create with every
 * validation error collected (400, nothing written), a model over an unknown
 * session (400 naming annotation_ids), model get of an unknown id (404).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "handlers.h"
#include "testutil.h"

struct hfx {
    struct tserver ts; /* its paths only: no daemon runs */
    struct app app;
    struct db *db;
    int64_t ws, pr, user;
};

static void hfx_init(struct hfx *f)
{
    char token[65];
    struct err err = {0};

    memset(f, 0, sizeof(*f));
    tserver_files(&f->ts);
    f->db = db_open(f->ts.db_path, 2, &err);
    ck_assert_msg(f->db != NULL, "%s", err.msg);
    f->ws = tfx_workspace(&f->ts, "ws");
    f->pr = tfx_project(&f->ts, f->ws, "pr");
    f->user = tfx_user(&f->ts, "mia", 0, token);
    tfx_member(&f->ts, f->pr, f->user, "MANAGER");
    f->app.cfg = &f->ts.cfg;
    f->app.db = f->db; /* no pool (pool_wake accepts NULL), no Idempotency-Keys, no cache */
}

static void hfx_release(struct hfx *f)
{
    db_close(f->db);
    tserver_cleanup(&f->ts);
}

/* A request as the router leaves it for the handler: routed, authorized as
 * the project's MANAGER, body parsed (body is borrowed). */
static void request(struct hfx *f, struct request *req, struct response *resp,
                    const char *method, const char *path, int64_t id, json_t *body)
{
    memset(req, 0, sizeof(*req));
    memset(resp, 0, sizeof(*resp));
    req->method = method;
    req->path = path;
    req->args[0] = f->pr;
    req->args[1] = id;
    req->nargs = id ? 2 : 1;
    req->body = body;
    req->content_type = body ? "application/json" : NULL;
    req->caller = (struct caller){.user_id = f->user, .role = ROLE_MANAGER,
                                  .workspace_id = f->ws};
    req->app = &f->app;
    req->request_id = "test";
    resp->status = 200; /* what http_ sets before calling a handler */
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

START_TEST(test_session_create)
{
    struct hfx f;
    struct request req;
    struct response resp;
    json_t *body = json_pack("{s:s, s:s, s:s}", "name", "  reviews ", "type", "CLASS",
                             "language", "en");
    char want[96];
    int64_t id;

    hfx_init(&f);
    request(&f, &req, &resp, "POST", "/projects/1/annotations", 0, body);
    handler_annotations_create(&req, &resp);
    ck_assert_int_eq(resp.status, 201);
    ck_assert_str_eq(str(resp.body, "name"), "reviews"); /* trimmed */
    ck_assert_str_eq(str(resp.body, "type"), "CLASS");
    ck_assert_int_eq(json_integer_value(json_object_get(resp.body, "document_count")), 0);
    id = json_integer_value(json_object_get(resp.body, "id"));
    snprintf(want, sizeof want, "/projects/%lld/annotations/%lld", (long long)f.pr,
             (long long)id);
    ck_assert_str_eq(resp.location, want);
    ck_assert_int_eq(tsql_int(&f.ts, "SELECT COUNT(*) FROM annotations WHERE name = 'reviews'"),
                     1);
    response_release(&resp);
    /* and it reads back through the get handler */
    request(&f, &req, &resp, "GET", want, id, NULL);
    handler_annotations_get(&req, &resp);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(str(resp.body, "name"), "reviews");
    response_release(&resp);
    json_decref(body);
    hfx_release(&f);
}
END_TEST

/* The fields named in a 400 problem's errors[], space-separated. */
static void error_fields(const json_t *problem, char *out, size_t len)
{
    size_t i, o = 0;
    json_t *e;

    out[0] = '\0';
    json_array_foreach(json_object_get(problem, "errors"), i, e)
        o += (size_t)snprintf(out + o, len - o, "%s%s", o ? " " : "", str(e, "field"));
}

START_TEST(test_model_create_invalid)
{
    struct hfx f;
    struct request req;
    struct response resp;
    json_t *body = json_pack("{s:s, s:s, s:[], s:i}", "name", "", "language", "klingon",
                             "annotation_ids", "colour", 1);
    char fields[256];

    hfx_init(&f);
    request(&f, &req, &resp, "POST", "/projects/1/models", 0, body);
    handler_models_create(&req, &resp);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_str_eq(resp.content_type, "application/problem+json");
    error_fields(resp.body, fields, sizeof fields);
    /* every invalid field is named, not only the first */
    ck_assert_msg(strstr(fields, "colour") && strstr(fields, "name") &&
                      strstr(fields, "language") && strstr(fields, "annotation_ids"),
                  "errors name: %s", fields);
    ck_assert_int_eq(tsql_int(&f.ts, "SELECT COUNT(*) FROM models"), 0);
    response_release(&resp);
    json_decref(body);
    hfx_release(&f);
}
END_TEST

START_TEST(test_model_get_404)
{
    struct hfx f;
    struct request req;
    struct response resp;

    hfx_init(&f);
    request(&f, &req, &resp, "GET", "/projects/1/models/999", 999, NULL);
    handler_models_get(&req, &resp);
    ck_assert_int_eq(resp.status, 404);
    ck_assert_str_eq(resp.content_type, "application/problem+json");
    ck_assert_int_eq(json_integer_value(json_object_get(resp.body, "status")), 404);
    ck_assert_ptr_nonnull(str(resp.body, "detail"));
    response_release(&resp);
    hfx_release(&f);
}
END_TEST

START_TEST(test_model_create_unknown_session)
{
    struct hfx f;
    struct request req;
    struct response resp;
    json_t *body = json_pack("{s:s, s:s, s:[i]}", "name", "m", "language", "en",
                             "annotation_ids", 77);
    char fields[256];

    hfx_init(&f);
    request(&f, &req, &resp, "POST", "/projects/1/models", 0, body);
    handler_models_create(&req, &resp);
    ck_assert_int_eq(resp.status, 400);
    error_fields(resp.body, fields, sizeof fields);
    ck_assert_str_eq(fields, "annotation_ids");
    ck_assert_int_eq(tsql_int(&f.ts, "SELECT COUNT(*) FROM models"), 0);
    response_release(&resp);
    json_decref(body);
    hfx_release(&f);
}
END_TEST

Suite *handlers_suite(void)
{
    Suite *s = suite_create("handlers");
    TCase *tc = tcase_create("direct");

    tcase_add_test(tc, test_session_create);
    tcase_add_test(tc, test_model_create_invalid);
    tcase_add_test(tc, test_model_get_404);
    tcase_add_test(tc, test_model_create_unknown_session);
    suite_add_tcase(s, tc);
    return s;
}
