/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer driver for the text analyzer with source spans (what predict
 * with "explain" runs on any text a client sends): the input is analyzed in
 * the language picked by its first byte, with and without spans, and the
 * spans' contract is checked (src/ml/text.h): the same tokens as
 * text_analyze, every span non-empty, inside the input, and starts and ends
 * non-decreasing. Any crash, sanitizer report or abort is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const langs[] = {"en", "de", "ar"};
    static struct text_analyzer *an[3];
    struct text_tokens a, b;

    if (size == 0)
        return 0;
    size_t l = data[0] % 3;
    if (!an[l] && !(an[l] = text_analyzer_new(langs[l], NULL)))
        return 0;
    text_tokens_init(&a);
    text_tokens_init(&b);
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    int ra = text_analyze(an[l], s, n, &a, NULL);
    int rb = text_analyze_spans(an[l], s, n, &b, NULL);
    if (ra != rb)
        abort();
    if (ra == 0) {
        if (a.n != b.n || a.norm_len != b.norm_len || memcmp(a.norm, b.norm, a.norm_len) != 0)
            abort();
        for (size_t i = 0; i < b.n; i++) {
            if (a.tlen[i] != b.tlen[i] || memcmp(a.buf + a.off[i], b.buf + b.off[i], a.tlen[i]))
                abort();
            if (b.src_start[i] >= b.src_end[i] || b.src_end[i] > n)
                abort();
            if (i > 0 && (b.src_start[i] < b.src_start[i - 1] || b.src_end[i] < b.src_end[i - 1]))
                abort();
        }
    }
    text_tokens_release(&a);
    text_tokens_release(&b);
    return 0;
}
