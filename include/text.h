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
 * All buffers are owned by the struct and freed by text_tokens_release().
 */
struct text_tokens {
    char *buf;
    size_t len, cap; /* token bytes; each token NUL-terminated inside buf */
    size_t *off;
    size_t *tlen;
    size_t n, ncap; /* token i = buf + off[i], tlen[i] bytes (no NUL) */
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

#endif
