/* SPDX-License-Identifier: MIT */
/* problem: RFC 9457 problem details for every error reply (see problem.h). */
#include "problem.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "banned.h" /* last: bans unsafe libc calls */

/*
 * Every status modeld answers with a problem, its reason phrase and its
 * problem type. A type is a stable URI a client can switch on (RFC 9457 3.1.1);
 * openapi/openapi.yaml lists the same types (tests/check_openapi.c compares).
 * A NULL type marks a status sent only with a type of its own (problem_typed).
 */
static const struct {
    int status;
    const char *title;
    const char *type;
} problem_table[] = {
    {400, "Bad Request", PROBLEM_INVALID_REQUEST},
    {401, "Unauthorized", PROBLEM_UNAUTHENTICATED},
    {403, "Forbidden", PROBLEM_FORBIDDEN},
    {404, "Not Found", PROBLEM_NOT_FOUND},
    {405, "Method Not Allowed", PROBLEM_METHOD_NOT_ALLOWED},
    {409, "Conflict", PROBLEM_CONFLICT},
    {413, "Content Too Large", PROBLEM_CONTENT_TOO_LARGE},
    {415, "Unsupported Media Type", PROBLEM_UNSUPPORTED_MEDIA_TYPE},
    {422, "Unprocessable Content", NULL},
    {500, "Internal Server Error", PROBLEM_INTERNAL_ERROR},
    {503, "Service Unavailable", PROBLEM_UNAVAILABLE},
};

/* The types problem_typed is given, beside those of problem_table. */
static const char *const typed_types[] = {PROBLEM_IDEMPOTENCY_KEY_IN_USE,
                                          PROBLEM_IDEMPOTENCY_KEY_REUSED, PROBLEM_LAST_OWNER,
                                          PROBLEM_CSRF_TOKEN};

/* Index of status in problem_table. A status missing there is a bug of the
 * caller (assert); without assertions it is answered as the 500 it is. */
static size_t table_index(int status)
{
    size_t n = sizeof(problem_table) / sizeof(problem_table[0]);

    for (size_t i = 0; i < n; i++)
        if (problem_table[i].status == status)
            return i;
    assert(!"status without a problem type");
    for (size_t i = 0; i < n; i++)
        if (problem_table[i].status == 500)
            return i;
    return 0;
}

const char *problem_type(int status)
{
    return problem_table[table_index(status)].type;
}

size_t problem_types(const char **out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < sizeof(problem_table) / sizeof(problem_table[0]); i++)
        if (problem_table[i].type && n < cap)
            out[n++] = problem_table[i].type;
    for (size_t i = 0; i < sizeof(typed_types) / sizeof(typed_types[0]) && n < cap; i++)
        out[n++] = typed_types[i];
    return n;
}

int problem_status(enum err_code code)
{
    switch (code) {
    case ERR_INVALID: return 400;
    case ERR_DATA: return 400;
    case ERR_NOT_FOUND: return 404;
    case ERR_CONFLICT: return 409;
    case ERR_UNAUTHORIZED: return 401;
    case ERR_FORBIDDEN: return 403;
    case ERR_TOO_LARGE: return 413;
    case ERR_MEDIA_TYPE: return 415;
    default: return 500;
    }
}

/*
 * Replace every byte of s that does not start a valid UTF-8 sequence with '?'.
 * Details quote client input (the percent-decoded path) and vsnprintf may cut
 * a character in two; jansson refuses such strings, which would leave the
 * problem without a body.
 */
static void utf8_repair(char *s)
{
    unsigned char *p = (unsigned char *)s;

    while (*p) {
        size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3
                                                       : (*p & 0xF8) == 0xF0 ? 4 : 0;
        uint32_t cp = n == 2 ? *p & 0x1Fu : n == 3 ? *p & 0x0Fu : *p & 0x07u;
        size_t i;

        for (i = 1; i < n && (p[i] & 0xC0) == 0x80; i++)
            cp = (cp << 6) | (p[i] & 0x3Fu);
        if (n == 0 || i < n || (n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
            (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

/* Fill resp with the problem; type NULL means the status's own type. */
static void fill(struct response *resp, int status, const char *type, const char *detail)
{
    size_t i = table_index(status);

    if (!type)
        type = problem_table[i].type;
    assert(type && "this status is only sent with a type of its own (problem_typed)");
    if (!type)
        type = PROBLEM_INTERNAL_ERROR;
    status = problem_table[i].status; /* the 500 of an unknown status, without assertions */
    json_decref(resp->body);
    resp->status = status;
    resp->content_type = "application/problem+json";
    resp->body = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", problem_table[i].title,
                           "status", status, "detail", detail);
    if (status == 401 && !resp->www_authenticate)
        resp->www_authenticate = 1;
}

/* fill() with a printf-formatted detail (cut at 1 KiB, repaired to UTF-8). */
__attribute__((format(printf, 4, 0))) static void fill_v(struct response *resp, int status, const char *type, const char *fmt,
                   va_list ap)
{
    char detail[1024];

    vsnprintf(detail, sizeof(detail), fmt, ap);
    utf8_repair(detail);
    fill(resp, status, type, detail);
}

void problem_set(struct response *resp, int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fill_v(resp, status, NULL, fmt, ap);
    va_end(ap);
}

void problem_typed(struct response *resp, int status, const char *type, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fill_v(resp, status, type, fmt, ap);
    va_end(ap);
}

void problem_from_err(struct response *resp, const struct err *err, const char *request_id)
{
    int status = problem_status(err->code);

    if (status == 500) {
        LOG_REQ_ERROR(request_id, "%s: %s", err_code_name(err->code), err->msg);
        fill(resp, 500, NULL, "The server could not complete the request; it has been logged.");
        return;
    }
    problem_set(resp, status, "%s", err->msg);
    if (status == 400 && resp->body) {
        json_t *errors = NULL;

        problem_field(&errors, "body", "%s", err->msg);
        json_object_set_new(resp->body, "errors", errors);
    }
}

void problem_field(json_t **errors, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    utf8_repair(msg);
    if (*errors && !json_is_array(*errors))
        return; /* out of memory already: the answer will be a 503 */
    if (!*errors)
        *errors = json_array();
    if (!*errors ||
        json_array_append_new(*errors, json_pack("{s:s, s:s}", "field", field, "message", msg)))
        problem_field_oom(errors);
}

void problem_field_oom(json_t **errors)
{
    json_decref(*errors);
    *errors = json_null(); /* a singleton: marking needs no memory */
}

void problem_validation(struct response *resp, json_t *errors)
{
    size_t n = json_array_size(errors);
    const char *first = json_string_value(json_object_get(json_array_get(errors, 0), "message"));
    const char *field = json_string_value(json_object_get(json_array_get(errors, 0), "field"));

    if (json_is_null(errors)) { /* problem_field_oom: the check itself failed */
        problem_set(resp, 503, "The server is out of memory; retry later.");
        return;
    }
    if (n == 1)
        problem_set(resp, 400, "%s: %s", field ? field : "body", first ? first : "invalid");
    else
        problem_set(resp, 400, "The request has %zu invalid fields; see errors.", n);
    json_object_set_new(resp->body, "errors", errors ? errors : json_array());
}

void problem_or_reply(struct response *resp, int status, json_t *body, const struct err *err,
                      const char *request_id)
{
    if (!body) {
        problem_from_err(resp, err, request_id);
        return;
    }
    resp->status = status;
    resp->body = body;
}
