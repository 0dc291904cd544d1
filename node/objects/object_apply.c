/*
 * object_apply.c - applying ops: the checks every received op passes, the
 * commit of an op into the tables, the merge rules and the membership fold
 * (spec/objects.md "Merge", spec/membership.md).
 *
 * The merge keeps every write (writes table) and recomputes the winner of
 * each touched field from them, so the result depends only on the set of
 * applied ops, never on their order; a field without owner-only writes
 * takes the fast path (merge_plain: compare with the current winner).
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/audit/actlog.h"
#include "node/err.h"
#include "node/objects/object_int.h"

#define PENDING_TOTAL_MAX 65536 /* held ops in the whole store */

/* ------------------------------------------------------------ small bits */

void ent__be64(uint8_t out[8], uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t ent__rd64(const uint8_t in[8]) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | in[i];
    return v;
}

void ent__obj_order(uint8_t out[OBJ_ORDER_LEN], uint64_t hlc,
                    const uint8_t author[32], const uint8_t opid[32]) {
    ent__be64(out, hlc);
    memcpy(out + 8, author, 32);
    memcpy(out + 40, opid, 32);
}

/* ------------------------------------------------------- object records */

/* Layout: version(1) status(1) owner(32) hlc(8) typelen(1) type. */
int ent__obj_rec_get(ent_txn *txn, const uint8_t obj[32], obj_rec *out) {
    const uint8_t *v;
    size_t n;
    int rc = ent_txn_get(txn, ENT_TBL_OBJECTS, obj, 32, (const void **)&v, &n);
    if (rc != ENT_OK)
        return rc;
    if (n < 43 || v[0] != OBJ_REC_VERSION || v[42] == 0 ||
        v[42] > ENT_OP_NAME_MAX || n != 43u + v[42])
        return ENT_ECORRUPT;
    memset(out, 0, sizeof(*out));
    out->status = v[1];
    memcpy(out->owner, v + 2, 32);
    out->hlc = ent__rd64(v + 34);
    memcpy(out->type, v + 43, v[42]);
    return ENT_OK;
}

int ent__obj_rec_put(ent_txn *txn, const uint8_t obj[32], const obj_rec *r) {
    uint8_t buf[43 + ENT_OP_NAME_MAX];
    size_t tl = strlen(r->type);
    buf[0] = OBJ_REC_VERSION;
    buf[1] = r->status;
    memcpy(buf + 2, r->owner, 32);
    ent__be64(buf + 34, r->hlc);
    buf[42] = (uint8_t)tl;
    memcpy(buf + 43, r->type, tl);
    return ent_txn_put(txn, ENT_TBL_OBJECTS, obj, 32, buf, 43 + tl, 0);
}

/* ------------------------------------------------------------- the fold */

static int mlog_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    mlog *l = data;
    const uint8_t *v = val;
    if (klen != 33 + OBJ_ORDER_LEN || vlen != 34)
        return ENT_ECORRUPT;
    mrec *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (nv == NULL)
        return ENT_ENOMEM;
    l->v = nv;
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

/* True if st may make a change of kind. */
static bool role_allows(const mstate *st, uint8_t kind) {
    if (st == NULL || !st->active)
        return false;
    switch (kind) {
    case ENT_OP_ADD_MEMBER:
    case ENT_OP_REMOVE_MEMBER:
    case ENT_OP_ROTATE_KEY:
        return st->role <= ENT_ROLE_ADMIN;
    case ENT_OP_SET:
    case ENT_OP_STAGE:
    case ENT_OP_COMMENT:
        return st->role <= ENT_ROLE_MEMBER;
    default:
        return false;
    }
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

/* --------------------------------------------------------------- merging */

typedef struct fwr {
    uint8_t order[OBJ_ORDER_LEN];
    uint8_t flags;
    const uint8_t *val; /* value blob, valid during the transaction */
    size_t vlen;
} fwr;

typedef struct fwlist {
    fwr *v;
    size_t n;
    size_t namelen;
} fwlist;

static int fw_scan(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    fwlist *l = data;
    if (klen != 32 + 1 + l->namelen + 1 + OBJ_ORDER_LEN || vlen < 1)
        return ENT_ECORRUPT;
    fwr *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (nv == NULL)
        return ENT_ENOMEM;
    l->v = nv;
    fwr *w = &l->v[l->n++];
    memcpy(w->order, (const uint8_t *)key + klen - OBJ_ORDER_LEN,
           OBJ_ORDER_LEN);
    w->flags = ((const uint8_t *)val)[0];
    w->val = (const uint8_t *)val + 1;
    w->vlen = vlen - 1;
    return 0;
}

static size_t field_prefix(uint8_t *out, const uint8_t obj[32],
                           const char *name) {
    size_t nl = strlen(name);
    memcpy(out, obj, 32);
    out[32] = WR_FIELD;
    memcpy(out + 33, name, nl);
    out[33 + nl] = 0;
    return 34 + nl;
}

/*
 * Recomputes the winner of one field from every write kept for it:
 * writes whose author was not allowed to set fields at that point (the
 * membership fold up to the write's order) are ignored; if any remaining
 * write carries the owner-only flag, the author of the earliest such write
 * owns the field and only that author's writes remain; the winner is the
 * greatest remaining (HLC, author, op id). The fields table then holds
 * order(72) || flags(1) || value blob, or nothing; flags are the winner's
 * FW_OWNER_ONLY plus FW_PLAIN when the field has no owner.
 */
static int recompute_field(ent_txn *txn, const uint8_t obj[32],
                           const char *name, const uint8_t owner[32],
                           const mlog *ml) {
    uint8_t pre[34 + ENT_OP_NAME_MAX];
    fwlist l = {.namelen = strlen(name)};
    mset ms;
    const uint8_t *fowner = NULL;
    const fwr *win = NULL;
    uint8_t *rec = NULL;
    size_t plen = field_prefix(pre, obj, name);
    ent__obj_mset_init(&ms, owner);
    int rc = ent_txn_scan(txn, ENT_TBL_WRITES, pre, plen, fw_scan, &l);
    if (rc != ENT_OK)
        goto out;
    bool *ok = calloc(l.n ? l.n : 1, sizeof(bool));
    if (ok == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < l.n; i++) {
        if ((rc = ent__obj_mset_fold(&ms, ml, l.v[i].order)) != ENT_OK)
            break;
        ok[i] =
            role_allows(ent__obj_mset_find(&ms, l.v[i].order + 8), ENT_OP_SET);
        if (ok[i] && fowner == NULL && (l.v[i].flags & FW_OWNER_ONLY))
            fowner = l.v[i].order + 8;
    }
    for (size_t i = 0; rc == ENT_OK && i < l.n; i++)
        if (ok[i] &&
            (fowner == NULL || memcmp(l.v[i].order + 8, fowner, 32) == 0))
            win = &l.v[i];
    free(ok);
    if (rc != ENT_OK)
        goto out;
    uint8_t fk[32 + ENT_OP_NAME_MAX];
    memcpy(fk, obj, 32);
    memcpy(fk + 32, name, l.namelen);
    if (win == NULL) {
        rc = ent_txn_del(txn, ENT_TBL_FIELDS, fk, 32 + l.namelen);
        if (rc == ENT_ENOENT)
            rc = ENT_OK;
        goto out;
    }
    size_t rlen = OBJ_ORDER_LEN + 1 + win->vlen;
    if ((rec = malloc(rlen)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    memcpy(rec, win->order, OBJ_ORDER_LEN);
    rec[OBJ_ORDER_LEN] = (uint8_t)((win->flags & FW_OWNER_ONLY) |
                                   (fowner == NULL ? FW_PLAIN : 0));
    memcpy(rec + OBJ_ORDER_LEN + 1, win->val, win->vlen);
    rc = ent_txn_put(txn, ENT_TBL_FIELDS, fk, 32 + l.namelen, rec, rlen, 0);
out:
    free(rec);
    free(l.v);
    ent__obj_mset_free(&ms);
    return rc;
}

typedef struct names_ctx {
    char (*v)[ENT_OP_NAME_MAX + 1];
    size_t n;
} names_ctx;

static int names_scan(void *data, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    names_ctx *c = data;
    const uint8_t *k = key;
    if (klen < 34 + OBJ_ORDER_LEN + 1)
        return ENT_ECORRUPT;
    size_t nl = klen - 34 - OBJ_ORDER_LEN;
    if (nl > ENT_OP_NAME_MAX)
        return ENT_ECORRUPT;
    if (c->n > 0 && strlen(c->v[c->n - 1]) == nl &&
        memcmp(c->v[c->n - 1], k + 33, nl) == 0)
        return 0;
    void *nv = realloc(c->v, (c->n + 1) * sizeof(*c->v));
    if (nv == NULL)
        return ENT_ENOMEM;
    c->v = nv;
    memcpy(c->v[c->n], k + 33, nl);
    c->v[c->n][nl] = '\0';
    c->n++;
    return 0;
}

/* After a membership change: every field's winner may change (authority is
 * judged at each write's order), so all are recomputed; the members table
 * and our own status follow the new fold. */
static int refresh_membership(ent_objects *eng, ent_txn *txn,
                              const uint8_t obj[32], ent_apply_info *info) {
    obj_rec r;
    mlog ml = {0};
    mset ms;
    names_ctx names = {0};
    uint8_t pre[33];
    int rc = ent__obj_rec_get(txn, obj, &r);
    if (rc != ENT_OK)
        return rc;
    ent__obj_mset_init(&ms, r.owner);
    if ((rc = ent__obj_mlog_load(txn, obj, &ml)) != ENT_OK ||
        (rc = ent__obj_mset_fold(&ms, &ml, NULL)) != ENT_OK)
        goto out;
    /* members table: rewrite the object's rows */
    uint8_t mk[64], mv[2];
    memcpy(mk, obj, 32);
    memcpy(mk + 32, r.owner, 32);
    mv[0] = ENT_ROLE_OWNER;
    mv[1] = 1;
    if ((rc = ent_txn_put(txn, ENT_TBL_MEMBERS, mk, 64, mv, 2, 0)) != ENT_OK)
        goto out;
    for (size_t i = 0; i < ms.n; i++) {
        memcpy(mk + 32, ms.v[i].org, 32);
        mv[0] = ms.v[i].role;
        mv[1] = ms.v[i].active ? 1 : 0;
        if ((rc = ent_txn_put(txn, ENT_TBL_MEMBERS, mk, 64, mv, 2, 0)) !=
            ENT_OK)
            goto out;
    }
    const mstate *me = ent__obj_mset_find(&ms, eng->me);
    uint8_t status =
        me != NULL && me->active ? OBJ_STATUS_ACTIVE : OBJ_STATUS_REMOVED;
    if (me != NULL && status != r.status) {
        if (status == OBJ_STATUS_REMOVED && info != NULL)
            info->removed = true;
        r.status = status;
        if ((rc = ent__obj_rec_put(txn, obj, &r)) != ENT_OK)
            goto out;
    }
    memcpy(pre, obj, 32);
    pre[32] = WR_FIELD;
    if ((rc = ent_txn_scan(txn, ENT_TBL_WRITES, pre, 33, names_scan, &names)) !=
        ENT_OK)
        goto out;
    for (size_t i = 0; i < names.n && rc == ENT_OK; i++)
        rc = recompute_field(txn, obj, names.v[i], r.owner, &ml);
out:
    free(names.v);
    ent__obj_mlog_free(&ml);
    ent__obj_mset_free(&ms);
    return rc;
}

/*
 * The merge fast path for a write without the owner-only flag, at order,
 * with value blob: when the field has no owner (its row says FW_PLAIN, or
 * it has no row: no write counts yet), the winner is the greatest counting
 * write, and the max over a set can be taken one write at a time: the new
 * write replaces the row if it counts and its order is not lower. Same
 * result as recompute_field, without reading the field's earlier writes.
 * *done false (nothing changed): the caller must recompute the field.
 */
static int merge_plain(ent_txn *txn, const uint8_t obj[32], const char *name,
                       const uint8_t owner[32], const mlog *ml,
                       const uint8_t order[OBJ_ORDER_LEN], const uint8_t *blob,
                       size_t blen, bool *done) {
    uint8_t fk[32 + ENT_OP_NAME_MAX];
    uint8_t *rec = NULL;
    const uint8_t *cur;
    size_t clen, nl = strlen(name);
    mset ms;
    *done = false;
    memcpy(fk, obj, 32);
    memcpy(fk + 32, name, nl);
    int rc = ent_txn_get(txn, ENT_TBL_FIELDS, fk, 32 + nl, (const void **)&cur,
                         &clen);
    if (rc == ENT_OK) {
        if (clen < OBJ_ORDER_LEN + 1 ||
            cur[OBJ_ORDER_LEN] != FW_PLAIN) /* owned, or an older row */
            return ENT_OK;
        if (memcmp(order, cur, OBJ_ORDER_LEN) < 0) {
            *done = true; /* loses to the current winner */
            return ENT_OK;
        }
    } else if (rc != ENT_ENOENT) {
        return rc;
    }
    ent__obj_mset_init(&ms, owner);
    if ((rc = ent__obj_mset_fold(&ms, ml, order)) != ENT_OK)
        goto out;
    *done = true;
    if (!role_allows(ent__obj_mset_find(&ms, order + 8), ENT_OP_SET))
        goto out; /* does not count */
    size_t rlen = OBJ_ORDER_LEN + 1 + blen;
    if ((rec = malloc(rlen)) == NULL) {
        *done = false;
        rc = ENT_ENOMEM;
        goto out;
    }
    memcpy(rec, order, OBJ_ORDER_LEN);
    rec[OBJ_ORDER_LEN] = FW_PLAIN;
    memcpy(rec + OBJ_ORDER_LEN + 1, blob, blen);
    rc = ent_txn_put(txn, ENT_TBL_FIELDS, fk, 32 + nl, rec, rlen, 0);
out:
    free(rec);
    ent__obj_mset_free(&ms);
    return rc;
}

/* Keeps one field write and merges it into the field: the fast path when
 * neither it nor the field involves owner-only, else a full recompute. */
static int put_field_write(ent_txn *txn, const uint8_t obj[32],
                           const ent_op *op, const char *name,
                           const ent_value *v, bool owner_only,
                           const uint8_t owner[32], const mlog *ml) {
    uint8_t key[34 + ENT_OP_NAME_MAX + OBJ_ORDER_LEN];
    uint8_t *blob = NULL, *val = NULL;
    size_t blen;
    size_t kl = field_prefix(key, obj, name);
    ent__obj_order(key + kl, op->h.hlc, op->h.author, op->id);
    kl += OBJ_ORDER_LEN;
    int rc = ent__obj_value_encode(v, &blob, &blen);
    if (rc != ENT_OK)
        return rc;
    if ((val = malloc(blen + 1)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    val[0] = owner_only ? FW_OWNER_ONLY : 0;
    memcpy(val + 1, blob, blen);
    if ((rc = ent_txn_put(txn, ENT_TBL_WRITES, key, kl, val, blen + 1, 0)) !=
        ENT_OK)
        goto out;
    bool done = false;
    if (!owner_only &&
        (rc = merge_plain(txn, obj, name, owner, ml, key + kl - OBJ_ORDER_LEN,
                          blob, blen, &done)) != ENT_OK)
        goto out;
    if (!done)
        rc = recompute_field(txn, obj, name, owner, ml);
out:
    free(val);
    free(blob);
    return rc;
}

/* Opens our box among mkeys (if any) and keeps the key of epoch. */
static int take_member_key(ent_objects *eng, ent_txn *txn,
                           const uint8_t obj[32], const ent_op *op,
                           const ent_op_body *b) {
    for (size_t i = 0; i < b->nmkeys; i++) {
        if (memcmp(b->mkeys[i].org, eng->me, 32) != 0)
            continue;
        uint8_t xpk[32], xsk[32], key[ENT_KEY_LEN];
        int rc = ent_identity_x25519(eng->id, xpk, xsk);
        if (rc == ENT_OK)
            rc = ent_seal_open(key, b->mkeys[i].box, ENT_OP_BOX_LEN, xpk,
                               xsk) == 0
                     ? ENT_OK
                     : ENT_EDECRYPT;
        if (rc == ENT_OK)
            rc = ent__obj_key_put(txn, obj, b->epoch, key, op->id);
        ent_wipe(xsk, sizeof(xsk));
        ent_wipe(key, sizeof(key));
        return rc;
    }
    return ENT_OK;
}

typedef struct count_ctx {
    size_t n;
} count_ctx;

static int count_scan(void *data, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    ((count_ctx *)data)->n++;
    return 0;
}

/*
 * The rotation rule (spec/membership.md): two or more epoch-changing ops for
 * the highest epoch make the lowest active owner/admin org issue a rotate.
 */
static int check_rotation(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                          uint64_t epoch, ent_apply_info *info) {
    uint8_t pre[41];
    count_ctx c = {0};
    obj_rec r;
    mset ms;
    memcpy(pre, obj, 32);
    pre[32] = WR_EPOCH;
    ent__be64(pre + 33, epoch);
    int rc = ent_txn_scan(txn, ENT_TBL_WRITES, pre, 41, count_scan, &c);
    if (rc != ENT_OK || c.n < 2)
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

/* Activity-log entries of a committed op, in the commit's transaction
 * (spec/audit.md §7): authored or accepted, then the membership and epoch
 * changes it makes. */
static int log_op(ent_objects *eng, ent_txn *txn, const ent_op *op,
                  const ent_op_body *b, const uint8_t obj[32]) {
    ent_actlog_entry e;
    int rc;
    memset(&e, 0, sizeof(e));
    e.time = ent__obj_wall(eng);
    e.kind = memcmp(op->h.author, eng->me, 32) == 0 ? ENT_LOG_OP_AUTHORED
                                                     : ENT_LOG_OP_ACCEPTED;
    e.has_object = e.has_op = e.has_org = true;
    memcpy(e.object, obj, 32);
    memcpy(e.op, op->id, 32);
    memcpy(e.org, op->h.author, 32);
    if ((rc = ent_actlog_append(txn, &e, NULL)) != ENT_OK)
        return rc;
    if (op->h.kind == ENT_OP_ADD_MEMBER || op->h.kind == ENT_OP_REMOVE_MEMBER) {
        e.kind = op->h.kind == ENT_OP_ADD_MEMBER ? ENT_LOG_MEMBER_ADDED
                                                 : ENT_LOG_MEMBER_REMOVED;
        memcpy(e.org, b->org, 32);
        if ((rc = ent_actlog_append(txn, &e, NULL)) != ENT_OK)
            return rc;
    }
    if (op->h.kind == ENT_OP_REMOVE_MEMBER || op->h.kind == ENT_OP_ROTATE_KEY) {
        e.kind = ENT_LOG_KEY_ROTATED;
        memcpy(e.org, op->h.author, 32);
        rc = ent_actlog_append(txn, &e, NULL);
    }
    return rc;
}

/* The activity-log entry of a refused op (its own changes are none). */
static int log_reject(ent_objects *eng, ent_txn *txn,
                      const ent_apply_info *info, int why) {
    static const uint8_t zero[32];
    ent_actlog_entry e;
    memset(&e, 0, sizeof(e));
    e.time = ent__obj_wall(eng);
    e.kind = why == ENT_ECONFLICT && !info->equivocation_known
                 ? ENT_LOG_EQUIVOCATION
                 : ENT_LOG_OP_REJECTED;
    if (memcmp(info->object, zero, 32) != 0) {
        e.has_object = true;
        memcpy(e.object, info->object, 32);
    }
    if (memcmp(info->op_id, zero, 32) != 0) {
        e.has_op = true;
        memcpy(e.op, info->op_id, 32);
    }
    e.reason_len = (size_t)snprintf(e.reason, sizeof(e.reason), "%s: %s",
                                    ent_err_name(why), ent_strerror(why));
    if (e.reason_len >= sizeof(e.reason))
        e.reason_len = sizeof(e.reason) - 1;
    return ent_actlog_append(txn, &e, NULL);
}

/* Whether key (72 bytes) sorts above the last key of a table. */
typedef struct last_key {
    const uint8_t *key;
    bool above;
} last_key;

static int last_scan_key(void *data, const void *key, size_t klen,
                         const void *val, size_t vlen) {
    last_key *l = data;
    size_t n = klen < 72 ? klen : 72;
    int c = memcmp(l->key, key, n);
    l->above = c > 0 || (c == 0 && 72 > klen);
    return 1; /* the last one is enough */
}

int ent__obj_commit(ent_objects *eng, ent_txn *txn, const ent_op *op,
                    const ent_op_body *b, const uint8_t obj[32],
                    ent_apply_info *info) {
    uint8_t okey[72], hk[64], hv[8];
    obj_rec r;
    mlog ml = {0};
    int rc;
    memcpy(okey, obj, 32);
    memcpy(okey + 32, op->h.author, 32);
    ent__be64(okey + 64, op->h.seq);
    /* appended when its key is above the table's last (one author's ops
     * arriving in order, as in a backlog): LMDB then fills pages instead
     * of splitting them in half, and a commit writes fewer of them */
    last_key lk = {.key = okey};
    if ((rc = ent_txn_scan_reverse(txn, ENT_TBL_OPS, NULL, 0, last_scan_key,
                                   &lk)) != ENT_OK)
        return rc;
    rc = ent_txn_put(txn, ENT_TBL_OPS, okey, 72, op->raw, op->rawlen,
                     lk.above ? ENT_PUT_APPEND : 0);
    if (rc != ENT_OK ||
        (rc = ent_txn_put(txn, ENT_TBL_OP_IDS, op->id, 32, okey, 72, 0)) !=
            ENT_OK)
        return rc;
    memcpy(hk, obj, 32);
    for (size_t i = 0; i < op->h.nparents; i++) {
        memcpy(hk + 32, op->h.parents[i], 32);
        rc = ent_txn_del(txn, ENT_TBL_HEADS, hk, 64);
        if (rc != ENT_OK && rc != ENT_ENOENT)
            return rc;
    }
    memcpy(hk + 32, op->id, 32);
    ent__be64(hv, op->h.hlc);
    if ((rc = ent_txn_put(txn, ENT_TBL_HEADS, hk, 64, hv, 8, 0)) != ENT_OK)
        return rc;

    if (op->h.kind == ENT_OP_CREATE) {
        memset(&r, 0, sizeof(r));
        r.status = OBJ_STATUS_ACTIVE;
        memcpy(r.owner, op->h.author, 32);
        r.hlc = op->h.hlc;
        memcpy(r.type, b->type, sizeof(r.type));
        if ((rc = ent__obj_rec_put(txn, obj, &r)) != ENT_OK ||
            (rc = refresh_membership(eng, txn, obj, info)) != ENT_OK)
            return rc;
    } else if ((rc = ent__obj_rec_get(txn, obj, &r)) != ENT_OK) {
        return rc;
    }
    if ((rc = ent__obj_mlog_load(txn, obj, &ml)) != ENT_OK)
        return rc;

    uint8_t wk[33 + OBJ_ORDER_LEN + 8];
    memcpy(wk, obj, 32);
    switch (op->h.kind) {
    case ENT_OP_CREATE:
    case ENT_OP_SET:
        for (size_t i = 0; i < b->nfields && rc == ENT_OK; i++)
            rc = put_field_write(txn, obj, op, b->fields[i].name,
                                 &b->fields[i].v, b->fields[i].owner_only,
                                 r.owner, &ml);
        break;
    case ENT_OP_STAGE: {
        ent_value v = {.type = ENT_VT_ENUM};
        v.u.text.s = b->text;
        v.u.text.len = b->textlen;
        rc = put_field_write(txn, obj, op, "stage", &v, false, r.owner, &ml);
        break;
    }
    case ENT_OP_COMMENT:
        wk[32] = WR_COMMENT;
        ent__obj_order(wk + 33, op->h.hlc, op->h.author, op->id);
        rc = ent_txn_put(txn, ENT_TBL_WRITES, wk, 33 + OBJ_ORDER_LEN,
                         b->textlen ? b->text : "", b->textlen, 0);
        break;
    case ENT_OP_ADD_MEMBER:
    case ENT_OP_REMOVE_MEMBER: {
        uint8_t mv[34];
        wk[32] = WR_MEMBER;
        ent__obj_order(wk + 33, op->h.hlc, op->h.author, op->id);
        mv[0] = op->h.kind;
        memcpy(mv + 1, b->org, 32);
        mv[33] = op->h.kind == ENT_OP_ADD_MEMBER ? b->role : 0;
        if ((rc = ent_txn_put(txn, ENT_TBL_WRITES, wk, 33 + OBJ_ORDER_LEN, mv,
                              sizeof(mv), 0)) != ENT_OK)
            break;
        if (op->h.kind == ENT_OP_ADD_MEMBER &&
            memcmp(b->org, eng->me, 32) == 0 && b->nekeys > 0) {
            /* our own add: its boxes are the keys we were given */
            uint8_t xpk[32], xsk[32], key[ENT_KEY_LEN];
            rc = ent_identity_x25519(eng->id, xpk, xsk);
            for (size_t i = 0; i < b->nekeys && rc == ENT_OK; i++)
                if (ent_seal_open(key, b->ekeys[i].box, ENT_OP_BOX_LEN, xpk,
                                  xsk) == 0)
                    rc = ent__obj_key_put(txn, obj, b->ekeys[i].epoch, key,
                                          NULL);
            ent_wipe(xsk, sizeof(xsk));
            ent_wipe(key, sizeof(key));
            if (rc != ENT_OK)
                break;
        }
        if (op->h.kind == ENT_OP_ADD_MEMBER) {
            rc = refresh_membership(eng, txn, obj, info);
            break;
        }
    }
        /* remove: also an epoch change */
        /* fall through */
    case ENT_OP_ROTATE_KEY:
        wk[32] = WR_EPOCH;
        ent__be64(wk + 33, b->epoch);
        memcpy(wk + 41, op->id, 32);
        if ((rc = ent_txn_put(txn, ENT_TBL_WRITES, wk, 73, op->h.author, 32,
                              0)) != ENT_OK ||
            (rc = take_member_key(eng, txn, obj, op, b)) != ENT_OK)
            break;
        if (op->h.kind == ENT_OP_REMOVE_MEMBER &&
            (rc = refresh_membership(eng, txn, obj, info)) != ENT_OK)
            break;
        rc = check_rotation(eng, txn, obj, b->epoch, info);
        break;
    default:
        rc = ENT_ECORRUPT;
    }
    ent__obj_mlog_free(&ml);
    if (rc == ENT_OK)
        rc = log_op(eng, txn, op, b, obj);
    return rc;
}

/* ---------------------------------------------------------------- apply */

typedef struct apply_state {
    bool verified; /* signature already checked (held ops) */
    bool sig_ok;   /* signature checked by the caller (pooled verify); the
                    * pending-duplicate check still runs */
    bool rehold;   /* a held op being retried: already counted in the cap */
    const ent_obj_opened *opened; /* the body, opened by the caller with a
                                     key of the op's epoch (may be NULL) */
    uint8_t kind;  /* out: kind of the op, when it was committed */
} apply_state;

/* Wait entries (writes table, tag WR_WAIT): obj || 4 || parent || held op id
 * -> nothing. A held op has one per causal parent that was missing when it
 * was held, or, with no parent missing (it waits for an epoch key or the
 * object record), one under the all-zero parent. */
#define WAIT_KEY_LEN (33 + 32 + 32)

static const uint8_t no_parent[32];

static void wait_key(uint8_t k[WAIT_KEY_LEN], const uint8_t obj[32],
                     const uint8_t parent[32], const uint8_t held[32]) {
    memcpy(k, obj, 32);
    k[32] = WR_WAIT;
    memcpy(k + 33, parent, 32);
    memcpy(k + 65, held, 32);
}

/* Deletes key if it exists (no write when it does not). */
static int del_if(ent_txn *txn, ent_table t, const uint8_t *k, size_t klen) {
    const void *v;
    size_t vlen;
    if (ent_txn_get(txn, t, k, klen, &v, &vlen) != ENT_OK)
        return ENT_OK;
    return ent_txn_del(txn, t, k, klen);
}

/*
 * Puts op on hold: its bytes in the pending table and its wait entries.
 * A new hold is refused with ENT_ELIMIT beyond the per-object and total
 * caps; a retried op (rehold) was counted when it was first held.
 */
static int hold(ent_txn *txn, const ent_op *op, const uint8_t obj[32],
                const apply_state *st, ent_apply_info *info) {
    uint8_t k[WAIT_KEY_LEN];
    uint64_t total = 0;
    const void *v;
    size_t vlen, missing = 0;
    int rc;
    if (!st->rehold) {
        count_ctx c = {0};
        if ((rc = ent_txn_scan(txn, ENT_TBL_PENDING, obj, 32, count_scan,
                               &c)) != ENT_OK)
            return rc;
        if ((rc = ent_txn_count(txn, ENT_TBL_PENDING, &total)) != ENT_OK)
            return rc;
        if (c.n >= ENT_OBJ_PENDING_MAX || total >= PENDING_TOTAL_MAX)
            return ENT_ELIMIT;
    }
    memcpy(k, obj, 32);
    memcpy(k + 32, op->id, 32);
    if ((rc = ent_txn_put(txn, ENT_TBL_PENDING, k, 64, op->raw, op->rawlen,
                          0)) != ENT_OK)
        return rc;
    for (size_t i = 0; i < op->h.nparents; i++) {
        if (ent_txn_get(txn, ENT_TBL_OP_IDS, op->h.parents[i], 32, &v,
                        &vlen) == ENT_OK)
            continue;
        missing++;
        wait_key(k, obj, op->h.parents[i], op->id);
        if ((rc = ent_txn_put(txn, ENT_TBL_WRITES, k, WAIT_KEY_LEN, "", 0,
                              0)) != ENT_OK)
            return rc;
    }
    if (missing == 0) {
        wait_key(k, obj, no_parent, op->id);
        if ((rc = ent_txn_put(txn, ENT_TBL_WRITES, k, WAIT_KEY_LEN, "", 0,
                              0)) != ENT_OK)
            return rc;
    }
    if (info != NULL)
        info->pending = true;
    return ENT_OK;
}

/* Tries each key of the op's epoch. */
typedef struct dec_ctx {
    const ent_op *op;
    uint8_t *body;
    size_t blen;
    size_t nkeys;
} dec_ctx;

static int dec_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    dec_ctx *c = data;
    if (vlen != 65)
        return ENT_ECORRUPT;
    c->nkeys++;
    int rc = ent_op_open(c->op, val, &c->body, &c->blen);
    if (rc == ENT_ENOMEM) /* not a wrong key: fail the whole apply */
        return rc;
    return rc == ENT_OK ? 1 : 0;
}

/* Puts the evidence of an equivocation: both encodings. */
static int keep_equivocation(ent_txn *txn, const uint8_t obj[32],
                             const ent_op *op, const uint8_t *other,
                             size_t olen) {
    uint8_t k[136], oid[32];
    memcpy(k, obj, 32);
    memcpy(k + 32, op->h.author, 32);
    ent__be64(k + 64, op->h.seq);
    memcpy(k + 72, op->id, 32);
    int rc = ent_txn_put(txn, ENT_TBL_EQUIV, k, 104, op->raw, op->rawlen, 0);
    if (rc != ENT_OK)
        return rc;
    ent_hash(oid, other, olen);
    memcpy(k + 72, oid, 32);
    return ent_txn_put(txn, ENT_TBL_EQUIV, k, 104, other, olen, 0);
}

static bool vouched_by_held(ent_txn *txn, const uint8_t obj[32],
                            const ent_op *op);

static int any_row(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    *(bool *)data = true;
    return 1;
}

/*
 * Judges and, if it passes, commits one op. Every check comes before the
 * first write, so a refused op changes nothing (except the proof kept for
 * an equivocation). Returns ENT_OK for applied, duplicate and held ops.
 */
static int apply_one(ent_objects *eng, ent_txn *txn, const uint8_t *raw,
                     size_t len, apply_state *st, ent_apply_info *info) {
    ent_op *op = NULL;
    ent_op_body b;
    dec_ctx dc = {0};
    obj_rec r;
    mlog ml = {0};
    mset ms;
    const uint8_t *obj;
    const void *v;
    size_t vlen;
    int rc;
    memset(&b, 0, sizeof(b));
    ent__obj_mset_init(&ms, (const uint8_t[32]){0});
    if ((rc = ent_op_decode(&op, raw, len)) != ENT_OK)
        goto out;
    obj = op->h.genesis ? op->id : op->h.object;
    if (info != NULL) {
        memcpy(info->op_id, op->id, 32);
        memcpy(info->object, obj, 32);
    }
    if (ent_txn_get(txn, ENT_TBL_OP_IDS, op->id, 32, &v, &vlen) == ENT_OK) {
        if (info != NULL)
            info->duplicate = true;
        goto out;
    }
    uint8_t pk[64];
    memcpy(pk, obj, 32);
    memcpy(pk + 32, op->id, 32);
    if (!st->verified &&
        ent_txn_get(txn, ENT_TBL_PENDING, pk, 64, &v, &vlen) == ENT_OK) {
        if (info != NULL)
            info->duplicate = info->pending = true;
        goto out;
    }
    if ((rc = ent_hlc_check(ent__obj_wall(eng), op->h.hlc)) != ENT_OK)
        goto out;
    if (!st->verified && !st->sig_ok && (rc = ent_op_verify(op)) != ENT_OK) {
        /* a held op of the same author may vouch for it (spec/records.md
         * §2.5): then it is authentic whatever its own signature */
        if (!vouched_by_held(txn, obj, op))
            goto out;
        rc = ENT_OK;
    }
    /* same author and sequence, other bytes: equivocation */
    uint8_t okey[72];
    memcpy(okey, obj, 32);
    memcpy(okey + 32, op->h.author, 32);
    ent__be64(okey + 64, op->h.seq);
    if (ent_txn_get(txn, ENT_TBL_OPS, okey, 72, &v, &vlen) == ENT_OK) {
        /* proven before (this op again, or a third one): one equivocation
         * entry per (author, seq), spec/audit.md section 12 */
        bool known = false;
        if (info != NULL &&
            ent_txn_scan(txn, ENT_TBL_EQUIV, okey, 72, any_row, &known) ==
                ENT_OK)
            info->equivocation_known = known;
        rc = keep_equivocation(txn, obj, op, v, vlen);
        if (rc == ENT_OK)
            rc = ENT_ECONFLICT;
        goto out;
    }
    rc = ent__obj_rec_get(txn, obj, &r);
    if (rc == ENT_ENOENT && !op->h.genesis) {
        rc = hold(txn, op, obj, st, info); /* the genesis is not here yet */
        goto out;
    }
    if (rc != ENT_OK && !(rc == ENT_ENOENT && op->h.genesis))
        goto out;
    bool have_rec = rc == ENT_OK;
    rc = ENT_OK;
    uint8_t kpre[40];
    memcpy(kpre, obj, 32);
    ent__be64(kpre + 32, op->h.epoch);
    if (have_rec && r.status == OBJ_STATUS_REMOVED) {
        /* removed from the object: an epoch we hold no key for is one we
         * must never read, whatever its parents */
        count_ctx kc = {0};
        if ((rc = ent_txn_scan(txn, ENT_TBL_KEYS, kpre, 40, count_scan, &kc)) !=
            ENT_OK)
            goto out;
        if (kc.n == 0) {
            rc = ENT_EDECRYPT;
            goto out;
        }
    }
    for (size_t i = 0; i < op->h.nparents; i++)
        if (ent_txn_get(txn, ENT_TBL_OP_IDS, op->h.parents[i], 32, &v, &vlen) !=
            ENT_OK) {
            rc = hold(txn, op, obj, st, info); /* causal parents first */
            goto out;
        }
    /* membership and role at the op's order */
    if (!op->h.genesis) {
        uint8_t order[OBJ_ORDER_LEN];
        ent__obj_order(order, op->h.hlc, op->h.author, op->id);
        ent__obj_mset_init(&ms, r.owner);
        if ((rc = ent__obj_mlog_load(txn, obj, &ml)) != ENT_OK ||
            (rc = ent__obj_mset_fold(&ms, &ml, order)) != ENT_OK)
            goto out;
        const mstate *a = ent__obj_mset_find(&ms, op->h.author);
        if (a == NULL || !a->active) {
            rc = ENT_ENOTMEMBER;
            goto out;
        }
        if (!role_allows(a, op->h.kind)) {
            rc = ENT_EDENIED;
            goto out;
        }
    }
    /* decrypt with a key of the op's epoch, unless the pool already did
     * (with a copy of this store's keys of that epoch, verify.h) */
    dc.op = op;
    if (st->opened != NULL && st->opened->body != NULL) {
        if ((dc.body = malloc(st->opened->len ? st->opened->len : 1)) ==
            NULL) {
            rc = ENT_ENOMEM;
            goto out;
        }
        memcpy(dc.body, st->opened->body, st->opened->len);
        dc.blen = st->opened->len;
    } else if ((rc = ent_txn_scan(txn, ENT_TBL_KEYS, kpre, 40, dec_scan,
                                  &dc)) != ENT_OK) {
        goto out;
    }
    if (dc.body == NULL) {
        if (dc.nkeys == 0 && !(have_rec && r.status == OBJ_STATUS_REMOVED))
            rc = hold(txn, op, obj, st, info); /* the key may still come */
        else
            rc = ENT_EDECRYPT;
        goto out;
    }
    if ((rc = ent_op_body_decode(&b, op->h.kind, dc.body, dc.blen)) != ENT_OK) {
        if (rc != ENT_ENOMEM)
            rc = ENT_ECORRUPT;
        goto out;
    }
    /* what the body may say */
    switch (op->h.kind) {
    case ENT_OP_ADD_MEMBER:
        if (b.role == ENT_ROLE_OWNER || memcmp(b.org, r.owner, 32) == 0)
            rc = ENT_EDENIED;
        break;
    case ENT_OP_REMOVE_MEMBER:
        if (memcmp(b.org, r.owner, 32) == 0)
            rc = ENT_EDENIED;
        /* fall through */
    case ENT_OP_ROTATE_KEY:
        if (rc == ENT_OK && b.epoch != op->h.epoch + 1)
            rc = ENT_ECORRUPT;
        break;
    case ENT_OP_CREATE:
        if (op->h.epoch != 0 || op->h.seq != 1)
            rc = ENT_ECORRUPT;
        break;
    default:
        break;
    }
    if (rc != ENT_OK)
        goto out;
    ent_hlc_observe(&eng->hlc, ent__obj_wall(eng), op->h.hlc);
    rc = ent__obj_commit(eng, txn, op, &b, obj, info);
    if (rc == ENT_OK)
        st->kind = op->h.kind;
out:
    if (dc.body != NULL) {
        ent_wipe(dc.body, dc.blen);
        free(dc.body);
    }
    ent_op_body_clear(&b);
    ent__obj_mlog_free(&ml);
    ent__obj_mset_free(&ms);
    ent_op_free(op);
    return rc;
}

static void count_rc(ent_obj_stats *s, int rc, const ent_apply_info *info) {
    switch (rc) {
    case ENT_OK:
        if (info->duplicate)
            s->duplicate++;
        else if (info->pending)
            s->pending++;
        else
            s->applied++;
        return;
    case ENT_EBADSIG:
        s->badsig++;
        break;
    case ENT_EDENIED:
        s->denied++;
        break;
    case ENT_ENOTMEMBER:
        s->notmember++;
        break;
    case ENT_EDECRYPT:
        s->decrypt++;
        break;
    case ENT_ECONFLICT:
        s->conflict++;
        break;
    case ENT_EPROTO:
        s->proto++;
        break;
    case ENT_ELIMIT:
        s->limit++;
        break;
    default:
        s->corrupt++;
    }
    s->rejected++;
}

static bool storage_error(int rc) {
    return rc == ENT_ENOMEM || rc == ENT_ESTORAGE || rc == ENT_EIO ||
           rc == ENT_ENOSPC || rc == ENT_EMAPFULL;
}

/* Op ids collected from a scan of wait entries (the held op ids). */
typedef struct idlist {
    uint8_t (*v)[32];
    size_t n, cap;
} idlist;

static int idlist_push(idlist *l, const uint8_t id[32]) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        void *nv = realloc(l->v, nc * sizeof(*l->v));
        if (nv == NULL)
            return ENT_ENOMEM;
        l->v = nv;
        l->cap = nc;
    }
    memcpy(l->v[l->n++], id, 32);
    return ENT_OK;
}

static int wait_scan(void *data, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    if (klen != WAIT_KEY_LEN)
        return ENT_ECORRUPT;
    return idlist_push(data, (const uint8_t *)key + 65);
}

/*
 * Whether a held op of op's author in obj, with a higher seq, names op as a
 * causal parent: held ops are authentic (checked, or vouched for, before
 * they were held), so its signed header vouches for op's id. Only asked
 * when op's own signature fails; a read error answers false.
 */
static bool vouched_by_held(ent_txn *txn, const uint8_t obj[32],
                            const ent_op *op) {
    uint8_t pre[65];
    idlist w = {0};
    bool yes = false;
    memcpy(pre, obj, 32);
    pre[32] = WR_WAIT;
    memcpy(pre + 33, op->id, 32);
    if (ent_txn_scan(txn, ENT_TBL_WRITES, pre, sizeof(pre), wait_scan, &w) !=
        ENT_OK)
        goto out;
    for (size_t i = 0; i < w.n && !yes; i++) {
        uint8_t pk[64];
        const void *v;
        size_t vlen;
        ent_op *held = NULL;
        memcpy(pk, obj, 32);
        memcpy(pk + 32, w.v[i], 32);
        if (ent_txn_get(txn, ENT_TBL_PENDING, pk, 64, &v, &vlen) != ENT_OK ||
            ent_op_decode(&held, v, vlen) != ENT_OK)
            continue;
        yes = held->h.seq > op->h.seq &&
              memcmp(held->h.author, op->h.author, 32) == 0;
        ent_op_free(held);
    }
out:
    free(w.v);
    return yes;
}

typedef struct release_ctx {
    ent_objects *eng;
    ent_txn *txn;
    const uint8_t *obj;
    idlist queue;  /* applied op ids whose waiters are still to be woken */
    bool keys;     /* retry the ops waiting with no missing parent */
    ent_obj_stats *delta;
    size_t *released;
} release_ctx;

static bool may_bring_keys(uint8_t kind) {
    return kind != ENT_OP_SET && kind != ENT_OP_STAGE &&
           kind != ENT_OP_COMMENT;
}

/*
 * Retries held op id of the object, found through the wait entry (parent,
 * id) (parent all-zero: the no-missing-parent entry). If a causal parent is
 * still missing, only that wait entry goes. Otherwise the op leaves the
 * pending table with all its wait entries and is applied again: applied,
 * it wakes its own waiters; held again, it gets fresh wait entries;
 * refused, it is counted and logged as before.
 */
static int retry_held(release_ctx *c, const uint8_t parent[32],
                      const uint8_t id[32]) {
    uint8_t pk[64], wk[WAIT_KEY_LEN];
    const void *v;
    size_t vlen;
    uint8_t *raw = NULL;
    ent_op *op = NULL;
    int rc;
    memcpy(pk, c->obj, 32);
    memcpy(pk + 32, id, 32);
    wait_key(wk, c->obj, parent, id);
    if (ent_txn_get(c->txn, ENT_TBL_PENDING, pk, 64, &v, &vlen) != ENT_OK)
        return ent_txn_del(c->txn, ENT_TBL_WRITES, wk, WAIT_KEY_LEN); /* stale */
    /* copy: the pending row is deleted before the op is applied */
    if ((raw = malloc(vlen ? vlen : 1)) == NULL)
        return ENT_ENOMEM;
    memcpy(raw, v, vlen);
    if ((rc = ent_op_decode(&op, raw, vlen)) != ENT_OK) {
        if (rc == ENT_ENOMEM)
            goto out;
        /* only decodable ops are ever held: drop a damaged row */
        c->delta->corrupt++;
        c->delta->rejected++;
        ENT_WARN(c->eng->log, "object: held op unreadable: %s",
                 ent_strerror(rc));
        if ((rc = ent_txn_del(c->txn, ENT_TBL_PENDING, pk, 64)) == ENT_OK)
            rc = ent_txn_del(c->txn, ENT_TBL_WRITES, wk, WAIT_KEY_LEN);
        goto out;
    }
    for (size_t i = 0; i < op->h.nparents; i++)
        if (ent_txn_get(c->txn, ENT_TBL_OP_IDS, op->h.parents[i], 32, &v,
                        &vlen) != ENT_OK) {
            rc = ent_txn_del(c->txn, ENT_TBL_WRITES, wk, WAIT_KEY_LEN);
            goto out; /* still waits on that parent */
        }
    if ((rc = ent_txn_del(c->txn, ENT_TBL_PENDING, pk, 64)) != ENT_OK)
        goto out;
    for (size_t i = 0; i < op->h.nparents && rc == ENT_OK; i++) {
        wait_key(wk, c->obj, op->h.parents[i], id);
        rc = del_if(c->txn, ENT_TBL_WRITES, wk, WAIT_KEY_LEN);
    }
    wait_key(wk, c->obj, no_parent, id);
    if (rc != ENT_OK ||
        (rc = del_if(c->txn, ENT_TBL_WRITES, wk, WAIT_KEY_LEN)) != ENT_OK)
        goto out;
    ent_apply_info pi;
    apply_state st = {.verified = true, .rehold = true};
    memset(&pi, 0, sizeof(pi));
    int arc = apply_one(c->eng, c->txn, op->raw, op->rawlen, &st, &pi);
    if (storage_error(arc)) {
        rc = arc;
    } else if (arc == ENT_OK && pi.pending) {
        rc = ENT_OK; /* back on hold, with fresh wait entries */
    } else if (arc == ENT_OK) {
        (*c->released)++;
        if (!pi.duplicate)
            c->delta->applied++;
        if (may_bring_keys(op->h.kind))
            c->keys = true;
        rc = idlist_push(&c->queue, id);
    } else {
        count_rc(c->delta, arc, &pi);
        ENT_WARN(c->eng->log, "object: held op rejected: %s",
                 ent_strerror(arc));
        rc = log_reject(c->eng, c->txn, &pi, arc);
    }
out:
    ent_op_free(op);
    free(raw);
    return rc;
}

/* Retries every op waiting on parent (all-zero: waiting for keys). */
static int wake(release_ctx *c, const uint8_t parent[32]) {
    uint8_t pre[65];
    idlist w = {0};
    memcpy(pre, c->obj, 32);
    pre[32] = WR_WAIT;
    memcpy(pre + 33, parent, 32);
    int rc = ent_txn_scan(c->txn, ENT_TBL_WRITES, pre, sizeof(pre), wait_scan,
                          &w);
    for (size_t i = 0; i < w.n && rc == ENT_OK; i++)
        rc = retry_held(c, parent, w.v[i]);
    free(w.v);
    return rc;
}

int ent__obj_release(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                     const uint8_t *applied, bool keys, ent_obj_stats *delta,
                     size_t *released) {
    release_ctx c = {.eng = eng,
                     .txn = txn,
                     .obj = obj,
                     .keys = keys,
                     .delta = delta,
                     .released = released};
    int rc = applied != NULL ? idlist_push(&c.queue, applied) : ENT_OK;
    size_t next = 0;
    while (rc == ENT_OK) {
        if (next < c.queue.n) {
            uint8_t id[32];
            memcpy(id, c.queue.v[next++], 32); /* the queue may move */
            rc = wake(&c, id);
        } else if (c.keys) {
            c.keys = false; /* ops held again wait for the next key event */
            rc = wake(&c, no_parent);
        } else {
            break;
        }
    }
    free(c.queue.v);
    return rc;
}

typedef struct batch_ctx {
    ent_objects *eng;
    const uint8_t *const *raws;
    const size_t *lens;
    size_t n;
    ent_apply_info *infos;
    int *rcs;
    const bool *verified; /* may be NULL */
    const ent_obj_opened *opened; /* may be NULL */
    ent_obj_stats delta;
} batch_ctx;

static int batch_fn(ent_txn *txn, void *data) {
    batch_ctx *c = data;
    memset(&c->delta, 0, sizeof(c->delta));
    for (size_t i = 0; i < c->n; i++) {
        ent_apply_info *info = &c->infos[i];
        apply_state st = {.verified = false,
                          .sig_ok = c->verified != NULL && c->verified[i],
                          .opened = c->opened != NULL ? &c->opened[i] : NULL};
        memset(info, 0, sizeof(*info));
        int rc = apply_one(c->eng, txn, c->raws[i], c->lens[i], &st, info);
        if (storage_error(rc))
            return rc;
        if (rc == ENT_OK && !info->pending && !info->duplicate) {
            rc = ent__obj_release(c->eng, txn, info->object, info->op_id,
                                  may_bring_keys(st.kind), &c->delta,
                                  &info->released);
            if (rc != ENT_OK)
                return rc;
        }
        if (rc != ENT_OK) {
            int lrc = log_reject(c->eng, txn, info, rc);
            if (lrc != ENT_OK)
                return lrc;
        }
        c->rcs[i] = rc;
        count_rc(&c->delta, rc, info);
    }
    return ENT_OK;
}

static void stats_add(ent_obj_stats *a, const ent_obj_stats *d) {
    a->applied += d->applied;
    a->duplicate += d->duplicate;
    a->pending += d->pending;
    a->rejected += d->rejected;
    a->badsig += d->badsig;
    a->denied += d->denied;
    a->notmember += d->notmember;
    a->decrypt += d->decrypt;
    a->corrupt += d->corrupt;
    a->conflict += d->conflict;
    a->proto += d->proto;
    a->limit += d->limit;
}

/*
 * Before the transaction: authenticates the ops of the batch not already
 * verified as one set (ent_op_authenticate), so that a chain of one
 * author's ops costs one signature check. *out gets the merged "verified"
 * flags (malloc'ed), or NULL when fewer than two ops need a check. An op
 * this pass refused is checked again by the engine (a held op may still
 * vouch for it). @return ENT_OK or ENT_ENOMEM.
 */
static int authenticate(const uint8_t *const *raws, const size_t *lens,
                        size_t n, const bool *verified, bool **out) {
    size_t todo = 0;
    *out = NULL;
    for (size_t i = 0; i < n; i++)
        todo += verified == NULL || !verified[i];
    if (todo < 2)
        return ENT_OK;
    int rc = ENT_ENOMEM;
    bool *ok = calloc(n, sizeof(*ok));
    ent_op **ops = calloc(n, sizeof(*ops));
    int *rcs = calloc(n, sizeof(*rcs));
    if (ok == NULL || ops == NULL || rcs == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        ok[i] = verified != NULL && verified[i];
        /* an op that does not decode: the engine reports why */
        if (!ok[i] && ent_op_decode(&ops[i], raws[i], lens[i]) == ENT_ENOMEM)
            goto out;
    }
    if ((rc = ent_op_authenticate(ops, n, rcs, NULL)) != ENT_OK)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (ops[i] != NULL)
            ok[i] = rcs[i] == ENT_OK;
    *out = ok;
    ok = NULL;
out:
    free(ok);
    if (ops != NULL)
        for (size_t i = 0; i < n; i++)
            ent_op_free(ops[i]);
    free(ops);
    free(rcs);
    return rc;
}

int ent_obj_apply_batch(ent_objects *eng, const uint8_t *const *raws,
                        const size_t *lens, size_t n, ent_apply_info *infos,
                        int *rcs) {
    return ent_obj_apply_batch_ex(eng, raws, lens, n, NULL, NULL, infos, rcs);
}

int ent_obj_apply_batch_ex(ent_objects *eng, const uint8_t *const *raws,
                           const size_t *lens, size_t n, const bool *verified,
                           const ent_obj_opened *opened, ent_apply_info *infos,
                           int *rcs) {
    ent_apply_info *iv = infos;
    int *rv = rcs;
    int rc = ENT_ENOMEM;
    if (eng == NULL || (n > 0 && (raws == NULL || lens == NULL)))
        return ENT_EINVAL;
    if (iv == NULL && (iv = calloc(n ? n : 1, sizeof(*iv))) == NULL)
        goto out;
    if (rv == NULL && (rv = calloc(n ? n : 1, sizeof(*rv))) == NULL)
        goto out;
    bool *auth = NULL;
    if ((rc = authenticate(raws, lens, n, verified, &auth)) != ENT_OK)
        goto out;
    batch_ctx c = {.eng = eng,
                   .raws = raws,
                   .lens = lens,
                   .n = n,
                   .infos = iv,
                   .rcs = rv,
                   .verified = auth != NULL ? auth : verified,
                   .opened = opened};
    rc = ent_store_write(eng->store, batch_fn, &c);
    free(auth);
    if (rc == ENT_OK) {
        stats_add(&eng->stats, &c.delta);
        for (size_t i = 0; i < n; i++) {
            if (rv[i] == ENT_OK)
                continue;
            char oid[65];
            ent_hex_encode(oid, iv[i].op_id, 32);
            ENT_WARN(eng->log, "object: rejected op %.16s: %s (%s)", oid,
                     ent_strerror(rv[i]), ent_err_name(rv[i]));
        }
    }
out:
    if (iv != infos)
        free(iv);
    if (rv != rcs)
        free(rv);
    return rc;
}

int ent_obj_apply(ent_objects *eng, const uint8_t *raw, size_t len,
                  ent_apply_info *info) {
    int one = ENT_OK;
    ent_apply_info tmp;
    const uint8_t *raws[1] = {raw};
    size_t lens[1] = {len};
    int rc = ent_obj_apply_batch(eng, raws, lens, 1, info ? info : &tmp, &one);
    return rc != ENT_OK ? rc : one;
}
