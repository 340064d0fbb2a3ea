/* SPDX-License-Identifier: MIT */
/*
 * testapi: helpers shared by the HTTP suites of the job system and model
 * operations (check_api_training.c, check_api_ops.c): a project with a
 * MANAGER, an ANNOTATOR and a VIEWER, small hand-written training sets in
 * English, German and Arabic for every model type, model creation and
 * polling, and timeouts scaled for the sanitizer builds.
 *
 * Everything is static inline so that each suite uses only what it needs
 * without -Wunused-function; the header is test-only.
 */
#ifndef MODELD_TESTAPI_H
#define MODELD_TESTAPI_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "util.h"

/* Sanitizers slow training and HTTP down; scale every wait by this. */
#if defined(__SANITIZE_THREAD__)
#define TAPI_SLOW 10.0
#elif defined(__SANITIZE_ADDRESS__)
#define TAPI_SLOW 4.0
#else
#define TAPI_SLOW 1.0
#endif

struct tapi {
    struct tserver ts;
    int64_t ws, pr;
    int64_t mgr_id, annot_id, viewer_id;
    char mgr[65], annot[65], viewer[65];
};

static inline void tapi_fixtures(struct tapi *a)
{
    a->ws = tfx_workspace(&a->ts, "ws");
    a->pr = tfx_project(&a->ts, a->ws, "proj");
    a->mgr_id = tfx_user(&a->ts, "mia", 0, a->mgr);
    a->annot_id = tfx_user(&a->ts, "ann", 0, a->annot);
    a->viewer_id = tfx_user(&a->ts, "vic", 0, a->viewer);
    tfx_member(&a->ts, a->pr, a->mgr_id, "MANAGER");
    tfx_member(&a->ts, a->pr, a->annot_id, "ANNOTATOR");
    tfx_member(&a->ts, a->pr, a->viewer_id, "VIEWER");
}

static inline void tapi_start(struct tapi *a, int workers)
{
    memset(a, 0, sizeof(*a));
    tserver_start(&a->ts, workers);
    tapi_fixtures(a);
}

static inline void tapi_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

    nanosleep(&ts, NULL);
}

/* ---- growing string ------------------------------------------------------- */

struct tbuf {
    char *s;
    size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static inline void tbuf_add(struct tbuf *b, const char *fmt,
                                                                  ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->len + (size_t)n + 1) * 2;

        b->s = realloc(b->s, cap);
        ck_assert_ptr_nonnull(b->s);
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- hand-written data ------------------------------------------------------ */

/* Three topics in each language: eight content words each, and fillers. */
static const char *const TAPI_EN[3][8] = {
    {"football", "match", "goal", "team", "player", "coach", "league", "stadium"},
    {"pizza", "pasta", "cheese", "dinner", "recipe", "bread", "sauce", "soup"},
    {"computer", "software", "laptop", "code", "program", "internet", "server", "keyboard"}};
static const char *const TAPI_DE[3][8] = {
    {"Fußball", "Spiel", "Tor", "Mannschaft", "Spieler", "Trainer", "Liga", "Stadion"},
    {"Käse", "Brötchen", "Suppe", "Soße", "Kuchen", "Frühstück", "Gemüse", "Würstchen"},
    {"Rechner", "Software", "Tastatur", "Bildschirm", "Programm", "Internet", "Server", "Drucker"}};
static const char *const TAPI_AR[3][8] = {
    {"كرة", "مباراة", "هدف", "فريق", "لاعب", "مدرب", "دوري", "ملعب"},
    {"طعام", "خبز", "جبنة", "عشاء", "حساء", "مطعم", "طبق", "فطور"},
    {"حاسوب", "برنامج", "إنترنت", "شبكة", "خادم", "لوحة", "شاشة", "تطبيق"}};
static const char *const TAPI_TOPIC[3] = {"sports", "food", "tech"};
static const char *const TAPI_FILL_EN[5] = {"really", "quite", "very", "rather", "truly"};
static const char *const TAPI_FILL_DE[5] = {"wirklich", "ziemlich", "sehr", "äußerst", "größer"};
static const char *const TAPI_FILL_AR[5] = {"جدا", "حقا", "اليوم", "أمس", "كثيرا"};

static inline const char *const (*tapi_words(const char *lang))[8]
{
    return strcmp(lang, "de") == 0 ? TAPI_DE : strcmp(lang, "ar") == 0 ? TAPI_AR : TAPI_EN;
}

static inline const char *const *tapi_fill(const char *lang)
{
    return strcmp(lang, "de") == 0   ? TAPI_FILL_DE
           : strcmp(lang, "ar") == 0 ? TAPI_FILL_AR
                                     : TAPI_FILL_EN;
}

/* A sentence about topic k, distinct for i < 40. */
static inline void tapi_sentence(struct tbuf *b, const char *lang, int k, int i)
{
    const char *const(*w)[8] = tapi_words(lang);
    const char *const *f = tapi_fill(lang);

    tbuf_add(b, "%s %s %s %s", w[k][i % 8], w[k][(3 * i + 1) % 8], f[i % 5], w[k][(5 * i + 2) % 8]);
}

/* CLASS: `per` documents for each of the three topics. Caller frees. */
static inline char *tapi_data_class(const char *lang, int per)
{
    struct tbuf b = {0};

    for (int i = 0; i < per; i++)
        for (int k = 0; k < 3; k++) {
            tbuf_add(&b, "{\"text\":\"");
            tapi_sentence(&b, lang, k, i);
            tbuf_add(&b, "\",\"class\":\"%s\"}\n", TAPI_TOPIC[k]);
        }
    return b.s;
}

/* LABEL: documents about one or two topics, labeled with them; some with none. */
static inline char *tapi_data_label(const char *lang, int n)
{
    static const int masks[7] = {1, 2, 4, 3, 6, 5, 0};
    struct tbuf b = {0};

    for (int i = 0; i < n; i++) {
        int m = masks[i % 7], first = 1;

        tbuf_add(&b, "{\"text\":\"");
        for (int k = 0; k < 3; k++)
            if (m & (1 << k)) {
                tbuf_add(&b, "%s", first ? "" : " ");
                tapi_sentence(&b, lang, k, i);
                first = 0;
            }
        if (!m)
            tbuf_add(&b, "%s %d", tapi_fill(lang)[i % 5], i);
        tbuf_add(&b, "\",\"labels\":[");
        first = 1;
        for (int k = 0; k < 3; k++)
            if (m & (1 << k)) {
                tbuf_add(&b, "%s\"%s\"", first ? "" : ",", TAPI_TOPIC[k]);
                first = 0;
            }
        tbuf_add(&b, "]}\n");
    }
    return b.s;
}

static const char *const TAPI_POS[4] = {"great", "wonderful", "excellent", "lovely"};
static const char *const TAPI_NEG[4] = {"terrible", "awful", "horrible", "disgusting"};

/* CLASSLABEL (English): class = sentiment, labels = topics. */
static inline char *tapi_data_classlabel(int n)
{
    static const int masks[6] = {1, 2, 4, 3, 6, 5};
    struct tbuf b = {0};

    for (int i = 0; i < n; i++) {
        int m = masks[i % 6], pos = (i / 6) % 2 == 0, first = 1;

        tbuf_add(&b, "{\"text\":\"");
        for (int k = 0; k < 3; k++)
            if (m & (1 << k)) {
                tbuf_add(&b, "%s", first ? "" : " and ");
                tapi_sentence(&b, "en", k, i);
                first = 0;
            }
        tbuf_add(&b, " was %s\",\"class\":\"%s\",\"labels\":[",
                 pos ? TAPI_POS[i % 4] : TAPI_NEG[i % 4], pos ? "positive" : "negative");
        first = 1;
        for (int k = 0; k < 3; k++)
            if (m & (1 << k)) {
                tbuf_add(&b, "%s\"%s\"", first ? "" : ",", TAPI_TOPIC[k]);
                first = 0;
            }
        tbuf_add(&b, "]}\n");
    }
    return b.s;
}

/* ABSA (English restaurant reviews): FOOD#QUALITY and SERVICE#GENERAL with polarities. */
static inline char *tapi_data_absa(int n)
{
    static const char *const food[6] = {"pasta", "pizza", "soup", "steak", "salad", "dessert"};
    static const char *const serv[6] = {"waiter",   "staff", "service",
                                        "waitress", "host",  "bartender"};
    /* food polarity, service polarity: 1 positive, -1 negative, 0 absent */
    static const int pat[8][2] = {{1, 0},  {-1, 0}, {0, 1}, {0, -1},
                                  {1, -1}, {-1, 1}, {1, 1}, {0, 0}};
    struct tbuf b = {0};

    for (int i = 0; i < n; i++) {
        const int *p = pat[i % 8];
        int first = 1;

        tbuf_add(&b, "{\"text\":\"");
        if (p[0])
            tbuf_add(&b, "The %s was %s", food[i % 6],
                     p[0] > 0 ? TAPI_POS[i % 4] : TAPI_NEG[i % 4]);
        if (p[1])
            tbuf_add(&b, "%sthe %s was %s", p[0] ? " and " : "The ", serv[(i / 2) % 6],
                     p[1] > 0 ? TAPI_POS[(i + 1) % 4] : TAPI_NEG[(i + 1) % 4]);
        if (!p[0] && !p[1])
            tbuf_add(&b, "We arrived at %d and parked outside", 5 + i % 4);
        tbuf_add(&b, " on day %d.\",\"aspects\":[", i);
        if (p[0]) {
            tbuf_add(&b, "{\"category\":\"FOOD#QUALITY\",\"polarity\":\"%s\"}",
                     p[0] > 0 ? "positive" : "negative");
            first = 0;
        }
        if (p[1])
            tbuf_add(&b, "%s{\"category\":\"SERVICE#GENERAL\",\"polarity\":\"%s\"}",
                     first ? "" : ",", p[1] > 0 ? "positive" : "negative");
        tbuf_add(&b, "]}\n");
    }
    return b.s;
}

/* The first max_lines lines of a shared data file, or NULL when it is absent. Caller frees. */
static inline char *tapi_shared_lines(const char *file, size_t max_lines)
{
    char path[512], line[1 << 16];
    const char *p = tdata(file, path, sizeof(path));
    struct tbuf b = {0};
    size_t n = 0;
    FILE *f;

    if (!p || !(f = fopen(p, "r")))
        return NULL;
    while (n < max_lines && fgets(line, sizeof(line), f)) {
        tbuf_add(&b, "%s", line);
        n++;
    }
    fclose(f);
    return b.s;
}

/* ---- sessions and models ----------------------------------------------------- */

static inline int64_t tapi_session(struct tapi *a, const char *name, const char *type,
                                   const char *lang, char *jsonl_owned)
{
    int64_t id = tfx_session(&a->ts, a->pr, name, type, lang, jsonl_owned);

    free(jsonl_owned);
    return id;
}

/* A labeling session without documents (through the API). */
static inline int64_t tapi_empty_session(struct tapi *a, const char *name, const char *type,
                                         const char *lang)
{
    struct tresp r;
    char path[64], body[256];
    int64_t id;

    snprintf(path, sizeof(path), "/projects/%lld/annotations", (long long)a->pr);
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"type\":\"%s\",\"language\":\"%s\"}", name,
             type, lang);
    tjson(&a->ts, "POST", path, a->mgr, body, &r);
    ck_assert_msg(r.status == 201, "session create: %ld %s", r.status, r.body);
    id = json_integer_value(json_object_get(r.json, "id"));
    tresp_release(&r);
    return id;
}

static inline void tapi_path(const struct tapi *a, int64_t id, const char *suffix, char *buf,
                             size_t len)
{
    if (id > 0)
        snprintf(buf, len, "/projects/%lld/models/%lld%s", (long long)a->pr, (long long)id,
                 suffix ? suffix : "");
    else
        snprintf(buf, len, "/projects/%lld/models", (long long)a->pr);
}

/* POST a model (body printf-style); asserts 201 and CREATED; returns its id. */
__attribute__((format(printf, 2, 3))) static inline int64_t tapi_model(struct tapi *a,
                                                                       const char *fmt, ...)
{
    char body[2048], path[64];
    struct tresp r;
    va_list ap;
    int64_t id;

    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    tapi_path(a, 0, NULL, path, sizeof(path));
    tjson(&a->ts, "POST", path, a->mgr, body, &r);
    ck_assert_msg(r.status == 201, "POST model: %ld %s", r.status, r.body ? r.body : "");
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "status")), "CREATED");
    id = json_integer_value(json_object_get(r.json, "id"));
    ck_assert_int_gt(id, 0);
    tresp_release(&r);
    return id;
}

/* Convenience: a model named name over one session with annotation_ids. */
static inline int64_t tapi_model_on(struct tapi *a, const char *name, const char *lang,
                                    int64_t session)
{
    return tapi_model(a, "{\"name\":\"%s\",\"language\":\"%s\",\"annotation_ids\":[%lld]}", name,
                      lang, (long long)session);
}

/* GET the model view (asserts 200). Caller decrefs. */
static inline json_t *tapi_get(struct tapi *a, int64_t id)
{
    char path[96];
    struct tresp r;
    json_t *v;

    tapi_path(a, id, NULL, path, sizeof(path));
    thttp(&a->ts, "GET", path, a->viewer, NULL, NULL, &r);
    ck_assert_msg(r.status == 200, "GET %s: %ld %s", path, r.status, r.body ? r.body : "");
    v = json_incref(r.json);
    tresp_release(&r);
    return v;
}

static inline const char *tapi_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Wait (timeout scaled by TAPI_SLOW) until the model's status is one of until. */
static inline json_t *tapi_wait(struct tapi *a, int64_t id, const char *until, double timeout)
{
    char path[96];
    json_t *v;

    tapi_path(a, id, NULL, path, sizeof(path));
    v = twait_status(&a->ts, path, a->viewer, until, timeout * TAPI_SLOW);
    ck_assert_ptr_nonnull(v);
    ck_assert_msg(strstr(until, tapi_str(v, "status")) != NULL,
                  "model %lld: %s after %.0f s, wanted %s", (long long)id, tapi_str(v, "status"),
                  timeout * TAPI_SLOW, until);
    return v;
}

/* Wait until the model is READY; fails the test with the reason otherwise. */
static inline json_t *tapi_wait_ready(struct tapi *a, int64_t id, double timeout)
{
    json_t *v = tapi_wait(a, id, "READY FAILED", timeout);

    ck_assert_msg(strcmp(tapi_str(v, "status"), "READY") == 0, "model %lld FAILED: %s",
                  (long long)id, tapi_str(v, "failure_reason"));
    return v;
}

/* Wait until the model is TRAINING with progress > min_progress. */
static inline json_t *tapi_wait_training(struct tapi *a, int64_t id, double min_progress,
                                         double timeout)
{
    double t0 = util_monotonic();

    for (;;) {
        json_t *v = tapi_get(a, id);
        const char *st = tapi_str(v, "status");

        if (strcmp(st, "TRAINING") == 0 &&
            json_number_value(json_object_get(v, "progress")) > min_progress)
            return v;
        ck_assert_msg(strcmp(st, "READY") != 0 && strcmp(st, "FAILED") != 0,
                      "model %lld reached %s before it was seen training", (long long)id, st);
        json_decref(v);
        ck_assert_msg(util_monotonic() - t0 < timeout * TAPI_SLOW,
                      "model %lld not TRAINING after %.0f s", (long long)id, timeout * TAPI_SLOW);
        tapi_sleep(0.01);
    }
}

/* POST .../predict with body; returns the response (caller releases). */
static inline void tapi_predict(struct tapi *a, int64_t id, const char *token, const char *body,
                                struct tresp *r)
{
    char path[128];

    tapi_path(a, id, "/predict", path, sizeof(path));
    tjson(&a->ts, "POST", path, token, body, r);
}

/* Path of the model's artifact in the data dir (by uuid). */
static inline void tapi_artifact(const struct tapi *a, const json_t *view, char *buf, size_t len)
{
    snprintf(buf, len, "%s/models/%s.model", a->ts.data_dir, tapi_str(view, "uuid"));
}

#endif
