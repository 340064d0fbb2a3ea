/* SPDX-License-Identifier: MIT */
/*
 * Model operations through HTTP (issue 3): GET with stored metrics, PATCH (names, descriptions and the
 * READY/ACTIVE/PUBLISHED transitions), DELETE (row, artifact and name; a
 * running job is canceled), predict (validation, roles, states, a corrupted
 * artifact answered with a clean 500) and base models created with
 * `modeld base create --from-model` and used for warm starts.
 *
 * States the pool never leaves a row in for long (CREATED, TRAINING) are set
 * directly in the database file, so the checks do not race a worker.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "pcache.h"
#include "pool.h"
#include "testapi.h"
#include "trainer.h"

/* Force a model's status in the database (see the file comment). */
static void set_status(struct tapi *a, int64_t id, const char *status)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "UPDATE models SET status = '%s' WHERE id = %lld", status,
             (long long)id);
    tsql(&a->ts, sql);
}

static void patch(struct tapi *a, int64_t id, const char *token, const char *body, struct tresp *r)
{
    char path[96];

    tapi_path(a, id, NULL, path, sizeof(path));
    tjson(&a->ts, "PATCH", path, token, body, r);
}

/* PATCH expecting 200 with status want_status; returns nothing, releases. */
static void patch_ok(struct tapi *a, int64_t id, const char *body, const char *want_status)
{
    struct tresp r;

    patch(a, id, a->mgr, body, &r);
    ck_assert_msg(r.status == 200, "PATCH %s: %ld %s", body, r.status, r.body);
    if (want_status)
        ck_assert_str_eq(tapi_str(r.json, "status"), want_status);
    tresp_release(&r);
}

static void patch_400(struct tapi *a, int64_t id, const char *body, const char *field)
{
    struct tresp r;

    patch(a, id, a->mgr, body, &r);
    tassert_problem(&r, 400);
    if (field)
        ck_assert_str_eq(tapi_str(json_array_get(json_object_get(r.json, "errors"), 0), "field"),
                         field);
    tresp_release(&r);
}

/* A READY CLASS model over a fresh tiny English session. */
static int64_t ready_model(struct tapi *a, const char *name)
{
    int64_t s = tapi_session(a, name, "CLASS", "en", tapi_data_class("en", 10));
    int64_t id = tapi_model_on(a, name, "en", s);

    json_decref(tapi_wait_ready(a, id, 30));
    return id;
}

/* A FAILED model (its only session has no documents). */
static int64_t failed_model(struct tapi *a, const char *name)
{
    int64_t s = tapi_empty_session(a, name, "CLASS", "en");
    int64_t id = tapi_model_on(a, name, "en", s);
    json_t *v = tapi_wait(a, id, "FAILED READY", 30);

    ck_assert_str_eq(tapi_str(v, "status"), "FAILED");
    json_decref(v);
    return id;
}

/* ---- GET ------------------------------------------------------------------------- */

/* GET model copies the stored metrics text into its answer when it is an
 * object (what the pool writes), parses it otherwise: either way the body is
 * the canonical compact JSON of the view, and what does not parse is null. */
START_TEST(test_get_stored_metrics)
{
    static const struct {
        const char *stored, *want; /* want: the metrics member, compact; NULL: null */
    } cases[] = {{NULL, NULL},
                 {"{\"a\":1.5,\"b\":[1,\"x\"],\"c\":{\"d\":null}}",
                  "{\"a\":1.5,\"b\":[1,\"x\"],\"c\":{\"d\":null}}"},
                 {" {\"a\": 1} ", "{\"a\":1}"},
                 {"[1]", "[1]"},
                 {"not json", NULL}};
    struct tapi a;
    char path[96], sql[256];

    tapi_start(&a, 1);
    int64_t id = failed_model(&a, "f");
    tapi_path(&a, id, NULL, path, sizeof(path));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tresp r;
        char *canon, *m;

        if (cases[i].stored) {
            snprintf(sql, sizeof sql, "UPDATE models SET metrics = '%s' WHERE id = %lld",
                     cases[i].stored, (long long)id);
            tsql(&a.ts, sql);
        }
        thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        canon = json_dumps(r.json, JSON_COMPACT);
        ck_assert_str_eq(r.body, canon);
        m = json_dumps(json_object_get(r.json, "metrics"), JSON_COMPACT | JSON_ENCODE_ANY);
        ck_assert_str_eq(m, cases[i].want ? cases[i].want : "null");
        ck_assert_int_eq(json_integer_value(json_object_get(r.json, "id")), id);
        free(m);
        free(canon);
        tresp_release(&r);
    }
    tserver_cleanup(&a.ts);
}
END_TEST

/* ---- PATCH ------------------------------------------------------------------------ */

START_TEST(test_patch_fields_and_roles)
{
    struct tapi a;
    struct tresp r;
    json_t *v;
    int64_t id;

    tapi_start(&a, 1);
    id = ready_model(&a, "m");
    patch_ok(&a, id,
             "{\"display_name\":\"  Topic model  \",\"short_description\":\"three topics\","
             "\"long_description\":\"sports, food and tech in English\"}",
             "READY");
    v = tapi_get(&a, id);
    ck_assert_str_eq(tapi_str(v, "display_name"), "Topic model");
    ck_assert_str_eq(tapi_str(v, "short_description"), "three topics");
    ck_assert_str_eq(tapi_str(v, "long_description"), "sports, food and tech in English");
    ck_assert_str_eq(tapi_str(v, "name"), "m"); /* the name is not patchable */
    json_decref(v);
    patch_ok(&a, id, "{\"long_description\":null}", NULL);
    v = tapi_get(&a, id);
    ck_assert(json_is_null(json_object_get(v, "long_description")));
    ck_assert_str_eq(tapi_str(v, "short_description"), "three topics");
    json_decref(v);

    patch_400(&a, id, "{\"name\":\"other\"}", "name");
    patch_400(&a, id, "{\"display_name\":\"x\",\"bogus\":1}", "bogus");
    patch_400(&a, id, "{}", NULL);
    patch_400(&a, id, "{\"display_name\":\"\"}", "display_name");
    patch_400(&a, id, "{\"display_name\":\"two\\nlines\"}", "display_name");
    patch_400(&a, id, "{\"display_name\":42}", "display_name");
    patch(&a, id, a.viewer, "{\"display_name\":\"v\"}", &r);
    tassert_problem(&r, 403);
    tresp_release(&r);
    patch(&a, id, a.annot, "{\"display_name\":\"v\"}", &r);
    tassert_problem(&r, 403);
    tresp_release(&r);
    patch(&a, 999999, a.mgr, "{\"display_name\":\"v\"}", &r);
    tassert_problem(&r, 404);
    tresp_release(&r);
    v = tapi_get(&a, id);
    ck_assert_str_eq(tapi_str(v, "display_name"), "Topic model");
    json_decref(v);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_patch_status_transitions)
{
    struct tapi a;
    json_t *v;
    int64_t id, failed, created, training;

    tapi_start(&a, 1);
    id = ready_model(&a, "m");
    /* READY -> ACTIVE -> PUBLISHED -> READY, and ACTIVE -> READY */
    patch_ok(&a, id, "{\"status\":\"ACTIVE\"}", "ACTIVE");
    patch_ok(&a, id, "{\"status\":\"PUBLISHED\"}", "PUBLISHED");
    patch_400(&a, id, "{\"status\":\"ACTIVE\"}", "status"); /* PUBLISHED -> ACTIVE */
    patch_ok(&a, id, "{\"status\":\"READY\"}", "READY");
    patch_400(&a, id, "{\"status\":\"PUBLISHED\"}", "status"); /* skips ACTIVE */
    patch_ok(&a, id, "{\"status\":\"ACTIVE\"}", "ACTIVE");
    patch_ok(&a, id, "{\"status\":\"READY\"}", "READY");
    /* states only the trainer sets */
    patch_400(&a, id, "{\"status\":\"TRAINING\"}", "status");
    patch_400(&a, id, "{\"status\":\"FAILED\"}", "status");
    patch_400(&a, id, "{\"status\":\"CREATED\"}", "status");
    patch_400(&a, id, "{\"status\":\"active\"}", "status");
    patch_400(&a, id, "{\"status\":null}", "status");
    v = tapi_get(&a, id);
    ck_assert_str_eq(tapi_str(v, "status"), "READY");
    json_decref(v);

    /* untrained models cannot be activated; a rejected PATCH changes nothing */
    failed = failed_model(&a, "f");
    patch_400(&a, failed, "{\"status\":\"ACTIVE\"}", "status");
    patch_400(&a, failed, "{\"status\":\"READY\"}", "status");
    patch_400(&a, failed, "{\"status\":\"ACTIVE\",\"display_name\":\"renamed\"}", "status");
    v = tapi_get(&a, failed);
    ck_assert_str_eq(tapi_str(v, "status"), "FAILED");
    ck_assert_str_eq(tapi_str(v, "display_name"), "f");
    json_decref(v);
    created = failed_model(&a, "c");
    set_status(&a, created, "CREATED");
    patch_400(&a, created, "{\"status\":\"ACTIVE\"}", "status");
    patch_400(&a, created, "{\"status\":\"READY\"}", "status");
    training = failed_model(&a, "t");
    set_status(&a, training, "TRAINING");
    patch_400(&a, training, "{\"status\":\"ACTIVE\"}", "status");
    patch_400(&a, training, "{\"status\":\"READY\"}", "status");
    patch_400(&a, training, "{\"status\":\"PUBLISHED\"}", "status");
    v = tapi_get(&a, training);
    ck_assert_str_eq(tapi_str(v, "status"), "TRAINING");
    json_decref(v);
    tserver_cleanup(&a.ts);
}
END_TEST

/* ---- DELETE ------------------------------------------------------------------------ */

static void del(struct tapi *a, int64_t id, const char *token, struct tresp *r)
{
    char path[96];

    tapi_path(a, id, NULL, path, sizeof(path));
    thttp(&a->ts, "DELETE", path, token, NULL, NULL, r);
}

START_TEST(test_delete_ready_and_failed)
{
    struct tapi a;
    struct tresp r;
    json_t *v;
    int64_t id, s, failed, again;
    char art[512], path[96];
    struct stat sb;

    tapi_start(&a, 1);
    s = tapi_session(&a, "s", "CLASS", "en", tapi_data_class("en", 10));
    id = tapi_model_on(&a, "m", "en", s);
    v = tapi_wait_ready(&a, id, 30);
    tapi_artifact(&a, v, art, sizeof(art));
    json_decref(v);
    ck_assert_int_eq(stat(art, &sb), 0);
    tapi_predict(&a, id, a.viewer, "{\"texts\":[\"football goal\"]}", &r); /* cached now */
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);

    del(&a, id, a.viewer, &r);
    tassert_problem(&r, 403);
    tresp_release(&r);
    del(&a, id, a.annot, &r);
    tassert_problem(&r, 403);
    tresp_release(&r);
    del(&a, id, a.mgr, &r);
    ck_assert_msg(r.status == 204, "DELETE: %ld %s", r.status, r.body ? r.body : "");
    ck_assert(r.len == 0);
    tresp_release(&r);
    tapi_path(&a, id, NULL, path, sizeof(path));
    thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
    tassert_problem(&r, 404);
    tresp_release(&r);
    ck_assert_msg(access(art, F_OK) != 0, "artifact %s still there", art);
    del(&a, id, a.mgr, &r);
    tassert_problem(&r, 404);
    tresp_release(&r);
    tapi_predict(&a, id, a.viewer, "{\"texts\":[\"football goal\"]}", &r);
    tassert_problem(&r, 404);
    tresp_release(&r);
    /* the name is free again */
    again = tapi_model_on(&a, "m", "en", s);
    ck_assert_int_ne(again, id);
    json_decref(tapi_wait_ready(&a, again, 30));

    /* a FAILED model keeps its name until deleted */
    failed = failed_model(&a, "f");
    tapi_path(&a, 0, NULL, path, sizeof(path));
    {
        char body[128];

        snprintf(body, sizeof(body),
                 "{\"name\":\"f\",\"language\":\"en\",\"annotation_ids\":[%lld]}", (long long)s);
        tjson(&a.ts, "POST", path, a.mgr, body, &r);
    }
    tassert_problem(&r, 400);
    ck_assert_str_eq(tapi_str(json_array_get(json_object_get(r.json, "errors"), 0), "field"),
                     "name");
    tresp_release(&r);
    del(&a, failed, a.mgr, &r);
    ck_assert_int_eq(r.status, 204);
    tresp_release(&r);
    json_decref(tapi_wait_ready(&a, tapi_model_on(&a, "f", "en", s), 30));
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_delete_training_cancels)
{
    struct tapi a;
    struct tresp r;
    json_t *v;
    int64_t big, small, m1, m2;
    char art[512], *jsonl;
    double t0, latency;

    tapi_start(&a, 1);
    jsonl = tapi_shared_lines("germeval2018_de.jsonl", 4000);
    if (!jsonl) {
        tserver_cleanup(&a.ts);
        return;
    }
    big = tapi_session(&a, "big", "CLASS", "de", jsonl);
    small = tapi_session(&a, "small", "CLASS", "de", tapi_data_class("de", 10));
    m1 = tapi_model_on(&a, "big", "de", big);
    v = tapi_wait_training(&a, m1, 1.0, 30);
    tapi_artifact(&a, v, art, sizeof(art));
    json_decref(v);
    m2 = tapi_model_on(&a, "small", "de", small);
    t0 = util_monotonic();
    del(&a, m1, a.mgr, &r);
    ck_assert_int_eq(r.status, 204);
    tresp_release(&r);
    /* the worker drops the deleted job and takes the next one */
    for (;;) {
        v = tapi_get(&a, m2);
        if (strcmp(tapi_str(v, "status"), "QUEUED") != 0)
            break;
        json_decref(v);
        ck_assert_msg(util_monotonic() - t0 < 10 * TAPI_SLOW, "the deleted job holds the worker");
        tapi_sleep(0.005);
    }
    json_decref(v);
    latency = util_monotonic() - t0;
    ck_assert_msg(latency < 1.0 * TAPI_SLOW, "delete took %.3f s to stop the job", latency);
    json_decref(tapi_wait_ready(&a, m2, 30));
    ck_assert_msg(access(art, F_OK) != 0, "the deleted job wrote its artifact");
    /* and its name is free */
    json_decref(tapi_wait_ready(&a, tapi_model_on(&a, "big", "de", small), 30));
    tserver_cleanup(&a.ts);
}
END_TEST

/* ---- predict ------------------------------------------------------------------------- */

START_TEST(test_predict_validation)
{
    struct tapi a;
    struct tresp r;
    struct tbuf b = {0};
    int64_t id, failed, created;
    char path[128];

    tapi_start(&a, 1);
    id = ready_model(&a, "m");
    tapi_predict(&a, id, a.viewer, "{\"texts\":[\"football match goal\",\"pizza\"]}", &r);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "predictions")), 2);
    ck_assert_str_eq(tapi_str(json_array_get(json_object_get(r.json, "predictions"), 0), "class"),
                     "sports");
    tresp_release(&r);
    tapi_predict(&a, id, a.annot, "{\"texts\":[\"x\"]}", &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);

    tapi_predict(&a, id, a.viewer, "{\"texts\":[]}", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    tbuf_add(&b, "{\"texts\":[");
    for (int i = 0; i < 1001; i++)
        tbuf_add(&b, "%s\"text %d\"", i ? "," : "", i);
    tbuf_add(&b, "]}");
    tapi_predict(&a, id, a.viewer, b.s, &r);
    tassert_problem(&r, 400);
    ck_assert_str_eq(tapi_str(json_array_get(json_object_get(r.json, "errors"), 0), "field"),
                     "texts");
    tresp_release(&r);
    /* 1000 is the limit, not beyond it */
    b.len = 0;
    tbuf_add(&b, "{\"texts\":[");
    for (int i = 0; i < 1000; i++)
        tbuf_add(&b, "%s\"pizza %d\"", i ? "," : "", i);
    tbuf_add(&b, "]}");
    tapi_predict(&a, id, a.viewer, b.s, &r);
    ck_assert_msg(r.status == 200, "%ld", r.status);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "predictions")), 1000);
    tresp_release(&r);
    free(b.s);
    tapi_predict(&a, id, a.viewer, "{\"texts\":[\"ok\", 3]}", &r);
    tassert_problem(&r, 400);
    ck_assert_str_eq(tapi_str(json_array_get(json_object_get(r.json, "errors"), 0), "field"),
                     "texts[1]");
    tresp_release(&r);
    tapi_predict(&a, id, a.viewer, "{\"texts\":[null]}", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    tapi_predict(&a, id, a.viewer, "{\"texts\":\"one\"}", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    tapi_predict(&a, id, a.viewer, "{}", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    tapi_predict(&a, id, a.viewer, "{\"texts\":[\"a\"],\"top\":3}", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    tapi_predict(&a, id, NULL, "{\"texts\":[\"a\"]}", &r);
    tassert_problem(&r, 401);
    tresp_release(&r);
    tapi_predict(&a, 999999, a.viewer, "{\"texts\":[\"a\"]}", &r);
    tassert_problem(&r, 404);
    tresp_release(&r);

    /* not trained: 409 */
    failed = failed_model(&a, "f");
    tapi_predict(&a, failed, a.viewer, "{\"texts\":[\"a\"]}", &r);
    tassert_problem(&r, 409);
    tresp_release(&r);
    created = failed_model(&a, "c");
    set_status(&a, created, "TRAINING");
    tapi_predict(&a, created, a.viewer, "{\"texts\":[\"a\"]}", &r);
    tassert_problem(&r, 409);
    tresp_release(&r);
    /* ACTIVE and PUBLISHED models predict */
    patch_ok(&a, id, "{\"status\":\"ACTIVE\"}", "ACTIVE");
    tapi_predict(&a, id, a.viewer, "{\"texts\":[\"a\"]}", &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    patch_ok(&a, id, "{\"status\":\"PUBLISHED\"}", "PUBLISHED");
    tapi_predict(&a, id, a.viewer, "{\"texts\":[\"a\"]}", &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    tapi_path(&a, id, "/predict", path, sizeof(path));
    thttp(&a.ts, "POST", path, a.viewer, "text/plain", "texts", &r);
    tassert_problem(&r, 415);
    tresp_release(&r);
    tserver_cleanup(&a.ts);
}
END_TEST

/* Overwrite len bytes of path at its middle (or truncate when len == 0). */
static void damage(const char *path, size_t len)
{
    struct stat sb;
    int fd = open(path, O_RDWR);
    char junk[64];

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, &sb), 0);
    if (len == 0) {
        ck_assert_int_eq(ftruncate(fd, sb.st_size / 2), 0);
    } else {
        memset(junk, 0xA5, sizeof(junk));
        ck_assert((ssize_t)len <= (ssize_t)sizeof(junk));
        ck_assert_int_eq(pwrite(fd, junk, len, sb.st_size / 2), (ssize_t)len);
    }
    close(fd);
}

START_TEST(test_predict_corrupt_artifact)
{
    struct tapi a;
    struct tresp r;
    int64_t good, flipped, cut, s;
    char art[512];
    json_t *v;

    tapi_start(&a, 1);
    s = tapi_session(&a, "s", "CLASS", "en", tapi_data_class("en", 10));
    good = tapi_model_on(&a, "good", "en", s);
    flipped = tapi_model_on(&a, "flipped", "en", s);
    cut = tapi_model_on(&a, "cut", "en", s);
    json_decref(tapi_wait_ready(&a, good, 30));
    v = tapi_wait_ready(&a, flipped, 30);
    tapi_artifact(&a, v, art, sizeof(art));
    json_decref(v);
    damage(art, 16);
    v = tapi_wait_ready(&a, cut, 30);
    tapi_artifact(&a, v, art, sizeof(art));
    json_decref(v);
    damage(art, 0);
    if (tpg()) {
        /* PostgreSQL: the database holds the artifact and the file is this
         * daemon's copy of it, made again when damaged; damage the source */
        char sql[200];

        snprintf(sql, sizeof(sql),
                 "UPDATE model_artifacts SET bytes = overlay(bytes placing '\\xff'::bytea "
                 "from 17 for 1) WHERE model_id = %lld",
                 (long long)flipped);
        tsql(&a.ts, sql);
        snprintf(sql, sizeof(sql), "UPDATE model_artifacts SET bytes = ''::bytea WHERE model_id = %lld",
                 (long long)cut);
        tsql(&a.ts, sql);
    }

    for (int round = 0; round < 2; round++) { /* a failed load is not cached */
        tapi_predict(&a, flipped, a.viewer, "{\"texts\":[\"football\"]}", &r);
        tassert_problem(&r, 500);
        ck_assert_msg(strstr(r.body, a.ts.dir) == NULL, "problem leaks a path: %s", r.body);
        tresp_release(&r);
        tapi_predict(&a, cut, a.viewer, "{\"texts\":[\"football\"]}", &r);
        tassert_problem(&r, 500);
        tresp_release(&r);
    }
    /* still alive and serving the good model */
    thttp(&a.ts, "GET", "/health", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    tapi_predict(&a, good, a.viewer, "{\"texts\":[\"football\"]}", &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    /* the artifact is gone altogether */
    ck_assert_int_eq(unlink(art), 0); /* PostgreSQL: the copy, made again from the damaged one */
    tapi_predict(&a, cut, a.viewer, "{\"texts\":[\"football\"]}", &r);
    tassert_problem(&r, 500);
    tresp_release(&r);
    tserver_cleanup(&a.ts);
}
END_TEST

/* ---- base models ------------------------------------------------------------------------ */

START_TEST(test_base_from_model)
{
    struct tapi a;
    struct tresp r;
    json_t *v, *it;
    char out[256], from[32], art[512];
    int64_t src, base_id, warm, direct, s2;
    size_t i;
    int found = 0;

    tapi_start(&a, 1);
    src = ready_model(&a, "src");
    snprintf(from, sizeof(from), "%lld", (long long)src);
    ck_assert_int_eq(
        trun((const char *const[]){"base", "create", "--db", a.ts.db_path, "--name", "en-topics",
                                   "--language", "en", "--from-model", from, NULL},
             out, sizeof(out)),
        0);
    base_id = strtoll(out, NULL, 10);
    ck_assert_int_gt(base_id, 0);
    /* not from an untrained model, nor with another language */
    {
        int64_t f = failed_model(&a, "f");
        char fid[32];

        snprintf(fid, sizeof(fid), "%lld", (long long)f);
        ck_assert_int_ne(
            trun((const char *const[]){"base", "create", "--db", a.ts.db_path, "--name", "nope",
                                       "--language", "en", "--from-model", fid, NULL},
                 out, sizeof(out)),
            0);
        ck_assert_int_ne(
            trun((const char *const[]){"base", "create", "--db", a.ts.db_path, "--name", "nope2",
                                       "--language", "de", "--from-model", from, NULL},
                 out, sizeof(out)),
            0);
    }

    thttp(&a.ts, "GET", "/base-models", a.viewer, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    json_array_foreach(json_object_get(r.json, "items"), i,
                       it) if (json_integer_value(json_object_get(it, "id")) == base_id)
    {
        ck_assert_str_eq(tapi_str(it, "name"), "en-topics");
        ck_assert_str_eq(tapi_str(it, "language"), "en");
        found = 1;
    }
    ck_assert_msg(found, "base model not listed: %s", r.body);
    ck_assert_msg(strstr(r.body, "nope") == NULL, "a failed base create left a row: %s", r.body);
    tresp_release(&r);

    /* the source can go: the base carries its own copy of the weights */
    {
        char path[96];

        v = tapi_get(&a, src);
        tapi_artifact(&a, v, art, sizeof(art));
        json_decref(v);
        tapi_path(&a, src, NULL, path, sizeof(path));
        thttp(&a.ts, "DELETE", path, a.mgr, NULL, NULL, &r);
        ck_assert_int_eq(r.status, 204);
        tresp_release(&r);
        ck_assert(access(art, F_OK) != 0);
    }
    s2 = tapi_session(&a, "s2", "CLASS", "en", tapi_data_class("en", 8));
    warm = tapi_model(&a, "{\"name\":\"warm\",\"base_id\":%lld,\"annotation_ids\":[%lld]}",
                      (long long)base_id, (long long)s2);
    v = tapi_wait_ready(&a, warm, 30);
    ck_assert_str_eq(tapi_str(v, "base"), "en-topics");
    ck_assert_str_eq(tapi_str(v, "language"), "en"); /* taken from the base */
    json_decref(v);
    tapi_predict(&a, warm, a.viewer, "{\"texts\":[\"laptop software code\"]}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(tapi_str(json_array_get(json_object_get(r.json, "predictions"), 0), "class"),
                     "tech");
    tresp_release(&r);

    /* a trained model of the workspace serves as a base directly */
    direct = tapi_model(&a,
                        "{\"name\":\"direct\",\"language\":\"en\",\"base_id\":%lld,"
                        "\"annotation_ids\":[%lld]}",
                        (long long)warm, (long long)s2);
    v = tapi_wait_ready(&a, direct, 30);
    ck_assert_str_eq(tapi_str(v, "base"), "warm");
    json_decref(v);
    tserver_cleanup(&a.ts);
}
END_TEST

/* ---- predictor cache ----------------------------------------------------------------------- */

/* Copy src to dst (the cache is keyed by path: copies are distinct entries). */
static void copy_file(const char *src, const char *dst)
{
    char buf[65536];
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    size_t n;

    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
}

/*
 * More predictors in use at once than the cache has slots (a daemon with
 * many HTTP threads): every request is still served, the overflow uncached;
 * an evicted entry in use stays valid until its last user lets go.
 */
START_TEST(test_cache_overflow_and_evict)
{
    enum { N = 20 };
    struct tapi a;
    struct app app = {0};
    struct err err = {0};
    const struct predictor *held[N], *again;
    char art[512], paths[N][600];
    json_t *v;
    int64_t id;

    tapi_start(&a, 1);
    id = ready_model(&a, "m");
    v = tapi_get(&a, id);
    tapi_artifact(&a, v, art, sizeof(art));
    json_decref(v);
    for (int i = 0; i < N; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/copy-%d.model", a.ts.dir, i);
        copy_file(art, paths[i]);
    }
    /* a cache of our own, apart from the server's */
    app.pcache = pcache_new();
    ck_assert_ptr_nonnull(app.pcache);
    for (int i = 0; i < N; i++) {
        held[i] = pcache_get(app.pcache, paths[i], &err);
        ck_assert_msg(held[i] != NULL, "predictor %d of %d in use: %s", i + 1, N, err.msg);
    }
    /* the same path while in use: the cached entry is shared */
    again = pcache_get(app.pcache, paths[0], &err);
    ck_assert_ptr_eq(again, held[0]);
    pcache_put(app.pcache, again);
    /* evict while in use: the holder keeps a working predictor, new users load afresh */
    pcache_evict(app.pcache, paths[1]);
    again = pcache_get(app.pcache, paths[1], &err);
    ck_assert_ptr_nonnull(again);
    ck_assert_ptr_ne(again, held[1]);
    {
        json_t *p = predictor_predict(held[1], "football goal", 0, &err);

        ck_assert_ptr_nonnull(p);
        json_decref(p);
    }
    pcache_put(app.pcache, again);
    for (int i = 0; i < N; i++)
        pcache_put(app.pcache, held[i]);
    pcache_free(app.pcache);
    tserver_cleanup(&a.ts);
}
END_TEST

Suite *api_ops_suite(void)
{
    Suite *s = suite_create("api_ops");
    TCase *p = tcase_create("patch");
    TCase *d = tcase_create("delete");
    TCase *pr = tcase_create("predict");
    TCase *b = tcase_create("base");
    TCase *c = tcase_create("cache");

    tcase_set_timeout(p, 120 * TAPI_SLOW);
    tcase_add_test(p, test_patch_fields_and_roles);
    tcase_add_test(p, test_patch_status_transitions);
    tcase_add_test(p, test_get_stored_metrics);
    suite_add_tcase(s, p);
    tcase_set_timeout(d, 120 * TAPI_SLOW);
    tcase_add_test(d, test_delete_ready_and_failed);
    tcase_add_test(d, test_delete_training_cancels);
    suite_add_tcase(s, d);
    tcase_set_timeout(pr, 120 * TAPI_SLOW);
    tcase_add_test(pr, test_predict_validation);
    tcase_add_test(pr, test_predict_corrupt_artifact);
    suite_add_tcase(s, pr);
    tcase_set_timeout(b, 120 * TAPI_SLOW);
    tcase_add_test(b, test_base_from_model);
    suite_add_tcase(s, b);
    tcase_set_timeout(c, 120 * TAPI_SLOW);
    tcase_add_test(c, test_cache_overflow_and_evict);
    suite_add_tcase(s, c);
    return s;
}
