/*
 * object_scan.c - reading many objects in one read transaction, for
 * reports (node/reports/): the objects in id order, the stored fields of
 * one object with their value blobs left encoded, and the history of one
 * shared field from the writes table. Nothing here writes.
 */
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/object_int.h"

typedef struct oscan {
    const char *type;
    size_t tlen;
    const uint8_t *after;
    int (*fn)(void *data, const ent_obj_info *o);
    void *data;
} oscan;

static int obj_one(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    oscan *c = data;
    const uint8_t *v = val;
    ent_obj_info o;
    if (klen != 32)
        return ENT_ECORRUPT;
    if (c->after != NULL && memcmp(key, c->after, 32) == 0)
        return 0;
    if (vlen < 43 || v[0] != OBJ_REC_VERSION || v[42] == 0 ||
        v[42] > ENT_OP_NAME_MAX || vlen != 43u + v[42])
        return ENT_ECORRUPT;
    if (c->type != NULL &&
        (c->tlen != v[42] || memcmp(c->type, v + 43, v[42]) != 0))
        return 0;
    memset(&o, 0, sizeof(o));
    o.id = key;
    memcpy(o.type, v + 43, v[42]);
    o.active = v[1] == OBJ_STATUS_ACTIVE;
    o.owner = v + 2;
    o.created_ms = ent_hlc_ms(ent_be64_get(v + 34));
    return c->fn(c->data, &o);
}

int ent_obj_scan(ent_txn *txn, const char *type,
                 const uint8_t after[ENT_OBJ_ID_LEN],
                 int (*fn)(void *data, const ent_obj_info *o), void *data) {
    oscan c = {type, type != NULL ? strlen(type) : 0, after, fn, data};
    if (txn == NULL || fn == NULL)
        return ENT_EINVAL;
    if (after != NULL)
        return ent_txn_scan_from(txn, ENT_TBL_OBJECTS, after, 32, obj_one,
                                 &c);
    return ent_txn_scan(txn, ENT_TBL_OBJECTS, NULL, 0, obj_one, &c);
}

typedef struct fscan {
    bool priv;
    int (*fn)(void *data, const char *name, size_t nlen, bool priv,
              const uint8_t *blob, size_t blen);
    void *data;
} fscan;

static int field_one(void *data, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    fscan *c = data;
    size_t skip = c->priv ? 0 : OBJ_ORDER_LEN + 1;
    if (klen <= 32 || klen - 32 > ENT_OP_NAME_MAX || vlen < skip)
        return ENT_ECORRUPT;
    return c->fn(c->data, (const char *)key + 32, klen - 32, c->priv,
                 (const uint8_t *)val + skip, vlen - skip);
}

int ent_obj_fields_scan(ent_txn *txn, const uint8_t obj[ENT_OBJ_ID_LEN],
                        bool with_private,
                        int (*fn)(void *data, const char *name, size_t nlen,
                                  bool priv, const uint8_t *blob,
                                  size_t blen),
                        void *data) {
    fscan c = {false, fn, data};
    int rc = ent_txn_scan(txn, ENT_TBL_FIELDS, obj, 32, field_one, &c);
    if (rc != ENT_OK || !with_private)
        return rc;
    c.priv = true;
    return ent_txn_scan(txn, ENT_TBL_PRIVATE, obj, 32, field_one, &c);
}

struct ent_obj_fields_iter {
    ent_iter *it;
    bool priv;
};

int ent_obj_fields_iter_open(ent_txn *txn, bool priv,
                             ent_obj_fields_iter **out) {
    ent_obj_fields_iter *f;
    int rc;
    if (out == NULL)
        return ENT_EINVAL;
    *out = NULL;
    if (txn == NULL)
        return ENT_EINVAL;
    if ((f = calloc(1, sizeof(*f))) == NULL)
        return ENT_ENOMEM;
    f->priv = priv;
    rc = ent_txn_iter(txn, priv ? ENT_TBL_PRIVATE : ENT_TBL_FIELDS, &f->it);
    if (rc != ENT_OK) {
        free(f);
        return rc;
    }
    *out = f;
    return ENT_OK;
}

int ent_obj_fields_iter_next(ent_obj_fields_iter *f, const uint8_t **obj,
                             const char **name, size_t *nlen,
                             const uint8_t **blob, size_t *blen) {
    const void *key, *val;
    size_t klen, vlen, skip = f->priv ? 0 : OBJ_ORDER_LEN + 1;
    int rc = ent_iter_next(f->it, &key, &klen, &val, &vlen);
    if (rc != ENT_OK)
        return rc;
    if (klen <= 32 || klen - 32 > ENT_OP_NAME_MAX || vlen < skip)
        return ENT_ECORRUPT;
    *obj = key;
    *name = (const char *)key + 32;
    *nlen = klen - 32;
    *blob = (const uint8_t *)val + skip;
    *blen = vlen - skip;
    return ENT_OK;
}

void ent_obj_fields_iter_free(ent_obj_fields_iter *f) {
    if (f == NULL)
        return;
    ent_iter_free(f->it);
    free(f);
}

int ent_obj_value_decode(const uint8_t *blob, size_t len, ent_value *v) {
    int rc = ent__obj_value_decode(blob, len, v);
    return rc == ENT_OK || rc == ENT_ENOMEM ? rc : ENT_ECORRUPT;
}

typedef struct hscan {
    int (*fn)(void *data, uint64_t ms, const uint8_t *blob, size_t blen);
    void *data;
} hscan;

static int hist_one(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    hscan *c = data;
    if (klen < OBJ_ORDER_LEN || vlen < 1)
        return ENT_ECORRUPT;
    const uint8_t *order = (const uint8_t *)key + klen - OBJ_ORDER_LEN;
    return c->fn(c->data, ent_hlc_ms(ent_be64_get(order)),
                 (const uint8_t *)val + 1, vlen - 1);
}

int ent_obj_field_history(ent_txn *txn, const uint8_t obj[ENT_OBJ_ID_LEN],
                          const char *name,
                          int (*fn)(void *data, uint64_t ms,
                                    const uint8_t *blob, size_t blen),
                          void *data) {
    uint8_t pre[34 + ENT_OP_NAME_MAX];
    size_t nl = name != NULL ? strlen(name) : 0;
    hscan c = {fn, data};
    if (nl == 0 || nl > ENT_OP_NAME_MAX)
        return ENT_EINVAL;
    memcpy(pre, obj, 32);
    pre[32] = WR_FIELD;
    memcpy(pre + 33, name, nl);
    pre[33 + nl] = 0;
    return ent_txn_scan(txn, ENT_TBL_WRITES, pre, 34 + nl, hist_one, &c);
}
