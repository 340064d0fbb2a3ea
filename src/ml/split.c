/* SPDX-License-Identifier: MIT */
/*
 * split: deterministic stratified train/test split and train/test duplicate
 * removal (contract in include/split.h).
 *
 * Strata and texts are compared through 64-bit SipHash values; equal hashes of
 * texts are confirmed with strcmp, while a stratum hash collision (2^-64 per
 * pair) would only merge two strata, which is harmless.
 */
#include "split.h"

#include <assert.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

static const unsigned char key_stratum[UTIL_HASH_KEY] = "modeld/stratum/1";
static const unsigned char key_text[UTIL_HASH_KEY] = "modeld/text/1/tt";

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Hash of the stratum of d; -1 on allocation failure. */
static int stratum(const struct tdoc *d, enum model_type type, uint64_t *out)
{
    assert(type != TYPE_BASE && type < TYPE_COUNT);
    if (type == TYPE_LABEL) {
        /* order-independent hash of the sorted label set, each label NUL-terminated */
        const char **l = malloc((d->n_labels ? d->n_labels : 1) * sizeof *l);
        if (!l)
            return -1;
        for (size_t i = 0; i < d->n_labels; i++)
            l[i] = d->labels[i] ? d->labels[i] : "";
        qsort(l, d->n_labels, sizeof *l, cmp_str);
        crypto_generichash_state st;
        unsigned char sum[8];
        crypto_generichash_init(&st, NULL, 0, sizeof sum);
        for (size_t i = 0; i < d->n_labels; i++)
            if (i == 0 || strcmp(l[i], l[i - 1]) != 0)
                crypto_generichash_update(&st, (const unsigned char *)l[i], strlen(l[i]) + 1);
        crypto_generichash_final(&st, sum, sizeof sum);
        free(l);
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
            v |= (uint64_t)sum[i] << (8 * i);
        *out = v;
        return 0;
    }
    const char *k = "";
    if (type == TYPE_ABSA)
        k = (d->n_aspects > 0 && d->aspects[0].category) ? d->aspects[0].category : "";
    else
        k = d->cls ? d->cls : "";
    *out = util_hash64(key_stratum, k, strlen(k));
    return 0;
}

struct item {
    uint64_t stratum, order;
    size_t idx;
};

static int cmp_item(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->stratum != y->stratum)
        return x->stratum < y->stratum ? -1 : 1;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int split_assign(const struct tdoc *docs, size_t n, enum model_type type, const char *seed,
                 unsigned char *set, struct err *err)
{
    struct item *it = malloc((n ? n : 1) * sizeof *it);
    size_t m = 0;
    unsigned char seedkey[UTIL_HASH_KEY];

    if (!it) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    if (sodium_init() < 0) {
        free(it);
        err_set(err, ERR_INTERNAL, "libsodium initialization failed");
        return -1;
    }
    seed = seed ? seed : "";
    crypto_generichash(seedkey, sizeof seedkey, (const unsigned char *)seed, strlen(seed), NULL, 0);
    for (size_t i = 0; i < n; i++) {
        if (docs[i].set == TDOC_TEST) {
            set[i] = SPLIT_TEST;
            continue;
        }
        set[i] = SPLIT_TRAIN;
        if (docs[i].set != TDOC_AUTO)
            continue;
        if (stratum(&docs[i], type, &it[m].stratum) < 0) {
            free(it);
            err_set(err, ERR_NOMEM, "out of memory");
            return -1;
        }
        const char *t = docs[i].text ? docs[i].text : "";
        it[m].order = util_hash64(seedkey, t, strlen(t));
        it[m].idx = i;
        m++;
    }
    qsort(it, m, sizeof *it, cmp_item);
    /* walk strata; expected test count accumulates as 0.2 per document */
    double want = 0.0;
    size_t given = 0;
    for (size_t s = 0; s < m;) {
        size_t e = s;
        while (e < m && it[e].stratum == it[s].stratum)
            e++;
        size_t sz = e - s;
        want += 0.2 * (double)sz;
        size_t k = (size_t)(want + 0.5) > given ? (size_t)(want + 0.5) - given : 0;
        if (k > sz - 1)
            k = sz - 1;
        for (size_t j = 0; j < k; j++)
            set[it[s + j].idx] = SPLIT_TEST;
        given += k;
        s = e;
    }
    free(it);
    return 0;
}

int split_folds(const struct tdoc *docs, const size_t *idx, size_t n_idx, enum model_type type,
                const char *seed, int k, int *fold, struct err *err)
{
    struct item *it = malloc((n_idx ? n_idx : 1) * sizeof *it);
    unsigned char seedkey[UTIL_HASH_KEY];
    static const char salt[] = "/folds";

    if (!it) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    seed = seed ? seed : "";
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof seedkey);
    crypto_generichash_update(&st, (const unsigned char *)seed, strlen(seed));
    crypto_generichash_update(&st, (const unsigned char *)salt, sizeof salt - 1);
    crypto_generichash_final(&st, seedkey, sizeof seedkey);
    for (size_t j = 0; j < n_idx; j++) {
        const struct tdoc *d = &docs[idx[j]];
        if (stratum(d, type, &it[j].stratum) < 0) {
            free(it);
            err_set(err, ERR_NOMEM, "out of memory");
            return -1;
        }
        it[j].order = util_hash64(seedkey, d->text, strlen(d->text));
        it[j].idx = j;
    }
    qsort(it, n_idx, sizeof *it, cmp_item);
    /* one running counter across strata keeps fold sizes within one of each other */
    for (size_t j = 0; j < n_idx; j++)
        fold[it[j].idx] = (int)(j % (size_t)k);
    free(it);
    return 0;
}

struct th {
    uint64_t h;
    size_t idx;
};

static int cmp_th(const void *a, const void *b)
{
    const struct th *x = a, *y = b;
    return x->h < y->h ? -1 : x->h > y->h;
}

int split_dedupe(const struct tdoc *docs, size_t n, unsigned char *set, size_t *removed,
                 struct err *err)
{
    struct th *tr = malloc((n ? n : 1) * sizeof *tr);
    size_t m = 0, drop = 0;

    if (!tr) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (set[i] == SPLIT_TRAIN)
            tr[m++] = (struct th){util_hash64(key_text, docs[i].text, strlen(docs[i].text)), i};
    qsort(tr, m, sizeof *tr, cmp_th);
    for (size_t i = 0; i < n; i++) {
        if (set[i] != SPLIT_TEST)
            continue;
        struct th key = {util_hash64(key_text, docs[i].text, strlen(docs[i].text)), 0};
        const struct th *hit = m ? bsearch(&key, tr, m, sizeof *tr, cmp_th) : NULL;
        if (!hit)
            continue;
        size_t lo = (size_t)(hit - tr);
        while (lo > 0 && tr[lo - 1].h == key.h) /* the first of the training texts with this hash */
            lo--;
        for (size_t j = lo; j < m && tr[j].h == key.h; j++) {
            if (!strcmp(docs[tr[j].idx].text, docs[i].text)) {
                set[i] = SPLIT_DROPPED;
                drop++;
                break;
            }
        }
    }
    free(tr);
    *removed = drop;
    return 0;
}
