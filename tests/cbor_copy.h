/*
 * cbor_copy.h - cbor_copy_item(), which copies one CBOR item from a reader
 * to a writer through the typed API, for cbor_test.c and fuzz/fuzz_cbor.c.
 * A checked encoding must come out byte for byte identical: this proves
 * both that the reader understands every accepted form and that the writer
 * emits shortest heads. Header-only (one static function).
 */
#ifndef ENT_TEST_CBOR_COPY_H
#define ENT_TEST_CBOR_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/err.h"
#include "protocol/cbor.h"

/* Copies the item at r, and what it holds, to w (depth: its nesting so
 * far). @return ENT_OK, the reader's error, ENT_ETOOBIG (too deep) or
 * ENT_ECORRUPT. */
static int cbor_copy_item(ent_cbor_reader *r, ent_cbor_writer *w, int depth) {
    if (depth > ENT_CBOR_DEPTH_CAP)
        return ENT_ETOOBIG;
    int t = ent_cbor_peek(r), rc = ENT_OK;
    uint64_t u;
    size_t n;
    const uint8_t *p;
    const char *s;
    bool b;
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
            rc = cbor_copy_item(r, w, depth + 1);
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

#endif
