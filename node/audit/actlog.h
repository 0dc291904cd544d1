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
 * no signature of their own: the org commits to them through the tree
 * heads it signs (ENT_SIGCTX_TREE_HEAD), which cover every leaf, and each
 * entry's prev pins the one before it. Since version 3 each entry also
 * names the previous entry of its object (oprev), and every signed head
 * ends in a checkpoint entry that commits to the object directory
 * (node/audit/directory.h): the index of each object's latest entry. So an
 * object export can be checked for completeness (spec/audit.md §7.1). The
 * directory's size lives in "log_meta" next to the frontier, each object's
 * row in "obj_local" with the object's other local rows; it costs one get
 * and one put per append. The codecs here are pure and used by the offline
 * verifier (node/audit/audit.h).
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

#define ENT_ACTLOG_VERSION 3    /* entries with oprev and dir (§7) */
#define ENT_ACTLOG_VERSION_V2 2 /* still read: no oprev, no checkpoints */
#define ENT_ACTLOG_REASON_MAX 256 /* bytes of a rejection reason */
/* bytes of one entry encoding: exactly the largest valid entry (array head
 * 1, version 1, index 9, time 9, kind 1, object/op/org 3 x 34, reason
 * 3 + 256, prev 34, oprev 9, empty dir 1; a checkpoint, with its 42-byte
 * dir, has no object, op, org or reason); the decoder refuses anything
 * longer */
#define ENT_ACTLOG_ENTRY_MAX 426
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
    ENT_LOG_CHECKPOINT = 9,    /* a head was signed: the object directory */
    ENT_LOG_PARTNER_ADDED = 10, /* a partnership invite was redeemed */
    ENT_LOG_OVERLAP_SHARE = 11, /* sharing level for a partner changed */
    ENT_LOG_OVERLAP_RUN = 12,   /* an account-overlap run ended */
    ENT_LOG_KIND__COUNT
} ent_actlog_kind;

/*
 * One entry. For append, the caller fills time, kind, the has_* flags with
 * their ids, and reason; version, index, prev and oprev are set by append
 * (and checkpoints are appended only by ent_actlog_sign_head). Ids whose
 * flag is false are encoded as empty byte strings and must be zero.
 */
typedef struct ent_actlog_entry {
    uint8_t version; /* 3, or 2 for an old entry; 0 encodes as 3 */
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
    /* version 3: the index of the previous entry with the same object, or
     * index itself (no object, or the object's first entry); a version-2
     * entry decodes with oprev = index and names nothing */
    uint64_t oprev;
    /* version 3, checkpoints only: the directory of the entries before */
    bool has_dir;
    uint64_t dir_size; /* objects */
    uint8_t dir_root[ENT_MERKLE_HASH_LEN];
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
 * index, links the previous entry's hash and the previous entry of its
 * object (oprev), stores the entry (version 3) with its leaf hash, and
 * updates the persisted frontier and object directory. No signature: the
 * org commits to the entry when it next signs a tree head
 * (ent_actlog_sign_head). Nothing outlives the transaction: abort it and
 * the entry is gone. The first append to a log written before version 3
 * builds the directory from the stored entries once (O(n), in the same
 * transaction).
 * @param[out] index_out  the new entry's index; may be NULL.
 * @return ENT_OK, ENT_EINVAL (bad kind or a checkpoint, reason too long or
 *         not UTF-8, nonzero id without its flag), ENT_ECORRUPT (stored log
 *         damaged), ENT_ELIMIT, ENT_ENOMEM, storage errors.
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

/* Subtrees of at least 2^ENT_ACTLOG_TREE_MIN_LEVEL leaves are kept in
 * log_meta (spec/audit.md §4.3). */
#define ENT_ACTLOG_TREE_MIN_LEVEL 4

/* Inclusion proof of index in the tree of size n (n <= log size) and
 * consistency proof m -> n (merkle.h rules), from the kept subtrees and
 * the stored leaf hashes: O(log n) reads and at most 16 leaf reads per
 * proof entry, whatever the log size. */
int ent_actlog_inclusion_proof(ent_txn *txn, uint64_t index, uint64_t n,
                               uint8_t (*path)[ENT_MERKLE_HASH_LEN],
                               size_t cap, size_t *len);
int ent_actlog_consistency_proof(ent_txn *txn, uint64_t m, uint64_t n,
                                 uint8_t (*path)[ENT_MERKLE_HASH_LEN],
                                 size_t cap, size_t *len);

/*
 * Signs a head over the current log at time `time` (txn is a write
 * transaction). A non-empty log whose last entry is not a checkpoint gets
 * one first (kind ENT_LOG_CHECKPOINT, at `time`, committing to the object
 * directory of every entry before it), so every head this node signs over
 * a non-empty log ends in a checkpoint. The head is kept under its size;
 * if a head of that size is already stored, that one is returned
 * unchanged. The head of the empty log is signed but not stored, and
 * needs no checkpoint. A store restored from a backup signs nothing until
 * it has caught up (ent_home_restoring, spec/operations.md §3.4).
 * @return ENT_OK, ENT_ERESTORING, ENT_ECRYPTO, ENT_ECORRUPT, storage errors.
 */
int ent_actlog_sign_head(ent_txn *txn, const ent_identity *id, uint64_t time,
                         ent_actlog_head *head);

/*
 * The root of the first m entries (1 <= m <= log size): O(log n) reads
 * (an inclusion proof of entry m - 1 in the tree of size m, folded).
 * @return ENT_OK, ENT_EINVAL (m out of range), ENT_ECORRUPT, storage errors.
 */
int ent_actlog_root_at(ent_txn *txn, uint64_t m,
                       uint8_t root[ENT_MERKLE_HASH_LEN]);

/*
 * A head over the first m entries of the log (1 <= m <= log size): the
 * stored head of that size if there is one, else one signed now at `time`
 * and not stored (no checkpoint is appended). Unlike ent_actlog_sign_head
 * it works while the store carries the restore mark: it is how a restored
 * node signs the base of a rewind (spec/audit.md §11.1), a prefix of every
 * head it signed before the loss.
 * @return ENT_OK, ENT_EINVAL, ENT_ECRYPTO, ENT_ECORRUPT, storage errors.
 */
int ent_actlog_prefix_head(ent_txn *txn, const ent_identity *id, uint64_t m,
                           uint64_t time, ent_actlog_head *head);

/*
 * The rewind base (spec/audit.md §11.1): the log size of the backup this
 * store was last restored from, the smallest over every restore (log_meta
 * "rewind" -> u64 BE). ent_actlog_rewind_mark records the current size
 * (kept at the smaller one when a base is already recorded; nothing for
 * an empty log); it is called by the restore, in its write transaction.
 * @return ENT_OK, ENT_ENOENT (never restored with a log), storage errors.
 */
int ent_actlog_rewind_base(ent_txn *txn, uint64_t *size);
int ent_actlog_rewind_mark(ent_txn *txn);

/* Calls fn for every stored head, by increasing size. */
int ent_actlog_heads_foreach(ent_txn *txn,
                             int (*fn)(void *data, const ent_actlog_head *h),
                             void *data);

/*
 * The index of the first entry of this log that names object (the end of
 * its oprev chain, spec/audit.md §7): the order in which this node first
 * recorded objects, which a signed head commits to (spec/workflows.md §9).
 * O(entries of the object).
 * @return ENT_OK, ENT_ENOENT (no entry names it, or the directory is not
 *         built yet), ENT_ECORRUPT, storage errors.
 */
int ent_actlog_object_first(ent_txn *txn, const uint8_t object[32],
                            uint64_t *index);

/* ---- codecs (pure) ---- */

/*
 * The directory of the current log (what a checkpoint appended now would
 * commit to): number of objects and root. O(number of objects).
 * @return ENT_OK, ENT_ECORRUPT, storage errors.
 */
int ent_actlog_directory(ent_txn *txn, uint64_t *size,
                         uint8_t root[ENT_MERKLE_HASH_LEN]);

/*
 * Encodes e (spec/audit.md §7: the 11-item array of version 3, or the
 * 9-item array of version 2 when e->version is 2) into a malloc'ed buffer
 * the caller frees.
 * @return ENT_OK, ENT_EINVAL (fields that the version cannot hold, or that
 *         break the rules of §7), ENT_ENOMEM.
 */
int ent_actlog_entry_encode(const ent_actlog_entry *e, uint8_t **out,
                            size_t *len);

/*
 * Decodes exactly one canonical entry: an 11-item array of version 3, or a
 * 9-item array of version 2 (e->version tells which). Any other version
 * (the signed 10-item entries of version 1 included) is refused, and so is
 * a version-3 entry that breaks the rules of §7 (oprev above index, oprev
 * without an object, a dir outside a checkpoint, a checkpoint with an
 * object, op, org or reason).
 * @return ENT_OK, ENT_ENONCANON, ENT_ETRUNCATED, ENT_ETOOBIG, ENT_ECORRUPT
 *         (wrong shape or rules), ENT_EVERSION (version other than 2 or 3,
 *         unknown kind, a checkpoint in version 2).
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
