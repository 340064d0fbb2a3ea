/* SPDX-License-Identifier: MIT */
/*
 * feat: hashed word and character n-grams, TF-IDF weighting and L2
 * normalization (see src/ml/feat.h for the contract).
 *
 * Word unigrams hash the stemmed token bytes; bigrams hash the pair of unigram
 * hashes, so no string is built. Character n-grams are taken per word of the
 * normalized text with a space on each side (" word "), measured in code
 * points so that German and Arabic letters are never cut. Indices of one
 * document are sorted with a two-pass radix sort and counted.
 */
#include "feat.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* Fixed SipHash keys, one per kind of feature: changing them changes every
 * index, so they are part of FEAT_HASH_VERSION. */
static const unsigned char key_uni[UTIL_HASH_KEY] = "modeld/word/1/uu";
static const unsigned char key_bi[UTIL_HASH_KEY] = "modeld/word/2/bb";
static const unsigned char key_char[UTIL_HASH_KEY] = "modeld/char/1/cc";

void feat_config_default(struct feat_config *c)
{
    c->hash_bits = 20;
    c->word_ngrams = 2;
    c->char_min = 1;
    c->char_max = 5;
    c->sublinear_tf = 1;
    c->min_df = 2;
}

int feat_config_check(const struct feat_config *c, struct err *err)
{
    if (c->hash_bits < 10 || c->hash_bits > 24 || c->word_ngrams > 2 || c->char_max > 8 ||
        (c->char_min > 0 && c->char_min > c->char_max) || c->sublinear_tf > 1 || c->min_df < 1 ||
        (c->word_ngrams == 0 && c->char_min == 0)) {
        err_set(err, ERR_INVALID, "invalid feature configuration");
        return -1;
    }
    return 0;
}

void feat_vec_init(struct feat_vec *v)
{
    memset(v, 0, sizeof *v);
}

void feat_vec_release(struct feat_vec *v)
{
    free(v->idx);
    free(v->val);
    memset(v, 0, sizeof *v);
}

/* Make room for need entries in v (contents kept). */
static int vec_reserve(struct feat_vec *v, size_t need, struct err *err)
{
    /* two arrays, one capacity: both grow by the same rule from the same size */
    size_t cap_idx = v->cap, cap_val = v->cap;
    uint32_t *idx = util_grow(v->idx, &cap_idx, need, sizeof *idx, 64);
    if (!idx)
        goto oom;
    v->idx = idx;
    float *val = util_grow(v->val, &cap_val, need, sizeof *val, 64);
    if (!val)
        goto oom;
    v->val = val;
    v->cap = cap_val;
    return 0;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
    return -1;
}

/* A growable array of raw hashed indices. */
struct hbuf {
    uint32_t *h;
    size_t n, cap;
};

static int hbuf_push(struct hbuf *b, uint32_t h)
{
    uint32_t *p = util_grow(b->h, &b->cap, b->n + 1, sizeof *p, 256);

    if (!p)
        return -1;
    b->h = p;
    b->h[b->n++] = h;
    return 0;
}

/* Length in bytes of the UTF-8 sequence starting with byte b (1 for invalid). */
static size_t u8len(unsigned char b)
{
    if (b < 0x80)
        return 1;
    if ((b & 0xE0) == 0xC0)
        return 2;
    if ((b & 0xF0) == 0xE0)
        return 3;
    if ((b & 0xF8) == 0xF0)
        return 4;
    return 1;
}

/* Char n-grams of word `tok` (w[0..len)) padded with spaces, each passed to fn. */
static int char_ngrams(const struct feat_config *c, size_t tok, const char *w, size_t len,
                       uint32_t base, uint32_t mask, char *pad, size_t *cpoff, int want_text,
                       feat_visit_fn fn, void *ctx)
{
    size_t plen = 0, ncp = 0;
    pad[plen++] = ' ';
    cpoff[ncp++] = 0;
    for (size_t i = 0; i < len;) {
        size_t k = u8len((unsigned char)w[i]);
        if (i + k > len)
            k = len - i;
        cpoff[ncp++] = plen;
        memcpy(pad + plen, w + i, k);
        plen += k;
        i += k;
    }
    cpoff[ncp++] = plen;
    pad[plen++] = ' ';
    cpoff[ncp] = plen; /* end sentinel: code point i spans [cpoff[i], cpoff[i+1]) */
    for (size_t n = c->char_min; n <= c->char_max; n++) {
        if (n > ncp)
            break;
        for (size_t s = 0; s + n <= ncp; s++) {
            size_t from = cpoff[s], to = cpoff[s + n];
            uint32_t h = base + (uint32_t)(util_hash64(key_char, pad + from, to - from) & mask);
            if (fn(ctx, h, tok, tok, want_text ? pad + from : NULL, to - from) < 0)
                return -1;
        }
    }
    return 0;
}

/* Below this many keys an insertion sort beats the radix sort, whose two
 * 8,192-bucket histograms dominated the profile of predicting short texts. */
#define FEAT_SMALL_SORT 128

/* Sort a[0..n) ascending with an LSD radix sort (keys < 2^26), tmp of n;
 * short arrays by insertion (the same order: the keys are plain integers). */
static void hash_sort(uint32_t *a, uint32_t *tmp, size_t n)
{
    size_t cnt[1 << 13];

    if (n < FEAT_SMALL_SORT) {
        for (size_t i = 1; i < n; i++) {
            uint32_t x = a[i];
            size_t j = i;
            for (; j > 0 && a[j - 1] > x; j--)
                a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
        int shift = pass * 13;
        memset(cnt, 0, sizeof cnt);
        for (size_t i = 0; i < n; i++)
            cnt[(a[i] >> shift) & 0x1FFF]++;
        size_t sum = 0;
        for (size_t i = 0; i < (1u << 13); i++) {
            size_t t = cnt[i];
            cnt[i] = sum;
            sum += t;
        }
        for (size_t i = 0; i < n; i++)
            tmp[cnt[(a[i] >> shift) & 0x1FFF]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
    }
}

int feat_walk(const struct feat_config *c, const struct text_tokens *t, int want_text,
              feat_visit_fn fn, void *ctx, struct err *err)
{
    int rc = -1;
    char *pad = NULL, *pair = NULL;
    size_t *cpoff = NULL, *woff = NULL, *wlen = NULL;
    const uint32_t mask = (1u << c->hash_bits) - 1;

    if (want_text && t->n > 0) {
        /* word i of norm is token i unstemmed: its surface names word features */
        woff = malloc(t->n * sizeof *woff);
        wlen = malloc(t->n * sizeof *wlen);
        pair = malloc(t->norm_len + 2);
        if (!woff || !wlen || !pair)
            goto oom;
        size_t i = 0;
        for (const char *s = t->norm, *end = t->norm + t->norm_len; s < end && i < t->n;) {
            while (s < end && *s == ' ')
                s++;
            const char *w = s;
            while (s < end && *s != ' ')
                s++;
            if (s > w) {
                woff[i] = (size_t)(w - t->norm);
                wlen[i++] = (size_t)(s - w);
            }
        }
        assert(i == t->n);
    }
    if (c->word_ngrams >= 1) {
        uint64_t prev = 0;
        for (size_t i = 0; i < t->n; i++) {
            uint64_t h = util_hash64(key_uni, t->buf + t->off[i], t->tlen[i]);
            if (fn(ctx, (uint32_t)(h & mask), i, i, woff ? t->norm + woff[i] : NULL,
                   woff ? wlen[i] : 0) < 0)
                goto fail;
            if (c->word_ngrams >= 2 && i > 0) {
                uint64_t two[2] = {prev, h};
                size_t pl = 0;
                if (woff) {
                    memcpy(pair, t->norm + woff[i - 1], wlen[i - 1]);
                    pair[wlen[i - 1]] = ' ';
                    memcpy(pair + wlen[i - 1] + 1, t->norm + woff[i], wlen[i]);
                    pl = wlen[i - 1] + 1 + wlen[i];
                }
                if (fn(ctx, (uint32_t)(util_hash64(key_bi, two, sizeof two) & mask), i - 1, i,
                       woff ? pair : NULL, pl) < 0)
                    goto fail;
            }
            prev = h;
        }
    }
    if (c->char_min > 0 && t->norm_len > 0) {
        /* words are at most norm_len bytes: size scratch once */
        pad = malloc(t->norm_len + 3);
        cpoff = malloc((t->norm_len + 4) * sizeof *cpoff);
        if (!pad || !cpoff)
            goto oom;
        const char *s = t->norm, *end = t->norm + t->norm_len;
        size_t tok = 0;
        while (s < end) {
            while (s < end && *s == ' ')
                s++;
            const char *w = s;
            while (s < end && *s != ' ')
                s++;
            if (s > w && char_ngrams(c, tok++, w, (size_t)(s - w), mask + 1, mask, pad, cpoff,
                                     want_text, fn, ctx) < 0)
                goto fail;
        }
    }
    rc = 0;
    goto out;
fail: /* a visitor fails only when it runs out of memory */
oom:
    err_set(err, ERR_NOMEM, "out of memory");
out:
    free(pad);
    free(pair);
    free(cpoff);
    free(woff);
    free(wlen);
    return rc;
}

static int push_visit(void *ctx, uint32_t h, size_t first, size_t last, const char *gram,
                      size_t len)
{
    (void)first;
    (void)last;
    (void)gram;
    (void)len;
    return hbuf_push(ctx, h);
}

int feat_extract(const struct feat_config *c, const struct text_tokens *t,
                     struct feat_vec *out, struct err *err)
{
    int rc = -1;
    struct hbuf b = {0};
    uint32_t *tmp = NULL;

    out->n = 0;
    if (feat_walk(c, t, 0, push_visit, &b, err) < 0)
        goto out;
    if (b.n > 0) {
        tmp = malloc(b.n * sizeof *tmp);
        if (!tmp)
            goto oom;
        hash_sort(b.h, tmp, b.n);
    }
    size_t uniq = 0;
    for (size_t i = 0; i < b.n; i++)
        uniq += (i == 0 || b.h[i] != b.h[i - 1]);
    if (vec_reserve(out, uniq, err) < 0)
        goto out;
    for (size_t i = 0; i < b.n; i++) {
        if (out->n > 0 && out->idx[out->n - 1] == b.h[i]) {
            out->val[out->n - 1] += 1.0f;
        } else {
            out->idx[out->n] = b.h[i];
            out->val[out->n] = 1.0f;
            out->n++;
        }
    }
    rc = 0;
    goto out;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
out:
    free(b.h);
    free(tmp);
    return rc;
}

void feat_vocab_init(struct feat_vocab *v)
{
    memset(v, 0, sizeof *v);
}

void feat_vocab_release(struct feat_vocab *v)
{
    free(v->idx);
    free(v->idf);
    memset(v, 0, sizeof *v);
}

int feat_vocab_fit(const struct feat_config *c, const struct feat_vec *docs,
                       size_t n_docs, struct feat_vocab *out, struct err *err)
{
    int rc = -1;
    size_t dim = (size_t)2 << c->hash_bits;
    uint32_t *df = calloc(dim, sizeof *df);
    struct feat_vocab v = {0};

    if (!df)
        goto oom;
    for (size_t d = 0; d < n_docs; d++)
        for (size_t i = 0; i < docs[d].n; i++)
            if (docs[d].idx[i] < dim)
                df[docs[d].idx[i]]++;
    for (size_t h = 0; h < dim; h++)
        v.n += (df[h] >= c->min_df);
    v.idx = malloc((v.n ? v.n : 1) * sizeof *v.idx);
    v.idf = malloc((v.n ? v.n : 1) * sizeof *v.idf);
    if (!v.idx || !v.idf)
        goto oom;
    size_t k = 0;
    for (size_t h = 0; h < dim; h++) {
        if (df[h] >= c->min_df) {
            v.idx[k] = (uint32_t)h;
            v.idf[k] = (float)(log((1.0 + (double)n_docs) / (1.0 + (double)df[h])) + 1.0);
            k++;
        }
    }
    *out = v;
    memset(&v, 0, sizeof v);
    rc = 0;
    goto out;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
out:
    feat_vocab_release(&v);
    free(df);
    return rc;
}

int feat_vocab_merge(const struct feat_vocab *a, const struct feat_vocab *b,
                     struct feat_vocab *out, struct err *err)
{
    size_t cap = a->n + b->n, i = 0, j = 0, n = 0;
    uint32_t *idx = malloc((cap ? cap : 1) * sizeof *idx);
    float *idf = malloc((cap ? cap : 1) * sizeof *idf);

    if (!idx || !idf) {
        free(idx);
        free(idf);
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    while (i < a->n || j < b->n) {
        if (j >= b->n || (i < a->n && a->idx[i] <= b->idx[j])) {
            if (j < b->n && a->idx[i] == b->idx[j])
                j++;
            idx[n] = a->idx[i];
            idf[n++] = a->idf[i++];
        } else {
            idx[n] = b->idx[j];
            idf[n++] = b->idf[j++];
        }
    }
    out->n = n;
    out->idx = idx;
    out->idf = idf;
    return 0;
}

long feat_vocab_find(const struct feat_vocab *v, uint32_t h)
{
    return util_find_u32(v->idx, v->n, h);
}

int feat_weight(const struct feat_config *c, const struct feat_vocab *v,
                    const struct feat_vec *raw, struct feat_vec *out, struct err *err)
{
    out->n = 0;
    if (vec_reserve(out, raw->n ? raw->n : 1, err) < 0)
        return -1;
    double ss = 0.0;
    for (size_t i = 0; i < raw->n; i++) {
        long p = feat_vocab_find(v, raw->idx[i]);
        if (p < 0)
            continue;
        double tf = raw->val[i];
        if (c->sublinear_tf)
            tf = 1.0 + log(tf);
        double x = tf * v->idf[p];
        out->idx[out->n] = (uint32_t)p;
        out->val[out->n] = (float)x;
        out->n++;
        ss += x * x;
    }
    if (ss > 0.0) {
        float inv = (float)(1.0 / sqrt(ss));
        for (size_t i = 0; i < out->n; i++)
            out->val[i] *= inv;
    }
    return 0;
}
