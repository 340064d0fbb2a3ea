/* SPDX-License-Identifier: MIT */
/*
 * Tests of transfer_: base weights carried by hashed index with the IDF
 * rescaling, category indicators matched by name, which base heads match,
 * stacked rows, the exact fold of stacked weights into a plain head, and
 * warm-start weights.
 */
#include <check.h>
#include <stdlib.h>

#include "transfer.h"

Suite *transfer_suite(void);

/* base: vocabulary hashes 10, 20, 30 with idf 1, 2, 4; a "label" head a/b */
static uint32_t B_IDX[] = {10, 20, 30};
static float B_IDF[] = {1, 2, 4};
static char *B_LAB[] = {(char *)"a", (char *)"b"};
static float B_W[] = {1, 2, 3, 4, 5, 6}; /* rows 0..2 × 2 outputs */
static float B_BIAS[] = {0.5f, -0.5f};
static struct artifact_head B_HEAD = {.name = (char *)"label",
                                      .kind = ARTIFACT_HEAD_MULTILABEL,
                                      .n_out = 2,
                                      .labels = B_LAB,
                                      .n_w = 2,
                                      .n_in = 3,
                                      .n_rows = 3,
                                      .w = B_W,
                                      .bias = B_BIAS};
static struct artifact BASE = {.vocab = {3, B_IDX, B_IDF}, .n_heads = 1, .heads = &B_HEAD};

/* new model: hashes 20, 30, 40 with idf 1, 2, 1; a "label" head b/c */
static uint32_t N_IDX[] = {20, 30, 40};
static float N_IDF[] = {1, 2, 1};
static const struct feat_vocab N_VOCAB = {3, N_IDX, N_IDF};
static const char *const N_LAB[] = {"b", "c"};

static struct transfer_head label_head(void)
{
    return (struct transfer_head){"label", ARTIFACT_HEAD_MULTILABEL, 2, N_LAB, 2, 3};
}

START_TEST(test_map)
{
    struct transfer_inputs in = {&N_VOCAB, NULL, 0};
    struct transfer_head h = label_head();
    struct transfer_map m;
    ck_assert_int_eq(transfer_map_build(&BASE, &in, &h, &m, NULL), 0);
    ck_assert_ptr_eq(m.bh, &B_HEAD);
    ck_assert_uint_eq(m.E, 2);
    ck_assert_uint_eq(m.n_in, 3);
    /* hash 20: base row 1 × idf 2/1; hash 30: base row 2 × 4/2; hash 40: unknown */
    const double want[2][3] = {{6, 10, 0}, {8, 12, 0}};
    for (size_t e = 0; e < 2; e++)
        for (size_t j = 0; j < 3; j++)
            ck_assert_double_eq_tol(m.wm[e * 3 + j], want[e][j], 1e-12);
    ck_assert_double_eq_tol(m.bb[0], 0.5, 1e-12);
    ck_assert_double_eq_tol(m.bb[1], -0.5, 1e-12);
    transfer_map_release(&m);
    ck_assert_ptr_null(m.wm);
    transfer_map_release(NULL);
}
END_TEST

START_TEST(test_no_match)
{
    struct transfer_inputs in = {&N_VOCAB, NULL, 0};
    struct transfer_map m;
    struct transfer_head h = label_head();
    ck_assert_int_eq(transfer_map_build(NULL, &in, &h, &m, NULL), 1);
    ck_assert_ptr_null(m.wm);
    h.name = "category";
    ck_assert_int_eq(transfer_map_build(&BASE, &in, &h, &m, NULL), 1);
    h = label_head();
    h.kind = ARTIFACT_HEAD_MULTICLASS;
    ck_assert_int_eq(transfer_map_build(&BASE, &in, &h, &m, NULL), 1);
    static const char *const other[] = {"c", "d"};
    h = label_head();
    h.labels = other;
    ck_assert_int_eq(transfer_map_build(&BASE, &in, &h, &m, NULL), 1);
    ck_assert_ptr_null(transfer_init(&BASE, &in, &h));
}
END_TEST

/* Stacked rows hold the mapped base scores, and the folded plain head gives
 * every row the decision value the stacked head gives its stacked row. */
START_TEST(test_stack_and_fold)
{
    struct transfer_inputs in = {&N_VOCAB, NULL, 0};
    struct transfer_head h = label_head();
    struct transfer_map m;
    ck_assert_int_eq(transfer_map_build(&BASE, &in, &h, &m, NULL), 0);

    struct feature_node ra[] = {{1, 0.5}, {3, 2.0}, {4, 1.0}, {-1, 0.0}};
    struct feature_node rb[] = {{2, 1.0}, {4, 1.0}, {-1, 0.0}};
    struct feature_node rc[] = {{4, 1.0}, {-1, 0.0}};
    struct feature_node *rows[] = {ra, rb, rc};
    struct learn_data d = {3, rows, 4}, sd;
    struct feature_node *nodes = NULL;
    ck_assert_int_eq(transfer_stack_rows(&m, &d, &sd, &nodes, NULL), 0);
    ck_assert_uint_eq(sd.n, 3);
    ck_assert_int_eq(sd.n_feat, 6);
    /* row a: inputs 1 and 3, the base scores as inputs 4 and 5, bias 6 */
    ck_assert_int_eq(sd.x[0][0].index, 1);
    ck_assert_int_eq(sd.x[0][1].index, 3);
    ck_assert_int_eq(sd.x[0][2].index, 4);
    ck_assert_double_eq_tol(sd.x[0][2].value, 0.5 + 6 * 0.5 + 0 * 2.0, 1e-12);
    ck_assert_int_eq(sd.x[0][3].index, 5);
    ck_assert_double_eq_tol(sd.x[0][3].value, -0.5 + 8 * 0.5, 1e-12);
    ck_assert_int_eq(sd.x[0][4].index, 6);
    ck_assert_double_eq_tol(sd.x[0][4].value, 1.0, 1e-12);
    ck_assert_int_eq(sd.x[0][5].index, -1);

    const double Ws[2 * 6] = {0.3, -1.2, 0.7, 0.25, -0.4, 0.1, -2.0, 0.5, 1.5, 0.0, 0.8, -0.3};
    double W[2 * 4];
    transfer_fold(&m, 2, Ws, W);
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < 2; k++)
            ck_assert_double_eq_tol(learn_dot(W + k * 4, d.x[i]), learn_dot(Ws + k * 6, sd.x[i]),
                                    1e-9);
    free(sd.x);
    free(nodes);
    transfer_map_release(&m);
}
END_TEST

START_TEST(test_init)
{
    struct transfer_inputs in = {&N_VOCAB, NULL, 0};
    struct transfer_head h = label_head();
    double *init = transfer_init(&BASE, &in, &h);
    ck_assert_ptr_nonnull(init);
    /* output 0 ("b") takes base column 1, output 1 ("c") stays 0 */
    const double want[2][4] = {{8, 12, 0, -0.5}, {0, 0, 0, 0}};
    for (size_t k = 0; k < 2; k++)
        for (size_t j = 0; j < 4; j++)
            ck_assert_double_eq_tol(init[k * 4 + j], want[k][j], 1e-12);
    free(init);
}
END_TEST

/* ABSA polarity head: indicator inputs follow the vocabulary and are matched
 * to the base's by category name. */
START_TEST(test_polarity_indicators)
{
    static uint32_t bidx[] = {10, 20};
    static float bidf[] = {1, 1};
    static char *cats[] = {(char *)"FOOD", (char *)"SERVICE"};
    static char *pols[] = {(char *)"positive", (char *)"negative"};
    static float pw[] = {1, 2, 3, 4}; /* 2 words + 2 category indicators */
    static float pb[] = {0.25f};
    struct artifact_head bh[2] = {
        {.name = (char *)"category", .kind = ARTIFACT_HEAD_MULTILABEL, .n_out = 2, .labels = cats},
        {.name = (char *)"polarity",
         .kind = ARTIFACT_HEAD_MULTICLASS,
         .n_out = 2,
         .labels = pols,
         .n_w = 1,
         .n_in = 4,
         .n_rows = 4,
         .w = pw,
         .bias = pb}};
    struct artifact base = {.vocab = {2, bidx, bidf}, .n_heads = 2, .heads = bh};

    static uint32_t nidx[] = {20};
    static float nidf[] = {1};
    const struct feat_vocab nv = {1, nidx, nidf};
    static const char *const ncats[] = {"PRICE", "SERVICE"};
    static const char *const npol[] = {"positive", "negative"};
    struct transfer_inputs in = {&nv, ncats, 2};
    struct transfer_head h = {"polarity", ARTIFACT_HEAD_MULTICLASS, 2, npol, 1, 3};
    struct transfer_map m;
    ck_assert_int_eq(transfer_map_build(&base, &in, &h, &m, NULL), 0);
    ck_assert_double_eq_tol(m.wm[0], 2, 1e-12); /* hash 20 */
    ck_assert_double_eq_tol(m.wm[1], 0, 1e-12); /* PRICE: unknown to the base */
    ck_assert_double_eq_tol(m.wm[2], 4, 1e-12); /* SERVICE */
    transfer_map_release(&m);

    /* binary warm start: only when both labels line up */
    double *init = transfer_init(&base, &in, &h);
    ck_assert_ptr_nonnull(init);
    ck_assert_double_eq_tol(init[2], 4, 1e-12);
    ck_assert_double_eq_tol(init[3], 0.25, 1e-12);
    free(init);
    static const char *const swapped[] = {"negative", "positive"};
    h.labels = swapped;
    ck_assert_ptr_null(transfer_init(&base, &in, &h));
}
END_TEST

Suite *transfer_suite(void)
{
    Suite *s = suite_create("transfer");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_map);
    tcase_add_test(tc, test_no_match);
    tcase_add_test(tc, test_stack_and_fold);
    tcase_add_test(tc, test_init);
    tcase_add_test(tc, test_polarity_indicators);
    suite_add_tcase(s, tc);
    return s;
}
