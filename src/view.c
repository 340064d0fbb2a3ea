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

        json_object_set_new(json_object_get(inv, keys[k]), l->name, json_integer(l->count));
    }
    v = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:I, s:o}", "id", (json_int_t)a->id,
                  "project_id", (json_int_t)a->project_id, "name", a->name, "type",
                  domain_type_name(a->type), "language", domain_language_name(a->language),
                  "created", a->created, "document_count", (json_int_t)a->document_count,
                  "labels", inv);
    return v;
}

json_t *view_annotations(const struct db_annotation *a, size_t n)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < n; i++) {
        json_t *v = view_annotation(&a[i]);

        if (!v || json_array_append_new(arr, v) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}
