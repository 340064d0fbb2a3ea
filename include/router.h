/* SPDX-License-Identifier: MIT */
/*
 * router: the route table and the transport-independent request/response
 * types. Handlers never see libmicrohttpd: they receive a struct request
 * (method, numeric path arguments, parsed JSON body or streamed upload state,
 * query parameters, the authenticated caller) and fill a struct response.
 *
 * The router answers 404 (no route), 405 (with Allow), 401 (authentication),
 * 403 (role / read-only / unknown project) and 415 (media type) itself, in
 * that order, before any body is read; http_ then enforces size caps (413)
 * and JSON syntax (400) before calling the handler.
 *
 * Thread-safety: the table is immutable; all functions are reentrant.
 */
#ifndef MODELD_ROUTER_H
#define MODELD_ROUTER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "auth.h"
#include "domain.h"
#include "err.h"

struct idem;



#define REQ_MAX_QUERY 16

struct request {
    const char *method;
    const char *path;
    int64_t args[2]; /* numeric path arguments in order, e.g. project_id, model_id */
    int nargs;
    json_t *body;    /* parsed JSON body, borrowed (NULL when the route takes none) */
    void *stream;    /* upload state for streaming routes */
    const char *content_type;
    const char *authorization; /* the Authorization header (public routes check their own) */
    const char *session_cookie; /* the value of the session cookie (auth.h), or NULL */
    const char *csrf_token;     /* the X-CSRF-Token header, or NULL */
    const char *if_none_match;  /* the If-None-Match header, or NULL */
    int by_session;             /* the caller was identified by the session cookie */
    const char *qkeys[REQ_MAX_QUERY];
    const char *qvals[REQ_MAX_QUERY];
    size_t nq;
    int query_overflow;
    struct caller caller;
    struct app *app;
    const char *request_id;
    struct idem *idem; /* Idempotency-Key state, NULL without one (see idem.h) */
};

/* Value of query parameter key, or NULL. */
const char *request_query(const struct request *r, const char *key);

/*
 * A server-sent event source (text/event-stream replies). http_ calls poll
 * on an HTTP thread once at start and then whenever the source said it may
 * have news (and now and then for a keep-alive, when poll must answer
 * quickly with nothing new); poll must not block for long. Between those
 * calls the stream is parked and costs nothing.
 */
struct event_source {
    /* Set *out to zero or more complete SSE events (malloc'd, may be NULL).
     * Returns 0 to go on, 1 when the stream ends after *out, -1 on error. */
    int (*poll)(void *state, char **out, size_t *len);
    /* Called once by http_ before the first poll: from then on the source
     * calls wake(arg), from any thread, whenever poll may have news. wake
     * only flags the stream and resumes it; it never calls the source. */
    void (*watch)(void *state, void (*wake)(void *arg), void *arg);
    void (*free)(void *state); /* called once when the stream is gone */
    void *state;
};

struct response {
    int status;
    json_t *body;             /* owned; sent as JSON */
    const char *content_type; /* NULL = application/json (problem+json for errors) */
    char *raw;                /* owned raw body used instead of body when set */
    size_t raw_len;
    char location[160];
    char allow[64];
    int www_authenticate; /* 1: add WWW-Authenticate: Bearer; 2: with error="invalid_token" */
    int retry_after;      /* > 0: add Retry-After: that many seconds */
    int replayed;         /* the stored answer of an Idempotency-Key: Idempotent-Replayed */
    char set_cookie[256]; /* a Set-Cookie value to send ("" = none) */
    char etag[72];        /* an ETag to send ("" = none); a 304 has no body */
    const char *cache_control; /* Cache-Control (NULL = no-store) */
    int page;             /* a dashboard file (handler_ui): its CSP and security headers */
    struct event_source events; /* when events.poll is set: an event stream (owned) */
};
void response_release(struct response *r);

typedef void (*handler_fn)(struct request *req, struct response *resp);

/* Streaming request bodies (document uploads). */
struct stream_ops {
    /* Called once the request is authorized, before any body byte is read.
     * Returns the state, or NULL after filling resp with the early answer
     * (e.g. 404 for an unknown target; 500 when resp was left empty). */
    void *(*open)(struct request *req, struct response *resp);
    /* Feed a chunk; never fails (errors are remembered for the handler). */
    void (*feed)(void *state, const char *data, size_t len);
    void (*close)(void *state);
};

enum route_flags {
    ROUTE_PUBLIC = 1 << 0,  /* no token needed */
    ROUTE_PROJECT = 1 << 1, /* args[0] is a project id checked against min_role */
    ROUTE_WRITE = 1 << 2,   /* changes state: read-only users get 403 */
    ROUTE_JSON = 1 << 3,    /* takes a JSON body (object), capped at 1 MiB */
    ROUTE_STREAM = 1 << 4,  /* takes a streamed body, capped at 64 MiB */
    ROUTE_IDEMPOTENT = 1 << 5, /* honours Idempotency-Key (see idem.h) */
};

#define ROUTER_JSON_MAX ((size_t)1 << 20)
#define ROUTER_STREAM_MAX ((size_t)64 << 20)

struct route {
    const char *method;
    /* segments; "{id}" matches a positive decimal integer; "{asset}", the
     * last segment only, matches the rest of the path (one or more segments) */
    const char *pattern;
    enum role min_role;
    unsigned flags;
    handler_fn handler;
    const struct stream_ops *stream;
    const char *const *media_types; /* accepted Content-Types (NULL = application/json) */
};

/* The table (for the OpenAPI consistency test). */
const struct route *router_routes(size_t *n);

/*
 * Find the route for method + path. On success returns it and fills args.
 * Otherwise returns NULL and fills resp with 404, or 405 with Allow.
 */
const struct route *router_match(const char *method, const char *path, struct request *req,
                                 struct response *resp);

/*
 * Authenticate (Authorization header value, may be NULL) and authorize the
 * request for the route; checks the content type. Returns 0 when the handler
 * may run, otherwise -1 with resp filled (400/401/403/415/500).
 *
 * A bearer token wins; without an Authorization header the session cookie
 * (req->session_cookie) identifies the caller, and then a method other than
 * GET or HEAD needs req->csrf_token to match the session's CSRF token (403
 * PROBLEM_CSRF_TOKEN otherwise). A token in the URL (query parameter token
 * or access_token) is refused on every route with a 400, never used.
 */
int router_authorize(const struct route *route, const char *authorization, struct request *req,
                     struct response *resp);

#endif
