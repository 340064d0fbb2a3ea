/* SPDX-License-Identifier: MIT */
/*
 * Bounded load checks, run by `make stress` (MODELD_STRESS=1) and not by
 * `make test`, since they measure time and memory on a shared machine:
 *  - a flood of clients trickling request heads from several source
 *    addresses: every one is cut after --head-timeout, and a normal client
 *    is served quickly all the while;
 *  - memory returns after a training: RSS within 2x the idle RSS plus a
 *    predictor's worth once the job is done.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
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
    fprintf(stderr, "skipped: stress checks (run them with make stress)\n");
    return 0;
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
        fprintf(stderr, "skipped: memory after training (no spamassassin_en.jsonl)\n");
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

Suite *stress_suite(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = tcase_create("stress");

    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_slow_header_flood);
    tcase_add_test(tc, test_memory_returns_after_training);
    suite_add_tcase(s, tc);
    return s;
}
