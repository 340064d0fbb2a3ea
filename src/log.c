/* SPDX-License-Identifier: MIT */
/*
 * log: the stderr logger (see log.h). A line is built in a fixed buffer in
 * the chosen format and written with one fputs, so lines of concurrent
 * threads never interleave; a line longer than the buffer is cut (a JSON
 * line keeps its closing brace). The level and format are written once
 * before threads start.
 */
#include "log.h"

#include <assert.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define LINE_MAX_BYTES 8192

static atomic_int log_level_cur = LOG_LEVEL_INFO;
static atomic_int log_format_cur = LOG_FORMAT_TEXT;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};
static const char *const format_names[] = {"text", "logfmt", "json"};

/* A line being built. The last RESERVE bytes are kept for what closes it
 * (a quote, "}", "\n", NUL); once something did not fit, `cut` is set and
 * nothing more is appended, so a value is never split mid-escape. */
#define RESERVE 8
struct line {
    char buf[LINE_MAX_BYTES];
    size_t n;
    int cut;
};

void log_init(enum log_level level)
{
    atomic_store(&log_level_cur, (int)level);
}

void log_set_format(enum log_format format)
{
    atomic_store(&log_format_cur, (int)format);
}

int log_enabled(enum log_level level)
{
    return (int)level >= atomic_load(&log_level_cur);
}

/* Index of s in names[0..n), or -1. */
static int name_index(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int log_level_parse(const char *s, enum log_level *out)
{
    int i = name_index(s, level_names, LOG_LEVEL_OFF);

    if (i < 0)
        return -1;
    *out = (enum log_level)i;
    return 0;
}

int log_format_parse(const char *s, enum log_format *out)
{
    int i = name_index(s, format_names, 3);

    if (i < 0)
        return -1;
    *out = (enum log_format)i;
    return 0;
}

/* Append len bytes whole, or nothing (and mark the line cut). */
static void put(struct line *l, const char *s, size_t len)
{
    if (l->cut || len > sizeof(l->buf) - RESERVE - l->n) {
        l->cut = 1;
        return;
    }
    memcpy(l->buf + l->n, s, len);
    l->n += len;
}

/* Append one closing byte from the reserve. */
static void put_close(struct line *l, char c)
{
    assert(l->n < sizeof(l->buf) - 1);
    l->buf[l->n++] = c;
}

static void puts_(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (at most avail bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4;
    else
        return 0;
    if (s[0] == 0xe0)
        lo = 0xa0;
    else if (s[0] == 0xed)
        hi = 0x9f;
    else if (s[0] == 0xf0)
        lo = 0x90;
    else if (s[0] == 0xf4)
        hi = 0x8f;
    if (avail < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* s as the body of a JSON string: quotes, backslashes and control bytes
 * escaped, bytes that are not UTF-8 replaced by U+FFFD. */
static void put_json(struct line *l, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);

    while (left > 0 && !l->cut) {
        char esc[8];
        size_t k;

        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put(l, esc, 2);
            k = 1;
        } else if (*p < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", *p);
            put(l, esc, 6);
            k = 1;
        } else if ((k = utf8_seq(p, left)) == 0) {
            put(l, "\\ufffd", 6);
            k = 1;
        } else {
            put(l, (const char *)p, k);
        }
        p += k;
        left -= k;
    }
}

/* s as a logfmt value: bare when it is a plain word, else quoted with
 * quotes, backslashes and control bytes escaped. */
static void put_logfmt(struct line *l, const char *s)
{
    int quote = *s == '\0' || strpbrk(s, " =\"\\") != NULL;
    size_t mark = l->n;

    for (const unsigned char *p = (const unsigned char *)s; *p && !quote; p++)
        quote = *p < 0x20 || *p == 0x7f;
    if (!quote) {
        puts_(l, s);
        return;
    }
    put(l, "\"", 1);
    if (l->cut) {
        l->n = mark;
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p && !l->cut; p++) {
        char esc[8];

        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put(l, esc, 2);
        } else if (*p == '\n') {
            put(l, "\\n", 2);
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", *p);
            put(l, esc, 4);
        } else {
            put(l, (const char *)p, 1);
        }
    }
    put_close(l, '"');
}

/* One key/value pair in the current format (not text); a pair whose key
 * does not fit is left out whole, a value that does not fit is cut. A
 * number is written whole or not at all. */
static void put_pair(struct line *l, enum log_format f, const char *key, const char *value,
                     int number, int first)
{
    size_t mark = l->n;

    if (l->cut)
        return;
    if (f == LOG_FORMAT_JSON) {
        puts_(l, first ? "\"" : ",\"");
        puts_(l, key);
        puts_(l, number ? "\":" : "\":\"");
        if (number)
            puts_(l, value);
        if (l->cut) {
            l->n = mark;
            return;
        }
        if (!number) {
            put_json(l, value);
            put_close(l, '"');
        }
        return;
    }
    if (!first)
        put(l, " ", 1);
    puts_(l, key);
    put(l, "=", 1);
    if (l->cut) {
        l->n = mark;
        return;
    }
    put_logfmt(l, value);
}

/* Format and write one line. */
static void emit(enum log_level level, const char *rid, const struct log_field *fields,
                 size_t nfields, const char *fmt, va_list ap)
{
    enum log_format f = (enum log_format)atomic_load(&log_format_cur);
    char ts[UTIL_TIME_LEN], msg[2048];
    struct line l;

    l.n = 0;
    l.cut = 0;
    util_now_rfc3339(ts);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (f == LOG_FORMAT_TEXT) {
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' '; /* one line per call */
        puts_(&l, ts);
        put(&l, " ", 1);
        puts_(&l, level_names[level]);
        if (rid) {
            puts_(&l, " request ");
            puts_(&l, rid);
        }
        put(&l, " ", 1);
        puts_(&l, msg);
    } else {
        if (f == LOG_FORMAT_JSON)
            put(&l, "{", 1);
        put_pair(&l, f, "time", ts, 0, 1);
        put_pair(&l, f, "level", level_names[level], 0, 0);
        put_pair(&l, f, "msg", msg, 0, 0);
        if (rid)
            put_pair(&l, f, "request_id", rid, 0, 0);
        for (size_t i = 0; i < nfields; i++)
            put_pair(&l, f, fields[i].key, fields[i].value ? fields[i].value : "",
                     fields[i].number && fields[i].value, 0);
        if (f == LOG_FORMAT_JSON)
            put_close(&l, '}');
    }
    put_close(&l, '\n');
    l.buf[l.n] = '\0';
    fputs(l.buf, stderr);
}

void log_write(enum log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(level, NULL, NULL, 0, fmt, ap);
    va_end(ap);
}

void log_write_req(enum log_level level, const char *request_id, const struct log_field *fields,
                   size_t nfields, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(level, request_id, fields, nfields, fmt, ap);
    va_end(ap);
}
