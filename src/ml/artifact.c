/* SPDX-License-Identifier: MIT */
/*
 * artifact: encoding, checksumming and atomic storage of trained models
 * (format in src/ml/artifact.h and docs/ML.md).
 *
 * The encoder writes into a growable memory buffer; the decoder reads through
 * a cursor that refuses to read past the end, and every count is checked
 * against the bytes left before anything is allocated, so a hostile file
 * cannot make the reader allocate more than a small multiple of its size.
 */
#include "artifact.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "strbuf.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define HDR_LEN 24u
#define SUM_LEN 32u
#define MAX_FILE ((size_t)1 << 32)

struct artifact *artifact_new(struct err *err)
{
    struct artifact *a = calloc(1, sizeof *a);
    if (!a)
        err_set(err, ERR_NOMEM, "out of memory");
    return a;
}

void artifact_head_release(struct artifact_head *h)
{
    if (!h)
        return;
    free(h->name);
    if (h->labels)
        for (uint32_t i = 0; i < h->n_out; i++)
            free(h->labels[i]);
    free(h->labels);
    free(h->rows);
    free(h->w);
    free(h->bias);
    memset(h, 0, sizeof *h);
}

void artifact_free(struct artifact *a)
{
    if (!a)
        return;
    free(a->type);
    free(a->language);
    feat_vocab_release(&a->vocab);
    if (a->heads)
        for (uint32_t i = 0; i < a->n_heads; i++)
            artifact_head_release(&a->heads[i]);
    free(a->heads);
    free(a->meta);
    free(a->explain);
    free(a);
}

const float *artifact_head_row(const struct artifact_head *h, uint32_t i)
{
    long r;

    if (!h->rows)
        return i < h->n_in ? h->w + (size_t)i * h->n_w : NULL;
    r = util_find_u32(h->rows, h->n_rows, i);
    return r >= 0 ? h->w + (size_t)r * h->n_w : NULL;
}

/* ---- encoding ---- */

static void put_u32(struct strbuf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    strbuf_add(b, x, 4);
}

static void put_u64(struct strbuf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_f32(struct strbuf *b, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(b, v);
}

static void put_f64(struct strbuf *b, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    put_u64(b, v);
}

static void put_str(struct strbuf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    put_u32(b, (uint32_t)n);
    strbuf_add(b, s ? s : "", n);
}

static int row_nonzero(const float *w, uint32_t n_w)
{
    for (uint32_t k = 0; k < n_w; k++)
        if (w[k] != 0.0f)
            return 1;
    return 0;
}

static void put_head(struct strbuf *b, const struct artifact_head *h)
{
    put_str(b, h->name);
    put_u32(b, h->kind);
    put_u32(b, h->n_out);
    for (uint32_t i = 0; i < h->n_out; i++)
        put_str(b, h->labels[i]);
    put_u32(b, h->n_w);
    put_u32(b, h->n_in);
    uint32_t stored = h->rows ? h->n_rows : h->n_in;
    uint32_t nz = 0;
    for (uint32_t j = 0; j < stored; j++)
        nz += (uint32_t)row_nonzero(h->w + (size_t)j * h->n_w, h->n_w);
    int sparse = nz < h->n_in;
    put_u32(b, nz);
    put_u32(b, (uint32_t)sparse);
    if (sparse)
        for (uint32_t j = 0; j < stored; j++)
            if (row_nonzero(h->w + (size_t)j * h->n_w, h->n_w))
                put_u32(b, h->rows ? h->rows[j] : j);
    for (uint32_t j = 0; j < stored; j++) {
        const float *r = h->w + (size_t)j * h->n_w;
        if (sparse && !row_nonzero(r, h->n_w))
            continue;
        for (uint32_t k = 0; k < h->n_w; k++)
            put_f32(b, r[k]);
    }
    for (uint32_t k = 0; k < h->n_w; k++)
        put_f32(b, h->bias[k]);
    put_f32(b, h->threshold);
    put_f64(b, h->C);
}

int artifact_encode(const struct artifact *a, unsigned char **buf, size_t *len, struct err *err)
{
    struct strbuf b = STRBUF_INIT;
    unsigned char *p;
    uint32_t version = a->version ? a->version : ARTIFACT_VERSION;
    if (version < ARTIFACT_VERSION_MIN || version > ARTIFACT_VERSION) {
        err_set(err, ERR_INVALID, "cannot write model artifact version %u", (unsigned)version);
        return -1;
    }
    strbuf_add(&b, ARTIFACT_MAGIC, 8);
    put_u32(&b, version);
    put_u32(&b, 0);
    put_u64(&b, 0); /* payload length, patched below */
    put_str(&b, a->type);
    put_str(&b, a->language);
    put_u32(&b, FEAT_HASH_VERSION);
    put_u32(&b, a->fcfg.hash_bits);
    put_u32(&b, a->fcfg.word_ngrams);
    put_u32(&b, a->fcfg.char_min);
    put_u32(&b, a->fcfg.char_max);
    put_u32(&b, a->fcfg.sublinear_tf);
    put_u32(&b, a->fcfg.min_df);
    put_u32(&b, (uint32_t)a->vocab.n);
    for (size_t i = 0; i < a->vocab.n; i++)
        put_u32(&b, a->vocab.idx[i]);
    for (size_t i = 0; i < a->vocab.n; i++)
        put_f32(&b, a->vocab.idf[i]);
    put_u32(&b, a->n_heads);
    for (uint32_t i = 0; i < a->n_heads; i++)
        put_head(&b, &a->heads[i]);
    put_str(&b, a->meta);
    if (version >= 2)
        put_str(&b, a->explain ? a->explain : "");
    if (!b.failed) {
        assert(b.len >= HDR_LEN);
        uint64_t plen = b.len - HDR_LEN;
        unsigned char sum[SUM_LEN];
        for (int i = 0; i < 8; i++)
            b.buf[16 + i] = (char)(unsigned char)(plen >> (8 * i));
        crypto_generichash(sum, SUM_LEN, (const unsigned char *)b.buf, b.len, NULL, 0);
        strbuf_add(&b, sum, SUM_LEN);
    }
    p = (unsigned char *)strbuf_detach(&b, len);
    if (!p) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    *buf = p;
    return 0;
}

/* ---- decoding ---- */

struct rbuf {
    const unsigned char *p;
    size_t len, pos;
    int bad;
};

static const unsigned char *take(struct rbuf *r, size_t n)
{
    if (r->bad || n > r->len - r->pos) {
        r->bad = 1;
        return NULL;
    }
    const unsigned char *p = r->p + r->pos;
    r->pos += n;
    return p;
}

static uint32_t get_u32(struct rbuf *r)
{
    const unsigned char *p = take(r, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
             : 0;
}

static uint64_t get_u64(struct rbuf *r)
{
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}

static float get_f32(struct rbuf *r)
{
    uint32_t v = get_u32(r);
    float f;
    memcpy(&f, &v, 4);
    if (!isfinite(f))
        r->bad = 1;
    return f;
}

static double get_f64(struct rbuf *r)
{
    uint64_t v = get_u64(r);
    double d;
    memcpy(&d, &v, 8);
    if (!isfinite(d))
        r->bad = 1;
    return d;
}

/* A count of items of size each that must fit in the bytes left. */
static uint32_t get_count(struct rbuf *r, size_t each)
{
    uint32_t n = get_u32(r);
    if (r->bad || (size_t)n > (r->len - r->pos) / each) {
        r->bad = 1;
        return 0;
    }
    return n;
}

static char *get_str(struct rbuf *r, int *oom)
{
    uint32_t n = get_count(r, 1);
    const unsigned char *p = take(r, n);
    if (!p)
        return NULL;
    if (memchr(p, 0, n)) {
        r->bad = 1;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        *oom = 1;
        r->bad = 1;
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static void *alloc_n(struct rbuf *r, size_t n, size_t each, int *oom)
{
    void *p = malloc(n ? n * each : 1);
    if (!p) {
        *oom = 1;
        r->bad = 1;
    }
    return p;
}

static void get_head(struct rbuf *r, struct artifact_head *h, int *oom)
{
    h->name = get_str(r, oom);
    h->kind = get_u32(r);
    if (h->kind != ARTIFACT_HEAD_MULTICLASS && h->kind != ARTIFACT_HEAD_MULTILABEL)
        r->bad = 1;
    uint32_t n_out = get_count(r, 4);
    if (r->bad || n_out == 0) {
        r->bad = 1;
        return;
    }
    h->labels = calloc(n_out, sizeof *h->labels);
    if (!h->labels) {
        *oom = 1;
        r->bad = 1;
        return;
    }
    h->n_out = n_out;
    for (uint32_t i = 0; i < n_out && !r->bad; i++)
        h->labels[i] = get_str(r, oom);
    h->n_w = get_u32(r);
    h->n_in = get_u32(r);
    if (h->n_w != h->n_out &&
        !(h->n_w == 1 && h->n_out == 2 && h->kind == ARTIFACT_HEAD_MULTICLASS))
        r->bad = 1;
    uint32_t nz = get_count(r, 4);
    uint32_t sparse = get_u32(r);
    if (r->bad || sparse > 1 || nz > h->n_in || (!sparse && nz != h->n_in)) {
        r->bad = 1;
        return;
    }
    if (sparse) {
        h->n_rows = nz;
        h->rows = alloc_n(r, nz, 4, oom);
        for (uint32_t j = 0; j < nz && !r->bad; j++) {
            h->rows[j] = get_u32(r);
            if (h->rows[j] >= h->n_in || (j > 0 && h->rows[j] <= h->rows[j - 1]))
                r->bad = 1;
        }
    }
    if (r->bad || (size_t)nz * h->n_w > (r->len - r->pos) / 4) {
        r->bad = 1;
        return;
    }
    h->w = alloc_n(r, (size_t)nz * h->n_w, 4, oom);
    for (size_t k = 0; k < (size_t)nz * h->n_w && !r->bad; k++)
        h->w[k] = get_f32(r);
    if (r->bad || h->n_w > (r->len - r->pos) / 4) {
        r->bad = 1;
        return;
    }
    h->bias = alloc_n(r, h->n_w, 4, oom);
    for (uint32_t k = 0; k < h->n_w && !r->bad; k++)
        h->bias[k] = get_f32(r);
    h->threshold = get_f32(r);
    h->C = get_f64(r);
}

struct artifact *artifact_decode(const unsigned char *buf, size_t len, struct err *err)
{
    struct artifact *a = NULL;
    struct rbuf r = {.p = buf, .len = len};
    int oom = 0;

    if (len < HDR_LEN + SUM_LEN || memcmp(buf, ARTIFACT_MAGIC, 8) != 0) {
        err_set(err, ERR_CORRUPT, "not a model artifact");
        return NULL;
    }
    unsigned char sum[SUM_LEN];
    crypto_generichash(sum, SUM_LEN, buf, len - SUM_LEN, NULL, 0);
    if (sodium_memcmp(sum, buf + len - SUM_LEN, SUM_LEN) != 0) {
        err_set(err, ERR_CORRUPT, "model artifact checksum mismatch");
        return NULL;
    }
    r.len = len - SUM_LEN;
    r.pos = 8;
    uint32_t version = get_u32(&r);
    uint32_t flags = get_u32(&r);
    uint64_t plen = get_u64(&r);
    if (version < ARTIFACT_VERSION_MIN || version > ARTIFACT_VERSION || flags != 0 ||
        plen != r.len - HDR_LEN) {
        err_set(err, ERR_CORRUPT, "unsupported model artifact version %u", (unsigned)version);
        return NULL;
    }
    a = artifact_new(err);
    if (!a)
        return NULL;
    a->version = version;
    a->type = get_str(&r, &oom);
    a->language = get_str(&r, &oom);
    if (get_u32(&r) != FEAT_HASH_VERSION)
        r.bad = 1;
    a->fcfg.hash_bits = get_u32(&r);
    a->fcfg.word_ngrams = get_u32(&r);
    a->fcfg.char_min = get_u32(&r);
    a->fcfg.char_max = get_u32(&r);
    a->fcfg.sublinear_tf = get_u32(&r);
    a->fcfg.min_df = get_u32(&r);
    if (!r.bad && feat_config_check(&a->fcfg, NULL) < 0)
        r.bad = 1;
    uint32_t nv = get_count(&r, 8);
    if (!r.bad) {
        a->vocab.idx = alloc_n(&r, nv, 4, &oom);
        a->vocab.idf = alloc_n(&r, nv, 4, &oom);
        if (!r.bad)
            a->vocab.n = nv;
    }
    /* hash_bits is only trusted once feat_config_check passed */
    uint64_t dim = r.bad ? 0 : (uint64_t)2 << a->fcfg.hash_bits;
    for (uint32_t i = 0; i < nv && !r.bad; i++) {
        a->vocab.idx[i] = get_u32(&r);
        if (a->vocab.idx[i] >= dim || (i > 0 && a->vocab.idx[i] <= a->vocab.idx[i - 1]))
            r.bad = 1;
    }
    for (uint32_t i = 0; i < nv && !r.bad; i++)
        a->vocab.idf[i] = get_f32(&r);
    uint32_t nh = get_count(&r, 32);
    if (!r.bad && nh > 0) {
        a->heads = calloc(nh, sizeof *a->heads);
        if (!a->heads)
            oom = r.bad = 1;
        else
            a->n_heads = nh;
    }
    for (uint32_t i = 0; i < a->n_heads && !r.bad; i++)
        get_head(&r, &a->heads[i], &oom);
    a->meta = get_str(&r, &oom);
    if (version >= 2)
        a->explain = get_str(&r, &oom);
    if (!r.bad && (r.pos != r.len || !a->type || !a->language || nh == 0))
        r.bad = 1;
    if (r.bad) {
        if (oom)
            err_set(err, ERR_NOMEM, "out of memory");
        else
            err_set(err, ERR_CORRUPT, "model artifact is malformed");
        artifact_free(a);
        return NULL;
    }
    return a;
}

/* ---- files ---- */

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

atomic_int artifact_fault_errno;

int artifact_write(const struct artifact *a, const char *path, struct err *err)
{
    int rc = -1, fd = -1, dfd = -1;
    unsigned char *buf = NULL;
    size_t len = 0;
    char *tmp = NULL, *dir = NULL;

    if (sodium_init() < 0) {
        err_set(err, ERR_INTERNAL, "libsodium initialization failed");
        goto out;
    }
    if (artifact_encode(a, &buf, &len, err) < 0)
        goto out;
    size_t pl = strlen(path);
    tmp = malloc(pl + 16);
    dir = malloc(pl + 2);
    if (!tmp || !dir) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    const char *slash = strrchr(path, '/');
    if (!slash)
        memcpy(dir, ".", 2);
    else if (slash == path)
        memcpy(dir, "/", 2);
    else {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        err_set(err, ERR_IO, "cannot create model artifact: %s", strerror(errno));
        tmp[0] = '\0';
        goto out;
    }
    int fault = atomic_load(&artifact_fault_errno);
    if (fault || write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
        err_set(err, ERR_IO, "cannot write model artifact: %s", strerror(fault ? fault : errno));
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        err_set(err, ERR_IO, "cannot write model artifact: %s", strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        err_set(err, ERR_IO, "cannot store model artifact: %s", strerror(errno));
        goto out;
    }
    tmp[0] = '\0';
    dfd = open(dir, O_RDONLY);
    if (dfd < 0 || fsync(dfd) < 0) {
        err_set(err, ERR_IO, "cannot sync model directory: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp && tmp[0])
        unlink(tmp);
    free(tmp);
    free(dir);
    free(buf);
    return rc;
}

struct artifact *artifact_read(const char *path, struct err *err)
{
    struct artifact *a = NULL;
    unsigned char *buf = NULL;
    int fd = -1;
    struct stat st;

    if (sodium_init() < 0) {
        err_set(err, ERR_INTERNAL, "libsodium initialization failed");
        goto out;
    }
    fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) < 0) {
        err_set(err, ERR_IO, "cannot open model artifact: %s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < 0 || (size_t)st.st_size > MAX_FILE) {
        err_set(err, ERR_CORRUPT, "model artifact has an invalid size");
        goto out;
    }
    size_t len = (size_t)st.st_size, got = 0;
    buf = malloc(len ? len : 1);
    if (!buf) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err_set(err, ERR_IO, "cannot read model artifact: %s", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    a = artifact_decode(buf, got, err);
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return a;
}
