/* SPDX-License-Identifier: MIT */
/*
 * bench_train: trains a model on each public data set through trainer_run()
 * (the real code path: analysis, hashing, model selection, training,
 * evaluation, artifact write) with the official train/test split of the
 * `split` field, and the same split with fastText, and prints a table.
 *
 * Usage: bench_train [DATA_DIR] [--no-fasttext] [--no-base] [--base-only]
 * (DATA_DIR default ../shared/data). With BENCH_AUTO_SPLIT=SEED in the
 * environment the official split is replaced by the trainer's own stratified
 * 80/20 split seeded by SEED (robustness checks of method changes).
 * CLASS sets take labels[0] as the class; lines with "aspects" make an ABSA set.
 * fastText gets one "__label__X" per class (CLASS) or per CATEGORY#polarity
 * pair (ABSA, predicted with `predict-prob model test.txt -1 0.5`: every pair
 * with p >= 0.5; per category the most probable polarity is kept), text with
 * all whitespace collapsed to single spaces. Scores: micro-F1 over the same
 * units as the trainer (class / (category, polarity) pair).
 *
 * Base-model experiment (after the main table; --no-base skips it, --base-only
 * runs only it): for each data set the official train split is shuffled and halved; a base model is trained on half A, then
 * small models on n = 100, 200, 400 documents drawn from half B (each class /
 * category seen in the test set gets at least one document) with the base
 * ignored, with the former warm start, with forced stacked transfer and with
 * the default (transfer chosen by CV per head), all evaluated on the official
 * test split, BASE_SEEDS draws each. A second base trained on half A with
 * its labels shuffled among the documents (a useless base) checks that the
 * default falls back when transfer does not help. Mean micro-F1 (± standard
 * deviation), mean training seconds and how many heads used the base are
 * printed per variant.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "trainer.h"

struct set {
    char *name;
    int absa;
    size_t n;
    struct tdoc *docs;
    json_t *root; /* keeps the strings alive */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int load_set(const char *path, struct set *s)
{
    json_error_t je;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    s->root = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, &je);
        if (o)
            json_array_append_new(s->root, o);
    }
    free(line);
    fclose(f);
    s->n = json_array_size(s->root);
    s->docs = calloc(s->n ? s->n : 1, sizeof *s->docs);
    for (size_t i = 0; i < s->n; i++) {
        json_t *o = json_array_get(s->root, i);
        struct tdoc *d = &s->docs[i];
        d->text = json_string_value(json_object_get(o, "text"));
        const char *sp = json_string_value(json_object_get(o, "split"));
        d->set = sp && !strcmp(sp, "test") ? TDOC_TEST : TDOC_TRAIN;
        if (getenv("BENCH_AUTO_SPLIT"))
            d->set = TDOC_AUTO; /* robustness checks: the trainer's 80/20 split */
        json_t *asp = json_object_get(o, "aspects");
        if (json_is_array(asp)) {
            s->absa = 1;
            size_t na = json_array_size(asp);
            struct tdoc_aspect *a = calloc(na ? na : 1, sizeof *a);
            for (size_t k = 0; k < na; k++) {
                a[k].category = json_string_value(json_object_get(json_array_get(asp, k), "category"));
                a[k].polarity = json_string_value(json_object_get(json_array_get(asp, k), "polarity"));
            }
            d->aspects = a;
            d->n_aspects = na;
        } else {
            d->cls = json_string_value(json_array_get(json_object_get(o, "labels"), 0));
        }
    }
    return 0;
}

static void free_set(struct set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free((void *)s->docs[i].aspects);
    free(s->docs);
    json_decref(s->root);
    free(s->name);
}

static void write_ft_line(FILE *f, const struct tdoc *d, int absa)
{
    if (absa) {
        for (size_t k = 0; k < d->n_aspects; k++)
            fprintf(f, "__label__%s#%s ", d->aspects[k].category, d->aspects[k].polarity);
    } else {
        fprintf(f, "__label__%s ", d->cls);
    }
    int sp = 0;
    for (const char *p = d->text; *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') {
            sp = 1;
            continue;
        }
        if (sp)
            fputc(' ', f);
        sp = 0;
        fputc(*p, f);
    }
    fputc('\n', f);
}

/* Run fastText with extra options; returns micro-F1 and training seconds. */
static int run_fasttext(const struct set *s, const char *dir, const char *opts, double *f1,
                        double *secs)
{
    char tr[512], te[512], model[512], cmd[2048];
    snprintf(tr, sizeof tr, "%s/train.txt", dir);
    snprintf(te, sizeof te, "%s/test.txt", dir);
    snprintf(model, sizeof model, "%s/model", dir);
    FILE *ft = fopen(tr, "w"), *fe = fopen(te, "w");
    if (!ft || !fe)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        /* the trainer drops test documents whose text is also in train: do the same */
        int dup = 0;
        for (size_t j = 0; s->docs[i].set == TDOC_TEST && j < s->n && !dup; j++)
            dup = s->docs[j].set == TDOC_TRAIN && !strcmp(s->docs[i].text, s->docs[j].text);
        if (!dup)
            write_ft_line(s->docs[i].set == TDOC_TEST ? fe : ft, &s->docs[i], s->absa);
    }
    fclose(ft);
    fclose(fe);
    snprintf(cmd, sizeof cmd, "fasttext supervised -input %s -output %s %s >/dev/null 2>&1", tr,
             model, opts);
    double t0 = now_s();
    if (system(cmd) != 0)
        return -1;
    *secs = now_s() - t0;
    if (s->absa)
        snprintf(cmd, sizeof cmd, "fasttext predict-prob %s.bin %s -1 0.5", model, te);
    else
        snprintf(cmd, sizeof cmd, "fasttext predict %s.bin %s", model, te);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char *line = NULL;
    size_t cap = 0, tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct tdoc *d = &s->docs[i];
        if (d->set != TDOC_TEST)
            continue;
        int dup = 0;
        for (size_t j = 0; j < s->n && !dup; j++)
            dup = s->docs[j].set == TDOC_TRAIN && !strcmp(d->text, s->docs[j].text);
        if (dup)
            continue;
        if (getline(&line, &cap, p) < 0)
            break;
        if (!s->absa) {
            char *lab = line + strlen("__label__");
            lab[strcspn(lab, " \n")] = '\0';
            if (!strcmp(lab, d->cls))
                tp++;
            else
                fp++, fn++;
            continue;
        }
        /* ABSA: pairs "__label__CAT#pol prob", keep the best polarity per category */
        char cats[64][128], pols[64][32];
        size_t nc = 0;
        for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n")) {
            if (strncmp(tok, "__label__", 9) != 0)
                continue;
            char *lab = tok + 9, *hash = strrchr(lab, '#');
            if (!hash)
                continue;
            *hash = '\0';
            size_t k;
            for (k = 0; k < nc; k++)
                if (!strcmp(cats[k], lab))
                    break;
            if (k < nc || nc == 64)
                continue; /* sorted by probability: first polarity wins */
            snprintf(cats[nc], sizeof cats[nc], "%s", lab);
            snprintf(pols[nc], sizeof pols[nc], "%s", hash + 1);
            nc++;
        }
        size_t hit = 0;
        for (size_t k = 0; k < nc; k++) {
            int ok = 0;
            for (size_t g = 0; g < d->n_aspects; g++)
                if (!strcmp(cats[k], d->aspects[g].category) &&
                    !strcmp(pols[k], d->aspects[g].polarity))
                    ok = 1;
            hit += ok;
        }
        tp += hit;
        fp += nc - hit;
        fn += d->n_aspects - hit;
    }
    free(line);
    pclose(p);
    *f1 = 2 * tp + fp + fn ? 2.0 * (double)tp / (double)(2 * tp + fp + fn) : 0.0;
    return 0;
}

/* ---- base-model experiment ---- */

#define BASE_SEEDS 3
static const size_t BASE_SIZES[] = {100, 200, 400};
#define N_BASE_SIZES (sizeof BASE_SIZES / sizeof BASE_SIZES[0])

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void shuffle(size_t *a, size_t n, uint64_t seed)
{
    uint64_t st = seed;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(splitmix(&st) % i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* Labels (class or categories) of a document: up to 64 borrowed names. */
static size_t doc_labels(const struct tdoc *d, const char **out)
{
    if (d->cls) {
        out[0] = d->cls;
        return 1;
    }
    size_t n = 0;
    for (size_t k = 0; k < d->n_aspects && n < 64; k++)
        out[n++] = d->aspects[k].category;
    return n;
}

static int in_list(const char *const *l, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(l[i], s))
            return 1;
    return 0;
}

struct variant {
    const char *name;
    enum trainer_base_mode mode;
    int use_base; /* 0 none, 1 the base, 2 the random-label base */
};

static const struct variant VARIANTS[] = {
    {"no base", TRAINER_BASE_IGNORE, 0},
    {"warm start (former)", TRAINER_BASE_WARM, 1},
    {"stacked, forced", TRAINER_BASE_STACK, 1},
    {"default (CV picks)", TRAINER_BASE_AUTO, 1},
    {"random base, forced", TRAINER_BASE_STACK, 2},
    {"random base, default", TRAINER_BASE_AUTO, 2},
};
#define N_VARIANTS (sizeof VARIANTS / sizeof VARIANTS[0])

/* Count heads whose selected.base_transfer is "stacked". */
static int stacked_heads(const json_t *metrics, int *heads)
{
    json_t *arr = json_object_get(json_object_get(metrics, "selected"), "heads");
    size_t i;
    json_t *h;
    int n = 0;
    json_array_foreach(arr, i, h)
    {
        const char *t = json_string_value(json_object_get(h, "base_transfer"));
        n += t && !strcmp(t, "stacked");
        (*heads)++;
    }
    return n;
}

static void base_experiment(const struct set *s, const char *name, const char *lang,
                            const char *tmp)
{
    size_t ntr = 0, nte = 0;
    size_t *tr = malloc(s->n * sizeof *tr), *te = malloc(s->n * sizeof *te);
    struct tdoc *docs = malloc(s->n * sizeof *docs);
    const char **test_labels = malloc(s->n * 64 * sizeof *test_labels);
    size_t n_test_labels = 0;
    char base_art[1024], rand_art[1024], art[1024];
    struct err e;

    if (!tr || !te || !docs || !test_labels)
        goto out;
    for (size_t i = 0; i < s->n; i++) {
        if (s->docs[i].set == TDOC_TEST) {
            te[nte++] = i;
            const char *l[64];
            size_t nl = doc_labels(&s->docs[i], l);
            for (size_t k = 0; k < nl; k++)
                if (!in_list(test_labels, n_test_labels, l[k]))
                    test_labels[n_test_labels++] = l[k];
        } else {
            tr[ntr++] = i;
        }
    }
    shuffle(tr, ntr, 20240601);
    size_t na = ntr / 2;
    const size_t *half_b = tr + na;
    size_t nb = ntr - na;
    snprintf(base_art, sizeof base_art, "%s/base.art", tmp);
    snprintf(art, sizeof art, "%s/small.art", tmp);
    snprintf(rand_art, sizeof rand_art, "%s/random.art", tmp);
    const char *type = s->absa ? "ABSA" : "CLASS";

    /* the base: half A + the official test */
    size_t m = 0;
    for (size_t j = 0; j < na; j++) {
        docs[m] = s->docs[tr[j]];
        docs[m++].set = TDOC_TRAIN;
    }
    for (size_t j = 0; j < nte; j++) {
        docs[m] = s->docs[te[j]];
        docs[m++].set = TDOC_TEST;
    }
    struct trainer_job job = {.type = type, .language = lang, .seed = "bench-base",
                              .docs = docs, .n_docs = m, .artifact_path = base_art};
    struct trainer_result res = {0};
    double t0 = now_s();
    if (trainer_run(&job, &res, &e) < 0) {
        printf("%s: base training failed: %s\n", name, e.msg);
        goto out;
    }
    printf("\nbase-model experiment: %s (%s), base trained on %zu of %zu training documents: "
           "micro-F1 %.4f, %.2f s; small models from the other %zu, test %zu, %d draws\n",
           name, type, na, ntr, res.score, now_s() - t0, nb, nte, BASE_SEEDS);
    trainer_result_release(&res);
    /* the random-label base: same documents, labels permuted among them */
    {
        size_t *perm = malloc((na ? na : 1) * sizeof *perm);
        if (!perm)
            goto out;
        for (size_t j = 0; j < na; j++)
            perm[j] = j;
        shuffle(perm, na, 777);
        for (size_t j = 0; j < na; j++) {
            const struct tdoc *src = &s->docs[tr[perm[j]]];
            docs[j].cls = src->cls;
            docs[j].aspects = src->aspects;
            docs[j].n_aspects = src->n_aspects;
        }
        free(perm);
        job.artifact_path = rand_art;
        if (trainer_run(&job, &res, &e) < 0) {
            printf("%s: random-label base training failed: %s\n", name, e.msg);
            goto out;
        }
        printf("random-label base: micro-F1 %.4f\n", res.score);
        trainer_result_release(&res);
    }
    printf("%6s  %-22s %16s %8s %s\n", "n", "variant", "micro-F1 (sd)", "train_s",
           "heads stacked");
    for (size_t si = 0; si < N_BASE_SIZES; si++) {
        size_t n = BASE_SIZES[si];
        double sum[N_VARIANTS] = {0}, sq[N_VARIANTS] = {0}, secs[N_VARIANTS] = {0};
        int st[N_VARIANTS] = {0}, heads[N_VARIANTS] = {0}, runs = 0;
        if (n > nb)
            break;
        for (int seed = 1; seed <= BASE_SEEDS; seed++) {
            size_t *pick = malloc(nb * sizeof *pick);
            unsigned char *used = calloc(nb, 1);
            const char **cov = malloc(n_test_labels * sizeof *cov);
            size_t ncov = 0;
            if (!pick || !used || !cov) {
                free(pick);
                free(used);
                free(cov);
                goto out;
            }
            for (size_t j = 0; j < nb; j++)
                pick[j] = j;
            shuffle(pick, nb, (uint64_t)seed * 7919u + n);
            m = 0;
            /* first one document per test label, then fill in shuffled order */
            for (size_t j = 0; j < nb && m < n; j++) {
                const char *l[64];
                size_t nl = doc_labels(&s->docs[half_b[pick[j]]], l), add = 0;
                for (size_t k = 0; k < nl; k++)
                    if (!in_list(cov, ncov, l[k]) && in_list(test_labels, n_test_labels, l[k]))
                        add = 1;
                if (!add)
                    continue;
                for (size_t k = 0; k < nl; k++)
                    if (!in_list(cov, ncov, l[k]))
                        cov[ncov++] = l[k];
                used[j] = 1;
                docs[m] = s->docs[half_b[pick[j]]];
                docs[m++].set = TDOC_TRAIN;
            }
            for (size_t j = 0; j < nb && m < n; j++)
                if (!used[j]) {
                    docs[m] = s->docs[half_b[pick[j]]];
                    docs[m++].set = TDOC_TRAIN;
                }
            for (size_t j = 0; j < nte; j++) {
                docs[m] = s->docs[te[j]];
                docs[m++].set = TDOC_TEST;
            }
            free(pick);
            free(used);
            free(cov);
            runs++;
            for (size_t v = 0; v < N_VARIANTS; v++) {
                struct trainer_job sj = {.type = type, .language = lang, .seed = "bench-small",
                                         .docs = docs, .n_docs = m, .artifact_path = art,
                                         .base_artifact = VARIANTS[v].use_base == 2   ? rand_art
                                                          : VARIANTS[v].use_base ? base_art
                                                                                 : NULL};
                struct trainer_result sr = {0};
                double t1 = now_s();
                if (trainer_run_mode(&sj, VARIANTS[v].mode, &sr, &e) < 0) {
                    printf("%6zu  %-22s failed: %s\n", n, VARIANTS[v].name, e.msg);
                    continue;
                }
                secs[v] += now_s() - t1;
                sum[v] += sr.score;
                sq[v] += sr.score * sr.score;
                st[v] += stacked_heads(sr.metrics, &heads[v]);
                trainer_result_release(&sr);
            }
        }
        for (size_t v = 0; v < N_VARIANTS && runs > 0; v++) {
            double mean = sum[v] / runs, var = sq[v] / runs - mean * mean;
            printf("%6zu  %-22s %9.4f (%.3f) %8.2f %d/%d\n", n, VARIANTS[v].name, mean,
                   var > 0 ? sqrt(var) : 0.0, secs[v] / runs, st[v], heads[v]);
        }
        fflush(stdout);
    }
    unlink(art);
    unlink(base_art);
    unlink(rand_art);
out:
    free(tr);
    free(te);
    free(docs);
    free(test_labels);
}

int main(int argc, char **argv)
{
    const char *dir = "../shared/data";
    int fasttext = 1, base = 1, main_table = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-fasttext"))
            fasttext = 0;
        else if (!strcmp(argv[i], "--no-base"))
            base = 0;
        else if (!strcmp(argv[i], "--base-only"))
            main_table = 0;
        else
            dir = argv[i];
    }
    DIR *dh = opendir(dir);
    if (!dh) {
        printf("bench_train: data directory %s not found, skipping\n", dir);
        return 0;
    }
    char names[16][256];
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(dh)) && nn < 16) {
        size_t l = strlen(de->d_name);
        if (l > 6 && !strcmp(de->d_name + l - 6, ".jsonl"))
            snprintf(names[nn++], sizeof names[0], "%s", de->d_name);
    }
    closedir(dh);
    qsort(names, nn, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    char tmpl[] = "/tmp/bench_train.XXXXXX";
    char *tmp = mkdtemp(tmpl);
    if (!tmp) {
        perror("mkdtemp");
        return 1;
    }
    if (main_table)
        printf("%-34s %-5s %6s %8s %8s %8s %8s\n", "data set / system", "type", "docs",
               "train_s", "docs/s", "micro", "macro");
    for (size_t i = 0; i < nn && main_table; i++) {
        struct set s = {0};
        char path[8192], art[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (load_set(path, &s) < 0 || s.n == 0) {
            printf("%s: cannot read, skipped\n", names[i]);
            free_set(&s);
            continue;
        }
        snprintf(art, sizeof art, "%s/model.art", tmp);
        struct trainer_job job = {.type = s.absa ? "ABSA" : "CLASS",
                                  .language = s.docs[0].text ? "en" : "en",
                                  .seed = getenv("BENCH_AUTO_SPLIT") ? getenv("BENCH_AUTO_SPLIT")
                                                                     : "bench",
                                  .docs = s.docs,
                                  .n_docs = s.n,
                                  .artifact_path = art};
        json_t *lang = json_object_get(json_array_get(s.root, 0), "lang");
        if (json_is_string(lang))
            job.language = json_string_value(lang);
        struct trainer_result res = {0};
        struct err e;
        double t0 = now_s();
        if (trainer_run(&job, &res, &e) < 0) {
            printf("%s: training failed: %s\n", names[i], e.msg);
            free_set(&s);
            continue;
        }
        double secs = now_s() - t0;
        double macro = json_real_value(json_object_get(json_object_get(res.metrics, "macro"), "f1"));
        json_int_t ntr = json_integer_value(json_object_get(res.metrics, "train_size"));
        struct stat st;
        long long asz = stat(art, &st) == 0 ? (long long)st.st_size : -1;
        printf("%-34s %-5s %6zu %8.2f %8.0f %8.4f %8.4f   (artifact %.1f MB, C=%g)\n", names[i],
               job.type, s.n, secs, (double)ntr / secs, res.score, macro, (double)asz / 1e6,
               json_real_value(json_object_get(json_object_get(res.metrics, "selected"), "C")));
        if (getenv("BENCH_METRICS")) {
            char *js = json_dumps(res.metrics, JSON_COMPACT);
            printf("%s\n", js);
            free(js);
        }
        fflush(stdout);
        trainer_result_release(&res);
        unlink(art);
        if (fasttext) {
            static const char *const ft_opts[] = {"", "-wordNgrams 2 -epoch 25 -lr 0.5"};
            static const char *const ft_names[] = {"  fastText defaults", "  fastText ng2 e25 lr.5"};
            for (int k = 0; k < 2; k++) {
                double f1 = 0, fs = 0;
                if (run_fasttext(&s, tmp, ft_opts[k], &f1, &fs) < 0) {
                    printf("%-34s failed (is fasttext installed?)\n", ft_names[k]);
                    continue;
                }
                printf("%-34s %-5s %6zu %8.2f %8.0f %8.4f %8s\n", ft_names[k], "", s.n, fs,
                       (double)ntr / fs, f1, "-");
                fflush(stdout);
            }
            char cmd[1200];
            snprintf(cmd, sizeof cmd, "rm -f %s/train.txt %s/test.txt %s/model.bin %s/model.vec",
                     tmp, tmp, tmp, tmp);
            if (system(cmd) != 0)
                fprintf(stderr, "cleanup failed\n");
        }
        free_set(&s);
    }
    for (size_t i = 0; i < nn && base; i++) {
        struct set s = {0};
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (load_set(path, &s) < 0 || s.n == 0) {
            free_set(&s);
            continue;
        }
        json_t *lang = json_object_get(json_array_get(s.root, 0), "lang");
        base_experiment(&s, names[i], json_is_string(lang) ? json_string_value(lang) : "en", tmp);
        free_set(&s);
    }
    rmdir(tmp);
    return 0;
}
