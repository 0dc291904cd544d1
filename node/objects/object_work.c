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
#include <time.h>

#include "node/err.h"
#include "node/events/event.h"
#include "node/objects/object_int.h"
#include "node/objects/template.h"
#include "node/objects/value.h"
#include "node/work/rules.h"
#include "storage/op_index.h"

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

/* The decoded versions of one object's rules, shared by the judges of the
 * engine through its one-slot cache (eng->wf_cache, which holds a
 * reference): decoding them for every op would cost more than every other
 * workflow check (spec/workflows.md §6). Recognised by the stored rows'
 * bytes, so a new rules op, or an aborted transaction, is never missed. */
struct wf_set {
    uint8_t obj[32];
    wf_ver *v; /* ascending seq */
    size_t n;
    uint8_t **raw; /* copies of the rows' values */
    size_t *rawlen;
    int refs;
};

static void set_release(struct wf_set *s) {
    if (s == NULL || --s->refs > 0)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].r);
        free(s->raw[i]);
    }
    free(s->v);
    free(s->raw);
    free(s->rawlen);
    free(s);
}

void ent__obj_wf_cache_free(ent_objects *eng) {
    set_release(eng->wf_cache);
    eng->wf_cache = NULL;
}

struct wfctx {
    bool loaded;
    struct wf_set *set;
    const wf_ver *v; /* set->v */
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
    set_release(w->set);
    for (size_t i = 0; i < w->nd; i++)
        ent__pv_free(&w->d[i].pv);
    free(w->d);
    free(w);
}

/* ------------------------------------------------------------------ load */

/* The stored rows of the rules: (seq, value) pointers valid during the
 * transaction. */
typedef struct rows_ctx {
    uint64_t *seq;
    const uint8_t **val;
    size_t *len;
    size_t n;
} rows_ctx;

static int ver_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    rows_ctx *c = data;
    if (klen != 33 + 8)
        return ENT_ECORRUPT;
    if (ent__obj_grow((void **)&c->seq, c->n, sizeof(*c->seq)) != ENT_OK ||
        ent__obj_grow((void **)&c->val, c->n, sizeof(*c->val)) != ENT_OK ||
        ent__obj_grow((void **)&c->len, c->n, sizeof(*c->len)) != ENT_OK)
        return ENT_ENOMEM;
    c->seq[c->n] = ent_be64_get((const uint8_t *)key + 33);
    c->val[c->n] = val;
    c->len[c->n] = vlen;
    c->n++;
    return 0;
}

/* Whether set s holds exactly the rows of c. */
static bool set_matches(const struct wf_set *s, const uint8_t obj[32],
                        const rows_ctx *c) {
    if (s == NULL || memcmp(s->obj, obj, 32) != 0 || s->n != c->n)
        return false;
    for (size_t i = 0; i < c->n; i++)
        if (s->v[i].seq != c->seq[i] || s->rawlen[i] != c->len[i] ||
            memcmp(s->raw[i], c->val[i], c->len[i]) != 0)
            return false;
    return true;
}

/* A new set (one reference) decoded from the rows of c. */
static int set_build(const uint8_t obj[32], const rows_ctx *c,
                     struct wf_set **out) {
    struct wf_set *s = calloc(1, sizeof(*s));
    size_t n = c->n ? c->n : 1;
    int rc = ENT_OK;
    if (s == NULL)
        return ENT_ENOMEM;
    s->refs = 1;
    memcpy(s->obj, obj, 32);
    if ((s->v = calloc(n, sizeof(*s->v))) == NULL ||
        (s->raw = calloc(n, sizeof(*s->raw))) == NULL ||
        (s->rawlen = calloc(n, sizeof(*s->rawlen))) == NULL) {
        set_release(s);
        return ENT_ENOMEM;
    }
    for (size_t i = 0; i < c->n && rc == ENT_OK; i++) {
        s->n = i + 1;
        s->v[i].seq = c->seq[i];
        if ((s->v[i].r = malloc(sizeof(ent_wf_rules))) == NULL ||
            (s->raw[i] = malloc(c->len[i] ? c->len[i] : 1)) == NULL) {
            rc = ENT_ENOMEM;
            break;
        }
        memcpy(s->raw[i], c->val[i], c->len[i]);
        s->rawlen[i] = c->len[i];
        if (ent_wf_decode(s->v[i].r, c->val[i], c->len[i]) != ENT_OK)
            rc = ENT_ECORRUPT; /* checked at receipt */
    }
    if (rc != ENT_OK) {
        set_release(s);
        return rc;
    }
    *out = s;
    return ENT_OK;
}

static int wf_get(judge *j, struct wfctx **out) {
    int rc = ENT_OK;
    if (j->wf == NULL && (j->wf = calloc(1, sizeof(*j->wf))) == NULL)
        return ENT_ENOMEM;
    struct wfctx *w = j->wf;
    if (!w->loaded) {
        uint8_t pre[33];
        rows_ctx c = {0};
        struct wf_set *s = NULL;
        memcpy(pre, j->obj, 32);
        pre[32] = WR_RULES;
        rc = ent_txn_scan(j->txn, ENT_TBL_WRITES, pre, 33, ver_scan, &c);
        if (rc == ENT_OK && c.n > 0) {
            if (j->eng != NULL && set_matches(j->eng->wf_cache, j->obj, &c)) {
                s = j->eng->wf_cache;
                s->refs++;
            } else if ((rc = set_build(j->obj, &c, &s)) == ENT_OK &&
                       j->eng != NULL) {
                set_release(j->eng->wf_cache);
                j->eng->wf_cache = s;
                s->refs++;
            }
        }
        free(c.seq);
        free(c.val);
        free(c.len);
        if (rc != ENT_OK)
            return rc;
        w->set = s;
        w->v = s ? s->v : NULL;
        w->n = s ? s->n : 0;
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

/* The stage the past pv shows, given the accepted writes ws[0..n) of
 * lower order key: the greatest of them in that past (NULL: none). */
static const char *from_of(const swr *ws, size_t n, const pvec *pv) {
    for (size_t k = n; k-- > 0;)
        if (ws[k].acc && ent__pv_at(pv, ws[k].a) >= ws[k].seq)
            return ws[k].stage;
    return NULL;
}

/* ------------------------------------------------- decisions of a move */

/* One decision of a step, as a move reads it. */
typedef struct mdec {
    bool reject;
    uint8_t org[32];
    uint32_t a;
    uint64_t seq;
    pvec pv;
    ent_wf_party by;
    const char *step;
} mdec;

/* What a move needs of its past's decisions: for each step its candidate
 * transitions name, every counting rejection by a party of the step, and
 * the counting approvals by such a party, newest first, up to the first
 * that no rejection beats and that is not the mover's own (unless a
 * transition lets it be). node/work then judges on that list. */
typedef struct mctx {
    judge *j;
    const ent_wf_rules *r;
    const char *from, *to;
    const uint8_t *mover;
    const pvec *pv; /* of the move */
    const char *step;
    mdec *v;
    size_t n;
    size_t nrej; /* rejections of the current step: v[rej0 .. rej0+nrej) */
    size_t rej0;
    int rc;
} mctx;

/* Whether some candidate transition names step with a party p matches;
 * *self_ok: one of them lets the mover give it. */
static bool step_party(const mctx *c, const ent_wf_party *p, bool *self_ok) {
    bool any = false;
    *self_ok = false;
    for (size_t i = 0; i < c->r->ntrans; i++) {
        const ent_wf_trans *t = &c->r->trans[i];
        if (strcmp(t->to, c->to) != 0 ||
            !(t->any_from || (c->from != NULL && strcmp(t->from, c->from) == 0)))
            continue;
        for (size_t k = 0; k < t->nsteps; k++)
            if (strcmp(t->steps[k].name, c->step) == 0 &&
                ent_wf_who_matches(&t->steps[k].by, p)) {
                any = true;
                *self_ok |= t->steps[k].self_ok;
            }
    }
    return any;
}

static bool mdec_before(void *data, size_t i, size_t k) {
    const mctx *c = data;
    const mdec *x = &c->v[i], *y = &c->v[k];
    return x != y && ent__pv_at(&y->pv, x->a) >= x->seq;
}

/* Loads the decision at order into a new entry of c->v when it is in the
 * move's past, counts and is by a party of the step: *added. */
static int mdec_add(mctx *c, const uint8_t *order, bool reject, bool *added) {
    pvinfo pi;
    uint32_t a;
    uint64_t seq;
    bool counts = false, self_ok;
    ent_wf_party p;
    int rc;
    *added = false;
    memset(&pi, 0, sizeof(pi));
    if ((rc = op_at(c->j, order, &a, &seq, &pi)) != ENT_OK)
        goto out;
    if (ent__pv_at(c->pv, a) < seq)
        goto out; /* not in the move's past */
    if ((rc = ent__obj_judge_stored(c->j, order, ENT_OP_APPROVE, &counts)) !=
            ENT_OK ||
        !counts)
        goto out;
    if ((rc = party_at(c->j, order + 8, a, &pi.pv, &p)) != ENT_OK ||
        !step_party(c, &p, &self_ok))
        goto out;
    if (ent__obj_grow((void **)&c->v, c->n, sizeof(*c->v)) != ENT_OK) {
        rc = ENT_ENOMEM;
        goto out;
    }
    mdec *d = &c->v[c->n++];
    memset(d, 0, sizeof(*d));
    d->reject = reject;
    memcpy(d->org, order + 8, 32);
    d->a = a;
    d->seq = seq;
    d->pv = pi.pv; /* taken over */
    memset(&pi.pv, 0, sizeof(pi.pv));
    d->by = p;
    d->step = c->step;
    *added = true;
out:
    ent__pvinfo_free(&pi);
    return rc;
}

static int rej_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    mctx *c = data;
    bool added;
    (void)val;
    (void)vlen;
    if (klen < OBJ_ORDER_LEN)
        return ENT_ECORRUPT;
    c->rc = mdec_add(c, (const uint8_t *)key + klen - OBJ_ORDER_LEN, true,
                     &added);
    if (c->rc == ENT_OK && added)
        c->nrej++;
    return c->rc != ENT_OK ? c->rc : 0;
}

static int appr_scan(void *data, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    mctx *c = data;
    bool added, self_ok;
    (void)val;
    (void)vlen;
    if (klen < OBJ_ORDER_LEN)
        return ENT_ECORRUPT;
    c->rc = mdec_add(c, (const uint8_t *)key + klen - OBJ_ORDER_LEN, false,
                     &added);
    if (c->rc != ENT_OK)
        return c->rc;
    if (!added)
        return 0;
    const mdec *d = &c->v[c->n - 1];
    step_party(c, &d->by, &self_ok);
    if (!self_ok && memcmp(d->org, c->mover, 32) == 0)
        return 0; /* the mover's own: read on */
    for (size_t i = c->rej0; i < c->rej0 + c->nrej; i++)
        if (!mdec_before(c, i, c->n - 1))
            return 0; /* beaten: read on */
    return 1; /* this one meets the step: enough */
}

/* The key prefix of the decisions of one step: obj || WR_STEP || decision
 * || length || step. */
static size_t step_prefix(uint8_t *out, const uint8_t obj[32], bool reject,
                          const char *step) {
    size_t sl = strlen(step);
    memcpy(out, obj, 32);
    out[32] = WR_STEP;
    out[33] = reject ? 1 : 0;
    out[34] = (uint8_t)sl;
    memcpy(out + 35, step, sl);
    return 35 + sl;
}

/* Judges one stage write (author, index a, pv, to) moving from `from`. */
static int judge_move(judge *j, struct wfctx *w, const char *from,
                      const uint8_t author[32], uint32_t a, const pvec *pv,
                      const char *to, bool genesis, bool *ok, char *why,
                      size_t whylen) {
    const ent_wf_rules *r = rules_for(j, w, pv);
    ent_wf_party actor;
    mctx c = {.j = j, .r = r, .from = from, .to = to, .mover = author,
              .pv = pv};
    const char *done[ENT_WF_MAX_TRANS * ENT_WF_MAX_STEPS];
    size_t ndone = 0;
    uint8_t pre[35 + ENT_OP_NAME_MAX];
    int rc;
    *ok = true;
    if (r == NULL || genesis)
        return ENT_OK; /* no rules: any member moves the stage; the
                          creator's initial stage is free */
    if ((rc = party_at(j, author, a, pv, &actor)) != ENT_OK)
        return rc;
    for (size_t i = 0; i < r->ntrans && rc == ENT_OK; i++) {
        const ent_wf_trans *t = &r->trans[i];
        if (strcmp(t->to, to) != 0 ||
            !(t->any_from || (from != NULL && strcmp(t->from, from) == 0)))
            continue;
        for (size_t k = 0; k < t->nsteps && rc == ENT_OK; k++) {
            bool seen = false;
            for (size_t q = 0; q < ndone && !seen; q++)
                seen = strcmp(done[q], t->steps[k].name) == 0;
            if (seen)
                continue;
            done[ndone++] = t->steps[k].name;
            c.step = t->steps[k].name;
            c.rej0 = c.n;
            c.nrej = 0;
            size_t pl = step_prefix(pre, j->obj, true, c.step);
            if ((rc = ent_txn_scan(j->txn, ENT_TBL_WRITES, pre, pl, rej_scan,
                                   &c)) != ENT_OK)
                break;
            pl = step_prefix(pre, j->obj, false, c.step);
            rc = ent_txn_scan_reverse(j->txn, ENT_TBL_WRITES, pre, pl,
                                      appr_scan, &c);
        }
    }
    if (rc == ENT_OK) {
        ent_wf_decision *ds = calloc(c.n ? c.n : 1, sizeof(*ds));
        if (ds == NULL) {
            rc = ENT_ENOMEM;
        } else {
            for (size_t i = 0; i < c.n; i++) {
                ds[i].step = c.v[i].step;
                ds[i].reject = c.v[i].reject;
                ds[i].by = c.v[i].by;
                ds[i].by.org = c.v[i].org;
            }
            *ok = ent_wf_transition_ok(r, from, to, &actor, ds, c.n,
                                       mdec_before, &c, why, whylen);
            free(ds);
        }
    }
    for (size_t i = 0; i < c.n; i++)
        ent__pv_free(&c.v[i].pv);
    free(c.v);
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
        rc = judge_move(j, w, from_of(ws, i, &ws[i].pi.pv), v[i].order + 8,
                        ws[i].a, &ws[i].pi.pv, ws[i].stage, genesis,
                        &ws[i].acc, NULL, 0);
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
        if (ent_wf_field_owner(w->v[i].r, name) != NULL ||
            ent_wf_limit_of(w->v[i].r, name) != NULL)
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

#define WF_LIMIT_DEPTH (ENT_WF_MAX_LIMITS + 1)

static int judge_write(judge *j, struct wfctx *w, const char *name,
                       const uint8_t author[32], uint32_t a, const pvec *pv,
                       bool genesis, const ent_value *val,
                       const ent_op_body *self, int depth, bool *ok, char *why,
                       size_t whylen);

/* The walk of value_at over one field's writes, newest first. */
typedef struct vwalk {
    judge *j;
    struct wfctx *w;
    const char *name;
    size_t plen;
    const pvec *pv;
    int depth;
    ent_value *out;
    bool found;
} vwalk;

static int vwalk_cb(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    vwalk *c = data;
    const uint8_t *order = (const uint8_t *)key + c->plen;
    const uint8_t *v = val;
    uint32_t fa = 0;
    uint64_t seq = 0;
    pvinfo pi;
    bool ok = false;
    ent_value x;
    int rc;
    if (klen != c->plen + OBJ_ORDER_LEN || vlen < 1)
        return ENT_ECORRUPT;
    if ((v[0] & FW_OWNER_ONLY) && memcmp(order + 8, c->j->owner, 32) != 0)
        return 0; /* C2 */
    memset(&pi, 0, sizeof(pi));
    memset(&x, 0, sizeof(x));
    if ((rc = op_at(c->j, order, &fa, &seq, &pi)) != ENT_OK ||
        ent__pv_at(c->pv, fa) < seq)
        goto out; /* not in the past */
    if ((rc = ent__obj_judge_stored(c->j, order, ENT_OP_SET, &ok)) !=
            ENT_OK ||
        !ok)
        goto out;
    if (ent__obj_value_decode(v + 1, vlen - 1, &x) != ENT_OK) {
        ok = false;
        goto out;
    }
    rc = judge_write(c->j, c->w, c->name, order + 8, fa, &pi.pv,
                     memcmp(order + 40, c->j->obj, 32) == 0, &x, NULL,
                     c->depth + 1, &ok, NULL, 0);
out:
    ent__pvinfo_free(&pi);
    if (rc == ENT_OK && ok) {
        *c->out = x; /* handed over; null when the winner is a clear */
        c->found = true;
        return 1;
    }
    ent_value_clear(&x);
    return rc;
}

/*
 * The value field name has in the past pv (spec/workflows.md §8): of its
 * writes in that past that count (C1-C4, C2 and the field's own owner and
 * limit rules), the one of the greatest order key, found walking the
 * writes newest first. self: the op being judged, not stored yet, whose
 * own write of the field (when it counts by the rules) is the greatest of
 * its past. *out is null when none.
 */
static int value_at(judge *j, struct wfctx *w, const char *name,
                    const uint8_t *self_author, uint32_t self_a,
                    const pvec *pv, const ent_op_body *self, int depth,
                    ent_value *out) {
    uint8_t pre[33 + ENT_OP_NAME_MAX + 1];
    size_t nl = strlen(name);
    int rc = ENT_OK;
    memset(out, 0, sizeof(*out));
    out->type = ENT_VT_NULL;
    if (depth > WF_LIMIT_DEPTH || nl > ENT_OP_NAME_MAX)
        return ENT_OK;
    for (size_t i = 0; self != NULL && i < self->nfields; i++) {
        if (strcmp(self->fields[i].name, name) != 0)
            continue;
        bool ok = !self->fields[i].owner_only ||
                  memcmp(self_author, j->owner, 32) == 0;
        if (ok && (rc = judge_write(j, w, name, self_author, self_a, pv, false,
                                    &self->fields[i].v, self, depth + 1, &ok,
                                    NULL, 0)) != ENT_OK)
            return rc;
        if (ok)
            return ent_value_copy(out, &self->fields[i].v);
    }
    memcpy(pre, j->obj, 32);
    pre[32] = WR_FIELD;
    memcpy(pre + 33, name, nl + 1); /* with its NUL */
    vwalk c = {j, w, name, 33 + nl + 1, pv, depth, out, false};
    return ent_txn_scan_reverse(j->txn, ENT_TBL_WRITES, pre, c.plen, vwalk_cb,
                                &c);
}

/*
 * A write of field name by author (index a) in the past pv, with value
 * val, judged by the rules in force there: the field's owner rule (also in
 * the genesis, where the creator stands as the owner) and its limit, the
 * value of its bound field in that past (spec/workflows.md §4, §8).
 */
static int judge_write(judge *j, struct wfctx *w, const char *name,
                       const uint8_t author[32], uint32_t a, const pvec *pv,
                       bool genesis, const ent_value *val,
                       const ent_op_body *self, int depth, bool *ok, char *why,
                       size_t whylen) {
    const ent_wf_rules *r = rules_for(j, w, pv);
    const ent_wf_who *who;
    const char *bound;
    ent_wf_party p;
    int rc = ENT_OK;
    *ok = true;
    if (r == NULL)
        return ENT_OK;
    if ((who = ent_wf_field_owner(r, name)) != NULL) {
        if (genesis) { /* the creator: the owner, in an empty past */
            p.org = author;
            p.owner = true;
            p.active = true;
            p.role = ENT_ROLE_OWNER;
        } else if ((rc = party_at(j, author, a, pv, &p)) != ENT_OK) {
            return rc;
        }
        *ok = ent_wf_who_matches(who, &p);
        if (!*ok && why != NULL && whylen > 0) {
            char wb[80];
            ent_wf_who_format(who, wb, sizeof(wb));
            snprintf(why, whylen,
                     "field %s is written by %s only (object rules)", name,
                     wb);
        }
    }
    if (*ok && val != NULL && (bound = ent_wf_limit_of(r, name)) != NULL) {
        ent_value bv;
        char lw[200];
        if ((rc = value_at(j, w, bound, author, a, pv, self, depth, &bv)) !=
            ENT_OK)
            return rc;
        *ok = ent_wf_limit_ok(val, &bv, name, bound, lw, sizeof(lw));
        ent_value_clear(&bv);
        if (!*ok && why != NULL && whylen > 0)
            snprintf(why, whylen, "%s (object rules: limits)", lw);
    }
    return rc;
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
            ent_value val;
            if (!ok[i])
                continue;
            memset(&pi, 0, sizeof(pi));
            if (ent__obj_value_decode(v[i].val, v[i].vlen, &val) != ENT_OK) {
                ok[i] = false;
                continue;
            }
            if ((rc = op_at(j, v[i].order, &a, &seq, &pi)) == ENT_OK)
                rc = judge_write(j, w, name, v[i].order + 8, a, &pi.pv,
                                 memcmp(v[i].order + 40, j->obj, 32) == 0,
                                 &val, NULL, 0, &ok[i], NULL, 0);
            ent_value_clear(&val);
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

/*
 * The stage the past pv shows, read from the fields row when the row's
 * write is in that past: the row holds the greatest accepted stage write
 * of the object, so it is also the greatest accepted one of any past that
 * holds it (spec/workflows.md §4, "Computing it"). *have false when the
 * row is missing or not in the past (then the full pass decides).
 */
static int fast_from(judge *j, const pvec *pv, char from[ENT_OP_NAME_MAX + 1],
                     uint8_t row_order[OBJ_ORDER_LEN], uint8_t *flags,
                     bool *have) {
    uint8_t k[37];
    const uint8_t *v, *okey;
    size_t vlen, klen;
    uint32_t a;
    *have = false;
    memcpy(k, j->obj, 32);
    memcpy(k + 32, "stage", 5);
    int rc = ent_txn_get(j->txn, ENT_TBL_FIELDS, k, 37, (const void **)&v,
                         &vlen);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc != ENT_OK)
        return rc;
    if (vlen < OBJ_ORDER_LEN + 1)
        return ENT_OK;
    if ((rc = ent__obj_author_find(j->txn, j->obj, v + 8, &a)) != ENT_OK ||
        (rc = ent_op_index_get(j->txn, v + 40, (const void **)&okey, &klen)) !=
            ENT_OK)
        return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
    if (klen < 72)
        return ENT_ECORRUPT;
    if (ent__pv_at(pv, a) < ent_be64_get(okey + 64))
        return ENT_OK;
    memcpy(row_order, v, OBJ_ORDER_LEN);
    *flags = v[OBJ_ORDER_LEN];
    stage_text(v + OBJ_ORDER_LEN + 1, vlen - OBJ_ORDER_LEN - 1, from);
    *have = true;
    return ENT_OK;
}

int ent__obj_wf_stage_fast(judge *j, const uint8_t order[OBJ_ORDER_LEN],
                           const uint8_t *blob, size_t blen, bool counts,
                           bool *done) {
    struct wfctx *w;
    char from[ENT_OP_NAME_MAX + 1], to[ENT_OP_NAME_MAX + 1];
    uint8_t rorder[OBJ_ORDER_LEN], flags = 0;
    uint32_t a;
    uint64_t seq;
    pvinfo pi;
    bool have = false, ok = false;
    int rc;
    *done = false;
    memset(&pi, 0, sizeof(pi));
    if ((rc = wf_get(j, &w)) != ENT_OK || (rc = op_at(j, order, &a, &seq,
                                                      &pi)) != ENT_OK ||
        (rc = fast_from(j, &pi.pv, from, rorder, &flags, &have)) != ENT_OK ||
        !have || memcmp(rorder, order, OBJ_ORDER_LEN) >= 0 ||
        flags != FW_PLAIN) /* an owner-only write owns the stage */
        goto out;
    *done = true;
    stage_text(blob, blen, to);
    if (counts && (rc = judge_move(j, w, from, order + 8, a, &pi.pv, to,
                                   false, &ok, NULL, 0)) != ENT_OK)
        goto out;
    if (counts && ok) {
        uint8_t k[32 + 5];
        uint8_t *rec = malloc(OBJ_ORDER_LEN + 1 + blen);
        if (rec == NULL) {
            rc = ENT_ENOMEM;
            goto out;
        }
        memcpy(rec, order, OBJ_ORDER_LEN);
        rec[OBJ_ORDER_LEN] = FW_PLAIN; /* as the recompute writes it */
        memcpy(rec + OBJ_ORDER_LEN + 1, blob, blen);
        memcpy(k, j->obj, 32);
        memcpy(k + 32, "stage", 5);
        rc = ent_txn_put(j->txn, ENT_TBL_FIELDS, k, sizeof(k), rec,
                         OBJ_ORDER_LEN + 1 + blen, 0);
        free(rec);
    }
out:
    ent__pvinfo_free(&pi);
    if (rc != ENT_OK)
        *done = false;
    return rc;
}

int ent__obj_wf_write_counts(judge *j, const char *name,
                             const uint8_t order[OBJ_ORDER_LEN],
                             const uint8_t *blob, size_t blen, bool *counts) {
    struct wfctx *w;
    uint32_t a;
    uint64_t seq;
    pvinfo pi;
    ent_value val;
    int rc;
    if (!*counts)
        return ENT_OK; /* nothing to take away */
    if (ent__obj_value_decode(blob, blen, &val) != ENT_OK) {
        *counts = false;
        return ENT_OK;
    }
    memset(&pi, 0, sizeof(pi));
    if ((rc = wf_get(j, &w)) == ENT_OK &&
        (rc = op_at(j, order, &a, &seq, &pi)) == ENT_OK)
        rc = judge_write(j, w, name, order + 8, a, &pi.pv,
                         memcmp(order + 40, j->obj, 32) == 0, &val, NULL, 0,
                         counts, NULL, 0);
    ent_value_clear(&val);
    ent__pvinfo_free(&pi);
    return rc;
}

/* A new stage write to `to` (op, pi) judged against the kept ones. */
static int check_move(judge *j, struct wfctx *w, const ent_op *op,
                      const pvinfo *pi, const char *to, bool *ok, char *why,
                      size_t whylen) {
    uint8_t pre[40], rorder[OBJ_ORDER_LEN], flags;
    char from[ENT_OP_NAME_MAX + 1];
    sw_list l = {0};
    swr *ws = NULL;
    bool *base = NULL, have = false;
    int rc;
    if ((rc = fast_from(j, &pi->pv, from, rorder, &flags, &have)) != ENT_OK)
        return rc;
    if (have)
        return judge_move(j, w, from, op->h.author, pi->a, &pi->pv, to,
                          op->h.genesis, ok, why, whylen);
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
    rc = judge_move(j, w, from_of(ws, l.n, &pi->pv), op->h.author, pi->a,
                    &pi->pv, to, op->h.genesis, ok, why, whylen);
out:
    swr_free(ws, l.n);
    free(base);
    free(l.v);
    return rc;
}

int ent__obj_wf_check(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
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
    if (op->h.kind == ENT_OP_ERASE && memcmp(op->h.author, owner, 32) != 0) {
        if (why != NULL && whylen > 0)
            snprintf(why, whylen, "only the object's owner erases");
        return ENT_EDENIED;
    }
    if (op->h.genesis || op->h.kind == ENT_OP_RULES ||
        op->h.kind == ENT_OP_ERASE || op->h.kind == ENT_OP_ATTACH ||
        op->h.kind == ENT_OP_COMMENT || op->h.kind == ENT_OP_ADD_MEMBER ||
        op->h.kind == ENT_OP_REMOVE_MEMBER || op->h.kind == ENT_OP_ROTATE_KEY)
        return ENT_OK;
    ent__obj_judge_init(&j, txn, obj, owner, NULL);
    j.eng = eng;
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
                         &f->v, b, 0, &ok, why, whylen);
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
    /* approval.given, in this transaction (spec/events.md §3); the
     * approval.requested of a move that lands on a stage with steps
     * waiting is raised by object_events.c */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int erc = ent_events_approval(
        txn, true, obj, op->h.author, NULL, b->step, NULL,
        b->decision == 0 ? "approved" : "rejected",
        (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u, NULL);
    if (erc != ENT_OK) {
        free(v);
        return erc;
    }
    k[32] = WR_APPR;
    ent__obj_order(k + 33, op->h.hlc, op->h.author, op->id);
    int rc = ent_txn_put(txn, ENT_TBL_WRITES, k, sizeof(k), v, vlen, 0);
    free(v);
    if (rc == ENT_OK) { /* by step and decision, for the moves */
        uint8_t sk[35 + ENT_OP_NAME_MAX + OBJ_ORDER_LEN];
        size_t pl = step_prefix(sk, obj, b->decision != 0, b->step);
        memcpy(sk + pl, k + 33, OBJ_ORDER_LEN);
        rc = ent_txn_put(txn, ENT_TBL_WRITES, sk, pl + OBJ_ORDER_LEN, "", 0,
                         0);
    }
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

/* Whether a step has a decision that counts, by me (NULL: anyone), made
 * since the current stage's write (an order key above corder): the step's
 * index read newest first down to that write, not every decision. */
typedef struct given_ctx {
    judge *j;
    const uint8_t *me, *corder;
    bool given;
} given_ctx;

static int given_scan(void *data, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    given_ctx *c = data;
    const uint8_t *order = (const uint8_t *)key + klen - OBJ_ORDER_LEN;
    (void)val;
    (void)vlen;
    if (klen < 35 + OBJ_ORDER_LEN)
        return ENT_ECORRUPT;
    if (memcmp(order, c->corder, OBJ_ORDER_LEN) <= 0)
        return 1; /* older than the stage: so is every later row */
    if (c->me != NULL && memcmp(order + 8, c->me, 32) != 0)
        return 0;
    int rc = ent__obj_judge_stored(c->j, order, ENT_OP_APPROVE, &c->given);
    return rc != ENT_OK ? rc : c->given;
}

/* Calls fn for each step waiting on me (NULL: on anyone) now. */
static int waiting(judge *j, struct wfctx *w, const uint8_t *me, wait_fn fn,
                   void *data) {
    char cur[ENT_OP_NAME_MAX + 1];
    uint8_t corder[OBJ_ORDER_LEN], pre[35 + ENT_OP_NAME_MAX];
    ent_wf_party p = {.org = me};
    int rc;
    const ent_wf_rules *r = rules_now(j, w);
    if (r == NULL)
        return ENT_OK;
    stage_now(j->txn, j->obj, cur, corder);
    if (me != NULL) {
        p.owner = memcmp(me, j->owner, 32) == 0;
        rc = ent__obj_member_get(j->txn, j->obj, me, &p.active, &p.role);
        if (rc != ENT_OK && rc != ENT_ENOENT)
            return rc;
        if (p.owner) {
            p.active = true;
            p.role = 0;
        }
    }
    rc = ENT_OK;
    for (size_t i = 0; i < r->ntrans && rc == ENT_OK; i++) {
        const ent_wf_trans *t = &r->trans[i];
        if (!t->any_from && strcmp(t->from, cur) != 0)
            continue;
        for (size_t k = 0; k < t->nsteps && rc == ENT_OK; k++) {
            const ent_wf_step *s = &t->steps[k];
            given_ctx c = {.j = j, .me = me, .corder = corder};
            if (me != NULL && !ent_wf_who_matches(&s->by, &p))
                continue;
            for (int dec = 0; dec < 2 && rc == ENT_OK && !c.given; dec++) {
                size_t pl = step_prefix(pre, j->obj, dec != 0, s->name);
                rc = ent_txn_scan_reverse(j->txn, ENT_TBL_WRITES, pre, pl,
                                          given_scan, &c);
            }
            if (rc == ENT_OK && !c.given)
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

typedef struct any_ctx {
    ent__obj_wait_fn fn;
    void *data;
} any_ctx;

static int any_cb(void *data, const char *to, const ent_wf_step *s) {
    any_ctx *c = data;
    return c->fn(c->data, to, s->name);
}

int ent__obj_wf_waiting(ent_txn *txn, const uint8_t obj[32],
                        ent__obj_wait_fn fn, void *data) {
    obj_rec r;
    judge j;
    struct wfctx *w;
    any_ctx c = {fn, data};
    int rc = ent__obj_rec_get(txn, obj, &r);
    if (rc != ENT_OK)
        return rc;
    ent__obj_judge_init(&j, txn, obj, r.owner, NULL);
    if ((rc = wf_get(&j, &w)) == ENT_OK)
        rc = waiting(&j, w, NULL, any_cb, &c);
    ent__obj_judge_free(&j);
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
