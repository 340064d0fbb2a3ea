/* SPDX-License-Identifier: MIT */
/*
 * util: small helpers shared by modules: clocks and RFC 3339 time stamps,
 * strict integer parsing, UTF-8 length, opaque URL-safe cursors, the array
 * growth rule, the keyed 64-bit hash and a sorted-array lookup.
 *
 * Thread-safety: all functions are reentrant.
 */
#ifndef MODELD_UTIL_H
#define MODELD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define UTIL_TIME_LEN 32

/* Current UTC time as RFC 3339 with milliseconds, e.g. "2026-11-28T06:13:49.123Z". */
void util_now_rfc3339(char out[UTIL_TIME_LEN]);

/*
 * Grow an array so it holds at least need elements of elem bytes: the
 * capacity *cap doubles (from min_cap) until it does. Returns the new array
 * (realloc'd from buf; *cap updated), buf itself when it is big enough, or
 * NULL when the size would overflow or memory is short (buf and *cap
 * untouched). The one growth rule of the hand-written arrays.
 */
void *util_grow(void *buf, size_t *cap, size_t need, size_t elem, size_t min_cap);

/*
 * json_dumps(v, flags), except that running out of memory anywhere gives
 * NULL: jansson (2.14) ignores a failed write of an object key and returns
 * the text without it. Caller frees.
 */
struct json_t;
char *util_json_dumps(const struct json_t *v, size_t flags);

/* Seconds since the epoch (wall clock) and a monotonic clock in seconds. */
int64_t util_now_unix(void);
double util_monotonic(void);
/* The wall-clock time ms milliseconds from now into *ts: the deadline of a
 * pthread_cond_timedwait (whose condition variable uses CLOCK_REALTIME). */
void util_deadline_ms(struct timespec *ts, long ms);

/* Parse a whole string as a decimal int64 in [min, max]. 0 on success, -1 otherwise. */
int util_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Number of code points in a valid UTF-8 string. */
size_t util_utf8_chars(const char *s);

/* Number of code points in the first len bytes of a valid UTF-8 string (a
 * code-point offset of a byte offset). */
size_t util_utf8_chars_n(const char *s, size_t len);

/* Encode a model id as an opaque, URL-safe cursor string (caller frees) and back.
 * util_cursor_decode returns -1 for anything it did not make. */
char *util_cursor_encode(int64_t id);
int util_cursor_decode(const char *cursor, int64_t *id);

/* Fill buf with n random bytes from the OS (libsodium) and hex-encode them
 * into out (2n+1 bytes). */
void util_random_hex(char *out, size_t n);

/* Hex BLAKE2b-256 of s into out[65]. */
void util_hash_hex(const char *s, char out[65]);

/* Bytes of a util_hash64() key. */
#define UTIL_HASH_KEY 16

/*
 * Keyed 64-bit hash of the n bytes at p: SipHash-2-4 (libsodium's
 * crypto_shorthash) read as a little-endian integer, so the value is the same
 * on every machine. Feature hashing and the data split persist what it gives
 * (feature ids in artifacts, split assignments), so it must never change.
 * The one non-cryptographic hash of modeld.
 */
uint64_t util_hash64(const unsigned char key[UTIL_HASH_KEY], const void *p, size_t n);

/* Index of x in a[0..n), sorted ascending without repeats (bsearch(3)), or -1. */
long util_find_u32(const uint32_t *a, size_t n, uint32_t x);

#endif
