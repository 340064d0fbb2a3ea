/* SPDX-License-Identifier: MIT */
/*
 * predictor: predictor_* of include/predictor.h. A predictor is an artifact
 * whose heads were checked once at load against what its model type needs
 * (present, and their inputs lining up with the vocabulary), so predictions
 * need no further checks. Each call analyzes and weights the text like the
 * trainer did (text_, feat_) and evaluates the heads with heads_probs().
 *
 * Text analyzers are pooled per predictor: an analyzer owns a Snowball
 * stemmer and a stem cache of several hundred KiB, and making one per text
 * cost more than the prediction itself (zeroing and faulting in the cache
 * dominated a profile of POST .../predict). An analyzer's output does not
 * depend on what it analyzed before (the stem cache only remembers what the
 * stemmer answers), so reusing one changes no prediction.
 */
#include "predictor.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "artifact.h"
#include "explain.h"
#include "feat.h"
#include "heads.h"
#include "text.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* Idle analyzers kept per predictor: as many as threads predict at once with
 * it (the HTTP threads); beyond that they are freed after use. */
#define PREDICTOR_IDLE_MAX 8

struct predictor {
    struct artifact *a;
    enum model_type type; /* a->type, parsed at load */
    enum language lang;   /* a->language, parsed at load */
    const struct artifact_head *hc, *hl, *hp;
    /* The only mutable part: the pool of idle analyzers, guarded by mu. */
    pthread_mutex_t mu;
    struct text_analyzer *idle[PREDICTOR_IDLE_MAX];
    size_t n_idle;
    atomic_size_t made; /* analyzers made so far (predictor_analyzers_made) */
};

struct predictor *predictor_load(const char *path, struct err *err)
{
    struct predictor *p = NULL;
    struct artifact *a = artifact_read(path, err);
    enum model_type t;
    enum language lang;

    if (!a)
        return NULL;
    if (domain_type_parse(a->type, &t) < 0 || t == TYPE_BASE) {
        err_set(err, ERR_CORRUPT, "model artifact has an unknown model type");
        goto bad;
    }
    if (domain_language_parse(a->language, &lang) < 0) {
        err_set(err, ERR_CORRUPT, "model artifact has an unknown language");
        goto bad;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto bad;
    }
    pthread_mutex_init(&p->mu, NULL);
    p->a = a;
    p->type = t;
    p->lang = lang;
    p->hc = heads_find(a, "class");
    p->hl = heads_find(a, t == TYPE_ABSA ? "category" : "label");
    p->hp = heads_find(a, "polarity");
    /* every head a type needs must be there and line up with the vocabulary */
    int ok = 1;
    if ((t == TYPE_CLASS || t == TYPE_CLASSLABEL) && (!p->hc || p->hc->n_in != a->vocab.n))
        ok = 0;
    if (t != TYPE_CLASS && (!p->hl || p->hl->n_in != a->vocab.n))
        ok = 0;
    if (t == TYPE_ABSA && (!p->hp || p->hp->n_in != a->vocab.n + p->hl->n_out))
        ok = 0;
    if (t == TYPE_ABSA && p->hp) {
        /* predict() scores polarities into a HEADS_N_POL buffer: at most that many outputs */
        if (p->hp->n_out == 0 || p->hp->n_out > HEADS_N_POL)
            ok = 0;
        for (uint32_t k = 0; ok && k < p->hp->n_out; k++)
            ok &= heads_polarity_id(p->hp->labels[k]) >= 0;
    }
    if (!ok) {
        err_set(err, ERR_CORRUPT, "model artifact lacks a head its type needs");
        pthread_mutex_destroy(&p->mu);
        free(p);
        p = NULL;
        goto bad;
    }
    return p;
bad:
    artifact_free(a);
    return NULL;
}

int predictor_copy_artifact(const char *src, const char *dst, struct err *err)
{
    struct artifact *a = artifact_read(src, err);
    int rc;

    if (!a)
        return -1;
    rc = artifact_write(a, dst, err);
    artifact_free(a);
    return rc;
}

void predictor_free(struct predictor *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_idle; i++)
        text_analyzer_free(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    artifact_free(p->a);
    free(p);
}

size_t predictor_analyzers_made(const struct predictor *p)
{
    return atomic_load(&p->made);
}

/* An analyzer for p's language: an idle one of the pool, or a new one (NULL
 * with err set when it cannot be made). Give it back with analyzer_put(). */
static struct text_analyzer *analyzer_get(const struct predictor *cp, struct err *err)
{
    struct predictor *p = (struct predictor *)cp; /* the pool is the mutable part */
    struct text_analyzer *an = NULL;

    pthread_mutex_lock(&p->mu);
    if (p->n_idle > 0)
        an = p->idle[--p->n_idle];
    pthread_mutex_unlock(&p->mu);
    if (an)
        return an;
    an = text_analyzer_new(domain_language_name(p->lang), err);
    if (an)
        atomic_fetch_add(&p->made, 1);
    return an;
}

/* Return an analyzer of analyzer_get() to the pool (or free it when the pool is full). */
static void analyzer_put(const struct predictor *cp, struct text_analyzer *an)
{
    struct predictor *p = (struct predictor *)cp;

    if (!an)
        return;
    pthread_mutex_lock(&p->mu);
    if (p->n_idle < PREDICTOR_IDLE_MAX) {
        p->idle[p->n_idle++] = an;
        an = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    text_analyzer_free(an);
}

enum model_type predictor_type(const struct predictor *p)
{
    return p->type;
}

enum language predictor_language(const struct predictor *p)
{
    return p->lang;
}

struct ranked {
    uint32_t k;
    double p;
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return x->k < y->k ? -1 : x->k > y->k;
}

int predictor_can_explain(const struct predictor *p)
{
    return p->a->version >= 2 && p->a->explain && p->a->explain[0];
}

json_t *predictor_top_features(const struct predictor *p, struct err *err)
{
    json_t *j = predictor_can_explain(p) ? json_loads(p->a->explain, 0, NULL) : NULL;

    if (!j)
        err_set(err, predictor_can_explain(p) ? ERR_NOMEM : ERR_CONFLICT,
                "this model has no explanations");
    return j;
}

struct span {
    size_t start, end; /* bytes */
    double w;
};

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->w != y->w)
        return x->w > y->w ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The spans of text behind head h's label k: tokens (through their source
 * bytes) with the largest positive contributions, as
 * [{"text", "start", "end", "weight"}...] with code-point offsets.
 */
static json_t *spans_json(const struct predictor *p, const struct artifact_head *h, uint32_t k,
                          const char *text, const struct text_tokens *t,
                          const struct feat_vec *raw, const struct feat_vec *v, struct err *err)
{
    double *c = malloc((t->n ? t->n : 1) * sizeof *c);
    struct span *sp = malloc((t->n ? t->n : 1) * sizeof *sp);
    json_t *arr = NULL;
    size_t n = 0;

    if (!c || !sp)
        goto oom;
    if (explain_tokens(p->a, h, k, t, raw, v, c, err) < 0)
        goto out;
    /* tokens from the same source bytes (a character that normalizes into
     * several tokens, or a chunk whose exact mapping was lost) make one span;
     * such tokens are adjacent, since span starts never decrease */
    for (size_t i = 0; i < t->n; i++) {
        if (n == 0 || sp[n - 1].start != t->src_start[i] || sp[n - 1].end != t->src_end[i])
            sp[n++] = (struct span){t->src_start[i], t->src_end[i], 0.0};
        sp[n - 1].w += c[i];
    }
    qsort(sp, n, sizeof *sp, cmp_span);
    arr = json_array();
    if (!arr)
        goto oom;
    for (size_t i = 0; i < n && i < EXPLAIN_SPANS && sp[i].w > 0.0; i++) {
        json_t *o = json_pack("{s:s%, s:I, s:I, s:f}", "text", text + sp[i].start,
                              sp[i].end - sp[i].start, "start",
                              (json_int_t)util_utf8_chars_n(text, sp[i].start), "end",
                              (json_int_t)util_utf8_chars_n(text, sp[i].end), "weight", sp[i].w);
        if (json_array_append_new(arr, o) < 0)
            goto oom;
    }
    goto out;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
    json_decref(arr);
    arr = NULL;
out:
    free(c);
    free(sp);
    return arr;
}

/* o[key] = the spans of head h's label k (when explaining): 0, or -1. */
static int add_spans(json_t *o, const char *key, const struct predictor *p,
                     const struct artifact_head *h, uint32_t k, const char *text,
                     const struct text_tokens *t, const struct feat_vec *raw,
                     const struct feat_vec *v, struct err *err)
{
    json_t *s = spans_json(p, h, k, text, t, raw, v, err);
    return s ? json_object_set_new(o, key, s) : -1;
}

json_t *predictor_predict(const struct predictor *p, const char *text, int explain,
                          struct err *err)
{
    struct text_analyzer *an = NULL;
    struct text_tokens t;
    struct feat_vec raw, v;
    json_t *res = NULL, *arr = NULL;
    double *pr = NULL, *pp = NULL;
    struct ranked *rk = NULL;

    text_tokens_init(&t);
    feat_vec_init(&raw);
    feat_vec_init(&v);
    if (!text)
        text = "";
    an = analyzer_get(p, err);
    if (!an)
        goto out;
    explain = explain && predictor_can_explain(p);
    if ((explain ? text_analyze_spans : text_analyze)(an, text, strlen(text), &t, err) < 0 ||
        feat_extract(&p->a->fcfg, &t, &raw, err) < 0 ||
        feat_weight(&p->a->fcfg, &p->a->vocab, &raw, &v, err) < 0)
        goto out;
    uint32_t maxo = 1;
    if (p->hc && p->hc->n_out > maxo)
        maxo = p->hc->n_out;
    if (p->hl && p->hl->n_out > maxo)
        maxo = p->hl->n_out;
    pr = malloc(maxo * sizeof *pr);
    rk = malloc(maxo * sizeof *rk);
    pp = malloc(HEADS_N_POL * sizeof *pp);
    res = json_object();
    if (!pr || !rk || !pp || !res)
        goto oom;
    if (p->type == TYPE_CLASS || p->type == TYPE_CLASSLABEL) {
        const struct artifact_head *h = p->hc;
        heads_probs(h, &v, -1, pr);
        for (uint32_t k = 0; k < h->n_out; k++)
            rk[k] = (struct ranked){k, pr[k]};
        qsort(rk, h->n_out, sizeof *rk, cmp_ranked);
        arr = json_array();
        if (!arr)
            goto oom;
        for (uint32_t k = 0; k < h->n_out; k++)
            if (json_array_append_new(arr, json_pack("{s:s, s:f}", "class", h->labels[rk[k].k],
                                                     "probability", rk[k].p)) < 0)
                goto oom;
        if (json_object_set_new(res, "class", json_string(h->labels[rk[0].k])) < 0 ||
            json_object_set_new(res, "probability", json_real(rk[0].p)) < 0)
            goto oom;
        if (explain &&
            add_spans(res, "explanation", p, h, rk[0].k, text, &t, &raw, &v, err) < 0)
            goto fail;
        int e = json_object_set_new(res, "classes", arr);
        arr = NULL;
        if (e < 0)
            goto oom;
    }
    if (p->type == TYPE_LABEL || p->type == TYPE_CLASSLABEL || p->type == TYPE_ABSA) {
        const struct artifact_head *h = p->hl;
        heads_probs(h, &v, -1, pr);
        uint32_t n = 0;
        for (uint32_t k = 0; k < h->n_out; k++)
            if (pr[k] >= h->threshold)
                rk[n++] = (struct ranked){k, pr[k]};
        qsort(rk, n, sizeof *rk, cmp_ranked);
        arr = json_array();
        if (!arr)
            goto oom;
        for (uint32_t j = 0; j < n; j++) {
            json_t *o;
            if (p->type == TYPE_ABSA) {
                heads_probs(p->hp, &v, (long)(p->a->vocab.n + rk[j].k), pp);
                uint32_t b = heads_argmax(pp, p->hp->n_out);
                o = json_pack("{s:s, s:f, s:s, s:f}", "category", h->labels[rk[j].k], "confidence",
                              rk[j].p, "polarity", p->hp->labels[b], "polarity_confidence", pp[b]);
                if (o && explain &&
                    add_spans(o, "polarity_explanation", p, p->hp, b, text, &t, &raw, &v, err) <
                        0) {
                    json_decref(o);
                    goto fail;
                }
            } else {
                o = json_pack("{s:s, s:f}", "label", h->labels[rk[j].k], "probability", rk[j].p);
            }
            if (json_array_append_new(arr, o) < 0)
                goto oom;
            if (explain &&
                add_spans(o, "explanation", p, h, rk[j].k, text, &t, &raw, &v, err) < 0)
                goto fail;
        }
        int e = json_object_set_new(res, p->type == TYPE_ABSA ? "aspects" : "labels", arr);
        arr = NULL;
        if (e < 0)
            goto oom;
    }
    goto out;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
fail:
    json_decref(res);
    res = NULL;
out:
    json_decref(arr);
    free(pr);
    free(pp);
    free(rk);
    feat_vec_release(&raw);
    feat_vec_release(&v);
    text_tokens_release(&t);
    analyzer_put(p, an);
    return res;
}
