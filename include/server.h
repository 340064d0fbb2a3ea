/* SPDX-License-Identifier: MIT */
/*
 * server: wires the database, the training pool and the HTTP daemon into a
 * running service, and takes them down in the reverse order. Used by
 * `modeld serve` and by the in-process HTTP tests.
 *
 * Thread-safety: call start/stop from one thread.
 */
#ifndef MODELD_SERVER_H
#define MODELD_SERVER_H

#include <stdint.h>

#include "app.h"
#include "err.h"

struct server;

/* cfg must outlive the server. */
struct server *server_start(const struct app_config *cfg, struct err *err);
uint16_t server_port(const struct server *s);
/* The daemon's database (for tests: db_write_hold, db_write_stats). */
struct db *server_db(const struct server *s);
/* Stop HTTP first (no new work), then the pool, then close the database. Accepts NULL. */
void server_stop(struct server *s);

#endif
