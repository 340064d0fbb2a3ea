/* SPDX-License-Identifier: MIT */
/*
 * cli_admin: the admin commands of the command line (migrate, workspace,
 * project, user, token, member, base, backup). Each one opens the database
 * (applying pending migrations), prints only the new (or affected) id or
 * token on stdout, or a listing (a table on a terminal, else tab-separated
 * values with a header line, or JSON: --format), and reports an error on
 * stderr with exit status 1. The options are parsed
 * and the required ones checked before these run (cli.c).
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <uuid/uuid.h>

#include "artifacts.h"
#include "cli_cmd.h"
#include "db.h"
#include "predictor.h"
#include "util.h"
#include "validate.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* Print the id or report the error; returns the exit status. */
static int print_id(int64_t id, const struct err *err)
{
    if (id < 0)
        return cli_fail("%s", err->msg);
    printf("%lld\n", (long long)id);
    return CLI_OK;
}

/* Word a storage error for the user: when err has code, its message becomes
 * fmt (storage words no message for users). Returns id, so a call can be wrapped. */
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

/* Open the database and take a connection; NULL after a message. */
static struct db_conn *open_conn(const struct cli_run *r, struct db **db)
{
    *db = cli_open_db(r);
    return *db ? db_acquire(*db) : NULL;
}

static void close_conn(struct db *db, struct db_conn *c)
{
    db_release(db, c);
    db_close(db);
}

/* One storage operation of a command: the new (or affected) id, or -1 with err set. */
typedef int64_t (*id_op)(struct db_conn *c, const struct cli_run *r, const int64_t *ids,
                         struct err *err);

/* Open the database, run op with the ids the command parsed, print its id; the exit status. */
static int run_id_op(const struct cli_run *r, id_op op, const int64_t *ids)
{
    struct err err = {0};
    struct db *db;
    struct db_conn *c = open_conn(r, &db);
    int rc;

    if (!c)
        return CLI_FAIL;
    rc = print_id(op(c, r, ids, &err), &err);
    close_conn(db, c);
    return rc;
}

int cli_cmd_migrate(struct cli_run *r)
{
    struct db *db = cli_open_db(r);

    if (!db)
        return CLI_FAIL;
    printf("%d\n", db_schema_latest(db));
    db_close(db);
    return CLI_OK;
}

static int64_t op_workspace(struct db_conn *c, const struct cli_run *r, const int64_t *ids,
                            struct err *err)
{
    (void)ids;
    return db_workspace_create(c, cli_get(r, "name"), err);
}

int cli_cmd_workspace_create(struct cli_run *r)
{
    return run_id_op(r, op_workspace, NULL);
}

static int64_t op_project(struct db_conn *c, const struct cli_run *r, const int64_t *ids,
                          struct err *err)
{
    return worded(db_project_create(c, ids[0], cli_get(r, "name"), err), err, ERR_NOT_FOUND,
                  "no workspace %lld", (long long)ids[0]);
}

int cli_cmd_project_create(struct cli_run *r)
{
    int64_t ws;

    if (cli_need_id(r, "workspace", &ws) != 0)
        return CLI_FAIL;
    return run_id_op(r, op_project, &ws);
}

static int64_t op_user(struct db_conn *c, const struct cli_run *r, const int64_t *ids,
                       struct err *err)
{
    (void)ids;
    return worded(db_user_create(c, cli_get(r, "name"), cli_get(r, "read-only") != NULL, err), err,
                  ERR_CONFLICT, "a user named '%s' already exists", cli_get(r, "name"));
}

int cli_cmd_user_create(struct cli_run *r)
{
    return run_id_op(r, op_user, NULL);
}

int cli_cmd_token_create(struct cli_run *r)
{
    struct err err = {0};
    struct db *db;
    struct db_conn *c;
    char token[65], hash[65];
    int64_t user, secs = 0, expires = 0;
    int rc = CLI_FAIL;

    if (cli_need_id(r, "user", &user) != 0 ||
        cli_int(r, "expires-in", 1, INT64_MAX / 2, "a positive number of seconds", &secs) < 0)
        return CLI_FAIL;
    if (secs)
        expires = util_now_unix() + secs;
    if (!(c = open_conn(r, &db)))
        return CLI_FAIL;
    util_random_hex(token, 32);
    util_hash_hex(token, hash);
    if (worded(db_token_create(c, user, hash, expires, &err), &err, ERR_NOT_FOUND, "no user %lld",
               (long long)user) < 0) {
        cli_fail("%s", err.msg);
    } else {
        printf("%s\n", token);
        rc = CLI_OK;
    }
    sodium_memzero(token, sizeof(token));
    close_conn(db, c);
    return rc;
}

/* token revoke: exactly one of --token, --id and --user. */
int cli_cmd_token_revoke(struct cli_run *r)
{
    const char *token = cli_get(r, "token");
    struct err err = {0};
    struct db *db;
    struct db_conn *c;
    int64_t id = 0, user = 0, n;
    char hash[65];
    int given = (token != NULL) + (cli_get(r, "id") != NULL) + (cli_get(r, "user") != NULL);

    if (given != 1)
        return cli_fail("token revoke: give one of --token TOKEN, --id ID or --user ID (%s)",
                        given ? "several were given" : "none was given");
    if (cli_int(r, "id", 1, INT64_MAX, "a positive integer", &id) < 0 ||
        cli_int(r, "user", 1, INT64_MAX, "a positive integer", &user) < 0)
        return CLI_FAIL;
    if (!(c = open_conn(r, &db)))
        return CLI_FAIL;
    if (token) {
        util_hash_hex(token, hash);
        n = worded(db_token_revoke(c, hash, &err), &err, ERR_NOT_FOUND, "no such active token");
    } else if (id) {
        n = worded(db_token_revoke_id(c, id, &err), &err, ERR_NOT_FOUND,
                   "no active token %lld (token list shows them)", (long long)id);
    } else {
        n = worded(db_token_revoke_user(c, user, &err), &err, ERR_NOT_FOUND, "no user %lld",
                   (long long)user);
    }
    close_conn(db, c);
    return print_id(n, &err);
}

/* member add / set-role / remove: parse --project, --user (and --role) into
 * ids and *role; 0, or -1 after a message. */
static int member_args(const struct cli_run *r, int64_t ids[2], enum role *role)
{
    if (cli_need_id(r, "project", &ids[0]) != 0 || cli_need_id(r, "user", &ids[1]) != 0)
        return -1;
    if (role && domain_role_parse(cli_get(r, "role"), role) != 0) {
        cli_bad(r, "role", "VIEWER, ANNOTATOR, MANAGER or OWNER");
        return -1;
    }
    return 0;
}

/* Word a refused membership change for the user; the exit status. */
static int member_fail(const struct err *err, const struct db_member_change *ch,
                       const int64_t ids[2], const char *verb)
{
    if (err->code == ERR_CONFLICT && ch->last_owner)
        return cli_fail("user %lld is the last OWNER of project %lld: make another member "
                        "OWNER first (member set-role), then %s",
                        (long long)ids[1], (long long)ids[0], verb);
    if (err->code == ERR_CONFLICT)
        return cli_fail("user %lld is already a member of project %lld (role %s); change the "
                        "role with: modeld member set-role --project %lld --user %lld "
                        "--role ROLE",
                        (long long)ids[1], (long long)ids[0], domain_role_name(ch->was),
                        (long long)ids[0], (long long)ids[1]);
    if (err->code == ERR_NOT_FOUND && ch->was == ROLE_NONE && strstr(err->msg, "membership"))
        return cli_fail("user %lld is not a member of project %lld", (long long)ids[1],
                        (long long)ids[0]);
    if (err->code == ERR_NOT_FOUND)
        return cli_fail("no project %lld or no user %lld", (long long)ids[0], (long long)ids[1]);
    return cli_fail("%s", err->msg);
}

/* Run a membership change (remove when !set); the exit status. */
static int member_change(struct cli_run *r, int set, enum db_member_mode mode, const char *verb)
{
    struct db_member_change ch = {ROLE_NONE, 0};
    struct err err = {0};
    struct db *db;
    struct db_conn *c;
    enum role role = ROLE_NONE;
    int64_t ids[2];
    int rc;

    if (member_args(r, ids, set ? &role : NULL) != 0)
        return CLI_FAIL;
    if (!(c = open_conn(r, &db)))
        return CLI_FAIL;
    rc = set ? db_member_set(c, ids[0], ids[1], role, mode, &ch, &err)
             : db_member_remove(c, ids[0], ids[1], &ch, &err);
    close_conn(db, c);
    if (rc != 0)
        return member_fail(&err, &ch, ids, verb);
    printf("%lld\n", (long long)ids[1]);
    return CLI_OK;
}

int cli_cmd_member_add(struct cli_run *r)
{
    return member_change(r, 1, DB_MEMBER_ADD, "add");
}

int cli_cmd_member_set_role(struct cli_run *r)
{
    return member_change(r, 1, DB_MEMBER_CHANGE, "change this role");
}

int cli_cmd_member_remove(struct cli_run *r)
{
    return member_change(r, 0, DB_MEMBER_CHANGE, "remove this member");
}

static int user_flag(struct cli_run *r, int disabled)
{
    struct err err = {0};
    struct db *db;
    struct db_conn *c;
    int64_t user;
    int rc;

    if (cli_need_id(r, "user", &user) != 0 || !(c = open_conn(r, &db)))
        return CLI_FAIL;
    rc = db_user_set_disabled(c, user, disabled, &err);
    close_conn(db, c);
    return print_id(worded(rc == 0 ? user : -1, &err, ERR_NOT_FOUND, "no user %lld",
                           (long long)user),
                    &err);
}

int cli_cmd_user_disable(struct cli_run *r)
{
    return user_flag(r, 1);
}

int cli_cmd_user_enable(struct cli_run *r)
{
    return user_flag(r, 0);
}

/* ---- listings ------------------------------------------------------------------------- */

enum list_format { LIST_TABLE, LIST_TSV, LIST_JSON };

/* --format, or table on a terminal and tsv otherwise; -1 after a message. */
static int list_format(const struct cli_run *r, enum list_format *out)
{
    const char *f = cli_get(r, "format");

    if (!f)
        *out = isatty(STDOUT_FILENO) ? LIST_TABLE : LIST_TSV;
    else if (strcmp(f, "table") == 0)
        *out = LIST_TABLE;
    else if (strcmp(f, "tsv") == 0)
        *out = LIST_TSV;
    else if (strcmp(f, "json") == 0)
        *out = LIST_JSON;
    else {
        cli_bad(r, "format", "table, tsv or json");
        return -1;
    }
    return 0;
}

/* A cell of a row as text: integers in decimal, booleans as true/false, null
 * as "-" in a table and empty in tsv; tabs and line breaks become spaces (so
 * a tsv row stays one line). Into buf. */
static const char *cell(const json_t *v, enum list_format f, char *buf, size_t len)
{
    if (json_is_integer(v))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else
        snprintf(buf, len, "%s", f == LIST_TABLE ? "-" : "");
    for (char *p = buf; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r')
            *p = ' ';
    return buf;
}

/*
 * Print rows (a JSON array of objects with the keys cols, NULL-terminated):
 * json prints the array; tsv a header line and one line per row, separated
 * by tabs; table the same aligned in columns. Takes rows. The exit status.
 */
static int print_rows(json_t *rows, const char *const *cols, enum list_format f)
{
    size_t ncols = 0, width[16] = {0}, i;
    json_t *row;
    char buf[512];

    if (!rows)
        return cli_fail("out of memory");
    if (f == LIST_JSON) {
        json_dumpf(rows, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(rows);
        return CLI_OK;
    }
    while (cols[ncols])
        ncols++;
    assert(ncols <= 16);
    for (size_t c = 0; c < ncols; c++)
        width[c] = strlen(cols[c]);
    json_array_foreach(rows, i, row)
        for (size_t c = 0; c < ncols; c++) {
            size_t w = util_utf8_chars(cell(json_object_get(row, cols[c]), f, buf, sizeof(buf)));

            if (w > width[c])
                width[c] = w;
        }
    for (size_t c = 0; c < ncols; c++)
        printf("%s%-*s", c ? (f == LIST_TSV ? "\t" : "  ") : "",
               f == LIST_TABLE && c + 1 < ncols ? (int)width[c] : 0, cols[c]);
    putchar('\n');
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < ncols; c++) {
            const char *t = cell(json_object_get(row, cols[c]), f, buf, sizeof(buf));
            size_t pad = f == LIST_TABLE && c + 1 < ncols ? width[c] - util_utf8_chars(t) : 0;

            printf("%s%s%*s", c ? (f == LIST_TSV ? "\t" : "  ") : "", t, (int)pad, "");
        }
        putchar('\n');
    }
    json_decref(rows);
    return fflush(stdout) == 0 ? CLI_OK : cli_fail("cannot write the listing: %s", strerror(errno));
}

/* Unix seconds as RFC 3339 UTC (JSON string), 0 as null. */
static json_t *unix_time(int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;

    if (!t || !gmtime_r(&tt, &tm))
        return json_null();
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

/* A text or null. */
static json_t *opt_string(const char *s)
{
    return s ? json_string(s) : json_null();
}

int cli_cmd_user_list(struct cli_run *r)
{
    static const char *const cols[] = {"id", "name", "read_only", "disabled", "created", NULL};
    struct err err = {0};
    struct db_user *u = NULL;
    struct db *db;
    struct db_conn *c;
    enum list_format f;
    json_t *rows;
    size_t n = 0;
    int rc;

    if (list_format(r, &f) != 0 || !(c = open_conn(r, &db)))
        return CLI_FAIL;
    rc = db_user_list(c, &u, &n, &err);
    close_conn(db, c);
    if (rc != 0)
        return cli_fail("%s", err.msg);
    rows = json_array();
    for (size_t i = 0; rows && i < n; i++)
        json_array_append_new(rows, json_pack("{s:I, s:s, s:b, s:b, s:s}", "id",
                                              (json_int_t)u[i].id, "name", u[i].name, "read_only",
                                              u[i].read_only, "disabled", u[i].disabled,
                                              "created", u[i].created));
    db_users_release(u, n);
    return print_rows(rows, cols, f);
}

int cli_cmd_token_list(struct cli_run *r)
{
    static const char *const cols[] = {"id",      "user_id",   "user",    "created",
                                       "expires", "last_used", "revoked", NULL};
    struct err err = {0};
    struct db_token *t = NULL;
    struct db *db;
    struct db_conn *c;
    enum list_format f;
    int64_t user = 0;
    json_t *rows;
    size_t n = 0;
    int rc;

    if (list_format(r, &f) != 0 ||
        cli_int(r, "user", 1, INT64_MAX, "a positive integer", &user) < 0 ||
        !(c = open_conn(r, &db)))
        return CLI_FAIL;
    rc = db_token_list(c, user, &t, &n, &err);
    close_conn(db, c);
    if (rc != 0)
        return cli_fail("%s", err.msg);
    rows = json_array();
    for (size_t i = 0; rows && i < n; i++)
        json_array_append_new(
            rows, json_pack("{s:I, s:I, s:s, s:s, s:o, s:o, s:o}", "id", (json_int_t)t[i].id,
                            "user_id", (json_int_t)t[i].user_id, "user", t[i].user_name,
                            "created", t[i].created, "expires", unix_time(t[i].expires_at),
                            "last_used", unix_time(t[i].last_used), "revoked",
                            opt_string(t[i].revoked)));
    db_tokens_release(t, n);
    return print_rows(rows, cols, f);
}

int cli_cmd_member_list(struct cli_run *r)
{
    static const char *const cols[] = {"user_id", "user", "role", "read_only", "disabled", NULL};
    struct err err = {0};
    struct db_member *m = NULL;
    struct db *db;
    struct db_conn *c;
    enum list_format f;
    int64_t project;
    json_t *rows;
    size_t n = 0;
    int rc;

    if (list_format(r, &f) != 0 || cli_need_id(r, "project", &project) != 0 ||
        !(c = open_conn(r, &db)))
        return CLI_FAIL;
    rc = db_member_list(c, project, &m, &n, &err);
    close_conn(db, c);
    if (rc != 0) {
        worded(-1, &err, ERR_NOT_FOUND, "no project %lld", (long long)project);
        return cli_fail("%s", err.msg);
    }
    rows = json_array();
    for (size_t i = 0; rows && i < n; i++)
        json_array_append_new(rows, json_pack("{s:I, s:s, s:s, s:b, s:b}", "user_id",
                                              (json_int_t)m[i].user_id, "user", m[i].user_name,
                                              "role", domain_role_name(m[i].role), "read_only",
                                              m[i].read_only, "disabled", m[i].disabled));
    db_members_release(m, n);
    return print_rows(rows, cols, f);
}

int cli_cmd_base_create(struct cli_run *r)
{
    struct err err = {0};
    struct db *db;
    struct db_conn *c;
    struct db_base src = {0};
    const char *lang = cli_get(r, "language");
    char uuid_str[37], dst[4200] = "";
    int64_t from = 0, id = -1;
    enum language l;
    uuid_t uu;

    if (domain_language_parse(lang, &l) != 0)
        return cli_bad(r, "language", "en, de or ar");
    if (cli_int(r, "from-model", 1, INT64_MAX, "a model id", &from) < 0)
        return CLI_FAIL;
    if (!(c = open_conn(r, &db)))
        return CLI_FAIL;
    uuid_generate_random(uu);
    uuid_unparse_lower(uu, uuid_str);
    if (from) {
        if (worded(db_model_base_info(c, from, &src, &err), &err, ERR_NOT_FOUND, "no model %lld",
                   (long long)from) != 0)
            goto done;
        if (!src.artifact || !domain_status_trained(src.status)) {
            err_set(&err, ERR_INVALID, "model %lld is not trained (status %s)", (long long)from,
                    domain_status_name(src.status));
            goto done;
        }
        if (src.language != l) {
            err_set(&err, ERR_INVALID, "model %lld is '%s', not '%s'", (long long)from,
                    domain_language_name(src.language), lang);
            goto done;
        }
        artifacts_base_path(src.artifact, uuid_str, dst, sizeof(dst));
        if (predictor_copy_artifact(src.artifact, dst, &err) != 0)
            goto done;
    }
    id = worded(db_base_create(c, uuid_str, cli_get(r, "name"), l, from, from ? dst : NULL, &err),
                &err, ERR_CONFLICT, "a base model named '%s' already exists", cli_get(r, "name"));
    if (id < 0 && dst[0])
        artifacts_remove(dst);
done:
    db_base_release(&src);
    close_conn(db, c);
    return print_id(id, &err);
}

/* What backup's artifact callback needs: where copies go, what it did. */
struct backup_ctx {
    char dir[4200];   /* <to>.artifacts */
    FILE *manifest;   /* <dir>/MANIFEST: "<copy name>\t<original path>" per line */
    int copied, missing, failed;
};

/*
 * Copy one artifact named by the snapshot into the backup's artifact
 * directory, verifying its checksum on the way (predictor_copy_artifact
 * reads and checks it, then writes the copy atomically). A file that is gone
 * (its model was deleted after the snapshot) is reported and skipped.
 */
static int backup_artifact(const char *path, void *arg)
{
    struct backup_ctx *b = arg;
    struct err err = {0};
    char *dup = strdup(path), dst[8500];
    const char *name;

    if (!dup) {
        b->failed++;
        return cli_fail("out of memory");
    }
    name = basename(dup);
    snprintf(dst, sizeof(dst), "%s/%s", b->dir, name);
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        fprintf(stderr, "modeld: warning: artifact %s is gone (its model was deleted since "
                        "the copy was taken); not copied\n", path);
        b->missing++;
    } else if (predictor_copy_artifact(path, dst, &err) != 0) {
        cli_fail("artifact %s: %s", path, err.msg);
        b->failed++;
        free(dup);
        return -1;
    } else {
        fprintf(b->manifest, "%s\t%s\n", name, path);
        b->copied++;
    }
    free(dup);
    return 0;
}

/* Remove the backup's artifact directory and what is in it (all made by this run). */
static void backup_discard(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[8500];

    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int cli_cmd_backup(struct cli_run *r)
{
    struct backup_ctx b;
    struct err err = {0};
    const char *from = cli_get(r, "db"), *to = cli_get(r, "to");
    char mpath[8500], where[300];
    struct stat st;
    int rc = CLI_FAIL;

    memset(&b, 0, sizeof(b));
    if (db_is_postgres(from)) /* never quoted: it may carry a password */
        return cli_fail("%s: backup copies a SQLite database file; back up a PostgreSQL "
                        "database with pg_dump (its model_artifacts table holds the artifacts)",
                        cli_where(r, "db", where, sizeof(where)));
    if (stat(from, &st) != 0)
        return cli_fail("%s: cannot back up %s: %s", cli_where(r, "db", where, sizeof(where)), from,
                        strerror(errno));
    snprintf(b.dir, sizeof(b.dir), "%s.artifacts", to);
    if (access(to, F_OK) == 0 || access(b.dir, F_OK) == 0)
        return cli_fail("--to %s: %s exists; a backup never overwrites: remove it or choose "
                        "another name",
                        to, access(to, F_OK) == 0 ? to : b.dir);
    if (mkdir(b.dir, 0750) != 0)
        return cli_fail("cannot create %s (beside --to %s): %s", b.dir, to, strerror(errno));
    snprintf(mpath, sizeof(mpath), "%s/MANIFEST", b.dir);
    b.manifest = fopen(mpath, "w");
    if (!b.manifest) {
        cli_fail("cannot create %s: %s", mpath, strerror(errno));
        goto out;
    }
    if (db_backup(from, to, backup_artifact, &b, &err) != 0) {
        cli_fail("%s", err.msg);
        goto out;
    }
    if (fflush(b.manifest) != 0 || fsync(fileno(b.manifest)) != 0) {
        cli_fail("cannot write %s: %s", mpath, strerror(errno));
        goto out;
    }
    printf("%s: %d artifact%s in %s\n", to, b.copied, b.copied == 1 ? "" : "s", b.dir);
    rc = CLI_OK;
out:
    if (b.manifest)
        fclose(b.manifest);
    if (rc != CLI_OK) {
        if (access(to, F_OK) == 0 && b.dir[0]) /* renamed, then the manifest failed */
            unlink(to);
        backup_discard(b.dir);
    }
    return rc;
}
