/*
 * merkle_test.c - the RFC 9162 Merkle tree (crypto/merkle.h).
 *
 * The reference below is RFC 9162 section 2.1 written out literally: MTH,
 * PATH, PROOF and SUBPROOF as recursive functions over the list of entries
 * D[n], hashing with ent_hash (crypto.h) on hand-built 0x00/0x01 prefixed
 * buffers, so it shares no code with crypto/merkle.c. A few roots are also
 * checked against values computed by an independent BLAKE2b implementation
 * (Python's hashlib), which pins the hash function and its parameters.
 *
 * Then every tree size from 1 to 1,000 is compared with the reference:
 * roots (through the accessor and through the frontier), inclusion proofs
 * and consistency proofs (every index and every old size up to 64 leaves,
 * a sample above), and every proof is tampered with in every way the
 * verifiers must catch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/merkle.h"
#include "node/err.h"

#define HL ENT_MERKLE_HASH_LEN
#define NMAX 1000
#define FULL 64 /* up to this size every index and every m is checked */

typedef uint8_t hash[HL];

struct fx {
    uint8_t entry[NMAX][16]; /* D[i]: small distinct byte strings */
    size_t elen[NMAX];
    hash leaves[NMAX];      /* leaf hashes, through the library */
    hash refleaf[NMAX];     /* HASH(0x00 || D[i]), computed once */
    hash refroot[NMAX + 1]; /* reference MTH(D[n]) */
    /* MTH of the perfect subtrees D[lo : lo + 2^j], cached: MTH is a pure
     * function and these are shared by all trees; without the cache the
     * reference alone would take most of the run time under ASan. */
    hash perfect[11][NMAX];
    uint8_t have[11][NMAX];
    uint64_t rng;
};

/* ---- the literal RFC 9162 section 2.1 reference ------------------------- */

/* HASH(0x00 || d), computed once per entry in setup() (refleaf) */
static void ref_leaf(struct fx *fx, size_t i, uint8_t out[HL]) {
    uint8_t buf[1 + 16];
    buf[0] = 0x00;
    memcpy(buf + 1, fx->entry[i], fx->elen[i]);
    ent_hash(out, buf, 1 + fx->elen[i]);
}

/* HASH(0x01 || l || r) */
static void ref_node(uint8_t out[HL], const uint8_t l[HL],
                     const uint8_t r[HL]) {
    uint8_t buf[1 + 2 * HL];
    buf[0] = 0x01;
    memcpy(buf + 1, l, HL);
    memcpy(buf + 1 + HL, r, HL);
    ent_hash(out, buf, sizeof(buf));
}

/* k: the largest power of two smaller than n (n > 1) */
static size_t ref_k(size_t n) {
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return k;
}

/* MTH(D[lo : lo + n]) */
static void ref_mth(struct fx *fx, size_t lo, size_t n, uint8_t out[HL]) {
    if (n == 0) {
        ent_hash(out, "", 0);
    } else if (n == 1) {
        memcpy(out, fx->refleaf[lo], HL);
    } else {
        size_t k = ref_k(n), j = (size_t)__builtin_ctzll(n);
        int perfect = (n & (n - 1)) == 0;
        hash a, b;
        if (perfect && fx->have[j][lo]) {
            memcpy(out, fx->perfect[j][lo], HL);
            return;
        }
        ref_mth(fx, lo, k, a);
        ref_mth(fx, lo + k, n - k, b);
        ref_node(out, a, b);
        if (perfect) {
            memcpy(fx->perfect[j][lo], out, HL);
            fx->have[j][lo] = 1;
        }
    }
}

/* A proof as the reference builds it: the hashes, and for each hash whether
 * it is a right sibling (1) or a left one (0); for consistency proofs the
 * entry MTH(D[m]) (no sibling) is marked 2. The side list is the "shape". */
struct refproof {
    hash h[ENT_MERKLE_MAX_PROOF + 2];
    int side[ENT_MERKLE_MAX_PROOF + 2];
    size_t len;
    int shape_only; /* skip the hashing: only side[] and len are wanted */
};

static void rp_push(struct refproof *p, const uint8_t h[HL], int side) {
    assert_true(p->len < ENT_MERKLE_MAX_PROOF + 2);
    if (!p->shape_only)
        memcpy(p->h[p->len], h, HL);
    p->side[p->len] = side;
    p->len++;
}

/* PATH(m, D[lo : lo + n]) appended to p */
static void ref_path(struct fx *fx, size_t m, size_t lo, size_t n,
                     struct refproof *p) {
    hash s;
    if (n <= 1)
        return; /* PATH(0, {d0}) = {} */
    size_t k = ref_k(n);
    if (m < k) {
        ref_path(fx, m, lo, k, p);
        if (!p->shape_only)
            ref_mth(fx, lo + k, n - k, s);
        rp_push(p, s, 1);
    } else {
        ref_path(fx, m - k, lo + k, n - k, p);
        if (!p->shape_only)
            ref_mth(fx, lo, k, s);
        rp_push(p, s, 0);
    }
}

/* SUBPROOF(m, D[lo : lo + n], b) appended to p */
static void ref_subproof(struct fx *fx, size_t m, size_t lo, size_t n, int b,
                         struct refproof *p) {
    hash s;
    if (m == n) {
        if (!b) {
            if (!p->shape_only)
                ref_mth(fx, lo, n, s);
            rp_push(p, s, 2);
        }
        return;
    }
    size_t k = ref_k(n);
    if (m <= k) {
        ref_subproof(fx, m, lo, k, b, p);
        if (!p->shape_only)
            ref_mth(fx, lo + k, n - k, s);
        rp_push(p, s, 1);
    } else {
        ref_subproof(fx, m - k, lo + k, n - k, 0, p);
        if (!p->shape_only)
            ref_mth(fx, lo, k, s);
        rp_push(p, s, 0);
    }
}

/* PROOF(m, D[n]) */
static void ref_proof(struct fx *fx, size_t m, size_t n, struct refproof *p) {
    assert_true(m >= 1 && m <= n);
    p->len = 0;
    ref_subproof(fx, m, 0, n, 1, p);
}

/* Two proofs have the same shape when they combine their hashes in the same
 * order; a proof then verifies for either pair of sizes. */
static int same_shape(const struct refproof *a, const struct refproof *b) {
    if (a->len != b->len)
        return 0;
    for (size_t i = 0; i < a->len; i++)
        if (a->side[i] != b->side[i])
            return 0;
    return 1;
}

/* ---- fixture ------------------------------------------------------------ */

static uint64_t rnd(struct fx *fx) {
    /* xorshift64*: deterministic, state in the fixture */
    fx->rng ^= fx->rng >> 12;
    fx->rng ^= fx->rng << 25;
    fx->rng ^= fx->rng >> 27;
    return fx->rng * UINT64_C(2685821657736338717);
}

static int setup(void **state) {
    struct fx *fx = calloc(1, sizeof(*fx));
    if (fx == NULL || ent_crypto_init() != ENT_OK)
        return -1;
    fx->rng = UINT64_C(0x9e3779b97f4a7c15);
    for (size_t i = 0; i < NMAX; i++) {
        /* entry 0 is empty; entry i is its decimal digits and i % 5 dashes,
         * the same as the Python script that made the known answers */
        if (i == 0) {
            fx->elen[i] = 0;
        } else {
            int w = snprintf((char *)fx->entry[i], 16, "%zu", i);
            memset(fx->entry[i] + w, '-', i % 5);
            fx->elen[i] = (size_t)w + i % 5;
        }
        ent_merkle_leaf_hash(fx->leaves[i], fx->entry[i], fx->elen[i]);
        ref_leaf(fx, i, fx->refleaf[i]);
    }
    for (size_t n = 0; n <= NMAX; n++)
        ref_mth(fx, 0, n, fx->refroot[n]);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    free(*state);
    return 0;
}

/* The accessor a store would implement. It counts reads, checks that no
 * index beyond the tree is asked for, and can fail on one index. */
struct src {
    struct fx *fx;
    uint64_t limit; /* indexes must be below this */
    uint64_t reads;
    uint64_t fail_at; /* UINT64_MAX: never */
    int bad_index;
};

static int src_leaf(void *data, uint64_t index, uint8_t out[HL]) {
    struct src *s = data;
    if (index >= s->limit || index >= NMAX) {
        s->bad_index = 1;
        return ENT_EINVAL;
    }
    if (index == s->fail_at)
        return ENT_ESTORAGE;
    s->reads++;
    memcpy(out, s->fx->leaves[index], HL);
    return ENT_OK;
}

static struct src src_for(struct fx *fx, uint64_t n) {
    return (struct src){fx, n, 0, UINT64_MAX, 0};
}

static void hex_to(uint8_t out[HL], const char *hex) {
    assert_int_equal(ent_hex_decode(out, HL, hex), ENT_OK);
}

/* The proof path of len hashes is exactly the n hashes of hex. */
static void assert_path_hex(const uint8_t (*path)[HL], size_t len,
                            const char *const *hex, size_t n) {
    uint8_t want[HL];
    assert_int_equal(len, n);
    for (size_t i = 0; i < len; i++) {
        hex_to(want, hex[i]);
        assert_memory_equal(path[i], want, HL);
    }
}

/* ---- hashes and known answers ------------------------------------------- */

static void test_hashes_known_answers(void **state) {
    struct fx *fx = *state;
    hash want, got, l0, labc;
    uint8_t buf[1 + 2 * HL];

    /* H() = BLAKE2b-256("") */
    hex_to(want,
           "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
    ent_merkle_empty_root(got);
    assert_memory_equal(got, want, HL);
    assert_int_equal(ent_merkle_root(0, NULL, NULL, got), ENT_OK);
    assert_memory_equal(got, want, HL);

    /* leaf = H(0x00 || "abc"), node = H(0x01 || leaf("") || leaf("abc")) */
    hex_to(want,
           "4b44b5a5f9e6fafead231e4d609a8e88053a6053c087b68e24e31faf0fb8dfe7");
    ent_merkle_leaf_hash(labc, (const uint8_t *)"abc", 3);
    assert_memory_equal(labc, want, HL);
    ent_merkle_leaf_hash(l0, NULL, 0);
    buf[0] = 0;
    ent_hash(got, buf, 1);
    assert_memory_equal(l0, got, HL);
    hex_to(want,
           "ca265304e610724ae359e68e219582cab3abda4a303ee343cc8a04e3e5245f8c");
    ent_merkle_node_hash(got, l0, labc);
    assert_memory_equal(got, want, HL);
    buf[0] = 1;
    memcpy(buf + 1, l0, HL);
    memcpy(buf + 1 + HL, labc, HL);
    ent_hash(got, buf, sizeof(buf));
    assert_memory_equal(got, want, HL);
    /* the order of the children matters, and out may alias an input */
    ent_merkle_node_hash(got, labc, l0);
    assert_memory_not_equal(got, want, HL);
    memcpy(got, l0, HL);
    ent_merkle_node_hash(got, got, labc);
    assert_memory_equal(got, want, HL);

    /* a leaf is never confused with a node over the same bytes */
    ent_merkle_leaf_hash(got, buf + 1, 2 * HL);
    assert_memory_not_equal(got, want, HL);

    /* roots of D[n] from the independent implementation */
    static const struct {
        size_t n;
        const char *hex;
    } kat[] = {
        {1, "03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314"},
        {2, "dcd7b5113fdfe199a890da4f85681cd287b37d2bed4b4ba881006300f5cc713a"},
        {3, "3921145b962ba878ec8faad1fa4253c68d91f9bb19a51f07663a2c8bfdef6c9f"},
        {4, "9c8b7b9972831f6ac2bab94e068df97d21f83912d73252da6bd01f3f7855d0f1"},
        {5, "0c2c15af51dd0cf64728704550b6f84751902fff3e9bae1e672f3102d730a775"},
        {6, "b9a665310ea633d6edb25fdb04eb5d61c0ae6c556404c2b86b52bfd27a616898"},
        {7, "79386c93ec917c4974370253ed0d719b0ceaefdbc58c5f083dfe673f41c5dac1"},
        {8, "d176fadea5d93471fe090dc0fe99a00177c9ed224a1a0d46e0a639846d081bff"},
        {100,
         "c050980a0ccbda140dc3fafe52dcdf02461c8224028d6f060573e6419b834ba3"},
        {1000,
         "c5f3356a9d4bf20d0df110316e67eee3146f71edf6c6c6f9ebc9065d788b34f8"},
    };
    for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        struct src s = src_for(fx, kat[i].n);
        hex_to(want, kat[i].hex);
        assert_memory_equal(fx->refroot[kat[i].n], want, HL);
        assert_int_equal(ent_merkle_root(kat[i].n, src_leaf, &s, got), ENT_OK);
        assert_memory_equal(got, want, HL);
    }
}

/* The vectors of spec/audit.md section 1.1: d(i) is the single byte i. */
static int byte_leaf(void *data, uint64_t index, uint8_t out[HL]) {
    uint8_t e = (uint8_t)index;
    (void)data;
    ent_merkle_leaf_hash(out, &e, 1);
    return ENT_OK;
}

static void test_spec_vectors(void **state) {
    (void)state;
    hash path[ENT_MERKLE_MAX_PROOF], want, r7, r3, r4, leaf5;
    size_t len;
    static const char *incl[] = {
        "7324cf9181f377b38e2edeca7a080796554246690656566def41afedef911d0d",
        "42cd30b31f9f99c642d94cae5cba9dbb8ead01564e1d5fc116025d9ab276aceb",
        "4c2bb58c2e2afa14f7058e9fe94fba620f8e485288350e7bcc42337a8c18cf90"};
    static const char *cons3[] = {
        "8f1f9fd0816a310a79d0e0c4bf605a544c260c561740bcdeb175ea46f5312890",
        "da71b5a250e13516be21e61457038fe23ba276e5dc9f36bf96430f174f8a4605",
        "47f61e4f4620e9946a8831b8c717a76f36982b82d88e005bc4635a1b21c73eff",
        "b1416ae5d902b04f7d9344de9b7569147424128d23fc01683ba4d5a34aea12c9"};

    assert_int_equal(ent_merkle_root(7, byte_leaf, NULL, r7), ENT_OK);
    hex_to(want,
           "9a32133fb577b45268f6dcb813645347b5955c4b19e56b7474197a31e75a6a5f");
    assert_memory_equal(r7, want, HL);
    assert_int_equal(ent_merkle_root(4, byte_leaf, NULL, r4), ENT_OK);
    hex_to(want,
           "4c2bb58c2e2afa14f7058e9fe94fba620f8e485288350e7bcc42337a8c18cf90");
    assert_memory_equal(r4, want, HL);
    assert_int_equal(ent_merkle_root(3, byte_leaf, NULL, r3), ENT_OK);
    hex_to(want,
           "8926efdc0a3a501b9a98e046861bf1303acf7bd2191f0a5fd21c003c9557c1b9");
    assert_memory_equal(r3, want, HL);
    byte_leaf(NULL, 5, leaf5);
    hex_to(want,
           "cc159e9032fea6fe7e0bef5373fdb171b021be13004b2854f8c7c24732f57643");
    assert_memory_equal(leaf5, want, HL);

    assert_int_equal(ent_merkle_inclusion_proof(5, 7, byte_leaf, NULL, path,
                                                ENT_MERKLE_MAX_PROOF, &len),
                     ENT_OK);
    assert_path_hex((const uint8_t(*)[HL])path, len, incl, 3);
    assert_int_equal(ent_merkle_verify_inclusion(
                         5, 7, leaf5, (const uint8_t(*)[HL])path, len, r7),
                     ENT_OK);

    assert_int_equal(ent_merkle_consistency_proof(3, 7, byte_leaf, NULL, path,
                                                  ENT_MERKLE_MAX_PROOF, &len),
                     ENT_OK);
    assert_path_hex((const uint8_t(*)[HL])path, len, cons3, 4);
    assert_int_equal(ent_merkle_verify_consistency(
                         3, 7, r3, r7, (const uint8_t(*)[HL])path, len),
                     ENT_OK);
    assert_int_equal(ent_merkle_consistency_proof(4, 7, byte_leaf, NULL, path,
                                                  ENT_MERKLE_MAX_PROOF, &len),
                     ENT_OK);
    assert_int_equal(len, 1);
    hex_to(want, cons3[3]);
    assert_memory_equal(path[0], want, HL);
    assert_int_equal(ent_merkle_verify_consistency(
                         4, 7, r4, r7, (const uint8_t(*)[HL])path, len),
                     ENT_OK);

    /* the frontier of 5 leaves encodes as in section 5.1 */
    ent_merkle_frontier f;
    uint8_t enc[ENT_MERKLE_FRONTIER_MAX_LEN];
    assert_int_equal(ent_merkle_frontier_build(&f, 5, byte_leaf, NULL), ENT_OK);
    assert_int_equal(ent_merkle_frontier_encode(&f, enc, sizeof(enc), &len),
                     ENT_OK);
    assert_int_equal(len, 73);
    static const uint8_t hdr[9] = {1, 0, 0, 0, 0, 0, 0, 0, 5};
    assert_memory_equal(enc, hdr, 9);
    assert_memory_equal(enc + 9, r4, HL);
    byte_leaf(NULL, 4, want);
    assert_memory_equal(enc + 9 + HL, want, HL);
}

/* ---- roots and the frontier, every size --------------------------------- */

static void test_roots_and_frontier(void **state) {
    struct fx *fx = *state;
    ent_merkle_frontier f, g, b;
    uint8_t enc[ENT_MERKLE_FRONTIER_MAX_LEN + 1];
    size_t len;
    hash r;

    ent_merkle_frontier_init(&f);
    ent_merkle_frontier_root(&f, r);
    assert_memory_equal(r, fx->refroot[0], HL);
    for (size_t n = 1; n <= NMAX; n++) {
        struct src s = src_for(fx, n);
        assert_int_equal(ent_merkle_root(n, src_leaf, &s, r), ENT_OK);
        assert_memory_equal(r, fx->refroot[n], HL);
        assert_int_equal(s.reads, n); /* each leaf read exactly once */
        assert_false(s.bad_index);

        assert_int_equal(ent_merkle_frontier_append(&f, fx->leaves[n - 1]),
                         ENT_OK);
        assert_int_equal(f.size, n);
        ent_merkle_frontier_root(&f, r);
        assert_memory_equal(r, fx->refroot[n], HL);

        /* encode, decode, and the decoded frontier is the same value */
        assert_int_equal(ent_merkle_frontier_encode(&f, enc, sizeof(enc), &len),
                         ENT_OK);
        assert_int_equal(len, ENT_MERKLE_FRONTIER_HDR_LEN +
                                  HL * (size_t)__builtin_popcountll(n));
        assert_int_equal(len, ent_merkle_frontier_encoded_len(&f));
        assert_int_equal(ent_merkle_frontier_decode(&g, enc, len), ENT_OK);
        assert_memory_equal(&g, &f, sizeof(f));
        /* decode validates the length exactly */
        assert_int_equal(ent_merkle_frontier_decode(&g, enc, len - 1),
                         ENT_ETRUNCATED);
        assert_int_equal(g.size, 0);
        enc[len] = 0;
        assert_int_equal(ent_merkle_frontier_decode(&g, enc, len + 1),
                         ENT_ECORRUPT);
        /* a too small buffer is refused and the size is reported */
        assert_int_equal(ent_merkle_frontier_encode(&f, enc, len - 1, &len),
                         ENT_ETOOBIG);
        assert_int_equal(len, ent_merkle_frontier_encoded_len(&f));

        if (n % 97 == 0 || n <= 70) {
            /* rebuilding from the store gives the same frontier */
            s = src_for(fx, n);
            assert_int_equal(ent_merkle_frontier_build(&b, n, src_leaf, &s),
                             ENT_OK);
            assert_memory_equal(&b, &f, sizeof(f));
        }
    }

    /* a frontier persisted at 333 and resumed reaches the same roots */
    struct src s = src_for(fx, 333);
    assert_int_equal(ent_merkle_frontier_build(&b, 333, src_leaf, &s), ENT_OK);
    assert_int_equal(ent_merkle_frontier_encode(&b, enc, sizeof(enc), &len),
                     ENT_OK);
    assert_int_equal(ent_merkle_frontier_decode(&g, enc, len), ENT_OK);
    for (size_t n = 334; n <= NMAX; n++) {
        assert_int_equal(ent_merkle_frontier_append(&g, fx->leaves[n - 1]),
                         ENT_OK);
        ent_merkle_frontier_root(&g, r);
        assert_memory_equal(r, fx->refroot[n], HL);
    }
}

static void test_frontier_decode_rejects(void **state) {
    (void)state;
    ent_merkle_frontier f;
    uint8_t buf[ENT_MERKLE_FRONTIER_MAX_LEN + 8];
    size_t len;

    memset(buf, 0xab, sizeof(buf));
    assert_int_equal(ent_merkle_frontier_decode(&f, buf, 0), ENT_ETRUNCATED);
    assert_int_equal(ent_merkle_frontier_decode(&f, NULL, 0), ENT_ETRUNCATED);
    assert_int_equal(ent_merkle_frontier_decode(&f, NULL, 5), ENT_EINVAL);

    /* the empty frontier is exactly the 9-byte header */
    memset(buf, 0, 9);
    buf[0] = ENT_MERKLE_FRONTIER_VERSION;
    assert_int_equal(ent_merkle_frontier_decode(&f, buf, 9), ENT_OK);
    assert_int_equal(f.size, 0);
    assert_int_equal(ent_merkle_frontier_decode(&f, buf, 8), ENT_ETRUNCATED);
    buf[0] = 2;
    assert_int_equal(ent_merkle_frontier_decode(&f, buf, 9), ENT_EVERSION);
    buf[0] = 0;
    assert_int_equal(ent_merkle_frontier_decode(&f, buf, 9), ENT_EVERSION);

    /* size 2^63 + 1 is over the limit, 2^63 is the limit */
    buf[0] = ENT_MERKLE_FRONTIER_VERSION;
    buf[1] = 0x80;
    buf[8] = 0x01;
    assert_int_equal(ent_merkle_frontier_decode(&f, buf, 9 + 2 * HL),
                     ENT_ECORRUPT);
    buf[8] = 0x00;
    assert_int_equal(ent_merkle_frontier_decode(&f, buf, 9 + HL), ENT_OK);
    assert_int_equal(f.size, ENT_MERKLE_MAX_SIZE);
    hash leaf = {1};
    assert_int_equal(ent_merkle_frontier_append(&f, leaf), ENT_ELIMIT);
    assert_int_equal(f.size, ENT_MERKLE_MAX_SIZE);

    /* 2^63 - 1 leaves: 63 subtrees; one more append merges them all */
    memset(buf + 1, 0xff, 8);
    buf[1] = 0x7f;
    assert_int_equal(ent_merkle_frontier_decode(&f, buf, 9 + 63 * HL), ENT_OK);
    assert_int_equal(ent_merkle_frontier_decode(&f, buf, 9 + 64 * HL),
                     ENT_ECORRUPT);
    assert_int_equal(ent_merkle_frontier_decode(&f, buf, 9 + 62 * HL),
                     ENT_ETRUNCATED);
    assert_int_equal(ent_merkle_frontier_decode(&f, buf, 9 + 63 * HL), ENT_OK);
    hash fold;
    memcpy(fold, buf + 9 + 62 * HL, HL);
    ent_merkle_node_hash(fold, fold, leaf);
    for (int i = 61; i >= 0; i--)
        ent_merkle_node_hash(fold, buf + 9 + (size_t)i * HL, fold);
    assert_int_equal(ent_merkle_frontier_append(&f, leaf), ENT_OK);
    assert_int_equal(f.size, ENT_MERKLE_MAX_SIZE);
    assert_memory_equal(f.hashes[0], fold, HL);
    hash r;
    ent_merkle_frontier_root(&f, r);
    assert_memory_equal(r, fold, HL);
    assert_int_equal(ent_merkle_frontier_encode(&f, buf, sizeof(buf), &len),
                     ENT_OK);
    assert_int_equal(len, 9 + HL);

    /* an invalid value is not encoded */
    f.size = ENT_MERKLE_MAX_SIZE + 1;
    assert_int_equal(ent_merkle_frontier_encode(&f, buf, sizeof(buf), &len),
                     ENT_EINVAL);
}

/* ---- inclusion proofs -----------------------------------------------------
 */

static int incl(uint64_t index, uint64_t n, const uint8_t leaf[HL],
                const struct refproof *p, size_t len, const uint8_t root[HL]) {
    return ent_merkle_verify_inclusion(index, n, leaf,
                                       (const uint8_t(*)[HL])p->h, len, root);
}

/* Everything about the inclusion proof of index in D[n]. */
static void check_inclusion(struct fx *fx, size_t index, size_t n,
                            int all_bytes) {
    struct refproof ref, got, other;
    size_t len;
    const uint8_t *leaf = fx->leaves[index];
    const uint8_t *root = fx->refroot[n];

    ref.len = 0;
    ref.shape_only = 0;
    ref_path(fx, index, 0, n, &ref);

    struct src s = src_for(fx, n);
    assert_int_equal(ent_merkle_inclusion_proof(index, n, src_leaf, &s, got.h,
                                                ENT_MERKLE_MAX_PROOF, &len),
                     ENT_OK);
    assert_false(s.bad_index);
    assert_int_equal(s.reads, n - 1); /* every leaf but this one, once */
    assert_int_equal(len, ref.len);
    assert_memory_equal(got.h, ref.h, len * HL);
    size_t plen;
    assert_int_equal(ent_merkle_inclusion_proof_len(index, n, &plen), ENT_OK);
    assert_int_equal(plen, len);

    assert_int_equal(incl(index, n, leaf, &ref, len, root), ENT_OK);

    /* every flipped byte of every hash */
    for (size_t i = 0; i < len; i++) {
        for (size_t b = 0; b < HL; b++) {
            if (!all_bytes && b != 0 && b != HL - 1 && b != i % HL)
                continue;
            ref.h[i][b] ^= 0x01;
            assert_int_equal(incl(index, n, leaf, &ref, len, root),
                             ENT_ECORRUPT);
            ref.h[i][b] ^= 0x01;
        }
    }
    /* the leaf, the root */
    hash x;
    memcpy(x, leaf, HL);
    x[HL - 1] ^= 0x80;
    assert_int_equal(incl(index, n, x, &ref, len, root), ENT_ECORRUPT);
    if (n > 1)
        assert_int_equal(
            incl(index, n,
                 fx->leaves[(index ^ 1) < n ? (index ^ 1) : index - 1], &ref,
                 len, root),
            ENT_ECORRUPT);
    memcpy(x, root, HL);
    x[rnd(fx) % HL] ^= 0x10;
    assert_int_equal(incl(index, n, leaf, &ref, len, x), ENT_ECORRUPT);
    if (n < NMAX)
        assert_int_equal(incl(index, n, leaf, &ref, len, fx->refroot[n + 1]),
                         ENT_ECORRUPT);
    assert_int_equal(incl(index, n, leaf, &ref, len, fx->refroot[n - 1]),
                     ENT_ECORRUPT);

    /* other indexes of the same tree never verify */
    uint64_t idx[] = {index + 1,   index - 1, index ^ 1, index ^ 2,
                      rnd(fx) % n, 0,         n - 1};
    for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
        if (idx[i] == index || idx[i] >= n)
            continue;
        assert_int_equal(incl(idx[i], n, leaf, &ref, len, root), ENT_ECORRUPT);
    }
    /* indexes outside the tree are refused outright */
    assert_int_equal(incl(n, n, leaf, &ref, len, root), ENT_EINVAL);
    assert_int_equal(incl(UINT64_MAX, n, leaf, &ref, len, root), ENT_EINVAL);

    /* other sizes: the proof verifies against the same root only when the
     * walk is the same (the size is authenticated by the signed tree head,
     * not by the root); otherwise it must fail */
    uint64_t sizes[] = {n + 1,    n - 1, n + 2, 2 * n, n + 1 + rnd(fx) % 64,
                        index + 1};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint64_t n2 = sizes[i];
        if (n2 == n || n2 <= index || n2 > NMAX)
            continue;
        other.len = 0;
        other.shape_only = 1;
        ref_path(fx, index, 0, n2, &other);
        assert_int_equal(incl(index, n2, leaf, &ref, len, root),
                         same_shape(&ref, &other) ? ENT_OK : ENT_ECORRUPT);
    }

    /* truncated and extended proofs */
    for (size_t l = 0; l < len; l++)
        assert_int_equal(incl(index, n, leaf, &ref, l, root), ENT_ECORRUPT);
    memcpy(ref.h[len], root, HL);
    assert_int_equal(incl(index, n, leaf, &ref, len + 1, root), ENT_ECORRUPT);
    if (len > 0) {
        memcpy(ref.h[len], ref.h[len - 1], HL);
        assert_int_equal(incl(index, n, leaf, &ref, len + 1, root),
                         ENT_ECORRUPT);
    }
    assert_int_equal(incl(index, n, leaf, &ref, ENT_MERKLE_MAX_PROOF + 1, root),
                     ENT_EINVAL);
}

static void test_inclusion_every_size(void **state) {
    struct fx *fx = *state;
    for (size_t n = 1; n <= NMAX; n++) {
        if (n <= FULL) {
            for (size_t i = 0; i < n; i++)
                check_inclusion(fx, i, n, 1);
        } else {
            size_t fixed[] = {0, n - 1, n / 2};
            for (size_t i = 0; i < 3; i++)
                check_inclusion(fx, fixed[i], n, 0);
            for (int i = 0; i < 8; i++)
                check_inclusion(fx, rnd(fx) % n, n, 0);
        }
    }
}

/* ---- consistency proofs ---------------------------------------------------
 */

static int cons(uint64_t m, uint64_t n, const uint8_t rm[HL],
                const uint8_t rn[HL], const struct refproof *p, size_t len) {
    return ent_merkle_verify_consistency(m, n, rm, rn,
                                         (const uint8_t(*)[HL])p->h, len);
}

static void check_consistency(struct fx *fx, size_t m, size_t n,
                              int all_bytes) {
    struct refproof ref, got, other;
    size_t len, plen;
    const uint8_t *rm = fx->refroot[m];
    const uint8_t *rn = fx->refroot[n];

    ref.shape_only = 0;
    ref_proof(fx, m, n, &ref);
    struct src s = src_for(fx, n);
    assert_int_equal(ent_merkle_consistency_proof(m, n, src_leaf, &s, got.h,
                                                  ENT_MERKLE_MAX_PROOF, &len),
                     ENT_OK);
    assert_false(s.bad_index);
    assert_true(s.reads <= n);
    assert_int_equal(len, ref.len);
    assert_memory_equal(got.h, ref.h, len * HL);
    assert_int_equal(ent_merkle_consistency_proof_len(m, n, &plen), ENT_OK);
    assert_int_equal(plen, len);

    assert_int_equal(cons(m, n, rm, rn, &ref, len), ENT_OK);

    if (m == n) {
        /* the trivial proof: empty, and the roots must be equal */
        assert_int_equal(len, 0);
        memcpy(ref.h[0], rn, HL);
        assert_int_equal(cons(m, n, rm, rn, &ref, 1), ENT_ECORRUPT);
        if (n > 1)
            assert_int_equal(cons(m, n, fx->refroot[n - 1], rn, &ref, 0),
                             ENT_ECORRUPT);
        return;
    }

    for (size_t i = 0; i < len; i++) {
        for (size_t b = 0; b < HL; b++) {
            if (!all_bytes && b != 0 && b != HL - 1 && b != i % HL)
                continue;
            ref.h[i][b] ^= 0x04;
            assert_int_equal(cons(m, n, rm, rn, &ref, len), ENT_ECORRUPT);
            ref.h[i][b] ^= 0x04;
        }
    }
    /* the roots */
    hash x;
    memcpy(x, rm, HL);
    x[rnd(fx) % HL] ^= 0x02;
    assert_int_equal(cons(m, n, x, rn, &ref, len), ENT_ECORRUPT);
    memcpy(x, rn, HL);
    x[rnd(fx) % HL] ^= 0x02;
    assert_int_equal(cons(m, n, rm, x, &ref, len), ENT_ECORRUPT);
    assert_int_equal(cons(m, n, rn, rm, &ref, len), ENT_ECORRUPT);
    assert_int_equal(cons(m, n, rm, rm, &ref, len), ENT_ECORRUPT);
    if (n < NMAX)
        assert_int_equal(cons(m, n, rm, fx->refroot[n + 1], &ref, len),
                         ENT_ECORRUPT);

    /* other sizes: accepted only when the walk is the same */
    uint64_t olds[] = {m + 1, m - 1, m * 2, (m + n) / 2, 1 + rnd(fx) % n};
    for (size_t i = 0; i < sizeof(olds) / sizeof(olds[0]); i++) {
        uint64_t m2 = olds[i];
        if (m2 == m || m2 == 0 || m2 > n)
            continue;
        other.shape_only = 1;
        ref_proof(fx, m2, n, &other);
        assert_int_equal(cons(m2, n, rm, rn, &ref, len),
                         same_shape(&ref, &other) ? ENT_OK : ENT_ECORRUPT);
    }
    uint64_t news[] = {n + 1, n - 1, n + 2, 2 * n, n + 1 + rnd(fx) % 64};
    for (size_t i = 0; i < sizeof(news) / sizeof(news[0]); i++) {
        uint64_t n2 = news[i];
        if (n2 == n || n2 < m || n2 > NMAX)
            continue;
        other.shape_only = 1;
        ref_proof(fx, m, n2, &other);
        int want = same_shape(&ref, &other) ? ENT_OK : ENT_ECORRUPT;
        if (n2 == m) /* the trivial case needs an empty proof */
            want = ENT_ECORRUPT;
        assert_int_equal(cons(m, n2, rm, rn, &ref, len), want);
    }
    /* impossible claims */
    assert_int_equal(cons(0, n, rm, rn, &ref, len), ENT_EINVAL);
    assert_int_equal(cons(n + 1, n, rm, rn, &ref, len), ENT_EINVAL);
    assert_int_equal(cons(m, ENT_MERKLE_MAX_SIZE + 1, rm, rn, &ref, len),
                     ENT_EINVAL);

    /* truncated and extended proofs */
    for (size_t l = 0; l < len; l++)
        assert_int_equal(cons(m, n, rm, rn, &ref, l), ENT_ECORRUPT);
    memcpy(ref.h[len], rn, HL);
    assert_int_equal(cons(m, n, rm, rn, &ref, len + 1), ENT_ECORRUPT);
    memcpy(ref.h[len], ref.h[len - 1], HL);
    assert_int_equal(cons(m, n, rm, rn, &ref, len + 1), ENT_ECORRUPT);
    assert_int_equal(cons(m, n, rm, rn, &ref, ENT_MERKLE_MAX_PROOF + 1),
                     ENT_EINVAL);
}

static void test_consistency_every_size(void **state) {
    struct fx *fx = *state;
    for (size_t n = 1; n <= NMAX; n++) {
        if (n <= FULL) {
            for (size_t m = 1; m <= n; m++)
                check_consistency(fx, m, n, 1);
        } else {
            size_t pow2 = 1;
            while (pow2 * 2 <= n)
                pow2 *= 2;
            size_t fixed[] = {1, 2, n / 2, n - 1, n, pow2, pow2 - 1, pow2 + 1};
            for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
                if (fixed[i] <= n)
                    check_consistency(fx, fixed[i], n, 0);
            for (int i = 0; i < 4; i++)
                check_consistency(fx, 1 + rnd(fx) % n, n, 0);
        }
    }
}

/* ---- arguments, accessor errors, limits -----------------------------------
 */

static void test_arguments_and_errors(void **state) {
    struct fx *fx = *state;
    hash path[ENT_MERKLE_MAX_PROOF], r;
    size_t len = 12345;

    /* index and sizes */
    struct src s = src_for(fx, 10);
    assert_int_equal(ent_merkle_inclusion_proof(10, 10, src_leaf, &s, path,
                                                ENT_MERKLE_MAX_PROOF, &len),
                     ENT_EINVAL);
    assert_int_equal(ent_merkle_inclusion_proof(0, 0, src_leaf, &s, path,
                                                ENT_MERKLE_MAX_PROOF, &len),
                     ENT_EINVAL);
    assert_int_equal(ent_merkle_consistency_proof(0, 10, src_leaf, &s, path,
                                                  ENT_MERKLE_MAX_PROOF, &len),
                     ENT_EINVAL);
    assert_int_equal(ent_merkle_consistency_proof(11, 10, src_leaf, &s, path,
                                                  ENT_MERKLE_MAX_PROOF, &len),
                     ENT_EINVAL);
    assert_int_equal(ent_merkle_root(ENT_MERKLE_MAX_SIZE + 1, src_leaf, &s, r),
                     ENT_EINVAL);
    assert_int_equal(ent_merkle_root(3, NULL, NULL, r), ENT_EINVAL);
    assert_int_equal(s.reads, 0);

    /* a small buffer: ENT_ETOOBIG, the needed length, nothing read */
    assert_int_equal(
        ent_merkle_inclusion_proof(3, 10, src_leaf, &s, path, 3, &len),
        ENT_ETOOBIG);
    assert_int_equal(len, 4);
    assert_int_equal(
        ent_merkle_consistency_proof(3, 10, src_leaf, &s, NULL, 0, &len),
        ENT_ETOOBIG);
    assert_int_equal(len, 5); /* leaf 2, leaf 3, [0,2), [4,8), [8,10) */
    assert_int_equal(s.reads, 0);
    assert_int_equal(
        ent_merkle_consistency_proof(10, 10, src_leaf, &s, NULL, 0, &len),
        ENT_OK);
    assert_int_equal(len, 0);

    /* the accessor's error comes back unchanged */
    s = src_for(fx, 10);
    s.fail_at = 7;
    assert_int_equal(ent_merkle_root(10, src_leaf, &s, r), ENT_ESTORAGE);
    s = src_for(fx, 10);
    s.fail_at = 7;
    assert_int_equal(ent_merkle_inclusion_proof(3, 10, src_leaf, &s, path,
                                                ENT_MERKLE_MAX_PROOF, &len),
                     ENT_ESTORAGE);
    s = src_for(fx, 10);
    s.fail_at = 2;
    assert_int_equal(ent_merkle_consistency_proof(3, 10, src_leaf, &s, path,
                                                  ENT_MERKLE_MAX_PROOF, &len),
                     ENT_ESTORAGE);
    ent_merkle_frontier f;
    s = src_for(fx, 10);
    s.fail_at = 9;
    assert_int_equal(ent_merkle_frontier_build(&f, 10, src_leaf, &s),
                     ENT_ESTORAGE);
    assert_int_equal(f.size, 0);

    /* NULL proof with a length */
    assert_int_equal(ent_merkle_verify_inclusion(0, 2, fx->leaves[0], NULL, 1,
                                                 fx->refroot[2]),
                     ENT_EINVAL);
    assert_int_equal(ent_merkle_verify_consistency(1, 2, fx->refroot[1],
                                                   fx->refroot[2], NULL, 1),
                     ENT_EINVAL);
    /* a one-leaf tree: empty path, root is the leaf hash */
    assert_int_equal(ent_merkle_verify_inclusion(0, 1, fx->leaves[0], NULL, 0,
                                                 fx->refroot[1]),
                     ENT_OK);
    assert_memory_equal(fx->leaves[0], fx->refroot[1], HL);
}

/*
 * The largest trees: proofs for 2^63 leaves have 63 (inclusion) and 64
 * (consistency) hashes and verify; one more leaf is refused. The proofs are
 * built by hand from arbitrary hashes, folded the way the tree defines.
 */
static void test_limits(void **state) {
    struct fx *fx = *state;
    const uint64_t max = ENT_MERKLE_MAX_SIZE;
    hash path[ENT_MERKLE_MAX_PROOF + 1], root, leaf, fr;
    size_t len;

    for (size_t i = 0; i <= ENT_MERKLE_MAX_PROOF; i++)
        ent_merkle_leaf_hash(path[i], (const uint8_t *)&i, sizeof(i));
    memcpy(leaf, fx->leaves[5], HL);

    assert_int_equal(ent_merkle_inclusion_proof_len(0, max, &len), ENT_OK);
    assert_int_equal(len, 63);
    assert_int_equal(ent_merkle_inclusion_proof_len(0, max + 1, &len),
                     ENT_EINVAL);
    assert_int_equal(ent_merkle_consistency_proof_len(max - 1, max, &len),
                     ENT_OK);
    assert_int_equal(len, ENT_MERKLE_MAX_PROOF);
    assert_int_equal(ent_merkle_consistency_proof_len(max / 2 + 1, max, &len),
                     ENT_OK);
    /* the left half, 62 right siblings down to leaf 2^62, and that leaf */
    assert_int_equal(len, ENT_MERKLE_MAX_PROOF);

    /* leftmost leaf: every sibling is on the right */
    memcpy(root, leaf, HL);
    for (int i = 0; i < 63; i++)
        ent_merkle_node_hash(root, root, path[i]);
    assert_int_equal(ent_merkle_verify_inclusion(
                         0, max, leaf, (const uint8_t(*)[HL])path, 63, root),
                     ENT_OK);
    assert_int_equal(ent_merkle_verify_inclusion(
                         1, max, leaf, (const uint8_t(*)[HL])path, 63, root),
                     ENT_ECORRUPT);
    assert_int_equal(ent_merkle_verify_inclusion(0, max + 1, leaf,
                                                 (const uint8_t(*)[HL])path, 63,
                                                 root),
                     ENT_EINVAL);
    /* rightmost leaf: every sibling is on the left */
    memcpy(root, leaf, HL);
    for (int i = 0; i < 63; i++)
        ent_merkle_node_hash(root, path[i], root);
    assert_int_equal(ent_merkle_verify_inclusion(max - 1, max, leaf,
                                                 (const uint8_t(*)[HL])path, 63,
                                                 root),
                     ENT_OK);

    /* consistency from 2^63 - 1 to 2^63 (the RFC's walk): */
    /* path[0] = the old tree's last leaf hash, path[1] = the new last leaf,
     * then the left siblings of the sizes 2, 4, ..., 2^62 */
    memcpy(fr, path[0], HL);
    memcpy(root, path[0], HL);
    ent_merkle_node_hash(root, root, path[1]);
    for (int i = 2; i < 64; i++) {
        ent_merkle_node_hash(fr, path[i], fr);
        ent_merkle_node_hash(root, path[i], root);
    }
    assert_int_equal(ent_merkle_verify_consistency(max - 1, max, fr, root,
                                                   (const uint8_t(*)[HL])path,
                                                   64),
                     ENT_OK);
    assert_int_equal(ent_merkle_verify_consistency(max - 1, max, fr, root,
                                                   (const uint8_t(*)[HL])path,
                                                   63),
                     ENT_ECORRUPT);
    assert_int_equal(ent_merkle_verify_consistency(max - 1, max, fr, root,
                                                   (const uint8_t(*)[HL])path,
                                                   65),
                     ENT_EINVAL);
}

/* Kept subtrees (spec/audit.md §4.3): every subtree that appending leaf
 * i completes, from ent_merkle_frontier_completed, kept in a table; the
 * _ex proofs read them and must equal the proofs from the leaves, hash
 * for hash, with all, with none, and with only levels >= 3 kept. */
#define KEEP_N 300
struct kept {
    uint8_t h[10][KEEP_N][HL]; /* level 1..9 */
    bool have[10][KEEP_N];
    uint8_t leaf[KEEP_N + 1][HL]; /* leaf hashes, made once */
    bool leaf_made;
    unsigned min_level;
    uint64_t sub_reads, leaf_reads;
};

static int kept_put(void *data, unsigned level, uint64_t index,
                    const uint8_t h[HL]) {
    struct kept *k = data;
    if (level >= 10 || index >= KEEP_N || k->have[level][index])
        return ENT_ECORRUPT; /* each subtree completes exactly once */
    memcpy(k->h[level][index], h, HL);
    k->have[level][index] = true;
    return 0;
}

static int kept_get(void *data, unsigned level, uint64_t index,
                    uint8_t out[HL]) {
    struct kept *k = data;
    if (level == 0 || level >= 10 || index >= KEEP_N)
        return ENT_EINVAL;
    if (level < k->min_level || !k->have[level][index])
        return ENT_ENOENT;
    k->sub_reads++;
    memcpy(out, k->h[level][index], HL);
    return ENT_OK;
}

static int kept_leaf(void *data, uint64_t index, uint8_t out[HL]) {
    struct kept *k = data;
    k->leaf_reads++;
    if (index > KEEP_N)
        return ENT_EINVAL;
    if (!k->leaf_made) {
        for (uint64_t i = 0; i <= KEEP_N; i++) {
            uint8_t e[8];
            memcpy(e, &i, 8);
            ent_merkle_leaf_hash(k->leaf[i], e, 8);
        }
        k->leaf_made = true;
    }
    memcpy(out, k->leaf[index], HL);
    return ENT_OK;
}

typedef int (*proof_fn)(uint64_t, uint64_t, ent_merkle_leaf_fn, void *,
                        uint8_t (*)[HL], size_t, size_t *);
typedef int (*proof_ex_fn)(uint64_t, uint64_t, ent_merkle_leaf_fn,
                           ent_merkle_subtree_fn, void *, uint8_t (*)[HL],
                           size_t, size_t *);

/* The proof of (x, n) from the leaves does not depend on what is kept:
 * made once, compared with the _ex proof at each kept level. */
static void same_at_every_level(struct kept *k, proof_fn plain, proof_ex_fn ex,
                                uint64_t x, uint64_t n) {
    uint8_t a[ENT_MERKLE_MAX_PROOF][HL], b[ENT_MERKLE_MAX_PROOF][HL];
    size_t la, lb;
    assert_int_equal(plain(x, n, kept_leaf, k, b, ENT_MERKLE_MAX_PROOF, &lb),
                     ENT_OK);
    for (unsigned min = 1; min <= 10; min += 2) {
        k->min_level = min;
        assert_int_equal(
            ex(x, n, kept_leaf, kept_get, k, a, ENT_MERKLE_MAX_PROOF, &la),
            ENT_OK);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la * HL);
    }
}

static void test_kept_subtrees(void **state) {
    (void)state;
    struct kept *k = calloc(1, sizeof(*k));
    ent_merkle_frontier f;
    uint8_t leaf[HL], root[HL], want[HL];
    uint8_t a[ENT_MERKLE_MAX_PROOF][HL];
    size_t la;
    assert_non_null(k);
    ent_merkle_frontier_init(&f);
    for (uint64_t i = 0; i < KEEP_N; i++) {
        kept_leaf(k, i, leaf);
        assert_int_equal(ent_merkle_frontier_completed(&f, leaf, kept_put, k),
                         0);
        assert_int_equal(ent_merkle_frontier_append(&f, leaf), ENT_OK);
        /* a perfect tree's root is its one kept subtree */
        uint64_t n = i + 1;
        if ((n & (n - 1)) == 0 && n > 1) {
            unsigned l = 0;
            while ((UINT64_C(1) << l) < n)
                l++;
            ent_merkle_frontier_root(&f, root);
            assert_true(k->have[l][0]);
            assert_memory_equal(k->h[l][0], root, HL);
        }
    }
    for (uint64_t n = 1; n <= KEEP_N; n++) {
        for (uint64_t m = 1; m <= n; m += (n > 40 ? 7 : 1))
            same_at_every_level(k, ent_merkle_consistency_proof,
                                ent_merkle_consistency_proof_ex, m, n);
        for (uint64_t i = 0; i < n; i += (n > 40 ? 5 : 1))
            same_at_every_level(k, ent_merkle_inclusion_proof,
                                ent_merkle_inclusion_proof_ex, i, n);
    }
    /* with every level kept, the proof of 1 -> 256 reads no leaf but one */
    k->min_level = 1;
    k->leaf_reads = k->sub_reads = 0;
    assert_int_equal(ent_merkle_consistency_proof_ex(1, 256, kept_leaf,
                                                     kept_get, k, a,
                                                     ENT_MERKLE_MAX_PROOF,
                                                     &la),
                     ENT_OK);
    assert_int_equal(la, 8);
    assert_int_equal(k->leaf_reads, 1);
    assert_int_equal(k->sub_reads, 7);
    assert_int_equal(ent_merkle_root(256, kept_leaf, k, want), ENT_OK);
    kept_leaf(k, 0, root); /* the root of the tree of one leaf */
    assert_int_equal(ent_merkle_verify_consistency(1, 256, root, want,
                                                   (const uint8_t(*)[HL])a,
                                                   la),
                     ENT_OK);
    free(k);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashes_known_answers),
        cmocka_unit_test(test_spec_vectors),
        cmocka_unit_test(test_roots_and_frontier),
        cmocka_unit_test(test_frontier_decode_rejects),
        cmocka_unit_test(test_inclusion_every_size),
        cmocka_unit_test(test_consistency_every_size),
        cmocka_unit_test(test_arguments_and_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_kept_subtrees),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
