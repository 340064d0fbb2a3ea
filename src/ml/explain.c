/* SPDX-License-Identifier: MIT */
/*
 * explain: top features per label (named from the training texts) and
 * per-token contributions of a text to a label (see src/ml/explain.h).
 */
#include "explain.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "heads.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

double explain_weight(const struct artifact_head *h, uint32_t row, uint32_t label)
{
    const float *w = artifact_head_row(h, row);

    if (!w || label >= h->n_out)
        return 0.0;
    if (h->n_w == h->n_out)
        return w[label];
    if (h->n_w == 1 && h->n_out == 2) /* one column: the score of labels[1] */
        return label == 1 ? w[0] : -(double)w[0];
    return 0.0; /* a constant head */
}

/* ---- top features ---- */

struct top {
    uint32_t row;
    double w;
};

/* Candidates kept per label before redundant character n-grams are dropped. */
#define CANDIDATES (3 * EXPLAIN_TOP)

/* Keep the CANDIDATES largest positive weights of one label, sorted descending. */
static void top_offer(struct top *t, size_t *n, uint32_t row, double w)
{
    if (w <= 0.0 || (*n == CANDIDATES && w <= t[*n - 1].w))
        return;
    size_t i = *n < CANDIDATES ? (*n)++ : CANDIDATES - 1;
    while (i > 0 && t[i - 1].w < w) {
        t[i] = t[i - 1];
        i--;
    }
    t[i] = (struct top){row, w};
}

/* Surface forms seen for one needed bucket; at most NAME_CANDIDATES are counted. */
#define NAME_CANDIDATES 16
struct cand {
    char *s;
    size_t len, count;
    int kind; /* 0 word, 1 bigram, 2 char */
};

struct bucket {
    uint32_t h;
    struct cand c[NAME_CANDIDATES];
    size_t n;
};

struct naming {
    struct bucket *b; /* sorted by h */
    size_t n;
    uint32_t word_dim; /* 2^hash_bits: word features are below it */
};

static int cmp_bucket(const void *x, const void *y)
{
    uint32_t a = ((const struct bucket *)x)->h, b = ((const struct bucket *)y)->h;
    return a < b ? -1 : a > b;
}

static int name_visit(void *ctx, uint32_t h, size_t first, size_t last, const char *gram,
                      size_t len)
{
    struct naming *nm = ctx;
    struct bucket key = {.h = h};
    struct bucket *b = bsearch(&key, nm->b, nm->n, sizeof *nm->b, cmp_bucket);

    if (!b)
        return 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->c[i].len == len && memcmp(b->c[i].s, gram, len) == 0) {
            b->c[i].count++;
            return 0;
        }
    if (b->n == NAME_CANDIDATES)
        return 0; /* a bucket shared by that many n-grams: the first ones stand for it */
    char *s = malloc(len + 1);
    if (!s)
        return -1;
    memcpy(s, gram, len);
    s[len] = '\0';
    b->c[b->n++] = (struct cand){s, len, 1, h >= nm->word_dim ? 2 : first == last ? 0 : 1};
    return 0;
}

/* The most frequent surface form of bucket b (ties: the smallest string), or NULL. */
static const struct cand *best_name(const struct bucket *b)
{
    const struct cand *best = NULL;
    for (size_t i = 0; i < b->n; i++) {
        const struct cand *c = &b->c[i];
        if (!best || c->count > best->count ||
            (c->count == best->count && strcmp(c->s, best->s) < 0))
            best = c;
    }
    return best;
}

static int add_needed(struct naming *nm, size_t *cap, uint32_t h)
{
    struct bucket *p = util_grow(nm->b, cap, nm->n + 1, sizeof *p, 256);

    if (!p)
        return -1;
    nm->b = p;
    nm->b[nm->n++] = (struct bucket){.h = h};
    return 0;
}

static const char *const KIND_NAMES[] = {"word", "bigram", "char"};

/* 1 if character n-gram c (without its padding spaces) is part of one of the
 * word or bigram candidates: its weight mostly repeats that word's, and a
 * list of a word's fragments tells a reader nothing the word does not. */
static int inside_word(const struct cand *c, const struct cand *const *named, size_t n)
{
    size_t from = 0, len = c->len;
    while (from < len && c->s[from] == ' ')
        from++;
    while (len > from && c->s[len - 1] == ' ')
        len--;
    if (len == from)
        return 1; /* only a word boundary */
    for (size_t i = 0; i < n; i++) {
        const struct cand *w = named[i];
        if (!w || w->kind == 2 || w->len < len - from)
            continue;
        for (size_t p = 0; p + (len - from) <= w->len; p++)
            if (memcmp(w->s + p, c->s + from, len - from) == 0)
                return 1;
    }
    return 0;
}

char *explain_top_features(const struct artifact *a, const char *lang, const char *const *texts,
                           size_t n_texts, const atomic_int *cancel, struct err *err)
{
    struct naming nm = {.word_dim = 1u << a->fcfg.hash_bits};
    size_t cap = 0, n_lists = 0;
    struct top *tops = NULL;
    size_t *ntop = NULL;
    struct text_analyzer *an = NULL;
    struct text_tokens t;
    json_t *root = NULL;
    char *out = NULL;

    text_tokens_init(&t);
    for (uint32_t i = 0; i < a->n_heads; i++)
        n_lists += a->heads[i].n_out;
    tops = malloc((n_lists ? n_lists : 1) * CANDIDATES * sizeof *tops);
    ntop = calloc(n_lists ? n_lists : 1, sizeof *ntop);
    if (!tops || !ntop)
        goto oom;
    /* 1. the strongest rows per (head, label) */
    size_t li = 0;
    for (uint32_t i = 0; i < a->n_heads; i++) {
        const struct artifact_head *h = &a->heads[i];
        uint32_t rows = h->n_in < a->vocab.n ? h->n_in : (uint32_t)a->vocab.n;
        for (uint32_t k = 0; k < h->n_out; k++, li++)
            for (uint32_t row = 0; row < rows; row++)
                top_offer(tops + li * CANDIDATES, &ntop[li], row, explain_weight(h, row, k));
    }
    /* 2. their buckets, named from the training texts */
    for (size_t l = 0; l < n_lists; l++)
        for (size_t j = 0; j < ntop[l]; j++)
            if (add_needed(&nm, &cap, a->vocab.idx[tops[l * CANDIDATES + j].row]) < 0)
                goto oom;
    if (nm.n > 0) {
        qsort(nm.b, nm.n, sizeof *nm.b, cmp_bucket);
        size_t u = 1;
        for (size_t i = 1; i < nm.n; i++)
            if (nm.b[i].h != nm.b[u - 1].h)
                nm.b[u++] = nm.b[i];
        nm.n = u;
        an = text_analyzer_new(lang, err);
        if (!an)
            goto fail;
        for (size_t d = 0; d < n_texts; d++) {
            if (cancel && atomic_load(cancel)) {
                err_set(err, ERR_CANCELED, "training was canceled");
                goto fail;
            }
            if (text_analyze(an, texts[d], strlen(texts[d]), &t, err) < 0 ||
                feat_walk(&a->fcfg, &t, 1, name_visit, &nm, err) < 0)
                goto fail;
        }
    }
    /* 3. the JSON */
    root = json_object();
    if (!root)
        goto oom;
    li = 0;
    for (uint32_t i = 0; i < a->n_heads; i++) {
        const struct artifact_head *h = &a->heads[i];
        json_t *arr = json_array();
        if (json_object_set_new(root, h->name, arr) < 0)
            goto oom;
        for (uint32_t k = 0; k < h->n_out; k++, li++) {
            json_t *feats = json_array();
            json_t *e = json_pack("{s:s, s:o}", "label", h->labels[k], "features", feats);
            if (!e || json_array_append_new(arr, e) < 0)
                goto oom;
            const struct cand *named[CANDIDATES];
            for (size_t j = 0; j < ntop[li]; j++) {
                struct bucket key = {.h = a->vocab.idx[tops[li * CANDIDATES + j].row]};
                const struct bucket *b = bsearch(&key, nm.b, nm.n, sizeof *nm.b, cmp_bucket);
                /* NULL: a base model's feature the training texts never showed */
                named[j] = b ? best_name(b) : NULL;
            }
            size_t listed = 0;
            for (size_t j = 0; j < ntop[li] && listed < EXPLAIN_TOP; j++) {
                const struct cand *c = named[j];
                if (!c || (c->kind == 2 && inside_word(c, named, ntop[li])))
                    continue;
                listed++;
                if (json_array_append_new(feats, json_pack("{s:s, s:s, s:f}", "ngram", c->s,
                                                           "kind", KIND_NAMES[c->kind], "weight",
                                                           tops[li * CANDIDATES + j].w)) < 0)
                    goto oom;
            }
        }
    }
    out = util_json_dumps(root, JSON_COMPACT);
    if (!out)
        goto oom;
    goto done;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
fail:
    out = NULL;
done:
    json_decref(root);
    for (size_t i = 0; i < nm.n; i++)
        for (size_t j = 0; j < nm.b[i].n; j++)
            free(nm.b[i].c[j].s);
    free(nm.b);
    free(tops);
    free(ntop);
    text_tokens_release(&t);
    text_analyzer_free(an);
    return out;
}

/* ---- per-token contributions ---- */

struct contrib_ctx {
    const struct artifact *a;
    const struct artifact_head *h;
    uint32_t label;
    const struct feat_vec *raw, *v;
    double *contrib;
    size_t n_tok;
};

static int contrib_visit(void *ctx, uint32_t h, size_t first, size_t last, const char *gram,
                         size_t len)
{
    struct contrib_ctx *c = ctx;
    (void)gram;
    (void)len;
    long p = feat_vocab_find(&c->a->vocab, h);
    if (p < 0)
        return 0;
    long vi = util_find_u32(c->v->idx, c->v->n, (uint32_t)p);
    long ri = util_find_u32(c->raw->idx, c->raw->n, h);
    if (vi < 0 || ri < 0 || c->raw->val[ri] <= 0.0f)
        return 0;
    double share = (double)c->v->val[vi] * explain_weight(c->h, (uint32_t)p, c->label) /
                   (double)c->raw->val[ri];
    assert(first < c->n_tok && last < c->n_tok);
    if (first == last) {
        c->contrib[first] += share;
    } else {
        c->contrib[first] += share / 2;
        c->contrib[last] += share / 2;
    }
    return 0;
}

int explain_tokens(const struct artifact *a, const struct artifact_head *h, uint32_t label,
                   const struct text_tokens *t, const struct feat_vec *raw,
                   const struct feat_vec *v, double *contrib, struct err *err)
{
    struct contrib_ctx c = {a, h, label, raw, v, contrib, t->n};

    for (size_t i = 0; i < t->n; i++)
        contrib[i] = 0.0;
    return feat_walk(&a->fcfg, t, 0, contrib_visit, &c, err);
}
