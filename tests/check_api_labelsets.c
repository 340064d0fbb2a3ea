/* SPDX-License-Identifier: MIT */
/*
 * Label sets as they really are, through the HTTP API: labels that occur only
 * in the test set (scored as misses, never a failure), rare labels, test
 * documents that duplicate training documents, a small test set, many
 * categories, skewed and tiny classes; each warning code and the confusion
 * figures of every model type. The failures that remain (no training
 * documents, a single class, an empty test set) are in check_api_training.c.
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "testapi.h"

/* The warning with this code in the model view, or NULL. */
static const json_t *warning(const json_t *view, const char *code)
{
    const json_t *ws = json_object_get(view, "warnings");
    size_t i;
    json_t *w;

    ck_assert_msg(json_is_array(ws), "warnings is not an array");
    json_array_foreach(ws, i, w)
    {
        const char *c = tapi_str(w, "code");
        ck_assert_ptr_nonnull(c);
        ck_assert_msg(tapi_str(w, "message") && strlen(tapi_str(w, "message")) > 10,
                      "warning %s without a message", c);
        if (strcmp(c, code) == 0)
            return w;
    }
    return NULL;
}

/* 1 if the warning's labels are exactly the names in want (a NULL-terminated list). */
static int labels_are(const json_t *w, const char *const *want)
{
    const json_t *l = json_object_get(w, "labels");
    size_t n = 0;

    while (want[n])
        n++;
    if (!json_is_array(l) || json_array_size(l) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        for (size_t j = 0; j < n && !found; j++)
            found = strcmp(json_string_value(json_array_get(l, j)), want[i]) == 0;
        if (!found)
            return 0;
    }
    return 1;
}

/* The metrics entry of label (and head, may be NULL) in the view, asserted present. */
static const json_t *entry(const json_t *view, const char *label)
{
    const json_t *ls = json_object_get(json_object_get(view, "metrics"), "labels");
    size_t i;
    json_t *e;

    json_array_foreach(ls, i, e) if (strcmp(tapi_str(e, "label"), label) == 0) return e;
    ck_abort_msg("no metrics entry for %s", label);
    return NULL;
}

static json_int_t ival(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
    return json_integer_value(v);
}

/* Train on train_jsonl, test on test_jsonl (explicit sessions); wait READY; caller decrefs. */
static json_t *train_explicit(struct tapi *a, const char *name, const char *type,
                              const char *lang, const char *train_jsonl, const char *test_jsonl)
{
    char n1[64], n2[64];
    snprintf(n1, sizeof n1, "%s-train", name);
    snprintf(n2, sizeof n2, "%s-test", name);
    int64_t tr = tfx_session(&a->ts, a->pr, n1, type, lang, train_jsonl);
    int64_t te = tfx_session(&a->ts, a->pr, n2, type, lang, test_jsonl);
    int64_t id = tapi_model(a,
                            "{\"name\":\"%s\",\"language\":\"%s\",\"trainset_annotation_ids\":"
                            "[%lld],\"testset_annotation_ids\":[%lld]}",
                            name, lang, (long long)tr, (long long)te);
    return tapi_wait_ready(a, id, 60);
}

/* A CLASS document line about topic k (sports/food/tech), distinct for i < 40. */
static void class_line(struct tbuf *b, const char *lang, int k, int i)
{
    tbuf_add(b, "{\"text\":\"");
    tapi_sentence(b, lang, k, i);
    tbuf_add(b, "\",\"class\":\"%s\"}\n", TAPI_TOPIC[k]);
}

START_TEST(test_class_only_in_test)
{
    struct tapi a;
    struct tbuf tr = {0}, te = {0};

    tapi_start(&a, 1);
    for (int i = 0; i < 20; i++)
        for (int k = 0; k < 2; k++)
            class_line(&tr, "de", k, i);
    for (int i = 20; i < 26; i++)
        for (int k = 0; k < 2; k++)
            class_line(&te, "de", k, i);
    for (int i = 0; i < 3; i++)
        class_line(&te, "de", 2, i); /* tech: no training document */
    json_t *v = train_explicit(&a, "tonly", "CLASS", "de", tr.s, te.s);

    const json_t *w = warning(v, "labels_only_in_test");
    ck_assert_ptr_nonnull(w);
    ck_assert(labels_are(w, (const char *const[]){"tech", NULL}));
    ck_assert_int_eq(ival(w, "count"), 3);
    const json_t *e = entry(v, "tech");
    ck_assert_int_eq(ival(e, "support"), 3);
    ck_assert_int_eq(ival(e, "fn"), 3);
    ck_assert_int_eq(ival(e, "tp"), 0);
    ck_assert_int_eq(ival(e, "train_support"), 0);
    ck_assert(json_real_value(json_object_get(e, "recall")) == 0.0);
    ck_assert_int_eq(ival(entry(v, "sports"), "train_support"), 20);
    /* confusion over sports, food, tech: rows gold, columns predicted; tech never predicted */
    const json_t *cm = json_object_get(json_object_get(json_object_get(v, "metrics"), "confusion"),
                                       "class");
    ck_assert_ptr_nonnull(cm);
    const json_t *names = json_object_get(cm, "labels"), *rows = json_object_get(cm, "matrix");
    ck_assert_int_eq(json_array_size(names), 3);
    ck_assert_int_eq(json_array_size(rows), 3);
    json_int_t diag = 0, total = 0;
    size_t tech = 3;
    for (size_t i = 0; i < 3; i++)
        if (strcmp(json_string_value(json_array_get(names, i)), "tech") == 0)
            tech = i;
    ck_assert_uint_lt(tech, 3);
    for (size_t i = 0; i < 3; i++) {
        json_int_t row = 0;
        for (size_t j = 0; j < 3; j++) {
            json_int_t c = json_integer_value(json_array_get(json_array_get(rows, i), j));
            row += c;
            total += c;
            diag += i == j ? c : 0;
            if (j == tech)
                ck_assert_int_eq(c, 0);
        }
        if (i == tech)
            ck_assert_int_eq(row, 3);
    }
    ck_assert_int_eq(total, 15);
    /* the score counts the tech documents as wrong answers: at most 12 of 15 */
    double score = json_number_value(json_object_get(v, "score"));
    ck_assert_msg(score <= 12.0 / 15.0 + 1e-9, "score %f", score);
    ck_assert_msg(fabs(score - (double)diag / 15.0) < 1e-9, "score %f is not accuracy %lld/15",
                  score, (long long)diag);
    ck_assert_ptr_null(warning(v, "labels_rare_in_train"));
    ck_assert_ptr_null(warning(v, "test_duplicates_dropped"));
    ck_assert_ptr_null(warning(v, "test_set_small"));
    json_decref(v);
    free(tr.s);
    free(te.s);
    tserver_cleanup(&a.ts);
}
END_TEST

/* An ABSA line: text, then (category, polarity) pairs, NULL-terminated. */
static void absa_line(struct tbuf *b, const char *text, const char *const *pairs)
{
    tbuf_add(b, "{\"text\":\"%s\",\"aspects\":[", text);
    for (size_t i = 0; pairs[i]; i += 2)
        tbuf_add(b, "%s{\"category\":\"%s\",\"polarity\":\"%s\"}", i ? "," : "", pairs[i],
                 pairs[i + 1]);
    tbuf_add(b, "]}\n");
}

START_TEST(test_absa_only_in_test_and_rare)
{
    struct tapi a;
    struct tbuf tr = {0}, te = {0};
    char text[160];

    tapi_start(&a, 1);
    for (int i = 0; i < 30; i++) {
        int pos = i % 3 != 0;
        snprintf(text, sizeof text, "the %s number %d was %s", i % 2 ? "pasta" : "pizza", i,
                 pos ? TAPI_POS[i % 4] : TAPI_NEG[i % 4]);
        absa_line(&tr, text,
                  (const char *const[]){"FOOD#QUALITY", pos ? "positive" : "negative", NULL});
        snprintf(text, sizeof text, "the waiter %d was %s", i, pos ? TAPI_POS[i % 4] : "rude");
        absa_line(&tr, text,
                  (const char *const[]){"SERVICE#GENERAL", pos ? "positive" : "negative", NULL});
    }
    /* DRINKS#QUALITY: two training documents only */
    absa_line(&tr, "the wine was great", (const char *const[]){"DRINKS#QUALITY", "positive", NULL});
    absa_line(&tr, "the beer was awful", (const char *const[]){"DRINKS#QUALITY", "negative", NULL});
    for (int i = 0; i < 6; i++) {
        snprintf(text, sizeof text, "our pasta %d was lovely", 100 + i);
        absa_line(&te, text, (const char *const[]){"FOOD#QUALITY", "positive", NULL});
        snprintf(text, sizeof text, "a waiter %d was rude", 100 + i);
        absa_line(&te, text, (const char *const[]){"SERVICE#GENERAL", "negative", NULL});
    }
    /* AMBIENCE#GENERAL only in the test set, once alone and once beside a known category */
    absa_line(&te, "the room was cosy", (const char *const[]){"AMBIENCE#GENERAL", "positive", NULL});
    absa_line(&te, "loud music but the pizza was wonderful",
              (const char *const[]){"AMBIENCE#GENERAL", "negative", "FOOD#QUALITY", "positive",
                                    NULL});
    json_t *v = train_explicit(&a, "absa-tonly", "ABSA", "en", tr.s, te.s);

    const json_t *w = warning(v, "labels_only_in_test");
    ck_assert_ptr_nonnull(w);
    ck_assert(labels_are(w, (const char *const[]){"AMBIENCE#GENERAL", NULL}));
    ck_assert_int_eq(ival(w, "count"), 2);
    w = warning(v, "labels_rare_in_train");
    ck_assert_ptr_nonnull(w);
    ck_assert(labels_are(w, (const char *const[]){"DRINKS#QUALITY", NULL}));
    const json_t *e = entry(v, "AMBIENCE#GENERAL");
    ck_assert_int_eq(ival(e, "support"), 2);
    ck_assert_int_eq(ival(e, "fn"), 2);
    ck_assert_int_eq(ival(e, "tp") + ival(e, "fp"), 0);
    ck_assert_int_eq(ival(entry(v, "DRINKS#QUALITY"), "train_support"), 2);
    const json_t *m = json_object_get(v, "metrics");
    /* category detection counts the unseen category as missed */
    const json_t *cat = json_object_get(json_object_get(m, "absa"), "category");
    ck_assert(json_real_value(json_object_get(cat, "recall")) <= 13.0 / 15.0 + 1e-9);
    /* polarity confusion: 4 × 4 in the documented order, summing to the evaluated pairs */
    const json_t *pc = json_object_get(json_object_get(m, "confusion"), "polarity");
    ck_assert_ptr_nonnull(pc);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(pc, "labels"), 0)),
                     "positive");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(pc, "labels"), 3)),
                     "conflict");
    json_int_t sum = 0;
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 4; j++)
            sum += json_integer_value(
                json_array_get(json_array_get(json_object_get(pc, "matrix"), i), j));
    ck_assert_int_eq(sum, ival(json_object_get(m, "absa"), "polarity_evaluated"));
    json_decref(v);
    free(tr.s);
    free(te.s);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_label_only_in_test_duplicates_small_test)
{
    struct tapi a;
    char *train = tapi_data_label("ar", 70);
    struct tbuf te = {0};

    tapi_start(&a, 1);
    /* test: one exact duplicate of a training document, one document with a new label */
    const char *nl = strchr(train, '\n');
    tbuf_add(&te, "%.*s\n", (int)(nl - train), train);
    tbuf_add(&te, "{\"text\":\"%s %s\",\"labels\":[\"%s\",\"weather\"]}\n", TAPI_AR[0][1],
             TAPI_AR[0][4], TAPI_TOPIC[0]);
    tbuf_add(&te, "{\"text\":\"%s %s\",\"labels\":[\"%s\"]}\n", TAPI_AR[1][2], TAPI_AR[1][5],
             TAPI_TOPIC[1]);
    json_t *v = train_explicit(&a, "lab", "LABEL", "ar", train, te.s);

    const json_t *w = warning(v, "labels_only_in_test");
    ck_assert_ptr_nonnull(w);
    ck_assert(labels_are(w, (const char *const[]){"weather", NULL}));
    ck_assert_int_eq(ival(w, "count"), 1);
    w = warning(v, "test_duplicates_dropped");
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(ival(w, "count"), 1);
    w = warning(v, "test_set_small");
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(ival(w, "count"), 2);
    ck_assert_int_eq(ival(json_object_get(v, "metrics"), "test_size"), 2);
    const json_t *e = entry(v, "weather");
    ck_assert_int_eq(ival(e, "fn"), 1);
    /* LABEL confusion: tp/fp/fn/tn per label, each summing to the test size */
    const json_t *lc = json_object_get(
        json_object_get(json_object_get(v, "metrics"), "confusion"), "label");
    ck_assert_int_eq(json_array_size(lc), 4);
    size_t i;
    json_t *x;
    json_array_foreach(lc, i, x)
    {
        ck_assert_int_eq(ival(x, "tp") + ival(x, "fp") + ival(x, "fn") + ival(x, "tn"), 2);
    }
    ck_assert_str_eq(tapi_str(v, "status"), "READY");
    json_decref(v);
    free(train);
    free(te.s);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_no_warnings_is_empty_array)
{
    struct tapi a;

    tapi_start(&a, 1);
    int64_t s = tapi_session(&a, "c", "CLASS", "en", tapi_data_class("en", 12));
    json_t *v = tapi_wait_ready(&a, tapi_model_on(&a, "plain", "en", s), 60);
    ck_assert(json_is_array(json_object_get(v, "warnings")));
    ck_assert_int_eq(json_array_size(json_object_get(v, "warnings")), 0);
    json_decref(v);
    /* the list items carry it too */
    struct tresp r;
    char path[64];
    tapi_path(&a, 0, NULL, path, sizeof path);
    thttp(&a.ts, "GET", path, a.viewer, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    const json_t *item = json_array_get(json_object_get(r.json, "items"), 0);
    ck_assert_msg(json_is_array(json_object_get(item, "warnings")), "%s", r.body);
    tresp_release(&r);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_many_categories_rare_and_single)
{
    struct tapi a;
    struct tbuf b = {0};

    tapi_start(&a, 1);
    /* 96 categories: 6 frequent ones, the rest with 1 to 3 documents each (auto split) */
    for (int c = 0; c < 96; c++) {
        int n = c < 6 ? 20 : 1 + c % 3;
        for (int i = 0; i < n; i++)
            tbuf_add(&b,
                     "{\"text\":\"cue%d word%d is %s today %d\",\"aspects\":"
                     "[{\"category\":\"E%d#A%d\",\"polarity\":\"%s\"}]}\n",
                     c, c * 7 % 13, i % 2 ? "bad" : "good", i, c / 8, c % 8,
                     i % 2 ? "negative" : "positive");
    }
    int64_t s = tapi_session(&a, "many", "ABSA", "en", b.s);
    json_t *v = tapi_wait_ready(&a, tapi_model_on(&a, "many", "en", s), 120);
    ck_assert_uint_ge(json_array_size(json_object_get(json_object_get(v, "metrics"), "labels")),
                      96);
    ck_assert_ptr_nonnull(warning(v, "labels_rare_in_train"));
    json_decref(v);
    tserver_cleanup(&a.ts);
}
END_TEST

START_TEST(test_skewed_four_classes_and_single_document_class)
{
    struct tapi a;
    struct tbuf b = {0};

    tapi_start(&a, 1);
    /* 40 sports, 12 food, 8 tech, 1 "misc": two thirds in one class, one single document */
    for (int i = 0; i < 40; i++)
        class_line(&b, "en", 0, i);
    for (int i = 0; i < 12; i++)
        class_line(&b, "en", 1, i);
    for (int i = 0; i < 8; i++)
        class_line(&b, "en", 2, i);
    tbuf_add(&b, "{\"text\":\"a lonely umbrella\",\"class\":\"misc\"}\n");
    int64_t s = tapi_session(&a, "skew", "CLASS", "en", b.s);
    json_t *v = tapi_wait_ready(&a, tapi_model_on(&a, "skew", "en", s), 60);
    const json_t *w = warning(v, "labels_rare_in_train");
    ck_assert_ptr_nonnull(w);
    ck_assert(labels_are(w, (const char *const[]){"misc", NULL}));
    ck_assert(json_number_value(json_object_get(v, "score")) > 0.7);
    json_decref(v);
    /* two training documents in all: CV with fewer folds, still a model */
    int64_t t = tfx_session(&a.ts, a.pr, "tiny", "CLASS", "en",
                            "{\"text\":\"football goal\",\"class\":\"sports\"}\n"
                            "{\"text\":\"pizza pasta\",\"class\":\"food\"}\n");
    int64_t u = tfx_session(&a.ts, a.pr, "tiny-test", "CLASS", "en",
                            "{\"text\":\"football match\",\"class\":\"sports\"}\n");
    v = tapi_wait_ready(&a,
                        tapi_model(&a,
                                   "{\"name\":\"tiny\",\"language\":\"en\",\"trainset_annotation_"
                                   "ids\":[%lld],\"testset_annotation_ids\":[%lld]}",
                                   (long long)t, (long long)u),
                        60);
    ck_assert_int_eq(ival(json_object_get(json_object_get(v, "metrics"), "selected"), "cv_folds"),
                     2);
    json_decref(v);
    tserver_cleanup(&a.ts);
}
END_TEST

Suite *api_labelsets_suite(void)
{
    Suite *s = suite_create("api_labelsets");
    TCase *tc = tcase_create("labelsets");

    tcase_set_timeout(tc, 180 * TAPI_SLOW);
    tcase_add_test(tc, test_class_only_in_test);
    tcase_add_test(tc, test_absa_only_in_test_and_rare);
    tcase_add_test(tc, test_label_only_in_test_duplicates_small_test);
    tcase_add_test(tc, test_no_warnings_is_empty_array);
    tcase_add_test(tc, test_many_categories_rare_and_single);
    tcase_add_test(tc, test_skewed_four_classes_and_single_document_class);
    suite_add_tcase(s, tc);
    return s;
}
