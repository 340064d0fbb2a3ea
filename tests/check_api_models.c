/* SPDX-License-Identifier: MIT */
/*
 * HTTP tests of POST /projects/{id}/models and the model reads (GET one,
 * list with keyset pagination and filters), black-box against issue 2: every
 * validation rule, the exact 201 view, durability across a restart, name
 * uniqueness per workspace and concurrent creates with the same name.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "testutil.h"
#include "util.h"

static const char absa_docs[] =
    "{\"text\":\"The pasta was great.\",\"aspects\":[{\"category\":\"FOOD#QUALITY\","
    "\"polarity\":\"positive\"}]}\n"
    "{\"text\":\"Service was slow.\",\"aspects\":[{\"category\":\"SERVICE#GENERAL\","
    "\"polarity\":\"negative\"}]}\n";
static const char class_docs[] = "{\"text\":\"Buy now\",\"class\":\"spam\"}\n"
                                 "{\"text\":\"Meeting at noon\",\"class\":\"ham\"}\n";

/* A workspace with two projects, a MANAGER, and labeling sessions. */
struct world {
    struct tserver ts;
    int64_t ws, pr, pr2, ws_other, pr_other, mgr;
    int64_t absa1, absa2, absa3, absa_de, cls, absa_p2;
    char tok[65];
    char path[96]; /* /projects/{pr}/models */
};

static void world_up(struct world *w)
{
    memset(w, 0, sizeof(*w));
    tserver_start(&w->ts, 1);
    w->ws = tfx_workspace(&w->ts, "ws");
    w->pr = tfx_project(&w->ts, w->ws, "p");
    w->pr2 = tfx_project(&w->ts, w->ws, "p2");
    w->ws_other = tfx_workspace(&w->ts, "other");
    w->pr_other = tfx_project(&w->ts, w->ws_other, "po");
    w->mgr = tfx_user(&w->ts, "mia", 0, w->tok);
    tfx_member(&w->ts, w->pr, w->mgr, "MANAGER");
    tfx_member(&w->ts, w->pr2, w->mgr, "OWNER");
    tfx_member(&w->ts, w->pr_other, w->mgr, "OWNER");
    w->absa1 = tfx_session(&w->ts, w->pr, "a1", "ABSA", "en", absa_docs);
    w->absa2 = tfx_session(&w->ts, w->pr, "a2", "ABSA", "en", absa_docs);
    w->absa3 = tfx_session(&w->ts, w->pr, "a3", "ABSA", "en", absa_docs);
    w->absa_de = tfx_session(&w->ts, w->pr, "ade", "ABSA", "de", absa_docs);
    w->cls = tfx_session(&w->ts, w->pr, "c", "CLASS", "en", class_docs);
    w->absa_p2 = tfx_session(&w->ts, w->pr2, "a-p2", "ABSA", "en", absa_docs);
    snprintf(w->path, sizeof(w->path), "/projects/%lld/models", (long long)w->pr);
}

static void world_down(struct world *w)
{
    tserver_cleanup(&w->ts);
}

/* POST a model body (printf-style) to the world's project. */
static void post(struct world *w, struct tresp *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void post(struct world *w, struct tresp *r, const char *fmt, ...)
{
    char body[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    tjson(&w->ts, "POST", w->path, w->tok, body, r);
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Assert a 400 that names field and, optionally, a message fragment. */
static void expect_field(const struct tresp *r, const char *field, const char *fragment)
{
    const char *m;

    tassert_problem(r, 400);
    m = terror(r, field);
    ck_assert_msg(m != NULL, "no error for field '%s' in %s", field, r->body);
    if (fragment)
        ck_assert_msg(strstr(m, fragment) != NULL, "'%s' not in '%s'", fragment, m);
}

static int is_uuid4(const char *s)
{
    if (!s || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) {
            return 0;
        }
    }
    /* version 4, RFC 4122 variant */
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

/* RFC 3339 UTC: YYYY-MM-DDTHH:MM:SS[.fff]Z */
static int is_rfc3339_utc(const char *s)
{
    const char *f = "dddd-dd-ddTdd:dd:dd";
    size_t i;

    if (!s || strlen(s) < 20)
        return 0;
    for (i = 0; f[i]; i++)
        if (f[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != f[i])
            return 0;
    if (s[i] == '.') {
        i++;
        if (!isdigit((unsigned char)s[i]))
            return 0;
        while (isdigit((unsigned char)s[i]))
            i++;
    }
    return s[i] == 'Z' && s[i + 1] == '\0';
}

/* ---- 201 --------------------------------------------------------------------- */

START_TEST(test_create_fields_exact)
{
    static const char *const expected[] = {"id",
                                           "uuid",
                                           "name",
                                           "display_name",
                                           "language",
                                           "base",
                                           "created",
                                           "owner",
                                           "progress",
                                           "project_id",
                                           "score",
                                           "short_description",
                                           "long_description",
                                           "status",
                                           "type",
                                           NULL};
    /* documented extras (openapi): allowed, but nothing else */
    static const char *const extras[] = {"updated",     "failure_reason", "queued_at", "started_at",
                                         "finished_at", "metrics",        "warnings", NULL};
    struct world w;
    struct tresp r, g;
    char loc[128];
    const char *key;
    json_t *v;
    int64_t id;

    world_up(&w);
    post(&w, &r, "{\"name\":\"m1\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    ck_assert(strncmp(r.content_type, "application/json", 16) == 0);
    for (const char *const *k = expected; *k; k++)
        ck_assert_msg(json_object_get(r.json, *k) != NULL, "missing %s", *k);
    json_object_foreach(r.json, key, v)
    {
        int known = 0;

        for (const char *const *k = expected; *k && !known; k++)
            known = strcmp(*k, key) == 0;
        for (const char *const *k = extras; *k && !known; k++)
            known = strcmp(*k, key) == 0;
        ck_assert_msg(known, "undocumented field %s", key);
    }
    ck_assert(json_is_integer(json_object_get(r.json, "id")));
    id = json_integer_value(json_object_get(r.json, "id"));
    ck_assert_int_ge(id, 1);
    ck_assert_msg(is_uuid4(jstr(r.json, "uuid")), "uuid %s", jstr(r.json, "uuid"));
    ck_assert_str_eq(jstr(r.json, "name"), "m1");
    ck_assert_str_eq(jstr(r.json, "display_name"), "m1");
    ck_assert_str_eq(jstr(r.json, "language"), "en");
    ck_assert(json_is_null(json_object_get(r.json, "base")));
    ck_assert_msg(is_rfc3339_utc(jstr(r.json, "created")), "created %s", jstr(r.json, "created"));
    ck_assert_str_eq(jstr(r.json, "owner"), "mia");
    ck_assert(json_is_real(json_object_get(r.json, "progress")));
    ck_assert(json_real_value(json_object_get(r.json, "progress")) == 0.0);
    ck_assert(json_is_integer(json_object_get(r.json, "project_id")));
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "project_id")), w.pr);
    ck_assert(json_is_null(json_object_get(r.json, "score")));
    ck_assert(json_is_null(json_object_get(r.json, "short_description")));
    ck_assert(json_is_null(json_object_get(r.json, "long_description")));
    ck_assert_str_eq(jstr(r.json, "status"), "CREATED");
    ck_assert_str_eq(jstr(r.json, "type"), "ABSA");
    snprintf(loc, sizeof(loc), "/projects/%lld/models/%lld", (long long)w.pr, (long long)id);
    ck_assert_str_eq(r.location, loc);
    /* the Location can be followed */
    thttp(&w.ts, "GET", loc, w.tok, NULL, NULL, &g);
    ck_assert_int_eq(g.status, 200);
    ck_assert_str_eq(jstr(g.json, "uuid"), jstr(r.json, "uuid"));
    ck_assert_str_eq(jstr(g.json, "created"), jstr(r.json, "created"));
    tresp_release(&g);
    /* the row is in the database with its sessions, in one piece */
    {
        char sql[160];

        snprintf(sql, sizeof(sql),
                 "SELECT COUNT(*) FROM model_annotations WHERE model_id = %lld AND "
                 "annotation_id = %lld AND role = 'all'",
                 (long long)id, (long long)w.absa1);
        ck_assert_int_eq(tsql_int(&w.ts, sql), 1);
    }
    tresp_release(&r);
    world_down(&w);
}
END_TEST

START_TEST(test_create_uuid_fresh)
{
    struct world w;
    struct tresp a, b;

    world_up(&w);
    post(&w, &a, "{\"name\":\"u1\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    post(&w, &b, "{\"name\":\"u2\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    ck_assert_int_eq(a.status, 201);
    ck_assert_int_eq(b.status, 201);
    ck_assert_str_ne(jstr(a.json, "uuid"), jstr(b.json, "uuid"));
    ck_assert_int_gt(json_integer_value(json_object_get(b.json, "id")),
                     json_integer_value(json_object_get(a.json, "id")));
    tresp_release(&a);
    tresp_release(&b);
    world_down(&w);
}
END_TEST

START_TEST(test_create_all_fields_and_trim)
{
    struct world w;
    struct tresp r;

    world_up(&w);
    post(&w, &r,
         "{\"name\":\"  spaced  \",\"display_name\":\"\\tNice name \",\"language\":\"en\","
         "\"short_description\":\"short\",\"long_description\":\"long text\","
         "\"trainset_annotation_ids\":[%lld,%lld],\"testset_annotation_ids\":[%lld]}",
         (long long)w.absa1, (long long)w.absa2, (long long)w.absa3);
    ck_assert_msg(r.status == 201, "%s", r.body);
    ck_assert_str_eq(jstr(r.json, "name"), "spaced");
    ck_assert_str_eq(jstr(r.json, "display_name"), "Nice name");
    ck_assert_str_eq(jstr(r.json, "short_description"), "short");
    ck_assert_str_eq(jstr(r.json, "long_description"), "long text");
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM model_annotations WHERE role = "
                                     "'train'"),
                     2);
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM model_annotations WHERE role = "
                                     "'test'"),
                     1);
    tresp_release(&r);
    /* the trimmed name is the one that is taken */
    post(&w, &r, "{\"name\":\"spaced\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "name", "taken");
    tresp_release(&r);
    world_down(&w);
}
END_TEST

START_TEST(test_create_durable_after_restart)
{
    struct world w;
    struct tresp r, g;
    char loc[256];

    world_up(&w);
    post(&w, &r,
         "{\"name\":\"durable\",\"language\":\"en\",\"short_description\":\"s\","
         "\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    ck_assert_int_eq(r.status, 201);
    snprintf(loc, sizeof(loc), "%s", r.location);
    tserver_restart(&w.ts, 1);
    thttp(&w.ts, "GET", loc, w.tok, NULL, NULL, &g);
    ck_assert_int_eq(g.status, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(g.json, "id")),
                     json_integer_value(json_object_get(r.json, "id")));
    ck_assert_str_eq(jstr(g.json, "uuid"), jstr(r.json, "uuid"));
    ck_assert_str_eq(jstr(g.json, "name"), "durable");
    ck_assert_str_eq(jstr(g.json, "created"), jstr(r.json, "created"));
    ck_assert_str_eq(jstr(g.json, "owner"), "mia");
    ck_assert_str_eq(jstr(g.json, "short_description"), "s");
    tresp_release(&g);
    tresp_release(&r);
    world_down(&w);
}
END_TEST

/* ---- name ---------------------------------------------------------------------- */

START_TEST(test_name_rules)
{
    struct world w;
    struct tresp r;
    char long_name[400];

    world_up(&w);
    post(&w, &r, "{\"language\":\"en\",\"annotation_ids\":[%lld]}", (long long)w.absa1);
    expect_field(&r, "name", "required");
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"   \",\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "name", NULL);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "name", NULL);
    tresp_release(&r);
    post(&w, &r, "{\"name\":null,\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "name", NULL);
    tresp_release(&r);
    post(&w, &r, "{\"name\":42,\"language\":\"en\",\"annotation_ids\":[%lld]}", (long long)w.absa1);
    expect_field(&r, "name", NULL);
    tresp_release(&r);
    /* 128 characters are fine, 129 are not (counted in characters, not bytes) */
    memset(long_name, 'x', 129);
    long_name[129] = '\0';
    post(&w, &r, "{\"name\":\"%s\",\"language\":\"en\",\"annotation_ids\":[%lld]}", long_name,
         (long long)w.absa1);
    expect_field(&r, "name", NULL);
    tresp_release(&r);
    long_name[128] = '\0';
    post(&w, &r, "{\"name\":\"%s\",\"language\":\"en\",\"annotation_ids\":[%lld]}", long_name,
         (long long)w.absa1);
    ck_assert_msg(r.status == 201, "%s", r.body);
    tresp_release(&r);
    {
        char umlauts[128 * 2 + 1];

        for (int i = 0; i < 128; i++)
            memcpy(umlauts + 2 * i, "\xc3\xa4", 2);
        umlauts[256] = '\0';
        post(&w, &r, "{\"name\":\"%s\",\"language\":\"en\",\"annotation_ids\":[%lld]}", umlauts,
             (long long)w.absa1);
        ck_assert_msg(r.status == 201, "128 umlauts: %s", r.body);
        tresp_release(&r);
    }
    /* a name with a control character is rejected */
    post(&w, &r, "{\"name\":\"a\\nb\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "name", NULL);
    tresp_release(&r);
    world_down(&w);
}
END_TEST

START_TEST(test_name_unique_per_workspace)
{
    struct world w;
    struct tresp r;
    char path2[96], body[256];

    world_up(&w);
    post(&w, &r, "{\"name\":\"dup\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    ck_assert_int_eq(r.status, 201);
    tresp_release(&r);
    /* same project */
    post(&w, &r, "{\"name\":\"dup\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa2);
    expect_field(&r, "name", "taken");
    tresp_release(&r);
    /* another project of the same workspace */
    snprintf(path2, sizeof(path2), "/projects/%lld/models", (long long)w.pr2);
    snprintf(body, sizeof(body), "{\"name\":\"dup\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
             (long long)w.absa_p2);
    tjson(&w.ts, "POST", path2, w.tok, body, &r);
    expect_field(&r, "name", "taken");
    tresp_release(&r);
    /* another workspace: fine */
    {
        int64_t s = tfx_session(&w.ts, w.pr_other, "o", "ABSA", "en", absa_docs);

        snprintf(path2, sizeof(path2), "/projects/%lld/models", (long long)w.pr_other);
        snprintf(body, sizeof(body),
                 "{\"name\":\"dup\",\"language\":\"en\",\"annotation_ids\":[%lld]}", (long long)s);
        tjson(&w.ts, "POST", path2, w.tok, body, &r);
        ck_assert_msg(r.status == 201, "%s", r.body);
        tresp_release(&r);
    }
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM models WHERE name = 'dup'"), 2);
    /* the longest name of four-byte characters: the "taken" message outgrows the
     * error buffer and is cut, but still reaches the client */
    {
        char name[128 * 4 + 1] = "";

        for (int i = 0; i < 128; i++)
            strcat(name, "\xF0\x9F\x98\x80"); /* U+1F600 */
        for (int i = 0; i < 2; i++) {
            post(&w, &r, "{\"name\":\"%s\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
                 name, (long long)w.absa1);
            if (i == 0)
                ck_assert_msg(r.status == 201, "%s", r.body);
            else
                expect_field(&r, "name", "taken");
            tresp_release(&r);
        }
    }
    world_down(&w);
}
END_TEST

struct race {
    struct world *w;
    char name[32];
    long status;
    int taken;
};

static void *race_post(void *arg)
{
    struct race *rc = arg;
    struct tresp r;
    char body[256];

    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"language\":\"en\",\"annotation_ids\":[%lld]}", rc->name,
             (long long)rc->w->absa1);
    tjson(&rc->w->ts, "POST", rc->w->path, rc->w->tok, body, &r);
    rc->status = r.status;
    rc->taken = r.status == 400 && terror(&r, "name") && strstr(terror(&r, "name"), "taken");
    tresp_release(&r);
    return NULL;
}

START_TEST(test_concurrent_same_name)
{
    enum { N = 8 };
    struct world w;
    pthread_t th[N];
    struct race rc[N];
    int created = 0, taken = 0;

    world_up(&w);
    for (int i = 0; i < N; i++) {
        rc[i] = (struct race){&w, "race", 0, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, race_post, &rc[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        created += rc[i].status == 201;
        taken += rc[i].taken;
    }
    ck_assert_int_eq(created, 1);
    ck_assert_int_eq(taken, N - 1);
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM models WHERE name = 'race'"), 1);
    world_down(&w);
}
END_TEST

/*
 * Group commit keeps per-request outcomes exact: creates that share one
 * batch (the writer is held while they queue, then runs them as one
 * transaction) each get their own answer. Two with the same name: one 201,
 * one "taken"; the others of the batch are created all the same. It also
 * shows that the batch is not bounded by the HTTP thread count of 4 of the
 * other tests: with 8 threads, 8 writes wait at once.
 */
START_TEST(test_same_name_in_one_batch)
{
    enum { N = 8 };
    struct world w;
    pthread_t th[N];
    struct race bp[N];
    struct db_write_stats ws;
    struct db *db;
    struct err err = {0};
    int created = 0, taken = 0, twins = 0;
    double t0;

    if (tpg()) { /* PostgreSQL commits concurrently: no writer, no batch */
        tskip("same_name_in_one_batch: the SQLite writer's batches only");
        return;
    }
    world_up(&w);
    /* N HTTP threads and no worker (whose claims would be writes too) */
    tserver_stop(&w.ts);
    w.ts.cfg.http_threads = N;
    w.ts.cfg.workers = 0;
    w.ts.srv = server_start(&w.ts.cfg, &err);
    ck_assert_msg(w.ts.srv != NULL, "server_start: %s", err.msg);
    w.ts.port = server_port(w.ts.srv);
    db = server_db(w.ts.srv);
    db_write_hold(db, 1);
    for (int i = 0; i < N; i++) {
        bp[i] = (struct race){&w, "", 0, 0};
        if (i < 2)
            snprintf(bp[i].name, sizeof(bp[i].name), "twin");
        else
            snprintf(bp[i].name, sizeof(bp[i].name), "single-%d", i);
        ck_assert_int_eq(pthread_create(&th[i], NULL, race_post, &bp[i]), 0);
        /* one at a time, so that a free HTTP thread accepts each: the
         * threads of the ones before are waiting for the writer */
        t0 = util_monotonic();
        do {
            nanosleep(&(struct timespec){0, 5 * 1000 * 1000L}, NULL);
            db_write_stats(db, &ws);
        } while (ws.queued < (unsigned long long)i + 1 && util_monotonic() - t0 < 60.0);
        ck_assert_int_eq(ws.queued, i + 1);
    }
    db_write_hold(db, 0);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        if (i < 2) {
            twins += bp[i].status == 201;
            taken += bp[i].taken;
        } else {
            ck_assert_msg(bp[i].status == 201, "%s: %ld", bp[i].name, bp[i].status);
            created++;
        }
    }
    ck_assert_int_eq(twins, 1);
    ck_assert_int_eq(taken, 1);
    ck_assert_int_eq(created, N - 2);
    db_write_stats(db, &ws);
    ck_assert_uint_ge(ws.max_batch, N);
    {
        /* and /metrics says so */
        struct tresp r;
        const char *m;
        unsigned long long batch = 0;

        thttp(&w.ts, "GET", "/metrics", NULL, NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        m = r.body ? strstr(r.body, "\nmodeld_db_write_batch_max ") : NULL;
        ck_assert_msg(m && sscanf(m, "\nmodeld_db_write_batch_max %llu", &batch) == 1, "%s",
                      r.body ? r.body : "");
        ck_assert_uint_ge(batch, N);
        ck_assert_msg(strstr(r.body, "\nmodeld_db_commits_total ") != NULL, "no commit counter");
        tresp_release(&r);
    }
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM models WHERE name = 'twin'"), 1);
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM models WHERE name LIKE 'single-%'"),
                     N - 2);
    world_down(&w);
}
END_TEST

/* ---- display name, descriptions, unknown fields, types ------------------------------------- */

START_TEST(test_other_string_fields)
{
    struct world w;
    struct tresp r;
    char big[5200];

    world_up(&w);
    post(&w, &r,
         "{\"name\":\"d1\",\"display_name\":\"\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "display_name", NULL);
    tresp_release(&r);
    memset(big, 'y', 256);
    big[256] = '\0';
    post(&w, &r,
         "{\"name\":\"d1\",\"display_name\":\"%s\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
         big, (long long)w.absa1);
    expect_field(&r, "display_name", NULL);
    tresp_release(&r);
    post(&w, &r,
         "{\"name\":\"d1\",\"short_description\":\"%s\",\"language\":\"en\",\"annotation_ids\":[%"
         "lld]}",
         big, (long long)w.absa1);
    expect_field(&r, "short_description", NULL);
    tresp_release(&r);
    memset(big, 'z', 4001);
    big[4001] = '\0';
    post(&w, &r,
         "{\"name\":\"d1\",\"long_description\":\"%s\",\"language\":\"en\",\"annotation_ids\":[%"
         "lld]}",
         big, (long long)w.absa1);
    expect_field(&r, "long_description", NULL);
    tresp_release(&r);
    big[4000] = '\0';
    post(&w, &r,
         "{\"name\":\"d1\",\"long_description\":\"%s\",\"short_description\":7,\"language\":\"en\","
         "\"annotation_ids\":[%lld]}",
         big, (long long)w.absa1);
    expect_field(&r, "short_description", NULL);
    ck_assert_ptr_null(terror(&r, "long_description"));
    tresp_release(&r);
    post(&w, &r,
         "{\"name\":\"d1\",\"long_description\":\"%s\",\"language\":\"en\",\"annotation_ids\":[%"
         "lld]}",
         big, (long long)w.absa1);
    ck_assert_msg(r.status == 201, "%s", r.body);
    tresp_release(&r);
    post(&w, &r,
         "{\"name\":\"d2\",\"colour\":\"red\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "colour", "unknown");
    tresp_release(&r);
    world_down(&w);
}
END_TEST

START_TEST(test_every_invalid_field_listed)
{
    static const char *const fields[] = {"name",
                                         "display_name",
                                         "language",
                                         "base_id",
                                         "annotation_ids",
                                         "short_description",
                                         "long_description",
                                         "extra",
                                         NULL};
    struct world w;
    struct tresp r;

    world_up(&w);
    post(&w, &r,
         "{\"name\":\"\",\"display_name\":5,\"language\":\"fr\",\"base_id\":0,"
         "\"annotation_ids\":\"x\",\"short_description\":[],\"long_description\":{},"
         "\"extra\":1}");
    tassert_problem(&r, 400);
    for (const char *const *f = fields; *f; f++)
        ck_assert_msg(terror(&r, *f) != NULL, "%s not listed in %s", *f, r.body);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "errors")), 8);
    tresp_release(&r);
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM models"), 0);
    world_down(&w);
}
END_TEST

START_TEST(test_body_shapes)
{
    static const char *const bodies[] = {"",
                                         "null",
                                         "[]",
                                         "\"name\"",
                                         "42",
                                         "{",
                                         "{\"name\":\"a\"} x",
                                         "{\"name\":\"a\",\"name\":\"b\",\"language\":\"en\"}",
                                         "\xff\xfe",
                                         "{\"name\":\"\xc3\x28\",\"language\":\"en\"}",
                                         "{\"name\":\"a\\u0000b\",\"language\":\"en\"}",
                                         NULL};
    struct world w;
    struct tresp r;

    world_up(&w);
    for (const char *const *b = bodies; *b; b++) {
        tjson(&w.ts, "POST", w.path, w.tok, *b, &r);
        ck_assert_msg(r.status == 400, "body '%s' -> %ld", *b, r.status);
        tassert_problem(&r, 400);
        tresp_release(&r);
    }
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM models"), 0);
    world_down(&w);
}
END_TEST

/* ---- language and base ---------------------------------------------------------- */

START_TEST(test_language_rules)
{
    struct world w;
    struct tresp r;

    world_up(&w);
    post(&w, &r, "{\"name\":\"l\",\"annotation_ids\":[%lld]}", (long long)w.absa1);
    expect_field(&r, "language", "required");
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"l\",\"language\":\"EN\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "language", NULL);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"l\",\"language\":null,\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "language", NULL);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"l\",\"language\":\"de\",\"annotation_ids\":[%lld]}",
         (long long)w.absa_de);
    ck_assert_msg(r.status == 201, "%s", r.body);
    ck_assert_str_eq(jstr(r.json, "language"), "de");
    tresp_release(&r);
    world_down(&w);
}
END_TEST

/* Create a BASE catalog row with the CLI; returns its id. */
static int64_t cli_base(struct world *w, const char *name, const char *lang)
{
    const char *args[] = {"base", "create",     "--db", w->ts.db_path, "--name",
                          name,   "--language", lang,   NULL};
    char out[64];
    int64_t id;

    ck_assert_int_eq(trun(args, out, sizeof(out)), 0);
    id = strtoll(out, NULL, 10);
    ck_assert_int_gt(id, 0);
    return id;
}

START_TEST(test_base_catalog)
{
    struct world w;
    struct tresp r;
    int64_t b;

    world_up(&w);
    b = cli_base(&w, "Hotel Pre-Trained", "de");
    /* language defaults to the base's */
    post(&w, &r, "{\"name\":\"b1\",\"base_id\":%lld,\"annotation_ids\":[%lld]}", (long long)b,
         (long long)w.absa_de);
    ck_assert_msg(r.status == 201, "%s", r.body);
    ck_assert_str_eq(jstr(r.json, "language"), "de");
    ck_assert_str_eq(jstr(r.json, "base"), "Hotel Pre-Trained");
    tresp_release(&r);
    /* same language explicitly: fine; a different one: 400 on language */
    post(&w, &r, "{\"name\":\"b2\",\"base_id\":%lld,\"language\":\"de\",\"annotation_ids\":[%lld]}",
         (long long)b, (long long)w.absa_de);
    ck_assert_msg(r.status == 201, "%s", r.body);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"b3\",\"base_id\":%lld,\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)b, (long long)w.absa1);
    expect_field(&r, "language", "de");
    tresp_release(&r);
    /* the sessions must have the language taken from the base */
    post(&w, &r, "{\"name\":\"b4\",\"base_id\":%lld,\"annotation_ids\":[%lld]}", (long long)b,
         (long long)w.absa1);
    expect_field(&r, "annotation_ids", NULL);
    tresp_release(&r);
    /* GET /base-models lists it */
    thttp(&w.ts, "GET", "/base-models", w.tok, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(r.json, "items"), 0), "name"),
                     "Hotel Pre-Trained");
    tresp_release(&r);
    world_down(&w);
}
END_TEST

/* The base_id error with every digit run replaced by "N" (ids differ, wording must not). */
static void base_error_shape(const struct tresp *r, char *out, size_t len)
{
    const char *m = terror(r, "base_id");
    size_t o = 0;

    ck_assert_msg(m != NULL, "no base_id error in %s", r->body);
    for (const char *p = m; *p && o + 2 < len; p++) {
        if (isdigit((unsigned char)*p)) {
            out[o++] = 'N';
            while (isdigit((unsigned char)p[1]))
                p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/*
 * Isolation: a model of a project the caller has no role in (same workspace)
 * cannot be a base, and the answer is the same as for an id that does not
 * exist or a model of another workspace, so ids cannot be probed.
 */
START_TEST(test_base_id_isolation)
{
    struct world w;
    struct tresp r;
    char a[512], b[512], c[512];

    world_up(&w);
    int64_t pr3 = tfx_project(&w.ts, w.ws, "p3-no-role");
    int64_t other_user = tfx_user(&w.ts, "olga", 0, (char[65]){0});
    int64_t hidden = tfx_model(&w.ts, w.ws, pr3, other_user, "hidden", "en", "ABSA", "READY");
    int64_t ready_other = tfx_model(&w.ts, w.ws_other, w.pr_other, w.mgr, "ro", "en", "ABSA",
                                    "READY");
    post(&w, &r, "{\"name\":\"i1\",\"base_id\":%lld,\"annotation_ids\":[%lld]}", (long long)hidden,
         (long long)w.absa1);
    expect_field(&r, "base_id", NULL);
    base_error_shape(&r, a, sizeof a);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"i2\",\"base_id\":%lld,\"annotation_ids\":[%lld]}",
         (long long)hidden + 1000, (long long)w.absa1);
    expect_field(&r, "base_id", NULL);
    base_error_shape(&r, b, sizeof b);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"i3\",\"base_id\":%lld,\"annotation_ids\":[%lld]}",
         (long long)ready_other, (long long)w.absa1);
    expect_field(&r, "base_id", NULL);
    base_error_shape(&r, c, sizeof c);
    tresp_release(&r);
    ck_assert_str_eq(a, b);
    ck_assert_str_eq(a, c);
    tserver_cleanup(&w.ts);
}
END_TEST

START_TEST(test_base_trained_model_rules)
{
    struct world w;
    struct tresp r;
    int64_t ready_same, ready_p2, active, published, failed, created, ready_other;

    world_up(&w);
    ready_same = tfx_model(&w.ts, w.ws, w.pr, w.mgr, "ready", "en", "ABSA", "READY");
    ready_p2 = tfx_model(&w.ts, w.ws, w.pr2, w.mgr, "ready-p2", "en", "ABSA", "READY");
    active = tfx_model(&w.ts, w.ws, w.pr, w.mgr, "active", "en", "ABSA", "ACTIVE");
    published = tfx_model(&w.ts, w.ws, w.pr, w.mgr, "published", "en", "ABSA", "PUBLISHED");
    failed = tfx_model(&w.ts, w.ws, w.pr, w.mgr, "failed", "en", "ABSA", "FAILED");
    created = tfx_model(&w.ts, w.ws, w.pr, w.mgr, "created", "en", "ABSA", "CREATED");
    ready_other = tfx_model(&w.ts, w.ws_other, w.pr_other, w.mgr, "ready-o", "en", "ABSA", "READY");
    post(&w, &r, "{\"name\":\"t1\",\"base_id\":%lld,\"annotation_ids\":[%lld]}",
         (long long)ready_same, (long long)w.absa1);
    ck_assert_msg(r.status == 201, "%s", r.body);
    ck_assert_str_eq(jstr(r.json, "base"), "ready");
    ck_assert_str_eq(jstr(r.json, "language"), "en");
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"t2\",\"base_id\":%lld,\"annotation_ids\":[%lld]}",
         (long long)ready_p2, (long long)w.absa1);
    ck_assert_msg(r.status == 201, "other project, same workspace: %s", r.body);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"t3\",\"base_id\":%lld,\"annotation_ids\":[%lld]}", (long long)active,
         (long long)w.absa1);
    ck_assert_int_eq(r.status, 201);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"t4\",\"base_id\":%lld,\"annotation_ids\":[%lld]}",
         (long long)published, (long long)w.absa1);
    ck_assert_int_eq(r.status, 201);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"t5\",\"base_id\":%lld,\"annotation_ids\":[%lld]}", (long long)failed,
         (long long)w.absa1);
    expect_field(&r, "base_id", NULL);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"t6\",\"base_id\":%lld,\"annotation_ids\":[%lld]}", (long long)created,
         (long long)w.absa1);
    expect_field(&r, "base_id", NULL);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"t7\",\"base_id\":%lld,\"annotation_ids\":[%lld]}",
         (long long)ready_other, (long long)w.absa1);
    expect_field(&r, "base_id", NULL);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"t8\",\"base_id\":999999,\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "base_id", NULL);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"t9\",\"base_id\":0,\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "base_id", NULL);
    tresp_release(&r);
    post(&w, &r,
         "{\"name\":\"t9\",\"base_id\":\"1\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "base_id", NULL);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"t9\",\"base_id\":1.5,\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "base_id", NULL);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"t9\",\"base_id\":-3,\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "base_id", NULL);
    tresp_release(&r);
    /* a number beyond int64 is a 400, not a crash or a wrap-around */
    post(&w, &r,
         "{\"name\":\"t9\",\"base_id\":99999999999999999999,\"language\":\"en\","
         "\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    tassert_problem(&r, 400);
    tresp_release(&r);
    world_down(&w);
}
END_TEST

/* ---- labeling sessions ------------------------------------------------------------ */

START_TEST(test_annotation_id_rules)
{
    struct world w;
    struct tresp r;
    const char *m;

    world_up(&w);
    /* annotation_ids given: train/test sets are ignored, even when invalid */
    post(&w, &r,
         "{\"name\":\"s1\",\"language\":\"en\",\"annotation_ids\":[%lld],"
         "\"trainset_annotation_ids\":\"junk\",\"testset_annotation_ids\":[0]}",
         (long long)w.absa1);
    ck_assert_msg(r.status == 201, "%s", r.body);
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM model_annotations"), 1);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"s2\",\"language\":\"en\",\"annotation_ids\":[]}");
    expect_field(&r, "annotation_ids", NULL);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"s2\",\"language\":\"en\",\"annotation_ids\":[0]}");
    expect_field(&r, "annotation_ids[0]", NULL);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"s2\",\"language\":\"en\",\"annotation_ids\":[%lld,\"2\",1.5,-1]}",
         (long long)w.absa1);
    expect_field(&r, "annotation_ids[1]", NULL);
    expect_field(&r, "annotation_ids[2]", NULL);
    expect_field(&r, "annotation_ids[3]", NULL);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"s2\",\"language\":\"en\",\"annotation_ids\":[%lld,%lld]}",
         (long long)w.absa1, (long long)w.absa1);
    expect_field(&r, "annotation_ids[1]", "duplicate");
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"s2\",\"language\":\"en\",\"annotation_ids\":null}");
    expect_field(&r, "annotation_ids", NULL);
    tresp_release(&r);
    /* neither form */
    post(&w, &r, "{\"name\":\"s2\",\"language\":\"en\"}");
    expect_field(&r, "annotation_ids", NULL);
    tresp_release(&r);
    /* only one of the sets */
    post(&w, &r, "{\"name\":\"s2\",\"language\":\"en\",\"trainset_annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "testset_annotation_ids", NULL);
    tresp_release(&r);
    post(&w, &r, "{\"name\":\"s2\",\"language\":\"en\",\"testset_annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "trainset_annotation_ids", NULL);
    tresp_release(&r);
    post(&w, &r,
         "{\"name\":\"s2\",\"language\":\"en\",\"trainset_annotation_ids\":[],"
         "\"testset_annotation_ids\":[%lld]}",
         (long long)w.absa1);
    expect_field(&r, "trainset_annotation_ids", NULL);
    tresp_release(&r);
    post(&w, &r,
         "{\"name\":\"s2\",\"language\":\"en\",\"trainset_annotation_ids\":[%lld,%lld],"
         "\"testset_annotation_ids\":[%lld,%lld]}",
         (long long)w.absa1, (long long)w.absa2, (long long)w.absa3, (long long)w.absa3);
    expect_field(&r, "testset_annotation_ids[1]", "duplicate");
    tresp_release(&r);
    /* overlap */
    post(&w, &r,
         "{\"name\":\"s2\",\"language\":\"en\",\"trainset_annotation_ids\":[%lld,%lld],"
         "\"testset_annotation_ids\":[%lld]}",
         (long long)w.absa1, (long long)w.absa2, (long long)w.absa2);
    m = NULL;
    tassert_problem(&r, 400);
    m = terror(&r, "testset_annotation_ids");
    if (!m)
        m = terror(&r, "trainset_annotation_ids");
    ck_assert_msg(m && strstr(m, "overlap"), "%s", r.body);
    tresp_release(&r);
    /* missing sessions are all listed; a session of another project counts as missing */
    post(&w, &r, "{\"name\":\"s2\",\"language\":\"en\",\"annotation_ids\":[%lld,998,%lld,999]}",
         (long long)w.absa1, (long long)w.absa_p2);
    expect_field(&r, "annotation_ids", "998");
    m = terror(&r, "annotation_ids");
    ck_assert_msg(strstr(m, "999") != NULL, "%s", m);
    {
        char id[32];

        snprintf(id, sizeof(id), "%lld", (long long)w.absa_p2);
        ck_assert_msg(strstr(m, id) != NULL, "%s", m);
    }
    tresp_release(&r);
    post(&w, &r,
         "{\"name\":\"s2\",\"language\":\"en\",\"trainset_annotation_ids\":[%lld],"
         "\"testset_annotation_ids\":[777]}",
         (long long)w.absa1);
    expect_field(&r, "testset_annotation_ids", "777");
    tresp_release(&r);
    /* wrong language */
    post(&w, &r, "{\"name\":\"s2\",\"language\":\"en\",\"annotation_ids\":[%lld,%lld]}",
         (long long)w.absa1, (long long)w.absa_de);
    expect_field(&r, "annotation_ids", "language");
    tresp_release(&r);
    /* mixed types */
    post(&w, &r, "{\"name\":\"s2\",\"language\":\"en\",\"annotation_ids\":[%lld,%lld]}",
         (long long)w.absa1, (long long)w.cls);
    expect_field(&r, "annotation_ids", "type");
    tresp_release(&r);
    post(&w, &r,
         "{\"name\":\"s2\",\"language\":\"en\",\"trainset_annotation_ids\":[%lld],"
         "\"testset_annotation_ids\":[%lld]}",
         (long long)w.absa1, (long long)w.cls);
    tassert_problem(&r, 400);
    tresp_release(&r);
    /* the session type becomes the model type */
    post(&w, &r, "{\"name\":\"s3\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.cls);
    ck_assert_msg(r.status == 201, "%s", r.body);
    ck_assert_str_eq(jstr(r.json, "type"), "CLASS");
    tresp_release(&r);
    ck_assert_int_eq(tsql_int(&w.ts, "SELECT COUNT(*) FROM models"), 2);
    world_down(&w);
}
END_TEST

/* ---- GET one ----------------------------------------------------------------------- */

START_TEST(test_get_model)
{
    struct world w;
    struct tresp r, g;
    char p[128];
    int64_t id;

    world_up(&w);
    post(&w, &r, "{\"name\":\"g\",\"language\":\"en\",\"annotation_ids\":[%lld]}",
         (long long)w.absa1);
    ck_assert_int_eq(r.status, 201);
    id = json_integer_value(json_object_get(r.json, "id"));
    /* another project's path: 404 even though the user is OWNER there */
    snprintf(p, sizeof(p), "/projects/%lld/models/%lld", (long long)w.pr2, (long long)id);
    thttp(&w.ts, "GET", p, w.tok, NULL, NULL, &g);
    tassert_problem(&g, 404);
    tresp_release(&g);
    snprintf(p, sizeof(p), "/projects/%lld/models/999999", (long long)w.pr);
    thttp(&w.ts, "GET", p, w.tok, NULL, NULL, &g);
    tassert_problem(&g, 404);
    tresp_release(&g);
    /* a VIEWER may read */
    {
        char vt[65];
        int64_t v = tfx_user(&w.ts, "viv", 0, vt);

        tfx_member(&w.ts, w.pr, v, "VIEWER");
        thttp(&w.ts, "GET", r.location, vt, NULL, NULL, &g);
        ck_assert_int_eq(g.status, 200);
        ck_assert_str_eq(jstr(g.json, "name"), "g");
        ck_assert_str_eq(jstr(g.json, "owner"), "mia");
        tresp_release(&g);
    }
    tresp_release(&r);
    world_down(&w);
}
END_TEST

/* ---- list ----------------------------------------------------------------------- */

static void list(struct world *w, const char *query, struct tresp *r)
{
    char p[512];

    snprintf(p, sizeof(p), "%s%s", w->path, query);
    thttp(&w->ts, "GET", p, w->tok, NULL, NULL, r);
}

START_TEST(test_list_default_and_pages)
{
    struct world w;
    struct tresp r;
    int64_t ids[61], prev = INT64_MAX;
    char q[256], cursor[128];
    int seen = 0, pages = 0;

    world_up(&w);
    for (int i = 0; i < 61; i++) {
        char name[32];

        snprintf(name, sizeof(name), "m%02d", i);
        ids[i] = tfx_model(&w.ts, w.ws, w.pr, w.mgr, name, "en", "ABSA", "CREATED");
    }
    /* another project's models never show up */
    tfx_model(&w.ts, w.ws, w.pr2, w.mgr, "elsewhere", "en", "ABSA", "CREATED");
    list(&w, "", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 50);
    ck_assert(json_is_string(json_object_get(r.json, "next_cursor")));
    /* newest first */
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_array_get(json_object_get(r.json, "items"), 0), "id")),
                     ids[60]);
    tresp_release(&r);
    list(&w, "?limit=200", &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 61);
    ck_assert(json_is_null(json_object_get(r.json, "next_cursor")));
    tresp_release(&r);
    list(&w, "?limit=61", &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 61);
    ck_assert(json_is_null(json_object_get(r.json, "next_cursor")));
    tresp_release(&r);
    /* walk with limit 7: every model once, strictly descending, last page has no cursor */
    cursor[0] = '\0';
    for (;;) {
        json_t *items, *it, *nc;
        size_t i;

        snprintf(q, sizeof(q), "?limit=7%s%s", cursor[0] ? "&cursor=" : "", cursor);
        list(&w, q, &r);
        ck_assert_msg(r.status == 200, "%s", r.body);
        items = json_object_get(r.json, "items");
        pages++;
        json_array_foreach(items, i, it)
        {
            int64_t id = json_integer_value(json_object_get(it, "id"));

            ck_assert_int_lt(id, prev);
            ck_assert_int_eq(json_integer_value(json_object_get(it, "project_id")), w.pr);
            prev = id;
            seen++;
        }
        nc = json_object_get(r.json, "next_cursor");
        if (json_is_null(nc)) {
            tresp_release(&r);
            break;
        }
        ck_assert_int_eq(json_array_size(items), 7);
        ck_assert(json_is_string(nc));
        /* opaque and URL-safe: no id in clear, only base64url characters */
        for (const char *c = json_string_value(nc); *c; c++)
            ck_assert_msg(isalnum((unsigned char)*c) || *c == '-' || *c == '_', "cursor %s",
                          json_string_value(nc));
        snprintf(cursor, sizeof(cursor), "%s", json_string_value(nc));
        tresp_release(&r);
        ck_assert_int_lt(pages, 20);
    }
    ck_assert_int_eq(seen, 61);
    ck_assert_int_eq(pages, 9);
    world_down(&w);
}
END_TEST

START_TEST(test_list_bad_params)
{
    static const char *const bad[] = {
        "?limit=0",         "?limit=201",      "?limit=-1",   "?limit=abc",   "?limit=1.5",
        "?limit=",          "?limit=10x",      "?cursor=xyz", "?cursor=",     "?cursor=%21%21",
        "?cursor=bTE6YWJj", /* "m1:abc" */
        "?status=DONE",     "?status=created", "?type=BASE",  "?language=fr",
        /* not UTF-8: a 400 like any other unknown value, never a silently dropped filter */
        "?status=%FF",      "?type=%C3",       "?language=%E4", NULL};
    struct world w;
    struct tresp r;

    world_up(&w);
    tfx_model(&w.ts, w.ws, w.pr, w.mgr, "one", "en", "ABSA", "CREATED");
    for (const char *const *q = bad; *q; q++) {
        list(&w, *q, &r);
        ck_assert_msg(r.status == 400, "%s -> %ld", *q, r.status);
        tassert_problem(&r, 400);
        tresp_release(&r);
    }
    list(&w, "?limit=1", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    ck_assert(json_is_null(json_object_get(r.json, "next_cursor")));
    tresp_release(&r);
    /* too many query parameters: still a 400 that names the problem */
    list(&w, "?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&m=13&n=14&o=15&p=16&q=17", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    /* both bad: both listed */
    list(&w, "?limit=0&cursor=zz", &r);
    expect_field(&r, "limit", NULL);
    expect_field(&r, "cursor", NULL);
    tresp_release(&r);
    world_down(&w);
}
END_TEST

static size_t count_items(struct world *w, const char *q)
{
    struct tresp r;
    size_t n;

    list(w, q, &r);
    ck_assert_msg(r.status == 200, "%s: %s", q, r.body);
    n = json_array_size(json_object_get(r.json, "items"));
    tresp_release(&r);
    return n;
}

START_TEST(test_list_filters)
{
    struct world w;
    struct tresp r;
    char q[256];

    world_up(&w);
    tfx_model(&w.ts, w.ws, w.pr, w.mgr, "a", "en", "ABSA", "CREATED");
    tfx_model(&w.ts, w.ws, w.pr, w.mgr, "b", "de", "ABSA", "READY");
    tfx_model(&w.ts, w.ws, w.pr, w.mgr, "c", "en", "CLASS", "READY");
    tfx_model(&w.ts, w.ws, w.pr, w.mgr, "d", "ar", "LABEL", "FAILED");
    tfx_model(&w.ts, w.ws, w.pr, w.mgr, "e", "en", "CLASSLABEL", "PUBLISHED");
    ck_assert_uint_eq(count_items(&w, ""), 5);
    ck_assert_uint_eq(count_items(&w, "?status=READY"), 2);
    ck_assert_uint_eq(count_items(&w, "?status=QUEUED"), 0);
    ck_assert_uint_eq(count_items(&w, "?type=ABSA"), 2);
    ck_assert_uint_eq(count_items(&w, "?type=CLASSLABEL"), 1);
    ck_assert_uint_eq(count_items(&w, "?language=en"), 3);
    ck_assert_uint_eq(count_items(&w, "?language=ar"), 1);
    ck_assert_uint_eq(count_items(&w, "?status=READY&language=en&type=CLASS"), 1);
    ck_assert_uint_eq(count_items(&w, "?status=READY&language=en&type=ABSA"), 0);
    /* a filter combines with pagination */
    list(&w, "?language=en&limit=2", &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 2);
    ck_assert(json_is_string(json_object_get(r.json, "next_cursor")));
    snprintf(q, sizeof(q), "?language=en&limit=2&cursor=%s",
             json_string_value(json_object_get(r.json, "next_cursor")));
    tresp_release(&r);
    list(&w, q, &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(r.json, "items"), 0), "name"), "a");
    ck_assert(json_is_null(json_object_get(r.json, "next_cursor")));
    tresp_release(&r);
    /* an empty project lists nothing */
    {
        char p[96];

        snprintf(p, sizeof(p), "/projects/%lld/models", (long long)w.pr2);
        thttp(&w.ts, "GET", p, w.tok, NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
        ck_assert(json_is_null(json_object_get(r.json, "next_cursor")));
        tresp_release(&r);
    }
    world_down(&w);
}
END_TEST

/* Optional fields sent as null mean "absent": defaults apply and nothing fails. */
START_TEST(test_create_null_optionals)
{
    struct world w;
    struct tresp r;

    world_up(&w);
    post(&w, &r,
         "{\"name\":\"n\",\"display_name\":null,\"base_id\":null,\"language\":\"en\","
         "\"annotation_ids\":[%lld],\"trainset_annotation_ids\":null,"
         "\"short_description\":null,\"long_description\":null}",
         (long long)w.absa1);
    ck_assert_msg(r.status == 201, "%s", r.body);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "display_name")), "n");
    ck_assert(json_is_null(json_object_get(r.json, "base")));
    tresp_release(&r);
    world_down(&w);
}
END_TEST

Suite *api_models_suite(void)
{
    Suite *s = suite_create("api_models");
    TCase *tc = tcase_create("create");
    TCase *rd = tcase_create("read");

    tcase_set_timeout(tc, 60);
    tcase_set_timeout(rd, 60);
    tcase_add_test(tc, test_create_fields_exact);
    tcase_add_test(tc, test_create_null_optionals);
    tcase_add_test(tc, test_create_uuid_fresh);
    tcase_add_test(tc, test_create_all_fields_and_trim);
    tcase_add_test(tc, test_create_durable_after_restart);
    tcase_add_test(tc, test_name_rules);
    tcase_add_test(tc, test_name_unique_per_workspace);
    tcase_add_test(tc, test_concurrent_same_name);
    tcase_add_test(tc, test_same_name_in_one_batch);
    tcase_add_test(tc, test_other_string_fields);
    tcase_add_test(tc, test_every_invalid_field_listed);
    tcase_add_test(tc, test_body_shapes);
    tcase_add_test(tc, test_language_rules);
    tcase_add_test(tc, test_base_catalog);
    tcase_add_test(tc, test_base_trained_model_rules);
    tcase_add_test(tc, test_base_id_isolation);
    tcase_add_test(tc, test_annotation_id_rules);
    suite_add_tcase(s, tc);
    tcase_add_test(rd, test_get_model);
    tcase_add_test(rd, test_list_default_and_pages);
    tcase_add_test(rd, test_list_bad_params);
    tcase_add_test(rd, test_list_filters);
    suite_add_tcase(s, rd);
    return s;
}
