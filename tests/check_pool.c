/* SPDX-License-Identifier: MIT */
/*
 * Unit suite of pool_ on a temporary database, without HTTP: start and stop,
 * every queued job trained exactly once by several workers, a job left
 * TRAINING by a crash queued again at start, cancel, and a stop that puts
 * the interrupted job back on the queue. The "lease" case: the queue
 * protocol of several daemons (the fence of a stale attempt, the rescue of
 * expired leases and not of live ones, max attempts, a cancel or delete made
 * elsewhere reaching the worker, staged uploads of gone daemons).
 *
 * trainer_run is wrapped (ld --wrap, see the Makefile's TEST_WRAP) to count
 * the trainings and, when a test asks, to hold a job until it is canceled.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts.h"
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

/* ---- leases: several daemons on one queue ----------------------------------- */

#define DEAD_DAEMON "dead0000000000000000000000000000"
#define LIVE_DAEMON "1ive0000000000000000000000000000"

/* Make model id TRAINING, held by daemon (its lease expires at lease_until,
 * unix ms) after `attempt` claims of which `abandoned` lost their lease. */
static void fx_held(struct fx *f, int64_t id, const char *daemon, long long lease_until,
                    int attempt, int abandoned)
{
    char sql[400];

    snprintf(sql, sizeof sql,
             "UPDATE models SET status = 'TRAINING', owner_daemon = '%s', lease_until = %lld, "
             "attempt = %d, abandoned = %d WHERE id = %lld",
             daemon, lease_until, attempt, abandoned, (long long)id);
    tsql(&f->ts, sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO daemons (id, started, lease_until) VALUES ('%s', 0, %lld) "
             "ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until",
             daemon, lease_until);
    tsql(&f->ts, sql);
}

/* A column of model id as an integer (SQL expression col). */
static int64_t fx_col(struct fx *f, int64_t id, const char *col)
{
    char sql[200];

    snprintf(sql, sizeof sql, "SELECT %s FROM models WHERE id = %lld", col, (long long)id);
    return tsql_int(&f->ts, sql);
}

/* Unix milliseconds an hour from now: a lease nobody takes back meanwhile. */
static long long fx_later(void)
{
    return (long long)(util_now_unix() + 3600) * 1000;
}

/* The fence: once a job's lease expired and it was claimed again, the old
 * attempt's progress, READY, FAILED and requeue change nothing. */
START_TEST(test_fence)
{
    struct fx f;
    struct err err = {0};
    struct db_conn *c;
    int64_t id, got = 0, attempt = 0;

    fx_init(&f);
    id = fx_model(&f, "fenced", "QUEUED");
    db_daemon_set(f.db, LIVE_DAEMON, 30000);
    c = db_acquire(f.db);
    ck_assert_int_eq(db_job_claim(c, &got, &attempt, &err), 1);
    ck_assert_int_eq(got, id);
    ck_assert_int_eq(attempt, 1);
    ck_assert_int_eq(db_job_progress(c, id, 1, 10.0, &err), 0);
    /* its lease expires (the daemon stalled) and the rescue takes it back */
    tsql(&f.ts, "UPDATE models SET lease_until = 1");
    ck_assert_int_eq(db_job_rescue(c, 3, 0, &err), 1);
    ck_assert_int_eq(fx_col(&f, id, "status = 'QUEUED' AND abandoned = 1"), 1);
    ck_assert_int_eq(db_job_claim(c, &got, &attempt, &err), 1);
    ck_assert_int_eq(attempt, 2);
    /* the old owner wakes up */
    ck_assert_int_eq(db_job_progress(c, id, 1, 50.0, &err), -1);
    ck_assert_int_eq(err.code, ERR_FENCED);
    err_clear(&err);
    ck_assert_int_eq(db_job_ready(c, id, 1, 0.9, "{}", "[]", "/nowhere", &err), -1);
    ck_assert_int_eq(err.code, ERR_FENCED);
    err_clear(&err);
    ck_assert_int_eq(db_job_failed(c, id, 1, "late", &err), -1);
    ck_assert_int_eq(err.code, ERR_FENCED);
    ck_assert_int_eq(db_job_requeue(c, id, 1, &err), 0);
    ck_assert_int_eq(fx_col(&f, id, "status = 'TRAINING' AND attempt = 2 AND progress = 10 AND "
                                    "score IS NULL AND artifact IS NULL AND "
                                    "failure_reason IS NULL"), 1);
    /* the new owner's writes count; a progress that does not rise is no fence */
    ck_assert_int_eq(db_job_progress(c, id, 2, 5.0, &err), 0);
    ck_assert_int_eq(db_job_ready(c, id, 2, 0.9, "{}", "[]", "/somewhere", &err), 1);
    ck_assert_int_eq(fx_col(&f, id, "status = 'READY' AND owner_daemon IS NULL"), 1);
    db_release(f.db, c);
    fx_release(&f);
}
END_TEST

/* A job whose daemon died is taken back at start and trained on the next
 * claim (attempt 2); a job another live daemon holds is left alone until its
 * lease expires, then the keeper takes it back. */
START_TEST(test_rescue)
{
    struct fx f;
    struct err err = {0};
    struct pool *p;
    int64_t dead, live;
    char sql[160];

    fx_init(&f);
    f.ts.cfg.lease_s = 1;
    dead = fx_model(&f, "dead", "QUEUED");
    live = fx_model(&f, "live", "QUEUED");
    fx_held(&f, dead, DEAD_DAEMON, 1, 1, 0);
    fx_held(&f, live, LIVE_DAEMON, fx_later(), 1, 0);
    p = pool_start(&f.app, 1, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    wait_models(&f, "'READY'", 1, 60);
    ck_assert_int_eq(fx_col(&f, dead, "status = 'READY' AND attempt = 2 AND abandoned = 1"), 1);
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM daemons WHERE id = '%s'", DEAD_DAEMON);
    ck_assert_int_eq(tsql_int(&f.ts, sql), 0); /* a gone daemon's row is removed */
    /* the live daemon's job: not touched through several of our heartbeats */
    tapi_sleep(1.0);
    ck_assert_int_eq(fx_col(&f, live, "status = 'TRAINING' AND attempt = 1"), 1);
    ck_assert_int_eq(atomic_load(&trainings), 1);
    /* that daemon dies: after its lease, ours takes the job back and trains it */
    snprintf(sql, sizeof sql, "UPDATE daemons SET lease_until = 1 WHERE id = '%s'", LIVE_DAEMON);
    tsql(&f.ts, sql);
    tsql(&f.ts, "UPDATE models SET lease_until = 1 WHERE status = 'TRAINING'");
    wait_models(&f, "'READY'", 2, 60);
    ck_assert_int_eq(fx_col(&f, live, "attempt = 2 AND abandoned = 1"), 1);
    pool_stop(p);
    ck_assert_int_eq(atomic_load(&trainings), 2);
    fx_release(&f);
}
END_TEST

/* A daemon alone on its database (the SQLite file lock) takes back every
 * TRAINING row at start, whatever its lease says: its daemon is dead. */
START_TEST(test_rescue_exclusive)
{
    struct fx f;
    struct err err = {0};
    struct pool *p;
    int64_t id;

    fx_init(&f);
    f.app.db_exclusive = 1;
    id = fx_model(&f, "crashed", "QUEUED");
    fx_held(&f, id, LIVE_DAEMON, fx_later(), 1, 0);
    p = pool_start(&f.app, 1, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    wait_models(&f, "'READY'", 1, 60);
    pool_stop(p);
    ck_assert_int_eq(fx_col(&f, id, "attempt = 2 AND abandoned = 1"), 1);
    ck_assert_int_eq(tsql_int(&f.ts, "SELECT COUNT(*) FROM daemons"), 0); /* ours left too */
    fx_release(&f);
}
END_TEST

/* After --max-attempts lost leases the rescue fails the job and says why. */
START_TEST(test_max_attempts)
{
    struct fx f;
    struct err err = {0};
    struct pool *p;
    int64_t id, again;

    fx_init(&f);
    f.ts.cfg.max_attempts = 3;
    id = fx_model(&f, "poison", "QUEUED");
    again = fx_model(&f, "again", "QUEUED");
    fx_held(&f, id, DEAD_DAEMON, 1, 3, 2);
    fx_held(&f, again, DEAD_DAEMON, 1, 2, 1);
    p = pool_start(&f.app, 1, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    wait_models(&f, "'READY', 'FAILED'", 2, 60);
    pool_stop(p);
    ck_assert_int_eq(fx_col(&f, id, "status = 'FAILED' AND abandoned = 3 AND failure_reason "
                                    "LIKE 'abandoned after 3 attempts%'"), 1);
    ck_assert_int_eq(fx_col(&f, again, "status = 'READY' AND attempt = 3"), 1);
    ck_assert_int_eq(atomic_load(&trainings), 1);
    fx_release(&f);
}
END_TEST

/* A cancel or delete made through another daemon (straight in the database
 * here) stops the worker within a second, and it writes nothing after. */
START_TEST(test_remote_cancel)
{
    struct fx f;
    struct err err = {0};
    struct pool *p;
    int64_t canceled, deleted;
    char sql[200];
    double t0;

    fx_init(&f);
    atomic_store(&hold, 1);
    canceled = fx_model(&f, "canceled", "QUEUED");
    deleted = fx_model(&f, "deleted", "QUEUED");
    p = pool_start(&f.app, 2, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    pool_wake(p);
    wait_running(p, 2);
    wait_models(&f, "'TRAINING'", 2, 10);
    snprintf(sql, sizeof sql,
             "UPDATE models SET status = 'FAILED', failure_reason = 'canceled elsewhere', "
             "owner_daemon = NULL WHERE id = %lld", (long long)canceled);
    tsql(&f.ts, sql);
    t0 = util_monotonic();
    while (pool_running(p) != 1) {
        ck_assert_msg(util_monotonic() - t0 < 1.0 * TAPI_SLOW, "the cancel took over %.1f s",
                      util_monotonic() - t0);
        tapi_sleep(0.005);
    }
    snprintf(sql, sizeof sql, "DELETE FROM models WHERE id = %lld", (long long)deleted);
    tsql(&f.ts, sql);
    t0 = util_monotonic();
    while (pool_running(p) != 0) {
        ck_assert_msg(util_monotonic() - t0 < 1.0 * TAPI_SLOW, "the delete took over %.1f s",
                      util_monotonic() - t0);
        tapi_sleep(0.005);
    }
    pool_stop(p);
    ck_assert_int_eq(fx_col(&f, canceled, "failure_reason = 'canceled elsewhere'"), 1);
    ck_assert_int_eq(tsql_int(&f.ts, "SELECT COUNT(*) FROM models WHERE name = 'deleted'"), 0);
    fx_release(&f);
}
END_TEST

/* Staged uploads are removed only once the daemon that staged them is gone. */
START_TEST(test_upload_of_gone_daemon)
{
    struct fx f;
    struct err err = {0};
    struct db_conn *c;
    int64_t up;

    fx_init(&f);
    db_daemon_set(f.db, LIVE_DAEMON, 30000);
    c = db_acquire(f.db);
    ck_assert_int_eq(db_daemon_heartbeat(c, &err), 0);
    up = db_upload_open(c, f.session, &err);
    ck_assert_msg(up > 0, "%s", err.msg);
    ck_assert_int_eq(db_upload_cleanup(c, &err), 0); /* its daemon is alive */
    tsql(&f.ts, "UPDATE daemons SET lease_until = 1");
    ck_assert_int_eq(db_upload_cleanup(c, &err), 1);
    ck_assert_int_eq(tsql_int(&f.ts, "SELECT COUNT(*) FROM uploads WHERE published = 0"), 0);
    db_release(f.db, c);
    fx_release(&f);
}
END_TEST

/* The artifact store (PostgreSQL): a daemon's copy is made from the bytes in
 * the database only when they match their checksum. */
START_TEST(test_artifact_store)
{
    struct fx f;
    struct err err = {0};
    struct db_conn *c;
    static const char bytes[] = "artifact bytes";
    struct artifacts_blob b = {0};
    char src[4300], local[4300], bad[65];
    FILE *fp;
    int64_t id;

    if (!tpg()) {
        tskip("pool: artifacts in the database are PostgreSQL's (SQLite keeps files)");
        return;
    }
    fx_init(&f);
    id = fx_model(&f, "stored", "READY");
    snprintf(src, sizeof src, "%s/trained.model", f.ts.dir);
    fp = fopen(src, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fwrite(bytes, 1, sizeof bytes, fp), sizeof bytes);
    fclose(fp);
    ck_assert_int_eq(artifacts_blob_read(src, &b, &err), 0);
    ck_assert_uint_eq(b.len, sizeof bytes);
    /* a wrong checksum: no copy is made */
    memset(bad, '0', 64);
    bad[64] = '\0';
    c = db_acquire(f.db);
    ck_assert_int_eq(db_begin(c, &err), 0);
    ck_assert_int_eq(db_artifact_put(c, id, b.bytes, b.len, bad, &err), 0);
    ck_assert_int_eq(db_commit(c, &err), 0);
    db_release(f.db, c);
    ck_assert_int_eq(artifacts_local(f.db, f.ts.data_dir, id, src, local, sizeof local, &err), -1);
    ck_assert_int_eq(err.code, ERR_CORRUPT);
    ck_assert_int_ne(access(local, F_OK), 0);
    /* the right one: the copy has the bytes */
    c = db_acquire(f.db);
    ck_assert_int_eq(db_begin(c, &err), 0);
    ck_assert_int_eq(db_artifact_put(c, id, b.bytes, b.len, b.checksum, &err), 0);
    ck_assert_int_eq(db_commit(c, &err), 0);
    db_release(f.db, c);
    ck_assert_int_eq(artifacts_local(f.db, f.ts.data_dir, id, src, local, sizeof local, &err), 0);
    ck_assert_str_ne(local, src);
    {
        struct artifacts_blob copy = {0};

        ck_assert_int_eq(artifacts_blob_read(local, &copy, &err), 0);
        ck_assert_str_eq(copy.checksum, b.checksum);
        artifacts_blob_release(&copy);
    }
    artifacts_blob_release(&b);
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
    tc = tcase_create("lease");
    tcase_set_timeout(tc, 120 * TAPI_SLOW);
    tcase_add_test(tc, test_fence);
    tcase_add_test(tc, test_rescue);
    tcase_add_test(tc, test_rescue_exclusive);
    tcase_add_test(tc, test_max_attempts);
    tcase_add_test(tc, test_remote_cancel);
    tcase_add_test(tc, test_upload_of_gone_daemon);
    tcase_add_test(tc, test_artifact_store);
    suite_add_tcase(s, tc);
    return s;
}
