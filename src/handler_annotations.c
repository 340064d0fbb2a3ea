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
#include "banned.h" /* last: bans unsafe libc calls */

void handler_annotations_create(struct request *req, struct response *resp)
{
    static const char *const allowed[] = {"name", "type", "language", NULL};
    json_t *errors = NULL, *view = NULL;
    const char *type = NULL, *language = NULL;
    char *name = NULL;
    struct err err = {0};
    struct db_conn *c;
    int64_t id;

    validate_known_fields(req->body, allowed, &errors);
    validate_string(req->body, "name", 1, 255,
                    VALIDATE_REQUIRED | VALIDATE_TRIM | VALIDATE_SINGLE_LINE, &name, NULL, &errors);
    validate_enum(req->body, "type", validate_annotation_types, VALIDATE_REQUIRED, &type, &errors);
    validate_enum(req->body, "language", validate_languages, VALIDATE_REQUIRED, &language, &errors);
    if (errors) {
        problem_validation(resp, errors);
        goto out;
    }
    c = db_acquire(req->app->db);
    if (db_begin(c, &err) != 0)
        goto fail;
    id = db_annotation_create(c, req->args[0], name, type, language, req->caller.user_id, &err);
    if (id > 0)
        view = db_annotation_get(c, req->args[0], id, &err);
    if (!view) {
        db_rollback(c);
        goto fail;
    }
    resp->status = 201;
    resp->body = view;
    snprintf(resp->location, sizeof(resp->location), "/projects/%lld/annotations/%lld",
             (long long)req->args[0], (long long)id);
    if (idem_save(req, c, resp, &err) != 0) {
        db_rollback(c);
        goto fail;
    }
    if (db_commit(c, &err) != 0)
        goto fail;
    db_release(req->app->db, c);
    goto out;
fail:
    db_release(req->app->db, c);
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
    json_t *items = db_annotation_list(c, req->args[0], &err);

    db_release(req->app->db, c);
    problem_or_reply(resp, 200, items ? json_pack("{s:o}", "items", items) : NULL, &err,
                     req->request_id);
}

void handler_annotations_get(struct request *req, struct response *resp)
{
    struct err err = {0};
    struct db_conn *c = db_acquire(req->app->db);
    json_t *view = db_annotation_get(c, req->args[0], req->args[1], &err);

    db_release(req->app->db, c);
    problem_or_reply(resp, 200, view, &err, req->request_id);
}

/* ---- streamed upload ---------------------------------------------------------- */

struct upload {
    struct ingest *in;
    struct err err;
};

static void *upload_open(struct request *req, struct response *resp)
{
    struct upload *u = calloc(1, sizeof(*u));
    struct db_conn *c;
    char type[16], lang[4];
    int rc;

    if (!u)
        return NULL;
    c = db_acquire(req->app->db);
    rc = db_annotation_meta(c, req->args[0], req->args[1], type, lang, &u->err);
    db_release(req->app->db, c);
    if (rc != 0) { /* answer now (e.g. 404), without reading the body */
        problem_from_err(resp, &u->err, req->request_id);
        free(u);
        return NULL;
    }
    u->in = ingest_new(type);
    if (!u->in) {
        free(u);
        return NULL;
    }
    return u;
}

static void upload_feed(void *state, const char *data, size_t len)
{
    struct upload *u = state;

    if (u->in)
        ingest_feed(u->in, data, len);
}

static void upload_close(void *state)
{
    struct upload *u = state;

    if (!u)
        return;
    ingest_free(u->in);
    free(u);
}

const struct stream_ops handler_annotations_upload_stream = {upload_open, upload_feed,
                                                             upload_close};

void handler_annotations_upload(struct request *req, struct response *resp)
{
    struct upload *u = req->stream;
    json_t *errors = NULL, *view = NULL;
    struct err err = {0};
    struct db_conn *c;
    int64_t up;
    size_t n;

    if (ingest_finish(u->in, &errors) != 0) {
        problem_validation(resp, errors);
        return;
    }
    n = ingest_count(u->in);
    c = db_acquire(req->app->db);
    /* staged in small transactions, published by one small commit (db.h) */
    up = db_upload_open(c, req->args[1], &err);
    if (up < 0)
        goto fail;
    if (db_upload_write(c, up, req->args[1], ingest_doc_at, u->in, n, &err) != 0)
        goto discard;
    if (db_begin(c, &err) != 0)
        goto discard;
    if (db_upload_publish(c, up, &err) != 0 ||
        !(view = db_annotation_get(c, req->args[0], req->args[1], &err))) {
        db_rollback(c);
        goto discard;
    }
    resp->status = 201;
    resp->body = json_pack("{s:I, s:I, s:o}", "annotation_id", (json_int_t)req->args[1],
                           "documents_added", (json_int_t)n, "annotation", view);
    if (!resp->body) {
        err_set(&err, ERR_NOMEM, "out of memory");
        db_rollback(c);
        goto discard;
    }
    if (idem_save(req, c, resp, &err) != 0) {
        db_rollback(c);
        goto discard;
    }
    if (db_commit(c, &err) != 0)
        goto discard;
    db_release(req->app->db, c);
    return;
discard:
    {
        struct err derr = {0};

        if (db_upload_discard(c, up, &derr) != 0) /* else removed at the next start */
            LOG_ERROR("upload %lld: cannot discard its rows: %s", (long long)up, derr.msg);
    }
fail:
    db_release(req->app->db, c);
    response_release(resp);
    resp->location[0] = '\0';
    problem_from_err(resp, &err, req->request_id);
}
