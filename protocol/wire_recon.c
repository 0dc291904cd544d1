/*
 * wire_recon.c - range reconciliation messages (spec/gossip.md §13), and
 * the decoder of DIGESTS (§2), the listing they replace:
 *
 *   RANGES [22, prefix bin 2, bits uint, mask uint, fps bin k x 40]
 *   LEAF   [23, prefix bin 2, bits uint, total uint, entries bin n x 64]
 *
 * bits is a multiple of 4: 0..12 for RANGES, 0..16 for LEAF; the bits of
 * prefix after the first bits are zero; RANGES' mask (< 2^16) has bit j set
 * for each child j with a non-zero count, and fps holds those k children's
 * fingerprints in ascending j (the others are zero: sum 0, count 0); LEAF
 * entries are strictly ascending by object id, each id in the range, n <= 1000,
 * n <= total.
 */
#include "protocol/wire_int.h"

#include <stdlib.h>
#include <string.h>

#include "node/err.h"

/* Whether (prefix, bits) is canonical: bits a multiple of 4 up to max and
 * every bit of prefix after the first bits zero. */
static bool range_ok(const uint8_t prefix[2], uint64_t bits, unsigned max) {
    if (bits > max || bits % 4 != 0)
        return false;
    uint16_t p = (uint16_t)(prefix[0] << 8 | prefix[1]);
    uint16_t tail = bits >= 16 ? 0 : (uint16_t)(0xffffu >> bits);
    return (p & tail) == 0;
}

/* The children of r with a non-zero count, as a bit mask. */
static unsigned ranges_mask(const ent_wire_ranges *r, size_t *k) {
    unsigned mask = 0;
    *k = 0;
    for (unsigned j = 0; j < ENT_WIRE_RECON_FANOUT; j++) {
        const uint8_t *c = r->fps[j] + 32;
        bool any = false;
        for (int b = 0; b < 8; b++)
            any |= c[b] != 0;
        if (any) {
            mask |= 1u << j;
            (*k)++;
        }
    }
    return mask;
}

static bool in_range(const uint8_t *id, const uint8_t prefix[2],
                     unsigned bits) {
    uint16_t a = (uint16_t)(id[0] << 8 | id[1]);
    uint16_t p = (uint16_t)(prefix[0] << 8 | prefix[1]);
    uint16_t mask = bits == 0 ? 0 : (uint16_t)(0xffffu << (16 - bits));
    return (a & mask) == p;
}

int ent__wire_recon_size(const ent_wire_msg *m, size_t *out) {
    if (m->type == ENT_WIRE_RANGES) {
        const ent_wire_ranges *r = &m->u.ranges;
        size_t k;
        if (!range_ok(r->prefix, r->bits, ENT_WIRE_RECON_BITS - 4))
            return ENT_EINVAL;
        unsigned mask = ranges_mask(r, &k);
        size_t fps = k * ENT_WIRE_RECON_FP;
        *out = 1 + 1 + ent__wire_bin_head(2) + 2 + ent__wire_uint_len(r->bits) + ent__wire_uint_len(mask) +
               ent__wire_bin_head(fps) + fps;
        return ENT_OK;
    }
    const ent_wire_leaf *l = &m->u.leaf;
    if (!range_ok(l->prefix, l->bits, ENT_WIRE_RECON_BITS) ||
        l->n > ENT_WIRE_MAX_DIGESTS || l->total < l->n ||
        (l->n > 0 && l->entries == NULL))
        return ENT_EINVAL;
    size_t body = l->n * ENT_WIRE_DIGEST_ENTRY;
    *out = 1 + 1 + ent__wire_bin_head(2) + 2 + ent__wire_uint_len(l->bits) + ent__wire_uint_len(l->total) +
           ent__wire_bin_head(body) + body;
    return ENT_OK;
}

int ent__wire_recon_pack(msgpack_packer *pk, const ent_wire_msg *m) {
    int r;
    if (m->type == ENT_WIRE_RANGES) {
        const ent_wire_ranges *g = &m->u.ranges;
        size_t k;
        unsigned mask = ranges_mask(g, &k);
        r = msgpack_pack_array(pk, 5);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= ent__wire_pack_bin(pk, g->prefix, 2);
        r |= msgpack_pack_uint32(pk, g->bits);
        r |= msgpack_pack_uint32(pk, mask);
        r |= msgpack_pack_bin(pk, k * ENT_WIRE_RECON_FP);
        for (unsigned j = 0; j < ENT_WIRE_RECON_FANOUT; j++)
            if (mask & (1u << j))
                r |= msgpack_pack_bin_body(pk, g->fps[j], ENT_WIRE_RECON_FP);
        return r;
    }
    const ent_wire_leaf *l = &m->u.leaf;
    r = msgpack_pack_array(pk, 5);
    r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
    r |= ent__wire_pack_bin(pk, l->prefix, 2);
    r |= msgpack_pack_uint32(pk, l->bits);
    r |= msgpack_pack_uint64(pk, l->total);
    r |= ent__wire_pack_bin(pk, l->entries, l->n * ENT_WIRE_DIGEST_ENTRY);
    return r;
}

int ent__wire_recon_decode(ent_wire_msg *m, const msgpack_object *f) {
    uint8_t prefix[2];
    if (f[1].type != MSGPACK_OBJECT_BIN || f[1].via.bin.size != 2 ||
        f[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return ENT_EPROTO;
    memcpy(prefix, f[1].via.bin.ptr, 2);
    uint64_t bits = f[2].via.u64;
    if (m->type == ENT_WIRE_RANGES) {
        ent_wire_ranges *g = &m->u.ranges;
        if (!range_ok(prefix, bits, ENT_WIRE_RECON_BITS - 4) ||
            f[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            f[3].via.u64 > 0xffff || f[4].type != MSGPACK_OBJECT_BIN)
            return ENT_EPROTO;
        unsigned mask = (unsigned)f[3].via.u64;
        size_t k = 0;
        const uint8_t *p = (const uint8_t *)f[4].via.bin.ptr;
        for (unsigned j = 0; j < ENT_WIRE_RECON_FANOUT; j++)
            k += (mask >> j) & 1;
        if (f[4].via.bin.size != k * ENT_WIRE_RECON_FP)
            return ENT_EPROTO;
        memset(g->fps, 0, sizeof(g->fps));
        for (unsigned j = 0; j < ENT_WIRE_RECON_FANOUT; j++)
            if (mask & (1u << j)) {
                memcpy(g->fps[j], p, ENT_WIRE_RECON_FP);
                p += ENT_WIRE_RECON_FP;
            }
        size_t k2;
        if (ranges_mask(g, &k2) != mask)
            return ENT_EPROTO; /* a listed child counts 0: not canonical */
        memcpy(g->prefix, prefix, 2);
        g->bits = (uint32_t)bits;
        return ENT_OK;
    }
    ent_wire_leaf *l = &m->u.leaf;
    if (!range_ok(prefix, bits, ENT_WIRE_RECON_BITS) ||
        f[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        f[4].type != MSGPACK_OBJECT_BIN ||
        f[4].via.bin.size % ENT_WIRE_DIGEST_ENTRY != 0 ||
        f[4].via.bin.size > ENT_WIRE_MAX_DIGESTS * ENT_WIRE_DIGEST_ENTRY)
        return ENT_EPROTO;
    size_t n = f[4].via.bin.size / ENT_WIRE_DIGEST_ENTRY;
    const uint8_t *e = (const uint8_t *)f[4].via.bin.ptr;
    if (f[3].via.u64 < n)
        return ENT_EPROTO;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *id = e + i * ENT_WIRE_DIGEST_ENTRY;
        if (!in_range(id, prefix, (unsigned)bits) ||
            (i > 0 && memcmp(id - ENT_WIRE_DIGEST_ENTRY, id, 32) >= 0))
            return ENT_EPROTO;
    }
    memcpy(l->prefix, prefix, 2);
    l->bits = (uint32_t)bits;
    l->total = f[3].via.u64;
    if (n == 0)
        return ENT_OK;
    l->entries = malloc(n * ENT_WIRE_DIGEST_ENTRY);
    if (l->entries == NULL)
        return ENT_ENOMEM;
    memcpy(l->entries, e, n * ENT_WIRE_DIGEST_ENTRY);
    l->n = n;
    return ENT_OK;
}

/* DIGESTS: [14, total, bin of n * 64 bytes], n <= ENT_WIRE_MAX_DIGESTS,
 * n <= total. */
int ent__wire_digests_decode(ent_wire_msg *m, const msgpack_object *f) {
    ent_wire_digests *d = &m->u.digests;
    if (f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        f[2].type != MSGPACK_OBJECT_BIN ||
        f[2].via.bin.size % ENT_WIRE_DIGEST_ENTRY != 0 ||
        f[2].via.bin.size > ENT_WIRE_MAX_DIGESTS * ENT_WIRE_DIGEST_ENTRY)
        return ENT_EPROTO;
    size_t n = f[2].via.bin.size / ENT_WIRE_DIGEST_ENTRY;
    if (f[1].via.u64 < n)
        return ENT_EPROTO;
    d->total = f[1].via.u64;
    if (n == 0)
        return ENT_OK;
    d->entries = malloc(n * ENT_WIRE_DIGEST_ENTRY);
    if (d->entries == NULL)
        return ENT_ENOMEM;
    memcpy(d->entries, f[2].via.bin.ptr, n * ENT_WIRE_DIGEST_ENTRY);
    d->n = n;
    return ENT_OK;
}
