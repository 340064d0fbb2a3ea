/* SPDX-License-Identifier: MIT */
/* handler_meta: the OpenAPI document (YAML and JSON) and the health probe. */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "handlers.h"
#include "log.h"
#include "openapi.h"
#include "pool.h"
#include "problem.h"
#include "stats.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

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

/* The JSON form never changes: convert the embedded YAML once per process
 * (the text is immutable afterwards, so request threads share it read-only). */
static pthread_once_t openapi_once = PTHREAD_ONCE_INIT;
static char *openapi_json_text;

static void openapi_convert(void)
{
    struct err err = {0};
    json_t *doc = openapi_json(&err);

    if (doc)
        openapi_json_text = util_json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
}

void handler_meta_openapi_json(struct request *req, struct response *resp)
{
    size_t len;

    pthread_once(&openapi_once, openapi_convert);
    if (!openapi_json_text) {
        problem_from_err(resp, &(struct err){ERR_INTERNAL, "openapi document"}, req->request_id);
        return;
    }
    len = strlen(openapi_json_text);
    resp->raw = malloc(len ? len : 1);
    if (!resp->raw) {
        problem_set(resp, 500, "out of memory");
        return;
    }
    memcpy(resp->raw, openapi_json_text, len);
    resp->raw_len = len;
    resp->status = 200;
}

void handler_meta_healthz(struct request *req, struct response *resp)
{
    (void)req;
    resp->status = 200;
    resp->body = json_pack("{s:s}", "status", "ok");
}

void handler_meta_readyz(struct request *req, struct response *resp)
{
    struct err err = {0};
    struct db_conn *c = db_acquire(req->app->db);
    int missing = db_schema_missing(c, &err);
    int workers = pool_ready(req->app->pool);

    db_release(req->app->db, c);
    if (missing == 0 && workers) {
        resp->status = 200;
        /* --workers 0 (an API-only daemon) is ready without workers */
        resp->body = json_pack("{s:s, s:{s:s, s:s, s:s}}", "status", "ready", "checks",
                               "database", "ok", "migrations", "ok", "workers",
                               pool_workers(req->app->pool) > 0 ? "ok" : "none");
        return;
    }
    if (missing < 0)
        LOG_REQ_ERROR(req->request_id, "readiness: database: %s", err.msg);
    problem_set(resp, 503, "Not ready: %s.",
                missing < 0    ? "the database cannot be read"
                : missing > 0  ? "database migrations are not applied"
                               : "the training workers are not running");
    resp->retry_after = 1;
}

void handler_meta_metrics(struct request *req, struct response *resp)
{
    const char *want = req->app->cfg->metrics_token;
    struct stats_gauges g = {0};
    struct err err = {0};
    size_t len = 0;

    if (want) {
        /* --metrics-token: a scraper's own bearer token, compared in constant time */
        const char *got = req->authorization;
        size_t wl = strlen(want);
        if (!got || strncmp(got, "Bearer ", 7) != 0 || strlen(got + 7) != wl ||
            sodium_memcmp(got + 7, want, wl) != 0) {
            problem_set(resp, 401, "GET /metrics needs the metrics token (--metrics-token).");
            resp->www_authenticate = 1;
            return;
        }
    }
    struct db_conn *c = db_acquire(req->app->db);
    int rc = db_models_by_status(c, stats_status_names, g.jobs, &err);
    db_release(req->app->db, c);
    if (rc < 0) {
        problem_from_err(resp, &err, req->request_id);
        return;
    }
    g.busy_workers = pool_running(req->app->pool);
    g.workers = pool_workers(req->app->pool);
    {
        struct db_write_stats ws;

        db_write_stats(req->app->db, &ws);
        g.db_writes = ws.writes;
        g.db_commits = ws.commits;
        g.db_batch_max = ws.max_batch;
    }
    resp->raw = stats_render(&g, &len);
    if (!resp->raw) {
        problem_set(resp, 500, "out of memory");
        return;
    }
    resp->raw_len = len;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    resp->status = 200;
}

void handler_meta_health(struct request *req, struct response *resp)
{
    resp->status = 200;
    resp->body = json_pack("{s:s, s:s, s:i}", "status", "ok", "version", MODELD_VERSION,
                           "training_jobs", pool_running(req->app->pool));
}
