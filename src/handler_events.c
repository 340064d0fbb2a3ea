/* SPDX-License-Identifier: MIT */
/*
 * handler_events: the event streams (text/event-stream) of one model
 * (GET /projects/{p}/models/{id}/events) and of every model of a project
 * (GET /projects/{p}/events).
 *
 * A stream subscribes to the notification hub (notify.h) before it reads
 * anything, so no change committed after the request arrived is missed. It
 * reads the database only when the hub said that something it follows
 * changed; otherwise its poll answers "nothing" without a read (http_ polls
 * a parked stream only for a keep-alive). Coalescing in the hub means a
 * client that reads slowly gets the latest state of each model, not every
 * step in between.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "authcache.h"
#include "db.h"
#include "handlers.h"
#include "notify.h"
#include "problem.h"
#include "util.h"
#include "view.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* Changes taken from the hub per poll (a poll also ends at the first send). */
#define EVENTS_BATCH 64

/* "event: <event>\ndata: <data>\n\n" appended to f. */
static void put_event(FILE *f, const char *event, const char *data)
{
    fprintf(f, "event: %s\ndata: %s\n\n", event, data);
}

/* A `deleted` event for model id. */
static void put_deleted(FILE *f, int64_t id)
{
    char data[48];

    snprintf(data, sizeof(data), "{\"id\":%lld}", (long long)id);
    put_event(f, "deleted", data);
}

/* event_source.watch of both streams: the hub wakes the stream. */
static void events_watch(void *state, void (*wake)(void *arg), void *arg)
{
    struct notify_sub **sub = state; /* the first member of both states */

    notify_sub_watch(*sub, wake, arg);
}

/* ---- the right to follow a stream ------------------------------------------------ */

/*
 * What let a stream in (the bearer token, else the session cookie, and the
 * project), checked again whenever the daemon's authentication cache was
 * emptied, that is when some right may have been taken away (a token
 * revoked, a user disabled, a role changed: auth_epoch moved, see
 * authcache.h; the server's auth watch then wakes every stream). A stream
 * whose caller lost the right gets a `revoked` event and ends.
 */
struct stream_grant {
    struct authcache *ac; /* NULL: no cache, nothing to watch */
    int by_session;
    char secret[300];     /* the bearer token, or the session cookie's value */
    int64_t project_id;
    uint64_t gen;         /* authcache_gen when last checked */
};

/* Record what let req in. */
static void grant_init(struct stream_grant *g, const struct request *req)
{
    const char *token = auth_bearer(req->authorization);

    g->ac = req->app->authcache;
    g->by_session = !token && req->by_session;
    snprintf(g->secret, sizeof(g->secret), "%s",
             token ? token : req->session_cookie ? req->session_cookie : "");
    g->project_id = req->args[0];
    g->gen = g->ac ? authcache_gen(g->ac) : 0;
}

static void grant_release(struct stream_grant *g)
{
    memset(g->secret, 0, sizeof(g->secret));
}

/* 0 while the caller may still follow the stream (checked again only when
 * the cache was emptied since the last check), 1 when the right is gone,
 * -1 when storage failed (the stream then ends with an error). */
static int grant_lost(struct stream_grant *g, struct db *db)
{
    struct caller who = {0};
    struct err err = {0};
    struct db_conn *c;
    uint64_t gen;
    char csrf_hash[65];
    int rc;

    if (!g->ac || (gen = authcache_gen(g->ac)) == g->gen)
        return 0;
    c = db_acquire(db);
    rc = g->by_session ? auth_identify_session(g->ac, c, g->secret, &who, csrf_hash, &err)
                       : auth_identify(g->ac, c, g->secret, &who, &err);
    if (rc == 0)
        rc = auth_project_role(g->ac, c, g->project_id, &who, &err);
    db_release(db, c);
    auth_caller_release(&who);
    if (rc == 0) {
        g->gen = gen;
        return 0;
    }
    return err.code == ERR_UNAUTHORIZED || err.code == ERR_NOT_FOUND ? 1 : -1;
}

/* The `revoked` event that ends a stream whose caller lost the right to it. */
static int put_revoked(char **out, size_t *len)
{
    FILE *f = open_memstream(out, len);

    if (!f)
        return -1;
    put_event(f, "revoked",
              "{\"reason\":\"the credentials of this stream were revoked or no longer give a "
              "role in the project\"}");
    return fclose(f) == 0 ? 1 : -1;
}

/* ---- one model ------------------------------------------------------------------ */

/* State of one GET .../models/{id}/events stream. */
struct model_events {
    struct notify_sub *sub; /* first: see events_watch */
    struct db *db;
    int64_t project_id, id;
    struct stream_grant grant;
    int fresh;      /* read the row at the next poll (first poll, or notified) */
    char last[256]; /* status|progress|score|failure of the last event */
};

static void model_events_free(void *state)
{
    struct model_events *me = state;

    notify_unsubscribe(me->sub);
    grant_release(&me->grant);
    free(me);
}

/* event_source.poll: one "model" event whenever status, progress, score or
 * failure_reason changed; the stream ends once training is over or the model
 * is deleted ("deleted" event). Reads the row only when notified. */
static int model_events_poll(void *state, char **out, size_t *len)
{
    struct model_events *me = state;
    struct notify_change ch[EVENTS_BATCH];
    struct db_model m = {0};
    struct err err = {0};
    struct db_conn *c;
    json_t *view;
    char key[256], *data;
    size_t n;
    int resync, rc;

    *out = NULL;
    *len = 0;
    do {
        n = notify_sub_take(me->sub, ch, EVENTS_BATCH, &resync);
        if (n > 0 || resync)
            me->fresh = 1;
    } while (n == EVENTS_BATCH);
    if ((rc = grant_lost(&me->grant, me->db)) != 0)
        return rc < 0 ? -1 : put_revoked(out, len);
    if (!me->fresh)
        return 0;
    me->fresh = 0;
    c = db_acquire(me->db);
    rc = db_model_get(c, me->project_id, me->id, 0, &m, &err);
    db_release(me->db, c);
    if (rc != 0) {
        FILE *f;

        if (err.code != ERR_NOT_FOUND)
            return -1;
        f = open_memstream(out, len);
        if (!f)
            return -1;
        put_deleted(f, me->id);
        return fclose(f) == 0 ? 1 : -1;
    }
    snprintf(key, sizeof(key), "%s|%.6f|%.9f|%s", domain_status_name(m.status), m.progress,
             m.has_score ? m.score : -1.0, m.failure_reason ? m.failure_reason : "");
    if (strcmp(key, me->last) == 0) {
        db_model_release(&m);
        return 0;
    }
    snprintf(me->last, sizeof(me->last), "%s", key);
    view = view_model(&m, 0);
    rc = domain_status_final(m.status);
    db_model_release(&m);
    data = view ? util_json_dumps(view, JSON_COMPACT) : NULL;
    json_decref(view);
    if (data) {
        FILE *f = open_memstream(out, len);

        if (f) {
            put_event(f, "model", data);
            if (fclose(f) != 0)
                rc = -1;
        } else {
            rc = -1;
        }
    } else {
        rc = -1;
    }
    free(data);
    return rc;
}

void handler_models_events(struct request *req, struct response *resp)
{
    struct err err = {0};
    struct db_conn *c;
    enum model_status status;
    struct model_events *me = calloc(1, sizeof(*me));
    int rc;

    /* subscribe first: a change between the check below and the first poll is not lost */
    if (!me || !(me->sub = notify_subscribe(req->app->notify, NOTIFY_MODEL, req->args[1]))) {
        free(me);
        problem_set(resp, 500, "out of memory");
        return;
    }
    c = db_acquire(req->app->db);
    rc = db_model_status(c, req->args[0], req->args[1], &status, NULL, &err);
    db_release(req->app->db, c);
    if (rc != 0) {
        model_events_free(me);
        handler_not_found(&err, "model", req->args[1]);
        problem_from_err(resp, &err, req->request_id);
        return;
    }
    me->db = req->app->db;
    me->project_id = req->args[0];
    me->id = req->args[1];
    grant_init(&me->grant, req);
    me->fresh = 1;
    resp->status = 200;
    resp->events.poll = model_events_poll;
    resp->events.watch = events_watch;
    resp->events.free = model_events_free;
    resp->events.state = me;
}

/* ---- every model of a project ------------------------------------------------------ */

/* State of one GET /projects/{p}/events stream. */
struct project_events {
    struct notify_sub *sub; /* first: see events_watch */
    struct db *db;
    int64_t project_id;
    struct stream_grant grant;
    int opened; /* the opening comment went out */
};

static void project_events_free(void *state)
{
    struct project_events *pe = state;

    notify_unsubscribe(pe->sub);
    grant_release(&pe->grant);
    free(pe);
}

/*
 * The event of one notified change to f: `created` or `model` with the
 * model's JSON as it is now, or `deleted` (also when the row is gone by the
 * time it is read). 0, or -1 when storage fails.
 */
static int put_change(struct project_events *pe, struct db_conn *c, FILE *f,
                      const struct notify_change *ch)
{
    struct err err = {0};
    json_t *view;
    char *data;

    if (ch->kind == NOTIFY_DELETED) {
        put_deleted(f, ch->model_id);
        return 0;
    }
    view = view_model_load(c, pe->project_id, ch->model_id, 0, &err);
    if (!view) {
        if (err.code != ERR_NOT_FOUND)
            return -1;
        put_deleted(f, ch->model_id);
        return 0;
    }
    data = util_json_dumps(view, JSON_COMPACT);
    json_decref(view);
    if (!data)
        return -1;
    put_event(f, ch->kind == NOTIFY_CREATED ? "created" : "model", data);
    free(data);
    return 0;
}

/* event_source.poll: an opening comment, then the events of the changes the
 * hub recorded (a `resync` event first when some were lost). Never ends by
 * itself. Reads the database only when there are changes. */
static int project_events_poll(void *state, char **out, size_t *len)
{
    struct project_events *pe = state;
    struct notify_change ch[EVENTS_BATCH];
    struct db_conn *c = NULL;
    size_t n;
    int resync, rc = 0;
    FILE *f;

    *out = NULL;
    *len = 0;
    if ((rc = grant_lost(&pe->grant, pe->db)) != 0)
        return rc < 0 ? -1 : put_revoked(out, len);
    n = notify_sub_take(pe->sub, ch, EVENTS_BATCH, &resync);
    if (pe->opened && n == 0 && !resync)
        return 0;
    f = open_memstream(out, len);
    if (!f)
        return -1;
    if (!pe->opened) {
        /* a comment (clients ignore it): the headers and this go out now, so
         * the client knows that it is subscribed */
        fputs(": subscribed\n\n", f);
        pe->opened = 1;
    }
    if (resync)
        put_event(f, "resync",
                  "{\"reason\":\"changes were lost; list the project's models again\"}");
    if (n > 0)
        c = db_acquire(pe->db);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = put_change(pe, c, f, &ch[i]);
    if (c)
        db_release(pe->db, c);
    if (fclose(f) != 0)
        rc = -1;
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *len = 0;
    }
    return rc;
}

void handler_projects_events(struct request *req, struct response *resp)
{
    struct project_events *pe = calloc(1, sizeof(*pe));

    /* the router checked the caller's role in the project: it exists */
    if (!pe || !(pe->sub = notify_subscribe(req->app->notify, NOTIFY_PROJECT, req->args[0]))) {
        free(pe);
        problem_set(resp, 500, "out of memory");
        return;
    }
    pe->db = req->app->db;
    pe->project_id = req->args[0];
    grant_init(&pe->grant, req);
    resp->status = 200;
    resp->events.poll = project_events_poll;
    resp->events.watch = events_watch;
    resp->events.free = project_events_free;
    resp->events.state = pe;
}
