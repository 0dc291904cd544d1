/*
 * peer.h - the node's network layer: sessions with partner nodes, HELLO,
 * invite and join, pushing and relaying ops, catch-up and the peers table
 * (spec/sessions.md "Node level", spec/invites.md section 7,
 * spec/protocol.md, spec/storage.md "peers").
 *
 * One ent_peers per node (node.c creates it next to the object engine).
 * It runs an ent_session_mgr on the node's loop, takes over the node's peer
 * listener, and:
 *
 *   - says HELLO first on every session and keeps the peers table
 *     (ENT_TBL_PEERS: org -> name, addresses, last seen, failures);
 *   - dials known peers that share an active object with this org, and
 *     redials them with exponential backoff and jitter
 *     ($ENTENTE_DIAL_BASE_MS, default 1000 ms, cap 30 s);
 *   - lets an org that shares no object with this one in only as a guest
 *     (this node made an invite, within the guest limits, not banned),
 *     which may send HELLO and one JOIN within ENT_PEERS_GUEST_JOIN_MS and
 *     nothing else; drops and, after repeated violations, bans peers that
 *     keep breaking the limits (peer_guard.c, spec/sessions.md "Guests,
 *     strikes and bans");
 *   - sends every op this node creates (ent_node_set_op_cb) to the
 *     connected orgs that are active members of its object, and nobody else
 *     (invariant 2); applies received OPS from active members only, ACKs
 *     them and relays newly applied ops to the other connected members;
 *   - on every session with a fellow member exchanges per-object version
 *     vectors (HAVE) and sends what the other side lacks, in causal order,
 *     at most ENT_WIRE_PEER_MAX_INFLIGHT OPS unacknowledged; again every
 *     $ENTENTE_SYNC_MS (default 5000 ms);
 *   - runs joins asynchronously (ent_peers_join / ent_peers_join_json).
 *
 * Everything runs on the node's loop thread. No globals.
 */
#ifndef ENT_PEER_H
#define ENT_PEER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "node/node.h"

typedef struct ent_peers ent_peers;

#define ENT_PEERS_DIAL_BASE_MS 1000  /* first redial delay */
#define ENT_PEERS_DIAL_CAP_MS 30000  /* longest redial delay */
#define ENT_PEERS_SYNC_MS 5000       /* anti-entropy HAVE round */
#define ENT_PEERS_TICK_MS 50         /* housekeeping timer */
/* CONSISTENCY requests answered per session (spec/audit.md §11) */
#define ENT_PEERS_PROOFS_PER_SEC 10
#define ENT_PEERS_PROOFS_BURST 20
/* DIGEST frames answered per session (spec/gossip.md "Digest cache") */
#define ENT_PEERS_DIGESTS_PER_SEC 5
#define ENT_PEERS_DIGESTS_BURST 10
#define ENT_PEERS_DIGEST_REPEAT_MS 1000 /* an equal DIGEST within: skipped */
/* RANGES and LEAF processed per session (spec/gossip.md §13.3): tokens a
 * second and at once; a RANGES takes one, a LEAF one per 8 entries */
#define ENT_PEERS_RECON_PER_SEC 1024
#define ENT_PEERS_RECON_BURST 4096
#define ENT_PEERS_RECON_LEAF_PER_TOKEN 8
/* VV frames processed per session (spec/gossip.md §3 "VV rate limit"),
 * answers to a VV+REPLY of ours aside */
#define ENT_PEERS_VV_PER_SEC 1024
#define ENT_PEERS_VV_BURST 4096
#define ENT_PEERS_MAX_QUEUE (4u << 20) /* bytes queued per session */
#define ENT_PEERS_CHUNKS_PER_SEC 4096 /* chunks a member may ask for a second */
#define ENT_PEERS_CHUNKS_BURST 256    /* ... and at once */
#define ENT_PEERS_CHUNKS_OWED 32      /* chunks asked of one session and not
                                         yet received, at most */
#define ENT_PEERS_CHUNK_STALE_MS 5000 /* an unanswered ask is forgotten */

/*
 * Fetches the missing chunks of the latest attachment named name of object
 * obj from connected members (spec/protocol.md "CHUNK_WANT and CHUNK"):
 * asks each fellow member session that owes nothing for the next missing
 * chunks, and keeps asking as chunks arrive, for ENT_PEERS_FETCH_MS after
 * the last call. *have and *total get the chunks held and listed.
 * @return ENT_OK, ENT_ENOENT (no such attachment), storage errors.
 */
#define ENT_PEERS_FETCH_MS 30000
int ent_peers_fetch(ent_peers *p, const uint8_t obj[32], const char *name,
                    size_t *have, size_t *total);
#define ENT_PEERS_MAX_JOBS 16        /* catch-up jobs per session */
#define ENT_PEERS_MAX_JOINS 32       /* joins remembered */
#define ENT_PEERS_JOIN_TIMEOUT_MS 120000
#define ENT_PEERS_MAX_VV 102         /* (author, seq) pairs in one HAVE */
#define ENT_PEERS_VV_ENTRY 40        /* author (32) || seq (u64 BE) */
#define ENT_PEERS_MAX_SYNCS 64       /* backlog syncs tracked (GET /v1/status) */
#define ENT_PEERS_SYNC_KEEP_MS 60000 /* a finished sync stays this long */
#define ENT_PEERS_SYNC_IDLE_MS 60000 /* a sync with no OPS this long: failed */
#define ENT_PEERS_SYNC_WINDOW_MS 1000 /* rate window */

/* Guests, strikes and bans (spec/sessions.md; ent_peers_limits). */
#define ENT_PEERS_MAX_GUESTS 16          /* guest sessions at once */
#define ENT_PEERS_MAX_GUESTS_PER_ADDR 4  /* of those, from one IP address */
#define ENT_PEERS_GUEST_JOIN_MS 10000    /* a guest's JOIN, from the open */
#define ENT_PEERS_BAN_STRIKES 3          /* strikes within the window: ban */
#define ENT_PEERS_STRIKE_WINDOW_MS 60000 /* later: the count starts again */
#define ENT_PEERS_BAN_MS 60000           /* first ban; doubles each time */
#define ENT_PEERS_BAN_MAX_MS 3600000     /* longest ban; record kept for */
#define ENT_PEERS_THROTTLE_MAX_MS 30000  /* op-rate pauses per window */
#define ENT_PEERS_MAX_GUARDS 1024        /* strike records kept */
/* direct connections between members (spec/gossip.md §10) */
#define ENT_PEERS_MAX_DIALLED 64          /* sessions dialled to peers at once */
#define ENT_PEERS_ADDRS_REFRESH_MS 10000  /* ADDRS again, changed or not: a peer
                                           that ignored a record (the org's
                                           membership had not reached it)
                                           gets it within 10 s */
#define ENT_PEERS_ADDRS_BUDGET 64         /* records taken per session per
                                             sync interval */
#define ENT_PEERS_ADDRS_FUTURE_MS 600000  /* a record's seq may be this far
                                             ahead of our clock */

/* The admission limits of one layer (defaults above; tests shorten them). */
typedef struct ent_peers_limits {
    uint32_t max_guests;
    uint32_t max_guests_per_addr;
    uint32_t guest_join_ms;
    uint32_t ban_strikes;
    uint32_t strike_window_ms;
    uint32_t ban_ms;
    uint32_t ban_max_ms;
    uint32_t throttle_max_ms;
    uint32_t max_dialled; /* sessions dialled to fellow members at once
                             (spec/gossip.md §10) */
} ent_peers_limits;

/* Join states (GET /v1/joins/ID "state"). */
typedef enum ent_join_state {
    ENT_JOIN_DIALLING = 0,
    ENT_JOIN_JOINING,
    ENT_JOIN_SYNCING,
    ENT_JOIN_DONE,
    ENT_JOIN_FAILED,
} ent_join_state;

/* Counters (tests, logs). */
typedef struct ent_peers_stats {
    uint64_t sessions_opened;
    uint64_t ops_sent;         /* op records sent in OPS */
    uint64_t ops_msgs_sent;    /* OPS messages sent */
    uint64_t acks_msgs_sent;   /* ACK messages sent (one per OPS, to a
                                  peer without "acks/1") */
    uint64_t acks_coalesced;   /* OPS answered through an ACKS */
    uint64_t acks_sent;        /* ACKS messages sent (spec/protocol.md §3.4) */
    uint64_t ops_received;     /* op records received in OPS */
    uint64_t ops_applied;      /* newly applied from the network */
    uint64_t ops_relayed;      /* op records forwarded to other members */
    uint64_t ops_nonmember;    /* op records dropped: sender not a member */
    uint64_t ops_rejected;     /* op records the engine refused */
    uint64_t queue_dropped;    /* OPS dropped: session queue full; and
                                  control messages dropped: 4 MiB of them
                                  queued to a peer that reads nothing */
    uint64_t violations;       /* peers dropped for a protocol violation */
    uint64_t denied;           /* guest messages refused */
    uint64_t joins_ok, joins_failed; /* as inviter */
    /* per-session op rate limit (spec/protocol.md section 5) */
    uint64_t ops_credited;     /* op records admitted on the credit of a
                                  request of ours (no tokens taken) */
    uint64_t ops_metered;      /* op records charged to the token bucket */
    uint64_t rate_stops;       /* reading paused: a bucket ran dry */
    /* admission (spec/sessions.md "Guests, strikes and bans") */
    uint64_t guests_admitted; /* inbound sessions let in as guests */
    uint64_t guests_refused;  /* guests refused: a guest limit was full */
    uint64_t guests_closed;   /* guests closed: a message other than JOIN,
                                 or no JOIN in time */
    uint64_t strikes;         /* strikes against orgs and addresses */
    uint64_t bans;            /* bans imposed */
    uint64_t banned_refused;  /* sessions refused: banned org or address */
    /* consistency proofs asked of this node's log (spec/audit.md §11) */
    uint64_t proofs_answered; /* CONSISTENCY requests answered */
    uint64_t proofs_refused;  /* refused: over the per-session rate (and
                                 HEAD dropped over it) */
    uint64_t digests_refused; /* DIGEST refused: over the per-session rate
                                 (spec/gossip.md "Digest cache") */
    uint64_t digests_repeated; /* DIGEST equal to the one the same session
                                  sent less than 1 s before, with this
                                  node's store unchanged: skipped (rounds
                                  that piled up while this node was busy) */
    uint64_t recon_refused;   /* RANGES and LEAF not answered: over the
                                 per-session rate (spec/gossip.md §13.3) */
    uint64_t digests_unasked; /* DIGESTS not processed: no DIGEST of ours
                                 awaited them (spec/gossip.md §3) */
    uint64_t vv_refused;      /* VV not processed: over the per-session
                                 rate (spec/gossip.md §3) */
    uint64_t stuck_closed;    /* sessions closed: nothing queued for the
                                 peer was taken for the idle timeout, it
                                 reads nothing (spec/protocol.md §5) */
    /* signed address records (spec/gossip.md §10) */
    uint64_t addrs_sent;      /* records sent in ADDRS */
    uint64_t addrs_stored;    /* records taken: newer, of a fellow member */
    uint64_t addrs_ignored;   /* records not taken (older, not a fellow
                                 member, our own, over the budget, ahead of
                                 our clock, no valid address) */
    uint64_t formers_admitted; /* inbound sessions of removed orgs (§11) */
    /* attachment chunks (spec/protocol.md "CHUNK_WANT and CHUNK") */
    uint64_t chunks_sent;      /* CHUNK sent in answer to CHUNK_WANT */
    uint64_t chunks_received;  /* CHUNK stored: hash listed, asked for */
    uint64_t chunks_refused;   /* CHUNK_WANT hashes refused: not a member,
                                  over the rate or the queue */
    uint64_t chunks_bad;       /* CHUNK dropped: unasked, or its hash is in
                                  no manifest of the object (tampered) */
} ent_peers_stats;

/* Backlog sync states (GET /v1/status "syncs"). */
typedef enum ent_sync_state {
    ENT_SYNC_RECEIVING = 1,
    ENT_SYNC_DONE,
    ENT_SYNC_FAILED, /* the session closed, or no OPS for a minute */
} ent_sync_state;

/* One backlog sync: the ops of one object this node asked one peer for
 * (a join's history, or what a version vector exchange found missing). */
typedef struct ent_peers_sync_info {
    uint8_t object[32];
    uint8_t peer[32];
    ent_sync_state state;
    uint64_t join;           /* the join's id, 0: anti-entropy catch-up */
    bool expected_known;
    uint64_t expected;       /* ops asked for (when known) */
    uint64_t received;       /* op records received since the start */
    uint64_t applied;        /* of them, now stored (new or already held) */
    uint64_t credit;         /* ops still admitted without rate tokens */
    uint64_t elapsed_ms;     /* since the start (to the end when finished) */
    uint64_t ops_per_sec;    /* applied per second, recent window */
} ent_peers_sync_info;

/*
 * Creates the layer of node n (not started). n is borrowed.
 * @return ENT_OK, ENT_ENOMEM, storage errors (reading the peers table).
 */
int ent_peers_new(ent_peers **out, ent_node *n);

/*
 * Starts it once the node listens: creates the session manager, installs
 * the peer accept hook and the op hook, starts the timer and dials known
 * peers. @return ENT_OK, ENT_ENOMEM, ENT_ECRYPTO.
 */
int ent_peers_start(ent_peers *p);

/* Closes every session and the timer; cb(data) runs once all are closed
 * (at once when never started). */
void ent_peers_stop(ent_peers *p, void (*cb)(void *data), void *data);

/* Frees a stopped (or never started) layer. Accepts NULL. */
void ent_peers_free(ent_peers *p);

/* A node restored from a backup (spec/operations.md §3). */
typedef struct ent_peers_restore_info {
    bool catching_up; /* local writes refused until caught up */
    size_t partners;  /* orgs to hear from (sharing an object with us) */
    size_t in_sync;   /* of them, sent a DIGEST equal to ours */
} ent_peers_restore_info;

/* The restore state of p (all zero: not restoring). p may be NULL. */
void ent_peers_restore_get(const ent_peers *p, ent_peers_restore_info *out);

/*
 * The operator allows local writes now (spec/operations.md §3.3): clears
 * the restore mark, with a warning in the log when partners were still
 * missing. @return ENT_OK, storage errors.
 */
int ent_peers_restore_done(ent_peers *p);

/* The display name of org from the peers table, or NULL. Borrowed until
 * the next call into the layer. */
const char *ent_peers_org_name(ent_peers *p, const uint8_t org[ENT_PK_LEN]);

/*
 * Creates an invite for object obj (this org must be its active owner or
 * admin) with role (ENT_ROLE_ADMIN/MEMBER/VIEWER) valid ttl seconds, stores
 * its record with an invite_issued log entry (one transaction) and returns
 * the token (*token: malloc'ed, the caller wipes and frees it), its expiry
 * (unix seconds) and the invite id as 32 hex chars.
 * @return ENT_OK, ENT_ENOENT (no such object), ENT_EDENIED (not an admin
 *         or removed), ENT_EINVAL, ENT_ENOMEM, storage errors.
 */
int ent_peers_invite(ent_peers *p, const uint8_t obj[32], uint8_t role,
                     uint64_t ttl, char **token, uint64_t *expiry,
                     char invite_id[33]);

/*
 * Starts joining with token (len bytes). Parse and expiry errors are
 * reported at once with a message in err (errlen bytes); otherwise a join
 * runs in the background and *id names it.
 * @return ENT_OK; ENT_ECHECKSUM, ENT_ETRUNCATED, ENT_ECORRUPT, ENT_EVERSION,
 *         ENT_ETOOBIG, ENT_EINVAL (not a token, or our own invite),
 *         ENT_EEXPIRED, ENT_EEXIST (already a member), ENT_ELIMIT (too many
 *         joins running), ENT_ECLOSED (not started).
 */
int ent_peers_join(ent_peers *p, const char *token, size_t len, uint64_t *id,
                   char *err, size_t errlen);

/* {"join","state","object","ops","expected","error","inviter","safety"} of
 * join id; the caller json_decref()s. @return ENT_OK, ENT_ENOENT. */
int ent_peers_join_json(ent_peers *p, uint64_t id, json_t **out);

/*
 * Removes org from obj (ent_obj_remove_member) and pushes the op to the
 * remaining members and to org itself; afterwards org receives nothing of
 * obj. @return as ent_obj_remove_member.
 */
int ent_peers_remove_member(ent_peers *p, const uint8_t obj[32],
                            const uint8_t org[ENT_PK_LEN]);

/*
 * Gives active member org of obj another role (an add_member op with the
 * new role; owner/admin only, seniority as for removals) and pushes it.
 * @return ENT_OK, ENT_ENOENT (no object), ENT_ENOTMEMBER (org is not an
 * active member: invite it), ENT_EEXIST (it has that role), ENT_EINVAL
 * (the owner), ENT_EDENIED, storage errors.
 */
int ent_peers_set_role(ent_peers *p, const uint8_t obj[32],
                       const uint8_t org[ENT_PK_LEN], uint8_t role);

/*
 * This org leaves obj on its own (ent_obj_leave) and pushes the op to the
 * members; afterwards it receives nothing of obj. @return as ent_obj_leave.
 */
int ent_peers_leave(ent_peers *p, const uint8_t obj[32]);

/*
 * The invites this node made (of obj; NULL: all), in id order:
 * [{"invite_id","object","role","created","expires","status","used_by",
 * "used_at"}] with times in Unix seconds (used_at 0 while unused), status
 * "pending", "expired" or "used", used_by the joiner's org id or null. The
 * caller json_decref()s *out. @return ENT_OK, ENT_ENOMEM, ENT_ECORRUPT,
 * storage errors.
 */
int ent_peers_invites_json(ent_peers *p, const uint8_t *obj, json_t **out);

/*
 * Revokes the unused invite id (16 bytes): its token can never be redeemed.
 * @return ENT_OK, ENT_ENOENT (no such invite), ENT_EUSED (already used:
 * kept as history), storage errors.
 */
int ent_peers_invite_revoke(ent_peers *p, const uint8_t id[16]);

/* [{"org","name","addrs","connected","safety","last_seen"}] from the peers
 * table; the caller json_decref()s. */
int ent_peers_list_json(ent_peers *p, json_t **out);

/*
 * The newest backlog sync of object obj (from any peer) into *out.
 * @return ENT_OK, ENT_ENOENT (none tracked).
 */
int ent_peers_sync_get(const ent_peers *p, const uint8_t obj[32],
                       ent_peers_sync_info *out);

/*
 * The tracked backlog syncs, newest first, as a JSON array (GET /v1/status
 * "syncs", spec/api.md): [{"object","peer","peer_name","join","state",
 * "expected","received","applied","ops_per_sec","eta_seconds",
 * "elapsed_ms"}]; "expected" and "eta_seconds" are null when unknown,
 * "join" null for a catch-up. The caller json_decref()s.
 * @return ENT_OK, ENT_ENOMEM.
 */
int ent_peers_syncs_json(ent_peers *p, json_t **out);

/* Counters. */
void ent_peers_stats_get(const ent_peers *p, ent_peers_stats *out);

/* The counters of the peer layer's gossip (node/peers/gossip.h). */
struct ent_gossip_stats;
void ent_peers_gossip_stats(const ent_peers *p, struct ent_gossip_stats *out);

/* The counters of the layer's session manager (protocol/session.h:
 * handshakes, refusals, drops by reason, bytes); zeros when it has none. */
struct ent_session_stats;
void ent_peers_session_stats(const ent_peers *p, struct ent_session_stats *out);

/* Fills l with the defaults (ENT_PEERS_MAX_GUESTS ...). */
void ent_peers_limits_default(ent_peers_limits *l);

/* Replaces p's admission limits; zero fields keep their current value.
 * They apply at once (a shorter join deadline to guests already in). */
void ent_peers_set_limits(ent_peers *p, const ent_peers_limits *l);

/*
 * The session counters of GET /v1/status "sessions" (spec/api.md):
 * {"open","guests","guests_closed","refused","bans","banned"}: open
 * sessions and guests now, guests closed and connections refused since the
 * start (the refusal summary's count), bans imposed since the start and
 * orgs or addresses banned now. The caller json_decref()s.
 * @return ENT_OK, ENT_ENOMEM.
 */
int ent_peers_sessions_json(ent_peers *p, json_t **out);

/* ---- partnerships and the account-overlap interface (spec/overlap.md) -- */

/*
 * Makes a partnership invite (ENT_INVITE_ROLE_PARTNER, no object) valid
 * ttl seconds: stores its record with an invite_issued entry and returns
 * the token (*token: malloc'ed; the caller wipes and frees it), its expiry
 * and id as for ent_peers_invite(). Redeemed with ent_peers_join(): both
 * sides then hold a partnership record (node/peers/partner.h) with a
 * partner_added log entry, and the two orgs keep sessions as fellow
 * members do. @return ENT_OK, ENT_EINVAL, ENT_ENOMEM, storage errors.
 */
int ent_peers_partner_invite(ent_peers *p, uint64_t ttl, char **token,
                             uint64_t *expiry, char invite_id[33]);

/* True if org is an active partner (ENT_TBL_PARTNERS). */
bool ent_peers_is_partner(ent_peers *p, const uint8_t org[ENT_PK_LEN]);

/* [{"org","name","state","side","since_ms","connected"}] of the
 * partnership records; the caller json_decref()s.
 * @return ENT_OK, ENT_ENOMEM, storage errors. */
int ent_peers_partners_json(ent_peers *p, json_t **out);

struct ent_wire_overlap;

/*
 * What a layer above (node/overlap/) hands the peer layer: on_overlap for
 * every OVERLAP message from an active partner (m valid during the call;
 * from anyone else it is refused with ERROR DENIED); on_session when a
 * session with an org opens (HELLO done) or closes. Called on the loop
 * thread; they must not free the layer.
 */
typedef struct ent_peers_ext {
    void (*on_overlap)(void *data, const uint8_t org[ENT_PK_LEN],
                       const struct ent_wire_overlap *m);
    void (*on_session)(void *data, const uint8_t org[ENT_PK_LEN], bool open);
    void *data;
} ent_peers_ext;

/* Installs ext (copied; NULL removes it). */
void ent_peers_set_ext(ent_peers *p, const ent_peers_ext *ext);

/* True if a session with org is open, past HELLO and no join. */
bool ent_peers_ready(ent_peers *p, const uint8_t org[ENT_PK_LEN]);

/* Queues an OVERLAP message to org. @return ENT_OK, ENT_ECLOSED (no ready
 * session), ENT_ELIMIT (its queue is full: try later), ENT_EINVAL. */
int ent_peers_overlap_send(ent_peers *p, const uint8_t org[ENT_PK_LEN],
                           const struct ent_wire_overlap *m);

/* Bytes queued to org's ready session (0 when none): flow control. */
size_t ent_peers_queued(ent_peers *p, const uint8_t org[ENT_PK_LEN]);

/* Number of open sessions with org (tests). */
size_t ent_peers_connected(const ent_peers *p, const uint8_t org[ENT_PK_LEN]);

/* The address advertised to partners (HELLO, invites), chosen by
 * ent_advertise_pick() (node/peers/advertise.h): $ENTENTE_ADVERTISE, else
 * the home's setting "advertise", else the bound listen address, with a
 * wildcard host replaced by the outward interface's address (else
 * loopback). */
void ent_peers_advertised(ent_peers *p, char out[ENT_ADDR_STRLEN]);

#endif
