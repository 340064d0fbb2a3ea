/* SPDX-License-Identifier: MIT */
/*
 * authcache: callers by token hash and roles by (project, user), in two
 * direct-mapped tables under one mutex, emptied when the database's
 * auth_epoch changes (see authcache.h).
 */
#include "authcache.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

struct token_slot {
    int used;
    char hash[65];
    struct db_caller who; /* who.user_name owned */
    int64_t touched;      /* last_used as this cache knows it (unix seconds) */
};

struct role_slot {
    int used;
    int64_t project_id, user_id, workspace_id;
    enum role role;
};

/* A token hash the database does not know (or knows as revoked, expired or
 * disabled): the 401 path then costs no database read. Kept apart from the
 * callers, so that a client spraying random tokens cannot evict them. */
struct unknown_slot {
    int used;
    char hash[65];
};

struct authcache {
    pthread_mutex_t mu;
    struct token_slot *tokens;
    struct unknown_slot *unknown; /* token_mask + 1 slots */
    struct role_slot *roles;
    unsigned token_mask, role_mask;
    uint64_t gen;             /* bumped by every flush (under mu) */
    int64_t epoch;            /* the auth_epoch value the entries belong to */
    int have_epoch;           /* epoch was read once */
    atomic_llong next_sync_ms; /* monotonic ms of the next epoch read */
};

/* The smallest power of two >= n (and >= 16). */
static unsigned pow2(unsigned n)
{
    unsigned p = 16;

    while (p < n && p < (1u << 24))
        p <<= 1;
    return p;
}

struct authcache *authcache_new(unsigned tokens, unsigned roles)
{
    struct authcache *ac = calloc(1, sizeof(*ac));

    if (!ac)
        return NULL;
    ac->token_mask = pow2(tokens) - 1;
    ac->role_mask = pow2(roles) - 1;
    ac->tokens = calloc((size_t)ac->token_mask + 1, sizeof(*ac->tokens));
    ac->roles = calloc((size_t)ac->role_mask + 1, sizeof(*ac->roles));
    ac->unknown = calloc((size_t)ac->token_mask + 1, sizeof(*ac->unknown));
    if (!ac->tokens || !ac->roles || !ac->unknown || pthread_mutex_init(&ac->mu, NULL) != 0) {
        free(ac->unknown);
        free(ac->tokens);
        free(ac->roles);
        free(ac);
        return NULL;
    }
    atomic_init(&ac->next_sync_ms, 0);
    return ac;
}

/* Empty the tables (mu held). */
static void clear_locked(struct authcache *ac)
{
    for (unsigned i = 0; i <= ac->token_mask; i++) {
        db_caller_release(&ac->tokens[i].who);
        ac->tokens[i].used = 0;
    }
    memset(ac->roles, 0, ((size_t)ac->role_mask + 1) * sizeof(*ac->roles));
    memset(ac->unknown, 0, ((size_t)ac->token_mask + 1) * sizeof(*ac->unknown));
    ac->gen++;
}

void authcache_free(struct authcache *ac)
{
    if (!ac)
        return;
    clear_locked(ac);
    pthread_mutex_destroy(&ac->mu);
    free(ac->tokens);
    free(ac->roles);
    free(ac->unknown);
    free(ac);
}

void authcache_flush(struct authcache *ac)
{
    pthread_mutex_lock(&ac->mu);
    clear_locked(ac);
    pthread_mutex_unlock(&ac->mu);
}

void authcache_sync(struct authcache *ac, struct db_conn *c)
{
    long long now = (long long)(util_monotonic() * 1000.0);
    long long due = atomic_load(&ac->next_sync_ms);
    struct err err = {0};
    int64_t epoch = 0;
    int ok;

    /* one thread per period reads the counter; the others go on with the cache */
    if (now < due || !atomic_compare_exchange_strong(&ac->next_sync_ms, &due,
                                                     now + AUTHCACHE_SYNC_MS))
        return;
    ok = db_auth_epoch(c, &epoch, &err) == 0;
    pthread_mutex_lock(&ac->mu);
    if (!ok || !ac->have_epoch || epoch != ac->epoch) {
        clear_locked(ac);
        ac->epoch = epoch;
        ac->have_epoch = ok;
    }
    pthread_mutex_unlock(&ac->mu);
}

uint64_t authcache_gen(struct authcache *ac)
{
    uint64_t g;

    pthread_mutex_lock(&ac->mu);
    g = ac->gen;
    pthread_mutex_unlock(&ac->mu);
    return g;
}

/* The slot index of a token hash: its leading hex digits (a hash already). */
static unsigned token_index(const struct authcache *ac, const char *hash)
{
    unsigned v = 0;

    for (int i = 0; i < 8 && hash[i]; i++) {
        char ch = hash[i];

        v = (v << 4) | (unsigned)(ch >= 'a' ? ch - 'a' + 10 : ch >= 'A' ? ch - 'A' + 10 : ch - '0');
    }
    return v & ac->token_mask;
}

static unsigned role_index(const struct authcache *ac, int64_t project_id, int64_t user_id)
{
    uint64_t h = (uint64_t)project_id * 0x9E3779B97F4A7C15ull ^ (uint64_t)user_id;

    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (unsigned)h & ac->role_mask;
}

int authcache_token_get(struct authcache *ac, const char *hash, int64_t now,
                        struct db_caller *out)
{
    struct token_slot *s;
    int rc = 0;

    assert(strlen(hash) == 64);
    pthread_mutex_lock(&ac->mu);
    s = &ac->tokens[token_index(ac, hash)];
    if (s->used && strcmp(s->hash, hash) == 0) {
        if (s->who.expires_at && now >= s->who.expires_at) {
            db_caller_release(&s->who);
            s->used = 0;
        } else {
            *out = s->who;
            out->user_name = strdup(s->who.user_name);
            rc = out->user_name ? 1 : -1;
        }
    }
    pthread_mutex_unlock(&ac->mu);
    return rc;
}

void authcache_token_put(struct authcache *ac, uint64_t gen, const char *hash,
                         const struct db_caller *who)
{
    char *name = strdup(who->user_name);
    struct token_slot *s;

    assert(strlen(hash) == 64);
    if (!name)
        return; /* not cached: the next request reads the database again */
    pthread_mutex_lock(&ac->mu);
    if (gen == ac->gen) {
        s = &ac->tokens[token_index(ac, hash)];
        db_caller_release(&s->who);
        memcpy(s->hash, hash, 65);
        s->who = *who;
        s->who.user_name = name;
        s->touched = who->last_used;
        s->used = 1;
        name = NULL;
    }
    pthread_mutex_unlock(&ac->mu);
    free(name);
}

int authcache_role_get(struct authcache *ac, int64_t project_id, int64_t user_id,
                       enum role *role, int64_t *workspace_id)
{
    struct role_slot *s;
    int rc = 0;

    pthread_mutex_lock(&ac->mu);
    s = &ac->roles[role_index(ac, project_id, user_id)];
    if (s->used && s->project_id == project_id && s->user_id == user_id) {
        *role = s->role;
        *workspace_id = s->workspace_id;
        rc = 1;
    }
    pthread_mutex_unlock(&ac->mu);
    return rc;
}

void authcache_role_put(struct authcache *ac, uint64_t gen, int64_t project_id, int64_t user_id,
                        enum role role, int64_t workspace_id)
{
    struct role_slot *s;

    pthread_mutex_lock(&ac->mu);
    if (gen == ac->gen) {
        s = &ac->roles[role_index(ac, project_id, user_id)];
        s->used = 1;
        s->project_id = project_id;
        s->user_id = user_id;
        s->role = role;
        s->workspace_id = workspace_id;
    }
    pthread_mutex_unlock(&ac->mu);
}

int authcache_touch_due(struct authcache *ac, const char *hash, int64_t now)
{
    struct token_slot *s;
    int due = 0;

    pthread_mutex_lock(&ac->mu);
    s = &ac->tokens[token_index(ac, hash)];
    if (s->used && strcmp(s->hash, hash) == 0 && now - s->touched >= AUTHCACHE_TOUCH_SECONDS) {
        s->touched = now;
        due = 1;
    }
    pthread_mutex_unlock(&ac->mu);
    return due;
}

int authcache_unknown_get(struct authcache *ac, const char *hash)
{
    const struct unknown_slot *s;
    int hit;

    assert(strlen(hash) == 64);
    pthread_mutex_lock(&ac->mu);
    s = &ac->unknown[token_index(ac, hash)];
    hit = s->used && strcmp(s->hash, hash) == 0;
    pthread_mutex_unlock(&ac->mu);
    return hit;
}

void authcache_unknown_put(struct authcache *ac, uint64_t gen, const char *hash)
{
    struct unknown_slot *s;

    assert(strlen(hash) == 64);
    pthread_mutex_lock(&ac->mu);
    if (gen == ac->gen) {
        s = &ac->unknown[token_index(ac, hash)];
        memcpy(s->hash, hash, 65);
        s->used = 1;
    }
    pthread_mutex_unlock(&ac->mu);
}
