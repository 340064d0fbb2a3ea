/* SPDX-License-Identifier: MIT */
/*
 * sqlite/conn.c: the SQLite backend's connections and statement machinery
 * (see internal.h): open with its pragmas, the pool, statements prepared
 * lazily with SQLITE_PREPARE_PERSISTENT, the binder, the outermost
 * transaction (BEGIN IMMEDIATE) and the FIFO write turn, the writer thread
 * that runs db_write in shared commits (group commit), and the backend's
 * table of operations.
 *
 * Every statement binds its parameters; after use it is reset and its
 * bindings cleared. Any result other than ROW/DONE becomes an err carrying
 * sqlite3_errmsg (logged by the caller, never sent to clients).
 * Durability: WAL with synchronous=FULL, so a committed transaction survives
 * a crash or power loss.
 */
#include "internal.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "migrate.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define X_SQL(name, sql) sql,
static const char *const stmt_sql[STMT_COUNT] = {DB_STATEMENTS(X_SQL)};
#undef X_SQL

/*
 * The write turn: every write of this process (a transaction, or one
 * statement outside one) first takes a ticket and waits for it to be served,
 * so writers get the SQLite write lock in arrival order. SQLite's own busy
 * handler sleeps and polls; a writer that commits and begins again at once
 * (an upload writing its batches) would then win the lock over and over
 * while another writer sleeps. With tickets, a writer waits at most for the
 * transactions that arrived before it. (One daemon per database: the busy
 * timeout still covers the CLI writing beside a daemon.)
 */
struct sq_db {
    struct db base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sq_conn *conns;
    int n_conns;
    struct sq_conn *free_list;
    pthread_mutex_t wmu;
    pthread_cond_t wcv;
    unsigned long long wnext, wserving;
    /* The writer (group commit, see sq_write); guarded by gmu. */
    pthread_mutex_t gmu;
    pthread_cond_t gwork; /* a write was queued, or closing */
    pthread_cond_t gdone; /* a batch has completed */
    struct sq_write *qhead, **qtail;
    int wstarted, wclosing;
    int wheld; /* test hook (db_write_hold): the writer waits */
    unsigned long long n_queued;
    pthread_t writer;
    unsigned long long n_writes, n_commits, max_batch;
};

/* One db_write waiting for the writer (on its caller's stack). */
struct sq_write {
    db_write_fn fn;
    void *ctx;
    struct err err;
    int rc;
    int done; /* guarded by gmu; once set, the caller may return */
    struct sq_write *next;
};

static struct sq_conn *sq(struct db_conn *c)
{
    return (struct sq_conn *)c;
}

static struct sq_db *sq_of(struct db *db)
{
    return (struct sq_db *)db;
}

/* ---- statements and the binder ---------------------------------------------- */

int sq_fail(struct db_conn *c, struct err *err)
{
    sqlite3 *h = sq(c)->h;
    int code = sqlite3_extended_errcode(h);

    if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
        err_set(err, ERR_CONFLICT, "unique constraint: %s", sqlite3_errmsg(h));
    else if ((code & 0xff) == SQLITE_CONSTRAINT)
        err_set(err, ERR_INVALID, "constraint: %s", sqlite3_errmsg(h));
    else
        err_set(err, ERR_INTERNAL, "sqlite: %s", sqlite3_errmsg(h));
    return -1;
}

sqlite3_stmt *sq_stmt(struct db_conn *c, enum stmt_id id, struct err *err)
{
    struct sq_conn *s = sq(c);

    assert(id >= 0 && id < STMT_COUNT);
    /* the rollbacks never fail: they are how every failure is cleaned up */
    if (id != STMT_ROLLBACK && id != STMT_ROLLBACK_TO && id != STMT_SP_DROP &&
        db_fault_fires()) {
        err_set(err, ERR_INTERNAL, "injected storage fault");
        return NULL;
    }
    if (!s->st[id]) {
        if (sqlite3_prepare_v3(s->h, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->st[id],
                               NULL) != SQLITE_OK) {
            sq_fail(c, err);
            return NULL;
        }
    }
    assert(sqlite3_stmt_busy(s->st[id]) == 0); /* every use ended with sq_done */
    return s->st[id];
}

void sq_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

void sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void write_turn_take(struct sq_conn *s)
{
    struct sq_db *db = sq_of(s->base.db);
    unsigned long long ticket;

    assert(!s->wlocked);
    pthread_mutex_lock(&db->wmu);
    ticket = db->wnext++;
    while (ticket != db->wserving)
        pthread_cond_wait(&db->wcv, &db->wmu);
    pthread_mutex_unlock(&db->wmu);
    s->wlocked = 1;
}

static void write_turn_give(struct sq_conn *s)
{
    struct sq_db *db = sq_of(s->base.db);

    assert(s->wlocked);
    s->wlocked = 0;
    pthread_mutex_lock(&db->wmu);
    assert(db->wserving < db->wnext); /* the turn being given was taken */
    db->wserving++;
    pthread_cond_broadcast(&db->wcv);
    pthread_mutex_unlock(&db->wmu);
}

/* A write outside a transaction takes the write turn for its own duration. */
int sq_step_done(struct db_conn *c, sqlite3_stmt *st, struct err *err)
{
    struct sq_conn *s = sq(c);
    int own_turn = !s->wlocked && !sqlite3_stmt_readonly(st);
    int rc;

    if (own_turn)
        write_turn_take(s);
    rc = sqlite3_step(st);
    if (own_turn)
        write_turn_give(s);

    if (rc != SQLITE_DONE) {
        sq_fail(c, err);
        sq_done(st);
        return -1;
    }
    sq_done(st);
    return 0;
}

int sq_step_row(struct db_conn *c, sqlite3_stmt *st, const char *not_found, struct err *err)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        err_set(err, ERR_NOT_FOUND, "%s", not_found);
    else
        sq_fail(c, err);
    sq_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int64_t sq_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sq_changes(struct db_conn *c)
{
    return sqlite3_changes(sq(c)->h);
}

int64_t sq_insert(struct db_conn *c, sqlite3_stmt *st, struct err *err)
{
    if (sq_step_done(c, st, err) != 0)
        return -1;
    return (int64_t)sqlite3_last_insert_rowid(sq(c)->h);
}

static sqlite3_stmt *vprep(struct db_conn *c, enum stmt_id id, struct err *err, const char *fmt,
                           va_list ap)
{
    sqlite3_stmt *st = sq_stmt(c, id, err);

    /* one letter for each parameter of the statement */
    assert(!st || sqlite3_bind_parameter_count(st) == (int)strlen(fmt));
    for (int i = 1; st && fmt[i - 1]; i++) {
        switch (fmt[i - 1]) {
        case 'i':
            sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
            break;
        case 'z': {
            int64_t v = va_arg(ap, int64_t);
            if (v)
                sqlite3_bind_int64(st, i, v);
            else
                sqlite3_bind_null(st, i);
            break;
        }
        case 't':
            sq_bind_text(st, i, va_arg(ap, const char *));
            break;
        case 'd':
            sqlite3_bind_double(st, i, va_arg(ap, double));
            break;
        default:
            assert(!"unknown bind format letter");
        }
    }
    return st;
}

sqlite3_stmt *sq_prep(struct db_conn *c, enum stmt_id id, struct err *err, const char *fmt, ...)
{
    sqlite3_stmt *st;
    va_list ap;

    va_start(ap, fmt);
    st = vprep(c, id, err, fmt, ap);
    va_end(ap);
    return st;
}

int sq_exec(struct db_conn *c, enum stmt_id id, struct err *err, const char *fmt, ...)
{
    sqlite3_stmt *st;
    va_list ap;

    va_start(ap, fmt);
    st = vprep(c, id, err, fmt, ap);
    va_end(ap);
    return st ? sq_step_done(c, st, err) : -1;
}

int sq_row(struct db_conn *c, enum stmt_id id, sqlite3_stmt **out, const char *not_found,
           struct err *err, const char *fmt, ...)
{
    sqlite3_stmt *st;
    va_list ap;

    va_start(ap, fmt);
    st = vprep(c, id, err, fmt, ap);
    va_end(ap);
    *out = st;
    return st ? sq_step_row(c, st, not_found, err) : -1;
}

int sq_exists(struct db_conn *c, enum stmt_id id, struct err *err, const char *fmt, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    st = vprep(c, id, err, fmt, ap);
    va_end(ap);
    if (!st)
        return -1;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        sq_fail(c, err);
    sq_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int sq_exec_changed(struct db_conn *c, enum stmt_id id, struct err *err, const char *fmt, ...)
{
    sqlite3_stmt *st;
    va_list ap;

    va_start(ap, fmt);
    st = vprep(c, id, err, fmt, ap);
    va_end(ap);
    if (!st || sq_step_done(c, st, err) != 0)
        return -1;
    return sq_changes(c) > 0;
}

/* ---- columns ------------------------------------------------------------------ */

char *sq_col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);

    return s ? strdup((const char *)s) : NULL;
}

char *sq_col_opt(sqlite3_stmt *st, int i, int *ok)
{
    char *s = sq_col_dup(st, i);

    if (!s && sqlite3_column_type(st, i) != SQLITE_NULL)
        *ok = 0;
    return s;
}

int sq_copied(int ok, struct err *err)
{
    if (ok)
        return 0;
    err_set(err, ERR_NOMEM, "out of memory");
    return -1;
}

#define COL_ENUM(fn, type, parse, what)                                                          \
    int fn(sqlite3_stmt *st, int i, type *out, struct err *err)                                 \
    {                                                                                           \
        const char *s = (const char *)sqlite3_column_text(st, i);                               \
                                                                                                \
        if (parse(s, out) == 0)                                                                 \
            return 0;                                                                           \
        err_set(err, ERR_INTERNAL, "unknown " what " '%s' in the database", s ? s : "NULL");    \
        return -1;                                                                              \
    }
COL_ENUM(sq_col_status, enum model_status, domain_status_parse, "model status")
COL_ENUM(sq_col_type, enum model_type, domain_type_parse, "model type")
COL_ENUM(sq_col_language, enum language, domain_language_parse, "language")
COL_ENUM(sq_col_role, enum role, domain_role_parse, "role")

int sq_get(struct db_conn *c, enum stmt_id id, const char *not_found, sq_read_fn read,
           void (*clear)(void *elem), void *elem, size_t elem_size, struct err *err,
           const char *fmt, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    int rc;

    memset(elem, 0, elem_size);
    va_start(ap, fmt);
    st = vprep(c, id, err, fmt, ap);
    va_end(ap);
    if (!st || sq_step_row(c, st, not_found, err) != 1)
        return -1;
    rc = read(st, elem, err);
    sq_done(st);
    if (rc != 0)
        clear(elem);
    return rc;
}

int sq_rows(struct db_conn *c, sqlite3_stmt *st, size_t elem_size, size_t max, sq_read_fn read,
            void (*release)(void *elems, size_t n), void **out, size_t *n, int *more,
            struct err *err)
{
    char *items = NULL;
    size_t count = 0, cap = 0;
    int rc;

    assert(elem_size > 0);
    *out = NULL;
    *n = 0;
    if (more)
        *more = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char *grown;

        if (max && count == max) { /* one more row than wanted */
            if (more)
                *more = 1;
            rc = SQLITE_DONE;
            break;
        }
        grown = util_grow(items, &cap, count + 1, elem_size, 16);
        if (!grown) {
            sq_done(st);
            release(items, count);
            err_set(err, ERR_NOMEM, "out of memory");
            return -1;
        }
        items = grown;
        memset(items + count * elem_size, 0, elem_size);
        if (read(st, items + count * elem_size, err) != 0) {
            sq_done(st);
            release(items, count + 1);
            return -1;
        }
        count++;
    }
    if (rc != SQLITE_DONE)
        sq_fail(c, err);
    sq_done(st);
    if (rc != SQLITE_DONE) {
        release(items, count);
        return -1;
    }
    *out = items;
    *n = count;
    return 0;
}

/* ---- connections and the pool ---------------------------------------------------- */

static int conn_open(struct sq_conn *c, const char *path, struct err *err)
{
    static const char *const pragmas[] = {
        "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON",
        "PRAGMA busy_timeout = 10000"};

    if (sqlite3_open_v2(path, &c->h,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        err_set(err, ERR_IO, "cannot open database %s: %s", path,
                c->h ? sqlite3_errmsg(c->h) : "out of memory");
        sqlite3_close(c->h);
        c->h = NULL;
        return -1;
    }
    sqlite3_busy_timeout(c->h, 10000);
    for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(c->h, pragmas[i], -1, &st, NULL);

        if (rc == SQLITE_OK) {
            while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                ;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            err_set(err, ERR_IO, "cannot configure database %s: %s", path, sqlite3_errmsg(c->h));
            sqlite3_close(c->h);
            c->h = NULL;
            return -1;
        }
    }
    return 0;
}

static void conn_close(struct sq_conn *c)
{
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    sqlite3_close(c->h);
}

struct db *sq_open(const char *path, int pool_size, struct err *err)
{
    struct sq_db *db = NULL;

    /* Every connection to ":memory:" is a database of its own: only one can
     * be the migrated one that all threads share. */
    if (strcmp(path, ":memory:") == 0)
        pool_size = 1;
    else /* and one for the writer (sq_write) */
        pool_size = (pool_size < 1 ? 1 : pool_size) + 1;
    db = calloc(1, sizeof(*db));
    if (!db)
        goto nomem;
    db->conns = calloc((size_t)pool_size, sizeof(*db->conns));
    if (!db->conns)
        goto nomem;
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->cv, NULL);
    pthread_mutex_init(&db->wmu, NULL);
    pthread_cond_init(&db->wcv, NULL);
    pthread_mutex_init(&db->gmu, NULL);
    pthread_cond_init(&db->gwork, NULL);
    pthread_cond_init(&db->gdone, NULL);
    db->qtail = &db->qhead;
    for (int i = 0; i < pool_size; i++) {
        struct sq_conn *c = &db->conns[i];

        if (conn_open(c, path, err) != 0) {
            sq_close(&db->base);
            return NULL;
        }
        db->n_conns = i + 1;
        c->base.db = &db->base;
        if (i == 0 && migrate_apply(c->h, err) < 0) {
            sq_close(&db->base);
            return NULL;
        }
        c->next_free = db->free_list;
        db->free_list = c;
    }
    return &db->base;
nomem:
    free(db);
    err_set(err, ERR_NOMEM, "out of memory");
    return NULL;
}

void sq_close(struct db *base)
{
    struct sq_db *db = sq_of(base);

    pthread_mutex_lock(&db->gmu);
    db->wclosing = 1; /* the writer ends once nothing is queued */
    pthread_cond_signal(&db->gwork);
    pthread_mutex_unlock(&db->gmu);
    if (db->wstarted)
        pthread_join(db->writer, NULL);
    assert(!db->qhead);
    pthread_mutex_destroy(&db->gmu);
    pthread_cond_destroy(&db->gwork);
    pthread_cond_destroy(&db->gdone);
    for (int i = 0; i < db->n_conns; i++)
        conn_close(&db->conns[i]);
    free(db->conns);
    pthread_mutex_destroy(&db->mu);
    pthread_cond_destroy(&db->cv);
    pthread_mutex_destroy(&db->wmu);
    pthread_cond_destroy(&db->wcv);
    free(db);
}

struct db_conn *sq_acquire(struct db *base)
{
    struct sq_db *db = sq_of(base);
    struct sq_conn *c;

    pthread_mutex_lock(&db->mu);
    while (!db->free_list)
        pthread_cond_wait(&db->cv, &db->mu);
    c = db->free_list;
    db->free_list = c->next_free;
    c->next_free = NULL;
    pthread_mutex_unlock(&db->mu);
    assert(!c->wlocked && sqlite3_get_autocommit(c->h)); /* given back idle */
    return &c->base;
}

void sq_release(struct db_conn *base)
{
    struct sq_conn *c = sq(base);
    struct sq_db *db = sq_of(base->db);

    assert(!c->wlocked && sqlite3_get_autocommit(c->h)); /* no transaction left open */
    pthread_mutex_lock(&db->mu);
    c->next_free = db->free_list;
    db->free_list = c;
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

/* ---- transactions -------------------------------------------------------------------- */

int sq_begin(struct db_conn *c, struct err *err)
{
    sqlite3_stmt *st = sq_stmt(c, STMT_BEGIN, err);

    if (!st)
        return -1;
    write_turn_take(sq(c));
    if (sq_step_done(c, st, err) != 0) {
        write_turn_give(sq(c));
        return -1;
    }
    return 0;
}

void sq_rollback(struct db_conn *c)
{
    sqlite3_stmt *st;

    assert(sq(c)->wlocked); /* an open transaction holds the write turn */
    if (!sqlite3_get_autocommit(sq(c)->h) && (st = sq_stmt(c, STMT_ROLLBACK, NULL)))
        sq_step_done(c, st, NULL);
    write_turn_give(sq(c));
}

int sq_commit(struct db_conn *c, struct err *err)
{
    sqlite3_stmt *st;

    assert(sq(c)->wlocked); /* an open transaction holds the write turn */
    st = sq_stmt(c, STMT_COMMIT, err);
    if (!st || sq_step_done(c, st, err) != 0) {
        sq_rollback(c);
        return -1;
    }
    write_turn_give(sq(c));
    return 0;
}

/* ---- the writer (group commit) ----------------------------------------------------
 *
 * SQLite does a few thousand durable commits a second on an ordinary disk, and
 * about a hundred thousand rows a second when many rows share a commit: the
 * number of commits is the limit, not the rows. So every db_write goes to one
 * writer thread. It takes every write waiting, runs them in one transaction
 * (BEGIN IMMEDIATE, through the write turn like any writer), each inside its
 * own savepoint so that a failing write (a taken name) undoes only its own
 * work, commits once (synchronous=FULL: one fsync of the WAL), and only then
 * completes them: their callers return, and a 201 goes out, after the commit.
 * While a batch runs the next one queues, so the batch grows with the load.
 * A write that ends the whole transaction (SQLite rolls back by itself on
 * some errors: the connection is in autocommit again) or a failed COMMIT
 * fails every write of the batch; none was acknowledged. Readers never wait
 * for the writer: WAL readers see the last commit.
 */

/* Undo the current write: back to its savepoint, which is then dropped.
 * 0, or -1 when that failed (the transaction is then in doubt). */
static int write_undo(struct db_conn *c)
{
    if (sqlite3_get_autocommit(sq(c)->h))
        return -1;
    if (sq_exec(c, STMT_ROLLBACK_TO, NULL, "") != 0 || sq_exec(c, STMT_SP_DROP, NULL, "") != 0)
        return -1;
    return 0;
}

/* Fail w (and the writes after it, when all) with err's text, unless it
 * already failed on its own. */
static void write_fail(struct sq_write *w, const struct err *err, int all)
{
    for (; w; w = all ? w->next : NULL) {
        if (w->rc == 0) {
            w->rc = -1;
            w->err = *err;
        }
    }
}

/* Run one batch in one transaction; returns how many writes it held. */
static size_t batch_run(struct sq_db *db, struct sq_write *batch)
{
    struct db_conn *c = db_acquire(&db->base);
    struct err err = {0};
    struct sq_write *w;
    size_t n = 0;

    for (w = batch; w; w = w->next)
        n++;
    if (db_begin(c, &err) != 0) {
        write_fail(batch, &err, 1);
        goto out;
    }
    for (w = batch; w; w = w->next) {
        int lost;

        if (sq_exec(c, STMT_SAVEPOINT, &w->err, "") != 0) {
            w->rc = -1;
            lost = sqlite3_get_autocommit(sq(c)->h);
        } else {
            w->rc = db_write_run(c, w->fn, w->ctx, &w->err);
            if (w->rc == 0 && sq_exec(c, STMT_RELEASE, &w->err, "") != 0)
                w->rc = -1;
            lost = w->rc != 0 && write_undo(c) != 0;
        }
        if (lost) { /* the transaction is gone, or in doubt: nothing of it stands */
            err_set(&err, ERR_INTERNAL, "the write's transaction was rolled back (%s)",
                    w->err.msg);
            write_fail(batch, &err, 1);
            db_rollback(c);
            goto out;
        }
    }
    if (db_commit(c, &err) != 0)
        write_fail(batch, &err, 1);
out:
    db_release(&db->base, c);
    return n;
}

/* The writer thread: take the whole queue, run it as one batch, complete
 * it; until sq_close asks it to end and nothing is queued. */
static void *writer_main(void *arg)
{
    struct sq_db *db = arg;

    pthread_mutex_lock(&db->gmu);
    for (;;) {
        struct sq_write *batch, *w, *next;
        size_t n;

        while ((!db->qhead || db->wheld) && !db->wclosing)
            pthread_cond_wait(&db->gwork, &db->gmu);
        if (!db->qhead)
            break; /* closing, and nothing left to write */
        batch = db->qhead;
        db->qhead = NULL;
        db->qtail = &db->qhead;
        db->n_queued = 0;
        pthread_mutex_unlock(&db->gmu);
        n = batch_run(db, batch);
        pthread_mutex_lock(&db->gmu);
        db->n_writes += n;
        db->n_commits++;
        if (n > db->max_batch)
            db->max_batch = n;
        for (w = batch; w; w = next) {
            next = w->next; /* once done is set, w may be gone */
            w->done = 1;
        }
        pthread_cond_broadcast(&db->gdone);
    }
    pthread_mutex_unlock(&db->gmu);
    return NULL;
}

/* db_write: queue fn and wait until the batch that ran it has completed;
 * the first write starts the writer. */
int sq_write(struct db *base, db_write_fn fn, void *ctx, struct err *err)
{
    struct sq_db *db = sq_of(base);
    struct sq_write w = {.fn = fn, .ctx = ctx};

    pthread_mutex_lock(&db->gmu);
    assert(!db->wclosing && "db_write after db_close");
    assert(!db->wstarted || !pthread_equal(db->writer, pthread_self()));
    if (!db->wstarted) { /* started on first use: the CLI mostly never writes */
        if (pthread_create(&db->writer, NULL, writer_main, db) != 0) {
            pthread_mutex_unlock(&db->gmu);
            err_set(err, ERR_INTERNAL, "cannot start the database writer thread");
            return -1;
        }
        db->wstarted = 1;
    }
    *db->qtail = &w;
    db->qtail = &w.next;
    db->n_queued++;
    pthread_cond_signal(&db->gwork);
    while (!w.done)
        pthread_cond_wait(&db->gdone, &db->gmu);
    pthread_mutex_unlock(&db->gmu);
    if (w.rc == 0)
        return 0;
    if (err)
        *err = w.err;
    return -1;
}

void sq_write_stats(struct db *base, struct db_write_stats *out)
{
    struct sq_db *db = sq_of(base);

    pthread_mutex_lock(&db->gmu);
    out->writes = db->n_writes;
    out->commits = db->n_commits;
    out->max_batch = db->max_batch;
    out->queued = db->n_queued;
    pthread_mutex_unlock(&db->gmu);
}

/* db_write_hold: the writer's wait condition also waits while held. */
void sq_write_hold(struct db *base, int hold)
{
    struct sq_db *db = sq_of(base);

    pthread_mutex_lock(&db->gmu);
    db->wheld = hold;
    pthread_cond_signal(&db->gwork);
    pthread_mutex_unlock(&db->gmu);
}

/* ---- schema and gauges ------------------------------------------------------------- */

int sq_schema_latest(void)
{
    return migrate_latest();
}

int sq_schema_missing(struct db_conn *c, struct err *err)
{
    sqlite3_stmt *st;
    int n;

    if (sq_row(c, STMT_SCHEMA_MISSING, &st, "no schema", err, "ii", (int64_t)migrate_latest(),
               (int64_t)migrate_count()) != 1)
        return -1;
    n = sqlite3_column_int(st, 0);
    sq_done(st);
    return n;
}

int sq_models_by_status(struct db_conn *c, const char *const *names, long long *counts,
                        struct err *err)
{
    sqlite3_stmt *st = sq_stmt(c, STMT_MODELS_BY_STATUS, err);
    int rc;

    if (!st)
        return -1;
    for (size_t i = 0; names[i]; i++)
        counts[i] = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        for (size_t i = 0; s && names[i]; i++)
            if (strcmp(names[i], s) == 0)
                counts[i] = sqlite3_column_int64(st, 1);
    }
    sq_done(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(c, err);
}

/* ---- the table ------------------------------------------------------------------------- */

const struct db_backend_ops db_sqlite_backend = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .acquire = sq_acquire,
    .release = sq_release,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .write = sq_write,
    .write_stats = sq_write_stats,
    .write_hold = sq_write_hold,
    .schema_latest = sq_schema_latest,
    .schema_missing = sq_schema_missing,
    .models_by_status = sq_models_by_status,
    .workspace_create = sq_workspace_create,
    .project_create = sq_project_create,
    .user_create = sq_user_create,
    .token_create = sq_token_create,
    .token_revoke = sq_token_revoke,
    .member_add = sq_member_add,
    .token_lookup = sq_token_lookup,
    .member_role = sq_member_role,
    .auth_epoch = sq_auth_epoch,
    .user_list = sq_user_list,
    .user_set_disabled = sq_user_set_disabled,
    .token_list = sq_token_list,
    .token_revoke_id = sq_token_revoke_id,
    .token_revoke_user = sq_token_revoke_user,
    .token_touch = sq_token_touch,
    .member_list = sq_member_list,
    .member_set = sq_member_set,
    .member_remove = sq_member_remove,
    .project_list_for_user = sq_project_list_for_user,
    .annotation_create = sq_annotation_create,
    .annotation_get = sq_annotation_get,
    .annotation_meta = sq_annotation_meta,
    .annotation_list = sq_annotation_list,
    .upload_open = sq_upload_open,
    .upload_write = sq_upload_write,
    .upload_publish = sq_upload_publish,
    .upload_discard = sq_upload_discard,
    .upload_cleanup = sq_upload_cleanup,
    .idem_begin = sq_idem_begin,
    .idem_unmark = sq_idem_unmark,
    .idem_put = sq_idem_put,
    .model_create = sq_model_create,
    .model_get = sq_model_get,
    .model_list = sq_model_list,
    .model_base_info = sq_model_base_info,
    .base_create = sq_base_create,
    .base_list = sq_base_list,
    .model_patch = sq_model_patch,
    .model_delete = sq_model_delete,
    .model_status = sq_model_status,
    .daemon_heartbeat = sq_daemon_heartbeat,
    .daemon_leave = sq_daemon_leave,
    .daemon_jobs = sq_daemon_jobs,
    .job_rescue = sq_job_rescue,
    .job_enqueue = sq_job_enqueue,
    .job_requeue = sq_job_requeue,
    .job_claim = sq_job_claim,
    .job_get = sq_job_get,
    .job_documents = sq_job_documents,
    .job_progress = sq_job_progress,
    .job_ready = sq_job_ready,
    .job_failed = sq_job_failed,
    .session_create = sq_session_create,
    .session_get = sq_session_get,
    .session_delete = sq_session_delete,
};
