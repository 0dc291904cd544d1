/*
 * object_apply.c - the apply pipeline for ops received from other nodes
 * (ent_obj_apply, ent_obj_apply_batch): a batch is authenticated as one set
 * of signatures, then each op is judged and committed in one write
 * transaction (apply_one: decode, duplicate, clock, signature, the checks
 * of object_check.c, decryption with a key of its epoch, commit by
 * object_commit.c), counted, and a refusal logged. An op whose causal
 * parents, object record or epoch key are not here yet is held (pending
 * table, with wait entries naming what it waits for) and retried when that
 * arrives (ent__obj_release), so ops may arrive in any order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/audit/actlog.h"
#include "node/err.h"
#include "node/objects/object_int.h"
#include "storage/op_index.h"

/* --------------------------------------------------------- activity log */

/* The activity-log entry of a refused op (its own changes are none). */
static int log_reject(ent_objects *eng, ent_txn *txn,
                      const ent_apply_info *info, int why) {
    static const uint8_t zero[32];
    ent_actlog_entry e;
    const void *v;
    size_t vlen;
    memset(&e, 0, sizeof(e));
    e.time = ent__obj_wall(eng);
    e.kind = ENT_LOG_OP_REJECTED; /* a fork is no refusal (object_commit.c) */
    /* the object only when this node holds it: the id of a refused op is
     * the sender's choice, and each object an entry names keeps a row of
     * the log's directory and a local number for good (spec/audit.md §7) */
    int orc = memcmp(info->object, zero, 32) != 0
                  ? ent_txn_get(txn, ENT_TBL_OBJECTS, info->object, 32, &v,
                                &vlen)
                  : ENT_ENOENT;
    if (orc != ENT_OK && orc != ENT_ENOENT)
        return orc;
    if (orc == ENT_OK) {
        e.has_object = true;
        memcpy(e.object, info->object, 32);
    }
    if (memcmp(info->op_id, zero, 32) != 0) {
        e.has_op = true;
        memcpy(e.op, info->op_id, 32);
    }
    if (why == ENT_EDENIED && eng->wf_why[0] != '\0')
        e.reason_len = (size_t)snprintf(e.reason, sizeof(e.reason),
                                        "%s: object rules: %s",
                                        ent_err_name(why), eng->wf_why);
    else
        e.reason_len = (size_t)snprintf(e.reason, sizeof(e.reason), "%s: %s",
                                        ent_err_name(why), ent_strerror(why));
    eng->wf_why[0] = '\0';
    if (e.reason_len >= sizeof(e.reason))
        e.reason_len = sizeof(e.reason) - 1;
    return ent_actlog_append(txn, &e, NULL);
}

/* ---------------------------------------------------------------- apply */

typedef struct apply_state {
    bool verified; /* signature already checked (held ops) */
    bool sig_ok;   /* signature checked by the caller (pooled verify); the
                    * pending-duplicate check still runs */
    bool rehold;   /* a held op being retried: already counted in the cap */
    const ent_obj_opened *opened; /* the body, opened by the caller with a
                                     key of the op's epoch (may be NULL) */
    uint64_t held_at;      /* rehold: when the op was first held */
    ent_obj_stats *delta;  /* hold refusals, evictions, expiries */
    uint8_t kind;  /* out: kind of the op, when it was committed */
} apply_state;

/* Wait entries (writes table, tag WR_WAIT): obj || 4 || parent || held op id
 * -> nothing. A held op has one per causal parent that was missing when it
 * was held, or, with no parent missing (it waits for an epoch key or the
 * object record), one under the all-zero parent (object_held.c). */
#define WAIT_KEY_LEN OBJ_WAIT_KEY_LEN
#define wait_key ent__obj_wait_key

static const uint8_t no_parent[32];

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

/*
 * The org an add_member op adds, when its body opens here (with the body
 * the caller opened, or a key of its epoch): *has false otherwise.
 * @return ENT_OK or ENT_ENOMEM.
 */
static int add_target(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                      const apply_state *st, uint8_t target[32], bool *has) {
    dec_ctx dc = {.op = op};
    ent_op_body b;
    uint8_t kpre[40];
    int rc = ENT_OK;
    memset(&b, 0, sizeof(b));
    *has = false;
    if (st->opened != NULL && st->opened->body != NULL) {
        rc = ent_op_body_decode(&b, op->h.kind, st->opened->body,
                                st->opened->len);
    } else {
        memcpy(kpre, obj, 32);
        ent_be64_put(kpre + 32, op->h.epoch);
        rc = ent_txn_scan(txn, ENT_TBL_KEYS, kpre, 40, dec_scan, &dc);
        if (rc == ENT_OK && dc.body == NULL)
            rc = ENT_ENOENT;
        if (rc == ENT_OK)
            rc = ent_op_body_decode(&b, op->h.kind, dc.body, dc.blen);
    }
    if (rc == ENT_OK) {
        memcpy(target, b.org, 32);
        *has = true;
    }
    if (dc.body != NULL) {
        ent_wipe(dc.body, dc.blen);
        free(dc.body);
    }
    ent_op_body_clear(&b);
    return rc == ENT_ENOMEM ? rc : ENT_OK;
}

/* Puts op on hold (object_held.c); owner NULL: no object record yet. */
static int do_hold(ent_objects *eng, ent_txn *txn, const ent_op *op,
                   const uint8_t obj[32], const uint8_t *owner,
                   const apply_state *st, ent_apply_info *info) {
    uint8_t target[32];
    bool has = false;
    int rc;
    if (op->h.kind == ENT_OP_ADD_MEMBER && owner != NULL &&
        (rc = add_target(txn, obj, op, st, target, &has)) != ENT_OK)
        return rc;
    ent_hold_opts o = {
        .rehold = st->rehold, .held_at = st->held_at, .delta = st->delta};
    return ent__obj_hold(eng, txn, op, obj, owner, has ? target : NULL, &o,
                         info);
}

static bool vouched_by_held(ent_txn *txn, const uint8_t obj[32],
                            const ent_op *op);

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
    pvinfo pi;
    bool leave_only = false;
    const uint8_t *obj;
    const void *v;
    size_t vlen;
    int rc;
    memset(&b, 0, sizeof(b));
    memset(&pi, 0, sizeof(pi));
    memset(&r, 0, sizeof(r));
    if ((rc = ent_op_decode(&op, raw, len)) != ENT_OK)
        goto out;
    obj = op->h.genesis ? op->id : op->h.object;
    if (info != NULL) {
        memcpy(info->op_id, op->id, 32);
        memcpy(info->object, obj, 32);
    }
    if (ent_op_index_get(txn, op->id, &v, &vlen) == ENT_OK) {
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
    /* same author and sequence, other bytes: a fork, judged and stored
     * like any op; the commit keeps the proof (spec/objects.md) */
    if (!op->h.genesis && op->h.nparents == 0) { /* S3: parents required */
        rc = ENT_ECORRUPT;
        goto out;
    }
    rc = ent__obj_rec_get(txn, obj, &r);
    if (rc == ENT_ENOENT && !op->h.genesis) {
        rc = do_hold(eng, txn, op, obj, NULL, st, info); /* no genesis yet */
        goto out;
    }
    if (rc != ENT_OK && !(rc == ENT_ENOENT && op->h.genesis))
        goto out;
    bool have_rec = rc == ENT_OK;
    rc = ENT_OK;
    /* rows of an object kept by an older version get their past vectors */
    if (have_rec && (rc = ent__obj_backfill(eng, txn, obj)) != ENT_OK)
        goto out;
    uint8_t kpre[40];
    memcpy(kpre, obj, 32);
    ent_be64_put(kpre + 32, op->h.epoch);
    /* removed from the object: an epoch we hold no key for is one we
     * must never read, whatever its parents */
    if (have_rec && r.status == OBJ_STATUS_REMOVED &&
        (rc = ent__obj_check_removed_epoch(txn, obj, op)) != ENT_OK)
        goto out;
    for (size_t i = 0; i < op->h.nparents; i++)
        if (ent_op_index_get(txn, op->h.parents[i], &v, &vlen) != ENT_OK) {
            rc = do_hold(eng, txn, op, obj, r.owner, st,
                         info); /* causal parents first */
            goto out;
        }
    /* its causal past: the PV, then the rules that read it (whether the
     * author may ever make this change, then S1, S2, the epoch bound) */
    rc = ent__obj_pv_derive(txn, obj, op, &pi);
    if (rc == ENT_ENOENT && have_rec &&
        (rc = ent__obj_backfill_again(eng, txn, obj)) == ENT_OK)
        rc = ent__obj_pv_derive(txn, obj, op, &pi); /* rows an older
                                                        binary skipped */
    if (rc != ENT_OK) {
        if (rc == ENT_ENOENT)
            rc = ENT_ECORRUPT;
        goto out;
    }
    if (!op->h.genesis &&
        (rc = ent__obj_check_authority(txn, obj, r.owner, op, &pi,
                                       &leave_only)) != ENT_OK)
        goto out;
    if ((rc = ent__obj_check_structure(op, &pi)) != ENT_OK)
        goto out;
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
            rc = do_hold(eng, txn, op, obj, r.owner, st,
                         info); /* the key may still come */
        else
            rc = ENT_EDECRYPT;
        goto out;
    }
    if ((rc = ent_op_body_decode(&b, op->h.kind, dc.body, dc.blen)) != ENT_OK) {
        if (rc != ENT_ENOMEM)
            rc = ENT_ECORRUPT;
        goto out;
    }
    /* values by the local value rules (a value this node could not show is
     * never stored), then what the body may say */
    if ((rc = ent__obj_check_values(&b)) != ENT_OK)
        goto out;
    if ((rc = ent__obj_check_body(
             op, &b, op->h.genesis ? op->h.author : r.owner)) != ENT_OK)
        goto out;
    /* a member's or viewer's removal must be its own leave */
    if (leave_only && memcmp(b.org, op->h.author, 32) != 0) {
        rc = ENT_EDENIED;
        goto out;
    }
    /* the object's workflow rules (spec/workflows.md §4): refused when
     * the op's past holds every membership op this node has, so that its
     * author's engine saw what we see and would have refused it too;
     * otherwise kept, and the merge lets it count for nothing */
    {
        char why[256];
        bool covers = true;
        rc = ent__obj_wf_check(eng, txn, obj,
                               op->h.genesis ? op->h.author : r.owner,
                               op, &b, &pi, why, sizeof(why));
        if (rc == ENT_EDENIED &&
            ent__obj_covers_front(txn, obj, &pi.pv, &covers) == ENT_OK &&
            !covers) {
            rc = ENT_OK;
            eng->stats.wf_ignored++;
        }
        if (rc == ENT_EDENIED) {
            ENT_WARN(eng->log, "object rules refuse an op: %s", why);
            eng->stats.wf_denied++;
            snprintf(eng->wf_why, sizeof(eng->wf_why), "%s", why);
        }
        if (rc != ENT_OK)
            goto out;
    }
    ent_hlc_observe(&eng->hlc, ent__obj_wall(eng), op->h.hlc);
    rc = ent__obj_commit(eng, txn, op, &b, obj, &pi, info, NULL);
    if (rc == ENT_OK)
        st->kind = op->h.kind;
out:
    if (dc.body != NULL) {
        ent_wipe(dc.body, dc.blen);
        free(dc.body);
    }
    ent_op_body_clear(&b);
    ent__pvinfo_free(&pi);
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
    case ENT_EBADVALUE:
        s->bad_value++;
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
        if (ent_op_index_get(c->txn, op->h.parents[i], &v, &vlen) != ENT_OK) {
            rc = ent_txn_del(c->txn, ENT_TBL_WRITES, wk, WAIT_KEY_LEN);
            goto out; /* still waits on that parent */
        }
    uint64_t held_at = 0;
    if ((rc = ent__obj_unhold(c->txn, c->obj, op, &held_at)) != ENT_OK)
        goto out;
    ent_apply_info pi;
    apply_state st = {.verified = true,
                      .rehold = true,
                      .held_at = held_at,
                      .delta = c->delta};
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
                          .opened = c->opened != NULL ? &c->opened[i] : NULL,
                          .delta = &c->delta};
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
    a->bad_value += d->bad_value;
    a->held_strangers += d->held_strangers;
    a->held_evicted += d->held_evicted;
    a->held_expired += d->held_expired;
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
