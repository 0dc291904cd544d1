/*
 * fuzz_proof.c - Merkle proof verifiers and the frontier decoder
 * (crypto/merkle.h) on hostile input.
 *
 * Input: index (8 bytes LE) || n (8 LE) || m (8 LE) || 32-byte hashes:
 * leaf, root_a, root_b, then the proof (any number, also more than 64).
 * Missing bytes read as zero. Both verifiers run on the raw values and on
 * sizes folded into a small tree, the frontier decoder runs on the whole
 * input, and a small tree built from the input must prove and verify its
 * own proofs. Nothing may crash; a wrong verdict aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/merkle.h"
#include "node/err.h"

#define HL ENT_MERKLE_HASH_LEN
#define HDR 24

struct leaves {
    const uint8_t *data;
    size_t size;
};

/* Leaf i of the input's tree: the leaf hash of one input byte and i. */
static int leaf_at(void *data, uint64_t index, uint8_t out[HL]) {
    const struct leaves *l = data;
    uint8_t e[9];
    e[0] = l->size ? l->data[index % l->size] : 0;
    memcpy(e + 1, &index, 8);
    ent_merkle_leaf_hash(out, e, sizeof(e));
    return ENT_OK;
}

static uint64_t rd64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void check_verdict(int rc) {
    if (rc != ENT_OK && rc != ENT_ECORRUPT && rc != ENT_EINVAL)
        abort();
}

static void raw_verifiers(const uint8_t *data, size_t size) {
    uint8_t head[HDR + 3 * HL] = {0};
    const uint8_t(*path)[HL] = NULL;
    size_t plen = 0;

    memcpy(head, data, size < sizeof(head) ? size : sizeof(head));
    uint64_t index = rd64(head), n = rd64(head + 8), m = rd64(head + 16);
    const uint8_t *leaf = head + HDR, *ra = leaf + HL, *rb = ra + HL;
    if (size > sizeof(head)) {
        path = (const uint8_t(*)[HL])(data + sizeof(head));
        plen = (size - sizeof(head)) / HL;
    }

    check_verdict(ent_merkle_verify_inclusion(index, n, leaf, path, plen, ra));
    check_verdict(ent_merkle_verify_consistency(m, n, ra, rb, path, plen));
    /* the same hashes against small, valid sizes reach the RFC loops */
    uint64_t sn = n % 4096 + 1, si = index % sn, sm = m % sn + 1;
    check_verdict(ent_merkle_verify_inclusion(si, sn, leaf, path, plen, ra));
    check_verdict(ent_merkle_verify_consistency(sm, sn, ra, rb, path, plen));
}

static void frontier(const uint8_t *data, size_t size) {
    ent_merkle_frontier f;
    uint8_t enc[ENT_MERKLE_FRONTIER_MAX_LEN], root[HL];
    size_t len;

    int rc = ent_merkle_frontier_decode(&f, data, size);
    if (rc != ENT_OK) {
        if (f.size != 0)
            abort();
        return;
    }
    /* canonical: what decodes re-encodes to the same bytes */
    if (ent_merkle_frontier_encode(&f, enc, sizeof(enc), &len) != ENT_OK ||
        len != size || memcmp(enc, data, size) != 0)
        abort();
    ent_merkle_frontier_root(&f, root);
    rc = ent_merkle_frontier_append(&f, root);
    if (rc != ENT_OK && rc != ENT_ELIMIT)
        abort();
    ent_merkle_frontier_root(&f, root);
}

/* A small tree shaped by the input proves and verifies its own proofs,
 * and the frontier agrees with the accessor. */
static void self_proofs(const uint8_t *data, size_t size) {
    struct leaves l = {data, size};
    uint8_t head[HDR] = {0};
    uint8_t path[ENT_MERKLE_MAX_PROOF][HL], root_n[HL], root_m[HL], leaf[HL];
    size_t plen;
    ent_merkle_frontier f;

    memcpy(head, data, size < HDR ? size : HDR);
    uint64_t n = rd64(head + 8) % 300 + 1;
    uint64_t index = rd64(head) % n, m = rd64(head + 16) % n + 1;

    if (ent_merkle_root(n, leaf_at, &l, root_n) != ENT_OK ||
        ent_merkle_root(m, leaf_at, &l, root_m) != ENT_OK ||
        ent_merkle_frontier_build(&f, n, leaf_at, &l) != ENT_OK)
        abort();
    ent_merkle_frontier_root(&f, leaf);
    if (memcmp(leaf, root_n, HL) != 0)
        abort();
    leaf_at(&l, index, leaf);
    if (ent_merkle_inclusion_proof(index, n, leaf_at, &l, path,
                                   ENT_MERKLE_MAX_PROOF, &plen) != ENT_OK ||
        ent_merkle_verify_inclusion(index, n, leaf, (const uint8_t(*)[HL])path,
                                    plen, root_n) != ENT_OK)
        abort();
    if (ent_merkle_consistency_proof(m, n, leaf_at, &l, path,
                                     ENT_MERKLE_MAX_PROOF, &plen) != ENT_OK ||
        ent_merkle_verify_consistency(
            m, n, root_m, root_n, (const uint8_t(*)[HL])path, plen) != ENT_OK)
        abort();
    /* one flipped bit anywhere in that proof breaks it */
    if (plen > 0 && size > 0) {
        size_t at = data[size - 1] % (plen * HL);
        path[at / HL][at % HL] ^= 1;
        if (ent_merkle_verify_consistency(m, n, root_m, root_n,
                                          (const uint8_t(*)[HL])path,
                                          plen) != ENT_ECORRUPT)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    raw_verifiers(data, size);
    frontier(data, size);
    self_proofs(data, size);
    return 0;
}
