/* SPDX-License-Identifier: MIT */
/*
 * migrate: embedded schema migrations (see migrate.h). The SQL text comes from
 * build/gen/migrations_data.h, generated from migrations/NNNN_name.sql by
 * tools/embed_migrations.sh. Statements of a file are prepared one after the
 * other (no sqlite3_exec) inside one BEGIN IMMEDIATE transaction.
 */
#include "migrate.h"

#include <stddef.h>

struct migration_src {
    int version;
    const char *name;
    const char *sql;
};

#include "migrations_data.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define N_MIGRATIONS (sizeof(migration_srcs) / sizeof(migration_srcs[0]))

int migrate_latest(void)
{
    return N_MIGRATIONS ? migration_srcs[N_MIGRATIONS - 1].version : 0;
}

int migrate_count(void)
{
    return (int)N_MIGRATIONS;
}

/* Run every statement of a multi-statement text. */
static int run_script(sqlite3 *h, const char *sql, struct err *err)
{
    const char *tail = sql;

    while (tail && *tail) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(h, tail, -1, &st, &tail);

        if (rc != SQLITE_OK) {
            err_set(err, ERR_INTERNAL, "migration: %s", sqlite3_errmsg(h));
            return -1;
        }
        if (!st) /* whitespace or comment only */
            continue;
        do {
            rc = sqlite3_step(st);
        } while (rc == SQLITE_ROW);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            err_set(err, ERR_INTERNAL, "migration: %s", sqlite3_errmsg(h));
            return -1;
        }
    }
    return 0;
}

/* *applied = 1 if migration version v is recorded as applied, else 0. */
static int is_applied(sqlite3 *h, int v, int *applied, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(h, "SELECT 1 FROM schema_migrations WHERE version = ?1", -1, &st,
                           NULL) != SQLITE_OK) {
        err_set(err, ERR_INTERNAL, "migration: %s", sqlite3_errmsg(h));
        return -1;
    }
    sqlite3_bind_int(st, 1, v);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        err_set(err, ERR_INTERNAL, "migration: %s", sqlite3_errmsg(h));
        return -1;
    }
    *applied = rc == SQLITE_ROW;
    return 0;
}

static int record(sqlite3 *h, const struct migration_src *m, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(h,
                           "INSERT INTO schema_migrations (version, name, applied_at) "
                           "VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                           -1, &st, NULL) != SQLITE_OK) {
        err_set(err, ERR_INTERNAL, "migration: %s", sqlite3_errmsg(h));
        return -1;
    }
    sqlite3_bind_int(st, 1, m->version);
    sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        err_set(err, ERR_INTERNAL, "migration: %s", sqlite3_errmsg(h));
        return -1;
    }
    return 0;
}

int migrate_apply(sqlite3 *h, struct err *err)
{
    int applied = 0;

    if (run_script(h,
                   "CREATE TABLE IF NOT EXISTS schema_migrations ("
                   " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                   err) != 0)
        return -1;
    for (size_t i = 0; i < N_MIGRATIONS; i++) {
        const struct migration_src *m = &migration_srcs[i];
        int done = 0;

        /* every migration not recorded yet is applied, in order */
        if (run_script(h, "BEGIN IMMEDIATE", err) != 0)
            return -1;
        if (is_applied(h, m->version, &done, err) != 0)
            goto fail;
        if (done) {
            run_script(h, "COMMIT", err);
            continue;
        }
        if (run_script(h, m->sql, err) != 0 || record(h, m, err) != 0)
            goto fail;
        if (run_script(h, "COMMIT", err) != 0)
            goto fail;
        applied++;
        continue;
    fail:
        run_script(h, "ROLLBACK", NULL);
        return -1;
    }
    return applied;
}
