/* SPDX-License-Identifier: MIT */
/*
 * check_text: unit tests of the text module (normalization, tokenization,
 * stemming) in English, German and Arabic. Each test asserts the behaviour it
 * is named after; docs/TEXT.md explains why the behaviour is what it is.
 * Every analysis the tests make also runs text_analyze_spans() and checks
 * that it gives the same tokens and norm, with spans that keep text.h's
 * promises (check_spans), so each test is also a test of the spans.
 * Exports text_suite() for the test runner.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "err.h"
#include "testutil.h"
#include "text.h"

Suite *text_suite(void);

/* 1 if a and b hold the same tokens and the same norm. */
static int same_analysis(const struct text_tokens *a, const struct text_tokens *b)
{
    if (a->n != b->n || a->len != b->len || a->norm_len != b->norm_len || strcmp(a->norm, b->norm))
        return 0;
    /* with no tokens the arrays may be NULL, and memcmp(NULL, ..., 0) is undefined */
    return a->n == 0 ||
           (!memcmp(a->buf, b->buf, a->len) && !memcmp(a->off, b->off, a->n * sizeof(*a->off)) &&
            !memcmp(a->tlen, b->tlen, a->n * sizeof(*a->tlen)));
}

/* 1 if a valid UTF-8 sequence starts at s[i] (len bytes in s). */
static int utf8_starts(const char *s, size_t len, size_t i)
{
    utf8proc_int32_t c;

    return i < len &&
           utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &c) > 0;
}

/* 1 if a valid UTF-8 sequence ends just before s[i]. */
static int utf8_ends(const char *s, size_t len, size_t i)
{
    size_t b;

    for (b = i; b > 0 && i - b < 4; b--) {
        utf8proc_int32_t c;
        utf8proc_ssize_t r;

        if (((unsigned char)s[b - 1] & 0xC0) == 0x80)
            continue; /* a continuation byte: the sequence starts further back */
        r = utf8proc_iterate((const utf8proc_uint8_t *)s + b - 1, (utf8proc_ssize_t)(len - b + 1),
                             &c);
        return r > 0 && b - 1 + (size_t)r == i;
    }
    return 0;
}

/*
 * 1 if token i of t (from text_analyze_spans() on s) is also a token of the
 * analysis of its span alone: a span holds what made the token. The one
 * exception is a span that alone looks like a base64 line (>= 40 letters
 * and digits): the chunk it was cut from did not, but the span is skipped.
 */
static int span_has_token(struct text_analyzer *a, const char *s, const struct text_tokens *t,
                          size_t i, struct text_tokens *scratch)
{
    size_t n = t->src_end[i] - t->src_start[i], j;
    struct err err;

    if (text_analyze(a, s + t->src_start[i], n, scratch, &err) < 0)
        return 0;
    for (j = 0; j < scratch->n; j++)
        if (scratch->tlen[j] == t->tlen[i] &&
            !memcmp(scratch->buf + scratch->off[j], t->buf + t->off[i], t->tlen[i]))
            return 1;
    return n >= 40 && scratch->n == 0;
}

/*
 * Assert what text.h promises about the spans of t, the text_analyze_spans()
 * of the len bytes at s: non-empty, inside the input, from the start of a
 * valid UTF-8 sequence to the end of one, starts and ends non-decreasing, and
 * each span alone gives its token again (analyzed with a). Returns the number
 * of coarse spans: those whose analysis gives other tokens too.
 */
static size_t check_spans(struct text_analyzer *a, const char *s, size_t len,
                          const struct text_tokens *t)
{
    struct text_tokens scratch;
    size_t i, coarse = 0;

    /* if + ck_abort_msg, not ck_assert: each passing ck_assert costs a system
     * call (Check records the last passed line), too slow per token of a corpus */
    text_tokens_init(&scratch);
    for (i = 0; i < t->n; i++) {
        size_t b = t->src_start[i], e = t->src_end[i];

        if (!(b < e && e <= len))
            ck_abort_msg("token %zu: span [%zu, %zu) of %zu bytes", i, b, e, len);
        if (!utf8_starts(s, len, b) || !utf8_ends(s, len, e))
            ck_abort_msg("token %zu: span [%zu, %zu) cuts a character", i, b, e);
        if (i > 0 && (t->src_start[i - 1] > b || t->src_end[i - 1] > e))
            ck_abort_msg("token %zu: span [%zu, %zu) before %zu's", i, b, e, i - 1);
        if (!span_has_token(a, s, t, i, &scratch))
            ck_abort_msg("token %zu \"%s\": not in the analysis of its span \"%.*s\"", i,
                         t->buf + t->off[i], (int)(e - b), s + b);
        coarse += scratch.n != 1;
    }
    text_tokens_release(&scratch);
    return coarse;
}

/*
 * Analyze len bytes of s with a fresh analyzer for lang; assert success.
 * Also assert that text_analyze_spans() gives the same analysis, with good
 * spans (check_spans).
 */
static void analyze(const char *lang, const char *s, size_t len, struct text_tokens *t)
{
    struct err err;
    struct text_analyzer *a;
    struct text_tokens sp;

    err_clear(&err);
    a = text_analyzer_new(lang, &err);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(text_analyze(a, s, len, t, &err), 0);
    text_tokens_init(&sp);
    ck_assert_int_eq(text_analyze_spans(a, s, len, &sp, &err), 0);
    ck_assert_msg(same_analysis(t, &sp), "text_analyze_spans differs from text_analyze");
    check_spans(a, s, len, &sp);
    text_tokens_release(&sp);
    text_analyzer_free(a);
}

/* The tokens of t joined by single spaces (caller frees). */
static char *joined(const struct text_tokens *t)
{
    char *out = malloc(t->len + 1);
    size_t i, n = 0;

    ck_assert_ptr_nonnull(out);
    for (i = 0; i < t->n; i++) {
        if (i)
            out[n++] = ' ';
        memcpy(out + n, t->buf + t->off[i], t->tlen[i]);
        n += t->tlen[i];
    }
    out[n] = '\0';
    return out;
}

/* Assert the tokens (joined) and, unless NULL, the norm string of s. */
static void expect(const char *lang, const char *s, const char *tokens, const char *norm)
{
    struct text_tokens t;
    char *j;

    text_tokens_init(&t);
    analyze(lang, s, strlen(s), &t);
    j = joined(&t);
    ck_assert_str_eq(j, tokens);
    if (norm)
        ck_assert_str_eq(t.norm, norm);
    free(j);
    text_tokens_release(&t);
}

/* A token and the text of s its span must be, for expect_spans(). */
struct span_want {
    const char *token, *span;
};

/*
 * Assert the tokens of text_analyze_spans() on s and their spans: want[i]
 * for token i, up to an entry with a NULL token.
 */
static void expect_spans(const char *lang, const char *s, const struct span_want *want)
{
    struct text_tokens t;
    struct err err;
    struct text_analyzer *a = text_analyzer_new(lang, &err);
    size_t i, n = 0, len = strlen(s);

    ck_assert_ptr_nonnull(a);
    while (want[n].token)
        n++;
    text_tokens_init(&t);
    ck_assert_int_eq(text_analyze_spans(a, s, len, &t, &err), 0);
    check_spans(a, s, len, &t);
    ck_assert_uint_eq(t.n, n);
    for (i = 0; i < n; i++) {
        size_t b = t.src_start[i], e = t.src_end[i];

        ck_assert_str_eq(t.buf + t.off[i], want[i].token);
        ck_assert_msg(e - b == strlen(want[i].span) && !memcmp(s + b, want[i].span, e - b),
                      "token %zu \"%s\": span \"%.*s\", expected \"%s\"", i, want[i].token,
                      (int)(e - b), s + b, want[i].span);
    }
    text_tokens_release(&t);
    text_analyzer_free(a);
}

/* Assert that a and b give the same tokens and the same norm. */
static void expect_same(const char *lang, const char *a, const char *b)
{
    struct text_tokens ta, tb;
    char *ja, *jb;

    text_tokens_init(&ta);
    text_tokens_init(&tb);
    analyze(lang, a, strlen(a), &ta);
    analyze(lang, b, strlen(b), &tb);
    ja = joined(&ta);
    jb = joined(&tb);
    ck_assert_str_eq(ja, jb);
    ck_assert_str_eq(ta.norm, tb.norm);
    free(ja);
    free(jb);
    text_tokens_release(&ta);
    text_tokens_release(&tb);
}

/* Assert every invariant text.h promises about t. */
static void check_invariants(const struct text_tokens *t)
{
    size_t i, words = t->n ? 1 : 0;

    ck_assert_ptr_nonnull(t->norm);
    ck_assert_uint_eq(strlen(t->norm), t->norm_len);
    for (i = 0; i < t->n; i++) {
        const char *tok = t->buf + t->off[i];

        ck_assert_uint_gt(t->tlen[i], 0);
        ck_assert_uint_le(t->off[i] + t->tlen[i], t->len);
        ck_assert_int_eq(tok[t->tlen[i]], '\0');
        ck_assert_uint_eq(strlen(tok), t->tlen[i]);
        ck_assert_ptr_null(memchr(tok, ' ', t->tlen[i]));
    }
    for (i = 0; i < t->norm_len; i++)
        if (t->norm[i] == ' ') {
            ck_assert_uint_gt(i, 0);
            ck_assert_uint_lt(i + 1, t->norm_len);
            ck_assert_int_ne(t->norm[i + 1], ' ');
            words++;
        }
    ck_assert_uint_eq(words, t->n);
}

START_TEST(test_analyzer_languages)
{
    static const char *const bad[] = {"fr", "EN", "english", "", "e"};
    struct err err;
    struct text_analyzer *a;
    size_t i;

    a = text_analyzer_new("en", &err);
    ck_assert_ptr_nonnull(a);
    text_analyzer_free(a);
    a = text_analyzer_new("de", &err);
    ck_assert_ptr_nonnull(a);
    text_analyzer_free(a);
    a = text_analyzer_new("ar", &err);
    ck_assert_ptr_nonnull(a);
    text_analyzer_free(a);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&err);
        ck_assert_ptr_null(text_analyzer_new(bad[i], &err));
        ck_assert_int_eq(err.code, ERR_INVALID);
    }
    err_clear(&err);
    ck_assert_ptr_null(text_analyzer_new(NULL, &err));
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_ptr_null(text_analyzer_new("xx", NULL)); /* err may be NULL */
    ck_assert_int_eq(text_lang_supported("de"), 1);
    ck_assert_int_eq(text_lang_supported("fr"), 0);
    ck_assert_int_eq(text_lang_supported(NULL), 0);
    text_analyzer_free(NULL);
    text_tokens_release(NULL);
}
END_TEST

START_TEST(test_null_arguments)
{
    struct err err;
    struct text_tokens t;
    struct text_analyzer *a = text_analyzer_new("en", &err);

    text_tokens_init(&t);
    err_clear(&err);
    ck_assert_int_eq(text_analyze(NULL, "x", 1, &t, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    err_clear(&err);
    ck_assert_int_eq(text_analyze(a, "x", 1, NULL, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    err_clear(&err);
    ck_assert_int_eq(text_analyze(a, NULL, 3, &t, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_int_eq(text_analyze(a, NULL, 0, &t, &err), 0); /* NULL with len 0 is empty */
    ck_assert_uint_eq(t.n, 0);
    text_tokens_release(&t);
    text_analyzer_free(a);
}
END_TEST

START_TEST(test_english_stemming)
{
    expect("en", "running dogs ran happily connections", "run dog ran happili connect",
           "running dogs ran happily connections");
}
END_TEST

START_TEST(test_case_folding)
{
    expect_same("en", "HELLO World", "hello world");
    expect_same("en", "Hello WoRlD", "hello world");
    /* NFKC: fullwidth letters and the fi ligature become plain letters */
    expect_same("en", "\uff28\uff45\uff4c\uff4c\uff4f \ufb01ne", "hello fine");
    expect("en", "\u03a3\u039f\u03a6\u039f\u03a3", "σοφοσ", NULL); /* Greek, folded */
    /* canonical reordering before composition: s + dot above + dot below = U+1E69 */
    expect_same("en", "s\u0307\u0323", "\u1e69");
    expect_same("en", "\u1e68", "\u1e69"); /* and its capital */
}
END_TEST

START_TEST(test_english_apostrophes_and_negation)
{
    expect("en", "I don't like it's not", "i don't like it not", "i don't like it's not");
    /* typographic apostrophe U+2019 = ASCII apostrophe */
    expect_same("en", "don\u2019t it\u2019s", "don't it's");
    /* quotes around a word are not apostrophes */
    expect("en", "'quoted' dogs'", "quot dog", "quoted dogs");
    /* negations are never dropped (no stop-word list) */
    expect("en", "not no never nor", "not no never nor", NULL);
}
END_TEST

START_TEST(test_german_eszett)
{
    /* case folding turns both eszetts into "ss", so all spellings meet */
    expect("de", "Stra\u00dfe", "strass", "strasse");
    expect_same("de", "Stra\u00dfe", "STRASSE");
    expect_same("de", "Stra\u00dfe", "strasse");
    expect_same("de", "Stra\u00dfe", "STRA\u1e9eE"); /* capital sharp s U+1E9E */
    expect("de", "Gr\u00fc\u00dfe", "gruss", "gr\u00fcsse");
}
END_TEST

START_TEST(test_german_umlauts)
{
    /* umlauts survive folding; the stemmer removes them (Häuser -> haus) */
    expect("de", "H\u00e4user", "haus", "h\u00e4user");
    expect_same("de", "H\u00e4user", "H\u00c4USER");
    /* decomposed a + U+0308 is composed by NFKC */
    expect_same("de", "H\u00e4user", "Ha\u0308user");
    expect("de", "Haus H\u00e4user", "haus haus", "haus h\u00e4user");
}
END_TEST

START_TEST(test_german_negation_and_lbr)
{
    expect("de", "Das ist nicht gut, kein Witz!|LBR|Keine Ahnung",
           "das ist nicht gut kein witz kein ahnung", "das ist nicht gut kein witz keine ahnung");
    expect("de", "a|LBR|b |lbr| c|LBR", "a b c lbr", NULL);
}
END_TEST

START_TEST(test_arabic_alef_variants)
{
    const char *variants[] = {"\u0623\u0643\u0644",  /* أكل */
                              "\u0625\u0643\u0644",  /* إكل */
                              "\u0622\u0643\u0644",  /* آكل */
                              "\u0671\u0643\u0644"}; /* ٱكل */
    size_t i;

    for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
        expect("ar", variants[i], "\u0627\u0643\u0644", "\u0627\u0643\u0644"); /* اكل */
    /* alef + combining hamza above (U+0654) composes to U+0623 first */
    expect_same("ar", "\u0627\u0654\u0643\u0644", "\u0627\u0643\u0644");
}
END_TEST

START_TEST(test_arabic_diacritics)
{
    /* كَتَبَ (fatha U+064E) = كتب; كِتَابٌ (kasra, fatha, dammatan) = كتاب */
    expect_same("ar", "\u0643\u064e\u062a\u064e\u0628\u064e", "\u0643\u062a\u0628");
    expect_same("ar", "\u0643\u0650\u062a\u064e\u0627\u0628\u064c", "\u0643\u062a\u0627\u0628");
    /* shadda + sukun: مُدَرِّسْ = مدرس */
    expect_same("ar", "\u0645\u064f\u062f\u064e\u0631\u0651\u0650\u0633\u0652",
                "\u0645\u062f\u0631\u0633");
    /* superscript alef U+0670: هٰذا = هذا */
    expect_same("ar", "\u0647\u0670\u0630\u0627", "\u0647\u0630\u0627");
}
END_TEST

START_TEST(test_arabic_tatweel)
{
    /* كـتـاب = كتاب (U+0640 inside a word is deleted, it does not split it) */
    expect("ar", "\u0643\u0640\u062a\u0640\u0627\u0628", "\u0643\u062a\u0627\u0628",
           "\u0643\u062a\u0627\u0628");
}
END_TEST

START_TEST(test_arabic_digits)
{
    /* Arabic-Indic ١٢٣ and extended ۴۵ become ASCII; long runs become <num> */
    expect("ar", "\u0661\u0662\u0663 \u06f4\u06f5 \u0661\u0662\u0663\u0664\u0665", "123 45 <num>",
           "123 45 <num>");
    expect_same("ar", "\u0662\u0660\u0661\u0668", "2018");
}
END_TEST

START_TEST(test_arabic_teh_marbuta_alef_maqsura)
{
    /* The stemmer sees ة and ى (it uses them), so المدرسة and مدرسة share the stem مدرس;
     * norm folds ة -> ه and ى -> ي, so the informal spelling shares the n-grams. */
    expect("ar", "\u0627\u0644\u0645\u062f\u0631\u0633\u0629 \u0645\u062f\u0631\u0633\u0629",
           "\u0645\u062f\u0631\u0633 \u0645\u062f\u0631\u0633",
           "\u0627\u0644\u0645\u062f\u0631\u0633\u0647 \u0645\u062f\u0631\u0633\u0647");
    {
        struct text_tokens a, b;

        text_tokens_init(&a);
        text_tokens_init(&b);
        analyze("ar", "\u0639\u0644\u0649", 6, &a); /* على */
        analyze("ar", "\u0639\u0644\u064a", 6, &b); /* علي */
        ck_assert_str_eq(a.norm, b.norm);
        ck_assert_str_eq(a.norm, "\u0639\u0644\u064a");
        text_tokens_release(&a);
        text_tokens_release(&b);
    }
}
END_TEST

START_TEST(test_arabic_sentence)
{
    /* "ذهبَ الطلابُ إلى المدرسةِ صباحاً، وكتبوا الدروسَ." */
    expect("ar",
           "\u0630\u0647\u0628\u064e \u0627\u0644\u0637\u0644\u0627\u0628\u064f "
           "\u0625\u0644\u0649 \u0627\u0644\u0645\u062f\u0631\u0633\u0629\u0650 "
           "\u0635\u0628\u0627\u062d\u0627\u064b\u060c "
           "\u0648\u0643\u062a\u0628\u0648\u0627 "
           "\u0627\u0644\u062f\u0631\u0648\u0633\u064e.",
           /* ذهب طلاب الي مدرس صباح كتب دروس */
           "\u0630\u0647\u0628 \u0637\u0644\u0627\u0628 \u0627\u0644\u064a "
           "\u0645\u062f\u0631\u0633 \u0635\u0628\u0627\u062d "
           "\u0643\u062a\u0628 \u062f\u0631\u0648\u0633",
           /* ذهب الطلاب الي المدرسه صباحا وكتبوا الدروس */
           "\u0630\u0647\u0628 \u0627\u0644\u0637\u0644\u0627\u0628 "
           "\u0627\u0644\u064a \u0627\u0644\u0645\u062f\u0631\u0633\u0647 "
           "\u0635\u0628\u0627\u062d\u0627 \u0648\u0643\u062a\u0628\u0648\u0627 "
           "\u0627\u0644\u062f\u0631\u0648\u0633");
    /* presentation form lam-alef U+FEFB (NFKC) = لا, the negation, kept */
    expect_same("ar", "\ufefb", "\u0644\u0627");
    expect("ar", "\u0644\u0627", "\u0644\u0627", NULL);
}
END_TEST

START_TEST(test_urls)
{
    expect("en", "see http://example.com/a?b=1&c=2 and HTTPS://X.ORG/ and www.foo.org.",
           "see <url> and <url> and <url>", "see <url> and <url> and <url>");
    expect("en", "<a href=\"http://spam.biz/x\">Click</a> ftp://files.net/f",
           "a href <url> click a <url>", NULL);
    /* not URLs: a bare "http" word, "www" alone */
    expect("en", "http is www", "http is www", NULL);
}
END_TEST

START_TEST(test_email_mentions_hashtags)
{
    expect("en", "mail John.Doe+x@Example.COM. now", "mail <email> now", "mail <email> now");
    expect("en", "forteana-unsubscribe@egroups.com", "<email>", NULL);
    expect("en", "@user_1 hi @Martin28a: #Hashtag #AfD", "<user> hi <user> hashtag afd",
           "<user> hi <user> hashtag afd");
    /* a lone @ or a@b without a domain is no address */
    expect("en", "a @ b foo@bar", "a b foo bar", NULL);
}
END_TEST

START_TEST(test_numbers)
{
    expect("en", "2018 10/10 3.5 stars 123456 1,000,000 4you mp3",
           "2018 10 10 3.5 star <num> <num> 4you mp3", "2018 10 10 3.5 stars <num> <num> 4you mp3");
}
END_TEST

START_TEST(test_symbols_and_emoji)
{
    /* each symbol is its own token; U+FE0F (variation selector) is ignored */
    expect("en", "great\U0001f600\U0001f600 $5 \u20ac \u2693\ufe0f",
           "great \U0001f600 \U0001f600 $ 5 \u20ac \u2693", NULL);
    expect_same("en", "\u2693\ufe0f", "\u2693");
    /* default ignorables (soft hyphen, zero width space) do not split words */
    expect_same("de", "Soft\u00adhyphen Null\u200bbreite", "softhyphen nullbreite");
}
END_TEST

START_TEST(test_empty_and_punctuation)
{
    expect("en", "", "", "");
    expect("en", " \t\r\n ", "", "");
    expect("en", "!!! ... ?? -- (),;:", "", "");
    expect("de", "|LBR||LBR|", "", "");
}
END_TEST

START_TEST(test_invalid_utf8)
{
    /* bad bytes separate words; no error, no crash */
    expect("en", "bad\377\376bytes", "bad byte", "bad bytes"); /* octal: \xff \xfe */
    expect("en", "over\xc0\xaflong", "over long", NULL);       /* overlong '/' */
    expect("en", "sur\xed\xa0\x80rogate", "sur rogat", NULL);  /* UTF-16 surrogate */
    expect("en", "cut\xe2\x82", "cut", NULL);                  /* truncated at the end */
    expect("en", "\x80\x80\x80", "", "");                      /* only continuation bytes */
    expect("de", "gr\374\337e", "gr e", NULL);                 /* Latin-1 "grüße", not UTF-8 */
}
END_TEST

START_TEST(test_long_tokens)
{
    char buf[200];
    struct text_tokens t;

    memset(buf, 'a', 64);
    strcpy(buf + 64, " ok");
    expect("en", buf, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ok", NULL);
    memset(buf, 'a', 65);
    strcpy(buf + 65, " ok");
    expect("en", buf, "ok", "ok"); /* 65 bytes: dropped, also from norm */
    /* a MIME base64 line (split by '+' and '/' it would give junk words) */
    expect("en", "x\nR0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7abc+/Q==\ny", "x y",
           "x y");
    /* a 10,000-byte word of 2-byte letters is dropped without trouble */
    text_tokens_init(&t);
    {
        char *big = malloc(20002);
        size_t i;

        ck_assert_ptr_nonnull(big);
        for (i = 0; i < 20000; i += 2)
            memcpy(big + i, "\u00e4", 2);
        memcpy(big + 20000, " z", 2);
        analyze("de", big, 20002, &t);
        ck_assert_uint_eq(t.n, 1);
        ck_assert_str_eq(t.norm, "z");
        free(big);
    }
    text_tokens_release(&t);
}
END_TEST

START_TEST(test_norm_string)
{
    struct text_tokens t;

    const char *s = "  The RUNNING dogs, visit http://x.io \U0001f600!  ";

    text_tokens_init(&t);
    analyze("en", s, strlen(s), &t);
    /* unstemmed, folded, placeholders in place, single spaces, no edge spaces */
    ck_assert_str_eq(t.norm, "the running dogs visit <url> \U0001f600");
    ck_assert_uint_eq(t.n, 6);
    ck_assert_str_eq(t.buf + t.off[1], "run");
    check_invariants(&t);
    text_tokens_release(&t);
}
END_TEST

START_TEST(test_not_nul_terminated)
{
    const char s[] = "alpha beta gamma";
    struct text_tokens t;
    char *j;

    text_tokens_init(&t);
    analyze("en", s, 8, &t); /* "alpha be" */
    j = joined(&t);
    ck_assert_str_eq(j, "alpha be");
    free(j);
    text_tokens_release(&t);
}
END_TEST

START_TEST(test_reuse_across_documents)
{
    static const char *const docs[] = {
        "First document with SEVERAL words and http://a.b/c and more words here",
        "",
        "zweites Dokument \u00fcber Stra\u00dfen",
        "x",
        "!!!",
        "third: don't stop",
    };
    struct err err;
    struct text_analyzer *a = text_analyzer_new("en", &err);
    struct text_tokens t;
    size_t i, cap_after_first = 0;

    text_tokens_init(&t);
    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct text_tokens fresh;
        char *j1, *j2;

        ck_assert_int_eq(text_analyze(a, docs[i], strlen(docs[i]), &t, &err), 0);
        check_invariants(&t);
        if (i == 0)
            cap_after_first = t.cap;
        else /* shorter documents reuse the buffers */
            ck_assert_uint_eq(t.cap, cap_after_first);
        text_tokens_init(&fresh);
        analyze("en", docs[i], strlen(docs[i]), &fresh);
        j1 = joined(&t);
        j2 = joined(&fresh);
        ck_assert_str_eq(j1, j2);
        ck_assert_str_eq(t.norm, fresh.norm);
        free(j1);
        free(j2);
        text_tokens_release(&fresh);
    }
    text_tokens_release(&t);
    ck_assert_ptr_null(t.buf); /* release leaves an initialized, empty struct */
    ck_assert_uint_eq(t.n, 0);
    text_analyzer_free(a);
}
END_TEST

START_TEST(test_mixed_document_invariants)
{
    /* an HTML / MIME flavoured mail plus tweets in all scripts, analyzed with each language */
    static const char doc[] =
        "Subject: =?iso-8859-1?Q?Gr=FC=DFe?=\n<html><body><font size=3D\"2\">FREE!!! $$$ "
        "click&nbsp;<a href=\"HTTP://WWW.SPAM.COM/x?id=1\">here</a></font>=20\n"
        "--==_Part_1\nContent-Transfer-Encoding: "
        "base64\n\nSGVsbG8gV29ybGQhIFRoaXMgaXMgYmFzZTY0IQ==\n"
        "@user \U0001f602\U0001f602 Die Stra\u00dfe|LBR|ist \u0627\u0644\u0643\u062a\u0627\u0628 "
        "\u0661\u0662 \u201cquoted\u201d e\u0301t\u00e9  end";
    static const char *const langs[] = {"en", "de", "ar"};
    size_t i;

    for (i = 0; i < 3; i++) {
        struct text_tokens t;

        text_tokens_init(&t);
        analyze(langs[i], doc, sizeof(doc) - 1, &t);
        check_invariants(&t);
        ck_assert_uint_gt(t.n, 20);
        ck_assert_ptr_null(strstr(t.norm, "sgvsbg8")); /* base64 line dropped */
        ck_assert_ptr_nonnull(strstr(t.norm, "<url>"));
        ck_assert_ptr_nonnull(strstr(t.norm, "<user> \U0001f602 \U0001f602 die strasse ist"));
        text_tokens_release(&t);
    }
}
END_TEST

START_TEST(test_spans_english)
{
    /* a word's span is the word as written, without the punctuation around it */
    static const struct span_want words[] = {
        {"i", "I"},         {"don't", "don't"}, {"like", "like"}, {"it", "it's"},
        {"quot", "quoted"}, {"great", "great"}, {"word", "word"}, {"word", "word"},
        {"dog", "dogs"},    {NULL, NULL}};
    static const struct span_want web[] = {
        {"see", "see"},
        {"<url>", "http://example.com/a?b=1"},
        {"and", "and"},
        {"<url>", "www.foo.org."}, /* the URL characters, '.' too */
        {"mail", "mail"},
        {"<email>", "John.Doe+x@Example.COM"}, /* not the full stop */
        {"<user>", "@user_1"},
        {"hi", "hi"},
        {"foo", "foo"},
        {"bar", "bar"},
        {"caf\u00e9", "Caf\u00e9"}, /* ended by the address */
        {"<email>", "john@x.com"},
        {NULL, NULL}};
    static const struct span_want nums[] = {
        {"2018", "2018"},
        {"3.5", "3.5"},
        {"<num>", "1,000,000"},
        {"<num>", "123456"},
        {"4you", "4you"},
        {"great", "great"},
        {"\U0001f600", "\U0001f600"},
        {"\U0001f600", "\U0001f600"},
        {"$", "$"},
        {"5", "5"},
        {"\u20ac", "\u20ac"},
        {"9", "9"},
        {"\u2693", "\u2693"}, /* the variation selector U+FE0F is ignored, so not covered */
        {NULL, NULL}};
    static const struct span_want caps[] = {{"das", "Das"},
                                            {"essen", "Essen"},
                                            {"war", "war"},
                                            {"grossartig", "GROSSARTIG"},
                                            {NULL, NULL}};

    expect_spans("en", "I don't like it's 'quoted' (great) word,word!! dogs'", words);
    expect_spans("en",
                 "see http://example.com/a?b=1 and www.foo.org. mail "
                 "John.Doe+x@Example.COM. @user_1: hi foo@bar Caf\u00e9john@x.com",
                 web);
    expect_spans("en",
                 "2018 3.5 1,000,000 123456 4you great\U0001f600\U0001f600 $5 \u20ac9 "
                 "\u2693\ufe0f",
                 nums);
    expect_spans("en", "Das Essen war GROSSARTIG!", caps);
}
END_TEST

START_TEST(test_spans_german)
{
    /* precomposed and decomposed umlauts, both eszetts (-> "ss"), the fi
     * ligature (NFKC: two letters), fullwidth letters: the span is the word as
     * written, whatever length its normalization has */
    static const struct span_want want[] = {{"gruss", "Gr\u00fc\u00dfe"},
                                            {"gruss", "Gru\u0308\u00dfe"},
                                            {"haus", "H\u00e4user"},
                                            {"haus", "Ha\u0308user"},
                                            {"haus", "H\u00c4USER"},
                                            {"strass", "STRA\u1e9eE"},
                                            {"strass", "Stra\u00dfe"},
                                            {"find", "\ufb01nden"},
                                            {"fuch", "\uff26\uff55\uff43\uff48\uff53"},
                                            {NULL, NULL}};
    static const struct span_want essen[] = {
        {"das", "Das"}, {"ess", "Essen"}, {"war", "war"}, {"grossart", "GROSSARTIG"}, {NULL, NULL}};

    expect_spans("de",
                 "Gr\u00fc\u00dfe Gru\u0308\u00dfe H\u00e4user Ha\u0308user H\u00c4USER "
                 "STRA\u1e9eE Stra\u00dfe \ufb01nden \uff26\uff55\uff43\uff48\uff53",
                 want);
    expect_spans("de", "Das Essen war GROSSARTIG!", essen);
}
END_TEST

START_TEST(test_spans_arabic)
{
    /* harakat (dropped) are covered with their letters, tatweel inside a word
     * too; alef variants (mapped), decomposed alef + hamza, the presentation
     * form lam-alef (NFKC: two letters), Arabic-Indic digits, Arabic comma and
     * parentheses (not covered) */
    static const struct span_want want[] = {
        {"\u0643\u062a\u0627\u0628", "\u0643\u0650\u062a\u064e\u0627\u0628\u064c"},
        {"\u0643\u062a\u0627\u0628", "\u0643\u0640\u062a\u0640\u0627\u0628"},
        {"\u0627\u0643\u0644", "\u0623\u0643\u0644"},
        {"\u0627\u0643\u0644", "\u0625\u0643\u0644"},
        {"\u0627\u0643\u0644", "\u0622\u0643\u0644"},
        {"\u0627\u0643\u0644", "\u0671\u0643\u0644"},
        {"\u0627\u0643\u0644", "\u0627\u0654\u0643\u0644"},
        {"\u0644\u0627", "\ufefb"},
        {"<num>", "\u0661\u0662\u0663\u0664\u0665"},
        {"\u0645\u062f\u0631\u0633", "\u0645\u062f\u0631\u0633\u0629\u0650"},
        {"\u0635\u0628\u0627\u062d", "\u0635\u0628\u0627\u062d\u0627\u064b"},
        {NULL, NULL}};

    expect_spans("ar",
                 "\u0643\u0650\u062a\u064e\u0627\u0628\u064c \u0643\u0640\u062a\u0640\u0627\u0628 "
                 "\u0623\u0643\u0644 \u0625\u0643\u0644 \u0622\u0643\u0644 \u0671\u0643\u0644 "
                 "\u0627\u0654\u0643\u0644 \ufefb \u0661\u0662\u0663\u0664\u0665 "
                 "\u0645\u062f\u0631\u0633\u0629\u0650\u060c "
                 "(\u0635\u0628\u0627\u062d\u0627\u064b)",
                 want);
}
END_TEST

START_TEST(test_spans_invalid_utf8_and_lbr)
{
    /* bad bytes separate words and are never inside a span */
    static const struct span_want bad[] = {{"bad", "bad"},   {"byte", "bytes"}, {"over", "over"},
                                           {"long", "long"}, {"gr", "gr"},      {"e", "e"},
                                           {"cut", "cut"},   {NULL, NULL}};
    static const struct span_want lbr[] = {
        {"a", "a"}, {"bc", "bc"}, {"d", "d"}, {"lbr", "LBR"}, {NULL, NULL}};

    expect_spans("en",
                 "bad\377\376bytes over\xc0\xaflong gr\374\337e \x80"
                 "cut\xe2\x82",
                 bad);
    expect_spans("en", "a|LBR|bc |lbr| d|LBR", lbr);
}
END_TEST

START_TEST(test_spans_unicode_details)
{
    /* ignorables inside a word are covered; reordered marks, conjoining Hangul
     * jamo and a precomposed two-part vowel stay exact (the parentheses would
     * be inside a fallback span); a character that expands into several
     * tokens gives each of them its bytes */
    static const struct span_want want[] = {{"softhyph", "Soft\u00adhyphen"},
                                            {"nullbreit", "Null\u200bbreite"},
                                            {"\u1e69", "s\u0307\u0323"},
                                            {"\ud55c", "\u1112\u1161\u11ab"},
                                            {"x\u0bca", "x\u0bca"},
                                            {"half1", "half\u00bd"},
                                            {"\u2044", "\u00bd"},
                                            {"2", "\u00bd"},
                                            {"1", "\u2474"},
                                            {NULL, NULL}};
    /* composition across segments (decomposed Tamil o = U+0BC6 U+0BBE, two
     * starters): the chunk's tokens get the chunk's bytes from its first to
     * its last valid character */
    static const struct span_want fallback[] = {{"q", "q"},
                                                {"ab", "ab,x\u0bc6\u0bbe"},
                                                {"x\u0bca", "ab,x\u0bc6\u0bbe"},
                                                {"z", "z"},
                                                {NULL, NULL}};

    expect_spans("de",
                 "Soft\u00adhyphen Null\u200bbreite (s\u0307\u0323) (\u1112\u1161\u11ab) "
                 "(x\u0bca) half\u00bd \u2474",
                 want);
    expect_spans("en",
                 "q \x80"
                 "ab,x\u0bc6\u0bbe\xe2\x82 z",
                 fallback);
}
END_TEST

START_TEST(test_spans_errors_and_reuse)
{
    struct err err;
    struct text_analyzer *a = text_analyzer_new("en", &err);
    struct text_tokens t;
    char big[4000];
    size_t i;

    ck_assert_ptr_nonnull(a);
    text_tokens_init(&t);
    err_clear(&err);
    ck_assert_int_eq(text_analyze_spans(NULL, "x", 1, &t, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    err_clear(&err);
    ck_assert_int_eq(text_analyze_spans(a, "x", 1, NULL, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    err_clear(&err);
    ck_assert_int_eq(text_analyze_spans(a, NULL, 1, &t, &err), -1);
    ck_assert_int_eq(err.code, ERR_INVALID);
    ck_assert_int_eq(text_analyze_spans(a, NULL, 0, &t, &err), 0);
    ck_assert_uint_eq(t.n, 0);
    /* one struct through both functions: many tokens without spans first, so
     * the token arrays are larger than the span arrays when spans start */
    for (i = 0; i + 2 <= sizeof(big); i += 2)
        memcpy(big + i, "a ", 2);
    ck_assert_int_eq(text_analyze(a, big, sizeof(big), &t, &err), 0);
    ck_assert_uint_eq(t.n, sizeof(big) / 2);
    ck_assert_int_eq(text_analyze_spans(a, big, sizeof(big), &t, &err), 0);
    ck_assert_uint_eq(t.n, sizeof(big) / 2);
    for (i = 0; i < t.n; i++) {
        ck_assert_uint_eq(t.src_start[i], 2 * i);
        ck_assert_uint_eq(t.src_end[i], 2 * i + 1);
    }
    ck_assert_int_eq(text_analyze(a, "x y", 3, &t, &err), 0);
    ck_assert_int_eq(text_analyze_spans(a, "  zz", 4, &t, &err), 0);
    ck_assert_uint_eq(t.n, 1);
    ck_assert_uint_eq(t.src_start[0], 2);
    ck_assert_uint_eq(t.src_end[0], 4);
    text_tokens_release(&t);
    ck_assert_ptr_null(t.src_start);
    ck_assert_uint_eq(t.src_cap, 0);
    text_analyzer_free(a);
}
END_TEST

/*
 * The corpora (MODELD_DATA; skipped when absent): for every document,
 * text_analyze_spans() gives what text_analyze() gives, with spans that keep
 * their promises; coarse spans (whose analysis gives other tokens too, as
 * "½" does) are rare.
 */
START_TEST(test_spans_corpora)
{
    static const struct {
        const char *file, *lang;
    } corpora[] = {{"germeval2018_de.jsonl", "de"},
                   {"semeval16_en_restaurants.jsonl", "en"},
                   {"spamassassin_en.jsonl", "en"}};
    size_t c;

    for (c = 0; c < sizeof(corpora) / sizeof(corpora[0]); c++) {
        char path[512], *line = NULL;
        size_t cap = 0, docs = 0, tokens = 0, coarse = 0;
        struct err err;
        struct text_analyzer *a;
        struct text_tokens t, sp;
        FILE *f;

        if (!tdata(corpora[c].file, path, sizeof(path)) || !(f = fopen(path, "r"))) {
            continue;
        }
        a = text_analyzer_new(corpora[c].lang, &err);
        ck_assert_ptr_nonnull(a);
        text_tokens_init(&t);
        text_tokens_init(&sp);
        while (getline(&line, &cap, f) > 0) {
            json_t *doc = json_loads(line, 0, NULL);
            const char *s = json_string_value(json_object_get(doc, "text"));

            if (s) {
                size_t len = strlen(s);

                if (text_analyze(a, s, len, &t, &err) < 0 ||
                    text_analyze_spans(a, s, len, &sp, &err) < 0)
                    ck_abort_msg("%s line %zu: %s", corpora[c].file, docs + 1, err.msg);
                if (!same_analysis(&t, &sp))
                    ck_abort_msg("%s line %zu: spans mode differs", corpora[c].file, docs + 1);
                coarse += check_spans(a, s, len, &sp);
                tokens += sp.n;
                docs++;
            }
            json_decref(doc);
        }
        free(line);
        fclose(f);
        ck_assert_uint_gt(docs, 0);
        ck_assert_msg(coarse * 10000 <= tokens, "%s: %zu of %zu spans coarse", corpora[c].file,
                      coarse, tokens);
        text_tokens_release(&t);
        text_tokens_release(&sp);
        text_analyzer_free(a);
    }
}
END_TEST

Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("core"), *corpora;

    tcase_add_test(tc, test_analyzer_languages);
    tcase_add_test(tc, test_null_arguments);
    tcase_add_test(tc, test_english_stemming);
    tcase_add_test(tc, test_case_folding);
    tcase_add_test(tc, test_english_apostrophes_and_negation);
    tcase_add_test(tc, test_german_eszett);
    tcase_add_test(tc, test_german_umlauts);
    tcase_add_test(tc, test_german_negation_and_lbr);
    tcase_add_test(tc, test_arabic_alef_variants);
    tcase_add_test(tc, test_arabic_diacritics);
    tcase_add_test(tc, test_arabic_tatweel);
    tcase_add_test(tc, test_arabic_digits);
    tcase_add_test(tc, test_arabic_teh_marbuta_alef_maqsura);
    tcase_add_test(tc, test_arabic_sentence);
    tcase_add_test(tc, test_urls);
    tcase_add_test(tc, test_email_mentions_hashtags);
    tcase_add_test(tc, test_numbers);
    tcase_add_test(tc, test_symbols_and_emoji);
    tcase_add_test(tc, test_empty_and_punctuation);
    tcase_add_test(tc, test_invalid_utf8);
    tcase_add_test(tc, test_long_tokens);
    tcase_add_test(tc, test_norm_string);
    tcase_add_test(tc, test_not_nul_terminated);
    tcase_add_test(tc, test_reuse_across_documents);
    tcase_add_test(tc, test_mixed_document_invariants);
    tcase_add_test(tc, test_spans_english);
    tcase_add_test(tc, test_spans_german);
    tcase_add_test(tc, test_spans_arabic);
    tcase_add_test(tc, test_spans_invalid_utf8_and_lbr);
    tcase_add_test(tc, test_spans_unicode_details);
    tcase_add_test(tc, test_spans_errors_and_reuse);
    suite_add_tcase(s, tc);
    corpora = tcase_create("corpora");
    tcase_set_timeout(corpora, 600);
    tcase_add_test(corpora, test_spans_corpora);
    suite_add_tcase(s, corpora);
    return s;
}
