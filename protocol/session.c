/*
 * session.c - authenticated Noise XX sessions over libuv TCP.
 *
 * One ent_session owns a uv_tcp_t and a uv_timer_t (handshake timeout, then
 * idle timeout, then the linger of a graceful close), a frame reader
 * (protocol/wire.h) and either the Noise handshake state or the two
 * transport ciphers. The manager owns the list of sessions, an optional
 * listener, one read buffer and one plaintext buffer shared by all its
 * sessions (libuv delivers one read at a time on a loop), the counters and
 * the refusal summary (connections turned away are counted and summed up
 * in one log line per interval, never logged one by one).
 *
 * Freeing is libuv-style: closing starts uv_close() on both handles, and the
 * session is freed (after closed()) in the second close callback. The
 * manager is freed once its own handles and every session are gone.
 *
 * The behaviour, limits and counters are specified in spec/sessions.md; the
 * handshake in spec/handshake.md; frames in spec/protocol.md.
 */
#include "protocol/session.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#include "crypto/crypto.h"
#include "crypto/noise.h"
#include "node/err.h"
#include "protocol/flow.h"
#include "protocol/wire.h"

#include "protocol/session_int.h"

static void session_close_impl(ent_session *s, int reason, bool graceful);
static void mgr_maybe_done(ent_session_mgr *m);

/* ---- test hook: ENTENTE_WIRE_DUMP ------------------------------------------
 *
 * For tests only, never enabled by default (spec/sessions.md "Test hook"):
 * when the environment names a file, every transport message this manager
 * sends or receives is appended to it in plaintext as one record
 *   direction ('S' sent, 'R' received) || length (u32 big-endian) || message
 * written with one writev() on an O_APPEND descriptor.
 */
static void wire_dump(ent_session_mgr *m, char dir, const uint8_t *msg,
                      size_t len) {
    uint8_t hdr[5];
    struct iovec iov[2];
    ssize_t w;
    if (m->dump_fd < 0)
        return;
    hdr[0] = (uint8_t)dir;
    hdr[1] = (uint8_t)(len >> 24);
    hdr[2] = (uint8_t)(len >> 16);
    hdr[3] = (uint8_t)(len >> 8);
    hdr[4] = (uint8_t)len;
    iov[0] = (struct iovec){hdr, sizeof(hdr)};
    iov[1] = (struct iovec){(void *)msg, len};
    w = writev(m->dump_fd, iov, 2);
    (void)w;
}

/* ---- configuration ------------------------------------------------------ */

void ent_session_config_default(ent_session_config *c) {
    if (c == NULL)
        return;
    c->handshake_timeout_ms = ENT_SESSION_HANDSHAKE_TIMEOUT_MS;
    c->idle_timeout_ms = ENT_SESSION_IDLE_TIMEOUT_MS;
    c->max_sessions = ENT_SESSION_MAX_SESSIONS;
    c->max_handshakes = ENT_SESSION_MAX_HANDSHAKES;
    c->max_pending = ENT_SESSION_MAX_PENDING;
    c->linger_ms = ENT_SESSION_LINGER_MS;
    c->frames_per_sec = ENT_SESSION_FRAMES_PER_SEC;
    c->frames_burst = ENT_SESSION_FRAMES_BURST;
    c->max_handshakes_per_addr = ENT_SESSION_MAX_HANDSHAKES_PER_ADDR;
    c->refusal_log_ms = ENT_SESSION_REFUSAL_LOG_MS;
}

void ent_session_mgr_set_config(ent_session_mgr *m,
                                const ent_session_config *c) {
    if (m == NULL || c == NULL)
        return;
    if (c->handshake_timeout_ms != 0)
        m->cfg.handshake_timeout_ms = c->handshake_timeout_ms;
    if (c->idle_timeout_ms != 0)
        m->cfg.idle_timeout_ms = c->idle_timeout_ms;
    if (c->max_sessions != 0)
        m->cfg.max_sessions = c->max_sessions;
    if (c->max_handshakes != 0)
        m->cfg.max_handshakes = c->max_handshakes;
    if (c->max_pending != 0)
        m->cfg.max_pending = c->max_pending;
    if (c->linger_ms != 0)
        m->cfg.linger_ms = c->linger_ms;
    if (c->frames_per_sec != 0)
        m->cfg.frames_per_sec = c->frames_per_sec;
    if (c->frames_burst != 0)
        m->cfg.frames_burst = c->frames_burst;
    if (c->max_handshakes_per_addr != 0)
        m->cfg.max_handshakes_per_addr = c->max_handshakes_per_addr;
    if (c->refusal_log_ms != 0)
        m->cfg.refusal_log_ms = c->refusal_log_ms;
}

uint32_t ent_session_mgr_idle_timeout(const ent_session_mgr *m) {
    return m != NULL ? m->cfg.idle_timeout_ms : 0;
}

/* ---- refusal summary -------------------------------------------------------
 *
 * Connections turned away are never logged one by one: an attacker would
 * otherwise write a line per attempt. Each is counted here, and one WARN
 * line per interval says how many, from how many addresses and why.
 */

/* Writes the summary of the current interval, if anything was refused, and
 * starts a new (empty) one. */
static void refusal_flush(ent_session_mgr *m) {
    refusal_log *r = &m->rl;
    char line[1024];
    size_t o = 0;
    uint64_t ms = uv_now(m->loop) - r->started;

    if (r->n == 0)
        return;
    o += (size_t)snprintf(line + o, sizeof(line) - o,
                          "refused %llu connection%s from %s%zu address%s in "
                          "the last %llu.%llu s:",
                          (unsigned long long)r->n, r->n == 1 ? "" : "s",
                          r->addrs_full ? "more than " : "", r->naddrs,
                          r->naddrs == 1 && !r->addrs_full ? "" : "es",
                          (unsigned long long)(ms / 1000),
                          (unsigned long long)(ms % 1000 / 100));
    for (size_t i = 0; i < r->nwhy && o < sizeof(line); i++)
        o += (size_t)snprintf(line + o, sizeof(line) - o, "%s %llu %s",
                              i ? "," : "", (unsigned long long)r->count[i],
                              r->why[i]);
    if (r->other > 0 && o < sizeof(line))
        snprintf(line + o, sizeof(line) - o, ", %llu other",
                 (unsigned long long)r->other);
    ENT_WARN(m->log, "session: %s", line);
    r->n = r->other = 0;
    r->nwhy = r->naddrs = 0;
    r->addrs_full = false;
}

static void on_refusal_interval(uv_timer_t *t) {
    ent_session_mgr *m = t->data;

    m->rl.running = false;
    refusal_flush(m);
}

/* Counts one refusal (why: a static string) from host in the interval. */
static void refusal_note(ent_session_mgr *m, const char *host,
                         const char *why) {
    refusal_log *r = &m->rl;
    size_t i;

    m->st.refused++;
    if (r->n == 0)
        r->started = uv_now(m->loop);
    r->n++;
    for (i = 0; i < r->nwhy && strcmp(r->why[i], why) != 0; i++)
        ;
    if (i < r->nwhy) {
        r->count[i]++;
    } else if (r->nwhy < ENT_SESSION_REFUSAL_REASONS) {
        r->why[r->nwhy] = why;
        r->count[r->nwhy++] = 1;
    } else {
        r->other++;
    }
    host = host != NULL && host[0] != '\0' ? host : "?";
    for (i = 0; i < r->naddrs && strcmp(r->addrs[i], host) != 0; i++)
        ;
    if (i == r->naddrs) {
        if (r->naddrs < ENT_SESSION_REFUSAL_ADDRS)
            snprintf(r->addrs[r->naddrs++], HOST_LEN, "%s", host);
        else
            r->addrs_full = true;
    }
    if (!r->running && !m->closing) {
        r->running = true;
        uv_timer_start(&m->sumtimer, on_refusal_interval, m->cfg.refusal_log_ms,
                       0);
    }
}

void ent_session_mgr_refused(ent_session_mgr *m, const char *host,
                             const char *why) {
    if (m == NULL || why == NULL)
        return;
    refusal_note(m, host, why);
}

/* ---- addresses ------------------------------------------------------------
 */

/*
 * Splits "host:port" or "[v6]:port" into host (NUL-terminated, brackets
 * removed) and port. Port 0 is accepted only when allow_zero.
 */
static int split_hostport(const char *s, char *host, size_t hcap, int *port,
                          bool allow_zero) {
    const char *colon, *h = s;
    size_t hlen;
    long p = 0;

    if (s == NULL)
        return ENT_EINVAL;
    colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon[1] == '\0')
        return ENT_EINVAL;
    hlen = (size_t)(colon - s);
    if (s[0] == '[') {
        if (hlen < 3 || s[hlen - 1] != ']')
            return ENT_EINVAL;
        h = s + 1;
        hlen -= 2;
    } else if (memchr(s, ':', hlen) != NULL) {
        return ENT_EINVAL; /* a bare IPv6 literal needs brackets */
    }
    if (hlen == 0 || hlen >= hcap)
        return ENT_EINVAL;
    for (const char *c = colon + 1; *c != '\0'; c++) {
        if (*c < '0' || *c > '9' || p > 65535)
            return ENT_EINVAL;
        p = p * 10 + (*c - '0');
    }
    if (p > 65535 || (p == 0 && !allow_zero) || strlen(colon + 1) > 5)
        return ENT_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return ENT_OK;
}

/* Parses an IP literal and port into ss. */
static int literal_addr(const char *host, int port,
                        struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof(*ss));
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
        return ENT_OK;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
        return ENT_OK;
    return ENT_EINVAL;
}

/* Formats sa as "IP:PORT" or "[IP]:PORT" into out. */
static void format_addr(const struct sockaddr *sa, char out[ADDR_LEN]) {
    char ip[64] = "?";
    int port = 0;

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        uv_ip4_name(in, ip, sizeof(ip));
        port = ntohs(in->sin_port);
        snprintf(out, ADDR_LEN, "%s:%d", ip, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        uv_ip6_name(in6, ip, sizeof(ip));
        port = ntohs(in6->sin6_port);
        snprintf(out, ADDR_LEN, "[%s]:%d", ip, port);
    } else {
        snprintf(out, ADDR_LEN, "?");
    }
}

/* Formats the IP of sa (no port, no brackets) into out. */
static void format_host(const struct sockaddr *sa, char out[HOST_LEN]) {
    snprintf(out, HOST_LEN, "?");
    if (sa->sa_family == AF_INET)
        uv_ip4_name((const struct sockaddr_in *)sa, out, HOST_LEN);
    else if (sa->sa_family == AF_INET6)
        uv_ip6_name((const struct sockaddr_in6 *)sa, out, HOST_LEN);
}

static int err_from_uv(int uverr) {
    switch (uverr) {
    case UV_EADDRINUSE:
        return ENT_EBUSY;
    case UV_EACCES:
    case UV_EPERM:
        return ENT_EPERM;
    case UV_ENOMEM:
        return ENT_ENOMEM;
    case UV_EINVAL:
    case UV_EADDRNOTAVAIL:
        return ENT_EINVAL;
    default:
        return ENT_ENET;
    }
}

/* ---- session life ---------------------------------------------------------
 */

static void mgr_link(ent_session_mgr *m, ent_session *s) {
    s->next = m->head;
    if (m->head != NULL)
        m->head->prev = s;
    m->head = s;
}

static void mgr_unlink(ent_session_mgr *m, ent_session *s) {
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        m->head = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static void on_hs_timeout(uv_timer_t *t);

/*
 * Allocates a session with its handshake state, reader and both handles,
 * links it into m and starts the handshake timeout. The caller then
 * connects or accepts; on failure after this point it closes the session.
 */
static int session_new(ent_session_mgr *m, bool initiator, ent_session **out) {
    int rc;
    ent_session *s = NULL;
    uint8_t xpk[ENT_X25519_LEN], xsk[ENT_X25519_LEN];

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    s->m = m;
    s->initiator = initiator;
    rc = ent_identity_x25519(m->id, xpk, xsk);
    if (rc != ENT_OK)
        goto out;
    rc = ent_noise_new(&s->hs, ENT_NOISE_XX, initiator,
                       (const uint8_t *)ENT_NOISE_PROLOGUE,
                       ENT_NOISE_PROLOGUE_LEN, xsk, NULL, NULL);
    if (rc != ENT_OK)
        goto out;
    rc = ent_wire_reader_new(&s->rd,
                             initiator ? ENT_WIRE_HS2_LEN : ENT_WIRE_HS1_LEN);
    if (rc != ENT_OK)
        goto out;
    if (uv_tcp_init(m->loop, &s->tcp) != 0) {
        rc = ENT_ENET;
        goto out;
    }
    s->tcp.data = s;
    uv_timer_init(m->loop, &s->timer);
    s->timer.data = s;
    s->handles = 2;
    s->state = initiator ? S_CONNECTING : S_HANDSHAKE;
    s->reason = ENT_OK;
    s->last_rx = uv_now(m->loop);
    mgr_link(m, s);
    m->st.sessions++;
    m->st.handshaking++;
    uv_timer_start(&s->timer, on_hs_timeout, m->cfg.handshake_timeout_ms, 0);
    *out = s;
    s = NULL;
out:
    ent_wipe(xsk, sizeof(xsk));
    if (s != NULL) {
        ent_wire_reader_free(s->rd);
        ent_noise_free(s->hs);
        free(s);
    }
    return rc;
}

/* Frees s after both handles closed and no request is outstanding; calls
 * closed() first when the caller knows s. */
static void session_finish(ent_session *s) {
    ent_session_mgr *m = s->m;

    if (s->handles > 0 || s->resolving)
        return;
    mgr_unlink(m, s);
    m->st.sessions--;
    if (s->known && m->cb.closed != NULL)
        m->cb.closed(s, s->reason, m->data);
    ent_noise_free(s->hs);
    ent_noise_cipher_free(s->tx);
    ent_noise_cipher_free(s->rx);
    ent_wire_reader_free(s->rd);
    ent_wipe(s->hh, sizeof(s->hh));
    free(s);
    mgr_maybe_done(m);
}

static void on_session_handle_closed(uv_handle_t *h) {
    ent_session *s = h->data;
    s->handles--;
    session_finish(s);
}

static void session_close_handles(ent_session *s) {
    if (!uv_is_closing((uv_handle_t *)&s->tcp))
        uv_close((uv_handle_t *)&s->tcp, on_session_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&s->timer))
        uv_close((uv_handle_t *)&s->timer, on_session_handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    session_close_handles(req->data);
}

static void on_linger(uv_timer_t *t) {
    session_close_handles(t->data);
}

/*
 * Moves s to S_CLOSING: stops reading and timers, then closes the handles,
 * at once or (graceful, with frames still queued) after a TCP shutdown
 * that flushes them, bounded by linger_ms.
 */
static void session_close_impl(ent_session *s, int reason, bool graceful) {
    ent_session_mgr *m = s->m;

    if (s->state == S_CLOSING)
        return;
    if (s->state != S_OPEN) {
        m->st.handshaking--;
        if (!s->refused)
            m->st.handshakes_failed++;
    }
    s->state = S_CLOSING;
    s->reason = reason;
    uv_timer_stop(&s->timer);
    if (s->resolving)
        uv_cancel((uv_req_t *)&s->gai_req);
    if (s->reading) {
        uv_read_stop((uv_stream_t *)&s->tcp);
        s->reading = false;
    }
    if (graceful && s->pending > 0) {
        s->shutdown_req.data = s;
        if (uv_shutdown(&s->shutdown_req, (uv_stream_t *)&s->tcp,
                        on_shutdown) == 0) {
            uv_timer_start(&s->timer, on_linger, m->cfg.linger_ms, 0);
            return;
        }
    }
    session_close_handles(s);
}

/* Drops a misbehaving or failed peer: counts, logs, closes at once.
 * Returns rc so that frame callbacks can stop the reader with it. */
static int session_drop(ent_session *s, int rc, uint64_t *counter,
                        ent_log_level level, const char *why) {
    if (s->state == S_CLOSING)
        return rc;
    if (counter != NULL)
        (*counter)++;
    /* a connection accepted and dropped before it opened is a refusal:
     * counted in the summary, not logged on its own line */
    if (!s->initiator && s->state != S_OPEN && rc != ENT_ENOMEM) {
        refusal_note(s->m, s->host,
                     counter == &s->m->st.drop_unauthorized &&
                             s->refusal != NULL
                         ? s->refusal
                         : why);
        level = ENT_LOG_DEBUG;
    }
    ent_log_write(s->m->log, level, "session %s: dropped: %s (%s)", s->addr,
                  why, ent_err_name(rc));
    session_close_impl(s, rc, false);
    return rc;
}

/* ---- writing --------------------------------------------------------------
 */

static void on_write(uv_write_t *req, int status) {
    wreq *w = (wreq *)req;
    ent_session *s = w->s;
    ent_session_mgr *m = s->m;

    s->pending -= w->len;
    if (status == 0)
        m->st.bytes_out += w->len;
    free(w);
    if (status < 0 && s->state != S_CLOSING) {
        ENT_DEBUG(m->log, "session %s: write: %s", s->addr,
                  uv_strerror(status));
        session_drop(s, ENT_ENET, &m->st.drop_net, ENT_LOG_INFO,
                     "write failed");
    }
}

/* Allocates a write request for a frame with a body of blen bytes; the
 * length prefix is written, the body is the caller's to fill. */
static wreq *wreq_new(ent_session *s, size_t blen) {
    wreq *w = malloc(sizeof(*w) + ENT_WIRE_PREFIX_LEN + blen);
    if (w == NULL)
        return NULL;
    w->s = s;
    w->len = ENT_WIRE_PREFIX_LEN + blen;
    ent_wire_frame_header(w->buf, blen);
    return w;
}

/* Queues w on the socket. On failure w is freed and the session dropped. */
static int wreq_submit(ent_session *s, wreq *w) {
    uv_buf_t b = uv_buf_init((char *)w->buf, (unsigned int)w->len);
    int uverr = uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, on_write);

    if (uverr != 0) {
        free(w);
        ENT_DEBUG(s->m->log, "session %s: write: %s", s->addr,
                  uv_strerror(uverr));
        return session_drop(s, ENT_ENET, &s->m->st.drop_net, ENT_LOG_INFO,
                            "write failed");
    }
    s->pending += w->len;
    s->m->st.frames_out++;
    return ENT_OK;
}

/* Writes the next handshake message with payload (plen bytes). */
static int hs_write(ent_session *s, const uint8_t *payload, size_t plen,
                    size_t expect) {
    size_t outlen = 0;
    int rc;
    wreq *w = wreq_new(s, expect);

    if (w == NULL)
        return session_drop(s, ENT_ENOMEM, NULL, ENT_LOG_ERROR,
                            "out of memory");
    rc = ent_noise_write(s->hs, payload, plen, w->buf + ENT_WIRE_PREFIX_LEN,
                         expect, &outlen);
    if (rc != ENT_OK || outlen != expect) {
        free(w);
        return session_drop(s, rc != ENT_OK ? rc : ENT_EPROTO,
                            &s->m->st.drop_proto, ENT_LOG_WARN,
                            "handshake write failed");
    }
    s->step++;
    return wreq_submit(s, w);
}

/* The 96-byte identity proof for the message about to be written. */
static int make_proof(ent_session *s, uint8_t auth[AUTH_LEN]) {
    const uint8_t *h = ent_noise_handshake_hash(s->hs);

    memcpy(auth, ent_identity_public(s->m->id), ENT_PK_LEN);
    return ent_identity_sign(s->m->id, ENT_SIGCTX_HANDSHAKE, h,
                             ENT_NOISE_HASH_LEN, auth + ENT_PK_LEN);
}

/* ent_session_send(); credit (a CREDIT of this layer's own) is neither
 * counted nor held back by the peer's credit or by max_pending, so that a
 * grant always goes out (protocol/flow.h). */
static int send_msg(ent_session *s, const uint8_t *msg, size_t len,
                    bool credit) {
    ent_session_mgr *m;
    wreq *w;
    int rc;

    if (s == NULL || msg == NULL || len == 0)
        return ENT_EINVAL;
    m = s->m;
    if (len > ENT_SESSION_MAX_MSG)
        return ENT_ETOOBIG;
    if (s->state == S_CLOSING)
        return ENT_ECLOSED;
    if (s->state != S_OPEN)
        return ENT_EAGAIN;
    if (!credit && s->pending + ENT_WIRE_PREFIX_LEN + len + ENT_NOISE_TAG_LEN >
                       m->cfg.max_pending) {
        m->st.send_refused++;
        return ENT_ELIMIT;
    }
    if (!credit && !ent_flow_can_send(&s->flow, len)) {
        m->st.credit_waits++;
        return ENT_ELIMIT;
    }
    w = wreq_new(s, len + ENT_NOISE_TAG_LEN);
    if (w == NULL)
        return ENT_ENOMEM;
    rc = ent_noise_encrypt(s->tx, NULL, 0, msg, len,
                           w->buf + ENT_WIRE_PREFIX_LEN);
    if (rc != ENT_OK) {
        free(w);
        if (rc == ENT_ELIMIT) {
            session_drop(s, ENT_ELIMIT, &m->st.drop_nonce, ENT_LOG_WARN,
                         "send nonce exhausted");
            return ENT_ECLOSED;
        }
        return rc;
    }
    if ((ent_noise_nonce(s->tx) & REKEY_MASK) == 0) {
        ent_noise_rekey(s->tx);
        m->st.rekeys++;
    }
    rc = wreq_submit(s, w);
    if (rc != ENT_OK)
        return ENT_ECLOSED;
    m->st.messages_out++;
    if (credit)
        m->st.credits_sent++;
    else
        ent_flow_sent(&s->flow, len);
    wire_dump(m, 'S', msg, len);
    return ENT_OK;
}

int ent_session_send(ent_session *s, const uint8_t *msg, size_t len) {
    return send_msg(s, msg, len, false);
}

bool ent_session_can_send(const ent_session *s, size_t len) {
    return s != NULL && s->state == S_OPEN &&
           s->pending + ENT_WIRE_PREFIX_LEN + len + ENT_NOISE_TAG_LEN <=
               s->m->cfg.max_pending &&
           ent_flow_can_send(&s->flow, len);
}

/* Sends a CREDIT with the totals f granted (spec/protocol.md §3.9). */
static void send_credit(ent_session *s, uint64_t frames, uint64_t bytes) {
    ent_wire_msg c;
    uint8_t buf[32];
    size_t len = 0;

    memset(&c, 0, sizeof(c));
    c.type = ENT_WIRE_CREDIT;
    c.u.credit = (ent_wire_credit){frames, bytes};
    if (ent_wire_encode_to(&c, buf, sizeof(buf), &len) == ENT_OK)
        send_msg(s, buf, len, true);
}

void ent_session_set_flow(ent_session *s, bool peer_has) {
    uint64_t frames, bytes;
    int before;

    if (s == NULL || s->state != S_OPEN)
        return;
    before = s->flow.mode;
    ent_flow_peer(&s->flow, peer_has);
    if (ent_flow_grant_now(&s->flow, &frames, &bytes) &&
        before != ENT_FLOW_ON)
        send_credit(s, frames, bytes);
    else if (before != s->flow.mode && s->m->cb.writable != NULL)
        s->m->cb.writable(s, s->m->data); /* no limits any more */
}

bool ent_session_flow_on(const ent_session *s) {
    return s != NULL && s->flow.mode == ENT_FLOW_ON;
}

void ent_session_mgr_set_flow(ent_session_mgr *m, bool on) {
    if (m != NULL)
        m->flow = on;
}

/*
 * After a whole read was handled, or reading resumed: grants the next
 * window when less than half is left (protocol/flow.h). Never while the
 * caller has stopped reading, and never within a read, so what the peer
 * sent past its credit before a grant could reach it is caught.
 */
static void flow_grant(ent_session *s) {
    uint64_t frames, bytes;

    if (s->state == S_OPEN && !s->paused &&
        ent_flow_grant(&s->flow, &frames, &bytes))
        send_credit(s, frames, bytes);
}

size_t ent_session_pending(const ent_session *s) {
    return s == NULL ? 0 : s->pending;
}

/* ---- reading --------------------------------------------------------------
 */

static void on_idle_timer(uv_timer_t *t) {
    ent_session *s = t->data;
    ent_session_mgr *m = s->m;
    uint64_t now = uv_now(m->loop), idle = m->cfg.idle_timeout_ms;
    uint64_t quiet = now - s->last_rx;

    if (s->paused || quiet < idle) {
        uv_timer_start(&s->timer, on_idle_timer,
                       s->paused ? idle : idle - quiet, 0);
        return;
    }
    session_drop(s, ENT_ETIMEOUT, &m->st.drop_idle, ENT_LOG_INFO,
                 "nothing received within the idle timeout");
}

static void on_hs_timeout(uv_timer_t *t) {
    ent_session *s = t->data;
    session_drop(s, ENT_ETIMEOUT, &s->m->st.drop_hs_timeout, ENT_LOG_WARN,
                 "handshake timeout");
}

/*
 * Checks an identity proof (spec/handshake.md, checks 1 to 4, in order):
 * its length, the signature over h_prev, that the org key converts to the
 * Noise remote static key, that a dialled peer is the expected org, and
 * finally the caller's authorize(). Drops the peer at the first failure.
 */
static int check_proof(ent_session *s, const uint8_t h_prev[32],
                       const uint8_t *payload, size_t plen) {
    ent_session_mgr *m = s->m;
    uint8_t xpk[ENT_X25519_LEN], rs[ENT_NOISE_KEY_LEN];

    if (plen != AUTH_LEN)
        return session_drop(s, ENT_EPROTO, &m->st.drop_proto, ENT_LOG_WARN,
                            "identity proof of the wrong length");
    if (ent_sig_verify(payload, ENT_SIGCTX_HANDSHAKE, h_prev,
                       ENT_NOISE_HASH_LEN, payload + ENT_PK_LEN) != ENT_OK)
        return session_drop(s, ENT_EBADSIG, &m->st.drop_bad_sig, ENT_LOG_WARN,
                            "identity proof signature invalid");
    if (ent_pk_to_x25519(xpk, payload) != ENT_OK ||
        ent_noise_remote_static(s->hs, rs) != ENT_OK ||
        !ent_memeq(xpk, rs, ENT_X25519_LEN))
        return session_drop(s, ENT_EDENIED, &m->st.drop_key_mismatch,
                            ENT_LOG_WARN,
                            "org key does not match the Noise static key");
    memcpy(s->remote_org, payload, ENT_PK_LEN);
    s->authorized = true;
    if (s->initiator && s->has_expected &&
        !ent_memeq(s->remote_org, s->expected, ENT_PK_LEN))
        return session_drop(s, ENT_EDENIED, &m->st.drop_wrong_org, ENT_LOG_WARN,
                            "not the org we dialled");
    s->known = true;
    if (m->cb.authorize != NULL && !m->cb.authorize(s, s->remote_org, m->data))
        return session_drop(s, ENT_EDENIED, &m->st.drop_unauthorized,
                            ENT_LOG_INFO, "org not authorized");
    if (s->state == S_CLOSING) /* authorize() closed it */
        return ENT_ECLOSED;
    return ENT_OK;
}

/* Splits the finished handshake and opens the session. */
static int session_open(ent_session *s) {
    ent_session_mgr *m = s->m;
    char org[ENT_ORG_ID_LEN + 1];
    int rc = ent_noise_split(s->hs, &s->tx, &s->rx);

    if (rc != ENT_OK)
        return session_drop(s, rc, NULL, ENT_LOG_ERROR, "split failed");
    memcpy(s->hh, ent_noise_handshake_hash(s->hs), ENT_NOISE_HASH_LEN);
    ent_noise_free(s->hs);
    s->hs = NULL;
    s->state = S_OPEN;
    m->st.handshaking--;
    m->st.handshakes_ok++;
    ent_wire_reader_set_max(s->rd, ENT_WIRE_MAX_FRAME);
    uv_timer_stop(&s->timer);
    s->last_rx = uv_now(m->loop);
    s->tokens_at = s->last_rx;
    s->tokens = (uint64_t)m->cfg.frames_burst * 1000;
    ent_flow_init(&s->flow, m->flow);
    uv_timer_start(&s->timer, on_idle_timer, m->cfg.idle_timeout_ms, 0);
    ent_org_id_format(org, s->remote_org);
    ENT_INFO(m->log, "session %s: open with org %s (%s)", s->addr, org,
             s->initiator ? "dialled" : "accepted");
    if (m->cb.established != NULL)
        m->cb.established(s, m->data);
    return s->state == S_CLOSING ? ENT_ECLOSED : ENT_OK;
}

/* Reads one handshake frame (exact size per spec/protocol.md 1.1). */
static int hs_read(ent_session *s, const uint8_t *frame, size_t len) {
    ent_session_mgr *m = s->m;
    uint8_t h_prev[ENT_NOISE_HASH_LEN];
    uint8_t payload[ENT_WIRE_HS2_LEN];
    uint8_t auth[AUTH_LEN];
    size_t plen = 0, expect;
    int rc;

    /* responder reads step 0 and 2, initiator step 1 */
    expect = s->step == 0   ? ENT_WIRE_HS1_LEN
             : s->step == 1 ? ENT_WIRE_HS2_LEN
                            : ENT_WIRE_HS3_LEN;
    if (s->initiator != (s->step == 1) || s->step > 2 || len != expect)
        return session_drop(s, ENT_EPROTO, &m->st.drop_proto, ENT_LOG_WARN,
                            "handshake frame of the wrong size or out of turn");
    memcpy(h_prev, ent_noise_handshake_hash(s->hs), sizeof(h_prev));
    rc = ent_noise_read(s->hs, frame, len, payload, sizeof(payload), &plen);
    if (rc != ENT_OK)
        return session_drop(
            s, rc, rc == ENT_EDECRYPT ? &m->st.drop_decrypt : &m->st.drop_proto,
            ENT_LOG_WARN, "handshake message rejected");
    s->step++;
    if (s->step == 1) { /* responder got message 1: empty payload */
        if (plen != 0)
            return session_drop(s, ENT_EPROTO, &m->st.drop_proto, ENT_LOG_WARN,
                                "payload in handshake message 1");
        rc = make_proof(s, auth);
        if (rc != ENT_OK)
            return session_drop(s, rc, NULL, ENT_LOG_ERROR, "signing failed");
        ent_wire_reader_set_max(s->rd, ENT_WIRE_HS3_LEN);
        return hs_write(s, auth, sizeof(auth), ENT_WIRE_HS2_LEN);
    }
    rc = check_proof(s, h_prev, payload, plen);
    if (rc != ENT_OK)
        return rc;
    if (s->initiator) { /* message 2 checked: send message 3 */
        rc = make_proof(s, auth);
        if (rc != ENT_OK)
            return session_drop(s, rc, NULL, ENT_LOG_ERROR, "signing failed");
        rc = hs_write(s, auth, sizeof(auth), ENT_WIRE_HS3_LEN);
        if (rc != ENT_OK)
            return rc;
    }
    return session_open(s);
}

/*
 * Sends ERROR LIMIT and closes gracefully: the peer sent frames faster than
 * frames_per_sec allows beyond the burst (spec/protocol.md section 5).
 */
static int drop_for_rate(ent_session *s) {
    ent_session_mgr *m = s->m;
    ent_wire_msg e;
    uint8_t buf[64];
    size_t len = 0;

    m->st.drop_rate++;
    ENT_WARN(m->log, "session %s: dropped: frame rate over %u/s (burst %u)",
             s->addr, m->cfg.frames_per_sec, m->cfg.frames_burst);
    memset(&e, 0, sizeof(e));
    e.type = ENT_WIRE_ERROR;
    e.u.error.code = ENT_WIRE_C_LIMIT;
    snprintf(e.u.error.text, sizeof(e.u.error.text), "frame rate");
    if (ent_wire_encode_to(&e, buf, sizeof(buf), &len) == ENT_OK)
        ent_session_send(s, buf, len);
    session_close_impl(s, ENT_ELIMIT, true);
    return ENT_ELIMIT;
}

/* Takes one token from the frame-rate bucket; false when it is empty. */
static bool take_token(ent_session *s) {
    ent_session_mgr *m = s->m;
    uint64_t now = uv_now(m->loop);
    uint64_t cap = (uint64_t)m->cfg.frames_burst * 1000;

    s->tokens += (now - s->tokens_at) * m->cfg.frames_per_sec;
    s->tokens_at = now;
    if (s->tokens > cap)
        s->tokens = cap;
    if (s->tokens < 1000)
        return false;
    s->tokens -= 1000;
    return true;
}

/*
 * Sends ERROR LIMIT and closes: the peer sent past the credit this side
 * granted it (spec/protocol.md §3.9).
 */
static int drop_for_credit(ent_session *s) {
    ent_session_mgr *m = s->m;

    m->st.drop_credit++;
    ENT_WARN(m->log, "session %s: dropped: sent past its credit (%llu "
                     "frames, %llu bytes granted)", s->addr,
             (unsigned long long)s->flow.rx_max_frames,
             (unsigned long long)s->flow.rx_max_bytes);
    session_close_impl(s, ENT_ELIMIT, true);
    return ENT_ELIMIT;
}

/*
 * With flow control on: a CREDIT is taken out of the stream (it pays a
 * token of the frame-rate bucket, the only frames that still do), every
 * other message is counted against the credit granted. Returns ENT_OK and
 * *deliver for a message to hand up, or the error that closed s.
 */
static int flow_in(ent_session *s, size_t mlen, bool *deliver) {
    ent_session_mgr *m = s->m;
    ent_wire_msg c;
    int type = -1;
    bool more = false;

    *deliver = true;
    if (ent_wire_peek_type(m->pbuf, mlen, &type) == ENT_OK &&
        type == ENT_WIRE_CREDIT) {
        *deliver = false;
        if (!take_token(s))
            return drop_for_rate(s);
        if (ent_wire_decode(&c, m->pbuf, mlen) != ENT_OK ||
            ent_flow_credit(&s->flow, c.u.credit.frames, c.u.credit.bytes,
                            &more) != ENT_OK)
            return session_drop(s, ENT_EPROTO, &m->st.drop_proto,
                                ENT_LOG_WARN, "bad CREDIT");
        m->st.credits_received++;
        if (more && m->cb.writable != NULL)
            m->cb.writable(s, m->data);
        return s->state == S_CLOSING ? ENT_ECLOSED : ENT_OK;
    }
    if (ent_flow_received(&s->flow, mlen) != ENT_OK)
        return drop_for_credit(s);
    return ENT_OK;
}

/* Decrypts one transport frame and hands its message to the caller. */
static int transport_read(ent_session *s, const uint8_t *frame, size_t len) {
    ent_session_mgr *m = s->m;
    bool flow = s->flow.mode == ENT_FLOW_ON, deliver = true;
    int rc;

    if (!flow && !take_token(s))
        return drop_for_rate(s);
    rc = ent_noise_decrypt(s->rx, NULL, 0, frame, len, m->pbuf);

    if (rc == ENT_ELIMIT)
        return session_drop(s, rc, &m->st.drop_nonce, ENT_LOG_WARN,
                            "receive nonce exhausted");
    if (rc != ENT_OK)
        return session_drop(s, rc, &m->st.drop_decrypt, ENT_LOG_WARN,
                            "transport frame failed to decrypt");
    if ((ent_noise_nonce(s->rx) & REKEY_MASK) == 0) {
        ent_noise_rekey(s->rx);
        m->st.rekeys++;
    }
    if (len == ENT_NOISE_TAG_LEN)
        return session_drop(s, ENT_EPROTO, &m->st.drop_proto, ENT_LOG_WARN,
                            "empty message");
    m->st.messages_in++;
    wire_dump(m, 'R', m->pbuf, len - ENT_NOISE_TAG_LEN);
    if (flow)
        rc = flow_in(s, len - ENT_NOISE_TAG_LEN, &deliver);
    else /* counted from HELLO on, enforced once ON */
        ent_flow_received(&s->flow, len - ENT_NOISE_TAG_LEN);
    if (rc != ENT_OK || !deliver)
        return rc;
    if (m->cb.message != NULL)
        m->cb.message(s, m->pbuf, len - ENT_NOISE_TAG_LEN, m->data);
    return s->state == S_CLOSING ? ENT_ECLOSED : ENT_OK;
}

static int on_frame(ent_wire_reader *r, const uint8_t *frame, size_t len,
                    void *data) {
    ent_session *s = data;

    if (s->state == S_CLOSING)
        return ENT_ECLOSED;
    s->m->st.frames_in++;
    if (s->state == S_OPEN)
        return transport_read(s, frame, len);
    return hs_read(s, frame, len);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    ent_session *s = h->data;
    buf->base = (char *)s->m->rbuf;
    buf->len = sizeof(s->m->rbuf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
    ent_session *s = stream->data;
    ent_session_mgr *m = s->m;
    int rc;

    if (nread == 0 || s->state == S_CLOSING)
        return;
    if (nread < 0) {
        if (nread == UV_EOF) {
            m->st.peer_closed++;
            ENT_DEBUG(m->log, "session %s: peer closed", s->addr);
            session_close_impl(s, ENT_ECLOSED, false);
        } else {
            ENT_DEBUG(m->log, "session %s: read: %s", s->addr,
                      uv_strerror((int)nread));
            session_drop(s, ENT_ENET, &m->st.drop_net, ENT_LOG_INFO,
                         "read failed");
        }
        return;
    }
    m->st.bytes_in += (uint64_t)nread;
    s->last_rx = uv_now(m->loop);
    rc = ent_wire_reader_feed(s->rd, (const uint8_t *)buf->base, (size_t)nread,
                              on_frame, s);
    if (rc == ENT_OK)
        flow_grant(s);
    if (rc == ENT_OK || s->state == S_CLOSING)
        return;
    if (rc == ENT_ETOOBIG)
        session_drop(s, rc, &m->st.drop_too_big, ENT_LOG_WARN,
                     "frame length over the limit");
    else if (rc == ENT_EPROTO)
        session_drop(s, rc, &m->st.drop_proto, ENT_LOG_WARN,
                     "zero-length frame");
    else
        session_drop(s, rc, NULL, ENT_LOG_ERROR, "frame reader failed");
}

static int start_reading(ent_session *s) {
    int uverr = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
    if (uverr != 0) {
        ENT_DEBUG(s->m->log, "session %s: read start: %s", s->addr,
                  uv_strerror(uverr));
        return session_drop(s, ENT_ENET, &s->m->st.drop_net, ENT_LOG_INFO,
                            "cannot read");
    }
    s->reading = true;
    return ENT_OK;
}

void ent_session_read_stop(ent_session *s) {
    if (s == NULL || s->paused || s->state == S_CLOSING)
        return;
    s->paused = true;
    if (s->reading) {
        uv_read_stop((uv_stream_t *)&s->tcp);
        s->reading = false;
    }
}

void ent_session_read_start(ent_session *s) {
    if (s == NULL || !s->paused || s->state == S_CLOSING)
        return;
    s->paused = false;
    s->last_rx = uv_now(s->m->loop);
    if (s->state != S_CONNECTING && start_reading(s) == ENT_OK)
        flow_grant(s);
}

/* ---- accepting --------------------------------------------------------------
 */

static void free_handle(uv_handle_t *h) {
    free(h);
}

/* Accepts and closes at once: the connection is over a limit. Counted in
 * the refusal summary (nothing is logged while the manager closes). */
static void refuse(ent_session_mgr *m, uv_stream_t *server, const char *why) {
    uv_tcp_t *c = malloc(sizeof(*c));
    struct sockaddr_storage ss;
    int namelen = sizeof(ss);
    char host[HOST_LEN] = "?";

    m->st.refused_limit++;
    if (c == NULL)
        return;
    if (uv_tcp_init(server->loop, c) != 0) {
        free(c);
        return;
    }
    if (uv_accept(server, (uv_stream_t *)c) == 0 &&
        uv_tcp_getpeername(c, (struct sockaddr *)&ss, &namelen) == 0)
        format_host((struct sockaddr *)&ss, host);
    if (!m->closing)
        refusal_note(m, host, why);
    uv_close((uv_handle_t *)c, free_handle);
}

/* Accepted sessions of m from host that are not open yet, s aside. */
static uint32_t handshakes_from(const ent_session_mgr *m, const ent_session *s,
                                const char *host) {
    uint32_t n = 0;
    for (const ent_session *x = m->head; x != NULL; x = x->next)
        if (x != s && !x->initiator && !x->refused &&
            (x->state == S_HANDSHAKE || x->state == S_CONNECTING) &&
            strcmp(x->host, host) == 0)
            n++;
    return n;
}

static bool over_limit(const ent_session_mgr *m) {
    return m->st.sessions >= m->cfg.max_sessions ||
           m->st.handshaking >= m->cfg.max_handshakes;
}

int ent_session_mgr_accept(ent_session_mgr *m, uv_stream_t *server) {
    ent_session *s = NULL;
    struct sockaddr_storage ss;
    int namelen = sizeof(ss);
    int rc;

    if (m == NULL || server == NULL)
        return ENT_EINVAL;
    if (m->closing || over_limit(m)) {
        refuse(m, server,
               m->st.sessions >= m->cfg.max_sessions ? "session limit"
                                                     : "handshake limit");
        return ENT_ELIMIT;
    }
    rc = session_new(m, false, &s);
    if (rc != ENT_OK) {
        refuse(m, server, "out of memory");
        return rc;
    }
    m->st.accepted++;
    snprintf(s->addr, sizeof(s->addr), "?");
    snprintf(s->host, sizeof(s->host), "?");
    if (uv_accept(server, (uv_stream_t *)&s->tcp) != 0) {
        session_drop(s, ENT_ENET, &m->st.drop_net, ENT_LOG_INFO,
                     "accept failed");
        return ENT_ENET;
    }
    if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&ss, &namelen) == 0) {
        format_addr((struct sockaddr *)&ss, s->addr);
        format_host((struct sockaddr *)&ss, s->host);
    }
    /* one address cannot hold every handshake slot (spec/sessions.md) */
    if (handshakes_from(m, s, s->host) >= m->cfg.max_handshakes_per_addr) {
        s->refused = true;
        m->st.refused_addr++;
        refusal_note(m, s->host, "handshakes per address");
        session_close_impl(s, ENT_ELIMIT, false);
        return ENT_ELIMIT;
    }
    ENT_DEBUG(m->log, "session %s: accepted", s->addr);
    return start_reading(s);
}

static void on_connection(uv_stream_t *server, int status) {
    ent_session_mgr *m = server->data;

    if (status < 0) {
        ENT_WARN(m->log, "session: accept: %s", uv_strerror(status));
        return;
    }
    ent_session_mgr_accept(m, server);
}

/* ---- dialling
 * ----------------------------------------------------------------- */

static void on_connect(uv_connect_t *req, int status) {
    ent_session *s = req->data;
    ent_session_mgr *m = s->m;
    int rc;

    if (s->state == S_CLOSING)
        return;
    if (status < 0) {
        ENT_DEBUG(m->log, "session %s: connect: %s", s->addr,
                  uv_strerror(status));
        session_drop(s, ENT_ENET, &m->st.drop_net, ENT_LOG_INFO,
                     "connect failed");
        return;
    }
    s->state = S_HANDSHAKE;
    if (!s->paused) {
        rc = start_reading(s);
        if (rc != ENT_OK)
            return;
    }
    hs_write(s, NULL, 0, ENT_WIRE_HS1_LEN); /* message 1: e, empty payload */
}

static int start_connect(ent_session *s, const struct sockaddr *sa) {
    int uverr;

    s->connect_req.data = s;
    uverr = uv_tcp_connect(&s->connect_req, &s->tcp, sa, on_connect);
    if (uverr != 0) {
        ENT_DEBUG(s->m->log, "session %s: connect: %s", s->addr,
                  uv_strerror(uverr));
        return ENT_ENET;
    }
    return ENT_OK;
}

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
    ent_session *s = req->data;
    ent_session_mgr *m = s->m;
    struct addrinfo *ai;

    s->resolving = false;
    if (s->state == S_CLOSING) {
        uv_freeaddrinfo(res);
        session_finish(s); /* may have waited for us */
        return;
    }
    if (status < 0 || res == NULL) {
        uv_freeaddrinfo(res);
        ENT_DEBUG(m->log, "session %s: resolve: %s", s->addr,
                  uv_strerror(status));
        session_drop(s, ENT_ENET, &m->st.drop_net, ENT_LOG_INFO,
                     "cannot resolve");
        return;
    }
    /* the first IPv4 address, else the first one: one attempt per dial */
    for (ai = res; ai != NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET)
            break;
    if (start_connect(s, ai != NULL ? ai->ai_addr : res->ai_addr) != ENT_OK)
        session_drop(s, ENT_ENET, &m->st.drop_net, ENT_LOG_INFO,
                     "connect failed");
    uv_freeaddrinfo(res);
}

int ent_session_dial(ent_session_mgr *m, const char *addr,
                     const uint8_t *expected_org, ent_session **out) {
    char host[ADDR_LEN];
    int port = 0, rc;
    struct sockaddr_storage ss;
    struct addrinfo hints;
    ent_session *s = NULL;

    if (m == NULL || out == NULL)
        return ENT_EINVAL;
    if (m->closing)
        return ENT_ECLOSED;
    rc = split_hostport(addr, host, sizeof(host), &port, false);
    if (rc != ENT_OK)
        return rc;
    if (over_limit(m)) {
        m->st.refused_limit++;
        return ENT_ELIMIT;
    }
    rc = session_new(m, true, &s);
    if (rc != ENT_OK)
        return rc;
    m->st.dialled++;
    snprintf(s->addr, sizeof(s->addr), "%s", addr);
    snprintf(s->host, sizeof(s->host), "%.*s", HOST_LEN - 1, host);
    if (expected_org != NULL) {
        memcpy(s->expected, expected_org, ENT_PK_LEN);
        s->has_expected = true;
    }
    if (literal_addr(host, port, &ss) == ENT_OK) {
        rc = start_connect(s, (struct sockaddr *)&ss);
    } else {
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        snprintf(s->port, sizeof(s->port), "%d", port);
        s->gai_req.data = s;
        rc = uv_getaddrinfo(m->loop, &s->gai_req, on_resolved, host, s->port,
                            &hints) == 0
                 ? ENT_OK
                 : ENT_ENET;
        s->resolving = rc == ENT_OK;
    }
    if (rc != ENT_OK) { /* the caller never sees s: no closed() */
        session_drop(s, rc, &m->st.drop_net, ENT_LOG_INFO, "cannot dial");
        return rc;
    }
    s->known = true;
    *out = s;
    return ENT_OK;
}

/* ---- session accessors ------------------------------------------------------
 */

void ent_session_close(ent_session *s, int reason) {
    if (s == NULL)
        return;
    session_close_impl(s, reason, true);
}

const uint8_t *ent_session_remote_org(const ent_session *s) {
    return s != NULL && s->authorized ? s->remote_org : NULL;
}

const uint8_t *ent_session_handshake_hash(const ent_session *s) {
    return s != NULL && s->tx != NULL ? s->hh : NULL;
}

bool ent_session_is_initiator(const ent_session *s) {
    return s != NULL && s->initiator;
}

bool ent_session_is_open(const ent_session *s) {
    return s != NULL && s->state == S_OPEN;
}

const char *ent_session_peer_addr(const ent_session *s) {
    return s == NULL ? "" : s->addr;
}

const char *ent_session_peer_host(const ent_session *s) {
    return s == NULL ? "" : s->host;
}

void ent_session_set_refusal(ent_session *s, const char *why) {
    if (s != NULL)
        s->refusal = why;
}

void ent_session_set_data(ent_session *s, void *data) {
    if (s != NULL)
        s->user = data;
}

void *ent_session_data(const ent_session *s) {
    return s == NULL ? NULL : s->user;
}

ent_session_mgr *ent_session_manager(const ent_session *s) {
    return s == NULL ? NULL : s->m;
}

void ent__session_set_nonces(ent_session *s, uint64_t send, uint64_t recv) {
    if (s == NULL || s->tx == NULL)
        return;
    ent__noise_cipher_set_nonce(s->tx, send);
    ent__noise_cipher_set_nonce(s->rx, recv);
}

/* ---- manager --------------------------------------------------------------
 */

int ent_session_mgr_new(ent_session_mgr **out, uv_loop_t *loop,
                        const ent_identity *id, const ent_log *log,
                        const ent_session_callbacks *cb, void *data) {
    int rc = ENT_OK;
    ent_session_mgr *m = NULL;

    if (out == NULL || loop == NULL || id == NULL) {
        rc = ENT_EINVAL;
        goto out;
    }
    rc = ent_crypto_init();
    if (rc != ENT_OK)
        goto out;
    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    m->loop = loop;
    m->id = id;
    m->log = log;
    if (cb != NULL)
        m->cb = *cb;
    m->data = data;
    ent_session_config_default(&m->cfg);
    m->dump_fd = -1;
    const char *dump = getenv("ENTENTE_WIRE_DUMP");
    if (dump != NULL && *dump != '\0') {
        m->dump_fd = open(dump, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                          0600);
        if (m->dump_fd < 0)
            ENT_WARN(log, "session: ENTENTE_WIRE_DUMP %s: cannot open", dump);
        else
            ENT_WARN(log, "session: TEST HOOK ENTENTE_WIRE_DUMP: writing "
                          "every plaintext message to %s", dump);
    }
    uv_timer_init(loop, &m->anchor);
    m->anchor.data = m;
    uv_timer_init(loop, &m->sumtimer);
    m->sumtimer.data = m;
    m->handles = 2;
    *out = m;
out:
    return rc;
}

int ent_session_mgr_listen(ent_session_mgr *m, const char *addr) {
    char host[ADDR_LEN];
    int port = 0, rc, uverr, namelen;
    struct sockaddr_storage ss;

    if (m == NULL || m->listener_inited || m->closing)
        return ENT_EINVAL;
    rc = split_hostport(addr, host, sizeof(host), &port, true);
    if (rc == ENT_OK)
        rc = literal_addr(host, port, &ss);
    if (rc != ENT_OK)
        return rc;
    if (uv_tcp_init(m->loop, &m->listener) != 0)
        return ENT_ENET;
    m->listener.data = m;
    m->listener_inited = true;
    m->handles++;
    uverr = uv_tcp_bind(&m->listener, (struct sockaddr *)&ss, 0);
    if (uverr == 0)
        uverr = uv_listen((uv_stream_t *)&m->listener, 128, on_connection);
    if (uverr != 0) {
        ENT_ERROR(m->log, "session: listen on %s: %s", addr,
                  uv_strerror(uverr));
        return err_from_uv(uverr); /* the handle closes with the manager */
    }
    namelen = sizeof(ss);
    if (uv_tcp_getsockname(&m->listener, (struct sockaddr *)&ss, &namelen) == 0)
        format_addr((struct sockaddr *)&ss, m->listen_addr);
    ENT_INFO(m->log, "session: listening on %s", m->listen_addr);
    return ENT_OK;
}

const char *ent_session_mgr_listen_addr(const ent_session_mgr *m) {
    return m == NULL ? "" : m->listen_addr;
}

void ent_session_mgr_stats(const ent_session_mgr *m, ent_session_stats *out) {
    if (m == NULL || out == NULL)
        return;
    *out = m->st;
}

static void mgr_maybe_done(ent_session_mgr *m) {
    if (!m->closing || m->handles > 0 || m->head != NULL)
        return;
    if (m->close_cb != NULL)
        m->close_cb(m, m->close_data);
    if (m->dump_fd >= 0)
        close(m->dump_fd);
    ent_wipe(m->pbuf, sizeof(m->pbuf));
    free(m);
}

static void on_mgr_handle_closed(uv_handle_t *h) {
    ent_session_mgr *m = h->data;
    m->handles--;
    mgr_maybe_done(m);
}

void ent_session_mgr_close(ent_session_mgr *m, ent_session_mgr_close_cb cb,
                           void *data) {
    if (m == NULL || m->closing)
        return;
    m->closing = true;
    m->close_cb = cb;
    m->close_data = data;
    refusal_flush(m); /* the interval's summary is not lost */
    for (ent_session *s = m->head; s != NULL; s = s->next)
        session_close_impl(s, ENT_ECLOSED, true);
    if (m->listener_inited)
        uv_close((uv_handle_t *)&m->listener, on_mgr_handle_closed);
    uv_close((uv_handle_t *)&m->anchor, on_mgr_handle_closed);
    uv_close((uv_handle_t *)&m->sumtimer, on_mgr_handle_closed);
}
