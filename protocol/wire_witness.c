/*
 * wire_witness.c - the witnessing messages (spec/audit.md §11):
 *
 *   HEAD        [16, head bin 1..160]
 *   CONSISTENCY [17, from, to, proof bin 32 x 0..64, sig bin 0|64]
 *   REWIND      [25, kind 0..2, bytes bin]   (capability "rewind/1")
 *
 * A CONSISTENCY request (empty sig) carries no proof. A REWIND of kind
 * ASK carries nothing, KEPT a head or nothing, DECLARE a rewind record
 * (spec/audit.md §11.1); the bytes are checked by the audit layer.
 */
#include "protocol/wire_int.h"

#include <string.h>

#include "node/err.h"

/* Whether len bytes suit a REWIND of kind k. */
static bool rewind_len_ok(uint64_t k, size_t len) {
    switch (k) {
    case ENT_WIRE_REWIND_ASK:
        return len == 0;
    case ENT_WIRE_REWIND_KEPT:
        return len <= ENT_WIRE_HEAD_MAX;
    case ENT_WIRE_REWIND_DECLARE:
        return len > 0 && len <= ENT_WIRE_REWIND_MAX;
    default:
        return false;
    }
}

int ent__wire_witness_size(const ent_wire_msg *m, size_t *out) {
    size_t sz;
    if (m->type == ENT_WIRE_HEAD) {
        if (m->u.head.len == 0 || m->u.head.len > ENT_WIRE_HEAD_MAX)
            return ENT_EINVAL;
        sz = 1 + 1 + ent__wire_bin_head(m->u.head.len) + m->u.head.len;
    } else if (m->type == ENT_WIRE_CONSISTENCY) {
        const ent_wire_consistency *k = &m->u.cons;
        if (k->nhashes > ENT_WIRE_MAX_CPROOF || (!k->has_sig && k->nhashes))
            return ENT_EINVAL;
        size_t pl = k->nhashes * ENT_WIRE_HASH_LEN;
        size_t sl = k->has_sig ? ENT_WIRE_SIG_LEN : 0;
        sz = 1 + 1 + ent__wire_uint_len(k->from) + ent__wire_uint_len(k->to) + ent__wire_bin_head(pl) + pl +
             ent__wire_bin_head(sl) + sl;
    } else {
        const ent_wire_rewind *w = &m->u.rewind;
        if (!rewind_len_ok(w->kind, w->len))
            return ENT_EINVAL;
        sz = 1 + 1 + 1 + ent__wire_bin_head(w->len) + w->len;
    }
    *out = sz;
    return ENT_OK;
}

int ent__wire_witness_pack(msgpack_packer *pk, const ent_wire_msg *m) {
    int r;
    if (m->type == ENT_WIRE_HEAD) {
        r = msgpack_pack_array(pk, 2);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= ent__wire_pack_bin(pk, m->u.head.bytes, m->u.head.len);
    } else if (m->type == ENT_WIRE_CONSISTENCY) {
        r = msgpack_pack_array(pk, 5);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= msgpack_pack_uint64(pk, m->u.cons.from);
        r |= msgpack_pack_uint64(pk, m->u.cons.to);
        r |= ent__wire_pack_bin(pk, m->u.cons.hashes,
                      m->u.cons.nhashes * ENT_WIRE_HASH_LEN);
        r |= ent__wire_pack_bin(pk, m->u.cons.sig,
                      m->u.cons.has_sig ? ENT_WIRE_SIG_LEN : 0);
    } else {
        r = msgpack_pack_array(pk, 3);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= msgpack_pack_uint32(pk, m->u.rewind.kind);
        r |= ent__wire_pack_bin(pk, m->u.rewind.bytes, m->u.rewind.len);
    }
    return r;
}

/* HEAD: [16, head bin 1..160]. */
static int decode_head(ent_wire_msg *m, const msgpack_object *f) {
    if (f[1].type != MSGPACK_OBJECT_BIN || f[1].via.bin.size == 0 ||
        f[1].via.bin.size > ENT_WIRE_HEAD_MAX)
        return ENT_EPROTO;
    m->u.head.len = f[1].via.bin.size;
    memcpy(m->u.head.bytes, f[1].via.bin.ptr, f[1].via.bin.size);
    return ENT_OK;
}

/* CONSISTENCY: [17, from, to, proof bin 32*k, sig bin 0|64]; a request
 * (empty sig) carries no proof. */
static int decode_consistency(ent_wire_msg *m, const msgpack_object *f) {
    ent_wire_consistency *k = &m->u.cons;
    if (f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        f[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        f[3].type != MSGPACK_OBJECT_BIN || f[4].type != MSGPACK_OBJECT_BIN)
        return ENT_EPROTO;
    size_t pl = f[3].via.bin.size, sl = f[4].via.bin.size;
    if (pl % ENT_WIRE_HASH_LEN != 0 ||
        pl > ENT_WIRE_MAX_CPROOF * ENT_WIRE_HASH_LEN ||
        (sl != 0 && sl != ENT_WIRE_SIG_LEN) || (sl == 0 && pl != 0))
        return ENT_EPROTO;
    k->from = f[1].via.u64;
    k->to = f[2].via.u64;
    k->nhashes = pl / ENT_WIRE_HASH_LEN;
    if (pl > 0)
        memcpy(k->hashes, f[3].via.bin.ptr, pl);
    k->has_sig = sl != 0;
    if (sl != 0)
        memcpy(k->sig, f[4].via.bin.ptr, sl);
    return ENT_OK;
}

/* REWIND: [25, kind, bytes bin] with the lengths of rewind_len_ok. */
static int decode_rewind(ent_wire_msg *m, const msgpack_object *f) {
    ent_wire_rewind *w = &m->u.rewind;
    if (f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        f[2].type != MSGPACK_OBJECT_BIN ||
        !rewind_len_ok(f[1].via.u64, f[2].via.bin.size))
        return ENT_EPROTO;
    w->kind = (uint32_t)f[1].via.u64;
    w->len = f[2].via.bin.size;
    if (w->len > 0)
        memcpy(w->bytes, f[2].via.bin.ptr, w->len);
    return ENT_OK;
}

int ent__wire_witness_decode(ent_wire_msg *m, const msgpack_object *f) {
    if (m->type == ENT_WIRE_HEAD)
        return decode_head(m, f);
    if (m->type == ENT_WIRE_CONSISTENCY)
        return decode_consistency(m, f);
    return decode_rewind(m, f);
}
