/* SPDX-License-Identifier: MIT */
/* idem: Idempotency-Key records and the registry of keys in use (see idem.h). */
#include "idem.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "problem.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define DIGEST_LEN 32
#define IDEM_IN_USE                                                                             \
    "A request with this Idempotency-Key is still being processed; retry when it has been "     \
    "answered."

struct held {
    int64_t user_id;
    char key[IDEM_KEY_MAX + 1];
    struct held *next;
};

struct idem_registry {
    pthread_mutex_t mu;
    struct held *keys; /* keys of requests in progress (few: one per open request) */
};

struct idem {
    struct idem_registry *reg;
    struct held h;
    crypto_generichash_state hash;
    char digest[2 * DIGEST_LEN + 1];
    struct db_idem rec; /* the stored answer of the key, when has_rec */
    int has_rec;
    int marked; /* the key is marked in progress in the database (by this request) */
};

/* The db_write of a key's start and end: db_idem_begin (begin 1) into
 * rec/rc, or db_idem_unmark. */
struct idem_write {
    struct idem *id;
    int begin;
    int rc;
};

static int idem_write(struct db_conn *c, void *arg, struct err *err)
{
    struct idem_write *w = arg;

    if (w->begin)
        w->rc = db_idem_begin(c, w->id->h.user_id, w->id->h.key, util_now_unix(), &w->id->rec,
                              err);
    else
        w->rc = db_idem_unmark(c, w->id->h.user_id, w->id->h.key, err);
    return w->rc < 0 ? -1 : 0;
}

struct idem_registry *idem_registry_new(void)
{
    struct idem_registry *r = calloc(1, sizeof(*r));

    if (r)
        pthread_mutex_init(&r->mu, NULL);
    return r;
}

void idem_registry_free(struct idem_registry *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* Take (user, key): 1, or 0 when a request in progress holds it. */
static int registry_take(struct idem_registry *r, struct held *h)
{
    pthread_mutex_lock(&r->mu);
    for (struct held *p = r->keys; p; p = p->next)
        if (p->user_id == h->user_id && strcmp(p->key, h->key) == 0) {
            pthread_mutex_unlock(&r->mu);
            return 0;
        }
    h->next = r->keys;
    r->keys = h;
    pthread_mutex_unlock(&r->mu);
    return 1;
}

static void registry_give(struct idem_registry *r, struct held *h)
{
    pthread_mutex_lock(&r->mu);
    for (struct held **pp = &r->keys; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    pthread_mutex_unlock(&r->mu);
}

/* The key of a header value into out: visible ASCII but '"' and '\\', bare
 * or quoted as a structured-field string (which then needs no escapes). */
static int parse_key(const char *v, char out[IDEM_KEY_MAX + 1])
{
    size_t n = strlen(v);

    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    if (n == 0 || n > IDEM_KEY_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e || v[i] == '"' ||
            v[i] == '\\')
            return -1;
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}

static void hash_str(crypto_generichash_state *st, const char *s)
{
    crypto_generichash_update(st, (const unsigned char *)(s ? s : ""), strlen(s ? s : "") + 1);
}

int idem_open(struct request *req, const char *header, struct response *resp)
{
    struct idem *id;

    req->idem = NULL;
    if (!header || !req->app->idem)
        return 0;
    id = calloc(1, sizeof(*id));
    if (!id) {
        problem_set(resp, 503, "The server is out of memory; retry later.");
        return -1;
    }
    if (parse_key(header, id->h.key) != 0) {
        json_t *errors = NULL;

        free(id);
        problem_field(&errors, "Idempotency-Key",
                      "must be 1 to %d visible ASCII characters (or a quoted string of them)",
                      IDEM_KEY_MAX);
        problem_validation(resp, errors);
        return -1;
    }
    id->h.user_id = req->caller.user_id;
    if (!registry_take(req->app->idem, &id->h)) {
        free(id);
        problem_typed(resp, 409, PROBLEM_IDEMPOTENCY_KEY_IN_USE, IDEM_IN_USE);
        resp->retry_after = 1;
        return -1;
    }
    id->reg = req->app->idem;
    if (sodium_init() < 0 || crypto_generichash_init(&id->hash, NULL, 0, DIGEST_LEN) != 0) {
        registry_give(id->reg, &id->h);
        free(id);
        problem_set(resp, 500, "The server could not complete the request; it has been logged.");
        return -1;
    }
    hash_str(&id->hash, req->method);
    hash_str(&id->hash, req->path);
    hash_str(&id->hash, req->content_type);
    req->idem = id;
    /* Read the key's record now, while holding the key in this process:
     * with one, the request is answered from it (or refused) and its body
     * needs no work, only its digest. Without one the key is marked in
     * progress in the database, so a request of another daemon sharing it
     * is refused as one of this daemon is by the registry (the mark of a
     * daemon that died expires with its lease). */
    {
        struct err err = {0};
        struct idem_write w = {id, 1, 0};

        if (db_write(req->app->db, idem_write, &w, &err) != 0) {
            idem_close(req);
            if (err.code == ERR_CONFLICT) {
                problem_typed(resp, 409, PROBLEM_IDEMPOTENCY_KEY_IN_USE, IDEM_IN_USE);
                resp->retry_after = 1;
            } else {
                problem_from_err(resp, &err, req->request_id);
            }
            return -1;
        }
        id->has_rec = w.rc == 1;
        id->marked = w.rc == 0;
    }
    return 0;
}

int idem_answered(const struct request *req)
{
    return req->idem && req->idem->has_rec;
}

void idem_feed(struct request *req, const void *data, size_t len)
{
    if (req->idem)
        crypto_generichash_update(&req->idem->hash, data, len);
}

int idem_replay(struct request *req, struct response *resp)
{
    struct idem *id = req->idem;
    unsigned char sum[DIGEST_LEN];
    struct db_idem *rec;

    if (!id)
        return 0;
    crypto_generichash_final(&id->hash, sum, sizeof(sum));
    sodium_bin2hex(id->digest, sizeof(id->digest), sum, sizeof(sum));
    if (!id->has_rec)
        return 0;
    rec = &id->rec;
    if (strcmp(rec->request_hash, id->digest) != 0) {
        problem_typed(resp, 422, PROBLEM_IDEMPOTENCY_KEY_REUSED,
                      "This Idempotency-Key was used for a different request (another method, "
                      "path or body) in the last 24 hours; use a new key for a new request.");
    } else {
        resp->status = rec->status;
        resp->raw = rec->body; /* taken */
        resp->raw_len = strlen(rec->body);
        rec->body = NULL;
        resp->content_type = "application/json";
        if (rec->location)
            snprintf(resp->location, sizeof(resp->location), "%s", rec->location);
        resp->replayed = 1;
    }
    return 1;
}

int idem_save(const struct request *req, struct db_conn *c, const struct response *resp,
              struct err *err)
{
    struct idem *id = req->idem;
    struct db_idem rec = {0};
    int rc;

    if (!id)
        return 0;
    rec.request_hash = id->digest;
    rec.status = resp->status;
    rec.location = resp->location[0] ? (char *)resp->location : NULL;
    rec.body = resp->body ? util_json_dumps(resp->body, JSON_COMPACT) : NULL;
    if (!rec.body) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    rc = db_idem_put(c, id->h.user_id, id->h.key, util_now_unix(), &rec, err);
    free(rec.body);
    return rc;
}

void idem_close(struct request *req)
{
    struct idem *id = req->idem;

    if (!id)
        return;
    if (id->marked) {
        /* a stored answer replaced the mark; else remove it, before the
         * answer can reach the client and its retry */
        struct err err = {0};
        struct idem_write w = {id, 0, 0};

        if (db_write(req->app->db, idem_write, &w, &err) != 0)
            LOG_REQ_ERROR(req->request_id, "cannot remove the mark of an idempotency key: %s",
                          err.msg);
    }
    registry_give(id->reg, &id->h);
    db_idem_release(&id->rec);
    free(id);
    req->idem = NULL;
}
