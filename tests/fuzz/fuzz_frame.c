/*
 * fuzz_frame.c - libFuzzer target for the wire layer: frame reader,
 * bounded msgpack pre-scan, message decoder and type peek
 * (protocol/wire.h).
 *
 * The input is used twice: as the plaintext of one frame (decoded directly)
 * and as a TCP stream fed to a frame reader in pseudo-random chunks, each
 * frame it yields being decoded in turn. Every message that decodes must
 * re-encode, the re-encoding must be no longer than the input (encoders
 * use shortest forms), and must decode and re-encode to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "protocol/wire.h"

static void round_trip(const uint8_t *buf, size_t len) {
    ent_wire_msg m, m2;
    uint8_t *enc = NULL, *enc2 = NULL;
    size_t elen = 0, elen2 = 0;

    int rc = ent_wire_decode(&m, buf, len);
    int pre = ent_wire_prescan(buf, len);
    int ptype = -2;
    int prc = ent_wire_peek_type(buf, len, &ptype);
    if (prc != ENT_OK && prc != ENT_EPROTO)
        abort();
    /* the peek agrees with the decoder on every message that decodes */
    if (rc == ENT_OK && m.type != ENT_WIRE_UNKNOWN &&
        (prc != ENT_OK || ptype != m.type))
        abort();
    if (rc == ENT_OK && pre != ENT_OK)
        abort(); /* msgpack-c saw bytes the pre-scan refuses */
    if (rc != ENT_OK) {
        if (m.type != 0)
            abort(); /* a failed decode leaves m zeroed */
        if (rc != ENT_EPROTO && rc != ENT_ETOOBIG)
            abort();
        return;
    }
    if (m.type == ENT_WIRE_UNKNOWN) {
        ent_wire_msg_clear(&m);
        return;
    }
    if (ent_wire_encode(&m, &enc, &elen) != ENT_OK)
        abort(); /* the decoder accepted what the encoder refuses */
    if (elen > len || elen != ent_wire_encoded_size(&m))
        abort();
    if (ent_wire_decode(&m2, enc, elen) != ENT_OK)
        abort();
    if (ent_wire_encode(&m2, &enc2, &elen2) != ENT_OK)
        abort();
    if (elen2 != elen || memcmp(enc, enc2, elen) != 0)
        abort();
    free(enc2);
    free(enc);
    ent_wire_msg_clear(&m2);
    ent_wire_msg_clear(&m);
}

static int on_frame(ent_wire_reader *r, const uint8_t *frame, size_t len,
                    void *data) {
    size_t *frames = data;
    if (len == 0 || len > ENT_WIRE_MAX_FRAME)
        abort();
    if (ent_wire_reader_buffered(r) > ENT_WIRE_PREFIX_LEN + ENT_WIRE_MAX_FRAME)
        abort();
    /* as a session does: handshake-sized frames first, then full size */
    if (++*frames == 1 && ent_wire_reader_set_max(r, 0) != ENT_OK)
        abort();
    round_trip(frame, len);
    return ENT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ent_wire_reader *r = NULL;
    size_t frames = 0;

    round_trip(data, size);

    size_t first_max = size > 0 && (data[0] & 1) ? ENT_WIRE_HANDSHAKE_MAX_FRAME : 0;
    if (ent_wire_reader_new(&r, first_max) != ENT_OK)
        return 0;
    uint32_t x = (uint32_t)size * 2654435761u + (size > 0 ? data[size - 1] : 0);
    size_t off = 0;
    while (off < size) {
        x = x * 1103515245u + 12345u;
        size_t n = 1 + (x >> 16) % 300;
        if (n > size - off)
            n = size - off;
        int rc = ent_wire_reader_feed(r, data + off, n, on_frame, &frames);
        if (ent_wire_reader_buffered(r) > ENT_WIRE_PREFIX_LEN + ENT_WIRE_MAX_FRAME)
            abort();
        if (rc != ENT_OK) {
            if (rc != ENT_ETOOBIG && rc != ENT_EPROTO)
                abort();
            if (ent_wire_reader_feed(r, data, size, on_frame, &frames) != rc)
                abort(); /* errors are sticky */
            break;
        }
        off += n;
    }
    ent_wire_reader_free(r);
    return 0;
}
