/*
 * peer.c - the peer layer's top (see peer.h): its life cycle (ent_peers_new,
 * start, stop, free), the session callbacks (authorize, established,
 * closed), the dispatch of every received message to its handler (HELLO
 * and HAVE here; OPS in peer_ops.c, joins in peer_join.c, gossip in
 * gossip.c, heads in peer_witness.c), the housekeeping timer, the gossip
 * transport over the sessions, the node's op hook, counters and
 * GET /v1/peers. It composes the other peer_*.c files, which share the
 * internals of peer_int.h and never call back into this one.
 */
#include "node/peers/peer_int.h"
#include "protocol/flow.h"
#include "node/peers/gossip.h"
#include "node/peers/verify.h"

#include <uv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- receiving: HELLO, HAVE and the dispatch ----------------------------- */

/* Starts an anti-entropy round with c (spec/gossip.md): one DIGEST. */
static void send_haves(conn *c) {
    if (!c->has_org)
        return;
    int rc = ent_gossip_round(c->p->gossip, c->org);
    if (rc != ENT_OK && rc != ENT_ENOENT)
        ENT_DEBUG(c->p->log, "peers: gossip round: %s", ent_strerror(rc));
    c->last_have = uv_now(c->p->loop);
    ent__addrs_round(c); /* signed address records (peer_addrs.c) */
}

/*
 * The per-session rate buckets belong to the org, not to one session
 * (spec/sessions.md "Rate buckets across sessions"): a session that
 * closes leaves their levels, and when each was last refilled, in the
 * org's peer record; a new one starts from another open session of the
 * org, else from the record. Each refills for the time since as before
 * (take_tokens), so a reconnect within the refill time starts where the
 * last session left off, and one after it finds the buckets full.
 */
#define BUCKETS(X)                                                         \
    X(b_digest, digest_tokens) X(b_recon, recon_tokens) X(b_vv, vv_tokens) \
    X(b_proof, proof_tokens) X(b_chunk, chunk_tokens)

static void buckets_save(const conn *c, peer_ent *e) {
#define SAVE(b, t)                                                         \
    if (c->t##_set)                                                        \
        e->b = (struct peer_bucket){c->t, c->t##_at, true};
    BUCKETS(SAVE)
#undef SAVE
}

static void buckets_load(conn *c) {
    peer_ent *e = ent__peers_find(c->p, c->org), tmp;
    if (e == NULL)
        return;
    tmp = *e;
    for (conn *d = c->p->conns; d != NULL; d = d->next)
        if (d != c && d->has_org && d->got_hello &&
            memcmp(d->org, c->org, 32) == 0)
            buckets_save(d, &tmp);
#define LOAD(b, t)                                                         \
    if (tmp.b.set && !c->t##_set) {                                        \
        c->t = tmp.b.tokens;                                               \
        c->t##_at = tmp.b.at;                                              \
        c->t##_set = true;                                                 \
    }
    BUCKETS(LOAD)
#undef LOAD
}

static void handle_hello(conn *c, const ent_wire_hello *h) {
    ent_peers *p = c->p;
    if (h->version < 1) {
        ent__peers_fail(c, ENT_WIRE_ERROR, ENT_WIRE_C_VERSION,
                        "no common version", ENT_EVERSION);
        return;
    }
    c->got_hello = true;
    /* credit both ways when both speak flow/1 (spec/protocol.md §3.9) */
    bool flow = false;
    for (size_t i = 0; i < h->ncaps && !flow; i++)
        flow = strcmp(h->caps[i], ENT_FLOW_CAP) == 0;
    ent_session_set_flow(c->s, flow);
    for (size_t i = 0; i < h->ncaps && !c->recon; i++)
        c->recon = strcmp(h->caps[i], ENT_WIRE_RECON_CAP) == 0;
    /* coalesced ACKs (spec/protocol.md §3.4): we list acks/1 too */
    for (size_t i = 0; i < h->ncaps && !c->acks; i++)
        c->acks = strcmp(h->caps[i], ENT_WIRE_ACKS_CAP) == 0;
    for (size_t i = 0; i < h->ncaps && !c->rewind; i++)
        c->rewind = strcmp(h->caps[i], ENT_WIRE_REWIND_CAP) == 0;
    snprintf(c->name, sizeof(c->name), "%s", h->name);
    c->naddrs = h->naddrs;
    for (size_t i = 0; i < h->naddrs; i++)
        snprintf(c->addrs[i], sizeof(c->addrs[i]), "%s", h->addrs[i]);
    if (!c->known && ent__peers_shares_any(p, c->org))
        ent__guard_member(c); /* became a partner since the handshake */
    if (c->known && c->join == NULL)
        ent__peers_upsert(p, c->org, c->name, c->addrs, c->naddrs);
    if (c->has_org)
        buckets_load(c);
    ent__peers_join_open(c);
    ent__witness_open(c); /* our signed tree head (spec/audit.md §11) */
    if (c->known)
        send_haves(c);
    if (c->known && c->join == NULL)
        ent__partner_session(c, true);
}

static void handle_have(conn *c, const ent_wire_summary *s) {
    ent_peers *p = c->p;
    if (s->len % ENT_PEERS_VV_ENTRY != 0) {
        ent__peers_violation(c, ENT_EPROTO, "bad HAVE summary");
        return;
    }
    if (!ent__peers_is_member(p, s->object, c->org, NULL) ||
        !ent__peers_obj_active(p, s->object)) {
        ent__peers_send_error(c, ENT_WIRE_C_NOTMEMBER, "not a member");
        return;
    }
    int rc = ent__peers_job_add(c, s->object, s->bytes ? s->bytes : (const uint8_t *)"",
                                s->len / ENT_PEERS_VV_ENTRY, NULL);
    if (rc != ENT_OK && rc != ENT_ELIMIT)
        ENT_WARN(p->log, "peers: catch-up: %s", ent_strerror(rc));
}

/*
 * cost tokens out of a per-session bucket of rate tokens a second, at most
 * burst (all whole; the bucket counts thousandths): false, and nothing
 * taken, when it holds fewer. Full at the org's first use; buckets_load
 * carries the level over from its earlier sessions.
 */
static bool take_tokens(int64_t *tokens, uint64_t *at, bool *set,
                        int64_t rate, int64_t burst, int64_t cost,
                        uint64_t now) {
    if (!*set) {
        *set = true;
        *tokens = burst * 1000;
        *at = now;
    }
    *tokens += (int64_t)(now - *at) * rate;
    *at = now;
    if (*tokens > burst * 1000)
        *tokens = burst * 1000;
    if (*tokens < cost * 1000)
        return false;
    *tokens -= cost * 1000;
    return true;
}

/*
 * The per-session bucket of DIGEST frames: ENT_PEERS_DIGESTS_PER_SEC tokens
 * a second, at most ENT_PEERS_DIGESTS_BURST; a DIGEST takes one or is
 * refused (as CONSISTENCY requests in peer_witness.c). An equal digest is
 * answered from the cache, a different one costs a listing of every shared
 * object: the bucket bounds how often one member can ask for it.
 */
static bool digest_token(conn *c, uint64_t now) {
    return take_tokens(&c->digest_tokens, &c->digest_tokens_at,
                       &c->digest_tokens_set, ENT_PEERS_DIGESTS_PER_SEC,
                       ENT_PEERS_DIGESTS_BURST, 1, now);
}

/*
 * The per-session bucket of RANGES and LEAF frames (spec/gossip.md §13.3):
 * ENT_PEERS_RECON_PER_SEC tokens a second, at most ENT_PEERS_RECON_BURST;
 * a RANGES takes one, a LEAF one per ENT_PEERS_RECON_LEAF_PER_TOKEN
 * entries it lists (at least one), or the frame is dropped unanswered,
 * without an ERROR, and the session stays. A RANGES costs up to 17 range
 * reads and 16 answers, a LEAF a range's entries and a VV per listed
 * object that differs (up to 1,000); with flow/1 nothing else bounds how
 * many a member sends. Nothing is lost by a drop: the next DIGEST round
 * finds the same difference again.
 */
static bool recon_token(conn *c, const ent_wire_msg *m, uint64_t now) {
    int64_t cost = 1;
    if (m->type == ENT_WIRE_LEAF && m->u.leaf.n > 0)
        cost = (int64_t)((m->u.leaf.n + ENT_PEERS_RECON_LEAF_PER_TOKEN - 1) /
                         ENT_PEERS_RECON_LEAF_PER_TOKEN);
    return take_tokens(&c->recon_tokens, &c->recon_tokens_at,
                       &c->recon_tokens_set, ENT_PEERS_RECON_PER_SEC,
                       ENT_PEERS_RECON_BURST, cost, now);
}

/*
 * The per-session bucket of VV frames (spec/gossip.md §3 "VV rate limit"):
 * ENT_PEERS_VV_PER_SEC tokens a second, at most ENT_PEERS_VV_BURST; a VV
 * takes one or is dropped unread, without an ERROR, and the session stays.
 * A VV costs a lookup in equivocations and in the op index per author it
 * lists (up to 1,024), a scan of the object's ops for the catch-up and,
 * with REPLY, another for the answer; with flow/1 nothing else bounds how
 * many a member sends. A VV without REPLY while a VV+REPLY this node sent
 * on c is unanswered is that answer: it takes no token, so the answers of
 * a backlog sync this node asked for are never dropped. Nothing is lost by
 * a drop: the next round finds the same difference again.
 */
static bool vv_token(conn *c, const ent_wire_vv *v, uint64_t now) {
    if (!(v->flags & ENT_WIRE_VV_REPLY) && c->vv_asked > 0) {
        c->vv_asked--;
        return true;
    }
    return take_tokens(&c->vv_tokens, &c->vv_tokens_at, &c->vv_tokens_set,
                       ENT_PEERS_VV_PER_SEC, ENT_PEERS_VV_BURST, 1, now);
}

/*
 * Whether DIGESTS d answers a DIGEST this node sent on c (spec/gossip.md §3
 * step 3): one listing per DIGEST sent, its messages until their entries
 * add up to the first one's total or one holds fewer than
 * ENT_WIRE_MAX_DIGESTS; one with another total ends it unprocessed. Each
 * costs a read of every object shared with c's org, and a whole listing a
 * VV for each it leaves out: unasked, a 10-byte DIGESTS would cost that
 * over and over.
 */
static bool digests_asked(conn *c, const ent_wire_digests *d) {
    if (!c->dgs_asked)
        return false;
    if (!c->dgs_started) {
        c->dgs_started = true;
        c->dgs_total = d->total;
        c->dgs_seen = 0;
    } else if (d->total != c->dgs_total) {
        c->dgs_asked = false;
        return false;
    }
    c->dgs_seen += d->n;
    if (c->dgs_seen >= c->dgs_total || d->n < ENT_WIRE_MAX_DIGESTS)
        c->dgs_asked = false;
    return true;
}

/*
 * A DIGEST equal to the last one c sent that this node answered, less than
 * ENT_PEERS_DIGEST_REPEAT_MS ago, while this node's store has not changed:
 * the answer would be the one already sent. Such rounds pile up in the
 * socket while this node is busy (a long commit); they are skipped without
 * a token, so an honest peer never trips the digest rate. Otherwise the
 * DIGEST is remembered as the last one and goes on.
 */
static bool digest_repeated(conn *c, const ent_wire_digest *d) {
    uint64_t now = uv_now(c->p->loop), gen = 0;
    if (ent_store_generation(c->p->store, &gen) != ENT_OK)
        return false;
    if (c->dg_at != 0 && now - c->dg_at < ENT_PEERS_DIGEST_REPEAT_MS &&
        c->dg_gen == gen && memcmp(c->dg_last, d->digest, 32) == 0) {
        c->p->stats.digests_repeated++;
        return true;
    }
    memcpy(c->dg_last, d->digest, 32);
    c->dg_gen = gen;
    c->dg_at = now ? now : 1;
    return false;
}

static void on_message(ent_session *s, const uint8_t *msg, size_t len,
                       void *data) {
    conn *c = ent_session_data(s);
    ent_wire_msg m;
    if (c == NULL || c->closing)
        return;
    c->last_rx = uv_now(c->p->loop);
    c->pings = 0;
    int rc = ent_wire_decode(&m, msg, len);
    if (rc != ENT_OK) {
        ent__peers_violation(c, rc, "malformed message");
        return;
    }
    /* a guest may say HELLO and JOIN (or GOODBYE), nothing else
     * (spec/sessions.md "Guests, strikes and bans") */
    if (c->guest && m.type != ENT_WIRE_HELLO && m.type != ENT_WIRE_JOIN &&
        m.type != ENT_WIRE_GOODBYE) {
        c->p->stats.denied++;
        ENT_DEBUG(c->p->log, "peers: %s from a guest: denied",
                  ent_wire_type_name(m.type));
        ent__guard_guest_close(c, "guest: a message other than JOIN",
                               ENT_EDENIED);
        goto out;
    }
    if (m.type == ENT_WIRE_UNKNOWN)
        goto out;
    if (!c->got_hello) {
        if (m.type == ENT_WIRE_HELLO)
            handle_hello(c, &m.u.hello);
        else
            ent__peers_violation(c, ENT_EPROTO, "message before HELLO");
        goto out;
    }
    switch (m.type) {
    case ENT_WIRE_HELLO:
        ent__peers_violation(c, ENT_EPROTO, "second HELLO");
        break;
    case ENT_WIRE_JOIN:
        if (c->join_seen || ent_session_is_initiator(s))
            ent__peers_violation(c, ENT_EPROTO, "unexpected JOIN");
        else
            ent__peers_handle_join(c, &m.u.join);
        break;
    case ENT_WIRE_JOIN_OK:
    case ENT_WIRE_JOIN_ERR:
        ent__peers_join_message(c, &m);
        break;
    case ENT_WIRE_OPS:
        /* the peer may have at most ENT_WIRE_PEER_MAX_INFLIGHT OPS without
         * ACK: an honest one counts the ACKs it has received, never more
         * than this node has answered, so it is never over (spec/protocol.md
         * §5); ent__peers_ack answers them */
        if (++c->ops_unanswered > ENT_WIRE_PEER_MAX_INFLIGHT) {
            ent__peers_violation(c, ENT_ELIMIT, "OPS in flight");
            break;
        }
        ent__peers_handle_ops(c, &m.u.ops);
        break;
    case ENT_WIRE_ACK:
        if (c->inflight > 0)
            c->inflight--;
        ent__peers_pump(c);
        break;
    case ENT_WIRE_ACKS:
        /* count ACKs at once; only from a peer that said acks/1 (as we
         * do), and never more than the OPS it has not answered yet */
        if (!c->acks || m.u.acks.count > c->inflight) {
            ent__peers_violation(c, ENT_EPROTO, "unexpected ACKS");
            break;
        }
        c->inflight -= m.u.acks.count;
        ent__peers_pump(c);
        break;
    case ENT_WIRE_HAVE:
        handle_have(c, &m.u.summary);
        break;
    case ENT_WIRE_WANT:
        break; /* version 1 nodes answer HAVE only */
    case ENT_WIRE_VV:
        if (!vv_token(c, &m.u.vv, uv_now(c->p->loop))) {
            c->p->stats.vv_refused++;
            break;
        }
        /* what the peer holds and we lack: progress and credit */
        ent__sync_vv(c, m.u.vv.object, m.u.vv.bytes,
                     m.u.vv.len / ENT_PEERS_VV_ENTRY);
        /* fall through */
    case ENT_WIRE_DIGEST:
    case ENT_WIRE_DIGESTS:
    case ENT_WIRE_RANGES:
    case ENT_WIRE_LEAF:
        if (m.type == ENT_WIRE_DIGEST && digest_repeated(c, &m.u.digest))
            break;
        if (m.type == ENT_WIRE_DIGEST && !digest_token(c, uv_now(c->p->loop))) {
            c->p->stats.digests_refused++;
            c->dg_at = 0; /* not answered: not a repeat of an answer */
            ent__peers_send_error(c, ENT_WIRE_C_LIMIT, "digest rate");
            break;
        }
        if (m.type == ENT_WIRE_DIGESTS && !digests_asked(c, &m.u.digests)) {
            c->p->stats.digests_unasked++;
            break;
        }
        /* (from a peer without recon/1 they go on to be a violation) */
        if ((m.type == ENT_WIRE_RANGES || m.type == ENT_WIRE_LEAF) &&
            c->recon && !recon_token(c, &m, uv_now(c->p->loop))) {
            c->p->stats.recon_refused++;
            break;
        }
        rc = ent_gossip_on_message(c->p->gossip, c->org, &m);
        if (rc == ENT_EPROTO)
            ent__peers_violation(c, rc, "bad gossip message");
        else if (rc != ENT_OK)
            ENT_WARN(c->p->log, "peers: gossip: %s", ent_strerror(rc));
        break;
    case ENT_WIRE_HEAD:
    case ENT_WIRE_CONSISTENCY:
    case ENT_WIRE_REWIND:
        ent__witness_message(c, &m);
        break;
    case ENT_WIRE_CHUNK_WANT:
    case ENT_WIRE_CHUNK:
        ent__chunks_message(c, &m);
        break;
    case ENT_WIRE_ADDRS:
        if (!c->former)
            ent__addrs_receive(c, &m.u.addrs);
        break;
    case ENT_WIRE_OVERLAP:
        ent__partner_message(c, &m.u.overlap);
        break;
    case ENT_WIRE_PING: {
        ent_wire_msg r = m;
        r.type = ENT_WIRE_PONG;
        ent__peers_send(c, &r);
        break;
    }
    case ENT_WIRE_PONG:
        break;
    case ENT_WIRE_ERROR:
        ENT_INFO(c->p->log, "peers: %s says ERROR %d: %s",
                 ent_session_peer_addr(s), (int)m.u.error.code,
                 m.u.error.text);
        /* PROTO, VERSION, TOOBIG: the session is over. A LIMIT may refuse
         * one request only (a DIGEST or CONSISTENCY over its rate, while
         * this node's frames waited in a busy peer's socket): the sender
         * closes when it means it (spec/protocol.md §3.7) */
        if (m.u.error.code >= ENT_WIRE_C_PROTO &&
            m.u.error.code < ENT_WIRE_C_LIMIT) {
            c->closing = true;
            ent_session_close(s, ent_wire_code_to_err(m.u.error.code));
        }
        break;
    case ENT_WIRE_GOODBYE:
        c->closing = true;
        ent_session_close(s, ENT_OK);
        break;
    default:
        ent__peers_violation(c, ENT_EPROTO, "unexpected message");
        break;
    }
out:
    ent_wire_msg_clear(&m);
}

/* ---- session callbacks -------------------------------------------------------- */

/* Whether an unknown org may come in (as a guest: HELLO and JOIN only). */
typedef struct pend_ctx {
    bool any;
} pend_ctx;

/* Any invite record, pending, used or expired: a joiner with a used or
 * expired token then gets a JOIN_ERR that says so. A node that never made
 * an invite lets no stranger in. */
static int pend_rec(void *data, const ent_invite_record *r) {
    pend_ctx *c = data;
    c->any = true;
    return 1;
}

static int pend_fn(ent_txn *txn, void *data) {
    return ent_invite_list(txn, pend_rec, data);
}

static bool authorize(ent_session *s, const uint8_t org[ENT_PK_LEN],
                      void *data) {
    ent_peers *p = data;
    conn *c = ent_session_data(s);
    if (memcmp(org, ent_identity_public(p->id), 32) == 0) {
        ent_session_set_refusal(s, "our own org");
        return false; /* ourselves */
    }
    if (c == NULL) {
        /* inbound: a member, a former member (removed: it may learn so,
         * spec/gossip.md §11), or a guest within the limits
         * (peer_guard.c) */
        bool known = ent__peers_shares_any(p, org);
        bool former = !known && ent__peers_was_member(p, org);
        pend_ctx pc = {.any = false};
        if (!known && !former)
            ent_store_read(p->store, pend_fn, &pc);
        if (!ent__guard_admit(p, s, org, known || former, pc.any))
            return false;
        if ((c = ent__peers_conn_new(p)) == NULL)
            return false;
        c->s = s;
        c->known = known;
        c->former = former;
        if (former)
            p->stats.formers_admitted++;
        if (!known && !former) {
            c->guest = true;
            p->nguests++;
            p->stats.guests_admitted++;
        }
        ent_session_set_data(s, c);
    } else {
        c->known = true; /* we dialled this org on purpose */
    }
    memcpy(c->org, org, 32);
    c->has_org = true;
    return true;
}

/* The peer granted credit: what waited for it goes now. */
static void writable(ent_session *s, void *data) {
    conn *c = ent_session_data(s);
    if (c != NULL)
        ent__peers_pump(c);
}

static void established(ent_session *s, void *data) {
    ent_peers *p = data;
    conn *c = ent_session_data(s);
    if (c == NULL)
        return;
    ent_wire_msg m;
    char adv[ENT_ADDR_STRLEN];
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_HELLO;
    m.u.hello.version = ENT_WIRE_VERSION;
    snprintf(m.u.hello.caps[0], sizeof(m.u.hello.caps[0]), "%s",
             ENT_FLOW_CAP);
    snprintf(m.u.hello.caps[1], sizeof(m.u.hello.caps[1]), "%s",
             ENT_WIRE_RECON_CAP);
    snprintf(m.u.hello.caps[2], sizeof(m.u.hello.caps[2]), "%s",
             ENT_WIRE_ACKS_CAP);
    snprintf(m.u.hello.caps[3], sizeof(m.u.hello.caps[3]), "%s",
             ENT_WIRE_REWIND_CAP);
    m.u.hello.ncaps = 4;
    snprintf(m.u.hello.name, sizeof(m.u.hello.name), "%s",
             ent_node_name(p->node));
    ent_peers_advertised(p, adv);
    if (adv[0] != '\0') {
        snprintf(m.u.hello.addrs[0], sizeof(m.u.hello.addrs[0]), "%s", adv);
        m.u.hello.naddrs = 1;
    }
    c->open = true;
    c->opened_at = uv_now(p->loop);
    p->stats.sessions_opened++;
    if (c->for_peer) {
        peer_ent *e = ent__peers_find(p, c->org);
        if (e != NULL)
            e->failures = 0;
    }
    ent__peers_send(c, &m);
}

static void closed(ent_session *s, int reason, void *data) {
    ent_peers *p = data;
    conn *c = ent_session_data(s);
    if (c == NULL)
        return;
    if (c->known && c->got_hello) { /* the session layer logged the open */
        char org[ENT_ORG_ID_LEN + 1];
        ent_org_id_format(org, c->org);
        ENT_INFO(p->log, "peers: session with %.12s (%s) closed after %llu s: "
                         "%s",
                 org, c->name,
                 (unsigned long long)((uv_now(p->loop) - c->opened_at) / 1000),
                 reason == ENT_OK ? "closed" : ent_strerror(reason));
    }
    if (c->has_org && c->got_hello && c->known)
        ent__partner_session(c, false);
    if (c->has_org) {
        peer_ent *e = ent__peers_find(p, c->org);
        if (e != NULL && c->got_hello)
            buckets_save(c, e);
        if (e != NULL && c->for_peer) {
            e->dialling = false;
            if (!c->open)
                e->failures++;
            uint64_t nd = uv_now(p->loop) +
                          ent__peers_backoff(p, e->failures + e->score);
            if (nd > e->next_dial) /* keep a longer violation backoff */
                e->next_dial = nd;
        } else if (e != NULL && c->open) {
            uint64_t nd = uv_now(p->loop) + ent__peers_backoff(p, e->score);
            if (nd > e->next_dial)
                e->next_dial = nd;
        }
    }
    /* the session layer dropped an open session for a limit (frame rate or
     * size, a frame that fails to decrypt): a strike (peer_guard.c) */
    if (c->open && !c->closing &&
        (reason == ENT_ELIMIT || reason == ENT_ETOOBIG ||
         reason == ENT_EPROTO || reason == ENT_EDECRYPT))
        ent__guard_strike(c, ent_err_name(reason));
    ent__peers_join_closed(c, reason);
    ent__witness_closed(c);
    ent__chunks_closed(c);
    if (c->has_org && c->open) {
        bool other = false;
        for (conn *d = p->conns; d != NULL && !other; d = d->next)
            other = d != c && d->open && !d->closing && d->has_org &&
                    memcmp(d->org, c->org, 32) == 0;
        if (!other)
            ent__sync_closed(p, c->org);
    }
    ent_session_set_data(s, NULL);
    ent__peers_conn_free(c);
}

static void on_accept(ent_node *n, struct uv_stream_s *server, void *data) {
    ent_peers *p = data;
    if (p->mgr != NULL && !p->stopping)
        ent_session_mgr_accept(p->mgr, server);
}

/* The op hook of the node: every op this node commits goes to the members. */
static void on_local_op(ent_node *n, const uint8_t *raw, size_t len,
                        const uint8_t object[32], void *data) {
    ent_peers *p = data;
    const uint8_t *raws[1] = {raw};
    size_t lens[1] = {len};
    if (p->extra_org != NULL) { /* a removal: to every member and to org */
        ent__peers_flush(p);    /* after the ops before it */
        ent__peers_push(p, object, raws, lens, 1, NULL, p->extra_org);
    } else { /* with the others of this loop turn (peer_send.c) */
        ent__peers_local_op(p, object, raw, len);
    }
}

/* ---- timer: back-pressure, rate, pings, anti-entropy, dialling ----------- */

static void on_tick(uv_timer_t *t) {
    ent_peers *p = t->data;
    uint64_t now = uv_now(p->loop);
    for (conn *c = p->conns, *nx; c != NULL; c = nx) {
        nx = c->next;
        if (!c->open || c->closing)
            continue;
        if (c->read_stopped) {
            c->tokens += (int64_t)(now - c->tokens_at) * ent__peers_ops_rate();
            c->tokens_at = now;
            if (c->tokens >= 0) {
                c->read_stopped = false;
                c->throttled_ms += now - c->stopped_at;
                ent_session_read_start(c->s);
            }
        }
        /* throttled again and again: dropped, not just slowed down */
        if (!ent_session_flow_on(c->s) &&
            c->throttled_ms + (c->read_stopped ? now - c->stopped_at : 0) >=
                p->lim.throttle_max_ms) {
            ent__peers_violation(c, ENT_ELIMIT, "ops rate, again and again");
            continue;
        }
        if (!c->guest && now - c->last_rx > p->keepalive_ms &&
            c->pings < ENT_WIRE_PEER_MAX_PINGS &&
            now - c->last_rx > (uint64_t)p->keepalive_ms * (c->pings + 1)) {
            ent_wire_msg m;
            memset(&m, 0, sizeof(m));
            m.type = ENT_WIRE_PING;
            ent_random(m.u.nonce, sizeof(m.u.nonce));
            c->pings++;
            ent__peers_send(c, &m);
        }
        /* a round only once the peer said something since the last one
         * (or after the keepalive): rounds never pile up in the socket of
         * a peer whose loop is busy (spec/gossip.md §4) */
        if (c->got_hello && c->known && now - c->last_have >= p->sync_ms &&
            (c->last_rx >= c->last_have ||
             now - c->last_have >= p->keepalive_ms))
            send_haves(c);
        ent__peers_pump(c);
        /* outbound full past the idle timeout: the session took nothing
         * queued for the peer since it first refused (its pending bytes
         * full, or no credit): a peer that reads nothing (it may well keep
         * sending) is closed (spec/protocol.md §5) */
        if (c->stuck_at != 0 && !c->closing && now >= c->stuck_at &&
            (c->ctl != NULL || c->ops != NULL || c->jobs != NULL) &&
            now - c->stuck_at >= ent_session_mgr_idle_timeout(p->mgr)) {
            p->stats.stuck_closed++;
            ENT_INFO(p->log, "peers: closing %s: it read nothing sent to it "
                             "within the idle timeout",
                     ent_session_peer_addr(c->s));
            c->closing = true;
            ent_session_close(c->s, ENT_ETIMEOUT);
        }
    }
    if (now - p->last_dial_scan >= 200 || p->last_dial_scan == 0) {
        p->last_dial_scan = now;
        ent__peers_dial_known(p, now);
    }
    /* held ops expire (spec/objects.md "Held ops") */
    if (now - p->last_held_sweep >= 60000 || p->last_held_sweep == 0) {
        p->last_held_sweep = now;
        size_t dropped = 0;
        if (ent_obj_expire_held(p->eng, &dropped) == ENT_OK && dropped > 0)
            ENT_INFO(p->log, "peers: %zu held ops expired", dropped);
    }
    ent__guard_tick(p, now);
    ent__peers_joins_tick(p, now);
    ent__sync_tick(p, now);
    ent__witness_tick(p, now);
}

/* ---- gossip transport (gossip.h) over the sessions ----------------------- */

static conn *conn_of(ent_peers *p, const uint8_t org[32]) {
    for (conn *c = p->conns; c != NULL; c = c->next)
        if (c->open && !c->closing && c->has_org && c->got_hello &&
            memcmp(c->org, org, 32) == 0)
            return c;
    return NULL;
}

static int gossip_send(void *data, const uint8_t org[32],
                       const ent_wire_msg *m) {
    conn *c = conn_of(data, org);
    if (c == NULL)
        return ENT_ECLOSED;
    int rc = ent__peers_send(c, m);
    /* its answer takes no token of c's VV bucket (vv_token) */
    if (rc == ENT_OK && m->type == ENT_WIRE_VV &&
        (m->u.vv.flags & ENT_WIRE_VV_REPLY))
        c->vv_asked++;
    return rc;
}

/* Distinct orgs with an open session (guests too: gossip checks that each
 * is an active member of the object before it sends anything). */
static size_t gossip_peers(void *data, uint8_t (*out)[32], size_t cap) {
    ent_peers *p = data;
    size_t n = 0;
    for (conn *c = p->conns; c != NULL && n < cap; c = c->next) {
        if (!c->open || c->closing || !c->has_org || !c->got_hello)
            continue;
        bool dup = false;
        for (size_t i = 0; i < n && !dup; i++)
            dup = memcmp(out[i], c->org, 32) == 0;
        if (!dup)
            memcpy(out[n++], c->org, 32);
    }
    return n;
}

/* Whether org's session said "recon/1" in its HELLO. */
static bool gossip_recon(void *data, const uint8_t org[32]) {
    conn *c = conn_of(data, org);
    return c != NULL && c->recon;
}

static int gossip_catch_up(void *data, const uint8_t org[32],
                           const uint8_t obj[32], const uint8_t *vv,
                           size_t n_vv) {
    conn *c = conn_of(data, org);
    if (c == NULL)
        return ENT_ECLOSED;
    int rc = ent__peers_job_add(c, obj, vv ? vv : (const uint8_t *)"", n_vv,
                                NULL);
    return rc == ENT_ELIMIT ? ENT_OK : rc; /* the next round retries */
}

/* ---- life cycle -------------------------------------------------------------- */

int ent_peers_new(ent_peers **out, ent_node *n) {
    *out = NULL;
    ent_peers *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return ENT_ENOMEM;
    p->node = n;
    p->eng = ent_node_objects(n);
    p->store = ent_node_store(n);
    p->log = ent_node_log(n);
    p->id = ent_node_identity(n);
    p->loop = ent_node_loop(n);
    p->dial_base_ms =
        ent__peers_env_ms("ENTENTE_DIAL_BASE_MS", ENT_PEERS_DIAL_BASE_MS);
    p->sync_ms = ent__peers_env_ms("ENTENTE_SYNC_MS", ENT_PEERS_SYNC_MS);
    p->keepalive_ms =
        ent__peers_env_ms("ENTENTE_KEEPALIVE_MS", ENT_WIRE_PING_INTERVAL_MS);
    ent_gossip_config gc = {.store = p->store,
                            .eng = p->eng,
                            .id = p->id,
                            .log = p->log,
                            .tr = {.send = gossip_send,
                                   .peers = gossip_peers,
                                   .catch_up = gossip_catch_up,
                                   .recon = gossip_recon,
                                   .data = p},
                            .in_sync = ent__restore_in_sync,
                            .in_sync_data = p,
                            .loop = p->loop};
    if (ent_gossip_new(&p->gossip, &gc) != ENT_OK ||
        ent__guard_init(p) != ENT_OK) {
        ent_peers_free(p);
        return ENT_ENOMEM;
    }
    int rc = ent__peers_load(p);
    if (rc != ENT_OK) {
        ent_peers_free(p);
        return rc;
    }
    *out = p;
    return ENT_OK;
}

int ent_peers_start(ent_peers *p) {
    ent_session_callbacks cb = {authorize, established, on_message, closed,
                                writable};
    if (p->started)
        return ENT_EINVAL;
    int rc = ent__restore_init(p);
    if (rc != ENT_OK)
        return rc;
    rc = ent_session_mgr_new(&p->mgr, p->loop, p->id, p->log, &cb, p);
    if (rc != ENT_OK)
        return rc;
    /* tests shorten the interval of the refusal summary line */
    ent_session_config sc;
    memset(&sc, 0, sizeof(sc));
    sc.refusal_log_ms =
        ent__peers_env_ms("ENTENTE_REFUSAL_LOG_MS", ENT_SESSION_REFUSAL_LOG_MS);
    ent_session_mgr_set_config(p->mgr, &sc);
    ent_session_mgr_set_flow(p->mgr, true); /* spec/protocol.md §3.9 */
    uv_timer_init(p->loop, &p->tick);
    p->tick.data = p;
    uv_idle_init(p->loop, &p->flush);
    p->flush.data = p;
    p->started = true;
    uv_timer_start(&p->tick, on_tick, ENT_PEERS_TICK_MS, ENT_PEERS_TICK_MS);
    ent_node_set_peer_accept_cb(p->node, on_accept, p);
    ent_node_set_op_cb(p->node, on_local_op, p);
    return ENT_OK;
}

static void stop_one(ent_peers *p) {
    if (--p->pending > 0)
        return;
    if (p->stop_cb != NULL) {
        void (*cb)(void *) = p->stop_cb;
        p->stop_cb = NULL;
        cb(p->stop_data);
    }
}

static void mgr_closed(ent_session_mgr *m, void *data) {
    ent_peers *p = data;
    p->mgr = NULL;
    stop_one(p);
}

static void tick_closed(uv_handle_t *h) {
    stop_one(h->data);
}

static void verifier_drained(void *data) {
    stop_one(data);
}

void ent_peers_stop(ent_peers *p, void (*cb)(void *data), void *data) {
    if (p == NULL || p->stopping) {
        return;
    }
    p->stopping = true;
    ent_node_set_op_cb(p->node, NULL, NULL);
    ent_node_set_peer_accept_cb(p->node, NULL, NULL);
    if (!p->started) {
        if (cb != NULL)
            cb(data);
        return;
    }
    p->stop_cb = cb;
    p->stop_data = data;
    p->pending = 5; /* tick, flush, session manager, verifier, this call */
    uv_close((uv_handle_t *)&p->tick, tick_closed);
    ent__peers_acks_flush(p); /* the ACKS owed, then the ops of this turn, */
    ent__peers_flush(p);      /* before GOODBYE */
    uv_close((uv_handle_t *)&p->flush, tick_closed);
    for (conn *c = p->conns; c != NULL; c = c->next) {
        if (c->open && !c->closing) {
            ent_wire_msg m;
            memset(&m, 0, sizeof(m));
            m.type = ENT_WIRE_GOODBYE;
            m.u.error.code = ENT_WIRE_C_SHUTDOWN;
            ent__peers_send(c, &m);
        }
    }
    ent_session_mgr_close(p->mgr, mgr_closed, p);
    /* batches in the thread pool are applied before the node stops */
    ent_verifier_drain(ent_gossip_verifier(p->gossip), verifier_drained, p);
    stop_one(p);
}

void ent_peers_free(ent_peers *p) {
    if (p == NULL)
        return;
    while (p->conns != NULL)
        ent__peers_conn_free(p->conns);
    ent__peers_joins_free(p);
    ent__witness_free(p);
    ent__chunks_free(p);
    ent__restore_free(p);
    ent__guard_free(p);
    ent_gossip_free(p->gossip);
    ent__addrs_free(p);
    ent__peers_rows_free(p);
    free(p->peers);
    free(p->lbuf);
    free(p->lops);
    free(p);
}

void ent_peers_stats_get(const ent_peers *p, ent_peers_stats *out) {
    *out = p->stats;
}

void ent_peers_gossip_stats(const ent_peers *p, ent_gossip_stats *out) {
    ent_gossip_stats_get(p->gossip, out);
}

void ent_peers_session_stats(const ent_peers *p, ent_session_stats *out) {
    memset(out, 0, sizeof(*out));
    if (p->mgr != NULL)
        ent_session_mgr_stats(p->mgr, out);
}

size_t ent_peers_connected(const ent_peers *p, const uint8_t org[ENT_PK_LEN]) {
    size_t n = 0;
    for (const conn *c = p->conns; c != NULL; c = c->next)
        if (c->open && !c->closing && c->has_org &&
            memcmp(c->org, org, 32) == 0)
            n++;
    return n;
}

/* ---- GET /v1/peers -------------------------------------------------------------- */

int ent_peers_list_json(ent_peers *p, json_t **out) {
    json_t *arr = json_array();
    if (arr == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < p->npeers; i++) {
        const peer_ent *e = &p->peers[i];
        char org[ENT_ORG_ID_LEN + 1], safety[ENT_SAFETY_CODE_LEN + 1];
        ent_org_id_format(org, e->org);
        ent_safety_code(ent_identity_public(p->id), e->org, safety);
        json_t *addrs = json_array();
        for (size_t k = 0; addrs != NULL && k < e->naddrs; k++)
            json_array_append_new(addrs, json_string(e->addrs[k]));
        json_t *o = json_pack("{s:s,s:s,s:o,s:b,s:s,s:I,s:I,s:I}", "org", org,
                              "name",
                              e->name, "addrs", addrs ? addrs : json_array(),
                              "connected", ent_peers_connected(p, e->org) > 0,
                              "safety", safety, "last_seen",
                              (json_int_t)(e->last_seen / 1000), "failures",
                              (json_int_t)e->failures, "score",
                              (json_int_t)e->score);
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return ENT_ENOMEM;
        }
    }
    *out = arr;
    return ENT_OK;
}
