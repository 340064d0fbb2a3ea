/* SPDX-License-Identifier: MIT */
/*
 * db: the storage interface. The server stores and reads everything through
 * these db_* functions, in domain structs and enums (domain.h); no caller
 * sees SQL or the backend behind it. src/db.c dispatches each call to the
 * backend db_open chose (the table of operations of src/db_backend.h): today
 * SQLite (src/sqlite/, the only code that knows SQL), a PostgreSQL backend
 * next.
 *
 * struct db is a small pool of connections. A thread takes one with
 * db_acquire(), uses it alone, and gives it back with db_release().
 * Strings inside out-structs are owned by the struct and freed by its
 * *_release function. Errors carry a code and a terse internal text; the
 * callers word what users read.
 *
 * Thread-safety: db_open/db_close from one thread; db_acquire/db_release from
 * any thread; everything taking a struct db_conn only by the thread holding it
 * (asserted), and a thread holds one connection at a time (asserted).
 */
#ifndef MODELD_DB_H
#define MODELD_DB_H

#include <stddef.h>
#include <stdint.h>

#include "domain.h"
#include "err.h"

struct db;
struct db_conn;

/* Open (create) the database at path with pool_size connections and apply
 * pending migrations. path is a SQLite file (":memory:" gets one connection:
 * SQLite gives each connection its own in-memory database). A PostgreSQL
 * connection string (postgresql:// or postgres:// URI, or libpq's
 * "keyword=value ..." form) opens that database instead (connections are
 * made as they are first needed, up to pool_size); ERR_IO when the server
 * cannot be reached (the message never quotes the string: it may carry a
 * password). */
struct db *db_open(const char *path, int pool_size, struct err *err);
/* 1 when db_open would take where for a PostgreSQL database (no file, no
 * file lock: several daemons may share it), 0 for a SQLite file. */
int db_is_postgres(const char *where);
void db_close(struct db *db);
struct db_conn *db_acquire(struct db *db);
void db_release(struct db *db, struct db_conn *c);

/* counts[i] = the models (not catalog bases) whose status is names[i] (NULL-terminated). */
int db_models_by_status(struct db_conn *c, const char *const *names, long long *counts,
                        struct err *err);

/* The schema version this binary migrates db to. */
int db_schema_latest(const struct db *db);
/* How many of the migrations 1..db_schema_latest() are not recorded as
 * applied (0: the schema is complete; it reads the database, so it also
 * proves it reachable), or -1 with err. */
int db_schema_missing(struct db_conn *c, struct err *err);

/*
 * Transactions on a held connection, for the CLI, tests and work inside a
 * db_write fn (the daemon itself writes through db_write, below). db_begin
 * waits for the write turn (writers, the SQLite writer's batches included,
 * are served in arrival order) and takes the write lock. They nest: an inner
 * db_begin/db_commit pair is part of the outer transaction, an inner
 * db_rollback makes the outermost db_commit roll back. A failed db_commit
 * has ended its level (do not roll back after it).
 */
int db_begin(struct db_conn *c, struct err *err);
int db_commit(struct db_conn *c, struct err *err);
void db_rollback(struct db_conn *c);

/*
 * Writes. db_write runs fn(c, ctx, err) in a write transaction and returns
 * once that transaction has committed durably (0) or fn's work was undone
 * (-1 with err: fn's own error, or the commit's). It is the way the daemon
 * writes: request handlers, workers and start-up code put a unit of work
 * (a model row with its sessions, its queue entry and its Idempotency-Key
 * record; a claim; a status move) in one fn.
 *
 * How it runs is the backend's business. The SQLite backend hands fn to its
 * one writer thread, which runs the writes that are waiting together in one
 * transaction, each inside a savepoint (a failing fn undoes only its own
 * work), and commits them with one fsync (group commit); a PostgreSQL
 * backend runs BEGIN; fn; COMMIT on a connection of its own. So fn:
 *   - may run on another thread, and in one transaction with other writes:
 *     it uses only c (held for it, in a transaction: db_idem_put and
 *     db_upload_publish may be called, db_begin nests) and ctx;
 *   - returns 0, or -1 with err set; a -1 undoes everything fn wrote;
 *   - is short (one request's work; an upload writes in batches), since the
 *     writes batched with it wait for it;
 *   - does not call db_write or db_acquire, and hands out what it read
 *     through ctx, which belongs to the caller again once db_write returns.
 * The calling thread must not hold a connection (asserted): the writer may
 * need one from the pool. A -1 of fn is returned as is; a failed commit
 * fails every write of its transaction (none was acknowledged).
 */
typedef int (*db_write_fn)(struct db_conn *c, void *ctx, struct err *err);
int db_write(struct db *db, db_write_fn fn, void *ctx, struct err *err);

/* Counters of the writes so far (for /metrics and the benchmark): writes
 * run, transactions that carried them, and the most writes one carried. */
struct db_write_stats {
    unsigned long long writes, commits, max_batch;
    unsigned long long queued; /* writes waiting for the writer now */
};
void db_write_stats(struct db *db, struct db_write_stats *out);
/* Test hook: while held (hold 1), writes queue and none runs; hold 0 lets
 * the writer run everything queued meanwhile as one batch. A backend
 * without a writer ignores it. */
void db_write_hold(struct db *db, int hold);

/*
 * Changes made through other processes' connections to the same database
 * (other daemons, the admin CLI), for a backend that can report them:
 * PostgreSQL's LISTEN/NOTIFY. The callbacks run on a thread of the
 * backend's own, one at a time, until db_close; they must not call into db.
 *   model:  a model of project_id was created, changed or deleted (kind:
 *           as the writer said; a deleted model may come as CHANGED, and
 *           its row is then gone);
 *   auth:   a row that grants rights changed (token, user, membership);
 *   resync: changes may have been missed (the feed was cut and has been
 *           made again): treat everything as changed.
 * This process's own changes are not reported (it announces them itself).
 * Returns 1 when the backend reports changes (the feed is open when it
 * returns), 0 when it does not (SQLite: one daemon per database, whose own
 * announcements are all there is; the CLI's changes reach it through
 * auth_epoch), -1 with err. At most once per db.
 */
enum db_model_change { DB_MODEL_CHANGED, DB_MODEL_CREATED, DB_MODEL_DELETED };
struct db_watch {
    void (*model)(void *arg, int64_t project_id, int64_t model_id, enum db_model_change kind);
    void (*auth)(void *arg);
    void (*resync)(void *arg);
    void *arg;
};
int db_watch(struct db *db, const struct db_watch *w, struct err *err);

/* Test hook: the n-th storage statement from now (any thread) fails with
 * ERR_INTERNAL "injected storage fault", once; 0 turns it off. ROLLBACK is
 * never failed. db_fault_pending: how many statements are left before it
 * fires (0: it fired, or it is off). */
void db_fault_inject(long n);
long db_fault_pending(void);

/* ---- admin -------------------------------------------------------------- */
/* Each returns the new id. ERR_NOT_FOUND for a workspace, user or project
 * that does not exist; ERR_CONFLICT for a user name that is taken. */
int64_t db_workspace_create(struct db_conn *c, const char *name, struct err *err);
int64_t db_project_create(struct db_conn *c, int64_t workspace_id, const char *name, struct err *err);
int64_t db_user_create(struct db_conn *c, const char *name, int read_only, struct err *err);
/* expires_at: unix seconds, 0 = never. hash: hex BLAKE2b of the token. */
int64_t db_token_create(struct db_conn *c, int64_t user_id, const char *hash, int64_t expires_at,
                        struct err *err);
/* Returns the token id; ERR_NOT_FOUND when no such (unrevoked) token. */
int64_t db_token_revoke(struct db_conn *c, const char *hash, struct err *err);
int db_member_add(struct db_conn *c, int64_t project_id, int64_t user_id, enum role role,
                  struct err *err);

/* ---- administration ----------------------------------------------------- */
struct db_user {
    int64_t id;
    char *name, *created;
    int read_only, disabled;
};
void db_users_release(struct db_user *u, size_t n); /* and free(u) */
/* Every user, by id (*out: db_users_release). */
int db_user_list(struct db_conn *c, struct db_user **out, size_t *n, struct err *err);
/* Disable (1) or enable (0) a user: a disabled user's tokens are refused as
 * unknown ones are. ERR_NOT_FOUND for no such user. */
int db_user_set_disabled(struct db_conn *c, int64_t user_id, int disabled, struct err *err);

/* A token as listed: never its text or its hash. */
struct db_token {
    int64_t id, user_id;
    char *user_name, *created;
    char *revoked;              /* RFC 3339, NULL: active */
    int64_t expires_at;         /* unix seconds, 0 = never */
    int64_t last_used;          /* unix seconds, 0 = never (precise to a minute) */
};
void db_tokens_release(struct db_token *t, size_t n); /* and free(t) */
/* The tokens of user_id (0: of every user), by id (*out: db_tokens_release). */
int db_token_list(struct db_conn *c, int64_t user_id, struct db_token **out, size_t *n,
                  struct err *err);
/* Revoke the unrevoked token id; returns id, ERR_NOT_FOUND when none. */
int64_t db_token_revoke_id(struct db_conn *c, int64_t id, struct err *err);
/* Revoke every unrevoked token of the user; returns how many (0 or more),
 * ERR_NOT_FOUND for no such user. */
int64_t db_token_revoke_user(struct db_conn *c, int64_t user_id, struct err *err);
/* Record that token id was used at now (unix seconds; never moves back).
 * One statement in its own transaction; the caller keeps it rare (once a
 * minute per token). */
int db_token_touch(struct db_conn *c, int64_t id, int64_t now, struct err *err);

/* A member of a project as listed. */
struct db_member {
    int64_t user_id;
    char *user_name;
    enum role role;
    int read_only, disabled;
};
void db_members_release(struct db_member *m, size_t n); /* and free(m) */
/* The members of a project by user id (*out: db_members_release);
 * ERR_NOT_FOUND for no such project. */
int db_member_list(struct db_conn *c, int64_t project_id, struct db_member **out, size_t *n,
                   struct err *err);

/* How db_member_set treats a user who is (or is not) a member already. */
enum db_member_mode {
    DB_MEMBER_ADD,    /* only a new member: ERR_CONFLICT when one already */
    DB_MEMBER_CHANGE, /* only a member's role: ERR_NOT_FOUND when not one */
    DB_MEMBER_PUT     /* either */
};
/* What a membership change found (also when it was refused). */
struct db_member_change {
    enum role was;  /* the role before; ROLE_NONE: was not a member */
    int last_owner; /* ERR_CONFLICT because the user is the project's last OWNER */
};
/*
 * Give user_id role in project_id (by mode), in one transaction. The last
 * OWNER of a project cannot be demoted: ERR_CONFLICT with out->last_owner.
 * ERR_NOT_FOUND for no such project or user (or, in DB_MEMBER_CHANGE, no
 * such member). out (may be NULL) is filled also on ERR_CONFLICT.
 */
int db_member_set(struct db_conn *c, int64_t project_id, int64_t user_id, enum role role,
                  enum db_member_mode mode, struct db_member_change *out, struct err *err);
/* Remove a member (in one transaction). ERR_NOT_FOUND when the user is not
 * a member; ERR_CONFLICT with out->last_owner for the project's last OWNER. */
int db_member_remove(struct db_conn *c, int64_t project_id, int64_t user_id,
                     struct db_member_change *out, struct err *err);

/* A project the user has a role in. */
struct db_project_role {
    int64_t id, workspace_id;
    char *name, *workspace_name, *created;
    enum role role;
};
void db_project_roles_release(struct db_project_role *p, size_t n); /* and free(p) */
/* The projects user_id has a role in, by id (*out: db_project_roles_release). */
int db_project_list_for_user(struct db_conn *c, int64_t user_id, struct db_project_role **out,
                             size_t *n, struct err *err);

/* ---- auth --------------------------------------------------------------- */
struct db_caller {
    int64_t user_id;
    char *user_name;
    int read_only;
    int64_t token_id;
    int64_t expires_at; /* unix seconds, 0 = never */
    int64_t last_used;  /* unix seconds, 0 = never */
};
void db_caller_release(struct db_caller *c);
/* The change counter of everything that decides who a token is and what
 * they may do (tokens revoked or expiring, users disabled or made
 * read-only, memberships): it grows in the transaction of each such change,
 * whoever makes it (this process or another one). An authentication cache
 * empties itself when it sees a new value. */
int db_auth_epoch(struct db_conn *c, int64_t *out, struct err *err);
/* ERR_NOT_FOUND for an unknown, revoked or expired token, or one of a
 * disabled user. */
int db_token_lookup(struct db_conn *c, const char *hash, int64_t now, struct db_caller *out,
                    struct err *err);
/* Role of the user in the project; ERR_NOT_FOUND when none (or no such
 * project). *workspace_id (may be NULL) receives the project's workspace. */
int db_member_role(struct db_conn *c, int64_t project_id, int64_t user_id, enum role *role,
                   int64_t *workspace_id, struct err *err);

/* ---- browser sessions (POST /session) -------------------------------------- */
/* A session as stored: the hashes (hex BLAKE2b) of its cookie id and of its
 * CSRF token; token_hash is the hash of the token it was signed in with
 * (filled by db_session_get; the caller checks that token with
 * db_token_lookup, so whatever makes a token invalid ends its sessions). */
struct db_session {
    char hash[65];
    char csrf_hash[65];
    char token_hash[65];
    int64_t expires_at; /* unix seconds */
};
/* Store session s (hash, csrf_hash, expires_at) for the token whose hash is
 * token_hash, if that token is valid at now; expired sessions are purged.
 * *expires_at receives the stored expiry: s->expires_at, or the token's
 * own when it comes first. ERR_NOT_FOUND for an unknown, revoked or expired
 * token. */
int db_session_create(struct db_conn *c, const char *token_hash, const struct db_session *s,
                      int64_t now, int64_t *expires_at, struct err *err);
/* The unexpired session whose cookie hash is hash (token_hash, csrf_hash,
 * expires_at of out filled; out->hash is left alone, so hash may be it);
 * ERR_NOT_FOUND when none. It does not check the token. */
int db_session_get(struct db_conn *c, const char *hash, int64_t now, struct db_session *out,
                   struct err *err);
/* Sign out: delete the session (0 also when there was none). */
int db_session_delete(struct db_conn *c, const char *hash, struct err *err);

/* ---- labeling sessions -------------------------------------------------- */
/* type: an annotation type (not TYPE_BASE); user_id 0: none. */
int64_t db_annotation_create(struct db_conn *c, int64_t project_id, const char *name,
                             enum model_type type, enum language language, int64_t user_id,
                             struct err *err);
/* A labeling session as stored: its row and its label inventory (how many
 * documents carry each class, label, aspect category and polarity). The API
 * view of it is view_annotation's (view.h). */
enum label_kind { LABEL_KIND_CLASS, LABEL_KIND_LABEL, LABEL_KIND_CATEGORY, LABEL_KIND_POLARITY };
struct db_label_count {
    enum label_kind kind;
    char *name;
    int64_t count;
};
struct db_annotation {
    int64_t id, project_id;
    char *name, *created;
    enum model_type type;
    enum language language;
    int64_t document_count;
    struct db_label_count *labels; /* by kind, then count descending, then name */
    size_t n_labels;
};
void db_annotation_release(struct db_annotation *a);
void db_annotations_release(struct db_annotation *a, size_t n); /* and free(a) */
/* One session of the project; ERR_NOT_FOUND. */
int db_annotation_get(struct db_conn *c, int64_t project_id, int64_t id,
                      struct db_annotation *out, struct err *err);
/* type/language of a session of the project; ERR_NOT_FOUND. */
int db_annotation_meta(struct db_conn *c, int64_t project_id, int64_t id, enum model_type *type,
                       enum language *language, struct err *err);
/* The project's sessions, newest first (*out: caller frees with db_annotations_release). */
int db_annotation_list(struct db_conn *c, int64_t project_id, struct db_annotation **out,
                       size_t *n, struct err *err);

/* An aspect of a document: its category and polarity. */
struct db_aspect {
    const char *category, *polarity;
};
/* A document to store. The labels and aspects come twice: as the JSON texts
 * stored with the document (for the trainer), and parsed (by ingest) into
 * the lists that storage counts into the session's label inventory, so that
 * storage never parses JSON. */
struct db_doc {
    const char *external_id; /* may be NULL */
    const char *text;
    const char *cls;         /* may be NULL */
    const char *labels;      /* JSON array text or NULL */
    const char *aspects;     /* JSON array text or NULL */
    const char *const *label_names; /* the labels of `labels` */
    size_t n_labels;
    const struct db_aspect *aspect_list; /* the aspects of `aspects` */
    size_t n_aspects;
};
/*
 * Uploads: documents are written in bounded batches as rows no reader sees
 * (session views, trainings), then made visible together by one small
 * commit. Use: id = db_upload_open; db_upload_write (any number of times);
 * then inside a transaction db_upload_publish (+ whatever else must commit
 * with it); on any failure db_upload_discard. Rows of uploads never
 * published are removed by db_upload_cleanup once their daemon is gone. Inside an outer
 * transaction (the CLI import) the batches are part of it.
 */
int64_t db_upload_open(struct db_conn *c, int64_t annotation_id, struct err *err);
typedef const struct db_doc *(*db_doc_at_fn)(const void *ctx, size_t i);
/* Stage documents at(ctx, 0..n-1) of the session; each batch commits on its own. */
int db_upload_write(struct db_conn *c, int64_t upload_id, int64_t annotation_id,
                    db_doc_at_fn at, const void *ctx, size_t n, struct err *err);
/* Publish (in the caller's open transaction): the documents, their labels and
 * the session's document_count become visible when it commits. */
int db_upload_publish(struct db_conn *c, int64_t upload_id, struct err *err);
/* Delete an unpublished upload and its rows (in bounded transactions). */
int db_upload_discard(struct db_conn *c, int64_t upload_id, struct err *err);
/* Discard every unpublished upload whose daemon is gone (its lease expired;
 * an upload records the daemon that staged it, db_daemon_id); returns how
 * many, or -1. */
int db_upload_cleanup(struct db_conn *c, struct err *err);

/* Add documents at(ctx, 0..n-1) in one transaction (or as part of the
 * caller's): for the CLI and tests, where nobody waits for the write lock. */
int db_documents_add(struct db_conn *c, int64_t annotation_id, db_doc_at_fn at, const void *ctx,
                     size_t n, struct err *err);

/* ---- idempotency keys --------------------------------------------------- */
/* The stored answer of a request with an Idempotency-Key. */
struct db_idem {
    char *request_hash; /* hex digest of method, path and body */
    int status;
    char *location; /* may be NULL */
    char *body;     /* JSON text */
};
void db_idem_release(struct db_idem *r);
/*
 * Take key for a request (in the caller's open transaction; a db_write):
 * 1 and *out when the caller's unexpired (24 h) answer is stored; else 0,
 * and the key is marked in progress by this daemon (db_daemon_id), which
 * db_idem_put replaces with the answer and db_idem_unmark removes. -1 with
 * ERR_CONFLICT when another live daemon's request holds the key (the mark
 * of a daemon whose lease expired, or of this daemon, whose in-process
 * registry decides, is taken over), or another error.
 */
int db_idem_begin(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                  struct db_idem *out, struct err *err);
/* Remove this daemon's in-progress mark of key (a request that stored no
 * answer); 0 also when there is none. */
int db_idem_unmark(struct db_conn *c, int64_t user_id, const char *key, struct err *err);
/* Store a record (in the caller's open transaction, with the work it answers);
 * replaces an expired one and purges a few other expired records. */
int db_idem_put(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                const struct db_idem *r, struct err *err);

/* ---- models ------------------------------------------------------------- */
/* How a model uses a session: all its documents (split 80/20 by the
 * trainer), or as its training or its test set. */
enum db_ann_role { DB_ANN_ALL, DB_ANN_TRAIN, DB_ANN_TEST };
struct db_model_new {
    const char *uuid, *name, *display_name;
    enum language language;
    enum model_type type; /* an annotation type, the one of its sessions */
    const char *short_description, *long_description; /* may be NULL */
    int64_t project_id, workspace_id, owner_id;
    int64_t base_id;         /* 0 = none */
    const char *base_name;   /* may be NULL */
    const int64_t *ann_ids;  /* the sessions and their roles */
    const enum db_ann_role *ann_roles;
    size_t n_ann;
};
/* Insert the model (status CREATED) with its sessions in one transaction.
 * ERR_CONFLICT when the name is taken in the workspace. Returns the id. */
int64_t db_model_create(struct db_conn *c, const struct db_model_new *m, struct err *err);

/* A model as stored (a row of models with its owner's name). The API view
 * of it is view_model's (view.h). */
struct db_model {
    int64_t id, project_id;
    char *uuid, *name, *display_name, *base_name, *created, *updated, *owner; /* may be NULL: */
    char *short_description, *long_description, *failure_reason;            /* base_name, owner */
    char *queued_at, *started_at, *finished_at;                              /* and these */
    char *metrics, *warnings; /* stored JSON texts (NULL: none; metrics only when asked) */
    enum language language;
    enum model_type type;
    enum model_status status;
    double progress, score;
    int has_score;
};
void db_model_release(struct db_model *m);
void db_models_release(struct db_model *m, size_t n); /* and free(m) */

/* One model of the project (with its metrics text when with_metrics); ERR_NOT_FOUND. */
int db_model_get(struct db_conn *c, int64_t project_id, int64_t id, int with_metrics,
                 struct db_model *out, struct err *err);

/* Each of status, type and language filters only when its by_ flag is set;
 * a 0 flag means any. */
struct db_model_filter {
    int by_status, by_type, by_language;
    enum model_status status;
    enum model_type type;
    enum language language;
    int64_t before_id;                    /* keyset: ids < before_id; 0 = from the newest */
    int limit;
};
/* A page of models newest first (without metrics; *out: db_models_release);
 * *next_id is the cursor id or 0 on the last page. */
int db_model_list(struct db_conn *c, int64_t project_id, const struct db_model_filter *f,
                  struct db_model **out, size_t *n, int64_t *next_id, struct err *err);

struct db_base {
    int64_t id;
    char *name, *artifact;
    enum language language;
    enum model_type type;
    enum model_status status;
    int64_t workspace_id; /* 0 for the global BASE catalog */
    int64_t project_id;   /* 0 for the global BASE catalog */
};
void db_base_release(struct db_base *b);
/* Any model row by id (for base_id checks); ERR_NOT_FOUND. */
int db_model_base_info(struct db_conn *c, int64_t id, struct db_base *out, struct err *err);
/* A model of the global base catalog (from_model 0: none, else its
 * artifact copy); ERR_CONFLICT when the name is taken, ERR_NOT_FOUND when
 * from_model is not a model. Returns the id. */
int64_t db_base_create(struct db_conn *c, const char *uuid, const char *name,
                       enum language language, int64_t from_model, const char *artifact,
                       struct err *err);
/* A model of the global base catalog as listed. The API view of it is
 * view_base's (view.h). */
struct db_base_row {
    int64_t id;
    char *uuid, *name, *created;
    enum language language;
    int64_t from_model_id; /* 0: none */
    char *from_model;      /* may be NULL */
    int has_weights;       /* an artifact is stored */
};
void db_base_rows_release(struct db_base_row *b, size_t n); /* and free(b) */
/* The base catalog, oldest first (*out: db_base_rows_release). */
int db_base_list(struct db_conn *c, struct db_base_row **out, size_t *n, struct err *err);

/* PATCH: each non-NULL field is set; status transitions are checked here in
 * the same transaction (ERR_INVALID for a forbidden one). ERR_NOT_FOUND.
 * *was (may be NULL) receives the status the model had, once it was found. */
struct db_model_patch {
    const char *display_name, *short_description, *long_description;
    int set_status; /* change the status to status */
    enum model_status status;
    int clear_short, clear_long; /* set the description to NULL */
};
int db_model_patch(struct db_conn *c, int64_t project_id, int64_t id,
                   const struct db_model_patch *p, enum model_status *was, struct err *err);

/* Delete the model row; *artifact (caller frees, may be NULL) is its artifact path. */
int db_model_delete(struct db_conn *c, int64_t project_id, int64_t id, char **artifact,
                    struct err *err);

/* ---- daemons, leases and the job queue -------------------------------------- */
/*
 * Several daemons may share one database and its queue (docs/DESIGN.md, "The
 * queue protocol"). Each process is a daemon with a random id and a lease: a
 * row renewed by its heartbeat (db_daemon_heartbeat, every third of the
 * lease). A claimed job records its owner, an attempt number and a lease
 * expiry renewed with the daemon's. The attempt is the fencing token: every
 * write a worker makes about its job names it, and one that no longer
 * matches (the job was canceled, deleted, or its lease expired and it was
 * taken back) changes nothing and fails with ERR_FENCED: stop, write nothing.
 * Times are the backend's clock (SQLite: this host's; PostgreSQL: the
 * server's), in milliseconds.
 */
#define DB_DAEMON_ID_LEN 32 /* hex characters */
/* Make id (DB_DAEMON_ID_LEN hex characters) the daemon of db, with leases
 * of lease_ms; before any heartbeat or claim, from one thread. */
void db_daemon_set(struct db *db, const char *id, int64_t lease_ms);
/* The daemon id ("" before db_daemon_set). */
const char *db_daemon_id(const struct db *db);
/* Register or renew this daemon's lease and the leases of the jobs it holds
 * (now + lease). */
int db_daemon_heartbeat(struct db_conn *c, struct err *err);
/* Remove this daemon's row (a clean stop, after its jobs were requeued). */
int db_daemon_leave(struct db_conn *c, struct err *err);
/* A job a daemon holds: TRAINING, owned by it, with this attempt. */
struct db_lease {
    int64_t id, attempt;
};
/* The jobs this daemon holds (*out: free()). A worker whose job is not among
 * them has lost it (canceled, deleted or taken back): it stops. */
int db_daemon_jobs(struct db_conn *c, struct db_lease **out, size_t *n, struct err *err);
/*
 * The rescue: TRAINING rows whose lease expired (all of them when all is 1:
 * a daemon that knows it is alone, the SQLite file lock) go back to QUEUED,
 * or to FAILED ("abandoned after N attempts ...") when this was their
 * max_attempts-th lost lease; CREATED rows become QUEUED; rows of daemons
 * whose lease expired are deleted (they are gone: their staged uploads and
 * Idempotency-Keys in progress may be taken back). One rescuer at a time
 * (SQLite: the write lock; PostgreSQL: an advisory lock, and a daemon that
 * does not get it skips). Returns the number of jobs moved, or -1.
 */
int db_job_rescue(struct db_conn *c, int max_attempts, int all, struct err *err);

/* CREATED -> QUEUED for one model (no-op in other states). */
int db_job_enqueue(struct db_conn *c, int64_t id, struct err *err);
/* TRAINING (this attempt) -> QUEUED: the daemon stops and gives the job
 * back, which is not a lost attempt. 1 when applied, 0 when the job was no
 * longer held, -1 with err. */
int db_job_requeue(struct db_conn *c, int64_t id, int64_t attempt, struct err *err);
/* Claim the oldest QUEUED job for this daemon (QUEUED -> TRAINING in one
 * transaction, attempt + 1, lease from now). Returns 1 with *id and
 * *attempt when claimed, 0 when none, -1 on error. */
int db_job_claim(struct db_conn *c, int64_t *id, int64_t *attempt, struct err *err);

struct db_job {
    int64_t id;
    char *uuid, *base_artifact; /* base_artifact may be NULL */
    enum model_type type;
    enum language language;
    enum model_status status; /* when read (a worker checks it is still TRAINING) */
    int64_t attempt;          /* the last claim's */
};
void db_job_release(struct db_job *j);
int db_job_get(struct db_conn *c, int64_t id, struct db_job *out, struct err *err);

/* Iterate over the model's documents; role is "all", "train" or "test".
 * fn returns 0 to go on, -1 to stop with an error. */
typedef int (*db_doc_fn)(void *ctx, const char *role, const char *text, const char *cls,
                         const char *labels, const char *aspects);
int db_job_documents(struct db_conn *c, int64_t id, db_doc_fn fn, void *ctx, struct err *err);

/* Raise progress of the job this attempt holds (never lowers it): 0, or -1
 * with ERR_FENCED when the attempt no longer holds it. */
int db_job_progress(struct db_conn *c, int64_t id, int64_t attempt, double pct, struct err *err);
/* TRAINING (this attempt) -> READY with score, metrics and warnings (JSON
 * texts) and artifact path. 1 when applied; -1 with ERR_FENCED when the
 * attempt no longer holds the job (canceled, deleted, taken back). */
int db_job_ready(struct db_conn *c, int64_t id, int64_t attempt, double score,
                 const char *metrics, const char *warnings, const char *artifact,
                 struct err *err);
/* -> FAILED with reason. attempt > 0: only TRAINING with this attempt (a
 * worker; -1 with ERR_FENCED otherwise); attempt 0: from CREATED, QUEUED or
 * TRAINING (a user's cancel, whoever trains it). 1 when applied, 0 when the
 * status did not allow it (attempt 0). */
int db_job_failed(struct db_conn *c, int64_t id, int64_t attempt, const char *reason,
                  struct err *err);
/*
 * Artifacts in the database, so that every daemon can load every model: a
 * backend that shares its database between hosts (PostgreSQL) stores each
 * trained artifact's bytes with its checksum (hex BLAKE2b-256), written in
 * the transaction that marks the model READY (after db_job_ready applied:
 * fenced by its attempt); daemons copy them into a local cache
 * (artifacts.h). SQLite keeps artifacts as files only: db_artifacts_shared
 * is 0 and the other two are ERR_INTERNAL.
 */
int db_artifacts_shared(const struct db *db);
int db_artifact_put(struct db_conn *c, int64_t model_id, const void *bytes, size_t len,
                    const char *checksum, struct err *err);
/* The artifact of model_id: *bytes (free()), *len and checksum; ERR_NOT_FOUND
 * when none is stored. */
int db_artifact_get(struct db_conn *c, int64_t model_id, unsigned char **bytes, size_t *len,
                    char checksum[65], struct err *err);

/* Status (and artifact path, caller frees; may be NULL) of a model of the project; ERR_NOT_FOUND. */
int db_model_status(struct db_conn *c, int64_t project_id, int64_t id, enum model_status *status,
                    char **artifact, struct err *err);

/*
 * Online backup (src/db_backup.c): copy the database at db_path into the new
 * file to_path through SQLite's backup API, as one consistent snapshot taken
 * while a daemon may be writing (WAL readers never block it), check the copy
 * (quick_check), make it a self-contained file (rollback journal; the daemon
 * turns WAL on again when it opens it), and call each_artifact(path, arg) for
 * every artifact path the snapshot names, before the copy is renamed into
 * place (written as to_path.part, fsync'd, renamed, directory fsync'd). The
 * source is never migrated or written. An each_artifact that returns nonzero
 * abandons the backup. ERR_IO when the source cannot be read or the copy
 * written, ERR_CORRUPT when the copy fails its check, ERR_INVALID when
 * to_path exists.
 */
int db_backup(const char *db_path, const char *to_path,
              int (*each_artifact)(const char *path, void *arg), void *arg, struct err *err);

#endif
