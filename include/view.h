/* SPDX-License-Identifier: MIT */
/*
 * view: the API's JSON representations of stored things (the contract of
 * openapi/openapi.yaml). Storage returns domain structs (db.h); handlers turn
 * them into JSON here, so no backend has to know the HTTP contract.
 *
 * Thread-safety: reentrant. Every function returns a new reference, or NULL
 * when memory is short (view_model_load also when storage fails, with err).
 */
#ifndef MODELD_VIEW_H
#define MODELD_VIEW_H

#include <jansson.h>
#include <stddef.h>

#include "db.h"
#include "strbuf.h"

/* A labeling session: id, project_id, name, type, language, created,
 * document_count and labels {classes, labels, aspect_categories, polarities}
 * (name -> number of documents). */
json_t *view_annotation(const struct db_annotation *a);
/* An array of sessions. */
json_t *view_annotations(const struct db_annotation *a, size_t n);

/* A model (metrics included when with_metrics, null when none recorded). */
json_t *view_model(const struct db_model *m, int with_metrics);
/* A model of the base catalog: id, uuid, name, language, type (BASE),
 * created, from_model_id, from_model, has_weights. */
json_t *view_base(const struct db_base_row *b);
/* An array of catalog models. */
json_t *view_bases(const struct db_base_row *b, size_t n);
/* Append model m as compact JSON text to sb: the bytes
 * json_dumps(view_model(m, with_metrics), JSON_COMPACT) gives, written
 * directly, with the stored metrics and warnings texts copied instead of
 * parsed and dumped again (most of the work of GET model and the list). */
void view_model_write(struct strbuf *sb, const struct db_model *m, int with_metrics);
/* Load model id of the project with its metrics and render it like
 * view_model_write(). Returns a malloc'd NUL-terminated text (caller frees)
 * and its length in *len; NULL with err (ERR_NOT_FOUND...). */
char *view_model_text(struct db_conn *c, int64_t project_id, int64_t id, size_t *len,
                      struct err *err);
/* The list page {"items": [n models without metrics], "next_cursor": next_cursor
 * or null} as compact text (caller frees; length in *len), NULL when memory is short. */
char *view_models_page(const struct db_model *m, size_t n, const char *next_cursor, size_t *len);
/* Load model id of the project and render it; NULL with err (ERR_NOT_FOUND...). */
json_t *view_model_load(struct db_conn *c, int64_t project_id, int64_t id, int with_metrics,
                        struct err *err);

#endif
