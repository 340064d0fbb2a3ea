/* SPDX-License-Identifier: MIT */
/*
 * metrics: counts of true/false positives and false negatives per evaluated
 * unit (a class, a label, an aspect category with pair semantics) and the
 * precision / recall / F1 figures derived from them.
 *
 * Conventions (documented in docs/ML.md): P = tp/(tp+fp), R = tp/(tp+fn),
 * F1 = 2tp/(2tp+fp+fn); any 0/0 is defined as 0. Micro figures pool the counts
 * of all entries, so micro-F1 = 2Σtp/(2Σtp+Σfp+Σfn) exactly. Macro figures are
 * the unweighted means over entries that have gold support or predictions
 * (an entry with neither is undefined and left out).
 *
 * Thread-safety: a struct metrics is owned by one thread; functions are reentrant.
 */
#ifndef MODELD_METRICS_H
#define MODELD_METRICS_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"

struct metrics_entry {
    char *label;
    const char *head; /* static string ("class", "label") or NULL */
    size_t tp, fp, fn;
    size_t train; /* training documents with this label (0: only in the test set) */
};

struct metrics {
    struct metrics_entry *e;
    size_t n, cap;
};

void metrics_init(struct metrics *m);
void metrics_release(struct metrics *m);

/* Append an entry (label copied); returns its index, or -1 with ERR_NOMEM. */
long metrics_add(struct metrics *m, const char *label, const char *head, struct err *err);

/* P, R, F1 of the given counts with 0/0 := 0. Any output pointer may be NULL. */
void metrics_prf(size_t tp, size_t fp, size_t fn, double *p, double *r, double *f1);

/* Pooled counts and micro P/R/F1 over all entries. */
void metrics_micro(const struct metrics *m, double *p, double *r, double *f1);

/* Macro P/R/F1 (mean over defined entries; 0 when none is defined). */
void metrics_macro(const struct metrics *m, double *p, double *r, double *f1);

/*
 * {"unit": unit, "micro": {precision, recall, f1}, "macro": {...},
 *  "labels": [{"label", "head"?, "tp", "fp", "fn", "support", "train_support", "precision",
 *              "recall", "f1"}...]}
 * New reference, or NULL with ERR_NOMEM.
 */
json_t *metrics_to_json(const struct metrics *m, const char *unit, struct err *err);

#endif
