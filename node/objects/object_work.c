/*
 * object_work.c - the workflow rules in the object engine
 * (spec/workflows.md): the rows of rules and approval ops, which rules are
 * in force for an op (the owner's latest rules in its causal past), and the
 * facts node/work/rules.c judges: the stage an op moves from (the winning
 * stage of its past), the counting approvals and rejections in its past,
 * and the standing of each author in its own past. Every decision is a
 * function of the set of applied ops, never of arrival order or clocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/object_int.h"
#include "node/objects/template.h"
#include "node/objects/value.h"
#include "node/work/rules.h"

/* One version of the rules: from the owner's op of seq on. */
typedef struct wf_ver {
    uint64_t seq;
    ent_wf_rules *r;
} wf_ver;

/* One approve/reject op of the object. */
typedef struct wf_dec {
    uint8_t order[OBJ_ORDER_LEN];
    bool reject;
    char step[ENT_OP_NAME_MAX + 1];
    uint32_t a;
    uint64_t seq;
    pvec pv;
    bool counts;
    ent_wf_party by;
    uint8_t org[32];
    const char *comment; /* valid during the transaction; not terminated */
    size_t clen;
} wf_dec;

struct wfctx {
    bool loaded;
    wf_ver *v; /* ascending seq */
    size_t n;
    bool have_decs;
    wf_dec *d; /* by order key */
    size_t nd;
    bool have_owner_a;
    uint32_t owner_a; /* 0: the owner wrote nothing indexed (impossible once
                         the genesis is in) */
};

void ent__obj_wf_free(struct wfctx *w) {
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i].r);
    free(w->v);
    for (size_t i = 0; i < w->nd; i++)
        ent__pv_free(&w->d[i].pv);
    free(w->d);
    free(w);
}

/* ------------------------------------------------------------------ load */

static int ver_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    struct wfctx *w = data;
    if (klen != 33 + 8)
        return ENT_ECORRUPT;
    if (ent__obj_grow((void **)&w->v, w->n, sizeof(*w->v)) != ENT_OK)
        return ENT_ENOMEM;
    ent_wf_rules *r = malloc(sizeof(*r));
    if (r == NULL)
        return ENT_ENOMEM;
    if (ent_wf_decode(r, val, vlen) != ENT_OK) {
        free(r);
        return ENT_ECORRUPT; /* checked at receipt */
    }
    w->v[w->n].seq = ent_be64_get((const uint8_t *)key + 33);
    w->v[w->n].r = r;
    w->n++;
    return 0;
}

static int wf_get(judge *j, struct wfctx **out) {
    int rc;
    if (j->wf == NULL && (j->wf = calloc(1, sizeof(*j->wf))) == NULL)
        return ENT_ENOMEM;
    struct wfctx *w = j->wf;
    if (!w->loaded) {
        uint8_t pre[33];
        memcpy(pre, j->obj, 32);
        pre[32] = WR_RULES;
        if ((rc = ent_txn_scan(j->txn, ENT_TBL_WRITES, pre, 33, ver_scan, w)) !=
            ENT_OK)
            return rc;
        w->loaded = true;
    }
    if (!w->have_owner_a && w->n > 0) {
        rc = ent__obj_author_find(j->txn, j->obj, j->owner, &w->owner_a);
        if (rc != ENT_OK && rc != ENT_ENOENT)
            return rc;
        w->have_owner_a = true;
    }
    if (!j->have_forks && w->n > 0) {
        if ((rc = ent__obj_forks_load(j->txn, j->obj, &j->forks)) != ENT_OK)
            return rc;
        j->have_forks = true;
    }
    *out = w;
    return ENT_OK;
}

/* The rules in force for an op of past vector pv: the owner's rules op of
 * the highest seq in its past that is below the owner's fork (C4), or
 * none. */
static const ent_wf_rules *rules_for(const judge *j, const struct wfctx *w,
                                     const pvec *pv) {
    if (w->n == 0 || w->owner_a == 0)
        return NULL;
    uint64_t s = ent__pv_at(pv, w->owner_a);
    const ent_wf_rules *r = NULL;
    for (size_t i = 0; i < w->n && w->v[i].seq <= s; i++)
        if (!ent__obj_forked(&j->forks, j->owner, w->v[i].seq))
            r = w->v[i].r;
    return r;
}

/* The standing of author in the past pv, as node/work wants it. */
static int party_at(judge *j, const uint8_t author[32], uint32_t a,
                    const pvec *pv, ent_wf_party *p) {
    p->org = author;
    p->owner = memcmp(author, j->owner, 32) == 0;
    return ent__obj_judge_party(j, author, a, pv, &p->active, &p->role);
}

/* The op at order: its author index, seq and past vector. */
static int op_at(judge *j, const uint8_t order[OBJ_ORDER_LEN], uint32_t *a,
                 uint64_t *seq, pvinfo *pi) {
    int rc = ent__obj_pv_load(j->txn, j->obj, order + 40, pi);
    if (rc == ENT_OK)
        rc = ent__obj_author_find(j->txn, j->obj, order + 8, &pi->a);
    if (rc != ENT_OK)
        return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
    *a = pi->a;
    *seq = ent__pv_at(&pi->pv, pi->a);
    return ENT_OK;
}

static int dec_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    struct wfctx *w = data;
    const uint8_t *v = val;
    if (klen != 33 + OBJ_ORDER_LEN || vlen < 2 || v[1] == 0 ||
        v[1] > ENT_OP_NAME_MAX || (size_t)v[1] + 2 > vlen)
        return ENT_ECORRUPT;
    if (ent__obj_grow((void **)&w->d, w->nd, sizeof(*w->d)) != ENT_OK)
        return ENT_ENOMEM;
    wf_dec *d = &w->d[w->nd++];
    memset(d, 0, sizeof(*d));
    memcpy(d->order, (const uint8_t *)key + 33, OBJ_ORDER_LEN);
    d->reject = v[0] != 0;
    memcpy(d->step, v + 2, v[1]);
    d->step[v[1]] = '\0';
    d->comment = (const char *)v + 2 + v[1];
    d->clen = vlen - 2 - v[1];
    return 0;
}

/* Every approve/reject op of the object, each judged in its own past:
 * whether it counts (C1, C3, C4) and its author's standing there. */
static int decs_get(judge *j, struct wfctx *w) {
    uint8_t pre[33];
    int rc;
    if (w->have_decs)
        return ENT_OK;
    memcpy(pre, j->obj, 32);
    pre[32] = WR_APPR;
    if ((rc = ent_txn_scan(j->txn, ENT_TBL_WRITES, pre, 33, dec_scan, w)) !=
        ENT_OK)
        return rc;
    for (size_t i = 0; i < w->nd; i++) {
        wf_dec *d = &w->d[i];
        pvinfo pi;
        memset(&pi, 0, sizeof(pi));
        if ((rc = op_at(j, d->order, &d->a, &d->seq, &pi)) != ENT_OK)
            return rc;
        d->pv = pi.pv; /* taken over */
        memcpy(d->org, d->order + 8, 32);
        if ((rc = ent__obj_judge_stored(j, d->order, ENT_OP_APPROVE,
                                        &d->counts)) != ENT_OK ||
            (rc = party_at(j, d->org, d->a, &d->pv, &d->by)) != ENT_OK)
            return rc;
        d->by.org = d->org;
    }
    w->have_decs = true;
    return ENT_OK;
}

/* The counting decisions in the past pv, for node/work. */
typedef struct dec_view {
    const struct wfctx *w;
    size_t *idx; /* into w->d */
    ent_wf_decision *ds;
    size_t n;
} dec_view;

static bool dec_before(void *data, size_t i, size_t k) {
    const dec_view *dv = data;
    const wf_dec *x = &dv->w->d[dv->idx[i]], *y = &dv->w->d[dv->idx[k]];
    return x != y && ent__pv_at(&y->pv, x->a) >= x->seq;
}

static int view_of(const struct wfctx *w, const pvec *pv, dec_view *dv) {
    dv->w = w;
    dv->n = 0;
    dv->idx = malloc((w->nd ? w->nd : 1) * sizeof(*dv->idx));
    dv->ds = malloc((w->nd ? w->nd : 1) * sizeof(*dv->ds));
    if (dv->idx == NULL || dv->ds == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < w->nd; i++) {
        const wf_dec *d = &w->d[i];
        if (!d->counts || ent__pv_at(pv, d->a) < d->seq)
            continue;
        dv->idx[dv->n] = i;
        dv->ds[dv->n].step = d->step;
        dv->ds[dv->n].reject = d->reject;
        dv->ds[dv->n].by = d->by;
        dv->n++;
    }
    return ENT_OK;
}

static void view_free(dec_view *dv) {
    free(dv->idx);
    free(dv->ds);
}

/* ---------------------------------------------------------------- stage */

/* A stage write as the pass sees it. */
typedef struct swr {
    const uint8_t *order;
    uint32_t a;
    uint64_t seq;
    pvinfo pi;
    char stage[ENT_OP_NAME_MAX + 1]; /* "" when not an enum/text value */
    bool acc;
} swr;

static void stage_text(const uint8_t *val, size_t vlen, char *out) {
    ent_value v;
    memset(&v, 0, sizeof(v));
    out[0] = '\0';
    if (ent__obj_value_decode(val, vlen, &v) != ENT_OK)
        return;
    if ((v.type == ENT_VT_ENUM || v.type == ENT_VT_TEXT) &&
        v.u.text.len <= ENT_OP_NAME_MAX) {
        memcpy(out, v.u.text.s, v.u.text.len);
        out[v.u.text.len] = '\0';
    }
    ent_value_clear(&v);
}

/* Judges one stage write (author, index a, pv, to) with the accepted
 * earlier writes ws[0..n) (those of lower order key). */
static int judge_move(judge *j, struct wfctx *w, const swr *ws, size_t n,
                      const uint8_t author[32], uint32_t a, const pvec *pv,
                      const char *to, bool genesis, bool *ok, char *why,
                      size_t whylen) {
    const ent_wf_rules *r = rules_for(j, w, pv);
    ent_wf_party actor;
    dec_view dv = {0};
    int rc;
    *ok = true;
    if (r == NULL || genesis)
        return ENT_OK; /* no rules: any member moves the stage; the
                          creator's initial stage is free */
    const char *from = NULL;
    for (size_t k = n; k-- > 0 && from == NULL;)
        if (ws[k].acc && ent__pv_at(pv, ws[k].a) >= ws[k].seq &&
            ws[k].order != NULL)
            from = ws[k].stage;
    if ((rc = party_at(j, author, a, pv, &actor)) != ENT_OK ||
        (rc = decs_get(j, w)) != ENT_OK || (rc = view_of(w, pv, &dv)) != ENT_OK)
        goto out;
    *ok = ent_wf_transition_ok(r, from, to, &actor, dv.ds, dv.n, dec_before,
                               &dv, why, whylen);
out:
    view_free(&dv);
    return rc;
}

/* The pass over every kept stage write, in order key order: a write is
 * accepted when it passed the base rules (ok) and its move is allowed from
 * the stage its past shows (the greatest accepted write in its past). */
static int stage_pass(judge *j, struct wfctx *w, const obj_fwr *v, size_t n,
                      bool *ok, swr **out) {
    swr *ws = calloc(n ? n : 1, sizeof(*ws));
    int rc = ENT_OK;
    if (ws == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < n && rc == ENT_OK; i++) {
        ws[i].order = v[i].order;
        if ((rc = op_at(j, v[i].order, &ws[i].a, &ws[i].seq, &ws[i].pi)) !=
            ENT_OK)
            break;
        stage_text(v[i].val, v[i].vlen, ws[i].stage);
        if (!ok[i])
            continue;
        bool genesis = memcmp(v[i].order + 40, j->obj, 32) == 0;
        rc = judge_move(j, w, ws, i, v[i].order + 8, ws[i].a, &ws[i].pi.pv,
                        ws[i].stage, genesis, &ws[i].acc, NULL, 0);
        ok[i] = ws[i].acc;
    }
    if (rc != ENT_OK || out == NULL) {
        for (size_t i = 0; i < n; i++)
            ent__pvinfo_free(&ws[i].pi);
        free(ws);
        ws = NULL;
    }
    if (out != NULL)
        *out = ws;
    return rc;
}

static void swr_free(swr *ws, size_t n) {
    for (size_t i = 0; ws != NULL && i < n; i++)
        ent__pvinfo_free(&ws[i].pi);
    free(ws);
}

/* --------------------------------------------------------------- fields */

static bool field_owned(const struct wfctx *w, const char *name) {
    for (size_t i = 0; i < w->n; i++)
        if (ent_wf_field_owner(w->v[i].r, name) != NULL)
            return true;
    return false;
}

int ent__obj_wf_governs(judge *j, const char *name, bool *gov) {
    struct wfctx *w;
    int rc = wf_get(j, &w);
    *gov = false;
    if (rc == ENT_OK && w->n > 0)
        *gov = strcmp(name, "stage") == 0 || field_owned(w, name);
    return rc;
}

/* An owned field's write by author in the past pv (genesis: free). */
static int judge_write(judge *j, struct wfctx *w, const char *name,
                       const uint8_t author[32], uint32_t a, const pvec *pv,
                       bool genesis, bool *ok, char *why, size_t whylen) {
    const ent_wf_rules *r = rules_for(j, w, pv);
    const ent_wf_who *who;
    ent_wf_party p;
    *ok = true;
    if (r == NULL || genesis || (who = ent_wf_field_owner(r, name)) == NULL)
        return ENT_OK;
    int rc = party_at(j, author, a, pv, &p);
    if (rc != ENT_OK)
        return rc;
    *ok = ent_wf_who_matches(who, &p);
    if (!*ok && why != NULL && whylen > 0) {
        char wb[80];
        ent_wf_who_format(who, wb, sizeof(wb));
        snprintf(why, whylen, "field %s is written by %s only (object rules)",
                 name, wb);
    }
    return ENT_OK;
}

int ent__obj_wf_filter(judge *j, const char *name, const obj_fwr *v, size_t n,
                       bool *ok) {
    struct wfctx *w;
    int rc = wf_get(j, &w);
    if (rc != ENT_OK || w->n == 0)
        return rc;
    if (field_owned(w, name)) {
        for (size_t i = 0; i < n && rc == ENT_OK; i++) {
            uint32_t a;
            uint64_t seq;
            pvinfo pi;
            if (!ok[i])
                continue;
            memset(&pi, 0, sizeof(pi));
            if ((rc = op_at(j, v[i].order, &a, &seq, &pi)) == ENT_OK)
                rc = judge_write(j, w, name, v[i].order + 8, a, &pi.pv,
                                 memcmp(v[i].order + 40, j->obj, 32) == 0,
                                 &ok[i], NULL, 0);
            ent__pvinfo_free(&pi);
        }
    }
    if (rc == ENT_OK && strcmp(name, "stage") == 0)
        rc = stage_pass(j, w, v, n, ok, NULL);
    return rc;
}

/* ---------------------------------------------------------------- check */

typedef struct sw_list {
    obj_fwr *v;
    size_t n;
} sw_list;

static int sw_scan(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    sw_list *l = data;
    if (klen != 39 + OBJ_ORDER_LEN || vlen < 1)
        return ENT_ECORRUPT;
    if (ent__obj_grow((void **)&l->v, l->n, sizeof(*l->v)) != ENT_OK)
        return ENT_ENOMEM;
    obj_fwr *f = &l->v[l->n++];
    memcpy(f->order, (const uint8_t *)key + klen - OBJ_ORDER_LEN,
           OBJ_ORDER_LEN);
    f->flags = ((const uint8_t *)val)[0];
    f->val = (const uint8_t *)val + 1;
    f->vlen = vlen - 1;
    return 0;
}

/* A new stage write to `to` (op, pi) judged against the kept ones. */
static int check_move(judge *j, struct wfctx *w, const ent_op *op,
                      const pvinfo *pi, const char *to, bool *ok, char *why,
                      size_t whylen) {
    uint8_t pre[40];
    sw_list l = {0};
    swr *ws = NULL;
    bool *base = NULL;
    int rc;
    memcpy(pre, j->obj, 32);
    pre[32] = WR_FIELD;
    memcpy(pre + 33, "stage", 6); /* with its NUL */
    if ((rc = ent_txn_scan(j->txn, ENT_TBL_WRITES, pre, 39, sw_scan, &l)) !=
        ENT_OK)
        goto out;
    if ((base = calloc(l.n ? l.n : 1, sizeof(*base))) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < l.n && rc == ENT_OK; i++) {
        bool by_owner = memcmp(l.v[i].order + 8, j->owner, 32) == 0;
        if ((l.v[i].flags & FW_OWNER_ONLY) && !by_owner)
            continue;
        rc = ent__obj_judge_stored(j, l.v[i].order, ENT_OP_SET, &base[i]);
    }
    if (rc != ENT_OK || (rc = stage_pass(j, w, l.v, l.n, base, &ws)) != ENT_OK)
        goto out;
    rc = judge_move(j, w, ws, l.n, op->h.author, pi->a, &pi->pv, to,
                    op->h.genesis, ok, why, whylen);
out:
    swr_free(ws, l.n);
    free(base);
    free(l.v);
    return rc;
}

int ent__obj_wf_check(ent_txn *txn, const uint8_t obj[32],
                      const uint8_t owner[32], const ent_op *op,
                      const ent_op_body *b, const pvinfo *pi, char *why,
                      size_t whylen) {
    judge j;
    struct wfctx *w;
    bool ok = true;
    int rc = ENT_OK;
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    if (b->ruleslen > 0) { /* create or rules: rules that decode */
        ent_wf_rules *r = malloc(sizeof(*r));
        if (r == NULL)
            return ENT_ENOMEM;
        rc = ent_wf_decode(r, b->rules, b->ruleslen);
        free(r);
        if (rc != ENT_OK) {
            if (why != NULL && whylen > 0)
                snprintf(why, whylen, "the rules do not decode (%s)",
                         ent_err_name(rc));
            return rc == ENT_ENOMEM ? rc : ENT_ECORRUPT;
        }
    }
    if (op->h.kind == ENT_OP_RULES && memcmp(op->h.author, owner, 32) != 0) {
        if (why != NULL && whylen > 0)
            snprintf(why, whylen, "only the object's owner changes its rules");
        return ENT_EDENIED;
    }
    if (op->h.genesis || op->h.kind == ENT_OP_RULES ||
        op->h.kind == ENT_OP_COMMENT || op->h.kind == ENT_OP_ADD_MEMBER ||
        op->h.kind == ENT_OP_REMOVE_MEMBER || op->h.kind == ENT_OP_ROTATE_KEY)
        return ENT_OK;
    ent__obj_judge_init(&j, txn, obj, owner, NULL);
    if ((rc = wf_get(&j, &w)) != ENT_OK)
        goto out;
    const ent_wf_rules *r = rules_for(&j, w, &pi->pv);
    if (op->h.kind == ENT_OP_APPROVE) {
        ok = r != NULL && ent_wf_step_known(r, b->step);
        if (!ok && why != NULL && whylen > 0)
            snprintf(why, whylen,
                     r == NULL ? "the object has no workflow rules%s"
                               : "the object's rules have no approval step "
                                 "\"%.64s\"",
                     r == NULL ? "" : b->step);
        goto out;
    }
    if (r == NULL)
        goto out;
    if (op->h.kind == ENT_OP_STAGE) {
        rc = check_move(&j, w, op, pi, b->text, &ok, why, whylen);
        goto out;
    }
    for (size_t i = 0; i < b->nfields && ok && rc == ENT_OK; i++) {
        const ent_op_field *f = &b->fields[i];
        rc = judge_write(&j, w, f->name, op->h.author, pi->a, &pi->pv, false,
                         &ok, why, whylen);
        if (rc == ENT_OK && ok && strcmp(f->name, "stage") == 0) {
            char st[ENT_OP_NAME_MAX + 1] = "";
            if ((f->v.type == ENT_VT_ENUM || f->v.type == ENT_VT_TEXT) &&
                f->v.u.text.len <= ENT_OP_NAME_MAX)
                memcpy(st, f->v.u.text.s, f->v.u.text.len + 1);
            rc = check_move(&j, w, op, pi, st, &ok, why, whylen);
        }
    }
out:
    ent__obj_judge_free(&j);
    if (rc == ENT_OK && !ok)
        rc = ENT_EDENIED;
    return rc;
}

/* --------------------------------------------------------------- commit */

int ent__obj_wf_commit(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                       const ent_op_body *b) {
    uint8_t k[33 + OBJ_ORDER_LEN];
    memcpy(k, obj, 32);
    if (b->ruleslen > 0) {
        k[32] = WR_RULES;
        ent_be64_put(k + 33, op->h.seq);
        return ent_txn_put(txn, ENT_TBL_WRITES, k, 41, b->rules, b->ruleslen,
                           0);
    }
    if (op->h.kind != ENT_OP_APPROVE)
        return ENT_OK;
    size_t sl = strlen(b->step);
    size_t vlen = 2 + sl + b->textlen;
    uint8_t *v = malloc(vlen);
    if (v == NULL)
        return ENT_ENOMEM;
    v[0] = b->decision;
    v[1] = (uint8_t)sl;
    memcpy(v + 2, b->step, sl);
    if (b->textlen)
        memcpy(v + 2 + sl, b->text, b->textlen);
    k[32] = WR_APPR;
    ent__obj_order(k + 33, op->h.hlc, op->h.author, op->id);
    int rc = ent_txn_put(txn, ENT_TBL_WRITES, k, sizeof(k), v, vlen, 0);
    free(v);
    return rc;
}

/* ------------------------------------------------------------ for people */

/* The rules in force now: the latest version below the owner's fork. */
static const ent_wf_rules *rules_now(const judge *j, const struct wfctx *w) {
    for (size_t i = w->n; i-- > 0;)
        if (!ent__obj_forked(&j->forks, j->owner, w->v[i].seq))
            return w->v[i].r;
    return NULL;
}

/* The current stage (the fields row) and its order key (zero: none). */
static void stage_now(ent_txn *txn, const uint8_t obj[32],
                      char out[ENT_OP_NAME_MAX + 1],
                      uint8_t order[OBJ_ORDER_LEN]) {
    uint8_t k[37];
    const uint8_t *v;
    size_t vlen;
    out[0] = '\0';
    memset(order, 0, OBJ_ORDER_LEN);
    memcpy(k, obj, 32);
    memcpy(k + 32, "stage", 5);
    if (ent_txn_get(txn, ENT_TBL_FIELDS, k, 37, (const void **)&v, &vlen) !=
            ENT_OK ||
        vlen < OBJ_ORDER_LEN + 1)
        return;
    memcpy(order, v, OBJ_ORDER_LEN);
    stage_text(v + OBJ_ORDER_LEN + 1, vlen - OBJ_ORDER_LEN - 1, out);
}

typedef int (*wait_fn)(void *data, const char *to, const ent_wf_step *s);

/* Calls fn for each step waiting on me (NULL: on anyone) now. */
static int waiting(judge *j, struct wfctx *w, const uint8_t *me, wait_fn fn,
                   void *data) {
    char cur[ENT_OP_NAME_MAX + 1];
    uint8_t corder[OBJ_ORDER_LEN];
    ent_wf_party p = {.org = me};
    int rc;
    const ent_wf_rules *r = rules_now(j, w);
    if (r == NULL)
        return ENT_OK;
    stage_now(j->txn, j->obj, cur, corder);
    if ((rc = decs_get(j, w)) != ENT_OK)
        return rc;
    if (me != NULL) {
        p.owner = memcmp(me, j->owner, 32) == 0;
        rc = ent__obj_member_get(j->txn, j->obj, me, &p.active, &p.role);
        if (rc != ENT_OK && rc != ENT_ENOENT)
            return rc;
        rc = ENT_OK;
        if (p.owner) {
            p.active = true;
            p.role = 0;
        }
    }
    for (size_t i = 0; i < r->ntrans && rc == ENT_OK; i++) {
        const ent_wf_trans *t = &r->trans[i];
        if (!t->any_from && strcmp(t->from, cur) != 0)
            continue;
        for (size_t k = 0; k < t->nsteps && rc == ENT_OK; k++) {
            const ent_wf_step *s = &t->steps[k];
            if (me != NULL && !ent_wf_who_matches(&s->by, &p))
                continue;
            bool given = false;
            for (size_t q = 0; q < w->nd && !given; q++)
                given = w->d[q].counts && strcmp(w->d[q].step, s->name) == 0 &&
                        (me == NULL || memcmp(w->d[q].org, me, 32) == 0) &&
                        memcmp(w->d[q].order, corder, OBJ_ORDER_LEN) > 0;
            if (!given)
                rc = fn(data, t->to, s);
        }
    }
    return rc;
}

typedef struct first_ctx {
    char *first;
    size_t n;
} first_ctx;

static int first_cb(void *data, const char *to, const ent_wf_step *s) {
    first_ctx *c = data;
    (void)to;
    if (c->n == 0 || strcmp(c->first, s->name) != 0) {
        if (c->n == 0)
            strcpy(c->first, s->name);
        c->n++;
    }
    return ENT_OK;
}

int ent__obj_wf_my_step(ent_txn *txn, const uint8_t obj[32],
                        const uint8_t owner[32], const uint8_t me[32],
                        char first[ENT_OP_NAME_MAX + 1], size_t *n) {
    judge j;
    struct wfctx *w;
    first_ctx c = {.first = first};
    ent__obj_judge_init(&j, txn, obj, owner, NULL);
    int rc = wf_get(&j, &w);
    if (rc == ENT_OK)
        rc = waiting(&j, w, me, first_cb, &c);
    ent__obj_judge_free(&j);
    *n = c.n;
    return rc;
}

static json_t *who_str(const ent_wf_who *w) {
    char b[80];
    ent_wf_who_format(w, b, sizeof(b));
    return json_string(b);
}

typedef struct json_ctx {
    ent_objects *eng;
    const uint8_t *obj;
    json_t *out;
    const char *type, *stage; /* inbox rows */
} json_ctx;

static int wait_json_cb(void *data, const char *to, const ent_wf_step *s) {
    json_ctx *c = data;
    json_t *o = json_pack("{s:s, s:o, s:s, s:b}", "step", s->name, "by",
                          who_str(&s->by), "to", to, "self", s->self_ok);
    if (o == NULL)
        return ENT_ENOMEM;
    if (c->type != NULL) {
        char hex[65];
        ent_hex_encode(hex, c->obj, 32);
        json_object_set_new(o, "object", json_string(hex));
        json_object_set_new(o, "type", json_string(c->type));
        json_object_set_new(o, "stage", json_string(c->stage));
    }
    return json_array_append_new(c->out, o) == 0 ? ENT_OK : ENT_ENOMEM;
}

static int rules_json_fn(ent_txn *txn, void *data) {
    json_ctx *c = data;
    obj_rec r;
    judge j;
    struct wfctx *w;
    char cur[ENT_OP_NAME_MAX + 1];
    uint8_t corder[OBJ_ORDER_LEN];
    json_t *o = NULL, *decs = NULL, *wait = NULL;
    int rc = ent__obj_rec_get(txn, c->obj, &r);
    if (rc != ENT_OK)
        return rc;
    ent__obj_judge_init(&j, txn, c->obj, r.owner, NULL);
    if ((rc = wf_get(&j, &w)) != ENT_OK || (rc = decs_get(&j, w)) != ENT_OK)
        goto out;
    rc = ENT_ENOMEM;
    const ent_wf_rules *rn = rules_now(&j, w);
    stage_now(txn, c->obj, cur, corder);
    if ((o = json_object()) == NULL || (decs = json_array()) == NULL ||
        (wait = json_array()) == NULL)
        goto out;
    json_object_set_new(o, "rules", rn ? ent_wf_to_json(rn) : json_null());
    json_object_set_new(o, "stage", cur[0] ? json_string(cur) : json_null());
    for (size_t i = 0; i < w->nd; i++) {
        const wf_dec *d = &w->d[i];
        char org[ENT_ORG_ID_LEN + 1];
        const char *name =
            c->eng->org_name ? c->eng->org_name(c->eng->org_name_data, d->org)
                             : NULL;
        ent_org_id_format(org, d->org);
        json_t *x = json_pack(
            "{s:s, s:o, s:s, s:s, s:s%, s:I, s:b}", "org", org, "name",
            name ? json_string(name) : json_null(), "step", d->step,
            "decision", d->reject ? "rejected" : "approved", "comment",
            d->comment, d->clen, "hlc", (json_int_t)ent_be64_get(d->order),
            "counts", d->counts);
        if (x == NULL || json_array_append_new(decs, x) != 0)
            goto out;
    }
    json_ctx wc = {.eng = c->eng, .obj = c->obj, .out = wait};
    if ((rc = waiting(&j, w, NULL, wait_json_cb, &wc)) != ENT_OK)
        goto out;
    json_object_set(o, "decisions", decs);
    json_object_set(o, "waiting", wait);
    c->out = o;
    o = NULL;
out:
    json_decref(o);
    json_decref(decs);
    json_decref(wait);
    ent__obj_judge_free(&j);
    return rc;
}

int ent_obj_rules_json(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                       json_t **out) {
    json_ctx c = {.eng = eng, .obj = id};
    *out = NULL;
    int rc = ent_store_read(eng->store, rules_json_fn, &c);
    if (rc == ENT_OK)
        *out = c.out;
    return rc;
}

typedef struct ids_ctx {
    uint8_t (*v)[32];
    size_t n;
} ids_ctx;

static int ids_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    ids_ctx *c = data;
    (void)val;
    (void)vlen;
    if (klen != 32)
        return 0;
    if (ent__obj_grow((void **)&c->v, c->n, sizeof(*c->v)) != ENT_OK)
        return ENT_ENOMEM;
    memcpy(c->v[c->n++], key, 32);
    return 0;
}

static int inbox_fn(ent_txn *txn, void *data) {
    json_ctx *c = data;
    ids_ctx ids = {0};
    int rc = ent_txn_scan(txn, ENT_TBL_OBJECTS, NULL, 0, ids_scan, &ids);
    for (size_t i = 0; i < ids.n && rc == ENT_OK; i++) {
        obj_rec r;
        judge j;
        struct wfctx *w;
        char cur[ENT_OP_NAME_MAX + 1];
        uint8_t corder[OBJ_ORDER_LEN];
        if ((rc = ent__obj_rec_get(txn, ids.v[i], &r)) != ENT_OK)
            break;
        if (r.status != OBJ_STATUS_ACTIVE)
            continue;
        ent__obj_judge_init(&j, txn, ids.v[i], r.owner, NULL);
        rc = wf_get(&j, &w);
        if (rc == ENT_OK && w->n > 0) {
            stage_now(txn, ids.v[i], cur, corder);
            json_ctx wc = {.eng = c->eng,
                           .obj = ids.v[i],
                           .out = c->out,
                           .type = r.type,
                           .stage = cur};
            rc = waiting(&j, w, c->eng->me, wait_json_cb, &wc);
        }
        ent__obj_judge_free(&j);
    }
    free(ids.v);
    return rc;
}

int ent_obj_inbox_json(ent_objects *eng, json_t **out) {
    json_ctx c = {.eng = eng};
    *out = NULL;
    if ((c.out = json_array()) == NULL)
        return ENT_ENOMEM;
    int rc = ent_store_read(eng->store, inbox_fn, &c);
    if (rc != ENT_OK) {
        json_decref(c.out);
        return rc;
    }
    *out = c.out;
    return ENT_OK;
}

/* The stages new rules of obj are written over: those of the rules in
 * force, else the org's template of the object's type. */
typedef struct stages_ctx {
    const uint8_t *obj;
    char (*v)[ENT_WF_NAME_MAX + 1];
    size_t n;
    bool noobj;
} stages_ctx;

static int stages_fn(ent_txn *txn, void *data) {
    stages_ctx *c = data;
    obj_rec r;
    judge j;
    struct wfctx *w;
    ent_template *tpl = NULL;
    int rc = ent__obj_rec_get(txn, c->obj, &r);
    if (rc != ENT_OK)
        return rc;
    ent__obj_judge_init(&j, txn, c->obj, r.owner, NULL);
    if ((rc = wf_get(&j, &w)) == ENT_OK) {
        const ent_wf_rules *rn = rules_now(&j, w);
        if (rn != NULL) {
            c->n = rn->nstages;
            memcpy(c->v, rn->stages, sizeof(rn->stages));
        } else if ((rc = ent_template_get(txn, r.type, &tpl)) == ENT_OK) {
            for (size_t i = 0; i < tpl->stages.n && i < ENT_WF_MAX_STAGES;
                 i++)
                snprintf(c->v[c->n++], ENT_WF_NAME_MAX + 1, "%s",
                         tpl->stages.v[i]);
        } else if (rc == ENT_ENOENT) {
            rc = ENT_OK; /* no template: no stages */
        }
    }
    ent_template_free(tpl);
    ent__obj_judge_free(&j);
    return rc;
}

int ent_obj_set_rules_json(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                           const json_t *workflow, ent_op **op_out, char *err,
                           size_t errlen) {
    stages_ctx c = {.obj = id};
    const char *names[ENT_WF_MAX_STAGES];
    ent_wf_rules *r = NULL;
    uint8_t *enc = NULL;
    size_t len;
    int rc;
    if (op_out != NULL)
        *op_out = NULL;
    if (eng == NULL || id == NULL || workflow == NULL)
        return ENT_EINVAL;
    if ((c.v = calloc(ENT_WF_MAX_STAGES, sizeof(*c.v))) == NULL ||
        (r = malloc(sizeof(*r))) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    if ((rc = ent_store_read(eng->store, stages_fn, &c)) != ENT_OK)
        goto out;
    for (size_t i = 0; i < c.n; i++)
        names[i] = c.v[i];
    if ((rc = ent_wf_from_json(r, workflow, names, c.n, err, errlen)) !=
        ENT_OK) {
        rc = ENT_EINVAL;
        goto out;
    }
    if ((rc = ent_wf_encode(r, &enc, &len)) != ENT_OK)
        goto out;
    rc = ent_obj_set_rules(eng, id, enc, len, op_out, err, errlen);
out:
    free(enc);
    free(r);
    free(c.v);
    return rc;
}
