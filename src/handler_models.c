/* SPDX-License-Identifier: MIT */
/*
 * handler_models: POST/GET/PATCH/DELETE of models, cancel, predict, and the
 * base-model catalog. Validation collects every invalid field before
 * answering 400; nothing is written unless the whole request is valid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "db.h"
#include "handlers.h"
#include "idem.h"
#include "log.h"
#include "notify.h"
#include "pool.h"
#include "problem.h"
#include "trainer.h"
#include "util.h"
#include "validate.h"
#include "view.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define MAX_SESSIONS 1000

void handler_not_found(struct err *err, const char *what, int64_t id)
{
    if (err->code == ERR_NOT_FOUND)
        err_set(err, ERR_NOT_FOUND, "no %s %lld in this project", what, (long long)id);
}


/* ---- create ---------------------------------------------------------------- */

struct create_req {
    char *name, *display_name, *short_d, *long_d;
    const char *language;
    int64_t base_id;
    int has_base;
    int64_t *all, *train, *test;
    size_t n_all, n_train, n_test;
};

static void create_req_release(struct create_req *r)
{
    free(r->name);
    free(r->display_name);
    free(r->short_d);
    free(r->long_d);
    free(r->all);
    free(r->train);
    free(r->test);
}

/* Check every referenced session: exists in the project, language, one type.
 * Sets *type to the common annotation type (*have_type once it is known). */
static void check_sessions(struct db_conn *c, struct request *req, const char *field,
                           const int64_t *ids, size_t n, const char *language,
                           enum model_type *type, int *have_type, int *type_conflict,
                           json_t **errors, int *db_failed)
{
    char missing[512] = "", wrong_lang[512] = "";
    struct err err = {0};

    for (size_t i = 0; i < n; i++) {
        enum model_type t;
        enum language l;

        if (db_annotation_meta(c, req->args[0], ids[i], &t, &l, &err) != 0) {
            if (err.code != ERR_NOT_FOUND) {
                *db_failed = 1;
                return;
            }
            size_t len = strlen(missing);
            snprintf(missing + len, sizeof(missing) - len, "%s%lld", len ? ", " : "",
                     (long long)ids[i]);
            continue;
        }
        if (language && strcmp(domain_language_name(l), language) != 0) {
            size_t len = strlen(wrong_lang);
            snprintf(wrong_lang + len, sizeof(wrong_lang) - len, "%s%lld (%s)", len ? ", " : "",
                     (long long)ids[i], domain_language_name(l));
        }
        if (!*have_type) {
            *type = t;
            *have_type = 1;
        } else if (*type != t) {
            *type_conflict = 1;
        }
    }
    if (missing[0])
        problem_field(errors, field, "no labeling session with id %s in this project", missing);
    if (wrong_lang[0])
        problem_field(errors, field, "labeling sessions %s do not have the model's language '%s'",
                      wrong_lang, language);
}

/* The write of a create: the model row with its sessions, the answer (the
 * model as created), its queue entry and the Idempotency-Key record, in one
 * db_write, so an acknowledged model is always on the queue. It runs on the
 * writer's thread; resp belongs to the request again when db_write returns. */
struct create_write {
    const struct request *req;
    const struct db_model_new *m;
    struct response *resp;
    int64_t id;
};

static int create_write(struct db_conn *c, void *arg, struct err *err)
{
    struct create_write *cw = arg;
    int64_t project = cw->req->args[0];
    struct response *resp = cw->resp;
    int64_t id = db_model_create(c, cw->m, err);
    json_t *view;

    if (id < 0)
        return -1;
    view = view_model_load(c, project, id, 0, err);
    if (!view || db_job_enqueue(c, id, err) != 0) {
        json_decref(view);
        return -1;
    }
    resp->status = 201;
    resp->body = view;
    snprintf(resp->location, sizeof(resp->location), "/projects/%lld/models/%lld",
             (long long)project, (long long)id);
    if (idem_save(cw->req, c, resp, err) != 0)
        return -1; /* the caller releases resp */
    cw->id = id;
    return 0;
}

void handler_models_create(struct request *req, struct response *resp)
{
    static const char *const allowed[] = {"name",
                                          "display_name",
                                          "language",
                                          "base_id",
                                          "annotation_ids",
                                          "trainset_annotation_ids",
                                          "testset_annotation_ids",
                                          "short_description",
                                          "long_description",
                                          NULL};
    struct create_req r = {0};
    struct db_base base = {0};
    struct db_conn *c = NULL;
    struct err err = {0};
    json_t *errors = NULL;
    char uuid_str[37];
    enum model_type type = TYPE_CLASS;
    int have_type = 0, type_conflict = 0, db_failed = 0;
    int64_t id;
    uuid_t uu;

    validate_known_fields(req->body, allowed, &errors);
    /* Clients often send optional fields as null: null means absent, except
     * for the required name (whose null is reported below). */
    for (const char *const *f = allowed + 1; *f; f++)
        if (json_is_null(json_object_get(req->body, *f)))
            json_object_del(req->body, *f);
    validate_string(req->body, "name", 1, 128, VALIDATE_REQUIRED | VALIDATE_TRIM |
                    VALIDATE_SINGLE_LINE, &r.name, NULL, &errors);
    validate_string(req->body, "display_name", 1, 255, VALIDATE_TRIM | VALIDATE_SINGLE_LINE,
                    &r.display_name, NULL, &errors);
    validate_string(req->body, "short_description", 0, 255, VALIDATE_NULLABLE, &r.short_d, NULL,
                    &errors);
    validate_string(req->body, "long_description", 0, 4000, VALIDATE_NULLABLE, &r.long_d, NULL,
                    &errors);
    validate_int(req->body, "base_id", 1, INT64_MAX, 0, &r.base_id, &r.has_base, &errors);
    validate_enum(req->body, "language", domain_language_names, 0, &r.language, &errors);
    if (json_object_get(req->body, "annotation_ids")) {
        validate_id_array(req->body, "annotation_ids", MAX_SESSIONS, VALIDATE_REQUIRED, &r.all,
                          &r.n_all, &errors);
    } else {
        int ok_train = validate_id_array(req->body, "trainset_annotation_ids", MAX_SESSIONS, 0,
                                         &r.train, &r.n_train, &errors) == 0;
        int ok_test = validate_id_array(req->body, "testset_annotation_ids", MAX_SESSIONS, 0,
                                        &r.test, &r.n_test, &errors) == 0;

        if (ok_train && ok_test && !r.train && !r.test)
            problem_field(&errors, "annotation_ids",
                          "is required (or both trainset_annotation_ids and "
                          "testset_annotation_ids)");
        else if (ok_train && ok_test && !r.train)
            problem_field(&errors, "trainset_annotation_ids",
                          "is required when testset_annotation_ids is given and "
                          "annotation_ids is not");
        else if (ok_train && ok_test && !r.test)
            problem_field(&errors, "testset_annotation_ids",
                          "is required when trainset_annotation_ids is given and "
                          "annotation_ids is not");
        for (size_t i = 0; r.train && r.test && i < r.n_train; i++)
            for (size_t j = 0; j < r.n_test; j++)
                if (r.train[i] == r.test[j])
                    problem_field(&errors, "testset_annotation_ids",
                                  "labeling session %lld is also in trainset_annotation_ids; "
                                  "the sets must not overlap",
                                  (long long)r.test[j]);
    }

    c = db_acquire(req->app->db);
    if (r.has_base) {
        /* a catalog base, or a model of this workspace in a project where
         * the caller has a role: anything else answers exactly like an id
         * that does not exist, so ids of other projects cannot be probed */
        int usable = db_model_base_info(c, r.base_id, &base, &err) == 0;
        if (!usable && err.code != ERR_NOT_FOUND)
            goto fail_err;
        if (usable && base.type != TYPE_BASE)
            usable = base.workspace_id == req->caller.workspace_id;
        if (usable && base.type != TYPE_BASE) {
            enum role role;
            struct err rerr = {0};
            usable = db_member_role(c, base.project_id, req->caller.user_id, &role, NULL, &rerr) == 0;
            if (!usable && rerr.code != ERR_NOT_FOUND) {
                err = rerr;
                goto fail_err;
            }
        }
        if (!usable) {
            problem_field(&errors, "base_id",
                          "no base model, and no model of a project of this workspace you have a "
                          "role in, with id %lld",
                          (long long)r.base_id);
        } else if (base.type != TYPE_BASE && !domain_status_trained(base.status)) {
            problem_field(&errors, "base_id",
                          "model %lld is %s; a base must be a trained (READY, ACTIVE or "
                          "PUBLISHED) model",
                          (long long)r.base_id, domain_status_name(base.status));
        } else {
            if (!r.language && !json_object_get(req->body, "language"))
                r.language = domain_language_name(base.language);
            else if (r.language && strcmp(r.language, domain_language_name(base.language)) != 0)
                problem_field(&errors, "language",
                              "'%s' differs from the base model's language '%s'", r.language,
                              domain_language_name(base.language));
        }
    } else if (!r.language && !json_object_get(req->body, "language")) {
        problem_field(&errors, "language", "is required unless base_id is given");
    }
    if (r.all)
        check_sessions(c, req, "annotation_ids", r.all, r.n_all, r.language, &type, &have_type, &type_conflict,
                       &errors, &db_failed);
    if (r.train)
        check_sessions(c, req, "trainset_annotation_ids", r.train, r.n_train, r.language, &type,
                       &have_type, &type_conflict, &errors, &db_failed);
    if (r.test)
        check_sessions(c, req, "testset_annotation_ids", r.test, r.n_test, r.language, &type,
                       &have_type, &type_conflict, &errors, &db_failed);
    if (db_failed) {
        err_set(&err, ERR_INTERNAL, "session lookup failed");
        goto fail_err;
    }
    if (type_conflict)
        problem_field(&errors, r.all ? "annotation_ids" : "trainset_annotation_ids",
                      "the labeling sessions have different annotation types; a model is "
                      "trained from sessions of one type");
    if (errors)
        goto invalid;

    uuid_generate_random(uu);
    uuid_unparse_lower(uu, uuid_str);
    {
        size_t n = r.all ? r.n_all : r.n_train + r.n_test;
        int64_t *ids = calloc(n ? n : 1, sizeof(*ids));
        enum db_ann_role *roles = calloc(n ? n : 1, sizeof(*roles));
        enum language lang = LANG_EN;
        struct db_model_new m = {
            .uuid = uuid_str,
            .name = r.name,
            .display_name = r.display_name ? r.display_name : r.name,
            .type = type,
            .short_description = r.short_d,
            .long_description = r.long_d,
            .project_id = req->args[0],
            .workspace_id = req->caller.workspace_id,
            .owner_id = req->caller.user_id,
            .base_id = r.has_base ? r.base_id : 0,
            .base_name = r.has_base ? base.name : NULL,
            .ann_ids = ids,
            .ann_roles = roles,
            .n_ann = n,
        };

        /* the language was validated, or taken from the base */
        if (!r.language || domain_language_parse(r.language, &lang) != 0) {
            free(ids);
            free(roles);
            err_set(&err, ERR_INTERNAL, "model language unset after validation");
            goto fail_err;
        }
        m.language = lang;
        if (!ids || !roles) {
            free(ids);
            free(roles);
            err_set(&err, ERR_NOMEM, "out of memory");
            goto fail_err;
        }
        for (size_t i = 0; i < n; i++) {
            if (r.all) {
                ids[i] = r.all[i];
                roles[i] = DB_ANN_ALL;
            } else if (i < r.n_train) {
                ids[i] = r.train[i];
                roles[i] = DB_ANN_TRAIN;
            } else {
                ids[i] = r.test[i - r.n_train];
                roles[i] = DB_ANN_TEST;
            }
        }
        struct create_write cw = {req, &m, resp, -1};

        /* the model, its answer and the Idempotency-Key record commit together */
        db_release(req->app->db, c);
        c = NULL;
        id = cw.id;
        if (db_write(req->app->db, create_write, &cw, &err) != 0) {
            response_release(resp); /* its work was undone */
            resp->location[0] = '\0';
        } else {
            id = cw.id;
        }
        free(ids);
        free(roles);
    }
    if (id < 0) {
        if (err.code == ERR_CONFLICT) { /* quoted while the message still fits */
            if (strlen(r.name) <= 256)
                problem_field(&errors, "name", "the name '%s' is already taken in this workspace",
                              r.name);
            else
                problem_field(&errors, "name", "the name is already taken in this workspace");
            goto invalid;
        }
        goto fail_err;
    }
    notify_model_changed(req->app->notify, req->args[0], id, NOTIFY_CREATED);
    pool_wake(req->app->pool);
    goto out;
invalid:
    problem_validation(resp, errors);
    errors = NULL;
    goto out;
fail_err:
    problem_from_err(resp, &err, req->request_id);
out:
    if (c)
        db_release(req->app->db, c);
    json_decref(errors);
    db_base_release(&base);
    create_req_release(&r);
}

/* ---- read ------------------------------------------------------------------ */

void handler_models_get(struct request *req, struct response *resp)
{
    struct err err = {0};
    struct db_conn *c = db_acquire(req->app->db);
    size_t len = 0;
    /* serialized once: the stored metrics are copied, not parsed and dumped again */
    char *text = view_model_text(c, req->args[0], req->args[1], &len, &err);

    db_release(req->app->db, c);
    if (!text) {
        handler_not_found(&err, "model", req->args[1]);
        problem_from_err(resp, &err, req->request_id);
        return;
    }
    resp->status = 200;
    resp->raw = text;
    resp->raw_len = len;
}

/* Filter query parameter key, when given, must be one of values (*out borrows it). */
/* Check query parameter key (when given) against values. */
static void query_enum(const struct request *req, const char *key, const char *const *values,
                       const char **out, json_t **errors)
{
    const char *v = request_query(req, key);

    if (v)
        validate_enum_value(key, v, values, out, errors);
}

void handler_models_list(struct request *req, struct response *resp)
{
    struct db_model_filter f = {0};
    json_t *errors = NULL;
    const char *v, *status = NULL, *type = NULL, *language = NULL;
    struct err err = {0};
    struct db_conn *c;
    int64_t limit = 50, next = 0;
    char *cursor = NULL, *page = NULL;
    size_t len = 0;

    if ((v = request_query(req, "limit")) && util_parse_i64(v, 1, 200, &limit) != 0)
        problem_field(&errors, "limit", "must be an integer from 1 to 200");
    if ((v = request_query(req, "cursor")) && util_cursor_decode(v, &f.before_id) != 0)
        problem_field(&errors, "cursor", "is not a cursor this server returned");
    query_enum(req, "status", domain_status_names, &status, &errors);
    query_enum(req, "type", domain_annotation_type_names, &type, &errors);
    query_enum(req, "language", domain_language_names, &language, &errors);
    if (errors) {
        problem_validation(resp, errors);
        return;
    }
    f.by_status = status && domain_status_parse(status, &f.status) == 0;
    f.by_type = type && domain_type_parse(type, &f.type) == 0;
    f.by_language = language && domain_language_parse(language, &f.language) == 0;
    f.limit = (int)limit;
    c = db_acquire(req->app->db);
    {
        struct db_model *list;
        size_t n;

        if (db_model_list(c, req->args[0], &f, &list, &n, &next, &err) == 0) {
            /* serialized once, straight to text (view_models_page) */
            cursor = next ? util_cursor_encode(next) : NULL;
            if (!next || cursor)
                page = view_models_page(list, n, cursor, &len);
            db_models_release(list, n);
            if (!page)
                err_set(&err, ERR_NOMEM, "out of memory");
        }
    }
    db_release(req->app->db, c);
    free(cursor);
    if (!page) {
        problem_from_err(resp, &err, req->request_id);
        return;
    }
    resp->status = 200;
    resp->raw = page;
    resp->raw_len = len;
}
