/* SPDX-License-Identifier: MIT */
/*
 * GET /projects/{p}/models/{id}/events: a text/event-stream of the model's
 * status and progress that ends once training is over, so a dashboard (or
 * `curl -N` in CI) can follow a training without polling; GET
 * /projects/{p}/events: the changes of every model of a project. Events are
 * pushed by the code that changes a model, an idle stream receives nothing.
 * Also the training side of "training never slows the API": --workers 0
 * (an API-only daemon) and the workers' lower CPU priority.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "server.h"
#include "testutil.h"
#include "testapi.h"

/* Split an event-stream body into the JSON of its "model" events; the name of
 * the last event goes to last_event. */
static json_t *parse_events(const char *body, char *last_event, size_t len)
{
    json_t *events = json_array();
    const char *p = body;

    last_event[0] = '\0';
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);

        if (n > 7 && strncmp(p, "event: ", 7) == 0)
            snprintf(last_event, len, "%.*s", (int)(n - 7), p + 7);
        if (n > 6 && strncmp(p, "data: ", 6) == 0 && strcmp(last_event, "model") == 0) {
            json_t *v = json_loadb(p + 6, n - 6, 0, NULL);

            ck_assert_msg(v != NULL, "event data is not JSON: %.*s", (int)n, p);
            json_array_append_new(events, v);
        }
        p = eol ? eol + 1 : NULL;
    }
    return events;
}

START_TEST(test_events_follow_training_to_ready)
{
    struct tapi a;
    struct tresp r;
    char path[128], last[32];
    json_t *events, *v;
    double progress = -1;
    size_t i;
    int64_t id, s;

    tapi_start(&a, 1);
    s = tapi_session(&a, "s", "CLASS", "en", tapi_data_class("en", 12));
    id = tapi_model_on(&a, "m", "en", s);
    tapi_path(&a, id, "/events", path, sizeof(path));
    thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r); /* returns when the stream ends */
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "text/event-stream");
    events = parse_events(r.body, last, sizeof(last));
    ck_assert_uint_ge(json_array_size(events), 1);
    json_array_foreach(events, i, v)
    {
        double pr = json_number_value(json_object_get(v, "progress"));

        ck_assert_int_eq(json_integer_value(json_object_get(v, "id")), id);
        ck_assert_msg(pr >= progress, "progress went down: %f after %f", pr, progress);
        progress = pr;
    }
    v = json_array_get(events, json_array_size(events) - 1);
    ck_assert_str_eq(json_string_value(json_object_get(v, "status")), "READY");
    ck_assert(json_is_number(json_object_get(v, "score")));
    json_decref(events);
    tresp_release(&r);

    /* a finished model: one event, then the stream ends */
    thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    events = parse_events(r.body, last, sizeof(last));
    ck_assert_uint_eq(json_array_size(events), 1);
    json_decref(events);
    tresp_release(&r);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_events_errors)
{
    struct tapi a;
    struct tresp r;
    char path[128];

    tapi_start(&a, 1);
    tapi_path(&a, 999, "/events", path, sizeof(path));
    thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
    tassert_problem(&r, 404);
    tresp_release(&r);
    thttp(&a.ts, "GET", path, NULL, NULL, NULL, &r);
    tassert_problem(&r, 401);
    tresp_release(&r);
    tserver_cleanup(&a.ts);
}
END_TEST

struct stream_arg {
    struct tapi *a;
    char path[128];
    int rc;
    long status;
};

static void *open_stream(void *p)
{
    struct stream_arg *sa = p;
    struct tresp r;

    sa->rc = thttp_try(&sa->a->ts, "GET", sa->path, sa->a->viewer, &r);
    sa->status = r.status;
    tresp_release(&r);
    return NULL;
}

/* A stream on a model that stays QUEUED (the only worker is busy on a long
 * job) must not keep the server from stopping. */
START_TEST(test_events_do_not_block_shutdown)
{
    struct tapi a;
    struct stream_arg sa = {0};
    pthread_t th;
    json_t *v;
    int64_t s, busy, waiting;
    double t0;
    char *big = tapi_shared_lines("germeval2018_de.jsonl", 4000);

    tapi_start(&a, 1);
    if (!big) {
        tserver_cleanup(&a.ts);
        return;
    }
    s = tapi_session(&a, "big", "CLASS", "de", big);
    busy = tapi_model_on(&a, "busy", "de", s);
    waiting = tapi_model_on(&a, "waiting", "de", s);
    v = tapi_wait(&a, busy, "TRAINING READY", 30 * TAPI_SLOW);
    json_decref(v);
    sa.a = &a;
    tapi_path(&a, waiting, "/events", sa.path, sizeof(sa.path));
    ck_assert_int_eq(pthread_create(&th, NULL, open_stream, &sa), 0);
    tapi_sleep(0.5);
    t0 = util_monotonic();
    tserver_stop(&a.ts);
    ck_assert_msg(util_monotonic() - t0 < 5.0 * TAPI_SLOW, "stop took %.2f s",
                  util_monotonic() - t0);
    pthread_join(th, NULL);
    ck_assert_int_eq(sa.status, 200);
    tserver_cleanup(&a.ts);
}
END_TEST

/* Read from fd until want appears in buf (or EOF / silence seconds of silence); returns length. */
static size_t read_until_t(int fd, char *buf, size_t cap, size_t len, const char *want,
                           double silence)
{
    struct timeval tv = {(time_t)silence, (suseconds_t)((silence - (double)(time_t)silence) * 1e6)};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (len + 1 < cap) {
        buf[len] = '\0';
        if (want && strstr(buf, want))
            break;
        ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    return len;
}

/* read_until_t with 5 s × TAPI_SLOW of silence. */
static size_t read_until(int fd, char *buf, size_t cap, size_t len, const char *want)
{
    return read_until_t(fd, buf, cap, len, want, 5 * TAPI_SLOW);
}

/* Connect to the test server and send GET path with token (NULL: none);
 * returns the socket. */
static int stream_open(struct tapi *a, const char *path, const char *token)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(a->ts.port)};
    char req[512];
    int fd, n;

    n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n%s%s%s\r\n", path,
                 token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
    ck_assert(n > 0 && (size_t)n < sizeof req);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    return fd;
}

/*
 * Stopping the daemon ends every open stream cleanly: a final `shutdown`
 * event and the end of the chunked body (no stream cut mid-way).
 */
START_TEST(test_stop_ends_streams_cleanly)
{
    enum { N = 20 };
    struct tapi a;
    int fd[N];
    static char buf[N][8192];
    size_t len[N];
    char req[512];

    tapi_start(&a, 1);
    /* a model that stays TRAINING (no job behind it), so its stream stays open */
    int64_t id = tfx_model(&a.ts, a.ws, a.pr, a.mgr_id, "open", "en", "CLASS", "TRAINING");
    snprintf(req, sizeof req,
             "GET /projects/%lld/models/%lld/events HTTP/1.1\r\nHost: x\r\n"
             "Authorization: Bearer %s\r\n\r\n",
             (long long)a.pr, (long long)id, a.viewer);
    for (int i = 0; i < N; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(a.ts.port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd[i] = socket(AF_INET, SOCK_STREAM, 0);
        ck_assert_int_ge(fd[i], 0);
        ck_assert_int_eq(connect(fd[i], (struct sockaddr *)&sa, sizeof sa), 0);
        ck_assert_int_eq(send(fd[i], req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
        len[i] = read_until(fd[i], buf[i], sizeof buf[i], 0, "event: model");
        ck_assert_msg(strstr(buf[i], "event: model"), "stream %d: %s", i, buf[i]);
    }
    tserver_stop(&a.ts);
    for (int i = 0; i < N; i++) {
        len[i] = read_until(fd[i], buf[i], sizeof buf[i], len[i], NULL); /* to EOF */
        close(fd[i]);
        ck_assert_msg(strstr(buf[i], "event: shutdown"), "stream %d has no shutdown event:\n%s", i,
                      buf[i]);
        ck_assert_msg(len[i] >= 5 && memcmp(buf[i] + len[i] - 5, "0\r\n\r\n", 5) == 0,
                      "stream %d was cut, not ended:\n%s", i, buf[i]);
    }
    tserver_cleanup(&a.ts);
}
END_TEST

/* How many times needle occurs in hay. */
static int count_str(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The project's stream of a fresh project: ": subscribed" arrives (headers
 * and subscription are live); returns the socket. */
static int project_stream(struct tapi *a, int64_t project, char *buf, size_t cap, size_t *len)
{
    char path[64];
    int fd;

    snprintf(path, sizeof path, "/projects/%lld/events", (long long)project);
    fd = stream_open(a, path, a->viewer);
    *len = read_until(fd, buf, cap, 0, ": subscribed");
    ck_assert_msg(strstr(buf, "200 OK") && strstr(buf, "text/event-stream") &&
                      strstr(buf, ": subscribed"),
                  "project stream did not open:\n%s", buf);
    return fd;
}

/*
 * An open stream ends when its caller loses the right to it: the token it
 * was opened with is revoked (here with the CLI, another process) and both
 * of its streams get a `revoked` event and end within about a second; a
 * stream of another token of the same project goes on.
 */
START_TEST(test_streams_end_when_the_token_is_revoked)
{
    struct tapi a;
    static char pbuf[8192], mbuf[8192], vbuf[8192];
    char tok[65], path[96];
    size_t plen, mlen, vlen;
    int pfd, mfd, vfd;
    double t0, took;

    tapi_start(&a, 1);
    tfx_token(&a.ts, a.viewer_id, 0, tok);
    int64_t id = tfx_model(&a.ts, a.ws, a.pr, a.mgr_id, "open", "en", "CLASS", "TRAINING");
    snprintf(path, sizeof path, "/projects/%lld/events", (long long)a.pr);
    pfd = stream_open(&a, path, tok);
    plen = read_until(pfd, pbuf, sizeof pbuf, 0, ": subscribed");
    ck_assert_msg(strstr(pbuf, ": subscribed"), "%s", pbuf);
    vfd = project_stream(&a, a.pr, vbuf, sizeof vbuf, &vlen); /* a.viewer's own token */
    snprintf(path, sizeof path, "/projects/%lld/models/%lld/events", (long long)a.pr,
             (long long)id);
    mfd = stream_open(&a, path, tok);
    mlen = read_until(mfd, mbuf, sizeof mbuf, 0, "event: model");
    ck_assert_msg(strstr(mbuf, "event: model"), "%s", mbuf);
    {
        const char *args[] = {"token", "revoke", "--db", a.ts.db_path, "--token", tok, NULL};
        char out[64];

        ck_assert_int_eq(trun(args, out, sizeof out), 0);
    }
    t0 = util_monotonic();
    plen = read_until(pfd, pbuf, sizeof pbuf, plen, "event: revoked");
    took = util_monotonic() - t0;
    plen = read_until(pfd, pbuf, sizeof pbuf, plen, "\r\n0\r\n\r\n"); /* the body's end */
    mlen = read_until(mfd, mbuf, sizeof mbuf, mlen, "\r\n0\r\n\r\n");
    ck_assert_msg(strstr(pbuf, "event: revoked"), "project stream:\n%s", pbuf);
    ck_assert_msg(strstr(mbuf, "event: revoked"), "model stream:\n%s", mbuf);
    ck_assert_msg(plen >= 5 && memcmp(pbuf + plen - 5, "0\r\n\r\n", 5) == 0, "not ended:\n%s",
                  pbuf);
    ck_assert_msg(took < 1.5 * TAPI_SLOW, "the stream outlived its token by %.2f s", took);
    /* the other token's stream is untouched */
    vlen = read_until_t(vfd, vbuf, sizeof vbuf, vlen, "revoked", 0.5);
    ck_assert_msg(!strstr(vbuf, "revoked"), "%s", vbuf);
    close(pfd);
    close(mfd);
    close(vfd);
    tserver_cleanup(&a.ts);
}
END_TEST

/*
 * GET /projects/{p}/events: a model created, trained and deleted shows up
 * as `created`, `model` events up to READY, and `deleted`; the stream of
 * another project (same viewer) sees nothing of it.
 */
START_TEST(test_project_stream_follows_its_models)
{
    struct tapi a;
    static char buf[1 << 16], other[4096];
    char want[96], path[128];
    size_t len, olen;
    struct tresp r;
    json_t *v;
    int64_t s, id, pr2;
    int fd, fd2;

    tapi_start(&a, 1);
    pr2 = tfx_project(&a.ts, a.ws, "other");
    tfx_member(&a.ts, pr2, a.viewer_id, "VIEWER");
    fd = project_stream(&a, a.pr, buf, sizeof buf, &len);
    fd2 = project_stream(&a, pr2, other, sizeof other, &olen);
    s = tapi_session(&a, "s", "CLASS", "en", tapi_data_class("en", 12));
    id = tapi_model_on(&a, "m", "en", s);
    v = tapi_wait(&a, id, "READY", 30);
    json_decref(v);
    len = read_until(fd, buf, sizeof buf, len, "\"status\":\"READY\"");
    snprintf(want, sizeof want, "event: created\ndata: {\"id\":%lld,", (long long)id);
    ck_assert_msg(strstr(buf, want), "no created event:\n%s", buf);
    ck_assert_msg(strstr(buf, "event: model\ndata: ") && strstr(buf, "\"status\":\"READY\""),
                  "no model event up to READY:\n%s", buf);
    ck_assert_msg(strstr(buf, "\"status\":\"TRAINING\""), "no TRAINING event:\n%s", buf);
    tapi_path(&a, id, NULL, path, sizeof path);
    thttp(&a.ts, "DELETE", path, a.mgr, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 204);
    tresp_release(&r);
    snprintf(want, sizeof want, "event: deleted\ndata: {\"id\":%lld}", (long long)id);
    len = read_until(fd, buf, sizeof buf, len, want);
    ck_assert_msg(strstr(buf, want), "no deleted event:\n%s", buf);
    /* the other project's stream: still only its opening comment */
    olen = read_until_t(fd2, other, sizeof other, olen, "event:", 0.5);
    ck_assert_msg(!strstr(other, "event:"), "another project's stream saw events:\n%s", other);
    close(fd);
    close(fd2);
    tserver_cleanup(&a.ts);
}
END_TEST

/*
 * Events are pushed: an idle stream receives nothing; a PATCH reaches the
 * project stream, and a cancel the model's own stream, at once (bounded at
 * 2 s × TAPI_SLOW here so the test does not flake; the 100 ms goal is
 * measured by the benchmark).
 */
START_TEST(test_events_are_pushed_not_polled)
{
    struct tapi a;
    static char buf[16384], mbuf[16384];
    char path[128];
    size_t len, mlen;
    struct tresp r;
    double t0, dt;
    int fd, mfd;
    int64_t ready, training;

    tapi_start(&a, 1);
    ready = tfx_model(&a.ts, a.ws, a.pr, a.mgr_id, "ready", "en", "CLASS", "READY");
    training = tfx_model(&a.ts, a.ws, a.pr, a.mgr_id, "open", "en", "CLASS", "TRAINING");
    fd = project_stream(&a, a.pr, buf, sizeof buf, &len);
    tapi_path(&a, training, "/events", path, sizeof path);
    mfd = stream_open(&a, path, a.viewer);
    mlen = read_until(mfd, mbuf, sizeof mbuf, 0, "\"status\":\"TRAINING\"");
    ck_assert_msg(strstr(mbuf, "event: model"), "model stream did not start:\n%s", mbuf);
    /* idle: nothing at all for a second (no polling, no events) */
    len = read_until_t(fd, buf, sizeof buf, len, "event:", 1.0);
    ck_assert_msg(!strstr(buf, "event:"), "an idle project stream received:\n%s", buf);
    mlen = read_until_t(mfd, mbuf, sizeof mbuf, mlen, "FAILED", 0.2);
    ck_assert_msg(count_str(mbuf, "event: model") == 1, "an idle model stream received:\n%s",
                  mbuf);
    /* a PATCH reaches the project stream */
    tapi_path(&a, ready, NULL, path, sizeof path);
    t0 = util_monotonic();
    tjson(&a.ts, "PATCH", path, a.mgr, "{\"display_name\":\"Renamed\"}", &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    len = read_until(fd, buf, sizeof buf, len, "\"display_name\":\"Renamed\"");
    dt = util_monotonic() - t0;
    ck_assert_msg(strstr(buf, "event: model") && strstr(buf, "\"display_name\":\"Renamed\""),
                  "no event for the PATCH:\n%s", buf);
    ck_assert_msg(dt < 2.0 * TAPI_SLOW, "the PATCH's event took %.3f s", dt);
    /* a cancel reaches the model's own stream, which then ends */
    tapi_path(&a, training, "/cancel", path, sizeof path);
    t0 = util_monotonic();
    thttp(&a.ts, "POST", path, a.mgr, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    mlen = read_until(mfd, mbuf, sizeof mbuf, mlen, "\"status\":\"FAILED\"");
    dt = util_monotonic() - t0;
    ck_assert_msg(strstr(mbuf, "\"status\":\"FAILED\""), "no event for the cancel:\n%s", mbuf);
    ck_assert_msg(dt < 2.0 * TAPI_SLOW, "the cancel's event took %.3f s", dt);
    close(fd);
    close(mfd);
    tserver_cleanup(&a.ts);
}
END_TEST

/* The project stream's errors are those of every project route. */
START_TEST(test_project_stream_errors)
{
    struct tapi a;
    struct tresp r;
    char path[96], outsider[65];
    int64_t pr2 = 0;

    tapi_start(&a, 1);
    tfx_user(&a.ts, "out", 0, outsider);
    snprintf(path, sizeof path, "/projects/%lld/events", (long long)a.pr);
    thttp(&a.ts, "GET", path, NULL, NULL, NULL, &r);
    tassert_problem(&r, 401);
    tresp_release(&r);
    thttp(&a.ts, "GET", path, outsider, NULL, NULL, &r);
    tassert_problem(&r, 403);
    tresp_release(&r);
    pr2 = a.pr + 1000;
    snprintf(path, sizeof path, "/projects/%lld/events", (long long)pr2);
    thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
    tassert_problem(&r, 403); /* no such project: the same answer as no role there */
    tresp_release(&r);
    snprintf(path, sizeof path, "/projects/%lld/events/1", (long long)a.pr);
    thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
    tassert_problem(&r, 404);
    tresp_release(&r);
    snprintf(path, sizeof path, "/projects/%lld/events", (long long)a.pr);
    thttp(&a.ts, "POST", path, a.mgr, NULL, NULL, &r);
    tassert_problem(&r, 405);
    tresp_release(&r);
    tserver_cleanup(&a.ts);
}
END_TEST

/* Start a's daemon again on its database with workers and worker_nice. */
static void restart_with(struct tapi *a, int workers, int worker_nice)
{
    struct err err = {0};

    tserver_stop(&a->ts);
    a->ts.cfg.workers = workers;
    a->ts.cfg.worker_nice = worker_nice;
    a->ts.srv = server_start(&a->ts.cfg, &err);
    ck_assert_msg(a->ts.srv != NULL, "server_start: %s", err.msg);
    a->ts.port = server_port(a->ts.srv);
}

/* --workers 0: an API-only daemon is ready, accepts trainings and trains none. */
START_TEST(test_no_workers_queues_and_trains_none)
{
    struct tapi a;
    struct tresp r;
    json_t *v;
    int64_t s, id;

    tapi_start(&a, 1);
    restart_with(&a, 0, 0);
    thttp(&a.ts, "GET", "/readyz", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(tapi_str(json_object_get(r.json, "checks"), "workers"), "none");
    tresp_release(&r);
    s = tapi_session(&a, "s", "CLASS", "en", tapi_data_class("en", 12));
    id = tapi_model_on(&a, "m", "en", s);
    tapi_sleep(1.5);
    v = tapi_get(&a, id);
    ck_assert_str_eq(tapi_str(v, "status"), "QUEUED");
    json_decref(v);
    thttp(&a.ts, "GET", "/metrics", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(r.body, "modeld_workers 0"), "metrics:\n%s", r.body);
    tresp_release(&r);
    /* a daemon with workers trains what the API-only one queued */
    restart_with(&a, 1, 0);
    v = tapi_wait(&a, id, "READY", 30);
    json_decref(v);
    tserver_cleanup(&a.ts);
}
END_TEST

/* The nice value of thread tid of this process (field 19 of its stat), or -100. */
static int thread_nice(const char *tid)
{
    char p[300], line[1024];
    const char *f;
    FILE *fp;
    int nice = -100, field = 2;

    snprintf(p, sizeof p, "/proc/self/task/%s/stat", tid);
    fp = fopen(p, "r");
    if (!fp)
        return nice;
    if (fgets(line, sizeof line, fp) && (f = strrchr(line, ')'))) {
        /* after "pid (comm)" come the fields from 3 (state) on */
        for (f++; *f && field < 19; f++)
            if (*f == ' ')
                field++;
        if (field == 19)
            nice = atoi(f);
    }
    fclose(fp);
    return nice;
}

/*
 * Training threads run --worker-nice steps below the request threads: each
 * worker ("modeld-train") has the nice value of the thread that started the
 * server plus 7 here; every other thread keeps it.
 */
START_TEST(test_workers_run_at_lower_priority)
{
    struct tapi a;
    int base, want, workers = 0, others = 0;

    errno = 0;
    base = getpriority(PRIO_PROCESS, 0);
    ck_assert(!(base == -1 && errno != 0));
    if (base + 7 > 19) {
        tskip("the tests already run at nice %d: no room to lower the workers", base);
        return;
    }
    want = base + 7;
    tapi_start(&a, 1);
    restart_with(&a, 2, 7);
    for (int tries = 0; tries < 50 && workers < 2; tries++) {
        DIR *d = opendir("/proc/self/task");
        struct dirent *e;

        ck_assert_ptr_nonnull(d);
        workers = others = 0;
        while ((e = readdir(d))) {
            char p[300], comm[32] = "";
            FILE *fp;

            if (e->d_name[0] == '.')
                continue;
            snprintf(p, sizeof p, "/proc/self/task/%s/comm", e->d_name);
            if (!(fp = fopen(p, "r")))
                continue;
            if (!fgets(comm, sizeof comm, fp))
                comm[0] = '\0';
            fclose(fp);
            if (strncmp(comm, "modeld-train", 12) == 0) {
                int n = thread_nice(e->d_name);

                if (n != want) /* not lowered yet: look again */
                    continue;
                workers++;
            } else {
                ck_assert_int_eq(thread_nice(e->d_name), base);
                others++;
            }
        }
        closedir(d);
        if (workers < 2)
            tapi_sleep(0.1);
    }
    ck_assert_int_eq(workers, 2);
    ck_assert_int_gt(others, 4); /* this thread, the HTTP pool, the watchdog... */
    tserver_cleanup(&a.ts);
}
END_TEST

Suite *api_events_suite(void)
{
    Suite *s = suite_create("api_events");
    TCase *tc = tcase_create("events");

    tcase_set_timeout(tc, 60 * TAPI_SLOW);
    tcase_add_test(tc, test_events_follow_training_to_ready);
    tcase_add_test(tc, test_events_errors);
    tcase_add_test(tc, test_events_do_not_block_shutdown);
    tcase_add_test(tc, test_stop_ends_streams_cleanly);
    tcase_add_test(tc, test_project_stream_follows_its_models);
    tcase_add_test(tc, test_events_are_pushed_not_polled);
    tcase_add_test(tc, test_project_stream_errors);
    tcase_add_test(tc, test_streams_end_when_the_token_is_revoked);
    tcase_add_test(tc, test_no_workers_queues_and_trains_none);
    tcase_add_test(tc, test_workers_run_at_lower_priority);
    suite_add_tcase(s, tc);
    return s;
}
