/* SPDX-License-Identifier: MIT */
/* err: implementation of the error convention declared in err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include "banned.h" /* last: bans unsafe libc calls */

void err_set(struct err *err, enum err_code code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

void err_clear(struct err *err)
{
    if (!err)
        return;
    err->code = ERR_OK;
    err->msg[0] = '\0';
}

const char *err_code_name(enum err_code code)
{
    switch (code) {
    case ERR_OK: return "ok";
    case ERR_INVALID: return "invalid";
    case ERR_NOT_FOUND: return "not-found";
    case ERR_CONFLICT: return "conflict";
    case ERR_UNAUTHORIZED: return "unauthorized";
    case ERR_FORBIDDEN: return "forbidden";
    case ERR_TOO_LARGE: return "too-large";
    case ERR_MEDIA_TYPE: return "unsupported-media-type";
    case ERR_DATA: return "insufficient-data";
    case ERR_CANCELED: return "canceled";
    case ERR_FENCED: return "fenced";
    case ERR_CORRUPT: return "corrupt";
    case ERR_IO: return "io";
    case ERR_NOMEM: return "nomem";
    case ERR_INTERNAL: return "internal";
    }
    return "internal";
}
