/*
 * bytes.h - big-endian integers in byte strings: the one encoding of the
 * 64-bit numbers in table keys and values (sequence numbers, epochs, HLCs,
 * log indexes), so that LMDB's bytewise key order is numeric order. Leaf
 * header, no state; included from any folder of node/.
 */
#ifndef ENT_BYTES_H
#define ENT_BYTES_H

#include <stdint.h>

/* Writes v to out[0..7], most significant byte first. */
static inline void ent_be64_put(uint8_t out[8], uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* Reads the big-endian 64-bit number in in[0..7]. */
static inline uint64_t ent_be64_get(const uint8_t in[8]) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | in[i];
    return v;
}

#endif
