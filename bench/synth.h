/* SPDX-License-Identifier: MIT */
/*
 * synth: deterministic synthetic data sets for bench_train, written in the
 * JSON-lines format of ../shared/data (see its README), so that the benchmark
 * reads them like the public sets.
 *
 * The sets (fixed seeds, the same bytes on every machine):
 *   synthetic_absa_en  ABSA, English laptop reviews, 90 categories ENTITY#ATTRIBUTE
 *                      (15 entities x 6 attributes), 4000 train / 1000 test
 *   synthetic_absa_de  ABSA, German hotel reviews, 50 categories (10 x 5),
 *                      3000 train / 750 test
 *   synthetic_class_ar CLASS, Arabic news snippets, 4 classes, 320 train / 80 test
 * Each ABSA sentence mixes 0-3 aspects (entity noun + attribute phrase +
 * polarity word, sometimes negated, sometimes a category's own cue word) with
 * shared filler; category frequencies are Zipf-like, four categories have only
 * 1-2 training documents, and, unless left out, two categories occur only in
 * the test split (as in real data).
 *
 * Thread-safety: all functions are reentrant.
 */
#ifndef MODELD_BENCH_SYNTH_H
#define MODELD_BENCH_SYNTH_H

#include <stddef.h>

#include "err.h"

/* Number of synthetic sets. */
size_t synth_count(void);

/* Name of set i (< synth_count()), e.g. "synthetic_absa_en"; static storage. */
const char *synth_name(size_t i);

/*
 * Write set i to path (created or truncated) as JSON lines. With test_only
 * != 0 the ABSA sets include their two test-only categories, else those
 * aspects are left out (the documents stay). Returns 0, or -1 with err
 * (ERR_IO, ERR_NOMEM).
 */
int synth_write(size_t i, const char *path, int test_only, struct err *err);

#endif
