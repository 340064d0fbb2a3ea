/* SPDX-License-Identifier: MIT */
/*
 * validate: field checks for JSON request bodies. Each function checks one
 * field, appends every problem it finds to *errors as {field, message}
 * (see problem_field) and returns 0 when the field is valid (or absent and
 * optional), -1 otherwise. Callers run all checks and answer 400 with the
 * whole list, so a client learns of every invalid field at once.
 *
 * Thread-safety: reentrant.
 */
#ifndef MODELD_VALIDATE_H
#define MODELD_VALIDATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "domain.h"

/* Report every key of obj not in the NULL-terminated allowed list. */
int validate_known_fields(const json_t *obj, const char *const *allowed, json_t **errors);

enum {
    VALIDATE_REQUIRED = 1 << 0, /* absent (or null) is an error */
    VALIDATE_TRIM = 1 << 1,     /* surrounding white space is removed before the length check */
    VALIDATE_NULLABLE = 1 << 2, /* explicit null is accepted (out = NULL, *is_null = 1) */
    VALIDATE_SINGLE_LINE = 1 << 3 /* no control characters */
};

/*
 * String field with a length in code points in [min, max].
 * *out receives a malloc'd (trimmed) copy or NULL when absent; caller frees.
 * is_null (may be NULL) is set when the field was an explicit null.
 */
int validate_string(const json_t *obj, const char *field, size_t min, size_t max, unsigned flags,
                    char **out, int *is_null, json_t **errors);

/* The API's closed vocabularies are the domain_*_names lists (domain.h). */

/* The entry of values equal to value (static storage), or NULL. */
const char *validate_one_of(const char *value, const char *const *values);

/* A raw value (e.g. a query parameter) that must be one of values; reports
 * field in *errors otherwise. *out is borrowed from values. */
int validate_enum_value(const char *field, const char *value, const char *const *values,
                        const char **out, json_t **errors);

/* String field that must be one of the NULL-terminated values; *out is borrowed
 * from values (static storage). */
int validate_enum(const json_t *obj, const char *field, const char *const *values, unsigned flags,
                  const char **out, json_t **errors);

/* Integer field >= min; *present tells whether it was given. */
int validate_int(const json_t *obj, const char *field, int64_t min, int64_t max, unsigned flags,
                 int64_t *out, int *present, json_t **errors);

/* Non-empty array of distinct integers >= 1 with at most max items.
 * *out is malloc'd (caller frees) or NULL when absent. */
int validate_id_array(const json_t *obj, const char *field, size_t max, unsigned flags,
                      int64_t **out, size_t *n, json_t **errors);

#endif
