/* SPDX-License-Identifier: MIT */
/*
 * check_openapi: openapi/openapi.yaml is the API as routed and served.
 *
 * - Every route of router_routes() is an operation of the document (the
 *   router's "{id}" segments become project_id, model_id, annotation_id by
 *   the segment before them) and every operation of the document is a route;
 *   each operation declares what its route flags imply (security, path
 *   parameters, request body media types, 401/403/405/413/415 responses).
 * - GET /openapi.json and /openapi.yaml answer without a token.
 * - The document parses and every $ref points at an existing node.
 * - The Problem schema lists exactly the problem types the daemon sends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "openapi.h"
#include "problem.h"
#include "router.h"
#include "testutil.h"

static const char *const http_methods[] = {"get",  "put",   "post",  "delete",
                                           "head", "patch", "trace", "options", NULL};

/* The document as JSON; fails the test when it does not parse. */
static json_t *doc_load(void)
{
    struct err err = {0};
    json_t *doc = openapi_json(&err);

    ck_assert_msg(doc != NULL, "openapi.yaml does not parse: %s", err.msg);
    ck_assert_msg(json_is_object(json_object_get(doc, "paths")), "no paths object");
    return doc;
}

/* Lower-case copy of an HTTP method ("GET" -> "get") into out[16]. */
static void method_lower(const char *method, char out[16])
{
    size_t i;

    for (i = 0; method[i] && i < 15; i++)
        out[i] = (char)(method[i] >= 'A' && method[i] <= 'Z' ? method[i] + 32 : method[i]);
    out[i] = '\0';
}

/*
 * The OpenAPI path of a router pattern: each "{id}" is named after the
 * segment before it. Returns 0, or -1 for a segment we have no name for.
 */
static int route_doc_path(const char *pattern, char *out, size_t len)
{
    static const char *const names[][2] = {
        {"projects", "project_id"}, {"models", "model_id"}, {"annotations", "annotation_id"},
        {"members", "user_id"}};
    char prev[64] = "";
    size_t n = 0;
    const char *p = pattern;

    out[0] = '\0';
    while (*p == '/') {
        size_t seg = strcspn(p + 1, "/");
        const char *name = NULL;

        if (seg == 4 && strncmp(p + 1, "{id}", 4) == 0) {
            for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(prev, names[i][0]) == 0)
                    name = names[i][1];
            if (!name)
                return -1;
            n += (size_t)snprintf(out + n, len - n, "/{%s}", name);
        } else {
            n += (size_t)snprintf(out + n, len - n, "/%.*s", (int)seg, p + 1);
            snprintf(prev, sizeof(prev), "%.*s", (int)seg, p + 1);
        }
        if (n >= len)
            return -1;
        p += seg + 1;
    }
    return *p ? -1 : 0;
}

/* The shape of a path: every "{...}" segment becomes "{}". */
static void path_shape(const char *path, char *out, size_t len)
{
    size_t n = 0;
    const char *p = path;

    out[0] = '\0';
    while (*p == '/' && n < len) {
        size_t seg = strcspn(p + 1, "/");

        if (seg >= 2 && p[1] == '{' && p[seg] == '}')
            n += (size_t)snprintf(out + n, len - n, "/{}");
        else
            n += (size_t)snprintf(out + n, len - n, "/%.*s", (int)seg, p + 1);
        p += seg + 1;
    }
}

/* Resolve a local JSON pointer ("#/a/b~1c") against root; NULL when absent. */
static json_t *pointer_get(json_t *root, const char *ref)
{
    json_t *node = root;
    const char *p;

    if (strncmp(ref, "#/", 2) != 0)
        return NULL;
    p = ref + 1;
    while (node && *p == '/') {
        char tok[256];
        size_t seg = strcspn(p + 1, "/"), t = 0;

        for (size_t i = 0; i < seg && t + 1 < sizeof(tok); i++) {
            const char *c = p + 1 + i;

            if (c[0] == '~' && i + 1 < seg && (c[1] == '0' || c[1] == '1')) {
                tok[t++] = c[1] == '0' ? '~' : '/';
                i++;
            } else {
                tok[t++] = *c;
            }
        }
        tok[t] = '\0';
        if (json_is_object(node)) {
            node = json_object_get(node, tok);
        } else if (json_is_array(node)) {
            char *end;
            unsigned long idx = strtoul(tok, &end, 10);

            node = (*tok && !*end) ? json_array_get(node, idx) : NULL;
        } else {
            node = NULL;
        }
        p += seg + 1;
    }
    return node;
}

/* Follow a {"$ref": ...} object to its target (one level is all we use). */
static json_t *deref(json_t *root, json_t *node)
{
    const char *ref = json_string_value(json_object_get(node, "$ref"));

    return ref ? pointer_get(root, ref) : node;
}

/* Every $ref under node resolves; counts them into *n. */
static void refs_check(json_t *root, json_t *node, const char *where, int *n)
{
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_object(node)) {
        json_object_foreach(node, key, v)
        {
            if (strcmp(key, "$ref") == 0) {
                const char *ref = json_string_value(v);

                ck_assert_msg(ref != NULL, "%s: $ref is not a string", where);
                ck_assert_msg(strncmp(ref, "#/components/", 13) == 0,
                              "%s: $ref %s does not point into #/components", where, ref);
                ck_assert_msg(pointer_get(root, ref) != NULL, "%s: $ref %s points at nothing",
                              where, ref);
                (*n)++;
            } else {
                char sub[512];

                snprintf(sub, sizeof(sub), "%s/%s", where, key);
                refs_check(root, v, sub, n);
            }
        }
    } else if (json_is_array(node)) {
        json_array_foreach(node, i, v)
        {
            char sub[512];

            snprintf(sub, sizeof(sub), "%s/%zu", where, i);
            refs_check(root, v, sub, n);
        }
    }
}

/* The route with this method and the same path shape as doc_path, or NULL. */
static const struct route *route_for(const char *doc_path, const char *method)
{
    char want[256], shape[256];
    size_t n;
    const struct route *routes = router_routes(&n);

    path_shape(doc_path, want, sizeof(want));
    for (size_t i = 0; i < n; i++) {
        path_shape(routes[i].pattern, shape, sizeof(shape));
        if (strcmp(shape, want) == 0 && strcasecmp(routes[i].method, method) == 0)
            return &routes[i];
    }
    return NULL;
}

/* Is a path parameter named name declared (path level or operation level)? */
static int has_path_param(json_t *root, json_t *item, json_t *op, const char *name)
{
    json_t *lists[2] = {json_object_get(item, "parameters"), json_object_get(op, "parameters")};

    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *p;

        json_array_foreach(lists[l], i, p)
        {
            json_t *d = deref(root, p);
            const char *in = json_string_value(json_object_get(d, "in"));
            const char *pn = json_string_value(json_object_get(d, "name"));

            if (in && pn && strcmp(in, "path") == 0 && strcmp(pn, name) == 0 &&
                json_is_true(json_object_get(d, "required")))
                return 1;
        }
    }
    return 0;
}

/* What the route's flags promise, checked on its operation. */
static void operation_check(json_t *root, const struct route *r, const char *path, json_t *item,
                            json_t *op)
{
    static const char *const json_only[] = {"application/json", NULL};
    json_t *responses = json_object_get(op, "responses"), *security, *body, *resp;
    const char *code, *p;
    int ok2xx = 0;

    ck_assert_msg(json_is_object(responses), "%s %s: no responses", r->method, path);
    security = json_object_get(op, "security");
    if (r->flags & ROUTE_PUBLIC) {
        ck_assert_msg(json_is_array(security) && json_array_size(security) == 0,
                      "%s %s is public: it needs security: []", r->method, path);
    } else {
        ck_assert_msg(!security || json_array_size(security) > 0,
                      "%s %s needs a token but says security: []", r->method, path);
        ck_assert_msg(json_object_get(responses, "401") != NULL, "%s %s: no 401", r->method,
                      path);
    }
    if (r->flags & ROUTE_PROJECT)
        ck_assert_msg(json_object_get(responses, "403") != NULL, "%s %s: no 403", r->method,
                      path);
    ck_assert_msg(json_object_get(responses, "405") != NULL, "%s %s: no 405", r->method, path);

    body = json_object_get(op, "requestBody");
    if (r->flags & (ROUTE_JSON | ROUTE_STREAM)) {
        const char *const *types = r->media_types ? r->media_types : json_only;
        json_t *content = json_object_get(deref(root, body), "content");
        size_t ntypes = 0;

        ck_assert_msg(json_is_object(content), "%s %s takes a body: no requestBody content",
                      r->method, path);
        for (; types[ntypes]; ntypes++)
            ck_assert_msg(json_object_get(content, types[ntypes]) != NULL,
                          "%s %s: requestBody lacks %s", r->method, path, types[ntypes]);
        ck_assert_msg(json_object_size(content) == ntypes,
                      "%s %s: requestBody lists media types the router refuses", r->method,
                      path);
        ck_assert_msg(json_object_get(responses, "413") && json_object_get(responses, "415"),
                      "%s %s: a body route needs 413 and 415", r->method, path);
    } else {
        ck_assert_msg(body == NULL, "%s %s takes no body but has a requestBody", r->method,
                      path);
    }

    json_object_foreach(responses, code, resp)
    {
        json_t *d = deref(root, resp);

        ck_assert_msg(d != NULL, "%s %s %s: dangling response", r->method, path, code);
        if (code[0] == '2')
            ok2xx = 1;
        if (code[0] == '4' || code[0] == '5')
            ck_assert_msg(json_object_get(json_object_get(d, "content"),
                                          "application/problem+json") != NULL,
                          "%s %s %s: errors are application/problem+json", r->method, path,
                          code);
    }
    ck_assert_msg(ok2xx, "%s %s: no 2xx response", r->method, path);

    /* every {name} of the path is a declared, required path parameter */
    for (p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
        char name[64];
        size_t len = strcspn(p + 1, "}");

        snprintf(name, sizeof(name), "%.*s", (int)len, p + 1);
        ck_assert_msg(has_path_param(root, item, op, name),
                      "%s %s: path parameter %s is not declared", r->method, path, name);
    }
}

START_TEST(test_routes_in_document)
{
    json_t *doc = doc_load(), *paths = json_object_get(doc, "paths");
    size_t n;
    const struct route *routes = router_routes(&n);

    ck_assert_uint_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        char path[256], method[16];
        json_t *item, *op;

        ck_assert_msg(route_doc_path(routes[i].pattern, path, sizeof(path)) == 0,
                      "route %s %s: no parameter name for one of its {id} segments",
                      routes[i].method, routes[i].pattern);
        item = json_object_get(paths, path);
        ck_assert_msg(item != NULL, "route %s %s: path %s is not in openapi.yaml",
                      routes[i].method, routes[i].pattern, path);
        method_lower(routes[i].method, method);
        op = json_object_get(item, method);
        ck_assert_msg(json_is_object(op), "route %s %s: %s has no %s operation",
                      routes[i].method, routes[i].pattern, path, method);
        operation_check(doc, &routes[i], path, item, op);
        /* Idempotency-Key is documented exactly where the router honours it */
        {
            json_t *params = json_object_get(op, "parameters"), *prm;
            size_t k;
            int documented = 0;

            json_array_foreach(params, k, prm)
            {
                const char *ref = json_string_value(json_object_get(prm, "$ref"));
                if (ref && strcmp(ref, "#/components/parameters/IdempotencyKey") == 0)
                    documented = 1;
            }
            ck_assert_msg(documented == !!(routes[i].flags & ROUTE_IDEMPOTENT),
                          "%s %s: Idempotency-Key %s", routes[i].method, path,
                          documented ? "documented but not honoured" : "honoured but not documented");
            if (documented)
                ck_assert_msg(json_object_get(json_object_get(op, "responses"), "422") &&
                                  json_object_get(json_object_get(op, "responses"), "409"),
                              "%s %s: no 409/422 for Idempotency-Key", routes[i].method, path);
        }
    }
    json_decref(doc);
}
END_TEST

START_TEST(test_document_in_routes)
{
    json_t *doc = doc_load(), *paths = json_object_get(doc, "paths"), *item, *ids = json_object();
    const char *path;
    int ops = 0;

    json_object_foreach(paths, path, item)
    {
        const char *key;
        json_t *op;

        ck_assert_msg(path[0] == '/', "path %s does not start with /", path);
        json_object_foreach(item, key, op)
        {
            const char *const *m = http_methods;
            const char *id;

            while (*m && strcmp(*m, key) != 0)
                m++;
            if (!*m)
                continue;
            ck_assert_msg(route_for(path, key) != NULL,
                          "openapi.yaml has %s %s, the router does not", key, path);
            id = json_string_value(json_object_get(op, "operationId"));
            ck_assert_msg(id != NULL, "%s %s: no operationId", key, path);
            ck_assert_msg(json_object_get(ids, id) == NULL, "operationId %s is used twice", id);
            json_object_set_new(ids, id, json_true());
            ops++;
        }
    }
    {
        size_t n;

        router_routes(&n);
        ck_assert_int_eq(ops, (int)n);
    }
    json_decref(ids);
    json_decref(doc);
}
END_TEST

START_TEST(test_served_without_token)
{
    struct tserver ts;
    struct tresp r;
    size_t len;
    const char *yaml = openapi_yaml(&len);
    json_t *doc = doc_load();

    tserver_start(&ts, 1);

    thttp(&ts, "GET", "/openapi.json", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "application/json");
    ck_assert_ptr_nonnull(r.json);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "openapi")), "3.1.0");
    ck_assert_msg(json_equal(r.json, doc), "/openapi.json differs from openapi_json()");
    tresp_release(&r);

    thttp(&ts, "GET", "/openapi.yaml", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "application/yaml");
    ck_assert_uint_eq(r.len, len);
    ck_assert(memcmp(r.body, yaml, len) == 0);
    tresp_release(&r);

    /* a route that is not public still needs the token */
    thttp(&ts, "GET", "/base-models", NULL, NULL, NULL, &r);
    tassert_problem(&r, 401);
    tresp_release(&r);

    json_decref(doc);
    tserver_cleanup(&ts);
}
END_TEST

START_TEST(test_document_refs)
{
    json_t *doc = doc_load();
    int n = 0;

    ck_assert_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    ck_assert_msg(json_is_string(json_object_get(json_object_get(doc, "info"), "version")),
                  "info.version must be a string (quote it)");
    ck_assert_msg(json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
                                  "Problem") != NULL,
                  "no Problem schema");
    ck_assert_msg(json_object_get(json_object_get(json_object_get(doc, "components"),
                                                  "securitySchemes"),
                                  "bearerAuth") != NULL,
                  "no bearerAuth security scheme");
    refs_check(doc, doc, "#", &n);
    ck_assert_int_gt(n, 0);
    json_decref(doc);
}
END_TEST

/*
 * The Problem schema's `type` enum is exactly the set of problem types the
 * daemon sends (problem_types()): a type missing from it would be a
 * violation a validating client reports, and one sent by nobody a lie.
 */
START_TEST(test_problem_types)
{
    json_t *doc = doc_load();
    json_t *problem = json_object_get(
        json_object_get(json_object_get(doc, "components"), "schemas"), "Problem");
    json_t *en = json_object_get(json_object_get(json_object_get(problem, "properties"), "type"),
                                 "enum");
    const char *types[64];
    size_t n = problem_types(types, 64), i, j;

    ck_assert_msg(json_is_array(en), "Problem.type has no enum");
    ck_assert_int_gt(n, 10);
    for (i = 0; i < n; i++) {
        for (j = 0; j < json_array_size(en); j++)
            if (strcmp(json_string_value(json_array_get(en, j)), types[i]) == 0)
                break;
        ck_assert_msg(j < json_array_size(en), "%s is not in the Problem.type enum", types[i]);
    }
    for (j = 0; j < json_array_size(en); j++) {
        const char *t = json_string_value(json_array_get(en, j));

        for (i = 0; i < n && strcmp(t, types[i]) != 0; i++)
            ;
        ck_assert_msg(i < n, "the Problem.type enum lists %s, which is never sent", t ? t : "?");
    }
    ck_assert_int_eq(json_array_size(en), n);
    /* statuses with a type of their own */
    ck_assert_str_eq(problem_type(404), "urn:modeld:problem:not-found");
    ck_assert_ptr_null(problem_type(422));
    json_decref(doc);
}
END_TEST

Suite *openapi_suite(void)
{
    Suite *s = suite_create("openapi");
    TCase *doc = tcase_create("document");
    TCase *http = tcase_create("http");

    tcase_add_test(doc, test_routes_in_document);
    tcase_add_test(doc, test_document_in_routes);
    tcase_add_test(doc, test_document_refs);
    tcase_add_test(doc, test_problem_types);
    tcase_set_timeout(http, 60);
    tcase_add_test(http, test_served_without_token);
    suite_add_tcase(s, doc);
    suite_add_tcase(s, http);
    return s;
}
