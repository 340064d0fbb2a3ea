/* SPDX-License-Identifier: MIT */
/*
 * sqlite/idem.c: the stored answers of requests with an Idempotency-Key
 * (24 h), written in the transaction of the work they answer, and the marks
 * of keys in progress (status 0, with the daemon doing the work), which
 * expire with that daemon's lease.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

/* ---- idempotency keys ------------------------------------------------------------ */

#define IDEM_TTL_S (24 * 3600)

int sq_idem_begin(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                  struct db_idem *out, struct err *err)
{
    const char *me = c->db->daemon_id;
    sqlite3_stmt *st = sq_prep(c, STMT_IDEM_GET, err, "ititi", user_id, key,
                               now - (int64_t)IDEM_TTL_S, me, sq_now_ms());
    int fresh, held;

    if (!st)
        return -1;
    switch (sq_step_row(c, st, "no such key", err)) {
    case 0: /* never used: mark it */
        err_clear(err);
        return sq_exec(c, STMT_IDEM_MARK, err, "itit", user_id, key, now, me[0] ? me : NULL);
    case 1:
        break;
    default:
        return -1;
    }
    fresh = sqlite3_column_int(st, 4);
    held = sqlite3_column_int(st, 5);
    if (held) { /* a request of another live daemon is doing the work */
        sq_done(st);
        err_set(err, ERR_CONFLICT, "idempotency key in use by another daemon");
        return -1;
    }
    if (!fresh || sqlite3_column_int(st, 1) == 0) {
        /* expired, or the mark of a gone daemon (or of this one, whose
         * registry let the caller in): take it over */
        sq_done(st);
        return sq_exec(c, STMT_IDEM_MARK, err, "itit", user_id, key, now, me[0] ? me : NULL);
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

int sq_idem_unmark(struct db_conn *c, int64_t user_id, const char *key, struct err *err)
{
    return sq_exec(c, STMT_IDEM_UNMARK, err, "itt", user_id, key, c->db->daemon_id);
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

