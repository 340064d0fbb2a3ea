/* SPDX-License-Identifier: MIT */
/*
 * http: libmicrohttpd glue (see http.h).
 *
 * Per-request state (struct rctx) is created on the first access callback,
 * where routing and authorization run before any body byte is read, and
 * freed in the request-completed callback. Bodies are either accumulated up
 * to ROUTER_JSON_MAX and parsed once, or fed chunk by chunk to the route's
 * stream_ops (document uploads) up to ROUTER_STREAM_MAX.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "idem.h"
#include "log.h"
#include "problem.h"
#include "router.h"
#include "stats.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* One open connection: between requests (and before the first) its next
 * request head must arrive within the head timeout. Guarded by conn_mu. */
struct conn_rec {
    MHD_socket fd;
    double idle_since; /* when it last became idle (accepted, or a request completed) */
    int in_request;    /* a request head arrived and its request is not complete */
    int body_pending;  /* its body is still coming in */
    double window_start; /* body progress: bytes since window_start */
    size_t window_bytes;
    int cut;           /* shut down by the watchdog */
    struct conn_rec *prev, *next;
};

/* One open event stream (text/event-stream reply). */
struct sse {
    struct http_server *srv;
    struct MHD_Connection *conn;
    struct event_source src;
    char *pending; /* bytes polled but not yet sent */
    size_t off, len;
    int ended;
    /* guarded by srv->sse_mu: */
    int suspended;   /* parked in MHD (MHD_suspend_connection) */
    int woken;       /* the source has news since sse_read last polled it */
    int keep_now;    /* the keeper resumed it: send a keep-alive if nothing else */
    double keep_due; /* parked: when a keep-alive is due (the keeper resumes it) */
    atomic_llong last_send_ms; /* when bytes were last handed to MHD (monotonic ms) */
    struct sse *prev, *next; /* srv->streams, guarded by srv->sse_mu */
};

struct http_server {
    struct MHD_Daemon *d;
    struct app *app;
    uint16_t port;
    atomic_uint_fast64_t seq;
    /* Event streams: a parked stream is suspended in MHD until its source
     * wakes it (sse_wake) or a keep-alive is due (the keeper thread). */
    pthread_mutex_t sse_mu;
    pthread_cond_t sse_cv;  /* a stream or a request ended (http_stop waits) */
    pthread_cond_t keep_cv; /* the keeper's next deadline moved earlier, or closing */
    double keep_next;       /* when the keeper wakes next (0: it waits for a signal) */
    struct sse *streams;
    atomic_int inflight; /* requests begun and not completed (streams included) */
    atomic_int refusing; /* stopping: new connections are closed at once */
    atomic_llong upload_reserved; /* upload memory reserved (the --upload-budget in use) */
    char *tls_cert, *tls_key;     /* PEM texts (MHD keeps pointers to them while it runs) */
    /* Open connections, for the request-head deadline (see conn_watchdog). */
    pthread_mutex_t conn_mu;
    pthread_cond_t conn_cv;
    struct conn_rec *conns;
    int dog_stop, dog_started;
    pthread_t dog;
    int closing;
    int keeper_started;
    pthread_t keeper;
};

/* Default of --upload-budget (MiB of upload memory in flight) and the
 * Retry-After of the 503 past it. An upload holds at most its connection
 * buffer, one document being parsed (ingest.h: 4 MiB at most) and one batch
 * of parsed documents (2 MiB of strings, handler_annotations.c) whatever
 * its size: it reserves its body size up to HTTP_UPLOAD_WORKING. */
#define HTTP_UPLOAD_BUDGET_MIB 256
#define HTTP_UPLOAD_RETRY_S 5
#define HTTP_UPLOAD_WORKING ((long long)8 << 20)

/* Defaults of --head-timeout, --max-connections, --max-connections-per-ip. */
#define HTTP_HEAD_TIMEOUT_S 10.0
/* Default of --body-timeout: a body must bring HTTP_BODY_MIN_BYTES per that many seconds. */
#define HTTP_BODY_TIMEOUT_S 30.0
#define HTTP_BODY_MIN_BYTES 1024
#define HTTP_MAX_CONNECTIONS 4096
#define HTTP_MAX_CONNECTIONS_PER_IP 256

/* How long http_stop waits, by default (--shutdown-grace), for requests in
 * flight to finish and event streams to send their last event. */
#define HTTP_STOP_GRACE_S 10.0

/*
 * libmicrohttpd's memory pool per connection (MHD_OPTION_CONNECTION_MEMORY_LIMIT):
 * it holds the request head (so a head larger than about this is refused
 * with 431 or 414), the read buffer for bodies (half of it) and the
 * response headers. libmicrohttpd 0.9.75 zeroes the parts it gives back
 * (the read buffer shrunk once a head is parsed, the whole pool between
 * two requests on a connection), so most of the pool of every connection
 * that completed a request, or holds an event stream, is resident and each
 * keep-alive request pays a memset of it: at 256 KiB, 1,000 event streams
 * took 140 MiB. 32 KiB keeps heads of 16 KiB and more, which no client of
 * this API needs, and bodies arrive in 16 KiB reads.
 */
#define HTTP_CONN_MEMORY ((size_t)32 * 1024)

/* The Content-Security-Policy of the dashboard's files (GET /ui/...): its
 * scripts, styles, images, fonts and requests come from the daemon only
 * (no inline script or style, no eval), images also as data: URLs; no
 * <base>, forms post to the daemon, no page may frame it. */
#define HTTP_UI_CSP                                                                           \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "        \
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "            \
    "frame-ancestors 'none'"

/* Most body bytes read and thrown away to deliver an early answer cleanly. */
#define HTTP_DRAIN_MAX ((size_t)128 << 20)

struct rctx {
    struct http_server *srv;
    double t0;
    char rid[24];
    char method[16];
    char *path;
    const struct route *route;
    struct request req;
    struct response resp;
    int ready;      /* resp holds the final answer; ignore further body bytes */
    char *buf;
    size_t len, cap, limit;
    int too_large;
    int has_body;
    int preflight;  /* answering a CORS preflight */
    const char *origin; /* the Origin header (CORS), or NULL */
    int oom;        /* the body could not be buffered: 503 */
    int deferred;   /* an early answer waits until the body is drained */
    size_t drained; /* body bytes discarded after an early answer */
    int close;      /* answer with Connection: close (bad framing) */
    long long reserved; /* bytes of the upload budget this request holds */
};

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct request *req = cls;

    (void)kind;
    if (req->nq >= REQ_MAX_QUERY) {
        req->query_overflow = 1;
        return MHD_NO;
    }
    req->qkeys[req->nq] = key;
    req->qvals[req->nq] = value ? value : "";
    req->nq++;
    return MHD_YES;
}

/* ---- server-sent events ------------------------------------------------------ */

/*
 * A parked stream costs nothing: it is suspended in MHD, and only two
 * things resume it. Its source calls sse_wake (from the thread that
 * notified the change), or the keeper thread finds a keep-alive due: a
 * comment line after SSE_KEEPALIVE_S (minus up to SSE_KEEPALIVE_SLACK_S,
 * so the keeper wakes at most once per slack for all streams together)
 * without bytes, because proxies drop idle connections and because a
 * client that went away is only noticed when something is written.
 *
 * Lock order: the notification hub's lock (sse_wake runs under it), then
 * sse_mu, then MHD's own locks (MHD_resume_connection). sse_read never holds
 * sse_mu while it polls its source.
 */
#define SSE_KEEPALIVE_S 20.0
#define SSE_KEEPALIVE_SLACK_S 5.0

static long long sse_now_ms(void)
{
    return (long long)(util_monotonic() * 1000.0);
}

static ssize_t sse_copy(struct sse *s, char *buf, size_t max)
{
    size_t n = s->len - s->off < max ? s->len - s->off : max;

    memcpy(buf, s->pending + s->off, n);
    s->off += n;
    atomic_store(&s->last_send_ms, sse_now_ms());
    return (ssize_t)n;
}

static void sse_take(struct sse *s, char *text, size_t len)
{
    free(s->pending);
    s->pending = text;
    s->off = 0;
    s->len = text ? len : 0;
}

/* The daemon stops: one last `shutdown` event, then the end of the stream
 * (a clean end of the chunked body, so clients see a finished stream, not a
 * cut one, and EventSource reconnects to the next daemon). */
static ssize_t sse_goodbye(struct sse *s, char *buf, size_t max)
{
    static const char bye[] = "event: shutdown\ndata: {\"reason\":\"the server is stopping\"}\n\n";

    if (s->ended)
        return MHD_CONTENT_READER_END_OF_STREAM;
    s->ended = 1;
    sse_take(s, strdup(bye), sizeof bye - 1);
    if (s->len == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return sse_copy(s, buf, max);
}

/* Resume s if it is parked; caller holds sse_mu. */
static void sse_resume(struct sse *s)
{
    if (s->suspended) {
        s->suspended = 0;
        MHD_resume_connection(s->conn);
    }
}

/* The source's wake function (event_source.watch): it may have news. Runs
 * on the notifying thread, under the source's own lock. */
static void sse_wake(void *arg)
{
    struct sse *s = arg;

    pthread_mutex_lock(&s->srv->sse_mu);
    s->woken = 1;
    sse_resume(s);
    pthread_mutex_unlock(&s->srv->sse_mu);
}

/* MHD content reader: hand out pending bytes, poll the source, or park. */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct sse *s = cls;
    struct http_server *srv = s->srv;

    (void)pos;
    if (s->off < s->len)
        return sse_copy(s, buf, max);
    if (s->ended)
        return MHD_CONTENT_READER_END_OF_STREAM;
    for (;;) {
        char *out = NULL;
        size_t len = 0;
        int rc, closing, keep;

        pthread_mutex_lock(&srv->sse_mu);
        closing = srv->closing;
        keep = s->keep_now;
        s->keep_now = 0;
        s->woken = 0; /* a wake from now on means news after this poll */
        pthread_mutex_unlock(&srv->sse_mu);
        if (closing)
            return sse_goodbye(s, buf, max);
        rc = s->src.poll(s->src.state, &out, &len);
        if (rc < 0) {
            free(out);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (rc == 1)
            s->ended = 1;
        if (!out && keep) {
            out = strdup(": keep-alive\n\n");
            len = out ? strlen(out) : 0;
        }
        sse_take(s, out, len);
        if (s->len > 0)
            return sse_copy(s, buf, max);
        if (s->ended)
            return MHD_CONTENT_READER_END_OF_STREAM;
        pthread_mutex_lock(&srv->sse_mu);
        if (srv->closing) {
            pthread_mutex_unlock(&srv->sse_mu);
            return sse_goodbye(s, buf, max);
        }
        if (s->woken) { /* news arrived while polling: poll again */
            pthread_mutex_unlock(&srv->sse_mu);
            continue;
        }
        s->suspended = 1;
        s->keep_due = (double)atomic_load(&s->last_send_ms) / 1000.0 + SSE_KEEPALIVE_S;
        if (srv->keep_next == 0 || s->keep_due < srv->keep_next)
            pthread_cond_signal(&srv->keep_cv);
        MHD_suspend_connection(s->conn);
        pthread_mutex_unlock(&srv->sse_mu);
        return 0;
    }
}

static void sse_free(void *cls)
{
    struct sse *s = cls;

    /* first the source (its subscription): after that nobody calls sse_wake(s) */
    if (s->src.free)
        s->src.free(s->src.state);
    pthread_mutex_lock(&s->srv->sse_mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        s->srv->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    pthread_cond_broadcast(&s->srv->sse_cv); /* http_stop waits for the last one */
    pthread_mutex_unlock(&s->srv->sse_mu);
    stats_stream(-1);
    free(s->pending);
    free(s);
}

/* Resume every parked stream; caller holds sse_mu. */
static void sse_wake_all(struct http_server *srv)
{
    for (struct sse *s = srv->streams; s; s = s->next)
        sse_resume(s);
}

/*
 * The keeper: sleeps until the earliest keep-alive of a parked stream is
 * due (with no parked stream, until one parks), then resumes every parked
 * stream whose keep-alive is due within SSE_KEEPALIVE_SLACK_S. It never
 * touches a stream's source: a stream with nothing to say costs one wake-up
 * per keep-alive, and no database read.
 */
static void *sse_keeper(void *arg)
{
    struct http_server *srv = arg;

    pthread_mutex_lock(&srv->sse_mu);
    while (!srv->closing) {
        double now = util_monotonic(), next = 0;

        for (struct sse *s = srv->streams; s; s = s->next) {
            if (!s->suspended)
                continue;
            if (s->keep_due - SSE_KEEPALIVE_SLACK_S <= now) {
                s->keep_now = 1;
                sse_resume(s);
            }
            else if (next == 0 || s->keep_due < next)
                next = s->keep_due;
        }
        srv->keep_next = next;
        if (next == 0) {
            pthread_cond_wait(&srv->keep_cv, &srv->sse_mu);
        } else {
            struct timespec ts;
            double wait = next - now, whole;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += (time_t)wait;
            whole = (double)(time_t)wait;
            ts.tv_nsec += (long)((wait - whole) * 1e9);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&srv->keep_cv, &srv->sse_mu, &ts);
        }
    }
    pthread_mutex_unlock(&srv->sse_mu);
    return NULL;
}

/* Build the MHD response of an event stream; takes ownership of r->events. */
static struct MHD_Response *sse_response(struct MHD_Connection *conn, struct rctx *ctx)
{
    struct sse *s = calloc(1, sizeof(*s));
    struct MHD_Response *mr;

    if (!s)
        return NULL;
    s->srv = ctx->srv;
    s->conn = conn;
    s->src = ctx->resp.events;
    atomic_init(&s->last_send_ms, sse_now_ms());
    memset(&ctx->resp.events, 0, sizeof(ctx->resp.events));
    mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, s, sse_free);
    if (!mr) {
        ctx->resp.events = s->src; /* released with the request */
        free(s);
        return NULL;
    }
    stats_stream(1);
    pthread_mutex_lock(&ctx->srv->sse_mu);
    s->next = ctx->srv->streams;
    if (s->next)
        s->next->prev = s;
    ctx->srv->streams = s;
    pthread_mutex_unlock(&ctx->srv->sse_mu);
    if (s->src.watch) /* s is on the list: sse_wake may run from now on */
        s->src.watch(s->src.state, sse_wake, s);
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    return mr;
}

/* The answer whose body could not be built. */
static const char OOM_BODY[] =
    "{\"type\":\"" PROBLEM_UNAVAILABLE "\",\"title\":\"Service Unavailable\",\"status\":503,"
    "\"detail\":\"The server is out of memory; retry later.\"}";

/* ---- CORS ------------------------------------------------------------------------ */

/*
 * Whether the allow-list (app_config.cors_origin: origins separated by
 * commas, "*" for any) admits origin (the request's Origin header, may be
 * NULL): the Access-Control-Allow-Origin value to send, or NULL for none.
 * *credentials is set for an origin the list names: only those may send
 * cookies (Access-Control-Allow-Credentials); "*" never comes with them.
 */
static const char *cors_allowed(const char *list, const char *origin, int *credentials)
{
    size_t olen = origin ? strlen(origin) : 0;
    int any = 0;

    *credentials = 0;
    for (const char *p = list; p && *p;) {
        size_t n = strcspn(p, ",");

        if (n == 1 && *p == '*')
            any = 1;
        else if (origin && n == olen && memcmp(p, origin, n) == 0) {
            *credentials = 1;
            return origin;
        }
        p += n;
        p += *p == ',';
    }
    return any ? "*" : NULL;
}

/* The CORS headers of a reply: none without --cors-origin; with it, Vary:
 * Origin always (the answer depends on it) and the Access-Control-* headers
 * only for an origin the allow-list admits (a refused origin gets none, so
 * its page cannot read the answer). */
static void cors_headers(struct MHD_Response *mr, const struct rctx *ctx)
{
    const char *list = ctx->srv->app->cfg->cors_origin, *allow;
    int credentials;

    if (!list)
        return;
    MHD_add_response_header(mr, "Vary", "Origin");
    allow = cors_allowed(list, ctx->origin, &credentials);
    if (!allow)
        return;
    MHD_add_response_header(mr, "Access-Control-Allow-Origin", allow);
    if (credentials)
        MHD_add_response_header(mr, "Access-Control-Allow-Credentials", "true");
    MHD_add_response_header(mr, "Access-Control-Expose-Headers",
                            "Location, X-Request-Id, WWW-Authenticate, Allow, Retry-After, "
                            "Idempotent-Replayed");
    if (ctx->preflight) {
        MHD_add_response_header(mr, "Access-Control-Allow-Methods", ctx->resp.allow);
        MHD_add_response_header(mr, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type, Idempotency-Key, X-CSRF-Token, "
                                "Last-Event-ID");
        MHD_add_response_header(mr, "Access-Control-Max-Age", "600");
    }
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct rctx *ctx)
{
    struct response *r = &ctx->resp;
    struct MHD_Response *mr;
    char *body = NULL;
    size_t len = 0;
    enum MHD_Result ret;

    if (r->events.poll) {
        mr = sse_response(conn, ctx);
        if (!mr)
            return MHD_NO;
        goto headers;
    }
    if (r->raw) {
        body = r->raw;
        len = r->raw_len;
        r->raw = NULL;
    } else if (r->body) {
        body = util_json_dumps(r->body, JSON_COMPACT);
        len = body ? strlen(body) : 0;
    }
    if (!body && r->status != 204 && r->status != 304) {
        /* the body could not be built (out of memory): a fixed problem,
         * which needs no memory, rather than an answer without its body */
        r->status = 503;
        r->content_type = "application/problem+json";
        r->retry_after = 1;
    }
    mr = MHD_create_response_from_buffer(body ? len
                                              : (r->status == 204 || r->status == 304
                                                     ? 0
                                                     : strlen(OOM_BODY)),
                                         body ? body : (char *)OOM_BODY,
                                         body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!mr) {
        free(body);
        return MHD_NO;
    }
    if (r->status != 204 && r->status != 304)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
                                r->content_type ? r->content_type : "application/json");
headers:
    MHD_add_response_header(mr, "X-Request-Id", ctx->rid);
    if (ctx->close)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL,
                            r->cache_control ? r->cache_control : "no-store");
    if (r->etag[0])
        MHD_add_response_header(mr, MHD_HTTP_HEADER_ETAG, r->etag);
    if (r->page) {
        /* the dashboard's files: nothing but the daemon's own scripts,
         * styles and requests, no framing, no sniffing, no referrer */
        MHD_add_response_header(mr, "Content-Security-Policy", HTTP_UI_CSP);
        MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
    }
    if (r->location[0])
        MHD_add_response_header(mr, MHD_HTTP_HEADER_LOCATION, r->location);
    if (r->retry_after > 0) {
        char ra[24];
        snprintf(ra, sizeof ra, "%d", r->retry_after);
        MHD_add_response_header(mr, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (r->allow[0])
        MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->replayed)
        MHD_add_response_header(mr, "Idempotent-Replayed", "true");
    if (r->www_authenticate)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                r->www_authenticate == 2
                                    ? "Bearer realm=\"modeld\", error=\"invalid_token\""
                                    : "Bearer realm=\"modeld\"");
    if (r->set_cookie[0])
        MHD_add_response_header(mr, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie);
    cors_headers(mr, ctx);
    ret = MHD_queue_response(conn, (unsigned)r->status, mr);
    MHD_destroy_response(mr);
    return ret;
}

/* Take n more bytes of the upload budget for ctx: 1, or 0 when that would
 * pass --upload-budget (nothing taken then). The budget is also what the
 * upload gauges of /metrics report. */
static long long budget_total(const struct rctx *ctx)
{
    return (long long)(ctx->srv->app->cfg->upload_budget_mib > 0
                           ? ctx->srv->app->cfg->upload_budget_mib
                           : HTTP_UPLOAD_BUDGET_MIB)
           << 20;
}

static int budget_take(struct rctx *ctx, long long n)
{
    long long budget = budget_total(ctx);

    if (atomic_fetch_add(&ctx->srv->upload_reserved, n) + n > budget) {
        atomic_fetch_sub(&ctx->srv->upload_reserved, n);
        return 0;
    }
    if (ctx->reserved == 0 && n > 0)
        stats_upload(1);
    stats_upload_bytes(n);
    ctx->reserved += n;
    return 1;
}

/* First callback: route, authorize, check declared size. Returns 1 when resp is final. */
static int prepare(struct rctx *ctx, struct MHD_Connection *conn)
{
    struct request *req = &ctx->req;
    const char *auth, *clen;

    req->app = ctx->srv->app;
    req->method = ctx->method;
    req->path = ctx->path;
    req->request_id = ctx->rid;
    req->content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_CONTENT_TYPE);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, req);
    ctx->origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    req->session_cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, AUTH_SESSION_COOKIE);
    req->csrf_token = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, AUTH_CSRF_HEADER);
    req->if_none_match = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_IF_NONE_MATCH);
    ctx->route = router_match(ctx->method, ctx->path, req, &ctx->resp);
    if (!ctx->route) {
        /* CORS preflight: OPTIONS on a known path lists its methods (no token needed). */
        if (ctx->resp.status == 405 && strcmp(ctx->method, "OPTIONS") == 0 &&
            req->app->cfg->cors_origin) {
            json_decref(ctx->resp.body);
            ctx->resp.body = NULL;
            ctx->resp.content_type = NULL;
            ctx->resp.status = 204;
            ctx->preflight = 1;
        }
        return 1;
    }
    auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    req->authorization = auth;
    if (router_authorize(ctx->route, auth, req, &ctx->resp) != 0)
        return 1;
    if (req->query_overflow) {
        json_t *errors = NULL;

        /* a 400 always names what is wrong (errors[]), like every validation failure */
        problem_field(&errors, "query", "at most %d query parameters are accepted",
                      REQ_MAX_QUERY);
        problem_validation(&ctx->resp, errors);
        return 1;
    }
    ctx->limit = (ctx->route->flags & ROUTE_STREAM) ? ROUTER_STREAM_MAX : ROUTER_JSON_MAX;
    clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (clen) {
        int64_t n;

        if (util_parse_i64(clen, 0, INT64_MAX, &n) == 0 && (uint64_t)n > ctx->limit) {
            problem_set(&ctx->resp, 413, "The body is larger than %zu bytes.", ctx->limit);
            return 1;
        }
    }
    if ((ctx->route->flags & ROUTE_IDEMPOTENT) &&
        idem_open(req, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key"),
                  &ctx->resp) != 0)
        return 1;
    if (ctx->route->stream) {
        int64_t n;
        /* the upload budget bounds the memory of uploads in flight: each
         * reserves what it can hold at once (its body size, at most
         * HTTP_UPLOAD_WORKING; a chunked one that much) before its body is
         * read, so the uploads admitted always finish and the others are
         * refused at once */
        long long want = HTTP_UPLOAD_WORKING;

        if (want > budget_total(ctx)) /* a budget below one working set: one at a time */
            want = budget_total(ctx);

        if (clen && util_parse_i64(clen, 0, INT64_MAX, &n) == 0 && n < want)
            want = n;
        if (!budget_take(ctx, want)) {
            problem_set(&ctx->resp, 503, "Too many uploads are in flight; retry in a few seconds.");
            ctx->resp.retry_after = HTTP_UPLOAD_RETRY_S;
            return 1;
        }
        req->stream = ctx->route->stream->open(req, &ctx->resp);
        if (!req->stream) {
            if (!ctx->resp.body)
                problem_set(&ctx->resp, 500, "Cannot start the upload.");
            return 1;
        }
    }
    return 0;
}

static void take_body(struct rctx *ctx, const char *data, size_t size)
{
    ctx->has_body = 1;
    if (ctx->too_large)
        return;
    idem_feed(&ctx->req, data, size);
    if (ctx->len + size > ctx->limit) {
        ctx->too_large = 1;
        return;
    }
    if (ctx->route->stream) {
        ctx->len += size;
        ctx->route->stream->feed(ctx->req.stream, data, size);
        return;
    }
    {
        char *nb = util_grow(ctx->buf, &ctx->cap, ctx->len + size + 1, 1, 4096);

        if (!nb) {
            ctx->too_large = 1;
            ctx->oom = 1;
            return;
        }
        ctx->buf = nb;
    }
    memcpy(ctx->buf + ctx->len, data, size);
    ctx->len += size;
}

/* Last callback: parse the JSON body (if any) and run the handler. */
static void finish(struct rctx *ctx)
{
    struct request *req = &ctx->req;
    json_t *body = NULL;

    if (ctx->oom) {
        problem_set(&ctx->resp, 503, "The server is out of memory; retry later.");
        return;
    }
    if (ctx->too_large) {
        problem_set(&ctx->resp, 413, "The body is larger than %zu bytes.", ctx->limit);
        return;
    }
    if (ctx->route->flags & ROUTE_JSON) {
        json_error_t jerr = {0};

        if (ctx->len == 0) {
            json_t *errors = NULL;

            problem_field(&errors, "body", "the request body is empty; send a JSON object");
            problem_validation(&ctx->resp, errors);
            return;
        }
        errno = 0;
        body = json_loadb(ctx->buf, ctx->len, JSON_REJECT_DUPLICATES, &jerr);
        if (!body && (errno == ENOMEM || json_error_code(&jerr) == json_error_out_of_memory)) {
            /* the parser ran out of memory (jansson then reports a syntax
             * error, or none at all): not the client's fault */
            problem_set(&ctx->resp, 503, "The server is out of memory; retry later.");
            return;
        }
        if (!body) {
            json_t *errors = NULL;

            problem_field(&errors, "body", "invalid JSON at line %d column %d: %s", jerr.line,
                          jerr.column, jerr.text);
            problem_validation(&ctx->resp, errors);
            return;
        }
        if (!json_is_object(body)) {
            json_t *errors = NULL;

            problem_field(&errors, "body", "the body must be a JSON object");
            problem_validation(&ctx->resp, errors);
            json_decref(body);
            return;
        }
        req->body = body;
    }
    if (idem_replay(req, &ctx->resp)) /* a retry: the stored answer, or 422 */
        goto out;
    ctx->resp.status = 200;
    ctx->route->handler(req, &ctx->resp);
out:
    /* the answer is decided (and its record committed): the key is free for
     * a retry as soon as the client can have read it */
    idem_close(req);
    req->body = NULL;
    json_decref(body);
}

/*
 * An answer decided before the body was read (401, 403, 404, 405, 413, 415)
 * goes out at once when the client waits for "100 Continue" (it then never
 * sends the body) or declared more than HTTP_DRAIN_MAX bytes; libmicrohttpd
 * then closes the connection. Otherwise it waits for the end of the body:
 * a body is read and discarded first, because closing a connection while
 * the client is still sending makes the kernel reset it, and the client can
 * lose the answer (RFC 9112, section 9.6). A request without a body waits
 * too, for the access callback libmicrohttpd makes right after the first
 * one: an answer queued in the first callback makes it close the connection,
 * and a client retrying with a bad token would reconnect for every 401.
 */
static int answer_now(struct MHD_Connection *conn, int has_body)
{
    const char *clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_EXPECT);
    int64_t n = 0;

    if (!has_body)
        return 0;
    if (expect && strcasecmp(expect, "100-continue") == 0)
        return 1;
    if (!clen || util_parse_i64(clen, 0, INT64_MAX, &n) != 0)
        return 0; /* chunked: drained up to HTTP_DRAIN_MAX */
    return (uint64_t)n > HTTP_DRAIN_MAX;
}

/* ---- connection discipline ---------------------------------------------------- */

/* Accept policy: once a stop has begun, a new connection is closed at once.
 * (This is how a stop stops accepting: MHD_quiesce_daemon races with the
 * epoll worker threads of libmicrohttpd 0.9.75, which both remove the listen
 * socket from their epoll set, and the loser aborts the process with "Failed
 * to remove listen FD from epoll set".) */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct http_server *s = cls;

    (void)addr;
    (void)addrlen;
    return atomic_load(&s->refusing) ? MHD_NO : MHD_YES;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *s = cls;
    struct conn_rec *r = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        r = calloc(1, sizeof *r);
        if (!r || !ci) {
            free(r); /* without a record the connection only has MHD's timeout */
            return;
        }
        r->fd = ci->connect_fd;
        r->idle_since = util_monotonic();
        pthread_mutex_lock(&s->conn_mu);
        r->next = s->conns;
        if (r->next)
            r->next->prev = r;
        s->conns = r;
        pthread_mutex_unlock(&s->conn_mu);
        *socket_context = r;
        return;
    }
    if (!r)
        return;
    pthread_mutex_lock(&s->conn_mu);
    if (r->prev)
        r->prev->next = r->next;
    else
        s->conns = r->next;
    if (r->next)
        r->next->prev = r->prev;
    pthread_mutex_unlock(&s->conn_mu);
    free(r);
    *socket_context = NULL;
}

static struct conn_rec *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Mark the connection of conn busy (a request head arrived; with_body: a body
 * follows) or idle again. */
static void conn_mark(struct http_server *s, struct MHD_Connection *conn, int busy, int with_body)
{
    struct conn_rec *r = conn_of(conn);

    if (!r)
        return;
    pthread_mutex_lock(&s->conn_mu);
    r->in_request = busy;
    r->body_pending = busy && with_body;
    r->window_start = util_monotonic();
    r->window_bytes = 0;
    if (!busy)
        r->idle_since = r->window_start;
    pthread_mutex_unlock(&s->conn_mu);
}

/* n more body bytes arrived on conn (n == 0: the body is complete). */
static void conn_body(struct http_server *s, struct MHD_Connection *conn, size_t n)
{
    struct conn_rec *r = conn_of(conn);

    if (!r)
        return;
    pthread_mutex_lock(&s->conn_mu);
    if (n == 0)
        r->body_pending = 0;
    else
        r->window_bytes += n;
    pthread_mutex_unlock(&s->conn_mu);
}

/*
 * libmicrohttpd's connection timeout is an idle timeout: a client that sends
 * one header byte a second keeps its connection forever. This thread gives
 * every connection a deadline for its next complete request head (from the
 * moment it was accepted or its last request completed, so an idle
 * keep-alive or half-closed connection is released too) and shuts the socket
 * of a late one down; MHD then closes it. Requests in progress (uploads,
 * event streams) are not affected.
 */
static void *conn_watchdog(void *arg)
{
    struct http_server *s = arg;
    double limit =
        s->app->cfg->head_timeout > 0 ? s->app->cfg->head_timeout : HTTP_HEAD_TIMEOUT_S;
    double body_limit =
        s->app->cfg->body_timeout > 0 ? s->app->cfg->body_timeout : HTTP_BODY_TIMEOUT_S;

    pthread_mutex_lock(&s->conn_mu);
    while (!s->dog_stop) {
        struct timespec ts;
        double now = util_monotonic();

        for (struct conn_rec *r = s->conns; r; r = r->next) {
            if (r->cut)
                continue;
            if (!r->in_request && now - r->idle_since > limit) {
                r->cut = 1;
                shutdown(r->fd, SHUT_RDWR);
                stats_rejected(STATS_REJECT_HEAD_TIMEOUT);
            } else if (r->body_pending && now - r->window_start > body_limit) {
                /* a body must keep coming: HTTP_BODY_MIN_BYTES per window */
                if (r->window_bytes < HTTP_BODY_MIN_BYTES) {
                    r->cut = 1;
                    shutdown(r->fd, SHUT_RDWR);
                    stats_rejected(STATS_REJECT_BODY_TIMEOUT);
                } else {
                    r->window_start = now;
                    r->window_bytes = 0;
                }
            }
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000 * 1000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->conn_cv, &s->conn_mu, &ts);
    }
    pthread_mutex_unlock(&s->conn_mu);
    return NULL;
}

/* Header lines that decide how a request is framed or who sends it. */
struct framing {
    int content_length, transfer_encoding, host, authorization;
    int has_body; /* Transfer-Encoding, or a Content-Length other than 0 */
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct framing *f = cls;

    (void)kind;
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
        f->content_length++;
        f->has_body |= value && strcmp(value, "0") != 0;
    } else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        f->transfer_encoding++;
        f->has_body = 1;
    }
    else if (!strcasecmp(key, MHD_HTTP_HEADER_HOST))
        f->host++;
    else if (!strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION))
        f->authorization++;
    return MHD_YES;
}

/*
 * The header lines of the request, in one walk, into *f; then: requests
 * whose framing is ambiguous (RFC 9112 §6.3: both Content-Length
 * and Transfer-Encoding, or several Content-Length lines; a proxy in front
 * may read the body differently, so its bytes could become a second request)
 * or malformed (§3.2: HTTP/1.1 without exactly one Host; several
 * Authorization lines): NULL when the request is fine, else the reason. These
 * are answered 400 with Connection: close at once, without reading the body
 * (the one exception to draining before an early answer: the body's length
 * is exactly what cannot be trusted).
 */
static const char *bad_framing(struct MHD_Connection *conn, const char *version,
                               struct framing *f)
{
    memset(f, 0, sizeof *f);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, f);
    if (f->content_length && f->transfer_encoding)
        return "The request has both Content-Length and Transfer-Encoding.";
    if (f->content_length > 1)
        return "The request has more than one Content-Length.";
    if (f->transfer_encoding > 1)
        return "The request has more than one Transfer-Encoding.";
    if (f->host > 1 || (f->host == 0 && version && !strcmp(version, MHD_HTTP_VERSION_1_1)))
        return "An HTTP/1.1 request needs exactly one Host header.";
    if (f->authorization > 1)
        return "The request has more than one Authorization header.";
    return NULL;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    struct http_server *srv = cls;
    struct rctx *ctx = *con_cls;

    if (!ctx) {
        ctx = calloc(1, sizeof(*ctx));
        if (!ctx)
            return MHD_NO;
        ctx->srv = srv;
        atomic_fetch_add(&srv->inflight, 1);
        struct framing f;
        const char *bad = bad_framing(conn, version, &f);
        conn_mark(srv, conn, 1, f.has_body);
        ctx->t0 = util_monotonic();
        snprintf(ctx->rid, sizeof(ctx->rid), "%08llx",
                 (unsigned long long)atomic_fetch_add(&srv->seq, 1) + 1);
        snprintf(ctx->method, sizeof(ctx->method), "%s", method);
        ctx->path = strdup(url);
        *con_cls = ctx;
        if (!ctx->path)
            return MHD_NO;
        if (bad) {
            stats_rejected(STATS_REJECT_BAD_FRAMING);
            problem_set(&ctx->resp, 400, "%s", bad);
            ctx->ready = 1;
            ctx->close = 1;
            return send_response(conn, ctx);
        }
        if (prepare(ctx, conn)) {
            ctx->ready = 1;
            if (answer_now(conn, f.has_body))
                return send_response(conn, ctx);
            ctx->deferred = 1; /* drain the body (if any) first, then answer */
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t size = *upload_data_size;

        *upload_data_size = 0;
        conn_body(srv, conn, size);
        if (!ctx->ready) {
            take_body(ctx, upload_data, size);
        } else if (ctx->deferred) {
            ctx->drained += size;
            if (ctx->drained > HTTP_DRAIN_MAX) { /* enough: answer and let MHD close */
                ctx->deferred = 0;
                return send_response(conn, ctx);
            }
        }
        return MHD_YES;
    }
    conn_body(srv, conn, 0); /* the body is complete */
    if (ctx->deferred) {
        ctx->deferred = 0;
        return send_response(conn, ctx);
    }
    if (ctx->ready)
        return MHD_YES;
    ctx->ready = 1;
    finish(ctx);
    return send_response(conn, ctx);
}

/* Copy s into out for a log line: control bytes (MHD has already decoded
 * %0A and friends in the path) become \xNN so a client cannot forge log lines;
 * long values are cut. */
static const char *log_safe(const char *s, char *out, size_t outlen)
{
    size_t o = 0;

    for (; s && *s && o + 5 < outlen; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct rctx *ctx = *con_cls;
    char method[64], path[512];

    (void)cls;
    if (!ctx)
        return;
    conn_mark(ctx->srv, conn, 0, 0);
    {
        size_t nr;
        const struct route *base = router_routes(&nr);
        stats_request(ctx->route ? (long)(ctx->route - base) : -1, ctx->resp.status,
                      util_monotonic() - ctx->t0);
    }
    if (ctx->reserved) {
        atomic_fetch_sub(&ctx->srv->upload_reserved, ctx->reserved);
        stats_upload(-1);
        stats_upload_bytes(-ctx->reserved);
    }
    if (log_enabled(LOG_LEVEL_INFO)) {
        char status[16], ms[32];
        int early = toe != MHD_REQUEST_TERMINATED_COMPLETED_OK;
        struct log_field f[] = {{"method", log_safe(ctx->method, method, sizeof(method)), 0},
                                {"path", ctx->path ? log_safe(ctx->path, path, sizeof(path)) : "?",
                                 0},
                                {"status", status, 1},
                                {"duration_ms", ms, 1},
                                {"ended_early", early ? "true" : "false", 1}};

        snprintf(status, sizeof(status), "%d", ctx->resp.status);
        snprintf(ms, sizeof(ms), "%.1f", (util_monotonic() - ctx->t0) * 1000.0);
        log_write_req(LOG_LEVEL_INFO, ctx->rid, f, sizeof(f) / sizeof(f[0]), "%s %s -> %s %sms%s",
                      f[0].value, f[1].value, status, ms,
                      early ? " (connection ended early)" : "");
    }
    if (ctx->req.stream && ctx->route && ctx->route->stream)
        ctx->route->stream->close(ctx->req.stream);
    idem_close(&ctx->req);
    response_release(&ctx->resp);
    auth_caller_release(&ctx->req.caller);
    free(ctx->buf);
    free(ctx->path);
    struct http_server *srv = ctx->srv;
    free(ctx);
    *con_cls = NULL;
    pthread_mutex_lock(&srv->sse_mu);
    atomic_fetch_sub(&srv->inflight, 1);
    pthread_cond_broadcast(&srv->sse_cv); /* http_stop waits for the last one */
    pthread_mutex_unlock(&srv->sse_mu);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    LOG_WARN("http: %s", line);
}

/* The whole file at path as a NUL-terminated string (caller frees), or NULL. */
static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < (1L << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
            buf[n] = '\0';
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/*
 * Percent-decoding of the path and the query arguments, in place, as
 * libmicrohttpd's own except that %00 and %2F stay encoded: a NUL would cut
 * the string short ("/models/1%00" read as model 1) and an encoded slash
 * would split a segment ("/models/1%2f" read as "/models/1/"), so that
 * paths that are not the canonical spelling of a resource never reach one
 * (they match no route: 404). Returns the new length.
 */
static size_t on_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    size_t r = 0, w = 0;

    (void)cls;
    (void)c;
    while (s[r]) {
        int hi, lo;
        if (s[r] == '%' && (hi = hex_value(s[r + 1])) >= 0 && (lo = hex_value(s[r + 2])) >= 0 &&
            hi * 16 + lo != 0 && hi * 16 + lo != '/') {
            s[w++] = (char)(hi * 16 + lo);
            r += 3;
        } else {
            s[w++] = s[r++];
        }
    }
    s[w] = '\0';
    return w;
}

struct http_server *http_start(struct app *app, const char *bind, int port, int threads,
                               struct err *err)
{
    struct http_server *s = calloc(1, sizeof(*s));
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;

    if (!s) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, bind ? bind : "127.0.0.1", &addr.sin_addr) != 1) {
        err_set(err, ERR_INVALID, "--bind must be an IPv4 address, got '%s'", bind);
        free(s);
        return NULL;
    }
    s->app = app;
    pthread_mutex_init(&s->sse_mu, NULL);
    pthread_cond_init(&s->sse_cv, NULL);
    pthread_cond_init(&s->keep_cv, NULL);
    pthread_mutex_init(&s->conn_mu, NULL);
    pthread_cond_init(&s->conn_cv, NULL);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
    if (app->cfg->tls_cert || app->cfg->tls_key) {
        if (!app->cfg->tls_cert || !app->cfg->tls_key) {
            err_set(err, ERR_INVALID, "--tls-cert and --tls-key go together");
            http_stop(s);
            return NULL;
        }
        s->tls_cert = read_text_file(app->cfg->tls_cert);
        s->tls_key = read_text_file(app->cfg->tls_key);
        if (!s->tls_cert || !s->tls_key) {
            err_set(err, ERR_IO, "cannot read %s", !s->tls_cert ? app->cfg->tls_cert
                                                                : app->cfg->tls_key);
            http_stop(s);
            return NULL;
        }
        flags |= MHD_USE_TLS;
    }
    s->d = MHD_start_daemon(
        flags,
        (uint16_t)port,
        on_accept, s, on_access, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(threads > 0 ? threads : 4),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_UNESCAPE_CALLBACK, on_unescape,
        NULL, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)60, MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONN_MEMORY,
        MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(app->cfg->max_connections > 0 ? app->cfg->max_connections
                                                 : HTTP_MAX_CONNECTIONS),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)(app->cfg->max_connections_per_ip > 0 ? app->cfg->max_connections_per_ip
                                                        : HTTP_MAX_CONNECTIONS_PER_IP),
        s->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->tls_cert,
        MHD_OPTION_HTTPS_MEM_KEY, s->tls_key, MHD_OPTION_END);
    if (!s->d) {
        err_set(err, ERR_IO, "cannot listen on %s:%d (in use or not permitted%s)",
                bind ? bind : "127.0.0.1", port,
                s->tls_cert ? ", or the TLS certificate and key do not fit together" : "");
        http_stop(s);
        return NULL;
    }
    if (pthread_create(&s->keeper, NULL, sse_keeper, s) != 0) {
        err_set(err, ERR_INTERNAL, "cannot start the event-stream thread");
        http_stop(s);
        return NULL;
    }
    s->keeper_started = 1;
    if (pthread_create(&s->dog, NULL, conn_watchdog, s) != 0) {
        err_set(err, ERR_INTERNAL, "cannot start the connection watchdog");
        http_stop(s);
        return NULL;
    }
    s->dog_started = 1;
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : (uint16_t)port;
    return s;
}

uint16_t http_port(const struct http_server *s)
{
    return s->port;
}

void http_stop(struct http_server *s)
{
    if (!s)
        return;
    /* Stop accepting; then end every stream with a final event and wait
     * (bounded by --shutdown-grace) until each has been sent to its client
     * and every request in flight has been answered (an upload whose rows
     * committed gets its 201): MHD must not be stopped with parked
     * connections, and stopping it closes connections whatever they still
     * have to send. */
    atomic_store(&s->refusing, 1); /* see on_accept */
    pthread_mutex_lock(&s->sse_mu);
    s->closing = 1;
    pthread_cond_broadcast(&s->sse_cv);
    pthread_cond_broadcast(&s->keep_cv);
    pthread_mutex_unlock(&s->sse_mu);
    if (s->keeper_started)
        pthread_join(s->keeper, NULL);
    double t0 = util_monotonic(), grace = s->app->cfg->shutdown_grace > 0
                                              ? s->app->cfg->shutdown_grace
                                              : HTTP_STOP_GRACE_S;
    pthread_mutex_lock(&s->sse_mu);
    while ((s->streams || atomic_load(&s->inflight) > 0) && util_monotonic() - t0 < grace) {
        struct timespec ts;

        sse_wake_all(s); /* streams parked before they saw closing */
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000 * 1000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->sse_cv, &s->sse_mu, &ts);
    }
    sse_wake_all(s);
    pthread_mutex_unlock(&s->sse_mu);
    if (s->dog_started) {
        pthread_mutex_lock(&s->conn_mu);
        s->dog_stop = 1;
        pthread_cond_broadcast(&s->conn_cv);
        pthread_mutex_unlock(&s->conn_mu);
        pthread_join(s->dog, NULL);
    }
    if (s->d)
        MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->conn_mu);
    pthread_cond_destroy(&s->conn_cv);
    free(s->tls_cert);
    free(s->tls_key);
    pthread_mutex_destroy(&s->sse_mu);
    pthread_cond_destroy(&s->sse_cv);
    pthread_cond_destroy(&s->keep_cv);
    free(s);
}
