/* SPDX-License-Identifier: MIT */
/*
 * sqlite/admin.c: workspaces, projects, users, tokens and memberships, and
 * the authentication reads (a caller by token hash, a role in a project, the
 * change counter auth_epoch). Listing and changing memberships is in
 * members.c.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* ---- admin --------------------------------------------------------------- */

int64_t sq_workspace_create(struct db_conn *c, const char *name, struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;

    util_now_rfc3339(now);
    st = sq_prep(c, STMT_WS_INSERT, err, "tt", name, now);
    return st ? sq_insert(c, st, err) : -1;
}

int64_t sq_project_create(struct db_conn *c, int64_t workspace_id, const char *name,
                          struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;
    int64_t id;

    util_now_rfc3339(now);
    st = sq_prep(c, STMT_PROJECT_INSERT, err, "itt", workspace_id, name, now);
    id = st ? sq_insert(c, st, err) : -1;
    if (id < 0 && err && err->code == ERR_INVALID)
        err_set(err, ERR_NOT_FOUND, "workspace not found");
    return id;
}

int64_t sq_user_create(struct db_conn *c, const char *name, int read_only, struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;
    int64_t id;

    util_now_rfc3339(now);
    st = sq_prep(c, STMT_USER_INSERT, err, "tit", name, (int64_t)(read_only ? 1 : 0), now);
    id = st ? sq_insert(c, st, err) : -1;
    if (id < 0 && err && err->code == ERR_CONFLICT)
        err_set(err, ERR_CONFLICT, "user name taken");
    return id;
}

int64_t sq_token_create(struct db_conn *c, int64_t user_id, const char *hash, int64_t expires_at,
                        struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st;
    int64_t id;

    util_now_rfc3339(now);
    st = sq_prep(c, STMT_TOKEN_INSERT, err, "ittz", user_id, hash, now,
              expires_at > 0 ? expires_at : (int64_t)0);
    id = st ? sq_insert(c, st, err) : -1;
    if (id < 0 && err && err->code == ERR_INVALID)
        err_set(err, ERR_NOT_FOUND, "user not found");
    return id;
}

int64_t sq_token_revoke(struct db_conn *c, const char *hash, struct err *err)
{
    char now[UTIL_TIME_LEN];
    sqlite3_stmt *st = sq_stmt(c, STMT_TOKEN_FIND_ACTIVE, err);
    int64_t id = -1;
    int rc;

    if (!st)
        return -1;
    sq_bind_text(st, 1, hash);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        sq_fail(c, err);
    sq_done(st);
    if (rc == SQLITE_DONE)
        err_set(err, ERR_NOT_FOUND, "token not found");
    if (id < 0)
        return -1;
    st = sq_stmt(c, STMT_TOKEN_REVOKE, err);
    if (!st)
        return -1;
    util_now_rfc3339(now);
    sqlite3_bind_int64(st, 1, id);
    sq_bind_text(st, 2, now);
    return sq_step_done(c, st, err) == 0 ? id : -1;
}

int sq_member_add(struct db_conn *c, int64_t project_id, int64_t user_id, enum role role,
                  struct err *err)
{
    if (sq_exec(c, STMT_MEMBER_UPSERT, err, "iit", project_id, user_id,
                domain_role_name(role)) != 0) {
        if (err && err->code == ERR_INVALID)
            err_set(err, ERR_NOT_FOUND, "project or user not found");
        return -1;
    }
    return 0;
}

/* ---- auth ---------------------------------------------------------------- */

int sq_token_lookup(struct db_conn *c, const char *hash, int64_t now, struct db_caller *out,
                    struct err *err)
{
    sqlite3_stmt *st = sq_stmt(c, STMT_TOKEN_LOOKUP, err);
    int rc;

    if (!st)
        return -1;
    sq_bind_text(st, 1, hash);
    sqlite3_bind_int64(st, 2, now);
    rc = sq_step_row(c, st, "token not found", err);
    if (rc != 1)
        return -1;
    out->user_id = sqlite3_column_int64(st, 0);
    out->user_name = sq_col_dup(st, 1);
    out->read_only = sqlite3_column_int(st, 2);
    out->token_id = sqlite3_column_int64(st, 3);
    out->expires_at = sqlite3_column_int64(st, 4); /* NULL reads as 0: never */
    out->last_used = sqlite3_column_int64(st, 5);
    sq_done(st);
    if (!out->user_name) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    return 0;
}

int sq_member_role(struct db_conn *c, int64_t project_id, int64_t user_id, enum role *role,
                   int64_t *workspace_id, struct err *err)
{
    sqlite3_stmt *st;
    int rc;

    if (sq_row(c, STMT_MEMBER_ROLE, &st, "membership not found", err, "ii", project_id, user_id) != 1)
        return -1;
    rc = sq_col_role(st, 0, role, err);
    if (workspace_id)
        *workspace_id = sqlite3_column_int64(st, 1);
    sq_done(st);
    return rc;
}


int sq_auth_epoch(struct db_conn *c, int64_t *out, struct err *err)
{
    sqlite3_stmt *st;

    if (sq_row(c, STMT_AUTH_EPOCH, &st, "no auth_epoch row", err, "") != 1)
        return -1;
    *out = sqlite3_column_int64(st, 0);
    sq_done(st);
    return 0;
}

/* ---- administration -------------------------------------------------------- */

/* One row of USER_LIST into elem (a struct db_user). */
static int user_read(sqlite3_stmt *st, void *elem, struct err *err)
{
    struct db_user *u = elem;
    int ok = 1;

    u->id = sqlite3_column_int64(st, 0);
    u->name = sq_col_opt(st, 1, &ok);
    u->read_only = sqlite3_column_int(st, 2);
    u->disabled = sqlite3_column_int(st, 3);
    u->created = sq_col_opt(st, 4, &ok);
    return sq_copied(ok, err);
}

static void users_free(void *elems, size_t n)
{
    db_users_release(elems, n);
}

int sq_user_list(struct db_conn *c, struct db_user **out, size_t *n, struct err *err)
{
    sqlite3_stmt *st = sq_stmt(c, STMT_USER_LIST, err);
    void *items;

    if (!st || sq_rows(c, st, sizeof(**out), 0, user_read, users_free, &items, n, NULL, err) != 0)
        return -1;
    *out = items;
    return 0;
}

int sq_user_set_disabled(struct db_conn *c, int64_t user_id, int disabled, struct err *err)
{
    int rc = sq_exec_changed(c, STMT_USER_SET_DISABLED, err, "ii", user_id, (int64_t)disabled);

    if (rc == 0)
        err_set(err, ERR_NOT_FOUND, "user not found");
    return rc == 1 ? 0 : -1;
}

/* One row of TOKEN_LIST into elem (a struct db_token). */
static int token_read(sqlite3_stmt *st, void *elem, struct err *err)
{
    struct db_token *t = elem;
    int ok = 1;

    t->id = sqlite3_column_int64(st, 0);
    t->user_id = sqlite3_column_int64(st, 1);
    t->user_name = sq_col_opt(st, 2, &ok);
    t->created = sq_col_opt(st, 3, &ok);
    t->expires_at = sqlite3_column_int64(st, 4);
    t->last_used = sqlite3_column_int64(st, 5);
    t->revoked = sq_col_opt(st, 6, &ok);
    return sq_copied(ok, err);
}

static void tokens_free(void *elems, size_t n)
{
    db_tokens_release(elems, n);
}

int sq_token_list(struct db_conn *c, int64_t user_id, struct db_token **out, size_t *n,
                  struct err *err)
{
    sqlite3_stmt *st = sq_prep(c, STMT_TOKEN_LIST, err, "i", user_id);
    void *items;

    if (!st || sq_rows(c, st, sizeof(**out), 0, token_read, tokens_free, &items, n, NULL, err) != 0)
        return -1;
    *out = items;
    return 0;
}

int64_t sq_token_revoke_id(struct db_conn *c, int64_t id, struct err *err)
{
    char now[UTIL_TIME_LEN];
    int rc;

    util_now_rfc3339(now);
    rc = sq_exec_changed(c, STMT_TOKEN_REVOKE_ID, err, "it", id, now);
    if (rc == 0)
        err_set(err, ERR_NOT_FOUND, "token not found");
    return rc == 1 ? id : -1;
}

int64_t sq_token_revoke_user(struct db_conn *c, int64_t user_id, struct err *err)
{
    char now[UTIL_TIME_LEN];
    int64_t n = -1;
    int found;

    if (db_begin(c, err) != 0)
        return -1;
    found = sq_exists(c, STMT_USER_EXISTS, err, "i", user_id);
    if (found == 0)
        err_set(err, ERR_NOT_FOUND, "user not found");
    if (found != 1)
        goto fail;
    util_now_rfc3339(now);
    if (sq_exec(c, STMT_TOKEN_REVOKE_USER, err, "it", user_id, now) != 0)
        goto fail;
    n = sq_changes(c);
    if (db_commit(c, err) != 0)
        return -1;
    return n;
fail:
    db_rollback(c);
    return -1;
}

int sq_token_touch(struct db_conn *c, int64_t id, int64_t now, struct err *err)
{
    return sq_exec(c, STMT_TOKEN_TOUCH, err, "ii", id, now);
}
