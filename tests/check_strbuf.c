/* SPDX-License-Identifier: MIT */
/*
 * Unit suite for strbuf: appends of bytes and of formatted text across
 * growth, the NUL after the contents, detach and release, and the sticky
 * failure (an append that cannot be done fails the buffer, later appends do
 * nothing and detach gives NULL).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "testutil.h"

START_TEST(test_strbuf_append)
{
    struct strbuf sb = STRBUF_INIT;
    size_t len = 99;
    char *s;

    /* an empty buffer detaches as an allocated "" */
    s = strbuf_detach(&sb, &len);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s, "");
    ck_assert_uint_eq(len, 0);
    free(s);

    ck_assert_int_eq(strbuf_add(&sb, "ab\0c", 4), 0);
    ck_assert_uint_eq(sb.len, 4);
    ck_assert_int_eq(sb.buf[4], '\0');
    ck_assert_int_eq(memcmp(sb.buf, "ab\0c", 4), 0);
    ck_assert_int_eq(strbuf_add(&sb, NULL, 0), 0);
    ck_assert_uint_eq(sb.len, 4);
    /* formatted text across many growths: every append lands intact */
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(strbuf_addf(&sb, "<%d:%s>", i, i % 7 ? "x" : "a longer piece of text"), 0);
    ck_assert(sb.len < sb.cap);
    ck_assert_int_eq(sb.buf[sb.len], '\0');
    ck_assert_ptr_nonnull(strstr(sb.buf + 4, "<0:a longer piece of text><1:x>"));
    ck_assert_ptr_nonnull(strstr(sb.buf + 4, "<999:x>"));
    size_t want = sb.len;
    s = strbuf_detach(&sb, &len);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(len, want);
    ck_assert_ptr_null(sb.buf);
    ck_assert_uint_eq(sb.len, 0);
    free(s);

    strbuf_init(&sb);
    ck_assert_int_eq(strbuf_addf(&sb, "%s", ""), 0);
    ck_assert_ptr_nonnull(sb.buf);
    ck_assert_str_eq(sb.buf, "");
    strbuf_release(&sb);
    ck_assert_ptr_null(sb.buf);
    strbuf_release(&sb); /* twice is harmless */
}
END_TEST

START_TEST(test_strbuf_failure_sticks)
{
    struct strbuf sb = STRBUF_INIT;
    size_t len = 7;

    ck_assert_int_eq(strbuf_addf(&sb, "kept %d", 1), 0);
    /* a size that cannot be held fails the buffer without touching memory */
    ck_assert_int_eq(strbuf_add(&sb, "x", SIZE_MAX - 2), -1);
    ck_assert_int_eq(sb.failed, 1);
    ck_assert_int_eq(strbuf_add(&sb, "y", 1), -1);
    ck_assert_int_eq(strbuf_addf(&sb, "%s", "z"), -1);
    ck_assert_str_eq(sb.buf, "kept 1"); /* nothing appended after the failure */
    ck_assert_ptr_null(strbuf_detach(&sb, &len));
    ck_assert_uint_eq(len, 7); /* untouched on failure */
    ck_assert_ptr_null(sb.buf);
    ck_assert_int_eq(sb.failed, 0); /* released: usable again */
    ck_assert_int_eq(strbuf_add(&sb, "ok", 2), 0);
    strbuf_release(&sb);
}
END_TEST

Suite *strbuf_suite(void)
{
    Suite *s = suite_create("strbuf");
    TCase *tc = tcase_create("strbuf");

    tcase_add_test(tc, test_strbuf_append);
    tcase_add_test(tc, test_strbuf_failure_sticks);
    suite_add_tcase(s, tc);
    return s;
}
