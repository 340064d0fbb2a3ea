/* SPDX-License-Identifier: MIT */
/*
 * Tests of trainer_ (and split_): training of each model type on small
 * hand-written English, German and Arabic data, the metrics contract (micro-F1
 * recomputed from the per-label counts equals the score exactly), split
 * determinism and stratification, duplicate removal, ERR_DATA cases, cancel,
 * progress, and the predictor's output shape (also from two threads at once).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifact.h"
#include "pcache.h"
#include "split.h"
#include "trainer.h"

Suite *trainer_suite(void);

#define MAXD 200

/* Documents and the storage behind their strings. */
struct corpus {
    struct tdoc d[MAXD];
    char text[MAXD][200];
    const char *labels[MAXD][3];
    struct tdoc_aspect asp[MAXD][2];
    size_t n;
};

static const char *const W_EN[3][8] = {
    {"football", "match", "goal", "team", "player", "coach", "league", "stadium"},
    {"pizza", "pasta", "cheese", "dinner", "recipe", "bread", "sauce", "soup"},
    {"computer", "software", "laptop", "code", "program", "internet", "server", "keyboard"}};
static const char *const C_EN[3] = {"sports", "food", "tech"};
static const char *const FILL[5] = {"really", "quite", "very", "rather", "truly"};

static void add_class_docs(struct corpus *c, const char *const w[][8], const char *const *cls,
                           int ncls, int per, int set_test_every)
{
    for (int k = 0; k < ncls; k++)
        for (int i = 0; i < per; i++) {
            size_t j = c->n++;
            snprintf(c->text[j], sizeof c->text[j], "%s %s %s %s %s", w[k][i % 8],
                     w[k][(3 * i + 1) % 8], FILL[i % 5], w[k][(5 * i + 2) % 8],
                     i % 2 ? "today" : "yesterday");
            c->d[j] = (struct tdoc){.text = c->text[j], .cls = cls[k]};
            c->d[j].set = set_test_every ? (i % set_test_every == 0 ? TDOC_TEST : TDOC_TRAIN)
                                         : TDOC_AUTO;
        }
}

static char tmpdir[64];

static void setup(void)
{
    strcpy(tmpdir, "/tmp/check_trainer.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

struct prog {
    double last;
    int calls, monotone;
};

static void on_progress(void *ctx, double pct)
{
    struct prog *p = ctx;
    if (pct < p->last || pct < 0 || pct > 100)
        p->monotone = 0;
    p->last = pct;
    p->calls++;
}

/* Run a job; checks the metrics contract on success. */
static int run(enum model_type type, enum language lang, struct corpus *c, const char *seed,
               struct trainer_result *res, struct err *e, const atomic_int *cancel, char *path)
{
    struct prog pr = {0, 0, 1};
    snprintf(path, 128, "%s/%s.art", tmpdir, domain_type_name(type));
    struct trainer_job job = {.type = type,
                              .language = lang,
                              .seed = seed,
                              .docs = c->d,
                              .n_docs = c->n,
                              .artifact_path = path,
                              .progress = on_progress,
                              .progress_ctx = &pr,
                              .cancel = cancel};
    int rc = trainer_run(&job, res, e);
    if (rc == 0) {
        ck_assert(pr.monotone);
        ck_assert(pr.last == 100.0);
        ck_assert(res->score >= 0.0 && res->score <= 1.0);
        json_t *labels = json_object_get(res->metrics, "labels");
        ck_assert(json_array_size(labels) > 0);
        json_int_t tp = 0, fp = 0, fn = 0;
        size_t i;
        json_t *l;
        json_array_foreach(labels, i, l)
        {
            tp += json_integer_value(json_object_get(l, "tp"));
            fp += json_integer_value(json_object_get(l, "fp"));
            fn += json_integer_value(json_object_get(l, "fn"));
            ck_assert_int_eq(json_integer_value(json_object_get(l, "support")),
                             json_integer_value(json_object_get(l, "tp")) +
                                 json_integer_value(json_object_get(l, "fn")));
        }
        double f1 = 2 * tp + fp + fn ? 2.0 * (double)tp / (double)(2 * tp + fp + fn) : 0.0;
        ck_assert(f1 == res->score);
        ck_assert(json_real_value(json_object_get(json_object_get(res->metrics, "micro"), "f1")) ==
                  res->score);
        ck_assert_ptr_nonnull(json_object_get(res->metrics, "macro"));
        json_t *sel = json_object_get(res->metrics, "selected");
        ck_assert_ptr_nonnull(sel);
        const char *cw = json_string_value(json_object_get(sel, "class_weight"));
        ck_assert(cw && (!strcmp(cw, "none") || !strcmp(cw, "balanced")));
        ck_assert_ptr_nonnull(json_object_get(sel, "base_transfer"));
        ck_assert(json_integer_value(json_object_get(res->metrics, "train_size")) > 0);
        ck_assert(json_integer_value(json_object_get(res->metrics, "test_size")) > 0);
        ck_assert_ptr_nonnull(json_object_get(res->metrics, "duplicates_removed"));
        ck_assert_ptr_nonnull(json_object_get(res->metrics, "training_seconds"));
        ck_assert(access(path, R_OK) == 0);
    }
    return rc;
}

static struct corpus *new_corpus(void)
{
    struct corpus *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    return c;
}

START_TEST(test_class_en_and_predict)
{
    struct corpus *c = new_corpus();
    add_class_docs(c, W_EN, C_EN, 3, 20, 0);
    struct trainer_result res;
    struct err e;
    char path[128];
    ck_assert_int_eq(run(TYPE_CLASS, LANG_EN, c, "seed-1", &res, &e, NULL, path), 0);
    ck_assert(res.score > 0.6);
    ck_assert_str_eq(json_string_value(json_object_get(res.metrics, "unit")), "class");
    ck_assert_int_eq(json_integer_value(json_object_get(res.metrics, "test_size")), 12);
    trainer_result_release(&res);
    struct predictor *p = predictor_load(path, &e);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(predictor_type(p), TYPE_CLASS);
    ck_assert_int_eq(predictor_language(p), LANG_EN);
    json_t *o = predictor_predict(p, "the pizza and pasta with cheese sauce", 0, &e);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "class")), "food");
    ck_assert(json_real_value(json_object_get(o, "probability")) > 0.34);
    json_t *cl = json_object_get(o, "classes");
    ck_assert_uint_eq(json_array_size(cl), 3);
    double sum = 0;
    for (size_t i = 0; i < 3; i++)
        sum += json_real_value(json_object_get(json_array_get(cl, i), "probability"));
    ck_assert_double_eq_tol(sum, 1.0, 1e-9);
    /* Predictions one after another reuse one text analyzer (a stemmer and
     * its stem cache made per text once made predict 100 times slower), and
     * a reused analyzer answers exactly what a fresh one did. */
    for (int i = 0; i < 5; i++) {
        json_t *again = predictor_predict(p, "the pizza and pasta with cheese sauce", 0, &e);
        ck_assert_ptr_nonnull(again);
        ck_assert(json_equal(o, again));
        json_decref(again);
        json_decref(predictor_predict(p, "football match goal", i % 2, &e));
    }
    ck_assert_uint_eq(predictor_analyzers_made(p), 1);
    json_decref(o);
    predictor_free(p);
    predictor_free(NULL);
    /* The predictor cache hands out the predictor it loaded, not a new load per get. */
    struct pcache *pc = pcache_new();
    ck_assert_ptr_nonnull(pc);
    const struct predictor *p1 = pcache_get(pc, path, &e), *p2 = pcache_get(pc, path, &e);
    ck_assert_ptr_nonnull(p1);
    ck_assert_ptr_eq(p1, p2);
    pcache_put(pc, p1);
    pcache_put(pc, p2);
    const struct predictor *p3 = pcache_get(pc, path, &e);
    ck_assert_ptr_eq(p1, p3);
    pcache_put(pc, p3);
    pcache_free(pc);
    free(c);
}
END_TEST

START_TEST(test_class_de_binary_explicit_split)
{
    static const char *const W_DE[2][8] = {
        {"Fußball", "Spiel", "Tor", "Mannschaft", "Spieler", "Trainer", "Liga", "Stadion"},
        {"Brötchen", "Käse", "Suppe", "Abendessen", "Rezept", "Brot", "Soße", "Kuchen"}};
    static const char *const C_DE[2] = {"sport", "essen"};
    struct corpus *c = new_corpus();
    add_class_docs(c, W_DE, C_DE, 2, 20, 4);
    struct trainer_result res;
    struct err e;
    char path[128];
    ck_assert_int_eq(run(TYPE_CLASS, LANG_DE, c, "s", &res, &e, NULL, path), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(res.metrics, "test_size")), 10);
    ck_assert(res.score > 0.7);
    trainer_result_release(&res);
    struct predictor *p = predictor_load(path, &e);
    ck_assert_ptr_nonnull(p);
    json_t *o = predictor_predict(p, "Das Spiel im Stadion, ein Tor für die Mannschaft", 0, &e);
    ck_assert_str_eq(json_string_value(json_object_get(o, "class")), "sport");
    json_decref(o);
    predictor_free(p);
    free(c);
}
END_TEST

/* Arabic multi-label: label "sport" and/or "economy"; some documents have none. */
START_TEST(test_label_ar)
{
    static const char *const S[6] = {"كرة", "القدم", "المباراة", "الفريق", "اللاعب", "الهدف"};
    static const char *const E[6] = {"الاقتصاد", "السوق", "الأسعار", "البنك", "التجارة", "المال"};
    static const char *const N[6] = {"الطقس", "اليوم", "جميل", "السماء", "صافية", "المساء"};
    struct corpus *c = new_corpus();
    for (int i = 0; i < 60; i++) {
        size_t j = c->n++;
        int kind = i % 4; /* 0 sport, 1 economy, 2 both, 3 none */
        const char *const *a = kind == 1 ? E : kind == 3 ? N : S;
        const char *const *b = kind == 0 ? S : kind == 3 ? N : E;
        snprintf(c->text[j], sizeof c->text[j], "%s %s %s %s %d", a[i % 6], a[(i + 2) % 6],
                 b[(i * 5 + 1) % 6], b[(i + 3) % 6], i);
        size_t nl = 0;
        if (kind == 0 || kind == 2)
            c->labels[j][nl++] = "sport";
        if (kind == 1 || kind == 2)
            c->labels[j][nl++] = "economy";
        c->d[j] = (struct tdoc){.text = c->text[j], .labels = c->labels[j], .n_labels = nl};
    }
    struct trainer_result res;
    struct err e;
    char path[128];
    ck_assert_int_eq(run(TYPE_LABEL, LANG_AR, c, "seed-ar", &res, &e, NULL, path), 0);
    ck_assert_str_eq(json_string_value(json_object_get(res.metrics, "unit")), "label");
    ck_assert_uint_eq(json_array_size(json_object_get(res.metrics, "labels")), 2);
    trainer_result_release(&res);
    struct predictor *p = predictor_load(path, &e);
    ck_assert_ptr_nonnull(p);
    json_t *o = predictor_predict(p, "المباراة الفريق الهدف", 0, &e);
    json_t *labels = json_object_get(o, "labels");
    ck_assert(json_is_array(labels));
    for (size_t i = 0; i < json_array_size(labels); i++) {
        ck_assert(json_is_string(json_object_get(json_array_get(labels, i), "label")));
        ck_assert(json_is_number(json_object_get(json_array_get(labels, i), "probability")));
    }
    json_decref(o);
    predictor_free(p);
    free(c);
}
END_TEST

START_TEST(test_classlabel)
{
    struct corpus *c = new_corpus();
    add_class_docs(c, W_EN, C_EN, 3, 15, 0);
    for (size_t j = 0; j < c->n; j++) {
        size_t nl = 0;
        if (strstr(c->text[j], "today"))
            c->labels[j][nl++] = "recent";
        if (j % 3 == 0)
            c->labels[j][nl++] = "flagged";
        c->d[j].labels = c->labels[j];
        c->d[j].n_labels = nl;
    }
    struct trainer_result res;
    struct err e;
    char path[128];
    ck_assert_int_eq(run(TYPE_CLASSLABEL, LANG_EN, c, "cl", &res, &e, NULL, path), 0);
    json_t *labels = json_object_get(res.metrics, "labels");
    ck_assert_uint_eq(json_array_size(labels), 5);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(labels, 0), "head")), "class");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(labels, 4), "head")), "label");
    trainer_result_release(&res);
    struct predictor *p = predictor_load(path, &e);
    ck_assert_ptr_nonnull(p);
    json_t *o = predictor_predict(p, "football goal today", 0, &e);
    ck_assert(json_is_string(json_object_get(o, "class")));
    ck_assert(json_is_array(json_object_get(o, "classes")));
    ck_assert(json_is_array(json_object_get(o, "labels")));
    json_decref(o);
    predictor_free(p);
    free(c);
}
END_TEST

static struct corpus *absa_corpus(void)
{
    static const char *const FOOD[4] = {"pizza", "pasta", "steak", "salad"};
    static const char *const STAFF[4] = {"waiter", "staff", "service", "waitress"};
    static const char *const POS[4] = {"great", "excellent", "wonderful", "good"};
    static const char *const NEG[4] = {"terrible", "awful", "bad", "horrible"};
    struct corpus *c = new_corpus();
    for (int i = 0; i < 80; i++) {
        size_t j = c->n++;
        int kind = i % 5;
        size_t na = 0;
        switch (kind) {
        case 0:
        case 1:
            snprintf(c->text[j], sizeof c->text[j], "The %s was %s number %d.", FOOD[i % 4],
                     kind ? NEG[i % 4] : POS[i % 4], i);
            c->asp[j][na++] = (struct tdoc_aspect){"FOOD#QUALITY", kind ? "negative" : "positive"};
            break;
        case 2:
        case 3:
            snprintf(c->text[j], sizeof c->text[j], "Our %s was %s, visit %d.", STAFF[i % 4],
                     kind == 3 ? NEG[i % 4] : POS[i % 4], i);
            c->asp[j][na++] =
                (struct tdoc_aspect){"SERVICE#GENERAL", kind == 3 ? "negative" : "positive"};
            break;
        default:
            if (i % 2) {
                snprintf(c->text[j], sizeof c->text[j], "The %s was %s but the %s was %s (%d).",
                         FOOD[i % 4], POS[i % 4], STAFF[i % 4], NEG[i % 4], i);
                c->asp[j][na++] = (struct tdoc_aspect){"FOOD#QUALITY", "positive"};
                c->asp[j][na++] = (struct tdoc_aspect){"SERVICE#GENERAL", "negative"};
            } else {
                snprintf(c->text[j], sizeof c->text[j], "We arrived at %d o'clock.", i);
            }
        }
        c->d[j] = (struct tdoc){.text = c->text[j], .aspects = c->asp[j], .n_aspects = na};
    }
    return c;
}

struct pred_thread {
    const struct predictor *p;
    int ok;
};

static void *predict_many(void *arg)
{
    struct pred_thread *t = arg;
    struct err e;
    t->ok = 1;
    for (int i = 0; i < 20; i++) {
        json_t *o = predictor_predict(t->p, "The pizza was great but the waiter was awful.", 0, &e);
        if (!o || !json_is_array(json_object_get(o, "aspects")))
            t->ok = 0;
        json_decref(o);
    }
    return NULL;
}

START_TEST(test_absa_and_threads)
{
    struct corpus *c = absa_corpus();
    struct trainer_result res;
    struct err e;
    char path[128];
    ck_assert_int_eq(run(TYPE_ABSA, LANG_EN, c, "absa", &res, &e, NULL, path), 0);
    json_t *absa = json_object_get(res.metrics, "absa");
    ck_assert_ptr_nonnull(absa);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(absa, "category"), "f1"));
    ck_assert_ptr_nonnull(json_object_get(absa, "polarity_accuracy"));
    ck_assert_ptr_nonnull(json_object_get(absa, "polarity_evaluated"));
    ck_assert(res.score > 0.5);
    trainer_result_release(&res);
    struct predictor *p = predictor_load(path, &e);
    ck_assert_ptr_nonnull(p);
    json_t *o = predictor_predict(p, "The steak was excellent.", 0, &e);
    json_t *asp = json_object_get(o, "aspects");
    ck_assert(json_array_size(asp) >= 1);
    json_t *a0 = json_array_get(asp, 0);
    ck_assert_str_eq(json_string_value(json_object_get(a0, "category")), "FOOD#QUALITY");
    ck_assert_str_eq(json_string_value(json_object_get(a0, "polarity")), "positive");
    ck_assert(json_is_number(json_object_get(a0, "confidence")));
    ck_assert(json_is_number(json_object_get(a0, "polarity_confidence")));
    json_decref(o);
    struct pred_thread t[2] = {{p, 0}, {p, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, predict_many, &t[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        ck_assert(t[i].ok);
    }
    predictor_free(p);
    free(c);
}
END_TEST

/* An artifact whose polarity head has more outputs than there are polarities
 * (it passes the checksum: anyone can write one) is rejected as corrupt rather
 * than overrunning the prediction buffer. */
START_TEST(test_polarity_head_too_wide)
{
    struct corpus *c = absa_corpus();
    struct trainer_result res;
    struct err e;
    char path[128];
    struct artifact *a;
    struct artifact_head *h = NULL;
    uint32_t rows, n;
    float *w, *bias;
    char **labels;

    ck_assert_int_eq(run(TYPE_ABSA, LANG_EN, c, "absa-wide", &res, &e, NULL, path), 0);
    trainer_result_release(&res);
    a = artifact_read(path, &e);
    ck_assert_ptr_nonnull(a);
    for (uint32_t i = 0; i < a->n_heads; i++)
        if (strcmp(a->heads[i].name, "polarity") == 0)
            h = &a->heads[i];
    ck_assert_ptr_nonnull(h);
    n = 5; /* more outputs than the 4 polarities: names repeat */
    rows = h->rows ? h->n_rows : h->n_in;
    w = calloc((size_t)rows * n, sizeof(*w));
    bias = calloc(n, sizeof(*bias));
    labels = calloc(n, sizeof(*labels));
    ck_assert(w && bias && labels);
    for (uint32_t j = 0; j < rows; j++)
        for (uint32_t k = 0; k < n; k++)
            w[(size_t)j * n + k] = h->w[(size_t)j * h->n_w + k % h->n_w];
    for (uint32_t k = 0; k < n; k++) {
        bias[k] = h->bias[k % h->n_w];
        labels[k] = strdup(h->labels[k % h->n_out]);
    }
    for (uint32_t k = 0; k < h->n_out; k++)
        free(h->labels[k]);
    free(h->labels);
    free(h->w);
    free(h->bias);
    h->labels = labels;
    h->w = w;
    h->bias = bias;
    h->n_out = h->n_w = n;
    ck_assert_int_eq(artifact_write(a, path, &e), 0);
    artifact_free(a);
    ck_assert_ptr_null(predictor_load(path, &e));
    ck_assert_int_eq(e.code, ERR_CORRUPT);
    unlink(path);
    free(c);
}
END_TEST

/* An artifact naming a type the trainer never writes (BASE) or a language the
 * domain does not know is refused at load: predictor_type() and
 * predictor_language() then always hold a value of the domain. */
START_TEST(test_predictor_domain_names)
{
    struct corpus *c = new_corpus();
    static const char *const bad[][2] = {{"BASE", "en"}, {"class", "en"}, {"CLASS", "fr"},
                                         {"CLASS", "EN"}};
    struct trainer_result res;
    struct err e;
    char path[128];

    add_class_docs(c, W_EN, C_EN, 3, 20, 0);
    ck_assert_int_eq(run(TYPE_CLASS, LANG_EN, c, "names", &res, &e, NULL, path), 0);
    trainer_result_release(&res);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct artifact *a = artifact_read(path, &e);
        ck_assert_ptr_nonnull(a);
        free(a->type);
        free(a->language);
        a->type = strdup(bad[i][0]);
        a->language = strdup(bad[i][1]);
        ck_assert(a->type && a->language);
        char p2[160];
        snprintf(p2, sizeof p2, "%s.bad", path);
        ck_assert_int_eq(artifact_write(a, p2, &e), 0);
        artifact_free(a);
        e.code = ERR_OK;
        ck_assert_ptr_null(predictor_load(p2, &e));
        ck_assert_int_eq(e.code, ERR_CORRUPT);
        unlink(p2);
    }
    free(c);
}
END_TEST

START_TEST(test_split_determinism)
{
    struct corpus *c = new_corpus();
    add_class_docs(c, W_EN, C_EN, 3, 40, 0);
    unsigned char a[MAXD], b[MAXD], d[MAXD];
    ck_assert_int_eq(split_assign(c->d, c->n, TYPE_CLASS, "uuid-1", a, NULL), 0);
    ck_assert_int_eq(split_assign(c->d, c->n, TYPE_CLASS, "uuid-1", b, NULL), 0);
    ck_assert_int_eq(split_assign(c->d, c->n, TYPE_CLASS, "uuid-2", d, NULL), 0);
    ck_assert_int_eq(memcmp(a, b, c->n), 0);
    ck_assert_int_ne(memcmp(a, d, c->n), 0);
    /* stratified: 8 of 40 per class in test */
    for (int k = 0; k < 3; k++) {
        int t = 0;
        for (size_t j = 0; j < c->n; j++)
            t += a[j] == SPLIT_TEST && !strcmp(c->d[j].cls, C_EN[k]);
        ck_assert_int_eq(t, 8);
    }
    /* order of the documents does not matter */
    struct tdoc *rev = malloc(c->n * sizeof *rev);
    for (size_t j = 0; j < c->n; j++)
        rev[j] = c->d[c->n - 1 - j];
    ck_assert_int_eq(split_assign(rev, c->n, TYPE_CLASS, "uuid-1", d, NULL), 0);
    for (size_t j = 0; j < c->n; j++)
        ck_assert_int_eq(d[j], a[c->n - 1 - j]);
    /* explicit sets are kept */
    c->d[0].set = TDOC_TEST;
    c->d[1].set = TDOC_TRAIN;
    ck_assert_int_eq(split_assign(c->d, c->n, TYPE_CLASS, "uuid-1", a, NULL), 0);
    ck_assert_int_eq(a[0], SPLIT_TEST);
    ck_assert_int_eq(a[1], SPLIT_TRAIN);
    /* folds: balanced, every value used */
    size_t idx[MAXD];
    int fold[MAXD], cnt[3] = {0};
    for (size_t j = 0; j < c->n; j++)
        idx[j] = j;
    ck_assert_int_eq(split_folds(c->d, idx, c->n, TYPE_CLASS, "x", 3, fold, NULL), 0);
    for (size_t j = 0; j < c->n; j++)
        cnt[fold[j]]++;
    ck_assert_int_eq(cnt[0], 40);
    ck_assert_int_eq(cnt[1], 40);
    ck_assert_int_eq(cnt[2], 40);
    free(rev);
    free(c);
}
END_TEST

START_TEST(test_duplicates_removed)
{
    struct corpus *c = new_corpus();
    add_class_docs(c, W_EN, C_EN, 3, 20, 5);
    /* make two test documents copies of training documents */
    strcpy(c->text[0], c->text[1]);
    strcpy(c->text[20], c->text[21]);
    ck_assert_int_eq(c->d[0].set, TDOC_TEST);
    ck_assert_int_eq(c->d[1].set, TDOC_TRAIN);
    struct trainer_result res;
    struct err e;
    char path[128];
    ck_assert_int_eq(run(TYPE_CLASS, LANG_EN, c, "d", &res, &e, NULL, path), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(res.metrics, "duplicates_removed")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(res.metrics, "test_size")), 10);
    trainer_result_release(&res);
    free(c);
}
END_TEST

START_TEST(test_err_data)
{
    struct corpus *c = new_corpus();
    struct trainer_result res;
    struct err e;
    char path[128];
    /* zero documents */
    ck_assert_int_eq(run(TYPE_CLASS, LANG_EN, c, "x", &res, &e, NULL, path), -1);
    ck_assert_int_eq(e.code, ERR_DATA);
    /* one class only */
    add_class_docs(c, W_EN, C_EN, 1, 20, 0);
    ck_assert_int_eq(run(TYPE_CLASS, LANG_EN, c, "x", &res, &e, NULL, path), -1);
    ck_assert_int_eq(e.code, ERR_DATA);
    ck_assert(strstr(e.msg, "2") != NULL);
    ck_assert(strstr(e.msg, "nothing to learn") != NULL);
    /* a class only in the test set trains and is scored as a miss */
    add_class_docs(c, W_EN, C_EN + 1, 1, 20, 0);
    c->n++;
    strcpy(c->text[c->n - 1], "a lonely laptop");
    c->d[c->n - 1] = (struct tdoc){.text = c->text[c->n - 1], .cls = "tech", .set = TDOC_TEST};
    ck_assert_int_eq(run(TYPE_CLASS, LANG_EN, c, "x", &res, &e, NULL, path), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(res.warnings, 0), "code")),
                     "labels_only_in_test");
    trainer_result_release(&res);
    /* empty test set */
    for (size_t j = 0; j < c->n; j++)
        c->d[j].set = TDOC_TRAIN;
    ck_assert_int_eq(run(TYPE_CLASS, LANG_EN, c, "x", &res, &e, NULL, path), -1);
    ck_assert_int_eq(e.code, ERR_DATA);
    /* empty training set */
    for (size_t j = 0; j < c->n; j++)
        c->d[j].set = TDOC_TEST;
    ck_assert_int_eq(run(TYPE_CLASS, LANG_EN, c, "x", &res, &e, NULL, path), -1);
    ck_assert_int_eq(e.code, ERR_DATA);
    /* missing class */
    c->d[0].set = TDOC_AUTO;
    c->d[0].cls = NULL;
    ck_assert_int_eq(run(TYPE_CLASS, LANG_EN, c, "x", &res, &e, NULL, path), -1);
    ck_assert_int_eq(e.code, ERR_DATA);
    free(c);
    /* bad polarity */
    c = absa_corpus();
    c->asp[0][0].polarity = "great";
    ck_assert_int_eq(run(TYPE_ABSA, LANG_EN, c, "x", &res, &e, NULL, path), -1);
    ck_assert_int_eq(e.code, ERR_DATA);
    /* a type or language the trainer cannot train is the caller's error */
    ck_assert_int_eq(run(TYPE_BASE, LANG_EN, c, "x", &res, &e, NULL, path), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(run(TYPE_COUNT, LANG_EN, c, "x", &res, &e, NULL, path), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(run(TYPE_ABSA, LANG_COUNT, c, "x", &res, &e, NULL, path), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    free(c);
}
END_TEST

START_TEST(test_cancel)
{
    struct corpus *c = new_corpus();
    add_class_docs(c, W_EN, C_EN, 3, 20, 0);
    atomic_int cancel;
    atomic_init(&cancel, 1);
    struct trainer_result res;
    struct err e;
    char path[128];
    ck_assert_int_eq(run(TYPE_CLASS, LANG_EN, c, "x", &res, &e, &cancel, path), -1);
    ck_assert_int_eq(e.code, ERR_CANCELED);
    ck_assert(access(path, F_OK) != 0);
    free(c);
}
END_TEST

START_TEST(test_predictor_corrupt)
{
    struct err e;
    char path[128];
    snprintf(path, sizeof path, "%s/garbage.art", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("this is not a model", f);
    fclose(f);
    ck_assert_ptr_null(predictor_load(path, &e));
    ck_assert_int_eq(e.code, ERR_CORRUPT);
    snprintf(path, sizeof path, "%s/missing.art", tmpdir);
    ck_assert_ptr_null(predictor_load(path, &e));
    ck_assert_int_eq(e.code, ERR_IO);
}
END_TEST

/* Run a job with a base model and a base mode; *path gets the artifact. */
static int run_base(const char *base, enum trainer_base_mode mode, struct corpus *c,
                    struct trainer_result *res, struct err *e, char *path, const char *name)
{
    snprintf(path, 128, "%s/%s.art", tmpdir, name);
    struct trainer_job job = {.type = TYPE_CLASS,
                              .language = LANG_EN,
                              .seed = "small",
                              .docs = c->d,
                              .n_docs = c->n,
                              .base_artifact = base,
                              .artifact_path = path};
    return trainer_run_mode(&job, mode, res, e);
}

static const char *head_transfer(const struct trainer_result *res)
{
    return json_string_value(
        json_object_get(json_object_get(res->metrics, "selected"), "base_transfer"));
}

/*
 * Base models: a base trained on the full word lists; small models trained
 * on a few documents that use only half of the words (so the two
 * vocabularies differ). Stacked transfer must map the base by hashed feature,
 * keep the base's features, give valid predictions (also on words only the
 * base has seen) and round-trip through the artifact; the other modes run.
 */
START_TEST(test_base_transfer)
{
    static const char *const W_HALF[3][8] = {
        {"football", "match", "goal", "team", "football", "match", "goal", "team"},
        {"pizza", "pasta", "cheese", "dinner", "pizza", "pasta", "cheese", "dinner"},
        {"computer", "software", "laptop", "code", "computer", "software", "laptop", "code"}};
    struct corpus *big = new_corpus(), *small = new_corpus();
    struct trainer_result res;
    struct err e;
    char base[128], path[128];

    add_class_docs(big, W_EN, C_EN, 3, 20, 0);
    ck_assert_int_eq(run(TYPE_CLASS, LANG_EN, big, "base", &res, &e, NULL, base), 0);
    trainer_result_release(&res);
    add_class_docs(small, W_HALF, C_EN, 3, 5, 5); /* 4 train + 1 test per class */

    /* no base, and a base that is ignored: no transfer */
    ck_assert_int_eq(run_base(NULL, TRAINER_BASE_AUTO, small, &res, &e, path, "plain"), 0);
    ck_assert_str_eq(head_transfer(&res), "none");
    json_int_t plain_features = json_integer_value(json_object_get(res.metrics, "features"));
    trainer_result_release(&res);
    ck_assert_int_eq(run_base(base, TRAINER_BASE_IGNORE, small, &res, &e, path, "ignore"), 0);
    ck_assert_str_eq(head_transfer(&res), "none");
    trainer_result_release(&res);

    /* the former warm start */
    ck_assert_int_eq(run_base(base, TRAINER_BASE_WARM, small, &res, &e, path, "warm"), 0);
    ck_assert(json_boolean_value(json_object_get(json_object_get(res.metrics, "selected"),
                                                 "warm_start_from_base")));
    trainer_result_release(&res);

    /* forced stacked transfer */
    ck_assert_int_eq(run_base(base, TRAINER_BASE_STACK, small, &res, &e, path, "stack"), 0);
    ck_assert_str_eq(head_transfer(&res), "stacked");
    /* the base's vocabulary was kept */
    ck_assert(json_integer_value(json_object_get(res.metrics, "features")) > plain_features);
    ck_assert(res.score > 0.6);
    trainer_result_release(&res);
    struct predictor *p = predictor_load(path, &e);
    ck_assert_ptr_nonnull(p);
    /* words the small set never had, known to the base only */
    static const char *const probe[3] = {"the coach in the stadium of the league",
                                         "bread and soup with a recipe",
                                         "the server and the keyboard on the internet"};
    for (int k = 0; k < 3; k++) {
        json_t *o = predictor_predict(p, probe[k], 0, &e);
        ck_assert_ptr_nonnull(o);
        ck_assert_str_eq(json_string_value(json_object_get(o, "class")), C_EN[k]);
        json_t *cl = json_object_get(o, "classes");
        double sum = 0;
        for (size_t i = 0; i < json_array_size(cl); i++) {
            double q = json_real_value(json_object_get(json_array_get(cl, i), "probability"));
            ck_assert(q >= 0.0 && q <= 1.0);
            sum += q;
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-9);
        json_decref(o);
    }
    predictor_free(p);

    /* default: CV decides; either way a valid model with its decision recorded */
    ck_assert_int_eq(run_base(base, TRAINER_BASE_AUTO, small, &res, &e, path, "auto"), 0);
    const char *t = head_transfer(&res);
    ck_assert(!strcmp(t, "stacked") || !strcmp(t, "rejected_by_cv"));
    json_t *sel = json_object_get(res.metrics, "selected");
    ck_assert_ptr_nonnull(json_object_get(sel, "cv_score_with_base"));
    ck_assert_ptr_nonnull(json_object_get(sel, "cv_score_without_base"));
    trainer_result_release(&res);
    p = predictor_load(path, &e);
    ck_assert_ptr_nonnull(p);
    predictor_free(p);

    /* a base of another type / with no shared label: ignored, no transfer */
    ck_assert_int_eq(run_base(base, TRAINER_BASE_STACK, small, &res, &e, path, "stack2"), 0);
    trainer_result_release(&res);
    struct corpus *other = new_corpus();
    static const char *const C_OTHER[3] = {"a", "b", "c"};
    add_class_docs(other, W_HALF, C_OTHER, 3, 5, 5);
    ck_assert_int_eq(run_base(base, TRAINER_BASE_STACK, other, &res, &e, path, "other"), 0);
    ck_assert_str_eq(head_transfer(&res), "none");
    trainer_result_release(&res);
    /* a missing or corrupt base is not an error: training goes on without it */
    snprintf(path, sizeof path, "%s/garbage.art", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("not a model", f);
    fclose(f);
    char out[128];
    ck_assert_int_eq(run_base(path, TRAINER_BASE_AUTO, small, &res, &e, out, "corrupt"), 0);
    ck_assert_str_eq(head_transfer(&res), "none");
    trainer_result_release(&res);
    free(other);
    free(big);
    free(small);
}
END_TEST

/* ABSA with a base: the polarity head maps category indicators by name. */
START_TEST(test_base_transfer_absa)
{
    struct corpus *c = new_corpus();
    static const char *const food[4] = {"pizza", "pasta", "soup", "bread"};
    static const char *const serv[4] = {"waiter", "staff", "service", "waitress"};
    static const char *const good[3] = {"great", "delicious", "excellent"};
    static const char *const bad[3] = {"awful", "terrible", "rude"};
    for (int i = 0; i < 60; i++) {
        size_t j = c->n++;
        int cat = i % 2, w = (i / 2) % 4, pos = (i / 8) % 2; /* every word with both polarities */
        snprintf(c->text[j], sizeof c->text[j], "the %s was %s %s", cat ? serv[w] : food[w],
                 pos ? good[(i / 2) % 3] : bad[(i / 2) % 3], FILL[i % 5]);
        c->asp[j][0] = (struct tdoc_aspect){cat ? "SERVICE#GENERAL" : "FOOD#QUALITY",
                                            pos ? "positive" : "negative"};
        c->d[j] = (struct tdoc){.text = c->text[j], .aspects = c->asp[j], .n_aspects = 1};
    }
    struct trainer_result res;
    struct err e;
    char base[128], path[128];
    ck_assert_int_eq(run(TYPE_ABSA, LANG_EN, c, "b", &res, &e, NULL, base), 0);
    trainer_result_release(&res);
    c->n = 20; /* a small set from the same distribution */
    snprintf(path, sizeof path, "%s/absa-small.art", tmpdir);
    struct trainer_job job = {.type = TYPE_ABSA, .language = LANG_EN, .seed = "s", .docs = c->d,
                              .n_docs = c->n, .base_artifact = base, .artifact_path = path};
    ck_assert_int_eq(trainer_run_mode(&job, TRAINER_BASE_STACK, &res, &e), 0);
    json_t *heads = json_object_get(json_object_get(res.metrics, "selected"), "heads");
    ck_assert_uint_eq(json_array_size(heads), 2);
    for (size_t i = 0; i < 2; i++)
        ck_assert_str_eq(
            json_string_value(json_object_get(json_array_get(heads, i), "base_transfer")),
            "stacked");
    trainer_result_release(&res);
    struct predictor *p = predictor_load(path, &e);
    ck_assert_ptr_nonnull(p);
    json_t *o = predictor_predict(p, "the waiter was terrible", 0, &e);
    json_t *a = json_object_get(o, "aspects");
    ck_assert_uint_ge(json_array_size(a), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "category")),
                     "SERVICE#GENERAL");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "polarity")),
                     "negative");
    json_decref(o);
    predictor_free(p);
    job.docs = c->d;
    ck_assert_int_eq(trainer_run_mode(&job, TRAINER_BASE_AUTO, &res, &e), 0);
    trainer_result_release(&res);
    free(c);
}
END_TEST

Suite *trainer_suite(void)
{
    Suite *s = suite_create("trainer");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_class_en_and_predict);
    tcase_add_test(tc, test_class_de_binary_explicit_split);
    tcase_add_test(tc, test_label_ar);
    tcase_add_test(tc, test_classlabel);
    tcase_add_test(tc, test_absa_and_threads);
    tcase_add_test(tc, test_polarity_head_too_wide);
    tcase_add_test(tc, test_predictor_domain_names);
    tcase_add_test(tc, test_split_determinism);
    tcase_add_test(tc, test_duplicates_removed);
    tcase_add_test(tc, test_err_data);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_predictor_corrupt);
    tcase_add_test(tc, test_base_transfer);
    tcase_add_test(tc, test_base_transfer_absa);
    suite_add_tcase(s, tc);
    return s;
}
