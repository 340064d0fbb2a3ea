/* SPDX-License-Identifier: MIT */
/*
 * transfer: a base model's head mapped into a new model's input space
 * (include/transfer.h, docs/ML.md "Base models").
 *
 * Stacked inputs are STACK_SCALE × the mapped base score. The L2 penalty on
 * their weights v is small next to the text weights, so stacking acts like a
 * prior "start from the base model's opinion, learn corrections from the new
 * data" whose strength the trainer's CV picks.
 */
#include "transfer.h"

#include <stdlib.h>
#include <string.h>

#include "heads.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define STACK_SCALE 1.0
#define STACK_MAX 64 /* base outputs used as inputs at most */

/* The base head matching h (same name, kind, a shared label), or NULL. */
static const struct artifact_head *base_head(const struct artifact *base,
                                             const struct transfer_head *h)
{
    if (!base)
        return NULL;
    const struct artifact_head *bh = heads_find(base, h->name);
    if (!bh || bh->kind != h->kind || bh->n_w == 0 || bh->n_w > STACK_MAX)
        return NULL;
    for (size_t k = 0; k < h->n_out; k++)
        if (heads_label(bh, h->labels[k]) >= 0)
            return bh;
    return NULL;
}

/*
 * Base input index for input j of the new head h (and the factor its weight
 * is multiplied by), or -1 when the base has no such input.
 */
static long base_input(const struct artifact *base, const struct transfer_inputs *in,
                       const struct transfer_head *h, const struct artifact_head *bh, size_t j,
                       double *scale)
{
    const struct feat_vocab *vocab = in->vocab;
    *scale = 1.0;
    if (j < vocab->n) {
        long bp = feat_vocab_find(&base->vocab, vocab->idx[j]);
        if (bp < 0 || (uint32_t)bp >= bh->n_in)
            return -1;
        if (vocab->idf[j] > 0.0f)
            *scale = (double)base->vocab.idf[bp] / (double)vocab->idf[j];
        return bp;
    }
    /* polarity head: category indicators, matched by category name */
    const struct artifact_head *bcat = heads_find(base, "category");
    size_t c = j - vocab->n;
    if (strcmp(h->name, "polarity") != 0 || !bcat || c >= in->n_cats)
        return -1;
    long bc = heads_label(bcat, in->cats[c]);
    if (bc < 0 || base->vocab.n + (size_t)bc >= bh->n_in)
        return -1;
    return (long)(base->vocab.n + (size_t)bc);
}

int transfer_map_build(const struct artifact *base, const struct transfer_inputs *in,
                       const struct transfer_head *h, struct transfer_map *m, struct err *err)
{
    memset(m, 0, sizeof *m);
    const struct artifact_head *bh = base_head(base, h);
    if (!bh)
        return 1;
    m->bh = bh;
    m->E = bh->n_w;
    m->n_in = h->n_in;
    m->wm = calloc(m->E * m->n_in + 1, sizeof *m->wm);
    m->bb = malloc(m->E * sizeof *m->bb);
    if (!m->wm || !m->bb) {
        transfer_map_release(m);
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    for (size_t e = 0; e < m->E; e++)
        m->bb[e] = bh->bias[e];
    for (size_t j = 0; j < m->n_in; j++) {
        double sc;
        long bi = base_input(base, in, h, bh, j, &sc);
        const float *row = bi >= 0 ? artifact_head_row(bh, (uint32_t)bi) : NULL;
        if (row)
            for (size_t e = 0; e < m->E; e++)
                m->wm[e * m->n_in + j] = sc * row[e];
    }
    return 0;
}

void transfer_map_release(struct transfer_map *m)
{
    if (!m)
        return;
    free(m->wm);
    free(m->bb);
    memset(m, 0, sizeof *m);
}

int transfer_stack_rows(const struct transfer_map *m, const struct learn_data *d,
                        struct learn_data *out, struct feature_node **nodes, struct err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < d->n; i++) {
        const struct feature_node *x = d->x[i];
        while (x->index != -1)
            x++;
        total += (size_t)(x - d->x[i]) + 1 + m->E;
    }
    struct feature_node *q = malloc((total ? total : 1) * sizeof *q);
    struct feature_node **rows = malloc((d->n ? d->n : 1) * sizeof *rows);
    if (!q || !rows) {
        free(q);
        free(rows);
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    *nodes = q;
    int bias = (int)(m->n_in + m->E) + 1;
    for (size_t i = 0; i < d->n; i++) {
        rows[i] = q;
        const struct feature_node *x = d->x[i];
        for (; x->index != -1 && (size_t)x->index <= m->n_in; x++)
            *q++ = *x;
        for (size_t e = 0; e < m->E; e++) {
            double z = m->bb[e];
            for (const struct feature_node *y = d->x[i]; y->index != -1; y++)
                if ((size_t)y->index <= m->n_in)
                    z += m->wm[e * m->n_in + (size_t)y->index - 1] * y->value;
            *q++ = (struct feature_node){(int)(m->n_in + e) + 1, STACK_SCALE * z};
        }
        *q++ = (struct feature_node){bias, 1.0};
        *q++ = (struct feature_node){-1, 0.0};
    }
    out->n = d->n;
    out->x = rows;
    out->n_feat = bias;
    return 0;
}

void transfer_fold(const struct transfer_map *m, size_t K, const double *Ws, double *W)
{
    size_t ns = m->n_in + m->E + 1, nf = m->n_in + 1;
    for (size_t k = 0; k < K; k++) {
        const double *ws = Ws + k * ns;
        double *w = W + k * nf;
        memcpy(w, ws, m->n_in * sizeof *w);
        w[nf - 1] = ws[ns - 1];
        for (size_t e = 0; e < m->E; e++) {
            double v = STACK_SCALE * ws[m->n_in + e];
            if (v == 0.0)
                continue;
            const double *wm = m->wm + e * m->n_in;
            for (size_t j = 0; j < m->n_in; j++)
                w[j] += v * wm[j];
            w[nf - 1] += v * m->bb[e];
        }
    }
}

double *transfer_init(const struct artifact *base, const struct transfer_inputs *in,
                      const struct transfer_head *h)
{
    struct transfer_map m;
    long col[STACK_MAX];
    double *init = NULL;
    int any = 0;

    if (h->K > STACK_MAX || transfer_map_build(base, in, h, &m, NULL) != 0)
        return NULL;
    for (size_t k = 0; k < h->K; k++) {
        col[k] = -1;
        if (h->K == 1 && h->n_out == 2 && m.E == 1 && m.bh->n_out == 2) {
            /* binary heads store the score of labels[1] */
            if (!strcmp(m.bh->labels[0], h->labels[0]) && !strcmp(m.bh->labels[1], h->labels[1]))
                col[k] = 0;
        } else if (h->K == h->n_out && m.E == m.bh->n_out) {
            col[k] = heads_label(m.bh, h->labels[k]);
        }
        any |= col[k] >= 0;
    }
    size_t nf = m.n_in + 1;
    if (any && (init = calloc(h->K * nf, sizeof *init)) != NULL)
        for (size_t k = 0; k < h->K; k++) {
            if (col[k] < 0)
                continue;
            memcpy(init + k * nf, m.wm + (size_t)col[k] * m.n_in, m.n_in * sizeof *init);
            init[k * nf + nf - 1] = m.bb[col[k]];
        }
    transfer_map_release(&m);
    return init;
}
