/* SPDX-License-Identifier: MIT */
/*
 * sqlite/jobs.c: the training queue on the models table: enqueue, claim
 * (QUEUED -> TRAINING in one transaction), requeue at start or stop,
 * progress, and the end states a worker writes (READY, FAILED).
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

int sq_job_requeue_all(struct db_conn *c, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    if (sq_exec(c, STMT_JOB_REQUEUE_ALL, err, "t", now) != 0)
        return -1;
    return sq_changes(c);
}

int sq_job_requeue(struct db_conn *c, int64_t id, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return sq_exec_changed(c, STMT_JOB_REQUEUE_ONE, err, "it", id, now);
}

int sq_job_claim(struct db_conn *c, int64_t *id, struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;
    int64_t found = 0;

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
        if (sq_exec(c, STMT_JOB_START, err, "it", found, now) != 0)
            goto fail;
        /* BEGIN IMMEDIATE holds the write lock since the row was read QUEUED */
        assert(sq_changes(c) == 1 && "a claimed job moves QUEUED -> TRAINING");
    }
    if (db_commit(c, err) != 0)
        return -1;
    if (found)
        *id = found;
    return found ? 1 : 0;
fail:
    db_rollback(c);
    return -1;
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

int sq_job_progress(struct db_conn *c, int64_t id, double pct, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return sq_exec(c, STMT_JOB_PROGRESS, err, "idt", id, pct, now);
}

int sq_job_ready(struct db_conn *c, int64_t id, double score, const char *metrics,
                 const char *warnings, const char *artifact, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return sq_exec_changed(c, STMT_JOB_READY, err, "idtttt", id, score, metrics, artifact, now,
                        warnings);
}

int sq_job_failed(struct db_conn *c, int64_t id, const char *reason, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return sq_exec_changed(c, STMT_JOB_FAILED, err, "itt", id, reason, now);
}
