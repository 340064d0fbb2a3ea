/* SPDX-License-Identifier: MIT */
/*
 * testwalk: what the fault walks (check_faults.c, storage; check_allocfaults.c,
 * allocations) share: the three requests they walk through (a session create,
 * a document upload, a model create, each with an Idempotency-Key) and the
 * snapshot of the tables a failed request must leave as they were.
 *
 * Static inline, test-only (as testapi.h).
 */
#ifndef MODELD_TESTWALK_H
#define MODELD_TESTWALK_H

#include <stdio.h>

#include "testapi.h"

static const char *const TWALK_SNAPSHOT[] = {
    "SELECT COUNT(*) FROM annotations",
    "SELECT COUNT(*) FROM documents",
    "SELECT COALESCE(SUM(document_count), 0) FROM annotations",
    "SELECT COALESCE(SUM(count), 0) FROM annotation_labels",
    "SELECT COUNT(*) FROM models",
    "SELECT COUNT(*) FROM model_annotations",
    "SELECT COUNT(*) FROM idempotency_keys",
    "SELECT COUNT(*) FROM uploads",
    "SELECT COUNT(*) FROM upload_labels",
    NULL,
};
#define TWALK_N_SNAP 9

static inline void twalk_snapshot(struct tapi *a, int64_t out[TWALK_N_SNAP])
{
    for (int i = 0; TWALK_SNAPSHOT[i]; i++)
        out[i] = tsql_int(&a->ts, TWALK_SNAPSHOT[i]);
}

enum twalk_op { TWALK_SESSION, TWALK_UPLOAD, TWALK_MODEL };

/* The request of op at walk point n (names and texts carry n), with key (may be NULL). */
static inline void twalk_op(struct tapi *a, enum twalk_op op, int64_t session, long n,
                            const char *key, struct tresp *r)
{
    char path[128], body[256];

    switch (op) {
    case TWALK_SESSION:
        snprintf(path, sizeof path, "/projects/%lld/annotations", (long long)a->pr);
        snprintf(body, sizeof body, "{\"name\":\"f%ld\",\"type\":\"CLASS\",\"language\":\"en\"}",
                 n);
        thttp_key(&a->ts, "POST", path, a->mgr, "application/json", key, body, r);
        break;
    case TWALK_UPLOAD:
        snprintf(path, sizeof path, "/projects/%lld/annotations/%lld/documents", (long long)a->pr,
                 (long long)session);
        snprintf(body, sizeof body,
                 "{\"text\":\"pizza %ld\",\"class\":\"food\"}\n"
                 "{\"text\":\"goal %ld\",\"class\":\"sports\"}\n"
                 "{\"text\":\"laptop %ld\",\"class\":\"tech\"}\n",
                 n, n, n);
        thttp_key(&a->ts, "POST", path, a->mgr, "application/x-ndjson", key, body, r);
        break;
    case TWALK_MODEL:
        snprintf(path, sizeof path, "/projects/%lld/models", (long long)a->pr);
        snprintf(body, sizeof body,
                 "{\"name\":\"m%ld\",\"language\":\"en\",\"annotation_ids\":[%lld]}", n,
                 (long long)session);
        thttp_key(&a->ts, "POST", path, a->mgr, "application/json", key, body, r);
        break;
    }
}

#endif
