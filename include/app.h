/* SPDX-License-Identifier: MIT */
/*
 * app: the shared, read-only-after-start context every handler receives:
 * configuration, the database pool, the training pool, the predictor cache,
 * the Idempotency-Keys in use and the hub of model changes.
 *
 * Thread-safety: fields are set before the HTTP server starts and never
 * reassigned; the objects they point to are themselves thread-safe.
 */
#ifndef MODELD_APP_H
#define MODELD_APP_H

/* The release version, printed by `modeld --version` and GET /health. */
#define MODELD_VERSION "0.1.0"

struct db;
struct pool;
struct idem_registry;
struct pcache;
struct notify_hub;
struct authcache;

struct app_config {
    const char *db_path;
    const char *bind;     /* IPv4 address to listen on */
    int port;             /* 0 = ephemeral */
    int workers;          /* training threads; 0 = none (an API-only daemon) */
    const char *data_dir; /* artifacts live in <data_dir>/models */
    int http_threads;
    const char *cors_origin; /* the CORS allow-list: origins separated by commas, "*" for
                              * any origin (without credentials); NULL = no CORS headers */
    int session_ttl;         /* seconds a browser session lasts; 0 = AUTH_SESSION_TTL_S */
    double shutdown_grace;   /* seconds a stop waits for requests and streams; 0 = 10 */
    double head_timeout;     /* seconds for the next complete request head; 0 = 10 */
    double body_timeout;     /* a body must bring 1 KiB per this many seconds; 0 = 30 */
    int max_connections;     /* open connections in all; 0 = 4096 */
    int max_connections_per_ip; /* open connections per client address; 0 = 256 */
    const char *metrics_token;  /* GET /metrics needs "Bearer <this>"; NULL = no token */
    int upload_budget_mib;      /* MiB of upload bodies in flight; 0 = 256 */
    const char *tls_cert;       /* PEM certificate (chain) file: serve HTTPS; NULL = HTTP */
    const char *tls_key;        /* PEM private key file, with tls_cert */
    int worker_nice; /* training threads run this many nice steps below the request
                      * threads; 0 = POOL_WORKER_NICE (10), -1 = none */
    int lease_s;      /* seconds a daemon's lease on its jobs lasts; 0 = POOL_LEASE_S (30) */
    int max_attempts; /* lost leases before a job FAILS; 0 = POOL_MAX_ATTEMPTS (3) */
};

struct app {
    const struct app_config *cfg;
    struct db *db;
    struct pool *pool;
    struct idem_registry *idem; /* Idempotency-Keys in use (NULL: the header is ignored) */
    struct pcache *pcache;      /* loaded predictors */
    struct notify_hub *notify;  /* model changes, for event streams (NULL: none) */
    struct authcache *authcache; /* callers and roles (NULL: every request reads storage) */
    int db_exclusive; /* no other daemon can use db (the SQLite file lock): every TRAINING
                       * row found at start was left by a dead process */
};

#endif
