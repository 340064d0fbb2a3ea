/* SPDX-License-Identifier: MIT */
/*
 * pg/admin.c: workspaces, projects, users, tokens and memberships, and the
 * authentication reads (a caller by token hash, a role in a project, the
 * change counter auth_epoch), with the results and error codes of
 * src/sqlite/admin.c. Listing and changing memberships is in members.c.
 *
 * Every write that can take a right away bumps auth_epoch and sends
 * NOTIFY modeld_auth through the triggers of migrations/pg/0006, in the
 * transaction of the change, whoever writes it.
 */
#include "internal.h"

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* ---- admin --------------------------------------------------------------- */

int64_t pg_workspace_create(struct db_conn *c, const char *name, struct err *err)
{
    char now[UTIL_TIME_LEN];

    util_now_rfc3339(now);
    return pg_insert(c, STMT_WS_INSERT, err, "tt", name, now);
}

int64_t pg_project_create(struct db_conn *c, int64_t workspace_id, const char *name,
                          struct err *err)
{
    char now[UTIL_TIME_LEN];
    int64_t id;

    util_now_rfc3339(now);
    id = pg_insert(c, STMT_PROJECT_INSERT, err, "itt", workspace_id, name, now);
    if (id < 0 && err && err->code == ERR_INVALID) /* the foreign key */
        err_set(err, ERR_NOT_FOUND, "workspace not found");
    return id;
}

int64_t pg_user_create(struct db_conn *c, const char *name, int read_only, struct err *err)
{
    char now[UTIL_TIME_LEN];
    int64_t id;

    util_now_rfc3339(now);
    id = pg_insert(c, STMT_USER_INSERT, err, "tit", name, (int64_t)(read_only ? 1 : 0), now);
    if (id < 0 && err && err->code == ERR_CONFLICT)
        err_set(err, ERR_CONFLICT, "user name taken");
    return id;
}

int64_t pg_token_create(struct db_conn *c, int64_t user_id, const char *hash, int64_t expires_at,
                        struct err *err)
{
    char now[UTIL_TIME_LEN];
    int64_t id;

    util_now_rfc3339(now);
    id = pg_insert(c, STMT_TOKEN_INSERT, err, "ittz", user_id, hash, now,
                   expires_at > 0 ? expires_at : (int64_t)0);
    if (id < 0 && err && err->code == ERR_INVALID)
        err_set(err, ERR_NOT_FOUND, "user not found");
    return id;
}

/* One statement finds and revokes the active token, so two revocations
 * racing on two daemons cannot both report it. */
int64_t pg_token_revoke(struct db_conn *c, const char *hash, struct err *err)
{
    char now[UTIL_TIME_LEN];
    int64_t id;

    util_now_rfc3339(now);
    id = pg_insert(c, STMT_TOKEN_REVOKE_HASH, err, "tt", hash, now);
    if (id < 0 && err && err->code == ERR_NOT_FOUND)
        err_set(err, ERR_NOT_FOUND, "token not found");
    return id;
}

int pg_member_add(struct db_conn *c, int64_t project_id, int64_t user_id, enum role role,
                  struct err *err)
{
    if (pg_exec(c, STMT_MEMBER_UPSERT, err, "iit", project_id, user_id,
                domain_role_name(role)) != 0) {
        if (err && err->code == ERR_INVALID)
            err_set(err, ERR_NOT_FOUND, "project or user not found");
        return -1;
    }
    return 0;
}

/* ---- auth ---------------------------------------------------------------- */

int pg_token_lookup(struct db_conn *c, const char *hash, int64_t now, struct db_caller *out,
                    struct err *err)
{
    PGresult *r;

    if (pg_row(c, STMT_TOKEN_LOOKUP, &r, "token not found", err, "ti", hash, now) != 1)
        return -1;
    out->user_id = pg_col_int(r, 0, 0);
    out->user_name = pg_col_dup(r, 0, 1);
    out->read_only = (int)pg_col_int(r, 0, 2);
    out->token_id = pg_col_int(r, 0, 3);
    out->expires_at = pg_col_int(r, 0, 4); /* NULL reads as 0: never */
    out->last_used = pg_col_int(r, 0, 5);
    PQclear(r);
    if (!out->user_name) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    return 0;
}

int pg_member_role(struct db_conn *c, int64_t project_id, int64_t user_id, enum role *role,
                   int64_t *workspace_id, struct err *err)
{
    PGresult *r;
    int rc;

    if (pg_row(c, STMT_MEMBER_ROLE, &r, "membership not found", err, "ii", project_id,
               user_id) != 1)
        return -1;
    rc = pg_col_role(r, 0, 0, role, err);
    if (workspace_id)
        *workspace_id = pg_col_int(r, 0, 1);
    PQclear(r);
    return rc;
}

int pg_auth_epoch(struct db_conn *c, int64_t *out, struct err *err)
{
    PGresult *r;

    if (pg_row(c, STMT_AUTH_EPOCH, &r, "no auth_epoch row", err, "") != 1)
        return -1;
    *out = pg_col_int(r, 0, 0);
    PQclear(r);
    return 0;
}

/* ---- administration -------------------------------------------------------- */

/* One row of USER_LIST into elem (a struct db_user). */
static int user_read(const PGresult *r, int row, void *elem, struct err *err)
{
    struct db_user *u = elem;
    int ok = 1;

    u->id = pg_col_int(r, row, 0);
    u->name = pg_col_opt(r, row, 1, &ok);
    u->read_only = (int)pg_col_int(r, row, 2);
    u->disabled = (int)pg_col_int(r, row, 3);
    u->created = pg_col_opt(r, row, 4, &ok);
    return pg_copied(ok, err);
}

static void users_free(void *elems, size_t n)
{
    db_users_release(elems, n);
}

int pg_user_list(struct db_conn *c, struct db_user **out, size_t *n, struct err *err)
{
    void *items;

    if (pg_rows(c, STMT_USER_LIST, sizeof(**out), 0, user_read, users_free, &items, n, NULL, err,
                "") != 0)
        return -1;
    *out = items;
    return 0;
}

int pg_user_set_disabled(struct db_conn *c, int64_t user_id, int disabled, struct err *err)
{
    int64_t rc = pg_exec_count(c, STMT_USER_SET_DISABLED, err, "ii", user_id, (int64_t)disabled);

    if (rc == 0)
        err_set(err, ERR_NOT_FOUND, "user not found");
    return rc > 0 ? 0 : -1;
}

/* One row of TOKEN_LIST into elem (a struct db_token). */
static int token_read(const PGresult *r, int row, void *elem, struct err *err)
{
    struct db_token *t = elem;
    int ok = 1;

    t->id = pg_col_int(r, row, 0);
    t->user_id = pg_col_int(r, row, 1);
    t->user_name = pg_col_opt(r, row, 2, &ok);
    t->created = pg_col_opt(r, row, 3, &ok);
    t->expires_at = pg_col_int(r, row, 4);
    t->last_used = pg_col_int(r, row, 5);
    t->revoked = pg_col_opt(r, row, 6, &ok);
    return pg_copied(ok, err);
}

static void tokens_free(void *elems, size_t n)
{
    db_tokens_release(elems, n);
}

int pg_token_list(struct db_conn *c, int64_t user_id, struct db_token **out, size_t *n,
                  struct err *err)
{
    void *items;

    if (pg_rows(c, STMT_TOKEN_LIST, sizeof(**out), 0, token_read, tokens_free, &items, n, NULL,
                err, "i", user_id) != 0)
        return -1;
    *out = items;
    return 0;
}

int64_t pg_token_revoke_id(struct db_conn *c, int64_t id, struct err *err)
{
    char now[UTIL_TIME_LEN];
    int64_t rc;

    util_now_rfc3339(now);
    rc = pg_exec_count(c, STMT_TOKEN_REVOKE_ID, err, "it", id, now);
    if (rc == 0)
        err_set(err, ERR_NOT_FOUND, "token not found");
    return rc > 0 ? id : -1;
}

int64_t pg_token_revoke_user(struct db_conn *c, int64_t user_id, struct err *err)
{
    char now[UTIL_TIME_LEN];
    int64_t n;
    int found;

    if (db_begin(c, err) != 0)
        return -1;
    found = pg_exists(c, STMT_USER_EXISTS, err, "i", user_id);
    if (found == 0)
        err_set(err, ERR_NOT_FOUND, "user not found");
    if (found != 1)
        goto fail;
    util_now_rfc3339(now);
    n = pg_exec_count(c, STMT_TOKEN_REVOKE_USER, err, "it", user_id, now);
    if (n < 0)
        goto fail;
    if (db_commit(c, err) != 0)
        return -1;
    return n;
fail:
    db_rollback(c);
    return -1;
}

int pg_token_touch(struct db_conn *c, int64_t id, int64_t now, struct err *err)
{
    return pg_exec(c, STMT_TOKEN_TOUCH, err, "ii", id, now);
}
