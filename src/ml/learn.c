/* SPDX-License-Identifier: MIT */
/*
 * learn: one-vs-rest logistic regression, cross-validation and warm starts on
 * LIBLINEAR (contract in include/learn.h).
 *
 * Parallelism: a call splits its work into tasks (one binary fit each, or one
 * (fold, output) pair of a grid level) and runs them on the calling thread
 * plus helper threads that pull task numbers from an atomic counter. Each task
 * writes only its own slice of the outputs, so no locks are needed and the
 * result does not depend on scheduling.
 */
#include "learn.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "banned.h" /* last: bans unsafe libc calls */

/* Warm starts keep one weight vector per (fold, output); beyond this many
 * doubles the grid is run with cold starts instead. */
#define WARM_MAX_DOUBLES ((size_t)48 << 20)

/* Solver tolerance of every fit. A looser one for the fits of cross-validation
 * (0.1) was measured: it saved a quarter of the CV time and moved semeval's
 * chosen C from 32 to 256 and its score from 0.5587 to 0.5357 (docs/ML.md). */
#define LEARN_EPS 0.01

static void print_nothing(const char *s)
{
    (void)s;
}

static pthread_once_t print_once = PTHREAD_ONCE_INIT;

static void set_printer(void)
{
    set_print_string_function(print_nothing);
}

void learn_global_init(void)
{
    pthread_once(&print_once, set_printer);
}

double learn_dot(const double *w, const struct feature_node *x)
{
    double s = 0.0;
    for (; x->index != -1; x++)
        s += w[x->index - 1] * x->value;
    return s;
}

/* ---- a tiny task pool ---- */

struct pool {
    int (*run)(void *arg, size_t task);
    void *arg;
    size_t n_tasks;
    atomic_size_t next;
    atomic_size_t done;
    atomic_int failed; /* 1 = out of memory, 2 = canceled */
    const atomic_int *cancel;
};

static int pool_step(struct pool *p)
{
    if (atomic_load(&p->failed))
        return 0;
    if (p->cancel && atomic_load(p->cancel)) {
        atomic_store(&p->failed, 2);
        return 0;
    }
    size_t t = atomic_fetch_add(&p->next, 1);
    if (t >= p->n_tasks)
        return 0;
    if (p->run(p->arg, t) < 0) {
        atomic_store(&p->failed, 1);
        return 0;
    }
    atomic_fetch_add(&p->done, 1);
    return 1;
}

static void *pool_thread(void *arg)
{
    struct pool *p = arg;
    while (pool_step(p))
        ;
    return NULL;
}

static int pool_run(struct pool *p, const struct learn_opts *o, size_t tick_base,
                    size_t tick_total, struct err *err)
{
    pthread_t th[8];
    int nt = o->n_threads < 1 ? 1 : o->n_threads > 8 ? 8 : o->n_threads;
    int started = 0;

    atomic_init(&p->next, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->failed, 0);
    p->cancel = o->cancel;
    for (int i = 1; i < nt && (size_t)i < p->n_tasks; i++) {
        if (pthread_create(&th[started], NULL, pool_thread, p) != 0)
            break; /* fewer helpers is still correct */
        started++;
    }
    while (pool_step(p))
        if (o->tick)
            o->tick(o->ctx, tick_base + atomic_load(&p->done), tick_total);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    int f = atomic_load(&p->failed);
    if (f == 2 || (o->cancel && atomic_load(o->cancel))) {
        err_set(err, ERR_CANCELED, "training was canceled");
        return -1;
    }
    if (f) {
        err_set(err, ERR_NOMEM, "out of memory while training");
        return -1;
    }
    if (o->tick)
        o->tick(o->ctx, tick_base + p->n_tasks, tick_total);
    return 0;
}

/* ---- one binary fit ---- */

/*
 * Train a binary L2R_LR model on the rows x[0..l) with labels y (+1/-1) and
 * write its weights to w (n_feat doubles). init may be NULL. balanced: the
 * loss of each class is weighted by l / (2 × its count).
 */
static int fit_binary(struct feature_node **x, double *y, int l, int n_feat, double C,
                      const double *init, int balanced, double eps, double *w)
{
    int pos = 0;
    for (int i = 0; i < l; i++)
        pos += y[i] > 0;
    if (pos == 0 || pos == l) {
        memset(w, 0, (size_t)n_feat * sizeof *w);
        w[n_feat - 1] = pos ? LEARN_CONST_BIAS : -LEARN_CONST_BIAS;
        return 0;
    }
    struct problem prob = {.l = l, .n = n_feat, .y = y, .x = x, .bias = 1.0};
    struct parameter param = {.solver_type = L2R_LR, .eps = eps, .C = C};
    int wl[2] = {1, -1};
    double wv[2] = {(double)l / (2.0 * pos), (double)l / (2.0 * (l - pos))};
    if (balanced) {
        param.nr_weight = 2;
        param.weight_label = wl;
        param.weight = wv;
    }
    /* Without a warm start, start from w = 0 with the bias at the prior
     * log-odds instead of at 0: the solver's stopping rule is relative to the
     * gradient at w = 0, which for a rare output is almost all bias, so it
     * stops after far fewer iterations at the same tolerance (docs/ML.md). */
    double *prior = NULL;
    if (!init) {
        prior = calloc((size_t)n_feat, sizeof *prior);
        if (!prior)
            return -1;
        prior[n_feat - 1] = log((double)pos / (double)(l - pos));
        init = prior;
    }
    /* LIBLINEAR only reads init_sol; its field is not const-qualified */
    param.init_sol = (double *)(uintptr_t)init;
    struct model *m = train(&prob, &param);
    free(prior);
    if (!m)
        return -1;
    /* LIBLINEAR's first label is the positive class; with +1/-1 labels it puts
     * +1 first, but guard against any other order. */
    double sign = m->label[0] == 1 ? 1.0 : -1.0;
    for (int j = 0; j < n_feat; j++)
        w[j] = sign * m->w[j];
    free_and_destroy_model(&m);
    return 0;
}

/* ---- learn_fit ---- */

struct fit_ctx {
    const struct learn_data *d;
    const unsigned char *Y;
    size_t K;
    double C;
    const double *init;
    double *W;
    int balanced;
};

static int fit_task(void *arg, size_t k)
{
    struct fit_ctx *c = arg;
    const struct learn_data *d = c->d;
    double *y = malloc((d->n ? d->n : 1) * sizeof *y);
    if (!y)
        return -1;
    for (size_t i = 0; i < d->n; i++)
        y[i] = c->Y[i * c->K + k] ? 1.0 : -1.0;
    size_t nf = (size_t)d->n_feat;
    int rc = fit_binary(d->x, y, (int)d->n, d->n_feat, c->C, c->init ? c->init + k * nf : NULL,
                        c->balanced, LEARN_EPS, c->W + k * nf);
    free(y);
    return rc;
}

int learn_fit(const struct learn_data *d, const unsigned char *Y, size_t K, double C,
              const double *init, double *W, const struct learn_opts *o, struct err *err)
{
    struct fit_ctx c = {d, Y, K, C, init, W, o->balanced};
    struct pool p = {.run = fit_task, .arg = &c, .n_tasks = K};

    assert(d->n_feat >= 1 && d->n <= INT_MAX && o->n_threads >= 1);
    assert(C > 0.0);
    learn_global_init();
    return pool_run(&p, o, 0, K, err);
}

/* ---- learn_cv ---- */

struct cv_ctx {
    const struct learn_data *d;
    const unsigned char *Y;
    size_t K;
    const int *fold;
    int n_folds;
    struct feature_node ***fx; /* per fold: training rows */
    size_t *fl;                /* per fold: number of training rows */
    double C;
    double *chain; /* n_folds × K × n_feat warm-start weights, or NULL */
    int warm;      /* chain holds a previous level's solution */
    double *dec;   /* n × K out-of-fold decision values */
    int balanced;
};

static int cv_task(void *arg, size_t t)
{
    struct cv_ctx *c = arg;
    const struct learn_data *d = c->d;
    int f = (int)(t / c->K);
    size_t k = t % c->K, nf = (size_t)d->n_feat;
    double *y = malloc((c->fl[f] ? c->fl[f] : 1) * sizeof *y);
    double *w = c->chain ? c->chain + ((size_t)f * c->K + k) * nf : malloc(nf * sizeof *w);
    int rc = -1;

    if (!y || !w)
        goto out;
    size_t j = 0;
    for (size_t i = 0; i < d->n; i++)
        if (c->fold[i] != f)
            y[j++] = c->Y[i * c->K + k] ? 1.0 : -1.0;
    if (fit_binary(c->fx[f], y, (int)c->fl[f], d->n_feat, c->C, c->chain && c->warm ? w : NULL,
                   c->balanced, LEARN_EPS, w) < 0)
        goto out;
    for (size_t i = 0; i < d->n; i++)
        if (c->fold[i] == f)
            c->dec[i * c->K + k] = learn_dot(w, d->x[i]);
    rc = 0;
out:
    free(y);
    if (!c->chain)
        free(w);
    return rc;
}

int learn_cv(const struct learn_data *d, const unsigned char *Y, size_t K, const int *fold,
             int n_folds, const double *Cs, size_t nC, size_t patience, learn_score_fn score,
             void *sctx, size_t *best, double *best_dec, size_t *levels_run,
             const struct learn_opts *o, struct err *err)
{
    int rc = -1;
    struct cv_ctx c = {
        .d = d, .Y = Y, .K = K, .fold = fold, .n_folds = n_folds, .balanced = o->balanced};
    size_t nf = (size_t)d->n_feat, ran = 0, best_c = 0;
    double best_s = -1.0;

    assert(d->n_feat >= 1 && d->n <= INT_MAX && o->n_threads >= 1);
    assert(n_folds >= 1 && nC >= 1);
    for (size_t i = 0; i < d->n; i++)
        assert(fold[i] >= 0 && fold[i] < n_folds);
    for (size_t l = 1; l < nC; l++)
        assert(Cs[l - 1] <= Cs[l]); /* ascending: the warm-start chain climbs C */
    learn_global_init();
    c.fx = calloc((size_t)n_folds, sizeof *c.fx);
    c.fl = calloc((size_t)n_folds, sizeof *c.fl);
    c.dec = malloc((d->n * K > 0 ? d->n * K : 1) * sizeof *c.dec);
    if (!c.fx || !c.fl || !c.dec)
        goto oom;
    for (int f = 0; f < n_folds; f++) {
        c.fx[f] = malloc((d->n ? d->n : 1) * sizeof **c.fx);
        if (!c.fx[f])
            goto oom;
        for (size_t i = 0; i < d->n; i++)
            if (fold[i] != f)
                c.fx[f][c.fl[f]++] = d->x[i];
    }
    if ((size_t)n_folds * K * nf <= WARM_MAX_DOUBLES) {
        c.chain = malloc((size_t)n_folds * K * nf * sizeof *c.chain);
        if (!c.chain)
            goto oom;
    }
    size_t bad = 0, tasks = (size_t)n_folds * K;
    for (size_t l = 0; l < nC; l++) {
        c.C = Cs[l];
        struct pool p = {.run = cv_task, .arg = &c, .n_tasks = tasks};
        if (pool_run(&p, o, l * tasks, nC * tasks, err) < 0)
            goto out;
        c.warm = 1;
        ran++;
        double s = score(sctx, l, c.dec);
        /* a larger C must win by more than o->min_gain: a smaller edge is
         * noise, and the more regularized model is also the cheaper fit */
        if (s > best_s + (l > 0 ? o->min_gain : 0.0)) {
            best_s = s;
            best_c = l;
            bad = 0;
            if (best_dec)
                memcpy(best_dec, c.dec, d->n * K * sizeof *c.dec);
        } else if (++bad >= patience) {
            break;
        }
    }
    if (o->tick)
        o->tick(o->ctx, nC * tasks, nC * tasks);
    *best = best_c;
    if (levels_run)
        *levels_run = ran;
    rc = 0;
    goto out;
oom:
    err_set(err, ERR_NOMEM, "out of memory while training");
out:
    if (c.fx)
        for (int f = 0; f < n_folds; f++)
            free(c.fx[f]);
    free(c.fx);
    free(c.fl);
    free(c.dec);
    free(c.chain);
    return rc;
}
