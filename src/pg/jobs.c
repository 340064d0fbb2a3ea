/* SPDX-License-Identifier: MIT */
/*
 * pg/jobs.c: the training queue on the models table, on PostgreSQL:
 * enqueue, claim, requeue at start or stop, progress, and the end states a
 * worker writes (READY, FAILED), with the semantics of src/sqlite/jobs.c.
 * A claim is one statement, UPDATE ... WHERE id = (SELECT ... FOR UPDATE
 * SKIP LOCKED LIMIT 1) RETURNING ...: daemons claiming at once each take a
 * different job and never wait for one another. Every write that changes a
 * job sends the model notification in its transaction.
 */
#include "internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* Documents read per statement by pg_job_documents. */
#define JOB_DOCS_PAGE 1000

/* Run a job write (sid with fmt's parameters) whose rows are (project_id,
 * model_id of the row when id is 0) and notify each changed model, in one
 * transaction (the caller's, or one of its own). The number of rows
 * changed, or -1. */
static int64_t job_write(struct db_conn *c, int64_t id, enum pg_stmt sid, struct err *err,
                         const char *fmt, ...)
{
    PGresult *r = NULL;
    va_list ap;
    int64_t n = -1;

    if (db_begin(c, err) != 0)
        return -1;
    va_start(ap, fmt);
    r = pg_vrun(c, sid, err, fmt, ap);
    va_end(ap);
    if (!r)
        goto fail;
    for (int i = 0; i < PQntuples(r); i++)
        if (pg_notify_model(c, pg_col_int(r, i, 0), id ? id : pg_col_int(r, i, 1), err) != 0)
            goto fail;
    n = PQntuples(r);
    PQclear(r);
    if (db_commit(c, err) != 0)
        return -1;
    return n;
fail:
    PQclear(r);
    db_rollback(c);
    return -1;
}

int pg_job_enqueue(struct db_conn *c, int64_t id, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return job_write(c, id, STMT_JOB_ENQUEUE, err, "it", id, now) < 0 ? -1 : 0;
}

int pg_job_requeue_all(struct db_conn *c, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return (int)job_write(c, 0, STMT_JOB_REQUEUE_ALL, err, "t", now);
}

int pg_job_requeue(struct db_conn *c, int64_t id, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return (int)job_write(c, id, STMT_JOB_REQUEUE_ONE, err, "it", id, now);
}

int pg_job_claim(struct db_conn *c, int64_t *id, struct err *err)
{
    char now[UTIL_TIME_LEN];
    PGresult *r = NULL;
    int64_t found = 0;

    if (db_begin(c, err) != 0)
        return -1;
    util_now_rfc3339(now);
    switch (pg_row(c, STMT_JOB_CLAIM, &r, "", err, "t", now)) {
    case 1:
        found = pg_col_int(r, 0, 0);
        if (pg_notify_model(c, pg_col_int(r, 0, 1), found, err) != 0)
            goto fail;
        break;
    case 0: /* nothing queued (or every queued job is being claimed elsewhere) */
        err_clear(err);
        break;
    default:
        goto fail;
    }
    PQclear(r);
    r = NULL;
    if (db_commit(c, err) != 0)
        return -1;
    if (found)
        *id = found;
    return found ? 1 : 0;
fail:
    PQclear(r);
    db_rollback(c);
    return -1;
}

/* Row `row` of JOB_GET into elem (a struct db_job). */
static int job_read(const PGresult *r, int row, void *elem, struct err *err)
{
    struct db_job *out = elem;
    int ok = 1;

    out->id = pg_col_int(r, row, 0);
    out->uuid = pg_col_opt(r, row, 1, &ok);
    out->base_artifact = pg_col_opt(r, row, 4, &ok);
    if (pg_col_type(r, row, 2, &out->type, err) != 0 ||
        pg_col_language(r, row, 3, &out->language, err) != 0 ||
        pg_col_status(r, row, 5, &out->status, err) != 0)
        return -1;
    return pg_copied(ok && out->uuid, err);
}

static void job_clear(void *elem)
{
    db_job_release(elem);
}

int pg_job_get(struct db_conn *c, int64_t id, struct db_job *out, struct err *err)
{
    return pg_get(c, STMT_JOB_GET, "model not found", job_read, job_clear, out, sizeof(*out), err,
                  "i", id);
}

/*
 * The documents in pages of JOB_DOCS_PAGE (keyset on annotation id and
 * document id, the order SQLite reads them in), so a large training set is
 * never one result in memory. The pages are read in one REPEATABLE READ
 * transaction when this is the outermost one: one snapshot, as SQLite's
 * single statement reads, so an upload published meanwhile is in the set
 * entirely or not at all.
 */
int pg_job_documents(struct db_conn *c, int64_t id, db_doc_fn fn, void *ctx, struct err *err)
{
    int64_t after_ann = 0, after_doc = 0;
    int outermost = c->depth == 0;
    PGresult *r = NULL;

    if (db_begin(c, err) != 0)
        return -1;
    if (outermost && pg_exec(c, STMT_JOB_SNAPSHOT, err, "") != 0)
        goto fail;
    for (;;) {
        int n;

        r = pg_run(c, STMT_JOB_DOCS, err, "iiii", id, after_ann, after_doc,
                   (int64_t)JOB_DOCS_PAGE);
        if (!r)
            goto fail;
        n = PQntuples(r);
        for (int i = 0; i < n; i++)
            if (fn(ctx, pg_col_text(r, i, 0), pg_col_text(r, i, 1), pg_col_text(r, i, 2),
                   pg_col_text(r, i, 3), pg_col_text(r, i, 4)) != 0) {
                err_set(err, ERR_NOMEM, "out of memory while loading documents");
                goto fail;
            }
        if (n < JOB_DOCS_PAGE)
            break;
        after_ann = pg_col_int(r, n - 1, 5);
        after_doc = pg_col_int(r, n - 1, 6);
        PQclear(r);
        r = NULL;
    }
    PQclear(r);
    return db_commit(c, err);
fail:
    PQclear(r);
    db_rollback(c);
    return -1;
}

int pg_job_progress(struct db_conn *c, int64_t id, double pct, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return job_write(c, id, STMT_JOB_PROGRESS, err, "idt", id, pct, now) < 0 ? -1 : 0;
}

int pg_job_ready(struct db_conn *c, int64_t id, double score, const char *metrics,
                 const char *warnings, const char *artifact, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return (int)job_write(c, id, STMT_JOB_READY, err, "idtttt", id, score, metrics, artifact, now,
                          warnings);
}

int pg_job_failed(struct db_conn *c, int64_t id, const char *reason, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return (int)job_write(c, id, STMT_JOB_FAILED, err, "itt", id, reason, now);
}
