/* SPDX-License-Identifier: MIT */
/*
 * idem: Idempotency-Key on the POSTs that create (a model, a labeling
 * session, a document upload), after draft-ietf-httpapi-idempotency-key-header.
 *
 * A request carrying the header is identified by (caller, key) and described
 * by a digest of its method, path, content type and body. When its work
 * commits, the handler stores its answer (status, Location, body) in the same
 * transaction (idem_save). A later request of the same caller with the same
 * key within 24 hours gets:
 *   - the stored answer, with "Idempotent-Replayed: true", when the digest is
 *     the same; the work is not done again;
 *   - 422 (urn:modeld:problem:idempotency-key-reused) when it differs;
 *   - 409 (urn:modeld:problem:idempotency-key-in-use, Retry-After: 1) while a
 *     request with that key is still being processed: by this daemon (an
 *     in-process registry), or by another daemon sharing the database (the
 *     key is marked in progress in the database when the request starts and
 *     the mark removed when it ends unanswered; a daemon that dies leaves a
 *     mark that expires with its lease).
 * Answers of requests whose work did not commit (validation errors, 5xx) are
 * not stored: a retry does the request again.
 *
 * Key syntax: 1 to 255 visible ASCII characters other than " and \, bare or quoted
 * as a structured-field string ("..."); anything else is 400.
 *
 * Thread-safety: the registry is thread-safe; a struct idem belongs to one
 * request.
 */
#ifndef MODELD_IDEM_H
#define MODELD_IDEM_H

#include <stddef.h>

#include "db.h"
#include "err.h"
#include "router.h"

#define IDEM_KEY_MAX 255

struct idem_registry;
struct idem_registry *idem_registry_new(void);
void idem_registry_free(struct idem_registry *r);

/* After authorization, before the body: header is the Idempotency-Key value
 * (NULL: none, nothing to do). Takes the key and reads its record. Returns 0
 * to go on (req->idem set when there is a key), -1 with resp filled (400 bad
 * key, 409 key in use, 500). */
int idem_open(struct request *req, const char *header, struct response *resp);
/* 1 when the key has a stored answer: the request will be answered from it
 * (or refused as another request), so its body needs no work (a streamed
 * upload stages nothing). */
int idem_answered(const struct request *req);
/* Every body byte, as it arrives. */
void idem_feed(struct request *req, const void *data, size_t len);
/* Before the handler: 1 when resp was filled (a replay, 422 or 500), 0 to run it. */
int idem_replay(struct request *req, struct response *resp);
/* By a handler, inside the transaction of its work, once resp holds the
 * answer (2xx): store it. 0 (also without a key) or -1 with err. */
int idem_save(const struct request *req, struct db_conn *c, const struct response *resp,
              struct err *err);
/* When the request is done, before its answer is sent: release the key
 * (removing its mark when no answer was stored) and free the state. The
 * calling thread holds no database connection. */
void idem_close(struct request *req);

#endif
