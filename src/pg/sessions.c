/* SPDX-License-Identifier: MIT */
/*
 * pg/sessions.c: browser sessions (POST /session, DELETE /session), as in
 * src/sqlite/sessions.c: a row holds the hashes of the cookie's id and of
 * the CSRF token, the token the session was signed in with, and its expiry.
 * Reading a session gives that token's hash back instead of a user: the
 * caller checks the token as it checks a bearer token, so a revoked or
 * expired token ends every session made from it at once.
 */
#include "internal.h"

#include <string.h>

#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

int pg_session_create(struct db_conn *c, const char *token_hash, const struct db_session *s,
                      int64_t now, int64_t *expires_at, struct err *err)
{
    char created[UTIL_TIME_LEN];
    PGresult *r;
    int64_t rc;

    if (pg_exec(c, STMT_SESSION_PURGE, err, "i", now) != 0)
        return -1;
    util_now_rfc3339(created);
    rc = pg_exec_count(c, STMT_SESSION_INSERT, err, "ttttii", token_hash, s->hash, s->csrf_hash,
                       created, s->expires_at, now);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        err_set(err, ERR_NOT_FOUND, "token not found");
        return -1;
    }
    if (pg_row(c, STMT_SESSION_GET, &r, "session not found", err, "ti", s->hash, now) != 1)
        return -1;
    *expires_at = pg_col_int(r, 0, 2);
    PQclear(r);
    return 0;
}

/* Copy column col (a hex hash) into out[65]; 0, or -1 for a value of another shape. */
static int col_hash(const PGresult *r, int col, char out[65], struct err *err)
{
    const char *v = pg_col_text(r, 0, col);

    if (!v || strlen(v) != 64) {
        err_set(err, ERR_INTERNAL, "a stored hash is not 64 hex digits");
        return -1;
    }
    memcpy(out, v, 65);
    return 0;
}

int pg_session_get(struct db_conn *c, const char *hash, int64_t now, struct db_session *out,
                   struct err *err)
{
    PGresult *r;
    int rc = -1;

    if (pg_row(c, STMT_SESSION_GET, &r, "session not found", err, "ti", hash, now) != 1)
        return -1;
    if (col_hash(r, 0, out->token_hash, err) == 0 && col_hash(r, 1, out->csrf_hash, err) == 0) {
        out->expires_at = pg_col_int(r, 0, 2);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int pg_session_delete(struct db_conn *c, const char *hash, struct err *err)
{
    return pg_exec(c, STMT_SESSION_DELETE, err, "t", hash);
}
