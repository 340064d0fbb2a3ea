/* SPDX-License-Identifier: MIT */
/*
 * handler_model_ops: what happens to a model after creation: PATCH (names,
 * descriptions, READY/ACTIVE/PUBLISHED), DELETE, cancel, predict, and the
 * base-model catalog. Each change is announced to the notification hub
 * (notify.h) once it is committed, for the event streams.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "notify.h"
#include "pcache.h"
#include "pool.h"
#include "problem.h"
#include "trainer.h"
#include "util.h"
#include "validate.h"
#include "view.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define MAX_PREDICT_TEXTS 1000

/* ---- update / delete / cancel ------------------------------------------------- */

/* The write of a PATCH, DELETE or cancel, as one db_write: the change and,
 * for PATCH and cancel, the model as it is after it. */
enum op_kind { OP_PATCH, OP_DELETE, OP_CANCEL };
struct op_write {
    enum op_kind kind;
    const struct request *req;
    const struct db_model_patch *patch; /* OP_PATCH */
    enum model_status status; /* PATCH: the status a refused move came from; CANCEL: before */
    int applied;              /* OP_CANCEL: 1 canceled, 0 not cancelable */
    char *artifact;           /* OP_DELETE: the deleted model's artifact (caller frees) */
    json_t *view;             /* OP_PATCH, OP_CANCEL */
};

/* The db_write function of an op_write. */
static int op_write(struct db_conn *c, void *arg, struct err *err)
{
    struct op_write *ow = arg;
    int64_t project = ow->req->args[0], id = ow->req->args[1];

    switch (ow->kind) {
    case OP_PATCH:
        if (db_model_patch(c, project, id, ow->patch, &ow->status, err) != 0)
            return -1;
        break;
    case OP_DELETE:
        return db_model_delete(c, project, id, &ow->artifact, err);
    case OP_CANCEL:
        if (db_model_status(c, project, id, &ow->status, NULL, err) != 0 ||
            (ow->applied = db_job_failed(c, id, 0, "canceled", err)) < 0)
            return -1;
        break;
    }
    ow->view = view_model_load(c, project, id, 1, err);
    return ow->view ? 0 : -1;
}

/* Run ow; 0, or -1 with err and nothing of what it produced kept. */
static int op_run(struct request *req, struct op_write *ow, struct err *err)
{
    if (db_write(req->app->db, op_write, ow, err) == 0)
        return 0;
    json_decref(ow->view);
    ow->view = NULL;
    free(ow->artifact);
    ow->artifact = NULL;
    return -1;
}

void handler_models_patch(struct request *req, struct response *resp)
{
    static const char *const allowed[] = {"display_name", "short_description", "long_description",
                                          "status", NULL};
    static const char *const user_statuses[] = {"READY", "ACTIVE", "PUBLISHED", NULL};
    struct db_model_patch p = {0};
    struct op_write ow = {.kind = OP_PATCH, .req = req, .patch = &p, .status = STATUS_CREATED};
    char *display = NULL, *short_d = NULL, *long_d = NULL;
    json_t *errors = NULL;
    struct err err = {0};

    validate_known_fields(req->body, allowed, &errors);
    validate_string(req->body, "display_name", 1, 255, VALIDATE_TRIM | VALIDATE_SINGLE_LINE,
                    &display, NULL, &errors);
    validate_string(req->body, "short_description", 0, 255, VALIDATE_NULLABLE, &short_d,
                    &p.clear_short, &errors);
    validate_string(req->body, "long_description", 0, 4000, VALIDATE_NULLABLE, &long_d,
                    &p.clear_long, &errors);
    if (json_object_get(req->body, "status")) {
        const char *st = NULL;

        if (validate_enum(req->body, "status", user_statuses, VALIDATE_REQUIRED, &st, &errors) ==
                0 &&
            st)
            p.set_status = domain_status_parse(st, &p.status) == 0;
    }
    if (!errors && json_object_size(req->body) == 0)
        problem_field(&errors, "body", "names no field to change");
    if (errors) {
        problem_validation(resp, errors);
        goto out;
    }
    p.display_name = display;
    p.short_description = short_d;
    p.long_description = long_d;
    if (op_run(req, &ow, &err) != 0) {
        if (err.code == ERR_INVALID) {
            problem_field(&errors, "status", "status cannot change from %s to %s",
                          domain_status_name(ow.status), domain_status_name(p.status));
            problem_validation(resp, errors);
        } else {
            handler_not_found(&err, "model", req->args[1]);
            problem_from_err(resp, &err, req->request_id);
        }
        goto out;
    }
    notify_model_changed(req->app->notify, req->args[0], req->args[1], NOTIFY_CHANGED);
    resp->status = 200;
    resp->body = ow.view;
out:
    free(display);
    free(short_d);
    free(long_d);
}

void handler_models_delete(struct request *req, struct response *resp)
{
    struct err err = {0};
    struct op_write ow = {.kind = OP_DELETE, .req = req};
    char *artifact;

    if (op_run(req, &ow, &err) != 0) {
        handler_not_found(&err, "model", req->args[1]);
        problem_from_err(resp, &err, req->request_id);
        return;
    }
    notify_model_changed(req->app->notify, req->args[0], req->args[1], NOTIFY_DELETED);
    if (req->app->pool)
        pool_cancel(req->app->pool, req->args[1]);
    artifact = ow.artifact;
    if (artifact) {
        if (req->app->pcache)
            pcache_evict(req->app->pcache, artifact);
        artifacts_remove(artifact);
        free(artifact);
    }
    resp->status = 204;
}

void handler_models_cancel(struct request *req, struct response *resp)
{
    struct err err = {0};
    struct op_write ow = {.kind = OP_CANCEL, .req = req};

    if (op_run(req, &ow, &err) != 0) {
        handler_not_found(&err, "model", req->args[1]);
        problem_from_err(resp, &err, req->request_id);
        return;
    }
    if (ow.applied == 0) {
        json_decref(ow.view);
        problem_set(resp, 409, "Model %lld is %s; only CREATED, QUEUED or TRAINING models can be "
                    "canceled.", (long long)req->args[1], domain_status_name(ow.status));
        return;
    }
    notify_model_changed(req->app->notify, req->args[0], req->args[1], NOTIFY_CHANGED);
    if (req->app->pool)
        pool_cancel(req->app->pool, req->args[1]);
    resp->status = 200;
    resp->body = ow.view;
}

/* ---- predict ------------------------------------------------------------------ */

/*
 * The loaded predictor of the trained model req->args[1] (release with
 * pcache_put), or NULL with the answer set in resp: 404, 409 when the
 * model is not trained (what is asked for `needs` it), 500 when its artifact
 * is damaged.
 */
static const struct predictor *trained_predictor(struct request *req, struct response *resp,
                                                 const char *needs)
{
    const struct predictor *pred = NULL;
    struct err err = {0};
    struct db_conn *c;
    enum model_status status;
    char *artifact = NULL;

    c = db_acquire(req->app->db);
    if (db_model_status(c, req->args[0], req->args[1], &status, &artifact, &err) != 0) {
        db_release(req->app->db, c);
        handler_not_found(&err, "model", req->args[1]);
        problem_from_err(resp, &err, req->request_id);
        return NULL;
    }
    db_release(req->app->db, c);
    if (!domain_status_trained(status) || !artifact) {
        problem_set(resp, 409, "Model %lld is %s; %s need a READY, ACTIVE or PUBLISHED model.",
                    (long long)req->args[1], domain_status_name(status), needs);
        goto out;
    }
    {
        /* where this daemon loads it from: the file, or its copy of the
         * database's (several daemons on several hosts) */
        char local[4200];

        if (artifacts_local(req->app->db, req->app->cfg->data_dir, req->args[1], artifact, local,
                            sizeof(local), &err) == 0)
            pred = pcache_get(req->app->pcache, local, &err);
    }
    if (!pred) {
        struct err err2 = {0};
        int gone;

        /* A DELETE that raced this request removed the file: that is a 404. */
        c = db_acquire(req->app->db);
        gone = db_model_status(c, req->args[0], req->args[1], &status, NULL, &err2) != 0 &&
               err2.code == ERR_NOT_FOUND;
        db_release(req->app->db, c);
        if (gone) {
            handler_not_found(&err2, "model", req->args[1]);
            problem_from_err(resp, &err2, req->request_id);
        } else if (err.code == ERR_CORRUPT || err.code == ERR_IO) {
            LOG_REQ_ERROR(req->request_id, "model %lld artifact: %s", (long long)req->args[1],
                          err.msg);
            problem_set(resp, 500, "The model's artifact is damaged or missing; retrain the "
                        "model.");
        } else {
            problem_from_err(resp, &err, req->request_id);
        }
    }
out:
    free(artifact);
    return pred;
}

#define EXPLAIN_UNAVAILABLE                                                                     \
    "This model was trained before explanations existed (artifact version 1); retrain it "    \
    "to get explanations."

void handler_models_predict(struct request *req, struct response *resp)
{
    static const char *const allowed[] = {"texts", "explain", NULL};
    json_t *errors = NULL, *texts = json_object_get(req->body, "texts"), *v, *out = NULL;
    json_t *ex = json_object_get(req->body, "explain");
    const struct predictor *pred = NULL;
    struct err err = {0};
    size_t i;

    validate_known_fields(req->body, allowed, &errors);
    if (!texts)
        problem_field(&errors, "texts", "is required");
    else if (!json_is_array(texts))
        problem_field(&errors, "texts", "must be an array of strings");
    else if (json_array_size(texts) == 0 || json_array_size(texts) > MAX_PREDICT_TEXTS)
        problem_field(&errors, "texts", "must have 1 to %d items", MAX_PREDICT_TEXTS);
    else
        json_array_foreach(texts, i, v) if (!json_is_string(v)) {
            char f[32];

            snprintf(f, sizeof(f), "texts[%zu]", i);
            problem_field(&errors, f, "must be a string");
        }
    if (ex && !json_is_boolean(ex) && !json_is_null(ex))
        problem_field(&errors, "explain", "must be a boolean");
    if (errors) {
        problem_validation(resp, errors);
        return;
    }
    pred = trained_predictor(req, resp, "predictions");
    if (!pred)
        return;
    int explain = json_is_true(ex);
    out = json_array();
    json_array_foreach(texts, i, v)
    {
        json_t *p = predictor_predict(pred, json_string_value(v), explain, &err);

        if (!p) {
            json_decref(out);
            out = NULL;
            problem_from_err(resp, &err, req->request_id);
            goto out;
        }
        json_object_set_new(p, "text", json_incref(v));
        json_array_append_new(out, p);
    }
    resp->status = 200;
    resp->body = json_pack("{s:I, s:s, s:s, s:o}", "model_id", (json_int_t)req->args[1], "type",
                           domain_type_name(predictor_type(pred)), "language",
                           domain_language_name(predictor_language(pred)),
                           "predictions", out);
    if (explain && !predictor_can_explain(pred))
        json_object_set_new(resp->body, "explain_unavailable", json_string(EXPLAIN_UNAVAILABLE));
out:
    pcache_put(req->app->pcache, pred);
}

/* ---- explanation ---------------------------------------------------------------- */

void handler_models_explanation(struct request *req, struct response *resp)
{
    const struct predictor *pred = trained_predictor(req, resp, "explanations");
    struct err err = {0};
    json_t *top;

    if (!pred)
        return;
    if (!predictor_can_explain(pred)) {
        problem_set(resp, 409, "%s", EXPLAIN_UNAVAILABLE);
    } else if (!(top = predictor_top_features(pred, &err))) {
        problem_from_err(resp, &err, req->request_id);
    } else {
        resp->status = 200;
        resp->body = json_pack("{s:I, s:s, s:o}", "model_id", (json_int_t)req->args[1], "type",
                               domain_type_name(predictor_type(pred)), "top_features", top);
    }
    pcache_put(req->app->pcache, pred);
}

/* ---- base models ----------------------------------------------------------------- */

void handler_base_list(struct request *req, struct response *resp)
{
    struct err err = {0};
    struct db_conn *c = db_acquire(req->app->db);
    struct db_base_row *list;
    json_t *items = NULL;
    size_t n;

    if (db_base_list(c, &list, &n, &err) == 0) {
        items = view_bases(list, n);
        db_base_rows_release(list, n);
        if (!items)
            err_set(&err, ERR_NOMEM, "out of memory");
    }
    db_release(req->app->db, c);
    problem_or_reply(resp, 200, items ? json_pack("{s:o}", "items", items) : NULL, &err,
                     req->request_id);
}
