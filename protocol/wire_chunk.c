/*
 * wire_chunk.c - the attachment chunk messages (spec/protocol.md):
 *
 *   CHUNK_WANT [18, object bin 32, hashes bin 32 x 1..16]
 *   CHUNK      [19, object bin 32, sealed chunk bin 1..49,192]
 *
 * A CHUNK carries no hash: the receiver hashes the bytes and keeps them
 * only if a manifest of the object lists that hash.
 */
#include "protocol/wire_int.h"

#include <stdlib.h>
#include <string.h>

#include "node/err.h"

int ent__wire_chunk_size(const ent_wire_msg *m, size_t *out) {
    size_t body;
    if (m->type == ENT_WIRE_CHUNK_WANT) {
        const ent_wire_chunk_want *w = &m->u.chunk_want;
        if (w->n == 0 || w->n > ENT_WIRE_MAX_CHUNK_WANT)
            return ENT_EINVAL;
        body = w->n * ENT_WIRE_HASH_LEN;
    } else {
        const ent_wire_chunk *c = &m->u.chunk;
        if (c->len == 0 || c->len > ENT_WIRE_MAX_CHUNK || c->data == NULL)
            return ENT_EINVAL;
        body = c->len;
    }
    /* fixarray(3), fixint type, bin 32 object, bin body */
    *out = 1 + 1 + ent__wire_bin_head(ENT_WIRE_ID_LEN) + ENT_WIRE_ID_LEN +
           ent__wire_bin_head(body) + body;
    return ENT_OK;
}

int ent__wire_chunk_pack(msgpack_packer *pk, const ent_wire_msg *m) {
    int r = msgpack_pack_array(pk, 3);
    r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
    if (m->type == ENT_WIRE_CHUNK_WANT) {
        r |= ent__wire_pack_bin(pk, m->u.chunk_want.object, ENT_WIRE_ID_LEN);
        r |= ent__wire_pack_bin(pk, m->u.chunk_want.hashes,
                      m->u.chunk_want.n * ENT_WIRE_HASH_LEN);
    } else {
        r |= ent__wire_pack_bin(pk, m->u.chunk.object, ENT_WIRE_ID_LEN);
        r |= ent__wire_pack_bin(pk, m->u.chunk.data, m->u.chunk.len);
    }
    return r;
}

int ent__wire_chunk_decode(ent_wire_msg *m, const msgpack_object *f) {
    if (f[1].type != MSGPACK_OBJECT_BIN ||
        f[1].via.bin.size != ENT_WIRE_ID_LEN || f[2].type != MSGPACK_OBJECT_BIN)
        return ENT_EPROTO;
    size_t n = f[2].via.bin.size;
    if (m->type == ENT_WIRE_CHUNK_WANT) {
        ent_wire_chunk_want *w = &m->u.chunk_want;
        if (n == 0 || n % ENT_WIRE_HASH_LEN != 0 ||
            n > ENT_WIRE_MAX_CHUNK_WANT * ENT_WIRE_HASH_LEN)
            return ENT_EPROTO;
        memcpy(w->object, f[1].via.bin.ptr, ENT_WIRE_ID_LEN);
        memcpy(w->hashes, f[2].via.bin.ptr, n);
        w->n = n / ENT_WIRE_HASH_LEN;
        return ENT_OK;
    }
    ent_wire_chunk *c = &m->u.chunk;
    if (n == 0 || n > ENT_WIRE_MAX_CHUNK)
        return ENT_EPROTO;
    uint8_t *d = malloc(n);
    if (d == NULL)
        return ENT_ENOMEM;
    memcpy(d, f[2].via.bin.ptr, n);
    memcpy(c->object, f[1].via.bin.ptr, ENT_WIRE_ID_LEN);
    c->data = d;
    c->len = n;
    return ENT_OK;
}
