/* SPDX-License-Identifier: MIT */
/*
 * stats: the daemon's operational counters, rendered in the Prometheus text
 * exposition format (version 0.0.4) by GET /metrics.
 *
 * Labels carry route patterns ("/projects/{id}/models"), methods, status
 * codes and fixed reasons only: never ids, names, tokens or text, so the
 * number of series is bounded by the route table.
 *
 * Thread-safety: every function may be called from any thread (atomics and
 * one mutex for the histograms).
 */
#ifndef MODELD_STATS_H
#define MODELD_STATS_H

#include <stddef.h>

/* A request finished: route index into router_routes() (-1: no route), its status, seconds. */
void stats_request(long route, int status, double seconds);

/* Connections refused or cut, by reason. */
enum stats_reject {
    STATS_REJECT_HEAD_TIMEOUT,
    STATS_REJECT_BODY_TIMEOUT,
    STATS_REJECT_BAD_FRAMING,
    STATS_N_REJECT
};
void stats_rejected(enum stats_reject reason);

/* A training job ended after seconds (READY or FAILED). */
void stats_training(double seconds, int ready);

/* Gauges kept here: open event streams, uploads in flight and the bytes of the upload
 * budget they hold (their Content-Length, or what a chunked one sent so far). */
void stats_stream(int delta);
void stats_upload(int delta);
void stats_upload_bytes(long long delta);

/* Gauges the caller reads at scrape time. */
struct stats_gauges {
    long long jobs[8]; /* models by status, in the order of stats_status_names */
    int busy_workers, workers;
    /* the database writer (db_write_stats): writes, their commits, the largest batch */
    unsigned long long db_writes, db_commits, db_batch_max;
};
extern const char *const stats_status_names[8];

/* The whole exposition as a new string (caller frees), or NULL when out of memory. */
char *stats_render(const struct stats_gauges *g, size_t *len);

#endif
