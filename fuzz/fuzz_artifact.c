/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer driver for artifact decoding: arbitrary bytes must decode or be
 * rejected with an error, never crash or read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>

#include "artifact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err err = {0};
    struct artifact *a = artifact_decode(data, size, &err);

    artifact_free(a);
    return 0;
}
