/*
 * object_mdf.c - budget use of market development funds
 * (spec/workflows.md §8): what a budget (an mdf_budget object) has
 * allocated, approved, claimed, paid and left, computed from the fund
 * requests (mdf_request objects) this node holds that link it, never
 * typed. Approvals are counted in one deterministic order (the order key
 * of each request's winning amount_approved write), so every node that
 * holds the same requests computes the same figures whatever the order in
 * which their ops arrived; and this node's engine refuses to make an
 * approval over what its budget has left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/object_int.h"
#include "node/objects/value.h"
#include "node/work/rules.h"

/* One request of the budget, as read from its fields rows. */
typedef struct mreq {
    uint8_t id[32];
    uint8_t owner[32];
    char stage[ENT_OP_NAME_MAX + 1];
    ent_value requested, approved, claimed;
    uint8_t aorder[OBJ_ORDER_LEN]; /* of amount_approved's winning write */
    bool rules_ok; /* its rules give the budget's owner amount_approved */
} mreq;

typedef struct mctx {
    ent_txn *txn;
    const uint8_t *budget;
    const uint8_t *skip;
    uint8_t bowner[32];
    bool have_owner;
    mreq *v;
    size_t n;
    int rc;
} mctx;

static void mreq_clear(mreq *r) {
    ent_value_clear(&r->requested);
    ent_value_clear(&r->approved);
    ent_value_clear(&r->claimed);
}

int ent__obj_field_value(ent_txn *txn, const uint8_t obj[32],
                         const char *name, ent_value *out, uint8_t *order) {
    uint8_t k[32 + ENT_OP_NAME_MAX];
    const uint8_t *v;
    size_t vlen, nl = strlen(name);
    memset(out, 0, sizeof(*out));
    out->type = ENT_VT_NULL;
    if (order != NULL)
        memset(order, 0, OBJ_ORDER_LEN);
    memcpy(k, obj, 32);
    memcpy(k + 32, name, nl);
    int rc = ent_txn_get(txn, ENT_TBL_FIELDS, k, 32 + nl, (const void **)&v,
                         &vlen);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc != ENT_OK)
        return rc;
    if (vlen < OBJ_ORDER_LEN + 1)
        return ENT_ECORRUPT;
    if (order != NULL)
        memcpy(order, v, OBJ_ORDER_LEN);
    rc = ent__obj_value_decode(v + OBJ_ORDER_LEN + 1, vlen - OBJ_ORDER_LEN - 1,
                               out);
    return rc == ENT_ENOMEM ? rc : ENT_OK; /* unreadable: as unset */
}

typedef struct last_row {
    const void *val;
    size_t vlen;
} last_row;

static int last_scan(void *data, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    last_row *l = data;
    (void)key;
    (void)klen;
    l->val = val;
    l->vlen = vlen;
    return 1; /* the first in reverse order: the owner's latest rules */
}

int ent__obj_rules_field_org(ent_txn *txn, const uint8_t obj[32],
                             const char *field, uint8_t org[32], bool *ok) {
    uint8_t pre[33];
    last_row l = {0};
    *ok = false;
    memcpy(pre, obj, 32);
    pre[32] = WR_RULES;
    int rc = ent_txn_scan_reverse(txn, ENT_TBL_WRITES, pre, 33, last_scan, &l);
    if (rc != ENT_OK || l.val == NULL)
        return rc;
    ent_wf_rules *r = malloc(sizeof(*r));
    if (r == NULL)
        return ENT_ENOMEM;
    if (ent_wf_decode(r, l.val, l.vlen) == ENT_OK) {
        const ent_wf_who *w = ent_wf_field_owner(r, field);
        *ok = w != NULL && w->kind == ENT_WF_ORG;
        if (*ok)
            memcpy(org, w->org, 32);
    }
    free(r);
    return ENT_OK;
}

/* Whether the rules the owner gave obj last name org as the one party
 * that writes amount_approved. */
static int rules_name(ent_txn *txn, const uint8_t obj[32],
                      const uint8_t org[32], bool *ok) {
    uint8_t o[32];
    int rc = ent__obj_rules_field_org(txn, obj, "amount_approved", o, ok);
    *ok = *ok && memcmp(o, org, 32) == 0;
    return rc;
}

#define field_get ent__obj_field_value

static int req_one(void *data, const ent_obj_info *o) {
    mctx *c = data;
    ent_value b;
    mreq r;
    int rc;
    if (c->skip != NULL && memcmp(o->id, c->skip, 32) == 0)
        return 0;
    if ((rc = field_get(c->txn, o->id, "budget", &b, NULL)) != ENT_OK)
        return rc;
    bool mine = b.type == ENT_VT_REF && memcmp(b.u.ref, c->budget, 32) == 0;
    ent_value_clear(&b);
    if (!mine)
        return 0;
    memset(&r, 0, sizeof(r));
    memcpy(r.id, o->id, 32);
    memcpy(r.owner, o->owner, 32);
    ent_value st;
    if ((rc = field_get(c->txn, o->id, "stage", &st, NULL)) == ENT_OK &&
        (st.type == ENT_VT_ENUM || st.type == ENT_VT_TEXT) &&
        st.u.text.len <= ENT_OP_NAME_MAX)
        memcpy(r.stage, st.u.text.s, st.u.text.len + 1);
    ent_value_clear(&st);
    if (rc == ENT_OK)
        rc = field_get(c->txn, o->id, "amount_requested", &r.requested, NULL);
    if (rc == ENT_OK)
        rc = field_get(c->txn, o->id, "amount_approved", &r.approved,
                       r.aorder);
    if (rc == ENT_OK)
        rc = field_get(c->txn, o->id, "amount_claimed", &r.claimed, NULL);
    if (rc == ENT_OK && c->have_owner)
        rc = rules_name(c->txn, o->id, c->bowner, &r.rules_ok);
    if (rc == ENT_OK && ent__obj_grow((void **)&c->v, c->n, sizeof(*c->v)) !=
                            ENT_OK)
        rc = ENT_ENOMEM;
    if (rc != ENT_OK) {
        mreq_clear(&r);
        return rc;
    }
    c->v[c->n++] = r;
    return 0;
}

static bool stage_in(const char *s, const char *const *set) {
    for (; *set != NULL; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

static const char *const st_requested[] = {
    "Submitted", "Approved", "Claimed", "Claim Approved", "Paid", NULL};
static const char *const st_approved[] = {"Approved", "Claimed",
                                          "Claim Approved", "Paid", NULL};
static const char *const st_claimed[] = {"Claimed", "Claim Approved", "Paid",
                                         NULL};

static int by_aorder(const void *a, const void *b) {
    const mreq *const *x = a, *const *y = b;
    int c = memcmp((*x)->aorder, (*y)->aorder, OBJ_ORDER_LEN);
    return c ? c : memcmp((*x)->id, (*y)->id, 32);
}

static bool money_in(const ent_value *v, const char *cur) {
    return v->type == ENT_VT_MONEY && strcmp(v->u.money.cur, cur) == 0 &&
           v->u.money.minor >= 0;
}

static bool add_ok(int64_t *sum, int64_t v) {
    return !__builtin_add_overflow(*sum, v, sum);
}

int ent_obj_budget_use(ent_txn *txn, const uint8_t me[32],
                       const uint8_t budget[ENT_OBJ_ID_LEN],
                       const uint8_t *skip, ent_budget_use *u,
                       ent_budget_req_fn fn, void *data) {
    mctx c;
    obj_rec br;
    mreq **ord = NULL;
    int rc;
    memset(&c, 0, sizeof(c));
    memset(u, 0, sizeof(*u));
    c.txn = txn;
    c.budget = budget;
    c.skip = skip;
    /* the budget itself: its owner, its amount (when held) */
    rc = ent__obj_rec_get(txn, budget, &br);
    if (rc == ENT_OK) {
        bool active = false;
        uint8_t role;
        memcpy(c.bowner, br.owner, 32);
        c.have_owner = true;
        memcpy(u->owner, br.owner, 32);
        u->owner_known = true;
        int mrc = ent__obj_member_get(txn, budget, me, &active, &role);
        if (mrc != ENT_OK && mrc != ENT_ENOENT)
            return mrc;
        u->held = mrc == ENT_OK && active && br.status == OBJ_STATUS_ACTIVE &&
                  strcmp(br.type, "mdf_budget") == 0;
        u->complete = u->held && memcmp(br.owner, me, 32) == 0;
        ent_value amt;
        if (u->held &&
            (rc = field_get(txn, budget, "amount", &amt, NULL)) == ENT_OK) {
            if (amt.type == ENT_VT_MONEY && amt.u.money.minor >= 0) {
                memcpy(u->cur, amt.u.money.cur, 4);
                u->amount = amt.u.money.minor;
                u->have_amount = true;
            }
            ent_value_clear(&amt);
        }
        if (rc != ENT_OK)
            return rc;
    } else if (rc != ENT_ENOENT) {
        return rc;
    }
    if ((rc = ent_obj_scan(txn, "mdf_request", NULL, req_one, &c)) != ENT_OK)
        goto out;
    /* the currency: the budget's, else that of the first request's amount */
    for (size_t i = 0; i < c.n && u->cur[0] == '\0'; i++)
        if (c.v[i].requested.type == ENT_VT_MONEY)
            memcpy(u->cur, c.v[i].requested.u.money.cur, 4);
    if ((ord = calloc(c.n ? c.n : 1, sizeof(*ord))) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < c.n; i++)
        ord[i] = &c.v[i];
    qsort(ord, c.n, sizeof(*ord), by_aorder);
    int64_t used = 0;
    for (size_t i = 0; i < c.n && rc == ENT_OK; i++) {
        mreq *r = ord[i];
        ent_budget_req q;
        memset(&q, 0, sizeof(q));
        q.id = r->id;
        q.owner = r->owner;
        q.stage = r->stage;
        q.requested = &r->requested;
        q.approved = &r->approved;
        q.claimed = &r->claimed;
        /* counted: its rules give the budget's owner the approval (a node
         * that does not know the owner trusts the request's own rules) */
        q.counted = !c.have_owner || r->rules_ok;
        if (!q.counted)
            u->nforeign++;
        q.cur = u->cur;
        if (q.counted && stage_in(r->stage, st_requested) &&
            money_in(&r->requested, u->cur)) {
            q.add_requested = r->requested.u.money.minor;
            q.counted = add_ok(&u->requested, q.add_requested);
        }
        if (q.counted && stage_in(r->stage, st_approved) &&
            money_in(&r->approved, u->cur)) {
            int64_t a = r->approved.u.money.minor;
            if (u->have_amount && (a > u->amount - used)) {
                q.over = true; /* beyond what was left at its turn */
                u->nover++;
            } else if (add_ok(&used, a)) {
                q.within = true;
                q.add_approved = a;
                add_ok(&u->approved, a);
                if (stage_in(r->stage, st_claimed) &&
                    money_in(&r->claimed, u->cur)) {
                    q.add_claimed = r->claimed.u.money.minor;
                    add_ok(&u->claimed, q.add_claimed);
                    if (strcmp(r->stage, "Paid") == 0) {
                        q.add_paid = q.add_claimed;
                        add_ok(&u->paid, q.add_paid);
                    }
                }
            }
        }
        u->nrequests++;
        if (fn != NULL)
            rc = fn(data, &q);
    }
    u->left = u->have_amount ? u->amount - u->approved : 0;
out:
    for (size_t i = 0; i < c.n; i++)
        mreq_clear(&c.v[i]);
    free(c.v);
    free(ord);
    return rc;
}

int ent__obj_mdf_check(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                       const ent_op_body *b, char *why, size_t whylen) {
    const ent_value *v = NULL;
    obj_rec r;
    ent_value bud;
    ent_budget_use u;
    int rc;
    for (size_t i = 0; i < b->nfields; i++)
        if (strcmp(b->fields[i].name, "amount_approved") == 0)
            v = &b->fields[i].v;
    if (v == NULL || v->type != ENT_VT_MONEY)
        return ENT_OK;
    if ((rc = ent__obj_rec_get(txn, obj, &r)) != ENT_OK)
        return rc;
    if (strcmp(r.type, "mdf_request") != 0)
        return ENT_OK;
    if ((rc = field_get(txn, obj, "budget", &bud, NULL)) != ENT_OK)
        return rc;
    for (size_t i = 0; i < b->nfields; i++) /* a new link in the same op */
        if (strcmp(b->fields[i].name, "budget") == 0) {
            ent_value_clear(&bud);
            bud = b->fields[i].v; /* no text to own: a ref or null */
            if (bud.type != ENT_VT_REF)
                bud.type = ENT_VT_NULL;
        }
    if (bud.type != ENT_VT_REF) {
        ent_value_clear(&bud);
        return ENT_OK;
    }
    rc = ent_obj_budget_use(txn, eng->me, bud.u.ref, obj, &u, NULL, NULL);
    if (rc != ENT_OK || !u.held || !u.have_amount)
        return rc;
    if (strcmp(v->u.money.cur, u.cur) != 0 ||
        v->u.money.minor > u.amount - u.approved) {
        ent_value lv = {.type = ENT_VT_MONEY};
        char *ls = NULL;
        lv.u.money.minor = u.amount - u.approved;
        memcpy(lv.u.money.cur, u.cur, 4);
        if (ent_value_format(&lv, &ls) != ENT_OK)
            ls = NULL;
        snprintf(why, whylen,
                 "amount_approved is more than the budget has left (%s): "
                 "spec/workflows.md §8",
                 ls ? ls : u.cur);
        free(ls);
        return ENT_EDENIED;
    }
    return ENT_OK;
}

/* ----------------------------------------------------------- the inbox */

typedef struct claims_ctx {
    ent_txn *txn;
    const uint8_t *me;
    json_t *out;
} claims_ctx;

static json_t *value_json(const ent_value *v) {
    json_t *j = NULL;
    if (ent_value_to_json(v, &j) != ENT_OK)
        j = json_null();
    return j;
}

static int claim_one(void *data, const ent_obj_info *o) {
    claims_ctx *c = data;
    ent_value st, name, cl, ap, pop;
    bool mine = false;
    int rc;
    if (!o->active)
        return 0;
    if ((rc = field_get(c->txn, o->id, "stage", &st, NULL)) != ENT_OK)
        return rc;
    bool claimed = (st.type == ENT_VT_ENUM || st.type == ENT_VT_TEXT) &&
                   strcmp(st.u.text.s, "Claimed") == 0;
    ent_value_clear(&st);
    if (!claimed || (rc = rules_name(c->txn, o->id, c->me, &mine)) != ENT_OK ||
        !mine)
        return rc;
    char hex[65];
    ent_value_ref_format(hex, o->id);
    if ((rc = field_get(c->txn, o->id, "name", &name, NULL)) != ENT_OK)
        return rc;
    field_get(c->txn, o->id, "amount_claimed", &cl, NULL);
    field_get(c->txn, o->id, "amount_approved", &ap, NULL);
    field_get(c->txn, o->id, "proof_of_performance", &pop, NULL);
    json_t *row = json_pack("{s:s, s:o, s:o, s:o, s:o}", "object", hex, "name",
                            value_json(&name), "claimed", value_json(&cl),
                            "approved", value_json(&ap),
                            "proof_of_performance", value_json(&pop));
    ent_value_clear(&name);
    ent_value_clear(&cl);
    ent_value_clear(&ap);
    ent_value_clear(&pop);
    if (row == NULL || json_array_append_new(c->out, row) != 0)
        return ENT_ENOMEM;
    return 0;
}

static int claims_fn(ent_txn *txn, void *data) {
    claims_ctx *c = data;
    c->txn = txn;
    json_array_clear(c->out);
    return ent_obj_scan(txn, "mdf_request", NULL, claim_one, c);
}

int ent_obj_claims_json(ent_objects *eng, json_t **out) {
    claims_ctx c = {NULL, eng->me, json_array()};
    *out = NULL;
    if (c.out == NULL)
        return ENT_ENOMEM;
    int rc = ent_store_read(eng->store, claims_fn, &c);
    if (rc != ENT_OK) {
        json_decref(c.out);
        return rc;
    }
    *out = c.out;
    return ENT_OK;
}
