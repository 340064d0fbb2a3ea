/* SPDX-License-Identifier: MIT */
/*
 * testutil: shared helpers for the Check suites: an in-process daemon on an
 * ephemeral port with a fresh database, fixtures written through the storage
 * API, an HTTP client (libcurl) and a runner for the modeld binary.
 */
#ifndef MODELD_TESTUTIL_H
#define MODELD_TESTUTIL_H

#include <check.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "app.h"
#include "server.h"
#include "suites_gen.h" /* prototypes of every X_suite() */

struct tserver {
    char dir[256];
    char db_path[300];
    char data_dir[300];
    struct app_config cfg;
    struct server *srv;
    uint16_t port;
};

/*
 * PostgreSQL mode. With MODELD_TEST_PG=<libpq conninfo of a cluster's
 * maintenance database> (tools/pgtest.sh start prints one), every database the
 * helpers below make (tserver_files/tserver_start, tdbdir_init) is a fresh
 * PostgreSQL database on that cluster (CREATE DATABASE modeld_t_<pid>_<n>, a
 * test server's copied from the runner's migrated template, see
 * tpg_template_make; dropped again by tserver_cleanup/tdbdir_cleanup) and
 * db_path/db holds its
 * postgresql:// URI; tsql/tsql_int then go through libpq. Without it, the
 * suites run on SQLite files in a temp dir.
 */
/* MODELD_TEST_PG, or NULL when the suites run on SQLite. */
const char *tpg(void);
/* 1 when db is a postgresql:// or postgres:// URI. */
int tpg_is_uri(const char *db);
/* Create a fresh database on the test cluster; its URI into uri. Only with tpg(). */
void tpg_create(char *uri, size_t len);
/* Drop the database of uri (sessions still on it are ended). */
void tpg_drop(const char *uri);
/* The runner, once before the suites: a migrated database that the test
 * servers' databases are copied from (CREATE DATABASE ... TEMPLATE), so that
 * each does not apply every migration again; the CLI tests' (tdbdir) stay
 * empty, as a new SQLite file is. tpg_template_drop at the end. */
int tpg_template_make(void); /* 0, or -1 with the reason on stderr */
void tpg_template_drop(void);

/* Fresh temp dir + database; starts the daemon when workers >= 0 (0 = no
 * training threads are started... use 1+ to train). */
void tserver_start(struct tserver *ts, int workers);
/* A fresh temp dir with a daemon's database and data paths (and ts->cfg's),
 * without starting anything: for fixtures and direct calls of handlers or
 * the pool. tserver_cleanup removes it. */
void tserver_files(struct tserver *ts);
/* Stop the daemon (if running); keep files when keep != 0 (restart tests). */
void tserver_stop(struct tserver *ts);
/* Start again on the same database and data dir. */
void tserver_restart(struct tserver *ts, int workers);
/* Remove the temp dir. */
void tserver_cleanup(struct tserver *ts);

/* A fresh temp dir with a database path in it (nothing is created yet). */
struct tdbdir {
    char dir[64];
    char db[300]; /* a file in dir, or a fresh database's URI (MODELD_TEST_PG) */
};
void tdbdir_init(struct tdbdir *t);
/* Remove the dir and everything in it. */
void tdbdir_cleanup(struct tdbdir *t);

/* Fixtures (through the storage API, on the server's database file). */
int64_t tfx_workspace(struct tserver *ts, const char *name);
int64_t tfx_project(struct tserver *ts, int64_t workspace, const char *name);
/* Creates a user and a token; token receives 64 hex chars + NUL. */
int64_t tfx_user(struct tserver *ts, const char *name, int read_only, char token[65]);
void tfx_member(struct tserver *ts, int64_t project, int64_t user, const char *role);
/* Another token for user; expires_at is unix seconds (0 = never, may be in the past). */
void tfx_token(struct tserver *ts, int64_t user, int64_t expires_at, char token[65]);
/* Model row through the storage API (never submitted to the pool), then its
 * status forced to status (e.g. "READY") so base_id rules can be tested. */
int64_t tfx_model(struct tserver *ts, int64_t workspace, int64_t project, int64_t owner,
                  const char *name, const char *lang, const char *type, const char *status);
/* Run one SQL statement on the server's database (its own connection).
 * tsql_int returns the first column of the first row (or -1 when no row).
 * On a postgresql:// db_path they go through libpq (table and column names
 * are the same on both backends), otherwise they open the SQLite file: these
 * two (testutil.c) and the backends' own suites are the only test code that
 * talks to a database around the storage API. */
void tsql(struct tserver *ts, const char *sql);
int64_t tsql_int(struct tserver *ts, const char *sql);

/* Labeling session with documents given as JSON lines text. */
int64_t tfx_session(struct tserver *ts, int64_t project, const char *name, const char *type,
                    const char *lang, const char *jsonl);

struct tresp {
    long status;
    char *body;
    size_t len;
    json_t *json; /* parsed body when it is JSON */
    char content_type[128];
    char location[256];
    char allow[128];
    char www_auth[256];
    char cors_origin[256];  /* Access-Control-Allow-Origin */
    char cors_methods[128]; /* Access-Control-Allow-Methods */
    char retry_after[32];
    char replayed[16]; /* Idempotent-Replayed */
    /* browser sign-in and CORS (check_api_session.c) */
    char set_cookie[300];       /* Set-Cookie */
    char cors_credentials[16];  /* Access-Control-Allow-Credentials */
    char cors_headers[256];     /* Access-Control-Allow-Headers */
    char vary[64];              /* Vary */
    char headers[2048];         /* every header line as received (check_api_ui.c) */
};
void tresp_release(struct tresp *r);

/* HTTP request to the test server. token/content_type/body may be NULL. */
void thttp(struct tserver *ts, const char *method, const char *path, const char *token,
           const char *content_type, const char *body, struct tresp *out);
/* Convenience: JSON body with Content-Type application/json. */
void tjson(struct tserver *ts, const char *method, const char *path, const char *token,
           const char *body, struct tresp *out);

/*
 * Streamed request: the body comes from gen (called until it returns 0, like
 * a curl read callback: fill at most len bytes of buf). content_length < 0
 * sends it chunked, otherwise that length is declared. Never buffers the body.
 * Returns 0, or -1 when the transfer failed (e.g. the server closed early)
 * with whatever status and body were received.
 */
typedef size_t (*tgen_fn)(char *buf, size_t len, void *ctx);
int thttp_stream(struct tserver *ts, const char *method, const char *path, const char *token,
                 const char *content_type, tgen_fn gen, void *ctx, long long content_length,
                 struct tresp *out);
/* Like thttp, but a transport failure (nothing listening...) returns -1
 * instead of failing the test; 0 otherwise. */
int thttp_try(struct tserver *ts, const char *method, const char *path, const char *token,
              struct tresp *out);
/* Request with extra raw header lines (NULL-terminated; e.g. "Authorization: Basic x"). */
void thttp_headers(struct tserver *ts, const char *method, const char *path,
                   const char *const *headers, const char *body, struct tresp *out);

/* thttp with an Idempotency-Key header (key NULL: none). */
void thttp_key(struct tserver *ts, const char *method, const char *path, const char *token,
               const char *content_type, const char *key, const char *body, struct tresp *out);

/* The message of the first error of a 400 problem for field, or NULL. */
const char *terror(const struct tresp *r, const char *field);

/* Poll GET path until status (of the JSON "status" field) is one of the
 * space-separated values, or timeout seconds pass. Returns the last body. */
json_t *twait_status(struct tserver *ts, const char *path, const char *token, const char *until,
                     double timeout);

/* Run the modeld binary (MODELD_BIN) with argv (NULL-terminated, without
 * argv[0]); stdout into out. Returns the exit status. */
int trun(const char *const *args, char *out, size_t outlen);

/* Like trun, and stderr into err (may be NULL). */
int trun2(const char *const *args, char *out, size_t outlen, char *err, size_t errlen);

/* A free TCP port on 127.0.0.1 for a daemon started as a process (closed
 * again before it is returned: a small race that tests accept). */
int tfree_port(void);
/* 1 once GET /health on 127.0.0.1:port answers 200 (within about 20 s), else 0. */
int twait_health(int port);
/* Start the modeld binary (MODELD_BIN) `serve` on ts's database and data dir
 * on a free port (ts->port), stderr appended to <dir>/serve.log; returns its
 * pid once /health answers 200 (the test fails when it exits or takes over
 * 20 s). The caller stops it (kill, waitpid). */
pid_t tspawn_serve(struct tserver *ts, const char *workers);
/* tspawn_serve with more arguments for serve (extra: NULL-terminated, may be NULL). */
pid_t tspawn_serve_with(struct tserver *ts, const char *workers, const char *const *extra);

/*
 * Skips. Check has no "skipped" result, so a test that cannot run calls one of
 * these and returns: the reason goes to stderr and to the runner's skip log
 * (MODELD_SKIP_LOG), and the runner's last line says how many were skipped.
 * tskip_needed is for what a complete checkout has (../shared/data, the tools
 * `make test` provides): under MODELD_REQUIRE_DATA=1 (set by .ci/run) it
 * fails the test instead.
 */
void tskip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tskip_needed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Path of a shared data file, or NULL when absent (after tskip_needed: the test skips). */
const char *tdata(const char *file, char *buf, size_t len);

/* Assert that a response is an RFC 9457 problem with the given status and a
 * problem type of that status (urn:modeld:problem:..., never about:blank). */
void tassert_problem(const struct tresp *r, long status);

#endif
