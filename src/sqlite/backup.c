/* SPDX-License-Identifier: MIT */
/*
 * sqlite/backup: the SQLite side of `modeld backup` (see db_backup() in db.h).
 * It opens its own two connections (the live database, never created or
 * migrated here, and the copy), so it needs nothing of the connection pool.
 * sqlite3_backup_step(-1) copies every page inside one read transaction: in
 * WAL mode that is a consistent snapshot and the daemon's writers go on
 * meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define BUSY_TRIES 100 /* x 100 ms: how long a backup waits for a lock */

/* Run one statement without results on h; 0, or -1 with ERR_IO. */
static int exec1(sqlite3 *h, const char *sql, const char *what, struct err *err)
{
    char *msg = NULL;

    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        err_set(err, ERR_IO, "%s: %s", what, msg ? msg : sqlite3_errmsg(h));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* fsync the file (or directory) at path; 0, or -1 with ERR_IO. */
static int sync_path(const char *path, int dir, struct err *err)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);

    if (fd < 0 || fsync(fd) != 0) {
        err_set(err, ERR_IO, "cannot sync %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* Copy every page of src into dst in one step, retrying while locked. */
static int copy_pages(sqlite3 *src, sqlite3 *dst, const char *db_path, struct err *err)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    int rc = SQLITE_BUSY;

    if (!b) {
        err_set(err, ERR_IO, "cannot start the backup of %s: %s", db_path, sqlite3_errmsg(dst));
        return -1;
    }
    for (int i = 0; i < BUSY_TRIES; i++) {
        rc = sqlite3_backup_step(b, -1);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
            break;
        sqlite3_sleep(100);
    }
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        err_set(err, ERR_IO, "cannot back up %s: %s", db_path,
                rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? "the database stayed locked"
                                                         : sqlite3_errstr(rc));
        return -1;
    }
    if (sqlite3_errcode(dst) != SQLITE_OK && sqlite3_errcode(dst) != SQLITE_DONE) {
        err_set(err, ERR_IO, "cannot write the copy: %s", sqlite3_errmsg(dst));
        return -1;
    }
    return 0;
}

/* PRAGMA quick_check of the copy; 0 when it says "ok", else ERR_CORRUPT. */
static int check_copy(sqlite3 *dst, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int ok = 0;

    if (sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        ok = v && strcmp(v, "ok") == 0;
    }
    sqlite3_finalize(st);
    if (!ok)
        err_set(err, ERR_CORRUPT, "the copy failed its integrity check: %s", sqlite3_errmsg(dst));
    return ok ? 0 : -1;
}

/* Call fn for every artifact path the copy names (models and catalog bases). */
static int list_artifacts(sqlite3 *dst, int (*fn)(const char *, void *), void *arg,
                          struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(dst, "SELECT artifact FROM models WHERE artifact IS NOT NULL "
                                "ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        err_set(err, ERR_IO, "cannot list the artifacts: %s", sqlite3_errmsg(dst));
        return -1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (fn((const char *)sqlite3_column_text(st, 0), arg) != 0) {
            sqlite3_finalize(st);
            err_set(err, ERR_IO, "an artifact could not be copied: backup abandoned");
            return -1;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        err_set(err, ERR_IO, "cannot list the artifacts: %s", sqlite3_errstr(rc));
        return -1;
    }
    return 0;
}

int db_backup(const char *db_path, const char *to_path,
              int (*each_artifact)(const char *path, void *arg), void *arg, struct err *err)
{
    sqlite3 *src = NULL, *dst = NULL;
    char part[4200], *dir = NULL;
    int rc = -1;

    if (access(to_path, F_OK) == 0) {
        err_set(err, ERR_INVALID, "%s exists", to_path);
        return -1;
    }
    snprintf(part, sizeof(part), "%s.part", to_path);
    unlink(part); /* a stale one of an interrupted backup */
    if (sqlite3_open_v2(db_path, &src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        err_set(err, ERR_IO, "cannot open database %s: %s", db_path,
                src ? sqlite3_errmsg(src) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(src, 10000);
    if (sqlite3_open_v2(part, &dst,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        err_set(err, ERR_IO, "cannot create %s: %s", part,
                dst ? sqlite3_errmsg(dst) : "out of memory");
        goto out;
    }
    if (copy_pages(src, dst, db_path, err) != 0 ||
        exec1(dst, "PRAGMA journal_mode = DELETE", "cannot finish the copy", err) != 0 ||
        check_copy(dst, err) != 0 || list_artifacts(dst, each_artifact, arg, err) != 0)
        goto out;
    if (sqlite3_close(dst) != SQLITE_OK) {
        err_set(err, ERR_IO, "cannot close %s: %s", part, sqlite3_errmsg(dst));
        goto out;
    }
    dst = NULL;
    if (sync_path(part, 0, err) != 0)
        goto out;
    if (rename(part, to_path) != 0) {
        err_set(err, ERR_IO, "cannot rename %s to %s: %s", part, to_path, strerror(errno));
        goto out;
    }
    dir = strdup(to_path);
    if (!dir) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = sync_path(dirname(dir), 1, err);
out:
    sqlite3_close(dst);
    sqlite3_close(src);
    if (rc != 0)
        unlink(part);
    free(dir);
    return rc;
}
