/* SPDX-License-Identifier: MIT */
/*
 * Optional TLS (--tls-cert, --tls-key through libmicrohttpd's GnuTLS
 * support): with a self-signed certificate made for the test, the API answers
 * over HTTPS, a session cookie it sets is Secure, and a plain-HTTP request on
 * that port gets no HTTP answer.
 */
#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testapi.h"

static size_t sink(char *p, size_t size, size_t n, void *ctx)
{
    struct tbuf *b = ctx;
    tbuf_add(b, "%.*s", (int)(size * n), p);
    return size * n;
}

START_TEST(test_https)
{
    struct tapi a;
    char cert[400], key[400], cmd[1200], url[128];

    if (system("command -v openssl >/dev/null 2>&1") != 0) {
        tskip_needed("TLS (no openssl to make a test certificate)");
        return;
    }
    tapi_start(&a, 1);
    snprintf(cert, sizeof cert, "%s/cert.pem", a.ts.dir);
    snprintf(key, sizeof key, "%s/key.pem", a.ts.dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout %s -out %s -days 2 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             key, cert);
    ck_assert_int_eq(system(cmd), 0);
    tserver_stop(&a.ts); /* the configuration is read-only while a server runs */
    a.ts.cfg.tls_cert = cert;
    a.ts.cfg.tls_key = key;
    tserver_restart(&a.ts, 1);

    CURL *c = curl_easy_init();
    struct tbuf body = {0};
    long status = 0;
    snprintf(url, sizeof url, "https://127.0.0.1:%u/projects/%lld/models", (unsigned)a.ts.port,
             (long long)a.pr);
    struct curl_slist *h = NULL;
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", a.viewer);
    h = curl_slist_append(h, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CAINFO, cert); /* verify against the test certificate */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(20 * TAPI_SLOW));
    CURLcode rc = curl_easy_perform(c);
    ck_assert_msg(rc == CURLE_OK, "https: %s", curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    ck_assert_int_eq(status, 200);
    ck_assert_msg(body.s && strstr(body.s, "\"items\""), "%s", body.s ? body.s : "");
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    free(body.s);
    /* over TLS the session cookie is Secure */
    {
        struct tbuf heads = {0}, answer = {0};
        char json[128];

        c = curl_easy_init();
        h = curl_slist_append(NULL, "Content-Type: application/json");
        snprintf(url, sizeof url, "https://127.0.0.1:%u/session", (unsigned)a.ts.port);
        snprintf(json, sizeof json, "{\"token\": \"%s\"}", a.viewer);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(c, CURLOPT_CAINFO, cert);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sink);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &heads);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(20 * TAPI_SLOW));
        rc = curl_easy_perform(c);
        ck_assert_msg(rc == CURLE_OK, "https: %s", curl_easy_strerror(rc));
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        ck_assert_msg(status == 201, "%ld %s", status, answer.s ? answer.s : "");
        ck_assert_msg(heads.s && strstr(heads.s, "HttpOnly; SameSite=Strict; Secure\r\n"), "%s",
                      heads.s ? heads.s : "");
        curl_easy_cleanup(c);
        curl_slist_free_all(h);
        free(heads.s);
        free(answer.s);
    }
    /* plain HTTP on the TLS port: no HTTP answer */
    struct tresp r;
    int ok = thttp_try(&a.ts, "GET", "/healthz", NULL, &r) == 0 && r.status == 200;
    tresp_release(&r);
    ck_assert_msg(!ok, "plain HTTP was answered on the TLS port");
    tserver_cleanup(&a.ts);
}
END_TEST

Suite *api_tls_suite(void)
{
    Suite *s = suite_create("api_tls");
    TCase *tc = tcase_create("tls");

    tcase_set_timeout(tc, 60 * TAPI_SLOW);
    tcase_add_test(tc, test_https);
    suite_add_tcase(s, tc);
    return s;
}
