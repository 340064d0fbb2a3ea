/* SPDX-License-Identifier: MIT */
/*
 * pool: training worker threads over the database queue (see pool.h).
 *
 * A worker claims the oldest QUEUED row, loads its documents, runs
 * trainer_run() and records READY (score, metrics, artifact) or FAILED
 * (reason). Final updates are conditional on the row still being TRAINING,
 * so a cancel or delete that happened meanwhile wins, and the artifact of a
 * job whose row is gone is removed. Progress is persisted at most 4 times a
 * second and never goes down. Every committed change of a job (claim,
 * progress, end, requeue) is announced to the notification hub.
 *
 * Workers lower their own CPU priority (nice) when they start, so requests
 * keep their latency while every core trains.
 */
#include "pool.h"
#include "stats.h"

#include <assert.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "artifacts.h"
#include "log.h"
#include "notify.h"
#include "trainer.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define POOL_MAX_RUNNING 64
/* How often the lease keeper checks, while jobs run, that this daemon still
 * holds them: a cancel through another daemon stops the worker within this
 * and the trainer's next cancel check. */
#define POOL_WATCH_MS 250

struct running {
    int64_t id;      /* 0 = free slot */
    int64_t attempt; /* the claim's: the fencing token of every write about the job */
    uint64_t seq;    /* registration number (pool.reg_seq) */
    atomic_int cancel;
    atomic_int fenced; /* the attempt no longer holds the job: stop, write nothing */
};

struct pool {
    struct app *app;
    pthread_t *threads;
    int n_threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    int wakeups;
    struct running run[POOL_MAX_RUNNING];
    atomic_int n_running;
    atomic_int n_alive; /* worker threads inside worker_main's loop */
    uint64_t reg_seq;   /* registrations so far (under mu) */
    /* the lease keeper (a thread): see keeper_main */
    pthread_t keeper;
    int keeper_started;
    pthread_cond_t kcv; /* wakes the keeper (stop) */
    int64_t lease_ms;
    int max_attempts;
};

static void run_fence(struct running *r);

/* ---- loading documents ---------------------------------------------------- */

/* A parsed labels/aspects array and the pointer array into it given to the trainer. */
struct kept {
    json_t *arr;
    void *ptrs;
};

struct job_docs {
    struct tdoc *docs;
    size_t n, cap;
    struct kept *keep; /* parsed labels/aspects kept alive for the trainer */
    size_t nkeep, capkeep;
    char **strs;  /* owned copies of texts/classes */
    size_t nstr, capstr;
    struct err *err;
};

static const char *keep_str(struct job_docs *jd, const char *s)
{
    char *d;

    if (!s)
        return NULL;
    {
        char **n = util_grow(jd->strs, &jd->capstr, jd->nstr + 1, sizeof(*n), 1024);

        if (!n)
            return NULL;
        jd->strs = n;
    }
    d = strdup(s);
    if (d)
        jd->strs[jd->nstr++] = d;
    return d;
}

/* Keep arr and ptrs until job_docs_release (both are owned on success). */
static int keep_json(struct job_docs *jd, json_t *arr, void *ptrs)
{
    {
        struct kept *n = util_grow(jd->keep, &jd->capkeep, jd->nkeep + 1, sizeof(*n), 1024);

        if (!n)
            return -1;
        jd->keep = n;
    }
    jd->keep[jd->nkeep].arr = arr;
    jd->keep[jd->nkeep].ptrs = ptrs;
    jd->nkeep++;
    return 0;
}

static int add_doc(void *ctx, const char *role, const char *text, const char *cls,
                   const char *labels, const char *aspects)
{
    struct job_docs *jd = ctx;
    struct tdoc *d;

    {
        struct tdoc *n = util_grow(jd->docs, &jd->cap, jd->n + 1, sizeof(*n), 1024);

        if (!n)
            return -1;
        jd->docs = n;
    }
    d = &jd->docs[jd->n];
    memset(d, 0, sizeof(*d));
    d->text = keep_str(jd, text ? text : "");
    if (!d->text)
        return -1;
    d->cls = cls ? keep_str(jd, cls) : NULL;
    if (cls && !d->cls) /* out of memory: never a document without its class */
        return -1;
    d->set = strcmp(role, "train") == 0  ? TDOC_TRAIN
             : strcmp(role, "test") == 0 ? TDOC_TEST
                                         : TDOC_AUTO;
    if (labels) {
        json_t *arr = json_loads(labels, 0, NULL);
        size_t n = json_array_size(arr);

        if (!arr) /* stored labels are an array: out of memory */
            return -1;
        if (n) {
            const char **l = calloc(n, sizeof(*l));

            if (!l || keep_json(jd, arr, l) != 0) {
                free(l);
                json_decref(arr);
                return -1;
            }
            for (size_t i = 0; i < n; i++)
                l[i] = json_string_value(json_array_get(arr, i));
            d->labels = l;
            d->n_labels = n;
        } else {
            json_decref(arr);
        }
    }
    if (aspects) {
        json_t *arr = json_loads(aspects, 0, NULL);
        size_t n = json_array_size(arr);

        if (!arr) /* stored aspects are an array: out of memory */
            return -1;
        if (n) {
            struct tdoc_aspect *a = calloc(n, sizeof(*a));

            if (!a || keep_json(jd, arr, a) != 0) {
                free(a);
                json_decref(arr);
                return -1;
            }
            for (size_t i = 0; i < n; i++) {
                json_t *v = json_array_get(arr, i);

                a[i].category = json_string_value(json_object_get(v, "category"));
                a[i].polarity = json_string_value(json_object_get(v, "polarity"));
            }
            d->aspects = a;
            d->n_aspects = n;
        } else {
            json_decref(arr);
        }
    }
    jd->n++;
    return 0;
}

static void job_docs_release(struct job_docs *jd)
{
    size_t i;

    for (i = 0; i < jd->nkeep; i++) {
        json_decref(jd->keep[i].arr);
        free(jd->keep[i].ptrs);
    }
    free(jd->keep);
    for (i = 0; i < jd->nstr; i++)
        free(jd->strs[i]);
    free(jd->strs);
    free(jd->docs);
}

/* ---- progress ------------------------------------------------------------- */

struct progress_ctx {
    struct pool *pool;
    struct running *slot;
    int64_t id;
    double last_pct, last_t;
    int64_t project_id; /* for notifications; 0 = unknown */
};

/* The project of model id, for notifications: 0 when it cannot be read
 * (then only the streams of the model itself hear of the change). */
static int64_t job_project(struct db_conn *c, int64_t id)
{
    struct db_base b = {0};
    int64_t project = 0;

    if (db_model_base_info(c, id, &b, NULL) == 0)
        project = b.project_id;
    db_base_release(&b);
    return project;
}

/* A move of a job's row, as one db_write (so the writer folds it into the
 * batch of whatever else is being written). */
enum job_op {
    JOB_CLAIM, JOB_PROGRESS, JOB_READY, JOB_FAILED, JOB_REQUEUE, /* a job of this daemon */
    JOB_RESCUE, JOB_HEARTBEAT, JOB_LEAVE                         /* the daemon's lease */
};
struct job_ok;
struct job_write {
    enum job_op op;
    int64_t id;      /* JOB_CLAIM: out */
    int64_t attempt; /* JOB_CLAIM: out; the fencing token of the others */
    int all;         /* JOB_RESCUE: every TRAINING row (a daemon alone on its database) */
    int max_attempts; /* JOB_RESCUE */
    double pct;
    const struct job_ok *ok;
    const char *reason;
    int rc; /* out: what the db_job_* call returned */
};

struct job_ok {
    double score;
    const char *metrics, *warnings, *path; /* JSON text, JSON text, file */
    const struct artifacts_blob *blob;     /* the file's bytes for the database, or NULL */
};

/* The db_write function of a job move: the db_job_* call of jw->op. */
static int job_write(struct db_conn *c, void *arg, struct err *err)
{
    struct job_write *jw = arg;

    switch (jw->op) {
    case JOB_CLAIM:
        jw->rc = db_job_claim(c, &jw->id, &jw->attempt, err);
        break;
    case JOB_PROGRESS:
        jw->rc = db_job_progress(c, jw->id, jw->attempt, jw->pct, err);
        break;
    case JOB_READY:
        jw->rc = db_job_ready(c, jw->id, jw->attempt, jw->ok->score, jw->ok->metrics,
                              jw->ok->warnings, jw->ok->path, err);
        /* the bytes with the READY they belong to (after the fence let it in) */
        if (jw->rc == 1 && jw->ok->blob &&
            db_artifact_put(c, jw->id, jw->ok->blob->bytes, jw->ok->blob->len,
                            jw->ok->blob->checksum, err) != 0)
            jw->rc = -1;
        break;
    case JOB_FAILED:
        jw->rc = db_job_failed(c, jw->id, jw->attempt, jw->reason, err);
        break;
    case JOB_REQUEUE:
        jw->rc = db_job_requeue(c, jw->id, jw->attempt, err);
        break;
    case JOB_RESCUE:
        jw->rc = db_job_rescue(c, jw->max_attempts, jw->all, err);
        break;
    case JOB_HEARTBEAT:
        jw->rc = db_daemon_heartbeat(c, err);
        break;
    case JOB_LEAVE:
        jw->rc = db_daemon_leave(c, err);
        break;
    }
    return jw->rc < 0 ? -1 : 0;
}

/* Run the move jw; returns what its db_job_* call returned, or -1 with err
 * (also when its commit failed). */
static int job_move(struct pool *p, struct job_write *jw, struct err *err)
{
    return db_write(p->app->db, job_write, jw, err) == 0 ? jw->rc : -1;
}

static void on_progress(void *ctx, double pct)
{
    struct progress_ctx *pc = ctx;
    double now = util_monotonic();
    struct job_write jw = {.op = JOB_PROGRESS, .id = pc->id, .attempt = pc->slot->attempt};
    struct err err = {0};

    if (pct > 100.0)
        pct = 100.0;
    if (pct <= pc->last_pct || (now - pc->last_t < 0.25 && pct < 100.0))
        return;
    pc->last_pct = pct;
    pc->last_t = now;
    jw.pct = pct;
    if (job_move(pc->pool, &jw, &err) == 0)
        notify_model_changed(pc->pool->app->notify, pc->project_id, pc->id, NOTIFY_CHANGED);
    else if (err.code == ERR_FENCED)
        run_fence(pc->slot);
}

/* ---- running table -------------------------------------------------------- */

/*
 * Register a claimed job (id, attempt). The same id may be running already
 * under an older attempt: this daemon lost its lease on it (its heartbeat
 * could not reach the database), the job was taken back and claimed again
 * here; the old worker learns it is fenced and stops.
 */
static struct running *run_register(struct pool *p, int64_t id, int64_t attempt)
{
    struct running *r = NULL;

    assert(id > 0 && attempt > 0);
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < POOL_MAX_RUNNING; i++)
        assert(p->run[i].id != id || p->run[i].attempt < attempt); /* claims only go up */
    for (int i = 0; i < POOL_MAX_RUNNING; i++) {
        if (p->run[i].id == 0) {
            r = &p->run[i];
            r->id = id;
            r->attempt = attempt;
            r->seq = ++p->reg_seq;
            atomic_store(&r->fenced, 0);
            atomic_store(&r->cancel, p->stop ? 1 : 0);
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (r)
        atomic_fetch_add(&p->n_running, 1);
    return r;
}

static void run_unregister(struct pool *p, struct running *r)
{
    pthread_mutex_lock(&p->mu);
    assert(r->id != 0);
    r->id = 0;
    pthread_mutex_unlock(&p->mu);
    int was = atomic_fetch_sub(&p->n_running, 1);
    assert(was > 0);
    (void)was;
}

/* The job's attempt no longer holds it (canceled or deleted through any
 * daemon, or taken back after a lost lease): the worker stops and writes
 * nothing more about it. */
static void run_fence(struct running *r)
{
    atomic_store(&r->fenced, 1);
    atomic_store(&r->cancel, 1);
}

int pool_cancel(struct pool *p, int64_t model_id)
{
    int found = 0;

    if (!p)
        return 0;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < POOL_MAX_RUNNING; i++) {
        if (p->run[i].id == model_id) {
            atomic_store(&p->run[i].cancel, 1);
            found = 1;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return found;
}

int pool_running(struct pool *p)
{
    return p ? atomic_load(&p->n_running) : 0;
}

int pool_workers(struct pool *p)
{
    return p ? p->n_threads : 0;
}

int pool_ready(struct pool *p)
{
    int stopping;

    if (!p)
        return 0;
    pthread_mutex_lock(&p->mu);
    stopping = p->stop;
    pthread_mutex_unlock(&p->mu);
    return !stopping && atomic_load(&p->n_alive) == p->n_threads;
}

/* ---- one job ------------------------------------------------------------- */

/*
 * Record a job's end, retrying a few times: if the write is lost (e.g. the
 * database stayed locked past busy_timeout), the row would stay TRAINING
 * until its lease expires. Both are fenced by the slot's attempt: when it
 * no longer holds the job, -1 with ERR_FENCED and nothing written. ok != NULL: READY with its score, metrics, warnings
 * and artifact path; else FAILED with reason. project_id (0 = look it up)
 * names the project in the notification of the change. Returns what
 * db_job_ready/db_job_failed returned last.
 */
static int record_end(struct pool *p, const struct running *slot, int64_t project_id,
                      const struct job_ok *ok, const char *reason, struct err *err)
{
    int64_t id = slot->id;
    int rc = -1;

    for (int tries = 0; tries < 5 && rc < 0; tries++) {
        struct job_write jw = {.op = ok ? JOB_READY : JOB_FAILED, .id = id,
                               .attempt = slot->attempt, .ok = ok, .reason = reason};

        if (tries && err && err->code == ERR_FENCED)
            break; /* not ours any more: nothing to retry */
        if (tries)
            nanosleep(&(struct timespec){0, 200 * 1000 * 1000L}, NULL);
        rc = job_move(p, &jw, err);
        if (rc == 1) {
            if (!project_id) {
                struct db_conn *c = db_acquire(p->app->db);

                project_id = job_project(c, id);
                db_release(p->app->db, c);
            }
            notify_model_changed(p->app->notify, project_id, id, NOTIFY_CHANGED);
        }
    }
    return rc;
}

static void fail_job(struct pool *p, const struct running *slot, int64_t project_id,
                     const char *reason)
{
    struct err err = {0};

    if (record_end(p, slot, project_id, NULL, reason, &err) >= 0)
        return;
    if (err.code == ERR_FENCED)
        LOG_INFO("job %lld: no longer held by attempt %lld; FAILED not recorded",
                 (long long)slot->id, (long long)slot->attempt);
    else
        LOG_ERROR("job %lld: cannot record FAILED: %s", (long long)slot->id, err.msg);
}

/*
 * The artifact a fenced attempt wrote: removed unless a newer attempt of the
 * job exists (which names the same file; training is deterministic, so its
 * bytes are the same). A job deleted, or canceled while this attempt held
 * it, keeps no file.
 */
static void drop_artifact(struct pool *p, const struct running *slot, const char *path)
{
    struct db_job job = {0};
    struct db_conn *c = db_acquire(p->app->db);
    struct err err = {0};
    int rc = db_job_get(c, slot->id, &job, &err);

    db_release(p->app->db, c);
    if ((rc == 0 && job.attempt <= slot->attempt) || (rc != 0 && err.code == ERR_NOT_FOUND))
        artifacts_remove(path);
    db_job_release(&job);
}

static void run_job(struct pool *p, int64_t id, int64_t attempt)
{
    struct db_job job = {0};
    struct job_docs jd = {0};
    struct trainer_result res = {0};
    struct progress_ctx pc = {p, NULL, id, 0.0, 0.0, 0};
    struct err err = {0};
    struct running *slot = NULL;
    struct db_conn *c;
    char path[4200];
    int rc;
    double t0 = util_monotonic();

    /*
     * Register before reading the row. A cancel or delete that lands after
     * the claim either finds the slot (pool_cancel sets its flag) or changed
     * the row before pool_cancel, and then the read below no longer sees
     * TRAINING; either way the job is not trained to the end for nothing.
     */
    slot = run_register(p, id, attempt);
    if (!slot) {
        struct running over = {.id = id, .attempt = attempt};

        LOG_ERROR("job %lld: too many running jobs", (long long)id);
        fail_job(p, &over, 0, "internal error: too many jobs");
        goto out;
    }
    pc.slot = slot;
    c = db_acquire(p->app->db);
    rc = db_job_get(c, id, &job, &err);
    if (rc == 0 && (job.status != STATUS_TRAINING || job.attempt != attempt)) {
        db_release(p->app->db, c);
        LOG_INFO("job %lld: %s before training started; dropped", (long long)id,
                 domain_status_name(job.status));
        goto out;
    }
    if (rc == 0) { /* the claim (QUEUED -> TRAINING) */
        pc.project_id = job_project(c, id);
        notify_model_changed(p->app->notify, pc.project_id, id, NOTIFY_CHANGED);
        rc = db_job_documents(c, id, add_doc, &jd, &err);
    }
    db_release(p->app->db, c);
    if (rc != 0) {
        if (err.code == ERR_NOT_FOUND) {
            LOG_INFO("job %lld: deleted before training started; dropped", (long long)id);
            goto out;
        }
        LOG_ERROR("job %lld: cannot load: %s", (long long)id, err.msg);
        fail_job(p, slot, pc.project_id, "internal error while loading the training data");
        goto out;
    }
    if (artifacts_model_path(p->app->cfg->data_dir, job.uuid, path, sizeof(path), &err) != 0) {
        LOG_ERROR("job %lld: %s", (long long)id, err.msg);
        fail_job(p, slot, pc.project_id, "internal error: the artifact directory is not writable");
        goto out;
    }
    LOG_INFO("job %lld: training %s/%s on %zu documents", (long long)id,
             domain_type_name(job.type), domain_language_name(job.language), jd.n);
    {
        struct trainer_job tj = {
            .type = job.type,
            .language = job.language,
            .seed = job.uuid,
            .docs = jd.docs,
            .n_docs = jd.n,
            .base_artifact = job.base_artifact,
            .artifact_path = path,
            .progress = on_progress,
            .progress_ctx = &pc,
            .cancel = &slot->cancel,
        };

        rc = trainer_run(&tj, &res, &err);
    }
    if (rc == 0) {
        char *metrics = util_json_dumps(res.metrics, JSON_COMPACT);
        char *warnings = util_json_dumps(res.warnings, JSON_COMPACT);
        struct artifacts_blob blob = {0};
        struct job_ok ok = {res.score, metrics, warnings, path, NULL};
        int applied = -1;

        if (!metrics || !warnings)
            err_set(&err, ERR_NOMEM, "out of memory");
        else if (db_artifacts_shared(p->app->db) && artifacts_blob_read(path, &blob, &err) != 0)
            LOG_ERROR("job %lld: cannot read its artifact: %s", (long long)id, err.msg);
        else
            ok.blob = db_artifacts_shared(p->app->db) ? &blob : NULL;
        if (metrics && warnings && (ok.blob || !db_artifacts_shared(p->app->db)))
            applied = record_end(p, slot, pc.project_id, &ok, NULL, &err);
        artifacts_blob_release(&blob);
        free(metrics);
        free(warnings);
        if (applied != 1 && err.code == ERR_FENCED) {
            drop_artifact(p, slot, path); /* canceled, deleted or taken back meanwhile */
        } else if (applied != 1) {
            artifacts_remove(path);
            LOG_ERROR("job %lld: cannot record result: %s", (long long)id, err.msg);
            /* not left TRAINING under this daemon's live lease */
            fail_job(p, slot, pc.project_id,
                     "internal error while storing the trained model (details in the server log)");
        }
        LOG_INFO("job %lld: %s score=%.4f in %.1fs", (long long)id,
                 applied == 1 ? "READY" : "discarded", res.score, util_monotonic() - t0);
        if (applied == 1)
            stats_training(util_monotonic() - t0, 1);
    } else if (err.code == ERR_CANCELED && atomic_load(&slot->fenced)) {
        /* canceled or deleted through another daemon, or taken back */
        LOG_INFO("job %lld: attempt %lld no longer holds it; stopped", (long long)id,
                 (long long)attempt);
    } else if (err.code == ERR_CANCELED) {
        int shutting_down;

        pthread_mutex_lock(&p->mu);
        shutting_down = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (!shutting_down) {
            fail_job(p, slot, pc.project_id, "canceled");
        } else {
            /* back to the queue now, so that its status says what will happen */
            struct job_write jw = {.op = JOB_REQUEUE, .id = id, .attempt = attempt};
            struct err rerr = {0};
            int requeued = job_move(p, &jw, &rerr);
            if (requeued < 0)
                LOG_ERROR("job %lld: cannot requeue: %s", (long long)id, rerr.msg);
            else if (requeued == 1)
                notify_model_changed(p->app->notify, pc.project_id, id, NOTIFY_CHANGED);
        }
        LOG_INFO("job %lld: %s", (long long)id,
                 shutting_down ? "interrupted by shutdown; QUEUED again" : "canceled");
    } else if (err.code == ERR_DATA || err.code == ERR_INVALID) {
        stats_training(util_monotonic() - t0, 0);
        fail_job(p, slot, pc.project_id, err.msg);
        LOG_INFO("job %lld: FAILED: %s", (long long)id, err.msg);
    } else if (err.code == ERR_IO) {
        /* the trainer's I/O messages name the system error, never a path:
         * the user learns that the disk is full, the operator finds the rest
         * in the log */
        char reason[ERR_MSG_MAX + 64];
        snprintf(reason, sizeof reason, "%s; training can be started again once that is fixed",
                 err.msg);
        LOG_ERROR("job %lld: %s (data dir %s)", (long long)id, err.msg, p->app->cfg->data_dir);
        stats_training(util_monotonic() - t0, 0);
        fail_job(p, slot, pc.project_id, reason);
    } else {
        LOG_ERROR("job %lld: %s: %s", (long long)id, err_code_name(err.code), err.msg);
        fail_job(p, slot, pc.project_id, "internal error while training (details in the server log)");
    }
out:
    if (slot)
        run_unregister(p, slot);
    trainer_result_release(&res);
    job_docs_release(&jd);
    db_job_release(&job);
    /* A training frees hundreds of MiB in this thread's malloc arena; glibc
     * keeps them mapped unless asked, so the daemon would stay at its
     * training peak while idle. Hand the free pages back to the kernel. */
    malloc_trim(0);
}

/*
 * Run the calling thread (a training worker) cfg->worker_nice (0: the
 * default) nice steps below the thread that started the pool, whose value the
 * request threads have. On Linux the nice value belongs to each thread:
 * setpriority(PRIO_PROCESS, 0, ...) changes the calling thread only
 * (setpriority(2), "Notes"; that is also why POSIX's per-process reading
 * does not apply here). A value above 19 is 19. Failing to lower it is
 * logged, not fatal. The thread is named for top -H and ps -L.
 */
static void worker_lower_priority(struct pool *p)
{
    int steps = p->app->cfg->worker_nice == 0 ? POOL_WORKER_NICE : p->app->cfg->worker_nice;
    int cur;

    prctl(PR_SET_NAME, "modeld-train", 0, 0, 0);
    if (steps < 0)
        return;
    errno = 0;
    cur = getpriority(PRIO_PROCESS, 0);
    if (cur == -1 && errno != 0) {
        LOG_WARN("pool: cannot read the worker's priority: %s", strerror(errno));
        return;
    }
    if (setpriority(PRIO_PROCESS, 0, cur + steps > 19 ? 19 : cur + steps) != 0)
        LOG_WARN("pool: cannot lower the worker's priority: %s", strerror(errno));
}

static void *worker_main(void *arg)
{
    struct pool *p = arg;

    worker_lower_priority(p);
    atomic_fetch_add(&p->n_alive, 1);
    for (;;) {
        struct err err = {0};
        struct job_write jw = {.op = JOB_CLAIM};
        int64_t id = 0;
        int rc;

        pthread_mutex_lock(&p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        pthread_mutex_unlock(&p->mu);
        rc = job_move(p, &jw, &err);
        id = jw.id;
        assert(rc >= -1 && rc <= 1 && (rc != 1 || id > 0));
        if (rc == 1) {
            run_job(p, id, jw.attempt);
            continue;
        }
        if (rc < 0)
            LOG_ERROR("pool: claim failed: %s", err.msg);
        /* Nothing to do: sleep until pool_wake or 1 s (other writers). */
        pthread_mutex_lock(&p->mu);
        if (!p->stop && p->wakeups == 0) {
            struct timespec ts;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        }
        if (p->wakeups > 0)
            p->wakeups--;
        pthread_mutex_unlock(&p->mu);
    }
    atomic_fetch_sub(&p->n_alive, 1);
    return NULL;
}

/* ---- the lease keeper ----------------------------------------------------- */

/*
 * Fence every running job registered up to seq that is not among held (the
 * jobs the database says this daemon holds, read after seq was taken): it was
 * canceled or deleted (through any daemon) or taken back.
 */
static void fence_lost(struct pool *p, const struct db_lease *held, size_t n, uint64_t seq)
{
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < POOL_MAX_RUNNING; i++) {
        struct running *r = &p->run[i];
        size_t k;

        if (r->id == 0 || r->seq > seq || atomic_load(&r->fenced))
            continue;
        for (k = 0; k < n; k++)
            if (held[k].id == r->id && held[k].attempt == r->attempt)
                break;
        if (k == n) {
            LOG_INFO("job %lld: attempt %lld no longer holds it (canceled, deleted or taken "
                     "back); stopping", (long long)r->id, (long long)r->attempt);
            run_fence(r);
        }
    }
    pthread_mutex_unlock(&p->mu);
}

/* While jobs run: read the jobs this daemon holds and fence the others. */
static void keeper_watch(struct pool *p)
{
    struct db_lease *held = NULL;
    size_t n = 0;
    struct err err = {0};
    struct db_conn *c;
    uint64_t seq;
    int rc;

    if (atomic_load(&p->n_running) == 0)
        return;
    pthread_mutex_lock(&p->mu);
    seq = p->reg_seq;
    pthread_mutex_unlock(&p->mu);
    c = db_acquire(p->app->db);
    rc = db_daemon_jobs(c, &held, &n, &err);
    db_release(p->app->db, c);
    if (rc == 0)
        fence_lost(p, held, n, seq);
    else
        LOG_WARN("pool: cannot read the jobs this daemon holds: %s", err.msg);
    free(held);
}

/* Every third of the lease: renew this daemon's lease and its jobs', take
 * back the jobs of daemons whose lease expired, and remove the staged
 * uploads of gone daemons. */
static void keeper_renew(struct pool *p)
{
    struct job_write hb = {.op = JOB_HEARTBEAT};
    struct job_write rescue = {.op = JOB_RESCUE, .max_attempts = p->max_attempts};
    struct err err = {0};
    struct db_conn *c;
    int n;

    if (job_move(p, &hb, &err) < 0)
        LOG_WARN("pool: cannot renew this daemon's lease: %s", err.msg);
    n = job_move(p, &rescue, &err);
    if (n < 0) {
        LOG_WARN("pool: cannot take back expired jobs: %s", err.msg);
    } else if (n > 0) {
        LOG_INFO("pool: %d job(s) of gone daemons taken back", n);
        notify_all_changed(p->app->notify);
        pthread_mutex_lock(&p->mu);
        p->wakeups += n;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    c = db_acquire(p->app->db);
    n = db_upload_cleanup(c, &err);
    db_release(p->app->db, c);
    if (n < 0)
        LOG_WARN("pool: cannot remove the uploads of gone daemons: %s", err.msg);
    else if (n > 0)
        LOG_INFO("pool: removed the rows of %d upload(s) of gone daemons", n);
}

/*
 * The lease keeper thread: every POOL_WATCH_MS while jobs run, it checks that
 * this daemon still holds them (a cancel or delete through another daemon,
 * or a job taken back, stops its worker within a second); every third of
 * the lease it renews the leases and rescues (keeper_renew).
 */
static void *keeper_main(void *arg)
{
    struct pool *p = arg;
    double last = util_monotonic();

    prctl(PR_SET_NAME, "modeld-lease", 0, 0, 0);
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct timespec ts;

        util_deadline_ms(&ts, POOL_WATCH_MS);
        pthread_cond_timedwait(&p->kcv, &p->mu, &ts);
        if (p->stop)
            break;
        pthread_mutex_unlock(&p->mu);
        keeper_watch(p);
        if (util_monotonic() - last >= (double)p->lease_ms / 3000.0) {
            last = util_monotonic();
            keeper_renew(p);
        }
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/*
 * Join the queue as a daemon: a random id, the start-up rescue (every
 * TRAINING row when this process is alone on the database, else those
 * whose lease expired) and the first heartbeat. Returns 0, or -1 with err.
 */
static int pool_join(struct pool *p, struct err *err)
{
    struct app *app = p->app;
    char id[DB_DAEMON_ID_LEN + 1];
    struct job_write rescue = {.op = JOB_RESCUE, .all = app->db_exclusive,
                               .max_attempts = p->max_attempts};
    struct job_write hb = {.op = JOB_HEARTBEAT};
    int n;

    util_random_hex(id, DB_DAEMON_ID_LEN / 2);
    db_daemon_set(app->db, id, p->lease_ms);
    n = job_move(p, &rescue, err);
    if (n < 0 || job_move(p, &hb, err) < 0)
        return -1;
    if (n > 0) {
        LOG_INFO("pool: %d interrupted or pending job(s) queued again", n);
        notify_all_changed(app->notify); /* many rows at once */
    }
    LOG_INFO("pool: daemon %s, lease %llds, at most %d attempts per job", id,
             (long long)(p->lease_ms / 1000), p->max_attempts);
    return 0;
}

struct pool *pool_start(struct app *app, int workers, struct err *err)
{
    struct pool *p = calloc(1, sizeof(*p));

    assert(app && app->db && app->cfg);
    if (!p) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    p->app = app;
    p->lease_ms = 1000LL * (app->cfg->lease_s > 0 ? app->cfg->lease_s : POOL_LEASE_S);
    p->max_attempts = app->cfg->max_attempts > 0 ? app->cfg->max_attempts : POOL_MAX_ATTEMPTS;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->kcv, NULL);
    if (pool_join(p, err) != 0) {
        pool_stop(p);
        return NULL;
    }
    if (pthread_create(&p->keeper, NULL, keeper_main, p) != 0) {
        err_set(err, ERR_INTERNAL, "cannot start the lease keeper thread");
        pool_stop(p);
        return NULL;
    }
    p->keeper_started = 1;
    if (workers < 1) /* an API-only daemon: jobs are queued, none is trained */
        return p;
    p->threads = calloc((size_t)workers, sizeof(*p->threads));
    if (!p->threads) {
        err_set(err, ERR_NOMEM, "out of memory");
        pool_stop(p);
        return NULL;
    }
    for (int i = 0; i < workers; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) {
            err_set(err, ERR_INTERNAL, "cannot start worker thread");
            pool_stop(p);
            return NULL;
        }
        p->n_threads++;
    }
    return p;
}

void pool_stop(struct pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    for (int i = 0; i < POOL_MAX_RUNNING; i++)
        if (p->run[i].id)
            atomic_store(&p->run[i].cancel, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_cond_broadcast(&p->kcv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    /* every worker has left its loop, and with it its job */
    assert(atomic_load(&p->n_running) == 0 && atomic_load(&p->n_alive) == 0);
    if (p->keeper_started)
        pthread_join(p->keeper, NULL);
    if (db_daemon_id(p->app->db)[0]) {
        /* the jobs went back to the queue: this daemon holds nothing now */
        struct job_write leave = {.op = JOB_LEAVE};
        struct err err = {0};

        if (job_move(p, &leave, &err) < 0)
            LOG_WARN("pool: cannot remove this daemon's lease: %s", err.msg);
    }
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->kcv);
    free(p);
}

void pool_wake(struct pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->wakeups++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}
