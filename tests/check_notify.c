/* SPDX-License-Identifier: MIT */
/*
 * notify: the hub of model changes without HTTP: who hears what (a model's
 * subscribers, its project's, nobody else), coalescing per model, the
 * bound that turns into a resync, and waking.
 */
#include "notify.h"
#include "testutil.h"

static void count_wake(void *arg)
{
    (*(int *)arg)++;
}

START_TEST(test_scopes_and_coalescing)
{
    struct notify_hub *h = notify_hub_new();
    struct notify_sub *m5, *p1, *p2;
    struct notify_change ch[8];
    int wakes_m5 = 0, wakes_p2 = 0, resync = -1;

    ck_assert_ptr_nonnull(h);
    m5 = notify_subscribe(h, NOTIFY_MODEL, 5);
    p1 = notify_subscribe(h, NOTIFY_PROJECT, 1);
    p2 = notify_subscribe(h, NOTIFY_PROJECT, 2);
    ck_assert(m5 && p1 && p2);
    notify_model_changed(h, 1, 5, NOTIFY_CREATED); /* recorded before watch */
    notify_sub_watch(m5, count_wake, &wakes_m5);
    ck_assert_int_eq(wakes_m5, 1); /* something was pending */
    notify_sub_watch(p2, count_wake, &wakes_p2);
    notify_model_changed(h, 1, 5, NOTIFY_CHANGED);
    notify_model_changed(h, 1, 6, NOTIFY_CHANGED);
    notify_model_changed(h, 1, 6, NOTIFY_DELETED);
    ck_assert_int_eq(wakes_m5, 2);
    ck_assert_int_eq(wakes_p2, 0);

    ck_assert_uint_eq(notify_sub_take(m5, ch, 8, &resync), 1);
    ck_assert_int_eq(resync, 0);
    ck_assert_int_eq(ch[0].model_id, 5);
    ck_assert_int_eq(ch[0].kind, NOTIFY_CREATED); /* CHANGED does not hide the creation */

    ck_assert_uint_eq(notify_sub_take(p1, ch, 1, &resync), 1); /* oldest first, in parts */
    ck_assert_int_eq(ch[0].model_id, 5);
    ck_assert_uint_eq(notify_sub_take(p1, ch, 8, &resync), 1);
    ck_assert_int_eq(ch[0].model_id, 6);
    ck_assert_int_eq(ch[0].kind, NOTIFY_DELETED);
    ck_assert_uint_eq(notify_sub_take(p1, ch, 8, &resync), 0);
    ck_assert_uint_eq(notify_sub_take(p2, ch, 8, &resync), 0);
    ck_assert_int_eq(resync, 0);

    notify_unsubscribe(m5);
    notify_model_changed(h, 1, 5, NOTIFY_CHANGED);
    ck_assert_int_eq(wakes_m5, 2); /* gone: not woken */
    notify_unsubscribe(p1);
    notify_unsubscribe(p2);
    notify_hub_free(h);
}
END_TEST

START_TEST(test_overflow_and_all_changed_resync)
{
    struct notify_hub *h = notify_hub_new();
    struct notify_sub *p = notify_subscribe(h, NOTIFY_PROJECT, 3);
    struct notify_sub *m = notify_subscribe(h, NOTIFY_MODEL, 9);
    struct notify_change ch[4];
    int resync = -1;

    ck_assert(h && p && m);
    for (int64_t id = 1; id <= NOTIFY_PENDING_MAX; id++)
        notify_model_changed(h, 3, id, NOTIFY_CHANGED);
    ck_assert_uint_eq(notify_sub_take(p, ch, 4, &resync), 4);
    ck_assert_int_eq(resync, 0);
    notify_model_changed(h, 3, NOTIFY_PENDING_MAX + 1, NOTIFY_CHANGED); /* still room */
    notify_model_changed(h, 3, NOTIFY_PENDING_MAX + 2, NOTIFY_CHANGED);
    notify_model_changed(h, 3, NOTIFY_PENDING_MAX + 3, NOTIFY_CHANGED);
    notify_model_changed(h, 3, NOTIFY_PENDING_MAX + 4, NOTIFY_CHANGED);
    notify_model_changed(h, 3, NOTIFY_PENDING_MAX + 5, NOTIFY_CHANGED); /* one too many */
    ck_assert_uint_eq(notify_sub_take(p, ch, 4, &resync), 0);
    ck_assert_int_eq(resync, 1);
    notify_sub_take(p, ch, 4, &resync);
    ck_assert_int_eq(resync, 0); /* told once */

    notify_all_changed(h);
    ck_assert_uint_eq(notify_sub_take(m, ch, 4, &resync), 0);
    ck_assert_int_eq(resync, 1);
    notify_sub_take(p, ch, 4, &resync);
    ck_assert_int_eq(resync, 1);
    notify_unsubscribe(p);
    notify_unsubscribe(m);
    notify_hub_free(h);
    notify_model_changed(NULL, 1, 1, NOTIFY_CHANGED); /* no hub: nothing */
    notify_all_changed(NULL);
}
END_TEST

Suite *notify_suite(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("hub");

    tcase_add_test(tc, test_scopes_and_coalescing);
    tcase_add_test(tc, test_overflow_and_all_changed_resync);
    suite_add_tcase(s, tc);
    return s;
}
