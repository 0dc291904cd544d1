/*
 * setdig.h - reconciliation fingerprints kept on commit (spec/gossip.md
 * §13): for each partner org, an additive multiset hash of the objects it
 * shares with this node, in total and per range of object ids, in table
 * "set_digests". The object engine calls ent_setdig_refresh() in the write
 * transaction that changes an object's heads, members or status, so any
 * process writing the store keeps them exact; gossip reads them.
 */
#ifndef ENT_SETDIG_H
#define ENT_SETDIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

#define ENT_SETDIG_FANOUT 16    /* children of a range: 4 more bits */
#define ENT_SETDIG_LEAF_BITS 16 /* deepest range: the first 2 id bytes */

/* A fingerprint: sum mod 2^256 (little-endian) of the terms of a set of
 * objects, and their number. */
typedef struct ent_setfp {
    uint8_t sum[32];
    uint64_t count;
} ent_setfp;

/* One object of a range: its id and the object digest its term used. */
typedef struct ent_setdig_entry {
    uint8_t id[32];
    uint8_t digest[32];
} ent_setdig_entry;

/* The digest of object obj inside txn: BLAKE2b-256("entente/v1/gossip-obj"
 * || obj || its head op ids ascending), 32 zero bytes without heads.
 * @return ENT_OK, ENT_ENOMEM, storage errors. */
int ent_setdig_object_digest(ent_txn *txn, const uint8_t obj[32],
                             uint8_t out[32]);

/* The term of (obj, digest): BLAKE2b-256("entente/v1/gossip-term" || obj
 * || digest). */
void ent_setdig_term(const uint8_t obj[32], const uint8_t digest[32],
                     uint8_t out[32]);

/* a += b (add) or a -= b (!add), modulo 2^256, little-endian. */
void ent_setdig_add(uint8_t a[32], const uint8_t b[32], bool add);

/* Whether the table is built (meta "set_digests" present). */
bool ent_setdig_built(ent_txn *txn);

/*
 * Brings obj's terms up to date in txn (a write transaction) for the node
 * whose org is me; builds the whole table first when it is not built yet.
 * Idempotent: calling it when nothing changed costs a heads scan, a
 * members scan and one read. @return ENT_OK, ENT_ENOMEM, storage errors.
 */
int ent_setdig_refresh(ent_txn *txn, const uint8_t me[32],
                       const uint8_t obj[32]);

/* Builds the table from scratch in txn (a write transaction) when it is not
 * built. @return as ent_setdig_refresh. */
int ent_setdig_ensure(ent_txn *txn, const uint8_t me[32]);

/*
 * The fingerprint of the objects shared with org whose ids start with the
 * first bits bits of prefix (bits 0: all of them; 8 or 16: one stored row;
 * other multiples of 4 up to 16: summed from at most 16 rows).
 * @return ENT_OK (an empty range is zero), ENT_ENOENT (table not built),
 *         ENT_EINVAL (bits), storage errors.
 */
int ent_setdig_range(ent_txn *txn, const uint8_t org[32],
                     const uint8_t prefix[2], unsigned bits, ent_setfp *out);

/* The fingerprints of the 16 children of the range (prefix, bits), bits a
 * multiple of 4 below 16: child j has the next 4 bits equal to j. At most
 * 256 rows read. @return as ent_setdig_range. */
int ent_setdig_children(ent_txn *txn, const uint8_t org[32],
                        const uint8_t prefix[2], unsigned bits,
                        ent_setfp out[ENT_SETDIG_FANOUT]);

/* The objects shared with org in the range (prefix, bits), ascending by id.
 * For 8 or 12 bits it reads org's 'L' rows of the range first and, when
 * they are few, only the objects of those 16-bit ranges (spec/gossip.md
 * §13.2). *out is malloc'ed (*n entries; NULL when none); the caller
 * frees it. @return ENT_OK, ENT_ENOMEM, ENT_EINVAL, storage errors. */
int ent_setdig_entries(ent_txn *txn, const uint8_t org[32],
                       const uint8_t prefix[2], unsigned bits,
                       ent_setdig_entry **out, size_t *n);

/*
 * Recomputes every fingerprint from the objects, members and heads tables
 * and compares with the stored rows (tests, checks). *equal: every stored
 * row equals the recomputation and no row is missing or extra.
 * @return ENT_OK, ENT_ENOENT (not built), ENT_ENOMEM, storage errors.
 */
int ent_setdig_verify(ent_txn *txn, const uint8_t me[32], bool *equal);

#endif
