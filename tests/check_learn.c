/* SPDX-License-Identifier: MIT */
/*
 * Unit suite of learn_ (one-vs-rest logistic regression on LIBLINEAR): a
 * separable toy problem is learned, an output without positives gets the
 * constant bias, cross-validation scores each row with a model that did not
 * see its fold, and the choice of C is deterministic whatever the number of
 * threads.
 */
#include <check.h>
#include <string.h>

#include "learn.h"
#include "testutil.h"

#define N 40

struct toy {
    struct feature_node nodes[N][4];
    struct feature_node *rows[N];
    struct learn_data d;
    unsigned char Y[N * 2]; /* K = 2: output 0 "above the diagonal", output 1 never */
};

/* Points on a grid, labeled by the side of the line x2 = x1 + 0.5 they lie on. */
static void toy_init(struct toy *t)
{
    learn_global_init();
    for (int i = 0; i < N; i++) {
        double x1 = (double)(i % 8) / 4.0, x2 = (double)(i * 3 % 11) / 4.0;

        t->nodes[i][0] = (struct feature_node){1, x1};
        t->nodes[i][1] = (struct feature_node){2, x2};
        t->nodes[i][2] = (struct feature_node){3, 1.0}; /* bias */
        t->nodes[i][3] = (struct feature_node){-1, 0.0};
        t->rows[i] = t->nodes[i];
        t->Y[i * 2] = x2 > x1 + 0.5;
        t->Y[i * 2 + 1] = 0;
    }
    t->d = (struct learn_data){.n = N, .x = t->rows, .n_feat = 3};
}

START_TEST(test_separable)
{
    struct toy t;
    struct learn_opts o = {.n_threads = 1};
    struct err err = {0};
    double W[2 * 3];
    int pos = 0;

    toy_init(&t);
    ck_assert_int_eq(learn_fit(&t.d, t.Y, 2, 100.0, NULL, W, &o, &err), 0);
    for (int i = 0; i < N; i++) {
        double v = learn_dot(W, t.rows[i]);

        pos += t.Y[i * 2];
        ck_assert_msg((v > 0) == (t.Y[i * 2] == 1), "row %d: decision %g, label %d", i, v,
                      t.Y[i * 2]);
    }
    ck_assert_int_gt(pos, 5); /* both classes are there */
    ck_assert_int_lt(pos, N - 5);
    /* no positive: w = 0 and the constant bias */
    ck_assert(W[3] == 0.0 && W[4] == 0.0);
    ck_assert(W[5] == -LEARN_CONST_BIAS);
}
END_TEST

struct cv_score {
    const unsigned char *Y;
};

/* Accuracy of output 0's decision values. */
static double accuracy(void *ctx, size_t c, const double *dec)
{
    const struct cv_score *s = ctx;
    int ok = 0;

    (void)c;
    for (int i = 0; i < N; i++)
        ok += (dec[i * 2] > 0) == (s->Y[i * 2] == 1);
    return (double)ok / N;
}

START_TEST(test_cv_deterministic)
{
    static const double Cs[] = {0.01, 0.1, 1, 10, 100, 1000};
    struct toy t;
    struct err err = {0};
    struct cv_score sc;
    int fold[N];
    double dec1[N * 2], dec2[N * 2];
    size_t best1 = 99, best2 = 98, ran1 = 0, ran2 = 0;

    toy_init(&t);
    sc.Y = t.Y;
    for (int i = 0; i < N; i++)
        fold[i] = i % 4;
    {
        struct learn_opts o = {.n_threads = 1};
        ck_assert_int_eq(learn_cv(&t.d, t.Y, 2, fold, 4, Cs, 6, 2, accuracy, &sc, &best1, dec1,
                                  &ran1, &o, &err),
                         0);
    }
    {
        struct learn_opts o = {.n_threads = 3};
        ck_assert_int_eq(learn_cv(&t.d, t.Y, 2, fold, 4, Cs, 6, 2, accuracy, &sc, &best2, dec2,
                                  &ran2, &o, &err),
                         0);
    }
    ck_assert_uint_lt(best1, 6);
    ck_assert_uint_le(ran1, 6);
    ck_assert_uint_gt(ran1, best1); /* the best level ran */
    ck_assert_uint_eq(best1, best2);
    ck_assert_uint_eq(ran1, ran2);
    ck_assert_mem_eq(dec1, dec2, sizeof dec1);
    ck_assert_double_ge(accuracy(&sc, best1, dec1), 0.8);
}
END_TEST

START_TEST(test_cv_out_of_fold)
{
    static const double Cs[] = {1, 10};
    struct toy t;
    struct err err = {0};
    struct cv_score sc;
    struct learn_opts o = {.n_threads = 2};
    int fold[N];
    double dec[N * 2];
    size_t best = 0;

    toy_init(&t);
    sc.Y = t.Y;
    /* every positive of output 0 is in fold 0: the models that score fold 0
     * were trained without a positive, so they answer with the constant */
    for (int i = 0; i < N; i++)
        fold[i] = t.Y[i * 2] ? 0 : 1 + i % 2;
    ck_assert_int_eq(learn_cv(&t.d, t.Y, 2, fold, 3, Cs, 2, 1, accuracy, &sc, &best, dec, NULL,
                              &o, &err),
                     0);
    for (int i = 0; i < N; i++) {
        if (fold[i] == 0)
            ck_assert_double_eq(dec[i * 2], -LEARN_CONST_BIAS);
        ck_assert_double_eq(dec[i * 2 + 1], -LEARN_CONST_BIAS); /* output 1: never */
    }
}
END_TEST

START_TEST(test_cancel)
{
    struct toy t;
    atomic_int cancel = 1;
    struct learn_opts o = {.n_threads = 2, .cancel = &cancel};
    struct err err = {0};
    double W[2 * 3];

    toy_init(&t);
    ck_assert_int_eq(learn_fit(&t.d, t.Y, 2, 1.0, NULL, W, &o, &err), -1);
    ck_assert_int_eq(err.code, ERR_CANCELED);
}
END_TEST

Suite *learn_suite(void)
{
    Suite *s = suite_create("learn");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_separable);
    tcase_add_test(tc, test_cv_deterministic);
    tcase_add_test(tc, test_cv_out_of_fold);
    tcase_add_test(tc, test_cancel);
    suite_add_tcase(s, tc);
    return s;
}
