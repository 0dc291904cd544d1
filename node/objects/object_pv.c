/*
 * object_pv.c - past vectors (spec/membership.md "Notation", spec/storage.md
 * "Object engine tables"). The PV of an op holds, for every author of the
 * object, the highest seq of that author's ops in the op's causal past,
 * the op itself included: PV(o) = elementwise max of its parents' PVs,
 * then PV(o)[author(o)] = seq(o). With the chain rule S2 (an author's ops
 * form one chain), "op m of author M with seq s is in the past of o" is
 * exactly PV(o)[M] >= s, which is what every authority rule asks.
 *
 * PVs are derived locally and never sent. Authors are numbered per object
 * (WR_AUTHOR: org -> index, in order of first appearance on this node), so
 * a PV is a short list of (index, seq) pairs in varints. Each op has one
 * PV row, keyed by author || seq || op id: one author's chain is appended
 * in key order, and two ops with one (author, seq) - an equivocation -
 * would each have their own row.
 */
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/object_int.h"
#include "storage/op_index.h"

/* --------------------------------------------------------------- vectors */

void ent__pv_free(pvec *p) {
    free(p->v);
    memset(p, 0, sizeof(*p));
}

/* The position of a in p, or where it would be inserted. */
static size_t pv_pos(const pvec *p, uint32_t a) {
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->v[mid].a < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint64_t ent__pv_at(const pvec *p, uint32_t a) {
    size_t i = pv_pos(p, a);
    return i < p->n && p->v[i].a == a ? p->v[i].s : 0;
}

static int pv_reserve(pvec *p, size_t n) {
    if (n <= p->cap)
        return ENT_OK;
    size_t nc = p->cap ? p->cap : 4;
    while (nc < n)
        nc *= 2;
    pv_ent *nv = realloc(p->v, nc * sizeof(*nv));
    if (nv == NULL)
        return ENT_ENOMEM;
    p->v = nv;
    p->cap = nc;
    return ENT_OK;
}

int ent__pv_raise(pvec *p, uint32_t a, uint64_t s) {
    if (s == 0)
        return ENT_OK;
    size_t i = pv_pos(p, a);
    if (i < p->n && p->v[i].a == a) {
        if (p->v[i].s < s)
            p->v[i].s = s;
        return ENT_OK;
    }
    int rc = pv_reserve(p, p->n + 1);
    if (rc != ENT_OK)
        return rc;
    memmove(&p->v[i + 1], &p->v[i], (p->n - i) * sizeof(*p->v));
    p->v[i].a = a;
    p->v[i].s = s;
    p->n++;
    return ENT_OK;
}

int ent__pv_merge(pvec *dst, const pvec *src) {
    if (src->n == 0)
        return ENT_OK;
    if (dst->n == 0) {
        int rc = pv_reserve(dst, src->n);
        if (rc == ENT_OK) {
            memcpy(dst->v, src->v, src->n * sizeof(*src->v));
            dst->n = src->n;
        }
        return rc;
    }
    /* both sorted: merge into a fresh array */
    pvec out = {0};
    int rc = pv_reserve(&out, dst->n + src->n);
    if (rc != ENT_OK)
        return rc;
    size_t i = 0, j = 0;
    while (i < dst->n || j < src->n) {
        if (j == src->n || (i < dst->n && dst->v[i].a < src->v[j].a)) {
            out.v[out.n++] = dst->v[i++];
        } else if (i == dst->n || src->v[j].a < dst->v[i].a) {
            out.v[out.n++] = src->v[j++];
        } else {
            pv_ent e = dst->v[i++];
            if (src->v[j].s > e.s)
                e.s = src->v[j].s;
            j++;
            out.v[out.n++] = e;
        }
    }
    ent__pv_free(dst);
    *dst = out;
    return ENT_OK;
}

bool ent__pv_covers(const pvec *p, const pvec *f) {
    size_t i = 0;
    for (size_t j = 0; j < f->n; j++) {
        while (i < p->n && p->v[i].a < f->v[j].a)
            i++;
        if (i == p->n || p->v[i].a != f->v[j].a || p->v[i].s < f->v[j].s)
            return false;
    }
    return true;
}

int ent__pv_encode(const pvec *p, uint8_t **out, size_t *len) {
    uint8_t *b = malloc(10 + p->n * 15);
    size_t n = 0;
    uint32_t prev = 0;
    if (b == NULL)
        return ENT_ENOMEM;
    n += ent__uvar_put(b + n, p->n);
    for (size_t i = 0; i < p->n; i++) {
        n += ent__uvar_put(b + n, p->v[i].a - prev);
        n += ent__uvar_put(b + n, p->v[i].s);
        prev = p->v[i].a;
    }
    *out = b;
    *len = n;
    return ENT_OK;
}

int ent__pv_decode(const uint8_t **cur, const uint8_t *end, pvec *p) {
    uint64_t n, d, s;
    uint64_t a = 0;
    int rc = ent__uvar_get(cur, end, &n);
    if (rc != ENT_OK)
        return rc;
    if (n > (uint64_t)(end - *cur) / 2)
        return ENT_ECORRUPT; /* every entry takes two bytes at least */
    if ((rc = pv_reserve(p, p->n + (size_t)n)) != ENT_OK)
        return rc;
    for (uint64_t i = 0; i < n; i++) {
        if ((rc = ent__uvar_get(cur, end, &d)) != ENT_OK ||
            (rc = ent__uvar_get(cur, end, &s)) != ENT_OK)
            return rc;
        if ((i > 0 && d == 0) || s == 0 || d > UINT32_MAX - a)
            return ENT_ECORRUPT;
        a += d;
        p->v[p->n].a = (uint32_t)a;
        p->v[p->n++].s = s;
    }
    return ENT_OK;
}

void ent__pvinfo_free(pvinfo *i) {
    ent__pv_free(&i->pv);
}

/* ---------------------------------------------------------- author index */

int ent__obj_author_find(ent_txn *txn, const uint8_t obj[32],
                         const uint8_t org[32], uint32_t *idx) {
    uint8_t k[65];
    const void *v;
    size_t vlen;
    memcpy(k, obj, 32);
    k[32] = WR_AUTHOR;
    memcpy(k + 33, org, 32);
    int rc = ent_txn_get(txn, ENT_TBL_WRITES, k, sizeof(k), &v, &vlen);
    if (rc != ENT_OK)
        return rc;
    if (vlen != 4)
        return ENT_ECORRUPT;
    *idx = ent__rd32(v);
    return *idx == 0 ? ENT_ECORRUPT : ENT_OK;
}

int ent__obj_author_idx(ent_txn *txn, const uint8_t obj[32],
                        const uint8_t org[32], bool create, uint32_t *idx) {
    uint8_t k[65], nk[33], nv[4];
    const void *v;
    size_t vlen;
    int rc = ent__obj_author_find(txn, obj, org, idx);
    if (rc != ENT_ENOENT)
        return rc;
    memcpy(nk, obj, 32);
    nk[32] = WR_ANEXT;
    uint32_t next = 1;
    if ((rc = ent_txn_get(txn, ENT_TBL_WRITES, nk, sizeof(nk), &v, &vlen)) ==
        ENT_OK) {
        if (vlen != 4 || ent__rd32(v) == 0)
            return ENT_ECORRUPT;
        next = ent__rd32(v);
    } else if (rc != ENT_ENOENT) {
        return rc;
    }
    *idx = next;
    if (!create)
        return ENT_OK;
    if (next == UINT32_MAX)
        return ENT_ELIMIT;
    memcpy(k, obj, 32);
    k[32] = WR_AUTHOR;
    memcpy(k + 33, org, 32);
    ent__be32(nv, next);
    if ((rc = ent_txn_put(txn, ENT_TBL_WRITES, k, sizeof(k), nv, 4, 0)) !=
        ENT_OK)
        return rc;
    ent__be32(nv, next + 1);
    return ent_txn_put(txn, ENT_TBL_WRITES, nk, sizeof(nk), nv, 4, 0);
}

/* ---------------------------------------------------------------- PV rows */

#define PV_KEY_LEN (33 + 32 + 8 + 32)

static void pv_key(uint8_t k[PV_KEY_LEN], const uint8_t obj[32],
                   const uint8_t author[32], uint64_t seq,
                   const uint8_t opid[32]) {
    memcpy(k, obj, 32);
    k[32] = WR_PV;
    memcpy(k + 33, author, 32);
    ent_be64_put(k + 65, seq);
    memcpy(k + 73, opid, 32);
}

/* Row value: hlc (8) || uvarint maxep || PV encoding. */
static int pv_row_decode(const uint8_t *v, size_t vlen, pvinfo *out) {
    const uint8_t *cur = v + 8, *end = v + vlen;
    if (vlen < 10)
        return ENT_ECORRUPT;
    out->hlc = ent_be64_get(v);
    int rc = ent__uvar_get(&cur, end, &out->maxep);
    if (rc == ENT_OK)
        rc = ent__pv_decode(&cur, end, &out->pv);
    if (rc == ENT_OK && cur != end)
        rc = ENT_ECORRUPT;
    return rc;
}

int ent__obj_pv_load(ent_txn *txn, const uint8_t obj[32],
                     const uint8_t opid[32], pvinfo *out) {
    const uint8_t *okey, *v;
    size_t klen, vlen;
    uint8_t k[PV_KEY_LEN];
    memset(out, 0, sizeof(*out));
    int rc = ent_op_index_get(txn, opid, (const void **)&okey, &klen);
    if (rc != ENT_OK)
        return rc;
    if (klen < 72 || memcmp(okey, obj, 32) != 0)
        return ENT_ECORRUPT;
    pv_key(k, obj, okey + 32, ent_be64_get(okey + 64), opid);
    if ((rc = ent_txn_get(txn, ENT_TBL_WRITES, k, sizeof(k), (const void **)&v,
                          &vlen)) != ENT_OK)
        return rc;
    rc = pv_row_decode(v, vlen, out);
    if (rc != ENT_OK)
        ent__pvinfo_free(out);
    return rc;
}

int ent__obj_pv_derive(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                       pvinfo *out) {
    int rc;
    memset(out, 0, sizeof(*out));
    out->hlc = op->h.hlc;
    if ((rc = ent__obj_author_idx(txn, obj, op->h.author, false, &out->a)) !=
        ENT_OK)
        return rc;
    for (size_t i = 0; i < op->h.nparents; i++) {
        pvinfo p;
        if ((rc = ent__obj_pv_load(txn, obj, op->h.parents[i], &p)) != ENT_OK)
            goto out;
        uint64_t mine = ent__pv_at(&p.pv, out->a);
        if (mine > out->prev_seq)
            out->prev_seq = mine;
        if (p.hlc > out->top_hlc)
            out->top_hlc = p.hlc;
        if (p.maxep > out->past_ep)
            out->past_ep = p.maxep;
        rc = ent__pv_merge(&out->pv, &p.pv);
        ent__pvinfo_free(&p);
        if (rc != ENT_OK)
            goto out;
    }
    out->maxep = out->past_ep > op->h.epoch ? out->past_ep : op->h.epoch;
    rc = ent__pv_raise(&out->pv, out->a, op->h.seq);
out:
    if (rc != ENT_OK)
        ent__pvinfo_free(out);
    return rc;
}

int ent__obj_pv_put(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                    const pvinfo *in) {
    uint8_t k[PV_KEY_LEN], *enc = NULL, *val = NULL;
    size_t elen;
    int rc = ent__pv_encode(&in->pv, &enc, &elen);
    if (rc != ENT_OK)
        return rc;
    if ((val = malloc(8 + 10 + elen)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    ent_be64_put(val, in->hlc);
    size_t n = 8 + ent__uvar_put(val + 8, in->maxep);
    memcpy(val + n, enc, elen);
    n += elen;
    pv_key(k, obj, op->h.author, op->h.seq, op->id);
    rc = ent_txn_put(txn, ENT_TBL_WRITES, k, sizeof(k), val, n, 0);
out:
    free(enc);
    free(val);
    return rc;
}
