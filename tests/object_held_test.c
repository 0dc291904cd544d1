/* object_held_test.c - the bounds on held ops (node/objects/object_held.c,
 * spec/objects.md "Held ops"): orgs not known as possible members only
 * get a small share, so a flood of throwaway-key ops takes no member's
 * room and an honest op is still held and released after it; the
 * per-author and per-object caps with eviction of the biggest holder; an
 * add_member held ahead vouching for its org's ops; expiry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "protocol/op.h"
#include "tests/object_fixture.h"

static const ent_obj_input opp_in[] = {
    {"name", "Acme rollout", false},
    {"customer_account", "Acme Corp", false},
};

static void join(tnode *a, tnode *b, const uint8_t id[32], uint8_t role) {
    ent_op *add = NULL;
    ent_op_epoch_key *boxes = NULL;
    size_t nboxes = 0;
    assert_int_equal(ent_obj_add_member(a->eng, id, tnode_pk(b), role, &add,
                                        &boxes, &nboxes),
                     ENT_OK);
    assert_int_equal(ent_obj_accept_keys(b->eng, id, boxes, nboxes), ENT_OK);
    assert_int_equal(tnode_sync(b, a, id), 0);
    free(boxes);
    ent_op_free(add);
}

/* The first epoch key of obj on n. */
static int key_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    if (vlen < 32)
        return ENT_ECORRUPT;
    memcpy(data, val, 32);
    return 1;
}

typedef struct key_req {
    const uint8_t *obj;
    uint8_t key[32];
} key_req;

static int key_fn(ent_txn *txn, void *data) {
    key_req *r = data;
    return ent_txn_scan(txn, ENT_TBL_KEYS, r->obj, 32, key_scan, r->key);
}

static void obj_key(tnode *n, const uint8_t obj[32], uint8_t key[32]) {
    key_req r = {.obj = obj};
    assert_int_equal(ent_store_read(n->store, key_fn, &r), ENT_OK);
    memcpy(key, r.key, 32);
}

/* A set op of author on obj whose one parent nobody has: it must be held. */
static ent_op *orphan(const ent_identity *author, const uint8_t obj[32],
                      uint64_t seq, uint64_t hlc, const uint8_t key[32]) {
    ent_op_field f;
    ent_op_body b;
    ent_op_header h;
    uint8_t *body;
    size_t blen;
    ent_op *op = NULL;
    memset(&f, 0, sizeof(f));
    memset(&b, 0, sizeof(b));
    memset(&h, 0, sizeof(h));
    strcpy(f.name, "next_step");
    f.v.type = ENT_VT_INT;
    f.v.u.i = (int64_t)seq;
    b.kind = ENT_OP_SET;
    b.fields = &f;
    b.nfields = 1;
    h.version = ENT_OP_VERSION;
    h.kind = ENT_OP_SET;
    memcpy(h.object, obj, 32);
    memcpy(h.author, ent_identity_public(author), 32);
    h.seq = seq;
    h.hlc = hlc;
    h.nparents = 1;
    ent_random(h.parents[0], 32);
    assert_int_equal(ent_op_body_encode(&b, &body, &blen), ENT_OK);
    assert_int_equal(ent_op_seal(&op, &h, body, blen, key, author), ENT_OK);
    free(body);
    return op;
}

static int count_fn(ent_txn *txn, void *data) {
    return ent_txn_count(txn, ENT_TBL_PENDING, data);
}

static uint64_t held(tnode *n) {
    uint64_t c = 0;
    assert_int_equal(ent_store_read(n->store, count_fn, &c), ENT_OK);
    return c;
}

/* Rows of obj in the writes table under tag (wait 0x04, held 0x0c, held
 * add 0x0d). */
typedef struct tag_req {
    const uint8_t *obj;
    uint8_t tag;
    size_t n;
} tag_req;

static int tag_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    ((tag_req *)data)->n++;
    return 0;
}

static int tag_fn(ent_txn *txn, void *data) {
    tag_req *r = data;
    uint8_t pre[33];
    memcpy(pre, r->obj, 32);
    pre[32] = r->tag;
    return ent_txn_scan(txn, ENT_TBL_WRITES, pre, 33, tag_scan, r);
}

static size_t tag_rows(tnode *n, const uint8_t obj[32], uint8_t tag) {
    tag_req r = {.obj = obj, .tag = tag};
    assert_int_equal(ent_store_read(n->store, tag_fn, &r), ENT_OK);
    return r.n;
}

/* Applies n ops in one batch; rcs gets each result. */
static void apply_n(tnode *n, ent_op **ops, size_t cnt, int *rcs,
                    ent_apply_info *infos) {
    const uint8_t **raws = calloc(cnt, sizeof(*raws));
    size_t *lens = calloc(cnt, sizeof(*lens));
    assert_non_null(raws);
    assert_non_null(lens);
    for (size_t i = 0; i < cnt; i++) {
        raws[i] = ops[i]->raw;
        lens[i] = ops[i]->rawlen;
    }
    assert_int_equal(ent_obj_apply_batch(n->eng, raws, lens, cnt, infos, rcs),
                     ENT_OK);
    free(raws);
    free(lens);
}

static void free_ops(ent_op **ops, size_t n) {
    for (size_t i = 0; i < n; i++)
        ent_op_free(ops[i]);
    free(ops);
}

/*
 * A viewer's 1,024 ops signed by throwaway keys, each with a missing
 * parent: they only ever fill the strangers' share (64 ops, the oldest
 * evicted first); the viewer's own flood stops at its author cap; then an
 * honest member's op that waits for its parent is held and released when
 * the parent comes.
 */
static void test_flood_of_throwaway_keys(void **state) {
    enum { FLOOD = 1024 };
    tnode a, b, v;
    uint8_t id[32], key[32];
    char err[256];
    assert_int_equal(tnode_open(&a, 51), 0);
    assert_int_equal(tnode_open(&b, 52), 0);
    assert_int_equal(tnode_open(&v, 53), 0);
    assert_int_equal(ent_obj_create(a.eng, "opportunity", opp_in, 2, id, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
    join(&a, &b, id, ENT_ROLE_MEMBER);
    join(&a, &v, id, ENT_ROLE_VIEWER);
    obj_key(&a, id, key);
    ent_op **ops = calloc(FLOOD, sizeof(*ops));
    int *rcs = calloc(FLOOD, sizeof(*rcs));
    ent_apply_info *infos = calloc(FLOOD, sizeof(*infos));
    assert_true(ops && rcs && infos);
    for (size_t i = 0; i < FLOOD; i++) {
        uint8_t seed[ENT_SIG_SEED_LEN];
        ent_identity *t = NULL;
        ent_random(seed, sizeof(seed));
        assert_int_equal(ent_identity_from_seed(&t, seed), ENT_OK);
        ops[i] = orphan(t, id, 5, (a.now + 1) << 16, key);
        ent_identity_free(t);
    }
    apply_n(&a, ops, FLOOD, rcs, infos);
    for (size_t i = 0; i < FLOOD; i++) {
        assert_int_equal(rcs[i], ENT_OK);
        assert_true(infos[i].pending);
    }
    assert_int_equal(held(&a), ENT_OBJ_HELD_STRANGER_MAX);
    assert_int_equal(tag_rows(&a, id, 0x04), ENT_OBJ_HELD_STRANGER_MAX);
    assert_int_equal(tag_rows(&a, id, 0x0c), ENT_OBJ_HELD_STRANGER_MAX);
    ent_obj_stats st;
    ent_obj_stats_get(a.eng, &st);
    assert_int_equal(st.held_strangers, FLOOD);
    assert_int_equal(st.held_evicted, FLOOD - ENT_OBJ_HELD_STRANGER_MAX);
    /* the viewer floods under its own key too: its own cap stops it */
    for (size_t i = 0; i < FLOOD; i++) {
        ent_op_free(ops[i]);
        ops[i] = orphan(v.id, id, 100 + i, (a.now + 1) << 16, key);
    }
    apply_n(&a, ops, FLOOD, rcs, infos);
    for (size_t i = 0; i < FLOOD; i++)
        assert_int_equal(rcs[i], i < ENT_OBJ_HELD_AUTHOR_MAX ? ENT_OK
                                                             : ENT_ELIMIT);
    assert_int_equal(held(&a),
                     ENT_OBJ_HELD_STRANGER_MAX + ENT_OBJ_HELD_AUTHOR_MAX);
    /* the honest op: b makes two, the second arrives first */
    ent_op *s1 = NULL, *s2 = NULL;
    ent_obj_input in1 = {"next_step", "Workshop", false};
    ent_obj_input in2 = {"next_step", "Proposal", false};
    assert_int_equal(ent_obj_set(b.eng, id, &in1, 1, &s1, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_obj_set(b.eng, id, &in2, 1, &s2, err, sizeof(err)),
                     ENT_OK);
    ent_apply_info info;
    assert_int_equal(ent_obj_apply(a.eng, s2->raw, s2->rawlen, &info), ENT_OK);
    assert_true(info.pending);
    assert_int_equal(held(&a),
                     ENT_OBJ_HELD_STRANGER_MAX + ENT_OBJ_HELD_AUTHOR_MAX + 1);
    assert_int_equal(ent_obj_apply(a.eng, s1->raw, s1->rawlen, &info), ENT_OK);
    assert_false(info.pending);
    assert_int_equal(info.released, 1);
    assert_int_equal(held(&a),
                     ENT_OBJ_HELD_STRANGER_MAX + ENT_OBJ_HELD_AUTHOR_MAX);
    json_t *js = NULL;
    assert_int_equal(ent_obj_show_json(a.eng, id, true, &js), ENT_OK);
    assert_string_equal(
        json_string_value(
            json_object_get(json_object_get(js, "shared"), "next_step")),
        "Proposal");
    json_decref(js);
    ent_op_free(s1);
    ent_op_free(s2);
    free_ops(ops, FLOOD);
    free(rcs);
    free(infos);
    tnode_close(&a);
    tnode_close(&b);
    tnode_close(&v);
}

/*
 * The caps: 256 per author; an object full with 1,024 held ops of four
 * authors still takes an op of a fifth (the biggest holder's oldest op
 * goes), but not one more of an author that holds as many as the biggest.
 */
static void test_caps_and_eviction(void **state) {
    enum { NM = 5 };
    tnode a, m[NM];
    uint8_t id[32], key[32];
    char err[256];
    assert_int_equal(tnode_open(&a, 61), 0);
    assert_int_equal(ent_obj_create(a.eng, "opportunity", opp_in, 2, id, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
    for (int i = 0; i < NM; i++) {
        assert_int_equal(tnode_open(&m[i], (uint8_t)(62 + i)), 0);
        join(&a, &m[i], id, ENT_ROLE_MEMBER);
    }
    obj_key(&a, id, key);
    size_t per = ENT_OBJ_HELD_AUTHOR_MAX + 2;
    ent_op **ops = calloc(per, sizeof(*ops));
    int *rcs = calloc(per, sizeof(*rcs));
    ent_apply_info *infos = calloc(per, sizeof(*infos));
    assert_true(ops && rcs && infos);
    /* four members fill the object, each up to its own cap */
    for (int k = 0; k < 4; k++) {
        for (size_t i = 0; i < per; i++)
            ops[i] = orphan(m[k].id, id, 10 + i, (a.now + 1) << 16, key);
        apply_n(&a, ops, per, rcs, infos);
        for (size_t i = 0; i < per; i++)
            assert_int_equal(rcs[i], i < ENT_OBJ_HELD_AUTHOR_MAX ? ENT_OK
                                                                 : ENT_ELIMIT);
        for (size_t i = 0; i < per; i++)
            ent_op_free(ops[i]);
        a.now += 1; /* later holds are younger */
    }
    assert_int_equal(held(&a), ENT_OBJ_PENDING_MAX);
    ent_obj_stats st;
    ent_obj_stats_get(a.eng, &st);
    assert_int_equal(st.limit, 4 * 2);
    assert_int_equal(st.held_evicted, 0);
    /* a fifth member's op: room is made */
    ent_op *op5 = orphan(m[4].id, id, 10, (a.now + 1) << 16, key);
    ent_apply_info info;
    assert_int_equal(ent_obj_apply(a.eng, op5->raw, op5->rawlen, &info),
                     ENT_OK);
    assert_true(info.pending);
    assert_int_equal(held(&a), ENT_OBJ_PENDING_MAX);
    ent_obj_stats_get(a.eng, &st);
    assert_int_equal(st.held_evicted, 1);
    /* every row still has its held row and wait row */
    assert_int_equal(tag_rows(&a, id, 0x0c), ENT_OBJ_PENDING_MAX);
    assert_int_equal(tag_rows(&a, id, 0x04), ENT_OBJ_PENDING_MAX);
    /* all four held as many ops of the same sizes: the evicted op was the
     * oldest of the lowest author key; any other of the four still holds
     * 256, as many as anyone, so its next op is refused */
    int low = 0, other;
    for (int k = 1; k < 4; k++)
        if (memcmp(tnode_pk(&m[k]), tnode_pk(&m[low]), 32) < 0)
            low = k;
    other = low == 0 ? 1 : 0;
    ent_op *more = orphan(m[other].id, id, 9000, (a.now + 1) << 16, key);
    assert_int_equal(ent_obj_apply(a.eng, more->raw, more->rawlen, &info),
                     ENT_ELIMIT);
    assert_int_equal(held(&a), ENT_OBJ_PENDING_MAX);
    ent_op_free(more);
    /* a stranger takes no possible member's room */
    uint8_t seed[ENT_SIG_SEED_LEN];
    ent_identity *t = NULL;
    ent_random(seed, sizeof(seed));
    assert_int_equal(ent_identity_from_seed(&t, seed), ENT_OK);
    more = orphan(t, id, 1, (a.now + 1) << 16, key);
    ent_identity_free(t);
    assert_int_equal(ent_obj_apply(a.eng, more->raw, more->rawlen, &info),
                     ENT_ELIMIT);
    ent_op_free(more);
    /* the evicted author holds 255: its next op makes room again */
    more = orphan(m[low].id, id, 9001, (a.now + 1) << 16, key);
    assert_int_equal(ent_obj_apply(a.eng, more->raw, more->rawlen, &info),
                     ENT_OK);
    assert_true(info.pending);
    ent_obj_stats_get(a.eng, &st);
    assert_int_equal(st.held_evicted, 2);
    ent_op_free(more);
    ent_op_free(op5);
    free(ops);
    free(rcs);
    free(infos);
    for (int i = 0; i < NM; i++)
        tnode_close(&m[i]);
    tnode_close(&a);
}

/*
 * The org an add_member adds has its ops held as a possible member's when
 * the add itself is held: the owner adds g (after a set nobody else has
 * seen yet), g writes; b gets the add (held), then g's op (held, not in
 * the strangers' share), then the set: everything is released. Another
 * org's op that b cannot place goes to the strangers' share.
 */
static void test_held_add_vouches(void **state) {
    tnode a, b, g;
    uint8_t id[32];
    char err[256];
    assert_int_equal(tnode_open(&a, 71), 0);
    assert_int_equal(tnode_open(&b, 72), 0);
    assert_int_equal(tnode_open(&g, 73), 0);
    assert_int_equal(ent_obj_create(a.eng, "opportunity", opp_in, 2, id, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
    join(&a, &b, id, ENT_ROLE_MEMBER);
    ent_op *s1 = NULL, *add = NULL, *gs = NULL;
    ent_obj_input in1 = {"next_step", "Workshop", false};
    assert_int_equal(ent_obj_set(a.eng, id, &in1, 1, &s1, err, sizeof(err)),
                     ENT_OK);
    ent_op_epoch_key *boxes = NULL;
    size_t nboxes = 0;
    assert_int_equal(ent_obj_add_member(a.eng, id, tnode_pk(&g),
                                        ENT_ROLE_MEMBER, &add, &boxes,
                                        &nboxes),
                     ENT_OK);
    assert_int_equal(ent_obj_accept_keys(g.eng, id, boxes, nboxes), ENT_OK);
    free(boxes);
    assert_int_equal(tnode_sync(&g, &a, id), 0);
    ent_obj_input in2 = {"next_step", "From g", false};
    assert_int_equal(ent_obj_set(g.eng, id, &in2, 1, &gs, err, sizeof(err)),
                     ENT_OK);
    ent_apply_info info;
    ent_obj_stats st;
    assert_int_equal(ent_obj_apply(b.eng, add->raw, add->rawlen, &info),
                     ENT_OK);
    assert_true(info.pending);
    assert_int_equal(tag_rows(&b, id, 0x0d), 1);
    assert_int_equal(ent_obj_apply(b.eng, gs->raw, gs->rawlen, &info), ENT_OK);
    assert_true(info.pending);
    assert_int_equal(held(&b), 2);
    ent_obj_stats_get(b.eng, &st);
    assert_int_equal(st.held_strangers, 0);
    assert_int_equal(ent_obj_apply(b.eng, s1->raw, s1->rawlen, &info), ENT_OK);
    assert_int_equal(info.released, 2);
    assert_int_equal(held(&b), 0);
    assert_int_equal(tag_rows(&b, id, 0x0c), 0);
    assert_int_equal(tag_rows(&b, id, 0x0d), 0);
    json_t *js = NULL;
    assert_int_equal(ent_obj_show_json(b.eng, id, true, &js), ENT_OK);
    assert_string_equal(
        json_string_value(
            json_object_get(json_object_get(js, "shared"), "next_step")),
        "From g");
    json_decref(js);
    /* an org b knows nothing of */
    tnode x;
    uint8_t key[32];
    assert_int_equal(tnode_open(&x, 74), 0);
    obj_key(&b, id, key);
    ent_op *xs = orphan(x.id, id, 3, (b.now + 1) << 16, key);
    assert_int_equal(ent_obj_apply(b.eng, xs->raw, xs->rawlen, &info), ENT_OK);
    assert_true(info.pending);
    ent_obj_stats_get(b.eng, &st);
    assert_int_equal(st.held_strangers, 1);
    ent_op_free(xs);
    tnode_close(&x);
    ent_op_free(s1);
    ent_op_free(add);
    ent_op_free(gs);
    tnode_close(&a);
    tnode_close(&b);
    tnode_close(&g);
}

/*
 * Expiry: a held op goes after ENT_OBJ_HELD_TTL_MS, by the sweep or when
 * another op of the object is held, with every row that names it.
 */
static void test_expiry(void **state) {
    tnode a, b;
    uint8_t id[32], key[32];
    char err[256];
    assert_int_equal(tnode_open(&a, 81), 0);
    assert_int_equal(tnode_open(&b, 82), 0);
    assert_int_equal(ent_obj_create(a.eng, "opportunity", opp_in, 2, id, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
    join(&a, &b, id, ENT_ROLE_MEMBER);
    obj_key(&a, id, key);
    ent_op *o1 = orphan(b.id, id, 10, (a.now + 1) << 16, key);
    ent_op *o2 = orphan(b.id, id, 11, (a.now + 1) << 16, key);
    ent_apply_info info;
    assert_int_equal(ent_obj_apply(a.eng, o1->raw, o1->rawlen, &info), ENT_OK);
    assert_true(info.pending);
    size_t dropped = 99;
    a.now += ENT_OBJ_HELD_TTL_MS - 1; /* not yet */
    assert_int_equal(ent_obj_expire_held(a.eng, &dropped), ENT_OK);
    assert_int_equal(dropped, 0);
    assert_int_equal(held(&a), 1);
    a.now += 1;
    assert_int_equal(ent_obj_expire_held(a.eng, &dropped), ENT_OK);
    assert_int_equal(dropped, 1);
    assert_int_equal(held(&a), 0);
    assert_int_equal(tag_rows(&a, id, 0x04), 0);
    assert_int_equal(tag_rows(&a, id, 0x0c), 0);
    /* held again, then expired by the next hold in the object */
    assert_int_equal(ent_obj_apply(a.eng, o1->raw, o1->rawlen, &info), ENT_OK);
    assert_true(info.pending);
    a.now += ENT_OBJ_HELD_TTL_MS;
    assert_int_equal(ent_obj_apply(a.eng, o2->raw, o2->rawlen, &info), ENT_OK);
    assert_true(info.pending);
    assert_int_equal(held(&a), 1);
    ent_obj_stats st;
    ent_obj_stats_get(a.eng, &st);
    assert_int_equal(st.held_expired, 2);
    ent_op_free(o1);
    ent_op_free(o2);
    tnode_close(&a);
    tnode_close(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flood_of_throwaway_keys),
        cmocka_unit_test(test_caps_and_eviction),
        cmocka_unit_test(test_held_add_vouches),
        cmocka_unit_test(test_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
