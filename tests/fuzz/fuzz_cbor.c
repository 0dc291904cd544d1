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

static int copy_item(ent_cbor_reader *r, ent_cbor_writer *w, int depth) {
    int t = ent_cbor_peek(r), rc = ENT_OK;
    uint64_t u;
    size_t n;
    const uint8_t *p;
    const char *s;
    bool b;
    if (depth > ENT_CBOR_DEPTH_CAP)
        return ENT_ETOOBIG;
    switch (t) {
    case ENT_CBOR_UINT:
        if ((rc = ent_cbor_read_uint(r, &u)) == ENT_OK)
            ent_cbor_write_uint(w, u);
        break;
    case ENT_CBOR_NEGINT:
        if ((rc = ent_cbor_read_negint(r, &u)) == ENT_OK)
            ent_cbor_write_negint(w, u);
        break;
    case ENT_CBOR_BYTES:
        if ((rc = ent_cbor_read_bytes(r, &p, &n)) == ENT_OK)
            ent_cbor_write_bytes(w, p, n);
        break;
    case ENT_CBOR_TEXT:
        if ((rc = ent_cbor_read_text(r, &s, &n)) == ENT_OK)
            ent_cbor_write_text(w, s, n);
        break;
    case ENT_CBOR_ARRAY:
    case ENT_CBOR_MAP:
        rc = t == ENT_CBOR_ARRAY ? ent_cbor_read_array(r, &n)
                                 : ent_cbor_read_map(r, &n);
        if (rc != ENT_OK)
            break;
        if (t == ENT_CBOR_ARRAY)
            ent_cbor_write_array(w, n);
        else
            ent_cbor_write_map(w, n);
        for (size_t i = 0; i < (t == ENT_CBOR_MAP ? 2 * n : n) && !rc; i++)
            rc = copy_item(r, w, depth + 1);
        break;
    case ENT_CBOR_SIMPLE:
        if (ent_cbor_peek_null(r)) {
            if ((rc = ent_cbor_read_null(r)) == ENT_OK)
                ent_cbor_write_null(w);
        } else if ((rc = ent_cbor_read_bool(r, &b)) == ENT_OK) {
            ent_cbor_write_bool(w, b);
        }
        break;
    default:
        rc = t < 0 ? t : ENT_ECORRUPT;
    }
    return rc;
}

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
    if (copy_item(&r, &w, 0) != ENT_OK || ent_cbor_read_end(&r) != ENT_OK ||
        w.err != ENT_OK || w.len != size || memcmp(out, data, size) != 0)
        abort(); /* accepted, but not the one encoding of its value */
    free(out);
    return 0;
}
