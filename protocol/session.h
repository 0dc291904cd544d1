/*
 * session.h - authenticated, encrypted node-to-node sessions over TCP.
 *
 * The session layer moves opaque, already-encoded messages between two orgs
 * that have proved who they are. It knows nothing of objects or of message
 * contents: what a message means (HELLO, OPS, PING...) is the node's
 * business (protocol/wire.h). spec/sessions.md describes the behaviour and
 * every limit; spec/handshake.md the handshake it runs.
 *
 *   ent_session_mgr_new()      one manager per node, on a borrowed loop
 *   ent_session_mgr_listen()   or ent_session_mgr_accept() from the node's
 *                              own listener hook
 *   ent_session_dial()         Noise XX as initiator; responder on accept
 *   callbacks: authorize -> established -> message* -> closed
 *   ent_session_send()         one message per encrypted frame
 *   ent_session_close()        asynchronous; closed() follows
 *   ent_session_mgr_close()    closes everything; the manager is freed once
 *                              every handle is closed
 *
 * Every function must be called on the loop's thread. Nothing here is
 * global: many managers can share one loop.
 */
#ifndef ENT_SESSION_H
#define ENT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "node/log.h"
#include "protocol/wire.h"

struct uv_loop_s;
struct uv_stream_s;

typedef struct ent_session_mgr ent_session_mgr;
typedef struct ent_session ent_session;

/* Largest message ent_session_send() takes: one Noise transport message
 * (65535 bytes) minus its 16-byte tag (65519). */
#define ENT_SESSION_MAX_MSG ENT_WIRE_MAX_MSG

/* Defaults of ent_session_config (spec/sessions.md); where
 * spec/protocol.md section 5 fixes a per-peer limit, it is that one. */
#define ENT_SESSION_HANDSHAKE_TIMEOUT_MS                                       \
    ENT_WIRE_HANDSHAKE_TIMEOUT_MS                            /* 10 s */
#define ENT_SESSION_IDLE_TIMEOUT_MS ENT_WIRE_IDLE_TIMEOUT_MS /* 60 s */
#define ENT_SESSION_MAX_SESSIONS 256  /* all states, per manager */
#define ENT_SESSION_MAX_HANDSHAKES 32 /* connecting or handshaking */
#define ENT_SESSION_MAX_HANDSHAKES_PER_ADDR                                    \
    8 /* of those, accepted from one                                           \
         IP address */
#define ENT_SESSION_MAX_PENDING ENT_WIRE_PEER_MAX_PENDING /* 1 MiB to send */
#define ENT_SESSION_LINGER_MS 2000 /* graceful close: flush for at most */
#define ENT_SESSION_FRAMES_PER_SEC ENT_WIRE_PEER_FRAMES_PER_SEC /* 500/s */
#define ENT_SESSION_FRAMES_BURST ENT_WIRE_PEER_FRAMES_BURST     /* 1000 */
#define ENT_SESSION_REKEY_INTERVAL 4294967296ULL /* 2^32 msgs per direction */
#define ENT_SESSION_REFUSAL_LOG_MS 60000 /* one summary line of refusals per   \
                                          */
#define ENT_SESSION_REFUSAL_REASONS 16   /* reasons told apart per line */
#define ENT_SESSION_REFUSAL_ADDRS 256    /* addresses told apart per line */

typedef struct ent_session_config {
    uint32_t handshake_timeout_ms;    /* from accept/dial to session open */
    uint32_t idle_timeout_ms;         /* open session receiving nothing */
    uint32_t max_sessions;            /* sessions in any state */
    uint32_t max_handshakes;          /* of those, not yet open */
    size_t max_pending;               /* bytes queued to send per session */
    uint32_t linger_ms;               /* how long a graceful close may flush */
    uint32_t frames_per_sec;          /* transport frames received: rate and */
    uint32_t frames_burst;            /* burst of a token bucket per session */
    uint32_t max_handshakes_per_addr; /* accepted, not yet open, per IP */
    uint32_t refusal_log_ms;          /* interval of the refusal summary line */
} ent_session_config;

/* Fills c with the defaults above. */
void ent_session_config_default(ent_session_config *c);

/*
 * Callbacks. The session pointer is valid from the first callback that
 * names it until closed() returns. Each may be NULL except as noted.
 *
 * authorize: called on both sides once the peer has proved that it holds
 *   the org key remote_org (signature and key binding checked, and for a
 *   dialled session remote_org equals the expected org). Return true to
 *   open the session. NULL accepts every org (tests only).
 * established: the session is open; ent_session_send() may be used.
 * message: one whole message of len bytes (1..ENT_SESSION_MAX_MSG), in
 *   order; msg is borrowed for the duration of the call.
 * closed: the session is gone; reason is the error that ended it (ENT_OK or
 *   what was passed to ent_session_close(), ENT_ECLOSED when the peer hung
 *   up, ENT_ETIMEOUT, ENT_EDECRYPT, ENT_EDENIED...). Called exactly once for
 *   every session returned by ent_session_dial() and every accepted session
 *   that reached authorize; connections dropped earlier are only counted.
 *   The session is freed right after it returns.
 *
 * Any callback may call ent_session_send(), ent_session_close() (on any
 * session), ent_session_dial() and ent_session_mgr_close().
 */
typedef struct ent_session_callbacks {
    bool (*authorize)(ent_session *s, const uint8_t remote_org[ENT_PK_LEN],
                      void *data);
    void (*established)(ent_session *s, void *data);
    void (*message)(ent_session *s, const uint8_t *msg, size_t len, void *data);
    void (*closed)(ent_session *s, int reason, void *data);
    /* writable (may be NULL): the peer granted more credit, or flow
     * control turned out to be off for s: sends that ent_session_send()
     * held back with ENT_ELIMIT may go now. */
    void (*writable)(ent_session *s, void *data);
} ent_session_callbacks;

/* Counters of one manager (ent_session_mgr_stats). */
typedef struct ent_session_stats {
    uint64_t sessions;      /* now: sessions in any state */
    uint64_t handshaking;   /* now: connecting or in the handshake */
    uint64_t accepted;      /* connections accepted */
    uint64_t dialled;       /* connections dialled */
    uint64_t refused_limit; /* connections refused: too many sessions
                               or handshakes */
    uint64_t refused_addr;  /* connections refused: too many handshakes
                               from that IP address */
    uint64_t refused;       /* every refusal the summary log counts: the
                               two above, accepted connections dropped
                               before they opened, authorize() refusals and
                               those the node reports (ent_session_mgr_refused) */
    uint64_t handshakes_ok;
    uint64_t handshakes_failed;     /* any failure before the session opened */
    uint64_t frames_in, frames_out; /* handshake and transport frames */
    uint64_t bytes_in, bytes_out;   /* bytes on the socket */
    uint64_t messages_in, messages_out;
    uint64_t rekeys;       /* Noise Rekey() calls, both directions */
    uint64_t send_refused; /* ent_session_send() said ENT_ELIMIT */
    /* peers dropped, by reason */
    uint64_t drop_too_big;      /* length prefix over the current maximum */
    uint64_t drop_proto;        /* zero length, wrong handshake frame size or
                                   payload, frame out of turn */
    uint64_t drop_decrypt;      /* a handshake or transport message failed
                                   authentication */
    uint64_t drop_bad_sig;      /* identity proof signature invalid */
    uint64_t drop_key_mismatch; /* org key does not match the Noise static */
    uint64_t drop_wrong_org;    /* dialled org is not the expected one */
    uint64_t drop_unauthorized; /* authorize() said no */
    uint64_t drop_hs_timeout;   /* handshake not finished in time */
    uint64_t drop_idle;         /* open session silent too long */
    uint64_t drop_net;          /* connect, resolve, read or write error */
    uint64_t peer_closed;       /* the peer hung up (EOF), in any state */
    uint64_t drop_nonce;        /* transport nonce exhausted (2^64-1) */
    uint64_t drop_rate;         /* frames received faster than allowed */
    uint64_t drop_credit;       /* messages received past the credit this
                                   node granted (flow/1) */
    uint64_t credits_sent, credits_received; /* CREDIT messages */
    uint64_t credit_waits; /* ent_session_send() held a message back for
                              want of credit (the sender waits) */
} ent_session_stats;

/*
 * Creates a manager. loop, id and log are borrowed and must outlive it
 * (log may be NULL); cb is copied. Defaults from ent_session_config_default.
 * Free it with ent_session_mgr_close().
 * @return ENT_OK, ENT_EINVAL, ENT_ENOMEM, ENT_ECRYPTO (key conversion).
 */
int ent_session_mgr_new(ent_session_mgr **out, struct uv_loop_s *loop,
                        const ent_identity *id, const ent_log *log,
                        const ent_session_callbacks *cb, void *data);

/* Replaces the configuration (zero fields keep their current value). Timeouts
 * apply to sessions started afterwards, the other limits at once. */
void ent_session_mgr_set_config(ent_session_mgr *m,
                                const ent_session_config *c);

/* The idle timeout in force (ms; ENT_SESSION_IDLE_TIMEOUT_MS unless
 * ent_session_mgr_set_config changed it); 0 for a NULL m. */
uint32_t ent_session_mgr_idle_timeout(const ent_session_mgr *m);

/*
 * Binds a listener of its own on addr ("HOST:PORT", IPv4 or [IPv6] literal;
 * port 0 picks one) and accepts peers on it. At most one listener.
 * @return ENT_OK, ENT_EINVAL (bad address, or already listening),
 *         ENT_EBUSY (address in use), ENT_EPERM, ENT_ENET.
 */
int ent_session_mgr_listen(ent_session_mgr *m, const char *addr);

/* The bound address "HOST:PORT" of the listener, or "" without one.
 * Borrowed, valid as long as m. */
const char *ent_session_mgr_listen_addr(const ent_session_mgr *m);

/*
 * Accepts one pending connection from server (a listening TCP stream owned
 * by the caller, e.g. in the node's ent_node_set_peer_accept_cb hook) and
 * starts the responder handshake on it. Over the session or handshake limit
 * the connection is accepted and closed at once (counted in refused_limit),
 * and so is one from an address that already has max_handshakes_per_addr
 * handshakes running (refused_addr); both go to the refusal summary.
 * @return ENT_OK, ENT_ELIMIT (refused), ENT_ENOMEM, ENT_ENET.
 */
int ent_session_mgr_accept(ent_session_mgr *m, struct uv_stream_s *server);

/*
 * Dials addr ("HOST:PORT"; a host name is resolved) as Noise initiator.
 * expected_org (32 bytes, copied) is the org that must answer; with NULL
 * (an invite address whose org the node learns from the token only)
 * authorize() alone decides. *out is valid until closed() has returned for
 * it; closed() is always called, also when the connection fails.
 * @return ENT_OK, ENT_EINVAL (bad address), ENT_ELIMIT (too many sessions
 *         or handshakes), ENT_ECLOSED (manager closing), ENT_ENOMEM,
 *         ENT_ENET.
 */
int ent_session_dial(ent_session_mgr *m, const char *addr,
                     const uint8_t *expected_org, ent_session **out);

/*
 * Encrypts msg (1..ENT_SESSION_MAX_MSG bytes, copied) as one transport frame
 * and queues it. Nothing is sent on failure.
 * @return ENT_OK; ENT_ETOOBIG (len over ENT_SESSION_MAX_MSG); ENT_EINVAL
 *         (len 0, NULL); ENT_EAGAIN (not open yet); ENT_ECLOSED (closing);
 *         ENT_ELIMIT (max_pending bytes queued: slow down and retry after
 *         some of them went out); ENT_ENOMEM.
 */
int ent_session_send(ent_session *s, const uint8_t *msg, size_t len);

/* True if a message of len bytes would be taken by ent_session_send() now
 * (open, room under max_pending, and credit for it). */
bool ent_session_can_send(const ent_session *s, size_t len);

/*
 * Flow control (spec/protocol.md §3.9, protocol/flow.h). With
 * ent_session_mgr_set_flow(m, true) every session m opens afterwards keeps
 * to the initial credit until the caller, having read the peer's HELLO,
 * calls ent_session_set_flow(s, peer_has): true turns credit on both ways
 * (this side grants at once, and from then on takes the peer's CREDIT
 * messages out of the stream and drops a peer that sends past its credit,
 * counted in drop_credit); false turns it off (no limits; the frame-rate
 * bucket as before). Without set_flow on the manager nothing changes.
 * ent_session_send() returns ENT_ELIMIT while a message waits for credit;
 * the writable callback says when to retry.
 */
void ent_session_mgr_set_flow(ent_session_mgr *m, bool on);
void ent_session_set_flow(ent_session *s, bool peer_has);
/* True once flow control is on for s (both sides speak flow/1). */
bool ent_session_flow_on(const ent_session *s);

/* Bytes queued to send on s (frames handed to the socket, not yet written). */
size_t ent_session_pending(const ent_session *s);

/*
 * Closes s with reason (ENT_OK or a negative code, passed to closed()).
 * Messages queued before are flushed for at most linger_ms; nothing is read
 * any more. Idempotent. closed() runs later, from the loop.
 */
void ent_session_close(ent_session *s, int reason);

/* Stops / resumes reading from the peer (back-pressure for a caller that
 * cannot keep up). The idle timeout does not run while reading is stopped. */
void ent_session_read_stop(ent_session *s);
void ent_session_read_start(ent_session *s);

/* The remote org key (32 bytes) once authorize() has been called, else
 * NULL. Borrowed, valid as long as s. */
const uint8_t *ent_session_remote_org(const ent_session *s);

/* The handshake hash after message 3 (32 bytes, channel binding: the JOIN
 * proof is a MAC over it) once the session is open, else NULL. Borrowed. */
const uint8_t *ent_session_handshake_hash(const ent_session *s);

/* True if we dialled s. */
bool ent_session_is_initiator(const ent_session *s);

/* True once established() has been called and until the session closes. */
bool ent_session_is_open(const ent_session *s);

/* The peer's "IP:PORT" (or the dialled address), for logs. Borrowed. */
const char *ent_session_peer_addr(const ent_session *s);

/* The peer's IP address alone ("127.0.0.1", "::1"; the dialled host for a
 * dialled session): the key of per-address limits. Borrowed, valid as long
 * as s. */
const char *ent_session_peer_host(const ent_session *s);

/*
 * Called by authorize() before it returns false: why (a static string,
 * e.g. "guest limit") names the reason in the refusal summary instead of
 * "not authorized".
 */
void ent_session_set_refusal(ent_session *s, const char *why);

/*
 * Counts one refusal from host for reason why (a static string) in m's
 * refusal summary: the node reports here the sessions it turns away after
 * they opened (a guest that broke its rules, a refused JOIN). Refusals are
 * never logged one by one: one WARN line per refusal_log_ms interval
 * (spec/sessions.md "Refusal summary") says how many, from how many
 * addresses, and why.
 */
void ent_session_mgr_refused(ent_session_mgr *m, const char *host,
                             const char *why);

/* A pointer of the caller's, kept with the session. */
void ent_session_set_data(ent_session *s, void *data);
void *ent_session_data(const ent_session *s);

/* The manager of s. */
ent_session_mgr *ent_session_manager(const ent_session *s);

/* Copies the counters of m. */
void ent_session_mgr_stats(const ent_session_mgr *m, ent_session_stats *out);

/*
 * Closes the listener and every session (closed() is called for each, with
 * reason ENT_ECLOSED unless they were closing already), then calls cb
 * (may be NULL) from the loop and frees m right after cb returns.
 * Idempotent; accepts NULL (nothing happens).
 */
typedef void (*ent_session_mgr_close_cb)(ent_session_mgr *m, void *data);
void ent_session_mgr_close(ent_session_mgr *m, ent_session_mgr_close_cb cb,
                           void *data);

/*
 * Internal, for tests only: moves the transport nonce counters of an open
 * session (see ent__noise_cipher_set_nonce), to test rekeying and nonce
 * exhaustion without 2^32 messages. Both ends must be moved in step.
 */
void ent__session_set_nonces(ent_session *s, uint64_t send, uint64_t recv);

#endif
