/* SPDX-License-Identifier: MIT */
/*
 * sqlite/idem.c: the stored answers of requests with an Idempotency-Key
 * (24 h), written in the transaction of the work they answer.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* ---- idempotency keys ------------------------------------------------------------ */

#define IDEM_TTL_S (24 * 3600)

int sq_idem_get(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                struct db_idem *out, struct err *err)
{
    sqlite3_stmt *st = sq_stmt(c, STMT_IDEM_GET, err);

    memset(out, 0, sizeof(*out));
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, user_id);
    sq_bind_text(st, 2, key);
    sqlite3_bind_int64(st, 3, now - IDEM_TTL_S);
    switch (sq_step_row(c, st, "no such key", err)) {
    case 0:
        return 0;
    case 1:
        break;
    default:
        return -1;
    }
    out->request_hash = sq_col_dup(st, 0);
    out->status = sqlite3_column_int(st, 1);
    out->location = sq_col_dup(st, 2);
    out->body = sq_col_dup(st, 3);
    sq_done(st);
    if (!out->request_hash || !out->body) {
        db_idem_release(out);
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    return 1;
}

int sq_idem_put(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                const struct db_idem *r, struct err *err)
{
    if (c->depth == 0) {
        err_set(err, ERR_INTERNAL, "db_idem_put needs an open transaction");
        return -1;
    }
    /* a few expired records each time */
    if (sq_exec(c, STMT_IDEM_PURGE, err, "i", now - (int64_t)IDEM_TTL_S) != 0)
        return -1;
    return sq_exec(c, STMT_IDEM_PUT, err, "ittitti", user_id, key, r->request_hash,
                (int64_t)r->status, r->location, r->body, now);
}

