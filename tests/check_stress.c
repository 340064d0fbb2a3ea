/* SPDX-License-Identifier: MIT */
/*
 * Bounded load checks, run by `make stress` (MODELD_STRESS=1) and not by
 * `make test`, since they measure time and memory on a shared machine:
 *  - a flood of clients trickling request heads from several source
 *    addresses: every one is cut after --head-timeout, and a normal client
 *    is served quickly all the while;
 *  - memory returns after a training: RSS within 2x the idle RSS plus a
 *    predictor's worth once the job is done;
 *  - a 60 MB upload while other clients write: none of them gets a 5xx or
 *    waits more than 500 ms, and the upload is stored whole;
 *  - concurrent uploads past --upload-budget: the overflow gets 503 with
 *    Retry-After and the memory stays bounded by the budget.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "testapi.h"

static int stress_enabled(void)
{
    if (getenv("MODELD_STRESS"))
        return 1;
    tskip("stress checks (run them with make stress)");
    return 0;
}

static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
            break;
    fclose(f);
    return v;
}

enum { PER_ADDR = 80, N_ADDR = 3, N_SLOW = PER_ADDR * N_ADDR };

START_TEST(test_slow_header_flood)
{
    struct tapi a;
    int fd[N_SLOW];
    static const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa";

    if (!stress_enabled())
        return;
    tapi_start(&a, 1);
    tserver_stop(&a.ts);
    a.ts.cfg.head_timeout = 3;
    tserver_restart(&a.ts, 1);
    for (int i = 0; i < N_SLOW; i++) {
        char src[32];
        struct sockaddr_in b = {.sin_family = AF_INET};
        struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(a.ts.port)};
        snprintf(src, sizeof src, "127.0.0.%d", 2 + i / PER_ADDR);
        inet_pton(AF_INET, src, &b.sin_addr);
        s.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd[i] = socket(AF_INET, SOCK_STREAM, 0);
        ck_assert_int_ge(fd[i], 0);
        ck_assert_int_eq(bind(fd[i], (struct sockaddr *)&b, sizeof b), 0);
        ck_assert_int_eq(connect(fd[i], (struct sockaddr *)&s, sizeof s), 0);
    }
    double t0 = util_monotonic(), worst = 0;
    int served = 0;
    for (size_t k = 0; k < sizeof head - 1 && util_monotonic() - t0 < 6; k++) {
        for (int i = 0; i < N_SLOW; i++)
            send(fd[i], head + k, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        /* a normal client meanwhile */
        struct tresp r;
        double q = util_monotonic();
        thttp(&a.ts, "GET", "/healthz", NULL, NULL, NULL, &r);
        double took = util_monotonic() - q;
        served += r.status == 200;
        tresp_release(&r);
        if (took > worst)
            worst = took;
        tapi_sleep(0.25);
    }
    fprintf(stderr, "slow-header flood: %d slow clients, normal requests served %d, worst %.3f s\n",
            N_SLOW, served, worst);
    ck_assert_int_gt(served, 0);
    ck_assert_msg(worst < 1.0, "a normal request waited %.3f s during the flood", worst);
    /* every trickling client has been cut by now (3 s deadline, 6 s elapsed) */
    int open = 0;
    for (int i = 0; i < N_SLOW; i++) {
        char b[64];
        ssize_t n = recv(fd[i], b, sizeof b, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            open++;
        close(fd[i]);
    }
    ck_assert_msg(open == 0, "%d of %d slow clients still connected", open, N_SLOW);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_memory_returns_after_training)
{
    struct tapi a;
    struct tresp r;
    char path[128];

    if (!stress_enabled())
        return;
    tapi_start(&a, 1);
    char *lines = tapi_shared_lines("spamassassin_en.jsonl", 4000);
    if (!lines) {
        tserver_cleanup(&a.ts);
        return;
    }
    int64_t s = tapi_session(&a, "spam", "CLASS", "en", lines);
    tapi_sleep(0.5);
    long idle = rss_kib();
    int64_t m = tapi_model_on(&a, "spam", "en", s);
    json_decref(tapi_wait_ready(&a, m, 300));
    tapi_path(&a, m, "/predict", path, sizeof path);
    tjson(&a.ts, "POST", path, a.viewer, "{\"texts\":[\"win money now\"]}", &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    tapi_sleep(0.5);
    long after = rss_kib();
    fprintf(stderr, "memory after training: RSS %ld KiB idle (documents loaded), %ld KiB after\n",
            idle, after);
    ck_assert_msg(after <= 2 * idle + 16 * 1024, "RSS %ld KiB after training, %ld KiB idle", after,
                  idle);
    tserver_cleanup(&a.ts);
}
END_TEST

/* ---- big uploads ---------------------------------------------------------- */

/* NDJSON documents of about 36 bytes until total bytes are produced. */
struct gen_docs {
    long long total, sent;
    long n;          /* documents produced */
    char pending[128];
    size_t plen, poff;
};

static size_t gen_docs(char *buf, size_t len, void *ctx)
{
    struct gen_docs *g = ctx;
    size_t out = 0;

    while (out < len) {
        if (g->poff == g->plen) {
            if (g->sent >= g->total)
                break;
            g->plen = (size_t)snprintf(g->pending, sizeof g->pending,
                                       "{\"text\":\"w%ld x%ld\",\"class\":\"c%ld\"}\n", g->n % 9973,
                                       g->n % 101, g->n % 3);
            g->poff = 0;
            g->n++;
        }
        size_t k = g->plen - g->poff;
        if (k > len - out)
            k = len - out;
        memcpy(buf + out, g->pending + g->poff, k);
        g->poff += k;
        g->sent += (long long)k;
        out += k;
    }
    return out;
}

struct upload_job {
    struct tapi *a;
    char path[128];
    long long bytes;
    struct tresp r;
    long docs;
    int rc;
    atomic_int finished;
};

static void *upload_thread(void *arg)
{
    struct upload_job *u = arg;
    struct gen_docs g = {.total = u->bytes};

    u->rc = thttp_stream(&u->a->ts, "POST", u->path, u->a->annot, "application/x-ndjson",
                         gen_docs, &g, -1, &u->r);
    u->docs = g.n;
    atomic_store(&u->finished, 1);
    return NULL;
}

START_TEST(test_big_upload_during_writes)
{
    struct tapi a;
    struct upload_job u = {0};
    pthread_t th;
    char sessions[64], small[128];
    double worst = 0, t_end;
    long writes = 0, fives = 0;
    int64_t big, other;

    if (!stress_enabled())
        return;
    tapi_start(&a, 1);
    big = tapi_empty_session(&a, "big", "CLASS", "en");
    other = tapi_empty_session(&a, "other", "CLASS", "en");
    snprintf(sessions, sizeof sessions, "/projects/%lld/annotations", (long long)a.pr);
    snprintf(small, sizeof small, "/projects/%lld/annotations/%lld/documents", (long long)a.pr,
             (long long)other);
    u.a = &a;
    u.bytes = 60LL << 20;
    snprintf(u.path, sizeof u.path, "/projects/%lld/annotations/%lld/documents", (long long)a.pr,
             (long long)big);
    long idle = rss_kib();
    double t0 = util_monotonic();
    ck_assert_int_eq(pthread_create(&th, NULL, upload_thread, &u), 0);
    /* write all the while: sessions and one-document uploads */
    for (;;) {
        struct tresp r;
        char body[128];
        double q = util_monotonic();

        if (writes % 2 == 0) {
            snprintf(body, sizeof body, "{\"name\":\"s%ld\",\"type\":\"CLASS\",\"language\":\"en\"}",
                     writes);
            tjson(&a.ts, "POST", sessions, a.annot, body, &r);
        } else {
            thttp(&a.ts, "POST", small, a.annot, "application/x-ndjson",
                  "{\"text\":\"one more\",\"class\":\"c1\"}\n", &r);
        }
        q = util_monotonic() - q;
        if (r.status >= 500)
            fives++;
        ck_assert_msg(r.status == 201, "write %ld: %ld %s", writes, r.status, r.body);
        if (q > worst)
            worst = q;
        writes++;
        tresp_release(&r);
        if (atomic_load(&u.finished))
            break;
        {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    pthread_join(th, NULL);
    t_end = util_monotonic() - t0;
    ck_assert_int_eq(u.rc, 0);
    ck_assert_msg(u.r.status == 201, "big upload: %ld %s", u.r.status, u.r.body);
    ck_assert_int_eq(json_integer_value(json_object_get(u.r.json, "documents_added")), u.docs);
    ck_assert_int_eq(tsql_int(&a.ts, "SELECT document_count FROM annotations WHERE name = 'big'"),
                     u.docs);
    long peak = status_kib("VmHWM");
    fprintf(stderr,
            "60 MiB upload (%ld documents) in %.1f s beside %ld writes: worst write %.0f ms, "
            "%ld answers >= 500; RSS idle %ld KiB, peak %ld KiB (+%ld KiB)\n",
            u.docs, t_end, writes, worst * 1000, fives, idle, peak, peak - idle);
    ck_assert_int_eq(fives, 0);
    /* the documents are written in batches as they come: memory does not grow with the body */
    ck_assert_msg(peak - idle < 64 * 1024, "RSS grew by %ld KiB for a 60 MiB upload", peak - idle);
    ck_assert_msg(worst < 0.5, "a write waited %.0f ms during the upload", worst * 1000);
    tresp_release(&u.r);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_uploads_past_budget)
{
    enum { N = 6 };
    struct tapi a;
    struct upload_job u[N];
    pthread_t th[N];
    int ok = 0, refused = 0;
    int64_t s;

    if (!stress_enabled())
        return;
    tapi_start(&a, 0);
    tserver_stop(&a.ts);
    a.ts.cfg.upload_budget_mib = 16; /* two uploads at a time (8 MiB each) */
    tserver_restart(&a.ts, 0);
    s = tapi_empty_session(&a, "s", "CLASS", "en");
    long idle = rss_kib();
    memset(u, 0, sizeof u);
    for (int i = 0; i < N; i++) {
        u[i].a = &a;
        u[i].bytes = 20LL << 20;
        snprintf(u[i].path, sizeof u[i].path, "/projects/%lld/annotations/%lld/documents",
                 (long long)a.pr, (long long)s);
        ck_assert_int_eq(pthread_create(&th[i], NULL, upload_thread, &u[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        if (u[i].r.status == 201)
            ok++;
        else if (u[i].r.status == 503) {
            ck_assert_str_eq(u[i].r.retry_after, "5");
            refused++;
        } else {
            ck_abort_msg("upload %d: %ld %s", i, u[i].r.status, u[i].r.body ? u[i].r.body : "");
        }
        tresp_release(&u[i].r);
    }
    long peak = status_kib("VmHWM");
    fprintf(stderr,
            "%d uploads of 20 MiB under a 16 MiB budget: %d stored, %d refused (503); RSS idle "
            "%ld KiB, peak %ld KiB (+%ld KiB)\n",
            N, ok, refused, idle, peak, peak - idle);
    ck_assert_int_ge(ok, 1);
    ck_assert_int_ge(refused, 1);
    ck_assert_msg(peak - idle < (16 + 32) * 1024, "RSS grew by %ld KiB under a 16 MiB budget",
                  peak - idle);
    ck_assert_int_eq(ok + refused, N);
    tserver_cleanup(&a.ts);
}
END_TEST

Suite *stress_suite(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = tcase_create("stress");

    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_slow_header_flood);
    tcase_add_test(tc, test_memory_returns_after_training);
    tcase_add_test(tc, test_big_upload_during_writes);
    tcase_add_test(tc, test_uploads_past_budget);
    suite_add_tcase(s, tc);
    return s;
}
