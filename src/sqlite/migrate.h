/* SPDX-License-Identifier: MIT */
/*
 * migrate: applies the SQL files of migrations/ (embedded into the binary at
 * build time) in version order, each in its own transaction, and records them
 * in schema_migrations. Applying twice is a no-op; an applied migration is
 * never edited (a later file changes the schema instead).
 *
 * Private to the SQLite backend (src/sqlite/): the rest of the daemon asks the
 * storage interface (db_schema_latest, db_schema_missing).
 *
 * Thread-safety: call with a connection no other thread uses; concurrent
 * processes are serialized by BEGIN IMMEDIATE and re-check the version.
 */
#ifndef MODELD_MIGRATE_H
#define MODELD_MIGRATE_H

#include <sqlite3.h>

#include "err.h"

/* Apply pending migrations. Returns the number applied, or -1. */
int migrate_apply(sqlite3 *h, struct err *err);

/* Highest migration version compiled into the binary. */
int migrate_latest(void);

/* How many migrations the binary carries (their versions may leave gaps
 * while branches that each add one are merged). */
int migrate_count(void);

#endif
