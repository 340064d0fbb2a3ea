/* SPDX-License-Identifier: MIT */
/*
 * Tests of artifact_: round trip through a file, sparse row storage, and
 * damaged input (every truncation, every single-byte flip, wrong magic,
 * garbage, and payload mutations with a recomputed checksum) giving
 * ERR_CORRUPT without crashing.
 */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifact.h"

Suite *artifact_suite(void);

static char *xstrdup(const char *s)
{
    char *p = malloc(strlen(s) + 1);
    strcpy(p, s);
    return p;
}

/* A small artifact: vocabulary of 4, a dense label head and a head with zero rows. */
static struct artifact *sample(void)
{
    struct artifact *a = artifact_new(NULL);
    a->type = xstrdup("ABSA");
    a->language = xstrdup("de");
    feat_config_default(&a->fcfg);
    a->vocab.n = 4;
    a->vocab.idx = malloc(4 * sizeof *a->vocab.idx);
    a->vocab.idf = malloc(4 * sizeof *a->vocab.idf);
    for (uint32_t i = 0; i < 4; i++) {
        a->vocab.idx[i] = 10 * i + 3;
        a->vocab.idf[i] = 1.0f + (float)i;
    }
    a->n_heads = 2;
    a->heads = calloc(2, sizeof *a->heads);
    const char *names[2] = {"category", "polarity"};
    for (int h = 0; h < 2; h++) {
        struct artifact_head *hd = &a->heads[h];
        hd->name = xstrdup(names[h]);
        hd->kind = h == 0 ? ARTIFACT_HEAD_MULTILABEL : ARTIFACT_HEAD_MULTICLASS;
        hd->n_out = h == 0 ? 3 : 2;
        hd->labels = calloc(hd->n_out, sizeof *hd->labels);
        for (uint32_t k = 0; k < hd->n_out; k++) {
            char b[32];
            snprintf(b, sizeof b, "L%d_%u", h, k);
            hd->labels[k] = xstrdup(b);
        }
        hd->n_w = h == 0 ? 3 : 1;
        hd->n_in = h == 0 ? 4 : 7;
        hd->n_rows = hd->n_in;
        hd->w = calloc((size_t)hd->n_in * hd->n_w, sizeof *hd->w);
        for (uint32_t i = 0; i < hd->n_in; i++)
            for (uint32_t k = 0; k < hd->n_w; k++)
                hd->w[i * hd->n_w + k] = (h == 1 && i % 2) ? 0.0f : 0.5f * (float)(i + k + 1);
        hd->bias = calloc(hd->n_w, sizeof *hd->bias);
        hd->bias[0] = -1.25f;
        hd->threshold = 0.35f;
        hd->C = 16;
    }
    a->meta = xstrdup("{\"x\":1}");
    return a;
}

static void check_same(const struct artifact *a, const struct artifact *b)
{
    ck_assert_str_eq(a->type, b->type);
    ck_assert_str_eq(a->language, b->language);
    ck_assert_int_eq(memcmp(&a->fcfg, &b->fcfg, sizeof a->fcfg), 0);
    ck_assert_uint_eq(a->vocab.n, b->vocab.n);
    ck_assert_int_eq(memcmp(a->vocab.idx, b->vocab.idx, a->vocab.n * 4), 0);
    ck_assert_int_eq(memcmp(a->vocab.idf, b->vocab.idf, a->vocab.n * 4), 0);
    ck_assert_uint_eq(a->n_heads, b->n_heads);
    for (uint32_t h = 0; h < a->n_heads; h++) {
        const struct artifact_head *x = &a->heads[h], *y = &b->heads[h];
        ck_assert_str_eq(x->name, y->name);
        ck_assert_uint_eq(x->n_out, y->n_out);
        ck_assert_uint_eq(x->n_in, y->n_in);
        for (uint32_t k = 0; k < x->n_out; k++)
            ck_assert_str_eq(x->labels[k], y->labels[k]);
        for (uint32_t i = 0; i < x->n_in; i++) {
            const float *rx = artifact_head_row(x, i), *ry = artifact_head_row(y, i);
            for (uint32_t k = 0; k < x->n_w; k++)
                ck_assert(rx[k] == (ry ? ry[k] : 0.0f));
        }
        ck_assert(x->bias[0] == y->bias[0]);
        ck_assert(x->threshold == y->threshold);
        ck_assert(x->C == y->C);
    }
    ck_assert_str_eq(a->meta, b->meta);
}

START_TEST(test_roundtrip_file)
{
    char dir[] = "/tmp/check_artifact.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/m.art", dir);
    struct artifact *a = sample();
    struct err e;
    ck_assert_int_eq(artifact_write(a, path, &e), 0);
    struct artifact *b = artifact_read(path, &e);
    ck_assert_ptr_nonnull(b);
    check_same(a, b);
    /* the polarity head had zero rows: stored sparse */
    ck_assert_ptr_nonnull(b->heads[1].rows);
    ck_assert_ptr_null(artifact_head_row(&b->heads[1], 1));
    /* overwrite keeps a valid file (atomic rename) */
    ck_assert_int_eq(artifact_write(b, path, &e), 0);
    artifact_free(b);
    b = artifact_read(path, &e);
    ck_assert_ptr_nonnull(b);
    artifact_free(b);
    ck_assert_ptr_null(artifact_read("/nonexistent/dir/m.art", &e));
    ck_assert_int_eq(e.code, ERR_IO);
    char bad[160];
    snprintf(bad, sizeof bad, "%s/nodir/m.art", dir);
    ck_assert_int_eq(artifact_write(a, bad, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    artifact_free(a);
    artifact_free(NULL);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_truncate_and_flip)
{
    struct artifact *a = sample();
    unsigned char *buf;
    size_t len;
    struct err e;
    ck_assert_int_eq(artifact_encode(a, &buf, &len, &e), 0);
    for (size_t l = 0; l < len; l++) {
        struct artifact *b = artifact_decode(buf, l, &e);
        ck_assert_ptr_null(b);
        ck_assert_int_eq(e.code, ERR_CORRUPT);
    }
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= 0x5a;
        struct artifact *b = artifact_decode(buf, len, &e);
        ck_assert_ptr_null(b);
        ck_assert_int_eq(e.code, ERR_CORRUPT);
        buf[i] ^= 0x5a;
    }
    memcpy(buf, "NOTMODEL", 8);
    ck_assert_ptr_null(artifact_decode(buf, len, &e));
    ck_assert_int_eq(e.code, ERR_CORRUPT);
    free(buf);
    artifact_free(a);
}
END_TEST

/* Mutate the payload and re-seal it with a valid checksum: the structural
 * checks alone must reject or accept it, never crash. */
START_TEST(test_fuzz_resealed)
{
    struct artifact *a = sample();
    unsigned char *buf;
    size_t len;
    struct err e;
    ck_assert_int_eq(artifact_encode(a, &buf, &len, &e), 0);
    unsigned char *m = malloc(len);
    unsigned seed = 12345;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(m, buf, len);
        int nmut = 1 + iter % 4;
        for (int k = 0; k < nmut; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = 24 + (seed >> 8) % (len - 24 - 32);
            seed = seed * 1103515245u + 12345u;
            m[pos] = (iter & 1) ? (unsigned char)(seed >> 16) : (unsigned char)(m[pos] ^ 0xff);
        }
        crypto_generichash(m + len - 32, 32, m, len - 32, NULL, 0);
        struct artifact *b = artifact_decode(m, len, &e);
        if (b)
            artifact_free(b);
        else
            ck_assert_int_eq(e.code, ERR_CORRUPT);
    }
    /* garbage with a correct magic and checksum */
    for (size_t i = 8; i < len - 32; i++)
        m[i] = (unsigned char)(i * 37);
    crypto_generichash(m + len - 32, 32, m, len - 32, NULL, 0);
    ck_assert_ptr_null(artifact_decode(m, len, &e));
    ck_assert_int_eq(e.code, ERR_CORRUPT);
    free(m);
    free(buf);
    artifact_free(a);
}
END_TEST

Suite *artifact_suite(void)
{
    Suite *s = suite_create("artifact");
    TCase *tc = tcase_create("core");
    if (sodium_init() < 0)
        return s;
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_roundtrip_file);
    tcase_add_test(tc, test_truncate_and_flip);
    tcase_add_test(tc, test_fuzz_resealed);
    suite_add_tcase(s, tc);
    return s;
}
