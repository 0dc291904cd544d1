/*
 * object_events.c - the local events of the object engine (spec/events.md
 * section 3): each committed op, local or received, becomes its event in
 * the op's own write transaction (ent_events_append): object.created,
 * fields.changed (only the fields whose value the op now holds),
 * comment.added, key.rotated, equivocation.detected; membership changes
 * are found by comparing the members table before and after the op, so
 * that a join, a departure or a role change is told as the counting rules
 * decided it; private.changed for this org's private fields. Field values
 * go only in data.shared, data.private and data.stage, where the access
 * view filters them (node/access/access_events.h).
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/events/event.h"
#include "node/objects/object_int.h"
#include "node/objects/value.h"
#include "protocol/cbor.h"

static const char *const role_names[ENT_ROLE__COUNT] = {"owner", "admin",
                                                        "member", "viewer"};

void ent_obj_set_actor(ent_objects *eng, const char *user) {
    if (eng == NULL)
        return;
    eng->actor[0] = '\0';
    if (user != NULL && strlen(user) < sizeof(eng->actor))
        strcpy(eng->actor, user);
}

const char *ent_obj_actor(const ent_objects *eng) {
    return eng != NULL && eng->actor[0] != '\0' ? eng->actor : NULL;
}

/* Appends one event of obj caused by org (NULL: none), its data data or,
 * when text is not NULL, the JSON text of it; the user is the actor when
 * the change is this org's own. */
static int emit_as(ent_objects *eng, ent_txn *txn, const char *kind,
                   const uint8_t obj[32], const uint8_t *org, json_t *data,
                   const ent_jtext *text) {
    bool mine = org == NULL || memcmp(org, eng->me, 32) == 0;
    ent_event ev = {.kind = kind,
                    .has_object = true,
                    .has_org = org != NULL,
                    .user = mine ? ent_obj_actor(eng) : NULL,
                    .data = data};
    memcpy(ev.object, obj, 32);
    if (org != NULL)
        memcpy(ev.org, org, 32);
    if (text != NULL)
        return text->oom ? ENT_ENOMEM
                         : ent_events_append_text(txn, &ev, text->p, text->len,
                                                  ent__obj_wall(eng), NULL);
    return ent_events_append(txn, &ev, ent__obj_wall(eng), NULL);
}

static int emit(ent_objects *eng, ent_txn *txn, const char *kind,
                const uint8_t obj[32], const uint8_t *org, json_t *data) {
    return emit_as(eng, txn, kind, obj, org, data, NULL);
}

static int set_hex(json_t *o, const char *k, const uint8_t b[32]) {
    char hex[65];
    ent_hex_encode(hex, b, 32);
    return json_object_set_new(o, k, json_string(hex)) == 0 ? ENT_OK
                                                            : ENT_ENOMEM;
}

static int set_org(json_t *o, const char *k, const uint8_t org[32]) {
    char id[ENT_ORG_ID_LEN + 1];
    ent_org_id_format(id, org);
    return json_object_set_new(o, k, json_string(id)) == 0 ? ENT_OK
                                                           : ENT_ENOMEM;
}

/* "name":v into the object text t (v NULL: null), a ',' first unless it is
 * the first member: what json_object_set_new of ent_value_to_json's value
 * would add. */
static int put_value(ent_jtext *t, bool *first, const char *name,
                     const ent_value *v) {
    if (!ent_cbor_utf8_valid(name, strlen(name)))
        return ENT_ENOMEM; /* as jansson refuses such a key */
    ent_jtext_key(t, first, name);
    if (v == NULL) {
        ENT_JTEXT_LIT(t, "null");
        return ENT_OK;
    }
    return ent_value_json_text(v, t);
}

/* Whether op's write of field name is the field's value now. */
static bool holds(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                  const char *name) {
    uint8_t fk[32 + ENT_OP_NAME_MAX], order[OBJ_ORDER_LEN];
    const uint8_t *cur;
    size_t clen, nl = strlen(name);
    if (nl > ENT_OP_NAME_MAX)
        return false;
    memcpy(fk, obj, 32);
    memcpy(fk + 32, name, nl);
    if (ent_txn_get(txn, ENT_TBL_FIELDS, fk, 32 + nl, (const void **)&cur,
                    &clen) != ENT_OK ||
        clen < OBJ_ORDER_LEN)
        return false;
    ent__obj_order(order, op->h.hlc, op->h.author, op->id);
    return memcmp(order, cur, OBJ_ORDER_LEN) == 0;
}

typedef struct req_ctx {
    ent_objects *eng;
    ent_txn *txn;
    const uint8_t *obj, *org;
    const char *stage;
} req_ctx;

static int requested_one(void *data, const char *to, const char *step) {
    req_ctx *c = data;
    (void)to;
    bool mine = memcmp(c->org, c->eng->me, 32) == 0;
    return ent_events_approval(c->txn, false, c->obj, c->org,
                               mine ? ent_obj_actor(c->eng) : NULL, step,
                               c->stage, NULL, ent__obj_wall(c->eng), NULL);
}

/* approval.requested, once per step that waits now, when op's write of
 * the stage (stage, the value the object now holds) landed on a stage
 * that a transition with approval steps leaves (spec/events.md §3). */
static int ev_requested(ent_objects *eng, ent_txn *txn, const ent_op *op,
                        const uint8_t obj[32], const json_t *stage) {
    const char *st = json_string_value(stage);
    if (st == NULL)
        return ENT_OK;
    req_ctx c = {eng, txn, obj, op->h.author, st};
    return ent__obj_wf_waiting(txn, obj, requested_one, &c);
}

/* approval.requested for the stage value v the object now holds: the
 * steps of its transitions that wait now (ev_requested), when v is a
 * string in JSON. */
static int requested_for(ent_objects *eng, ent_txn *txn, const ent_op *op,
                         const uint8_t obj[32], const ent_value *v) {
    json_t *j;
    int rc = ent_value_to_json(v, &j);
    if (rc == ENT_OK)
        rc = ev_requested(eng, txn, op, obj, j);
    json_decref(j);
    return rc;
}

/*
 * The data of the op's event is written as JSON text, member by member
 * in the order spec/events.md §3 gives, as jansson would write the object
 * (field names are distinct: an op's encoding refuses a name twice).
 */
int ent__obj_ev_create_data(const ent_op *op, const ent_op_body *b,
                            ent_jtext *d) {
    bool first = true;
    int rc = ENT_OK;
    if (!ent_cbor_utf8_valid(b->type, strlen(b->type)))
        return ENT_ENOMEM; /* as jansson refuses it */
    ENT_JTEXT_LIT(d, "{\"op\":");
    ent_jtext_hex(d, op->id, 32);
    ENT_JTEXT_LIT(d, ",\"type\":");
    ent_jtext_str(d, b->type, strlen(b->type));
    ENT_JTEXT_LIT(d, ",\"shared\":{");
    for (size_t i = 0; i < b->nfields && rc == ENT_OK; i++)
        rc = put_value(d, &first, b->fields[i].name, &b->fields[i].v);
    ENT_JTEXT_LIT(d, "}}");
    return rc == ENT_OK && d->oom ? ENT_ENOMEM : rc;
}

/* object.created for genesis op, its data pre (rendered, or NULL: made
 * here), then approval.requested for the steps its stage waits on. */
static int ev_create(ent_objects *eng, ent_txn *txn, const ent_op *op,
                     const ent_op_body *b, const uint8_t obj[32], bool counts,
                     const ent_jtext *pre) {
    char arr[1024];
    ent_jtext d;
    const ent_value *stage = NULL;
    int rc = ENT_OK;
    ent_jtext_init(&d, arr, sizeof(arr));
    if (pre == NULL && (rc = ent__obj_ev_create_data(op, b, &d)) == ENT_OK)
        pre = &d;
    if (rc == ENT_OK)
        rc = emit_as(eng, txn, ENT_EV_OBJECT_CREATED, obj, op->h.author, NULL,
                     pre);
    for (size_t i = 0; i < b->nfields; i++)
        if (strcmp(b->fields[i].name, "stage") == 0)
            stage = &b->fields[i].v;
    /* a genesis without rules: no transition has approval steps, so
     * nothing waits (rules come with the genesis or a later op) */
    if (rc == ENT_OK && stage != NULL && counts && b->ruleslen > 0 &&
        holds(txn, obj, op, "stage"))
        rc = requested_for(eng, txn, op, obj, stage);
    ent_jtext_free(&d);
    return rc;
}

int ent__obj_ev_op(ent_objects *eng, ent_txn *txn, const ent_op *op,
                   const ent_op_body *b, const uint8_t obj[32], bool counts,
                   const ent_jtext *pre) {
    char darr[1024], sarr[1024];
    ent_jtext d, shared;
    const char *kind = NULL;
    ent_value sv = {.type = ENT_VT_ENUM}; /* a stage op's stage */
    const ent_value *stage = NULL; /* the "stage" member of shared */
    bool first = true, req = false;
    int rc = ENT_OK;
    if (op->h.kind == ENT_OP_CREATE)
        return ev_create(eng, txn, op, b, obj, counts, pre);
    ent_jtext_init(&d, darr, sizeof(darr));
    ent_jtext_init(&shared, sarr, sizeof(sarr));
    ENT_JTEXT_LIT(&d, "{\"op\":");
    ent_jtext_hex(&d, op->id, 32);
    switch (op->h.kind) {
    case ENT_OP_SET:
    case ENT_OP_STAGE:
        ENT_JTEXT_LIT(&shared, "{");
        if (op->h.kind == ENT_OP_STAGE) {
            sv.u.text.s = b->text;
            sv.u.text.len = b->textlen;
            if (counts && holds(txn, obj, op, "stage")) {
                rc = put_value(&shared, &first, "stage", &sv);
                stage = &sv;
            }
        } else {
            for (size_t i = 0; i < b->nfields && rc == ENT_OK; i++)
                if (counts && holds(txn, obj, op, b->fields[i].name)) {
                    rc = put_value(&shared, &first, b->fields[i].name,
                                   &b->fields[i].v);
                    if (strcmp(b->fields[i].name, "stage") == 0)
                        stage = &b->fields[i].v;
                }
        }
        ENT_JTEXT_LIT(&shared, "}");
        if (rc == ENT_OK && stage != NULL) {
            ENT_JTEXT_LIT(&d, ",\"stage\":");
            rc = ent_value_json_text(stage, &d);
        }
        if (rc != ENT_OK)
            goto out;
        if (!first)
            kind = ENT_EV_FIELDS_CHANGED;
        ENT_JTEXT_LIT(&d, ",\"shared\":");
        ent_jtext_raw(&d, shared.p, shared.len);
        rc = shared.oom ? ENT_ENOMEM : ENT_OK;
        req = stage != NULL && counts;
        break;
    case ENT_OP_COMMENT:
        if (!counts)
            break;
        kind = ENT_EV_COMMENT_ADDED;
        if (b->textlen > 0 && !ent_cbor_utf8_valid(b->text, b->textlen)) {
            rc = ENT_ENOMEM; /* as jansson refuses it */
            break;
        }
        ENT_JTEXT_LIT(&d, ",\"text\":");
        ent_jtext_str(&d, b->textlen ? b->text : "", b->textlen);
        break;
    case ENT_OP_REMOVE_MEMBER:
    case ENT_OP_ROTATE_KEY:
        /* a leave's key is never used: the owner/admin rotates after it */
        if (op->h.kind == ENT_OP_REMOVE_MEMBER &&
            memcmp(b->org, op->h.author, 32) == 0)
            break;
        kind = ENT_EV_KEY_ROTATED;
        ENT_JTEXT_LIT(&d, ",\"epoch\":");
        ent_jtext_int(&d, (int64_t)b->epoch);
        break;
    default:
        break;
    }
    ENT_JTEXT_LIT(&d, "}");
    if (rc == ENT_OK && kind != NULL)
        rc = emit_as(eng, txn, kind, obj, op->h.author, NULL, &d);
    if (rc == ENT_OK && req)
        rc = requested_for(eng, txn, op, obj, stage);
out:
    ent_jtext_free(&shared);
    ent_jtext_free(&d);
    return rc;
}

int ent__obj_ev_equivocation(ent_objects *eng, ent_txn *txn, const ent_op *op,
                             const uint8_t obj[32]) {
    json_t *d = json_pack("{s:I}", "seq", (json_int_t)op->h.seq);
    int rc = d != NULL ? set_hex(d, "op", op->id) : ENT_ENOMEM;
    if (rc == ENT_OK)
        rc = set_org(d, "author", op->h.author);
    if (rc == ENT_OK) /* caused by the author's fork, told by nobody */
        rc = emit(eng, txn, ENT_EV_EQUIVOCATION, obj, op->h.author, d);
    json_decref(d);
    return rc;
}

int ent__obj_ev_private_data(const char *const *names,
                             const ent_value *const *vals, size_t n,
                             ent_jtext *d) {
    bool first = true;
    int rc = ENT_OK;
    ENT_JTEXT_LIT(d, "{\"private\":{");
    for (size_t i = 0; i < n && rc == ENT_OK; i++) {
        /* a name given twice (callers give none) keeps its first place
         * and takes its last value, as in a jansson object */
        size_t last = i;
        bool again = false;
        for (size_t j = 0; j < n && !again; j++)
            if (j != i && names[i][0] == names[j][0] &&
                strcmp(names[i], names[j]) == 0) {
                again = j < i;
                last = j > i ? j : last;
            }
        if (!again)
            rc = put_value(d, &first, names[i], vals[last]);
    }
    ENT_JTEXT_LIT(d, "}}");
    return rc == ENT_OK && d->oom ? ENT_ENOMEM : rc;
}

int ent__obj_ev_private_text(ent_objects *eng, ent_txn *txn,
                             const uint8_t obj[32], const ent_jtext *d) {
    return emit_as(eng, txn, ENT_EV_PRIVATE_CHANGED, obj, NULL, NULL, d);
}

int ent__obj_ev_private(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                        const char *const *names, const ent_value *const *vals,
                        size_t n) {
    char arr[1024];
    ent_jtext d;
    int rc;
    if (n == 0)
        return ENT_OK;
    ent_jtext_init(&d, arr, sizeof(arr));
    if ((rc = ent__obj_ev_private_data(names, vals, n, &d)) == ENT_OK)
        rc = ent__obj_ev_private_text(eng, txn, obj, &d);
    ent_jtext_free(&d);
    return rc;
}

/* ---- membership -------------------------------------------------------- */

void ent__obj_ev_members_free(ev_members *m) {
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

static int member_row(void *data, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    ev_members *m = data;
    const uint8_t *v = val;
    if (klen != 64 || vlen != 2)
        return ENT_ECORRUPT;
    if (ent__obj_grow((void **)&m->v, m->n, sizeof(*m->v)) != ENT_OK)
        return ENT_ENOMEM;
    memcpy(m->v[m->n].org, (const uint8_t *)key + 32, 32);
    m->v[m->n].role = v[0];
    m->v[m->n].active = v[1] != 0;
    m->n++;
    return 0;
}

int ent__obj_ev_members_take(ent_txn *txn, const uint8_t obj[32],
                             ev_members *m) {
    memset(m, 0, sizeof(*m));
    int rc = ent_txn_scan(txn, ENT_TBL_MEMBERS, obj, 32, member_row, m);
    if (rc != ENT_OK)
        ent__obj_ev_members_free(m);
    return rc;
}

static const ev_member *find(const ev_members *m, const uint8_t org[32]) {
    for (size_t i = 0; i < m->n; i++)
        if (memcmp(m->v[i].org, org, 32) == 0)
            return &m->v[i];
    return NULL;
}

static const char *role_name(uint8_t r) {
    return r < ENT_ROLE__COUNT ? role_names[r] : "?";
}

int ent__obj_ev_members_diff(ent_objects *eng, ent_txn *txn,
                             const uint8_t obj[32], const ent_op *op,
                             const ent_op_body *b, const ev_members *before) {
    ev_members now;
    int rc = ent__obj_ev_members_take(txn, obj, &now);
    for (size_t i = 0; rc == ENT_OK && i < now.n; i++) {
        const ev_member *a = &now.v[i], *was = find(before, a->org);
        bool on = was != NULL && was->active;
        const char *kind = NULL;
        json_t *d = NULL;
        if (a->active && !on) {
            kind = ENT_EV_MEMBER_JOINED;
            d = json_pack("{s:s}", "role", role_name(a->role));
        } else if (!a->active && on) {
            kind = ENT_EV_MEMBER_LEFT;
            bool self = op->h.kind == ENT_OP_REMOVE_MEMBER &&
                        memcmp(b->org, op->h.author, 32) == 0 &&
                        memcmp(b->org, a->org, 32) == 0;
            d = json_pack("{s:s,s:s}", "role", role_name(was->role), "how",
                          self ? "left" : "removed");
        } else if (a->active && on && a->role != was->role) {
            kind = ENT_EV_MEMBER_ROLE;
            d = json_pack("{s:s,s:s}", "role", role_name(a->role), "from",
                          role_name(was->role));
        }
        if (kind == NULL)
            continue;
        rc = d != NULL ? set_org(d, "member", a->org) : ENT_ENOMEM;
        if (rc == ENT_OK)
            rc = set_hex(d, "op", op->id);
        if (rc == ENT_OK)
            rc = emit(eng, txn, kind, obj, op->h.author, d);
        json_decref(d);
    }
    for (size_t i = 0; rc == ENT_OK && i < before->n; i++) {
        const ev_member *was = &before->v[i];
        if (!was->active || find(&now, was->org) != NULL)
            continue;
        json_t *d = json_pack("{s:s,s:s}", "role", role_name(was->role), "how",
                              "removed");
        rc = d != NULL ? set_org(d, "member", was->org) : ENT_ENOMEM;
        if (rc == ENT_OK)
            rc = set_hex(d, "op", op->id);
        if (rc == ENT_OK)
            rc = emit(eng, txn, ENT_EV_MEMBER_LEFT, obj, op->h.author, d);
        json_decref(d);
    }
    ent__obj_ev_members_free(&now);
    return rc;
}
