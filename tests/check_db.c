/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the storage interface on its SQLite backend (src/sqlite/):
 * db_open hands a PostgreSQL connection string to that backend instead of
 * taking it for a file name; migrations are applied once and recorded (migrate_apply on a
 * raw SQLite handle: this suite is the backend's white-box test, so it
 * includes sqlite3.h), the database is in WAL mode, foreign keys are enforced
 * on every pooled connection, the model name is unique per workspace, and
 * the label inventory is counted at insert time.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "migrate.h"
#include "testutil.h"

static int64_t q(const char *path, const char *sql)
{
    struct tserver fake;

    memset(&fake, 0, sizeof(fake));
    snprintf(fake.db_path, sizeof(fake.db_path), "%s", path);
    return tsql_int(&fake, sql);
}

START_TEST(test_migrations_recorded_once)
{
    struct tdbdir t;
    struct err err = {0};
    struct db *db;
    sqlite3 *h;

    tdbdir_init(&t);
    db = db_open(t.db, 2, &err);
    ck_assert_msg(db != NULL, "%s", err.msg);
    db_close(db);
    ck_assert_int_eq(q(t.db, "SELECT COUNT(*) FROM schema_migrations"), migrate_count());
    ck_assert_int_eq(q(t.db, "SELECT MAX(version) FROM schema_migrations"), migrate_latest());
    db = db_open(t.db, 2, &err);
    ck_assert_ptr_nonnull(db);
    db_close(db);
    ck_assert_int_eq(q(t.db, "SELECT COUNT(*) FROM schema_migrations"), migrate_count());
    /* applying again is a no-op */
    ck_assert_int_eq(sqlite3_open(t.db, &h), SQLITE_OK);
    ck_assert_int_eq(migrate_apply(h, &err), 0);
    sqlite3_close(h);
    ck_assert_int_eq(q(t.db, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
    tdbdir_cleanup(&t);
}
END_TEST

/* Each of N threads holds one connection (a thread never holds two), all at
 * once, so every connection of the pool is checked. */
struct fk_arg {
    struct db *db;
    pthread_barrier_t *all_held;
    int ok;
};

static void *fk_thread(void *p)
{
    struct fk_arg *a = p;
    struct err err = {0};
    struct db_conn *c = db_acquire(a->db);

    pthread_barrier_wait(a->all_held); /* N distinct connections */
    a->ok = db_project_create(c, 4242, "p", &err) < 0 && err.code == ERR_NOT_FOUND;
    err_clear(&err);
    a->ok = a->ok && db_token_create(c, 4242, "abc", 0, &err) < 0 && err.code == ERR_NOT_FOUND;
    pthread_barrier_wait(a->all_held);
    db_release(a->db, c);
    return NULL;
}

START_TEST(test_foreign_keys_every_connection)
{
    enum { N = 3 };
    struct tdbdir t;
    struct err err = {0};
    struct db *db;
    pthread_t th[N];
    pthread_barrier_t bar;
    struct fk_arg arg[N];

    tdbdir_init(&t);
    db = db_open(t.db, N, &err);
    ck_assert_ptr_nonnull(db);
    pthread_barrier_init(&bar, NULL, N);
    for (int i = 0; i < N; i++) {
        arg[i] = (struct fk_arg){db, &bar, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, fk_thread, &arg[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(arg[i].ok, "connection %d does not enforce foreign keys", i);
    }
    pthread_barrier_destroy(&bar);
    db_close(db);
    ck_assert_int_eq(q(t.db, "SELECT COUNT(*) FROM projects"), 0);
    tdbdir_cleanup(&t);
}
END_TEST

START_TEST(test_model_name_unique_in_workspace)
{
    struct tdbdir t;
    struct err err = {0};
    struct db *db;
    struct db_conn *c;
    int64_t ws, ws2, p, p2, p3, u;
    struct db_model_new m = {.uuid = "00000000-0000-4000-8000-000000000001",
                             .name = "n",
                             .display_name = "n",
                             .language = LANG_EN,
                             .type = TYPE_ABSA};

    tdbdir_init(&t);
    db = db_open(t.db, 1, &err);
    ck_assert_ptr_nonnull(db);
    c = db_acquire(db);
    ws = db_workspace_create(c, "w", &err);
    ws2 = db_workspace_create(c, "w2", &err);
    p = db_project_create(c, ws, "p", &err);
    p2 = db_project_create(c, ws, "p2", &err);
    p3 = db_project_create(c, ws2, "p3", &err);
    u = db_user_create(c, "u", 0, &err);
    m.workspace_id = ws;
    m.project_id = p;
    m.owner_id = u;
    ck_assert_int_gt(db_model_create(c, &m, &err), 0);
    m.uuid = "00000000-0000-4000-8000-000000000002";
    m.project_id = p2;
    ck_assert_int_lt(db_model_create(c, &m, &err), 0);
    ck_assert_int_eq(err.code, ERR_CONFLICT);
    ck_assert_ptr_nonnull(strstr(err.msg, "taken"));
    m.workspace_id = ws2;
    m.project_id = p3;
    ck_assert_int_gt(db_model_create(c, &m, &err), 0);
    db_release(db, c);
    db_close(db);
    tdbdir_cleanup(&t);
}
END_TEST

static const struct db_doc *doc_at(const void *ctx, size_t i)
{
    return (const struct db_doc *)ctx + i;
}

/* ":memory:" is a database per connection in SQLite: a pool of several would
 * hand out connections that were never migrated. */
/* The label inventory is counted at insert time, and migration 0002's backfill
 * computes the same inventory from documents stored before it existed. */
START_TEST(test_label_inventory_and_backfill)
{
    struct tdbdir t;
    struct tserver fake;
    struct err err = {0};
    struct db *db;
    struct db_conn *c;
    static const struct db_aspect a1[] = {{"FOOD", "positive"}, {"SERVICE", "negative"}},
                                  a2[] = {{"FOOD", "negative"}};
    static const char *const l12[] = {"l1", "l2"}, *const l1[] = {"l1"};
    const struct db_doc docs[] = {
        {.text = "a",
         .aspects = "[{\"category\":\"FOOD\",\"polarity\":\"positive\"},"
                    "{\"category\":\"SERVICE\",\"polarity\":\"negative\"}]",
         .aspect_list = a1,
         .n_aspects = 2},
        {.text = "b",
         .aspects = "[{\"category\":\"FOOD\",\"polarity\":\"negative\"}]",
         .aspect_list = a2,
         .n_aspects = 1},
        {.text = "c", .cls = "x", .labels = "[\"l1\",\"l2\"]", .label_names = l12, .n_labels = 2},
        {.text = "d", .cls = "x", .labels = "[\"l1\"]", .label_names = l1, .n_labels = 1},
    };
    const char *const checks[][2] = {
        {"SELECT count FROM annotation_labels WHERE kind='category' AND name='FOOD'", "2"},
        {"SELECT count FROM annotation_labels WHERE kind='category' AND name='SERVICE'", "1"},
        {"SELECT count FROM annotation_labels WHERE kind='polarity' AND name='negative'", "2"},
        {"SELECT count FROM annotation_labels WHERE kind='class' AND name='x'", "2"},
        {"SELECT count FROM annotation_labels WHERE kind='label' AND name='l1'", "2"},
        {"SELECT count FROM annotation_labels WHERE kind='label' AND name='l2'", "1"},
        {"SELECT COUNT(*) FROM annotation_labels", "7"},
    };
    int64_t ws, pr, s1, s2;

    tdbdir_init(&t);
    memset(&fake, 0, sizeof(fake));
    snprintf(fake.db_path, sizeof(fake.db_path), "%s", t.db);
    db = db_open(t.db, 1, &err);
    ck_assert_msg(db != NULL, "%s", err.msg);
    c = db_acquire(db);
    ws = db_workspace_create(c, "w", &err);
    pr = db_project_create(c, ws, "p", &err);
    s1 = db_annotation_create(c, pr, "absa", TYPE_ABSA, LANG_EN, 0, &err);
    s2 = db_annotation_create(c, pr, "cl", TYPE_CLASSLABEL, LANG_EN, 0, &err);
    ck_assert_int_eq(db_documents_add(c, s1, doc_at, docs, 2, &err), 0);
    ck_assert_int_eq(db_documents_add(c, s2, doc_at, docs + 2, 2, &err), 0);
    db_release(db, c);
    db_close(db);
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
        ck_assert_int_eq(q(t.db, checks[i][0]), atoi(checks[i][1]));

    /* as if the documents predated migration 0002: drop it and apply it again */
    tsql(&fake, "DROP TABLE annotation_labels; DELETE FROM schema_migrations WHERE version = 2");
    db = db_open(t.db, 1, &err);
    ck_assert_msg(db != NULL, "%s", err.msg);
    db_close(db);
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
        ck_assert_int_eq(q(t.db, checks[i][0]), atoi(checks[i][1]));
    tdbdir_cleanup(&t);
}
END_TEST

/* A PostgreSQL connection string goes to the PostgreSQL backend (here
 * unreachable: ERR_IO naming PostgreSQL, and never quoting the string: it
 * may carry a password); a file whose name merely contains '=' or
 * "postgres" is still a SQLite file. */
START_TEST(test_open_selects_backend)
{
    static const char *const pg[] = {
        "postgresql://modeld:secret@localhost/modeld", "postgres://localhost",
        "host=localhost dbname=modeld password=secret", " dbname = modeld", "service=modeld"};
    struct tdbdir t;
    struct err err = {0};
    struct db *db;
    char path[600];

    for (size_t i = 0; i < sizeof(pg) / sizeof(pg[0]); i++) {
        err_clear(&err);
        ck_assert_ptr_null(db_open(pg[i], 1, &err));
        ck_assert_int_eq(err.code, ERR_IO);
        ck_assert_msg(strstr(err.msg, "PostgreSQL") != NULL, "%s: %s", pg[i], err.msg);
        ck_assert_msg(strstr(err.msg, "secret") == NULL, "%s", err.msg);
    }
    tdbdir_init(&t);
    snprintf(path, sizeof(path), "%s/dbname=x postgres.db", t.dir);
    db = db_open(path, 1, &err);
    ck_assert_msg(db != NULL, "%s", err.msg);
    db_close(db);
    ck_assert_int_eq(access(path, F_OK), 0);
    tdbdir_cleanup(&t);
}
END_TEST

START_TEST(test_memory_database_pool)
{
    struct err err = {0};
    struct db *db = db_open(":memory:", 4, &err);

    ck_assert_msg(db != NULL, "%s", err.msg);
    for (int i = 0; i < 4; i++) {
        struct db_conn *c = db_acquire(db);

        err_clear(&err);
        ck_assert_msg(db_workspace_create(c, "w", &err) > 0, "connection %d: %s", i, err.msg);
        db_release(db, c);
    }
    db_close(db);
}
END_TEST

Suite *db_suite(void)
{
    Suite *s = suite_create("db");
    TCase *tc = tcase_create("storage");

    tcase_add_test(tc, test_open_selects_backend);
    tcase_add_test(tc, test_migrations_recorded_once);
    tcase_add_test(tc, test_foreign_keys_every_connection);
    tcase_add_test(tc, test_model_name_unique_in_workspace);
    tcase_add_test(tc, test_memory_database_pool);
    tcase_add_test(tc, test_label_inventory_and_backfill);
    suite_add_tcase(s, tc);
    return s;
}
