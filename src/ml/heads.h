/* SPDX-License-Identifier: MIT */
/*
 * heads: what the heads of a model are and how one is evaluated.
 *
 * A model type fixes its heads (by name, see docs/ML.md): CLASS has "class",
 * LABEL "label", CLASSLABEL both, ABSA a multi-label "category" head and a
 * multiclass "polarity" head whose inputs are the vocabulary followed by one
 * indicator input per category. This module holds that shared vocabulary
 * (model types, ABSA polarities, head and label lookup) and the evaluation of
 * a stored float32 head on a weighted feature vector. The trainer's test-set
 * evaluation and the predictor both go through heads_probs(), so the reported
 * score is the score of the stored model.
 *
 * Thread-safety: reentrant; nothing here writes to an artifact.
 */
#ifndef MODELD_HEADS_H
#define MODELD_HEADS_H

#include <stdint.h>

#include "artifact.h"
#include "feat.h"

/* ABSA polarities: ids 0..HEADS_N_POL-1 are "positive", "negative", "neutral",
 * "conflict". */
#define HEADS_N_POL 4

/* Id of polarity name p, or -1 (also for NULL). */
int heads_polarity_id(const char *p);

/* Name of polarity id (0 <= id < HEADS_N_POL): a static string. */
const char *heads_polarity_name(int id);

/* The logistic function 1 / (1 + e^-z) that turns a head's scores into
 * probabilities (also used to tune thresholds on decision values). */
double heads_sigmoid(double z);

/*
 * prob[0..h->n_out) = the output probabilities of head h for the weighted
 * vector x, plus, when extra >= 0, the input row extra with value 1 (the
 * polarity head's category indicator). Multiclass heads: OvR probabilities
 * normalized to sum 1 (a two-output head stored as one column gives
 * 1 - p, p; a one-output head gives 1). Multi-label heads: independent
 * probabilities, compared by the caller with h->threshold. prob is written
 * even when a temporary for a head of more than 64 columns cannot be
 * allocated (then all 0).
 */
void heads_probs(const struct artifact_head *h, const struct feat_vec *x, long extra, double *prob);

/* Index of the largest of p[0..n), the first one on ties; n >= 1. */
uint32_t heads_argmax(const double *p, uint32_t n);

/* The head with the given name, or NULL (borrowed from a). */
const struct artifact_head *heads_find(const struct artifact *a, const char *name);

/* Output index of label s in head h, or -1. */
long heads_label(const struct artifact_head *h, const char *s);

#endif
