/*
 * fuzz_addr_record.c - libFuzzer target for the signed address record
 * decoder (protocol/addr_record.h) over arbitrary bytes, and for its
 * encoder over addresses cut from the input.
 *
 * A record that decodes has 1..4 addresses of 3..128 bytes, and any change
 * to its last byte (inside the signature) makes it fail. Addresses the
 * encoder accepts are signed with a fixed key; the record must decode back
 * to the same org, seq and set of addresses, and any byte flipped in it
 * must make it fail to decode (one record has one encoding).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "node/err.h"
#include "protocol/addr_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_decode(const uint8_t *data, size_t size) {
    ent_addr_record r;
    int rc = ent_addr_record_decode(&r, data, size);
    if (rc != ENT_OK) {
        if (rc >= 0)
            abort();
        return;
    }
    if (size > ENT_ADDR_RECORD_MAX || r.naddrs == 0 ||
        r.naddrs > ENT_ADDR_RECORD_MAX_ADDRS)
        abort();
    for (size_t i = 0; i < r.naddrs; i++) {
        size_t l = strlen(r.addrs[i]);
        if (l < ENT_ADDR_RECORD_MIN_ADDR_LEN || l > ENT_ADDR_RECORD_MAX_ADDR_LEN)
            abort();
    }
    uint8_t *copy = malloc(size);
    if (copy == NULL)
        abort();
    memcpy(copy, data, size);
    copy[size - 1] ^= 1;
    if (ent_addr_record_decode(&r, copy, size) == ENT_OK)
        abort();
    free(copy);
}

/* The input as up to 4 addresses separated by NUL bytes. */
static void check_sign(const uint8_t *data, size_t size) {
    static const uint8_t seed[32] = {7};
    char buf[4 * 200];
    const char *addrs[4];
    size_t n = 0, o = 0;
    ent_identity *id = NULL;
    uint8_t *rec = NULL;
    size_t len = 0;
    if (size > sizeof(buf) - 1)
        size = sizeof(buf) - 1;
    memcpy(buf, data, size);
    buf[size] = '\0';
    while (o <= size && n < 4) {
        addrs[n++] = buf + o;
        o += strlen(buf + o) + 1;
    }
    if (ent_identity_from_seed(&id, seed) != ENT_OK)
        abort();
    uint64_t seq = size > 8 ? (uint64_t)data[0] << 40 | data[1] : 1;
    if (ent_addr_record_sign(id, seq, addrs, n, &rec, &len) == ENT_OK) {
        ent_addr_record r;
        if (ent_addr_record_decode(&r, rec, len) != ENT_OK || r.seq != seq ||
            memcmp(r.org, ent_identity_public(id), ENT_PK_LEN) != 0 ||
            r.naddrs == 0 || r.naddrs > n)
            abort();
        for (size_t i = 0; i < n; i++) {
            bool found = false;
            for (size_t k = 0; k < r.naddrs && !found; k++)
                found = strcmp(addrs[i], r.addrs[k]) == 0;
            if (!found)
                abort();
        }
        size_t at = size % len;
        rec[at] ^= 0x01;
        if (ent_addr_record_decode(&r, rec, len) == ENT_OK)
            abort();
        free(rec);
    }
    ent_identity_free(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (ent_crypto_init() != ENT_OK)
        abort();
    check_decode(data, size);
    check_sign(data, size);
    return 0;
}
