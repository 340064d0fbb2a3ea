/* SPDX-License-Identifier: MIT */
/*
 * split: decides which documents of a training job are used for training and
 * which for testing.
 *
 * Documents with an explicit set (TDOC_TRAIN / TDOC_TEST) keep it. Documents
 * with TDOC_AUTO get a deterministic stratified 80/20 split: they are grouped
 * by a stratum (the class for CLASS and CLASSLABEL, the sorted label set for
 * LABEL, the first aspect category for ABSA), ordered inside each stratum by a
 * keyed hash of (seed, text), and the first ~20% of each stratum go to test.
 * Rounding is carried across strata so the total is 20% of the AUTO documents,
 * and a stratum never gives its last document to test. Same seed and same
 * documents give the same split, whatever their order; another seed gives
 * another split.
 *
 * Thread-safety: reentrant.
 */
#ifndef MODELD_SPLIT_H
#define MODELD_SPLIT_H

#include <stddef.h>

#include "err.h"
#include "trainer.h"

enum { SPLIT_TRAIN = 0, SPLIT_TEST = 1, SPLIT_DROPPED = 2 };

/*
 * Fill set[i] (n entries) with SPLIT_TRAIN or SPLIT_TEST for each document.
 * type is the model type (not TYPE_BASE). -1 with ERR_NOMEM.
 */
int split_assign(const struct tdoc *docs, size_t n, enum model_type type, const char *seed,
                 unsigned char *set, struct err *err);

/*
 * Mark SPLIT_DROPPED every test document whose text equals a training
 * document's text; *removed gets their number. -1 with ERR_NOMEM.
 */
int split_dedupe(const struct tdoc *docs, size_t n, unsigned char *set, size_t *removed,
                 struct err *err);

/*
 * Stratified k-fold assignment for cross-validation: fold[j] in [0, k) for the
 * n_idx documents docs[idx[j]], dealt round-robin inside each stratum in
 * keyed-hash order, so folds are balanced and deterministic for a seed.
 * -1 with ERR_NOMEM.
 */
int split_folds(const struct tdoc *docs, const size_t *idx, size_t n_idx, enum model_type type,
                const char *seed, int k, int *fold, struct err *err);

#endif
