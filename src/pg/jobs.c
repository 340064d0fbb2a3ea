/* SPDX-License-Identifier: MIT */
/*
 * pg/jobs.c: the training queue on the models table, on PostgreSQL:
 * enqueue, claim (with this daemon's lease and the next attempt), the
 * daemons' leases (heartbeat, leave, the rescue of expired leases under an
 * advisory lock), requeue at stop, and the writes a worker makes about its
 * job (progress, READY, FAILED), each fenced by its attempt, with the
 * semantics of src/sqlite/jobs.c.
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

int pg_daemon_heartbeat(struct db_conn *c, struct err *err)
{
    const struct db *db = c->db;

    if (db_begin(c, err) != 0)
        return -1;
    if (pg_exec(c, STMT_DAEMON_UPSERT, err, "ti", db->daemon_id, db->lease_ms) != 0 ||
        pg_exec(c, STMT_DAEMON_RENEW_JOBS, err, "ti", db->daemon_id, db->lease_ms) != 0) {
        db_rollback(c);
        return -1;
    }
    return db_commit(c, err);
}

int pg_daemon_leave(struct db_conn *c, struct err *err)
{
    return pg_exec(c, STMT_DAEMON_DELETE, err, "t", c->db->daemon_id);
}

/* Row `row` of DAEMON_JOBS into elem (a struct db_lease). */
static int lease_read(const PGresult *r, int row, void *elem, struct err *err)
{
    struct db_lease *l = elem;

    (void)err;
    l->id = pg_col_int(r, row, 0);
    l->attempt = pg_col_int(r, row, 1);
    return 0;
}

static void leases_release(void *elems, size_t n)
{
    (void)n;
    free(elems);
}

int pg_daemon_jobs(struct db_conn *c, struct db_lease **out, size_t *n, struct err *err)
{
    void *rows = NULL;

    if (pg_rows(c, STMT_DAEMON_JOBS, sizeof(struct db_lease), 0, lease_read, leases_release,
                &rows, n, NULL, err, "t", c->db->daemon_id) != 0)
        return -1;
    *out = rows;
    return 0;
}

/*
 * One rescuer at a time: the transaction-scoped advisory lock PG_LOCK_RESCUE;
 * a daemon that does not get it skips this round (another is rescuing, and
 * the next heartbeat comes soon). Every row moved is announced.
 */
int pg_job_rescue(struct db_conn *c, int max_attempts, int all, struct err *err)
{
    char now[UTIL_TIME_LEN];
    PGresult *r = NULL;
    int64_t n, moved = 0;
    int got;

    util_now_rfc3339(now);
    if (db_begin(c, err) != 0)
        return -1;
    if (pg_row(c, STMT_RESCUE_LOCK, &r, "", err, "i", (int64_t)PG_LOCK_RESCUE) != 1)
        goto fail;
    got = strcmp(pg_col_text(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!got) /* nothing written: end the level cleanly (a rollback would fail db_write) */
        return db_commit(c, err) == 0 ? 0 : -1;
    if (pg_exec(c, STMT_DAEMONS_EXPIRED, err, "it", (int64_t)(all != 0), c->db->daemon_id) != 0)
        goto fail;
    n = job_write(c, 0, STMT_RESCUE_FAIL, err, "iit", (int64_t)(all != 0), (int64_t)max_attempts,
                  now);
    if (n < 0)
        goto fail;
    moved += n;
    n = job_write(c, 0, STMT_RESCUE_REQUEUE, err, "it", (int64_t)(all != 0), now);
    if (n < 0)
        goto fail;
    moved += n;
    n = job_write(c, 0, STMT_RESCUE_CREATED, err, "t", now);
    if (n < 0)
        goto fail;
    moved += n;
    if (db_commit(c, err) != 0)
        return -1;
    return (int)moved;
fail:
    db_rollback(c);
    return -1;
}

int pg_job_requeue(struct db_conn *c, int64_t id, int64_t attempt, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return (int)job_write(c, id, STMT_JOB_REQUEUE_ONE, err, "iit", id, attempt, now);
}

int pg_job_claim(struct db_conn *c, int64_t *id, int64_t *attempt, struct err *err)
{
    char now[UTIL_TIME_LEN];
    PGresult *r = NULL;
    int64_t found = 0, tries = 0;

    if (db_begin(c, err) != 0)
        return -1;
    util_now_rfc3339(now);
    switch (pg_row(c, STMT_JOB_CLAIM, &r, "", err, "tti", now, c->db->daemon_id,
                   c->db->lease_ms)) {
    case 1:
        found = pg_col_int(r, 0, 0);
        tries = pg_col_int(r, 0, 2);
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
    if (found) {
        *id = found;
        *attempt = tries;
    }
    return found ? 1 : 0;
fail:
    PQclear(r);
    db_rollback(c);
    return -1;
}

/* The end of a fenced write that changed no row: 0 when the attempt still
 * holds the job (the write had nothing to do), else -1 with ERR_FENCED. */
static int fence_check(struct db_conn *c, int64_t id, int64_t attempt, struct err *err)
{
    int held = pg_exists(c, STMT_JOB_HELD, err, "ii", id, attempt);

    if (held < 0)
        return -1;
    if (!held) {
        err_set(err, ERR_FENCED, "job %lld: attempt %lld no longer holds it", (long long)id,
                (long long)attempt);
        return -1;
    }
    return 0;
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
    out->attempt = pg_col_int(r, row, 6);
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

int pg_job_progress(struct db_conn *c, int64_t id, int64_t attempt, double pct,
                    struct err *err)
{
    char now[UTIL_TIME_LEN];
    int64_t n;

    util_now_rfc3339(now);
    n = job_write(c, id, STMT_JOB_PROGRESS, err, "idti", id, pct, now, attempt);
    if (n != 0)
        return n < 0 ? -1 : 0;
    return fence_check(c, id, attempt, err); /* not raised: still ours? */
}

int pg_job_ready(struct db_conn *c, int64_t id, int64_t attempt, double score,
                 const char *metrics, const char *warnings, const char *artifact,
                 struct err *err)
{
    char now[UTIL_TIME_LEN];
    int64_t n;

    util_now_rfc3339(now);
    n = job_write(c, id, STMT_JOB_READY, err, "idtttti", id, score, metrics, artifact, now,
                  warnings, attempt);
    if (n == 0) {
        err_set(err, ERR_FENCED, "job %lld: attempt %lld no longer holds it", (long long)id,
                (long long)attempt);
        return -1;
    }
    return n < 0 ? -1 : 1;
}

int pg_job_failed(struct db_conn *c, int64_t id, int64_t attempt, const char *reason,
                  struct err *err)
{
    char now[UTIL_TIME_LEN];
    int64_t n;

    util_now_rfc3339(now);
    if (attempt == 0)
        return (int)job_write(c, id, STMT_JOB_FAILED, err, "itt", id, reason, now);
    n = job_write(c, id, STMT_JOB_FAILED_HELD, err, "itti", id, reason, now, attempt);
    if (n == 0) {
        err_set(err, ERR_FENCED, "job %lld: attempt %lld no longer holds it", (long long)id,
                (long long)attempt);
        return -1;
    }
    return n < 0 ? -1 : 1;
}

/* ---- artifacts ------------------------------------------------------------------ */

int pg_artifact_put(struct db_conn *c, int64_t model_id, const void *bytes, size_t len,
                    const char *checksum, struct err *err)
{
    return pg_exec(c, STMT_ARTIFACT_PUT, err, "ibt", model_id, bytes, len, checksum);
}

int pg_artifact_get(struct db_conn *c, int64_t model_id, unsigned char **bytes, size_t *len,
                    char checksum[65], struct err *err)
{
    PGresult *r = NULL;
    const char *sum;
    int ok = 1;

    if (pg_row(c, STMT_ARTIFACT_GET, &r, "no stored artifact", err, "i", model_id) != 1)
        return -1;
    sum = pg_col_text(r, 0, 1);
    if (!sum || strlen(sum) != 64) {
        PQclear(r);
        err_set(err, ERR_CORRUPT, "model %lld: stored artifact has no checksum",
                (long long)model_id);
        return -1;
    }
    memcpy(checksum, sum, 65);
    *bytes = pg_col_bytea(r, 0, 0, len, &ok);
    PQclear(r);
    return pg_copied(ok && *bytes, err);
}
