/* SPDX-License-Identifier: MIT */
/*
 * Strict HTTP framing over a raw socket (RFC 9112 §6.3, §3.2): requests a
 * front proxy could read differently (Content-Length with Transfer-Encoding,
 * several Content-Length lines), an HTTP/1.1 request without Host, several
 * Authorization lines: one 400 and the connection closed, so no byte after
 * the head is ever read as a second request. What libmicrohttpd decides by
 * itself (a negative Content-Length, a 200 KB request line) gives at most one
 * answer and a clean close, never a hang.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "testapi.h"

struct raw {
    char buf[65536];
    size_t len;
    int eof; /* the server closed the connection */
};

/* A connected socket to the server from source address src (NULL: any). */
static int raw_connect(const struct tserver *ts, const char *src)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(ts->port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    if (src) {
        struct sockaddr_in b = {.sin_family = AF_INET};
        ck_assert_int_eq(inet_pton(AF_INET, src, &b.sin_addr), 1);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&b, sizeof b), 0);
    }
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Send req (len bytes) on a new connection, read until EOF or 5 s (× TAPI_SLOW) of silence. */
static void raw_exchange(const struct tserver *ts, const char *req, size_t len, struct raw *out)
{
    struct timeval tv = {(time_t)(5 * TAPI_SLOW), 0};
    int s = raw_connect(ts, NULL);

    memset(out, 0, sizeof *out);
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (size_t off = 0; off < len;) {
        ssize_t w = send(s, req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server may close early: what it answered is read below */
        off += (size_t)w;
    }
    for (;;) {
        ssize_t r = recv(s, out->buf + out->len, sizeof out->buf - 1 - out->len, 0);
        if (r == 0) {
            out->eof = 1;
            break;
        }
        if (r < 0)
            break; /* timeout (or reset after the answer) */
        out->len += (size_t)r;
        if (out->len == sizeof out->buf - 1)
            break;
    }
    out->buf[out->len] = '\0';
    close(s);
}

/* How many status lines ("HTTP/1.x NNN ") the bytes hold. */
static int answers(const struct raw *r)
{
    int n = 0;
    for (const char *p = r->buf; (p = strstr(p, "HTTP/1.")) != NULL; p++)
        if (p[7] && p[8] == ' ' && p[9] >= '1' && p[9] <= '5' && p[12] == ' ')
            n++;
    return n;
}

static void expect_400_close(const struct tserver *ts, const char *req, const char *why)
{
    struct raw r;

    raw_exchange(ts, req, strlen(req), &r);
    ck_assert_msg(answers(&r) == 1, "%s: %d answers:\n%s", why, answers(&r), r.buf);
    ck_assert_msg(strncmp(r.buf, "HTTP/1.1 400", 12) == 0, "%s:\n%s", why, r.buf);
    ck_assert_msg(strstr(r.buf, "onnection: close"), "%s: no Connection: close:\n%s", why, r.buf);
    ck_assert_msg(r.eof, "%s: the connection stayed open", why);
    ck_assert_msg(!strstr(r.buf, " 200 "), "%s: a smuggled request was answered:\n%s", why,
                  r.buf);
}

START_TEST(test_ambiguous_framing_is_400_and_close)
{
    struct tapi a;
    char req[1024];

    tapi_start(&a, 1);
    /* the body a proxy would forward as 34 bytes holds a second request */
    snprintf(req, sizeof req,
             "POST /projects/%lld/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: 34\r\n"
             "Transfer-Encoding: chunked\r\n\r\n"
             "0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
             (long long)a.pr, a.mgr);
    expect_400_close(&a.ts, req, "Content-Length and Transfer-Encoding");
    snprintf(req, sizeof req,
             "POST /projects/%lld/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n"
             "{}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
             (long long)a.pr, a.mgr);
    expect_400_close(&a.ts, req, "two different Content-Length");
    snprintf(req, sizeof req,
             "POST /projects/%lld/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
             (long long)a.pr, a.mgr);
    expect_400_close(&a.ts, req, "two equal Content-Length");
    expect_400_close(&a.ts, "GET /healthz HTTP/1.1\r\n\r\n", "HTTP/1.1 without Host");
    expect_400_close(&a.ts, "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "two Host");
    snprintf(req, sizeof req,
             "GET /projects/%lld/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Authorization: Bearer %s\r\n\r\n",
             (long long)a.pr, a.viewer, a.mgr);
    expect_400_close(&a.ts, req, "two Authorization");
    /* the bad request does not change anything: no model was created */
    json_t *none = tapi_get(&a, 0);
    ck_assert_int_eq(json_array_size(json_object_get(none, "items")), 0);
    json_decref(none);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_good_requests_still_keep_alive)
{
    struct tapi a;
    struct raw r;
    const char *two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

    tapi_start(&a, 1);
    raw_exchange(&a.ts, two, strlen(two), &r);
    ck_assert_msg(answers(&r) == 2, "%s", r.buf);
    ck_assert(strncmp(r.buf, "HTTP/1.1 200", 12) == 0);
    /* HTTP/1.0 needs no Host */
    const char *old = "GET /healthz HTTP/1.0\r\n\r\n";
    raw_exchange(&a.ts, old, strlen(old), &r);
    ck_assert_msg(strncmp(r.buf, "HTTP/1.", 7) == 0 && strstr(r.buf, " 200 "), "%s", r.buf);
    tserver_cleanup(&a.ts);
}
END_TEST

/* The status codes of the answers in r, in order, into st[]; returns how many. */
static int statuses(const struct raw *r, int *st, int max)
{
    int n = 0;
    for (const char *p = r->buf; n < max && (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
        if (p[9] >= '1' && p[9] <= '5' && p[12] == ' ')
            st[n++] = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    return n;
}

/* An answer decided before the body (a bad token, an unknown model) keeps the
 * connection when no body follows or the body was drained: a client retrying
 * with a bad token does not reconnect for every 401. */
START_TEST(test_early_answers_keep_alive)
{
    struct tapi a;
    struct raw r;
    char req[2048];
    int st[8];

    tapi_start(&a, 1);
    snprintf(req, sizeof req,
             "GET /projects/%lld/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n\r\n"
             "GET /projects/%lld/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n\r\n"
             "GET /projects/%lld/models/987654 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "\r\n"
             "POST /projects/%lld/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n"
             "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
             "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
             (long long)a.pr, (long long)a.pr, (long long)a.pr, a.viewer, (long long)a.pr);
    raw_exchange(&a.ts, req, strlen(req), &r);
    ck_assert_msg(statuses(&r, st, 8) == 5, "%d answers:\n%s", statuses(&r, st, 8), r.buf);
    ck_assert_int_eq(st[0], 401);
    ck_assert_int_eq(st[1], 401);
    ck_assert_int_eq(st[2], 404);
    ck_assert_int_eq(st[3], 401);
    ck_assert_int_eq(st[4], 200);
    ck_assert_msg(!strstr(r.buf, "onnection: close\r\n\r\n{\"type\""),
                  "an early answer closed the connection:\n%s", r.buf);
    tserver_cleanup(&a.ts);
}
END_TEST

/* What the library decides before our code runs: one answer at most, then a clean close. */
START_TEST(test_library_decided_cases_are_harmless)
{
    struct tapi a;
    struct raw r;
    char req[512];

    tapi_start(&a, 1);
    snprintf(req, sizeof req,
             "POST /projects/%lld/models HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: -5\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
             (long long)a.pr);
    raw_exchange(&a.ts, req, strlen(req), &r);
    /* libmicrohttpd 0.9.75 answers this itself, writing its status line and
     * headers twice (docs/OPERATIONS.md): a client reads one 400 with
     * Connection: close (its body garbled); what matters is that nothing
     * after the head is served and the connection closes */
    ck_assert_msg(strncmp(r.buf, "HTTP/1.1 400", 12) == 0, "negative Content-Length:\n%s", r.buf);
    ck_assert_msg(strstr(r.buf, "onnection: close"), "negative Content-Length: keeps the connection");
    ck_assert_msg(!strstr(r.buf, " 200 "), "negative Content-Length: smuggled:\n%s", r.buf);
    ck_assert_msg(r.eof, "negative Content-Length: the connection stayed open");
    /* request lines of 16 KB (inside the connection's memory, HTTP_CONN_MEMORY:
     * served), 200 KB and 400 KB (beyond it: refused by the library) */
    static const size_t kbs[] = {16, 200, 400};
    for (size_t k = 0; k < sizeof kbs / sizeof kbs[0]; k++) {
        size_t kb = kbs[k], n = kb * 1024;
        static const char tail[] = " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        char *big = malloc(n + sizeof tail + 16);
        ck_assert_ptr_nonnull(big);
        memcpy(big, "GET /healthz?q=", 15);
        memset(big + 15, 'a', n);
        memcpy(big + 15 + n, tail, sizeof tail - 1);
        raw_exchange(&a.ts, big, 15 + n + sizeof tail - 1, &r);
        free(big);
        ck_assert_msg(answers(&r) <= 1, "%zu KB request line: %d answers", kb, answers(&r));
        ck_assert_msg(r.eof, "%zu KB request line: the connection stayed open", kb);
        if (kb == 16)
            ck_assert_msg(strncmp(r.buf, "HTTP/1.1 200", 12) == 0, "16 KB request line:\n%.300s",
                          r.buf);
    }
    /* and the daemon still serves */
    raw_exchange(&a.ts, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 54, &r);
    ck_assert_msg(strncmp(r.buf, "HTTP/1.1 200", 12) == 0, "%s", r.buf);
    tserver_cleanup(&a.ts);
}
END_TEST

static void *stop_thread(void *arg)
{
    tserver_stop(arg);
    return NULL;
}

/* A stop waits for a request in flight: an upload whose body is still coming
 * when SIGTERM arrives is read, committed and answered 201 before the end. */
START_TEST(test_stop_answers_requests_in_flight)
{
    struct tapi a;
    char head[512], body[4096];
    struct raw r;
    pthread_t th;

    tapi_start(&a, 1);
    int64_t s = tapi_empty_session(&a, "late", "CLASS", "en");
    size_t bl = 0;
    for (int i = 0; i < 40; i++)
        bl += (size_t)snprintf(body + bl, sizeof body - bl,
                               "{\"text\":\"document %d\",\"class\":\"c%d\"}\n", i, i % 2);
    int hl = snprintf(head, sizeof head,
                      "POST /projects/%lld/annotations/%lld/documents HTTP/1.1\r\nHost: x\r\n"
                      "Authorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      (long long)a.pr, (long long)s, a.annot, bl);
    int fd = raw_connect(&a.ts, NULL);
    ck_assert_int_eq(send(fd, head, (size_t)hl, MSG_NOSIGNAL), hl);
    ck_assert_int_eq(send(fd, body, bl / 2, MSG_NOSIGNAL), (ssize_t)(bl / 2));
    tapi_sleep(0.2); /* the request is in flight */
    char db[sizeof a.ts.db_path];
    memcpy(db, a.ts.db_path, sizeof db);
    ck_assert_int_eq(pthread_create(&th, NULL, stop_thread, &a.ts), 0);
    tapi_sleep(0.3); /* the stop has begun */
    ck_assert_int_eq(send(fd, body + bl / 2, bl - bl / 2, MSG_NOSIGNAL), (ssize_t)(bl - bl / 2));
    struct timeval tv = {(time_t)(10 * TAPI_SLOW), 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    memset(&r, 0, sizeof r);
    for (;;) {
        ssize_t n = recv(fd, r.buf + r.len, sizeof r.buf - 1 - r.len, 0);
        if (n <= 0)
            break;
        r.len += (size_t)n;
    }
    r.buf[r.len] = '\0';
    close(fd);
    pthread_join(th, NULL);
    ck_assert_msg(strncmp(r.buf, "HTTP/1.1 201", 12) == 0, "the upload in flight got:\n%s", r.buf);
    /* and what it answered is stored */
    struct tserver probe = {0};
    memcpy(probe.db_path, db, sizeof db);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM documents WHERE annotation_id = %lld",
             (long long)s);
    ck_assert_int_eq(tsql_int(&probe, sql), 40);
    tserver_cleanup(&a.ts);
}
END_TEST

/* 1 if the server has closed fd within s seconds (recv sees EOF or a reset). */
static int closed_within(int fd, double s)
{
    struct timeval tv = {(time_t)s, (long)((s - (double)(time_t)s) * 1e6)};
    char b[4096];

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (;;) {
        ssize_t r = recv(fd, b, sizeof b, 0);
        if (r == 0)
            return 1;
        if (r < 0)
            return errno == ECONNRESET;
    }
}

/* A request head must be complete within --head-timeout, however slowly it trickles in;
 * an idle connection is released after it too. */
START_TEST(test_slow_head_is_cut)
{
    struct tapi a;

    tapi_start(&a, 1);
    tserver_stop(&a.ts); /* the configuration is read-only while a server runs */
    a.ts.cfg.head_timeout = 1;
    tserver_restart(&a.ts, 1);
    int fd = raw_connect(&a.ts, NULL);
    const char *head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    double t0 = util_monotonic();
    int cut = 0;
    for (size_t i = 0; head[i] && !cut; i++) {
        if (send(fd, head + i, 1, MSG_NOSIGNAL) != 1) {
            cut = 1;
            break;
        }
        char b[64];
        ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            cut = 1;
        else
            ck_assert_msg(r < 0, "the server answered an incomplete head");
        tapi_sleep(0.1);
    }
    if (!cut)
        cut = closed_within(fd, 3 * TAPI_SLOW);
    double took = util_monotonic() - t0;
    close(fd);
    ck_assert_msg(cut, "a trickling head kept its connection");
    ck_assert_msg(took < 1.0 + 2.0 * TAPI_SLOW, "cut only after %.1f s", took);
    /* an idle connection, and one idle after its answer, are released too */
    fd = raw_connect(&a.ts, NULL);
    ck_assert_msg(closed_within(fd, 1.0 + 3.0 * TAPI_SLOW), "an idle connection was kept");
    close(fd);
    fd = raw_connect(&a.ts, NULL);
    const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    ck_assert_int_eq(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    ck_assert_msg(closed_within(fd, 1.0 + 3.0 * TAPI_SLOW), "a keep-alive connection was kept");
    close(fd);
    tserver_cleanup(&a.ts);
}
END_TEST

/* --max-connections-per-ip: one address cannot take every connection. */
START_TEST(test_per_address_limit)
{
    struct tapi a;
    int held[3];
    struct raw r;
    const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

    tapi_start(&a, 1);
    tserver_stop(&a.ts); /* the configuration is read-only while a server runs */
    a.ts.cfg.max_connections_per_ip = 3;
    tserver_restart(&a.ts, 1);
    for (int i = 0; i < 3; i++)
        held[i] = raw_connect(&a.ts, "127.0.0.1");
    tapi_sleep(0.2);
    int extra = raw_connect(&a.ts, "127.0.0.1");
    send(extra, req, strlen(req), MSG_NOSIGNAL);
    ck_assert_msg(closed_within(extra, 3 * TAPI_SLOW), "a 4th connection from one address was kept");
    close(extra);
    /* another client address is served meanwhile */
    int other = raw_connect(&a.ts, "127.0.0.2");
    ck_assert_int_eq(send(other, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    memset(&r, 0, sizeof r);
    struct timeval tv = {(time_t)(5 * TAPI_SLOW), 0};
    setsockopt(other, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = recv(other, r.buf, sizeof r.buf - 1, 0);
    ck_assert_msg(n > 12 && strncmp(r.buf, "HTTP/1.1 200", 12) == 0, "127.0.0.2 not served");
    close(other);
    for (int i = 0; i < 3; i++)
        close(held[i]);
    tapi_sleep(0.3);
    raw_exchange(&a.ts, req, strlen(req), &r);
    ck_assert_msg(strncmp(r.buf, "HTTP/1.1 200", 12) == 0, "not served again: %s", r.buf);
    tserver_cleanup(&a.ts);
}
END_TEST

/* The NDJSON body of n CLASS documents of about 100 bytes each (caller frees). */
static char *ndjson_docs(int n, int tag, size_t *len)
{
    struct tbuf b = {0};
    for (int i = 0; i < n; i++)
        tbuf_add(&b, "{\"text\":\"upload %d document %d with some words to make it longer "
                     "than fifty bytes\",\"class\":\"c%d\"}\n",
                 tag, i, i % 2);
    *len = b.len;
    return b.s;
}

/* --upload-budget: past it an upload is refused 503 with Retry-After (before its body is
 * kept), and once the uploads in flight are done the next one is accepted. */
START_TEST(test_upload_budget)
{
    struct tapi a;
    char head[512];
    struct raw r;
    size_t la, lb;

    tapi_start(&a, 1);
    tserver_stop(&a.ts); /* the configuration is read-only while a server runs */
    a.ts.cfg.upload_budget_mib = 1;
    tserver_restart(&a.ts, 1);
    int64_t s = tapi_empty_session(&a, "budget", "CLASS", "en");
    char *ba = ndjson_docs(7500, 1, &la); /* about 750 KB */
    char *bb = ndjson_docs(3500, 2, &lb); /* about 350 KB: both pass 1 MiB */
    ck_assert_uint_gt(la + lb, 1u << 20);
    int hl = snprintf(head, sizeof head,
                      "POST /projects/%lld/annotations/%lld/documents HTTP/1.1\r\nHost: x\r\n"
                      "Authorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      (long long)a.pr, (long long)s, a.annot, la);
    int fa = raw_connect(&a.ts, NULL);
    ck_assert_int_eq(send(fa, head, (size_t)hl, MSG_NOSIGNAL), hl);
    ck_assert_int_eq(send(fa, ba, la / 2, MSG_NOSIGNAL), (ssize_t)(la / 2));
    tapi_sleep(0.3); /* upload A is in flight and holds its budget */
    hl = snprintf(head, sizeof head,
                  "POST /projects/%lld/annotations/%lld/documents HTTP/1.1\r\nHost: x\r\n"
                  "Authorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\n"
                  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                  (long long)a.pr, (long long)s, a.annot, lb);
    char *req = malloc((size_t)hl + lb);
    memcpy(req, head, (size_t)hl);
    memcpy(req + hl, bb, lb);
    raw_exchange(&a.ts, req, (size_t)hl + lb, &r);
    ck_assert_msg(strncmp(r.buf, "HTTP/1.1 503", 12) == 0, "upload B past the budget:\n%.300s",
                  r.buf);
    ck_assert_msg(strstr(r.buf, "Retry-After: 5"), "no Retry-After:\n%.300s", r.buf);
    ck_assert_msg(strstr(r.buf, "\"urn:modeld:problem:unavailable\""), "type:\n%.600s", r.buf);
    /* a chunked upload reserves a whole working set (here the whole budget): refused at once */
    char chunked[1024];
    int cl;
    {
        cl = snprintf(chunked, sizeof chunked,
                          "POST /projects/%lld/annotations/%lld/documents HTTP/1.1\r\nHost: x\r\n"
                          "Authorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\n"
                          "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                          "25\r\n{\"text\":\"good pizza\",\"class\":\"food\"}\n\r\n0\r\n\r\n",
                          (long long)a.pr, (long long)s, a.annot);
        struct raw rc;
        raw_exchange(&a.ts, chunked, (size_t)cl, &rc);
        ck_assert_msg(strncmp(rc.buf, "HTTP/1.1 503", 12) == 0, "chunked past the budget:\n%.300s",
                      rc.buf);
        ck_assert_msg(strstr(rc.buf, "\"urn:modeld:problem:unavailable\""), "type:\n%.600s",
                      rc.buf);
    }
    /* A completes */
    ck_assert_int_eq(send(fa, ba + la / 2, la - la / 2, MSG_NOSIGNAL), (ssize_t)(la - la / 2));
    struct raw ra;
    memset(&ra, 0, sizeof ra);
    struct timeval tv = {(time_t)(10 * TAPI_SLOW), 0};
    setsockopt(fa, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = recv(fa, ra.buf, sizeof ra.buf - 1, 0);
    close(fa);
    ck_assert_msg(n > 12 && strncmp(ra.buf, "HTTP/1.1 201", 12) == 0, "upload A: %.300s", ra.buf);
    /* the budget is free again: B is accepted now */
    tapi_sleep(0.2);
    raw_exchange(&a.ts, req, (size_t)hl + lb, &r);
    ck_assert_msg(strncmp(r.buf, "HTTP/1.1 201", 12) == 0, "upload B after A:\n%.300s", r.buf);
    tapi_sleep(0.2);
    raw_exchange(&a.ts, chunked, (size_t)cl, &r);
    ck_assert_msg(strncmp(r.buf, "HTTP/1.1 201", 12) == 0, "chunked upload alone:\n%.300s", r.buf);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM documents WHERE annotation_id = %lld",
             (long long)s);
    ck_assert_int_eq(tsql_int(&a.ts, sql), 7500 + 3500 + 1); /* A, B and the chunked one */
    free(req);
    free(ba);
    free(bb);
    tserver_cleanup(&a.ts);
}
END_TEST

/* --body-timeout: a body that trickles in (less than 1 KiB per window) is cut. */
START_TEST(test_slow_body_is_cut)
{
    struct tapi a;
    char head[512];

    tapi_start(&a, 1);
    tserver_stop(&a.ts); /* the configuration is read-only while a server runs */
    a.ts.cfg.body_timeout = 1;
    tserver_restart(&a.ts, 1);
    int64_t s = tapi_empty_session(&a, "slow", "CLASS", "en");
    int hl = snprintf(head, sizeof head,
                      "POST /projects/%lld/annotations/%lld/documents HTTP/1.1\r\nHost: x\r\n"
                      "Authorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\n"
                      "Content-Length: 100000\r\n\r\n",
                      (long long)a.pr, (long long)s, a.annot);
    int fd = raw_connect(&a.ts, NULL);
    ck_assert_int_eq(send(fd, head, (size_t)hl, MSG_NOSIGNAL), hl);
    double t0 = util_monotonic();
    int cut = 0;
    while (!cut && util_monotonic() - t0 < 1.0 + 4.0 * TAPI_SLOW) {
        if (send(fd, "{\"text\":\"", 9, MSG_NOSIGNAL) != 9)
            cut = 1;
        char b[64];
        ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            cut = 1;
        tapi_sleep(0.2);
    }
    close(fd);
    ck_assert_msg(cut, "a trickling body kept its connection for %.1f s", util_monotonic() - t0);
    /* nothing of it was stored */
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM documents WHERE annotation_id = %lld",
             (long long)s);
    ck_assert_int_eq(tsql_int(&a.ts, sql), 0);
    tserver_cleanup(&a.ts);
}
END_TEST

Suite *api_framing_suite(void)
{
    Suite *s = suite_create("api_framing");
    TCase *tc = tcase_create("framing");

    tcase_set_timeout(tc, 60 * TAPI_SLOW);
    tcase_add_test(tc, test_ambiguous_framing_is_400_and_close);
    tcase_add_test(tc, test_good_requests_still_keep_alive);
    tcase_add_test(tc, test_early_answers_keep_alive);
    tcase_add_test(tc, test_library_decided_cases_are_harmless);
    tcase_add_test(tc, test_stop_answers_requests_in_flight);
    tcase_add_test(tc, test_slow_head_is_cut);
    tcase_add_test(tc, test_per_address_limit);
    tcase_add_test(tc, test_upload_budget);
    tcase_add_test(tc, test_slow_body_is_cut);
    suite_add_tcase(s, tc);
    return s;
}
