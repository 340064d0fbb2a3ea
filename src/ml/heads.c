/* SPDX-License-Identifier: MIT */
/*
 * heads: ABSA polarities, and the evaluation of a stored linear
 * head (include/heads.h). The arithmetic here is the model's definition: the
 * trainer evaluates its test set and the predictor answers requests through
 * heads_probs(), in double precision over the float32 weights, so both see
 * the same numbers.
 */
#include "heads.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "banned.h" /* last: bans unsafe libc calls */

static const char *const POLARITIES[HEADS_N_POL] = {"positive", "negative", "neutral", "conflict"};

int heads_polarity_id(const char *p)
{
    for (int i = 0; i < HEADS_N_POL; i++)
        if (p && !strcmp(p, POLARITIES[i]))
            return i;
    return -1;
}

const char *heads_polarity_name(int id)
{
    assert(id >= 0 && id < HEADS_N_POL);
    return POLARITIES[id];
}

double heads_sigmoid(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

void heads_probs(const struct artifact_head *h, const struct feat_vec *x, long extra, double *prob)
{
    /* the artifact's head shape (artifact.h): one column per output, or one for two classes */
    assert(h->n_w == h->n_out ||
           (h->kind == ARTIFACT_HEAD_MULTICLASS && h->n_w == 1 && h->n_out == 2));
    double s[64], *sc = h->n_w <= 64 ? s : malloc(h->n_w * sizeof *sc);
    if (!sc) {
        for (uint32_t k = 0; k < h->n_out; k++)
            prob[k] = 0.0;
        return;
    }
    for (uint32_t k = 0; k < h->n_w; k++)
        sc[k] = h->bias[k];
    for (size_t i = 0; i < x->n; i++) {
        const float *row = artifact_head_row(h, x->idx[i]);
        if (row)
            for (uint32_t k = 0; k < h->n_w; k++)
                sc[k] += (double)row[k] * x->val[i];
    }
    if (extra >= 0) {
        const float *row = artifact_head_row(h, (uint32_t)extra);
        if (row)
            for (uint32_t k = 0; k < h->n_w; k++)
                sc[k] += row[k];
    }
    if (h->kind == ARTIFACT_HEAD_MULTICLASS && h->n_out == 1) {
        prob[0] = 1.0;
    } else if (h->kind == ARTIFACT_HEAD_MULTICLASS && h->n_w == 1) {
        prob[1] = heads_sigmoid(sc[0]);
        prob[0] = 1.0 - prob[1];
    } else {
        double sum = 0.0;
        for (uint32_t k = 0; k < h->n_out; k++) {
            prob[k] = heads_sigmoid(sc[k]);
            sum += prob[k];
        }
        if (h->kind == ARTIFACT_HEAD_MULTICLASS && sum > 0.0)
            for (uint32_t k = 0; k < h->n_out; k++)
                prob[k] /= sum;
    }
    if (sc != s)
        free(sc);
}

uint32_t heads_argmax(const double *p, uint32_t n)
{
    uint32_t b = 0;

    assert(n > 0);
    for (uint32_t k = 1; k < n; k++)
        if (p[k] > p[b])
            b = k;
    return b;
}

const struct artifact_head *heads_find(const struct artifact *a, const char *name)
{
    for (uint32_t i = 0; i < a->n_heads; i++)
        if (!strcmp(a->heads[i].name, name))
            return &a->heads[i];
    return NULL;
}

long heads_label(const struct artifact_head *h, const char *s)
{
    for (uint32_t k = 0; k < h->n_out; k++)
        if (!strcmp(h->labels[k], s))
            return k;
    return -1;
}
