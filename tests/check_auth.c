/* SPDX-License-Identifier: MIT */
/* auth without a database: the bearer syntax and the route checks. */
#include <check.h>
#include <string.h>

#include "auth.h"
#include "authcache.h"
#include "util.h"
#include "testutil.h"

START_TEST(test_bearer)
{
    char longtok[300];

    ck_assert_str_eq(auth_bearer("Bearer abc"), "abc");
    ck_assert_str_eq(auth_bearer("bearer abc"), "abc"); /* the scheme is case-insensitive */
    ck_assert_str_eq(auth_bearer("Bearer    abc"), "abc");
    ck_assert_ptr_null(auth_bearer(NULL));
    ck_assert_ptr_null(auth_bearer(""));
    ck_assert_ptr_null(auth_bearer("Bearer"));
    ck_assert_ptr_null(auth_bearer("Bearer "));
    ck_assert_ptr_null(auth_bearer("Basic abc"));
    ck_assert_ptr_null(auth_bearer("Bearerabc"));
    ck_assert_ptr_null(auth_bearer("Bearer a b"));
    ck_assert_ptr_null(auth_bearer("Bearer a\tb"));
    ck_assert_ptr_null(auth_bearer("Bearer abc "));
    memcpy(longtok, "Bearer ", 7);
    memset(longtok + 7, 'x', 256);
    longtok[7 + 256] = '\0';
    ck_assert_ptr_nonnull(auth_bearer(longtok)); /* 256 characters is the longest token */
    longtok[7 + 256] = 'x';
    longtok[7 + 257] = '\0';
    ck_assert_ptr_null(auth_bearer(longtok));
}
END_TEST

/* Session cookie values: only 64 lowercase hex digits are ours (anything
 * else is refused before a lookup); a CSRF token matches only its own hash. */
START_TEST(test_session_values)
{
    const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char hash[65], csrf_hash[65];

    ck_assert_int_eq(auth_session_hash(id, hash), 0);
    ck_assert_uint_eq(strlen(hash), 64);
    ck_assert_str_ne(hash, id);
    ck_assert_int_eq(auth_session_hash(NULL, hash), -1);
    ck_assert_int_eq(auth_session_hash("abc", hash), -1);
    ck_assert_int_eq(
        auth_session_hash("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", hash),
        -1);
    ck_assert_int_eq(
        auth_session_hash("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefa", hash),
        -1);
    util_hash_hex(id, csrf_hash);
    ck_assert_int_eq(auth_csrf_ok(csrf_hash, id), 1);
    ck_assert_int_eq(auth_csrf_ok(csrf_hash, NULL), 0);
    ck_assert_int_eq(auth_csrf_ok(csrf_hash, ""), 0);
    ck_assert_int_eq(auth_csrf_ok(csrf_hash, csrf_hash), 0); /* the hash itself is no token */
    ck_assert_int_eq(
        auth_csrf_ok(csrf_hash, "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        0);
}
END_TEST

START_TEST(test_check)
{
    struct caller who = {.user_id = 1};

    for (int r = ROLE_NONE; r < ROLE_COUNT; r++)
        for (int min = ROLE_VIEWER; min < ROLE_COUNT; min++) {
            who.role = (enum role)r;
            who.read_only = 0;
            ck_assert_int_eq(auth_check(&who, 1, (enum role)min, 0),
                             r >= min ? AUTH_ALLOWED : AUTH_ROLE_TOO_LOW);
            /* routes outside a project ignore the project role */
            ck_assert_int_eq(auth_check(&who, 0, (enum role)min, 0), AUTH_ALLOWED);
            who.read_only = 1;
            ck_assert_int_eq(auth_check(&who, 1, (enum role)min, 1),
                             r >= min ? AUTH_READ_ONLY : AUTH_ROLE_TOO_LOW);
            ck_assert_int_eq(auth_check(&who, 1, (enum role)min, 0),
                             r >= min ? AUTH_ALLOWED : AUTH_ROLE_TOO_LOW);
        }
}
END_TEST

/* Unknown tokens are remembered (the 401 path then reads no database) until
 * the next flush, and an entry read before a flush is not stored after it. */
START_TEST(test_unknown_tokens)
{
    struct authcache *ac = authcache_new(16, 16);
    char a[65], b[65];
    uint64_t gen;

    ck_assert_ptr_nonnull(ac);
    memset(a, 'a', 64);
    a[64] = '\0';
    memcpy(b, a, sizeof(b));
    b[63] = 'b'; /* same slot, other hash */
    ck_assert_int_eq(authcache_unknown_get(ac, a), 0);
    gen = authcache_gen(ac);
    authcache_unknown_put(ac, gen, a);
    ck_assert_int_eq(authcache_unknown_get(ac, a), 1);
    ck_assert_int_eq(authcache_unknown_get(ac, b), 0);
    authcache_flush(ac); /* e.g. auth_epoch moved: a user enabled again */
    ck_assert_int_eq(authcache_unknown_get(ac, a), 0);
    authcache_unknown_put(ac, gen, a); /* read before the flush: dropped */
    ck_assert_int_eq(authcache_unknown_get(ac, a), 0);
    authcache_free(ac);
}
END_TEST

Suite *auth_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("auth");

    tcase_add_test(tc, test_bearer);
    tcase_add_test(tc, test_check);
    tcase_add_test(tc, test_unknown_tokens);
    tcase_add_test(tc, test_session_values);
    suite_add_tcase(s, tc);
    return s;
}
