/*
 * actlog.h - the node's activity log: hash-linked entries in an RFC 9162
 * Merkle tree, and signed tree heads (spec/audit.md §7-§8).
 *
 * Every change of the node's shared state appends one entry inside the
 * same LMDB write transaction as the change (ent_actlog_append), so an
 * aborted change leaves no entry and a committed one always has its entry.
 * Entries live in the "log" table keyed by big-endian index (append order);
 * the Merkle frontier and the signed tree heads live in "log_meta". The
 * root after each append costs O(log n) hashes.
 *
 * Entries and heads are deterministic CBOR (spec/records.md). Entries carry
 * no signature of their own (version 2): the org commits to them through
 * the tree heads it signs (ENT_SIGCTX_TREE_HEAD), which cover every leaf,
 * and each entry's prev pins the one before it. The codecs here are pure
 * and used by the offline verifier (node/audit/audit.h).
 */
#ifndef ENT_ACTLOG_H
#define ENT_ACTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "crypto/merkle.h"
#include "storage/store.h"

#define ENT_ACTLOG_VERSION 2      /* entries without a signature (§7) */
#define ENT_ACTLOG_REASON_MAX 256 /* bytes of a rejection reason */
/* bytes of one entry encoding: exactly the largest valid entry (array head
 * 1, version 1, index 9, time 9, kind 1, object/op/org 3 x 34, reason
 * 3 + 256, prev 34); the decoder refuses anything longer */
#define ENT_ACTLOG_ENTRY_MAX 416
#define ENT_ACTLOG_HEAD_MAX 160   /* bytes of one head encoding (bound) */

typedef enum ent_actlog_kind {
    ENT_LOG_OP_AUTHORED = 0,   /* this node made and signed an op */
    ENT_LOG_OP_ACCEPTED = 1,   /* an op from another org was applied */
    ENT_LOG_OP_REJECTED = 2,   /* an op was refused (reason set) */
    ENT_LOG_MEMBER_ADDED = 3,  /* org joined object (by op) */
    ENT_LOG_MEMBER_REMOVED = 4,
    ENT_LOG_KEY_ROTATED = 5,   /* object moved to a new epoch */
    ENT_LOG_INVITE_ISSUED = 6,
    ENT_LOG_INVITE_USED = 7,
    ENT_LOG_EQUIVOCATION = 8,  /* org signed two ops with one sequence */
    ENT_LOG_KIND__COUNT
} ent_actlog_kind;

/*
 * One entry. For append, the caller fills time, kind, the has_* flags with
 * their ids, and reason; index and prev are set by append. Ids whose flag
 * is false are encoded as empty byte strings and must be zero.
 */
typedef struct ent_actlog_entry {
    uint64_t index;
    uint64_t time; /* ms since the Unix epoch */
    uint8_t kind;  /* ent_actlog_kind */
    bool has_object, has_op, has_org;
    uint8_t object[32];
    uint8_t op[32];
    uint8_t org[32]; /* op author, member org, invitee... (spec §7) */
    char reason[ENT_ACTLOG_REASON_MAX + 1]; /* UTF-8, NUL-terminated */
    size_t reason_len;
    uint8_t prev[ENT_HASH_LEN]; /* HASH(previous entry), zero for index 0 */
} ent_actlog_entry;

/* A signed tree head: the org commits to (size, root) at time. */
typedef struct ent_actlog_head {
    uint8_t org[ENT_PK_LEN];
    uint64_t size;
    uint8_t root[ENT_MERKLE_HASH_LEN];
    uint64_t time;
    uint8_t sig[ENT_SIG_LEN];
} ent_actlog_head;

/* Name of a kind ("op_authored"), or NULL when unknown. Static storage. */
const char *ent_actlog_kind_name(unsigned kind);

/*
 * Appends e to the log inside txn (a write transaction): assigns the next
 * index, links the previous entry's hash, stores the entry with its leaf
 * hash and updates the persisted frontier. No signature: the org commits
 * to the entry when it next signs a tree head (ent_actlog_sign_head).
 * Nothing outlives the transaction: abort it and the entry is gone.
 * @param[out] index_out  the new entry's index; may be NULL.
 * @return ENT_OK, ENT_EINVAL (bad kind, reason too long or not UTF-8,
 *         nonzero id without its flag), ENT_ECORRUPT (stored log damaged),
 *         ENT_ELIMIT, ENT_ENOMEM, storage errors.
 */
int ent_actlog_append(ent_txn *txn, const ent_actlog_entry *e,
                      uint64_t *index_out);

/* Number of entries and current root (H() when empty): O(log n). */
int ent_actlog_root(ent_txn *txn, uint64_t *size,
                    uint8_t root[ENT_MERKLE_HASH_LEN]);

/*
 * The stored encoding of entry index and its leaf hash. *buf borrows the
 * map and is valid until the transaction ends; leaf may be NULL.
 * @return ENT_OK, ENT_ENOENT, ENT_ECORRUPT.
 */
int ent_actlog_get(ent_txn *txn, uint64_t index, const uint8_t **buf,
                   size_t *len, uint8_t leaf[ENT_MERKLE_HASH_LEN]);

/*
 * Calls fn(data, entry, raw, rawlen) for every entry from index `from`, in
 * order; raw is valid during the call. fn returns 0 to go on, > 0 to stop,
 * < 0 to stop with that error.
 */
int ent_actlog_foreach(ent_txn *txn, uint64_t from,
                       int (*fn)(void *data, const ent_actlog_entry *e,
                                 const uint8_t *raw, size_t len),
                       void *data);

/* Inclusion proof of index in the tree of size n (n <= log size) and
 * consistency proof m -> n, from the stored leaf hashes (merkle.h rules). */
int ent_actlog_inclusion_proof(ent_txn *txn, uint64_t index, uint64_t n,
                               uint8_t (*path)[ENT_MERKLE_HASH_LEN],
                               size_t cap, size_t *len);
int ent_actlog_consistency_proof(ent_txn *txn, uint64_t m, uint64_t n,
                                 uint8_t (*path)[ENT_MERKLE_HASH_LEN],
                                 size_t cap, size_t *len);

/*
 * Signs a head over the current size and root at time `time` (txn is a
 * write transaction). A non-empty log keeps the head under its size; if a
 * head of that size is already stored, that one is returned unchanged.
 * The head of the empty log is signed but not stored.
 * @return ENT_OK, ENT_ECRYPTO, storage errors.
 */
int ent_actlog_sign_head(ent_txn *txn, const ent_identity *id, uint64_t time,
                         ent_actlog_head *head);

/* Calls fn for every stored head, by increasing size. */
int ent_actlog_heads_foreach(ent_txn *txn,
                             int (*fn)(void *data, const ent_actlog_head *h),
                             void *data);

/* ---- codecs (pure) ---- */

/*
 * Encodes e (the 9-item array of spec/audit.md §7, version
 * ENT_ACTLOG_VERSION) into a malloc'ed buffer the caller frees.
 * @return ENT_OK, ENT_EINVAL, ENT_ENOMEM.
 */
int ent_actlog_entry_encode(const ent_actlog_entry *e, uint8_t **out,
                            size_t *len);

/*
 * Decodes exactly one canonical entry: a 9-item array of version
 * ENT_ACTLOG_VERSION. An entry of another version (the signed 10-item
 * entries of version 1 included) is refused.
 * @return ENT_OK, ENT_ENONCANON, ENT_ETRUNCATED, ENT_ETOOBIG, ENT_ECORRUPT
 *         (wrong shape, 10 items...), ENT_EVERSION (version other than 2,
 *         unknown kind).
 */
int ent_actlog_entry_decode(ent_actlog_entry *e, const uint8_t *buf,
                            size_t len);

/* Head codec: [org, size, root, time, sig]; signed part [org,size,root,time].
 * buf holds ENT_ACTLOG_HEAD_MAX bytes. */
int ent_actlog_head_encode(const ent_actlog_head *h, bool with_sig,
                           uint8_t *buf, size_t cap, size_t *len);
int ent_actlog_head_decode(ent_actlog_head *h, const uint8_t *buf, size_t len);
/* Verifies h's signature by h->org. @return ENT_OK or ENT_EBADSIG. */
int ent_actlog_head_verify(const ent_actlog_head *h);

#endif
