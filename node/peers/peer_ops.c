/*
 * peer_ops.c - receiving OPS (spec/protocol.md sections 3.4 and 5,
 * spec/gossip.md section 8): the per-session token bucket and the
 * credit of requested ops, the membership check, signature checks on the
 * verifier's thread pool, group commit of the checked batches of one
 * session, org and object in one transaction, one ACK per OPS message
 * (or one ACKS for all those of a loop turn, to a peer with "acks/1"),
 * relaying (ent_gossip_apply_ex), backlog progress and key rotation.
 * Called by the dispatch in peer.c; calls down into peer_send.c,
 * peer_dial.c (violations), peer_table.c, peer_sync.c and peer_join.c.
 */
#include "node/peers/peer_int.h"
#include "node/peers/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* False only for an op that decodes and belongs to another object than
 * obj (a genesis op's object is its own id): the engine would hold such an
 * op as pending for an object this node never asked for, so an attacker
 * could fill the store through OPS of an object it is a member of. Ops that
 * do not decode go on to the engine, which refuses and counts them. */
static bool op_in_object(const uint8_t *raw, size_t len,
                         const uint8_t obj[32]) {
    ent_op *op = NULL;
    if (ent_op_decode(&op, raw, len) != ENT_OK)
        return true;
    bool ok = memcmp(op->h.genesis ? op->id : op->h.object, obj, 32) == 0;
    ent_op_free(op);
    return ok;
}

/* The op token rate per session: ENT_WIRE_PEER_OPS_PER_SEC, or
 * $ENTENTE_PEER_OPS_PER_SEC (for benchmarks of backlog sync, which the
 * default rate would bound at 2,000 ops/s); the burst is twice the rate. */
int64_t ent__peers_ops_rate(void) {
    return ent__peers_env_ms("ENTENTE_PEER_OPS_PER_SEC",
                             ENT_WIRE_PEER_OPS_PER_SEC);
}

static int64_t ops_burst(void) {
    int64_t r = ent__peers_ops_rate();
    return r == ENT_WIRE_PEER_OPS_PER_SEC ? ENT_WIRE_PEER_OPS_BURST : 2 * r;
}

/*
 * Applies m ops of obj that arrived from org on c (c NULL: the session is
 * gone; nothing is ACKed) in one transaction, ACKs them, relays the new ones
 * (ent_gossip_apply_ex) and rotates the key when a conflict asks for it.
 * verified (may be NULL) marks ops whose signature the pool checked. The ops
 * are those of nmsg OPS messages back to back: message k kept msg_m[k] of
 * them and carried msg_nrecv[k] records; each gets its own ACK (with
 * "acks/1": is counted into the session's next ACKS, ent__peers_ack).
 */
static void apply_msgs(ent_peers *p, conn *c, const uint8_t org[32],
                       const uint8_t obj[32], const uint8_t *const *raws,
                       const size_t *lens, size_t m, const bool *verified,
                       const ent_obj_opened *opened, const size_t *msg_m,
                       const size_t *msg_nrecv, size_t nmsg) {
    ent_wire_msg ack;
    memset(&ack, 0, sizeof(ack));
    ack.type = ENT_WIRE_ACK;
    memcpy(ack.u.ack.object, obj, 32);
    size_t n1 = m ? m : 1;
    ent_apply_info *infos = calloc(n1, sizeof(*infos));
    int *rcs = calloc(n1, sizeof(*rcs));
    uint8_t (*ids)[32] = calloc(n1, 32);
    size_t nids = 0, nfw = 0;
    bool rotate = false;
    if (!infos || !rcs || !ids)
        goto out;
    /* applies and relays the new ops to at most fanout other members */
    int rc = m > 0 ? ent_gossip_apply_ex(p->gossip, org, obj, raws, lens, m,
                                         verified, opened, infos, rcs)
                   : ENT_OK;
    if (rc != ENT_OK) {
        ENT_WARN(p->log, "peers: applying %zu ops: %s", m, ent_strerror(rc));
        goto out;
    }
    /* one ACK per OPS message, of that message's applied ops */
    for (size_t k = 0, from = 0; k < nmsg; from += msg_m[k], k++) {
        uint64_t nstored = 0, nrefused = msg_nrecv[k] > msg_m[k]
                                              ? msg_nrecv[k] - msg_m[k]
                                              : 0;
        nids = 0;
        for (size_t i = from; i < from + msg_m[k] && i < m; i++) {
            if (rcs[i] != ENT_OK) {
                p->stats.ops_rejected++;
                nrefused++;
                continue;
            }
            if (infos[i].rotate_needed)
                rotate = true;
            if (infos[i].pending)
                continue;
            nstored++;
            memcpy(ids[nids++], infos[i].op_id, 32);
            if (!infos[i].duplicate) {
                p->stats.ops_applied++;
                nfw++;
            }
            if (infos[i].removed) {
                char hex[65];
                ent_hex_encode(hex, obj, 32);
                ENT_INFO(p->log,
                         "peers: this org was removed from object %s", hex);
            }
        }
        ack.u.ack.ids = ids;
        ack.u.ack.nids = nids;
        if (c != NULL && !c->closing)
            ent__peers_ack(c, &ack);
        /* backlog progress (peer_sync.c) */
        ent__sync_processed(p, org, obj, msg_nrecv[k], nstored, nrefused);
    }
    if (nfw > 0 && ent__peers_obj_active(p, obj))
        p->stats.ops_relayed += nfw; /* ent_gossip_apply relayed them */
    if (rotate) {
        ent_op *op = NULL;
        int r2 = ent_obj_rotate_key(p->eng, obj, &op);
        if (r2 == ENT_OK)
            ent_node_op_created(p->node, op);
        else
            ENT_WARN(p->log, "peers: key rotation: %s", ent_strerror(r2));
    }
    for (size_t k = 0; k < nmsg; k++)
        if (c != NULL && !c->closing)
            ent__peers_join_ops(c, obj, msg_nrecv[k]);
out:
    free(infos);
    free(rcs);
    free(ids);
}

/* apply_msgs for the ops of one OPS message. */
static void apply_ops(ent_peers *p, conn *c, const uint8_t org[32],
                      const uint8_t obj[32], const uint8_t *const *raws,
                      const size_t *lens, size_t m, const bool *verified,
                      size_t nrecv) {
    apply_msgs(p, c, org, obj, raws, lens, m, verified, NULL, &m, &nrecv, 1);
}

/* A batch of OPS in the thread pool: what the callback needs. */
typedef struct ops_batch {
    ent_peers *p;
    uint8_t org[32];
    uint8_t obj[32];
} ops_batch;

/* Batches applied in one transaction at most (group commit). */
#define OPS_GROUP_MAX 32

/* OPS batches of one session in the pool at most: reading from the
 * session stops at this many (2 MiB of op records) and resumes below. The
 * sender's window (ENT_WIRE_PEER_MAX_INFLIGHT) is twice as wide, so that
 * while this node applies and commits one group, the next one already
 * waits in the socket. */
#define OPS_POOL_MAX 32

/* One OPS message's checked batch (verify.h). */
typedef struct ops_view {
    ops_batch *b;
    const void *owner;
    const uint8_t *const *raws;
    const size_t *lens;
    size_t n;
    const int *vrcs;
    const uint8_t (*objs)[32];
    const ent_obj_opened *opened; /* NULL: submitted without keys */
} ops_view;

/* Applies views[from, to), all of one session, org and object, in one
 * transaction: keeps the ops of the message's object, marks the verified
 * ones, ACKs each message, and resumes reading from the session once its
 * queue of batches is short again. */
static void apply_views(ent_peers *p, const ops_view *views, size_t from,
                        size_t to) {
    const ops_view *v0 = &views[from];
    conn *c = (conn *)v0->owner;
    size_t total = 0, nmsg = to - from, m = 0, dropped = 0;
    for (size_t k = from; k < to; k++)
        total += views[k].n;
    const uint8_t **keep = calloc(total ? total : 1, sizeof(*keep));
    size_t *klen = calloc(total ? total : 1, sizeof(*klen));
    bool *ok = calloc(total ? total : 1, sizeof(*ok));
    ent_obj_opened *opened = calloc(total ? total : 1, sizeof(*opened));
    size_t *msg_m = calloc(nmsg, sizeof(*msg_m));
    size_t *msg_nrecv = calloc(nmsg, sizeof(*msg_nrecv));
    if (!keep || !klen || !ok || !opened || !msg_m || !msg_nrecv) {
        ENT_WARN(p->log, "peers: applying %zu ops: %s", total,
                 ent_strerror(ENT_ENOMEM));
        goto out;
    }
    for (size_t k = from; k < to; k++) {
        const ops_view *w = &views[k];
        size_t before = m;
        for (size_t i = 0; i < w->n; i++) {
            bool decoded = w->vrcs[i] == ENT_OK || w->vrcs[i] == ENT_EBADSIG;
            /* ops that do not decode go on to the engine, which refuses and
             * counts them; an op of another object is refused here (see
             * op_in_object) */
            if (decoded && memcmp(w->objs[i], v0->b->obj, 32) != 0) {
                p->stats.ops_rejected++;
                dropped++;
                continue;
            }
            keep[m] = w->raws[i];
            klen[m] = w->lens[i];
            if (w->opened != NULL)
                opened[m] = w->opened[i];
            ok[m++] = w->vrcs[i] == ENT_OK;
        }
        msg_m[k - from] = m - before;
        msg_nrecv[k - from] = w->n;
    }
    if (dropped > 0)
        ENT_WARN(p->log, "peers: dropped %zu ops of another object", dropped);
    apply_msgs(p, c != NULL && !c->closing ? c : NULL, v0->b->org, v0->b->obj,
               keep, klen, m, ok, opened, msg_m, msg_nrecv, nmsg);
    if (c != NULL && !c->closing && !c->read_stopped &&
        ent_verifier_pending(ent_gossip_verifier(p->gossip), c) <
            OPS_POOL_MAX)
        ent_session_read_start(c->s);
out:
    free(keep);
    free(klen);
    free(ok);
    free(opened);
    free(msg_m);
    free(msg_nrecv);
}

/* Loop thread, after the pool checked the batch's signatures (verify.h).
 * Group commit: the batches after it that the pool already checked are
 * taken too (ent_verifier_take), and each run of them from one session,
 * org and object is applied in one transaction, so one durable commit
 * serves several OPS messages; each message still gets its own ACK, in
 * arrival order. */
static void ops_verified(void *data, const void *owner,
                         const uint8_t *const *raws, const size_t *lens,
                         size_t n, const int *vrcs, const uint8_t (*objs)[32],
                         const ent_obj_opened *opened, bool aborted) {
    ops_batch *b = data;
    ent_peers *p = b->p;
    ent_verifier *v = ent_gossip_verifier(p->gossip);
    ops_view views[OPS_GROUP_MAX];
    ent_verified more[OPS_GROUP_MAX];
    size_t nv = 1;
    if (aborted) {
        free(b);
        return;
    }
    views[0] = (ops_view){b, owner, raws, lens, n, vrcs, objs, opened};
    while (nv < OPS_GROUP_MAX && ent_verifier_take(v, ops_verified, &more[nv])) {
        ent_verified *t = &more[nv];
        views[nv++] = (ops_view){t->data, t->owner, t->raws,  t->lens,
                                 t->n,    t->rcs,   t->objs,  t->opened};
    }
    for (size_t i = 0; i < nv;) {
        size_t j = i + 1;
        while (j < nv && views[j].owner == views[i].owner &&
               memcmp(views[j].b->org, views[i].b->org, 32) == 0 &&
               memcmp(views[j].b->obj, views[i].b->obj, 32) == 0)
            j++;
        apply_views(p, views, i, j);
        i = j;
    }
    for (size_t i = 1; i < nv; i++) {
        free(views[i].b);
        ent_verified_free(&more[i]);
    }
    free(b);
}

/* OPS from c: only from an active member of the object (or the inviter
 * during our join). With a verifier the signatures are checked on the
 * thread pool and the batch is applied, ACKed and relayed in ops_verified,
 * in arrival order; reading from c stops while OPS_POOL_MAX of its
 * batches are in the pool. Without one, all of it happens here. */
void ent__peers_handle_ops(conn *c, const ent_wire_ops *o) {
    ent_peers *p = c->p;
    uint64_t now = uv_now(p->loop);
    size_t n = o->nops;
    int64_t rate = ent__peers_ops_rate(), burst = ops_burst();
    p->stats.ops_received += n;
    /* records that answer a request of ours (a join's history, the gap a
     * VV exchange found) are admitted on that request's credit; the rest
     * pays one token per record (spec/protocol.md section 5) */
    uint64_t credited = ent__sync_on_ops(p, c->org, o->object, n);
    uint64_t metered = n - credited;
    p->stats.ops_credited += credited;
    p->stats.ops_metered += metered;
    c->tokens += (int64_t)(now - c->tokens_at) * rate;
    c->tokens_at = now;
    if (c->tokens > burst * 1000)
        c->tokens = burst * 1000;
    c->tokens -= (int64_t)metered * 1000;
    if (c->tokens < -burst * 1000) {
        ent__peers_violation(c, ENT_ELIMIT, "ops rate");
        return;
    }
    if (c->tokens < 0 && !c->read_stopped) {
        ent_session_read_stop(c->s);
        c->read_stopped = true;
        p->stats.rate_stops++;
        /* the time spent stopped is summed per strike window; too much of
         * it drops the session (peer.c's tick, spec/sessions.md) */
        if (now - c->throttle_win >= p->lim.strike_window_ms) {
            c->throttle_win = now;
            c->throttled_ms = 0;
        }
        c->stopped_at = now;
    }

    bool joining = c->join != NULL && c->join->state == ENT_JOIN_SYNCING &&
                   memcmp(c->join->obj, o->object, 32) == 0;
    if (!joining && (!ent__peers_is_member(p, o->object, c->org, NULL) ||
                     !ent__peers_is_member(p, o->object,
                                           ent_identity_public(p->id), NULL))) {
        char org[ENT_ORG_ID_LEN + 1];
        ent_org_id_format(org, c->org);
        p->stats.ops_nonmember += n;
        ENT_WARN(p->log, "peers: dropped %zu ops from %s: not a member of "
                         "that object", n, org);
        ent_wire_msg ack;
        memset(&ack, 0, sizeof(ack));
        ack.type = ENT_WIRE_ACK;
        memcpy(ack.u.ack.object, o->object, 32);
        ent__peers_ack(c, &ack);
        ent__peers_acks_flush(p); /* the answer first, then the ERROR */
        ent__peers_send_error(c, ENT_WIRE_C_NOTMEMBER, "not a member");
        return;
    }
    const uint8_t **raws = calloc(n ? n : 1, sizeof(*raws));
    size_t *lens = calloc(n ? n : 1, sizeof(*lens));
    ent_verifier *v = ent_gossip_verifier(p->gossip);
    ops_batch *b = NULL;
    if (!raws || !lens)
        goto out;
    if (v != NULL && n > 0) {
        for (size_t i = 0; i < n; i++) {
            raws[i] = o->ops[i].p;
            lens[i] = o->ops[i].len;
        }
        if ((b = calloc(1, sizeof(*b))) == NULL)
            goto out;
        b->p = p;
        memcpy(b->org, c->org, 32);
        memcpy(b->obj, o->object, 32);
        /* the object's epoch keys go along, so the pool also decrypts */
        ent_obj_key *keys = NULL;
        size_t nkeys = 0;
        if (ent_obj_epoch_keys(p->eng, o->object, &keys, &nkeys) != ENT_OK)
            nkeys = 0; /* the engine decrypts them itself */
        int src = ent_verifier_submit_keys(v, c, raws, lens, n, keys, nkeys,
                                           ops_verified, b);
        ent_obj_keys_free(keys, nkeys);
        if (src != ENT_OK) {
            free(b);
            goto out;
        }
        if (ent_verifier_pending(v, c) >= OPS_POOL_MAX)
            ent_session_read_stop(c->s);
        goto out;
    }
    size_t m = 0; /* the ops of o->object; any other is refused here */
    for (size_t i = 0; i < n; i++) {
        if (!op_in_object(o->ops[i].p, o->ops[i].len, o->object)) {
            p->stats.ops_rejected++;
            continue;
        }
        raws[m] = o->ops[i].p;
        lens[m++] = o->ops[i].len;
    }
    if (m < n)
        ENT_WARN(p->log, "peers: dropped %zu ops of another object", n - m);
    apply_ops(p, c, c->org, o->object, raws, lens, m, NULL, n);
out:
    free(raws);
    free(lens);
}
