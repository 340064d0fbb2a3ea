/* SPDX-License-Identifier: MIT */
/* artifacts: artifact file names and removal (see artifacts.h). */
#include "artifacts.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "banned.h" /* last: bans unsafe libc calls */

static int ensure_dir(const char *path, struct err *err)
{
    if (mkdir(path, 0750) != 0 && errno != EEXIST) {
        err_set(err, ERR_IO, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int artifacts_model_path(const char *data_dir, const char *uuid, char *out, size_t len,
                         struct err *err)
{
    if (ensure_dir(data_dir, err) != 0)
        return -1;
    if ((size_t)snprintf(out, len, "%s/models", data_dir) >= len) {
        err_set(err, ERR_IO, "the data directory path is too long");
        return -1;
    }
    if (ensure_dir(out, err) != 0)
        return -1;
    if ((size_t)snprintf(out, len, "%s/models/%s.model", data_dir, uuid) >= len) {
        err_set(err, ERR_IO, "the data directory path is too long");
        return -1;
    }
    return 0;
}

void artifacts_base_path(const char *source, const char *uuid, char *out, size_t len)
{
    char *dir = strdup(source);

    snprintf(out, len, "%s/base-%s.model", dir ? dirname(dir) : ".", uuid);
    free(dir);
}

void artifacts_remove(const char *path)
{
    if (path && unlink(path) != 0 && errno != ENOENT)
        LOG_ERROR("cannot remove artifact %s: %s", path, strerror(errno));
}
