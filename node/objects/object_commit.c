/*
 * object_commit.c - writing one accepted op into the engine's tables
 * (spec/storage.md "Object engine tables"): the op itself and its id, the
 * object's heads, the object record of a genesis, then, by kind, the field
 * writes (merged by object_merge.c), the comment, the membership write and
 * the epoch change with the key boxed for us, and the op's activity-log
 * entries, and the op's past vector (object_pv.c). Received ops
 * (object_apply.c) and our own (object.c, member.c) are committed by the
 * same ent__obj_commit(), so a local op and the same op received elsewhere
 * give the same state. Nothing here refuses a received op: it was checked
 * before (object_check.c, ent__obj_check_authority), though it may not
 * count (spec/membership.md "Counting"). A membership or epoch op makes
 * the engine decide authority again from the whole set. Stores older than
 * past vectors are brought up to date object by object (ent__obj_backfill).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "crypto/crypto.h"
#include "node/audit/actlog.h"
#include "node/err.h"
#include "node/objects/object_int.h"
#include "node/objects/setdig.h"
#include "storage/op_index.h"

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

/*
 * After a fork was stored: one `equivocation` entry when its (author, seq)
 * is proven for the first time (spec/audit.md §7), then, when that lowers
 * the author's lowest forked seq, everything authority decides is derived
 * again, since the author's ops from there on count for nothing (C4,
 * spec/membership.md), the ones that counted before included.
 */
static int commit_fork(ent_objects *eng, ent_txn *txn, const ent_op *op,
                       const uint8_t obj[32], bool first,
                       ent_apply_info *info) {
    obj_rec r;
    judge j;
    int rc = ENT_OK;
    if (first) {
        ent_actlog_entry e;
        memset(&e, 0, sizeof(e));
        e.time = ent__obj_wall(eng);
        e.kind = ENT_LOG_EQUIVOCATION;
        e.has_object = e.has_op = true;
        memcpy(e.object, obj, 32);
        memcpy(e.op, op->id, 32);
        e.reason_len = (size_t)snprintf(e.reason, sizeof(e.reason),
                                        "two ops of one author and seq %llu",
                                        (unsigned long long)op->h.seq);
        if ((rc = ent_actlog_append(txn, &e, NULL)) != ENT_OK)
            return rc;
    }
    if (info != NULL)
        info->fork = true;
    /* what counts changes only when the author's lowest forked seq does:
     * this (author, seq) is newly forked and none below it is (a third
     * version, or a fork above an older one, voids nothing new: the op
     * itself was judged with the fork in place) */
    oforks f;
    bool lowered = false;
    if (first) {
        if ((rc = ent__obj_forks_load(txn, obj, &f)) != ENT_OK)
            return rc;
        lowered = !ent__obj_forked(&f, op->h.author, op->h.seq - 1);
        ent__obj_forks_free(&f);
    }
    if (!lowered)
        return ENT_OK;
    if ((rc = ent__obj_refresh_authority(eng, txn, obj, info)) != ENT_OK ||
        (rc = ent__obj_rec_get(txn, obj, &r)) != ENT_OK)
        return rc;
    ent__obj_judge_init(&j, txn, obj, r.owner, NULL);
    rc = ent__obj_remerge_all(txn, obj, r.owner, &j);
    ent__obj_judge_free(&j);
    return rc;
}

/*
 * A membership or epoch op: its fact rows (WR_MEMBER for add/remove,
 * WR_EPOCH for remove/rotate, as before), the keys it hands us, its WR_MOP
 * row and the frontier; then everything authority decides is recomputed
 * from the set (ent__obj_refresh_authority).
 */
static int commit_mop(ent_objects *eng, ent_txn *txn, const ent_op *op,
                      const ent_op_body *b, const uint8_t obj[32],
                      const pvinfo *pi, ent_apply_info *info) {
    uint8_t wk[33 + OBJ_ORDER_LEN];
    uint32_t t = 0;
    int rc = ENT_OK;
    memcpy(wk, obj, 32);
    if (op->h.kind != ENT_OP_ROTATE_KEY) {
        uint8_t mv[34];
        wk[32] = WR_MEMBER;
        ent__obj_order(wk + 33, op->h.hlc, op->h.author, op->id);
        mv[0] = op->h.kind;
        memcpy(mv + 1, b->org, 32);
        mv[33] = op->h.kind == ENT_OP_ADD_MEMBER ? b->role : 0;
        if ((rc = ent_txn_put(txn, ENT_TBL_WRITES, wk, 33 + OBJ_ORDER_LEN, mv,
                              sizeof(mv), 0)) != ENT_OK ||
            (rc = ent__obj_author_idx(txn, obj, b->org, true, &t)) != ENT_OK)
            return rc;
    }
    if (op->h.kind == ENT_OP_ADD_MEMBER && memcmp(b->org, eng->me, 32) == 0 &&
        b->nekeys > 0) {
        /* our own add: its boxes are the keys we were given */
        uint8_t xpk[32], xsk[32], key[ENT_KEY_LEN];
        rc = ent_identity_x25519(eng->id, xpk, xsk);
        for (size_t i = 0; i < b->nekeys && rc == ENT_OK; i++)
            if (ent_seal_open(key, b->ekeys[i].box, ENT_OP_BOX_LEN, xpk, xsk) ==
                0)
                rc = ent__obj_key_put(txn, obj, b->ekeys[i].epoch, key, NULL);
        ent_wipe(xsk, sizeof(xsk));
        ent_wipe(key, sizeof(key));
        if (rc != ENT_OK)
            return rc;
    }
    if (op->h.kind != ENT_OP_ADD_MEMBER) {
        uint8_t ek[73];
        memcpy(ek, obj, 32);
        ek[32] = WR_EPOCH;
        ent_be64_put(ek + 33, b->epoch);
        memcpy(ek + 41, op->id, 32);
        if ((rc = ent_txn_put(txn, ENT_TBL_WRITES, ek, 73, op->h.author, 32,
                              0)) != ENT_OK ||
            (rc = take_member_key(eng, txn, obj, op, b)) != ENT_OK)
            return rc;
    }
    if ((rc = ent__obj_mop_put(txn, obj, op, b, pi, t)) != ENT_OK ||
        (rc = ent__obj_front_raise(txn, obj, pi->a, op->h.seq)) != ENT_OK)
        return rc;
    return ent__obj_refresh_authority(eng, txn, obj, info);
}

/* The op's pvinfo for the commit: derived here for a local op (and held to
 * the same structural rules as a received one), copied otherwise; an
 * epoch op's new epoch joins maxep. */
static int commit_pvinfo(ent_txn *txn, const ent_op *op, const ent_op_body *b,
                         const uint8_t obj[32], const pvinfo *in, pvinfo *out) {
    int rc;
    memset(out, 0, sizeof(*out));
    if (in == NULL) {
        if ((rc = ent__obj_pv_derive(txn, obj, op, out)) != ENT_OK)
            return rc == ENT_ENOENT ? ENT_ECORRUPT : rc; /* see apply_one */
        if ((rc = ent__obj_check_structure(op, out)) != ENT_OK) {
            ent__pvinfo_free(out);
            return rc;
        }
    } else {
        *out = *in;
        memset(&out->pv, 0, sizeof(out->pv));
        if ((rc = ent__pv_merge(&out->pv, &in->pv)) != ENT_OK)
            return rc;
    }
    if ((op->h.kind == ENT_OP_REMOVE_MEMBER ||
         op->h.kind == ENT_OP_ROTATE_KEY) &&
        b->epoch > out->maxep)
        out->maxep = b->epoch;
    return ENT_OK;
}

int ent__obj_commit(ent_objects *eng, ent_txn *txn, const ent_op *op,
                    const ent_op_body *b, const uint8_t obj[32],
                    const pvinfo *pin, ent_apply_info *info,
                    const ent_jtext *ev_pre) {
    uint8_t okey[104], hk[64], hv[8];
    size_t oklen = 72;
    obj_rec r;
    pvinfo pi;
    judge j;
    ev_members before = {0};
    bool counts = false, fork = false, first = false;
    int rc;
    memset(&j, 0, sizeof(j));
    memcpy(okey, obj, 32);
    memcpy(okey + 32, op->h.author, 32);
    ent_be64_put(okey + 64, op->h.seq);
    if ((rc = commit_pvinfo(txn, op, b, obj, pin, &pi)) != ENT_OK)
        return rc;
    /* a second version of (author, seq): kept too, under the op id after
     * the usual key, with the proof (spec/objects.md "Equivocation") */
    if ((rc = ent__obj_note_fork(txn, obj, op, &fork, &first)) != ENT_OK)
        goto out;
    if (fork) {
        memcpy(okey + 72, op->id, 32);
        oklen = 104;
    }
    /* "ops" is stored under object numbers (spec/storage.md), where a new
     * object's ops already go to the table's end: no append hint */
    rc = ent_txn_put(txn, ENT_TBL_OPS, okey, oklen, op->raw, op->rawlen, 0);
    if (rc != ENT_OK ||
        (rc = ent_op_index_put(txn, op->id, okey, oklen)) != ENT_OK)
        goto out;
    /* the new head first, then its parents leave: deleting the last row
     * of a table first would free its root page, which LMDB still writes
     * (empty) at the commit, and take a new one: a page per op when one
     * object's chain is synced (spec/gossip.md §9) */
    memcpy(hk, obj, 32);
    memcpy(hk + 32, op->id, 32);
    ent_be64_put(hv, op->h.hlc);
    if ((rc = ent_txn_put(txn, ENT_TBL_HEADS, hk, 64, hv, 8, 0)) != ENT_OK)
        goto out;
    for (size_t i = 0; i < op->h.nparents; i++) {
        memcpy(hk + 32, op->h.parents[i], 32);
        rc = ent_txn_del(txn, ENT_TBL_HEADS, hk, 64);
        if (rc != ENT_OK && rc != ENT_ENOENT)
            goto out;
    }
    /* the past vector: the author's index (assigned now if new, the value
     * the checks used) and the PV row */
    uint32_t a;
    if ((rc = ent__obj_author_idx(txn, obj, op->h.author, true, &a)) != ENT_OK)
        goto out;
    if (a != pi.a) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    if ((rc = ent__obj_pv_put(txn, obj, op, &pi)) != ENT_OK)
        goto out;

    if (op->h.kind == ENT_OP_CREATE) {
        uint8_t mk[64], mv[2] = {ENT_ROLE_OWNER, 1}, ak[33];
        memset(&r, 0, sizeof(r));
        r.status = OBJ_STATUS_ACTIVE;
        memcpy(r.owner, op->h.author, 32);
        r.hlc = op->h.hlc;
        memcpy(r.type, b->type, sizeof(r.type));
        memcpy(mk, obj, 32);
        memcpy(mk + 32, op->h.author, 32);
        memcpy(ak, obj, 32);
        ak[32] = WR_AVER;
        if ((rc = ent__obj_rec_put(txn, obj, &r)) != ENT_OK ||
            (rc = ent_txn_put(txn, ENT_TBL_MEMBERS, mk, 64, mv, 2, 0)) !=
                ENT_OK ||
            (rc = ent_txn_put(txn, ENT_TBL_WRITES, ak, 33, "\x01", 1, 0)) !=
                ENT_OK)
            goto out;
    } else if ((rc = ent__obj_rec_get(txn, obj, &r)) != ENT_OK) {
        goto out;
    }
    ent__obj_judge_init(&j, txn, obj, r.owner, NULL);
    j.eng = eng;
    if (op->h.kind == ENT_OP_CREATE || op->h.kind == ENT_OP_SET ||
        op->h.kind == ENT_OP_STAGE || op->h.kind == ENT_OP_COMMENT)
        if ((rc = ent__obj_judge_op(&j, op->h.author, a, op->h.seq, &pi.pv,
                                    op->h.kind, &counts)) != ENT_OK)
            goto out;

    /* who is a member before: the events tell what the op changed */
    bool mop = op->h.kind == ENT_OP_ADD_MEMBER ||
               op->h.kind == ENT_OP_REMOVE_MEMBER ||
               op->h.kind == ENT_OP_ROTATE_KEY;
    if ((mop || fork) &&
        (rc = ent__obj_ev_members_take(txn, obj, &before)) != ENT_OK)
        goto out;
    uint8_t wk[33 + OBJ_ORDER_LEN + 8];
    memcpy(wk, obj, 32);
    /* the writes of an op that carries rules keep their rows, and so do a
     * genesis's when one of them is owner-only: its recompute would fill
     * the pruned rows from the ops before the genesis's key is stored
     * (spec/storage.md "Pruned field writes") */
    bool keep_rows = b->ruleslen > 0;
    for (size_t i = 0; op->h.genesis && i < b->nfields; i++)
        keep_rows = keep_rows || b->fields[i].owner_only;
    switch (op->h.kind) {
    case ENT_OP_CREATE:
    case ENT_OP_SET:
        for (size_t i = 0; i < b->nfields && rc == ENT_OK; i++)
            rc = ent__obj_put_field_write(
                txn, obj, op, b->fields[i].name, &b->fields[i].v,
                b->fields[i].owner_only, r.owner, counts, &j, keep_rows);
        break;
    case ENT_OP_STAGE: {
        ent_value v = {.type = ENT_VT_ENUM};
        v.u.text.s = b->text;
        v.u.text.len = b->textlen;
        rc = ent__obj_put_field_write(txn, obj, op, "stage", &v, false, r.owner,
                                      counts, &j, true);
        break;
    }
    case ENT_OP_COMMENT:
        wk[32] = WR_COMMENT;
        ent__obj_order(wk + 33, op->h.hlc, op->h.author, op->id);
        rc = ent_txn_put(txn, ENT_TBL_WRITES, wk, 33 + OBJ_ORDER_LEN,
                         b->textlen ? b->text : "", b->textlen, 0);
        if (rc == ENT_OK && counts) {
            wk[32] = WR_CSHOW;
            rc = ent_txn_put(txn, ENT_TBL_WRITES, wk, 33 + OBJ_ORDER_LEN,
                             b->textlen ? b->text : "", b->textlen, 0);
        }
        break;
    case ENT_OP_ADD_MEMBER:
    case ENT_OP_REMOVE_MEMBER:
    case ENT_OP_ROTATE_KEY:
        rc = commit_mop(eng, txn, op, b, obj, &pi, info);
        break;
    case ENT_OP_APPROVE:
    case ENT_OP_RULES:
        break; /* their rows below */
    case ENT_OP_ERASE:
        rc = ent__obj_erase_commit(eng, txn, op, b, obj);
        break;
    case ENT_OP_ATTACH:
        rc = ent__obj_attach_commit(txn, obj, op, b);
        break;
    default:
        rc = ENT_ECORRUPT;
    }
    if (rc == ENT_OK)
        rc = ent__obj_wf_commit(txn, obj, op, b);
    /* rules read the past values of fields: every write gets its row */
    if (rc == ENT_OK && b->ruleslen > 0)
        rc = ent__obj_writes_fill(txn, obj);
    if (rc == ENT_OK)
        rc = log_op(eng, txn, op, b, obj);
    if (rc == ENT_OK)
        rc = ent__obj_ev_op(eng, txn, op, b, obj, counts, ev_pre);
    if (rc == ENT_OK && fork && first)
        rc = ent__obj_ev_equivocation(eng, txn, op, obj);
    if (rc == ENT_OK && fork)
        rc = commit_fork(eng, txn, op, obj, first, info);
    if (rc == ENT_OK && (mop || fork))
        rc = ent__obj_ev_members_diff(eng, txn, obj, op, b, &before);
    /* heads changed: the partners' fingerprints (spec/gossip.md §13) */
    if (rc == ENT_OK)
        rc = ent_setdig_refresh(txn, eng->me, obj);
out:
    ent__obj_ev_members_free(&before);
    ent__obj_judge_free(&j);
    ent__pvinfo_free(&pi);
    return rc;
}

/* --------------------------------------------------------------- backfill */

typedef struct bf_ops {
    ent_op **v;
    size_t n, cap;
} bf_ops;

static int bf_scan(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    bf_ops *l = data;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        ent_op **nv = realloc(l->v, nc * sizeof(*nv));
        if (nv == NULL)
            return ENT_ENOMEM;
        l->v = nv;
        l->cap = nc;
    }
    int rc = ent_op_decode(&l->v[l->n], val, vlen);
    if (rc != ENT_OK)
        return rc == ENT_ENOMEM ? rc : ENT_ECORRUPT;
    l->n++;
    return 0;
}

/* The fact row of a membership op (WR_MEMBER) or an epoch op (WR_EPOCH)
 * of an older store, as a body the WR_MOP row can be made of. */
static int bf_body(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                   ent_op_body *b) {
    uint8_t k[33 + OBJ_ORDER_LEN];
    const uint8_t *v;
    size_t vlen;
    int rc = ENT_OK;
    memset(b, 0, sizeof(*b));
    b->kind = op->h.kind;
    memcpy(k, obj, 32);
    if (op->h.kind != ENT_OP_ROTATE_KEY) {
        k[32] = WR_MEMBER;
        ent__obj_order(k + 33, op->h.hlc, op->h.author, op->id);
        if ((rc = ent_txn_get(txn, ENT_TBL_WRITES, k, sizeof(k),
                              (const void **)&v, &vlen)) != ENT_OK)
            return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
        if (vlen != 34)
            return ENT_ECORRUPT;
        memcpy(b->org, v + 1, 32);
        b->role = v[33];
    }
    if (op->h.kind != ENT_OP_ADD_MEMBER)
        b->epoch = op->h.epoch + 1; /* what the body check required */
    return rc;
}

static int cmp_opid(const void *a, const void *b) {
    return memcmp((*(ent_op *const *)a)->id, (*(ent_op *const *)b)->id, 32);
}

static ssize_t bf_find(ent_op *const *sorted, size_t n, const uint8_t id[32]) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(sorted[mid]->id, id, 32);
        if (c == 0)
            return (ssize_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int ent__obj_backfill_again(ent_objects *eng, ent_txn *txn,
                            const uint8_t obj[32]) {
    uint8_t ak[33];
    memcpy(ak, obj, 32);
    ak[32] = WR_AVER;
    int rc = ent_txn_del(txn, ENT_TBL_WRITES, ak, 33);
    if (rc != ENT_OK && rc != ENT_ENOENT)
        return rc;
    return ent__obj_backfill(eng, txn, obj);
}

int ent__obj_backfill(ent_objects *eng, ent_txn *txn, const uint8_t obj[32]) {
    uint8_t ak[33];
    const void *v;
    size_t vlen;
    bf_ops l = {0};
    size_t *indeg = NULL, *cstart = NULL, *child = NULL, *queue = NULL;
    memcpy(ak, obj, 32);
    ak[32] = WR_AVER;
    int rc = ent_txn_get(txn, ENT_TBL_WRITES, ak, 33, &v, &vlen);
    if (rc != ENT_ENOENT)
        return rc;
    ENT_INFO(eng->log, "object: deriving past vectors of an older object");
    if ((rc = ent_txn_scan(txn, ENT_TBL_OPS, obj, 32, bf_scan, &l)) != ENT_OK)
        goto out;
    if (l.n > 1)
        qsort(l.v, l.n, sizeof(*l.v), cmp_opid);
    /* Kahn's order over the parent links: every op after its parents */
    indeg = calloc(l.n + 1, sizeof(*indeg));
    cstart = calloc(l.n + 2, sizeof(*cstart));
    queue = calloc(l.n + 1, sizeof(*queue));
    if (indeg == NULL || cstart == NULL || queue == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    size_t nedges = 0;
    for (size_t i = 0; i < l.n; i++)
        for (size_t p = 0; p < l.v[i]->h.nparents; p++) {
            ssize_t pi = bf_find(l.v, l.n, l.v[i]->h.parents[p]);
            if (pi < 0) {
                rc = ENT_ECORRUPT; /* applied ops have their parents */
                goto out;
            }
            indeg[i]++;
            cstart[pi + 1]++;
            nedges++;
        }
    for (size_t i = 0; i < l.n; i++)
        cstart[i + 1] += cstart[i];
    if ((child = calloc(nedges + 1, sizeof(*child))) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    size_t *fill = calloc(l.n + 1, sizeof(*fill));
    if (fill == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < l.n; i++)
        for (size_t p = 0; p < l.v[i]->h.nparents; p++) {
            size_t pi = (size_t)bf_find(l.v, l.n, l.v[i]->h.parents[p]);
            child[cstart[pi] + fill[pi]++] = i;
        }
    free(fill);
    size_t qh = 0, qt = 0;
    /* the genesis first, so that the owner gets the first index */
    for (size_t i = 0; i < l.n; i++)
        if (indeg[i] == 0 && l.v[i]->h.genesis)
            queue[qt++] = i;
    for (size_t i = 0; i < l.n; i++)
        if (indeg[i] == 0 && !l.v[i]->h.genesis)
            queue[qt++] = i;
    while (qh < qt && rc == ENT_OK) {
        const ent_op *op = l.v[queue[qh++]];
        pvinfo pi;
        ent_op_body b;
        uint32_t a, t = 0;
        memset(&b, 0, sizeof(b));
        if ((rc = ent__obj_pv_derive(txn, obj, op, &pi)) != ENT_OK)
            break;
        bool mop = op->h.kind == ENT_OP_ADD_MEMBER ||
                   op->h.kind == ENT_OP_REMOVE_MEMBER ||
                   op->h.kind == ENT_OP_ROTATE_KEY;
        if (mop && (rc = bf_body(txn, obj, op, &b)) == ENT_OK &&
            op->h.kind != ENT_OP_ADD_MEMBER && b.epoch > pi.maxep)
            pi.maxep = b.epoch;
        if (rc == ENT_OK)
            rc = ent__obj_author_idx(txn, obj, op->h.author, true, &a);
        if (rc == ENT_OK)
            rc = ent__obj_pv_put(txn, obj, op, &pi);
        if (rc == ENT_OK && mop && op->h.kind != ENT_OP_ROTATE_KEY)
            rc = ent__obj_author_idx(txn, obj, b.org, true, &t);
        if (rc == ENT_OK && mop &&
            (rc = ent__obj_mop_put(txn, obj, op, &b, &pi, t)) == ENT_OK)
            rc = ent__obj_front_raise(txn, obj, a, op->h.seq);
        ent__pvinfo_free(&pi);
        size_t self = queue[qh - 1];
        for (size_t c = cstart[self]; c < cstart[self + 1]; c++)
            if (--indeg[child[c]] == 0)
                queue[qt++] = child[c];
    }
    if (rc != ENT_OK)
        goto out;
    if (qt != l.n) {
        rc = ENT_ECORRUPT; /* a cycle of parents cannot be */
        goto out;
    }
    if ((rc = ent_txn_put(txn, ENT_TBL_WRITES, ak, 33, "\x01", 1, 0)) !=
            ENT_OK ||
        (rc = ent__obj_refresh_authority(eng, txn, obj, NULL)) != ENT_OK)
        goto out;
    /* every field and comment under the new rules */
    obj_rec r;
    judge j;
    if ((rc = ent__obj_rec_get(txn, obj, &r)) != ENT_OK)
        goto out;
    ent__obj_judge_init(&j, txn, obj, r.owner, NULL);
    rc = ent__obj_remerge_all(txn, obj, r.owner, &j);
    ent__obj_judge_free(&j);
out:
    for (size_t i = 0; i < l.n; i++)
        ent_op_free(l.v[i]);
    free(l.v);
    free(indeg);
    free(cstart);
    free(child);
    free(queue);
    return rc;
}
