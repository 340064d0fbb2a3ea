/* SPDX-License-Identifier: MIT */
/*
 * log: level-checked logging to stderr, one line per call, with a UTC time
 * stamp, in one of three formats chosen at start-up (`--log-format`):
 *
 *   text    2026-11-28T07:20:22.111Z info request 00000002 GET /x -> 200 0.8ms
 *   logfmt  time=2026-11-28T07:20:22.111Z level=info msg="GET /x -> 200 0.8ms"
 *           request_id=00000002 method=GET path=/x status=200 duration_ms=0.8
 *   json    {"time":"…","level":"info","msg":"GET /x -> 200 0.8ms",
 *            "request_id":"00000002","method":"GET",…,"status":200,…}
 *
 * Every line has the time, the level and the message; a line written for a
 * request (log_write_req) also has its request id, and may carry fields of
 * its own (logfmt and json show them; text shows the message only, which
 * says the same for people). Values are escaped for the format (logfmt
 * quotes, JSON escapes and replaces bytes that are not UTF-8), so a value
 * never splits or forges a line; message control bytes become spaces.
 *
 * The level and format are set once at start-up (log_init, log_set_format)
 * before any thread starts. Never pass tokens or document text to these
 * functions.
 *
 * Thread-safety: log_* may be called from any thread (one fputs per line;
 * stdio locks the stream).
 */
#ifndef MODELD_LOG_H
#define MODELD_LOG_H

#include <stddef.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR, LOG_LEVEL_OFF };

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_LOGFMT, LOG_FORMAT_JSON };

/* One extra field of a line: key (a plain identifier) and value; number != 0
 * writes the value unquoted in JSON (the caller guarantees it is a number). */
struct log_field {
    const char *key;
    const char *value;
    int number;
};

void log_init(enum log_level level);
void log_set_format(enum log_format format);
int log_enabled(enum log_level level);

/* "debug", "info", "warn", "error" into *out: 0, or -1 for anything else. */
int log_level_parse(const char *s, enum log_level *out);
/* "text", "logfmt", "json" into *out: 0, or -1 for anything else. */
int log_format_parse(const char *s, enum log_format *out);

void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line for request request_id (NULL: none) with nfields extra fields. */
void log_write_req(enum log_level level, const char *request_id, const struct log_field *fields,
                   size_t nfields, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define LOG_DEBUG(...) do { if (log_enabled(LOG_LEVEL_DEBUG)) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)
#define LOG_INFO(...)  do { if (log_enabled(LOG_LEVEL_INFO)) log_write(LOG_LEVEL_INFO, __VA_ARGS__); } while (0)
#define LOG_WARN(...)  do { if (log_enabled(LOG_LEVEL_WARN)) log_write(LOG_LEVEL_WARN, __VA_ARGS__); } while (0)
#define LOG_ERROR(...) do { if (log_enabled(LOG_LEVEL_ERROR)) log_write(LOG_LEVEL_ERROR, __VA_ARGS__); } while (0)
/* An error line of a request: its id is a field. */
#define LOG_REQ_ERROR(rid, ...) do { if (log_enabled(LOG_LEVEL_ERROR)) log_write_req(LOG_LEVEL_ERROR, (rid), NULL, 0, __VA_ARGS__); } while (0)

#endif
