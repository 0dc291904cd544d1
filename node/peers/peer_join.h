/*
 * peer_join.h - the inviter's half of a join as one transaction
 * (spec/invites.md section 7, "Atomic redemption"): redeem the invite, add
 * the joiner as a member and log both, committed together or not at all.
 * ent__peers_handle_join() (peer_join.c) runs it for every JOIN; it is
 * public so that tests can drive it without a network.
 */
#ifndef ENT_PEER_JOIN_H
#define ENT_PEER_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "node/peers/invite.h"
#include "node/objects/object.h"
#include "storage/store.h"

/* What a granted join hands out. */
typedef struct ent_join_grant {
    uint8_t object[ENT_OBJ_ID_LEN];
    uint8_t role;
    /* on failure: true if the invite itself was good and a later step
     * (adding the member, logging) failed; nothing was committed anyway */
    bool invite_ok;
    /* a partnership invite (spec/overlap.md §3): no object, no op; the
     * consent record and its log entry were committed instead */
    bool partner;
    ent_op *op;              /* the add op, to send to the members */
    ent_op_epoch_key *boxes; /* epoch keys sealed to the joiner */
    size_t nboxes;
} ent_join_grant;

/*
 * In ONE write transaction of store: redeems invite_id for joiner
 * (ent_invite_redeem with proof and the session's handshake hash hh, now_ms
 * / 1000 as the time), appends the activity-log entry invite_used (object,
 * org = joiner), and adds joiner to the invite's object with the invite's
 * role (ent_obj_add_member_txn: the add op and its op_authored and
 * member_added entries). If any step fails, including a storage fault at
 * any write, the transaction aborts: the invite stays unused, nobody is
 * added, nothing is logged. eng must work on store; id is this org.
 * On ENT_OK the caller owns out->op and out->boxes: free them with
 * ent_peers_join_grant_clear(). On an error they are NULL.
 * @return ENT_OK; from the redemption ENT_ENOENT, ENT_EEXPIRED, ENT_EUSED,
 *         ENT_EDENIED (bad proof) with out->invite_ok false; from the add
 *         ENT_EEXIST (already an active member with that role), ENT_EDENIED
 *         (this org may no longer add members), ENT_ENOENT, ... with
 *         out->invite_ok true; ENT_EINVAL, ENT_ENOMEM, storage errors.
 */
int ent_peers_join_grant(ent_store *store, ent_objects *eng,
                         const ent_identity *id,
                         const uint8_t invite_id[ENT_INVITE_ID_LEN],
                         const uint8_t proof[ENT_INVITE_PROOF_LEN],
                         const uint8_t hh[ENT_HASH_LEN],
                         const uint8_t joiner[ENT_PK_LEN], uint64_t now_ms,
                         ent_join_grant *out);

/* Frees what a grant handed out and zeroes it. Accepts NULL. */
void ent_peers_join_grant_clear(ent_join_grant *g);

#endif
