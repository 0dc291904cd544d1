/*
 * prune_test.c - pruned field writes (schema 4, spec/storage.md "Pruned
 * field writes"): a plain field's writes that the merge fast path settles
 * leave no writes row (the object gets the marker row instead), on the
 * author's node and on a member's; a removal that changes a member's
 * standing derives every row again from the stored ops (marker gone, one
 * row per write) and both nodes show the same state; an erase of the
 * field lists every op that wrote it, pruned or not (each becomes a
 * stub), and the other fields those ops wrote keep their writes on every
 * member (filled before the stubs); a schema-3 store migrates to 4 (and on
 * to the latest) with its rows unchanged; a chain of 300 ops applied in one
 * commit writes fewer pages than ops (an op's head row goes in before its
 * parent's leaves, so the heads table's root is not freed and taken again,
 * and written, for every op).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "protocol/op.h"
#include "tests/object_fixture.h"

#define WR_FIELD_TAG 0x00
#define WR_PRUNED_TAG 0x11

static int count_cb(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    (*(size_t *)data)++;
    return 0;
}

static int stub_cb(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    (void)key;
    (void)klen;
    if (ent_op_is_stub(val, vlen))
        (*(size_t *)data)++;
    return 0;
}

/* The writes rows of field name of obj. */
static size_t field_rows(tnode *n, const uint8_t obj[32], const char *name) {
    uint8_t pre[64];
    size_t nl = strlen(name), c = 0;
    memcpy(pre, obj, 32);
    pre[32] = WR_FIELD_TAG;
    memcpy(pre + 33, name, nl);
    pre[33 + nl] = 0;
    assert_int_equal(
        tstore_scan(n->store, ENT_TBL_WRITES, pre, 34 + nl, count_cb, &c),
        ENT_OK);
    return c;
}

static bool marked(tnode *n, const uint8_t obj[32]) {
    uint8_t k[33];
    size_t c = 0;
    memcpy(k, obj, 32);
    k[32] = WR_PRUNED_TAG;
    assert_int_equal(tstore_scan(n->store, ENT_TBL_WRITES, k, 33, count_cb, &c),
                     ENT_OK);
    return c > 0;
}

static void set1(tnode *n, const uint8_t id[32], const char *f, const char *v) {
    char err[256];
    int rc = tnode_set1(n, id, f, v, err, sizeof(err));
    if (rc != ENT_OK)
        fail_msg("set %s=%s: %s (%s)", f, v, ent_strerror(rc), err);
}

typedef struct fdump {
    uint8_t buf[4096];
    size_t n;
} fdump;

static int fdump_cb(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    fdump *d = data;
    if (d->n + klen + vlen > sizeof(d->buf))
        return ENT_ELIMIT;
    memcpy(d->buf + d->n, key, klen);
    memcpy(d->buf + d->n + klen, val, vlen);
    d->n += klen + vlen;
    return 0;
}

/* The two nodes' fields rows of id are byte-identical. */
static void same_fields(tnode *a, tnode *b, const uint8_t id[32]) {
    fdump da = {0}, db = {0};
    assert_int_equal(
        tstore_scan(a->store, ENT_TBL_FIELDS, id, 32, fdump_cb, &da), ENT_OK);
    assert_int_equal(
        tstore_scan(b->store, ENT_TBL_FIELDS, id, 32, fdump_cb, &db), ENT_OK);
    assert_true(da.n > 0);
    assert_int_equal(da.n, db.n);
    assert_memory_equal(da.buf, db.buf, da.n);
}

static void prune_fill_erase(void **state) {
    (void)state;
    tnode a = {0}, b = {0};
    uint8_t id[32];
    char v[32];
    const ent_obj_input in[] = {{"name", "n0", false}};
    assert_int_equal(
        tnodes_open_obj(TNODES(&a, &b), 60, "opportunity", in, 1, id), 0);
    assert_int_equal(tnode_join(&a, &b, id, 2 /* member */, NULL, NULL),
                     ENT_OK);
    for (int i = 1; i <= 20; i++) {
        snprintf(v, sizeof(v), "n%d", i);
        set1(&a, id, "name", v);
    }
    assert_int_equal(tnode_sync(&b, &a, id), 0);
    /* no write keeps its row, the genesis's included, on both nodes */
    assert_int_equal(field_rows(&a, id, "name"), 0);
    assert_int_equal(field_rows(&b, id, "name"), 0);
    assert_true(marked(&a, id));
    assert_true(marked(&b, id));
    same_fields(&a, &b, id);
    set1(&b, id, "name", "b1");
    assert_int_equal(tnode_sync(&a, &b, id), 0);
    assert_int_equal(field_rows(&a, id, "name"), 0);
    same_fields(&a, &b, id);

    /* a removal changes b's standing: every field is merged again, from
     * every write, derived again from the ops */
    ent_op *rm = NULL;
    assert_int_equal(ent_obj_remove_member(a.eng, id, tnode_pk(&b), &rm),
                     ENT_OK);
    ent_op_free(rm);
    assert_false(marked(&a, id));
    assert_int_equal(field_rows(&a, id, "name"), 22);
    assert_int_equal(tnode_sync(&b, &a, id), 0);
    assert_false(marked(&b, id));
    assert_int_equal(field_rows(&b, id, "name"), 22);
    same_fields(&a, &b, id);

    /* pruned again, then erased: the erase lists every op of the field */
    set1(&a, id, "name", "n21");
    assert_true(marked(&a, id));
    assert_int_equal(field_rows(&a, id, "name"), 22);
    ent_op *er = NULL;
    char err[256];
    assert_int_equal(ent_obj_erase(a.eng, id, "name", &er, err, sizeof(err)),
                     ENT_OK);
    ent_op_free(er);
    size_t stubs = 0;
    assert_int_equal(tstore_scan(a.store, ENT_TBL_OPS, id, 32, stub_cb, &stubs),
                     ENT_OK);
    assert_int_equal(stubs, 23); /* n0 (genesis), n1..n20, b1, n21 */
    assert_int_equal(field_rows(&a, id, "name"), 0);
    tnodes_close(TNODES(&a, &b));
}

/* A genesis's plain writes keep no row unless one of its writes is
 * owner-only: that write's recompute would fill the rows from the ops
 * before the genesis's key is stored. An owner-only write later fills
 * every row, the genesis's included, and both nodes agree. */
static void genesis_rows(void **state) {
    (void)state;
    tnode a = {0}, b = {0};
    uint8_t plain[32], owned[32];
    char aid[ENT_ORG_ID_LEN + 1], err[256];
    assert_int_equal(tnodes_open(TNODES(&a, &b), 80), 0);
    ent_org_id_format(aid, tnode_pk(&a));
    const ent_obj_input in1[] = {{"name", "Plain", false},
                                 {"region", "EMEA", false}};
    const ent_obj_input in2[] = {{"name", "Owned", false},
                                 {"sourced_by", aid, false}};
    assert_int_equal(ent_obj_create(a.eng, "opportunity", in1, 2, plain, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_obj_create(a.eng, "opportunity", in2, 2, owned, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
    assert_true(marked(&a, plain));
    assert_int_equal(field_rows(&a, plain, "name"), 0);
    assert_int_equal(field_rows(&a, plain, "region"), 0);
    assert_false(marked(&a, owned));
    assert_int_equal(field_rows(&a, owned, "name"), 1);
    assert_int_equal(field_rows(&a, owned, "sourced_by"), 1);
    assert_int_equal(tnode_join(&a, &b, plain, 2 /* member */, NULL, NULL),
                     ENT_OK);
    assert_int_equal(tnode_sync(&b, &a, plain), 0);
    assert_true(marked(&b, plain));
    assert_int_equal(field_rows(&b, plain, "name"), 0);
    /* the owner's owner-only write: a full recompute, which fills */
    set1(&a, plain, "sourced_by", aid);
    assert_false(marked(&a, plain));
    assert_int_equal(field_rows(&a, plain, "name"), 1);
    assert_int_equal(field_rows(&a, plain, "region"), 1);
    assert_int_equal(tnode_sync(&b, &a, plain), 0);
    assert_false(marked(&b, plain));
    assert_int_equal(field_rows(&b, plain, "region"), 1);
    same_fields(&a, &b, plain);
    tnodes_close(TNODES(&a, &b));
}

/* The shared value of field f of id on n ("-": none). */
static const char *shown(tnode *n, const uint8_t id[32], const char *f,
                         char *buf, size_t cap) {
    json_t *o = NULL;
    assert_int_equal(ent_obj_show_json(n->eng, id, false, &o), ENT_OK);
    json_t *v = json_object_get(json_object_get(o, "shared"), f);
    snprintf(buf, cap, "%s", json_is_string(v) ? json_string_value(v) : "-");
    json_decref(o);
    return buf;
}

/* An erase of one field stubs every op that wrote it, the genesis too; the
 * other fields those ops wrote keep their writes, which a member whose
 * rows were pruned derives from the ops before it stubs them, as the
 * eraser did before listing them. Here a write of name by b, concurrent
 * with b's removal, stops counting: the genesis's write of name wins again
 * on every member, pruned or not. */
static void erase_keeps_other_fields(void **state) {
    (void)state;
    tnode a = {0}, b = {0}, c = {0};
    uint8_t id[32];
    char err[256], va[64], vc[64];
    const ent_obj_input in[] = {{"name", "N0", false},
                                {"region", "EMEA", false}};
    assert_int_equal(
        tnodes_open_obj(TNODES(&a, &b, &c), 90, "opportunity", in, 2, id), 0);
    assert_int_equal(tnode_join(&a, &b, id, 2 /* member */, NULL, NULL),
                     ENT_OK);
    assert_int_equal(tnode_join(&a, &c, id, 2 /* member */, NULL, NULL),
                     ENT_OK);
    assert_true(marked(&c, id));
    ent_op *er = NULL;
    assert_int_equal(ent_obj_erase(a.eng, id, "region", &er, err, sizeof(err)),
                     ENT_OK);
    ent_op_free(er);
    assert_int_equal(tnode_sync(&b, &a, id), 0);
    assert_int_equal(tnode_sync(&c, &a, id), 0);
    /* b writes name while a removes b, neither seeing the other */
    set1(&b, id, "name", "B1");
    ent_op *rm = NULL;
    assert_int_equal(ent_obj_remove_member(a.eng, id, tnode_pk(&b), &rm),
                     ENT_OK);
    ent_op_free(rm);
    (void)tnode_sync(&c, &b, id);
    (void)tnode_sync(&c, &a, id);
    (void)tnode_sync(&a, &b, id);
    assert_string_equal(shown(&a, id, "name", va, sizeof(va)), "N0");
    assert_string_equal(shown(&c, id, "name", vc, sizeof(vc)), va);
    same_fields(&a, &c, id);
    tnodes_close(TNODES(&a, &b, &c));
}

static void chain_pages(void **state) {
    (void)state;
    tnode a = {0}, b = {0};
    uint8_t id[32];
    char v[32];
    uint64_t p0 = 0, p1 = 0;
    const ent_obj_input in[] = {{"name", "n0", false}};
    assert_int_equal(
        tnodes_open_obj(TNODES(&a, &b), 70, "opportunity", in, 1, id), 0);
    assert_int_equal(tnode_join(&a, &b, id, 2 /* member */, NULL, NULL),
                     ENT_OK);
    for (int i = 1; i <= 300; i++) {
        snprintf(v, sizeof(v), "n%d", i);
        set1(&a, id, "name", v);
    }
    ent_store_count_pages(b.store);
    assert_int_equal(ent_store_pages_written(b.store, &p0), ENT_OK);
    assert_int_equal(tnode_sync(&b, &a, id), 0); /* one commit */
    assert_int_equal(ent_store_pages_written(b.store, &p1), ENT_OK);
    assert_true(p1 > p0);
    if (p1 - p0 >= 300)
        fail_msg("%llu pages for 300 ops", (unsigned long long)(p1 - p0));
    tnodes_close(TNODES(&a, &b));
}

/* an object id (32 bytes) and the rest of a writes key */
#define ROW_KEY "0123456789abcdef0123456789abcdefrow"

static int put_row(ent_txn *txn, void *data) {
    (void)data;
    return ent_txn_put(txn, ENT_TBL_WRITES, ROW_KEY, sizeof(ROW_KEY) - 1, "v",
                       1, 0);
}

static int get_row(ent_txn *txn, void *data) {
    const void *v;
    size_t vl;
    int rc = ent_txn_get(txn, ENT_TBL_WRITES, ROW_KEY, sizeof(ROW_KEY) - 1, &v,
                         &vl);
    if (rc == ENT_OK && (vl != 1 || memcmp(v, "v", 1) != 0))
        rc = ENT_ECORRUPT;
    (void)data;
    return rc;
}

static void schema3_migrates(void **state) {
    (void)state;
    char dir[64];
    ent_store *s = NULL;
    ent_store_opts o = {.schema = 3};
    assert_int_equal(tmp_dir(dir, sizeof(dir), "prune"), 0);
    assert_int_equal(ent_store_open_ex(&s, dir, ENT_STORE_CREATE, NULL, &o),
                     ENT_OK);
    assert_int_equal(ent_store_write(s, put_row, NULL), ENT_OK);
    ent_store_close(s);
    s = NULL;
    assert_int_equal(ent_store_open(&s, dir, ENT_STORE_RDONLY, NULL),
                     ENT_EVERSION);
    assert_int_equal(ent_store_open(&s, dir, 0, NULL), ENT_OK);
    uint32_t v = 0;
    assert_int_equal(ent_store_schema(s, &v), ENT_OK);
    assert_int_equal(v, ENT_STORE_SCHEMA); /* and on, 4 -> 5 -> 6 */
    assert_int_equal(ent_store_read(s, get_row, NULL), ENT_OK);
    ent_store_close(s);
    rm_tree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prune_fill_erase),
        cmocka_unit_test(genesis_rows),
        cmocka_unit_test(erase_keeps_other_fields),
        cmocka_unit_test(schema3_migrates),
        cmocka_unit_test(chain_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
