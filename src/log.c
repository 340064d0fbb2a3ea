/* SPDX-License-Identifier: MIT */
/* log: stderr logger (see log.h). The level is written once before threads start. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

static atomic_int log_level_cur = LOG_LEVEL_INFO;

void log_init(enum log_level level)
{
    atomic_store(&log_level_cur, (int)level);
}

int log_enabled(enum log_level level)
{
    return (int)level >= atomic_load(&log_level_cur);
}

void log_write(enum log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error", "off"};
    char ts[UTIL_TIME_LEN];
    char line[2048];
    va_list ap;

    util_now_rfc3339(ts);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s %s %s\n", ts, names[level], line);
}
