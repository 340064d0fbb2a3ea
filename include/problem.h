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

/* Fill resp with a problem of the given status and detail (printf-style). */
void problem_set(struct response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like problem_set, with a problem type of its own (a stable URI). */
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

/* HTTP status for an error code. */
int problem_status(enum err_code code);

#endif
