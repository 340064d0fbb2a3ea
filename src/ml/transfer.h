/* SPDX-License-Identifier: MIT */
/*
 * transfer: carrying a base model's head into a new model's input space, for
 * stacked transfer and warm starts (docs/ML.md, "Base models").
 *
 * A base head is used by a new head of the same name and kind that shares at
 * least one output label with it (and has at most 64 weight columns). Its
 * weights are carried over by hashed feature index (never by column
 * position: the two vocabularies differ), rescaled by idf_base / idf_new so
 * that w·x on the new TF-IDF vector approximates the base model's own score;
 * for the ABSA polarity head the category indicator inputs are matched by
 * category name. Inputs the base does not know get weight 0.
 *
 * Stacked transfer: every training row gets one extra input per base output,
 * the mapped base score (w̃_b·x + bias_b), and the head is cross-validated and
 * fitted with them (transfer_stack_rows). Because the mapped score is linear
 * in x, the fitted weights v_kb of those inputs fold back exactly into an
 * ordinary linear head, w_k += Σ_b v_kb w̃_b (transfer_fold), so the artifact
 * and the predictor do not change.
 *
 * Thread-safety: reentrant; the base artifact is only read.
 */
#ifndef MODELD_TRANSFER_H
#define MODELD_TRANSFER_H

#include <stddef.h>
#include <stdint.h>

#include "artifact.h"
#include "err.h"
#include "feat.h"
#include "learn.h"

/* The new model's inputs: [0, vocab->n) are its features (vocabulary
 * positions); the polarity head's input vocab->n + c is the indicator of
 * category cats[c]. All borrowed. */
struct transfer_inputs {
    const struct feat_vocab *vocab;
    const char *const *cats; /* ABSA categories, or NULL with n_cats 0 */
    size_t n_cats;
};

/* The new head a base head is mapped onto (borrowed strings). */
struct transfer_head {
    const char *name; /* "class", "label", "category", "polarity" */
    uint32_t kind;    /* ARTIFACT_HEAD_* */
    size_t n_out;
    const char *const *labels; /* n_out output labels */
    size_t K;    /* weight columns trained: n_out, or 1 for a binary multiclass head */
    size_t n_in; /* inputs, without the bias */
};

/* A base head's weights mapped onto a new head's inputs. */
struct transfer_map {
    const struct artifact_head *bh; /* the base head (borrowed from the base artifact) */
    size_t E;                       /* base outputs = stacked inputs */
    size_t n_in;                    /* inputs of the new head (without bias) */
    double *wm;                     /* E × n_in mapped base weights */
    double *bb;                     /* E base biases */
};

/*
 * Map the base head matching h (base may be NULL) onto h's inputs: 0 with *m
 * filled (release with transfer_map_release()); 1 when no base head matches
 * (*m zeroed); -1 with ERR_NOMEM (*m zeroed).
 */
int transfer_map_build(const struct artifact *base, const struct transfer_inputs *in,
                       const struct transfer_head *h, struct transfer_map *m, struct err *err);

/* Free the contents of m and zero it; accepts NULL. */
void transfer_map_release(struct transfer_map *m);

/*
 * The rows of d (inputs < m->n_in, then the bias node) with m->E stacked
 * base scores inserted before the bias node: fills *out (out->x and *nodes are
 * owned by the caller, free() both; out->x points into *nodes). -1 with
 * ERR_NOMEM (nothing allocated).
 */
int transfer_stack_rows(const struct transfer_map *m, const struct learn_data *d,
                        struct learn_data *out, struct feature_node **nodes, struct err *err);

/*
 * Fold the weights Ws fitted on stacked rows (K × (n_in + E + 1), bias last)
 * into the weights of an ordinary head W (K × (n_in + 1), caller-allocated).
 */
void transfer_fold(const struct transfer_map *m, size_t K, const double *Ws, double *W);

/*
 * Starting weights for a warm-started fit of h (K × (n_in + 1), bias last,
 * caller frees): the mapped weights of the outputs whose label the base head
 * also has, else 0. NULL when nothing matches, or out of memory (a warm start
 * is optional).
 */
double *transfer_init(const struct artifact *base, const struct transfer_inputs *in,
                      const struct transfer_head *h);

#endif
