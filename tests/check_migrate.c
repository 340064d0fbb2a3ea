/* SPDX-License-Identifier: MIT */
/*
 * Unit suite of migrate_ (private to the SQLite backend): a fresh database
 * reaches the latest version, a second run applies nothing, a database at an
 * older version gets exactly the missing migrations, and a database that
 * records a version this binary does not know is left as it is (migrate
 * neither refuses nor touches it today: it applies what it knows is missing).
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "migrate.h"
#include "testutil.h"

/* The embedded migrations themselves, to build a database at an old version. */
struct migration_src {
    int version;
    const char *name;
    const char *sql;
};
#include "migrations_data.h"

#define N_SRC ((int)(sizeof(migration_srcs) / sizeof(migration_srcs[0])))

static sqlite3 *open_db(const struct tdbdir *t)
{
    sqlite3 *h = NULL;

    ck_assert_int_eq(sqlite3_open(t->db, &h), SQLITE_OK);
    return h;
}

static int64_t query_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

START_TEST(test_fresh_and_idempotent)
{
    struct tdbdir t;
    struct err err = {0};
    sqlite3 *h;

    tdbdir_init(&t);
    h = open_db(&t);
    ck_assert_int_eq(N_SRC, migrate_latest() > 0 ? N_SRC : -1);
    ck_assert_int_eq(migrate_apply(h, &err), N_SRC);
    ck_assert_int_eq(query_int(h, "SELECT MAX(version) FROM schema_migrations"), migrate_latest());
    ck_assert_int_eq(query_int(h, "SELECT COUNT(*) FROM schema_migrations"), N_SRC);
    /* the second run applies nothing and changes nothing */
    ck_assert_int_eq(migrate_apply(h, &err), 0);
    ck_assert_int_eq(query_int(h, "SELECT COUNT(*) FROM schema_migrations"), N_SRC);
    sqlite3_close(h);
    tdbdir_cleanup(&t);
}
END_TEST

START_TEST(test_older_upgraded)
{
    struct tdbdir t;
    struct err err = {0};
    sqlite3 *h;

    ck_assert_int_ge(N_SRC, 2);
    tdbdir_init(&t);
    h = open_db(&t);
    /* a database written by a binary that knew only the first migration */
    ck_assert_int_eq(sqlite3_exec(h,
                                  "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                                  "name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(h, migration_srcs[0].sql, NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(h,
                                  "INSERT INTO schema_migrations VALUES (1, 'init', "
                                  "'2026-01-01T00:00:00Z')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(h, "INSERT INTO workspaces (name, created) VALUES ('kept', 'x')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(migrate_apply(h, &err), N_SRC - 1);
    ck_assert_int_eq(query_int(h, "SELECT COUNT(*) FROM schema_migrations"), N_SRC);
    /* what the later migrations add is there, and the old data stayed */
    ck_assert_int_eq(query_int(h, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'uploads'"),
                     1);
    ck_assert_int_eq(query_int(h, "SELECT COUNT(*) FROM pragma_table_info('models') "
                                  "WHERE name = 'warnings'"),
                     1);
    ck_assert_int_eq(query_int(h, "SELECT COUNT(*) FROM workspaces WHERE name = 'kept'"), 1);
    sqlite3_close(h);
    tdbdir_cleanup(&t);
}
END_TEST

START_TEST(test_newer_left_alone)
{
    struct tdbdir t;
    struct err err = {0};
    sqlite3 *h;
    char sql[160];

    tdbdir_init(&t);
    h = open_db(&t);
    ck_assert_int_eq(migrate_apply(h, &err), N_SRC);
    snprintf(sql, sizeof sql,
             "INSERT INTO schema_migrations VALUES (%d, 'from the future', "
             "'2030-01-01T00:00:00Z')",
             migrate_latest() + 1);
    ck_assert_int_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(migrate_apply(h, &err), 0);
    ck_assert_int_eq(query_int(h, "SELECT MAX(version) FROM schema_migrations"),
                     migrate_latest() + 1);
    sqlite3_close(h);
    tdbdir_cleanup(&t);
}
END_TEST

START_TEST(test_failed_migration_rolls_back)
{
    struct tdbdir t;
    struct err err = {0};
    sqlite3 *h;

    tdbdir_init(&t);
    h = open_db(&t);
    /* a table the first migration creates exists already: it fails, nothing is recorded */
    ck_assert_int_eq(sqlite3_exec(h, "CREATE TABLE workspaces (x)", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(migrate_apply(h, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "migration"));
    ck_assert_int_eq(query_int(h, "SELECT COUNT(*) FROM schema_migrations"), 0);
    sqlite3_close(h);
    tdbdir_cleanup(&t);
}
END_TEST

Suite *migrate_suite(void)
{
    Suite *s = suite_create("migrate");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_fresh_and_idempotent);
    tcase_add_test(tc, test_older_upgraded);
    tcase_add_test(tc, test_newer_left_alone);
    tcase_add_test(tc, test_failed_migration_rolls_back);
    suite_add_tcase(s, tc);
    return s;
}
