/*
 * object_merge.c - the merge (spec/objects.md "Merge"): how field writes
 * become field values. Every write is kept (writes table) and the winner
 * of each touched field is recomputed from them, so the result depends
 * only on the set of applied ops, never on their order: a write counts
 * only if its op counts (spec/membership.md "Counting", judged by
 * object_fold.c from the op's causal past); an owner-only write counts
 * only from the object's owner, and once one counts the field is the
 * owner's: only the owner's writes remain; the greatest remaining (HLC,
 * author, op id) wins (last writer wins). A field without owner-only
 * writes takes the fast path (merge_plain: compare with the current
 * winner). After a membership change the decision is recomputed and, when
 * an author's standing changed, every field and comment is merged again
 * (ent__obj_refresh_authority).
 */
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/object_int.h"
#include "node/objects/setdig.h"

typedef obj_fwr fwr;

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
 * Recomputes the winner of one field from every write kept for it: writes
 * whose op does not count are ignored (j judges them); an owner-only write
 * counts only from the owner, and if one counts only the owner's writes
 * remain; the winner is the greatest remaining (HLC, author, op id). The
 * fields table then holds order(72) || flags(1) || value blob, or nothing;
 * flags are the winner's FW_OWNER_ONLY plus FW_PLAIN when the field has no
 * owner.
 */
static int recompute_field(ent_txn *txn, const uint8_t obj[32],
                           const char *name, const uint8_t owner[32],
                           judge *j) {
    uint8_t pre[34 + ENT_OP_NAME_MAX];
    fwlist l = {.namelen = strlen(name)};
    bool owned = false;
    const fwr *win = NULL;
    uint8_t *rec = NULL;
    bool *ok = NULL;
    size_t plen = field_prefix(pre, obj, name);
    int rc = ent__obj_writes_fill(txn, obj);
    if (rc == ENT_OK)
        rc = ent_txn_scan(txn, ENT_TBL_WRITES, pre, plen, fw_scan, &l);
    if (rc != ENT_OK)
        goto out;
    if ((ok = calloc(l.n ? l.n : 1, sizeof(bool))) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < l.n && rc == ENT_OK; i++) {
        bool by_owner = memcmp(l.v[i].order + 8, owner, 32) == 0;
        if ((l.v[i].flags & FW_OWNER_ONLY) && !by_owner)
            continue; /* C2 */
        rc = ent__obj_judge_stored(j, l.v[i].order, ENT_OP_SET, &ok[i]);
    }
    /* the object's workflow rules: stage moves, owned fields */
    if (rc != ENT_OK || (rc = ent__obj_wf_filter(j, name, l.v, l.n, ok)) !=
                            ENT_OK)
        goto out;
    for (size_t i = 0; i < l.n; i++)
        if (ok[i] && (l.v[i].flags & FW_OWNER_ONLY))
            owned = true;
    for (size_t i = 0; i < l.n; i++)
        if (ok[i] && (!owned || memcmp(l.v[i].order + 8, owner, 32) == 0))
            win = &l.v[i];
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
    rec[OBJ_ORDER_LEN] =
        (uint8_t)((win->flags & FW_OWNER_ONLY) | (owned ? 0 : FW_PLAIN));
    memcpy(rec + OBJ_ORDER_LEN + 1, win->val, win->vlen);
    const uint8_t *cur;
    size_t clen;
    if (ent_txn_get(txn, ENT_TBL_FIELDS, fk, 32 + l.namelen,
                    (const void **)&cur, &clen) == ENT_OK &&
        clen == rlen && memcmp(cur, rec, rlen) == 0)
        goto out; /* unchanged: no write */
    rc = ent_txn_put(txn, ENT_TBL_FIELDS, fk, 32 + l.namelen, rec, rlen, 0);
out:
    free(ok);
    free(rec);
    free(l.v);
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

/* Comments: a WR_CSHOW row for each comment whose op counts. The rows
 * are collected first (a scan's callback must not write its table). */
typedef struct cmt {
    uint8_t order[OBJ_ORDER_LEN];
    uint8_t *text;
    size_t len;
} cmt;

typedef struct cmt_list {
    cmt *v;
    size_t n, cap;
} cmt_list;

static int cmt_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    cmt_list *l = data;
    if (klen != 33 + OBJ_ORDER_LEN)
        return ENT_ECORRUPT;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        cmt *nv = realloc(l->v, nc * sizeof(*nv));
        if (nv == NULL)
            return ENT_ENOMEM;
        l->v = nv;
        l->cap = nc;
    }
    cmt *c = &l->v[l->n];
    memcpy(c->order, (const uint8_t *)key + 33, OBJ_ORDER_LEN);
    if ((c->text = malloc(vlen ? vlen : 1)) == NULL)
        return ENT_ENOMEM;
    memcpy(c->text, val, vlen);
    c->len = vlen;
    l->n++;
    return 0;
}

static int remerge_comments(ent_txn *txn, const uint8_t obj[32], judge *j) {
    uint8_t k[33 + OBJ_ORDER_LEN];
    cmt_list l = {0};
    memcpy(k, obj, 32);
    k[32] = WR_COMMENT;
    int rc = ent_txn_scan(txn, ENT_TBL_WRITES, k, 33, cmt_scan, &l);
    k[32] = WR_CSHOW;
    for (size_t i = 0; i < l.n && rc == ENT_OK; i++) {
        const void *v;
        size_t vl;
        bool counts;
        if ((rc = ent__obj_judge_stored(j, l.v[i].order, ENT_OP_COMMENT,
                                        &counts)) != ENT_OK)
            break;
        memcpy(k + 33, l.v[i].order, OBJ_ORDER_LEN);
        bool shown =
            ent_txn_get(txn, ENT_TBL_WRITES, k, sizeof(k), &v, &vl) == ENT_OK;
        if (counts && !shown)
            rc = ent_txn_put(txn, ENT_TBL_WRITES, k, sizeof(k), l.v[i].text,
                             l.v[i].len, 0);
        else if (!counts && shown)
            rc = ent_txn_del(txn, ENT_TBL_WRITES, k, sizeof(k));
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].text);
    free(l.v);
    return rc;
}

int ent__obj_remerge_all(ent_txn *txn, const uint8_t obj[32],
                         const uint8_t owner[32], judge *j) {
    names_ctx names = {0};
    uint8_t pre[33];
    memcpy(pre, obj, 32);
    pre[32] = WR_FIELD;
    int rc = ent__obj_writes_fill(txn, obj);
    if (rc == ENT_OK)
        rc = ent_txn_scan(txn, ENT_TBL_WRITES, pre, 33, names_scan, &names);
    for (size_t i = 0; i < names.n && rc == ENT_OK; i++)
        rc = recompute_field(txn, obj, names.v[i], owner, j);
    free(names.v);
    if (rc == ENT_OK)
        rc = remerge_comments(txn, obj, j);
    return rc;
}

int ent__obj_refresh_authority(ent_objects *eng, ent_txn *txn,
                               const uint8_t obj[32], ent_apply_info *info) {
    obj_rec r;
    oauth au;
    judge j;
    bool me_active, me_listed, restand;
    int rc = ent__obj_rec_get(txn, obj, &r);
    if (rc != ENT_OK)
        return rc;
    if ((rc = ent__obj_auth_load(txn, obj, r.owner, &au)) != ENT_OK)
        return rc;
    if ((rc = ent__obj_auth_solve(&au)) != ENT_OK ||
        (rc = ent__obj_auth_store(txn, obj, &au, eng->me, &me_active,
                                  &me_listed, &restand)) != ENT_OK)
        goto out;
    /* our own status follows our row (an org never listed keeps its own) */
    if (me_listed) {
        uint8_t status = me_active ? OBJ_STATUS_ACTIVE : OBJ_STATUS_REMOVED;
        if (status != r.status) {
            if (status == OBJ_STATUS_REMOVED && info != NULL)
                info->removed = true;
            r.status = status;
            if ((rc = ent__obj_rec_put(txn, obj, &r)) != ENT_OK)
                goto out;
        }
    }
    if (restand) {
        ent__obj_judge_init(&j, txn, obj, r.owner, &au);
        rc = ent__obj_remerge_all(txn, obj, r.owner, &j);
        ent__obj_judge_free(&j);
        if (rc != ENT_OK)
            goto out;
    }
    rc = ent__obj_check_rotation(eng, txn, obj, &au, info);
    /* members or status changed: the partners' fingerprints */
    if (rc == ENT_OK)
        rc = ent_setdig_refresh(txn, eng->me, obj);
out:
    ent__obj_auth_free(&au);
    return rc;
}

/*
 * The merge fast path for a write without the owner-only flag, at order,
 * with value blob: when the field has no owner (its row says FW_PLAIN, or
 * it has no row: no write counts yet), the winner is the greatest counting
 * write, and the max over a set can be taken one write at a time: the new
 * write replaces the row if it counts and its order is not lower. Same
 * result as recompute_field, without reading the field's earlier writes.
 * fresh: the write is the object's genesis, so the field has no row yet
 * (no other op of the object is applied before it) and none is read.
 * *done false (nothing changed): the caller must recompute the field.
 */
static int merge_plain(ent_txn *txn, const uint8_t obj[32], const char *name,
                       bool counts, bool fresh,
                       const uint8_t order[OBJ_ORDER_LEN], const uint8_t *blob,
                       size_t blen, bool *done) {
    uint8_t fk[32 + ENT_OP_NAME_MAX];
    uint8_t *rec = NULL;
    const uint8_t *cur;
    size_t clen, nl = strlen(name);
    *done = false;
    memcpy(fk, obj, 32);
    memcpy(fk + 32, name, nl);
    int rc = fresh ? ENT_ENOENT
                   : ent_txn_get(txn, ENT_TBL_FIELDS, fk, 32 + nl,
                                 (const void **)&cur, &clen);
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
    *done = true;
    if (!counts)
        return ENT_OK;
    size_t rlen = OBJ_ORDER_LEN + 1 + blen;
    if ((rec = malloc(rlen)) == NULL) {
        *done = false;
        return ENT_ENOMEM;
    }
    memcpy(rec, order, OBJ_ORDER_LEN);
    rec[OBJ_ORDER_LEN] = FW_PLAIN;
    memcpy(rec + OBJ_ORDER_LEN + 1, blob, blen);
    rc = ent_txn_put(txn, ENT_TBL_FIELDS, fk, 32 + nl, rec, rlen, 0);
    free(rec);
    return rc;
}

/* Keeps one field write and merges it into the field: the fast path when
 * neither it nor the field involves owner-only, else a full recompute. */
int ent__obj_put_field_write(ent_txn *txn, const uint8_t obj[32],
                             const ent_op *op, const char *name,
                             const ent_value *v, bool owner_only,
                             const uint8_t owner[32], bool counts, judge *j,
                             bool keep_row) {
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
    bool done = false, gov = false, prune = false;
    if ((rc = ent__obj_wf_governs(j, name, &gov)) != ENT_OK)
        goto out;
    /* a write the fast path settles needs no row while the field stays
     * plain (spec/storage.md "Pruned field writes"); any other is kept */
    if (!gov && !keep_row && op->h.genesis)
        /* no rules row comes before the genesis: it carries them */
        prune = !owner_only && strcmp(name, "stage") != 0;
    else if (!gov && !keep_row &&
             (rc = ent__obj_write_prunable(txn, obj, name, owner_only,
                                           &prune)) != ENT_OK)
        goto out;
    if (prune) {
        if ((rc = merge_plain(txn, obj, name, counts, op->h.genesis,
                              key + kl - OBJ_ORDER_LEN, blob, blen, &done)) !=
            ENT_OK)
            goto out;
        if (done) {
            /* once per genesis: none of its writes fills (see the
             * commit's keep_row); another op's recompute may fill, which
             * takes the row away, so it looks each time */
            if (!(op->h.genesis && j->pruned) &&
                (rc = ent__obj_writes_mark(txn, obj)) == ENT_OK)
                j->pruned = true;
            goto out;
        }
    }
    if ((rc = ent_txn_put(txn, ENT_TBL_WRITES, key, kl, val, blen + 1, 0)) !=
        ENT_OK)
        goto out;
    /* fields the object's rules govern (spec/workflows.md §4): a stage
     * move on top of the stage it saw, or an owned field's write judged
     * on its own, still merge one write at a time */
    if (gov && !owner_only && strcmp(name, "stage") == 0 &&
        (rc = ent__obj_wf_stage_fast(j, key + kl - OBJ_ORDER_LEN, blob, blen,
                                     counts, &done)) != ENT_OK)
        goto out;
    if (gov && strcmp(name, "stage") != 0) {
        if ((rc = ent__obj_wf_write_counts(j, name, key + kl - OBJ_ORDER_LEN,
                                           blob, blen, &counts)) != ENT_OK)
            goto out;
        gov = false;
    }
    if (!owner_only && !gov && !done &&
        (rc = merge_plain(txn, obj, name, counts, op->h.genesis,
                          key + kl - OBJ_ORDER_LEN, blob, blen, &done)) !=
            ENT_OK)
        goto out;
    if (!done)
        rc = recompute_field(txn, obj, name, owner, j);
out:
    free(val);
    free(blob);
    return rc;
}
