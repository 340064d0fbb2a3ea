/* SPDX-License-Identifier: MIT */
/*
 * pg/migrate.c: the PostgreSQL schema. The SQL of migrations/pg/NNNN_name.sql
 * is embedded at build time (build/gen/pg_migrations_data.h, made by
 * tools/embed_migrations.sh like the SQLite one) and applied in version
 * order, each file in its own transaction, recorded in schema_migrations
 * (the table and columns of the SQLite backend's). The versions mirror the
 * SQLite migrations one for one, so both backends report the same schema
 * version.
 *
 * Several daemons may start at once on one database: every transaction that
 * reads or changes the schema first takes the transaction-level advisory
 * lock PG_LOCK_MIGRATE, so they run one after the other, and each re-checks
 * what is applied once it holds the lock. A migration file is a script of
 * several statements without parameters, sent with PQexec (the simple query
 * protocol runs it as one unit inside our transaction); the bookkeeping
 * statements bind their parameters.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

struct migration_src {
    int version;
    const char *name;
    const char *sql;
};

#include "pg_migrations_data.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define N_MIGRATIONS (sizeof(migration_srcs) / sizeof(migration_srcs[0]))

int pg_schema_latest(void)
{
    return N_MIGRATIONS ? migration_srcs[N_MIGRATIONS - 1].version : 0;
}

int pg_schema_missing(struct db_conn *c, struct err *err)
{
    PGresult *r;
    int n;

    if (pg_row(c, STMT_SCHEMA_MISSING, &r, "no schema", err, "ii", (int64_t)pg_schema_latest(),
               (int64_t)N_MIGRATIONS) != 1)
        return -1;
    n = (int)pg_col_int(r, 0, 0);
    PQclear(r);
    return n;
}

/* Run sql (parameters: n texts) and check it succeeded; 0, or -1 with err
 * (prefixed by what). *out (may be NULL) receives the result. */
static int run(PGconn *h, const char *sql, int n, const char *const *params, PGresult **out,
               const char *what, struct err *err)
{
    PGresult *r = n ? PQexecParams(h, sql, n, NULL, params, NULL, NULL, 0) : PQexec(h, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(h);
        size_t len = strlen(msg);

        while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
            len--;
        err_set(err, ERR_INTERNAL, "migration %s: %.*s", what, (int)len, msg);
        PQclear(r);
        return -1;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return 0;
}

/* Open a transaction holding the migration lock. */
static int begin_locked(PGconn *h, const char *what, struct err *err)
{
    char key[32];
    const char *p[1] = {key};

    snprintf(key, sizeof(key), "%lld", PG_LOCK_MIGRATE);
    if (run(h, "BEGIN", 0, NULL, NULL, what, err) != 0)
        return -1;
    if (run(h, "SELECT pg_advisory_xact_lock($1::bigint)", 1, p, NULL, what, err) != 0) {
        PQclear(PQexec(h, "ROLLBACK"));
        return -1;
    }
    return 0;
}

/* Apply m unless it is recorded (checked under the lock); 1 applied, 0 it
 * was already, -1. */
static int apply_one(PGconn *h, const struct migration_src *m, struct err *err)
{
    char version[16], now[UTIL_TIME_LEN];
    const char *p[3] = {version, m->name, now};
    PGresult *r = NULL;
    int done;

    snprintf(version, sizeof(version), "%d", m->version);
    if (begin_locked(h, m->name, err) != 0)
        return -1;
    if (run(h, "SELECT 1 FROM schema_migrations WHERE version = $1::integer", 1, p, &r, m->name,
            err) != 0)
        goto fail;
    done = PQntuples(r) > 0;
    PQclear(r);
    if (!done) {
        util_now_rfc3339(now);
        if (run(h, m->sql, 0, NULL, NULL, m->name, err) != 0 ||
            run(h,
                "INSERT INTO schema_migrations (version, name, applied_at) "
                "VALUES ($1::integer, $2, $3)",
                3, p, NULL, m->name, err) != 0)
            goto fail;
    }
    if (run(h, "COMMIT", 0, NULL, NULL, m->name, err) != 0)
        return -1; /* a failed COMMIT has ended the transaction */
    return !done;
fail:
    PQclear(PQexec(h, "ROLLBACK"));
    return -1;
}

int pg_migrate_apply(PGconn *h, struct err *err)
{
    int applied = 0;

    /* the bookkeeping table, created under the lock so that two first
     * starts do not race on it */
    if (begin_locked(h, "schema_migrations", err) != 0)
        return -1;
    if (run(h,
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at TEXT NOT NULL)",
            0, NULL, NULL, "schema_migrations", err) != 0) {
        PQclear(PQexec(h, "ROLLBACK"));
        return -1;
    }
    if (run(h, "COMMIT", 0, NULL, NULL, "schema_migrations", err) != 0)
        return -1;
    for (size_t i = 0; i < N_MIGRATIONS; i++) {
        int rc = apply_one(h, &migration_srcs[i], err);

        if (rc < 0)
            return -1;
        applied += rc;
    }
    return applied;
}
