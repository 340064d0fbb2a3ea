/* SPDX-License-Identifier: MIT */
/*
 * db: SQLite implementation of the storage interface (see db.h).
 *
 * Each connection keeps its prepared statements (an enum + SQL table below,
 * prepared lazily with SQLITE_PREPARE_PERSISTENT) and is used by one thread
 * at a time. Every statement binds its parameters; after use it is reset and
 * its bindings cleared. Any result other than ROW/DONE becomes an err carrying
 * sqlite3_errmsg (logged by the caller, never sent to clients).
 * Durability: WAL with synchronous=FULL, so a committed transaction survives
 * a crash or power loss.
 */
#include "db.h"

#include <assert.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "migrate.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define MODEL_COLS                                                                              \
    "m.id, m.uuid, m.name, m.display_name, m.language, m.base_name, m.created, m.updated, "     \
    "u.name, m.progress, m.project_id, m.score, m.short_description, m.long_description, "      \
    "m.status, m.type, m.failure_reason, m.queued_at, m.started_at, m.finished_at, m.metrics, " \
    "m.warnings "                                                                              \
    "FROM models m LEFT JOIN users u ON u.id = m.owner_id "

#define DB_STATEMENTS(X)                                                                        \
    X(BEGIN, "BEGIN IMMEDIATE")                                                                 \
    X(MODELS_BY_STATUS, "SELECT status, COUNT(*) FROM models WHERE type <> 'BASE' GROUP BY status") \
    X(SCHEMA_MISSING,                                                                           \
      "SELECT ?1 - COUNT(*) FROM schema_migrations WHERE version BETWEEN 1 AND ?1")             \
    X(COMMIT, "COMMIT")                                                                         \
    X(ROLLBACK, "ROLLBACK")                                                                     \
    X(WS_INSERT, "INSERT INTO workspaces (name, created) VALUES (?1, ?2)")                      \
    X(PROJECT_INSERT, "INSERT INTO projects (workspace_id, name, created) VALUES (?1, ?2, ?3)") \
    X(USER_INSERT, "INSERT INTO users (name, read_only, created) VALUES (?1, ?2, ?3)")          \
    X(TOKEN_INSERT,                                                                             \
      "INSERT INTO tokens (user_id, hash, created, expires_at) VALUES (?1, ?2, ?3, ?4)")        \
    X(TOKEN_FIND_ACTIVE, "SELECT id FROM tokens WHERE hash = ?1 AND revoked_at IS NULL")        \
    X(TOKEN_REVOKE, "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1")                          \
    X(MEMBER_UPSERT,                                                                            \
      "INSERT INTO members (project_id, user_id, role) VALUES (?1, ?2, ?3) "                    \
      "ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role")                    \
    X(TOKEN_LOOKUP,                                                                             \
      "SELECT u.id, u.name, u.read_only FROM tokens t JOIN users u ON u.id = t.user_id "        \
      "WHERE t.hash = ?1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?2)") \
    X(MEMBER_ROLE,                                                                              \
      "SELECT m.role, p.workspace_id FROM members m JOIN projects p ON p.id = m.project_id "    \
      "WHERE m.project_id = ?1 AND m.user_id = ?2")                                             \
    X(ANN_INSERT,                                                                               \
      "INSERT INTO annotations (project_id, name, type, language, created_by, created) "        \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                                        \
    X(ANN_GET,                                                                                  \
      "SELECT a.id, a.project_id, a.name, a.type, a.language, a.created, "                      \
      "a.document_count FROM annotations a WHERE a.project_id = ?1 AND a.id = ?2")                               \
    X(ANN_LIST,                                                                                 \
      "SELECT a.id, a.project_id, a.name, a.type, a.language, a.created, "                      \
      "a.document_count FROM annotations a WHERE a.project_id = ?1 ORDER BY a.id DESC")                          \
    X(ANN_LABELS,                                                                               \
      "SELECT kind, name, count FROM annotation_labels WHERE annotation_id = ?1 "               \
      "ORDER BY kind, count DESC, name")                                                        \
    X(UPLOAD_LABEL_COUNT,                                                                       \
      "INSERT INTO upload_labels (upload_id, kind, name, count) VALUES (?1, ?2, ?3, 1) "        \
      "ON CONFLICT (upload_id, kind, name) DO UPDATE SET count = count + 1")                     \
    X(DOC_INSERT,                                                                               \
      "INSERT INTO documents (annotation_id, external_id, text, class, labels, aspects, "       \
      "upload_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                                         \
    X(UPLOAD_INSERT, "INSERT INTO uploads (annotation_id, created) VALUES (?1, ?2)")           \
    X(UPLOAD_ADD_DOCS,                                                                          \
      "UPDATE uploads SET documents = documents + ?2 WHERE id = ?1 AND published = 0")         \
    X(UPLOAD_GET, "SELECT annotation_id, documents FROM uploads WHERE id = ?1 AND published = 0") \
    X(UPLOAD_PUBLISH, "UPDATE uploads SET published = 1 WHERE id = ?1 AND published = 0")      \
    X(UPLOAD_MERGE_LABELS,                                                                      \
      "INSERT INTO annotation_labels (annotation_id, kind, name, count) "                      \
      "SELECT ?2, kind, name, count FROM upload_labels WHERE upload_id = ?1 "                   \
      "ON CONFLICT (annotation_id, kind, name) DO UPDATE "                                      \
      "SET count = annotation_labels.count + excluded.count")                                   \
    X(UPLOAD_DROP_LABELS, "DELETE FROM upload_labels WHERE upload_id = ?1")                    \
    X(ANN_ADD_DOCS, "UPDATE annotations SET document_count = document_count + ?2 WHERE id = ?1") \
    X(UPLOAD_DISCARD_DOCS,                                                                      \
      "DELETE FROM documents WHERE id IN "                                                      \
      "(SELECT id FROM documents WHERE upload_id = ?1 LIMIT ?2)")                               \
    X(UPLOAD_DELETE, "DELETE FROM uploads WHERE id = ?1 AND published = 0")                    \
    X(UPLOAD_UNPUBLISHED, "SELECT id FROM uploads WHERE published = 0 ORDER BY id LIMIT 1")    \
    X(IDEM_GET,                                                                                 \
      "SELECT request_hash, status, location, body FROM idempotency_keys "                     \
      "WHERE user_id = ?1 AND key = ?2 AND created > ?3")                                       \
    X(IDEM_PUT,                                                                                 \
      "INSERT INTO idempotency_keys (user_id, key, request_hash, status, location, body, "      \
      "created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (user_id, key) DO UPDATE SET "  \
      "request_hash = excluded.request_hash, status = excluded.status, "                       \
      "location = excluded.location, body = excluded.body, created = excluded.created")        \
    X(IDEM_PURGE,                                                                               \
      "DELETE FROM idempotency_keys WHERE rowid IN "                                            \
      "(SELECT rowid FROM idempotency_keys WHERE created <= ?1 LIMIT 64)")                      \
    X(MODEL_INSERT,                                                                             \
      "INSERT INTO models (uuid, workspace_id, project_id, name, display_name, language, type, " \
      "base_id, base_name, owner_id, status, progress, short_description, long_description, "   \
      "created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'CREATED', 0, ?11, "  \
      "?12, ?13, ?13)")                                                                         \
    X(MODEL_ANN_INSERT,                                                                         \
      "INSERT INTO model_annotations (model_id, annotation_id, role) VALUES (?1, ?2, ?3)")      \
    X(MODEL_NAME_TAKEN, "SELECT 1 FROM models WHERE workspace_id = ?1 AND name = ?2")           \
    X(MODEL_GET, "SELECT " MODEL_COLS "WHERE m.project_id = ?1 AND m.id = ?2")                  \
    X(MODEL_LIST,                                                                               \
      "SELECT " MODEL_COLS "WHERE m.project_id = ?1 AND (?2 IS NULL OR m.status = ?2) "         \
      "AND (?3 IS NULL OR m.type = ?3) AND (?4 IS NULL OR m.language = ?4) "                    \
      "AND (?5 = 0 OR m.id < ?5) ORDER BY m.id DESC LIMIT ?6")                                  \
    X(MODEL_BASE_INFO,                                                                          \
      "SELECT id, name, language, type, status, artifact, COALESCE(workspace_id, 0), "          \
      "COALESCE(project_id, 0) FROM models WHERE id = ?1")                                      \
    X(BASE_INSERT,                                                                              \
      "INSERT INTO models (uuid, name, display_name, language, type, base_id, base_name, "      \
      "status, progress, artifact, created, updated) VALUES (?1, ?2, ?2, ?3, 'BASE', ?4, ?5, "  \
      "'READY', 100, ?6, ?7, ?7)")                                                              \
    X(BASE_NAME_TAKEN, "SELECT 1 FROM models WHERE type = 'BASE' AND name = ?1")                \
    X(BASE_LIST,                                                                                \
      "SELECT id, uuid, name, language, created, base_id, base_name, artifact IS NOT NULL "     \
      "FROM models WHERE type = 'BASE' ORDER BY id")                                            \
    X(MODEL_STATUS,                                                                             \
      "SELECT status, artifact FROM models WHERE project_id = ?1 AND id = ?2")                  \
    X(MODEL_SET_STATUS, "UPDATE models SET status = ?2, updated = ?3 WHERE id = ?1")            \
    X(MODEL_SET_DISPLAY, "UPDATE models SET display_name = ?2, updated = ?3 WHERE id = ?1")     \
    X(MODEL_SET_SHORT, "UPDATE models SET short_description = ?2, updated = ?3 WHERE id = ?1")  \
    X(MODEL_SET_LONG, "UPDATE models SET long_description = ?2, updated = ?3 WHERE id = ?1")    \
    X(MODEL_DELETE, "DELETE FROM models WHERE id = ?1")                                         \
    X(JOB_ENQUEUE,                                                                              \
      "UPDATE models SET status = 'QUEUED', queued_at = ?2, updated = ?2 "                      \
      "WHERE id = ?1 AND status = 'CREATED'")                                                   \
    X(JOB_REQUEUE_ALL,                                                                          \
      "UPDATE models SET status = 'QUEUED', started_at = NULL, "                                \
      "queued_at = COALESCE(queued_at, ?1), updated = ?1 "                                      \
      "WHERE status IN ('CREATED', 'QUEUED', 'TRAINING')")                                      \
    X(JOB_REQUEUE_ONE,                                                                          \
      "UPDATE models SET status = 'QUEUED', started_at = NULL, updated = ?2 "                   \
      "WHERE id = ?1 AND status = 'TRAINING'")                                                  \
    X(JOB_NEXT,                                                                                 \
      "SELECT id FROM models WHERE status = 'QUEUED' ORDER BY queued_at, id LIMIT 1")          \
    X(JOB_START,                                                                                \
      "UPDATE models SET status = 'TRAINING', started_at = ?2, updated = ?2 "                   \
      "WHERE id = ?1 AND status = 'QUEUED'")                                                    \
    X(JOB_GET,                                                                                  \
      "SELECT m.id, m.uuid, m.type, m.language, b.artifact, m.status FROM models m "            \
      "LEFT JOIN models b ON b.id = m.base_id WHERE m.id = ?1")                                 \
    X(JOB_DOCS,                                                                                 \
      "SELECT ma.role, d.text, d.class, d.labels, d.aspects FROM model_annotations ma "         \
      "JOIN documents d ON d.annotation_id = ma.annotation_id "                                 \
      "LEFT JOIN uploads up ON up.id = d.upload_id WHERE ma.model_id = ?1 "                     \
      "AND (d.upload_id IS NULL OR up.published = 1) ORDER BY ma.annotation_id, d.id")                                                        \
    X(JOB_PROGRESS,                                                                             \
      "UPDATE models SET progress = ?2, updated = ?3 "                                          \
      "WHERE id = ?1 AND status = 'TRAINING' AND progress < ?2")                                \
    X(JOB_READY,                                                                                \
      "UPDATE models SET status = 'READY', progress = 100, score = ?2, metrics = ?3, "          \
      "artifact = ?4, failure_reason = NULL, finished_at = ?5, updated = ?5, warnings = ?6 "    \
      "WHERE id = ?1 AND status = 'TRAINING'")                                                  \
    X(JOB_FAILED,                                                                               \
      "UPDATE models SET status = 'FAILED', failure_reason = ?2, finished_at = ?3, "            \
      "updated = ?3 WHERE id = ?1 AND status IN ('CREATED', 'QUEUED', 'TRAINING')")

#define X_ENUM(name, sql) STMT_##name,
#define X_SQL(name, sql) sql,
enum stmt_id { DB_STATEMENTS(X_ENUM) STMT_COUNT };
static const char *const stmt_sql[STMT_COUNT] = {DB_STATEMENTS(X_SQL)};

struct db_conn {
    sqlite3 *h;
    sqlite3_stmt *st[STMT_COUNT];
    struct db_conn *next_free;
    struct db *db;
    int depth;   /* db_begin nesting: only the outermost begins and commits */
    int failed;  /* an inner level rolled back: the outermost commit rolls back */
    int wlocked; /* holds the daemon's write turn */
};

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
struct db {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct db_conn *conns;
    int n_conns;
    struct db_conn *free_list;
    pthread_mutex_t wmu;
    pthread_cond_t wcv;
    unsigned long long wnext, wserving;
};

/* ---- connection plumbing -------------------------------------------------- */

static int sql_fail(struct db_conn *c, struct err *err)
{
    int code = sqlite3_extended_errcode(c->h);

    if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
        err_set(err, ERR_CONFLICT, "unique constraint: %s", sqlite3_errmsg(c->h));
    else if ((code & 0xff) == SQLITE_CONSTRAINT)
        err_set(err, ERR_INVALID, "constraint: %s", sqlite3_errmsg(c->h));
    else
        err_set(err, ERR_INTERNAL, "sqlite: %s", sqlite3_errmsg(c->h));
    return -1;
}

/* The prepared statement id, reset and with cleared bindings; NULL on error. */
/* Storage fault injection (db_fault_inject): the countdown to the statement
 * that fails; 0 = off. */
static atomic_long fault_countdown;

void db_fault_inject(long n)
{
    atomic_store(&fault_countdown, n > 0 ? n : 0);
}

long db_fault_pending(void)
{
    return atomic_load(&fault_countdown);
}

/* 1 when this statement is the one to fail (ROLLBACK never fails: it is how
 * every failure is cleaned up). */
static int fault_fires(enum stmt_id id)
{
    long v = atomic_load(&fault_countdown);

    while (v > 0 && id != STMT_ROLLBACK) {
        if (atomic_compare_exchange_weak(&fault_countdown, &v, v - 1))
            return v == 1;
    }
    return 0;
}

static sqlite3_stmt *stmt(struct db_conn *c, enum stmt_id id, struct err *err)
{
    assert(id >= 0 && id < STMT_COUNT);
    if (fault_fires(id)) {
        err_set(err, ERR_INTERNAL, "injected storage fault");
        return NULL;
    }
    if (!c->st[id]) {
        if (sqlite3_prepare_v3(c->h, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id],
                               NULL) != SQLITE_OK) {
            sql_fail(c, err);
            return NULL;
        }
    }
    return c->st[id];
}

static void done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void write_turn_take(struct db_conn *c)
{
    struct db *db = c->db;
    unsigned long long ticket;

    assert(!c->wlocked);
    pthread_mutex_lock(&db->wmu);
    ticket = db->wnext++;
    while (ticket != db->wserving)
        pthread_cond_wait(&db->wcv, &db->wmu);
    pthread_mutex_unlock(&db->wmu);
    c->wlocked = 1;
}

static void write_turn_give(struct db_conn *c)
{
    struct db *db = c->db;

    assert(c->wlocked);
    c->wlocked = 0;
    pthread_mutex_lock(&db->wmu);
    assert(db->wserving < db->wnext); /* the turn being given was taken */
    db->wserving++;
    pthread_cond_broadcast(&db->wcv);
    pthread_mutex_unlock(&db->wmu);
}

/* Step a statement that returns no row; 0 on DONE. A write outside a
 * transaction takes the write turn for its own duration. */
static int step_done(struct db_conn *c, sqlite3_stmt *st, struct err *err)
{
    int own_turn = c->db && !c->wlocked && !sqlite3_stmt_readonly(st);
    int rc;

    if (own_turn)
        write_turn_take(c);
    rc = sqlite3_step(st);
    if (own_turn)
        write_turn_give(c);

    if (rc != SQLITE_DONE) {
        sql_fail(c, err);
        done(st);
        return -1;
    }
    done(st);
    return 0;
}

/*
 * Step a statement that returns at most one row. Returns 1 when there is a
 * row (read its columns, then call done(st)); 0 when there is none, with
 * ERR_NOT_FOUND and the message not_found; -1 on error. Unless it returns 1,
 * st is already reset.
 */
static int step_row(struct db_conn *c, sqlite3_stmt *st, const char *not_found, struct err *err)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        err_set(err, ERR_NOT_FOUND, "%s", not_found);
    else
        sql_fail(c, err);
    done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);

    return s ? strdup((const char *)s) : NULL;
}

/* Enum columns: the stored name parsed; ERR_INTERNAL for a name the domain
 * does not know (a database written by something else). */
#define COL_ENUM(fn, type, parse, what)                                                          \
    static int fn(sqlite3_stmt *st, int i, type *out, struct err *err)                          \
    {                                                                                           \
        const char *s = (const char *)sqlite3_column_text(st, i);                               \
                                                                                                \
        if (parse(s, out) == 0)                                                                 \
            return 0;                                                                           \
        err_set(err, ERR_INTERNAL, "unknown " what " '%s' in the database", s ? s : "NULL");    \
        return -1;                                                                              \
    }
COL_ENUM(col_status, enum model_status, domain_status_parse, "model status")
COL_ENUM(col_type, enum model_type, domain_type_parse, "model type")
COL_ENUM(col_language, enum language, domain_language_parse, "language")
COL_ENUM(col_role, enum role, domain_role_parse, "role")

static json_t *col_json_str(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);

    return s ? json_string((const char *)s) : json_null();
}

static int conn_open(struct db_conn *c, const char *path, struct err *err)
{
    static const char *const pragmas[] = {
        "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON",
        "PRAGMA busy_timeout = 10000"};

    memset(c, 0, sizeof(*c));
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

static void conn_close(struct db_conn *c)
{
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    sqlite3_close(c->h);
}

struct db *db_open(const char *path, int pool_size, struct err *err)
{
    struct db *db = NULL;

    /* Every connection to ":memory:" is a database of its own: only one can
     * be the migrated one that all threads share. */
    if (pool_size < 1 || strcmp(path, ":memory:") == 0)
        pool_size = 1;
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
    for (int i = 0; i < pool_size; i++) {
        if (conn_open(&db->conns[i], path, err) != 0) {
            db_close(db);
            return NULL;
        }
        db->n_conns = i + 1;
        db->conns[i].db = db;
        if (i == 0 && migrate_apply(db->conns[0].h, err) < 0) {
            db_close(db);
            return NULL;
        }
        db->conns[i].next_free = db->free_list;
        db->free_list = &db->conns[i];
    }
    return db;
nomem:
    if (db)
        free(db);
    err_set(err, ERR_NOMEM, "out of memory");
    return NULL;
}

void db_close(struct db *db)
{
    if (!db)
        return;
    for (int i = 0; i < db->n_conns; i++)
        conn_close(&db->conns[i]);
    free(db->conns);
    pthread_mutex_destroy(&db->mu);
    pthread_cond_destroy(&db->cv);
    pthread_mutex_destroy(&db->wmu);
    pthread_cond_destroy(&db->wcv);
    free(db);
}

/* Connections the calling thread holds: a thread that takes a second one
 * while holding one can deadlock the pool (every thread waiting for a free
 * connection while holding one), so it is an invariant that it never does. */
static _Thread_local int conns_held;

struct db_conn *db_acquire(struct db *db)
{
    struct db_conn *c;

    assert(conns_held == 0 && "a thread holds one database connection at a time");
    conns_held++;
    pthread_mutex_lock(&db->mu);
    while (!db->free_list)
        pthread_cond_wait(&db->cv, &db->mu);
    c = db->free_list;
    db->free_list = c->next_free;
    c->next_free = NULL;
    pthread_mutex_unlock(&db->mu);
    return c;
}

void db_release(struct db *db, struct db_conn *c)
{
    if (!c)
        return;
    assert(conns_held == 1);
    conns_held--;
    if (c->depth > 0 || !sqlite3_get_autocommit(c->h)) { /* a caller forgot to end it */
        assert(!"transaction left open");
        while (c->depth > 0)
            db_rollback(c);
    }
    pthread_mutex_lock(&db->mu);
    c->next_free = db->free_list;
    db->free_list = c;
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

int db_models_by_status(struct db_conn *c, const char *const *names, long long *counts,
                        struct err *err)
{
    sqlite3_stmt *st = stmt(c, STMT_MODELS_BY_STATUS, err);
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
    if (rc != SQLITE_DONE) {
        sql_fail(c, err);
        done(st);
        return -1;
    }
    done(st);
    return 0;
}

int db_schema_latest(void)
{
    return migrate_latest();
}

int db_schema_missing(struct db_conn *c, struct err *err)
{
    int latest = migrate_latest();
    sqlite3_stmt *st = stmt(c, STMT_SCHEMA_MISSING, err);
    int n;

    if (!st)
        return -1;
    sqlite3_bind_int(st, 1, latest);
    if (step_row(c, st, "no schema", err) != 1)
        return -1;
    n = sqlite3_column_int(st, 0);
    done(st);
    return n;
}

int db_begin(struct db_conn *c, struct err *err)
{
    sqlite3_stmt *st;

    if (c->depth > 0) { /* nested: part of the outer transaction */
        c->depth++;
        return 0;
    }
    st = stmt(c, STMT_BEGIN, err);
    if (!st)
        return -1;
    write_turn_take(c);
    if (step_done(c, st, err) != 0) {
        write_turn_give(c);
        return -1;
    }
    c->depth = 1;
    c->failed = 0;
    return 0;
}

/* End the outermost transaction: ROLLBACK (when still open) and give the turn. */
static void tx_end(struct db_conn *c)
{
    sqlite3_stmt *st;

    if (!sqlite3_get_autocommit(c->h) && (st = stmt(c, STMT_ROLLBACK, NULL)))
        step_done(c, st, NULL);
    c->depth = 0;
    c->failed = 0;
    write_turn_give(c);
}

int db_commit(struct db_conn *c, struct err *err)
{
    sqlite3_stmt *st;

    assert(c->depth == 0 || c->wlocked); /* an open transaction holds the write turn */
    if (c->depth > 1) {
        c->depth--;
        if (c->failed) {
            err_set(err, ERR_INTERNAL, "an inner step of the transaction failed");
            return -1;
        }
        return 0;
    }
    if (c->depth == 0) {
        err_set(err, ERR_INTERNAL, "commit without a transaction");
        return -1;
    }
    if (c->failed) {
        tx_end(c);
        err_set(err, ERR_INTERNAL, "an inner step of the transaction failed");
        return -1;
    }
    st = stmt(c, STMT_COMMIT, err);
    if (!st || step_done(c, st, err) != 0) {
        tx_end(c);
        return -1;
    }
    tx_end(c);
    return 0;
}

void db_rollback(struct db_conn *c)
{
    if (c->depth == 0)
        return;
    if (c->depth > 1) {
        c->depth--;
        c->failed = 1;
        return;
    }
    tx_end(c);
}

/* Run an INSERT and return the new rowid, or -1. */
static int64_t insert(struct db_conn *c, sqlite3_stmt *st, struct err *err)
{
    if (step_done(c, st, err) != 0)
        return -1;
    return (int64_t)sqlite3_last_insert_rowid(c->h);
}

/*
 * The one way statements get their parameters: prep() takes the statement id
 * and binds parameters 1..n from fmt, one letter each:
 *   i  int64_t             t  const char * (NULL binds NULL)
 *   d  double              z  int64_t, 0 binds NULL (optional ids and times)
 * exec() also steps a statement that returns no row; the callers read
 * sqlite3_changes through changes() when the row count matters.
 */
static sqlite3_stmt *vprep(struct db_conn *c, enum stmt_id id, struct err *err, const char *fmt,
                           va_list ap)
{
    sqlite3_stmt *st = stmt(c, id, err);

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
            bind_text(st, i, va_arg(ap, const char *));
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

static sqlite3_stmt *prep(struct db_conn *c, enum stmt_id id, struct err *err, const char *fmt,
                          ...)
{
    sqlite3_stmt *st;
    va_list ap;

    va_start(ap, fmt);
    st = vprep(c, id, err, fmt, ap);
    va_end(ap);
    return st;
}

static int exec(struct db_conn *c, enum stmt_id id, struct err *err, const char *fmt, ...)
{
    sqlite3_stmt *st;
    va_list ap;

    va_start(ap, fmt);
    st = vprep(c, id, err, fmt, ap);
    va_end(ap);
    return st ? step_done(c, st, err) : -1;
}

/* prep, then step to the one row the statement returns: 1 with *out on the
 * row (read its columns, then done(*out)); 0 when there is none, with
 * ERR_NOT_FOUND and the message not_found; -1 on error. */
static int row(struct db_conn *c, enum stmt_id id, sqlite3_stmt **out, const char *not_found,
               struct err *err, const char *fmt, ...)
{
    sqlite3_stmt *st;
    va_list ap;

    va_start(ap, fmt);
    st = vprep(c, id, err, fmt, ap);
    va_end(ap);
    *out = st;
    return st ? step_row(c, st, not_found, err) : -1;
}

/* exec, then whether it changed a row: 1 yes, 0 no, -1 error. */
static int exec_changed(struct db_conn *c, enum stmt_id id, struct err *err, const char *fmt,
                        ...)
{
    sqlite3_stmt *st;
    va_list ap;

    va_start(ap, fmt);
    st = vprep(c, id, err, fmt, ap);
    va_end(ap);
    if (!st || step_done(c, st, err) != 0)
        return -1;
    return sqlite3_changes(c->h) > 0;
}

/* ---- admin --------------------------------------------------------------- */

int64_t db_workspace_create(struct db_conn *c, const char *name, struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;

    util_now_rfc3339(now);
    st = prep(c, STMT_WS_INSERT, err, "tt", name, now);
    return st ? insert(c, st, err) : -1;
}

int64_t db_project_create(struct db_conn *c, int64_t workspace_id, const char *name,
                          struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;
    int64_t id;

    util_now_rfc3339(now);
    st = prep(c, STMT_PROJECT_INSERT, err, "itt", workspace_id, name, now);
    id = st ? insert(c, st, err) : -1;
    if (id < 0 && err && err->code == ERR_INVALID)
        err_set(err, ERR_NOT_FOUND, "no workspace %lld", (long long)workspace_id);
    return id;
}

int64_t db_user_create(struct db_conn *c, const char *name, int read_only, struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;
    int64_t id;

    util_now_rfc3339(now);
    st = prep(c, STMT_USER_INSERT, err, "tit", name, (int64_t)(read_only ? 1 : 0), now);
    id = st ? insert(c, st, err) : -1;
    if (id < 0 && err && err->code == ERR_CONFLICT)
        err_set(err, ERR_CONFLICT, "a user named '%s' already exists", name);
    return id;
}

int64_t db_token_create(struct db_conn *c, int64_t user_id, const char *hash, int64_t expires_at,
                        struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;
    int64_t id;

    util_now_rfc3339(now);
    st = prep(c, STMT_TOKEN_INSERT, err, "ittz", user_id, hash, now,
              expires_at > 0 ? expires_at : (int64_t)0);
    id = st ? insert(c, st, err) : -1;
    if (id < 0 && err && err->code == ERR_INVALID)
        err_set(err, ERR_NOT_FOUND, "no user %lld", (long long)user_id);
    return id;
}

int64_t db_token_revoke(struct db_conn *c, const char *hash, struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st = stmt(c, STMT_TOKEN_FIND_ACTIVE, err);
    int64_t id = -1;
    int rc;

    if (!st)
        return -1;
    bind_text(st, 1, hash);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        sql_fail(c, err);
    done(st);
    if (rc == SQLITE_DONE)
        err_set(err, ERR_NOT_FOUND, "no such active token");
    if (id < 0)
        return -1;
    st = stmt(c, STMT_TOKEN_REVOKE, err);
    if (!st)
        return -1;
    util_now_rfc3339(now);
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, now);
    return step_done(c, st, err) == 0 ? id : -1;
}

int db_member_add(struct db_conn *c, int64_t project_id, int64_t user_id, const char *role,
                  struct err *err)
{
    if (exec(c, STMT_MEMBER_UPSERT, err, "iit", project_id, user_id, role) != 0) {
        if (err && err->code == ERR_INVALID)
            err_set(err, ERR_NOT_FOUND, "no project %lld or no user %lld",
                    (long long)project_id, (long long)user_id);
        return -1;
    }
    return 0;
}

/* ---- auth ---------------------------------------------------------------- */

void db_caller_release(struct db_caller *c)
{
    if (!c)
        return;
    free(c->user_name);
    c->user_name = NULL;
}

int db_token_lookup(struct db_conn *c, const char *hash, int64_t now, struct db_caller *out,
                    struct err *err)
{
    sqlite3_stmt *st = stmt(c, STMT_TOKEN_LOOKUP, err);
    int rc;

    if (!st)
        return -1;
    bind_text(st, 1, hash);
    sqlite3_bind_int64(st, 2, now);
    rc = step_row(c, st, "the token is unknown, revoked or expired", err);
    if (rc == 0)
        err_set(err, ERR_UNAUTHORIZED, "the token is unknown, revoked or expired");
    if (rc != 1)
        return -1;
    out->user_id = sqlite3_column_int64(st, 0);
    out->user_name = col_dup(st, 1);
    out->read_only = sqlite3_column_int(st, 2);
    done(st);
    if (!out->user_name) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    return 0;
}

int db_member_role(struct db_conn *c, int64_t project_id, int64_t user_id, enum role *role,
                   int64_t *workspace_id, struct err *err)
{
    sqlite3_stmt *st;
    int rc;

    if (row(c, STMT_MEMBER_ROLE, &st, "no role in project", err, "ii", project_id, user_id) != 1)
        return -1;
    rc = col_role(st, 0, role, err);
    if (workspace_id)
        *workspace_id = sqlite3_column_int64(st, 1);
    done(st);
    return rc;
}

/* ---- labeling sessions ----------------------------------------------------- */

int64_t db_annotation_create(struct db_conn *c, int64_t project_id, const char *name,
                             const char *type, const char *language, int64_t user_id,
                             struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st = stmt(c, STMT_ANN_INSERT, err);

    if (!st)
        return -1;
    util_now_rfc3339(now);
    sqlite3_bind_int64(st, 1, project_id);
    bind_text(st, 2, name);
    bind_text(st, 3, type);
    bind_text(st, 4, language);
    if (user_id > 0)
        sqlite3_bind_int64(st, 5, user_id);
    else
        sqlite3_bind_null(st, 5);
    bind_text(st, 6, now);
    return insert(c, st, err);
}

void db_annotation_release(struct db_annotation *a)
{
    if (!a)
        return;
    free(a->name);
    free(a->created);
    for (size_t i = 0; i < a->n_labels; i++)
        free(a->labels[i].name);
    free(a->labels);
    memset(a, 0, sizeof(*a));
}

void db_annotations_release(struct db_annotation *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        db_annotation_release(&a[i]);
    free(a);
}

/* The session row st is on (ANN_GET / ANN_LIST columns) into out. */
static int annotation_row(sqlite3_stmt *st, struct db_annotation *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_column_int64(st, 0);
    out->project_id = sqlite3_column_int64(st, 1);
    out->name = col_dup(st, 2);
    out->created = col_dup(st, 5);
    out->document_count = sqlite3_column_int64(st, 6);
    if (col_type(st, 3, &out->type, err) != 0 || col_language(st, 4, &out->language, err) != 0)
        return -1;
    if (!out->name || !out->created) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    return 0;
}

/* The session's label inventory from annotation_labels into a->labels. */
static int annotation_inventory(struct db_conn *c, struct db_annotation *a, struct err *err)
{
    static const char *const kinds[] = {"class", "label", "category", "polarity"};
    sqlite3_stmt *st = prep(c, STMT_ANN_LABELS, err, "i", a->id);
    size_t cap = 0;
    int rc;

    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(st, 0);
        struct db_label_count *l = util_grow(a->labels, &cap, a->n_labels + 1, sizeof(*l), 16);
        int k = 0;

        if (!l) {
            done(st);
            err_set(err, ERR_NOMEM, "out of memory");
            return -1;
        }
        a->labels = l;
        while (k < 3 && strcmp(kinds[k], kind ? kind : "") != 0)
            k++;
        l = &a->labels[a->n_labels];
        l->kind = (enum label_kind)k;
        l->count = sqlite3_column_int64(st, 2);
        l->name = col_dup(st, 1);
        if (!l->name) {
            done(st);
            err_set(err, ERR_NOMEM, "out of memory");
            return -1;
        }
        a->n_labels++;
    }
    done(st);
    return rc == SQLITE_DONE ? 0 : sql_fail(c, err);
}

/* Add one count to the session's inventory (inside the caller's transaction). */
static int count_label(struct db_conn *c, int64_t upload_id, const char *kind, const char *name,
                       struct err *err)
{
    return exec(c, STMT_UPLOAD_LABEL_COUNT, err, "itt", upload_id, kind, name);
}

int db_annotation_get(struct db_conn *c, int64_t project_id, int64_t id,
                      struct db_annotation *out, struct err *err)
{
    sqlite3_stmt *st;
    char what[96];
    int rc;

    memset(out, 0, sizeof(*out));
    snprintf(what, sizeof(what), "no labeling session %lld in this project", (long long)id);
    if (row(c, STMT_ANN_GET, &st, what, err, "ii", project_id, id) != 1)
        return -1;
    rc = annotation_row(st, out, err);
    done(st);
    if (rc == 0)
        rc = annotation_inventory(c, out, err);
    if (rc != 0)
        db_annotation_release(out);
    return rc;
}

int db_annotation_meta(struct db_conn *c, int64_t project_id, int64_t id, enum model_type *type,
                       enum language *language, struct err *err)
{
    sqlite3_stmt *st;
    char what[96];

    snprintf(what, sizeof(what), "no labeling session %lld in this project", (long long)id);
    if (row(c, STMT_ANN_GET, &st, what, err, "ii", project_id, id) != 1)
        return -1;
    {
        int rc = col_type(st, 3, type, err) == 0 && col_language(st, 4, language, err) == 0 ? 0
                                                                                          : -1;
        done(st);
        return rc;
    }
}

int db_annotation_list(struct db_conn *c, int64_t project_id, struct db_annotation **out,
                       size_t *n, struct err *err)
{
    sqlite3_stmt *st = prep(c, STMT_ANN_LIST, err, "i", project_id);
    struct db_annotation *items = NULL;
    size_t count = 0, cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct db_annotation *grown = util_grow(items, &cap, count + 1, sizeof(*items), 16);

        if (!grown) {
            done(st);
            db_annotations_release(items, count);
            err_set(err, ERR_NOMEM, "out of memory");
            return -1;
        }
        items = grown;
        if (annotation_row(st, &items[count], err) != 0) {
            done(st);
            db_annotations_release(items, count + 1);
            return -1;
        }
        count++;
    }
    done(st);
    if (rc != SQLITE_DONE) {
        sql_fail(c, err);
        db_annotations_release(items, count);
        return -1;
    }
    /* each session's inventory (one indexed read per session) */
    for (size_t i = 0; i < count; i++)
        if (annotation_inventory(c, &items[i], err) != 0) {
            db_annotations_release(items, count);
            return -1;
        }
    *out = items;
    *n = count;
    return 0;
}

/* Count a staged document's class, labels and aspects into its upload's inventory. */
static int count_document_labels(struct db_conn *c, int64_t upload_id, const struct db_doc *d,
                                 struct err *err)
{
    json_t *arr = NULL, *v;
    size_t i;
    int rc = 0;

    if (d->cls && count_label(c, upload_id, "class", d->cls, err) != 0)
        return -1;
    if (d->labels && (arr = json_loads(d->labels, 0, NULL))) {
        json_array_foreach(arr, i, v)
        {
            if (rc == 0 && json_is_string(v))
                rc = count_label(c, upload_id, "label", json_string_value(v), err);
        }
        json_decref(arr);
    }
    if (rc == 0 && d->aspects && (arr = json_loads(d->aspects, 0, NULL))) {
        json_array_foreach(arr, i, v)
        {
            const char *cat = json_string_value(json_object_get(v, "category"));
            const char *pol = json_string_value(json_object_get(v, "polarity"));

            if (rc == 0 && cat)
                rc = count_label(c, upload_id, "category", cat, err);
            if (rc == 0 && pol)
                rc = count_label(c, upload_id, "polarity", pol, err);
        }
        json_decref(arr);
    }
    return rc;
}

static int document_insert(struct db_conn *c, int64_t annotation_id, int64_t upload_id,
                           const struct db_doc *d, struct err *err)
{
    if (exec(c, STMT_DOC_INSERT, err, "itttttz", annotation_id, d->external_id, d->text, d->cls,
             d->labels, d->aspects, upload_id) != 0)
        return -1;
    return count_document_labels(c, upload_id, d, err);
}

/* ---- staged uploads ------------------------------------------------------------ */

/* A batch ends after this many documents or this much time, whichever first:
 * a writer waiting for the turn waits for at most one batch. */
#define UPLOAD_BATCH_DOCS 2000
#define UPLOAD_BATCH_MS 25.0
#define UPLOAD_DISCARD_ROWS 5000

int64_t db_upload_open(struct db_conn *c, int64_t annotation_id, struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;

    util_now_rfc3339(now);
    st = prep(c, STMT_UPLOAD_INSERT, err, "it", annotation_id, now);
    return st ? insert(c, st, err) : -1;
}

int db_upload_write(struct db_conn *c, int64_t upload_id, int64_t annotation_id,
                    db_doc_at_fn at, const void *ctx, size_t n, struct err *err)
{
    size_t i = 0;

    while (i < n) {
        double t0 = util_monotonic();
        size_t first = i;
        sqlite3_stmt *st;

        if (db_begin(c, err) != 0)
            return -1;
        for (; i < n && i - first < UPLOAD_BATCH_DOCS; i++) {
            if (document_insert(c, annotation_id, upload_id, at(ctx, i), err) != 0) {
                db_rollback(c);
                return -1;
            }
            if ((i & 63) == 63 && (util_monotonic() - t0) * 1000.0 >= UPLOAD_BATCH_MS) {
                i++;
                break;
            }
        }
        st = stmt(c, STMT_UPLOAD_ADD_DOCS, err);
        if (!st) {
            db_rollback(c);
            return -1;
        }
        sqlite3_bind_int64(st, 1, upload_id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)(i - first));
        if (step_done(c, st, err) != 0 || sqlite3_changes(c->h) != 1) {
            if (err && err->code == ERR_OK)
                err_set(err, ERR_INTERNAL, "upload %lld is no longer open", (long long)upload_id);
            db_rollback(c);
            return -1;
        }
        if (db_commit(c, err) != 0)
            return -1;
    }
    return 0;
}

int db_upload_publish(struct db_conn *c, int64_t upload_id, struct err *err)
{
    sqlite3_stmt *st;
    int64_t annotation_id, n;

    if (c->depth == 0) {
        err_set(err, ERR_INTERNAL, "db_upload_publish needs an open transaction");
        return -1;
    }
    if (row(c, STMT_UPLOAD_GET, &st, "no such open upload", err, "i", upload_id) != 1)
        return -1;
    annotation_id = sqlite3_column_int64(st, 0);
    n = sqlite3_column_int64(st, 1);
    done(st);
    if (exec(c, STMT_UPLOAD_PUBLISH, err, "i", upload_id) != 0 ||
        exec(c, STMT_UPLOAD_MERGE_LABELS, err, "ii", upload_id, annotation_id) != 0 ||
        exec(c, STMT_UPLOAD_DROP_LABELS, err, "i", upload_id) != 0)
        return -1;
    return exec(c, STMT_ANN_ADD_DOCS, err, "ii", annotation_id, n);
}

int db_upload_discard(struct db_conn *c, int64_t upload_id, struct err *err)
{
    sqlite3_stmt *st;
    int more = 1;

    while (more) { /* in bounded transactions, like the writes */
        if (db_begin(c, err) != 0)
            return -1;
        if (!(st = stmt(c, STMT_UPLOAD_DISCARD_DOCS, err)))
            goto fail;
        sqlite3_bind_int64(st, 1, upload_id);
        sqlite3_bind_int(st, 2, UPLOAD_DISCARD_ROWS);
        if (step_done(c, st, err) != 0)
            goto fail;
        more = sqlite3_changes(c->h) == UPLOAD_DISCARD_ROWS;
        if (!more) {
            if (!(st = stmt(c, STMT_UPLOAD_DELETE, err)))
                goto fail;
            sqlite3_bind_int64(st, 1, upload_id);
            if (step_done(c, st, err) != 0)
                goto fail;
        }
        if (db_commit(c, err) != 0)
            return -1;
    }
    return 0;
fail:
    db_rollback(c);
    return -1;
}

int db_upload_cleanup(struct db_conn *c, struct err *err)
{
    int n = 0;

    for (;;) {
        sqlite3_stmt *st = stmt(c, STMT_UPLOAD_UNPUBLISHED, err);
        int64_t id;
        int rc;

        if (!st)
            return -1;
        rc = step_row(c, st, "", err);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            err_clear(err);
            return n;
        }
        id = sqlite3_column_int64(st, 0);
        done(st);
        if (db_upload_discard(c, id, err) != 0)
            return -1;
        n++;
    }
}

int db_documents_add(struct db_conn *c, int64_t annotation_id, db_doc_at_fn at, const void *ctx,
                     size_t n, struct err *err)
{
    int64_t up;

    if (db_begin(c, err) != 0)
        return -1;
    up = db_upload_open(c, annotation_id, err);
    if (up < 0 || db_upload_write(c, up, annotation_id, at, ctx, n, err) != 0 ||
        db_upload_publish(c, up, err) != 0) {
        db_rollback(c);
        return -1;
    }
    return db_commit(c, err);
}

/* ---- idempotency keys ------------------------------------------------------------ */

#define IDEM_TTL_S (24 * 3600)

void db_idem_release(struct db_idem *r)
{
    free(r->request_hash);
    free(r->location);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

int db_idem_get(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                struct db_idem *out, struct err *err)
{
    sqlite3_stmt *st = stmt(c, STMT_IDEM_GET, err);

    memset(out, 0, sizeof(*out));
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, user_id);
    bind_text(st, 2, key);
    sqlite3_bind_int64(st, 3, now - IDEM_TTL_S);
    switch (step_row(c, st, "no such key", err)) {
    case 0:
        return 0;
    case 1:
        break;
    default:
        return -1;
    }
    out->request_hash = col_dup(st, 0);
    out->status = sqlite3_column_int(st, 1);
    out->location = col_dup(st, 2);
    out->body = col_dup(st, 3);
    done(st);
    if (!out->request_hash || !out->body) {
        db_idem_release(out);
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    return 1;
}

int db_idem_put(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                const struct db_idem *r, struct err *err)
{
    if (c->depth == 0) {
        err_set(err, ERR_INTERNAL, "db_idem_put needs an open transaction");
        return -1;
    }
    /* a few expired records each time */
    if (exec(c, STMT_IDEM_PURGE, err, "i", now - (int64_t)IDEM_TTL_S) != 0)
        return -1;
    return exec(c, STMT_IDEM_PUT, err, "ittitti", user_id, key, r->request_hash,
                (int64_t)r->status, r->location, r->body, now);
}

/* ---- models ---------------------------------------------------------------- */

/* ERR_CONFLICT for a taken model name. The name is quoted only while short
 * enough that the message still ends with "taken" inside ERR_MSG_MAX. */
static void name_taken(struct err *err, const char *name)
{
    if (strlen(name) <= 256)
        err_set(err, ERR_CONFLICT, "the name '%s' is already taken in this workspace", name);
    else
        err_set(err, ERR_CONFLICT, "the name is already taken in this workspace");
}

int64_t db_model_create(struct db_conn *c, const struct db_model_new *m, struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;
    int64_t id = -1;
    int rc;

    if (db_begin(c, err) != 0)
        return -1;
    /* Checked inside the write transaction so the message is exact; the unique
     * index still guards against any other writer. */
    st = stmt(c, STMT_MODEL_NAME_TAKEN, err);
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, m->workspace_id);
    bind_text(st, 2, m->name);
    rc = sqlite3_step(st);
    done(st);
    if (rc == SQLITE_ROW) {
        name_taken(err, m->name);
        goto fail;
    }
    if (rc != SQLITE_DONE) {
        sql_fail(c, err);
        goto fail;
    }
    st = stmt(c, STMT_MODEL_INSERT, err);
    if (!st)
        goto fail;
    util_now_rfc3339(now);
    bind_text(st, 1, m->uuid);
    sqlite3_bind_int64(st, 2, m->workspace_id);
    sqlite3_bind_int64(st, 3, m->project_id);
    bind_text(st, 4, m->name);
    bind_text(st, 5, m->display_name);
    bind_text(st, 6, m->language);
    bind_text(st, 7, m->type);
    if (m->base_id > 0)
        sqlite3_bind_int64(st, 8, m->base_id);
    else
        sqlite3_bind_null(st, 8);
    bind_text(st, 9, m->base_name);
    sqlite3_bind_int64(st, 10, m->owner_id);
    bind_text(st, 11, m->short_description);
    bind_text(st, 12, m->long_description);
    bind_text(st, 13, now);
    id = insert(c, st, err);
    if (id < 0) {
        if (err && err->code == ERR_CONFLICT)
            name_taken(err, m->name);
        goto fail;
    }
    for (size_t i = 0; i < m->n_ann; i++) {
        st = stmt(c, STMT_MODEL_ANN_INSERT, err);
        if (!st)
            goto fail;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, m->ann_ids[i]);
        bind_text(st, 3, m->ann_roles[i]);
        if (step_done(c, st, err) != 0)
            goto fail;
    }
    if (db_commit(c, err) != 0)
        return -1;
    return id;
fail:
    db_rollback(c);
    return -1;
}

void db_model_release(struct db_model *m)
{
    if (!m)
        return;
    free(m->uuid);
    free(m->name);
    free(m->display_name);
    free(m->base_name);
    free(m->created);
    free(m->updated);
    free(m->owner);
    free(m->short_description);
    free(m->long_description);
    free(m->failure_reason);
    free(m->queued_at);
    free(m->started_at);
    free(m->finished_at);
    free(m->metrics);
    free(m->warnings);
    memset(m, 0, sizeof(*m));
}

void db_models_release(struct db_model *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++)
        db_model_release(&m[i]);
    free(m);
}

/* A text column that may be NULL; *ok becomes 0 when a present one cannot be copied. */
static char *col_opt(sqlite3_stmt *st, int i, int *ok)
{
    char *s = col_dup(st, i);

    if (!s && sqlite3_column_type(st, i) != SQLITE_NULL)
        *ok = 0;
    return s;
}

/* One row of MODEL_COLS into out. */
static int model_row(sqlite3_stmt *st, int with_metrics, struct db_model *out, struct err *err)
{
    int ok = 1;

    memset(out, 0, sizeof(*out));
    out->id = sqlite3_column_int64(st, 0);
    out->uuid = col_opt(st, 1, &ok);
    out->name = col_opt(st, 2, &ok);
    out->display_name = col_opt(st, 3, &ok);
    out->base_name = col_opt(st, 5, &ok);
    out->created = col_opt(st, 6, &ok);
    out->updated = col_opt(st, 7, &ok);
    out->owner = col_opt(st, 8, &ok);
    out->progress = sqlite3_column_double(st, 9);
    out->project_id = sqlite3_column_int64(st, 10);
    out->has_score = sqlite3_column_type(st, 11) != SQLITE_NULL;
    out->score = sqlite3_column_double(st, 11);
    out->short_description = col_opt(st, 12, &ok);
    out->long_description = col_opt(st, 13, &ok);
    out->failure_reason = col_opt(st, 16, &ok);
    out->queued_at = col_opt(st, 17, &ok);
    out->started_at = col_opt(st, 18, &ok);
    out->finished_at = col_opt(st, 19, &ok);
    if (with_metrics)
        out->metrics = col_opt(st, 20, &ok);
    out->warnings = col_opt(st, 21, &ok);
    if (col_language(st, 4, &out->language, err) != 0 || col_status(st, 14, &out->status, err) ||
        col_type(st, 15, &out->type, err) != 0)
        return -1;
    if (!ok) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    return 0;
}

int db_model_get(struct db_conn *c, int64_t project_id, int64_t id, int with_metrics,
                 struct db_model *out, struct err *err)
{
    sqlite3_stmt *st;
    char what[96];
    int rc;

    memset(out, 0, sizeof(*out));
    snprintf(what, sizeof(what), "no model %lld in this project", (long long)id);
    if (row(c, STMT_MODEL_GET, &st, what, err, "ii", project_id, id) != 1)
        return -1;
    rc = model_row(st, with_metrics, out, err);
    done(st);
    if (rc != 0)
        db_model_release(out);
    return rc;
}

int db_model_list(struct db_conn *c, int64_t project_id, const struct db_model_filter *f,
                  struct db_model **out, size_t *n, int64_t *next_id, struct err *err)
{
    sqlite3_stmt *st = prep(c, STMT_MODEL_LIST, err, "itttii", project_id, f->status, f->type,
                            f->language, f->before_id, (int64_t)f->limit + 1);
    struct db_model *items = NULL;
    size_t count = 0, cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    *next_id = 0;
    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct db_model *grown;

        if (count > 0 && count == (size_t)f->limit) { /* one more row: a next page */
            *next_id = items[count - 1].id;
            continue;
        }
        grown = util_grow(items, &cap, count + 1, sizeof(*items), 16);
        if (!grown) {
            done(st);
            db_models_release(items, count);
            err_set(err, ERR_NOMEM, "out of memory");
            return -1;
        }
        items = grown;
        if (model_row(st, 0, &items[count], err) != 0) {
            done(st);
            db_models_release(items, count + 1);
            return -1;
        }
        count++;
    }
    done(st);
    if (rc != SQLITE_DONE) {
        sql_fail(c, err);
        db_models_release(items, count);
        return -1;
    }
    *out = items;
    *n = count;
    return 0;
}

void db_base_release(struct db_base *b)
{
    if (!b)
        return;
    free(b->name);
    free(b->artifact);
    memset(b, 0, sizeof(*b));
}

int db_model_base_info(struct db_conn *c, int64_t id, struct db_base *out, struct err *err)
{
    sqlite3_stmt *st;
    char what[64];

    snprintf(what, sizeof(what), "no model %lld", (long long)id);
    if (row(c, STMT_MODEL_BASE_INFO, &st, what, err, "i", id) != 1)
        return -1;
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_column_int64(st, 0);
    out->name = col_dup(st, 1);
    out->artifact = col_dup(st, 5);
    out->workspace_id = sqlite3_column_int64(st, 6);
    out->project_id = sqlite3_column_int64(st, 7);
    if (col_language(st, 2, &out->language, err) != 0 || col_type(st, 3, &out->type, err) != 0 ||
        col_status(st, 4, &out->status, err) != 0) {
        done(st);
        db_base_release(out);
        return -1;
    }
    done(st);
    if (!out->name) {
        db_base_release(out);
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    return 0;
}

int64_t db_base_create(struct db_conn *c, const char *uuid, const char *name, const char *language,
                       int64_t from_model, const char *artifact, struct err *err)
{
    char now[UTIL_TIME_LEN];
    struct db_base src = {0};
    sqlite3_stmt *st;
    int64_t id = -1;
    int rc;

    if (db_begin(c, err) != 0)
        return -1;
    st = stmt(c, STMT_BASE_NAME_TAKEN, err);
    if (!st)
        goto out;
    bind_text(st, 1, name);
    rc = sqlite3_step(st);
    done(st);
    if (rc == SQLITE_ROW) {
        err_set(err, ERR_CONFLICT, "a base model named '%s' already exists", name);
        goto out;
    }
    if (from_model > 0 && db_model_base_info(c, from_model, &src, err) != 0)
        goto out;
    st = stmt(c, STMT_BASE_INSERT, err);
    if (!st)
        goto out;
    util_now_rfc3339(now);
    bind_text(st, 1, uuid);
    bind_text(st, 2, name);
    bind_text(st, 3, language);
    if (from_model > 0)
        sqlite3_bind_int64(st, 4, from_model);
    else
        sqlite3_bind_null(st, 4);
    bind_text(st, 5, src.name);
    bind_text(st, 6, artifact);
    bind_text(st, 7, now);
    id = insert(c, st, err);
    if (id > 0) {
        if (db_commit(c, err) != 0) /* a failed commit has ended the transaction */
            id = -1;
        db_base_release(&src);
        return id;
    }
out:
    db_rollback(c);
    db_base_release(&src);
    return id;
}

json_t *db_base_list(struct db_conn *c, struct err *err)
{
    sqlite3_stmt *st = stmt(c, STMT_BASE_LIST, err);
    json_t *items = json_array();
    int rc;

    if (!st || !items) {
        json_decref(items);
        return NULL;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_array_append_new(
            items,
            json_pack("{s:I, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:b}", "id",
                      (json_int_t)sqlite3_column_int64(st, 0), "uuid", col_json_str(st, 1), "name",
                      col_json_str(st, 2), "language", col_json_str(st, 3), "type", "BASE",
                      "created", col_json_str(st, 4), "from_model_id",
                      sqlite3_column_type(st, 5) == SQLITE_NULL
                          ? json_null()
                          : json_integer(sqlite3_column_int64(st, 5)),
                      "from_model", col_json_str(st, 6), "has_weights",
                      sqlite3_column_int(st, 7)));
    }
    done(st);
    if (rc != SQLITE_DONE) {
        sql_fail(c, err);
        json_decref(items);
        return NULL;
    }
    return items;
}

int db_model_status(struct db_conn *c, int64_t project_id, int64_t id,
                    enum model_status *status, char **artifact, struct err *err)
{
    sqlite3_stmt *st;
    char what[96];

    snprintf(what, sizeof(what), "no model %lld in this project", (long long)id);
    if (row(c, STMT_MODEL_STATUS, &st, what, err, "ii", project_id, id) != 1)
        return -1;
    if (col_status(st, 0, status, err) != 0) {
        done(st);
        return -1;
    }
    if (artifact)
        *artifact = col_dup(st, 1);
    done(st);
    return 0;
}

static int set_field(struct db_conn *c, enum stmt_id sid, int64_t id, const char *value,
                     const char *now, struct err *err)
{
    return exec(c, sid, err, "itt", id, value, now);
}

int db_model_patch(struct db_conn *c, int64_t project_id, int64_t id,
                   const struct db_model_patch *p, struct err *err)
{
    char now[UTIL_TIME_LEN];
    enum model_status status;

    if (db_begin(c, err) != 0)
        return -1;
    if (db_model_status(c, project_id, id, &status, NULL, err) != 0)
        goto fail;
    util_now_rfc3339(now);
    if (p->set_status) {
        /* checked in the transaction that writes it (the status graph is domain's) */
        if (!domain_status_patch_ok(status, p->status)) {
            err_set(err, ERR_INVALID, "status cannot change from %s to %s",
                    domain_status_name(status), domain_status_name(p->status));
            goto fail;
        }
        if (set_field(c, STMT_MODEL_SET_STATUS, id, domain_status_name(p->status), now, err) != 0)
            goto fail;
    }
    if (p->display_name && set_field(c, STMT_MODEL_SET_DISPLAY, id, p->display_name, now, err))
        goto fail;
    if ((p->short_description || p->clear_short) &&
        set_field(c, STMT_MODEL_SET_SHORT, id, p->short_description, now, err))
        goto fail;
    if ((p->long_description || p->clear_long) &&
        set_field(c, STMT_MODEL_SET_LONG, id, p->long_description, now, err))
        goto fail;
    return db_commit(c, err);
fail:
    db_rollback(c);
    return -1;
}

int db_model_delete(struct db_conn *c, int64_t project_id, int64_t id, char **artifact,
                    struct err *err)
{
    enum model_status status;
    char *art = NULL;
    sqlite3_stmt *st;

    if (db_begin(c, err) != 0)
        return -1;
    if (db_model_status(c, project_id, id, &status, &art, err) != 0)
        goto fail;
    st = stmt(c, STMT_MODEL_DELETE, err);
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    if (step_done(c, st, err) != 0)
        goto fail;
    if (db_commit(c, err) != 0) { /* a failed commit has ended the transaction */
        free(art);
        return -1;
    }
    *artifact = art;
    return 0;
fail:
    db_rollback(c);
    free(art);
    return -1;
}

/* ---- job queue --------------------------------------------------------------- */

int db_job_enqueue(struct db_conn *c, int64_t id, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return exec(c, STMT_JOB_ENQUEUE, err, "it", id, now);
}

int db_job_requeue_all(struct db_conn *c, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    if (exec(c, STMT_JOB_REQUEUE_ALL, err, "t", now) != 0)
        return -1;
    return sqlite3_changes(c->h);
}

int db_job_requeue(struct db_conn *c, int64_t id, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return exec_changed(c, STMT_JOB_REQUEUE_ONE, err, "it", id, now);
}

int db_job_claim(struct db_conn *c, int64_t *id, struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;
    int64_t found = 0;
    int rc;

    if (db_begin(c, err) != 0)
        return -1;
    st = stmt(c, STMT_JOB_NEXT, err);
    if (!st)
        goto fail;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        found = sqlite3_column_int64(st, 0);
    done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sql_fail(c, err);
        goto fail;
    }
    if (found) {
        st = stmt(c, STMT_JOB_START, err);
        if (!st)
            goto fail;
        util_now_rfc3339(now);
        sqlite3_bind_int64(st, 1, found);
        bind_text(st, 2, now);
        if (step_done(c, st, err) != 0)
            goto fail;
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

void db_job_release(struct db_job *j)
{
    if (!j)
        return;
    free(j->uuid);
    free(j->base_artifact);
    memset(j, 0, sizeof(*j));
}

int db_job_get(struct db_conn *c, int64_t id, struct db_job *out, struct err *err)
{
    sqlite3_stmt *st;
    char what[64];

    snprintf(what, sizeof(what), "no model %lld", (long long)id);
    if (row(c, STMT_JOB_GET, &st, what, err, "i", id) != 1)
        return -1;
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_column_int64(st, 0);
    out->uuid = col_dup(st, 1);
    out->base_artifact = col_dup(st, 4);
    if (col_type(st, 2, &out->type, err) != 0 || col_language(st, 3, &out->language, err) != 0 ||
        col_status(st, 5, &out->status, err) != 0) {
        done(st);
        db_job_release(out);
        return -1;
    }
    done(st);
    if (!out->uuid) {
        db_job_release(out);
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    return 0;
}

int db_job_documents(struct db_conn *c, int64_t id, db_doc_fn fn, void *ctx, struct err *err)
{
    sqlite3_stmt *st = stmt(c, STMT_JOB_DOCS, err);
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
        ret = sql_fail(c, err);
    done(st);
    return ret;
}

int db_job_progress(struct db_conn *c, int64_t id, double pct, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return exec(c, STMT_JOB_PROGRESS, err, "idt", id, pct, now);
}

int db_job_ready(struct db_conn *c, int64_t id, double score, const char *metrics,
                 const char *warnings, const char *artifact, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return exec_changed(c, STMT_JOB_READY, err, "idtttt", id, score, metrics, artifact, now,
                        warnings);
}

int db_job_failed(struct db_conn *c, int64_t id, const char *reason, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return exec_changed(c, STMT_JOB_FAILED, err, "itt", id, reason, now);
}
