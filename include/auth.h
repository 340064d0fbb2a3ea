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

/* ---- browser sessions (POST /session) ------------------------------------------
 * A session is signed in with a token and kept in an HttpOnly cookie; its id
 * is random (256 bits, hex), its CSRF token is derived from the id (a hash
 * of it, so GET /session can give a reloaded page the token again without
 * storing it in clear), and both are stored hashed. A
 * request by cookie is checked as one by its token (the session's token is
 * looked up again each time), and a state-changing one must also carry the
 * CSRF token in X-CSRF-Token. */
#define AUTH_SESSION_COOKIE "modeld_session"
#define AUTH_CSRF_HEADER "X-CSRF-Token"
#define AUTH_SESSION_TTL_S (12 * 3600) /* default of --session-ttl */

/* Sign in with token for ttl seconds (capped by the token's own expiry):
 * id and csrf (65 bytes each) receive the new session's cookie value and
 * CSRF token, *expires_at its expiry (unix seconds). ERR_UNAUTHORIZED for an
 * unknown, revoked or expired token (or a user the token no longer
 * authenticates). */
int auth_session_start(struct authcache *ac, struct db_conn *c, const char *token, int64_t ttl,
                       char id[65], char csrf[65], int64_t *expires_at, struct err *err);

/* Identify the caller by a session cookie's value: the session exists, has
 * not expired, and its token passes every check of auth_identify.
 * csrf_hash (65 bytes) receives the hash of the session's CSRF token.
 * ERR_UNAUTHORIZED otherwise. */
int auth_identify_session(struct authcache *ac, struct db_conn *c, const char *session_id,
                          struct caller *out, char csrf_hash[65], struct err *err);

/* The stored hash of a session's cookie value into hash (65 bytes): 0, or -1
 * when the value cannot be one of ours (not 64 hex digits). */
int auth_session_hash(const char *session_id, char hash[65]);

/* The CSRF token of a session into csrf (65 bytes): a BLAKE2b hash of its
 * cookie value (with a prefix of its own, so it is no other hash of the id
 * that is stored); knowing it tells nothing of the cookie. */
void auth_session_csrf(const char *session_id, char csrf[65]);

/* 1 when csrf (an X-CSRF-Token value, may be NULL) is the token whose hash is
 * csrf_hash; the hashes are compared in constant time. */
int auth_csrf_ok(const char *csrf_hash, const char *csrf);

enum auth_verdict {
    AUTH_ALLOWED,
    AUTH_ROLE_TOO_LOW, /* the caller's project role is below min_role */
    AUTH_READ_ONLY     /* the route writes and the user is read-only */
};
/* What an identified caller (with its role, for project routes) may do. */
enum auth_verdict auth_check(const struct caller *who, int project_route, enum role min_role,
                             int writes);

#endif
