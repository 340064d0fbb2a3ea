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

#include <assert.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "artifact.h"
#include "explain.h"
#include "feat.h"
#include "heads.h"
#include "learn.h"
#include "metrics.h"
#include "split.h"
#include "text.h"
#include "transfer.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define N_THREADS 2
/* CV folds: 3; a training set of fewer documents uses one fold per document,
 * one of N_FOLDS_LARGE_AT documents or more uses 2 (each half still validates
 * on 1,500 documents or more, at half the cost of 3 folds; docs/ML.md) */
#define N_FOLDS 3
#define N_FOLDS_LARGE_AT 3000

/* Failure messages that name the fix (listed in the README). */
#define TRAINER_MSG_NO_TRAIN                                                                    \
    "there are no training documents: upload documents to the labeling sessions used for "    \
    "training (annotation_ids or trainset_annotation_ids)"
#define TRAINER_MSG_NO_TEST                                                                     \
    "the test set is empty: upload documents to the sessions given as testset_annotation_ids, " \
    "or, with annotation_ids, add documents (about 20 % of each class go to the test set)"
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
    const char **p = util_grow(ss->s, &ss->cap, ss->n + 1, sizeof *p, 16);

    if (!p)
        return -1;
    ss->s = p;
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

/* Index of s in a finished set, or -1. */
static long strset_find(const struct strset *ss, const char *s)
{
    const char **p = ss->n ? bsearch(&s, ss->s, ss->n, sizeof *ss->s, cmp_pstr) : NULL;

    return p ? (long)(p - ss->s) : -1;
}

/* Index of s in a finished set that holds it (the inventories hold every
 * label of the documents they were built from). */
static size_t strset_at(const struct strset *ss, const char *s)
{
    long i = strset_find(ss, s);

    assert(i >= 0);
    return (size_t)i;
}

/* ---- training state ---- */

struct run {
    const struct trainer_job *job;
    enum model_type type;  /* job->type, checked */
    const char *lang;      /* job->language's name: the analyzer's and the artifact's */
    size_t n;           /* documents */
    unsigned char *set; /* SPLIT_* per document */
    size_t *tr, n_tr, *te, n_te;
    size_t dups;
    struct strset classes, labels, cats;       /* inventories of the training set */
    size_t *classes_n, *labels_n, *cats_n;      /* training documents per inventory entry */
    struct strset u_classes, u_labels, u_cats; /* labels only in the test set (scored as misses) */
    size_t u_docs;                             /* test documents carrying such a label */
    int n_folds;                               /* CV folds: 3, fewer for a tiny training set */
    json_t *warnings;                          /* trainer_result.warnings being built */
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
    assert(lo >= 0.0 && lo <= hi && hi <= 100.0);
    report(r, lo);
    r->lo = lo;
    r->hi = hi;
}

static void tick(void *ctx, size_t done, size_t total)
{
    struct run *r = ctx;
    assert(done <= total);
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

/* Release the current pass's vocabulary, weighted vectors (not their array),
 * rows, artifact and selection record. */
static void model_release(struct run *r)
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
    r->selected = NULL;
}

static void run_release(struct run *r)
{
    free(r->set);
    free(r->tr);
    free(r->te);
    free(r->classes.s);
    free(r->labels.s);
    free(r->cats.s);
    free(r->classes_n);
    free(r->labels_n);
    free(r->cats_n);
    free(r->u_classes.s);
    free(r->u_labels.s);
    free(r->u_cats.s);
    json_decref(r->warnings);
    if (r->raw)
        for (size_t i = 0; i < r->n; i++)
            feat_vec_release(&r->raw[i]);
    free(r->raw);
    model_release(r);
    free(r->wv);
    free(r->fold);
    artifact_free(r->base);
}

/* ---- validation and label inventories ---- */

static int validate(struct run *r, struct err *err)
{
    const struct trainer_job *job = r->job;
    if (job->n_docs == 0 || !job->docs) {
        err_set(err, ERR_DATA, "%s", TRAINER_MSG_NO_TRAIN);
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
        if ((r->type == TYPE_CLASS || r->type == TYPE_CLASSLABEL) && (!d->cls || !d->cls[0])) {
            err_set(err, ERR_DATA, "document %zu has no class", i + 1);
            return -1;
        }
        if (r->type == TYPE_LABEL || r->type == TYPE_CLASSLABEL)
            for (size_t j = 0; j < d->n_labels; j++)
                if (!d->labels || !d->labels[j] || !d->labels[j][0]) {
                    err_set(err, ERR_DATA, "document %zu has an empty label", i + 1);
                    return -1;
                }
        if (r->type == TYPE_ABSA)
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

/* 1 if label k of d is its first occurrence in d (a document may list one twice). */
static int first_label(const struct tdoc *d, size_t k)
{
    for (size_t e = 0; e < k; e++)
        if (strcmp(d->labels[e], d->labels[k]) == 0)
            return 0;
    return 1;
}

/* 1 if aspect k of d is the first with its category in d. */
static int first_category(const struct tdoc *d, size_t k)
{
    for (size_t e = 0; e < k; e++)
        if (strcmp(d->aspects[e].category, d->aspects[k].category) == 0)
            return 0;
    return 1;
}

/* n[i] = how many of the training documents carry inventory entry i. */
static int count_support(struct run *r, const struct strset *inv, size_t **out)
{
    const struct tdoc *docs = r->job->docs;
    size_t *n = calloc(inv->n ? inv->n : 1, sizeof *n);

    if (!n)
        return -1;
    for (size_t j = 0; j < r->n_tr; j++) {
        const struct tdoc *d = &docs[r->tr[j]];
        if (inv == &r->classes) {
            n[strset_at(inv, d->cls)]++;
        } else if (inv == &r->labels) {
            /* a label listed twice in one document counts once */
            for (size_t k = 0; k < d->n_labels; k++)
                if (first_label(d, k))
                    n[strset_at(inv, d->labels[k])]++;
        } else {
            for (size_t k = 0; k < d->n_aspects; k++)
                if (first_category(d, k))
                    n[strset_at(inv, d->aspects[k].category)]++;
        }
    }
    *out = n;
    return 0;
}

/*
 * Build the inventories from the training set. A class, label or category
 * that occurs only in the test set is no error: it goes into r->u_* and is
 * scored as a miss wherever it occurs (evaluate()), and a warning says so.
 */
static int inventories(struct run *r, struct err *err)
{
    const struct tdoc *docs = r->job->docs;
    int has_class = r->type == TYPE_CLASS || r->type == TYPE_CLASSLABEL;
    int has_label = r->type == TYPE_LABEL || r->type == TYPE_CLASSLABEL;
    int has_cat = r->type == TYPE_ABSA;

    for (size_t j = 0; j < r->n_tr; j++) {
        const struct tdoc *d = &docs[r->tr[j]];
        if (has_class && strset_add(&r->classes, d->cls) < 0)
            goto oom;
        if (has_label)
            for (size_t k = 0; k < d->n_labels; k++)
                if (strset_add(&r->labels, d->labels[k]) < 0)
                    goto oom;
        if (has_cat)
            for (size_t k = 0; k < d->n_aspects; k++)
                if (strset_add(&r->cats, d->aspects[k].category) < 0)
                    goto oom;
    }
    strset_finish(&r->classes);
    strset_finish(&r->labels);
    strset_finish(&r->cats);
    if (has_class && r->classes.n < 2) {
        err_set(err, ERR_DATA,
                "every training document has the same class \"%s\", so there is nothing to "
                "learn: a %s model needs training documents of at least 2 different classes "
                "(label training documents of other classes too)",
                r->classes.n ? r->classes.s[0] : "", domain_type_name(r->type));
        return -1;
    }
    if (has_label && r->labels.n < 1) {
        err_set(err, ERR_DATA,
                "no training document has a label, so there is nothing to learn: a %s model "
                "needs training documents with labels",
                domain_type_name(r->type));
        return -1;
    }
    if (has_cat && r->cats.n < 1) {
        err_set(err, ERR_DATA,
                "no training document has an aspect, so there is nothing to learn: an ABSA model "
                "needs training documents with aspects (category and polarity)");
        return -1;
    }
    if ((has_class && count_support(r, &r->classes, &r->classes_n) < 0) ||
        (has_label && count_support(r, &r->labels, &r->labels_n) < 0) ||
        (has_cat && count_support(r, &r->cats, &r->cats_n) < 0))
        goto oom;
    for (size_t j = 0; j < r->n_te; j++) {
        const struct tdoc *d = &docs[r->te[j]];
        int unseen = 0;
        if (has_class && strset_find(&r->classes, d->cls) < 0) {
            if (strset_add(&r->u_classes, d->cls) < 0)
                goto oom;
            unseen = 1;
        }
        if (has_label)
            for (size_t k = 0; k < d->n_labels; k++)
                if (strset_find(&r->labels, d->labels[k]) < 0) {
                    if (strset_add(&r->u_labels, d->labels[k]) < 0)
                        goto oom;
                    unseen = 1;
                }
        if (has_cat)
            for (size_t k = 0; k < d->n_aspects; k++)
                if (strset_find(&r->cats, d->aspects[k].category) < 0) {
                    if (strset_add(&r->u_cats, d->aspects[k].category) < 0)
                        goto oom;
                    unseen = 1;
                }
        r->u_docs += (size_t)unseen;
    }
    strset_finish(&r->u_classes);
    strset_finish(&r->u_labels);
    strset_finish(&r->u_cats);
    return 0;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
    return -1;
}

static int do_split(struct run *r, struct err *err)
{
    r->set = malloc(r->n);
    r->tr = malloc(r->n * sizeof *r->tr);
    r->te = malloc(r->n * sizeof *r->te);
    if (!r->set || !r->tr || !r->te) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    if (split_assign(r->job->docs, r->n, r->type, r->job->seed, r->set, err) < 0 ||
        split_dedupe(r->job->docs, r->n, r->set, &r->dups, err) < 0)
        return -1;
    for (size_t i = 0; i < r->n; i++) {
        if (r->set[i] == SPLIT_TRAIN)
            r->tr[r->n_tr++] = i;
        else if (r->set[i] == SPLIT_TEST)
            r->te[r->n_te++] = i;
    }
    /* every document trains, tests, or was dropped as a test twin of a training text */
    assert(r->n_tr + r->n_te + r->dups == r->n);
    if (r->n_tr == 0) {
        err_set(err, ERR_DATA, "%s", TRAINER_MSG_NO_TRAIN);
        return -1;
    }
    if (r->n_te == 0) {
        if (r->dups)
            err_set(err, ERR_DATA,
                    "the test set is empty: all %zu test documents also occur in the training "
                    "set (same text) and were left out; add test documents that are not "
                    "training documents",
                    r->dups);
        else
            err_set(err, ERR_DATA, "%s", TRAINER_MSG_NO_TEST);
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
    struct text_analyzer *a = text_analyzer_new(z->r->lang, err);
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
    size_t cv_outputs;    /* outputs model selection looked at */
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

/*
 * A multi-label head with many outputs (many aspect categories or labels)
 * chooses its one C and threshold by cross-validating only its
 * CV_MAX_OUTPUTS most frequent outputs, then fits every output once: the
 * cost of model selection no longer grows with the number of labels, and
 * the choice is driven by the outputs that dominate micro-F1 anyway (the
 * rare ones have too few positives for CV to tell C values apart).
 */
#define CV_MAX_OUTPUTS 8

/* The columns of Y (n × K) of the CV_MAX_OUTPUTS outputs with the most
 * positives (ties: lower index), in output order, as a new n × CV_MAX_OUTPUTS
 * matrix; NULL with ERR_NOMEM. */
static unsigned char *cv_subset(const unsigned char *Y, size_t n, size_t K, struct err *err)
{
    size_t *pos = calloc(K, sizeof *pos);
    unsigned char *keep = calloc(K, 1);
    unsigned char *sub = malloc(n * CV_MAX_OUTPUTS + 1);

    if (!pos || !keep || !sub) {
        free(sub);
        sub = NULL;
        err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < K; k++)
            pos[k] += Y[i * K + k];
    for (size_t m = 0; m < CV_MAX_OUTPUTS; m++) {
        size_t b = K;
        for (size_t k = 0; k < K; k++)
            if (!keep[k] && (b == K || pos[k] > pos[b]))
                b = k;
        keep[b] = 1;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0, m = 0; k < K; k++)
            if (keep[k])
                sub[i * CV_MAX_OUTPUTS + m++] = Y[i * K + k];
out:
    free(pos);
    free(keep);
    return sub;
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
    const unsigned char *saved_y = h->Y;
    size_t saved_k = h->K;
    unsigned char *sub = NULL;
    h->data = *d; /* score_head reads the row count */
    phase(r, lo, hi);
    if (h->kind == ARTIFACT_HEAD_MULTILABEL && h->K > CV_MAX_OUTPUTS) {
        /* model selection on the most frequent outputs only (see CV_MAX_OUTPUTS) */
        if (!(sub = cv_subset(h->Y, d->n, h->K, err))) {
            rc = -1;
            goto out;
        }
        h->Y = sub;
        h->K = CV_MAX_OUTPUTS;
    }
    {
        /* a larger C must win by more than one unit of the CV score: one
         * more document right (multiclass), one more positive label found
         * (multi-label); measured in docs/ML.md */
        size_t units = d->n;
        if (h->kind == ARTIFACT_HEAD_MULTILABEL) {
            units = 0;
            for (size_t i = 0; i < d->n * h->K; i++)
                units += h->Y[i];
        }
        o.min_gain = units ? 1.0 / (double)units : 0.0;
    }
    h->cv_outputs = h->K;
    if (learn_cv(d, h->Y, h->K, h->fold, r->n_folds, C_GRID, N_GRID, PATIENCE, score_head, h, best,
                 dec, ran, &o, err) == 0) {
        *score = score_head(h, *best, dec);
        rc = 0;
    }
out:
    h->data = saved;
    h->Y = saved_y;
    h->K = saved_k;
    free(sub);
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
                            "cv_folds", r->n_folds, "grid_levels", (int)ran, "warm_start_from_base",
                            init != NULL, "base_transfer", transfer, "cv_seconds", t1 - t0,
                            "fit_seconds", t2 - t1);
    if (!sel || json_array_append_new(r->selected, sel) < 0)
        goto oom;
    if (json_object_set_new(sel, "cv_outputs", json_integer((json_int_t)h->cv_outputs)) < 0)
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
/* Train a head over the training rows (targets Y, data.n × K, taken and
 * freed) and add it to the artifact. */
static int fit_rows_head(struct run *r, const char *name, uint32_t kind, size_t n_out,
                         const char *const *labels, unsigned char *Y, size_t K, double lo,
                         double hi, struct err *err)
{
    struct artifact_head a = {0};
    struct head_job h = {.name = name,
                         .kind = kind,
                         .n_out = n_out,
                         .labels = labels,
                         .data = {r->n_tr, r->x, (int)r->vocab.n + 1},
                         .Y = Y,
                         .K = K,
                         .fold = r->fold};
    int rc = train_head(r, &h, &a, lo, hi, err) < 0 || add_head(r, &a, err) < 0 ? -1 : 0;

    free(Y);
    return rc;
}

static int train_class_head(struct run *r, double lo, double hi, struct err *err)
{
    size_t K = r->classes.n == 2 ? 1 : r->classes.n;
    unsigned char *Y = calloc(r->n_tr * K, 1);

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
    return fit_rows_head(r, "class", ARTIFACT_HEAD_MULTICLASS, r->classes.n, r->classes.s, Y, K,
                         lo, hi, err);
}

/* Multi-label head ("label" or "category") over the training rows. */
static int train_multilabel_head(struct run *r, const char *name, const struct strset *inv,
                                 double lo, double hi, struct err *err)
{
    size_t K = inv->n;
    unsigned char *Y = calloc(r->n_tr * K, 1);

    if (!Y) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    for (size_t j = 0; j < r->n_tr; j++) {
        const struct tdoc *d = &r->job->docs[r->tr[j]];
        if (r->type == TYPE_ABSA) {
            for (size_t k = 0; k < d->n_aspects; k++)
                Y[j * K + strset_at(inv, d->aspects[k].category)] = 1;
        } else {
            for (size_t k = 0; k < d->n_labels; k++)
                Y[j * K + strset_at(inv, d->labels[k])] = 1;
        }
    }
    return fit_rows_head(r, name, ARTIFACT_HEAD_MULTILABEL, K, inv->s, Y, K, lo, hi, err);
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

/* Entries for head h's outputs (training support from inv_n) and then for the
 * test-only labels u (support 0); returns the index of the first, or -1. */
static long add_entries(struct metrics *m, const struct artifact_head *h, const struct strset *inv,
                        const size_t *inv_n, const struct strset *u, const char *head,
                        struct err *err)
{
    long base = (long)m->n;
    for (uint32_t k = 0; k < h->n_out; k++) {
        long e = metrics_add(m, h->labels[k], head, err);
        if (e < 0)
            return -1;
        long i = strset_find(inv, h->labels[k]);
        m->e[e].train = i >= 0 && inv_n ? inv_n[i] : 0;
    }
    for (size_t k = 0; k < u->n; k++)
        if (metrics_add(m, u->s[k], head, err) < 0)
            return -1;
    return base;
}

/* {"labels": [names...], "matrix": [[count...]...]} of an n × n matrix (rows gold). */
static json_t *matrix_json(const struct metrics *m, size_t base, size_t n, const size_t *cm)
{
    json_t *o = json_object(), *names = json_array(), *rows = json_array();
    if (!o || !names || !rows)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_array();
        if (!row || json_array_append_new(rows, row) < 0 || /* row is rows' now, or freed */
            json_array_append_new(names, json_string(m->e[base + i].label)) < 0)
            goto fail;
        for (size_t j = 0; j < n; j++)
            if (json_array_append_new(row, json_integer((json_int_t)cm[i * n + j])) < 0)
                goto fail;
    }
    if (json_object_set_new(o, "labels", names) < 0) {
        names = NULL;
        goto fail;
    }
    if (json_object_set_new(o, "matrix", rows) < 0)
        return json_decref(o), NULL;
    return o;
fail:
    json_decref(o);
    json_decref(names);
    json_decref(rows);
    return NULL;
}

/* [{"label", "tp", "fp", "fn", "tn"}...] of entries [base, base + n) over n_docs documents. */
static json_t *binary_json(const struct metrics *m, size_t base, size_t n, size_t n_docs)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        const struct metrics_entry *e = &m->e[base + i];
        json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I}", "label", e->label, "tp",
                              (json_int_t)e->tp, "fp", (json_int_t)e->fp, "fn", (json_int_t)e->fn,
                              "tn", (json_int_t)(n_docs - e->tp - e->fp - e->fn));
        if (json_array_append_new(a, o) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

/*
 * Score the stored heads on the test set into m (one entry per trained label,
 * then one per test-only label, which is never predicted and so counts as a
 * miss wherever it occurs), the ABSA figures into *absa and the confusion
 * figures into *conf (docs/ML.md, "The metrics JSON").
 */
static int evaluate(struct run *r, struct metrics *m, json_t **absa, json_t **conf,
                    struct err *err)
{
    const struct artifact_head *hc = heads_find(r->art, "class");
    const struct artifact_head *hl =
        heads_find(r->art, r->type == TYPE_ABSA ? "category" : "label");
    const struct artifact_head *hp = heads_find(r->art, "polarity");
    const char *chead = r->type == TYPE_CLASSLABEL ? "class" : NULL;
    const char *lhead = r->type == TYPE_CLASSLABEL ? "label" : NULL;
    const struct strset *linv = r->type == TYPE_ABSA ? &r->cats : &r->labels;
    const struct strset *lu = r->type == TYPE_ABSA ? &r->u_cats : &r->u_labels;
    const size_t *linv_n = r->type == TYPE_ABSA ? r->cats_n : r->labels_n;
    long cbase = 0, lbase = 0;
    size_t nc = 0, nl = 0, *cm = NULL, pcm[HEADS_N_POL * HEADS_N_POL] = {0};
    double *pc = NULL, *pl = NULL, *pp = NULL;
    unsigned char *gold = NULL;
    int *gpol = NULL;
    size_t ctp = 0, cfp = 0, cfn = 0, pol_ok = 0, pol_n = 0;
    int rc = -1;

    *conf = json_object();
    if (!*conf)
        goto oom;
    if (hc) {
        if ((cbase = add_entries(m, hc, &r->classes, r->classes_n, &r->u_classes, chead, err)) < 0)
            goto out;
        nc = hc->n_out + r->u_classes.n;
        pc = malloc(hc->n_out * sizeof *pc);
        cm = calloc(nc * nc, sizeof *cm);
        if (!pc || !cm)
            goto oom;
    }
    if (hl) {
        if ((lbase = add_entries(m, hl, linv, linv_n, lu, lhead, err)) < 0)
            goto out;
        nl = hl->n_out + lu->n;
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
            size_t b = heads_argmax(pc, hc->n_out);
            long g = heads_label(hc, d->cls);
            size_t gi = g >= 0 ? (size_t)g : hc->n_out + strset_at(&r->u_classes, d->cls);
            assert(gi < nc);
            cm[gi * nc + b]++;
            if (b == gi) {
                m->e[(size_t)cbase + b].tp++;
            } else {
                m->e[(size_t)cbase + b].fp++;
                m->e[(size_t)cbase + gi].fn++;
            }
        }
        if (!hl)
            continue;
        heads_probs(hl, v, -1, pl);
        memset(gold, 0, hl->n_out);
        if (r->type == TYPE_ABSA) {
            for (size_t k = 0; k < d->n_aspects; k++) {
                long c = heads_label(hl, d->aspects[k].category);
                if (c < 0) { /* a test-only category: a gold pair never predicted */
                    m->e[(size_t)lbase + hl->n_out + strset_at(lu, d->aspects[k].category)].fn++;
                    cfn++;
                    continue;
                }
                gold[c] = 1;
                gpol[c] = heads_polarity_id(d->aspects[k].polarity);
            }
        } else {
            for (size_t k = 0; k < d->n_labels; k++) {
                long c = heads_label(hl, d->labels[k]);
                if (c >= 0) {
                    gold[c] = 1;
                    continue;
                }
                /* a test-only label, counted once per document */
                if (first_label(d, k))
                    m->e[(size_t)lbase + hl->n_out + strset_at(lu, d->labels[k])].fn++;
            }
        }
        for (uint32_t k = 0; k < hl->n_out; k++) {
            int pred = pl[k] >= hl->threshold;
            struct metrics_entry *e = &m->e[(size_t)lbase + k];
            if (r->type != TYPE_ABSA) {
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
                continue;
            }
            assert(ppol >= 0 && gpol[k] >= 0);
            pcm[gpol[k] * HEADS_N_POL + ppol]++;
            pol_n++;
            if (ppol == gpol[k]) {
                e->tp++;
                pol_ok++;
            } else {
                e->fp++;
                e->fn++;
            }
        }
    }
    if (hc && json_object_set_new(*conf, "class", matrix_json(m, (size_t)cbase, nc, cm)) < 0)
        goto oom;
    if (hl && r->type != TYPE_ABSA &&
        json_object_set_new(*conf, "label", binary_json(m, (size_t)lbase, nl, r->n_te)) < 0)
        goto oom;
    if (r->type == TYPE_ABSA) {
        double p, rr, f;
        metrics_prf(ctp, cfp, cfn, &p, &rr, &f);
        *absa = json_pack("{s:{s:f, s:f, s:f}, s:f, s:I}", "category", "precision", p, "recall",
                          rr, "f1", f, "polarity_accuracy",
                          pol_n ? (double)pol_ok / (double)pol_n : 0.0, "polarity_evaluated",
                          (json_int_t)pol_n);
        if (!*absa)
            goto oom;
        /* polarity confusion over the fixed polarity order, named like the entries */
        struct metrics pm;
        metrics_init(&pm);
        for (int q = 0; q < HEADS_N_POL; q++)
            if (metrics_add(&pm, heads_polarity_name(q), NULL, err) < 0) {
                metrics_release(&pm);
                goto out;
            }
        json_t *pj = matrix_json(&pm, 0, HEADS_N_POL, pcm);
        metrics_release(&pm);
        if (json_object_set_new(*conf, "polarity", pj) < 0)
            goto oom;
    }
    rc = 0;
    goto out;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
out:
    free(pc);
    free(cm);
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
    model_release(r);
    r->selected = json_array();
    r->n_stacked = 0;
}

/* Vectorize and train every head of the model type into a new r->art,
 * progress from lo to hi. */
static int fit_model(struct run *r, double lo, double hi, struct err *err)
{
    double a = lo + (hi - lo) * 5.0 / 67.0, b = hi;

    phase(r, lo, a);
    if (vectorize(r, err) < 0 || canceled(r, err))
        return -1;
    r->art = artifact_new(err);
    if (!r->art)
        return -1;
    r->art->type = strdup(domain_type_name(r->type));
    r->art->language = strdup(r->lang);
    if (!r->art->type || !r->art->language) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    r->art->fcfg = r->fcfg;
    switch (r->type) {
    case TYPE_CLASS:
        return train_class_head(r, a, b, err);
    case TYPE_LABEL:
        return train_multilabel_head(r, "label", &r->labels, a, b, err);
    case TYPE_CLASSLABEL:
        if (train_class_head(r, a, (a + b) / 2, err) < 0)
            return -1;
        return train_multilabel_head(r, "label", &r->labels, (a + b) / 2, b, err);
    case TYPE_ABSA:
        if (train_multilabel_head(r, "category", &r->cats, a, a + (b - a) * 0.73, err) < 0)
            return -1;
        return train_polarity_head(r, a + (b - a) * 0.73, b, err);
    case TYPE_BASE: /* trainer_run_mode() refused it */
    case TYPE_COUNT:
        break;
    }
    assert(!"a trained type");
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

/* ---- warnings (stable codes, documented in the README and openapi.yaml) ---- */

/* Append {"code", "message", "labels"?, "count"?}: labels (may be NULL) are
 * the names of a[0..na) and b[0..nb); count < 0 leaves "count" out. */
static int warn(struct run *r, const char *code, const char *msg, const struct strset *a,
                const struct strset *b, long long count)
{
    json_t *w = json_pack("{s:s, s:s}", "code", code, "message", msg);
    if (!w || json_array_append_new(r->warnings, w) < 0)
        return -1;
    if (a || b) {
        json_t *l = json_array();
        if (json_object_set_new(w, "labels", l) < 0)
            return -1;
        for (size_t i = 0; a && i < a->n; i++)
            if (json_array_append_new(l, json_string(a->s[i])) < 0)
                return -1;
        for (size_t i = 0; b && i < b->n; i++)
            if (json_array_append_new(l, json_string(b->s[i])) < 0)
                return -1;
    }
    if (count >= 0 && json_object_set_new(w, "count", json_integer(count)) < 0)
        return -1;
    return 0;
}

/* The entries of inv with fewer than TRAINER_RARE training documents, added to out. */
#define TRAINER_RARE 3
static int rare_of(const struct strset *inv, const size_t *n, struct strset *out)
{
    for (size_t i = 0; n && i < inv->n; i++)
        if (n[i] < TRAINER_RARE && strset_add(out, inv->s[i]) < 0)
            return -1;
    return 0;
}

/* What the labels of a model type are called in messages. */
static const char *kind_name(enum model_type t, int plural)
{
    switch (t) {
    case TYPE_CLASS:
        return plural ? "classes" : "class";
    case TYPE_LABEL:
        return plural ? "labels" : "label";
    case TYPE_CLASSLABEL:
        return plural ? "classes or labels" : "class or label";
    case TYPE_ABSA:
        return plural ? "aspect categories" : "aspect category";
    case TYPE_BASE:
    case TYPE_COUNT:
        break;
    }
    assert(!"a trained type");
    return "labels";
}

static int make_warnings(struct run *r, struct err *err)
{
    char msg[512];
    struct strset rare = {0};
    int rc = -1;
    size_t nu = r->u_classes.n + r->u_labels.n + r->u_cats.n;

    if (nu > 0) {
        snprintf(msg, sizeof msg,
                 "%zu %s occur%s only in the test set: the model cannot predict %s, so each of "
                 "the %zu test documents with %s counts as a miss; label training documents "
                 "with %s to learn %s",
                 nu, kind_name(r->type, nu != 1), nu == 1 ? "s" : "", nu == 1 ? "it" : "them", r->u_docs,
                 nu == 1 ? "it" : "them", nu == 1 ? "it" : "them", nu == 1 ? "it" : "them");
        if (warn(r, "labels_only_in_test", msg, &r->u_classes,
                 r->type == TYPE_ABSA ? &r->u_cats : &r->u_labels, (long long)r->u_docs) < 0)
            goto oom;
    }
    if (rare_of(&r->classes, r->classes_n, &rare) < 0 ||
        rare_of(&r->labels, r->labels_n, &rare) < 0 || rare_of(&r->cats, r->cats_n, &rare) < 0)
        goto oom;
    strset_finish(&rare);
    if (rare.n > 0) {
        snprintf(msg, sizeof msg,
                 "%zu %s %s fewer than %d training documents: the model learns little about "
                 "%s and its score on %s is uncertain; label more training documents",
                 rare.n, kind_name(r->type, rare.n != 1), rare.n == 1 ? "has" : "have", TRAINER_RARE, rare.n == 1 ? "it" : "them",
                 rare.n == 1 ? "it" : "them");
        if (warn(r, "labels_rare_in_train", msg, &rare, NULL, (long long)rare.n) < 0)
            goto oom;
    }
    if (r->dups > 0) {
        snprintf(msg, sizeof msg,
                 "%zu test document%s also occur%s in the training set (same text) and %s left "
                 "out of the test set, so that the score is not inflated by documents the model "
                 "has seen",
                 r->dups, r->dups == 1 ? "" : "s", r->dups == 1 ? "s" : "",
                 r->dups == 1 ? "was" : "were");
        if (warn(r, "test_duplicates_dropped", msg, NULL, NULL, (long long)r->dups) < 0)
            goto oom;
    }
    if (r->n_te * 10 < r->n_tr) {
        snprintf(msg, sizeof msg,
                 "the test set has %zu document%s, fewer than 10 %% of the %zu training "
                 "documents: the score is uncertain; add test documents",
                 r->n_te, r->n_te == 1 ? "" : "s", r->n_tr);
        if (warn(r, "test_set_small", msg, NULL, NULL, (long long)r->n_te) < 0)
            goto oom;
    }
    rc = 0;
    goto out;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
out:
    free(rare.s);
    return rc;
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
    json_t *metrics = NULL, *absa = NULL, *conf = NULL;
    int rc = -1;
    double t0 = now_s();

    metrics_init(&m);
    if (!job || !out) {
        err_set(err, ERR_INVALID, "no training job");
        return -1;
    }
    if (job->type == TYPE_BASE || (unsigned)job->type >= TYPE_COUNT) {
        err_set(err, ERR_INVALID, "unknown model type");
        return -1;
    }
    if ((unsigned)job->language >= LANG_COUNT || !job->artifact_path) {
        err_set(err, ERR_INVALID, "training job lacks a language or artifact path");
        return -1;
    }
    r.type = job->type;
    r.lang = domain_language_name(job->language);
    if (sodium_init() < 0) {
        err_set(err, ERR_INTERNAL, "libsodium initialization failed");
        return -1;
    }
    learn_global_init();
    r.n = job->n_docs;
    feat_config_default(&r.fcfg);
    r.selected = json_array();
    r.warnings = json_array();
    if (!r.selected || !r.warnings)
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
    r.n_folds = r.n_tr < N_FOLDS ? (int)r.n_tr : r.n_tr >= N_FOLDS_LARGE_AT ? 2 : N_FOLDS;
    assert(r.n_folds >= 1 && (size_t)r.n_folds <= r.n_tr); /* no fold is empty */
    if (split_folds(job->docs, r.tr, r.n_tr, r.type, job->seed, r.n_folds, r.fold, err) < 0)
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
    if (evaluate(&r, &m, &absa, &conf, err) < 0 || make_warnings(&r, err) < 0)
        goto out;
    static const char *const units[TYPE_COUNT] = {[TYPE_CLASS] = "class",
                                                  [TYPE_LABEL] = "label",
                                                  [TYPE_CLASSLABEL] = "class+label",
                                                  [TYPE_ABSA] = "aspect_category_polarity"};
    metrics = metrics_to_json(&m, units[r.type], err);
    if (!metrics)
        goto out;
    double f1;
    metrics_micro(&m, NULL, NULL, &f1);
    json_t *first = json_array_get(r.selected, r.type == TYPE_CLASSLABEL ? 1 : 0);
    json_t *sel = json_deep_copy(first);
    if (!sel || json_object_set_new(sel, "heads", json_deep_copy(r.selected)) < 0) {
        json_decref(sel);
        goto oom;
    }
    if (json_object_set_new(metrics, "selected", sel) < 0 ||
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
    if (json_object_set_new(metrics, "confusion", conf) < 0) {
        conf = NULL;
        goto oom;
    }
    conf = NULL;
    r.art->vocab = r.vocab;
    memset(&r.vocab, 0, sizeof r.vocab);
    r.art->meta = util_json_dumps(r.selected, JSON_COMPACT);
    if (!r.art->meta)
        goto oom;
    phase(&r, 97, 99);
    {
        /* top features per label, named from the training texts (explain_) */
        const char **texts = malloc(r.n_tr * sizeof *texts);
        if (!texts)
            goto oom;
        for (size_t j = 0; j < r.n_tr; j++)
            texts[j] = job->docs[r.tr[j]].text;
        double te0 = now_s();
        r.art->explain =
            explain_top_features(r.art, r.lang, texts, r.n_tr, job->cancel, err);
        free(texts);
        if (!r.art->explain)
            goto out;
        if (json_object_set_new(metrics, "explain_seconds", json_real(now_s() - te0)) < 0)
            goto oom;
    }
    phase(&r, 99, 100);
    if (canceled(&r, err) || artifact_write(r.art, job->artifact_path, err) < 0)
        goto out;
    if (json_object_set_new(metrics, "training_seconds", json_real(now_s() - t0)) < 0) {
        remove(job->artifact_path); /* a failed run leaves no artifact behind */
        goto oom;
    }
    report(&r, 100.0);
    out->score = f1;
    out->metrics = metrics;
    metrics = NULL;
    out->warnings = r.warnings;
    r.warnings = NULL;
    rc = 0;
    goto out;
oom:
    err_set(err, ERR_NOMEM, "out of memory");
out:
    json_decref(metrics);
    json_decref(absa);
    json_decref(conf);
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
    json_decref(r->warnings);
    r->warnings = NULL;
    r->score = 0.0;
}
