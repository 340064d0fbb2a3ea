/* SPDX-License-Identifier: MIT */
/*
 * The job system through HTTP (issue 3): the lifecycle of each model type on
 * small hand-written English, German and Arabic data (status order, monotone
 * progress, a score recomputed from the returned per-label counts, timestamps,
 * metrics keys, prediction shape), FAILED with a readable reason for data that
 * cannot make a model, cancel of queued and running jobs (with the measured
 * latency), recovery after an in-process stop and after kill -9 of the real
 * binary, and several workers and prediction threads at once.
 *
 * Tests that need a training run long enough to interrupt use the shared
 * GermEval set (MODELD_DATA) and skip, with a note on stderr, when it is absent.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "artifact.h"
#include "testapi.h"

#define BIG_FILE "germeval2018_de.jsonl"

static const char *const STATUS_ORDER[] = {"CREATED", "QUEUED", "TRAINING", "READY", NULL};

static int status_rank(const char *st)
{
    for (int i = 0; STATUS_ORDER[i]; i++)
        if (strcmp(STATUS_ORDER[i], st) == 0)
            return i;
    return -1;
}

/* The metrics object has the documented keys; the score is the micro-F1
 * recomputed from the per-label counts. */
static void check_metrics(const json_t *view, const char *type)
{
    const json_t *m = json_object_get(view, "metrics"), *labels, *e;
    double score = json_number_value(json_object_get(view, "score"));
    double tp = 0, fp = 0, fn = 0, f1;
    size_t i;

    ck_assert(json_is_number(json_object_get(view, "score")));
    ck_assert_msg(score >= 0.0 && score <= 1.0, "score %g", score);
    ck_assert_msg(json_is_object(m), "metrics missing");
    for (const char *const *k = (const char *const[]){"micro", "macro", NULL}; *k; k++) {
        const json_t *prf = json_object_get(m, *k);

        ck_assert_msg(json_is_object(prf), "metrics.%s missing", *k);
        ck_assert(json_is_number(json_object_get(prf, "precision")));
        ck_assert(json_is_number(json_object_get(prf, "recall")));
        ck_assert(json_is_number(json_object_get(prf, "f1")));
    }
    ck_assert(json_integer_value(json_object_get(m, "train_size")) > 0);
    ck_assert(json_integer_value(json_object_get(m, "test_size")) > 0);
    ck_assert(json_is_number(json_object_get(m, "training_seconds")));
    labels = json_object_get(m, "labels");
    ck_assert_msg(json_array_size(labels) > 0, "metrics.labels empty");
    json_array_foreach(labels, i, e)
    {
        json_int_t etp = json_integer_value(json_object_get(e, "tp"));
        json_int_t efp = json_integer_value(json_object_get(e, "fp"));
        json_int_t efn = json_integer_value(json_object_get(e, "fn"));

        ck_assert(json_is_string(json_object_get(e, "label")));
        ck_assert(json_is_integer(json_object_get(e, "tp")));
        ck_assert(json_is_integer(json_object_get(e, "fp")));
        ck_assert(json_is_integer(json_object_get(e, "fn")));
        ck_assert_int_eq(json_integer_value(json_object_get(e, "support")), etp + efn);
        ck_assert(json_is_number(json_object_get(e, "f1")));
        tp += (double)etp;
        fp += (double)efp;
        fn += (double)efn;
    }
    f1 = 2 * tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : 0.0;
    ck_assert_msg(fabs(f1 - score) < 1e-9, "score %.12f, recomputed %.12f (tp %g fp %g fn %g)",
                  score, f1, tp, fp, fn);
    ck_assert(fabs(json_number_value(json_object_get(json_object_get(m, "micro"), "f1")) - score) <
              1e-9);
    if (strcmp(type, "ABSA") == 0) {
        const json_t *absa = json_object_get(m, "absa");

        ck_assert_msg(json_is_object(absa), "metrics.absa missing");
        ck_assert(json_is_number(json_object_get(json_object_get(absa, "category"), "f1")));
        ck_assert(json_is_number(json_object_get(absa, "polarity_accuracy")));
    }
}

static void check_prob(const json_t *o, const char *key)
{
    double p = json_number_value(json_object_get(o, key));

    ck_assert_msg(json_is_number(json_object_get(o, key)), "%s missing", key);
    ck_assert_msg(p >= 0.0 && p <= 1.0, "%s = %g", key, p);
}

/* Per-text prediction shape for the model type. */
static void check_prediction(const json_t *p, const char *type)
{
    const json_t *arr, *e;
    size_t i;

    ck_assert(json_is_string(json_object_get(p, "text")));
    if (strcmp(type, "CLASS") == 0 || strcmp(type, "CLASSLABEL") == 0) {
        ck_assert(json_is_string(json_object_get(p, "class")));
        check_prob(p, "probability");
        ck_assert(json_array_size(json_object_get(p, "classes")) > 0);
    }
    if (strcmp(type, "LABEL") == 0 || strcmp(type, "CLASSLABEL") == 0) {
        arr = json_object_get(p, "labels");
        ck_assert_msg(json_is_array(arr), "labels missing");
        json_array_foreach(arr, i, e)
        {
            ck_assert(json_is_string(json_object_get(e, "label")));
            check_prob(e, "probability");
        }
    }
    if (strcmp(type, "ABSA") == 0) {
        arr = json_object_get(p, "aspects");
        ck_assert_msg(json_is_array(arr), "aspects missing");
        json_array_foreach(arr, i, e)
        {
            const char *pol = tapi_str(e, "polarity");

            ck_assert(json_is_string(json_object_get(e, "category")));
            check_prob(e, "confidence");
            check_prob(e, "polarity_confidence");
            ck_assert_msg(pol && (strcmp(pol, "positive") == 0 || strcmp(pol, "negative") == 0 ||
                                  strcmp(pol, "neutral") == 0 || strcmp(pol, "conflict") == 0),
                          "polarity %s", pol ? pol : "(none)");
        }
    }
}

/* Does the prediction name `want` (a class, label, or ABSA category)? */
static int prediction_has(const json_t *p, const char *want)
{
    const json_t *e;
    size_t i;

    if (tapi_str(p, "class") && strcmp(tapi_str(p, "class"), want) == 0)
        return 1;
    json_array_foreach(json_object_get(p, "labels"), i,
                       e) if (strcmp(tapi_str(e, "label"), want) == 0) return 1;
    json_array_foreach(json_object_get(p, "aspects"), i,
                       e) if (strcmp(tapi_str(e, "category"), want) == 0) return 1;
    return 0;
}

/*
 * Train one model on jsonl, polling its view: statuses only move forward in
 * CREATED -> QUEUED -> TRAINING -> READY, progress never goes down and ends
 * 100, timestamps are set and ordered, metrics check out, and predictions on
 * probe (a JSON array) have the type's shape and name `expect` for the first text.
 */
static void lifecycle(const char *type, const char *lang, char *jsonl, const char *probe,
                      const char *expect)
{
    struct tapi a;
    struct tresp r;
    json_t *v = NULL, *preds;
    int64_t s, id;
    int rank = 0, polls = 0;
    double last = 0.0, t0;
    char body[1024];
    const char *st;

    tapi_start(&a, 1);
    s = tapi_session(&a, "s", type, lang, jsonl);
    id = tapi_model_on(&a, "m", lang, s);
    t0 = util_monotonic();
    for (;;) {
        double pct;

        v = tapi_get(&a, id);
        st = tapi_str(v, "status");
        pct = json_number_value(json_object_get(v, "progress"));
        polls++;
        ck_assert_msg(status_rank(st) >= rank, "status went from %s back to %s", STATUS_ORDER[rank],
                      st ? st : "?");
        rank = status_rank(st);
        ck_assert_msg(pct >= last, "progress went down from %g to %g", last, pct);
        ck_assert(pct >= 0.0 && pct <= 100.0);
        last = pct;
        if (strcmp(st, "READY") == 0)
            break;
        ck_assert_msg(strcmp(st, "FAILED") != 0, "FAILED: %s", tapi_str(v, "failure_reason"));
        ck_assert_msg(util_monotonic() - t0 < 30 * TAPI_SLOW, "still %s", st);
        json_decref(v);
        tapi_sleep(0.005);
    }
    ck_assert_int_gt(polls, 0);
    ck_assert_str_eq(tapi_str(v, "type"), type);
    ck_assert_str_eq(tapi_str(v, "language"), lang);
    ck_assert(json_number_value(json_object_get(v, "progress")) == 100.0);
    ck_assert(json_is_null(json_object_get(v, "failure_reason")));
    ck_assert_ptr_nonnull(tapi_str(v, "queued_at"));
    ck_assert_ptr_nonnull(tapi_str(v, "started_at"));
    ck_assert_ptr_nonnull(tapi_str(v, "finished_at"));
    /* RFC 3339 UTC stamps of one format order as strings */
    ck_assert(strcmp(tapi_str(v, "created"), tapi_str(v, "queued_at")) <= 0);
    ck_assert(strcmp(tapi_str(v, "queued_at"), tapi_str(v, "started_at")) <= 0);
    ck_assert(strcmp(tapi_str(v, "started_at"), tapi_str(v, "finished_at")) <= 0);
    check_metrics(v, type);
    {
        /* GET model copies the stored metrics text instead of parsing and
         * dumping it again: the bytes must still be the canonical compact
         * JSON of the view */
        char path[96];
        char *canon;

        tapi_path(&a, id, NULL, path, sizeof(path));
        thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        canon = json_dumps(r.json, JSON_COMPACT);
        ck_assert_ptr_nonnull(canon);
        ck_assert_str_eq(r.body, canon);
        free(canon);
        tresp_release(&r);
    }
    {
        char art[512];
        struct stat sb;

        tapi_artifact(&a, v, art, sizeof(art));
        ck_assert_msg(stat(art, &sb) == 0 && sb.st_size > 0, "no artifact %s", art);
    }
    json_decref(v);

    snprintf(body, sizeof(body), "{\"texts\":%s}", probe);
    tapi_predict(&a, id, a.viewer, body, &r);
    ck_assert_msg(r.status == 200, "predict: %ld %s", r.status, r.body);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "model_id")), id);
    ck_assert_str_eq(tapi_str(r.json, "type"), type);
    ck_assert_str_eq(tapi_str(r.json, "language"), lang);
    preds = json_object_get(r.json, "predictions");
    {
        json_t *probe_json = json_loads(probe, 0, NULL), *p;
        size_t i;

        ck_assert_int_eq(json_array_size(preds), json_array_size(probe_json));
        json_array_foreach(preds, i, p)
        {
            check_prediction(p, type);
            ck_assert_str_eq(tapi_str(p, "text"), json_string_value(json_array_get(probe_json, i)));
        }
        json_decref(probe_json);
    }
    if (getenv("TAPI_SHOW"))
        fprintf(stderr, "%s %s: %s\n", type, lang, r.body);
    if (expect)
        ck_assert_msg(prediction_has(json_array_get(preds, 0), expect), "expected %s in %s", expect,
                      r.body);
    tresp_release(&r);
    tserver_cleanup(&a.ts);
}

START_TEST(test_lifecycle_class_de)
{
    lifecycle("CLASS", "de", tapi_data_class("de", 12),
              "[\"Fußball Tor Mannschaft Spieler\", \"Käse Suppe Brötchen\", \"Tastatur "
              "Bildschirm\", \"ÄÖÜ ß\"]",
              "sports");
}
END_TEST

START_TEST(test_lifecycle_class_ar)
{
    lifecycle("CLASS", "ar", tapi_data_class("ar", 12),
              "[\"حاسوب برنامج شاشة تطبيق\", \"كرة مباراة\"]", "tech");
}
END_TEST

START_TEST(test_lifecycle_label_ar)
{
    lifecycle("LABEL", "ar", tapi_data_label("ar", 42),
              "[\"طعام خبز جبنة عشاء حساء\", \"كرة مباراة هدف فريق\"]", "food");
}
END_TEST

START_TEST(test_lifecycle_classlabel_en)
{
    lifecycle("CLASSLABEL", "en", tapi_data_classlabel(48),
              "[\"football match goal team was great\", \"pizza pasta was awful\"]", "sports");
}
END_TEST

START_TEST(test_lifecycle_absa_en)
{
    lifecycle("ABSA", "en", tapi_data_absa(48),
              "[\"The pasta was wonderful\", \"The waiter was rude and the soup was awful\", "
              "\"We parked outside\"]",
              "FOOD#QUALITY");
}
END_TEST

/* ---- too little data ---------------------------------------------------------- */

static void expect_failed(struct tapi *a, int64_t id, const char *needle)
{
    json_t *v = tapi_wait(a, id, "READY FAILED", 30);
    const char *reason = tapi_str(v, "failure_reason");

    ck_assert_str_eq(tapi_str(v, "status"), "FAILED");
    ck_assert_msg(reason && strlen(reason) > 5, "no failure_reason");
    ck_assert_msg(strstr(reason, "internal") == NULL, "reason is not for users: %s", reason);
    ck_assert_msg(strstr(reason, needle) != NULL, "reason '%s' does not mention '%s'", reason,
                  needle);
    ck_assert(json_is_null(json_object_get(v, "score")));
    ck_assert_ptr_nonnull(tapi_str(v, "finished_at"));
    json_decref(v);
}

START_TEST(test_too_little_data)
{
    struct tapi a;
    int64_t empty, docs, one_class;

    tapi_start(&a, 2);
    empty = tapi_empty_session(&a, "empty", "CLASS", "en");
    docs = tapi_session(&a, "docs", "CLASS", "en", tapi_data_class("en", 10));
    one_class = tfx_session(&a.ts, a.pr, "sf", "CLASS", "en",
                            "{\"text\":\"football match goal\",\"class\":\"sports\"}\n"
                            "{\"text\":\"team player coach\",\"class\":\"sports\"}\n"
                            "{\"text\":\"league stadium\",\"class\":\"sports\"}\n");

    expect_failed(&a, tapi_model_on(&a, "zero", "en", empty), "no training documents");
    expect_failed(
        &a,
        tapi_model(&a,
                   "{\"name\":\"notrain\",\"language\":\"en\",\"trainset_annotation_ids\":"
                   "[%lld],\"testset_annotation_ids\":[%lld]}",
                   (long long)empty, (long long)docs),
        "no training documents");
    expect_failed(&a,
                  tapi_model(&a,
                             "{\"name\":\"notest\",\"language\":\"en\",\"trainset_annotation_ids\":"
                             "[%lld],\"testset_annotation_ids\":[%lld]}",
                             (long long)docs, (long long)empty),
                  "test set is empty");
    /* one class only: nothing to learn, and the message says what to label */
    expect_failed(
        &a,
        tapi_model(&a,
                   "{\"name\":\"oneclass\",\"language\":\"en\",\"trainset_annotation_ids\":"
                   "[%lld],\"testset_annotation_ids\":[%lld]}",
                   (long long)one_class, (long long)docs),
        "nothing to learn");
    tserver_cleanup(&a.ts);
}
END_TEST

/* ---- honest I/O failures ----------------------------------------------------- */

/* A disk that is full while the artifact is written: the model ends FAILED
 * with a reason that says so (and no path), the daemon keeps serving, and
 * once space is back the next training succeeds. */
START_TEST(test_io_failure_reason)
{
    struct tapi a;
    struct tresp r;

    tapi_start(&a, 1);
    int64_t s = tapi_session(&a, "io", "CLASS", "en", tapi_data_class("en", 8));
    atomic_store(&artifact_fault_errno, ENOSPC);
    int64_t m = tapi_model_on(&a, "full", "en", s);
    json_t *v = tapi_wait(&a, m, "READY FAILED", 60);
    const char *reason = tapi_str(v, "failure_reason");
    ck_assert_str_eq(tapi_str(v, "status"), "FAILED");
    ck_assert_msg(reason && strstr(reason, "No space left on device"), "reason: %s", reason);
    ck_assert_msg(strstr(reason, "artifact") && !strstr(reason, "internal"), "reason: %s", reason);
    ck_assert_msg(!strchr(reason, '/'), "the reason shows a path: %s", reason);
    json_decref(v);
    thttp(&a.ts, "GET", "/readyz", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    atomic_store(&artifact_fault_errno, 0);
    json_decref(tapi_wait_ready(&a, tapi_model_on(&a, "space-back", "en", s), 60));
    tserver_cleanup(&a.ts);
}
END_TEST

/* ---- cancel ----------------------------------------------------------------------- */

static void cancel_req(struct tapi *a, int64_t id, const char *token, struct tresp *r)
{
    char path[128];

    tapi_path(a, id, "/cancel", path, sizeof(path));
    thttp(&a->ts, "POST", path, token, NULL, NULL, r);
}

/* A session of the shared GermEval set (first max_lines), or 0 when absent. */
static int64_t big_session(struct tapi *a, size_t max_lines)
{
    char *jsonl = tapi_shared_lines(BIG_FILE, max_lines);

    if (!jsonl) {
        return 0;
    }
    return tapi_session(a, "big", "CLASS", "de", jsonl);
}

static void expect_canceled(const struct tresp *r)
{
    ck_assert_msg(r->status == 200, "cancel: %ld %s", r->status, r->body);
    ck_assert_str_eq(tapi_str(r->json, "status"), "FAILED");
    ck_assert_str_eq(tapi_str(r->json, "failure_reason"), "canceled");
}

START_TEST(test_cancel_queued_and_training)
{
    struct tapi a;
    struct tresp r;
    json_t *v;
    int64_t big, small, m1, m2, m3;
    double t0, latency, pct;
    char art[512];

    tapi_start(&a, 1);
    if (!(big = big_session(&a, 4000))) {
        tserver_cleanup(&a.ts);
        return;
    }
    small = tapi_session(&a, "small", "CLASS", "de", tapi_data_class("de", 10));
    m1 = tapi_model_on(&a, "big", "de", big);
    json_decref(tapi_wait_training(&a, m1, 1.0, 30));

    /* the one worker is busy: m2 waits QUEUED and is canceled there */
    m2 = tapi_model_on(&a, "queued", "de", small);
    v = tapi_get(&a, m2);
    ck_assert_str_eq(tapi_str(v, "status"), "QUEUED");
    ck_assert_ptr_nonnull(tapi_str(v, "queued_at"));
    ck_assert(json_is_null(json_object_get(v, "started_at")));
    json_decref(v);
    cancel_req(&a, m2, a.viewer, &r);
    tassert_problem(&r, 403);
    tresp_release(&r);
    cancel_req(&a, m2, a.annot, &r);
    tassert_problem(&r, 403);
    tresp_release(&r);
    cancel_req(&a, m2, a.mgr, &r);
    expect_canceled(&r);
    tresp_release(&r);

    /* cancel the running job: the worker is free for m3 within a second */
    m3 = tapi_model_on(&a, "next", "de", small);
    v = tapi_get(&a, m3);
    ck_assert_str_eq(tapi_str(v, "status"), "QUEUED");
    json_decref(v);
    t0 = util_monotonic();
    cancel_req(&a, m1, a.mgr, &r);
    expect_canceled(&r);
    tresp_release(&r);
    for (;;) {
        v = tapi_get(&a, m3);
        if (strcmp(tapi_str(v, "status"), "QUEUED") != 0)
            break;
        json_decref(v);
        ck_assert_msg(util_monotonic() - t0 < 10 * TAPI_SLOW, "the canceled job holds the worker");
        tapi_sleep(0.005);
    }
    latency = util_monotonic() - t0;
    json_decref(v);
    fprintf(stderr, "cancel latency (running job, until the worker took the next): %.3f s\n",
            latency);
    ck_assert_msg(latency < 1.0 * TAPI_SLOW, "cancel took %.3f s", latency);

    json_decref(tapi_wait_ready(&a, m3, 30));
    v = tapi_get(&a, m1);
    ck_assert_str_eq(tapi_str(v, "status"), "FAILED");
    ck_assert_str_eq(tapi_str(v, "failure_reason"), "canceled");
    pct = json_number_value(json_object_get(v, "progress"));
    ck_assert(pct < 100.0);
    tapi_artifact(&a, v, art, sizeof(art));
    ck_assert_msg(access(art, F_OK) != 0, "canceled job left an artifact");
    json_decref(v);
    v = tapi_get(&a, m2);
    ck_assert_str_eq(tapi_str(v, "status"), "FAILED");
    ck_assert(json_is_null(json_object_get(v, "started_at")));
    json_decref(v);

    /* only queued or running jobs can be canceled */
    cancel_req(&a, m3, a.mgr, &r);
    tassert_problem(&r, 409);
    tresp_release(&r);
    cancel_req(&a, m2, a.mgr, &r);
    tassert_problem(&r, 409);
    tresp_release(&r);
    cancel_req(&a, 999999, a.mgr, &r);
    tassert_problem(&r, 404);
    tresp_release(&r);
    tserver_cleanup(&a.ts);
}
END_TEST

/* Status of a model read straight from the database file: much faster than
 * HTTP polling, to catch the moment a worker has just claimed a job. */
static int db_status_is(struct tserver *ts, int64_t id, const char *want)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "SELECT status = '%s' FROM models WHERE id = %lld", want,
             (long long)id);
    return tsql_int(ts, sql) == 1;
}

/*
 * Cancel (or delete) a job the moment it turns TRAINING, while the worker is
 * still loading its documents: the worker must not go on to train it.
 */
static void cancel_at_claim(int use_delete)
{
    struct tapi a;
    struct tresp r;
    int64_t big, small;
    double worst = 0.0;

    tapi_start(&a, 1);
    if (!(big = big_session(&a, 100000))) {
        tserver_cleanup(&a.ts);
        return;
    }
    small = tapi_session(&a, "small", "CLASS", "de", tapi_data_class("de", 10));
    for (int attempt = 0; attempt < 3; attempt++) {
        char name[32], path[128];
        int64_t m, next;
        double t0, latency;
        json_t *v;

        snprintf(name, sizeof(name), "big%d", attempt);
        m = tapi_model_on(&a, name, "de", big);
        t0 = util_monotonic();
        while (!db_status_is(&a.ts, m, "TRAINING"))
            ck_assert_msg(util_monotonic() - t0 < 10 * TAPI_SLOW, "not claimed");
        if (use_delete) {
            tapi_path(&a, m, NULL, path, sizeof(path));
            thttp(&a.ts, "DELETE", path, a.mgr, NULL, NULL, &r);
            ck_assert_int_eq(r.status, 204);
        } else {
            cancel_req(&a, m, a.mgr, &r);
            expect_canceled(&r);
        }
        tresp_release(&r);
        t0 = util_monotonic();
        snprintf(name, sizeof(name), "next%d", attempt);
        next = tapi_model_on(&a, name, "de", small);
        for (;;) {
            v = tapi_get(&a, next);
            if (strcmp(tapi_str(v, "status"), "QUEUED") != 0)
                break;
            json_decref(v);
            ck_assert_msg(util_monotonic() - t0 < 30 * TAPI_SLOW, "worker never freed");
            tapi_sleep(0.005);
        }
        json_decref(v);
        latency = util_monotonic() - t0;
        worst = latency > worst ? latency : worst;
        json_decref(tapi_wait_ready(&a, next, 30));
        ck_assert_msg(latency < 1.0 * TAPI_SLOW,
                      "%s right after the claim: the worker trained on for %.3f s",
                      use_delete ? "delete" : "cancel", latency);
        if (!use_delete) {
            v = tapi_get(&a, m);
            ck_assert_str_eq(tapi_str(v, "status"), "FAILED");
            ck_assert_str_eq(tapi_str(v, "failure_reason"), "canceled");
            json_decref(v);
        }
    }
    fprintf(stderr, "%s at claim: worst latency until the worker took the next job %.3f s\n",
            use_delete ? "delete" : "cancel", worst);
    tserver_cleanup(&a.ts);
}

START_TEST(test_cancel_at_claim)
{
    cancel_at_claim(0);
}
END_TEST

START_TEST(test_delete_at_claim)
{
    cancel_at_claim(1);
}
END_TEST

/* Without the shared data: cancel a tiny job right after POST, whatever state it is in. */
START_TEST(test_cancel_small_and_ready_409)
{
    struct tapi a;
    struct tresp r;
    json_t *v;
    int64_t s, id;

    tapi_start(&a, 1);
    s = tapi_session(&a, "s", "CLASS", "en", tapi_data_class("en", 10));
    id = tapi_model_on(&a, "m", "en", s);
    cancel_req(&a, id, a.mgr, &r);
    if (r.status == 200) {
        expect_canceled(&r);
        tresp_release(&r);
        tapi_sleep(0.5 * TAPI_SLOW); /* give a late worker the chance to overwrite the state */
        v = tapi_get(&a, id);
        ck_assert_str_eq(tapi_str(v, "status"), "FAILED");
        ck_assert_str_eq(tapi_str(v, "failure_reason"), "canceled");
        json_decref(v);
    } else {
        tassert_problem(&r, 409); /* it was READY already */
        tresp_release(&r);
    }
    id = tapi_model_on(&a, "m2", "en", s);
    json_decref(tapi_wait_ready(&a, id, 30));
    cancel_req(&a, id, a.mgr, &r);
    tassert_problem(&r, 409);
    tresp_release(&r);
    v = tapi_get(&a, id);
    ck_assert_str_eq(tapi_str(v, "status"), "READY");
    json_decref(v);
    tserver_cleanup(&a.ts);
}
END_TEST

/* ---- restart recovery ------------------------------------------------------------------ */

START_TEST(test_restart_in_process)
{
    struct tapi a;
    json_t *v;
    int64_t big, small, m1, m2, before_milli;
    char started[64] = "";
    double t0, stop_s;

    tapi_start(&a, 1);
    big = big_session(&a, 3000);
    small = tapi_session(&a, "small", "CLASS", "en", tapi_data_class("en", 10));
    if (big) {
        m1 = tapi_model_on(&a, "big", "de", big);
        v = tapi_wait_training(&a, m1, 0.0, 30);
        snprintf(started, sizeof(started), "%s", tapi_str(v, "started_at"));
        json_decref(v);
    } else {
        m1 = tapi_model_on(&a, "big", "en", small);
    }
    m2 = tapi_model_on(&a, "small", "en", small);
    t0 = util_monotonic();
    tserver_stop(&a.ts);
    stop_s = util_monotonic() - t0;
    fprintf(stderr, "in-process stop during training took %.3f s\n", stop_s);
    ck_assert_msg(stop_s < 2.0 * TAPI_SLOW, "stopping took %.3f s", stop_s);
    if (big) { /* interrupted, not failed: back in the queue for the next start */
        ck_assert(db_status_is(&a.ts, m1, "QUEUED"));
    }
    {
        char sql[128];

        snprintf(sql, sizeof(sql),
                 "SELECT CAST(progress * 1000 AS INTEGER) FROM models WHERE id = %lld",
                 (long long)m1);
        before_milli = tsql_int(&a.ts, sql);
    }
    tserver_restart(&a.ts, 1);
    { /* trained again from the beginning, but the progress a client sees never goes down */
        char path[128];
        struct tresp r;

        snprintf(path, sizeof(path), "/projects/%lld/models/%lld", (long long)a.pr,
                 (long long)m1);
        thttp(&a.ts, "GET", path, a.mgr, NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_msg(json_number_value(json_object_get(r.json, "progress")) * 1000 >=
                          (double)before_milli - 1,
                      "progress went down across the restart: %s", r.body);
        tresp_release(&r);
    }
    v = tapi_wait_ready(&a, m1, 60);
    check_metrics(v, "CLASS");
    if (started[0])
        ck_assert_msg(strcmp(tapi_str(v, "started_at"), started) >= 0, "started_at %s < %s",
                      tapi_str(v, "started_at"), started);
    json_decref(v);
    v = tapi_wait_ready(&a, m2, 30);
    json_decref(v);
    tserver_cleanup(&a.ts);
}
END_TEST

/* Number of TRAINING models in the project. */
static int count_training(struct tapi *a)
{
    struct tresp r;
    char path[64];
    json_t *m;
    size_t i;
    int n = 0;

    tapi_path(a, 0, NULL, path, sizeof(path));
    thttp(&a->ts, "GET", path, a->viewer, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    json_array_foreach(json_object_get(r.json, "items"), i,
                       m) if (strcmp(tapi_str(m, "status"), "TRAINING") == 0) n++;
    tresp_release(&r);
    return n;
}

/* Number of models a live daemon is training (its lease not expired): on a
 * shared database (PostgreSQL) the job of a killed daemon stays TRAINING
 * until its lease expires and another daemon takes it back. */
static int count_training_live(struct tapi *a)
{
    char sql[256];

    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM models m JOIN daemons d ON d.id = m.owner_daemon "
             "WHERE m.status = 'TRAINING' AND d.lease_until > %lld",
             (long long)util_now_unix() * 1000);
    return (int)tsql_int(&a->ts, sql);
}

START_TEST(test_kill9_restart)
{
    static const char *const lease[] = {"--lease", "2", NULL};
    struct tapi a;
    json_t *v;
    int64_t big, small, m1, m2;
    int status, max_training = 0;
    double t0;
    pid_t pid;
    char *jsonl = tapi_shared_lines(BIG_FILE, 4000);

    if (!jsonl || access(getenv("MODELD_BIN") ? getenv("MODELD_BIN") : "build/rel/modeld", X_OK)) {
        if (jsonl)
            tskip_needed("kill -9 test needs MODELD_BIN");
        free(jsonl);
        return;
    }
    /* fixtures on the database file, then the real binary serves it */
    tapi_start(&a, 1);
    tserver_stop(&a.ts);
    big = tapi_session(&a, "big", "CLASS", "de", jsonl);
    small = tapi_session(&a, "small", "CLASS", "de", tapi_data_class("de", 10));

    pid = tspawn_serve_with(&a.ts, "1", lease);
    m1 = tapi_model_on(&a, "big", "de", big);
    m2 = tapi_model_on(&a, "small", "de", small);
    json_decref(tapi_wait_training(&a, m1, 1.0, 60));
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    {
        ck_assert(db_status_is(&a.ts, m1, "TRAINING"));
    }
    if (tpg()) {
        /* a shared database has no file lock to say the daemon is gone: its
         * job stays its own until its lease expires (then any daemon takes it
         * back); wait for that, so that one worker trains one job at a time */
        char sql[160];

        t0 = util_monotonic();
        do {
            ck_assert_msg(util_monotonic() - t0 < 10 * TAPI_SLOW, "the lease never expired");
            tapi_sleep(0.05);
            snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM daemons WHERE lease_until > %lld",
                     (long long)util_now_unix() * 1000 - 1000);
        } while (tsql_int(&a.ts, sql) > 0);
    }

    pid = tspawn_serve_with(&a.ts, "1", lease);
    t0 = util_monotonic();
    for (;;) {
        int n = count_training_live(&a), done;
        json_t *v1 = tapi_get(&a, m1), *v2 = tapi_get(&a, m2);

        if (n > max_training)
            max_training = n;
        ck_assert_msg(n <= 1, "%d jobs TRAINING at once with one worker", n);
        ck_assert_str_ne(tapi_str(v1, "status"), "FAILED");
        ck_assert_str_ne(tapi_str(v2, "status"), "FAILED");
        done = strcmp(tapi_str(v1, "status"), "READY") == 0 &&
               strcmp(tapi_str(v2, "status"), "READY") == 0;
        json_decref(v1);
        json_decref(v2);
        if (done)
            break;
        ck_assert_msg(util_monotonic() - t0 < 60 * TAPI_SLOW, "jobs not READY after restart");
        tapi_sleep(0.02);
    }
    fprintf(stderr, "kill -9: both jobs READY %.1f s after restart (max TRAINING at once: %d)\n",
            util_monotonic() - t0, max_training);
    v = tapi_get(&a, m1);
    check_metrics(v, "CLASS");
    json_decref(v);
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "serve did not stop cleanly: %d",
                  status);
    tserver_cleanup(&a.ts);
}
END_TEST

/*
 * A second daemon started on the database of a running one (a typo in --port,
 * a stale service unit) must refuse to start: its start-up requeue would put
 * the running daemon's jobs back in the queue and they would train twice.
 */
START_TEST(test_second_daemon_refused)
{
    const char *bin = getenv("MODELD_BIN") ? getenv("MODELD_BIN") : "build/rel/modeld";
    struct tapi a;
    json_t *v;
    int64_t big, m;
    int status = 0;
    double t0;
    pid_t pid, w;
    char port[16], art[512];

    if (access(bin, X_OK) != 0) {
        tskip_needed("no MODELD_BIN");
        return;
    }
    if (tpg()) {
        tskip("api_training: one daemon per database is SQLite's rule; on PostgreSQL a second "
              "daemon joins the queue (check_cluster.c)");
        return;
    }
    tapi_start(&a, 1);
    if (!(big = big_session(&a, 4000))) {
        tserver_cleanup(&a.ts);
        return;
    }
    m = tapi_model_on(&a, "big", "de", big);
    json_decref(tapi_wait_training(&a, m, 0.0, 30));
    snprintf(port, sizeof(port), "%u", (unsigned)tfree_port());
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);

        dup2(fd, 2);
        execl(bin, bin, "serve", "--db", a.ts.db_path, "--port", port, "--workers", "1",
              "--data-dir", a.ts.data_dir, (char *)NULL);
        _exit(127);
    }
    t0 = util_monotonic();
    while ((w = waitpid(pid, &status, WNOHANG)) == 0 && util_monotonic() - t0 < 5 * TAPI_SLOW)
        tapi_sleep(0.02);
    if (w == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ck_abort_msg("a second daemon on the same database kept running");
    }
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 127,
                  "second daemon: status %d", status);
    /* the running job was left alone */
    ck_assert_msg(!db_status_is(&a.ts, m, "QUEUED"), "the second daemon requeued a running job");
    v = tapi_wait_ready(&a, m, 60);
    tapi_artifact(&a, v, art, sizeof(art));
    ck_assert_msg(access(art, R_OK) == 0, "artifact of the READY model is missing");
    json_decref(v);
    tserver_cleanup(&a.ts);
}
END_TEST

/* ---- concurrency ------------------------------------------------------------------------ */

struct pred_thread {
    struct tapi *a;
    int64_t ids[4];
    const char *bodies[4];
    char *expect[4]; /* serial answers */
    int n_ok, n_bad;
};

static void *pred_main(void *arg)
{
    struct pred_thread *t = arg;

    for (int round = 0; round < 6; round++)
        for (int k = 0; k < 4; k++) {
            int j = (k + round) % 4;
            struct tresp r;
            char *got;

            tapi_predict(t->a, t->ids[j], t->a->viewer, t->bodies[j], &r);
            got = r.status == 200 ? json_dumps(json_object_get(r.json, "predictions"),
                                               JSON_COMPACT | JSON_SORT_KEYS)
                                  : NULL;
            if (got && strcmp(got, t->expect[j]) == 0)
                t->n_ok++;
            else
                t->n_bad++;
            free(got);
            tresp_release(&r);
        }
    return NULL;
}

START_TEST(test_workers_and_concurrent_predict)
{
    struct tapi a;
    int64_t sess[4], ids[8];
    static const char *const types[4] = {"CLASS", "CLASS", "LABEL", "ABSA"};
    static const char *const langs[4] = {"en", "de", "ar", "en"};
    static const char *const bodies[4] = {
        "{\"texts\":[\"football goal team\",\"pizza cheese\",\"laptop code\"]}",
        "{\"texts\":[\"Fußball Tor\",\"Käse Brötchen\"]}",
        "{\"texts\":[\"كرة مباراة\",\"حاسوب برنامج\"]}",
        "{\"texts\":[\"The pasta was great\",\"The waiter was awful\"]}"};
    struct pred_thread th[4];
    pthread_t tid[4];
    char *expect[4];
    int max_training = 0, all_ready = 0;
    double t0;

    tapi_start(&a, 2);
    sess[0] = tapi_session(&a, "s0", "CLASS", "en", tapi_data_class("en", 10));
    sess[1] = tapi_session(&a, "s1", "CLASS", "de", tapi_data_class("de", 10));
    sess[2] = tapi_session(&a, "s2", "LABEL", "ar", tapi_data_label("ar", 35));
    sess[3] = tapi_session(&a, "s3", "ABSA", "en", tapi_data_absa(40));
    for (int i = 0; i < 8; i++) {
        char name[16];

        snprintf(name, sizeof(name), "m%d", i);
        ids[i] = tapi_model_on(&a, name, langs[i % 4], sess[i % 4]);
    }
    t0 = util_monotonic();
    while (!all_ready) {
        int n = count_training(&a);

        max_training = n > max_training ? n : max_training;
        ck_assert_msg(n <= 2, "%d jobs TRAINING with 2 workers", n);
        all_ready = 1;
        for (int i = 0; i < 8; i++) {
            json_t *v = tapi_get(&a, ids[i]);

            ck_assert_msg(strcmp(tapi_str(v, "status"), "FAILED") != 0, "m%d FAILED: %s", i,
                          tapi_str(v, "failure_reason"));
            if (strcmp(tapi_str(v, "status"), "READY") != 0)
                all_ready = 0;
            json_decref(v);
        }
        ck_assert_msg(util_monotonic() - t0 < 60 * TAPI_SLOW, "not all READY");
        if (!all_ready)
            tapi_sleep(0.01);
    }
    for (int i = 0; i < 4; i++) {
        json_t *v = tapi_get(&a, ids[i]);

        ck_assert_str_eq(tapi_str(v, "type"), types[i]);
        json_decref(v);
    }
    /* serial answers first, then the same requests from four threads */
    for (int k = 0; k < 4; k++) {
        struct tresp r;

        tapi_predict(&a, ids[4 + k], a.viewer, bodies[k], &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        expect[k] =
            json_dumps(json_object_get(r.json, "predictions"), JSON_COMPACT | JSON_SORT_KEYS);
        tresp_release(&r);
    }
    for (int t = 0; t < 4; t++) {
        memset(&th[t], 0, sizeof(th[t]));
        th[t].a = &a;
        for (int k = 0; k < 4; k++) {
            th[t].ids[k] = ids[4 + k];
            th[t].bodies[k] = bodies[k];
            th[t].expect[k] = expect[k];
        }
        ck_assert_int_eq(pthread_create(&tid[t], NULL, pred_main, &th[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(tid[t], NULL);
        ck_assert_msg(th[t].n_bad == 0, "thread %d: %d bad answers", t, th[t].n_bad);
        ck_assert_int_eq(th[t].n_ok, 24);
    }
    for (int k = 0; k < 4; k++)
        free(expect[k]);
    tserver_cleanup(&a.ts);
}
END_TEST

/*
 * The artifact store: on PostgreSQL the trained artifact is stored in the
 * database (with its BLAKE2b checksum) in the READY transaction, and a daemon
 * without the file (another host) loads it from there into its data dir. On
 * SQLite the file is the store (the contract test shows a lost file is 500).
 */
START_TEST(test_artifact_from_database)
{
    struct tapi a;
    struct tresp r;
    char art[4300], sql[160];
    int64_t s, m;

    if (!tpg()) {
        tskip("api_training: artifacts in the database are PostgreSQL's (SQLite keeps files)");
        return;
    }
    tapi_start(&a, 1);
    s = tapi_session(&a, "s", "CLASS", "en", tapi_data_class("en", 10));
    m = tapi_model_on(&a, "m", "en", s);
    {
        json_t *v = tapi_wait_ready(&a, m, 60);

        tapi_artifact(&a, v, art, sizeof(art));
        json_decref(v);
    }
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM model_artifacts WHERE model_id = %lld AND "
             "length(checksum) = 64 AND length(bytes) > 0", (long long)m);
    ck_assert_int_eq(tsql_int(&a.ts, sql), 1);
    /* this daemon's copy is gone, as on a daemon of another host */
    ck_assert_int_eq(unlink(art), 0);
    tapi_predict(&a, m, a.viewer, "{\"texts\":[\"football goal\"]}", &r);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body ? r.body : "");
    tresp_release(&r);
    ck_assert_int_eq(access(art, R_OK), 0); /* copied back from the database */
    tserver_cleanup(&a.ts);
}
END_TEST

Suite *api_training_suite(void)
{
    Suite *s = suite_create("api_training");
    TCase *life = tcase_create("lifecycle");
    TCase *fail = tcase_create("failures");
    TCase *cancel = tcase_create("cancel");
    TCase *restart = tcase_create("restart");
    TCase *conc = tcase_create("concurrency");

    tcase_set_timeout(life, 120 * TAPI_SLOW);
    tcase_add_test(life, test_lifecycle_class_de);
    tcase_add_test(life, test_lifecycle_class_ar);
    tcase_add_test(life, test_lifecycle_label_ar);
    tcase_add_test(life, test_lifecycle_classlabel_en);
    tcase_add_test(life, test_lifecycle_absa_en);
    suite_add_tcase(s, life);
    tcase_set_timeout(fail, 120 * TAPI_SLOW);
    tcase_add_test(fail, test_too_little_data);
    tcase_add_test(fail, test_io_failure_reason);
    suite_add_tcase(s, fail);
    tcase_set_timeout(cancel, 120 * TAPI_SLOW);
    tcase_add_test(cancel, test_cancel_queued_and_training);
    tcase_add_test(cancel, test_cancel_small_and_ready_409);
    tcase_add_test(cancel, test_cancel_at_claim);
    tcase_add_test(cancel, test_delete_at_claim);
    suite_add_tcase(s, cancel);
    tcase_set_timeout(restart, 180 * TAPI_SLOW);
    tcase_add_test(restart, test_restart_in_process);
    tcase_add_test(restart, test_kill9_restart);
    tcase_add_test(restart, test_second_daemon_refused);
    tcase_add_test(restart, test_artifact_from_database);
    suite_add_tcase(s, restart);
    tcase_set_timeout(conc, 120 * TAPI_SLOW);
    tcase_add_test(conc, test_workers_and_concurrent_predict);
    suite_add_tcase(s, conc);
    return s;
}
