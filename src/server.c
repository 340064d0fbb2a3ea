/* SPDX-License-Identifier: MIT */
/*
 * server: start/stop of db + pool + http in dependency order (see server.h).
 *
 * One daemon per SQLite database: the server holds an flock(2) on the
 * database file itself while it runs (whatever path reached it); the kernel
 * drops it when the process dies, so a kill -9 leaves nothing to clean up.
 * Holding it, the daemon knows it is alone (app.db_exclusive): the start-up
 * rescue in pool_start() takes back every TRAINING row at once instead of
 * waiting for the dead process's lease to expire. (Daemons sharing a
 * PostgreSQL database rely on the leases alone.)
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "authcache.h"
#include "db.h"
#include "http.h"
#include "idem.h"
#include "log.h"
#include "notify.h"
#include "pcache.h"
#include "pool.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* The authentication cache's room: callers (tokens) and project roles
 * (about 120 and 40 bytes each beside the user names). */
#define SERVER_AUTHCACHE_TOKENS 1024
#define SERVER_AUTHCACHE_ROLES 4096

/* How often the auth watch looks for a right taken away while event streams
 * are open (the cache itself reads the change counter at most every
 * AUTHCACHE_SYNC_MS). */
#define SERVER_AUTH_WATCH_MS 400

struct server {
    struct app app;
    struct http_server *http;
    int lock_fd; /* -1 = none */
    /* the auth watch (a thread): see auth_watch */
    pthread_t watch;
    int watch_started;
    pthread_mutex_t watch_mu;
    pthread_cond_t watch_cv;
    int watch_stop; /* guarded by watch_mu */
};

/*
 * The auth watch: while event streams are open, and only then, it lets the
 * authentication cache read the database's change counter every
 * SERVER_AUTH_WATCH_MS, and when the cache was emptied (a token revoked, a
 * user disabled, a role changed, by this daemon or the CLI) it wakes every
 * stream, which checks its caller again and ends with a `revoked` event when
 * the right is gone (handler_events.c). Requests already check on their own;
 * an open stream sends none. With no stream open it reads nothing.
 */
static void *auth_watch(void *arg)
{
    struct server *s = arg;
    uint64_t seen = authcache_gen(s->app.authcache);

    pthread_mutex_lock(&s->watch_mu);
    while (!s->watch_stop) {
        struct timespec ts;

        util_deadline_ms(&ts, SERVER_AUTH_WATCH_MS);
        pthread_cond_timedwait(&s->watch_cv, &s->watch_mu, &ts);
        if (s->watch_stop || notify_count(s->app.notify) == 0)
            continue;
        pthread_mutex_unlock(&s->watch_mu);
        {
            struct db_conn *c = db_acquire(s->app.db);
            uint64_t gen;

            authcache_sync(s->app.authcache, c);
            db_release(s->app.db, c);
            gen = authcache_gen(s->app.authcache);
            if (gen != seen) {
                seen = gen;
                notify_wake_all(s->app.notify);
            }
        }
        pthread_mutex_lock(&s->watch_mu);
    }
    pthread_mutex_unlock(&s->watch_mu);
    return NULL;
}

/* The feed of changes made by other processes (db_watch: other daemons on
 * one PostgreSQL database, the CLI) into the change hub and the auth cache,
 * as this process's own changes feed them. Called on the backend's thread. */
static void watched_model(void *arg, int64_t project_id, int64_t model_id,
                          enum db_model_change kind)
{
    struct server *s = arg;

    notify_model_changed(s->app.notify, project_id, model_id,
                         kind == DB_MODEL_CREATED   ? NOTIFY_CREATED
                         : kind == DB_MODEL_DELETED ? NOTIFY_DELETED
                                                    : NOTIFY_CHANGED);
}

/* A right may be gone: forget what the cache knows, and let every stream
 * check its caller again. */
static void watched_auth(void *arg)
{
    struct server *s = arg;

    authcache_flush(s->app.authcache);
    notify_wake_all(s->app.notify);
}

/* Changes were lost: streams read everything again. */
static void watched_resync(void *arg)
{
    struct server *s = arg;

    authcache_flush(s->app.authcache);
    notify_all_changed(s->app.notify);
}

/*
 * Take the database's daemon lock: flock(2) on a descriptor of the database
 * file itself, held for the server's life. The lock belongs to the file
 * (its inode), so a symlink, a hard link or another spelling of the path
 * reaches the same lock; flock locks are separate from the fcntl(2) record
 * locks SQLite uses, so they do not disturb it. The descriptor must stay open
 * until every SQLite connection is closed (closing any descriptor of a file
 * drops the process's record locks on it; server_stop() closes it last).
 * Returns the descriptor, or -1 with ERR_CONFLICT (another daemon serves the
 * database) or ERR_IO.
 */
static int lock_database(const char *db_path, struct err *err)
{
    int fd = open(db_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0) {
        err_set(err, ERR_IO, "cannot open %s: %s", db_path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;

        close(fd);
        if (e == EWOULDBLOCK)
            err_set(err, ERR_CONFLICT, "another modeld is already serving %s", db_path);
        else
            err_set(err, ERR_IO, "cannot lock %s: %s", db_path, strerror(e));
        return -1;
    }
    return fd;
}

struct server *server_start(const struct app_config *cfg, struct err *err)
{
    struct server *s = calloc(1, sizeof(*s));
    int http_threads = cfg->http_threads > 0 ? cfg->http_threads : 32;

    if (!s) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->app.cfg = cfg;
    s->lock_fd = -1;
    pthread_mutex_init(&s->watch_mu, NULL);
    pthread_cond_init(&s->watch_cv, NULL);
    /* Allocations of 1 MiB and more (a training's matrices) are mapped on
     * their own and unmapped when freed; a fixed threshold also stops glibc
     * from raising it after such a free, which would move the next
     * training's matrices into the heap, where freed memory stays mapped.
     * With malloc_trim() after each job (pool_) the daemon returns close to
     * its idle size once trainings end. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    if (strcmp(cfg->db_path, ":memory:") != 0 && !db_is_postgres(cfg->db_path)) {
        s->lock_fd = lock_database(cfg->db_path, err);
        if (s->lock_fd < 0)
            goto fail;
    }
    /* SQLite: the lock above, or ":memory:"; daemons sharing PostgreSQL
     * trust only leases */
    s->app.db_exclusive = !db_is_postgres(cfg->db_path);
    /* one connection per HTTP thread and per worker, one for the auth watch,
     * one for the lease keeper, plus one spare */
    s->app.db = db_open(cfg->db_path, http_threads + cfg->workers + 3, err);
    if (!s->app.db)
        goto fail;
    s->app.idem = idem_registry_new();
    s->app.pcache = pcache_new();
    s->app.notify = notify_hub_new();
    s->app.authcache = authcache_new(SERVER_AUTHCACHE_TOKENS, SERVER_AUTHCACHE_ROLES);
    if (!s->app.idem || !s->app.pcache || !s->app.notify || !s->app.authcache) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto fail;
    }
    {
        struct db_watch w = {watched_model, watched_auth, watched_resync, s};

        if (db_watch(s->app.db, &w, err) < 0)
            goto fail;
    }
    s->app.pool = pool_start(&s->app, cfg->workers, err);
    if (!s->app.pool)
        goto fail;
    {
        /* uploads a crash or a stop cut short left invisible rows behind
         * (those of daemons whose lease expired; the pool's start-up rescue
         * removed the rows of dead daemons) */
        struct db_conn *c = db_acquire(s->app.db);
        int n = db_upload_cleanup(c, err);

        db_release(s->app.db, c);
        if (n < 0)
            goto fail;
        if (n > 0)
            LOG_INFO("removed the rows of %d unfinished upload(s)", n);
    }
    s->http = http_start(&s->app, cfg->bind, cfg->port, http_threads, err);
    if (!s->http)
        goto fail;
    if (pthread_create(&s->watch, NULL, auth_watch, s) != 0) {
        err_set(err, ERR_INTERNAL, "cannot start the auth watch thread");
        goto fail;
    }
    s->watch_started = 1;
    return s;
fail:
    server_stop(s);
    return NULL;
}

uint16_t server_port(const struct server *s)
{
    return http_port(s->http);
}

struct db *server_db(const struct server *s)
{
    return s->app.db;
}

void server_stop(struct server *s)
{
    if (!s)
        return;
    if (s->watch_started) {
        pthread_mutex_lock(&s->watch_mu);
        s->watch_stop = 1;
        pthread_cond_signal(&s->watch_cv);
        pthread_mutex_unlock(&s->watch_mu);
        pthread_join(s->watch, NULL);
    }
    http_stop(s->http);
    pool_stop(s->app.pool);
    db_close(s->app.db);
    idem_registry_free(s->app.idem);
    pcache_free(s->app.pcache); /* after http and pool: nobody holds a predictor */
    notify_hub_free(s->app.notify); /* after http and pool: no stream, no notifier */
    authcache_free(s->app.authcache); /* after http: no request */
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    pthread_cond_destroy(&s->watch_cv);
    pthread_mutex_destroy(&s->watch_mu);
    free(s);
}
