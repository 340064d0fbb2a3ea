/* SPDX-License-Identifier: MIT */
/*
 * predictor: a trained model loaded from its artifact, answering predictions.
 *
 * Declared here and reached through include/trainer.h, the one header the
 * server side uses from the machine-learning side. Predictions evaluate the
 * artifact's heads with heads_probs(), the code the trainer's test-set
 * evaluation uses, so a stored model predicts what its score says.
 *
 * Thread-safety: a loaded struct predictor is immutable and may be shared
 * read-only by any number of threads calling predictor_predict(). Its only
 * mutable part, a pool of text analyzers that calls take and give back, has
 * its own lock.
 */
#ifndef MODELD_PREDICTOR_H
#define MODELD_PREDICTOR_H

#include <jansson.h>
#include <stddef.h>

#include "domain.h"
#include "err.h"

struct predictor;

/* Load and verify an artifact (checksum, a known model type and language, the
 * heads its type needs). ERR_CORRUPT for a damaged file, ERR_IO
 * when it cannot be read. Never crashes on bad input. Caller frees with predictor_free(). */
struct predictor *predictor_load(const char *path, struct err *err);
void predictor_free(struct predictor *p);

/* Copy a trained model's artifact to dst (e.g. to give a base model its own
 * weights): src is read and verified like predictor_load, dst is written
 * atomically (temp file, fsync, rename, fsync of the directory). ERR_CORRUPT
 * or ERR_IO on failure; dst is then left untouched. */
int predictor_copy_artifact(const char *src, const char *dst, struct err *err);

/* The artifact's model type (never TYPE_BASE) and language, checked at load. */
enum model_type predictor_type(const struct predictor *p);
enum language predictor_language(const struct predictor *p);

/* 1 if the artifact carries explanations (version 2 on), else 0. */
int predictor_can_explain(const struct predictor *p);

/* The top features per head and label (src/ml/explain.h); new reference, or NULL
 * with ERR_CONFLICT when the artifact has none (version 1: retrain), ERR_NOMEM. */
json_t *predictor_top_features(const struct predictor *p, struct err *err);

/*
 * Predict one text. Returns a new JSON object (caller owns):
 *   CLASS:      {"class": str, "probability": num, "classes": [{"class","probability"}...]}
 *   LABEL:      {"labels": [{"label","probability"}...]}   (labels above threshold)
 *   CLASSLABEL: both of the above
 *   ABSA:       {"aspects": [{"category","confidence","polarity","polarity_confidence"}...]}
 * With explain (and predictor_can_explain()), every predicted label also gets
 * "explanation": [{"text", "start", "end", "weight"}...], the spans of text
 * (code-point offsets into text as given, end exclusive) that raised its score
 * most, strongest first (at most EXPLAIN_SPANS; weight = their contribution to
 * the label's decision score); ABSA aspects also get "polarity_explanation".
 * Without it the answer is exactly the plain one.
 * NULL only on allocation failure.
 */
json_t *predictor_predict(const struct predictor *p, const char *text, int explain,
                          struct err *err);
/* How many text analyzers p has made so far. Calls of predictor_predict() one
 * after another reuse one analyzer, so this stays 1 for them (a test guards
 * against making an analyzer, with its stemmer and stem cache, per text). */
size_t predictor_analyzers_made(const struct predictor *p);

#endif
