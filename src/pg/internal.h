/* SPDX-License-Identifier: MIT */
/*
 * pg/internal.h: private to the PostgreSQL backend of the storage interface
 * (the files of src/pg/, the only ones with tests/check_pg*.c that include
 * libpq-fe.h).
 *
 * The backend implements struct db_backend_ops (db_backend.h), split by
 * resource like src/sqlite/: conn.c (open, the connection pool, the
 * statement table, the binder, transactions, db_write, the ops table),
 * migrate.c (the schema: migrations/pg/ embedded, applied under an advisory
 * lock), admin.c (users, tokens, the authentication reads), members.c
 * (memberships), sessions.c (browser sessions), idem.c (Idempotency-Key
 * records), listen.c (the LISTEN connection that feeds the change hub),
 * documents.c, models.c and jobs.c (labeling sessions, models, the queue).
 * Private names start with pg_.
 *
 * Every statement is a row of the X-macro table below (its enum and its SQL
 * text cannot drift apart), prepared with PQprepare once per connection, on
 * its first use (the statement's name is its enum name), and run with
 * PQexecPrepared; parameters travel in text format except bytea ('b'),
 * which is sent binary. No SQL is ever built from strings.
 *
 * Transactions are READ COMMITTED (PostgreSQL's default): two daemons write
 * concurrently, so an operation that reads before it writes locks what it
 * read (SELECT ... FOR UPDATE, or UPDATE ... WHERE <the condition>), or lets
 * a constraint decide. A failed statement aborts PostgreSQL's whole
 * transaction (unlike SQLite, where the transaction goes on): an operation
 * that expects a statement to fail and wants to carry on must say so in the
 * SQL instead (ON CONFLICT DO NOTHING, a WHERE), and every failure inside a
 * transaction ends in db_rollback. db_write runs fn in a transaction of its
 * own and runs it again, a bounded number of times, after a serialization
 * failure or a deadlock (SQLSTATE 40001, 40P01).
 *
 * Thread-safety: a connection is used only by the thread holding it; the
 * pool has its own mutex in struct pg_db; the listener thread (listen.c)
 * has a connection of its own.
 */
#ifndef MODELD_PG_INTERNAL_H
#define MODELD_PG_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>

#include <libpq-fe.h>

#include "../db_backend.h"

/* Advisory lock keys (pg_advisory_lock's bigint namespace): one per
 * purpose, so two daemons never mistake one lock for another. */
#define PG_LOCK_MIGRATE 0x6d6f64656c640001LL /* applying migrations */
#define PG_LOCK_RESCUE 0x6d6f64656c640002LL  /* taking back expired leases */

/* The notification channels (listen.c): a model changed (payload
 * "project_id model_id"), an authentication row changed (no payload; sent
 * by the auth_epoch triggers). */
#define PG_CHANNEL_MODEL "modeld_model"
#define PG_CHANNEL_AUTH "modeld_auth"

/*
 * The statements, one sub-table per file so that each file's rows can be
 * added without touching another's (and branches merge cleanly). A row is
 * X(NAME, "SQL with $1, $2 ..."); STMT_NAME is its id.
 */
#define PG_CONN_STATEMENTS(X)                                                                   \
    X(BEGIN, "BEGIN")                                                                           \
    X(COMMIT, "COMMIT")                                                                         \
    X(ROLLBACK, "ROLLBACK")                                                                     \
    X(SCHEMA_MISSING,                                                                           \
      "SELECT $2::bigint - COUNT(*) FROM schema_migrations WHERE version BETWEEN 1 AND $1")     \
    X(MODELS_BY_STATUS, "SELECT status, COUNT(*) FROM models WHERE type <> 'BASE' GROUP BY status") \
    X(NOTIFY, "SELECT pg_notify($1, $2)")                                                       \
    /* the binder's round trip, for its white-box test (tests/check_pg.c) */                    \
    X(ECHO, "SELECT $1::bigint, $2::text, $3::double precision, $4::bytea, $5::bigint")

/* admin.c, members.c, sessions.c, idem.c */
#define PG_ADMIN_STATEMENTS(X)                                                                  \
    X(WS_INSERT, "INSERT INTO workspaces (name, created) VALUES ($1, $2) RETURNING id")         \
    X(PROJECT_INSERT,                                                                           \
      "INSERT INTO projects (workspace_id, name, created) VALUES ($1, $2, $3) RETURNING id")    \
    X(USER_INSERT,                                                                              \
      "INSERT INTO users (name, read_only, created) VALUES ($1, $2, $3) RETURNING id")          \
    X(TOKEN_INSERT,                                                                             \
      "INSERT INTO tokens (user_id, hash, created, expires_at) VALUES ($1, $2, $3, $4) "        \
      "RETURNING id")                                                                           \
    X(TOKEN_REVOKE_HASH,                                                                        \
      "UPDATE tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL RETURNING id")  \
    X(MEMBER_UPSERT,                                                                            \
      "INSERT INTO members (project_id, user_id, role) VALUES ($1, $2, $3) "                    \
      "ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role")                   \
    X(TOKEN_LOOKUP,                                                                             \
      "SELECT u.id, u.name, u.read_only, t.id, t.expires_at, t.last_used "                      \
      "FROM tokens t JOIN users u ON u.id = t.user_id "                                         \
      "WHERE t.hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2) " \
      "AND u.disabled = 0")                                                                     \
    X(AUTH_EPOCH, "SELECT value FROM auth_epoch WHERE id = 1")                                  \
    X(USER_LIST, "SELECT id, name, read_only, disabled, created FROM users ORDER BY id")        \
    X(USER_EXISTS, "SELECT 1 FROM users WHERE id = $1")                                         \
    X(USER_SET_DISABLED, "UPDATE users SET disabled = $2 WHERE id = $1")                        \
    X(TOKEN_LIST,                                                                               \
      "SELECT t.id, t.user_id, u.name, t.created, t.expires_at, t.last_used, t.revoked_at "     \
      "FROM tokens t JOIN users u ON u.id = t.user_id WHERE $1::bigint = 0 OR t.user_id = $1 "  \
      "ORDER BY t.id")                                                                          \
    X(TOKEN_REVOKE_ID, "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL") \
    X(TOKEN_REVOKE_USER,                                                                        \
      "UPDATE tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")            \
    X(TOKEN_TOUCH,                                                                              \
      "UPDATE tokens SET last_used = $2 WHERE id = $1 AND (last_used IS NULL OR last_used < $2)") \
    X(PROJECT_EXISTS, "SELECT 1 FROM projects WHERE id = $1")                                   \
    X(PROJECT_LOCK, "SELECT 1 FROM projects WHERE id = $1 FOR NO KEY UPDATE")                   \
    X(MEMBER_LIST,                                                                              \
      "SELECT m.user_id, u.name, m.role, u.read_only, u.disabled FROM members m "               \
      "JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY m.user_id")            \
    X(MEMBER_GET, "SELECT role FROM members WHERE project_id = $1 AND user_id = $2")            \
    X(MEMBER_OWNERS, "SELECT COUNT(*) FROM members WHERE project_id = $1 AND role = 'OWNER'")   \
    X(MEMBER_INSERT, "INSERT INTO members (project_id, user_id, role) VALUES ($1, $2, $3)")     \
    X(MEMBER_UPDATE, "UPDATE members SET role = $3 WHERE project_id = $1 AND user_id = $2")     \
    X(MEMBER_DELETE, "DELETE FROM members WHERE project_id = $1 AND user_id = $2")              \
    X(PROJECTS_OF_USER,                                                                         \
      "SELECT p.id, p.workspace_id, p.name, w.name, p.created, m.role FROM members m "          \
      "JOIN projects p ON p.id = m.project_id JOIN workspaces w ON w.id = p.workspace_id "      \
      "WHERE m.user_id = $1 ORDER BY p.id")                                                     \
    X(MEMBER_ROLE,                                                                              \
      "SELECT m.role, p.workspace_id FROM members m JOIN projects p ON p.id = m.project_id "    \
      "WHERE m.project_id = $1 AND m.user_id = $2")                                             \
    X(SESSION_PURGE, "DELETE FROM sessions WHERE expires_at <= $1")                             \
    X(SESSION_INSERT,                                                                           \
      "INSERT INTO sessions (token_id, hash, csrf_hash, created, expires_at) "                  \
      "SELECT t.id, $2, $3, $4, CASE WHEN t.expires_at < $5 THEN t.expires_at ELSE $5 END "     \
      "FROM tokens t "                                                                          \
      "WHERE t.hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $6)") \
    X(SESSION_GET,                                                                              \
      "SELECT t.hash, s.csrf_hash, s.expires_at FROM sessions s JOIN tokens t ON t.id = s.token_id " \
      "WHERE s.hash = $1 AND s.expires_at > $2")                                                \
    X(SESSION_DELETE, "DELETE FROM sessions WHERE hash = $1")                                   \
    X(IDEM_GET,                                                                                 \
      "SELECT k.request_hash, k.status, k.location, k.body, "                                   \
      "CASE WHEN k.created > $3 THEN 1 ELSE 0 END, "                                            \
      "CASE WHEN k.status = 0 AND k.created > $3 AND COALESCE(k.daemon_id, '') NOT IN ('', $4) " \
      "AND EXISTS (SELECT 1 FROM daemons d WHERE d.id = k.daemon_id AND d.lease_until >= "      \
      PG_NOW_MS ") THEN 1 ELSE 0 END "                                                          \
      "FROM idempotency_keys k WHERE k.user_id = $1 AND k.key = $2 FOR UPDATE")                 \
    X(IDEM_MARK,                                                                                \
      "INSERT INTO idempotency_keys (user_id, key, request_hash, status, location, body, "      \
      "created, daemon_id) VALUES ($1, $2, '', 0, NULL, '', $3, $4) ON CONFLICT (user_id, key) " \
      "DO UPDATE SET request_hash = '', status = 0, location = NULL, body = '', "               \
      "created = excluded.created, daemon_id = excluded.daemon_id")                            \
    X(IDEM_INSERT,                                                                              \
      "INSERT INTO idempotency_keys (user_id, key, request_hash, status, location, body, "      \
      "created, daemon_id) VALUES ($1, $2, '', 0, NULL, '', $3, $4)")                          \
    X(IDEM_UNMARK,                                                                              \
      "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status = 0 "            \
      "AND COALESCE(daemon_id, '') = $3")                                                       \
    X(IDEM_PUT,                                                                                 \
      "INSERT INTO idempotency_keys (user_id, key, request_hash, status, location, body, "      \
      "created) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, key) DO UPDATE SET "  \
      "request_hash = excluded.request_hash, status = excluded.status, "                        \
      "location = excluded.location, body = excluded.body, created = excluded.created, "       \
      "daemon_id = NULL")                                                                       \
    X(IDEM_PURGE,                                                                               \
      "DELETE FROM idempotency_keys WHERE (user_id, key) IN "                                   \
      "(SELECT user_id, key FROM idempotency_keys WHERE created <= $1 LIMIT 64)")

/* documents.c */
#define PG_DOCUMENT_STATEMENTS(X)                                                               \
    X(ANN_INSERT,                                                                               \
      "INSERT INTO annotations (project_id, name, type, language, created_by, created) "        \
      "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")                                           \
    X(ANN_GET,                                                                                  \
      "SELECT a.id, a.project_id, a.name, a.type, a.language, a.created, a.document_count "     \
      "FROM annotations a WHERE a.project_id = $1 AND a.id = $2")                               \
    X(ANN_LIST,                                                                                 \
      "SELECT a.id, a.project_id, a.name, a.type, a.language, a.created, a.document_count "     \
      "FROM annotations a WHERE a.project_id = $1 ORDER BY a.id DESC")                          \
    X(ANN_LABELS,                                                                               \
      "SELECT kind, name, count FROM annotation_labels WHERE annotation_id = $1 "               \
      "ORDER BY kind, count DESC, name")                                                        \
    X(UPLOAD_LABEL_COUNT,                                                                       \
      "INSERT INTO upload_labels (upload_id, kind, name, count) VALUES ($1, $2, $3, 1) "        \
      "ON CONFLICT (upload_id, kind, name) DO UPDATE SET count = upload_labels.count + 1")      \
    X(DOC_INSERT,                                                                               \
      "INSERT INTO documents (annotation_id, external_id, text, class, labels, aspects, "       \
      "upload_id) VALUES ($1, $2, $3, $4, $5, $6, $7)")                                         \
    X(UPLOAD_INSERT,                                                                            \
      "INSERT INTO uploads (annotation_id, created, daemon_id) VALUES ($1, $2, $3) RETURNING id") \
    X(UPLOAD_ADD_DOCS,                                                                          \
      "UPDATE uploads SET documents = documents + $2 WHERE id = $1 AND published = 0")         \
    X(UPLOAD_GET,                                                                               \
      "SELECT annotation_id, documents FROM uploads WHERE id = $1 AND published = 0 "           \
      "FOR UPDATE")                                                                             \
    X(UPLOAD_PUBLISH, "UPDATE uploads SET published = 1 WHERE id = $1 AND published = 0")      \
    X(UPLOAD_MERGE_LABELS,                                                                      \
      "INSERT INTO annotation_labels (annotation_id, kind, name, count) "                      \
      "SELECT $2, kind, name, count FROM upload_labels WHERE upload_id = $1 "                   \
      "ORDER BY kind, name "                                                                    \
      "ON CONFLICT (annotation_id, kind, name) DO UPDATE "                                      \
      "SET count = annotation_labels.count + excluded.count")                                   \
    X(UPLOAD_DROP_LABELS, "DELETE FROM upload_labels WHERE upload_id = $1")                    \
    X(ANN_ADD_DOCS, "UPDATE annotations SET document_count = document_count + $2 WHERE id = $1") \
    X(UPLOAD_DISCARD_DOCS,                                                                      \
      "DELETE FROM documents WHERE id IN "                                                      \
      "(SELECT id FROM documents WHERE upload_id = $1 LIMIT $2)")                               \
    X(UPLOAD_DELETE, "DELETE FROM uploads WHERE id = $1 AND published = 0")                    \
    X(UPLOAD_UNPUBLISHED,                                                                       \
      "SELECT up.id FROM uploads up WHERE up.published = 0 AND NOT EXISTS "                     \
      "(SELECT 1 FROM daemons d WHERE d.id = up.daemon_id AND d.lease_until >= " PG_NOW_MS ") " \
      "ORDER BY up.id LIMIT 1")


/* models.c (MODEL_COLS: one model row with its owner's name) */
#define PG_MODEL_COLS                                                                           \
    "m.id, m.uuid, m.name, m.display_name, m.language, m.base_name, m.created, m.updated, "     \
    "u.name, m.progress, m.project_id, m.score, m.short_description, m.long_description, "      \
    "m.status, m.type, m.failure_reason, m.queued_at, m.started_at, m.finished_at, m.metrics, " \
    "m.warnings "                                                                              \
    "FROM models m LEFT JOIN users u ON u.id = m.owner_id "
#define PG_MODEL_STATEMENTS(X)                                                                  \
    X(MODEL_INSERT,                                                                             \
      "INSERT INTO models (uuid, workspace_id, project_id, name, display_name, language, type, " \
      "base_id, base_name, owner_id, status, progress, short_description, long_description, "   \
      "created, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'CREATED', 0, $11, "  \
      "$12, $13, $13) RETURNING id")                                                            \
    X(MODEL_ANN_INSERT,                                                                         \
      "INSERT INTO model_annotations (model_id, annotation_id, role) VALUES ($1, $2, $3)")      \
    X(MODEL_NAME_TAKEN, "SELECT 1 FROM models WHERE workspace_id = $1 AND name = $2")           \
    X(MODEL_GET, "SELECT " PG_MODEL_COLS "WHERE m.project_id = $1 AND m.id = $2")               \
    X(MODEL_LIST,                                                                               \
      "SELECT " PG_MODEL_COLS "WHERE m.project_id = $1 "                                        \
      "AND ($2::text IS NULL OR m.status = $2::text) "                                          \
      "AND ($3::text IS NULL OR m.type = $3::text) "                                            \
      "AND ($4::text IS NULL OR m.language = $4::text) "                                        \
      "AND ($5::bigint = 0 OR m.id < $5::bigint) ORDER BY m.id DESC LIMIT $6")                  \
    X(MODEL_BASE_INFO,                                                                          \
      "SELECT id, name, language, type, status, artifact, COALESCE(workspace_id, 0), "          \
      "COALESCE(project_id, 0) FROM models WHERE id = $1")                                      \
    X(BASE_INSERT,                                                                              \
      "INSERT INTO models (uuid, name, display_name, language, type, base_id, base_name, "      \
      "status, progress, artifact, created, updated) VALUES ($1, $2, $2, $3, 'BASE', $4, $5, "  \
      "'READY', 100, $6, $7, $7) RETURNING id")                                                 \
    X(BASE_NAME_TAKEN, "SELECT 1 FROM models WHERE type = 'BASE' AND name = $1")                \
    X(BASE_LIST,                                                                                \
      "SELECT id, uuid, name, language, created, base_id, base_name, "                          \
      "CASE WHEN artifact IS NOT NULL THEN 1 ELSE 0 END FROM models WHERE type = 'BASE' "       \
      "ORDER BY id")                                                                            \
    X(MODEL_STATUS, "SELECT status, artifact FROM models WHERE project_id = $1 AND id = $2")   \
    X(MODEL_STATUS_LOCK,                                                                        \
      "SELECT status, artifact FROM models WHERE project_id = $1 AND id = $2 FOR UPDATE")      \
    X(MODEL_SET_STATUS, "UPDATE models SET status = $2, updated = $3 WHERE id = $1")            \
    X(MODEL_SET_DISPLAY, "UPDATE models SET display_name = $2, updated = $3 WHERE id = $1")     \
    X(MODEL_SET_SHORT, "UPDATE models SET short_description = $2, updated = $3 WHERE id = $1")  \
    X(MODEL_SET_LONG, "UPDATE models SET long_description = $2, updated = $3 WHERE id = $1")    \
    X(MODEL_DELETE, "DELETE FROM models WHERE id = $1")


/* jobs.c: every write returns the project of the model it changed, for the
 * notification sent in the same transaction. Lease times are the server's
 * clock in unix milliseconds (PG_NOW_MS), so daemons on several hosts agree
 * on when a lease expired. */
#define PG_NOW_MS "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint"
#define PG_JOB_STATEMENTS(X)                                                                    \
    X(JOB_ENQUEUE,                                                                              \
      "UPDATE models SET status = 'QUEUED', queued_at = $2, updated = $2 "                      \
      "WHERE id = $1 AND status = 'CREATED' RETURNING COALESCE(project_id, 0)")                 \
    X(JOB_REQUEUE_ONE,                                                                          \
      "UPDATE models SET status = 'QUEUED', started_at = NULL, owner_daemon = NULL, "          \
      "lease_until = NULL, updated = $3 WHERE id = $1 AND status = 'TRAINING' AND attempt = $2 " \
      "RETURNING COALESCE(project_id, 0)")                                                      \
    X(JOB_CLAIM,                                                                                \
      "UPDATE models SET status = 'TRAINING', started_at = $1, updated = $1, owner_daemon = $2, " \
      "lease_until = " PG_NOW_MS " + $3, attempt = attempt + 1 "                                \
      "WHERE id = (SELECT id FROM models WHERE status = 'QUEUED' ORDER BY queued_at, id "       \
      "LIMIT 1 FOR UPDATE SKIP LOCKED) AND status = 'QUEUED' "                                  \
      "RETURNING id, COALESCE(project_id, 0), attempt")                                         \
    X(JOB_HELD, "SELECT 1 FROM models WHERE id = $1 AND status = 'TRAINING' AND attempt = $2") \
    X(JOB_GET,                                                                                  \
      "SELECT m.id, m.uuid, m.type, m.language, b.artifact, m.status, m.attempt FROM models m " \
      "LEFT JOIN models b ON b.id = m.base_id WHERE m.id = $1")                                 \
    X(JOB_SNAPSHOT, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")                          \
    X(JOB_DOCS,                                                                                 \
      "SELECT ma.role, d.text, d.class, d.labels, d.aspects, ma.annotation_id, d.id "           \
      "FROM model_annotations ma JOIN documents d ON d.annotation_id = ma.annotation_id "       \
      "LEFT JOIN uploads up ON up.id = d.upload_id WHERE ma.model_id = $1 "                     \
      "AND (d.upload_id IS NULL OR up.published = 1) "                                          \
      "AND (ma.annotation_id, d.id) > ($2::bigint, $3::bigint) "                                \
      "ORDER BY ma.annotation_id, d.id LIMIT $4")                                               \
    X(JOB_PROGRESS,                                                                             \
      "UPDATE models SET progress = $2, updated = $3 "                                          \
      "WHERE id = $1 AND status = 'TRAINING' AND attempt = $4 AND progress < $2 "               \
      "RETURNING COALESCE(project_id, 0)")                                                      \
    X(JOB_READY,                                                                                \
      "UPDATE models SET status = 'READY', progress = 100, score = $2, metrics = $3, "          \
      "artifact = $4, failure_reason = NULL, finished_at = $5, updated = $5, warnings = $6, "   \
      "owner_daemon = NULL, lease_until = NULL "                                                \
      "WHERE id = $1 AND status = 'TRAINING' AND attempt = $7 RETURNING COALESCE(project_id, 0)") \
    X(JOB_FAILED,                                                                               \
      "UPDATE models SET status = 'FAILED', failure_reason = $2, finished_at = $3, "            \
      "updated = $3, owner_daemon = NULL, lease_until = NULL "                                  \
      "WHERE id = $1 AND status IN ('CREATED', 'QUEUED', 'TRAINING') "                          \
      "RETURNING COALESCE(project_id, 0)")                                                      \
    X(JOB_FAILED_HELD,                                                                          \
      "UPDATE models SET status = 'FAILED', failure_reason = $2, finished_at = $3, "            \
      "updated = $3, owner_daemon = NULL, lease_until = NULL "                                  \
      "WHERE id = $1 AND status = 'TRAINING' AND attempt = $4 "                                 \
      "RETURNING COALESCE(project_id, 0)")                                                      \
    X(DAEMON_UPSERT,                                                                            \
      "INSERT INTO daemons (id, started, lease_until) VALUES ($1, " PG_NOW_MS ", "              \
      PG_NOW_MS " + $2) ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until")     \
    X(DAEMON_RENEW_JOBS,                                                                        \
      "UPDATE models SET lease_until = " PG_NOW_MS " + $2 "                                     \
      "WHERE owner_daemon = $1 AND status = 'TRAINING'")                                        \
    X(DAEMON_DELETE, "DELETE FROM daemons WHERE id = $1")                                       \
    X(DAEMON_JOBS,                                                                              \
      "SELECT id, attempt FROM models WHERE owner_daemon = $1 AND status = 'TRAINING' "         \
      "ORDER BY id")                                                                            \
    X(RESCUE_LOCK, "SELECT pg_try_advisory_xact_lock($1)")                                      \
    X(DAEMONS_EXPIRED,                                                                          \
      "DELETE FROM daemons WHERE ($1::int = 1 OR lease_until < " PG_NOW_MS ") AND id <> $2")    \
    X(RESCUE_FAIL,                                                                              \
      "UPDATE models SET status = 'FAILED', abandoned = abandoned + 1, owner_daemon = NULL, "   \
      "lease_until = NULL, finished_at = $3, updated = $3, failure_reason = 'abandoned after ' " \
      "|| (abandoned + 1) || ' attempts: each time the daemon training it stopped renewing "    \
      "its lease (it died or lost the database)' "                                             \
      "WHERE status = 'TRAINING' AND ($1::int = 1 OR lease_until IS NULL OR "                   \
      "lease_until < " PG_NOW_MS ") AND abandoned + 1 >= $2 "                                   \
      "RETURNING COALESCE(project_id, 0), id")                                                  \
    X(RESCUE_REQUEUE,                                                                           \
      "UPDATE models SET status = 'QUEUED', abandoned = abandoned + 1, owner_daemon = NULL, "   \
      "lease_until = NULL, started_at = NULL, queued_at = COALESCE(queued_at, $2), "           \
      "updated = $2 WHERE status = 'TRAINING' AND ($1::int = 1 OR lease_until IS NULL OR "      \
      "lease_until < " PG_NOW_MS ") RETURNING COALESCE(project_id, 0), id")                     \
    X(ARTIFACT_PUT,                                                                             \
      "INSERT INTO model_artifacts (model_id, bytes, checksum) VALUES ($1, $2, $3) "            \
      "ON CONFLICT (model_id) DO UPDATE SET bytes = excluded.bytes, "                           \
      "checksum = excluded.checksum")                                                           \
    X(ARTIFACT_GET, "SELECT bytes, checksum FROM model_artifacts WHERE model_id = $1")         \
    X(RESCUE_CREATED,                                                                           \
      "UPDATE models SET status = 'QUEUED', queued_at = COALESCE(queued_at, $1), updated = $1 " \
      "WHERE status = 'CREATED' RETURNING COALESCE(project_id, 0), id")

#define PG_STATEMENTS(X)                                                                        \
    PG_CONN_STATEMENTS(X)                                                                       \
    PG_ADMIN_STATEMENTS(X)                                                                      \
    PG_DOCUMENT_STATEMENTS(X)                                                                   \
    PG_MODEL_STATEMENTS(X)                                                                      \
    PG_JOB_STATEMENTS(X)

#define X_ENUM(name, sql) STMT_##name,
enum pg_stmt { PG_STATEMENTS(X_ENUM) PG_STMT_COUNT };
#undef X_ENUM

/* A connection: the dispatcher's part first, then PostgreSQL's. */
struct pg_conn {
    struct db_conn base;
    PGconn *h;            /* NULL until first used (connections open lazily) */
    unsigned char prepared[PG_STMT_COUNT]; /* prepared on h (cleared on reconnect) */
    int in_tx;            /* an outermost transaction is open */
    int retry;            /* the last failure was 40001/40P01: db_write may run again */
    struct pg_conn *next_free;
};

/* The database handle: the dispatcher's part, the conninfo, the pool. */
struct pg_db {
    struct db base;
    char *conninfo; /* never logged or quoted: it may carry a password */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pg_conn *conns;
    int n_conns;
    struct pg_conn *free_list;
    unsigned long long n_writes, n_commits; /* guarded by mu */
    int *pids; /* the server process of each connection (0: none); guarded by mu */
    struct pg_listen *listen; /* listen.c; NULL until db_watch */
};

static inline struct pg_conn *pg_conn_of(struct db_conn *c)
{
    return (struct pg_conn *)c;
}

static inline struct pg_db *pg_db_of(struct db *db)
{
    return (struct pg_db *)db;
}

/* ---- the binder (conn.c) --------------------------------------------------
 *
 * The one way statements run. Parameters $1..$n come from fmt, one letter
 * each (the letters of src/sqlite/, plus bytea):
 *   i  int64_t             t  const char * (NULL sends NULL)
 *   d  double              z  int64_t, 0 sends NULL (optional ids and times)
 *   b  const void *, size_t: bytea (binary; a NULL pointer sends NULL)
 * Before each statement db_fault_fires() may fail it (ROLLBACK never fails).
 * A failure fills err, mapped from the SQLSTATE:
 *   23505 unique violation            -> ERR_CONFLICT
 *   23503, 23502, 23514 (foreign key,
 *     not null, check)                -> ERR_INVALID (callers reword, as
 *                                        the SQLite backend's do)
 *   40001, 40P01 (serialization,
 *     deadlock)                       -> ERR_INTERNAL, and db_write retries
 *   a lost connection                 -> ERR_INTERNAL (reconnected at the
 *                                        next acquire)
 *   anything else                     -> ERR_INTERNAL with the server's text
 * The texts are for logs (never sent to clients); they never carry the
 * conninfo.
 *
 * Results are PGresult (libpq's): read them with PQntuples and the pg_col_*
 * readers below, free them with PQclear (NULL is fine).
 */

/* Run statement id; the result (rows or none), or NULL with err. */
PGresult *pg_run(struct db_conn *c, enum pg_stmt id, struct err *err, const char *fmt, ...);
PGresult *pg_vrun(struct db_conn *c, enum pg_stmt id, struct err *err, const char *fmt,
                  va_list ap);
/* Run a statement whose rows (if any) do not matter: 0, or -1 with err. */
int pg_exec(struct db_conn *c, enum pg_stmt id, struct err *err, const char *fmt, ...);
/* Run it and return how many rows it changed (PQcmdTuples: INSERT, UPDATE,
 * DELETE) or returned (SELECT), or -1 with err. */
int64_t pg_exec_count(struct db_conn *c, enum pg_stmt id, struct err *err, const char *fmt, ...);
/* Run a statement that returns at most one row: 1 and *out (PQclear it)
 * when there is one, 0 when none (ERR_NOT_FOUND with not_found in err, and
 * *out NULL), -1 on error (*out NULL). */
int pg_row(struct db_conn *c, enum pg_stmt id, PGresult **out, const char *not_found,
           struct err *err, const char *fmt, ...);
/* Whether the statement returns a row: 1 yes, 0 no, -1 on error. */
int pg_exists(struct db_conn *c, enum pg_stmt id, struct err *err, const char *fmt, ...);
/* Run an INSERT ... RETURNING id (or any statement whose first row's first
 * column is a bigint): that value, or -1 with err (ERR_NOT_FOUND when no row
 * came back: an INSERT ... SELECT that selected nothing). */
int64_t pg_insert(struct db_conn *c, enum pg_stmt id, struct err *err, const char *fmt, ...);

/* Columns of row `row` (NULL reads as 0, or as NULL for texts). */
int64_t pg_col_int(const PGresult *r, int row, int col);
double pg_col_double(const PGresult *r, int row, int col);
int pg_col_null(const PGresult *r, int row, int col);
/* The text, borrowed from r (NULL for NULL). */
const char *pg_col_text(const PGresult *r, int row, int col);
/* A copy of the text (NULL for NULL or when memory is short); pg_col_opt
 * also clears *ok when a present text could not be copied. */
char *pg_col_dup(const PGresult *r, int row, int col);
char *pg_col_opt(const PGresult *r, int row, int col, int *ok);
/* A bytea column decoded into a new buffer (*len bytes; free() it): NULL
 * for NULL (*len 0) or, with *ok cleared, when memory is short. */
unsigned char *pg_col_bytea(const PGresult *r, int row, int col, size_t *len, int *ok);
/* The end of a row reader: 0 when ok (every text was copied), else
 * ERR_NOMEM and -1. */
int pg_copied(int ok, struct err *err);
/* Enum columns: the stored name parsed; ERR_INTERNAL for a name the domain
 * does not know. */
int pg_col_status(const PGresult *r, int row, int col, enum model_status *out, struct err *err);
int pg_col_type(const PGresult *r, int row, int col, enum model_type *out, struct err *err);
int pg_col_language(const PGresult *r, int row, int col, enum language *out, struct err *err);
int pg_col_role(const PGresult *r, int row, int col, enum role *out, struct err *err);

/* A row reader: row `row` of r into elem (zeroed before). 0, or -1 with err
 * (then the caller releases what elem holds). */
typedef int (*pg_read_fn)(const PGresult *r, int row, void *elem, struct err *err);
/* Run statement id and read its one row into elem (elem_size bytes, zeroed
 * first) with read. 0, or -1 with err (ERR_NOT_FOUND with not_found); after
 * a failed read, clear(elem) has released what it held. */
int pg_get(struct db_conn *c, enum pg_stmt id, const char *not_found, pg_read_fn read,
           void (*clear)(void *elem), void *elem, size_t elem_size, struct err *err,
           const char *fmt, ...);
/* Run statement id and read its rows into a new array (*out, *n) of
 * elements of elem_size bytes, each zeroed and filled by read; at most max
 * rows (0: all), and *more (may be NULL) = 1 when another row followed. On
 * failure nothing is kept: release gets the elements read so far (and frees
 * the array). */
int pg_rows(struct db_conn *c, enum pg_stmt id, size_t elem_size, size_t max, pg_read_fn read,
            void (*release)(void *elems, size_t n), void **out, size_t *n, int *more,
            struct err *err, const char *fmt, ...);

/* Tell every other daemon's listener (listen.c) that a model changed:
 * sends NOTIFY modeld_model "project_id model_id" (project_id 0 for a
 * model of the base catalog) on c, inside the caller's
 * transaction, so it is delivered when (and only if) the change commits.
 * Call it in every write that changes a model row a stream shows. A
 * daemon's listener drops what its own connections sent: the daemon still
 * announces its own changes in-process after the commit
 * (notify_model_changed, with their exact kind), as on SQLite. 0 or -1. */
int pg_notify_model(struct db_conn *c, int64_t project_id, int64_t model_id, struct err *err);
/* The same, saying what happened: a model's creation (DB_MODEL_CREATED) or
 * deletion (DB_MODEL_DELETED) reaches the other daemons' project streams as
 * a `created` / `deleted` event (payload "project_id model_id created"). */
int pg_notify_model_as(struct db_conn *c, int64_t project_id, int64_t model_id,
                       enum db_model_change kind, struct err *err);

/* ---- the operations (struct db_backend_ops) ------------------------------- */

/* conn.c */
/* A new server connection for conninfo (notices silenced); NULL with err
 * (ERR_IO: unreachable; the message never quotes conninfo). */
PGconn *pg_connect(const char *conninfo, struct err *err);
struct db *pg_open(const char *where, int pool_size, struct err *err);
void pg_close(struct db *db);
struct db_conn *pg_acquire(struct db *db);
void pg_release(struct db_conn *c);
int pg_begin(struct db_conn *c, struct err *err);
int pg_commit(struct db_conn *c, struct err *err);
void pg_rollback(struct db_conn *c);
int pg_write(struct db *db, db_write_fn fn, void *ctx, struct err *err);
void pg_write_stats(struct db *db, struct db_write_stats *out);
int pg_models_by_status(struct db_conn *c, const char *const *names, long long *counts,
                        struct err *err);

/* admin.c */
int64_t pg_workspace_create(struct db_conn *c, const char *name, struct err *err);
int64_t pg_project_create(struct db_conn *c, int64_t workspace_id, const char *name,
                          struct err *err);
int64_t pg_user_create(struct db_conn *c, const char *name, int read_only, struct err *err);
int64_t pg_token_create(struct db_conn *c, int64_t user_id, const char *hash, int64_t expires_at,
                        struct err *err);
int64_t pg_token_revoke(struct db_conn *c, const char *hash, struct err *err);
int pg_member_add(struct db_conn *c, int64_t project_id, int64_t user_id, enum role role,
                  struct err *err);
int pg_token_lookup(struct db_conn *c, const char *hash, int64_t now, struct db_caller *out,
                    struct err *err);
int pg_member_role(struct db_conn *c, int64_t project_id, int64_t user_id, enum role *role,
                   int64_t *workspace_id, struct err *err);
int pg_auth_epoch(struct db_conn *c, int64_t *out, struct err *err);
int pg_user_list(struct db_conn *c, struct db_user **out, size_t *n, struct err *err);
int pg_user_set_disabled(struct db_conn *c, int64_t user_id, int disabled, struct err *err);
int pg_token_list(struct db_conn *c, int64_t user_id, struct db_token **out, size_t *n,
                  struct err *err);
int64_t pg_token_revoke_id(struct db_conn *c, int64_t id, struct err *err);
int64_t pg_token_revoke_user(struct db_conn *c, int64_t user_id, struct err *err);
int pg_token_touch(struct db_conn *c, int64_t id, int64_t now, struct err *err);

/* members.c */
int pg_member_list(struct db_conn *c, int64_t project_id, struct db_member **out, size_t *n,
                   struct err *err);
int pg_member_set(struct db_conn *c, int64_t project_id, int64_t user_id, enum role role,
                  enum db_member_mode mode, struct db_member_change *out, struct err *err);
int pg_member_remove(struct db_conn *c, int64_t project_id, int64_t user_id,
                     struct db_member_change *out, struct err *err);
int pg_project_list_for_user(struct db_conn *c, int64_t user_id, struct db_project_role **out,
                             size_t *n, struct err *err);

/* sessions.c */
int pg_session_create(struct db_conn *c, const char *token_hash, const struct db_session *s,
                      int64_t now, int64_t *expires_at, struct err *err);
int pg_session_get(struct db_conn *c, const char *hash, int64_t now, struct db_session *out,
                   struct err *err);
int pg_session_delete(struct db_conn *c, const char *hash, struct err *err);

/* idem.c */
int pg_idem_begin(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                  struct db_idem *out, struct err *err);
int pg_idem_unmark(struct db_conn *c, int64_t user_id, const char *key, struct err *err);
int pg_idem_put(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                const struct db_idem *r, struct err *err);

/* listen.c: db_watch (opens the listening connection and starts its
 * thread), and the stop that pg_close calls (accepts NULL). 1 or -1. */
int pg_watch(struct db *db, const struct db_watch *w, struct err *err);
void pg_listen_stop(struct pg_listen *l);
/* 1 when pid is the server process of one of db's pool connections. */
int pg_own_pid(struct pg_db *db, int pid);

/* migrate.c: apply pending migrations on h (a connection of its own, outside
 * any transaction); the number applied, or -1. Safe when several processes
 * run it at once (an advisory lock serializes them; each re-checks). */
int pg_migrate_apply(PGconn *h, struct err *err);
int pg_schema_latest(void);
int pg_schema_missing(struct db_conn *c, struct err *err);

/* documents.c */
int64_t pg_annotation_create(struct db_conn *c, int64_t project_id, const char *name,
                             enum model_type type, enum language language, int64_t user_id,
                             struct err *err);
int pg_annotation_get(struct db_conn *c, int64_t project_id, int64_t id,
                      struct db_annotation *out, struct err *err);
int pg_annotation_meta(struct db_conn *c, int64_t project_id, int64_t id, enum model_type *type,
                       enum language *language, struct err *err);
int pg_annotation_list(struct db_conn *c, int64_t project_id, struct db_annotation **out,
                       size_t *n, struct err *err);
int64_t pg_upload_open(struct db_conn *c, int64_t annotation_id, struct err *err);
int pg_upload_write(struct db_conn *c, int64_t upload_id, int64_t annotation_id,
                    db_doc_at_fn at, const void *ctx, size_t n, struct err *err);
int pg_upload_publish(struct db_conn *c, int64_t upload_id, struct err *err);
int pg_upload_discard(struct db_conn *c, int64_t upload_id, struct err *err);
int pg_upload_cleanup(struct db_conn *c, struct err *err);

/* models.c */
int64_t pg_model_create(struct db_conn *c, const struct db_model_new *m, struct err *err);
int pg_model_get(struct db_conn *c, int64_t project_id, int64_t id, int with_metrics,
                 struct db_model *out, struct err *err);
int pg_model_list(struct db_conn *c, int64_t project_id, const struct db_model_filter *f,
                  struct db_model **out, size_t *n, int64_t *next_id, struct err *err);
int pg_model_base_info(struct db_conn *c, int64_t id, struct db_base *out, struct err *err);
int64_t pg_base_create(struct db_conn *c, const char *uuid, const char *name,
                       enum language language, int64_t from_model, const char *artifact,
                       struct err *err);
int pg_base_list(struct db_conn *c, struct db_base_row **out, size_t *n, struct err *err);
int pg_model_patch(struct db_conn *c, int64_t project_id, int64_t id,
                   const struct db_model_patch *p, enum model_status *was, struct err *err);
int pg_model_delete(struct db_conn *c, int64_t project_id, int64_t id, char **artifact,
                    struct err *err);
int pg_model_status(struct db_conn *c, int64_t project_id, int64_t id,
                    enum model_status *status, char **artifact, struct err *err);

/* jobs.c */
int pg_daemon_heartbeat(struct db_conn *c, struct err *err);
int pg_daemon_leave(struct db_conn *c, struct err *err);
int pg_daemon_jobs(struct db_conn *c, struct db_lease **out, size_t *n, struct err *err);
int pg_job_rescue(struct db_conn *c, int max_attempts, int all, struct err *err);
int pg_job_enqueue(struct db_conn *c, int64_t id, struct err *err);
int pg_job_requeue(struct db_conn *c, int64_t id, int64_t attempt, struct err *err);
int pg_job_claim(struct db_conn *c, int64_t *id, int64_t *attempt, struct err *err);
int pg_job_get(struct db_conn *c, int64_t id, struct db_job *out, struct err *err);
int pg_job_documents(struct db_conn *c, int64_t id, db_doc_fn fn, void *ctx, struct err *err);
int pg_job_progress(struct db_conn *c, int64_t id, int64_t attempt, double pct,
                    struct err *err);
int pg_job_ready(struct db_conn *c, int64_t id, int64_t attempt, double score,
                 const char *metrics, const char *warnings, const char *artifact,
                 struct err *err);
int pg_job_failed(struct db_conn *c, int64_t id, int64_t attempt, const char *reason,
                  struct err *err);
int pg_artifact_put(struct db_conn *c, int64_t model_id, const void *bytes, size_t len,
                    const char *checksum, struct err *err);
int pg_artifact_get(struct db_conn *c, int64_t model_id, unsigned char **bytes, size_t *len,
                    char checksum[65], struct err *err);

#endif
