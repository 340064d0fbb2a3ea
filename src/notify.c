/* SPDX-License-Identifier: MIT */
/*
 * notify: the hub of model changes (see notify.h).
 *
 * Subscriptions hang in a small hash table keyed by (scope, id), so a change
 * visits only the subscribers of its model and of its project, whatever the
 * number of open streams. Each subscription keeps its pending changes in an
 * array (coalesced per model, in arrival order), grown on demand up to
 * NOTIFY_PENDING_MAX; past that it is emptied and flagged for a resync, so
 * a client that stops reading cannot make the daemon hold unbounded memory.
 */
#include "notify.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define NOTIFY_BUCKETS 256

struct notify_sub {
    struct notify_hub *hub;
    enum notify_scope scope;
    int64_t id;
    struct notify_change *pending;
    size_t n, cap;
    int resync;
    notify_wake_fn wake; /* NULL until notify_sub_watch */
    void *wake_arg;
    struct notify_sub *prev, *next; /* bucket list, guarded by hub->mu */
};

struct notify_hub {
    pthread_mutex_t mu;
    struct notify_sub *buckets[NOTIFY_BUCKETS];
    size_t count;
};

static size_t bucket_of(enum notify_scope scope, int64_t id)
{
    uint64_t k = (uint64_t)id * 2u + (scope == NOTIFY_PROJECT);

    k ^= k >> 29;
    k *= 0xbf58476d1ce4e5b9u;
    k ^= k >> 32;
    return (size_t)(k % NOTIFY_BUCKETS);
}

struct notify_hub *notify_hub_new(void)
{
    struct notify_hub *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    pthread_mutex_init(&h->mu, NULL);
    return h;
}

void notify_hub_free(struct notify_hub *h)
{
    if (!h)
        return;
    assert(h->count == 0 && "every subscription is released before the hub");
    pthread_mutex_destroy(&h->mu);
    free(h);
}

struct notify_sub *notify_subscribe(struct notify_hub *h, enum notify_scope scope, int64_t id)
{
    struct notify_sub *s;
    size_t b;

    if (!h)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->hub = h;
    s->scope = scope;
    s->id = id;
    b = bucket_of(scope, id);
    pthread_mutex_lock(&h->mu);
    s->next = h->buckets[b];
    if (s->next)
        s->next->prev = s;
    h->buckets[b] = s;
    h->count++;
    pthread_mutex_unlock(&h->mu);
    return s;
}

void notify_sub_watch(struct notify_sub *s, notify_wake_fn wake, void *arg)
{
    struct notify_hub *h = s->hub;

    pthread_mutex_lock(&h->mu);
    s->wake = wake;
    s->wake_arg = arg;
    if (wake && (s->n > 0 || s->resync))
        wake(arg);
    pthread_mutex_unlock(&h->mu);
}

size_t notify_sub_take(struct notify_sub *s, struct notify_change *out, size_t max, int *resync)
{
    struct notify_hub *h = s->hub;
    size_t n;

    pthread_mutex_lock(&h->mu);
    *resync = s->resync;
    s->resync = 0;
    n = s->n < max ? s->n : max;
    if (n > 0) {
        memcpy(out, s->pending, n * sizeof(*out));
        memmove(s->pending, s->pending + n, (s->n - n) * sizeof(*out));
        s->n -= n;
    }
    pthread_mutex_unlock(&h->mu);
    return n;
}

void notify_unsubscribe(struct notify_sub *s)
{
    struct notify_hub *h;

    if (!s)
        return;
    h = s->hub;
    pthread_mutex_lock(&h->mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        h->buckets[bucket_of(s->scope, s->id)] = s->next;
    if (s->next)
        s->next->prev = s->prev;
    assert(h->count > 0);
    h->count--;
    pthread_mutex_unlock(&h->mu);
    free(s->pending);
    free(s);
}

/* Record the change for s (caller holds the hub's lock): merged into the
 * model's pending entry if it has one, else appended; a full set (or no
 * memory) turns into a resync. */
static void sub_record(struct notify_sub *s, int64_t model_id, enum notify_kind kind)
{
    struct notify_change *grown;

    for (size_t i = 0; i < s->n; i++) {
        if (s->pending[i].model_id == model_id) {
            if (kind != NOTIFY_CHANGED)
                s->pending[i].kind = kind;
            return;
        }
    }
    if (s->n >= NOTIFY_PENDING_MAX ||
        !(grown = util_grow(s->pending, &s->cap, s->n + 1, sizeof(*grown), 4))) {
        s->n = 0;
        s->resync = 1;
        return;
    }
    s->pending = grown;
    s->pending[s->n].model_id = model_id;
    s->pending[s->n].kind = kind;
    s->n++;
}

/* Record and wake for every subscription of (scope, id); caller holds the lock. */
static void bucket_notify(struct notify_hub *h, enum notify_scope scope, int64_t id,
                          int64_t model_id, enum notify_kind kind)
{
    for (struct notify_sub *s = h->buckets[bucket_of(scope, id)]; s; s = s->next) {
        if (s->scope != scope || s->id != id)
            continue;
        sub_record(s, model_id, kind);
        if (s->wake)
            s->wake(s->wake_arg);
    }
}

void notify_model_changed(struct notify_hub *h, int64_t project_id, int64_t model_id,
                          enum notify_kind kind)
{
    if (!h)
        return;
    assert(model_id > 0);
    pthread_mutex_lock(&h->mu);
    bucket_notify(h, NOTIFY_MODEL, model_id, model_id, kind);
    if (project_id > 0)
        bucket_notify(h, NOTIFY_PROJECT, project_id, model_id, kind);
    pthread_mutex_unlock(&h->mu);
}

/* Wake every subscriber; with lost, also mark its pending changes as lost
 * (the stream then sends `resync`). */
static void wake_every(struct notify_hub *h, int lost)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    for (size_t b = 0; b < NOTIFY_BUCKETS; b++) {
        for (struct notify_sub *s = h->buckets[b]; s; s = s->next) {
            if (lost) {
                s->n = 0;
                s->resync = 1;
            }
            if (s->wake)
                s->wake(s->wake_arg);
        }
    }
    pthread_mutex_unlock(&h->mu);
}

void notify_all_changed(struct notify_hub *h)
{
    wake_every(h, 1);
}

void notify_wake_all(struct notify_hub *h)
{
    wake_every(h, 0);
}

size_t notify_count(struct notify_hub *h)
{
    size_t n;

    if (!h)
        return 0;
    pthread_mutex_lock(&h->mu);
    n = h->count;
    pthread_mutex_unlock(&h->mu);
    return n;
}
