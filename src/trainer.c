/* SPDX-License-Identifier: MIT */
/*
 * trainer: the machine-learning pipeline behind include/trainer.h.
 *
 * trainer_run: validate the documents, split them (split_), analyze and hash
 * them on two threads (text_, feat_), fit the vocabulary and IDF on the
 * training set, then train one or two "heads" with LIBLINEAR (learn_):
 *   CLASS       one multiclass head over the classes;
 *   LABEL       one multi-label head (one-vs-rest + tuned threshold);
 *   CLASSLABEL  both;
 *   ABSA        a multi-label aspect-category head, and one polarity head
 *               trained on the gold (document, category) pairs over the
 *               document features plus a category indicator feature.
 * C (and the threshold of multi-label heads, and the class weighting of
 * binary heads) is chosen by stratified k-fold cross-validation on the
 * training set only. With a base model, each head may take the base's
 * scores as extra inputs (stacked transfer through transfer_, folded back
 * into a plain linear head) when CV says it helps; see docs/ML.md. The heads
 * are converted to float32 and evaluated on the test set with heads_probs(),
 * the code the predictor (predictor.c) uses, so the reported score is the
 * score of the stored model.
 */
#include "trainer.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "artifact.h"
#include "feat.h"
#include "heads.h"
#include "learn.h"
#include "metrics.h"
#include "split.h"
#include "text.h"
#include "transfer.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define N_THREADS 2
#define N_FOLDS 3
#define PATIENCE 2

static const double C_GRID[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
#define N_GRID (sizeof C_GRID / sizeof C_GRID[0])

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- sorted string sets (label inventories) ---- */

struct strset {
    const char **s; /* borrowed from the documents */
    size_t n, cap;
};

static int cmp_pstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int strset_add(struct strset *ss, const char *s)
{
    if (ss->n == ss->cap) {
        size_t cap = ss->cap ? ss->cap * 2 : 16;
        const char **p = realloc(ss->s, cap * sizeof *p);
        if (!p)
            return -1;
        ss->s = p;
        ss->cap = cap;
    }
    ss->s[ss->n++] = s;
    return 0;
}

static void strset_finish(struct strset *ss)
{
    if (ss->n == 0)
        return;
    qsort(ss->s, ss->n, sizeof *ss->s, cmp_pstr);
    size_t k = 1;
    for (size_t i = 1; i < ss->n; i++)
        if (strcmp(ss->s[i], ss->s[k - 1]) != 0)
            ss->s[k++] = ss->s[i];
    ss->n = k;
}

static long strset_find(const struct strset *ss, const char *s)
{
    size_t lo = 0, hi = ss->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ss->s[mid], s);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ---- training state ---- */

struct run {
    const struct trainer_job *job;
    enum heads_type type;
    size_t n;           /* documents */
    unsigned char *set; /* SPLIT_* per document */
    size_t *tr, n_tr, *te, n_te;
    size_t dups;
    struct strset classes, labels, cats;
    struct feat_config fcfg;
    struct feat_vec *raw; /* per document (unused ones empty) */
    struct feat_vec *wv;  /* weighted, per document */
    struct feat_vocab vocab;
    struct feature_node *nodes; /* rows of the training documents */
    struct feature_node **x;    /* n_tr rows */
    int *fold;                  /* n_tr */
    struct artifact *art;
    struct artifact *base; /* base model (transfer or warm start), or NULL */
    enum trainer_base_mode mode;
    int keep_raw;          /* raw count vectors are needed for a second model pass */
    size_t n_stacked;      /* heads of the current pass that use the base */
    double pct, lo, hi;    /* progress: last reported, current phase range */
    json_t *selected;      /* per-head selection details */
};

static void report(struct run *r, double pct)
{
    if (pct > 100.0)
        pct = 100.0;
    if (pct <= r->pct)
        return;
    r->pct = pct;
    if (r->job->progress)
        r->job->progress(r->job->progress_ctx, pct);
}

static void phase(struct run *r, double lo, double hi)
{
    report(r, lo);
    r->lo = lo;
    r->hi = hi;
}

static void tick(void *ctx, size_t done, size_t total)
{
    struct run *r = ctx;
    if (total > 0)
        report(r, r->lo + (r->hi - r->lo) * (double)done / (double)total);
}

static int canceled(const struct run *r, struct err *err)
{
    if (r->job->cancel && atomic_load(r->job->cancel)) {
        err_set(err, ERR_CANCELED, "training was canceled");
        return 1;
    }
    return 0;
}

static void run_release(struct run *r)
{
    free(r->set);
    free(r->tr);
    free(r->te);
    free(r->classes.s);
    free(r->labels.s);
    free(r->cats.s);
    if (r->raw)
        for (size_t i = 0; i < r->n; i++)
            feat_vec_release(&r->raw[i]);
    free(r->raw);
    if (r->wv)
        for (size_t i = 0; i < r->n; i++)
            feat_vec_release(&r->wv[i]);
    free(r->wv);
    feat_vocab_release(&r->vocab);
    free(r->nodes);
    free(r->x);
    free(r->fold);
    artifact_free(r->art);
    artifact_free(r->base);
    json_decref(r->selected);
}

/* ---- validation and label inventories ---- */

static int validate(struct run *r, struct err *err)
{
    const struct trainer_job *job = r->job;
    if (job->n_docs == 0 || !job->docs) {
        err_set(err, ERR_DATA, "the training data has no documents");
        return -1;
    }
    for (size_t i = 0; i < job->n_docs; i++) {
        const struct tdoc *d = &job->docs[i];
        if (!d->text || !d->text[0]) {
            err_set(err, ERR_DATA, "document %zu has no text", i + 1);
            return -1;
        }
        if (d->set != TDOC_AUTO && d->set != TDOC_TRAIN && d->set != TDOC_TEST) {
            err_set(err, ERR_DATA, "document %zu has an invalid set", i + 1);
            return -1;
        }
        if ((r->type == HEADS_CLASS || r->type == HEADS_CLASSLABEL) && (!d->cls || !d->cls[0])) {
            err_set(err, ERR_DATA, "document %zu has no class", i + 1);
            return -1;
        }
        if (r->type == HEADS_LABEL || r->type == HEADS_CLASSLABEL)
            for (size_t j = 0; j < d->n_labels; j++)
                if (!d->labels || !d->labels[j] || !d->labels[j][0]) {
                    err_set(err, ERR_DATA, "document %zu has an empty label", i + 1);
                    return -1;
                }
        if (r->type == HEADS_ABSA)
            for (size_t j = 0; j < d->n_aspects; j++) {
                if (!d->aspects || !d->aspects[j].category || !d->aspects[j].category[0]) {
                    err_set(err, ERR_DATA, "document %zu has an aspect without category", i + 1);
                    return -1;
                }
                if (heads_polarity_id(d->aspects[j].polarity) < 0) {
                    err_set(err, ERR_DATA,
                            "document %zu has an invalid polarity (expected positive, negative, "
                            "neutral or conflict)",
                            i + 1);
                    return -1;
                }
            }
    }
    return 0;
}

/* Build the inventories from the training set and check the test set against them. */
static int inventories(struct run *r, struct err *err)
{
    const struct tdoc *docs = r->job->docs;
    for (size_t j = 0; j < r->n_tr; j++) {
        const struct tdoc *d = &docs[r->tr[j]];
        if ((r->type == HEADS_CLASS || r->type == HEADS_CLASSLABEL) &&
            strset_add(&r->classes, d->cls) < 0)
            goto oom;
        if (r->type == HEADS_LABEL || r->type == HEADS_CLASSLABEL)
            for (size_t k = 0; k < d->n_labels; k++)
                if (strset_add(&r->labels, d->labels[k]) < 0)
                    goto oom;
        if (r->type == HEADS_ABSA)
            for (size_t k = 0; k < d->n_aspects; k++)
                if (strset_add(&r->cats, d->aspects[k].category) < 0)
                    goto oom;
    }
    strset_finish(&r->classes);
    strset_finish(&r->labels);
    strset_finish(&r->cats);
    if ((r->type == HEADS_CLASS || r->type == HEADS_CLASSLABEL) && r->classes.n < 2) {
        err_set(err, ERR_DATA, "the training set needs at least 2 different classes, it has %zu",
                r->classes.n);
        return -1;
    }
    if ((r->type == HEADS_LABEL || r->type == HEADS_CLASSLABEL) && r->labels.n < 1) {
        err_set(err, ERR_DATA, "no training document has a label");
        return -1;
    }
    if (r->type == HEADS_ABSA && r->cats.n < 1) {
        err_set(err, ERR_DATA, "no training document has an aspect");
        return -1;
    }
    for (size_t j = 0; j < r->n_te; j++) {
        const struct tdoc *d = &docs[r->te[j]];
        if ((r->type == HEADS_CLASS || r->type == HEADS_CLASSLABEL) &&
            strset_find(&r->classes, d->cls) < 0) {
            err_set(err, ERR_DATA, "class \"%s\" has no training document (only test documents)",
                    d->cls);
            return -1;
        }
        if (r->type == HEADS_LABEL || r->type == HEADS_CLASSLABEL)
            for (size_t k = 0; k < d->n_labels; k++)
                if (strset_find(&r->labels, d->labels[k]) < 0) {
                    err_set(err, ERR_DATA,
                            "label \"%s\" has no training document (only test documents)",
                            d->labels[k]);
                    return -1;
                }
        if (r->type == HEADS_ABSA)
            for (size_t k = 0; k < d->n_aspects; k++)
                if (strset_find(&r->cats, d->aspects[k].category) < 0) {
                    err_set(err, ERR_DATA,
                            "aspect category \"%s\" has no training document (only test documents)",
                            d->aspects[k].category);
                    return -1;
                }
    }
    return 0;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
    return -1;
}

static int do_split(struct run *r, struct err *err)
{
    const char *tname = r->job->type;
    r->set = malloc(r->n);
    r->tr = malloc(r->n * sizeof *r->tr);
    r->te = malloc(r->n * sizeof *r->te);
    if (!r->set || !r->tr || !r->te) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    if (split_assign(r->job->docs, r->n, tname, r->job->seed, r->set, err) < 0 ||
        split_dedupe(r->job->docs, r->n, r->set, &r->dups, err) < 0)
        return -1;
    for (size_t i = 0; i < r->n; i++) {
        if (r->set[i] == SPLIT_TRAIN)
            r->tr[r->n_tr++] = i;
        else if (r->set[i] == SPLIT_TEST)
            r->te[r->n_te++] = i;
    }
    if (r->n_tr == 0) {
        err_set(err, ERR_DATA, "the training set is empty");
        return -1;
    }
    if (r->n_te == 0) {
        err_set(err, ERR_DATA, "the test set is empty%s",
                r->dups ? " (all test documents also occur in the training set)" : "");
        return -1;
    }
    return 0;
}

/* ---- featurization on two threads ---- */

struct fz {
    struct run *r;
    const size_t *docs; /* document indices to analyze */
    size_t n;
    atomic_size_t next, done;
    atomic_int failed; /* 0 ok, 1 error (err of the thread), 2 canceled */
    struct err terr;   /* helper thread's error */
};

static int fz_loop(struct fz *z, int main_thread, struct err *err)
{
    struct text_analyzer *a = text_analyzer_new(z->r->job->language, err);
    struct text_tokens t;
    int rc = -1;

    text_tokens_init(&t);
    if (!a)
        goto out;
    for (;;) {
        if (atomic_load(&z->failed))
            break;
        if (z->r->job->cancel && atomic_load(z->r->job->cancel)) {
            atomic_store(&z->failed, 2);
            break;
        }
        size_t j = atomic_fetch_add(&z->next, 1);
        if (j >= z->n)
            break;
        size_t i = z->docs[j];
        const char *text = z->r->job->docs[i].text;
        if (text_analyze(a, text, strlen(text), &t, err) < 0) {
            if (err && err->code == ERR_INVALID)
                err_set(err, ERR_DATA, "document %zu: %s", i + 1, err->msg);
            goto out;
        }
        if (feat_extract(&z->r->fcfg, &t, &z->r->raw[i], err) < 0)
            goto out;
        size_t d = atomic_fetch_add(&z->done, 1) + 1;
        if (main_thread && (d & 31) == 0)
            tick(z->r, d, z->n);
    }
    rc = 0;
out:
    if (rc < 0)
        atomic_store(&z->failed, 1);
    text_tokens_release(&t);
    text_analyzer_free(a);
    return rc;
}

static void *fz_thread(void *arg)
{
    struct fz *z = arg;
    fz_loop(z, 0, &z->terr);
    return NULL;
}

static int featurize(struct run *r, struct err *err)
{
    int rc = -1;
    size_t *all = malloc((r->n_tr + r->n_te) * sizeof *all);
    struct fz z = {.r = r};
    pthread_t th;
    int started = 0;

    r->raw = calloc(r->n, sizeof *r->raw);
    r->wv = calloc(r->n, sizeof *r->wv);
    if (!all || !r->raw || !r->wv) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(all, r->tr, r->n_tr * sizeof *all);
    memcpy(all + r->n_tr, r->te, r->n_te * sizeof *all);
    z.docs = all;
    z.n = r->n_tr + r->n_te;
    atomic_init(&z.next, 0);
    atomic_init(&z.done, 0);
    atomic_init(&z.failed, 0);
    err_clear(&z.terr);
    if (N_THREADS > 1 && z.n > 64 && pthread_create(&th, NULL, fz_thread, &z) == 0)
        started = 1;
    struct err merr;
    err_clear(&merr);
    int mrc = fz_loop(&z, 1, &merr);
    if (started)
        pthread_join(th, NULL);
    if (atomic_load(&z.failed) == 2 || canceled(r, err)) {
        err_set(err, ERR_CANCELED, "training was canceled");
        goto out;
    }
    if (atomic_load(&z.failed)) {
        const struct err *e = mrc < 0 ? &merr : &z.terr;
        err_set(err, e->code, "%s", e->msg);
        goto out;
    }
    rc = 0;
out:
    free(all);
    return rc;
}

/* Vocabulary on the training set, weighted vectors for all used documents and
 * LIBLINEAR rows for the training documents. */
static int vectorize(struct run *r, struct err *err)
{
    struct feat_vec *trv = malloc(r->n_tr * sizeof *trv);
    int rc = -1;

    if (!trv)
        goto oom;
    for (size_t j = 0; j < r->n_tr; j++)
        trv[j] = r->raw[r->tr[j]];
    if (feat_vocab_fit(&r->fcfg, trv, r->n_tr, &r->vocab, err) < 0)
        goto out;
    if (r->base && (r->mode == TRAINER_BASE_AUTO || r->mode == TRAINER_BASE_STACK)) {
        /* keep the base's features: through stacked transfer their mapped
         * base weights carry what the base learned about words the new
         * training set lacks (they stay 0 without transfer) */
        struct feat_vocab u;
        if (feat_vocab_merge(&r->vocab, &r->base->vocab, &u, err) < 0)
            goto out;
        feat_vocab_release(&r->vocab);
        r->vocab = u;
    }
    if (r->vocab.n >= (size_t)INT32_MAX - 1024) {
        err_set(err, ERR_DATA, "too many features");
        goto out;
    }
    size_t total = 0;
    for (size_t j = 0; j < r->n_tr + r->n_te; j++) {
        size_t i = j < r->n_tr ? r->tr[j] : r->te[j - r->n_tr];
        if (feat_weight(&r->fcfg, &r->vocab, &r->raw[i], &r->wv[i], err) < 0)
            goto out;
        if (!r->keep_raw)
            feat_vec_release(&r->raw[i]);
        if (j < r->n_tr)
            total += r->wv[i].n + 2;
    }
    r->nodes = malloc(total * sizeof *r->nodes);
    r->x = malloc(r->n_tr * sizeof *r->x);
    if (!r->nodes || !r->x)
        goto oom;
    struct feature_node *p = r->nodes;
    int bias_index = (int)r->vocab.n + 1;
    for (size_t j = 0; j < r->n_tr; j++) {
        const struct feat_vec *v = &r->wv[r->tr[j]];
        r->x[j] = p;
        for (size_t k = 0; k < v->n; k++)
            *p++ = (struct feature_node){(int)v->idx[k] + 1, v->val[k]};
        *p++ = (struct feature_node){bias_index, 1.0};
        *p++ = (struct feature_node){-1, 0.0};
    }
    rc = 0;
    goto out;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
out:
    free(trv);
    return rc;
}

/* ---- one head: model selection, final fit, conversion ---- */

struct head_job {
    const char *name;
    uint32_t kind;
    size_t n_out;
    const char *const *labels; /* n_out names */
    struct learn_data data;
    const unsigned char *Y; /* data.n × K, K = columns trained */
    size_t K;               /* n_out, or 1 for a binary multiclass head */
    const int *fold;        /* data.n */
    double threshold;       /* result for multi-label heads */
    double C;
    double cv_score;
    double *thr_by_level; /* N_GRID */
};

/* Micro-F1 of thresholded probabilities over all outputs, best threshold. */
static double best_threshold(const double *dec, const unsigned char *Y, size_t n, size_t K,
                             double *thr)
{
    enum { NB = 40 };
    size_t tp[NB] = {0}, fp[NB] = {0}, pos = 0;
    for (size_t i = 0; i < n * K; i++) {
        double p = heads_sigmoid(dec[i]);
        pos += Y[i];
        /* threshold t_b = 0.025 * (b + 1): predicted when p >= t_b */
        for (int b = 0; b < NB; b++) {
            if (p < 0.025 * (b + 1))
                break;
            if (Y[i])
                tp[b]++;
            else
                fp[b]++;
        }
    }
    double best = -1.0;
    for (int b = 0; b < NB; b++) {
        size_t den = 2 * tp[b] + fp[b] + (pos - tp[b]);
        double f = den ? 2.0 * (double)tp[b] / (double)den : 0.0;
        if (f > best + 1e-12) {
            best = f;
            *thr = 0.025 * (b + 1);
        }
    }
    return best;
}

static double score_head(void *ctx, size_t level, const double *dec)
{
    struct head_job *h = ctx;
    size_t n = h->data.n;
    if (h->kind == ARTIFACT_HEAD_MULTILABEL) {
        double thr = 0.5;
        double f = best_threshold(dec, h->Y, n, h->K, &thr);
        h->thr_by_level[level] = thr;
        return f;
    }
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        if (h->K == 1) {
            ok += (dec[i] > 0.0) == (h->Y[i] != 0);
        } else {
            size_t b = 0;
            for (size_t k = 1; k < h->K; k++)
                if (dec[i * h->K + k] > dec[i * h->K + b])
                    b = k;
            ok += h->Y[i * h->K + b] != 0;
        }
    }
    return n ? (double)ok / (double)n : 0.0;
}

/* Base models (transfer_): the new model's inputs as transfer_ sees them. */
static struct transfer_inputs transfer_in(const struct run *r)
{
    return (struct transfer_inputs){.vocab = &r->vocab, .cats = r->cats.s, .n_cats = r->cats.n};
}

/* Head h as transfer_ sees it. */
static struct transfer_head transfer_of(const struct head_job *h)
{
    return (struct transfer_head){.name = h->name,
                                  .kind = h->kind,
                                  .n_out = h->n_out,
                                  .labels = h->labels,
                                  .K = h->K,
                                  .n_in = (size_t)h->data.n_feat - 1};
}

/* CV over the grid on d: *best level, *score its CV score (thresholds in h->thr_by_level). */
static int cv_head(struct run *r, struct head_job *h, const struct learn_data *d, int balanced,
                   double lo, double hi, size_t *best, size_t *ran, double *score, struct err *err)
{
    struct learn_opts o = {.n_threads = N_THREADS,
                           .cancel = r->job->cancel,
                           .tick = tick,
                           .ctx = r,
                           .balanced = balanced};
    size_t nd = d->n * h->K;
    double *dec = malloc((nd ? nd : 1) * sizeof *dec);
    int rc = -1;

    if (!dec) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    struct learn_data saved = h->data;
    h->data = *d; /* score_head reads the row count */
    phase(r, lo, hi);
    if (learn_cv(d, h->Y, h->K, h->fold, N_FOLDS, C_GRID, N_GRID, PATIENCE, score_head, h, best,
                 dec, ran, &o, err) == 0) {
        *score = score_head(h, *best, dec);
        rc = 0;
    }
    h->data = saved;
    free(dec);
    return rc;
}

static int train_head(struct run *r, struct head_job *h, struct artifact_head *out, double p_lo,
                      double p_hi, struct err *err)
{
    int rc = -1;
    size_t nf = (size_t)h->data.n_feat, best = 0, ran = 0, best_s = 0, ran_s = 0;
    double thr[N_GRID], thr_s[N_GRID], cv_plain = 0.0, cv_stack = 0.0;
    double *W = NULL, *Ws = NULL, *init = NULL;
    struct learn_opts o = {.n_threads = N_THREADS, .cancel = r->job->cancel, .tick = tick, .ctx = r};
    struct artifact_head a = {0};
    struct transfer_map bm = {0};
    struct transfer_inputs tin = transfer_in(r);
    struct transfer_head th = transfer_of(h);
    struct learn_data sd = {0};
    struct feature_node *snodes = NULL;
    int stacked = 0, have_base = 0, balanced = 0;
    const char *transfer = "none";

    for (size_t i = 0; i < N_GRID; i++)
        thr[i] = thr_s[i] = 0.5;
    double t0 = now_s();
    double p_cv = p_lo + (p_hi - p_lo) * 0.8;
    if (r->base && (r->mode == TRAINER_BASE_AUTO || r->mode == TRAINER_BASE_STACK)) {
        int b = transfer_map_build(r->base, &tin, &th, &bm, err);
        if (b < 0)
            goto out;
        if (b == 0) {
            have_base = 1;
            if (transfer_stack_rows(&bm, &h->data, &sd, &snodes, err) < 0)
                goto out;
        }
    }
    /*
     * CV runs: plain (unweighted, and class-balanced for binary heads), then
     * stacked. Balancing is tried on binary heads only: there it trades
     * precision of one class for recall of the other, which CV can judge,
     * while on one-vs-rest outputs of a multiclass head it re-calibrates each
     * output differently and the argmax over them loses its meaning (and it
     * would double the CV time of the larger multiclass sets).
     */
    int plain = !have_base || r->mode == TRAINER_BASE_AUTO;
    int weigh = plain && h->kind == ARTIFACT_HEAD_MULTICLASS && h->K == 1;
    int n_cv = plain + weigh + have_base, cv_i = 0;
#define CV_LO (p_lo + (p_cv - p_lo) * cv_i / n_cv)
#define CV_HI (p_lo + (p_cv - p_lo) * (cv_i + 1) / n_cv)
    if (plain) {
        h->thr_by_level = thr;
        if (cv_head(r, h, &h->data, 0, CV_LO, CV_HI, &best, &ran, &cv_plain, err) < 0)
            goto out;
        cv_i++;
    }
    if (weigh) {
        /* class weighting is a model choice like C: kept only if CV prefers it */
        size_t best_b = 0, ran_b = 0;
        double cv_bal = 0.0;
        if (cv_head(r, h, &h->data, 1, CV_LO, CV_HI, &best_b, &ran_b, &cv_bal, err) < 0)
            goto out;
        cv_i++;
        if (cv_bal > cv_plain + 1e-9) {
            balanced = 1;
            best = best_b;
            ran = ran_b;
            cv_plain = cv_bal;
        }
    }
    if (have_base) {
        h->thr_by_level = thr_s;
        if (cv_head(r, h, &sd, balanced, CV_LO, CV_HI, &best_s, &ran_s, &cv_stack, err) < 0)
            goto out;
#undef CV_LO
#undef CV_HI
        /* the base must win by more than one training row's worth of CV
         * score (one more document right): a smaller edge is within the
         * noise of CV on a small set, and ties keep the simpler model */
        double margin = h->data.n ? 1.0 / (double)h->data.n : 0.0;
        stacked = r->mode == TRAINER_BASE_STACK || cv_stack > cv_plain + margin + 1e-9;
        transfer = stacked ? "stacked" : "rejected_by_cv";
        r->n_stacked += (size_t)stacked;
    }
    if (stacked) {
        best = best_s;
        ran = ran_s;
    }
    h->C = C_GRID[best];
    h->threshold = h->kind == ARTIFACT_HEAD_MULTILABEL ? (stacked ? thr_s : thr)[best] : 0.5;
    double t1 = now_s();
    phase(r, p_cv, p_hi);
    o.balanced = balanced;
    W = malloc(h->K * nf * sizeof *W);
    if (!W)
        goto oom;
    if (stacked) {
        Ws = malloc(h->K * (size_t)sd.n_feat * sizeof *Ws);
        if (!Ws)
            goto oom;
        if (learn_fit(&sd, h->Y, h->K, h->C, NULL, Ws, &o, err) < 0)
            goto out;
        transfer_fold(&bm, h->K, Ws, W);
    } else {
        if (r->base && r->mode == TRAINER_BASE_WARM)
            init = transfer_init(r->base, &tin, &th);
        if (learn_fit(&h->data, h->Y, h->K, h->C, init, W, &o, err) < 0)
            goto out;
    }
    double t2 = now_s();
    /* convert to a float32 head: rows = inputs, columns = outputs */
    a.name = strdup(h->name);
    a.kind = h->kind;
    a.n_out = (uint32_t)h->n_out;
    a.labels = calloc(h->n_out, sizeof *a.labels);
    a.n_w = (uint32_t)h->K;
    a.n_in = (uint32_t)(nf - 1);
    a.n_rows = a.n_in;
    a.w = malloc(((nf - 1) * h->K + 1) * sizeof *a.w);
    a.bias = malloc(h->K * sizeof *a.bias);
    if (!a.name || !a.labels || !a.w || !a.bias)
        goto oom;
    for (size_t k = 0; k < h->n_out; k++)
        if (!(a.labels[k] = strdup(h->labels[k])))
            goto oom;
    for (size_t j = 0; j + 1 < nf; j++)
        for (size_t k = 0; k < h->K; k++)
            a.w[j * h->K + k] = (float)W[k * nf + j];
    for (size_t k = 0; k < h->K; k++)
        a.bias[k] = (float)W[k * nf + nf - 1];
    a.threshold = (float)h->threshold;
    a.C = h->C;
    json_t *sel = json_pack("{s:s, s:f, s:s, s:s, s:f, s:i, s:i, s:b, s:s, s:f, s:f}", "head",
                            h->name, "C", h->C, "solver", "L2R_LR", "class_weight",
                            balanced ? "balanced" : "none", "threshold", h->threshold,
                            "cv_folds", N_FOLDS, "grid_levels", (int)ran, "warm_start_from_base",
                            init != NULL, "base_transfer", transfer, "cv_seconds", t1 - t0,
                            "fit_seconds", t2 - t1);
    if (!sel || json_array_append_new(r->selected, sel) < 0)
        goto oom;
    if (have_base && (json_object_set_new(sel, "cv_score_without_base", json_real(cv_plain)) < 0 ||
                      json_object_set_new(sel, "cv_score_with_base", json_real(cv_stack)) < 0))
        goto oom;
    *out = a;
    memset(&a, 0, sizeof a);
    rc = 0;
    goto out;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
out:
    artifact_head_release(&a);
    transfer_map_release(&bm);
    free(sd.x);
    free(snodes);
    free(W);
    free(Ws);
    free(init);
    return rc;
}

static int add_head(struct run *r, struct artifact_head *h, struct err *err)
{
    struct artifact_head *p = realloc(r->art->heads, (r->art->n_heads + 1) * sizeof *p);
    if (!p) {
        artifact_head_release(h);
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    r->art->heads = p;
    p[r->art->n_heads++] = *h;
    memset(h, 0, sizeof *h);
    return 0;
}

/* CLASS head over the training rows. */
static int train_class_head(struct run *r, double lo, double hi, struct err *err)
{
    size_t K = r->classes.n == 2 ? 1 : r->classes.n;
    unsigned char *Y = calloc(r->n_tr * K, 1);
    struct artifact_head a = {0};
    int rc = -1;

    if (!Y) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    for (size_t j = 0; j < r->n_tr; j++) {
        long c = strset_find(&r->classes, r->job->docs[r->tr[j]].cls);
        if (K == 1)
            Y[j] = c == 1;
        else
            Y[j * K + (size_t)c] = 1;
    }
    struct head_job h = {.name = "class",
                         .kind = ARTIFACT_HEAD_MULTICLASS,
                         .n_out = r->classes.n,
                         .labels = r->classes.s,
                         .data = {r->n_tr, r->x, (int)r->vocab.n + 1},
                         .Y = Y,
                         .K = K,
                         .fold = r->fold};
    if (train_head(r, &h, &a, lo, hi, err) < 0 || add_head(r, &a, err) < 0)
        goto out;
    rc = 0;
out:
    free(Y);
    return rc;
}

/* Multi-label head ("label" or "category") over the training rows. */
static int train_multilabel_head(struct run *r, const char *name, const struct strset *inv,
                                 double lo, double hi, struct err *err)
{
    size_t K = inv->n;
    unsigned char *Y = calloc(r->n_tr * K, 1);
    struct artifact_head a = {0};
    int rc = -1;

    if (!Y) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    for (size_t j = 0; j < r->n_tr; j++) {
        const struct tdoc *d = &r->job->docs[r->tr[j]];
        if (r->type == HEADS_ABSA) {
            for (size_t k = 0; k < d->n_aspects; k++)
                Y[j * K + (size_t)strset_find(inv, d->aspects[k].category)] = 1;
        } else {
            for (size_t k = 0; k < d->n_labels; k++)
                Y[j * K + (size_t)strset_find(inv, d->labels[k])] = 1;
        }
    }
    struct head_job h = {.name = name,
                         .kind = ARTIFACT_HEAD_MULTILABEL,
                         .n_out = K,
                         .labels = inv->s,
                         .data = {r->n_tr, r->x, (int)r->vocab.n + 1},
                         .Y = Y,
                         .K = K,
                         .fold = r->fold};
    if (train_head(r, &h, &a, lo, hi, err) < 0 || add_head(r, &a, err) < 0)
        goto out;
    rc = 0;
out:
    free(Y);
    return rc;
}

/* ABSA polarity head: one instance per gold (document, category) pair, with
 * the document's features plus an indicator feature of the category. */
static int train_polarity_head(struct run *r, double lo, double hi, struct err *err)
{
    int rc = -1;
    size_t np = 0, total = 0, m = r->vocab.n, Kc = r->cats.n;
    int present[HEADS_N_POL] = {0}, map[HEADS_N_POL];
    const char *names[HEADS_N_POL];
    size_t P = 0;
    struct feature_node *nodes = NULL, **x = NULL;
    unsigned char *Y = NULL;
    int *fold = NULL;
    struct artifact_head a = {0};

    for (size_t j = 0; j < r->n_tr; j++) {
        const struct tdoc *d = &r->job->docs[r->tr[j]];
        np += d->n_aspects;
        total += d->n_aspects * (r->wv[r->tr[j]].n + 3);
        for (size_t k = 0; k < d->n_aspects; k++)
            present[heads_polarity_id(d->aspects[k].polarity)] = 1;
    }
    for (int p = 0; p < HEADS_N_POL; p++) {
        map[p] = present[p] ? (int)P : -1;
        if (present[p])
            names[P++] = heads_polarity_name(p);
    }
    if (P == 1) {
        /* a single polarity: a constant head */
        a.name = strdup("polarity");
        a.kind = ARTIFACT_HEAD_MULTICLASS;
        a.n_out = 1;
        a.labels = calloc(1, sizeof *a.labels);
        a.n_w = 1;
        a.n_in = (uint32_t)(m + Kc);
        a.n_rows = 0;
        a.rows = malloc(sizeof *a.rows);
        a.w = malloc(sizeof *a.w);
        a.bias = calloc(1, sizeof *a.bias);
        if (!a.name || !a.labels || !a.rows || !a.w || !a.bias || !(a.labels[0] = strdup(names[0])))
            goto oom;
        a.threshold = 0.5f;
        rc = add_head(r, &a, err);
        goto out;
    }
    size_t K = P == 2 ? 1 : P;
    nodes = malloc((total ? total : 1) * sizeof *nodes);
    x = malloc((np ? np : 1) * sizeof *x);
    Y = calloc(np * K + 1, 1);
    fold = malloc((np ? np : 1) * sizeof *fold);
    if (!nodes || !x || !Y || !fold)
        goto oom;
    struct feature_node *q = nodes;
    size_t i = 0;
    for (size_t j = 0; j < r->n_tr; j++) {
        const struct tdoc *d = &r->job->docs[r->tr[j]];
        const struct feat_vec *v = &r->wv[r->tr[j]];
        for (size_t k = 0; k < d->n_aspects; k++, i++) {
            long c = strset_find(&r->cats, d->aspects[k].category);
            int p = map[heads_polarity_id(d->aspects[k].polarity)];
            x[i] = q;
            for (size_t e = 0; e < v->n; e++)
                *q++ = (struct feature_node){(int)v->idx[e] + 1, v->val[e]};
            *q++ = (struct feature_node){(int)(m + (size_t)c) + 1, 1.0};
            *q++ = (struct feature_node){(int)(m + Kc) + 1, 1.0};
            *q++ = (struct feature_node){-1, 0.0};
            if (K == 1)
                Y[i] = p == 1;
            else
                Y[i * K + (size_t)p] = 1;
            fold[i] = r->fold[j];
        }
    }
    struct head_job h = {.name = "polarity",
                         .kind = ARTIFACT_HEAD_MULTICLASS,
                         .n_out = P,
                         .labels = names,
                         .data = {np, x, (int)(m + Kc) + 1},
                         .Y = Y,
                         .K = K,
                         .fold = fold};
    if (train_head(r, &h, &a, lo, hi, err) < 0 || add_head(r, &a, err) < 0)
        goto out;
    rc = 0;
    goto out;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
out:
    artifact_head_release(&a);
    free(nodes);
    free(x);
    free(Y);
    free(fold);
    return rc;
}

/* ---- evaluation ---- */

static int evaluate(struct run *r, struct metrics *m, json_t **absa, struct err *err)
{
    const struct artifact_head *hc = heads_find(r->art, "class");
    const struct artifact_head *hl =
        heads_find(r->art, r->type == HEADS_ABSA ? "category" : "label");
    const struct artifact_head *hp = heads_find(r->art, "polarity");
    const char *chead = r->type == HEADS_CLASSLABEL ? "class" : NULL;
    const char *lhead = r->type == HEADS_CLASSLABEL ? "label" : NULL;
    size_t cbase = 0, lbase = 0;
    double *pc = NULL, *pl = NULL, *pp = NULL;
    unsigned char *gold = NULL;
    int *gpol = NULL;
    size_t ctp = 0, cfp = 0, cfn = 0, pol_ok = 0, pol_n = 0;
    int rc = -1;

    if (hc) {
        cbase = m->n;
        for (uint32_t k = 0; k < hc->n_out; k++)
            if (metrics_add(m, hc->labels[k], chead, err) < 0)
                goto out;
        pc = malloc(hc->n_out * sizeof *pc);
        if (!pc)
            goto oom;
    }
    if (hl) {
        lbase = m->n;
        for (uint32_t k = 0; k < hl->n_out; k++)
            if (metrics_add(m, hl->labels[k], lhead, err) < 0)
                goto out;
        pl = malloc(hl->n_out * sizeof *pl);
        gold = malloc(hl->n_out);
        gpol = malloc(hl->n_out * sizeof *gpol);
        if (!pl || !gold || !gpol)
            goto oom;
    }
    if (hp) {
        pp = malloc(hp->n_out * sizeof *pp);
        if (!pp)
            goto oom;
    }
    for (size_t j = 0; j < r->n_te; j++) {
        const struct tdoc *d = &r->job->docs[r->te[j]];
        const struct feat_vec *v = &r->wv[r->te[j]];
        if (hc) {
            heads_probs(hc, v, -1, pc);
            uint32_t b = heads_argmax(pc, hc->n_out);
            long g = heads_label(hc, d->cls);
            if ((long)b == g) {
                m->e[cbase + b].tp++;
            } else {
                m->e[cbase + b].fp++;
                m->e[cbase + (size_t)g].fn++;
            }
        }
        if (hl) {
            heads_probs(hl, v, -1, pl);
            memset(gold, 0, hl->n_out);
            if (r->type == HEADS_ABSA) {
                for (size_t k = 0; k < d->n_aspects; k++) {
                    long c = heads_label(hl, d->aspects[k].category);
                    gold[c] = 1;
                    gpol[c] = heads_polarity_id(d->aspects[k].polarity);
                }
            } else {
                for (size_t k = 0; k < d->n_labels; k++)
                    gold[heads_label(hl, d->labels[k])] = 1;
            }
            for (uint32_t k = 0; k < hl->n_out; k++) {
                int pred = pl[k] >= hl->threshold;
                struct metrics_entry *e = &m->e[lbase + k];
                if (r->type != HEADS_ABSA) {
                    e->tp += pred && gold[k];
                    e->fp += pred && !gold[k];
                    e->fn += !pred && gold[k];
                    continue;
                }
                ctp += pred && gold[k];
                cfp += pred && !gold[k];
                cfn += !pred && gold[k];
                if (!pred) {
                    e->fn += gold[k];
                    continue;
                }
                heads_probs(hp, v, (long)(r->vocab.n + k), pp);
                int ppol = heads_polarity_id(hp->labels[heads_argmax(pp, hp->n_out)]);
                if (!gold[k]) {
                    e->fp++;
                } else if (ppol == gpol[k]) {
                    e->tp++;
                    pol_ok++;
                    pol_n++;
                } else {
                    e->fp++;
                    e->fn++;
                    pol_n++;
                }
            }
        }
    }
    if (r->type == HEADS_ABSA) {
        double p, rr, f;
        metrics_prf(ctp, cfp, cfn, &p, &rr, &f);
        *absa = json_pack("{s:{s:f, s:f, s:f}, s:f, s:I}", "category", "precision", p, "recall",
                          rr, "f1", f, "polarity_accuracy",
                          pol_n ? (double)pol_ok / (double)pol_n : 0.0, "polarity_evaluated",
                          (json_int_t)pol_n);
        if (!*absa)
            goto oom;
    }
    rc = 0;
    goto out;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
out:
    free(pc);
    free(pl);
    free(pp);
    free(gold);
    free(gpol);
    return rc;
}

/* ---- one model: vocabulary, vectors, heads ---- */

/* Drop the current pass's vocabulary, vectors, rows and heads (raw vectors stay). */
static void model_reset(struct run *r)
{
    feat_vocab_release(&r->vocab);
    if (r->wv)
        for (size_t i = 0; i < r->n; i++)
            feat_vec_release(&r->wv[i]);
    free(r->nodes);
    r->nodes = NULL;
    free(r->x);
    r->x = NULL;
    artifact_free(r->art);
    r->art = NULL;
    json_decref(r->selected);
    r->selected = json_array();
    r->n_stacked = 0;
}

/* Vectorize and train every head of the model type into a new r->art,
 * progress from lo to hi. */
static int fit_model(struct run *r, double lo, double hi, struct err *err)
{
    const struct trainer_job *job = r->job;
    double a = lo + (hi - lo) * 5.0 / 67.0, b = hi;

    phase(r, lo, a);
    if (vectorize(r, err) < 0 || canceled(r, err))
        return -1;
    r->art = artifact_new(err);
    if (!r->art)
        return -1;
    r->art->type = strdup(job->type);
    r->art->language = strdup(job->language);
    if (!r->art->type || !r->art->language) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    r->art->fcfg = r->fcfg;
    switch (r->type) {
    case HEADS_CLASS:
        return train_class_head(r, a, b, err);
    case HEADS_LABEL:
        return train_multilabel_head(r, "label", &r->labels, a, b, err);
    case HEADS_CLASSLABEL:
        if (train_class_head(r, a, (a + b) / 2, err) < 0)
            return -1;
        return train_multilabel_head(r, "label", &r->labels, (a + b) / 2, b, err);
    case HEADS_ABSA:
        if (train_multilabel_head(r, "category", &r->cats, a, a + (b - a) * 0.73, err) < 0)
            return -1;
        return train_polarity_head(r, a + (b - a) * 0.73, b, err);
    }
    return -1;
}

/* Record in the heads of r->selected that the base was tried and rejected,
 * with the CV scores of the attempt (heads of `tried`, same order). */
static int note_rejected(struct run *r, const json_t *tried)
{
    size_t i;
    json_t *h;
    json_array_foreach(r->selected, i, h)
    {
        const json_t *t = json_array_get(tried, i);
        const char *what = json_string_value(json_object_get(t, "base_transfer"));
        if (!what || strcmp(what, "rejected_by_cv") != 0)
            continue;
        if (json_object_set_new(h, "base_transfer", json_string("rejected_by_cv")) < 0 ||
            json_object_set(h, "cv_score_with_base", json_object_get(t, "cv_score_with_base")) <
                0 ||
            json_object_set(h, "cv_score_without_base",
                            json_object_get(t, "cv_score_without_base")) < 0)
            return -1;
    }
    return 0;
}

/* ---- trainer_run ---- */

static int load_base(struct run *r)
{
    struct err e;
    if (!r->job->base_artifact || r->mode == TRAINER_BASE_IGNORE)
        return 0;
    r->base = artifact_read(r->job->base_artifact, &e);
    if (r->base && memcmp(&r->base->fcfg, &r->fcfg, sizeof r->fcfg) != 0) {
        /* another hashing / tokenizer setup: weights would not line up */
        artifact_free(r->base);
        r->base = NULL;
    }
    return 0;
}

int trainer_run(const struct trainer_job *job, struct trainer_result *out, struct err *err)
{
    return trainer_run_mode(job, TRAINER_BASE_AUTO, out, err);
}

int trainer_run_mode(const struct trainer_job *job, enum trainer_base_mode mode,
                     struct trainer_result *out, struct err *err)
{
    struct run r = {.job = job, .mode = mode};
    struct metrics m;
    json_t *metrics = NULL, *absa = NULL;
    int rc = -1;
    double t0 = now_s();

    metrics_init(&m);
    if (!job || !out) {
        err_set(err, ERR_INVALID, "no training job");
        return -1;
    }
    if (heads_type_parse(job->type, &r.type) < 0) {
        err_set(err, ERR_INVALID, "unknown model type");
        return -1;
    }
    if (!job->language || !job->artifact_path) {
        err_set(err, ERR_INVALID, "training job lacks a language or artifact path");
        return -1;
    }
    if (sodium_init() < 0) {
        err_set(err, ERR_INTERNAL, "libsodium initialization failed");
        return -1;
    }
    learn_global_init();
    r.n = job->n_docs;
    feat_config_default(&r.fcfg);
    r.selected = json_array();
    if (!r.selected)
        goto oom;
    report(&r, 0.0);
    if (validate(&r, err) < 0 || do_split(&r, err) < 0 || inventories(&r, err) < 0)
        goto out;
    load_base(&r);
    /* progress budget: featurize 0-25, vectorize 25-30, heads 30-92, eval 92-97, write 97-100 */
    phase(&r, 0.5, 25.0);
    if (featurize(&r, err) < 0)
        goto out;
    r.fold = malloc(r.n_tr * sizeof *r.fold);
    if (!r.fold)
        goto oom;
    if (split_folds(job->docs, r.tr, r.n_tr, job->type, job->seed, N_FOLDS, r.fold, err) < 0)
        goto out;
    if (r.base && r.mode == TRAINER_BASE_AUTO) {
        /* with the base (its vocabulary kept, transfer per head where CV
         * prefers it); if no head takes the transfer, the model is trained
         * again exactly as without a base, so a useless base changes nothing */
        r.keep_raw = 1;
        if (fit_model(&r, 25, 85, err) < 0)
            goto out;
        if (r.n_stacked == 0) {
            json_t *first = r.selected;
            r.selected = NULL;
            model_reset(&r);
            r.mode = TRAINER_BASE_IGNORE;
            int rc2 = r.selected ? fit_model(&r, 85, 92, err) : -1;
            if (rc2 == 0 && note_rejected(&r, first) < 0)
                rc2 = -1;
            json_decref(first);
            if (rc2 < 0) {
                if (!r.selected)
                    goto oom;
                goto out;
            }
        }
    } else if (fit_model(&r, 25, 92, err) < 0) {
        goto out;
    }
    if (canceled(&r, err))
        goto out;
    /* the vocabulary moves into the artifact after training used it */
    phase(&r, 92, 97);
    if (evaluate(&r, &m, &absa, err) < 0)
        goto out;
    static const char *const units[] = {"class", "label", "class+label", "aspect_category_polarity"};
    metrics = metrics_to_json(&m, units[r.type], err);
    if (!metrics)
        goto out;
    double f1;
    metrics_micro(&m, NULL, NULL, &f1);
    json_t *first = json_array_get(r.selected, r.type == HEADS_CLASSLABEL ? 1 : 0);
    json_t *sel = json_deep_copy(first);
    if (!sel || json_object_set_new(sel, "heads", json_deep_copy(r.selected)) < 0 ||
        json_object_set_new(metrics, "selected", sel) < 0 ||
        json_object_set_new(metrics, "train_size", json_integer((json_int_t)r.n_tr)) < 0 ||
        json_object_set_new(metrics, "test_size", json_integer((json_int_t)r.n_te)) < 0 ||
        json_object_set_new(metrics, "duplicates_removed", json_integer((json_int_t)r.dups)) < 0 ||
        json_object_set_new(metrics, "features", json_integer((json_int_t)r.vocab.n)) < 0)
        goto oom;
    if (absa && json_object_set_new(metrics, "absa", absa) < 0) {
        absa = NULL;
        goto oom;
    }
    absa = NULL;
    r.art->vocab = r.vocab;
    memset(&r.vocab, 0, sizeof r.vocab);
    r.art->meta = json_dumps(r.selected, JSON_COMPACT);
    if (!r.art->meta)
        goto oom;
    phase(&r, 97, 100);
    if (canceled(&r, err) || artifact_write(r.art, job->artifact_path, err) < 0)
        goto out;
    if (json_object_set_new(metrics, "training_seconds", json_real(now_s() - t0)) < 0)
        goto oom;
    report(&r, 100.0);
    out->score = f1;
    out->metrics = metrics;
    metrics = NULL;
    rc = 0;
    goto out;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
out:
    json_decref(metrics);
    json_decref(absa);
    metrics_release(&m);
    run_release(&r);
    return rc;
}

void trainer_result_release(struct trainer_result *r)
{
    if (!r)
        return;
    json_decref(r->metrics);
    r->metrics = NULL;
    r->score = 0.0;
}
