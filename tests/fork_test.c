/*
 * fork_test.c - forks converge (spec/objects.md "Equivocation",
 * spec/membership.md C4 "Forks"). A member X signs two ops with one
 * sequence number (validly: the second is the first's header with another
 * body, sealed and signed by X). The owner holds one version and builds on
 * it (a write, then the removal of X); another member holds the other
 * version and builds on that. Then:
 *
 *  - each node learns the other's ops: both versions are stored on both
 *    nodes (the second one as a fork), nothing is refused, nothing stays
 *    held, the owner's removal of X applies on the member that first had
 *    the other version, and both nodes show one state byte for byte;
 *  - fresh engines given every op in several orders (both versions first
 *    in either order, the ops built on a version before it) show that
 *    same state;
 *  - X's ops from its fork on count for nothing (neither version's write
 *    is shown); one `equivocation` activity-log entry per node.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "node/audit/actlog.h"
#include "protocol/op.h"
#include "tests/object_fixture.h"

static const ent_obj_input opp_in[] = {{"name", "Joint deal", false},
                                       {"next_step", "call", false}};

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

static ent_op *local_set(tnode *n, const uint8_t id[32], const char *field,
                         const char *text) {
    ent_obj_input in = {field, text, false};
    ent_op *op = NULL;
    char err[256];
    int rc = ent_obj_set(n->eng, id, &in, 1, &op, err, sizeof(err));
    if (rc != ENT_OK)
        fail_msg("set %s: %s (%s)", field, ent_err_name(rc), err);
    return op;
}

/* o's header with a set of field to text: another op of the same author
 * and seq, sealed under key and signed by id. */
static ent_op *twin_set(const ent_op *o, const uint8_t key[32],
                        const ent_identity *id, const char *field,
                        const char *text) {
    ent_op_field f;
    ent_op_body b;
    uint8_t *body = NULL;
    size_t blen = 0;
    ent_op *op = NULL;
    memset(&f, 0, sizeof(f));
    memset(&b, 0, sizeof(b));
    snprintf(f.name, sizeof(f.name), "%s", field);
    f.v.type = ENT_VT_TEXT;
    f.v.u.text.s = (char *)text;
    f.v.u.text.len = strlen(text);
    b.kind = ENT_OP_SET;
    b.fields = &f;
    b.nfields = 1;
    assert_int_equal(ent_op_body_encode(&b, &body, &blen), ENT_OK);
    assert_int_equal(ent_op_seal(&op, &o->h, body, blen, key, id), ENT_OK);
    free(body);
    return op;
}

static void apply_ok(tnode *n, const ent_op *op) {
    ent_apply_info info;
    int rc = ent_obj_apply(n->eng, op->raw, op->rawlen, &info);
    if (rc != ENT_OK)
        fail_msg("apply: %s", ent_err_name(rc));
}

static uint8_t *state_of(tnode *n, const uint8_t id[32], size_t *len) {
    uint8_t *s;
    assert_int_equal(ent_obj_state_encode(n->eng, id, &s, len), ENT_OK);
    return s;
}

static void assert_same_state(tnode *x, tnode *y, const uint8_t id[32]) {
    size_t l1, l2;
    uint8_t *s1 = state_of(x, id, &l1), *s2 = state_of(y, id, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(s1, s2, l1);
    free(s1);
    free(s2);
}

/* "active", "removed" or "" (not listed) for org on n, into buf. */
static const char *status_of(tnode *n, const uint8_t id[32],
                             const uint8_t org[32], char *buf, size_t len) {
    json_t *j;
    char want[ENT_ORG_ID_LEN + 1];
    ent_org_id_format(want, org);
    buf[0] = 0;
    assert_int_equal(ent_obj_show_json(n->eng, id, true, &j), ENT_OK);
    json_t *ms = json_object_get(j, "members");
    for (size_t i = 0; i < json_array_size(ms); i++) {
        json_t *m = json_array_get(ms, i);
        if (strcmp(json_string_value(json_object_get(m, "org")), want) == 0)
            snprintf(buf, len, "%s",
                     json_string_value(json_object_get(m, "status")));
    }
    json_decref(j);
    return buf;
}

/* The shared text of field on n ("" when absent or not text), into buf. */
static const char *field_of(tnode *n, const uint8_t id[32], const char *field,
                            char *buf, size_t len) {
    json_t *j;
    assert_int_equal(ent_obj_show_json(n->eng, id, true, &j), ENT_OK);
    const char *v =
        json_string_value(json_object_get(json_object_get(j, "shared"), field));
    snprintf(buf, len, "%s", v != NULL ? v : "");
    json_decref(j);
    return buf;
}

/* How many ops of author with seq n holds (versions of one seq). */
typedef struct seq_req {
    const uint8_t *author;
    uint64_t seq;
    size_t n;
} seq_req;

static int seq_cb(void *data, const uint8_t *raw, size_t len) {
    seq_req *r = data;
    ent_op *op = NULL;
    if (ent_op_decode(&op, raw, len) != ENT_OK)
        return ENT_ECORRUPT;
    r->n += memcmp(op->h.author, r->author, 32) == 0 && op->h.seq == r->seq;
    ent_op_free(op);
    return 0;
}

static size_t versions(tnode *n, const uint8_t id[32], const uint8_t *author,
                       uint64_t seq) {
    seq_req r = {.author = author, .seq = seq};
    assert_int_equal(ent_obj_ops_foreach(n->eng, id, seq_cb, &r), ENT_OK);
    return r.n;
}

typedef struct kind_req {
    uint8_t kind;
    size_t n;
} kind_req;

static int kind_cb(void *data, const ent_actlog_entry *e, const uint8_t *raw,
                   size_t len) {
    kind_req *r = data;
    (void)raw;
    (void)len;
    r->n += e->kind == r->kind;
    return 0;
}

static int kind_fn(ent_txn *txn, void *data) {
    return ent_actlog_foreach(txn, 0, kind_cb, data);
}

static size_t log_entries(tnode *n, uint8_t kind) {
    kind_req r = {.kind = kind};
    assert_int_equal(ent_store_read(n->store, kind_fn, &r), ENT_OK);
    return r.n;
}

static void test_fork_converges(void **state) {
    tnode o, x, m;
    uint8_t id[32];
    char err[256], buf[64];
    (void)state;
    assert_int_equal(tnode_open(&o, 41), 0);
    assert_int_equal(tnode_open(&x, 42), 0);
    assert_int_equal(tnode_open(&m, 43), 0);
    assert_int_equal(ent_obj_create(o.eng, "opportunity", opp_in, 2, id, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
    join(&o, &x, id, ENT_ROLE_MEMBER);
    join(&o, &m, id, ENT_ROLE_MEMBER);
    assert_int_equal(tnode_sync(&x, &o, id), 0);
    /* the history every node shares */
    tops base = tnode_ops(&o, id);

    /* X forks: version A by its engine, version B by hand */
    ent_obj_key *keys = NULL;
    size_t nkeys = 0;
    assert_int_equal(ent_obj_epoch_keys(x.eng, id, &keys, &nkeys), ENT_OK);
    assert_true(nkeys >= 1);
    x.now += 10;
    ent_op *va = local_set(&x, id, "next_step", "A");
    ent_op *vb = twin_set(va, keys[0].key, x.id, "next_step", "B");
    assert_int_equal(va->h.seq, vb->h.seq);
    assert_memory_not_equal(va->id, vb->id, 32);
    /* the owner holds B, writes on it and removes X */
    apply_ok(&o, vb);
    o.now += 20;
    ent_op *ow = local_set(&o, id, "name", "Owner's");
    ent_op *rm = NULL;
    assert_int_equal(ent_obj_remove_member(o.eng, id, tnode_pk(&x), &rm),
                     ENT_OK);
    /* M holds A and writes on it */
    apply_ok(&m, va);
    m.now += 30;
    ent_op *mw = local_set(&m, id, "next_step", "M");

    /* each learns the other's ops: nothing refused, nothing held */
    size_t bad = tnode_sync(&m, &o, id);
    if (bad != 0)
        fail_msg("M refused %zu of the owner's ops", bad);
    assert_int_equal(tnode_sync(&o, &m, id), 0);
    print_message("  M: X %s, next_step %s\n",
                  status_of(&m, id, tnode_pk(&x), buf, sizeof(buf)),
                  field_of(&m, id, "next_step", buf + 32, 32));
    assert_string_equal(status_of(&m, id, tnode_pk(&x), buf, sizeof(buf)),
                        "removed");
    assert_string_equal(status_of(&o, id, tnode_pk(&x), buf, sizeof(buf)),
                        "removed");
    assert_int_equal(versions(&m, id, tnode_pk(&x), va->h.seq), 2);
    assert_int_equal(versions(&o, id, tnode_pk(&x), va->h.seq), 2);
    assert_string_equal(field_of(&m, id, "next_step", buf, sizeof(buf)), "M");
    assert_string_equal(field_of(&m, id, "name", buf, sizeof(buf)),
                        "Owner's");
    assert_same_state(&o, &m, id);
    assert_int_equal(log_entries(&o, ENT_LOG_EQUIVOCATION), 1);
    assert_int_equal(log_entries(&m, ENT_LOG_EQUIVOCATION), 1);
    assert_int_equal(log_entries(&m, ENT_LOG_OP_REJECTED), 0);

    /* fresh engines, every op in several orders: one state */
    ent_op *ops[5] = {va, vb, ow, rm, mw};
    static const size_t orders[][5] = {
        {0, 1, 2, 3, 4}, {1, 0, 2, 3, 4}, {2, 3, 4, 1, 0},
        {4, 3, 2, 0, 1}, {1, 2, 3, 0, 4}, {0, 4, 2, 3, 1}};
    ent_op_epoch_key box;
    box.epoch = 0;
    for (size_t k = 0; k < sizeof(orders) / sizeof(orders[0]); k++) {
        tnode v;
        /* a fresh engine of M's org (seed 43): the join flow hands it
         * epoch 0, the owner's removal of X its box of epoch 1 */
        uint8_t xpk[32];
        assert_int_equal(ent_pk_to_x25519(xpk, tnode_pk(&m)), ENT_OK);
        assert_int_equal(ent_seal_to(box.box, keys[0].key, 32, xpk), ENT_OK);
        /* the shared history first, then the five ops in this order */
        assert_int_equal(tnode_open(&v, 43), 0);
        assert_int_equal(ent_obj_accept_keys(v.eng, id, &box, 1), ENT_OK);
        assert_int_equal(ent_obj_apply_batch(v.eng,
                                             (const uint8_t *const *)base.raw,
                                             base.len, base.n, NULL, NULL),
                         ENT_OK);
        for (size_t i = 0; i < 5; i++)
            apply_ok(&v, ops[orders[k][i]]);
        assert_same_state(&v, &m, id);
        assert_int_equal(versions(&v, id, tnode_pk(&x), va->h.seq), 2);
        assert_int_equal(log_entries(&v, ENT_LOG_EQUIVOCATION), 1);
        tnode_close(&v);
    }

    ent_obj_keys_free(keys, nkeys);
    tops_free(&base);
    ent_op_free(va);
    ent_op_free(vb);
    ent_op_free(ow);
    ent_op_free(rm);
    ent_op_free(mw);
    tnode_close(&o);
    tnode_close(&x);
    tnode_close(&m);
}

/* X's own engine, given the other version: its ops from the fork on count
 * for nothing there too, and a later write of X's (built on both) does
 * not count either; the owner's write after it does. */
static void test_fork_voids_later_ops(void **state) {
    tnode o, x;
    uint8_t id[32];
    char err[256], buf[64];
    (void)state;
    assert_int_equal(tnode_open(&o, 51), 0);
    assert_int_equal(tnode_open(&x, 52), 0);
    assert_int_equal(ent_obj_create(o.eng, "opportunity", opp_in, 2, id, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
    join(&o, &x, id, ENT_ROLE_MEMBER);
    ent_obj_key *keys = NULL;
    size_t nkeys = 0;
    assert_int_equal(ent_obj_epoch_keys(x.eng, id, &keys, &nkeys), ENT_OK);
    x.now += 10;
    ent_op *va = local_set(&x, id, "next_step", "A");
    ent_op *vb = twin_set(va, keys[0].key, x.id, "next_step", "B");
    apply_ok(&o, va);
    assert_string_equal(field_of(&o, id, "next_step", buf, sizeof(buf)), "A");
    apply_ok(&o, vb); /* the fork: A stops counting */
    assert_string_equal(field_of(&o, id, "next_step", buf, sizeof(buf)),
                        "call");
    apply_ok(&x, vb);
    x.now += 10;
    ent_op *later = local_set(&x, id, "next_step", "X later");
    apply_ok(&o, later);
    assert_string_equal(field_of(&o, id, "next_step", buf, sizeof(buf)),
                        "call");
    assert_same_state(&o, &x, id);
    o.now += 100;
    ent_op *ow = local_set(&o, id, "next_step", "owner");
    apply_ok(&x, ow);
    assert_string_equal(field_of(&x, id, "next_step", buf, sizeof(buf)),
                        "owner");
    assert_same_state(&o, &x, id);
    ent_obj_keys_free(keys, nkeys);
    ent_op_free(va);
    ent_op_free(vb);
    ent_op_free(later);
    ent_op_free(ow);
    tnode_close(&o);
    tnode_close(&x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fork_converges),
        cmocka_unit_test(test_fork_voids_later_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
