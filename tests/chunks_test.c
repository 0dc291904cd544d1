/*
 * chunks_test.c - attachment chunks over the network (spec/protocol.md
 * §3.8), with two real nodes V and H on loopback and a bare peer A: H
 * (a member) fetches V's attachment on demand and reads the same bytes;
 * A, a member of another object of V only, asks V for chunks of the
 * attachment and gets one ERROR NOTMEMBER and no CHUNK; after A is made a
 * member, V fetching H's attachment asks A too, and a tampered chunk A
 * sends is refused (counted, A dropped) while V completes from H; once
 * removed, A is refused again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodes_fixture.h"

#define WAIT_MS 10000
#define SIZE (40 * ENT_OP_CHUNK + 17) /* 41 chunks: more than one window */

typedef struct world {
    NODES_WORLD_FIELDS;
    uint8_t obj[32];  /* V and H */
    uint8_t obj2[32]; /* V and A */
    bpeer a;
    uint8_t *file;
    const char *name; /* the attachment a fetch waits for */
    ent_peers *fetcher;
    unsigned errors_wanted, wants_wanted;
    uint8_t hash[32]; /* a chunk of V's attachment */
} world;

#define NODES_WORLD
#include "nodes_fixture.h"

static bool fetched(world *w) {
    size_t have = 0, total = 0;
    return ent_peers_fetch(w->fetcher, w->obj, w->name, &have, &total) ==
               ENT_OK &&
           total > 0 && have == total;
}

static bool listed(ent_objects *eng, const uint8_t obj[32], const char *n) {
    ent_obj_attachment *v = NULL;
    size_t nv = 0;
    bool ok = false;
    if (ent_obj_attachments(eng, obj, &v, &nv) == ENT_OK)
        for (size_t i = 0; i < nv; i++)
            ok |= strcmp(v[i].name, n) == 0;
    free(v);
    return ok;
}

static bool h_lists(world *w) {
    return listed(heng(w), w->obj, w->name);
}
static bool v_lists(world *w) {
    return listed(veng(w), w->obj, w->name);
}
static bool a_erred(world *w) {
    return w->a.errors >= w->errors_wanted || w->a.closed;
}
static bool a_wanted(world *w) {
    return w->a.chunk_wants_in >= w->wants_wanted || w->a.closed;
}
static bool a_closed(world *w) {
    return w->a.s == NULL;
}

static void attach_on(ent_node *nd, const uint8_t obj[32], const char *name,
                      const uint8_t *data, size_t len) {
    ent_op *op = NULL;
    char err[ENT_OBJ_ERR_MAX];
    assert_int_equal(ent_obj_attach(ent_node_objects(nd), obj, name, data, len,
                                    &op, err, sizeof(err)),
                     ENT_OK);
    ent_node_op_created(nd, op);
}

static void assert_reads(ent_objects *eng, const uint8_t obj[32],
                         const char *name, const uint8_t *want) {
    uint8_t *got = NULL;
    size_t len = 0;
    assert_int_equal(ent_obj_attachment_read(eng, obj, name, &got, &len),
                     ENT_OK);
    assert_int_equal(len, SIZE);
    assert_memory_equal(got, want, SIZE);
    free(got);
}

/* A asks V for a chunk of obj that V holds (w->hash). */
static void a_want(world *w) {
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_CHUNK_WANT;
    memcpy(m.u.chunk_want.object, w->obj, 32);
    m.u.chunk_want.n = 1;
    memcpy(m.u.chunk_want.hashes[0], w->hash, 32);
    bpeer_send(&w->a, &m);
}

static int setup(void **state) {
    world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    setenv("ENTENTE_SYNC_MS", "200", 1);
    setenv("ENTENTE_DIAL_BASE_MS", "100", 1);
    static const char *const names[2] = {"Vendor", "Partner"};
    nodes_open(w, "/tmp", "chunks", ENT_LOG_ERROR, names, 2);
    ent_peers_limits lim;
    memset(&lim, 0, sizeof(lim));
    lim.ban_strikes = 1000;
    ent_peers_set_limits(vp(w), &lim);
    ent_obj_input in[1] = {{"name", "Joint brief", false}};
    node_create(w->v, "solution", in, 1, w->obj);
    node_create(w->v, "solution", in, 1, w->obj2);
    nodes_join(w, w->obj, 20000);
    bpeer_open(w, &w->a, 0xA7, true);
    node_add_member(w->v, w->obj2, &w->a.t, true);
    bpeer_connect(&w->a, w->v, "mallory", WAIT_MS);
    run_for(w, 50);
    w->file = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++)
        w->file[i] = (uint8_t)(i * 31 + (i >> 11));
    *state = w;
    return 0;
}

static int teardown(void **state) {
    world *w = *state;
    free(w->file);
    return nodes_teardown(state);
}

static void test_fetch_and_refusals(void **state) {
    world *w = *state;
    /* V attaches; H learns the manifest with the op and fetches on demand */
    w->name = "brief.bin";
    attach_on(w->v, w->obj, w->name, w->file, SIZE);
    assert_true(run_until(w, h_lists, WAIT_MS));
    size_t n = 0, total = 0;
    assert_int_equal(ent_obj_attachment_missing(heng(w), w->obj, w->name,
                                                w->hash, 1, &n, &total),
                     ENT_OK);
    assert_int_equal(total, 41);
    ent_peers_stats v0 = peers_stats(w->v);
    w->fetcher = hp(w);
    assert_true(run_until(w, fetched, WAIT_MS));
    assert_reads(heng(w), w->obj, w->name, w->file);
    assert_true(peers_stats(w->h).chunks_received >= 41);
    assert_true(peers_stats(w->v).chunks_sent >= v0.chunks_sent + 41);

    /* A is no member of obj: one ERROR NOTMEMBER, no chunk */
    unsigned e0 = w->a.errors, c0 = w->a.chunks_in;
    a_want(w);
    w->errors_wanted = e0 + 1;
    assert_true(run_until(w, a_erred, WAIT_MS));
    assert_int_equal(w->a.last_err, ENT_WIRE_C_NOTMEMBER);
    run_for(w, 100);
    assert_int_equal(w->a.chunks_in, c0);
    assert_true(peers_stats(w->v).chunks_refused > v0.chunks_refused);

    /* A becomes a member; H attaches, V fetches and asks A too: A's
     * tampered chunk is refused, V completes from H */
    node_add_member(w->v, w->obj, &w->a.t, true);
    w->name = "sow.bin";
    w->file[0] ^= 0x55;
    attach_on(w->h, w->obj, w->name, w->file, SIZE);
    assert_true(run_until(w, v_lists, WAIT_MS));
    ent_peers_stats p0 = peers_stats(w->v);
    size_t have;
    w->wants_wanted = w->a.chunk_wants_in + 1;
    assert_int_equal(ent_peers_fetch(vp(w), w->obj, w->name, &have, &total),
                     ENT_OK);
    assert_true(run_until(w, a_wanted, WAIT_MS));
    assert_true(w->a.chunk_wants_in >= 1);
    uint8_t miss[32];
    (void)ent_obj_attachment_missing(veng(w), w->obj, w->name, miss, 1, &n,
                                     &total);
    uint8_t *ch = NULL;
    size_t clen = 0;
    assert_int_equal(n, 1);
    assert_int_equal(ent_obj_chunk_get(heng(w), w->obj, miss, &ch, &clen),
                     ENT_OK);
    ch[clen - 1] ^= 1; /* the tag */
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_CHUNK;
    memcpy(m.u.chunk.object, w->obj, 32);
    m.u.chunk.data = ch;
    m.u.chunk.len = clen;
    bpeer_send(&w->a, &m);
    free(ch);
    assert_true(run_until(w, a_closed, WAIT_MS)); /* dropped */
    assert_int_equal(peers_stats(w->v).chunks_bad, p0.chunks_bad + 1);
    w->fetcher = vp(w);
    assert_true(run_until(w, fetched, WAIT_MS));
    assert_reads(veng(w), w->obj, w->name, w->file);

    /* removed, A is refused again */
    assert_int_equal(ent_peers_remove_member(vp(w), w->obj, tnode_pk(&w->a.t)),
                     ENT_OK);
    bpeer_connect(&w->a, w->v, "mallory", WAIT_MS);
    run_for(w, 50);
    e0 = w->a.errors;
    c0 = w->a.chunks_in;
    a_want(w);
    w->errors_wanted = e0 + 1;
    assert_true(run_until(w, a_erred, WAIT_MS));
    assert_int_equal(w->a.last_err, ENT_WIRE_C_NOTMEMBER);
    run_for(w, 100);
    assert_int_equal(w->a.chunks_in, c0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fetch_and_refusals, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
