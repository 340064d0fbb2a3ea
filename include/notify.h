/* SPDX-License-Identifier: MIT */
/*
 * notify: the in-process hub of model changes that event streams wait on.
 *
 * Whoever changes a model (a handler, a training worker, the start-up
 * requeue) says so with notify_model_changed(project, model, kind) once the
 * change is committed; the hub records the change for every subscriber of
 * that model or of its project and calls the subscriber's wake function.
 * The hub carries only "model X of project P was created / changed /
 * deleted", never the new state: a subscriber reads the state itself when
 * woken. So any source of such facts can feed it (a PostgreSQL backend would
 * feed it from LISTEN/NOTIFY), and a subscriber that nobody notifies costs
 * nothing: no thread, no timer, no read.
 *
 * Pending changes are coalesced per model (a model changed ten times since
 * the subscriber last looked is one entry) and bounded; a subscriber that
 * lets more than NOTIFY_PENDING_MAX models pile up loses them and is told to
 * resynchronize instead (notify_sub_take's *resync).
 *
 * Locking: the hub has one mutex. A subscriber's wake function is called
 * with it held, so it must not call into the hub; it may take its own locks
 * (http_ takes its stream-list lock and resumes the MHD connection), which
 * makes the order hub -> caller's locks. Never call the hub holding a lock
 * that a wake function takes.
 *
 * Thread-safety: every function may be called from any thread; one
 * subscription is taken and released by one thread at a time.
 */
#ifndef MODELD_NOTIFY_H
#define MODELD_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

/* Most distinct models pending for one subscriber before it must resync. */
#define NOTIFY_PENDING_MAX 1024

enum notify_kind {
    NOTIFY_CREATED, /* the model row exists now */
    NOTIFY_CHANGED, /* status, progress, score, names... (read the row) */
    NOTIFY_DELETED  /* the model row is gone */
};

/* What a subscription follows: one model, or every model of one project. */
enum notify_scope { NOTIFY_MODEL, NOTIFY_PROJECT };

struct notify_change {
    int64_t model_id;
    enum notify_kind kind; /* coalesced: CREATED or DELETED win over CHANGED */
};

typedef void (*notify_wake_fn)(void *arg);

struct notify_hub;
struct notify_sub;

/* A new hub, or NULL when memory is short. */
struct notify_hub *notify_hub_new(void);
/* Free the hub; every subscription must have been released. Accepts NULL. */
void notify_hub_free(struct notify_hub *h);

/*
 * Subscribe to the changes of model id (NOTIFY_MODEL) or of every model of
 * project id (NOTIFY_PROJECT), from now on. Changes are recorded at once;
 * nobody is woken until notify_sub_watch. Returns NULL when memory is short
 * or h is NULL. Release with notify_unsubscribe.
 */
struct notify_sub *notify_subscribe(struct notify_hub *h, enum notify_scope scope, int64_t id);

/* From now on, call wake(arg) (with the hub's lock held, from the notifying
 * thread) after each change recorded for s; once at once if some are pending. */
void notify_sub_watch(struct notify_sub *s, notify_wake_fn wake, void *arg);

/*
 * Move up to max pending changes of s into out, oldest first; returns how
 * many (more may remain). *resync is set to 1 when changes were lost since
 * the last call (the pending set overflowed, or notify_all_changed): the
 * subscriber must then re-read everything it follows; else to 0.
 */
size_t notify_sub_take(struct notify_sub *s, struct notify_change *out, size_t max, int *resync);

/* Cancel and free the subscription; after it returns, its wake function is
 * not running and will not be called again. Accepts NULL. */
void notify_unsubscribe(struct notify_sub *s);

/* Model model_id of project project_id was created, changed or deleted (call
 * after the change is committed). Accepts h == NULL (no-op). */
void notify_model_changed(struct notify_hub *h, int64_t project_id, int64_t model_id,
                          enum notify_kind kind);

/* Anything may have changed (e.g. many rows at once, or a lost feed):
 * every subscriber is told to resync and woken. Accepts NULL. */
void notify_all_changed(struct notify_hub *h);
/* Wake every subscriber without recording a change (their streams then check
 * again whether their caller may still follow them; see handler_events.c). */
void notify_wake_all(struct notify_hub *h);
/* How many subscriptions are open (0 for NULL). */
size_t notify_count(struct notify_hub *h);

#endif
