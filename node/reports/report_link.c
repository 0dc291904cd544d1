/*
 * report_link.c - the reports that follow links between objects
 * (spec/reports.md "MDF and plans"): `mdf`, the use of market development
 * funds per program, budget and partner, as the object engine computes it
 * (ent_obj_budget_use, spec/workflows.md §8); and `plan`, the progress of
 * each sales plan against its target from the opportunities that link it.
 * Both read one transaction, over what this node holds, and say so.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/access/access.h"
#include "node/err.h"
#include "node/objects/object.h"
#include "node/objects/value.h"
#include "node/reports/report_int.h"

#define LK_COLS 3
#define LK_MEAS 8
#define LK_CUR 8 /* currencies of one measure in one group */

typedef struct lmoney {
    char cur[4];
    int64_t sum;
} lmoney;

typedef struct lgroup {
    char *key[LK_COLS]; /* owned; NULL: null */
    uint64_t count[LK_MEAS];
    lmoney m[LK_MEAS][LK_CUR];
    size_t nm[LK_MEAS];
} lgroup;

typedef struct lrep {
    ent_txn *txn;
    const ent_rpt_opts *o;
    char *err;
    size_t errlen;
    int rc;
    uint8_t me[32];
    const char *cols[LK_COLS];
    int col_kind[LK_COLS]; /* index into the report's column names */
    size_t ncols;
    lgroup *g;
    size_t ng;
    lgroup total;
    json_t *items; /* budgets / plans */
    uint64_t objects;
    bool complete;
} lrep;

static int lfail(lrep *l, int rc, const char *fmt, ...) {
    if (l->rc != ENT_OK)
        return l->rc;
    va_list ap;
    va_start(ap, fmt);
    if (l->err != NULL && l->errlen > 0)
        vsnprintf(l->err, l->errlen, fmt, ap);
    va_end(ap);
    l->rc = rc;
    return rc;
}

static int madd(lmoney *m, size_t *n, const ent_value *v) {
    if (v == NULL || v->type != ENT_VT_MONEY)
        return ENT_OK;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(m[i].cur, v->u.money.cur) == 0)
            return __builtin_add_overflow(m[i].sum, v->u.money.minor,
                                          &m[i].sum)
                       ? ENT_ELIMIT
                       : ENT_OK;
    if (*n == LK_CUR)
        return ENT_ELIMIT;
    memcpy(m[*n].cur, v->u.money.cur, 4);
    m[*n].sum = v->u.money.minor;
    (*n)++;
    return ENT_OK;
}

/*
 * For a user (not the operator): read of object id (of type) and of each
 * of the n fields the report uses, decided on the object's values and
 * creator (spec/reports.md "Access"). A denied field refuses the report
 * (ENT_EDENIED, with the reason); so does a denied object, unless skip:
 * then *hidden is set and the object is not to be counted. An object this
 * node does not hold has nothing to decide.
 */
static int lcheck(lrep *l, const uint8_t id[32], const char *type,
                  const char *const *fields, size_t n, bool skip,
                  bool *hidden) {
    const ent_rpt_opts *o = l->o;
    json_t *state = NULL;
    char creator[ENT_POLICY_VALUE_MAX + 1] = "", hex[65];
    if (hidden != NULL)
        *hidden = false;
    if (o->principal == NULL || o->principal->kind != ENT_PRINCIPAL_USER)
        return ENT_OK;
    int rc = ent_obj_state_json_txn(l->txn, id, &state);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc == ENT_OK && (rc = ent_access_creator(l->txn, id, creator)) ==
                            ENT_ENOENT)
        rc = ENT_OK;
    ent_value_ref_format(hex, id);
    for (size_t i = 0; rc == ENT_OK && i <= n; i++) {
        const char *f = i == 0 ? NULL : fields[i - 1];
        ent_access_req q = {ENT_ACT_READ, type, f, state,
                            creator[0] ? creator : NULL};
        ent_decision d;
        ent_policy_decide(o->rules, o->nrules, o->principal, &q, &d);
        if (d.allow)
            continue;
        if (f == NULL && skip) {
            *hidden = true;
            break;
        }
        if (f != NULL)
            rc = lfail(l, ENT_EDENIED,
                       "user %s may not read %s.%s of object %.16s (%s), "
                       "and the %s report uses it",
                       o->principal->user, type, f, hex,
                       ent_decision_why_name(d.why),
                       o->kind == ENT_RPT_PLAN ? "plan" : "mdf");
        else
            rc = lfail(l, ENT_EDENIED,
                       "user %s may not read %s %.16s (%s), and the %s "
                       "report counts it",
                       o->principal->user, type, hex,
                       ent_decision_why_name(d.why),
                       o->kind == ENT_RPT_PLAN ? "plan" : "mdf");
    }
    json_decref(state);
    return rc;
}

struct lcheck_scan {
    lrep *l;
    const char *type;
    const char *const *fields;
    size_t n;
};

static int lcheck_cb(void *data, const ent_obj_info *oi) {
    struct lcheck_scan *c = data;
    return lcheck(c->l, oi->id, c->type, c->fields, c->n, false, NULL);
}

/* lcheck() of every object of type this node holds. */
static int lcheck_all(lrep *l, const char *type, const char *const *fields,
                      size_t n) {
    struct lcheck_scan c = {l, type, fields, n};
    return ent_obj_scan(l->txn, type, NULL, lcheck_cb, &c);
}

/* The group of key texts (made when new). */
static int lgroup_get(lrep *l, char *const *texts, lgroup **out) {
    for (size_t i = 0; i < l->ng; i++) {
        bool eq = true;
        for (size_t c = 0; c < l->ncols && eq; c++)
            eq = (l->g[i].key[c] == NULL && texts[c] == NULL) ||
                 (l->g[i].key[c] != NULL && texts[c] != NULL &&
                  strcmp(l->g[i].key[c], texts[c]) == 0);
        if (eq) {
            *out = &l->g[i];
            return ENT_OK;
        }
    }
    if (l->ng >= ENT_RPT_GROUPS_MAX)
        return ENT_ELIMIT;
    lgroup *ng = realloc(l->g, (l->ng + 1) * sizeof(*ng));
    if (ng == NULL)
        return ENT_ENOMEM;
    l->g = ng;
    lgroup *g = &l->g[l->ng++];
    memset(g, 0, sizeof(*g));
    for (size_t c = 0; c < l->ncols; c++)
        if (texts[c] != NULL && (g->key[c] = strdup(texts[c])) == NULL)
            return ENT_ENOMEM;
    *out = g;
    return ENT_OK;
}

/* Adds (count, money) of measure k to g and the total. */
static int lput(lrep *l, lgroup *g, int k, const ent_value *v, bool count) {
    int rc = ENT_OK;
    lgroup *both[2] = {g, &l->total};
    for (int i = 0; i < 2 && rc == ENT_OK; i++) {
        if (count)
            both[i]->count[k]++;
        rc = madd(both[i]->m[k], &both[i]->nm[k], v);
    }
    return rc;
}

static json_t *mlist(const lgroup *g, int k) {
    json_t *a = json_array();
    /* currencies in code order */
    for (size_t done = 0; a != NULL && done < g->nm[k]; done++) {
        const lmoney *best = NULL;
        for (size_t i = 0; i < g->nm[k]; i++) {
            bool taken = false;
            for (size_t q = 0; q < json_array_size(a) && !taken; q++)
                taken = strcmp(json_string_value(json_object_get(
                                   json_array_get(a, q), "currency")),
                               g->m[k][i].cur) == 0;
            if (!taken && (best == NULL || strcmp(g->m[k][i].cur,
                                                  best->cur) < 0))
                best = &g->m[k][i];
        }
        ent_value v = {.type = ENT_VT_MONEY};
        json_t *j = NULL;
        v.u.money.minor = best->sum;
        memcpy(v.u.money.cur, best->cur, 4);
        if (ent_value_to_json(&v, &j) != ENT_OK ||
            json_array_append_new(a, j) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* ------------------------------------------------------------------ mdf */

enum { M_REQUESTS, M_REQUESTED, M_APPROVED, M_CLAIMED, M_PAID, M_OVER,
       M_BUDGET, M_LEFT };
static const char *const mdf_meas[] = {"requests", "requested", "approved",
                                       "claimed",  "paid",      "over",
                                       "budget",   "left"};
static const char *const mdf_cols[] = {"program", "budget", "partner"};

/* What this node knows of one object a report links to. */
typedef struct lobj {
    uint8_t id[32];
    bool active; /* this org is still a member */
    bool held;   /* the node holds it (else: only seen as a link) */
    uint8_t owner[32];
    char *name;  /* owned; NULL if none */
    ent_value link;   /* budget: its program; request: its budget */
    ent_value amount; /* budget: amount; plan: joint_target */
} lobj;

typedef struct lobjs {
    lobj *v;
    size_t n;
    const char *linkf, *amountf;
    lrep *l;
} lobjs;

static void lobjs_free(lobjs *s) {
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].name);
        ent_value_clear(&s->v[i].link);
        ent_value_clear(&s->v[i].amount);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static lobj *lobjs_find(lobjs *s, const uint8_t id[32]) {
    for (size_t i = 0; i < s->n; i++)
        if (memcmp(s->v[i].id, id, 32) == 0)
            return &s->v[i];
    return NULL;
}

static int lobjs_add(lobjs *s, const uint8_t id[32], lobj **out) {
    lobj *nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
    if (nv == NULL)
        return ENT_ENOMEM;
    s->v = nv;
    lobj *o = &nv[s->n++];
    memset(o, 0, sizeof(*o));
    memcpy(o->id, id, 32);
    *out = o;
    return ENT_OK;
}

typedef struct lfields {
    lobj *o;
    const lobjs *s;
    bool priv_ok;
} lfields;

static int lfield_cb(void *data, const char *name, size_t nlen, bool priv,
                     const uint8_t *blob, size_t blen) {
    lfields *f = data;
    ent_value *dst = NULL;
    bool is_name = nlen == 4 && memcmp(name, "name", 4) == 0;
    if (priv && !f->priv_ok)
        return 0;
    if (f->s->linkf != NULL && strlen(f->s->linkf) == nlen &&
        memcmp(name, f->s->linkf, nlen) == 0)
        dst = &f->o->link;
    else if (f->s->amountf != NULL && strlen(f->s->amountf) == nlen &&
             memcmp(name, f->s->amountf, nlen) == 0)
        dst = &f->o->amount;
    else if (!is_name)
        return 0;
    ent_value v;
    if (ent_obj_value_decode(blob, blen, &v) != ENT_OK)
        return 0;
    if (is_name) {
        if (v.type == ENT_VT_TEXT && f->o->name == NULL &&
            (f->o->name = strdup(v.u.text.s)) == NULL) {
            ent_value_clear(&v);
            return ENT_ENOMEM;
        }
        ent_value_clear(&v);
        return 0;
    }
    if (dst->type != ENT_VT_NULL && priv) { /* the shared value first */
        ent_value_clear(&v);
        return 0;
    }
    ent_value_clear(dst);
    *dst = v;
    return 0;
}

static int lobj_cb(void *data, const ent_obj_info *oi) {
    lobjs *s = data;
    lobj *o;
    int rc = lobjs_add(s, oi->id, &o);
    if (rc != ENT_OK)
        return rc;
    o->active = oi->active;
    o->held = true;
    memcpy(o->owner, oi->owner, 32);
    lfields f = {o, s, !s->l->o->hide_private};
    return ent_obj_fields_scan(s->l->txn, oi->id, !s->l->o->hide_private,
                               lfield_cb, &f);
}

/* The text of a key naming obj: its name when this org is an active
 * member of it here, else its id (an opaque link). */
static void title_of(const lobj *o, const uint8_t id[32], char out[65],
                     char **dyn) {
    *dyn = NULL;
    if (o != NULL && o->held && o->active && o->name != NULL) {
        *dyn = o->name;
        return;
    }
    ent_value_ref_format(out, id);
}

typedef struct mdf_run {
    lrep *l;
    lobjs programs, budgets;
    const lobj *budget;
    const uint8_t *bid;
} mdf_run;

/* The key texts of a request of the current budget by partner owner. */
static int mdf_keys(mdf_run *m, const uint8_t *owner, char *texts[LK_COLS],
                    char bufs[LK_COLS][65]) {
    const lobj *b = m->budget;
    for (size_t c = 0; c < m->l->ncols; c++) {
        char *dyn = NULL;
        texts[c] = NULL;
        switch (m->l->col_kind[c]) {
        case 0: /* program */
            if (b != NULL && b->link.type == ENT_VT_REF) {
                title_of(lobjs_find(&m->programs, b->link.u.ref),
                         b->link.u.ref, bufs[c], &dyn);
                texts[c] = dyn ? dyn : bufs[c];
            }
            break;
        case 1: /* budget */
            title_of(b, m->bid, bufs[c], &dyn);
            texts[c] = dyn ? dyn : bufs[c];
            break;
        default: /* partner */
            if (owner != NULL) {
                ent_org_id_format(bufs[c], owner);
                texts[c] = bufs[c];
            }
        }
    }
    return ENT_OK;
}

/* Adds minor units of cur to measure k of g and the total (none: 0). */
static int lput_minor(lrep *l, lgroup *g, int k, const char *cur,
                      int64_t minor, bool any) {
    ent_value v = {.type = ENT_VT_MONEY};
    if (!any || cur[0] == '\0')
        return ENT_OK;
    v.u.money.minor = minor;
    memcpy(v.u.money.cur, cur, 4);
    return lput(l, g, k, &v, false);
}

static int mdf_req_cb(void *data, const ent_budget_req *q) {
    mdf_run *m = data;
    lrep *l = m->l;
    char *texts[LK_COLS], bufs[LK_COLS][65];
    lgroup *g;
    mdf_keys(m, q->owner, texts, bufs);
    int rc = lgroup_get(l, texts, &g);
    if (rc != ENT_OK)
        return rc;
    l->objects++;
    /* exactly what ent_obj_budget_use added to the budget's figures */
    if ((rc = lput(l, g, M_REQUESTS, NULL, true)) == ENT_OK && q->over)
        rc = lput(l, g, M_OVER, NULL, true);
    if (rc == ENT_OK)
        rc = lput_minor(l, g, M_REQUESTED, q->cur, q->add_requested,
                        q->counted && q->add_requested > 0);
    if (rc == ENT_OK)
        rc = lput_minor(l, g, M_APPROVED, q->cur, q->add_approved, q->within);
    if (rc == ENT_OK)
        rc = lput_minor(l, g, M_CLAIMED, q->cur, q->add_claimed,
                        q->within && q->add_claimed > 0);
    if (rc == ENT_OK)
        rc = lput_minor(l, g, M_PAID, q->cur, q->add_paid,
                        q->within && q->add_paid > 0);
    return rc;
}

static int budget_link_cb(void *data, const ent_obj_info *oi) {
    lobjs *s = data;
    ent_value b;
    uint8_t blob_id[32];
    lfields f;
    lobj tmp;
    memset(&tmp, 0, sizeof(tmp));
    lobjs one = {NULL, 0, "budget", NULL, s->l};
    f.o = &tmp;
    f.s = &one;
    f.priv_ok = false;
    int rc = ent_obj_fields_scan(s->l->txn, oi->id, false, lfield_cb, &f);
    b = tmp.link;
    free(tmp.name);
    ent_value_clear(&tmp.amount);
    if (rc != ENT_OK || b.type != ENT_VT_REF) {
        ent_value_clear(&b); /* a custom field of that name: not a link */
        return rc;
    }
    memcpy(blob_id, b.u.ref, 32);
    lobj *o;
    if (lobjs_find(s, blob_id) == NULL)
        rc = lobjs_add(s, blob_id, &o); /* linked, not held here */
    return rc;
}

static int mdf_run_all(lrep *l) {
    mdf_run m;
    int rc;
    memset(&m, 0, sizeof(m));
    m.l = l;
    m.programs.l = m.budgets.l = l;
    m.budgets.linkf = "program";
    m.budgets.amountf = "amount";
    /* a user's report: every program, budget and request it reads must be
     * the user's to read, fields included (a budget's "left" is over all
     * of its requests: one left out would still be given away) */
    static const char *const prog_f[] = {"name"};
    static const char *const bud_f[] = {"name", "program", "amount"};
    static const char *const req_f[] = {"budget", "stage", "amount_requested",
                                        "amount_approved", "amount_claimed"};
    if ((rc = lcheck_all(l, "program", prog_f, 1)) != ENT_OK ||
        (rc = lcheck_all(l, "mdf_budget", bud_f, 3)) != ENT_OK ||
        (rc = lcheck_all(l, "mdf_request", req_f, 5)) != ENT_OK)
        goto out;
    if ((rc = ent_obj_scan(l->txn, "program", NULL, lobj_cb, &m.programs)) !=
            ENT_OK ||
        (rc = ent_obj_scan(l->txn, "mdf_budget", NULL, lobj_cb, &m.budgets)) !=
            ENT_OK ||
        (rc = ent_obj_scan(l->txn, "mdf_request", NULL, budget_link_cb,
                           &m.budgets)) != ENT_OK)
        goto out;
    bool partner_col = false;
    for (size_t c = 0; c < l->ncols; c++)
        partner_col |= l->col_kind[c] == 2;
    l->complete = true;
    for (size_t i = 0; i < m.budgets.n && rc == ENT_OK; i++) {
        ent_budget_use u;
        m.budget = &m.budgets.v[i];
        m.bid = m.budgets.v[i].id;
        rc = ent_obj_budget_use(l->txn, l->me, m.bid, NULL, &u, mdf_req_cb,
                                &m);
        if (rc != ENT_OK)
            break;
        l->complete &= u.complete;
        char hex[65], *texts[LK_COLS], bufs[LK_COLS][65];
        ent_value amt = {.type = ENT_VT_MONEY}, left = {.type = ENT_VT_MONEY};
        memcpy(amt.u.money.cur, u.cur, 4);
        memcpy(left.u.money.cur, u.cur, 4);
        amt.u.money.minor = u.amount;
        left.u.money.minor = u.left;
        ent_value_ref_format(hex, m.bid);
        json_t *jb = json_pack("{s:s, s:b, s:b, s:I, s:I, s:I}", "id", hex,
                               "member", u.held, "complete", u.complete,
                               "requests", (json_int_t)u.nrequests, "over",
                               (json_int_t)u.nover, "foreign",
                               (json_int_t)u.nforeign);
        json_t *ja = NULL, *jl = NULL;
        if (jb != NULL && u.have_amount &&
            ent_value_to_json(&amt, &ja) == ENT_OK &&
            ent_value_to_json(&left, &jl) == ENT_OK) {
            json_object_set_new(jb, "budget", ja);
            json_object_set_new(jb, "left", jl);
        } else if (jb != NULL) {
            json_decref(ja);
            json_object_set_new(jb, "budget", json_null());
            json_object_set_new(jb, "left", json_null());
        }
        if (jb != NULL && u.held && m.budget->name != NULL)
            json_object_set_new(jb, "name", json_string(m.budget->name));
        if (jb == NULL || json_array_append_new(l->items, jb) != 0) {
            rc = ENT_ENOMEM;
            break;
        }
        if (!u.have_amount)
            continue;
        /* whole budgets: in their group when no column splits them by
         * partner; always in the total */
        lgroup *g = &l->total;
        if (!partner_col) {
            mdf_keys(&m, NULL, texts, bufs);
            if ((rc = lgroup_get(l, texts, &g)) != ENT_OK)
                break;
        }
        if (g == &l->total) { /* the total only, once */
            if ((rc = madd(g->m[M_BUDGET], &g->nm[M_BUDGET], &amt)) ==
                ENT_OK)
                rc = madd(g->m[M_LEFT], &g->nm[M_LEFT], &left);
        } else if ((rc = lput(l, g, M_BUDGET, &amt, false)) == ENT_OK) {
            rc = lput(l, g, M_LEFT, &left, false);
        }
    }
out:
    lobjs_free(&m.programs);
    lobjs_free(&m.budgets);
    return rc;
}

/* ----------------------------------------------------------------- plan */

enum { P_OPPS, P_OPEN, P_WON, P_LOST, P_TARGET, P_PIPELINE, P_WON_AMT };
static const char *const plan_meas[] = {"opportunities", "open",    "won",
                                        "lost",          "target",  "pipeline",
                                        "won_amount"};

typedef struct plan_run {
    lrep *l;
    lobjs plans;
    const char *amountf;
} plan_run;

static int opp_cb(void *data, const ent_obj_info *oi) {
    plan_run *p = data;
    lrep *l = p->l;
    lobj tmp;
    lobjs one = {NULL, 0, "plan", p->amountf, l};
    lfields f = {&tmp, &one, !l->o->hide_private};
    memset(&tmp, 0, sizeof(tmp));
    ent_value st = {.type = ENT_VT_NULL};
    int rc = ent_obj_fields_scan(l->txn, oi->id, !l->o->hide_private,
                                 lfield_cb, &f);
    bool hidden = false;
    if (rc == ENT_OK && tmp.link.type == ENT_VT_REF) {
        /* a user: an opportunity it may not read is not counted; one whose
         * plan, stage or amount it may not read refuses the report */
        const char *const used[] = {"plan", "stage", p->amountf};
        rc = lcheck(l, oi->id, "opportunity", used, 3, true, &hidden);
    }
    if (rc == ENT_OK && !hidden && tmp.link.type == ENT_VT_REF) {
        lobj *plan = lobjs_find(&p->plans, tmp.link.u.ref);
        char *texts[LK_COLS], buf[65], *dyn = NULL;
        title_of(plan, tmp.link.u.ref, buf, &dyn);
        texts[0] = dyn ? dyn : buf;
        lgroup *g;
        /* the stage: read again (the generic reader keeps two fields) */
        lobjs sone = {NULL, 0, "stage", NULL, l};
        lobj s2;
        memset(&s2, 0, sizeof(s2));
        lfields f2 = {&s2, &sone, false};
        if ((rc = ent_obj_fields_scan(l->txn, oi->id, false, lfield_cb,
                                      &f2)) == ENT_OK)
            st = s2.link;
        free(s2.name);
        const char *sv = (st.type == ENT_VT_ENUM || st.type == ENT_VT_TEXT)
                             ? st.u.text.s
                             : "";
        bool won = strcasecmp(sv, "Closed Won") == 0 ||
                   strcasecmp(sv, "Won") == 0;
        bool lost = strcasecmp(sv, "Closed Lost") == 0 ||
                    strcasecmp(sv, "Lost") == 0;
        if (rc == ENT_OK)
            rc = lgroup_get(l, texts, &g);
        if (rc == ENT_OK) {
            l->objects++;
            rc = lput(l, g, P_OPPS, NULL, true);
        }
        if (rc == ENT_OK)
            rc = lput(l, g, won ? P_WON : lost ? P_LOST : P_OPEN, NULL, true);
        if (rc == ENT_OK && won)
            rc = lput(l, g, P_WON_AMT, &tmp.amount, false);
        else if (rc == ENT_OK && !lost)
            rc = lput(l, g, P_PIPELINE, &tmp.amount, false);
    }
    ent_value_clear(&st);
    free(tmp.name);
    ent_value_clear(&tmp.link);
    ent_value_clear(&tmp.amount);
    return rc;
}

static int plan_run_all(lrep *l) {
    plan_run p;
    int rc;
    memset(&p, 0, sizeof(p));
    p.l = l;
    p.plans.l = l;
    p.plans.amountf = "joint_target";
    p.amountf = l->o->amount != NULL ? l->o->amount : "deal_size";
    static const char *const plan_f[] = {"name", "joint_target"};
    if ((rc = lcheck_all(l, "sales_plan", plan_f, 2)) != ENT_OK)
        goto out;
    if ((rc = ent_obj_scan(l->txn, "sales_plan", NULL, lobj_cb, &p.plans)) !=
            ENT_OK ||
        (rc = ent_obj_scan(l->txn, "opportunity", NULL, opp_cb, &p)) !=
            ENT_OK)
        goto out;
    for (size_t i = 0; i < p.plans.n && rc == ENT_OK; i++) {
        lobj *pl = &p.plans.v[i];
        char *texts[LK_COLS], buf[65], *dyn = NULL;
        lgroup *g;
        title_of(pl, pl->id, buf, &dyn);
        texts[0] = dyn ? dyn : buf;
        if ((rc = lgroup_get(l, texts, &g)) == ENT_OK)
            rc = lput(l, g, P_TARGET, &pl->amount, false);
        char hex[65];
        ent_value_ref_format(hex, pl->id);
        json_t *jp = json_pack("{s:s, s:b}", "id", hex, "member", pl->active);
        if (jp != NULL && pl->active)
            json_object_set_new(jp, "name", pl->name ? json_string(pl->name)
                                                     : json_null());
        if (rc == ENT_OK &&
            (jp == NULL || json_array_append_new(l->items, jp) != 0))
            rc = ENT_ENOMEM;
    }
out:
    lobjs_free(&p.plans);
    return rc;
}

/* ------------------------------------------------------------------ run */

/* "0.4500": won / target of one currency, 4 decimals, rounded half up. */
static json_t *progress_json(const lgroup *g) {
    if (g->nm[P_TARGET] != 1 || g->m[P_TARGET][0].sum <= 0)
        return json_null();
    int64_t won = 0;
    for (size_t i = 0; i < g->nm[P_WON_AMT]; i++) {
        if (strcmp(g->m[P_WON_AMT][i].cur, g->m[P_TARGET][0].cur) != 0)
            return json_null(); /* money never mixes currencies */
        won = g->m[P_WON_AMT][i].sum;
    }
    __int128 q = ((__int128)won * 20000 / g->m[P_TARGET][0].sum + 1) / 2;
    char s[48];
    snprintf(s, sizeof(s), "%lld.%04lld", (long long)(q / 10000),
             (long long)(q % 10000 < 0 ? -(q % 10000) : q % 10000));
    return json_string(s);
}

static json_t *group_json(lrep *l, const lgroup *g, bool plan) {
    const char *const *names = plan ? plan_meas : mdf_meas;
    size_t nmeas = plan ? 7 : 8;
    json_t *o = json_object();
    for (size_t k = 0; o != NULL && k < nmeas; k++) {
        bool money = plan ? k >= P_TARGET : (k != M_REQUESTS && k != M_OVER);
        json_object_set_new(o, names[k],
                            money ? mlist(g, (int)k)
                                  : json_integer((json_int_t)g->count[k]));
    }
    if (o != NULL && plan)
        json_object_set_new(o, "progress", progress_json(g));
    (void)l;
    return o;
}

static int lrep_json(lrep *l, bool plan, json_t **out) {
    json_t *by = json_array(), *groups = json_array();
    for (size_t c = 0; by != NULL && c < l->ncols; c++)
        json_array_append_new(by, json_string(l->cols[c]));
    for (size_t i = 0; groups != NULL && i < l->ng; i++) {
        json_t *g = group_json(l, &l->g[i], plan), *key = json_object();
        for (size_t c = 0; key != NULL && c < l->ncols; c++)
            json_object_set_new(key, l->cols[c],
                                l->g[i].key[c] ? json_string(l->g[i].key[c])
                                               : json_null());
        if (g == NULL || key == NULL || json_object_set_new(g, "key", key)) {
            json_decref(g);
            json_decref(groups);
            groups = NULL;
            break;
        }
        json_array_append_new(groups, g);
    }
    json_t *o = json_pack(
        "{s:s, s:s, s:o, s:n, s:{s:s}, s:b, s:I, s:o, s:o, s:b, s:o}",
        "report", plan ? "plan" : "mdf", "type",
        plan ? "sales_plan" : "mdf_budget", "by", by, "where", "currency",
        "mode", "per_currency", "hide_private", l->o->hide_private, "objects",
        (json_int_t)l->objects, "groups", groups, "total",
        group_json(l, &l->total, plan), "complete", l->complete,
        plan ? "plans" : "budgets", l->items);
    if (o == NULL)
        return ENT_ENOMEM;
    *out = o;
    return ENT_OK;
}

/* Orders the groups by their key texts (byte order, null last), so that
 * the output does not depend on the order of the objects' ids. */
static int lgroup_cmp(const void *a, const void *b, void *data) {
    const lgroup *x = a, *y = b;
    const lrep *l = data;
    for (size_t c = 0; c < l->ncols; c++) {
        if (x->key[c] == NULL || y->key[c] == NULL) {
            if (x->key[c] != y->key[c])
                return x->key[c] == NULL ? 1 : -1;
            continue;
        }
        int r = strcmp(x->key[c], y->key[c]);
        if (r != 0)
            return r;
    }
    return 0;
}

int ent__rpt_links_run(ent_txn *txn, const ent_rpt_opts *o, json_t **out,
                       char *err, size_t errlen) {
    lrep l;
    bool plan = o->kind == ENT_RPT_PLAN;
    int rc = ENT_OK;
    memset(&l, 0, sizeof(l));
    l.txn = txn;
    l.o = o;
    l.err = err;
    l.errlen = errlen;
    if (o->me != NULL)
        memcpy(l.me, o->me, 32);
    if (o->where != NULL || o->from != NULL || o->to != NULL ||
        o->currency != NULL || o->date != NULL || o->type != NULL ||
        (!plan && o->amount != NULL))
        return lfail(&l, ENT_EINVAL,
                     "the %s report takes --by%s, --hide-private and the "
                     "output options only",
                     plan ? "plan" : "mdf", plan ? ", --amount" : "");
    if (o->principal != NULL && o->principal->kind == ENT_PRINCIPAL_USER) {
        /* a user reads the types and amounts the report adds up */
        static const char *const need[][2] = {
            {"mdf_budget", "amount"},         {"mdf_request", "amount_requested"},
            {"mdf_request", "amount_approved"}, {"mdf_request", "amount_claimed"},
            {"sales_plan", "joint_target"},   {"opportunity", "stage"}};
        for (size_t i = plan ? 4 : 0; i < (plan ? 6u : 4u); i++) {
            ent_access_req q = {ENT_ACT_READ, need[i][0], need[i][1], NULL,
                                NULL};
            ent_decision d;
            ent_policy_decide(o->rules, o->nrules, o->principal, &q, &d);
            if (!d.allow)
                return lfail(&l, ENT_EDENIED,
                             "user %s may not read %s.%s, and the %s report "
                             "adds it up",
                             o->principal->user, need[i][0], need[i][1],
                             plan ? "plan" : "mdf");
        }
    }
    /* the columns */
    const char *by = o->by != NULL ? o->by : plan ? "plan" : "program,partner";
    char cols[128];
    if (strlen(by) >= sizeof(cols))
        return lfail(&l, ENT_EINVAL, "--by: too long");
    snprintf(cols, sizeof(cols), "%s", by);
    for (char *save = NULL, *t = strtok_r(cols, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        int kind = -1;
        if (plan && strcmp(t, "plan") == 0)
            kind = 0;
        for (int k = 0; !plan && k < 3; k++)
            if (strcmp(t, mdf_cols[k]) == 0)
                kind = k;
        for (size_t c = 0; kind >= 0 && c < l.ncols; c++)
            if (l.col_kind[c] == kind)
                kind = -2;
        if (kind < 0 || l.ncols == LK_COLS)
            return lfail(&l, ENT_EINVAL,
                         "--by: '%.40s' %s (the %s report groups by %s)", t,
                         kind == -2 ? "is given twice" : "is not a column",
                         plan ? "plan" : "mdf",
                         plan ? "plan" : "program, budget, partner");
        l.col_kind[l.ncols] = kind;
        l.cols[l.ncols++] = plan ? "plan" : mdf_cols[kind];
    }
    if (l.ncols == 0 && plan)
        return lfail(&l, ENT_EINVAL, "--by: the plan report groups by plan");
    if ((l.items = json_array()) == NULL)
        return ENT_ENOMEM;
    rc = plan ? plan_run_all(&l) : mdf_run_all(&l);
    if (plan)
        l.complete = false; /* a plan's opportunities may be elsewhere */
    if (rc == ENT_OK) {
        if (l.ng > 1) /* l.g is NULL when there is no group */
            qsort_r(l.g, l.ng, sizeof(*l.g), lgroup_cmp, &l);
        rc = lrep_json(&l, plan, out);
        l.items = NULL; /* stolen (also on failure) */
    }
    if (rc != ENT_OK)
        lfail(&l, rc, "%s", rc == ENT_ELIMIT ? "too many groups or currencies, "
                                               "or a sum beyond int64"
                                             : ent_strerror(rc));
    for (size_t i = 0; i < l.ng; i++)
        for (size_t c = 0; c < LK_COLS; c++)
            free(l.g[i].key[c]);
    free(l.g);
    json_decref(l.items);
    return rc;
}
