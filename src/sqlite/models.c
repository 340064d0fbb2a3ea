/* SPDX-License-Identifier: MIT */
/*
 * sqlite/models.c: models (create, read, list, PATCH, delete, status) and
 * the base-model catalog.
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

int64_t sq_model_create(struct db_conn *c, const struct db_model_new *m, struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;
    int64_t id;
    int taken;

    if (db_begin(c, err) != 0)
        return -1;
    /* Checked inside the write transaction so the answer is exact; the unique
     * index still guards against any other writer. */
    taken = sq_exists(c, STMT_MODEL_NAME_TAKEN, err, "it", m->workspace_id, m->name);
    if (taken != 0) {
        if (taken > 0)
            err_set(err, ERR_CONFLICT, "model name taken");
        goto fail;
    }
    util_now_rfc3339(now);
    st = sq_prep(c, STMT_MODEL_INSERT, err, "tiittttztittt", m->uuid, m->workspace_id,
                 m->project_id, m->name, m->display_name, domain_language_name(m->language),
                 domain_type_name(m->type), m->base_id, m->base_name, m->owner_id,
                 m->short_description, m->long_description, now);
    id = st ? sq_insert(c, st, err) : -1;
    if (id < 0) {
        if (err && err->code == ERR_CONFLICT) /* a writer outside this daemon won */
            err_set(err, ERR_CONFLICT, "model name taken");
        goto fail;
    }
    for (size_t i = 0; i < m->n_ann; i++)
        if (sq_exec(c, STMT_MODEL_ANN_INSERT, err, "iit", id, m->ann_ids[i],
                    ann_role_name(m->ann_roles[i])) != 0)
            goto fail;
    if (db_commit(c, err) != 0)
        return -1;
    return id;
fail:
    db_rollback(c);
    return -1;
}

/* One row of MODEL_COLS into out. */
static int model_row(sqlite3_stmt *st, int with_metrics, struct db_model *out, struct err *err)
{
    int ok = 1;

    out->id = sqlite3_column_int64(st, 0);
    out->uuid = sq_col_opt(st, 1, &ok);
    out->name = sq_col_opt(st, 2, &ok);
    out->display_name = sq_col_opt(st, 3, &ok);
    out->base_name = sq_col_opt(st, 5, &ok);
    out->created = sq_col_opt(st, 6, &ok);
    out->updated = sq_col_opt(st, 7, &ok);
    out->owner = sq_col_opt(st, 8, &ok);
    out->progress = sqlite3_column_double(st, 9);
    out->project_id = sqlite3_column_int64(st, 10);
    out->has_score = sqlite3_column_type(st, 11) != SQLITE_NULL;
    out->score = sqlite3_column_double(st, 11);
    out->short_description = sq_col_opt(st, 12, &ok);
    out->long_description = sq_col_opt(st, 13, &ok);
    out->failure_reason = sq_col_opt(st, 16, &ok);
    out->queued_at = sq_col_opt(st, 17, &ok);
    out->started_at = sq_col_opt(st, 18, &ok);
    out->finished_at = sq_col_opt(st, 19, &ok);
    if (with_metrics)
        out->metrics = sq_col_opt(st, 20, &ok);
    out->warnings = sq_col_opt(st, 21, &ok);
    if (sq_col_language(st, 4, &out->language, err) != 0 || sq_col_status(st, 14, &out->status, err) ||
        sq_col_type(st, 15, &out->type, err) != 0)
        return -1;
    return sq_copied(ok, err);
}

static int model_read(sqlite3_stmt *st, void *elem, struct err *err)
{
    return model_row(st, 0, elem, err);
}

static int model_read_metrics(sqlite3_stmt *st, void *elem, struct err *err)
{
    return model_row(st, 1, elem, err);
}

static void model_clear(void *elem)
{
    db_model_release(elem);
}

int sq_model_get(struct db_conn *c, int64_t project_id, int64_t id, int with_metrics,
                 struct db_model *out, struct err *err)
{
    return sq_get(c, STMT_MODEL_GET, "model not found",
                  with_metrics ? model_read_metrics : model_read, model_clear, out, sizeof(*out),
                  err, "ii", project_id, id);
}

static void models_free(void *elems, size_t n)
{
    db_models_release(elems, n);
}

int sq_model_list(struct db_conn *c, int64_t project_id, const struct db_model_filter *f,
                  struct db_model **out, size_t *n, int64_t *next_id, struct err *err)
{
    sqlite3_stmt *st = sq_prep(
        c, STMT_MODEL_LIST, err, "itttii", project_id,
        f->by_status ? domain_status_name(f->status) : NULL,
        f->by_type ? domain_type_name(f->type) : NULL,
        f->by_language ? domain_language_name(f->language) : NULL, f->before_id,
        (int64_t)f->limit + 1);
    void *items;
    int more;

    *out = NULL;
    *n = 0;
    *next_id = 0;
    if (!st || sq_rows(c, st, sizeof(**out), (size_t)f->limit, model_read, models_free, &items,
                       n, &more, err) != 0)
        return -1;
    *out = items;
    if (more) /* a row beyond the page: the cursor is the page's last id */
        *next_id = (*out)[*n - 1].id;
    return 0;
}

/* One row of MODEL_BASE_INFO into elem (a struct db_base). */
static int base_info_read(sqlite3_stmt *st, void *elem, struct err *err)
{
    struct db_base *out = elem;
    int ok = 1;

    out->id = sqlite3_column_int64(st, 0);
    out->name = sq_col_opt(st, 1, &ok);
    out->artifact = sq_col_opt(st, 5, &ok);
    out->workspace_id = sqlite3_column_int64(st, 6);
    out->project_id = sqlite3_column_int64(st, 7);
    if (sq_col_language(st, 2, &out->language, err) != 0 ||
        sq_col_type(st, 3, &out->type, err) != 0 || sq_col_status(st, 4, &out->status, err) != 0)
        return -1;
    return sq_copied(ok && out->name, err);
}

static void base_clear(void *elem)
{
    db_base_release(elem);
}

int sq_model_base_info(struct db_conn *c, int64_t id, struct db_base *out, struct err *err)
{
    return sq_get(c, STMT_MODEL_BASE_INFO, "model not found", base_info_read, base_clear, out,
                  sizeof(*out), err, "i", id);
}

int64_t sq_base_create(struct db_conn *c, const char *uuid, const char *name,
                       enum language language, int64_t from_model, const char *artifact,
                       struct err *err)
{
    char now[UTIL_TIME_LEN];
    struct db_base src = {0};
    sqlite3_stmt *st;
    int64_t id = -1;
    int taken;

    if (db_begin(c, err) != 0)
        return -1;
    taken = sq_exists(c, STMT_BASE_NAME_TAKEN, err, "t", name);
    if (taken != 0) {
        if (taken > 0)
            err_set(err, ERR_CONFLICT, "base model name taken");
        goto out;
    }
    if (from_model > 0 && sq_model_base_info(c, from_model, &src, err) != 0)
        goto out;
    util_now_rfc3339(now);
    st = sq_prep(c, STMT_BASE_INSERT, err, "tttzttt", uuid, name, domain_language_name(language),
                 from_model, src.name, artifact, now);
    id = st ? sq_insert(c, st, err) : -1;
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

/* One row of BASE_LIST into elem (a struct db_base_row). */
static int base_read(sqlite3_stmt *st, void *elem, struct err *err)
{
    struct db_base_row *b = elem;
    int ok = 1;

    b->id = sqlite3_column_int64(st, 0);
    b->uuid = sq_col_opt(st, 1, &ok);
    b->name = sq_col_opt(st, 2, &ok);
    b->created = sq_col_opt(st, 4, &ok);
    b->from_model_id = sqlite3_column_int64(st, 5); /* NULL reads as 0 */
    b->from_model = sq_col_opt(st, 6, &ok);
    b->has_weights = sqlite3_column_int(st, 7);
    if (sq_col_language(st, 3, &b->language, err) != 0)
        return -1;
    return sq_copied(ok, err);
}

static void bases_free(void *elems, size_t n)
{
    db_base_rows_release(elems, n);
}

int sq_base_list(struct db_conn *c, struct db_base_row **out, size_t *n, struct err *err)
{
    sqlite3_stmt *st = sq_stmt(c, STMT_BASE_LIST, err);
    void *items;

    *out = NULL;
    *n = 0;
    if (!st || sq_rows(c, st, sizeof(**out), 0, base_read, bases_free, &items, n, NULL, err) != 0)
        return -1;
    *out = items;
    return 0;
}

int sq_model_status(struct db_conn *c, int64_t project_id, int64_t id,
                    enum model_status *status, char **artifact, struct err *err)
{
    sqlite3_stmt *st;

    if (sq_row(c, STMT_MODEL_STATUS, &st, "model not found", err, "ii", project_id, id) != 1)
        return -1;
    if (sq_col_status(st, 0, status, err) != 0) {
        sq_done(st);
        return -1;
    }
    if (artifact)
        *artifact = sq_col_dup(st, 1);
    sq_done(st);
    return 0;
}

/* The model a PATCH writes, in its transaction (which found it). */
struct patch_target {
    struct db_conn *c;
    int64_t id;
    const char *now;
};

/* db_patch_set_fn: one column of the model. */
static int patch_set(void *ctx, enum db_patch_col col, const char *value, struct err *err)
{
    static const enum stmt_id sids[] = {STMT_MODEL_SET_STATUS, STMT_MODEL_SET_DISPLAY,
                                        STMT_MODEL_SET_SHORT, STMT_MODEL_SET_LONG};
    struct patch_target *t = ctx;

    assert((size_t)col < sizeof(sids) / sizeof(sids[0]));
    if (sq_exec(t->c, sids[col], err, "itt", t->id, value, t->now) != 0)
        return -1;
    assert(sq_changes(t->c) == 1);
    return 0;
}

int sq_model_patch(struct db_conn *c, int64_t project_id, int64_t id,
                   const struct db_model_patch *p, enum model_status *was, struct err *err)
{
    char now[UTIL_TIME_LEN];
    struct patch_target t = {c, id, now};
    enum model_status status;

    if (db_begin(c, err) != 0)
        return -1;
    if (sq_model_status(c, project_id, id, &status, NULL, err) != 0)
        goto fail;
    if (was)
        *was = status;
    util_now_rfc3339(now);
    if (db_patch_apply(p, status, patch_set, &t, err) != 0)
        goto fail;
    return db_commit(c, err);
fail:
    db_rollback(c);
    return -1;
}

int sq_model_delete(struct db_conn *c, int64_t project_id, int64_t id, char **artifact,
                    struct err *err)
{
    enum model_status status;
    char *art = NULL;

    if (db_begin(c, err) != 0)
        return -1;
    if (sq_model_status(c, project_id, id, &status, &art, err) != 0)
        goto fail;
    if (sq_exec(c, STMT_MODEL_DELETE, err, "i", id) != 0)
        goto fail;
    assert(sq_changes(c) == 1); /* found in this transaction */
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

