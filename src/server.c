/* SPDX-License-Identifier: MIT */
/* server: start/stop of db + pool + http in dependency order (see server.h). */
#include "server.h"

#include <stdlib.h>

#include "db.h"
#include "http.h"
#include "pool.h"

struct server {
    struct app app;
    struct http_server *http;
};

struct server *server_start(const struct app_config *cfg, struct err *err)
{
    struct server *s = calloc(1, sizeof(*s));
    int http_threads = cfg->http_threads > 0 ? cfg->http_threads : 4;

    if (!s) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->app.cfg = cfg;
    /* one connection per HTTP thread and per worker, plus one spare */
    s->app.db = db_open(cfg->db_path, http_threads + cfg->workers + 1, err);
    if (!s->app.db)
        goto fail;
    s->app.pool = pool_start(&s->app, cfg->workers, err);
    if (!s->app.pool)
        goto fail;
    s->http = http_start(&s->app, cfg->bind, cfg->port, http_threads, err);
    if (!s->http)
        goto fail;
    return s;
fail:
    server_stop(s);
    return NULL;
}

uint16_t server_port(const struct server *s)
{
    return http_port(s->http);
}

void server_stop(struct server *s)
{
    if (!s)
        return;
    http_stop(s->http);
    pool_stop(s->app.pool);
    db_close(s->app.db);
    free(s);
}
