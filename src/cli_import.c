/* SPDX-License-Identifier: MIT */
/*
 * cli_import: `modeld annotations import`, a labeling session from a JSON
 * lines (or JSON array) file. The whole file is parsed and validated first
 * (nothing is written when a document is bad), then stored in one
 * transaction. On a terminal, stderr shows a progress bar for each phase
 * (documents/s, percent and ETA from the file size while parsing, from the
 * document count while storing); when stderr is not a terminal, nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_cmd.h"
#include "db.h"
#include "ingest.h"
#include "util.h"
#include "validate.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define BAR_WIDTH 24
#define REDRAW_SECONDS 0.1

/* A progress line on stderr; inert (on == 0) when stderr is no terminal. */
struct progress {
    int on, drawn;
    const char *phase;
    double t0, last;
    double total; /* units of work in the phase (bytes or documents); 0: unknown */
};

static void progress_init(struct progress *p)
{
    memset(p, 0, sizeof(*p));
    p->on = isatty(STDERR_FILENO);
}

static void progress_phase(struct progress *p, const char *phase, double total)
{
    p->phase = phase;
    p->total = total;
    p->t0 = util_monotonic();
    p->last = 0;
}

/*
 * Redraw the line: done units of total, docs documents so far. Throttled to
 * 10 per second unless force.
 */
static void progress_show(struct progress *p, double done, size_t docs, int force)
{
    double now, el, rate;
    char bar[BAR_WIDTH + 1], eta[32] = "";

    if (!p->on)
        return;
    now = util_monotonic();
    if (!force && now - p->last < REDRAW_SECONDS)
        return;
    p->last = now;
    el = now - p->t0 > 1e-6 ? now - p->t0 : 1e-6;
    rate = (double)docs / el;
    fprintf(stderr, "\r%-7s ", p->phase);
    if (p->total > 0) {
        double frac = done < p->total ? done / p->total : 1.0;
        int fill = (int)(frac * BAR_WIDTH);
        double left = done > 0 ? el * (p->total - done) / done : 0;

        for (int i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        if (done > 0)
            snprintf(eta, sizeof(eta), "  ETA %d:%02d", (int)(left / 60), (int)left % 60);
        fprintf(stderr, "[%s] %3d%%  ", bar, (int)(frac * 100.0));
    }
    fprintf(stderr, "%zu docs  %.0f docs/s%s\033[K", docs, rate, eta);
    p->drawn = 1;
}

/* End the line (before the result or an error message). */
static void progress_end(struct progress *p)
{
    if (p->drawn)
        fputc('\n', stderr);
    p->drawn = 0;
}

/* What the storing phase's document getter needs. */
struct store_ctx {
    struct ingest *in;
    struct progress *p;
    size_t n;
};

/* ingest_doc_at that also moves the bar. */
static const struct db_doc *doc_at_progress(const void *ctx, size_t i)
{
    const struct store_ctx *s = ctx;

    if ((i & 255) == 0)
        progress_show(s->p, (double)i, i, 0);
    return ingest_doc_at(s->in, i);
}

int cli_cmd_import(struct cli_run *r)
{
    struct progress prog;
    struct db *db = NULL;
    struct db_conn *c = NULL;
    struct ingest *in = NULL;
    struct err err = {0};
    struct store_ctx sc;
    json_t *errors = NULL;
    const char *type = cli_get(r, "type"), *lang = cli_get(r, "language"), *file = r->operand;
    enum model_type t = TYPE_CLASS;
    enum language l;
    char buf[65536];
    int64_t project, id = -1;
    double done = 0;
    FILE *f = NULL;
    struct stat st;
    int rc = CLI_FAIL;
    size_t n;

    if (cli_need_id(r, "project", &project) != 0)
        return CLI_FAIL;
    if (!validate_one_of(type, domain_annotation_type_names) || domain_type_parse(type, &t) != 0)
        return cli_bad(r, "type", "ABSA, CLASS, LABEL or CLASSLABEL");
    if (domain_language_parse(lang, &l) != 0)
        return cli_bad(r, "language", "en, de or ar");
    f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    if (!f)
        return cli_fail("cannot open %s: %s", file, strerror(errno));
    in = ingest_new(t);
    if (!in) {
        cli_fail("out of memory");
        goto out;
    }
    progress_init(&prog);
    progress_phase(&prog, "parsing",
                   fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) ? (double)st.st_size : 0);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        ingest_feed(in, buf, n);
        done += (double)n;
        progress_show(&prog, done, ingest_count(in), 0);
    }
    progress_show(&prog, done, ingest_count(in), 1);
    progress_end(&prog);
    if (ferror(f)) {
        cli_fail("cannot read %s: %s", file, strerror(errno));
        goto out;
    }
    if (ingest_finish(in, &errors) != 0) {
        size_t i;
        json_t *e;

        cli_fail("%s: invalid documents, nothing imported:", file);
        json_array_foreach(errors, i, e)
            fprintf(stderr, "  %s: %s\n", json_string_value(json_object_get(e, "field")),
                    json_string_value(json_object_get(e, "message")));
        goto out;
    }
    if (!(db = cli_open_db(r)))
        goto out;
    c = db_acquire(db);
    if (db_begin(c, &err) != 0)
        goto db_fail;
    id = db_annotation_create(c, project, cli_get(r, "name"), t, l, 0, &err);
    if (id < 0) {
        if (err.code == ERR_INVALID)
            err_set(&err, ERR_NOT_FOUND, "no project %lld", (long long)project);
        goto db_fail;
    }
    sc = (struct store_ctx){in, &prog, ingest_count(in)};
    progress_phase(&prog, "storing", (double)sc.n);
    if (db_documents_add(c, id, doc_at_progress, &sc, sc.n, &err) != 0)
        goto db_fail;
    if (db_commit(c, &err) != 0)
        goto db_fail;
    progress_show(&prog, (double)sc.n, sc.n, 1);
    progress_end(&prog);
    printf("%lld\n", (long long)id);
    rc = CLI_OK;
    goto out;
db_fail:
    progress_end(&prog);
    db_rollback(c);
    cli_fail("%s", err.msg);
out:
    if (c)
        db_release(db, c);
    db_close(db);
    json_decref(errors);
    ingest_free(in);
    if (f && f != stdin)
        fclose(f);
    return rc;
}
