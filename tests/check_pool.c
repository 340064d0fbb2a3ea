/* SPDX-License-Identifier: MIT */
/*
 * Unit suite of pool_ on a temporary database, without HTTP: start and stop,
 * every queued job trained exactly once by several workers, a job left
 * TRAINING by a crash queued again at start, cancel, and a stop that puts
 * the interrupted job back on the queue.
 *
 * trainer_run is wrapped (ld --wrap, see the Makefile's TEST_WRAP) to count
 * the trainings and, when a test asks, to hold a job until it is canceled.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "pool.h"
#include "testapi.h"
#include "trainer.h"

int __real_trainer_run(const struct trainer_job *job, struct trainer_result *out,
                       struct err *err);
int __wrap_trainer_run(const struct trainer_job *job, struct trainer_result *out,
                       struct err *err);

static atomic_int trainings; /* trainer_run calls */
static atomic_int hold;      /* 1: a training waits for its cancel flag */

/* Counts, then trains; or holds until canceled (what the trainer does when its
 * flag is set), giving up after 60 s. */
int __wrap_trainer_run(const struct trainer_job *job, struct trainer_result *out,
                       struct err *err)
{
    double t0 = util_monotonic();

    atomic_fetch_add(&trainings, 1);
    if (!atomic_load(&hold))
        return __real_trainer_run(job, out, err);
    while (!(job->cancel && atomic_load(job->cancel))) {
        if (util_monotonic() - t0 > 60) {
            err_set(err, ERR_INTERNAL, "held job never canceled");
            return -1;
        }
        tapi_sleep(0.002);
    }
    err_set(err, ERR_CANCELED, "training was canceled");
    return -1;
}

struct fx {
    struct tserver ts; /* its paths only: no daemon runs */
    struct app app;
    struct db *db;
    int64_t ws, pr, user, session;
};

/* A database with a project and a CLASS session of 30 documents. */
static void fx_init(struct fx *f)
{
    char token[65];
    struct err err = {0};

    memset(f, 0, sizeof(*f));
    atomic_store(&trainings, 0);
    atomic_store(&hold, 0);
    tserver_files(&f->ts);
    f->db = db_open(f->ts.db_path, 6, &err);
    ck_assert_msg(f->db != NULL, "%s", err.msg);
    f->ws = tfx_workspace(&f->ts, "ws");
    f->pr = tfx_project(&f->ts, f->ws, "pr");
    f->user = tfx_user(&f->ts, "u", 0, token);
    {
        char *jsonl = tapi_data_class("en", 10);

        f->session = tfx_session(&f->ts, f->pr, "s", "CLASS", "en", jsonl);
        free(jsonl);
    }
    f->app.cfg = &f->ts.cfg;
    f->app.db = f->db;
}

static void fx_release(struct fx *f)
{
    db_close(f->db);
    tserver_cleanup(&f->ts);
}

/* A model over the session, in status (e.g. QUEUED). */
static int64_t fx_model(struct fx *f, const char *name, const char *status)
{
    char sql[160];
    int64_t id = tfx_model(&f->ts, f->ws, f->pr, f->user, name, "en", "CLASS", status);

    snprintf(sql, sizeof sql,
             "INSERT INTO model_annotations (model_id, annotation_id, role) "
             "VALUES (%lld, %lld, 'all')",
             (long long)id, (long long)f->session);
    tsql(&f->ts, sql);
    return id;
}

/* Wait until `want` models have a status in the SQL list statuses. */
static void wait_models(struct fx *f, const char *statuses, int64_t want, double timeout)
{
    char sql[160];
    double t0 = util_monotonic();

    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM models WHERE status IN (%s)", statuses);
    while (tsql_int(&f->ts, sql) != want) {
        ck_assert_msg(util_monotonic() - t0 < timeout * TAPI_SLOW, "%s: not %lld after %.0f s",
                      statuses, (long long)want, timeout * TAPI_SLOW);
        tapi_sleep(0.01);
    }
}

static void wait_running(struct pool *p, int want)
{
    double t0 = util_monotonic();

    while (pool_running(p) != want) {
        ck_assert_msg(util_monotonic() - t0 < 20 * TAPI_SLOW, "running %d, not %d",
                      pool_running(p), want);
        tapi_sleep(0.002);
    }
}

START_TEST(test_start_stop)
{
    struct fx f;
    struct err err = {0};
    struct pool *p;
    double t0;

    fx_init(&f);
    p = pool_start(&f.app, 3, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    ck_assert_int_eq(pool_workers(p), 3);
    for (t0 = util_monotonic(); !pool_ready(p);) {
        ck_assert(util_monotonic() - t0 < 10 * TAPI_SLOW);
        tapi_sleep(0.002);
    }
    ck_assert_int_eq(pool_running(p), 0);
    ck_assert_int_eq(pool_cancel(p, 12345), 0);
    pool_stop(p);
    /* NULL is a pool that does nothing */
    pool_stop(NULL);
    pool_wake(NULL);
    ck_assert_int_eq(pool_running(NULL), 0);
    ck_assert_int_eq(pool_ready(NULL), 0);
    ck_assert_int_eq(pool_cancel(NULL, 1), 0);
    fx_release(&f);
}
END_TEST

START_TEST(test_each_job_once)
{
    struct fx f;
    struct err err = {0};
    struct pool *p;

    fx_init(&f);
    fx_model(&f, "a", "QUEUED");
    fx_model(&f, "b", "QUEUED");
    fx_model(&f, "c", "QUEUED");
    fx_model(&f, "crashed", "TRAINING"); /* left by a crash: queued again at start */
    p = pool_start(&f.app, 3, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    pool_wake(p);
    wait_models(&f, "'READY'", 4, 60);
    ck_assert_int_eq(atomic_load(&trainings), 4); /* each job claimed and trained once */
    ck_assert_int_eq(pool_running(p), 0);
    pool_stop(p);
    ck_assert_int_eq(atomic_load(&trainings), 4);
    ck_assert_int_eq(tsql_int(&f.ts, "SELECT COUNT(*) FROM models WHERE score IS NULL"), 0);
    fx_release(&f);
}
END_TEST

START_TEST(test_cancel)
{
    struct fx f;
    struct err err = {0};
    struct pool *p;
    int64_t id;
    char sql[128];

    fx_init(&f);
    atomic_store(&hold, 1);
    id = fx_model(&f, "held", "QUEUED");
    p = pool_start(&f.app, 1, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    pool_wake(p);
    wait_running(p, 1);
    ck_assert_int_eq(pool_cancel(p, id + 1), 0);
    ck_assert_int_eq(pool_cancel(p, id), 1);
    wait_models(&f, "'FAILED'", 1, 20);
    wait_running(p, 0);
    snprintf(sql, sizeof sql, "SELECT failure_reason = 'canceled' FROM models WHERE id = %lld",
             (long long)id);
    ck_assert_int_eq(tsql_int(&f.ts, sql), 1);
    pool_stop(p);
    ck_assert_int_eq(atomic_load(&trainings), 1);
    fx_release(&f);
}
END_TEST

START_TEST(test_stop_requeues)
{
    struct fx f;
    struct err err = {0};
    struct pool *p;

    fx_init(&f);
    atomic_store(&hold, 1);
    fx_model(&f, "interrupted", "QUEUED");
    p = pool_start(&f.app, 2, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    pool_wake(p);
    wait_running(p, 1);
    wait_models(&f, "'TRAINING'", 1, 10);
    pool_stop(p); /* the held job sees its cancel flag: back to the queue */
    wait_models(&f, "'QUEUED'", 1, 1);
    /* the next start trains it from the beginning */
    atomic_store(&hold, 0);
    p = pool_start(&f.app, 1, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    wait_models(&f, "'READY'", 1, 60);
    pool_stop(p);
    ck_assert_int_eq(atomic_load(&trainings), 2);
    fx_release(&f);
}
END_TEST

Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 120 * TAPI_SLOW);
    tcase_add_test(tc, test_start_stop);
    tcase_add_test(tc, test_each_job_once);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_stop_requeues);
    suite_add_tcase(s, tc);
    return s;
}
