/*
 * addr_record.h - the signed address record: where an org's node can be
 * dialled, signed by the org key, so that any member can hand it on to the
 * others (spec/records.md §5, spec/gossip.md §10).
 *
 * A record is the deterministic CBOR array [version, org, seq, addrs, sig]:
 * version 1; org the signer's Ed25519 public key (32 bytes); seq a uint
 * that the signer raises with every new record (its wall clock in ms when
 * signed), so the highest seq replaces older ones; addrs 1..4 text strings
 * "HOST:PORT" of 3..128 printable ASCII bytes, strictly ascending and
 * unique; sig an Ed25519 signature (context ENT_SIGCTX_ADDR,
 * "entente/v1/addr") over the encodings of the first four elements, that
 * is the record's bytes after its array head and before the sig item. The
 * whole record is at most ENT_ADDR_RECORD_MAX bytes.
 */
#ifndef ENT_ADDR_RECORD_H
#define ENT_ADDR_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"

#define ENT_ADDR_RECORD_VERSION 1
#define ENT_ADDR_RECORD_MAX_ADDRS 4
#define ENT_ADDR_RECORD_MIN_ADDR_LEN 3   /* "a:1" */
#define ENT_ADDR_RECORD_MAX_ADDR_LEN 128 /* = ENT_WIRE_MAX_ADDR_LEN */
#define ENT_ADDR_RECORD_MAX 1024         /* bytes of one encoded record */

/* A decoded (and verified) record. */
typedef struct ent_addr_record {
    uint8_t org[ENT_PK_LEN];
    uint64_t seq;
    size_t naddrs; /* 1..ENT_ADDR_RECORD_MAX_ADDRS */
    char addrs[ENT_ADDR_RECORD_MAX_ADDRS][ENT_ADDR_RECORD_MAX_ADDR_LEN + 1];
} ent_addr_record;

/*
 * Makes and signs the record of id with seq and addrs[0..n). The addresses
 * are sorted and duplicates dropped here; each must be 3..128 printable
 * ASCII bytes (0x21..0x7e) with a ':'. On ENT_OK *out (free() it) holds
 * *len bytes.
 * @return ENT_OK; ENT_EINVAL (n is 0 or above 4 distinct addresses, a bad
 *         address); ENT_ENOMEM; a signing error.
 */
int ent_addr_record_sign(const ent_identity *id, uint64_t seq,
                         const char *const *addrs, size_t n, uint8_t **out,
                         size_t *len);

/*
 * Decodes buf (len bytes, hostile input) into out and verifies its
 * signature under out->org. Checks, in order: len, the CBOR profile with
 * the record's limits, the shape and every field, addresses ascending and
 * unique, no trailing bytes, then the signature.
 * @return ENT_OK; ENT_ETOOBIG (over 1024 bytes or a limit); ENT_ETRUNCATED,
 *         ENT_ENONCANON, ENT_ECORRUPT (not one canonical record);
 *         ENT_EVERSION (a version other than 1); ENT_EBADSIG. On error
 *         out is zeroed.
 */
int ent_addr_record_decode(ent_addr_record *out, const uint8_t *buf,
                           size_t len);

#endif
