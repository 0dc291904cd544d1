/*
 * merkle.c - the RFC 9162 Merkle tree of the activity log.
 *
 * Proof generation works top-down on the binary decomposition of the tree
 * (the recursion of RFC 9162 sections 2.1.3.1 and 2.1.4.1 unrolled): it
 * first lists the leaf ranges whose subtree hashes form the proof, without
 * reading anything, then hashes each range with a frontier. The ranges are
 * disjoint, so one proof reads each leaf at most once: O(n) hashes. The
 * _ex variants take each range from the perfect subtrees it splits into,
 * read through a subtree accessor where the caller keeps them (the
 * activity log keeps every subtree of 16 leaves or more): O(log n) reads.
 *
 * The verifiers follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step;
 * the step numbers in the comments are the RFC's.
 */
#include "crypto/merkle.h"

#include <string.h>

#include <sodium.h>

#include "node/err.h"

_Static_assert(ENT_MERKLE_HASH_LEN == crypto_generichash_BYTES, "hash size");

#define HLEN ENT_MERKLE_HASH_LEN

/* A run of leaves [lo, lo + count) whose subtree hash is one proof entry. */
struct range {
    uint64_t lo;
    uint64_t count;
};

void ent_merkle_leaf_hash(uint8_t out[HLEN], const uint8_t *entry, size_t len) {
    static const uint8_t prefix = 0x00;
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, HLEN);
    crypto_generichash_update(&st, &prefix, 1);
    if (len > 0)
        crypto_generichash_update(&st, entry, len);
    crypto_generichash_final(&st, out, HLEN);
}

void ent_merkle_node_hash(uint8_t out[HLEN], const uint8_t left[HLEN],
                          const uint8_t right[HLEN]) {
    static const uint8_t prefix = 0x01;
    crypto_generichash_state st;

    /* out may alias left or right: it is written only by final. */
    crypto_generichash_init(&st, NULL, 0, HLEN);
    crypto_generichash_update(&st, &prefix, 1);
    crypto_generichash_update(&st, left, HLEN);
    crypto_generichash_update(&st, right, HLEN);
    crypto_generichash_final(&st, out, HLEN);
}

void ent_merkle_empty_root(uint8_t out[HLEN]) {
    crypto_generichash(out, HLEN, NULL, 0, NULL, 0);
}

/* The largest power of two strictly less than size (size >= 2): RFC k. */
static uint64_t split_point(uint64_t size) {
    return UINT64_C(1) << (63 - __builtin_clzll(size - 1));
}

static unsigned popcount64(uint64_t x) {
    return (unsigned)__builtin_popcountll(x);
}

/* ---- frontier ------------------------------------------------------------ */

void ent_merkle_frontier_init(ent_merkle_frontier *f) {
    memset(f, 0, sizeof(*f));
}

/*
 * Appends without the size limit check (callers check). The trailing one
 * bits of size are the perfect subtrees that the new leaf completes: each
 * merges with the new hash, smallest first, and the result is pushed.
 */
static void frontier_push(ent_merkle_frontier *f, const uint8_t leaf[HLEN]) {
    uint8_t h[HLEN];
    uint64_t n = f->size;
    unsigned k = popcount64(n);

    memcpy(h, leaf, HLEN);
    while (n & 1) {
        k--;
        ent_merkle_node_hash(h, f->hashes[k], h);
        memset(f->hashes[k], 0, HLEN);
        n >>= 1;
    }
    memcpy(f->hashes[k], h, HLEN);
    f->size++;
}

int ent_merkle_frontier_append(ent_merkle_frontier *f,
                               const uint8_t leaf[HLEN]) {
    if (f == NULL || leaf == NULL)
        return ENT_EINVAL;
    if (f->size >= ENT_MERKLE_MAX_SIZE)
        return ENT_ELIMIT;
    frontier_push(f, leaf);
    return ENT_OK;
}

/* The root folds the subtree hashes from the right: the smallest subtree is
 * the right child of the next larger one, as in MTH's decomposition. */
void ent_merkle_frontier_root(const ent_merkle_frontier *f, uint8_t out[HLEN]) {
    unsigned k = popcount64(f->size);
    uint8_t r[HLEN];

    if (k == 0) {
        ent_merkle_empty_root(out);
        return;
    }
    memcpy(r, f->hashes[k - 1], HLEN);
    for (unsigned i = k - 1; i-- > 0;)
        ent_merkle_node_hash(r, f->hashes[i], r);
    memcpy(out, r, HLEN);
}

/* Root of the leaves [lo, lo + count), count >= 1, read through fn. */
static int range_root(ent_merkle_leaf_fn fn, void *data, uint64_t lo,
                      uint64_t count, uint8_t out[HLEN]) {
    ent_merkle_frontier f;
    uint8_t leaf[HLEN];
    int rc = ENT_OK;

    ent_merkle_frontier_init(&f);
    for (uint64_t i = 0; i < count; i++) {
        rc = fn(data, lo + i, leaf);
        if (rc != ENT_OK)
            goto out;
        frontier_push(&f, leaf);
    }
    ent_merkle_frontier_root(&f, out);
out:
    return rc;
}

int ent_merkle_frontier_build(ent_merkle_frontier *f, uint64_t n,
                              ent_merkle_leaf_fn fn, void *data) {
    uint8_t leaf[HLEN];
    int rc = ENT_OK;

    if (f == NULL)
        return ENT_EINVAL;
    ent_merkle_frontier_init(f);
    if (n > ENT_MERKLE_MAX_SIZE || (n > 0 && fn == NULL))
        return ENT_EINVAL;
    for (uint64_t i = 0; i < n; i++) {
        rc = fn(data, i, leaf);
        if (rc != ENT_OK)
            goto out;
        frontier_push(f, leaf);
    }
out:
    if (rc != ENT_OK)
        ent_merkle_frontier_init(f);
    return rc;
}

size_t ent_merkle_frontier_encoded_len(const ent_merkle_frontier *f) {
    return ENT_MERKLE_FRONTIER_HDR_LEN + (size_t)popcount64(f->size) * HLEN;
}

int ent_merkle_frontier_encode(const ent_merkle_frontier *f, uint8_t *buf,
                               size_t cap, size_t *len) {
    size_t need;

    if (f == NULL || len == NULL || (buf == NULL && cap > 0))
        return ENT_EINVAL;
    if (f->size > ENT_MERKLE_MAX_SIZE)
        return ENT_EINVAL;
    need = ent_merkle_frontier_encoded_len(f);
    *len = need;
    if (cap < need)
        return ENT_ETOOBIG;
    buf[0] = ENT_MERKLE_FRONTIER_VERSION;
    for (int i = 0; i < 8; i++)
        buf[1 + i] = (uint8_t)(f->size >> (56 - 8 * i));
    memcpy(buf + ENT_MERKLE_FRONTIER_HDR_LEN, f->hashes,
           need - ENT_MERKLE_FRONTIER_HDR_LEN);
    return ENT_OK;
}

int ent_merkle_frontier_decode(ent_merkle_frontier *f, const uint8_t *buf,
                               size_t len) {
    uint64_t size = 0;
    size_t need;
    int rc = ENT_OK;

    if (f == NULL)
        return ENT_EINVAL;
    ent_merkle_frontier_init(f);
    if (buf == NULL && len > 0)
        return ENT_EINVAL;
    if (len < ENT_MERKLE_FRONTIER_HDR_LEN) {
        rc = ENT_ETRUNCATED;
        goto out;
    }
    if (buf[0] != ENT_MERKLE_FRONTIER_VERSION) {
        rc = ENT_EVERSION;
        goto out;
    }
    for (int i = 0; i < 8; i++)
        size = (size << 8) | buf[1 + i];
    if (size > ENT_MERKLE_MAX_SIZE) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    need = ENT_MERKLE_FRONTIER_HDR_LEN + (size_t)popcount64(size) * HLEN;
    if (len < need) {
        rc = ENT_ETRUNCATED;
        goto out;
    }
    if (len > need) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    f->size = size;
    memcpy(f->hashes, buf + ENT_MERKLE_FRONTIER_HDR_LEN,
           need - ENT_MERKLE_FRONTIER_HDR_LEN);
out:
    if (rc != ENT_OK)
        ent_merkle_frontier_init(f);
    return rc;
}

/* ---- roots and proofs ---------------------------------------------------- */

int ent_merkle_root(uint64_t n, ent_merkle_leaf_fn fn, void *data,
                    uint8_t root[HLEN]) {
    if (root == NULL || n > ENT_MERKLE_MAX_SIZE || (n > 0 && fn == NULL))
        return ENT_EINVAL;
    if (n == 0) {
        ent_merkle_empty_root(root);
        return ENT_OK;
    }
    return range_root(fn, data, 0, n, root);
}

/*
 * PATH(index, D[n]) unrolled: walking down from the root, each level adds
 * the subtree on the other side of index. The RFC appends that sibling
 * after the deeper part of the path, so the list is reversed at the end.
 * Returns the number of ranges (at most 63 for n <= 2^63).
 */
static size_t inclusion_ranges(uint64_t index, uint64_t n,
                               struct range out[ENT_MERKLE_MAX_PROOF]) {
    struct range down[ENT_MERKLE_MAX_PROOF];
    uint64_t lo = 0;
    size_t len = 0;

    while (n > 1) {
        uint64_t k = split_point(n);
        if (index < k) {
            down[len++] = (struct range){lo + k, n - k};
            n = k;
        } else {
            down[len++] = (struct range){lo, k};
            lo += k;
            index -= k;
            n -= k;
        }
    }
    for (size_t i = 0; i < len; i++)
        out[i] = down[len - 1 - i];
    return len;
}

/*
 * PROOF(m, D[n]) = SUBPROOF(m, D[n], true) unrolled. Walking down while the
 * old tree's right edge (m) is inside the current subtree: m <= k goes
 * left (the right subtree is a sibling), m > k goes right (the left subtree
 * is a sibling and b becomes false). When m equals the subtree size the
 * walk stops, and the subtree itself is the deepest proof entry unless b is
 * still true (then the verifier knows it: it is root_m). Returns the number
 * of ranges (at most 64 for n <= 2^63).
 */
static size_t consistency_ranges(uint64_t m, uint64_t n,
                                 struct range out[ENT_MERKLE_MAX_PROOF]) {
    struct range down[ENT_MERKLE_MAX_PROOF];
    uint64_t lo = 0;
    size_t len = 0, o = 0;
    int b = 1;

    while (m != n) {
        uint64_t k = split_point(n);
        if (m <= k) {
            down[len++] = (struct range){lo + k, n - k};
            n = k;
        } else {
            down[len++] = (struct range){lo, k};
            lo += k;
            m -= k;
            n -= k;
            b = 0;
        }
    }
    if (!b)
        out[o++] = (struct range){lo, n};
    for (size_t i = 0; i < len; i++)
        out[o++] = down[len - 1 - i];
    return o;
}

/* Hashes each range into path; cap was checked by the caller. */
static int fill_path(const struct range *r, size_t len, ent_merkle_leaf_fn fn,
                     void *data, uint8_t (*path)[HLEN]) {
    int rc = ENT_OK;

    for (size_t i = 0; i < len; i++) {
        rc = range_root(fn, data, r[i].lo, r[i].count, path[i]);
        if (rc != ENT_OK)
            break;
    }
    return rc;
}

int ent_merkle_inclusion_proof_len(uint64_t index, uint64_t n, size_t *len) {
    struct range r[ENT_MERKLE_MAX_PROOF];

    if (len == NULL || n > ENT_MERKLE_MAX_SIZE || index >= n)
        return ENT_EINVAL;
    *len = inclusion_ranges(index, n, r);
    return ENT_OK;
}

int ent_merkle_consistency_proof_len(uint64_t m, uint64_t n, size_t *len) {
    struct range r[ENT_MERKLE_MAX_PROOF];

    if (len == NULL || n > ENT_MERKLE_MAX_SIZE || m == 0 || m > n)
        return ENT_EINVAL;
    *len = consistency_ranges(m, n, r);
    return ENT_OK;
}

int ent_merkle_inclusion_proof(uint64_t index, uint64_t n,
                               ent_merkle_leaf_fn fn, void *data,
                               uint8_t (*path)[HLEN], size_t cap, size_t *len) {
    struct range r[ENT_MERKLE_MAX_PROOF];
    size_t need;

    if (len == NULL || fn == NULL || (path == NULL && cap > 0) ||
        n > ENT_MERKLE_MAX_SIZE || index >= n)
        return ENT_EINVAL;
    need = inclusion_ranges(index, n, r);
    *len = need;
    if (cap < need)
        return ENT_ETOOBIG;
    return fill_path(r, need, fn, data, path);
}

int ent_merkle_consistency_proof(uint64_t m, uint64_t n, ent_merkle_leaf_fn fn,
                                 void *data, uint8_t (*path)[HLEN], size_t cap,
                                 size_t *len) {
    struct range r[ENT_MERKLE_MAX_PROOF];
    size_t need;

    if (len == NULL || fn == NULL || (path == NULL && cap > 0) ||
        n > ENT_MERKLE_MAX_SIZE || m == 0 || m > n)
        return ENT_EINVAL;
    need = consistency_ranges(m, n, r);
    *len = need;
    if (cap < need)
        return ENT_ETOOBIG;
    return fill_path(r, need, fn, data, path);
}

/* ---- proofs from kept subtrees ------------------------------------------ */

struct acc {
    ent_merkle_leaf_fn leaf;
    ent_merkle_subtree_fn sub;
    void *data;
};

/* Hash of the perfect subtree (level, index): kept, or from its children. */
static int subtree_root(const struct acc *a, unsigned level, uint64_t index,
                        uint8_t out[HLEN]) {
    uint8_t l[HLEN], r[HLEN];
    int rc;
    if (level == 0)
        return a->leaf(a->data, index, out);
    if (a->sub != NULL) {
        rc = a->sub(a->data, level, index, out);
        if (rc != ENT_ENOENT)
            return rc;
    }
    if ((rc = subtree_root(a, level - 1, 2 * index, l)) != ENT_OK ||
        (rc = subtree_root(a, level - 1, 2 * index + 1, r)) != ENT_OK)
        return rc;
    ent_merkle_node_hash(out, l, r);
    return ENT_OK;
}

/*
 * Root of the leaves [lo, lo + count), count >= 1, from the perfect
 * subtrees of the binary decomposition of count, largest first: every
 * range a proof asks for starts at a multiple of its largest piece, so
 * each piece is a subtree of the tree. MTH folds them right to left.
 */
static int range_root_ex(const struct acc *a, uint64_t lo, uint64_t count,
                         uint8_t out[HLEN]) {
    uint8_t piece[ENT_MERKLE_FRONTIER_MAX][HLEN];
    unsigned k = 0;
    int rc = ENT_OK;
    for (int bit = 63; bit >= 0; bit--) {
        uint64_t size = UINT64_C(1) << bit;
        if ((count & size) == 0)
            continue;
        if (lo % size != 0) /* not a subtree: read it leaf by leaf */
            return range_root(a->leaf, a->data, lo, count, out);
        if ((rc = subtree_root(a, (unsigned)bit, lo >> bit, piece[k])) !=
            ENT_OK)
            return rc;
        k++;
        lo += size;
        count -= size;
    }
    memcpy(out, piece[k - 1], HLEN);
    for (unsigned i = k - 1; i-- > 0;)
        ent_merkle_node_hash(out, piece[i], out);
    return ENT_OK;
}

static int fill_path_ex(const struct range *r, size_t len,
                        const struct acc *a, uint8_t (*path)[HLEN]) {
    int rc = ENT_OK;
    for (size_t i = 0; i < len && rc == ENT_OK; i++)
        rc = range_root_ex(a, r[i].lo, r[i].count, path[i]);
    return rc;
}

int ent_merkle_inclusion_proof_ex(uint64_t index, uint64_t n,
                                  ent_merkle_leaf_fn fn,
                                  ent_merkle_subtree_fn sub, void *data,
                                  uint8_t (*path)[HLEN], size_t cap,
                                  size_t *len) {
    struct range r[ENT_MERKLE_MAX_PROOF];
    struct acc a = {fn, sub, data};
    size_t need;
    if (len == NULL || fn == NULL || (path == NULL && cap > 0) ||
        n > ENT_MERKLE_MAX_SIZE || index >= n)
        return ENT_EINVAL;
    need = inclusion_ranges(index, n, r);
    *len = need;
    if (cap < need)
        return ENT_ETOOBIG;
    return fill_path_ex(r, need, &a, path);
}

int ent_merkle_consistency_proof_ex(uint64_t m, uint64_t n,
                                    ent_merkle_leaf_fn fn,
                                    ent_merkle_subtree_fn sub, void *data,
                                    uint8_t (*path)[HLEN], size_t cap,
                                    size_t *len) {
    struct range r[ENT_MERKLE_MAX_PROOF];
    struct acc a = {fn, sub, data};
    size_t need;
    if (len == NULL || fn == NULL || (path == NULL && cap > 0) ||
        n > ENT_MERKLE_MAX_SIZE || m == 0 || m > n)
        return ENT_EINVAL;
    need = consistency_ranges(m, n, r);
    *len = need;
    if (cap < need)
        return ENT_ETOOBIG;
    return fill_path_ex(r, need, &a, path);
}

int ent_merkle_frontier_completed(
    const ent_merkle_frontier *f, const uint8_t leaf[HLEN],
    int (*fn)(void *data, unsigned level, uint64_t index, const uint8_t h[HLEN]),
    void *data) {
    uint8_t h[HLEN];
    uint64_t s = f->size;
    unsigned pc = popcount64(s);
    int rc = 0;
    memcpy(h, leaf, HLEN);
    /* the trailing one bits of s are its smallest subtrees, last in f */
    for (unsigned l = 0; l < 63 && ((s >> l) & 1) != 0 && rc == 0; l++) {
        ent_merkle_node_hash(h, f->hashes[pc - 1 - l], h);
        rc = fn(data, l + 1, ((s + 1) >> (l + 1)) - 1, h);
    }
    return rc;
}

/* ---- verifiers ----------------------------------------------------------- */

int ent_merkle_verify_inclusion(uint64_t index, uint64_t n,
                                const uint8_t leaf[HLEN],
                                const uint8_t (*path)[HLEN], size_t len,
                                const uint8_t root[HLEN]) {
    uint8_t r[HLEN];
    uint64_t fn, sn;

    if (leaf == NULL || root == NULL || (path == NULL && len > 0) ||
        len > ENT_MERKLE_MAX_PROOF || n > ENT_MERKLE_MAX_SIZE)
        return ENT_EINVAL;
    /* 1. leaf_index must be inside the tree. */
    if (index >= n)
        return ENT_EINVAL;
    /* 2. and 3. */
    fn = index;
    sn = n - 1;
    memcpy(r, leaf, HLEN);
    /* 4. */
    for (size_t i = 0; i < len; i++) {
        /* a. a path longer than the tree is high */
        if (sn == 0)
            return ENT_ECORRUPT;
        /* b. */
        if ((fn & 1) || fn == sn) {
            ent_merkle_node_hash(r, path[i], r);
            if (!(fn & 1)) {
                while (!((fn & 1) || fn == 0)) {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            ent_merkle_node_hash(r, r, path[i]);
        }
        /* c. */
        fn >>= 1;
        sn >>= 1;
    }
    /* 5. */
    if (sn != 0 || sodium_memcmp(r, root, HLEN) != 0)
        return ENT_ECORRUPT;
    return ENT_OK;
}

int ent_merkle_verify_consistency(uint64_t m, uint64_t n,
                                  const uint8_t root_m[HLEN],
                                  const uint8_t root_n[HLEN],
                                  const uint8_t (*path)[HLEN], size_t len) {
    uint8_t fr[HLEN], sr[HLEN];
    const uint8_t *c;
    uint64_t fn, sn;
    size_t total, skip;

    if (root_m == NULL || root_n == NULL || (path == NULL && len > 0) ||
        len > ENT_MERKLE_MAX_PROOF || n > ENT_MERKLE_MAX_SIZE || m == 0 ||
        m > n)
        return ENT_EINVAL;
    if (m == n) {
        if (len != 0 || sodium_memcmp(root_m, root_n, HLEN) != 0)
            return ENT_ECORRUPT;
        return ENT_OK;
    }
    /* 1. */
    if (len == 0)
        return ENT_ECORRUPT;
    /* 2. when first is a power of two, first_hash is the (implicit) first
     * entry; element i of the RFC's array is path[i - skip]. */
    skip = (m & (m - 1)) == 0 ? 1 : 0;
    total = len + skip;
    /* 3. */
    fn = m - 1;
    sn = n - 1;
    /* 4. */
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    /* 5. */
    c = skip ? root_m : path[0];
    memcpy(fr, c, HLEN);
    memcpy(sr, c, HLEN);
    /* 6. */
    for (size_t i = 1; i < total; i++) {
        c = path[i - skip];
        /* a. */
        if (sn == 0)
            return ENT_ECORRUPT;
        /* b. */
        if ((fn & 1) || fn == sn) {
            ent_merkle_node_hash(fr, c, fr);
            ent_merkle_node_hash(sr, c, sr);
            if (!(fn & 1)) {
                while (!((fn & 1) || fn == 0)) {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            ent_merkle_node_hash(sr, sr, c);
        }
        /* c. */
        fn >>= 1;
        sn >>= 1;
    }
    /* 7. */
    if (sn != 0 || sodium_memcmp(fr, root_m, HLEN) != 0 ||
        sodium_memcmp(sr, root_n, HLEN) != 0)
        return ENT_ECORRUPT;
    return ENT_OK;
}
