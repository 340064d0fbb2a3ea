/* SPDX-License-Identifier: MIT */
/*
 * ingest: incremental document parser (see ingest.h).
 *
 * A small scanner splits the stream into documents without parsing them:
 * for JSON lines it cuts at '\n'; for a JSON array it tracks nesting depth
 * and string/escape state to find where each top-level element ends. Each
 * piece is then parsed with jansson and validated.
 */
#include "ingest.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

enum mode { MODE_DETECT, MODE_LINES, MODE_ARRAY };
enum astate { A_BEFORE_ELEM, A_IN_ELEM, A_AFTER_ELEM, A_DONE };

struct doc_store {
    struct db_doc d;
    char *external_id, *text, *cls, *labels, *aspects;
    /* the parsed labels and aspects (d.label_names, d.aspect_list) and one
     * block holding their names */
    const char **label_names;
    struct db_aspect *aspect_list;
    char *names;
};

struct ingest {
    enum model_type type;
    enum mode mode;
    size_t bom; /* bytes of a leading UTF-8 byte-order mark seen so far (skipped) */
    size_t fed; /* bytes fed so far */
    /* current piece */
    char *buf;
    size_t len, cap;
    int oversize; /* 1: the piece is too large; 2: no memory to hold it */
    /* JSON array scanner */
    enum astate as;
    int depth, in_str, esc, seen_elem_comma;
    size_t index; /* element index (array) */
    size_t line;  /* line number (lines) */
    int syntax_error;
    /* results */
    struct doc_store *docs; /* the pending documents (not taken by ingest_drop_pending) */
    size_t n, ncap;
    size_t pending_bytes; /* their string bytes */
    size_t dropped;       /* valid documents already taken */
    json_t *errors;
    size_t n_errors;
};

static void add_error(struct ingest *in, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_error(struct ingest *in, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    in->n_errors++;
    if (in->n_errors > INGEST_MAX_ERRORS)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    problem_field(&in->errors, field, "%s", msg);
}

/* Out of memory: the upload fails with 503, not with a client error. */
static void add_oom(struct ingest *in)
{
    in->n_errors++;
    problem_field_oom(&in->errors);
}

struct ingest *ingest_new(enum model_type type)
{
    struct ingest *in = calloc(1, sizeof(*in));

    if (!in)
        return NULL;
    in->type = type;
    in->line = 1;
    return in;
}

static void free_pending(struct ingest *in)
{
    for (size_t i = 0; i < in->n; i++) {
        free(in->docs[i].external_id);
        free(in->docs[i].text);
        free(in->docs[i].cls);
        free(in->docs[i].labels);
        free(in->docs[i].aspects);
        free(in->docs[i].label_names);
        free(in->docs[i].aspect_list);
        free(in->docs[i].names);
    }
    in->n = 0;
    in->pending_bytes = 0;
}

void ingest_free(struct ingest *in)
{
    if (!in)
        return;
    free_pending(in);
    free(in->docs);
    free(in->buf);
    json_decref(in->errors);
    free(in);
}

static void piece_add(struct ingest *in, char c)
{
    if (in->oversize)
        return;
    if (in->len + 2 > INGEST_MAX_DOC) {
        in->oversize = 1;
        return;
    }
    {
        char *n = util_grow(in->buf, &in->cap, in->len + 2, 1, 1024);

        if (!n) {
            in->oversize = 2;
            return;
        }
        in->buf = n;
    }
    in->buf[in->len++] = c;
}

static int non_empty_string(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0 &&
           strlen(json_string_value(v)) == json_string_length(v);
}

/* 1 when the n bytes at s are all white space. Counted, not NUL-terminated:
 * a line holding a NUL byte is not blank and must be reported, not dropped. */
static int only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

/* Merge aspects per category (different polarities -> conflict); NULL + msg
 * on error (msg empty: out of memory). */
static json_t *merge_aspects(const json_t *arr, char *msg, size_t msglen)
{
    static const char *const pols[] = {"positive", "negative", "neutral", "conflict", NULL};
    json_t *out = json_array(), *v;
    size_t i;

    msg[0] = '\0';
    if (!out)
        return NULL;
    json_array_foreach(arr, i, v)
    {
        const json_t *cat = json_object_get(v, "category"), *pol = json_object_get(v, "polarity");
        const char *const *p = pols;
        size_t j;
        json_t *w;
        int merged = 0;

        if (!json_is_object(v) || !non_empty_string(cat) || !json_is_string(pol)) {
            snprintf(msg, msglen, "aspects[%zu] must be an object with a non-empty string "
                     "'category' and a 'polarity'", i);
            json_decref(out);
            return NULL;
        }
        while (*p && strcmp(*p, json_string_value(pol)) != 0)
            p++;
        if (!*p) {
            snprintf(msg, msglen, "aspects[%zu].polarity must be positive, negative, neutral or "
                     "conflict", i);
            json_decref(out);
            return NULL;
        }
        json_array_foreach(out, j, w)
        {
            if (strcmp(json_string_value(json_object_get(w, "category")),
                       json_string_value(cat)) == 0) {
                if (strcmp(json_string_value(json_object_get(w, "polarity")), *p) != 0 &&
                    json_object_set_new(w, "polarity", json_string("conflict")) != 0)
                    goto nomem;
                merged = 1;
                break;
            }
        }
        if (!merged &&
            json_array_append_new(out, json_pack("{s:O, s:s}", "category", cat, "polarity", *p)))
            goto nomem;
    }
    return out;
nomem:
    json_decref(out);
    return NULL;
}

/* Copy s into the block at *p and return the copy. */
static const char *put_name(char **p, const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = *p;

    memcpy(copy, s, n);
    *p += n;
    return copy;
}

/*
 * The labels (uniq: unique strings) and aspects (merged: one {category,
 * polarity} per category) of a document as the lists storage counts into the
 * session's label inventory (struct db_doc): their names copied into one
 * block, s->names. 0, or -1 when memory is short.
 */
static int doc_lists(struct doc_store *s, const json_t *uniq, const json_t *merged)
{
    size_t nl = json_array_size(uniq), na = json_array_size(merged), bytes = 1, i;
    const json_t *v;
    char *p;

    json_array_foreach(uniq, i, v)
        bytes += strlen(json_string_value(v)) + 1;
    json_array_foreach(merged, i, v)
        bytes += strlen(json_string_value(json_object_get(v, "category"))) + 1 +
                 strlen(json_string_value(json_object_get(v, "polarity"))) + 1;
    s->names = malloc(bytes);
    s->label_names = nl ? calloc(nl, sizeof(*s->label_names)) : NULL;
    s->aspect_list = na ? calloc(na, sizeof(*s->aspect_list)) : NULL;
    if (!s->names || (nl && !s->label_names) || (na && !s->aspect_list))
        return -1;
    p = s->names;
    json_array_foreach(uniq, i, v)
        s->label_names[i] = put_name(&p, json_string_value(v));
    json_array_foreach(merged, i, v) {
        s->aspect_list[i].category =
            put_name(&p, json_string_value(json_object_get(v, "category")));
        s->aspect_list[i].polarity =
            put_name(&p, json_string_value(json_object_get(v, "polarity")));
    }
    assert((size_t)(p - s->names) < bytes);
    s->d.label_names = s->label_names;
    s->d.n_labels = nl;
    s->d.aspect_list = s->aspect_list;
    s->d.n_aspects = na;
    return 0;
}

/* Validate one parsed document and store its fields. */
static void take_doc(struct ingest *in, json_t *doc, const char *field)
{
    const json_t *text = json_object_get(doc, "text"), *ext = json_object_get(doc, "external_id"),
                 *cls = json_object_get(doc, "class"), *labels = json_object_get(doc, "labels"),
                 *aspects = json_object_get(doc, "aspects");
    int want_class = in->type == TYPE_CLASS || in->type == TYPE_CLASSLABEL;
    int want_labels = in->type == TYPE_LABEL || in->type == TYPE_CLASSLABEL;
    int want_aspects = in->type == TYPE_ABSA;
    struct doc_store s = {0};
    json_t *merged = NULL, *uniq = NULL;
    char msg[256];

    if (!json_is_object(doc)) {
        add_error(in, field, "must be a JSON object");
        return;
    }
    if (!non_empty_string(text) ||
        only_space(json_string_value(text), json_string_length(text))) {
        add_error(in, field, "'text' must be a non-empty string");
        return;
    }
    if (ext && !json_is_null(ext) && !json_is_string(ext)) {
        add_error(in, field, "'external_id' must be a string");
        return;
    }
    if (cls && !json_is_null(cls) && !non_empty_string(cls)) {
        add_error(in, field, "'class' must be a non-empty string");
        return;
    }
    if (labels && !json_is_null(labels)) {
        size_t i;
        json_t *v;

        if (!json_is_array(labels)) {
            add_error(in, field, "'labels' must be an array of strings");
            return;
        }
        json_array_foreach(labels, i, v) if (!non_empty_string(v))
        {
            add_error(in, field, "'labels[%zu]' must be a non-empty string", i);
            return;
        }
    }
    if (want_class && (!cls || json_is_null(cls))) {
        if (json_is_array(labels) && json_array_size(labels) == 1) {
            cls = json_array_get(labels, 0);
        } else {
            add_error(in, field, "a %s document needs 'class' (or 'labels' with exactly one "
                      "entry)", domain_type_name(in->type));
            return;
        }
    }
    if (want_labels && !json_is_array(labels)) {
        add_error(in, field, "a %s document needs 'labels' (an array, may be empty)",
                  domain_type_name(in->type));
        return;
    }
    if (want_aspects) {
        if (!json_is_array(aspects)) {
            add_error(in, field, "an ABSA document needs 'aspects' (an array, may be empty)");
            return;
        }
        merged = merge_aspects(aspects, msg, sizeof(msg));
        if (!merged) {
            if (msg[0])
                add_error(in, field, "%s", msg);
            else
                add_oom(in);
            return;
        }
    }
    if (in->n_errors) { /* all-or-nothing: keep only errors from now on */
        json_decref(merged);
        return;
    }
    s.text = strdup(json_string_value(text));
    s.external_id = json_is_string(ext) ? strdup(json_string_value(ext)) : NULL;
    s.cls = want_class ? strdup(json_string_value(cls)) : NULL;
    if (want_labels) {
        json_t *v, *w;
        size_t i, j;
        int lost;

        uniq = json_array();
        lost = !uniq;
        json_array_foreach(labels, i, v)
        {
            int dup = 0;

            json_array_foreach(uniq, j, w) if (json_equal(v, w)) dup = 1;
            if (!dup && json_array_append(uniq, v) != 0)
                lost = 1;
        }
        s.labels = lost ? NULL : util_json_dumps(uniq, JSON_COMPACT);
    }
    if (merged)
        s.aspects = util_json_dumps(merged, JSON_COMPACT);
    {
        int lists = doc_lists(&s, uniq, merged);

        json_decref(uniq);
        json_decref(merged);
        if (lists != 0 || !s.text || (want_class && !s.cls) || (want_labels && !s.labels) ||
            (want_aspects && !s.aspects))
            goto nomem;
    }
    {
        struct doc_store *n = util_grow(in->docs, &in->ncap, in->n + 1, sizeof(*n), 256);

        if (!n)
            goto nomem;
        in->docs = n;
    }
    s.d.external_id = s.external_id;
    s.d.text = s.text;
    s.d.cls = s.cls;
    s.d.labels = s.labels;
    s.d.aspects = s.aspects;
    in->docs[in->n++] = s;
    in->pending_bytes += strlen(s.text) + (s.external_id ? strlen(s.external_id) : 0) +
                         (s.cls ? strlen(s.cls) : 0) + (s.labels ? strlen(s.labels) : 0) +
                         (s.aspects ? strlen(s.aspects) : 0) + sizeof(s);
    /* the parsed lists: their names are shorter than the JSON texts */
    in->pending_bytes += (s.labels ? strlen(s.labels) : 0) + (s.aspects ? strlen(s.aspects) : 0) +
                         s.d.n_labels * sizeof(*s.label_names) +
                         s.d.n_aspects * sizeof(*s.aspect_list);
    return;
nomem:
    free(s.text);
    free(s.external_id);
    free(s.cls);
    free(s.labels);
    free(s.aspects);
    free(s.label_names);
    free(s.aspect_list);
    free(s.names);
    add_oom(in);
}

/* Parse the current piece as one document. */
static void end_piece(struct ingest *in, const char *field)
{
    json_error_t jerr = {0};
    json_t *doc;

    if (in->oversize == 2) {
        add_oom(in);
    } else if (in->oversize) {
        add_error(in, field, "document is larger than %zu bytes", INGEST_MAX_DOC);
    } else {
        errno = 0;
        doc = json_loadb(in->buf ? in->buf : "", in->len, 0, &jerr);
        if (!doc && (errno == ENOMEM || json_error_code(&jerr) == json_error_out_of_memory))
            add_oom(in); /* jansson reports it as a syntax error */
        else if (!doc)
            add_error(in, field, "invalid JSON: %s", jerr.text);
        else
            take_doc(in, doc, field);
        json_decref(doc);
    }
    in->len = 0;
    in->oversize = 0;
}

static void lines_byte(struct ingest *in, char c)
{
    if (c != '\n') {
        piece_add(in, c);
        return;
    }
    if (in->len > 0 && !only_space(in->buf, in->len)) {
        char field[32];

        snprintf(field, sizeof(field), "line %zu", in->line);
        end_piece(in, field);
    }
    in->len = 0;
    in->oversize = 0;
    in->line++;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void array_syntax(struct ingest *in, const char *what)
{
    char field[32];

    if (in->syntax_error)
        return;
    in->syntax_error = 1;
    snprintf(field, sizeof(field), "documents[%zu]", in->index);
    add_error(in, field, "%s", what);
}

static void array_byte(struct ingest *in, char c)
{
    if (in->syntax_error)
        return;
    switch (in->as) {
    case A_BEFORE_ELEM:
        if (is_ws(c))
            return;
        if (c == ']' && in->index == 0 && !in->seen_elem_comma) {
            in->as = A_DONE;
            return;
        }
        if (c != '{') {
            array_syntax(in, "each element of the array must be a JSON object");
            return;
        }
        in->as = A_IN_ELEM;
        in->depth = 0;
        in->in_str = in->esc = 0;
        /* fall through */
    case A_IN_ELEM:
        piece_add(in, c);
        if (in->in_str) {
            if (in->esc)
                in->esc = 0;
            else if (c == '\\')
                in->esc = 1;
            else if (c == '"')
                in->in_str = 0;
        } else if (c == '"') {
            in->in_str = 1;
        } else if (c == '{' || c == '[') {
            in->depth++;
        } else if (c == '}' || c == ']') {
            if (--in->depth == 0) {
                char field[32];

                snprintf(field, sizeof(field), "documents[%zu]", in->index);
                end_piece(in, field);
                in->index++;
                in->as = A_AFTER_ELEM;
            }
        }
        return;
    case A_AFTER_ELEM:
        if (is_ws(c))
            return;
        if (c == ',') {
            in->as = A_BEFORE_ELEM;
            in->seen_elem_comma = 1;
        } else if (c == ']') {
            in->as = A_DONE;
        } else {
            array_syntax(in, "expected ',' or ']' after a document");
        }
        return;
    case A_DONE:
        if (!is_ws(c))
            array_syntax(in, "unexpected data after the closing ']'");
        return;
    }
}

void ingest_feed(struct ingest *in, const char *data, size_t len)
{
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

    for (size_t i = 0; i < len; i++, in->fed++) {
        char c = data[i];

        /* Editors on some systems start files with a byte-order mark: skip it. */
        if (in->fed < 3 && in->fed == in->bom && (unsigned char)c == bom[in->bom]) {
            in->bom++;
            continue;
        }
        if (in->mode == MODE_DETECT) {
            if (is_ws(c)) {
                if (c == '\n')
                    in->line++;
                continue;
            }
            if (c == '[') {
                in->mode = MODE_ARRAY;
                in->as = A_BEFORE_ELEM;
                continue;
            }
            in->mode = MODE_LINES;
        }
        if (in->mode == MODE_LINES)
            lines_byte(in, c);
        else
            array_byte(in, c);
    }
}

int ingest_finish(struct ingest *in, json_t **errors)
{
    if (in->mode == MODE_LINES && in->len > 0) {
        if (!only_space(in->buf, in->len)) {
            char field[32];

            snprintf(field, sizeof(field), "line %zu", in->line);
            end_piece(in, field);
        }
    } else if (in->mode == MODE_ARRAY && in->as != A_DONE && !in->syntax_error) {
        array_syntax(in, "the JSON array is not closed with ']'");
    }
    if (in->n_errors == 0 && in->n + in->dropped == 0)
        add_error(in, "body", "contains no documents");
    if (in->n_errors > INGEST_MAX_ERRORS)
        problem_field(&in->errors, "body", "%zu more invalid documents not listed",
                      in->n_errors - INGEST_MAX_ERRORS);
    if (in->n_errors) {
        *errors = in->errors;
        in->errors = NULL;
        return -1;
    }
    return 0;
}

size_t ingest_count(const struct ingest *in)
{
    return in->dropped + in->n;
}

size_t ingest_pending(const struct ingest *in, size_t *bytes)
{
    if (bytes)
        *bytes = in->pending_bytes;
    return in->n;
}

int ingest_valid_so_far(const struct ingest *in)
{
    return in->n_errors == 0;
}

void ingest_drop_pending(struct ingest *in)
{
    in->dropped += in->n;
    free_pending(in);
}

const struct db_doc *ingest_doc(const struct ingest *in, size_t i)
{
    return &in->docs[i].d;
}

const struct db_doc *ingest_doc_at(const void *in, size_t i)
{
    return ingest_doc(in, i);
}
