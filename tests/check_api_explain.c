/* SPDX-License-Identifier: MIT */
/*
 * Explanations through the HTTP API: GET …/explanation names the words that
 * decide a small hand-made model; POST …/predict with "explain": true points
 * at those words in the original text (code-point offsets, en / de / ar);
 * without it the answer has no explanation fields; artifacts of version 1
 * still predict and say that explanations need a retraining.
 */
#include <check.h>
#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "artifact.h"
#include "testapi.h"

/* The code points [start, end) of the UTF-8 string s, copied into buf. */
static const char *cp_slice(const char *s, long start, long end, char *buf, size_t len)
{
    long cp = 0;
    size_t i = 0, from = 0, to = 0;
    int have_from = 0;

    for (;; i++) {
        if (s[i] == '\0' || ((unsigned char)s[i] & 0xC0) != 0x80) {
            if (cp == start && !have_from) {
                from = i;
                have_from = 1;
            }
            if (cp == end) {
                to = i;
                break;
            }
            if (s[i] == '\0')
                break;
            cp++;
        }
    }
    ck_assert_msg(have_from && to >= from, "span [%ld, %ld) outside the text", start, end);
    snprintf(buf, len, "%.*s", (int)(to - from), s + from);
    return buf;
}

/* 1 if w is one of the 8 words of topic k in lang (compared case-insensitively in ASCII). */
static int topic_word(const char *lang, int k, const char *w)
{
    const char *const(*t)[8] = tapi_words(lang);
    for (int i = 0; i < 8; i++)
        if (strcasecmp(t[k][i], w) == 0)
            return 1;
    return 0;
}

/* Checks every span of one explanation array against the text it explains; returns the
 * number of spans that are words of topic k. */
static int check_spans(const json_t *spans, const char *text, const char *lang, int k)
{
    size_t i;
    json_t *s;
    int hits = 0;
    double last = 1e300;
    char buf[256];

    ck_assert_msg(json_is_array(spans) && json_array_size(spans) > 0, "no spans for '%s'", text);
    ck_assert_uint_le(json_array_size(spans), 5);
    json_array_foreach(spans, i, s)
    {
        long start = (long)json_integer_value(json_object_get(s, "start"));
        long end = (long)json_integer_value(json_object_get(s, "end"));
        const char *st = tapi_str(s, "text");
        double w = json_number_value(json_object_get(s, "weight"));
        ck_assert_ptr_nonnull(st);
        ck_assert_int_lt(start, end);
        ck_assert_str_eq(cp_slice(text, start, end, buf, sizeof buf), st);
        ck_assert_msg(w > 0 && w <= last, "weights not positive and descending");
        last = w;
        hits += topic_word(lang, k, st);
    }
    return hits;
}

struct world {
    struct tapi a;
    int64_t en, de, ar;
};

static void train_three(struct world *w)
{
    tapi_start(&w->a, 2);
    w->en = tapi_model_on(&w->a, "en", "en",
                          tapi_session(&w->a, "en", "CLASS", "en", tapi_data_class("en", 16)));
    w->de = tapi_model_on(&w->a, "de", "de",
                          tapi_session(&w->a, "de", "CLASS", "de", tapi_data_class("de", 16)));
    w->ar = tapi_model_on(&w->a, "ar", "ar",
                          tapi_session(&w->a, "ar", "CLASS", "ar", tapi_data_class("ar", 16)));
    json_decref(tapi_wait_ready(&w->a, w->en, 60));
    json_decref(tapi_wait_ready(&w->a, w->de, 60));
    json_decref(tapi_wait_ready(&w->a, w->ar, 60));
}

START_TEST(test_top_features_name_the_deciding_words)
{
    struct world w;
    struct tresp r;
    char path[128];

    train_three(&w);
    tapi_path(&w.a, w.en, "/explanation", path, sizeof path);
    thttp(&w.a.ts, "GET", path, w.a.viewer, NULL, NULL, &r);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    const json_t *cls = json_object_get(json_object_get(r.json, "top_features"), "class");
    ck_assert_int_eq(json_array_size(cls), 3);
    size_t i;
    json_t *e;
    json_array_foreach(cls, i, e)
    {
        const char *label = tapi_str(e, "label");
        int k = strcmp(label, "sports") == 0 ? 0 : strcmp(label, "food") == 0 ? 1 : 2;
        const json_t *fs = json_object_get(e, "features");
        ck_assert_msg(json_array_size(fs) > 0 && json_array_size(fs) <= 20, "%s", label);
        size_t j;
        json_t *f;
        int words = 0, own = 0;
        double last = 1e300;
        json_array_foreach(fs, j, f)
        {
            const char *kind = tapi_str(f, "kind");
            double wt = json_number_value(json_object_get(f, "weight"));
            ck_assert_msg(wt > 0 && wt <= last, "weights not positive and descending");
            last = wt;
            ck_assert(strcmp(kind, "word") == 0 || strcmp(kind, "bigram") == 0 ||
                      strcmp(kind, "char") == 0);
            if (strcmp(kind, "word") != 0)
                continue;
            words++;
            own += topic_word("en", k, tapi_str(f, "ngram"));
            for (int o = 0; o < 3; o++)
                ck_assert_msg(o == k || !topic_word("en", o, tapi_str(f, "ngram")),
                              "%s lists '%s' of another topic", label, tapi_str(f, "ngram"));
        }
        ck_assert_msg(words > 0 && own >= words / 2, "%s: %d of %d top words are its own", label,
                      own, words);
    }
    tresp_release(&r);
    /* any project role may read it; no token is 401; another id is 404 */
    thttp(&w.a.ts, "GET", path, NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 401);
    tresp_release(&r);
    tapi_path(&w.a, 999, "/explanation", path, sizeof path);
    thttp(&w.a.ts, "GET", path, w.a.viewer, NULL, NULL, &r);
    tassert_problem(&r, 404);
    tresp_release(&r);
    tserver_cleanup(&w.a.ts);
}
END_TEST

static void explain_one(struct world *w, int64_t id, const char *lang, const char *text, int k)
{
    struct tresp r;
    char body[512];

    snprintf(body, sizeof body, "{\"texts\":[\"%s\"],\"explain\":true}", text);
    tapi_predict(&w->a, id, w->a.viewer, body, &r);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_ptr_null(json_object_get(r.json, "explain_unavailable"));
    const json_t *p = json_array_get(json_object_get(r.json, "predictions"), 0);
    ck_assert_str_eq(tapi_str(p, "class"), TAPI_TOPIC[k]);
    ck_assert_msg(check_spans(json_object_get(p, "explanation"), text, lang, k) >= 1,
                  "no span of '%s' is a %s word: %s", text, TAPI_TOPIC[k], r.body);
    tresp_release(&r);
}

START_TEST(test_predict_spans_point_at_words)
{
    struct world w;
    struct tresp r;

    train_three(&w);
    explain_one(&w, w.en, "en", "Yesterday's FOOTBALL match: what a goal!", 0);
    explain_one(&w, w.en, "en", "Grandma's pizza, with cheese & sauce", 1);
    /* umlauts and ß before the words shift bytes against code points */
    explain_one(&w, w.de, "de", "Größer als je zuvor: das Spiel im Stadion, ein Tor!", 0);
    explain_one(&w, w.de, "de", "Über Käse und Suppe zum Frühstück", 1);
    explain_one(&w, w.ar, "ar", "شاهدنا مباراة كرة رائعة مع الفريق", 0);
    explain_one(&w, w.ar, "ar", "أكلنا خبز مع جبنة على عشاء", 1);
    /* without explain: no explanation field, the plain answer */
    tapi_predict(&w.a, w.en, w.a.viewer, "{\"texts\":[\"football goal\"]}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(
        json_object_get(json_array_get(json_object_get(r.json, "predictions"), 0), "explanation"));
    tresp_release(&r);
    tapi_predict(&w.a, w.en, w.a.viewer, "{\"texts\":[\"football goal\"],\"explain\":false}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(
        json_object_get(json_array_get(json_object_get(r.json, "predictions"), 0), "explanation"));
    tresp_release(&r);
    /* explain must be a boolean */
    tapi_predict(&w.a, w.en, w.a.viewer, "{\"texts\":[\"football goal\"],\"explain\":\"yes\"}", &r);
    tassert_problem(&r, 400);
    ck_assert_ptr_nonnull(terror(&r, "explain"));
    tresp_release(&r);
    tserver_cleanup(&w.a.ts);
}
END_TEST

START_TEST(test_absa_and_label_explanations)
{
    struct tapi a;
    struct tresp r;
    char path[128];

    tapi_start(&a, 1);
    int64_t id = tapi_model_on(&a, "absa", "en", tapi_session(&a, "absa", "ABSA", "en",
                                                              tapi_data_absa(64)));
    int64_t lid = tapi_model_on(&a, "lab", "en", tapi_session(&a, "lab", "LABEL", "en",
                                                              tapi_data_label("en", 70)));
    json_decref(tapi_wait_ready(&a, id, 60));
    json_decref(tapi_wait_ready(&a, lid, 60));
    tapi_path(&a, id, "/explanation", path, sizeof path);
    thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    const json_t *tf = json_object_get(r.json, "top_features");
    ck_assert_ptr_nonnull(json_object_get(tf, "category"));
    ck_assert_ptr_nonnull(json_object_get(tf, "polarity"));
    tresp_release(&r);
    const char *text = "The pasta was wonderful but the waiter was rude.";
    char body[256];
    snprintf(body, sizeof body, "{\"texts\":[\"%s\"],\"explain\":true}", text);
    tapi_predict(&a, id, a.viewer, body, &r);
    ck_assert_int_eq(r.status, 200);
    const json_t *asp = json_object_get(json_array_get(json_object_get(r.json, "predictions"), 0),
                                        "aspects");
    ck_assert_uint_ge(json_array_size(asp), 1);
    size_t i;
    json_t *x;
    char buf[128];
    json_array_foreach(asp, i, x)
    {
        const json_t *sp = json_object_get(x, "explanation");
        ck_assert_msg(json_is_array(sp) && json_array_size(sp) > 0, "%s", r.body);
        ck_assert(json_is_array(json_object_get(x, "polarity_explanation")));
        const json_t *s0 = json_array_get(sp, 0);
        cp_slice(text, (long)json_integer_value(json_object_get(s0, "start")),
                 (long)json_integer_value(json_object_get(s0, "end")), buf, sizeof buf);
        ck_assert_str_eq(buf, tapi_str(s0, "text"));
        if (strcmp(tapi_str(x, "category"), "FOOD#QUALITY") == 0)
            ck_assert_msg(strstr("pasta wonderful", tapi_str(s0, "text")), "%s", r.body);
    }
    tresp_release(&r);
    tapi_predict(&a, lid, a.viewer, "{\"texts\":[\"pizza pasta cheese\"],\"explain\":true}", &r);
    ck_assert_int_eq(r.status, 200);
    const json_t *labels = json_object_get(
        json_array_get(json_object_get(r.json, "predictions"), 0), "labels");
    ck_assert_uint_ge(json_array_size(labels), 1);
    json_array_foreach(labels, i, x) ck_assert(json_is_array(json_object_get(x, "explanation")));
    tresp_release(&r);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_version1_artifact_still_predicts)
{
    struct tapi a;
    struct tresp r;
    struct err err = {0};
    char art[512], path[128];

    tapi_start(&a, 1);
    int64_t id = tapi_model_on(&a, "old", "en", tapi_session(&a, "old", "CLASS", "en",
                                                             tapi_data_class("en", 12)));
    json_t *v = tapi_wait_ready(&a, id, 60);
    /* rewrite its artifact in the previous format, before anything loaded it */
    tapi_artifact(&a, v, art, sizeof art);
    struct artifact *x = artifact_read(art, &err);
    ck_assert_msg(x != NULL, "%s", err.msg);
    ck_assert_uint_eq(x->version, 2);
    x->version = 1;
    ck_assert_int_eq(artifact_write(x, art, &err), 0);
    artifact_free(x);
    x = artifact_read(art, &err);
    ck_assert_uint_eq(x->version, 1);
    ck_assert_ptr_null(x->explain);
    artifact_free(x);

    tapi_predict(&a, id, a.viewer, "{\"texts\":[\"football goal team\"],\"explain\":true}", &r);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    const json_t *p = json_array_get(json_object_get(r.json, "predictions"), 0);
    ck_assert_str_eq(tapi_str(p, "class"), "sports");
    ck_assert_ptr_null(json_object_get(p, "explanation"));
    ck_assert_msg(tapi_str(r.json, "explain_unavailable") &&
                      strstr(tapi_str(r.json, "explain_unavailable"), "retrain"),
                  "%s", r.body);
    tresp_release(&r);
    tapi_predict(&a, id, a.viewer, "{\"texts\":[\"football goal team\"]}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(json_object_get(r.json, "explain_unavailable"));
    tresp_release(&r);
    tapi_path(&a, id, "/explanation", path, sizeof path);
    thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
    tassert_problem(&r, 409);
    ck_assert_msg(strstr(tapi_str(r.json, "detail"), "retrain"), "%s", r.body);
    tresp_release(&r);
    json_decref(v);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_explanation_of_untrained_model_409)
{
    struct tapi a;
    struct tresp r;
    char path[128];

    tapi_start(&a, 1);
    int64_t id = tapi_model_on(&a, "q", "en",
                               tfx_session(&a.ts, a.pr, "q", "CLASS", "en",
                                           "{\"text\":\"a b\",\"class\":\"x\"}\n"
                                           "{\"text\":\"c d\",\"class\":\"x\"}\n"));
    json_decref(tapi_wait(&a, id, "FAILED", 60));
    tapi_path(&a, id, "/explanation", path, sizeof path);
    thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
    tassert_problem(&r, 409);
    tresp_release(&r);
    tserver_cleanup(&a.ts);
}
END_TEST

Suite *api_explain_suite(void)
{
    Suite *s = suite_create("api_explain");
    TCase *tc = tcase_create("explain");

    tcase_set_timeout(tc, 180 * TAPI_SLOW);
    tcase_add_test(tc, test_top_features_name_the_deciding_words);
    tcase_add_test(tc, test_predict_spans_point_at_words);
    tcase_add_test(tc, test_absa_and_label_explanations);
    tcase_add_test(tc, test_version1_artifact_still_predicts);
    tcase_add_test(tc, test_explanation_of_untrained_model_409);
    suite_add_tcase(s, tc);
    return s;
}
