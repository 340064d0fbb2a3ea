/* SPDX-License-Identifier: MIT */
/*
 * pg/idem.c: the stored answers of requests with an Idempotency-Key
 * (24 h), written in the transaction of the work they answer, and the marks
 * of keys in progress, as in src/sqlite/idem.c. The primary key (user_id,
 * key) holds across daemons.
 */
#include "internal.h"

#include <string.h>

#include "banned.h" /* last: bans unsafe libc calls */

#define IDEM_TTL_S (24 * 3600)

/* The mark of a key nobody has: a plain INSERT, so a daemon that inserted
 * the same key meanwhile makes this one fail as a unique violation
 * (ERR_CONFLICT: the key is in use) instead of overwriting its mark. */
static int idem_mark_new(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                         const char *me, struct err *err)
{
    return pg_exec(c, STMT_IDEM_INSERT, err, "itit", user_id, key, now, me[0] ? me : NULL);
}

/*
 * As sq_idem_begin. Two daemons taking a new key at once: both find no row,
 * both insert the mark; ON CONFLICT makes the second wait for the first's
 * commit and then overwrite its mark, so the key row is read FOR UPDATE and
 * the mark only written when the row was absent or could be taken over; a
 * concurrent first insert is caught by the unique key (ERR_CONFLICT: in use).
 */
int pg_idem_begin(struct db_conn *c, int64_t user_id, const char *key, int64_t now,
                  struct db_idem *out, struct err *err)
{
    const char *me = c->db->daemon_id;
    PGresult *r = NULL;
    int fresh, held;

    switch (pg_row(c, STMT_IDEM_GET, &r, "no such key", err, "itit", user_id, key,
                   now - (int64_t)IDEM_TTL_S, me)) {
    case 0: /* never used: mark it */
        err_clear(err);
        return idem_mark_new(c, user_id, key, now, me, err);
    case 1:
        break;
    default:
        return -1;
    }
    fresh = pg_col_int(r, 0, 4) != 0;
    held = pg_col_int(r, 0, 5) != 0;
    if (held) { /* a request of another live daemon is doing the work */
        PQclear(r);
        err_set(err, ERR_CONFLICT, "idempotency key in use by another daemon");
        return -1;
    }
    if (!fresh || pg_col_int(r, 0, 1) == 0) {
        /* expired, or the mark of a gone daemon (or of this one): take it over */
        PQclear(r);
        return pg_exec(c, STMT_IDEM_MARK, err, "itit", user_id, key, now, me[0] ? me : NULL);
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

int pg_idem_unmark(struct db_conn *c, int64_t user_id, const char *key, struct err *err)
{
    return pg_exec(c, STMT_IDEM_UNMARK, err, "itt", user_id, key, c->db->daemon_id);
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
