/* SPDX-License-Identifier: MIT */
/*
 * feat: turns an analyzed document (text_tokens) into a sparse, hashed,
 * TF-IDF weighted, L2-normalized feature vector.
 *
 * Two hash namespaces share one index space without colliding: word n-grams
 * (stemmed unigrams and bigrams) hash into [0, 2^bits), character n-grams of
 * the normalized unstemmed words (padded with a space on each side, counted in
 * code points) into [2^bits, 2^(bits+1)). Hashing is keyed SipHash-2-4
 * (libsodium crypto_shorthash) with fixed per-kind keys, so an index is stable
 * across processes and versions of this file with the same FEAT_HASH_VERSION.
 *
 * A vocabulary (feat_vocab) is the sorted list of hashed indices kept from
 * the training set (document frequency >= min_df) with their IDF; a weighted
 * vector uses vocabulary positions ("compact indices") instead of hashes.
 *
 * Thread-safety: all functions are reentrant; a vocab or config may be read by
 * any number of threads at once.
 */
#ifndef MODELD_FEAT_H
#define MODELD_FEAT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "text.h"

#define FEAT_HASH_VERSION 1u

struct feat_config {
    uint32_t hash_bits;   /* bits per namespace, 10..24 */
    uint32_t word_ngrams; /* 0 (no words), 1 (unigrams) or 2 (uni + bigrams) */
    uint32_t char_min;    /* smallest char n-gram, 0 disables char n-grams */
    uint32_t char_max;    /* largest char n-gram (<= 8) */
    uint32_t sublinear_tf; /* 1: tf -> 1 + ln(tf) */
    uint32_t min_df;      /* keep features in at least min_df training documents */
};

/* Fill c with the defaults chosen by measurement (see docs/ML.md). */
void feat_config_default(struct feat_config *c);

/* 0 if every field of c is in range, else -1 with ERR_INVALID. */
int feat_config_check(const struct feat_config *c, struct err *err);

/* A sparse vector: n entries, idx strictly increasing. */
struct feat_vec {
    uint32_t *idx;
    float *val;
    size_t n, cap;
};

void feat_vec_init(struct feat_vec *v);
void feat_vec_release(struct feat_vec *v);

/*
 * Hashed raw term counts of one analyzed document into out (overwritten):
 * idx = hashed index, val = count. Returns 0, or -1 with ERR_NOMEM.
 */
int feat_extract(const struct feat_config *c, const struct text_tokens *t,
                     struct feat_vec *out, struct err *err);

/*
 * One feature occurrence, as feat_walk() reports it: hashed index h, the
 * tokens it comes from (first == last for a unigram or a character n-gram of
 * token first; first + 1 == last for a bigram) and, when text was asked for,
 * its surface form gram[0..len) (not NUL-terminated, valid only during the
 * call): the normalized unstemmed word, the two words joined by a space, or
 * the character n-gram with the padding spaces that mark word boundaries.
 * Returns 0, or -1 to stop the walk (as out of memory).
 */
typedef int (*feat_visit_fn)(void *ctx, uint32_t h, size_t first, size_t last, const char *gram,
                             size_t len);

/*
 * Call fn for every feature occurrence of t, in the order feat_extract()
 * counts them (feat_extract() is this walk plus counting, so the two cannot
 * disagree). want_text: 0 passes gram = NULL (no extra work). -1 with
 * ERR_NOMEM (also when fn returned -1).
 */
int feat_walk(const struct feat_config *c, const struct text_tokens *t, int want_text,
              feat_visit_fn fn, void *ctx, struct err *err);

struct feat_vocab {
    size_t n;
    uint32_t *idx; /* sorted hashed indices */
    float *idf;    /* idf[i] of idx[i] */
};

void feat_vocab_init(struct feat_vocab *v);
void feat_vocab_release(struct feat_vocab *v);

/*
 * Fit a vocabulary on n_docs raw count vectors (from feat_extract): keep
 * indices with document frequency >= c->min_df, idf = ln((1 + N) / (1 + df)) + 1.
 * On success fills *out (caller releases). -1 with ERR_NOMEM.
 */
int feat_vocab_fit(const struct feat_config *c, const struct feat_vec *docs,
                       size_t n_docs, struct feat_vocab *out, struct err *err);

/*
 * Union of two vocabularies into *out (caller releases): every index of a or
 * b, sorted; an index in both keeps a's IDF. Used to keep a base model's
 * features in a model trained from it. -1 with ERR_NOMEM (out untouched).
 */
int feat_vocab_merge(const struct feat_vocab *a, const struct feat_vocab *b,
                     struct feat_vocab *out, struct err *err);

/* Position of hashed index h in v, or -1 if absent (binary search). */
long feat_vocab_find(const struct feat_vocab *v, uint32_t h);

/*
 * Weight a raw count vector: drop indices not in v, map to vocabulary
 * positions, tf (or 1 + ln tf) times idf, then L2-normalize. out is overwritten.
 * A document with no known feature gets an empty vector. -1 with ERR_NOMEM.
 */
int feat_weight(const struct feat_config *c, const struct feat_vocab *v,
                    const struct feat_vec *raw, struct feat_vec *out, struct err *err);

#endif
