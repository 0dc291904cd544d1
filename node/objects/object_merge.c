/*
 * object_merge.c - the merge (spec/objects.md "Merge"): how field writes
 * become field values. Every write is kept (writes table) and the winner
 * of each touched field is recomputed from them, so the result depends
 * only on the set of applied ops, never on their order: a write counts
 * only if its author could set fields at the write's order (the membership
 * fold, object_fold.c); if a counting write is owner-only, the author of
 * the earliest such write owns the field and only that author's writes
 * remain; the greatest remaining (HLC, author, op id) wins (last writer
 * wins). A field without owner-only writes takes the fast path
 * (merge_plain: compare with the current winner). After a membership
 * change every field is merged again and the members table rewritten
 * (ent__obj_refresh_membership).
 */
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/object_int.h"

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
    if (ent__obj_grow((void **)&l->v, l->n, sizeof(*l->v)) != ENT_OK)
        return ENT_ENOMEM;
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
        ok[i] = ent__obj_role_allows(ent__obj_mset_find(&ms, l.v[i].order + 8),
                                     ENT_OP_SET);
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
    if (ent__obj_grow((void **)&c->v, c->n, sizeof(*c->v)) != ENT_OK)
        return ENT_ENOMEM;
    memcpy(c->v[c->n], k + 33, nl);
    c->v[c->n][nl] = '\0';
    c->n++;
    return 0;
}

/* After a membership change: every field's winner may change (authority is
 * judged at each write's order), so all are recomputed; the members table
 * and our own status follow the new fold. */
int ent__obj_refresh_membership(ent_objects *eng, ent_txn *txn,
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
    if (!ent__obj_role_allows(ent__obj_mset_find(&ms, order + 8), ENT_OP_SET))
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
int ent__obj_put_field_write(ent_txn *txn, const uint8_t obj[32],
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
