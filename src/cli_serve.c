/* SPDX-License-Identifier: MIT */
/*
 * cli_serve: `modeld serve`. Turns the options (flag, environment, config
 * file or default; see cli_cmd.h) into a struct app_config, checking each
 * value and naming where a bad one came from, then starts the server and
 * waits in sigwait for SIGINT or SIGTERM.
 */
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "cli_cmd.h"
#include "db.h"
#include "log.h"
#include "server.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* Option name as an int in [lo, hi] into *out when given; 0, or -1 after a message. */
static int int_opt(const struct cli_run *r, const char *name, int64_t lo, int64_t hi,
                   const char *must, int *out)
{
    int64_t v;
    int got = cli_int(r, name, lo, hi, must, &v);

    if (got > 0)
        *out = (int)v;
    return got < 0 ? -1 : 0;
}

/* A seconds option into *out (a double) when given; 0, or -1 after a message. */
static int secs_opt(const struct cli_run *r, const char *name, int64_t lo, const char *must,
                    double *out)
{
    int v = -1;

    if (int_opt(r, name, lo, 3600, must, &v) != 0)
        return -1;
    if (v >= 0)
        *out = (double)v;
    return 0;
}

/*
 * The CORS allow-list of --cors-origin (given several times, or as a
 * comma-separated list in the environment or the config file) into out, as
 * the comma-separated list without spaces that http_ matches an Origin
 * header against. Each entry is * or an origin: http:// or https://, a host
 * and an optional port, nothing after (no path, no trailing slash). 0, or
 * CLI_FAIL after a message naming the entry.
 */
static int cors_list(const struct cli_run *r, char *out, size_t cap)
{
    const char *p = cli_get(r, "cors-origin");
    size_t o = 0;

    while (*p) {
        size_t n = strcspn(p, ","), skip;
        const char *e = p, *host;
        char where[300];

        while (n > 0 && (*e == ' ' || *e == '\t')) {
            e++;
            n--;
        }
        while (n > 0 && (e[n - 1] == ' ' || e[n - 1] == '\t'))
            n--;
        host = n > 8 && strncmp(e, "https://", 8) == 0   ? e + 8
               : n > 7 && strncmp(e, "http://", 7) == 0 ? e + 7
                                                          : NULL;
        skip = host ? (size_t)(host - e) : 0;
        if (!(n == 1 && *e == '*') &&
            (!host || strcspn(host, "/?#@ \t\r\n,;") < n - skip || host[0] == ':'))
            return cli_fail("%s: '%.*s' must be * or an origin like https://app.example.com "
                            "(scheme, host and optional port, no path)",
                            cli_where(r, "cors-origin", where, sizeof(where)), (int)n, e);
        if (o + n + 2 > cap)
            return cli_fail("%s: the list is longer than %zu bytes",
                            cli_where(r, "cors-origin", where, sizeof(where)), cap - 1);
        if (o > 0)
            out[o++] = ',';
        memcpy(out + o, e, n);
        o += n;
        p = e + n + strcspn(e + n, ",");
        p += *p == ',';
    }
    out[o] = '\0';
    if (o == 0)
        return cli_bad(r, "cors-origin", "* or a list of origins");
    return 0;
}

/* Every open connection and event stream is a descriptor: take what the hard limit allows. */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            LOG_WARN("cannot raise the open-file limit: %s", strerror(errno));
    }
}

/*
 * The artifact directory: --data-dir as given, else <db dir>/artifacts for
 * a SQLite file (a PostgreSQL database has no directory: --data-dir is
 * required). When the database's own directory is missing, that is what is
 * reported (naming --db as the user gave it), not the derived directory.
 */
static int data_dir(const struct cli_run *r, char *buf, size_t len, const char **out)
{
    char where[300], *dup;
    const char *dir, *db = cli_get(r, "db");
    struct stat st;
    int rc = 0;

    if ((*out = cli_get(r, "data-dir"))) {
        if (mkdir(*out, 0750) != 0 && errno != EEXIST)
            return cli_fail("cannot create the artifact directory %s: %s",
                            cli_where(r, "data-dir", where, sizeof(where)), strerror(errno));
        return 0;
    }
    if (db_is_postgres(db)) /* no file, no directory to put them beside */
        return cli_fail("--data-dir is needed with a PostgreSQL database: each daemon keeps its "
                        "artifact files there");
    if (!(dup = strdup(db)))
        return cli_fail("out of memory");
    dir = dirname(dup);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = cli_fail("%s %s: its directory %s %s", cli_where(r, "db", where, sizeof(where)), db,
                      dir, errno == ENOENT ? "does not exist" : "is not a directory");
    } else {
        snprintf(buf, len, "%s/artifacts", dir);
        *out = buf;
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            rc = cli_fail("cannot create the artifact directory %s (the default beside %s %s; "
                          "set --data-dir): %s",
                          buf, cli_where(r, "db", where, sizeof(where)), db, strerror(errno));
    }
    free(dup);
    return rc;
}

int cli_cmd_serve(struct cli_run *r)
{
    struct app_config cfg = {0};
    struct server *srv;
    struct err err = {0};
    enum log_level level = LOG_LEVEL_INFO;
    enum log_format format = LOG_FORMAT_TEXT;
    char dd[4200], cors[4096];
    sigset_t set;
    const char *s;
    int sig = 0, grace = -1, nice = -1;

    cfg.db_path = cli_get(r, "db");
    cfg.bind = cli_get(r, "bind") ? cli_get(r, "bind") : "127.0.0.1";
    cfg.port = 8080;
    cfg.workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (cfg.workers < 1)
        cfg.workers = 1;
    cfg.http_threads = 32; /* enough to fill a commit batch (README: the writer) */
    if (int_opt(r, "port", 0, 65535, "0..65535", &cfg.port) != 0 ||
        int_opt(r, "workers", 0, 64, "0..64 (0: API only, trains nothing)", &cfg.workers) != 0 ||
        int_opt(r, "worker-nice", 0, 19, "0..19", &nice) != 0 ||
        int_opt(r, "http-threads", 1, 64, "1..64", &cfg.http_threads) != 0 ||
        secs_opt(r, "head-timeout", 1, "1..3600 seconds", &cfg.head_timeout) != 0 ||
        secs_opt(r, "body-timeout", 1, "1..3600 seconds", &cfg.body_timeout) != 0 ||
        int_opt(r, "max-connections", 1, 1000000, "1..1000000", &cfg.max_connections) != 0 ||
        int_opt(r, "max-connections-per-ip", 1, 1000000, "1..1000000",
                &cfg.max_connections_per_ip) != 0 ||
        int_opt(r, "upload-budget", 1, 65536, "1..65536 MiB", &cfg.upload_budget_mib) != 0 ||
        int_opt(r, "shutdown-grace", 0, 3600, "0..3600 seconds", &grace) != 0 ||
        int_opt(r, "lease", 1, 3600, "1..3600 seconds", &cfg.lease_s) != 0 ||
        int_opt(r, "max-attempts", 1, 100, "1..100", &cfg.max_attempts) != 0)
        return CLI_FAIL;
    if (nice >= 0)
        cfg.worker_nice = nice > 0 ? nice : -1; /* app.h: 0 means the default */
    if (grace >= 0)
        cfg.shutdown_grace = grace > 0 ? (double)grace : 0.001;
    cfg.tls_cert = cli_get(r, "tls-cert");
    cfg.tls_key = cli_get(r, "tls-key");
    if (!cfg.tls_cert != !cfg.tls_key)
        return cli_fail("--tls-cert and --tls-key go together (only %s was given)",
                        cfg.tls_cert ? "the certificate" : "the key");
    if ((s = cli_get(r, "metrics-token"))) {
        if (strlen(s) < 16 || strpbrk(s, " \t\r\n")) {
            char where[300];

            return cli_fail("%s must be at least 16 characters without white space",
                            cli_where(r, "metrics-token", where, sizeof(where)));
        }
        cfg.metrics_token = s;
    }
    if ((s = cli_get(r, "log-level")) && log_level_parse(s, &level) != 0)
        return cli_bad(r, "log-level", "debug, info, warn or error");
    if ((s = cli_get(r, "log-format")) && log_format_parse(s, &format) != 0)
        return cli_bad(r, "log-format", "text, logfmt or json");
    log_init(level);
    log_set_format(format);
    if (cli_get(r, "cors-origin")) {
        if (cors_list(r, cors, sizeof(cors)) != 0)
            return CLI_FAIL;
        cfg.cors_origin = cors;
    }
    if (int_opt(r, "session-ttl", 60, 2592000, "60..2592000 seconds", &cfg.session_ttl) != 0)
        return CLI_FAIL;
    raise_nofile();
    if (data_dir(r, dd, sizeof(dd), &cfg.data_dir) != 0)
        return CLI_FAIL;
    /* Block the stop signals in every thread; the main thread waits for them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    srv = server_start(&cfg, &err);
    if (!srv)
        return cli_fail("%s", err.msg);
    LOG_INFO("modeld listening on %s://%s:%u (workers=%d, data-dir=%s)",
             cfg.tls_cert ? "https" : "http", cfg.bind, (unsigned)server_port(srv), cfg.workers,
             cfg.data_dir);
    sigwait(&set, &sig);
    LOG_INFO("signal %d: shutting down", sig);
    server_stop(srv);
    LOG_INFO("stopped");
    return CLI_OK;
}
