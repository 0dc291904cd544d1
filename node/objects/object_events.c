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

/* Appends one event of obj caused by org (NULL: none); the user is the
 * actor when the change is this org's own. */
static int emit(ent_objects *eng, ent_txn *txn, const char *kind,
                const uint8_t obj[32], const uint8_t *org, json_t *data) {
    bool mine = org == NULL || memcmp(org, eng->me, 32) == 0;
    ent_event ev = {.kind = kind,
                    .has_object = true,
                    .has_org = org != NULL,
                    .user = mine ? ent_obj_actor(eng) : NULL,
                    .data = data};
    memcpy(ev.object, obj, 32);
    if (org != NULL)
        memcpy(ev.org, org, 32);
    return ent_events_append(txn, &ev, ent__obj_wall(eng), NULL);
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

static int put_value(json_t *map, const char *name, const ent_value *v) {
    json_t *j = NULL;
    int rc = v != NULL ? ent_value_to_json(v, &j) : ENT_OK;
    if (rc != ENT_OK)
        return rc;
    if (j == NULL)
        j = json_null();
    return json_object_set_new(map, name, j) == 0 ? ENT_OK : ENT_ENOMEM;
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

int ent__obj_ev_op(ent_objects *eng, ent_txn *txn, const ent_op *op,
                   const ent_op_body *b, const uint8_t obj[32], bool counts) {
    json_t *d = json_object(), *shared = NULL;
    const char *kind = NULL;
    const json_t *req_stage = NULL; /* borrowed from shared */
    int rc = d != NULL ? set_hex(d, "op", op->id) : ENT_ENOMEM;
    if (rc != ENT_OK)
        goto out;
    switch (op->h.kind) {
    case ENT_OP_CREATE:
    case ENT_OP_SET:
    case ENT_OP_STAGE:
        if ((shared = json_object()) == NULL) {
            rc = ENT_ENOMEM;
            goto out;
        }
        if (op->h.kind == ENT_OP_STAGE) {
            ent_value v = {.type = ENT_VT_ENUM};
            v.u.text.s = b->text;
            v.u.text.len = b->textlen;
            if (counts && holds(txn, obj, op, "stage"))
                rc = put_value(shared, "stage", &v);
        } else {
            for (size_t i = 0; i < b->nfields && rc == ENT_OK; i++)
                if (op->h.kind == ENT_OP_CREATE ||
                    (counts && holds(txn, obj, op, b->fields[i].name)))
                    rc = put_value(shared, b->fields[i].name, &b->fields[i].v);
        }
        if (rc != ENT_OK)
            goto out;
        json_t *st = json_object_get(shared, "stage");
        if (op->h.kind != ENT_OP_CREATE && st != NULL &&
            json_object_set(d, "stage", st) != 0) {
            rc = ENT_ENOMEM;
            goto out;
        }
        if (op->h.kind == ENT_OP_CREATE) {
            kind = ENT_EV_OBJECT_CREATED;
            if (json_object_set_new(d, "type", json_string(b->type)) != 0)
                rc = ENT_ENOMEM;
        } else if (json_object_size(shared) > 0) {
            kind = ENT_EV_FIELDS_CHANGED;
        }
        if (rc == ENT_OK && json_object_set(d, "shared", shared) != 0)
            rc = ENT_ENOMEM;
        if (rc == ENT_OK && st != NULL && counts &&
            (op->h.kind != ENT_OP_CREATE || holds(txn, obj, op, "stage")))
            req_stage = st;
        break;
    case ENT_OP_COMMENT:
        if (!counts)
            break;
        kind = ENT_EV_COMMENT_ADDED;
        if (json_object_set_new(
                d, "text",
                json_stringn(b->textlen ? b->text : "", b->textlen)) != 0)
            rc = ENT_ENOMEM;
        break;
    case ENT_OP_REMOVE_MEMBER:
    case ENT_OP_ROTATE_KEY:
        /* a leave's key is never used: the owner/admin rotates after it */
        if (op->h.kind == ENT_OP_REMOVE_MEMBER &&
            memcmp(b->org, op->h.author, 32) == 0)
            break;
        kind = ENT_EV_KEY_ROTATED;
        if (json_object_set_new(d, "epoch",
                                json_integer((json_int_t)b->epoch)) != 0)
            rc = ENT_ENOMEM;
        break;
    default:
        break;
    }
    if (rc == ENT_OK && kind != NULL)
        rc = emit(eng, txn, kind, obj, op->h.author, d);
    if (rc == ENT_OK && req_stage != NULL)
        rc = ev_requested(eng, txn, op, obj, req_stage);
out:
    json_decref(shared);
    json_decref(d);
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

int ent__obj_ev_private(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                        const char *const *names, const ent_value *const *vals,
                        size_t n) {
    if (n == 0)
        return ENT_OK;
    json_t *priv = json_object();
    json_t *d = priv != NULL ? json_pack("{s:O}", "private", priv) : NULL;
    int rc = d != NULL ? ENT_OK : ENT_ENOMEM;
    for (size_t i = 0; i < n && rc == ENT_OK; i++)
        rc = put_value(priv, names[i], vals[i]);
    if (rc == ENT_OK)
        rc = emit(eng, txn, ENT_EV_PRIVATE_CHANGED, obj, NULL, d);
    json_decref(priv);
    json_decref(d);
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
