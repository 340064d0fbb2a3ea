/* SPDX-License-Identifier: MIT */
/*
 * problem: the one place that turns errors into RFC 9457 problem details
 * (application/problem+json) with type, title, status, detail and, for
 * validation errors, errors[{field, message}] naming every invalid field.
 * ERR_INTERNAL details are logged with the request id, never sent.
 *
 * Thread-safety: reentrant.
 */
#ifndef MODELD_PROBLEM_H
#define MODELD_PROBLEM_H

#include <jansson.h>

#include "err.h"
#include "router.h"

/*
 * Problem types: stable URIs a client switches on (listed, with their
 * statuses, in the Problem schema of openapi/openapi.yaml and in README).
 * problem_set picks its status's type; the others go with problem_typed.
 */
#define PROBLEM_INVALID_REQUEST "urn:modeld:problem:invalid-request"               /* 400 */
#define PROBLEM_UNAUTHENTICATED "urn:modeld:problem:unauthenticated"               /* 401 */
#define PROBLEM_FORBIDDEN "urn:modeld:problem:forbidden"                           /* 403 */
#define PROBLEM_CSRF_TOKEN "urn:modeld:problem:csrf-token-invalid"                 /* 403 */
#define PROBLEM_NOT_FOUND "urn:modeld:problem:not-found"                           /* 404 */
#define PROBLEM_METHOD_NOT_ALLOWED "urn:modeld:problem:method-not-allowed"         /* 405 */
#define PROBLEM_CONFLICT "urn:modeld:problem:conflict"                             /* 409 */
#define PROBLEM_IDEMPOTENCY_KEY_IN_USE "urn:modeld:problem:idempotency-key-in-use" /* 409 */
#define PROBLEM_LAST_OWNER "urn:modeld:problem:last-owner"                         /* 409 */
#define PROBLEM_CONTENT_TOO_LARGE "urn:modeld:problem:content-too-large"           /* 413 */
#define PROBLEM_UNSUPPORTED_MEDIA_TYPE "urn:modeld:problem:unsupported-media-type" /* 415 */
#define PROBLEM_IDEMPOTENCY_KEY_REUSED "urn:modeld:problem:idempotency-key-reused" /* 422 */
#define PROBLEM_INTERNAL_ERROR "urn:modeld:problem:internal-error"                 /* 500 */
#define PROBLEM_UNAVAILABLE "urn:modeld:problem:unavailable"                       /* 503 */

/* Fill resp with a problem of the given status, its type and the detail
 * (printf-style). status must be one of the statuses above (assert). */
void problem_set(struct response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like problem_set, with a problem type of its own (a PROBLEM_* above). The
 * status must be one problem_set knows (a bug otherwise: assert). */
void problem_typed(struct response *resp, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Map err to a status and fill resp (internal errors get a generic detail). */
void problem_from_err(struct response *resp, const struct err *err, const char *request_id);

/* Append {field, message} to a validation error array (created on demand).
 * When memory runs out, *errors becomes json_null() (see problem_field_oom). */
void problem_field(json_t **errors, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A check could not run for lack of memory: *errors becomes json_null()
 * (non-NULL, so the handler answers through problem_validation; later
 * problem_field calls leave it so). */
void problem_field_oom(json_t **errors);

/* 400 validation problem with the collected errors (stolen); 503 when
 * errors is json_null() (out of memory while checking). */
void problem_validation(struct response *resp, json_t *errors);

/* Reply `status` with body (stolen) when body is not NULL; otherwise reply the
 * problem for err (the usual tail of a handler that fetched a view). */
void problem_or_reply(struct response *resp, int status, json_t *body, const struct err *err,
                      const char *request_id);

/* The problem type problem_set gives status: a PROBLEM_* string, or NULL for a
 * status sent only with a type of its own (422). status must be one modeld
 * answers with a problem (assert). */
const char *problem_type(int status);

/* Store up to cap of the problem types the daemon sends (each once, static
 * strings) in out; returns how many it stored. For checks of the API spec. */
size_t problem_types(const char **out, size_t cap);

/* HTTP status for an error code. */
int problem_status(enum err_code code);

#endif
