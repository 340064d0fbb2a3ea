/* SPDX-License-Identifier: MIT */
/*
 * Storage faults, walked: for N = 1, 2, ... the N-th storage statement after
 * the request starts fails (db_fault_inject), through a session create, a
 * document upload and a model create, each with an Idempotency-Key. Every
 * answer must be a success or a clean 500 problem; after a failure the
 * database holds exactly what it held before (nothing half-written, staged
 * rows discarded), and the retry with the same key does the work once. The
 * walk ends when a request needs fewer than N statements.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "testwalk.h"

/* The database is back to before (staged rows of a failed upload are
 * discarded when its request ends, just after its answer: allow 2 s). */
static void assert_unchanged(struct tapi *a, const int64_t before[TWALK_N_SNAP], const char *what,
                             long n)
{
    int64_t now[TWALK_N_SNAP];
    double t0 = util_monotonic();

    for (;;) {
        int same = 1;

        twalk_snapshot(a, now);
        for (int i = 0; i < TWALK_N_SNAP; i++)
            same &= now[i] == before[i];
        if (same)
            return;
        if (util_monotonic() - t0 > 2 * TAPI_SLOW)
            break;
        tapi_sleep(0.02);
    }
    for (int i = 0; i < TWALK_N_SNAP; i++)
        ck_assert_msg(now[i] == before[i], "%s, fault at statement %ld: %s went %lld -> %lld",
                      what, n, TWALK_SNAPSHOT[i], (long long)before[i], (long long)now[i]);
}


static void walk(struct tapi *a, enum twalk_op op, int64_t session, const char *what)
{
    long n, failures = 0;

    for (n = 1; n < 200; n++) {
        int64_t before[TWALK_N_SNAP];
        struct tresp r, retry, again;
        char key[64];
        long pending;

        snprintf(key, sizeof key, "%s-%ld", what, n);
        twalk_snapshot(a, before);
        db_fault_inject(n);
        twalk_op(a, op, session, n, key, &r);
        pending = db_fault_pending();
        db_fault_inject(0);
        if (r.status >= 200 && r.status < 300) {
            /* done (the fault came after the commit, or never): a retry replays it */
            twalk_op(a, op, session, n, key, &retry);
            ck_assert_msg(retry.status == r.status && strcmp(retry.replayed, "true") == 0,
                          "%s, fault at %ld: retry of a %ld got %ld (replayed '%s')", what, n,
                          r.status, retry.status, retry.replayed);
            tresp_release(&retry);
        } else {
            failures++;
            ck_assert_msg(r.status == 500, "%s, fault at %ld: %ld %s", what, n, r.status,
                          r.body ? r.body : "");
            tassert_problem(&r, 500);
            assert_unchanged(a, before, what, n);
            /* nothing was remembered: the retry does the work, once */
            twalk_op(a, op, session, n, key, &retry);
            ck_assert_msg(retry.status == 201, "%s, fault at %ld: retry got %ld %s", what, n,
                          retry.status, retry.body ? retry.body : "");
            ck_assert_str_eq(retry.replayed, "");
            twalk_op(a, op, session, n, key, &again);
            ck_assert_int_eq(again.status, 201);
            ck_assert_str_eq(again.replayed, "true");
            tresp_release(&retry);
            tresp_release(&again);
        }
        tresp_release(&r);
        if (pending > 0) /* the request needed fewer than n statements: walked through */
            break;
    }
    fprintf(stderr, "fault walk %s: %ld statements, %ld clean failures\n", what, n - 1, failures);
    ck_assert_int_lt(n, 200);
    ck_assert_int_gt(failures, 3); /* the walk did reach the request's statements */
}

START_TEST(test_fault_walk)
{
    struct tapi a;
    int64_t s;

    tapi_start(&a, 1);
    s = tapi_empty_session(&a, "target", "CLASS", "en");
    walk(&a, TWALK_SESSION, 0, "session");
    walk(&a, TWALK_UPLOAD, s, "upload");
    walk(&a, TWALK_MODEL, s, "model");
    /* and the daemon still serves */
    {
        struct tresp r;
        thttp(&a.ts, "GET", "/readyz", NULL, NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        tresp_release(&r);
    }
    tserver_cleanup(&a.ts);
}
END_TEST

Suite *faults_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("storage");

    tcase_set_timeout(tc, 120 * TAPI_SLOW);
    tcase_add_test(tc, test_fault_walk);
    suite_add_tcase(s, tc);
    return s;
}
