/*
 * object_keys.c - epoch keys as this node holds them (spec/membership.md
 * "Epochs and keys"): the keys table (which key opens which epoch, and
 * which op created it), which key new local ops use, and the rotation rule.
 *
 * A key may open ops whatever made it; it is USED for new local ops only
 * if the op that created it counts and its author is still an active
 * member (object_fold.c decides both and keeps them as WR_MOP flags), or
 * if it came through the join flow (creator unknown). So a voided
 * rotate_key, or a removal made by an org that is itself removed, never
 * becomes the key this node writes under. Among usable keys, those whose
 * creator has every counting removal in its past ("fresh") come first.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/objects/object_int.h"

/* keys: obj(32) || epoch(8) || kid(32) -> key(32) || creator(32) || known(1)
 * where kid = BLAKE2b-256 of the key (a local name, never sent) and
 * creator the op id of the op that created it. */
int ent__obj_key_put(ent_txn *txn, const uint8_t obj[32], uint64_t epoch,
                     const uint8_t key[ENT_KEY_LEN], const uint8_t *creator) {
    uint8_t k[72], v[65];
    const uint8_t *old;
    size_t olen;
    if (epoch > OBJ_EPOCH_MAX)
        return ENT_ECORRUPT;
    memcpy(k, obj, 32);
    ent_be64_put(k + 32, epoch);
    ent_hash(k + 40, key, ENT_KEY_LEN);
    int rc = ent_txn_get(txn, ENT_TBL_KEYS, k, sizeof(k), (const void **)&old,
                         &olen);
    if (rc == ENT_OK && olen == sizeof(v) && (old[64] == 1 || creator == NULL))
        return ENT_OK; /* nothing to add */
    memcpy(v, key, 32);
    memset(v + 32, 0, 32);
    v[64] = 0;
    if (creator != NULL) {
        memcpy(v + 32, creator, 32);
        v[64] = 1;
    }
    rc = ent_txn_put(txn, ENT_TBL_KEYS, k, sizeof(k), v, sizeof(v), 0);
    ent_wipe(v, sizeof(v));
    return rc;
}

typedef struct keys_ctx {
    ent_obj_key *v;
    size_t n, cap;
} keys_ctx;

static int keys_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    keys_ctx *c = data;
    if (klen != 72 || vlen != 65)
        return ENT_ECORRUPT;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 4;
        ent_obj_key *nv = calloc(nc, sizeof(*nv));
        if (nv == NULL)
            return ENT_ENOMEM;
        if (c->n > 0)
            memcpy(nv, c->v, c->n * sizeof(*nv));
        ent_obj_keys_free(c->v, c->n);
        c->v = nv;
        c->cap = nc;
    }
    c->v[c->n].epoch = ent_be64_get((const uint8_t *)key + 32);
    memcpy(c->v[c->n++].key, val, ENT_KEY_LEN);
    return 0;
}

typedef struct keys_req {
    const uint8_t *obj;
    keys_ctx c;
} keys_req;

static int keys_fn(ent_txn *txn, void *data) {
    keys_req *r = data;
    return ent_txn_scan(txn, ENT_TBL_KEYS, r->obj, 32, keys_scan, &r->c);
}

int ent_obj_epoch_keys(ent_objects *eng, const uint8_t obj[32],
                       ent_obj_key **out, size_t *n) {
    keys_req r = {.obj = obj};
    *out = NULL;
    *n = 0;
    int rc = ent_store_read(eng->store, keys_fn, &r);
    if (rc != ENT_OK) {
        ent_obj_keys_free(r.c.v, r.c.n);
        return rc;
    }
    *out = r.c.v;
    *n = r.c.n;
    return ENT_OK;
}

void ent_obj_keys_free(ent_obj_key *keys, size_t n) {
    if (keys == NULL)
        return;
    ent_wipe(keys, n * sizeof(*keys));
    free(keys);
}

/* ------------------------------------------------------- the DAG's epoch */

typedef struct dag_ctx {
    ent_txn *txn;
    const uint8_t *obj;
    uint64_t top;
} dag_ctx;

static int dag_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    dag_ctx *c = data;
    pvinfo pi;
    if (klen != 64)
        return ENT_ECORRUPT;
    int rc = ent__obj_pv_load(c->txn, c->obj, (const uint8_t *)key + 32, &pi);
    if (rc == ENT_ENOENT)
        return 0; /* a head without a PV row: nothing it names counts */
    if (rc != ENT_OK)
        return rc;
    if (pi.maxep > c->top)
        c->top = pi.maxep;
    ent__pvinfo_free(&pi);
    return 0;
}

int ent__obj_dag_epoch(ent_txn *txn, const uint8_t obj[32], uint64_t *out) {
    dag_ctx c = {.txn = txn, .obj = obj};
    int rc = ent_txn_scan(txn, ENT_TBL_HEADS, obj, 32, dag_scan, &c);
    *out = c.top;
    return rc;
}

/* ------------------------------------------------------------ candidates */

/* One usable key, ranked inside its epoch: fresh first, then known
 * creators, then the lowest creator op id (or key id for unknown ones). */
typedef struct cand {
    uint64_t epoch;
    uint8_t key[ENT_KEY_LEN];
    uint8_t rank[34]; /* stale (1) || !known (1) || creator (32) */
} cand;

typedef struct cand_ctx {
    ent_txn *txn;
    const uint8_t *obj;
    bool rm_known;   /* rm_top looked up */
    uint64_t rm_top; /* highest epoch of a counting removal + 1 (0:
                        none) */
    cand *v;
    size_t n, cap;
} cand_ctx;

static int removal_scan(void *data, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    const uint8_t *v = val;
    uint64_t *top = data;
    if (vlen < 99)
        return ENT_ECORRUPT;
    if (v[72] == ENT_OP_REMOVE_MEMBER && (v[73] & MOP_COUNTS) &&
        ent_be64_get(v + 91) + 1 > *top)
        *top = ent_be64_get(v + 91) + 1;
    return 0;
}

static int cand_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    cand_ctx *c = data;
    const uint8_t *v = val;
    bool stale = false;
    uint8_t flags;
    int rc;
    if (klen != 72 || vlen != 65)
        return ENT_ECORRUPT;
    uint64_t epoch = ent_be64_get((const uint8_t *)key + 32);
    if (v[64] == 0 || memcmp(v + 32, c->obj, 32) == 0) {
        /* the genesis key, or one of the join flow (creator unknown):
         * stale once a removal of a later epoch counts */
        if (!c->rm_known) {
            uint8_t pre[33];
            memcpy(pre, c->obj, 32);
            pre[32] = WR_MOP;
            c->rm_known = true;
            if ((rc = ent_txn_scan(c->txn, ENT_TBL_WRITES, pre, 33,
                                   removal_scan, &c->rm_top)) != ENT_OK)
                return rc;
        }
        stale = c->rm_top > epoch + 1;
    } else {
        rc = ent__obj_mop_flags(c->txn, c->obj, v + 32, &flags);
        if (rc == ENT_ENOENT)
            return 0; /* not an epoch op of this object: never used */
        if (rc != ENT_OK)
            return rc;
        if (!(flags & MOP_USABLE))
            return 0;
        stale = (flags & MOP_STALE) != 0;
    }
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        cand *nv = calloc(nc, sizeof(*nv));
        if (nv == NULL)
            return ENT_ENOMEM;
        if (c->n > 0)
            memcpy(nv, c->v, c->n * sizeof(*nv));
        ent_wipe(c->v, c->n * sizeof(*c->v));
        free(c->v);
        c->v = nv;
        c->cap = nc;
    }
    cand *x = &c->v[c->n++];
    x->epoch = epoch;
    memcpy(x->key, v, 32);
    x->rank[0] = stale ? 1 : 0;
    x->rank[1] = v[64] ? 0 : 1;
    memcpy(x->rank + 2, v[64] ? v + 32 : (const uint8_t *)key + 40, 32);
    return 0;
}

static void cand_free(cand_ctx *c) {
    if (c->v != NULL)
        ent_wipe(c->v, c->cap * sizeof(*c->v));
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
}

/* The usable keys of obj (of one epoch when one is given). */
static int cand_load(ent_txn *txn, const uint8_t obj[32], const uint64_t *epoch,
                     cand_ctx *c) {
    uint8_t pre[40];
    memset(c, 0, sizeof(*c));
    c->txn = txn;
    c->obj = obj;
    memcpy(pre, obj, 32);
    if (epoch != NULL)
        ent_be64_put(pre + 32, *epoch);
    int rc = ent_txn_scan(txn, ENT_TBL_KEYS, pre, epoch != NULL ? 40 : 32,
                          cand_scan, c);
    if (rc != ENT_OK)
        cand_free(c);
    return rc;
}

int ent__obj_epoch_key(ent_txn *txn, const uint8_t obj[32], uint64_t epoch,
                       uint8_t key[ENT_KEY_LEN]) {
    cand_ctx c;
    const cand *best = NULL;
    int rc = cand_load(txn, obj, &epoch, &c);
    if (rc != ENT_OK)
        return rc;
    for (size_t i = 0; i < c.n; i++)
        if (best == NULL || memcmp(c.v[i].rank, best->rank, 34) < 0)
            best = &c.v[i];
    if (best != NULL)
        memcpy(key, best->key, ENT_KEY_LEN);
    else
        rc = ENT_ENOENT;
    cand_free(&c);
    return rc;
}

int ent__obj_current_key(ent_txn *txn, const uint8_t obj[32], uint64_t *epoch,
                         uint8_t key[ENT_KEY_LEN], bool *fresh) {
    cand_ctx c;
    const cand *best = NULL, *best_fresh = NULL;
    uint64_t top;
    int rc = ent__obj_dag_epoch(txn, obj, &top);
    if (rc != ENT_OK || (rc = cand_load(txn, obj, NULL, &c)) != ENT_OK)
        return rc;
    /* the highest epoch (up to the highest any op names) with a fresh key,
     * else the highest with a usable one; the best rank inside it */
    for (size_t i = 0; i < c.n; i++) {
        const cand *x = &c.v[i];
        if (x->epoch > top)
            continue;
        if (best == NULL || x->epoch > best->epoch ||
            (x->epoch == best->epoch && memcmp(x->rank, best->rank, 34) < 0))
            best = x;
        if (x->rank[0] == 0 &&
            (best_fresh == NULL || x->epoch > best_fresh->epoch ||
             (x->epoch == best_fresh->epoch &&
              memcmp(x->rank, best_fresh->rank, 34) < 0)))
            best_fresh = x;
    }
    if (best_fresh != NULL)
        best = best_fresh;
    if (best == NULL) {
        rc = ENT_ENOENT;
    } else {
        *epoch = best->epoch;
        memcpy(key, best->key, ENT_KEY_LEN);
        if (fresh != NULL)
            *fresh = best->rank[0] == 0;
    }
    cand_free(&c);
    return rc;
}

/* ---------------------------------------------------------- the rotation */

typedef struct low_ctx {
    const uint8_t *lowest;
    uint8_t buf[32];
} low_ctx;

static int low_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    low_ctx *c = data;
    const uint8_t *v = val, *org = (const uint8_t *)key + 32;
    if (klen != 64 || vlen != 2)
        return ENT_ECORRUPT;
    if (v[1] != 0 && v[0] <= ENT_ROLE_ADMIN &&
        (c->lowest == NULL || memcmp(org, c->lowest, 32) < 0)) {
        memcpy(c->buf, org, 32);
        c->lowest = c->buf;
    }
    return 0;
}

int ent__obj_check_rotation(ent_objects *eng, ent_txn *txn,
                            const uint8_t obj[32], const oauth *au,
                            ent_apply_info *info) {
    uint64_t top = 0, epoch;
    size_t at_top = 0;
    bool fresh = true, need;
    uint8_t key[ENT_KEY_LEN];
    /* two usable epoch ops for the highest usable epoch */
    for (size_t i = 0; i < au->n; i++) {
        const omop *m = &au->v[i];
        if (m->kind == ENT_OP_ADD_MEMBER || !(m->flags & MOP_USABLE))
            continue;
        if (at_top == 0 || m->epoch > top) {
            top = m->epoch;
            at_top = 1;
        } else if (m->epoch == top) {
            at_top++;
        }
    }
    int rc = ent__obj_current_key(txn, obj, &epoch, key, &fresh);
    ent_wipe(key, sizeof(key));
    if (rc == ENT_ENOENT)
        return ENT_OK; /* no key to rotate from: nothing this node can do */
    if (rc != ENT_OK)
        return rc;
    need = at_top >= 2 || !fresh;
    if (!need || info == NULL)
        return ENT_OK;
    /* only the lowest active owner/admin org rotates */
    low_ctx lc = {0};
    if ((rc = ent_txn_scan(txn, ENT_TBL_MEMBERS, obj, 32, low_scan, &lc)) !=
        ENT_OK)
        return rc;
    if (lc.lowest != NULL && memcmp(lc.lowest, eng->me, 32) == 0)
        info->rotate_needed = true;
    return ENT_OK;
}
