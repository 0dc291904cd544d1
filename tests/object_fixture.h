/*
 * object_fixture.h - the object engine without a network, for the tests of
 * objects, merges, storage faults, joins, the verifier and the peer layer.
 * It provides tnode, a node made of a temporary store, an identity from a
 * seed byte and an object engine on a fake clock (tnode_open, tnode_open_ex,
 * tnode_attach on a store of the caller's, tnode_close, several at once with
 * tnodes_open/tnodes_close, the first one creating an object with
 * tnodes_open_obj); seeded xorshift64* numbers (trng_next); ops freed by
 * the list (TFREE_OPS); dumps of a
 * whole store to compare before and after (tnode_dump, tnode_dump_ex,
 * tdump_equal); a member added and caught up (tnode_join); the stored ops
 * of an object, copied and applied into another engine (tnode_ops,
 * tnode_sync, tnode_apply_from); the epoch keys and heads held in a store
 * (tstore_epoch_key, tstore_heads; temporary stores and tstore_scan come
 * from store_fixture.h); and ops sealed by hand, which no engine would make
 * (tfield_text, tforge, tforge_set, tnode_force_set_org). It asserts
 * nothing: helpers return what went wrong. Header-only (static functions)
 * so that each test binary stays one file.
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
#include "tests/store_fixture.h"

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

static inline void tnode_close(tnode *n) {
    ent_objects_free(n->eng);
    ent_store_close(n->store);
    ent_identity_free(n->id);
    n->eng = NULL;
    n->store = NULL;
    n->id = NULL;
    rm_tree(n->dir);
    n->dir[0] = 0;
}

/* Gives n, whose store is open (n->store), the identity of seed byte s, a
 * log at level, the fake clock at its start and an object engine.
 * @return 0, or -1 (tnode_close() frees what was made). */
static inline int tnode_attach(tnode *n, uint8_t s, ent_log_level level) {
    uint8_t seed[ENT_SIG_SEED_LEN];
    memset(seed, s, sizeof(seed));
    ent_log_init(&n->log, level, "obj");
    n->now = 1700000000000ULL;
    if (ent_identity_from_seed(&n->id, seed) != ENT_OK)
        return -1;
    ent_objects_config cfg = {.store = n->store,
                              .id = n->id,
                              .log = &n->log,
                              .clock = tnode_clock,
                              .clock_data = &n->now};
    return ent_objects_new(&n->eng, &cfg) == ENT_OK ? 0 : -1;
}

/* Opens a fresh node whose identity comes from seed byte s; its engine logs
 * at level, its store to store_log (may be NULL; borrowed while open). */
static inline int tnode_open_ex(tnode *n, uint8_t s, ent_log_level level,
                                const ent_log *store_log) {
    memset(n, 0, sizeof(*n));
    if (ent_crypto_init() != ENT_OK ||
        tmp_store(&n->store, n->dir, sizeof(n->dir), "obj", store_log) !=
            ENT_OK)
        return -1;
    return tnode_attach(n, s, level);
}

/* Opens a fresh node whose identity comes from seed byte s. */
static inline int tnode_open(tnode *n, uint8_t s) {
    return tnode_open_ex(n, s, ENT_LOG_ERROR, NULL);
}

static inline const uint8_t *tnode_pk(const tnode *n) {
    return ent_identity_public(n->id);
}

/* A NULL-terminated list of nodes: tnodes_open(TNODES(&a, &b), 1). */
#define TNODES(...) ((tnode *const[]){__VA_ARGS__, NULL})

/* tnode_open() of each node of ns with seed bytes seed, seed + 1, ...
 * @return 0, or -1 when one failed. */
static inline int tnodes_open(tnode *const *ns, uint8_t seed) {
    int rc = 0;
    for (size_t i = 0; ns[i] != NULL; i++)
        if (tnode_open(ns[i], (uint8_t)(seed + i)) != 0)
            rc = -1;
    return rc;
}

static inline void tnodes_close(tnode *const *ns) {
    for (size_t i = 0; ns[i] != NULL; i++)
        tnode_close(ns[i]);
}

/* tnodes_open(), then the first node of ns creates an object of type from
 * the nin inputs in; its id goes to id. @return 0, or -1. */
static inline int tnodes_open_obj(tnode *const *ns, uint8_t seed,
                                  const char *type, const ent_obj_input *in,
                                  size_t nin, uint8_t id[32]) {
    char err[256];
    if (tnodes_open(ns, seed) != 0 ||
        ent_obj_create(ns[0]->eng, type, in, nin, id, NULL, err, sizeof(err)) !=
            ENT_OK)
        return -1;
    return 0;
}

/* The next number of the xorshift64* sequence of state *s (seeded by the
 * caller, so that every run sees the same orders). */
static inline uint64_t trng_next(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
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

typedef struct tdump_req {
    tdump d;
    bool with_log;
    ent_table t; /* the table being dumped */
} tdump_req;

/* dump_scan, but without the log: without the activity log's directory
 * rows (obj_local, obj || 'd') and the object numbers (obj_nums, meta
 * objnum), which a refused op's entry gives an object new to the store. */
static int dump_scan_nolog(void *data, const void *key, size_t klen,
                           const void *val, size_t vlen) {
    tdump_req *r = data;
    if ((r->t == ENT_TBL_OBJ_LOCAL && klen == 33 &&
         ((const uint8_t *)key)[32] == 'd') ||
        (r->t == ENT_TBL_META && klen == 6 && memcmp(key, "objnum", 6) == 0))
        return 0;
    return dump_scan(&r->d, key, klen, val, vlen);
}

static int dump_fn(ent_txn *txn, void *data) {
    tdump_req *r = data;
    for (int t = 0; t < ENT_TBL__COUNT; t++) {
        if (!r->with_log && (t == ENT_TBL_LOG || t == ENT_TBL_LOG_META ||
                             t == ENT_TBL_OBJ_NUMS))
            continue;
        r->t = (ent_table)t;
        int rc = r->with_log
                     ? ent_txn_scan(txn, r->t, NULL, 0, dump_scan, &r->d)
                     : ent_txn_scan(txn, r->t, NULL, 0, dump_scan_nolog, r);
        if (rc != ENT_OK)
            return rc;
        uint8_t sep = 0xee;
        dump_scan(&r->d, &sep, 1, &sep, 1);
    }
    return ENT_OK;
}

/* Every table of n's store, the activity log too when with_log; buf is NULL
 * when the store could not be read. */
static inline tdump tnode_dump_ex(tnode *n, bool with_log) {
    tdump_req r = {{0}, with_log, ENT_TBL_META};
    if (ent_store_read(n->store, dump_fn, &r) != ENT_OK) {
        free(r.d.buf);
        r.d.buf = NULL;
        r.d.len = 0;
    }
    return r.d;
}

/* Every table but the activity log (its entries, its "log_meta" rows, its
 * directory rows in "obj_local" and the object numbers these give): a
 * refused op changes nothing else, and appends exactly one op_rejected
 * entry to the log (checked separately). */
static inline tdump tnode_dump(tnode *n) {
    return tnode_dump_ex(n, false);
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

/*
 * a adds b to object id with role; b opens its key boxes (at least one) and
 * applies every op of id that a holds, reaching a's state. *boxes_out and
 * *nboxes_out (may be NULL) get the boxes, which are otherwise freed.
 * @return ENT_OK, the first call's error, or ENT_EPROTO (no box, or an op
 * not applied).
 */
static inline int tnode_join(tnode *a, tnode *b, const uint8_t id[32],
                             uint8_t role, ent_op_epoch_key **boxes_out,
                             size_t *nboxes_out) {
    ent_op *add = NULL;
    ent_op_epoch_key *boxes = NULL;
    size_t nboxes = 0;
    int rc = ent_obj_add_member(a->eng, id, tnode_pk(b), role, &add, &boxes,
                                &nboxes);
    if (rc == ENT_OK && nboxes < 1)
        rc = ENT_EPROTO;
    if (rc == ENT_OK)
        rc = ent_obj_accept_keys(b->eng, id, boxes, nboxes);
    if (rc == ENT_OK && tnode_sync(b, a, id) != 0)
        rc = ENT_EPROTO;
    if (boxes_out != NULL) {
        *boxes_out = boxes;
        *nboxes_out = nboxes;
    } else {
        free(boxes);
    }
    ent_op_free(add);
    return rc;
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

/* Frees each of the ops listed (NULL ones too): TFREE_OPS(a, b, c). */
#define TFREE_OPS(...)                                                         \
    tfree_ops((ent_op *const[]){__VA_ARGS__},                                  \
              sizeof((ent_op *const[]){__VA_ARGS__}) / sizeof(ent_op *))

static inline void tfree_ops(ent_op *const *ops, size_t n) {
    for (size_t i = 0; i < n; i++)
        ent_op_free(ops[i]);
}

/* ---- reading a store ----------------------------------------------------- */

/* data: 33 bytes, the key and then 1 once found. */
static int tkey_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    uint8_t *got = data;
    if (vlen < 32)
        return ENT_ECORRUPT;
    memcpy(got, val, 32);
    got[32] = 1;
    return 1;
}

/* The key of epoch of obj held in s. @return ENT_OK, ENT_ENOENT (none),
 * or the store's error. */
static inline int tstore_epoch_key(ent_store *s, const uint8_t obj[32],
                                   uint64_t epoch, uint8_t key[32]) {
    uint8_t pre[40], got[32 + 1];
    memcpy(pre, obj, 32);
    for (int i = 0; i < 8; i++)
        pre[32 + i] = (uint8_t)(epoch >> (56 - 8 * i));
    got[32] = 0;
    int rc = tstore_scan(s, ENT_TBL_KEYS, pre, 40, tkey_scan, got);
    if (rc == ENT_OK && got[32] == 0)
        rc = ENT_ENOENT;
    if (rc == ENT_OK)
        memcpy(key, got, 32);
    return rc;
}

/* A heads row: the head's id into h's parents, its HLC (the row's value,
 * big-endian) into h->hlc when it is the highest so far. */
static int thead_scan(void *data, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    ent_op_header *h = data;
    uint64_t hlc = 0;
    if (klen != 64 || vlen < 8 || h->nparents == ENT_OP_MAX_PARENTS)
        return ENT_ECORRUPT;
    memcpy(h->parents[h->nparents++], (const uint8_t *)key + 32, 32);
    for (int i = 0; i < 8; i++)
        hlc = hlc << 8 | ((const uint8_t *)val)[i];
    if (hlc > h->hlc)
        h->hlc = hlc;
    return 0;
}

/* The heads of obj held in s, as h's parents (sorted, as the engine keeps
 * them), and in h->hlc the highest HLC among them (0: no heads).
 * @return as ent_txn_scan(). */
static inline int tstore_heads(ent_store *s, const uint8_t obj[32],
                               ent_op_header *h) {
    h->nparents = 0;
    h->hlc = 0;
    return tstore_scan(s, ENT_TBL_HEADS, obj, 32, thead_scan, h);
}

/* ---- ops made by hand ---------------------------------------------------- */

/* A field for a hand-made set: name = text (NULL text: a clear). */
static inline ent_op_field tfield_text(const char *name, const char *text,
                                       bool owner_only) {
    ent_op_field f;
    memset(&f, 0, sizeof(f));
    snprintf(f.name, sizeof(f.name), "%s", name);
    f.v.type = text != NULL ? ENT_VT_TEXT : ENT_VT_NULL;
    f.v.u.text.s = (char *)text;
    f.v.u.text.len = text != NULL ? strlen(text) : 0;
    f.owner_only = owner_only;
    return f;
}

/*
 * Seals an op with body b by hand, as signer and author, under key (for
 * forged, wrong-key and non-member ops that no engine would make): object
 * obj, seq, hlc, epoch and the np parents. @return the op, which the caller
 * ent_op_free()s; NULL when it cannot be encoded or sealed.
 */
static inline ent_op *tforge(const ent_identity *signer, const uint8_t obj[32],
                             const ent_op_body *b, uint64_t seq, uint64_t hlc,
                             uint64_t epoch, const uint8_t (*parents)[32],
                             size_t np, const uint8_t key[32]) {
    ent_op_header h;
    uint8_t *body = NULL;
    size_t blen;
    ent_op *op = NULL;
    memset(&h, 0, sizeof(h));
    h.version = ENT_OP_VERSION;
    h.kind = b->kind;
    memcpy(h.object, obj, 32);
    memcpy(h.author, ent_identity_public(signer), 32);
    h.seq = seq;
    h.hlc = hlc;
    h.epoch = epoch;
    h.nparents = np;
    if (np > 0)
        memcpy(h.parents, parents, np * 32);
    if (ent_op_body_encode(b, &body, &blen) == ENT_OK &&
        ent_op_seal(&op, &h, body, blen, key, signer) != ENT_OK)
        op = NULL;
    free(body);
    return op;
}

/* tforge() of a set of the one field f. */
static inline ent_op *tforge_set(const ent_identity *signer,
                                 const uint8_t obj[32], const ent_op_field *f,
                                 uint64_t seq, uint64_t hlc, uint64_t epoch,
                                 const uint8_t (*parents)[32], size_t np,
                                 const uint8_t key[32]) {
    ent_op_body b;
    memset(&b, 0, sizeof(b));
    b.kind = ENT_OP_SET;
    b.fields = (ent_op_field *)f;
    b.nfields = 1;
    return tforge(signer, obj, &b, seq, hlc, epoch, parents, np, key);
}

/*
 * Applies on n an op of n's own identity that n's engine would refuse to
 * make (e.g. an owner-only field it does not own), made the way n's engine
 * makes ops: a set of one org-valued field with the owner-only flag,
 * parents = n's heads, an HLC just above theirs, epoch 0, seq as given
 * (n's next). @return what n's engine says, or the store's error.
 */
static inline int tnode_force_set_org(tnode *n, const uint8_t id[32],
                                      const char *field, const uint8_t org[32],
                                      uint64_t seq) {
    ent_op_header h;
    uint8_t key[32];
    int rc = tstore_epoch_key(n->store, id, 0, key);
    if (rc == ENT_OK)
        rc = tstore_heads(n->store, id, &h);
    if (rc != ENT_OK)
        return rc;
    ent_op_field f = tfield_text(field, NULL, true);
    f.v.type = ENT_VT_ORG;
    memcpy(f.v.u.org, org, 32);
    /* parents: the heads, as the engine would (read above, sorted) */
    ent_op *op = tforge_set(n->id, id, &f, seq, h.hlc + 1, 0, h.parents,
                            h.nparents, key);
    rc = op != NULL ? ent_obj_apply(n->eng, op->raw, op->rawlen, NULL)
                    : ENT_EINVAL;
    ent_op_free(op);
    return rc;
}

/* Sets the one field f to the text v (not private) on n's object id, as
 * `object set` does; err gets the engine's reason. @return what
 * ent_obj_set says. */
static inline int tnode_set1(tnode *n, const uint8_t id[32], const char *f,
                             const char *v, char *err, size_t errcap) {
    ent_obj_input in = {f, v, false};
    ent_op *op = NULL;
    int rc = ent_obj_set(n->eng, id, &in, 1, &op, err, errcap);
    ent_op_free(op);
    return rc;
}

#endif
