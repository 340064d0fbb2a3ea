/* SPDX-License-Identifier: MIT */
/*
 * cli: argument parsing and the admin commands (see cli.h). Options are
 * `--name value`, `--name=value` or flags; anything unknown is an error.
 */
#include "cli.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "artifacts.h"
#include "db.h"
#include "ingest.h"
#include "log.h"
#include "server.h"
#include "trainer.h"
#include "util.h"
#include "validate.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define MAX_OPTS 12

struct opts {
    const char *keys[MAX_OPTS];
    const char *vals[MAX_OPTS];
    int n;
    const char *positional;
};

static const char usage[] =
    "usage:\n"
    "  modeld migrate   --db FILE\n"
    "  modeld workspace create --db FILE --name NAME\n"
    "  modeld project   create --db FILE --workspace ID --name NAME\n"
    "  modeld user      create --db FILE --name NAME [--read-only]\n"
    "  modeld token     create --db FILE --user ID [--expires-in SECONDS]\n"
    "  modeld token     revoke --db FILE --token TOKEN\n"
    "  modeld member    add    --db FILE --project ID --user ID --role "
    "VIEWER|ANNOTATOR|MANAGER|OWNER\n"
    "  modeld annotations import --db FILE --project ID --name NAME --type "
    "ABSA|CLASS|LABEL|CLASSLABEL --language en|de|ar FILE.jsonl\n"
    "  modeld base      create --db FILE --name NAME --language en|de|ar [--from-model ID]\n"
    "  modeld serve     --db FILE [--bind 127.0.0.1] [--port 8080] [--workers N] "
    "[--data-dir DIR]\n"
    "                   [--http-threads N] [--cors-origin ORIGIN|*] [--log-level info]\n"
    "                   [--shutdown-grace SECONDS] [--head-timeout SECONDS]\n"
    "                   [--body-timeout SECONDS]\n"
    "                   [--max-connections N] [--max-connections-per-ip N]\n"
    "                   [--metrics-token TOKEN] [--upload-budget MIB]\n"
    "                   [--tls-cert FILE --tls-key FILE] [--worker-nice 10]\n"
    "  modeld --version\n";

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
    va_list ap;

    fputs("modeld: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* Parse argv[from..] against the allowed options ("name" takes a value, "name!" is a flag). */
static int parse_opts(int argc, char **argv, int from, const char *const *allowed,
                      int positional, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = from; i < argc; i++) {
        const char *a = argv[i], *eq;
        char name[64];
        const char *const *p;
        int is_flag = 0;

        if (strncmp(a, "--", 2) != 0) {
            if (!positional || o->positional) {
                fail("unexpected argument '%s'", a);
                return -1;
            }
            o->positional = a;
            continue;
        }
        a += 2;
        eq = strchr(a, '=');
        snprintf(name, sizeof(name), "%.*s", (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
        for (p = allowed; *p; p++) {
            size_t len = strlen(*p);

            if ((*p)[len - 1] == '!' && strlen(name) == len - 1 && strncmp(*p, name, len - 1) == 0) {
                is_flag = 1;
                break;
            }
            if (strcmp(*p, name) == 0)
                break;
        }
        if (!*p) {
            fail("unknown option --%s", name);
            return -1;
        }
        if (o->n >= MAX_OPTS) {
            fail("too many options");
            return -1;
        }
        if (is_flag && eq) { /* --read-only=no must not silently mean "read-only" */
            fail("option --%s takes no value", name);
            return -1;
        }
        o->keys[o->n] = *p;
        if (is_flag) {
            o->vals[o->n++] = "1";
            continue;
        }
        if (eq) {
            o->vals[o->n++] = eq + 1;
        } else if (i + 1 < argc) {
            o->vals[o->n++] = argv[++i];
        } else {
            fail("option --%s needs a value", name);
            return -1;
        }
    }
    return 0;
}

static const char *opt(const struct opts *o, const char *key)
{
    for (int i = o->n - 1; i >= 0; i--)
        if (strcmp(o->keys[i], key) == 0)
            return o->vals[i];
    return NULL;
}

static const char *need(const struct opts *o, const char *key)
{
    const char *v = opt(o, key);

    if (!v || !*v)
        fail("missing --%s", key);
    return v && *v ? v : NULL;
}

static int need_id(const struct opts *o, const char *key, int64_t *out)
{
    const char *v = need(o, key);

    if (!v)
        return -1;
    if (util_parse_i64(v, 1, INT64_MAX, out) != 0) {
        fail("--%s must be a positive integer, got '%s'", key, v);
        return -1;
    }
    return 0;
}

static struct db *open_db(const struct opts *o)
{
    struct err err = {0};
    const char *path = need(o, "db");
    struct db *db;

    if (!path)
        return NULL;
    db = db_open(path, 1, &err);
    if (!db)
        fail("%s", err.msg);
    return db;
}

/* Print the id or report the error; returns the exit status. */
static int print_id(int64_t id, const struct err *err)
{
    if (id < 0)
        return fail("%s", err->msg);
    printf("%lld\n", (long long)id);
    return 0;
}

/* Word a storage error for the user: when err has code, its message becomes
 * fmt. Returns id (so a call can be wrapped). */
static int64_t worded(int64_t id, struct err *err, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int64_t worded(int64_t id, struct err *err, enum err_code code, const char *fmt, ...)
{
    va_list ap;

    if (id < 0 && err->code == code) {
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return id;
}

static int cmd_simple(const char *what, int argc, char **argv)
{
    static const char *const o_db[] = {"db", NULL};
    static const char *const o_ws[] = {"db", "name", NULL};
    static const char *const o_proj[] = {"db", "workspace", "name", NULL};
    static const char *const o_user[] = {"db", "name", "read-only!", NULL};
    static const char *const o_tok[] = {"db", "user", "expires-in", NULL};
    static const char *const o_rev[] = {"db", "token", NULL};
    static const char *const o_mem[] = {"db", "project", "user", "role", NULL};
    struct opts o;
    struct db *db = NULL;
    struct db_conn *c;
    struct err err = {0};
    int rc = 1;
    int64_t a = 0, b = 0;

#define PARSE(allowed)                                                                          \
    if (parse_opts(argc, argv, 0, allowed, 0, &o) != 0)                                        \
        return 1;
    if (strcmp(what, "migrate") == 0) {
        PARSE(o_db);
        if (!(db = open_db(&o)))
            return 1;
        printf("%d\n", db_schema_latest(db));
        db_close(db);
        return 0;
    }
    if (strcmp(what, "workspace create") == 0) {
        PARSE(o_ws);
        if (!need(&o, "name") || !(db = open_db(&o)))
            return 1;
        c = db_acquire(db);
        rc = print_id(db_workspace_create(c, opt(&o, "name"), &err), &err);
    } else if (strcmp(what, "project create") == 0) {
        PARSE(o_proj);
        if (need_id(&o, "workspace", &a) || !need(&o, "name") || !(db = open_db(&o)))
            return 1;
        c = db_acquire(db);
        rc = print_id(worded(db_project_create(c, a, opt(&o, "name"), &err), &err, ERR_NOT_FOUND,
                             "no workspace %lld", (long long)a),
                      &err);
    } else if (strcmp(what, "user create") == 0) {
        PARSE(o_user);
        if (!need(&o, "name") || !(db = open_db(&o)))
            return 1;
        c = db_acquire(db);
        rc = print_id(worded(db_user_create(c, opt(&o, "name"), opt(&o, "read-only!") != NULL, &err),
                             &err, ERR_CONFLICT, "a user named '%s' already exists", opt(&o, "name")),
                      &err);
    } else if (strcmp(what, "token create") == 0) {
        char token[65], hash[65];
        int64_t expires = 0;
        const char *e;

        PARSE(o_tok);
        if (need_id(&o, "user", &a))
            return 1;
        if ((e = opt(&o, "expires-in"))) {
            if (util_parse_i64(e, 1, INT64_MAX / 2, &b) != 0)
                return fail("--expires-in must be a positive number of seconds, got '%s'", e);
            expires = util_now_unix() + b;
        }
        if (!(db = open_db(&o)))
            return 1;
        util_random_hex(token, 32);
        util_hash_hex(token, hash);
        c = db_acquire(db);
        if (worded(db_token_create(c, a, hash, expires, &err), &err, ERR_NOT_FOUND,
                   "no user %lld", (long long)a) < 0) {
            rc = fail("%s", err.msg);
        } else {
            printf("%s\n", token);
            rc = 0;
        }
        sodium_memzero(token, sizeof(token));
    } else if (strcmp(what, "token revoke") == 0) {
        char hash[65];
        const char *t;

        PARSE(o_rev);
        if (!(t = need(&o, "token")) || !(db = open_db(&o)))
            return 1;
        util_hash_hex(t, hash);
        c = db_acquire(db);
        rc = print_id(worded(db_token_revoke(c, hash, &err), &err, ERR_NOT_FOUND,
                             "no such active token"),
                      &err);
    } else if (strcmp(what, "member add") == 0) {
        const char *role;
        enum role r;

        PARSE(o_mem);
        if (need_id(&o, "project", &a) || need_id(&o, "user", &b) || !(role = need(&o, "role")))
            return 1;
        if (domain_role_parse(role, &r) != 0)
            return fail("--role must be VIEWER, ANNOTATOR, MANAGER or OWNER, got '%s'", role);
        if (!(db = open_db(&o)))
            return 1;
        c = db_acquire(db);
        if (worded(db_member_add(c, a, b, r, &err), &err, ERR_NOT_FOUND,
                   "no project %lld or no user %lld", (long long)a, (long long)b) != 0) {
            rc = fail("%s", err.msg);
        } else {
            printf("%lld\n", (long long)b);
            rc = 0;
        }
    } else {
        fputs(usage, stderr);
        return 1;
    }
#undef PARSE
    db_release(db, c);
    db_close(db);
    return rc;
}

static int cmd_import(int argc, char **argv)
{
    static const char *const allowed[] = {"db", "project", "name", "type", "language", NULL};
    struct opts o;
    struct db *db = NULL;
    struct db_conn *c = NULL;
    struct ingest *in = NULL;
    struct err err = {0};
    json_t *errors = NULL;
    const char *name, *type, *lang;
    enum model_type t;
    enum language l;
    char buf[65536];
    int64_t project, id = -1;
    FILE *f = NULL;
    int rc = 1;
    size_t n;

    if (parse_opts(argc, argv, 0, allowed, 1, &o) != 0)
        return 1;
    if (need_id(&o, "project", &project) || !(name = need(&o, "name")) ||
        !(type = need(&o, "type")) || !(lang = need(&o, "language")))
        return 1;
    if (!validate_one_of(type, domain_annotation_type_names) || domain_type_parse(type, &t) != 0)
        return fail("--type must be ABSA, CLASS, LABEL or CLASSLABEL, got '%s'", type);
    if (domain_language_parse(lang, &l) != 0)
        return fail("--language must be en, de or ar, got '%s'", lang);
    if (!o.positional)
        return fail("missing the FILE.jsonl to import");
    f = strcmp(o.positional, "-") == 0 ? stdin : fopen(o.positional, "rb");
    if (!f)
        return fail("cannot open %s: %s", o.positional, strerror(errno));
    in = ingest_new(t);
    if (!in)
        goto out;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        ingest_feed(in, buf, n);
    if (ferror(f)) {
        fail("cannot read %s: %s", o.positional, strerror(errno));
        goto out;
    }
    if (ingest_finish(in, &errors) != 0) {
        size_t i;
        json_t *e;

        fail("%s: invalid documents, nothing imported:", o.positional);
        json_array_foreach(errors, i, e)
            fprintf(stderr, "  %s: %s\n", json_string_value(json_object_get(e, "field")),
                    json_string_value(json_object_get(e, "message")));
        goto out;
    }
    if (!(db = open_db(&o)))
        goto out;
    c = db_acquire(db);
    if (db_begin(c, &err) != 0)
        goto db_fail;
    id = db_annotation_create(c, project, name, t, l, 0, &err);
    if (id < 0) {
        if (err.code == ERR_INVALID)
            err_set(&err, ERR_NOT_FOUND, "no project %lld", (long long)project);
        goto db_fail;
    }
    if (db_documents_add(c, id, ingest_doc_at, in, ingest_count(in), &err) != 0)
        goto db_fail;
    if (db_commit(c, &err) != 0)
        goto db_fail;
    printf("%lld\n", (long long)id);
    rc = 0;
    goto out;
db_fail:
    db_rollback(c);
    fail("%s", err.msg);
out:
    if (c)
        db_release(db, c);
    db_close(db);
    json_decref(errors);
    ingest_free(in);
    if (f && f != stdin)
        fclose(f);
    return rc;
}

static int cmd_base(int argc, char **argv)
{
    static const char *const allowed[] = {"db", "name", "language", "from-model", NULL};
    struct opts o;
    struct db *db;
    struct db_conn *c;
    struct db_base src = {0};
    struct err err = {0};
    const char *name, *lang, *fm;
    enum language l;
    char uuid_str[37], dst[4200] = "";
    int64_t from = 0, id;
    uuid_t uu;

    if (parse_opts(argc, argv, 0, allowed, 0, &o) != 0)
        return 1;
    if (!(name = need(&o, "name")) || !(lang = need(&o, "language")))
        return 1;
    if (domain_language_parse(lang, &l) != 0)
        return fail("--language must be en, de or ar, got '%s'", lang);
    if ((fm = opt(&o, "from-model")) && util_parse_i64(fm, 1, INT64_MAX, &from) != 0)
        return fail("--from-model must be a model id, got '%s'", fm);
    if (!(db = open_db(&o)))
        return 1;
    c = db_acquire(db);
    uuid_generate_random(uu);
    uuid_unparse_lower(uu, uuid_str);
    if (from) {
        if (worded(db_model_base_info(c, from, &src, &err), &err, ERR_NOT_FOUND, "no model %lld",
                   (long long)from) != 0) {
            id = -1;
            goto done;
        }
        if (!src.artifact || !domain_status_trained(src.status)) {
            err_set(&err, ERR_INVALID, "model %lld is not trained (status %s)", (long long)from,
                    domain_status_name(src.status));
            id = -1;
            goto done;
        }
        if (src.language != l) {
            err_set(&err, ERR_INVALID, "model %lld is '%s', not '%s'", (long long)from,
                    domain_language_name(src.language), lang);
            id = -1;
            goto done;
        }
        artifacts_base_path(src.artifact, uuid_str, dst, sizeof(dst));
        if (predictor_copy_artifact(src.artifact, dst, &err) != 0) {
            id = -1;
            goto done;
        }
    }
    id = worded(db_base_create(c, uuid_str, name, l, from, from ? dst : NULL, &err), &err,
                ERR_CONFLICT, "a base model named '%s' already exists", name);
    if (id < 0 && dst[0])
        artifacts_remove(dst);
done:
    db_base_release(&src);
    db_release(db, c);
    db_close(db);
    return print_id(id, &err);
}

static int cmd_serve(int argc, char **argv)
{
    static const char *const allowed[] = {"db",          "bind",         "port",
                                          "workers",     "data-dir",     "http-threads",
                                          "cors-origin", "log-level",    "shutdown-grace",
                                          "head-timeout", "max-connections",
                                          "max-connections-per-ip", "metrics-token",
                                          "upload-budget", "tls-cert", "tls-key", "body-timeout",
                                          "worker-nice", NULL};
    struct app_config cfg = {0};
    struct opts o;
    struct server *srv;
    struct err err = {0};
    sigset_t set;
    int64_t v;
    int sig = 0;
    char *dbdir = NULL, data_dir[4200];
    const char *s;

    if (parse_opts(argc, argv, 0, allowed, 0, &o) != 0)
        return 1;
    if (!(cfg.db_path = need(&o, "db")))
        return 1;
    cfg.bind = opt(&o, "bind") ? opt(&o, "bind") : "127.0.0.1";
    cfg.port = 8080;
    if ((s = opt(&o, "port"))) {
        if (util_parse_i64(s, 0, 65535, &v) != 0)
            return fail("--port must be 0..65535, got '%s'", s);
        cfg.port = (int)v;
    }
    cfg.workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (cfg.workers < 1)
        cfg.workers = 1;
    if ((s = opt(&o, "workers"))) {
        if (util_parse_i64(s, 0, 64, &v) != 0) /* 0: API only, trains nothing */
            return fail("--workers must be 0..64, got '%s'", s);
        cfg.workers = (int)v;
    }
    if ((s = opt(&o, "worker-nice"))) {
        if (util_parse_i64(s, 0, 19, &v) != 0)
            return fail("--worker-nice must be 0..19, got '%s'", s);
        cfg.worker_nice = v > 0 ? (int)v : -1; /* app.h: 0 means the default */
    }
    cfg.http_threads = 4;
    if ((s = opt(&o, "http-threads"))) {
        if (util_parse_i64(s, 1, 64, &v) != 0)
            return fail("--http-threads must be 1..64, got '%s'", s);
        cfg.http_threads = (int)v;
    }
    if ((s = opt(&o, "head-timeout"))) {
        if (util_parse_i64(s, 1, 3600, &v) != 0)
            return fail("--head-timeout must be 1..3600 seconds, got '%s'", s);
        cfg.head_timeout = (double)v;
    }
    if ((s = opt(&o, "body-timeout"))) {
        if (util_parse_i64(s, 1, 3600, &v) != 0)
            return fail("--body-timeout must be 1..3600 seconds, got '%s'", s);
        cfg.body_timeout = (double)v;
    }
    if ((s = opt(&o, "max-connections"))) {
        if (util_parse_i64(s, 1, 1000000, &v) != 0)
            return fail("--max-connections must be 1..1000000, got '%s'", s);
        cfg.max_connections = (int)v;
    }
    if ((s = opt(&o, "max-connections-per-ip"))) {
        if (util_parse_i64(s, 1, 1000000, &v) != 0)
            return fail("--max-connections-per-ip must be 1..1000000, got '%s'", s);
        cfg.max_connections_per_ip = (int)v;
    }
    {
        /* every connection and event stream is a descriptor: take what the
         * hard limit allows */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
                LOG_WARN("cannot raise the open-file limit: %s", strerror(errno));
        }
    }
    cfg.tls_cert = opt(&o, "tls-cert");
    cfg.tls_key = opt(&o, "tls-key");
    if (!cfg.tls_cert != !cfg.tls_key)
        return fail("--tls-cert and --tls-key go together");
    if ((s = opt(&o, "upload-budget"))) {
        if (util_parse_i64(s, 1, 65536, &v) != 0)
            return fail("--upload-budget must be 1..65536 MiB, got '%s'", s);
        cfg.upload_budget_mib = (int)v;
    }
    if ((s = opt(&o, "metrics-token"))) {
        if (strlen(s) < 16 || strpbrk(s, " \t\r\n"))
            return fail("--metrics-token must be at least 16 characters without white space");
        cfg.metrics_token = s;
    }
    if ((s = opt(&o, "shutdown-grace"))) {
        if (util_parse_i64(s, 0, 3600, &v) != 0)
            return fail("--shutdown-grace must be 0..3600 seconds, got '%s'", s);
        cfg.shutdown_grace = v > 0 ? (double)v : 0.001;
    }
    if ((s = opt(&o, "log-level"))) {
        static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
        int l = 0;

        while (levels[l] && strcmp(levels[l], s) != 0)
            l++;
        if (!levels[l])
            return fail("--log-level must be debug, info, warn or error, got '%s'", s);
        log_init((enum log_level)l);
    }
    if ((s = opt(&o, "cors-origin"))) {
        if (strcmp(s, "*") != 0 && strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
            return fail("--cors-origin must be * or an origin like https://app.example.com, got "
                        "'%s'", s);
        if (strpbrk(s, "\r\n,; "))
            return fail("--cors-origin must be a single origin, got '%s'", s);
        cfg.cors_origin = s;
    }
    if ((s = opt(&o, "data-dir"))) {
        cfg.data_dir = s;
    } else {
        dbdir = strdup(cfg.db_path);
        snprintf(data_dir, sizeof(data_dir), "%s/artifacts", dbdir ? dirname(dbdir) : ".");
        free(dbdir);
        cfg.data_dir = data_dir;
    }
    if (mkdir(cfg.data_dir, 0750) != 0 && errno != EEXIST)
        return fail("cannot create --data-dir %s: %s", cfg.data_dir, strerror(errno));
    /* Block the stop signals in every thread; the main thread waits for them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    srv = server_start(&cfg, &err);
    if (!srv)
        return fail("%s", err.msg);
    LOG_INFO("modeld listening on %s://%s:%u (workers=%d, data-dir=%s)",
             cfg.tls_cert ? "https" : "http", cfg.bind, (unsigned)server_port(srv), cfg.workers,
             cfg.data_dir);
    sigwait(&set, &sig);
    LOG_INFO("signal %d: shutting down", sig);
    server_stop(srv);
    LOG_INFO("stopped");
    return 0;
}

int cli_main(int argc, char **argv)
{
    if (sodium_init() < 0)
        return fail("libsodium failed to initialize");
    log_init(LOG_LEVEL_INFO);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("modeld %s\n", MODELD_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "migrate") == 0)
        return cmd_simple("migrate", argc - 2, argv + 2);
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 2, argv + 2);
    if (argc < 3) {
        fputs(usage, stderr);
        return 1;
    }
    if (strcmp(argv[1], "annotations") == 0 && strcmp(argv[2], "import") == 0)
        return cmd_import(argc - 3, argv + 3);
    if (strcmp(argv[1], "base") == 0 && strcmp(argv[2], "create") == 0)
        return cmd_base(argc - 3, argv + 3);
    {
        char what[64];

        snprintf(what, sizeof(what), "%s %s", argv[1], argv[2]);
        return cmd_simple(what, argc - 3, argv + 3);
    }
}
