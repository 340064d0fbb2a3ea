/* SPDX-License-Identifier: MIT */
/*
 * strbuf: the growing byte buffer of include/strbuf.h. Every append reserves
 * room for its bytes and the terminating NUL through util_grow(), so the one
 * overflow-checked growth rule applies, and a failure is recorded once and
 * kept (the caller checks at the end).
 */
#include "strbuf.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

void strbuf_init(struct strbuf *sb)
{
    *sb = (struct strbuf)STRBUF_INIT;
}

/* Make room for n more bytes and the NUL: 0, or -1 (and failed) when it cannot. */
static int strbuf_reserve(struct strbuf *sb, size_t n)
{
    char *p;

    if (sb->failed)
        return -1;
    if (n > SIZE_MAX - sb->len - 1 || !(p = util_grow(sb->buf, &sb->cap, sb->len + n + 1, 1, 64))) {
        sb->failed = 1;
        return -1;
    }
    sb->buf = p;
    return 0;
}

int strbuf_add(struct strbuf *sb, const void *data, size_t n)
{
    if (strbuf_reserve(sb, n) < 0)
        return -1;
    if (n)
        memcpy(sb->buf + sb->len, data, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
    assert(sb->len < sb->cap);
    return 0;
}

int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (sb->failed)
        return -1;
    va_start(ap, fmt);
    n = vsnprintf(sb->buf ? sb->buf + sb->len : NULL, sb->buf ? sb->cap - sb->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        sb->failed = 1;
        return -1;
    }
    if (!sb->buf || (size_t)n >= sb->cap - sb->len) {
        /* did not fit: grow to the exact need and format again */
        if (strbuf_reserve(sb, (size_t)n) < 0)
            return -1;
        va_start(ap, fmt);
        n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
        va_end(ap);
        assert(n >= 0 && (size_t)n < sb->cap - sb->len);
    }
    sb->len += (size_t)n;
    return 0;
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
    char *s = sb->buf;
    size_t n = sb->len;

    if (sb->failed) {
        strbuf_release(sb);
        return NULL;
    }
    if (!s && !(s = calloc(1, 1)))
        return NULL;
    strbuf_init(sb);
    if (len)
        *len = n;
    return s;
}

void strbuf_release(struct strbuf *sb)
{
    free(sb->buf);
    strbuf_init(sb);
}
