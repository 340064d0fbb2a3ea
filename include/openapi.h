/* SPDX-License-Identifier: MIT */
/*
 * openapi: the API description openapi/openapi.yaml, embedded into the binary
 * at build time. Served as YAML verbatim and as JSON (converted once with
 * libyaml: plain scalars become numbers, booleans or null per YAML 1.2 core
 * schema, everything else strings).
 *
 * Thread-safety: reentrant; results are new objects.
 */
#ifndef MODELD_OPENAPI_H
#define MODELD_OPENAPI_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"

/* The YAML text (static storage) and its length. */
const char *openapi_yaml(size_t *len);

/* The document as JSON (caller owns), or NULL with err. */
json_t *openapi_json(struct err *err);

/* Convert any YAML text to JSON (first document). */
json_t *openapi_yaml_to_json(const char *yaml, size_t len, struct err *err);

#endif
