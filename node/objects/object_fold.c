/*
 * object_fold.c - membership and epochs as this node derives them from the
 * ops it holds (spec/membership.md): the membership fold (membership writes
 * folded in (HLC, author, op id) order into who is a member with which
 * role; a write counts only if its author was an active owner or admin at
 * that point), the epoch keys table (which key opens which epoch, and which
 * epoch is current), and the rotation rule (who must rotate the key after
 * concurrent epoch changes). Who may make which change is judged in
 * object_check.c; how the fold decides which field writes count is in
 * object_merge.c.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/objects/object_int.h"

/* ------------------------------------------------------------- the fold */

static int mlog_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    mlog *l = data;
    const uint8_t *v = val;
    if (klen != 33 + OBJ_ORDER_LEN || vlen != 34)
        return ENT_ECORRUPT;
    if (ent__obj_grow((void **)&l->v, l->n, sizeof(*l->v)) != ENT_OK)
        return ENT_ENOMEM;
    mrec *m = &l->v[l->n++];
    memcpy(m->order, (const uint8_t *)key + 33, OBJ_ORDER_LEN);
    m->kind = v[0];
    memcpy(m->org, v + 1, 32);
    m->role = v[33];
    return 0;
}

int ent__obj_mlog_load(ent_txn *txn, const uint8_t obj[32], mlog *out) {
    uint8_t pre[33];
    memcpy(pre, obj, 32);
    pre[32] = WR_MEMBER;
    out->v = NULL;
    out->n = 0;
    int rc = ent_txn_scan(txn, ENT_TBL_WRITES, pre, 33, mlog_scan, out);
    if (rc != ENT_OK)
        ent__obj_mlog_free(out);
    return rc;
}

void ent__obj_mlog_free(mlog *l) {
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void ent__obj_mset_init(mset *s, const uint8_t owner[32]) {
    memset(s, 0, sizeof(*s));
    memcpy(s->owner, owner, 32);
}

void ent__obj_mset_free(mset *s) {
    free(s->v);
    memset(s, 0, sizeof(*s));
}

const mstate *ent__obj_mset_find(const mset *s, const uint8_t org[32]) {
    static const mstate owner_state = {.role = ENT_ROLE_OWNER, .active = true};
    if (memcmp(org, s->owner, 32) == 0)
        return &owner_state; /* the owner is always an active owner */
    for (size_t i = 0; i < s->n; i++)
        if (memcmp(s->v[i].org, org, 32) == 0)
            return &s->v[i];
    return NULL;
}

/* Folds one membership write: it counts only if its author is an active
 * owner or admin at that point, and nobody can add or remove the owner or
 * give the owner role. Per org the last counted write wins (LWW). */
static int mset_step(mset *s, const mrec *m) {
    const mstate *a = ent__obj_mset_find(s, m->order + 8);
    if (a == NULL || !a->active || a->role > ENT_ROLE_ADMIN)
        return ENT_OK;
    if (memcmp(m->org, s->owner, 32) == 0)
        return ENT_OK;
    if (m->kind == ENT_OP_ADD_MEMBER &&
        (m->role == ENT_ROLE_OWNER || m->role >= ENT_ROLE__COUNT))
        return ENT_OK;
    mstate *t = NULL;
    for (size_t i = 0; i < s->n; i++)
        if (memcmp(s->v[i].org, m->org, 32) == 0)
            t = &s->v[i];
    if (t == NULL) {
        if (s->n == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 8;
            mstate *nv = realloc(s->v, nc * sizeof(*nv));
            if (nv == NULL)
                return ENT_ENOMEM;
            s->v = nv;
            s->cap = nc;
        }
        t = &s->v[s->n++];
        memcpy(t->org, m->org, 32);
        t->role = ENT_ROLE_VIEWER;
        t->active = false;
    }
    if (m->kind == ENT_OP_ADD_MEMBER) {
        t->role = m->role;
        t->active = true;
    } else {
        t->active = false;
    }
    return ENT_OK;
}

int ent__obj_mset_fold(mset *s, const mlog *l, const uint8_t *limit) {
    while (s->next < l->n &&
           (limit == NULL ||
            memcmp(l->v[s->next].order, limit, OBJ_ORDER_LEN) < 0)) {
        int rc = mset_step(s, &l->v[s->next]);
        if (rc != ENT_OK)
            return rc;
        s->next++;
    }
    return ENT_OK;
}

int ent__obj_members(ent_txn *txn, const uint8_t obj[32],
                     const uint8_t owner[32], mset *out) {
    mlog l;
    ent__obj_mset_init(out, owner);
    int rc = ent__obj_mlog_load(txn, obj, &l);
    if (rc == ENT_OK)
        rc = ent__obj_mset_fold(out, &l, NULL);
    ent__obj_mlog_free(&l);
    if (rc != ENT_OK)
        ent__obj_mset_free(out);
    return rc;
}

/* ------------------------------------------------------------ epoch keys */

/* keys: obj(32) || epoch(8) || kid(32) -> key(32) || creator(32) || known(1)
 * where kid = BLAKE2b-256 of the key (a local name, never sent). */
int ent__obj_key_put(ent_txn *txn, const uint8_t obj[32], uint64_t epoch,
                     const uint8_t key[ENT_KEY_LEN], const uint8_t *creator) {
    uint8_t k[72], v[65];
    const uint8_t *old;
    size_t olen;
    memcpy(k, obj, 32);
    ent__be64(k + 32, epoch);
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

static int keys_scan(void *data, const void *key, size_t klen,
                     const void *val, size_t vlen) {
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
    c->v[c->n].epoch = ent__rd64((const uint8_t *)key + 32);
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

typedef struct key_pick {
    bool found;
    uint64_t epoch;
    uint8_t key[ENT_KEY_LEN];
    uint8_t rank[33]; /* !known(1) || creator: smaller wins */
} key_pick;

static int pick_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    key_pick *p = data;
    const uint8_t *v = val;
    if (klen != 72 || vlen != 65)
        return ENT_ECORRUPT;
    uint8_t rank[33];
    rank[0] = v[64] ? 0 : 1;
    memcpy(rank + 1, v + 32, 32);
    if (!p->found || memcmp(rank, p->rank, sizeof(rank)) < 0) {
        p->found = true;
        p->epoch = ent__rd64((const uint8_t *)key + 32);
        memcpy(p->key, v, 32);
        memcpy(p->rank, rank, sizeof(rank));
    }
    return 0;
}

int ent__obj_epoch_key(ent_txn *txn, const uint8_t obj[32], uint64_t epoch,
                       uint8_t key[ENT_KEY_LEN]) {
    uint8_t pre[40];
    key_pick p;
    memset(&p, 0, sizeof(p));
    memcpy(pre, obj, 32);
    ent__be64(pre + 32, epoch);
    int rc = ent_txn_scan(txn, ENT_TBL_KEYS, pre, sizeof(pre), pick_scan, &p);
    if (rc == ENT_OK && !p.found)
        rc = ENT_ENOENT;
    if (rc == ENT_OK)
        memcpy(key, p.key, ENT_KEY_LEN);
    ent_wipe(&p, sizeof(p));
    return rc;
}

static int last_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    if (klen < 40)
        return ENT_ECORRUPT;
    *(uint64_t *)data = ent__rd64((const uint8_t *)key + 32) + 1;
    return 1;
}

int ent__obj_current_key(ent_txn *txn, const uint8_t obj[32], uint64_t *epoch,
                         uint8_t key[ENT_KEY_LEN]) {
    uint64_t top = 0; /* highest epoch + 1; 0: none */
    int rc = ent_txn_scan_reverse(txn, ENT_TBL_KEYS, obj, 32, last_scan, &top);
    if (rc != ENT_OK)
        return rc;
    if (top == 0)
        return ENT_ENOENT;
    *epoch = top - 1;
    return ent__obj_epoch_key(txn, obj, top - 1, key);
}

static int last_epoch_op_scan(void *data, const void *key, size_t klen,
                              const void *val, size_t vlen) {
    if (klen != 73)
        return ENT_ECORRUPT;
    *(uint64_t *)data = ent__rd64((const uint8_t *)key + 33) + 1;
    return 1;
}

/* Highest epoch named by an epoch op of obj, + 1; 0 when none. */
static int epoch_op_top(ent_txn *txn, const uint8_t obj[32], uint64_t *top) {
    uint8_t pre[33];
    memcpy(pre, obj, 32);
    pre[32] = WR_EPOCH;
    *top = 0;
    return ent_txn_scan_reverse(txn, ENT_TBL_WRITES, pre, 33,
                                last_epoch_op_scan, top);
}

int ent__obj_max_epoch(ent_txn *txn, const uint8_t obj[32], uint64_t *out) {
    uint64_t a = 0, b = 0;
    int rc = ent_txn_scan_reverse(txn, ENT_TBL_KEYS, obj, 32, last_scan, &a);
    if (rc == ENT_OK)
        rc = epoch_op_top(txn, obj, &b);
    if (rc != ENT_OK)
        return rc;
    if (b > a)
        a = b;
    *out = a > 0 ? a - 1 : 0;
    return ENT_OK;
}

/*
 * The rotation rule (spec/membership.md): two or more epoch-changing ops for
 * the highest epoch make the lowest active owner/admin org issue a rotate.
 */
int ent__obj_check_rotation(ent_objects *eng, ent_txn *txn,
                            const uint8_t obj[32], uint64_t epoch,
                            ent_apply_info *info) {
    uint8_t pre[41];
    size_t n = 0;
    obj_rec r;
    mset ms;
    memcpy(pre, obj, 32);
    pre[32] = WR_EPOCH;
    ent__be64(pre + 33, epoch);
    int rc =
        ent_txn_scan(txn, ENT_TBL_WRITES, pre, 41, ent__obj_count_scan, &n);
    if (rc != ENT_OK || n < 2)
        return rc;
    /* an epoch op above? then that later epoch settles it */
    uint64_t top;
    if ((rc = epoch_op_top(txn, obj, &top)) != ENT_OK)
        return rc;
    if (top > epoch + 1)
        return ENT_OK;
    if ((rc = ent__obj_rec_get(txn, obj, &r)) != ENT_OK)
        return rc;
    if ((rc = ent__obj_members(txn, obj, r.owner, &ms)) != ENT_OK)
        return rc;
    const uint8_t *lowest = r.owner;
    for (size_t i = 0; i < ms.n; i++)
        if (ms.v[i].active && ms.v[i].role <= ENT_ROLE_ADMIN &&
            memcmp(ms.v[i].org, lowest, 32) < 0)
            lowest = ms.v[i].org;
    if (memcmp(lowest, eng->me, 32) == 0 && info != NULL)
        info->rotate_needed = true;
    ent__obj_mset_free(&ms);
    return ENT_OK;
}
