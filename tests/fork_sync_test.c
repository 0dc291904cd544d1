/*
 * fork_sync_test.c - forks converge over real sessions (spec/gossip.md §3
 * "Forks", spec/objects.md "Equivocation").
 *
 * One loop, 127.0.0.1 port 0, anti-entropy every 200 ms. V and H are real
 * nodes; V owns object O, H joined it. Z, a member of O with a bare
 * engine, signs two versions of one seq: V gets version A, H version B,
 * each handed to its engine directly (as if from two different relays).
 * H then writes on top of B and pushes that op to V, which must hold it:
 * its parent B is unknown there. With one version per seq in the version
 * vectors, that op waits for ever and the nodes never converge (the
 * reproduced bug of issue 11). Here, by the ordinary rounds alone:
 *   - both nodes store both versions (the fork);
 *   - H's op is applied at V (not held);
 *   - both show one shared state byte for byte, with one `equivocation`
 *     activity-log entry each.
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

#include "node/audit/actlog.h"
#include "node/peers/gossip.h"
#include "node/peers/peer.h"
#include "protocol/op.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define WAIT_MS 30000

typedef struct world {
    NODES_WORLD_FIELDS;
    uint8_t obj[32]; /* O */
    tnode z;         /* Z, the forking member, a bare engine */
    uint64_t fork_seq;
    uint8_t on_b[32]; /* id of H's op built on version B */
} world;
#define NODES_WORLD
#include "nodes_fixture.h"

static int setup(void **state) {
    world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    setenv("ENTENTE_SYNC_MS", "200", 1);
    setenv("ENTENTE_DIAL_BASE_MS", "100", 1);
    static const char *const names[2] = {"Vera", "Hale"};
    nodes_open(w, access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
               "fork-sync", ENT_LOG_OFF, names, 2);
    ent_obj_input in[1] = {{"name", "Forked deal", false}};
    node_create(w->v, "opportunity", in, 1, w->obj);
    /* Z: a member of O with its own engine holding O's history */
    assert_int_equal(tnode_open(&w->z, 0x5a), 0);
    node_add_member(w->v, w->obj, &w->z, true);
    /* H joins O */
    nodes_join(w, w->obj, WAIT_MS);
    *state = w;
    return 0;
}

static int teardown(void **state) {
    world *w = *state;
    tnode_close(&w->z);
    nodes_free(w);
    return 0;
}

/* ---- what each node holds ------------------------------------------------- */

typedef struct held_q {
    const world *w;
    size_t versions; /* Z's ops with the forked seq */
    bool on_b;       /* H's op on top of B */
} held_q;

static int held_cb(void *data, const uint8_t *raw, size_t len) {
    held_q *q = data;
    ent_op *op = NULL;
    if (ent_op_decode(&op, raw, len) != ENT_OK)
        return ENT_ECORRUPT;
    q->versions += memcmp(op->h.author, tnode_pk(&q->w->z), 32) == 0 &&
                   op->h.seq == q->w->fork_seq;
    q->on_b |= memcmp(op->id, q->w->on_b, 32) == 0;
    ent_op_free(op);
    return 0;
}

static held_q held(world *w, ent_node *n) {
    held_q q = {.w = w};
    assert_int_equal(
        ent_obj_ops_foreach(ent_node_objects(n), w->obj, held_cb, &q), ENT_OK);
    return q;
}

static bool same_state(world *w) {
    uint8_t *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    bool same =
        ent_obj_state_encode(ent_node_objects(w->v), w->obj, &a, &la) ==
            ENT_OK &&
        ent_obj_state_encode(ent_node_objects(w->h), w->obj, &b, &lb) ==
            ENT_OK &&
        la == lb && memcmp(a, b, la) == 0;
    free(a);
    free(b);
    return same;
}

static bool converged(world *w) {
    held_q v = held(w, w->v), h = held(w, w->h);
    return v.versions == 2 && h.versions == 2 && v.on_b && h.on_b &&
           same_state(w);
}

typedef struct kind_q {
    uint8_t kind;
    size_t n;
} kind_q;

static int kind_cb(void *data, const ent_actlog_entry *e, const uint8_t *raw,
                   size_t len) {
    kind_q *q = data;
    (void)raw;
    (void)len;
    q->n += e->kind == q->kind;
    return 0;
}

static int kind_fn(ent_txn *txn, void *data) {
    return ent_actlog_foreach(txn, 0, kind_cb, data);
}

static size_t log_entries(ent_node *n, uint8_t kind) {
    kind_q q = {.kind = kind};
    assert_int_equal(ent_store_read(ent_node_store(n), kind_fn, &q), ENT_OK);
    return q.n;
}

/* ---- the test ------------------------------------------------------------- */

static void test_fork_over_sessions(void **state) {
    world *w = *state;
    char err[ENT_OBJ_ERR_MAX];
    ent_obj_key *keys = NULL;
    size_t nkeys = 0;
    ent_op *va = NULL, *vb = NULL, *onb = NULL;
    ent_obj_input sa = {"next_step", "version A", false};
    assert_int_equal(
        ent_obj_set(w->z.eng, w->obj, &sa, 1, &va, err, sizeof(err)),
        ENT_OK);
    assert_int_equal(ent_obj_epoch_keys(w->z.eng, w->obj, &keys, &nkeys),
                     ENT_OK);
    /* version B: A's header, another body, sealed and signed by Z */
    ent_op_field f;
    ent_op_body b;
    uint8_t *body = NULL;
    size_t blen = 0;
    memset(&f, 0, sizeof(f));
    memset(&b, 0, sizeof(b));
    snprintf(f.name, sizeof(f.name), "next_step");
    f.v.type = ENT_VT_TEXT;
    f.v.u.text.s = "version B";
    f.v.u.text.len = 9;
    b.kind = ENT_OP_SET;
    b.fields = &f;
    b.nfields = 1;
    assert_int_equal(ent_op_body_encode(&b, &body, &blen), ENT_OK);
    assert_int_equal(ent_op_seal(&vb, &va->h, body, blen, keys[0].key,
                                 w->z.id),
                     ENT_OK);
    free(body);
    ent_obj_keys_free(keys, nkeys);
    w->fork_seq = va->h.seq;
    /* V gets A, H gets B, each from "somewhere else" */
    assert_int_equal(
        ent_obj_apply(ent_node_objects(w->v), va->raw, va->rawlen, NULL),
        ENT_OK);
    assert_int_equal(
        ent_obj_apply(ent_node_objects(w->h), vb->raw, vb->rawlen, NULL),
        ENT_OK);
    /* H writes on top of B and pushes it: V must hold it (B unknown) */
    ent_obj_input sh = {"name", "Hale's name", false};
    assert_int_equal(
        ent_obj_set(ent_node_objects(w->h), w->obj, &sh, 1, &onb, err,
                    sizeof(err)),
        ENT_OK);
    memcpy(w->on_b, onb->id, 32);
    ent_node_op_created(w->h, onb); /* takes onb */
    uint64_t t0 = uv_now(&w->loop);
    bool ok = run_until(w, converged, WAIT_MS);
    held_q v = held(w, w->v), h = held(w, w->h);
    fprintf(stderr,
            "  V: %zu versions, H's op %s; H: %zu versions; same state %d; "
            "%llu ms\n",
            v.versions, v.on_b ? "applied" : "missing", h.versions,
            same_state(w), (unsigned long long)(uv_now(&w->loop) - t0));
    assert_true(ok);
    /* both speak recon/1: the round went down ranges, no DIGESTS
     * (spec/gossip.md §13) */
    ent_gossip_stats gv, gh;
    ent_peers_gossip_stats(ent_node_peers(w->v), &gv);
    ent_peers_gossip_stats(ent_node_peers(w->h), &gh);
    assert_int_equal(gv.digests_sent + gh.digests_sent, 0);
    assert_true(gv.ranges_sent + gh.ranges_sent + gv.leaves_sent +
                    gh.leaves_sent > 0);
    assert_int_equal(log_entries(w->v, ENT_LOG_EQUIVOCATION), 1);
    assert_int_equal(log_entries(w->h, ENT_LOG_EQUIVOCATION), 1);
    ent_op_free(va);
    ent_op_free(vb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fork_over_sessions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
