/* SPDX-License-Identifier: MIT */
/*
 * db: the storage interface's dispatcher (see db.h and db_backend.h).
 *
 * db_open picks the backend from its argument: a PostgreSQL connection
 * string (a postgresql:// or postgres:// URI, or libpq's "keyword=value"
 * form) opens the PostgreSQL backend (src/pg/); anything else is a SQLite
 * file path (src/sqlite/). Every other db_* function checks what holds
 * for every backend and calls the backend's operation:
 *   - a thread holds at most one connection (two could deadlock the pool),
 *     and only the thread holding a connection uses it;
 *   - transactions nest here: only the outermost db_begin/db_commit reach
 *     the backend, an inner rollback makes the outermost commit roll back.
 * The storage fault injector (a test hook) also lives here, so that every
 * backend fails the same n-th statement.
 */
#include "db.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "db_backend.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* ---- backend selection ------------------------------------------------------ */

/* libpq's connection keywords: an argument that starts with one of them and
 * '=' is a connection string ("host=db dbname=modeld"), not a file name. */
static const char *const pg_keywords[] = {
    "host",         "hostaddr",         "port",        "dbname",          "user",
    "password",     "passfile",         "service",     "options",         "sslmode",
    "sslcert",      "sslkey",           "sslrootcert", "connect_timeout", "application_name",
    "client_encoding", "target_session_attrs", "channel_binding", "gssencmode", "require_auth",
    NULL};

/* 1 when where names a PostgreSQL database rather than a SQLite file. */
static int is_postgres(const char *where)
{
    const char *p = where;
    size_t n;

    if (strncmp(where, "postgresql://", 13) == 0 || strncmp(where, "postgres://", 11) == 0)
        return 1;
    while (*p == ' ' || *p == '\t')
        p++;
    n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
    if (n == 0)
        return 0;
    for (const char *q = p + n; *q != '='; q++)
        if (*q != ' ' && *q != '\t')
            return 0;
    for (size_t i = 0; pg_keywords[i]; i++)
        if (strlen(pg_keywords[i]) == n && strncmp(pg_keywords[i], p, n) == 0)
            return 1;
    return 0;
}

int db_is_postgres(const char *where)
{
    return is_postgres(where);
}

struct db *db_open(const char *path, int pool_size, struct err *err)
{
    /* the argument is never quoted in an error: it may carry a password */
    const struct db_backend_ops *be = is_postgres(path) ? &db_pg_backend : &db_sqlite_backend;
    struct db *db;

    assert(path);
    db = be->open(path, pool_size, err);
    if (db)
        db->ops = be;
    return db;
}

void db_close(struct db *db)
{
    if (db)
        db->ops->close(db);
}

int db_schema_latest(const struct db *db)
{
    return db->ops->schema_latest();
}

/* ---- connections -------------------------------------------------------------- */

/* Connections the calling thread holds: a thread that takes a second one
 * while holding one can deadlock the pool (every thread waiting for a free
 * connection while holding one), so it is an invariant that it never does. */
static _Thread_local int conns_held;

struct db_conn *db_acquire(struct db *db)
{
    struct db_conn *c;

    assert(conns_held == 0 && "a thread holds one database connection at a time");
    c = db->ops->acquire(db);
    assert(c && c->db == db && !c->held && c->depth == 0);
    conns_held++;
    c->held = 1;
    c->owner = pthread_self();
    return c;
}

/* The connection's backend, once it is clear the calling thread holds it. */
static const struct db_backend_ops *be(struct db_conn *c)
{
    assert(c && c->held && "the connection is held");
    assert(pthread_equal(c->owner, pthread_self()) && "only its holder uses a connection");
    assert(c->depth >= 0);
    return c->db->ops;
}

void db_release(struct db *db, struct db_conn *c)
{
    if (!c)
        return;
    assert(c->db == db);
    be(c);
    assert(conns_held == 1);
    if (c->depth > 0) { /* a caller forgot to end it */
        assert(!"transaction left open");
        while (c->depth > 0)
            db_rollback(c);
    }
    conns_held--;
    c->held = 0;
    db->ops->release(c);
}

/* ---- transactions ----------------------------------------------------------------- */

int db_begin(struct db_conn *c, struct err *err)
{
    const struct db_backend_ops *ops = be(c);

    if (c->depth > 0) { /* nested: part of the outer transaction */
        c->depth++;
        return 0;
    }
    if (ops->begin(c, err) != 0)
        return -1;
    c->depth = 1;
    c->failed = 0;
    return 0;
}

int db_commit(struct db_conn *c, struct err *err)
{
    const struct db_backend_ops *ops = be(c);

    if (c->depth == 0) {
        err_set(err, ERR_INTERNAL, "commit without a transaction");
        return -1;
    }
    if (c->depth > 1) {
        c->depth--;
        if (c->failed) {
            err_set(err, ERR_INTERNAL, "an inner step of the transaction failed");
            return -1;
        }
        return 0;
    }
    c->depth = 0;
    if (c->failed) {
        c->failed = 0;
        ops->rollback(c);
        err_set(err, ERR_INTERNAL, "an inner step of the transaction failed");
        return -1;
    }
    return ops->commit(c, err); /* a failed commit has ended the transaction */
}

void db_rollback(struct db_conn *c)
{
    const struct db_backend_ops *ops = be(c);

    if (c->depth == 0)
        return;
    if (c->depth > 1) {
        c->depth--;
        c->failed = 1;
        return;
    }
    c->depth = 0;
    c->failed = 0;
    ops->rollback(c);
}

/* ---- writes ------------------------------------------------------------------------ */

/* The thread that runs db_write fns holds its own connection; the caller
 * holds none while it waits, or the writer could wait for the caller's. */
int db_write(struct db *db, db_write_fn fn, void *ctx, struct err *err)
{
    assert(conns_held == 0 && "release the connection before db_write");
    assert(fn);
    return db->ops->write(db, fn, ctx, err);
}

int db_write_run(struct db_conn *c, db_write_fn fn, void *ctx, struct err *err)
{
    int rc;

    be(c);
    assert(c->depth == 1 && !c->failed && "db_write_run inside the outermost transaction");
    rc = fn(c, ctx, err);
    assert(c->depth == 1 && "a write fn ends what it begins");
    if (rc == 0 && c->failed) {
        err_set(err, ERR_INTERNAL, "an inner step of the write failed");
        rc = -1;
    }
    c->failed = 0;
    return rc == 0 ? 0 : -1;
}

void db_write_stats(struct db *db, struct db_write_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (db->ops->write_stats)
        db->ops->write_stats(db, out);
}

void db_write_hold(struct db *db, int hold)
{
    if (db->ops->write_hold)
        db->ops->write_hold(db, hold);
}

int db_watch(struct db *db, const struct db_watch *w, struct err *err)
{
    assert(w && w->model && w->auth && w->resync);
    return db->ops->watch ? db->ops->watch(db, w, err) : 0;
}

/* ---- storage fault injection ---------------------------------------------------------- */

/* The countdown to the statement that fails; 0 = off. */
static atomic_long fault_countdown;

void db_fault_inject(long n)
{
    atomic_store(&fault_countdown, n > 0 ? n : 0);
}

long db_fault_pending(void)
{
    return atomic_load(&fault_countdown);
}

int db_fault_fires(void)
{
    long v = atomic_load(&fault_countdown);

    while (v > 0) {
        if (atomic_compare_exchange_weak(&fault_countdown, &v, v - 1))
            return v == 1;
    }
    return 0;
}

/* An operation the backend does not have (yet: a backend being written
 * leaves it NULL in its table): an error instead of a crash. */
static int missing(struct db_conn *c, const char *op, struct err *err)
{
    err_set(err, ERR_INTERNAL, "the %s storage has no %s operation", c->db->ops->name, op);
    return -1;
}
#define CALL(c, op, ...) (be(c)->op ? be(c)->op(c, __VA_ARGS__) : missing(c, #op, err))

/* ---- the operations ----------------------------------------------------------------------- */

int db_schema_missing(struct db_conn *c, struct err *err)
{
    return CALL(c, schema_missing, err);
}

int db_models_by_status(struct db_conn *c, const char *const *names, long long *counts,
                        struct err *err)
{
    return CALL(c, models_by_status, names, counts, err);
}

int64_t db_workspace_create(struct db_conn *c, const char *name, struct err *err)
{
    return CALL(c, workspace_create, name, err);
}

int64_t db_project_create(struct db_conn *c, int64_t workspace_id, const char *name,
                          struct err *err)
{
    return CALL(c, project_create, workspace_id, name, err);
}

int64_t db_user_create(struct db_conn *c, const char *name, int read_only, struct err *err)
{
    return CALL(c, user_create, name, read_only, err);
}

int64_t db_token_create(struct db_conn *c, int64_t user_id, const char *hash, int64_t expires_at,
                        struct err *err)
{
    return CALL(c, token_create, user_id, hash, expires_at, err);
}

int64_t db_token_revoke(struct db_conn *c, const char *hash, struct err *err)
{
    return CALL(c, token_revoke, hash, err);
}

int db_member_add(struct db_conn *c, int64_t project_id, int64_t user_id, enum role role,
                  struct err *err)
{
    assert(role > ROLE_NONE && role < ROLE_COUNT);
    return CALL(c, member_add, project_id, user_id, role, err);
}

int db_token_lookup(struct db_conn *c, const char *hash, int64_t now, struct db_caller *out,
                    struct err *err)
{
    return CALL(c, token_lookup, hash, now, out, err);
}

int db_member_role(struct db_conn *c, int64_t project_id, int64_t user_id, enum role *role,
                   int64_t *workspace_id, struct err *err)
{
    return CALL(c, member_role, project_id, user_id, role, workspace_id, err);
}

int db_auth_epoch(struct db_conn *c, int64_t *out, struct err *err)
{
    return CALL(c, auth_epoch, out, err);
}

int db_user_list(struct db_conn *c, struct db_user **out, size_t *n, struct err *err)
{
    return CALL(c, user_list, out, n, err);
}

int db_user_set_disabled(struct db_conn *c, int64_t user_id, int disabled, struct err *err)
{
    return CALL(c, user_set_disabled, user_id, disabled ? 1 : 0, err);
}

int db_token_list(struct db_conn *c, int64_t user_id, struct db_token **out, size_t *n,
                  struct err *err)
{
    assert(user_id >= 0);
    return CALL(c, token_list, user_id, out, n, err);
}

int64_t db_token_revoke_id(struct db_conn *c, int64_t id, struct err *err)
{
    return CALL(c, token_revoke_id, id, err);
}

int64_t db_token_revoke_user(struct db_conn *c, int64_t user_id, struct err *err)
{
    return CALL(c, token_revoke_user, user_id, err);
}

int db_token_touch(struct db_conn *c, int64_t id, int64_t now, struct err *err)
{
    assert(c->depth == 0 && "a touch is its own transaction");
    return CALL(c, token_touch, id, now, err);
}

int db_member_list(struct db_conn *c, int64_t project_id, struct db_member **out, size_t *n,
                   struct err *err)
{
    return CALL(c, member_list, project_id, out, n, err);
}

int db_member_set(struct db_conn *c, int64_t project_id, int64_t user_id, enum role role,
                  enum db_member_mode mode, struct db_member_change *out, struct err *err)
{
    struct db_member_change ignored;

    assert(role > ROLE_NONE && role < ROLE_COUNT);
    return CALL(c, member_set, project_id, user_id, role, mode, out ? out : &ignored, err);
}

int db_member_remove(struct db_conn *c, int64_t project_id, int64_t user_id,
                     struct db_member_change *out, struct err *err)
{
    struct db_member_change ignored;

    return CALL(c, member_remove, project_id, user_id, out ? out : &ignored, err);
}

int db_project_list_for_user(struct db_conn *c, int64_t user_id, struct db_project_role **out,
                             size_t *n, struct err *err)
{
    return CALL(c, project_list_for_user, user_id, out, n, err);
}

int64_t db_annotation_create(struct db_conn *c, int64_t project_id, const char *name,
                             enum model_type type, enum language language, int64_t user_id,
                             struct err *err)
{
    assert(type != TYPE_BASE && type < TYPE_COUNT && language < LANG_COUNT);
    return CALL(c, annotation_create, project_id, name, type, language, user_id, err);
}

int db_annotation_get(struct db_conn *c, int64_t project_id, int64_t id,
                      struct db_annotation *out, struct err *err)
{
    return CALL(c, annotation_get, project_id, id, out, err);
}

int db_annotation_meta(struct db_conn *c, int64_t project_id, int64_t id, enum model_type *type,
                       enum language *language, struct err *err)
{
    return CALL(c, annotation_meta, project_id, id, type, language, err);
}

int db_annotation_list(struct db_conn *c, int64_t project_id, struct db_annotation **out,
                       size_t *n, struct err *err)
{
    return CALL(c, annotation_list, project_id, out, n, err);
}

int64_t db_upload_open(struct db_conn *c, int64_t annotation_id, struct err *err)
{
    return CALL(c, upload_open, annotation_id, err);
}

int db_upload_write(struct db_conn *c, int64_t upload_id, int64_t annotation_id,
                    db_doc_at_fn at, const void *ctx, size_t n, struct err *err)
{
    return CALL(c, upload_write, upload_id, annotation_id, at, ctx, n, err);
}

int db_upload_publish(struct db_conn *c, int64_t upload_id, struct err *err)
{
    assert(c->depth > 0 && "db_upload_publish runs in the caller's transaction");
    return CALL(c, upload_publish, upload_id, err);
}

int db_upload_discard(struct db_conn *c, int64_t upload_id, struct err *err)
{
    return CALL(c, upload_discard, upload_id, err);
}

int db_upload_cleanup(struct db_conn *c, struct err *err)
{
    return CALL(c, upload_cleanup, err);
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


int db_idem_begin(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                  struct db_idem *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    return CALL(c, idem_begin, user_id, key, now, out, err);
}

int db_idem_unmark(struct db_conn *c, int64_t user_id, const char *key, struct err *err)
{
    return CALL(c, idem_unmark, user_id, key, err);
}

int db_idem_put(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                const struct db_idem *r, struct err *err)
{
    assert(c->depth > 0 && "db_idem_put runs in the transaction of the work it answers");
    return CALL(c, idem_put, user_id, key, now, r, err);
}

int64_t db_model_create(struct db_conn *c, const struct db_model_new *m, struct err *err)
{
    assert(m->type != TYPE_BASE && m->type < TYPE_COUNT && m->language < LANG_COUNT);
    assert(m->n_ann == 0 || (m->ann_ids && m->ann_roles));
    return CALL(c, model_create, m, err);
}

int db_model_get(struct db_conn *c, int64_t project_id, int64_t id, int with_metrics,
                 struct db_model *out, struct err *err)
{
    return CALL(c, model_get, project_id, id, with_metrics, out, err);
}

int db_model_list(struct db_conn *c, int64_t project_id, const struct db_model_filter *f,
                  struct db_model **out, size_t *n, int64_t *next_id, struct err *err)
{
    assert(f->limit > 0);
    return CALL(c, model_list, project_id, f, out, n, next_id, err);
}

int db_model_base_info(struct db_conn *c, int64_t id, struct db_base *out, struct err *err)
{
    return CALL(c, model_base_info, id, out, err);
}

int64_t db_base_create(struct db_conn *c, const char *uuid, const char *name,
                       enum language language, int64_t from_model, const char *artifact,
                       struct err *err)
{
    assert(language < LANG_COUNT && (from_model == 0) == (artifact == NULL));
    return CALL(c, base_create, uuid, name, language, from_model, artifact, err);
}

int db_base_list(struct db_conn *c, struct db_base_row **out, size_t *n, struct err *err)
{
    return CALL(c, base_list, out, n, err);
}

int db_model_patch(struct db_conn *c, int64_t project_id, int64_t id,
                   const struct db_model_patch *p, enum model_status *was, struct err *err)
{
    return CALL(c, model_patch, project_id, id, p, was, err);
}

int db_model_delete(struct db_conn *c, int64_t project_id, int64_t id, char **artifact,
                    struct err *err)
{
    return CALL(c, model_delete, project_id, id, artifact, err);
}

int db_model_status(struct db_conn *c, int64_t project_id, int64_t id, enum model_status *status,
                    char **artifact, struct err *err)
{
    return CALL(c, model_status, project_id, id, status, artifact, err);
}

int db_artifacts_shared(const struct db *db)
{
    return db->ops->artifact_get != NULL;
}

int db_artifact_put(struct db_conn *c, int64_t model_id, const void *bytes, size_t len,
                    const char *checksum, struct err *err)
{
    assert(c->depth > 0 && "an artifact is stored in the transaction that marks it READY");
    assert(bytes && checksum && strlen(checksum) == 64);
    return CALL(c, artifact_put, model_id, bytes, len, checksum, err);
}

int db_artifact_get(struct db_conn *c, int64_t model_id, unsigned char **bytes, size_t *len,
                    char checksum[65], struct err *err)
{
    *bytes = NULL;
    *len = 0;
    checksum[0] = '\0';
    return CALL(c, artifact_get, model_id, bytes, len, checksum, err);
}

void db_daemon_set(struct db *db, const char *id, int64_t lease_ms)
{
    assert(id && strlen(id) == DB_DAEMON_ID_LEN && lease_ms > 0);
    memcpy(db->daemon_id, id, DB_DAEMON_ID_LEN + 1);
    db->lease_ms = lease_ms;
}

const char *db_daemon_id(const struct db *db)
{
    return db->daemon_id;
}

int db_daemon_heartbeat(struct db_conn *c, struct err *err)
{
    assert(c->db->daemon_id[0] && "db_daemon_set first");
    return CALL(c, daemon_heartbeat, err);
}

int db_daemon_leave(struct db_conn *c, struct err *err)
{
    assert(c->db->daemon_id[0] && "db_daemon_set first");
    return CALL(c, daemon_leave, err);
}

int db_daemon_jobs(struct db_conn *c, struct db_lease **out, size_t *n, struct err *err)
{
    assert(c->db->daemon_id[0] && "db_daemon_set first");
    *out = NULL;
    *n = 0;
    return CALL(c, daemon_jobs, out, n, err);
}

int db_job_rescue(struct db_conn *c, int max_attempts, int all, struct err *err)
{
    assert(max_attempts >= 1);
    return CALL(c, job_rescue, max_attempts, all, err);
}

int db_job_enqueue(struct db_conn *c, int64_t id, struct err *err)
{
    return CALL(c, job_enqueue, id, err);
}

int db_job_requeue(struct db_conn *c, int64_t id, int64_t attempt, struct err *err)
{
    assert(attempt > 0);
    return CALL(c, job_requeue, id, attempt, err);
}

int db_job_claim(struct db_conn *c, int64_t *id, int64_t *attempt, struct err *err)
{
    int rc;

    assert(c->db->daemon_id[0] && "db_daemon_set first");
    rc = CALL(c, job_claim, id, attempt, err);
    assert(rc != 1 || (*id > 0 && *attempt > 0));
    return rc;
}

int db_job_get(struct db_conn *c, int64_t id, struct db_job *out, struct err *err)
{
    return CALL(c, job_get, id, out, err);
}

int db_job_documents(struct db_conn *c, int64_t id, db_doc_fn fn, void *ctx, struct err *err)
{
    return CALL(c, job_documents, id, fn, ctx, err);
}

int db_job_progress(struct db_conn *c, int64_t id, int64_t attempt, double pct, struct err *err)
{
    assert(pct >= 0.0 && pct <= 100.0 && attempt > 0);
    return CALL(c, job_progress, id, attempt, pct, err);
}

int db_job_ready(struct db_conn *c, int64_t id, int64_t attempt, double score,
                 const char *metrics, const char *warnings, const char *artifact,
                 struct err *err)
{
    assert(artifact && "a READY model has its artifact");
    assert(attempt > 0);
    return CALL(c, job_ready, id, attempt, score, metrics, warnings, artifact, err);
}

int db_job_failed(struct db_conn *c, int64_t id, int64_t attempt, const char *reason,
                  struct err *err)
{
    assert(reason && "a FAILED model says why");
    assert(attempt >= 0);
    return CALL(c, job_failed, id, attempt, reason, err);
}

/* ---- browser sessions ----------------------------------------------------------------- */

int db_session_create(struct db_conn *c, const char *token_hash, const struct db_session *s,
                      int64_t now, int64_t *expires_at, struct err *err)
{
    assert(strlen(s->hash) == 64 && strlen(s->csrf_hash) == 64 && s->expires_at > now);
    return CALL(c, session_create, token_hash, s, now, expires_at, err);
}

int db_session_get(struct db_conn *c, const char *hash, int64_t now, struct db_session *out,
                   struct err *err)
{
    return CALL(c, session_get, hash, now, out, err);
}

int db_session_delete(struct db_conn *c, const char *hash, struct err *err)
{
    return CALL(c, session_delete, hash, err);
}

/* ---- the domain structs (the same for every backend) ------------------------------------- */

void db_caller_release(struct db_caller *c)
{
    if (!c)
        return;
    free(c->user_name);
    c->user_name = NULL;
}

void db_users_release(struct db_user *u, size_t n)
{
    for (size_t i = 0; u && i < n; i++) {
        free(u[i].name);
        free(u[i].created);
    }
    free(u);
}

void db_tokens_release(struct db_token *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++) {
        free(t[i].user_name);
        free(t[i].created);
        free(t[i].revoked);
    }
    free(t);
}

void db_members_release(struct db_member *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++)
        free(m[i].user_name);
    free(m);
}

void db_project_roles_release(struct db_project_role *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++) {
        free(p[i].name);
        free(p[i].workspace_name);
        free(p[i].created);
    }
    free(p);
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

void db_idem_release(struct db_idem *r)
{
    free(r->request_hash);
    free(r->location);
    free(r->body);
    memset(r, 0, sizeof(*r));
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


void db_base_release(struct db_base *b)
{
    if (!b)
        return;
    free(b->name);
    free(b->artifact);
    memset(b, 0, sizeof(*b));
}


void db_job_release(struct db_job *j)
{
    if (!j)
        return;
    free(j->uuid);
    free(j->base_artifact);
    memset(j, 0, sizeof(*j));
}

void db_base_rows_release(struct db_base_row *b, size_t n)
{
    for (size_t i = 0; b && i < n; i++) {
        free(b[i].uuid);
        free(b[i].name);
        free(b[i].created);
        free(b[i].from_model);
    }
    free(b);
}

/* ---- helpers of the backends (db_backend.h) ------------------------------- */

int db_patch_apply(const struct db_model_patch *p, enum model_status status, db_patch_set_fn set,
                   void *ctx, struct err *err)
{
    if (p->set_status) {
        /* checked in the transaction that writes it (the status graph is domain's) */
        assert(domain_status_trained(p->status) && "users set only trained statuses");
        if (!domain_status_patch_ok(status, p->status)) {
            err_set(err, ERR_INVALID, "status change refused");
            return -1;
        }
        if (set(ctx, DB_PATCH_STATUS, domain_status_name(p->status), err) != 0)
            return -1;
    }
    if (p->display_name && set(ctx, DB_PATCH_DISPLAY, p->display_name, err) != 0)
        return -1;
    if ((p->short_description || p->clear_short) &&
        set(ctx, DB_PATCH_SHORT, p->short_description, err) != 0)
        return -1;
    if ((p->long_description || p->clear_long) &&
        set(ctx, DB_PATCH_LONG, p->long_description, err) != 0)
        return -1;
    return 0;
}

int db_doc_each_label(const struct db_doc *d, db_label_fn fn, void *ctx, struct err *err)
{
    assert(d->n_labels == 0 || d->label_names);
    assert(d->n_aspects == 0 || d->aspect_list);
    if (d->cls && fn(ctx, "class", d->cls, err) != 0)
        return -1;
    for (size_t i = 0; i < d->n_labels; i++)
        if (fn(ctx, "label", d->label_names[i], err) != 0)
            return -1;
    for (size_t i = 0; i < d->n_aspects; i++) {
        const struct db_aspect *a = &d->aspect_list[i];

        if ((a->category && fn(ctx, "category", a->category, err) != 0) ||
            (a->polarity && fn(ctx, "polarity", a->polarity, err) != 0))
            return -1;
    }
    return 0;
}
