/*
 * merkle.h - the RFC 9162 Merkle tree of the activity log.
 *
 * Pure tree math, independent of storage: leaf and node hashes, tree roots,
 * inclusion and consistency proofs (generated from a leaf-hash accessor that
 * a store implements, and optionally from the perfect subtrees it keeps),
 * their verifiers, and an incremental "frontier"
 * (compact range) that gives the root of a growing log in O(log n) per
 * append. The exact definitions are in spec/audit.md.
 *
 * Hash: BLAKE2b-256 with the domain separation of RFC 9162 section 2.1.1:
 *   leaf hash = H(0x00 || entry bytes)
 *   node hash = H(0x01 || left || right)
 *   root of the empty tree = H() (BLAKE2b-256 of the empty string)
 *
 * Tree sizes are at most ENT_MERKLE_MAX_SIZE (2^63), so that every inclusion
 * proof has at most 63 hashes and every consistency proof at most 64
 * (ENT_MERKLE_MAX_PROOF). Nothing here allocates; every function works on
 * caller-owned buffers and keeps no state between calls.
 */
#ifndef ENT_MERKLE_H
#define ENT_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define ENT_MERKLE_HASH_LEN 32
/* Largest tree size accepted anywhere in this API. */
#define ENT_MERKLE_MAX_SIZE (UINT64_C(1) << 63)
/* Longest proof (in hashes) that is generated or accepted. */
#define ENT_MERKLE_MAX_PROOF 64
/* Subtree hashes a frontier can hold (one per set bit of its size). */
#define ENT_MERKLE_FRONTIER_MAX 64

/* Frontier encoding: version byte, 8-byte big-endian size, hashes. */
#define ENT_MERKLE_FRONTIER_VERSION 1
#define ENT_MERKLE_FRONTIER_HDR_LEN 9
#define ENT_MERKLE_FRONTIER_MAX_LEN                                            \
    (ENT_MERKLE_FRONTIER_HDR_LEN +                                             \
     ENT_MERKLE_FRONTIER_MAX * ENT_MERKLE_HASH_LEN)

/* leaf = H(0x00 || entry). entry may be NULL when len is 0. */
void ent_merkle_leaf_hash(uint8_t out[ENT_MERKLE_HASH_LEN],
                          const uint8_t *entry, size_t len);

/* node = H(0x01 || left || right). out may alias left or right. */
void ent_merkle_node_hash(uint8_t out[ENT_MERKLE_HASH_LEN],
                          const uint8_t left[ENT_MERKLE_HASH_LEN],
                          const uint8_t right[ENT_MERKLE_HASH_LEN]);

/* The root of the empty tree, H(). */
void ent_merkle_empty_root(uint8_t out[ENT_MERKLE_HASH_LEN]);

/*
 * Leaf-hash accessor: writes the leaf hash (not the entry) of leaf `index`
 * of the log to out. Called only with index < the tree size the caller
 * asked about, in increasing index order within one subtree. Returns ENT_OK
 * or a negative ent_err, which the caller of the proof function receives
 * unchanged.
 */
typedef int (*ent_merkle_leaf_fn)(void *data, uint64_t index,
                                  uint8_t out[ENT_MERKLE_HASH_LEN]);

/*
 * Root of the tree of the first n leaves (RFC 9162 MTH(D[n])). Reads every
 * leaf once through fn: O(n) hashes, O(log n) stack.
 * @return ENT_OK, ENT_EINVAL (n > ENT_MERKLE_MAX_SIZE, NULL fn with n > 0),
 *         or the accessor's error.
 */
int ent_merkle_root(uint64_t n, ent_merkle_leaf_fn fn, void *data,
                    uint8_t root[ENT_MERKLE_HASH_LEN]);

/*
 * Number of hashes in the inclusion proof of index in a tree of size n, or
 * in the consistency proof from size m to size n. No hashing; for decoders
 * that size a buffer first. @return ENT_OK or ENT_EINVAL (same argument
 * rules as the functions below).
 */
int ent_merkle_inclusion_proof_len(uint64_t index, uint64_t n, size_t *len);
int ent_merkle_consistency_proof_len(uint64_t m, uint64_t n, size_t *len);

/*
 * Inclusion proof (RFC 9162 section 2.1.3.1, PATH(index, D[n])) of leaf
 * `index` in the tree of size n, written to path[0..*len), the sibling of
 * the leaf first and the child of the root last. The caller owns path
 * (cap entries; ENT_MERKLE_MAX_PROOF always suffices). Every leaf except
 * `index` is read once: O(n) hashes.
 * @return ENT_OK, ENT_EINVAL (index >= n, n > ENT_MERKLE_MAX_SIZE, NULL
 *         arguments), ENT_ETOOBIG (cap too small; *len is set to the length
 *         needed and nothing is read), or the accessor's error.
 */
int ent_merkle_inclusion_proof(uint64_t index, uint64_t n,
                               ent_merkle_leaf_fn fn, void *data,
                               uint8_t (*path)[ENT_MERKLE_HASH_LEN], size_t cap,
                               size_t *len);

/*
 * Consistency proof (RFC 9162 section 2.1.4.1, PROOF(m, D[n])) between the
 * tree of size m and the tree of size n, 0 < m <= n. For m == n the proof
 * is empty. Same buffer rules and costs as ent_merkle_inclusion_proof.
 * @return ENT_OK, ENT_EINVAL (m == 0, m > n, n > ENT_MERKLE_MAX_SIZE, NULL
 *         arguments), ENT_ETOOBIG (*len set to the length needed), or the
 *         accessor's error.
 */
int ent_merkle_consistency_proof(uint64_t m, uint64_t n, ent_merkle_leaf_fn fn,
                                 void *data,
                                 uint8_t (*path)[ENT_MERKLE_HASH_LEN],
                                 size_t cap, size_t *len);

/*
 * Subtree accessor: writes the hash of the perfect subtree of level `level`
 * (2^level leaves) and index `index` (its leaves are [index * 2^level,
 * (index + 1) * 2^level)) to out, if the caller keeps it. Called only for
 * level >= 1 and subtrees inside the tree size asked about. Returns ENT_OK,
 * ENT_ENOENT (not kept: the hash is computed from its two children, down
 * to the leaves), or another error, which is passed on unchanged.
 */
typedef int (*ent_merkle_subtree_fn)(void *data, unsigned level,
                                     uint64_t index,
                                     uint8_t out[ENT_MERKLE_HASH_LEN]);

/*
 * As ent_merkle_inclusion_proof and ent_merkle_consistency_proof, with the
 * same results, but each proof entry (the root of a subtree of the RFC
 * tree) is taken from the perfect subtrees that its leaf range splits into
 * (largest first; every range of a proof is aligned so that it does),
 * each read through sub (may be NULL) before being computed from its
 * children. With every subtree of level >= L kept, a proof costs O(log n)
 * subtree reads and O(2^L log n) leaf reads and hashes.
 */
int ent_merkle_inclusion_proof_ex(uint64_t index, uint64_t n,
                                  ent_merkle_leaf_fn fn,
                                  ent_merkle_subtree_fn sub, void *data,
                                  uint8_t (*path)[ENT_MERKLE_HASH_LEN],
                                  size_t cap, size_t *len);
int ent_merkle_consistency_proof_ex(uint64_t m, uint64_t n,
                                    ent_merkle_leaf_fn fn,
                                    ent_merkle_subtree_fn sub, void *data,
                                    uint8_t (*path)[ENT_MERKLE_HASH_LEN],
                                    size_t cap, size_t *len);


/*
 * Verifies an inclusion proof exactly as RFC 9162 section 2.1.3.2: leaf (a
 * leaf hash) is leaf `index` of the tree of size n whose root is root.
 * path may be NULL when len is 0. No allocation, O(len) hashes.
 * @return ENT_OK; ENT_EINVAL when the claim is impossible before any
 *         hashing (index >= n, n > ENT_MERKLE_MAX_SIZE, len >
 *         ENT_MERKLE_MAX_PROOF, NULL arguments); ENT_ECORRUPT when the proof
 *         does not prove it (wrong length, wrong hashes, wrong root).
 */
int ent_merkle_verify_inclusion(uint64_t index, uint64_t n,
                                const uint8_t leaf[ENT_MERKLE_HASH_LEN],
                                const uint8_t (*path)[ENT_MERKLE_HASH_LEN],
                                size_t len,
                                const uint8_t root[ENT_MERKLE_HASH_LEN]);

/*
 * Verifies a consistency proof exactly as RFC 9162 section 2.1.4.2: the
 * tree of size n with root root_n extends the tree of size m with root
 * root_m. For m == n (outside the RFC's algorithm, which needs m < n) the
 * proof must be empty and the roots equal, matching PROOF(n, D[n]) = {}.
 * @return ENT_OK; ENT_EINVAL (m == 0, m > n, n > ENT_MERKLE_MAX_SIZE, len >
 *         ENT_MERKLE_MAX_PROOF, NULL arguments); ENT_ECORRUPT when the proof
 *         does not prove it.
 */
int ent_merkle_verify_consistency(uint64_t m, uint64_t n,
                                  const uint8_t root_m[ENT_MERKLE_HASH_LEN],
                                  const uint8_t root_n[ENT_MERKLE_HASH_LEN],
                                  const uint8_t (*path)[ENT_MERKLE_HASH_LEN],
                                  size_t len);

/*
 * Frontier (compact range) of a log of `size` leaves: the roots of the
 * perfect subtrees that the binary decomposition of size splits the log
 * into, largest (leftmost) first, one per set bit of size; hashes beyond
 * popcount(size) are unused and kept zero. A plain value: copy it, embed
 * it, no free. Initialise with ent_merkle_frontier_init (or zero it).
 */
typedef struct ent_merkle_frontier {
    uint64_t size;
    uint8_t hashes[ENT_MERKLE_FRONTIER_MAX][ENT_MERKLE_HASH_LEN];
} ent_merkle_frontier;

/* Makes f the frontier of the empty log. */
void ent_merkle_frontier_init(ent_merkle_frontier *f);

/*
 * Appends one leaf hash (ent_merkle_leaf_hash of the entry): O(log n)
 * hashes, amortised O(1). @return ENT_OK, or ENT_ELIMIT when the log
 * already holds ENT_MERKLE_MAX_SIZE leaves (f is unchanged then).
 */
int ent_merkle_frontier_append(ent_merkle_frontier *f,
                               const uint8_t leaf[ENT_MERKLE_HASH_LEN]);

/* Root of the log f describes (H() for the empty log): O(log n) hashes. */
void ent_merkle_frontier_root(const ent_merkle_frontier *f,
                              uint8_t out[ENT_MERKLE_HASH_LEN]);

/*
 * Rebuilds the frontier of the first n leaves from an accessor: O(n).
 * @return as ent_merkle_root; f is the empty frontier on error.
 */
int ent_merkle_frontier_build(ent_merkle_frontier *f, uint64_t n,
                              ent_merkle_leaf_fn fn, void *data);

/*
 * Encoded length of f: 9 + 32 * popcount(size), at most
 * ENT_MERKLE_FRONTIER_MAX_LEN.
 */
size_t ent_merkle_frontier_encoded_len(const ent_merkle_frontier *f);

/*
 * Writes f as version (1 byte, 1) || size (8 bytes big-endian) || the
 * popcount(size) subtree hashes, largest subtree first. *len is set to the
 * encoded length. @return ENT_OK, ENT_ETOOBIG (cap too small; *len still
 * set), ENT_EINVAL (f is not a valid frontier).
 */
int ent_merkle_frontier_encode(const ent_merkle_frontier *f, uint8_t *buf,
                               size_t cap, size_t *len);

/*
 * Decodes exactly len bytes into f. @return ENT_OK, ENT_ETRUNCATED (short
 * input), ENT_EVERSION (unknown version byte), ENT_ECORRUPT (size >
 * ENT_MERKLE_MAX_SIZE, or trailing bytes), ENT_EINVAL (NULL arguments).
 * On error f is the empty frontier.
 */
int ent_merkle_frontier_decode(ent_merkle_frontier *f, const uint8_t *buf,
                               size_t len);

/*
 * Calls fn(data, level, index, hash) for every perfect subtree that
 * appending leaf (the leaf hash of entry f->size) to the log f describes
 * completes, levels 1 and up (none when f->size is even), from the
 * smallest to the largest; f itself is not changed (append it with
 * ent_merkle_frontier_append). A non-zero return of fn stops and is
 * returned.
 */
int ent_merkle_frontier_completed(const ent_merkle_frontier *f,
                                  const uint8_t leaf[ENT_MERKLE_HASH_LEN],
                                  int (*fn)(void *data, unsigned level,
                                            uint64_t index,
                                            const uint8_t h[ENT_MERKLE_HASH_LEN]),
                                  void *data);

#endif
