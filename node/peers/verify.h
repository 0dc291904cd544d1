/*
 * verify.h - Ed25519 signature checks of received ops on the libuv thread
 * pool (spec/gossip.md "Throughput").
 *
 * A node is bound by signature checks when it receives ops: one Ed25519
 * verify costs about 50 us, the rest of an apply (AEAD open, merge, LMDB
 * writes) much less. A verifier takes a batch of raw op bytes (one OPS
 * message), copies it, splits it into chunks and runs one uv_queue_work job
 * per chunk, so that every core verifies and the event loop keeps serving
 * timers and sessions. A job only decodes and authenticates its ops
 * (ent_op_decode + ent_op_authenticate: one signature check per chain of
 * one author's ops; libsodium is thread-safe, the decoder has no shared
 * state); it touches no node, store or engine. When every job of
 * a batch has returned, the batch's callback runs on the loop thread, where
 * the caller applies it in one write transaction with
 * ent_obj_apply_batch_ex.
 *
 * Callbacks run in submission order (a batch that finishes early waits for
 * the ones submitted before it), so the ops of one session are applied in
 * the order they arrived. Not thread-safe: use it from the loop thread.
 */
#ifndef ENT_VERIFY_H
#define ENT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/objects/object.h"

struct uv_loop_s;
typedef struct ent_verifier ent_verifier;

/*
 * The result of one batch, on the loop thread. raws/lens are the verifier's
 * copies of the submitted ops (n entries), valid during the call. rcs[i] is
 * ENT_OK when op i decoded and its signature is valid, ENT_EBADSIG for a bad
 * signature, ENT_EAGAIN when the pool did not run the check (the engine
 * must then verify it), or the decoder's error; objs[i] is the op's object (its own id
 * for a genesis op), all zero when it did not decode. opened (NULL when the
 * batch was submitted without keys) holds, for each authentic op whose
 * epoch key was among the keys, its decrypted body (valid during the
 * call; pass it to ent_obj_apply_batch_ex). owner is what was
 * submitted, or NULL once ent_verifier_detach() dropped it. aborted: the
 * verifier was freed first; the callback must only release data.
 */
typedef void (*ent_verify_cb)(void *data, const void *owner,
                              const uint8_t *const *raws, const size_t *lens,
                              size_t n, const int *rcs,
                              const uint8_t (*objs)[32],
                              const ent_obj_opened *opened, bool aborted);

/*
 * Creates a verifier on loop (borrowed). jobs: chunks a batch is split into
 * (0: the number of online CPUs, at least 2). Free with ent_verifier_free().
 * @return ENT_OK, ENT_EINVAL, ENT_ENOMEM.
 */
int ent_verifier_new(ent_verifier **out, struct uv_loop_s *loop,
                     unsigned jobs);

/* Frees v. Batches still in the pool are detached: their callbacks run
 * with aborted = true (at once for those already verified, later, from
 * the loop, for the others), so the loop must run until the pool returns
 * them. Accepts NULL. */
void ent_verifier_free(ent_verifier *v);

/*
 * Copies n ops (raws/lens, borrowed for the call) and queues their checks.
 * owner tags the batch (e.g. a session; may be NULL); cb(data, ...) runs
 * once, later, on the loop thread, never from inside this call.
 * @return ENT_OK, ENT_EINVAL (n == 0 or a NULL argument), ENT_ENOMEM.
 */
int ent_verifier_submit(ent_verifier *v, const void *owner,
                        const uint8_t *const *raws, const size_t *lens,
                        size_t n, ent_verify_cb cb, void *data);

/*
 * As ent_verifier_submit, and the jobs also decrypt the authentic ops'
 * bodies with keys (nkeys copies of the object's epoch keys,
 * ent_obj_epoch_keys; borrowed for the call, the batch keeps its own copy
 * and wipes it), so that the loop thread neither verifies nor decrypts.
 * @return as ent_verifier_submit.
 */
int ent_verifier_submit_keys(ent_verifier *v, const void *owner,
                             const uint8_t *const *raws, const size_t *lens,
                             size_t n, const ent_obj_key *keys, size_t nkeys,
                             ent_verify_cb cb, void *data);

/* The owner is going away: its batches' callbacks get owner = NULL. */
void ent_verifier_detach(ent_verifier *v, const void *owner);

/* Batches submitted and not yet called back, of owner (NULL: all). */
size_t ent_verifier_pending(const ent_verifier *v, const void *owner);

/* Calls cb(data) once nothing is pending (at once when nothing is); one
 * waiter at a time, a new call replaces the previous one. */
void ent_verifier_drain(ent_verifier *v, void (*cb)(void *data), void *data);

/* A checked batch taken out of the queue by ent_verifier_take(). */
typedef struct ent_verified {
    const void *owner; /* as for the callback: NULL once detached */
    void *data;        /* the data it was submitted with */
    const uint8_t *const *raws;
    const size_t *lens;
    size_t n;
    const int *rcs;
    const uint8_t (*objs)[32];
    const ent_obj_opened *opened; /* as for the callback */
    void *priv; /* the verifier's: ent_verified_free() releases it */
} ent_verified;

/*
 * Group commit: called from inside a (not aborted) callback cb, takes the
 * next batch in submission order when it is already checked and was
 * submitted with the same cb, so that the caller applies it together with
 * the current one in one write transaction. Its callback then never runs:
 * the caller handles it as the callback would have and calls
 * ent_verified_free(out). @return true when *out holds a batch.
 */
bool ent_verifier_take(ent_verifier *v, ent_verify_cb cb, ent_verified *out);

/* Frees a batch from ent_verifier_take() (not out itself). Accepts NULL
 * priv. */
void ent_verified_free(ent_verified *out);

/* Ops verified so far in the pool (decoded and checked), for stats. */
uint64_t ent_verifier_ops(const ent_verifier *v);

/* Ed25519 checks the pool made for them: fewer than the ops when chains
 * of one author's ops vouch for their parents (ent_op_authenticate). */
uint64_t ent_verifier_checks(const ent_verifier *v);

/* Op bodies the pool decrypted (batches submitted with keys). */
uint64_t ent_verifier_opened(const ent_verifier *v);

#endif
