/* SPDX-License-Identifier: MIT */
/*
 * pool: the training worker threads. The database is the durable queue:
 * a model row goes CREATED -> QUEUED (in the transaction that creates it) ->
 * TRAINING (claimed by a worker in one transaction, with this daemon's lease
 * and the next attempt number) -> READY or FAILED. Several daemons may share
 * the queue (docs/DESIGN.md, "The queue protocol"): a lease keeper thread
 * renews this daemon's lease every third of it, takes back the jobs of
 * daemons whose lease expired (QUEUED again, or FAILED after
 * app_config.max_attempts lost leases), and stops a worker whose job it no
 * longer holds (canceled or deleted through any daemon, or taken back)
 * within a second. Every write of a worker about its job is fenced by its
 * attempt. No acknowledged job is lost; no job runs twice at once.
 *
 * Training runs only on pool threads, never on HTTP threads.
 *
 * Thread-safety: pool_wake and pool_cancel may be called from any thread.
 */
#ifndef MODELD_POOL_H
#define MODELD_POOL_H

#include <stdint.h>

#include "app.h"
#include "err.h"

struct pool;
struct predictor;

/* Default of app_config.worker_nice: nice steps of the workers below the
 * request threads. */
#define POOL_WORKER_NICE 10
/* Defaults of app_config.lease_s and .max_attempts (--lease, --max-attempts). */
#define POOL_LEASE_S 30
#define POOL_MAX_ATTEMPTS 3

/* Join the queue as a new daemon (db_daemon_set with a random id and
 * app->cfg->lease_s), take back interrupted jobs (every TRAINING one when
 * app->db_exclusive, else those whose lease expired), start the lease
 * keeper and `workers` threads (0: none; jobs stay QUEUED, for an API-only
 * daemon). Each worker lowers its own priority by
 * app->cfg->worker_nice (see app.h) and is named "modeld-train". */
struct pool *pool_start(struct app *app, int workers, struct err *err);

/* Stop: running jobs are interrupted and put back to QUEUED (trained again
 * from the beginning by whichever daemon claims them next), and this
 * daemon's lease is removed. Accepts NULL. */
void pool_stop(struct pool *p);

/* Wake a worker: a job was queued. Accepts NULL. */
void pool_wake(struct pool *p);

/* Ask the worker training model_id (if any) to stop. Returns 1 if one was running. */
int pool_cancel(struct pool *p, int64_t model_id);

/* Number of jobs being trained right now. */
int pool_running(struct pool *p);

/* Number of worker threads. */
int pool_workers(struct pool *p);

/* 1 when every worker thread is running its loop (trivially so with no
 * workers) and the pool is not stopping. */
int pool_ready(struct pool *p);


#endif
