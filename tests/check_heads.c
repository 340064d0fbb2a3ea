/* SPDX-License-Identifier: MIT */
/*
 * Tests of heads_: model type and polarity names, and head evaluation on
 * hand-computed examples (multi-label, binary and multiclass heads, the
 * one-output constant head, sparse rows, the extra indicator input), argmax
 * ties, head and label lookup.
 */
#include <check.h>
#include <math.h>

#include "heads.h"

Suite *heads_suite(void);

static double sig(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/* A head over 3 inputs stored dense in static arrays (nothing to free). */
static struct artifact_head head3(uint32_t kind, uint32_t n_out, uint32_t n_w, char **labels,
                                  float *w, float *bias)
{
    return (struct artifact_head){.name = (char *)"h",
                                  .kind = kind,
                                  .n_out = n_out,
                                  .labels = labels,
                                  .n_w = n_w,
                                  .n_in = 3,
                                  .n_rows = 3,
                                  .w = w,
                                  .bias = bias,
                                  .threshold = 0.5f};
}

/* x = 1.0 at input 0, 0.5 at input 2 */
static uint32_t X_IDX[] = {0, 2};
static float X_VAL[] = {1.0f, 0.5f};
static const struct feat_vec X = {X_IDX, X_VAL, 2, 2};

START_TEST(test_names)
{
    /* model types are enum model_type (check_domain.c) */
    for (int i = 0; i < HEADS_N_POL; i++)
        ck_assert_int_eq(heads_polarity_id(heads_polarity_name(i)), i);
    ck_assert_str_eq(heads_polarity_name(0), "positive");
    ck_assert_str_eq(heads_polarity_name(3), "conflict");
    ck_assert_int_eq(heads_polarity_id("Positive"), -1);
    ck_assert_int_eq(heads_polarity_id(NULL), -1);
}
END_TEST

START_TEST(test_probs_multilabel)
{
    char *labels[] = {(char *)"a", (char *)"b"};
    float w[] = {1.0f, -1.0f, 5.0f, 5.0f, 2.0f, 0.5f}; /* rows 0..2 × 2 outputs */
    float bias[] = {0.25f, -0.5f};
    struct artifact_head h = head3(ARTIFACT_HEAD_MULTILABEL, 2, 2, labels, w, bias);
    double p[2];
    heads_probs(&h, &X, -1, p);
    ck_assert_double_eq_tol(p[0], sig(0.25 + 1.0 + 0.5 * 2.0), 1e-12);
    ck_assert_double_eq_tol(p[1], sig(-0.5 - 1.0 + 0.5 * 0.5), 1e-12);
    /* the extra input (row 1) adds its row with value 1 */
    heads_probs(&h, &X, 1, p);
    ck_assert_double_eq_tol(p[0], sig(0.25 + 1.0 + 1.0 + 5.0), 1e-12);
    ck_assert_double_eq_tol(p[1], sig(-0.5 - 1.0 + 0.25 + 5.0), 1e-12);
    /* an extra input outside the head adds nothing */
    heads_probs(&h, &X, 7, p);
    ck_assert_double_eq_tol(p[0], sig(0.25 + 1.0 + 1.0), 1e-12);
}
END_TEST

START_TEST(test_probs_multiclass)
{
    char *labels[] = {(char *)"x", (char *)"y", (char *)"z"};
    double p[3];

    /* binary: one column, the score of labels[1] */
    float wb[] = {2.0f, 0.0f, -1.0f};
    float bb[] = {-0.5f};
    struct artifact_head b = head3(ARTIFACT_HEAD_MULTICLASS, 2, 1, labels, wb, bb);
    heads_probs(&b, &X, -1, p);
    ck_assert_double_eq_tol(p[1], sig(-0.5 + 2.0 - 0.5), 1e-12);
    ck_assert_double_eq_tol(p[0] + p[1], 1.0, 1e-12);

    /* three classes: OvR probabilities normalized to sum 1 */
    float w3[] = {1, 0, 0, 0, 0, 0, 0, 2, -2};
    float b3[] = {0, 0, 0};
    struct artifact_head m = head3(ARTIFACT_HEAD_MULTICLASS, 3, 3, labels, w3, b3);
    heads_probs(&m, &X, -1, p);
    double s0 = sig(1.0), s1 = sig(1.0), s2 = sig(-1.0), sum = s0 + s1 + s2;
    ck_assert_double_eq_tol(p[0], s0 / sum, 1e-12);
    ck_assert_double_eq_tol(p[1], s1 / sum, 1e-12);
    ck_assert_double_eq_tol(p[2], s2 / sum, 1e-12);
    ck_assert_uint_eq(heads_argmax(p, 3), 0); /* tie 0/1: the first */

    /* one output (a single polarity seen in training): always 1 */
    float w1[] = {9, 9, 9};
    float b1[] = {-30};
    struct artifact_head c = head3(ARTIFACT_HEAD_MULTICLASS, 1, 1, labels, w1, b1);
    heads_probs(&c, &X, -1, p);
    ck_assert(p[0] == 1.0);
}
END_TEST

START_TEST(test_probs_sparse)
{
    char *labels[] = {(char *)"a"};
    uint32_t rows[] = {2}; /* only input 2 has a non-zero row */
    float w[] = {4.0f};
    float bias[] = {-1.0f};
    struct artifact_head h = head3(ARTIFACT_HEAD_MULTILABEL, 1, 1, labels, w, bias);
    h.rows = rows;
    h.n_rows = 1;
    double p;
    heads_probs(&h, &X, -1, &p);
    ck_assert_double_eq_tol(p, sig(-1.0 + 0.5 * 4.0), 1e-12);
    const struct feat_vec empty = {NULL, NULL, 0, 0};
    heads_probs(&h, &empty, -1, &p);
    ck_assert_double_eq_tol(p, sig(-1.0), 1e-12);
}
END_TEST

START_TEST(test_argmax_find_label)
{
    const double p[] = {0.1, 0.7, 0.7, 0.2};
    ck_assert_uint_eq(heads_argmax(p, 4), 1);
    ck_assert_uint_eq(heads_argmax(p, 1), 0);

    char *l1[] = {(char *)"pos", (char *)"neg"};
    char *l2[] = {(char *)"FOOD", (char *)"SERVICE", (char *)"PRICE"};
    struct artifact_head hs[2] = {{.name = (char *)"category", .n_out = 3, .labels = l2},
                                  {.name = (char *)"polarity", .n_out = 2, .labels = l1}};
    struct artifact a = {.n_heads = 2, .heads = hs};
    ck_assert_ptr_eq(heads_find(&a, "polarity"), &hs[1]);
    ck_assert_ptr_eq(heads_find(&a, "category"), &hs[0]);
    ck_assert_ptr_null(heads_find(&a, "class"));
    ck_assert_int_eq(heads_label(&hs[0], "PRICE"), 2);
    ck_assert_int_eq(heads_label(&hs[0], "price"), -1);
    ck_assert_int_eq(heads_label(&hs[1], "pos"), 0);
}
END_TEST

Suite *heads_suite(void)
{
    Suite *s = suite_create("heads");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_probs_multilabel);
    tcase_add_test(tc, test_probs_multiclass);
    tcase_add_test(tc, test_probs_sparse);
    tcase_add_test(tc, test_argmax_find_label);
    suite_add_tcase(s, tc);
    return s;
}
