/* SPDX-License-Identifier: MIT */
/*
 * Tests of the operator-facing command line (issue 10, "Install and
 * operate"), run against the modeld binary (MODELD_BIN): help for every
 * command, errors that name what was given, configuration from flags, the
 * environment and a config file with their precedence, the log formats, the
 * import progress bar on a terminal (and silence elsewhere), and an online
 * backup taken while the daemon serves, restored as docs/OPERATIONS.md says,
 * serving the trained model again.
 */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt, ptsname */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include "banned.h" /* last: bans unsafe libc calls */

static const char *bin(void)
{
    return getenv("MODELD_BIN") ? getenv("MODELD_BIN") : "build/rel/modeld";
}

/* The whole file as a string (caller frees); "" when it cannot be read. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (f) {
        for (;;) {
            size_t k;

            if (len + 4096 + 1 > cap) {
                cap = cap ? cap * 2 : 8192;
                buf = realloc(buf, cap);
                ck_assert_ptr_nonnull(buf);
            }
            k = fread(buf + len, 1, cap - len - 1, f);
            if (k == 0)
                break;
            len += k;
        }
        fclose(f);
    }
    if (!buf)
        buf = calloc(1, 1);
    buf[len] = '\0';
    return buf;
}

/* In a child: apply "NAME=value" settings (NULL-terminated, may be NULL). */
static void apply_env(const char *const *env)
{
    for (; env && *env; env++) {
        char name[128];
        const char *eq = strchr(*env, '=');

        snprintf(name, sizeof(name), "%.*s", (int)(eq - *env), *env);
        setenv(name, eq + 1, 1);
    }
}

/* Start modeld with args (NULL-terminated) and the extra environment env,
 * its stdout on out_fd and stderr on err_fd; returns the child's pid. */
static pid_t start(const char *const *env, const char *const *args, int out_fd, int err_fd)
{
    const char *argv[40];
    size_t i;
    pid_t pid;

    argv[0] = bin();
    for (i = 0; args[i] && i < 38; i++)
        argv[i + 1] = args[i];
    argv[i + 1] = NULL;
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        apply_env(env);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/*
 * Run modeld with args (NULL-terminated) and the extra environment env;
 * stdout into out, stderr into err. Returns the exit status.
 */
static int run_env(const char *const *env, const char *const *args, char *out, size_t outlen,
                   char *err, size_t errlen)
{
    char opath[] = "/tmp/modeld-cliops-out-XXXXXX", epath[] = "/tmp/modeld-cliops-err-XXXXXX";
    int ofd = mkstemp(opath), efd = mkstemp(epath), status = 0;
    pid_t pid;
    char *o, *e;

    ck_assert(ofd >= 0 && efd >= 0);
    pid = start(env, args, ofd, efd);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    close(ofd);
    close(efd);
    o = slurp(opath);
    e = slurp(epath);
    unlink(opath);
    unlink(epath);
    snprintf(out, outlen, "%s", o);
    snprintf(err, errlen, "%s", e);
    free(o);
    free(e);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

#define RUN(env, ...) run_env((env), (const char *const[]){__VA_ARGS__, NULL}, out, sizeof(out), \
                              err, sizeof(err))

/* Write text to path. */
static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Start `modeld serve` with args and env, stdout and stderr into logpath. */
static pid_t spawn(const char *const *env, const char *const *args, const char *logpath)
{
    int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;

    ck_assert_int_ge(fd, 0);
    pid = start(env, args, fd, fd);
    close(fd);
    return pid;
}

/* SIGTERM and wait; asserts a clean exit. */
static void stop(pid_t pid, const char *logpath)
{
    int status = 0;

    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char *log = slurp(logpath);

        ck_abort_msg("serve exit status %d, log:\n%s", status, log);
    }
}

START_TEST(test_help_everywhere)
{
    static const char *const cmds[][2] = {
        {"serve", NULL},          {"migrate", NULL},   {"workspace", "create"},
        {"project", "create"},    {"user", "create"},  {"token", "create"},
        {"token", "revoke"},      {"member", "add"},   {"annotations", "import"},
        {"base", "create"},       {"backup", NULL}};
    char out[16384], err[4096], want[96];

    ck_assert_int_eq(RUN(NULL, "help"), 0);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        snprintf(want, sizeof(want), "  %s%s%s ", cmds[i][0], cmds[i][1] ? " " : "",
                 cmds[i][1] ? cmds[i][1] : "");
        ck_assert_msg(strstr(out, want), "'modeld help' does not list '%s':\n%s", want, out);
    }
    ck_assert_int_eq(RUN(NULL, "--help"), 0);
    ck_assert_ptr_nonnull(strstr(out, "backup"));
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        int rc = cmds[i][1] ? RUN(NULL, cmds[i][0], cmds[i][1], "--help")
                            : RUN(NULL, cmds[i][0], "--help");

        snprintf(want, sizeof(want), "usage: modeld %s%s%s", cmds[i][0], cmds[i][1] ? " " : "",
                 cmds[i][1] ? cmds[i][1] : "");
        ck_assert_msg(rc == 0 && strstr(out, want) && strstr(out, "--db FILE") &&
                          strstr(out, "--config FILE") && err[0] == '\0',
                      "%s --help: exit %d\n%s%s", want, rc, out, err);
    }
    /* serve's help names every variable */
    ck_assert_int_eq(RUN(NULL, "serve", "-h"), 0);
    ck_assert_ptr_nonnull(strstr(out, "[MODELD_HTTP_THREADS]"));
    ck_assert_ptr_nonnull(strstr(out, "--log-format FORMAT"));
    /* help COMMAND, help GROUP */
    ck_assert_int_eq(RUN(NULL, "help", "token", "create"), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: modeld token create"));
    ck_assert_int_eq(RUN(NULL, "help", "token"), 0);
    ck_assert_msg(strstr(out, "modeld token create") && strstr(out, "modeld token revoke"), "%s",
                  out);
    ck_assert_int_eq(RUN(NULL, "help", "frobnicate"), 2);
    ck_assert_ptr_nonnull(strstr(err, "unknown command 'frobnicate'"));
    /* no command at all: the list on stderr, exit 2 */
    ck_assert_int_eq(run_env(NULL, (const char *const[]){NULL}, out, sizeof(out), err,
                             sizeof(err)),
                     2);
    ck_assert_ptr_nonnull(strstr(err, "usage: modeld COMMAND"));
}
END_TEST

/* Errors name what the user gave: the option, the variable, or file:line: key. */
START_TEST(test_errors_name_the_input)
{
    struct tdbdir c;
    char out[4096], err[4096], conf[200], env_db[200], env_conf[220];

    tdbdir_init(&c);
    /* a database in a missing directory: that path, not a --data-dir never given */
    ck_assert_int_eq(RUN(NULL, "serve", "--db", "/nonexistent/dir/x.db"), 1);
    ck_assert_msg(strstr(err, "/nonexistent/dir") && strstr(err, "--db") &&
                      !strstr(err, "--data-dir /"),
                  "%s", err);
    ck_assert_int_eq(RUN(((const char *const[]){"MODELD_DB=/nonexistent/dir/y.db", NULL}), "serve"),
                     1);
    ck_assert_msg(strstr(err, "MODELD_DB") && strstr(err, "/nonexistent/dir/y.db"), "%s", err);
    /* an unknown option names itself and the command */
    ck_assert_int_eq(RUN(NULL, "serve", "--db", c.db, "--prot", "1"), 1);
    ck_assert_msg(strstr(err, "serve: unknown option '--prot'"), "%s", err);
    ck_assert_int_eq(RUN(NULL, "token", "create", "--db", c.db, "--user"), 1);
    ck_assert_msg(strstr(err, "token create: option --user needs a value"), "%s", err);
    /* a bad value from each source */
    ck_assert_int_eq(RUN(NULL, "serve", "--db", c.db, "--http-threads", "many"), 1);
    ck_assert_msg(strstr(err, "--http-threads must be 1..64, got 'many'"), "%s", err);
    ck_assert_int_eq(
        RUN(((const char *const[]){"MODELD_HTTP_THREADS=0", NULL}), "serve", "--db", c.db), 1);
    ck_assert_msg(strstr(err, "MODELD_HTTP_THREADS must be 1..64, got '0'"), "%s", err);
    snprintf(conf, sizeof(conf), "%s/modeld.conf", c.dir);
    put_file(conf, "# modeld\n\nport = 8080\nhttp-threads = lots\n");
    ck_assert_int_eq(RUN(NULL, "serve", "--db", c.db, "--config", conf), 1);
    ck_assert_msg(strstr(err, ":4: http-threads must be 1..64, got 'lots'") && strstr(err, conf),
                  "%s", err);
    put_file(conf, "db = x.db\n  prot = 1\n");
    ck_assert_int_eq(RUN(NULL, "migrate", "--config", conf), 1);
    ck_assert_msg(strstr(err, ":2: unknown key 'prot'") && strstr(err, conf), "%s", err);
    put_file(conf, "port 8080\n");
    ck_assert_int_eq(RUN(NULL, "serve", "--db", c.db, "--config", conf), 1);
    ck_assert_msg(strstr(err, ":1: expected 'key = value'"), "%s", err);
    put_file(conf, "port = 1\nport = 2\n");
    ck_assert_int_eq(RUN(NULL, "serve", "--db", c.db, "--config", conf), 1);
    ck_assert_msg(strstr(err, ":2: port is set twice (first on line 1)"), "%s", err);
    snprintf(env_conf, sizeof(env_conf), "MODELD_CONFIG=%s/missing.conf", c.dir);
    ck_assert_int_eq(RUN(((const char *const[]){env_conf, NULL}), "migrate", "--db", c.db), 1);
    ck_assert_msg(strstr(err, "missing.conf (MODELD_CONFIG)"), "%s", err);
    ck_assert_int_eq(RUN(NULL, "serve", "--db", c.db, "--log-format", "xml"), 1);
    ck_assert_msg(strstr(err, "--log-format must be text, logfmt or json, got 'xml'"), "%s", err);
    /* missing --db says where else it may come from */
    snprintf(env_db, sizeof(env_db), "MODELD_DB=");
    ck_assert_int_eq(RUN(((const char *const[]){env_db, NULL}), "migrate"), 1);
    ck_assert_msg(strstr(err, "missing --db (or MODELD_DB"), "%s", err);
    tdbdir_cleanup(&c);
}
END_TEST

/* 1 when a users row named name exists in the database at path. */
static int has_user(const char *path, const char *name)
{
    struct tserver fake;
    char sql[200];

    memset(&fake, 0, sizeof(fake));
    snprintf(fake.db_path, sizeof(fake.db_path), "%s", path);
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM users WHERE name = '%s'", name);
    return access(path, F_OK) == 0 && tsql_int(&fake, sql) == 1;
}

/* flag > environment > file > default, for --db (every command) and serve's options. */
START_TEST(test_config_precedence)
{
    struct tdbdir c;
    char out[4096], err[4096], conf[200], fdb[200], edb[200], gdb[200], env_db[220],
        env_conf[220], text[512], log[200], p1[16], p2[16], p3[16], env_port[40];
    char *logtext;
    pid_t pid;

    tdbdir_init(&c);
    snprintf(conf, sizeof(conf), "%s/modeld.conf", c.dir);
    snprintf(fdb, sizeof(fdb), "%s/file.db", c.dir);
    snprintf(edb, sizeof(edb), "%s/env.db", c.dir);
    snprintf(gdb, sizeof(gdb), "%s/flag.db", c.dir);
    snprintf(env_db, sizeof(env_db), "MODELD_DB=%s", edb);
    snprintf(env_conf, sizeof(env_conf), "MODELD_CONFIG=%s", conf);
    snprintf(p1, sizeof(p1), "%d", tfree_port());
    snprintf(text, sizeof(text),
             "# written by the test\n"
             "db = %s\n"
             "port = %s\n"
             "   log-format   =   json   \n"
             "workers = 1\n",
             fdb, p1);
    put_file(conf, text);
    /* file only (--config, then MODELD_CONFIG) */
    ck_assert_int_eq(RUN(NULL, "user", "create", "--config", conf, "--name", "a"), 0);
    ck_assert(has_user(fdb, "a"));
    ck_assert_int_eq(RUN(((const char *const[]){env_conf, NULL}), "user", "create", "--name", "b"),
                     0);
    ck_assert(has_user(fdb, "b"));
    /* environment over file */
    ck_assert_int_eq(
        RUN(((const char *const[]){env_conf, env_db, NULL}), "user", "create", "--name", "c"), 0);
    ck_assert(has_user(edb, "c") && !has_user(fdb, "c"));
    /* flag over both */
    ck_assert_int_eq(RUN(((const char *const[]){env_conf, env_db, NULL}), "user", "create", "--db",
                         gdb, "--name", "d"),
                     0);
    ck_assert(has_user(gdb, "d") && !has_user(edb, "d") && !has_user(fdb, "d"));
    /* an empty variable counts as unset */
    ck_assert_int_eq(RUN(((const char *const[]){env_conf, "MODELD_DB=", NULL}), "user", "create",
                         "--name", "e"),
                     0);
    ck_assert(has_user(fdb, "e"));

    /* serve: everything from the file: port p1, JSON logs */
    snprintf(log, sizeof(log), "%s/serve.log", c.dir);
    pid = spawn(NULL, (const char *const[]){"serve", "--config", conf, NULL}, log);
    ck_assert_msg(twait_health(atoi(p1)), "no daemon on the file's port");
    stop(pid, log);
    logtext = slurp(log);
    ck_assert_msg(logtext[0] == '{' && strstr(logtext, "\"level\":\"info\""), "%s", logtext);
    free(logtext);
    /* the environment's port over the file's; the file's log format stays */
    snprintf(p2, sizeof(p2), "%d", tfree_port());
    snprintf(env_port, sizeof(env_port), "MODELD_PORT=%s", p2);
    pid = spawn((const char *const[]){env_port, "MODELD_LOG_FORMAT=logfmt", NULL},
                (const char *const[]){"serve", "--config", conf, NULL}, log);
    ck_assert_msg(twait_health(atoi(p2)), "no daemon on the environment's port");
    stop(pid, log);
    logtext = slurp(log);
    ck_assert_msg(strncmp(logtext, "time=", 5) == 0 && strstr(logtext, "level=info"), "%s",
                  logtext);
    free(logtext);
    /* the flag's port over both */
    snprintf(p3, sizeof(p3), "%d", tfree_port());
    pid = spawn((const char *const[]){env_port, NULL},
                (const char *const[]){"serve", "--config", conf, "--port", p3, "--log-format",
                                      "text", NULL},
                log);
    ck_assert_msg(twait_health(atoi(p3)), "no daemon on the flag's port");
    stop(pid, log);
    logtext = slurp(log);
    ck_assert_msg(strstr(logtext, " info modeld listening on http://127.0.0.1:") &&
                      strstr(logtext, p3),
                  "%s", logtext);
    free(logtext);
    tdbdir_cleanup(&c);
}
END_TEST

/* Every line of text is a JSON object with time, level, msg; the request
 * line of GET path also has its request id, method, path and status. */
static void check_json_log(const char *text, const char *path)
{
    int requests = 0, lines = 0;
    char *copy = strdup(text), *line, *save = NULL;

    for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        const char *rid;

        ck_assert_msg(j && json_is_object(j), "not JSON: %s (%s)", line, je.text);
        ck_assert_msg(json_is_string(json_object_get(j, "time")) &&
                          json_is_string(json_object_get(j, "level")) &&
                          json_is_string(json_object_get(j, "msg")),
                      "%s", line);
        lines++;
        if ((rid = json_string_value(json_object_get(j, "request_id"))) &&
            json_is_string(json_object_get(j, "path")) &&
            strcmp(json_string_value(json_object_get(j, "path")), path) == 0) {
            ck_assert_uint_eq(strlen(rid), 8);
            ck_assert_str_eq(json_string_value(json_object_get(j, "method")), "GET");
            ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 404);
            ck_assert(json_is_number(json_object_get(j, "duration_ms")));
            requests++;
        }
        json_decref(j);
    }
    free(copy);
    ck_assert_int_ge(lines, 3);
    ck_assert_int_eq(requests, 1);
}

START_TEST(test_log_formats)
{
    struct tdbdir c;
    char log[200], port[16], data[200], *text;
    struct tserver ts;
    struct tresp r;
    pid_t pid;

    tdbdir_init(&c);
    snprintf(log, sizeof(log), "%s/serve.log", c.dir);
    snprintf(data, sizeof(data), "%s/data", c.dir); /* needed on PostgreSQL */
    /* json: a path with a quote, a backslash and an encoded line break stays one valid line */
    snprintf(port, sizeof(port), "%d", tfree_port());
    pid = spawn(NULL,
                (const char *const[]){"serve", "--db", c.db, "--port", port, "--workers", "1",
                                      "--log-format", "json", "--data-dir", data, NULL},
                log);
    ck_assert(twait_health(atoi(port)));
    memset(&ts, 0, sizeof(ts));
    ts.port = (uint16_t)atoi(port);
    thttp(&ts, "GET", "/no%22such%5C%0Aroute", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    tresp_release(&r);
    stop(pid, log);
    text = slurp(log);
    check_json_log(text, "/no\"such\\\\x0aroute");
    free(text);
    /* logfmt: the request id is a field */
    snprintf(port, sizeof(port), "%d", tfree_port());
    pid = spawn(NULL,
                (const char *const[]){"serve", "--db", c.db, "--port", port, "--workers", "1",
                                      "--log-format", "logfmt", "--data-dir", data, NULL},
                log);
    ck_assert(twait_health(atoi(port)));
    ts.port = (uint16_t)atoi(port);
    thttp(&ts, "GET", "/nothing-here", NULL, NULL, NULL, &r);
    tresp_release(&r);
    stop(pid, log);
    text = slurp(log);
    ck_assert_msg(strstr(text, " request_id=") && strstr(text, " method=GET path=/nothing-here "
                                                                "status=404 duration_ms="),
                  "%s", text);
    for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
        ck_assert_msg(strncmp(l, "time=", 5) == 0, "%s", l);
    free(text);
    tdbdir_cleanup(&c);
}
END_TEST

/* A labeling file of n CLASS documents with two learnable classes. */
static void write_docs(const char *path, int n)
{
    static const char *const good[] = {"great", "lovely", "excellent", "friendly", "tasty"};
    static const char *const bad[] = {"awful", "cold", "rude", "dirty", "slow"};
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < n; i++) {
        int pos = i % 2 == 0;
        const char *const *w = pos ? good : bad;

        fprintf(f, "{\"text\": \"the food was %s and the staff %s, visit %d\", \"class\": \"%s\"}\n",
                w[i % 5], w[(i / 2 + 1) % 5], i, pos ? "pos" : "neg");
    }
    ck_assert_int_eq(fclose(f), 0);
}

/* Workspace 1 with project 1 in the database at db. */
static void make_project(const char *db)
{
    char out[256], err[2048];

    ck_assert_int_eq(RUN(NULL, "workspace", "create", "--db", db, "--name", "W"), 0);
    ck_assert_int_eq(RUN(NULL, "project", "create", "--db", db, "--workspace", "1", "--name", "P"),
                     0);
}

/* On a terminal the import draws a progress bar on stderr; elsewhere it is silent. */
START_TEST(test_import_progress)
{
    struct tdbdir c;
    char out[4096], err[4096], file[200], got[16384];
    size_t n = 0;
    int master, slave, status = 0;
    pid_t pid;

    tdbdir_init(&c);
    snprintf(file, sizeof(file), "%s/docs.jsonl", c.dir);
    write_docs(file, 3000);
    make_project(c.db);
    /* not a terminal: nothing but the id */
    ck_assert_int_eq(RUN(NULL, "annotations", "import", "--db", c.db, "--project", "1", "--name",
                         "quiet", "--type", "CLASS", "--language", "en", file),
                     0);
    ck_assert_str_eq(err, "");
    ck_assert_str_eq(out, "1\n");
    /* a terminal on stderr */
    master = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    ck_assert_int_ge(slave, 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        dup2(null, 1);
        dup2(slave, 2);
        execl(bin(), bin(), "annotations", "import", "--db", c.db, "--project", "1", "--name",
              "loud", "--type", "CLASS", "--language", "en", file, (char *)NULL);
        _exit(127);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    close(slave);
    for (;;) { /* the pty keeps what was written; EIO once it is drained */
        ssize_t k = read(master, got + n, sizeof(got) - 1 - n);

        if (k <= 0)
            break;
        n += (size_t)k;
    }
    got[n] = '\0';
    close(master);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit %d: %s", status, got);
    ck_assert_msg(strstr(got, "parsing") && strstr(got, "storing") && strstr(got, "100%") &&
                      strstr(got, "3000 docs") && strstr(got, "docs/s") && strstr(got, "ETA"),
                  "progress: %s", got);
    tdbdir_cleanup(&c);
}
END_TEST

/* Copy file src to dst (creating dst's directories); 0 on success. */
static int copy_file(const char *src, const char *dst)
{
    char *dir = strdup(dst);
    FILE *in = fopen(src, "rb"), *out;
    char buf[65536];
    size_t k;

    for (char *p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) { /* mkdir -p */
        *p = '\0';
        mkdir(dir, 0750);
        *p = '/';
    }
    free(dir);
    out = fopen(dst, "wb");
    if (!in || !out)
        return -1;
    while ((k = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, k, out);
    fclose(in);
    return fclose(out);
}

/* The predictions of model 1 for a fixed text, as JSON text (caller frees). */
static char *predict(struct tserver *ts, const char *token)
{
    struct tresp r;
    char *s;

    tjson(ts, "POST", "/projects/1/models/1/predict", token,
          "{\"texts\": [\"the food was great and the staff friendly\"]}", &r);
    ck_assert_msg(r.status == 200, "predict: %ld %s", r.status, r.body);
    s = json_dumps(json_object_get(r.json, "predictions"), JSON_SORT_KEYS);
    tresp_release(&r);
    return s;
}

/*
 * Back up while the daemon serves (and a writer keeps writing), remove the
 * originals, restore as docs/OPERATIONS.md says (the copy in place of the
 * database, each artifact back where MANIFEST says it was), serve again:
 * the model is READY and predicts as before.
 */
START_TEST(test_backup_restore)
{
    struct tdbdir c;
    char out[4096], err[4096], file[200], tok[80], port[16], log[200], to[200], manifest[260],
        moved[200];
    char *before, *after, *mtext;
    struct tserver ts;
    struct tresp r;
    json_t *m;
    pid_t pid;

    if (tpg()) {
        tskip("cli_ops: backup copies the SQLite file; PostgreSQL is backed up with its own "
              "tools (docs/OPERATIONS.md)");
        return;
    }
    tdbdir_init(&c);
    snprintf(file, sizeof(file), "%s/docs.jsonl", c.dir);
    write_docs(file, 60);
    make_project(c.db);
    ck_assert_int_eq(RUN(NULL, "user", "create", "--db", c.db, "--name", "u"), 0);
    ck_assert_int_eq(RUN(NULL, "member", "add", "--db", c.db, "--project", "1", "--user", "1",
                         "--role", "OWNER"),
                     0);
    ck_assert_int_eq(RUN(NULL, "token", "create", "--db", c.db, "--user", "1"), 0);
    memcpy(tok, out, 64);
    tok[64] = '\0';
    ck_assert_int_eq(RUN(NULL, "annotations", "import", "--db", c.db, "--project", "1", "--name",
                         "s", "--type", "CLASS", "--language", "en", file),
                     0);
    snprintf(port, sizeof(port), "%d", tfree_port());
    snprintf(log, sizeof(log), "%s/serve.log", c.dir);
    pid = spawn(NULL, (const char *const[]){"serve", "--db", c.db, "--port", port, "--workers",
                                            "1", NULL},
                log);
    ck_assert(twait_health(atoi(port)));
    memset(&ts, 0, sizeof(ts));
    ts.port = (uint16_t)atoi(port);
    tjson(&ts, "POST", "/projects/1/models", tok,
          "{\"name\": \"m\", \"language\": \"en\", \"annotation_ids\": [1]}", &r);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    tresp_release(&r);
    m = twait_status(&ts, "/projects/1/models/1", tok, "READY FAILED", 120);
    ck_assert_str_eq(json_string_value(json_object_get(m, "status")), "READY");
    json_decref(m);
    before = predict(&ts, tok);
    /* the backup, while the daemon serves and a session is being created */
    tjson(&ts, "POST", "/projects/1/annotations", tok,
          "{\"name\": \"during\", \"type\": \"CLASS\", \"language\": \"en\"}", &r);
    ck_assert_int_eq(r.status, 201);
    tresp_release(&r);
    snprintf(to, sizeof(to), "%s/backup.db", c.dir);
    ck_assert_msg(RUN(NULL, "backup", "--db", c.db, "--to", to) == 0, "backup: %s", err);
    ck_assert_msg(strstr(out, "1 artifact in"), "%s", out);
    /* a second backup to the same name is refused, naming it */
    ck_assert_int_eq(RUN(NULL, "backup", "--db", c.db, "--to", to), 1);
    ck_assert_msg(strstr(err, to) && strstr(err, "exists"), "%s", err);
    ck_assert_int_eq(RUN(NULL, "backup", "--db", "/nonexistent/x.db", "--to", "/tmp/never.db"), 1);
    ck_assert_msg(strstr(err, "/nonexistent/x.db"), "%s", err);
    /* a PostgreSQL database is pg_dump's: said so, its password never printed */
    ck_assert_int_eq(RUN(NULL, "backup", "--db", "postgresql://u:s3cret@127.0.0.1:1/x", "--to",
                         "/tmp/never.db"),
                     1);
    ck_assert_msg(strstr(err, "pg_dump") && !strstr(err, "s3cret"), "%s", err);
    stop(pid, log);

    /* the originals are gone: database files and artifacts */
    snprintf(moved, sizeof(moved), "%s/artifacts", c.dir);
    {
        char gone[320];

        snprintf(gone, sizeof(gone), "%s/artifacts.gone", c.dir);
        ck_assert_int_eq(rename(moved, gone), 0);
        snprintf(gone, sizeof(gone), "%s-wal", c.db);
        unlink(gone);
        snprintf(gone, sizeof(gone), "%s-shm", c.db);
        unlink(gone);
        ck_assert_int_eq(unlink(c.db), 0);
    }
    /* restore: the copy as the database, each artifact back to its path */
    ck_assert_int_eq(copy_file(to, c.db), 0);
    snprintf(manifest, sizeof(manifest), "%s.artifacts/MANIFEST", to);
    mtext = slurp(manifest);
    {
        char *save = NULL, *line;
        int restored = 0;

        for (line = strtok_r(mtext, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char *tab = strchr(line, '\t'), src[300];

            ck_assert_ptr_nonnull(tab);
            *tab = '\0';
            snprintf(src, sizeof(src), "%s.artifacts/%s", to, line);
            ck_assert_int_eq(copy_file(src, tab + 1), 0);
            restored++;
        }
        ck_assert_int_eq(restored, 1);
    }
    free(mtext);
    /* serve from the restored copy */
    snprintf(port, sizeof(port), "%d", tfree_port());
    pid = spawn(NULL, (const char *const[]){"serve", "--db", c.db, "--port", port, "--workers",
                                            "1", NULL},
                log);
    ck_assert(twait_health(atoi(port)));
    ts.port = (uint16_t)atoi(port);
    m = twait_status(&ts, "/projects/1/models/1", tok, "READY", 10);
    json_decref(m);
    after = predict(&ts, tok);
    ck_assert_str_eq(after, before);
    thttp(&ts, "GET", "/projects/1/annotations/2", tok, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200); /* written before the backup: in it */
    tresp_release(&r);
    stop(pid, log);
    free(before);
    free(after);
    tdbdir_cleanup(&c);
}
END_TEST

Suite *cli_ops_suite(void)
{
    Suite *s = suite_create("cli_ops");
    TCase *tc = tcase_create("ops");

    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_help_everywhere);
    tcase_add_test(tc, test_errors_name_the_input);
    tcase_add_test(tc, test_config_precedence);
    tcase_add_test(tc, test_log_formats);
    tcase_add_test(tc, test_import_progress);
    tcase_add_test(tc, test_backup_restore);
    suite_add_tcase(s, tc);
    return s;
}
