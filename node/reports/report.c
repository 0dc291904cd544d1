/*
 * report.c - the report engine (spec/reports.md): one pass over the
 * objects of a type in one read transaction, each object's needed fields
 * decoded into slots, the caller's policy decided per object and per used
 * field, the --where expression and date range applied, and the measures
 * of the report added into groups keyed by the --by columns. Money is
 * summed per currency, or converted with the org's rates table first.
 * The JSON and CSV forms of the result are in report_out.c.
 */
#include "node/reports/report.h"
#include "node/reports/report_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "node/access/access.h"
#include "node/err.h"
#include "node/objects/object.h"
#include "node/objects/template.h"
#include "node/objects/value.h"
#include "node/reports/expr.h"

static const char *const kind_names[ENT_RPT__COUNT] = {
    "pipeline",   "attribution", "win-rate", "deal-size",
    "cycle-time", "mdf",         "plan"};

const char *ent_rpt_kind_name(ent_rpt_kind k) {
    return k < ENT_RPT__COUNT ? kind_names[k] : NULL;
}

int ent_rpt_kind_parse(const char *s, ent_rpt_kind *out) {
    for (int k = 0; s != NULL && k < ENT_RPT__COUNT; k++)
        if (strcmp(s, kind_names[k]) == 0) {
            *out = (ent_rpt_kind)k;
            return ENT_OK;
        }
    return ENT_EINVAL;
}

static int failf(rpt *r, int rc, const char *fmt, ...) {
    if (r->rc != ENT_OK)
        return r->rc;
    va_list ap;
    va_start(ap, fmt);
    if (r->err != NULL && r->errlen > 0)
        vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
    r->rc = rc;
    return rc;
}

/* ---- slots --------------------------------------------------------------- */

/* The slot of field name (len bytes), added when new; -1 when full. */
static int slot_of(rpt *r, const char *name, size_t len) {
    for (size_t i = 0; i < r->nslots; i++)
        if (r->slots[i].nlen == len && memcmp(r->slots[i].name, name, len) == 0)
            return (int)i;
    if (r->nslots == RPT_SLOTS_MAX || len > ENT_TPL_NAME_MAX)
        return -1;
    rslot *s = &r->slots[r->nslots];
    memset(s, 0, sizeof(*s));
    memcpy(s->name, name, len);
    s->nlen = len;
    s->builtin = -1;
    const ent_tpl_field *f = ent_template_field(r->tpl, s->name);
    ent_derive_builtin b;
    if (f != NULL) {
        s->vt = f->type;
        s->listed = true;
        s->derived = f->derived != NULL ? f : NULL;
    } else if (ent_derive_builtin_find(r->tpl, s->name, len, &b, &s->vt)) {
        s->builtin = (int)b;
        s->listed = true;
        r->uses_since |= b == ENT_DB_STAGE_SINCE;
    } else if (strcmp(s->name, ENT_TPL_STAGE_FIELD) == 0 &&
               r->tpl->stages.n > 0) {
        s->vt = ENT_VT_ENUM;
        s->listed = true;
    } else {
        s->vt = ENT_VT_TEXT; /* a custom field: text */
    }
    return (int)r->nslots++;
}

/* A field the report needs: its slot, or an error naming it. */
static int need_field(rpt *r, const char *name, const char *what) {
    const char *sh = ent_fieldmap_shared_name(r->fm, name, strlen(name));
    if (sh != NULL) /* the org's own name of a shared field */
        name = sh;
    if (!ent_template_name_valid(name)) {
        failf(r, ENT_EINVAL, "%s: '%.64s' is not a field name", what, name);
        return -1;
    }
    int s = slot_of(r, name, strlen(name));
    if (s < 0) {
        failf(r, ENT_ELIMIT, "%s: too many fields (at most %d)", what,
              RPT_SLOTS_MAX);
        return -1;
    }
    if (!r->slots[s].listed) {
        const char *near = ent_template_suggest(r->tpl, name);
        failf(r, ENT_EINVAL, "%s: template %s has no field %.64s%s%s%s", what,
              r->tpl->type, name, near ? "; did you mean " : "",
              near ? near : "", near ? "?" : "");
        return -1;
    }
    return s;
}

static bool expr_lookup(void *data, const char *name, size_t len,
                        ent_vtype *type, unsigned *slot) {
    rpt *r = data;
    char nm[ENT_TPL_NAME_MAX + 1];
    if (len == 0 || len > ENT_TPL_NAME_MAX)
        return false;
    memcpy(nm, name, len);
    nm[len] = '\0';
    const char *sh =
        r->in_formula ? NULL : ent_fieldmap_shared_name(r->fm, nm, len);
    if (sh != NULL) { /* the org's own name of a shared field */
        snprintf(nm, sizeof(nm), "%s", sh);
        len = strlen(nm);
    }
    if (!ent_template_name_valid(nm))
        return false;
    int s = slot_of(r, nm, len);
    if (s < 0 || !r->slots[s].listed ||
        (r->in_formula && r->slots[s].derived != NULL))
        return false;
    r->slots[s].used = true;
    *type = r->slots[s].vt;
    *slot = (unsigned)s;
    return true;
}

/* --where: an own value compared with a field becomes its shared value. */
static const char *where_value(void *data, unsigned slot, const char *s,
                               size_t len) {
    rpt *r = data;
    return slot < r->nslots
               ? ent_fieldmap_shared_value(r->fm, r->slots[slot].name, s, len)
               : NULL;
}

static const ent_value *slot_value(void *data, unsigned i) {
    rpt *r = data;
    return i < r->nslots && r->slots[i].have ? &r->slots[i].v : NULL;
}

/* ---- options ------------------------------------------------------------- */

static int parse_day(rpt *r, const char *s, const char *what, int32_t *out) {
    int y, m, d;
    char tail;
    if (s == NULL || strlen(s) != 10 ||
        sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || s[4] != '-' ||
        s[7] != '-' || ent_date_from_ymd(y, m, d, out) != ENT_OK)
        return failf(r, ENT_EINVAL, "%s wants a date YYYY-MM-DD, got '%.32s'",
                     what, s ? s : "");
    return ENT_OK;
}

static const char *default_by(ent_rpt_kind k) {
    switch (k) {
    case ENT_RPT_PIPELINE:
        return "stage";
    case ENT_RPT_ATTRIBUTION:
        return "";
    case ENT_RPT_WIN_RATE:
    case ENT_RPT_DEAL_SIZE:
        return "partner,quarter";
    default:
        return "partnered";
    }
}

/* One --by column: FIELD, FIELD:month|quarter|year, partner, partnered,
 * month, quarter, year (the date field's buckets). */
static int parse_by_one(rpt *r, const char *s, size_t len) {
    static const char *const buckets[] = {"", "month", "quarter", "year"};
    rby *b = &r->by[r->nby];
    char name[ENT_TPL_NAME_MAX + 16];
    if (len == 0 || len >= sizeof(name))
        return failf(r, ENT_EINVAL,
                     "--by: an empty or over-long column at byte %zu",
                     (size_t)(s - r->o->by) + 1);
    memcpy(name, s, len);
    name[len] = '\0';
    memset(b, 0, sizeof(*b));
    b->slot = b->slot2 = -1;
    snprintf(b->label, sizeof(b->label), "%s", name);
    char *colon = strchr(name, ':');
    if (colon != NULL) {
        *colon = '\0';
        for (int k = 1; k < 4; k++)
            if (strcmp(colon + 1, buckets[k]) == 0)
                b->bucket = k;
        if (b->bucket == 0)
            return failf(r, ENT_EINVAL,
                         "--by %s: the bucket of a date is month, quarter or "
                         "year",
                         b->label);
    }
    for (int k = 1; k < 4 && colon == NULL; k++)
        if (strcmp(name, buckets[k]) == 0) {
            b->bucket = k;
            snprintf(name, sizeof(name), "%s", r->datef);
        }
    if (colon == NULL &&
        (strcmp(name, "partner") == 0 || strcmp(name, "partnered") == 0)) {
        b->kind = strcmp(name, "partner") == 0 ? BY_PARTNER : BY_PARTNERED;
        if ((b->slot = need_field(r, "sourced_by", "--by")) < 0 ||
            (b->slot2 = need_field(r, "influenced_by", "--by")) < 0)
            return r->rc;
        r->slots[b->slot].used = r->slots[b->slot2].used = true;
        r->nby++;
        return ENT_OK;
    }
    if ((b->slot = need_field(r, name, "--by")) < 0)
        return r->rc;
    r->slots[b->slot].used = true;
    if (b->bucket != 0 && r->slots[b->slot].vt != ENT_VT_DATE)
        return failf(r, ENT_EINVAL, "--by %s: %s is not a date field", b->label,
                     name);
    b->is_stage = strcmp(r->slots[b->slot].name, ENT_TPL_STAGE_FIELD) == 0;
    const char *own = ent_fieldmap_own_name(r->fm, r->slots[b->slot].name);
    if (own != NULL && (colon != NULL || b->bucket == 0)) /* own name */
        snprintf(b->label, sizeof(b->label), "%s%s%s", own,
                 colon != NULL ? ":" : "", colon != NULL ? colon + 1 : "");
    r->nby++;
    return ENT_OK;
}

static int parse_by(rpt *r) {
    const char *by = r->o->by != NULL ? r->o->by : default_by(r->o->kind);
    if (r->o->kind == ENT_RPT_ATTRIBUTION) { /* the partner is implicit */
        rby *b = &r->by[r->nby++];
        memset(b, 0, sizeof(*b));
        b->kind = BY_ROLE_PARTNER;
        snprintf(b->label, sizeof(b->label), "partner");
        if ((b->slot = need_field(r, "sourced_by", "attribution")) < 0 ||
            (b->slot2 = need_field(r, "influenced_by", "attribution")) < 0)
            return r->rc;
        r->slots[b->slot].used = r->slots[b->slot2].used = true;
    }
    if (strlen(by) > 512)
        return failf(r, ENT_ELIMIT, "--by: longer than 512 bytes");
    const char *p = by;
    while (*p != '\0') {
        size_t l = strcspn(p, ",");
        if (r->nby == ENT_RPT_BY_MAX)
            return failf(r, ENT_ELIMIT, "--by: at most %d columns",
                         ENT_RPT_BY_MAX);
        if (parse_by_one(r, p, l) != ENT_OK)
            return r->rc;
        p += l;
        if (*p == ',' && *++p == '\0')
            return failf(r, ENT_EINVAL, "--by: an empty column at the end");
    }
    for (size_t i = 0; i < r->nby; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->by[i].label, r->by[j].label) == 0)
                return failf(r, ENT_EINVAL, "--by: column %s given twice",
                             r->by[i].label);
    return ENT_OK;
}

/* "FROM/TO=RATE" entries of the rates table into r->rates. */
static int load_rates(rpt *r) {
    ent_strlist l = {0};
    int rc = ent_config_get_list(r->txn, ENT_RPT_RATES_TABLE, &l);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc != ENT_OK)
        return failf(r, rc, "reading the rates table: %s", ent_strerror(rc));
    for (size_t i = 0; i < l.n && r->nrates < RPT_RATES_MAX; i++) {
        const char *s = l.v[i];
        rrate *x = &r->rates[r->nrates];
        char from[4], to[4];
        unsigned e;
        if (strlen(s) < 9 || s[3] != '/' || s[7] != '=')
            continue; /* not a rate: reported when it is needed */
        memcpy(from, s, 3);
        memcpy(to, s + 4, 3);
        from[3] = to[3] = '\0';
        int64_t v = 0;
        int frac = -1;
        bool ok = ent_currency_exponent(from, &e) == ENT_OK &&
                  ent_currency_exponent(to, &e) == ENT_OK;
        for (const char *q = s + 8; ok && *q; q++) {
            if (*q == '.' && frac < 0) {
                frac = 0;
                continue;
            }
            ok = *q >= '0' && *q <= '9' && (frac < 0 || ++frac <= 9) &&
                 !__builtin_mul_overflow(v, 10, &v) &&
                 !__builtin_add_overflow(v, *q - '0', &v);
        }
        for (int k = frac < 0 ? 0 : frac; ok && k < 9; k++)
            ok = !__builtin_mul_overflow(v, 10, &v);
        if (!ok || v <= 0)
            continue;
        memcpy(x->from, from, 4);
        memcpy(x->to, to, 4);
        x->scaled = v;
        snprintf(x->text, sizeof(x->text), "%.40s", s + 8);
        r->nrates++;
    }
    ent_strlist_free(&l);
    return ENT_OK;
}

static int64_t pow10i(unsigned e) {
    int64_t v = 1;
    while (e-- > 0)
        v *= 10;
    return v;
}

/* Converts minor units of cur into r->cur: direct rate, else inverse. */
static int convert(rpt *r, const char cur[4], int64_t minor, int64_t *out) {
    unsigned ef, et;
    if (memcmp(cur, r->cur, 3) == 0) {
        *out = minor;
        return ENT_OK;
    }
    if (ent_currency_exponent(cur, &ef) != ENT_OK ||
        ent_currency_exponent(r->cur, &et) != ENT_OK)
        return failf(r, ENT_EINVAL,
                     "--currency: cannot convert amounts in %.3s (a currency "
                     "this build does not know)",
                     cur);
    for (size_t i = 0; i < r->nrates; i++) {
        rrate *x = &r->rates[i];
        bool direct =
            memcmp(x->from, cur, 3) == 0 && memcmp(x->to, r->cur, 3) == 0;
        bool inverse =
            memcmp(x->to, cur, 3) == 0 && memcmp(x->from, r->cur, 3) == 0;
        if (!direct && !inverse)
            continue;
        __int128 num = (__int128)minor * pow10i(et);
        __int128 den = (__int128)pow10i(ef);
        if (direct) {
            num *= x->scaled;
            den *= 1000000000;
        } else {
            num *= 1000000000;
            den *= x->scaled;
        }
        __int128 q = num / den, rem = num % den;
        if (rem != 0 && (rem < 0 ? -rem : rem) * 2 >= den)
            q += num < 0 ? -1 : 1;
        if (q > INT64_MAX || q < INT64_MIN)
            return failf(r, ENT_ELIMIT,
                         "--currency: a converted amount is "
                         "out of range");
        x->used = true;
        *out = (int64_t)q;
        return ENT_OK;
    }
    return failf(r, ENT_ENOENT,
                 "--currency %s: no exchange rate %.3s/%s in config table "
                 "%s (entente config set --new %s %.3s/%s=RATE ...)",
                 r->cur, cur, r->cur, ENT_RPT_RATES_TABLE, ENT_RPT_RATES_TABLE,
                 cur, r->cur);
}

/* ---- access -------------------------------------------------------------- */

static bool is_user(const rpt *r) {
    return r->o->principal != NULL &&
           r->o->principal->kind == ENT_PRINCIPAL_USER;
}

/* Decides read of obj (field NULL) or one field for the caller. */
static bool may_read(rpt *r, const char *field, ent_decision *d) {
    ent_access_req q = {ENT_ACT_READ, r->tpl->type, field, r->state,
                        r->creator[0] ? r->creator : NULL};
    ent_policy_decide(r->o->rules, r->o->nrules, r->o->principal, &q, d);
    return d->allow;
}

static int denied(rpt *r, const char *field, const ent_decision *d) {
    char text[ENT_POLICY_TEXT_MAX + 1] = "";
    for (size_t i = 0; d->why == ENT_WHY_RULE && i < r->o->nrules; i++)
        if (r->o->rules[i].id == d->rule)
            ent_rule_format(&r->o->rules[i], text, sizeof(text));
    r->deny_rule = d->why == ENT_WHY_RULE ? d->rule : 0;
    snprintf(r->deny_field, sizeof(r->deny_field), "%s", field);
    if (d->why == ENT_WHY_RULE)
        return failf(r, ENT_EDENIED,
                     "user %s may not read %s.%s (rule %u: %s), and this "
                     "report uses it; leave it out (--by, --where, --amount "
                     "none)",
                     r->o->principal->user, r->tpl->type, field, d->rule, text);
    return failf(r, ENT_EDENIED,
                 "user %s may not read %s.%s (%s), and this report uses it; "
                 "leave it out (--by, --where, --amount none)",
                 r->o->principal->user, r->tpl->type, field,
                 ent_decision_why_name(d->why));
}

/* ---- one object ---------------------------------------------------------- */

/* The slot a stored row of field name fills, or -1 when the report does
 * not use it. Most rows are of fields the report does not read: the
 * first byte of the name (r->first) turns them away. */
static int row_slot(const rpt *r, const char *name, size_t nlen) {
    uint32_t m = r->first[(unsigned char)name[0]];
    for (size_t i = 0; m != 0; i++, m >>= 1) {
        if (!(m & 1))
            continue;
        const rslot *s = &r->slots[r->stored[i]];
        if (s->nlen == nlen && memcmp(s->name, name, nlen) == 0)
            return r->stored[i];
    }
    return -1;
}

/* memcmp of two 32-byte object ids, a word at a time. */
static int id_cmp(const uint8_t *a, const uint8_t *b) {
    for (int i = 0; i < 32; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            x = __builtin_bswap64(x);
            y = __builtin_bswap64(y);
#endif
            return x < y ? -1 : 1;
        }
    }
    return 0;
}

/* Fills slot i from a row's blob, unless a value is there already (shared
 * first; private only where none is shared, or the shared one is null). A
 * cached value is lent, not copied. */
static int take_row(rpt *r, int i, const uint8_t *blob, size_t blen) {
    rslot *s = &r->slots[i];
    rval *iv;
    int rc;
    if (s->have)
        return ENT_OK;
    if ((rc = ent__rpt_val(r, s, blob, blen, &iv)) != ENT_OK)
        return rc;
    if (iv != NULL) {
        s->v = iv->v;
        s->iv = iv;
        s->have = true; /* never null: null is not kept */
        return ENT_OK;
    }
    if ((rc = ent_obj_value_decode(blob, blen, &s->v)) != ENT_OK)
        return rc;
    s->have = s->v.type != ENT_VT_NULL;
    return ENT_OK;
}

static int field_cb(void *data, const char *name, size_t nlen, bool priv,
                    const uint8_t *blob, size_t blen) {
    rpt *r = data;
    int rc;
    if (r->state != NULL) { /* a user's conditions see every field */
        ent_value v;
        json_t *j = NULL;
        char nm[ENT_OP_NAME_MAX + 1];
        memcpy(nm, name, nlen);
        nm[nlen] = '\0';
        if ((rc = ent_obj_value_decode(blob, blen, &v)) != ENT_OK)
            return rc;
        rc = ent_value_to_json(&v, &j);
        ent_value_clear(&v);
        if (rc != ENT_OK)
            return rc;
        json_object_set_new(
            json_object_get(r->state, priv ? "private" : "shared"), nm, j);
    }
    int i = row_slot(r, name, nlen);
    return i >= 0 ? take_row(r, i, blob, blen) : 0;
}

/* The next row of a field table. */
static int cur_next(rcur *c) {
    int rc = ent_obj_fields_iter_next(c->it, &c->obj, &c->name, &c->nlen,
                                      &c->blob, &c->blen);
    c->have = rc == ENT_OK;
    return rc == ENT_ENOENT ? ENT_OK : rc;
}

/* Opens the cursors of the field tables the report reads (the private one
 * unless --hide-private) on their first rows. */
static int open_rows(rpt *r) {
    int rc = ENT_OK;
    for (int p = 0; p < 2 && rc == ENT_OK; p++) {
        if (p == 1 && r->o->hide_private)
            break;
        rc = ent_obj_fields_iter_open(r->txn, p == 1, &r->rows[p].it);
        if (rc == ENT_OK)
            rc = cur_next(&r->rows[p]);
    }
    return rc;
}

/* Fills the slots of object id from the rows under the cursors (shared
 * first), moving them past id: the objects and both field tables are in
 * id order, so each is read once, side by side. Rows of objects that are
 * not reported (another type) are passed over. */
static int take_rows(rpt *r, const uint8_t *id) {
    int rc;
    for (int p = 0; p < 2; p++) {
        rcur *c = &r->rows[p];
        while (c->have) {
            int cmp = id_cmp(c->obj, id);
            if (cmp > 0)
                break;
            int i = cmp == 0 && r->first[(unsigned char)c->name[0]] != 0
                        ? row_slot(r, c->name, c->nlen)
                        : -1;
            if (i >= 0 && (rc = take_row(r, i, c->blob, c->blen)) != ENT_OK)
                return rc;
            if ((rc = cur_next(c)) != ENT_OK)
                return rc;
        }
    }
    return ENT_OK;
}

static void slots_clear(rpt *r) {
    for (size_t i = 0; i < r->nslots; i++) {
        rslot *s = &r->slots[i];
        if (s->iv != NULL) /* lent by the cache */
            memset(&s->v, 0, sizeof(s->v));
        else if (s->have || s->v.type != ENT_VT_NULL)
            ent_value_clear(&s->v);
        s->iv = NULL;
        s->have = false;
    }
}

/* The stage of the object: 0 open, 1 won, 2 lost; -1 none. */
static int stage_state(const char *s, size_t len) {
    if (ent_ascii_caseeq(s, len, "closed won") ||
        ent_ascii_caseeq(s, len, "won"))
        return 1;
    if (ent_ascii_caseeq(s, len, "closed lost") ||
        ent_ascii_caseeq(s, len, "lost"))
        return 2;
    return 0;
}

typedef struct hist {
    rpt *r;
    uint64_t first[ENT_TPL_MAX_STAGES];
    uint64_t close;
} hist;

static int hist_cb(void *data, uint64_t ms, const uint8_t *blob, size_t blen) {
    hist *h = data;
    ent_value v;
    int rc = ent_obj_value_decode(blob, blen, &v);
    if (rc != ENT_OK)
        return rc;
    if (v.type == ENT_VT_ENUM || v.type == ENT_VT_TEXT) {
        const ent_strlist *st = &h->r->tpl->stages;
        for (size_t i = 0; i < st->n && i < ENT_TPL_MAX_STAGES; i++)
            if (ent_ascii_caseeq(v.u.text.s, v.u.text.len, st->v[i]) &&
                (h->first[i] == 0 || ms < h->first[i]))
                h->first[i] = ms;
        if (stage_state(v.u.text.s, v.u.text.len) != 0 &&
            (h->close == 0 || ms < h->close))
            h->close = ms;
    }
    ent_value_clear(&v);
    return 0;
}

/* The value of key column b for the object (which: the role, for
 * attribution), and in *iv the cached value it is, if any; NULL for null. */
static const ent_value *key_value(rpt *r, const rby *b, int which, rval **iv) {
    const rslot *s = NULL;
    if (b->kind == BY_PARTNER)
        s = r->slots[b->slot].have    ? &r->slots[b->slot]
            : r->slots[b->slot2].have ? &r->slots[b->slot2]
                                      : NULL;
    else if (b->kind == BY_ROLE_PARTNER)
        s = &r->slots[which == 0 ? b->slot : b->slot2];
    else
        s = &r->slots[b->slot];
    *iv = s != NULL && s->have ? s->iv : NULL;
    return s != NULL && s->have ? &s->v : NULL;
}

/* The text of value v in key column b, into buf; NULL for none. */
static const char *key_format(rpt *r, const rby *b, const ent_value *v,
                              char *buf, size_t cap, int *rank) {
    *rank = RPT_RANK_TEXT;
    switch (v->type) {
    case ENT_VT_TEXT:
    case ENT_VT_ENUM: {
        size_t n = v->u.text.len < cap - 1 ? v->u.text.len : cap - 1;
        memcpy(buf, v->u.text.s, n);
        buf[n] = '\0';
        if (b->is_stage)
            for (size_t i = 0; i < r->tpl->stages.n; i++)
                if (ent_ascii_caseeq(buf, n, r->tpl->stages.v[i]))
                    *rank = (int)i;
        return buf;
    }
    case ENT_VT_ORG:
        ent_org_id_format(buf, v->u.org);
        return buf;
    case ENT_VT_REF:
        if (cap < 65)
            return NULL;
        ent_value_ref_format(buf, v->u.ref);
        return buf;
    case ENT_VT_DATE: {
        int y, m, d;
        if (ent_date_to_ymd(v->u.days, &y, &m, &d) != ENT_OK)
            return NULL;
        if (b->bucket == 1)
            snprintf(buf, cap, "%04d-%02d", y, m);
        else if (b->bucket == 2)
            snprintf(buf, cap, "%04d-Q%d", y, (m - 1) / 3 + 1);
        else if (b->bucket == 3)
            snprintf(buf, cap, "%04d", y);
        else
            snprintf(buf, cap, "%04d-%02d-%02d", y, m, d);
        return buf;
    }
    default: {
        char *t = NULL;
        if (ent_value_format(v, &t) != ENT_OK)
            return NULL;
        snprintf(buf, cap, "%s", t);
        free(t);
        return buf;
    }
    }
}

/* The text of key column k for obj, into buf (or the cache's copy); NULL
 * for null. *id: what the memo knows the text by (0 null, 1 and 2 the
 * partnered yes and no, the cached value's id + 2), RPT_VAL_NONE for a
 * value not cached. */
static int key_text(rpt *r, size_t k, int which, char *buf, size_t cap,
                    const char **text, int *rank, uint32_t *id) {
    const rby *b = &r->by[k];
    rval *iv;
    *text = NULL;
    *rank = RPT_RANK_NONE;
    if (b->kind == BY_PARTNERED) {
        bool p = r->slots[b->slot].have || r->slots[b->slot2].have;
        *rank = p ? 0 : 1;
        *text = p ? "yes" : "no";
        *id = p ? 1 : 2;
        return ENT_OK;
    }
    const ent_value *v = key_value(r, b, which, &iv);
    *id = v == NULL ? 0 : iv != NULL ? iv->id + 2 : RPT_VAL_NONE;
    if (v == NULL)
        return ENT_OK;
    if (iv == NULL) {
        *text = key_format(r, b, v, buf, cap, rank);
        return ENT_OK;
    }
    rval *x = iv; /* worked out once */
    if (!x->keyed[k]) {
        const char *t = key_format(r, b, v, buf, cap, &x->rank[k]);
        if (t != NULL && (x->key[k] = strdup(t)) == NULL)
            return ENT_ENOMEM;
        x->keyed[k] = true;
    }
    *text = x->key[k];
    *rank = x->rank[k];
    return ENT_OK;
}

/* Adds the object's measures to the group of its key (which: 0 the
 * sourcing partner, 1 the influencing one, for attribution). A key made
 * of cached values finds its group in the memo. */
static int add_to_key(rpt *r, int which, const robj *ob) {
    char bufs[ENT_RPT_BY_MAX][ENT_TPL_VALUE_MAX + 64];
    const char *texts[ENT_RPT_BY_MAX] = {NULL};
    int ranks[ENT_RPT_BY_MAX];
    uint32_t ids[ENT_RPT_BY_MAX];
    bool memo = true;
    int rc;
    for (size_t i = 0; i < r->nby; i++) {
        if ((rc = key_text(r, i, which, bufs[i], sizeof(bufs[i]), &texts[i],
                           &ranks[i], &ids[i])) != ENT_OK)
            return failf(r, rc, "out of memory");
        memo &= ids[i] != RPT_VAL_NONE;
    }
    if (r->o->kind == ENT_RPT_ATTRIBUTION && texts[0] == NULL)
        return ENT_OK; /* no partner in that role */
    rgroup *g = memo ? ent__rpt_memo_get(r, ids) : NULL;
    if (g == NULL) {
        rc = ent__rpt_group(r, texts, ranks, &g);
        if (rc != ENT_OK)
            return failf(r, rc,
                         rc == ENT_ELIMIT ? "more than %d groups: group by "
                                            "fewer columns"
                                          : "out of memory",
                         ENT_RPT_GROUPS_MAX);
        if (memo && (rc = ent__rpt_memo_put(r, ids, g)) != ENT_OK)
            return failf(r, rc, "out of memory");
    }
    rc = ent__rpt_add(r, g, which, ob);
    if (rc == ENT_OK)
        rc = ent__rpt_add(r, &r->total, which, ob);
    if (rc != ENT_OK)
        return failf(r, rc, "a sum is beyond the range of 64-bit amounts");
    return ENT_OK;
}

/* The computed slots of the object: built-in names, then derived fields
 * (whose formulas name stored fields and built-ins only). */
static int compute(rpt *r, const ent_obj_info *oi) {
    ent_derive_facts f = {r->now_ms, oi->created_ms, 0};
    const ent_value *stage = slot_value(r, (unsigned)r->stage_slot);
    int rc;
    if (r->uses_since &&
        (rc = ent_derive_stage_since(r->txn, oi->id, stage,
                                     &f.stage_since_ms)) != ENT_OK)
        return rc;
    for (size_t i = 0; i < r->nslots; i++) {
        rslot *s = &r->slots[i];
        if (!s->used || s->builtin < 0)
            continue;
        ent_derive_builtin_value(r->tpl, (ent_derive_builtin)s->builtin, stage,
                                 &f, &s->v);
        s->have = s->v.type != ENT_VT_NULL;
    }
    for (size_t i = 0; i < r->nslots; i++) {
        rslot *s = &r->slots[i];
        ent_xval x;
        if (!s->used || s->dx == NULL)
            continue;
        ent_expr_eval(s->dx, slot_value, r, &x);
        if ((rc = ent_derive_value(&x, s->vt, &s->v)) != ENT_OK)
            return rc;
        s->have = s->v.type != ENT_VT_NULL;
    }
    return ENT_OK;
}

static int obj_cb(void *data, const ent_obj_info *oi) {
    rpt *r = data;
    robj ob;
    ent_decision d;
    int rc;
    /* stage_ms is filled for cycle-time only */
    ob.state = 0;
    ob.has_amount = false;
    ob.minor = 0;
    ob.close_ms = -1;
    memset(ob.cur, 0, sizeof(ob.cur));
    slots_clear(r);
    if (is_user(r)) {
        json_decref(r->state);
        r->state = json_pack("{s:{},s:{}}", "shared", "private");
        if (r->state == NULL)
            return ENT_ENOMEM;
        r->creator[0] = '\0';
        rc = ent_access_creator(r->txn, oi->id, r->creator);
        if (rc != ENT_OK && rc != ENT_ENOENT)
            return rc;
    }
    if (r->bulk)
        rc = take_rows(r, oi->id);
    else
        rc = ent_obj_fields_scan(r->txn, oi->id, !r->o->hide_private, field_cb,
                                 r);
    if (rc != ENT_OK)
        return rc;
    if (is_user(r)) {
        if (!may_read(r, NULL, &d))
            return 0; /* not this caller's object: not counted */
        for (size_t i = 0; i < r->nslots; i++)
            if (r->slots[i].used && r->slots[i].builtin < 0 &&
                !may_read(r, r->slots[i].name, &d))
                return denied(r, r->slots[i].name, &d);
    }
    if (r->computes && (rc = compute(r, oi)) != ENT_OK)
        return rc;
    if (r->date_slot >= 0 && (r->has_from || r->has_to)) {
        const ent_value *dv = slot_value(r, (unsigned)r->date_slot);
        if (dv == NULL || dv->type != ENT_VT_DATE ||
            (r->has_from && dv->u.days < r->from) ||
            (r->has_to && dv->u.days > r->to))
            return 0;
    }
    if (r->where != NULL && !ent_expr_test(r->where, slot_value, r))
        return 0;
    const ent_value *sv = slot_value(r, (unsigned)r->stage_slot);
    rval *siv = r->slots[r->stage_slot].iv;
    if (siv != NULL && siv->state >= 0)
        ob.state = siv->state;
    else
        ob.state =
            sv != NULL && (sv->type == ENT_VT_ENUM || sv->type == ENT_VT_TEXT)
                ? stage_state(sv->u.text.s, sv->u.text.len)
                : 0;
    if (siv != NULL)
        siv->state = (int8_t)ob.state;
    const ent_value *av =
        r->amount_slot >= 0 ? slot_value(r, (unsigned)r->amount_slot) : NULL;
    if (av != NULL && av->type == ENT_VT_MONEY) {
        ob.has_amount = true;
        memcpy(ob.cur, av->u.money.cur, 3);
        ob.minor = av->u.money.minor;
        if (r->cur[0] != '\0') {
            if (convert(r, ob.cur, ob.minor, &ob.minor) != ENT_OK)
                return r->rc;
            memcpy(ob.cur, r->cur, 4);
        }
    }
    if (r->o->kind == ENT_RPT_CYCLE_TIME) {
        hist h;
        memset(&h, 0, sizeof(h));
        h.r = r;
        if ((rc = ent_obj_field_history(r->txn, oi->id, ENT_TPL_STAGE_FIELD,
                                        hist_cb, &h)) != ENT_OK)
            return rc;
        for (size_t i = 0; i < r->tpl->stages.n && i < ENT_TPL_MAX_STAGES; i++)
            ob.stage_ms[i] = h.first[i] == 0 ? -1
                             : h.first[i] < oi->created_ms
                                 ? 0
                                 : (int64_t)(h.first[i] - oi->created_ms);
        ob.close_ms = h.close == 0 ? -1
                      : h.close < oi->created_ms
                          ? 0
                          : (int64_t)(h.close - oi->created_ms);
    }
    r->objects++;
    if ((rc = add_to_key(r, 0, &ob)) != ENT_OK)
        return rc;
    if (r->o->kind == ENT_RPT_ATTRIBUTION)
        rc = add_to_key(r, 1, &ob);
    return rc;
}

/* ---- the run ------------------------------------------------------------- */

/* Compiles the formula of every used derived field (its names become used
 * slots; a private one is null with --hide-private). */
static int compile_formulas(rpt *r) {
    size_t n = r->nslots; /* formulas add stored fields and built-ins only */
    for (size_t i = 0; i < n; i++) {
        rslot *s = &r->slots[i];
        char xerr[ENT_EXPR_ERR_MAX];
        if (!s->used || s->derived == NULL ||
            (r->o->hide_private && s->derived->visibility == ENT_VIS_PRIVATE))
            continue;
        r->in_formula = true;
        int rc = ent_derive_compile(r->tpl, s->derived, expr_lookup, r, &s->dx,
                                    xerr, sizeof(xerr));
        r->in_formula = false;
        if (rc != ENT_OK)
            return failf(r, rc, "derived field %s: %s", s->name, xerr);
    }
    return ENT_OK;
}

static int prepare(rpt *r) {
    const ent_rpt_opts *o = r->o;
    const char *type = o->type != NULL ? o->type : "opportunity";
    char terr[256];
    if (o->kind >= ENT_RPT__COUNT)
        return failf(r, ENT_EINVAL, "unknown report");
    if (!ent_template_type_valid(type))
        return failf(r, ENT_EINVAL, "--type: '%.40s' is not a type name", type);
    int rc = ent_template_get(r->txn, type, &r->tpl);
    if (rc != ENT_OK)
        return failf(r, rc, "--type %s: %s", type,
                     rc == ENT_ENOENT ? "no template of that type"
                                      : ent_strerror(rc));
    (void)terr;
    if (!o->shared_names &&
        (rc = ent_fieldmap_get(r->txn, type, &r->fm)) != ENT_OK &&
        rc != ENT_ENOENT)
        return failf(r, rc, "the field map of %s: %s", type, ent_strerror(rc));
    snprintf(r->datef, sizeof(r->datef), "%s",
             o->date != NULL ? o->date : "close_date");
    if ((r->stage_slot = need_field(r, ENT_TPL_STAGE_FIELD, "stage")) < 0)
        return r->rc;
    r->slots[r->stage_slot].used = true;
    const char *amount = o->amount != NULL ? o->amount : "deal_size";
    r->amount_slot = -1;
    if (strcmp(amount, "none") != 0) {
        if ((r->amount_slot = need_field(r, amount, "--amount")) < 0)
            return r->rc;
        if (r->slots[r->amount_slot].vt != ENT_VT_MONEY)
            return failf(r, ENT_EINVAL, "--amount: %s is not a money field",
                         amount);
        r->slots[r->amount_slot].used = true;
    }
    r->date_slot = -1;
    if (o->from != NULL || o->to != NULL) {
        if ((r->date_slot = need_field(r, r->datef, "--date")) < 0)
            return r->rc;
        if (r->slots[r->date_slot].vt != ENT_VT_DATE)
            return failf(r, ENT_EINVAL, "--date: %s is not a date field",
                         r->datef);
        r->slots[r->date_slot].used = true;
    }
    if (o->from != NULL && parse_day(r, o->from, "--from", &r->from) != ENT_OK)
        return r->rc;
    if (o->to != NULL && parse_day(r, o->to, "--to", &r->to) != ENT_OK)
        return r->rc;
    r->has_from = o->from != NULL;
    r->has_to = o->to != NULL;
    if (r->has_from && r->has_to && r->from > r->to)
        return failf(r, ENT_EINVAL, "--from is after --to");
    if (parse_by(r) != ENT_OK)
        return r->rc;
    if (o->where != NULL) {
        char xerr[ENT_EXPR_ERR_MAX];
        rc = ent_expr_compile(o->where, expr_lookup, r, &r->where, xerr,
                              sizeof(xerr));
        if (rc != ENT_OK)
            return failf(r, rc, "--where: %s", xerr);
        ent_expr_map_text(r->where, where_value, r);
        if (ent_expr_type(r->where) != ENT_XT_BOOL)
            return failf(r, ENT_EINVAL,
                         "--where: the expression is a %s, not a condition",
                         ent_xtype_name(ent_expr_type(r->where)));
    }
    if (compile_formulas(r) != ENT_OK)
        return r->rc;
    if (o->currency != NULL) {
        unsigned e;
        if (strlen(o->currency) != 3 ||
            ent_currency_exponent(o->currency, &e) != ENT_OK)
            return failf(r, ENT_EINVAL,
                         "--currency wants a known ISO 4217 code in upper "
                         "case, got '%.8s'",
                         o->currency);
        memcpy(r->cur, o->currency, 4);
        if (load_rates(r) != ENT_OK)
            return r->rc;
    }
    return ENT_OK;
}

int ent_report_run(ent_txn *txn, const ent_rpt_opts *o, json_t **out, char *err,
                   size_t errlen) {
    rpt *r;
    int rc;
    *out = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (o->kind == ENT_RPT_MDF || o->kind == ENT_RPT_PLAN)
        return ent__rpt_links_run(txn, o, out, err, errlen);
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return ENT_ENOMEM;
    r->txn = txn;
    r->o = o;
    r->now_ms = o->now_ms;
    if (r->now_ms == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r->now_ms =
            (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    }
    r->err = err;
    r->errlen = errlen;
    if (prepare(r) == ENT_OK) {
        for (size_t i = 0; i < r->nslots; i++) { /* the fields in rows */
            const rslot *s = &r->slots[i];
            r->computes |= s->used && (s->builtin >= 0 || s->dx != NULL);
            if (!s->used || s->derived != NULL || s->builtin >= 0)
                continue;
            r->first[(unsigned char)s->name[0]] |= 1u << r->nstored;
            r->stored[r->nstored++] = (uint8_t)i;
        }
        /* the operator's reports read each table with one cursor; a
         * user's conditions need every field of each object */
        r->bulk = !is_user(r);
        rc = r->bulk ? open_rows(r) : ENT_OK;
        if (rc == ENT_OK)
            rc = ent_obj_scan(txn, r->tpl->type, NULL, obj_cb, r);
        if (rc != ENT_OK && r->rc == ENT_OK)
            failf(r, rc, "reading objects: %s", ent_strerror(rc));
    }
    if (r->rc == ENT_OK)
        rc = ent__rpt_json(r, out);
    else
        rc = r->rc;
    if (rc != ENT_OK && r->rc == ENT_OK)
        failf(r, rc, "%s", ent_strerror(rc));
    slots_clear(r);
    for (int p = 0; p < 2; p++)
        ent_obj_fields_iter_free(r->rows[p].it);
    ent__rpt_vals_free(r);
    ent__rpt_groups_free(r);
    json_decref(r->state);
    ent_expr_free(r->where);
    for (size_t i = 0; i < r->nslots; i++)
        ent_expr_free(r->slots[i].dx);
    ent_template_free(r->tpl);
    ent_fieldmap_free(r->fm);
    free(r);
    return rc;
}
