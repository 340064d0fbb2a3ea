/* SPDX-License-Identifier: MIT */
/*
 * explain: why a linear model says what it says.
 *
 * Top features (at training time): for every label of every head, the
 * vocabulary rows with the strongest positive weights, named by the n-gram
 * that dominated their hash bucket in the training documents (hashing loses
 * the text, so the training texts are walked once more, counting surface
 * forms only for the few buckets that made it to a top list). The result is
 * the JSON stored in the artifact (version 2) and served by the
 * /explanation route:
 *   {"<head>": [{"label": str, "features": [{"ngram": str, "kind": "word" |
 *               "bigram" | "char", "weight": num}...]}...]...}
 * (heads "class", "label", "category", "polarity"; a constant head has no
 * entries). Weights are the stored float32 weights on the TF-IDF inputs.
 * Of the 3 × EXPLAIN_TOP strongest rows, character n-grams that are part of
 * one of the word or bigram candidates are left out (they mostly repeat that
 * word's weight), and the first EXPLAIN_TOP others are listed.
 *
 * Spans (at prediction time): the contribution of each token of one text to
 * one label's score: every feature occurrence adds x_j × w_j(label) / tf_j
 * (its share of the feature's value times its weight) to the token(s) it
 * comes from (a bigram half to each word, a character n-gram to its word).
 * The tokens with the largest positive contributions are the spans.
 *
 * Thread-safety: reentrant; artifacts are only read.
 */
#ifndef MODELD_EXPLAIN_H
#define MODELD_EXPLAIN_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>

#include "artifact.h"
#include "err.h"
#include "feat.h"
#include "text.h"

/* Features kept per label. */
#define EXPLAIN_TOP 20

/* Spans returned per predicted label. */
#define EXPLAIN_SPANS 5

/*
 * The top features of every head of a (vocabulary rows < a->vocab.n), named
 * from the n_texts training texts in language lang. Returns the JSON text
 * (caller frees) or NULL with ERR_NOMEM / ERR_CANCELED (cancel may be NULL).
 */
char *explain_top_features(const struct artifact *a, const char *lang, const char *const *texts,
                           size_t n_texts, const atomic_int *cancel, struct err *err);

/* The weight of label `label` of head h on input row `row`: the stored weight,
 * its negation for labels[0] of a two-label head stored as one column, 0 for
 * a constant head or an all-zero row. */
double explain_weight(const struct artifact_head *h, uint32_t row, uint32_t label);

/*
 * Per-token contributions of one analyzed text to head h's label `label`:
 * contrib[0..t->n) (caller-allocated) receives, for each token, the sum of
 * its features' shares (see above). raw is the text's raw count vector
 * (feat_extract), v its weighted vector (feat_weight with a's vocabulary).
 * -1 with ERR_NOMEM.
 */
int explain_tokens(const struct artifact *a, const struct artifact_head *h, uint32_t label,
                   const struct text_tokens *t, const struct feat_vec *raw,
                   const struct feat_vec *v, double *contrib, struct err *err);

#endif
