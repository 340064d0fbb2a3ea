/* SPDX-License-Identifier: MIT */
/* domain: names round-trip, unknown names are refused, the status rules. */
#include <check.h>
#include <string.h>

#include "domain.h"
#include "testutil.h"

START_TEST(test_names_round_trip)
{
    for (int i = 0; i < STATUS_COUNT; i++) {
        enum model_status s;
        ck_assert_int_eq(domain_status_parse(domain_status_name((enum model_status)i), &s), 0);
        ck_assert_int_eq(s, i);
        ck_assert_str_eq(domain_status_names[i], domain_status_name((enum model_status)i));
    }
    for (int i = 0; i < TYPE_COUNT; i++) {
        enum model_type t;
        ck_assert_int_eq(domain_type_parse(domain_type_name((enum model_type)i), &t), 0);
        ck_assert_int_eq(t, i);
    }
    for (int i = 0; i < LANG_COUNT; i++) {
        enum language l;
        ck_assert_int_eq(domain_language_parse(domain_language_name((enum language)i), &l), 0);
        ck_assert_int_eq(l, i);
    }
    for (int i = ROLE_VIEWER; i < ROLE_COUNT; i++) {
        enum role r;
        ck_assert_int_eq(domain_role_parse(domain_role_name((enum role)i), &r), 0);
        ck_assert_int_eq(r, i);
        ck_assert_str_eq(domain_role_names[i - ROLE_VIEWER], domain_role_name((enum role)i));
    }
    ck_assert_ptr_null(domain_status_names[STATUS_COUNT]);
    ck_assert_ptr_null(domain_role_names[ROLE_COUNT - ROLE_VIEWER]);
    /* annotation types are the model types without BASE */
    for (int i = 0; domain_annotation_type_names[i]; i++)
        ck_assert_str_eq(domain_annotation_type_names[i], domain_type_name((enum model_type)(i + 1)));
    ck_assert_str_eq(domain_status_name((enum model_status)99), "?");
}
END_TEST

START_TEST(test_unknown_names)
{
    enum model_status s = STATUS_READY;
    enum role r = ROLE_OWNER;
    enum language l = LANG_AR;
    static const char *const bad[] = {"", "ready", "READY ", "NONE", "EN", NULL};

    for (int i = 0; bad[i]; i++) {
        ck_assert_int_eq(domain_status_parse(bad[i], &s), -1);
        ck_assert_int_eq(domain_role_parse(bad[i], &r), -1);
        ck_assert_int_eq(domain_language_parse(bad[i], &l), -1);
    }
    ck_assert_int_eq(domain_status_parse(NULL, &s), -1);
    ck_assert_int_eq(s, STATUS_READY); /* untouched */
    ck_assert_int_eq(r, ROLE_OWNER);
    ck_assert_int_eq(l, LANG_AR);
}
END_TEST

START_TEST(test_status_rules)
{
    /* the PATCH graph: READY -> ACTIVE -> PUBLISHED -> READY, ACTIVE -> READY, self on trained */
    static const int ok[STATUS_COUNT][STATUS_COUNT] = {
        [STATUS_READY] = {[STATUS_READY] = 1, [STATUS_ACTIVE] = 1},
        [STATUS_ACTIVE] = {[STATUS_ACTIVE] = 1, [STATUS_PUBLISHED] = 1, [STATUS_READY] = 1},
        [STATUS_PUBLISHED] = {[STATUS_PUBLISHED] = 1, [STATUS_READY] = 1},
    };

    for (int f = 0; f < STATUS_COUNT; f++)
        for (int t = 0; t < STATUS_COUNT; t++)
            ck_assert_msg(domain_status_patch_ok((enum model_status)f, (enum model_status)t) ==
                              ok[f][t],
                          "%s -> %s", domain_status_name((enum model_status)f),
                          domain_status_name((enum model_status)t));
    for (int i = 0; i < STATUS_COUNT; i++) {
        enum model_status s = (enum model_status)i;
        int trained = s == STATUS_READY || s == STATUS_ACTIVE || s == STATUS_PUBLISHED;

        ck_assert_int_eq(domain_status_trained(s), trained);
        ck_assert_int_eq(domain_status_final(s), trained || s == STATUS_FAILED);
        ck_assert_int_eq(domain_status_cancelable(s), !trained && s != STATUS_FAILED);
    }
}
END_TEST

Suite *domain_suite(void)
{
    Suite *s = suite_create("domain");
    TCase *tc = tcase_create("domain");

    tcase_add_test(tc, test_names_round_trip);
    tcase_add_test(tc, test_unknown_names);
    tcase_add_test(tc, test_status_rules);
    suite_add_tcase(s, tc);
    return s;
}
