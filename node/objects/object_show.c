/*
 * object_show.c - reading objects: show and list as JSON, the canonical
 * shared-state encoding (spec/objects.md "Object state"), op iteration.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/objects/hlc.h"
#include "node/objects/object_int.h"
#include "node/objects/template.h"
#include "node/objects/value.h"
#include "node/timefmt.h"
#include "protocol/cbor.h"

static const char *const role_names[ENT_ROLE__COUNT] = {"owner", "admin",
                                                        "member", "viewer"};

/* ------------------------------------------------------------ gathering */

typedef struct sfield {
    char name[ENT_OP_NAME_MAX + 1];
    ent_value v;
} sfield;

typedef struct smember {
    uint8_t org[32];
    uint8_t role;
    bool active;
} smember;

typedef struct scomment {
    uint8_t order[OBJ_ORDER_LEN];
    char *text;
    size_t len;
} scomment;

/* A field that links another object (ENT_VT_REF), as show describes it:
 * the target's type and name only when this org is an active member of
 * it (spec/objects.md "Links"); otherwise the id alone. */
typedef struct slink {
    const char *field; /* borrowed from the snapshot's field */
    const uint8_t *ref;
    bool member;
    char type[ENT_OP_NAME_MAX + 1];
    char *name; /* owned, NULL if none */
} slink;

/* Everything show and state need, copied out of one read transaction. */
typedef struct snapshot {
    const uint8_t *obj;
    bool hide_private;
    bool show; /* for show: removed custom fields are left out */
    bool values_only; /* only the record and the field values */
    obj_rec rec;
    uint64_t epoch;
    sfield *shared;
    size_t nshared;
    sfield *priv;
    size_t npriv;
    smember *members;
    size_t nmembers;
    scomment *comments;
    size_t ncomments;
    slink *links;
    size_t nlinks;
    bool has_use; /* an mdf_budget: its use, computed (object_mdf.c) */
    ent_budget_use use;
    json_t *dealreg; /* a deal_registration, for its approver (§9) */
    const ent_objects *eng;
} snapshot;

static void snapshot_free(snapshot *s) {
    for (size_t i = 0; i < s->nshared; i++)
        ent_value_clear(&s->shared[i].v);
    for (size_t i = 0; i < s->npriv; i++)
        ent_value_clear(&s->priv[i].v);
    for (size_t i = 0; i < s->ncomments; i++)
        free(s->comments[i].text);
    free(s->shared);
    free(s->priv);
    free(s->members);
    free(s->comments);
    for (size_t i = 0; i < s->nlinks; i++)
        free(s->links[i].name);
    free(s->links);
    json_decref(s->dealreg);
    s->dealreg = NULL;
}

typedef struct fscan {
    sfield **v;
    size_t *n;
    size_t skip; /* bytes of value header before the blob */
} fscan;

static int field_scan(void *data, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    fscan *c = data;
    size_t nl = klen - 32;
    if (klen <= 32 || nl > ENT_OP_NAME_MAX || vlen < c->skip)
        return ENT_ECORRUPT;
    sfield *nv = *c->v;
    if (ent__obj_grow((void **)&nv, *c->n, sizeof(*nv)) != ENT_OK)
        nv = NULL;
    if (nv == NULL)
        return ENT_ENOMEM;
    *c->v = nv;
    sfield *f = &nv[*c->n];
    memset(f, 0, sizeof(*f));
    memcpy(f->name, (const uint8_t *)key + 32, nl);
    int rc = ent__obj_value_decode((const uint8_t *)val + c->skip,
                                   vlen - c->skip, &f->v);
    if (rc != ENT_OK) /* out of memory is not corruption */
        return rc == ENT_ENOMEM ? rc : ENT_ECORRUPT;
    (*c->n)++;
    return 0;
}

static int member_scan(void *data, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    snapshot *s = data;
    const uint8_t *v = val;
    if (klen != 64 || vlen != 2 || v[0] >= ENT_ROLE__COUNT)
        return ENT_ECORRUPT;
    smember *nv = s->members;
    if (ent__obj_grow((void **)&nv, s->nmembers, sizeof(*nv)) != ENT_OK)
        nv = NULL;
    if (nv == NULL)
        return ENT_ENOMEM;
    s->members = nv;
    memcpy(nv[s->nmembers].org, (const uint8_t *)key + 32, 32);
    nv[s->nmembers].role = v[0];
    nv[s->nmembers].active = v[1] != 0;
    s->nmembers++;
    return 0;
}

/* The comments that count (WR_CSHOW rows, kept by the merge). */
static int comment_scan(void *data, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    snapshot *s = data;
    if (klen != 33 + OBJ_ORDER_LEN)
        return ENT_ECORRUPT;
    const uint8_t *order = (const uint8_t *)key + 33;
    scomment *nv = s->comments;
    if (ent__obj_grow((void **)&nv, s->ncomments, sizeof(*nv)) != ENT_OK)
        nv = NULL;
    if (nv == NULL)
        return ENT_ENOMEM;
    s->comments = nv;
    scomment *cm = &nv[s->ncomments];
    memcpy(cm->order, order, OBJ_ORDER_LEN);
    if ((cm->text = malloc(vlen + 1)) == NULL)
        return ENT_ENOMEM;
    memcpy(cm->text, val, vlen);
    cm->text[vlen] = '\0';
    cm->len = vlen;
    s->ncomments++;
    return 0;
}

/*
 * Leaves out of show the custom fields that were removed: a shared field
 * whose winning value is null and that this org's template of the type
 * does not list (spec/objects.md "Custom fields"). A cleared template
 * field stays, as null. The state encoding keeps them all.
 */
static int drop_removed(ent_txn *txn, snapshot *s) {
    ent_template *t = NULL;
    size_t nulls = 0;
    for (size_t i = 0; i < s->nshared; i++)
        nulls += s->shared[i].v.type == ENT_VT_NULL;
    if (nulls == 0) /* nothing to drop: no template to parse */
        return ENT_OK;
    int rc = ent_template_get(txn, s->rec.type, &t);
    if (rc != ENT_OK && rc != ENT_ENOENT)
        return rc;
    size_t w = 0;
    for (size_t i = 0; i < s->nshared; i++) {
        sfield *f = &s->shared[i];
        bool listed =
            t != NULL && (ent_template_field(t, f->name) != NULL ||
                          (t->stages.n > 0 &&
                           strcmp(f->name, ENT_TPL_STAGE_FIELD) == 0));
        if (f->v.type == ENT_VT_NULL && !listed) {
            ent_value_clear(&f->v);
            continue;
        }
        if (w != i)
            s->shared[w] = *f;
        w++;
    }
    s->nshared = w;
    ent_template_free(t);
    return ENT_OK;
}

/* One link of a field f: what this org may know of the linked object. A
 * node that is not an active member of it (or does not hold it) shows the
 * id only: an opaque reference. */
static int link_of(ent_txn *txn, const ent_objects *eng, const sfield *f,
                   slink *l) {
    obj_rec r;
    bool active = false;
    uint8_t role;
    memset(l, 0, sizeof(*l));
    l->field = f->name;
    l->ref = f->v.u.ref;
    int rc = ent__obj_rec_get(txn, f->v.u.ref, &r);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc != ENT_OK)
        return rc;
    rc = ent__obj_member_get(txn, f->v.u.ref, eng->me, &active, &role);
    if (rc == ENT_ENOENT || (rc == ENT_OK && !active) ||
        r.status != OBJ_STATUS_ACTIVE)
        return ENT_OK;
    if (rc != ENT_OK)
        return rc;
    l->member = true;
    memcpy(l->type, r.type, sizeof(l->type));
    /* its title: the first of these text fields it has */
    static const char *const titles[] = {"name", "company", "account_name"};
    uint8_t k[32 + 16];
    const uint8_t *v = NULL;
    size_t vlen = 0;
    memcpy(k, f->v.u.ref, 32);
    for (size_t i = 0; i < 3 && vlen == 0; i++) {
        size_t tl = strlen(titles[i]);
        memcpy(k + 32, titles[i], tl);
        if (ent_txn_get(txn, ENT_TBL_FIELDS, k, 32 + tl, (const void **)&v,
                        &vlen) != ENT_OK)
            vlen = 0;
    }
    if (vlen > OBJ_ORDER_LEN + 1) {
        ent_value nv;
        if (ent__obj_value_decode(v + OBJ_ORDER_LEN + 1,
                                  vlen - OBJ_ORDER_LEN - 1, &nv) == ENT_OK) {
            if (nv.type == ENT_VT_TEXT && (l->name = malloc(nv.u.text.len + 1)))
                memcpy(l->name, nv.u.text.s, nv.u.text.len + 1);
            ent_value_clear(&nv);
        }
    }
    return ENT_OK;
}

static int links_take(ent_txn *txn, snapshot *s) {
    sfield *lists[2] = {s->shared, s->priv};
    size_t counts[2] = {s->nshared, s->npriv};
    int rc = ENT_OK;
    for (size_t li = 0; li < 2 && rc == ENT_OK; li++)
        for (size_t i = 0; i < counts[li] && rc == ENT_OK; i++) {
            if (lists[li][i].v.type != ENT_VT_REF)
                continue;
            slink *nv = s->links;
            if (ent__obj_grow((void **)&nv, s->nlinks, sizeof(*nv)) != ENT_OK)
                return ENT_ENOMEM;
            s->links = nv;
            rc = link_of(txn, s->eng, &lists[li][i], &nv[s->nlinks]);
            s->nlinks++;
        }
    return rc;
}

static int snapshot_fn(ent_txn *txn, void *data) {
    snapshot *s = data;
    uint8_t key[ENT_KEY_LEN], pre[33];
    int rc = ent__obj_rec_get(txn, s->obj, &s->rec);
    if (rc != ENT_OK)
        return rc;
    rc = s->values_only ? ENT_ENOENT
                        : ent__obj_current_key(txn, s->obj, &s->epoch, key,
                                               NULL);
    ent_wipe(key, sizeof(key));
    if (rc == ENT_ENOENT)
        s->epoch = 0;
    else if (rc != ENT_OK)
        return rc;
    fscan fs = {.v = &s->shared, .n = &s->nshared, .skip = OBJ_ORDER_LEN + 1};
    if ((rc = ent_txn_scan(txn, ENT_TBL_FIELDS, s->obj, 32, field_scan, &fs)) !=
        ENT_OK)
        return rc;
    /* values_only keeps removed custom fields as null: no condition
     * matches a null, as none matches an absent field */
    if (s->show && !s->values_only && (rc = drop_removed(txn, s)) != ENT_OK)
        return rc;
    if (!s->hide_private) {
        fscan ps = {.v = &s->priv, .n = &s->npriv, .skip = 0};
        if ((rc = ent_txn_scan(txn, ENT_TBL_PRIVATE, s->obj, 32, field_scan,
                               &ps)) != ENT_OK)
            return rc;
    }
    if (s->values_only)
        return ENT_OK;
    if (s->show && (rc = links_take(txn, s)) != ENT_OK)
        return rc;
    if (s->show && strcmp(s->rec.type, "mdf_budget") == 0) {
        if ((rc = ent_obj_budget_use(txn, s->eng->me, s->obj, NULL, &s->use,
                                     NULL, NULL)) != ENT_OK)
            return rc;
        s->has_use = true;
    }
    if (s->show && strcmp(s->rec.type, "deal_registration") == 0) {
        json_decref(s->dealreg); /* a function run again */
        s->dealreg = NULL;
        if ((rc = ent__obj_dealreg_show(s->eng, txn, s->obj, &s->dealreg)) !=
            ENT_OK)
            return rc;
    }
    if ((rc = ent_txn_scan(txn, ENT_TBL_MEMBERS, s->obj, 32, member_scan, s)) !=
        ENT_OK)
        return rc;
    /* an object an older version kept, not brought up to date yet (its
     * first write does it, ent__obj_backfill): every comment it holds */
    const void *v;
    size_t vlen;
    memcpy(pre, s->obj, 32);
    pre[32] = WR_AVER;
    bool current =
        ent_txn_get(txn, ENT_TBL_WRITES, pre, 33, &v, &vlen) == ENT_OK;
    pre[32] = current ? WR_CSHOW : WR_COMMENT;
    return ent_txn_scan(txn, ENT_TBL_WRITES, pre, 33, comment_scan, s);
}

static int snapshot_take(ent_objects *eng, const uint8_t id[32],
                         bool hide_private, bool show, snapshot *s) {
    memset(s, 0, sizeof(*s));
    s->obj = id;
    s->hide_private = hide_private;
    s->show = show;
    s->eng = eng;
    int rc = ent_store_read(eng->store, snapshot_fn, s);
    if (rc != ENT_OK)
        snapshot_free(s);
    return rc;
}

/* ------------------------------------------------------------------ show */

static int fields_json(const sfield *f, size_t n, json_t **out) {
    json_t *o = json_object();
    int rc = o ? ENT_OK : ENT_ENOMEM;
    for (size_t i = 0; i < n && rc == ENT_OK; i++) {
        json_t *v;
        if ((rc = ent_value_to_json(&f[i].v, &v)) != ENT_OK)
            break;
        if (json_object_set_new(o, f[i].name, v) != 0)
            rc = ENT_ENOMEM;
    }
    if (rc != ENT_OK) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return ENT_OK;
}

/* The display name this node knows for org: a new JSON string, or null. */
static json_t *name_json(const ent_objects *eng, const uint8_t org[32]) {
    const char *name = NULL;
    if (eng->org_name != NULL)
        name = eng->org_name(eng->org_name_data, org);
    return name != NULL && name[0] != '\0' ? json_string(name) : json_null();
}

/* The wall-clock part of an HLC value as RFC 3339, or null. */
static json_t *hlc_time_json(uint64_t hlc) {
    char s[ENT_TIMEFMT_RFC3339_LEN + 1];
    uint64_t ms = ent_hlc_ms(hlc);
    if (ms == 0 || ent_timefmt_rfc3339(s, ms) != ENT_OK)
        return json_null();
    return json_string(s);
}

static int org_json(const ent_objects *eng, const smember *m, json_t **out) {
    char id[ENT_ORG_ID_LEN + 1];
    ent_org_id_format(id, m->org);
    *out = json_pack("{s:s, s:o, s:s, s:s}", "org", id, "name",
                     name_json(eng, m->org), "role", role_names[m->role],
                     "status", m->active ? "active" : "removed");
    return *out ? ENT_OK : ENT_ENOMEM;
}

int ent_obj_show_json(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                      bool hide_private, json_t **out) {
    snapshot s;
    json_t *o = NULL, *members = NULL, *shared = NULL, *priv = NULL,
           *comments = NULL;
    char hex[65];
    *out = NULL;
    int rc = snapshot_take(eng, id, hide_private, true, &s);
    if (rc != ENT_OK)
        return rc;
    ent_hex_encode(hex, id, 32);
    rc = ENT_ENOMEM;
    if ((members = json_array()) == NULL || (comments = json_array()) == NULL)
        goto out;
    for (size_t i = 0; i < s.nmembers; i++) {
        json_t *m;
        if ((rc = org_json(eng, &s.members[i], &m)) != ENT_OK)
            goto out;
        if (json_array_append_new(members, m) != 0) {
            rc = ENT_ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < s.ncomments; i++) {
        char org[ENT_ORG_ID_LEN + 1];
        ent_org_id_format(org, s.comments[i].order + 8);
        json_t *c = json_pack("{s:s, s:o, s:o, s:s}", "org", org, "name",
                              name_json(eng, s.comments[i].order + 8), "time",
                              hlc_time_json(ent_be64_get(s.comments[i].order)),
                              "text", s.comments[i].text);
        if (c == NULL || json_array_append_new(comments, c) != 0) {
            rc = ENT_ENOMEM;
            goto out;
        }
    }
    if ((rc = fields_json(s.shared, s.nshared, &shared)) != ENT_OK)
        goto out;
    if (!hide_private && (rc = fields_json(s.priv, s.npriv, &priv)) != ENT_OK)
        goto out;
    o = json_pack("{s:s, s:s, s:I, s:s, s:o, s:o, s:o}", "id", hex, "type",
                  s.rec.type, "epoch", (json_int_t)s.epoch, "status",
                  s.rec.status == OBJ_STATUS_ACTIVE ? "active" : "removed",
                  "members", members, "shared", shared, "comments", comments);
    members = shared = comments = NULL; /* stolen by "o" */
    if (o == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    if (s.nlinks > 0) {
        json_t *lk = json_object();
        int bad = lk == NULL || json_object_set_new(o, "links", lk) != 0;
        for (size_t i = 0; i < s.nlinks && !bad; i++) {
            char rh[65];
            ent_value_ref_format(rh, s.links[i].ref);
            json_t *e = json_pack("{s:s, s:b}", "id", rh, "member",
                                  s.links[i].member);
            if (e != NULL && s.links[i].member) {
                bad |= json_object_set_new(e, "type",
                                           json_string(s.links[i].type));
                bad |= json_object_set_new(
                    e, "name",
                    s.links[i].name ? json_string(s.links[i].name)
                                    : json_null());
            }
            bad |= e == NULL || json_object_set_new(lk, s.links[i].field, e);
        }
        if (bad) {
            json_decref(o);
            rc = ENT_ENOMEM;
            goto out;
        }
    }
    if (s.has_use) { /* spec/workflows.md §8: computed, never typed */
        json_t *u = json_pack("{s:b, s:I, s:I, s:I}", "complete",
                              s.use.complete, "requests",
                              (json_int_t)s.use.nrequests, "over",
                              (json_int_t)s.use.nover, "foreign",
                              (json_int_t)s.use.nforeign);
        static const char *const k[] = {"requested", "approved", "claimed",
                                        "paid", "left"};
        const int64_t v[] = {s.use.requested, s.use.approved, s.use.claimed,
                             s.use.paid, s.use.left};
        for (size_t i = 0; u != NULL && i < 5; i++) {
            ent_value m = {.type = ENT_VT_MONEY};
            json_t *j = NULL;
            m.u.money.minor = v[i];
            memcpy(m.u.money.cur, s.use.cur, 4);
            if (s.use.cur[0] == '\0' ||
                (i == 4 && !s.use.have_amount) ||
                ent_value_to_json(&m, &j) != ENT_OK)
                j = json_null();
            json_object_set_new(u, k[i], j);
        }
        if (u == NULL || json_object_set_new(o, "budget_use", u) != 0) {
            json_decref(o);
            rc = ENT_ENOMEM;
            goto out;
        }
    }
    if (s.dealreg != NULL) { /* spec/workflows.md §9 */
        if (json_object_set(o, "registration", s.dealreg) != 0) {
            json_decref(o);
            rc = ENT_ENOMEM;
            goto out;
        }
    }
    if (priv != NULL) {
        int bad = json_object_set_new(o, "private", priv);
        priv = NULL; /* stolen, even on failure */
        if (bad != 0) {
            json_decref(o);
            rc = ENT_ENOMEM;
            goto out;
        }
    }
    *out = o;
    rc = ENT_OK;
out:
    json_decref(members);
    json_decref(shared);
    json_decref(priv);
    json_decref(comments);
    snapshot_free(&s);
    return rc;
}

/*
 * The values the access decision reads, inside the caller's transaction:
 * the record and the field values of show's snapshot, without epoch,
 * members and comments (a removed custom field stays, as null, which no
 * policy condition matches, as none matches an absent field).
 */
int ent_obj_state_json_txn(ent_txn *txn, const uint8_t id[ENT_OBJ_ID_LEN],
                           json_t **out) {
    snapshot s;
    json_t *shared = NULL, *priv = NULL;
    *out = NULL;
    memset(&s, 0, sizeof(s));
    s.obj = id;
    s.show = true;
    s.values_only = true;
    int rc = snapshot_fn(txn, &s);
    if (rc == ENT_OK)
        rc = fields_json(s.shared, s.nshared, &shared);
    if (rc == ENT_OK)
        rc = fields_json(s.priv, s.npriv, &priv);
    if (rc == ENT_OK) {
        *out = json_pack("{s:s, s:o, s:o}", "type", s.rec.type, "shared",
                         shared, "private", priv);
        shared = priv = NULL; /* stolen, even on failure */
        if (*out == NULL)
            rc = ENT_ENOMEM;
    }
    json_decref(shared);
    json_decref(priv);
    snapshot_free(&s);
    return rc;
}

/* ------------------------------------------------------------------ list */

#define LIST_TPL_CACHE 16 /* distinct types whose template one list keeps */

/* One row of the list, before sorting. */
typedef struct lrow {
    json_t *o; /* {"id","type",...}: owns the strings below */
    const char *id, *title, *stage, *date;
    int stage_rank; /* index in the template's stages; INT_MAX: none */
} lrow;

typedef struct ltpl {
    char type[ENT_OP_NAME_MAX + 1]; /* as obj_rec holds it */
    ent_template *t;                /* NULL: no template of that type */
} ltpl;

typedef struct list_ctx {
    const ent_obj_list_opts *o;
    uint8_t prefix[32];
    size_t prefix_digits;
    ent_txn *txn;
    lrow *rows;
    size_t n, cap;
    ltpl tpl[LIST_TPL_CACHE];
    size_t ntpl;
} list_ctx;

static void list_rows_free(list_ctx *c) {
    for (size_t i = 0; i < c->n; i++)
        json_decref(c->rows[i].o);
    free(c->rows);
    c->rows = NULL;
    c->n = c->cap = 0;
}

static void list_tpl_free(list_ctx *c) {
    for (size_t i = 0; i < c->ntpl; i++)
        ent_template_free(c->tpl[i].t);
    c->ntpl = 0;
}

/* The template of type (cached for the list), NULL when there is none. */
static int list_template(list_ctx *c, const char *type,
                         const ent_template **out) {
    *out = NULL;
    for (size_t i = 0; i < c->ntpl; i++)
        if (strcmp(c->tpl[i].type, type) == 0) {
            *out = c->tpl[i].t;
            return ENT_OK;
        }
    ent_template *t = NULL;
    int rc = ent_template_get(c->txn, type, &t);
    if (rc == ENT_ENOENT || rc == ENT_EINVAL || rc == ENT_ECORRUPT)
        rc = ENT_OK; /* shown without title or date */
    if (rc != ENT_OK)
        return rc;
    if (c->ntpl == LIST_TPL_CACHE) { /* many types: forget the oldest */
        ent_template_free(c->tpl[0].t);
        memmove(&c->tpl[0], &c->tpl[1], (LIST_TPL_CACHE - 1) * sizeof(ltpl));
        c->ntpl--;
    }
    snprintf(c->tpl[c->ntpl].type, sizeof(c->tpl[c->ntpl].type), "%s", type);
    c->tpl[c->ntpl].t = t;
    c->ntpl++;
    *out = t;
    return ENT_OK;
}

/* The first field of t of type vt, or NULL. */
static const char *first_field(const ent_template *t, ent_vtype vt) {
    for (size_t i = 0; t != NULL && i < t->nfields; i++)
        if (t->fields[i].type == vt)
            return t->fields[i].name;
    return NULL;
}

/*
 * The shared value of field name of object obj as a JSON string (text,
 * enum and date values are strings), or null when the object has none.
 */
static int field_text(ent_txn *txn, const uint8_t obj[32], const char *name,
                      json_t **out) {
    uint8_t k[32 + ENT_OP_NAME_MAX];
    const uint8_t *v;
    size_t vlen, nl = name != NULL ? strlen(name) : 0;
    ent_value val;
    json_t *j = NULL;
    *out = json_null();
    if (nl == 0 || nl > ENT_OP_NAME_MAX)
        return ENT_OK;
    memcpy(k, obj, 32);
    memcpy(k + 32, name, nl);
    int rc =
        ent_txn_get(txn, ENT_TBL_FIELDS, k, 32 + nl, (const void **)&v, &vlen);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc != ENT_OK)
        return rc;
    if (vlen < OBJ_ORDER_LEN + 1)
        return ENT_ECORRUPT;
    memset(&val, 0, sizeof(val));
    rc = ent__obj_value_decode(v + OBJ_ORDER_LEN + 1, vlen - OBJ_ORDER_LEN - 1,
                               &val);
    if (rc != ENT_OK)
        return rc == ENT_ENOMEM ? rc : ENT_ECORRUPT;
    rc = ent_value_to_json(&val, &j);
    ent_value_clear(&val);
    if (rc != ENT_OK)
        return rc;
    if (json_is_string(j) && json_string_length(j) > 0)
        *out = j;
    else
        json_decref(j);
    return ENT_OK;
}

/* ASCII case-insensitive equality (stages match ignoring case). */
static bool caseeq(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return *a == *b;
}

/* True if the id's hex form starts with the list's prefix. */
static bool prefix_matches(const list_ctx *c, const uint8_t id[32]) {
    size_t full = c->prefix_digits / 2;
    if (memcmp(id, c->prefix, full) != 0)
        return false;
    return c->prefix_digits % 2 == 0 ||
           (id[full] >> 4) == (c->prefix[full] >> 4);
}

static int list_one(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    list_ctx *c = data;
    const ent_obj_list_opts *o = c->o;
    obj_rec r;
    uint8_t k[ENT_KEY_LEN];
    uint64_t epoch = 0;
    char hex[65];
    const ent_template *t = NULL;
    json_t *title = NULL, *stage = NULL, *date = NULL, *row = NULL;
    (void)val;
    (void)vlen;
    if (klen != 32)
        return ENT_ECORRUPT;
    if (o->after != NULL && memcmp(key, o->after, 32) == 0)
        return 0; /* the scan starts at after: the page starts past it */
    if (!prefix_matches(c, key)) /* past the prefix's range: done */
        return o->after != NULL ? 1 : 0;
    int rc = ent__obj_rec_get(c->txn, key, &r);
    if (rc != ENT_OK)
        return rc;
    if (o->type != NULL && strcmp(o->type, r.type) != 0)
        return 0;
    if ((rc = field_text(c->txn, key, "stage", &stage)) != ENT_OK)
        goto out;
    if (o->stage != NULL &&
        (!json_is_string(stage) || !caseeq(json_string_value(stage), o->stage)))
        goto out;
    rc = ent__obj_current_key(c->txn, key, &epoch, k, NULL);
    ent_wipe(k, sizeof(k));
    if (rc != ENT_OK && rc != ENT_ENOENT)
        goto out;
    if ((rc = list_template(c, r.type, &t)) != ENT_OK ||
        (rc = field_text(c->txn, key, first_field(t, ENT_VT_TEXT), &title)) !=
            ENT_OK ||
        (rc = field_text(c->txn, key, first_field(t, ENT_VT_DATE), &date)) !=
            ENT_OK)
        goto out;
    ent_hex_encode(hex, key, 32);
    row = json_pack("{s:s, s:s, s:I, s:s, s:O, s:O, s:O}", "id", hex, "type",
                    r.type, "epoch", (json_int_t)epoch, "status",
                    r.status == OBJ_STATUS_ACTIVE ? "active" : "removed",
                    "title", title, "stage", stage, "date", date);
    if (row == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        lrow *nr = realloc(c->rows, ncap * sizeof(*nr));
        if (nr == NULL) {
            rc = ENT_ENOMEM;
            goto out;
        }
        c->rows = nr;
        c->cap = ncap;
    }
    lrow *lr = &c->rows[c->n++];
    lr->o = row;
    row = NULL;
    lr->id = json_string_value(json_object_get(lr->o, "id"));
    lr->title = json_string_value(json_object_get(lr->o, "title"));
    lr->stage = json_string_value(json_object_get(lr->o, "stage"));
    lr->date = json_string_value(json_object_get(lr->o, "date"));
    lr->stage_rank = INT_MAX;
    for (size_t i = 0; t != NULL && lr->stage != NULL && i < t->stages.n; i++)
        if (strcmp(t->stages.v[i], lr->stage) == 0) {
            lr->stage_rank = (int)i;
            break;
        }
    /* in id order, the first `limit` rows are the answer */
    if (o->limit > 0 && c->n >= o->limit && o->sort == ENT_OBJ_SORT_ID &&
        !o->descending)
        rc = 1;
out:
    json_decref(row);
    json_decref(title);
    json_decref(stage);
    json_decref(date);
    return rc;
}

static int list_fn(ent_txn *txn, void *data) {
    list_ctx *c = data;
    list_rows_free(c); /* a retried transaction starts over */
    list_tpl_free(c);
    c->txn = txn;
    if (c->o->after != NULL) {
        /* from the later of after and the prefix's first id */
        const uint8_t *from = c->o->after;
        if (c->prefix_digits > 0 && memcmp(c->prefix, from, 32) > 0)
            from = c->prefix;
        return ent_txn_scan_from(txn, ENT_TBL_OBJECTS, from, 32, list_one, c);
    }
    return ent_txn_scan(txn, ENT_TBL_OBJECTS, c->prefix, c->prefix_digits / 2,
                        list_one, c);
}

/* Compares two optional strings, absent ones last in either direction. */
static int cmp_opt(const char *a, const char *b, bool desc, bool *decided) {
    *decided = true;
    if (a == NULL && b == NULL) {
        *decided = false;
        return 0;
    }
    if (a == NULL || b == NULL)
        return a == NULL ? 1 : -1;
    int r = strcmp(a, b);
    *decided = r != 0;
    return desc ? -r : r;
}

static int cmp_rows(const void *pa, const void *pb, void *data) {
    const lrow *a = pa, *b = pb;
    const ent_obj_list_opts *o = data;
    bool decided = false;
    int r = 0;
    switch (o->sort) {
    case ENT_OBJ_SORT_TITLE:
        r = cmp_opt(a->title, b->title, o->descending, &decided);
        break;
    case ENT_OBJ_SORT_DATE:
        r = cmp_opt(a->date, b->date, o->descending, &decided);
        break;
    case ENT_OBJ_SORT_TYPE:
        r = cmp_opt(json_string_value(json_object_get(a->o, "type")),
                    json_string_value(json_object_get(b->o, "type")),
                    o->descending, &decided);
        break;
    case ENT_OBJ_SORT_STAGE:
        if (a->stage_rank != b->stage_rank &&
            (a->stage_rank != INT_MAX && b->stage_rank != INT_MAX)) {
            r = (a->stage_rank < b->stage_rank) != o->descending ? -1 : 1;
            decided = true;
        } else if (a->stage_rank != b->stage_rank) {
            r = a->stage_rank == INT_MAX ? 1 : -1; /* stageless last */
            decided = true;
        } else {
            r = cmp_opt(a->stage, b->stage, o->descending, &decided);
        }
        break;
    case ENT_OBJ_SORT_ID:
        r = strcmp(a->id, b->id);
        return o->descending ? -r : r;
    }
    if (decided)
        return r;
    return strcmp(a->id, b->id); /* ties: id order */
}

int ent_obj_list_json_ex(ent_objects *eng, const ent_obj_list_opts *opts,
                         json_t **out) {
    static const ent_obj_list_opts none = {0};
    const ent_obj_list_opts *o = opts != NULL ? opts : &none;
    list_ctx c;
    json_t *arr = NULL;
    int rc;
    *out = NULL;
    memset(&c, 0, sizeof(c));
    c.o = o;
    if (eng == NULL || o->sort > ENT_OBJ_SORT_TYPE ||
        (o->after != NULL && (o->sort != ENT_OBJ_SORT_ID || o->descending)))
        return ENT_EINVAL;
    if (o->prefix != NULL) {
        size_t n = strlen(o->prefix);
        char pad[65];
        if (n > 64)
            return ENT_EINVAL;
        for (size_t i = 0; i < n; i++)
            if (!((o->prefix[i] >= '0' && o->prefix[i] <= '9') ||
                  (o->prefix[i] >= 'a' && o->prefix[i] <= 'f')))
                return ENT_EINVAL;
        memset(pad, '0', 64);
        memcpy(pad, o->prefix, n);
        pad[64] = '\0';
        if (ent_hex_decode(c.prefix, 32, pad) != ENT_OK)
            return ENT_EINVAL;
        c.prefix_digits = n;
    }
    rc = ent_store_read(eng->store, list_fn, &c);
    if (rc != ENT_OK)
        goto out;
    /* no rows: c.rows is NULL, which qsort_r may not be given */
    if (c.n > 1 && (o->sort != ENT_OBJ_SORT_ID || o->descending))
        qsort_r(c.rows, c.n, sizeof(*c.rows), cmp_rows, (void *)o);
    if ((arr = json_array()) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < c.n && (o->limit == 0 || i < o->limit); i++) {
        if (json_array_append(arr, c.rows[i].o) != 0) {
            rc = ENT_ENOMEM;
            goto out;
        }
    }
    *out = arr;
    arr = NULL;
out:
    json_decref(arr);
    list_rows_free(&c);
    list_tpl_free(&c);
    return rc;
}

int ent_obj_list_json(ent_objects *eng, const char *type, json_t **out) {
    ent_obj_list_opts o = {.type = type};
    return ent_obj_list_json_ex(eng, &o, out);
}

/* ----------------------------------------------------------------- state */

static void emit_value(ent_cbor_writer *w, const ent_value *v) {
    uint8_t *blob;
    size_t len;
    if (ent__obj_value_encode(v, &blob, &len) != ENT_OK) {
        ent_cbor_writer_fail(w, ENT_EINVAL);
        return;
    }
    ent_cbor_write_raw(w, blob, len);
    free(blob);
}

/*
 * [1, type, epoch, [[name, value]...], [[org, role, active]...],
 *  [[hlc, author, text]...]]: fields in name byte order, members in org
 * order, comments in (hlc, author, op id) order.
 */
static void emit_state(ent_cbor_writer *w, const void *data) {
    const snapshot *s = data;
    ent_cbor_write_array(w, 6);
    ent_cbor_write_uint(w, 1);
    ent_cbor_write_text(w, s->rec.type, strlen(s->rec.type));
    ent_cbor_write_uint(w, s->epoch);
    ent_cbor_write_array(w, s->nshared);
    for (size_t i = 0; i < s->nshared; i++) {
        ent_cbor_write_array(w, 2);
        ent_cbor_write_text(w, s->shared[i].name, strlen(s->shared[i].name));
        emit_value(w, &s->shared[i].v);
    }
    ent_cbor_write_array(w, s->nmembers);
    for (size_t i = 0; i < s->nmembers; i++) {
        ent_cbor_write_array(w, 3);
        ent_cbor_write_bytes(w, s->members[i].org, 32);
        ent_cbor_write_uint(w, s->members[i].role);
        ent_cbor_write_bool(w, s->members[i].active);
    }
    ent_cbor_write_array(w, s->ncomments);
    for (size_t i = 0; i < s->ncomments; i++) {
        ent_cbor_write_array(w, 3);
        ent_cbor_write_uint(w, ent_be64_get(s->comments[i].order));
        ent_cbor_write_bytes(w, s->comments[i].order + 8, 32);
        ent_cbor_write_text(w, s->comments[i].text, s->comments[i].len);
    }
}

int ent_obj_state_encode(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                         uint8_t **out, size_t *len) {
    snapshot s;
    *out = NULL;
    *len = 0;
    int rc = snapshot_take(eng, id, true, false, &s);
    if (rc != ENT_OK)
        return rc;
    rc = ent_cbor_encode(out, len, SIZE_MAX / 2, emit_state, &s);
    snapshot_free(&s);
    return rc;
}

/* ------------------------------------------------------------------- ops */

typedef struct ops_ctx {
    int (*fn)(void *data, const uint8_t *raw, size_t len);
    void *data;
} ops_ctx;

static int ops_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    ops_ctx *c = data;
    if (ent_op_is_stub(val, vlen)) /* erased: no op any more */
        return 0;
    return c->fn(c->data, val, vlen);
}

typedef struct ops_read {
    const uint8_t *obj;
    ops_ctx c;
} ops_read;

static int ops_fn(ent_txn *txn, void *data) {
    ops_read *r = data;
    return ent_txn_scan(txn, ENT_TBL_OPS, r->obj, 32, ops_scan, &r->c);
}

int ent_obj_ops_foreach(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                        int (*fn)(void *data, const uint8_t *raw, size_t len),
                        void *data) {
    ops_read r = {.obj = id, .c = {.fn = fn, .data = data}};
    if (eng == NULL || id == NULL || fn == NULL)
        return ENT_EINVAL;
    return ent_store_read(eng->store, ops_fn, &r);
}
