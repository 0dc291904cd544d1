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

#include "nodes_fixture.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define WAIT_MS 8000

typedef struct world {
    NODES_WORLD_FIELDS;
    uint8_t obj[32], obj2[32];
    tnode m;
    bpeer z;
    ent_op *m_op;
} world;

#define NODES_WORLD
#include "nodes_fixture.h"

static ent_peers_stats pst(world *w) { return peers_stats(w->v); }
static ent_obj_stats est(world *w) { return objects_stats(w->v); }
static ent_session_stats sst(world *w) { return session_stats(w->v); }

/* O's canonical shared state on V (malloc'ed). */
static uint8_t *state(world *w, size_t *len) {
    uint8_t *out = NULL;
    assert_int_equal(ent_obj_state_encode(veng(w), w->obj, &out, len), ENT_OK);
    return out;
}

/* V applied nothing since p0 and e0, and O's shared state is still s0
 * (len0 bytes). */
static void assert_nothing_applied(world *w, const ent_peers_stats *p0,
                                   const ent_obj_stats *e0, const uint8_t *s0,
                                   size_t len0) {
    size_t len;
    assert_int_equal(pst(w).ops_applied, p0->ops_applied);
    assert_int_equal(est(w).applied, e0->applied);
    uint8_t *s = state(w, &len);
    assert_int_equal(len, len0);
    assert_memory_equal(s, s0, len0);
    free(s);
}

static bool z_gone(world *w) { return w->z.s == NULL; }

/* Dials V and waits until the session is open with V's HELLO, or closed. */
static void z_dial(world *w) { bpeer_dial(&w->z, w->v, WAIT_MS); }

/* Z relays M's valid op of O. */
static void z_send_m_op(world *w) {
    ent_wire_msg m;
    ent_wire_bytes b = {w->m_op->raw, w->m_op->rawlen};
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_OPS;
    memcpy(m.u.ops.object, w->obj, 32);
    m.u.ops.ops = &b;
    m.u.ops.nops = 1;
    bpeer_send(&w->z, &m);
}

static bool z_erred_or_closed(world *w) {
    return w->z.errors > 0 || w->z.closed;
}
static bool z_erred_and_acked(world *w) {
    return (w->z.errors > 0 && w->z.acks > 0) || w->z.closed;
}

static void test_nonmember_ops_dropped(void **st) {
    world *w = calloc(1, sizeof(*w));
    char err[ENT_OBJ_ERR_MAX];
    assert_non_null(w);
    setenv("ENTENTE_SYNC_MS", "200", 1);
    setenv("ENTENTE_DIAL_BASE_MS", "100", 1);
    static const char *const names[1] = {"Victor"};
    nodes_open(w, "/tmp", "peer-test", ENT_LOG_OFF, names, 1);

    ent_obj_input in[2] = {{"name", "Gated deal", false},
                           {"next_step", "kickoff", false}};
    node_create(w->v, "opportunity", in, 2, w->obj);
    node_create(w->v, "lead", NULL, 0, w->obj2);

    /* M joins O the engine way and makes one valid set op */
    assert_int_equal(tnode_open(&w->m, 0x4d), 0);
    node_add_member(w->v, w->obj, &w->m, true);
    w->m.now = wall_ms();
    ent_obj_input mi = {"next_step", "RELAYED-BY-NONMEMBER", false};
    assert_int_equal(ent_obj_set(w->m.eng, w->obj, &mi, 1, &w->m_op, err,
                                 sizeof(err)),
                     ENT_OK);
    assert_non_null(w->m_op);

    /* Z: an org of its own, with a session manager on the same loop; it
     * ACKs the ops of O2 it gets once a member, to keep V's window open */
    memcpy(w->z.v_org, ent_identity_public(ent_node_identity(w->v)), 32);
    bpeer_open(w, &w->z, 0x5a, true);

    size_t len0;
    uint8_t *s0 = state(w, &len0);
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
    bpeer_hello(&w->z, "zed");
    z_send_m_op(w);
    assert_true(run_until(w, z_erred_or_closed, WAIT_MS));
    assert_true(run_until(w, z_gone, WAIT_MS));
    assert_int_equal(w->z.last_err, ENT_WIRE_C_DENIED);
    assert_int_equal(pst(w).denied, p0.denied + 1);
    assert_nothing_applied(w, &p0, &e0, s0, len0);

    /* 3. Z becomes a partner (a member of O2), still not a member of O */
    node_add_member(w->v, w->obj2, &w->z.t, false);
    p0 = pst(w);
    z_dial(w);
    assert_true(w->z.open);
    bpeer_hello(&w->z, "zed");
    run_for(w, 100);
    w->z.errors = w->z.acks = 0;
    z_send_m_op(w);
    assert_true(run_until(w, z_erred_and_acked, WAIT_MS));
    assert_false(w->z.closed);
    assert_int_equal(w->z.last_err, ENT_WIRE_C_NOTMEMBER);
    assert_int_equal(w->z.last_ack_nids, 0);
    assert_int_equal(pst(w).ops_nonmember, p0.ops_nonmember + 1);
    assert_nothing_applied(w, &p0, &e0, s0, len0);

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
    bpeer_send(&w->z, &am_msg);
    run_for(w, 200);
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
    bpeer_send(&w->z, &am_msg);
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
    tnode_close(&w->m);
    nodes_free(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonmember_ops_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
