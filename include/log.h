/* SPDX-License-Identifier: MIT */
/*
 * log: level-checked logging to stderr, one line per call, with a UTC time stamp.
 * The level is set once at start-up (log_init) before any thread starts.
 * Never pass tokens or document text to these functions.
 *
 * Thread-safety: log_* may be called from any thread (stdio locks the stream).
 */
#ifndef MODELD_LOG_H
#define MODELD_LOG_H

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR, LOG_LEVEL_OFF };

void log_init(enum log_level level);
int log_enabled(enum log_level level);
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_DEBUG(...) do { if (log_enabled(LOG_LEVEL_DEBUG)) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)
#define LOG_INFO(...)  do { if (log_enabled(LOG_LEVEL_INFO)) log_write(LOG_LEVEL_INFO, __VA_ARGS__); } while (0)
#define LOG_WARN(...)  do { if (log_enabled(LOG_LEVEL_WARN)) log_write(LOG_LEVEL_WARN, __VA_ARGS__); } while (0)
#define LOG_ERROR(...) do { if (log_enabled(LOG_LEVEL_ERROR)) log_write(LOG_LEVEL_ERROR, __VA_ARGS__); } while (0)

#endif
