/* SPDX-License-Identifier: MIT */
/*
 * GET /projects/{p}/models/{id}/events: a text/event-stream of the model's
 * status and progress that ends once training is over, so a dashboard (or
 * `curl -N` in CI) can follow a training without polling.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

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

/* Read from fd until want appears in buf (or EOF / 5 s × TAPI_SLOW of silence); returns length. */
static size_t read_until(int fd, char *buf, size_t cap, size_t len, const char *want)
{
    struct timeval tv = {(time_t)(5 * TAPI_SLOW), 0};

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

Suite *api_events_suite(void)
{
    Suite *s = suite_create("api_events");
    TCase *tc = tcase_create("events");

    tcase_set_timeout(tc, 60 * TAPI_SLOW);
    tcase_add_test(tc, test_events_follow_training_to_ready);
    tcase_add_test(tc, test_events_errors);
    tcase_add_test(tc, test_events_do_not_block_shutdown);
    tcase_add_test(tc, test_stop_ends_streams_cleanly);
    suite_add_tcase(s, tc);
    return s;
}
