/*
 * member.c - membership changes made by this org: add a member (with the
 * epoch keys sealed to it), accept keys as a joiner, remove a member and
 * rotate the key (spec/membership.md).
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/objects/object_int.h"

/* The active members of an object (members table), the owner included. */
typedef struct active_ctx {
    uint8_t (*v)[32];
    size_t n;
} active_ctx;

static int active_scan(void *data, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    active_ctx *c = data;
    const uint8_t *v = val;
    if (klen != 64 || vlen != 2)
        return ENT_ECORRUPT;
    if (v[1] == 0)
        return 0;
    void *nv = realloc(c->v, (c->n + 1) * 32);
    if (nv == NULL)
        return ENT_ENOMEM;
    c->v = nv;
    memcpy(c->v[c->n++], (const uint8_t *)key + 32, 32);
    return 0;
}

/* Common checks: the object exists (brought up to date if an older store
 * kept it), we are an active owner/admin. */
static int admin_check(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                       obj_rec *r) {
    bool active = false;
    uint8_t role = ENT_ROLE_VIEWER;
    int rc = ent__obj_rec_get(txn, obj, r);
    if (rc != ENT_OK)
        return rc;
    if ((rc = ent__obj_backfill(eng, txn, obj)) != ENT_OK ||
        (rc = ent__obj_rec_get(txn, obj, r)) != ENT_OK)
        return rc;
    if (r->status == OBJ_STATUS_REMOVED)
        return ENT_EDENIED;
    rc = ent__obj_member_get(txn, obj, eng->me, &active, &role);
    if (rc == ENT_ENOENT ||
        (rc == ENT_OK && (!active || role > ENT_ROLE_ADMIN)))
        rc = ENT_EDENIED;
    return rc;
}

/* The checks of a leave: the object exists, we are an active member and
 * not its owner (the owner never leaves: ENT_EDENIED). */
static int leave_check(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                       obj_rec *r) {
    bool active = false;
    uint8_t role = ENT_ROLE_VIEWER;
    int rc = ent__obj_rec_get(txn, obj, r);
    if (rc != ENT_OK)
        return rc;
    if ((rc = ent__obj_backfill(eng, txn, obj)) != ENT_OK ||
        (rc = ent__obj_rec_get(txn, obj, r)) != ENT_OK)
        return rc;
    if (r->status == OBJ_STATUS_REMOVED)
        return ENT_ENOTMEMBER;
    if (memcmp(r->owner, eng->me, 32) == 0)
        return ENT_EDENIED;
    rc = ent__obj_member_get(txn, obj, eng->me, &active, &role);
    if (rc == ENT_ENOENT || (rc == ENT_OK && !active))
        rc = ENT_ENOTMEMBER;
    return rc;
}

/*
 * Seniority (spec/membership.md): a change to an active admin (remove,
 * re-add, demote) is ours to make only if we were appointed before it.
 * @return ENT_OK, ENT_EDENIED or a storage error.
 */
static int senior_check(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                        const obj_rec *r, const uint8_t org[32]) {
    uint32_t a, t;
    oauth au;
    bool active = false;
    uint8_t role = ENT_ROLE_VIEWER;
    int rc = ent__obj_member_get(txn, obj, org, &active, &role);
    if (rc == ENT_ENOENT ||
        (rc == ENT_OK && (!active || role != ENT_ROLE_ADMIN)))
        return ENT_OK; /* not an active admin */
    if (rc != ENT_OK)
        return rc;
    if (memcmp(eng->me, r->owner, 32) == 0 || memcmp(eng->me, org, 32) == 0)
        return ENT_OK;
    if ((rc = ent__obj_author_find(txn, obj, eng->me, &a)) != ENT_OK ||
        (rc = ent__obj_author_find(txn, obj, org, &t)) != ENT_OK)
        return rc == ENT_ENOENT ? ENT_EDENIED : rc;
    if ((rc = ent__obj_auth_load(txn, obj, r->owner, &au)) != ENT_OK)
        return rc;
    rc = ent__obj_auth_senior(&au, a, t) ? ENT_OK : ENT_EDENIED;
    ent__obj_auth_free(&au);
    return rc;
}

/* ------------------------------------------------------------------- add */

typedef struct add_ctx {
    ent_objects *eng;
    const uint8_t *obj;
    const uint8_t *org;
    uint8_t role;
    ent_op *op;
    ent_op_epoch_key *boxes;
    size_t nboxes;
} add_ctx;

static int add_fn(ent_txn *txn, void *data) {
    add_ctx *c = data;
    obj_rec r;
    ent_op_body b;
    ent_op_header h;
    uint8_t key[ENT_KEY_LEN], ek[ENT_KEY_LEN], xpk[ENT_X25519_LEN];
    uint64_t top;
    bool t_active = false;
    uint8_t t_role = 0;
    int rc;
    memset(&b, 0, sizeof(b));
    ent_op_free(c->op);
    c->op = NULL;
    free(c->boxes);
    c->boxes = NULL;
    c->nboxes = 0;
    if ((rc = admin_check(c->eng, txn, c->obj, &r)) != ENT_OK)
        return rc;
    rc = ent__obj_member_get(txn, c->obj, c->org, &t_active, &t_role);
    if (rc != ENT_OK && rc != ENT_ENOENT)
        return rc;
    rc = ENT_OK;
    if (memcmp(c->org, r.owner, 32) == 0)
        rc = ENT_EINVAL;
    else if (t_active && t_role == c->role)
        rc = ENT_EEXIST;
    else
        rc = senior_check(c->eng, txn, c->obj, &r, c->org);
    if (rc != ENT_OK)
        return rc;
    if ((rc = ent_pk_to_x25519(xpk, c->org)) != ENT_OK)
        return rc;
    if ((rc = ent__obj_new_header(c->eng, txn, c->obj, ENT_OP_ADD_MEMBER, &h,
                                  key)) != ENT_OK)
        goto out;
    /* every epoch we hold a key for, up to the current one */
    b.kind = ENT_OP_ADD_MEMBER;
    memcpy(b.org, c->org, 32);
    b.role = c->role;
    top = h.epoch;
    if (top + 1 > ENT_OP_MAX_KEYS) {
        rc = ENT_ELIMIT;
        goto out;
    }
    b.ekeys = calloc(top + 1, sizeof(*b.ekeys));
    if (b.ekeys == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (uint64_t e = 0; e <= top; e++) {
        rc = ent__obj_epoch_key(txn, c->obj, e, ek);
        if (rc == ENT_ENOENT)
            continue;
        if (rc != ENT_OK)
            goto out;
        ent_op_epoch_key *k = &b.ekeys[b.nekeys++];
        k->epoch = e;
        rc = ent_seal_to(k->box, ek, ENT_KEY_LEN, xpk);
        ent_wipe(ek, sizeof(ek));
        if (rc != ENT_OK)
            goto out;
    }
    c->boxes = malloc((b.nekeys ? b.nekeys : 1) * sizeof(*c->boxes));
    if (c->boxes == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    memcpy(c->boxes, b.ekeys, b.nekeys * sizeof(*c->boxes));
    c->nboxes = b.nekeys;
    rc = ent__obj_seal_commit(c->eng, txn, c->obj, &h, &b, key, &c->op);
out:
    ent_wipe(key, sizeof(key));
    ent_op_body_clear(&b);
    return rc;
}

int ent_obj_add_member_txn(ent_objects *eng, ent_txn *txn,
                           const uint8_t id[ENT_OBJ_ID_LEN],
                           const uint8_t org[ENT_PK_LEN], uint8_t role,
                           ent_op **op_out, ent_op_epoch_key **boxes,
                           size_t *nboxes) {
    add_ctx c = {.eng = eng, .obj = id, .org = org, .role = role};
    if (op_out != NULL)
        *op_out = NULL;
    if (boxes != NULL)
        *boxes = NULL;
    if (nboxes != NULL)
        *nboxes = 0;
    if (eng == NULL || txn == NULL || id == NULL || org == NULL ||
        role == ENT_ROLE_OWNER || role >= ENT_ROLE__COUNT)
        return ENT_EINVAL;
    int rc = add_fn(txn, &c);
    if (rc != ENT_OK) {
        ent_op_free(c.op);
        free(c.boxes);
        return rc;
    }
    if (op_out != NULL)
        *op_out = c.op;
    else
        ent_op_free(c.op);
    if (boxes != NULL) {
        *boxes = c.boxes;
        if (nboxes != NULL)
            *nboxes = c.nboxes;
    } else {
        free(c.boxes);
    }
    return ENT_OK;
}

typedef struct add_run {
    ent_objects *eng;
    const uint8_t *obj, *org;
    uint8_t role;
    ent_op *op;
    ent_op_epoch_key *boxes;
    size_t nboxes;
} add_run;

/* One attempt: what an earlier attempt handed out goes first. */
static int add_run_fn(ent_txn *txn, void *data) {
    add_run *r = data;
    ent_op_free(r->op);
    free(r->boxes);
    r->op = NULL;
    r->boxes = NULL;
    r->nboxes = 0;
    return ent_obj_add_member_txn(r->eng, txn, r->obj, r->org, r->role, &r->op,
                                  &r->boxes, &r->nboxes);
}

int ent_obj_add_member(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                       const uint8_t org[ENT_PK_LEN], uint8_t role,
                       ent_op **op_out, ent_op_epoch_key **boxes,
                       size_t *nboxes) {
    add_run r = {.eng = eng, .obj = id, .org = org, .role = role};
    if (op_out != NULL)
        *op_out = NULL;
    if (boxes != NULL)
        *boxes = NULL;
    if (nboxes != NULL)
        *nboxes = 0;
    if (eng == NULL || id == NULL || org == NULL || role == ENT_ROLE_OWNER ||
        role >= ENT_ROLE__COUNT)
        return ENT_EINVAL;
    int rc = ent_store_write(eng->store, add_run_fn, &r);
    if (rc != ENT_OK) {
        ent_op_free(r.op);
        free(r.boxes);
        return rc;
    }
    if (op_out != NULL)
        *op_out = r.op;
    else
        ent_op_free(r.op);
    if (boxes != NULL) {
        *boxes = r.boxes;
        if (nboxes != NULL)
            *nboxes = r.nboxes;
    } else {
        free(r.boxes);
    }
    return ENT_OK;
}

/* ---------------------------------------------------------------- accept */

typedef struct accept_ctx {
    ent_objects *eng;
    const uint8_t *obj;
    uint8_t (*keys)[ENT_KEY_LEN];
    const ent_op_epoch_key *boxes;
    size_t n;
    ent_obj_stats delta;
    size_t released;
} accept_ctx;

static int accept_fn(ent_txn *txn, void *data) {
    accept_ctx *c = data;
    int rc = ENT_OK;
    memset(&c->delta, 0, sizeof(c->delta));
    c->released = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->boxes[i].epoch > OBJ_EPOCH_MAX)
            return ENT_EINVAL;
    for (size_t i = 0; i < c->n && rc == ENT_OK; i++)
        rc = ent__obj_key_put(txn, c->obj, c->boxes[i].epoch, c->keys[i], NULL);
    if (rc == ENT_OK)
        rc = ent__obj_release(c->eng, txn, c->obj, NULL, true, &c->delta,
                              &c->released);
    return rc;
}

int ent_obj_accept_keys(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                        const ent_op_epoch_key *boxes, size_t n) {
    uint8_t xpk[32], xsk[32];
    accept_ctx c = {.eng = eng, .obj = id, .boxes = boxes, .n = n};
    int rc;
    if (eng == NULL || id == NULL || (n > 0 && boxes == NULL) ||
        n > ENT_OP_MAX_KEYS)
        return ENT_EINVAL;
    c.keys = calloc(n ? n : 1, ENT_KEY_LEN);
    if (c.keys == NULL)
        return ENT_ENOMEM;
    rc = ent_identity_x25519(eng->id, xpk, xsk);
    for (size_t i = 0; i < n && rc == ENT_OK; i++)
        if (ent_seal_open(c.keys[i], boxes[i].box, ENT_OP_BOX_LEN, xpk, xsk) !=
            ENT_OK)
            rc = ENT_EDECRYPT;
    ent_wipe(xsk, sizeof(xsk));
    if (rc == ENT_OK)
        rc = ent_store_write(eng->store, accept_fn, &c);
    if (rc == ENT_OK)
        eng->stats.applied += c.delta.applied;
    ent_wipe(c.keys, (n ? n : 1) * ENT_KEY_LEN);
    free(c.keys);
    return rc;
}

/* -------------------------------------------------------- remove, rotate */

typedef struct epoch_ctx {
    ent_objects *eng;
    const uint8_t *obj;
    const uint8_t *org; /* NULL: rotate */
    bool leave;         /* org is this org: it leaves on its own */
    uint8_t newkey[ENT_KEY_LEN];
    ent_op *op;
} epoch_ctx;

static int epoch_fn(ent_txn *txn, void *data) {
    epoch_ctx *c = data;
    obj_rec r;
    active_ctx ms = {0};
    ent_op_body b;
    ent_op_header h;
    uint8_t key[ENT_KEY_LEN];
    int rc;
    memset(&b, 0, sizeof(b));
    ent_op_free(c->op);
    c->op = NULL;
    if (c->leave) {
        /* any active member but the owner leaves; the others' lowest
         * owner/admin then rotates the key (its author gone, the key this
         * op makes is never written under: spec/membership.md "Leaving") */
        if ((rc = leave_check(c->eng, txn, c->obj, &r)) != ENT_OK)
            return rc;
    } else if ((rc = admin_check(c->eng, txn, c->obj, &r)) != ENT_OK) {
        return rc;
    }
    if (c->org != NULL && !c->leave) {
        bool t_active = false;
        uint8_t t_role;
        rc = ent__obj_member_get(txn, c->obj, c->org, &t_active, &t_role);
        if (rc != ENT_OK && rc != ENT_ENOENT)
            goto out;
        rc = ENT_OK;
        if (memcmp(c->org, r.owner, 32) == 0)
            rc = ENT_EDENIED;
        else if (!t_active)
            rc = ENT_ENOTMEMBER;
        else
            rc = senior_check(c->eng, txn, c->obj, &r, c->org);
        if (rc != ENT_OK)
            goto out;
    }
    if ((rc = ent_txn_scan(txn, ENT_TBL_MEMBERS, c->obj, 32, active_scan,
                           &ms)) != ENT_OK)
        goto out;
    uint8_t kind = c->org ? ENT_OP_REMOVE_MEMBER : ENT_OP_ROTATE_KEY;
    if ((rc = ent__obj_new_header(c->eng, txn, c->obj, kind, &h, key)) !=
        ENT_OK)
        goto out;
    b.kind = kind;
    if (c->org != NULL)
        memcpy(b.org, c->org, 32);
    b.epoch = h.epoch + 1;
    /* the remaining active members, in org order: the owner and ms */
    b.mkeys = calloc(ms.n + 1, sizeof(*b.mkeys));
    if (b.mkeys == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    const uint8_t *orgs[ENT_OP_MAX_KEYS];
    size_t norgs = 0;
    orgs[norgs++] = r.owner;
    for (size_t i = 0; i < ms.n; i++) {
        if (memcmp(ms.v[i], r.owner, 32) == 0 ||
            (c->org != NULL && memcmp(ms.v[i], c->org, 32) == 0))
            continue;
        if (norgs == ENT_OP_MAX_KEYS) {
            rc = ENT_ELIMIT;
            goto out;
        }
        orgs[norgs++] = ms.v[i];
    }
    /* insertion sort by org bytes (the encoding requires it) */
    for (size_t i = 1; i < norgs; i++)
        for (size_t j = i; j > 0 && memcmp(orgs[j - 1], orgs[j], 32) > 0; j--) {
            const uint8_t *t = orgs[j];
            orgs[j] = orgs[j - 1];
            orgs[j - 1] = t;
        }
    for (size_t i = 0; i < norgs; i++) {
        uint8_t xpk[ENT_X25519_LEN];
        ent_op_member_key *k = &b.mkeys[b.nmkeys++];
        memcpy(k->org, orgs[i], 32);
        if ((rc = ent_pk_to_x25519(xpk, orgs[i])) != ENT_OK ||
            (rc = ent_seal_to(k->box, c->newkey, ENT_KEY_LEN, xpk)) != ENT_OK)
            goto out;
    }
    rc = ent__obj_seal_commit(c->eng, txn, c->obj, &h, &b, key, &c->op);
out:
    ent_wipe(key, sizeof(key));
    ent_op_body_clear(&b);
    free(ms.v);
    return rc;
}

static int epoch_change(ent_objects *eng, const uint8_t id[32],
                        const uint8_t *org, bool leave, ent_op **op_out) {
    epoch_ctx c = {.eng = eng, .obj = id, .org = org, .leave = leave};
    if (op_out != NULL)
        *op_out = NULL;
    if (eng == NULL || id == NULL)
        return ENT_EINVAL;
    ent_random(c.newkey, sizeof(c.newkey));
    int rc = ent_store_write(eng->store, epoch_fn, &c);
    ent_wipe(c.newkey, sizeof(c.newkey));
    if (rc != ENT_OK || op_out == NULL) {
        ent_op_free(c.op);
        return rc;
    }
    *op_out = c.op;
    return ENT_OK;
}

int ent_obj_remove_member(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                          const uint8_t org[ENT_PK_LEN], ent_op **op_out) {
    if (org == NULL)
        return ENT_EINVAL;
    return epoch_change(eng, id, org, false, op_out);
}

int ent_obj_rotate_key(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                       ent_op **op_out) {
    return epoch_change(eng, id, NULL, false, op_out);
}

int ent_obj_leave(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                  ent_op **op_out) {
    if (eng == NULL)
        return ENT_EINVAL;
    return epoch_change(eng, id, eng->me, true, op_out);
}
