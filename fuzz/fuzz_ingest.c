/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer driver for the streaming document parser: the input is split
 * into two chunks at a position taken from its first byte, fed for each
 * annotation type, and the result is finished and freed. Any crash, leak or
 * sanitizer report is a bug.
 */
#include <stddef.h>
#include <stdint.h>

#include "ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum model_type types[] = {TYPE_ABSA, TYPE_CLASS, TYPE_LABEL, TYPE_CLASSLABEL};
    size_t cut = size ? data[0] % (size + 1) : 0;

    for (size_t t = 0; t < 4; t++) {
        struct ingest *in = ingest_new(types[t]);
        json_t *errors = NULL;

        if (!in)
            return 0;
        ingest_feed(in, (const char *)data, cut);
        ingest_feed(in, (const char *)data + cut, size - cut);
        if (ingest_finish(in, &errors) == 0)
            for (size_t i = 0; i < ingest_count(in); i++)
                (void)ingest_doc(in, i);
        json_decref(errors);
        ingest_free(in);
    }
    return 0;
}
