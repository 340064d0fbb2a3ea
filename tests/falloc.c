/* SPDX-License-Identifier: MIT */
/*
 * falloc: the allocation fault injector of the test runner (see falloc.h).
 * The __wrap_* functions replace malloc, calloc, realloc, strdup and strndup
 * in every object file linked into check_all (ld --wrap); they call the real
 * ones (which the sanitizers intercept as usual) unless the countdown fires.
 */
#include "falloc.h"

#include <errno.h>
#include <execinfo.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "auth.h"
#include "db.h"
#include "router.h"

/* ld --wrap: __real_X is the original X, __wrap_X replaces every reference. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
const struct route *__real_router_match(const char *method, const char *path,
                                        struct request *req, struct response *resp);
const struct route *__wrap_router_match(const char *method, const char *path,
                                        struct request *req, struct response *resp);
void __real_auth_caller_release(struct caller *c);
void __wrap_auth_caller_release(struct caller *c);
json_t *__real_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *error);
json_t *__wrap_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *error);
json_t *__real_json_loads(const char *s, size_t flags, json_error_t *error);
json_t *__wrap_json_loads(const char *s, size_t flags, json_error_t *error);
int __real_db_write(struct db *db, db_write_fn fn, void *ctx, struct err *err);
int __wrap_db_write(struct db *db, db_write_fn fn, void *ctx, struct err *err);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg);

static atomic_long countdown;
static atomic_long counted;
static atomic_int watching;
static atomic_long requests_started, requests_done;
static _Thread_local int in_scope;   /* falloc_scope */
static _Thread_local int in_request; /* a watched request's window */
static _Thread_local int in_parser;  /* inside jansson's parser: never failed */

/* MODELD_FALLOC_TRACE=1: each injected failure prints its call stack (to
 * find where a walk failed; addr2line -e check_all names the frames). */
static void trace(void)
{
    void *frames[16];
    int n;

    if (!getenv("MODELD_FALLOC_TRACE"))
        return;
    n = backtrace(frames, 16);
    fprintf(stderr, "falloc: injected failure at\n");
    backtrace_symbols_fd(frames, n, 2);
}

/* 1 when this allocation is the one to fail. */
static int fires(void)
{
    long v;

    if ((!in_scope && !in_request) || in_parser)
        return 0;
    atomic_fetch_add(&counted, 1);
    v = atomic_load(&countdown);
    while (v > 0) {
        if (atomic_compare_exchange_weak(&countdown, &v, v - 1)) {
            if (v == 1) {
                trace();
                errno = ENOMEM;
                return 1;
            }
            return 0;
        }
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return fires() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return fires() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fires() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return fires() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return fires() ? NULL : __real_strndup(s, n);
}

/* jansson's allocator while falloc_init is in effect. */
static void *json_alloc(size_t n)
{
    return __wrap_malloc(n);
}

void falloc_init(void)
{
    json_set_alloc_funcs(json_alloc, free);
}

/* The first routing step of a request opens its window (when watched). */
const struct route *__wrap_router_match(const char *method, const char *path,
                                        struct request *req, struct response *resp)
{
    if (atomic_load(&watching) && !in_request) {
        in_request = 1;
        atomic_fetch_add(&requests_started, 1);
    }
    return __real_router_match(method, path, req, resp);
}

/* The completion callback's last release closes it. */
void __wrap_auth_caller_release(struct caller *c)
{
    __real_auth_caller_release(c);
    if (in_request) {
        in_request = 0;
        atomic_fetch_add(&requests_done, 1);
    }
}

/* A write a request hands to the storage writer (db_write; the SQLite
 * backend runs it on its writer thread, batched with others) is part of
 * that request: its allocations count when the request's do. */
struct on_behalf {
    db_write_fn fn;
    void *ctx;
    int in_request;
};

static int on_behalf_run(struct db_conn *c, void *arg, struct err *err)
{
    struct on_behalf *b = arg;
    int saved = in_request, rc;

    in_request = b->in_request;
    rc = b->fn(c, b->ctx, err);
    in_request = saved;
    return rc;
}

int __wrap_db_write(struct db *db, db_write_fn fn, void *ctx, struct err *err)
{
    struct on_behalf b = {fn, ctx, in_request};

    return __real_db_write(db, on_behalf_run, &b, err);
}

/* A thread started inside a scope is inside it too (the trainer's helper
 * threads do part of the training's work). */
struct scoped_start {
    void *(*fn)(void *);
    void *arg;
};

static void *scoped_main(void *arg)
{
    struct scoped_start s = *(struct scoped_start *)arg;

    free(arg);
    in_scope = 1;
    return s.fn(s.arg);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg)
{
    struct scoped_start *s;
    int rc;

    if (!in_scope)
        return __real_pthread_create(t, attr, fn, arg);
    s = __real_malloc(sizeof(*s)); /* not counted: thread creation is not under test */
    if (!s)
        return EAGAIN;
    s->fn = fn;
    s->arg = arg;
    rc = __real_pthread_create(t, attr, scoped_main, s);
    if (rc != 0)
        free(s);
    return rc;
}

/*
 * jansson's parser is not walked: it ignores a failed allocation while it
 * saves a token's text (2.14, load.c: lex_save drops the result of
 * strbuffer_append_byte) and then reads and writes past the saved text
 * (ASan: SEGV in json_loadb). Nothing in modeld can make that clean.
 */
json_t *__wrap_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *error)
{
    int was = in_parser;
    json_t *v;

    in_parser = 1;
    v = __real_json_loadb(buf, len, flags, error);
    in_parser = was;
    return v;
}

json_t *__wrap_json_loads(const char *s, size_t flags, json_error_t *error)
{
    int was = in_parser;
    json_t *v;

    in_parser = 1;
    v = __real_json_loads(s, flags, error);
    in_parser = was;
    return v;
}

void falloc_inject(long n)
{
    atomic_store(&countdown, n > 0 ? n : 0);
}

long falloc_pending(void)
{
    return atomic_load(&countdown);
}

long falloc_counted(void)
{
    return atomic_load(&counted);
}

void falloc_scope(int on)
{
    in_scope = on;
}

void falloc_watch_requests(int on)
{
    atomic_store(&watching, on);
}

long falloc_requests_done(void)
{
    return atomic_load(&requests_done);
}

long falloc_requests_open(void)
{
    return atomic_load(&requests_started) - atomic_load(&requests_done);
}
