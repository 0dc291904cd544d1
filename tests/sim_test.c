/*
 * sim_test.c - gossip (node/peers/gossip.c) through the network simulator
 * (node/peers/sim.c): constant-size in-sync rounds, repair cost, held ops,
 * forks (two versions of one seq on two members), partitions, and
 * convergence of many members under message loss with a table of rounds
 * to converge.
 *
 * $ENTENTE_SIM_MEMBERS (default "25,50,100") lists the member counts of the
 * convergence table; `make bench` (bench_sync.c) and ENTENTE_SIM_MEMBERS=
 * 25,50,100,200 run the 200-member case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "protocol/op.h"
#include "node/peers/gossip.h"
#include "node/objects/object.h"
#include "node/peers/sim.h"

/* The scenario helpers live in node/peers/sim.c (shared with `make bench`). */
static void make_object(ent_sim *s, size_t m, uint8_t id[32]) {
    assert_int_equal(ent_sim_make_object(s, m, id), ENT_OK);
}

static bool converged(ent_sim *s, size_t m, const uint8_t id[32]) {
    return ent_sim_converged(s, m, id);
}

static size_t nops(ent_sim *s, size_t i, const uint8_t id[32]) {
    return ent_sim_nops(s, i, id);
}

static void comment(ent_sim *s, size_t i, const uint8_t id[32], bool push) {
    assert_int_equal(ent_sim_comment(s, i, id, push), ENT_OK);
}

/* ---- in-sync rounds cost a constant ------------------------------------- */

/* recon: both nodes speak recon/1 (ranges), else DIGEST and DIGESTS. */
static size_t insync_round_bytes(size_t nobj, bool recon) {
    ent_sim *s = NULL;
    ent_sim_config cfg = {.nodes = 2, .latency_min_ms = 5,
                          .latency_max_ms = 5, .seed = 7};
    assert_int_equal(ent_sim_new(&s, &cfg), ENT_OK);
    ent_sim_set_recon(s, 1, recon);
    uint8_t id[32];
    for (size_t k = 0; k < nobj; k++)
        make_object(s, 2, id);
    ent_sim_stats a, b;
    ent_gossip_stats gs;
    ent_sim_stats_get(s, &a);
    assert_int_equal(ent_gossip_round(ent_sim_gossip(s, 0), ent_sim_org(s, 1)),
                     ENT_OK);
    ent_sim_run(s, 50);
    ent_sim_stats_get(s, &b);
    ent_gossip_stats_get(ent_sim_gossip(s, 1), &gs);
    assert_int_equal(gs.in_sync, 1);
    assert_int_equal(b.msgs_sent - a.msgs_sent, 1); /* DIGEST, no answer */
    assert_int_equal(b.by_type[ENT_WIRE_DIGEST] - a.by_type[ENT_WIRE_DIGEST],
                     1);
    size_t ins = (size_t)(b.bytes_sent - a.bytes_sent);

    /* a gap of 3 ops in one object: 3 op records on the wire */
    comment(s, 0, id, false);
    comment(s, 0, id, false);
    comment(s, 0, id, false);
    ent_sim_stats_get(s, &a);
    ent_gossip_stats g0a, g0b;
    ent_gossip_stats_get(ent_sim_gossip(s, 0), &g0a);
    assert_int_equal(ent_gossip_round(ent_sim_gossip(s, 1), ent_sim_org(s, 0)),
                     ENT_OK);
    ent_sim_run(s, 100);
    ent_sim_stats_get(s, &b);
    ent_gossip_stats_get(ent_sim_gossip(s, 0), &g0b);
    assert_true(converged(s, 2, id));
    assert_int_equal(g0b.ops_sent - g0a.ops_sent, 3);
    assert_int_equal(b.by_type[ENT_WIRE_VV] - a.by_type[ENT_WIRE_VV], 2);
    assert_int_equal(b.by_type[ENT_WIRE_DIGESTS] - a.by_type[ENT_WIRE_DIGESTS],
                     recon ? 0 : 1);
    assert_int_equal(b.by_type[ENT_WIRE_LEAF] - a.by_type[ENT_WIRE_LEAF] > 0,
                     recon);
    printf("# %4zu objects, %s: in-sync round %zu bytes; 3-op repair %llu "
           "bytes in %llu messages (DIGESTS %llu bytes, RANGES %llu, LEAF "
           "%llu)\n",
           nobj, recon ? "recon/1" : "digests", ins,
           (unsigned long long)(b.bytes_sent - a.bytes_sent),
           (unsigned long long)(b.msgs_sent - a.msgs_sent),
           (unsigned long long)(b.bytes_by_type[ENT_WIRE_DIGESTS] -
                                a.bytes_by_type[ENT_WIRE_DIGESTS]),
           (unsigned long long)(b.bytes_by_type[ENT_WIRE_RANGES] -
                                a.bytes_by_type[ENT_WIRE_RANGES]),
           (unsigned long long)(b.bytes_by_type[ENT_WIRE_LEAF] -
                                a.bytes_by_type[ENT_WIRE_LEAF]));
    ent_sim_free(s);
    return ins;
}

/* ---- the in_sync callback (a restored node's catch-up, spec/operations.md
 * §3.2) ----------------------------------------------------------------- */

typedef struct insync_seen {
    size_t calls;
    uint8_t org[32];
} insync_seen;

static void on_in_sync(ent_gossip *g, const uint8_t org[32], void *data) {
    insync_seen *seen = data;
    seen->calls++;
    memcpy(seen->org, org, 32);
}

/* Called once per DIGEST equal to ours, with the sender; never while the
 * sender holds ops we lack, and again once they are repaired. */
static void test_in_sync_callback(void **state) {
    ent_sim *s = NULL;
    insync_seen seen = {0};
    ent_sim_config cfg = {.nodes = 2, .latency_min_ms = 5,
                          .latency_max_ms = 5, .seed = 11,
                          .in_sync = on_in_sync, .in_sync_data = &seen};
    assert_int_equal(ent_sim_new(&s, &cfg), ENT_OK);
    uint8_t id[32];
    make_object(s, 2, id);
    assert_int_equal(ent_gossip_round(ent_sim_gossip(s, 0), ent_sim_org(s, 1)),
                     ENT_OK);
    ent_sim_run(s, 50);
    assert_int_equal(seen.calls, 1);
    assert_memory_equal(seen.org, ent_sim_org(s, 0), 32);
    /* node 0 has an op node 1 lacks: node 0's DIGEST differs */
    comment(s, 0, id, false);
    assert_int_equal(ent_gossip_round(ent_sim_gossip(s, 0), ent_sim_org(s, 1)),
                     ENT_OK);
    ent_sim_run(s, 100);
    assert_int_equal(seen.calls, 1);
    assert_true(converged(s, 2, id)); /* that round repaired it */
    assert_int_equal(ent_gossip_round(ent_sim_gossip(s, 0), ent_sim_org(s, 1)),
                     ENT_OK);
    ent_sim_run(s, 50);
    assert_int_equal(seen.calls, 2);
    ent_sim_free(s);
}

static void test_insync_constant(void **state) {
    for (int recon = 0; recon < 2; recon++) {
        size_t one = insync_round_bytes(1, recon);
        size_t many = insync_round_bytes(150, recon);
        printf("# in-sync round: %zu bytes with 1 object, %zu with 150\n",
               one, many);
        assert_true(one <= 40);
        assert_true(many <= one + 1); /* nobjects grows from 1 to 2 bytes */
    }
}

/* ---- one missing op among many shared objects (spec/gossip.md §13) ---- */

/* n objects shared by nodes 0 and 1, one comment on node 0 that node 1
 * lacks, one round from node 1: the bytes until both hold it. */
static uint64_t one_missing(size_t n, bool recon, ent_sim_stats *d) {
    ent_sim *s = NULL;
    ent_sim_config cfg = {.nodes = 2, .latency_min_ms = 5,
                          .latency_max_ms = 5, .seed = 21,
                          .map_size = (size_t)64 << 20};
    assert_int_equal(ent_sim_new(&s, &cfg), ENT_OK);
    ent_sim_set_recon(s, 0, recon);
    uint8_t id[32], gap[32];
    for (size_t k = 0; k < n; k++) {
        make_object(s, 2, id);
        if (k == n / 2)
            memcpy(gap, id, 32);
    }
    comment(s, 0, gap, false);
    assert_false(converged(s, 2, gap));
    ent_sim_stats a, b;
    ent_sim_stats_get(s, &a);
    assert_int_equal(ent_gossip_round(ent_sim_gossip(s, 1), ent_sim_org(s, 0)),
                     ENT_OK);
    ent_sim_run(s, 500);
    ent_sim_stats_get(s, &b);
    assert_true(converged(s, 2, gap));
    for (int t = 0; t < ENT_SIM_TYPES; t++) {
        d->by_type[t] = b.by_type[t] - a.by_type[t];
        d->bytes_by_type[t] = b.bytes_by_type[t] - a.bytes_by_type[t];
    }
    d->msgs_sent = b.msgs_sent - a.msgs_sent;
    /* in sync again: one DIGEST */
    ent_gossip_stats g0, g1;
    ent_gossip_stats_get(ent_sim_gossip(s, 0), &g0);
    assert_int_equal(ent_gossip_round(ent_sim_gossip(s, 1), ent_sim_org(s, 0)),
                     ENT_OK);
    ent_sim_run(s, 100);
    ent_gossip_stats_get(ent_sim_gossip(s, 0), &g1);
    assert_int_equal(g1.in_sync - g0.in_sync, 1);
    ent_sim_free(s);
    return b.bytes_sent - a.bytes_sent;
}

static void test_recon_one_missing(void **state) {
    (void)state;
    size_t n = 2000;
    ent_sim_stats d;
    uint64_t bytes = one_missing(n, true, &d);
    printf("# one missing op among %zu objects, recon/1: %llu bytes in %llu "
           "messages (%llu RANGES, %llu LEAF, %llu VV, %llu OPS); DIGESTS "
           "would list %zu bytes\n",
           n, (unsigned long long)bytes, (unsigned long long)d.msgs_sent,
           (unsigned long long)d.by_type[ENT_WIRE_RANGES],
           (unsigned long long)d.by_type[ENT_WIRE_LEAF],
           (unsigned long long)d.by_type[ENT_WIRE_VV],
           (unsigned long long)d.by_type[ENT_WIRE_OPS], n * 64);
    assert_int_equal(d.by_type[ENT_WIRE_DIGESTS], 0);
    assert_true(d.by_type[ENT_WIRE_RANGES] >= 2); /* 2,000: two levels */
    assert_true(d.by_type[ENT_WIRE_LEAF] >= 1);
    assert_int_equal(d.by_type[ENT_WIRE_VV], 2); /* only the one object */
    assert_true(bytes < 10000);
    assert_true(bytes * 10 < n * 64);
}

/* A node without recon/1 (an older release) still converges with one
 * that has it: DIGEST and DIGESTS, no RANGES or LEAF. */
static void test_recon_mixed_versions(void **state) {
    (void)state;
    ent_sim_stats d;
    uint64_t bytes = one_missing(150, false, &d);
    printf("# one missing op among 150 objects, one side without recon/1: "
           "%llu bytes (DIGESTS %llu)\n",
           (unsigned long long)bytes,
           (unsigned long long)d.bytes_by_type[ENT_WIRE_DIGESTS]);
    assert_int_equal(d.by_type[ENT_WIRE_RANGES], 0);
    assert_int_equal(d.by_type[ENT_WIRE_LEAF], 0);
    assert_int_equal(d.by_type[ENT_WIRE_DIGESTS], 1);
    assert_int_equal(d.by_type[ENT_WIRE_VV], 2);
}

/* RANGES or LEAF from a peer that did not say recon/1 break the protocol,
 * and so does a LEAF of a range wider than 8 bits. */
static void test_recon_needs_capability(void **state) {
    (void)state;
    ent_sim *s = NULL;
    ent_sim_config cfg = {.nodes = 2, .seed = 3};
    assert_int_equal(ent_sim_new(&s, &cfg), ENT_OK);
    ent_sim_set_recon(s, 1, false);
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_RANGES;
    assert_int_equal(
        ent_gossip_on_message(ent_sim_gossip(s, 0), ent_sim_org(s, 1), &m),
        ENT_EPROTO);
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_LEAF;
    m.u.leaf.bits = 16;
    assert_int_equal(
        ent_gossip_on_message(ent_sim_gossip(s, 0), ent_sim_org(s, 1), &m),
        ENT_EPROTO);
    /* with the capability: a LEAF of 16 bits is fine, of 4 bits is not */
    ent_sim_set_recon(s, 1, true);
    assert_int_equal(
        ent_gossip_on_message(ent_sim_gossip(s, 0), ent_sim_org(s, 1), &m),
        ENT_OK);
    m.u.leaf.bits = 4;
    assert_int_equal(
        ent_gossip_on_message(ent_sim_gossip(s, 0), ent_sim_org(s, 1), &m),
        ENT_EPROTO);
    ent_sim_free(s);
}

/* ---- the set digest is cached per org until the next write ------------- */

/* The set digest of a and b (both shared with org), computed afresh from
 * the object digests (spec/gossip.md). */
static void fresh_set_digest(ent_gossip *g, const uint8_t a[32],
                             const uint8_t b[32], uint8_t out[32]) {
    uint8_t list[128];
    const uint8_t *lo = memcmp(a, b, 32) < 0 ? a : b;
    const uint8_t *hi = lo == a ? b : a;
    memcpy(list, lo, 32);
    assert_int_equal(ent_gossip_object_digest(g, lo, list + 32), ENT_OK);
    memcpy(list + 64, hi, 32);
    assert_int_equal(ent_gossip_object_digest(g, hi, list + 96), ENT_OK);
    static const char ctx[] = "entente/v1/gossip-set";
    ent_hash2(out, ctx, sizeof(ctx) - 1, list, sizeof(list));
}

static void test_digest_cache(void **state) {
    (void)state;
    ent_sim *s = NULL;
    ent_sim_config cfg = {.nodes = 3, .latency_min_ms = 5,
                          .latency_max_ms = 5, .seed = 11};
    assert_int_equal(ent_sim_new(&s, &cfg), ENT_OK);
    uint8_t a[32], b[32], d1[32], d2[32], want[32];
    uint64_t n = 0;
    make_object(s, 2, a);
    make_object(s, 2, b);
    ent_gossip *g = ent_sim_gossip(s, 0);
    const uint8_t *org = ent_sim_org(s, 1);
    ent_gossip_stats g0, g1;
    ent_gossip_stats_get(g, &g0);
    assert_int_equal(ent_gossip_set_digest(g, org, d1, &n), ENT_OK);
    assert_int_equal(n, 2);
    fresh_set_digest(g, a, b, want);
    assert_memory_equal(d1, want, 32);
    /* no write: the same digest, from the cache, ten times over */
    for (int k = 0; k < 10; k++) {
        assert_int_equal(ent_gossip_set_digest(g, org, d2, &n), ENT_OK);
        assert_int_equal(n, 2);
        assert_memory_equal(d2, d1, 32);
    }
    ent_gossip_stats_get(g, &g1);
    assert_int_equal(g1.digest_computed - g0.digest_computed, 1);
    /* another org has its own entry */
    assert_int_equal(ent_gossip_set_digest(g, ent_sim_org(s, 2), d2, &n),
                     ENT_OK);
    ent_gossip_stats_get(g, &g1);
    assert_int_equal(g1.digest_computed - g0.digest_computed, 2);
    /* a write on node 0: computed again, equal to a fresh computation */
    comment(s, 0, a, false);
    assert_int_equal(ent_gossip_set_digest(g, org, d2, &n), ENT_OK);
    assert_int_equal(n, 2);
    fresh_set_digest(g, a, b, want);
    assert_memory_equal(d2, want, 32);
    assert_memory_not_equal(d2, d1, 32);
    ent_gossip_stats_get(g, &g1);
    assert_int_equal(g1.digest_computed - g0.digest_computed, 3);
    assert_int_equal(ent_gossip_set_digest(g, org, d1, &n), ENT_OK);
    assert_memory_equal(d1, d2, 32);
    ent_gossip_stats_get(g, &g1);
    assert_int_equal(g1.digest_computed - g0.digest_computed, 3);
    ent_sim_free(s);
}

/* ---- held ops: a child before its parents -------------------------------- */

static void test_held_then_repaired(void **state) {
    ent_sim *s = NULL;
    ent_sim_config cfg = {.nodes = 2, .latency_min_ms = 5,
                          .latency_max_ms = 5, .seed = 3};
    assert_int_equal(ent_sim_new(&s, &cfg), ENT_OK);
    uint8_t id[32];
    make_object(s, 2, id);
    char err[256];
    ent_op *ops[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(ent_obj_comment(ent_sim_engine(s, 0), id, "x", &ops[i],
                                         err, sizeof(err)),
                         ENT_OK);
    /* only the last one reaches node 1: held */
    const uint8_t *raw[1] = {ops[2]->raw};
    size_t len[1] = {ops[2]->rawlen};
    ent_apply_info info;
    int rc;
    assert_int_equal(ent_gossip_apply(ent_sim_gossip(s, 1), ent_sim_org(s, 0),
                                      id, raw, len, 1, &info, &rc),
                     ENT_OK);
    assert_int_equal(rc, ENT_OK);
    assert_true(info.pending);
    assert_false(converged(s, 2, id));
    /* one round from the holder asks for (and gets) the parents */
    assert_int_equal(ent_gossip_round(ent_sim_gossip(s, 1), ent_sim_org(s, 0)),
                     ENT_OK);
    ent_sim_run(s, 100);
    assert_true(converged(s, 2, id));
    assert_int_equal(nops(s, 1, id), nops(s, 0, id));
    for (int i = 0; i < 3; i++)
        ent_op_free(ops[i]);
    ent_sim_free(s);
}

/* ---- forks: node 1 holds version A, node 2 version B ------------------------ */

typedef struct seq_count {
    const uint8_t *author;
    uint64_t seq;
    size_t n;
} seq_count;

static int seq_cb(void *data, const uint8_t *raw, size_t len) {
    seq_count *c = data;
    ent_op *op = NULL;
    if (ent_op_decode(&op, raw, len) != ENT_OK)
        return ENT_ECORRUPT;
    c->n += memcmp(op->h.author, c->author, 32) == 0 && op->h.seq == c->seq;
    ent_op_free(op);
    return 0;
}

static size_t versions(ent_sim *s, size_t i, const uint8_t id[32],
                       const uint8_t *author, uint64_t seq) {
    seq_count c = {.author = author, .seq = seq};
    assert_int_equal(ent_obj_ops_foreach(ent_sim_engine(s, i), id, seq_cb, &c),
                     ENT_OK);
    return c.n;
}

/* Hands op to node to's engine directly: no relay, so that only
 * reconciliation can carry it further. */
static void apply_direct(ent_sim *s, size_t to, const ent_op *op) {
    ent_apply_info info;
    assert_int_equal(ent_obj_apply(ent_sim_engine(s, to), op->raw, op->rawlen,
                                   &info),
                     ENT_OK);
    assert_false(info.pending);
}

/*
 * Member 3 signs two comments with one seq (version B is version A's
 * header with another body). Node 1 gets A, node 2 gets B and comments on
 * it (an op whose past holds B). Their heads differ, their vectors do not:
 * one round between them must bring each the other's version, and node
 * 2's comment must be applied at node 1, not held for ever.
 */
static void test_fork_converges(void **state) {
    ent_sim *s = NULL;
    ent_sim_config cfg = {.nodes = 4, .latency_min_ms = 5,
                          .latency_max_ms = 5, .seed = 11};
    assert_int_equal(ent_sim_new(&s, &cfg), ENT_OK);
    uint8_t id[32];
    make_object(s, 4, id);
    char err[256];
    ent_op *va = NULL, *vb = NULL, *on_b = NULL;
    ent_obj_key *keys = NULL;
    size_t nkeys = 0;
    assert_int_equal(ent_obj_comment(ent_sim_engine(s, 3), id, "version A",
                                     &va, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_obj_epoch_keys(ent_sim_engine(s, 3), id, &keys,
                                        &nkeys),
                     ENT_OK);
    ent_op_body b;
    uint8_t *body = NULL;
    size_t blen = 0;
    memset(&b, 0, sizeof(b));
    b.kind = ENT_OP_COMMENT;
    b.text = "version B";
    b.textlen = strlen(b.text);
    assert_int_equal(ent_op_body_encode(&b, &body, &blen), ENT_OK);
    assert_int_equal(ent_op_seal(&vb, &va->h, body, blen, keys[0].key,
                                 ent_sim_identity(s, 3)),
                     ENT_OK);
    free(body);
    ent_obj_keys_free(keys, nkeys);
    apply_direct(s, 1, va);
    apply_direct(s, 2, vb);
    assert_int_equal(ent_obj_comment(ent_sim_engine(s, 2), id, "on B", &on_b,
                                     err, sizeof(err)),
                     ENT_OK);
    const uint8_t *x = ent_sim_org(s, 3);
    assert_int_equal(versions(s, 1, id, x, va->h.seq), 1);
    assert_int_equal(versions(s, 2, id, x, va->h.seq), 1);

    ent_sim_stats a, z;
    ent_sim_stats_get(s, &a);
    assert_int_equal(ent_gossip_round(ent_sim_gossip(s, 1), ent_sim_org(s, 2)),
                     ENT_OK);
    ent_sim_run(s, 200);
    ent_sim_stats_get(s, &z);
    ent_gossip_stats g1, g2;
    ent_gossip_stats_get(ent_sim_gossip(s, 1), &g1);
    ent_gossip_stats_get(ent_sim_gossip(s, 2), &g2);
    printf("# fork: one round, %llu messages, %llu bytes, %llu lowered VV "
           "entries\n",
           (unsigned long long)(z.msgs_sent - a.msgs_sent),
           (unsigned long long)(z.bytes_sent - a.bytes_sent),
           (unsigned long long)(g1.vv_forks + g2.vv_forks));
    assert_int_equal(versions(s, 1, id, x, va->h.seq), 2);
    assert_int_equal(versions(s, 2, id, x, va->h.seq), 2);
    assert_int_equal(nops(s, 1, id), nops(s, 2, id));
    uint8_t *s1 = NULL, *s2 = NULL;
    size_t l1 = 0, l2 = 0;
    assert_int_equal(ent_obj_state_encode(ent_sim_engine(s, 1), id, &s1, &l1),
                     ENT_OK);
    assert_int_equal(ent_obj_state_encode(ent_sim_engine(s, 2), id, &s2, &l2),
                     ENT_OK);
    assert_int_equal(l1, l2);
    assert_memory_equal(s1, s2, l1);
    free(s1);
    free(s2);
    /* node 2's comment, built on B, is applied at node 1 (not held): the
     * same op count as node 2, and its digest equals node 2's */
    assert_int_equal(ent_gossip_round(ent_sim_gossip(s, 1), ent_sim_org(s, 2)),
                     ENT_OK);
    ent_sim_run(s, 100);
    ent_gossip_stats_get(ent_sim_gossip(s, 2), &g2);
    assert_true(g2.in_sync >= 1);
    /* and the rest of the group converges by ordinary rounds */
    for (int r = 0; r < 20 && !converged(s, 4, id); r++)
        ent_sim_round(s);
    assert_true(converged(s, 4, id));
    /* the proof (both signed versions) reached every member */
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(versions(s, i, id, x, va->h.seq), 2);
    ent_op_free(va);
    ent_op_free(vb);
    ent_op_free(on_b);
    ent_sim_free(s);
}

/* ---- partitions ------------------------------------------------------------ */

static void test_partition_heals(void **state) {
    const size_t m = 8;
    ent_sim *s = NULL;
    ent_sim_config cfg = {.nodes = m, .latency_min_ms = 5,
                          .latency_max_ms = 40, .seed = 11};
    assert_int_equal(ent_sim_new(&s, &cfg), ENT_OK);
    uint8_t id[32];
    make_object(s, m, id);
    for (size_t i = m / 2; i < m; i++)
        ent_sim_set_group(s, i, 1);
    for (size_t i = 0; i < m; i++)
        comment(s, i, id, true);
    for (int r = 0; r < 10; r++)
        ent_sim_round(s);
    assert_true(converged(s, m / 2, id)); /* each side agrees with itself */
    assert_int_equal(nops(s, 0, id), m + m / 2);
    assert_int_equal(nops(s, m - 1, id), m + m / 2);
    assert_false(converged(s, m, id));
    for (size_t i = 0; i < m; i++)
        ent_sim_set_group(s, i, 0);
    int rounds = 0;
    while (!converged(s, m, id) && rounds < 30) {
        ent_sim_round(s);
        rounds++;
    }
    assert_true(converged(s, m, id));
    for (size_t i = 0; i < m; i++)
        assert_int_equal(nops(s, i, id), 2 * m);
    ent_sim_free(s);
}

/* ---- many members, concurrent edits, 5% loss ---------------------------- */

static ent_sim_conv converge(size_t m, uint64_t seed) {
    ent_sim_conv c;
    assert_int_equal(ent_sim_converge(m, seed, 100, &c), ENT_OK);
    assert_true(c.converged); /* byte-identical, 2m ops everywhere */
    return c;
}

static void test_converge_table(void **state) {
    const char *env = getenv("ENTENTE_SIM_MEMBERS");
    size_t ms[8], nm = 0;
    char buf[128];
    /* make test: 25 and 50; make test-long and make bench add 100 and 200
     * (spec/gossip.md §7) */
    snprintf(buf, sizeof(buf), "%s", env && *env ? env : "25,50");
    for (char *t = strtok(buf, ","); t && nm < 8; t = strtok(NULL, ","))
        ms[nm++] = strtoul(t, NULL, 10);
    int rounds[8];
    printf("# members | rounds | messages | KiB    | lost | author sent\n");
    for (size_t k = 0; k < nm; k++) {
        ent_sim_conv c = converge(ms[k], 1000 + ms[k]);
        rounds[k] = c.rounds;
        printf("# %7zu | %6d | %8llu | %6.0f | %4llu | %llu\n", ms[k],
               c.rounds, (unsigned long long)c.msgs, c.bytes / 1024.0,
               (unsigned long long)c.lost,
               (unsigned long long)c.author_sent);
        /* the author pushes its op to `fanout` members, not to all */
        assert_true(c.author_sent <= ENT_GOSSIP_FANOUT);
    }
    /* sub-linear: 8x the members take at most 2.5x the rounds */
    if (nm >= 2)
        assert_true(rounds[nm - 1] <=
                    (int)(2.5 * (rounds[0] > 0 ? rounds[0] : 1) + 0.5));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_sync_callback),
        cmocka_unit_test(test_insync_constant),
        cmocka_unit_test(test_digest_cache),
        cmocka_unit_test(test_recon_one_missing),
        cmocka_unit_test(test_recon_mixed_versions),
        cmocka_unit_test(test_recon_needs_capability),
        cmocka_unit_test(test_held_then_repaired),
        cmocka_unit_test(test_fork_converges),
        cmocka_unit_test(test_partition_heals),
        cmocka_unit_test(test_converge_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
