/*
 * wire_int.h - internals of the message codec (wire.c) shared with the
 * files that encode and decode one message type each: the attachment
 * chunk messages (CHUNK_WANT, CHUNK) in wire_chunk.c, OVERLAP in
 * wire_overlap.c; wire.c's size, pack, decode and clear switches call
 * them. Not a public API (ent__wire_*).
 */
#ifndef ENT_WIRE_INT_H
#define ENT_WIRE_INT_H

#include <msgpack.h>

#include "protocol/wire.h"

/* msgpack sizes and the one bin writer the per-message files share:
 * the header bytes of a bin of n bytes, the bytes of a uint v in its
 * shortest form, and a bin header then its body (0, or nonzero). */
static inline size_t ent__wire_bin_head(size_t n) {
    return n < 256 ? 2 : n < 65536 ? 3 : 5;
}

static inline size_t ent__wire_uint_len(uint64_t v) {
    return v < 128 ? 1 : v < 256 ? 2 : v < 65536 ? 3 : v <= 0xffffffffu ? 5 : 9;
}

static inline int ent__wire_pack_bin(msgpack_packer *pk, const void *p,
                                     size_t len) {
    int r = msgpack_pack_bin(pk, len);
    if (r == 0 && len > 0)
        r = msgpack_pack_bin_body(pk, p, len);
    return r;
}

/* OVERLAP (wire_overlap.c): exact size, after checking the fields
 * (@return ENT_OK, ENT_EINVAL); pack (0 or -1); decode from the six
 * array elements f (@return ENT_OK, ENT_EPROTO, ENT_ENOMEM). */
int ent__wire_overlap_size(const ent_wire_overlap *o, size_t *out);
int ent__wire_overlap_pack(msgpack_packer *pk, const ent_wire_overlap *o);
int ent__wire_overlap_decode(ent_wire_overlap *o, const msgpack_object *f);
/* The encoded size of a CHUNK_WANT or CHUNK m into *out, checking its
 * fields. @return ENT_OK or ENT_EINVAL. */
int ent__wire_chunk_size(const ent_wire_msg *m, size_t *out);
/* Packs m (checked by ent__wire_chunk_size). @return 0, or -1. */
int ent__wire_chunk_pack(msgpack_packer *pk, const ent_wire_msg *m);
/* Decodes the fields f[1..2] of a CHUNK_WANT or CHUNK (m->type set).
 * @return ENT_OK, ENT_EPROTO, ENT_ENOMEM. */
int ent__wire_chunk_decode(ent_wire_msg *m, const msgpack_object *f);

/* RANGES and LEAF (wire_recon.c): size (@return ENT_OK, ENT_EINVAL),
 * pack (0 or -1), decode from the array elements f (@return ENT_OK,
 * ENT_EPROTO, ENT_ENOMEM). */
int ent__wire_recon_size(const ent_wire_msg *m, size_t *out);
int ent__wire_recon_pack(msgpack_packer *pk, const ent_wire_msg *m);
int ent__wire_recon_decode(ent_wire_msg *m, const msgpack_object *f);
/* DIGESTS (wire_recon.c): decode from f. @return as above. */
int ent__wire_digests_decode(ent_wire_msg *m, const msgpack_object *f);

/* HEAD, CONSISTENCY and REWIND (wire_witness.c): size (@return ENT_OK,
 * ENT_EINVAL), pack (0 or -1), decode from the array elements f
 * (@return ENT_OK, ENT_EPROTO). */
int ent__wire_witness_size(const ent_wire_msg *m, size_t *out);
int ent__wire_witness_pack(msgpack_packer *pk, const ent_wire_msg *m);
int ent__wire_witness_decode(ent_wire_msg *m, const msgpack_object *f);

#endif
