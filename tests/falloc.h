/* SPDX-License-Identifier: MIT */
/*
 * falloc: allocation fault injection for the test runner (SQLite's
 * test_malloc.c idea). check_all is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup,
 * so every allocation our own object files make goes through this module
 * (the shared libraries' own allocations do not; jansson's do after
 * falloc_init, except inside its parser, which cannot survive a failure:
 * see falloc.c). falloc_inject(n) makes the n-th *counted* allocation from
 * now return NULL (errno ENOMEM), once.
 *
 * Only some allocations are counted, so that a walk over n is deterministic
 * while other threads run:
 *   - those of a thread inside falloc_scope(1) (an in-process call such as
 *     trainer_run or a handler called directly), and of the threads it
 *     starts meanwhile (pthread_create is wrapped as well);
 *   - with falloc_watch_requests(1), those of an HTTP request of the
 *     in-process daemon, from its routing to the end of its completion
 *     callback (the window opens in router_match and closes in
 *     auth_caller_release, which http.c calls once per request at those two
 *     points; both are wrapped with --wrap too). The allocations before
 *     routing (the per-request context) are not counted: a failure there
 *     makes libmicrohttpd drop the connection, by design.
 *
 * MODELD_FALLOC_TRACE=1 prints the call stack of every injected failure.
 *
 * Thread-safety: the counters are atomics; the scope is per thread.
 */
#ifndef MODELD_FALLOC_H
#define MODELD_FALLOC_H

/* Route jansson's allocations through the injector. Call before any other
 * thread starts (json_set_alloc_funcs is not thread-safe). */
void falloc_init(void);

/* The n-th counted allocation from now fails, once; 0 turns it off. */
void falloc_inject(long n);
/* Counted allocations left before the fault (0: it fired, or it is off). */
long falloc_pending(void);
/* Counted allocations since the process started. */
long falloc_counted(void);

/* Count the calling thread's allocations (1) or stop (0). */
void falloc_scope(int on);
/* Count the allocations of the in-process daemon's requests (1) or stop (0). */
void falloc_watch_requests(int on);
/* How many watched requests have completed (their window closed), and how
 * many were routed but have not completed yet (the client may have its
 * answer before the daemon's completion callback ran). */
long falloc_requests_done(void);
long falloc_requests_open(void);

#endif
