/*
 * fuzz_rewind.c - ent_rewind_decode (a rewind record from a partner's
 * REWIND message or an auditor's witness file, spec/audit.md §11.1) and
 * ent_rewind_verify over arbitrary bytes. A record that decodes keeps the
 * rules (both heads of its org, 1 <= base < lost), re-encodes to exactly
 * the input, and its verification says only OK or EBADSIG.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/audit/witness.h"
#include "node/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int inited;
    ent_rewind r;
    uint8_t buf[ENT_REWIND_MAX];
    size_t len = 0;
    if (!inited) {
        if (ent_crypto_init() != ENT_OK)
            abort();
        inited = 1;
    }
    if (ent_rewind_decode(&r, data, size) != ENT_OK)
        return 0;
    if (memcmp(r.base.org, r.org, 32) != 0 ||
        memcmp(r.lost.org, r.org, 32) != 0 || r.base.size == 0 ||
        r.base.size >= r.lost.size)
        abort();
    if (ent_rewind_encode(&r, buf, sizeof(buf), &len) != ENT_OK ||
        len != size || memcmp(buf, data, size) != 0)
        abort();
    int rc = ent_rewind_verify(&r);
    if (rc != ENT_OK && rc != ENT_EBADSIG)
        abort();
    return 0;
}
