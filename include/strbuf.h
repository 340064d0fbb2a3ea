/* SPDX-License-Identifier: MIT */
/*
 * strbuf: a growing byte buffer for text built by appending (a metrics page,
 * an artifact image, a message), after git's strbuf.
 *
 * The buffer is always NUL-terminated after its len bytes, so it can be used
 * as a C string when it holds text. Failure is sticky: when an append cannot
 * grow the buffer (memory, size overflow, an encoding error in a format),
 * the buffer is marked failed, later appends do nothing, and
 * strbuf_detach() returns NULL; a caller appends freely and checks once.
 * Growth is util_grow()'s overflow-checked doubling.
 *
 * Thread-safety: a strbuf belongs to one thread; the functions are reentrant.
 */
#ifndef MODELD_STRBUF_H
#define MODELD_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *buf;  /* NULL until the first append; then NUL-terminated after len */
    size_t len; /* bytes held, not counting the terminating NUL */
    size_t cap; /* bytes allocated (len < cap once buf is set) */
    int failed; /* 1 after an append failed: the contents are incomplete */
};

#define STRBUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

/* An empty buffer (what STRBUF_INIT gives). */
void strbuf_init(struct strbuf *sb);

/* Append n bytes of data (which may hold NULs). 0, or -1 when the buffer is
 * (now) failed. */
int strbuf_add(struct strbuf *sb, const void *data, size_t n);

/* Append printf-style text. 0, or -1 when the buffer is (now) failed. */
__attribute__((format(printf, 2, 3))) int strbuf_addf(struct strbuf *sb, const char *fmt, ...);

/* The contents, which the caller now owns (free()), with their length in
 * *len (may be NULL); an empty buffer gives an allocated "". NULL when the
 * buffer failed or memory is short. The buffer is empty again afterwards. */
char *strbuf_detach(struct strbuf *sb, size_t *len);

/* Free the contents; the buffer is empty again (and no longer failed). */
void strbuf_release(struct strbuf *sb);

#endif
