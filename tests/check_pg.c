/* SPDX-License-Identifier: MIT */
/*
 * White-box suite of the PostgreSQL backend (src/pg/): migrations apply
 * once, also with several daemons starting at once; the binder's round trip
 * of every parameter letter; db_write runs a deadlock's victim again; the
 * SQLSTATE mapping (a taken name, a missing
 * row behind a foreign key, a transaction a failed statement aborted); the
 * fault injector; a connection the server closed is made again; and
 * LISTEN/NOTIFY between two handles on one database (two daemons): a model
 * change and an auth change reach the other, a daemon's own notifications
 * are dropped, a lost listening connection comes back with a resync.
 *
 * It needs a server: MODELD_TEST_PG is the libpq conninfo of a maintenance
 * database where it may CREATE DATABASE (each test makes its own with the
 * harness's tpg_create and drops it). Without it every test but the last
 * reports a skip.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "pg/internal.h"
#include "testapi.h"
#include "testutil.h"

struct migration_src {
    int version;
    const char *name;
    const char *sql;
};
#include "pg_migrations_data.h"

#define N_SRC ((int64_t)(sizeof(migration_srcs) / sizeof(migration_srcs[0])))

/* A database of its own for one test (tpg_create's). */
struct pgdb {
    char conninfo[512];
};

/* Server notices (DROP ... IF EXISTS) are not the test's output. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* A raw connection to the maintenance database (or to t's, when t). */
static PGconn *raw_connect(const struct pgdb *t)
{
    PGconn *h = PQconnectdb(t ? t->conninfo : tpg());

    ck_assert_msg(PQstatus(h) == CONNECTION_OK, "connect: %s", PQerrorMessage(h));
    PQsetNoticeProcessor(h, quiet, NULL);
    return h;
}

/* Run a constant statement on h. */
static void raw_exec(PGconn *h, const char *sql)
{
    PGresult *r = PQexec(h, sql);
    ExecStatusType st = PQresultStatus(r);

    ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
                  PQresultErrorMessage(r));
    PQclear(r);
}

static int64_t raw_int(PGconn *h, const char *sql)
{
    PGresult *r = PQexec(h, sql);
    int64_t v;

    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
                  PQresultErrorMessage(r));
    v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* A fresh database; 0, or -1 after a skip (no MODELD_TEST_PG). */
static int pgdb_init(struct pgdb *t)
{
    if (!tpg()) {
        tskip("MODELD_TEST_PG is not set (a conninfo of a PostgreSQL maintenance database)");
        return -1;
    }
    tpg_create(t->conninfo, sizeof(t->conninfo));
    return 0;
}

static void pgdb_cleanup(struct pgdb *t)
{
    tpg_drop(t->conninfo);
}

static struct db *pgdb_open(const struct pgdb *t, int pool)
{
    struct err err = {0};
    struct db *db = db_open(t->conninfo, pool, &err);

    ck_assert_msg(db != NULL, "db_open: %s", err.msg);
    return db;
}

/* ---- migrations --------------------------------------------------------------- */

START_TEST(test_migrations_once)
{
    struct pgdb t;
    struct err err = {0};
    struct db *db;
    struct db_conn *c;
    PGconn *h;

    if (pgdb_init(&t) != 0)
        return;
    db = pgdb_open(&t, 2);
    ck_assert_int_eq(db_schema_latest(db), (int)migration_srcs[N_SRC - 1].version);
    c = db_acquire(db);
    ck_assert_int_eq(db_schema_missing(c, &err), 0);
    db_release(db, c);
    db_close(db);
    /* a second open, and a raw second run, apply nothing */
    db = pgdb_open(&t, 1);
    db_close(db);
    h = raw_connect(&t);
    ck_assert_int_eq(pg_migrate_apply(h, &err), 0);
    ck_assert_int_eq(raw_int(h, "SELECT COUNT(*) FROM schema_migrations"), N_SRC);
    ck_assert_int_eq(raw_int(h, "SELECT COUNT(DISTINCT version) FROM schema_migrations"), N_SRC);
    /* the auth_epoch row the triggers bump */
    ck_assert_int_eq(raw_int(h, "SELECT COUNT(*) FROM auth_epoch"), 1);
    PQfinish(h);
    pgdb_cleanup(&t);
}
END_TEST

struct opener {
    const struct pgdb *t;
    pthread_barrier_t *go;
    int ok;
    char msg[ERR_MSG_MAX];
};

static void *open_close(void *arg)
{
    struct opener *o = arg;
    struct err err = {0};
    struct db *db;

    pthread_barrier_wait(o->go);
    db = db_open(o->t->conninfo, 1, &err);
    o->ok = db != NULL;
    snprintf(o->msg, sizeof(o->msg), "%s", err.msg);
    db_close(db ? db : NULL);
    return NULL;
}

/* Four daemons starting at once on an empty database: the advisory lock
 * lets one apply each migration, the others find it applied. */
START_TEST(test_migrations_concurrent)
{
    enum { N = 4 };
    struct pgdb t;
    struct opener o[N];
    pthread_t th[N];
    pthread_barrier_t go;
    PGconn *h;

    if (pgdb_init(&t) != 0)
        return;
    pthread_barrier_init(&go, NULL, N);
    for (int i = 0; i < N; i++) {
        o[i] = (struct opener){.t = &t, .go = &go};
        ck_assert_int_eq(pthread_create(&th[i], NULL, open_close, &o[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(o[i].ok, "opener %d: %s", i, o[i].msg);
    }
    pthread_barrier_destroy(&go);
    h = raw_connect(&t);
    ck_assert_int_eq(raw_int(h, "SELECT COUNT(*) FROM schema_migrations"), N_SRC);
    PQfinish(h);
    pgdb_cleanup(&t);
}
END_TEST

/* ---- the binder ------------------------------------------------------------------ */

START_TEST(test_binder_round_trip)
{
    static const unsigned char blob[] = {0, 1, 0xff, '\\', '\'', 0, 'x'};
    struct pgdb t;
    struct err err = {0};
    struct db *db;
    struct db_conn *c;
    PGresult *r = NULL;
    unsigned char *bytes;
    size_t len;
    int ok = 1;

    if (pgdb_init(&t) != 0)
        return;
    db = pgdb_open(&t, 1);
    c = db_acquire(db);
    ck_assert_int_eq(pg_row(c, STMT_ECHO, &r, "none", &err, "itdbz", (int64_t)INT64_MIN,
                            "l'été \\ \"x\"", 0.1 + 0.2, blob, sizeof(blob), (int64_t)0),
                     1);
    ck_assert_int_eq(pg_col_int(r, 0, 0), INT64_MIN);
    ck_assert_str_eq(pg_col_text(r, 0, 1), "l'été \\ \"x\"");
    ck_assert(pg_col_double(r, 0, 2) == 0.1 + 0.2); /* 17 digits: the same double */
    bytes = pg_col_bytea(r, 0, 3, &len, &ok);
    ck_assert(ok);
    ck_assert_uint_eq(len, sizeof(blob));
    ck_assert_mem_eq(bytes, blob, sizeof(blob));
    free(bytes);
    ck_assert(pg_col_null(r, 0, 4)); /* z: 0 is NULL */
    ck_assert_int_eq(pg_col_int(r, 0, 4), 0);
    PQclear(r);
    /* NULL text and bytea, z with a value */
    ck_assert_int_eq(pg_row(c, STMT_ECHO, &r, "none", &err, "itdbz", (int64_t)INT64_MAX,
                            (const char *)NULL, -1.5e300, (const void *)NULL, (size_t)0,
                            (int64_t)42),
                     1);
    ck_assert_int_eq(pg_col_int(r, 0, 0), INT64_MAX);
    ck_assert_ptr_null(pg_col_text(r, 0, 1));
    ck_assert(pg_col_double(r, 0, 2) == -1.5e300);
    ck_assert_ptr_null(pg_col_bytea(r, 0, 3, &len, &ok));
    ck_assert(ok);
    ck_assert_int_eq(pg_col_int(r, 0, 4), 42);
    PQclear(r);
    db_release(db, c);
    db_close(db);
    pgdb_cleanup(&t);
}
END_TEST

/* SQLSTATEs become the SQLite backend's codes; a failed statement aborts
 * the transaction, and its commit fails and keeps nothing. */
START_TEST(test_error_mapping)
{
    struct pgdb t;
    struct err err = {0};
    struct db *db;
    struct db_conn *c;
    struct db_member_change ch;
    int64_t ws, p, u1, u2;

    if (pgdb_init(&t) != 0)
        return;
    db = pgdb_open(&t, 1);
    c = db_acquire(db);
    ws = db_workspace_create(c, "w", &err);
    ck_assert_int_gt(ws, 0);
    p = db_project_create(c, ws, "p", &err);
    ck_assert_int_gt(p, 0);
    u1 = db_user_create(c, "alice", 0, &err);
    ck_assert_int_gt(u1, 0);
    /* 23505 */
    ck_assert_int_eq(db_user_create(c, "alice", 0, &err), -1);
    ck_assert_int_eq(err.code, ERR_CONFLICT);
    ck_assert_str_eq(err.msg, "user name taken");
    /* 23503 */
    ck_assert_int_eq(db_project_create(c, ws + 100, "p", &err), -1);
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
    ck_assert_int_eq(db_token_create(c, u1 + 100, "h", 0, &err), -1);
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
    ck_assert_int_eq(db_member_set(c, p, u1 + 100, ROLE_VIEWER, DB_MEMBER_ADD, &ch, &err), -1);
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
    /* the last OWNER, inside the project's lock */
    ck_assert_int_eq(db_member_set(c, p, u1, ROLE_OWNER, DB_MEMBER_ADD, &ch, &err), 0);
    ck_assert_int_eq(db_member_remove(c, p, u1, &ch, &err), -1);
    ck_assert_int_eq(err.code, ERR_CONFLICT);
    ck_assert_int_eq(ch.last_owner, 1);
    /* an aborted transaction: the later statement fails, and so does the commit */
    ck_assert_int_eq(db_begin(c, &err), 0);
    u2 = db_user_create(c, "bob", 0, &err);
    ck_assert_int_gt(u2, 0);
    ck_assert_int_eq(db_user_create(c, "alice", 0, &err), -1);
    ck_assert_int_eq(db_user_create(c, "carol", 0, &err), -1);
    ck_assert_int_eq(err.code, ERR_INTERNAL);
    ck_assert_int_eq(db_commit(c, &err), -1);
    ck_assert_int_eq(db_user_set_disabled(c, u2, 1, &err), -1); /* bob was rolled back */
    ck_assert_int_eq(err.code, ERR_NOT_FOUND);
    /* the connection goes on */
    ck_assert_int_gt(db_user_create(c, "bob", 0, &err), 0);
    db_release(db, c);
    db_close(db);
    pgdb_cleanup(&t);
}
END_TEST

static int write_user(struct db_conn *c, void *ctx, struct err *err)
{
    return db_user_create(c, ctx, 0, err) > 0 ? 0 : -1;
}

/* The injector fails the n-th statement; the write is undone, the next one
 * works; db_write commits. */
START_TEST(test_write_and_faults)
{
    struct pgdb t;
    struct err err = {0};
    struct db_write_stats ws;
    struct db *db;
    struct db_conn *c;
    struct db_user *users = NULL;
    char alice[] = "alice", bob[] = "bob", carol[] = "carol";
    size_t n = 0;

    if (pgdb_init(&t) != 0)
        return;
    db = pgdb_open(&t, 2);
    db_fault_inject(2); /* BEGIN passes, the INSERT fails */
    ck_assert_int_eq(db_write(db, write_user, alice, &err), -1);
    ck_assert_str_eq(err.msg, "injected storage fault");
    ck_assert_int_eq(db_fault_pending(), 0);
    db_fault_inject(3); /* the COMMIT fails: rolled back */
    ck_assert_int_eq(db_write(db, write_user, bob, &err), -1);
    ck_assert_int_eq(db_write(db, write_user, carol, &err), 0);
    ck_assert_int_eq(db_write(db, write_user, carol, &err), -1);
    ck_assert_int_eq(err.code, ERR_CONFLICT);
    c = db_acquire(db);
    ck_assert_int_eq(db_user_list(c, &users, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(users[0].name, "carol");
    db_users_release(users, n);
    db_release(db, c);
    db_write_stats(db, &ws);
    ck_assert_uint_eq(ws.writes, 4);
    ck_assert_uint_eq(ws.commits, 1);
    db_close(db);
    pgdb_cleanup(&t);
}
END_TEST

/* Two writes that lock two models' rows in opposite orders (a PATCH each):
 * PostgreSQL breaks the deadlock by failing one (40P01), and db_write runs
 * that one again, so both succeed. (Models, not users: a user's change bumps
 * the one auth_epoch row, which would order the two writes before they
 * cross.) */
struct crossing {
    struct db *db;
    int64_t project_id, first, second;
    pthread_barrier_t *both_locked;
    int runs, rc;
    char msg[ERR_MSG_MAX];
};

static int write_crossing(struct db_conn *c, void *ctx, struct err *err)
{
    struct crossing *x = ctx;
    struct db_model_patch p = {.display_name = "crossed"};

    x->runs++;
    if (db_model_patch(c, x->project_id, x->first, &p, NULL, err) != 0)
        return -1;
    if (x->runs == 1) /* the first run waits until the other holds its first row */
        pthread_barrier_wait(x->both_locked);
    return db_model_patch(c, x->project_id, x->second, &p, NULL, err);
}

static void *run_crossing(void *arg)
{
    struct crossing *x = arg;
    struct err err = {0};

    x->rc = db_write(x->db, write_crossing, x, &err);
    snprintf(x->msg, sizeof(x->msg), "%s", err.msg);
    return NULL;
}

START_TEST(test_write_retries_deadlock)
{
    struct pgdb t;
    struct err err = {0};
    struct db *db;
    struct db_conn *c;
    pthread_barrier_t both;
    struct crossing x[2];
    pthread_t th[2];
    struct db_model_new m = {.display_name = "m", .language = LANG_EN, .type = TYPE_CLASS};
    int64_t ids[2];

    if (pgdb_init(&t) != 0)
        return;
    db = pgdb_open(&t, 3);
    c = db_acquire(db);
    m.workspace_id = db_workspace_create(c, "w", &err);
    m.project_id = db_project_create(c, m.workspace_id, "p", &err);
    m.owner_id = db_user_create(c, "u", 0, &err);
    for (int i = 0; i < 2; i++) {
        char uuid[24], name[16];

        snprintf(uuid, sizeof(uuid), "uuid-%d", i);
        snprintf(name, sizeof(name), "m%d", i);
        m.uuid = uuid;
        m.name = name;
        ids[i] = db_model_create(c, &m, &err);
        ck_assert_msg(ids[i] > 0, "%s", err.msg);
    }
    db_release(db, c);
    pthread_barrier_init(&both, NULL, 2);
    for (int i = 0; i < 2; i++)
        x[i] = (struct crossing){.db = db, .project_id = m.project_id, .first = ids[i],
                                 .second = ids[1 - i], .both_locked = &both};
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, run_crossing, &x[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(x[i].rc == 0, "write %d: %s", i, x[i].msg);
    }
    /* the deadlock's victim ran again (a retry may cross the other write
     * once more before it commits: each deadlock adds one run) */
    ck_assert_int_ge(x[0].runs + x[1].runs, 3);
    pthread_barrier_destroy(&both);
    db_close(db);
    pgdb_cleanup(&t);
}
END_TEST

/* ---- LISTEN/NOTIFY ----------------------------------------------------------------- */

struct seen {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t project_id, model_id;
    enum db_model_change kind;
    int models, auths, resyncs;
};

static void seen_model(void *arg, int64_t project_id, int64_t model_id,
                       enum db_model_change kind)
{
    struct seen *s = arg;

    pthread_mutex_lock(&s->mu);
    s->models++;
    s->kind = kind;
    s->project_id = project_id;
    s->model_id = model_id;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void seen_auth(void *arg)
{
    struct seen *s = arg;

    pthread_mutex_lock(&s->mu);
    s->auths++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void seen_resync(void *arg)
{
    struct seen *s = arg;

    pthread_mutex_lock(&s->mu);
    s->resyncs++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Wait (up to 5 s) until *count reaches want; its value then. */
static int seen_wait(struct seen *s, const int *count, int want)
{
    struct timespec until;
    int v;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&s->mu);
    while (*count < want && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0)
        ;
    v = *count;
    pthread_mutex_unlock(&s->mu);
    return v;
}

struct notify_args {
    int64_t project_id, model_id;
    enum db_model_change kind;
};

static int write_notify(struct db_conn *c, void *ctx, struct err *err)
{
    const struct notify_args *a = ctx;

    if (a->kind == DB_MODEL_CHANGED)
        return pg_notify_model(c, a->project_id, a->model_id, err);
    return pg_notify_model_as(c, a->project_id, a->model_id, a->kind, err);
}

START_TEST(test_listen_notify)
{
    struct pgdb t;
    struct err err = {0};
    struct seen s = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    struct db_watch w = {seen_model, seen_auth, seen_resync, &s};
    struct notify_args own = {1, 1, DB_MODEL_CHANGED}, other = {5, 7, DB_MODEL_CHANGED};
    struct db *a, *b;
    struct db_conn *c;
    int64_t u, epoch = -1;
    PGconn *h;

    if (pgdb_init(&t) != 0)
        return;
    a = pgdb_open(&t, 2); /* two daemons on one database */
    b = pgdb_open(&t, 2);
    ck_assert_int_eq(db_watch(a, &w, &err), 1);
    /* a's own notification is dropped, b's arrives (in commit order) */
    ck_assert_int_eq(db_write(a, write_notify, &own, &err), 0);
    ck_assert_int_eq(db_write(b, write_notify, &other, &err), 0);
    ck_assert_int_eq(seen_wait(&s, &s.models, 1), 1);
    pthread_mutex_lock(&s.mu);
    ck_assert_int_eq(s.project_id, 5);
    ck_assert_int_eq(s.model_id, 7);
    ck_assert_int_eq(s.kind, DB_MODEL_CHANGED);
    pthread_mutex_unlock(&s.mu);
    /* the kinds a writer names */
    other.kind = DB_MODEL_CREATED;
    ck_assert_int_eq(db_write(b, write_notify, &other, &err), 0);
    ck_assert_int_eq(seen_wait(&s, &s.models, 2), 2);
    ck_assert_int_eq(s.kind, DB_MODEL_CREATED);
    other.kind = DB_MODEL_DELETED;
    ck_assert_int_eq(db_write(b, write_notify, &other, &err), 0);
    ck_assert_int_eq(seen_wait(&s, &s.models, 3), 3);
    ck_assert_int_eq(s.kind, DB_MODEL_DELETED);
    other.kind = DB_MODEL_CHANGED;
    /* an auth change through b (the trigger notifies) */
    c = db_acquire(b);
    u = db_user_create(c, "alice", 0, &err);
    ck_assert_int_gt(u, 0);
    ck_assert_int_eq(db_user_set_disabled(c, u, 1, &err), 0);
    ck_assert_int_eq(db_auth_epoch(c, &epoch, &err), 0);
    ck_assert_int_eq(epoch, 1);
    db_release(b, c);
    ck_assert_int_ge(seen_wait(&s, &s.auths, 1), 1);
    /* the server drops every connection to the database but ours: the
     * listener comes back and says so; the pools reconnect */
    h = raw_connect(&t);
    raw_exec(h, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()");
    ck_assert_int_ge(seen_wait(&s, &s.resyncs, 1), 1);
    c = db_acquire(a);
    ck_assert_msg(db_auth_epoch(c, &epoch, &err) == 0, "%s", err.msg);
    db_release(a, c);
    other.model_id = 8;
    ck_assert_int_eq(db_write(b, write_notify, &other, &err), 0);
    ck_assert_int_eq(seen_wait(&s, &s.models, 4), 4);
    /* a notification some other program sent on the channel: a resync */
    pthread_mutex_lock(&s.mu);
    ck_assert_int_eq(s.model_id, 8);
    s.resyncs = 0;
    pthread_mutex_unlock(&s.mu);
    raw_exec(h, "NOTIFY modeld_model, 'not ours'");
    ck_assert_int_eq(seen_wait(&s, &s.resyncs, 1), 1);
    PQfinish(h);
    db_close(a); /* stops the listener */
    db_close(b);
    ck_assert_int_eq(s.models, 4);
    pgdb_cleanup(&t);
}
END_TEST

/* A backend without a feed says so. */
START_TEST(test_watch_sqlite)
{
    struct err err = {0};
    struct seen s = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    struct db_watch w = {seen_model, seen_auth, seen_resync, &s};
    struct db *db = db_open(":memory:", 1, &err);

    ck_assert_ptr_nonnull(db);
    ck_assert_int_eq(db_watch(db, &w, &err), 0);
    db_close(db);
}
END_TEST

Suite *pg_suite(void)
{
    Suite *s = suite_create("pg");
    TCase *tc = tcase_create("postgresql");

    tcase_set_timeout(tc, 60 * TAPI_SLOW);
    tcase_add_test(tc, test_migrations_once);
    tcase_add_test(tc, test_migrations_concurrent);
    tcase_add_test(tc, test_binder_round_trip);
    tcase_add_test(tc, test_error_mapping);
    tcase_add_test(tc, test_write_and_faults);
    tcase_add_test(tc, test_write_retries_deadlock);
    tcase_add_test(tc, test_listen_notify);
    tcase_add_test(tc, test_watch_sqlite);
    suite_add_tcase(s, tc);
    return s;
}
