/* SPDX-License-Identifier: MIT */
/*
 * pg/listen.c: the daemon's one listening connection (db_watch). A thread
 * LISTENs on modeld_model and modeld_auth and hands each notification to
 * the callbacks of struct db_watch: a model change ("project_id model_id",
 * followed by " created" or " deleted" when the writer said so) to w.model, an authentication change (sent by the auth_epoch triggers of
 * migrations/pg/0006) to w.auth. Notifications sent by this daemon's own
 * pool connections are dropped: the daemon announces its own changes
 * in-process, with their exact kind.
 *
 * PostgreSQL delivers a notification to the sessions listening when the
 * transaction that sent it commits. A session that is not connected misses
 * them, so when the connection is lost the thread makes it again (waiting
 * 100 ms, doubling up to 5 s between attempts) and then calls w.resync:
 * whatever changed meanwhile must be read again.
 *
 * The thread sleeps in poll(2) on the connection's socket and on a pipe
 * that pg_listen_stop writes to, so it costs nothing while nothing changes
 * and stops at once.
 */
#include "internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct pg_listen {
    struct pg_db *db;
    struct db_watch w;
    PGconn *h;       /* the listening connection (NULL while lost) */
    int stop_fd[2];  /* a byte written to [1] stops the thread */
    pthread_t thread;
};

/* A connection that listens on both channels, or NULL with err. */
static PGconn *listen_open(struct pg_db *db, struct err *err)
{
    PGconn *h = pg_connect(db->conninfo, err);
    PGresult *r;

    if (!h)
        return NULL;
    /* constant statements: LISTEN takes no parameters */
    r = PQexec(h, "LISTEN " PG_CHANNEL_MODEL "; LISTEN " PG_CHANNEL_AUTH);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        err_set(err, ERR_IO, "cannot LISTEN on PostgreSQL: %s",
                r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : "out of memory");
        PQclear(r);
        PQfinish(h);
        return NULL;
    }
    PQclear(r);
    return h;
}

/* Hand one notification to the callbacks. */
static void deliver(struct pg_listen *l, const PGnotify *n)
{
    if (strcmp(n->relname, PG_CHANNEL_AUTH) == 0) {
        l->w.auth(l->w.arg);
    } else if (strcmp(n->relname, PG_CHANNEL_MODEL) == 0) {
        enum db_model_change kind = DB_MODEL_CHANGED;
        int64_t project_id, model_id;
        char *end;

        if (pg_own_pid(l->db, n->be_pid))
            return;
        errno = 0;
        project_id = strtoll(n->extra, &end, 10);
        model_id = end != n->extra ? strtoll(end, &end, 10) : 0;
        if (strcmp(end, " created") == 0)
            kind = DB_MODEL_CREATED;
        else if (strcmp(end, " deleted") == 0)
            kind = DB_MODEL_DELETED;
        else if (*end != '\0')
            model_id = 0; /* not a payload of ours */
        if (errno != 0 || project_id < 0 || model_id <= 0) {
            /* not one of ours: whatever it meant, read everything again */
            LOG_WARN("unexpected payload on %s; streams resynchronize", PG_CHANNEL_MODEL);
            l->w.resync(l->w.arg);
            return;
        }
        if (project_id > 0) /* 0: a model of the base catalog, which no stream shows */
            l->w.model(l->w.arg, project_id, model_id, kind);
    }
}

/* Wait up to ms for the stop pipe; 1 when asked to stop. */
static int stop_wait(struct pg_listen *l, int ms)
{
    struct pollfd p = {.fd = l->stop_fd[0], .events = POLLIN};

    return poll(&p, 1, ms) > 0;
}

/* Deliver what arrives on l->h until the connection fails (0) or the stop
 * pipe is written (1). */
static int listen_loop(struct pg_listen *l)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = PQsocket(l->h), .events = POLLIN},
                              {.fd = l->stop_fd[0], .events = POLLIN}};
        PGnotify *n;

        if (p[0].fd < 0)
            return 0;
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 0;
        }
        if (p[1].revents)
            return 1;
        if (PQconsumeInput(l->h) == 0)
            return 0;
        while ((n = PQnotifies(l->h))) {
            deliver(l, n);
            PQfreemem(n);
        }
        if (PQstatus(l->h) != CONNECTION_OK)
            return 0;
    }
}

static void *listen_main(void *arg)
{
    struct pg_listen *l = arg;
    int backoff = BACKOFF_MIN_MS;

    for (;;) {
        struct err err = {0};

        if (l->h) {
            if (listen_loop(l) == 1)
                break;
            LOG_WARN("the PostgreSQL listening connection was lost; making it again");
            PQfinish(l->h);
            l->h = NULL;
        }
        if (stop_wait(l, backoff))
            break;
        l->h = listen_open(l->db, &err);
        if (!l->h) {
            LOG_WARN("%s", err.msg);
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        backoff = BACKOFF_MIN_MS;
        /* what was sent while nobody listened is lost */
        l->w.resync(l->w.arg);
    }
    return NULL;
}

int pg_watch(struct db *base, const struct db_watch *w, struct err *err)
{
    struct pg_db *db = pg_db_of(base);
    struct pg_listen *l;

    assert(!db->listen && "db_watch once per db");
    l = calloc(1, sizeof(*l));
    if (!l) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    l->db = db;
    l->w = *w;
    l->stop_fd[0] = l->stop_fd[1] = -1;
    if (pipe(l->stop_fd) != 0) {
        err_set(err, ERR_IO, "pipe: %s", strerror(errno));
        goto fail;
    }
    fcntl(l->stop_fd[0], F_SETFD, FD_CLOEXEC);
    fcntl(l->stop_fd[1], F_SETFD, FD_CLOEXEC);
    /* listening before this returns: a change committed after it is seen */
    l->h = listen_open(db, err);
    if (!l->h)
        goto fail;
    if (pthread_create(&l->thread, NULL, listen_main, l) != 0) {
        err_set(err, ERR_INTERNAL, "cannot start the PostgreSQL listener thread");
        goto fail;
    }
    db->listen = l;
    return 1;
fail:
    if (l->h)
        PQfinish(l->h);
    if (l->stop_fd[0] >= 0) {
        close(l->stop_fd[0]);
        close(l->stop_fd[1]);
    }
    free(l);
    return -1;
}

void pg_listen_stop(struct pg_listen *l)
{
    ssize_t n;

    if (!l)
        return;
    do
        n = write(l->stop_fd[1], "", 1);
    while (n < 0 && errno == EINTR);
    pthread_join(l->thread, NULL);
    if (l->h)
        PQfinish(l->h);
    close(l->stop_fd[0]);
    close(l->stop_fd[1]);
    free(l);
}
