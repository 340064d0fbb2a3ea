/* SPDX-License-Identifier: MIT */
/*
 * err: the one error convention of modeld.
 *
 * A function that can fail returns 0 / -1 (or a pointer / NULL) and takes a
 * `struct err *err` as its last parameter, which it fills on failure.
 * err may be NULL when the caller does not care. The code decides the HTTP
 * status (see problem.h); the message is meant for the user and must never
 * carry secrets, SQL or file-system internals for ERR_INTERNAL.
 *
 * Thread-safety: all functions are reentrant.
 */
#ifndef MODELD_ERR_H
#define MODELD_ERR_H

#include <stddef.h>

enum err_code {
    ERR_OK = 0,
    ERR_INVALID,      /* bad input from the caller (400) */
    ERR_NOT_FOUND,    /* the thing does not exist (404) */
    ERR_CONFLICT,     /* state does not allow it (409) */
    ERR_UNAUTHORIZED, /* no / bad credentials (401) */
    ERR_FORBIDDEN,    /* authenticated but not allowed (403) */
    ERR_TOO_LARGE,    /* payload too large (413) */
    ERR_MEDIA_TYPE,   /* unsupported media type (415) */
    ERR_DATA,         /* training data cannot make a model; message is for users */
    ERR_CANCELED,     /* a job was canceled */
    ERR_FENCED,       /* a worker's write about a job its attempt no longer holds */
    ERR_CORRUPT,      /* a stored artifact failed its checks */
    ERR_IO,           /* file-system error */
    ERR_NOMEM,        /* allocation failed */
    ERR_INTERNAL      /* anything else (500); message is logged, not sent */
};

#define ERR_MSG_MAX 512

struct err {
    enum err_code code;
    char msg[ERR_MSG_MAX];
};

/* Fill err (if not NULL) with code and a printf-style message. */
void err_set(struct err *err, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reset err (if not NULL) to ERR_OK with an empty message. */
void err_clear(struct err *err);

/* Short stable name of a code, e.g. "invalid" (never NULL). */
const char *err_code_name(enum err_code code);

#endif
