/* SPDX-License-Identifier: MIT */
/* pcache: the predictor cache (see pcache.h). */
#include "pcache.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h" /* last: bans unsafe libc calls */

struct slot {
    char *artifact;
    struct predictor *pred;
    int refs;
    int evicted; /* dropped from the cache; freed by its last user */
    uint64_t last_use;
};

struct pcache {
    pthread_mutex_t mu;
    struct slot slot[PCACHE_SLOTS];
    uint64_t clock;
};

struct pcache *pcache_new(void)
{
    struct pcache *p = calloc(1, sizeof(*p));

    if (p)
        pthread_mutex_init(&p->mu, NULL);
    return p;
}

void pcache_free(struct pcache *p)
{
    if (!p)
        return;
    for (int i = 0; i < PCACHE_SLOTS; i++) {
        assert(p->slot[i].refs == 0); /* nobody may still hold a predictor */
        free(p->slot[i].artifact);
        predictor_free(p->slot[i].pred);
    }
    pthread_mutex_destroy(&p->mu);
    free(p);
}

const struct predictor *pcache_get(struct pcache *p, const char *artifact, struct err *err)
{
    struct predictor *loaded;
    const struct predictor *out = NULL;
    int victim = -1;

    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < PCACHE_SLOTS; i++) {
        struct slot *e = &p->slot[i];

        if (e->artifact && !e->evicted && strcmp(e->artifact, artifact) == 0) {
            e->refs++;
            e->last_use = ++p->clock;
            out = e->pred;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (out)
        return out;
    /* Load outside the lock: loading a large artifact must not stall other requests. */
    loaded = predictor_load(artifact, err);
    if (!loaded)
        return NULL;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < PCACHE_SLOTS; i++) {
        struct slot *e = &p->slot[i];

        if (!e->artifact) {
            victim = i;
            break;
        }
        if (e->refs == 0 && (victim < 0 || e->last_use < p->slot[victim].last_use))
            victim = i;
    }
    if (victim >= 0) {
        struct slot *e = &p->slot[victim];

        free(e->artifact);
        predictor_free(e->pred);
        e->artifact = strdup(artifact);
        e->pred = loaded;
        e->refs = 1;
        e->evicted = 0;
        e->last_use = ++p->clock;
        if (!e->artifact) {
            e->pred = NULL;
            e->refs = 0;
            victim = -1;
        }
    }
    pthread_mutex_unlock(&p->mu);
    /* With every slot in use the predictor is served uncached: pcache_put
     * does not find it in the cache and frees it. */
    return loaded;
}

void pcache_put(struct pcache *p, const struct predictor *pred)
{
    int cached = 0;

    if (!pred)
        return;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < PCACHE_SLOTS; i++) {
        struct slot *e = &p->slot[i];

        if (e->pred == pred) {
            cached = 1;
            e->refs--;
            if (e->refs == 0 && e->evicted) {
                free(e->artifact);
                predictor_free(e->pred);
                memset(e, 0, sizeof(*e));
            }
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (!cached) /* served uncached (the cache was full): this was the only user */
        predictor_free((struct predictor *)pred);
}

void pcache_evict(struct pcache *p, const char *artifact)
{
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < PCACHE_SLOTS; i++) {
        struct slot *e = &p->slot[i];

        if (e->artifact && strcmp(e->artifact, artifact) == 0) {
            if (e->refs == 0) {
                free(e->artifact);
                predictor_free(e->pred);
                memset(e, 0, sizeof(*e));
            } else {
                e->evicted = 1;
            }
        }
    }
    pthread_mutex_unlock(&p->mu);
}
