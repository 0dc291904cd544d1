/*
 * fuzz_identity.c - libFuzzer target for the key file decoder.
 *
 * Feeds arbitrary bytes to ent_identity_parse(). A successful parse must
 * re-encode to exactly the input (one encoding per key file) and sign
 * something that verifies under its own public key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "node/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ent_identity *id = NULL;
    uint8_t enc[ENT_IDENTITY_FILE_LEN];
    uint8_t sig[ENT_SIG_LEN];
    int rc;

    if (ent_crypto_init() != ENT_OK)
        abort();
    rc = ent_identity_parse(&id, data, size);
    if (rc != ENT_OK) {
        if (id != NULL || rc >= 0)
            abort();
        return 0;
    }
    if (size != ENT_IDENTITY_FILE_LEN)
        abort();
    ent_identity_encode(id, enc);
    if (memcmp(enc, data, size) != 0)
        abort();
    if (ent_identity_sign(id, ENT_SIGCTX_OP, data, size, sig) != ENT_OK ||
        ent_sig_verify(ent_identity_public(id), ENT_SIGCTX_OP, data, size,
                       sig) != ENT_OK)
        abort();
    ent_wipe(enc, sizeof(enc));
    ent_identity_free(id);
    return 0;
}
