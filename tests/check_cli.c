/* SPDX-License-Identifier: MIT */
/*
 * Tests of the admin command line (issue 2), run as a separate process
 * (MODELD_BIN): each command prints only the new id or token on stdout;
 * errors go to stderr with exit status 1; migrate is idempotent; tokens are
 * 64 hex characters and only their hash is stored; `serve` logs one line per
 * request without the token and stops cleanly on SIGTERM.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

/* stdout is exactly one line holding a positive decimal id. */
static int64_t only_id(const char *out)
{
    size_t n = strlen(out);
    int64_t id;
    char buf[32];

    ck_assert_msg(n >= 2 && n < sizeof(buf) && out[n - 1] == '\n', "stdout: '%s'", out);
    memcpy(buf, out, n - 1);
    buf[n - 1] = '\0';
    ck_assert_msg(util_parse_i64(buf, 1, INT64_MAX, &id) == 0, "stdout: '%s'", out);
    return id;
}

#define RUN_OK(...)                                                                                \
    do {                                                                                           \
        const char *a_[] = {__VA_ARGS__, NULL};                                                    \
        int rc_ = trun2(a_, out, sizeof(out), err, sizeof(err));                                   \
        ck_assert_msg(rc_ == 0, "%s %s: exit %d, stderr %s", a_[0], a_[1], rc_, err);              \
    } while (0)

/* Exit 1, nothing on stdout, a message on stderr. */
#define RUN_FAIL(...)                                                                              \
    do {                                                                                           \
        const char *a_[] = {__VA_ARGS__, NULL};                                                    \
        int rc_ = trun2(a_, out, sizeof(out), err, sizeof(err));                                   \
        ck_assert_msg(rc_ == 1, "%s %s: exit %d (stdout '%s')", a_[0], a_[1], rc_, out);           \
        ck_assert_msg(out[0] == '\0', "%s %s: stdout '%s'", a_[0], a_[1], out);                    \
        ck_assert_msg(strlen(err) > 0, "%s %s: empty stderr", a_[0], a_[1]);                       \
    } while (0)

/* Exit 2 (no such command), nothing on stdout, a message on stderr. */
#define RUN_USAGE(...)                                                                             \
    do {                                                                                           \
        const char *a_[] = {__VA_ARGS__, NULL};                                                    \
        int rc_ = trun2(a_, out, sizeof(out), err, sizeof(err));                                   \
        ck_assert_msg(rc_ == 2, "%s: exit %d (stderr '%s')", a_[0], rc_, err);                     \
        ck_assert_msg(out[0] == '\0', "%s: stdout '%s'", a_[0], out);                              \
    } while (0)

static int64_t db_int(const char *db, const char *sql)
{
    struct tserver fake;

    memset(&fake, 0, sizeof(fake));
    snprintf(fake.db_path, sizeof(fake.db_path), "%s", db);
    return tsql_int(&fake, sql);
}

START_TEST(test_admin_commands)
{
    struct tdbdir c;
    char out[512], err[2048], id_ws[24], id_pr[24], id_u[24], id_ro[24];
    int64_t ws, pr, u, ro;

    tdbdir_init(&c);
    RUN_OK("workspace", "create", "--db", c.db, "--name", "Acme");
    ws = only_id(out);
    snprintf(id_ws, sizeof(id_ws), "%lld", (long long)ws);
    RUN_OK("project", "create", "--db", c.db, "--workspace", id_ws, "--name", "Reviews");
    pr = only_id(out);
    snprintf(id_pr, sizeof(id_pr), "%lld", (long long)pr);
    /* --opt=value works like --opt value */
    {
        char dbopt[320];

        snprintf(dbopt, sizeof(dbopt), "--db=%s", c.db);
        RUN_OK("user", "create", dbopt, "--name=J\xc3\xbcrgen");
        only_id(out);
        ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM users WHERE name = 'J\xc3\xbcrgen'"),
                         1);
    }
    RUN_OK("user", "create", "--db", c.db, "--name=Mia");
    u = only_id(out);
    snprintf(id_u, sizeof(id_u), "%lld", (long long)u);
    RUN_OK("user", "create", "--db", c.db, "--name", "reader", "--read-only");
    ro = only_id(out);
    snprintf(id_ro, sizeof(id_ro), "%lld", (long long)ro);
    ck_assert_int_eq(db_int(c.db, "SELECT read_only FROM users WHERE name = 'reader'"), 1);
    ck_assert_int_eq(db_int(c.db, "SELECT read_only FROM users WHERE name = 'Mia'"), 0);
    for (const char *const *role =
             (const char *const[]){"VIEWER", "ANNOTATOR", "MANAGER", "OWNER", NULL};
         *role; role++) {
        /* the first role adds the member; the others change the role (member add of a
         * member is an error that names set-role) */
        if (strcmp(*role, "VIEWER") == 0)
            RUN_OK("member", "add", "--db", c.db, "--project", id_pr, "--user", id_u, "--role",
                   *role);
        else
            RUN_OK("member", "set-role", "--db", c.db, "--project", id_pr, "--user", id_u,
                   "--role", *role);
        only_id(out);
        ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM members"), 1);
    }
    RUN_OK("member", "add", "--db", c.db, "--project", id_pr, "--user", id_ro, "--role", "VIEWER");
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM members"), 2);
    RUN_OK("base", "create", "--db", c.db, "--name", "Hotel", "--language", "de");
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM models WHERE type = 'BASE' AND "
                                  "language = 'de' AND name = 'Hotel'"),
                     only_id(out) > 0);
    tdbdir_cleanup(&c);
}
END_TEST

START_TEST(test_errors_exit_1)
{
    struct tdbdir c;
    char out[512], err[2048];

    tdbdir_init(&c);
    RUN_OK("workspace", "create", "--db", c.db, "--name", "W");
    RUN_OK("project", "create", "--db", c.db, "--workspace", "1", "--name", "P");
    RUN_OK("user", "create", "--db", c.db, "--name", "U");
    /* no such command: exit 2, and the message names what was given */
    RUN_USAGE("frobnicate");
    ck_assert_msg(strstr(err, "unknown command 'frobnicate'") && strstr(err, "modeld help"), "%s",
                  err);
    RUN_USAGE("workspace");
    ck_assert_msg(strstr(err, "'workspace' needs a subcommand") && strstr(err, "create"), "%s",
                  err);
    RUN_USAGE("workspace", "delete", "--db", c.db);
    ck_assert_msg(strstr(err, "unknown command 'workspace delete'"), "%s", err);
    /* usage errors: exit 1, naming the option and the command */
    RUN_FAIL("workspace", "create", "--db", c.db, "--name", "W", "--colour", "red");
    ck_assert_msg(strstr(err, "workspace create: unknown option '--colour'"), "%s", err);
    RUN_FAIL("workspace", "create", "--db", c.db, "--name");
    RUN_FAIL("workspace", "create", "--db", c.db);
    RUN_FAIL("workspace", "create", "--name", "W");
    RUN_FAIL("workspace", "create", "--db", c.db, "--name", "");
    RUN_FAIL("workspace", "create", "--db", c.db, "--name", "W", "stray");
    RUN_FAIL("migrate");
    /* bad values */
    RUN_FAIL("project", "create", "--db", c.db, "--workspace", "abc", "--name", "P");
    RUN_FAIL("project", "create", "--db", c.db, "--workspace", "0", "--name", "P");
    RUN_FAIL("project", "create", "--db", c.db, "--workspace", "99", "--name", "P");
    RUN_FAIL("member", "add", "--db", c.db, "--project", "1", "--user", "1", "--role", "KING");
    RUN_FAIL("member", "add", "--db", c.db, "--project", "1", "--user", "1", "--role", "viewer");
    RUN_FAIL("member", "add", "--db", c.db, "--project", "1", "--user", "77", "--role", "OWNER");
    RUN_FAIL("member", "add", "--db", c.db, "--project", "77", "--user", "1", "--role", "OWNER");
    RUN_FAIL("token", "create", "--db", c.db, "--user", "77");
    RUN_FAIL("token", "create", "--db", c.db, "--user", "1", "--expires-in", "0");
    RUN_FAIL("token", "create", "--db", c.db, "--user", "1", "--expires-in", "10s");
    RUN_FAIL("token", "revoke", "--db", c.db, "--token", "deadbeef");
    RUN_FAIL("user", "create", "--db", c.db, "--name", "U"); /* taken */
    RUN_FAIL("user", "create", "--db", c.db, "--name", "V", "--read-only=no");
    RUN_FAIL("base", "create", "--db", c.db, "--name", "B", "--language", "fr");
    RUN_FAIL("base", "create", "--db", c.db, "--name", "B", "--language", "en", "--from-model",
             "42");
    RUN_OK("base", "create", "--db", c.db, "--name", "B", "--language", "en");
    RUN_FAIL("base", "create", "--db", c.db, "--name", "B", "--language", "en"); /* taken */
    RUN_FAIL("annotations", "import", "--db", c.db, "--project", "1", "--name", "s", "--type",
             "BASE", "--language", "en", "/dev/null");
    RUN_FAIL("annotations", "import", "--db", c.db, "--project", "1", "--name", "s", "--type",
             "ABSA", "--language", "en");
    RUN_FAIL("annotations", "import", "--db", c.db, "--project", "1", "--name", "s", "--type",
             "ABSA", "--language", "en", "/nonexistent/file.jsonl");
    RUN_FAIL("workspace", "create", "--db", "/nonexistent/dir/m.db", "--name", "W");
    /* nothing of the failures was written */
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM workspaces"), 1);
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM projects"), 1);
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM users"), 1);
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM members"), 0);
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM tokens"), 0);
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM annotations"), 0);
    tdbdir_cleanup(&c);
}
END_TEST

START_TEST(test_migrate_idempotent)
{
    struct tdbdir c;
    char out[512], err[2048], first[512];
    int64_t n;

    tdbdir_init(&c);
    RUN_OK("migrate", "--db", c.db);
    snprintf(first, sizeof(first), "%s", out);
    ck_assert_int_ge(only_id(first), 1);
    ck_assert_int_eq(db_int(c.db, "SELECT MAX(version) FROM schema_migrations"), only_id(first));
    n = db_int(c.db, "SELECT COUNT(*) FROM schema_migrations");
    RUN_OK("migrate", "--db", c.db);
    ck_assert_str_eq(out, first);
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM schema_migrations"), n);
    /* every command migrates by itself: a brand-new file works for any command */
    tdbdir_cleanup(&c);
    tdbdir_init(&c);
    RUN_OK("user", "create", "--db", c.db, "--name", "x");
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM schema_migrations"), n);
    /* WAL and foreign keys are the database's settings (SQLite) */
    if (!tpg_is_uri(c.db)) {
        struct tserver fake;

        memset(&fake, 0, sizeof(fake));
        snprintf(fake.db_path, sizeof(fake.db_path), "%s", c.db);
        ck_assert_int_eq(tsql_int(&fake, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"),
                         1);
    }
    tdbdir_cleanup(&c);
}
END_TEST

/* 1 when the file contains the bytes. */
static int file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    size_t n = strlen(needle), cap = 1 << 16, len = 0;
    char *buf;
    int found = 0;

    if (!f)
        return 0;
    buf = malloc(cap);
    for (;;) {
        size_t k;

        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        k = fread(buf + len, 1, cap - len, f);
        if (k == 0)
            break;
        len += k;
    }
    fclose(f);
    for (size_t i = 0; i + n <= len && !found; i++)
        found = memcmp(buf + i, needle, n) == 0;
    free(buf);
    return found;
}

START_TEST(test_token_format_and_hash)
{
    struct tdbdir c;
    char out[512], err[2048], tok[80], tok2[80], path[320], sql[256];

    tdbdir_init(&c);
    RUN_OK("user", "create", "--db", c.db, "--name", "u");
    RUN_OK("token", "create", "--db", c.db, "--user", "1");
    ck_assert_uint_eq(strlen(out), 65);
    ck_assert_int_eq(out[64], '\n');
    for (int i = 0; i < 64; i++)
        ck_assert_msg(isxdigit((unsigned char)out[i]) && !isupper((unsigned char)out[i]),
                      "token '%s'", out);
    memcpy(tok, out, 64);
    tok[64] = '\0';
    RUN_OK("token", "create", "--db", c.db, "--user", "1", "--expires-in", "3600");
    memcpy(tok2, out, 64);
    tok2[64] = '\0';
    ck_assert_str_ne(tok, tok2);
    /* only the hash is stored: the plaintext is nowhere in the database files */
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM tokens WHERE hash = '%s'", tok);
    ck_assert_int_eq(db_int(c.db, sql), 0);
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM tokens WHERE length(hash) = 64"), 2);
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM tokens WHERE expires_at IS NULL"), 1);
    /* the clock read here, not in SQL: the same statement on both backends */
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM tokens WHERE expires_at > %lld",
             (long long)time(NULL) + 3500);
    ck_assert_int_eq(db_int(c.db, sql), 1);
    if (!tpg_is_uri(c.db)) { /* SQLite: the files */
        ck_assert(!file_contains(c.db, tok));
        snprintf(path, sizeof(path), "%s-wal", c.db);
        ck_assert(!file_contains(path, tok));
        ck_assert(!file_contains(path, tok2));
    }
    /* revoke prints an id, twice is an error */
    RUN_OK("token", "revoke", "--db", c.db, "--token", tok);
    only_id(out);
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM tokens WHERE revoked_at IS NOT NULL"), 1);
    RUN_FAIL("token", "revoke", "--db", c.db, "--token", tok);
    tdbdir_cleanup(&c);
}
END_TEST

START_TEST(test_import)
{
    struct tdbdir c;
    char out[512], err[4096], file[160], bad[160], data[512];
    FILE *f;

    tdbdir_init(&c);
    RUN_OK("workspace", "create", "--db", c.db, "--name", "W");
    RUN_OK("project", "create", "--db", c.db, "--workspace", "1", "--name", "P");
    snprintf(file, sizeof(file), "%s/docs.jsonl", c.dir);
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"id\":\"1\",\"text\":\"gut\",\"lang\":\"de\",\"labels\":[\"OTHER\"],\"split\":"
          "\"train\"}\n"
          "{\"id\":\"2\",\"text\":\"\xc3\xbc\xc3\xa4\",\"labels\":[\"OFFENSE\"]}\n",
          f);
    fclose(f);
    RUN_OK("annotations", "import", "--db", c.db, "--project", "1", "--name", "g", "--type",
           "CLASS", "--language", "de", file);
    only_id(out);
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM documents WHERE class IS NOT NULL"), 2);
    /* a bad line: exit 1, the line named, nothing imported */
    snprintf(bad, sizeof(bad), "%s/bad.jsonl", c.dir);
    f = fopen(bad, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"text\":\"a\",\"labels\":[\"X\"]}\n{\"text\":\"b\"}\n", f);
    fclose(f);
    RUN_FAIL("annotations", "import", "--db", c.db, "--project", "1", "--name", "b", "--type",
             "CLASS", "--language", "de", bad);
    ck_assert_msg(strstr(err, "line 2") != NULL, "%s", err);
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM annotations"), 1);
    /* an unknown project */
    RUN_FAIL("annotations", "import", "--db", c.db, "--project", "9", "--name", "g", "--type",
             "CLASS", "--language", "de", file);
    ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM annotations"), 1);
    /* the real data file, when present */
    if (tdata("semeval16_en_restaurants.jsonl", data, sizeof(data))) {
        RUN_OK("annotations", "import", "--db", c.db, "--project", "1", "--name", "semeval",
               "--type", "ABSA", "--language", "en", data);
        ck_assert_int_eq(db_int(c.db, "SELECT COUNT(*) FROM documents d JOIN annotations a ON "
                                      "a.id = d.annotation_id WHERE a.name = 'semeval'"),
                         2579);
    }
    tdbdir_cleanup(&c);
}
END_TEST

/* --version prints the release; a bad --log-level is refused before serving. */
START_TEST(test_version_and_log_level)
{
    const char *v[] = {"--version", NULL};
    const char *bad[] = {"serve", "--db", "/tmp/modeld-never-created.db", "--log-level", "loud",
                         NULL};
    char out[256], errbuf[512];

    ck_assert_int_eq(trun(v, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "modeld " MODELD_VERSION "\n");
    ck_assert_int_eq(trun2(bad, out, sizeof(out), errbuf, sizeof(errbuf)), 1);
    ck_assert_str_eq(out, "");
    ck_assert(strstr(errbuf, "--log-level") != NULL);
}
END_TEST

/* --workers takes 0 (an API-only daemon) up to 64; --worker-nice 0..19. */
START_TEST(test_serve_worker_options)
{
    const char *db = "/tmp/modeld-never-created.db";
    const char *nice_bad[] = {"serve", "--db", db, "--workers", "0", "--worker-nice", "20", NULL};
    const char *workers_bad[] = {"serve", "--db", db, "--workers", "65", NULL};
    char out[256], errbuf[512];

    /* --workers 0 passes; the bad --worker-nice after it is what is refused */
    ck_assert_int_eq(trun2(nice_bad, out, sizeof(out), errbuf, sizeof(errbuf)), 1);
    ck_assert_msg(strstr(errbuf, "--worker-nice must be 0..19"), "%s", errbuf);
    ck_assert_int_eq(trun2(workers_bad, out, sizeof(out), errbuf, sizeof(errbuf)), 1);
    ck_assert_msg(strstr(errbuf, "--workers must be 0..64"), "%s", errbuf);
}
END_TEST

/* --lease takes 1..3600 seconds, --max-attempts 1..100; --help names both. */
START_TEST(test_serve_lease_options)
{
    const char *db = "/tmp/modeld-never-created.db";
    const char *lease_bad[] = {"serve", "--db", db, "--lease", "0", NULL};
    const char *max_bad[] = {"serve", "--db", db, "--lease", "3600", "--max-attempts", "101",
                             NULL};
    const char *help[] = {"serve", "--help", NULL};
    char out[8192], errbuf[512];

    ck_assert_int_eq(trun2(lease_bad, out, sizeof(out), errbuf, sizeof(errbuf)), 1);
    ck_assert_msg(strstr(errbuf, "--lease must be 1..3600 seconds"), "%s", errbuf);
    ck_assert_int_eq(trun2(max_bad, out, sizeof(out), errbuf, sizeof(errbuf)), 1);
    ck_assert_msg(strstr(errbuf, "--max-attempts must be 1..100"), "%s", errbuf);
    ck_assert_int_eq(trun2(help, out, sizeof(out), errbuf, sizeof(errbuf)), 0);
    ck_assert_msg(strstr(out, "--lease SECONDS") && strstr(out, "--max-attempts N"), "%s", out);
}
END_TEST

/* --cors-origin is a list: given several times (or comma-separated from the
 * environment or a config file), each entry checked and named when bad;
 * --session-ttl 60..2592000. */
START_TEST(test_serve_cors_list_and_session_ttl)
{
    const char *db = "/tmp/modeld-never-created.db";
    /* two good origins pass; the bad --session-ttl after them is what is refused */
    const char *two_ok[] = {"serve", "--db", db, "--cors-origin", "https://a.example",
                            "--cors-origin", "http://127.0.0.1:8081", "--session-ttl", "59",
                            NULL};
    const char *second_bad[] = {"serve", "--db", db, "--cors-origin", "https://a.example",
                                "--cors-origin", "https://b.example/app", NULL};
    const char *from_env[] = {"serve", "--db", db, NULL};
    char out[256], errbuf[512];

    ck_assert_int_eq(trun2(two_ok, out, sizeof(out), errbuf, sizeof(errbuf)), 1);
    ck_assert_msg(strstr(errbuf, "--session-ttl must be 60..2592000"), "%s", errbuf);
    ck_assert_int_eq(trun2(second_bad, out, sizeof(out), errbuf, sizeof(errbuf)), 1);
    ck_assert_msg(strstr(errbuf, "--cors-origin: 'https://b.example/app' must be"), "%s", errbuf);
    setenv("MODELD_CORS_ORIGIN", "https://a.example, *, ftp://x", 1);
    ck_assert_int_eq(trun2(from_env, out, sizeof(out), errbuf, sizeof(errbuf)), 1);
    unsetenv("MODELD_CORS_ORIGIN");
    ck_assert_msg(strstr(errbuf, "MODELD_CORS_ORIGIN: 'ftp://x' must be"), "%s", errbuf);
}
END_TEST

START_TEST(test_serve_logs_and_stops)
{
    const char *bin = getenv("MODELD_BIN") ? getenv("MODELD_BIN") : "build/rel/modeld";
    struct tdbdir c;
    struct tserver ts;
    char out[512], err[2048], tok[80], port[16], logpath[160], data[160], *log = NULL;
    struct tresp r;
    int status = 0, fd;
    pid_t pid;

    tdbdir_init(&c);
    RUN_OK("user", "create", "--db", c.db, "--name", "u");
    RUN_OK("token", "create", "--db", c.db, "--user", "1");
    memcpy(tok, out, 64);
    tok[64] = '\0';
    snprintf(data, sizeof(data), "%s/data", c.dir);
    if (tpg()) { /* no database directory to keep the artifacts beside */
        RUN_FAIL("serve", "--db", c.db, "--port", "1", "--workers", "0");
        ck_assert_msg(strstr(err, "--data-dir is needed with a PostgreSQL database"), "%s", err);
    }
    snprintf(port, sizeof(port), "%d", tfree_port());
    snprintf(logpath, sizeof(logpath), "%s/serve.log", c.dir);
    fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fd, 2);
        dup2(fd, 1);
        execl(bin, bin, "serve", "--db", c.db, "--port", port, "--workers", "1", "--data-dir", data,
              (char *)NULL);
        _exit(127);
    }
    close(fd);
    memset(&ts, 0, sizeof(ts));
    ts.port = (uint16_t)atoi(port);
    /* wait for it to listen */
    for (int i = 0; i < 200; i++) {
        if (thttp_try(&ts, "GET", "/health", NULL, &r) == 0 && r.status == 200) {
            tresp_release(&r);
            break;
        }
        tresp_release(&r);
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    thttp(&ts, "GET", "/base-models", tok, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    /* a path with an encoded line break must not forge a log line */
    thttp(&ts, "GET", "/x%0Afake-line%0D", tok, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    tresp_release(&r);
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    {
        FILE *f = fopen(logpath, "rb");
        long len;

        ck_assert_ptr_nonnull(f);
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        fseek(f, 0, SEEK_SET);
        log = calloc(1, (size_t)len + 1);
        ck_assert_int_eq(fread(log, 1, (size_t)len, f), len);
        fclose(f);
    }
    /* the log first: an abort's message is in it */
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "serve exit status %d, log:\n%s",
                  status, log);
    ck_assert_msg(strstr(log, "GET /base-models") != NULL, "%s", log);
    ck_assert_msg(strstr(log, "200") != NULL, "%s", log);
    ck_assert_msg(strstr(log, tok) == NULL, "the token is in the log:\n%s", log);
    ck_assert_msg(strstr(log, "\nfake-line") == NULL, "log injection:\n%s", log);
    /* one line per request: the three requests after start-up each have one */
    {
        int n = 0;

        for (const char *p = log; (p = strstr(p, "request ")) != NULL; p++)
            n++;
        ck_assert_int_ge(n, 3);
    }
    free(log);
    tdbdir_cleanup(&c);
}
END_TEST

/* `modeld serve --db db --port port --workers 1` in a child, its output thrown away. */
static pid_t spawn_serve_quiet(const char *bin, const char *db, const char *port)
{
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 2);
        dup2(fd, 1);
        execl(bin, bin, "serve", "--db", db, "--port", port, "--workers", "1", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/*
 * One daemon per database whatever the path: while one serves, a second one
 * reached through a symlink, a hard link or a relative path is refused.
 */
START_TEST(test_second_daemon_other_paths_refused)
{
    const char *bin = getenv("MODELD_BIN") ? getenv("MODELD_BIN") : "build/rel/modeld";
    struct tdbdir c;
    char port[16], sym[200], hard[200], rel[300], cwd[256], out[512], errbuf[1024];
    int status = 0, up = 0;
    pid_t pid;

    if (tpg()) {
        tskip("cli: the one-daemon-per-file lock is SQLite's (PostgreSQL serves many daemons)");
        return;
    }
    tdbdir_init(&c);
    {
        const char *args[] = {"migrate", "--db", c.db, NULL};
        ck_assert_int_eq(trun(args, out, sizeof(out)), 0);
    }
    snprintf(sym, sizeof sym, "%s/link.db", c.dir);
    snprintf(hard, sizeof hard, "%s/hard.db", c.dir);
    ck_assert_int_eq(symlink(c.db, sym), 0);
    ck_assert_int_eq(link(c.db, hard), 0);
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    /* the same file through "..": <dir>/../<basename of dir>/<db name> */
    {
        const char *base = strrchr(c.dir, '/');
        const char *name = strrchr(c.db, '/');
        snprintf(rel, sizeof rel, "%s/../%s%s", c.dir, base ? base + 1 : c.dir, name);
    }
    snprintf(port, sizeof(port), "%d", tfree_port());
    pid = spawn_serve_quiet(bin, c.db, port);
    up = twait_health((uint16_t)atoi(port));
    ck_assert_msg(up, "the first daemon did not come up");
    const char *const paths[] = {sym, hard, rel};
    for (size_t i = 0; i < 3; i++) {
        char p2[16];
        snprintf(p2, sizeof p2, "%d", tfree_port());
        const char *args[] = {"serve", "--db", paths[i], "--port", p2, "--workers", "1", NULL};
        int rc = trun2(args, out, sizeof out, errbuf, sizeof errbuf);
        ck_assert_msg(rc != 0, "a second daemon on %s started", paths[i]);
        ck_assert_msg(strstr(errbuf, "another modeld is already serving"), "%s: %s", paths[i],
                      errbuf);
    }
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    /* once the first one is gone, the link serves */
    {
        char p3[16];
        snprintf(p3, sizeof p3, "%d", tfree_port());
        pid = spawn_serve_quiet(bin, sym, p3);
        up = twait_health((uint16_t)atoi(p3));
        ck_assert_msg(up, "the daemon on the symlink did not come up after the first one stopped");
        kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
    }
    unlink(sym);
    unlink(hard);
    tdbdir_cleanup(&c);
}
END_TEST

/*
 * `make run` (tools/demo.sh) keeps to its own folder: run twice beside a
 * database of the user's in var/ with an artifact in var/artifacts/, both
 * survive, and the demo serves each time.
 */
START_TEST(test_demo_keeps_other_files)
{
    const char *bin = getenv("MODELD_BIN") ? getenv("MODELD_BIN") : "build/rel/modeld";
    char repo[PATH_MAX], absbin[2 * PATH_MAX], script[PATH_MAX + 32], tools[PATH_MAX + 32];
    char cwd[600], keep[700], mine[700];
    struct tdbdir c;

    if (access("tools/demo.sh", R_OK) != 0 || !getcwd(repo, sizeof repo) ||
        access(bin, X_OK) != 0) {
        tskip_needed("demo test not run from the source tree");
        return;
    }
    if (bin[0] == '/')
        snprintf(absbin, sizeof absbin, "%s", bin);
    else
        snprintf(absbin, sizeof absbin, "%s/%s", repo, bin);
    tdbdir_init(&c);
    snprintf(script, sizeof script, "%s/tools/demo.sh", repo);
    snprintf(tools, sizeof tools, "%s/tools", repo);
    snprintf(cwd, sizeof cwd, "%s/tools", c.dir);
    ck_assert_int_eq(symlink(tools, cwd), 0);
    snprintf(cwd, sizeof cwd, "%s/var", c.dir);
    ck_assert_int_eq(mkdir(cwd, 0700), 0);
    snprintf(cwd, sizeof cwd, "%s/var/artifacts", c.dir);
    ck_assert_int_eq(mkdir(cwd, 0700), 0);
    snprintf(keep, sizeof keep, "%s/var/artifacts/mine.model", c.dir);
    snprintf(mine, sizeof mine, "%s/var/my.db", c.dir);
    FILE *f = fopen(keep, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not the demo's", f);
    fclose(f);
    f = fopen(mine, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    for (int round = 0; round < 2; round++) {
        char port[16];
        int status = 0, up = 0;
        snprintf(port, sizeof port, "%d", tfree_port());
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            int fd = open("/dev/null", O_WRONLY);
            dup2(fd, 1);
            dup2(fd, 2);
            if (chdir(c.dir) != 0)
                _exit(126);
            setenv("PORT", port, 1);
            execl("/bin/sh", "sh", script, absbin, (char *)NULL);
            _exit(127);
        }
        up = twait_health((uint16_t)atoi(port));
        kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
        ck_assert_msg(up, "the demo did not serve (round %d)", round + 1);
        ck_assert_msg(access(keep, F_OK) == 0, "the demo removed var/artifacts/mine.model");
        ck_assert_msg(access(mine, F_OK) == 0, "the demo removed var/my.db");
    }
    snprintf(cwd, sizeof cwd, "%s/tools", c.dir);
    unlink(cwd);
    tdbdir_cleanup(&c);
}
END_TEST

Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("admin");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_admin_commands);
    tcase_add_test(tc, test_errors_exit_1);
    tcase_add_test(tc, test_migrate_idempotent);
    tcase_add_test(tc, test_token_format_and_hash);
    tcase_add_test(tc, test_import);
    tcase_add_test(tc, test_serve_worker_options);
    tcase_add_test(tc, test_serve_lease_options);
    tcase_add_test(tc, test_serve_logs_and_stops);
    tcase_add_test(tc, test_version_and_log_level);
    tcase_add_test(tc, test_serve_cors_list_and_session_ttl);
    tcase_add_test(tc, test_second_daemon_other_paths_refused);
    tcase_add_test(tc, test_demo_keeps_other_files);
    suite_add_tcase(s, tc);
    return s;
}
