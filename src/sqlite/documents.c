/* SPDX-License-Identifier: MIT */
/*
 * sqlite/documents.c: labeling sessions with their label inventory, staged
 * uploads (documents written in bounded batches as rows no reader sees, then
 * published by one small commit) and the documents themselves.
 */
#include "internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* ---- labeling sessions ----------------------------------------------------- */

int64_t sq_annotation_create(struct db_conn *c, int64_t project_id, const char *name,
                             enum model_type type, enum language language, int64_t user_id,
                             struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;

    util_now_rfc3339(now);
    st = sq_prep(c, STMT_ANN_INSERT, err, "itttzt", project_id, name, domain_type_name(type),
                 domain_language_name(language), user_id > 0 ? user_id : (int64_t)0, now);
    return st ? sq_insert(c, st, err) : -1;
}


/* The session row st is on (ANN_GET / ANN_LIST columns) into out. */
static int annotation_row(sqlite3_stmt *st, struct db_annotation *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_column_int64(st, 0);
    out->project_id = sqlite3_column_int64(st, 1);
    out->name = sq_col_dup(st, 2);
    out->created = sq_col_dup(st, 5);
    out->document_count = sqlite3_column_int64(st, 6);
    if (sq_col_type(st, 3, &out->type, err) != 0 || sq_col_language(st, 4, &out->language, err) != 0)
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
    sqlite3_stmt *st = sq_prep(c, STMT_ANN_LABELS, err, "i", a->id);
    size_t cap = 0;
    int rc;

    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(st, 0);
        struct db_label_count *l = util_grow(a->labels, &cap, a->n_labels + 1, sizeof(*l), 16);
        int k = 0;

        if (!l) {
            sq_done(st);
            err_set(err, ERR_NOMEM, "out of memory");
            return -1;
        }
        a->labels = l;
        while (k < 3 && strcmp(kinds[k], kind ? kind : "") != 0)
            k++;
        l = &a->labels[a->n_labels];
        l->kind = (enum label_kind)k;
        l->count = sqlite3_column_int64(st, 2);
        l->name = sq_col_dup(st, 1);
        if (!l->name) {
            sq_done(st);
            err_set(err, ERR_NOMEM, "out of memory");
            return -1;
        }
        a->n_labels++;
    }
    sq_done(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(c, err);
}

static int annotation_read(sqlite3_stmt *st, void *elem, struct err *err)
{
    return annotation_row(st, elem, err);
}

static void annotation_clear(void *elem)
{
    db_annotation_release(elem);
}

int sq_annotation_get(struct db_conn *c, int64_t project_id, int64_t id,
                      struct db_annotation *out, struct err *err)
{
    if (sq_get(c, STMT_ANN_GET, "session not found", annotation_read, annotation_clear, out,
               sizeof(*out), err, "ii", project_id, id) != 0)
        return -1;
    if (annotation_inventory(c, out, err) != 0) {
        db_annotation_release(out);
        return -1;
    }
    return 0;
}

int sq_annotation_meta(struct db_conn *c, int64_t project_id, int64_t id, enum model_type *type,
                       enum language *language, struct err *err)
{
    sqlite3_stmt *st;

    if (sq_row(c, STMT_ANN_GET, &st, "session not found", err, "ii", project_id, id) != 1)
        return -1;
    {
        int rc = sq_col_type(st, 3, type, err) == 0 && sq_col_language(st, 4, language, err) == 0 ? 0
                                                                                          : -1;
        sq_done(st);
        return rc;
    }
}

static void annotations_free(void *elems, size_t n)
{
    db_annotations_release(elems, n);
}

int sq_annotation_list(struct db_conn *c, int64_t project_id, struct db_annotation **out,
                       size_t *n, struct err *err)
{
    sqlite3_stmt *st = sq_prep(c, STMT_ANN_LIST, err, "i", project_id);
    void *items;

    *out = NULL;
    *n = 0;
    if (!st || sq_rows(c, st, sizeof(**out), 0, annotation_read, annotations_free, &items, n,
                       NULL, err) != 0)
        return -1;
    *out = items;
    /* each session's inventory (one indexed read per session) */
    for (size_t i = 0; i < *n; i++)
        if (annotation_inventory(c, &(*out)[i], err) != 0) {
            db_annotations_release(*out, *n);
            *out = NULL;
            *n = 0;
            return -1;
        }
    return 0;
}

/* A staged upload on a connection (what count_label needs). */
struct upload_ref {
    struct db_conn *c;
    int64_t id;
};

/* db_label_fn: one more document with this label in the upload (ctx: its
 * id; inside the caller's transaction). */
static int count_label(void *ctx, const char *kind, const char *name, struct err *err)
{
    struct upload_ref *u = ctx;

    return sq_exec(u->c, STMT_UPLOAD_LABEL_COUNT, err, "itt", u->id, kind, name);
}

static int document_insert(struct db_conn *c, int64_t annotation_id, int64_t upload_id,
                           const struct db_doc *d, struct err *err)
{
    struct upload_ref u = {c, upload_id};

    if (sq_exec(c, STMT_DOC_INSERT, err, "itttttz", annotation_id, d->external_id, d->text, d->cls,
             d->labels, d->aspects, upload_id) != 0)
        return -1;
    return db_doc_each_label(d, count_label, &u, err);
}

/* ---- staged uploads ------------------------------------------------------------ */

/* A batch ends after this many documents or this much time, whichever first:
 * a writer waiting for the turn waits for at most one batch. */
#define UPLOAD_BATCH_DOCS 2000
#define UPLOAD_BATCH_MS 25.0
#define UPLOAD_DISCARD_ROWS 5000

int64_t sq_upload_open(struct db_conn *c, int64_t annotation_id, struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;

    util_now_rfc3339(now);
    st = sq_prep(c, STMT_UPLOAD_INSERT, err, "itt", annotation_id, now,
                 c->db->daemon_id[0] ? c->db->daemon_id : NULL);
    return st ? sq_insert(c, st, err) : -1;
}

int sq_upload_write(struct db_conn *c, int64_t upload_id, int64_t annotation_id,
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
        st = sq_stmt(c, STMT_UPLOAD_ADD_DOCS, err);
        if (!st) {
            db_rollback(c);
            return -1;
        }
        sqlite3_bind_int64(st, 1, upload_id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)(i - first));
        if (sq_step_done(c, st, err) != 0 || sq_changes(c) != 1) {
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

int sq_upload_publish(struct db_conn *c, int64_t upload_id, struct err *err)
{
    sqlite3_stmt *st;
    int64_t annotation_id, n;

    if (c->depth == 0) {
        err_set(err, ERR_INTERNAL, "db_upload_publish needs an open transaction");
        return -1;
    }
    if (sq_row(c, STMT_UPLOAD_GET, &st, "no such open upload", err, "i", upload_id) != 1)
        return -1;
    annotation_id = sqlite3_column_int64(st, 0);
    n = sqlite3_column_int64(st, 1);
    sq_done(st);
    if (sq_exec(c, STMT_UPLOAD_PUBLISH, err, "i", upload_id) != 0)
        return -1;
    assert(sq_changes(c) == 1); /* read unpublished in this transaction */
    if (sq_exec(c, STMT_UPLOAD_MERGE_LABELS, err, "ii", upload_id, annotation_id) != 0 ||
        sq_exec(c, STMT_UPLOAD_DROP_LABELS, err, "i", upload_id) != 0)
        return -1;
    return sq_exec(c, STMT_ANN_ADD_DOCS, err, "ii", annotation_id, n);
}

int sq_upload_discard(struct db_conn *c, int64_t upload_id, struct err *err)
{
    sqlite3_stmt *st;
    int more = 1;

    while (more) { /* in bounded transactions, like the writes */
        if (db_begin(c, err) != 0)
            return -1;
        if (!(st = sq_stmt(c, STMT_UPLOAD_DISCARD_DOCS, err)))
            goto fail;
        sqlite3_bind_int64(st, 1, upload_id);
        sqlite3_bind_int(st, 2, UPLOAD_DISCARD_ROWS);
        if (sq_step_done(c, st, err) != 0)
            goto fail;
        more = sq_changes(c) == UPLOAD_DISCARD_ROWS;
        if (!more) {
            if (!(st = sq_stmt(c, STMT_UPLOAD_DELETE, err)))
                goto fail;
            sqlite3_bind_int64(st, 1, upload_id);
            if (sq_step_done(c, st, err) != 0)
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

int sq_upload_cleanup(struct db_conn *c, struct err *err)
{
    int n = 0;

    for (;;) {
        sqlite3_stmt *st = sq_prep(c, STMT_UPLOAD_UNPUBLISHED, err, "i", sq_now_ms());
        int64_t id;
        int rc;

        if (!st)
            return -1;
        rc = sq_step_row(c, st, "", err);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            err_clear(err);
            return n;
        }
        id = sqlite3_column_int64(st, 0);
        sq_done(st);
        if (sq_upload_discard(c, id, err) != 0)
            return -1;
        n++;
    }
}

