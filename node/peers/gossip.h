/*
 * gossip.h - transport-agnostic replication: digest anti-entropy, version
 * vector repair, bounded-fanout push and relay (spec/gossip.md).
 *
 * One ent_gossip per node, over the node's store and object engine. It knows
 * nothing of sockets or sessions: it sends decoded wire messages through an
 * ent_gossip_transport (peer.c maps it onto Noise sessions, the network
 * simulator onto an in-memory message queue) and is fed what arrives with
 * ent_gossip_on_message() / ent_gossip_apply(). The same code therefore runs
 * in `entente serve` and in the simulator.
 *
 * A round with one peer: DIGEST (one 32-byte digest of every object both
 * share) -> equal: done; else DIGESTS (object id || object digest per
 * object) -> VV with the reply flag for each object whose digest differs ->
 * each side sends the ops the other lacks (causal order) and, when asked,
 * its own VV. Between nodes that both speak recon/1 (gossip_recon.c) the
 * DIGEST carries a fingerprint kept on commit (node/objects/setdig.h) and
 * a difference goes down RANGES to LEAF listings instead of DIGESTS.
 *
 * Everything runs on the caller's thread. No globals.
 */
#ifndef ENT_GOSSIP_H
#define ENT_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "node/log.h"
#include "node/objects/object.h"
#include "node/objects/setdig.h"
#include "protocol/wire.h"
#include "storage/store.h"

#define ENT_GOSSIP_FANOUT 5        /* members one op is pushed to */
#define ENT_GOSSIP_MAX_PEERS 4096  /* connected orgs considered for fanout */
#define ENT_GOSSIP_DIGEST_CACHE 64 /* set digests kept, direct-mapped */
#define ENT_GOSSIP_TELL_MS 10000   /* a removed org is told its removal at
                                      most once per object within */
#define ENT_GOSSIP_TOLD_CACHE 64   /* (org, object) told, direct-mapped */

typedef struct ent_gossip ent_gossip;
struct uv_loop_s;
struct ent_verifier;

/* How gossip reaches peers. Peers are named by org (Ed25519 public key). */
typedef struct ent_gossip_transport {
    /* Sends m to org (m and what it points to are borrowed for the call).
     * @return ENT_OK, or an error: the message is dropped (anti-entropy
     * repairs whatever it carried). Required. */
    int (*send)(void *data, const uint8_t org[32], const ent_wire_msg *m);
    /* Fills out (cap entries) with the distinct orgs connected now and
     * returns their number. Required. */
    size_t (*peers)(void *data, uint8_t (*out)[32], size_t cap);
    /* Optional: queues the ops of obj that org lacks according to vv
     * (n_vv entries of 40 bytes; NULL: everything), flow-controlled. NULL:
     * gossip reads them and calls send with OPS messages at once. */
    int (*catch_up)(void *data, const uint8_t org[32], const uint8_t obj[32],
                    const uint8_t *vv, size_t n_vv);
    /* Optional random source for fanout choices; NULL: ent_random. */
    uint32_t (*random)(void *data);
    /* Optional: whether org's session speaks "recon/1" (its HELLO said so):
     * rounds with it use fingerprints and ranges (spec/gossip.md §13).
     * NULL: no peer does (DIGEST and DIGESTS only). */
    bool (*recon)(void *data, const uint8_t org[32]);
    void *data;
} ent_gossip_transport;

typedef struct ent_gossip_config {
    ent_store *store;       /* required, borrowed */
    ent_objects *eng;       /* required, borrowed */
    const ent_identity *id; /* required, borrowed */
    const ent_log *log;     /* may be NULL */
    ent_gossip_transport tr;
    unsigned fanout;        /* 0: ENT_GOSSIP_FANOUT */
    /* Optional: the loop whose thread pool verifies received ops
     * (node/peers/verify.h); NULL: no verifier (the simulator). */
    struct uv_loop_s *loop;
    unsigned verify_jobs;   /* jobs per batch; 0: online CPUs, >= 2 */
    /* Optional: org sent a DIGEST equal to our set digest for it (a round
     * of org's ended "in sync"). Called on the caller's thread, after the
     * message is handled; in_sync_data is passed as data. */
    void (*in_sync)(ent_gossip *g, const uint8_t org[32], void *data);
    void *in_sync_data;
} ent_gossip_config;

typedef struct ent_gossip_stats {
    uint64_t rounds;        /* DIGEST sent */
    uint64_t in_sync;       /* DIGEST received and equal to ours */
    uint64_t digests_sent;  /* DIGESTS messages sent */
    uint64_t vv_sent;       /* VV messages sent */
    uint64_t vv_forks;      /* authors of received VVs sent again from a
                               fork (spec/gossip.md §3) */
    uint64_t ops_sent;      /* op records sent (push, relay, catch-up) */
    uint64_t ops_applied;   /* newly applied from others */
    uint64_t ops_held;      /* held until their parents arrive */
    uint64_t ops_duplicate;
    uint64_t ops_rejected;
    uint64_t denied;        /* messages about objects the peer is not in */
    uint64_t removed_told;  /* a removed org sent the past of its removal */
    uint64_t removed_repeated; /* ... not again: told within
                                  ENT_GOSSIP_TELL_MS (spec/gossip.md §11) */
    uint64_t digest_computed; /* set digests computed (not from the cache) */
    uint64_t ranges_sent;   /* RANGES messages sent (recon/1) */
    uint64_t leaves_sent;   /* LEAF messages sent (recon/1) */
} ent_gossip_stats;

/* One op to send, in causal order (ent_gossip_missing). A second version
 * of one (author, seq), a fork, is stored under its op id too (fork). */
typedef struct ent_gossip_key {
    uint64_t hlc;
    uint8_t author[32];
    uint64_t seq;
    bool is_fork;
    uint8_t fork[32]; /* the op id of a fork's version, when is_fork */
} ent_gossip_key;

/* The ops-table key of k's op in obj into out: 72 bytes, or 104 for a
 * fork's version. @return the key's length. */
size_t ent_gossip_key_ops(const ent_gossip_key *k, const uint8_t obj[32],
                          uint8_t out[104]);

/* Creates gossip over cfg (copied), building table "set_digests" first
 * when the store does not have it yet (one write transaction). Free with
 * ent_gossip_free().
 * @return ENT_OK, ENT_EINVAL (a required field missing), ENT_ENOMEM,
 *         storage errors. */
int ent_gossip_new(ent_gossip **out, const ent_gossip_config *cfg);

/* Frees g. Accepts NULL. */
void ent_gossip_free(ent_gossip *g);

void ent_gossip_stats_get(const ent_gossip *g, ent_gossip_stats *out);

/* The digest of one object: BLAKE2b-256 of "entente/v1/gossip-obj" || id ||
 * the ids of its head ops in ascending order (all zero bytes when the
 * object is not held). @return ENT_OK or a storage error. */
int ent_gossip_object_digest(ent_gossip *g, const uint8_t obj[32],
                             uint8_t out[32]);

/* The set digest for org: BLAKE2b-256 of "entente/v1/gossip-set" || for
 * each object where this org and org are active members, in id order, id ||
 * object digest. *nobjects receives their number (may be NULL). Kept per
 * org (ENT_GOSSIP_DIGEST_CACHE entries) and reused while the store's
 * generation (ent_store_generation) is unchanged; stats.digest_computed
 * counts the scans. */
int ent_gossip_set_digest(ent_gossip *g, const uint8_t org[32],
                          uint8_t out[32], uint64_t *nobjects);

/* The fingerprint of everything shared with org (spec/gossip.md §13), one
 * read of table "set_digests". @return ENT_OK, storage errors. */
int ent_gossip_set_fp(ent_gossip *g, const uint8_t org[32],
                      ent_setfp *out);

/* Starts an anti-entropy round with org: sends one DIGEST (its fingerprint
 * when org speaks recon/1, else the set digest).
 * @return ENT_OK, ENT_ENOENT (nothing shared with org: nothing sent),
 *         storage errors, what send returned. */
int ent_gossip_round(ent_gossip *g, const uint8_t org[32]);

/*
 * Handles DIGEST, DIGESTS, VV and OPS from org (other types: ENT_OK, ignored).
 * OPS are applied with ent_gossip_apply() (no ACK: the transport's job).
 * @return ENT_OK; ENT_EPROTO for a message that breaks the protocol (the
 *         caller drops the peer); storage or memory errors.
 */
int ent_gossip_on_message(ent_gossip *g, const uint8_t org[32],
                          const ent_wire_msg *m);

/*
 * Applies n ops of obj received from org (NULL: from a local source) in one
 * transaction and relays the newly applied ones to at most fanout other
 * connected active members (not org). infos and rcs (n entries each) receive
 * what ent_obj_apply_batch reported; they may be NULL.
 * The caller checks beforehand that org may send ops of obj.
 * @return as ent_obj_apply_batch.
 */
int ent_gossip_apply(ent_gossip *g, const uint8_t *org, const uint8_t obj[32],
                     const uint8_t *const *raws, const size_t *lens, size_t n,
                     ent_apply_info *infos, int *rcs);

/*
 * As ent_gossip_apply, with verified (n entries, may be NULL) marking ops
 * whose signatures the caller checked on these bytes and opened (may be
 * NULL) the bodies it decrypted (node/peers/verify.h): see
 * ent_obj_apply_batch_ex.
 */
int ent_gossip_apply_ex(ent_gossip *g, const uint8_t *org,
                        const uint8_t obj[32], const uint8_t *const *raws,
                        const size_t *lens, size_t n, const bool *verified,
                        const ent_obj_opened *opened, ent_apply_info *infos,
                        int *rcs);

/* The thread-pool verifier made for cfg.loop (NULL without a loop); it
 * lives as long as g. */
struct ent_verifier *ent_gossip_verifier(ent_gossip *g);

/* Pushes ops of obj (one batch) to at most fanout connected active members
 * other than except (may be NULL), chosen at random. Returns how many orgs
 * got them. */
size_t ent_gossip_push(ent_gossip *g, const uint8_t obj[32],
                       const uint8_t *const *raws, const size_t *lens,
                       size_t n, const uint8_t *except);

/* Sends org a VV for obj (flags: ENT_WIRE_VV_REPLY or 0). An object not
 * held gets an empty vector: the peer then sends its whole history. */
int ent_gossip_send_vv(ent_gossip *g, const uint8_t org[32],
                       const uint8_t obj[32], uint32_t flags);

/*
 * The ops of obj that a peer with version vector vv (n_vv entries of 40
 * bytes, author || seq BE; NULL: none) lacks, in causal order (HLC, then
 * author, then seq). *keys is malloc'ed (*n entries); the caller frees it.
 */
int ent_gossip_missing(ent_gossip *g, const uint8_t obj[32],
                       const uint8_t *vv, size_t n_vv, ent_gossip_key **keys,
                       size_t *n);

/*
 * The whole history of an object in causal order, handed out a window at a
 * time (a join's history, spec/gossip.md §12): opening it costs one seek
 * and one op decode per author of the object plus a walk of the object's
 * op rows that counts them (no decoding, no memory per op), and each
 * window costs O(window x authors) and one decode per key. Per author the cursor
 * sits at that author's next op (the ops table is in (author, seq) order,
 * and an author's HLC grows with its seq), and each key handed out is the
 * smallest head by (HLC, author, seq): the order of ent_gossip_missing()
 * with vv NULL. Erased ops (stubs) are skipped. Ops stored after the open
 * by an author it knows are handed out too; a new author's are not (anti-
 * entropy sends them). Free with ent_gossip_hist_free().
 */
typedef struct ent_gossip_hist ent_gossip_hist;

/*
 * Opens the history of obj in one read transaction.
 * @param[out] out   the cursor (NULL on error)
 * @param[out] total the number of op records the history hands out (rows
 *                   that are not stubs: JOIN_OK's count); may be NULL
 * @return ENT_OK (an object without ops: a cursor that hands out nothing),
 *         ENT_EINVAL, ENT_ENOMEM, storage errors.
 */
int ent_gossip_hist_open(ent_gossip *g, const uint8_t obj[32],
                         ent_gossip_hist **out, uint64_t *total);

/* Fills keys[0..*n) with the next at most max keys of h in causal order
 * (read in one transaction); *n == 0: the history is exhausted.
 * @return ENT_OK, ENT_ENOMEM, storage errors. */
int ent_gossip_hist_next(ent_gossip *g, ent_gossip_hist *h,
                         ent_gossip_key *keys, size_t max, size_t *n);

/* Frees h. Accepts NULL. */
void ent_gossip_hist_free(ent_gossip_hist *h);

/* Sends org the ops of obj listed in keys[0..n) as OPS messages (read in
 * one transaction). @return ENT_OK or a storage error. */
int ent_gossip_send_ops(ent_gossip *g, const uint8_t org[32],
                        const uint8_t obj[32], const ent_gossip_key *keys,
                        size_t n);

#endif
