/* SPDX-License-Identifier: MIT */
/*
 * auth: who is calling and what they may do. Tokens are looked up by their
 * BLAKE2b hash (never stored or logged in clear); a caller's project role and
 * read-only flag decide what a route allows. The router asks; auth_bearer and
 * auth_check need no database (unit-tested as such). Callers and roles are
 * remembered in an authcache (authcache.h) when one is given, and a token's
 * "last used" time is written at most once a minute.
 *
 * Thread-safety: reentrant; the db_conn is the calling thread's.
 */
#ifndef MODELD_AUTH_H
#define MODELD_AUTH_H

#include <stdint.h>

#include "authcache.h"
#include "db.h"
#include "domain.h"
#include "err.h"

struct caller {
    int64_t user_id;
    char *user_name; /* owned (auth_caller_release) */
    int read_only;
    enum role role;       /* role in the path's project (project routes) */
    int64_t workspace_id; /* workspace of the path's project */
};
void auth_caller_release(struct caller *c);

/* The token of an "Authorization: Bearer <token>" value (a pointer into it),
 * or NULL when the value is absent, of another scheme, empty, longer than
 * 256 characters or has white space inside. */
const char *auth_bearer(const char *authorization);

/* Fill user_id, user_name and read_only of the token's user. ERR_UNAUTHORIZED
 * for an unknown, revoked or expired token, or one of a disabled user. ac
 * (may be NULL: no cache) is synced with the database's auth_epoch first.
 * When the token's "last used" is due (once a minute) it is written here,
 * on c, outside any transaction; a failure to write it is only logged. */
int auth_identify(struct authcache *ac, struct db_conn *c, const char *token, struct caller *out,
                  struct err *err);

/* Fill role and workspace_id for project. ERR_NOT_FOUND when the caller has
 * no role there (or there is no such project: the same answer). ac may be
 * NULL. */
int auth_project_role(struct authcache *ac, struct db_conn *c, int64_t project_id,
                      struct caller *who, struct err *err);

enum auth_verdict {
    AUTH_ALLOWED,
    AUTH_ROLE_TOO_LOW, /* the caller's project role is below min_role */
    AUTH_READ_ONLY     /* the route writes and the user is read-only */
};
/* What an identified caller (with its role, for project routes) may do. */
enum auth_verdict auth_check(const struct caller *who, int project_route, enum role min_role,
                             int writes);

#endif
