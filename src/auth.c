/* SPDX-License-Identifier: MIT */
/* auth: token lookup, project roles and the route checks (see auth.h). */
#include "auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
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

/* Write the token's "last used" time when it is due; a failure costs only
 * the record (the request goes on). */
static void touch(struct authcache *ac, struct db_conn *c, const char *hash,
                  const struct db_caller *who, int64_t now)
{
    struct err err = {0};
    int due = ac ? authcache_touch_due(ac, hash, now)
                 : now - who->last_used >= AUTHCACHE_TOUCH_SECONDS;

    if (due && db_token_touch(c, who->token_id, now, &err) != 0)
        LOG_WARN("token %lld: last used not recorded: %s", (long long)who->token_id, err.msg);
}

#define UNKNOWN_TOKEN "the token is unknown, revoked or expired, or its user is disabled"

int auth_identify(struct authcache *ac, struct db_conn *c, const char *token, struct caller *out,
                  struct err *err)
{
    struct db_caller who = {0};
    int64_t now = util_now_unix();
    uint64_t gen = 0;
    char hash[65];
    int hit = 0;

    util_hash_hex(token, hash);
    if (ac) {
        authcache_sync(ac, c);
        gen = authcache_gen(ac);
        hit = authcache_token_get(ac, hash, now, &who);
        if (hit < 0) {
            err_set(err, ERR_NOMEM, "out of memory");
            return -1;
        }
        if (!hit && authcache_unknown_get(ac, hash)) {
            err_set(err, ERR_UNAUTHORIZED, UNKNOWN_TOKEN);
            return -1;
        }
    }
    if (!hit) {
        if (db_token_lookup(c, hash, now, &who, err) != 0) {
            if (err && err->code == ERR_NOT_FOUND) {
                err_set(err, ERR_UNAUTHORIZED, UNKNOWN_TOKEN);
                if (ac)
                    authcache_unknown_put(ac, gen, hash);
            }
            return -1;
        }
        if (ac)
            authcache_token_put(ac, gen, hash, &who);
    }
    touch(ac, c, hash, &who, now);
    out->user_id = who.user_id;
    out->user_name = who.user_name; /* taken */
    out->read_only = who.read_only;
    return 0;
}

int auth_project_role(struct authcache *ac, struct db_conn *c, int64_t project_id,
                      struct caller *who, struct err *err)
{
    uint64_t gen = ac ? authcache_gen(ac) : 0;
    enum role role = ROLE_NONE;
    int64_t ws = 0;

    if (!ac || !authcache_role_get(ac, project_id, who->user_id, &role, &ws)) {
        if (db_member_role(c, project_id, who->user_id, &role, &ws, err) != 0) {
            if (!err || err->code != ERR_NOT_FOUND)
                return -1;
            role = ROLE_NONE;
            ws = 0;
        }
        if (ac)
            authcache_role_put(ac, gen, project_id, who->user_id, role, ws);
    }
    if (role == ROLE_NONE) {
        err_set(err, ERR_NOT_FOUND, "membership not found");
        return -1;
    }
    err_clear(err);
    who->role = role;
    who->workspace_id = ws;
    return 0;
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
