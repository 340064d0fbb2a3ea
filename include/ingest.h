/* SPDX-License-Identifier: MIT */
/*
 * ingest: streaming parser and validator for labeled documents, used by the
 * upload route and by `modeld annotations import`. Bytes are fed as they
 * arrive; the format is detected from the first non-blank byte: '[' starts a
 * JSON array of documents, '{' starts JSON lines (one document per line).
 * Each document is parsed on its own and checked against the session's
 * annotation type; only the compact, validated fields are kept, never the
 * whole body.
 *
 * Document: {"text": str, "external_id"?: str, "class"?: str, "labels"?: [str],
 * "aspects"?: [{"category": str, "polarity": positive|negative|neutral|conflict}]};
 * other keys are ignored. CLASS needs class (or labels with exactly one entry),
 * LABEL needs labels, CLASSLABEL both, ABSA needs aspects (may be empty).
 *
 * Documents can be taken as they come (an upload writes them in batches):
 * ingest_pending / ingest_doc give the documents parsed since the last
 * ingest_drop_pending, which frees them; ingest_count still counts them all.
 *
 * Thread-safety: one struct ingest per thread.
 */
#ifndef MODELD_INGEST_H
#define MODELD_INGEST_H

#include <jansson.h>
#include <stddef.h>

#include "db.h"
#include "domain.h"
#include "err.h"

#define INGEST_MAX_DOC ((size_t)4 << 20) /* one document's JSON text */
#define INGEST_MAX_ERRORS 50

struct ingest;

/* type: an annotation type (not TYPE_BASE). NULL on allocation failure. */
struct ingest *ingest_new(enum model_type type);
void ingest_free(struct ingest *in);

/* Feed the next chunk. Errors are collected, never fatal. */
void ingest_feed(struct ingest *in, const char *data, size_t len);

/*
 * End of input. Returns 0 when every document was valid and there was at
 * least one; otherwise -1 and *errors (caller owns) lists up to
 * INGEST_MAX_ERRORS {field, message} entries, field being "documents[i]"
 * (JSON array) or "line N" (JSON lines).
 */
int ingest_finish(struct ingest *in, json_t **errors);

/* Valid documents so far (pending and dropped). */
size_t ingest_count(const struct ingest *in);
/* Documents parsed since the last drop; *bytes (may be NULL) their memory. */
size_t ingest_pending(const struct ingest *in, size_t *bytes);
/* 1 while no document was invalid (after the first error none are kept). */
int ingest_valid_so_far(const struct ingest *in);
/* Free the pending documents (they have been written). */
void ingest_drop_pending(struct ingest *in);
/* The i-th pending document (borrowed, valid until the next drop or ingest_free). */
const struct db_doc *ingest_doc(const struct ingest *in, size_t i);
/* The same as a db_doc_at_fn (ctx is the struct ingest). */
const struct db_doc *ingest_doc_at(const void *in, size_t i);

#endif
