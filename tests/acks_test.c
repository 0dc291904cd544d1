/*
 * acks_test.c - coalesced ACKs (spec/protocol.md §3.4, capability
 * "acks/1"), with a real node V and a bare peer Z, a member of V's object.
 *
 * 1. Z says acks/1 and sends 200 OPS as fast as its window of 64
 *    unanswered allows (more is a violation, spec/protocol.md §5): V
 *    answers all 200, with far fewer ACKS frames than OPS and no ACK.
 * 2. Z is an older peer (no acks/1): V answers each OPS with its own ACK,
 *    as before (200 ACK frames, their op ids listed).
 * 3. V as the sender: with 100 OPS to push, V stops at its window of 64
 *    unanswered; one ACKS of 64 from Z opens it, one of 36 drains it
 *    (V's in-flight count back to 0); an ACKS naming more OPS than are
 *    unanswered is a violation. An older Z drains the window with ACKs.
 * 4. The ACKS message itself: the example bytes, bounds, truncations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nodes_fixture.h"

typedef struct world {
    NODES_WORLD_FIELDS;
    bpeer z;
    uint8_t obj[32];
} world;
#define NODES_WORLD
#include "nodes_fixture.h"

#define WAIT_MS 8000
#define BURST 200

static ent_peers_stats pst(world *w) { return peers_stats(w->v); }

static bool v_got_hello(world *w) {
    return vp(w)->conns != NULL && vp(w)->conns->got_hello;
}

/* V with an object O of which Z (acks/1 or not) is a member, connected. */
static world *open_world(bool acks_cap, bool ack_ops) {
    world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    setenv("ENTENTE_SYNC_MS", "60000", 1); /* no HAVE rounds meanwhile */
    static const char *const names[1] = {"Victor"};
    nodes_open(w, "/tmp", "acks-test", ENT_LOG_OFF, names, 1);
    ent_obj_input in[1] = {{"name", "Acked deal", false}};
    node_create(w->v, "opportunity", in, 1, w->obj);
    memcpy(w->z.v_org, ent_identity_public(ent_node_identity(w->v)), 32);
    bpeer_open(w, &w->z, 0x5a, ack_ops);
    w->z.acks_cap = acks_cap;
    node_add_member(w->v, w->obj, &w->z.t, true);
    run_for(w, 50);
    bpeer_connect(&w->z, w->v, "zed", WAIT_MS);
    assert_true(run_until(w, v_got_hello, WAIT_MS));
    return w;
}

static unsigned z_sent; /* z_burst: OPS sent so far */

/* Room in Z's window: fewer than ENT_WIRE_PEER_MAX_INFLIGHT unanswered. */
static bool z_window(world *w) {
    return z_sent - w->z.acked < ENT_WIRE_PEER_MAX_INFLIGHT || w->z.closed;
}

/* Z makes BURST ops of O and sends them as BURST OPS of one op each,
 * running the loop only when its window of unanswered OPS is full. */
static void z_burst(world *w) {
    char err[ENT_OBJ_ERR_MAX], text[32];
    z_sent = w->z.acked;
    for (int i = 0; i < BURST; i++) {
        ent_op *op = NULL;
        assert_true(run_until(w, z_window, WAIT_MS));
        snprintf(text, sizeof(text), "step %d", i);
        ent_obj_input in = {"next_step", text, false};
        w->z.t.now = wall_ms();
        assert_int_equal(ent_obj_set(w->z.t.eng, w->obj, &in, 1, &op, err,
                                     sizeof(err)),
                         ENT_OK);
        ent_wire_msg m;
        ent_wire_bytes b = {op->raw, op->rawlen};
        memset(&m, 0, sizeof(m));
        m.type = ENT_WIRE_OPS;
        memcpy(m.u.ops.object, w->obj, 32);
        m.u.ops.ops = &b;
        m.u.ops.nops = 1;
        bpeer_send(&w->z, &m);
        z_sent++;
        ent_op_free(op);
    }
}

/* The frames V received and sent for the burst, per op (the figure of
 * spec/gossip.md §8). */
static void print_frames(world *w, const ent_session_stats *s0) {
    ent_session_stats s1 = session_stats(w->v);
    uint64_t in = s1.frames_in - s0->frames_in;
    uint64_t out = s1.frames_out - s0->frames_out;
    printf("# %d OPS of one op: V received %llu and sent %llu frames, "
           "%.3f frames per op\n",
           BURST, (unsigned long long)in, (unsigned long long)out,
           (double)(in + out) / BURST);
}

static bool z_all_acked(world *w) {
    return w->z.acked >= BURST || w->z.closed;
}

static void test_burst_coalesced(void **st) {
    world *w = open_world(true, true);
    *st = w;
    ent_peers_stats p0 = pst(w);
    ent_session_stats s0 = session_stats(w->v);
    z_burst(w);
    assert_true(run_until(w, z_all_acked, WAIT_MS));
    run_for(w, 50); /* nothing more comes */
    print_frames(w, &s0);
    assert_false(w->z.closed);
    assert_int_equal(w->z.acked, BURST);
    assert_int_equal(w->z.acks, 0);
    printf("# %d OPS answered by %u ACKS frames\n", BURST, w->z.acks_msgs);
    assert_true(w->z.acks_msgs >= 1 && w->z.acks_msgs <= BURST / 4);
    ent_peers_stats p1 = pst(w);
    assert_int_equal(p1.ops_applied - p0.ops_applied, BURST);
    assert_int_equal(p1.acks_coalesced - p0.acks_coalesced, BURST);
    assert_int_equal(p1.acks_sent - p0.acks_sent, w->z.acks_msgs);
    assert_int_equal(p1.acks_msgs_sent, p0.acks_msgs_sent);
}

static void test_burst_older_peer(void **st) {
    world *w = open_world(false, true);
    *st = w;
    ent_peers_stats p0 = pst(w);
    ent_session_stats s0 = session_stats(w->v);
    z_burst(w);
    assert_true(run_until(w, z_all_acked, WAIT_MS));
    run_for(w, 50);
    print_frames(w, &s0);
    assert_false(w->z.closed);
    assert_int_equal(w->z.acks, BURST); /* one ACK per OPS, as before */
    assert_int_equal(w->z.acks_msgs, 0);
    assert_int_equal(w->z.last_ack_nids, 1); /* it still lists the op */
    ent_peers_stats p1 = pst(w);
    assert_int_equal(p1.ops_applied - p0.ops_applied, BURST);
    assert_int_equal(p1.acks_msgs_sent - p0.acks_msgs_sent, BURST);
    assert_int_equal(p1.acks_sent, p0.acks_sent);
}

/* ---- V as the sender ------------------------------------------------------ */

#define PUSH 100

static conn *vconn(world *w) {
    conn *c = vp(w)->conns;
    assert_non_null(c);
    assert_null(c->next);
    return c;
}

/* V makes PUSH ops of O, each pushed in a loop turn of its own. */
static void v_push(world *w) {
    char text[32];
    for (int i = 0; i < PUSH; i++) {
        snprintf(text, sizeof(text), "v step %d", i);
        node_set(w->v, w->obj, "next_step", text);
        uv_run(&w->loop, UV_RUN_NOWAIT);
    }
}

static bool z_got_window(world *w) {
    return w->z.ops_in >= ENT_WIRE_PEER_MAX_INFLIGHT || w->z.closed;
}
static bool z_got_all(world *w) { return w->z.ops_in >= PUSH || w->z.closed; }
static bool v_drained(world *w) { return vconn(w)->inflight == 0; }
static bool z_closed(world *w) { return w->z.closed; }

static void z_acks(world *w, uint32_t count) {
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_ACKS;
    m.u.acks.count = count;
    bpeer_send(&w->z, &m);
}

static void test_sender_window(void **st) {
    world *w = open_world(true, false); /* Z answers by hand */
    *st = w;
    assert_true(vconn(w)->acks);
    v_push(w);
    assert_true(run_until(w, z_got_window, WAIT_MS));
    run_for(w, 50);
    /* the window is full: nothing more until Z answers */
    assert_int_equal(w->z.ops_in, ENT_WIRE_PEER_MAX_INFLIGHT);
    assert_int_equal(vconn(w)->inflight, ENT_WIRE_PEER_MAX_INFLIGHT);
    z_acks(w, ENT_WIRE_PEER_MAX_INFLIGHT);
    assert_true(run_until(w, z_got_all, WAIT_MS));
    assert_int_equal(w->z.ops_in, PUSH);
    z_acks(w, PUSH - ENT_WIRE_PEER_MAX_INFLIGHT);
    assert_true(run_until(w, v_drained, WAIT_MS));
    assert_false(w->z.closed);
    /* one ACKS too many: a violation */
    uint64_t v0 = pst(w).violations;
    z_acks(w, 1);
    assert_true(run_until(w, z_closed, WAIT_MS));
    assert_int_equal(pst(w).violations, v0 + 1);
}

static void test_sender_window_older_peer(void **st) {
    world *w = open_world(false, true); /* one ACK per OPS */
    *st = w;
    assert_false(vconn(w)->acks);
    v_push(w);
    assert_true(run_until(w, z_got_all, WAIT_MS));
    assert_true(run_until(w, v_drained, WAIT_MS));
    assert_false(w->z.closed);
    assert_int_equal(w->z.ops_in, PUSH);
    /* an ACKS from a peer that did not say acks/1: a violation */
    uint64_t v0 = pst(w).violations;
    z_acks(w, 1);
    assert_true(run_until(w, z_closed, WAIT_MS));
    assert_int_equal(pst(w).violations, v0 + 1);
}

/* ---- the ACKS message ------------------------------------------------------ */

static void test_wire(void **st) {
    (void)st;
    ent_wire_msg m, d;
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_ACKS;
    m.u.acks.count = 5;
    /* the example of spec/protocol.md §3.4 */
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_OK);
    assert_int_equal(len, 3);
    assert_int_equal(ent_wire_encoded_size(&m), 3);
    assert_memory_equal(buf, "\x92\x18\x05", 3);
    assert_int_equal(ent_wire_decode(&d, buf, len), ENT_OK);
    assert_int_equal(d.type, ENT_WIRE_ACKS);
    assert_int_equal(d.u.acks.count, 5);
    assert_string_equal(ent_wire_type_name(ENT_WIRE_ACKS), "ACKS");
    for (size_t n = 0; n < len; n++)
        assert_int_equal(ent_wire_decode(&d, buf, n), ENT_EPROTO);
    free(buf);
    /* count 1..64, whatever the integer's form */
    m.u.acks.count = 0;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    m.u.acks.count = ENT_WIRE_MAX_ACKS_COUNT + 1;
    assert_int_equal(ent_wire_encode(&m, &buf, &len), ENT_EINVAL);
    static const uint8_t zero[] = {0x92, 0x18, 0x00};
    static const uint8_t over[] = {0x92, 0x18, 0x41};
    static const uint8_t wide[] = {0x92, 0x18, 0xcd, 0x00, 0x40};
    static const uint8_t neg[] = {0x92, 0x18, 0xff};
    static const uint8_t three[] = {0x93, 0x18, 0x01, 0x01};
    static const uint8_t bin[] = {0x92, 0x18, 0xc4, 0x01, 0x01};
    assert_int_equal(ent_wire_decode(&d, zero, sizeof(zero)), ENT_EPROTO);
    assert_int_equal(ent_wire_decode(&d, over, sizeof(over)), ENT_EPROTO);
    assert_int_equal(ent_wire_decode(&d, neg, sizeof(neg)), ENT_EPROTO);
    assert_int_equal(ent_wire_decode(&d, three, sizeof(three)), ENT_EPROTO);
    assert_int_equal(ent_wire_decode(&d, bin, sizeof(bin)), ENT_EPROTO);
    assert_int_equal(ent_wire_decode(&d, wide, sizeof(wide)), ENT_OK);
    assert_int_equal(d.u.acks.count, 64);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire),
        cmocka_unit_test_teardown(test_burst_coalesced, nodes_teardown),
        cmocka_unit_test_teardown(test_burst_older_peer, nodes_teardown),
        cmocka_unit_test_teardown(test_sender_window, nodes_teardown),
        cmocka_unit_test_teardown(test_sender_window_older_peer,
                                  nodes_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
