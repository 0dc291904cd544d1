/*
 * object_show.c - reading objects: show and list as JSON, the canonical
 * shared-state encoding (spec/objects.md "Object state"), op iteration.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/objects/object_int.h"
#include "node/objects/value.h"
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

/* Everything show and state need, copied out of one read transaction. */
typedef struct snapshot {
    const uint8_t *obj;
    bool hide_private;
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

static int snapshot_fn(ent_txn *txn, void *data) {
    snapshot *s = data;
    uint8_t key[ENT_KEY_LEN], pre[33];
    int rc = ent__obj_rec_get(txn, s->obj, &s->rec);
    if (rc != ENT_OK)
        return rc;
    rc = ent__obj_current_key(txn, s->obj, &s->epoch, key, NULL);
    ent_wipe(key, sizeof(key));
    if (rc == ENT_ENOENT)
        s->epoch = 0;
    else if (rc != ENT_OK)
        return rc;
    fscan fs = {.v = &s->shared, .n = &s->nshared, .skip = OBJ_ORDER_LEN + 1};
    if ((rc = ent_txn_scan(txn, ENT_TBL_FIELDS, s->obj, 32, field_scan, &fs)) !=
        ENT_OK)
        return rc;
    if (!s->hide_private) {
        fscan ps = {.v = &s->priv, .n = &s->npriv, .skip = 0};
        if ((rc = ent_txn_scan(txn, ENT_TBL_PRIVATE, s->obj, 32, field_scan,
                               &ps)) != ENT_OK)
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
                         bool hide_private, snapshot *s) {
    memset(s, 0, sizeof(*s));
    s->obj = id;
    s->hide_private = hide_private;
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

static int org_json(const ent_objects *eng, const smember *m, json_t **out) {
    char id[ENT_ORG_ID_LEN + 1];
    const char *name = NULL;
    ent_org_id_format(id, m->org);
    if (eng->org_name != NULL)
        name = eng->org_name(eng->org_name_data, m->org);
    *out = json_pack("{s:s, s:s, s:s, s:s}", "org", id, "name",
                     name ? name : id, "role", role_names[m->role], "status",
                     m->active ? "active" : "removed");
    return *out ? ENT_OK : ENT_ENOMEM;
}

int ent_obj_show_json(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                      bool hide_private, json_t **out) {
    snapshot s;
    json_t *o = NULL, *members = NULL, *shared = NULL, *priv = NULL,
           *comments = NULL;
    char hex[65];
    *out = NULL;
    int rc = snapshot_take(eng, id, hide_private, &s);
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
        json_t *c = json_pack("{s:s, s:I, s:s}", "org", org, "hlc",
                              (json_int_t)ent_be64_get(s.comments[i].order),
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

/* ------------------------------------------------------------------ list */

typedef struct list_ctx {
    const char *type;
    json_t *arr;
    int err;
} list_ctx;

static int list_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    (void)data;
    (void)val;
    (void)vlen;
    return klen == 32 ? 0 : ENT_ECORRUPT;
}

typedef struct list_all {
    list_ctx *c;
    ent_txn *txn;
} list_all;

static int list_one(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    list_all *a = data;
    obj_rec r;
    uint8_t k[ENT_KEY_LEN];
    uint64_t epoch = 0;
    char hex[65];
    if (list_scan(a->c, key, klen, val, vlen) != 0)
        return ENT_ECORRUPT;
    int rc = ent__obj_rec_get(a->txn, key, &r);
    if (rc != ENT_OK)
        return rc;
    if (a->c->type != NULL && strcmp(a->c->type, r.type) != 0)
        return 0;
    rc = ent__obj_current_key(a->txn, key, &epoch, k, NULL);
    ent_wipe(k, sizeof(k));
    if (rc != ENT_OK && rc != ENT_ENOENT)
        return rc;
    ent_hex_encode(hex, key, 32);
    json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "id", hex, "type", r.type,
                          "epoch", (json_int_t)epoch, "status",
                          r.status == OBJ_STATUS_ACTIVE ? "active" : "removed");
    if (o == NULL || json_array_append_new(a->c->arr, o) != 0)
        return ENT_ENOMEM;
    return 0;
}

static int list_fn(ent_txn *txn, void *data) {
    list_all a = {.c = data, .txn = txn};
    json_array_clear(a.c->arr);
    return ent_txn_scan(txn, ENT_TBL_OBJECTS, NULL, 0, list_one, &a);
}

int ent_obj_list_json(ent_objects *eng, const char *type, json_t **out) {
    list_ctx c = {.type = type, .arr = json_array()};
    *out = NULL;
    if (c.arr == NULL)
        return ENT_ENOMEM;
    int rc = ent_store_read(eng->store, list_fn, &c);
    if (rc != ENT_OK) {
        json_decref(c.arr);
        return rc;
    }
    *out = c.arr;
    return ENT_OK;
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
    int rc = snapshot_take(eng, id, true, &s);
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
    int rc = c->fn(c->data, val, vlen);
    return rc;
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
