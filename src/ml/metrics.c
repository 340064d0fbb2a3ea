/* SPDX-License-Identifier: MIT */
/*
 * metrics: per-entry tp/fp/fn counts and micro / macro precision, recall and
 * F1 with 0/0 defined as 0 (see include/metrics.h).
 */
#include "metrics.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

void metrics_init(struct metrics *m)
{
    memset(m, 0, sizeof *m);
}

void metrics_release(struct metrics *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->e[i].label);
    free(m->e);
    memset(m, 0, sizeof *m);
}

long metrics_add(struct metrics *m, const char *label, const char *head, struct err *err)
{
    struct metrics_entry *e = util_grow(m->e, &m->cap, m->n + 1, sizeof *e, 16);

    assert(label && m->n < LONG_MAX);
    if (!e)
        goto oom;
    m->e = e;
    char *copy = strdup(label);
    if (!copy)
        goto oom;
    m->e[m->n] = (struct metrics_entry){.label = copy, .head = head};
    return (long)m->n++;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
    return -1;
}

static double ratio(double a, double b)
{
    return b > 0.0 ? a / b : 0.0;
}

void metrics_prf(size_t tp, size_t fp, size_t fn, double *p, double *r, double *f1)
{
    if (p)
        *p = ratio((double)tp, (double)(tp + fp));
    if (r)
        *r = ratio((double)tp, (double)(tp + fn));
    if (f1)
        *f1 = ratio(2.0 * (double)tp, (double)(2 * tp + fp + fn));
}

void metrics_micro(const struct metrics *m, double *p, double *r, double *f1)
{
    size_t tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < m->n; i++) {
        tp += m->e[i].tp;
        fp += m->e[i].fp;
        fn += m->e[i].fn;
    }
    metrics_prf(tp, fp, fn, p, r, f1);
}

void metrics_macro(const struct metrics *m, double *p, double *r, double *f1)
{
    double sp = 0, sr = 0, sf = 0;
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct metrics_entry *e = &m->e[i];
        if (e->tp + e->fp + e->fn == 0)
            continue;
        double a, b, c;
        metrics_prf(e->tp, e->fp, e->fn, &a, &b, &c);
        sp += a;
        sr += b;
        sf += c;
        k++;
    }
    if (p)
        *p = k ? sp / (double)k : 0.0;
    if (r)
        *r = k ? sr / (double)k : 0.0;
    if (f1)
        *f1 = k ? sf / (double)k : 0.0;
}

static json_t *prf_json(double p, double r, double f)
{
    return json_pack("{s:f, s:f, s:f}", "precision", p, "recall", r, "f1", f);
}

json_t *metrics_to_json(const struct metrics *m, const char *unit, struct err *err)
{
    json_t *root = NULL, *labels = NULL;
    double p, r, f;

    root = json_object();
    labels = json_array();
    if (!root || !labels)
        goto oom;
    if (json_object_set_new(root, "unit", json_string(unit)) < 0)
        goto oom;
    metrics_micro(m, &p, &r, &f);
    if (json_object_set_new(root, "micro", prf_json(p, r, f)) < 0)
        goto oom;
    metrics_macro(m, &p, &r, &f);
    if (json_object_set_new(root, "macro", prf_json(p, r, f)) < 0)
        goto oom;
    for (size_t i = 0; i < m->n; i++) {
        const struct metrics_entry *e = &m->e[i];
        metrics_prf(e->tp, e->fp, e->fn, &p, &r, &f);
        json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f}", "label", e->label,
                              "tp", (json_int_t)e->tp, "fp", (json_int_t)e->fp, "fn",
                              (json_int_t)e->fn, "support", (json_int_t)(e->tp + e->fn),
                              "train_support", (json_int_t)e->train, "precision", p, "recall",
                              r, "f1", f);
        if (!o)
            goto oom;
        if (e->head && json_object_set_new(o, "head", json_string(e->head)) < 0) {
            json_decref(o);
            goto oom;
        }
        if (json_array_append_new(labels, o) < 0)
            goto oom;
    }
    if (json_object_set_new(root, "labels", labels) < 0) {
        labels = NULL;
        goto oom;
    }
    return root;
oom:
    json_decref(labels);
    json_decref(root);
    err_set(err, ERR_NOMEM, "out of memory");
    return NULL;
}
