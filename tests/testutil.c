/* SPDX-License-Identifier: MIT */
/* testutil: helpers shared by the suites (see testutil.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "testutil.h"

#include <arpa/inet.h>
#include <assert.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <uuid/uuid.h>

#include "db.h"
#include "ingest.h"
#include "util.h"

static void fx_forget(const char *db_path);

/* ---- PostgreSQL mode (MODELD_TEST_PG) ---------------------------------- */

const char *tpg(void)
{
    const char *ci = getenv("MODELD_TEST_PG");

    return ci && *ci ? ci : NULL;
}

int tpg_is_uri(const char *db)
{
    return strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0;
}

/* A connection to conninfo (or URI); the test fails when there is none. */
static PGconn *pg_connect(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);

    ck_assert_msg(c && PQstatus(c) == CONNECTION_OK, "PostgreSQL %s: %s", conninfo,
                  c ? PQerrorMessage(c) : "out of memory");
    return c;
}

/* Run one utility statement on the maintenance database (no parameters can
 * be bound to CREATE/DROP DATABASE: the name is ours, made of [a-z0-9_]). */
static void pg_admin(const char *sql)
{
    PGconn *c = pg_connect(tpg());
    PGresult *res = PQexec(c, sql);

    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
}

/* The test cluster's server version (PQserverVersion), asked once per process. */
static int pg_version(void)
{
    static int version;

    if (!version) {
        PGconn *c = pg_connect(tpg());

        version = PQserverVersion(c);
        PQfinish(c);
    }
    return version;
}

/* Append s to out percent-encoded (everything but RFC 3986's unreserved). */
static void uri_escape(char *out, size_t len, const char *s)
{
    size_t n = strlen(out);

    for (; *s && n + 4 < len; s++) {
        unsigned char ch = (unsigned char)*s;

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~')
            out[n++] = (char)ch;
        else
            n += (size_t)snprintf(out + n, len - n, "%%%02X", ch);
    }
    out[n] = '\0';
}

/* The URI of database name on the test cluster (host, port and user of
 * MODELD_TEST_PG): 0, or -1 when that is no conninfo or the URI too long
 * (no ck_assert: the runner calls it outside of any test). */
static int pg_uri(char *uri, size_t len, const char *name)
{
    PQconninfoOption *opts = PQconninfoParse(tpg(), NULL), *o;
    const char *host = "127.0.0.1", *port = NULL, *user = NULL;

    if (!opts)
        return -1;
    for (o = opts; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
        else if (strcmp(o->keyword, "user") == 0)
            user = o->val;
    }
    snprintf(uri, len, "postgresql://");
    if (user) {
        uri_escape(uri, len, user);
        snprintf(uri + strlen(uri), len - strlen(uri), "@");
    }
    uri_escape(uri, len, host);
    snprintf(uri + strlen(uri), len - strlen(uri), "%s%s/%s", port ? ":" : "", port ? port : "",
             name);
    PQconninfoFree(opts);
    return strlen(uri) + 1 < len ? 0 : -1;
}

/* CREATE DATABASE name as a copy of template (NULL: the cluster's empty one). */
static void pg_create_db(const char *name, const char *template)
{
    char sql[200];

    /* FILE_COPY (15+): a copy of the template's files, faster than WAL_LOG's
     * block by block on a cluster without fsync */
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s%s%s%s", name, template ? " TEMPLATE " : "",
             template ? template : "", pg_version() >= 150000 ? " STRATEGY = FILE_COPY" : "");
    pg_admin(sql);
}

/* A fresh database's name, unique on the cluster (the pid of the test's process). */
static void pg_fresh_name(char *name, size_t len)
{
    static unsigned seq;

    snprintf(name, len, "modeld_t_%ld_%u", (long)getpid(), ++seq);
}

void tpg_create(char *uri, size_t len)
{
    char name[64];

    assert(tpg() != NULL);
    pg_fresh_name(name, sizeof(name));
    pg_create_db(name, NULL);
    ck_assert_msg(pg_uri(uri, len, name) == 0, "no URI for %s from %s", name, tpg());
}

#define PG_TEMPLATE_ENV "MODELD_TEST_PG_TEMPLATE"

/* A fresh database for a test server: a copy of the migrated template when
 * the runner made one (tpg_template_make), else an empty one. */
static void pg_create_migrated(char *uri, size_t len)
{
    const char *template = getenv(PG_TEMPLATE_ENV);
    char name[64];

    if (!template || !*template) {
        tpg_create(uri, len);
        return;
    }
    pg_fresh_name(name, sizeof(name));
    pg_create_db(name, template);
    ck_assert_msg(pg_uri(uri, len, name) == 0, "no URI for %s from %s", name, tpg());
}

int tpg_template_make(void)
{
    char name[64], uri[300], sql[200];
    struct err err = {0};
    PGconn *c = PQconnectdb(tpg());
    PGresult *res = NULL;
    struct db *db;
    int ok;

    /* outside of any test: no ck_assert here, a failure is returned */
    snprintf(name, sizeof(name), "modeld_t_template_%ld", (long)getpid());
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    ok = c && PQstatus(c) == CONNECTION_OK;
    if (ok) {
        res = PQexec(c, sql);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    }
    if (!ok) {
        fprintf(stderr, "MODELD_TEST_PG: %s: %s", sql, c ? PQerrorMessage(c) : "out of memory");
        PQclear(res);
        PQfinish(c);
        return -1;
    }
    PQclear(res);
    PQfinish(c);
    db = pg_uri(uri, sizeof(uri), name) == 0 ? db_open(uri, 1, &err) : NULL; /* migrates */
    if (!db) {
        fprintf(stderr, "MODELD_TEST_PG: the template %s: %s\n", name, err.msg);
        return -1;
    }
    db_close(db);
    setenv(PG_TEMPLATE_ENV, name, 1);
    return 0;
}

void tpg_template_drop(void)
{
    const char *name = getenv(PG_TEMPLATE_ENV);
    char sql[200];
    PGconn *c;

    if (!name || !*name)
        return;
    /* outside of any test, like tpg_template_make; the cluster is thrown
     * away after the run, so a failure here only leaves a database behind */
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    c = PQconnectdb(tpg());
    if (c && PQstatus(c) == CONNECTION_OK)
        PQclear(PQexec(c, sql));
    PQfinish(c);
    unsetenv(PG_TEMPLATE_ENV);
}

void tpg_drop(const char *uri)
{
    const char *name = strrchr(uri, '/');
    char sql[160];

    assert(tpg_is_uri(uri) && name != NULL);
    /* WITH (FORCE): a daemon the test killed may still hold a session */
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name + 1);
    pg_admin(sql);
}

void tserver_files(struct tserver *ts)
{
    char tmpl[] = "/tmp/modeld-test-XXXXXX";

    memset(ts, 0, sizeof(*ts));
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    snprintf(ts->dir, sizeof(ts->dir), "%s", tmpl);
    if (tpg())
        pg_create_migrated(ts->db_path, sizeof(ts->db_path));
    else
        snprintf(ts->db_path, sizeof(ts->db_path), "%s/modeld.db", ts->dir);
    snprintf(ts->data_dir, sizeof(ts->data_dir), "%s/data", ts->dir);
    ts->cfg.db_path = ts->db_path;
    ts->cfg.data_dir = ts->data_dir;
}

void tserver_start(struct tserver *ts, int workers)
{
    struct err err = {0};

    tserver_files(ts);
    ts->cfg.bind = "127.0.0.1";
    ts->cfg.port = 0;
    ts->cfg.workers = workers > 0 ? workers : 1;
    ts->cfg.data_dir = ts->data_dir;
    ts->cfg.http_threads = 4;
    ts->srv = server_start(&ts->cfg, &err);
    ck_assert_msg(ts->srv != NULL, "server_start: %s", err.msg);
    ts->port = server_port(ts->srv);
}

void tserver_stop(struct tserver *ts)
{
    server_stop(ts->srv);
    ts->srv = NULL;
}

void tserver_restart(struct tserver *ts, int workers)
{
    struct err err = {0};

    if (ts->srv)
        tserver_stop(ts);
    ts->cfg.workers = workers > 0 ? workers : 1;
    ts->srv = server_start(&ts->cfg, &err);
    ck_assert_msg(ts->srv != NULL, "server_start: %s", err.msg);
    ts->port = server_port(ts->srv);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tdbdir_init(struct tdbdir *t)
{
    char tmpl[] = "/tmp/modeld-db-XXXXXX";

    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    snprintf(t->dir, sizeof(t->dir), "%s", tmpl);
    if (tpg())
        tpg_create(t->db, sizeof(t->db));
    else
        snprintf(t->db, sizeof(t->db), "%s/m.db", t->dir);
}

void tdbdir_cleanup(struct tdbdir *t)
{
    if (t->dir[0])
        nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (tpg_is_uri(t->db)) {
        fx_forget(t->db);
        tpg_drop(t->db);
    }
    memset(t, 0, sizeof(*t));
}

void tserver_cleanup(struct tserver *ts)
{
    if (ts->srv)
        tserver_stop(ts);
    if (ts->dir[0])
        nftw(ts->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (tpg_is_uri(ts->db_path)) {
        fx_forget(ts->db_path);
        tpg_drop(ts->db_path);
    }
    ts->dir[0] = ts->db_path[0] = '\0';
}

/*
 * The fixtures' storage handle. On SQLite each fixture opens the file and
 * closes it again (cheap). On PostgreSQL an open is a connection and the
 * migration check, so the handle of the last database is kept (one per
 * process: each test runs in its own child) until tserver_cleanup or
 * tdbdir_cleanup drops that database; fx_mu guards it, and its one
 * connection serves one fixture at a time (db_acquire waits).
 */
static pthread_mutex_t fx_mu = PTHREAD_MUTEX_INITIALIZER;
static struct db *fx_kept;
static char fx_kept_path[300];

/* Close the kept handle when it is the one of db_path (NULL: whichever). */
static void fx_forget(const char *db_path)
{
    pthread_mutex_lock(&fx_mu);
    if (fx_kept && (!db_path || strcmp(fx_kept_path, db_path) == 0)) {
        db_close(fx_kept);
        fx_kept = NULL;
        fx_kept_path[0] = '\0';
    }
    pthread_mutex_unlock(&fx_mu);
}

static struct db *fx_db(struct tserver *ts)
{
    struct err err = {0};
    struct db *db;

    if (!tpg_is_uri(ts->db_path)) {
        db = db_open(ts->db_path, 1, &err);
        ck_assert_msg(db != NULL, "db_open: %s", err.msg);
        return db;
    }
    pthread_mutex_lock(&fx_mu);
    if (!fx_kept || strcmp(fx_kept_path, ts->db_path) != 0) {
        if (fx_kept)
            db_close(fx_kept);
        fx_kept = db_open(ts->db_path, 1, &err);
        snprintf(fx_kept_path, sizeof(fx_kept_path), "%s", fx_kept ? ts->db_path : "");
    }
    db = fx_kept;
    pthread_mutex_unlock(&fx_mu);
    ck_assert_msg(db != NULL, "db_open: %s", err.msg);
    return db;
}

/* The end of a fixture's use of db (from fx_db). */
static void fx_done(struct db *db)
{
    if (db != fx_kept)
        db_close(db);
}

int64_t tfx_workspace(struct tserver *ts, const char *name)
{
    struct db *db = fx_db(ts);
    struct db_conn *c = db_acquire(db);
    struct err err = {0};
    int64_t id = db_workspace_create(c, name, &err);

    db_release(db, c);
    fx_done(db);
    ck_assert_msg(id > 0, "%s", err.msg);
    return id;
}

int64_t tfx_project(struct tserver *ts, int64_t workspace, const char *name)
{
    struct db *db = fx_db(ts);
    struct db_conn *c = db_acquire(db);
    struct err err = {0};
    int64_t id = db_project_create(c, workspace, name, &err);

    db_release(db, c);
    fx_done(db);
    ck_assert_msg(id > 0, "%s", err.msg);
    return id;
}

int64_t tfx_user(struct tserver *ts, const char *name, int read_only, char token[65])
{
    struct db *db = fx_db(ts);
    struct db_conn *c = db_acquire(db);
    struct err err = {0};
    char hash[65];
    int64_t id = db_user_create(c, name, read_only, &err);

    ck_assert_msg(id > 0, "%s", err.msg);
    util_random_hex(token, 32);
    util_hash_hex(token, hash);
    ck_assert_int_gt(db_token_create(c, id, hash, 0, &err), 0);
    db_release(db, c);
    fx_done(db);
    return id;
}

void tfx_member(struct tserver *ts, int64_t project, int64_t user, const char *role)
{
    struct db *db = fx_db(ts);
    struct db_conn *c = db_acquire(db);
    struct err err = {0};

    enum role r = ROLE_NONE;

    ck_assert_int_eq(domain_role_parse(role, &r), 0);
    ck_assert_msg(db_member_add(c, project, user, r, &err) == 0, "%s", err.msg);
    db_release(db, c);
    fx_done(db);
}

void tfx_token(struct tserver *ts, int64_t user, int64_t expires_at, char token[65])
{
    struct db *db = fx_db(ts);
    struct db_conn *c = db_acquire(db);
    struct err err = {0};
    char hash[65];
    int64_t id;

    util_random_hex(token, 32);
    util_hash_hex(token, hash);
    id = db_token_create(c, user, hash, 0, &err);
    db_release(db, c);
    fx_done(db);
    ck_assert_msg(id > 0, "%s", err.msg);
    if (expires_at != 0) {
        char sql[128];

        snprintf(sql, sizeof(sql), "UPDATE tokens SET expires_at = %lld WHERE id = %lld",
                 (long long)expires_at, (long long)id);
        tsql(ts, sql);
    }
}

int64_t tfx_model(struct tserver *ts, int64_t workspace, int64_t project, int64_t owner,
                  const char *name, const char *lang, const char *type, const char *status)
{
    struct db *db = fx_db(ts);
    struct db_conn *c = db_acquire(db);
    struct err err = {0};
    char uuid[40], sql[160];
    struct db_model_new m = {0};
    int64_t id;
    uuid_t uu;

    uuid_generate_random(uu);
    uuid_unparse_lower(uu, uuid);
    m.uuid = uuid;
    m.name = name;
    m.display_name = name;
    ck_assert_int_eq(domain_language_parse(lang, &m.language), 0);
    ck_assert_int_eq(domain_type_parse(type, &m.type), 0);
    m.project_id = project;
    m.workspace_id = workspace;
    m.owner_id = owner;
    id = db_model_create(c, &m, &err);
    db_release(db, c);
    fx_done(db);
    ck_assert_msg(id > 0, "db_model_create: %s", err.msg);
    if (status && strcmp(status, "CREATED") != 0) {
        snprintf(sql, sizeof(sql), "UPDATE models SET status = '%s' WHERE id = %lld", status,
                 (long long)id);
        tsql(ts, sql);
    }
    return id;
}

static sqlite3 *raw_db(struct tserver *ts)
{
    sqlite3 *h = NULL;

    ck_assert_int_eq(sqlite3_open_v2(ts->db_path, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(h, 10000);
    return h;
}

/* tsql on PostgreSQL: the statements run as one PQexec (several may be
 * separated by semicolons, as sqlite3_exec allows). */
static void pg_sql(const char *uri, const char *sql)
{
    PGconn *c = pg_connect(uri);
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);

    ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
                  PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
}

/* tsql_int on PostgreSQL, read as SQLite's column_int64 would: NULL is 0,
 * a boolean is 1 or 0, anything else its leading integer. */
static int64_t pg_sql_int(const char *uri, const char *sql)
{
    PGconn *c = pg_connect(uri);
    PGresult *res = PQexec(c, sql);
    int64_t v = -1;

    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    if (PQntuples(res) > 0 && PQnfields(res) > 0) {
        const char *s = PQgetvalue(res, 0, 0);

        if (PQgetisnull(res, 0, 0))
            v = 0;
        else if (PQftype(res, 0) == 16 /* BOOLOID */)
            v = s[0] == 't';
        else
            v = strtoll(s, NULL, 10);
    }
    PQclear(res);
    PQfinish(c);
    return v;
}

void tsql(struct tserver *ts, const char *sql)
{
    sqlite3 *h = NULL;
    char *msg = NULL;
    int rc;

    if (tpg_is_uri(ts->db_path)) {
        pg_sql(ts->db_path, sql);
        return;
    }
    h = raw_db(ts);
    rc = sqlite3_exec(h, sql, NULL, NULL, &msg);

    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(h);
}

int64_t tsql_int(struct tserver *ts, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    int rc;

    if (tpg_is_uri(ts->db_path))
        return pg_sql_int(ts->db_path, sql);
    h = raw_db(ts);
    ck_assert_msg(sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(h));
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    ck_assert_msg(rc == SQLITE_ROW || rc == SQLITE_DONE, "%s", sql);
    return v;
}

int64_t tfx_session(struct tserver *ts, int64_t project, const char *name, const char *type,
                    const char *lang, const char *jsonl)
{
    struct db *db = fx_db(ts);
    struct db_conn *c = db_acquire(db);
    struct err err = {0};
    enum model_type t = TYPE_CLASS;
    enum language l = LANG_EN;
    struct ingest *in;
    json_t *errors = NULL;
    int64_t id;

    ck_assert_int_eq(domain_type_parse(type, &t), 0);
    in = ingest_new(t);
    ingest_feed(in, jsonl, strlen(jsonl));
    if (ingest_finish(in, &errors) != 0) {
        char *s = json_dumps(errors, 0);

        ck_abort_msg("fixture documents invalid: %s", s);
    }
    ck_assert_int_eq(db_begin(c, &err), 0);
    ck_assert_int_eq(domain_language_parse(lang, &l), 0);
    id = db_annotation_create(c, project, name, t, l, 0, &err);
    ck_assert_msg(id > 0, "%s", err.msg);
    ck_assert_msg(db_documents_add(c, id, ingest_doc_at, in, ingest_count(in), &err) == 0, "%s",
                  err.msg);
    ck_assert_int_eq(db_commit(c, &err), 0);
    ingest_free(in);
    db_release(db, c);
    fx_done(db);
    return id;
}

void tresp_release(struct tresp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct tresp *r = ud;
    size_t n = size * nmemb;
    char *b = realloc(r->body, r->len + n + 1);

    if (!b)
        return 0;
    r->body = b;
    memcpy(r->body + r->len, ptr, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);

    if (n > nl + 1 && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
        const char *v = line + nl + 1;
        size_t len = n - nl - 1;

        while (len && (*v == ' '))
            v++, len--;
        while (len && (v[len - 1] == '\r' || v[len - 1] == '\n'))
            len--;
        snprintf(out, outlen, "%.*s", (int)len, v);
    }
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct tresp *r = ud;
    size_t n = size * nmemb;

    header_value(ptr, n, "Content-Type", r->content_type, sizeof(r->content_type));
    header_value(ptr, n, "Location", r->location, sizeof(r->location));
    header_value(ptr, n, "Allow", r->allow, sizeof(r->allow));
    header_value(ptr, n, "WWW-Authenticate", r->www_auth, sizeof(r->www_auth));
    header_value(ptr, n, "Retry-After", r->retry_after, sizeof(r->retry_after));
    header_value(ptr, n, "Idempotent-Replayed", r->replayed, sizeof(r->replayed));
    header_value(ptr, n, "Access-Control-Allow-Origin", r->cors_origin, sizeof(r->cors_origin));
    header_value(ptr, n, "Access-Control-Allow-Methods", r->cors_methods,
                 sizeof(r->cors_methods));
    header_value(ptr, n, "Set-Cookie", r->set_cookie, sizeof(r->set_cookie));
    header_value(ptr, n, "Access-Control-Allow-Credentials", r->cors_credentials,
                 sizeof(r->cors_credentials));
    header_value(ptr, n, "Access-Control-Allow-Headers", r->cors_headers,
                 sizeof(r->cors_headers));
    header_value(ptr, n, "Vary", r->vary, sizeof(r->vary));
    {
        size_t have = strlen(r->headers);

        if (have + n < sizeof(r->headers)) {
            memcpy(r->headers + have, ptr, n);
            r->headers[have + n] = '\0';
        }
    }
    return n;
}

struct tgen {
    tgen_fn fn;
    void *ctx;
};

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    struct tgen *g = ud;

    return g->fn(buf, size * nitems, g->ctx);
}

/* The one request function behind thttp*, returns the curl result. */
static CURLcode request(struct tserver *ts, const char *method, const char *path,
                        const char *token, const char *content_type,
                        const char *const *headers, const char *body, struct tgen *gen,
                        long long content_length, struct tresp *out)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[1024], hdr[512];
    CURLcode rc;

    memset(out, 0, sizeof(*out));
    ck_assert_ptr_nonnull(curl);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)ts->port, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    if (token) {
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, hdr);
    }
    if (content_type) {
        snprintf(hdr, sizeof(hdr), "Content-Type: %s", content_type);
        h = curl_slist_append(h, hdr);
    } else {
        h = curl_slist_append(h, "Content-Type:");
    }
    for (; headers && *headers; headers++)
        h = curl_slist_append(h, *headers);
    h = curl_slist_append(h, "Expect:");
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (gen) {
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(curl, CURLOPT_READDATA, gen);
        if (content_length >= 0)
            curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)content_length);
        else
            h = curl_slist_append(h, "Transfer-Encoding: chunked");
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    if (out->body)
        out->json = json_loads(out->body, 0, NULL);
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
    return rc;
}

void thttp(struct tserver *ts, const char *method, const char *path, const char *token,
           const char *content_type, const char *body, struct tresp *out)
{
    CURLcode rc = request(ts, method, path, token, content_type, NULL, body, NULL, -1, out);

    ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
}

int thttp_try(struct tserver *ts, const char *method, const char *path, const char *token,
              struct tresp *out)
{
    return request(ts, method, path, token, NULL, NULL, NULL, NULL, -1, out) == CURLE_OK ? 0
                                                                                      : -1;
}

void thttp_key(struct tserver *ts, const char *method, const char *path, const char *token,
               const char *content_type, const char *key, const char *body, struct tresp *out)
{
    char hdr[1024];
    const char *headers[] = {hdr, NULL};
    CURLcode rc;

    /* "Name;" is how curl sends a header with an empty value */
    snprintf(hdr, sizeof(hdr), key && *key ? "Idempotency-Key: %s" : "Idempotency-Key;",
             key ? key : "");
    rc = request(ts, method, path, token, content_type, key ? headers : NULL, body, NULL, -1, out);
    ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
}

void thttp_headers(struct tserver *ts, const char *method, const char *path,
                   const char *const *headers, const char *body, struct tresp *out)
{
    CURLcode rc = request(ts, method, path, NULL, body ? "application/json" : NULL, headers,
                          body, NULL, -1, out);

    ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
}

int thttp_stream(struct tserver *ts, const char *method, const char *path, const char *token,
                 const char *content_type, tgen_fn gen, void *ctx, long long content_length,
                 struct tresp *out)
{
    struct tgen g = {gen, ctx};

    return request(ts, method, path, token, content_type, NULL, NULL, &g, content_length,
                   out) == CURLE_OK
               ? 0
               : -1;
}

const char *terror(const struct tresp *r, const char *field)
{
    json_t *errors = json_object_get(r->json, "errors"), *e;
    size_t i;

    json_array_foreach(errors, i, e)
    {
        const char *f = json_string_value(json_object_get(e, "field"));

        if (f && strcmp(f, field) == 0)
            return json_string_value(json_object_get(e, "message"));
    }
    return NULL;
}

void tjson(struct tserver *ts, const char *method, const char *path, const char *token,
           const char *body, struct tresp *out)
{
    thttp(ts, method, path, token, "application/json", body, out);
}

json_t *twait_status(struct tserver *ts, const char *path, const char *token, const char *until,
                     double timeout)
{
    double t0 = util_monotonic();
    json_t *last = NULL;

    for (;;) {
        struct tresp r;
        const char *st;
        char pad[32];

        thttp(ts, "GET", path, token, NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        json_decref(last);
        last = json_incref(r.json);
        tresp_release(&r);
        st = json_string_value(json_object_get(last, "status"));
        snprintf(pad, sizeof(pad), " %s ", st ? st : "");
        {
            char hay[256];

            snprintf(hay, sizeof(hay), " %s ", until);
            if (strstr(hay, pad))
                return last;
        }
        if (util_monotonic() - t0 > timeout)
            return last;
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
}

int trun2(const char *const *args, char *out, size_t outlen, char *err, size_t errlen)
{
    const char *bin = getenv("MODELD_BIN") ? getenv("MODELD_BIN") : "build/rel/modeld";
    const char *argv[32];
    char errpath[] = "/tmp/modeld-test-stderr-XXXXXX";
    int pipefd[2], status = 0, errfd;
    size_t n = 0, i;
    pid_t pid;

    argv[0] = bin;
    for (i = 0; args[i] && i < 30; i++)
        argv[i + 1] = args[i];
    argv[i + 1] = NULL;
    errfd = mkstemp(errpath);
    ck_assert_int_ge(errfd, 0);
    unlink(errpath);
    ck_assert_int_eq(pipe(pipefd), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(pipefd[1], 1);
        dup2(errfd, 2);
        close(pipefd[0]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    if (out && outlen)
        out[0] = '\0';
    for (;;) {
        char buf[4096];
        ssize_t k = read(pipefd[0], buf, sizeof(buf));

        if (k <= 0)
            break;
        if (out && n + 1 < outlen) {
            size_t take = (size_t)k < outlen - n - 1 ? (size_t)k : outlen - n - 1;

            memcpy(out + n, buf, take);
            n += take;
            out[n] = '\0';
        }
    }
    close(pipefd[0]);
    waitpid(pid, &status, 0);
    if (err && errlen) {
        ssize_t k = pread(errfd, err, errlen - 1, 0);

        err[k > 0 ? k : 0] = '\0';
    }
    close(errfd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int trun(const char *const *args, char *out, size_t outlen)
{
    return trun2(args, out, outlen, NULL, 0);
}

int tfree_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(s);
    return port;
}

int twait_health(int port)
{
    struct tserver ts;
    struct tresp r;
    int up = 0;

    memset(&ts, 0, sizeof ts);
    ts.port = (uint16_t)port;
    for (int i = 0; i < 400 && !up; i++) {
        up = thttp_try(&ts, "GET", "/health", NULL, &r) == 0 && r.status == 200;
        tresp_release(&r);
        if (!up)
            nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    return up;
}

static void skip_record(const char *reason)
{
    const char *log = getenv("MODELD_SKIP_LOG");
    int fd;

    fprintf(stderr, "skipped: %s\n", reason);
    if (!log || (fd = open(log, O_WRONLY | O_APPEND)) < 0)
        return;
    if (write(fd, reason, strlen(reason)) < 0 || write(fd, "\n", 1) < 0) {
        /* the count is informative; the reason is on stderr already */
    }
    close(fd);
}

void tskip(const char *fmt, ...)
{
    char reason[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    skip_record(reason);
}

void tskip_needed(const char *fmt, ...)
{
    char reason[512];
    const char *req = getenv("MODELD_REQUIRE_DATA");
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    ck_assert_msg(!req || strcmp(req, "1") != 0, "MODELD_REQUIRE_DATA=1 but %s", reason);
    skip_record(reason);
}

const char *tdata(const char *file, char *buf, size_t len)
{
    const char *dir = getenv("MODELD_DATA") ? getenv("MODELD_DATA") : "../shared/data";

    snprintf(buf, len, "%s/%s", dir, file);
    if (access(buf, R_OK) == 0)
        return buf;
    tskip_needed("%s not in %s", file, dir);
    return NULL;
}

/*
 * The problem types of each status, written out here (not taken from
 * problem.h) so that a changed type fails the tests: clients switch on them.
 */
static int problem_type_fits(long status, const char *type)
{
    static const struct {
        long status;
        const char *type;
    } types[] = {
        {400, "urn:modeld:problem:invalid-request"},
        {401, "urn:modeld:problem:unauthenticated"},
        {403, "urn:modeld:problem:forbidden"},
        {404, "urn:modeld:problem:not-found"},
        {405, "urn:modeld:problem:method-not-allowed"},
        {409, "urn:modeld:problem:conflict"},
        {409, "urn:modeld:problem:idempotency-key-in-use"},
        {413, "urn:modeld:problem:content-too-large"},
        {415, "urn:modeld:problem:unsupported-media-type"},
        {422, "urn:modeld:problem:idempotency-key-reused"},
        {500, "urn:modeld:problem:internal-error"},
        {503, "urn:modeld:problem:unavailable"},
        {403, "urn:modeld:problem:csrf-token-invalid"},
    };

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (types[i].status == status && strcmp(types[i].type, type) == 0)
            return 1;
    return 0;
}

void tassert_problem(const struct tresp *r, long status)
{
    const char *type;

    ck_assert_msg(r->status == status, "expected %ld, got %ld: %s", status, r->status,
                  r->body ? r->body : "");
    ck_assert_str_eq(r->content_type, "application/problem+json");
    ck_assert_ptr_nonnull(r->json);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "status")), status);
    type = json_string_value(json_object_get(r->json, "type"));
    ck_assert_msg(type && problem_type_fits(status, type), "%ld with type %s", status,
                  type ? type : "(none)");
    ck_assert(json_is_string(json_object_get(r->json, "title")));
    ck_assert(json_is_string(json_object_get(r->json, "detail")));
    if (status == 400)
        ck_assert(json_array_size(json_object_get(r->json, "errors")) > 0);
}

/* 1 when something accepts TCP connections on 127.0.0.1:port. */
static int port_open(uint16_t port)
{
    struct sockaddr_in sa = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    ck_assert_int_ge(fd, 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

pid_t tspawn_serve(struct tserver *ts, const char *workers)
{
    return tspawn_serve_with(ts, workers, NULL);
}

pid_t tspawn_serve_with(struct tserver *ts, const char *workers, const char *const *extra)
{
    const char *bin = getenv("MODELD_BIN") ? getenv("MODELD_BIN") : "build/rel/modeld";
    const char *argv[40];
    char port[16], log[400];
    size_t n = 0;
    double t0;
    pid_t pid;

    ts->port = (uint16_t)tfree_port();
    snprintf(port, sizeof(port), "%u", (unsigned)ts->port);
    snprintf(log, sizeof(log), "%s/serve.log", ts->dir);
    {
        const char *fixed[] = {bin,       "serve",    "--db",       ts->db_path, "--port",
                               port,      "--workers", workers,     "--data-dir", ts->data_dir};

        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
            argv[n++] = fixed[i];
        for (; extra && *extra; extra++) {
            ck_assert_uint_lt(n, sizeof(argv) / sizeof(argv[0]) - 1);
            argv[n++] = *extra;
        }
        argv[n] = NULL;
    }
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        FILE *f = freopen(log, "a", stderr);

        (void)f;
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    t0 = util_monotonic();
    for (;;) {
        int status;

        ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0, "modeld serve exited (see %s)", log);
        /* a raw connect first: thttp asserts on connection errors */
        if (port_open(ts->port)) {
            struct tresp r;

            thttp(ts, "GET", "/health", NULL, NULL, NULL, &r);
            ck_assert_int_eq(r.status, 200);
            tresp_release(&r);
            return pid;
        }
        ck_assert_msg(util_monotonic() - t0 < 60, "modeld serve did not start (see %s)", log);
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
}
