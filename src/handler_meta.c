/* SPDX-License-Identifier: MIT */
/* handler_meta: the OpenAPI document (YAML and JSON) and the health probe. */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "openapi.h"
#include "pool.h"
#include "problem.h"

void handler_meta_openapi_yaml(struct request *req, struct response *resp)
{
    size_t len;
    const char *y = openapi_yaml(&len);

    (void)req;
    resp->raw = malloc(len ? len : 1);
    if (!resp->raw) {
        problem_set(resp, 500, "out of memory");
        return;
    }
    memcpy(resp->raw, y, len);
    resp->raw_len = len;
    resp->content_type = "application/yaml";
    resp->status = 200;
}

void handler_meta_openapi_json(struct request *req, struct response *resp)
{
    struct err err = {0};
    json_t *doc = openapi_json(&err);

    if (!doc) {
        problem_from_err(resp, &(struct err){ERR_INTERNAL, "openapi document"}, req->request_id);
        return;
    }
    resp->status = 200;
    resp->body = doc;
}

void handler_meta_health(struct request *req, struct response *resp)
{
    resp->status = 200;
    resp->body = json_pack("{s:s, s:i}", "status", "ok", "training_jobs",
                           pool_running(req->app->pool));
}
