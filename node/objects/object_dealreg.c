/*
 * object_dealreg.c - deal registrations (spec/workflows.md §9): the likely
 * conflicts of a registration with the other registrations and the
 * opportunities this node holds (node/work/dealreg.c scores them), the
 * rule that at most one registration per account and solution is
 * approved and unexpired (this node's engine refuses the move or expiry
 * that would break it), the order in which this node first recorded each
 * (its activity log, never a clock), the approver's decision in one call,
 * and the registrations that wait on this org.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/audit/actlog.h"
#include "node/err.h"
#include "node/objects/object_int.h"
#include "node/objects/value.h"
#include "node/work/dealreg.h"

#define DR_TYPE "deal_registration"
#define DR_STEP "registration"
#define DR_CONFLICTS_MAX 20 /* conflicts listed per registration */
#define MS_PER_DAY 86400000ULL

/* What one registration or opportunity is, as matching reads it. */
typedef struct dr_item {
    uint8_t id[32], owner[32];
    bool reg; /* a deal_registration (else an opportunity) */
    ent_dr_key key;
    char stage[ENT_OP_NAME_MAX + 1];
    bool has_exp;
    int32_t exp;
    bool has_appr; /* its rules name one org for expires */
    uint8_t appr[32];
    bool has_first;
    uint64_t first; /* its first entry in this node's log */
} dr_item;

/* A text field's bytes (NULL, 0 when not text). */
static const char *text_of(const ent_value *v, size_t *len) {
    if (v->type != ENT_VT_TEXT && v->type != ENT_VT_ENUM) {
        *len = 0;
        return NULL;
    }
    *len = v->u.text.len;
    return v->u.text.s;
}

/* The value of field name: from the op's body b when it writes it (may be
 * NULL), else the stored one. *own tells whether out must be cleared. */
static int value_of(ent_txn *txn, const uint8_t obj[32], const ent_op_body *b,
                    const char *name, ent_value *out, bool *own) {
    for (size_t i = 0; b != NULL && i < b->nfields; i++)
        if (strcmp(b->fields[i].name, name) == 0) {
            *out = b->fields[i].v;
            *own = false;
            return ENT_OK;
        }
    *own = true;
    return ent__obj_field_value(txn, obj, name, out, NULL);
}

static void value_drop(ent_value *v, bool own) {
    if (own)
        ent_value_clear(v);
}

/* Its approver and the first entry of this node's log naming it. */
static int item_finish(ent_txn *txn, dr_item *it) {
    int rc = ENT_OK;
    if (it->reg)
        rc = ent__obj_rules_field_org(txn, it->id, "expires", it->appr,
                                      &it->has_appr);
    if (rc == ENT_OK) {
        int lr = ent_actlog_object_first(txn, it->id, &it->first);
        it->has_first = lr == ENT_OK;
        if (lr != ENT_OK && lr != ENT_ENOENT)
            rc = lr;
    }
    return rc;
}

/* Reads item it of obj (type reg or not) with b's writes over the stored
 * fields: its key, stage and expiry; and, when full, item_finish. */
static int item_read(ent_txn *txn, const uint8_t obj[32],
                     const uint8_t owner[32], bool reg, const ent_op_body *b,
                     const ent_op_header *h, bool full, dr_item *it) {
    ent_value name, dom, sol, st, ex;
    bool on = false, od = false, os = false, ost = false, oe = false;
    size_t nl, dl, sl;
    memset(it, 0, sizeof(*it));
    memcpy(it->id, obj, 32);
    memcpy(it->owner, owner, 32);
    it->reg = reg;
    int rc = value_of(txn, obj, b, "customer_account", &name, &on);
    if (rc == ENT_OK)
        rc = value_of(txn, obj, b, "account_domain", &dom, &od);
    if (rc == ENT_OK)
        rc = value_of(txn, obj, b, "solution", &sol, &os);
    if (rc == ENT_OK)
        rc = value_of(txn, obj, b, "stage", &st, &ost);
    if (rc == ENT_OK)
        rc = value_of(txn, obj, b, "expires", &ex, &oe);
    if (rc == ENT_OK) {
        const char *n = text_of(&name, &nl), *d = text_of(&dom, &dl),
                   *s = text_of(&sol, &sl);
        ent_dr_key_make(&it->key, n, nl, d, dl, s, sl);
        size_t tl;
        const char *t = text_of(&st, &tl);
        if (h != NULL && h->kind == ENT_OP_STAGE) {
            t = b->text;
            tl = b->textlen;
        }
        if (t != NULL && tl <= ENT_OP_NAME_MAX) {
            memcpy(it->stage, t, tl);
            it->stage[tl] = '\0';
        }
        it->has_exp = ex.type == ENT_VT_DATE;
        it->exp = it->has_exp ? ex.u.days : 0;
    }
    value_drop(&name, on);
    value_drop(&dom, od);
    value_drop(&sol, os);
    value_drop(&st, ost);
    value_drop(&ex, oe);
    if (rc == ENT_OK && full)
        rc = item_finish(txn, it);
    return rc;
}

static int32_t today(const ent_objects *eng) {
    return (int32_t)(ent__obj_wall(eng) / MS_PER_DAY);
}

/* Approved and not expired today (no expiry: not expired). */
static bool holds_now(const dr_item *it, int32_t day) {
    return it->reg && strcmp(it->stage, "Approved") == 0 &&
           (!it->has_exp || it->exp >= day);
}

/* ------------------------------------------------------------ the scan */

typedef struct scan_ctx {
    ent_txn *txn;
    const dr_item *self;
    dr_item *v;
    size_t n;
} scan_ctx;

static int scan_one(void *data, const ent_obj_info *o) {
    scan_ctx *c = data;
    dr_item it;
    if (memcmp(o->id, c->self->id, 32) == 0)
        return 0;
    bool reg = strcmp(o->type, DR_TYPE) == 0;
    int rc = item_read(c->txn, o->id, o->owner, reg, NULL, NULL, false, &it);
    if (rc != ENT_OK)
        return rc;
    if (ent_dr_score(&c->self->key, &it.key, NULL) < ENT_DR_MATCH_MIN)
        return 0;
    if ((rc = item_finish(c->txn, &it)) != ENT_OK)
        return rc;
    if (ent__obj_grow((void **)&c->v, c->n, sizeof(*c->v)) != ENT_OK)
        return ENT_ENOMEM;
    c->v[c->n++] = it;
    return 0;
}

/* Every registration and opportunity this node holds that scores at least
 * ENT_DR_MATCH_MIN against self; the caller frees c->v. */
static int scan_all(ent_txn *txn, const dr_item *self, scan_ctx *c) {
    memset(c, 0, sizeof(*c));
    c->txn = txn;
    c->self = self;
    int rc = ent_obj_scan(txn, DR_TYPE, NULL, scan_one, c);
    if (rc == ENT_OK)
        rc = ent_obj_scan(txn, "opportunity", NULL, scan_one, c);
    return rc;
}

/* ----------------------------------------------------------- the rule */

static void date_text(char out[16], int32_t days) {
    int y, m, d;
    if (ent_date_to_ymd(days, &y, &m, &d) != ENT_OK)
        snprintf(out, 16, "?");
    else
        snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
}

int ent__obj_dealreg_check(ent_objects *eng, ent_txn *txn,
                           const uint8_t obj[32], const ent_op_header *h,
                           const ent_op_body *b, char *why, size_t whylen) {
    obj_rec r;
    dr_item self;
    scan_ctx c = {0};
    bool moves = h->kind == ENT_OP_STAGE, touches = moves;
    for (size_t i = 0; h->kind == ENT_OP_SET && i < b->nfields; i++) {
        moves = moves || strcmp(b->fields[i].name, "stage") == 0;
        touches = touches || moves || strcmp(b->fields[i].name, "expires") == 0;
    }
    if (!touches)
        return ENT_OK;
    int rc = ent__obj_rec_get(txn, obj, &r);
    if (rc != ENT_OK || strcmp(r.type, DR_TYPE) != 0)
        return rc;
    if ((rc = item_read(txn, obj, r.owner, true, b, h, true, &self)) != ENT_OK)
        return rc;
    int32_t day = today(eng);
    if (strcmp(self.stage, "Approved") != 0)
        return ENT_OK;
    if (!moves && self.has_exp && self.exp < day)
        return ENT_OK; /* the approver ends it early */
    if (!self.has_exp || self.exp < day) {
        snprintf(why, whylen,
                 "an approved deal registration needs an expiry date from "
                 "today on (--expires YYYY-MM-DD): spec/workflows.md §9");
        return ENT_EDENIED;
    }
    if ((rc = scan_all(txn, &self, &c)) != ENT_OK)
        goto out;
    for (size_t i = 0; i < c.n; i++) {
        const dr_item *o = &c.v[i];
        if (!holds_now(o, day) ||
            ent_dr_score(&self.key, &o->key, NULL) < ENT_DR_SAME_ACCOUNT ||
            !ent_dr_same_solution(&self.key, &o->key) ||
            o->has_appr != self.has_appr ||
            (self.has_appr && memcmp(o->appr, self.appr, 32) != 0))
            continue;
        char hex[65], d[16] = "no expiry";
        ent_value_ref_format(hex, o->id);
        if (o->has_exp)
            date_text(d, o->exp);
        snprintf(why, whylen,
                 "registration %.12s of the same account (%s) and solution "
                 "(%s) is approved until %s: at most one approved, "
                 "unexpired registration per account and solution "
                 "(spec/workflows.md §9)",
                 hex, o->key.domain[0] ? o->key.domain : o->key.name,
                 o->key.solution, d);
        rc = ENT_EDENIED;
        break;
    }
out:
    free(c.v);
    return rc;
}

/* ------------------------------------------------------------ to show */

typedef struct ranked {
    const dr_item *it;
    unsigned score;
    ent_dr_match m;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->it->has_first != y->it->has_first)
        return x->it->has_first ? -1 : 1;
    if (x->it->first != y->it->first)
        return x->it->first < y->it->first ? -1 : 1;
    return memcmp(x->it->id, y->it->id, 32);
}

static json_t *first_json(const dr_item *it) {
    return it->has_first ? json_integer((json_int_t)it->first) : json_null();
}

/* {"log_index","conflicts":[...],"more"} of self against what c found. */
static json_t *conflicts_json(const ent_objects *eng, const dr_item *self,
                              const scan_ctx *c) {
    ranked *rk = c->n ? calloc(c->n, sizeof(*rk)) : NULL;
    json_t *arr = json_array();
    json_t *o = json_pack(
        "{s:o, s:o, s:o}", "log_index", first_json(self), "account",
        json_string(self->key.domain[0] ? self->key.domain : self->key.name),
        "solution", json_string(self->key.solution));
    int32_t day = today(eng);
    if ((c->n && rk == NULL) || arr == NULL || o == NULL)
        goto fail;
    for (size_t i = 0; i < c->n; i++) {
        rk[i].it = &c->v[i];
        rk[i].score = ent_dr_score(&self->key, &c->v[i].key, &rk[i].m);
    }
    if (c->n > 1)
        qsort(rk, c->n, sizeof(*rk), cmp_ranked);
    for (size_t i = 0; i < c->n && i < DR_CONFLICTS_MAX; i++) {
        const dr_item *it = rk[i].it;
        char hex[65], org[ENT_ORG_ID_LEN + 1], d[16];
        ent_value_ref_format(hex, it->id);
        ent_org_id_format(org, it->owner);
        json_t *x = json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:b, s:o, s:b, s:b}",
            "object", hex, "type", it->reg ? DR_TYPE : "opportunity", "owner",
            org, "account", it->key.domain[0] ? it->key.domain : it->key.name,
            "solution", it->key.solution, "stage", it->stage, "score",
            (json_int_t)rk[i].score, "match", ent_dr_match_name(rk[i].m),
            "same_solution", ent_dr_same_solution(&self->key, &it->key),
            "log_index", first_json(it), "earlier",
            it->has_first && (!self->has_first || it->first < self->first),
            "holds", holds_now(it, day));
        if (x != NULL && it->has_exp) {
            date_text(d, it->exp);
            json_object_set_new(x, "expires", json_string(d));
        }
        if (x == NULL || json_array_append_new(arr, x) != 0)
            goto fail;
    }
    json_object_set_new(o, "more",
                        json_integer(c->n > DR_CONFLICTS_MAX
                                         ? (json_int_t)(c->n - DR_CONFLICTS_MAX)
                                         : 0));
    if (json_object_set_new(o, "conflicts", arr) != 0) {
        arr = NULL;
        goto fail;
    }
    free(rk);
    return o;
fail:
    free(rk);
    json_decref(arr);
    json_decref(o);
    return NULL;
}

/* The registration block of obj for its approver, me; NULL when obj is no
 * deal_registration or me is not its approver. */
static int reg_json(const ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                    const obj_rec *r, json_t **out) {
    dr_item self;
    scan_ctx c = {0};
    *out = NULL;
    if (strcmp(r->type, DR_TYPE) != 0)
        return ENT_OK;
    int rc = item_read(txn, obj, r->owner, true, NULL, NULL, true, &self);
    if (rc != ENT_OK || !self.has_appr || memcmp(self.appr, eng->me, 32) != 0)
        return rc;
    if ((rc = scan_all(txn, &self, &c)) == ENT_OK) {
        *out = conflicts_json(eng, &self, &c);
        if (*out == NULL)
            rc = ENT_ENOMEM;
        else
            json_object_set_new(*out, "holds",
                                json_boolean(holds_now(&self, today(eng))));
    }
    free(c.v);
    return rc;
}

int ent__obj_dealreg_show(const ent_objects *eng, ent_txn *txn,
                          const uint8_t obj[32], json_t **out) {
    obj_rec r;
    *out = NULL;
    int rc = ent__obj_rec_get(txn, obj, &r);
    return rc == ENT_OK ? reg_json(eng, txn, obj, &r, out) : rc;
}

/* ----------------------------------------------------------- the inbox */

typedef struct inbox_ctx {
    const ent_objects *eng;
    ent_txn *txn;
    json_t *out;
} inbox_ctx;

static json_t *field_json(ent_txn *txn, const uint8_t obj[32],
                          const char *name) {
    ent_value v;
    json_t *j = NULL;
    if (ent__obj_field_value(txn, obj, name, &v, NULL) != ENT_OK)
        return json_null();
    if (ent_value_to_json(&v, &j) != ENT_OK || j == NULL)
        j = json_null();
    ent_value_clear(&v);
    return j;
}

static int inbox_one(void *data, const ent_obj_info *o) {
    inbox_ctx *c = data;
    obj_rec r;
    json_t *reg = NULL;
    if (!o->active)
        return 0;
    int rc = ent__obj_rec_get(c->txn, o->id, &r);
    if (rc == ENT_OK)
        rc = reg_json(c->eng, c->txn, o->id, &r, &reg);
    if (rc != ENT_OK || reg == NULL)
        return rc;
    json_t *st = field_json(c->txn, o->id, "stage");
    bool waits =
        json_is_string(st) && strcmp(json_string_value(st), "Submitted") == 0;
    json_decref(st);
    if (!waits) {
        json_decref(reg);
        return 0;
    }
    char hex[65];
    ent_value_ref_format(hex, o->id);
    static const char *const keys[] = {"name",           "customer_account",
                                       "account_domain", "solution",
                                       "amount",         "close_date"};
    rc = json_object_set_new(reg, "object", json_string(hex)) == 0 ? ENT_OK
                                                                   : ENT_ENOMEM;
    for (size_t i = 0; rc == ENT_OK && i < sizeof(keys) / sizeof(*keys); i++)
        if (json_object_set_new(reg, keys[i],
                                field_json(c->txn, o->id, keys[i])) != 0)
            rc = ENT_ENOMEM;
    if (rc == ENT_OK && json_array_append_new(c->out, reg) != 0)
        rc = ENT_ENOMEM;
    else if (rc != ENT_OK)
        json_decref(reg);
    return rc;
}

static int inbox_fn(ent_txn *txn, void *data) {
    inbox_ctx *c = data;
    c->txn = txn;
    json_array_clear(c->out);
    return ent_obj_scan(txn, DR_TYPE, NULL, inbox_one, c);
}

int ent_obj_registrations_json(ent_objects *eng, json_t **out) {
    inbox_ctx c = {eng, NULL, json_array()};
    *out = NULL;
    if (c.out == NULL)
        return ENT_ENOMEM;
    int rc = ent_store_read(eng->store, inbox_fn, &c);
    if (rc != ENT_OK) {
        json_decref(c.out);
        return rc;
    }
    *out = c.out;
    return ENT_OK;
}

/* ----------------------------------------------------------- deciding */

typedef struct type_ctx {
    const uint8_t *obj;
    obj_rec r;
} type_ctx;

static int type_fn(ent_txn *txn, void *data) {
    type_ctx *c = data;
    return ent__obj_rec_get(txn, c->obj, &c->r);
}

/* Parses "YYYY-MM-DD" strictly. */
static bool parse_date(const char *s, int32_t *days) {
    int y, m, d, n = 0;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 ||
        n != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    return ent_date_from_ymd(y, m, d, days) == ENT_OK;
}

typedef struct pre_ctx {
    ent_objects *eng;
    const uint8_t *obj;
    const ent_op_body *b;
    char *why;
    size_t whylen;
} pre_ctx;

static int pre_fn(ent_txn *txn, void *data) {
    pre_ctx *c = data;
    ent_op_header h;
    memset(&h, 0, sizeof(h));
    h.kind = ENT_OP_SET;
    return ent__obj_dealreg_check(c->eng, txn, c->obj, &h, c->b, c->why,
                                  c->whylen);
}

int ent_obj_decide(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                   const char *step, bool reject, const char *comment,
                   const char *expires, ent_op *ops_out[2], char *err,
                   size_t errlen) {
    type_ctx t = {.obj = id};
    ops_out[0] = ops_out[1] = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    int rc = ent_store_read(eng->store, type_fn, &t);
    if (rc != ENT_OK)
        return rc;
    if (strcmp(t.r.type, DR_TYPE) != 0) {
        if (expires != NULL) {
            snprintf(err, errlen,
                     "--expires is for deal registrations "
                     "only (spec/workflows.md §9)");
            return ENT_EINVAL;
        }
        return ent_obj_approve(eng, id, step, reject, comment, &ops_out[0], err,
                               errlen);
    }
    if (step != NULL && strcmp(step, DR_STEP) != 0) {
        snprintf(err, errlen, "a deal registration has one step, \"%s\"",
                 DR_STEP);
        return ENT_EINVAL;
    }
    if (reject) {
        if (comment == NULL || comment[0] == '\0') {
            snprintf(err, errlen, "a rejection needs a reason");
            return ENT_EINVAL;
        }
        if (expires != NULL) {
            snprintf(err, errlen, "a rejection takes no expiry");
            return ENT_EINVAL;
        }
        if ((rc = ent_obj_approve(eng, id, DR_STEP, true, comment, &ops_out[0],
                                  err, errlen)) != ENT_OK)
            return rc;
        return ent_obj_stage(eng, id, "Rejected", &ops_out[1], err, errlen);
    }
    int32_t days;
    if (expires == NULL || !parse_date(expires, &days)) {
        snprintf(err, errlen,
                 "approving a deal registration needs --expires "
                 "YYYY-MM-DD (a valid date)");
        return ENT_EINVAL;
    }
    /* the rule first, so that no approval is made for a move the engine
     * would refuse */
    ent_op_field f[2];
    memset(f, 0, sizeof(f));
    strcpy(f[0].name, "expires");
    f[0].v.type = ENT_VT_DATE;
    f[0].v.u.days = days;
    strcpy(f[1].name, "stage");
    f[1].v.type = ENT_VT_ENUM;
    f[1].v.u.text.s = (char *)"Approved";
    f[1].v.u.text.len = 8;
    ent_op_body b;
    memset(&b, 0, sizeof(b));
    b.fields = f;
    b.nfields = 2;
    pre_ctx pc = {eng, id, &b, err, errlen};
    if ((rc = ent_store_read(eng->store, pre_fn, &pc)) != ENT_OK)
        return rc;
    if ((rc = ent_obj_approve(eng, id, DR_STEP, false, comment, &ops_out[0],
                              err, errlen)) != ENT_OK)
        return rc;
    ent_obj_input in[] = {{"expires", expires, ENT_IN_SHARED},
                          {"stage", "Approved", ENT_IN_SHARED}};
    return ent_obj_set(eng, id, in, 2, &ops_out[1], err, errlen);
}
