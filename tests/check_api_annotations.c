/* SPDX-License-Identifier: MIT */
/*
 * HTTP tests of labeling sessions (issue 2): create/list/get with
 * document_count and the label inventory, document uploads as a JSON array
 * and as NDJSON, all-or-nothing on any bad document, per-type rules, the
 * real data files of ../shared/data, UTF-8 round trips, 413 over 64 MiB
 * (streamed, never held in memory) and 415.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

struct world {
    struct tserver ts;
    int64_t ws, pr, user;
    char tok[65];
};

static void world_up(struct world *w)
{
    memset(w, 0, sizeof(*w));
    tserver_start(&w->ts, 1);
    w->ws = tfx_workspace(&w->ts, "ws");
    w->pr = tfx_project(&w->ts, w->ws, "p");
    w->user = tfx_user(&w->ts, "ann", 0, w->tok);
    tfx_member(&w->ts, w->pr, w->user, "ANNOTATOR");
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int64_t jint(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* Create a session over HTTP; returns its id. */
static int64_t session(struct world *w, const char *name, const char *type, const char *lang)
{
    struct tresp r;
    char path[96], body[512];
    int64_t id;

    snprintf(path, sizeof(path), "/projects/%lld/annotations", (long long)w->pr);
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"type\":\"%s\",\"language\":\"%s\"}", name,
             type, lang);
    tjson(&w->ts, "POST", path, w->tok, body, &r);
    ck_assert_msg(r.status == 201, "%s", r.body);
    id = jint(r.json, "id");
    tresp_release(&r);
    return id;
}

static void upload(struct world *w, int64_t id, const char *ctype, const char *body,
                   struct tresp *r)
{
    char path[128];

    snprintf(path, sizeof(path), "/projects/%lld/annotations/%lld/documents", (long long)w->pr,
             (long long)id);
    thttp(&w->ts, "POST", path, w->tok, ctype, body, r);
}

static void get_session(struct world *w, int64_t id, struct tresp *r)
{
    char path[128];

    snprintf(path, sizeof(path), "/projects/%lld/annotations/%lld", (long long)w->pr,
             (long long)id);
    thttp(&w->ts, "GET", path, w->tok, NULL, NULL, r);
    ck_assert_msg(r->status == 200, "%s", r->body);
}

static int64_t doc_count(struct world *w, int64_t id)
{
    struct tresp r;
    int64_t n;

    get_session(w, id, &r);
    n = jint(r.json, "document_count");
    tresp_release(&r);
    return n;
}

/* ---- sessions ----------------------------------------------------------------------- */

START_TEST(test_session_create_get_list)
{
    struct world w;
    struct tresp r;
    char path[96], loc[128];
    int64_t a, b;

    world_up(&w);
    snprintf(path, sizeof(path), "/projects/%lld/annotations", (long long)w.pr);
    tjson(&w.ts, "POST", path, w.tok,
          "{\"name\":\"  Hotels  \",\"type\":\"ABSA\",\"language\":\"en\"}", &r);
    ck_assert_msg(r.status == 201, "%s", r.body);
    a = jint(r.json, "id");
    ck_assert_int_ge(a, 1);
    ck_assert_str_eq(jstr(r.json, "name"), "Hotels");
    ck_assert_str_eq(jstr(r.json, "type"), "ABSA");
    ck_assert_str_eq(jstr(r.json, "language"), "en");
    ck_assert_int_eq(jint(r.json, "project_id"), w.pr);
    ck_assert_int_eq(jint(r.json, "document_count"), 0);
    ck_assert(json_is_object(json_object_get(r.json, "labels")));
    snprintf(loc, sizeof(loc), "%s/%lld", path, (long long)a);
    ck_assert_str_eq(r.location, loc);
    tresp_release(&r);
    b = session(&w, "Spam", "CLASS", "de");
    thttp(&w.ts, "GET", path, w.tok, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 2);
    ck_assert_int_eq(jint(json_array_get(json_object_get(r.json, "items"), 0), "id"), b);
    ck_assert_int_eq(jint(json_array_get(json_object_get(r.json, "items"), 1), "id"), a);
    tresp_release(&r);
    /* 404 for a session of no / another project */
    snprintf(loc, sizeof(loc), "%s/99999", path);
    thttp(&w.ts, "GET", loc, w.tok, NULL, NULL, &r);
    tassert_problem(&r, 404);
    tresp_release(&r);
    {
        int64_t p2 = tfx_project(&w.ts, w.ws, "p2");
        int64_t other;
        char p[128];

        tfx_member(&w.ts, p2, w.user, "OWNER");
        other = tfx_session(&w.ts, p2, "o", "LABEL", "en", "{\"text\":\"x\",\"labels\":[]}\n");
        snprintf(p, sizeof(p), "%s/%lld", path, (long long)other);
        thttp(&w.ts, "GET", p, w.tok, NULL, NULL, &r);
        tassert_problem(&r, 404);
        tresp_release(&r);
    }
    tserver_cleanup(&w.ts);
}
END_TEST

START_TEST(test_session_validation)
{
    static const char *const bad[] = {
        "{\"type\":\"ABSA\",\"language\":\"en\"}",
        "{\"name\":\"\",\"type\":\"ABSA\",\"language\":\"en\"}",
        "{\"name\":\"x\",\"type\":\"BASE\",\"language\":\"en\"}",
        "{\"name\":\"x\",\"type\":\"absa\",\"language\":\"en\"}",
        "{\"name\":\"x\",\"type\":\"ABSA\",\"language\":\"fr\"}",
        "{\"name\":\"x\",\"type\":\"ABSA\"}",
        "{\"name\":\"x\",\"language\":\"en\"}",
        "{\"name\":\"x\",\"type\":\"ABSA\",\"language\":\"en\",\"extra\":1}",
        "[]",
        NULL};
    struct world w;
    struct tresp r;
    char path[96];

    world_up(&w);
    snprintf(path, sizeof(path), "/projects/%lld/annotations", (long long)w.pr);
    for (const char *const *b = bad; *b; b++) {
        tjson(&w.ts, "POST", path, w.tok, *b, &r);
        ck_assert_msg(r.status == 400, "%s -> %ld", *b, r.status);
        tassert_problem(&r, 400);
        tresp_release(&r);
    }
    /* every invalid field at once */
    tjson(&w.ts, "POST", path, w.tok, "{\"name\":1,\"type\":\"X\",\"language\":\"y\"}", &r);
    tassert_problem(&r, 400);
    ck_assert_ptr_nonnull(terror(&r, "name"));
    ck_assert_ptr_nonnull(terror(&r, "type"));
    ck_assert_ptr_nonnull(terror(&r, "language"));
    tresp_release(&r);
    thttp(&w.ts, "POST", path, w.tok, "text/plain", "{}", &r);
    tassert_problem(&r, 415);
    tresp_release(&r);
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM annotations"), 0);
    tserver_cleanup(&w.ts);
}
END_TEST

/* ---- uploads ------------------------------------------------------------------------ */

START_TEST(test_upload_array_and_ndjson)
{
    struct world w;
    struct tresp r;
    int64_t s;
    json_t *inv;

    world_up(&w);
    s = session(&w, "s", "ABSA", "en");
    upload(&w, s, "application/json",
           "[{\"text\":\"Great "
           "food\",\"aspects\":[{\"category\":\"FOOD\",\"polarity\":\"positive\"}]},"
           " {\"text\":\"Nothing to say\",\"aspects\":[]}]",
           &r);
    ck_assert_msg(r.status == 200 || r.status == 201, "%s", r.body);
    ck_assert_int_eq(jint(r.json, "documents_added"), 2);
    tresp_release(&r);
    upload(&w, s, "application/x-ndjson",
           "{\"text\":\"Slow "
           "service\",\"aspects\":[{\"category\":\"SERVICE\",\"polarity\":\"negative\"},"
           "{\"category\":\"FOOD\",\"polarity\":\"positive\"}]}\n"
           "\n"
           "{\"text\":\"Mixed\",\"aspects\":[{\"category\":\"FOOD\",\"polarity\":\"positive\"},"
           "{\"category\":\"FOOD\",\"polarity\":\"negative\"}],\"id\":\"x1\",\"lang\":\"en\","
           "\"split\":\"train\",\"labels\":[\"FOOD\"]}\n",
           &r);
    ck_assert_msg(r.status == 200 || r.status == 201, "%s", r.body);
    ck_assert_int_eq(jint(r.json, "documents_added"), 2);
    tresp_release(&r);
    ck_assert_int_eq(doc_count(&w, s), 4);
    /* label inventory: aspect categories and polarities (the merged 'Mixed' is conflict) */
    get_session(&w, s, &r);
    inv = json_object_get(r.json, "labels");
    ck_assert_int_eq(jint(json_object_get(inv, "aspect_categories"), "FOOD"), 3);
    ck_assert_int_eq(jint(json_object_get(inv, "aspect_categories"), "SERVICE"), 1);
    ck_assert_int_eq(jint(json_object_get(inv, "polarities"), "conflict"), 1);
    ck_assert_int_eq(jint(json_object_get(inv, "polarities"), "positive"), 2);
    ck_assert_int_eq(jint(json_object_get(inv, "polarities"), "negative"), 1);
    tresp_release(&r);
    /* the list shows the counts too */
    {
        char path[96];

        snprintf(path, sizeof(path), "/projects/%lld/annotations", (long long)w.pr);
        thttp(&w.ts, "GET", path, w.tok, NULL, NULL, &r);
        ck_assert_int_eq(
            jint(json_array_get(json_object_get(r.json, "items"), 0), "document_count"), 4);
        inv = json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "labels");
        ck_assert_int_eq(jint(json_object_get(inv, "aspect_categories"), "FOOD"), 3);
        ck_assert_int_eq(jint(json_object_get(inv, "polarities"), "conflict"), 1);
        tresp_release(&r);
    }
    tserver_cleanup(&w.ts);
}
END_TEST

START_TEST(test_upload_all_or_nothing)
{
    struct world w;
    struct tresp r;
    int64_t s;

    world_up(&w);
    s = session(&w, "s", "CLASS", "en");
    /* array: the bad document is named by index */
    upload(&w, s, "application/json",
           "[{\"text\":\"a\",\"class\":\"x\"},{\"text\":\"b\",\"class\":\"y\"},{\"text\":\"\","
           "\"class\":\"x\"},{\"text\":\"d\",\"class\":\"x\"},{\"text\":\"e\"}]",
           &r);
    tassert_problem(&r, 400);
    ck_assert_ptr_nonnull(terror(&r, "documents[2]"));
    ck_assert_ptr_nonnull(terror(&r, "documents[4]"));
    ck_assert_ptr_null(terror(&r, "documents[0]"));
    tresp_release(&r);
    ck_assert_int_eq(doc_count(&w, s), 0);
    /* NDJSON: by line number, blank lines counted */
    upload(&w, s, "application/x-ndjson",
           "{\"text\":\"a\",\"class\":\"x\"}\n\n{\"text\":\"b\",\"class\":7}\n{\"text\":\"c\","
           "\"class\":\"x\"}\n{not json}\n",
           &r);
    tassert_problem(&r, 400);
    ck_assert_msg(terror(&r, "line 3") != NULL, "%s", r.body);
    ck_assert_msg(terror(&r, "line 5") != NULL, "%s", r.body);
    tresp_release(&r);
    /* the last document is bad */
    upload(&w, s, "application/x-ndjson", "{\"text\":\"a\",\"class\":\"x\"}\n{\"text\":\"b\"}", &r);
    tassert_problem(&r, 400);
    ck_assert_msg(terror(&r, "line 2") != NULL, "%s", r.body);
    tresp_release(&r);
    /* broken array syntax */
    upload(&w, s, "application/json", "[{\"text\":\"a\",\"class\":\"x\"} {\"text\":\"b\"}]", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    upload(&w, s, "application/json", "[{\"text\":\"a\",\"class\":\"x\"}", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    upload(&w, s, "application/json", "[{\"text\":\"a\",\"class\":\"x\"}] trailing", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    upload(&w, s, "application/json", "[{\"text\":\"a\",\"class\":\"x\"},]", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    upload(&w, s, "application/json", "[\"text\"]", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    /* empty inputs */
    upload(&w, s, "application/json", "[]", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    upload(&w, s, "application/x-ndjson", "\n\n", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    upload(&w, s, "application/x-ndjson", "", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    ck_assert_int_eq(doc_count(&w, s), 0);
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM documents"), 0);
    /* an unknown session: 404 */
    upload(&w, 4242, "application/x-ndjson", "{\"text\":\"a\",\"class\":\"x\"}\n", &r);
    tassert_problem(&r, 404);
    tresp_release(&r);
    /* wrong media type */
    upload(&w, s, "text/csv", "text,class\na,x\n", &r);
    tassert_problem(&r, 415);
    tresp_release(&r);
    upload(&w, s, NULL, "{\"text\":\"a\",\"class\":\"x\"}\n", &r);
    tassert_problem(&r, 415);
    tresp_release(&r);
    tserver_cleanup(&w.ts);
}
END_TEST

/* Upload one NDJSON line to a fresh session of type; returns the status. */
static long one(struct world *w, const char *type, const char *line)
{
    struct tresp r;
    int64_t s = session(w, "t", type, "en");
    long st;

    upload(w, s, "application/x-ndjson", line, &r);
    st = r.status;
    if (st != 201)
        tassert_problem(&r, 400);
    tresp_release(&r);
    ck_assert_int_eq(doc_count(w, s), st == 201 ? 1 : 0);
    return st;
}

START_TEST(test_upload_type_rules)
{
    struct world w;

    world_up(&w);
    /* CLASS: class, or labels with exactly one entry */
    ck_assert_int_eq(one(&w, "CLASS", "{\"text\":\"t\",\"class\":\"a\"}"), 201);
    ck_assert_int_eq(one(&w, "CLASS", "{\"text\":\"t\",\"labels\":[\"a\"]}"), 201);
    ck_assert_int_eq(one(&w, "CLASS", "{\"text\":\"t\",\"labels\":[\"a\",\"b\"]}"), 400);
    ck_assert_int_eq(one(&w, "CLASS", "{\"text\":\"t\",\"labels\":[]}"), 400);
    ck_assert_int_eq(one(&w, "CLASS", "{\"text\":\"t\"}"), 400);
    ck_assert_int_eq(one(&w, "CLASS", "{\"text\":\"t\",\"class\":\"\"}"), 400);
    /* LABEL: labels (may be empty), entries are non-empty strings */
    ck_assert_int_eq(one(&w, "LABEL", "{\"text\":\"t\",\"labels\":[\"a\",\"b\"]}"), 201);
    ck_assert_int_eq(one(&w, "LABEL", "{\"text\":\"t\",\"labels\":[]}"), 201);
    ck_assert_int_eq(one(&w, "LABEL", "{\"text\":\"t\"}"), 400);
    ck_assert_int_eq(one(&w, "LABEL", "{\"text\":\"t\",\"labels\":\"a\"}"), 400);
    ck_assert_int_eq(one(&w, "LABEL", "{\"text\":\"t\",\"labels\":[1]}"), 400);
    /* CLASSLABEL: both */
    ck_assert_int_eq(one(&w, "CLASSLABEL", "{\"text\":\"t\",\"class\":\"c\",\"labels\":[\"a\"]}"),
                     201);
    ck_assert_int_eq(one(&w, "CLASSLABEL", "{\"text\":\"t\",\"class\":\"c\"}"), 400);
    /* ABSA: aspects (empty is a document without opinions) */
    ck_assert_int_eq(one(&w, "ABSA", "{\"text\":\"t\",\"aspects\":[]}"), 201);
    ck_assert_int_eq(one(&w, "ABSA", "{\"text\":\"t\"}"), 400);
    ck_assert_int_eq(one(&w, "ABSA", "{\"text\":\"t\",\"aspects\":[{\"category\":\"A\"}]}"), 400);
    ck_assert_int_eq(
        one(&w, "ABSA",
            "{\"text\":\"t\",\"aspects\":[{\"category\":\"A\",\"polarity\":\"good\"}]}"),
        400);
    ck_assert_int_eq(
        one(&w, "ABSA",
            "{\"text\":\"t\",\"aspects\":[{\"category\":\"\",\"polarity\":\"neutral\"}]}"),
        400);
    ck_assert_int_eq(one(&w, "ABSA", "{\"text\":\"t\",\"aspects\":[\"A\"]}"), 400);
    /* text: required, a non-empty string */
    ck_assert_int_eq(one(&w, "ABSA", "{\"aspects\":[]}"), 400);
    ck_assert_int_eq(one(&w, "ABSA", "{\"text\":5,\"aspects\":[]}"), 400);
    ck_assert_int_eq(one(&w, "ABSA", "{\"text\":\"   \",\"aspects\":[]}"), 400);
    ck_assert_int_eq(one(&w, "ABSA", "{\"text\":\"a\\u0000b\",\"aspects\":[]}"), 400);
    /* invalid UTF-8 */
    ck_assert_int_eq(one(&w, "ABSA", "{\"text\":\"\xc3\x28\",\"aspects\":[]}"), 400);
    /* external_id must be a string; extra keys are ignored */
    ck_assert_int_eq(one(&w, "ABSA", "{\"text\":\"t\",\"aspects\":[],\"external_id\":3}"), 400);
    ck_assert_int_eq(one(&w, "ABSA",
                         "{\"text\":\"t\",\"aspects\":[],\"external_id\":\"e1\","
                         "\"id\":9,\"lang\":\"en\",\"split\":\"test\",\"x\":{}}"),
                     201);
    /* a document must be an object */
    ck_assert_int_eq(one(&w, "ABSA", "[1]"), 400);
    ck_assert_int_eq(one(&w, "ABSA", "\"text\""), 400);
    tserver_cleanup(&w.ts);
}
END_TEST

START_TEST(test_utf8_round_trip)
{
    struct world w;
    struct tresp r;
    int64_t s;
    const char *de = "Gr\xc3\xbc\xc3\x9f"
                     "e aus M\xc3\xbcnchen \xc3\x84\xc3\x96\xc3\x9c";
    const char *ar = "\xd8\xa7\xd9\x84\xd8\xb7\xd8\xb9\xd8\xa7\xd9\x85 \xd9\x84\xd8\xb0\xd9\x8a"
                     "\xd8\xb0";
    char body[512];

    world_up(&w);
    s = session(&w, de, "CLASS", "de");
    get_session(&w, s, &r);
    ck_assert_str_eq(jstr(r.json, "name"), de);
    tresp_release(&r);
    snprintf(body, sizeof(body),
             "{\"text\":\"%s\",\"class\":\"%s\"}\n{\"text\":\"%s\",\"class\":\"\xc3\xbc\"}\n", ar,
             ar, de);
    upload(&w, s, "application/x-ndjson", body, &r);
    ck_assert_msg(r.status == 201, "%s", r.body);
    tresp_release(&r);
    get_session(&w, s, &r);
    ck_assert_int_eq(jint(json_object_get(json_object_get(r.json, "labels"), "classes"), ar), 1);
    ck_assert_int_eq(
        jint(json_object_get(json_object_get(r.json, "labels"), "classes"), "\xc3\xbc"), 1);
    tresp_release(&r);
    /* the stored text is byte-identical */
    {
        char sql[256];

        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM documents WHERE text = '%s'", ar);
        ck_assert_int_eq(tsql_int(&w.ts, sql), 1);
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM documents WHERE text = '%s'", de);
        ck_assert_int_eq(tsql_int(&w.ts, sql), 1);
    }
    /* an Arabic session name */
    s = session(&w, ar, "ABSA", "ar");
    get_session(&w, s, &r);
    ck_assert_str_eq(jstr(r.json, "name"), ar);
    ck_assert_str_eq(jstr(r.json, "language"), "ar");
    tresp_release(&r);
    /* and an Arabic model name over the whole chain */
    {
        char tok[65], path[96], mb[512];
        int64_t m = tfx_user(&w.ts, "mgr", 0, tok);

        tfx_member(&w.ts, w.pr, m, "MANAGER");
        upload(&w, s, "application/x-ndjson",
               "{\"text\":\"\xd8\xac\xd9\x8a\xd8\xaf\",\"aspects\":[]}", &r);
        ck_assert_int_eq(r.status, 201);
        tresp_release(&r);
        snprintf(path, sizeof(path), "/projects/%lld/models", (long long)w.pr);
        snprintf(mb, sizeof(mb),
                 "{\"name\":\"%s\",\"display_name\":\"%s\",\"language\":\"ar\","
                 "\"annotation_ids\":[%lld]}",
                 ar, de, (long long)s);
        tjson(&w.ts, "POST", path, tok, mb, &r);
        ck_assert_msg(r.status == 201, "%s", r.body);
        ck_assert_str_eq(jstr(r.json, "name"), ar);
        ck_assert_str_eq(jstr(r.json, "display_name"), de);
        tresp_release(&r);
    }
    tserver_cleanup(&w.ts);
}
END_TEST

/* The real corpora: every line imports as-is over HTTP. */
static void import_file(struct world *w, const char *file, const char *type, const char *lang)
{
    char path[512], upath[128];
    struct tresp r;
    FILE *f;
    char *buf;
    long len;
    int64_t s, lines = 0;

    if (!tdata(file, path, sizeof(path)))
        return; /* data not shipped with this checkout: nothing to check */
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fread(buf, 1, (size_t)len, f), len);
    buf[len] = '\0';
    fclose(f);
    for (long i = 0; i < len; i++)
        lines += buf[i] == '\n';
    if (len > 0 && buf[len - 1] != '\n')
        lines++;
    s = session(w, file, type, lang);
    snprintf(upath, sizeof(upath), "/projects/%lld/annotations/%lld/documents", (long long)w->pr,
             (long long)s);
    thttp(&w->ts, "POST", upath, w->tok, "application/x-ndjson", buf, &r);
    free(buf);
    ck_assert_msg(r.status == 201, "%s: %ld %.400s", file, r.status, r.body);
    ck_assert_int_eq(jint(r.json, "documents_added"), lines);
    tresp_release(&r);
    ck_assert_int_eq(doc_count(w, s), lines);
}

START_TEST(test_real_data_files)
{
    struct world w;

    world_up(&w);
    import_file(&w, "semeval16_en_restaurants.jsonl", "ABSA", "en");
    import_file(&w, "germeval2018_de.jsonl", "CLASS", "de");
    import_file(&w, "spamassassin_en.jsonl", "CLASS", "en");
    /* LABEL accepts the same files (labels as the label set) */
    import_file(&w, "semeval16_en_restaurants.jsonl", "LABEL", "en");
    tserver_cleanup(&w.ts);
}
END_TEST

/* ---- size and media type -------------------------------------------------------------- */

/* A single, endless JSON line: '{"text":"aaaa....' (never valid, never buffered). */
struct big {
    unsigned long long left, sent;
};

static size_t gen_big(char *buf, size_t len, void *ctx)
{
    static const char head[] = "{\"text\":\"";
    struct big *b = ctx;
    size_t n = len < b->left ? len : (size_t)b->left;

    memset(buf, 'a', n);
    for (size_t i = 0; i < n && b->sent + i < sizeof(head) - 1; i++)
        buf[i] = head[b->sent + i];
    b->left -= n;
    b->sent += n;
    return n;
}

START_TEST(test_upload_413)
{
    struct world w;
    struct tresp r;
    struct big b;
    int64_t s;
    char path[128];
    const unsigned long long over = (64ULL << 20) + 1;

    world_up(&w);
    s = session(&w, "big", "ABSA", "en");
    snprintf(path, sizeof(path), "/projects/%lld/annotations/%lld/documents", (long long)w.pr,
             (long long)s);
    /* declared length over the cap: refused before the body is read */
    b = (struct big){over, 0};
    thttp_stream(&w.ts, "POST", path, w.tok, "application/x-ndjson", gen_big, &b, (long long)over,
                 &r);
    tassert_problem(&r, 413);
    tresp_release(&r);
    /* chunked, no length: refused once the cap is crossed */
    b = (struct big){over, 0};
    thttp_stream(&w.ts, "POST", path, w.tok, "application/x-ndjson", gen_big, &b, -1, &r);
    tassert_problem(&r, 413);
    tresp_release(&r);
    ck_assert_int_eq(doc_count(&w, s), 0);
    /* a large but allowed upload (a 5 MiB document is over the per-document cap: 400, not 413) */
    b = (struct big){5ULL << 20, 0};
    thttp_stream(&w.ts, "POST", path, w.tok, "application/x-ndjson", gen_big, &b, -1, &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    tserver_cleanup(&w.ts);
}
END_TEST

Suite *api_annotations_suite(void)
{
    Suite *s = suite_create("api_annotations");
    TCase *tc = tcase_create("annotations");

    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_session_create_get_list);
    tcase_add_test(tc, test_session_validation);
    tcase_add_test(tc, test_upload_array_and_ndjson);
    tcase_add_test(tc, test_upload_all_or_nothing);
    tcase_add_test(tc, test_upload_type_rules);
    tcase_add_test(tc, test_utf8_round_trip);
    tcase_add_test(tc, test_real_data_files);
    tcase_add_test(tc, test_upload_413);
    suite_add_tcase(s, tc);
    return s;
}
