/*
 * derive.c - derived fields: the built-in names, the check of a template's
 * formulas, the conversion of a result to the field's type, and the
 * derived values of one object for `object show` (spec/reports.md
 * "Derived fields").
 */
#include "node/reports/derive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/objects/object.h"
#include "node/objects/value.h"

#define DAY_MS UINT64_C(86400000)
#define DV_SLOTS 64 /* distinct names the formulas of one template use */

static const char *const builtin_names[ENT_DB__COUNT] = {
    "today", "created", "stage_since", "stage_probability"};

bool ent_derive_builtin_find(const ent_template *t, const char *name,
                             size_t len, ent_derive_builtin *which,
                             ent_vtype *type) {
    char nm[ENT_TPL_NAME_MAX + 1];
    if (len == 0 || len > ENT_TPL_NAME_MAX)
        return false;
    memcpy(nm, name, len);
    nm[len] = '\0';
    if (ent_template_field(t, nm) != NULL)
        return false; /* a field of that name hides the built-in */
    for (int k = 0; k < ENT_DB__COUNT; k++)
        if (strcmp(nm, builtin_names[k]) == 0) {
            *which = (ent_derive_builtin)k;
            *type = k == ENT_DB_STAGE_PROBABILITY ? ENT_VT_INT : ENT_VT_DATE;
            return true;
        }
    return false;
}

static void set_day(ent_value *out, uint64_t ms) {
    if (ms == 0 || ms / DAY_MS > INT32_MAX)
        return;
    out->type = ENT_VT_DATE;
    out->u.days = (int32_t)(ms / DAY_MS);
}

void ent_derive_builtin_value(const ent_template *t, ent_derive_builtin which,
                              const ent_value *stage,
                              const ent_derive_facts *facts, ent_value *out) {
    memset(out, 0, sizeof(*out));
    out->type = ENT_VT_NULL;
    switch (which) {
    case ENT_DB_TODAY:
        set_day(out, facts->now_ms);
        break;
    case ENT_DB_CREATED:
        set_day(out, facts->created_ms);
        break;
    case ENT_DB_STAGE_SINCE:
        set_day(out, facts->stage_since_ms);
        break;
    case ENT_DB_STAGE_PROBABILITY:
        if (t->stage_pct == NULL || stage == NULL ||
            (stage->type != ENT_VT_ENUM && stage->type != ENT_VT_TEXT))
            break;
        for (size_t i = 0; i < t->stages.n; i++)
            if (strlen(t->stages.v[i]) == stage->u.text.len &&
                strncasecmp(t->stages.v[i], stage->u.text.s,
                            stage->u.text.len) == 0) {
                if (t->stage_pct[i] >= 0) {
                    out->type = ENT_VT_INT;
                    out->u.i = t->stage_pct[i];
                }
                break;
            }
        break;
    default:
        break;
    }
}

int ent_derive_value(const ent_xval *x, ent_vtype vt, ent_value *out) {
    memset(out, 0, sizeof(*out));
    out->type = ENT_VT_NULL;
    switch (vt) {
    case ENT_VT_INT:
        if (x->t == ENT_XT_NUM) {
            int64_t q = x->u.n / ENT_EXPR_SCALE, r = x->u.n % ENT_EXPR_SCALE;
            if (r * 2 >= ENT_EXPR_SCALE)
                q++;
            else if (r * 2 <= -ENT_EXPR_SCALE)
                q--;
            out->type = ENT_VT_INT;
            out->u.i = q;
        }
        return ENT_OK;
    case ENT_VT_MONEY:
        if (x->t == ENT_XT_MONEY) {
            out->type = ENT_VT_MONEY;
            out->u.money.minor = x->u.m.minor;
            memcpy(out->u.money.cur, x->u.m.cur, 3);
            out->u.money.cur[3] = '\0';
        }
        return ENT_OK;
    case ENT_VT_DATE:
        if (x->t == ENT_XT_DATE) {
            out->type = ENT_VT_DATE;
            out->u.days = x->u.d;
        }
        return ENT_OK;
    case ENT_VT_TEXT:
        if (x->t == ENT_XT_TEXT) {
            char buf[ENT_ORG_ID_LEN + 1];
            const char *s = x->u.s.s;
            size_t len = x->u.s.len;
            if (s == NULL) { /* an org value: its id */
                ent_org_id_format(buf, x->u.s.org);
                s = buf;
                len = strlen(buf);
            }
            if ((out->u.text.s = malloc(len + 1)) == NULL)
                return ENT_ENOMEM;
            memcpy(out->u.text.s, s, len);
            out->u.text.s[len] = '\0';
            out->u.text.len = len;
            out->type = ENT_VT_TEXT;
        }
        return ENT_OK;
    default:
        return ENT_OK;
    }
}

/* ---- the names of a template's formulas ---------------------------------- */

/* The slots of the names the formulas use: a stored field (field >= 0),
 * the implicit stage (field -1, builtin -1) or a built-in (builtin >= 0). */
typedef struct dslot {
    char name[ENT_TPL_NAME_MAX + 1];
    int field;
    int builtin;
    ent_vtype vt;
    bool priv; /* the template keeps the field private */
    bool have;
    ent_value v;
} dslot;

typedef struct dctx {
    const ent_template *t;
    dslot s[DV_SLOTS];
    size_t n;
    bool uses_private; /* the formula being compiled names a private field */
    bool uses_since;
    bool full;
} dctx;

static bool d_lookup(void *data, const char *name, size_t len,
                     ent_vtype *type, unsigned *slot) {
    dctx *c = data;
    char nm[ENT_TPL_NAME_MAX + 1];
    if (len == 0 || len > ENT_TPL_NAME_MAX)
        return false;
    memcpy(nm, name, len);
    nm[len] = '\0';
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->s[i].name, nm) == 0) {
            c->uses_private |= c->s[i].priv;
            c->uses_since |= c->s[i].builtin == ENT_DB_STAGE_SINCE;
            *type = c->s[i].vt;
            *slot = (unsigned)i;
            return true;
        }
    dslot d;
    memset(&d, 0, sizeof(d));
    snprintf(d.name, sizeof(d.name), "%s", nm);
    d.field = d.builtin = -1;
    const ent_tpl_field *f = ent_template_field(c->t, nm);
    ent_derive_builtin b;
    if (f != NULL) {
        if (f->derived != NULL)
            return false; /* no formula names another */
        d.field = (int)(f - c->t->fields);
        d.vt = f->type;
        d.priv = f->visibility == ENT_VIS_PRIVATE;
    } else if (strcmp(nm, ENT_TPL_STAGE_FIELD) == 0 && c->t->stages.n > 0) {
        d.vt = ENT_VT_ENUM;
    } else if (ent_derive_builtin_find(c->t, nm, len, &b, &d.vt)) {
        d.builtin = (int)b;
    } else {
        return false;
    }
    if (c->n == DV_SLOTS) {
        c->full = true;
        return false;
    }
    c->s[c->n] = d;
    c->uses_private |= d.priv;
    c->uses_since |= d.builtin == ENT_DB_STAGE_SINCE;
    *type = d.vt;
    *slot = (unsigned)c->n++;
    return true;
}

int ent_derive_compile(const ent_template *t, const ent_tpl_field *f,
                       ent_expr_lookup lookup, void *data, ent_expr **out,
                       char *err, size_t errlen) {
    (void)t;
    return ent_expr_compile(f->derived, lookup, data, out, err, errlen);
}

/* Whether a formula of static type x fits field type vt. */
static bool fits(ent_xtype x, ent_vtype vt) {
    switch (vt) {
    case ENT_VT_INT:
        return x == ENT_XT_NUM || x == ENT_XT_NULL;
    case ENT_VT_MONEY:
        return x == ENT_XT_MONEY || x == ENT_XT_NULL;
    case ENT_VT_DATE:
        return x == ENT_XT_DATE || x == ENT_XT_NULL;
    case ENT_VT_TEXT:
        return x == ENT_XT_TEXT || x == ENT_XT_NULL;
    default:
        return false;
    }
}

int ent_derive_check(const ent_template *t, char *err, size_t errlen) {
    dctx *c = calloc(1, sizeof(*c));
    int rc = ENT_OK;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (c == NULL)
        return ENT_ENOMEM;
    c->t = t;
    for (size_t i = 0; i < t->nfields && rc == ENT_OK; i++) {
        const ent_tpl_field *f = &t->fields[i];
        char xerr[ENT_EXPR_ERR_MAX];
        ent_expr *e = NULL;
        if (f->derived == NULL)
            continue;
        c->uses_private = false;
        rc = ent_derive_compile(t, f, d_lookup, c, &e, xerr, sizeof(xerr));
        if (rc != ENT_OK) {
            snprintf(err, errlen,
                     "field %s: %s%s", f->name, xerr,
                     c->full ? " (the formulas use too many names)" : "");
            if (c->full)
                rc = ENT_ELIMIT;
        } else if (!fits(ent_expr_type(e), f->type)) {
            snprintf(err, errlen,
                     "field %s: the formula gives a %s, not a value of type "
                     "%s",
                     f->name, ent_xtype_name(ent_expr_type(e)),
                     ent_vtype_name(f->type));
            rc = ENT_EINVAL;
        } else if (f->visibility == ENT_VIS_SHARED && c->uses_private) {
            snprintf(err, errlen,
                     "field %s: a shared derived field may name only shared "
                     "fields (make it private, or leave the private field "
                     "out)",
                     f->name);
            rc = ENT_EINVAL;
        }
        ent_expr_free(e);
    }
    free(c);
    return rc;
}

/* ---- one object ------------------------------------------------------------ */

typedef struct showctx {
    dctx *c;
    uint64_t since_ms;
} showctx;

static int show_field(void *data, const char *name, size_t nlen, bool priv,
                      const uint8_t *blob, size_t blen) {
    dctx *c = data;
    for (size_t i = 0; i < c->n; i++) {
        dslot *s = &c->s[i];
        if (s->builtin >= 0 || strlen(s->name) != nlen ||
            memcmp(s->name, name, nlen) != 0)
            continue;
        if (s->have) /* shared first; private only where none is shared */
            return 0;
        (void)priv;
        int rc = ent_obj_value_decode(blob, blen, &s->v);
        if (rc != ENT_OK)
            return rc;
        s->have = s->v.type != ENT_VT_NULL;
        return 0;
    }
    return 0;
}

static const ent_value *show_slot(void *data, unsigned i) {
    dctx *c = data;
    return i < c->n && c->s[i].have ? &c->s[i].v : NULL;
}

/* The stage slot of c, or NULL. */
static const ent_value *stage_value(const dctx *c) {
    for (size_t i = 0; i < c->n; i++)
        if (c->s[i].builtin < 0 && strcmp(c->s[i].name, "stage") == 0)
            return c->s[i].have ? &c->s[i].v : NULL;
    return NULL;
}

typedef struct since {
    const ent_value *stage;
    uint64_t ms;
} since;

static int since_cb(void *data, uint64_t ms, const uint8_t *blob,
                    size_t blen) {
    since *s = data;
    ent_value v;
    int rc = ent_obj_value_decode(blob, blen, &v);
    if (rc != ENT_OK)
        return rc;
    if ((v.type == ENT_VT_ENUM || v.type == ENT_VT_TEXT) &&
        v.u.text.len == s->stage->u.text.len &&
        strncasecmp(v.u.text.s, s->stage->u.text.s, v.u.text.len) == 0 &&
        ms > s->ms)
        s->ms = ms;
    ent_value_clear(&v);
    return 0;
}

int ent_derive_stage_since(ent_txn *txn, const uint8_t obj[32],
                           const ent_value *stage, uint64_t *ms) {
    since s = {stage, 0};
    *ms = 0;
    if (stage == NULL ||
        (stage->type != ENT_VT_ENUM && stage->type != ENT_VT_TEXT))
        return ENT_OK;
    int rc = ent_obj_field_history(txn, obj, ENT_TPL_STAGE_FIELD, since_cb,
                                   &s);
    *ms = s.ms;
    return rc;
}

typedef struct created {
    const uint8_t *id;
    uint64_t ms;
} created;

static int created_cb(void *data, const ent_obj_info *o) {
    created *c = data;
    if (memcmp(o->id, c->id, 32) == 0)
        c->ms = o->created_ms;
    return 1; /* the first object after the one before id is id, or none */
}

/* The creation time of object id (0: not found). */
static int created_ms(ent_txn *txn, const uint8_t id[32], uint64_t *out) {
    uint8_t before[32];
    bool any = false;
    memcpy(before, id, 32);
    for (int i = 31; i >= 0; i--) { /* id - 1, big-endian */
        if (before[i]-- != 0) {
            any = true;
            break;
        }
    }
    created c = {id, 0};
    int rc = ent_obj_scan(txn, NULL, any ? before : NULL, created_cb, &c);
    *out = c.ms;
    return rc;
}

int ent_derive_show(ent_txn *txn, const ent_template *t,
                    const uint8_t id[32], uint64_t now_ms, bool hide_private,
                    json_t *shown) {
    json_t *d = json_object();
    dctx *c = calloc(1, sizeof(*c));
    ent_expr *ex[ENT_TPL_MAX_FIELDS];
    size_t nex = 0;
    int rc = ENT_ENOMEM;
    size_t nder = 0;
    for (size_t i = 0; i < t->nfields; i++)
        nder += t->fields[i].derived != NULL;
    if (nder == 0) {
        rc = ENT_OK; /* no "derived" key */
        goto out;
    }
    if (d == NULL || c == NULL)
        goto out;
    c->t = t;
    /* compile every formula shown, so that the slots list every name */
    for (size_t i = 0; i < t->nfields; i++) {
        const ent_tpl_field *f = &t->fields[i];
        ex[i] = NULL;
        nex = i + 1;
        if (f->derived == NULL ||
            (hide_private && f->visibility == ENT_VIS_PRIVATE))
            continue;
        c->uses_private = false;
        if (ent_derive_compile(t, f, d_lookup, c, &ex[i], NULL, 0) != ENT_OK)
            ex[i] = NULL; /* a template stored before the check: null */
    }
    for (size_t i = 0; i < c->n; i++) /* built-ins that read the stage */
        if (c->s[i].builtin == ENT_DB_STAGE_PROBABILITY ||
            c->s[i].builtin == ENT_DB_STAGE_SINCE) {
            ent_vtype vt;
            unsigned slot;
            (void)d_lookup(c, ENT_TPL_STAGE_FIELD,
                           strlen(ENT_TPL_STAGE_FIELD), &vt, &slot);
            break;
        }
    if ((rc = ent_obj_fields_scan(txn, id, !hide_private, show_field, c)) !=
        ENT_OK)
        goto out;
    ent_derive_facts facts = {now_ms, 0, 0};
    for (size_t i = 0; i < c->n; i++) {
        if (c->s[i].builtin == ENT_DB_CREATED && facts.created_ms == 0 &&
            (rc = created_ms(txn, id, &facts.created_ms)) != ENT_OK)
            goto out;
        if (c->s[i].builtin == ENT_DB_STAGE_SINCE &&
            (rc = ent_derive_stage_since(txn, id, stage_value(c),
                                         &facts.stage_since_ms)) != ENT_OK)
            goto out;
    }
    for (size_t i = 0; i < c->n; i++)
        if (c->s[i].builtin >= 0) {
            ent_derive_builtin_value(t, (ent_derive_builtin)c->s[i].builtin,
                                     stage_value(c), &facts, &c->s[i].v);
            c->s[i].have = c->s[i].v.type != ENT_VT_NULL;
        }
    rc = ENT_OK;
    for (size_t i = 0; i < t->nfields && rc == ENT_OK; i++) {
        const ent_tpl_field *f = &t->fields[i];
        if (f->derived == NULL ||
            (hide_private && f->visibility == ENT_VIS_PRIVATE))
            continue;
        ent_xval x;
        ent_value v;
        json_t *j = NULL;
        ent_expr_eval(ex[i], show_slot, c, &x);
        if ((rc = ent_derive_value(&x, f->type, &v)) != ENT_OK)
            break;
        rc = ent_value_to_json(&v, &j);
        ent_value_clear(&v);
        if (rc == ENT_OK && json_object_set_new(d, f->name, j) != 0)
            rc = ENT_ENOMEM;
    }
    if (rc == ENT_OK && json_object_set(shown, "derived", d) != 0)
        rc = ENT_ENOMEM;
out:
    for (size_t i = 0; i < nex; i++)
        ent_expr_free(ex[i]);
    if (c != NULL)
        for (size_t i = 0; i < c->n; i++)
            ent_value_clear(&c->s[i].v);
    free(c);
    json_decref(d);
    return rc;
}
