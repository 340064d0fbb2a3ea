/* SPDX-License-Identifier: MIT */
/*
 * stats: counters and histograms for GET /metrics (see include/stats.h).
 * Everything is an atomic, so recording a request takes no lock on the hot
 * path; a histogram's sum is kept in microseconds and its _count is the
 * total of its buckets, so a scrape that races a request never shows +Inf and
 * _count apart (the sum may lag by that request).
 */
#include "stats.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "strbuf.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define MAX_ROUTES 64 /* the last slot counts requests that matched no route */
#define N_STATUS 500  /* status codes 100..599 */

static const double LAT_BOUNDS[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                    0.5,   1,     2.5,  5,     10};
#define N_LAT (sizeof LAT_BOUNDS / sizeof LAT_BOUNDS[0])
static const double TRAIN_BOUNDS[] = {1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
#define N_TRAIN (sizeof TRAIN_BOUNDS / sizeof TRAIN_BOUNDS[0])

const char *const stats_status_names[8] = {"CREATED", "QUEUED", "TRAINING", "READY",
                                           "ACTIVE",  "PUBLISHED", "FAILED", NULL};

struct histo {
    atomic_ullong bucket[16]; /* non-cumulative counts; [n] = above every bound */
    atomic_ullong count;
    atomic_ullong sum_us; /* sum of the observations, in microseconds */
};

static atomic_ullong requests[MAX_ROUTES][N_STATUS];
static atomic_ullong rejected[STATS_N_REJECT];
static atomic_int streams, uploads;
static atomic_llong upload_bytes;
static struct histo latency[MAX_ROUTES];
static struct histo training[2]; /* [0] FAILED, [1] READY */

static void observe(struct histo *h, const double *bounds, size_t n, double v)
{
    size_t b = 0;
    while (b < n && v > bounds[b])
        b++;
    atomic_fetch_add(&h->bucket[b], 1);
    atomic_fetch_add(&h->count, 1);
    atomic_fetch_add(&h->sum_us, (unsigned long long)(v > 0 ? v * 1e6 : 0));
}

void stats_request(long route, int status, double seconds)
{
    size_t r = route >= 0 && route < MAX_ROUTES - 1 ? (size_t)route : MAX_ROUTES - 1;
    if (status >= 100 && status < 100 + N_STATUS)
        atomic_fetch_add(&requests[r][status - 100], 1);
    observe(&latency[r], LAT_BOUNDS, N_LAT, seconds);
}

void stats_rejected(enum stats_reject reason)
{
    if (reason < STATS_N_REJECT)
        atomic_fetch_add(&rejected[reason], 1);
}

void stats_training(double seconds, int ready)
{
    observe(&training[ready ? 1 : 0], TRAIN_BOUNDS, N_TRAIN, seconds);
}

void stats_stream(int delta)
{
    atomic_fetch_add(&streams, delta);
}

void stats_upload(int delta)
{
    atomic_fetch_add(&uploads, delta);
}

void stats_upload_bytes(long long delta)
{
    atomic_fetch_add(&upload_bytes, delta);
}

/* ---- rendering ---- */

static void put_histo(struct strbuf *o, const char *name, const char *labels, struct histo *h,
                      const double *bounds, size_t n)
{
    unsigned long long cum = 0;
    for (size_t b = 0; b < n; b++) {
        cum += atomic_load(&h->bucket[b]);
        strbuf_addf(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, labels[0] ? "," : "",
                    bounds[b], cum);
    }
    cum += atomic_load(&h->bucket[n]);
    strbuf_addf(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, labels[0] ? "," : "", cum);
    strbuf_addf(o, "%s_sum{%s} %.6f\n", name, labels, (double)atomic_load(&h->sum_us) * 1e-6);
    /* the buckets' total, so that +Inf and _count agree however a request raced the scrape */
    strbuf_addf(o, "%s_count{%s} %llu\n", name, labels, cum);
}

char *stats_render(const struct stats_gauges *g, size_t *len)
{
    static const char *const reasons[STATS_N_REJECT] = {"head_timeout", "body_timeout",
                                                         "bad_framing"};
    struct strbuf o = STRBUF_INIT;
    size_t nr = 0;
    const struct route *routes = router_routes(&nr);
    char labels[256];

    if (nr > MAX_ROUTES - 1)
        nr = MAX_ROUTES - 1;
    strbuf_addf(
        &o, "# HELP modeld_http_requests_total HTTP requests answered, by route pattern, method "
            "and status.\n# TYPE modeld_http_requests_total counter\n");
    for (size_t r = 0; r < MAX_ROUTES; r++) {
        if (r >= nr && r != MAX_ROUTES - 1)
            continue;
        for (int s = 0; s < N_STATUS; s++) {
            unsigned long long v = atomic_load(&requests[r][s]);
            if (!v)
                continue;
            if (r == MAX_ROUTES - 1)
                strbuf_addf(
                    &o,
                    "modeld_http_requests_total{route=\"unmatched\",method=\"\",status=\"%d\"} "
                    "%llu\n",
                    s + 100, v);
            else
                strbuf_addf(
                    &o,
                    "modeld_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
                    routes[r].pattern, routes[r].method, s + 100, v);
        }
    }
    strbuf_addf(&o,
                "# HELP modeld_http_request_duration_seconds Time from the request head to the end "
                "of the answer, by route pattern.\n"
                "# TYPE modeld_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r < MAX_ROUTES; r++) {
        if (!atomic_load(&latency[r].count) || (r >= nr && r != MAX_ROUTES - 1))
            continue;
        if (r == MAX_ROUTES - 1)
            snprintf(labels, sizeof labels, "route=\"unmatched\",method=\"\"");
        else
            snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\"", routes[r].pattern,
                     routes[r].method);
        put_histo(&o, "modeld_http_request_duration_seconds", labels, &latency[r], LAT_BOUNDS,
                  N_LAT);
    }
    strbuf_addf(&o,
                "# HELP modeld_connections_rejected_total Connections refused or cut, by reason.\n"
                "# TYPE modeld_connections_rejected_total counter\n");
    for (int i = 0; i < STATS_N_REJECT; i++)
        strbuf_addf(&o, "modeld_connections_rejected_total{reason=\"%s\"} %llu\n", reasons[i],
                    (unsigned long long)atomic_load(&rejected[i]));
    strbuf_addf(&o, "# HELP modeld_models Models by status.\n# TYPE modeld_models gauge\n");
    for (int i = 0; stats_status_names[i]; i++)
        strbuf_addf(&o, "modeld_models{status=\"%s\"} %lld\n", stats_status_names[i], g->jobs[i]);
    strbuf_addf(&o,
                "# HELP modeld_queue_depth Trainings waiting for a worker (QUEUED).\n"
                "# TYPE modeld_queue_depth gauge\nmodeld_queue_depth %lld\n",
                g->jobs[1]);
    strbuf_addf(&o,
                "# HELP modeld_workers_busy Training workers running a job.\n"
                "# TYPE modeld_workers_busy gauge\nmodeld_workers_busy %d\n",
                g->busy_workers);
    strbuf_addf(&o,
                "# HELP modeld_workers Training workers.\n# TYPE modeld_workers gauge\n"
                "modeld_workers %d\n",
                g->workers);
    strbuf_addf(&o,
                "# HELP modeld_db_writes_total Database writes (a create, a status move, ...).\n"
                "# TYPE modeld_db_writes_total counter\nmodeld_db_writes_total %llu\n"
                "# HELP modeld_db_commits_total Transactions that committed them (group commit).\n"
                "# TYPE modeld_db_commits_total counter\nmodeld_db_commits_total %llu\n"
                "# HELP modeld_db_write_batch_max Most writes one transaction carried.\n"
                "# TYPE modeld_db_write_batch_max gauge\nmodeld_db_write_batch_max %llu\n",
                g->db_writes, g->db_commits, g->db_batch_max);
    strbuf_addf(
        &o, "# HELP modeld_training_duration_seconds Duration of finished trainings, by outcome.\n"
            "# TYPE modeld_training_duration_seconds histogram\n");
    put_histo(&o, "modeld_training_duration_seconds", "outcome=\"failed\"", &training[0], TRAIN_BOUNDS,
              N_TRAIN);
    put_histo(&o, "modeld_training_duration_seconds", "outcome=\"ready\"", &training[1], TRAIN_BOUNDS,
              N_TRAIN);
    strbuf_addf(
        &o,
        "# HELP modeld_event_streams Open event streams.\n# TYPE modeld_event_streams gauge\n"
        "modeld_event_streams %d\n",
        atomic_load(&streams));
    strbuf_addf(&o,
                "# HELP modeld_uploads_in_flight Document uploads being received.\n"
                "# TYPE modeld_uploads_in_flight gauge\nmodeld_uploads_in_flight %d\n",
                atomic_load(&uploads));
    strbuf_addf(
        &o,
        "# HELP modeld_upload_bytes_in_flight Bytes of the upload budget the uploads in flight "
        "hold.\n"
        "# TYPE modeld_upload_bytes_in_flight gauge\nmodeld_upload_bytes_in_flight %lld\n",
        (long long)atomic_load(&upload_bytes));
    return strbuf_detach(&o, len);
}
