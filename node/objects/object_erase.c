/*
 * object_erase.c - erasure of personal data (spec/objects.md "Erasure"):
 * the body of an erase op (which ops carry the erased values) and what
 * every member drops when it commits one: the erased field's writes and
 * value (or, for the whole object, every field, comment, private value
 * and epoch key), the bodies of the listed ops (their `ops` rows become
 * stubs that keep header facts and ids), and the object's events. Values
 * are overwritten with zeros before they are deleted, and the commit is
 * marked so that the store zeroes its free pages afterwards
 * (ent_store_write, ENT_TXN_MARK_SCRUB): no erased byte stays in data.mdb.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/events/event.h"
#include "node/objects/object_int.h"
#include "node/objects/value.h"
#include "storage/store.h"
#include "storage/op_index.h"

/* Overwrites the value of key with zeros (so the page copy this
 * transaction writes holds none of it), then deletes the row. */
static int wipe_del(ent_txn *txn, ent_table t, const void *key, size_t klen) {
    int rc = ent_txn_wipe(txn, t, key, klen);
    if (rc != ENT_OK)
        return rc == ENT_ENOENT ? ENT_OK : rc;
    return ent_txn_del(txn, t, key, klen);
}

/* A list of keys copied out of a scan (deleting while scanning is not
 * allowed). */
typedef struct keylist {
    uint8_t **k;
    size_t *len;
    size_t n;
    const uint8_t *ids; /* filter: keys ending in one of these op ids */
    size_t nids;
    size_t tail; /* bytes after the op id at the key's end */
} keylist;

static int id_cmp(const void *a, const void *b) {
    return memcmp(a, b, 32);
}

static int keys_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    keylist *l = data;
    (void)val;
    (void)vlen;
    if (l->ids != NULL) {
        if (klen < 32 + l->tail ||
            bsearch((const uint8_t *)key + klen - 32 - l->tail, l->ids, l->nids,
                    32, id_cmp) == NULL)
            return 0;
    }
    if (ent__obj_grow((void **)&l->k, l->n, sizeof(*l->k)) != ENT_OK ||
        ent__obj_grow((void **)&l->len, l->n, sizeof(*l->len)) != ENT_OK)
        return ENT_ENOMEM;
    if ((l->k[l->n] = malloc(klen)) == NULL)
        return ENT_ENOMEM;
    memcpy(l->k[l->n], key, klen);
    l->len[l->n++] = klen;
    return 0;
}

static void keys_free(keylist *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->k[i]);
    free(l->k);
    free(l->len);
    memset(l, 0, sizeof(*l));
}

/* Wipes and deletes every row of table t under prefix (of the listed op
 * ids when ids is set: the id sits tail bytes before the key's end). */
static int wipe_prefix(ent_txn *txn, ent_table t, const uint8_t *pre,
                       size_t plen, const uint8_t *ids, size_t nids,
                       size_t tail) {
    keylist l = {.ids = ids, .nids = nids, .tail = tail};
    int rc = ent_txn_scan(txn, t, pre, plen, keys_scan, &l);
    for (size_t i = 0; i < l.n && rc == ENT_OK; i++)
        rc = wipe_del(txn, t, l.k[i], l.len[i]);
    keys_free(&l);
    return rc;
}

/* ------------------------------------------------------------ the body */

typedef struct idlist {
    uint8_t *v; /* n ids of 32 bytes */
    size_t n, cap;
    size_t max; /* 0: no limit */
} idlist;

static int id_add(idlist *l, const uint8_t id[32]) {
    if (l->max > 0 && l->n >= l->max)
        return ENT_ELIMIT;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        uint8_t *nv = realloc(l->v, nc * 32);
        if (nv == NULL)
            return ENT_ENOMEM;
        l->v = nv;
        l->cap = nc;
    }
    memcpy(l->v + l->n++ * 32, id, 32);
    return ENT_OK;
}

static int field_ids_scan(void *data, const void *key, size_t klen,
                          const void *val, size_t vlen) {
    (void)val;
    (void)vlen;
    if (klen < 32 + OBJ_ORDER_LEN)
        return ENT_ECORRUPT;
    return id_add(data, (const uint8_t *)key + klen - 32);
}

static int op_ids_scan(void *data, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    uint8_t id[32];
    (void)key;
    (void)klen;
    if (ent_op_is_stub(val, vlen))
        return 0; /* erased before */
    ent_hash(id, val, vlen);
    return id_add(data, id);
}

int ent__obj_erase_body(ent_txn *txn, const uint8_t obj[32], const char *field,
                        ent_op_body *b, char *err, size_t errlen) {
    idlist l = {.max = ENT_OP_ERASE_MAX};
    size_t fl = field ? strlen(field) : 0;
    int rc;
    if (fl > ENT_OP_NAME_MAX || (fl > 0 && !ent_value_name_valid(field))) {
        snprintf(err, errlen, "field \"%.64s\" is not a field name", field);
        return ENT_EINVAL;
    }
    if (fl > 0) {
        uint8_t pre[33 + ENT_OP_NAME_MAX + 1];
        memcpy(pre, obj, 32);
        pre[32] = WR_FIELD;
        memcpy(pre + 33, field, fl);
        pre[33 + fl] = 0;
        rc = ent__obj_writes_fill(txn, obj); /* pruned writes: their ops */
        if (rc == ENT_OK)
            rc = ent_txn_scan(txn, ENT_TBL_WRITES, pre, 34 + fl, field_ids_scan,
                              &l);
    } else {
        rc = ent_txn_scan(txn, ENT_TBL_OPS, obj, 32, op_ids_scan, &l);
    }
    if (rc == ENT_ELIMIT)
        snprintf(err, errlen,
                 "more than %d ops carry the values to erase; erase fields "
                 "one by one",
                 ENT_OP_ERASE_MAX);
    if (rc == ENT_OK && l.n == 0) {
        snprintf(err, errlen, "no op of the object writes field %s", field);
        rc = ENT_ENOENT;
    }
    if (rc != ENT_OK) {
        free(l.v);
        return rc;
    }
    qsort(l.v, l.n, 32, id_cmp);
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++)
        if (n == 0 || memcmp(l.v + (n - 1) * 32, l.v + i * 32, 32) != 0)
            memmove(l.v + n++ * 32, l.v + i * 32, 32);
    memcpy(b->field, field ? field : "", fl + 1);
    b->erased = l.v;
    b->nerased = n;
    return ENT_OK;
}

/* -------------------------------------------------------------- stubs */

/* Replaces the stored op with id x (if it is here and not a stub yet) by
 * its stub: 0x00 || op id || erase op id || author || kind || seq || hlc. */
static int stub_op(ent_txn *txn, const uint8_t x[32], const ent_op *e) {
    const void *v, *kv;
    size_t vlen, klen;
    uint8_t okey[104], stub[ENT_OP_STUB_LEN];
    ent_op_erased er;
    ent_op *op = NULL;
    int rc = ent_op_index_get(txn, x, &kv, &klen);
    if (rc != ENT_OK)
        return rc;
    if (klen != 72 && klen != 104)
        return ENT_ECORRUPT;
    memcpy(okey, kv, klen);
    if ((rc = ent_txn_get(txn, ENT_TBL_OPS, okey, klen, &v, &vlen)) != ENT_OK)
        return rc;
    if (ent_op_is_stub(v, vlen))
        return ENT_OK;
    if ((rc = ent_op_decode(&op, v, vlen)) != ENT_OK)
        return rc == ENT_ENOMEM ? rc : ENT_ECORRUPT;
    if (op->h.kind == ENT_OP_ERASE) { /* no value in it; the audit needs it */
        ent_op_free(op);
        return ENT_OK;
    }
    memset(&er, 0, sizeof(er));
    memcpy(er.id, op->id, 32);
    memcpy(er.eraser, e->id, 32);
    memcpy(er.author, op->h.author, 32);
    er.kind = op->h.kind;
    er.seq = op->h.seq;
    er.hlc = op->h.hlc;
    ent_op_stub_make(&er, stub);
    ent_op_free(op);
    if ((rc = wipe_del(txn, ENT_TBL_OPS, okey, klen)) != ENT_OK)
        return rc;
    return ent_txn_put(txn, ENT_TBL_OPS, okey, klen, stub, sizeof(stub), 0);
}

/* ------------------------------------------------------------- events */

typedef struct ev_ctx {
    char needle[80]; /* "object":"HEX" */
    keylist keys;
} ev_ctx;

static int ev_scan(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    ev_ctx *c = data;
    size_t nl = strlen(c->needle);
    const char *p = val;
    for (size_t i = 0; i + nl <= vlen; i++)
        if (p[i] == '"' && memcmp(p + i, c->needle, nl) == 0)
            return keys_scan(&c->keys, key, klen, NULL, 0);
    return 0;
}

/* Drops the object's events (their payloads may hold erased values). */
static int drop_events(ent_txn *txn, const uint8_t obj[32]) {
    ev_ctx c = {0};
    char hex[65];
    ent_hex_encode(hex, obj, 32);
    snprintf(c.needle, sizeof(c.needle), "\"object\":\"%s\"", hex);
    int rc = ent_txn_scan(txn, ENT_TBL_EVENTS, NULL, 0, ev_scan, &c);
    for (size_t i = 0; i < c.keys.n && rc == ENT_OK; i++)
        rc = c.keys.len[i] == 8
                 ? ent_events_erase(txn, ent_be64_get(c.keys.k[i]))
                 : ENT_ECORRUPT;
    keys_free(&c.keys);
    return rc;
}

/* ------------------------------------------------------------- commit */

/* Decision rows keep decision and step; the comment goes. */
typedef struct appr_ctx {
    keylist keys;
    uint8_t **vals;
    size_t *vlens;
} appr_ctx;

static int appr_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    appr_ctx *c = data;
    const uint8_t *v = val;
    if (vlen < 2 || (size_t)v[1] + 2 > vlen || (size_t)v[1] + 2 == vlen)
        return 0; /* no comment */
    size_t n = c->keys.n;
    if (ent__obj_grow((void **)&c->vals, n, sizeof(*c->vals)) != ENT_OK ||
        ent__obj_grow((void **)&c->vlens, n, sizeof(*c->vlens)) != ENT_OK)
        return ENT_ENOMEM;
    if ((c->vals[n] = malloc((size_t)v[1] + 2)) == NULL)
        return ENT_ENOMEM;
    memcpy(c->vals[n], v, (size_t)v[1] + 2);
    c->vlens[n] = (size_t)v[1] + 2;
    int rc = keys_scan(&c->keys, key, klen, NULL, 0);
    if (rc != 0)
        free(c->vals[n]);
    return rc;
}

static int strip_decisions(ent_txn *txn, const uint8_t obj[32]) {
    appr_ctx c = {0};
    uint8_t pre[33];
    memcpy(pre, obj, 32);
    pre[32] = WR_APPR;
    int rc = ent_txn_scan(txn, ENT_TBL_WRITES, pre, 33, appr_scan, &c);
    for (size_t i = 0; i < c.keys.n && rc == ENT_OK; i++)
        if ((rc = wipe_del(txn, ENT_TBL_WRITES, c.keys.k[i], c.keys.len[i])) ==
            ENT_OK)
            rc = ent_txn_put(txn, ENT_TBL_WRITES, c.keys.k[i], c.keys.len[i],
                             c.vals[i], c.vlens[i], 0);
    for (size_t i = 0; i < c.keys.n; i++)
        free(c.vals[i]);
    free(c.vals);
    free(c.vlens);
    keys_free(&c.keys);
    return rc;
}

/* The whole object: every field, comment, private value, attachment
 * (manifest and chunks) and epoch key goes (held ops stay sealed: without a key
 * they are never opened); the rows that say who is a member and which ops count
 * stay. */
static int erase_object(ent_txn *txn, const uint8_t obj[32]) {
    static const uint8_t tags[] = {WR_FIELD, WR_COMMENT, WR_CSHOW, WR_ATTACH,
                                   WR_CHUNK};
    uint8_t pre[33];
    int rc = ENT_OK;
    memcpy(pre, obj, 32);
    for (size_t i = 0; i < sizeof(tags) && rc == ENT_OK; i++) {
        pre[32] = tags[i];
        rc = wipe_prefix(txn, ENT_TBL_WRITES, pre, 33, NULL, 0, 0);
    }
    if (rc == ENT_OK)
        rc = strip_decisions(txn, obj);
    if (rc == ENT_OK)
        rc = wipe_prefix(txn, ENT_TBL_FIELDS, obj, 32, NULL, 0, 0);
    if (rc == ENT_OK)
        rc = wipe_prefix(txn, ENT_TBL_PRIVATE, obj, 32, NULL, 0, 0);
    if (rc == ENT_OK)
        rc = wipe_prefix(txn, ENT_TBL_KEYS, obj, 32, NULL, 0, 0);
    if (rc == ENT_OK) /* attachments: their sealed chunks */
        rc = wipe_prefix(txn, ENT_TBL_CHUNKS, obj, 32, NULL, 0, 0);
    return rc;
}

/* One field: the writes of the listed ops, the field's row and this
 * node's private value of that name; then the field is merged again from
 * the writes that are left (concurrent writes the eraser did not see). */
static int erase_field(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                       const char *field, const uint8_t *ids, size_t nids) {
    uint8_t pre[33 + ENT_OP_NAME_MAX + 1];
    size_t fl = strlen(field);
    obj_rec r;
    judge j;
    memcpy(pre, obj, 32);
    pre[32] = WR_FIELD;
    memcpy(pre + 33, field, fl);
    pre[33 + fl] = 0;
    int rc = wipe_prefix(txn, ENT_TBL_WRITES, pre, 34 + fl, ids, nids, 0);
    uint8_t fk[32 + ENT_OP_NAME_MAX];
    memcpy(fk, obj, 32);
    memcpy(fk + 32, field, fl);
    if (rc == ENT_OK)
        rc = wipe_del(txn, ENT_TBL_FIELDS, fk, 32 + fl);
    if (rc == ENT_OK)
        rc = wipe_del(txn, ENT_TBL_PRIVATE, fk, 32 + fl);
    if (rc == ENT_OK)
        rc = ent__obj_rec_get(txn, obj, &r);
    if (rc != ENT_OK)
        return rc;
    ent__obj_judge_init(&j, txn, obj, r.owner, NULL);
    j.eng = eng;
    rc = ent__obj_remerge_all(txn, obj, r.owner, &j);
    ent__obj_judge_free(&j);
    return rc;
}

/* Stubs op x unless it is e itself. Every listed op is in e's causal
 * past (the eraser lists ops it holds; its heads, e's parents, cover
 * them), so a member that commits e holds them all. */
static int stub_listed(ent_txn *txn, const ent_op *e, const uint8_t x[32]) {
    if (memcmp(x, e->id, 32) == 0)
        return ENT_OK;
    int rc = stub_op(txn, x, e);
    return rc == ENT_ENOENT ? ENT_OK : rc;
}

int ent__obj_erase_commit(ent_objects *eng, ent_txn *txn, const ent_op *e,
                          const ent_op_body *b, const uint8_t obj[32]) {
    idlist all = {0};
    int rc = ENT_OK;
    uint8_t k[65];
    /* an erase of one field: the pruned writes come back first, while the
     * listed ops can still be opened. A listed op's stub takes its writes
     * of the other fields with it, which keep their rows (erase_field
     * wipes the field's only): the eraser filled before listing, so it
     * holds them; a member that filled only after stubbing would lose
     * them and merge those fields from fewer writes than the eraser
     * (spec/storage.md "Pruned field writes") */
    if (b->field[0] != '\0')
        rc = ent__obj_writes_fill(txn, obj);
    for (size_t i = 0; i < b->nerased && rc == ENT_OK; i++)
        rc = stub_listed(txn, e, b->erased + i * 32);
    if (rc == ENT_OK && b->field[0] == '\0') {
        /* every op of the object stored here, also those the eraser had
         * not seen */
        rc = ent_txn_scan(txn, ENT_TBL_OPS, obj, 32, op_ids_scan, &all);
        for (size_t i = 0; i < all.n && rc == ENT_OK; i++)
            rc = stub_listed(txn, e, all.v + i * 32);
        free(all.v);
        if (rc == ENT_OK)
            rc = erase_object(txn, obj);
    } else if (rc == ENT_OK) {
        rc = erase_field(eng, txn, obj, b->field, b->erased, b->nerased);
    }
    if (rc == ENT_OK)
        rc = drop_events(txn, obj);
    /* the record: which erase op erased what (ent_obj_erasures) */
    memcpy(k, obj, 32);
    k[32] = WR_ERASED;
    memcpy(k + 33, e->id, 32);
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_WRITES, k, 65, b->field, strlen(b->field),
                         0);
    if (rc == ENT_OK)
        ent_txn_mark(txn, ENT_TXN_MARK_SCRUB);
    return rc;
}

/* ---------------------------------------------------------- listing */

typedef struct er_list {
    ent_obj_erasure *v;
    size_t n;
    ent_txn *txn;
    const uint8_t *obj;
} er_list;

static int er_scan(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    er_list *l = data;
    const void *kv, *ov;
    size_t kl, ol;
    if (klen != 65 || vlen > ENT_OP_NAME_MAX)
        return ENT_ECORRUPT;
    if (ent__obj_grow((void **)&l->v, l->n, sizeof(*l->v)) != ENT_OK)
        return ENT_ENOMEM;
    ent_obj_erasure *x = &l->v[l->n];
    memset(x, 0, sizeof(*x));
    memcpy(x->op, (const uint8_t *)key + 33, 32);
    memcpy(x->field, val, vlen);
    x->field[vlen] = '\0';
    if (ent_op_index_get(l->txn, x->op, &kv, &kl) == ENT_OK &&
        ent_txn_get(l->txn, ENT_TBL_OPS, kv, kl, &ov, &ol) == ENT_OK) {
        ent_op *op = NULL;
        if (ent_op_decode(&op, ov, ol) == ENT_OK) {
            memcpy(x->by, op->h.author, 32);
            x->hlc = op->h.hlc;
            ent_op_free(op);
        }
    }
    l->n++;
    return 0;
}

typedef struct er_read {
    const uint8_t *obj;
    er_list l;
} er_read;

static int er_fn(ent_txn *txn, void *data) {
    er_read *r = data;
    uint8_t pre[33];
    memcpy(pre, r->obj, 32);
    pre[32] = WR_ERASED;
    r->l.txn = txn;
    r->l.n = 0;
    return ent_txn_scan(txn, ENT_TBL_WRITES, pre, 33, er_scan, &r->l);
}

int ent_obj_erasures(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                     ent_obj_erasure **out, size_t *n) {
    er_read r = {.obj = id};
    *out = NULL;
    *n = 0;
    if (eng == NULL || id == NULL)
        return ENT_EINVAL;
    int rc = ent_store_read(eng->store, er_fn, &r);
    if (rc != ENT_OK) {
        free(r.l.v);
        return rc;
    }
    *out = r.l.v;
    *n = r.l.n;
    return ENT_OK;
}

static int any_row(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    (void)key, (void)klen, (void)val, (void)vlen;
    *(bool *)data = true;
    return 1;
}

int ent_obj_ops_irregular(ent_txn *txn, const uint8_t id[ENT_OBJ_ID_LEN],
                          bool *out) {
    uint8_t pre[33];
    bool found = false;
    if (txn == NULL || id == NULL || out == NULL)
        return ENT_EINVAL;
    /* every erase that makes stubs records itself under obj || WR_ERASED
     * (ent__obj_erase_commit); every fork keeps its evidence in EQUIV */
    memcpy(pre, id, 32);
    pre[32] = WR_ERASED;
    int rc = ent_txn_scan(txn, ENT_TBL_WRITES, pre, 33, any_row, &found);
    if (rc == ENT_OK && !found)
        rc = ent_txn_scan(txn, ENT_TBL_EQUIV, id, 32, any_row, &found);
    if (rc == ENT_OK)
        *out = found;
    return rc;
}
