/*
 * witness.h - partners keep each other's signed tree heads (witnessing) and
 * turn any contradiction into a self-contained equivocation proof
 * (spec/audit.md §11-§12).
 *
 * A node sends its latest signed tree head (HEAD) to every partner it
 * shares an object with, when the session opens and, rate-limited, after
 * new entries. The partner keeps the first head of each org, and replaces
 * it by a later one only after a consistency proof signed by that org
 * (CONSISTENCY). Two heads that cannot both be true become an equivocation
 * proof: stored in the "witnessed" table, logged as an `equivocation`
 * entry, counted in status and carried in audit exports. So are two ops of
 * one author with one sequence, which the object engine keeps in the
 * "equivocations" table. A node restored from a backup declares instead
 * a signed rewind (§11.1): the witness keeps the record, with the lost
 * head in it, and the base head becomes the kept one.
 *
 * This header is pure or storage-level (tests, audit, the API); the hooks
 * that move HEAD and CONSISTENCY over the peer layer's sessions are in
 * node/peers/peer_witness.c (declared in node/peers/peer_int.h).
 */
#ifndef ENT_WITNESS_H
#define ENT_WITNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "node/audit/actlog.h"
#include "protocol/wire.h"
#include "storage/store.h"

#define ENT_WITNESS_INTERVAL_MS 2000 /* at most one new HEAD per this */
#define ENT_WITNESS_MAX_PENDING 16   /* heads awaiting a consistency proof */
#define ENT_EQUIV_VERSION 1
#define ENT_EQUIV_MAX_SIZE (2 * 65000 + 4096) /* bytes of one proof */

/* Kinds of equivocation proof (spec/audit.md §12). */
typedef enum ent_equiv_kind {
    ENT_EQUIV_HEADS = 1,       /* two heads, one size, two roots */
    ENT_EQUIV_CONSISTENCY = 2, /* two heads and a signed proof that fails */
    ENT_EQUIV_OPS = 3,         /* two ops, one author, object and seq */
} ent_equiv_kind;

/* Rewind statements (spec/audit.md §11.1): a node restored from a backup
 * declares that its log after `base` was lost, naming the lost head a
 * witness keeps. */
#define ENT_REWIND_TAG "entente-rewind"
#define ENT_REWIND_MAX 512       /* bytes of one rewind record */
#define ENT_WITNESS_MAX_REWINDS 8 /* rewinds a witness accepts per org */

/* A decoded rewind record: org signed "my log beyond base (a head of mine
 * over a prefix of the log I hold now) was lost, including lost, at
 * time". Plain value. */
typedef struct ent_rewind {
    uint8_t org[ENT_PK_LEN];
    ent_actlog_head base; /* 1 <= base.size < lost.size */
    ent_actlog_head lost; /* the head a witness kept */
    uint64_t time;        /* ms since the epoch, the org's clock */
    uint8_t sig[ENT_SIG_LEN];
} ent_rewind;

/* What ent_witness_offer / ent_witness_settle did with a head. */
typedef enum ent_witness_outcome {
    ENT_WITNESS_KEPT = 0,     /* stored as the org's kept head */
    ENT_WITNESS_SAME,         /* nothing new (same head or an older one) */
    ENT_WITNESS_NEED_PROOF,   /* ask for CONSISTENCY between the two sizes */
    ENT_WITNESS_EQUIVOCATION, /* a proof was stored and logged */
    ENT_WITNESS_REWOUND,      /* a rewind was stored, base head kept */
} ent_witness_outcome;

/* ---- pure ---- */

/*
 * Signs the consistency statement ["entente-consistency", org, from, to,
 * path] with id (context "entente/v1/tree-head"). @return ENT_OK,
 * ENT_EINVAL (n > ENT_MERKLE_MAX_PROOF), ENT_ECRYPTO, ENT_ENOMEM.
 */
int ent_witness_sign_statement(const ent_identity *id, uint64_t from,
                               uint64_t to, const uint8_t (*path)[32],
                               size_t n, uint8_t sig[ENT_SIG_LEN]);
/* Verifies one by org. @return ENT_OK, ENT_EBADSIG, ENT_EINVAL. */
int ent_witness_verify_statement(const uint8_t org[ENT_PK_LEN], uint64_t from,
                                 uint64_t to, const uint8_t (*path)[32],
                                 size_t n, const uint8_t sig[ENT_SIG_LEN]);

/*
 * Checks that buf (len bytes) is one valid equivocation proof: canonical,
 * both halves signed by the accused org, and really in conflict.
 * org and kind (either may be NULL) receive the accused org and the kind.
 * @return ENT_OK; ENT_ECORRUPT (malformed or no conflict), ENT_ENONCANON,
 *         ENT_ETRUNCATED, ENT_EBADSIG, ENT_EVERSION, ENT_ENOMEM.
 */
int ent_equiv_verify(const uint8_t *buf, size_t len,
                     uint8_t org[ENT_PK_LEN], int *kind);

/*
 * Signs a rewind record (ENT_REWIND_TAG, id's org, base, lost, time) into
 * buf (cap >= ENT_REWIND_MAX); both heads must be id's, with
 * 1 <= base->size < lost->size. @return ENT_OK, ENT_EINVAL, ENT_ECRYPTO,
 * ENT_ENOMEM.
 */
int ent_rewind_sign(const ent_identity *id, const ent_actlog_head *base,
                    const ent_actlog_head *lost, uint64_t time, uint8_t *buf,
                    size_t cap, size_t *len);

/*
 * Decodes one rewind record (outside bytes): canonical CBOR, exactly
 * ["entente-rewind", org, base, lost, time, sig] with both heads canonical,
 * of org, 1 <= base.size < lost.size, nothing after it. Checks no
 * signature. @return ENT_OK, ENT_ETOOBIG, ENT_ENONCANON, ENT_ETRUNCATED,
 * ENT_ECORRUPT.
 */
int ent_rewind_decode(ent_rewind *r, const uint8_t *buf, size_t len);

/* Encodes r (as decoded) into buf (cap >= ENT_REWIND_MAX): the record's
 * exact bytes. @return ENT_OK, ENT_EINVAL, ENT_ENOMEM. */
int ent_rewind_encode(const ent_rewind *r, uint8_t *buf, size_t cap,
                      size_t *len);

/* Checks the record's signature and both heads'. @return ENT_OK,
 * ENT_EBADSIG, ENT_ENOMEM. */
int ent_rewind_verify(const ent_rewind *r);

/* ---- storage ---- */

/*
 * Offers head (len bytes, as received from org `from`, which must be its
 * signer; NULL skips that check) to the store of the witnessing node,
 * at time now (ms, the time of an equivocation's log entry; entries are
 * unsigned, spec/audit.md §7). In one write transaction:
 * no kept head yet -> keeps it; same size and root -> SAME; same size and
 * another root -> stores a proof, logs it -> EQUIVOCATION; another size ->
 * NEED_PROOF and *kept (may be NULL) receives the kept head.
 * @return ENT_OK (see *outcome), ENT_EBADSIG, ENT_EDENIED (not from's
 *         head), decode errors, storage errors.
 */
int ent_witness_offer(ent_store *store, uint64_t now, const uint8_t *head,
                      size_t len, const uint8_t *from, int *outcome,
                      ent_actlog_head *kept);

/*
 * Settles a head that needed a proof, with the org's CONSISTENCY answer
 * between the smaller and the larger of (kept, head). Verified -> the
 * larger becomes the kept head (KEPT, or SAME when the kept one was
 * larger); the signed proof fails -> EQUIVOCATION (proof stored, logged).
 * @return ENT_OK (see *outcome), ENT_EBADSIG (answer not signed by the org:
 *         nothing proven, nothing stored), ENT_EINVAL (sizes do not match
 *         the two heads), ENT_ENOENT (no kept head), storage errors.
 */
int ent_witness_settle(ent_store *store, uint64_t now, const uint8_t *head,
                       size_t len, const ent_wire_consistency *answer,
                       int *outcome);

/*
 * Answers a CONSISTENCY request against this node's own log: the proof
 * from..to and its signature (out->has_sig). @return ENT_OK, ENT_EINVAL
 * (not 0 < from <= to <= log size), storage errors.
 */
int ent_witness_answer(ent_store *store, const ent_identity *id,
                       uint64_t from, uint64_t to, ent_wire_consistency *out);

/*
 * Offers a rewind record (len bytes from org `from`, which must be its
 * signer; NULL skips that check) to the witness store (spec/audit.md
 * §11.1). In one write transaction, all or nothing: the org's kept head
 * must be exactly the record's lost head (else ENT_EINVAL); no head
 * equivocation proof against the org may involve a head larger than the
 * base (else ENT_EDENIED: a rewind never covers a proven equivocation);
 * the org has fewer than ENT_WITNESS_MAX_REWINDS rewinds (else
 * ENT_ELIMIT). Then the record is stored for good and the base head
 * becomes the kept head, and a `rewind.recorded` event (at now, ms) says
 * so: *outcome REWOUND. The same record again: SAME, and no event.
 * @return ENT_OK, ENT_EDENIED, ENT_EINVAL, ENT_ENOENT (no kept head),
 *         ENT_ELIMIT, ENT_EBADSIG, decode errors, storage errors.
 */
int ent_witness_rewind(ent_store *store, uint64_t now, const uint8_t *rec,
                       size_t len, const uint8_t *from, int *outcome);

/* Calls fn(data, rec, len) for every rewind record kept, by org then
 * arrival; rec is valid during the call. fn returns as ent_txn_scan's. */
int ent_witness_rewinds_foreach(ent_txn *txn,
                                int (*fn)(void *data, const uint8_t *rec,
                                          size_t len),
                                void *data);

/* The kept head of org. @return ENT_OK, ENT_ENOENT, ENT_ECORRUPT. */
int ent_witness_kept(ent_txn *txn, const uint8_t org[ENT_PK_LEN],
                     ent_actlog_head *out);

/* Calls fn for every kept head, by org. fn returns as ent_txn_scan's. */
int ent_witness_kept_foreach(ent_txn *txn,
                             int (*fn)(void *data, const ent_actlog_head *h),
                             void *data);

/*
 * Calls fn(data, proof, len) for every equivocation proof the node holds:
 * head proofs from "witnessed", then op proofs built from "equivocations"
 * (one per (object, author, seq), the two smallest op ids). proof is valid
 * during the call. @return ENT_OK, fn's error, ENT_ENOMEM, storage errors.
 */
int ent_witness_proofs_foreach(ent_txn *txn,
                               int (*fn)(void *data, const uint8_t *proof,
                                         size_t len),
                               void *data);

/* Number of proofs ent_witness_proofs_foreach would yield. */
int ent_witness_count(ent_txn *txn, uint64_t *n);

#endif
