/*
 * store_keys.c - the order of the store's keys: the object numbers of the
 * numbered tables (spec/storage.md "Object numbers"), the scans and
 * iterators that read every table in key order, and the schema step 4 -> 5
 * that numbers a store's rows.
 */
#include "storage/store_int.h"

#include <errno.h>
#include <stdlib.h>

#include "node/err.h"
#include "node/log.h"

static const char objnum_key[] = "objnum";

static void be64_put(uint8_t b[8], uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
}

static uint64_t be64_get(const uint8_t b[8]) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

/* ---- object numbers (spec/storage.md "Object numbers") ---- */

static void num_remember(ent_txn *txn, const uint8_t *obj,
                         const uint8_t *num) {
    unsigned i = txn->nc_next;
    memcpy(txn->nc[i].id, obj, OBJ_LEN);
    memcpy(txn->nc[i].num, num, NUM_LEN);
    txn->nc_next = (i + 1) % NUM_CACHE;
    if (txn->nc_n < NUM_CACHE)
        txn->nc_n++;
}

static void num_forget(ent_txn *txn, const uint8_t *obj) {
    for (unsigned i = 0; i < txn->nc_n; i++)
        if (memcmp(txn->nc[i].id, obj, OBJ_LEN) == 0)
            memset(txn->nc[i].id, 0xff, OBJ_LEN); /* no id is all 0xff */
}

/* The number of object obj: ENT_OK, ENT_ENOENT (none given yet). */
int ent__num_get(ent_txn *txn, const uint8_t *obj, uint8_t num[NUM_LEN]) {
    for (unsigned i = 0; i < txn->nc_n; i++)
        if (memcmp(txn->nc[i].id, obj, OBJ_LEN) == 0) {
            memcpy(num, txn->nc[i].num, NUM_LEN);
            return ENT_OK;
        }
    if (txn->s->absent[ENT_TBL_OBJ_NUMS])
        return ENT_ENOENT;
    MDB_val k = {OBJ_LEN, (void *)obj}, v;
    int rc = mdb_get(txn->txn, txn->s->dbi[ENT_TBL_OBJ_NUMS], &k, &v);
    if (rc != MDB_SUCCESS)
        return ent__store_xlate(txn->s, rc, "mdb_get(obj_nums)");
    if (v.mv_size != NUM_LEN) {
        ENT_ERROR(txn->s->log, "storage: obj_nums row of %zu bytes, not 8",
                  v.mv_size);
        return ENT_ECORRUPT;
    }
    memcpy(num, v.mv_data, NUM_LEN);
    num_remember(txn, obj, num);
    return ENT_OK;
}

/* A put of the store's own bookkeeping: counted in the group's room,
 * not by fault injection (the put that needs it is counted). */
static int raw_put(ent_txn *txn, ent_table t, const void *key, size_t klen,
                   const void *val, size_t vlen) {
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    if (txn->s->group != NULL)
        txn->s->group_pages += 2 + (klen + vlen) / 4096;
    last_key_forget(txn, t);
    int rc = mdb_put(txn->txn, txn->s->dbi[t], &k, &v, 0);
    return rc == MDB_SUCCESS ? ENT_OK : ent__store_poison(txn, ent__store_xlate(txn->s, rc, "mdb_put"));
}

/* The number of obj, given now (meta "objnum": the next one, from 1) when
 * it has none. */
int ent__num_make(ent_txn *txn, const uint8_t *obj, uint8_t num[NUM_LEN]) {
    int rc = ent__num_get(txn, obj, num);
    if (rc != ENT_ENOENT)
        return rc;
    uint64_t next = 1;
    MDB_val k = {sizeof(objnum_key) - 1, (void *)objnum_key}, v;
    rc = mdb_get(txn->txn, txn->s->dbi[ENT_TBL_META], &k, &v);
    if (rc == MDB_SUCCESS && v.mv_size == NUM_LEN)
        next = be64_get(v.mv_data);
    else if (rc == MDB_SUCCESS)
        return ENT_ECORRUPT;
    else if (rc != MDB_NOTFOUND)
        return ent__store_xlate(txn->s, rc, "mdb_get(meta objnum)");
    if (next == 0 || next == UINT64_MAX)
        return ENT_ECORRUPT;
    uint8_t after[NUM_LEN];
    be64_put(num, next);
    be64_put(after, next + 1);
    if ((rc = raw_put(txn, ENT_TBL_OBJ_NUMS, obj, OBJ_LEN, num, NUM_LEN)) !=
            ENT_OK ||
        (rc = raw_put(txn, ENT_TBL_META, objnum_key, sizeof(objnum_key) - 1,
                      after, NUM_LEN)) != ENT_OK)
        return rc;
    num_remember(txn, obj, num);
    return ENT_OK;
}

/* True if table t holds a row under number num. */
static int num_has_rows(ent_txn *txn, ent_table t, const uint8_t *num,
                        bool *yes) {
    MDB_cursor *cur = NULL;
    MDB_val k = {NUM_LEN, (void *)num}, v;
    *yes = false;
    int rc = mdb_cursor_open(txn->txn, txn->s->dbi[t], &cur);
    if (rc != MDB_SUCCESS)
        return ent__store_xlate(txn->s, rc, "mdb_cursor_open");
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS)
        *yes = k.mv_size >= NUM_LEN && memcmp(k.mv_data, num, NUM_LEN) == 0;
    mdb_cursor_close(cur);
    return rc == MDB_SUCCESS || rc == MDB_NOTFOUND
               ? ENT_OK
               : ent__store_xlate(txn->s, rc, "mdb_cursor_get");
}

/* After a delete from table t: an object with no row left in any numbered
 * table loses its number (so ids that only passed through, such as the
 * objects of held ops that expired, leave nothing behind). */
int ent__num_release(ent_txn *txn, ent_table t, const uint8_t *obj,
                       const uint8_t *num) {
    bool yes = false;
    int rc = num_has_rows(txn, t, num, &yes);
    for (int u = 0; rc == ENT_OK && !yes && u < ENT_TBL__COUNT; u++)
        if (numbered(txn, (ent_table)u) && u != (int)t)
            rc = num_has_rows(txn, (ent_table)u, num, &yes);
    if (rc != ENT_OK)
        return ent__store_poison(txn, rc);
    if (yes)
        return ENT_OK;
    MDB_val k = {OBJ_LEN, (void *)obj};
    rc = mdb_del(txn->txn, txn->s->dbi[ENT_TBL_OBJ_NUMS], &k, NULL);
    if (rc != MDB_SUCCESS)
        return ent__store_poison(txn, ent__store_xlate(txn->s, rc, "mdb_del(obj_nums)"));
    num_forget(txn, obj);
    return ENT_OK;
}




typedef int (*scan_fn)(void *data, const void *key, size_t klen,
                       const void *val, size_t vlen);

static bool has_prefix(const MDB_val *k, const void *prefix, size_t plen) {
    return plen == 0 ||
           (k->mv_size >= plen && memcmp(k->mv_data, prefix, plen) == 0);
}

/*
 * Positions cur on the last key that starts with prefix (or the last key
 * when plen is 0): seeks to the smallest key above every key with the
 * prefix, then steps back.
 */
static int seek_last(MDB_cursor *cur, const uint8_t *prefix, size_t plen,
                     MDB_val *k, MDB_val *v) {
    size_t n = plen;
    while (n > 0 && prefix[n - 1] == 0xff)
        n--;
    if (n == 0) /* empty prefix, or all 0xff: nothing sorts above it */
        return mdb_cursor_get(cur, k, v, MDB_LAST);
    uint8_t stack[64];
    uint8_t *succ = n <= sizeof(stack) ? stack : malloc(n);
    if (succ == NULL)
        return ENOMEM;
    memcpy(succ, prefix, n);
    succ[n - 1]++;
    k->mv_size = n;
    k->mv_data = succ;
    int rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_get(cur, k, v, MDB_PREV);
    else if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(cur, k, v, MDB_LAST);
    if (succ != stack)
        free(succ);
    return rc;
}

/*
 * The stored rows of one table: from the key start (MDB_SET_RANGE; NULL:
 * from the prefix, or its last key when reverse), while keys start with
 * prefix; each key is handed to fn without its first skip bytes. Sets
 * *stop when fn stopped the walk (its answer is the return value then).
 */
static int walk(ent_txn *txn, MDB_cursor *cur, const MDB_val *start,
                const uint8_t *prefix, size_t plen, bool reverse, size_t skip,
                scan_fn fn, void *data, bool *stop) {
    MDB_val k = {plen, (void *)prefix}, v;
    int rc;
    count_read(txn);
    if (start != NULL) {
        k = *start;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    } else if (reverse) {
        rc = seek_last(cur, prefix, plen, &k, &v);
    } else {
        rc = mdb_cursor_get(cur, &k, &v, plen > 0 ? MDB_SET_RANGE : MDB_FIRST);
    }
    while (rc == MDB_SUCCESS && has_prefix(&k, prefix, plen)) {
        int r = fn(data, (const uint8_t *)k.mv_data + skip, k.mv_size - skip,
                   v.mv_data, v.mv_size);
        if (r != 0) {
            *stop = true;
            return r < 0 ? r : ENT_OK;
        }
        count_read(txn);
        rc = mdb_cursor_get(cur, &k, &v, reverse ? MDB_PREV : MDB_NEXT);
    }
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        return ent__store_xlate(txn->s, rc, "mdb_cursor_get");
    return ENT_OK;
}

/*
 * A numbered table in the order of its keys (object id first), for a scan
 * that may cross objects (plen < 32, or from given with plen 0): the objects of "obj_nums" in id order (those
 * starting with prefix[0..min(plen, 32)), from the id of from when given),
 * each one's rows read under its number.
 */
static int walk_objects(ent_txn *txn, ent_table t, MDB_cursor *cur,
                        const uint8_t *prefix, size_t plen,
                        const MDB_val *from, bool reverse, scan_fn fn,
                        void *data) {
    MDB_cursor *oc = NULL;
    MDB_val k, v;
    uint8_t buf[PHYS_MAX], num[NUM_LEN];
    size_t op = plen < OBJ_LEN ? plen : OBJ_LEN; /* the id part of prefix */
    bool stop = false, first = true;
    int err = ENT_OK, rc;
    if (txn->s->absent[ENT_TBL_OBJ_NUMS])
        return ENT_OK;
    rc = mdb_cursor_open(txn->txn, txn->s->dbi[ENT_TBL_OBJ_NUMS], &oc);
    if (rc != MDB_SUCCESS)
        return ent__store_xlate(txn->s, rc, "mdb_cursor_open");
    if (from != NULL) {
        k = (MDB_val){from->mv_size < OBJ_LEN ? from->mv_size : OBJ_LEN,
                      from->mv_data};
        rc = mdb_cursor_get(oc, &k, &v, MDB_SET_RANGE);
    } else if (reverse) {
        rc = seek_last(oc, prefix, op, &k, &v);
    } else {
        k = (MDB_val){op, (void *)prefix};
        rc = mdb_cursor_get(oc, &k, &v, op > 0 ? MDB_SET_RANGE : MDB_FIRST);
    }
    for (; rc == MDB_SUCCESS && !stop && has_prefix(&k, prefix, op);
         first = false,
         rc = mdb_cursor_get(oc, &k, &v, reverse ? MDB_PREV : MDB_NEXT)) {
        if (k.mv_size != OBJ_LEN || v.mv_size != NUM_LEN) {
            err = ENT_ECORRUPT;
            break;
        }
        memcpy(num, v.mv_data, NUM_LEN);
        MDB_val pre = phys_key(buf, num, k.mv_data, OBJ_LEN);
        /* the object of from: its rows from from on; others: all */
        uint8_t sb[PHYS_MAX];
        MDB_val sk;
        bool at_from = first && from != NULL && from->mv_size >= OBJ_LEN &&
                       memcmp(k.mv_data, from->mv_data, OBJ_LEN) == 0;
        if (at_from)
            sk = phys_key(sb, num, from->mv_data, from->mv_size);
        err = walk(txn, cur, at_from ? &sk : NULL, pre.mv_data, pre.mv_size,
                   reverse, NUM_LEN, fn, data, &stop);
        if (err != ENT_OK)
            break;
    }
    if (err == ENT_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        err = ent__store_xlate(txn->s, rc, "mdb_cursor_get");
    mdb_cursor_close(oc);
    return err;
}

/* from: the key to start at (MDB_SET_RANGE) with no prefix filter; NULL
 * for a prefix scan. stored: every row in the order of the stored keys
 * (plen 0, from NULL). */
static int scan(ent_txn *txn, ent_table t, const void *prefix, size_t plen,
                scan_fn fn, void *data, bool reverse, const MDB_val *from,
                bool stored) {
    int err = check_table(txn, t);
    if (err != ENT_OK)
        return err;
    if (fn == NULL || (plen > 0 && prefix == NULL))
        return ENT_EINVAL;
    if (plen > txn->s->max_key || txn->s->absent[t])
        return ENT_OK; /* no key can start with it; no table, no key */
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn->txn, txn->s->dbi[t], &cur);
    if (rc != MDB_SUCCESS)
        return ent__store_xlate(txn->s, rc, "mdb_cursor_open");
    bool stop = false;
    if (!numbered(txn, t) || stored) {
        err = walk(txn, cur, from, prefix, plen, reverse,
                   numbered(txn, t) ? NUM_LEN : 0, fn, data, &stop);
    } else if (from == NULL && plen >= OBJ_LEN) {
        /* one object: its rows under its number */
        uint8_t buf[PHYS_MAX], num[NUM_LEN];
        if (plen + NUM_LEN > sizeof(buf))
            err = ENT_OK;
        else if ((err = ent__num_get(txn, prefix, num)) == ENT_OK) {
            MDB_val pre = phys_key(buf, num, prefix, plen);
            err = walk(txn, cur, NULL, pre.mv_data, pre.mv_size, reverse,
                       NUM_LEN, fn, data, &stop);
        } else if (err == ENT_ENOENT) {
            err = ENT_OK;
        }
    } else {
        err = walk_objects(txn, t, cur, prefix, plen, from, reverse, fn, data);
    }
    mdb_cursor_close(cur);
    return err;
}

int ent_txn_scan(ent_txn *txn, ent_table t, const void *prefix, size_t plen,
                 scan_fn fn, void *data) {
    return scan(txn, t, prefix, plen, fn, data, false, NULL, false);
}

int ent_txn_scan_stored(ent_txn *txn, ent_table t, scan_fn fn, void *data) {
    return scan(txn, t, NULL, 0, fn, data, false, NULL, true);
}

int ent_txn_scan_from(ent_txn *txn, ent_table t, const void *start,
                      size_t slen, scan_fn fn, void *data) {
    if (txn == NULL || slen == 0 || start == NULL)
        return ENT_EINVAL;
    if (slen > txn->s->max_key)
        return ENT_ETOOBIG;
    MDB_val from = {slen, (void *)start};
    return scan(txn, t, NULL, 0, fn, data, false, &from, false);
}

int ent_txn_scan_reverse(ent_txn *txn, ent_table t, const void *prefix,
                         size_t plen, scan_fn fn, void *data) {
    return scan(txn, t, prefix, plen, fn, data, true, NULL, false);
}

struct last_ctx {
    void *key;
    size_t cap, len;
    bool found;
};

static int last_fn(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    struct last_ctx *c = data;
    (void)val;
    (void)vlen;
    c->found = true;
    c->len = klen;
    if (klen <= c->cap)
        memcpy(c->key, key, klen);
    return 1;
}

int ent_txn_last_key(ent_txn *txn, ent_table t, void *key, size_t cap,
                     size_t *klen) {
    int err = check_table(txn, t);
    if (err != ENT_OK || key == NULL || klen == NULL)
        return err != ENT_OK ? err : ENT_EINVAL;
    if (txn->lk_len[t] > 0) {
        if (txn->lk_len[t] > cap)
            return ENT_ETOOBIG;
        memcpy(key, txn->lk[t], txn->lk_len[t]);
        *klen = txn->lk_len[t];
        return ENT_OK;
    }
    struct last_ctx c = {key, cap, 0, false};
    if ((err = scan(txn, t, NULL, 0, last_fn, &c, true, NULL, false)) !=
        ENT_OK)
        return err;
    if (!c.found)
        return ENT_ENOENT;
    if (c.len > cap)
        return ENT_ETOOBIG;
    if (!numbered(txn, t))
        last_key_remember(txn, t, key, c.len);
    *klen = c.len;
    return ENT_OK;
}

/* ---- iterators ---- */

struct ent_iter {
    ent_txn *txn;
    MDB_cursor *cur; /* NULL: the table is absent */
    bool started, done;
    /* a numbered table: the objects in id order (oc), each one's rows
     * under its number (pre: number || id) */
    MDB_cursor *oc;
    bool in_obj;
    uint8_t pre[NUM_LEN + OBJ_LEN];
};

int ent_txn_iter(ent_txn *txn, ent_table t, ent_iter **out) {
    int err = check_table(txn, t);
    ent_iter *it;
    if (out == NULL)
        return ENT_EINVAL;
    *out = NULL;
    if (err != ENT_OK)
        return err;
    if ((it = calloc(1, sizeof(*it))) == NULL)
        return ENT_ENOMEM;
    it->txn = txn;
    if (txn->s->absent[t] ||
        (numbered(txn, t) && txn->s->absent[ENT_TBL_OBJ_NUMS])) {
        it->done = true; /* no table, no key */
    } else {
        int rc = mdb_cursor_open(txn->txn, txn->s->dbi[t], &it->cur);
        if (rc == MDB_SUCCESS && numbered(txn, t))
            rc = mdb_cursor_open(txn->txn, txn->s->dbi[ENT_TBL_OBJ_NUMS],
                                 &it->oc);
        if (rc != MDB_SUCCESS) {
            ent_iter_free(it);
            return ent__store_xlate(txn->s, rc, "mdb_cursor_open");
        }
    }
    *out = it;
    return ENT_OK;
}

/* The next row of a numbered table, in key order. */
static int iter_next_numbered(ent_iter *it, MDB_val *k, MDB_val *v) {
    MDB_val ok, ov;
    int rc;
    for (;;) {
        if (it->in_obj) {
            rc = mdb_cursor_get(it->cur, k, v, MDB_NEXT);
            if (rc == MDB_SUCCESS && has_prefix(k, it->pre, sizeof(it->pre)))
                return MDB_SUCCESS;
            if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
                return rc;
            it->in_obj = false;
        }
        rc = mdb_cursor_get(it->oc, &ok, &ov, it->started ? MDB_NEXT : MDB_FIRST);
        it->started = true;
        if (rc != MDB_SUCCESS)
            return rc;
        if (ok.mv_size != OBJ_LEN || ov.mv_size != NUM_LEN)
            return MDB_CORRUPTED;
        memcpy(it->pre, ov.mv_data, NUM_LEN);
        memcpy(it->pre + NUM_LEN, ok.mv_data, OBJ_LEN);
        *k = (MDB_val){sizeof(it->pre), it->pre};
        rc = mdb_cursor_get(it->cur, k, v, MDB_SET_RANGE);
        if (rc == MDB_SUCCESS && has_prefix(k, it->pre, sizeof(it->pre))) {
            it->in_obj = true;
            return MDB_SUCCESS;
        }
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
            return rc;
    }
}

int ent_iter_next(ent_iter *it, const void **key, size_t *klen,
                  const void **val, size_t *vlen) {
    MDB_val k, v;
    size_t skip = 0;
    int rc;
    if (it == NULL)
        return ENT_EINVAL;
    if (it->done)
        return ENT_ENOENT;
    count_read(it->txn);
    if (it->oc != NULL) {
        rc = iter_next_numbered(it, &k, &v);
        skip = NUM_LEN;
    } else {
        rc = mdb_cursor_get(it->cur, &k, &v,
                            it->started ? MDB_NEXT : MDB_FIRST);
        it->started = true;
    }
    if (rc != MDB_SUCCESS) {
        it->done = true;
        return rc == MDB_NOTFOUND ? ENT_ENOENT
                                  : ent__store_xlate(it->txn->s, rc, "mdb_cursor_get");
    }
    *key = (const uint8_t *)k.mv_data + skip;
    *klen = k.mv_size - skip;
    *val = v.mv_data;
    *vlen = v.mv_size;
    return ENT_OK;
}

void ent_iter_free(ent_iter *it) {
    if (it == NULL)
        return;
    if (it->cur != NULL)
        mdb_cursor_close(it->cur);
    if (it->oc != NULL)
        mdb_cursor_close(it->oc);
    free(it);
}

/* ---- schema 4 -> 5 ---- */

struct mrow {
    uint8_t *key, *val;
    size_t klen, vlen;
};

/* The rows of table t as stored (one malloc'ed copy each). */
static int raw_rows(ent_txn *txn, ent_table t, struct mrow **out,
                    size_t *n) {
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    int rc = mdb_cursor_open(txn->txn, txn->s->dbi[t], &cur);
    if (rc != MDB_SUCCESS)
        return ent__store_xlate(txn->s, rc, "mdb_cursor_open");
    int err = ENT_OK;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            struct mrow *nr = realloc(*out, nc * sizeof(*nr));
            if (nr == NULL) {
                err = ENT_ENOMEM;
                break;
            }
            *out = nr;
            cap = nc;
        }
        struct mrow *r = &(*out)[*n];
        r->key = malloc(k.mv_size + v.mv_size + 1);
        if (r->key == NULL) {
            err = ENT_ENOMEM;
            break;
        }
        r->val = r->key + k.mv_size;
        memcpy(r->key, k.mv_data, k.mv_size);
        memcpy(r->val, v.mv_data, v.mv_size);
        r->klen = k.mv_size;
        r->vlen = v.mv_size;
        (*n)++;
    }
    if (err == ENT_OK && rc != MDB_NOTFOUND)
        err = ent__store_xlate(txn->s, rc, "mdb_cursor_get");
    mdb_cursor_close(cur);
    return err;
}

static void free_rows(struct mrow *r, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(r[i].key);
    free(r);
}

/* Every row of table t, read as the layout before stored it (key =
 * object id || rest), is stored again under its object's number; rows
 * whose key is shorter than an object id (or, with exact, longer) cannot
 * be numbered: ENT_ECORRUPT. The caller has set the layout that numbers
 * t. */
static int renumber(ent_txn *txn, ent_table t, bool exact) {
    ent_store *s = txn->s;
    struct mrow *rows = NULL;
    size_t n = 0;
    if (s->absent[t])
        return ENT_OK;
    int err = raw_rows(txn, t, &rows, &n);
    if (err == ENT_OK && n > 0) {
        last_key_forget(txn, t);
        int rc = mdb_drop(txn->txn, s->dbi[t], 0);
        if (rc != MDB_SUCCESS)
            err = ent__store_poison(txn, ent__store_xlate(s, rc, "mdb_drop"));
    }
    for (size_t i = 0; err == ENT_OK && i < n; i++) {
        if (rows[i].klen < OBJ_LEN || (exact && rows[i].klen != OBJ_LEN)) {
            ENT_ERROR(s->log, "storage: %s key of %zu bytes",
                      ent__table_names[t], rows[i].klen);
            err = ENT_ECORRUPT;
            break;
        }
        err = ent_txn_put(txn, t, rows[i].key, rows[i].klen, rows[i].val,
                          rows[i].vlen, 0);
    }
    free_rows(rows, n);
    return err;
}

/* Every row of the tables numbered from schema 5, read as schema 4 stored
 * it, table by table ("ops" first, so numbers follow object ids there). */
int ent__store_migrate_4_5(ent_txn *txn, void *data) {
    (void)data;
    txn->s->layout = 5;
    int err = ENT_OK;
    for (int t = 0; t < ENT_TBL__COUNT && err == ENT_OK; t++)
        if (ent__numbered_since[t] == 5)
            err = renumber(txn, (ent_table)t, false);
    return err;
}

/* The rows of "objects" (key: the object id alone), under the number each
 * object has (its other rows') or is given now. */
int ent__store_migrate_6_7(ent_txn *txn, void *data) {
    (void)data;
    txn->s->layout = 7;
    return renumber(txn, ENT_TBL_OBJECTS, true);
}
