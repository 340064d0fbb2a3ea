/* SPDX-License-Identifier: MIT */
/*
 * db_backend: the table of operations a storage backend implements behind
 * the storage interface db.h (as git's refs/refs-internal.h sits behind
 * refs.h). src/db.c is the dispatcher: db_open picks the backend from its
 * argument, and every db_* call checks what holds for any backend (the
 * connection is used by the thread that holds it, one connection per
 * thread, the nesting of transactions) before it calls the backend's
 * operation. The SQLite backend lives in src/sqlite/, the PostgreSQL one in
 * src/pg/. An operation a backend leaves NULL is answered by the dispatcher
 * with ERR_INTERNAL (never called).
 *
 * A backend embeds struct db and struct db_conn as the first members of its
 * own handle and connection structs and casts back in its operations.
 * Operations take and return the domain structs of db.h; they never see
 * JSON or build a message for users (an err carries the code and a terse
 * internal text; the callers word what users read).
 *
 * Private to src/db.c and the backends.
 */
#ifndef MODELD_DB_BACKEND_H
#define MODELD_DB_BACKEND_H

#include <pthread.h>

#include "db.h"

/* The dispatcher's part of a database handle. */
struct db {
    const struct db_backend_ops *ops; /* set by db_open */
    char daemon_id[DB_DAEMON_ID_LEN + 1]; /* db_daemon_set; "" before */
    int64_t lease_ms;
};

/* The dispatcher's part of a connection. */
struct db_conn {
    struct db *db;   /* set by the backend when it creates the connection */
    pthread_t owner; /* the thread holding it (while held) */
    int held;
    int depth;  /* db_begin nesting: only the outermost level reaches the backend */
    int failed; /* an inner level rolled back: the outermost commit rolls back */
};

/*
 * What a backend implements. Every operation except open runs with the
 * calling thread holding the connection; unless a comment says otherwise it
 * has the contract of the db_* function of the same name in db.h.
 */
struct db_backend_ops {
    const char *name;

    /* where: the argument of db_open (already known to be this backend's). */
    struct db *(*open)(const char *where, int pool_size, struct err *err);
    void (*close)(struct db *db);
    /* Wait for a free connection / give it back (the dispatcher has ended
     * any transaction left open). */
    struct db_conn *(*acquire)(struct db *db);
    void (*release)(struct db_conn *c);

    /* The outermost transaction only (the dispatcher counts the nesting):
     * begin takes the write lock; commit ends the transaction also when it
     * fails; rollback ends it and never fails. */
    int (*begin)(struct db_conn *c, struct err *err);
    int (*commit)(struct db_conn *c, struct err *err);
    void (*rollback)(struct db_conn *c);

    /* db_write: run fn in a transaction, return after its commit. The
     * backend runs fn through db_write_run (below) on a connection held by
     * the thread that runs it. */
    int (*write)(struct db *db, db_write_fn fn, void *ctx, struct err *err);
    /* May be NULL (counters stay 0; the test hook does nothing). */
    void (*write_stats)(struct db *db, struct db_write_stats *out);
    void (*write_hold)(struct db *db, int hold);
    /* May be NULL (db_watch returns 0: the backend reports nothing). */
    int (*watch)(struct db *db, const struct db_watch *w, struct err *err);

    int (*schema_latest)(void);
    int (*schema_missing)(struct db_conn *c, struct err *err);
    int (*models_by_status)(struct db_conn *c, const char *const *names, long long *counts,
                            struct err *err);

    /* admin and auth */
    int64_t (*workspace_create)(struct db_conn *c, const char *name, struct err *err);
    int64_t (*project_create)(struct db_conn *c, int64_t workspace_id, const char *name,
                              struct err *err);
    int64_t (*user_create)(struct db_conn *c, const char *name, int read_only, struct err *err);
    int64_t (*token_create)(struct db_conn *c, int64_t user_id, const char *hash,
                            int64_t expires_at, struct err *err);
    int64_t (*token_revoke)(struct db_conn *c, const char *hash, struct err *err);
    int (*member_add)(struct db_conn *c, int64_t project_id, int64_t user_id, enum role role,
                      struct err *err);
    int (*token_lookup)(struct db_conn *c, const char *hash, int64_t now, struct db_caller *out,
                        struct err *err);
    int (*member_role)(struct db_conn *c, int64_t project_id, int64_t user_id, enum role *role,
                       int64_t *workspace_id, struct err *err);
    int (*auth_epoch)(struct db_conn *c, int64_t *out, struct err *err);

    /* administration */
    int (*user_list)(struct db_conn *c, struct db_user **out, size_t *n, struct err *err);
    int (*user_set_disabled)(struct db_conn *c, int64_t user_id, int disabled, struct err *err);
    int (*token_list)(struct db_conn *c, int64_t user_id, struct db_token **out, size_t *n,
                      struct err *err);
    int64_t (*token_revoke_id)(struct db_conn *c, int64_t id, struct err *err);
    int64_t (*token_revoke_user)(struct db_conn *c, int64_t user_id, struct err *err);
    int (*token_touch)(struct db_conn *c, int64_t id, int64_t now, struct err *err);
    int (*member_list)(struct db_conn *c, int64_t project_id, struct db_member **out, size_t *n,
                       struct err *err);
    int (*member_set)(struct db_conn *c, int64_t project_id, int64_t user_id, enum role role,
                      enum db_member_mode mode, struct db_member_change *out, struct err *err);
    int (*member_remove)(struct db_conn *c, int64_t project_id, int64_t user_id,
                         struct db_member_change *out, struct err *err);
    int (*project_list_for_user)(struct db_conn *c, int64_t user_id,
                                 struct db_project_role **out, size_t *n, struct err *err);

    /* labeling sessions and their staged uploads */
    int64_t (*annotation_create)(struct db_conn *c, int64_t project_id, const char *name,
                                 enum model_type type, enum language language, int64_t user_id,
                                 struct err *err);
    int (*annotation_get)(struct db_conn *c, int64_t project_id, int64_t id,
                          struct db_annotation *out, struct err *err);
    int (*annotation_meta)(struct db_conn *c, int64_t project_id, int64_t id,
                           enum model_type *type, enum language *language, struct err *err);
    int (*annotation_list)(struct db_conn *c, int64_t project_id, struct db_annotation **out,
                           size_t *n, struct err *err);
    int64_t (*upload_open)(struct db_conn *c, int64_t annotation_id, struct err *err);
    int (*upload_write)(struct db_conn *c, int64_t upload_id, int64_t annotation_id,
                        db_doc_at_fn at, const void *ctx, size_t n, struct err *err);
    int (*upload_publish)(struct db_conn *c, int64_t upload_id, struct err *err);
    int (*upload_discard)(struct db_conn *c, int64_t upload_id, struct err *err);
    int (*upload_cleanup)(struct db_conn *c, struct err *err);

    /* Idempotency-Key records */
    int (*idem_begin)(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                      struct db_idem *out, struct err *err);
    int (*idem_unmark)(struct db_conn *c, int64_t user_id, const char *key, struct err *err);
    int (*idem_put)(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                    const struct db_idem *r, struct err *err);

    /* models and the base catalog */
    int64_t (*model_create)(struct db_conn *c, const struct db_model_new *m, struct err *err);
    int (*model_get)(struct db_conn *c, int64_t project_id, int64_t id, int with_metrics,
                     struct db_model *out, struct err *err);
    int (*model_list)(struct db_conn *c, int64_t project_id, const struct db_model_filter *f,
                      struct db_model **out, size_t *n, int64_t *next_id, struct err *err);
    int (*model_base_info)(struct db_conn *c, int64_t id, struct db_base *out, struct err *err);
    int64_t (*base_create)(struct db_conn *c, const char *uuid, const char *name,
                           enum language language, int64_t from_model, const char *artifact,
                           struct err *err);
    int (*base_list)(struct db_conn *c, struct db_base_row **out, size_t *n, struct err *err);
    int (*model_patch)(struct db_conn *c, int64_t project_id, int64_t id,
                       const struct db_model_patch *p, enum model_status *was, struct err *err);
    int (*model_delete)(struct db_conn *c, int64_t project_id, int64_t id, char **artifact,
                        struct err *err);
    int (*model_status)(struct db_conn *c, int64_t project_id, int64_t id,
                        enum model_status *status, char **artifact, struct err *err);

    /* daemons, leases and the job queue (the daemon is c->db->daemon_id) */
    int (*daemon_heartbeat)(struct db_conn *c, struct err *err);
    int (*daemon_leave)(struct db_conn *c, struct err *err);
    int (*daemon_jobs)(struct db_conn *c, struct db_lease **out, size_t *n, struct err *err);
    int (*job_rescue)(struct db_conn *c, int max_attempts, int all, struct err *err);
    int (*job_enqueue)(struct db_conn *c, int64_t id, struct err *err);
    int (*job_requeue)(struct db_conn *c, int64_t id, int64_t attempt, struct err *err);
    int (*job_claim)(struct db_conn *c, int64_t *id, int64_t *attempt, struct err *err);
    int (*job_get)(struct db_conn *c, int64_t id, struct db_job *out, struct err *err);
    int (*job_documents)(struct db_conn *c, int64_t id, db_doc_fn fn, void *ctx,
                         struct err *err);
    int (*job_progress)(struct db_conn *c, int64_t id, int64_t attempt, double pct,
                        struct err *err);
    int (*job_ready)(struct db_conn *c, int64_t id, int64_t attempt, double score,
                     const char *metrics, const char *warnings, const char *artifact,
                     struct err *err);
    int (*job_failed)(struct db_conn *c, int64_t id, int64_t attempt, const char *reason,
                      struct err *err);
    /* artifacts in the database: both NULL for a backend that keeps files */
    int (*artifact_put)(struct db_conn *c, int64_t model_id, const void *bytes, size_t len,
                        const char *checksum, struct err *err);
    int (*artifact_get)(struct db_conn *c, int64_t model_id, unsigned char **bytes,
                        size_t *len, char checksum[65], struct err *err);

    /* browser sessions */
    int (*session_create)(struct db_conn *c, const char *token_hash, const struct db_session *s,
                          int64_t now, int64_t *expires_at, struct err *err);
    int (*session_get)(struct db_conn *c, const char *hash, int64_t now, struct db_session *out,
                       struct err *err);
    int (*session_delete)(struct db_conn *c, const char *hash, struct err *err);
};

/* The backends. */
extern const struct db_backend_ops db_sqlite_backend;
extern const struct db_backend_ops db_pg_backend; /* src/pg/ */

/* For a backend's write: run fn on c, which the calling thread holds inside
 * an open transaction (db_begin), as one db_write unit: it returns fn's
 * result, or -1 when fn returned 0 after an inner db_rollback; it asserts
 * that fn left the nesting as it found it. The backend undoes fn's work on
 * -1 (a savepoint, or the whole transaction). */
int db_write_run(struct db_conn *c, db_write_fn fn, void *ctx, struct err *err);

/* Storage fault injection (db_fault_inject): a backend calls this before
 * each statement it sends, except the ones that end a failed transaction
 * (a ROLLBACK); 1 means "fail this one" (ERR_INTERNAL). */
int db_fault_fires(void);

/* What every backend's model_patch and document insert do the same way. */
/* The columns a PATCH writes. */
enum db_patch_col { DB_PATCH_STATUS, DB_PATCH_DISPLAY, DB_PATCH_SHORT, DB_PATCH_LONG };
typedef int (*db_patch_set_fn)(void *ctx, enum db_patch_col col, const char *value,
                               struct err *err);
/* Apply p to a model whose status is status (read in the backend's
 * transaction): ERR_INVALID when the status change is refused (nothing
 * set), else set(ctx, col, value, err) for each column p writes (value
 * NULL: clear it). 0, or -1 with err. */
int db_patch_apply(const struct db_model_patch *p, enum model_status status, db_patch_set_fn set,
                   void *ctx, struct err *err);
/* Call fn(ctx, kind, name, err) for each label a stored document counts in
 * its session's inventory: its class, labels, aspect categories and
 * polarities (kind "class", "label", "category", "polarity"). 0, or fn's -1. */
typedef int (*db_label_fn)(void *ctx, const char *kind, const char *name, struct err *err);
int db_doc_each_label(const struct db_doc *d, db_label_fn fn, void *ctx, struct err *err);

#endif
