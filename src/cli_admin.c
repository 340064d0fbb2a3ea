/* SPDX-License-Identifier: MIT */
/*
 * cli_admin: the admin commands of the command line (migrate, workspace,
 * project, user, token, member, base, backup). Each one opens the database
 * (applying pending migrations), prints only the new id or token on stdout,
 * and reports an error on stderr with exit status 1. The options are parsed
 * and the required ones checked before these run (cli.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

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

static int64_t op_revoke(struct db_conn *c, const struct cli_run *r, const int64_t *ids,
                         struct err *err)
{
    char hash[65];

    (void)ids;
    util_hash_hex(cli_get(r, "token"), hash);
    return worded(db_token_revoke(c, hash, err), err, ERR_NOT_FOUND, "no such active token");
}

int cli_cmd_token_revoke(struct cli_run *r)
{
    return run_id_op(r, op_revoke, NULL);
}

/* ids: the project and the user; the user's id is what the command prints. */
static int64_t op_member(struct db_conn *c, const struct cli_run *r, const int64_t *ids,
                         struct err *err)
{
    enum role role = ROLE_VIEWER;

    domain_role_parse(cli_get(r, "role"), &role); /* checked by cli_cmd_member_add */
    return worded(db_member_add(c, ids[0], ids[1], role, err) == 0 ? ids[1] : -1, err,
                  ERR_NOT_FOUND, "no project %lld or no user %lld", (long long)ids[0],
                  (long long)ids[1]);
}

int cli_cmd_member_add(struct cli_run *r)
{
    int64_t ids[2];

    if (cli_need_id(r, "project", &ids[0]) != 0 || cli_need_id(r, "user", &ids[1]) != 0)
        return CLI_FAIL;
    enum role role;

    if (domain_role_parse(cli_get(r, "role"), &role) != 0)
        return cli_bad(r, "role", "VIEWER, ANNOTATOR, MANAGER or OWNER");
    return run_id_op(r, op_member, ids);
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
