/* SPDX-License-Identifier: MIT */
/*
 * bench_train: trains a model on each data set through trainer_run()
 * (the real code path: analysis, hashing, model selection, training,
 * evaluation, artifact write) with the official train/test split of the
 * `split` field, and the same split with fastText, and prints a table.
 *
 * Usage: bench_train [DATA_DIR] [--no-fasttext] [--no-base] [--base-only]
 *                    [--sets LIST] [--no-synthetic] [--synthetic-no-test-only]
 *                    [--write-synthetic DIR]
 * (DATA_DIR default ../shared/data). The sets are the *.jsonl files of
 * DATA_DIR plus the synthetic sets of synth.h, generated (deterministically)
 * into a temporary directory; --no-synthetic leaves those out.
 * --synthetic-no-test-only (or BENCH_SYNTHETIC_NO_TEST_ONLY=1) leaves out
 * their categories that occur only in the test split; --write-synthetic DIR
 * only writes the synthetic sets to DIR. --sets LIST (or BENCH_SETS=LIST):
 * only the sets whose name (file name without .jsonl) starts with one of the
 * comma-separated entries, e.g. BENCH_SETS=synthetic_absa_en,semeval.
 *
 * Each set's modeld training runs in a child process of its own (fork): it
 * loads the set, runs trainer_run(), reads its VmHWM from /proc/self/status
 * (so the peak is that set's loading and training alone), runs fastText, and
 * reports through a pipe. A failed training prints a FAILED row and the
 * benchmark goes on. After the per-system rows, a goal table compares each
 * set with the goals: trainer_run() at most as long as tuned
 * fastText's training alone, peak memory below 256 MiB, micro-F1 at least
 * the anchor where a set has one.
 *
 * With BENCH_AUTO_SPLIT=SEED in the environment the official split is
 * replaced by the trainer's own stratified 80/20 split seeded by SEED
 * (robustness checks of method changes).
 * BENCH_METRICS=1 prints each model's metrics JSON.
 * CLASS sets take labels[0] as the class; lines with "aspects" make an ABSA set.
 * fastText gets one "__label__X" per class (CLASS) or per CATEGORY#polarity
 * pair (ABSA, predicted with `predict-prob model test.txt -1 0.5`: every pair
 * with p >= 0.5; per category the most probable polarity is kept), text with
 * all whitespace collapsed to single spaces. Scores: micro-F1 over the same
 * units as the trainer (class / (category, polarity) pair). fastText's time
 * and peak memory are those of `fasttext supervised` alone (wait4 rusage).
 *
 * Base-model experiment (after the main table, in this process, on the sets
 * of DATA_DIR only; --no-base skips it, --base-only runs only it): for each
 * data set the official train split is shuffled and halved; a base model is
 * trained on half A, then small models on n = 100, 200, 400 documents drawn
 * from half B (each class / category seen in the test set gets at least one
 * document) with the base ignored, with the former warm start, with forced
 * stacked transfer and with the default (transfer chosen by CV per head), all
 * evaluated on the official test split, BASE_SEEDS draws each. A second base
 * trained on half A with its labels shuffled among the documents (a useless
 * base) checks that the default falls back when transfer does not help. Mean
 * micro-F1 (± standard deviation), mean training seconds and how many heads
 * used the base are printed per variant.
 */
/* wait4(2) (not POSIX) gives the rusage of exactly one child: fastText's peak memory. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "synth.h"
#include "trainer.h"

#include "banned.h"

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
    if (!s->docs) {
        s->n = 0;
        return -1;
    }
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
                a[k].category =
                    json_string_value(json_object_get(json_array_get(asp, k), "category"));
                a[k].polarity =
                    json_string_value(json_object_get(json_array_get(asp, k), "polarity"));
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

/*
 * Run argv (argv[0] looked up in PATH) with stdout and stderr to /dev/null and
 * wait for it. Returns 0 when it exited with status 0, filling *secs (wall) and
 * *peak_mib (its maximum resident set size), else -1.
 */
static int run_cmd(const char *const *argv, double *secs, double *peak_mib)
{
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    pid_t w;
    while ((w = wait4(pid, &st, 0, &ru)) < 0 && errno == EINTR)
        ;
    if (w != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    *secs = now_s() - t0;
    *peak_mib = (double)ru.ru_maxrss / 1024.0; /* Linux: kB */
    return 0;
}

/* Run fastText with extra options (NULL-terminated, at most 16); returns micro-F1,
 * training seconds and the training's peak MiB. */
static int run_fasttext(const struct set *s, const char *dir, const char *const *opts, double *f1,
                        double *secs, double *peak_mib)
{
    char tr[512], te[512], model[512], cmd[2048];
    snprintf(tr, sizeof tr, "%s/train.txt", dir);
    snprintf(te, sizeof te, "%s/test.txt", dir);
    snprintf(model, sizeof model, "%s/model", dir);
    FILE *ft = fopen(tr, "w"), *fe = fopen(te, "w");
    if (!ft || !fe) {
        if (ft)
            fclose(ft);
        if (fe)
            fclose(fe);
        return -1;
    }
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
    const char *argv[24] = {"fasttext", "supervised", "-input", tr, "-output", model};
    size_t na = 6;
    for (size_t k = 0; opts[k] && k < 16; k++)
        argv[na++] = opts[k];
    argv[na] = NULL;
    if (run_cmd(argv, secs, peak_mib) < 0)
        return -1;
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
        char *save = NULL;
        for (char *tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
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

/* The language of a set: its first document's "lang", "en" when it has none,
 * LANG_COUNT (which the trainer refuses) for a name it does not know. */
static enum language set_language(const struct set *s)
{
    json_t *lang = json_object_get(json_array_get(s->root, 0), "lang");
    enum language l = LANG_EN;

    if (json_is_string(lang) && domain_language_parse(json_string_value(lang), &l) < 0)
        l = LANG_COUNT;
    return l;
}

static void base_experiment(const struct set *s, const char *name, enum language lang,
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
    enum model_type type = s->absa ? TYPE_ABSA : TYPE_CLASS;

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
    struct trainer_job job = {.type = type,
                              .language = lang,
                              .seed = "bench-base",
                              .docs = docs,
                              .n_docs = m,
                              .artifact_path = base_art};
    struct trainer_result res = {0};
    double t0 = now_s();
    if (trainer_run(&job, &res, &e) < 0) {
        printf("%s: base training failed: %s\n", name, e.msg);
        goto out;
    }
    printf("\nbase-model experiment: %s (%s), base trained on %zu of %zu training documents: "
           "micro-F1 %.4f, %.2f s; small models from the other %zu, test %zu, %d draws\n",
           name, domain_type_name(type), na, ntr, res.score, now_s() - t0, nb, nte, BASE_SEEDS);
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
    printf("%6s  %-22s %16s %8s %s\n", "n", "variant", "micro-F1 (sd)", "train_s", "heads stacked");
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
                struct trainer_job sj = {.type = type,
                                         .language = lang,
                                         .seed = "bench-small",
                                         .docs = docs,
                                         .n_docs = m,
                                         .artifact_path = art,
                                         .base_artifact = VARIANTS[v].use_base == 2 ? rand_art
                                                          : VARIANTS[v].use_base    ? base_art
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

/* ---- one process per set ---- */

/* A set to run: a file of DATA_DIR or a generated synthetic set. */
struct bench_set {
    char name[256]; /* file name without .jsonl */
    char path[PATH_MAX];
    int synthetic;
};

struct ft_report {
    int ok;
    double f1, secs, peak_mib;
};

/* What a set's child process reports to the parent (same binary: raw struct). */
struct set_report {
    int loaded, ok;
    char msg[ERR_MSG_MAX];
    int absa;
    size_t docs;
    long long n_train, artifact_bytes;
    double secs, score, macro, c;
    double load_mib, peak_mib; /* VmHWM after loading, after trainer_run() */
    struct ft_report ft[2];    /* defaults, tuned */
    size_t metrics_len;        /* bytes of metrics JSON following the struct */
};

/* Score anchors of the issue (micro-F1 the public sets must reach). */
static const struct {
    const char *name;
    double f1;
} ANCHORS[] = {
    {"semeval16_en_restaurants", 0.511},
    {"germeval2018_de", 0.688},
    {"spamassassin_en", 0.981},
};

#define PEAK_GOAL_MIB 256.0

static const char *const FT_DEFAULTS[] = {NULL};
static const char *const FT_TUNED[] = {"-wordNgrams", "2", "-epoch", "25", "-lr", "0.5", NULL};
static const char *const *const FT_OPTS[2] = {FT_DEFAULTS, FT_TUNED};
static const char *const FT_NAMES[2] = {"  fastText defaults", "  fastText ng2 e25 lr.5"};

/* This process's peak resident set size in MiB (VmHWM), or -1. */
static double vmhwm_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (f) {
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "VmHWM:", 6) && sscanf(line + 6, "%ld", &kb) == 1)
                break;
        fclose(f);
    }
    if (kb < 0) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0)
            kb = ru.ru_maxrss;
    }
    return kb < 0 ? -1.0 : (double)kb / 1024.0;
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* The child's work: load, train, measure, fastText. *metrics: the metrics JSON
 * (malloc'd) when BENCH_METRICS is set. */
static void child_run(const struct bench_set *bs, const char *tmp, int fasttext,
                      struct set_report *rep, char **metrics)
{
    struct set s = {0};
    char art[PATH_MAX];
    struct err e;

    if (load_set(bs->path, &s) < 0 || s.n == 0) {
        snprintf(rep->msg, sizeof rep->msg, "cannot read %s", bs->path);
        free_set(&s);
        return;
    }
    rep->loaded = 1;
    rep->absa = s.absa;
    rep->docs = s.n;
    rep->load_mib = vmhwm_mib();
    snprintf(art, sizeof art, "%s/model.art", tmp);
    struct trainer_job job = {.type = s.absa ? TYPE_ABSA : TYPE_CLASS,
                              .language = set_language(&s),
                              .seed = env_or("BENCH_AUTO_SPLIT", "bench"),
                              .docs = s.docs,
                              .n_docs = s.n,
                              .artifact_path = art};
    struct trainer_result res = {0};
    double t0 = now_s();
    if (trainer_run(&job, &res, &e) < 0) {
        rep->peak_mib = vmhwm_mib();
        snprintf(rep->msg, sizeof rep->msg, "%s", e.msg);
    } else {
        rep->secs = now_s() - t0;
        rep->peak_mib = vmhwm_mib();
        rep->ok = 1;
        rep->score = res.score;
        rep->macro = json_real_value(json_object_get(json_object_get(res.metrics, "macro"), "f1"));
        rep->n_train = json_integer_value(json_object_get(res.metrics, "train_size"));
        rep->c = json_real_value(json_object_get(json_object_get(res.metrics, "selected"), "C"));
        struct stat st;
        rep->artifact_bytes = stat(art, &st) == 0 ? (long long)st.st_size : -1;
        if (getenv("BENCH_METRICS"))
            *metrics = json_dumps(res.metrics, JSON_COMPACT);
        trainer_result_release(&res);
        unlink(art);
    }
    if (!rep->n_train)
        for (size_t i = 0; i < s.n; i++)
            rep->n_train += s.docs[i].set != TDOC_TEST;
    for (int k = 0; k < 2 && fasttext; k++) {
        struct ft_report *f = &rep->ft[k];
        f->ok = run_fasttext(&s, tmp, FT_OPTS[k], &f->f1, &f->secs, &f->peak_mib) == 0;
    }
    const char *const junk[] = {"train.txt", "test.txt", "model.bin", "model.vec"};
    for (size_t k = 0; k < sizeof junk / sizeof junk[0]; k++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", tmp, junk[k]);
        unlink(p);
    }
    free_set(&s);
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/*
 * Run one set in a child process and fill *rep from its report; *metrics gets
 * its metrics JSON (malloc'd) or NULL. A child that dies gives rep->ok = 0
 * with the reason in rep->msg.
 */
static void run_set(const struct bench_set *bs, const char *tmp, int fasttext,
                    struct set_report *rep, char **metrics)
{
    int fds[2];
    char *buf = NULL;
    size_t len = 0;

    memset(rep, 0, sizeof *rep);
    *metrics = NULL;
    fflush(stdout); /* the child must not inherit (and flush again) buffered output */
    fflush(stderr);
    if (pipe(fds) < 0) {
        snprintf(rep->msg, sizeof rep->msg, "pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(rep->msg, sizeof rep->msg, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        struct set_report r = {0};
        char *m = NULL;
        close(fds[0]);
        child_run(bs, tmp, fasttext, &r, &m);
        r.metrics_len = m ? strlen(m) : 0;
        int rc =
            write_all(fds[1], &r, sizeof r) < 0 || (m && write_all(fds[1], m, r.metrics_len) < 0);
        _exit(rc); /* no atexit handlers, no stdio flush: the parent's buffers are not ours */
    }
    close(fds[1]);
    FILE *f = open_memstream(&buf, &len);
    char chunk[65536];
    ssize_t got;
    while (f && ((got = read(fds[0], chunk, sizeof chunk)) > 0 || (got < 0 && errno == EINTR)))
        if (got > 0)
            fwrite(chunk, 1, (size_t)got, f);
    close(fds[0]);
    if (f)
        fclose(f);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (buf && len >= sizeof *rep) {
        memcpy(rep, buf, sizeof *rep);
        if (rep->metrics_len && len >= sizeof *rep + rep->metrics_len) {
            *metrics = malloc(rep->metrics_len + 1);
            if (*metrics) {
                memcpy(*metrics, buf + sizeof *rep, rep->metrics_len);
                (*metrics)[rep->metrics_len] = '\0';
            }
        }
    } else {
        rep->ok = 0;
        if (WIFSIGNALED(st))
            snprintf(rep->msg, sizeof rep->msg, "child killed by signal %d (%s)", WTERMSIG(st),
                     strsignal(WTERMSIG(st)));
        else
            snprintf(rep->msg, sizeof rep->msg, "child exited with status %d without a report",
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    free(buf);
}

/* The per-system rows of one set, as soon as it is done. */
static void print_rows(const struct bench_set *bs, const struct set_report *r, const char *metrics,
                       int fasttext)
{
    const char *type = r->absa ? "ABSA" : "CLASS";
    if (!r->loaded) {
        printf("%-34s %s, skipped\n", bs->name, r->msg);
        return;
    }
    if (!r->ok) {
        printf("%-34s %-5s %6zu   FAILED: %s   (peak %.1f MiB)\n", bs->name, type, r->docs, r->msg,
               r->peak_mib);
    } else {
        printf("%-34s %-5s %6zu %8.2f %8.0f %8.4f %8.4f   (artifact %.1f MB, C=%g, peak %.1f MiB, "
               "%.1f after loading)\n",
               bs->name, type, r->docs, r->secs, (double)r->n_train / r->secs, r->score, r->macro,
               (double)r->artifact_bytes / 1e6, r->c, r->peak_mib, r->load_mib);
        if (metrics)
            printf("%s\n", metrics);
    }
    for (int k = 0; k < 2 && fasttext; k++) {
        const struct ft_report *f = &r->ft[k];
        if (!f->ok) {
            printf("%-34s failed (is fasttext installed?)\n", FT_NAMES[k]);
            continue;
        }
        printf("%-34s %-5s %6zu %8.2f %8.0f %8.4f %8s   (peak %.1f MiB)\n", FT_NAMES[k], "",
               r->docs, f->secs, (double)r->n_train / f->secs, f->f1, "-", f->peak_mib);
    }
    fflush(stdout);
}

static const char *yes_no(int ok)
{
    return ok ? "yes" : "NO";
}

/* The goal table: one row per set against the goals. */
static void print_goals(const struct bench_set *sets, const struct set_report *reps, size_t n,
                        int fasttext)
{
    int met = 0, all = 0;
    printf("\ngoals: trainer_run <= tuned fastText training (time), peak VmHWM < %.0f MiB (mem), "
           "micro-F1 >= anchor (score)\n",
           PEAK_GOAL_MIB);
    printf("%-26s %-5s %6s %9s %9s %6s %8s %8s %8s  %-4s %-4s %s\n", "data set", "type", "docs",
           "modeld_s", "ft_tuned", "ratio", "modeld", "ft_tuned", "peak_MiB", "time", "mem",
           "score");
    for (size_t i = 0; i < n; i++) {
        const struct set_report *r = &reps[i];
        if (!r->loaded)
            continue;
        const char *type = r->absa ? "ABSA" : "CLASS";
        const struct ft_report *ft = &r->ft[1];
        char ft_s[16] = "-", ratio[16] = "-", ft_f1[16] = "-", score[32] = "-";
        if (fasttext && ft->ok) {
            snprintf(ft_s, sizeof ft_s, "%.2f", ft->secs);
            snprintf(ft_f1, sizeof ft_f1, "%.4f", ft->f1);
        }
        if (!r->ok) {
            printf("%-26s %-5s %6zu %9s %9s %6s %8s %8s %8.1f  %-4s %-4s FAILED: %s\n",
                   sets[i].name, type, r->docs, "FAILED", ft_s, "-", "-", ft_f1, r->peak_mib, "-",
                   "-", r->msg);
            all++;
            continue;
        }
        int t_ok = fasttext && ft->ok ? r->secs <= ft->secs : -1;
        int m_ok = r->peak_mib >= 0 && r->peak_mib < PEAK_GOAL_MIB;
        int s_ok = -1;
        for (size_t k = 0; k < sizeof ANCHORS / sizeof ANCHORS[0]; k++)
            if (!strcmp(sets[i].name, ANCHORS[k].name)) {
                s_ok = r->score >= ANCHORS[k].f1;
                snprintf(score, sizeof score, "%s (>= %.3f)", yes_no(s_ok), ANCHORS[k].f1);
            }
        if (t_ok >= 0)
            snprintf(ratio, sizeof ratio, "%.2f", r->secs / ft->secs);
        printf("%-26s %-5s %6zu %9.2f %9s %6s %8.4f %8s %8.1f  %-4s %-4s %s\n", sets[i].name, type,
               r->docs, r->secs, ft_s, ratio, r->score, ft_f1, r->peak_mib,
               t_ok < 0 ? "-" : yes_no(t_ok), yes_no(m_ok), score);
        all++;
        met += t_ok != 0 && m_ok && s_ok != 0;
    }
    printf("%d of %d sets meet every goal%s\n", met, all,
           fasttext ? "" : " (time not checked: --no-fasttext)");
    fflush(stdout);
}

/* Does name match the filter (comma-separated name prefixes; NULL or "" = all)? */
static int selected(const char *filter, const char *name)
{
    if (!filter || !*filter)
        return 1;
    for (const char *p = filter; *p;) {
        size_t l = strcspn(p, ",");
        if (l > 0 && !strncmp(name, p, l))
            return 1;
        p += l;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int is_jsonl(const char *n)
{
    size_t l = strlen(n);
    return l > 6 && !strcmp(n + l - 6, ".jsonl");
}

static int cmp_sets(const void *a, const void *b)
{
    return strcmp(((const struct bench_set *)a)->name, ((const struct bench_set *)b)->name);
}

/* Write the synthetic sets matching filter into dir, appending them to sets[*n..max).
 * Returns 0, or -1 after printing why. */
static int add_synthetic(const char *dir, const char *filter, int test_only, struct bench_set *sets,
                         size_t *n, size_t max)
{
    for (size_t i = 0; i < synth_count() && *n < max; i++) {
        struct bench_set *b = &sets[*n];
        struct err e;
        if (!selected(filter, synth_name(i)))
            continue;
        snprintf(b->name, sizeof b->name, "%s", synth_name(i));
        snprintf(b->path, sizeof b->path, "%s/%s.jsonl", dir, b->name);
        b->synthetic = 1;
        if (synth_write(i, b->path, test_only, &e) < 0) {
            fprintf(stderr, "bench_train: %s: %s\n", b->name, e.msg);
            return -1;
        }
        (*n)++;
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_train [DATA_DIR] [--no-fasttext] [--no-base] [--base-only]\n"
                    "                   [--sets LIST] [--no-synthetic] [--synthetic-no-test-only]\n"
                    "                   [--write-synthetic DIR]\n"
                    "env: BENCH_SETS=LIST BENCH_SYNTHETIC_NO_TEST_ONLY=1 BENCH_AUTO_SPLIT=SEED "
                    "BENCH_METRICS=1\n");
}

#define MAX_SETS 32

int main(int argc, char **argv)
{
    const char *dir = "../shared/data", *filter = getenv("BENCH_SETS"), *write_dir = NULL;
    const char *no_to = getenv("BENCH_SYNTHETIC_NO_TEST_ONLY");
    int fasttext = 1, base = 1, main_table = 1, synthetic = 1;
    int test_only = !(no_to && *no_to && strcmp(no_to, "0") != 0);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-fasttext"))
            fasttext = 0;
        else if (!strcmp(argv[i], "--no-base"))
            base = 0;
        else if (!strcmp(argv[i], "--base-only"))
            main_table = 0;
        else if (!strcmp(argv[i], "--no-synthetic"))
            synthetic = 0;
        else if (!strcmp(argv[i], "--synthetic-no-test-only"))
            test_only = 0;
        else if (!strcmp(argv[i], "--sets") && i + 1 < argc)
            filter = argv[++i];
        else if (!strcmp(argv[i], "--write-synthetic") && i + 1 < argc)
            write_dir = argv[++i];
        else if (argv[i][0] == '-') {
            usage();
            return 2;
        } else
            dir = argv[i];
    }
    struct bench_set sets[MAX_SETS];
    size_t n = 0;
    if (write_dir) {
        if (mkdir(write_dir, 0777) < 0 && errno != EEXIST) {
            fprintf(stderr, "bench_train: %s: %s\n", write_dir, strerror(errno));
            return 1;
        }
        if (add_synthetic(write_dir, NULL, test_only, sets, &n, MAX_SETS) < 0)
            return 1;
        for (size_t i = 0; i < n; i++)
            printf("%s\n", sets[i].path);
        return 0;
    }
    DIR *dh = opendir(dir);
    if (!dh)
        printf("bench_train: data directory %s not found, only synthetic sets\n", dir);
    struct dirent *de;
    while (dh && (de = readdir(dh)) && n < MAX_SETS) {
        if (!is_jsonl(de->d_name))
            continue;
        struct bench_set *b = &sets[n];
        snprintf(b->name, sizeof b->name, "%.*s", (int)(strlen(de->d_name) - 6), de->d_name);
        snprintf(b->path, sizeof b->path, "%s/%s", dir, de->d_name);
        b->synthetic = 0;
        if (selected(filter, b->name))
            n++;
    }
    if (dh)
        closedir(dh);
    qsort(sets, n, sizeof sets[0], cmp_sets);
    char tmpl[] = "/tmp/bench_train.XXXXXX";
    char *tmp = mkdtemp(tmpl);
    if (!tmp) {
        perror("mkdtemp");
        return 1;
    }
    size_t n_real = n;
    int rc = 0;
    if (synthetic && main_table && add_synthetic(tmp, filter, test_only, sets, &n, MAX_SETS) < 0) {
        rc = 1;
        goto out;
    }
    if (n == 0)
        printf("bench_train: no data set selected\n");
    if (main_table && n > 0) {
        if (n > n_real)
            printf("synthetic sets (generated, fixed seeds): %s\n",
                   test_only ? "with their 2 test-only categories each (ABSA)"
                             : "test-only categories left out (--synthetic-no-test-only)");
        printf("%-34s %-5s %6s %8s %8s %8s %8s\n", "data set / system", "type", "docs", "train_s",
               "docs/s", "micro", "macro");
        struct set_report reps[MAX_SETS];
        for (size_t i = 0; i < n; i++) {
            char *metrics = NULL;
            run_set(&sets[i], tmp, fasttext, &reps[i], &metrics);
            print_rows(&sets[i], &reps[i], metrics, fasttext);
            free(metrics);
        }
        print_goals(sets, reps, n, fasttext);
    }
    for (size_t i = 0; i < n_real && base; i++) {
        struct set s = {0};
        if (load_set(sets[i].path, &s) < 0 || s.n == 0) {
            free_set(&s);
            continue;
        }
        base_experiment(&s, sets[i].name, set_language(&s), tmp);
        free_set(&s);
    }
out:
    for (size_t i = n_real; i < n; i++)
        unlink(sets[i].path);
    rmdir(tmp);
    return rc;
}
