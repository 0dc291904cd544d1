/* storage_test.c - the LMDB store: tables, scans, growth, schema, faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "node/err.h"
#include "node/log.h"
#include "storage/store.h"
#include "tests/store_fixture.h"

/* ---- fixture: a fresh temporary directory per test ---- */

struct fx {
    char dir[64];
    char dir2[64];
    ent_log log;
    int grew;   /* log lines that report a map growth */
    int errors; /* log lines at ERROR */
};

static void capture(void *data, ent_log_level level, const char *line) {
    struct fx *f = data;
    if (strstr(line, "grew map") != NULL)
        f->grew++;
    if (level == ENT_LOG_ERROR)
        f->errors++;
    if (getenv("STORAGE_TEST_LOG"))
        fprintf(stderr, "log: %s\n", line);
}

static int setup(void **state) {
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    if (tmp_dir_at(f->dir, sizeof(f->dir), tmp_base(), "store") != 0 ||
        tmp_dir_at(f->dir2, sizeof(f->dir2), tmp_base(), "store") != 0)
        return -1;
    ent_log_init(&f->log, ENT_LOG_DEBUG, "storage_test");
    f->log.sink = capture;
    f->log.data = f;
    unsetenv("ENTENTE_MAP_SIZE");
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fx *f = *state;
    rm_tree(f->dir);
    rm_tree(f->dir2);
    free(f);
    return 0;
}

static bool file_exists(const char *dir, const char *name) {
    char p[128];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

/* ---- helpers ---- */

struct kv {
    ent_table t;
    const char *k;
    const char *v;
};

struct kvs {
    const struct kv *items;
    size_t n;
};

static int put_all(ent_txn *txn, void *data) {
    const struct kvs *a = data;
    for (size_t i = 0; i < a->n; i++) {
        int err = ent_txn_put(txn, a->items[i].t, a->items[i].k,
                              strlen(a->items[i].k), a->items[i].v,
                              strlen(a->items[i].v), 0);
        if (err != ENT_OK)
            return err;
    }
    return ENT_OK;
}

static void put_strings(ent_store *s, const struct kv *items, size_t n) {
    struct kvs a = {items, n};
    assert_int_equal(ent_store_write(s, put_all, &a), ENT_OK);
}

struct getq {
    ent_table t;
    const char *k;
    char out[256];
    int err;
};

static int get_fn(ent_txn *txn, void *data) {
    struct getq *q = data;
    const void *v;
    size_t vlen;
    q->err = ent_txn_get(txn, q->t, q->k, strlen(q->k), &v, &vlen);
    if (q->err == ENT_OK) {
        assert_true(vlen < sizeof(q->out));
        memcpy(q->out, v, vlen);
        q->out[vlen] = '\0';
    }
    return ENT_OK;
}

/* Returns the value of k as a string, or NULL when absent. */
static const char *get_string(ent_store *s, ent_table t, const char *k,
                              struct getq *q) {
    q->t = t;
    q->k = k;
    assert_int_equal(ent_store_read(s, get_fn, q), ENT_OK);
    if (q->err == ENT_ENOENT)
        return NULL;
    assert_int_equal(q->err, ENT_OK);
    return q->out;
}

/* A growable dump of every entry of every table, to compare whole stores. */
struct dump {
    uint8_t *buf;
    size_t len, cap;
};

static void dump_bytes(struct dump *d, const void *p, size_t n) {
    if (d->len + n > d->cap) {
        size_t cap = d->cap ? d->cap : 4096;
        while (cap < d->len + n)
            cap *= 2;
        d->buf = realloc(d->buf, cap);
        assert_non_null(d->buf);
        d->cap = cap;
    }
    memcpy(d->buf + d->len, p, n);
    d->len += n;
}

static int dump_entry(void *data, const void *k, size_t klen, const void *v,
                      size_t vlen) {
    struct dump *d = data;
    uint64_t n = klen;
    dump_bytes(d, &n, sizeof(n));
    dump_bytes(d, k, klen);
    n = vlen;
    dump_bytes(d, &n, sizeof(n));
    dump_bytes(d, v, vlen);
    return 0;
}

static int dump_fn(ent_txn *txn, void *data) {
    for (int t = 0; t < ENT_TBL__COUNT; t++) {
        uint64_t tag = 0xfeed0000u + (uint64_t)t;
        dump_bytes(data, &tag, sizeof(tag));
        int err = ent_txn_scan(txn, (ent_table)t, NULL, 0, dump_entry, data);
        if (err != ENT_OK)
            return err;
    }
    return ENT_OK;
}

static struct dump dump_store(ent_store *s) {
    struct dump d = {0};
    assert_int_equal(ent_store_read(s, dump_fn, &d), ENT_OK);
    return d;
}

static void assert_same_dump(const struct dump *a, const struct dump *b) {
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->buf, b->buf, a->len);
}

/* The store in f->dir, created or opened (ENT_STORE_CREATE). */
static ent_store *fx_create(struct fx *f) {
    ent_store *s = NULL;
    assert_int_equal(ent_store_open(&s, f->dir, ENT_STORE_CREATE, &f->log),
                     ENT_OK);
    return s;
}

/* ---- tests ---- */

static void test_create_open_close(void **state) {
    struct fx *f = *state;
    ent_store *s = fx_create(f);
    assert_non_null(s);
    assert_true(file_exists(f->dir, "data.mdb"));
    assert_true(file_exists(f->dir, "lock.mdb"));
    assert_int_equal(ent_store_map_size(s), ENT_STORE_MAP_SIZE);
    assert_true(ent_store_max_key(s) >= 64); /* 511 with Debian's LMDB */
    uint32_t v = 0;
    assert_int_equal(ent_store_schema(s, &v), ENT_OK);
    assert_int_equal(v, ENT_STORE_SCHEMA);
    put_strings(s, &(struct kv){ENT_TBL_ACCOUNTS, "obj1", "hello"}, 1);
    ent_store_close(s);
    ent_store_close(NULL);

    /* reopen without CREATE: the data and the schema are there */
    assert_int_equal(ent_store_open(&s, f->dir, 0, &f->log), ENT_OK);
    struct getq q;
    assert_string_equal(get_string(s, ENT_TBL_ACCOUNTS, "obj1", &q), "hello");
    assert_int_equal(ent_store_schema(s, &v), ENT_OK);
    assert_int_equal(v, ENT_STORE_SCHEMA);
    ent_store_close(s);

    /* CREATE on an existing store opens it and keeps the data */
    s = fx_create(f);
    assert_string_equal(get_string(s, ENT_TBL_ACCOUNTS, "obj1", &q), "hello");
    ent_store_close(s);

    /* read-only: reads work, writes are refused */
    assert_int_equal(ent_store_open(&s, f->dir, ENT_STORE_RDONLY, &f->log),
                     ENT_OK);
    assert_string_equal(get_string(s, ENT_TBL_ACCOUNTS, "obj1", &q), "hello");
    struct kvs a = {&(struct kv){ENT_TBL_ACCOUNTS, "x", "y"}, 1};
    assert_int_equal(ent_store_write(s, put_all, &a), ENT_EPERM);
    ent_store_close(s);

    /* read-only without a lock file (a backup being checked): nothing is
     * written into the folder; NOLOCK alone is refused */
    char lock[160];
    snprintf(lock, sizeof(lock), "%s/lock.mdb", f->dir);
    assert_int_equal(unlink(lock), 0);
    assert_int_equal(
        ent_store_open(&s, f->dir, ENT_STORE_RDONLY | ENT_STORE_NOLOCK,
                       &f->log),
        ENT_OK);
    assert_string_equal(get_string(s, ENT_TBL_ACCOUNTS, "obj1", &q), "hello");
    assert_int_equal(ent_store_write(s, put_all, &a), ENT_EPERM);
    ent_store_close(s);
    assert_false(file_exists(f->dir, "lock.mdb"));
    assert_int_equal(ent_store_open(&s, f->dir, ENT_STORE_NOLOCK, &f->log),
                     ENT_EINVAL);
    assert_null(s);
}

static int schema_bytes_fn(ent_txn *txn, void *data) {
    const void *v;
    size_t vlen;
    int err = ent_txn_get(txn, ENT_TBL_META, "schema", 6, &v, &vlen);
    if (err != ENT_OK)
        return err;
    assert_int_equal(vlen, 4);
    memcpy(data, v, 4);
    return ENT_OK;
}

static void test_schema_encoding(void **state) {
    struct fx *f = *state;
    ent_store *s = fx_create(f);
    uint8_t b[4];
    assert_int_equal(ent_store_read(s, schema_bytes_fn, b), ENT_OK);
    assert_memory_equal(b, ((uint8_t[]){0, 0, 0, ENT_STORE_SCHEMA}), 4);
    ent_store_close(s);
}

static void test_open_missing(void **state) {
    struct fx *f = *state;
    ent_store *s = (ent_store *)f; /* must be reset to NULL */
    assert_int_equal(ent_store_open(&s, f->dir, 0, &f->log), ENT_ENOENT);
    assert_null(s);
    assert_false(file_exists(f->dir, "data.mdb"));
    assert_int_equal(ent_store_open(&s, f->dir, ENT_STORE_RDONLY, &f->log),
                     ENT_ENOENT);
    assert_false(file_exists(f->dir, "data.mdb"));
    /* a directory that does not exist, even with CREATE */
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/nope", f->dir);
    assert_int_equal(ent_store_open(&s, missing, ENT_STORE_CREATE, &f->log),
                     ENT_ENOENT);
    assert_int_equal(ent_store_open(&s, f->dir, 0x80, &f->log), ENT_EINVAL);
}

static void test_open_corrupt(void **state) {
    struct fx *f = *state;
    char p[128];
    snprintf(p, sizeof(p), "%s/data.mdb", f->dir);
    int fd = open(p, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    char junk[8192];
    memset(junk, 'x', sizeof(junk));
    assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    ent_store *s = NULL;
    int errors = f->errors;
    assert_int_equal(ent_store_open(&s, f->dir, ENT_STORE_CREATE, &f->log),
                     ENT_ECORRUPT);
    assert_null(s);
    assert_true(f->errors > errors); /* the LMDB error was logged */
}

static void test_map_size_env(void **state) {
    struct fx *f = *state;
    ent_store *s = NULL;
    setenv("ENTENTE_MAP_SIZE", "2m", 1);
    s = fx_create(f);
    assert_int_equal(ent_store_map_size(s), (size_t)2 << 20);
    ent_store_close(s);
    setenv("ENTENTE_MAP_SIZE", "lots", 1);
    assert_int_equal(ent_store_open(&s, f->dir, 0, &f->log), ENT_EINVAL);
    unsetenv("ENTENTE_MAP_SIZE");
    /* an explicit option wins over the default */
    ent_store_opts o = {.map_size = (size_t)1 << 20};
    assert_int_equal(
        ent_store_open_ex(&s, f->dir2, ENT_STORE_CREATE, &f->log, &o), ENT_OK);
    assert_int_equal(ent_store_map_size(s), (size_t)1 << 20);
    ent_store_close(s);
}

/* put/get/del, key limits, overwrite and NOOVERWRITE */
struct kvcheck {
    size_t max_key;
};

static int kv_fn(ent_txn *txn, void *data) {
    struct kvcheck *c = data;
    const void *v;
    size_t vlen;
    assert_int_equal(ent_txn_put(txn, ENT_TBL_PEERS, "k1", 2, "v1", 2, 0),
                     ENT_OK);
    assert_int_equal(ent_txn_get(txn, ENT_TBL_PEERS, "k1", 2, &v, &vlen),
                     ENT_OK);
    assert_int_equal(vlen, 2);
    assert_memory_equal(v, "v1", 2);
    /* tables are separate */
    assert_int_equal(ent_txn_get(txn, ENT_TBL_ACCOUNTS, "k1", 2, &v, &vlen),
                     ENT_ENOENT);
    /* overwrite */
    assert_int_equal(ent_txn_put(txn, ENT_TBL_PEERS, "k1", 2, "v1b", 3, 0),
                     ENT_OK);
    /* NOOVERWRITE keeps the old value and does not spoil the txn */
    assert_int_equal(
        ent_txn_put(txn, ENT_TBL_PEERS, "k1", 2, "zz", 2, ENT_PUT_NOOVERWRITE),
        ENT_EEXIST);
    assert_int_equal(
        ent_txn_put(txn, ENT_TBL_PEERS, "k2", 2, "v2", 2, ENT_PUT_NOOVERWRITE),
        ENT_OK);
    /* empty value is allowed */
    assert_int_equal(ent_txn_put(txn, ENT_TBL_PEERS, "k3", 2, "", 0, 0),
                     ENT_OK);
    /* APPEND: in order succeeds, out of order is refused */
    assert_int_equal(
        ent_txn_put(txn, ENT_TBL_LOG, "\0\0\0\1", 4, "a", 1, ENT_PUT_APPEND),
        ENT_OK);
    assert_int_equal(
        ent_txn_put(txn, ENT_TBL_LOG, "\0\0\0\2", 4, "b", 1, ENT_PUT_APPEND),
        ENT_OK);
    assert_int_equal(
        ent_txn_put(txn, ENT_TBL_LOG, "\0\0\0\1", 4, "c", 1, ENT_PUT_APPEND),
        ENT_EEXIST);
    /* key limits */
    char big[600];
    memset(big, 'k', sizeof(big));
    assert_int_equal(
        ent_txn_put(txn, ENT_TBL_PEERS, big, c->max_key, "v", 1, 0), ENT_OK);
    assert_int_equal(
        ent_txn_put(txn, ENT_TBL_PEERS, big, c->max_key + 1, "v", 1, 0),
        ENT_ETOOBIG);
    assert_int_equal(
        ent_txn_get(txn, ENT_TBL_PEERS, big, c->max_key + 1, &v, &vlen),
        ENT_ETOOBIG);
    assert_int_equal(ent_txn_put(txn, ENT_TBL_PEERS, "", 0, "v", 1, 0),
                     ENT_EINVAL);
    assert_int_equal(ent_txn_put(txn, ENT_TBL__COUNT, "k", 1, "v", 1, 0),
                     ENT_EINVAL);
    assert_int_equal(ent_txn_put(txn, ENT_TBL_PEERS, "k", 1, "v", 1, 0x100),
                     ENT_EINVAL);
    /* delete */
    assert_int_equal(ent_txn_del(txn, ENT_TBL_PEERS, "k2", 2), ENT_OK);
    assert_int_equal(ent_txn_del(txn, ENT_TBL_PEERS, "k2", 2), ENT_ENOENT);
    assert_int_equal(ent_txn_get(txn, ENT_TBL_PEERS, "k2", 2, &v, &vlen),
                     ENT_ENOENT);
    return ENT_OK;
}

static int put_in_read_fn(ent_txn *txn, void *data) {
    assert_int_equal(ent_txn_put(txn, ENT_TBL_PEERS, "k", 1, "v", 1, 0),
                     ENT_EPERM);
    assert_int_equal(ent_txn_del(txn, ENT_TBL_PEERS, "k1", 2), ENT_EPERM);
    return ENT_OK;
}

static void test_put_get_del(void **state) {
    struct fx *f = *state;
    ent_store *s = fx_create(f);
    struct kvcheck c = {ent_store_max_key(s)};
    assert_int_equal(ent_store_write(s, kv_fn, &c), ENT_OK);
    assert_int_equal(ent_store_read(s, put_in_read_fn, NULL), ENT_OK);
    ent_store_close(s);

    assert_int_equal(ent_store_open(&s, f->dir, 0, &f->log), ENT_OK);
    struct getq q;
    assert_string_equal(get_string(s, ENT_TBL_PEERS, "k1", &q), "v1b");
    assert_null(get_string(s, ENT_TBL_PEERS, "k2", &q));
    assert_string_equal(get_string(s, ENT_TBL_PEERS, "k3", &q), "");
    ent_store_close(s);
}

/* scans */
struct collect {
    char keys[16][32];
    int n;
    int stop_at; /* return 1 on this entry (1-based); 0: never */
    int fail_at; /* return ENT_ECONFLICT on this entry; 0: never */
};

static int collect_fn(void *data, const void *k, size_t klen, const void *v,
                      size_t vlen) {
    struct collect *c = data;
    assert_true(c->n < 16 && klen < 32);
    memcpy(c->keys[c->n], k, klen);
    c->keys[c->n][klen] = '\0';
    c->n++;
    if (c->fail_at == c->n)
        return ENT_ECONFLICT;
    return c->stop_at == c->n ? 1 : 0;
}

struct scanq {
    const char *prefix;
    bool reverse;
    struct collect c;
    int err;
};

static int scan_fn(ent_txn *txn, void *data) {
    struct scanq *q = data;
    size_t plen = q->prefix != NULL ? strlen(q->prefix) : 0;
    if (q->reverse)
        q->err = ent_txn_scan_reverse(txn, ENT_TBL_INVITES, q->prefix, plen,
                                      collect_fn, &q->c);
    else
        q->err = ent_txn_scan(txn, ENT_TBL_INVITES, q->prefix, plen, collect_fn,
                              &q->c);
    return ENT_OK;
}

static void expect_scan(ent_store *s, const char *prefix, bool reverse,
                        const char *const *want, int n) {
    struct scanq q = {.prefix = prefix, .reverse = reverse};
    assert_int_equal(ent_store_read(s, scan_fn, &q), ENT_OK);
    assert_int_equal(q.err, ENT_OK);
    assert_int_equal(q.c.n, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(q.c.keys[i], want[i]);
}

static int count_fn(ent_txn *txn, void *data) {
    uint64_t *n = data;
    int err = ent_txn_count(txn, ENT_TBL_INVITES, &n[0]);
    if (err == ENT_OK)
        err = ent_txn_count(txn, ENT_TBL_TEMPLATES, &n[1]);
    return err;
}

static void test_scan(void **state) {
    struct fx *f = *state;
    ent_store *s = fx_create(f);
    /* inserted out of order; 0xff bytes probe the reverse seek */
    const struct kv items[] = {
        {ENT_TBL_INVITES, "b2", "x"},
        {ENT_TBL_INVITES, "a1", "x"},
        {ENT_TBL_INVITES, "c", "x"},
        {ENT_TBL_INVITES, "b1", "x"},
        {ENT_TBL_INVITES, "b\xff", "x"},
        {ENT_TBL_INVITES, "b", "x"},
        {ENT_TBL_INVITES,
         "b\xff\xff"
         "1",
         "x"},
        {ENT_TBL_INVITES, "\xff\xff", "x"},
        {ENT_TBL_TEMPLATES, "b3", "x"},
    };
    put_strings(s, items, sizeof(items) / sizeof(items[0]));

    const char *all[] = {"a1",
                         "b",
                         "b1",
                         "b2",
                         "b\xff",
                         "b\xff\xff"
                         "1",
                         "c",
                         "\xff\xff"};
    expect_scan(s, NULL, false, all, 8);
    const char *all_rev[] = {"\xff\xff",
                             "c",
                             "b\xff\xff"
                             "1",
                             "b\xff",
                             "b2",
                             "b1",
                             "b",
                             "a1"};
    expect_scan(s, NULL, true, all_rev, 8);

    const char *b[] = {"b", "b1", "b2", "b\xff",
                       "b\xff\xff"
                       "1"};
    expect_scan(s, "b", false, b, 5);
    const char *b_rev[] = {"b\xff\xff"
                           "1",
                           "b\xff", "b2", "b1", "b"};
    expect_scan(s, "b", true, b_rev, 5);

    const char *bff[] = {"b\xff", "b\xff\xff"
                                  "1"};
    expect_scan(s, "b\xff", false, bff, 2);
    const char *bff_rev[] = {"b\xff\xff"
                             "1",
                             "b\xff"};
    expect_scan(s, "b\xff", true, bff_rev, 2);

    const char *ff[] = {"\xff\xff"};
    expect_scan(s, "\xff", false, ff, 1);
    expect_scan(s, "\xff", true, ff, 1);
    const char *a[] = {"a1"};
    expect_scan(s, "a", true, a, 1);
    expect_scan(s, "a", false, a, 1);

    expect_scan(s, "d", false, NULL, 0);
    expect_scan(s, "d", true, NULL, 0);
    expect_scan(s, "0", true, NULL, 0);
    expect_scan(s, "b3", false, NULL, 0); /* b3 is in another table */
    expect_scan(s, "b1x", false, NULL, 0);

    /* fn > 0 stops the scan with ENT_OK, fn < 0 stops it with that error */
    struct scanq q = {.prefix = "b", .c = {.stop_at = 2}};
    assert_int_equal(ent_store_read(s, scan_fn, &q), ENT_OK);
    assert_int_equal(q.err, ENT_OK);
    assert_int_equal(q.c.n, 2);
    struct scanq q2 = {.prefix = "b", .reverse = true, .c = {.fail_at = 3}};
    assert_int_equal(ent_store_read(s, scan_fn, &q2), ENT_OK);
    assert_int_equal(q2.err, ENT_ECONFLICT);
    assert_int_equal(q2.c.n, 3);
    assert_string_equal(q2.c.keys[2], "b2");

    uint64_t n[2] = {0, 0};
    assert_int_equal(ent_store_read(s, count_fn, n), ENT_OK);
    assert_int_equal(n[0], 8);
    assert_int_equal(n[1], 1);
    ent_store_close(s);
}

/* Two iterators side by side, as a report merges its tables by key. */
static int iter_fn(ent_txn *txn, void *data) {
    (void)data;
    const char *fields[] = {"a1", "b", "b1", "c"};
    ent_iter *a = NULL, *b = NULL, *e = NULL;
    const void *k, *v;
    size_t klen, vlen, i = 0;
    assert_int_equal(ent_txn_iter(txn, ENT_TBL_INVITES, &a), ENT_OK);
    assert_int_equal(ent_txn_iter(txn, ENT_TBL_TEMPLATES, &b), ENT_OK);
    assert_int_equal(ent_txn_iter(txn, ENT_TBL_PEERS, &e), ENT_OK);
    assert_int_equal(ent_iter_next(e, &k, &klen, &v, &vlen), ENT_ENOENT);
    for (int rc; (rc = ent_iter_next(a, &k, &klen, &v, &vlen)) != ENT_ENOENT;
         i++) {
        assert_int_equal(rc, ENT_OK);
        assert_true(i < 4);
        assert_int_equal(klen, strlen(fields[i]));
        assert_memory_equal(k, fields[i], klen);
        assert_int_equal(vlen, 1);
        assert_memory_equal(v, "x", 1);
        if (i == 1) { /* the other cursor moves on its own */
            assert_int_equal(ent_iter_next(b, &k, &klen, &v, &vlen), ENT_OK);
            assert_int_equal(klen, 2);
            assert_memory_equal(k, "b3", 2);
            assert_int_equal(ent_iter_next(b, &k, &klen, &v, &vlen),
                             ENT_ENOENT);
        }
    }
    assert_int_equal(i, 4);
    /* the end stays the end */
    assert_int_equal(ent_iter_next(a, &k, &klen, &v, &vlen), ENT_ENOENT);
    assert_int_equal(ent_iter_next(b, &k, &klen, &v, &vlen), ENT_ENOENT);
    ent_iter_free(a);
    ent_iter_free(b);
    ent_iter_free(e);
    ent_iter_free(NULL);
    assert_int_equal(ent_txn_iter(txn, ENT_TBL__COUNT, &a), ENT_EINVAL);
    assert_null(a);
    assert_int_equal(ent_txn_iter(NULL, ENT_TBL_INVITES, &a), ENT_EINVAL);
    return ENT_OK;
}

static void test_iter(void **state) {
    struct fx *f = *state;
    ent_store *s = fx_create(f);
    const struct kv items[] = {
        {ENT_TBL_INVITES, "c", "x"},  {ENT_TBL_INVITES, "b1", "x"},
        {ENT_TBL_INVITES, "a1", "x"}, {ENT_TBL_INVITES, "b", "x"},
        {ENT_TBL_TEMPLATES, "b3", "x"},
    };
    put_strings(s, items, sizeof(items) / sizeof(items[0]));
    assert_int_equal(ent_store_read(s, iter_fn, NULL), ENT_OK);
    ent_store_close(s);
}

/* a function that fails after writing: nothing is committed */
static int put_then_fail(ent_txn *txn, void *data) {
    int err = ent_txn_put(txn, ENT_TBL_ACCOUNTS, "o1", 2, "new", 3, 0);
    if (err == ENT_OK)
        err = ent_txn_put(txn, ENT_TBL_ACCOUNTS, "o2", 2, "two", 3, 0);
    if (err == ENT_OK)
        err = ent_txn_del(txn, ENT_TBL_ACCOUNTS, "o3", 2);
    return err != ENT_OK ? err : ENT_EDENIED;
}

static void test_fn_error_rolls_back(void **state) {
    struct fx *f = *state;
    ent_store *s = fx_create(f);
    const struct kv items[] = {{ENT_TBL_ACCOUNTS, "o1", "old"},
                               {ENT_TBL_ACCOUNTS, "o3", "three"}};
    put_strings(s, items, 2);
    struct dump before = dump_store(s);
    assert_int_equal(ent_store_write(s, put_then_fail, NULL), ENT_EDENIED);
    struct dump after = dump_store(s);
    assert_same_dump(&before, &after);
    struct getq q;
    assert_string_equal(get_string(s, ENT_TBL_ACCOUNTS, "o1", &q), "old");
    assert_null(get_string(s, ENT_TBL_ACCOUNTS, "o2", &q));
    assert_string_equal(get_string(s, ENT_TBL_ACCOUNTS, "o3", &q), "three");
    free(before.buf);
    free(after.buf);
    ent_store_close(s);
}

/* nested write is refused; a read inside a write is fine */
struct nest {
    ent_store *s;
    int inner;
    int read;
};

static int nop_fn(ent_txn *txn, void *data) {
    return ENT_OK;
}

static int outer_fn(ent_txn *txn, void *data) {
    struct nest *n = data;
    int err = ent_txn_put(txn, ENT_TBL_CONFIG, "outer", 5, "1", 1, 0);
    if (err != ENT_OK)
        return err;
    n->inner = ent_store_write(n->s, nop_fn, NULL);
    n->read = ent_store_read(n->s, nop_fn, NULL);
    return ENT_OK;
}

static void test_nested_write(void **state) {
    struct fx *f = *state;
    ent_store *s = fx_create(f);
    struct nest n = {.s = s, .inner = 1, .read = 1};
    assert_int_equal(ent_store_write(s, outer_fn, &n), ENT_OK);
    assert_int_equal(n.inner, ENT_EBUSY);
    assert_int_equal(n.read, ENT_OK);
    struct getq q;
    assert_string_equal(get_string(s, ENT_TBL_CONFIG, "outer", &q), "1");
    /* and the guard is released afterwards */
    assert_int_equal(ent_store_write(s, nop_fn, NULL), ENT_OK);
    ent_store_close(s);
}

/* ent_store_read_beside: a thread reads beside an open write */
struct beside {
    ent_txn *w;
    int rc, ran;
    char before[8], during[8]; /* what the reader saw: "" for absent */
};

static int beside_fn(ent_txn *txn, void *data) {
    struct beside *b = data;
    const void *v;
    size_t vl;
    b->ran = 1;
    if (ent_txn_get(txn, ENT_TBL_CONFIG, "before", 6, &v, &vl) == ENT_OK)
        snprintf(b->before, sizeof(b->before), "%.*s", (int)vl,
                 (const char *)v);
    if (ent_txn_get(txn, ENT_TBL_CONFIG, "during", 6, &v, &vl) == ENT_OK)
        snprintf(b->during, sizeof(b->during), "%.*s", (int)vl,
                 (const char *)v);
    return ENT_OK;
}

static void *beside_thread(void *arg) {
    struct beside *b = arg;
    b->rc = ent_store_read_beside(b->w, beside_fn, b);
    return NULL;
}

static int beside_write(ent_txn *txn, void *data) {
    struct beside *b = data;
    pthread_t th;
    int err = ent_txn_put(txn, ENT_TBL_CONFIG, "before", 6, "2", 1, 0);
    if (err == ENT_OK)
        err = ent_txn_put(txn, ENT_TBL_CONFIG, "during", 6, "x", 1, 0);
    if (err != ENT_OK)
        return err;
    b->w = txn;
    if (pthread_create(&th, NULL, beside_thread, b) != 0)
        return ENT_ENOMEM;
    pthread_join(th, NULL);
    return ENT_OK;
}

static int put_before(ent_txn *txn, void *data) {
    (void)data;
    return ent_txn_put(txn, ENT_TBL_CONFIG, "before", 6, "1", 1, 0);
}

static void test_read_beside(void **state) {
    struct fx *f = *state;
    ent_store *s = fx_create(f);
    assert_int_equal(ent_store_write(s, put_before, NULL), ENT_OK);
    /* the state the write began from, none of its own puts */
    struct beside b = {.rc = -1};
    assert_int_equal(ent_store_write(s, beside_write, &b), ENT_OK);
    assert_int_equal(b.rc, ENT_OK);
    assert_int_equal(b.ran, 1);
    assert_string_equal(b.before, "1");
    assert_string_equal(b.during, "");
    /* a write of a group: refused, nothing run */
    struct beside g = {.rc = -1};
    ent_store_group_enter(s);
    assert_int_equal(ent_store_write(s, beside_write, &g), ENT_OK);
    assert_int_equal(ent_store_group_commit(s), ENT_OK);
    ent_store_group_leave(s);
    assert_int_equal(g.rc, ENT_EBUSY);
    assert_int_equal(g.ran, 0);
    /* only beside a write */
    ent_txn *none = NULL;
    assert_int_equal(ent_store_read_beside(none, beside_fn, &b), ENT_EINVAL);
    ent_store_close(s);
}

/* map growth: 20 MiB in one write into a 1 MiB map */
#define BIG_N 20480
#define BIG_V 1024

static void big_value(uint32_t i, uint8_t *v) {
    for (size_t j = 0; j < BIG_V; j++)
        v[j] = (uint8_t)(i * 31u + j * 7u + (i >> 8));
}

struct bigw {
    int calls;
};

static int big_write(ent_txn *txn, void *data) {
    struct bigw *b = data;
    b->calls++;
    uint8_t k[4], v[BIG_V];
    for (uint32_t i = 0; i < BIG_N; i++) {
        k[0] = (uint8_t)(i >> 24);
        k[1] = (uint8_t)(i >> 16);
        k[2] = (uint8_t)(i >> 8);
        k[3] = (uint8_t)i;
        big_value(i, v);
        int err = ent_txn_put(txn, ENT_TBL_TEMPLATES, k, 4, v, BIG_V, ENT_PUT_APPEND);
        if (err != ENT_OK)
            return err;
    }
    return ENT_OK;
}

struct bigcheck {
    uint32_t next;
    int bad;
};

static int big_check_entry(void *data, const void *k, size_t klen,
                           const void *v, size_t vlen) {
    struct bigcheck *c = data;
    uint8_t want[BIG_V];
    const uint8_t *kb = k;
    uint32_t i = (uint32_t)kb[0] << 24 | (uint32_t)kb[1] << 16 |
                 (uint32_t)kb[2] << 8 | kb[3];
    big_value(i, want);
    if (klen != 4 || i != c->next || vlen != BIG_V ||
        memcmp(v, want, BIG_V) != 0)
        c->bad++;
    c->next++;
    return 0;
}

static int big_check(ent_txn *txn, void *data) {
    return ent_txn_scan(txn, ENT_TBL_TEMPLATES, NULL, 0, big_check_entry, data);
}

static void test_map_growth(void **state) {
    struct fx *f = *state;
    ent_store *s = NULL;
    ent_store_opts o = {.map_size = (size_t)1 << 20};
    assert_int_equal(
        ent_store_open_ex(&s, f->dir, ENT_STORE_CREATE, &f->log, &o), ENT_OK);
    assert_int_equal(ent_store_map_size(s), (size_t)1 << 20);
    struct bigw b = {0};
    assert_int_equal(ent_store_write(s, big_write, &b), ENT_OK);
    size_t grown = ent_store_map_size(s);
    assert_true(grown >= (size_t)BIG_N * BIG_V);
    assert_true(b.calls > 1); /* fn was rerun from the start */
    assert_true(f->grew >= 1 && f->grew == b.calls - 1);
    ent_store_close(s);

    /* reopen (keeping the grown size) and read everything back */
    o.map_size = (size_t)1 << 20;
    assert_int_equal(ent_store_open_ex(&s, f->dir, 0, &f->log, &o), ENT_OK);
    assert_true(ent_store_map_size(s) >= (size_t)BIG_N * BIG_V);
    struct bigcheck c = {0};
    assert_int_equal(ent_store_read(s, big_check, &c), ENT_OK);
    assert_int_equal(c.next, BIG_N);
    assert_int_equal(c.bad, 0);
    ent_store_close(s);
}

/* Group commit into a small map: each write adds one random-keyed 2 KiB
 * value (random keys split pages everywhere, as op ids do); the map must
 * grow between groups, never leaving a group that cannot commit (a group's
 * earlier writes cannot be run again). */
#define GG_WRITES 3000
#define GG_V 2048

static int gg_write(ent_txn *txn, void *data) {
    const uint32_t *i = data;
    uint8_t k[16], v[GG_V];
    crypto_generichash(k, sizeof(k), (const uint8_t *)i, sizeof(*i), NULL, 0);
    memset(v, (int)(*i & 0xff), sizeof(v));
    return ent_txn_put(txn, ENT_TBL_OP_IDS, k, sizeof(k), v, sizeof(v), 0);
}

static int gg_count(ent_txn *txn, void *data) {
    return ent_txn_count(txn, ENT_TBL_OP_IDS, data);
}

static void test_group_map_growth(void **state) {
    struct fx *f = *state;
    ent_store *s = NULL;
    ent_store_opts o = {.map_size = (size_t)1 << 20};
    assert_int_equal(
        ent_store_open_ex(&s, f->dir, ENT_STORE_CREATE, &f->log, &o), ENT_OK);
    ent_store_group_enter(s);
    for (uint32_t i = 0; i < GG_WRITES; i++) {
        assert_int_equal(ent_store_write(s, gg_write, &i), ENT_OK);
        if (i % 500 == 499)
            assert_int_equal(ent_store_group_commit(s), ENT_OK);
    }
    assert_int_equal(ent_store_group_commit(s), ENT_OK);
    ent_store_group_leave(s);
    uint64_t n = 0;
    assert_int_equal(ent_store_read(s, gg_count, &n), ENT_OK);
    assert_int_equal(n, GG_WRITES);
    assert_true(f->grew >= 1);
    ent_store_close(s);
}

/* schema: newer is refused, migrations run once */
static int set_schema_fn(ent_txn *txn, void *data) {
    const uint8_t *b = data;
    return ent_txn_put(txn, ENT_TBL_META, "schema", 6, b, 4, 0);
}

static int bad_schema_fn(ent_txn *txn, void *data) {
    return ent_txn_put(txn, ENT_TBL_META, "schema", 6, "\0\0\2", 3, 0);
}

static void test_schema_newer(void **state) {
    struct fx *f = *state;
    ent_store *s = fx_create(f);
    uint8_t newer[4] = {0, 0, 0, ENT_STORE_SCHEMA + 1};
    assert_int_equal(ent_store_write(s, set_schema_fn, newer), ENT_OK);
    ent_store_close(s);
    s = (ent_store *)f;
    assert_int_equal(ent_store_open(&s, f->dir, 0, &f->log), ENT_EVERSION);
    assert_null(s);
    assert_int_equal(ent_store_open(&s, f->dir, ENT_STORE_CREATE, &f->log),
                     ENT_EVERSION);
    assert_int_equal(ent_store_open(&s, f->dir, ENT_STORE_RDONLY, &f->log),
                     ENT_EVERSION);
    /* a binary that knows the newer schema opens it */
    ent_store_opts o = {.schema = ENT_STORE_SCHEMA + 1};
    assert_int_equal(ent_store_open_ex(&s, f->dir, 0, &f->log, &o), ENT_OK);
    /* a schema value of the wrong length is corruption */
    assert_int_equal(ent_store_write(s, bad_schema_fn, NULL), ENT_OK);
    ent_store_close(s);
    assert_int_equal(ent_store_open_ex(&s, f->dir, 0, &f->log, &o),
                     ENT_ECORRUPT);
}

struct migd {
    int runs_1;
    int runs_2;
    bool fail;
};

static int mig_1_to_2(ent_txn *txn, void *data) {
    struct migd *m = data;
    m->runs_1++;
    return ent_txn_put(txn, ENT_TBL_CONFIG, "migrated", 8, "2", 1, 0);
}

static int mig_2_to_3(ent_txn *txn, void *data) {
    struct migd *m = data;
    m->runs_2++;
    int err = ent_txn_put(txn, ENT_TBL_CONFIG, "migrated", 8, "3", 1, 0);
    return err != ENT_OK ? err : m->fail ? ENT_EDENIED : ENT_OK;
}

static int schema_1_fn(ent_txn *txn, void *data) {
    (void)data;
    static const uint8_t one[4] = {0, 0, 0, 1};
    return ent_txn_put(txn, ENT_TBL_META, "schema", 6, one, 4, 0);
}

static void test_migration(void **state) {
    struct fx *f = *state;
    ent_store *s = fx_create(f);
    /* the steps below use their own table from schema 1 */
    assert_int_equal(ent_store_write(s, schema_1_fn, NULL), ENT_OK);
    ent_store_close(s);

    struct migd m = {0};
    const ent_store_migration migs[] = {{1, mig_1_to_2}, {2, mig_2_to_3}};
    ent_store_opts o = {.schema = 2,
                        .migrations = migs,
                        .n_migrations = 2,
                        .migration_data = &m};
    assert_int_equal(ent_store_open_ex(&s, f->dir, 0, &f->log, &o), ENT_OK);
    assert_int_equal(m.runs_1, 1);
    assert_int_equal(m.runs_2, 0);
    uint32_t v = 0;
    assert_int_equal(ent_store_schema(s, &v), ENT_OK);
    assert_int_equal(v, 2);
    struct getq q;
    assert_string_equal(get_string(s, ENT_TBL_CONFIG, "migrated", &q), "2");
    ent_store_close(s);

    /* again: nothing to do */
    assert_int_equal(ent_store_open_ex(&s, f->dir, 0, &f->log, &o), ENT_OK);
    assert_int_equal(m.runs_1, 1);
    ent_store_close(s);

    /* a binary of schema 1 now finds a newer store */
    ent_store_opts o1 = {.schema = 1, .migrations = migs, .n_migrations = 2};
    assert_int_equal(ent_store_open_ex(&s, f->dir, 0, &f->log, &o1),
                     ENT_EVERSION);

    /* a failing migration changes nothing */
    m.fail = true;
    o.schema = 3;
    assert_int_equal(ent_store_open_ex(&s, f->dir, 0, &f->log, &o),
                     ENT_EDENIED);
    assert_int_equal(m.runs_2, 1);
    /* a missing step is a version error */
    o.schema = 4;
    m.fail = false;
    assert_int_equal(ent_store_open_ex(&s, f->dir, 0, &f->log, &o),
                     ENT_EVERSION);
    /* read-only cannot migrate */
    o.schema = 3;
    assert_int_equal(
        ent_store_open_ex(&s, f->dir, ENT_STORE_RDONLY, &f->log, &o),
        ENT_EVERSION);
    o.schema = 2;
    assert_int_equal(ent_store_open_ex(&s, f->dir, 0, &f->log, &o), ENT_OK);
    assert_int_equal(ent_store_schema(s, &v), ENT_OK);
    assert_int_equal(v, 2);
    assert_string_equal(get_string(s, ENT_TBL_CONFIG, "migrated", &q), "2");
    ent_store_close(s);

    /* two steps in one open, one write transaction */
    m = (struct migd){0};
    o.schema = 3;
    assert_int_equal(ent_store_open_ex(&s, f->dir, 0, &f->log, &o), ENT_OK);
    assert_int_equal(m.runs_1, 0);
    assert_int_equal(m.runs_2, 1);
    assert_int_equal(ent_store_schema(s, &v), ENT_OK);
    assert_int_equal(v, 3);
    ent_store_close(s);
}

/* fault injection: every operation of a multi-op write, one at a time */
#define FAULT_OPS 7 /* 5 puts + 2 dels; + 1 commit */

struct faultw {
    bool ignore_errors; /* a careless fn that returns ENT_OK anyway */
};

static int multi_op(ent_txn *txn, void *data) {
    const struct faultw *w = data;
    int err = ENT_OK, e;
    const char *keys[] = {"n1", "n2", "n3", "n4", "n5"};
    for (int i = 0; i < 5; i++) {
        e = ent_txn_put(txn, ENT_TBL_TEMPLATES, keys[i], 2, "payload", 7, 0);
        if (e != ENT_OK && err == ENT_OK)
            err = e;
        if (err != ENT_OK && !w->ignore_errors)
            return err;
    }
    e = ent_txn_del(txn, ENT_TBL_TEMPLATES, "old1", 4);
    if (e != ENT_OK && err == ENT_OK)
        err = e;
    if (err != ENT_OK && !w->ignore_errors)
        return err;
    e = ent_txn_del(txn, ENT_TBL_LOG, "old2", 4);
    if (e != ENT_OK && err == ENT_OK)
        err = e;
    return w->ignore_errors ? ENT_OK : err;
}

static int count_calls(void *data, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    (void)key, (void)klen, (void)val, (void)vlen;
    ++*(int *)data;
    return 0;
}

static int events_count_fn(ent_txn *txn, void *data) {
    return ent_txn_count(txn, ENT_TBL_EVENTS, data);
}

static int absent_fn(ent_txn *txn, void *data) {
    (void)data;
    const void *v;
    size_t vlen;
    uint64_t n = 1;
    int calls = 0;
    assert_int_equal(ent_txn_get(txn, ENT_TBL_EVENTS, "k", 1, &v, &vlen),
                     ENT_ENOENT);
    assert_int_equal(ent_txn_count(txn, ENT_TBL_EVENTS, &n), ENT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(
        ent_txn_scan(txn, ENT_TBL_EVENTS, NULL, 0, count_calls, &calls),
        ENT_OK);
    assert_int_equal(calls, 0);
    ent_iter *it = NULL;
    const void *k;
    size_t klen;
    assert_int_equal(ent_txn_iter(txn, ENT_TBL_EVENTS, &it), ENT_OK);
    assert_int_equal(ent_iter_next(it, &k, &klen, &v, &vlen), ENT_ENOENT);
    ent_iter_free(it);
    /* the tables that exist read as ever */
    assert_int_equal(ent_txn_get(txn, ENT_TBL_CONFIG, "k", 1, &v, &vlen),
                     ENT_OK);
    return ENT_OK;
}

/* A store made before a table existed (dropped here with LMDB itself):
 * a read-only open reads the missing table as empty instead of failing;
 * a read-write open creates it. */
static void test_rdonly_missing_table(void **state) {
    struct fx *f = *state;
    ent_store *s = fx_create(f);
    const struct kv items[] = {{ENT_TBL_CONFIG, "k", "v"},
                               {ENT_TBL_EVENTS, "k", "v"}};
    put_strings(s, items, 2);
    ent_store_close(s);
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
    assert_int_equal(mdb_env_open(env, f->dir, MDB_NOTLS, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
    assert_int_equal(mdb_dbi_open(t, "events", 0, &dbi), 0);
    assert_int_equal(mdb_drop(t, dbi, 1), 0);
    assert_int_equal(mdb_txn_commit(t), 0);
    mdb_env_close(env);
    assert_int_equal(ent_store_open(&s, f->dir, ENT_STORE_RDONLY, &f->log),
                     ENT_OK);
    assert_int_equal(ent_store_read(s, absent_fn, NULL), ENT_OK);
    ent_store_close(s);
    assert_int_equal(ent_store_open(&s, f->dir, 0, &f->log), ENT_OK);
    const struct kv again[] = {{ENT_TBL_EVENTS, "e", "v"}};
    put_strings(s, again, 1);
    ent_store_close(s);
    assert_int_equal(ent_store_open(&s, f->dir, ENT_STORE_RDONLY, &f->log),
                     ENT_OK);
    uint64_t n = 0;
    assert_int_equal(ent_store_read(s, events_count_fn, &n), ENT_OK);
    assert_int_equal(n, 1);
    ent_store_close(s);
}

static void test_fault_injection(void **state) {
    struct fx *f = *state;
    ent_store *s = fx_create(f);
    const struct kv seed[] = {{ENT_TBL_TEMPLATES, "old1", "a"},
                              {ENT_TBL_LOG, "old2", "b"},
                              {ENT_TBL_TEMPLATES, "n1", "previous"}};
    put_strings(s, seed, 3);
    struct dump before = dump_store(s);

    for (int careless = 0; careless < 2; careless++) {
        struct faultw w = {.ignore_errors = careless != 0};
        for (uint64_t n = 1; n <= FAULT_OPS + 1; n++) {
            ent_store_fail_after(s, n);
            assert_int_equal(ent_store_write(s, multi_op, &w), ENT_EIO);
            struct dump now = dump_store(s);
            assert_same_dump(&before, &now);
            free(now.buf);
        }
    }
    /* the hook fired and disarmed itself: the same write now commits */
    struct faultw w = {0};
    assert_int_equal(ent_store_write(s, multi_op, &w), ENT_OK);
    /* armed beyond the write's operations: not triggered by it */
    ent_store_fail_after(s, FAULT_OPS + 2);
    assert_int_equal(ent_store_write(s, nop_fn, NULL), ENT_OK);
    ent_store_fail_after(s, 0);
    struct dump after = dump_store(s);
    assert_true(after.len != before.len ||
                memcmp(after.buf, before.buf, after.len) != 0);
    ent_store_close(s);

    /* reopen: exactly the committed state */
    assert_int_equal(ent_store_open(&s, f->dir, 0, &f->log), ENT_OK);
    struct dump reopened = dump_store(s);
    assert_same_dump(&after, &reopened);
    struct getq q;
    assert_string_equal(get_string(s, ENT_TBL_TEMPLATES, "n1", &q), "payload");
    assert_null(get_string(s, ENT_TBL_TEMPLATES, "old1", &q));
    assert_null(get_string(s, ENT_TBL_LOG, "old2", &q));
    ent_store_close(s);
    free(before.buf);
    free(after.buf);
    free(reopened.buf);
}

/* pages written: 1,000 appended 100-byte values fill about 28 pages; one
 * value rewritten costs its leaf, the path to it and LMDB's own
 * bookkeeping; an empty write writes nothing; a group counts too */
static int append_n_fn(ent_txn *txn, void *data) {
    uint8_t k[4], v[100];
    uint32_t n = *(const uint32_t *)data;
    memset(v, 0x5a, sizeof(v));
    for (uint32_t i = 0; i < n; i++) {
        k[0] = (uint8_t)(i >> 24);
        k[1] = (uint8_t)(i >> 16);
        k[2] = (uint8_t)(i >> 8);
        k[3] = (uint8_t)i;
        int err =
            ent_txn_put(txn, ENT_TBL_TEMPLATES, k, 4, v, sizeof(v), ENT_PUT_APPEND);
        if (err != ENT_OK)
            return err;
    }
    return ENT_OK;
}

static int rewrite_one_fn(ent_txn *txn, void *data) {
    (void)data;
    uint8_t v[100];
    memset(v, 0xa5, sizeof(v));
    return ent_txn_put(txn, ENT_TBL_TEMPLATES, "\0\0\1\364", 4, v, sizeof(v), 0);
}

static void test_pages_written(void **state) {
    struct fx *f = *state;
    ent_store *s = fx_create(f);
    uint64_t w0, w1, w2, w3, w4;
    uint32_t n = 1000;
    const struct kv before[] = {{ENT_TBL_CONFIG, "k", "v"}};
    assert_int_equal(ent_store_pages_written(NULL, &w0), ENT_EINVAL);
    put_strings(s, before, 1);
    assert_int_equal(ent_store_pages_written(s, &w0), ENT_OK);
    assert_int_equal(w0, 0); /* not counted until asked for */
    ent_store_count_pages(s);
    assert_int_equal(ent_store_pages_written(s, &w0), ENT_OK);
    assert_int_equal(ent_store_write(s, append_n_fn, &n), ENT_OK);
    assert_int_equal(ent_store_pages_written(s, &w1), ENT_OK);
    assert_in_range(w1 - w0, 28, 40);
    assert_int_equal(ent_store_write(s, rewrite_one_fn, NULL), ENT_OK);
    assert_int_equal(ent_store_pages_written(s, &w2), ENT_OK);
    assert_in_range(w2 - w1, 2, 8);
    assert_int_equal(ent_store_write(s, nop_fn, NULL), ENT_OK);
    assert_int_equal(ent_store_pages_written(s, &w3), ENT_OK);
    assert_int_equal(w3, w2);
    ent_store_group_enter(s);
    assert_int_equal(ent_store_write(s, rewrite_one_fn, NULL), ENT_OK);
    assert_int_equal(ent_store_pages_written(s, &w4), ENT_OK);
    assert_int_equal(w4, w3); /* nothing durable yet */
    assert_int_equal(ent_store_group_commit(s), ENT_OK);
    ent_store_group_leave(s);
    assert_int_equal(ent_store_pages_written(s, &w4), ENT_OK);
    assert_in_range(w4 - w3, 2, 8);
    ent_store_close(s);
}

/* ent_txn_last_key: the greatest key, whether this transaction appended
 * it, wrote it otherwise or deleted the one after it; nothing remembered
 * outlives a transaction that aborts. */
struct lastq {
    int step;
    int fail; /* returned at the end */
};

static void expect_last(ent_txn *txn, ent_table t, const char *want) {
    uint8_t k[16];
    size_t n = 0;
    int rc = ent_txn_last_key(txn, t, k, sizeof(k), &n);
    if (want == NULL) {
        assert_int_equal(rc, ENT_ENOENT);
        return;
    }
    assert_int_equal(rc, ENT_OK);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(k, want, n);
}

static int last_fn(ent_txn *txn, void *data) {
    struct lastq *q = data;
    uint8_t k[16];
    size_t n;
    if (q->step == 0) {
        expect_last(txn, ENT_TBL_LOG, NULL);
        assert_int_equal(
            ent_txn_put(txn, ENT_TBL_LOG, "k1", 2, "a", 1, ENT_PUT_APPEND),
            ENT_OK);
        expect_last(txn, ENT_TBL_LOG, "k1");
        assert_int_equal(
            ent_txn_put(txn, ENT_TBL_LOG, "k2", 2, "b", 1, ENT_PUT_APPEND),
            ENT_OK);
        /* another table's appends leave this one's last key alone */
        assert_int_equal(
            ent_txn_put(txn, ENT_TBL_EVENTS, "e9", 2, "x", 1, ENT_PUT_APPEND),
            ENT_OK);
        expect_last(txn, ENT_TBL_LOG, "k2");
        expect_last(txn, ENT_TBL_EVENTS, "e9");
        assert_int_equal(ent_txn_put(txn, ENT_TBL_LOG, "k0", 2, "c", 1,
                                     ENT_PUT_APPEND),
                         ENT_EEXIST); /* refused: not after the last */
        expect_last(txn, ENT_TBL_LOG, "k2");
        assert_int_equal(ent_txn_put(txn, ENT_TBL_LOG, "k3", 2, "d", 1, 0),
                         ENT_OK); /* a plain put after the last */
        expect_last(txn, ENT_TBL_LOG, "k3");
        assert_int_equal(ent_txn_del(txn, ENT_TBL_LOG, "k3", 2), ENT_OK);
        expect_last(txn, ENT_TBL_LOG, "k2");
        assert_int_equal(ent_txn_last_key(txn, ENT_TBL_LOG, k, 1, &n),
                         ENT_ETOOBIG);
        /* a key longer than the store remembers is still answered */
        assert_int_equal(ent_txn_put(txn, ENT_TBL_LOG,
                                     "k2-and-a-long-tail-of-bytes", 27, "e",
                                     1, ENT_PUT_APPEND),
                         ENT_OK);
        uint8_t big[32];
        assert_int_equal(
            ent_txn_last_key(txn, ENT_TBL_LOG, big, sizeof(big), &n), ENT_OK);
        assert_int_equal(n, 27);
        assert_int_equal(ent_txn_del(txn, ENT_TBL_LOG, big, n), ENT_OK);
        expect_last(txn, ENT_TBL_LOG, "k2");
    } else if (q->step == 1) { /* a new transaction: the committed rows */
        expect_last(txn, ENT_TBL_LOG, "k2");
        assert_int_equal(
            ent_txn_put(txn, ENT_TBL_LOG, "k5", 2, "f", 1, ENT_PUT_APPEND),
            ENT_OK);
        expect_last(txn, ENT_TBL_LOG, "k5");
    } else if (q->step == 2) { /* after the abort: k5 is gone */
        expect_last(txn, ENT_TBL_LOG, "k2");
        assert_int_equal(ent_txn_clear(txn, ENT_TBL_LOG), ENT_OK);
        expect_last(txn, ENT_TBL_LOG, NULL);
    }
    return q->fail;
}

static void test_last_key(void **state) {
    struct fx *f = *state;
    ent_store *s = fx_create(f);
    struct lastq q = {0, ENT_OK};
    assert_int_equal(ent_store_write(s, last_fn, &q), ENT_OK);
    q = (struct lastq){1, ENT_EDENIED};
    assert_int_equal(ent_store_write(s, last_fn, &q), ENT_EDENIED);
    q = (struct lastq){2, ENT_OK};
    assert_int_equal(ent_store_write(s, last_fn, &q), ENT_OK);
    /* in a group, a write that fails vanishes with what it appended */
    ent_store_group_enter(s);
    q = (struct lastq){1, ENT_EDENIED};
    put_strings(s, &(struct kv){ENT_TBL_LOG, "k2", "b"}, 1);
    assert_int_equal(ent_store_write(s, last_fn, &q), ENT_EDENIED);
    q = (struct lastq){2, ENT_OK};
    assert_int_equal(ent_store_write(s, last_fn, &q), ENT_OK);
    assert_int_equal(ent_store_group_commit(s), ENT_OK);
    ent_store_group_leave(s);
    ent_store_close(s);
}

static void test_two_stores(void **state) {
    struct fx *f = *state;
    ent_store *a = NULL, *b = NULL;
    assert_int_equal(ent_store_open(&a, f->dir, ENT_STORE_CREATE, &f->log),
                     ENT_OK);
    assert_int_equal(ent_store_open(&b, f->dir2, ENT_STORE_CREATE, &f->log),
                     ENT_OK);
    put_strings(a, &(struct kv){ENT_TBL_PEERS, "who", "alpha"}, 1);
    put_strings(b, &(struct kv){ENT_TBL_PEERS, "who", "beta"}, 1);
    put_strings(b, &(struct kv){ENT_TBL_PEERS, "only-b", "1"}, 1);
    struct getq q;
    assert_string_equal(get_string(a, ENT_TBL_PEERS, "who", &q), "alpha");
    assert_string_equal(get_string(b, ENT_TBL_PEERS, "who", &q), "beta");
    assert_null(get_string(a, ENT_TBL_PEERS, "only-b", &q));
    ent_store_close(a);
    assert_string_equal(get_string(b, ENT_TBL_PEERS, "who", &q), "beta");
    ent_store_close(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_open_close, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_schema_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_size_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_get_del, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fn_error_rolls_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_nested_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_beside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_injection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_stores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rdonly_missing_table, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_group_map_growth, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
