/* SPDX-License-Identifier: MIT */
/*
 * pg/models.c: models (create, read, list, PATCH, delete, status) and the
 * base-model catalog on PostgreSQL, with the operations, errors, orderings
 * and cursor of src/sqlite/models.c. Where SQLite's single writer made a
 * read-then-write exact, the row is locked instead (PATCH and delete read
 * the model FOR UPDATE), and name uniqueness is the unique indexes' answer
 * when another daemon inserts the same name at the same moment (23505 ->
 * ERR_CONFLICT). Every change to a project's model sends the model
 * notification in its own transaction, so other daemons' streams see it.
 */
#include "internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* ---- models ---------------------------------------------------------------- */

/* The name of a session's role in a model, as stored. */
static const char *ann_role_name(enum db_ann_role r)
{
    static const char *const names[] = {"all", "train", "test"};

    assert(r >= 0 && (size_t)r < sizeof(names) / sizeof(names[0]));
    return names[r];
}

int64_t pg_model_create(struct db_conn *c, const struct db_model_new *m, struct err *err)
{
    char now[UTIL_TIME_LEN];
    int64_t id;
    int taken;

    if (db_begin(c, err) != 0)
        return -1;
    /* The common case answered without a failed statement (which would end
     * PostgreSQL's transaction); a daemon inserting the same name meanwhile
     * is stopped by the unique index. */
    taken = pg_exists(c, STMT_MODEL_NAME_TAKEN, err, "it", m->workspace_id, m->name);
    if (taken != 0) {
        if (taken > 0)
            err_set(err, ERR_CONFLICT, "model name taken");
        goto fail;
    }
    util_now_rfc3339(now);
    id = pg_insert(c, STMT_MODEL_INSERT, err, "tiittttztittt", m->uuid, m->workspace_id,
                   m->project_id, m->name, m->display_name, domain_language_name(m->language),
                   domain_type_name(m->type), m->base_id, m->base_name, m->owner_id,
                   m->short_description, m->long_description, now);
    if (id < 0) {
        if (err && err->code == ERR_CONFLICT) /* another writer won */
            err_set(err, ERR_CONFLICT, "model name taken");
        goto fail;
    }
    for (size_t i = 0; i < m->n_ann; i++)
        if (pg_exec(c, STMT_MODEL_ANN_INSERT, err, "iit", id, m->ann_ids[i],
                    ann_role_name(m->ann_roles[i])) != 0)
            goto fail;
    if (pg_notify_model_as(c, m->project_id, id, DB_MODEL_CREATED, err) != 0)
        goto fail;
    if (db_commit(c, err) != 0)
        return -1;
    return id;
fail:
    db_rollback(c);
    return -1;
}

/* Row `row` of a PG_MODEL_COLS result into out. */
static int model_row(const PGresult *r, int row, int with_metrics, struct db_model *out,
                     struct err *err)
{
    int ok = 1;

    out->id = pg_col_int(r, row, 0);
    out->uuid = pg_col_opt(r, row, 1, &ok);
    out->name = pg_col_opt(r, row, 2, &ok);
    out->display_name = pg_col_opt(r, row, 3, &ok);
    out->base_name = pg_col_opt(r, row, 5, &ok);
    out->created = pg_col_opt(r, row, 6, &ok);
    out->updated = pg_col_opt(r, row, 7, &ok);
    out->owner = pg_col_opt(r, row, 8, &ok);
    out->progress = pg_col_double(r, row, 9);
    out->project_id = pg_col_int(r, row, 10);
    out->has_score = !pg_col_null(r, row, 11);
    out->score = pg_col_double(r, row, 11);
    out->short_description = pg_col_opt(r, row, 12, &ok);
    out->long_description = pg_col_opt(r, row, 13, &ok);
    out->failure_reason = pg_col_opt(r, row, 16, &ok);
    out->queued_at = pg_col_opt(r, row, 17, &ok);
    out->started_at = pg_col_opt(r, row, 18, &ok);
    out->finished_at = pg_col_opt(r, row, 19, &ok);
    if (with_metrics)
        out->metrics = pg_col_opt(r, row, 20, &ok);
    out->warnings = pg_col_opt(r, row, 21, &ok);
    if (pg_col_language(r, row, 4, &out->language, err) != 0 ||
        pg_col_status(r, row, 14, &out->status, err) != 0 ||
        pg_col_type(r, row, 15, &out->type, err) != 0)
        return -1;
    return pg_copied(ok, err);
}

static int model_read(const PGresult *r, int row, void *elem, struct err *err)
{
    return model_row(r, row, 0, elem, err);
}

static int model_read_metrics(const PGresult *r, int row, void *elem, struct err *err)
{
    return model_row(r, row, 1, elem, err);
}

static void model_clear(void *elem)
{
    db_model_release(elem);
}

int pg_model_get(struct db_conn *c, int64_t project_id, int64_t id, int with_metrics,
                 struct db_model *out, struct err *err)
{
    return pg_get(c, STMT_MODEL_GET, "model not found",
                  with_metrics ? model_read_metrics : model_read, model_clear, out, sizeof(*out),
                  err, "ii", project_id, id);
}

static void models_free(void *elems, size_t n)
{
    db_models_release(elems, n);
}

int pg_model_list(struct db_conn *c, int64_t project_id, const struct db_model_filter *f,
                  struct db_model **out, size_t *n, int64_t *next_id, struct err *err)
{
    void *items;
    int more;

    *out = NULL;
    *n = 0;
    *next_id = 0;
    if (pg_rows(c, STMT_MODEL_LIST, sizeof(**out), (size_t)f->limit, model_read, models_free,
                &items, n, &more, err, "itttii", project_id,
                f->by_status ? domain_status_name(f->status) : NULL,
                f->by_type ? domain_type_name(f->type) : NULL,
                f->by_language ? domain_language_name(f->language) : NULL, f->before_id,
                (int64_t)f->limit + 1) != 0)
        return -1;
    *out = items;
    if (more) /* a row beyond the page: the cursor is the page's last id */
        *next_id = (*out)[*n - 1].id;
    return 0;
}

/* Row `row` of MODEL_BASE_INFO into elem (a struct db_base). */
static int base_info_read(const PGresult *r, int row, void *elem, struct err *err)
{
    struct db_base *out = elem;
    int ok = 1;

    out->id = pg_col_int(r, row, 0);
    out->name = pg_col_opt(r, row, 1, &ok);
    out->artifact = pg_col_opt(r, row, 5, &ok);
    out->workspace_id = pg_col_int(r, row, 6);
    out->project_id = pg_col_int(r, row, 7);
    if (pg_col_language(r, row, 2, &out->language, err) != 0 ||
        pg_col_type(r, row, 3, &out->type, err) != 0 ||
        pg_col_status(r, row, 4, &out->status, err) != 0)
        return -1;
    return pg_copied(ok && out->name, err);
}

static void base_clear(void *elem)
{
    db_base_release(elem);
}

int pg_model_base_info(struct db_conn *c, int64_t id, struct db_base *out, struct err *err)
{
    return pg_get(c, STMT_MODEL_BASE_INFO, "model not found", base_info_read, base_clear, out,
                  sizeof(*out), err, "i", id);
}

int64_t pg_base_create(struct db_conn *c, const char *uuid, const char *name,
                       enum language language, int64_t from_model, const char *artifact,
                       struct err *err)
{
    char now[UTIL_TIME_LEN];
    struct db_base src = {0};
    int64_t id = -1;
    int taken;

    if (db_begin(c, err) != 0)
        return -1;
    taken = pg_exists(c, STMT_BASE_NAME_TAKEN, err, "t", name);
    if (taken != 0) {
        if (taken > 0)
            err_set(err, ERR_CONFLICT, "base model name taken");
        goto out;
    }
    if (from_model > 0 && pg_model_base_info(c, from_model, &src, err) != 0)
        goto out;
    util_now_rfc3339(now);
    id = pg_insert(c, STMT_BASE_INSERT, err, "tttzttt", uuid, name, domain_language_name(language),
                   from_model, src.name, artifact, now);
    if (id > 0) {
        if (db_commit(c, err) != 0) /* a failed commit has ended the transaction */
            id = -1;
        db_base_release(&src);
        return id;
    }
    if (err && err->code == ERR_CONFLICT) /* another writer won */
        err_set(err, ERR_CONFLICT, "base model name taken");
out:
    db_rollback(c);
    db_base_release(&src);
    return -1;
}

/* Row `row` of BASE_LIST into elem (a struct db_base_row). */
static int base_read(const PGresult *r, int row, void *elem, struct err *err)
{
    struct db_base_row *b = elem;
    int ok = 1;

    b->id = pg_col_int(r, row, 0);
    b->uuid = pg_col_opt(r, row, 1, &ok);
    b->name = pg_col_opt(r, row, 2, &ok);
    b->created = pg_col_opt(r, row, 4, &ok);
    b->from_model_id = pg_col_int(r, row, 5); /* NULL reads as 0 */
    b->from_model = pg_col_opt(r, row, 6, &ok);
    b->has_weights = (int)pg_col_int(r, row, 7);
    if (pg_col_language(r, row, 3, &b->language, err) != 0)
        return -1;
    return pg_copied(ok, err);
}

static void bases_free(void *elems, size_t n)
{
    db_base_rows_release(elems, n);
}

int pg_base_list(struct db_conn *c, struct db_base_row **out, size_t *n, struct err *err)
{
    void *items;

    *out = NULL;
    *n = 0;
    if (pg_rows(c, STMT_BASE_LIST, sizeof(**out), 0, base_read, bases_free, &items, n, NULL, err,
                "") != 0)
        return -1;
    *out = items;
    return 0;
}

/* The model's status and artifact through statement sid (MODEL_STATUS, or
 * MODEL_STATUS_LOCK inside a transaction that is about to change it). */
static int status_read(struct db_conn *c, enum pg_stmt sid, int64_t project_id, int64_t id,
                       enum model_status *status, char **artifact, struct err *err)
{
    PGresult *r = NULL;
    int rc = -1;

    if (pg_row(c, sid, &r, "model not found", err, "ii", project_id, id) != 1)
        return -1;
    if (pg_col_status(r, 0, 0, status, err) != 0)
        goto out;
    if (artifact)
        *artifact = pg_col_dup(r, 0, 1);
    rc = 0;
out:
    PQclear(r);
    return rc;
}

int pg_model_status(struct db_conn *c, int64_t project_id, int64_t id,
                    enum model_status *status, char **artifact, struct err *err)
{
    return status_read(c, STMT_MODEL_STATUS, project_id, id, status, artifact, err);
}

/* The model a PATCH writes, in its transaction (which locked it). */
struct patch_target {
    struct db_conn *c;
    int64_t id;
    const char *now;
};

/* db_patch_set_fn: one column of the model. */
static int patch_set(void *ctx, enum db_patch_col col, const char *value, struct err *err)
{
    static const enum pg_stmt sids[] = {STMT_MODEL_SET_STATUS, STMT_MODEL_SET_DISPLAY,
                                        STMT_MODEL_SET_SHORT, STMT_MODEL_SET_LONG};
    struct patch_target *t = ctx;
    int64_t n;

    assert((size_t)col < sizeof(sids) / sizeof(sids[0]));
    n = pg_exec_count(t->c, sids[col], err, "itt", t->id, value, t->now);
    if (n < 0)
        return -1;
    assert(n == 1);
    return 0;
}

int pg_model_patch(struct db_conn *c, int64_t project_id, int64_t id,
                   const struct db_model_patch *p, enum model_status *was, struct err *err)
{
    char now[UTIL_TIME_LEN];
    struct patch_target t = {c, id, now};
    enum model_status status;

    if (db_begin(c, err) != 0)
        return -1;
    /* locked: a worker's end state waits, so the status check is exact */
    if (status_read(c, STMT_MODEL_STATUS_LOCK, project_id, id, &status, NULL, err) != 0)
        goto fail;
    if (was)
        *was = status;
    util_now_rfc3339(now);
    if (db_patch_apply(p, status, patch_set, &t, err) != 0 ||
        pg_notify_model(c, project_id, id, err) != 0)
        goto fail;
    return db_commit(c, err);
fail:
    db_rollback(c);
    return -1;
}

int pg_model_delete(struct db_conn *c, int64_t project_id, int64_t id, char **artifact,
                    struct err *err)
{
    enum model_status status;
    char *art = NULL;
    int64_t n;

    if (db_begin(c, err) != 0)
        return -1;
    if (status_read(c, STMT_MODEL_STATUS_LOCK, project_id, id, &status, &art, err) != 0)
        goto fail;
    n = pg_exec_count(c, STMT_MODEL_DELETE, err, "i", id);
    if (n < 0)
        goto fail;
    assert(n == 1); /* locked in this transaction */
    if (pg_notify_model_as(c, project_id, id, DB_MODEL_DELETED, err) != 0)
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
