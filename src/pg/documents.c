/* SPDX-License-Identifier: MIT */
/*
 * pg/documents.c: labeling sessions with their label inventory, staged
 * uploads (documents written as rows no reader sees, then published by one
 * small commit) and the documents themselves, on PostgreSQL. The same
 * operations, errors and orderings as src/sqlite/documents.c; what differs
 * is what two daemons writing at once need: publishing locks its upload row
 * (FOR UPDATE) and then the session row before it merges label counts, so
 * two publishes into one session queue up instead of deadlocking.
 */
#include "internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* ---- labeling sessions ----------------------------------------------------- */

int64_t pg_annotation_create(struct db_conn *c, int64_t project_id, const char *name,
                             enum model_type type, enum language language, int64_t user_id,
                             struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return pg_insert(c, STMT_ANN_INSERT, err, "itttzt", project_id, name, domain_type_name(type),
                     domain_language_name(language), user_id > 0 ? user_id : (int64_t)0, now);
}

/* Row `row` of an ANN_GET / ANN_LIST result into elem (a struct db_annotation). */
static int annotation_read(const PGresult *r, int row, void *elem, struct err *err)
{
    struct db_annotation *out = elem;
    int ok = 1;

    out->id = pg_col_int(r, row, 0);
    out->project_id = pg_col_int(r, row, 1);
    out->name = pg_col_opt(r, row, 2, &ok);
    out->created = pg_col_opt(r, row, 5, &ok);
    out->document_count = pg_col_int(r, row, 6);
    if (pg_col_type(r, row, 3, &out->type, err) != 0 ||
        pg_col_language(r, row, 4, &out->language, err) != 0)
        return -1;
    return pg_copied(ok && out->name && out->created, err);
}

static void annotation_clear(void *elem)
{
    db_annotation_release(elem);
}

/* The session's label inventory from annotation_labels into a->labels (by
 * kind, then count descending, then name: the statement's order). */
static int annotation_inventory(struct db_conn *c, struct db_annotation *a, struct err *err)
{
    static const char *const kinds[] = {"class", "label", "category", "polarity"};
    PGresult *r = pg_run(c, STMT_ANN_LABELS, err, "i", a->id);
    int n, ret = -1;

    if (!r)
        return -1;
    n = PQntuples(r);
    if (n > 0) {
        a->labels = calloc((size_t)n, sizeof(*a->labels));
        if (!a->labels) {
            err_set(err, ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    for (int i = 0; i < n; i++) {
        const char *kind = pg_col_text(r, i, 0);
        struct db_label_count *l = &a->labels[i];
        int k = 0;

        while (k < 3 && strcmp(kinds[k], kind ? kind : "") != 0)
            k++;
        l->kind = (enum label_kind)k;
        l->count = pg_col_int(r, i, 2);
        l->name = pg_col_dup(r, i, 1);
        if (!l->name) {
            err_set(err, ERR_NOMEM, "out of memory");
            goto out;
        }
        a->n_labels++;
    }
    ret = 0;
out:
    PQclear(r);
    return ret;
}

int pg_annotation_get(struct db_conn *c, int64_t project_id, int64_t id,
                      struct db_annotation *out, struct err *err)
{
    if (pg_get(c, STMT_ANN_GET, "session not found", annotation_read, annotation_clear, out,
               sizeof(*out), err, "ii", project_id, id) != 0)
        return -1;
    if (annotation_inventory(c, out, err) != 0) {
        db_annotation_release(out);
        return -1;
    }
    return 0;
}

int pg_annotation_meta(struct db_conn *c, int64_t project_id, int64_t id, enum model_type *type,
                       enum language *language, struct err *err)
{
    PGresult *r = NULL;
    int rc = -1;

    if (pg_row(c, STMT_ANN_GET, &r, "session not found", err, "ii", project_id, id) != 1)
        return -1;
    if (pg_col_type(r, 0, 3, type, err) == 0 && pg_col_language(r, 0, 4, language, err) == 0)
        rc = 0;
    PQclear(r);
    return rc;
}

static void annotations_free(void *elems, size_t n)
{
    db_annotations_release(elems, n);
}

int pg_annotation_list(struct db_conn *c, int64_t project_id, struct db_annotation **out,
                       size_t *n, struct err *err)
{
    void *items;

    *out = NULL;
    *n = 0;
    if (pg_rows(c, STMT_ANN_LIST, sizeof(**out), 0, annotation_read, annotations_free, &items, n,
                NULL, err, "i", project_id) != 0)
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

/* ---- documents ------------------------------------------------------------------- */

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

    return pg_exec(u->c, STMT_UPLOAD_LABEL_COUNT, err, "itt", u->id, kind, name);
}

/* Store one staged document and count its labels into the upload. */
static int document_insert(struct db_conn *c, int64_t annotation_id, int64_t upload_id,
                           const struct db_doc *d, struct err *err)
{
    struct upload_ref u = {c, upload_id};

    if (pg_exec(c, STMT_DOC_INSERT, err, "itttttz", annotation_id, d->external_id, d->text,
                d->cls, d->labels, d->aspects, upload_id) != 0)
        return -1;
    return db_doc_each_label(d, count_label, &u, err);
}

/* ---- staged uploads ------------------------------------------------------------ */

/* A batch (one transaction, or one level of the caller's) ends after this
 * many documents; discarding deletes this many rows per transaction. */
#define UPLOAD_BATCH_DOCS 2000
#define UPLOAD_DISCARD_ROWS 5000

int64_t pg_upload_open(struct db_conn *c, int64_t annotation_id, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return pg_insert(c, STMT_UPLOAD_INSERT, err, "itt", annotation_id, now,
                     c->db->daemon_id[0] ? c->db->daemon_id : NULL);
}

int pg_upload_write(struct db_conn *c, int64_t upload_id, int64_t annotation_id,
                    db_doc_at_fn at, const void *ctx, size_t n, struct err *err)
{
    size_t i = 0;

    while (i < n) {
        size_t first = i;
        int64_t changed;

        if (db_begin(c, err) != 0)
            return -1;
        for (; i < n && i - first < UPLOAD_BATCH_DOCS; i++)
            if (document_insert(c, annotation_id, upload_id, at(ctx, i), err) != 0) {
                db_rollback(c);
                return -1;
            }
        changed = pg_exec_count(c, STMT_UPLOAD_ADD_DOCS, err, "ii", upload_id,
                                (int64_t)(i - first));
        if (changed != 1) {
            if (changed == 0)
                err_set(err, ERR_INTERNAL, "upload %lld is no longer open", (long long)upload_id);
            db_rollback(c);
            return -1;
        }
        if (db_commit(c, err) != 0)
            return -1;
    }
    return 0;
}

int pg_upload_publish(struct db_conn *c, int64_t upload_id, struct err *err)
{
    PGresult *r = NULL;
    int64_t annotation_id, n;

    if (c->depth == 0) {
        err_set(err, ERR_INTERNAL, "db_upload_publish needs an open transaction");
        return -1;
    }
    /* FOR UPDATE: a cleanup or a discard elsewhere waits until this commits */
    if (pg_row(c, STMT_UPLOAD_GET, &r, "no such open upload", err, "i", upload_id) != 1)
        return -1;
    annotation_id = pg_col_int(r, 0, 0);
    n = pg_col_int(r, 0, 1);
    PQclear(r);
    if (pg_exec(c, STMT_UPLOAD_PUBLISH, err, "i", upload_id) != 0)
        return -1;
    /* the session row first: publishes into one session take turns here */
    if (pg_exec(c, STMT_ANN_ADD_DOCS, err, "ii", annotation_id, n) != 0 ||
        pg_exec(c, STMT_UPLOAD_MERGE_LABELS, err, "ii", upload_id, annotation_id) != 0)
        return -1;
    return pg_exec(c, STMT_UPLOAD_DROP_LABELS, err, "i", upload_id);
}

int pg_upload_discard(struct db_conn *c, int64_t upload_id, struct err *err)
{
    int more = 1;

    while (more) { /* in bounded transactions, like the writes */
        int64_t deleted;

        if (db_begin(c, err) != 0)
            return -1;
        deleted = pg_exec_count(c, STMT_UPLOAD_DISCARD_DOCS, err, "ii", upload_id,
                                (int64_t)UPLOAD_DISCARD_ROWS);
        if (deleted < 0)
            goto fail;
        more = deleted == UPLOAD_DISCARD_ROWS;
        if (!more && pg_exec(c, STMT_UPLOAD_DELETE, err, "i", upload_id) != 0)
            goto fail;
        if (db_commit(c, err) != 0)
            return -1;
    }
    return 0;
fail:
    db_rollback(c);
    return -1;
}

int pg_upload_cleanup(struct db_conn *c, struct err *err)
{
    int n = 0;

    for (;;) {
        PGresult *r = NULL;
        int64_t id;

        switch (pg_row(c, STMT_UPLOAD_UNPUBLISHED, &r, "", err, "")) {
        case 1:
            break;
        case 0:
            err_clear(err);
            return n;
        default:
            return -1;
        }
        id = pg_col_int(r, 0, 0);
        PQclear(r);
        if (pg_upload_discard(c, id, err) != 0)
            return -1;
        n++;
    }
}
