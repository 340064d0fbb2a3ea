/* SPDX-License-Identifier: MIT */
/*
 * White-box tests of the PostgreSQL backend's data operations
 * (src/pg/documents.c, models.c, jobs.c) through the storage interface: the
 * model list's order, cursor and filters, a taken name, staged uploads
 * (staged rows invisible, publish, discard, cleanup), claims from two
 * connections at once (SKIP LOCKED: never the same job, never waiting for a
 * claim in flight), the job writes' guards, documents read in pages, the
 * model notification, and delete cascades.
 *
 * They run when MODELD_TEST_PG is set (tests/testutil.h: each test gets a
 * fresh database on that cluster, dropped at its end); without it they skip.
 * Raw SQL (counts, LISTEN) goes through libpq directly: this suite is the
 * backend's white-box test.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "db.h"
#include "testutil.h"

/* A fresh database for one test, the storage handle on it, and a raw
 * libpq connection to it. */
struct pgt {
    char uri[300];
    struct db *db;
    PGconn *raw;
};

/* A fresh database with the schema (db_open migrates it); 0 when the
 * suite cannot run (skipped). */
static int pgt_start(struct pgt *t)
{
    struct err err = {0};

    memset(t, 0, sizeof(*t));
    if (!tpg()) {
        tskip("MODELD_TEST_PG is not set: no PostgreSQL server to test on");
        return 0;
    }
    tpg_create(t->uri, sizeof(t->uri));
    t->db = db_open(t->uri, 4, &err);
    ck_assert_msg(t->db != NULL, "db_open: %s", err.msg);
    db_daemon_set(t->db, "pgdata0000000000000000000000000d", 30000);
    t->raw = PQconnectdb(t->uri);
    ck_assert_msg(PQstatus(t->raw) == CONNECTION_OK, "%s", PQerrorMessage(t->raw));
    return 1;
}

static void pgt_stop(struct pgt *t)
{
    PQfinish(t->raw);
    db_close(t->db);
    tpg_drop(t->uri);
}

/* The first column of the first row of sql as an integer (-1: no row). */
static long long raw_int(struct pgt *t, const char *sql)
{
    PGresult *r = PQexec(t->raw, sql);
    long long v = -1;

    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(t->raw));
    if (PQntuples(r) > 0)
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* A workspace, a project and a user; ids in *ws, *pr, *user. Written with
 * raw SQL: this suite tests the data operations, not the admin ones. */
static void fixtures(struct pgt *t, int64_t *ws, int64_t *pr, int64_t *user)
{
    char sql[160];

    *ws = raw_int(t, "INSERT INTO workspaces (name, created) VALUES ('ws', 'c') RETURNING id");
    snprintf(sql, sizeof(sql),
             "INSERT INTO projects (workspace_id, name, created) VALUES (%lld, 'proj', 'c') "
             "RETURNING id",
             (long long)*ws);
    *pr = raw_int(t, sql);
    *user = raw_int(t, "INSERT INTO users (name, created) VALUES ('mia', 'c') RETURNING id");
    ck_assert(*ws > 0 && *pr > 0 && *user > 0);
}

/* Another workspace with a project (its id in *pr). */
static int64_t workspace2(struct pgt *t, int64_t *pr)
{
    char sql[160];
    int64_t ws = raw_int(t, "INSERT INTO workspaces (name, created) VALUES ('ws2', 'c') "
                            "RETURNING id");

    snprintf(sql, sizeof(sql),
             "INSERT INTO projects (workspace_id, name, created) VALUES (%lld, 'p2', 'c') "
             "RETURNING id",
             (long long)ws);
    *pr = raw_int(t, sql);
    return ws;
}

/* Documents of a CLASS session: "doc i" with class "apple" and "Zed"
 * alternating (as many of each: bytewise, "Zed" sorts first). */
struct docs {
    struct db_doc d[3000];
    char text[3000][16];
};

static const struct db_doc *doc_at(const void *ctx, size_t i)
{
    return &((const struct docs *)ctx)->d[i];
}

static struct docs *docs_make(size_t n)
{
    struct docs *ds = calloc(1, sizeof(*ds));

    ck_assert_ptr_nonnull(ds);
    ck_assert_uint_le(n, 3000);
    for (size_t i = 0; i < n; i++) {
        snprintf(ds->text[i], sizeof(ds->text[i]), "doc %zu", i);
        ds->d[i].text = ds->text[i];
        ds->d[i].cls = i % 2 ? "Zed" : "apple";
    }
    return ds;
}

static int64_t session_with_docs(struct pgt *t, int64_t pr, const char *name, size_t n)
{
    struct err err = {0};
    struct db_conn *c = db_acquire(t->db);
    struct docs *ds = docs_make(n);
    int64_t id = db_annotation_create(c, pr, name, TYPE_CLASS, LANG_EN, 0, &err);

    ck_assert_msg(id > 0, "%s", err.msg);
    ck_assert_msg(db_documents_add(c, id, doc_at, ds, n, &err) == 0, "%s", err.msg);
    db_release(t->db, c);
    free(ds);
    return id;
}

static int64_t model_new(struct db_conn *c, int64_t ws, int64_t pr, int64_t user, int64_t ann,
                         const char *name, enum language lang, struct err *err)
{
    char uuid[40];
    enum db_ann_role role = DB_ANN_ALL;
    struct db_model_new m = {
        .uuid = uuid, .name = name, .display_name = name, .language = lang, .type = TYPE_CLASS,
        .project_id = pr, .workspace_id = ws, .owner_id = user, .ann_ids = &ann,
        .ann_roles = &role, .n_ann = 1};

    snprintf(uuid, sizeof(uuid), "uuid-%s-%lld", name, (long long)ws);
    return db_model_create(c, &m, err);
}

START_TEST(test_models_list_cursor_filters_conflict)
{
    struct pgt t;
    struct err err = {0};
    struct db_conn *c;
    struct db_model *page = NULL, got;
    struct db_model_filter f = {.limit = 2};
    int64_t ws, pr, user, ann, ids[5], next, ws2, pr2;
    size_t n;

    if (!pgt_start(&t))
        return;
    fixtures(&t, &ws, &pr, &user);
    ann = session_with_docs(&t, pr, "s", 10);
    c = db_acquire(t.db);
    for (int i = 0; i < 5; i++) {
        char name[16];

        snprintf(name, sizeof(name), "m%d", i);
        ids[i] = model_new(c, ws, pr, user, ann, name, i == 3 ? LANG_DE : LANG_EN, &err);
        ck_assert_msg(ids[i] > 0, "%s", err.msg);
    }
    /* newest first, two per page, the cursor is the page's last id */
    ck_assert_int_eq(db_model_list(c, pr, &f, &page, &n, &next, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(page[0].id, ids[4]);
    ck_assert_int_eq(page[1].id, ids[3]);
    ck_assert_int_eq(next, ids[3]);
    ck_assert_str_eq(page[0].owner, "mia");
    ck_assert_int_eq(page[0].status, STATUS_CREATED);
    ck_assert_int_eq(page[0].has_score, 0);
    ck_assert_ptr_null(page[0].queued_at);
    db_models_release(page, n);
    f.before_id = next;
    ck_assert_int_eq(db_model_list(c, pr, &f, &page, &n, &next, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(page[0].id, ids[2]);
    db_models_release(page, n);
    f.before_id = next;
    ck_assert_int_eq(db_model_list(c, pr, &f, &page, &n, &next, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(next, 0); /* the last page */
    db_models_release(page, n);
    /* filters */
    f = (struct db_model_filter){.limit = 10, .by_language = 1, .language = LANG_DE};
    ck_assert_int_eq(db_model_list(c, pr, &f, &page, &n, &next, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(page[0].id, ids[3]);
    db_models_release(page, n);
    ck_assert_int_eq(db_job_enqueue(c, ids[1], &err), 0);
    f = (struct db_model_filter){.limit = 10, .by_status = 1, .status = STATUS_QUEUED,
                                 .by_type = 1, .type = TYPE_CLASS};
    ck_assert_int_eq(db_model_list(c, pr, &f, &page, &n, &next, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(page[0].id, ids[1]);
    ck_assert_ptr_nonnull(page[0].queued_at);
    db_models_release(page, n);
    /* a taken name: the conflict code; the same name in another workspace is fine */
    ck_assert_int_lt(model_new(c, ws, pr, user, ann, "m2", LANG_EN, &err), 0);
    ck_assert_int_eq(err.code, ERR_CONFLICT);
    err_clear(&err);
    ws2 = workspace2(&t, &pr2);
    ck_assert_int_gt(model_new(c, ws2, pr2, user, ann, "m2", LANG_EN, &err), 0);
    /* the unique index itself, as a second daemon would meet it */
    {
        PGresult *r = PQexec(t.raw, "INSERT INTO models (uuid, workspace_id, project_id, name, "
                                    "display_name, language, type, status, created, updated) "
                                    "SELECT 'x', workspace_id, project_id, name, 'd', 'en', "
                                    "'CLASS', 'CREATED', 'c', 'u' FROM models WHERE name = 'm0'");

        ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23505");
        PQclear(r);
    }
    /* get, and a model of another project is not found */
    ck_assert_int_eq(db_model_get(c, pr, ids[0], 1, &got, &err), 0);
    ck_assert_str_eq(got.name, "m0");
    ck_assert_int_eq(got.language, LANG_EN);
    db_model_release(&got);
    ck_assert_int_eq(db_model_get(c, pr2, ids[0], 0, &got, &err), -1);
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
    err_clear(&err);
    db_release(t.db, c);
    pgt_stop(&t);
}
END_TEST

START_TEST(test_base_catalog_and_patch)
{
    struct pgt t;
    struct err err = {0};
    struct db_conn *c;
    struct db_base_row *bases = NULL;
    struct db_model got;
    struct db_model_patch p = {.display_name = "Shown", .short_description = "short"};
    enum model_status was;
    int64_t ws, pr, user, ann, m, b1, b2;
    size_t n;

    if (!pgt_start(&t))
        return;
    fixtures(&t, &ws, &pr, &user);
    ann = session_with_docs(&t, pr, "s", 4);
    c = db_acquire(t.db);
    m = model_new(c, ws, pr, user, ann, "m", LANG_EN, &err);
    ck_assert_int_gt(m, 0);
    b1 = db_base_create(c, "u1", "zeta", LANG_EN, 0, NULL, &err);
    ck_assert_msg(b1 > 0, "%s", err.msg);
    b2 = db_base_create(c, "u2", "alpha", LANG_DE, m, "/a/b.model", &err);
    ck_assert_msg(b2 > 0, "%s", err.msg);
    ck_assert_int_lt(db_base_create(c, "u3", "zeta", LANG_EN, 0, NULL, &err), 0);
    ck_assert_int_eq(err.code, ERR_CONFLICT);
    err_clear(&err);
    ck_assert_int_lt(db_base_create(c, "u4", "other", LANG_EN, 999999, "/x", &err), 0);
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
    err_clear(&err);
    ck_assert_int_eq(db_base_list(c, &bases, &n, &err), 0);
    ck_assert_uint_eq(n, 2); /* oldest first */
    ck_assert_int_eq(bases[0].id, b1);
    ck_assert_int_eq(bases[0].has_weights, 0);
    ck_assert_int_eq(bases[0].from_model_id, 0);
    ck_assert_ptr_null(bases[0].from_model);
    ck_assert_int_eq(bases[1].has_weights, 1);
    ck_assert_int_eq(bases[1].from_model_id, m);
    ck_assert_str_eq(bases[1].from_model, "m");
    ck_assert_int_eq(bases[1].language, LANG_DE);
    db_base_rows_release(bases, n);
    /* PATCH: fields set, a forbidden status change refused with nothing written */
    ck_assert_int_eq(db_model_patch(c, pr, m, &p, &was, &err), 0);
    ck_assert_int_eq(was, STATUS_CREATED);
    p = (struct db_model_patch){.display_name = "Never", .set_status = 1,
                                .status = STATUS_PUBLISHED};
    ck_assert_int_eq(db_model_patch(c, pr, m, &p, &was, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    err_clear(&err);
    p = (struct db_model_patch){.clear_short = 1};
    ck_assert_int_eq(db_model_patch(c, pr, m, &p, NULL, &err), 0);
    ck_assert_int_eq(db_model_get(c, pr, m, 0, &got, &err), 0);
    ck_assert_str_eq(got.display_name, "Shown");
    ck_assert_ptr_null(got.short_description);
    db_model_release(&got);
    p = (struct db_model_patch){.display_name = "x"};
    ck_assert_int_eq(db_model_patch(c, pr, 999999, &p, NULL, &err), -1);
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
    err_clear(&err);
    db_release(t.db, c);
    pgt_stop(&t);
}
END_TEST

START_TEST(test_upload_stage_publish_discard_cleanup)
{
    struct pgt t;
    struct err err = {0};
    struct db_conn *c;
    struct db_annotation a;
    struct docs *ds = docs_make(10);
    int64_t ws, pr, user, ann, up;

    if (!pgt_start(&t)) {
        free(ds);
        return;
    }
    fixtures(&t, &ws, &pr, &user);
    c = db_acquire(t.db);
    ann = db_annotation_create(c, pr, "s", TYPE_CLASS, LANG_EN, user, &err);
    ck_assert_int_gt(ann, 0);
    /* staged: stored, but the session shows nothing */
    up = db_upload_open(c, ann, &err);
    ck_assert_int_gt(up, 0);
    ck_assert_int_eq(db_upload_write(c, up, ann, doc_at, ds, 10, &err), 0);
    ck_assert_int_eq(raw_int(&t, "SELECT COUNT(*) FROM documents"), 10);
    ck_assert_int_eq(db_annotation_get(c, pr, ann, &a, &err), 0);
    ck_assert_int_eq(a.document_count, 0);
    ck_assert_uint_eq(a.n_labels, 0);
    db_annotation_release(&a);
    /* published with the caller's transaction */
    ck_assert_int_eq(db_begin(c, &err), 0);
    ck_assert_int_eq(db_upload_publish(c, up, &err), 0);
    ck_assert_int_eq(db_commit(c, &err), 0);
    ck_assert_int_eq(db_annotation_get(c, pr, ann, &a, &err), 0);
    ck_assert_int_eq(a.document_count, 10);
    /* by kind, count descending, then name bytewise (as SQLite sorts) */
    ck_assert_uint_eq(a.n_labels, 2);
    ck_assert_str_eq(a.labels[0].name, "Zed");
    ck_assert_int_eq(a.labels[0].count, 5);
    ck_assert_str_eq(a.labels[1].name, "apple");
    ck_assert_int_eq(a.labels[1].count, 5);
    ck_assert_int_eq(a.labels[0].kind, LABEL_KIND_CLASS);
    db_annotation_release(&a);
    ck_assert_int_eq(raw_int(&t, "SELECT COUNT(*) FROM upload_labels"), 0);
    /* publishing twice, or outside a transaction, is refused */
    ck_assert_int_eq(db_begin(c, &err), 0);
    ck_assert_int_eq(db_upload_publish(c, up, &err), -1);
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
    db_rollback(c);
    err_clear(&err);
    /* discarded: rows gone, the session unchanged */
    up = db_upload_open(c, ann, &err);
    ck_assert_int_eq(db_upload_write(c, up, ann, doc_at, ds, 10, &err), 0);
    ck_assert_int_eq(db_upload_discard(c, up, &err), 0);
    ck_assert_int_eq(raw_int(&t, "SELECT COUNT(*) FROM documents"), 10);
    ck_assert_int_eq(raw_int(&t, "SELECT COUNT(*) FROM upload_labels"), 0);
    ck_assert_int_eq(raw_int(&t, "SELECT COUNT(*) FROM uploads WHERE published = 0"), 0);
    /* cleanup: every unpublished upload, and only those */
    ck_assert_int_gt(db_upload_open(c, ann, &err), 0);
    up = db_upload_open(c, ann, &err);
    ck_assert_int_eq(db_upload_write(c, up, ann, doc_at, ds, 7, &err), 0);
    ck_assert_int_eq(db_upload_cleanup(c, &err), 2);
    ck_assert_int_eq(raw_int(&t, "SELECT COUNT(*) FROM documents"), 10);
    ck_assert_int_eq(db_upload_cleanup(c, &err), 0);
    ck_assert_int_eq(db_annotation_get(c, pr, ann, &a, &err), 0);
    ck_assert_int_eq(a.document_count, 10);
    db_annotation_release(&a);
    db_release(t.db, c);
    free(ds);
    pgt_stop(&t);
}
END_TEST

/* Claims from two threads, each on its own connection, at once. */
struct claimer {
    struct db *db;
    pthread_barrier_t *go;
    int64_t got[64];
    int n, failed;
};

static void *claim_all(void *p)
{
    struct claimer *cl = p;
    struct db_conn *c = db_acquire(cl->db);
    struct err err = {0};
    int64_t id, attempt;
    int rc;

    pthread_barrier_wait(cl->go);
    while ((rc = db_job_claim(c, &id, &attempt, &err)) == 1 && cl->n < 64)
        cl->got[cl->n++] = id;
    cl->failed = rc < 0;
    db_release(cl->db, c);
    return NULL;
}

START_TEST(test_claim_two_connections_skip_locked)
{
    enum { N = 40 };
    struct pgt t;
    struct err err = {0};
    struct db_conn *c;
    struct claimer cl[2];
    pthread_t th[2];
    pthread_barrier_t go;
    int seen[N] = {0};
    int64_t ws, pr, user, ann, ids[N], first, other, att;

    if (!pgt_start(&t))
        return;
    fixtures(&t, &ws, &pr, &user);
    ann = session_with_docs(&t, pr, "s", 4);
    c = db_acquire(t.db);
    for (int i = 0; i < N; i++) {
        char name[16];

        snprintf(name, sizeof(name), "m%d", i);
        ids[i] = model_new(c, ws, pr, user, ann, name, LANG_EN, &err);
        ck_assert_int_gt(ids[i], 0);
        ck_assert_int_eq(db_job_enqueue(c, ids[i], &err), 0);
    }
    db_release(t.db, c);
    pthread_barrier_init(&go, NULL, 2);
    for (int i = 0; i < 2; i++) {
        memset(&cl[i], 0, sizeof(cl[i]));
        cl[i].db = t.db;
        cl[i].go = &go;
        ck_assert_int_eq(pthread_create(&th[i], NULL, claim_all, &cl[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    ck_assert(!cl[0].failed && !cl[1].failed);
    ck_assert_int_eq(cl[0].n + cl[1].n, N); /* every job once, none twice */
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < cl[k].n; i++) {
            int64_t j = cl[k].got[i] - ids[0];

            ck_assert(j >= 0 && j < N);
            ck_assert_int_eq(seen[j]++, 0);
        }
    ck_assert_int_eq(raw_int(&t, "SELECT COUNT(*) FROM models WHERE status = 'TRAINING'"), N);

    /* A claim in flight (its transaction open) holds its row: a claim on
     * another connection takes the next job at once instead of waiting. */
    c = db_acquire(t.db);
    ck_assert_int_eq(db_job_rescue(c, 3, 1, &err), N);
    ck_assert_int_eq(db_begin(c, &err), 0);
    ck_assert_int_eq(db_job_claim(c, &first, &att, &err), 1);
    {
        PGresult *r = PQexec(t.raw, "SET lock_timeout = '5s'");

        PQclear(r);
        r = PQexec(t.raw, "UPDATE models SET status = 'TRAINING' WHERE id = (SELECT id FROM "
                          "models WHERE status = 'QUEUED' ORDER BY queued_at, id LIMIT 1 "
                          "FOR UPDATE SKIP LOCKED) RETURNING id");
        ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
        ck_assert_int_eq(PQntuples(r), 1);
        other = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    ck_assert_int_ne(other, first);
    ck_assert_int_eq(db_commit(c, &err), 0);
    db_release(t.db, c);
    pgt_stop(&t);
}
END_TEST

/* Collects the documents db_job_documents hands out. */
struct collected {
    int n, train, test, out_of_order;
    int last_ann_first; /* the "doc i" number of the previous row */
};

static int collect(void *ctx, const char *role, const char *text, const char *cls,
                   const char *labels, const char *aspects)
{
    struct collected *co = ctx;
    int i = atoi(text + 4);

    (void)cls;
    (void)labels;
    (void)aspects;
    co->train += strcmp(role, "train") == 0;
    co->test += strcmp(role, "test") == 0;
    if (co->n > 0 && i != co->last_ann_first + 1 && i != 0)
        co->out_of_order++;
    co->last_ann_first = i;
    co->n++;
    return 0;
}

START_TEST(test_job_writes_documents_and_notify)
{
    struct pgt t;
    struct err err = {0};
    struct db_conn *c;
    struct db_job job;
    struct db_model got;
    struct collected co = {0};
    int64_t ws, pr, user, a1, a2, m, id, att;
    int64_t anns[2];
    enum db_ann_role roles[2] = {DB_ANN_TRAIN, DB_ANN_TEST};
    double score = 0.1 + 0.2; /* not a short decimal: must come back bit for bit */
    PGresult *r;
    PGnotify *note;
    char payload[64];

    if (!pgt_start(&t))
        return;
    fixtures(&t, &ws, &pr, &user);
    a1 = session_with_docs(&t, pr, "train", 2500); /* more than one page */
    a2 = session_with_docs(&t, pr, "test", 30);
    anns[0] = a1;
    anns[1] = a2;
    r = PQexec(t.raw, "LISTEN modeld_model");
    ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    c = db_acquire(t.db);
    {
        struct db_model_new mn = {
            .uuid = "u-m", .name = "m", .display_name = "m", .language = LANG_EN,
            .type = TYPE_CLASS, .project_id = pr, .workspace_id = ws, .owner_id = user,
            .ann_ids = anns, .ann_roles = roles, .n_ann = 2};

        m = db_model_create(c, &mn, &err);
        ck_assert_msg(m > 0, "%s", err.msg);
    }
    /* the creation was announced to every listener, after its commit */
    ck_assert_int_eq(PQconsumeInput(t.raw), 1);
    for (int i = 0; i < 100 && !(note = PQnotifies(t.raw)); i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};

        nanosleep(&ts, NULL);
        PQconsumeInput(t.raw);
    }
    ck_assert_ptr_nonnull(note);
    snprintf(payload, sizeof(payload), "%lld %lld created", (long long)pr, (long long)m);
    ck_assert_str_eq(note->relname, "modeld_model");
    ck_assert_str_eq(note->extra, payload);
    PQfreemem(note);

    /* not TRAINING: fenced, no change */
    ck_assert_int_eq(db_job_progress(c, m, 1, 10, &err), -1);
    ck_assert_int_eq(err.code, ERR_FENCED);
    ck_assert_int_eq(db_job_ready(c, m, 1, 0.5, "{}", NULL, "/x", &err), -1);
    ck_assert_int_eq(err.code, ERR_FENCED);
    ck_assert_int_eq(db_job_enqueue(c, m, &err), 0);
    ck_assert_int_eq(db_job_claim(c, &id, &att, &err), 1);
    ck_assert_int_eq(id, m);
    ck_assert_int_eq(att, 1);
    ck_assert_int_eq(db_job_claim(c, &id, &att, &err), 0);
    ck_assert_int_eq(db_job_get(c, m, &job, &err), 0);
    ck_assert_int_eq(job.status, STATUS_TRAINING);
    ck_assert_ptr_null(job.base_artifact);
    db_job_release(&job);
    ck_assert_int_eq(db_job_documents(c, m, collect, &co, &err), 0);
    ck_assert_int_eq(co.n, 2530);
    ck_assert_int_eq(co.train, 2500);
    ck_assert_int_eq(co.test, 30);
    ck_assert_int_eq(co.out_of_order, 0);
    /* progress only rises */
    ck_assert_int_eq(db_job_progress(c, m, 1, 40.5, &err), 0);
    ck_assert_int_eq(db_job_progress(c, m, 1, 20, &err), 0);
    ck_assert_int_eq(db_model_get(c, pr, m, 0, &got, &err), 0);
    ck_assert(got.progress == 40.5);
    db_model_release(&got);
    /* requeue by a stop, claim again, then the end state once */
    ck_assert_int_eq(db_job_requeue(c, m, 1, &err), 1);
    ck_assert_int_eq(db_job_requeue(c, m, 1, &err), 0);
    ck_assert_int_eq(db_job_claim(c, &id, &att, &err), 1);
    ck_assert_int_eq(att, 2);
    ck_assert_int_eq(db_job_ready(c, m, 2, score, "{\"f1\":1}", "[]", "/art", &err), 1);
    ck_assert_int_eq(db_job_ready(c, m, 2, score, "{}", NULL, "/art2", &err), -1);
    ck_assert_int_eq(err.code, ERR_FENCED);
    ck_assert_int_eq(db_job_failed(c, m, 2, "late", &err), -1);
    ck_assert_int_eq(db_job_failed(c, m, 0, "late", &err), 0);
    ck_assert_int_eq(db_model_get(c, pr, m, 1, &got, &err), 0);
    ck_assert_int_eq(got.status, STATUS_READY);
    ck_assert(got.has_score && got.score == score);
    ck_assert(got.progress == 100);
    ck_assert_str_eq(got.metrics, "{\"f1\":1}");
    ck_assert_str_eq(got.warnings, "[]");
    ck_assert_ptr_nonnull(got.finished_at);
    db_model_release(&got);
    db_release(t.db, c);
    pgt_stop(&t);
}
END_TEST

START_TEST(test_delete_cascades)
{
    struct pgt t;
    struct err err = {0};
    struct db_conn *c;
    char *artifact = NULL;
    enum model_status st;
    int64_t ws, pr, user, ann, m, b, artifact_attempt;

    if (!pgt_start(&t))
        return;
    fixtures(&t, &ws, &pr, &user);
    ann = session_with_docs(&t, pr, "s", 5);
    c = db_acquire(t.db);
    m = model_new(c, ws, pr, user, ann, "m", LANG_EN, &err);
    ck_assert_int_gt(m, 0);
    ck_assert_int_eq(db_job_enqueue(c, m, &err), 0);
    ck_assert_int_eq(db_job_claim(c, &b, &artifact_attempt, &err), 1);
    ck_assert_int_eq(db_job_ready(c, m, artifact_attempt, 1.0, "{}", NULL, "/models/m.bin", &err),
                     1);
    b = db_base_create(c, "ub", "base", LANG_EN, m, "/models/base.bin", &err);
    ck_assert_int_gt(b, 0);
    ck_assert_int_eq(raw_int(&t, "SELECT COUNT(*) FROM model_annotations"), 1);
    ck_assert_int_eq(db_model_status(c, pr, m, &st, &artifact, &err), 0);
    ck_assert_int_eq(st, STATUS_READY);
    ck_assert_str_eq(artifact, "/models/m.bin");
    free(artifact);
    artifact = NULL;
    ck_assert_int_eq(db_model_delete(c, pr, m, &artifact, &err), 0);
    ck_assert_str_eq(artifact, "/models/m.bin");
    free(artifact);
    artifact = NULL;
    /* its sessions' links go with it; the base made from it stays, unlinked */
    ck_assert_int_eq(raw_int(&t, "SELECT COUNT(*) FROM model_annotations"), 0);
    ck_assert_int_eq(raw_int(&t, "SELECT COUNT(*) FROM models WHERE base_id IS NOT NULL"), 0);
    ck_assert_int_eq(raw_int(&t, "SELECT COUNT(*) FROM models WHERE type = 'BASE'"), 1);
    ck_assert_int_eq(raw_int(&t, "SELECT COUNT(*) FROM documents"), 5);
    ck_assert_int_eq(db_model_delete(c, pr, m, &artifact, &err), -1);
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
    err_clear(&err);
    ck_assert_int_eq(db_model_status(c, pr, m, &st, NULL, &err), -1);
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
    err_clear(&err);
    /* a session's documents and label counts go with the session */
    ck_assert_int_eq(raw_int(&t, "WITH d AS (DELETE FROM annotations RETURNING id) "
                                 "SELECT COUNT(*) FROM d"), 1);
    ck_assert_int_eq(raw_int(&t, "SELECT COUNT(*) FROM documents"), 0);
    ck_assert_int_eq(raw_int(&t, "SELECT COUNT(*) FROM annotation_labels"), 0);
    ck_assert_int_eq(raw_int(&t, "SELECT COUNT(*) FROM uploads"), 0);
    db_release(t.db, c);
    pgt_stop(&t);
}
END_TEST

Suite *pg_data_suite(void)
{
    Suite *s = suite_create("pg_data");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_models_list_cursor_filters_conflict);
    tcase_add_test(tc, test_base_catalog_and_patch);
    tcase_add_test(tc, test_upload_stage_publish_discard_cleanup);
    tcase_add_test(tc, test_claim_two_connections_skip_locked);
    tcase_add_test(tc, test_job_writes_documents_and_notify);
    tcase_add_test(tc, test_delete_cascades);
    suite_add_tcase(s, tc);
    return s;
}
