/*
 * rules.c - workflow rules: the CBOR codec of spec/workflows.md §2, the
 * template "workflow" JSON section, and the pure judgment of a stage
 * transition against the decisions of its causal past (spec/workflows.md
 * §3). Nothing here reads storage or a clock.
 */
#include "node/work/rules.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "protocol/cbor.h"

/* ------------------------------------------------------------------ names */

/* A stage, step or field name: 1..64 bytes of UTF-8, no control byte. */
static bool name_ok(const char *s, size_t n) {
    if (n == 0 || n > ENT_WF_NAME_MAX || !ent_cbor_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static bool has_stage(const ent_wf_rules *r, const char *s) {
    for (size_t i = 0; i < r->nstages; i++)
        if (strcmp(r->stages[i], s) == 0)
            return true;
    return false;
}

/* CBOR map-key order of two text names: shorter first, then bytewise. */
static int name_cmp(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return memcmp(a, b, la);
}

static bool who_ok(const ent_wf_who *w) {
    switch (w->kind) {
    case ENT_WF_OWNER:
    case ENT_WF_ANY:
    case ENT_WF_ORG:
        return true;
    case ENT_WF_ROLE:
        return w->role == 1 || w->role == 2;
    case ENT_WF_REF:
        return name_ok(w->field, strnlen(w->field, sizeof(w->field)));
    default:
        return false;
    }
}

static const char *limit_bound(const ent_wf_rules *r, const char *f) {
    for (size_t i = 0; i < r->nlimits; i++)
        if (strcmp(r->limits[i].field, f) == 0)
            return r->limits[i].bound;
    return NULL;
}

/* Limits: valid names, a field bounded once and never by itself, and no
 * chain of bounds that comes back to where it started. */
static int limits_check(const ent_wf_rules *r, bool sorted) {
    if (r->nlimits > ENT_WF_MAX_LIMITS)
        return ENT_ECORRUPT;
    for (size_t i = 0; i < r->nlimits; i++) {
        const ent_wf_limit *l = &r->limits[i];
        if (!name_ok(l->field, strlen(l->field)) ||
            !name_ok(l->bound, strlen(l->bound)) ||
            strcmp(l->field, l->bound) == 0)
            return ENT_ECORRUPT;
        for (size_t k = 0; k < i; k++) {
            int c = name_cmp(r->limits[k].field, l->field);
            if (c == 0)
                return ENT_ECORRUPT;
            if (sorted && k == i - 1 && c > 0)
                return ENT_ENONCANON;
        }
        const char *b = l->bound;
        for (size_t step = 0; b != NULL && step <= r->nlimits; step++) {
            if (strcmp(b, l->field) == 0)
                return ENT_ECORRUPT; /* a cycle */
            b = limit_bound(r, b);
        }
    }
    return ENT_OK;
}

/* Every rule of §2 that is not about bytes: the same for encode and
 * decode, so both accept exactly the same rules. */
static int rules_check(const ent_wf_rules *r, bool sorted_fields) {
    if (r->nstages == 0 || r->nstages > ENT_WF_MAX_STAGES ||
        r->ntrans > ENT_WF_MAX_TRANS || r->nfields > ENT_WF_MAX_FIELDS)
        return ENT_ECORRUPT;
    for (size_t i = 0; i < r->nstages; i++) {
        if (!name_ok(r->stages[i], strlen(r->stages[i])))
            return ENT_ECORRUPT;
        for (size_t k = 0; k < i; k++)
            if (strcmp(r->stages[k], r->stages[i]) == 0)
                return ENT_ECORRUPT;
    }
    for (size_t i = 0; i < r->ntrans; i++) {
        const ent_wf_trans *t = &r->trans[i];
        if ((!t->any_from && !has_stage(r, t->from)) || !has_stage(r, t->to) ||
            t->nwho == 0 || t->nwho > ENT_WF_MAX_WHO ||
            t->nsteps > ENT_WF_MAX_STEPS)
            return ENT_ECORRUPT;
        for (size_t k = 0; k < i; k++)
            if (r->trans[k].any_from == t->any_from &&
                strcmp(r->trans[k].to, t->to) == 0 &&
                (t->any_from || strcmp(r->trans[k].from, t->from) == 0))
                return ENT_ECORRUPT;
        for (size_t k = 0; k < t->nwho; k++)
            if (!who_ok(&t->who[k]))
                return ENT_ECORRUPT;
        for (size_t k = 0; k < t->nsteps; k++) {
            if (!name_ok(t->steps[k].name, strlen(t->steps[k].name)) ||
                !who_ok(&t->steps[k].by))
                return ENT_ECORRUPT;
            for (size_t q = 0; q < k; q++)
                if (strcmp(t->steps[q].name, t->steps[k].name) == 0)
                    return ENT_ECORRUPT;
        }
    }
    for (size_t i = 0; i < r->nfields; i++) {
        if (!name_ok(r->fields[i].name, strlen(r->fields[i].name)) ||
            !who_ok(&r->fields[i].who))
            return ENT_ECORRUPT;
        for (size_t k = 0; k < i; k++) {
            int c = name_cmp(r->fields[k].name, r->fields[i].name);
            if (c == 0)
                return ENT_ECORRUPT;
            if (sorted_fields && k == i - 1 && c > 0)
                return ENT_ENONCANON;
        }
    }
    return limits_check(r, sorted_fields);
}

/* ----------------------------------------------------------------- decode */

static int read_name(ent_cbor_reader *rd, char out[ENT_WF_NAME_MAX + 1]) {
    const char *s;
    size_t n;
    int rc = ent_cbor_read_text(rd, &s, &n);
    if (rc != ENT_OK)
        return rc;
    if (!name_ok(s, n))
        return ENT_ECORRUPT;
    memcpy(out, s, n);
    out[n] = '\0';
    return ENT_OK;
}

static int read_who(ent_cbor_reader *rd, ent_wf_who *w) {
    size_t n;
    uint64_t k;
    int rc;
    memset(w, 0, sizeof(*w));
    if ((rc = ent_cbor_read_array(rd, &n)) != ENT_OK ||
        (n >= 1 && (rc = ent_cbor_read_uint(rd, &k)) != ENT_OK))
        return rc;
    if (n == 1 && (k == ENT_WF_OWNER || k == ENT_WF_ANY)) {
        w->kind = (uint8_t)k;
        return ENT_OK;
    }
    if (n == 2 && k == ENT_WF_ROLE) {
        uint64_t role;
        if ((rc = ent_cbor_read_uint(rd, &role)) != ENT_OK)
            return rc;
        if (role != 1 && role != 2)
            return ENT_ECORRUPT;
        w->kind = ENT_WF_ROLE;
        w->role = (uint8_t)role;
        return ENT_OK;
    }
    if (n == 2 && k == ENT_WF_ORG) {
        w->kind = ENT_WF_ORG;
        return ent_cbor_read_bytes_exact(rd, w->org, ENT_WF_PK_LEN);
    }
    if (n == 2 && k == ENT_WF_REF) {
        w->kind = ENT_WF_REF;
        return read_name(rd, w->field);
    }
    return ENT_ECORRUPT;
}

static int read_trans(ent_cbor_reader *rd, ent_wf_trans *t) {
    size_t n;
    int rc;
    if ((rc = ent_cbor_read_array(rd, &n)) != ENT_OK)
        return rc;
    if (n != 4)
        return ENT_ECORRUPT;
    t->any_from = false;
    t->from[0] = '\0';
    t->nwho = t->nsteps = 0;
    if (ent_cbor_peek_null(rd)) {
        t->any_from = true;
        rc = ent_cbor_read_null(rd);
    } else {
        rc = read_name(rd, t->from);
    }
    if (rc != ENT_OK || (rc = read_name(rd, t->to)) != ENT_OK ||
        (rc = ent_cbor_read_array(rd, &n)) != ENT_OK)
        return rc;
    if (n == 0 || n > ENT_WF_MAX_WHO)
        return ENT_ECORRUPT;
    t->nwho = n;
    for (size_t i = 0; i < n; i++)
        if ((rc = read_who(rd, &t->who[i])) != ENT_OK)
            return rc;
    if ((rc = ent_cbor_read_array(rd, &n)) != ENT_OK)
        return rc;
    if (n > ENT_WF_MAX_STEPS)
        return ENT_ECORRUPT;
    t->nsteps = n;
    for (size_t i = 0; i < n; i++) {
        size_t m;
        if ((rc = ent_cbor_read_array(rd, &m)) != ENT_OK)
            return rc;
        if (m != 3)
            return ENT_ECORRUPT;
        if ((rc = read_name(rd, t->steps[i].name)) != ENT_OK ||
            (rc = read_who(rd, &t->steps[i].by)) != ENT_OK ||
            (rc = ent_cbor_read_bool(rd, &t->steps[i].self_ok)) != ENT_OK)
            return rc;
    }
    return ENT_OK;
}

int ent_wf_decode(ent_wf_rules *r, const uint8_t *buf, size_t len) {
    static const ent_cbor_limits lim = {
        .max_depth = 6, /* rules > transitions > t > steps > step > who */
        .max_items = ENT_WF_MAX_STAGES,
        .max_total = 1024,
        .max_str = ENT_WF_NAME_MAX,
        .max_size = ENT_WF_MAX_SIZE,
    };
    ent_cbor_reader rd;
    size_t n;
    uint64_t v;
    int rc;
    if (r == NULL || (buf == NULL && len > 0))
        return ENT_EINVAL;
    /* only the counts: entries are written before they are counted (the
     * structure is 30 KB, and decoding runs once per op of an object with
     * rules when it is not cached) */
    r->nstages = r->ntrans = r->nfields = r->nlimits = 0;
    if (len > ENT_WF_MAX_SIZE)
        return ENT_ETOOBIG;
    if ((rc = ent_cbor_check(buf, len, &lim)) != ENT_OK)
        goto out;
    ent_cbor_reader_init(&rd, buf, len);
    if ((rc = ent_cbor_read_array(&rd, &n)) != ENT_OK)
        goto out;
    if (n < 1) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    if ((rc = ent_cbor_read_uint(&rd, &v)) != ENT_OK)
        goto out;
    if (v != ENT_WF_VERSION) {
        rc = ENT_EVERSION;
        goto out;
    }
    size_t items = n;
    if ((n != 4 && n != 5) || (rc = ent_cbor_read_array(&rd, &n)) != ENT_OK) {
        rc = rc ? rc : ENT_ECORRUPT;
        goto out;
    }
    if (n == 0 || n > ENT_WF_MAX_STAGES) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    r->nstages = n;
    for (size_t i = 0; i < n && rc == ENT_OK; i++)
        rc = read_name(&rd, r->stages[i]);
    if (rc != ENT_OK || (rc = ent_cbor_read_array(&rd, &n)) != ENT_OK)
        goto out;
    if (n > ENT_WF_MAX_TRANS) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    r->ntrans = n;
    for (size_t i = 0; i < n && rc == ENT_OK; i++)
        rc = read_trans(&rd, &r->trans[i]);
    if (rc != ENT_OK || (rc = ent_cbor_read_array(&rd, &n)) != ENT_OK)
        goto out;
    if (n > ENT_WF_MAX_FIELDS) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    r->nfields = n;
    for (size_t i = 0; i < n && rc == ENT_OK; i++) {
        size_t m;
        if ((rc = ent_cbor_read_array(&rd, &m)) != ENT_OK)
            break;
        if (m != 2) {
            rc = ENT_ECORRUPT;
            break;
        }
        if ((rc = read_name(&rd, r->fields[i].name)) == ENT_OK)
            rc = read_who(&rd, &r->fields[i].who);
    }
    if (rc == ENT_OK && items == 5) { /* limits: present only when any */
        if ((rc = ent_cbor_read_array(&rd, &n)) != ENT_OK)
            goto out;
        if (n == 0 || n > ENT_WF_MAX_LIMITS) {
            rc = n == 0 ? ENT_ENONCANON : ENT_ECORRUPT;
            goto out;
        }
        r->nlimits = n;
        for (size_t i = 0; i < n && rc == ENT_OK; i++) {
            size_t m;
            if ((rc = ent_cbor_read_array(&rd, &m)) != ENT_OK)
                break;
            if (m != 2) {
                rc = ENT_ECORRUPT;
                break;
            }
            if ((rc = read_name(&rd, r->limits[i].field)) == ENT_OK)
                rc = read_name(&rd, r->limits[i].bound);
        }
    }
    if (rc != ENT_OK || (rc = ent_cbor_read_end(&rd)) != ENT_OK)
        goto out;
    rc = rules_check(r, true);
out:
    if (rc != ENT_OK)
        r->nstages = r->ntrans = r->nfields = r->nlimits = 0;
    return rc;
}

/* ----------------------------------------------------------------- encode */

static void write_who(ent_cbor_writer *w, const ent_wf_who *who) {
    switch (who->kind) {
    case ENT_WF_ROLE:
        ent_cbor_write_array(w, 2);
        ent_cbor_write_uint(w, ENT_WF_ROLE);
        ent_cbor_write_uint(w, who->role);
        break;
    case ENT_WF_ORG:
        ent_cbor_write_array(w, 2);
        ent_cbor_write_uint(w, ENT_WF_ORG);
        ent_cbor_write_bytes(w, who->org, ENT_WF_PK_LEN);
        break;
    case ENT_WF_REF:
        ent_cbor_write_array(w, 2);
        ent_cbor_write_uint(w, ENT_WF_REF);
        ent_cbor_write_text(w, who->field, strlen(who->field));
        break;
    default:
        ent_cbor_write_array(w, 1);
        ent_cbor_write_uint(w, who->kind);
    }
}

typedef struct enc_ctx {
    const ent_wf_rules *r;
    const ent_wf_field *order[ENT_WF_MAX_FIELDS];
    const ent_wf_limit *lorder[ENT_WF_MAX_LIMITS];
} enc_ctx;

static void emit_rules(ent_cbor_writer *w, const void *data) {
    const enc_ctx *c = data;
    const ent_wf_rules *r = c->r;
    ent_cbor_write_array(w, r->nlimits > 0 ? 5 : 4);
    ent_cbor_write_uint(w, ENT_WF_VERSION);
    ent_cbor_write_array(w, r->nstages);
    for (size_t i = 0; i < r->nstages; i++)
        ent_cbor_write_text(w, r->stages[i], strlen(r->stages[i]));
    ent_cbor_write_array(w, r->ntrans);
    for (size_t i = 0; i < r->ntrans; i++) {
        const ent_wf_trans *t = &r->trans[i];
        ent_cbor_write_array(w, 4);
        if (t->any_from)
            ent_cbor_write_null(w);
        else
            ent_cbor_write_text(w, t->from, strlen(t->from));
        ent_cbor_write_text(w, t->to, strlen(t->to));
        ent_cbor_write_array(w, t->nwho);
        for (size_t k = 0; k < t->nwho; k++)
            write_who(w, &t->who[k]);
        ent_cbor_write_array(w, t->nsteps);
        for (size_t k = 0; k < t->nsteps; k++) {
            ent_cbor_write_array(w, 3);
            ent_cbor_write_text(w, t->steps[k].name,
                                strlen(t->steps[k].name));
            write_who(w, &t->steps[k].by);
            ent_cbor_write_bool(w, t->steps[k].self_ok);
        }
    }
    ent_cbor_write_array(w, r->nfields);
    for (size_t i = 0; i < r->nfields; i++) {
        ent_cbor_write_array(w, 2);
        ent_cbor_write_text(w, c->order[i]->name, strlen(c->order[i]->name));
        write_who(w, &c->order[i]->who);
    }
    if (r->nlimits == 0)
        return;
    ent_cbor_write_array(w, r->nlimits);
    for (size_t i = 0; i < r->nlimits; i++) {
        ent_cbor_write_array(w, 2);
        ent_cbor_write_text(w, c->lorder[i]->field,
                            strlen(c->lorder[i]->field));
        ent_cbor_write_text(w, c->lorder[i]->bound,
                            strlen(c->lorder[i]->bound));
    }
}

static int limit_ptr_cmp(const void *a, const void *b) {
    const ent_wf_limit *const *x = a, *const *y = b;
    return name_cmp((*x)->field, (*y)->field);
}

static int field_ptr_cmp(const void *a, const void *b) {
    const ent_wf_field *const *x = a, *const *y = b;
    return name_cmp((*x)->name, (*y)->name);
}

int ent_wf_encode(const ent_wf_rules *r, uint8_t **out, size_t *len) {
    enc_ctx c;
    if (r == NULL || out == NULL || len == NULL)
        return ENT_EINVAL;
    *out = NULL;
    *len = 0;
    if (rules_check(r, false) != ENT_OK)
        return ENT_EINVAL;
    c.r = r;
    for (size_t i = 0; i < r->nfields; i++)
        c.order[i] = &r->fields[i];
    qsort(c.order, r->nfields, sizeof(c.order[0]), field_ptr_cmp);
    for (size_t i = 0; i < r->nlimits; i++)
        c.lorder[i] = &r->limits[i];
    qsort(c.lorder, r->nlimits, sizeof(c.lorder[0]), limit_ptr_cmp);
    return ent_cbor_encode(out, len, ENT_WF_MAX_SIZE, emit_rules, &c);
}

/* ------------------------------------------------------------------- JSON */

static void seterr(char *err, size_t errlen, const char *fmt, const char *a,
                   const char *b) {
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, fmt, a, b);
}

static int who_parse(const char *s, ent_wf_who *w) {
    memset(w, 0, sizeof(*w));
    if (strcmp(s, "owner") == 0) {
        w->kind = ENT_WF_OWNER;
    } else if (strcmp(s, "any") == 0) {
        w->kind = ENT_WF_ANY;
    } else if (strcmp(s, "role:admin") == 0) {
        w->kind = ENT_WF_ROLE;
        w->role = 1;
    } else if (strcmp(s, "role:member") == 0) {
        w->kind = ENT_WF_ROLE;
        w->role = 2;
    } else if (strncmp(s, "org:", 4) == 0 &&
               ent_org_id_parse(w->org, s + 4) == ENT_OK) {
        w->kind = ENT_WF_ORG;
    } else if (strncmp(s, "ref:", 4) == 0 && strlen(s + 4) <= ENT_WF_NAME_MAX &&
               name_ok(s + 4, strlen(s + 4))) {
        w->kind = ENT_WF_REF;
        memcpy(w->field, s + 4, strlen(s + 4) + 1);
    } else {
        return ENT_ESCHEMA;
    }
    return ENT_OK;
}

void ent_wf_who_format(const ent_wf_who *w, char *out, size_t outlen) {
    char id[ENT_ORG_ID_LEN + 1];
    switch (w->kind) {
    case ENT_WF_OWNER:
        snprintf(out, outlen, "owner");
        break;
    case ENT_WF_ANY:
        snprintf(out, outlen, "any");
        break;
    case ENT_WF_ROLE:
        snprintf(out, outlen, "role:%s", w->role == 1 ? "admin" : "member");
        break;
    case ENT_WF_REF:
        snprintf(out, outlen, "ref:%s", w->field);
        break;
    default:
        ent_org_id_format(id, w->org);
        snprintf(out, outlen, "org:%s", id);
    }
}

static int json_name(json_t *v, char out[ENT_WF_NAME_MAX + 1]) {
    const char *s = json_string_value(v);
    if (s == NULL || !name_ok(s, json_string_length(v)) ||
        strlen(s) != json_string_length(v))
        return ENT_ESCHEMA;
    memcpy(out, s, json_string_length(v) + 1);
    return ENT_OK;
}

static int json_who(json_t *v, ent_wf_who *w) {
    const char *s = json_string_value(v);
    return s == NULL ? ENT_ESCHEMA : who_parse(s, w);
}

static int json_trans(json_t *j, ent_wf_trans *t, char *err, size_t errlen) {
    static const char *const keys[] = {"from", "to", "who", "approvals"};
    const char *k;
    json_t *v;
    if (!json_is_object(j)) {
        seterr(err, errlen, "workflow: a transition is an object%s%s", "", "");
        return ENT_ESCHEMA;
    }
    json_object_foreach(j, k, v) {
        bool known = false;
        for (size_t i = 0; i < 4; i++)
            known |= strcmp(k, keys[i]) == 0;
        if (!known) {
            seterr(err, errlen, "workflow: transition: unknown key \"%.64s\"%s",
                   k, "");
            return ENT_ESCHEMA;
        }
    }
    v = json_object_get(j, "from");
    if (v == NULL || json_is_null(v) ||
        (json_is_string(v) && strcmp(json_string_value(v), "*") == 0))
        t->any_from = true;
    else if (json_name(v, t->from) != ENT_OK) {
        seterr(err, errlen, "workflow: transition: bad \"from\"%s%s", "", "");
        return ENT_ESCHEMA;
    }
    if (json_name(json_object_get(j, "to"), t->to) != ENT_OK) {
        seterr(err, errlen, "workflow: transition: bad \"to\"%s%s", "", "");
        return ENT_ESCHEMA;
    }
    v = json_object_get(j, "who");
    if (v == NULL) {
        t->nwho = 1;
        t->who[0].kind = ENT_WF_ANY;
    } else if (!json_is_array(v) || json_array_size(v) == 0 ||
               json_array_size(v) > ENT_WF_MAX_WHO) {
        seterr(err, errlen,
               "workflow: transition to %.64s: \"who\" is a list of 1 to 4 of "
               "owner, any, role:admin, role:member, org:ID, ref:FIELD%s",
               t->to, "");
        return ENT_ESCHEMA;
    } else {
        t->nwho = json_array_size(v);
        for (size_t i = 0; i < t->nwho; i++)
            if (json_who(json_array_get(v, i), &t->who[i]) != ENT_OK) {
                seterr(err, errlen,
                       "workflow: transition to %.64s: bad \"who\" (owner, "
                       "any, role:admin, role:member, org:ID, ref:FIELD)%s",
                       t->to, "");
                return ENT_ESCHEMA;
            }
    }
    v = json_object_get(j, "approvals");
    if (v == NULL)
        return ENT_OK;
    if (!json_is_array(v) || json_array_size(v) > ENT_WF_MAX_STEPS) {
        seterr(err, errlen,
               "workflow: transition to %.64s: \"approvals\" is a list of at "
               "most 4%s",
               t->to, "");
        return ENT_ESCHEMA;
    }
    t->nsteps = json_array_size(v);
    for (size_t i = 0; i < t->nsteps; i++) {
        json_t *a = json_array_get(v, i), *self;
        if (!json_is_object(a) ||
            json_name(json_object_get(a, "step"), t->steps[i].name) != ENT_OK ||
            json_who(json_object_get(a, "by"), &t->steps[i].by) != ENT_OK ||
            ((self = json_object_get(a, "self")) != NULL &&
             !json_is_boolean(self)) ||
            json_object_size(a) > 2 + (self != NULL)) {
            seterr(err, errlen,
                   "workflow: transition to %.64s: an approval is "
                   "{\"step\":NAME,\"by\":WHO[,\"self\":BOOL]}%s",
                   t->to, "");
            return ENT_ESCHEMA;
        }
        t->steps[i].self_ok = self != NULL && json_is_true(self);
    }
    return ENT_OK;
}

int ent_wf_from_json(ent_wf_rules *r, const void *json,
                     const char *const *stages, size_t nstages, char *err,
                     size_t errlen) {
    json_t *j = (json_t *)json, *v;
    const char *k;
    int rc = ENT_ESCHEMA;
    if (r == NULL || j == NULL || (stages == NULL && nstages > 0))
        return ENT_EINVAL;
    memset(r, 0, sizeof(*r));
    if (!json_is_object(j)) {
        seterr(err, errlen, "workflow: an object%s%s", "", "");
        goto out;
    }
    json_object_foreach(j, k, v) {
        if (strcmp(k, "transitions") != 0 && strcmp(k, "field_owners") != 0 &&
            strcmp(k, "limits") != 0) {
            seterr(err, errlen, "workflow: unknown key \"%.64s\"%s", k, "");
            goto out;
        }
    }
    if (nstages == 0 || nstages > ENT_WF_MAX_STAGES) {
        seterr(err, errlen, "workflow: needs the template's \"stages\"%s%s",
               "", "");
        goto out;
    }
    r->nstages = nstages;
    for (size_t i = 0; i < nstages; i++) {
        size_t n = strlen(stages[i]);
        if (!name_ok(stages[i], n)) {
            seterr(err, errlen, "workflow: stage \"%.64s\" is not a name%s",
                   stages[i], "");
            goto out;
        }
        memcpy(r->stages[i], stages[i], n + 1);
    }
    v = json_object_get(j, "transitions");
    if (v != NULL && (!json_is_array(v) ||
                      json_array_size(v) > ENT_WF_MAX_TRANS)) {
        seterr(err, errlen,
               "workflow: \"transitions\" is a list of at most 32%s%s", "",
               "");
        goto out;
    }
    r->ntrans = v ? json_array_size(v) : 0;
    for (size_t i = 0; i < r->ntrans; i++)
        if (json_trans(json_array_get(v, i), &r->trans[i], err, errlen) !=
            ENT_OK)
            goto out;
    v = json_object_get(j, "field_owners");
    if (v != NULL &&
        (!json_is_object(v) || json_object_size(v) > ENT_WF_MAX_FIELDS)) {
        seterr(err, errlen,
               "workflow: \"field_owners\" maps at most 32 fields to a who%s%s",
               "", "");
        goto out;
    }
    if (v != NULL) {
        json_t *w;
        json_object_foreach(v, k, w) {
            ent_wf_field *f = &r->fields[r->nfields];
            if (strlen(k) > ENT_WF_NAME_MAX || !name_ok(k, strlen(k)) ||
                json_who(w, &f->who) != ENT_OK) {
                seterr(err, errlen, "workflow: field_owners: bad entry \"%.64s\"%s",
                       k, "");
                goto out;
            }
            memcpy(f->name, k, strlen(k) + 1);
            r->nfields++;
        }
    }
    v = json_object_get(j, "limits");
    if (v != NULL &&
        (!json_is_object(v) || json_object_size(v) > ENT_WF_MAX_LIMITS)) {
        seterr(err, errlen,
               "workflow: \"limits\" maps at most 8 fields to the field "
               "that bounds each%s%s",
               "", "");
        goto out;
    }
    if (v != NULL) {
        json_t *w;
        json_object_foreach(v, k, w) {
            ent_wf_limit *l = &r->limits[r->nlimits];
            if (strlen(k) > ENT_WF_NAME_MAX || !name_ok(k, strlen(k)) ||
                json_name(w, l->bound) != ENT_OK) {
                seterr(err, errlen, "workflow: limits: bad entry \"%.64s\"%s",
                       k, "");
                goto out;
            }
            memcpy(l->field, k, strlen(k) + 1);
            r->nlimits++;
        }
        if (limits_check(r, false) != ENT_OK) {
            seterr(err, errlen,
                   "workflow: limits: a field bounded by itself, or a cycle "
                   "of bounds%s%s",
                   "", "");
            goto out;
        }
    }
    if (rules_check(r, false) != ENT_OK) {
        seterr(err, errlen,
               "workflow: a transition names a stage the template does not "
               "list, or repeats a transition, step or field%s%s",
               "", "");
        goto out;
    }
    rc = ENT_OK;
out:
    if (rc != ENT_OK)
        memset(r, 0, sizeof(*r));
    return rc;
}

static json_t *who_json(const ent_wf_who *w) {
    char s[80];
    ent_wf_who_format(w, s, sizeof(s));
    return json_string(s);
}

void *ent_wf_to_json(const ent_wf_rules *r) {
    json_t *o = json_object(), *st = json_array(), *tr = json_array(),
           *fo = json_object();
    if (o == NULL || st == NULL || tr == NULL || fo == NULL)
        goto fail;
    for (size_t i = 0; i < r->nstages; i++)
        json_array_append_new(st, json_string(r->stages[i]));
    for (size_t i = 0; i < r->ntrans; i++) {
        const ent_wf_trans *t = &r->trans[i];
        json_t *tj = json_object(), *who = json_array(), *ap = json_array();
        if (tj == NULL || who == NULL || ap == NULL) {
            json_decref(tj);
            json_decref(who);
            json_decref(ap);
            goto fail;
        }
        json_object_set_new(tj, "from", t->any_from ? json_string("*")
                                                    : json_string(t->from));
        json_object_set_new(tj, "to", json_string(t->to));
        for (size_t k = 0; k < t->nwho; k++)
            json_array_append_new(who, who_json(&t->who[k]));
        for (size_t k = 0; k < t->nsteps; k++)
            json_array_append_new(
                ap, json_pack("{s:s, s:o, s:b}", "step", t->steps[k].name,
                              "by", who_json(&t->steps[k].by), "self",
                              t->steps[k].self_ok));
        json_object_set_new(tj, "who", who);
        json_object_set_new(tj, "approvals", ap);
        json_array_append_new(tr, tj);
    }
    for (size_t i = 0; i < r->nfields; i++)
        json_object_set_new(fo, r->fields[i].name, who_json(&r->fields[i].who));
    json_object_set_new(o, "stages", st);
    json_object_set_new(o, "transitions", tr);
    json_object_set_new(o, "field_owners", fo);
    if (r->nlimits > 0) {
        json_t *lm = json_object();
        for (size_t i = 0; lm != NULL && i < r->nlimits; i++)
            json_object_set_new(lm, r->limits[i].field,
                                json_string(r->limits[i].bound));
        if (lm == NULL || json_object_set_new(o, "limits", lm) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
fail:
    json_decref(o);
    json_decref(st);
    json_decref(tr);
    json_decref(fo);
    return NULL;
}

/* ---------------------------------------------------------------- judging */

bool ent_wf_who_matches(const ent_wf_who *w, const ent_wf_party *p) {
    if (p->owner)
        return w->kind != ENT_WF_ORG ||
               memcmp(w->org, p->org, ENT_WF_PK_LEN) == 0;
    if (!p->active)
        return false;
    switch (w->kind) {
    case ENT_WF_ANY:
        return p->role <= 2;
    case ENT_WF_ROLE:
        return p->role <= w->role;
    case ENT_WF_ORG:
        return memcmp(w->org, p->org, ENT_WF_PK_LEN) == 0 && p->role <= 2;
    default:
        return false;
    }
}

/* Step s of a transition by actor is met by the decisions. */
static bool step_met(const ent_wf_step *s, const ent_wf_party *actor,
                     const ent_wf_decision *ds, size_t n,
                     ent_wf_before_fn before, void *data) {
    for (size_t i = 0; i < n; i++) {
        if (ds[i].reject || strcmp(ds[i].step, s->name) != 0 ||
            !ent_wf_who_matches(&s->by, &ds[i].by))
            continue;
        if (!s->self_ok &&
            memcmp(ds[i].by.org, actor->org, ENT_WF_PK_LEN) == 0)
            continue; /* no approving one's own move */
        bool beaten = false;
        for (size_t k = 0; k < n && !beaten; k++)
            beaten = ds[k].reject && strcmp(ds[k].step, s->name) == 0 &&
                     ent_wf_who_matches(&s->by, &ds[k].by) &&
                     !before(data, k, i);
        if (!beaten)
            return true;
    }
    return false;
}

bool ent_wf_transition_ok(const ent_wf_rules *r, const char *from,
                          const char *to, const ent_wf_party *actor,
                          const ent_wf_decision *ds, size_t n,
                          ent_wf_before_fn before, void *data, char *why,
                          size_t whylen) {
    char wbuf[80];
    bool any = false;
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    if (!has_stage(r, to)) {
        seterr(why, whylen, "stage \"%.64s\" is not in the object's rules%s",
               to, "");
        return false;
    }
    for (size_t i = 0; i < r->ntrans; i++) {
        const ent_wf_trans *t = &r->trans[i];
        if (strcmp(t->to, to) != 0 ||
            !(t->any_from || (from != NULL && strcmp(t->from, from) == 0)))
            continue;
        any = true;
        bool who = false;
        for (size_t k = 0; k < t->nwho && !who; k++)
            who = ent_wf_who_matches(&t->who[k], actor);
        if (!who) {
            ent_wf_who_format(&t->who[0], wbuf, sizeof(wbuf));
            seterr(why, whylen, "the move to \"%.64s\" is made by %s", to,
                   wbuf);
            continue;
        }
        size_t k = 0;
        while (k < t->nsteps &&
               step_met(&t->steps[k], actor, ds, n, before, data))
            k++;
        if (k == t->nsteps)
            return true;
        ent_wf_who_format(&t->steps[k].by, wbuf, sizeof(wbuf));
        if (why != NULL && whylen > 0)
            snprintf(why, whylen,
                     "the move to \"%.64s\" needs approval \"%s\" by %s%s "
                     "first",
                     to, t->steps[k].name, wbuf,
                     t->steps[k].self_ok ? "" : " (not the mover)");
    }
    if (!any && why != NULL && whylen > 0)
        snprintf(why, whylen,
                 "the object's rules have no move from \"%.64s\" to "
                 "\"%.64s\"",
                 from ? from : "(none)", to);
    return false;
}

const ent_wf_who *ent_wf_field_owner(const ent_wf_rules *r, const char *name) {
    for (size_t i = 0; i < r->nfields; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return &r->fields[i].who;
    return NULL;
}

bool ent_wf_step_known(const ent_wf_rules *r, const char *step) {
    for (size_t i = 0; i < r->ntrans; i++)
        for (size_t k = 0; k < r->trans[i].nsteps; k++)
            if (strcmp(r->trans[i].steps[k].name, step) == 0)
                return true;
    return false;
}

const char *ent_wf_limit_of(const ent_wf_rules *r, const char *name) {
    return limit_bound(r, name);
}

bool ent_wf_limit_ok(const ent_value *v, const ent_value *bound,
                     const char *field, const char *bound_name, char *why,
                     size_t whylen) {
    if (v->type == ENT_VT_NULL)
        return true;
    if (bound == NULL || bound->type == ENT_VT_NULL) {
        seterr(why, whylen, "%.64s is bounded by %.64s, which has no value",
               field, bound_name);
        return false;
    }
    if (v->type == ENT_VT_MONEY && bound->type == ENT_VT_MONEY) {
        if (strcmp(v->u.money.cur, bound->u.money.cur) != 0) {
            seterr(why, whylen, "%.64s is not in the currency of %.64s", field,
                   bound_name);
            return false;
        }
        if (v->u.money.minor >= 0 && v->u.money.minor <= bound->u.money.minor)
            return true;
    } else if (v->type == ENT_VT_INT && bound->type == ENT_VT_INT) {
        if (v->u.i >= 0 && v->u.i <= bound->u.i)
            return true;
    } else {
        seterr(why, whylen, "%.64s and %.64s are not amounts of one kind",
               field, bound_name);
        return false;
    }
    seterr(why, whylen, "%.64s is more than %.64s (or negative)", field,
           bound_name);
    return false;
}

static int resolve_one(ent_wf_who *w, ent_wf_ref_fn fn, void *data,
                       bool *changed) {
    uint8_t org[ENT_WF_PK_LEN];
    bool found = false;
    if (w->kind != ENT_WF_REF)
        return ENT_OK;
    int rc = fn(data, w->field, org, &found);
    if (rc == ENT_OK && found) {
        memset(w, 0, sizeof(*w));
        w->kind = ENT_WF_ORG;
        memcpy(w->org, org, ENT_WF_PK_LEN);
        *changed = true;
    }
    return rc;
}

int ent_wf_resolve_refs(ent_wf_rules *r, ent_wf_ref_fn fn, void *data,
                        bool *changed) {
    int rc = ENT_OK;
    *changed = false;
    for (size_t i = 0; i < r->ntrans && rc == ENT_OK; i++) {
        ent_wf_trans *t = &r->trans[i];
        for (size_t k = 0; k < t->nwho && rc == ENT_OK; k++)
            rc = resolve_one(&t->who[k], fn, data, changed);
        for (size_t k = 0; k < t->nsteps && rc == ENT_OK; k++)
            rc = resolve_one(&t->steps[k].by, fn, data, changed);
    }
    for (size_t i = 0; i < r->nfields && rc == ENT_OK; i++)
        rc = resolve_one(&r->fields[i].who, fn, data, changed);
    return rc;
}
