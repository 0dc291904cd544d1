/*
 * sync_progress_test.c - a new member's backlog shows progress, and ops the
 * node asked for are not held to the per-session op rate (spec/protocol.md
 * section 5, spec/gossip.md "Rate limit and requested ops", spec/api.md
 * GET /v1/status "syncs").
 *
 * One loop, 127.0.0.1 port 0, the DEFAULT rate limit (2,000 ops/s, bucket
 * of 4,000). V and H are real nodes. V holds object O with NOPS set ops
 * (more than the bucket holds, so a metered join would pause its reads).
 *   1. H joins O. Sampled at every loop turn, H's sync of O has counters
 *      between 0 and the total, never going back, and some samples are
 *      mid-way; expected == the total from JOIN_OK. At the end the sync is
 *      done with applied == received == expected == total, the join JSON
 *      agrees, and every op of the history was admitted on the join's
 *      credit: ops_credited == total, ops_metered == 0, rate_stops == 0.
 *   2. Z, a member of O with a bare session manager, sends H a VV claiming
 *      GAP ops of V's that H lacks, then 2 * 256 op records: exactly GAP of
 *      them are credited and the rest metered (the credit is bounded by
 *      the request). Then it floods unrequested records beyond the bucket:
 *      all metered, and H pauses reading from Z (rate_stops goes up).
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

#define WAIT_MS 60000
/* set ops on top of genesis and membership ops: more than one group
 * commit carries (32 OPS messages of at most 256 ops, node/peers/peer_ops.c), so
 * that progress is seen between commits */
#define NOPS 12000
#define GAP 300    /* ops Z claims H lacks */
#define CLAIMED 512 /* records Z then sends */
#define FLOOD (2 * ENT_WIRE_PEER_OPS_BURST) /* unrequested records */

typedef struct progress {
    unsigned samples, midway;
    bool bad;          /* a counter out of range or going back */
    char why[160];
    uint64_t received, applied;
} progress;

typedef struct world {
    NODES_WORLD_FIELDS;
    uint8_t obj[32]; /* O */
    bpeer z;
    uint64_t total; /* ops of O on V */
    progress pr;
    uint64_t z_recv0;
} world;

#define NODES_WORLD
#include "nodes_fixture.h"

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_cb(void *data, const uint8_t *raw, size_t len) {
    (*(uint64_t *)data)++;
    return 0;
}

/* Samples H's sync of O (the join's) and checks its counters. */
static void sample(world *w) {
    ent_peers_sync_info in;
    progress *pr = &w->pr;
    if (ent_peers_sync_get(hp(w), w->obj, &in) != ENT_OK || in.join == 0)
        return;
    pr->samples++;
    if (!in.expected_known || in.expected != w->total) {
        pr->bad = true;
        snprintf(pr->why, sizeof(pr->why), "expected %llu (known %d)",
                 (unsigned long long)in.expected, in.expected_known);
    }
    if (in.received > w->total || in.applied > in.received ||
        in.received < pr->received || in.applied < pr->applied) {
        pr->bad = true;
        snprintf(pr->why, sizeof(pr->why),
                 "received %llu applied %llu after %llu %llu",
                 (unsigned long long)in.received,
                 (unsigned long long)in.applied,
                 (unsigned long long)pr->received,
                 (unsigned long long)pr->applied);
    }
    if (in.state == ENT_SYNC_RECEIVING && in.applied > 0 &&
        in.applied < w->total)
        pr->midway++;
    pr->received = in.received;
    pr->applied = in.applied;
}

static bool join_over(world *w) {
    sample(w);
    return nodes_join_over(w);
}

/* ---- Z, a member with a bare session manager -------------------------------- */

/* Sends m to H, letting the loop drain the session when it is full. */
static void z_send(world *w, const ent_wire_msg *m) {
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(ent_wire_encode(m, &buf, &len), ENT_OK);
    for (int i = 0; i < 2000; i++) {
        assert_non_null(w->z.s);
        int rc = ent_session_send(w->z.s, buf, len);
        if (rc == ENT_OK)
            break;
        assert_int_equal(rc, ENT_ELIMIT);
        run_for(w, 5);
    }
    free(buf);
}

/* Sends records [from, from + n) of ops (cyclic) as OPS of O that fit. */
static void z_send_ops(world *w, const tops *ops, size_t from, size_t n) {
    ent_wire_bytes *b = calloc(ENT_WIRE_MAX_OPS, sizeof(*b));
    assert_non_null(b);
    size_t i = 0;
    while (i < n) {
        ent_wire_msg m;
        memset(&m, 0, sizeof(m));
        m.type = ENT_WIRE_OPS;
        memcpy(m.u.ops.object, w->obj, 32);
        m.u.ops.ops = b;
        size_t k = 0;
        while (i + k < n && k < ENT_WIRE_MAX_OPS) {
            size_t x = (from + i + k) % ops->n;
            b[k] = (ent_wire_bytes){ops->raw[x], ops->len[x]};
            m.u.ops.nops = k + 1;
            if (ent_wire_encoded_size(&m) > ENT_WIRE_MAX_MSG)
                break;
            k++;
        }
        assert_true(k > 0);
        m.u.ops.nops = k;
        z_send(w, &m);
        i += k;
    }
    free(b);
}

static bool z_member_on_h(world *w) {
    return ent__peers_is_member(hp(w), w->obj, tnode_pk(&w->z.t), NULL);
}

static bool h_got_all(world *w) {
    return peers_stats(w->h).ops_received >= w->z_recv0;
}

/* ---- setup -------------------------------------------------------------------- */

static int setup(void **state) {
    world *w = calloc(1, sizeof(*w));
    char err[ENT_OBJ_ERR_MAX];
    assert_non_null(w);
    unsetenv("ENTENTE_PEER_OPS_PER_SEC"); /* the default rate limit */
    setenv("ENTENTE_SYNC_MS", "3600000", 1); /* no anti-entropy round */
    setenv("ENTENTE_DIAL_BASE_MS", "100", 1);
    static const char *const names[2] = {"Vera", "Hale"};
    nodes_open(w, access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
               "sync-progress", ENT_LOG_OFF, names, 2);

    ent_obj_input in[1] = {{"name", "Backlog deal", false}};
    node_create(w->v, "opportunity", in, 1, w->obj);
    double t0 = mono_s();
    for (int i = 0; i < NOPS; i++) {
        char v[32];
        snprintf(v, sizeof(v), "step %d", i);
        ent_obj_input s = {"next_step", v, false};
        assert_int_equal(
            ent_obj_set(veng(w), w->obj, &s, 1, NULL, err, sizeof(err)),
            ENT_OK);
    }
    fprintf(stderr, "  %d ops made on V in %.2f s\n", NOPS, mono_s() - t0);

    /* Z: a member of O (V adds it before the invite: H's history has it) */
    bpeer_open(w, &w->z, 0x5a, false);
    node_add_member(w->v, w->obj, &w->z.t, false);
    *state = w;
    return 0;
}


/* ---- 1. a join's backlog ------------------------------------------------------ */

static json_t *sync_json_of(world *w, uint64_t jid) {
    json_t *arr = NULL, *found = NULL;
    assert_int_equal(ent_peers_syncs_json(hp(w), &arr), ENT_OK);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        if (json_integer_value(json_object_get(o, "join")) == (json_int_t)jid)
            found = json_incref(o);
    }
    json_decref(arr);
    assert_non_null(found);
    return found;
}

static void test_join_backlog(void **state) {
    world *w = *state;
    uint64_t jid;
    assert_int_equal(ent_obj_ops_foreach(veng(w), w->obj, count_cb, &w->total),
                     ENT_OK);
    /* invite, join: the history plus the new member's add op */
    w->total++; /* the add-member op the join makes */
    assert_true(w->total > ENT_WIRE_PEER_OPS_BURST); /* metering would bite */
    ent_peers_stats h0 = peers_stats(w->h);
    double t0 = mono_s();
    nodes_join_start(w, w->obj);
    jid = w->jid;
    assert_int_equal(jid, 1);
    assert_true(run_until(w, join_over, WAIT_MS));
    double secs = mono_s() - t0;
    nodes_join_assert_done(w);
    json_t *j = NULL;

    /* mid-way samples were in range and monotonic */
    if (w->pr.bad)
        fail_msg("progress sample: %s", w->pr.why);
    fprintf(stderr, "  join of %llu ops: %.2f s (%.0f ops/s), %u samples, "
            "%u mid-way\n",
            (unsigned long long)w->total, secs, (double)w->total / secs,
            w->pr.samples, w->pr.midway);
    assert_true(w->pr.samples > 2);
    assert_true(w->pr.midway > 0);

    /* the end: done, every count equal to the total */
    ent_peers_sync_info in;
    assert_int_equal(ent_peers_sync_get(hp(w), w->obj, &in), ENT_OK);
    assert_int_equal(in.state, ENT_SYNC_DONE);
    assert_int_equal(in.join, jid);
    assert_true(in.expected_known);
    assert_int_equal(in.expected, w->total);
    assert_int_equal(in.received, w->total);
    assert_int_equal(in.applied, w->total);
    assert_int_equal(in.credit, 0);
    assert_memory_equal(in.peer, vorg(w), 32);
    assert_int_equal(ent_peers_join_json(hp(w), jid, &j), ENT_OK);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "done");
    assert_int_equal(json_integer_value(json_object_get(j, "ops")), w->total);
    assert_int_equal(json_integer_value(json_object_get(j, "expected")),
                     w->total);
    assert_int_equal(json_integer_value(json_object_get(j, "applied")),
                     w->total);
    assert_int_equal(json_integer_value(json_object_get(j, "eta_seconds")), 0);
    json_decref(j);
    json_t *s = sync_json_of(w, jid);
    assert_string_equal(json_string_value(json_object_get(s, "state")), "done");
    assert_int_equal(json_integer_value(json_object_get(s, "expected")),
                     w->total);
    assert_int_equal(json_integer_value(json_object_get(s, "applied")),
                     w->total);
    assert_string_equal(json_string_value(json_object_get(s, "peer_name")),
                        "Vera");
    assert_true(json_integer_value(json_object_get(s, "ops_per_sec")) > 0);
    json_decref(s);

    /* the rate limit did not hold the requested history back */
    ent_peers_stats h1 = peers_stats(w->h);
    fprintf(stderr, "  H: %llu ops credited, %llu metered, %llu rate stops\n",
            (unsigned long long)(h1.ops_credited - h0.ops_credited),
            (unsigned long long)(h1.ops_metered - h0.ops_metered),
            (unsigned long long)(h1.rate_stops - h0.rate_stops));
    assert_int_equal(h1.ops_credited - h0.ops_credited, w->total);
    assert_int_equal(h1.ops_metered - h0.ops_metered, 0);
    assert_int_equal(h1.rate_stops - h0.rate_stops, 0);
    assert_int_equal(h1.violations, h0.violations);
}

/* ---- 2. the credit is bounded; unrequested ops pay ---------------------------- */

typedef struct seq_q {
    const uint8_t *obj, *author;
    uint64_t seq;
} seq_q;

static int seq_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    seq_q *q = data;
    const uint8_t *k = key;
    q->seq = 0;
    for (int i = 64; i < 72; i++)
        q->seq = q->seq << 8 | k[i];
    return 1;
}

static int seq_fn(ent_txn *txn, void *data) {
    seq_q *q = data;
    uint8_t prefix[64];
    memcpy(prefix, q->obj, 32);
    memcpy(prefix + 32, q->author, 32);
    return ent_txn_scan_reverse(txn, ENT_TBL_OPS, prefix, 64, seq_scan, q);
}

static bool z_sync_seen(world *w) {
    ent_peers_sync_info in;
    return ent_peers_sync_get(hp(w), w->obj, &in) == ENT_OK && in.join == 0;
}

static void test_credit_bounded(void **state) {
    world *w = *state;
    bpeer *z = &w->z;
    if (ent_peers_sync_get(hp(w), w->obj, &(ent_peers_sync_info){0}) !=
        ENT_OK)
        skip(); /* needs test 1's join */
    assert_true(run_until(w, z_member_on_h, WAIT_MS));

    /* Z dials H and says HELLO */
    bpeer_connect(z, w->h, "zed", WAIT_MS);
    run_for(w, 100);

    /* Z's VV: V's author at GAP beyond what H holds */
    seq_q q = {.obj = w->obj, .author = vorg(w)};
    assert_int_equal(ent_store_read(ent_node_store(w->h), seq_fn, &q), ENT_OK);
    assert_true(q.seq > 0);
    ent_wire_msg m;
    uint8_t vv[ENT_PEERS_VV_ENTRY];
    memcpy(vv, vorg(w), 32);
    for (int i = 0; i < 8; i++)
        vv[32 + i] = (uint8_t)((q.seq + GAP) >> (56 - 8 * i));
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_VV;
    memcpy(m.u.vv.object, w->obj, 32);
    m.u.vv.bytes = vv;
    m.u.vv.len = sizeof(vv);
    z_send(w, &m);
    assert_true(run_until(w, z_sync_seen, WAIT_MS));
    ent_peers_sync_info in;
    assert_int_equal(ent_peers_sync_get(hp(w), w->obj, &in), ENT_OK);
    assert_int_equal(in.state, ENT_SYNC_RECEIVING);
    assert_memory_equal(in.peer, tnode_pk(&z->t), 32);
    assert_true(in.expected_known);
    assert_int_equal(in.expected, GAP);
    assert_int_equal(in.credit, GAP);

    /* CLAIMED records (valid ops H holds): GAP credited, the rest metered */
    tops ops = {0};
    assert_int_equal(ent_obj_ops_foreach(veng(w), w->obj, tops_cb, &ops),
                     ENT_OK);
    assert_true(ops.n > CLAIMED); /* the flood reuses them cyclically */
    ent_peers_stats h0 = peers_stats(w->h);
    w->z_recv0 = h0.ops_received + CLAIMED;
    z_send_ops(w, &ops, 0, CLAIMED);
    assert_true(run_until(w, h_got_all, WAIT_MS));
    ent_peers_stats h1 = peers_stats(w->h);
    assert_int_equal(h1.ops_credited - h0.ops_credited, GAP);
    assert_int_equal(h1.ops_metered - h0.ops_metered, CLAIMED - GAP);
    assert_int_equal(h1.violations, h0.violations);
    assert_int_equal(ent_peers_sync_get(hp(w), w->obj, &in), ENT_OK);
    assert_int_equal(in.credit, 0);
    assert_int_equal(in.received, CLAIMED);

    /* a flood nothing asked for: every record pays, reading pauses */
    w->z_recv0 = h1.ops_received + FLOOD;
    z_send_ops(w, &ops, CLAIMED, FLOOD);
    assert_true(run_until(w, h_got_all, WAIT_MS));
    ent_peers_stats h2 = peers_stats(w->h);
    fprintf(stderr, "  Z: %d claimed -> %llu credited, %llu metered; flood "
            "of %d -> %llu metered, %llu rate stops\n",
            CLAIMED, (unsigned long long)(h1.ops_credited - h0.ops_credited),
            (unsigned long long)(h1.ops_metered - h0.ops_metered), FLOOD,
            (unsigned long long)(h2.ops_metered - h1.ops_metered),
            (unsigned long long)(h2.rate_stops - h1.rate_stops));
    assert_int_equal(h2.ops_credited, h1.ops_credited);
    assert_int_equal(h2.ops_metered - h1.ops_metered, FLOOD);
    assert_true(h2.rate_stops > h1.rate_stops);
    tops_free(&ops);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_backlog),
        cmocka_unit_test(test_credit_bounded),
    };
    return cmocka_run_group_tests(tests, setup, nodes_teardown);
}
