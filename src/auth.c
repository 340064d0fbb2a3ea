/* SPDX-License-Identifier: MIT */
/* auth: token lookup, project roles and the route checks (see auth.h). */
#include "auth.h"

#include <assert.h>
#include <sodium.h>
#include <stdio.h>
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

/* The caller of the token whose hash is hash: the one check of a token,
 * shared by bearer tokens and sessions (whose token is checked again on
 * every request), through the cache when there is one. */
static int identify_hash(struct authcache *ac, struct db_conn *c, const char *hash,
                         struct caller *out, struct err *err)
{
    struct db_caller who = {0};
    int64_t now = util_now_unix();
    uint64_t gen = 0;
    int hit = 0;

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

int auth_identify(struct authcache *ac, struct db_conn *c, const char *token, struct caller *out,
                  struct err *err)
{
    char hash[65];

    util_hash_hex(token, hash);
    return identify_hash(ac, c, hash, out, err);
}

/* ---- browser sessions ---------------------------------------------------------- */

int auth_session_hash(const char *session_id, char hash[65])
{
    size_t n = session_id ? strlen(session_id) : 0;

    if (n != 64 || strspn(session_id, "0123456789abcdef") != 64)
        return -1;
    util_hash_hex(session_id, hash);
    return 0;
}

int auth_session_start(struct authcache *ac, struct db_conn *c, const char *token, int64_t ttl, char id[65],
                       char csrf[65], int64_t *expires_at, struct err *err)
{
    struct db_session s = {0};
    struct caller who = {0};
    char token_hash[65];
    int64_t now = util_now_unix();
    int ret = -1;

    assert(ttl > 0);
    /* the token as a bearer would be checked (user state included) */
    if (auth_identify(ac, c, token, &who, err) != 0)
        goto out;
    util_random_hex(id, 32);
    auth_session_csrf(id, csrf);
    util_hash_hex(id, s.hash);
    util_hash_hex(csrf, s.csrf_hash);
    util_hash_hex(token, token_hash);
    s.expires_at = now + ttl;
    if (db_session_create(c, token_hash, &s, now, expires_at, err) != 0) {
        if (err && err->code == ERR_NOT_FOUND)
            err_set(err, ERR_UNAUTHORIZED, UNKNOWN_TOKEN);
        goto out;
    }
    ret = 0;
out:
    auth_caller_release(&who);
    return ret;
}

int auth_identify_session(struct authcache *ac, struct db_conn *c, const char *session_id, struct caller *out,
                          char csrf_hash[65], struct err *err)
{
    struct db_session s = {0};

    if (auth_session_hash(session_id, s.hash) != 0) {
        err_set(err, ERR_UNAUTHORIZED, "the session cookie is malformed");
        return -1;
    }
    if (db_session_get(c, s.hash, util_now_unix(), &s, err) != 0) {
        if (err && err->code == ERR_NOT_FOUND)
            err_set(err, ERR_UNAUTHORIZED, "the session is unknown, expired or signed out");
        return -1;
    }
    if (identify_hash(ac, c, s.token_hash, out, err) != 0)
        return -1;
    memcpy(csrf_hash, s.csrf_hash, 65);
    return 0;
}

void auth_session_csrf(const char *session_id, char csrf[65])
{
    char text[96];

    assert(strlen(session_id) == 64);
    snprintf(text, sizeof(text), "modeld csrf token\n%s", session_id);
    util_hash_hex(text, csrf);
    sodium_memzero(text, sizeof(text));
}

int auth_csrf_ok(const char *csrf_hash, const char *csrf)
{
    char h[65];

    if (!csrf || strlen(csrf) != 64)
        return 0;
    util_hash_hex(csrf, h);
    return sodium_memcmp(h, csrf_hash, 64) == 0;
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
