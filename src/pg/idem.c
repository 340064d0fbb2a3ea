/* SPDX-License-Identifier: MIT */
/*
 * pg/idem.c: the stored answers of requests with an Idempotency-Key
 * (24 h), written in the transaction of the work they answer, as in
 * src/sqlite/idem.c. The primary key (user_id, key) holds across daemons.
 */
#include "internal.h"

#include <string.h>

#include "banned.h" /* last: bans unsafe libc calls */

#define IDEM_TTL_S (24 * 3600)

int pg_idem_get(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                struct db_idem *out, struct err *err)
{
    PGresult *r;

    memset(out, 0, sizeof(*out));
    switch (pg_row(c, STMT_IDEM_GET, &r, "no such key", err, "iti", user_id, key,
                   now - (int64_t)IDEM_TTL_S)) {
    case 0:
        err_clear(err);
        return 0;
    case 1:
        break;
    default:
        return -1;
    }
    out->request_hash = pg_col_dup(r, 0, 0);
    out->status = (int)pg_col_int(r, 0, 1);
    out->location = pg_col_dup(r, 0, 2);
    out->body = pg_col_dup(r, 0, 3);
    PQclear(r);
    if (!out->request_hash || !out->body) {
        db_idem_release(out);
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    return 1;
}

int pg_idem_put(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                const struct db_idem *r, struct err *err)
{
    if (c->depth == 0) {
        err_set(err, ERR_INTERNAL, "db_idem_put needs an open transaction");
        return -1;
    }
    /* a few expired records each time */
    if (pg_exec(c, STMT_IDEM_PURGE, err, "i", now - (int64_t)IDEM_TTL_S) != 0)
        return -1;
    return pg_exec(c, STMT_IDEM_PUT, err, "ittitti", user_id, key, r->request_hash,
                   (int64_t)r->status, r->location, r->body, now);
}
