/* SPDX-License-Identifier: MIT */
/*
 * sqlite/members.c: the members of a project (listed, added, their role
 * changed, removed) and the projects a user has a role in. A change that
 * reads before it writes (is the user a member already, is it the last
 * OWNER) runs in one write transaction, so two changes cannot both take the
 * last OWNER away. Every membership write bumps auth_epoch through the
 * triggers of migration 0006, in the same transaction.
 */
#include "internal.h"

#include <stdlib.h>

#include "banned.h" /* last: bans unsafe libc calls */

/* One row of MEMBER_LIST into elem (a struct db_member). */
static int member_read(sqlite3_stmt *st, void *elem, struct err *err)
{
    struct db_member *m = elem;
    int ok = 1;

    m->user_id = sqlite3_column_int64(st, 0);
    m->user_name = sq_col_opt(st, 1, &ok);
    if (sq_col_role(st, 2, &m->role, err) != 0)
        return -1;
    m->read_only = sqlite3_column_int(st, 3);
    m->disabled = sqlite3_column_int(st, 4);
    return sq_copied(ok, err);
}

static void members_free(void *elems, size_t n)
{
    db_members_release(elems, n);
}

int sq_member_list(struct db_conn *c, int64_t project_id, struct db_member **out, size_t *n,
                   struct err *err)
{
    sqlite3_stmt *st;
    void *items;
    int found = sq_exists(c, STMT_PROJECT_EXISTS, err, "i", project_id);

    if (found == 0)
        err_set(err, ERR_NOT_FOUND, "project not found");
    if (found != 1)
        return -1;
    st = sq_prep(c, STMT_MEMBER_LIST, err, "i", project_id);
    if (!st ||
        sq_rows(c, st, sizeof(**out), 0, member_read, members_free, &items, n, NULL, err) != 0)
        return -1;
    *out = items;
    return 0;
}

/* The user's role in the project into *was (ROLE_NONE when not a member). */
static int current_role(struct db_conn *c, int64_t project_id, int64_t user_id, enum role *was,
                        struct err *err)
{
    sqlite3_stmt *st;
    int rc = sq_row(c, STMT_MEMBER_GET, &st, "not a member", err, "ii", project_id, user_id);

    if (rc < 0)
        return -1;
    if (rc == 0) {
        err_clear(err);
        *was = ROLE_NONE;
        return 0;
    }
    rc = sq_col_role(st, 0, was, err);
    sq_done(st);
    return rc;
}

/* Refuse (ERR_CONFLICT, out->last_owner) taking the OWNER role from the
 * project's only OWNER; 0 when it may go on. */
static int check_last_owner(struct db_conn *c, int64_t project_id, struct db_member_change *out,
                            struct err *err)
{
    sqlite3_stmt *st;
    int64_t owners;

    if (out->was != ROLE_OWNER)
        return 0;
    if (sq_row(c, STMT_MEMBER_OWNERS, &st, "no count", err, "i", project_id) != 1)
        return -1;
    owners = sqlite3_column_int64(st, 0);
    sq_done(st);
    if (owners > 1)
        return 0;
    out->last_owner = 1;
    err_set(err, ERR_CONFLICT, "the project's last owner");
    return -1;
}

/* Begin the transaction of a member change and read the user's current role
 * into out->was (ROLE_NONE: not a member); 0, or -1 with nothing left open. */
static int change_begin(struct db_conn *c, int64_t project_id, int64_t user_id,
                        struct db_member_change *out, struct err *err)
{
    out->was = ROLE_NONE;
    out->last_owner = 0;
    if (db_begin(c, err) != 0)
        return -1;
    if (current_role(c, project_id, user_id, &out->was, err) != 0) {
        db_rollback(c);
        return -1;
    }
    return 0;
}

int sq_member_set(struct db_conn *c, int64_t project_id, int64_t user_id, enum role role,
                  enum db_member_mode mode, struct db_member_change *out, struct err *err)
{
    const char *name = domain_role_name(role);

    if (change_begin(c, project_id, user_id, out, err) != 0)
        return -1;
    if (out->was == ROLE_NONE) {
        if (mode == DB_MEMBER_CHANGE) {
            err_set(err, ERR_NOT_FOUND, "membership not found");
            goto fail;
        }
        if (sq_exec(c, STMT_MEMBER_INSERT, err, "iit", project_id, user_id, name) != 0) {
            if (err && err->code == ERR_INVALID) /* a foreign key */
                err_set(err, ERR_NOT_FOUND, "project or user not found");
            goto fail;
        }
    } else {
        if (mode == DB_MEMBER_ADD) {
            err_set(err, ERR_CONFLICT, "already a member");
            goto fail;
        }
        if (role != ROLE_OWNER && check_last_owner(c, project_id, out, err) != 0)
            goto fail;
        if (out->was != role &&
            sq_exec(c, STMT_MEMBER_UPDATE, err, "iit", project_id, user_id, name) != 0)
            goto fail;
    }
    return db_commit(c, err);
fail:
    db_rollback(c);
    return -1;
}

int sq_member_remove(struct db_conn *c, int64_t project_id, int64_t user_id,
                     struct db_member_change *out, struct err *err)
{
    if (change_begin(c, project_id, user_id, out, err) != 0)
        return -1;
    if (out->was == ROLE_NONE) {
        err_set(err, ERR_NOT_FOUND, "membership not found");
        goto fail;
    }
    if (check_last_owner(c, project_id, out, err) != 0 ||
        sq_exec(c, STMT_MEMBER_DELETE, err, "ii", project_id, user_id) != 0)
        goto fail;
    return db_commit(c, err);
fail:
    db_rollback(c);
    return -1;
}

/* One row of PROJECTS_OF_USER into elem (a struct db_project_role). */
static int project_role_read(sqlite3_stmt *st, void *elem, struct err *err)
{
    struct db_project_role *p = elem;
    int ok = 1;

    p->id = sqlite3_column_int64(st, 0);
    p->workspace_id = sqlite3_column_int64(st, 1);
    p->name = sq_col_opt(st, 2, &ok);
    p->workspace_name = sq_col_opt(st, 3, &ok);
    p->created = sq_col_opt(st, 4, &ok);
    if (sq_col_role(st, 5, &p->role, err) != 0)
        return -1;
    return sq_copied(ok, err);
}

static void project_roles_free(void *elems, size_t n)
{
    db_project_roles_release(elems, n);
}

int sq_project_list_for_user(struct db_conn *c, int64_t user_id, struct db_project_role **out,
                             size_t *n, struct err *err)
{
    sqlite3_stmt *st = sq_prep(c, STMT_PROJECTS_OF_USER, err, "i", user_id);
    void *items;

    if (!st || sq_rows(c, st, sizeof(**out), 0, project_role_read, project_roles_free, &items, n,
                       NULL, err) != 0)
        return -1;
    *out = items;
    return 0;
}
