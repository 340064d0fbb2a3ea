/* SPDX-License-Identifier: MIT */
/* view: JSON representations of stored things (see view.h). */
#include "view.h"

#include "domain.h"
#include "banned.h" /* last: bans unsafe libc calls */

json_t *view_annotation(const struct db_annotation *a)
{
    static const char *const keys[] = {"classes", "labels", "aspect_categories", "polarities"};
    json_t *inv = json_pack("{s:{}, s:{}, s:{}, s:{}}", keys[0], keys[1], keys[2], keys[3]);
    json_t *v;

    if (!inv)
        return NULL;
    for (size_t i = 0; i < a->n_labels; i++) {
        const struct db_label_count *l = &a->labels[i];
        size_t k = (size_t)l->kind < 4 ? (size_t)l->kind : 3;

        if (json_object_set_new(json_object_get(inv, keys[k]), l->name,
                                json_integer(l->count)) != 0) {
            json_decref(inv); /* out of memory: no view with a hole in it */
            return NULL;
        }
    }
    v = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:I, s:o}", "id", (json_int_t)a->id,
                  "project_id", (json_int_t)a->project_id, "name", a->name, "type",
                  domain_type_name(a->type), "language", domain_language_name(a->language),
                  "created", a->created, "document_count", (json_int_t)a->document_count,
                  "labels", inv);
    return v;
}

/* An array of the views one() gives of the n items of elem_size bytes at items. */
static json_t *view_array(const void *items, size_t n, size_t elem_size,
                          json_t *(*one)(const void *item))
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < n; i++) {
        json_t *v = one((const char *)items + i * elem_size);

        if (!v || json_array_append_new(arr, v) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *annotation_item(const void *a)
{
    return view_annotation(a);
}

json_t *view_annotations(const struct db_annotation *a, size_t n)
{
    return view_array(a, n, sizeof(*a), annotation_item);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A stored JSON text parsed, or NULL when absent or not of the wanted kind. */
static json_t *stored_json(const char *text)
{
    return text ? json_loads(text, 0, NULL) : NULL;
}

json_t *view_model(const struct db_model *m, int with_metrics)
{
    json_t *o = json_object(), *w;
    int bad = 0; /* a member could not be set (out of memory) */

    if (!o)
        return NULL;
    bad |= json_object_set_new(o, "id", json_integer(m->id));
    bad |= json_object_set_new(o, "uuid", str_or_null(m->uuid));
    bad |= json_object_set_new(o, "name", str_or_null(m->name));
    bad |= json_object_set_new(o, "display_name", str_or_null(m->display_name));
    bad |= json_object_set_new(o, "language", json_string(domain_language_name(m->language)));
    bad |= json_object_set_new(o, "base", str_or_null(m->base_name));
    bad |= json_object_set_new(o, "created", str_or_null(m->created));
    bad |= json_object_set_new(o, "updated", str_or_null(m->updated));
    bad |= json_object_set_new(o, "owner", str_or_null(m->owner));
    bad |= json_object_set_new(o, "progress", json_real(m->progress));
    bad |= json_object_set_new(o, "project_id",
                               m->project_id ? json_integer(m->project_id) : json_null());
    bad |= json_object_set_new(o, "score", m->has_score ? json_real(m->score) : json_null());
    bad |= json_object_set_new(o, "short_description", str_or_null(m->short_description));
    bad |= json_object_set_new(o, "long_description", str_or_null(m->long_description));
    bad |= json_object_set_new(o, "status", json_string(domain_status_name(m->status)));
    bad |= json_object_set_new(o, "type", json_string(domain_type_name(m->type)));
    bad |= json_object_set_new(o, "failure_reason", str_or_null(m->failure_reason));
    bad |= json_object_set_new(o, "queued_at", str_or_null(m->queued_at));
    bad |= json_object_set_new(o, "started_at", str_or_null(m->started_at));
    bad |= json_object_set_new(o, "finished_at", str_or_null(m->finished_at));
    w = stored_json(m->warnings);
    if (!json_is_array(w)) {
        json_decref(w);
        w = json_array();
    }
    bad |= json_object_set_new(o, "warnings", w);
    if (with_metrics) {
        json_t *mt = stored_json(m->metrics);

        bad |= json_object_set_new(o, "metrics", mt ? mt : json_null());
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *model_item(const void *m)
{
    return view_model(m, 0);
}

json_t *view_models(const struct db_model *m, size_t n)
{
    return view_array(m, n, sizeof(*m), model_item);
}

json_t *view_base(const struct db_base_row *b)
{
    return json_pack("{s:I, s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:b}", "id", (json_int_t)b->id,
                     "uuid", str_or_null(b->uuid), "name", str_or_null(b->name), "language",
                     domain_language_name(b->language), "type", domain_type_name(TYPE_BASE),
                     "created", str_or_null(b->created), "from_model_id",
                     b->from_model_id ? json_integer(b->from_model_id) : json_null(),
                     "from_model", str_or_null(b->from_model), "has_weights", b->has_weights);
}

static json_t *base_item(const void *b)
{
    return view_base(b);
}

json_t *view_bases(const struct db_base_row *b, size_t n)
{
    return view_array(b, n, sizeof(*b), base_item);
}

json_t *view_model_load(struct db_conn *c, int64_t project_id, int64_t id, int with_metrics,
                        struct err *err)
{
    struct db_model m;
    json_t *v;

    if (db_model_get(c, project_id, id, with_metrics, &m, err) != 0)
        return NULL;
    v = view_model(&m, with_metrics);
    db_model_release(&m);
    if (!v)
        err_set(err, ERR_NOMEM, "out of memory");
    return v;
}
