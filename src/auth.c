/* SPDX-License-Identifier: MIT */
/* auth: token lookup, project roles and the route checks (see auth.h). */
#include "auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

void auth_caller_release(struct caller *c)
{
    if (!c)
        return;
    free(c->user_name);
    c->user_name = NULL;
}

const char *auth_bearer(const char *authorization)
{
    const char *t;

    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    t = authorization + 7;
    while (*t == ' ')
        t++;
    if (!*t || strlen(t) > 256)
        return NULL;
    for (const char *c = t; *c; c++)
        if (*c == ' ' || *c == '\t')
            return NULL;
    return t;
}

int auth_identify(struct db_conn *c, const char *token, struct caller *out, struct err *err)
{
    struct db_caller who = {0};
    char hash[65];

    util_hash_hex(token, hash);
    if (db_token_lookup(c, hash, util_now_unix(), &who, err) != 0) {
        if (err && err->code == ERR_NOT_FOUND)
            err_set(err, ERR_UNAUTHORIZED, "the token is unknown, revoked or expired");
        return -1;
    }
    out->user_id = who.user_id;
    out->user_name = who.user_name; /* taken */
    out->read_only = who.read_only;
    return 0;
}

int auth_project_role(struct db_conn *c, int64_t project_id, struct caller *who,
                      struct err *err)
{
    return db_member_role(c, project_id, who->user_id, &who->role, &who->workspace_id, err);
}

enum auth_verdict auth_check(const struct caller *who, int project_route, enum role min_role,
                             int writes)
{
    if (project_route && who->role < min_role)
        return AUTH_ROLE_TOO_LOW;
    if (writes && who->read_only)
        return AUTH_READ_ONLY;
    return AUTH_ALLOWED;
}
