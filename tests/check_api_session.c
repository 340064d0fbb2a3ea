/* SPDX-License-Identifier: MIT */
/*
 * Browser sign-in at the HTTP boundary: POST /session trades a token for a
 * session cookie and a CSRF token; requests by cookie are identified like
 * their token (revoking it ends the session), state-changing ones need
 * X-CSRF-Token; bearer tokens win over cookies; DELETE /session signs out;
 * sessions expire (--session-ttl, capped by the token); tokens in a URL are
 * refused. The browser itself is exercised by tests/browser (make
 * test-browser).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testapi.h"
#include "util.h"

struct sess {
    struct tserver ts;
    int64_t pr, user;
    char tok[65];
    char cookie[128]; /* "Cookie: modeld_session=..." */
    char csrf[65];
    char path[64];    /* /projects/{pr}/models */
};

/* Sign in with token: 201, the cookie header line and CSRF token into s. */
static void sign_in(struct sess *s, const char *token, struct tresp *r)
{
    char body[160];
    const char *v, *end;

    snprintf(body, sizeof(body), "{\"token\": \"%s\"}", token);
    tjson(&s->ts, "POST", "/session", NULL, body, r);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    v = strstr(r->set_cookie, "modeld_session=");
    ck_assert_ptr_nonnull(v);
    v += strlen("modeld_session=");
    end = strchr(v, ';');
    ck_assert_ptr_nonnull(end);
    ck_assert_int_eq(end - v, 64);
    snprintf(s->cookie, sizeof(s->cookie), "Cookie: modeld_session=%.64s", v);
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(r->json, "csrf_token"))), 64);
    snprintf(s->csrf, sizeof(s->csrf), "%s",
             json_string_value(json_object_get(r->json, "csrf_token")));
}

static void sess_start(struct sess *s, int ttl)
{
    int64_t ws;

    memset(s, 0, sizeof(*s));
    tserver_start(&s->ts, 0);
    if (ttl) {
        s->ts.cfg.session_ttl = ttl;
        tserver_restart(&s->ts, 0);
    }
    ws = tfx_workspace(&s->ts, "ws");
    s->pr = tfx_project(&s->ts, ws, "proj");
    s->user = tfx_user(&s->ts, "mia", 0, s->tok);
    tfx_member(&s->ts, s->pr, s->user, "MANAGER");
    snprintf(s->path, sizeof(s->path), "/projects/%lld/models", (long long)s->pr);
}

/* Revoke token with the CLI while the daemon runs. */
static void revoke(struct sess *s, const char *token)
{
    char out[256];
    const char *args[] = {"token", "revoke", "--db", s->ts.db_path, "--token", token, NULL};

    ck_assert_int_eq(trun(args, out, sizeof(out)), 0);
}

/* method path with the session cookie, optional extra header line and JSON body. */
static void by_cookie(struct sess *s, const char *method, const char *path, const char *extra,
                      const char *body, struct tresp *r)
{
    const char *h[] = {s->cookie, extra, NULL};

    thttp_headers(&s->ts, method, path, h, body, r);
}

START_TEST(test_session_sign_in_and_csrf)
{
    struct sess s;
    struct tresp r;
    char csrf[96], bearer[96];

    sess_start(&s, 0);
    sign_in(&s, s.tok, &r);
    ck_assert_msg(strstr(r.set_cookie, "; HttpOnly") && strstr(r.set_cookie, "; SameSite=Strict") &&
                      strstr(r.set_cookie, "; Path=/") && strstr(r.set_cookie, "; Max-Age="),
                  "%s", r.set_cookie);
    {
        /* 12 h, less the seconds a slow (sanitizer) build took between the two clocks */
        long age = atol(strstr(r.set_cookie, "; Max-Age=") + 10);

        ck_assert_msg(age <= 43200 && age >= 43200 - 30, "%s", r.set_cookie);
    }
    ck_assert_msg(!strstr(r.set_cookie, "Secure"), "plain HTTP: %s", r.set_cookie);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(r.json, "expires")));
    tresp_release(&r);

    /* safe methods need the cookie only */
    by_cookie(&s, "GET", s.path, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    /* a state-changing one needs X-CSRF-Token: missing, wrong, right */
    by_cookie(&s, "POST", s.path, NULL, "{}", &r);
    tassert_problem(&r, 403);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "type")),
                     "urn:modeld:problem:csrf-token-invalid");
    tresp_release(&r);
    by_cookie(&s, "POST", s.path,
              "X-CSRF-Token: 0000000000000000000000000000000000000000000000000000000000000000",
              "{}", &r);
    tassert_problem(&r, 403);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "type")),
                     "urn:modeld:problem:csrf-token-invalid");
    tresp_release(&r);
    snprintf(csrf, sizeof(csrf), "X-CSRF-Token: %s", s.csrf);
    by_cookie(&s, "POST", s.path, csrf, "{}", &r);
    tassert_problem(&r, 400); /* past authentication: the body is checked */
    ck_assert_ptr_nonnull(terror(&r, "name"));
    tresp_release(&r);

    /* a bearer token wins over the cookie: a bad one is a 401 even with a good cookie */
    by_cookie(&s, "GET", s.path, "Authorization: Bearer nope", NULL, &r);
    tassert_problem(&r, 401);
    tresp_release(&r);
    /* ... and a good one needs no CSRF token */
    snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", s.tok);
    by_cookie(&s, "POST", s.path, bearer, "{}", &r);
    tassert_problem(&r, 400);
    tresp_release(&r);

    /* sign out: needs the CSRF token, clears the cookie, ends the session */
    by_cookie(&s, "DELETE", "/session", NULL, NULL, &r);
    tassert_problem(&r, 403);
    tresp_release(&r);
    by_cookie(&s, "DELETE", "/session", csrf, NULL, &r);
    ck_assert_int_eq(r.status, 204);
    ck_assert_msg(strstr(r.set_cookie, "modeld_session=;") && strstr(r.set_cookie, "Max-Age=0"),
                  "%s", r.set_cookie);
    tresp_release(&r);
    by_cookie(&s, "GET", s.path, NULL, NULL, &r);
    tassert_problem(&r, 401);
    ck_assert_ptr_nonnull(strstr(r.www_auth, "Bearer"));
    tresp_release(&r);
    /* signing out again (or without a session) only clears the cookie */
    by_cookie(&s, "DELETE", "/session", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 204);
    tresp_release(&r);
    /* a cookie that is not one of ours */
    {
        const char *h[] = {"Cookie: modeld_session=abc", NULL};

        thttp_headers(&s.ts, "GET", s.path, h, NULL, &r);
        tassert_problem(&r, 401);
        tresp_release(&r);
    }
    tserver_cleanup(&s.ts);
}
END_TEST

/* GET /session: a reloaded page gets its session back by the cookie alone (the
 * user, the same CSRF token, the expiry); without a valid session, 401. */
START_TEST(test_session_get)
{
    struct sess s;
    struct tresp r;
    char csrf[96], bearer[96], expires[32];

    sess_start(&s, 0);
    thttp(&s.ts, "GET", "/session", NULL, NULL, NULL, &r);
    tassert_problem(&r, 401);
    ck_assert_ptr_nonnull(strstr(r.www_auth, "Bearer"));
    tresp_release(&r);
    /* a bearer token is not a session */
    snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", s.tok);
    {
        const char *h[] = {bearer, NULL};

        thttp_headers(&s.ts, "GET", "/session", h, NULL, &r);
        tassert_problem(&r, 401);
        tresp_release(&r);
    }
    sign_in(&s, s.tok, &r);
    snprintf(expires, sizeof(expires), "%s",
             json_string_value(json_object_get(r.json, "expires")));
    tresp_release(&r);
    by_cookie(&s, "GET", "/session", NULL, NULL, &r);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "csrf_token")), s.csrf);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "expires")), expires);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r.json, "user"), "id")),
                     s.user);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r.json, "user"), "name")),
                     "mia");
    ck_assert_str_eq(r.set_cookie, ""); /* reading the session changes nothing */
    tresp_release(&r);
    /* the token it gives back works as the CSRF token */
    snprintf(csrf, sizeof(csrf), "X-CSRF-Token: %s", s.csrf);
    by_cookie(&s, "POST", s.path, csrf, "{}", &r);
    tassert_problem(&r, 400); /* past authentication and CSRF: the body is checked */
    tresp_release(&r);
    /* two sessions of one token have two CSRF tokens */
    {
        struct sess other = s;

        sign_in(&other, s.tok, &r);
        tresp_release(&r);
        ck_assert_str_ne(other.csrf, s.csrf);
        by_cookie(&other, "GET", "/session", NULL, NULL, &r);
        ck_assert_str_eq(json_string_value(json_object_get(r.json, "csrf_token")), other.csrf);
        tresp_release(&r);
    }
    /* a cookie that is not one of ours */
    {
        const char *h[] = {"Cookie: modeld_session=0123", NULL};

        thttp_headers(&s.ts, "GET", "/session", h, NULL, &r);
        tassert_problem(&r, 401);
        tresp_release(&r);
    }
    /* revoking the token ends it */
    revoke(&s, s.tok);
    for (int i = 0; i < 50; i++) {
        by_cookie(&s, "GET", "/session", NULL, NULL, &r);
        if (r.status == 401)
            break;
        tresp_release(&r);
        tapi_sleep(0.05);
    }
    tassert_problem(&r, 401);
    tresp_release(&r);
    tserver_cleanup(&s.ts);
}
END_TEST

START_TEST(test_session_bad_sign_in)
{
    struct sess s;
    struct tresp r;
    char revoked[65];

    sess_start(&s, 0);
    tjson(&s.ts, "POST", "/session", NULL, "{\"token\": \"nope\"}", &r);
    tassert_problem(&r, 401);
    ck_assert_str_eq(r.set_cookie, "");
    tresp_release(&r);
    tjson(&s.ts, "POST", "/session", NULL, "{}", &r);
    tassert_problem(&r, 400);
    ck_assert_ptr_nonnull(terror(&r, "token"));
    tresp_release(&r);
    tjson(&s.ts, "POST", "/session", NULL, "{\"token\": 7}", &r);
    tassert_problem(&r, 400);
    ck_assert_ptr_nonnull(terror(&r, "token"));
    tresp_release(&r);
    /* a form post (what a cross-site page could send) is not accepted */
    thttp(&s.ts, "POST", "/session", NULL, "application/x-www-form-urlencoded", "token=x", &r);
    tassert_problem(&r, 415);
    tresp_release(&r);
    /* a revoked token cannot sign in */
    tfx_token(&s.ts, s.user, 0, revoked);
    revoke(&s, revoked);
    {
        char body[128];

        snprintf(body, sizeof(body), "{\"token\": \"%s\"}", revoked);
        tjson(&s.ts, "POST", "/session", NULL, body, &r);
        tassert_problem(&r, 401);
        tresp_release(&r);
    }
    tserver_cleanup(&s.ts);
}
END_TEST

/* Revoking the token a session came from ends the session at once. */
START_TEST(test_session_ends_with_its_token)
{
    struct sess s;
    struct tresp r;
    char tok2[65];

    sess_start(&s, 0);
    tfx_token(&s.ts, s.user, 0, tok2);
    sign_in(&s, tok2, &r);
    tresp_release(&r);
    by_cookie(&s, "GET", s.path, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    revoke(&s, tok2);
    {
        /* within 1 s (the daemon's auth cache reads the change counter every 200 ms) */
        double t0 = util_monotonic(), waited;

        for (;;) {
            by_cookie(&s, "GET", s.path, NULL, NULL, &r);
            waited = util_monotonic() - t0;
            if (r.status == 401 || waited > 1.0 * TAPI_SLOW)
                break;
            tresp_release(&r);
            nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
        }
        tassert_problem(&r, 401);
        ck_assert_msg(waited <= 1.0 * TAPI_SLOW, "the session outlived its token by %.2f s", waited);
        tresp_release(&r);
    }
    /* the user's other token still works */
    thttp(&s.ts, "GET", s.path, s.tok, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    tresp_release(&r);
    tserver_cleanup(&s.ts);
}
END_TEST

/* A session lasts --session-ttl, and never longer than its token. */
START_TEST(test_session_expires)
{
    struct sess s;
    struct tresp r;
    char short_tok[65];
    const char *age;

    sess_start(&s, 1);
    sign_in(&s, s.tok, &r);
    ck_assert_msg(strstr(r.set_cookie, "Max-Age=1;") || strstr(r.set_cookie, "Max-Age=0;"), "%s",
                  r.set_cookie);
    tresp_release(&r);
    {
        struct timespec t = {2, 100000000L};

        nanosleep(&t, NULL);
    }
    by_cookie(&s, "GET", s.path, NULL, NULL, &r);
    tassert_problem(&r, 401);
    tresp_release(&r);
    tserver_cleanup(&s.ts);

    sess_start(&s, 0);
    tfx_token(&s.ts, s.user, util_now_unix() + 100, short_tok);
    sign_in(&s, short_tok, &r);
    age = strstr(r.set_cookie, "Max-Age=");
    ck_assert_ptr_nonnull(age);
    ck_assert_msg(atoi(age + 8) <= 100 && atoi(age + 8) >= 90, "%s", r.set_cookie);
    tresp_release(&r);
    tserver_cleanup(&s.ts);
}
END_TEST

/* Tokens in a URL are refused (400), on protected and public routes alike. */
START_TEST(test_token_in_url_refused)
{
    struct sess s;
    struct tresp r;
    char path[160];

    sess_start(&s, 0);
    snprintf(path, sizeof(path), "%s?token=%s", s.path, s.tok);
    thttp(&s.ts, "GET", path, NULL, NULL, NULL, &r);
    tassert_problem(&r, 400);
    ck_assert_ptr_nonnull(terror(&r, "token"));
    tresp_release(&r);
    snprintf(path, sizeof(path), "%s?access_token=%s", s.path, s.tok);
    thttp(&s.ts, "GET", path, s.tok, NULL, NULL, &r); /* even beside a good header */
    tassert_problem(&r, 400);
    ck_assert_ptr_nonnull(terror(&r, "access_token"));
    tresp_release(&r);
    thttp(&s.ts, "GET", "/health?access_token=x", NULL, NULL, NULL, &r);
    tassert_problem(&r, 400);
    tresp_release(&r);
    tserver_cleanup(&s.ts);
}
END_TEST

Suite *api_session_suite(void)
{
    Suite *s = suite_create("api_session");
    TCase *tc = tcase_create("session");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_session_sign_in_and_csrf);
    tcase_add_test(tc, test_session_get);
    tcase_add_test(tc, test_session_bad_sign_in);
    tcase_add_test(tc, test_session_ends_with_its_token);
    tcase_add_test(tc, test_session_expires);
    tcase_add_test(tc, test_token_in_url_refused);
    suite_add_tcase(s, tc);
    return s;
}
