/* SPDX-License-Identifier: MIT */
/*
 * Tests of feat_: hashing namespaces, character n-grams in code points,
 * vocabulary fitting with min_df and IDF, TF-IDF + L2 weighting.
 */
#include <check.h>
#include <math.h>
#include <sodium.h>
#include <string.h>

#include "feat.h"

Suite *feat_suite(void);

/* Build tokens by hand: words separated by spaces serve as tokens and norm. */
static void make_tokens(struct text_tokens *t, char *buf, size_t *off, size_t *len, const char *s)
{
    size_t n = 0, bl = 0;
    memset(t, 0, sizeof *t);
    strcpy(buf, s);
    for (size_t i = 0; s[i];) {
        while (s[i] == ' ')
            i++;
        if (!s[i])
            break;
        size_t st = i;
        while (s[i] && s[i] != ' ')
            i++;
        off[n] = st;
        len[n] = i - st;
        n++;
    }
    (void)bl;
    t->buf = buf; /* tokens need not be NUL-terminated for hashing: lengths are used */
    t->off = off;
    t->tlen = len;
    t->n = n;
    t->norm = buf;
    t->norm_len = strlen(s);
}

START_TEST(test_word_and_char_counts)
{
    struct feat_config c;
    feat_config_default(&c);
    c.word_ngrams = 1;
    c.char_min = 0;
    char buf[64];
    size_t off[8], len[8];
    struct text_tokens t;
    struct feat_vec v;
    feat_vec_init(&v);
    make_tokens(&t, buf, off, len, "a b a");
    ck_assert_int_eq(feat_extract(&c, &t, &v, NULL), 0);
    ck_assert_uint_eq(v.n, 2);
    float total = 0;
    for (size_t i = 0; i < v.n; i++) {
        ck_assert_uint_lt(v.idx[i], 1u << c.hash_bits);
        if (i > 0)
            ck_assert_uint_gt(v.idx[i], v.idx[i - 1]);
        total += v.val[i];
    }
    ck_assert_float_eq(total, 3.0f);
    /* bigrams add "a b" and "b a" */
    c.word_ngrams = 2;
    ck_assert_int_eq(feat_extract(&c, &t, &v, NULL), 0);
    ck_assert_uint_eq(v.n, 4);
    /* chars only: " ab " has 3 bigrams, 2 trigrams, 1 four-gram, no 5-gram */
    c.word_ngrams = 0;
    c.char_min = 2;
    c.char_max = 5;
    make_tokens(&t, buf, off, len, "ab");
    ck_assert_int_eq(feat_extract(&c, &t, &v, NULL), 0);
    total = 0;
    for (size_t i = 0; i < v.n; i++) {
        ck_assert_uint_ge(v.idx[i], 1u << c.hash_bits);
        ck_assert_uint_lt(v.idx[i], 2u << c.hash_bits);
        total += v.val[i];
    }
    ck_assert_float_eq(total, 6.0f);
    /* code points, not bytes: "äö" is 4 bytes but 2 letters, same count as "ab" */
    make_tokens(&t, buf, off, len, "\xc3\xa4\xc3\xb6");
    ck_assert_int_eq(feat_extract(&c, &t, &v, NULL), 0);
    total = 0;
    for (size_t i = 0; i < v.n; i++)
        total += v.val[i];
    ck_assert_float_eq(total, 6.0f);
    feat_vec_release(&v);
}
END_TEST

START_TEST(test_deterministic_hash)
{
    struct feat_config c;
    feat_config_default(&c);
    char buf[64];
    size_t off[8], len[8];
    struct text_tokens t;
    struct feat_vec a, b;
    feat_vec_init(&a);
    feat_vec_init(&b);
    make_tokens(&t, buf, off, len, "hallo welt");
    ck_assert_int_eq(feat_extract(&c, &t, &a, NULL), 0);
    ck_assert_int_eq(feat_extract(&c, &t, &b, NULL), 0);
    ck_assert_uint_eq(a.n, b.n);
    ck_assert_int_eq(memcmp(a.idx, b.idx, a.n * sizeof *a.idx), 0);
    feat_vec_release(&a);
    feat_vec_release(&b);
}
END_TEST

START_TEST(test_vocab_and_weight)
{
    struct feat_config c;
    feat_config_default(&c);
    c.min_df = 2;
    c.sublinear_tf = 0;
    /* hand-made raw vectors: idx 5 in 3 docs, 7 in 2, 9 in 1 */
    uint32_t i0[] = {5, 7}, i1[] = {5, 7, 9}, i2[] = {5};
    float v0[] = {2, 1}, v1[] = {1, 1, 1}, v2[] = {1};
    struct feat_vec docs[3] = {{i0, v0, 2, 2}, {i1, v1, 3, 3}, {i2, v2, 1, 1}};
    struct feat_vocab voc;
    ck_assert_int_eq(feat_vocab_fit(&c, docs, 3, &voc, NULL), 0);
    ck_assert_uint_eq(voc.n, 2);
    ck_assert_uint_eq(voc.idx[0], 5);
    ck_assert_uint_eq(voc.idx[1], 7);
    ck_assert_double_eq_tol(voc.idf[0], log(4.0 / 4.0) + 1.0, 1e-6);
    ck_assert_double_eq_tol(voc.idf[1], log(4.0 / 3.0) + 1.0, 1e-6);
    ck_assert_int_eq(feat_vocab_find(&voc, 7), 1);
    ck_assert_int_eq(feat_vocab_find(&voc, 9), -1);
    struct feat_vec w;
    feat_vec_init(&w);
    ck_assert_int_eq(feat_weight(&c, &voc, &docs[1], &w, NULL), 0);
    ck_assert_uint_eq(w.n, 2); /* 9 is not in the vocabulary */
    double a = 1.0, b = log(4.0 / 3.0) + 1.0, nrm = sqrt(a * a + b * b);
    ck_assert_double_eq_tol(w.val[0], a / nrm, 1e-6);
    ck_assert_double_eq_tol(w.val[1], b / nrm, 1e-6);
    /* sublinear tf: 2 -> 1 + ln 2 */
    c.sublinear_tf = 1;
    ck_assert_int_eq(feat_weight(&c, &voc, &docs[0], &w, NULL), 0);
    a = 1.0 + log(2.0);
    nrm = sqrt(a * a + b * b);
    ck_assert_double_eq_tol(w.val[0], a / nrm, 1e-6);
    /* unknown features only: empty vector */
    ck_assert_int_eq(feat_weight(&c, &voc, &docs[2], &w, NULL), 0);
    ck_assert_uint_eq(w.n, 1);
    feat_vec_release(&w);
    feat_vocab_release(&voc);
}
END_TEST

START_TEST(test_config_check)
{
    struct feat_config c;
    feat_config_default(&c);
    ck_assert_int_eq(feat_config_check(&c, NULL), 0);
    c.hash_bits = 40;
    ck_assert_int_eq(feat_config_check(&c, NULL), -1);
    feat_config_default(&c);
    c.char_min = 6;
    c.char_max = 3;
    ck_assert_int_eq(feat_config_check(&c, NULL), -1);
}
END_TEST

/* Union of vocabularies: sorted, each index once, a's IDF wins. */
START_TEST(test_vocab_merge)
{
    uint32_t ai[] = {2, 5, 9};
    float af[] = {1.5f, 2.0f, 3.0f};
    uint32_t bi[] = {1, 5, 10, 11};
    float bf[] = {4.0f, 9.0f, 5.0f, 6.0f};
    struct feat_vocab a = {3, ai, af}, b = {4, bi, bf}, e = {0, NULL, NULL}, u;
    struct err err;

    ck_assert_int_eq(feat_vocab_merge(&a, &b, &u, &err), 0);
    ck_assert_uint_eq(u.n, 6);
    static const uint32_t want[] = {1, 2, 5, 9, 10, 11};
    static const float wantf[] = {4.0f, 1.5f, 2.0f, 3.0f, 5.0f, 6.0f};
    for (size_t i = 0; i < 6; i++) {
        ck_assert_uint_eq(u.idx[i], want[i]);
        ck_assert(u.idf[i] == wantf[i]);
    }
    feat_vocab_release(&u);
    ck_assert_int_eq(feat_vocab_merge(&e, &e, &u, &err), 0);
    ck_assert_uint_eq(u.n, 0);
    feat_vocab_release(&u);
    ck_assert_int_eq(feat_vocab_merge(&a, &e, &u, &err), 0);
    ck_assert_uint_eq(u.n, 3);
    ck_assert_int_eq(feat_vocab_find(&u, 9), 2);
    feat_vocab_release(&u);
}
END_TEST

Suite *feat_suite(void)
{
    Suite *s = suite_create("feat");
    TCase *tc = tcase_create("core");
    if (sodium_init() < 0)
        return s;
    tcase_add_test(tc, test_word_and_char_counts);
    tcase_add_test(tc, test_deterministic_hash);
    tcase_add_test(tc, test_vocab_and_weight);
    tcase_add_test(tc, test_config_check);
    tcase_add_test(tc, test_vocab_merge);
    suite_add_tcase(s, tc);
    return s;
}
