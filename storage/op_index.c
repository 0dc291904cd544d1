/*
 * op_index.c - op id -> "ops" key, in an append-ordered table and a
 * compact index of 8-byte id prefixes in two levels (op_index.h,
 * spec/storage.md "Op index").
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
 * Finds op id in one level (table t: "op_recent" or "op_index"): *arr (8
 * bytes, the arrival number as stored) and its "op_order" row. Looks under
 * the 8-byte prefix first, then under the whole id (a clash). Sets *taken
 * when the level has a row under the prefix (of this op or another).
 * @return ENT_OK, ENT_ENOENT, ENT_ECORRUPT, ...
 */
static int find_in(ent_txn *txn, ent_table t, const uint8_t id[32],
                   uint8_t arr[8], const uint8_t **row, size_t *rlen,
                   bool *taken) {
    const void *v;
    size_t vl;
    int rc = ent_txn_get(txn, t, id, ENT_OP_INDEX_PREFIX, &v, &vl);
    if (rc == ENT_OK) {
        *taken = true;
        rc = order_row(txn, id, v, vl, row, rlen);
        if (rc == ENT_OK)
            memcpy(arr, v, 8);
        if (rc != ENT_ENOENT)
            return rc;
    } else if (rc != ENT_ENOENT) {
        return rc;
    }
    rc = ent_txn_get(txn, t, id, 32, &v, &vl);
    if (rc == ENT_OK) {
        rc = order_row(txn, id, v, vl, row, rlen);
        if (rc == ENT_ENOENT) /* a whole-id row always names its own op */
            rc = ENT_ECORRUPT;
        if (rc == ENT_OK)
            memcpy(arr, v, 8);
    }
    return rc;
}

/* Finds op id in the recent level, then in the main one; *taken: either
 * level has a row under its prefix (meaningful when not found). */
static int find(ent_txn *txn, const uint8_t id[32], uint8_t arr[8],
                const uint8_t **row, size_t *rlen, bool *taken) {
    *taken = false;
    int rc = find_in(txn, ENT_TBL_OP_RECENT, id, arr, row, rlen, taken);
    if (rc == ENT_ENOENT)
        rc = find_in(txn, ENT_TBL_OP_INDEX, id, arr, row, rlen, taken);
    return rc;
}

int ent_op_index_get(ent_txn *txn, const uint8_t id[32], const void **okey,
                     size_t *klen) {
    uint8_t arr[8];
    const uint8_t *row;
    size_t rl;
    bool taken;
    int rc = find(txn, id, arr, &row, &rl, &taken);
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

/* One "op_recent" row into "op_index" (the scan writes that table only). */
static int merge_row(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    ent_txn *txn = data;
    const void *r;
    size_t rl;
    if ((klen != ENT_OP_INDEX_PREFIX && klen != 32) || vlen != 8)
        return ENT_ECORRUPT;
    int rc = ent_txn_put(txn, ENT_TBL_OP_INDEX, key, klen, val, vlen,
                         klen == 32 ? 0 : ENT_PUT_NOOVERWRITE);
    if (rc != ENT_EEXIST)
        return rc;
    /* the prefix was free in both levels when the row was put, so this
     * does not happen; if it does, the op goes under its whole id */
    if ((rc = ent_txn_get(txn, ENT_TBL_OP_ORDER, val, 8, &r, &rl)) != ENT_OK)
        return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
    if (rl <= 32)
        return ENT_ECORRUPT;
    return ent_txn_put(txn, ENT_TBL_OP_INDEX, r, 32, val, 8, 0);
}

/* Integer square root (floor). */
static uint64_t isqrt(uint64_t n) {
    uint64_t x = 0, b = (uint64_t)1 << 62;
    while (b > n)
        b >>= 2;
    while (b != 0) {
        if (n >= x + b) {
            n -= x + b;
            x = (x >> 1) + b;
        } else {
            x >>= 1;
        }
        b >>= 2;
    }
    return x;
}

/*
 * Moves "op_recent" into "op_index" when it holds ENT_OP_INDEX_RECENT_MIN
 * rows or sqrt(ENT_OP_INDEX_RECENT_K * all rows), whichever is more.
 */
static int maybe_merge(ent_txn *txn) {
    uint64_t nr = 0, nm = 0;
    int rc = ent_txn_count(txn, ENT_TBL_OP_RECENT, &nr);
    if (rc == ENT_OK)
        rc = ent_txn_count(txn, ENT_TBL_OP_INDEX, &nm);
    if (rc != ENT_OK)
        return rc;
    uint64_t t = isqrt(ENT_OP_INDEX_RECENT_K * (nr + nm));
    if (nr < ENT_OP_INDEX_RECENT_MIN || nr < t)
        return ENT_OK;
    rc = ent_txn_scan(txn, ENT_TBL_OP_RECENT, NULL, 0, merge_row, txn);
    if (rc == ENT_OK)
        rc = ent_txn_clear(txn, ENT_TBL_OP_RECENT);
    return rc;
}

int ent_op_index_put(ent_txn *txn, const uint8_t id[32], const void *okey,
                     size_t klen) {
    uint8_t arr[8], row[32 + 255];
    const uint8_t *old;
    size_t ol;
    bool taken = false;
    if (id == NULL || okey == NULL || klen == 0 || klen > 255)
        return ENT_EINVAL;
    memcpy(row, id, 32);
    memcpy(row + 32, okey, klen);
    int rc = find(txn, id, arr, &old, &ol, &taken);
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
    /* under the prefix when no level has it, else under the whole id */
    if ((rc = ent_txn_put(txn, ENT_TBL_OP_RECENT, id,
                          taken ? 32 : ENT_OP_INDEX_PREFIX, arr, 8, 0)) !=
        ENT_OK)
        return rc;
    return maybe_merge(txn);
}

int ent_op_index_count(ent_txn *txn, uint64_t *out) {
    return ent_txn_count(txn, ENT_TBL_OP_ORDER, out);
}
