/* SPDX-License-Identifier: MIT */
/*
 * Unit suite of split_: the stratified 80/20 split (per-stratum shares, the
 * rounding carried across strata, a stratum never giving its last document,
 * explicit sets kept), its determinism (same seed and documents in any order
 * give the same split, another seed another one), duplicate removal, the
 * cross-validation folds, and the edge cases (no document, one document, one
 * class).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "split.h"
#include "testutil.h"

#define MAXD 64

struct docs {
    struct tdoc d[MAXD];
    char text[MAXD][32];
    size_t n;
};

/* Append per documents of class cls (texts "<cls> <i>"), with set. */
static void add(struct docs *s, const char *cls, int per, int set)
{
    for (int i = 0; i < per; i++) {
        size_t j = s->n++;

        ck_assert_uint_lt(j, MAXD);
        snprintf(s->text[j], sizeof s->text[j], "%s %d", cls, i);
        s->d[j] = (struct tdoc){.text = s->text[j], .cls = cls, .set = set};
    }
}

static size_t count(const unsigned char *set, size_t n, int which, const struct docs *s,
                    const char *cls)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        k += set[i] == which && (!cls || strcmp(s->d[i].cls, cls) == 0);
    return k;
}

static void assign(const struct docs *s, const char *seed, unsigned char *set)
{
    struct err err = {0};

    ck_assert_int_eq(split_assign(s->d, s->n, TYPE_CLASS, seed, set, &err), 0);
}

START_TEST(test_stratified)
{
    struct docs s = {0};
    unsigned char set[MAXD];

    add(&s, "a", 10, TDOC_AUTO);
    add(&s, "b", 10, TDOC_AUTO);
    add(&s, "c", 10, TDOC_AUTO);
    assign(&s, "seed", set);
    /* 20 % of each stratum */
    ck_assert_uint_eq(count(set, s.n, SPLIT_TEST, &s, "a"), 2);
    ck_assert_uint_eq(count(set, s.n, SPLIT_TEST, &s, "b"), 2);
    ck_assert_uint_eq(count(set, s.n, SPLIT_TEST, &s, "c"), 2);
}
END_TEST

START_TEST(test_rounding_carried)
{
    struct docs s = {0};
    unsigned char set[MAXD];

    /* 7 strata of 3: 0.6 each would round to 1 everywhere (7 = 33 %); carried, the
     * total is 20 % of 21 = 4 */
    static const char *const names[7] = {"a", "b", "c", "d", "e", "f", "g"};

    for (int k = 0; k < 7; k++)
        add(&s, names[k], 3, TDOC_AUTO);
    assign(&s, "seed", set);
    ck_assert_uint_eq(count(set, s.n, SPLIT_TEST, &s, NULL), 4);
}
END_TEST

START_TEST(test_last_document_stays)
{
    struct docs s = {0};
    unsigned char set[MAXD];

    add(&s, "big", 19, TDOC_AUTO);
    add(&s, "single", 1, TDOC_AUTO);
    add(&s, "pair", 2, TDOC_AUTO);
    assign(&s, "seed", set);
    ck_assert_uint_eq(count(set, s.n, SPLIT_TRAIN, &s, "single"), 1);
    ck_assert_uint_ge(count(set, s.n, SPLIT_TRAIN, &s, "pair"), 1);
    ck_assert_uint_ge(count(set, s.n, SPLIT_TRAIN, &s, "big"), 1);
}
END_TEST

START_TEST(test_explicit_sets_kept)
{
    struct docs s = {0};
    unsigned char set[MAXD];

    add(&s, "a", 5, TDOC_TRAIN);
    add(&s, "b", 5, TDOC_TEST);
    add(&s, "c", 10, TDOC_AUTO);
    assign(&s, "seed", set);
    ck_assert_uint_eq(count(set, s.n, SPLIT_TRAIN, &s, "a"), 5);
    ck_assert_uint_eq(count(set, s.n, SPLIT_TEST, &s, "b"), 5);
    /* only the AUTO documents are split: 20 % of 10 */
    ck_assert_uint_eq(count(set, s.n, SPLIT_TEST, &s, "c"), 2);
}
END_TEST

START_TEST(test_deterministic)
{
    struct docs s = {0}, r = {0};
    unsigned char a[MAXD], b[MAXD], c[MAXD], rev[MAXD];
    int differs = 0;

    add(&s, "a", 15, TDOC_AUTO);
    add(&s, "b", 15, TDOC_AUTO);
    assign(&s, "one", a);
    assign(&s, "one", b);
    ck_assert_mem_eq(a, b, s.n);
    assign(&s, "two", c);
    for (size_t i = 0; i < s.n; i++)
        differs |= a[i] != c[i];
    ck_assert_msg(differs, "another seed gave the same split");
    /* the same documents in reverse order: each document gets the same set */
    for (size_t i = 0; i < s.n; i++) {
        size_t j = s.n - 1 - i;

        memcpy(r.text[i], s.text[j], sizeof r.text[i]);
        r.d[i] = s.d[j];
        r.d[i].text = r.text[i];
    }
    r.n = s.n;
    assign(&r, "one", rev);
    for (size_t i = 0; i < s.n; i++)
        ck_assert_int_eq(rev[i], a[s.n - 1 - i]);
}
END_TEST

START_TEST(test_edges)
{
    struct docs s = {0};
    unsigned char set[MAXD];
    struct err err = {0};

    /* no document */
    ck_assert_int_eq(split_assign(s.d, 0, TYPE_CLASS, "seed", set, &err), 0);
    /* one document: it trains */
    add(&s, "a", 1, TDOC_AUTO);
    assign(&s, "seed", set);
    ck_assert_int_eq(set[0], SPLIT_TRAIN);
    /* one class: 20 % of it */
    add(&s, "a", 9, TDOC_AUTO);
    assign(&s, "seed", set);
    ck_assert_uint_eq(count(set, s.n, SPLIT_TEST, &s, "a"), 2);
    /* no seed is a seed too */
    ck_assert_int_eq(split_assign(s.d, s.n, TYPE_CLASS, NULL, set, &err), 0);
    ck_assert_uint_eq(count(set, s.n, SPLIT_TEST, &s, NULL), 2);
}
END_TEST

START_TEST(test_label_strata)
{
    static const char *const ab[] = {"x", "y"}, *const ba[] = {"y", "x", "y"}, *const x[] = {"x"};
    struct tdoc d[10];
    char text[10][16];
    unsigned char set[10];
    struct err err = {0};

    /* LABEL documents are stratified by their label set: 20 % of the {x, y}
     * documents (labels in any order, repeated) and 20 % of the {x} ones */
    for (int i = 0; i < 10; i++) {
        snprintf(text[i], sizeof text[i], "doc %d", i);
        d[i] = (struct tdoc){.text = text[i]};
        if (i < 5) {
            d[i].labels = i % 2 ? ab : ba;
            d[i].n_labels = i % 2 ? 2 : 3;
        } else {
            d[i].labels = x;
            d[i].n_labels = 1;
        }
    }
    ck_assert_int_eq(split_assign(d, 10, TYPE_LABEL, "seed", set, &err), 0);
    ck_assert_int_eq(set[0] + set[1] + set[2] + set[3] + set[4], 1);
    ck_assert_int_eq(set[5] + set[6] + set[7] + set[8] + set[9], 1);
}
END_TEST

START_TEST(test_dedupe)
{
    struct tdoc d[5] = {
        {.text = "same"}, {.text = "same"}, {.text = "other"}, {.text = "twin"}, {.text = "twin"}};
    unsigned char set[5] = {SPLIT_TRAIN, SPLIT_TEST, SPLIT_TEST, SPLIT_TEST, SPLIT_TEST};
    size_t removed = 99;
    struct err err = {0};

    ck_assert_int_eq(split_dedupe(d, 5, set, &removed, &err), 0);
    ck_assert_uint_eq(removed, 1);
    ck_assert_int_eq(set[0], SPLIT_TRAIN);   /* training documents are never dropped */
    ck_assert_int_eq(set[1], SPLIT_DROPPED); /* a test twin of a training text */
    ck_assert_int_eq(set[2], SPLIT_TEST);
    ck_assert_int_eq(set[3], SPLIT_TEST); /* twins inside the test set both stay */
    ck_assert_int_eq(set[4], SPLIT_TEST);
    ck_assert_int_eq(split_dedupe(d, 0, set, &removed, &err), 0);
    ck_assert_uint_eq(removed, 0);
}
END_TEST

START_TEST(test_folds)
{
    struct docs s = {0};
    size_t idx[MAXD];
    int fold[MAXD], again[MAXD], other[MAXD], per[5][2] = {{0}}, differs = 0;
    struct err err = {0};

    add(&s, "a", 10, TDOC_AUTO);
    add(&s, "b", 10, TDOC_AUTO);
    for (size_t i = 0; i < s.n; i++)
        idx[i] = i;
    ck_assert_int_eq(split_folds(s.d, idx, s.n, TYPE_CLASS, "seed", 5, fold, &err), 0);
    for (size_t i = 0; i < s.n; i++) {
        ck_assert_int_ge(fold[i], 0);
        ck_assert_int_lt(fold[i], 5);
        per[fold[i]][i >= 10]++;
    }
    for (int f = 0; f < 5; f++) { /* balanced, and stratified */
        ck_assert_int_eq(per[f][0], 2);
        ck_assert_int_eq(per[f][1], 2);
    }
    ck_assert_int_eq(split_folds(s.d, idx, s.n, TYPE_CLASS, "seed", 5, again, &err), 0);
    ck_assert_mem_eq(fold, again, s.n * sizeof fold[0]);
    ck_assert_int_eq(split_folds(s.d, idx, s.n, TYPE_CLASS, "other", 5, other, &err), 0);
    for (size_t i = 0; i < s.n; i++)
        differs |= fold[i] != other[i];
    ck_assert(differs);
    /* a subset of the documents (the training rows) */
    ck_assert_int_eq(split_folds(s.d, idx + 5, 3, TYPE_CLASS, "seed", 3, fold, &err), 0);
    ck_assert(fold[0] != fold[1] && fold[1] != fold[2] && fold[0] != fold[2]);
}
END_TEST

Suite *split_suite(void)
{
    Suite *s = suite_create("split");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_stratified);
    tcase_add_test(tc, test_rounding_carried);
    tcase_add_test(tc, test_last_document_stays);
    tcase_add_test(tc, test_explicit_sets_kept);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_edges);
    tcase_add_test(tc, test_label_strata);
    tcase_add_test(tc, test_dedupe);
    tcase_add_test(tc, test_folds);
    suite_add_tcase(s, tc);
    return s;
}
