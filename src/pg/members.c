/* SPDX-License-Identifier: MIT */
/*
 * pg/members.c: the members of a project (listed, added, their role
 * changed, removed) and the projects a user has a role in, with the results
 * and error codes of src/sqlite/members.c.
 *
 * A change reads before it writes (is the user a member already, is it the
 * last OWNER). SQLite's write lock makes that one step; here two daemons
 * may change one project's members at once, so a change first locks the
 * project's row (FOR NO KEY UPDATE: it waits for another member change of
 * the same project, not for the rows that merely reference the project),
 * and reads only after it holds the lock: two changes cannot both take the
 * last OWNER away. Every membership write bumps auth_epoch and notifies
 * modeld_auth through the triggers of migrations/pg/0006.
 */
#include "internal.h"

#include <stdlib.h>

#include "banned.h" /* last: bans unsafe libc calls */

/* One row of MEMBER_LIST into elem (a struct db_member). */
static int member_read(const PGresult *r, int row, void *elem, struct err *err)
{
    struct db_member *m = elem;
    int ok = 1;

    m->user_id = pg_col_int(r, row, 0);
    m->user_name = pg_col_opt(r, row, 1, &ok);
    if (pg_col_role(r, row, 2, &m->role, err) != 0)
        return -1;
    m->read_only = (int)pg_col_int(r, row, 3);
    m->disabled = (int)pg_col_int(r, row, 4);
    return pg_copied(ok, err);
}

static void members_free(void *elems, size_t n)
{
    db_members_release(elems, n);
}

int pg_member_list(struct db_conn *c, int64_t project_id, struct db_member **out, size_t *n,
                   struct err *err)
{
    void *items;
    int found = pg_exists(c, STMT_PROJECT_EXISTS, err, "i", project_id);

    if (found == 0)
        err_set(err, ERR_NOT_FOUND, "project not found");
    if (found != 1)
        return -1;
    if (pg_rows(c, STMT_MEMBER_LIST, sizeof(**out), 0, member_read, members_free, &items, n, NULL,
                err, "i", project_id) != 0)
        return -1;
    *out = items;
    return 0;
}

/* The user's role in the project into *was (ROLE_NONE when not a member). */
static int current_role(struct db_conn *c, int64_t project_id, int64_t user_id, enum role *was,
                        struct err *err)
{
    PGresult *r;
    int rc = pg_row(c, STMT_MEMBER_GET, &r, "not a member", err, "ii", project_id, user_id);

    if (rc < 0)
        return -1;
    if (rc == 0) {
        err_clear(err);
        *was = ROLE_NONE;
        return 0;
    }
    rc = pg_col_role(r, 0, 0, was, err);
    PQclear(r);
    return rc;
}

/* Refuse (ERR_CONFLICT, out->last_owner) taking the OWNER role from the
 * project's only OWNER; 0 when it may go on. */
static int check_last_owner(struct db_conn *c, int64_t project_id, struct db_member_change *out,
                            struct err *err)
{
    PGresult *r;
    int64_t owners;

    if (out->was != ROLE_OWNER)
        return 0;
    if (pg_row(c, STMT_MEMBER_OWNERS, &r, "no count", err, "i", project_id) != 1)
        return -1;
    owners = pg_col_int(r, 0, 0);
    PQclear(r);
    if (owners > 1)
        return 0;
    out->last_owner = 1;
    err_set(err, ERR_CONFLICT, "the project's last owner");
    return -1;
}

/* Begin the transaction of a member change, lock the project (when it
 * exists: an unknown project fails at the insert's foreign key), and read
 * the user's current role into out->was (ROLE_NONE: not a member); 0, or -1
 * with nothing left open. */
static int change_begin(struct db_conn *c, int64_t project_id, int64_t user_id,
                        struct db_member_change *out, struct err *err)
{
    out->was = ROLE_NONE;
    out->last_owner = 0;
    if (db_begin(c, err) != 0)
        return -1;
    if (pg_exec(c, STMT_PROJECT_LOCK, err, "i", project_id) != 0 ||
        current_role(c, project_id, user_id, &out->was, err) != 0) {
        db_rollback(c);
        return -1;
    }
    return 0;
}

int pg_member_set(struct db_conn *c, int64_t project_id, int64_t user_id, enum role role,
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
        if (pg_exec(c, STMT_MEMBER_INSERT, err, "iit", project_id, user_id, name) != 0) {
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
            pg_exec(c, STMT_MEMBER_UPDATE, err, "iit", project_id, user_id, name) != 0)
            goto fail;
    }
    return db_commit(c, err);
fail:
    db_rollback(c);
    return -1;
}

int pg_member_remove(struct db_conn *c, int64_t project_id, int64_t user_id,
                     struct db_member_change *out, struct err *err)
{
    if (change_begin(c, project_id, user_id, out, err) != 0)
        return -1;
    if (out->was == ROLE_NONE) {
        err_set(err, ERR_NOT_FOUND, "membership not found");
        goto fail;
    }
    if (check_last_owner(c, project_id, out, err) != 0 ||
        pg_exec(c, STMT_MEMBER_DELETE, err, "ii", project_id, user_id) != 0)
        goto fail;
    return db_commit(c, err);
fail:
    db_rollback(c);
    return -1;
}

/* One row of PROJECTS_OF_USER into elem (a struct db_project_role). */
static int project_role_read(const PGresult *r, int row, void *elem, struct err *err)
{
    struct db_project_role *p = elem;
    int ok = 1;

    p->id = pg_col_int(r, row, 0);
    p->workspace_id = pg_col_int(r, row, 1);
    p->name = pg_col_opt(r, row, 2, &ok);
    p->workspace_name = pg_col_opt(r, row, 3, &ok);
    p->created = pg_col_opt(r, row, 4, &ok);
    if (pg_col_role(r, row, 5, &p->role, err) != 0)
        return -1;
    return pg_copied(ok, err);
}

static void project_roles_free(void *elems, size_t n)
{
    db_project_roles_release(elems, n);
}

int pg_project_list_for_user(struct db_conn *c, int64_t user_id, struct db_project_role **out,
                             size_t *n, struct err *err)
{
    void *items;

    if (pg_rows(c, STMT_PROJECTS_OF_USER, sizeof(**out), 0, project_role_read, project_roles_free,
                &items, n, NULL, err, "i", user_id) != 0)
        return -1;
    *out = items;
    return 0;
}
