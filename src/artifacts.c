/* SPDX-License-Identifier: MIT */
/* artifacts: artifact file names, removal, and the copies of artifacts
 * kept in the database (see artifacts.h). */
#include "artifacts.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "db.h"
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

/* <data_dir>/models/<name> into out, creating the directories. */
static int models_file(const char *data_dir, const char *name, char *out, size_t len,
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
    if ((size_t)snprintf(out, len, "%s/models/%s", data_dir, name) >= len) {
        err_set(err, ERR_IO, "the data directory path is too long");
        return -1;
    }
    return 0;
}

int artifacts_model_path(const char *data_dir, const char *uuid, char *out, size_t len,
                         struct err *err)
{
    char name[256];

    if ((size_t)snprintf(name, sizeof(name), "%s.model", uuid) >= sizeof(name)) {
        err_set(err, ERR_IO, "the artifact name is too long");
        return -1;
    }
    return models_file(data_dir, name, out, len, err);
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

int artifacts_blob_read(const char *path, struct artifacts_blob *out, struct err *err)
{
    unsigned char sum[32];
    FILE *f = NULL;
    long n;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        err_set(err, ERR_IO, "cannot read the artifact: %s", strerror(errno));
        goto out;
    }
    out->bytes = malloc(n ? (size_t)n : 1);
    if (!out->bytes) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    if (fread(out->bytes, 1, (size_t)n, f) != (size_t)n) {
        err_set(err, ERR_IO, "cannot read the artifact: short read");
        goto out;
    }
    out->len = (size_t)n;
    if (sodium_init() < 0 ||
        crypto_generichash(sum, sizeof(sum), out->bytes, out->len, NULL, 0) != 0) {
        err_set(err, ERR_INTERNAL, "cannot hash the artifact");
        goto out;
    }
    sodium_bin2hex(out->checksum, sizeof(out->checksum), sum, sizeof(sum));
    rc = 0;
out:
    if (f)
        fclose(f);
    if (rc != 0)
        artifacts_blob_release(out);
    return rc;
}

void artifacts_blob_release(struct artifacts_blob *b)
{
    free(b->bytes);
    memset(b, 0, sizeof(*b));
}

/* Write len bytes to path atomically: a temp file beside it, fsync, rename,
 * fsync of the directory. */
static int write_atomic(const char *path, const unsigned char *bytes, size_t len,
                        struct err *err)
{
    char tmp[4300], *dup = NULL;
    int fd = -1, dfd = -1, rc = -1;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= sizeof(tmp)) {
        err_set(err, ERR_IO, "the data directory path is too long");
        return -1;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        err_set(err, ERR_IO, "cannot write an artifact copy: %s", strerror(errno));
        return -1;
    }
    for (size_t done = 0; done < len;) {
        ssize_t w = write(fd, bytes + done, len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            err_set(err, ERR_IO, "cannot write an artifact copy: %s", strerror(errno));
            goto out;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        err_set(err, ERR_IO, "cannot write an artifact copy: %s", strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        err_set(err, ERR_IO, "cannot write an artifact copy: %s", strerror(errno));
        goto out;
    }
    tmp[0] = '\0';
    dup = strdup(path);
    if (dup && (dfd = open(dirname(dup), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        if (fsync(dfd) != 0)
            LOG_WARN("cannot sync the artifact directory: %s", strerror(errno));
        close(dfd);
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (tmp[0])
        unlink(tmp);
    free(dup);
    return rc;
}

int artifacts_local(struct db *db, const char *data_dir, int64_t model_id, const char *stored,
                    char *out, size_t len, struct err *err)
{
    struct artifacts_blob b = {0};
    unsigned char sum[32];
    char hex[65], *dup = NULL;
    struct db_conn *c;
    int rc = -1;

    if (!db_artifacts_shared(db)) {
        if ((size_t)snprintf(out, len, "%s", stored) >= len) {
            err_set(err, ERR_IO, "the artifact path is too long");
            return -1;
        }
        return 0;
    }
    dup = strdup(stored);
    if (!dup) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    /* <data_dir>/models/<uuid>.model: the name the training daemon gave it */
    if (models_file(data_dir, basename(dup), out, len, err) != 0)
        goto out;
    if (access(out, R_OK) == 0) { /* cached (the artifact checks itself when loaded) */
        rc = 0;
        goto out;
    }
    c = db_acquire(db);
    rc = db_artifact_get(c, model_id, &b.bytes, &b.len, b.checksum, err);
    db_release(db, c);
    if (rc != 0)
        goto out;
    rc = -1;
    if (sodium_init() < 0 || crypto_generichash(sum, sizeof(sum), b.bytes, b.len, NULL, 0) != 0) {
        err_set(err, ERR_INTERNAL, "cannot hash the artifact");
        goto out;
    }
    sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
    if (sodium_memcmp(hex, b.checksum, 64) != 0) {
        err_set(err, ERR_CORRUPT, "model %lld: the stored artifact fails its checksum",
                (long long)model_id);
        goto out;
    }
    rc = write_atomic(out, b.bytes, b.len, err);
out:
    artifacts_blob_release(&b);
    free(dup);
    return rc;
}
