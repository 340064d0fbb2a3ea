/* SPDX-License-Identifier: MIT */
/*
 * Durability of acknowledged creates (the README's guarantee): a 201 means
 * the model row is on disk. Several clients create models concurrently
 * against the real binary; right after the last 201 the daemon is killed
 * with SIGKILL (no chance to flush anything), restarted on the same files,
 * and every model that was answered 201 must be there, with the name it was
 * created with.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testapi.h"

#define DUR_CLIENTS 4
#define DUR_PER_CLIENT 30

struct dur_client {
    struct tapi *a;
    int64_t session;
    int index;
    int64_t ids[DUR_PER_CLIENT];
    int n_ok;      /* answered 201 */
    int n_other;   /* answered something else (recorded, not fatal here) */
    long last_bad; /* the last non-201 status */
};

static void *dur_client_run(void *arg)
{
    struct dur_client *cl = arg;
    char path[64], body[256];

    tapi_path(cl->a, 0, NULL, path, sizeof(path));
    for (int i = 0; i < DUR_PER_CLIENT; i++) {
        struct tresp r;

        snprintf(body, sizeof(body),
                 "{\"name\":\"dur-%d-%d\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
                 cl->index, i, (long long)cl->session);
        tjson(&cl->a->ts, "POST", path, cl->a->mgr, body, &r);
        if (r.status == 201) {
            cl->ids[cl->n_ok++] = json_integer_value(json_object_get(r.json, "id"));
        } else {
            cl->n_other++;
            cl->last_bad = r.status;
        }
        tresp_release(&r);
    }
    return NULL;
}

START_TEST(test_kill9_after_201)
{
    const char *bin = getenv("MODELD_BIN") ? getenv("MODELD_BIN") : "build/rel/modeld";
    struct dur_client cl[DUR_CLIENTS];
    pthread_t th[DUR_CLIENTS];
    struct tapi a;
    int64_t session;
    int status, total = 0;
    pid_t pid;

    if (access(bin, X_OK) != 0) {
        tskip_needed("durability test needs MODELD_BIN");
        return;
    }
    tapi_start(&a, 0);
    tserver_stop(&a.ts);
    session = tapi_session(&a, "docs", "CLASS", "en", tapi_data_class("en", 6));

    /* one worker: trainings run (and write) while the creates arrive */
    pid = tspawn_serve(&a.ts, "1");
    for (int i = 0; i < DUR_CLIENTS; i++) {
        memset(&cl[i], 0, sizeof(cl[i]));
        cl[i].a = &a;
        cl[i].session = session;
        cl[i].index = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, dur_client_run, &cl[i]), 0);
    }
    for (int i = 0; i < DUR_CLIENTS; i++)
        pthread_join(th[i], NULL);
    /* right after the last answer: no grace, no flush */
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    for (int i = 0; i < DUR_CLIENTS; i++) {
        ck_assert_msg(cl[i].n_other == 0, "client %d: %d creates not answered 201 (last %ld)", i,
                      cl[i].n_other, cl[i].last_bad);
        total += cl[i].n_ok;
    }
    ck_assert_int_eq(total, DUR_CLIENTS * DUR_PER_CLIENT);

    pid = tspawn_serve(&a.ts, "1");
    for (int i = 0; i < DUR_CLIENTS; i++) {
        for (int k = 0; k < cl[i].n_ok; k++) {
            char name[32];
            json_t *v = tapi_get(&a, cl[i].ids[k]); /* asserts 200 */

            snprintf(name, sizeof(name), "dur-%d-%d", i, k);
            ck_assert_str_eq(tapi_str(v, "name"), name);
            json_decref(v);
        }
    }
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "serve did not stop cleanly: %d",
                  status);
    tserver_cleanup(&a.ts);
}
END_TEST

Suite *api_durability_suite(void)
{
    Suite *s = suite_create("api_durability");
    TCase *tc = tcase_create("kill9");

    tcase_set_timeout(tc, 120 * TAPI_SLOW);
    tcase_add_test(tc, test_kill9_after_201);
    suite_add_tcase(s, tc);
    return s;
}
