/*
 * crm_export.c - the rows of `entente export` (crm_import.h
 * ent_crm_export, spec/crm.md §4): the objects of one type in id order,
 * filtered by a --where expression of the report language
 * (node/reports/expr.h) over the fields of the type's template, or only
 * those changed after an event id (the event stream's ids are the
 * cursor, node/events/event.h).
 */
#include "node/crm/crm_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/events/event.h"
#include "node/objects/object.h"
#include "node/objects/template.h"
#include "node/objects/fieldmap.h"
#include "node/reports/expr.h"

typedef struct slot {
    const char *name;
    ent_vtype vt;
    bool have;
    ent_value v;
} slot;

typedef struct exp_ctx {
    ent_txn *txn;
    const ent_crm_export_opts *o;
    const ent_template *tpl;
    ent_expr *where;
    ent_fieldmap *fm; /* the org's own names of the type; NULL: none */
    slot *slots;
    size_t nslots;
    json_t *rows;
    size_t limit;
    size_t bytes; /* compact JSON of rows so far */
    uint8_t last[32];
    bool more;
    /* --since: the objects changed, sorted */
    uint8_t (*ids)[32];
    size_t nids, capids;
} exp_ctx;

static bool lookup(void *data, const char *name, size_t len, ent_vtype *type,
                   unsigned *slot_out) {
    exp_ctx *c = data;
    const char *sh = ent_fieldmap_shared_name(c->fm, name, len);
    if (sh != NULL) { /* the org's own name of a shared field */
        name = sh;
        len = strlen(sh);
    }
    for (size_t i = 0; i < c->nslots; i++)
        if (strlen(c->slots[i].name) == len &&
            memcmp(c->slots[i].name, name, len) == 0) {
            *type = c->slots[i].vt;
            *slot_out = (unsigned)i;
            return true;
        }
    return false;
}

/* An own value compared with a field in --where: its shared value. */
static const char *where_value(void *data, unsigned i, const char *s,
                               size_t len) {
    exp_ctx *c = data;
    return i < c->nslots
               ? ent_fieldmap_shared_value(c->fm, c->slots[i].name, s, len)
               : NULL;
}

static const ent_value *slot_value(void *data, unsigned i) {
    exp_ctx *c = data;
    return i < c->nslots && c->slots[i].have ? &c->slots[i].v : NULL;
}

/* A field is its shared value, else this org's private one (the shared
 * rows come first), as in reports (spec/reports.md "Options"). */
static int field_fn(void *data, const char *name, size_t nlen, bool priv,
                    const uint8_t *blob, size_t blen) {
    exp_ctx *c = data;
    for (size_t i = 0; i < c->nslots; i++) {
        slot *s = &c->slots[i];
        if (strlen(s->name) != nlen || memcmp(s->name, name, nlen) != 0)
            continue;
        if (priv && s->have)
            return 0;
        ent_value_clear(&s->v);
        s->have = false;
        if (ent_obj_value_decode(blob, blen, &s->v) == ENT_OK &&
            s->v.type != ENT_VT_NULL)
            s->have = s->v.type == s->vt;
        if (!s->have)
            ent_value_clear(&s->v);
        return 0;
    }
    return 0;
}

/* One object: filter, then its row. */
static int one(exp_ctx *c, const uint8_t id[32]) {
    json_t *st = NULL, *row;
    char hex[65];
    int rc;
    if (json_array_size(c->rows) >= c->limit) {
        c->more = true;
        return 1;
    }
    if (c->where != NULL) {
        for (size_t i = 0; i < c->nslots; i++) {
            ent_value_clear(&c->slots[i].v);
            c->slots[i].have = false;
        }
        /* --hide-private: the filter sees no private value either */
        rc = ent_obj_fields_scan(c->txn, id, !c->o->hide_private, field_fn, c);
        if (rc != ENT_OK)
            return rc;
        if (!ent_expr_test(c->where, slot_value, c))
            return 0;
    }
    rc = ent_obj_state_json_txn(c->txn, id, &st);
    if (rc == ENT_ENOENT)
        return 0;
    if (rc != ENT_OK)
        return rc;
    ent_hex_encode(hex, id, 32);
    row = json_pack("{s:s,s:O}", "id", hex, "shared",
                    json_object_get(st, "shared"));
    if (row != NULL && !c->o->hide_private)
        json_object_set(row, "private", json_object_get(st, "private"));
    json_decref(st);
    if (row == NULL)
        return ENT_ENOMEM;
    /* a page ends before its JSON passes ENT_CRM_EXPORT_PAGE_BYTES: this
     * object opens the next one */
    size_t rb = json_dumpb(row, NULL, 0, JSON_COMPACT) + 1;
    if (json_array_size(c->rows) > 0 &&
        c->bytes + rb > ENT_CRM_EXPORT_PAGE_BYTES) {
        json_decref(row);
        c->more = true;
        return 1;
    }
    c->bytes += rb;
    if (json_array_append_new(c->rows, row) != 0)
        return ENT_ENOMEM;
    memcpy(c->last, id, 32);
    return 0;
}

static int scan_fn(void *data, const ent_obj_info *o) {
    exp_ctx *c = data;
    return one(c, o->id);
}

static int ev_fn(void *data, const ent_event *ev) {
    exp_ctx *c = data;
    if (!ev->has_object || (strcmp(ev->kind, ENT_EV_OBJECT_CREATED) != 0 &&
                            strcmp(ev->kind, ENT_EV_FIELDS_CHANGED) != 0 &&
                            strcmp(ev->kind, ENT_EV_PRIVATE_CHANGED) != 0))
        return 0;
    if (c->nids == c->capids) {
        size_t cap = c->capids ? c->capids * 2 : 256;
        void *p = realloc(c->ids, cap * 32);
        if (p == NULL)
            return ENT_ENOMEM;
        c->ids = p;
        c->capids = cap;
    }
    memcpy(c->ids[c->nids++], ev->object, 32);
    return 0;
}

static int cmp32(const void *a, const void *b) {
    return memcmp(a, b, 32);
}

int ent_crm_export(ent_txn *txn, const ent_crm_export_opts *o, json_t **out,
                   char *err, size_t errlen) {
    exp_ctx c;
    ent_template *tpl = NULL;
    uint64_t last_ev = 0;
    int rc;
    *out = NULL;
    if (txn == NULL || o == NULL || o->type == NULL ||
        !ent_template_type_valid(o->type) || o->limit > ENT_CRM_EXPORT_PAGE)
        return ENT_EINVAL;
    memset(&c, 0, sizeof(c));
    c.txn = txn;
    c.o = o;
    c.limit = o->limit ? o->limit : ENT_CRM_EXPORT_PAGE;
    if ((rc = ent_template_get(txn, o->type, &tpl)) != ENT_OK) {
        snprintf(err, errlen, "no template of type %s", o->type);
        return rc;
    }
    c.tpl = tpl;
    c.slots = calloc(tpl->nfields + 1, sizeof(slot));
    c.rows = json_array();
    if (c.slots == NULL || c.rows == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < tpl->nfields; i++) {
        c.slots[i].name = tpl->fields[i].name;
        c.slots[i].vt = tpl->fields[i].type;
    }
    c.nslots = tpl->nfields;
    if (o->where != NULL && o->where[0] != '\0') {
        char why[ENT_EXPR_ERR_MAX];
        rc = ent_fieldmap_get(txn, o->type, &c.fm);
        if (rc != ENT_OK && rc != ENT_ENOENT) {
            snprintf(err, errlen, "the field map of %s: %s", o->type,
                     ent_strerror(rc));
            goto out;
        }
        rc = ent_expr_compile(o->where, lookup, &c, &c.where, why, sizeof(why));
        if (rc == ENT_OK)
            ent_expr_map_text(c.where, where_value, &c);
        if (rc == ENT_OK && ent_expr_type(c.where) != ENT_XT_BOOL) {
            snprintf(why, sizeof(why), "is a %s, not a condition",
                     ent_xtype_name(ent_expr_type(c.where)));
            rc = ENT_EINVAL;
        }
        if (rc != ENT_OK) {
            snprintf(err, errlen, "--where: %s", why);
            goto out;
        }
    }
    if ((rc = ent_events_last(txn, &last_ev)) != ENT_OK)
        goto out;
    if (o->since_set) {
        uint64_t first = 0;
        if ((rc = ent_events_first(txn, &first)) != ENT_OK)
            goto out;
        if (first > 0 && o->since + 1 < first) {
            snprintf(err, errlen,
                     "--since %llu: events up to %llu are no longer kept; "
                     "export everything again (without --since)",
                     (unsigned long long)o->since,
                     (unsigned long long)(first - 1));
            rc = ENT_EINVAL;
            goto out;
        }
        if ((rc = ent_events_read(txn, o->since, 0, ev_fn, &c)) != ENT_OK)
            goto out;
        if (c.nids > 1)
            qsort(c.ids, c.nids, 32, cmp32);
        for (size_t i = 0; i < c.nids && rc == ENT_OK; i++) {
            char type[ENT_OP_NAME_MAX + 1];
            if ((i > 0 && memcmp(c.ids[i], c.ids[i - 1], 32) == 0) ||
                (o->after != NULL && memcmp(c.ids[i], o->after, 32) <= 0))
                continue;
            rc = ent_obj_type_get(txn, c.ids[i], type);
            if (rc == ENT_ENOENT) {
                rc = ENT_OK;
                continue;
            }
            if (rc == ENT_OK && strcmp(type, o->type) == 0) {
                rc = one(&c, c.ids[i]);
                if (rc > 0)
                    rc = ENT_OK;
                if (c.more)
                    break;
            }
        }
    } else {
        rc = ent_obj_scan(txn, o->type, o->after, scan_fn, &c);
    }
    if (rc != ENT_OK)
        goto out;
    {
        char hex[65];
        ent_hex_encode(hex, c.last, 32);
        *out = json_pack("{s:O,s:s?,s:I}", "objects", c.rows, "next",
                         c.more ? hex : NULL, "cursor", (json_int_t)last_ev);
        if (*out == NULL)
            rc = ENT_ENOMEM;
    }
out:
    for (size_t i = 0; c.slots != NULL && i < c.nslots; i++)
        ent_value_clear(&c.slots[i].v);
    free(c.slots);
    free(c.ids);
    ent_expr_free(c.where);
    ent_fieldmap_free(c.fm);
    json_decref(c.rows);
    ent_template_free(tpl);
    return rc;
}
