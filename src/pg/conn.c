/* SPDX-License-Identifier: MIT */
/*
 * pg/conn.c: the PostgreSQL backend's connections and statement machinery
 * (see internal.h): open (the first connection applies the migrations), the
 * pool (connections are made on first use, so an idle daemon holds few of
 * the server's max_connections, and a lost one is made again at the next
 * acquire), statements prepared lazily per connection, the binder and the
 * SQLSTATE mapping, the outermost transaction, db_write (BEGIN; fn; COMMIT
 * on the caller's thread, again after a serialization failure or a
 * deadlock), and the backend's table of operations.
 *
 * PostgreSQL commits concurrently and durably on its own (synchronous_commit
 * is the server's business), so there is no writer thread and no write turn
 * here: each db_write is its own transaction.
 */
#include "internal.h"

#include <assert.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define X_SQL(name, sql) sql,
static const char *const stmt_sql[PG_STMT_COUNT] = {PG_STATEMENTS(X_SQL)};
#undef X_SQL
#define X_NAME(name, sql) #name,
static const char *const stmt_name[PG_STMT_COUNT] = {PG_STATEMENTS(X_NAME)};
#undef X_NAME

/* Most parameters a statement takes (asserted). */
#define MAX_PARAMS 24
/* How many times db_write runs fn when serialization failures or deadlocks
 * keep undoing it. */
#define WRITE_TRIES 5

/* ---- connections -------------------------------------------------------------- */

/* libpq prints server notices (CREATE TABLE IF NOT EXISTS ... skipping) on
 * stderr by default; the daemon has its own log and nothing to say. */
static void notice_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* libpq's message on one line, into out: its lines joined with "; ", the
 * trailing newline dropped. */
static void one_line(const char *msg, char *out, size_t size)
{
    size_t n = 0;

    for (const char *p = msg; *p && n + 3 < size; p++) {
        if (*p == '\n') {
            while (p[1] == '\t' || p[1] == ' ')
                p++;
            if (p[1]) {
                out[n++] = ';';
                out[n++] = ' ';
            }
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

PGconn *pg_connect(const char *conninfo, struct err *err)
{
    PGconn *h = PQconnectdb(conninfo);
    char msg[400];

    if (!h) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (PQstatus(h) != CONNECTION_OK) {
        /* libpq's message names the host and port, never the password */
        one_line(PQerrorMessage(h), msg, sizeof(msg));
        err_set(err, ERR_IO, "cannot connect to PostgreSQL: %s", msg);
        PQfinish(h);
        return NULL;
    }
    PQsetNoticeProcessor(h, notice_quiet, NULL);
    return h;
}

/* Make c's server connection usable: open it the first time, open a new
 * one when it was lost (its prepared statements are gone with it). 0, or
 * -1 with err. */
static int conn_ready(struct pg_conn *s, struct err *err)
{
    struct pg_db *db = pg_db_of(s->base.db);

    if (s->h && PQstatus(s->h) == CONNECTION_OK)
        return 0;
    memset(s->prepared, 0, sizeof(s->prepared));
    s->in_tx = 0;
    if (s->h) {
        PQfinish(s->h);
        s->h = NULL;
    }
    s->h = pg_connect(db->conninfo, err);
    if (!s->h)
        return -1;
    pthread_mutex_lock(&db->mu);
    db->pids[s - db->conns] = PQbackendPID(s->h);
    pthread_mutex_unlock(&db->mu);
    return 0;
}

int pg_own_pid(struct pg_db *db, int pid)
{
    int own = 0;

    pthread_mutex_lock(&db->mu);
    for (int i = 0; i < db->n_conns && !own; i++)
        own = db->pids[i] == pid;
    pthread_mutex_unlock(&db->mu);
    return own;
}

/* ---- errors ------------------------------------------------------------------- */

/* Fill err from a failed result r (may be NULL: then the connection's
 * message); remembers whether the failure is worth running the write again.
 * Returns -1. */
static int fail(struct pg_conn *s, const PGresult *r, struct err *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : NULL;
    char text[300];

    if (!msg || !*msg)
        msg = s->h ? PQerrorMessage(s->h) : "no connection";
    one_line(msg, text, sizeof(text));
    s->retry = state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0);
    if (state && strcmp(state, "23505") == 0)
        err_set(err, ERR_CONFLICT, "unique constraint: %s", text);
    else if (state && (strcmp(state, "23503") == 0 || strcmp(state, "23502") == 0 ||
                       strcmp(state, "23514") == 0))
        err_set(err, ERR_INVALID, "constraint: %s", text);
    else if (s->h && PQstatus(s->h) != CONNECTION_OK)
        err_set(err, ERR_INTERNAL, "postgresql: connection lost: %s", text);
    else
        err_set(err, ERR_INTERNAL, "postgresql: %s%s%s", state ? state : "", state ? " " : "",
                text);
    return -1;
}

/* ---- the binder ------------------------------------------------------------------ */

PGresult *pg_vrun(struct db_conn *c, enum pg_stmt id, struct err *err, const char *fmt,
                  va_list ap)
{
    struct pg_conn *s = pg_conn_of(c);
    char nums[MAX_PARAMS][32];
    const char *values[MAX_PARAMS];
    int lengths[MAX_PARAMS], formats[MAX_PARAMS];
    int n = (int)strlen(fmt);
    PGresult *r;
    ExecStatusType st;

    assert(id >= 0 && id < PG_STMT_COUNT);
    assert(n <= MAX_PARAMS);
    /* the rollback never fails: it is how every failure is cleaned up */
    if (id != STMT_ROLLBACK && db_fault_fires()) {
        err_set(err, ERR_INTERNAL, "injected storage fault");
        return NULL;
    }
    if (!s->h || PQstatus(s->h) != CONNECTION_OK) {
        if (s->in_tx) { /* the transaction died with the connection */
            err_set(err, ERR_INTERNAL, "postgresql: connection lost in a transaction");
            return NULL;
        }
        if (conn_ready(s, err) != 0)
            return NULL;
    }
    if (!s->prepared[id]) {
        r = PQprepare(s->h, stmt_name[id], stmt_sql[id], 0, NULL);
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
            fail(s, r, err);
            PQclear(r);
            return NULL;
        }
        PQclear(r);
        s->prepared[id] = 1;
    }
    for (int i = 0; i < n; i++) {
        lengths[i] = 0;
        formats[i] = 0;
        switch (fmt[i]) {
        case 'i':
            snprintf(nums[i], sizeof(nums[i]), "%" PRId64, va_arg(ap, int64_t));
            values[i] = nums[i];
            break;
        case 'z': {
            int64_t v = va_arg(ap, int64_t);

            snprintf(nums[i], sizeof(nums[i]), "%" PRId64, v);
            values[i] = v ? nums[i] : NULL;
            break;
        }
        case 't':
            values[i] = va_arg(ap, const char *);
            break;
        case 'd':
            /* 17 significant digits read back as the same double */
            snprintf(nums[i], sizeof(nums[i]), "%.17g", va_arg(ap, double));
            values[i] = nums[i];
            break;
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t len = va_arg(ap, size_t);

            assert(len <= INT32_MAX);
            values[i] = p;
            lengths[i] = (int)len;
            formats[i] = 1;
            break;
        }
        default:
            assert(!"unknown bind format letter");
            err_set(err, ERR_INTERNAL, "unknown bind format letter");
            return NULL;
        }
    }
    r = PQexecPrepared(s->h, stmt_name[id], n, values, lengths, formats, 0);
    st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fail(s, r, err);
        PQclear(r);
        return NULL;
    }
    return r;
}

PGresult *pg_run(struct db_conn *c, enum pg_stmt id, struct err *err, const char *fmt, ...)
{
    PGresult *r;
    va_list ap;

    va_start(ap, fmt);
    r = pg_vrun(c, id, err, fmt, ap);
    va_end(ap);
    return r;
}

int pg_exec(struct db_conn *c, enum pg_stmt id, struct err *err, const char *fmt, ...)
{
    PGresult *r;
    va_list ap;

    va_start(ap, fmt);
    r = pg_vrun(c, id, err, fmt, ap);
    va_end(ap);
    PQclear(r);
    return r ? 0 : -1;
}

int64_t pg_exec_count(struct db_conn *c, enum pg_stmt id, struct err *err, const char *fmt, ...)
{
    PGresult *r;
    va_list ap;
    int64_t n;

    va_start(ap, fmt);
    r = pg_vrun(c, id, err, fmt, ap);
    va_end(ap);
    if (!r)
        return -1;
    n = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return n;
}

/* The one-row contract of pg_row on a result already run. */
static int one_row(PGresult *r, PGresult **out, const char *not_found, struct err *err)
{
    *out = NULL;
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        err_set(err, ERR_NOT_FOUND, "%s", not_found);
        return 0;
    }
    *out = r;
    return 1;
}

int pg_row(struct db_conn *c, enum pg_stmt id, PGresult **out, const char *not_found,
           struct err *err, const char *fmt, ...)
{
    PGresult *r;
    va_list ap;

    va_start(ap, fmt);
    r = pg_vrun(c, id, err, fmt, ap);
    va_end(ap);
    return one_row(r, out, not_found, err);
}

int pg_exists(struct db_conn *c, enum pg_stmt id, struct err *err, const char *fmt, ...)
{
    PGresult *r;
    va_list ap;
    int found;

    va_start(ap, fmt);
    r = pg_vrun(c, id, err, fmt, ap);
    va_end(ap);
    if (!r)
        return -1;
    found = PQntuples(r) > 0;
    PQclear(r);
    return found;
}

int64_t pg_insert(struct db_conn *c, enum pg_stmt id, struct err *err, const char *fmt, ...)
{
    PGresult *r;
    va_list ap;
    int64_t v;

    va_start(ap, fmt);
    r = pg_vrun(c, id, err, fmt, ap);
    va_end(ap);
    if (one_row(r, &r, "no row inserted", err) != 1)
        return -1;
    v = pg_col_int(r, 0, 0);
    PQclear(r);
    return v;
}

/* ---- columns ------------------------------------------------------------------ */

int64_t pg_col_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double pg_col_double(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0.0 : strtod(PQgetvalue(r, row, col), NULL);
}

int pg_col_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col);
}

const char *pg_col_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

char *pg_col_dup(const PGresult *r, int row, int col)
{
    const char *s = pg_col_text(r, row, col);

    return s ? strdup(s) : NULL;
}

char *pg_col_opt(const PGresult *r, int row, int col, int *ok)
{
    char *s = pg_col_dup(r, row, col);

    if (!s && !PQgetisnull(r, row, col))
        *ok = 0;
    return s;
}

unsigned char *pg_col_bytea(const PGresult *r, int row, int col, size_t *len, int *ok)
{
    unsigned char *raw, *copy;
    size_t n = 0;

    *len = 0;
    if (PQgetisnull(r, row, col))
        return NULL;
    raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
    if (!raw) {
        *ok = 0;
        return NULL;
    }
    /* a buffer of ours, so that callers free() it like everything else */
    copy = malloc(n ? n : 1);
    if (copy)
        memcpy(copy, raw, n);
    else
        *ok = 0;
    PQfreemem(raw);
    if (copy)
        *len = n;
    return copy;
}

int pg_copied(int ok, struct err *err)
{
    if (ok)
        return 0;
    err_set(err, ERR_NOMEM, "out of memory");
    return -1;
}

#define COL_ENUM(fn, type, parse, what)                                                          \
    int fn(const PGresult *r, int row, int col, type *out, struct err *err)                     \
    {                                                                                           \
        const char *s = pg_col_text(r, row, col);                                               \
                                                                                                \
        if (parse(s, out) == 0)                                                                 \
            return 0;                                                                           \
        err_set(err, ERR_INTERNAL, "unknown " what " '%s' in the database", s ? s : "NULL");    \
        return -1;                                                                              \
    }
COL_ENUM(pg_col_status, enum model_status, domain_status_parse, "model status")
COL_ENUM(pg_col_type, enum model_type, domain_type_parse, "model type")
COL_ENUM(pg_col_language, enum language, domain_language_parse, "language")
COL_ENUM(pg_col_role, enum role, domain_role_parse, "role")

int pg_get(struct db_conn *c, enum pg_stmt id, const char *not_found, pg_read_fn read,
           void (*clear)(void *elem), void *elem, size_t elem_size, struct err *err,
           const char *fmt, ...)
{
    PGresult *r;
    va_list ap;
    int rc;

    memset(elem, 0, elem_size);
    va_start(ap, fmt);
    r = pg_vrun(c, id, err, fmt, ap);
    va_end(ap);
    if (one_row(r, &r, not_found, err) != 1)
        return -1;
    rc = read(r, 0, elem, err);
    PQclear(r);
    if (rc != 0)
        clear(elem);
    return rc;
}

int pg_rows(struct db_conn *c, enum pg_stmt id, size_t elem_size, size_t max, pg_read_fn read,
            void (*release)(void *elems, size_t n), void **out, size_t *n, int *more,
            struct err *err, const char *fmt, ...)
{
    char *items = NULL;
    size_t count, want, cap = 0;
    PGresult *r;
    va_list ap;

    assert(elem_size > 0);
    *out = NULL;
    *n = 0;
    if (more)
        *more = 0;
    va_start(ap, fmt);
    r = pg_vrun(c, id, err, fmt, ap);
    va_end(ap);
    if (!r)
        return -1;
    count = (size_t)PQntuples(r);
    want = max && count > max ? max : count;
    if (more && want < count)
        *more = 1;
    if (want > 0) {
        items = util_grow(NULL, &cap, want, elem_size, want);
        if (!items) {
            PQclear(r);
            err_set(err, ERR_NOMEM, "out of memory");
            return -1;
        }
    }
    for (size_t i = 0; i < want; i++) {
        memset(items + i * elem_size, 0, elem_size);
        if (read(r, (int)i, items + i * elem_size, err) != 0) {
            PQclear(r);
            release(items, i + 1);
            return -1;
        }
    }
    PQclear(r);
    *out = items;
    *n = want;
    return 0;
}

int pg_notify_model_as(struct db_conn *c, int64_t project_id, int64_t model_id,
                       enum db_model_change kind, struct err *err)
{
    char payload[64];

    snprintf(payload, sizeof(payload), "%" PRId64 " %" PRId64 "%s", project_id, model_id,
             kind == DB_MODEL_CREATED   ? " created"
             : kind == DB_MODEL_DELETED ? " deleted"
                                        : "");
    return pg_exec(c, STMT_NOTIFY, err, "tt", PG_CHANNEL_MODEL, payload);
}

int pg_notify_model(struct db_conn *c, int64_t project_id, int64_t model_id, struct err *err)
{
    return pg_notify_model_as(c, project_id, model_id, DB_MODEL_CHANGED, err);
}

/* ---- open, close and the pool ------------------------------------------------------ */

struct db *pg_open(const char *where, int pool_size, struct err *err)
{
    struct pg_db *db = NULL;

    if (pool_size < 1)
        pool_size = 1;
    db = calloc(1, sizeof(*db));
    if (!db)
        goto nomem;
    db->conninfo = strdup(where);
    db->conns = calloc((size_t)pool_size, sizeof(*db->conns));
    db->pids = calloc((size_t)pool_size, sizeof(*db->pids));
    if (!db->conninfo || !db->conns || !db->pids)
        goto nomem;
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->cv, NULL);
    db->n_conns = pool_size;
    for (int i = pool_size - 1; i >= 0; i--) {
        struct pg_conn *c = &db->conns[i];

        c->base.db = &db->base;
        c->next_free = db->free_list;
        db->free_list = c;
    }
    /* the first connection proves the server reachable and migrates */
    if (conn_ready(&db->conns[0], err) != 0 || pg_migrate_apply(db->conns[0].h, err) < 0) {
        pg_close(&db->base);
        return NULL;
    }
    return &db->base;
nomem:
    if (db) {
        free(db->conninfo);
        free(db->conns);
        free(db->pids);
    }
    free(db);
    err_set(err, ERR_NOMEM, "out of memory");
    return NULL;
}

void pg_close(struct db *base)
{
    struct pg_db *db = pg_db_of(base);

    pg_listen_stop(db->listen); /* no callback runs after this */
    for (int i = 0; i < db->n_conns; i++)
        if (db->conns[i].h)
            PQfinish(db->conns[i].h);
    free(db->conns);
    free(db->pids);
    pthread_mutex_destroy(&db->mu);
    pthread_cond_destroy(&db->cv);
    free(db->conninfo);
    free(db);
}

/* 0 when the server has closed idle connection h (a restart,
 * pg_terminate_backend), found before a statement fails on it: an idle
 * connection has nothing to read, so anything readable is consumed (a
 * closing server sends its FATAL message, then the end of the stream). */
static int conn_alive(PGconn *h)
{
    for (int i = 0; i < 4; i++) {
        struct pollfd p = {.fd = PQsocket(h), .events = POLLIN};

        if (p.fd < 0 || PQstatus(h) != CONNECTION_OK)
            return 0;
        if (poll(&p, 1, 0) <= 0)
            return 1;
        if (PQconsumeInput(h) == 0)
            return 0;
    }
    return PQstatus(h) == CONNECTION_OK;
}

/* A free connection (waits for one); made (again) when it is not usable:
 * if that fails, its statements fail until it can be made. */
struct db_conn *pg_acquire(struct db *base)
{
    struct pg_db *db = pg_db_of(base);
    struct pg_conn *c;

    pthread_mutex_lock(&db->mu);
    while (!db->free_list)
        pthread_cond_wait(&db->cv, &db->mu);
    c = db->free_list;
    db->free_list = c->next_free;
    c->next_free = NULL;
    pthread_mutex_unlock(&db->mu);
    assert(!c->in_tx); /* given back idle */
    if (c->h && !conn_alive(c->h)) {
        PQfinish(c->h);
        c->h = NULL;
    }
    conn_ready(c, NULL);
    return &c->base;
}

void pg_release(struct db_conn *base)
{
    struct pg_conn *c = pg_conn_of(base);
    struct pg_db *db = pg_db_of(base->db);

    assert(!c->in_tx); /* no transaction left open */
    pthread_mutex_lock(&db->mu);
    c->next_free = db->free_list;
    db->free_list = c;
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

/* ---- transactions -------------------------------------------------------------------- */

int pg_begin(struct db_conn *c, struct err *err)
{
    struct pg_conn *s = pg_conn_of(c);

    assert(!s->in_tx);
    s->retry = 0;
    if (pg_exec(c, STMT_BEGIN, err, "") != 0)
        return -1;
    s->in_tx = 1;
    return 0;
}

void pg_rollback(struct db_conn *c)
{
    struct pg_conn *s = pg_conn_of(c);

    assert(s->in_tx);
    if (s->h && PQstatus(s->h) == CONNECTION_OK && PQtransactionStatus(s->h) != PQTRANS_IDLE)
        pg_exec(c, STMT_ROLLBACK, NULL, "");
    s->in_tx = 0;
}

/* COMMIT of a transaction in which a statement failed answers "ROLLBACK":
 * that is a failure too. A COMMIT that did not end the transaction (never
 * sent: an injected fault) is followed by a ROLLBACK. */
int pg_commit(struct db_conn *c, struct err *err)
{
    struct pg_conn *s = pg_conn_of(c);
    PGresult *r;
    int rc = 0;

    assert(s->in_tx);
    r = pg_run(c, STMT_COMMIT, err, "");
    if (!r) {
        rc = -1;
    } else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
        err_set(err, ERR_INTERNAL, "postgresql: the transaction was rolled back");
        rc = -1;
    }
    PQclear(r);
    if (rc != 0)
        pg_rollback(c);
    s->in_tx = 0;
    return rc;
}

/* ---- db_write ----------------------------------------------------------------------- */

/* Sleep about 2^attempt milliseconds (with jitter, so two daemons that
 * deadlocked each other do not meet again at once). */
static void backoff(int attempt)
{
    long ms = (1L << attempt) + (long)(util_now_unix() % 3);
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

int pg_write(struct db *base, db_write_fn fn, void *ctx, struct err *err)
{
    struct pg_db *db = pg_db_of(base);
    int rc = -1;

    for (int attempt = 0; attempt < WRITE_TRIES; attempt++) {
        struct db_conn *c = db_acquire(base);
        int committed = 0, again;

        rc = db_begin(c, err);
        if (rc == 0) {
            rc = db_write_run(c, fn, ctx, err);
            if (rc == 0) {
                rc = db_commit(c, err);
                committed = rc == 0;
            } else {
                db_rollback(c);
            }
        }
        again = rc != 0 && pg_conn_of(c)->retry;
        db_release(base, c);
        pthread_mutex_lock(&db->mu);
        db->n_writes++;
        db->n_commits += (unsigned long long)committed;
        pthread_mutex_unlock(&db->mu);
        if (!again)
            break;
        backoff(attempt);
    }
    return rc;
}

void pg_write_stats(struct db *base, struct db_write_stats *out)
{
    struct pg_db *db = pg_db_of(base);

    pthread_mutex_lock(&db->mu);
    out->writes = db->n_writes;
    out->commits = db->n_commits;
    out->max_batch = db->n_commits ? 1 : 0; /* each write commits on its own */
    out->queued = 0;
    pthread_mutex_unlock(&db->mu);
}

/* ---- gauges ---------------------------------------------------------------------------- */

int pg_models_by_status(struct db_conn *c, const char *const *names, long long *counts,
                        struct err *err)
{
    PGresult *r = pg_run(c, STMT_MODELS_BY_STATUS, err, "");

    if (!r)
        return -1;
    for (size_t i = 0; names[i]; i++)
        counts[i] = 0;
    for (int row = 0; row < PQntuples(r); row++) {
        const char *s = pg_col_text(r, row, 0);

        for (size_t i = 0; s && names[i]; i++)
            if (strcmp(names[i], s) == 0)
                counts[i] = pg_col_int(r, row, 1);
    }
    PQclear(r);
    return 0;
}

/* ---- the table ------------------------------------------------------------------------- */

/* Operations not written yet are NULL: the dispatcher answers them with
 * ERR_INTERNAL until the backend is complete. */
const struct db_backend_ops db_pg_backend = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .acquire = pg_acquire,
    .release = pg_release,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .write = pg_write,
    .write_stats = pg_write_stats,
    .watch = pg_watch,
    .schema_latest = pg_schema_latest,
    .schema_missing = pg_schema_missing,
    .models_by_status = pg_models_by_status,
    .workspace_create = pg_workspace_create,
    .project_create = pg_project_create,
    .user_create = pg_user_create,
    .token_create = pg_token_create,
    .token_revoke = pg_token_revoke,
    .member_add = pg_member_add,
    .token_lookup = pg_token_lookup,
    .member_role = pg_member_role,
    .auth_epoch = pg_auth_epoch,
    .user_list = pg_user_list,
    .user_set_disabled = pg_user_set_disabled,
    .token_list = pg_token_list,
    .token_revoke_id = pg_token_revoke_id,
    .token_revoke_user = pg_token_revoke_user,
    .token_touch = pg_token_touch,
    .member_list = pg_member_list,
    .member_set = pg_member_set,
    .member_remove = pg_member_remove,
    .project_list_for_user = pg_project_list_for_user,
    .idem_begin = pg_idem_begin,
    .idem_unmark = pg_idem_unmark,
    .idem_put = pg_idem_put,
    .session_create = pg_session_create,
    .session_get = pg_session_get,
    .session_delete = pg_session_delete,
    /* documents.c, models.c, jobs.c */
    .annotation_create = pg_annotation_create,
    .annotation_get = pg_annotation_get,
    .annotation_meta = pg_annotation_meta,
    .annotation_list = pg_annotation_list,
    .upload_open = pg_upload_open,
    .upload_write = pg_upload_write,
    .upload_publish = pg_upload_publish,
    .upload_discard = pg_upload_discard,
    .upload_cleanup = pg_upload_cleanup,
    .model_create = pg_model_create,
    .model_get = pg_model_get,
    .model_list = pg_model_list,
    .model_base_info = pg_model_base_info,
    .base_create = pg_base_create,
    .base_list = pg_base_list,
    .model_patch = pg_model_patch,
    .model_delete = pg_model_delete,
    .model_status = pg_model_status,
    .daemon_heartbeat = pg_daemon_heartbeat,
    .daemon_leave = pg_daemon_leave,
    .daemon_jobs = pg_daemon_jobs,
    .job_rescue = pg_job_rescue,
    .job_enqueue = pg_job_enqueue,
    .job_requeue = pg_job_requeue,
    .job_claim = pg_job_claim,
    .job_get = pg_job_get,
    .job_documents = pg_job_documents,
    .job_progress = pg_job_progress,
    .job_ready = pg_job_ready,
    .job_failed = pg_job_failed,
    .artifact_put = pg_artifact_put,
    .artifact_get = pg_artifact_get,
};
