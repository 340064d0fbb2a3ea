/* SPDX-License-Identifier: MIT */
/*
 * pool: the training worker threads. The database is the durable queue:
 * a model row goes CREATED -> QUEUED (in the transaction that creates it) ->
 * TRAINING (claimed by a
 * worker in one transaction) -> READY or FAILED. At start the pool requeues
 * every CREATED, QUEUED or TRAINING row left by a crash, so no acknowledged
 * job is lost; claims are transactional, so no job runs twice at once.
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

/* Requeue interrupted jobs and start `workers` threads (0: none; jobs stay
 * QUEUED, for an API-only daemon). Each worker lowers its own priority by
 * app->cfg->worker_nice (see app.h) and is named "modeld-train". */
struct pool *pool_start(struct app *app, int workers, struct err *err);

/* Stop: running jobs are interrupted and stay TRAINING in the database, so
 * the next start trains them again from the beginning. Accepts NULL. */
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
