/* SPDX-License-Identifier: MIT */
/*
 * sqlite/jobs.c: the training queue on the models table: enqueue, claim
 * (QUEUED -> TRAINING in one transaction, with this daemon's lease and the
 * next attempt), the daemons' leases (heartbeat, leave, rescue of expired
 * leases), requeue at stop, and the writes a worker makes about its job
 * (progress, READY, FAILED), each fenced by its attempt.
 */
#include "internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* ---- job queue --------------------------------------------------------------- */

int sq_job_enqueue(struct db_conn *c, int64_t id, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return sq_exec(c, STMT_JOB_ENQUEUE, err, "it", id, now);
}

int sq_daemon_heartbeat(struct db_conn *c, struct err *err)
{
    const struct db *db = c->db;
    int64_t now = sq_now_ms(), until = now + db->lease_ms;

    if (db_begin(c, err) != 0)
        return -1;
    if (sq_exec(c, STMT_DAEMON_UPSERT, err, "tii", db->daemon_id, now, until) != 0 ||
        sq_exec(c, STMT_DAEMON_RENEW_JOBS, err, "ti", db->daemon_id, until) != 0) {
        db_rollback(c);
        return -1;
    }
    return db_commit(c, err);
}

int sq_daemon_leave(struct db_conn *c, struct err *err)
{
    return sq_exec(c, STMT_DAEMON_DELETE, err, "t", c->db->daemon_id);
}

/* One row of DAEMON_JOBS into elem (a struct db_lease). */
static int lease_read(sqlite3_stmt *st, void *elem, struct err *err)
{
    struct db_lease *l = elem;

    (void)err;
    l->id = sqlite3_column_int64(st, 0);
    l->attempt = sqlite3_column_int64(st, 1);
    return 0;
}

static void leases_release(void *elems, size_t n)
{
    (void)n;
    free(elems);
}

int sq_daemon_jobs(struct db_conn *c, struct db_lease **out, size_t *n, struct err *err)
{
    sqlite3_stmt *st = sq_prep(c, STMT_DAEMON_JOBS, err, "t", c->db->daemon_id);
    void *rows = NULL;

    if (!st)
        return -1;
    if (sq_rows(c, st, sizeof(struct db_lease), 0, lease_read, leases_release, &rows, n, NULL,
                err) != 0)
        return -1;
    *out = rows;
    return 0;
}

int sq_job_rescue(struct db_conn *c, int max_attempts, int all, struct err *err)
{
    char now[UTIL_TIME_LEN];
    int64_t ms = sq_now_ms();
    int moved;

    util_now_rfc3339(now);
    /* BEGIN IMMEDIATE: the write lock makes this the one rescuer */
    if (db_begin(c, err) != 0)
        return -1;
    if (sq_exec(c, STMT_DAEMONS_EXPIRED, err, "iit", ms, (int64_t)(all != 0),
                c->db->daemon_id) != 0 ||
        sq_exec(c, STMT_RESCUE_FAIL, err, "iiit", ms, (int64_t)(all != 0),
                (int64_t)max_attempts, now) != 0)
        goto fail;
    moved = sq_changes(c);
    if (sq_exec(c, STMT_RESCUE_REQUEUE, err, "iit", ms, (int64_t)(all != 0), now) != 0)
        goto fail;
    moved += sq_changes(c);
    if (sq_exec(c, STMT_RESCUE_CREATED, err, "t", now) != 0)
        goto fail;
    moved += sq_changes(c);
    if (db_commit(c, err) != 0)
        return -1;
    return moved;
fail:
    db_rollback(c);
    return -1;
}

int sq_job_requeue(struct db_conn *c, int64_t id, int64_t attempt, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return sq_exec_changed(c, STMT_JOB_REQUEUE_ONE, err, "iit", id, attempt, now);
}

int sq_job_claim(struct db_conn *c, int64_t *id, int64_t *attempt, struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;
    int64_t found = 0, tries = 0;

    if (db_begin(c, err) != 0)
        return -1;
    switch (sq_row(c, STMT_JOB_NEXT, &st, "", err, "")) {
    case 1:
        found = sqlite3_column_int64(st, 0);
        sq_done(st);
        break;
    case 0: /* nothing queued */
        err_clear(err);
        break;
    default:
        goto fail;
    }
    if (found) {
        util_now_rfc3339(now);
        if (sq_exec(c, STMT_JOB_START, err, "itti", found, now, c->db->daemon_id,
                    sq_now_ms() + c->db->lease_ms) != 0)
            goto fail;
        /* BEGIN IMMEDIATE holds the write lock since the row was read QUEUED */
        assert(sq_changes(c) == 1 && "a claimed job moves QUEUED -> TRAINING");
        if (sq_row(c, STMT_JOB_ATTEMPT, &st, "claimed job vanished", err, "i", found) != 1)
            goto fail;
        tries = sqlite3_column_int64(st, 0);
        sq_done(st);
    }
    if (db_commit(c, err) != 0)
        return -1;
    if (found) {
        *id = found;
        *attempt = tries;
    }
    return found ? 1 : 0;
fail:
    db_rollback(c);
    return -1;
}

/* The end of a fenced write that changed no row: 0 when the attempt still
 * holds the job (the write had nothing to do), else -1 with ERR_FENCED. */
static int fence_check(struct db_conn *c, int64_t id, int64_t attempt, struct err *err)
{
    int held = sq_exists(c, STMT_JOB_HELD, err, "ii", id, attempt);

    if (held < 0)
        return -1;
    if (!held) {
        err_set(err, ERR_FENCED, "job %lld: attempt %lld no longer holds it", (long long)id,
                (long long)attempt);
        return -1;
    }
    return 0;
}

/* One row of JOB_GET into elem (a struct db_job). */
static int job_read(sqlite3_stmt *st, void *elem, struct err *err)
{
    struct db_job *out = elem;
    int ok = 1;

    out->id = sqlite3_column_int64(st, 0);
    out->uuid = sq_col_opt(st, 1, &ok);
    out->base_artifact = sq_col_opt(st, 4, &ok);
    if (sq_col_type(st, 2, &out->type, err) != 0 ||
        sq_col_language(st, 3, &out->language, err) != 0 ||
        sq_col_status(st, 5, &out->status, err) != 0)
        return -1;
    out->attempt = sqlite3_column_int64(st, 6);
    return sq_copied(ok && out->uuid, err);
}

static void job_clear(void *elem)
{
    db_job_release(elem);
}

int sq_job_get(struct db_conn *c, int64_t id, struct db_job *out, struct err *err)
{
    return sq_get(c, STMT_JOB_GET, "model not found", job_read, job_clear, out, sizeof(*out), err,
                  "i", id);
}

int sq_job_documents(struct db_conn *c, int64_t id, db_doc_fn fn, void *ctx, struct err *err)
{
    sqlite3_stmt *st = sq_stmt(c, STMT_JOB_DOCS, err);
    int rc, ret = 0;

    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (fn(ctx, (const char *)sqlite3_column_text(st, 0),
               (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
               (const char *)sqlite3_column_text(st, 3),
               (const char *)sqlite3_column_text(st, 4)) != 0) {
            err_set(err, ERR_NOMEM, "out of memory while loading documents");
            ret = -1;
            break;
        }
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = sq_fail(c, err);
    sq_done(st);
    return ret;
}

int sq_job_progress(struct db_conn *c, int64_t id, int64_t attempt, double pct,
                    struct err *err)
{
    char now[UTIL_TIME_LEN];
    int rc;

    util_now_rfc3339(now);
    rc = sq_exec_changed(c, STMT_JOB_PROGRESS, err, "idti", id, pct, now, attempt);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    return fence_check(c, id, attempt, err); /* not raised: still ours? */
}

int sq_job_ready(struct db_conn *c, int64_t id, int64_t attempt, double score,
                 const char *metrics, const char *warnings, const char *artifact,
                 struct err *err)
{
    char now[UTIL_TIME_LEN];
    int rc;

    util_now_rfc3339(now);
    rc = sq_exec_changed(c, STMT_JOB_READY, err, "idtttti", id, score, metrics, artifact, now,
                         warnings, attempt);
    if (rc == 0) {
        err_set(err, ERR_FENCED, "job %lld: attempt %lld no longer holds it", (long long)id,
                (long long)attempt);
        return -1;
    }
    return rc;
}

int sq_job_failed(struct db_conn *c, int64_t id, int64_t attempt, const char *reason,
                  struct err *err)
{
    char now[UTIL_TIME_LEN];
    int rc;

    util_now_rfc3339(now);
    if (attempt == 0)
        return sq_exec_changed(c, STMT_JOB_FAILED, err, "itt", id, reason, now);
    rc = sq_exec_changed(c, STMT_JOB_FAILED_HELD, err, "itti", id, reason, now, attempt);
    if (rc == 0) {
        err_set(err, ERR_FENCED, "job %lld: attempt %lld no longer holds it", (long long)id,
                (long long)attempt);
        return -1;
    }
    return rc;
}
