/* SPDX-License-Identifier: MIT */
/*
 * sse_clients: the idle event-stream part of the HTTP benchmark
 * (bench/http_bench.sh). It opens many `GET /projects/P/models/ID/events`
 * streams at once from one epoll loop, spread over the models given and over
 * the source addresses 127.0.0.2, 127.0.0.3, ... (modeld limits connections
 * per address, --max-connections-per-ip, 256 by default), and then:
 *
 *   1. waits until every stream answered 200 and lets the first events (the
 *      model's current state) drain for a second;
 *   2. reads the daemon's CPU time (utime + stime of /proc/PID/stat, and of
 *      each thread in /proc/PID/task) over --idle seconds while the streams
 *      stay open on models that do not change, and its VmRSS; with
 *      --worker-threads N it also gives the CPU without the N threads
 *      created first after the main thread (modeld's server_start() starts
 *      the training pool before the HTTP server), for a daemon that trains;
 *   3. with --hold S, prints `holding=1` and keeps the streams open S more
 *      seconds (the script loads the daemon meanwhile), still expecting no
 *      event;
 *   4. cancels the first --changes models of --models one after another
 *      (POST .../cancel: QUEUED -> FAILED, a change every implementation of
 *      the stream reports), each on a connection of the same loop, and times
 *      how long until the event reached each stream watching that model,
 *      counting from just before the request was sent; a pause of 137 ms
 *      between changes spreads them over the phases of a polling stream.
 *
 * Results go to stdout as `key=value` lines for the script; anything that
 * keeps a phase from running (a refused or failed stream, a stream that ends,
 * an event that never arrives) is an error on stderr and exit status 1, so no
 * number is printed for a phase that did not run. The event stream framing is
 * HTTP/1.1 chunked transfer coding carrying text/event-stream; both are
 * decoded, so events split across reads or chunks are counted once.
 *
 * Usage: sse_clients --port N --token T --project P --models ID[,ID...]
 *                    --pid PID [--changes 1] [--streams 1000] [--sources 8]
 *                    [--idle 10] [--timeout 30] [--worker-threads 0] [--hold 0]
 */
#include <arpa/inet.h>
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

#define SSE_MAX_MODELS 64
#define SSE_MAX_THREADS 256
#define SSE_LINE_KEEP 32 /* bytes of an event-stream line kept: enough for "event: NAME" */

enum sse_phase { PH_CONNECT, PH_SEND, PH_HEAD, PH_BODY, PH_DONE };
enum chunk_state { CK_SIZE, CK_DATA, CK_DATA_END, CK_END };

/* One client connection: an event stream, or the request that changes a model. */
struct sse_conn {
    int fd;
    int is_change; /* the POST .../cancel, not a stream */
    int64_t model;
    enum sse_phase phase;
    char req[512];
    size_t req_len, req_off;
    char head[4096];
    size_t head_len;
    int status;
    int chunked;
    enum chunk_state ck;
    uint64_t ck_left;
    int ck_ext; /* a chunk extension follows the size on this size line */
    char line[SSE_LINE_KEEP];
    size_t line_len;
    int line_comment, has_event;
    long events, keepalives;
    long events_before_change;
    int64_t t_change; /* monotonic ns of the first event after the change, 0 before */
    int ended;        /* the server ended the stream */
};

struct sse_opts {
    int port, streams, sources, idle, timeout, changes, workers, hold;
    const char *token;
    int64_t project;
    int64_t models[SSE_MAX_MODELS];
    int nmodels;
    long pid;
};

/* State shared by the loop: set once the change request is about to be sent. */
static int64_t change_t0;

/* Monotonic clock in nanoseconds. */
static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Parse a decimal in [lo, hi] into *out; 0 on success, -1 otherwise. */
static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Parse the command line into *o; 0 on success, -1 with a message on stderr. */
static int parse_args(int argc, char **argv, struct sse_opts *o)
{
    int64_t v;

    o->streams = 1000;
    o->sources = 8;
    o->idle = 10;
    o->timeout = 30;
    o->changes = 1;
    for (int i = 1; i < argc; i += 2) {
        const char *k = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (!val) {
            fprintf(stderr, "sse_clients: %s needs a value\n", k);
            return -1;
        }
        if (strcmp(k, "--token") == 0) {
            o->token = val;
        } else if (strcmp(k, "--models") == 0) {
            char *copy = strdup(val), *save = NULL, *tok;

            if (!copy)
                return -1;
            for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (o->nmodels == SSE_MAX_MODELS || parse_i64(tok, 1, INT64_MAX, &v) != 0) {
                    fprintf(stderr, "sse_clients: bad --models '%s'\n", val);
                    free(copy);
                    return -1;
                }
                o->models[o->nmodels++] = v;
            }
            free(copy);
        } else {
            static const struct {
                const char *name;
                int64_t lo, hi;
            } num[] = {{"--port", 1, 65535},       {"--streams", 1, 100000}, {"--sources", 1, 250},
                       {"--idle", 1, 3600},        {"--timeout", 1, 3600},   {"--project", 1, INT64_MAX},
                       {"--changes", 1, SSE_MAX_MODELS}, {"--pid", 1, INT32_MAX},
                       {"--worker-threads", 0, 64}, {"--hold", 0, 3600}};
            size_t j = 0;

            while (j < sizeof(num) / sizeof(num[0]) && strcmp(num[j].name, k) != 0)
                j++;
            if (j == sizeof(num) / sizeof(num[0]) || parse_i64(val, num[j].lo, num[j].hi, &v) != 0) {
                fprintf(stderr, "sse_clients: bad option %s %s\n", k, val);
                return -1;
            }
            switch (j) {
            case 0: o->port = (int)v; break;
            case 1: o->streams = (int)v; break;
            case 2: o->sources = (int)v; break;
            case 3: o->idle = (int)v; break;
            case 4: o->timeout = (int)v; break;
            case 5: o->project = v; break;
            case 6: o->changes = (int)v; break;
            case 7: o->pid = (long)v; break;
            case 8: o->workers = (int)v; break;
            default: o->hold = (int)v; break;
            }
        }
    }
    if (!o->port || !o->token || !o->project || !o->nmodels || !o->pid) {
        fprintf(stderr, "usage: sse_clients --port N --token T --project P --models ID[,ID...] "
                        "--pid PID [--changes N] [--streams N] [--sources N] [--idle S] "
                        "[--timeout S] [--worker-threads N] [--hold S]\n");
        return -1;
    }
    if (o->changes >= o->nmodels) {
        fprintf(stderr, "sse_clients: --changes must leave at least one model unchanged\n");
        return -1;
    }
    return 0;
}

/* Start a non-blocking connect from 127.0.0.<src> to 127.0.0.1:port; the fd or -1. */
static int open_conn(int src, int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
        goto fail;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)src);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        goto fail;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)
        goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

/* One complete event-stream line (without its newline) of connection c. */
static void on_line(struct sse_conn *c)
{
    if (c->line_len == 0) { /* a blank line dispatches the event */
        if (c->has_event) {
            c->events++;
            if (change_t0 && !c->t_change)
                c->t_change = now_ns();
        } else if (c->line_comment) {
            c->keepalives++;
        }
        c->has_event = 0;
        c->line_comment = 0;
        return;
    }
    if (c->line[0] == ':')
        c->line_comment = 1;
    else if (c->line_len >= 6 && memcmp(c->line, "event:", 6) == 0)
        c->has_event = 1;
}

/* Feed decoded event-stream bytes. */
static void on_stream(struct sse_conn *c, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            on_line(c);
            c->line_len = 0;
        } else if (p[i] != '\r') {
            if (c->line_len < SSE_LINE_KEEP)
                c->line[c->line_len] = p[i];
            c->line_len += c->line_len < SSE_LINE_KEEP; /* a long data line stays non-blank */
        }
    }
}

/* Feed body bytes (chunked or not); 0, or -1 on a framing error. */
static int on_body(struct sse_conn *c, const char *p, size_t n)
{
    size_t i = 0;

    if (!c->chunked) {
        on_stream(c, p, n);
        return 0;
    }
    while (i < n) {
        switch (c->ck) {
        case CK_SIZE:
            for (; i < n && p[i] != '\n'; i++) {
                int d = p[i] >= '0' && p[i] <= '9'   ? p[i] - '0'
                        : p[i] >= 'a' && p[i] <= 'f' ? p[i] - 'a' + 10
                        : p[i] >= 'A' && p[i] <= 'F' ? p[i] - 'A' + 10
                                                     : -1;
                if (d >= 0 && !c->ck_ext)
                    c->ck_left = c->ck_left * 16 + (uint64_t)d;
                else if (p[i] != '\r')
                    c->ck_ext = 1;
            }
            if (i < n) {
                i++;
                c->ck_ext = 0;
                c->ck = c->ck_left ? CK_DATA : CK_END;
                if (c->ck == CK_END)
                    c->ended = 1;
            }
            break;
        case CK_DATA: {
            size_t take = n - i < c->ck_left ? n - i : (size_t)c->ck_left;

            on_stream(c, p + i, take);
            i += take;
            c->ck_left -= take;
            if (!c->ck_left)
                c->ck = CK_DATA_END;
            break;
        }
        case CK_DATA_END:
            if (p[i] == '\n')
                c->ck = CK_SIZE;
            else if (p[i] != '\r')
                return -1;
            i++;
            break;
        case CK_END:
            return 0;
        }
    }
    return 0;
}

/* The head is complete: read the status and the transfer coding, feed what followed it. */
static int on_head(struct sse_conn *c, size_t head_end)
{
    const char *p = c->head;

    if (sscanf(p, "HTTP/1.%*d %d", &c->status) != 1)
        return -1;
    for (const char *l = strstr(p, "\r\n"); l && l < p + head_end; l = strstr(l + 2, "\r\n")) {
        if (strncasecmp(l + 2, "transfer-encoding:", 18) == 0 && strstr(l + 2, "chunked") &&
            strstr(l + 2, "chunked") < strstr(l + 2, "\r\n"))
            c->chunked = 1;
    }
    c->phase = PH_BODY;
    if (c->is_change)
        return 0;
    return on_body(c, p + head_end, c->head_len - head_end);
}

/* Handle readiness of connection c; 0, or -1 when it failed (message printed). */
static int on_ready(struct sse_conn *c, uint32_t ev)
{
    char buf[16384];
    ssize_t n;

    if (c->phase == PH_CONNECT && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int e = 0;
        socklen_t len = sizeof(e);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0 || e != 0) {
            fprintf(stderr, "sse_clients: connect failed: %s\n", strerror(e ? e : errno));
            return -1;
        }
        c->phase = PH_SEND;
    }
    while (c->phase == PH_SEND && c->req_off < c->req_len) {
        n = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN ? 0 : (perror("sse_clients: send"), -1);
        c->req_off += (size_t)n;
        if (c->req_off == c->req_len)
            c->phase = PH_HEAD;
    }
    while (c->phase == PH_HEAD || c->phase == PH_BODY) {
        n = recv(c->fd, buf, sizeof(buf), 0);
        if (n < 0)
            return errno == EAGAIN ? 0 : (perror("sse_clients: recv"), -1);
        if (n == 0) {
            c->ended = 1;
            c->phase = PH_DONE;
            return 0;
        }
        if (c->phase == PH_HEAD) {
            char *end;
            size_t room = sizeof(c->head) - 1 - c->head_len;

            if ((size_t)n > room) {
                fprintf(stderr, "sse_clients: response head too large\n");
                return -1;
            }
            memcpy(c->head + c->head_len, buf, (size_t)n);
            c->head_len += (size_t)n;
            c->head[c->head_len] = '\0';
            if ((end = strstr(c->head, "\r\n\r\n")) && on_head(c, (size_t)(end + 4 - c->head)) != 0) {
                fprintf(stderr, "sse_clients: bad response head\n");
                return -1;
            }
        } else if (!c->is_change && on_body(c, buf, (size_t)n) != 0) {
            fprintf(stderr, "sse_clients: bad chunked framing\n");
            return -1;
        }
        if (c->is_change && c->phase == PH_BODY)
            c->phase = PH_DONE; /* the status is what counts */
    }
    return 0;
}

/* utime + stime in clock ticks of /proc/<path>/stat, or -1. */
static long long stat_ticks(const char *path)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    size_t n;
    const char *p;
    unsigned long long ut, st;

    if (!f)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

/* CPU ticks of the process and of each thread (tid, ticks), up to SSE_MAX_THREADS; -1 on error. */
static long long cpu_ticks(long pid, long *tids, long long *ticks, int *nt)
{
    char path[128];
    DIR *d;
    struct dirent *e;
    long long total;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if ((total = stat_ticks(path)) < 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/%ld/task", pid);
    *nt = 0;
    if (!(d = opendir(path)))
        return -1;
    while ((e = readdir(d)) && *nt < SSE_MAX_THREADS) {
        long tid = strtol(e->d_name, NULL, 10);

        if (tid <= 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/task/%ld/stat", pid, tid);
        tids[*nt] = tid;
        ticks[*nt] = stat_ticks(path);
        (*nt)++;
    }
    closedir(d);
    return total;
}

/* A "Key:   N kB" value of /proc/PID/status in KiB, or -1. */
static long status_kib(long pid, const char *key)
{
    char path[64], line[256];
    FILE *f;
    long v = -1;
    size_t klen = strlen(key);

    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':')
            v = strtol(line + klen + 1, NULL, 10);
    fclose(f);
    return v;
}

/* Run the epoll loop until the deadline or until done(arg) holds; -1 on a failed connection. */
static int pump(int ep, int64_t deadline, int (*done)(void *), void *arg)
{
    struct epoll_event evs[256];

    while (!(done && done(arg))) {
        int64_t left = deadline - now_ns();
        int n;

        if (left <= 0)
            return 0;
        n = epoll_wait(ep, evs, 256, (int)(left / 1000000 + 1));
        if (n < 0 && errno != EINTR) {
            perror("sse_clients: epoll_wait");
            return -1;
        }
        for (int i = 0; i < n; i++) {
            struct sse_conn *c = evs[i].data.ptr;

            if (on_ready(c, evs[i].events) != 0)
                return -1;
            if (c->phase == PH_HEAD || c->phase == PH_BODY) {
                struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
            } else if (c->phase == PH_DONE) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            }
        }
    }
    return 0;
}

struct sse_all {
    struct sse_conn *conns;
    int n;
    struct sse_conn *change; /* the change request in flight */
};

/* done(): every stream has its response head. */
static int all_heads(void *arg)
{
    struct sse_all *a = arg;

    for (int i = 0; i < a->n; i++)
        if (a->conns[i].phase < PH_BODY && a->conns[i].status == 0)
            return 0;
    return 1;
}

/* done(): the change answered and every stream of the changed model saw an event. */
static int change_seen(void *arg)
{
    struct sse_all *a = arg;

    if (a->change->status == 0)
        return 0;
    if (a->change->status != 200)
        return 1; /* refused: nothing will arrive */
    for (int i = 0; i < a->n; i++)
        if (a->conns[i].model == a->change->model && !a->conns[i].t_change)
            return 0;
    return 1;
}

/* qsort comparator of int64_t. */
static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

    return (a > b) - (a < b);
}

/* qsort comparator of long. */
static int cmp_long(const void *x, const void *y)
{
    long a = *(const long *)x, b = *(const long *)y;

    return (a > b) - (a < b);
}

/* Register connection c with the loop, writable first (it has to connect and send). */
static int watch(int ep, struct sse_conn *c)
{
    struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};

    return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
}

/*
 * CPU ticks over the idle window of the threads other than the `workers`
 * threads created first after the main thread (thread ids grow with
 * creation), i.e. without the training pool of modeld.
 */
static long long ticks_without_workers(long pid, int workers, long *tids0, long long *ticks0,
                                       int nt0, long *tids1, long long *ticks1, int nt1)
{
    long sorted[SSE_MAX_THREADS];
    long long sum = 0;
    int ns = 0;

    for (int i = 0; i < nt1; i++)
        if (tids1[i] != pid)
            sorted[ns++] = tids1[i];
    qsort(sorted, (size_t)ns, sizeof(*sorted), cmp_long);
    for (int i = 0; i < nt1; i++) {
        int worker = 0;
        long long before = 0;

        for (int k = 0; k < workers && k < ns; k++)
            worker |= sorted[k] == tids1[i];
        for (int j = 0; j < nt0; j++)
            if (tids0[j] == tids1[i] && ticks0[j] >= 0)
                before = ticks0[j];
        if (!worker && ticks1[i] >= 0)
            sum += ticks1[i] - before;
    }
    return sum;
}

int main(int argc, char **argv)
{
    struct sse_opts o = {0};
    struct sse_conn *conns = NULL;
    struct sse_all all;
    int64_t *lat = NULL, worst[SSE_MAX_MODELS], t_open, t_idle0, t_idle1;
    long tids0[SSE_MAX_THREADS], tids1[SSE_MAX_THREADS];
    long long ticks0[SSE_MAX_THREADS], ticks1[SSE_MAX_THREADS], tot0, tot1;
    int nt0 = 0, nt1 = 0, ep = -1, rc = 1, nlat = 0, bad = 0;
    long idle_events = 0, idle_keepalives = 0, other_events = 0, extra_events = 0;
    double secs, hz = (double)sysconf(_SC_CLK_TCK);
    struct rlimit rl;

    if (parse_args(argc, argv, &o) != 0)
        return 2;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    conns = calloc((size_t)(o.streams + o.changes), sizeof(*conns));
    lat = calloc((size_t)o.streams, sizeof(*lat));
    if (!conns || !lat || (ep = epoll_create1(0)) < 0) {
        perror("sse_clients");
        goto out;
    }
    for (int i = 0; i < o.streams + o.changes; i++)
        conns[i].fd = -1;
    all.conns = conns;
    all.n = o.streams;
    all.change = NULL;
    t_open = now_ns();
    for (int i = 0; i < o.streams; i++) {
        struct sse_conn *c = &conns[i];
        int n;

        c->model = o.models[i % o.nmodels];
        n = snprintf(c->req, sizeof(c->req),
                     "GET /projects/%lld/models/%lld/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n",
                     (long long)o.project, (long long)c->model, o.token);
        if (n < 0 || (size_t)n >= sizeof(c->req)) {
            fprintf(stderr, "sse_clients: token too long\n");
            goto out;
        }
        c->req_len = (size_t)n;
        c->fd = open_conn(2 + i % o.sources, o.port);
        if (c->fd < 0 || watch(ep, c) != 0) {
            fprintf(stderr, "sse_clients: cannot open stream %d from 127.0.0.%d: %s\n", i,
                    2 + i % o.sources, strerror(errno));
            goto out;
        }
    }
    if (pump(ep, t_open + (int64_t)o.timeout * 1000000000, all_heads, &all) != 0)
        goto out;
    for (int i = 0; i < o.streams; i++) {
        if (conns[i].status != 200 || conns[i].ended) {
            if (bad < 5)
                fprintf(stderr, "sse_clients: stream %d (model %lld): %s %d\n", i,
                        (long long)conns[i].model,
                        conns[i].status ? "answered" : "no answer, status", conns[i].status);
            bad++;
        }
    }
    if (bad) {
        fprintf(stderr, "sse_clients: %d of %d streams did not open\n", bad, o.streams);
        goto out;
    }
    printf("streams=%d\nsources=%d\nmodels=%d\nopen_ms=%.1f\n", o.streams, o.sources, o.nmodels,
           (double)(now_ns() - t_open) / 1e6);
    /* the first events (the current state) drain; what comes after is a change */
    if (pump(ep, now_ns() + 1000000000, NULL, NULL) != 0)
        goto out;
    for (int i = 0; i < o.streams; i++) {
        idle_events -= conns[i].events;
        idle_keepalives -= conns[i].keepalives;
    }
    t_idle0 = now_ns();
    tot0 = cpu_ticks(o.pid, tids0, ticks0, &nt0);
    if (pump(ep, t_idle0 + (int64_t)o.idle * 1000000000, NULL, NULL) != 0)
        goto out;
    tot1 = cpu_ticks(o.pid, tids1, ticks1, &nt1);
    t_idle1 = now_ns();
    if (tot0 < 0 || tot1 < 0) {
        fprintf(stderr, "sse_clients: cannot read /proc/%ld (the daemon is gone?)\n", o.pid);
        goto out;
    }
    secs = (double)(t_idle1 - t_idle0) / 1e9;
    for (int i = 0; i < o.streams; i++) {
        idle_events += conns[i].events;
        idle_keepalives += conns[i].keepalives;
        if (conns[i].ended) {
            fprintf(stderr, "sse_clients: stream %d ended while idle\n", i);
            goto out;
        }
    }
    printf("idle_s=%.2f\ncpu_pct=%.3f\nworker_threads=%d\ncpu_pct_without_workers=%.3f\n", secs,
           (double)(tot1 - tot0) / hz / secs * 100, o.workers,
           (double)ticks_without_workers(o.pid, o.workers, tids0, ticks0, nt0, tids1, ticks1,
                                         nt1) / hz / secs * 100);
    printf("threads=%d\nrss_kib=%ld\nidle_events=%ld\nidle_keepalives=%ld\n", nt1,
           status_kib(o.pid, "VmRSS"), idle_events, idle_keepalives);
    if (idle_events) {
        fprintf(stderr, "sse_clients: %ld events arrived on models that should not change\n",
                idle_events);
        goto out;
    }
    for (int i = 0; i < o.streams; i++)
        conns[i].events_before_change = conns[i].events;
    if (o.hold) {
        printf("holding=1\n");
        fflush(stdout);
        if (pump(ep, now_ns() + (int64_t)o.hold * 1000000000, NULL, NULL) != 0)
            goto out;
        for (int i = 0; i < o.streams; i++) {
            idle_events += conns[i].events;
            if (conns[i].ended) {
                fprintf(stderr, "sse_clients: stream %d ended while held\n", i);
                goto out;
            }
        }
        for (int i = 0; i < o.streams; i++)
            idle_events -= conns[i].events_before_change;
        if (idle_events) {
            fprintf(stderr, "sse_clients: %ld events arrived while held on models that should "
                            "not change\n", idle_events);
            goto out;
        }
    }
    /* the changes, each sent from the same loop so the arrival times are exact */
    for (int k = 0; k < o.changes; k++) {
        struct sse_conn *c = &conns[o.streams + k];
        int64_t t0;
        int n = snprintf(c->req, sizeof(c->req),
                         "POST /projects/%lld/models/%lld/cancel HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Authorization: Bearer %s\r\nContent-Length: 0\r\n"
                         "Connection: close\r\n\r\n",
                         (long long)o.project, (long long)o.models[k], o.token);

        assert(n > 0 && (size_t)n < sizeof(c->req)); /* the stream requests were longer */
        c->is_change = 1;
        c->model = o.models[k];
        c->req_len = (size_t)n;
        all.change = c;
        if (k > 0 && pump(ep, now_ns() + 137000000, NULL, NULL) != 0)
            goto out;
        t0 = change_t0 = now_ns();
        c->fd = open_conn(1, o.port);
        if (c->fd < 0 || watch(ep, c) != 0) {
            perror("sse_clients: change request");
            goto out;
        }
        if (pump(ep, t0 + (int64_t)o.timeout * 1000000000, change_seen, &all) != 0)
            goto out;
        if (c->status != 200) {
            fprintf(stderr, "sse_clients: POST .../models/%lld/cancel answered %d\n",
                    (long long)c->model, c->status);
            goto out;
        }
        worst[k] = 0;
        for (int i = 0; i < o.streams; i++) {
            if (conns[i].model != c->model)
                continue;
            if (!conns[i].t_change || conns[i].t_change < t0) {
                fprintf(stderr, "sse_clients: stream %d saw no event %d s after the change of "
                                "model %lld\n", i, o.timeout, (long long)c->model);
                goto out;
            }
            lat[nlat++] = conns[i].t_change - t0;
            if (conns[i].t_change - t0 > worst[k])
                worst[k] = conns[i].t_change - t0;
        }
        printf("change_%d_model=%lld\nchange_%d_last_ms=%.1f\n", k + 1, (long long)c->model,
               k + 1, (double)worst[k] / 1e6);
    }
    for (int i = 0; i < o.streams; i++) {
        long got = conns[i].events - conns[i].events_before_change;
        int changed = 0;

        for (int k = 0; k < o.changes; k++)
            changed |= conns[i].model == o.models[k];
        if (!changed)
            other_events += got; /* on a model that did not change: none expected */
        else
            extra_events += got - 1;
    }
    qsort(lat, (size_t)nlat, sizeof(*lat), cmp_i64);
    qsort(worst, (size_t)o.changes, sizeof(*worst), cmp_i64);
    printf("changes=%d\nchange_streams=%d\nevent_ms_min=%.1f\nevent_ms_median=%.1f\n"
           "event_ms_max=%.1f\nother_events=%ld\nextra_events=%ld\n",
           o.changes, nlat, (double)lat[0] / 1e6, (double)lat[nlat / 2] / 1e6,
           (double)lat[nlat - 1] / 1e6, other_events, extra_events);
    rc = 0;
out:
    if (conns)
        for (int i = 0; i < o.streams + o.changes; i++)
            if (conns[i].fd >= 0)
                close(conns[i].fd);
    if (ep >= 0)
        close(ep);
    free(conns);
    free(lat);
    fflush(stdout);
    return rc;
}
