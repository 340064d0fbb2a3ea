/* SPDX-License-Identifier: MIT */
/*
 * pcache: loaded predictors shared read-only between request threads, by
 * artifact path, least recently used out of PCACHE_SLOTS.
 *
 * pcache_get returns a reference (give it back with pcache_put), loading the
 * artifact outside the lock when it is not cached. With every slot in use
 * the predictor is served uncached and pcache_put frees it. pcache_evict
 * drops an artifact (after a delete); users holding it keep a working
 * predictor until they put it.
 *
 * Thread-safety: every function but pcache_free may be called from any thread.
 */
#ifndef MODELD_PCACHE_H
#define MODELD_PCACHE_H

#include "err.h"
#include "predictor.h"

#define PCACHE_SLOTS 16

struct pcache;
struct pcache *pcache_new(void);
/* Free the cache; no predictor of it may still be held. */
void pcache_free(struct pcache *p);
const struct predictor *pcache_get(struct pcache *p, const char *artifact, struct err *err);
void pcache_put(struct pcache *p, const struct predictor *pred);
void pcache_evict(struct pcache *p, const char *artifact);

#endif
