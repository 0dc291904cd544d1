/*
 * growbuf.h - a growable byte buffer for lists built while scanning a
 * table (object ids, digests): append, doubling the capacity; the first
 * allocation failure is kept in err and later appends do nothing. Leaf
 * header, no state; included from any folder of node/. The owner frees p.
 */
#ifndef ENT_GROWBUF_H
#define ENT_GROWBUF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"

typedef struct ent_growbuf {
    uint8_t *p; /* malloc'ed, NULL until the first append */
    size_t n, cap;
    int err; /* ENT_OK, or ENT_ENOMEM once an append failed */
} ent_growbuf;

/* Appends d[0..n) to b, unless an earlier append failed. */
static inline void ent_growbuf_add(ent_growbuf *b, const void *d, size_t n) {
    if (b->err != ENT_OK)
        return;
    if (b->n + n > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->n + n)
            nc *= 2;
        uint8_t *np = realloc(b->p, nc);
        if (np == NULL) {
            b->err = ENT_ENOMEM;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

#endif
