/*
 * object_prune.c - plain-field writes kept out of the writes table
 * (spec/storage.md "Pruned field writes", issue 20 point 5).
 *
 * A write that the merge fast path settles (a plain field, no owner-only
 * flag, not `stage`, an object without workflow rules) needs no writes
 * row while the field stays plain: the fields row alone decides the next
 * write. Such writes are not stored there; the object gets a WR_PRUNED
 * marker instead. Every reader that needs a field's writes (a full
 * recompute after a change of standing, a fork, an owner-only write or an
 * erasure; the eraser's list of ops; the rules) first calls
 * ent__obj_writes_fill, which derives the missing rows again from the
 * object's stored ops and drops the marker. So a backlog of n writes to
 * k fields keeps k rows, not n, and a commit touches at most the pages of
 * the fields table, whatever the number of insertion points.
 */
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/object_int.h"
#include "protocol/op.h"

static void marker_key(uint8_t k[33], const uint8_t obj[32]) {
    memcpy(k, obj, 32);
    k[32] = WR_PRUNED;
}

int ent__obj_writes_pruned(ent_txn *txn, const uint8_t obj[32], bool *yes) {
    uint8_t k[33];
    const void *v;
    size_t vl;
    marker_key(k, obj);
    int rc = ent_txn_get(txn, ENT_TBL_WRITES, k, 33, &v, &vl);
    *yes = rc == ENT_OK;
    return rc == ENT_ENOENT ? ENT_OK : rc;
}

static int any_row(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    *(bool *)data = true;
    return 1;
}

int ent__obj_write_prunable(ent_txn *txn, const uint8_t obj[32],
                            const char *name, bool owner_only, bool *yes) {
    uint8_t pre[33];
    bool rules = false;
    *yes = false;
    if (owner_only || strcmp(name, "stage") == 0)
        return ENT_OK; /* the owner's field; the stage's history */
    memcpy(pre, obj, 32);
    pre[32] = WR_RULES; /* rules read the past values of fields */
    int rc = ent_txn_scan(txn, ENT_TBL_WRITES, pre, 33, any_row, &rules);
    *yes = rc == ENT_OK && !rules;
    return rc;
}

int ent__obj_writes_mark(ent_txn *txn, const uint8_t obj[32]) {
    uint8_t k[33];
    bool yes;
    int rc = ent__obj_writes_pruned(txn, obj, &yes);
    if (rc != ENT_OK || yes)
        return rc;
    marker_key(k, obj);
    return ent_txn_put(txn, ENT_TBL_WRITES, k, 33, "", 0, 0);
}

/* The ops of the object (create and set only), their raw bytes copied:
 * the scan's callback must not write, and decryption reads the keys. */
typedef struct raw_list {
    uint8_t **v;
    size_t *len;
    size_t n, cap;
} raw_list;

static int raw_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    raw_list *l = data;
    (void)key;
    (void)klen;
    if (ent_op_is_stub(val, vlen))
        return 0; /* erased: its writes are gone for good */
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 256;
        uint8_t **nv = realloc(l->v, nc * sizeof(*nv));
        if (nv == NULL)
            return ENT_ENOMEM;
        l->v = nv;
        size_t *nl = realloc(l->len, nc * sizeof(*nl));
        if (nl == NULL)
            return ENT_ENOMEM;
        l->len = nl;
        l->cap = nc;
    }
    if ((l->v[l->n] = malloc(vlen ? vlen : 1)) == NULL)
        return ENT_ENOMEM;
    memcpy(l->v[l->n], val, vlen);
    l->len[l->n++] = vlen;
    return 0;
}

typedef struct open_ctx {
    const ent_op *op;
    uint8_t *body;
    size_t blen;
} open_ctx;

static int open_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    open_ctx *c = data;
    (void)key;
    (void)klen;
    if (vlen != 65)
        return ENT_ECORRUPT;
    int rc = ent_op_open(c->op, val, &c->body, &c->blen);
    if (rc == ENT_ENOMEM)
        return rc;
    return rc == ENT_OK ? 1 : 0;
}

/* The writes rows of one stored op, each put unless it is there. */
static int fill_op(ent_txn *txn, const uint8_t obj[32], const uint8_t *raw,
                   size_t len) {
    ent_op *op = NULL;
    ent_op_body b;
    open_ctx oc = {0};
    uint8_t kpre[40];
    memset(&b, 0, sizeof(b));
    int rc = ent_op_decode(&op, raw, len);
    if (rc != ENT_OK)
        return rc == ENT_ENOMEM ? rc : ENT_ECORRUPT;
    if (op->h.kind != ENT_OP_CREATE && op->h.kind != ENT_OP_SET)
        goto out;
    oc.op = op;
    memcpy(kpre, obj, 32);
    ent_be64_put(kpre + 32, op->h.epoch);
    if ((rc = ent_txn_scan(txn, ENT_TBL_KEYS, kpre, 40, open_scan, &oc)) !=
        ENT_OK)
        goto out;
    if (oc.body == NULL) { /* it was applied, so its key was here */
        rc = ENT_ECORRUPT;
        goto out;
    }
    if ((rc = ent_op_body_decode(&b, op->h.kind, oc.body, oc.blen)) != ENT_OK) {
        if (rc != ENT_ENOMEM)
            rc = ENT_ECORRUPT;
        goto out;
    }
    for (size_t i = 0; i < b.nfields && rc == ENT_OK; i++) {
        uint8_t key[34 + ENT_OP_NAME_MAX + OBJ_ORDER_LEN];
        uint8_t *blob = NULL, *val;
        size_t blen, nl = strlen(b.fields[i].name);
        if (nl == 0 || nl > ENT_OP_NAME_MAX) {
            rc = ENT_ECORRUPT;
            break;
        }
        memcpy(key, obj, 32);
        key[32] = WR_FIELD;
        memcpy(key + 33, b.fields[i].name, nl);
        key[33 + nl] = 0;
        ent__obj_order(key + 34 + nl, op->h.hlc, op->h.author, op->id);
        if ((rc = ent__obj_value_encode(&b.fields[i].v, &blob, &blen)) !=
            ENT_OK)
            break;
        if ((val = malloc(blen + 1)) == NULL) {
            free(blob);
            rc = ENT_ENOMEM;
            break;
        }
        val[0] = b.fields[i].owner_only ? FW_OWNER_ONLY : 0;
        memcpy(val + 1, blob, blen);
        rc = ent_txn_put(txn, ENT_TBL_WRITES, key, 34 + nl + OBJ_ORDER_LEN, val,
                         blen + 1, ENT_PUT_NOOVERWRITE);
        if (rc == ENT_EEXIST)
            rc = ENT_OK;
        free(val);
        free(blob);
    }
out:
    if (oc.body != NULL) {
        ent_wipe(oc.body, oc.blen);
        free(oc.body);
    }
    ent_op_body_clear(&b);
    ent_op_free(op);
    return rc;
}

int ent__obj_writes_fill(ent_txn *txn, const uint8_t obj[32]) {
    raw_list l = {0};
    bool yes;
    uint8_t k[33];
    int rc = ent__obj_writes_pruned(txn, obj, &yes);
    if (rc != ENT_OK || !yes)
        return rc;
    rc = ent_txn_scan(txn, ENT_TBL_OPS, obj, 32, raw_scan, &l);
    for (size_t i = 0; i < l.n && rc == ENT_OK; i++)
        rc = fill_op(txn, obj, l.v[i], l.len[i]);
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i]);
    free(l.v);
    free(l.len);
    marker_key(k, obj);
    if (rc == ENT_OK)
        rc = ent_txn_del(txn, ENT_TBL_WRITES, k, 33);
    return rc;
}
