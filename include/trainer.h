/* SPDX-License-Identifier: MIT */
/*
 * trainer: turns labeled documents into a trained, evaluated text model and
 * loads such models back for prediction.
 *
 * This is the only interface the server side (pool_, handlers) uses from the
 * machine-learning side (text_, feat_, metrics_, artifact_ ...); it includes
 * predictor.h, which declares the predictor_* functions.
 *
 * The job speaks the domain's types (include/domain.h): a model type other
 * than TYPE_BASE and a language; their names exist only inside the artifact.
 *
 * Thread-safety: trainer_run() may run concurrently on several threads (one
 * job each). A loaded struct predictor is immutable and may be shared
 * read-only by any number of threads calling predictor_predict().
 */
#ifndef MODELD_TRAINER_H
#define MODELD_TRAINER_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>

#include "domain.h"
#include "err.h"
#include "predictor.h"

struct tdoc_aspect {
    const char *category;
    const char *polarity; /* "positive" | "negative" | "neutral" | "conflict" */
};

/* One labeled document, borrowed from the caller for the duration of trainer_run(). */
struct tdoc {
    const char *text;                /* valid UTF-8, non-empty */
    const char *cls;                 /* CLASS, CLASSLABEL: the class; else NULL */
    const char *const *labels;       /* LABEL, CLASSLABEL: labels (may be 0 of them) */
    size_t n_labels;
    const struct tdoc_aspect *aspects; /* ABSA: one entry per category (may be 0) */
    size_t n_aspects;
    int set;                         /* TDOC_TRAIN / TDOC_TEST (explicit split) or TDOC_AUTO */
};

enum { TDOC_AUTO = 0, TDOC_TRAIN = 1, TDOC_TEST = 2 };

/* Progress callback: pct in [0,100], called from the training thread, often;
 * the callee throttles and keeps it monotone. */
typedef void (*trainer_progress_fn)(void *ctx, double pct);

struct trainer_job {
    enum model_type type;    /* TYPE_ABSA | TYPE_CLASS | TYPE_LABEL | TYPE_CLASSLABEL */
    enum language language;
    const char *seed;        /* the model's uuid string: seeds the auto split */
    const struct tdoc *docs; /* all documents; with TDOC_AUTO the trainer makes a
                                deterministic stratified 80/20 split */
    size_t n_docs;
    const char *base_artifact; /* path of a base model's artifact for warm start, or NULL */
    const char *artifact_path; /* where to write the trained artifact (atomically) */
    trainer_progress_fn progress;
    void *progress_ctx;
    const atomic_int *cancel; /* trainer stops with ERR_CANCELED soon after *cancel != 0; may be NULL */
};

struct trainer_result {
    double score;    /* micro-F1 on the test set, in [0,1] */
    json_t *metrics; /* owned: micro/macro P/R/F1, per-label counts, confusion, sizes ... */
    /* owned: array of {"code", "message", "labels"?, "count"?}, empty when there is
     * nothing to say; codes: labels_only_in_test, labels_rare_in_train,
     * test_duplicates_dropped, test_set_small (docs/ML.md). Never a failure. */
    json_t *warnings;
};

/*
 * Train, evaluate on the test set, and write the artifact.
 * On success returns 0 and fills *out (caller releases with trainer_result_release()).
 * On failure returns -1 with err: ERR_INVALID (TYPE_BASE or an out-of-range
 * type or language, no artifact path), ERR_DATA (message says, for a user, why the data
 * cannot make a model), ERR_CANCELED, ERR_IO / ERR_INTERNAL / ERR_NOMEM.
 */
int trainer_run(const struct trainer_job *job, struct trainer_result *out, struct err *err);
void trainer_result_release(struct trainer_result *r);

/*
 * How a base model (job->base_artifact) is used. trainer_run() is
 * trainer_run_mode(TRAINER_BASE_AUTO); the other modes exist for the
 * benchmark's base-model experiment and for tests (docs/ML.md, "Base models").
 */
enum trainer_base_mode {
    TRAINER_BASE_AUTO = 0, /* stacked transfer per head where CV on train says it helps */
    TRAINER_BASE_IGNORE,   /* train as if there were no base */
    TRAINER_BASE_WARM,     /* only warm-start the final fit from the base (no model change) */
    TRAINER_BASE_STACK     /* stacked transfer wherever a base head matches, no CV choice */
};

/* trainer_run() with an explicit base-model mode; same contract otherwise. */
int trainer_run_mode(const struct trainer_job *job, enum trainer_base_mode mode,
                     struct trainer_result *out, struct err *err);

/* predictor_load(), predictor_predict() ...: include/predictor.h (included above). */

#endif
