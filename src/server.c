/* SPDX-License-Identifier: MIT */
/*
 * server: start/stop of db + pool + http in dependency order (see server.h).
 *
 * One daemon per database: the start-up requeue in pool_start() assumes that
 * no other process trains from the same queue (otherwise the other daemon's
 * running jobs would be queued again and trained twice at once). The server
 * holds an flock(2) on the database file itself while it runs (whatever path
 * reached it); the kernel drops it when the process dies, so a kill -9 leaves
 * nothing to clean up.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "db.h"
#include "http.h"
#include "idem.h"
#include "log.h"
#include "notify.h"
#include "pcache.h"
#include "pool.h"
#include "banned.h" /* last: bans unsafe libc calls */

struct server {
    struct app app;
    struct http_server *http;
    int lock_fd; /* -1 = none */
};

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
    /* Allocations of 1 MiB and more (a training's matrices) are mapped on
     * their own and unmapped when freed; a fixed threshold also stops glibc
     * from raising it after such a free, which would move the next
     * training's matrices into the heap, where freed memory stays mapped.
     * With malloc_trim() after each job (pool_) the daemon returns close to
     * its idle size once trainings end. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    if (strcmp(cfg->db_path, ":memory:") != 0) {
        s->lock_fd = lock_database(cfg->db_path, err);
        if (s->lock_fd < 0)
            goto fail;
    }
    /* one connection per HTTP thread and per worker, plus one spare */
    s->app.db = db_open(cfg->db_path, http_threads + cfg->workers + 1, err);
    if (!s->app.db)
        goto fail;
    {
        /* uploads a crash or a stop cut short left invisible rows behind */
        struct db_conn *c = db_acquire(s->app.db);
        int n = db_upload_cleanup(c, err);

        db_release(s->app.db, c);
        if (n < 0)
            goto fail;
        if (n > 0)
            LOG_INFO("removed the rows of %d unfinished upload(s)", n);
    }
    s->app.idem = idem_registry_new();
    s->app.pcache = pcache_new();
    s->app.notify = notify_hub_new();
    if (!s->app.idem || !s->app.pcache || !s->app.notify) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto fail;
    }
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

struct db *server_db(const struct server *s)
{
    return s->app.db;
}

void server_stop(struct server *s)
{
    if (!s)
        return;
    http_stop(s->http);
    pool_stop(s->app.pool);
    db_close(s->app.db);
    idem_registry_free(s->app.idem);
    pcache_free(s->app.pcache); /* after http and pool: nobody holds a predictor */
    notify_hub_free(s->app.notify); /* after http and pool: no stream, no notifier */
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s);
}
