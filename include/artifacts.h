/* SPDX-License-Identifier: MIT */
/*
 * artifacts: where the daemon keeps model artifact files, and their removal.
 * A trained model's artifact is <data_dir>/models/<uuid>.model; a catalog
 * base made from a model is a copy beside it, base-<uuid>.model. The file
 * format is the ML side's (src/ml/artifact.h); this module only names,
 * moves and removes files.
 *
 * The artifact store: with SQLite the files are the store. When the
 * database keeps artifacts (db_artifacts_shared: PostgreSQL, several daemons
 * on several hosts), the worker stores the file's bytes and checksum in the
 * transaction that marks the model READY (artifacts_blob_read, then
 * db_artifact_put), and a daemon that loads a model uses its own copy under
 * its --data-dir, made from the database when missing (artifacts_local).
 *
 * Thread-safety: reentrant.
 */
#ifndef MODELD_ARTIFACTS_H
#define MODELD_ARTIFACTS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The artifact path of model uuid into out (len bytes), creating data_dir and
 * data_dir/models when missing. ERR_IO when they cannot be created. */
int artifacts_model_path(const char *data_dir, const char *uuid, char *out, size_t len,
                         struct err *err);

/* The path of a catalog base copied from source (an artifact path). */
void artifacts_base_path(const char *source, const char *uuid, char *out, size_t len);

/* Remove an artifact file; a missing one is fine, other failures are logged. */
void artifacts_remove(const char *path);

struct db;

/* An artifact file read whole, with its checksum (hex BLAKE2b-256). */
struct artifacts_blob {
    unsigned char *bytes;
    size_t len;
    char checksum[65];
};
/* Read path into out (ERR_IO, ERR_NOMEM); release with artifacts_blob_release. */
int artifacts_blob_read(const char *path, struct artifacts_blob *out, struct err *err);
void artifacts_blob_release(struct artifacts_blob *b);

/*
 * The file to load model_id's artifact from, into out (len bytes): stored
 * (the path of its row) when the database keeps no artifacts; else this
 * daemon's copy, <data_dir>/models/<the stored file's name>, written from
 * the database when missing (its checksum checked, then temp file, fsync,
 * rename). ERR_NOT_FOUND when the database has none, ERR_CORRUPT when its
 * bytes fail their checksum, ERR_IO. The calling thread holds no connection.
 */
int artifacts_local(struct db *db, const char *data_dir, int64_t model_id, const char *stored,
                    char *out, size_t len, struct err *err);

#endif
