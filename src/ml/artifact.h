/* SPDX-License-Identifier: MIT */
/*
 * artifact: the stored form of a trained model — model type and language,
 * feature settings, the vocabulary with its IDF, and one or more linear
 * "heads" (label names, float32 weights, biases, decision threshold).
 *
 * File format (all integers little-endian, see docs/ML.md):
 *   "MODELDAR" | u32 version | u32 flags (0) | u64 payload length | payload |
 *   32-byte BLAKE2b-256 of everything before it.
 * Only non-zero weight rows are stored; a head whose rows are all non-zero is
 * stored dense. The reader checks the checksum first and then bounds-checks
 * every length and index, so a damaged or foreign file gives ERR_CORRUPT and
 * never a crash or an unbounded allocation.
 *
 * Thread-safety: functions are reentrant; a loaded artifact is read-only and
 * may be shared by threads.
 */
#ifndef MODELD_ARTIFACT_H
#define MODELD_ARTIFACT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "feat.h"

#define ARTIFACT_MAGIC "MODELDAR"
#define ARTIFACT_VERSION 2u     /* written by default */
#define ARTIFACT_VERSION_MIN 1u /* oldest version still read (1: no explanations) */

enum artifact_head_kind {
    ARTIFACT_HEAD_MULTICLASS = 1, /* exactly one output wins (argmax of OvR probabilities) */
    ARTIFACT_HEAD_MULTILABEL = 2  /* each output independently, probability >= threshold */
};

/*
 * A linear head: score_k = bias[k] + Σ_i x_i w[row(i)][k], probability =
 * logistic(score). n_w == n_out, except a two-output multiclass head that
 * stores one column (the score of labels[1]; labels[0] gets 1 - p).
 * rows == NULL: w holds n_in dense rows; else w holds n_rows rows and rows[j]
 * (strictly increasing, < n_in) is the input index of row j.
 */
struct artifact_head {
    char *name;
    uint32_t kind;
    uint32_t n_out;
    char **labels; /* n_out owned strings */
    uint32_t n_w;
    uint32_t n_in;
    uint32_t n_rows;
    uint32_t *rows;
    float *w;    /* n_rows (or n_in) × n_w, row-major */
    float *bias; /* n_w */
    float threshold;
    double C; /* regularization chosen at training, for information */
};

struct artifact {
    char *type;
    char *language;
    struct feat_config fcfg;
    struct feat_vocab vocab;
    uint32_t n_heads;
    struct artifact_head *heads;
    char *meta; /* free-form JSON text (training summary), may be "" */
    /* version 2 on: JSON text of the top features per head and label (the
     * /explanation route's "top_features"), "" when none; NULL in version 1 */
    char *explain;
    uint32_t version; /* as read; 0 when building = write ARTIFACT_VERSION */
};

/* A zeroed artifact (all pointers NULL), or NULL with ERR_NOMEM. */
struct artifact *artifact_new(struct err *err);
void artifact_free(struct artifact *a);

/* Release the contents of one head (for heads being built); accepts NULL. */
void artifact_head_release(struct artifact_head *h);

/* Weight row of input index i in head h, or NULL when the row is all zero. */
const float *artifact_head_row(const struct artifact_head *h, uint32_t i);

/* Serialize a into a new buffer (*buf freed by the caller with free()). */
int artifact_encode(const struct artifact *a, unsigned char **buf, size_t *len, struct err *err);

/* Parse and verify a serialized artifact. ERR_CORRUPT on any inconsistency. */
struct artifact *artifact_decode(const unsigned char *buf, size_t len, struct err *err);

/* Write atomically: temp file in the same directory, fsync, rename, fsync dir. ERR_IO, with a
 * message that names the system error but no path ("cannot write model artifact: No space
 * left on device"), fit for users. */
int artifact_write(const struct artifact *a, const char *path, struct err *err);

/* I/O fault injection for tests: while non-zero, artifact_write fails as if
 * writing the file had failed with this errno (e.g. ENOSPC). 0 in production. */
extern atomic_int artifact_fault_errno;

/* Read and verify a file. ERR_IO if it cannot be read, ERR_CORRUPT if damaged. */
struct artifact *artifact_read(const char *path, struct err *err);

#endif
