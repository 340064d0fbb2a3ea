/* SPDX-License-Identifier: MIT */
/*
 * Idempotency-Key on the three creating POSTs (create model, create session,
 * upload documents): a retry gets the original answer without the work being
 * done again, a reused key with another request is 422, a key still in use is
 * 409, keys are per caller, durable and expire after 24 hours; requests whose
 * work did not commit are not remembered. Also: uploads are staged, so rows
 * an interrupted upload left behind are invisible and removed at start; a key
 * in progress on a daemon that died is freed when its lease expires.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "db.h"
#include "testapi.h"

static void path_of(const struct tapi *a, const char *suffix, char *buf, size_t len)
{
    snprintf(buf, len, "/projects/%lld%s", (long long)a->pr, suffix);
}

static int64_t count(struct tapi *a, const char *sql)
{
    return tsql_int(&a->ts, sql);
}

START_TEST(test_create_model_replayed)
{
    struct tapi a;
    struct tresp r1, r2, r3;
    char path[64], body[256];
    int64_t s;

    tapi_start(&a, 0);
    s = tapi_session(&a, "s", "CLASS", "en", tapi_data_class("en", 6));
    path_of(&a, "/models", path, sizeof path);
    snprintf(body, sizeof body, "{\"name\":\"m\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
             (long long)s);
    thttp_key(&a.ts, "POST", path, a.mgr, "application/json", "key-1", body, &r1);
    ck_assert_int_eq(r1.status, 201);
    ck_assert_str_eq(r1.replayed, "");
    thttp_key(&a.ts, "POST", path, a.mgr, "application/json", "key-1", body, &r2);
    ck_assert_int_eq(r2.status, 201);
    ck_assert_str_eq(r2.replayed, "true");
    ck_assert_str_eq(r2.body, r1.body);
    ck_assert_str_eq(r2.location, r1.location);
    ck_assert_str_eq(r2.content_type, "application/json");
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM models WHERE name = 'm'"), 1);
    /* durable: the record committed with the model survives a restart */
    tserver_stop(&a.ts);
    tserver_restart(&a.ts, 0);
    thttp_key(&a.ts, "POST", path, a.mgr, "application/json", "key-1", body, &r3);
    ck_assert_int_eq(r3.status, 201);
    ck_assert_str_eq(r3.body, r1.body);
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM models WHERE name = 'm'"), 1);
    /* without a key a second create is refused as before (the name is taken) */
    tresp_release(&r3);
    tjson(&a.ts, "POST", path, a.mgr, body, &r3);
    ck_assert_int_eq(r3.status, 400);
    tresp_release(&r1);
    tresp_release(&r2);
    tresp_release(&r3);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_key_reused_for_another_request)
{
    struct tapi a;
    struct tresp r;
    char models[64], sessions[64];

    tapi_start(&a, 0);
    path_of(&a, "/annotations", sessions, sizeof sessions);
    path_of(&a, "/models", models, sizeof models);
    thttp_key(&a.ts, "POST", sessions, a.mgr, "application/json", "k",
              "{\"name\":\"a\",\"type\":\"CLASS\",\"language\":\"en\"}", &r);
    ck_assert_int_eq(r.status, 201);
    tresp_release(&r);
    /* another body */
    thttp_key(&a.ts, "POST", sessions, a.mgr, "application/json", "k",
              "{\"name\":\"b\",\"type\":\"CLASS\",\"language\":\"en\"}", &r);
    tassert_problem(&r, 422);
    ck_assert_str_eq(tapi_str(r.json, "type"), "urn:modeld:problem:idempotency-key-reused");
    tresp_release(&r);
    /* the same body byte for byte except white space is another body too */
    thttp_key(&a.ts, "POST", sessions, a.mgr, "application/json", "k",
              "{\"name\":\"a\", \"type\":\"CLASS\",\"language\":\"en\"}", &r);
    tassert_problem(&r, 422);
    tresp_release(&r);
    /* another route */
    thttp_key(&a.ts, "POST", models, a.mgr, "application/json", "k",
              "{\"name\":\"a\",\"type\":\"CLASS\",\"language\":\"en\"}", &r);
    tassert_problem(&r, 422);
    tresp_release(&r);
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM annotations"), 1);
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM models"), 0);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_keys_are_per_caller)
{
    struct tapi a;
    struct tresp r1, r2;
    char sessions[64];
    static const char body[] = "{\"name\":\"a\",\"type\":\"CLASS\",\"language\":\"en\"}";

    tapi_start(&a, 0);
    path_of(&a, "/annotations", sessions, sizeof sessions);
    thttp_key(&a.ts, "POST", sessions, a.mgr, "application/json", "same", body, &r1);
    thttp_key(&a.ts, "POST", sessions, a.annot, "application/json", "same", body, &r2);
    ck_assert_int_eq(r1.status, 201);
    ck_assert_int_eq(r2.status, 201);
    ck_assert_str_eq(r2.replayed, "");
    ck_assert_int_ne(json_integer_value(json_object_get(r1.json, "id")),
                     json_integer_value(json_object_get(r2.json, "id")));
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM annotations"), 2);
    tresp_release(&r1);
    tresp_release(&r2);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_upload_replayed_not_stored_twice)
{
    struct tapi a;
    struct tresp r1, r2;
    char path[96];
    static const char docs[] = "{\"text\":\"good pizza\",\"class\":\"food\"}\n"
                               "{\"text\":\"a late goal\",\"class\":\"sports\"}\n";
    int64_t s;

    tapi_start(&a, 0);
    s = tapi_empty_session(&a, "s", "CLASS", "en");
    snprintf(path, sizeof path, "/projects/%lld/annotations/%lld/documents", (long long)a.pr,
             (long long)s);
    thttp_key(&a.ts, "POST", path, a.annot, "application/x-ndjson", "\"up-1\"", docs, &r1);
    ck_assert_msg(r1.status == 201, "%ld %s", r1.status, r1.body);
    /* a bare key is the same key as its quoted (structured field) form */
    thttp_key(&a.ts, "POST", path, a.annot, "application/x-ndjson", "up-1", docs, &r2);
    ck_assert_int_eq(r2.status, 201);
    ck_assert_str_eq(r2.replayed, "true");
    ck_assert_str_eq(r2.body, r1.body);
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM documents"), 2);
    ck_assert_int_eq(count(&a, "SELECT document_count FROM annotations"), 2);
    ck_assert_int_eq(count(&a, "SELECT count FROM annotation_labels WHERE name = 'food'"), 1);
    tresp_release(&r2);
    /* the same documents under another content type are another request */
    thttp_key(&a.ts, "POST", path, a.annot, "application/json", "up-1", docs, &r2);
    tassert_problem(&r2, 422);
    tresp_release(&r1);
    tresp_release(&r2);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_failed_request_not_remembered)
{
    struct tapi a;
    struct tresp r;
    char sessions[64];

    tapi_start(&a, 0);
    path_of(&a, "/annotations", sessions, sizeof sessions);
    thttp_key(&a.ts, "POST", sessions, a.mgr, "application/json", "k",
              "{\"name\":\"a\",\"type\":\"NOPE\",\"language\":\"en\"}", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM idempotency_keys"), 0);
    thttp_key(&a.ts, "POST", sessions, a.mgr, "application/json", "k",
              "{\"name\":\"a\",\"type\":\"CLASS\",\"language\":\"en\"}", &r);
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(r.replayed, "");
    tresp_release(&r);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_bad_keys)
{
    struct tapi a;
    struct tresp r;
    char sessions[64], longkey[300];
    const char *bad[] = {"", "two words", "caf\xc3\xa9", "\"unterminated", "\"a\\\"b\"", longkey};

    tapi_start(&a, 0);
    path_of(&a, "/annotations", sessions, sizeof sessions);
    memset(longkey, 'k', 256);
    longkey[256] = '\0';
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        thttp_key(&a.ts, "POST", sessions, a.mgr, "application/json", bad[i],
                  "{\"name\":\"a\",\"type\":\"CLASS\",\"language\":\"en\"}", &r);
        ck_assert_msg(r.status == 400, "key %zu: %ld", i, r.status);
        tassert_problem(&r, 400);
        ck_assert_ptr_nonnull(terror(&r, "Idempotency-Key"));
        tresp_release(&r);
    }
    longkey[255] = '\0'; /* 255 characters is the longest key */
    thttp_key(&a.ts, "POST", sessions, a.mgr, "application/json", longkey,
              "{\"name\":\"a\",\"type\":\"CLASS\",\"language\":\"en\"}", &r);
    ck_assert_int_eq(r.status, 201);
    tresp_release(&r);
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM annotations"), 1);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_key_expires_after_a_day)
{
    struct tapi a;
    struct tresp r1, r2;
    char sessions[64];
    static const char body[] = "{\"name\":\"a\",\"type\":\"CLASS\",\"language\":\"en\"}";

    tapi_start(&a, 0);
    path_of(&a, "/annotations", sessions, sizeof sessions);
    thttp_key(&a.ts, "POST", sessions, a.mgr, "application/json", "k", body, &r1);
    ck_assert_int_eq(r1.status, 201);
    tsql(&a.ts, "UPDATE idempotency_keys SET created = created - 86401");
    thttp_key(&a.ts, "POST", sessions, a.mgr, "application/json", "k", body, &r2);
    ck_assert_int_eq(r2.status, 201);
    ck_assert_str_eq(r2.replayed, "");
    ck_assert_str_ne(r2.location, r1.location);
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM annotations"), 2);
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM idempotency_keys"), 1);
    tresp_release(&r1);
    tresp_release(&r2);
    tserver_cleanup(&a.ts);
}
END_TEST

/* An upload with a key is half sent on a raw socket; a second request with
 * the key gets 409 with Retry-After until the first is answered. */
START_TEST(test_key_in_use_is_409)
{
    struct tapi a;
    struct tresp r;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct timeval tv = {(time_t)(10 * TAPI_SLOW), 0};
    static const char docs[] = "{\"text\":\"good pizza\",\"class\":\"food\"}\n";
    char path[96], head[1024], reply[4096];
    size_t half = sizeof docs / 2, got = 0;
    int64_t s;
    int fd;

    tapi_start(&a, 0);
    s = tapi_empty_session(&a, "s", "CLASS", "en");
    snprintf(path, sizeof path, "/projects/%lld/annotations/%lld/documents", (long long)a.pr,
             (long long)s);
    snprintf(head, sizeof head,
             "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/x-ndjson\r\nIdempotency-Key: busy\r\n"
             "Content-Length: %zu\r\n\r\n",
             path, a.annot, sizeof docs - 1);
    sa.sin_port = htons(a.ts.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ck_assert_int_eq(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
    ck_assert_int_eq(send(fd, docs, half, MSG_NOSIGNAL), (ssize_t)half);
    tapi_sleep(0.3 * TAPI_SLOW); /* let the server read the head */
    thttp_key(&a.ts, "POST", path, a.annot, "application/x-ndjson", "busy", docs, &r);
    tassert_problem(&r, 409);
    ck_assert_str_eq(tapi_str(r.json, "type"), "urn:modeld:problem:idempotency-key-in-use");
    ck_assert_str_eq(r.retry_after, "1");
    tresp_release(&r);
    ck_assert_int_eq(send(fd, docs + half, sizeof docs - 1 - half, MSG_NOSIGNAL),
                     (ssize_t)(sizeof docs - 1 - half));
    while (got < sizeof reply - 1) {
        ssize_t n = recv(fd, reply + got, sizeof reply - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        reply[got] = '\0';
        if (strstr(reply, "\r\n\r\n") && strstr(reply, "}"))
            break;
    }
    reply[got] = '\0';
    close(fd);
    ck_assert_msg(strncmp(reply, "HTTP/1.1 201", 12) == 0, "%s", reply);
    /* answered: the key is free again, and the retry is a replay */
    thttp_key(&a.ts, "POST", path, a.annot, "application/x-ndjson", "busy", docs, &r);
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(r.replayed, "true");
    tresp_release(&r);
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM documents"), 1);
    tserver_cleanup(&a.ts);
}
END_TEST

static const struct db_doc *doc_at(const void *ctx, size_t i)
{
    return (const struct db_doc *)ctx + i;
}

/* Rows an upload wrote but never published (the daemon was killed in the
 * middle) are seen by nobody and removed at the next start. */
START_TEST(test_unpublished_upload_invisible_and_removed)
{
    struct tapi a;
    struct tresp r;
    struct err err = {0};
    struct db *db;
    struct db_conn *c;
    const struct db_doc docs[] = {{.text = "good pizza", .cls = "food"},
                                  {.text = "a late goal", .cls = "sports"},
                                  {.text = "new laptop", .cls = "tech"}};
    char path[96];
    int64_t s, up;

    tapi_start(&a, 0);
    s = tapi_empty_session(&a, "s", "CLASS", "en");
    tserver_stop(&a.ts);
    db = db_open(a.ts.db_path, 1, &err);
    ck_assert_msg(db != NULL, "%s", err.msg);
    c = db_acquire(db);
    ck_assert_int_eq(db_documents_add(c, s, doc_at, docs, 1, &err), 0);
    up = db_upload_open(c, s, &err);
    ck_assert_int_gt(up, 0);
    ck_assert_int_eq(db_upload_write(c, up, s, doc_at, docs + 1, 2, &err), 0);
    {
        struct db_annotation v;

        ck_assert_int_eq(db_annotation_get(c, a.pr, s, &v, &err), 0);
        ck_assert_int_eq(v.document_count, 1);
        ck_assert_uint_eq(v.n_labels, 1); /* the published document's class only */
        db_annotation_release(&v);
    }
    db_release(db, c);
    db_close(db);
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM documents"), 3);
    tserver_restart(&a.ts, 0);
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM documents"), 1);
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM uploads WHERE published = 0"), 0);
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM upload_labels"), 0);
    snprintf(path, sizeof path, "/projects/%lld/annotations/%lld", (long long)a.pr, (long long)s);
    thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "document_count")), 1);
    tresp_release(&r);
    tserver_cleanup(&a.ts);
}
END_TEST

/* A key in progress on another daemon sharing the database is 409 there
 * too; the mark of a daemon that died expires with its lease, and the
 * request is then done (once). */
START_TEST(test_key_of_gone_daemon_expires)
{
    struct tapi a;
    struct tresp r;
    char path[64], sql[400];
    static const char body[] = "{\"name\":\"a\",\"type\":\"CLASS\",\"language\":\"en\"}";

    tapi_start(&a, 0);
    path_of(&a, "/annotations", path, sizeof path);
    tsql(&a.ts, "INSERT INTO daemons (id, started, lease_until) VALUES "
                "('other00000000000000000000000000', 0, 32503680000000)");
    snprintf(sql, sizeof sql,
             "INSERT INTO idempotency_keys (user_id, key, request_hash, status, location, body, "
             "created, daemon_id) VALUES (%lld, 'k', '', 0, NULL, '', %lld, "
             "'other00000000000000000000000000')",
             (long long)a.mgr_id, (long long)util_now_unix());
    tsql(&a.ts, sql);
    thttp_key(&a.ts, "POST", path, a.mgr, "application/json", "k", body, &r);
    tassert_problem(&r, 409);
    ck_assert_str_eq(r.retry_after, "1");
    tresp_release(&r);
    /* that daemon dies: its lease expires */
    tsql(&a.ts, "UPDATE daemons SET lease_until = 1 WHERE id LIKE 'other%'");
    thttp_key(&a.ts, "POST", path, a.mgr, "application/json", "k", body, &r);
    ck_assert_int_eq(r.status, 201);
    tresp_release(&r);
    thttp_key(&a.ts, "POST", path, a.mgr, "application/json", "k", body, &r);
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(r.replayed, "true");
    tresp_release(&r);
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM annotations"), 1);
    ck_assert_int_eq(count(&a, "SELECT COUNT(*) FROM idempotency_keys WHERE status = 201 "
                               "AND daemon_id IS NULL"), 1);
    tserver_cleanup(&a.ts);
}
END_TEST

Suite *api_idem_suite(void)
{
    Suite *s = suite_create("api_idem");
    TCase *tc = tcase_create("idem");

    tcase_set_timeout(tc, 60 * TAPI_SLOW);
    tcase_add_test(tc, test_create_model_replayed);
    tcase_add_test(tc, test_key_reused_for_another_request);
    tcase_add_test(tc, test_keys_are_per_caller);
    tcase_add_test(tc, test_upload_replayed_not_stored_twice);
    tcase_add_test(tc, test_failed_request_not_remembered);
    tcase_add_test(tc, test_bad_keys);
    tcase_add_test(tc, test_key_expires_after_a_day);
    tcase_add_test(tc, test_key_in_use_is_409);
    tcase_add_test(tc, test_unpublished_upload_invisible_and_removed);
    tcase_add_test(tc, test_key_of_gone_daemon_expires);
    suite_add_tcase(s, tc);
    return s;
}
