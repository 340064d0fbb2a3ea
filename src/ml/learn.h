/* SPDX-License-Identifier: MIT */
/*
 * learn: one-vs-rest L2-regularized logistic regression on top of LIBLINEAR,
 * with k-fold cross-validation over a grid of C values, warm starts along the
 * grid, and a small pool of threads.
 *
 * Every output k is an independent binary problem (y = +1 for documents with
 * Y[i*K+k] = 1). The primal trust-region solver (L2R_LR) is used because it
 * accepts an initial solution (warm start) and does not call rand(), so
 * results are deterministic whatever the number of threads. Tasks are run by
 * the calling thread plus n_threads-1 helpers; the tick callback and the grid
 * scorer are only ever called on the calling thread.
 *
 * Thread-safety: learn_* may run concurrently on several threads, provided
 * learn_global_init() was called (it is idempotent).
 */
#ifndef MODELD_LEARN_H
#define MODELD_LEARN_H

#include <linear.h>
#include <stdatomic.h>
#include <stddef.h>

#include "err.h"

/* Instances in LIBLINEAR form: row i ends with the bias node (index n_feat,
 * value 1) and the terminator (index -1). Feature indices are 1-based. */
struct learn_data {
    size_t n;
    struct feature_node **x;
    int n_feat; /* including the bias feature */
};

struct learn_opts {
    int n_threads;            /* >= 1 */
    const atomic_int *cancel; /* may be NULL */
    /* progress: called on the calling thread after finished fits, may be NULL */
    void (*tick)(void *ctx, size_t done, size_t total);
    void *ctx;
    /* 1: weight each binary problem's two classes by n / (2 × class count),
     * so a rare output weighs as much as a frequent one; 0: unweighted */
    int balanced;
    /* learn_cv: a grid level counts as better only if its score exceeds the
     * best so far by more than this (0: any gain) */
    double min_gain;
};

/* Silence LIBLINEAR's printing once per process (thread-safe, idempotent). */
void learn_global_init(void);

/*
 * Fit K binary models with cost C. Y is n × K (0/1). W (K × n_feat doubles,
 * caller-allocated) receives the weights, the last one being the bias. init is
 * NULL or K × n_feat starting weights. An output with no positive (or no
 * negative) instance gets w = 0 and bias -/+ LEARN_CONST_BIAS.
 * -1 with ERR_CANCELED or ERR_NOMEM.
 */
#define LEARN_CONST_BIAS 12.0
int learn_fit(const struct learn_data *d, const unsigned char *Y, size_t K, double C,
              const double *init, double *W, const struct learn_opts *o, struct err *err);

/*
 * Grid scorer: given the out-of-fold decision values dec (n × K) at grid level
 * c, return a score (higher is better).
 */
typedef double (*learn_score_fn)(void *ctx, size_t c, const double *dec);

/*
 * Cross-validate over Cs[0..nC) (ascending): fold[i] in [0, n_folds). Stops
 * after `patience` consecutive levels without a better score (better: by
 * more than o->min_gain). *best gets the
 * best level; best_dec (n × K, may be NULL) its out-of-fold decision values.
 * *levels_run (may be NULL) gets how many levels ran.
 * -1 with ERR_CANCELED or ERR_NOMEM.
 */
int learn_cv(const struct learn_data *d, const unsigned char *Y, size_t K, const int *fold,
             int n_folds, const double *Cs, size_t nC, size_t patience, learn_score_fn score,
             void *sctx, size_t *best, double *best_dec, size_t *levels_run,
             const struct learn_opts *o, struct err *err);

/* w · x for a LIBLINEAR row (including its bias node). */
double learn_dot(const double *w, const struct feature_node *x);

#endif
