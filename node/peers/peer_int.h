/*
 * peer_int.h - internals shared by the files of the peer layer (peer.h).
 * Not a public API: symbols ent__peers_*, ent__sync_*, ent__witness_*.
 * Calls run one way, top to bottom:
 *
 *   peer.c          life cycle, session callbacks, dispatch, timer
 *   peer_join.c     invites, joins on both sides, member removal
 *   peer_ops.c      receiving OPS: rate, verification, apply, ACK
 *   peer_witness.c  HEAD and CONSISTENCY over sessions (node/audit/witness.h)
 *   peer_restore.c  a restored node catching up before it signs
 *   peer_addrs.c    signed address records: ours, received, ADDRS
 *   peer_dial.c     the session set, dialling, backoff, scoring
 *   peer_guard.c    admission: guests, strikes and bans
 *   peer_sync.c     backlog sync progress and credit
 *   peer_send.c     queues, pump (also on the session's CREDIT), push,
 *                   local ops pushed once per loop turn, catch-up jobs
 *   peer_table.c    the peers table, the membership view, helpers
 *
 * (peer_sync.c and peer_send.c call peer_table.c only; peer_addrs.c calls
 * peer_dial.c, peer_send.c and peer_table.c; peer_guard.c calls
 * peer_send.c and peer_table.c; peer_dial.c also calls peer_guard.c;
 * peer_join.c calls peer_dial.c, peer_guard.c, peer_send.c, peer_sync.c and
 * peer_table.c; peer_ops.c also calls peer_join.c.)
 */
#ifndef ENT_PEER_INT_H
#define ENT_PEER_INT_H

#include <uv.h>

#include "node/err.h"
#include "node/peers/invite.h"
#include "node/objects/object.h"
#include "node/peers/gossip.h"
#include "node/peers/peer.h"
#include "protocol/session.h"
#include "protocol/wire.h"

/* A peer row, mirrored in memory (names for display, addresses to dial). */
typedef struct peer_ent {
    uint8_t org[32];
    char name[ENT_WIRE_MAX_NAME_LEN + 1];
    char addrs[ENT_WIRE_MAX_ADDRS][ENT_WIRE_MAX_ADDR_LEN + 1];
    uint8_t naddrs;
    uint64_t last_seen; /* wall ms */
    uint32_t failures;  /* consecutive failed dials, + protocol violations */
    uint32_t score;     /* protocol violations ever (never reset): the
                           redial backoff grows with it (spec/sessions.md) */
    uint64_t next_dial; /* loop ms */
    bool dialling;
    uint8_t *rec;       /* its signed address record (malloc'ed), or NULL */
    size_t reclen;
    uint64_t rec_seq;   /* the record's seq */
    /* its per-session rate buckets (DIGEST, RANGES and LEAF, VV,
     * CONSISTENCY and HEAD, CHUNK_WANT) as its last session left them, and
     * when each was last refilled: its next session starts from them
     * (peer.c, spec/sessions.md "Rate buckets across sessions") */
    struct peer_bucket {
        int64_t tokens; /* x 1000 */
        uint64_t at;    /* loop ms */
        bool set;       /* false: never used, the next session starts full */
    } b_digest, b_recon, b_vv, b_proof, b_chunk;
} peer_ent;

/* An encoded message waiting to be sent. */
typedef struct qmsg {
    struct qmsg *next;
    size_t len;
    uint8_t data[];
} qmsg;

/* One op of a catch-up job, in causal order (ent_gossip_missing). */
typedef ent_gossip_key sync_key;

/* A catch-up job: ops of one object to send, in causal (HLC) order. */
typedef struct sync_job {
    struct sync_job *next;
    uint8_t obj[32];
    sync_key *keys;
    size_t n, i;
    /* a whole history (a join's): keys is a window of ENT_PEERS_HIST_WINDOW
     * refilled from hist once sent; NULL: keys is the whole job */
    ent_gossip_hist *hist;
} sync_job;

#define ENT_PEERS_HIST_WINDOW 1024

typedef struct join join;

/* A tracked backlog sync (peer_sync.c; ent_peers_sync_info). */
typedef struct sync_prog {
    uint64_t id; /* 0: free slot; else increasing (age) */
    ent_sync_state state;
    uint8_t obj[32], peer[32];
    uint64_t join;
    bool expected_known;
    uint64_t expected, received, applied;
    uint64_t processed; /* records whose fate is decided (applied, held,
                           refused) */
    uint64_t credit;
    uint64_t started, ended, last_rx; /* loop ms */
    uint64_t win_at, win_applied, rate;
    bool has_rate;
} sync_prog;

/* One session and what the node knows about it. */
typedef struct conn {
    ent_peers *p;
    ent_session *s;
    struct conn *prev, *next;
    uint8_t org[32];
    bool has_org;
    bool known;     /* member of something, dialled, or joined */
    bool open;      /* established, our HELLO sent */
    bool got_hello;
    bool recon;       /* its HELLO said "recon/1" (spec/gossip.md §13) */
    bool acks;        /* its HELLO said "acks/1": its OPS are answered by
                         ACKS, coalesced per loop turn (peer_send.c) */
    unsigned acks_owed; /* OPS received and applied, not answered yet */
    bool rewind;      /* its HELLO said "rewind/1" (spec/audit.md §11.1) */
    bool rewind_wait; /* we asked it for the head of ours it keeps: our
                         HEAD waits for the answer (peer_witness.c) */
    uint64_t rewind_asked_at; /* loop ms of that ASK */
    bool join_seen; /* inviter side: a JOIN was handled */
    bool closing;
    char name[ENT_WIRE_MAX_NAME_LEN + 1];
    char addrs[ENT_WIRE_MAX_ADDRS][ENT_WIRE_MAX_ADDR_LEN + 1];
    size_t naddrs;
    qmsg *ctl, *ctl_tail; /* control messages (never gated) */
    qmsg *ops, *ops_tail; /* OPS messages (gated by in-flight) */
    size_t queued;
    size_t ctl_queued;  /* of those, in ctl (peer_send.c) */
    unsigned inflight;
    unsigned ops_unanswered; /* OPS received, no ACK decided yet (peer.c) */
    uint64_t stuck_at; /* loop ms the session first refused a message to
                          it, none taken since; 0: none refused
                          (peer_send.c; closed past the idle timeout) */
    sync_job *jobs;
    size_t njobs;
    int64_t tokens; /* op tokens x 1000 */
    uint64_t tokens_at;
    int64_t proof_tokens; /* CONSISTENCY requests x 1000 (peer_witness.c) */
    uint64_t proof_tokens_at;
    bool proof_tokens_set;
    int64_t digest_tokens; /* DIGEST frames x 1000 (peer.c) */
    uint64_t digest_tokens_at;
    bool digest_tokens_set;
    int64_t recon_tokens; /* RANGES and LEAF tokens x 1000 (peer.c) */
    uint64_t recon_tokens_at;
    bool recon_tokens_set;
    int64_t vv_tokens; /* VV frames x 1000 (peer.c) */
    uint64_t vv_tokens_at;
    bool vv_tokens_set;
    uint64_t vv_asked; /* VV+REPLY sent, not answered yet (peer.c) */
    bool dgs_asked;       /* a DIGEST of ours awaits its DIGESTS listing */
    bool dgs_started;     /* ... of which a message came (peer.c) */
    uint64_t dgs_total, dgs_seen; /* its total; entries so far */
    uint8_t dg_last[32]; /* the last DIGEST of this peer answered (peer.c) */
    uint64_t dg_gen;      /* our store's generation then */
    uint64_t dg_at;       /* loop ms; 0: none yet */
    bool read_stopped;
    uint64_t last_rx, last_have;
    unsigned pings;
    join *join;       /* joiner side: the join this session runs */
    bool for_peer;    /* dialled to reconnect a known peer */
    bool guest;       /* inbound, shares no object: may only JOIN (counted
                         in p->nguests) */
    uint64_t opened_at;    /* loop ms: established (the guest deadline) */
    uint64_t stopped_at;   /* loop ms: reading stopped for the op rate */
    uint64_t throttled_ms; /* reading stopped for the op rate, this window */
    uint64_t throttle_win; /* loop ms: start of that window */
    bool former;           /* inbound org removed from an object we share
                              (spec/gossip.md §11): no guest, no member */
    uint8_t addrs_hash[32]; /* the last ADDRS set sent (peer_addrs.c) */
    uint64_t addrs_at;      /* loop ms it was sent */
    uint32_t addrs_budget;  /* records it may still send us this interval */
    uint64_t addrs_win;     /* loop ms: start of that interval */
    int64_t chunk_tokens;   /* chunks it may still ask for x 1000 */
    uint64_t chunk_tokens_at;
    bool chunk_tokens_set;
    uint32_t chunks_owed;   /* chunks we asked it for, not yet received */
    uint64_t chunks_asked_at; /* loop ms of our last CHUNK_WANT to it */
} conn;

/* What peer_guard.c remembers of an org or an address that broke limits. */
typedef struct guard_ent {
    bool used;
    bool is_addr; /* host, else org */
    uint8_t org[32];
    char host[48];
    uint32_t strikes;      /* in the current strike window */
    uint32_t bans;         /* bans so far (the next one doubles) */
    uint64_t last_strike;  /* loop ms */
    uint64_t banned_until; /* loop ms; 0: never banned */
} guard_ent;

struct join {
    uint64_t id; /* 0: free slot */
    ent_join_state state;
    char error[256];
    uint8_t obj[32];
    uint8_t inviter[32];
    uint64_t expected, received;
    ent_invite inv; /* holds the secret until the join ends */
    size_t addr_i;
    conn *c;
    uint64_t started;
    char safety[ENT_SAFETY_CODE_LEN + 1];
};

struct ent_peers {
    ent_node *node;
    ent_objects *eng;
    ent_store *store;
    const ent_log *log;
    const ent_identity *id;
    uv_loop_t *loop;
    ent_session_mgr *mgr;
    uv_timer_t tick;
    bool started, stopping;
    int pending;
    void (*stop_cb)(void *data);
    void *stop_data;
    conn *conns;
    peer_ent *peers;
    size_t npeers, cappeers;
    join joins[ENT_PEERS_MAX_JOINS];
    uint64_t next_join;
    uint32_t dial_base_ms, sync_ms;
    uint32_t keepalive_ms; /* PING after this long without receiving */
    const uint8_t *extra_org; /* also push the next op to this org */
    /* local ops committed this loop turn, pushed together from an idle
     * callback (peer_send.c): one OPS per run of an object, not per op */
    uv_idle_t flush;
    size_t acks_owed;       /* sum of the conns' acks_owed: answered by
                               ACKS from the same idle callback */
    uint8_t *lbuf;          /* the ops' bytes, back to back */
    size_t llen, lcap;
    struct lop { uint8_t obj[32]; size_t off, len; } *lops;
    size_t nlops, caplops;
    uint64_t last_dial_scan;
    uint64_t last_held_sweep; /* loop ms: held ops last expired (engine) */
    ent_peers_stats stats;
    struct ent_witness *wit; /* peer_witness.c; NULL until first used */
    struct ent_chunks *chunks; /* peer_chunks.c; NULL until first used */
    struct ent_gossip *gossip; /* gossip.c: anti-entropy, fanout */
    struct ent_restore *restore; /* peer_restore.c; NULL: not restoring */
    sync_prog syncs[ENT_PEERS_MAX_SYNCS]; /* peer_sync.c */
    uint64_t next_sync;
    ent_peers_limits lim; /* peer_guard.c */
    guard_ent *guards;    /* ENT_PEERS_MAX_GUARDS records */
    size_t nguests;       /* conns with guest set */
    uint8_t *self_rec;    /* our own signed address record (peer_addrs.c) */
    size_t self_len;
    uint64_t self_seq;
    char self_addr[ENT_ADDR_STRLEN];
    ent_peers_ext ext; /* peer_partner.c: the layer above, or zeros */
};

/* peer_table.c: the peers table, the membership view, small helpers */

/* The wall clock in ms. */
uint64_t ent__peers_wall_ms(void);
/* $name as milliseconds (1..3600000), else def. */
uint32_t ent__peers_env_ms(const char *name, uint32_t def);
/* Reads the peers table into p->peers. @return ENT_OK, storage errors. */
int ent__peers_load(ent_peers *p);
/* Writes e's row of the peers table. @return ENT_OK, storage errors. */
int ent__peers_save(ent_peers *p, peer_ent *e);
/* The in-memory row of org, or NULL; valid until the table grows. */
peer_ent *ent__peers_find(ent_peers *p, const uint8_t org[32]);
int ent__peers_upsert(ent_peers *p, const uint8_t org[32], const char *name,
                      const char (*addrs)[ENT_WIRE_MAX_ADDR_LEN + 1],
                      size_t naddrs);
bool ent__peers_is_member(ent_peers *p, const uint8_t obj[32],
                          const uint8_t org[32], uint8_t *role);
bool ent__peers_obj_active(ent_peers *p, const uint8_t obj[32]);
int ent__peers_shared(ent_peers *p, const uint8_t *org, uint8_t (**out)[32],
                      size_t *n);
/* True if this org and org are both active members of some object, or
 * partners (spec/overlap.md §3). */
bool ent__peers_shares_any(ent_peers *p, const uint8_t org[32]);
/* True if org is an active member of one of objs[0..n) (one read). */
bool ent__peers_active_in_any(ent_peers *p, const uint8_t (*objs)[32],
                              size_t n, const uint8_t org[32]);
/* True if org is listed but inactive (removed) in an object where this org
 * is active: a former member (spec/gossip.md §11). */
bool ent__peers_was_member(ent_peers *p, const uint8_t org[32]);
/* Replaces e's signed address record by rec (len bytes, copied) of seq
 * and its addresses by addrs[0..n), and saves the row.
 * @return ENT_OK, ENT_ENOMEM, storage errors. */
int ent__peers_set_record(ent_peers *p, peer_ent *e, const uint8_t *rec,
                          size_t len, uint64_t seq,
                          const char (*addrs)[ENT_WIRE_MAX_ADDR_LEN + 1],
                          size_t n);
/* Frees the records of the in-memory rows. */
void ent__peers_rows_free(ent_peers *p);

/* peer_send.c: queues, pump, push, catch-up jobs */

/* Encodes m and queues it on c (OPS on the gated queue), then pumps.
 * @return ENT_OK, ENT_ELIMIT (queue full: dropped), ENT_EINVAL, ENT_ENOMEM. */
int ent__peers_send(conn *c, const ent_wire_msg *m);
/* Queues ERROR code with text on c and keeps the session open (a refusal
 * of one request, e.g. "not a member" of the object it named). */
void ent__peers_send_error(conn *c, int32_t code, const char *text);
/* Sends what c may send now (control first, then OPS within the window). */
void ent__peers_pump(conn *c);
/* Frees c's queued messages and catch-up jobs. */
void ent__peers_queues_free(conn *c);
/* Sends ERROR/GOODBYE/JOIN_ERR code+text, then closes c with reason. */
void ent__peers_fail(conn *c, int type, int32_t code, const char *text,
                     int reason);
/* A local op (the node's op hook): queued and pushed with the others of
 * this loop turn (ent__peers_flush, from the idle handle p->flush). */
void ent__peers_local_op(ent_peers *p, const uint8_t obj[32],
                         const uint8_t *raw, size_t len);
/* Pushes the queued local ops now (bounded fanout, gossip.h). */
void ent__peers_flush(ent_peers *p);
/* Answers one OPS received on c with ack (an ACK of its object): sent now
 * to a peer without "acks/1"; else counted, and all the OPS answered this
 * loop turn are answered together by one ACKS (spec/protocol.md §3.4) from
 * the idle callback p->flush (ent__peers_acks_flush). */
void ent__peers_ack(conn *c, const ent_wire_msg *ack);
/* Sends the ACKS owed on every session now. */
void ent__peers_acks_flush(ent_peers *p);

/* Pushes ops (raws/lens, n, one object) to every open session whose org is
 * an active member of obj, plus extra (may be NULL), except `except`. */
void ent__peers_push(ent_peers *p, const uint8_t obj[32],
                     const uint8_t *const *raws, const size_t *lens, size_t n,
                     const conn *except, const uint8_t *extra);
/* Queues the whole history of obj for c, read a window at a time from h
 * (ent_gossip_hist_open; the job owns h from here, even on error).
 * @return ENT_OK, ENT_ELIMIT (too many jobs), ENT_ENOMEM. */
int ent__peers_job_add_hist(conn *c, const uint8_t obj[32],
                            ent_gossip_hist *h);
/* Starts a catch-up job on c for obj: every op whose seq is above the peer's
 * vv entry for its author (vv: n_vv entries of 40 bytes). An empty vector
 * (n_vv 0) is the whole history, read through a history cursor a window at
 * a time (ent__peers_job_add_hist). *nops receives the op count (may be
 * NULL). */
int ent__peers_job_add(conn *c, const uint8_t obj[32], const uint8_t *vv,
                       size_t n_vv, uint64_t *nops);

/* peer_addrs.c: signed address records (spec/gossip.md §10) */

/* Sends c, a fellow member, the records of the orgs it shares an object
 * with in our view (ours included) when that set changed since the last
 * ADDRS on c, or ENT_PEERS_ADDRS_REFRESH_MS passed. */
void ent__addrs_round(conn *c);
/* ADDRS from c: verifies, keeps the newer records of fellow members. */
void ent__addrs_receive(conn *c, const ent_wire_addrs *a);
/* Frees our own record. */
void ent__addrs_free(ent_peers *p);

/* peer_dial.c: the session set, dialling, backoff, scoring */

/* A new conn of p, linked into p->conns (NULL: no memory). */
conn *ent__peers_conn_new(ent_peers *p);
/* Unlinks and frees c (its session is gone or never was). */
void ent__peers_conn_free(conn *c);
/* Dials org at addr: a new conn with its session, or NULL. */
conn *ent__peers_dial(ent_peers *p, const char *addr, const uint8_t org[32]);
/* Dials the known peers that are due, share an object and have no session. */
void ent__peers_dial_known(ent_peers *p, uint64_t now);
/* The redial delay after failures: exponential, capped, with jitter. */
uint64_t ent__peers_backoff(ent_peers *p, uint32_t failures);
/* Drops c for a protocol violation (rc, what) and scores its org down. */
void ent__peers_violation(conn *c, int rc, const char *what);

/* peer_guard.c: admission (spec/sessions.md "Guests, strikes and bans") */

/* Allocates the strike records and sets the default limits.
 * @return ENT_OK, ENT_ENOMEM. */
int ent__guard_init(ent_peers *p);
void ent__guard_free(ent_peers *p);
/* Whether an inbound session s of org may open (authorize()): member if
 * org shares an object with this org, else a guest (invites: this node has
 * made an invite). On false the reason is set on s and counted. */
bool ent__guard_admit(ent_peers *p, ent_session *s, const uint8_t org[32],
                      bool member, bool invites);
/* One strike against c's org (an address for a guest): c broke a limit.
 * Enough of them ban it and close its other sessions. */
void ent__guard_strike(conn *c, const char *what);
/* The org of guest c is a member now (JOIN granted, or it shares an
 * object): no longer counted as a guest. Also sets c->known. */
void ent__guard_member(conn *c);
/* Closes guest c for breaking a guest rule (why: static, for the refusal
 * summary); a strike against its address. */
void ent__guard_guest_close(conn *c, const char *why, int reason);
/* c goes away: its guest slot is free. */
void ent__guard_conn_gone(conn *c);
/* Guests past the JOIN deadline are closed; stale records are forgotten. */
void ent__guard_tick(ent_peers *p, uint64_t now);

/* peer_ops.c: receiving OPS */

/* OPS from c (peer.c's dispatch). */
void ent__peers_handle_ops(conn *c, const ent_wire_ops *o);
/* The op token rate per session, ops per second. */
int64_t ent__peers_ops_rate(void);

/* peer_partner.c: partnerships (spec/overlap.md §3) */

/* Inviter side: the partnership invite of c was granted (committed):
 * JOIN_OK without object, c a member now, the layer above told. */
void ent__partner_granted(conn *c, const char *name);
/* Joiner side: JOIN_OK for a partnership invite: records it (and the
 * inviter as a peer, with the token's addresses when its HELLO had none).
 * @return ENT_OK, storage errors. */
int ent__partner_joined(conn *c, const uint8_t invite[16],
                        const char (*taddrs)[ENT_INVITE_MAX_ADDR_LEN + 1],
                        size_t ntaddrs);
/* Tells the layer above that a session with c's org opened or closed. */
void ent__partner_session(conn *c, bool open);
/* OVERLAP from c. */
void ent__partner_message(conn *c, const ent_wire_overlap *o);

/* peer_join.c */
void ent__peers_join_message(conn *c, const ent_wire_msg *m);
void ent__peers_join_closed(conn *c, int reason);
void ent__peers_join_open(conn *c);
void ent__peers_join_ops(conn *c, const uint8_t obj[32], size_t nops);
void ent__peers_handle_join(conn *c, const ent_wire_join *j);
void ent__peers_joins_tick(ent_peers *p, uint64_t now);
void ent__peers_joins_free(ent_peers *p);

/* peer_sync.c: backlog progress and the credit of requested ops */

/* Starts (or, when one is running for peer and obj, updates) the sync of
 * obj from peer: expected (if known) ops, credited as many. join: the
 * join's id or 0. Returns the entry (NULL: never; the oldest is reused). */
sync_prog *ent__sync_start(ent_peers *p, const uint8_t peer[32],
                           const uint8_t obj[32], uint64_t join_id, bool known,
                           uint64_t expected);
/* A VV of obj from c (flags aside): when the peer holds ops we lack, starts
 * or updates the sync with that gap (sum over authors of their seq - ours). */
void ent__sync_vv(conn *c, const uint8_t obj[32], const uint8_t *vv,
                  size_t n_vv);
/* n op records of obj arrived from peer: counts them and returns how many
 * of them the credit covers (taken from it); the rest pays tokens. */
uint64_t ent__sync_on_ops(ent_peers *p, const uint8_t peer[32],
                          const uint8_t obj[32], uint64_t n);
/* nrecv records of obj from peer were processed: napplied stored, nrefused
 * refused by the engine (a refusal ends the credit). */
void ent__sync_processed(ent_peers *p, const uint8_t peer[32],
                         const uint8_t obj[32], uint64_t nrecv,
                         uint64_t napplied, uint64_t nrefused);
/* The last session with peer closed: its running syncs fail. */
void ent__sync_closed(ent_peers *p, const uint8_t peer[32]);
/* The join's sync ends (done: true) or fails. */
void ent__sync_join_end(ent_peers *p, uint64_t join_id, bool done);
void ent__sync_tick(ent_peers *p, uint64_t now);
const sync_prog *ent__sync_of_join(const ent_peers *p, uint64_t join_id);
/* Info of s at loop time now. */
void ent__sync_info(const ent_peers *p, const sync_prog *s, uint64_t now,
                    ent_peers_sync_info *out);

/* peer_restore.c: catching up after a restore (spec/operations.md §3) */

/* At start: if the store carries the restore mark, lists the partners to
 * hear from (none: clears the mark at once). @return ENT_OK, ENT_ENOMEM,
 * storage errors. */
int ent__restore_init(ent_peers *p);
/* ent_gossip_config.in_sync: org sent a DIGEST equal to ours; data is p.
 * Clears the mark once every partner has. */
struct ent_gossip;
void ent__restore_in_sync(struct ent_gossip *g, const uint8_t org[32],
                          void *data);
/* Frees the restore state. Accepts a layer without one. */
void ent__restore_free(ent_peers *p);

/* peer_witness.c: HEAD and CONSISTENCY (spec/audit.md §11) */

/* A session with a fellow member is open (after its HELLO): send our
 * latest head. */
void ent__witness_open(conn *c);
/* HEAD or CONSISTENCY from c. */
void ent__witness_message(conn *c, const ent_wire_msg *m);
/* Housekeeping: a new head to every partner after new entries (rate
 * limited); drops stale pending heads. */
void ent__witness_tick(ent_peers *p, uint64_t now);
/* A session closes: forget its pending heads. */
void ent__witness_closed(conn *c);
/* Frees the layer's witness state. Accepts a layer without one. */
void ent__witness_free(ent_peers *p);

/* peer_chunks.c: CHUNK_WANT and CHUNK (spec/protocol.md) */

/* CHUNK_WANT or CHUNK from c. */
void ent__chunks_message(conn *c, const ent_wire_msg *m);
/* A session closes: its uncommitted chunks are dropped. */
void ent__chunks_closed(conn *c);
/* Frees the layer's fetch state. Accepts a layer without one. */
void ent__chunks_free(ent_peers *p);

#endif
