/* SPDX-License-Identifier: MIT */
/*
 * handler_members: who may do what in a project, over HTTP. A project's
 * MANAGERs and OWNERs list its members; its OWNERs add one, change a role
 * (PUT, both) and remove one; the last OWNER can be neither removed nor
 * demoted (409 urn:modeld:problem:last-owner). GET /projects lists the
 * projects the caller has a role in. A change empties the daemon's
 * authentication cache at once, so the next request sees it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "authcache.h"
#include "db.h"
#include "handlers.h"
#include "problem.h"
#include "validate.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* The API view of a member. */
static json_t *member_view(int64_t user_id, const char *name, enum role role, int read_only,
                           int disabled)
{
    return json_pack("{s:I, s:s, s:s, s:b, s:b}", "user_id", (json_int_t)user_id, "name", name,
                     "role", domain_role_name(role), "read_only", read_only, "disabled",
                     disabled);
}

/* The member user_id of the project as the API shows it, or NULL with err
 * (ERR_NOT_FOUND when not a member). */
static json_t *member_get(struct db_conn *c, int64_t project_id, int64_t user_id,
                          struct err *err)
{
    struct db_member *m = NULL;
    json_t *v = NULL;
    size_t n = 0;

    if (db_member_list(c, project_id, &m, &n, err) != 0)
        return NULL;
    for (size_t i = 0; i < n && !v; i++)
        if (m[i].user_id == user_id) {
            v = member_view(m[i].user_id, m[i].user_name, m[i].role, m[i].read_only,
                            m[i].disabled);
            if (!v)
                err_set(err, ERR_NOMEM, "out of memory");
        }
    if (!v && err->code == ERR_OK)
        err_set(err, ERR_NOT_FOUND, "not a member");
    db_members_release(m, n);
    return v;
}

void handler_members_list(struct request *req, struct response *resp)
{
    struct err err = {0};
    struct db_conn *c = db_acquire(req->app->db);
    struct db_member *m = NULL;
    json_t *items = NULL;
    size_t n = 0;

    if (db_member_list(c, req->args[0], &m, &n, &err) == 0) {
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
            if (json_array_append_new(items, member_view(m[i].user_id, m[i].user_name,
                                                         m[i].role, m[i].read_only,
                                                         m[i].disabled)) != 0) {
                json_decref(items);
                items = NULL;
            }
        if (!items)
            err_set(&err, ERR_NOMEM, "out of memory");
        db_members_release(m, n);
    }
    db_release(req->app->db, c);
    problem_or_reply(resp, 200, items ? json_pack("{s:o}", "items", items) : NULL, &err,
                     req->request_id);
}

/* The problem of a refused membership change. */
static void member_problem(struct request *req, struct response *resp, const struct err *err,
                           const struct db_member_change *ch, const char *what,
                           const char *not_found)
{
    if (err->code == ERR_CONFLICT && ch->last_owner)
        problem_typed(resp, 409, PROBLEM_LAST_OWNER,
                      "User %lld is the last OWNER of project %lld and cannot be %s; make "
                      "another member OWNER first.",
                      (long long)req->args[1], (long long)req->args[0], what);
    else if (err->code == ERR_NOT_FOUND)
        problem_set(resp, 404, "User %lld %s.", (long long)req->args[1], not_found);
    else
        problem_from_err(resp, err, req->request_id);
}

void handler_members_put(struct request *req, struct response *resp)
{
    static const char *const allowed[] = {"role", NULL};
    struct db_member_change ch = {ROLE_NONE, 0};
    struct err err = {0};
    json_t *errors = NULL, *view = NULL;
    const char *name = NULL;
    enum role role = ROLE_VIEWER;
    struct db_conn *c;

    validate_known_fields(req->body, allowed, &errors);
    validate_enum(req->body, "role", domain_role_names, VALIDATE_REQUIRED, &name, &errors);
    if (errors || domain_role_parse(name, &role) != 0) {
        if (!errors)
            problem_field(&errors, "role", "must be one of VIEWER, ANNOTATOR, MANAGER, OWNER");
        problem_validation(resp, errors);
        return;
    }
    c = db_acquire(req->app->db);
    if (db_member_set(c, req->args[0], req->args[1], role, DB_MEMBER_PUT, &ch, &err) == 0) {
        authcache_flush(req->app->authcache);
        view = member_get(c, req->args[0], req->args[1], &err);
    }
    db_release(req->app->db, c);
    if (!view) {
        member_problem(req, resp, &err, &ch, "demoted", "does not exist");
        return;
    }
    resp->status = ch.was == ROLE_NONE ? 201 : 200;
    resp->body = view;
    if (ch.was == ROLE_NONE)
        snprintf(resp->location, sizeof(resp->location), "/projects/%lld/members/%lld",
                 (long long)req->args[0], (long long)req->args[1]);
}

void handler_members_delete(struct request *req, struct response *resp)
{
    struct db_member_change ch = {ROLE_NONE, 0};
    struct err err = {0};
    struct db_conn *c = db_acquire(req->app->db);
    int rc = db_member_remove(c, req->args[0], req->args[1], &ch, &err);

    db_release(req->app->db, c);
    if (rc != 0) {
        member_problem(req, resp, &err, &ch, "removed", "is not a member of this project");
        return;
    }
    authcache_flush(req->app->authcache);
    resp->status = 204;
}

void handler_projects_list(struct request *req, struct response *resp)
{
    struct err err = {0};
    struct db_conn *c = db_acquire(req->app->db);
    struct db_project_role *p = NULL;
    json_t *items = NULL;
    size_t n = 0;

    if (db_project_list_for_user(c, req->caller.user_id, &p, &n, &err) == 0) {
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
            if (json_array_append_new(
                    items, json_pack("{s:I, s:s, s:I, s:s, s:s, s:s}", "id", (json_int_t)p[i].id,
                                     "name", p[i].name, "workspace_id",
                                     (json_int_t)p[i].workspace_id, "workspace_name",
                                     p[i].workspace_name, "role", domain_role_name(p[i].role),
                                     "created", p[i].created)) != 0) {
                json_decref(items);
                items = NULL;
            }
        if (!items)
            err_set(&err, ERR_NOMEM, "out of memory");
        db_project_roles_release(p, n);
    }
    db_release(req->app->db, c);
    problem_or_reply(resp, 200, items ? json_pack("{s:o}", "items", items) : NULL, &err,
                     req->request_id);
}
