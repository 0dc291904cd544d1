/*
 * psi.h - the group operations of the account-overlap protocol
 * (spec/overlap.md §4): ristretto255 points from hashes, random scalars and
 * points, and scalar multiplication, all from libsodium
 * (crypto_core_ristretto255_*, crypto_scalarmult_ristretto255). Nothing
 * here is written by hand; this file only keeps sodium.h inside crypto/.
 *
 * Pure functions, safe to call from worker threads (no state but the
 * libsodium initialisation of ent_crypto_init()).
 */
#ifndef ENT_PSI_H
#define ENT_PSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENT_PSI_POINT_LEN 32  /* crypto_core_ristretto255_BYTES */
#define ENT_PSI_SCALAR_LEN 32 /* crypto_core_ristretto255_SCALARBYTES */
/* Domain-separation tag hashed in front of every matching key. */
#define ENT_PSI_TAG "entente/overlap/v1/key"

/*
 * The point of a matching key (len bytes of a normalised key, e.g.
 * "d:example.com"): crypto_core_ristretto255_from_hash of
 * BLAKE2b-512(ENT_PSI_TAG || 0x00 || key).
 */
void ent_psi_hash_point(uint8_t out[ENT_PSI_POINT_LEN], const void *key,
                        size_t len);

/* A fresh random nonzero scalar (crypto_core_ristretto255_scalar_random);
 * the caller wipes it with ent_wipe() when the run ends. */
void ent_psi_scalar_random(uint8_t out[ENT_PSI_SCALAR_LEN]);

/* A uniformly random point (crypto_core_ristretto255_random): padding. */
void ent_psi_random_point(uint8_t out[ENT_PSI_POINT_LEN]);

/*
 * out = scalar * point (crypto_scalarmult_ristretto255).
 * @return ENT_OK, or ENT_ECRYPTO when point is not a valid encoding or the
 *         result is the identity (a malformed or malicious input).
 */
int ent_psi_mul(uint8_t out[ENT_PSI_POINT_LEN],
                const uint8_t scalar[ENT_PSI_SCALAR_LEN],
                const uint8_t point[ENT_PSI_POINT_LEN]);

/* True if p is a canonical encoding of a ristretto255 point. */
bool ent_psi_point_valid(const uint8_t p[ENT_PSI_POINT_LEN]);

#endif
