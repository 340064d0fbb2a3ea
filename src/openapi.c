/* SPDX-License-Identifier: MIT */
/* openapi: embedded OpenAPI document and its YAML -> JSON conversion (see openapi.h). */
#include "openapi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "openapi_data.h"
#include "banned.h" /* last: bans unsafe libc calls */

const char *openapi_yaml(size_t *len)
{
    *len = sizeof(openapi_yaml_text) - 1;
    return openapi_yaml_text;
}

static json_t *scalar(const yaml_node_t *n)
{
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    char *end;

    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(s, len);
    if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0)
        return json_null();
    if (strcmp(s, "true") == 0)
        return json_true();
    if (strcmp(s, "false") == 0)
        return json_false();
    errno = 0;
    {
        long long v = strtoll(s, &end, 10);

        if (!*end && errno == 0 && end != s)
            return json_integer(v);
    }
    {
        double d = strtod(s, &end);

        if (!*end && end != s && strspn(s, "0123456789.eE+-") == len)
            return json_real(d);
    }
    return json_stringn(s, len);
}

static json_t *convert(yaml_document_t *doc, yaml_node_t *n, int depth)
{
    json_t *out = NULL;

    if (!n || depth > 64)
        return NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return scalar(n);
    case YAML_SEQUENCE_NODE:
        out = json_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
             i++) {
            json_t *v = convert(doc, yaml_document_get_node(doc, *i), depth + 1);

            if (!v) {
                json_decref(out);
                return NULL;
            }
            json_array_append_new(out, v);
        }
        return out;
    case YAML_MAPPING_NODE:
        out = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            json_t *v;

            if (!k || k->type != YAML_SCALAR_NODE) {
                json_decref(out);
                return NULL;
            }
            v = convert(doc, yaml_document_get_node(doc, p->value), depth + 1);
            if (!v) {
                json_decref(out);
                return NULL;
            }
            json_object_set_new(out, (const char *)k->data.scalar.value, v);
        }
        return out;
    default:
        return NULL;
    }
}

json_t *openapi_yaml_to_json(const char *yaml, size_t len, struct err *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    json_t *out = NULL;

    if (!yaml_parser_initialize(&parser)) {
        err_set(err, ERR_NOMEM, "yaml parser");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        err_set(err, ERR_INVALID, "yaml: %s at line %zu", parser.problem ? parser.problem : "?",
                parser.problem_mark.line + 1);
        yaml_parser_delete(&parser);
        return NULL;
    }
    out = convert(&doc, yaml_document_get_root_node(&doc), 0);
    if (!out)
        err_set(err, ERR_INVALID, "yaml: unsupported structure");
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return out;
}

json_t *openapi_json(struct err *err)
{
    size_t len;
    const char *y = openapi_yaml(&len);

    return openapi_yaml_to_json(y, len, err);
}
