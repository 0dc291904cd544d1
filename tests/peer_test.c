/*
 * peer_test.c - invariant 2 on the receiving side: OPS from an org that is
 * not a member of the object are never applied, even when every op in them
 * is perfectly valid (signed by a member, sealed with the epoch key), so
 * only the peer layer's membership gate stands between them and the store.
 *
 * One loop, 127.0.0.1 port 0. V is a real ent_node that owns object O.
 * M is a member of O held in a bare object engine (V added it and it holds
 * the epoch key): it makes one valid set op, m_op, that V's engine would
 * apply. Z is an org with its own session manager that relays m_op to V:
 *   1. Z is a member of nothing and V has made no invite: the handshake is
 *      refused (authorize), session counter drop_unauthorized.
 *   2. V has made an invite (of O): Z gets in as a guest; its OPS get
 *      ERROR DENIED and the session is closed; peers counter denied.
 *   3. Z is a member of V's other object O2 (a partner): its OPS for O get
 *      an empty ACK and ERROR NOTMEMBER; peers counter ops_nonmember.
 * After each, O's shared state is byte-for-byte unchanged and V's engine
 * applied nothing. Finally m_op handed to V's engine directly IS applied,
 * which proves the gate, not the op, made the difference.
 *
 * Signed address records (spec/gossip.md §10), on the same sessions: V
 * sends partner Z its own record and never M's (Z shares no object with
 * M); of the records Z sends, V takes M's (a fellow member) and ignores a
 * stranger's, an older one of M, one dated far ahead; a record with a
 * broken signature is a violation that drops Z.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "object_fixture.h"

#include "node/home.h"
#include "node/daemon/daemon.h"
#include "node/node.h"
#include "node/peers/peer.h"
#include "node/peers/peer_int.h"
#include "protocol/addr_record.h"
#include "protocol/session.h"
#include "protocol/wire.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define WAIT_MS 8000

typedef struct zpeer {
    tnode t;
    ent_session_mgr *mgr;
    ent_session *s;
    bool open, closed;
    unsigned hellos, acks, errors;
    unsigned addrs_recs;  /* records received in ADDRS */
    bool addrs_self;      /* one of them is V's own */
    bool addrs_other;     /* one of them is another org's */
    size_t last_ack_nids;
    int32_t last_err;
    uint8_t v_org[32];
} zpeer;

typedef struct world {
    uv_loop_t loop;
    uv_timer_t wake;
    char tmp[PATH_MAX];
    char home[PATH_MAX];
    ent_node *v;
    ent_log log;
    uint8_t obj[32], obj2[32];
    tnode m;
    zpeer z;
    ent_op *m_op;
    int stopped;
} world;

static void on_wake(uv_timer_t *t) { (void)t; }

static bool run_until(world *w, bool (*pred)(world *w), uint64_t ms) {
    uv_update_time(&w->loop);
    uint64_t end = uv_now(&w->loop) + ms;
    while (!pred(w) && uv_now(&w->loop) < end)
        uv_run(&w->loop, UV_RUN_ONCE);
    return pred(w);
}

static bool never(world *w) { return false; }

static uint64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static ent_objects *veng(world *w) { return ent_node_objects(w->v); }

static ent_peers_stats pst(world *w) {
    ent_peers_stats s;
    ent_peers_stats_get(ent_node_peers(w->v), &s);
    return s;
}

static ent_obj_stats est(world *w) {
    ent_obj_stats s;
    ent_obj_stats_get(veng(w), &s);
    return s;
}

static ent_session_stats sst(world *w) {
    ent_session_stats s;
    ent_session_mgr_stats(ent_node_peers(w->v)->mgr, &s);
    return s;
}

/* O's canonical shared state on V (malloc'ed). */
static uint8_t *state(world *w, size_t *len) {
    uint8_t *out = NULL;
    assert_int_equal(ent_obj_state_encode(veng(w), w->obj, &out, len), ENT_OK);
    return out;
}

static void z_established(ent_session *s, void *data) {
    zpeer *z = data;
    if (s == z->s)
        z->open = true;
}

static void z_message(ent_session *s, const uint8_t *msg, size_t len,
                      void *data) {
    zpeer *z = data;
    ent_wire_msg m;
    if (ent_wire_decode(&m, msg, len) != ENT_OK)
        return;
    if (m.type == ENT_WIRE_HELLO) {
        z->hellos++;
    } else if (m.type == ENT_WIRE_ACK) {
        z->acks++;
        z->last_ack_nids = m.u.ack.nids;
    } else if (m.type == ENT_WIRE_ADDRS) {
        for (size_t i = 0; i < m.u.addrs.nrecs; i++) {
            ent_addr_record r;
            z->addrs_recs++;
            if (ent_addr_record_decode(&r, m.u.addrs.recs[i].p,
                                       m.u.addrs.recs[i].len) != ENT_OK)
                continue;
            if (memcmp(r.org, z->v_org, 32) == 0)
                z->addrs_self = true;
            else
                z->addrs_other = true;
        }
    } else if (m.type == ENT_WIRE_ERROR) {
        z->errors++;
        z->last_err = m.u.error.code;
    } else if (m.type == ENT_WIRE_OPS) {
        /* ops of O2 (Z's own object): ACK them to keep V's window open */
        ent_wire_msg ack;
        uint8_t *buf = NULL;
        size_t blen;
        memset(&ack, 0, sizeof(ack));
        ack.type = ENT_WIRE_ACK;
        memcpy(ack.u.ack.object, m.u.ops.object, 32);
        if (ent_wire_encode(&ack, &buf, &blen) == ENT_OK)
            ent_session_send(s, buf, blen);
        free(buf);
    }
    ent_wire_msg_clear(&m);
}

static void z_closed(ent_session *s, int reason, void *data) {
    zpeer *z = data;
    if (s == z->s) {
        z->s = NULL;
        z->open = false;
        z->closed = true;
    }
}

static bool z_settled(world *w) {
    return w->z.closed || (w->z.open && w->z.hellos > 0);
}
static bool z_gone(world *w) { return w->z.s == NULL; }

static void z_send(world *w, const ent_wire_msg *m) {
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(ent_wire_encode(m, &buf, &len), ENT_OK);
    assert_non_null(w->z.s);
    assert_int_equal(ent_session_send(w->z.s, buf, len), ENT_OK);
    free(buf);
}

/* Dials V and waits until the session is open with V's HELLO, or closed. */
static void z_dial(world *w) {
    zpeer *z = &w->z;
    if (z->s != NULL) {
        ent_session_close(z->s, ENT_OK);
        assert_true(run_until(w, z_gone, WAIT_MS));
    }
    z->open = z->closed = false;
    z->hellos = z->acks = z->errors = 0;
    z->last_err = 0;
    assert_int_equal(ent_session_dial(z->mgr, ent_node_listen(w->v),
                                      ent_identity_public(ent_node_identity(w->v)),
                                      &z->s),
                     ENT_OK);
    run_until(w, z_settled, WAIT_MS);
}

static void z_hello(world *w) {
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_HELLO;
    m.u.hello.version = ENT_WIRE_VERSION;
    snprintf(m.u.hello.name, sizeof(m.u.hello.name), "zed");
    z_send(w, &m);
}

/* Z relays M's valid op of O. */
static void z_send_m_op(world *w) {
    ent_wire_msg m;
    ent_wire_bytes b = {w->m_op->raw, w->m_op->rawlen};
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_OPS;
    memcpy(m.u.ops.object, w->obj, 32);
    m.u.ops.ops = &b;
    m.u.ops.nops = 1;
    z_send(w, &m);
}

static bool z_erred_or_closed(world *w) {
    return w->z.errors > 0 || w->z.closed;
}
static bool z_erred_and_acked(world *w) {
    return (w->z.errors > 0 && w->z.acks > 0) || w->z.closed;
}

static int ops_copy_cb(void *data, const uint8_t *raw, size_t len) {
    return tops_cb(data, raw, len);
}

static void node_stopped(ent_node *n, void *data) {
    ((world *)data)->stopped++;
}
static void mgr_closed(ent_session_mgr *m, void *data) {
    ((world *)data)->z.mgr = NULL;
}
static bool all_stopped(world *w) { return w->stopped == 1 && w->z.mgr == NULL; }

static int rm_entry(const char *p, const struct stat *sb, int t,
                    struct FTW *f) {
    return remove(p);
}

static void test_nonmember_ops_dropped(void **st) {
    world *w = calloc(1, sizeof(*w));
    char org[ENT_ORG_ID_LEN + 1], err[ENT_OBJ_ERR_MAX];
    ent_op *op = NULL;
    assert_non_null(w);
    setenv("ENTENTE_SYNC_MS", "200", 1);
    setenv("ENTENTE_DIAL_BASE_MS", "100", 1);
    assert_int_equal(ent_crypto_init(), ENT_OK);
    assert_int_equal(uv_loop_init(&w->loop), 0);
    uv_timer_init(&w->loop, &w->wake);
    uv_timer_start(&w->wake, on_wake, 10, 10);
    ent_log_init(&w->log, ENT_LOG_OFF, "peer_test");
    snprintf(w->tmp, sizeof(w->tmp), "/tmp/ent-peer-test.XXXXXX");
    assert_non_null(mkdtemp(w->tmp));
    snprintf(w->home, sizeof(w->home), "%s/V", w->tmp);
    assert_int_equal(ent_home_init(w->home, "Victor", "127.0.0.1:0", NULL, org),
                     ENT_OK);
    assert_int_equal(ent_daemon_open(&w->v, &w->loop, w->home, &w->log), ENT_OK);
    assert_int_equal(ent_node_start(w->v, NULL), ENT_OK);

    ent_obj_input in[2] = {{"name", "Gated deal", false},
                           {"next_step", "kickoff", false}};
    assert_int_equal(ent_obj_create(veng(w), "opportunity", in, 2, w->obj, &op,
                                    err, sizeof(err)),
                     ENT_OK);
    ent_node_op_created(w->v, op);
    assert_int_equal(ent_obj_create(veng(w), "lead", NULL, 0, w->obj2, &op,
                                    err, sizeof(err)),
                     ENT_OK);
    ent_node_op_created(w->v, op);

    /* M joins O the engine way and makes one valid set op */
    assert_int_equal(tnode_open(&w->m, 0x4d), 0);
    w->m.now = wall_ms();
    ent_op_epoch_key *boxes = NULL;
    size_t nboxes = 0;
    assert_int_equal(ent_obj_add_member(veng(w), w->obj, tnode_pk(&w->m),
                                        ENT_ROLE_MEMBER, &op, &boxes, &nboxes),
                     ENT_OK);
    ent_node_op_created(w->v, op);
    assert_int_equal(ent_obj_accept_keys(w->m.eng, w->obj, boxes, nboxes),
                     ENT_OK);
    free(boxes);
    tops t = {0};
    assert_int_equal(ent_obj_ops_foreach(veng(w), w->obj, ops_copy_cb, &t),
                     ENT_OK);
    int *rcs = calloc(t.n, sizeof(int));
    assert_non_null(rcs);
    assert_int_equal(ent_obj_apply_batch(w->m.eng, (const uint8_t *const *)t.raw,
                                         t.len, t.n, NULL, rcs),
                     ENT_OK);
    for (size_t i = 0; i < t.n; i++)
        assert_int_equal(rcs[i], ENT_OK);
    free(rcs);
    tops_free(&t);
    w->m.now = wall_ms();
    ent_obj_input mi = {"next_step", "RELAYED-BY-NONMEMBER", false};
    assert_int_equal(ent_obj_set(w->m.eng, w->obj, &mi, 1, &w->m_op, err,
                                 sizeof(err)),
                     ENT_OK);
    assert_non_null(w->m_op);

    memcpy(w->z.v_org, ent_identity_public(ent_node_identity(w->v)), 32);
    /* Z: an org of its own, with a session manager on the same loop */
    assert_int_equal(tnode_open(&w->z.t, 0x5a), 0);
    ent_session_callbacks cb = {NULL, z_established, z_message, z_closed};
    assert_int_equal(ent_session_mgr_new(&w->z.mgr, &w->loop, w->z.t.id, NULL,
                                         &cb, &w->z),
                     ENT_OK);

    size_t len0, len;
    uint8_t *s0 = state(w, &len0), *s;
    ent_obj_stats e0 = est(w);

    /* 1. member of nothing, no invite made: refused in the handshake */
    ent_session_stats ss0 = sst(w);
    z_dial(w);
    assert_true(run_until(w, z_gone, WAIT_MS));
    assert_int_equal(w->z.hellos, 0);
    assert_int_equal(sst(w).drop_unauthorized, ss0.drop_unauthorized + 1);

    /* 2. V has made an invite: Z is let in as a guest, its OPS denied */
    char *token = NULL, iid[33];
    uint64_t expiry;
    assert_int_equal(ent_peers_invite(ent_node_peers(w->v), w->obj,
                                      ENT_ROLE_MEMBER, 3600, &token, &expiry,
                                      iid),
                     ENT_OK);
    free(token);
    ent_peers_stats p0 = pst(w);
    z_dial(w);
    assert_true(w->z.open);
    assert_int_equal(w->z.hellos, 1);
    z_hello(w);
    z_send_m_op(w);
    assert_true(run_until(w, z_erred_or_closed, WAIT_MS));
    assert_true(run_until(w, z_gone, WAIT_MS));
    assert_int_equal(w->z.last_err, ENT_WIRE_C_DENIED);
    assert_int_equal(pst(w).denied, p0.denied + 1);
    assert_int_equal(pst(w).ops_applied, p0.ops_applied);
    assert_int_equal(est(w).applied, e0.applied);
    s = state(w, &len);
    assert_int_equal(len, len0);
    assert_memory_equal(s, s0, len0);
    free(s);

    /* 3. Z becomes a partner (a member of O2), still not a member of O */
    assert_int_equal(ent_obj_add_member(veng(w), w->obj2, tnode_pk(&w->z.t),
                                        ENT_ROLE_MEMBER, &op, &boxes, &nboxes),
                     ENT_OK);
    ent_node_op_created(w->v, op);
    free(boxes);
    p0 = pst(w);
    z_dial(w);
    assert_true(w->z.open);
    z_hello(w);
    run_until(w, never, 100);
    w->z.errors = w->z.acks = 0;
    z_send_m_op(w);
    assert_true(run_until(w, z_erred_and_acked, WAIT_MS));
    assert_false(w->z.closed);
    assert_int_equal(w->z.last_err, ENT_WIRE_C_NOTMEMBER);
    assert_int_equal(w->z.last_ack_nids, 0);
    assert_int_equal(pst(w).ops_nonmember, p0.ops_nonmember + 1);
    assert_int_equal(pst(w).ops_applied, p0.ops_applied);
    assert_int_equal(est(w).applied, e0.applied);
    s = state(w, &len);
    assert_int_equal(len, len0);
    assert_memory_equal(s, s0, len0);
    free(s);

    /* addresses: V told partner Z its own address, nobody else's */
    assert_true(w->z.addrs_self);
    assert_false(w->z.addrs_other);
    ent_identity *stranger = NULL;
    assert_int_equal(ent_identity_generate(&stranger), ENT_OK);
    const char *am[1] = {"127.0.0.1:4711"}, *ao[1] = {"127.0.0.1:4712"};
    uint64_t now = wall_ms();
    uint8_t *r_m = NULL, *r_old = NULL, *r_far = NULL, *r_str = NULL;
    size_t l_m, l_old, l_far, l_str;
    assert_int_equal(ent_addr_record_sign(w->m.id, now, am, 1, &r_m, &l_m),
                     ENT_OK);
    assert_int_equal(ent_addr_record_sign(w->m.id, now - 1000, ao, 1, &r_old,
                                          &l_old),
                     ENT_OK);
    assert_int_equal(ent_addr_record_sign(w->m.id, now + 3600000, ao, 1,
                                          &r_far, &l_far),
                     ENT_OK);
    assert_int_equal(ent_addr_record_sign(stranger, now, ao, 1, &r_str, &l_str),
                     ENT_OK);
    ent_wire_bytes recs[4] = {{r_m, l_m}, {r_old, l_old}, {r_far, l_far},
                              {r_str, l_str}};
    ent_wire_msg am_msg;
    memset(&am_msg, 0, sizeof(am_msg));
    am_msg.type = ENT_WIRE_ADDRS;
    am_msg.u.addrs.recs = recs;
    am_msg.u.addrs.nrecs = 4;
    p0 = pst(w);
    z_send(w, &am_msg);
    run_until(w, never, 200);
    assert_int_equal(pst(w).addrs_stored, p0.addrs_stored + 1);
    assert_int_equal(pst(w).addrs_ignored, p0.addrs_ignored + 3);
    peer_ent *pe = ent__peers_find(ent_node_peers(w->v), tnode_pk(&w->m));
    assert_non_null(pe);
    assert_int_equal(pe->naddrs, 1);
    assert_string_equal(pe->addrs[0], "127.0.0.1:4711");
    assert_null(ent__peers_find(ent_node_peers(w->v),
                                ent_identity_public(stranger)));
    /* a forged record: a violation, Z is dropped */
    r_str[l_str - 1] ^= 1;
    recs[0] = (ent_wire_bytes){r_str, l_str};
    am_msg.u.addrs.nrecs = 1;
    z_send(w, &am_msg);
    assert_true(run_until(w, z_gone, WAIT_MS));
    assert_int_equal(pst(w).violations, p0.violations + 1);
    free(r_m);
    free(r_old);
    free(r_far);
    free(r_str);
    ent_identity_free(stranger);

    /* control: the same op handed to V's engine directly is applied */
    ent_apply_info info;
    memset(&info, 0, sizeof(info));
    assert_int_equal(ent_obj_apply(veng(w), w->m_op->raw, w->m_op->rawlen, &info),
                     ENT_OK);
    assert_false(info.duplicate);
    assert_false(info.pending);
    assert_int_equal(est(w).applied, e0.applied + 1);
    json_t *j = NULL;
    assert_int_equal(ent_obj_show_json(veng(w), w->obj, true, &j), ENT_OK);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "shared"), "next_step")),
                        "RELAYED-BY-NONMEMBER");
    json_decref(j);
    free(s0);

    ent_op_free(w->m_op);
    if (w->z.s != NULL)
        ent_session_close(w->z.s, ENT_OK);
    ent_session_mgr_close(w->z.mgr, mgr_closed, w);
    ent_node_stop(w->v, node_stopped, w);
    assert_true(run_until(w, all_stopped, 10000));
    uv_close((uv_handle_t *)&w->wake, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    ent_node_free(w->v);
    tnode_close(&w->m);
    tnode_close(&w->z.t);
    assert_int_equal(uv_loop_close(&w->loop), 0);
    nftw(w->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonmember_ops_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
