/* SPDX-License-Identifier: MIT */
/* util: clocks, parsing, cursors, growth, hashing and lookup helpers (see util.h). */
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "banned.h" /* last: bans unsafe libc calls */

void util_now_rfc3339(char out[UTIL_TIME_LEN])
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char base[24];

    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, UTIL_TIME_LEN, "%.19s.%03dZ", base, (int)(ts.tv_nsec / 1000000L));
}

int64_t util_now_unix(void)
{
    return (int64_t)time(NULL);
}

double util_monotonic(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void util_deadline_ms(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int util_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end = NULL;
    long long v;

    if (!s || !*s)
        return -1;
    for (const char *p = s; *p; p++)
        if ((*p < '0' || *p > '9') && !(p == s && *p == '-'))
            return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = (int64_t)v;
    return 0;
}

size_t util_utf8_chars_n(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

size_t util_utf8_chars(const char *s)
{
    return util_utf8_chars_n(s, strlen(s));
}

char *util_cursor_encode(int64_t id)
{
    char raw[32];
    size_t raw_len, out_len;
    char *out;

    raw_len = (size_t)snprintf(raw, sizeof(raw), "m1:%lld", (long long)id);
    out_len = sodium_base64_ENCODED_LEN(raw_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out = malloc(out_len);
    if (!out)
        return NULL;
    sodium_bin2base64(out, out_len, (const unsigned char *)raw, raw_len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

int util_cursor_decode(const char *cursor, int64_t *id)
{
    unsigned char raw[32];
    size_t raw_len = 0;

    if (!cursor || strlen(cursor) > 40)
        return -1;
    if (sodium_base642bin(raw, sizeof(raw) - 1, cursor, strlen(cursor), NULL, &raw_len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    raw[raw_len] = '\0';
    if (raw_len < 4 || memcmp(raw, "m1:", 3) != 0)
        return -1;
    return util_parse_i64((const char *)raw + 3, 1, INT64_MAX, id);
}

void util_random_hex(char *out, size_t n)
{
    unsigned char buf[64];

    if (n > sizeof(buf))
        n = sizeof(buf);
    randombytes_buf(buf, n);
    sodium_bin2hex(out, 2 * n + 1, buf, n);
    sodium_memzero(buf, sizeof(buf));
}

void util_hash_hex(const char *s, char out[65])
{
    unsigned char h[32];

    crypto_generichash(h, sizeof(h), (const unsigned char *)s, strlen(s), NULL, 0);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

_Static_assert(UTIL_HASH_KEY == crypto_shorthash_KEYBYTES, "util_hash64 key size");

uint64_t util_hash64(const unsigned char key[UTIL_HASH_KEY], const void *p, size_t n)
{
    unsigned char out[crypto_shorthash_BYTES];
    uint64_t v = 0;

    crypto_shorthash(out, p, n, key);
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)out[i] << (8 * i);
    return v;
}

/* bsearch(3) order of two uint32_t. */
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

long util_find_u32(const uint32_t *a, size_t n, uint32_t x)
{
    const uint32_t *p;

    assert(n == 0 || a);
    assert(n < 2 || a[0] < a[n - 1]);
    p = n ? bsearch(&x, a, n, sizeof *a, cmp_u32) : NULL;
    return p ? (long)(p - a) : -1;
}

void *util_grow(void *buf, size_t *cap, size_t need, size_t elem, size_t min_cap)
{
    size_t n = *cap ? *cap : (min_cap ? min_cap : 1);
    void *nb;

    if (need <= *cap)
        return buf;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return NULL;
        n *= 2;
    }
    if (elem && n > SIZE_MAX / elem)
        return NULL;
    nb = realloc(buf, n * elem);
    if (!nb)
        return NULL;
    *cap = n;
    return nb;
}

/* The text being dumped by util_json_dumps; failed sticks. */
struct dump_text {
    char *s;
    size_t len, cap;
    int failed;
};

static int dump_append(const char *buf, size_t size, void *data)
{
    struct dump_text *d = data;
    char *n = d->failed ? NULL : util_grow(d->s, &d->cap, d->len + size + 1, 1, 256);

    if (!n) {
        d->failed = 1;
        return -1;
    }
    d->s = n;
    memcpy(d->s + d->len, buf, size);
    d->len += size;
    d->s[d->len] = '\0';
    return 0;
}

char *util_json_dumps(const json_t *v, size_t flags)
{
    struct dump_text d = {0};

    if (json_dump_callback(v, dump_append, &d, flags) != 0 || d.failed || !d.s) {
        free(d.s);
        return NULL;
    }
    return d.s;
}
