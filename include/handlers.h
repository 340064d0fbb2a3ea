/* SPDX-License-Identifier: MIT */
/*
 * handlers: the request handlers of every route, grouped by resource in
 * src/handler_models.c (create, list, get), src/handler_model_ops.c (patch,
 * delete, cancel, predict, base models), src/handler_events.c (the event
 * streams of a model and of a project), src/handler_annotations.c
 * (labeling sessions and document uploads) and src/handler_meta.c (OpenAPI,
 * health). Each takes a routed, authorized struct request and fills a struct
 * response; none of them touches libmicrohttpd.
 *
 * Thread-safety: all handlers are reentrant (they run on HTTP threads).
 */
#ifndef MODELD_HANDLERS_H
#define MODELD_HANDLERS_H

#include "router.h"

/* A storage ERR_NOT_FOUND for what (e.g. "model") id of the request's
 * project, worded for the client: "no model 7 in this project". Any other
 * error is left as it is. */
void handler_not_found(struct err *err, const char *what, int64_t id);

void handler_models_create(struct request *req, struct response *resp);
void handler_models_list(struct request *req, struct response *resp);
void handler_models_get(struct request *req, struct response *resp);
void handler_models_patch(struct request *req, struct response *resp);
void handler_models_delete(struct request *req, struct response *resp);
void handler_models_cancel(struct request *req, struct response *resp);
void handler_models_predict(struct request *req, struct response *resp);
void handler_models_explanation(struct request *req, struct response *resp);
void handler_models_events(struct request *req, struct response *resp);
void handler_projects_events(struct request *req, struct response *resp);
void handler_base_list(struct request *req, struct response *resp);

/* POST /session (sign in with a token: cookie + CSRF token), DELETE /session. */
void handler_session_create(struct request *req, struct response *resp);
void handler_session_delete(struct request *req, struct response *resp);
/* GET /session: the session of the cookie (user, csrf_token, expires), so a
 * page that was reloaded gets its CSRF token back; 401 without one. */
void handler_session_get(struct request *req, struct response *resp);

/* The dashboard (src/handler_ui.c): GET /ui redirects to /ui/, which is
 * ui/index.html; GET /ui/{asset} is a file of ui/, embedded at build time. */
void handler_ui_index(struct request *req, struct response *resp);
void handler_ui_asset(struct request *req, struct response *resp);

void handler_annotations_create(struct request *req, struct response *resp);
void handler_annotations_list(struct request *req, struct response *resp);
void handler_annotations_get(struct request *req, struct response *resp);
void handler_annotations_upload(struct request *req, struct response *resp);
extern const struct stream_ops handler_annotations_upload_stream;

void handler_members_list(struct request *req, struct response *resp);
void handler_members_put(struct request *req, struct response *resp);
void handler_members_delete(struct request *req, struct response *resp);
void handler_projects_list(struct request *req, struct response *resp);

void handler_meta_openapi_json(struct request *req, struct response *resp);
void handler_meta_openapi_yaml(struct request *req, struct response *resp);
void handler_meta_health(struct request *req, struct response *resp);
void handler_meta_healthz(struct request *req, struct response *resp);
void handler_meta_readyz(struct request *req, struct response *resp);
void handler_meta_metrics(struct request *req, struct response *resp);

#endif
