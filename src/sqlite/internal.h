/* SPDX-License-Identifier: MIT */
/*
 * sqlite/internal.h: private to the SQLite backend of the storage interface
 * (the files of src/sqlite/, the only ones that include sqlite3.h).
 *
 * The backend implements struct db_backend_ops (db_backend.h), split by
 * resource: conn.c (open, pragmas, the connection pool, the statement
 * table, the binder, transactions, the FIFO write turn and the writer
 * thread of db_write, which batches writes into one commit), admin.c (admin
 * and authentication rows: users, tokens), members.c (memberships and the
 * projects of a user), documents.c (labeling sessions, staged uploads,
 * documents), idem.c (Idempotency-Key records), models.c (models and the
 * base catalog), jobs.c (the training queue), migrate.c (the schema).
 * Private names start with sq_.
 *
 * Every statement is a row of the X-macro table below (its enum and its SQL
 * text cannot drift apart), prepared once per connection and bound through
 * sq_prep/sq_exec/sq_exec_changed/sq_row. The SQL is portable where it can
 * be (ISO timestamps written by the application, ON CONFLICT ... DO UPDATE,
 * partial unique indexes); what is SQLite's own stays in this folder: rowids
 * (sqlite3_last_insert_rowid), BEGIN IMMEDIATE, WAL and the busy timeout,
 * and the FIFO write turn in front of SQLite's single write lock.
 *
 * Thread-safety: a connection is used only by the thread holding it (the
 * writer holds one per batch); the pool, the write turn and the writer's
 * queue have their own mutexes in struct sq_db.
 */
#ifndef MODELD_SQLITE_INTERNAL_H
#define MODELD_SQLITE_INTERNAL_H

#include <stdarg.h>

#include <sqlite3.h>

#include "../db_backend.h"

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
      "SELECT ?2 - COUNT(*) FROM schema_migrations WHERE version BETWEEN 1 AND ?1")             \
    X(COMMIT, "COMMIT")                                                                         \
    X(ROLLBACK, "ROLLBACK")                                                                     \
    X(SAVEPOINT, "SAVEPOINT w")                                                                 \
    X(RELEASE, "RELEASE w")                                                                     \
    X(ROLLBACK_TO, "ROLLBACK TO w")                                                             \
    X(SP_DROP, "RELEASE w")                                                                     \
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
      "SELECT u.id, u.name, u.read_only, t.id, t.expires_at, t.last_used "                      \
      "FROM tokens t JOIN users u ON u.id = t.user_id "                                         \
      "WHERE t.hash = ?1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?2) " \
      "AND u.disabled = 0")                                                                     \
    X(AUTH_EPOCH, "SELECT value FROM auth_epoch WHERE id = 1")                                  \
    X(USER_LIST, "SELECT id, name, read_only, disabled, created FROM users ORDER BY id")        \
    X(USER_EXISTS, "SELECT 1 FROM users WHERE id = ?1")                                         \
    X(USER_SET_DISABLED, "UPDATE users SET disabled = ?2 WHERE id = ?1")                        \
    X(TOKEN_LIST,                                                                               \
      "SELECT t.id, t.user_id, u.name, t.created, t.expires_at, t.last_used, t.revoked_at "     \
      "FROM tokens t JOIN users u ON u.id = t.user_id WHERE ?1 = 0 OR t.user_id = ?1 "          \
      "ORDER BY t.id")                                                                          \
    X(TOKEN_REVOKE_ID, "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL") \
    X(TOKEN_REVOKE_USER,                                                                        \
      "UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL")            \
    X(TOKEN_TOUCH,                                                                              \
      "UPDATE tokens SET last_used = ?2 WHERE id = ?1 AND (last_used IS NULL OR last_used < ?2)") \
    X(PROJECT_EXISTS, "SELECT 1 FROM projects WHERE id = ?1")                                   \
    X(MEMBER_LIST,                                                                              \
      "SELECT m.user_id, u.name, m.role, u.read_only, u.disabled FROM members m "               \
      "JOIN users u ON u.id = m.user_id WHERE m.project_id = ?1 ORDER BY m.user_id")            \
    X(MEMBER_GET, "SELECT role FROM members WHERE project_id = ?1 AND user_id = ?2")            \
    X(MEMBER_OWNERS, "SELECT COUNT(*) FROM members WHERE project_id = ?1 AND role = 'OWNER'")   \
    X(MEMBER_INSERT, "INSERT INTO members (project_id, user_id, role) VALUES (?1, ?2, ?3)")     \
    X(MEMBER_UPDATE, "UPDATE members SET role = ?3 WHERE project_id = ?1 AND user_id = ?2")     \
    X(MEMBER_DELETE, "DELETE FROM members WHERE project_id = ?1 AND user_id = ?2")              \
    X(PROJECTS_OF_USER,                                                                         \
      "SELECT p.id, p.workspace_id, p.name, w.name, p.created, m.role FROM members m "          \
      "JOIN projects p ON p.id = m.project_id JOIN workspaces w ON w.id = p.workspace_id "      \
      "WHERE m.user_id = ?1 ORDER BY p.id")                                                     \
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
    X(UPLOAD_INSERT,                                                                            \
      "INSERT INTO uploads (annotation_id, created, daemon_id) VALUES (?1, ?2, ?3)")            \
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
    X(UPLOAD_UNPUBLISHED,                                                                       \
      "SELECT up.id FROM uploads up WHERE up.published = 0 AND NOT EXISTS "                     \
      "(SELECT 1 FROM daemons d WHERE d.id = up.daemon_id AND d.lease_until >= ?1) "            \
      "ORDER BY up.id LIMIT 1")                                                                 \
    X(IDEM_GET,                                                                                 \
      "SELECT k.request_hash, k.status, k.location, k.body, k.created > ?3, "                   \
      "k.status = 0 AND k.created > ?3 AND COALESCE(k.daemon_id, '') NOT IN ('', ?4) AND "      \
      "EXISTS (SELECT 1 FROM "                                                                  \
      "daemons d WHERE d.id = k.daemon_id AND d.lease_until >= ?5) "                           \
      "FROM idempotency_keys k WHERE k.user_id = ?1 AND k.key = ?2")                            \
    X(IDEM_MARK,                                                                                \
      "INSERT INTO idempotency_keys (user_id, key, request_hash, status, location, body, "      \
      "created, daemon_id) VALUES (?1, ?2, '', 0, NULL, '', ?3, ?4) ON CONFLICT (user_id, key) " \
      "DO UPDATE SET request_hash = '', status = 0, location = NULL, body = '', "               \
      "created = excluded.created, daemon_id = excluded.daemon_id")                            \
    X(IDEM_UNMARK,                                                                              \
      "DELETE FROM idempotency_keys WHERE user_id = ?1 AND key = ?2 AND status = 0 "            \
      "AND COALESCE(daemon_id, '') = ?3")                                                       \
    X(IDEM_PUT,                                                                                 \
      "INSERT INTO idempotency_keys (user_id, key, request_hash, status, location, body, "      \
      "created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (user_id, key) DO UPDATE SET "  \
      "request_hash = excluded.request_hash, status = excluded.status, "                       \
      "location = excluded.location, body = excluded.body, created = excluded.created, "       \
      "daemon_id = NULL")                                                                       \
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
    X(JOB_REQUEUE_ONE,                                                                          \
      "UPDATE models SET status = 'QUEUED', started_at = NULL, owner_daemon = NULL, "          \
      "lease_until = NULL, updated = ?3 WHERE id = ?1 AND status = 'TRAINING' AND attempt = ?2") \
    X(JOB_NEXT,                                                                                 \
      "SELECT id FROM models WHERE status = 'QUEUED' ORDER BY queued_at, id LIMIT 1")          \
    X(JOB_START,                                                                                \
      "UPDATE models SET status = 'TRAINING', started_at = ?2, updated = ?2, owner_daemon = ?3, " \
      "lease_until = ?4, attempt = attempt + 1 WHERE id = ?1 AND status = 'QUEUED'")            \
    X(JOB_ATTEMPT, "SELECT attempt FROM models WHERE id = ?1")                                  \
    X(JOB_HELD,                                                                                 \
      "SELECT 1 FROM models WHERE id = ?1 AND status = 'TRAINING' AND attempt = ?2")           \
    X(JOB_GET,                                                                                  \
      "SELECT m.id, m.uuid, m.type, m.language, b.artifact, m.status, m.attempt FROM models m " \
      "LEFT JOIN models b ON b.id = m.base_id WHERE m.id = ?1")                                 \
    X(JOB_DOCS,                                                                                 \
      "SELECT ma.role, d.text, d.class, d.labels, d.aspects FROM model_annotations ma "         \
      "JOIN documents d ON d.annotation_id = ma.annotation_id "                                 \
      "LEFT JOIN uploads up ON up.id = d.upload_id WHERE ma.model_id = ?1 "                     \
      "AND (d.upload_id IS NULL OR up.published = 1) ORDER BY ma.annotation_id, d.id")                                                        \
    X(JOB_PROGRESS,                                                                             \
      "UPDATE models SET progress = ?2, updated = ?3 "                                          \
      "WHERE id = ?1 AND status = 'TRAINING' AND attempt = ?4 AND progress < ?2")               \
    X(JOB_READY,                                                                                \
      "UPDATE models SET status = 'READY', progress = 100, score = ?2, metrics = ?3, "          \
      "artifact = ?4, failure_reason = NULL, finished_at = ?5, updated = ?5, warnings = ?6, "   \
      "owner_daemon = NULL, lease_until = NULL "                                                \
      "WHERE id = ?1 AND status = 'TRAINING' AND attempt = ?7")                                 \
    X(JOB_FAILED,                                                                               \
      "UPDATE models SET status = 'FAILED', failure_reason = ?2, finished_at = ?3, "            \
      "updated = ?3, owner_daemon = NULL, lease_until = NULL "                                  \
      "WHERE id = ?1 AND status IN ('CREATED', 'QUEUED', 'TRAINING')")                          \
    X(JOB_FAILED_HELD,                                                                          \
      "UPDATE models SET status = 'FAILED', failure_reason = ?2, finished_at = ?3, "            \
      "updated = ?3, owner_daemon = NULL, lease_until = NULL "                                  \
      "WHERE id = ?1 AND status = 'TRAINING' AND attempt = ?4")                                 \
    LEASE_STATEMENTS(X)                                                                         \
    SESSION_STATEMENTS(X)

/* Daemons and leases (jobs.c; times in unix milliseconds). The rescue takes
 * back TRAINING rows whose lease expired (?2 = 1: every one, for a daemon
 * alone on its database): out of attempts (?3) FAILED, else QUEUED. */
#define LEASE_STATEMENTS(X)                                                                     \
    X(DAEMON_UPSERT,                                                                            \
      "INSERT INTO daemons (id, started, lease_until) VALUES (?1, ?2, ?3) "                     \
      "ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until")                      \
    X(DAEMON_RENEW_JOBS,                                                                        \
      "UPDATE models SET lease_until = ?2 WHERE owner_daemon = ?1 AND status = 'TRAINING'")     \
    X(DAEMON_DELETE, "DELETE FROM daemons WHERE id = ?1")                                       \
    X(DAEMON_JOBS,                                                                              \
      "SELECT id, attempt FROM models WHERE owner_daemon = ?1 AND status = 'TRAINING' "         \
      "ORDER BY id")                                                                            \
    X(DAEMONS_EXPIRED, "DELETE FROM daemons WHERE (?2 = 1 OR lease_until < ?1) AND id <> ?3")   \
    X(RESCUE_FAIL,                                                                              \
      "UPDATE models SET status = 'FAILED', abandoned = abandoned + 1, owner_daemon = NULL, "   \
      "lease_until = NULL, finished_at = ?4, updated = ?4, failure_reason = 'abandoned after ' " \
      "|| (abandoned + 1) || ' attempts: each time the daemon training it stopped renewing "    \
      "its lease (it died or lost the database)' "                                             \
      "WHERE status = 'TRAINING' AND (?2 = 1 OR lease_until IS NULL OR lease_until < ?1) "      \
      "AND abandoned + 1 >= ?3")                                                                \
    X(RESCUE_REQUEUE,                                                                           \
      "UPDATE models SET status = 'QUEUED', abandoned = abandoned + 1, owner_daemon = NULL, "    \
      "lease_until = NULL, started_at = NULL, queued_at = COALESCE(queued_at, ?3), "           \
      "updated = ?3 WHERE status = 'TRAINING' AND (?2 = 1 OR lease_until IS NULL OR "          \
      "lease_until < ?1)")                                                                      \
    X(RESCUE_CREATED,                                                                           \
      "UPDATE models SET status = 'QUEUED', queued_at = COALESCE(queued_at, ?1), updated = ?1 " \
      "WHERE status = 'CREATED'")

/* Browser sessions (sessions.c). A session is created only from a token
 * that is valid now; its expiry never passes the token's. The lookup gives
 * the token's hash back, so the caller checks the token as for a bearer. */
#define SESSION_STATEMENTS(X)                                                                   \
    X(SESSION_PURGE, "DELETE FROM sessions WHERE expires_at <= ?1")                             \
    X(SESSION_INSERT,                                                                           \
      "INSERT INTO sessions (token_id, hash, csrf_hash, created, expires_at) "                  \
      "SELECT t.id, ?2, ?3, ?4, CASE WHEN t.expires_at < ?5 THEN t.expires_at ELSE ?5 END "   \
      "FROM tokens t "                                                                          \
      "WHERE t.hash = ?1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?6)") \
    X(SESSION_GET,                                                                              \
      "SELECT t.hash, s.csrf_hash, s.expires_at FROM sessions s JOIN tokens t ON t.id = s.token_id " \
      "WHERE s.hash = ?1 AND s.expires_at > ?2")                                                \
    X(SESSION_DELETE, "DELETE FROM sessions WHERE hash = ?1")
#define X_ENUM(name, sql) STMT_##name,
enum stmt_id { DB_STATEMENTS(X_ENUM) STMT_COUNT };
#undef X_ENUM

/* A connection: the dispatcher's part first, then SQLite's. */
struct sq_conn {
    struct db_conn base;
    sqlite3 *h;
    sqlite3_stmt *st[STMT_COUNT];
    struct sq_conn *next_free;
    int wlocked; /* holds the daemon's write turn */
};

/* ---- the binder (conn.c) ------------------------------------------------ */

/* Map the connection's last SQLite error to an err (UNIQUE/PRIMARY KEY ->
 * ERR_CONFLICT, other constraints -> ERR_INVALID, the rest ERR_INTERNAL);
 * returns -1. */
int sq_fail(struct db_conn *c, struct err *err);
/* The prepared statement id, reset and with cleared bindings; NULL on error
 * (or an injected fault). */
sqlite3_stmt *sq_stmt(struct db_conn *c, enum stmt_id id, struct err *err);
/* Reset st and clear its bindings (after reading a row). */
void sq_done(sqlite3_stmt *st);
/* Bind text, or NULL when s is NULL. */
void sq_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Step a statement that returns no row; 0 on DONE, and st is reset. */
int sq_step_done(struct db_conn *c, sqlite3_stmt *st, struct err *err);
/* Step a statement that returns at most one row: 1 on a row (read it, then
 * sq_done), 0 when none (ERR_NOT_FOUND with not_found), -1 on error. */
int sq_step_row(struct db_conn *c, sqlite3_stmt *st, const char *not_found, struct err *err);
/* The backend's clock for leases: this host's wall clock in milliseconds
 * (one SQLite database has one host). */
int64_t sq_now_ms(void);
/* Rows changed by the connection's last statement. */
int sq_changes(struct db_conn *c);
/* Run an INSERT and return the new rowid, or -1. */
int64_t sq_insert(struct db_conn *c, sqlite3_stmt *st, struct err *err);

/*
 * The one way statements get their parameters: sq_prep takes the statement
 * id and binds parameters 1..n from fmt, one letter each:
 *   i  int64_t             t  const char * (NULL binds NULL)
 *   d  double              z  int64_t, 0 binds NULL (optional ids and times)
 * sq_exec also steps a statement that returns no row; sq_exec_changed says
 * whether it changed a row (1/0, -1 on error); sq_row steps to the one row
 * (as sq_step_row, *out the statement).
 */
sqlite3_stmt *sq_prep(struct db_conn *c, enum stmt_id id, struct err *err, const char *fmt, ...);
int sq_exec(struct db_conn *c, enum stmt_id id, struct err *err, const char *fmt, ...);
int sq_exec_changed(struct db_conn *c, enum stmt_id id, struct err *err, const char *fmt, ...);
int sq_row(struct db_conn *c, enum stmt_id id, sqlite3_stmt **out, const char *not_found,
           struct err *err, const char *fmt, ...);
/* Whether the statement returns a row: 1 yes, 0 no, -1 on error. */
int sq_exists(struct db_conn *c, enum stmt_id id, struct err *err, const char *fmt, ...);

/* Columns: a copy of a text (NULL for NULL or when memory is short);
 * sq_col_opt also clears *ok when a present text could not be copied. */
char *sq_col_dup(sqlite3_stmt *st, int i);
char *sq_col_opt(sqlite3_stmt *st, int i, int *ok);
/* The end of a row reader: 0 when ok (every text was copied), else
 * ERR_NOMEM and -1. */
int sq_copied(int ok, struct err *err);
/* Enum columns: the stored name parsed; ERR_INTERNAL for a name the domain
 * does not know (a database written by something else). */
int sq_col_status(sqlite3_stmt *st, int i, enum model_status *out, struct err *err);
int sq_col_type(sqlite3_stmt *st, int i, enum model_type *out, struct err *err);
int sq_col_language(sqlite3_stmt *st, int i, enum language *out, struct err *err);
int sq_col_role(sqlite3_stmt *st, int i, enum role *out, struct err *err);

/* Read the rows of st (bound by the caller; reset here) into a new array
 * (*out) of elements of elem_size bytes, each zeroed and then filled by
 * read; at most max rows (0: all), and *more (may be NULL) = 1 when another
 * row followed. On failure nothing is kept: release gets the elements read
 * so far (and frees the array). */
typedef int (*sq_read_fn)(sqlite3_stmt *st, void *elem, struct err *err);
/* sq_row, then the row read into elem (elem_size bytes, zeroed first) by
 * read. 0, or -1 with err (ERR_NOT_FOUND with not_found); after a failed
 * read, clear(elem) has released what it held. */
int sq_get(struct db_conn *c, enum stmt_id id, const char *not_found, sq_read_fn read,
           void (*clear)(void *elem), void *elem, size_t elem_size, struct err *err,
           const char *fmt, ...);
int sq_rows(struct db_conn *c, sqlite3_stmt *st, size_t elem_size, size_t max, sq_read_fn read,
            void (*release)(void *elems, size_t n), void **out, size_t *n, int *more,
            struct err *err);

/* ---- the operations (struct db_backend_ops) ------------------------------- */

/* conn.c */
struct db *sq_open(const char *path, int pool_size, struct err *err);
void sq_close(struct db *db);
struct db_conn *sq_acquire(struct db *db);
void sq_release(struct db_conn *c);
int sq_begin(struct db_conn *c, struct err *err);
int sq_commit(struct db_conn *c, struct err *err);
void sq_rollback(struct db_conn *c);
int sq_write(struct db *db, db_write_fn fn, void *ctx, struct err *err);
void sq_write_stats(struct db *db, struct db_write_stats *out);
void sq_write_hold(struct db *db, int hold);
int sq_schema_latest(void);
int sq_schema_missing(struct db_conn *c, struct err *err);
int sq_models_by_status(struct db_conn *c, const char *const *names, long long *counts,
                        struct err *err);

/* admin.c */
int64_t sq_workspace_create(struct db_conn *c, const char *name, struct err *err);
int64_t sq_project_create(struct db_conn *c, int64_t workspace_id, const char *name,
                          struct err *err);
int64_t sq_user_create(struct db_conn *c, const char *name, int read_only, struct err *err);
int64_t sq_token_create(struct db_conn *c, int64_t user_id, const char *hash, int64_t expires_at,
                        struct err *err);
int64_t sq_token_revoke(struct db_conn *c, const char *hash, struct err *err);
int sq_member_add(struct db_conn *c, int64_t project_id, int64_t user_id, enum role role,
                  struct err *err);
int sq_token_lookup(struct db_conn *c, const char *hash, int64_t now, struct db_caller *out,
                    struct err *err);
int sq_member_role(struct db_conn *c, int64_t project_id, int64_t user_id, enum role *role,
                   int64_t *workspace_id, struct err *err);
int sq_auth_epoch(struct db_conn *c, int64_t *out, struct err *err);
int sq_user_list(struct db_conn *c, struct db_user **out, size_t *n, struct err *err);
int sq_user_set_disabled(struct db_conn *c, int64_t user_id, int disabled, struct err *err);
int sq_token_list(struct db_conn *c, int64_t user_id, struct db_token **out, size_t *n,
                  struct err *err);
int64_t sq_token_revoke_id(struct db_conn *c, int64_t id, struct err *err);
int64_t sq_token_revoke_user(struct db_conn *c, int64_t user_id, struct err *err);
int sq_token_touch(struct db_conn *c, int64_t id, int64_t now, struct err *err);

/* members.c */
int sq_member_list(struct db_conn *c, int64_t project_id, struct db_member **out, size_t *n,
                   struct err *err);
int sq_member_set(struct db_conn *c, int64_t project_id, int64_t user_id, enum role role,
                  enum db_member_mode mode, struct db_member_change *out, struct err *err);
int sq_member_remove(struct db_conn *c, int64_t project_id, int64_t user_id,
                     struct db_member_change *out, struct err *err);
int sq_project_list_for_user(struct db_conn *c, int64_t user_id, struct db_project_role **out,
                             size_t *n, struct err *err);

/* documents.c */
int64_t sq_annotation_create(struct db_conn *c, int64_t project_id, const char *name,
                             enum model_type type, enum language language, int64_t user_id,
                             struct err *err);
int sq_annotation_get(struct db_conn *c, int64_t project_id, int64_t id,
                      struct db_annotation *out, struct err *err);
int sq_annotation_meta(struct db_conn *c, int64_t project_id, int64_t id, enum model_type *type,
                       enum language *language, struct err *err);
int sq_annotation_list(struct db_conn *c, int64_t project_id, struct db_annotation **out,
                       size_t *n, struct err *err);
int64_t sq_upload_open(struct db_conn *c, int64_t annotation_id, struct err *err);
int sq_upload_write(struct db_conn *c, int64_t upload_id, int64_t annotation_id,
                    db_doc_at_fn at, const void *ctx, size_t n, struct err *err);
int sq_upload_publish(struct db_conn *c, int64_t upload_id, struct err *err);
int sq_upload_discard(struct db_conn *c, int64_t upload_id, struct err *err);
int sq_upload_cleanup(struct db_conn *c, struct err *err);

/* idem.c */
int sq_idem_begin(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                  struct db_idem *out, struct err *err);
int sq_idem_unmark(struct db_conn *c, int64_t user_id, const char *key, struct err *err);
int sq_idem_put(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                const struct db_idem *r, struct err *err);

/* models.c */
int64_t sq_model_create(struct db_conn *c, const struct db_model_new *m, struct err *err);
int sq_model_get(struct db_conn *c, int64_t project_id, int64_t id, int with_metrics,
                 struct db_model *out, struct err *err);
int sq_model_list(struct db_conn *c, int64_t project_id, const struct db_model_filter *f,
                  struct db_model **out, size_t *n, int64_t *next_id, struct err *err);
int sq_model_base_info(struct db_conn *c, int64_t id, struct db_base *out, struct err *err);
int64_t sq_base_create(struct db_conn *c, const char *uuid, const char *name,
                       enum language language, int64_t from_model, const char *artifact,
                       struct err *err);
int sq_base_list(struct db_conn *c, struct db_base_row **out, size_t *n, struct err *err);
int sq_model_patch(struct db_conn *c, int64_t project_id, int64_t id,
                   const struct db_model_patch *p, enum model_status *was, struct err *err);
int sq_model_delete(struct db_conn *c, int64_t project_id, int64_t id, char **artifact,
                    struct err *err);
int sq_model_status(struct db_conn *c, int64_t project_id, int64_t id,
                    enum model_status *status, char **artifact, struct err *err);

/* sessions.c */
int sq_session_create(struct db_conn *c, const char *token_hash, const struct db_session *s,
                      int64_t now, int64_t *expires_at, struct err *err);
int sq_session_get(struct db_conn *c, const char *hash, int64_t now, struct db_session *out,
                   struct err *err);
int sq_session_delete(struct db_conn *c, const char *hash, struct err *err);

/* jobs.c */
int sq_daemon_heartbeat(struct db_conn *c, struct err *err);
int sq_daemon_leave(struct db_conn *c, struct err *err);
int sq_daemon_jobs(struct db_conn *c, struct db_lease **out, size_t *n, struct err *err);
int sq_job_rescue(struct db_conn *c, int max_attempts, int all, struct err *err);
int sq_job_enqueue(struct db_conn *c, int64_t id, struct err *err);
int sq_job_requeue(struct db_conn *c, int64_t id, int64_t attempt, struct err *err);
int sq_job_claim(struct db_conn *c, int64_t *id, int64_t *attempt, struct err *err);
int sq_job_get(struct db_conn *c, int64_t id, struct db_job *out, struct err *err);
int sq_job_documents(struct db_conn *c, int64_t id, db_doc_fn fn, void *ctx, struct err *err);
int sq_job_progress(struct db_conn *c, int64_t id, int64_t attempt, double pct,
                    struct err *err);
int sq_job_ready(struct db_conn *c, int64_t id, int64_t attempt, double score,
                 const char *metrics, const char *warnings, const char *artifact,
                 struct err *err);
int sq_job_failed(struct db_conn *c, int64_t id, int64_t attempt, const char *reason,
                  struct err *err);

#endif
