/*
 * op_index.c - op id -> "ops" key, in an append-ordered table and a
 * compact index of 8-byte id prefixes (op_index.h, spec/storage.md
 * "Op index").
 */
#include "storage/op_index.h"
#include "node/err.h"

#include <string.h>

static void be64_put(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/*
 * The "op_order" row of the arrival number in the index row (v, vlen)
 * when it holds op id: *row points at its value.
 * @return ENT_OK, ENT_ENOENT (a row of another op), ENT_ECORRUPT.
 */
static int order_row(ent_txn *txn, const uint8_t id[32], const void *v,
                     size_t vlen, const uint8_t **row, size_t *rlen) {
    const void *r;
    size_t rl;
    if (vlen != 8)
        return ENT_ECORRUPT;
    int rc = ent_txn_get(txn, ENT_TBL_OP_ORDER, v, 8, &r, &rl);
    if (rc == ENT_ENOENT)
        return ENT_ECORRUPT;
    if (rc != ENT_OK)
        return rc;
    if (rl <= 32)
        return ENT_ECORRUPT;
    if (memcmp(r, id, 32) != 0)
        return ENT_ENOENT;
    *row = r;
    *rlen = rl;
    return ENT_OK;
}

/*
 * Finds op id: *arr (8 bytes, the arrival number as stored) and its
 * "op_order" row. Looks under the 8-byte prefix first, then under the
 * whole id (a clash). @return ENT_OK, ENT_ENOENT, ENT_ECORRUPT, ...
 */
static int find(ent_txn *txn, const uint8_t id[32], uint8_t arr[8],
                const uint8_t **row, size_t *rlen) {
    const void *v;
    size_t vl;
    int rc =
        ent_txn_get(txn, ENT_TBL_OP_INDEX, id, ENT_OP_INDEX_PREFIX, &v, &vl);
    if (rc == ENT_OK) {
        rc = order_row(txn, id, v, vl, row, rlen);
        if (rc == ENT_OK)
            memcpy(arr, v, 8);
        if (rc != ENT_ENOENT)
            return rc;
    } else if (rc != ENT_ENOENT) {
        return rc;
    }
    rc = ent_txn_get(txn, ENT_TBL_OP_INDEX, id, 32, &v, &vl);
    if (rc == ENT_OK) {
        rc = order_row(txn, id, v, vl, row, rlen);
        if (rc == ENT_ENOENT) /* a whole-id row always names its own op */
            rc = ENT_ECORRUPT;
        if (rc == ENT_OK)
            memcpy(arr, v, 8);
    }
    return rc;
}

int ent_op_index_get(ent_txn *txn, const uint8_t id[32], const void **okey,
                     size_t *klen) {
    uint8_t arr[8];
    const uint8_t *row;
    size_t rl;
    int rc = find(txn, id, arr, &row, &rl);
    if (rc == ENT_OK) {
        if (okey != NULL)
            *okey = row + 32;
        if (klen != NULL)
            *klen = rl - 32;
    }
    return rc;
}

struct last {
    uint64_t n;
};

static int last_cb(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    struct last *l = data;
    const uint8_t *k = key;
    (void)val;
    (void)vlen;
    if (klen != 8)
        return ENT_ECORRUPT;
    for (int i = 0; i < 8; i++)
        l->n = l->n << 8 | k[i];
    return 1;
}

int ent_op_index_put(ent_txn *txn, const uint8_t id[32], const void *okey,
                     size_t klen) {
    uint8_t arr[8], row[32 + 255];
    const uint8_t *old;
    size_t ol;
    if (id == NULL || okey == NULL || klen == 0 || klen > 255)
        return ENT_EINVAL;
    memcpy(row, id, 32);
    memcpy(row + 32, okey, klen);
    int rc = find(txn, id, arr, &old, &ol);
    if (rc == ENT_OK) /* indexed already: its row takes the new key */
        return ent_txn_put(txn, ENT_TBL_OP_ORDER, arr, 8, row, 32 + klen, 0);
    if (rc != ENT_ENOENT)
        return rc;
    struct last l = {0};
    if ((rc = ent_txn_scan_reverse(txn, ENT_TBL_OP_ORDER, NULL, 0, last_cb,
                                   &l)) != ENT_OK)
        return rc;
    if (l.n == UINT64_MAX)
        return ENT_ELIMIT;
    be64_put(arr, l.n + 1);
    if ((rc = ent_txn_put(txn, ENT_TBL_OP_ORDER, arr, 8, row, 32 + klen,
                          ENT_PUT_APPEND)) != ENT_OK)
        return rc;
    /* under the prefix when it is free, else under the whole id */
    rc = ent_txn_put(txn, ENT_TBL_OP_INDEX, id, ENT_OP_INDEX_PREFIX, arr, 8,
                     ENT_PUT_NOOVERWRITE);
    if (rc == ENT_EEXIST)
        rc = ent_txn_put(txn, ENT_TBL_OP_INDEX, id, 32, arr, 8, 0);
    return rc;
}

int ent_op_index_count(ent_txn *txn, uint64_t *out) {
    return ent_txn_count(txn, ENT_TBL_OP_ORDER, out);
}
