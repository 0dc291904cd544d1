/*
 * wire_overlap.c - the OVERLAP message (spec/overlap.md §5):
 * [20, kind uint 1..15, run bin 16, a uint, b uint, data bin 0..65280].
 * The layer above gives kind, a, b and data their meaning; this file only
 * bounds and copies them.
 */
#include "protocol/wire_int.h"
#include "node/err.h"

#include <stdlib.h>
#include <string.h>

static size_t bin_len(size_t n) {
    return (n <= 0xff ? 2 : n <= 0xffff ? 3 : 5) + n;
}

int ent__wire_overlap_size(const ent_wire_overlap *o, size_t *out) {
    if (o->kind == 0 || o->kind > ENT_WIRE_OVERLAP_MAX_KIND ||
        o->len > ENT_WIRE_OVERLAP_MAX_DATA || (o->len > 0 && o->data == NULL))
        return ENT_EINVAL;
    *out = 1 + 1 + ent__wire_uint_len(o->kind) + bin_len(ENT_WIRE_OVERLAP_RUN_LEN) +
           ent__wire_uint_len(o->a) + ent__wire_uint_len(o->b) + bin_len(o->len);
    return ENT_OK;
}

int ent__wire_overlap_pack(msgpack_packer *pk, const ent_wire_overlap *o) {
    int r = msgpack_pack_array(pk, 6);
    r |= msgpack_pack_uint32(pk, ENT_WIRE_OVERLAP);
    r |= msgpack_pack_uint32(pk, o->kind);
    r |= msgpack_pack_bin(pk, ENT_WIRE_OVERLAP_RUN_LEN);
    r |= msgpack_pack_bin_body(pk, o->run, ENT_WIRE_OVERLAP_RUN_LEN);
    r |= msgpack_pack_uint64(pk, o->a);
    r |= msgpack_pack_uint64(pk, o->b);
    r |= msgpack_pack_bin(pk, o->len);
    if (o->len > 0)
        r |= msgpack_pack_bin_body(pk, o->data, o->len);
    return r != 0 ? -1 : 0;
}

int ent__wire_overlap_decode(ent_wire_overlap *o, const msgpack_object *f) {
    if (f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[1].via.u64 == 0 ||
        f[1].via.u64 > ENT_WIRE_OVERLAP_MAX_KIND ||
        f[2].type != MSGPACK_OBJECT_BIN ||
        f[2].via.bin.size != ENT_WIRE_OVERLAP_RUN_LEN ||
        f[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        f[4].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        f[5].type != MSGPACK_OBJECT_BIN ||
        f[5].via.bin.size > ENT_WIRE_OVERLAP_MAX_DATA)
        return ENT_EPROTO;
    o->kind = (uint32_t)f[1].via.u64;
    memcpy(o->run, f[2].via.bin.ptr, ENT_WIRE_OVERLAP_RUN_LEN);
    o->a = f[3].via.u64;
    o->b = f[4].via.u64;
    o->len = f[5].via.bin.size;
    o->data = NULL;
    if (o->len > 0) {
        if ((o->data = malloc(o->len)) == NULL)
            return ENT_ENOMEM;
        memcpy(o->data, f[5].via.bin.ptr, o->len);
    }
    return ENT_OK;
}
