/*
 * actlog_test.c - the activity log (node/audit/actlog.h): entries appended in
 * LMDB write transactions, their hash chain and object links (oprev), the
 * version-3 format (eleven items, no signature; version 2 still read,
 * version 1 and other shapes refused), the exact size bound, the persisted
 * frontier against a from-scratch root, signed heads and the checkpoint
 * each one ends in (its directory against an independent replay), a log
 * of version-2 entries that gets its directory on the first append,
 * proofs from the store (and from its kept subtrees, equal to the full
 * recompute), an aborted transaction leaving no entry, and a schema-5
 * store's directory rows (in "log_meta") read the same after the step to
 * schema 6 moves them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "crypto/merkle.h"
#include "node/audit/actlog.h"
#include "node/audit/directory.h"
#include "node/err.h"
#include "protocol/cbor.h"
#include "storage/store.h"
#include "tests/store_fixture.h"

#define N 300

struct fx {
    char dir[64];
    ent_store *store;
    ent_identity *id;
    uint8_t *raw[N]; /* copies of every entry, for the reference */
    size_t rawlen[N];
};

static int setup(void **state) {
    struct fx *f = calloc(1, sizeof(*f));
    uint8_t seed[ENT_SIG_SEED_LEN];
    memset(seed, 7, sizeof(seed));
    assert_int_equal(ent_crypto_init(), ENT_OK);
    assert_int_equal(tmp_store(&f->store, f->dir, sizeof(f->dir), "actlog", NULL),
                     ENT_OK);
    assert_int_equal(ent_identity_from_seed(&f->id, seed), ENT_OK);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fx *f = *state;
    for (size_t i = 0; i < N; i++)
        free(f->raw[i]);
    ent_store_close(f->store);
    ent_identity_free(f->id);
    rm_tree(f->dir);
    free(f);
    return 0;
}

/* Entry i: every kind but the checkpoint, objects from a set of seven so
 * that they repeat (and link), some entries without one. */
static void make_entry(ent_actlog_entry *e, uint64_t i) {
    memset(e, 0, sizeof(*e));
    e->time = 1700000000000ULL + i;
    e->kind = (uint8_t)(i % ENT_LOG_CHECKPOINT);
    if (i % 3 != 0) {
        e->has_object = true;
        memset(e->object, (int)(i % 7) + 1, 32);
    }
    if (i % 2 == 0) {
        e->has_op = true;
        ent_hash(e->op, &i, sizeof(i));
    }
    if (i % 5 != 0) {
        e->has_org = true;
        memset(e->org, 0xa5, 32);
    }
    if (e->kind == ENT_LOG_OP_REJECTED) {
        e->reason_len = (size_t)snprintf(e->reason, sizeof(e->reason),
                                         "rejected %llu: bad signature ü",
                                         (unsigned long long)i);
    }
}

struct app {
    struct fx *f;
    uint64_t first, count;
    int fail_with; /* return this after appending (abort test) */
};

static int append_fn(ent_txn *txn, void *data) {
    struct app *a = data;
    for (uint64_t i = 0; i < a->count; i++) {
        ent_actlog_entry e;
        uint64_t idx = 99;
        make_entry(&e, a->first + i);
        int rc = ent_actlog_append(txn, &e, &idx); /* unsigned */
        if (rc != ENT_OK)
            return rc;
        if (idx != a->first + i)
            return ENT_ECORRUPT;
    }
    return a->fail_with;
}

struct rd {
    struct fx *f;
    uint64_t size;
    uint8_t root[32];
    uint64_t seen;
    int bad;
};

static int root_fn(ent_txn *txn, void *data) {
    struct rd *r = data;
    return ent_actlog_root(txn, &r->size, r->root);
}

/* Reference leaf accessor over the copies, hashing the entries itself. */
static int ref_leaf(void *data, uint64_t i, uint8_t out[32]) {
    struct fx *f = data;
    uint8_t *buf = malloc(f->rawlen[i] + 1);
    buf[0] = 0x00;
    memcpy(buf + 1, f->raw[i], f->rawlen[i]);
    ent_hash(out, buf, f->rawlen[i] + 1);
    free(buf);
    return ENT_OK;
}

static int copy_fn(void *data, const ent_actlog_entry *e, const uint8_t *raw,
                   size_t len) {
    struct rd *r = data;
    struct fx *f = r->f;
    uint8_t link[32];
    if (e->index != r->seen || e->index >= N)
        return ENT_ECORRUPT;
    if (e->index == 0)
        memset(link, 0, 32);
    else
        ent_hash(link, f->raw[e->index - 1], f->rawlen[e->index - 1]);
    if (memcmp(link, e->prev, 32) != 0)
        r->bad++;
    /* version 3: an array of eleven items, no signature */
    if (len < 2 || raw[0] != 0x8b || raw[1] != ENT_ACTLOG_VERSION ||
        len > ENT_ACTLOG_ENTRY_MAX || e->version != ENT_ACTLOG_VERSION)
        r->bad++;
    /* oprev: the previous entry of the same object (the copies are in
     * index order), or the entry itself */
    uint64_t want_oprev = e->index;
    for (uint64_t k = e->index; e->has_object && k-- > 0;) {
        ent_actlog_entry o;
        if (ent_actlog_entry_decode(&o, f->raw[k], f->rawlen[k]) == ENT_OK &&
            o.has_object && memcmp(o.object, e->object, 32) == 0) {
            want_oprev = k;
            break;
        }
    }
    if (e->oprev != want_oprev || e->has_dir)
        r->bad++;
    /* the stored bytes re-encode from the decoded fields */
    uint8_t *re = NULL;
    size_t relen = 0;
    if (ent_actlog_entry_encode(e, &re, &relen) != ENT_OK ||
        relen != len || memcmp(re, raw, len) != 0)
        r->bad++;
    free(re);
    ent_actlog_entry want;
    make_entry(&want, e->index);
    if (e->kind != want.kind || e->time != want.time ||
        e->has_op != want.has_op || memcmp(e->op, want.op, 32) != 0 ||
        e->reason_len != want.reason_len ||
        memcmp(e->reason, want.reason, want.reason_len) != 0)
        r->bad++;
    free(f->raw[e->index]);
    f->raw[e->index] = malloc(len);
    memcpy(f->raw[e->index], raw, len);
    f->rawlen[e->index] = len;
    r->seen++;
    return 0;
}

static int copy_all(ent_txn *txn, void *data) {
    ((struct rd *)data)->seen = 0;
    return ent_actlog_foreach(txn, 0, copy_fn, data);
}

/* Appends in transactions of growing size; after each commit, every entry
 * is re-read, its chain and format checked, and the O(log n) root from
 * the persisted frontier compared with the root recomputed from scratch. */
static void test_append_chain_root(void **state) {
    struct fx *f = *state;
    uint64_t done = 0, step = 1;
    while (done < N) {
        struct app a = {f, done, step, ENT_OK};
        if (a.count > N - done)
            a.count = N - done;
        assert_int_equal(ent_store_write(f->store, append_fn, &a), ENT_OK);
        done += a.count;
        step = step * 2 + 1;
        struct rd r = {.f = f};
        assert_int_equal(ent_store_read(f->store, copy_all, &r), ENT_OK);
        assert_int_equal(r.seen, done);
        assert_int_equal(r.bad, 0);
        assert_int_equal(ent_store_read(f->store, root_fn, &r), ENT_OK);
        assert_int_equal(r.size, done);
        uint8_t ref[32];
        assert_int_equal(ent_merkle_root(done, ref_leaf, f, ref), ENT_OK);
        assert_memory_equal(ref, r.root, 32);
    }
}

/* ent_actlog_foreach from an index: exactly the entries from there on, in
 * order (it seeks to the index; the entries below are not visited). */
struct from_rd {
    uint64_t from, next, seen;
    int bad;
};

static int from_cb(void *data, const ent_actlog_entry *e, const uint8_t *raw,
                   size_t len) {
    struct from_rd *r = data;
    ent_actlog_entry want;
    (void)raw, (void)len;
    make_entry(&want, e->index);
    if (e->index != r->next || e->time != want.time || e->kind != want.kind)
        r->bad++;
    r->next = e->index + 1;
    r->seen++;
    return 0;
}

static int from_fn(ent_txn *txn, void *data) {
    struct from_rd *r = data;
    r->next = r->from;
    return ent_actlog_foreach(txn, r->from, from_cb, r);
}

static void test_foreach_from(void **state) {
    struct fx *f = *state;
    struct app a = {f, 0, 300, ENT_OK};
    assert_int_equal(ent_store_write(f->store, append_fn, &a), ENT_OK);
    static const uint64_t froms[] = {0, 1, 255, 256, 257, 299, 300, 301, 1000};
    for (size_t i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
        struct from_rd r = {.from = froms[i]};
        assert_int_equal(ent_store_read(f->store, from_fn, &r), ENT_OK);
        assert_int_equal(r.bad, 0);
        assert_int_equal(r.seen, froms[i] < 300 ? 300 - froms[i] : 0);
    }
}

static int abort_fn(ent_txn *txn, void *data) { return append_fn(txn, data); }

/* A write transaction that fails after appending leaves no entry, and the
 * next append takes the same index. */
static void test_abort_leaves_nothing(void **state) {
    struct fx *f = *state;
    struct app a = {f, 0, 5, ENT_OK};
    struct rd r0 = {.f = f}, r1 = {.f = f};
    assert_int_equal(ent_store_write(f->store, append_fn, &a), ENT_OK);
    assert_int_equal(ent_store_read(f->store, root_fn, &r0), ENT_OK);
    assert_int_equal(r0.size, 5);
    struct app b = {f, 5, 3, ENT_EIO};
    assert_int_equal(ent_store_write(f->store, abort_fn, &b), ENT_EIO);
    assert_int_equal(ent_store_read(f->store, root_fn, &r1), ENT_OK);
    assert_int_equal(r1.size, 5);
    assert_memory_equal(r0.root, r1.root, 32);
    /* index 5 is free again: the retry gets exactly it */
    b.fail_with = ENT_OK;
    assert_int_equal(ent_store_write(f->store, append_fn, &b), ENT_OK);
    struct rd r2 = {.f = f};
    assert_int_equal(ent_store_read(f->store, copy_all, &r2), ENT_OK);
    assert_int_equal(r2.seen, 8);
    assert_int_equal(r2.bad, 0);
}

struct headw {
    struct fx *f;
    ent_actlog_head h;
    uint64_t time;
};

static int head_fn(ent_txn *txn, void *data) {
    struct headw *w = data;
    return ent_actlog_sign_head(txn, w->f->id, w->time, &w->h);
}

static int count_heads(void *data, const ent_actlog_head *h) {
    (*(uint64_t *)data)++;
    return ent_actlog_head_verify(h) == ENT_OK ? 0 : ENT_EBADSIG;
}

static int heads_fn(ent_txn *txn, void *data) {
    return ent_actlog_heads_foreach(txn, count_heads, data);
}

/* The directory of the copies f->raw[0..n), computed from scratch: the
 * objects in the order of their first entry, each with its latest index,
 * hashed with ent_merkle_root (not through ent_dir). */
struct refdir {
    uint8_t obj[N][32];
    uint64_t last[N];
    size_t n;
};

static int refdir_leaf(void *data, uint64_t i, uint8_t out[32]) {
    struct refdir *d = data;
    uint8_t buf[40];
    memcpy(buf, d->obj[i], 32);
    for (int k = 0; k < 8; k++)
        buf[32 + k] = (uint8_t)(d->last[i] >> (56 - 8 * k));
    ent_merkle_leaf_hash(out, buf, sizeof(buf));
    return ENT_OK;
}

static void refdir(struct fx *f, uint64_t n, uint64_t *size, uint8_t root[32]) {
    struct refdir *d = calloc(1, sizeof(*d));
    for (uint64_t i = 0; i < n; i++) {
        ent_actlog_entry e;
        assert_int_equal(ent_actlog_entry_decode(&e, f->raw[i], f->rawlen[i]),
                         ENT_OK);
        if (!e.has_object)
            continue;
        size_t k = 0;
        while (k < d->n && memcmp(d->obj[k], e.object, 32) != 0)
            k++;
        if (k == d->n)
            memcpy(d->obj[d->n++], e.object, 32);
        d->last[k] = i;
    }
    *size = d->n;
    assert_int_equal(ent_merkle_root(d->n, refdir_leaf, d, root), ENT_OK);
    free(d);
}

/* Reads entries 0..n-1 into f->raw without the checks of copy_fn. */
static int raw_copy(void *data, const ent_actlog_entry *e, const uint8_t *raw,
                    size_t len) {
    struct fx *f = data;
    if (e->index >= N)
        return 1;
    free(f->raw[e->index]);
    f->raw[e->index] = malloc(len);
    memcpy(f->raw[e->index], raw, len);
    f->rawlen[e->index] = len;
    return 0;
}

static int raw_copy_fn(ent_txn *txn, void *data) {
    return ent_actlog_foreach(txn, 0, raw_copy, data);
}

/* Entry i of the log (after raw_copy_fn) is a checkpoint over i entries
 * whose directory is the one computed from scratch. */
static void assert_checkpoint(struct fx *f, uint64_t i, uint64_t time) {
    ent_actlog_entry e;
    uint64_t size;
    uint8_t root[32];
    assert_int_equal(ent_actlog_entry_decode(&e, f->raw[i], f->rawlen[i]),
                     ENT_OK);
    assert_int_equal(e.kind, ENT_LOG_CHECKPOINT);
    assert_int_equal(e.index, i);
    assert_int_equal(e.time, time);
    assert_true(e.has_dir);
    assert_false(e.has_object || e.has_op || e.has_org);
    assert_int_equal(e.oprev, i);
    refdir(f, i, &size, root);
    assert_int_equal(e.dir_size, size);
    assert_memory_equal(e.dir_root, root, 32);
}

static void test_heads(void **state) {
    struct fx *f = *state;
    struct headw w = {.f = f, .time = 5};
    uint64_t nheads = 0;
    /* the empty log: signed, not stored, no checkpoint */
    assert_int_equal(ent_store_write(f->store, head_fn, &w), ENT_OK);
    assert_int_equal(w.h.size, 0);
    assert_int_equal(ent_actlog_head_verify(&w.h), ENT_OK);
    uint8_t empty[32];
    ent_merkle_empty_root(empty);
    assert_memory_equal(w.h.root, empty, 32);
    assert_int_equal(ent_store_read(f->store, heads_fn, &nheads), ENT_OK);
    assert_int_equal(nheads, 0);

    /* ten entries: the head covers them and the checkpoint appended */
    struct app a = {f, 0, 10, ENT_OK};
    assert_int_equal(ent_store_write(f->store, append_fn, &a), ENT_OK);
    w.time = 10;
    assert_int_equal(ent_store_write(f->store, head_fn, &w), ENT_OK);
    ent_actlog_head h11 = w.h;
    assert_int_equal(h11.size, 11);
    assert_memory_equal(h11.org, ent_identity_public(f->id), 32);
    assert_int_equal(ent_actlog_head_verify(&h11), ENT_OK);
    assert_int_equal(ent_store_read(f->store, raw_copy_fn, f), ENT_OK);
    assert_checkpoint(f, 10, 10);
    /* a second signing adds no checkpoint and returns the stored head */
    w.time = 11;
    assert_int_equal(ent_store_write(f->store, head_fn, &w), ENT_OK);
    assert_int_equal(w.h.size, 11);
    assert_int_equal(w.h.time, 10);
    assert_memory_equal(w.h.sig, h11.sig, 64);
    /* any changed field breaks the signature */
    ent_actlog_head t = h11;
    t.size++;
    assert_int_equal(ent_actlog_head_verify(&t), ENT_EBADSIG);
    t = h11;
    t.root[3] ^= 1;
    assert_int_equal(ent_actlog_head_verify(&t), ENT_EBADSIG);
    t = h11;
    t.time++;
    assert_int_equal(ent_actlog_head_verify(&t), ENT_EBADSIG);
    /* codec round trip, and no trailing byte accepted */
    uint8_t buf[ENT_ACTLOG_HEAD_MAX + 1];
    size_t n = 0;
    assert_int_equal(ent_actlog_head_encode(&h11, true, buf, sizeof(buf), &n),
                     ENT_OK);
    assert_int_equal(ent_actlog_head_decode(&t, buf, n), ENT_OK);
    assert_memory_equal(&t, &h11, sizeof(t));
    buf[n] = 0;
    assert_int_not_equal(ent_actlog_head_decode(&t, buf, n + 1), ENT_OK);
    assert_int_not_equal(ent_actlog_head_decode(&t, buf, n - 1), ENT_OK);

    /* seven more (objects seen before and new ones): a second checkpoint
     * whose directory covers all 18 entries before it */
    struct app b = {f, 11, 7, ENT_OK};
    assert_int_equal(ent_store_write(f->store, append_fn, &b), ENT_OK);
    w.time = 12;
    assert_int_equal(ent_store_write(f->store, head_fn, &w), ENT_OK);
    assert_int_equal(w.h.size, 19);
    assert_int_equal(ent_store_read(f->store, raw_copy_fn, f), ENT_OK);
    assert_checkpoint(f, 18, 12);
    nheads = 0;
    assert_int_equal(ent_store_read(f->store, heads_fn, &nheads), ENT_OK);
    assert_int_equal(nheads, 2);
}

struct pr {
    struct fx *f;
    int checked;
};

/* Every inclusion proof of every index in trees of sizes 1..40 and every
 * consistency proof between them, generated from the store, verifies
 * against roots recomputed from the entry copies; wrong ones do not. */
static int proofs_fn(ent_txn *txn, void *data) {
    struct pr *p = data;
    uint8_t path[ENT_MERKLE_MAX_PROOF][32], roots[41][32], leaf[32];
    size_t len;
    for (uint64_t n = 1; n <= 40; n++)
        if (ent_merkle_root(n, ref_leaf, p->f, roots[n]) != ENT_OK)
            return ENT_ECORRUPT;
    for (uint64_t n = 1; n <= 40; n++) {
        for (uint64_t i = 0; i < n; i++) {
            if (ent_actlog_inclusion_proof(txn, i, n, path,
                                           ENT_MERKLE_MAX_PROOF,
                                           &len) != ENT_OK)
                return ENT_ECORRUPT;
            ref_leaf(p->f, i, leaf);
            if (ent_merkle_verify_inclusion(i, n, leaf,
                                            (const uint8_t(*)[32])path, len,
                                            roots[n]) != ENT_OK)
                return ENT_ECORRUPT;
            leaf[0] ^= 1;
            if (ent_merkle_verify_inclusion(i, n, leaf,
                                            (const uint8_t(*)[32])path, len,
                                            roots[n]) == ENT_OK)
                return ENT_ECORRUPT;
            p->checked++;
        }
        for (uint64_t m = 1; m <= n; m++) {
            if (ent_actlog_consistency_proof(txn, m, n, path,
                                             ENT_MERKLE_MAX_PROOF,
                                             &len) != ENT_OK ||
                ent_merkle_verify_consistency(m, n, roots[m], roots[n],
                                              (const uint8_t(*)[32])path,
                                              len) != ENT_OK)
                return ENT_ECORRUPT;
            uint8_t bad[32];
            memcpy(bad, roots[m], 32);
            bad[5] ^= 0x10;
            if (ent_merkle_verify_consistency(m, n, bad, roots[n],
                                              (const uint8_t(*)[32])path,
                                              len) == ENT_OK)
                return ENT_ECORRUPT;
            p->checked++;
        }
    }
    /* beyond the log: refused */
    if (ent_actlog_inclusion_proof(txn, 0, 41, path, ENT_MERKLE_MAX_PROOF,
                                   &len) != ENT_EINVAL)
        return ENT_ECORRUPT;
    return ENT_OK;
}

static void test_proofs_from_store(void **state) {
    struct fx *f = *state;
    struct app a = {f, 0, 40, ENT_OK};
    assert_int_equal(ent_store_write(f->store, append_fn, &a), ENT_OK);
    struct rd r = {.f = f};
    assert_int_equal(ent_store_read(f->store, copy_all, &r), ENT_OK);
    struct pr p = {f, 0};
    assert_int_equal(ent_store_read(f->store, proofs_fn, &p), ENT_OK);
    assert_int_equal(p.checked, 40 * 41); /* 820 inclusion + 820 consistency */
}

/* ---- kept subtrees: proofs identical to the full recompute ------------ */

#define BIG 3000

/* The leaf hashes as stored, for the reference recompute. */
static int store_leaf(void *data, uint64_t i, uint8_t out[32]) {
    const uint8_t *b;
    size_t n;
    return ent_actlog_get(data, i, &b, &n, out);
}

static uint64_t rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random sizes, ranges and indexes: the proofs from the kept subtrees
 * (ent_actlog_*_proof) equal the RFC 9162 proofs recomputed from every
 * leaf (ent_merkle_*_proof), hash for hash. */
static int same_proofs_fn(ent_txn *txn, void *data) {
    uint64_t *checked = data, s = 0x9e3779b97f4a7c15ULL, size;
    uint8_t a[ENT_MERKLE_MAX_PROOF][32], b[ENT_MERKLE_MAX_PROOF][32], root[32];
    size_t la, lb;
    int rc = ent_actlog_root(txn, &size, root);
    if (rc != ENT_OK)
        return rc;
    for (int k = 0; k < 600; k++) {
        uint64_t n = 1 + rnd(&s) % size, m = 1 + rnd(&s) % n;
        if (k % 7 == 0)
            n = size; /* the whole log, the usual request */
        if (k % 11 == 0)
            m = n;
        if (m > n)
            m = n;
        if (ent_actlog_consistency_proof(txn, m, n, a, ENT_MERKLE_MAX_PROOF,
                                         &la) != ENT_OK ||
            ent_merkle_consistency_proof(m, n, store_leaf, txn, b,
                                         ENT_MERKLE_MAX_PROOF, &lb) != ENT_OK ||
            la != lb || memcmp(a, b, la * 32) != 0)
            return ENT_ECORRUPT;
        uint64_t i = rnd(&s) % n;
        if (ent_actlog_inclusion_proof(txn, i, n, a, ENT_MERKLE_MAX_PROOF,
                                       &la) != ENT_OK ||
            ent_merkle_inclusion_proof(i, n, store_leaf, txn, b,
                                       ENT_MERKLE_MAX_PROOF, &lb) != ENT_OK ||
            la != lb || memcmp(a, b, la * 32) != 0)
            return ENT_ECORRUPT;
        *checked += 2;
    }
    return ENT_OK;
}

static int tree_rows_scan(void *data, const void *key, size_t klen,
                          const void *val, size_t vlen) {
    if (klen == 13) /* "tree" || level || index */
        ++*(size_t *)data;
    return 0;
}

static int tree_rows_fn(ent_txn *txn, void *data) {
    return ent_txn_scan(txn, ENT_TBL_LOG_META, "tree", 4, tree_rows_scan,
                        data);
}

static size_t tree_rows(struct fx *f) {
    size_t n = 0;
    assert_int_equal(ent_store_read(f->store, tree_rows_fn, &n), ENT_OK);
    return n;
}

/* What a store an older binary wrote looks like: no kept subtree. */
static int drop_tree_scan(void *data, const void *key, size_t klen,
                          const void *val, size_t vlen) {
    uint8_t (*keys)[16] = data;
    for (int i = 0; i < 4096; i++)
        if (keys[i][15] == 0) {
            memcpy(keys[i], key, klen);
            keys[i][15] = (uint8_t)klen;
            return 0;
        }
    return ENT_ENOMEM;
}

static int drop_tree_fn(ent_txn *txn, void *data) {
    uint8_t (*keys)[16] = calloc(4096, 16);
    int rc = ent_txn_scan(txn, ENT_TBL_LOG_META, "tree", 4, drop_tree_scan,
                          keys);
    for (int i = 0; i < 4096 && rc == ENT_OK && keys[i][15] != 0; i++)
        rc = ent_txn_del(txn, ENT_TBL_LOG_META, keys[i], keys[i][15]);
    free(keys);
    return rc;
}

static void test_proofs_kept_subtrees(void **state) {
    struct fx *f = *state;
    uint64_t checked = 0;
    for (uint64_t at = 0; at < BIG; at += 500) {
        struct app a = {f, at, 500, ENT_OK};
        assert_int_equal(ent_store_write(f->store, append_fn, &a), ENT_OK);
    }
    /* one row per completed subtree of 16 leaves or more: BIG/16 + BIG/32
     * + ... */
    size_t want = 0;
    for (unsigned l = ENT_ACTLOG_TREE_MIN_LEVEL; l < 63; l++)
        want += (uint64_t)BIG >> l;
    assert_int_equal(tree_rows(f), want);
    assert_int_equal(ent_store_read(f->store, same_proofs_fn, &checked),
                     ENT_OK);
    assert_int_equal(checked, 1200);
    /* a log without them (an older binary) gets them on its next append */
    assert_int_equal(ent_store_write(f->store, drop_tree_fn, NULL), ENT_OK);
    assert_int_equal(tree_rows(f), 0);
    assert_int_equal(ent_store_read(f->store, same_proofs_fn, &checked),
                     ENT_OK); /* still right, only slower */
    struct app a = {f, BIG, 1, ENT_OK};
    assert_int_equal(ent_store_write(f->store, append_fn, &a), ENT_OK);
    want = 0;
    for (unsigned l = ENT_ACTLOG_TREE_MIN_LEVEL; l < 63; l++)
        want += ((uint64_t)BIG + 1) >> l;
    assert_int_equal(tree_rows(f), want);
    assert_int_equal(ent_store_read(f->store, same_proofs_fn, &checked),
                     ENT_OK);
}

static int bad_fn(ent_txn *txn, void *data) {
    ent_actlog_entry e;
    make_entry(&e, 1);
    e.kind = ENT_LOG_KIND__COUNT;
    if (ent_actlog_append(txn, &e, NULL) != ENT_EINVAL)
        return ENT_ECORRUPT;
    /* checkpoints come from ent_actlog_sign_head only */
    memset(&e, 0, sizeof(e));
    e.kind = ENT_LOG_CHECKPOINT;
    if (ent_actlog_append(txn, &e, NULL) != ENT_EINVAL)
        return ENT_ECORRUPT;
    e.has_dir = true;
    if (ent_actlog_append(txn, &e, NULL) != ENT_EINVAL)
        return ENT_ECORRUPT;
    make_entry(&e, 1);
    e.reason_len = ENT_ACTLOG_REASON_MAX + 1;
    if (ent_actlog_append(txn, &e, NULL) != ENT_EINVAL)
        return ENT_ECORRUPT;
    make_entry(&e, 1);
    e.has_object = false; /* object bytes still set */
    if (ent_actlog_append(txn, &e, NULL) != ENT_EINVAL)
        return ENT_ECORRUPT;
    make_entry(&e, 1);
    e.reason[0] = (char)0xff; /* not UTF-8 */
    e.reason_len = 1;
    if (ent_actlog_append(txn, &e, NULL) != ENT_EINVAL)
        return ENT_ECORRUPT;
    return ENT_OK;
}

/* Invalid entries are refused, and the decoder refuses every truncation,
 * extension and one-byte change that would make another encoding. */
static void test_invalid(void **state) {
    struct fx *f = *state;
    assert_int_equal(ent_store_write(f->store, bad_fn, f), ENT_OK);
    ent_actlog_entry e, d;
    make_entry(&e, 2);
    uint8_t *buf = NULL;
    size_t n = 0;
    assert_int_equal(ent_actlog_entry_encode(&e, &buf, &n), ENT_OK);
    assert_int_equal(ent_actlog_entry_decode(&d, buf, n), ENT_OK);
    for (size_t k = 0; k < n; k++)
        assert_int_not_equal(ent_actlog_entry_decode(&d, buf, k), ENT_OK);
    uint8_t *ext = malloc(n + 1);
    memcpy(ext, buf, n);
    ext[n] = 0;
    assert_int_not_equal(ent_actlog_entry_decode(&d, ext, n + 1), ENT_OK);
    free(ext);
    free(buf);
}

/* Writes entry make_entry(2) at index 2 as `items` items of version
 * `version`: the nine items every version begins with, then for ten items
 * a 64-byte string (the old signature of version 1), for eleven oprev and
 * a dir of dirlen bytes. */
static size_t write_raw(uint8_t *out, size_t cap, uint64_t version,
                        size_t items, uint64_t oprev, size_t dirlen) {
    ent_actlog_entry e;
    uint8_t sig[64], dir[64];
    ent_cbor_writer w;
    make_entry(&e, 2);
    memset(sig, 0x5a, sizeof(sig));
    memset(dir, 0x33, sizeof(dir));
    ent_cbor_writer_init(&w, out, cap);
    ent_cbor_write_array(&w, items);
    ent_cbor_write_uint(&w, version);
    ent_cbor_write_uint(&w, 2);
    ent_cbor_write_uint(&w, e.time);
    ent_cbor_write_uint(&w, e.kind);
    ent_cbor_write_bytes(&w, e.object, e.has_object ? 32 : 0);
    ent_cbor_write_bytes(&w, e.op, e.has_op ? 32 : 0);
    ent_cbor_write_bytes(&w, e.org, e.has_org ? 32 : 0);
    ent_cbor_write_text(&w, e.reason, e.reason_len);
    ent_cbor_write_bytes(&w, e.prev, 32);
    if (items == 10)
        ent_cbor_write_bytes(&w, sig, sizeof(sig));
    if (items == 11) {
        ent_cbor_write_uint(&w, oprev);
        ent_cbor_write_bytes(&w, dir, dirlen);
    }
    assert_int_equal(w.err, ENT_OK);
    return w.len;
}

/* Entries are eleven items of version 3 with no signature, ending in oprev
 * and dir; version-2 entries (nine items) still decode and re-encode to
 * the same bytes; the signed 10-item entries of version 1, any other
 * version or shape, and version-3 entries that break the rules of
 * spec/audit.md §7 are refused. */
static void test_format(void **state) {
    ent_actlog_entry e, d;
    uint8_t raw[600], *buf = NULL;
    size_t n = 0, m;
    make_entry(&e, 2); /* an object, an op, an org */
    e.index = 2;
    e.oprev = 1;
    assert_int_equal(ent_actlog_entry_encode(&e, &buf, &n), ENT_OK);
    assert_int_equal(buf[0], 0x8b); /* array of 11 */
    assert_int_equal(buf[1], 0x03); /* version 3 */
    /* prev (32 bytes), then oprev and the empty dir, nothing after */
    assert_int_equal(buf[n - 36], 0x58);
    assert_int_equal(buf[n - 35], 32);
    assert_memory_equal(buf + n - 34, e.prev, 32);
    assert_int_equal(buf[n - 2], 0x01);
    assert_int_equal(buf[n - 1], 0x40);
    /* write_raw reproduces the encoder byte for byte */
    m = write_raw(raw, sizeof(raw), 3, 11, 1, 0);
    assert_int_equal(m, n);
    assert_memory_equal(raw, buf, n);
    assert_int_equal(ent_actlog_entry_decode(&d, raw, m), ENT_OK);
    assert_int_equal(d.version, 3);
    assert_int_equal(d.index, 2);
    assert_int_equal(d.oprev, 1);
    assert_false(d.has_dir);
    assert_memory_equal(d.object, e.object, 32);
    free(buf);

    /* version 2: nine items, read with oprev = index, written back alike */
    m = write_raw(raw, sizeof(raw), 2, 9, 0, 0);
    assert_int_equal(raw[0], 0x89);
    assert_int_equal(ent_actlog_entry_decode(&d, raw, m), ENT_OK);
    assert_int_equal(d.version, 2);
    assert_int_equal(d.oprev, 2);
    assert_int_equal(ent_actlog_entry_encode(&d, &buf, &n), ENT_OK);
    assert_int_equal(n, m);
    assert_memory_equal(buf, raw, m);
    free(buf);

    /* the old format: ten items, version 1, a signature */
    m = write_raw(raw, sizeof(raw), 1, 10, 0, 0);
    assert_int_equal(raw[0], 0x8a);
    assert_int_equal(ent_actlog_entry_decode(&d, raw, m), ENT_EVERSION);
    /* other versions, and versions in the wrong shape */
    m = write_raw(raw, sizeof(raw), 1, 9, 0, 0);
    assert_int_equal(ent_actlog_entry_decode(&d, raw, m), ENT_EVERSION);
    m = write_raw(raw, sizeof(raw), 4, 11, 1, 0);
    assert_int_equal(ent_actlog_entry_decode(&d, raw, m), ENT_EVERSION);
    m = write_raw(raw, sizeof(raw), 0, 9, 0, 0);
    assert_int_equal(ent_actlog_entry_decode(&d, raw, m), ENT_EVERSION);
    m = write_raw(raw, sizeof(raw), 2, 10, 0, 0);
    assert_int_equal(ent_actlog_entry_decode(&d, raw, m), ENT_ECORRUPT);
    m = write_raw(raw, sizeof(raw), 2, 11, 1, 0);
    assert_int_equal(ent_actlog_entry_decode(&d, raw, m), ENT_ECORRUPT);
    m = write_raw(raw, sizeof(raw), 3, 9, 0, 0);
    assert_int_equal(ent_actlog_entry_decode(&d, raw, m), ENT_ECORRUPT);
    m = write_raw(raw, sizeof(raw), 3, 10, 0, 0);
    assert_int_equal(ent_actlog_entry_decode(&d, raw, m), ENT_ECORRUPT);
    /* the rules: oprev at most index; a dir only in a checkpoint, and of
     * 40 bytes */
    m = write_raw(raw, sizeof(raw), 3, 11, 2, 0);
    assert_int_equal(ent_actlog_entry_decode(&d, raw, m), ENT_OK);
    m = write_raw(raw, sizeof(raw), 3, 11, 3, 0);
    assert_int_equal(ent_actlog_entry_decode(&d, raw, m), ENT_ECORRUPT);
    m = write_raw(raw, sizeof(raw), 3, 11, 1, 40);
    assert_int_equal(ent_actlog_entry_decode(&d, raw, m), ENT_ECORRUPT);
    m = write_raw(raw, sizeof(raw), 3, 11, 1, 39);
    assert_int_equal(ent_actlog_entry_decode(&d, raw, m), ENT_ECORRUPT);

    /* a checkpoint: no object, op, org or reason, oprev = index, a dir */
    ent_actlog_entry c;
    memset(&c, 0, sizeof(c));
    c.index = 9;
    c.oprev = 9;
    c.kind = ENT_LOG_CHECKPOINT;
    c.has_dir = true;
    c.dir_size = 3;
    memset(c.dir_root, 0x44, 32);
    assert_int_equal(ent_actlog_entry_encode(&c, &buf, &n), ENT_OK);
    assert_int_equal(buf[n - 42], 0x58);
    assert_int_equal(buf[n - 41], 40);
    assert_int_equal(buf[n - 33], 3); /* size, big-endian */
    assert_int_equal(ent_actlog_entry_decode(&d, buf, n), ENT_OK);
    assert_int_equal(d.dir_size, 3);
    assert_memory_equal(d.dir_root, c.dir_root, 32);
    free(buf);
    ent_actlog_entry x = c;
    x.has_dir = false;
    x.dir_size = 0;
    memset(x.dir_root, 0, 32);
    assert_int_equal(ent_actlog_entry_encode(&x, &buf, &n), ENT_EINVAL);
    x = c;
    x.has_object = true;
    x.object[0] = 1;
    assert_int_equal(ent_actlog_entry_encode(&x, &buf, &n), ENT_EINVAL);
    x = c;
    x.oprev = 8;
    assert_int_equal(ent_actlog_entry_encode(&x, &buf, &n), ENT_EINVAL);
    x = c;
    x.reason_len = 1;
    x.reason[0] = 'x';
    assert_int_equal(ent_actlog_entry_encode(&x, &buf, &n), ENT_EINVAL);
    x = c;
    x.version = 2; /* no checkpoints in version 2 */
    assert_int_equal(ent_actlog_entry_encode(&x, &buf, &n), ENT_EINVAL);
}

/* The largest entry is exactly ENT_ACTLOG_ENTRY_MAX = 426 bytes; longer
 * inputs are refused. */
static void test_size_bound(void **state) {
    ent_actlog_entry e, d;
    uint8_t *buf = NULL, big[ENT_ACTLOG_ENTRY_MAX + 200];
    size_t n = 0;
    assert_int_equal(ENT_ACTLOG_ENTRY_MAX, 426);
    memset(&e, 0, sizeof(e));
    e.index = UINT64_MAX;
    e.oprev = UINT64_MAX - 1;
    e.time = UINT64_MAX;
    e.kind = ENT_LOG_OP_REJECTED;
    e.has_object = e.has_op = e.has_org = true;
    memset(e.object, 1, 32);
    memset(e.op, 2, 32);
    memset(e.org, 3, 32);
    memset(e.prev, 4, 32);
    memset(e.reason, 'x', ENT_ACTLOG_REASON_MAX);
    e.reason_len = ENT_ACTLOG_REASON_MAX;
    assert_int_equal(ent_actlog_entry_encode(&e, &buf, &n), ENT_OK);
    assert_int_equal(n, 426);
    assert_int_equal(ent_actlog_entry_decode(&d, buf, n), ENT_OK);
    assert_int_equal(d.index, UINT64_MAX);
    /* one reason byte more is not an entry */
    e.reason_len = ENT_ACTLOG_REASON_MAX + 1;
    uint8_t *x = NULL;
    assert_int_equal(ent_actlog_entry_encode(&e, &x, &n), ENT_EINVAL);
    /* the largest checkpoint is far below */
    ent_actlog_entry c;
    memset(&c, 0, sizeof(c));
    c.index = c.oprev = c.time = c.dir_size = UINT64_MAX;
    c.kind = ENT_LOG_CHECKPOINT;
    c.has_dir = true;
    assert_int_equal(ent_actlog_entry_encode(&c, &x, &n), ENT_OK);
    assert_true(n < 426);
    free(x);
    /* anything past the decoder's read bound is too big */
    memset(big, 0, sizeof(big));
    memcpy(big, buf, 426);
    assert_int_equal(ent_actlog_entry_decode(&d, big, sizeof(big)),
                     ENT_ETOOBIG);
    free(buf);
}

/* Writes k entries of version 2 straight into the tables, the way a node
 * stored them before version 3: no oprev, no directory rows. */
struct v2w {
    uint64_t k;
};

static int write_v2_fn(ent_txn *txn, void *data) {
    struct v2w *v = data;
    ent_merkle_frontier fr;
    uint8_t prev[32] = {0}, fbuf[ENT_MERKLE_FRONTIER_MAX_LEN];
    size_t flen = 0;
    int rc;
    ent_merkle_frontier_init(&fr);
    for (uint64_t i = 0; i < v->k; i++) {
        ent_actlog_entry e;
        uint8_t *raw = NULL, *val, key[8];
        size_t n = 0;
        make_entry(&e, i);
        e.version = 2;
        e.index = e.oprev = i;
        memcpy(e.prev, prev, 32);
        if ((rc = ent_actlog_entry_encode(&e, &raw, &n)) != ENT_OK)
            return rc;
        ent_hash(prev, raw, n);
        val = malloc(32 + n);
        ent_merkle_leaf_hash(val, raw, n);
        memcpy(val + 32, raw, n);
        for (int b = 0; b < 8; b++)
            key[b] = (uint8_t)(i >> (56 - 8 * b));
        rc = ent_txn_put(txn, ENT_TBL_LOG, key, 8, val, 32 + n,
                         ENT_PUT_APPEND);
        if (rc == ENT_OK)
            rc = ent_merkle_frontier_append(&fr, val);
        free(val);
        free(raw);
        if (rc != ENT_OK)
            return rc;
    }
    if ((rc = ent_merkle_frontier_encode(&fr, fbuf, sizeof(fbuf), &flen)) !=
        ENT_OK)
        return rc;
    return ent_txn_put(txn, ENT_TBL_LOG_META, "frontier", 8, fbuf, flen, 0);
}

struct dirq {
    uint64_t size;
    uint8_t root[32];
};

static int dirq_fn(ent_txn *txn, void *data) {
    struct dirq *q = data;
    return ent_actlog_directory(txn, &q->size, q->root);
}

/* A log of version-2 entries (written before version 3) keeps working:
 * the first append builds the directory from them, so the new entry
 * links to the latest old entry of its object and the first checkpoint
 * covers the old entries too. */
static void test_v2_log_upgrade(void **state) {
    struct fx *f = *state;
    struct v2w v = {20};
    assert_int_equal(ent_store_write(f->store, write_v2_fn, &v), ENT_OK);
    uint64_t size;
    uint8_t root[32];
    struct rd r = {.f = f};
    assert_int_equal(ent_store_read(f->store, root_fn, &r), ENT_OK);
    assert_int_equal(r.size, 20);
    /* a read transaction tells the directory without building it */
    struct dirq q;
    assert_int_equal(ent_store_read(f->store, raw_copy_fn, f), ENT_OK);
    refdir(f, 20, &size, root);
    assert_int_equal(ent_store_read(f->store, dirq_fn, &q), ENT_OK);
    assert_int_equal(q.size, size);
    assert_memory_equal(q.root, root, 32);
    /* append entries 20..29 (objects of the old entries among them) */
    struct app a = {f, 20, 10, ENT_OK};
    assert_int_equal(ent_store_write(f->store, append_fn, &a), ENT_OK);
    assert_int_equal(ent_store_read(f->store, raw_copy_fn, f), ENT_OK);
    for (uint64_t i = 20; i < 30; i++) {
        ent_actlog_entry e;
        assert_int_equal(
            ent_actlog_entry_decode(&e, f->raw[i], f->rawlen[i]), ENT_OK);
        assert_int_equal(e.version, 3);
        uint64_t want = i;
        for (uint64_t k = i; e.has_object && k-- > 0;) {
            ent_actlog_entry o;
            assert_int_equal(
                ent_actlog_entry_decode(&o, f->raw[k], f->rawlen[k]), ENT_OK);
            if (o.has_object && memcmp(o.object, e.object, 32) == 0) {
                want = k;
                break;
            }
        }
        assert_int_equal(e.oprev, want);
    }
    struct headw w = {.f = f, .time = 77};
    assert_int_equal(ent_store_write(f->store, head_fn, &w), ENT_OK);
    assert_int_equal(w.h.size, 31);
    assert_int_equal(ent_store_read(f->store, raw_copy_fn, f), ENT_OK);
    assert_checkpoint(f, 30, 77);
}

/* The rows of a schema-6 directory put back as schema 5 kept them: each
 * "obj_local" row object || 'd' becomes "log_meta" 'o' || object, and
 * meta "schema" says 5. */
struct v5 {
    uint8_t k[64][33], v[64][16];
    size_t n;
};

static int v5_scan(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    struct v5 *r = data;
    if (klen != 33 || ((const uint8_t *)key)[32] != 'd')
        return 0;
    if (vlen != 16 || r->n == 64)
        return ENT_ECORRUPT;
    memcpy(r->k[r->n], key, 33);
    memcpy(r->v[r->n++], val, 16);
    return 0;
}

static int to_v5_fn(ent_txn *txn, void *data) {
    struct v5 *r = data;
    int rc = ent_txn_scan(txn, ENT_TBL_OBJ_LOCAL, NULL, 0, v5_scan, r);
    for (size_t i = 0; rc == ENT_OK && i < r->n; i++) {
        uint8_t ok[33];
        ok[0] = 'o';
        memcpy(ok + 1, r->k[i], 32);
        rc = ent_txn_put(txn, ENT_TBL_LOG_META, ok, 33, r->v[i], 16, 0);
        if (rc == ENT_OK)
            rc = ent_txn_del(txn, ENT_TBL_OBJ_LOCAL, r->k[i], 33);
    }
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_META, "schema", 6, "\0\0\0\5", 4, 0);
    return rc;
}

struct firsts {
    uint64_t first[8];
    uint64_t o_rows;
};

static int o_rows_scan(void *data, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    ((struct firsts *)data)->o_rows++;
    return 0;
}

/* The first entry of each object 1..7 (make_entry), and the "log_meta"
 * rows under 'o'. */
static int firsts_fn(ent_txn *txn, void *data) {
    struct firsts *q = data;
    for (int o = 1; o <= 7; o++) {
        uint8_t obj[32];
        memset(obj, o, 32);
        int rc = ent_actlog_object_first(txn, obj, &q->first[o]);
        if (rc != ENT_OK)
            return rc;
    }
    q->o_rows = 0;
    return ent_txn_scan(txn, ENT_TBL_LOG_META, "o", 1, o_rows_scan, q);
}

/* A store of schema 5, whose directory rows are in "log_meta" under 'o',
 * opens at schema 6 with the same directory and the same first entry of
 * each object, and appends and checkpoints on from there. */
static void test_schema5_directory(void **state) {
    struct fx *f = *state;
    struct app a = {f, 0, 20, ENT_OK};
    struct headw w = {.f = f, .time = 20};
    struct v5 *r = calloc(1, sizeof(*r));
    struct dirq q0, q1;
    struct firsts f0 = {{0}, 0}, f1 = {{0}, 0};
    uint32_t v = 0;
    assert_int_equal(ent_store_write(f->store, append_fn, &a), ENT_OK);
    assert_int_equal(ent_store_write(f->store, head_fn, &w), ENT_OK);
    assert_int_equal(ent_store_read(f->store, dirq_fn, &q0), ENT_OK);
    assert_int_equal(ent_store_read(f->store, firsts_fn, &f0), ENT_OK);
    assert_int_equal(f0.o_rows, 0);
    assert_int_equal(ent_store_write(f->store, to_v5_fn, r), ENT_OK);
    assert_int_equal(r->n, 7);
    ent_store_close(f->store);
    f->store = NULL;
    assert_int_equal(ent_store_open(&f->store, f->dir, 0, NULL), ENT_OK);
    assert_int_equal(ent_store_schema(f->store, &v), ENT_OK);
    assert_int_equal(v, ENT_STORE_SCHEMA);
    assert_int_equal(ent_store_read(f->store, dirq_fn, &q1), ENT_OK);
    assert_int_equal(q1.size, q0.size);
    assert_memory_equal(q1.root, q0.root, 32);
    assert_int_equal(ent_store_read(f->store, firsts_fn, &f1), ENT_OK);
    assert_memory_equal(f1.first, f0.first, sizeof(f0.first));
    assert_int_equal(f1.o_rows, 0);
    /* entries 21..30 link to the moved rows; the checkpoint covers all */
    struct app b = {f, 21, 10, ENT_OK};
    assert_int_equal(ent_store_write(f->store, append_fn, &b), ENT_OK);
    w.time = 31;
    assert_int_equal(ent_store_write(f->store, head_fn, &w), ENT_OK);
    assert_int_equal(ent_store_read(f->store, raw_copy_fn, f), ENT_OK);
    assert_checkpoint(f, 31, 31);
    free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_chain_root, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_foreach_from, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_heads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proofs_from_store, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proofs_kept_subtrees, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_v2_log_upgrade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema5_directory, setup,
                                        teardown),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_size_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
