/* SPDX-License-Identifier: MIT */
/*
 * handler_annotations: labeling sessions (create, list, get) and the
 * streamed, all-or-nothing document upload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "handlers.h"
#include "idem.h"
#include "ingest.h"
#include "log.h"
#include "problem.h"
#include "validate.h"
#include "view.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* The API view of a session of the project, or NULL with err. */
static json_t *session_view(struct db_conn *c, int64_t project_id, int64_t id, struct err *err)
{
    struct db_annotation a;
    json_t *v;

    if (db_annotation_get(c, project_id, id, &a, err) != 0)
        return NULL;
    v = view_annotation(&a);
    db_annotation_release(&a);
    if (!v)
        err_set(err, ERR_NOMEM, "out of memory");
    return v;
}

/* The write of a session create: the row, the answer and its
 * Idempotency-Key record in one db_write (see create_write in
 * handler_models.c). */
struct session_write {
    const struct request *req;
    const char *name;
    enum model_type type;
    enum language language;
    struct response *resp;
};

static int session_write(struct db_conn *c, void *arg, struct err *err)
{
    struct session_write *sw = arg;
    const struct request *req = sw->req;
    int64_t id = db_annotation_create(c, req->args[0], sw->name, sw->type, sw->language,
                                      req->caller.user_id, err);
    json_t *view = id > 0 ? session_view(c, req->args[0], id, err) : NULL;

    if (!view)
        return -1;
    sw->resp->status = 201;
    sw->resp->body = view;
    snprintf(sw->resp->location, sizeof(sw->resp->location), "/projects/%lld/annotations/%lld",
             (long long)req->args[0], (long long)id);
    return idem_save(req, c, sw->resp, err); /* the caller releases resp on -1 */
}

void handler_annotations_create(struct request *req, struct response *resp)
{
    static const char *const allowed[] = {"name", "type", "language", NULL};
    json_t *errors = NULL;
    const char *type = NULL, *language = NULL;
    char *name = NULL;
    struct err err = {0};

    validate_known_fields(req->body, allowed, &errors);
    validate_string(req->body, "name", 1, 255,
                    VALIDATE_REQUIRED | VALIDATE_TRIM | VALIDATE_SINGLE_LINE, &name, NULL, &errors);
    validate_enum(req->body, "type", domain_annotation_type_names, VALIDATE_REQUIRED, &type, &errors);
    validate_enum(req->body, "language", domain_language_names, VALIDATE_REQUIRED, &language, &errors);
    if (errors) {
        problem_validation(resp, errors);
        goto out;
    }
    {
        struct session_write sw = {req, name, TYPE_CLASS, LANG_EN, resp};

        /* both validated above */
        if (domain_type_parse(type, &sw.type) != 0 ||
            domain_language_parse(language, &sw.language) != 0) {
            err_set(&err, ERR_INTERNAL, "session type or language unset after validation");
            goto fail;
        }
        if (db_write(req->app->db, session_write, &sw, &err) != 0)
            goto fail;
    }
    goto out;
fail:
    response_release(resp);
    resp->location[0] = '\0';
    problem_from_err(resp, &err, req->request_id);
out:
    free(name);
}

void handler_annotations_list(struct request *req, struct response *resp)
{
    struct err err = {0};
    struct db_conn *c = db_acquire(req->app->db);
    struct db_annotation *list;
    json_t *items = NULL;
    size_t n;

    if (db_annotation_list(c, req->args[0], &list, &n, &err) == 0) {
        items = view_annotations(list, n);
        db_annotations_release(list, n);
        if (!items)
            err_set(&err, ERR_NOMEM, "out of memory");
    }
    db_release(req->app->db, c);
    problem_or_reply(resp, 200, items ? json_pack("{s:o}", "items", items) : NULL, &err,
                     req->request_id);
}

void handler_annotations_get(struct request *req, struct response *resp)
{
    struct err err = {0};
    struct db_conn *c = db_acquire(req->app->db);
    json_t *view = session_view(c, req->args[0], req->args[1], &err);

    db_release(req->app->db, c);
    handler_not_found(&err, "labeling session", req->args[1]);
    problem_or_reply(resp, 200, view, &err, req->request_id);
}

/* ---- streamed upload ---------------------------------------------------------- */

/*
 * Documents are validated as the body arrives and written in batches as
 * staged rows (db.h) whenever UPLOAD_FLUSH_DOCS documents or
 * UPLOAD_FLUSH_BYTES of them are pending, then dropped from memory: an
 * upload holds one batch, whatever its size, and no transaction lasts longer
 * than one batch. The handler publishes them with one small commit once the
 * whole body was valid; an invalid, cut or failed upload has its staged rows
 * discarded when the request ends (or, after a crash, at the next start).
 */
#define UPLOAD_FLUSH_DOCS 2000
#define UPLOAD_FLUSH_BYTES ((size_t)2 << 20)

struct upload {
    struct app *app;
    int64_t annotation_id;
    struct ingest *in;
    int64_t up; /* staged upload id, 0 before the first batch */
    int failed; /* a batch could not be written: err says why */
    int answered; /* a stored Idempotency-Key answer replies: nothing to parse or stage */
    int published;
    struct err err;
};

static void *upload_open(struct request *req, struct response *resp)
{
    struct upload *u = calloc(1, sizeof(*u));
    struct db_conn *c;
    enum model_type type;
    enum language lang;
    int rc;

    if (!u)
        return NULL;
    c = db_acquire(req->app->db);
    rc = db_annotation_meta(c, req->args[0], req->args[1], &type, &lang, &u->err);
    db_release(req->app->db, c);
    if (rc != 0) { /* answer now (e.g. 404), without reading the body */
        handler_not_found(&u->err, "labeling session", req->args[1]);
        problem_from_err(resp, &u->err, req->request_id);
        free(u);
        return NULL;
    }
    u->in = ingest_new(type);
    if (!u->in) {
        free(u);
        return NULL;
    }
    u->app = req->app;
    u->annotation_id = req->args[1];
    u->answered = idem_answered(req);
    return u;
}

/* Documents per db_write while staging: the writes batched with a staging
 * write wait for it, so it stays short (a few ms) however large the upload. */
#define UPLOAD_WRITE_DOCS 200

/* One staging write: documents first..first+n-1 of the pending ones. */
struct stage_write {
    struct upload *u;
    size_t first, n;
    int64_t up; /* the staged upload (opened by the first write) */
};

/* The i-th document of a staging write (an index into the pending ones). */
static const struct db_doc *stage_doc_at(const void *ctx, size_t i)
{
    const struct stage_write *sw = ctx;

    return ingest_doc_at(sw->u->in, sw->first + i);
}

/* Stage the write's documents, opening the staged upload with the first. */
static int stage_write(struct db_conn *c, void *arg, struct err *err)
{
    struct stage_write *sw = arg;
    const struct upload *u = sw->u;

    sw->up = u->up;
    if (!sw->up && (sw->up = db_upload_open(c, u->annotation_id, err)) < 0)
        return -1;
    return db_upload_write(c, sw->up, u->annotation_id, stage_doc_at, sw, sw->n, err);
}

/* Write the pending documents as staged rows and forget them. */
static int upload_flush(struct upload *u)
{
    size_t n = ingest_pending(u->in, NULL);

    if (u->failed)
        return -1;
    for (size_t first = 0; first < n; first += UPLOAD_WRITE_DOCS) {
        struct stage_write sw = {u, first, n - first < UPLOAD_WRITE_DOCS ? n - first
                                                                       : UPLOAD_WRITE_DOCS, 0};

        if (db_write(u->app->db, stage_write, &sw, &u->err) != 0) {
            u->failed = 1;
            return -1;
        }
        u->up = sw.up; /* committed with its first rows */
    }
    ingest_drop_pending(u->in);
    return 0;
}

static void upload_feed(void *state, const char *data, size_t len)
{
    struct upload *u = state;
    size_t bytes;

    if (!u->in || u->answered)
        return;
    ingest_feed(u->in, data, len);
    if (!u->failed && ingest_valid_so_far(u->in) &&
        (ingest_pending(u->in, &bytes) >= UPLOAD_FLUSH_DOCS || bytes >= UPLOAD_FLUSH_BYTES))
        upload_flush(u);
}

static void upload_close(void *state)
{
    struct upload *u = state;

    if (!u)
        return;
    if (u->up > 0 && !u->published) {
        struct db_conn *c = db_acquire(u->app->db);
        struct err err = {0};

        /* Not through db_write: the discard deletes in bounded transactions
         * of its own (taking the write turn like the writer's batches), so
         * that throwing away a large upload never holds up one batch. */
        if (db_upload_discard(c, u->up, &err) != 0) /* else removed at the next start */
            LOG_ERROR("upload %lld: cannot discard its rows: %s", (long long)u->up, err.msg);
        db_release(u->app->db, c);
    }
    ingest_free(u->in);
    free(u);
}

const struct stream_ops handler_annotations_upload_stream = {upload_open, upload_feed,
                                                             upload_close};

/* The publishing write of an upload: the flag and the merged label counts,
 * the answer and its Idempotency-Key record. */
struct publish_write {
    const struct request *req;
    struct response *resp;
};

static int publish_write(struct db_conn *c, void *arg, struct err *err)
{
    struct publish_write *pw = arg;
    const struct request *req = pw->req;
    const struct upload *u = req->stream;
    json_t *view;

    if (db_upload_publish(c, u->up, err) != 0 ||
        !(view = session_view(c, req->args[0], req->args[1], err)))
        return -1;
    pw->resp->status = 201;
    pw->resp->body = json_pack("{s:I, s:I, s:o}", "annotation_id", (json_int_t)req->args[1],
                               "documents_added", (json_int_t)ingest_count(u->in),
                               "annotation", view);
    if (!pw->resp->body) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    return idem_save(req, c, pw->resp, err); /* the caller releases resp on -1 */
}

void handler_annotations_upload(struct request *req, struct response *resp)
{
    struct upload *u = req->stream;
    json_t *errors = NULL;
    struct err err = {0};

    if (ingest_finish(u->in, &errors) != 0) { /* upload_close discards what was staged */
        problem_validation(resp, errors);
        return;
    }
    if (upload_flush(u) != 0) {
        problem_from_err(resp, &u->err, req->request_id);
        return;
    }
    {
        struct publish_write pw = {req, resp};

        if (db_write(req->app->db, publish_write, &pw, &err) != 0)
            goto fail;
    }
    u->published = 1;
    return;
fail:
    response_release(resp);
    resp->location[0] = '\0';
    problem_from_err(resp, &err, req->request_id);
}
