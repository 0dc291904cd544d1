/*
 * wire_int.h - internals of the message codec (wire.c) shared with the
 * files that encode and decode one message type each (wire_overlap.c).
 * Not a public API.
 */
#ifndef ENT_WIRE_INT_H
#define ENT_WIRE_INT_H

#include <msgpack.h>

#include "protocol/wire.h"

/* OVERLAP (wire_overlap.c): exact size, after checking the fields
 * (@return ENT_OK, ENT_EINVAL); pack (0 or -1); decode from the six
 * array elements f (@return ENT_OK, ENT_EPROTO, ENT_ENOMEM). */
int ent__wire_overlap_size(const ent_wire_overlap *o, size_t *out);
int ent__wire_overlap_pack(msgpack_packer *pk, const ent_wire_overlap *o);
int ent__wire_overlap_decode(ent_wire_overlap *o, const msgpack_object *f);

#endif
