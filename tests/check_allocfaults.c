/* SPDX-License-Identifier: MIT */
/*
 * Allocation faults, walked (tests/falloc.h): for N = 1, 2, ... the N-th
 * allocation of a request fails, through a session create, a document
 * upload and a model create on the in-process daemon (each with an
 * Idempotency-Key), and through a training run in-process by the trainer
 * interface. Every answer must be a success or a clean problem (500, or 503
 * with problem JSON), never a crash, a hang or a leak (the ASan build checks
 * leaks); after a failure the database holds exactly what it held before,
 * and the retry with the same key does the work once. A failed training
 * returns ERR_NOMEM and leaves no file behind; a training that absorbed its
 * fault gives the same score as without one. The walk ends when the work
 * needs fewer than N allocations.
 *
 * `make test` walks a sample (every STRIDE-th point of a request, every
 * TRAIN_STRIDE-th of a training); `make stress` (MODELD_STRESS=1) walks
 * every point, under ASan. MODELD_FALLOC_LEAKS=1 checks for leaks after
 * each point (slow). To reproduce a failure:
 * MODELD_FALLOC_ONLY=upload MODELD_FALLOC_FROM=<n> (session, upload, model,
 * training), with MODELD_FALLOC_TRACE=1 for the failing allocation's stack.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "falloc.h"
#include "testwalk.h"
#include "trainer.h"

/* The sample of `make test`: every STRIDE-th allocation point of a request,
 * every TRAIN_STRIDE-th of a training (sparser under the sanitizers, whose
 * trainings are slow: the plain build walks the most points). */
#define STRIDE 4
#define TRAIN_STRIDE ((long)(9 * TAPI_SLOW))

/* The first allocation point to walk: 1, or MODELD_FALLOC_FROM (to
 * reproduce a failure quickly). */
static long first_point(void)
{
    const char *v = getenv("MODELD_FALLOC_FROM");

    return v && atol(v) > 0 ? atol(v) : 1;
}

/* The next allocation point to walk after n: every one in the full walk. */
static long next_point(long n, long stride)
{
    return n + (getenv("MODELD_STRESS") || getenv("MODELD_FALLOC_FROM") ? 1 : stride);
}


/* Under ASan with MODELD_FALLOC_LEAKS=1: no allocation is leaked so far
 * (checked at each point, so that a leak names the point that caused it; a
 * check stops the process for tens of milliseconds, so the walks otherwise
 * leave it to LeakSanitizer's check at exit). */
static void assert_no_leak(const char *what, long n)
{
#if defined(__SANITIZE_ADDRESS__)
    if (getenv("MODELD_FALLOC_LEAKS"))
        ck_assert_msg(__lsan_do_recoverable_leak_check() == 0,
                  "%s, fault at allocation %ld: leaked (the report is above)", what, n);
#else
    (void)what;
    (void)n;
#endif
}

/* Wait until every watched request has completed. */
static void settle(long n)
{
    double t0 = util_monotonic();

    while (falloc_requests_open() > 0) {
        ck_assert_msg(util_monotonic() - t0 < 10 * TAPI_SLOW,
                      "fault at allocation %ld: a request never completed", n);
        tapi_sleep(0.001);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The shape of a JSON value into b: object keys (sorted) with the shapes of
 * their values, an array as the shape of its first item, a scalar as its
 * type. An answer that absorbed a fault must have the shape of one without. */
static void shape(const json_t *v, struct tbuf *b)
{
    if (json_is_object(v)) {
        const char *keys[64];
        size_t n = 0;
        const char *k;
        json_t *x;

        json_object_foreach((json_t *)v, k, x) if (n < 64) keys[n++] = k;
        qsort(keys, n, sizeof keys[0], cmp_str);
        tbuf_add(b, "{");
        for (size_t i = 0; i < n; i++) {
            tbuf_add(b, "%s:", keys[i]);
            shape(json_object_get(v, keys[i]), b);
            tbuf_add(b, ",");
        }
        tbuf_add(b, "}");
    } else if (json_is_array(v)) {
        tbuf_add(b, "[");
        if (json_array_size(v))
            shape(json_array_get(v, 0), b);
        tbuf_add(b, "]");
    } else {
        tbuf_add(b, "%d", v ? (int)json_typeof(v) : -1);
    }
}

static void assert_shape(const struct tresp *r, const char *want, const char *what, long n)
{
    struct tbuf b = {0};

    ck_assert_msg(r->json != NULL, "%s, fault at allocation %ld: %ld with '%s'", what, n,
                  r->status, r->body ? r->body : "");
    shape(r->json, &b);
    ck_assert_msg(strcmp(b.s, want) == 0,
                  "%s, fault at allocation %ld: the answer lost a part: %s (want %s)", what, n,
                  r->body, want);
    free(b.s);
}

/* Run the operation with the n-th allocation of its request failing; wait
 * until the daemon has completed the request (its window closed). Returns
 * the allocations left before the fault (> 0: the request needed fewer). */
static long faulted_op(struct tapi *a, enum twalk_op op, int64_t session, long n, const char *key,
                       struct tresp *r)
{
    long done, pending;

    settle(n); /* the completions of earlier requests must not count */
    done = falloc_requests_done();
    falloc_inject(n);
    twalk_op(a, op, session, n, key, r);
    settle(n);
    ck_assert_int_gt(falloc_requests_done(), done);
    pending = falloc_pending();
    falloc_inject(0);
    return pending;
}

static void walk(struct tapi *a, enum twalk_op op, int64_t session, const char *what)
{
    long n, points = 0, failures = 0, lost = 0, needed = 0;
    struct tbuf want = {0};
    const char *only = getenv("MODELD_FALLOC_ONLY"); /* one walk, to reproduce a failure */

    if (only && strcmp(only, what) != 0)
        return;
    { /* the shape of an answer without a fault */
        struct tresp ref;

        twalk_op(a, op, session, 0, NULL, &ref);
        ck_assert_int_eq(ref.status, 201);
        shape(ref.json, &want);
        tresp_release(&ref);
    }
    for (n = first_point(); n < 100000; n = next_point(n, STRIDE)) {
        int64_t before[TWALK_N_SNAP], now[TWALK_N_SNAP];
        struct tresp r, retry, again;
        char key[64];
        long pending;

        snprintf(key, sizeof key, "%s-%ld", what, n);
        twalk_snapshot(a, before);
        pending = faulted_op(a, op, session, n, key, &r);
        points++;
        if (r.status >= 200 && r.status < 300) {
            /* done (the fault was absorbed, or never fired): a retry replays it */
            twalk_op(a, op, session, n, key, &retry);
            ck_assert_msg(retry.status == r.status && strcmp(retry.replayed, "true") == 0,
                          "%s, fault at allocation %ld: retry of a %ld got %ld (replayed '%s')",
                          what, n, r.status, retry.status, retry.replayed);
            assert_shape(&r, want.s, what, n);
            tresp_release(&retry);
        } else {
            failures++;
            ck_assert_msg(r.status == 500 || r.status == 503,
                          "%s, fault at allocation %ld: %ld %s", what, n, r.status,
                          r.body ? r.body : "");
            tassert_problem(&r, r.status);
            twalk_snapshot(a, now);
            if (memcmp(now, before, sizeof now) != 0 && r.status == 503) {
                /* the work was committed and its answer could not be sent
                 * (as when the connection breaks): the key replays it */
                lost++;
                twalk_op(a, op, session, n, key, &retry);
                ck_assert_msg(retry.status == 201 && strcmp(retry.replayed, "true") == 0,
                              "%s, fault at allocation %ld: the answer was lost after the "
                              "commit, and the retry got %ld (replayed '%s')",
                              what, n, retry.status, retry.replayed);
                assert_shape(&retry, want.s, what, n);
                tresp_release(&retry);
            } else {
                for (int i = 0; i < TWALK_N_SNAP; i++)
                    ck_assert_msg(now[i] == before[i],
                                  "%s, fault at allocation %ld: %ld and %s went %lld -> %lld",
                                  what, n, r.status, TWALK_SNAPSHOT[i], (long long)before[i],
                                  (long long)now[i]);
                /* nothing was remembered: the retry does the work, once */
                twalk_op(a, op, session, n, key, &retry);
                ck_assert_msg(retry.status == 201,
                              "%s, fault at allocation %ld: retry got %ld %s", what, n,
                              retry.status, retry.body ? retry.body : "");
                ck_assert_str_eq(retry.replayed, "");
                twalk_op(a, op, session, n, key, &again);
                ck_assert_int_eq(again.status, 201);
                ck_assert_str_eq(again.replayed, "true");
                tresp_release(&retry);
                tresp_release(&again);
            }
        }
        if (getenv("MODELD_FALLOC_TRACE"))
            fprintf(stderr, "%s, fault at allocation %ld: %ld\n", what, n, r.status);
        tresp_release(&r);
        assert_no_leak(what, n);
        if (pending > 0) { /* the request needed fewer than n allocations: walked through */
            needed = n - pending;
            break;
        }
    }
    fprintf(stderr,
            "allocation walk %s: %ld allocations, %ld points walked, %ld failed cleanly, "
            "%ld answers lost after the commit\n",
            what, needed, points, failures, lost);
    free(want.s);
    ck_assert_int_lt(n, 100000);
    if (first_point() == 1) /* the walk did reach the request's allocations */
        ck_assert_int_gt(failures, 3);
}

START_TEST(test_request_walk)
{
    struct tapi a;
    int64_t s;

    falloc_init();
    tapi_start(&a, 1);
    s = tapi_empty_session(&a, "target", "CLASS", "en");
    falloc_watch_requests(1);
    walk(&a, TWALK_SESSION, 0, "session");
    walk(&a, TWALK_UPLOAD, s, "upload");
    walk(&a, TWALK_MODEL, s, "model");
    falloc_watch_requests(0);
    {
        struct tresp r;
        thttp(&a.ts, "GET", "/readyz", NULL, NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        tresp_release(&r);
    }
    tserver_cleanup(&a.ts);
}
END_TEST

/* ---- training ------------------------------------------------------------- */

#define TDOCS 36

struct tset {
    struct tdoc d[TDOCS];
    char text[TDOCS][96];
};

static const char *const TOPIC_WORDS[3][6] = {
    {"football", "goal", "team", "coach", "league", "stadium"},
    {"pizza", "pasta", "cheese", "bread", "sauce", "soup"},
    {"computer", "laptop", "code", "program", "server", "keyboard"}};
static const char *const TOPICS[3] = {"sports", "food", "tech"};

static void tset_init(struct tset *t)
{
    for (int i = 0; i < TDOCS; i++) {
        int k = i % 3, j = i / 3;

        snprintf(t->text[i], sizeof t->text[i], "the %s and %s day %d",
                 TOPIC_WORDS[k][j % 6], TOPIC_WORDS[k][(j + 2) % 6], j);
        t->d[i] = (struct tdoc){.text = t->text[i], .cls = TOPICS[k]};
    }
}

/* Files in dir (the artifact and any temp file). */
static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

START_TEST(test_training_walk)
{
    char dir[] = "/tmp/modeld-falloc-XXXXXX", path[128], cmd[160];
    struct tset t;
    struct trainer_job job;
    struct trainer_result res = {0};
    struct err err = {0};
    double score;
    long n, points = 0, failures = 0, needed = 0;

    if (getenv("MODELD_FALLOC_ONLY") && strcmp(getenv("MODELD_FALLOC_ONLY"), "training") != 0)
        return;
    falloc_init();
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m.model", dir);
    tset_init(&t);
    job = (struct trainer_job){.type = TYPE_CLASS, .language = LANG_EN, .seed = "falloc",
                               .docs = t.d, .n_docs = TDOCS, .artifact_path = path};
    ck_assert_msg(trainer_run(&job, &res, &err) == 0, "%s", err.msg);
    score = res.score;
    trainer_result_release(&res);
    ck_assert_int_eq(remove(path), 0);

    for (n = first_point(); n < 1000000; n = next_point(n, TRAIN_STRIDE)) {
        long pending;
        int rc;

        memset(&res, 0, sizeof res);
        memset(&err, 0, sizeof err);
        falloc_inject(n);
        falloc_scope(1);
        rc = trainer_run(&job, &res, &err);
        falloc_scope(0);
        pending = falloc_pending();
        falloc_inject(0);
        points++;
        if (rc == 0) {
            ck_assert_msg(res.score == score,
                          "training, fault at allocation %ld: score %g, without a fault %g", n,
                          res.score, score);
            trainer_result_release(&res);
            ck_assert_int_eq(remove(path), 0);
        } else {
            failures++;
            ck_assert_msg(err.code == ERR_NOMEM, "training, fault at allocation %ld: %s: %s", n,
                          err_code_name(err.code), err.msg);
            ck_assert_msg(files_in(dir) == 0,
                          "training, fault at allocation %ld (%s): files left in %s", n, err.msg,
                          dir);
        }
        assert_no_leak("training", n);
        if (pending > 0) {
            needed = n - pending;
            break;
        }
    }
    fprintf(stderr, "allocation walk training: %ld allocations, %ld points walked, %ld failed\n",
            needed, points, failures);
    if (first_point() == 1)
        ck_assert_int_gt(failures, 3);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *allocfaults_suite(void)
{
    Suite *s = suite_create("allocfaults");
    TCase *tc = tcase_create("walk");

    tcase_set_timeout(tc, (getenv("MODELD_STRESS") ? 3600 : 120) * TAPI_SLOW);
    tcase_add_test(tc, test_request_walk);
    tcase_add_test(tc, test_training_walk);
    suite_add_tcase(s, tc);
    return s;
}
