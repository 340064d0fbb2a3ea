/* SPDX-License-Identifier: MIT */
/*
 * Tests of metrics_: P/R/F1 arithmetic on hand-computed examples, 0/0 := 0,
 * micro pooling, macro over defined entries, JSON shape.
 */
#include <check.h>

#include "metrics.h"

Suite *metrics_suite(void);

START_TEST(test_prf)
{
    double p, r, f;
    metrics_prf(3, 1, 2, &p, &r, &f);
    ck_assert_double_eq_tol(p, 0.75, 1e-12);
    ck_assert_double_eq_tol(r, 0.6, 1e-12);
    ck_assert_double_eq_tol(f, 6.0 / 9.0, 1e-12);
    metrics_prf(0, 0, 0, &p, &r, &f);
    ck_assert(p == 0.0 && r == 0.0 && f == 0.0);
    metrics_prf(0, 2, 0, &p, &r, &f);
    ck_assert(p == 0.0 && r == 0.0 && f == 0.0);
}
END_TEST

START_TEST(test_micro_macro_json)
{
    struct metrics m;
    metrics_init(&m);
    /* a: tp 3 fp 1 fn 2; b: tp 1 fp 0 fn 0; c: nothing (undefined, not in macro) */
    ck_assert_int_eq(metrics_add(&m, "a", NULL, NULL), 0);
    ck_assert_int_eq(metrics_add(&m, "b", "label", NULL), 1);
    ck_assert_int_eq(metrics_add(&m, "c", NULL, NULL), 2);
    m.e[0].tp = 3, m.e[0].fp = 1, m.e[0].fn = 2;
    m.e[1].tp = 1;
    double p, r, f;
    metrics_micro(&m, &p, &r, &f);
    ck_assert_double_eq_tol(p, 4.0 / 5.0, 1e-12);
    ck_assert_double_eq_tol(r, 4.0 / 6.0, 1e-12);
    ck_assert_double_eq_tol(f, 8.0 / 11.0, 1e-12);
    metrics_macro(&m, &p, &r, &f);
    ck_assert_double_eq_tol(p, (0.75 + 1.0) / 2, 1e-12);
    ck_assert_double_eq_tol(f, (6.0 / 9.0 + 1.0) / 2, 1e-12);
    json_t *j = metrics_to_json(&m, "label", NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "unit")), "label");
    json_t *labels = json_object_get(j, "labels");
    ck_assert_uint_eq(json_array_size(labels), 3);
    json_t *a = json_array_get(labels, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(a, "support")), 5);
    ck_assert_ptr_null(json_object_get(a, "head"));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(labels, 1), "head")),
                     "label");
    ck_assert_double_eq_tol(
        json_real_value(json_object_get(json_object_get(j, "micro"), "f1")), 8.0 / 11.0, 1e-12);
    json_decref(j);
    metrics_release(&m);
}
END_TEST

START_TEST(test_accuracy_equivalence)
{
    /* single-label: a wrong prediction is one fp and one fn, so micro-F1 = accuracy */
    struct metrics m;
    metrics_init(&m);
    metrics_add(&m, "x", NULL, NULL);
    metrics_add(&m, "y", NULL, NULL);
    m.e[0].tp = 7; /* 7 right x */
    m.e[1].tp = 5; /* 5 right y */
    m.e[0].fp = 2, m.e[1].fn = 2; /* 2 y predicted as x */
    m.e[1].fp = 1, m.e[0].fn = 1; /* 1 x predicted as y */
    double f;
    metrics_micro(&m, NULL, NULL, &f);
    ck_assert_double_eq_tol(f, 12.0 / 15.0, 1e-12);
    metrics_release(&m);
}
END_TEST

Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_prf);
    tcase_add_test(tc, test_micro_macro_json);
    tcase_add_test(tc, test_accuracy_equivalence);
    suite_add_tcase(s, tc);
    return s;
}
