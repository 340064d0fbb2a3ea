/* SPDX-License-Identifier: MIT */
/*
 * authcache: the daemon's memory of who a token is (token hash -> user id,
 * name, read-only flag, token id, expiry) and of project roles ((project,
 * user) -> role and workspace, "no role" included), so that an
 * authenticated request usually costs no database read.
 *
 * Invalidation: every write that can take a right away bumps the database's
 * auth_epoch counter in its own transaction (db_auth_epoch), whoever writes
 * it: this daemon or the admin CLI in another process. authcache_sync reads
 * that counter at most every AUTHCACHE_SYNC_MS on the request path and
 * empties the cache when it changed, so a revoked token, a lowered role or a
 * disabled user takes effect within that period (plus one request). This
 * process's own changes call authcache_flush at once. An entry read from the
 * database before a flush is not stored after it (a generation counter).
 * Expiry is kept per token and compared on every hit, to the second.
 *
 * Memory is bounded: both tables are direct-mapped arrays of fixed size; an
 * entry whose slot is taken replaces the one there.
 *
 * The cache also decides when a token's "last used" time is due to be
 * written: at most once a minute per token (authcache_touch_due).
 *
 * Thread-safety: every function may be called from any thread (one mutex
 * guards the tables; the sync clock is atomic).
 */
#ifndef MODELD_AUTHCACHE_H
#define MODELD_AUTHCACHE_H

#include <stdint.h>

#include "db.h"
#include "domain.h"

#define AUTHCACHE_SYNC_MS 200
#define AUTHCACHE_TOUCH_SECONDS 60

struct authcache;

/* A cache with room for `tokens` callers and `roles` roles (each rounded up
 * to a power of two); NULL when memory is short. */
struct authcache *authcache_new(unsigned tokens, unsigned roles);
void authcache_free(struct authcache *ac); /* NULL-safe */

/* Read the database's auth_epoch if AUTHCACHE_SYNC_MS passed since the last
 * read, and empty the cache when it changed. A failed read empties it too
 * (errors are never cached around). c is the calling thread's. */
void authcache_sync(struct authcache *ac, struct db_conn *c);
/* Empty the cache now (after this process changed a right). */
void authcache_flush(struct authcache *ac);

/* The generation to pass to the *_put calls: take it before reading the
 * database, so that what was read before a flush is not stored after it. */
uint64_t authcache_gen(struct authcache *ac);

/* The caller of token hash (64 hex digits), unexpired at now: 1 and *out
 * (out->user_name is a copy the caller frees with db_caller_release), 0 when
 * not cached (or expired: the entry is dropped), -1 when memory is short. */
int authcache_token_get(struct authcache *ac, const char *hash, int64_t now,
                        struct db_caller *out);
void authcache_token_put(struct authcache *ac, uint64_t gen, const char *hash,
                         const struct db_caller *who);

/* The role of user in project (ROLE_NONE: none, or no such project): 1 and
 * *role, *workspace_id; 0 when not cached. */
/* Negative entries: 1 when hash was found unknown (or revoked, expired, its
 * user disabled) since the last flush, else 0. A token created after that
 * cannot have this hash unless it was presented before it existed (tokens are
 * 256 random bits), and every change that could make a known hash valid again
 * (an expiry moved, a user enabled) bumps auth_epoch, which flushes. */
int authcache_unknown_get(struct authcache *ac, const char *hash);
/* Remember hash as unknown, unless the cache was flushed since gen. */
void authcache_unknown_put(struct authcache *ac, uint64_t gen, const char *hash);

int authcache_role_get(struct authcache *ac, int64_t project_id, int64_t user_id,
                       enum role *role, int64_t *workspace_id);
void authcache_role_put(struct authcache *ac, uint64_t gen, int64_t project_id, int64_t user_id,
                        enum role role, int64_t workspace_id);

/* 1 when the token's "last used" should be written now (at now), i.e. it
 * was not written in the last AUTHCACHE_TOUCH_SECONDS as far as this cache
 * knows; it then counts as written. 0 otherwise (also when not cached). */
int authcache_touch_due(struct authcache *ac, const char *hash, int64_t now);

#endif
