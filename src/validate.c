/* SPDX-License-Identifier: MIT */
/* validate: JSON field checks that collect every error (see validate.h). */
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

int validate_known_fields(const json_t *obj, const char *const *allowed, json_t **errors)
{
    const char *key;
    json_t *v;
    int ret = 0;

    json_object_foreach((json_t *)obj, key, v)
    {
        const char *const *a = allowed;

        while (*a && strcmp(*a, key) != 0)
            a++;
        if (!*a) {
            problem_field(errors, key, "unknown field");
            ret = -1;
        }
    }
    return ret;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int validate_string(const json_t *obj, const char *field, size_t min, size_t max, unsigned flags,
                    char **out, int *is_null, json_t **errors)
{
    const json_t *v = json_object_get(obj, field);
    const char *s, *e;
    size_t chars;
    char *copy;

    *out = NULL;
    if (is_null)
        *is_null = 0;
    if (!v || json_is_null(v)) {
        if (v && (flags & VALIDATE_NULLABLE)) {
            if (is_null)
                *is_null = 1;
            return 0;
        }
        if (flags & VALIDATE_REQUIRED) {
            problem_field(errors, field, v ? "must be a string, not null" : "is required");
            return -1;
        }
        if (v) {
            problem_field(errors, field, "must be a string, not null");
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        problem_field(errors, field, "must be a string");
        return -1;
    }
    s = json_string_value(v);
    if (json_string_length(v) != strlen(s)) {
        problem_field(errors, field, "must not contain NUL characters");
        return -1;
    }
    e = s + strlen(s);
    if (flags & VALIDATE_TRIM) {
        while (s < e && is_space((unsigned char)*s))
            s++;
        while (e > s && is_space((unsigned char)e[-1]))
            e--;
    }
    copy = strndup(s, (size_t)(e - s));
    if (!copy) {
        problem_field_oom(errors);
        return -1;
    }
    if (flags & VALIDATE_SINGLE_LINE) {
        for (const unsigned char *p = (const unsigned char *)copy; *p; p++) {
            if (*p < 0x20 || *p == 0x7f) {
                problem_field(errors, field, "must not contain control characters");
                free(copy);
                return -1;
            }
        }
    }
    chars = util_utf8_chars(copy);
    if (chars < min || chars > max) {
        if (min > 0 && chars == 0)
            problem_field(errors, field, "must not be empty%s",
                          (flags & VALIDATE_TRIM) ? " or only white space" : "");
        else
            problem_field(errors, field, "must be %zu to %zu characters long (got %zu)", min, max,
                          chars);
        free(copy);
        return -1;
    }
    *out = copy;
    return 0;
}

const char *validate_one_of(const char *value, const char *const *values)
{
    for (; value && *values; values++)
        if (strcmp(*values, value) == 0)
            return *values;
    return NULL;
}

int validate_enum_value(const char *field, const char *value, const char *const *values,
                        const char **out, json_t **errors)
{
    char allowed[256] = "";

    *out = validate_one_of(value, values);
    if (*out)
        return 0;
    for (const char *const *p = values; *p; p++) {
        size_t len = strlen(allowed);

        snprintf(allowed + len, sizeof(allowed) - len, "%s%s", len ? ", " : "", *p);
    }
    problem_field(errors, field, "must be one of: %s", allowed);
    return -1;
}

int validate_enum(const json_t *obj, const char *field, const char *const *values, unsigned flags,
                  const char **out, json_t **errors)
{
    const json_t *v = json_object_get(obj, field);

    *out = NULL;
    if (!v || (json_is_null(v) && !(flags & VALIDATE_REQUIRED) && (flags & VALIDATE_NULLABLE))) {
        if (!v && (flags & VALIDATE_REQUIRED)) {
            problem_field(errors, field, "is required");
            return -1;
        }
        return 0;
    }
    return validate_enum_value(field, json_string_value(v), values, out, errors);
}

int validate_int(const json_t *obj, const char *field, int64_t min, int64_t max, unsigned flags,
                 int64_t *out, int *present, json_t **errors)
{
    const json_t *v = json_object_get(obj, field);

    *present = 0;
    if (!v || (json_is_null(v) && (flags & VALIDATE_NULLABLE))) {
        if (flags & VALIDATE_REQUIRED) {
            problem_field(errors, field, "is required");
            return -1;
        }
        return 0;
    }
    if (!json_is_integer(v)) {
        problem_field(errors, field, "must be an integer");
        return -1;
    }
    if (json_integer_value(v) < min || json_integer_value(v) > max) {
        problem_field(errors, field, "must be >= %lld", (long long)min);
        return -1;
    }
    *out = json_integer_value(v);
    *present = 1;
    return 0;
}

int validate_id_array(const json_t *obj, const char *field, size_t max, unsigned flags,
                      int64_t **out, size_t *n, json_t **errors)
{
    const json_t *v = json_object_get(obj, field);
    int64_t *ids = NULL;
    size_t count, i;
    const json_t *item;
    int ret = 0;

    *out = NULL;
    *n = 0;
    if (!v) {
        if (flags & VALIDATE_REQUIRED) {
            problem_field(errors, field, "is required");
            return -1;
        }
        return 0;
    }
    if (!json_is_array(v)) {
        problem_field(errors, field, "must be an array of integers");
        return -1;
    }
    count = json_array_size(v);
    if (count == 0) {
        problem_field(errors, field, "must not be empty");
        return -1;
    }
    if (count > max) {
        problem_field(errors, field, "must have at most %zu items", max);
        return -1;
    }
    ids = calloc(count, sizeof(*ids));
    if (!ids) {
        problem_field_oom(errors);
        return -1;
    }
    json_array_foreach(v, i, item)
    {
        char name[96];

        snprintf(name, sizeof(name), "%s[%zu]", field, i);
        if (!json_is_integer(item)) {
            problem_field(errors, name, "must be an integer");
            ret = -1;
            continue;
        }
        if (json_integer_value(item) < 1) {
            problem_field(errors, name, "must be >= 1");
            ret = -1;
            continue;
        }
        ids[i] = json_integer_value(item);
        for (size_t j = 0; j < i; j++) {
            if (ids[j] == ids[i]) {
                problem_field(errors, name, "duplicate id %lld", (long long)ids[i]);
                ret = -1;
                break;
            }
        }
    }
    if (ret != 0) {
        free(ids);
        return -1;
    }
    *out = ids;
    *n = count;
    return 0;
}
