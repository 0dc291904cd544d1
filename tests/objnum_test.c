/*
 * objnum_test.c - object numbers (spec/storage.md "Object numbers"): the
 * numbered tables store an object's rows under a local number given in
 * order of first write, and still read as if keyed by object id: gets,
 * prefix scans of one object and of many, scans from a key, reverse scans
 * and iterators give the keys the caller wrote, in object-id order (a
 * scan in stored order, in order of the numbers); an
 * object whose last row leaves loses its number; an aborted write takes
 * the numbers it gave with it; short and long keys are refused; a schema-4
 * store migrates, and one with a key that cannot be numbered does not.
 * The table "obj_local" (schema 6) is numbered too: an object keeps its
 * number while it has a row there, and a schema-5 store's audit directory
 * rows and CRM reverse rows move into it (a row of another length: the
 * store stays at schema 5, unchanged).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "storage/store.h"
#include "store_fixture.h"

/* Three objects written in the order C, A, B: numbers 1, 2, 3. */
static uint8_t obj_a[32], obj_b[32], obj_c[32];

static void ids(void) {
    memset(obj_a, 0x11, 32);
    memset(obj_b, 0x11, 32);
    obj_b[31] = 0x12; /* shares its first byte with A */
    memset(obj_c, 0x80, 32);
}

static size_t key_of(uint8_t *k, const uint8_t *obj, const char *rest) {
    memcpy(k, obj, 32);
    memcpy(k + 32, rest, strlen(rest));
    return 32 + strlen(rest);
}

/* data: non-NULL: the writes rows are put with ENT_PUT_APPEND, which a
 * numbered table takes though the keys come out of order */
static int put3(ent_txn *txn, void *data) {
    static const char *const rest[] = {"x", "a", "m"};
    const uint8_t *objs[] = {obj_c, obj_a, obj_b};
    uint8_t k[64];
    int rc = ENT_OK;
    for (int o = 0; o < 3 && rc == ENT_OK; o++)
        for (int r = 0; r < 3 && rc == ENT_OK; r++) {
            size_t kl = key_of(k, objs[o], rest[r]);
            rc = ent_txn_put(txn, ENT_TBL_FIELDS, k, kl, rest[r], 1, 0);
            if (rc == ENT_OK)
                rc = ent_txn_put(txn, ENT_TBL_WRITES, k, kl, "w", 1,
                                 data != NULL ? ENT_PUT_APPEND : 0);
        }
    /* an object with writes rows only */
    uint8_t d[32];
    memset(d, 0x40, 32);
    size_t kl = key_of(k, d, "only");
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_WRITES, k, kl, "w", 1, 0);
    return rc;
}

struct seen {
    char s[512];
    size_t n;
    unsigned limit; /* stop after this many rows; 0: never */
};

/* Appends "o<first id byte><last id byte>:<rest>," for each key. */
static int see(void *data, const void *key, size_t klen, const void *val,
               size_t vlen) {
    struct seen *s = data;
    const uint8_t *k = key;
    (void)val;
    (void)vlen;
    if (klen < 32)
        return ENT_ECORRUPT;
    s->n += (size_t)snprintf(s->s + s->n, sizeof(s->s) - s->n, "%02x%02x:%.*s,",
                             k[0], k[31], (int)(klen - 32),
                             (const char *)k + 32);
    if (s->limit != 0 && --s->limit == 0)
        return 1;
    return 0;
}

struct q {
    int kind; /* 0 scan, 1 from, 2 reverse, 3 iter, 4 stored order */
    ent_table t;
    const void *p;
    size_t plen;
    struct seen out;
    int rc;
};

static int run_q(ent_txn *txn, void *data) {
    struct q *q = data;
    if (q->kind == 0)
        q->rc = ent_txn_scan(txn, q->t, q->p, q->plen, see, &q->out);
    else if (q->kind == 1)
        q->rc = ent_txn_scan_from(txn, q->t, q->p, q->plen, see, &q->out);
    else if (q->kind == 2)
        q->rc = ent_txn_scan_reverse(txn, q->t, q->p, q->plen, see, &q->out);
    else if (q->kind == 4)
        q->rc = ent_txn_scan_stored(txn, q->t, see, &q->out);
    else {
        ent_iter *it = NULL;
        const void *k, *v;
        size_t kl, vl;
        q->rc = ent_txn_iter(txn, q->t, &it);
        while (q->rc == ENT_OK &&
               (q->rc = ent_iter_next(it, &k, &kl, &v, &vl)) == ENT_OK)
            see(&q->out, k, kl, v, vl);
        if (q->rc == ENT_ENOENT)
            q->rc = ENT_OK;
        ent_iter_free(it);
    }
    return ENT_OK;
}

static const char *query(ent_store *s, int kind, ent_table t, const void *p,
                         size_t plen, unsigned limit, struct q *q) {
    memset(q, 0, sizeof(*q));
    q->kind = kind;
    q->t = t;
    q->p = p;
    q->plen = plen;
    q->out.limit = limit;
    assert_int_equal(ent_store_read(s, run_q, q), ENT_OK);
    assert_int_equal(q->rc, ENT_OK);
    return q->out.s;
}

struct nums {
    char s[256];
    size_t n;
};

/* "<last id byte>=<number>," for each row of obj_nums (id order). */
static int see_num(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    struct nums *n = data;
    const uint8_t *v = val;
    if (klen != 32 || vlen != 8)
        return ENT_ECORRUPT;
    n->n += (size_t)snprintf(n->s + n->n, sizeof(n->s) - n->n, "%02x=%u,",
                             ((const uint8_t *)key)[31], (unsigned)v[7]);
    return 0;
}

static int nums_fn(ent_txn *txn, void *data) {
    return ent_txn_scan(txn, ENT_TBL_OBJ_NUMS, NULL, 0, see_num, data);
}

static const char *nums(ent_store *s, struct nums *n) {
    memset(n, 0, sizeof(*n));
    assert_int_equal(ent_store_read(s, nums_fn, n), ENT_OK);
    return n->s;
}

/* A new store in dir (128 bytes) holding put3's rows (data: as put3's). */
static ent_store *store3(char *dir, void *data) {
    ent_store *s = NULL;
    ids();
    assert_int_equal(tmp_store(&s, dir, 128, "objnum", NULL), 0);
    assert_int_equal(ent_store_write(s, put3, data), ENT_OK);
    return s;
}

static void order_and_scans(void **state) {
    (void)state;
    char dir[128];
    ent_store *s = store3(dir, "append");
    struct q q;
    struct nums n;
    /* numbers in order of first write: C 1, A 2, B 3, D 4; obj_nums in id
     * order (the last id byte is shown) */
    assert_string_equal(nums(s, &n), "11=2,12=3,40=4,80=1,");
    /* one object's rows, in key order */
    assert_string_equal(query(s, 0, ENT_TBL_FIELDS, obj_b, 32, 0, &q),
                        "1112:a,1112:m,1112:x,");
    /* every row, in object-id order (not number order) */
    assert_string_equal(query(s, 0, ENT_TBL_FIELDS, NULL, 0, 0, &q),
                        "1111:a,1111:m,1111:x,1112:a,1112:m,1112:x,"
                        "8080:a,8080:m,8080:x,");
    assert_string_equal(query(s, 0, ENT_TBL_WRITES, NULL, 0, 0, &q),
                        "1111:a,1111:m,1111:x,1112:a,1112:m,1112:x,"
                        "4040:only,8080:a,8080:m,8080:x,");
    /* a prefix shorter than an id: the objects it selects */
    assert_string_equal(query(s, 0, ENT_TBL_FIELDS, "\x11", 1, 0, &q),
                        "1111:a,1111:m,1111:x,1112:a,1112:m,1112:x,");
    assert_string_equal(query(s, 0, ENT_TBL_FIELDS, "\x12", 1, 0, &q), "");
    /* a prefix longer than an id */
    uint8_t k[64];
    size_t kl = key_of(k, obj_a, "m");
    assert_string_equal(query(s, 0, ENT_TBL_FIELDS, k, kl, 0, &q), "1111:m,");
    /* from a key in the middle of B, across objects to the end */
    kl = key_of(k, obj_b, "b");
    assert_string_equal(query(s, 1, ENT_TBL_FIELDS, k, kl, 0, &q),
                        "1112:m,1112:x,8080:a,8080:m,8080:x,");
    /* from an id that is not there, and from a short key */
    uint8_t mid[32];
    memset(mid, 0x50, 32);
    assert_string_equal(query(s, 1, ENT_TBL_WRITES, mid, 32, 0, &q),
                        "8080:a,8080:m,8080:x,");
    assert_string_equal(query(s, 1, ENT_TBL_WRITES, "\x40", 1, 0, &q),
                        "4040:only,8080:a,8080:m,8080:x,");
    /* the function stops a walk across objects */
    assert_string_equal(query(s, 0, ENT_TBL_FIELDS, NULL, 0, 4, &q),
                        "1111:a,1111:m,1111:x,1112:a,");
    /* reverse: all, one object, a short prefix */
    assert_string_equal(query(s, 2, ENT_TBL_FIELDS, NULL, 0, 0, &q),
                        "8080:x,8080:m,8080:a,1112:x,1112:m,1112:a,"
                        "1111:x,1111:m,1111:a,");
    assert_string_equal(query(s, 2, ENT_TBL_FIELDS, obj_a, 32, 1, &q),
                        "1111:x,");
    assert_string_equal(query(s, 2, ENT_TBL_FIELDS, "\x11", 1, 2, &q),
                        "1112:x,1112:m,");
    /* an iterator: id order, the object without fields rows passed over */
    assert_string_equal(query(s, 3, ENT_TBL_FIELDS, NULL, 0, 0, &q),
                        "1111:a,1111:m,1111:x,1112:a,1112:m,1112:x,"
                        "8080:a,8080:m,8080:x,");
    /* in stored order: the objects by number (C 1, A 2, B 3, D 4), each
     * one's rows in key order; a function stops it; a table that is not
     * numbered in key order */
    assert_string_equal(query(s, 4, ENT_TBL_WRITES, NULL, 0, 0, &q),
                        "8080:a,8080:m,8080:x,1111:a,1111:m,1111:x,"
                        "1112:a,1112:m,1112:x,4040:only,");
    assert_string_equal(query(s, 4, ENT_TBL_FIELDS, NULL, 0, 4, &q),
                        "8080:a,8080:m,8080:x,1111:a,");
    assert_string_equal(query(s, 4, ENT_TBL_OBJ_NUMS, NULL, 0, 0, &q),
                        "1111:,1112:,4040:,8080:,");
    /* an unknown object has nothing */
    assert_string_equal(query(s, 0, ENT_TBL_FIELDS, mid, 32, 0, &q), "");
    ent_store_close(s);
    rm_tree(dir);
}

static int get_a(ent_txn *txn, void *data) {
    uint8_t k[64];
    size_t kl = key_of(k, obj_a, "m");
    const void *v;
    size_t vl;
    int rc = ent_txn_get(txn, ENT_TBL_FIELDS, k, kl, &v, &vl);
    if (rc == ENT_OK && (vl != 1 || memcmp(v, "m", 1) != 0))
        rc = ENT_ECORRUPT;
    *(int *)data = rc;
    return ENT_OK;
}

/* Deletes every row of A, checking obj_nums after each table. */
static int del_a(ent_txn *txn, void *data) {
    static const char *const rest[] = {"x", "a", "m"};
    uint8_t k[64];
    int rc = ENT_OK;
    (void)data;
    for (int r = 0; r < 3 && rc == ENT_OK; r++) {
        size_t kl = key_of(k, obj_a, rest[r]);
        rc = ent_txn_del(txn, ENT_TBL_FIELDS, k, kl);
    }
    /* A keeps its number while it has writes rows */
    const void *v;
    size_t vl;
    if (rc == ENT_OK &&
        ent_txn_get(txn, ENT_TBL_OBJ_NUMS, obj_a, 32, &v, &vl) != ENT_OK)
        return ENT_ECORRUPT;
    for (int r = 0; r < 3 && rc == ENT_OK; r++) {
        size_t kl = key_of(k, obj_a, rest[r]);
        rc = ent_txn_del(txn, ENT_TBL_WRITES, k, kl);
    }
    if (rc == ENT_OK &&
        ent_txn_get(txn, ENT_TBL_OBJ_NUMS, obj_a, 32, &v, &vl) != ENT_ENOENT)
        return ENT_ECORRUPT;
    /* and a delete of a row of an object without a number */
    size_t kl = key_of(k, obj_a, "m");
    if (rc == ENT_OK && ent_txn_del(txn, ENT_TBL_WRITES, k, kl) != ENT_ENOENT)
        return ENT_ECORRUPT;
    return rc;
}

/* A write that gives E a number, then fails. */
static int put_e_fail(ent_txn *txn, void *data) {
    uint8_t e[32], k[64];
    (void)data;
    memset(e, 0x60, 32);
    size_t kl = key_of(k, e, "z");
    int rc = ent_txn_put(txn, ENT_TBL_HEADS, k, kl, "h", 1, 0);
    return rc == ENT_OK ? ENT_EINVAL : rc;
}

static int put_e(ent_txn *txn, void *data) {
    uint8_t e[32], k[64];
    (void)data;
    memset(e, 0x60, 32);
    size_t kl = key_of(k, e, "z");
    return ent_txn_put(txn, ENT_TBL_HEADS, k, kl, "h", 1, 0);
}

struct keys {
    size_t max;
    int short_put, short_get, long_put, longest_put;
};

static int bad_keys(ent_txn *txn, void *data) {
    struct keys *c = data;
    uint8_t big[1024];
    const void *v;
    size_t vl;
    memset(big, 0x33, sizeof(big));
    c->short_put = ent_txn_put(txn, ENT_TBL_OPS, "short", 5, "v", 1, 0);
    c->short_get = ent_txn_get(txn, ENT_TBL_OPS, "short", 5, &v, &vl);
    /* 8 bytes of the longest key go to the number */
    c->longest_put = ent_txn_put(txn, ENT_TBL_OPS, big, c->max - 8, "v", 1, 0);
    c->long_put = ent_txn_put(txn, ENT_TBL_OPS, big, c->max - 7, "v", 1, 0);
    return ENT_OK;
}

static void numbers_come_and_go(void **state) {
    (void)state;
    char dir[128];
    ent_store *s = store3(dir, "append");
    struct nums n;
    int got = -1;
    assert_int_equal(ent_store_read(s, get_a, &got), ENT_OK);
    assert_int_equal(got, ENT_OK);
    /* an aborted write takes E's number with it; E then gets 5, the next
     * number after D's 4 */
    assert_int_equal(ent_store_write(s, put_e_fail, NULL), ENT_EINVAL);
    assert_string_equal(nums(s, &n), "11=2,12=3,40=4,80=1,");
    assert_int_equal(ent_store_write(s, put_e, NULL), ENT_OK);
    assert_string_equal(nums(s, &n), "11=2,12=3,40=4,60=5,80=1,");
    /* A's last row leaves: so does its number, and its rows are gone */
    assert_int_equal(ent_store_write(s, del_a, NULL), ENT_OK);
    assert_string_equal(nums(s, &n), "12=3,40=4,60=5,80=1,");
    assert_int_equal(ent_store_read(s, get_a, &got), ENT_OK);
    assert_int_equal(got, ENT_ENOENT);
    /* keys a numbered table cannot hold */
    struct keys c = {.max = ent_store_max_key(s)};
    assert_int_equal(ent_store_write(s, bad_keys, &c), ENT_OK);
    assert_int_equal(c.short_put, ENT_EINVAL);
    assert_int_equal(c.short_get, ENT_EINVAL);
    assert_int_equal(c.longest_put, ENT_OK);
    assert_int_equal(c.long_put, ENT_ETOOBIG);
    ent_store_close(s);
    rm_tree(dir);
}

static int put_short(ent_txn *txn, void *data) {
    (void)data;
    return ent_txn_put(txn, ENT_TBL_KEYS, "k", 1, "v", 1, 0);
}

static void schema4_migrates(void **state) {
    (void)state;
    char dir[128];
    ent_store *s = NULL;
    struct q q;
    struct nums n;
    uint32_t v = 0;
    ent_store_opts o4 = {.schema = 4};
    ids();
    assert_int_equal(tmp_dir(dir, sizeof(dir), "objnum"), 0);
    assert_int_equal(ent_store_open_ex(&s, dir, ENT_STORE_CREATE, NULL, &o4),
                     ENT_OK);
    assert_int_equal(ent_store_write(s, put3, NULL), ENT_OK);
    ent_store_close(s);
    s = NULL;
    assert_int_equal(ent_store_open(&s, dir, 0, NULL), ENT_OK);
    assert_int_equal(ent_store_schema(s, &v), ENT_OK);
    assert_int_equal(v, ENT_STORE_SCHEMA);
    /* numbered table by table, "ops" then "fields" (C, A, B), "writes"
     * (D): every row read back in id order */
    assert_string_equal(nums(s, &n), "11=1,12=2,40=4,80=3,");
    assert_string_equal(query(s, 0, ENT_TBL_WRITES, NULL, 0, 0, &q),
                        "1111:a,1111:m,1111:x,1112:a,1112:m,1112:x,"
                        "4040:only,8080:a,8080:m,8080:x,");
    int got = -1;
    assert_int_equal(ent_store_read(s, get_a, &got), ENT_OK);
    assert_int_equal(got, ENT_OK);
    ent_store_close(s);
    s = NULL;
    rm_tree(dir);
    /* a row no object id starts: the store stays at schema 4, unchanged */
    assert_int_equal(tmp_dir(dir, sizeof(dir), "objnum"), 0);
    assert_int_equal(ent_store_open_ex(&s, dir, ENT_STORE_CREATE, NULL, &o4),
                     ENT_OK);
    assert_int_equal(ent_store_write(s, put3, NULL), ENT_OK);
    assert_int_equal(ent_store_write(s, put_short, NULL), ENT_OK);
    ent_store_close(s);
    s = NULL;
    assert_int_equal(ent_store_open(&s, dir, 0, NULL), ENT_ECORRUPT);
    assert_int_equal(ent_store_open_ex(&s, dir, 0, NULL, &o4), ENT_OK);
    assert_int_equal(ent_store_schema(s, &v), ENT_OK);
    assert_int_equal(v, 4);
    assert_string_equal(nums(s, &n), "");
    ent_store_close(s);
    rm_tree(dir);
}

/* ---- obj_local (schema 6) ---- */

static uint8_t obj_e[32], obj_f[32];

/* Local rows: F and E, new to the store, in that order; A, which has
 * fields and writes rows already. */
static int put_local(ent_txn *txn, void *data) {
    uint8_t k[64];
    int rc;
    (void)data;
    memset(obj_e, 0x60, 32);
    memset(obj_f, 0x90, 32);
    size_t kl = key_of(k, obj_f, "d");
    rc = ent_txn_put(txn, ENT_TBL_OBJ_LOCAL, k, kl, "f", 1, 0);
    kl = key_of(k, obj_e, "d");
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_OBJ_LOCAL, k, kl, "e", 1, 0);
    kl = key_of(k, obj_a, "d");
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_OBJ_LOCAL, k, kl, "a", 1, 0);
    kl = key_of(k, obj_a, "xsf");
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_OBJ_LOCAL, k, kl, "006A", 4, 0);
    return rc;
}

/* Deletes A's rows of table t (data), or its local rows when data is
 * NULL. */
static int del_a_rows(ent_txn *txn, void *data) {
    static const char *const rest[] = {"x", "a", "m"};
    static const char *const local[] = {"d", "xsf"};
    const ent_table *t = data;
    uint8_t k[64];
    int rc = ENT_OK;
    for (int r = 0; t != NULL && r < 3 && rc == ENT_OK; r++)
        rc = ent_txn_del(txn, *t, k, key_of(k, obj_a, rest[r]));
    for (int r = 0; t == NULL && r < 2 && rc == ENT_OK; r++)
        rc = ent_txn_del(txn, ENT_TBL_OBJ_LOCAL, k, key_of(k, obj_a, local[r]));
    return rc;
}

/* The value of key k of table t as text (in buf; "" when there is none),
 * the get's answer in *rc. */
static const char *get_val(ent_store *s, ent_table t, const void *k,
                           size_t klen, char buf[64], int *rc) {
    memset(buf, 0, 64);
    *rc = tstore_get(s, t, k, klen, buf, 63);
    return buf;
}

static void local_rows(void **state) {
    (void)state;
    char dir[128], buf[64];
    ent_store *s = store3(dir, NULL);
    struct q q;
    struct nums n;
    uint8_t k[64];
    int rc;
    ent_table fields = ENT_TBL_FIELDS, writes = ENT_TBL_WRITES;
    /* new objects get the next numbers in order of their first local row
     * (F 5, E 6: so their rows go to the end); A keeps its 2 */
    assert_int_equal(ent_store_write(s, put_local, NULL), ENT_OK);
    assert_string_equal(nums(s, &n), "11=2,12=3,40=4,60=6,80=1,90=5,");
    assert_string_equal(query(s, 0, ENT_TBL_OBJ_LOCAL, NULL, 0, 0, &q),
                        "1111:d,1111:xsf,6060:d,9090:d,");
    /* one object's rows of one tag, as ent_crm_external_ids reads them */
    size_t kl = key_of(k, obj_a, "x");
    assert_string_equal(query(s, 0, ENT_TBL_OBJ_LOCAL, k, kl, 0, &q),
                        "1111:xsf,");
    /* A's other rows go (as an erasure takes an object's fields and
     * writes): its local rows stay, and so does its number */
    assert_int_equal(ent_store_write(s, del_a_rows, &fields), ENT_OK);
    assert_int_equal(ent_store_write(s, del_a_rows, &writes), ENT_OK);
    assert_string_equal(nums(s, &n), "11=2,12=3,40=4,60=6,80=1,90=5,");
    kl = key_of(k, obj_a, "d");
    assert_string_equal(get_val(s, ENT_TBL_OBJ_LOCAL, k, kl, buf, &rc), "a");
    kl = key_of(k, obj_a, "xsf");
    assert_string_equal(get_val(s, ENT_TBL_OBJ_LOCAL, k, kl, buf, &rc), "006A");
    /* its last local row leaves: so does its number */
    assert_int_equal(ent_store_write(s, del_a_rows, NULL), ENT_OK);
    assert_string_equal(nums(s, &n), "12=3,40=4,60=6,80=1,90=5,");
    assert_string_equal(get_val(s, ENT_TBL_OBJ_LOCAL, k, kl, buf, &rc), "");
    assert_int_equal(rc, ENT_ENOENT);
    ent_store_close(s);
    rm_tree(dir);
}

/* The rows of schema 5 that the step 5 -> 6 moves: "log_meta" 'o' || obj
 * -> directory row (16) and "crm_ids" 0x01 || obj || source -> external
 * id, with rows of both tables that stay; data: non-NULL, one more row
 * (struct bad). */
struct bad {
    ent_table t;
    uint8_t k[80];
    size_t klen, vlen;
};

#define MANY 1100 /* more than one batch of the step */

/* a forward row of "crm_ids" (source, type, external id), which stays */
static const char fwd[] = "salesforce\0deal\0"
                          "006A";

static int put_v5_rows(ent_txn *txn, void *data) {
    const struct bad *b = data;
    uint8_t k[80];
    int rc;
    k[0] = 'o';
    memcpy(k + 1, obj_a, 32);
    rc = ent_txn_put(txn, ENT_TBL_LOG_META, k, 33, "A-dir-row-16-byt", 16, 0);
    memcpy(k + 1, obj_e, 32);
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_LOG_META, k, 33, "E-dir-row-16-byt", 16,
                         0);
    /* objects 0x70 || i: only their directory rows */
    for (unsigned i = 0; rc == ENT_OK && i < MANY; i++) {
        memset(k + 1, 0x70, 32);
        k[2] = (uint8_t)(i >> 8);
        k[3] = (uint8_t)i;
        rc = ent_txn_put(txn, ENT_TBL_LOG_META, k, 33, "M-dir-row-16-byt", 16,
                         0);
    }
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_LOG_META, "frontier", 8, "f", 1, 0);
    k[0] = 0x01;
    memcpy(k + 1, obj_a, 32);
    memcpy(k + 33, "salesforce", 10);
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_CRM_IDS, k, 43, "006A", 4, 0);
    memcpy(k + 1, obj_e, 32);
    memcpy(k + 33, "hubspot", 7);
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_CRM_IDS, k, 40, "H9", 2, 0);
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_CRM_IDS, fwd, sizeof(fwd) - 1, obj_a, 32,
                         0);
    if (rc == ENT_OK && b != NULL)
        rc = ent_txn_put(txn, b->t, b->k, b->klen, "0123456789abcdef", b->vlen,
                         0);
    return rc;
}

/* The rows of "log_meta", "crm_ids" and "obj_local". */
struct counts5 {
    uint64_t meta, crm, local;
};

static int count5_fn(ent_txn *txn, void *data) {
    struct counts5 *c = data;
    uint64_t *n[] = {&c->meta, &c->crm, &c->local};
    const ent_table t[] = {ENT_TBL_LOG_META, ENT_TBL_CRM_IDS,
                           ENT_TBL_OBJ_LOCAL};
    int rc = ENT_OK;
    for (int i = 0; rc == ENT_OK && i < 3; i++)
        rc = ent_txn_count(txn, t[i], n[i]);
    return rc;
}

static struct counts5 count5(ent_store *s) {
    struct counts5 c;
    assert_int_equal(ent_store_read(s, count5_fn, &c), ENT_OK);
    return c;
}

/* The number of obj (0: none). */
static uint64_t num_of(ent_store *s, const uint8_t *obj) {
    uint8_t b[8];
    uint64_t n = 0;
    if (tstore_get(s, ENT_TBL_OBJ_NUMS, obj, 32, b, 8) != ENT_OK)
        return 0;
    for (int i = 0; i < 8; i++)
        n = n << 8 | b[i];
    return n;
}

/* A schema-5 store of put3's rows and put_v5_rows's (b: one more). */
static void make_v5(char *dir, size_t size, const struct bad *b) {
    ent_store *s = NULL;
    ent_store_opts o5 = {.schema = 5};
    assert_int_equal(tmp_dir(dir, size, "objnum"), 0);
    assert_int_equal(ent_store_open_ex(&s, dir, ENT_STORE_CREATE, NULL, &o5),
                     ENT_OK);
    assert_int_equal(ent_store_write(s, put3, NULL), ENT_OK);
    assert_int_equal(ent_store_write(s, put_v5_rows, (void *)b), ENT_OK);
    ent_store_close(s);
}

static void schema5_migrates(void **state) {
    (void)state;
    char dir[128];
    ent_store *s = NULL;
    struct q q;
    char buf[64];
    uint8_t k[64], id[32];
    int rc;
    uint32_t v = 0;
    ids();
    memset(obj_e, 0x60, 32);
    make_v5(dir, sizeof(dir), NULL);
    assert_int_equal(ent_store_open(&s, dir, 0, NULL), ENT_OK);
    assert_int_equal(ent_store_schema(s, &v), ENT_OK);
    assert_int_equal(v, ENT_STORE_SCHEMA);
    /* the moved rows are gone from their tables; the others stay */
    struct counts5 c = count5(s);
    assert_int_equal(c.meta, 1);
    assert_int_equal(c.crm, 1);
    assert_int_equal(c.local, MANY + 4);
    /* A keeps its number; E and the MANY objects get the next ones, the
     * directory rows first, in id order (E 5, then 0x70.. 6 on) */
    uint8_t m[32];
    memset(m, 0x70, 32);
    m[1] = m[2] = 0;
    assert_int_equal(num_of(s, obj_a), 2);
    assert_int_equal(num_of(s, obj_e), 5);
    assert_int_equal(num_of(s, m), 6);
    m[1] = (uint8_t)((MANY - 1) >> 8);
    m[2] = (uint8_t)(MANY - 1);
    assert_int_equal(num_of(s, m), 5 + MANY);
    size_t kl = key_of(k, obj_a, "d");
    assert_string_equal(get_val(s, ENT_TBL_OBJ_LOCAL, k, kl, buf, &rc),
                        "A-dir-row-16-byt");
    kl = key_of(k, obj_a, "xsalesforce");
    assert_string_equal(get_val(s, ENT_TBL_OBJ_LOCAL, k, kl, buf, &rc), "006A");
    kl = key_of(k, obj_e, "xhubspot");
    assert_string_equal(get_val(s, ENT_TBL_OBJ_LOCAL, k, kl, buf, &rc), "H9");
    assert_string_equal(query(s, 0, ENT_TBL_OBJ_LOCAL, obj_e, 32, 0, &q),
                        "6060:d,6060:xhubspot,");
    /* the forward row stays where it was */
    assert_int_equal(
        tstore_get(s, ENT_TBL_CRM_IDS, fwd, sizeof(fwd) - 1, id, 32), ENT_OK);
    assert_memory_equal(id, obj_a, 32);
    ent_store_close(s);
    rm_tree(dir);
}

/* A row of another length than the step expects: refused, the store
 * stays at schema 5 as it was. */
static void schema5_refused(void **state) {
    (void)state;
    struct bad bad[4];
    memset(bad, 0, sizeof(bad));
    ids();
    memset(obj_e, 0x60, 32);
    /* a directory row of 15 bytes; a directory key with a byte more */
    bad[0] = (struct bad){.t = ENT_TBL_LOG_META, .klen = 33, .vlen = 15};
    bad[1] = (struct bad){.t = ENT_TBL_LOG_META, .klen = 34, .vlen = 16};
    /* a reverse row without a source; one without an external id */
    bad[2] = (struct bad){.t = ENT_TBL_CRM_IDS, .klen = 33, .vlen = 4};
    bad[3] = (struct bad){.t = ENT_TBL_CRM_IDS, .klen = 36, .vlen = 0};
    for (int i = 0; i < 4; i++) {
        char dir[128];
        ent_store *s = NULL;
        struct nums n;
        uint32_t v = 0;
        ent_store_opts o5 = {.schema = 5};
        bad[i].k[0] = bad[i].t == ENT_TBL_LOG_META ? 'o' : 0x01;
        memset(bad[i].k + 1, 0x20, 32);
        memcpy(bad[i].k + 33, "src", 3);
        make_v5(dir, sizeof(dir), &bad[i]);
        assert_int_equal(ent_store_open(&s, dir, 0, NULL), ENT_ECORRUPT);
        assert_int_equal(ent_store_open_ex(&s, dir, 0, NULL, &o5), ENT_OK);
        assert_int_equal(ent_store_schema(s, &v), ENT_OK);
        assert_int_equal(v, 5);
        struct counts5 c = count5(s);
        bool meta = bad[i].t == ENT_TBL_LOG_META;
        assert_int_equal(c.meta, MANY + 3 + meta);
        assert_int_equal(c.crm, 3 + !meta);
        assert_int_equal(c.local, 0);
        assert_string_equal(nums(s, &n), "11=2,12=3,40=4,80=1,");
        ent_store_close(s);
        rm_tree(dir);
    }
}

/* ---- objects (schema 7) ---- */

/* Object records of A (which has rows in "ops" and "fields" too), of F
 * (none elsewhere) and, with data, one key of another length. */
static int put_v6_objects(ent_txn *txn, void *data) {
    const size_t *badlen = data;
    uint8_t k[40];
    int rc = ent_txn_put(txn, ENT_TBL_OBJECTS, obj_a, 32, "rec-A", 5, 0);
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_OBJECTS, obj_f, 32, "rec-F", 5, 0);
    if (rc == ENT_OK && badlen != NULL) {
        memset(k, 0x30, sizeof(k));
        rc = ent_txn_put(txn, ENT_TBL_OBJECTS, k, *badlen, "bad", 3, 0);
    }
    return rc;
}

static int count_obj_fn(ent_txn *txn, void *data) {
    return ent_txn_count(txn, ENT_TBL_OBJECTS, data);
}

/* A schema-6 store of put3's rows and two object records (badlen: and a
 * record key of that length). */
static void make_v6(char *dir, size_t size, size_t *badlen) {
    ent_store *s = NULL;
    ent_store_opts o6 = {.schema = 6};
    assert_int_equal(tmp_dir(dir, size, "objnum"), 0);
    assert_int_equal(ent_store_open_ex(&s, dir, ENT_STORE_CREATE, NULL, &o6),
                     ENT_OK);
    assert_int_equal(ent_store_write(s, put3, NULL), ENT_OK);
    assert_int_equal(ent_store_write(s, put_v6_objects, badlen), ENT_OK);
    ent_store_close(s);
}

/* The step 6 -> 7 numbers "objects": A keeps the number its other rows
 * have, F gets the next; both read back by id, in id order; F's number
 * goes with its record. A key that is not an object id refuses the step
 * and the store stays at schema 6 as it was. */
static void schema6_migrates(void **state) {
    (void)state;
    char dir[128];
    ent_store *s = NULL;
    struct q q;
    struct nums n;
    char buf[64];
    int rc;
    uint32_t v = 0;
    ids();
    memset(obj_f, 0x90, 32);
    make_v6(dir, sizeof(dir), NULL);
    assert_int_equal(ent_store_open(&s, dir, 0, NULL), ENT_OK);
    assert_int_equal(ent_store_schema(s, &v), ENT_OK);
    assert_int_equal(v, ENT_STORE_SCHEMA);
    assert_string_equal(nums(s, &n), "11=2,12=3,40=4,80=1,90=5,");
    assert_string_equal(get_val(s, ENT_TBL_OBJECTS, obj_a, 32, buf, &rc),
                        "rec-A");
    assert_string_equal(query(s, 0, ENT_TBL_OBJECTS, NULL, 0, 0, &q),
                        "1111:,9090:,");
    ent_store_close(s);
    s = NULL;
    rm_tree(dir);
    static size_t lens[] = {31, 33};
    for (int i = 0; i < 2; i++) {
        uint64_t c = 0;
        ent_store_opts o6 = {.schema = 6};
        make_v6(dir, sizeof(dir), &lens[i]);
        assert_int_equal(ent_store_open(&s, dir, 0, NULL), ENT_ECORRUPT);
        assert_int_equal(ent_store_open_ex(&s, dir, 0, NULL, &o6), ENT_OK);
        assert_int_equal(ent_store_schema(s, &v), ENT_OK);
        assert_int_equal(v, 6);
        assert_int_equal(ent_store_read(s, count_obj_fn, &c), ENT_OK);
        assert_int_equal(c, 3);
        assert_string_equal(nums(s, &n), "11=2,12=3,40=4,80=1,");
        ent_store_close(s);
        s = NULL;
        rm_tree(dir);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_and_scans),
        cmocka_unit_test(numbers_come_and_go),
        cmocka_unit_test(schema4_migrates),
        cmocka_unit_test(local_rows),
        cmocka_unit_test(schema5_migrates),
        cmocka_unit_test(schema5_refused),
        cmocka_unit_test(schema6_migrates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
