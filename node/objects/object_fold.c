/*
 * object_fold.c - authority by causal history (spec/membership.md
 * "Counting"). Which membership ops (add_member, remove_member) and epoch
 * ops (rotate_key, and remove_member again) count is a function of the SET
 * of applied ops, decided from their past vectors (object_pv.c), never from
 * an HLC or the order of arrival:
 *
 *   C1  an op counts only if its author has the authority for it in the
 *       membership state of its own past (the counting membership ops in
 *       it: per target the causally maximal ones; a removal wins; least
 *       privilege among adds), and a change to an active admin only if
 *       the author was appointed before it (seniority);
 *   C3  a counting removal of X voids every op of X concurrent with it (in
 *       neither's past), and so does a counting add of X whose role does
 *       not allow the op (a demotion);
 *
 * computed in deterministic rounds (C1 within a round, C3 against the
 * decision of the previous one) until the decision repeats.
 * The result is stored as flags in the WR_MOP rows; ops of other kinds are
 * judged against it (ent__obj_auth_counts, the judge with its fast path).
 * The members table, the usable keys and the field merge follow from it.
 */
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/object_int.h"
#include "storage/op_index.h"

#define ROUNDS_MAX 64

/* ------------------------------------------------------------- WR_MOP row */

/* value: order (72) | kind | flags | role | a (4) | t (4) | seq (8) |
 *        epoch (8) | target (32) | PV encoding */
#define MOP_HDR 131
#define MOP_FLAGS_AT 73

static int mop_decode(const uint8_t id[32], const uint8_t *v, size_t vlen,
                      omop *m) {
    const uint8_t *cur = v + MOP_HDR, *end = v + vlen;
    memset(m, 0, sizeof(*m));
    if (vlen < MOP_HDR + 1)
        return ENT_ECORRUPT;
    memcpy(m->id, id, 32);
    memcpy(m->order, v, OBJ_ORDER_LEN);
    m->kind = v[72];
    m->flags = v[73];
    m->role = v[74];
    m->a = ent__rd32(v + 75);
    m->t = ent__rd32(v + 79);
    m->seq = ent_be64_get(v + 83);
    m->epoch = ent_be64_get(v + 91);
    memcpy(m->target, v + 99, 32);
    if (m->kind != ENT_OP_ADD_MEMBER && m->kind != ENT_OP_REMOVE_MEMBER &&
        m->kind != ENT_OP_ROTATE_KEY)
        return ENT_ECORRUPT;
    int rc = ent__pv_decode(&cur, end, &m->pv);
    if (rc == ENT_OK && cur != end)
        rc = ENT_ECORRUPT;
    if (rc == ENT_OK && (m->raw = malloc(vlen)) == NULL)
        rc = ENT_ENOMEM;
    if (rc == ENT_OK) {
        memcpy(m->raw, v, vlen);
        m->rawlen = vlen;
    } else {
        ent__pv_free(&m->pv);
    }
    return rc;
}

static void mop_free(omop *m) {
    ent__pv_free(&m->pv);
    free(m->raw);
}

int ent__obj_mop_put(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                     const ent_op_body *b, const pvinfo *pi, uint32_t t) {
    uint8_t k[65], *enc = NULL, *val = NULL;
    size_t elen;
    int rc = ent__pv_encode(&pi->pv, &enc, &elen);
    if (rc != ENT_OK)
        return rc;
    if ((val = malloc(MOP_HDR + elen)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    memset(val, 0, MOP_HDR);
    ent__obj_order(val, op->h.hlc, op->h.author, op->id);
    val[72] = op->h.kind;
    val[73] = 0; /* decided by the recompute */
    val[74] = op->h.kind == ENT_OP_ADD_MEMBER ? b->role : 0;
    ent__be32(val + 75, pi->a);
    ent__be32(val + 79, t);
    ent_be64_put(val + 83, op->h.seq);
    ent_be64_put(val + 91, op->h.kind == ENT_OP_ADD_MEMBER ? 0 : b->epoch);
    if (op->h.kind != ENT_OP_ROTATE_KEY)
        memcpy(val + 99, b->org, 32);
    memcpy(val + MOP_HDR, enc, elen);
    memcpy(k, obj, 32);
    k[32] = WR_MOP;
    memcpy(k + 33, op->id, 32);
    rc = ent_txn_put(txn, ENT_TBL_WRITES, k, sizeof(k), val, MOP_HDR + elen, 0);
out:
    free(enc);
    free(val);
    return rc;
}

int ent__obj_mop_flags(ent_txn *txn, const uint8_t obj[32],
                       const uint8_t opid[32], uint8_t *flags) {
    uint8_t k[65];
    const uint8_t *v;
    size_t vlen;
    memcpy(k, obj, 32);
    k[32] = WR_MOP;
    memcpy(k + 33, opid, 32);
    int rc = ent_txn_get(txn, ENT_TBL_WRITES, k, sizeof(k), (const void **)&v,
                         &vlen);
    if (rc != ENT_OK)
        return rc;
    if (vlen < MOP_HDR)
        return ENT_ECORRUPT;
    *flags = v[MOP_FLAGS_AT];
    return ENT_OK;
}

/* WR_FRONT: for every author of a membership or epoch op, its highest
 * seq among them. An op whose PV covers it has every such op in its past. */
static int front_load(ent_txn *txn, const uint8_t obj[32], pvec *out) {
    uint8_t k[33];
    const uint8_t *v;
    size_t vlen;
    memcpy(k, obj, 32);
    k[32] = WR_FRONT;
    memset(out, 0, sizeof(*out));
    int rc = ent_txn_get(txn, ENT_TBL_WRITES, k, sizeof(k), (const void **)&v,
                         &vlen);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc != ENT_OK)
        return rc;
    const uint8_t *cur = v;
    rc = ent__pv_decode(&cur, v + vlen, out);
    if (rc == ENT_OK && cur != v + vlen)
        rc = ENT_ECORRUPT;
    if (rc != ENT_OK)
        ent__pv_free(out);
    return rc;
}

int ent__obj_covers_front(ent_txn *txn, const uint8_t obj[32],
                          const pvec *pv, bool *covers) {
    pvec f;
    int rc = front_load(txn, obj, &f);
    if (rc != ENT_OK)
        return rc;
    *covers = ent__pv_covers(pv, &f);
    ent__pv_free(&f);
    return ENT_OK;
}

int ent__obj_front_raise(ent_txn *txn, const uint8_t obj[32], uint32_t a,
                         uint64_t seq) {
    uint8_t k[33], *enc = NULL;
    size_t elen;
    pvec f;
    int rc = front_load(txn, obj, &f);
    if (rc != ENT_OK)
        return rc;
    if ((rc = ent__pv_raise(&f, a, seq)) == ENT_OK &&
        (rc = ent__pv_encode(&f, &enc, &elen)) == ENT_OK) {
        memcpy(k, obj, 32);
        k[32] = WR_FRONT;
        rc = ent_txn_put(txn, ENT_TBL_WRITES, k, sizeof(k), enc, elen, 0);
    }
    free(enc);
    ent__pv_free(&f);
    return rc;
}

/* ------------------------------------------------------------ the summary */

typedef struct load_ctx {
    omop *v;
    size_t n, cap;
} load_ctx;

static int load_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    load_ctx *c = data;
    if (klen != 65)
        return ENT_ECORRUPT;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        omop *nv = realloc(c->v, nc * sizeof(*nv));
        if (nv == NULL)
            return ENT_ENOMEM;
        c->v = nv;
        c->cap = nc;
    }
    int rc = mop_decode((const uint8_t *)key + 33, val, vlen, &c->v[c->n]);
    if (rc != ENT_OK)
        return rc;
    c->n++;
    return 0;
}

/* ------------------------------------------------------------------ forks */

/* equivocations rows: obj (32) || author (32) || seq (8) || op id (32), in
 * key order, so an author's rows come by ascending seq. A seq is forked
 * when two of its rows are applied ops (op_ids): rows a version before
 * this one kept for a refused op do not make a fork. */
typedef struct fork_ctx {
    ent_txn *txn;
    oforks *f;
    uint8_t cur[40]; /* author || seq of the rows being counted */
    size_t applied;
} fork_ctx;

static int fork_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    fork_ctx *c = data;
    oforks *f = c->f;
    const uint8_t *k = key;
    const void *v;
    size_t vl;
    (void)val;
    (void)vlen;
    if (klen != 104)
        return ENT_ECORRUPT;
    if (f->n > 0 && memcmp(f->v[f->n - 1].author, k + 32, 32) == 0)
        return 0; /* the author's lowest fork is known */
    if (memcmp(c->cur, k + 32, 40) != 0) {
        memcpy(c->cur, k + 32, 40);
        c->applied = 0;
    }
    if (ent_op_index_get(c->txn, k + 72, &v, &vl) != ENT_OK || ++c->applied < 2)
        return 0;
    if (ent__obj_grow((void **)&f->v, f->n, sizeof(*f->v)) != ENT_OK)
        return ENT_ENOMEM;
    memcpy(f->v[f->n].author, k + 32, 32);
    f->v[f->n].seq = ent_be64_get(k + 64);
    f->n++;
    return 0;
}

int ent__obj_forks_load(ent_txn *txn, const uint8_t obj[32], oforks *out) {
    memset(out, 0, sizeof(*out));
    fork_ctx c = {.txn = txn, .f = out};
    int rc = ent_txn_scan(txn, ENT_TBL_EQUIV, obj, 32, fork_scan, &c);
    if (rc != ENT_OK)
        ent__obj_forks_free(out);
    return rc;
}

void ent__obj_forks_free(oforks *f) {
    free(f->v);
    memset(f, 0, sizeof(*f));
}

bool ent__obj_forked(const oforks *f, const uint8_t author[32], uint64_t seq) {
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(f->v[mid].author, author, 32);
        if (c == 0)
            return seq >= f->v[mid].seq;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static int cmp_order(const void *a, const void *b) {
    return memcmp(((const omop *)a)->order, ((const omop *)b)->order,
                  OBJ_ORDER_LEN);
}

void ent__obj_auth_free(oauth *au) {
    for (size_t i = 0; i < au->n; i++)
        mop_free(&au->v[i]);
    free(au->v);
    free(au->by_t);
    free(au->t_start);
    free(au->t_idx);
    free(au->cnt);
    ent__obj_forks_free(&au->forks);
    memset(au, 0, sizeof(*au));
}

typedef struct tpos {
    uint32_t t;
    size_t i;
} tpos;

static int cmp_tpos(const void *a, const void *b) {
    const tpos *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Groups the ops with a target by target index (each group in order). */
static int index_targets(oauth *au) {
    size_t m = 0;
    tpos *tp = malloc((au->n ? au->n : 1) * sizeof(*tp));
    au->by_t = malloc((au->n ? au->n : 1) * sizeof(*au->by_t));
    au->t_start = malloc((au->n + 1) * sizeof(*au->t_start));
    au->t_idx = malloc((au->n ? au->n : 1) * sizeof(*au->t_idx));
    if (tp == NULL || au->by_t == NULL || au->t_start == NULL ||
        au->t_idx == NULL) {
        free(tp);
        return ENT_ENOMEM;
    }
    for (size_t i = 0; i < au->n; i++)
        if (au->v[i].kind != ENT_OP_ROTATE_KEY) {
            tp[m].t = au->v[i].t;
            tp[m++].i = i;
        }
    if (m > 1)
        qsort(tp, m, sizeof(*tp), cmp_tpos);
    au->nt = 0;
    for (size_t i = 0; i < m; i++) {
        au->by_t[i] = tp[i].i;
        if (au->nt == 0 || au->t_idx[au->nt - 1] != tp[i].t) {
            au->t_idx[au->nt] = tp[i].t;
            au->t_start[au->nt++] = i;
        }
    }
    au->t_start[au->nt] = m;
    free(tp);
    return ENT_OK;
}

int ent__obj_auth_load(ent_txn *txn, const uint8_t obj[32],
                       const uint8_t owner[32], oauth *out) {
    uint8_t pre[33];
    load_ctx c = {0};
    memset(out, 0, sizeof(*out));
    memcpy(out->owner, owner, 32);
    memcpy(pre, obj, 32);
    pre[32] = WR_MOP;
    int rc = ent__obj_author_find(txn, obj, owner, &out->owner_a);
    if (rc == ENT_ENOENT) {
        out->owner_a = 0;
        rc = ENT_OK;
    }
    if (rc == ENT_OK)
        rc = ent_txn_scan(txn, ENT_TBL_WRITES, pre, sizeof(pre), load_scan, &c);
    out->v = c.v;
    out->n = c.n;
    if (rc == ENT_OK)
        rc = ent__obj_forks_load(txn, obj, &out->forks);
    if (rc != ENT_OK)
        goto out;
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_order);
    out->cnt = calloc(out->n ? out->n : 1, 1);
    if (out->cnt == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < out->n; i++) {
        out->cnt[i] = (out->v[i].flags & MOP_COUNTS) != 0;
    }
    rc = index_targets(out);
out:
    if (rc != ENT_OK)
        ent__obj_auth_free(out);
    return rc;
}

/* The group of target t: *first and *n (n 0: none). */
static void group_of(const oauth *au, uint32_t t, const size_t **first,
                     size_t *n) {
    size_t lo = 0, hi = au->nt;
    *n = 0;
    *first = NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (au->t_idx[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < au->nt && au->t_idx[lo] == t) {
        *first = &au->by_t[au->t_start[lo]];
        *n = au->t_start[lo + 1] - au->t_start[lo];
    }
}

/* m is in the causal past of the op whose past vector is pv (or is it). */
static bool in_past(const pvec *pv, const omop *m) {
    return ent__pv_at(pv, m->a) >= m->seq;
}

/* y is in the past of x, y != x. */
static bool before(const omop *y, const omop *x) {
    return y != x && in_past(&x->pv, y);
}

bool ent__obj_role_allows(bool active, uint8_t role, uint8_t kind) {
    if (!active)
        return false;
    switch (kind) {
    case ENT_OP_ADD_MEMBER:
    case ENT_OP_REMOVE_MEMBER:
    case ENT_OP_ROTATE_KEY:
        return role <= ENT_ROLE_ADMIN;
    case ENT_OP_SET:
    case ENT_OP_STAGE:
    case ENT_OP_COMMENT:
    case ENT_OP_APPROVE:
    case ENT_OP_ATTACH:
        return role <= ENT_ROLE_MEMBER;
    case ENT_OP_RULES: /* the owner's only (it is judged before this) */
    case ENT_OP_ERASE:
        return false;
    case OBJ_KIND_LEAVE:
        return true;
    default:
        return false;
    }
}

/* The assignment a round reads: which ops count. */
typedef struct assign {
    const uint8_t *cnt;
} assign;

/* x (in group g) is counted, in the past pv (NULL: everything), not self. */
static bool in_set(const oauth *au, const assign *s, size_t gi, const pvec *pv,
                   const omop *self) {
    const omop *x = &au->v[gi];
    return s->cnt[gi] && x != self && (pv == NULL || in_past(pv, x));
}

/* x is in the set and no other op of the set has it in its past. */
static bool is_max(const oauth *au, const assign *s, const size_t *g, size_t ng,
                   const pvec *pv, const omop *self, size_t gi) {
    const omop *x = &au->v[gi];
    if (!in_set(au, s, gi, pv, self))
        return false;
    for (size_t j = 0; j < ng; j++)
        if (in_set(au, s, g[j], pv, self) && before(x, &au->v[g[j]]))
            return false;
    return true;
}

/*
 * The state of target t in a past (pv NULL: the whole set), self excluded:
 * the counting ops of t in it, the causally maximal ones; a removal among
 * them removes t; otherwise the highest role number among the maximal
 * adds (least privilege). @return true (active, *role) or false.
 */
static bool state_of(const oauth *au, const assign *s, uint32_t t,
                     const pvec *pv, const omop *self, uint8_t *role) {
    const size_t *g;
    size_t ng;
    bool any_add = false;
    uint8_t r = 0;
    group_of(au, t, &g, &ng);
    for (size_t i = 0; i < ng; i++) {
        const omop *x = &au->v[g[i]];
        if (!is_max(au, s, g, ng, pv, self, g[i]))
            continue;
        if (x->kind != ENT_OP_ADD_MEMBER)
            return false; /* remove wins */
        any_add = true;
        if (x->role > r)
            r = x->role;
    }
    if (!any_add)
        return false;
    *role = r;
    return true;
}

/*
 * Seniority (spec/membership.md "Seniority"): the author a of a change to
 * target t that is an active admin in the past pv may make it only if its
 * own appointment is older: every maximal counting add of t has in its
 * past a maximal counting add of a. (The owner is senior to everyone and
 * is never a target.)
 */
static bool senior(const oauth *au, const assign *s, uint32_t a, uint32_t t,
                   const pvec *pv, const omop *self) {
    const size_t *ga, *gt;
    size_t na, nt;
    uint8_t role;
    if (a == t || !state_of(au, s, t, pv, self, &role) ||
        role != ENT_ROLE_ADMIN)
        return true; /* itself, or not an active admin there */
    group_of(au, a, &ga, &na);
    group_of(au, t, &gt, &nt);
    for (size_t i = 0; i < nt; i++) {
        if (!is_max(au, s, gt, nt, pv, self, gt[i]))
            continue;
        bool older = false;
        for (size_t j = 0; j < na && !older; j++)
            older = is_max(au, s, ga, na, pv, self, ga[j]) &&
                    before(&au->v[ga[j]], &au->v[gt[i]]);
        if (!older)
            return false;
    }
    return true;
}

/*
 * C3 for an op of author a with seq, pv and kind (self: the op when it is
 * a membership op) against the decision rif: a counting removal of a, or a
 * counting add of a with a role that does not allow kind (a demotion),
 * concurrent with the op voids it.
 */
static bool voided(const oauth *au, const assign *rif, uint32_t a, uint64_t seq,
                   const pvec *pv, uint8_t kind, const omop *self) {
    const size_t *g;
    size_t ng;
    group_of(au, a, &g, &ng);
    for (size_t i = 0; i < ng; i++) {
        const omop *r = &au->v[g[i]];
        if (!rif->cnt[g[i]] || r == self)
            continue;
        if (r->kind == ENT_OP_ADD_MEMBER &&
            ent__obj_role_allows(true, r->role, kind))
            continue; /* an add that leaves the op allowed */
        if (ent__pv_at(&r->pv, a) >= seq) /* the op is in its past */
            continue;
        if (in_past(pv, r)) /* it is in the op's past */
            continue;
        return true;
    }
    return false;
}

/* One round: cur from prev (C3) and from itself (C1, in order). */
static void round_once(const oauth *au, const assign *prev, uint8_t *ccnt) {
    assign cur = {.cnt = ccnt};
    for (size_t i = 0; i < au->n; i++) {
        const omop *m = &au->v[i];
        /* a removal of its own author: a leave, any active role's */
        bool leave = m->kind == ENT_OP_REMOVE_MEMBER && m->a != 0 && m->t == m->a;
        bool c1;
        if (ent__obj_forked(&au->forks, m->order + 8, m->seq)) {
            ccnt[i] = 0; /* C4: at or after its author's fork */
            continue;
        }
        if (au->owner_a != 0 && m->a == au->owner_a) {
            c1 = true;
        } else {
            uint8_t role;
            c1 = state_of(au, &cur, m->a, &m->pv, m, &role) &&
                 (leave || role <= ENT_ROLE_ADMIN) &&
                 (m->kind == ENT_OP_ROTATE_KEY ||
                  senior(au, &cur, m->a, m->t, &m->pv, m));
        }
        /* nobody adds, removes or makes the owner (refused at receipt;
         * rows of older stores are judged the same way) */
        if (m->kind != ENT_OP_ROTATE_KEY &&
            (memcmp(m->target, au->owner, 32) == 0 ||
             (m->kind == ENT_OP_ADD_MEMBER &&
              (m->role == ENT_ROLE_OWNER || m->role >= ENT_ROLE__COUNT))))
            c1 = false;
        ccnt[i] = c1 && !voided(au, prev, m->a, m->seq, &m->pv,
                                leave ? OBJ_KIND_LEAVE : m->kind, m);
    }
}

int ent__obj_auth_solve(oauth *au) {
    size_t n = au->n;
    if (n == 0)
        return ENT_OK;
    /* hist[r]: which ops count after round r (0: none) */
    uint8_t *hist = calloc((size_t)(ROUNDS_MAX + 1) * n, 1);
    if (hist == NULL)
        return ENT_ENOMEM;
    size_t from = 0, to = 0; /* the rounds to combine: [from, to] */
    for (size_t r = 1; r <= ROUNDS_MAX && from == 0; r++) {
        assign prev = {.cnt = hist + (r - 1) * n};
        uint8_t *c = hist + r * n;
        round_once(au, &prev, c);
        for (size_t j = 1; j < r && from == 0; j++)
            if (memcmp(hist + j * n, c, n) == 0) {
                from = j + 1;
                to = r;
            }
    }
    if (from == 0) { /* no repeat within the cap: combine what came after
                        the first round */
        from = 2;
        to = ROUNDS_MAX;
    }
    /* a fixed point (from == to) or a cycle: a removal counts if it
     * counted in some round of the cycle; any other op only if it counted
     * in every one */
    for (size_t i = 0; i < n; i++) {
        bool any = false, all = true;
        for (size_t r = from; r <= to; r++) {
            any |= hist[r * n + i] != 0;
            all &= hist[r * n + i] != 0;
        }
        au->cnt[i] = au->v[i].kind == ENT_OP_REMOVE_MEMBER ? any : all;
    }
    free(hist);
    return ENT_OK;
}

bool ent__obj_auth_counts(const oauth *au, const uint8_t author[32], uint32_t a,
                          uint64_t seq, const pvec *pv, uint8_t kind) {
    assign fin = {.cnt = au->cnt};
    uint8_t role;
    if (ent__obj_forked(&au->forks, author, seq))
        return false; /* C4 */
    if (memcmp(author, au->owner, 32) == 0)
        return true;
    if (!state_of(au, &fin, a, pv, NULL, &role) ||
        !ent__obj_role_allows(true, role, kind))
        return false;
    return !voided(au, &fin, a, seq, pv, kind, NULL);
}

/* Whether the author (index a) of a change to target t, made now (its past
 * is everything), would be senior enough (see senior()). */
bool ent__obj_auth_senior(const oauth *au, uint32_t a, uint32_t t) {
    assign fin = {.cnt = au->cnt};
    if (au->owner_a != 0 && a == au->owner_a)
        return true;
    return senior(au, &fin, a, t, NULL, NULL);
}

/* ---------------------------------------------------------------- receipt */

int ent__obj_check_authority(ent_txn *txn, const uint8_t obj[32],
                             const uint8_t owner[32], const ent_op *op,
                             const pvinfo *pi, bool *leave_only) {
    oauth au;
    bool active = false;
    uint8_t role = 0;
    *leave_only = false;
    if (memcmp(op->h.author, owner, 32) == 0)
        return ENT_OK;
    /* fast: the op's past holds every membership op and the author is an
     * active member allowed the change in the current state */
    pvec f;
    int rc = front_load(txn, obj, &f);
    if (rc != ENT_OK)
        return rc;
    bool covers = ent__pv_covers(&pi->pv, &f);
    ent__pv_free(&f);
    if (covers) {
        rc = ent__obj_member_get(txn, obj, op->h.author, &active, &role);
        if (rc != ENT_OK && rc != ENT_ENOENT)
            return rc;
        if (rc == ENT_OK && ent__obj_role_allows(active, role, op->h.kind))
            return ENT_OK;
        if (rc == ENT_OK && active && op->h.kind == ENT_OP_REMOVE_MEMBER) {
            *leave_only = true; /* a member or viewer may only leave */
            return ENT_OK;
        }
    }
    /* what can never count, whatever else arrives: no add of the author
     * in its past; the owner's removal of it maximal in its past; no add
     * with a role that allows the change */
    if ((rc = ent__obj_auth_load(txn, obj, owner, &au)) != ENT_OK)
        return rc;
    const size_t *g;
    size_t ng;
    bool has_add = false, allowed = false, owner_out = false;
    group_of(&au, pi->a, &g, &ng);
    for (size_t i = 0; i < ng; i++) {
        const omop *x = &au.v[g[i]];
        if (!in_past(&pi->pv, x))
            continue;
        if (x->kind == ENT_OP_ADD_MEMBER) {
            has_add = true;
            allowed |= ent__obj_role_allows(true, x->role, op->h.kind);
            continue;
        }
        if (au.owner_a == 0 || x->a != au.owner_a)
            continue;
        bool maximal = true;
        for (size_t j = 0; j < ng && maximal; j++)
            if (in_past(&pi->pv, &au.v[g[j]]) && before(x, &au.v[g[j]]))
                maximal = false;
        owner_out |= maximal;
    }
    ent__obj_auth_free(&au);
    if (!has_add || owner_out)
        return ENT_ENOTMEMBER;
    if (!allowed && op->h.kind == ENT_OP_REMOVE_MEMBER) {
        *leave_only = true; /* any member may remove itself: a leave */
        return ENT_OK;
    }
    return allowed ? ENT_OK : ENT_EDENIED;
}

/* ---------------------------------------------------------------- members */

int ent__obj_member_get(ent_txn *txn, const uint8_t obj[32],
                        const uint8_t org[32], bool *active, uint8_t *role) {
    uint8_t k[64];
    const uint8_t *v;
    size_t vlen;
    memcpy(k, obj, 32);
    memcpy(k + 32, org, 32);
    int rc = ent_txn_get(txn, ENT_TBL_MEMBERS, k, 64, (const void **)&v, &vlen);
    if (rc != ENT_OK)
        return rc;
    if (vlen != 2 || v[0] >= ENT_ROLE__COUNT)
        return ENT_ECORRUPT;
    *role = v[0];
    *active = v[1] != 0;
    return ENT_OK;
}

/* One org's row of the members table as the decision gives it. */
typedef struct mrow {
    uint8_t org[32];
    uint8_t role;
    bool active;
} mrow;

typedef struct mrows {
    mrow *v;
    size_t n;
} mrows;

/* The role shown for an org that is not active: least privilege among its
 * maximal counting adds (viewer when none counts). */
static uint8_t inactive_role(const oauth *au, const size_t *g, size_t ng) {
    uint8_t r = 0;
    bool any = false;
    for (size_t i = 0; i < ng; i++) {
        const omop *x = &au->v[g[i]];
        if (x->kind != ENT_OP_ADD_MEMBER || !au->cnt[g[i]])
            continue;
        bool maximal = true;
        for (size_t j = 0; j < ng && maximal; j++) {
            const omop *y = &au->v[g[j]];
            if (y->kind == ENT_OP_ADD_MEMBER && au->cnt[g[j]] && before(x, y))
                maximal = false;
        }
        if (maximal && (!any || x->role > r)) {
            r = x->role;
            any = true;
        }
    }
    return any ? r : ENT_ROLE_VIEWER;
}

/* The members of the decision: every target with a counting op. */
static int decided_members(const oauth *au, mrows *out) {
    assign fin = {.cnt = au->cnt};
    out->n = 0;
    out->v = calloc(au->nt ? au->nt : 1, sizeof(*out->v));
    if (out->v == NULL)
        return ENT_ENOMEM;
    for (size_t k = 0; k < au->nt; k++) {
        const size_t *g = &au->by_t[au->t_start[k]];
        size_t ng = au->t_start[k + 1] - au->t_start[k];
        bool listed = false;
        for (size_t i = 0; i < ng; i++)
            listed |= au->cnt[g[i]] != 0;
        const omop *x = &au->v[g[0]];
        if (!listed || memcmp(x->target, au->owner, 32) == 0)
            continue;
        mrow *m = &out->v[out->n++];
        memcpy(m->org, x->target, 32);
        m->active = state_of(au, &fin, au->t_idx[k], NULL, NULL, &m->role);
        if (!m->active)
            m->role = inactive_role(au, g, ng);
    }
    return ENT_OK;
}

typedef struct mscan {
    const uint8_t *obj;
    const uint8_t *owner;
    const mrows *keep;
    uint8_t (*gone)[32];
    size_t ngone;
} mscan;

static int members_scan(void *data, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    mscan *c = data;
    const uint8_t *org = (const uint8_t *)key + 32;
    if (klen != 64)
        return ENT_ECORRUPT;
    if (memcmp(org, c->owner, 32) == 0)
        return 0;
    for (size_t i = 0; i < c->keep->n; i++)
        if (memcmp(c->keep->v[i].org, org, 32) == 0)
            return 0;
    void *nv = realloc(c->gone, (c->ngone + 1) * 32);
    if (nv == NULL)
        return ENT_ENOMEM;
    c->gone = nv;
    memcpy(c->gone[c->ngone++], org, 32);
    return 0;
}

/* Whether org authored any op of obj. */
static int has_ops(ent_txn *txn, const uint8_t obj[32], const uint8_t org[32],
                   bool *yes) {
    uint8_t pre[64];
    memcpy(pre, obj, 32);
    memcpy(pre + 32, org, 32);
    *yes = false;
    return ent_txn_scan(txn, ENT_TBL_OPS, pre, 64, ent__obj_any_scan, yes);
}

int ent__obj_auth_store(ent_txn *txn, const uint8_t obj[32], oauth *au,
                        const uint8_t me[32], bool *me_active, bool *me_listed,
                        bool *restand) {
    uint8_t k[65];
    mrows rows = {0};
    mscan ms = {.obj = obj, .owner = au->owner, .keep = &rows};
    assign fin = {.cnt = au->cnt};
    int rc = ENT_OK;
    *restand = false;
    memcpy(k, obj, 32);
    k[32] = WR_MOP;
    /* flags of every op; a change of what counts re-judges its target */
    for (size_t i = 0; i < au->n && rc == ENT_OK; i++) {
        omop *m = &au->v[i];
        uint8_t f = au->cnt[i] ? MOP_COUNTS : 0;
        if (m->kind != ENT_OP_ADD_MEMBER && au->cnt[i]) {
            uint8_t role;
            bool usable = memcmp(m->order + 8, au->owner, 32) == 0 ||
                          state_of(au, &fin, m->a, NULL, NULL, &role);
            /* stale: a counting removal neither in its past nor itself */
            bool stale = false;
            for (size_t j = 0; j < au->n && !stale; j++)
                stale = j != i && au->v[j].kind == ENT_OP_REMOVE_MEMBER &&
                        au->cnt[j] && !before(&au->v[j], m);
            f |= (usable ? MOP_USABLE : 0) | (stale ? MOP_STALE : 0);
        }
        if ((f ^ m->flags) & MOP_COUNTS && m->t != 0) {
            bool yes;
            if ((rc = has_ops(txn, obj, m->target, &yes)) != ENT_OK)
                break;
            *restand |= yes;
        }
        if (f == m->flags)
            continue;
        m->flags = f;
        m->raw[MOP_FLAGS_AT] = f;
        memcpy(k + 33, m->id, 32);
        rc = ent_txn_put(txn, ENT_TBL_WRITES, k, sizeof(k), m->raw, m->rawlen,
                         0);
    }
    if (rc != ENT_OK || (rc = decided_members(au, &rows)) != ENT_OK)
        goto out;
    /* the members table: the owner, every listed org, nothing else */
    uint8_t mk[64], mv[2];
    memcpy(mk, obj, 32);
    if ((rc = ent_txn_scan(txn, ENT_TBL_MEMBERS, obj, 32, members_scan, &ms)) !=
        ENT_OK)
        goto out;
    for (size_t i = 0; i < ms.ngone && rc == ENT_OK; i++) {
        memcpy(mk + 32, ms.gone[i], 32);
        rc = ent_txn_del(txn, ENT_TBL_MEMBERS, mk, 64);
    }
    memcpy(mk + 32, au->owner, 32);
    mv[0] = ENT_ROLE_OWNER;
    mv[1] = 1;
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_MEMBERS, mk, 64, mv, 2, 0);
    for (size_t i = 0; i < rows.n && rc == ENT_OK; i++) {
        const uint8_t *old;
        size_t olen;
        memcpy(mk + 32, rows.v[i].org, 32);
        mv[0] = rows.v[i].role;
        mv[1] = rows.v[i].active ? 1 : 0;
        if (ent_txn_get(txn, ENT_TBL_MEMBERS, mk, 64, (const void **)&old,
                        &olen) == ENT_OK &&
            olen == 2 && memcmp(old, mv, 2) == 0)
            continue;
        rc = ent_txn_put(txn, ENT_TBL_MEMBERS, mk, 64, mv, 2, 0);
    }
    *me_listed = memcmp(me, au->owner, 32) == 0;
    *me_active = *me_listed;
    for (size_t i = 0; i < rows.n; i++)
        if (memcmp(rows.v[i].org, me, 32) == 0) {
            *me_listed = true;
            *me_active = rows.v[i].active;
        }
out:
    free(ms.gone);
    free(rows.v);
    return rc;
}

/* ------------------------------------------------------------------ judge */

void ent__obj_judge_init(judge *j, ent_txn *txn, const uint8_t obj[32],
                         const uint8_t owner[32], oauth *au) {
    memset(j, 0, sizeof(*j));
    j->txn = txn;
    j->obj = obj;
    j->owner = owner;
    j->au = au;
}

void ent__obj_judge_free(judge *j) {
    if (j->au_owned) {
        ent__obj_auth_free(j->au);
        free(j->au);
    }
    ent__pv_free(&j->front);
    ent__obj_forks_free(&j->forks);
    ent__obj_wf_free(j->wf);
    free(j->memo_id);
    free(j->memo_val);
    memset(j, 0, sizeof(*j));
}

int ent__obj_judge_op(judge *j, const uint8_t author[32], uint32_t a,
                      uint64_t seq, const pvec *pv, uint8_t kind,
                      bool *counts) {
    int rc;
    if (!j->have_forks) {
        if ((rc = ent__obj_forks_load(j->txn, j->obj, &j->forks)) != ENT_OK)
            return rc;
        j->have_forks = true;
    }
    if (ent__obj_forked(&j->forks, author, seq)) {
        *counts = false; /* C4: at or after its author's fork */
        return ENT_OK;
    }
    if (memcmp(author, j->owner, 32) == 0) {
        *counts = true;
        return ENT_OK;
    }
    if (j->au == NULL) {
        /* the fast path: a past with every membership op in it is judged
         * by the current state (the members table) */
        if (!j->have_front) {
            if ((rc = front_load(j->txn, j->obj, &j->front)) != ENT_OK)
                return rc;
            j->have_front = true;
        }
        if (ent__pv_covers(pv, &j->front)) {
            bool active = false;
            uint8_t role = 0;
            rc = ent__obj_member_get(j->txn, j->obj, author, &active, &role);
            if (rc != ENT_OK && rc != ENT_ENOENT)
                return rc;
            *counts = rc == ENT_OK && ent__obj_role_allows(active, role, kind);
            return ENT_OK;
        }
        oauth *au = calloc(1, sizeof(*au));
        if (au == NULL)
            return ENT_ENOMEM;
        if ((rc = ent__obj_auth_load(j->txn, j->obj, j->owner, au)) != ENT_OK) {
            free(au);
            return rc;
        }
        j->au = au;
        j->au_owned = true;
    }
    *counts = ent__obj_auth_counts(j->au, author, a, seq, pv, kind);
    return ENT_OK;
}

int ent__obj_judge_party(judge *j, const uint8_t author[32], uint32_t a,
                         const pvec *pv, bool *active, uint8_t *role) {
    int rc;
    *active = false;
    *role = ENT_ROLE_VIEWER;
    if (memcmp(author, j->owner, 32) == 0) {
        *active = true;
        *role = ENT_ROLE_OWNER;
        return ENT_OK;
    }
    if (j->au == NULL) {
        if (!j->have_front) {
            if ((rc = front_load(j->txn, j->obj, &j->front)) != ENT_OK)
                return rc;
            j->have_front = true;
        }
        if (ent__pv_covers(pv, &j->front)) {
            rc = ent__obj_member_get(j->txn, j->obj, author, active, role);
            return rc == ENT_ENOENT ? ENT_OK : rc;
        }
        oauth *au = calloc(1, sizeof(*au));
        if (au == NULL)
            return ENT_ENOMEM;
        if ((rc = ent__obj_auth_load(j->txn, j->obj, j->owner, au)) != ENT_OK) {
            free(au);
            return rc;
        }
        j->au = au;
        j->au_owned = true;
    }
    assign fin = {.cnt = j->au->cnt};
    *active = state_of(j->au, &fin, a, pv, NULL, role);
    return ENT_OK;
}

static size_t memo_slot(const judge *j, const uint8_t id[32]) {
    uint64_t h;
    memcpy(&h, id, sizeof(h));
    return (size_t)(h & (j->memo_cap - 1));
}

static int memo_grow(judge *j) {
    size_t nc = j->memo_cap ? j->memo_cap * 2 : 256;
    uint8_t(*ids)[32] = calloc(nc, 32);
    uint8_t *vals = calloc(nc, 1);
    if (ids == NULL || vals == NULL) {
        free(ids);
        free(vals);
        return ENT_ENOMEM;
    }
    uint8_t(*oids)[32] = j->memo_id;
    uint8_t *ovals = j->memo_val;
    size_t ocap = j->memo_cap;
    j->memo_id = ids;
    j->memo_val = vals;
    j->memo_cap = nc;
    for (size_t i = 0; i < ocap; i++) {
        if (ovals[i] == 0)
            continue;
        size_t s = memo_slot(j, oids[i]);
        while (j->memo_val[s] != 0)
            s = (s + 1) & (nc - 1);
        memcpy(j->memo_id[s], oids[i], 32);
        j->memo_val[s] = ovals[i];
    }
    free(oids);
    free(ovals);
    return ENT_OK;
}

int ent__obj_judge_stored(judge *j, const uint8_t order[OBJ_ORDER_LEN],
                          uint8_t kind, bool *counts) {
    const uint8_t *author = order + 8, *opid = order + 40;
    size_t s = 0;
    int rc;
    if (j->memo_cap > 0) {
        s = memo_slot(j, opid);
        while (j->memo_val[s] != 0) {
            if (memcmp(j->memo_id[s], opid, 32) == 0) {
                *counts = j->memo_val[s] == 2;
                return ENT_OK;
            }
            s = (s + 1) & (j->memo_cap - 1);
        }
    }
    {
        uint32_t a;
        pvinfo pi;
        const uint8_t *okey;
        size_t klen;
        if ((rc = ent__obj_author_find(j->txn, j->obj, author, &a)) != ENT_OK)
            return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
        if ((rc = ent_op_index_get(j->txn, opid, (const void **)&okey,
                                   &klen)) != ENT_OK)
            return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
        if (klen < 72)
            return ENT_ECORRUPT;
        uint64_t seq = ent_be64_get(okey + 64);
        if ((rc = ent__obj_pv_load(j->txn, j->obj, opid, &pi)) != ENT_OK)
            return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
        rc = ent__obj_judge_op(j, author, a, seq, &pi.pv, kind, counts);
        ent__pvinfo_free(&pi);
        if (rc != ENT_OK)
            return rc;
    }
    if (2 * (j->memo_n + 1) > j->memo_cap && (rc = memo_grow(j)) != ENT_OK)
        return rc;
    s = memo_slot(j, opid);
    while (j->memo_val[s] != 0)
        s = (s + 1) & (j->memo_cap - 1);
    memcpy(j->memo_id[s], opid, 32);
    j->memo_val[s] = *counts ? 2 : 1;
    j->memo_n++;
    return ENT_OK;
}
