/* SPDX-License-Identifier: MIT */
/* view: JSON representations of stored things (see view.h). */
#include "view.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "banned.h" /* last: bans unsafe libc calls */

json_t *view_annotation(const struct db_annotation *a)
{
    static const char *const keys[] = {"classes", "labels", "aspect_categories", "polarities"};
    json_t *inv = json_pack("{s:{}, s:{}, s:{}, s:{}}", keys[0], keys[1], keys[2], keys[3]);
    json_t *v;

    if (!inv)
        return NULL;
    for (size_t i = 0; i < a->n_labels; i++) {
        const struct db_label_count *l = &a->labels[i];
        size_t k = (size_t)l->kind < 4 ? (size_t)l->kind : 3;

        if (json_object_set_new(json_object_get(inv, keys[k]), l->name,
                                json_integer(l->count)) != 0) {
            json_decref(inv); /* out of memory: no view with a hole in it */
            return NULL;
        }
    }
    v = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:I, s:o}", "id", (json_int_t)a->id,
                  "project_id", (json_int_t)a->project_id, "name", a->name, "type",
                  domain_type_name(a->type), "language", domain_language_name(a->language),
                  "created", a->created, "document_count", (json_int_t)a->document_count,
                  "labels", inv);
    return v;
}

/* An array of the views one() gives of the n items of elem_size bytes at items. */
static json_t *view_array(const void *items, size_t n, size_t elem_size,
                          json_t *(*one)(const void *item))
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < n; i++) {
        json_t *v = one((const char *)items + i * elem_size);

        if (!v || json_array_append_new(arr, v) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *annotation_item(const void *a)
{
    return view_annotation(a);
}

json_t *view_annotations(const struct db_annotation *a, size_t n)
{
    return view_array(a, n, sizeof(*a), annotation_item);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A stored JSON text parsed, or NULL when absent or not of the wanted kind.
 * The empty array (the warnings of nearly every model) skips the parser. */
static json_t *stored_json(const char *text)
{
    if (text && strcmp(text, "[]") == 0)
        return json_array();
    return text ? json_loads(text, 0, NULL) : NULL;
}

json_t *view_model(const struct db_model *m, int with_metrics)
{
    json_t *o = json_object(), *w;
    int bad = 0; /* a member could not be set (out of memory) */

    if (!o)
        return NULL;
    bad |= json_object_set_new(o, "id", json_integer(m->id));
    bad |= json_object_set_new(o, "uuid", str_or_null(m->uuid));
    bad |= json_object_set_new(o, "name", str_or_null(m->name));
    bad |= json_object_set_new(o, "display_name", str_or_null(m->display_name));
    bad |= json_object_set_new(o, "language", json_string(domain_language_name(m->language)));
    bad |= json_object_set_new(o, "base", str_or_null(m->base_name));
    bad |= json_object_set_new(o, "created", str_or_null(m->created));
    bad |= json_object_set_new(o, "updated", str_or_null(m->updated));
    bad |= json_object_set_new(o, "owner", str_or_null(m->owner));
    bad |= json_object_set_new(o, "progress", json_real(m->progress));
    bad |= json_object_set_new(o, "project_id",
                               m->project_id ? json_integer(m->project_id) : json_null());
    bad |= json_object_set_new(o, "score", m->has_score ? json_real(m->score) : json_null());
    bad |= json_object_set_new(o, "short_description", str_or_null(m->short_description));
    bad |= json_object_set_new(o, "long_description", str_or_null(m->long_description));
    bad |= json_object_set_new(o, "status", json_string(domain_status_name(m->status)));
    bad |= json_object_set_new(o, "type", json_string(domain_type_name(m->type)));
    bad |= json_object_set_new(o, "failure_reason", str_or_null(m->failure_reason));
    bad |= json_object_set_new(o, "queued_at", str_or_null(m->queued_at));
    bad |= json_object_set_new(o, "started_at", str_or_null(m->started_at));
    bad |= json_object_set_new(o, "finished_at", str_or_null(m->finished_at));
    w = stored_json(m->warnings);
    if (!json_is_array(w)) {
        json_decref(w);
        w = json_array();
    }
    bad |= json_object_set_new(o, "warnings", w);
    if (with_metrics) {
        json_t *mt = stored_json(m->metrics);

        bad |= json_object_set_new(o, "metrics", mt ? mt : json_null());
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *view_base(const struct db_base_row *b)
{
    return json_pack("{s:I, s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:b}", "id", (json_int_t)b->id,
                     "uuid", str_or_null(b->uuid), "name", str_or_null(b->name), "language",
                     domain_language_name(b->language), "type", domain_type_name(TYPE_BASE),
                     "created", str_or_null(b->created), "from_model_id",
                     b->from_model_id ? json_integer(b->from_model_id) : json_null(),
                     "from_model", str_or_null(b->from_model), "has_weights", b->has_weights);
}

static json_t *base_item(const void *b)
{
    return view_base(b);
}

json_t *view_bases(const struct db_base_row *b, size_t n)
{
    return view_array(b, n, sizeof(*b), base_item);
}

/* ---- the model as text, written directly ------------------------------------------
 *
 * GET model and the list page are the hot reads: building a jansson tree of
 * each model (a dozen allocations per model) and dumping it (jansson keeps a
 * hash of the containers being dumped, one allocation each) took most of
 * their CPU, and the stored metrics were parsed only to be dumped again. The
 * writer below puts out the bytes json_dumps(view_model(m, ...), JSON_COMPACT)
 * gives (tests/check_units.c compares the two on awkward values): members
 * in view_model()'s order, strings escaped like jansson does, reals printed
 * like jansson does, and the stored JSON texts copied as they are (the pool
 * writes them with JSON_COMPACT, and jansson keeps the order of members, so a
 * parse and a dump would give the same bytes back).
 */

/* s as a JSON string (jansson's escapes: the short ones, \uXXXX for other
 * control characters, nothing else; strings come from validated UTF-8). */
static void put_str(struct strbuf *sb, const char *s)
{
    const char *run = s;

    if (!s) {
        strbuf_add(sb, "null", 4);
        return;
    }
    strbuf_add(sb, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *e = NULL;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        strbuf_add(sb, run, (size_t)(s - run));
        run = s + 1;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        default: strbuf_addf(sb, "\\u%04X", c); break;
        }
        if (e)
            strbuf_add(sb, e, strlen(e));
    }
    strbuf_add(sb, run, (size_t)(s - run));
    strbuf_add(sb, "\"", 1);
}

/* A real as jansson prints it: %.17g, ".0" when that looks like an integer,
 * the exponent without '+' and leading zeros. Not finite: null (a real view
 * never holds one). */
static void put_real(struct strbuf *sb, double v)
{
    char b[48], *e;
    int n;

    if (!isfinite(v)) {
        strbuf_add(sb, "null", 4);
        return;
    }
    n = snprintf(b, sizeof b - 3, "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof b - 3) {
        strbuf_add(sb, "null", 4);
        return;
    }
    if (!strchr(b, '.') && !strchr(b, 'e')) {
        memcpy(b + n, ".0", 3);
        n += 2;
    }
    if ((e = strchr(b, 'e')) != NULL) {
        char *from = e + 1, *to = e + 1;

        if (*from == '+')
            from++;
        else if (*from == '-')
            from++, to++;
        while (*from == '0' && from[1])
            from++;
        memmove(to, from, strlen(from) + 1);
        n = (int)strlen(b);
    }
    strbuf_add(sb, b, (size_t)n);
}

/* The stored JSON text t copied when it looks like what the pool writes (an
 * object or an array, as `open` and `close` say); else parsed and dumped
 * (compact) when it is JSON of that kind (any JSON when any_kind); else
 * fallback. This is what view_model() makes of the text. */
static void put_stored(struct strbuf *sb, const char *t, char open, char close, int any_kind,
                       const char *fallback)
{
    size_t n = t ? strlen(t) : 0;
    json_t *j;
    char *d = NULL;

    if (n >= 2 && t[0] == open && t[n - 1] == close) {
        strbuf_add(sb, t, n);
        return;
    }
    j = t ? json_loads(t, JSON_DECODE_ANY, NULL) : NULL;
    if (j && (any_kind || (open == '{' ? json_is_object(j) : json_is_array(j))))
        d = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    strbuf_add(sb, d ? d : fallback, strlen(d ? d : fallback));
    free(d);
    json_decref(j);
}

static void put_key(struct strbuf *sb, const char *key)
{
    strbuf_addf(sb, ",\"%s\":", key);
}

/* Members key: s, in order (NULL values are null). */
static void put_strs(struct strbuf *sb, const char *const kv[][2], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put_key(sb, kv[i][0]);
        put_str(sb, kv[i][1]);
    }
}

void view_model_write(struct strbuf *sb, const struct db_model *m, int with_metrics)
{
    const char *const head[][2] = {{"uuid", m->uuid},
                                   {"name", m->name},
                                   {"display_name", m->display_name},
                                   {"language", domain_language_name(m->language)},
                                   {"base", m->base_name},
                                   {"created", m->created},
                                   {"updated", m->updated},
                                   {"owner", m->owner}};
    const char *const tail[][2] = {{"short_description", m->short_description},
                                   {"long_description", m->long_description},
                                   {"status", domain_status_name(m->status)},
                                   {"type", domain_type_name(m->type)},
                                   {"failure_reason", m->failure_reason},
                                   {"queued_at", m->queued_at},
                                   {"started_at", m->started_at},
                                   {"finished_at", m->finished_at}};

    strbuf_addf(sb, "{\"id\":%" PRId64, m->id);
    put_strs(sb, head, sizeof head / sizeof head[0]);
    put_key(sb, "progress");
    put_real(sb, m->progress);
    put_key(sb, "project_id");
    if (m->project_id)
        strbuf_addf(sb, "%" PRId64, m->project_id);
    else
        strbuf_add(sb, "null", 4);
    put_key(sb, "score");
    if (m->has_score)
        put_real(sb, m->score);
    else
        strbuf_add(sb, "null", 4);
    put_strs(sb, tail, sizeof tail / sizeof tail[0]);
    put_key(sb, "warnings");
    put_stored(sb, m->warnings, '[', ']', 0, "[]");
    if (with_metrics) {
        put_key(sb, "metrics");
        put_stored(sb, m->metrics, '{', '}', 1, "null");
    }
    strbuf_add(sb, "}", 1);
}

char *view_model_text(struct db_conn *c, int64_t project_id, int64_t id, size_t *len,
                      struct err *err)
{
    struct db_model m;
    struct strbuf sb = STRBUF_INIT;
    char *out;

    if (db_model_get(c, project_id, id, 1, &m, err) != 0)
        return NULL;
    view_model_write(&sb, &m, 1);
    db_model_release(&m);
    out = strbuf_detach(&sb, len);
    if (!out)
        err_set(err, ERR_NOMEM, "out of memory");
    return out;
}

char *view_models_page(const struct db_model *m, size_t n, const char *next_cursor, size_t *len)
{
    struct strbuf sb = STRBUF_INIT;

    strbuf_add(&sb, "{\"items\":[", 10);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            strbuf_add(&sb, ",", 1);
        view_model_write(&sb, &m[i], 0);
    }
    strbuf_add(&sb, "],\"next_cursor\":", 16);
    put_str(&sb, next_cursor);
    strbuf_add(&sb, "}", 1);
    return strbuf_detach(&sb, len);
}

json_t *view_model_load(struct db_conn *c, int64_t project_id, int64_t id, int with_metrics,
                        struct err *err)
{
    struct db_model m;
    json_t *v;

    if (db_model_get(c, project_id, id, with_metrics, &m, err) != 0)
        return NULL;
    v = view_model(&m, with_metrics);
    db_model_release(&m);
    if (!v)
        err_set(err, ERR_NOMEM, "out of memory");
    return v;
}
