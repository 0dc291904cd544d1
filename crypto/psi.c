/*
 * psi.c - ristretto255 operations of the account-overlap protocol; see
 * psi.h and spec/overlap.md §4.
 */
#include "crypto/psi.h"
#include "node/err.h"

#include <sodium.h>
#include <string.h>

void ent_psi_hash_point(uint8_t out[ENT_PSI_POINT_LEN], const void *key,
                        size_t len) {
    uint8_t h[crypto_core_ristretto255_HASHBYTES];
    crypto_generichash_state st;
    static const uint8_t zero = 0;
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, (const uint8_t *)ENT_PSI_TAG,
                              sizeof(ENT_PSI_TAG) - 1);
    crypto_generichash_update(&st, &zero, 1);
    crypto_generichash_update(&st, key, len);
    crypto_generichash_final(&st, h, sizeof(h));
    crypto_core_ristretto255_from_hash(out, h);
    sodium_memzero(h, sizeof(h));
}

void ent_psi_scalar_random(uint8_t out[ENT_PSI_SCALAR_LEN]) {
    crypto_core_ristretto255_scalar_random(out);
}

void ent_psi_random_point(uint8_t out[ENT_PSI_POINT_LEN]) {
    crypto_core_ristretto255_random(out);
}

int ent_psi_mul(uint8_t out[ENT_PSI_POINT_LEN],
                const uint8_t scalar[ENT_PSI_SCALAR_LEN],
                const uint8_t point[ENT_PSI_POINT_LEN]) {
    return crypto_scalarmult_ristretto255(out, scalar, point) == 0
               ? ENT_OK
               : ENT_ECRYPTO;
}

bool ent_psi_point_valid(const uint8_t p[ENT_PSI_POINT_LEN]) {
    return crypto_core_ristretto255_is_valid_point(p) == 1;
}
