/* SPDX-License-Identifier: MIT */
/*
 * artifacts: where the daemon keeps model artifact files, and their removal.
 * A trained model's artifact is <data_dir>/models/<uuid>.model; a catalog
 * base made from a model is a copy beside it, base-<uuid>.model. The file
 * format is the ML side's (src/ml/artifact.h); this module only names and
 * removes files.
 *
 * Thread-safety: reentrant.
 */
#ifndef MODELD_ARTIFACTS_H
#define MODELD_ARTIFACTS_H

#include <stddef.h>

#include "err.h"

/* The artifact path of model uuid into out (len bytes), creating data_dir and
 * data_dir/models when missing. ERR_IO when they cannot be created. */
int artifacts_model_path(const char *data_dir, const char *uuid, char *out, size_t len,
                         struct err *err);

/* The path of a catalog base copied from source (an artifact path). */
void artifacts_base_path(const char *source, const char *uuid, char *out, size_t len);

/* Remove an artifact file; a missing one is fine, other failures are logged. */
void artifacts_remove(const char *path);

#endif
