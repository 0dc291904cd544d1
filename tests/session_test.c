/*
 * session_test.c - authenticated sessions on one loop, on 127.0.0.1 port 0:
 * two honest managers, and raw TCP clients that attack one of them
 * (garbage, oversize prefixes, silence, forged identity proofs, replayed
 * handshakes, garbage after a valid handshake) while an honest session
 * keeps working. Set SESSION_TEST_LOG=1 to see the managers' logs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "crypto/noise.h"
#include "node/err.h"
#include "node/log.h"
#include "protocol/flow.h"
#include "protocol/session.h"
#include "protocol/wire.h"

/* ---- one honest side ------------------------------------------------------
 */

typedef struct side {
    const char *name;
    ent_identity *id;
    ent_log log;
    ent_session_mgr *m;
    bool deny; /* authorize() answers false */
    bool mgr_closed;
    int n_auth, n_est, n_closed;
    int last_reason;
    uint8_t last_auth_org[ENT_PK_LEN];
    ent_session *est;      /* the last established session */
    ent_session *closed_s; /* the last closed one (pointer only) */
    /* received messages, checked against the generator */
    uint32_t next_idx;
    int n_msgs, n_bad;
    size_t max_len_seen;
    uint8_t last_msg[256]; /* the start of the last message */
    size_t last_len;
} side;

typedef struct ctx {
    uv_loop_t loop;
    side a, b, c; /* c: a third identity that is never online */
    uv_timer_t guard;
    bool timed_out;
} ctx;

/* Message i of a stream: 4-byte index || 4-byte length || pattern. */
static uint8_t *gen_msg(uint32_t i, size_t len) {
    uint8_t *p = malloc(len);
    assert_non_null(p);
    assert_true(len >= 8);
    for (int k = 0; k < 4; k++) {
        p[k] = (uint8_t)(i >> (24 - 8 * k));
        p[4 + k] = (uint8_t)((uint32_t)len >> (24 - 8 * k));
    }
    for (size_t k = 8; k < len; k++)
        p[k] = (uint8_t)(i * 31u + k * 7u + (k >> 8));
    return p;
}

static bool cb_authorize(ent_session *s, const uint8_t org[ENT_PK_LEN],
                         void *data) {
    side *sd = data;
    sd->n_auth++;
    memcpy(sd->last_auth_org, org, ENT_PK_LEN);
    assert_memory_equal(ent_session_remote_org(s), org, ENT_PK_LEN);
    return !sd->deny;
}

static void cb_established(ent_session *s, void *data) {
    side *sd = data;
    sd->n_est++;
    sd->est = s;
    assert_true(ent_session_is_open(s));
    assert_non_null(ent_session_handshake_hash(s));
}

static void cb_message(ent_session *s, const uint8_t *msg, size_t len,
                       void *data) {
    side *sd = data;
    uint32_t i = 0, l = 0;
    uint8_t *want;

    sd->n_msgs++;
    sd->last_len = len < sizeof(sd->last_msg) ? len : sizeof(sd->last_msg);
    memcpy(sd->last_msg, msg, sd->last_len);
    if (len > sd->max_len_seen)
        sd->max_len_seen = len;
    if (len < 8) {
        sd->n_bad++;
        return;
    }
    for (int k = 0; k < 4; k++) {
        i = i << 8 | msg[k];
        l = l << 8 | msg[4 + k];
    }
    if (i != sd->next_idx || l != len) {
        sd->n_bad++;
        return;
    }
    want = gen_msg(i, len);
    if (memcmp(want, msg, len) != 0)
        sd->n_bad++;
    free(want);
    sd->next_idx++;
}

static void cb_closed(ent_session *s, int reason, void *data) {
    side *sd = data;
    sd->n_closed++;
    sd->last_reason = reason;
    sd->closed_s = s;
    if (sd->est == s)
        sd->est = NULL;
}

static const ent_session_callbacks callbacks = {
    .authorize = cb_authorize,
    .established = cb_established,
    .message = cb_message,
    .closed = cb_closed,
};

static void side_init(ctx *c, side *sd, const char *name, uint8_t seedbyte,
                      bool online) {
    uint8_t seed[ENT_SIG_SEED_LEN];

    memset(sd, 0, sizeof(*sd));
    sd->name = name;
    memset(seed, seedbyte, sizeof(seed));
    assert_int_equal(ent_identity_from_seed(&sd->id, seed), ENT_OK);
    ent_log_init(&sd->log,
                 getenv("SESSION_TEST_LOG") ? ENT_LOG_DEBUG : ENT_LOG_OFF,
                 name);
    if (!online)
        return;
    assert_int_equal(
        ent_session_mgr_new(&sd->m, &c->loop, sd->id, &sd->log, &callbacks, sd),
        ENT_OK);
}

static void on_mgr_closed(ent_session_mgr *m, void *data) {
    side *sd = data;
    sd->mgr_closed = true;
}

/* ---- running the loop --------------------------------------------------- */

static void on_guard(uv_timer_t *t) {
    ctx *c = t->data;
    c->timed_out = true;
}

typedef bool (*pred_fn)(ctx *c, void *arg);

/* Runs the loop until pred holds or ms pass; returns pred's last value. */
static bool run_until(ctx *c, pred_fn pred, void *arg, uint64_t ms) {
    c->timed_out = false;
    uv_timer_start(&c->guard, on_guard, ms, 0);
    while (!pred(c, arg) && !c->timed_out)
        uv_run(&c->loop, UV_RUN_ONCE);
    uv_timer_stop(&c->guard);
    return pred(c, arg);
}

/* Runs the loop for ms, whatever happens. */
static bool never(ctx *c, void *arg) {
    return false;
}
static void run_for(ctx *c, uint64_t ms) {
    run_until(c, never, NULL, ms);
}

static bool both_established(ctx *c, void *arg) {
    return c->a.est != NULL && c->b.est != NULL;
}

static bool int_at_least(ctx *c, void *arg) {
    const int **pp = arg;
    return *pp[0] >= *pp[1];
}

static bool wait_int(ctx *c, const int *v, int want, uint64_t ms) {
    const int *args[2] = {v, &want};
    return run_until(c, int_at_least, args, ms);
}

/* ---- fixture ----------------------------------------------------------------
 */

static int setup(void **state) {
    ctx *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    assert_int_equal(uv_loop_init(&c->loop), 0);
    uv_timer_init(&c->loop, &c->guard);
    c->guard.data = c;
    side_init(c, &c->a, "a", 0xa1, true);
    side_init(c, &c->b, "b", 0xb2, true);
    side_init(c, &c->c, "c", 0xc3, false);
    assert_int_equal(ent_session_mgr_listen(c->b.m, "127.0.0.1:0"), ENT_OK);
    assert_true(
        strncmp(ent_session_mgr_listen_addr(c->b.m), "127.0.0.1:", 10) == 0);
    *state = c;
    return 0;
}

static bool mgrs_closed(ctx *c, void *arg) {
    return c->a.mgr_closed && c->b.mgr_closed;
}

static int teardown(void **state) {
    ctx *c = *state;

    ent_session_mgr_close(c->a.m, on_mgr_closed, &c->a);
    ent_session_mgr_close(c->b.m, on_mgr_closed, &c->b);
    assert_true(run_until(c, mgrs_closed, NULL, 5000));
    uv_close((uv_handle_t *)&c->guard, NULL);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&c->loop), 0); /* no handle left */
    ent_identity_free(c->a.id);
    ent_identity_free(c->b.id);
    ent_identity_free(c->c.id);
    free(c);
    return 0;
}

/* A dials B expecting B's org and both sides open. */
static void connect_ab(ctx *c) {
    ent_session *s = NULL;
    assert_int_equal(ent_session_dial(c->a.m,
                                      ent_session_mgr_listen_addr(c->b.m),
                                      ent_identity_public(c->b.id), &s),
                     ENT_OK);
    assert_non_null(s);
    assert_true(run_until(c, both_established, NULL, 5000));
    assert_ptr_equal(c->a.est, s);
}

/* Sends n messages of the generator from sd's established session. */
static void send_stream(side *from, uint32_t first, uint32_t n, size_t len) {
    for (uint32_t i = first; i < first + n; i++) {
        uint8_t *p = gen_msg(i, len);
        assert_int_equal(ent_session_send(from->est, p, len), ENT_OK);
        free(p);
    }
}

/* Sends, running the loop a little while the pending limit says so. */
static void send_retry(ctx *c, ent_session *s, const uint8_t *p, size_t len) {
    int rc;
    while ((rc = ent_session_send(s, p, len)) == ENT_ELIMIT)
        uv_run(&c->loop, UV_RUN_ONCE);
    assert_int_equal(rc, ENT_OK);
}

/* One message each way over the honest session: it still works. */
static void ping_pong(ctx *c) {
    int a0 = c->a.n_msgs, b0 = c->b.n_msgs;
    assert_non_null(c->a.est);
    assert_non_null(c->b.est);
    send_stream(&c->a, c->b.next_idx, 1, 100);
    send_stream(&c->b, c->a.next_idx, 1, 200);
    assert_true(wait_int(c, &c->b.n_msgs, b0 + 1, 5000));
    assert_true(wait_int(c, &c->a.n_msgs, a0 + 1, 5000));
    assert_int_equal(c->a.n_bad + c->b.n_bad, 0);
}

static ent_session_stats stats(side *sd) {
    ent_session_stats st;
    ent_session_mgr_stats(sd->m, &st);
    return st;
}

/* ---- raw TCP clients (attackers) ------------------------------------------
 */

enum raw_mode {
    RAW_BYTES,     /* send fixed bytes on connect */
    RAW_HANDSHAKE, /* run the initiator handshake, then send `after` */
    RAW_REPLAY,    /* send captured handshake frames blindly */
};

enum proof_kind {
    PROOF_OK,       /* honest proof for our own static key */
    PROOF_FOREIGN,  /* claims org `claim`, signed by us: bad signature */
    PROOF_MISMATCH, /* valid proof by `claim`, but Noise static is ours */
};

typedef struct raw {
    uv_tcp_t tcp;
    uv_connect_t creq;
    int mode;
    int proof;
    const ent_identity *id;    /* our Noise static / signer */
    const ent_identity *claim; /* the org key we claim (FOREIGN/MISMATCH) */
    const uint8_t *bytes;      /* RAW_BYTES / RAW_REPLAY / after */
    size_t nbytes;
    ent_noise *hs;
    ent_wire_reader *rd;
    bool connected, eof, closed, hs_done;
    uint8_t sent[1024]; /* every byte written, for replay */
    char rbuf[4096];
    size_t nsent;
} raw;

static void raw_on_closed(uv_handle_t *h) {
    raw *r = h->data;
    r->closed = true;
}

static void raw_on_write(uv_write_t *req, int status) {
    free(req);
}

static void raw_write(raw *r, const uint8_t *p, size_t len) {
    uv_write_t *req = malloc(sizeof(*req) + len);
    uv_buf_t b;
    assert_non_null(req);
    memcpy(req + 1, p, len);
    b = uv_buf_init((char *)(req + 1), (unsigned int)len);
    assert_true(r->nsent + len <= sizeof(r->sent));
    memcpy(r->sent + r->nsent, p, len);
    r->nsent += len;
    if (uv_write(req, (uv_stream_t *)&r->tcp, &b, 1, raw_on_write) != 0)
        free(req);
}

/* Writes one Noise handshake message with payload as a frame. */
static void raw_hs_write(raw *r, const uint8_t *payload, size_t plen) {
    uint8_t buf[ENT_WIRE_PREFIX_LEN + 256];
    size_t n = 0;
    assert_int_equal(ent_noise_write(r->hs, payload, plen,
                                     buf + ENT_WIRE_PREFIX_LEN, 256, &n),
                     ENT_OK);
    assert_int_equal(ent_wire_frame_header(buf, n), ENT_OK);
    raw_write(r, buf, ENT_WIRE_PREFIX_LEN + n);
}

/* Message 2 arrived: answer with message 3 carrying the chosen proof. */
static int raw_on_frame(ent_wire_reader *rd, const uint8_t *f, size_t len,
                        void *data) {
    raw *r = data;
    uint8_t payload[ENT_NOISE_MAX_MSG], auth[96];
    size_t plen = 0;
    const uint8_t *h;

    if (r->mode != RAW_HANDSHAKE || r->hs_done)
        return ENT_OK; /* ignore whatever else the server says */
    assert_int_equal(
        ent_noise_read(r->hs, f, len, payload, sizeof(payload), &plen), ENT_OK);
    h = ent_noise_handshake_hash(r->hs);
    switch (r->proof) {
    case PROOF_OK:
        memcpy(auth, ent_identity_public(r->id), 32);
        assert_int_equal(
            ent_identity_sign(r->id, ENT_SIGCTX_HANDSHAKE, h, 32, auth + 32),
            ENT_OK);
        break;
    case PROOF_FOREIGN:
        memcpy(auth, ent_identity_public(r->claim), 32);
        assert_int_equal(
            ent_identity_sign(r->id, ENT_SIGCTX_HANDSHAKE, h, 32, auth + 32),
            ENT_OK);
        break;
    default:
        memcpy(auth, ent_identity_public(r->claim), 32);
        assert_int_equal(
            ent_identity_sign(r->claim, ENT_SIGCTX_HANDSHAKE, h, 32, auth + 32),
            ENT_OK);
        break;
    }
    raw_hs_write(r, auth, sizeof(auth));
    r->hs_done = true;
    if (r->nbytes > 0)
        raw_write(r, r->bytes, r->nbytes);
    return ENT_OK;
}

static void raw_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b) {
    raw *r = h->data;
    b->base = r->rbuf;
    b->len = sizeof(r->rbuf);
}

static void raw_on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
    raw *r = st->data;
    if (n < 0) {
        r->eof = true;
        uv_read_stop(st);
        if (!uv_is_closing((uv_handle_t *)st))
            uv_close((uv_handle_t *)st, raw_on_closed);
        return;
    }
    if (n > 0)
        ent_wire_reader_feed(r->rd, (const uint8_t *)b->base, (size_t)n,
                             raw_on_frame, r);
}

static void raw_on_connect(uv_connect_t *req, int status) {
    raw *r = req->data;
    assert_int_equal(status, 0);
    r->connected = true;
    uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_on_read);
    if (r->mode == RAW_HANDSHAKE)
        raw_hs_write(r, NULL, 0);
    else if (r->nbytes > 0)
        raw_write(r, r->bytes, r->nbytes);
}

static void raw_start(ctx *c, raw *r, int mode, const uint8_t *bytes,
                      size_t n) {
    struct sockaddr_in sa;
    const char *addr = ent_session_mgr_listen_addr(c->b.m);
    int port = atoi(strrchr(addr, ':') + 1);
    uint8_t xpk[32], xsk[32];

    r->mode = mode;
    r->bytes = bytes;
    r->nbytes = n;
    assert_int_equal(ent_wire_reader_new(&r->rd, 0), ENT_OK);
    if (mode == RAW_HANDSHAKE) {
        assert_int_equal(ent_identity_x25519(r->id, xpk, xsk), ENT_OK);
        assert_int_equal(ent_noise_new(&r->hs, ENT_NOISE_XX, true,
                                       (const uint8_t *)ENT_NOISE_PROLOGUE,
                                       ENT_NOISE_PROLOGUE_LEN, xsk, NULL, NULL),
                         ENT_OK);
        ent_wipe(xsk, sizeof(xsk));
    }
    assert_int_equal(uv_ip4_addr("127.0.0.1", port, &sa), 0);
    uv_tcp_init(&c->loop, &r->tcp);
    r->tcp.data = r;
    r->creq.data = r;
    assert_int_equal(uv_tcp_connect(&r->creq, &r->tcp,
                                    (const struct sockaddr *)&sa,
                                    raw_on_connect),
                     0);
}

static bool raw_eof(ctx *c, void *arg) {
    raw *r = arg;
    return r->eof;
}

static bool raw_gone(ctx *c, void *arg) {
    raw *r = arg;
    return r->closed;
}

static void raw_finish(ctx *c, raw *r) {
    if (!uv_is_closing((uv_handle_t *)&r->tcp))
        uv_close((uv_handle_t *)&r->tcp, raw_on_closed);
    assert_true(run_until(c, raw_gone, r, 5000));
    ent_noise_free(r->hs);
    ent_wire_reader_free(r->rd);
}

/* ---- tests: honest sessions -------------------------------------------------
 */

static void test_dial_exchange(void **state) {
    ctx *c = *state;
    ent_session_stats sa, sb;
    ent_session_config cfg;
    uint8_t *big;

    memset(&cfg, 0, sizeof(cfg));
    cfg.frames_per_sec = 1000000; /* this test is a bulk transfer */
    cfg.frames_burst = 1000000;
    ent_session_mgr_set_config(c->a.m, &cfg);
    ent_session_mgr_set_config(c->b.m, &cfg);
    connect_ab(c);
    /* right remote org on both sides, same channel binding */
    assert_memory_equal(ent_session_remote_org(c->a.est),
                        ent_identity_public(c->b.id), ENT_PK_LEN);
    assert_memory_equal(ent_session_remote_org(c->b.est),
                        ent_identity_public(c->a.id), ENT_PK_LEN);
    assert_memory_equal(ent_session_handshake_hash(c->a.est),
                        ent_session_handshake_hash(c->b.est), 32);
    assert_true(ent_session_is_initiator(c->a.est));
    assert_false(ent_session_is_initiator(c->b.est));
    assert_int_equal(c->a.n_auth, 1);
    assert_int_equal(c->b.n_auth, 1);

    /* many messages A->B of varying sizes, including 60 KiB and the max */
    for (uint32_t i = 0; i < 2000; i++) {
        size_t len = 8 + (i * 37) % 3000;
        if (i == 1000)
            len = 60 * 1024;
        if (i == 1500)
            len = ENT_SESSION_MAX_MSG;
        uint8_t *p = gen_msg(i, len);
        send_retry(c, c->a.est, p, len);
        free(p);
    }
    /* and B->A at the same time */
    send_stream(&c->b, 0, 300, 500);
    big = calloc(1, ENT_SESSION_MAX_MSG + 1);
    assert_int_equal(ent_session_send(c->a.est, big, ENT_SESSION_MAX_MSG + 1),
                     ENT_ETOOBIG);
    assert_int_equal(ent_session_send(c->a.est, big, 0), ENT_EINVAL);
    free(big);

    assert_true(wait_int(c, &c->b.n_msgs, 2000, 10000));
    assert_true(wait_int(c, &c->a.n_msgs, 300, 10000));
    assert_int_equal(c->b.n_bad, 0);
    assert_int_equal(c->a.n_bad, 0);
    assert_int_equal(c->b.next_idx, 2000);
    assert_int_equal(c->b.max_len_seen, ENT_SESSION_MAX_MSG);

    sa = stats(&c->a);
    sb = stats(&c->b);
    assert_int_equal(sa.handshakes_ok, 1);
    assert_int_equal(sb.handshakes_ok, 1);
    assert_int_equal(sa.messages_out, 2000);
    assert_int_equal(sb.messages_in, 2000);
    assert_int_equal(sb.frames_in, 2000 + 2); /* + handshake messages 1, 3 */
    assert_int_equal(sa.sessions, 1);
    assert_int_equal(sa.handshaking, 0);
    assert_int_equal(sb.drop_decrypt + sb.drop_proto + sb.drop_too_big, 0);
    assert_int_equal(ent_session_pending(c->a.est), 0);
}

static void test_graceful_close_flushes(void **state) {
    ctx *c = *state;
    ent_session *s;
    ent_session_config cfg;
    int n;

    /* more than the kernel's socket buffers hold, so that the close must
     * wait for the queue to drain */
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_pending = 16 * 1024 * 1024;
    /* the flush is bounded by the linger (2 s by default): under ASan on a
     * loaded machine 16 MiB through Noise took longer, and the close cut
     * the queue short (355 of 419 messages); what is checked here is that
     * a close flushes what was queued, within a linger that allows it */
    cfg.linger_ms = 60000;
    ent_session_mgr_set_config(c->a.m, &cfg);
    connect_ab(c);
    s = c->a.est;
    /* queue up to the pending limit without running the loop */
    for (n = 0;; n++) {
        uint8_t *p = gen_msg((uint32_t)n, 40000);
        int rc = ent_session_send(s, p, 40000);
        free(p);
        if (rc == ENT_ELIMIT)
            break;
        assert_int_equal(rc, ENT_OK);
    }
    assert_int_equal(n, cfg.max_pending / (40000 + 20));
    ent_session_close(s, ENT_OK);
    assert_int_equal(ent_session_send(s, (const uint8_t *)"x", 1), ENT_ECLOSED);
    /* 16 MiB through Noise under ASan: a deadline for a stuck close, not
     * a speed check (it failed at 5 s on a machine at load 7) */
    assert_true(wait_int(c, &c->b.n_closed, 1, 60000));
    assert_true(wait_int(c, &c->a.n_closed, 1, 60000));
    /* everything queued before the close arrived */
    assert_int_equal(c->b.n_msgs, n);
    assert_int_equal(c->b.n_bad, 0);
    assert_int_equal(c->a.last_reason, ENT_OK);
    assert_int_equal(c->b.last_reason, ENT_ECLOSED);
    assert_int_equal(stats(&c->a).sessions, 0);
    assert_int_equal(stats(&c->b).sessions, 0);
}

static void test_frame_rate_limit(void **state) {
    ctx *c = *state;
    ent_session_config cfg;
    ent_wire_msg e;

    memset(&cfg, 0, sizeof(cfg));
    cfg.frames_per_sec = 10;
    cfg.frames_burst = 20;
    ent_session_mgr_set_config(c->b.m, &cfg);
    connect_ab(c);
    send_stream(&c->a, 0, 20, 50); /* the burst passes */
    assert_true(wait_int(c, &c->b.n_msgs, 20, 5000));
    assert_int_equal(c->b.n_closed, 0);
    send_stream(&c->a, 20, 50, 50); /* then it is too fast */
    assert_true(wait_int(c, &c->b.n_closed, 1, 5000));
    assert_int_equal(c->b.last_reason, ENT_ELIMIT);
    assert_int_equal(stats(&c->b).drop_rate, 1);
    assert_true(c->b.n_msgs < 25);
    /* A got ERROR LIMIT before the close */
    assert_true(wait_int(c, &c->a.n_closed, 1, 5000));
    assert_int_equal(c->a.n_msgs, 1);
    assert_int_equal(ent_wire_decode(&e, c->a.last_msg, c->a.last_len), ENT_OK);
    assert_int_equal(e.type, ENT_WIRE_ERROR);
    assert_int_equal(e.u.error.code, ENT_WIRE_C_LIMIT);
    ent_wire_msg_clear(&e);
}

/* flow/1 on both sides (spec/protocol.md §3.9), the frame-rate bucket of B
 * at 10/s, bursts of 20: 3,000 messages of up to 20 KB still go through,
 * because with flow control only CREDIT frames pay tokens. A waits for
 * credit (ENT_ELIMIT, retried once the loop ran), B grants as it reads and
 * never drops the session. */
static void test_flow_credit(void **state) {
    ctx *c = *state;
    ent_session_config cfg;
    enum { N = 3000 };

    memset(&cfg, 0, sizeof(cfg));
    cfg.frames_per_sec = 10;
    cfg.frames_burst = 20;
    ent_session_mgr_set_config(c->b.m, &cfg);
    ent_session_mgr_set_flow(c->a.m, true);
    ent_session_mgr_set_flow(c->b.m, true);
    connect_ab(c);
    /* both learnt that the other speaks flow/1 (the node reads HELLO) */
    ent_session_set_flow(c->a.est, true);
    ent_session_set_flow(c->b.est, true);
    assert_true(ent_session_flow_on(c->a.est));
    for (uint32_t i = 0; i < N; i++) {
        size_t len = 8 + (i * 7919u) % 20000;
        uint8_t *p = gen_msg(i, len);
        send_retry(c, c->a.est, p, len);
        free(p);
    }
    assert_true(wait_int(c, &c->b.n_msgs, N, 60000));
    run_for(c, 50);
    assert_int_equal(c->b.n_bad, 0);
    assert_int_equal(c->b.n_closed, 0);
    assert_int_equal(c->a.n_closed, 0);
    assert_int_equal(c->a.n_msgs, 0); /* CREDITs are not handed up */
    assert_int_equal(stats(&c->b).drop_rate, 0);
    assert_int_equal(stats(&c->b).drop_credit, 0);
    assert_true(stats(&c->a).credit_waits > 0);
    assert_true(stats(&c->b).credits_sent >= N / ENT_FLOW_WINDOW_FRAMES);
    assert_int_equal(stats(&c->a).credits_received, stats(&c->b).credits_sent);
    /* a CREDIT that lowers a total is a violation */
    ent_wire_msg m;
    uint8_t buf[32];
    size_t len = 0;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_CREDIT;
    m.u.credit = (ent_wire_credit){1, 1};
    assert_int_equal(ent_wire_encode_to(&m, buf, sizeof(buf), &len), ENT_OK);
    send_retry(c, c->b.est, buf, len);
    assert_true(wait_int(c, &c->a.n_closed, 1, 5000));
    assert_int_equal(c->a.last_reason, ENT_EPROTO);
}

/* A peer that ignores its credit: B uses flow/1 and believes A does (A's
 * HELLO would have said so) while A's manager never waits. B stops
 * reading, A sends 2,000 small messages, B reads again: past the window B
 * granted, B cuts A off (drop_credit), having handed up no more than it
 * granted. */
static void test_flow_ignored(void **state) {
    ctx *c = *state;

    ent_session_mgr_set_flow(c->b.m, true);
    connect_ab(c);
    ent_session_set_flow(c->b.est, true);
    assert_false(ent_session_flow_on(c->a.est)); /* A: no limits */
    ent_session_read_stop(c->b.est);
    run_for(c, 50);
    for (uint32_t i = 0; i < 2000; i++) {
        uint8_t *p = gen_msg(i, 40);
        assert_int_equal(ent_session_send(c->a.est, p, 40), ENT_OK);
        free(p);
    }
    run_for(c, 200);
    assert_int_equal(c->b.n_msgs, 0);
    ent_session_read_start(c->b.est);
    assert_true(wait_int(c, &c->b.n_closed, 1, 5000));
    assert_int_equal(c->b.last_reason, ENT_ELIMIT);
    assert_int_equal(stats(&c->b).drop_credit, 1);
    assert_int_equal(stats(&c->b).drop_rate, 0);
    assert_true(c->b.n_msgs <= ENT_FLOW_WINDOW_FRAMES);
    assert_int_equal(c->b.n_bad, 0);
}

static void test_send_limit(void **state) {
    ctx *c = *state;
    ent_session_config cfg;
    uint8_t *p;

    memset(&cfg, 0, sizeof(cfg));
    cfg.max_pending = 100000;
    ent_session_mgr_set_config(c->a.m, &cfg);
    connect_ab(c);
    send_stream(&c->a, 0, 1, 60000);
    p = gen_msg(1, 60000);
    assert_int_equal(ent_session_send(c->a.est, p, 60000), ENT_ELIMIT);
    assert_int_equal(stats(&c->a).send_refused, 1);
    /* once the queue drains, sending works again */
    assert_true(wait_int(c, &c->b.n_msgs, 1, 5000));
    run_for(c, 50);
    assert_int_equal(ent_session_pending(c->a.est), 0);
    assert_int_equal(ent_session_send(c->a.est, p, 60000), ENT_OK);
    free(p);
    assert_true(wait_int(c, &c->b.n_msgs, 2, 5000));
    assert_int_equal(c->b.n_bad, 0);
}

static void test_wrong_expected_org(void **state) {
    ctx *c = *state;
    ent_session *s = NULL;
    ent_session_mgr *bm = c->b.m;
    ent_session_stats st;

    /* A dials B's address but expects org C */
    assert_int_equal(ent_session_dial(c->a.m, ent_session_mgr_listen_addr(bm),
                                      ent_identity_public(c->c.id), &s),
                     ENT_OK);
    assert_true(wait_int(c, &c->a.n_closed, 1, 5000));
    assert_int_equal(c->a.last_reason, ENT_EDENIED);
    assert_ptr_equal(c->a.closed_s, s);
    assert_int_equal(c->a.n_est, 0);
    assert_int_equal(c->a.n_auth, 0); /* rejected before authorize */
    assert_int_equal(stats(&c->a).drop_wrong_org, 1);
    /* B sees the connection fail, never opens it */
    st = stats(&c->b);
    for (int i = 0; i < 100 && st.handshakes_failed < 1; i++) {
        run_for(c, 20);
        st = stats(&c->b);
    }
    assert_int_equal(st.handshakes_failed, 1);
    assert_int_equal(st.sessions, 0);
    assert_int_equal(c->b.n_est, 0);
}

static void test_authorize_denied_by_responder(void **state) {
    ctx *c = *state;
    ent_session *s = NULL;

    c->b.deny = true;
    assert_int_equal(ent_session_dial(c->a.m,
                                      ent_session_mgr_listen_addr(c->b.m),
                                      ent_identity_public(c->b.id), &s),
                     ENT_OK);
    assert_true(wait_int(c, &c->a.n_closed, 1, 5000));
    assert_true(wait_int(c, &c->b.n_closed, 1, 5000));
    assert_int_equal(c->b.n_auth, 1);
    assert_int_equal(c->b.n_est, 0);
    assert_int_equal(c->b.last_reason, ENT_EDENIED);
    assert_int_equal(stats(&c->b).drop_unauthorized, 1);
    assert_int_equal(stats(&c->b).handshakes_ok, 0);
    assert_int_equal(stats(&c->a).sessions, 0);
}

static void test_authorize_denied_by_initiator(void **state) {
    ctx *c = *state;
    ent_session *s = NULL;

    c->a.deny = true;
    assert_int_equal(
        ent_session_dial(c->a.m, ent_session_mgr_listen_addr(c->b.m), NULL, &s),
        ENT_OK);
    assert_true(wait_int(c, &c->a.n_closed, 1, 5000));
    assert_int_equal(c->a.n_auth, 1);
    assert_memory_equal(c->a.last_auth_org, ent_identity_public(c->b.id), 32);
    assert_int_equal(c->a.last_reason, ENT_EDENIED);
    assert_int_equal(c->a.n_est, 0);
    run_for(c, 100);
    assert_int_equal(c->b.n_est, 0);
    assert_int_equal(c->b.n_auth, 0);
    assert_int_equal(stats(&c->b).sessions, 0);
}

static void test_idle_timeout(void **state) {
    ctx *c = *state;
    ent_session_config cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.idle_timeout_ms = 150;
    ent_session_mgr_set_config(c->b.m, &cfg);
    connect_ab(c);
    /* traffic keeps it alive past the timeout */
    for (int i = 0; i < 4; i++) {
        send_stream(&c->a, (uint32_t)i, 1, 16);
        run_for(c, 60);
    }
    assert_int_equal(c->b.n_closed, 0);
    assert_true(wait_int(c, &c->b.n_closed, 1, 2000));
    assert_int_equal(c->b.last_reason, ENT_ETIMEOUT);
    assert_int_equal(stats(&c->b).drop_idle, 1);
    assert_true(wait_int(c, &c->a.n_closed, 1, 2000));
    assert_int_equal(c->a.last_reason, ENT_ECLOSED);
}

static void test_rekey(void **state) {
    ctx *c = *state;
    const uint64_t edge = ENT_SESSION_REKEY_INTERVAL - 3;

    connect_ab(c);
    ent__session_set_nonces(c->a.est, edge, 0);
    ent__session_set_nonces(c->b.est, 0, edge);
    send_stream(&c->a, 0, 6, 100); /* crosses nonce 2^32 - 1 */
    assert_true(wait_int(c, &c->b.n_msgs, 6, 5000));
    assert_int_equal(c->b.n_bad, 0);
    assert_int_equal(stats(&c->a).rekeys, 1);
    assert_int_equal(stats(&c->b).rekeys, 1);
    ping_pong(c);

    /* a receiver that does not rekey in step can no longer decrypt */
    ent__session_set_nonces(c->a.est, edge, 0);
    ent__session_set_nonces(c->b.est, 0, edge + 10);
    send_stream(&c->a, c->b.next_idx, 1, 100);
    assert_true(wait_int(c, &c->b.n_closed, 1, 5000));
    assert_int_equal(c->b.last_reason, ENT_EDECRYPT);
}

static void test_nonce_exhaustion(void **state) {
    ctx *c = *state;
    ent_session *s;

    connect_ab(c);
    /* our send counter at 2^64 - 1: refused, the session closes */
    s = c->a.est;
    ent__session_set_nonces(s, UINT64_MAX, 0);
    assert_int_equal(ent_session_send(s, (const uint8_t *)"12345678", 8),
                     ENT_ECLOSED);
    assert_int_equal(stats(&c->a).drop_nonce, 1);
    assert_true(wait_int(c, &c->a.n_closed, 1, 5000));
    assert_int_equal(c->a.last_reason, ENT_ELIMIT);
    assert_true(wait_int(c, &c->b.n_closed, 1, 5000));

    /* the receiver's counter at 2^64 - 1: it drops the session */
    c->a.est = c->b.est = NULL;
    connect_ab(c);
    ent__session_set_nonces(c->b.est, 0, UINT64_MAX);
    send_stream(&c->a, 0, 1, 16);
    assert_true(wait_int(c, &c->b.n_closed, 2, 5000));
    assert_int_equal(c->b.last_reason, ENT_ELIMIT);
    assert_int_equal(stats(&c->b).drop_nonce, 1);
    assert_int_equal(c->b.n_msgs, 0);
}

static void test_dial_errors(void **state) {
    ctx *c = *state;
    ent_session *s = NULL;

    assert_int_equal(ent_session_dial(c->a.m, "nonsense", NULL, &s),
                     ENT_EINVAL);
    assert_int_equal(ent_session_dial(c->a.m, "127.0.0.1:0", NULL, &s),
                     ENT_EINVAL);
    assert_int_equal(ent_session_dial(c->a.m, "::1:80", NULL, &s), ENT_EINVAL);
    assert_int_equal(ent_session_mgr_listen(c->b.m, "127.0.0.1:0"),
                     ENT_EINVAL); /* already listening */
    /* nobody listens on A's dial target: closed(ENT_ENET) */
    {
        uv_tcp_t t;
        struct sockaddr_in sa;
        struct sockaddr_storage ss;
        int len = sizeof(ss);
        char addr[64];
        uv_tcp_init(&c->loop, &t);
        uv_ip4_addr("127.0.0.1", 0, &sa);
        assert_int_equal(uv_tcp_bind(&t, (struct sockaddr *)&sa, 0), 0);
        uv_tcp_getsockname(&t, (struct sockaddr *)&ss, &len);
        snprintf(addr, sizeof(addr), "127.0.0.1:%d",
                 ntohs(((struct sockaddr_in *)&ss)->sin_port));
        uv_close((uv_handle_t *)&t, NULL);
        run_for(c, 10);
        assert_int_equal(ent_session_dial(c->a.m, addr, NULL, &s), ENT_OK);
    }
    assert_true(wait_int(c, &c->a.n_closed, 1, 5000));
    assert_int_equal(c->a.last_reason, ENT_ENET);
    assert_int_equal(stats(&c->a).drop_net, 1);
    /* a host name is resolved */
    {
        char addr[64];
        snprintf(addr, sizeof(addr), "localhost:%s",
                 strrchr(ent_session_mgr_listen_addr(c->b.m), ':') + 1);
        assert_int_equal(
            ent_session_dial(c->a.m, addr, ent_identity_public(c->b.id), &s),
            ENT_OK);
        assert_true(run_until(c, both_established, NULL, 5000));
    }
}

/* ---- tests: hostile peers
 * ---------------------------------------------------- */

static void test_garbage_and_oversize(void **state) {
    ctx *c = *state;
    ent_session_stats st;
    static const uint8_t oversize[] = {0xff, 0xff, 0xff, 0xff};
    static const uint8_t zero[] = {0, 0, 0, 0, 1, 2, 3};
    static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    static const uint8_t small[] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
    static const uint8_t big_hs[] = {0, 0, 0, 33}; /* over HS1 size */
    struct {
        const uint8_t *b;
        size_t n;
        size_t off; /* offsetof the counter in ent_session_stats */
    } cases[] = {
        {oversize, sizeof(oversize), offsetof(ent_session_stats, drop_too_big)},
        {zero, sizeof(zero), offsetof(ent_session_stats, drop_proto)},
        {http, sizeof(http) - 1, offsetof(ent_session_stats, drop_too_big)},
        {small, sizeof(small), offsetof(ent_session_stats, drop_proto)},
        {big_hs, sizeof(big_hs), offsetof(ent_session_stats, drop_too_big)},
    };

    connect_ab(c);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        raw r;
        ent_session_stats now;
        uint64_t before;

        memset(&r, 0, sizeof(r));
        st = stats(&c->b);
        before = *(const uint64_t *)((const char *)&st + cases[i].off);
        raw_start(c, &r, RAW_BYTES, cases[i].b, cases[i].n);
        assert_true(run_until(c, raw_eof, &r, 5000));
        now = stats(&c->b);
        assert_int_equal(*(const uint64_t *)((const char *)&now + cases[i].off),
                         before + 1);
        assert_int_equal(now.handshakes_failed, st.handshakes_failed + 1);
        raw_finish(c, &r);
        ping_pong(c);
    }
    st = stats(&c->b);
    assert_int_equal(st.sessions, 1);
    assert_int_equal(st.handshaking, 0);
    assert_int_equal(c->b.n_auth, 1); /* attackers never reached authorize */
}

static void test_silent_client_times_out(void **state) {
    ctx *c = *state;
    ent_session_config cfg;
    raw r;
    uint64_t t0;

    memset(&cfg, 0, sizeof(cfg));
    cfg.handshake_timeout_ms = 200;
    ent_session_mgr_set_config(c->b.m, &cfg);
    connect_ab(c);
    memset(&r, 0, sizeof(r));
    uv_update_time(&c->loop);
    t0 = uv_now(&c->loop);
    raw_start(c, &r, RAW_BYTES, NULL, 0);
    assert_true(run_until(c, raw_eof, &r, 5000));
    assert_true(uv_now(&c->loop) - t0 >= 190);
    assert_int_equal(stats(&c->b).drop_hs_timeout, 1);
    raw_finish(c, &r);
    ping_pong(c);
}

static void test_garbage_after_handshake(void **state) {
    ctx *c = *state;
    raw r;
    uint8_t junk[4 + 40];
    side d;
    uint64_t before;
    ent_session *ab;

    connect_ab(c);
    side_init(c, &d, "d", 0xd4, false);
    memset(junk, 0x5a, sizeof(junk));
    ent_wire_frame_header(junk, 40);
    memset(&r, 0, sizeof(r));
    r.id = d.id;
    r.proof = PROOF_OK;
    ab = c->b.est;
    before = stats(&c->b).drop_decrypt;
    raw_start(c, &r, RAW_HANDSHAKE, junk, sizeof(junk));
    assert_true(run_until(c, raw_eof, &r, 5000));
    assert_int_equal(stats(&c->b).drop_decrypt, before + 1);
    /* D proved its key, was authorized and opened, then dropped */
    assert_int_equal(c->b.n_auth, 2);
    assert_memory_equal(c->b.last_auth_org, ent_identity_public(d.id), 32);
    assert_true(wait_int(c, &c->b.n_closed, 1, 5000));
    assert_int_equal(c->b.last_reason, ENT_EDECRYPT);
    assert_ptr_not_equal(c->b.closed_s, ab);
    raw_finish(c, &r);
    c->b.est = ab;
    ping_pong(c);
    ent_identity_free(d.id);
}

/* D's Noise key handshakes with B claiming the org claim, with a proof of
 * kind proof: B hangs up (*s0, *s1: B's counters before and after), and A
 * and B still ping-pong. */
static void claim_dropped(ctx *c, side *d, const ent_identity *claim,
                          int proof, ent_session_stats *s0,
                          ent_session_stats *s1) {
    raw r;
    *s0 = stats(&c->b);
    memset(&r, 0, sizeof(r));
    r.id = d->id;
    r.claim = claim;
    r.proof = proof;
    raw_start(c, &r, RAW_HANDSHAKE, NULL, 0);
    assert_true(run_until(c, raw_eof, &r, 5000));
    *s1 = stats(&c->b);
    raw_finish(c, &r);
    ping_pong(c);
}

static void test_substituted_keys(void **state) {
    ctx *c = *state;
    side d;

    connect_ab(c);
    side_init(c, &d, "d", 0xd4, false);
    /* D's Noise key, claims to be A, signs with D's key: bad signature */
    ent_session_stats s0, s1;
    claim_dropped(c, &d, c->a.id, PROOF_FOREIGN, &s0, &s1);
    assert_int_equal(s1.drop_bad_sig, s0.drop_bad_sig + 1);
    /* D's Noise key, a valid proof by C's org key: key mismatch */
    claim_dropped(c, &d, c->c.id, PROOF_MISMATCH, &s0, &s1);
    assert_int_equal(s1.drop_key_mismatch, s0.drop_key_mismatch + 1);
    assert_int_equal(c->b.n_auth, 1);
    assert_int_equal(c->b.n_est, 1);
    ent_identity_free(d.id);
}

static void test_replayed_handshake(void **state) {
    ctx *c = *state;
    side d;
    raw r1, r2;
    uint64_t dec;

    connect_ab(c);
    side_init(c, &d, "d", 0xd4, false);
    /* an honest handshake by D, recorded */
    memset(&r1, 0, sizeof(r1));
    r1.id = d.id;
    r1.proof = PROOF_OK;
    raw_start(c, &r1, RAW_HANDSHAKE, NULL, 0);
    assert_true(wait_int(c, &c->b.n_est, 2, 5000));
    assert_memory_equal(ent_session_remote_org(c->b.est),
                        ent_identity_public(d.id), 32);
    assert_int_equal(r1.nsent, 4 + 32 + 4 + 160);
    raw_finish(c, &r1);
    assert_true(wait_int(c, &c->b.n_closed, 1, 5000));
    c->b.est = NULL;

    /* the same bytes replayed on a new connection */
    dec = stats(&c->b).drop_decrypt;
    memset(&r2, 0, sizeof(r2));
    raw_start(c, &r2, RAW_REPLAY, r1.sent, r1.nsent);
    assert_true(run_until(c, raw_eof, &r2, 5000));
    assert_int_equal(stats(&c->b).drop_decrypt, dec + 1);
    assert_int_equal(c->b.n_est, 2); /* no new session */
    assert_int_equal(c->b.n_auth, 2);
    raw_finish(c, &r2);
    ent_identity_free(d.id);
}

static void test_handshake_limit(void **state) {
    ctx *c = *state;
    ent_session_config cfg;
    raw r1, r2;

    memset(&cfg, 0, sizeof(cfg));
    cfg.max_handshakes = 1;
    ent_session_mgr_set_config(c->b.m, &cfg);
    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    raw_start(c, &r1, RAW_BYTES, NULL, 0); /* holds the one handshake slot */
    run_for(c, 50);
    raw_start(c, &r2, RAW_BYTES, NULL, 0);
    assert_true(run_until(c, raw_eof, &r2, 5000));
    assert_false(r1.eof);
    assert_int_equal(stats(&c->b).refused_limit, 1);
    assert_int_equal(stats(&c->b).handshaking, 1);
    raw_finish(c, &r1);
    raw_finish(c, &r2);
    run_for(c, 50);
    /* the slot is free again: an honest dial works */
    connect_ab(c);
}

/* B's log lines, for the refusal summary. */
static char cap_lines[16][512];
static int cap_n;
static void cap_sink(void *data, ent_log_level level, const char *line) {
    if (cap_n < 16)
        snprintf(cap_lines[cap_n++], sizeof(cap_lines[0]), "%s", line);
}

static bool raws_eof(ctx *c, void *arg) {
    raw *r = arg;
    return r[0].eof && r[1].eof;
}

/* One address holds at most max_handshakes_per_addr handshake slots; the
 * connections over it are refused at once, and the refusals make one
 * summary line per interval, never a line each. */
static void test_handshakes_per_addr(void **state) {
    ctx *c = *state;
    ent_session_config cfg;
    raw hold[2], over[2];

    memset(&cfg, 0, sizeof(cfg));
    cfg.max_handshakes_per_addr = 2;
    cfg.refusal_log_ms = 300;
    ent_session_mgr_set_config(c->b.m, &cfg);
    cap_n = 0;
    c->b.log.level = ENT_LOG_INFO;
    c->b.log.sink = cap_sink;
    memset(hold, 0, sizeof(hold));
    memset(over, 0, sizeof(over));
    raw_start(c, &hold[0], RAW_BYTES, NULL, 0); /* two silent handshakes */
    raw_start(c, &hold[1], RAW_BYTES, NULL, 0);
    run_for(c, 50);
    assert_int_equal(stats(&c->b).handshaking, 2);
    raw_start(c, &over[0], RAW_BYTES, NULL, 0);
    raw_start(c, &over[1], RAW_BYTES, NULL, 0);
    assert_true(run_until(c, raws_eof, over, 5000));
    assert_false(hold[0].eof || hold[1].eof);
    assert_int_equal(stats(&c->b).refused_addr, 2);
    assert_int_equal(stats(&c->b).refused_limit, 0);
    assert_int_equal(stats(&c->b).refused, 2);
    assert_int_equal(stats(&c->b).handshakes_failed, 0);
    assert_int_equal(stats(&c->b).handshaking, 2);
    assert_int_equal(cap_n, 0); /* nothing logged yet */
    run_for(c, 400);
    assert_int_equal(cap_n, 1);
    assert_non_null(strstr(cap_lines[0],
                           "session: refused 2 connections from 1 address in "
                           "the last 0."));
    assert_non_null(strstr(cap_lines[0], ": 2 handshakes per address"));
    raw_finish(c, &hold[0]);
    raw_finish(c, &hold[1]);
    raw_finish(c, &over[0]);
    raw_finish(c, &over[1]);
    /* the two held ones hang up themselves: no refusal, no line */
    run_for(c, 400);
    assert_int_equal(cap_n, 1);
    assert_int_equal(stats(&c->b).refused, 2);
    c->b.log.sink = NULL;
    c->b.log.level = ENT_LOG_OFF;
    /* an honest dial from the same address works */
    connect_ab(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dial_exchange, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graceful_close_flushes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_send_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flow_credit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flow_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frame_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_expected_org, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_authorize_denied_by_responder,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_authorize_denied_by_initiator,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rekey, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonce_exhaustion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dial_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_and_oversize, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_silent_client_times_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_garbage_after_handshake, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_substituted_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replayed_handshake, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_handshake_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshakes_per_addr, setup,
                                        teardown),
    };
    if (ent_crypto_init() != ENT_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
