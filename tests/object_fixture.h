/*
 * object_fixture.h - helpers shared by object_test.c and merge_test.c:
 * a node = temporary store + identity + object engine with a fake clock.
 * Header-only (static functions) so that each test binary stays one file.
 */
#ifndef ENT_OBJECT_FIXTURE_H
#define ENT_OBJECT_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "node/err.h"
#include "node/objects/object.h"
#include "storage/store.h"

typedef struct tnode {
    char dir[64];
    ent_store *store;
    ent_identity *id;
    ent_objects *eng;
    uint64_t now; /* fake wall clock, ms */
    ent_log log;
} tnode;

static uint64_t tnode_clock(void *data) {
    return *(const uint64_t *)data;
}

static int rm_cb(const char *p, const struct stat *sb, int flag,
                 struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline void tnode_close(tnode *n) {
    ent_objects_free(n->eng);
    ent_store_close(n->store);
    ent_identity_free(n->id);
    n->eng = NULL;
    n->store = NULL;
    n->id = NULL;
    if (n->dir[0])
        nftw(n->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    n->dir[0] = 0;
}

/* Opens a fresh node whose identity comes from seed byte s. */
static inline int tnode_open(tnode *n, uint8_t s) {
    uint8_t seed[ENT_SIG_SEED_LEN];
    memset(n, 0, sizeof(*n));
    memset(seed, s, sizeof(seed));
    /* tmpfs when there is one: thousands of commits, no fsync cost */
    snprintf(n->dir, sizeof(n->dir), "%s/ent_obj_XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (ent_crypto_init() != ENT_OK || mkdtemp(n->dir) == NULL)
        return -1;
    ent_log_init(&n->log, ENT_LOG_ERROR, "obj");
    n->now = 1700000000000ULL;
    ent_store_opts o = {.map_size = (size_t)8 << 20};
    if (ent_store_open_ex(&n->store, n->dir, ENT_STORE_CREATE, NULL, &o) !=
            ENT_OK ||
        ent_identity_from_seed(&n->id, seed) != ENT_OK)
        return -1;
    ent_objects_config cfg = {.store = n->store,
                              .id = n->id,
                              .log = &n->log,
                              .clock = tnode_clock,
                              .clock_data = &n->now};
    return ent_objects_new(&n->eng, &cfg) == ENT_OK ? 0 : -1;
}

static inline const uint8_t *tnode_pk(const tnode *n) {
    return ent_identity_public(n->id);
}

/* All entries of all tables, concatenated (for before/after comparisons). */
typedef struct tdump {
    uint8_t *buf;
    size_t len;
} tdump;

static int dump_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    tdump *d = data;
    uint8_t *nb = realloc(d->buf, d->len + klen + vlen + 16);
    if (nb == NULL)
        return ENT_ENOMEM;
    d->buf = nb;
    memcpy(d->buf + d->len, &klen, sizeof(klen));
    d->len += sizeof(klen);
    memcpy(d->buf + d->len, key, klen);
    d->len += klen;
    memcpy(d->buf + d->len, &vlen, sizeof(vlen));
    d->len += sizeof(vlen);
    memcpy(d->buf + d->len, val, vlen);
    d->len += vlen;
    return 0;
}

/* Every table but the activity log: a refused op changes nothing else, and
 * appends exactly one op_rejected entry to the log (checked separately). */
static int dump_fn(ent_txn *txn, void *data) {
    for (int t = 0; t < ENT_TBL__COUNT; t++) {
        if (t == ENT_TBL_LOG || t == ENT_TBL_LOG_META)
            continue;
        int rc = ent_txn_scan(txn, (ent_table)t, NULL, 0, dump_scan, data);
        if (rc != ENT_OK)
            return rc;
        uint8_t sep = 0xee;
        dump_scan(data, &sep, 1, &sep, 1);
    }
    return ENT_OK;
}

static inline tdump tnode_dump(tnode *n) {
    tdump d = {0};
    if (ent_store_read(n->store, dump_fn, &d) != ENT_OK) {
        free(d.buf);
        d.buf = NULL;
        d.len = 0;
    }
    return d;
}

static inline int tdump_equal(const tdump *a, const tdump *b) {
    return a->len == b->len && memcmp(a->buf, b->buf, a->len) == 0;
}

/* Every stored op of object id on node n, copied. */
typedef struct tops {
    uint8_t **raw;
    size_t *len;
    size_t n;
} tops;

static int tops_cb(void *data, const uint8_t *raw, size_t len) {
    tops *t = data;
    t->raw = realloc(t->raw, (t->n + 1) * sizeof(*t->raw));
    t->len = realloc(t->len, (t->n + 1) * sizeof(*t->len));
    if (t->raw == NULL || t->len == NULL)
        return ENT_ENOMEM;
    t->raw[t->n] = malloc(len);
    if (t->raw[t->n] == NULL)
        return ENT_ENOMEM;
    memcpy(t->raw[t->n], raw, len);
    t->len[t->n++] = len;
    return 0;
}

static inline void tops_free(tops *t) {
    for (size_t i = 0; i < t->n; i++)
        free(t->raw[i]);
    free(t->raw);
    free(t->len);
    memset(t, 0, sizeof(*t));
}

static inline tops tnode_ops(tnode *n, const uint8_t id[32]) {
    tops t = {0};
    ent_obj_ops_foreach(n->eng, id, tops_cb, &t);
    return t;
}

/* Applies the ops of t into dst (batch) and frees t; returns how many were
 * not ENT_OK, (size_t)-1 when the batch failed. */
static inline size_t tops_apply(tnode *dst, tops *t) {
    int *rcs = calloc(t->n + 1, sizeof(int));
    size_t bad = 0;
    if (rcs == NULL ||
        ent_obj_apply_batch(dst->eng, (const uint8_t *const *)t->raw, t->len,
                            t->n, NULL, rcs) != ENT_OK)
        bad = (size_t)-1;
    for (size_t i = 0; bad != (size_t)-1 && i < t->n; i++)
        bad += rcs[i] != ENT_OK;
    free(rcs);
    tops_free(t);
    return bad;
}

/* Applies every op of src's object into dst (batch); returns how many
 * were not ENT_OK. */
static inline size_t tnode_sync(tnode *dst, tnode *src, const uint8_t id[32]) {
    tops t = tnode_ops(src, id);
    return tops_apply(dst, &t);
}

/* Applies every op of object id held by the engine src (a real node's, say)
 * into dst; returns as tops_apply(), (size_t)-1 also when src's ops could
 * not be read. */
static inline size_t tnode_apply_from(tnode *dst, ent_objects *src,
                                      const uint8_t id[32]) {
    tops t = {0};
    if (ent_obj_ops_foreach(src, id, tops_cb, &t) != ENT_OK) {
        tops_free(&t);
        return (size_t)-1;
    }
    return tops_apply(dst, &t);
}

/* The chosen key of epoch 0 of obj on node n, read from the store. */
typedef struct tkey_req {
    const uint8_t *obj;
    uint8_t key[32];
    int found;
} tkey_req;

static int tkey_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    tkey_req *r = data;
    if (vlen < 32)
        return ENT_ECORRUPT;
    memcpy(r->key, val, 32);
    r->found = 1;
    return 1;
}

static int thead_scan(void *data, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    ent_op_header *h = data;
    if (klen != 64 || h->nparents == ENT_OP_MAX_PARENTS)
        return ENT_ECORRUPT;
    memcpy(h->parents[h->nparents++], (const uint8_t *)key + 32, 32);
    return 0;
}

typedef struct tforce {
    tkey_req kr;
    ent_op_header *h;
} tforce;

static int tkey_fn(ent_txn *txn, void *data) {
    tforce *f = data;
    uint8_t pre[40];
    memcpy(pre, f->kr.obj, 32);
    memset(pre + 32, 0, 8);
    int rc = ent_txn_scan(txn, ENT_TBL_KEYS, pre, 40, tkey_scan, &f->kr);
    if (rc == ENT_OK)
        rc = ent_txn_scan(txn, ENT_TBL_HEADS, f->kr.obj, 32, thead_scan, f->h);
    return rc;
}

/*
 * Applies on n an op of n's own identity that n's engine would refuse to
 * make (e.g. an owner-only field it does not own): a set of one org-valued
 * field with the owner-only flag, parents = n's heads, epoch 0.
 */
static inline int tnode_force_set_org(tnode *n, const uint8_t id[32],
                                      const char *field, const uint8_t org[32],
                                      uint64_t seq) {
    ent_op_field f;
    ent_op_body b;
    ent_op_header h;
    uint8_t *body = NULL;
    size_t blen;
    ent_op *op = NULL;
    memset(&h, 0, sizeof(h));
    tforce tf = {.kr = {.obj = id}, .h = &h};
    int rc = ent_store_read(n->store, tkey_fn, &tf);
    if (rc != ENT_OK || !tf.kr.found)
        return rc != ENT_OK ? rc : ENT_ENOENT;
    memset(&f, 0, sizeof(f));
    memset(&b, 0, sizeof(b));
    snprintf(f.name, sizeof(f.name), "%s", field);
    f.v.type = ENT_VT_ORG;
    memcpy(f.v.u.org, org, 32);
    f.owner_only = true;
    b.kind = ENT_OP_SET;
    b.fields = &f;
    b.nfields = 1;
    h.version = ENT_OP_VERSION;
    h.kind = ENT_OP_SET;
    memcpy(h.object, id, 32);
    memcpy(h.author, tnode_pk(n), 32);
    h.seq = seq;
    h.hlc = (n->now << 16) + 3;
    /* parents: the heads, as the engine would (read above, sorted) */
    if ((rc = ent_op_body_encode(&b, &body, &blen)) == ENT_OK &&
        (rc = ent_op_seal(&op, &h, body, blen, tf.kr.key, n->id)) == ENT_OK)
        rc = ent_obj_apply(n->eng, op->raw, op->rawlen, NULL);
    free(body);
    ent_op_free(op);
    return rc;
}

#endif
