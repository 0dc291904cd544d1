/*
 * wire_peek.c - the type of a message without decoding it
 * (ent_wire_peek_type, wire.h): the session layer uses it to take CREDIT
 * messages (spec/protocol.md §3.9) out of the stream it hands up.
 */
#include "protocol/wire.h"

#include "node/err.h"

int ent_wire_peek_type(const uint8_t *buf, size_t len, int *type) {
    size_t off;
    uint64_t v = 0;

    if (buf == NULL || type == NULL || len < 2)
        return ENT_EPROTO;
    /* the array header: fixarray, array16 or array32 */
    if ((buf[0] & 0xf0) == 0x90)
        off = 1;
    else if (buf[0] == 0xdc)
        off = 3;
    else if (buf[0] == 0xdd)
        off = 5;
    else
        return ENT_EPROTO;
    if (off >= len)
        return ENT_EPROTO;
    /* the type: positive fixint, uint8/16/32/64 or int8/16/32/64 of a
     * value >= 0 (receivers take any form of an integer, section 2, as the
     * decoder does) */
    uint8_t b = buf[off++];
    size_t n = b == 0xcc || b == 0xd0   ? 1
               : b == 0xcd || b == 0xd1 ? 2
               : b == 0xce || b == 0xd2 ? 4
               : b == 0xcf || b == 0xd3 ? 8
                                        : 0;
    if (b <= 0x7f)
        v = b;
    else if (n == 0 || len - off < n)
        return ENT_EPROTO;
    else if (b >= 0xd0 && (buf[off] & 0x80))
        return ENT_EPROTO; /* a negative type */
    for (size_t i = 0; i < n; i++)
        v = v << 8 | buf[off + i];
    *type = v > ENT_WIRE_TYPE_MAX ? -1 : (int)v;
    return ENT_OK;
}
