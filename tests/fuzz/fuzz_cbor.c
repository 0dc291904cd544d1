/*
 * fuzz_cbor.c - ent_cbor_check and the typed reader over arbitrary bytes.
 *
 * Properties checked on every input:
 *   - the checker and the reader never read out of bounds or crash;
 *   - whatever the checker accepts, the reader walks completely, and the
 *     writer re-encodes it to exactly the same bytes (one value, one
 *     encoding);
 *   - ent_cbor_skip agrees with the structured walk.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "protocol/cbor.h"
#include "tests/cbor_copy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ent_cbor_limits lim;
    ent_cbor_reader r;
    ent_cbor_limits_default(&lim);
    int rc = ent_cbor_check(data, size, &lim);

    /* the reader must be safe on unchecked bytes too */
    ent_cbor_reader_init(&r, data, size);
    (void)ent_cbor_skip(&r);
    if (r.pos > size)
        abort();

    if (rc != ENT_OK)
        return 0;
    ent_cbor_reader_init(&r, data, size);
    if (ent_cbor_skip(&r) != ENT_OK || r.pos != size)
        abort();

    uint8_t *out = malloc(size ? size : 1);
    if (out == NULL)
        return 0;
    ent_cbor_writer w;
    ent_cbor_reader_init(&r, data, size);
    ent_cbor_writer_init(&w, out, size);
    if (cbor_copy_item(&r, &w, 0) != ENT_OK ||
        ent_cbor_read_end(&r) != ENT_OK || w.err != ENT_OK || w.len != size ||
        memcmp(out, data, size) != 0)
        abort(); /* accepted, but not the one encoding of its value */
    free(out);
    return 0;
}
