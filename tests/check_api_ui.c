/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's files at the HTTP boundary (src/handler_ui.c): GET /ui
 * redirects to /ui/ (ui/index.html); every file embedded from ui/ is served
 * with its Content-Type, a strong ETag (If-None-Match gives 304 without a
 * body), Cache-Control: no-cache, the strict Content-Security-Policy,
 * nosniff and no-referrer; HEAD gives the headers only; an unknown name is
 * a 404 problem; the routes need no token. The HTML has no inline script or
 * style (the CSP would block them). The page itself is exercised in a
 * browser by tests/browser/dashboard.test.js (make test-browser).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "testapi.h"

/* The table the daemon serves from (the generated build/gen/ui_data.h). */
struct ui_file {
    const char *name;
    const unsigned char *data;
    size_t len;
    const char *etag;
};
#include "ui_data.h"

#define UI_CSP                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "        \
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "            \
    "frame-ancestors 'none'"

/* The value of header name (case-insensitive) in r's header lines, or "". */
static const char *header(const struct tresp *r, const char *name, char *out, size_t len)
{
    const char *p = r->headers;
    size_t n = strlen(name);

    out[0] = '\0';
    while (p && *p) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *end = strpbrk(v, "\r\n");

            while (*v == ' ')
                v++;
            snprintf(out, len, "%.*s", (int)(end ? end - v : (long)strlen(v)), v);
            return out;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return out;
}

/* The dashboard's security headers are on r. */
static void assert_page_headers(const struct tresp *r)
{
    char v[512];

    ck_assert_str_eq(header(r, "Content-Security-Policy", v, sizeof(v)), UI_CSP);
    ck_assert_str_eq(header(r, "X-Content-Type-Options", v, sizeof(v)), "nosniff");
    ck_assert_str_eq(header(r, "Referrer-Policy", v, sizeof(v)), "no-referrer");
}

/* The Content-Type the daemon must give a file name. */
static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (!dot)
        return "application/octet-stream";
    if (strcmp(dot, ".html") == 0)
        return "text/html; charset=utf-8";
    if (strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (strcmp(dot, ".svg") == 0)
        return "image/svg+xml";
    if (strcmp(dot, ".png") == 0)
        return "image/png";
    return "application/octet-stream";
}

START_TEST(test_ui_index_and_redirect)
{
    struct tserver ts;
    struct tresp r;
    char v[256];

    tserver_start(&ts, 0);
    thttp(&ts, "GET", "/ui", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 308);
    ck_assert_str_eq(r.location, "/ui/");
    tresp_release(&r);

    thttp(&ts, "GET", "/ui/", NULL, NULL, NULL, &r); /* no token: the page signs in itself */
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "text/html; charset=utf-8");
    assert_page_headers(&r);
    ck_assert_str_eq(header(&r, "Cache-Control", v, sizeof(v)), "no-cache");
    ck_assert_uint_eq(strlen(header(&r, "ETag", v, sizeof(v))), 34); /* "<32 hex>" */
    ck_assert_ptr_nonnull(strstr(r.body, "<!doctype html>"));
    /* the shell: both style sheets, the app as a module */
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"css/app.css\""));
    ck_assert_ptr_nonnull(strstr(r.body, "href=\"css/model.css\""));
    ck_assert_ptr_nonnull(strstr(r.body, "<script type=\"module\" src=\"js/app.js\"></script>"));
    tresp_release(&r);

    /* /ui/index.html is the same file */
    thttp(&ts, "GET", "/ui/index.html", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "js/app.js"));
    tresp_release(&r);
    tserver_cleanup(&ts);
}
END_TEST

START_TEST(test_ui_every_file)
{
    struct tserver ts;
    size_t n = sizeof(ui_files) / sizeof(ui_files[0]);
    int html = 0, js = 0, css = 0;

    tserver_start(&ts, 0);
    for (size_t i = 0; i < n; i++) {
        const struct ui_file *f = &ui_files[i];
        char path[256], v[256], inm[160];
        const char *dot = strrchr(f->name, '.');
        struct tresp r;

        snprintf(path, sizeof(path), "/ui/%s", f->name);
        thttp(&ts, "GET", path, NULL, NULL, NULL, &r);
        ck_assert_msg(r.status == 200, "%s: %ld", path, r.status);
        ck_assert_msg(strcmp(r.content_type, type_of(f->name)) == 0, "%s: %s", path,
                      r.content_type);
        ck_assert_uint_eq(r.len, f->len);
        ck_assert_msg(memcmp(r.body, f->data, f->len) == 0, "%s: other bytes", path);
        ck_assert_str_eq(header(&r, "ETag", v, sizeof(v)), f->etag);
        assert_page_headers(&r);
        if (dot && strcmp(dot, ".html") == 0) {
            /* no inline script or style: every script has a src, no style element or attribute */
            for (const char *s = strstr(r.body, "<script"); s; s = strstr(s + 1, "<script")) {
                const char *end = strchr(s, '>');
                char tag[256];

                ck_assert_ptr_nonnull(end);
                snprintf(tag, sizeof(tag), "%.*s", (int)(end - s), s);
                ck_assert_msg(strstr(tag, " src=") != NULL, "%s: an inline script", path);
            }
            ck_assert_msg(!strstr(r.body, "<style") && !strstr(r.body, " style="),
                          "%s: an inline style", path);
            ck_assert_msg(!strstr(r.body, " onclick=") && !strstr(r.body, " onload="),
                          "%s: an inline handler", path);
            html++;
        }
        js += dot && strcmp(dot, ".js") == 0;
        css += dot && strcmp(dot, ".css") == 0;
        tresp_release(&r);

        /* revalidation: the ETag gives 304 without a body, in a list or weak too */
        {
            const char *h1[] = {inm, NULL};

            snprintf(inm, sizeof(inm), "If-None-Match: \"0123\", W/%s", f->etag);
            thttp_headers(&ts, "GET", path, h1, NULL, &r);
            ck_assert_int_eq(r.status, 304);
            ck_assert_uint_eq(r.len, 0);
            ck_assert_str_eq(header(&r, "ETag", v, sizeof(v)), f->etag);
            assert_page_headers(&r);
            tresp_release(&r);
            snprintf(inm, sizeof(inm), "If-None-Match: \"0123\"");
            thttp_headers(&ts, "GET", path, h1, NULL, &r);
            ck_assert_int_eq(r.status, 200);
            ck_assert_uint_eq(r.len, f->len);
            tresp_release(&r);
        }
        /* HEAD: the headers of GET, no body */
        thttp(&ts, "HEAD", path, NULL, NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_uint_eq(r.len, 0);
        ck_assert_str_eq(header(&r, "ETag", v, sizeof(v)), f->etag);
        ck_assert_str_eq(r.content_type, type_of(f->name));
        tresp_release(&r);
    }
    ck_assert_int_ge(html, 1);
    ck_assert_int_ge(js, 3); /* app.js, api.js, dom.js at least */
    ck_assert_int_ge(css, 1);
    tserver_cleanup(&ts);
}
END_TEST

START_TEST(test_ui_unknown)
{
    static const char *const paths[] = {"/ui/nope.js", "/ui/js/nope.js", "/ui/../README.md",
                                        "/ui/js", "/ui/%2e%2e/Makefile", "/ui/index.html/x"};
    struct tserver ts;
    struct tresp r;

    tserver_start(&ts, 0);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        thttp(&ts, "GET", paths[i], NULL, NULL, NULL, &r);
        ck_assert_msg(r.status == 404, "%s: %ld", paths[i], r.status);
        tassert_problem(&r, 404);
        tresp_release(&r);
    }
    thttp(&ts, "GET", "/ui/nope.css", NULL, NULL, NULL, &r);
    assert_page_headers(&r); /* the dashboard's 404 keeps its headers */
    tresp_release(&r);
    /* the dashboard's files are read-only */
    thttp(&ts, "POST", "/ui/index.html", NULL, NULL, NULL, &r);
    tassert_problem(&r, 405);
    ck_assert_str_eq(r.allow, "GET, HEAD");
    tresp_release(&r);
    tserver_cleanup(&ts);
}
END_TEST

Suite *api_ui_suite(void)
{
    Suite *s = suite_create("api_ui");
    TCase *tc = tcase_create("ui");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ui_index_and_redirect);
    tcase_add_test(tc, test_ui_every_file);
    tcase_add_test(tc, test_ui_unknown);
    suite_add_tcase(s, tc);
    return s;
}
