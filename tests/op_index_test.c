/*
 * op_index_test.c - the op index (storage/op_index.h): ops are found by id
 * through "op_index" and "op_order", two ids with one 8-byte prefix are
 * both found (the second under its whole id, also when the first is in
 * the other level) and an absent id sharing that prefix is not, the
 * recent level moves into the main one (both hold rows, one per op), a second
 * put of an id rewrites its row, rows are appended in arrival order; and the
 * schema 2 -> 3 migration moves every "op_ids" row of a schema-2 store into the
 * index (each op still found by id, the old table empty), also on the
 * checked-in schema-1 fixture (migrated 1 -> 2 -> 3: every op of its "ops"
 * table is indexed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "storage/op_index.h"
#include "storage/store.h"
#include "store_fixture.h"

#define N_OPS 10000 /* the recent level moves into the main one twice */

struct fx {
    char dir[256];
};

static int setup(void **state) {
    struct fx *f = calloc(1, sizeof(*f));
    assert_int_equal(tmp_dir(f->dir, sizeof(f->dir), "opidx"), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fx *f = *state;
    rm_tree(f->dir);
    free(f);
    return 0;
}

/* Op id number i: every 10th shares its first 8 bytes with the one before
 * (a prefix clash); the rest differ in their first bytes. */
static void make_id(uint8_t id[32], unsigned i) {
    uint64_t base = i % 10 == 9 ? i - 1 : i;
    uint64_t x = (base + 1) * 0x9e3779b97f4a7c15u; /* distinct for each */
    memset(id, 0, 32);
    for (int b = 0; b < 8; b++)
        id[b] = (uint8_t)(x >> (b * 8));
    id[8] = (uint8_t)(i >> 8);
    id[9] = (uint8_t)i;
    id[31] = 0x5a;
}

/* The "ops" key of op i (72 bytes; 104 for every 7th, as a fork's). */
static size_t make_okey(uint8_t k[104], unsigned i) {
    memset(k, (int)(i & 0xff), 104);
    k[0] = (uint8_t)(i >> 8);
    return i % 7 == 6 ? 104 : 72;
}

static int put_all(ent_txn *txn, void *data) {
    bool legacy = *(bool *)data;
    int rc = ENT_OK;
    for (unsigned i = 0; i < N_OPS && rc == ENT_OK; i++) {
        uint8_t id[32], k[104];
        size_t kl = make_okey(k, i);
        make_id(id, i);
        rc = legacy ? ent_txn_put(txn, ENT_TBL_OP_IDS, id, 32, k, kl, 0)
                    : ent_op_index_put(txn, id, k, kl);
    }
    return rc;
}

static int check_all(ent_txn *txn, void *data) {
    (void)data;
    for (unsigned i = 0; i < N_OPS; i++) {
        uint8_t id[32], k[104];
        size_t kl = make_okey(k, i), gl = 0;
        const void *g = NULL;
        make_id(id, i);
        assert_int_equal(ent_op_index_get(txn, id, &g, &gl), ENT_OK);
        assert_int_equal(gl, kl);
        assert_memory_equal(g, k, kl);
    }
    /* absent: a new prefix, and the prefix of op 0 with another tail */
    uint8_t id[32];
    make_id(id, 0);
    id[20] ^= 1;
    assert_int_equal(ent_op_index_get(txn, id, NULL, NULL), ENT_ENOENT);
    memset(id, 0xee, 32);
    assert_int_equal(ent_op_index_get(txn, id, NULL, NULL), ENT_ENOENT);
    uint64_t n = 0;
    assert_int_equal(ent_op_index_count(txn, &n), ENT_OK);
    assert_int_equal(n, N_OPS);
    /* both levels in use, one row per op in all */
    uint64_t nr = 0;
    assert_int_equal(ent_txn_count(txn, ENT_TBL_OP_INDEX, &n), ENT_OK);
    assert_int_equal(ent_txn_count(txn, ENT_TBL_OP_RECENT, &nr), ENT_OK);
    assert_true(n >= ENT_OP_INDEX_RECENT_MIN && nr > 0);
    assert_int_equal(n + nr, N_OPS);
    assert_int_equal(ent_txn_count(txn, ENT_TBL_OP_IDS, &n), ENT_OK);
    assert_int_equal(n, 0);
    return ENT_OK;
}

struct order_scan {
    uint64_t next;
    unsigned whole; /* index rows under a whole id */
};

static int order_cb(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    struct order_scan *o = data;
    const uint8_t *k = key;
    uint64_t a = 0;
    assert_int_equal(klen, 8);
    assert_true(vlen == 32 + 72 || vlen == 32 + 104);
    for (int i = 0; i < 8; i++)
        a = a << 8 | k[i];
    assert_int_equal(a, o->next);
    o->next++;
    (void)val;
    return 0;
}

static int index_cb(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    struct order_scan *o = data;
    (void)key;
    (void)val;
    assert_int_equal(vlen, 8);
    assert_true(klen == 8 || klen == 32);
    o->whole += klen == 32;
    return 0;
}

/* An op whose prefix is op 0's, which is in the main level by now. */
static int put_clash(ent_txn *txn, void *data) {
    uint8_t id[32], k[72], k0[104];
    const void *g;
    size_t gl;
    (void)data;
    make_id(id, 0);
    id[20] ^= 1;
    memset(k, 0xcc, sizeof(k));
    assert_int_equal(ent_op_index_put(txn, id, k, sizeof(k)), ENT_OK);
    assert_int_equal(ent_op_index_get(txn, id, &g, &gl), ENT_OK);
    assert_int_equal(gl, sizeof(k));
    assert_memory_equal(g, k, sizeof(k));
    assert_int_equal(ent_txn_get(txn, ENT_TBL_OP_RECENT, id, 32, &g, &gl),
                     ENT_OK);
    make_id(id, 0);
    size_t kl = make_okey(k0, 0);
    assert_int_equal(ent_op_index_get(txn, id, &g, &gl), ENT_OK);
    assert_int_equal(gl, kl);
    assert_memory_equal(g, k0, kl);
    assert_int_equal(
        ent_txn_get(txn, ENT_TBL_OP_INDEX, id, ENT_OP_INDEX_PREFIX, &g, &gl),
        ENT_OK);
    return ENT_OK;
}

static void index_finds_every_op(void **state) {
    struct fx *f = *state;
    ent_store *s = NULL;
    bool legacy = false;
    assert_int_equal(ent_store_open(&s, f->dir, ENT_STORE_CREATE, NULL),
                     ENT_OK);
    assert_int_equal(ent_store_write(s, put_all, &legacy), ENT_OK);
    assert_int_equal(ent_store_read(s, check_all, NULL), ENT_OK);
    /* arrival numbers from 1, in put order; 30 clashes under whole ids */
    struct order_scan o = {.next = 1};
    assert_int_equal(tstore_scan(s, ENT_TBL_OP_ORDER, NULL, 0, order_cb, &o),
                     ENT_OK);
    assert_int_equal(o.next, N_OPS + 1);
    assert_int_equal(tstore_scan(s, ENT_TBL_OP_INDEX, NULL, 0, index_cb, &o),
                     ENT_OK);
    assert_int_equal(tstore_scan(s, ENT_TBL_OP_RECENT, NULL, 0, index_cb, &o),
                     ENT_OK);
    assert_int_equal(o.whole, N_OPS / 10);
    /* a second put of an id (clashing or not) rewrites its key */
    assert_int_equal(ent_store_write(s, put_all, &legacy), ENT_OK);
    assert_int_equal(ent_store_read(s, check_all, NULL), ENT_OK);
    assert_int_equal(ent_store_write(s, put_clash, NULL), ENT_OK);
    ent_store_close(s);
}

static void schema2_store_migrates(void **state) {
    struct fx *f = *state;
    ent_store *s = NULL;
    bool legacy = true;
    ent_store_opts o2 = {.schema = 2};
    assert_int_equal(ent_store_open_ex(&s, f->dir, ENT_STORE_CREATE, NULL, &o2),
                     ENT_OK);
    assert_int_equal(ent_store_write(s, put_all, &legacy), ENT_OK);
    ent_store_close(s);
    s = NULL;
    /* a read-only open cannot migrate */
    assert_int_equal(ent_store_open(&s, f->dir, ENT_STORE_RDONLY, NULL),
                     ENT_EVERSION);
    assert_int_equal(ent_store_open(&s, f->dir, 0, NULL), ENT_OK);
    uint32_t v = 0;
    assert_int_equal(ent_store_schema(s, &v), ENT_OK);
    assert_int_equal(v, ENT_STORE_SCHEMA); /* and on, 3 -> 4 */
    assert_int_equal(ent_store_read(s, check_all, NULL), ENT_OK);
    ent_store_close(s);
}

struct fix_scan {
    ent_txn *txn;
    unsigned n;
};

/* Each "op_order" row's id leads back to its row's "ops" key, which names
 * a stored op. */
static int fix_cb(void *data, const void *key, size_t klen, const void *val,
                  size_t vlen) {
    struct fix_scan *c = data;
    const void *g, *op;
    size_t gl, ol;
    (void)key;
    (void)klen;
    assert_int_equal(ent_op_index_get(c->txn, val, &g, &gl), ENT_OK);
    assert_int_equal(gl, vlen - 32);
    assert_memory_equal(g, (const uint8_t *)val + 32, gl);
    assert_int_equal(ent_txn_get(c->txn, ENT_TBL_OPS, g, gl, &op, &ol), ENT_OK);
    c->n++;
    return 0;
}

static int fix_check(ent_txn *txn, void *data) {
    struct fix_scan *c = data;
    uint64_t nops = 0, nold = 0;
    c->txn = txn;
    assert_int_equal(ent_txn_count(txn, ENT_TBL_OPS, &nops), ENT_OK);
    assert_int_equal(ent_txn_count(txn, ENT_TBL_OP_IDS, &nold), ENT_OK);
    assert_int_equal(nold, 0);
    assert_true(nops >= 2);
    int rc = ent_txn_scan(txn, ENT_TBL_OP_ORDER, NULL, 0, fix_cb, c);
    assert_int_equal(c->n, nops);
    return rc;
}

static void fixture_ops_indexed(void **state) {
    struct fx *f = *state;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "cp tests/fixtures/schema1/data.mdb %s/",
             f->dir);
    assert_int_equal(system(cmd), 0);
    ent_store *s = NULL;
    assert_int_equal(ent_store_open(&s, f->dir, 0, NULL), ENT_OK);
    struct fix_scan c = {0};
    assert_int_equal(ent_store_read(s, fix_check, &c), ENT_OK);
    ent_store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(index_finds_every_op, setup, teardown),
        cmocka_unit_test_setup_teardown(schema2_store_migrates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(fixture_ops_indexed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
