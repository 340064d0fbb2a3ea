/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the streaming document parser (src/ingest.c): the result
 * must not depend on how the bytes are cut into chunks, CRLF and blank lines
 * are handled, trailing data and syntax errors are reported with their line
 * or index, strings with brackets and escapes do not confuse the scanner,
 * and aspects follow the merge rule of the data files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "testutil.h"

/* Parse text fed in chunks of chunk bytes (0 = all at once). Returns
 * ingest_finish's result; *errors_out (may be NULL) gets the errors. */
static int parse(const char *type, const char *text, size_t len, size_t chunk, struct ingest **out,
                 json_t **errors_out)
{
    enum model_type t;
    struct ingest *in;
    json_t *errors = NULL;
    int rc;

    ck_assert_int_eq(domain_type_parse(type, &t), 0);
    in = ingest_new(t);
    ck_assert_ptr_nonnull(in);
    if (chunk == 0)
        chunk = len ? len : 1;
    for (size_t i = 0; i < len; i += chunk)
        ingest_feed(in, text + i, len - i < chunk ? len - i : chunk);
    rc = ingest_finish(in, &errors);
    if (errors_out)
        *errors_out = errors;
    else
        json_decref(errors);
    if (out)
        *out = in;
    else
        ingest_free(in);
    return rc;
}

static int has_field(const json_t *errors, const char *field)
{
    size_t i;
    json_t *e;

    json_array_foreach(errors, i, e) if (strcmp(json_string_value(json_object_get(e, "field")),
                                                field) == 0) return 1;
    return 0;
}

/* The canonical result of a parse, as a string, for comparisons across chunkings. */
static char *summary(const char *type, const char *text, size_t len, size_t chunk)
{
    struct ingest *in = NULL;
    json_t *errors = NULL, *out = json_array();
    char *s;
    int rc = parse(type, text, len, chunk, &in, &errors);

    if (rc == 0) {
        for (size_t i = 0; i < ingest_count(in); i++) {
            const struct db_doc *d = ingest_doc(in, i);

            json_array_append_new(out, json_pack("{s:s?, s:s, s:s?, s:s?, s:s?}", "external_id",
                                                 d->external_id, "text", d->text, "class", d->cls,
                                                 "labels", d->labels, "aspects", d->aspects));
        }
    } else {
        json_array_append(out, errors);
    }
    s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(out);
    json_decref(errors);
    ingest_free(in);
    return s;
}

static const char lines_doc[] =
    "{\"text\":\"a [b] {c}\",\"external_id\":\"e1\",\"aspects\":[{\"category\":\"F\","
    "\"polarity\":\"positive\"}]}\r\n"
    "\r\n"
    "   \n"
    "{\"text\":\"quote \\\" and \\\\ and \\u00e4 and ]}\",\"aspects\":[]}\n"
    "{\"text\":\"\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a\",\"aspects\":[{\"category\":\"G\","
    "\"polarity\":\"neutral\"}],\"id\":\"ignored\"}";

static const char array_doc[] =
    "\n  [ {\"text\":\"x ] , [ { \\\" }\",\"aspects\":[]} ,\r\n"
    "{\"text\":\"y\",\"aspects\":[{\"category\":\"A\",\"polarity\":\"negative\"}],"
    "\"nested\":{\"deep\":[[{}],{\"s\":\"]]}}\"}]}}\n]\n  ";

START_TEST(test_chunk_boundaries_lines)
{
    char *whole = summary("ABSA", lines_doc, strlen(lines_doc), 0);

    ck_assert_msg(strstr(whole, "\"text\":\"a [b] {c}\"") != NULL, "%s", whole);
    ck_assert_msg(strstr(whole, "quote \\\" and \\\\ and \xc3\xa4 and ]}") != NULL, "%s", whole);
    for (size_t chunk = 1; chunk <= 17; chunk++) {
        char *s = summary("ABSA", lines_doc, strlen(lines_doc), chunk);

        ck_assert_msg(strcmp(s, whole) == 0, "chunk %zu:\n%s\nvs\n%s", chunk, s, whole);
        free(s);
    }
    free(whole);
}
END_TEST

START_TEST(test_chunk_boundaries_array)
{
    struct ingest *in = NULL;
    char *whole;

    ck_assert_int_eq(parse("ABSA", array_doc, strlen(array_doc), 0, &in, NULL), 0);
    ck_assert_uint_eq(ingest_count(in), 2);
    ck_assert_str_eq(ingest_doc(in, 0)->text, "x ] , [ { \" }");
    ck_assert_str_eq(ingest_doc(in, 1)->text, "y");
    ingest_free(in);
    whole = summary("ABSA", array_doc, strlen(array_doc), 0);
    for (size_t chunk = 1; chunk <= 13; chunk++) {
        char *s = summary("ABSA", array_doc, strlen(array_doc), chunk);

        ck_assert_msg(strcmp(s, whole) == 0, "chunk %zu", chunk);
        free(s);
    }
    free(whole);
}
END_TEST

START_TEST(test_lines_fields_and_count)
{
    struct ingest *in = NULL;

    ck_assert_int_eq(parse("ABSA", lines_doc, strlen(lines_doc), 1, &in, NULL), 0);
    ck_assert_uint_eq(ingest_count(in), 3);
    ck_assert_str_eq(ingest_doc(in, 0)->external_id, "e1");
    ck_assert_ptr_null(ingest_doc(in, 1)->external_id);
    ck_assert_str_eq(ingest_doc(in, 0)->aspects,
                     "[{\"category\":\"F\",\"polarity\":\"positive\"}]");
    ck_assert_str_eq(ingest_doc(in, 1)->aspects, "[]");
    ck_assert_ptr_null(ingest_doc(in, 0)->cls);
    ck_assert_ptr_null(ingest_doc(in, 0)->labels);
    ingest_free(in);
}
END_TEST

START_TEST(test_line_numbers)
{
    static const char text[] = "\n"                                          /* 1 */
                               "{\"text\":\"a\",\"class\":\"x\"}\r\n"        /* 2 */
                               "\r\n"                                        /* 3 */
                               "{\"text\":\"b\"}\n"                          /* 4: no class */
                               "{\"text\":\"c\",\"class\":\"x\"} trailing\n" /* 5 */
                               "{\"text\":\"d\",\"class\":\"x\"}\n"          /* 6 */
                               "{\"text\":";                                 /* 7: cut */
    json_t *errors = NULL;

    for (size_t chunk = 0; chunk <= 3; chunk++) {
        ck_assert_int_eq(parse("CLASS", text, strlen(text), chunk, NULL, &errors), -1);
        ck_assert_int_eq(json_array_size(errors), 3);
        ck_assert(has_field(errors, "line 4"));
        ck_assert(has_field(errors, "line 5"));
        ck_assert(has_field(errors, "line 7"));
        json_decref(errors);
    }
}
END_TEST

START_TEST(test_array_errors)
{
    static const struct {
        const char *text, *field;
    } cases[] = {
        {"[{\"text\":\"a\",\"class\":\"x\"},{\"text\":\"b\"}]", "documents[1]"},
        {"[{\"text\":\"a\",\"class\":\"x\"} {\"text\":\"b\",\"class\":\"x\"}]", "documents[1]"},
        {"[{\"text\":\"a\",\"class\":\"x\"},]", "documents[1]"},
        {"[{\"text\":\"a\",\"class\":\"x\"},1]", "documents[1]"},
        {"[{\"text\":\"a\",\"class\":\"x\"}", "documents[1]"},
        {"[{\"text\":\"a\",\"class\":\"x\"}]]", "documents[1]"},
        {"[{\"text\":\"a\",\"class\":\"x\"}] {}", "documents[1]"},
        {"[{\"text\":\"a\",\"class\":\"x\"},{\"text\":\"b\",\"class\":\"x\"]", "documents[1]"},
        {"[{\"text\":\"a\",\"class\":\"x\"}", "documents[1]"},
        {"[", "documents[0]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t chunk = 0; chunk <= 2; chunk++) {
            json_t *errors = NULL;

            ck_assert_msg(
                parse("CLASS", cases[i].text, strlen(cases[i].text), chunk, NULL, &errors) == -1,
                "%s accepted", cases[i].text);
            ck_assert_msg(has_field(errors, cases[i].field), "%s: %s", cases[i].text,
                          json_dumps(errors, 0));
            json_decref(errors);
        }
    }
}
END_TEST

START_TEST(test_empty_inputs)
{
    static const char *const empty[] = {"", "\n\n", " \r\n\t ", "[]", " [ ] ", NULL};

    for (const char *const *e = empty; *e; e++) {
        json_t *errors = NULL;

        ck_assert_int_eq(parse("LABEL", *e, strlen(*e), 1, NULL, &errors), -1);
        ck_assert(has_field(errors, "body"));
        json_decref(errors);
    }
}
END_TEST

START_TEST(test_nul_byte_is_not_blank)
{
    /* a line that starts with a NUL byte is not an empty line: it must be reported, not dropped */
    static const char text[] = "{\"text\":\"a\",\"labels\":[]}\n\0{\"text\":\"b\"}\n";
    json_t *errors = NULL;

    ck_assert_int_eq(parse("LABEL", text, sizeof(text) - 1, 0, NULL, &errors), -1);
    ck_assert(has_field(errors, "line 2"));
    json_decref(errors);
    ck_assert_int_eq(parse("LABEL", text, sizeof(text) - 2, 1, NULL, &errors), -1);
    json_decref(errors);
}
END_TEST

START_TEST(test_aspect_merge_rule)
{
    static const char text[] = "{\"text\":\"t\",\"aspects\":["
                               "{\"category\":\"FOOD\",\"polarity\":\"positive\"},"
                               "{\"category\":\"SERVICE\",\"polarity\":\"negative\"},"
                               "{\"category\":\"FOOD\",\"polarity\":\"positive\"},"
                               "{\"category\":\"AMBIENCE\",\"polarity\":\"neutral\"},"
                               "{\"category\":\"SERVICE\",\"polarity\":\"positive\"},"
                               "{\"category\":\"SERVICE\",\"polarity\":\"neutral\"},"
                               "{\"category\":\"PRICE\",\"polarity\":\"conflict\"},"
                               "{\"category\":\"PRICE\",\"polarity\":\"conflict\"}]}\n";
    struct ingest *in = NULL;
    json_t *asp;

    ck_assert_int_eq(parse("ABSA", text, strlen(text), 0, &in, NULL), 0);
    asp = json_loads(ingest_doc(in, 0)->aspects, 0, NULL);
    ck_assert_ptr_nonnull(asp);
    /* one entry per category, first-seen order; differing polarities -> conflict;
     * duplicate pairs merged */
    ck_assert_uint_eq(json_array_size(asp), 4);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(asp, 0), "category")),
                     "FOOD");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(asp, 0), "polarity")),
                     "positive");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(asp, 1), "category")),
                     "SERVICE");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(asp, 1), "polarity")),
                     "conflict");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(asp, 2), "polarity")),
                     "neutral");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(asp, 3), "polarity")),
                     "conflict");
    json_decref(asp);
    ingest_free(in);
}
END_TEST

START_TEST(test_type_fields_stored)
{
    static const char text[] = "{\"text\":\"a\",\"labels\":[\"only\"]}\n"
                               "{\"text\":\"b\",\"class\":\"c\",\"labels\":[\"x\",\"y\"]}\n";
    static const char cl[] = "{\"text\":\"a\",\"class\":\"k\",\"labels\":[\"x\",\"x\",\"y\"]}\n";
    struct ingest *in = NULL;

    /* CLASS: the single label becomes the class; an explicit class wins */
    ck_assert_int_eq(parse("CLASS", text, strlen(text), 0, &in, NULL), 0);
    ck_assert_str_eq(ingest_doc(in, 0)->cls, "only");
    ck_assert_str_eq(ingest_doc(in, 1)->cls, "c");
    ck_assert_ptr_null(ingest_doc(in, 0)->labels);
    ingest_free(in);
    /* CLASSLABEL keeps both; duplicate labels collapse */
    ck_assert_int_eq(parse("CLASSLABEL", cl, strlen(cl), 0, &in, NULL), 0);
    ck_assert_str_eq(ingest_doc(in, 0)->cls, "k");
    ck_assert_str_eq(ingest_doc(in, 0)->labels, "[\"x\",\"y\"]");
    ingest_free(in);
}
END_TEST

START_TEST(test_error_cap)
{
    size_t n = INGEST_MAX_ERRORS + 20, len = 0;
    char *text = malloc(n * 16);
    json_t *errors = NULL;

    ck_assert_ptr_nonnull(text);
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "{\"text\":\"t\"}\n");
    ck_assert_int_eq(parse("CLASS", text, len, 0, NULL, &errors), -1);
    /* INGEST_MAX_ERRORS entries plus one that says how many were left out */
    ck_assert_uint_eq(json_array_size(errors), INGEST_MAX_ERRORS + 1);
    ck_assert(has_field(errors, "line 1"));
    ck_assert(has_field(errors, "body"));
    json_decref(errors);
    free(text);
}
END_TEST

START_TEST(test_oversized_document)
{
    size_t len = INGEST_MAX_DOC + 100;
    char *text = malloc(len + 64);
    json_t *errors = NULL;
    struct ingest *in = NULL;

    ck_assert_ptr_nonnull(text);
    memcpy(text, "{\"text\":\"", 9);
    memset(text + 9, 'a', len - 9);
    len += (size_t)sprintf(text + len, "\",\"labels\":[]}\n{\"text\":\"ok\",\"labels\":[]}\n");
    ck_assert_int_eq(parse("LABEL", text, len, 65536, NULL, &errors), -1);
    ck_assert(has_field(errors, "line 1"));
    ck_assert(!has_field(errors, "line 2"));
    json_decref(errors);
    /* the parser recovers: a following valid stream works on a new parser */
    ck_assert_int_eq(parse("LABEL", "{\"text\":\"ok\",\"labels\":[]}", 25, 0, &in, NULL), 0);
    ingest_free(in);
    free(text);
}
END_TEST

/* A UTF-8 byte-order mark before the first document is skipped, in any chunking. */
START_TEST(test_bom_skipped)
{
    static const char text[] = "\xEF\xBB\xBF{\"text\":\"a\",\"class\":\"x\"}\n";
    struct ingest *in = NULL;

    for (size_t chunk = 1; chunk <= 4; chunk++) {
        ck_assert_int_eq(parse("CLASS", text, strlen(text), chunk, &in, NULL), 0);
        ck_assert_uint_eq(ingest_count(in), 1);
        ck_assert_str_eq(ingest_doc(in, 0)->text, "a");
        ingest_free(in);
    }
}
END_TEST

Suite *ingest_suite(void)
{
    Suite *s = suite_create("ingest");
    TCase *tc = tcase_create("parser");

    tcase_add_test(tc, test_chunk_boundaries_lines);
    tcase_add_test(tc, test_chunk_boundaries_array);
    tcase_add_test(tc, test_lines_fields_and_count);
    tcase_add_test(tc, test_line_numbers);
    tcase_add_test(tc, test_array_errors);
    tcase_add_test(tc, test_empty_inputs);
    tcase_add_test(tc, test_nul_byte_is_not_blank);
    tcase_add_test(tc, test_aspect_merge_rule);
    tcase_add_test(tc, test_type_fields_stored);
    tcase_add_test(tc, test_error_cap);
    tcase_add_test(tc, test_oversized_document);
    tcase_add_test(tc, test_bom_skipped);
    suite_add_tcase(s, tc);
    return s;
}
