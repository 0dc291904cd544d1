/*
 * fuzz_op.c - ent_op_decode and ent_op_body_decode over arbitrary bytes.
 *
 * An op that decodes must re-encode to exactly the input and carry the
 * BLAKE2b id of it; verify must not crash (it fails, short of a forgery). A
 * body that decodes under some kind must re-encode to exactly the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "protocol/op.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ent_op *op = NULL;
    uint8_t *re = NULL;
    size_t relen = 0;
    if (ent_crypto_init() != ENT_OK)
        abort();
    if (ent_op_decode(&op, data, size) == ENT_OK) {
        if (ent_op_encode(op, &re, &relen) != ENT_OK || relen != size ||
            memcmp(re, data, size) != 0)
            abort();
        uint8_t id[ENT_HASH_LEN];
        ent_hash(id, data, size);
        if (memcmp(id, op->id, sizeof(id)) != 0)
            abort();
        (void)ent_op_verify(op);
        free(re);
        ent_op_free(op);
    }
    for (uint8_t kind = 0; kind < ENT_OP_KIND__COUNT; kind++) {
        ent_op_body b;
        if (ent_op_body_decode(&b, kind, data, size) != ENT_OK)
            continue;
        if (ent_op_body_encode(&b, &re, &relen) != ENT_OK || relen != size ||
            memcmp(re, data, size) != 0)
            abort();
        free(re);
        ent_op_body_clear(&b);
    }
    return 0;
}
