/* SPDX-License-Identifier: MIT */
/*
 * handler_ui: the dashboard's files. Everything under ui/ is embedded in the
 * binary at build time (tools/embed_ui.sh writes build/gen/ui_data.h: the
 * bytes, the name and a strong ETag of each file), so the daemon needs no
 * file at run time and serves exactly the files it was built with.
 *
 * GET /ui redirects to /ui/, which is ui/index.html; GET /ui/{asset} is the
 * file of that name, with its Content-Type by extension, its ETag (a
 * matching If-None-Match gets 304) and Cache-Control: no-cache (the names
 * carry no version, so a browser revalidates, which costs a 304). Every
 * answer, a 404 for an unknown name too, carries the dashboard's
 * Content-Security-Policy, nosniff and no-referrer (http.c adds them for
 * resp->page). Both routes are public: the page signs in by itself.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "problem.h"
#include "banned.h" /* last: bans unsafe libc calls */

struct ui_file {
    const char *name; /* relative to ui/, e.g. "js/app.js" */
    const unsigned char *data;
    size_t len;
    const char *etag; /* quoted, as sent */
};

#include "ui_data.h"

/* The Content-Type of a file name, by its extension. */
static const char *ui_content_type(const char *name)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i][0]) == 0)
            return types[i][1];
    return "application/octet-stream";
}

/* 1 when an If-None-Match value (a list of entity tags, or "*") names etag;
 * the comparison is the weak one RFC 9110 asks for with If-None-Match. */
static int ui_etag_matches(const char *if_none_match, const char *etag)
{
    const char *p = if_none_match;
    size_t elen = strlen(etag);

    while (p && *p) {
        size_t len;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        len = strcspn(p, ",");
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == elen && memcmp(p, etag, elen) == 0)
            return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

/* Answer the file named name (relative to ui/): 200 with its bytes, 304
 * when the request's If-None-Match names its ETag, or a 404 problem. */
static void ui_serve(struct request *req, struct response *resp, const char *name)
{
    const struct ui_file *f = NULL;

    resp->page = 1;
    for (size_t i = 0; i < sizeof(ui_files) / sizeof(ui_files[0]); i++)
        if (strcmp(ui_files[i].name, name) == 0)
            f = &ui_files[i];
    if (!f) {
        problem_set(resp, 404, "The dashboard has no file %s.", req->path);
        return;
    }
    snprintf(resp->etag, sizeof(resp->etag), "%s", f->etag);
    resp->cache_control = "no-cache";
    if (req->if_none_match && ui_etag_matches(req->if_none_match, f->etag)) {
        resp->status = 304;
        return;
    }
    resp->raw = malloc(f->len ? f->len : 1);
    if (!resp->raw) {
        resp->etag[0] = '\0';
        problem_set(resp, 503, "The server is out of memory; retry later.");
        resp->retry_after = 1;
        return;
    }
    memcpy(resp->raw, f->data, f->len);
    resp->raw_len = f->len;
    resp->content_type = ui_content_type(f->name);
    resp->status = 200;
}

void handler_ui_index(struct request *req, struct response *resp)
{
    if (strcmp(req->path, "/ui") == 0) {
        /* relative links of the page resolve against /ui/, not / */
        static const char moved[] = "The dashboard is at /ui/.\n";

        resp->page = 1;
        resp->raw = malloc(sizeof(moved));
        if (!resp->raw) {
            problem_set(resp, 503, "The server is out of memory; retry later.");
            resp->retry_after = 1;
            return;
        }
        memcpy(resp->raw, moved, sizeof(moved) - 1);
        resp->raw_len = sizeof(moved) - 1;
        resp->content_type = "text/plain; charset=utf-8";
        snprintf(resp->location, sizeof(resp->location), "/ui/");
        resp->status = 308;
        return;
    }
    ui_serve(req, resp, "index.html");
}

void handler_ui_asset(struct request *req, struct response *resp)
{
    assert(strncmp(req->path, "/ui/", 4) == 0);
    ui_serve(req, resp, req->path + 4);
}
