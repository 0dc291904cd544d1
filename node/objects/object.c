/*
 * object.c - the object engine's handle (ent_objects_new/free, its
 * counters) and the changes this org makes to fields: create, set, stage,
 * comment (spec/objects.md). Membership changes are in member.c, reading
 * objects in object_show.c; received ops go through object_apply.c, and
 * object_int.h lists which engine file owns what.
 *
 * Every local change runs in one ent_store_write() function that starts by
 * dropping what a previous attempt built (the store reruns it from the
 * start when the map grows), resolves the user's input through the org's
 * template, builds and seals the op, and commits it through the same
 * ent__obj_commit() that received ops go through, so a local op and the
 * same op received elsewhere give the same state.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/home.h"
#include "node/objects/object_int.h"
#include "node/objects/template.h"
#include "node/objects/value.h"
#include "node/work/rules.h"

/* ------------------------------------------------------------ engine */

int ent_objects_new(ent_objects **out, const ent_objects_config *cfg) {
    *out = NULL;
    if (cfg == NULL || cfg->store == NULL || cfg->id == NULL)
        return ENT_EINVAL;
    ent_objects *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return ENT_ENOMEM;
    e->store = cfg->store;
    e->id = cfg->id;
    e->log = cfg->log;
    e->clock = cfg->clock;
    e->clock_data = cfg->clock_data;
    e->org_name = cfg->org_name;
    e->org_name_data = cfg->org_name_data;
    memcpy(e->me, ent_identity_public(cfg->id), ENT_PK_LEN);
    ent_hlc_init(&e->hlc);
    *out = e;
    return ENT_OK;
}

void ent_objects_free(ent_objects *eng) {
    if (eng != NULL) {
        ent_template_free(eng->builtin);
        ent__obj_wf_cache_free(eng);
    }
    free(eng);
}

void ent_obj_stats_get(const ent_objects *eng, ent_obj_stats *out) {
    *out = eng->stats;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------- resolved input */

typedef struct resolved_set {
    ent_resolved *v;
    size_t n;
} resolved_set;

static void resolved_free(resolved_set *s) {
    for (size_t i = 0; i < s->n; i++)
        ent_value_clear(&s->v[i].value);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static bool resolved_has(const resolved_set *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].field, name) == 0)
            return true;
    return false;
}

/* The org's template of type, or an empty loose one when the org has none
 * (a type created by a partner). */
/*
 * The template of type for a change. A stored template is parsed each time
 * (*borrowed = false: the caller frees it); a built-in one comes from the
 * engine's one-entry cache, parsed once (*borrowed = true: the caller must
 * not free it), since parsing its JSON cost a quarter of making an op.
 * A type with no template gets an empty one (owned).
 */
static int template_for(ent_objects *eng, ent_txn *txn, const char *type,
                        ent_template **out, bool *borrowed) {
    const void *v;
    size_t vlen;
    *out = NULL;
    *borrowed = false;
    if (!ent_template_type_valid(type))
        return ENT_EINVAL;
    int rc = ent_txn_get(txn, ENT_TBL_TEMPLATES, type, strlen(type), &v, &vlen);
    if (rc == ENT_OK || rc != ENT_ENOENT)
        return rc == ENT_OK ? ent_template_get(txn, type, out) : rc;
    if (eng->builtin == NULL || strcmp(eng->builtin->type, type) != 0) {
        ent_template *t = NULL;
        rc = ent_template_builtin(type, &t);
        if (rc == ENT_OK) {
            ent_template_free(eng->builtin);
            eng->builtin = t;
        } else if (rc != ENT_ENOENT) {
            return rc;
        }
    }
    if (eng->builtin != NULL && strcmp(eng->builtin->type, type) == 0) {
        *out = eng->builtin;
        *borrowed = true;
        return ENT_OK;
    }
    ent_template *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return ENT_ENOMEM;
    size_t tl = strnlen(type, sizeof(t->type) - 1);
    memcpy(t->type, type, tl);
    t->type[tl] = '\0';
    *out = t;
    return ENT_OK;
}

/* A field given with --remove: a valid name the template does not list
 * (a template field is cleared with --set F=, never removed). */
static int remove_check(const ent_template *tpl, const char *name, char *err,
                        size_t errlen) {
    if (!ent_template_name_valid(name)) {
        set_err(err, errlen,
                "bad field name \"%.64s\" (use [a-z][a-z0-9_]{0,63})", name);
        return ENT_EINVAL;
    }
    if (ent_template_field(tpl, name) != NULL ||
        (tpl->stages.n > 0 && strcmp(name, ENT_TPL_STAGE_FIELD) == 0)) {
        set_err(err, errlen,
                "field %s is in template %s and cannot be removed; clear it "
                "with --set %s=",
                name, tpl->type, name);
        return ENT_ESCHEMA;
    }
    return ENT_OK;
}

/* Resolves every input (refusing a field given twice) and, with defaults,
 * adds each template default of a shared field not given. */
/* A link this node writes to an object it holds must name one of the
 * field's target type (spec/objects.md "Links"); a link to an object it
 * does not hold is taken as given. */
static int ref_target_check(const ent_template *tpl, ent_txn *txn,
                            const ent_resolved *r, char *err, size_t errlen) {
    const ent_tpl_field *f = ent_template_field(tpl, r->field);
    char ty[ENT_OP_NAME_MAX + 1];
    if (r->value.type != ENT_VT_REF || f == NULL || f->target[0] == '\0')
        return ENT_OK;
    int rc = ent_obj_type_get(txn, r->value.u.ref, ty);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc == ENT_OK && strcmp(ty, f->target) != 0) {
        set_err(err, errlen, "field %s of %s: links a %s, not a %s", r->field,
                tpl->type, ty, f->target);
        rc = ENT_EINVAL;
    }
    return rc;
}

static int resolve_inputs(const ent_template *tpl, ent_txn *txn,
                          const ent_obj_input *in, size_t n, bool defaults,
                          resolved_set *out, char *err, size_t errlen) {
    size_t cap = n + (defaults ? tpl->nfields : 0);
    int rc = ENT_OK;
    out->v = calloc(cap ? cap : 1, sizeof(*out->v));
    out->n = 0;
    if (out->v == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (in[i].name == NULL || in[i].text == NULL) {
            set_err(err, errlen, "missing field name or value");
            return ENT_EINVAL;
        }
        if (resolved_has(out, in[i].name)) {
            set_err(err, errlen, "field %s given twice", in[i].name);
            return ENT_EINVAL;
        }
        if (in[i].how == ENT_IN_REMOVE) {
            /* only a custom field goes: a template field is cleared */
            if ((rc = remove_check(tpl, in[i].name, err, errlen)) != ENT_OK)
                return rc;
            ent_resolved *r = &out->v[out->n++];
            snprintf(r->field, sizeof(r->field), "%s", in[i].name);
            r->visibility = ENT_VIS_SHARED;
            r->custom = true;
            r->value.type = ENT_VT_NULL;
            continue;
        }
        rc = ent_template_resolve_as(
            tpl, txn, in[i].name, in[i].text,
            in[i].how == ENT_IN_PRIVATE  ? ENT_RESOLVE_PRIVATE
            : in[i].how == ENT_IN_CUSTOM ? ENT_RESOLVE_CUSTOM
                                         : ENT_RESOLVE_SHARED,
            &out->v[out->n], err, errlen);
        if (rc != ENT_OK)
            return rc;
        out->n++;
        if ((rc = ref_target_check(tpl, txn, &out->v[out->n - 1], err,
                                   errlen)) != ENT_OK)
            return rc;
    }
    for (size_t i = 0; defaults && i < tpl->nfields; i++) {
        const ent_tpl_field *f = &tpl->fields[i];
        if (f->default_text == NULL || f->visibility != ENT_VIS_SHARED ||
            resolved_has(out, f->name))
            continue;
        rc = ent_template_resolve(tpl, txn, f->name, f->default_text, false,
                                  &out->v[out->n], err, errlen);
        if (rc != ENT_OK)
            return rc;
        out->n++;
    }
    return ENT_OK;
}

/* The shared values of rs as op fields (values borrowed from rs). */
static int shared_fields(const resolved_set *rs, ent_op_field **out,
                         size_t *n) {
    *out = calloc(rs->n ? rs->n : 1, sizeof(**out));
    *n = 0;
    if (*out == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < rs->n; i++) {
        if (rs->v[i].visibility != ENT_VIS_SHARED)
            continue;
        ent_op_field *f = &(*out)[(*n)++];
        snprintf(f->name, sizeof(f->name), "%s", rs->v[i].field);
        f->v = rs->v[i].value; /* shallow: not freed through the body */
        f->owner_only = rs->v[i].owner_only;
    }
    return ENT_OK;
}

/* Writes the private values of rs (a null deletes the row); a removed
 * custom field (removed[i]) loses its private value as well. */
static int put_private(ent_txn *txn, const uint8_t obj[32],
                       const resolved_set *rs, const bool *removed) {
    int rc = ENT_OK;
    for (size_t i = 0; i < rs->n && rc == ENT_OK; i++) {
        const ent_resolved *r = &rs->v[i];
        if (r->visibility != ENT_VIS_PRIVATE &&
            (removed == NULL || !removed[i]))
            continue;
        uint8_t k[32 + ENT_TPL_NAME_MAX];
        size_t nl = strlen(r->field);
        memcpy(k, obj, 32);
        memcpy(k + 32, r->field, nl);
        if (r->value.type == ENT_VT_NULL) {
            rc = ent_txn_del(txn, ENT_TBL_PRIVATE, k, 32 + nl);
            if (rc == ENT_ENOENT)
                rc = ENT_OK;
            continue;
        }
        uint8_t *blob;
        size_t blen;
        if ((rc = ent__obj_value_encode(&r->value, &blob, &blen)) != ENT_OK)
            break;
        rc = ent_txn_put(txn, ENT_TBL_PRIVATE, k, 32 + nl, blob, blen, 0);
        ent_wipe(blob, blen);
        free(blob);
    }
    return rc;
}

/* The data of private.changed for the private values of rs into d
 * (spec/events.md); *n: how many (none: no event). No store, no engine. */
static int private_data(const resolved_set *rs, ent_jtext *d, size_t *n) {
    const char **names = calloc(rs->n ? rs->n : 1, sizeof(*names));
    const ent_value **vals = calloc(rs->n ? rs->n : 1, sizeof(*vals));
    int rc = names != NULL && vals != NULL ? ENT_OK : ENT_ENOMEM;
    *n = 0;
    for (size_t i = 0; rc == ENT_OK && i < rs->n; i++) {
        if (rs->v[i].visibility != ENT_VIS_PRIVATE)
            continue;
        names[*n] = rs->v[i].field;
        vals[(*n)++] = &rs->v[i].value;
    }
    if (rc == ENT_OK && *n > 0)
        rc = ent__obj_ev_private_data(names, vals, *n, d);
    free(names);
    free(vals);
    return rc;
}

/* private.changed for the private values of rs (spec/events.md). */
static int private_event(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                         const resolved_set *rs) {
    char arr[1024];
    ent_jtext d;
    size_t n;
    ent_jtext_init(&d, arr, sizeof(arr));
    int rc = private_data(rs, &d, &n);
    if (rc == ENT_OK && n > 0)
        rc = ent__obj_ev_private_text(eng, txn, obj, &d);
    ent_jtext_free(&d);
    return rc;
}

/* ------------------------------------------------------------ heads, seq */

typedef struct head {
    uint8_t id[32];
    uint64_t hlc;
} head;

typedef struct heads_ctx {
    head *v;
    size_t n, cap;
} heads_ctx;

static int heads_scan(void *data, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    heads_ctx *c = data;
    if (klen != 64 || vlen != 8)
        return ENT_ECORRUPT;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 16;
        head *nv = realloc(c->v, nc * sizeof(*nv));
        if (nv == NULL)
            return ENT_ENOMEM;
        c->v = nv;
        c->cap = nc;
    }
    memcpy(c->v[c->n].id, (const uint8_t *)key + 32, 32);
    c->v[c->n++].hlc = ent_be64_get(val);
    return 0;
}

static int seq_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    if (klen != 72 && klen != 104) /* 104: a fork's second version */
        return ENT_ECORRUPT;
    *(uint64_t *)data = ent_be64_get((const uint8_t *)key + 64);
    return 1;
}

/*
 * Chooses at most ENT_OP_MAX_PARENTS of the heads (kept in id order) when
 * there are more: first one whose past holds our last op (S2: our chain
 * continues) and one whose past names the epoch we write in (the epoch
 * bound), then the others in id order.
 */
static int pick_parents(ent_txn *txn, const uint8_t obj[32],
                        const uint8_t me[32], uint64_t last, uint64_t epoch,
                        heads_ctx *hc, bool *keep) {
    uint32_t a = 0;
    bool have_a = false, got_seq = last == 0, got_ep = false;
    size_t kept = 0;
    int rc = ent__obj_author_find(txn, obj, me, &a);
    if (rc == ENT_OK)
        have_a = true;
    else if (rc != ENT_ENOENT)
        return rc;
    for (size_t i = 0; i < hc->n && (!got_seq || !got_ep); i++) {
        pvinfo pi;
        if ((rc = ent__obj_pv_load(txn, obj, hc->v[i].id, &pi)) != ENT_OK)
            return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
        bool s = !got_seq && have_a && ent__pv_at(&pi.pv, a) == last;
        bool e = !got_ep && pi.maxep >= epoch;
        ent__pvinfo_free(&pi);
        if (s || e) {
            keep[i] = true;
            kept++;
            got_seq |= s;
            got_ep |= e;
        }
    }
    for (size_t i = 0; i < hc->n && kept < ENT_OP_MAX_PARENTS; i++)
        if (!keep[i]) {
            keep[i] = true;
            kept++;
        }
    return ENT_OK;
}

/*
 * Fills the header of a new non-genesis op of obj: parents = current heads
 * (sorted: the heads table is in id order; at most ENT_OP_MAX_PARENTS, see
 * pick_parents), seq = our next, epoch and key = the current ones, hlc =
 * now, later than every parent.
 */
int ent__obj_new_header(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                        uint8_t kind, ent_op_header *h,
                        uint8_t key[ENT_KEY_LEN]) {
    heads_ctx hc = {0};
    bool *keep = NULL;
    uint8_t pre[64];
    uint64_t last = 0, max_hlc = 0;
    int rc;
    memset(h, 0, sizeof(*h));
    h->version = ENT_OP_VERSION;
    h->kind = kind;
    memcpy(h->object, obj, 32);
    memcpy(h->author, eng->me, 32);
    /* restored from a backup: our newer ops may still be out there, and a
     * seq taken now could repeat one of them (spec/operations.md §3) */
    if ((rc = ent_home_restoring(txn)) != ENT_OK ||
        (rc = ent_txn_scan(txn, ENT_TBL_HEADS, obj, 32, heads_scan, &hc)) !=
            ENT_OK)
        goto out;
    memcpy(pre, obj, 32);
    memcpy(pre + 32, eng->me, 32);
    if ((rc = ent_txn_scan_reverse(txn, ENT_TBL_OPS, pre, 64, seq_scan,
                                   &last)) != ENT_OK)
        goto out;
    h->seq = last + 1;
    if ((rc = ent__obj_current_key(txn, obj, &h->epoch, key, NULL)) != ENT_OK) {
        if (rc == ENT_ENOENT)
            rc = ENT_ECORRUPT;
        goto out;
    }
    if ((keep = calloc(hc.n ? hc.n : 1, sizeof(*keep))) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    if (hc.n <= ENT_OP_MAX_PARENTS) {
        for (size_t i = 0; i < hc.n; i++)
            keep[i] = true;
    } else if ((rc = pick_parents(txn, obj, eng->me, last, h->epoch, &hc,
                                  keep)) != ENT_OK) {
        goto out;
    }
    for (size_t i = 0; i < hc.n; i++) {
        if (!keep[i])
            continue;
        memcpy(h->parents[h->nparents++], hc.v[i].id, 32);
        if (hc.v[i].hlc > max_hlc)
            max_hlc = hc.v[i].hlc;
    }
    if (max_hlc > eng->hlc.last)
        eng->hlc.last = max_hlc;
    rc = ent_hlc_now(&eng->hlc, ent__obj_wall(eng), &h->hlc);
out:
    if (rc != ENT_OK)
        ent_wipe(key, ENT_KEY_LEN);
    free(keep);
    free(hc.v);
    return rc;
}

/* Checks b by the value rules every receiver applies
 * (ent__obj_check_values), encodes it, seals it under h and key, and
 * commits the op through the same path as received ops (ent__obj_commit). */
int ent__obj_seal_commit(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                         const ent_op_header *h, const ent_op_body *b,
                         const uint8_t key[ENT_KEY_LEN], ent_op **op_out) {
    uint8_t *body = NULL;
    size_t blen;
    ent_op *op = NULL;
    int rc = ent__obj_check_values(b);
    if (rc == ENT_OK)
        rc = ent_op_body_encode(b, &body, &blen);
    if (rc != ENT_OK)
        goto out;
    if ((rc = ent_op_seal(&op, h, body, blen, key, eng->id)) != ENT_OK)
        goto out;
    /* the object's workflow rules judge our own op as every member's
     * engine will (spec/workflows.md §4): refused here with the reason */
    if (!h->genesis &&
        (h->kind == ENT_OP_SET || h->kind == ENT_OP_STAGE ||
         h->kind == ENT_OP_APPROVE || h->kind == ENT_OP_RULES)) {
        obj_rec r;
        pvinfo pi;
        memset(&pi, 0, sizeof(pi));
        if ((rc = ent__obj_rec_get(txn, obj, &r)) == ENT_OK &&
            (rc = ent__obj_pv_derive(txn, obj, op, &pi)) == ENT_OK)
            rc = ent__obj_wf_check(eng, txn, obj, r.owner, op, b, &pi, eng->wf_why,
                                   sizeof(eng->wf_why));
        if (rc == ENT_OK && h->kind == ENT_OP_SET)
            rc = ent__obj_mdf_check(eng, txn, obj, b, eng->wf_why,
                                    sizeof(eng->wf_why));
        if (rc == ENT_OK &&
            (h->kind == ENT_OP_SET || h->kind == ENT_OP_STAGE))
            rc = ent__obj_dealreg_check(eng, txn, obj, h, b, eng->wf_why,
                                        sizeof(eng->wf_why));
        ent__pvinfo_free(&pi);
        if (rc != ENT_OK)
            goto out;
    }
    if ((rc = ent__obj_commit(eng, txn, op, b, h->genesis ? op->id : obj, NULL,
                              NULL, NULL)) != ENT_OK)
        goto out;
    *op_out = op;
    op = NULL;
out:
    if (body != NULL) {
        ent_wipe(body, blen);
        free(body);
    }
    ent_op_free(op);
    return rc;
}

/* Our current role in obj (the members table, which follows the decision
 * of spec/membership.md "Counting"): ENT_OK with *role, ENT_ENOENT (no
 * object), ENT_EDENIED (removed, or not a member). Brings an object of an
 * older store up to date first. */
int ent__obj_my_role(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                     obj_rec *r, uint8_t *role) {
    bool active = false;
    int rc = ent__obj_rec_get(txn, obj, r);
    if (rc != ENT_OK)
        return rc;
    if ((rc = ent__obj_backfill(eng, txn, obj)) != ENT_OK ||
        (rc = ent__obj_rec_get(txn, obj, r)) != ENT_OK)
        return rc;
    if (r->status == OBJ_STATUS_REMOVED)
        return ENT_EDENIED;
    rc = ent__obj_member_get(txn, obj, eng->me, &active, role);
    if (rc == ENT_ENOENT || (rc == ENT_OK && !active))
        rc = ENT_EDENIED;
    return rc;
}

/* ---------------------------------------------------------------- create */

typedef struct create_ctx {
    ent_objects *eng;
    const char *type;
    const ent_obj_input *in;
    size_t n;
    uint8_t id[ENT_OBJ_ID_LEN];
    ent_op *op;
    char *err;
    size_t errlen;
} create_ctx;

/* True if type has a built-in template. */
static bool builtin_type(const char *type) {
    for (const char *const *t = ent_template_builtin_types(); *t; t++)
        if (strcmp(*t, type) == 0)
            return true;
    return false;
}

typedef struct ref_ctx {
    ent_txn *txn;
    const ent_op_body *b;
    char *err;
    size_t errlen;
} ref_ctx;

/* ent_wf_ref_fn: the owner of the object the genesis links in field. */
static int ref_owner(void *data, const char *field, uint8_t org[32],
                     bool *found) {
    ref_ctx *c = data;
    obj_rec r;
    *found = false;
    for (size_t i = 0; i < c->b->nfields; i++) {
        const ent_op_field *f = &c->b->fields[i];
        if (strcmp(f->name, field) != 0 || f->v.type != ENT_VT_REF)
            continue;
        int rc = ent__obj_rec_get(c->txn, f->v.u.ref, &r);
        if (rc == ENT_ENOENT) {
            set_err(c->err, c->errlen,
                    "field %s links an object this node does not hold: the "
                    "rules name its owner (workflow party ref:%s)",
                    field, field);
            return ENT_EINVAL;
        }
        if (rc != ENT_OK)
            return rc;
        memcpy(org, r.owner, 32);
        *found = true;
    }
    return ENT_OK;
}

/* The genesis's fields by the rules it carries, as every member judges
 * them (spec/workflows.md §4): the creator stands as the owner; a limited
 * field is bounded by the genesis's own value of its bound. */
static int genesis_fields_ok(const ent_wf_rules *r, const ent_op_body *b,
                             const uint8_t creator[32], char *err,
                             size_t errlen) {
    ent_wf_party me = {creator, true, true, ENT_ROLE_OWNER};
    for (size_t i = 0; i < b->nfields; i++) {
        const ent_op_field *f = &b->fields[i];
        const ent_wf_who *who = ent_wf_field_owner(r, f->name);
        const char *bound = ent_wf_limit_of(r, f->name);
        char wb[80], why[200];
        if (who != NULL && !ent_wf_who_matches(who, &me)) {
            ent_wf_who_format(who, wb, sizeof(wb));
            set_err(err, errlen, "field %s is written by %s only (object rules)",
                    f->name, wb);
            return ENT_EDENIED;
        }
        if (bound == NULL)
            continue;
        const ent_value *bv = NULL;
        for (size_t k = 0; k < b->nfields; k++)
            if (strcmp(b->fields[k].name, bound) == 0)
                bv = &b->fields[k].v;
        if (!ent_wf_limit_ok(&f->v, bv, f->name, bound, why, sizeof(why))) {
            set_err(err, errlen, "%s (object rules: limits)", why);
            return ENT_EDENIED;
        }
    }
    return ENT_OK;
}

/* The rules the genesis carries: the template's, with every party ref:F
 * replaced by the owner of the object field F links (spec/workflows.md
 * §8). Sets b->rules (malloc'ed) and b->ruleslen. */
static int rules_for_genesis(ent_txn *txn, const ent_template *tpl,
                             ent_op_body *b, const uint8_t creator[32],
                             char *err, size_t errlen) {
    ent_wf_rules *r = malloc(sizeof(*r));
    ref_ctx rc_ = {txn, b, err, errlen};
    bool changed = false;
    int rc = r == NULL ? ENT_ENOMEM : ENT_OK;
    if (rc == ENT_OK &&
        (rc = ent_wf_decode(r, tpl->rules, tpl->ruleslen)) == ENT_OK &&
        (rc = ent_wf_resolve_refs(r, ref_owner, &rc_, &changed)) == ENT_OK &&
        (rc = genesis_fields_ok(r, b, creator, err, errlen)) == ENT_OK &&
        changed) {
        rc = ent_wf_encode(r, &b->rules, &b->ruleslen);
    } else if (rc == ENT_OK) {
        if ((b->rules = malloc(tpl->ruleslen)) == NULL) {
            rc = ENT_ENOMEM;
        } else {
            memcpy(b->rules, tpl->rules, tpl->ruleslen);
            b->ruleslen = tpl->ruleslen;
        }
    }
    free(r);
    return rc;
}

/* A create in three steps (object.h): everything that reads the store,
 * the seal (no store, any thread), and the commit. */
struct ent_obj_prepared {
    ent_objects *eng;
    resolved_set rs;
    ent_op_body b; /* fields borrowed from rs; rules owned */
    ent_op_header h;
    uint8_t key[ENT_KEY_LEN];
    uint8_t *body;
    size_t blen;
    ent_op *op;  /* the sealed op */
    int seal_rc; /* 1: not sealed yet */
    /* the data of its two events, rendered by the seal (spec/events.md):
     * object.created, and private.changed when npriv > 0 */
    bool rendered;
    ent_jtext evc, evp;
    size_t npriv;
};

void ent_obj_prepared_free(ent_obj_prepared *p) {
    if (p == NULL)
        return;
    ent_wipe(p->key, sizeof(p->key));
    if (p->body != NULL) {
        ent_wipe(p->body, p->blen);
        free(p->body);
    }
    /* the values' text: wiped as the body's plaintext is */
    if (p->evc.p != NULL)
        ent_wipe(p->evc.p, p->evc.len);
    if (p->evp.p != NULL)
        ent_wipe(p->evp.p, p->evp.len);
    ent_jtext_free(&p->evc);
    ent_jtext_free(&p->evp);
    free(p->b.fields); /* values are borrowed from rs */
    free(p->b.rules);
    resolved_free(&p->rs);
    ent_op_free(p->op);
    free(p);
}

int ent_obj_hlc_take(ent_objects *eng, uint64_t *hlc) {
    if (eng == NULL || hlc == NULL)
        return ENT_EINVAL;
    return ent_hlc_now(&eng->hlc, ent__obj_wall(eng), hlc);
}

int ent_obj_create_prepare_as(ent_objects *eng, ent_txn *txn,
                              const ent_template *tpl, uint64_t hlc,
                              const ent_obj_input *in, size_t n,
                              ent_obj_prepared **out, char *err,
                              size_t errlen) {
    int rc;
    *out = NULL;
    if (eng == NULL || txn == NULL || tpl == NULL || (n > 0 && in == NULL))
        return ENT_EINVAL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    ent_obj_prepared *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return ENT_ENOMEM;
    p->eng = eng;
    p->seal_rc = 1;
    for (size_t i = 0; i < n; i++)
        if (in[i].how == ENT_IN_REMOVE) {
            set_err(err, errlen, "a new object has no field to remove");
            rc = ENT_EINVAL;
            goto out;
        }
    if ((rc = resolve_inputs(tpl, txn, in, n, true, &p->rs, err, errlen)) !=
        ENT_OK)
        goto out;
    p->b.kind = ENT_OP_CREATE;
    snprintf(p->b.type, sizeof(p->b.type), "%s", tpl->type);
    if ((rc = shared_fields(&p->rs, &p->b.fields, &p->b.nfields)) != ENT_OK)
        goto out;
    /* the template's workflow becomes the object's rules (spec/workflows.md),
     * each party ref:F named by the owner of the object F links */
    if (tpl->ruleslen > 0 &&
        (rc = rules_for_genesis(txn, tpl, &p->b, eng->me, err, errlen)) !=
            ENT_OK)
        goto out;
    p->h.version = ENT_OP_VERSION;
    p->h.kind = ENT_OP_CREATE;
    p->h.genesis = true;
    memcpy(p->h.author, eng->me, 32);
    p->h.seq = 1;
    p->h.hlc = hlc;
    /* the value rules every receiver applies, then the body's bytes */
    if ((rc = ent__obj_check_values(&p->b)) == ENT_OK)
        rc = ent_op_body_encode(&p->b, &p->body, &p->blen);
    if (rc != ENT_OK) {
        if (rc == ENT_EINVAL || rc == ENT_ETOOBIG)
            set_err(err, errlen, "cannot encode the object: %s",
                    ent_strerror(rc));
        goto out;
    }
    ent_random(p->key, sizeof(p->key));
out:
    if (rc != ENT_OK) {
        ent_obj_prepared_free(p);
        return rc;
    }
    *out = p;
    return ENT_OK;
}

int ent_obj_create_prepare_txn(ent_objects *eng, ent_txn *txn,
                               const char *type, const ent_obj_input *in,
                               size_t n, ent_obj_prepared **out, char *err,
                               size_t errlen) {
    ent_template *tpl = NULL;
    bool tpl_borrowed = false;
    const void *tv;
    size_t tvlen;
    uint64_t hlc;
    int rc;
    *out = NULL;
    if (eng == NULL || txn == NULL || type == NULL || (n > 0 && in == NULL))
        return ENT_EINVAL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (!ent_template_type_valid(type)) {
        set_err(err, errlen, "bad type name %s", type);
        return ENT_EINVAL;
    }
    /* the stored template, else the built-in one from the engine's cache
     * (many creates in one transaction parse it once) */
    rc = ent_txn_get(txn, ENT_TBL_TEMPLATES, type, strlen(type), &tv, &tvlen);
    if (rc == ENT_ENOENT && !builtin_type(type)) {
        set_err(err, errlen, "no template for type %s", type);
        return rc;
    }
    if ((rc == ENT_OK || rc == ENT_ENOENT) &&
        (rc = template_for(eng, txn, type, &tpl, &tpl_borrowed)) == ENT_OK &&
        (rc = ent_obj_hlc_take(eng, &hlc)) == ENT_OK)
        rc = ent_obj_create_prepare_as(eng, txn, tpl, hlc, in, n, out, err,
                                       errlen);
    if (!tpl_borrowed)
        ent_template_free(tpl);
    return rc;
}

int ent_obj_prepared_seal(ent_obj_prepared *p) {
    if (p == NULL)
        return ENT_EINVAL;
    p->seal_rc =
        ent_op_seal(&p->op, &p->h, p->body, p->blen, p->key, p->eng->id);
    /* the events' data as well, while the caller's thread is at it; when
     * that fails, the commit makes them itself */
    if (p->seal_rc == ENT_OK) {
        ent_jtext_init(&p->evc, NULL, 0);
        ent_jtext_init(&p->evp, NULL, 0);
        p->rendered = ent__obj_ev_create_data(p->op, &p->b, &p->evc) ==
                          ENT_OK &&
                      private_data(&p->rs, &p->evp, &p->npriv) == ENT_OK;
    }
    return p->seal_rc;
}

int ent_obj_create_finish_txn(ent_txn *txn, ent_obj_prepared *p,
                              uint8_t id_out[ENT_OBJ_ID_LEN],
                              ent_op **op_out, char *err, size_t errlen) {
    int rc;
    *op_out = NULL;
    if (txn == NULL || p == NULL)
        return ENT_EINVAL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (p->seal_rc == 1 && ent_obj_prepared_seal(p) == 1)
        return ENT_EINVAL;
    if ((rc = p->seal_rc) != ENT_OK) {
        if (rc == ENT_EINVAL || rc == ENT_ETOOBIG)
            set_err(err, errlen, "cannot encode the object: %s",
                    ent_strerror(rc));
        return rc;
    }
    const uint8_t *id = p->op->id;
    const ent_jtext *pre = p->rendered ? &p->evc : NULL;
    if ((rc = ent__obj_commit(p->eng, txn, p->op, &p->b, id, NULL, NULL,
                              pre)) != ENT_OK ||
        (rc = ent__obj_key_put(txn, id, 0, p->key, id)) != ENT_OK ||
        (rc = put_private(txn, id, &p->rs, NULL)) != ENT_OK)
        return rc;
    if (p->rendered)
        rc = p->npriv > 0
                 ? ent__obj_ev_private_text(p->eng, txn, id, &p->evp)
                 : ENT_OK;
    else
        rc = private_event(p->eng, txn, id, &p->rs);
    if (rc != ENT_OK)
        return rc;
    memcpy(id_out, id, ENT_OBJ_ID_LEN);
    *op_out = p->op;
    p->op = NULL;
    return ENT_OK;
}

/* The three steps in one write transaction. */
static int create_fn(ent_txn *txn, void *data) {
    create_ctx *c = data;
    ent_op_free(c->op);
    c->op = NULL;
    return ent_obj_create_txn(c->eng, txn, c->type, c->in, c->n, c->id,
                              &c->op, c->err, c->errlen);
}

int ent_obj_create(ent_objects *eng, const char *type,
                   const ent_obj_input *inputs, size_t n,
                   uint8_t id_out[ENT_OBJ_ID_LEN], ent_op **op_out, char *err,
                   size_t errlen) {
    create_ctx c = {.eng = eng,
                    .type = type,
                    .in = inputs,
                    .n = n,
                    .err = err,
                    .errlen = errlen};
    if (op_out != NULL)
        *op_out = NULL;
    if (eng == NULL)
        return ENT_EINVAL;
    int rc = ent_store_write(eng->store, create_fn, &c);
    if (rc != ENT_OK) {
        ent_op_free(c.op);
        return rc;
    }
    memcpy(id_out, c.op->id, 32);
    if (op_out != NULL)
        *op_out = c.op;
    else
        ent_op_free(c.op);
    return ENT_OK;
}

int ent_obj_create_txn(ent_objects *eng, ent_txn *txn, const char *type,
                       const ent_obj_input *inputs, size_t n,
                       uint8_t id_out[ENT_OBJ_ID_LEN], ent_op **op_out,
                       char *err, size_t errlen) {
    ent_obj_prepared *p = NULL;
    *op_out = NULL;
    int rc = ent_obj_create_prepare_txn(eng, txn, type, inputs, n, &p, err,
                                        errlen);
    if (rc == ENT_OK)
        rc = ent_obj_create_finish_txn(txn, p, id_out, op_out, err, errlen);
    ent_obj_prepared_free(p);
    return rc;
}

/* ------------------------------------------------------------------- set */

typedef struct change_ctx {
    ent_objects *eng;
    const uint8_t *obj;
    const ent_obj_input *in;
    size_t n;
    uint8_t kind; /* set, stage, comment, approve, rules, erase */
    const char *text;
    const char *step;       /* approve: NULL: the one waiting on us;
                               erase: the field (NULL: the whole object) */
    bool reject;            /* approve */
    const uint8_t *rules;   /* rules */
    size_t ruleslen;
    ent_op *op;
    char *err;
    size_t errlen;
} change_ctx;

/* "stage "x" of TYPE is not one of: "A", "B", ..." (as enum errors list
 * their values), as much as fits in err. */
static void stage_err(char *err, size_t errlen, const char *text,
                      const ent_template *tpl) {
    if (err == NULL || errlen == 0)
        return;
    if (tpl->stages.n == 0) {
        snprintf(err, errlen,
                 "type %s has no workflow stages (its template lists none)",
                 tpl->type);
        return;
    }
    int w = snprintf(err, errlen, "stage \"%.64s\" of %s is not one of:", text,
                     tpl->type);
    size_t used = w < 0 ? 0 : (size_t)w;
    for (size_t i = 0; i < tpl->stages.n && used < errlen; i++) {
        w = snprintf(err + used, errlen - used, "%s \"%s\"", i ? "," : "",
                     tpl->stages.v[i]);
        used += w < 0 ? 0 : (size_t)w;
    }
}

/* The body of our approval: the step named, or the one step that waits on
 * this org (spec/workflows.md §5), the decision and the comment. */
static int approve_body(change_ctx *c, ent_txn *txn, const obj_rec *r,
                        ent_op_body *b) {
    const char *step = c->step;
    char mine[ENT_OP_NAME_MAX + 1] = "";
    int rc;
    if (step == NULL) {
        size_t n = 0;
        if ((rc = ent__obj_wf_my_step(txn, c->obj, r->owner, c->eng->me, mine,
                                      &n)) != ENT_OK)
            return rc;
        if (n != 1) {
            set_err(c->err, c->errlen,
                    n == 0 ? "no approval of this org is waiting on the "
                             "object; name the step with --step"
                           : "several approvals wait on this org; name one "
                             "with --step");
            return ENT_EINVAL;
        }
        step = mine;
    }
    size_t sl = strlen(step);
    if (sl == 0 || sl > ENT_OP_NAME_MAX || !ent_text_valid(step, sl)) {
        set_err(c->err, c->errlen, "bad step name: 1 to 64 bytes of text");
        return ENT_EINVAL;
    }
    memcpy(b->step, step, sl + 1);
    b->decision = c->reject ? 1 : 0;
    const char *t = c->text ? c->text : "";
    b->textlen = strlen(t);
    if (b->textlen > ENT_VALUE_TEXT_MAX || !ent_text_valid(t, b->textlen)) {
        set_err(c->err, c->errlen,
                "comment: text of at most %d bytes, no control characters",
                ENT_VALUE_TEXT_MAX);
        return ENT_EINVAL;
    }
    if ((b->text = strdup(t)) == NULL)
        return ENT_ENOMEM;
    return ENT_OK;
}

static int change_fn(ent_txn *txn, void *data) {
    change_ctx *c = data;
    ent_template *tpl = NULL;
    bool tpl_borrowed = false;
    resolved_set rs = {0};
    ent_op_body b;
    ent_op_header h;
    obj_rec r;
    uint8_t role = ENT_ROLE_VIEWER;
    uint8_t key[ENT_KEY_LEN];
    bool *removed = NULL;
    int rc;
    memset(&b, 0, sizeof(b));
    ent_op_free(c->op);
    c->op = NULL;
    if ((rc = ent__obj_my_role(c->eng, txn, c->obj, &r, &role)) != ENT_OK) {
        set_err(c->err, c->errlen, "%s",
                rc == ENT_ENOENT ? "no such object"
                                 : "this org is not a member any more");
        goto out;
    }
    /* a viewer changes no shared state, but keeps private fields of its
     * own on the object (they never leave this node) */
    if (role > ENT_ROLE_MEMBER && c->kind != ENT_OP_SET) {
        set_err(c->err, c->errlen, "role viewer may not change the object");
        rc = ENT_EDENIED;
        goto out;
    }
    if ((rc = template_for(c->eng, txn, r.type, &tpl, &tpl_borrowed)) !=
        ENT_OK)
        goto out;
    b.kind = c->kind;
    if (c->kind == ENT_OP_SET) {
        if ((rc = resolve_inputs(tpl, txn, c->in, c->n, false, &rs, c->err,
                                 c->errlen)) != ENT_OK)
            goto out;
        for (size_t i = 0; i < rs.n && role > ENT_ROLE_MEMBER; i++) {
            if (rs.v[i].visibility != ENT_VIS_SHARED)
                continue;
            set_err(c->err, c->errlen,
                    "role viewer may not change shared field %s; a viewer "
                    "keeps private fields only (--private %s=VALUE)",
                    rs.v[i].field, rs.v[i].field);
            rc = ENT_EDENIED;
            goto out;
        }
        /* an owner-only field is the object owner's (spec/objects.md
         * "Merge"): every other member's node would refuse the write */
        for (size_t i = 0; i < rs.n; i++) {
            if (rs.v[i].visibility != ENT_VIS_SHARED || !rs.v[i].owner_only ||
                memcmp(r.owner, c->eng->me, 32) == 0)
                continue;
            set_err(c->err, c->errlen,
                    "field %s is owner-only: only the object's owner sets it",
                    rs.v[i].field);
            rc = ENT_EDENIED;
            goto out;
        }
        if ((rc = shared_fields(&rs, &b.fields, &b.nfields)) != ENT_OK)
            goto out;
    } else if (c->kind == ENT_OP_STAGE) {
        /* the template's stages, the one list --set stage= reads too */
        const char *stage = NULL;
        for (size_t i = 0; i < tpl->stages.n && stage == NULL; i++)
            if (strcasecmp(tpl->stages.v[i], c->text) == 0)
                stage = tpl->stages.v[i];
        if (stage == NULL) {
            stage_err(c->err, c->errlen, c->text, tpl);
            rc = ENT_ESCHEMA;
            goto out;
        }
        b.text = strdup(stage);
        b.textlen = strlen(stage);
        if (b.text == NULL) {
            rc = ENT_ENOMEM;
            goto out;
        }
    } else if (c->kind == ENT_OP_RULES) {
        if (memcmp(r.owner, c->eng->me, 32) != 0) {
            set_err(c->err, c->errlen,
                    "only the object's owner changes its rules");
            rc = ENT_EDENIED;
            goto out;
        }
        if ((b.rules = malloc(c->ruleslen ? c->ruleslen : 1)) == NULL) {
            rc = ENT_ENOMEM;
            goto out;
        }
        memcpy(b.rules, c->rules, c->ruleslen);
        b.ruleslen = c->ruleslen;
    } else if (c->kind == ENT_OP_APPROVE) {
        if ((rc = approve_body(c, txn, &r, &b)) != ENT_OK)
            goto out;
    } else if (c->kind == ENT_OP_ERASE) {
        if (memcmp(r.owner, c->eng->me, 32) != 0) {
            set_err(c->err, c->errlen, "only the object's owner erases");
            rc = ENT_EDENIED;
            goto out;
        }
        if ((rc = ent__obj_erase_body(txn, c->obj, c->step, &b, c->err,
                                      c->errlen)) != ENT_OK)
            goto out;
    } else {
        b.text = strdup(c->text);
        b.textlen = strlen(c->text);
        if (b.text == NULL) {
            rc = ENT_ENOMEM;
            goto out;
        }
        if (b.textlen > ENT_VALUE_TEXT_MAX) {
            set_err(c->err, c->errlen,
                    "comment is %zu bytes; a comment is at most %d bytes",
                    b.textlen, ENT_VALUE_TEXT_MAX);
            rc = ENT_ETOOBIG;
            goto out;
        }
        if (!ent_text_valid(b.text, b.textlen)) {
            set_err(c->err, c->errlen,
                    "comment is not valid text: UTF-8 without control "
                    "characters (tab allowed)");
            rc = ENT_EINVAL;
            goto out;
        }
    }
    if (c->kind != ENT_OP_SET || b.nfields > 0) {
        if ((rc = ent__obj_new_header(c->eng, txn, c->obj, c->kind, &h, key)) !=
            ENT_OK)
            goto out;
        c->eng->wf_why[0] = '\0';
        rc = ent__obj_seal_commit(c->eng, txn, c->obj, &h, &b, key, &c->op);
        ent_wipe(key, sizeof(key));
        if (rc == ENT_EDENIED && c->eng->wf_why[0] != '\0')
            set_err(c->err, c->errlen, "%s", c->eng->wf_why);
        c->eng->wf_why[0] = '\0';
        if (rc != ENT_OK)
            goto out;
    }
    if (c->kind == ENT_OP_SET && rs.n > 0 &&
        (removed = calloc(rs.n, sizeof(*removed))) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; removed != NULL && i < rs.n && i < c->n; i++)
        removed[i] = c->in[i].how == ENT_IN_REMOVE; /* rs keeps the order of the inputs */
    rc = put_private(txn, c->obj, &rs, removed);
    if (rc == ENT_OK)
        rc = private_event(c->eng, txn, c->obj, &rs);
out:
    free(removed);
    if (c->kind == ENT_OP_SET) {
        free(b.fields);
        b.fields = NULL;
        b.nfields = 0;
    }
    ent_op_body_clear(&b);
    resolved_free(&rs);
    if (!tpl_borrowed)
        ent_template_free(tpl);
    return rc;
}

static int change_run(ent_objects *eng, change_ctx *cp, ent_op **op_out);

static int change(ent_objects *eng, const uint8_t id[32], uint8_t kind,
                  const ent_obj_input *in, size_t n, const char *text,
                  ent_op **op_out, char *err, size_t errlen) {
    change_ctx c = {.eng = eng,
                    .obj = id,
                    .in = in,
                    .n = n,
                    .kind = kind,
                    .text = text,
                    .err = err,
                    .errlen = errlen};
    return change_run(eng, &c, op_out);
}

/* Checks and runs one prepared change in a write transaction: *op_out is
 * NULL unless it succeeds, err empty unless it fails. */
static int change_run(ent_objects *eng, change_ctx *cp, ent_op **op_out) {
    if (op_out != NULL)
        *op_out = NULL;
    if (eng == NULL || cp->obj == NULL || (cp->n > 0 && cp->in == NULL) ||
        (cp->kind != ENT_OP_SET && cp->kind < ENT_OP_APPROVE &&
         cp->text == NULL) ||
        (cp->kind == ENT_OP_RULES &&
         (cp->rules == NULL || cp->ruleslen == 0 ||
          cp->ruleslen > ENT_OP_RULES_MAX)))
        return ENT_EINVAL;
    if (cp->err != NULL && cp->errlen > 0)
        cp->err[0] = '\0';
    change_ctx c = *cp;
    int rc = ent_store_write(eng->store, change_fn, &c);
    if (rc != ENT_OK || op_out == NULL) {
        ent_op_free(c.op);
        return rc;
    }
    *op_out = c.op;
    return ENT_OK;
}

int ent_obj_set(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                const ent_obj_input *inputs, size_t n, ent_op **op_out,
                char *err, size_t errlen) {
    return change(eng, id, ENT_OP_SET, inputs, n, NULL, op_out, err, errlen);
}

int ent_obj_set_txn(ent_objects *eng, ent_txn *txn,
                    const uint8_t id[ENT_OBJ_ID_LEN],
                    const ent_obj_input *inputs, size_t n, ent_op **op_out,
                    char *err, size_t errlen) {
    change_ctx c = {.eng = eng,
                    .obj = id,
                    .in = inputs,
                    .n = n,
                    .kind = ENT_OP_SET,
                    .err = err,
                    .errlen = errlen};
    int rc;
    *op_out = NULL;
    if (eng == NULL || txn == NULL || id == NULL || (n > 0 && inputs == NULL))
        return ENT_EINVAL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    rc = change_fn(txn, &c);
    if (rc != ENT_OK) {
        ent_op_free(c.op);
        return rc;
    }
    *op_out = c.op;
    return ENT_OK;
}

int ent_obj_stage(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                  const char *stage, ent_op **op_out, char *err,
                  size_t errlen) {
    return change(eng, id, ENT_OP_STAGE, NULL, 0, stage, op_out, err, errlen);
}

int ent_obj_comment(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                    const char *text, ent_op **op_out, char *err,
                    size_t errlen) {
    return change(eng, id, ENT_OP_COMMENT, NULL, 0, text, op_out, err, errlen);
}

int ent_obj_approve(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                    const char *step, bool reject, const char *comment,
                    ent_op **op_out, char *err, size_t errlen) {
    change_ctx c = {.eng = eng,
                    .obj = id,
                    .kind = ENT_OP_APPROVE,
                    .text = comment,
                    .step = step,
                    .reject = reject,
                    .err = err,
                    .errlen = errlen};
    return change_run(eng, &c, op_out);
}

int ent_obj_erase(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                  const char *field, ent_op **op_out, char *err,
                  size_t errlen) {
    change_ctx c = {.eng = eng,
                    .obj = id,
                    .kind = ENT_OP_ERASE,
                    .step = field,
                    .err = err,
                    .errlen = errlen};
    return change_run(eng, &c, op_out);
}

int ent_obj_set_rules(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                      const uint8_t *rules, size_t len, ent_op **op_out,
                      char *err, size_t errlen) {
    change_ctx c = {.eng = eng,
                    .obj = id,
                    .kind = ENT_OP_RULES,
                    .rules = rules,
                    .ruleslen = len,
                    .err = err,
                    .errlen = errlen};
    return change_run(eng, &c, op_out);
}
