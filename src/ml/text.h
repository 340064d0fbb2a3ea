/* SPDX-License-Identifier: MIT */
/*
 * text: turns one raw UTF-8 document into the tokens the feature extractor
 * hashes. Pipeline (details and reasons in docs/TEXT.md): split at ASCII
 * white space and `|LBR|` markers; NFKC + case folding + removal of default
 * ignorables (utf8proc); Arabic letter normalization (diacritics, tatweel,
 * alef / yeh / teh marbuta variants, Arabic-Indic digits); words = runs of
 * letters, marks and digits, with in-word apostrophes; each other symbol
 * (emoji, currency, ...) is a token of its own; URLs, e-mail addresses and
 * @mentions become placeholder tokens; long numbers become "<num>"; words
 * longer than TEXT_TOKEN_MAX bytes and base64 lines are dropped; finally
 * words with a letter are stemmed with Snowball (english / german / arabic).
 * No stop words are removed; negations ("not", "don't", "nicht", "kein")
 * always survive.
 *
 * Thread-safety: a struct text_analyzer owns a Snowball stemmer and scratch
 * buffers and must be used by one thread at a time (make one per worker
 * thread). A struct text_tokens belongs to its caller. All other state is
 * const, so different analyzers may run concurrently.
 */
#ifndef MODELD_TEXT_H
#define MODELD_TEXT_H

#include <stddef.h>

#include "err.h"

/* Longest kept word, in UTF-8 bytes after normalization; longer ones are dropped. */
#define TEXT_TOKEN_MAX 64

/* Placeholder tokens. They cannot come out of ordinary text because '<' and
 * '>' always separate words. */
#define TEXT_TOKEN_URL "<url>"
#define TEXT_TOKEN_EMAIL "<email>"
#define TEXT_TOKEN_USER "<user>"
#define TEXT_TOKEN_NUM "<num>"

struct text_analyzer; /* one per thread: holds a Snowball stemmer (not thread-safe) */

/*
 * Make an analyzer for lang "en" | "de" | "ar". Returns NULL with ERR_INVALID
 * for any other language (also NULL), ERR_NOMEM if memory or the stemmer
 * cannot be allocated. The caller frees it with text_analyzer_free().
 */
struct text_analyzer *text_analyzer_new(const char *lang, struct err *err);

/* Free an analyzer; accepts NULL. */
void text_analyzer_free(struct text_analyzer *a);

/* 1 if lang is a language text_analyzer_new() accepts, else 0. */
int text_lang_supported(const char *lang);

/*
 * The analysis of one document. Invariants after a successful text_analyze():
 *  - token i is the n bytes at buf + off[i], tlen[i] > 0, followed by a NUL
 *    (so buf + off[i] is also a C string); tokens contain no space and no NUL;
 *  - norm holds the same n tokens in the same order but unstemmed, joined by
 *    single spaces, without leading or trailing space, NUL-terminated
 *    (norm_len excludes the NUL; "" when n == 0). It is the input for
 *    character n-grams.
 * After a successful text_analyze_spans(), in addition, for each token i:
 *  - [src_start[i], src_end[i]) are the bytes of the input that token i came
 *    from (see text_analyze_spans() for what exactly), an offset into the
 *    len bytes given: src_start[i] < src_end[i] <= len;
 *  - src_start[i] is the first byte of a valid UTF-8 sequence and src_end[i]
 *    the end of one, so a span never cuts a character;
 *  - src_start[] and src_end[] are both non-decreasing in i. Spans of
 *    different tokens are disjoint except where the tokens came from the same
 *    input character ("½" -> "1" "⁄" "2") or from the same fallback chunk.
 * After text_analyze() the contents of src_start and src_end are unspecified
 * (they may be NULL or stale): read them only after text_analyze_spans().
 * All buffers are owned by the struct and freed by text_tokens_release().
 */
struct text_tokens {
    char *buf;
    size_t len, cap; /* token bytes; each token NUL-terminated inside buf */
    size_t *off;
    size_t *tlen;
    size_t n, ncap; /* token i = buf + off[i], tlen[i] bytes (no NUL) */
    size_t *src_start;
    size_t *src_end;
    size_t src_cap; /* text_analyze_spans() only: token i came from input bytes
                       [src_start[i], src_end[i]); both arrays hold src_cap entries */
    char *norm;
    size_t norm_len, norm_cap; /* normalized, UNSTEMMED words joined by single
                                  spaces, NUL-terminated: input for character n-grams */
};

/* Make t empty, owning nothing. Never fails. */
void text_tokens_init(struct text_tokens *t);

/* Free t's buffers and leave it as after text_tokens_init(); accepts NULL. */
void text_tokens_release(struct text_tokens *t);

/*
 * Normalize + tokenize + stem one document of len bytes at utf8 (need not be
 * NUL-terminated; may be NULL when len == 0) into t, which must have been
 * initialized. t's previous contents are discarded and its buffers reused, so
 * a loop over many documents allocates little.
 *
 * Invalid UTF-8 is not an error: every byte that is not part of a valid
 * sequence (including overlong forms and surrogates) acts as a word separator.
 *
 * Returns 0 on success (an empty or all-punctuation document gives n == 0 and
 * norm ""). Returns -1 with ERR_INVALID for a NULL a or t (or NULL utf8 with
 * len > 0), ERR_TOO_LARGE when len is absurd (> 1 GiB), ERR_NOMEM when memory
 * runs out; t is then empty (n == 0, norm "" if allocated) but still valid.
 */
int text_analyze(struct text_analyzer *a, const char *utf8, size_t len, struct text_tokens *t,
                 struct err *err);

/*
 * Exactly text_analyze() (same contract, same errors, the same tokens, buf,
 * off, tlen and norm for the same input), and in addition fills
 * t->src_start[i] and t->src_end[i] for each token i: the byte range of the
 * input it came from, meant for highlighting the original text. It covers
 * every input byte that gave the token a code point, as written:
 *  - a word: its characters including any diacritics, ignorables (soft
 *    hyphen, zero-width space) and tatweels inside it, not the punctuation
 *    around it ("GROSSARTIG!" -> "GROSSARTIG", "(great)" -> "great");
 *    decomposed letters (u + U+0308) and characters that normalization
 *    expands ("ß" -> "ss", the ligature "ﬁ" -> "fi") or drops (harakat)
 *    are covered whole;
 *  - a symbol (emoji, "$", "€"): its code point;
 *  - TEXT_TOKEN_URL, TEXT_TOKEN_EMAIL, TEXT_TOKEN_USER, TEXT_TOKEN_NUM: the
 *    whole URL (as far as the URL characters go), address, @mention
 *    (including the '@') or number.
 * Invalid UTF-8 bytes are never inside a span unless inside a word's
 * fallback chunk (below).
 * Granularity is one composition segment: an input code point together with
 * the combining marks after it. So a character that expands into several
 * tokens ("½" -> "1" "⁄" "2") gives each of them the character's bytes, and
 * a mark that ends a word is inside the word's span. Fallback: where utf8proc
 * composes across segments (starters that compose with the starter before
 * them, other than Hangul jamo, e.g. a decomposed two-part vowel such as
 * Tamil U+0BC6 U+0BBE) the mapping inside that white-space-delimited chunk
 * cannot be recovered, and every token of the chunk gets the chunk's bytes
 * from its first to its last valid UTF-8 character: coarser, never wrong.
 *
 * Slower than text_analyze() (composes non-ASCII chunks twice, and keeps the
 * source of every code point): use it to explain single predictions, not for
 * training. Thread-safety as for text_analyze(). On failure t->n == 0.
 */
int text_analyze_spans(struct text_analyzer *a, const char *utf8, size_t len, struct text_tokens *t,
                       struct err *err);

#endif
