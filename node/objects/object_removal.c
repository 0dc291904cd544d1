/*
 * object_removal.c - what a removed org may still be sent: the causal past
 * of its removal (spec/gossip.md §11). The peer layer uses it to tell an
 * org that was removed while it was offline, when it next connects, by
 * sending it exactly the ops in the past of the removal (the removal
 * included, encrypted under the epoch key the org holds) and nothing
 * written later. It reads the stored decision of the authority rules
 * (object_fold.c) and the author index (object_pv.c).
 */
#include "node/err.h"
#include "node/objects/object_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct rm_q {
    const uint8_t *obj, *org;
    uint8_t *vv; /* out: author (32) || seq (8), ascending by author */
    size_t n;
} rm_q;

typedef struct idx_scan {
    const pvec *pv;
    uint8_t *out;
    size_t n;
} idx_scan;

/* obj||6||org -> index: every author of the merged vector, by org. The
 * rows come in org order, so the vector comes out sorted by author. */
static int idx_fn(void *data, const void *key, size_t klen, const void *val,
                  size_t vlen) {
    idx_scan *s = data;
    if (klen != 65 || vlen != 4)
        return ENT_ECORRUPT;
    uint64_t seq = ent__pv_at(s->pv, ent__rd32(val));
    if (seq == 0)
        return 0;
    memcpy(s->out + s->n * 40, (const uint8_t *)key + 33, 32);
    ent_be64_put(s->out + s->n * 40 + 32, seq);
    s->n++;
    return 0;
}

static int removal_fn(ent_txn *txn, void *data) {
    rm_q *q = data;
    obj_rec r;
    oauth au;
    pvec past = {0};
    bool any = false;
    int rc = ent__obj_rec_get(txn, q->obj, &r);
    if (rc != ENT_OK)
        return rc;
    memset(&au, 0, sizeof(au));
    if ((rc = ent__obj_auth_load(txn, q->obj, r.owner, &au)) != ENT_OK)
        return rc;
    /* the counting removals of org that no counting op on org follows */
    for (size_t i = 0; i < au.n && rc == ENT_OK; i++) {
        const omop *m = &au.v[i];
        if (m->kind != ENT_OP_REMOVE_MEMBER || !(m->flags & MOP_COUNTS) ||
            memcmp(m->target, q->org, 32) != 0)
            continue;
        bool maximal = true;
        for (size_t k = 0; k < au.n && maximal; k++) {
            const omop *o = &au.v[k];
            if (k == i || !(o->flags & MOP_COUNTS) || o->kind == ENT_OP_ROTATE_KEY ||
                memcmp(o->target, q->org, 32) != 0)
                continue;
            maximal = ent__pv_at(&o->pv, m->a) < m->seq;
        }
        if (maximal) {
            rc = ent__pv_merge(&past, &m->pv);
            any = true;
        }
    }
    if (rc == ENT_OK && !any)
        rc = ENT_ENOENT;
    if (rc == ENT_OK) {
        uint8_t prefix[33];
        idx_scan s = {.pv = &past, .out = malloc(past.n * 40 + 1), .n = 0};
        memcpy(prefix, q->obj, 32);
        prefix[32] = WR_AUTHOR;
        rc = s.out == NULL ? ENT_ENOMEM
                           : ent_txn_scan(txn, ENT_TBL_WRITES, prefix, 33,
                                          idx_fn, &s);
        if (rc == ENT_OK) {
            q->vv = s.out;
            q->n = s.n;
        } else {
            free(s.out);
        }
    }
    ent__pv_free(&past);
    ent__obj_auth_free(&au);
    return rc;
}

int ent_obj_removal_vv(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                       const uint8_t org[ENT_PK_LEN], uint8_t **vv,
                       size_t *n) {
    rm_q q = {.obj = id, .org = org};
    *vv = NULL;
    *n = 0;
    if (eng == NULL || id == NULL || org == NULL)
        return ENT_EINVAL;
    int rc = ent_store_read(eng->store, removal_fn, &q);
    if (rc == ENT_OK) {
        *vv = q.vv;
        *n = q.n;
    }
    return rc;
}
