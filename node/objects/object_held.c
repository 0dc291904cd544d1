/*
 * object_held.c - the bounds on held ops (spec/objects.md, "Held ops"):
 * who may have an op held (an org that could be a member of the object),
 * how many ops and bytes one author, one object and the whole store may
 * hold, which held op makes room when an object is full (the oldest of the
 * author holding the most, never one of an author holding fewer than the
 * newcomer's), a small share for orgs not known to be members (a new
 * member whose add has not arrived yet) that never takes a possible
 * member's room, and expiry after ENT_OBJ_HELD_TTL_MS. Each held op has, next
 * to its pending row and its wait rows, one held row (writes tag
 * WR_HELD: when it was held, its size, its author, and for an add_member
 * op the org it adds) and, for such an add, one WR_HADD row that lets the
 * added org's own ops be held too. object_apply.c calls ent__obj_hold and
 * ent__obj_unhold; the sweep (ent_obj_expire_held) is driven by the peer
 * layer's timer.
 */
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/object_int.h"
#include "storage/op_index.h"

#define HELD_KEY_LEN 65     /* obj || WR_HELD || op id */
#define HELD_VAL_MIN 45     /* held_at (8) || len (4) || author (32) ||
                               flags (1) */
#define HELD_STRANGER 0x01  /* flags: held in the strangers' share */
#define HADD_KEY_LEN 97     /* obj || WR_HADD || org || op id */

static const uint8_t no_parent[32];

void ent__obj_wait_key(uint8_t k[OBJ_WAIT_KEY_LEN], const uint8_t obj[32],
                       const uint8_t parent[32], const uint8_t held[32]) {
    memcpy(k, obj, 32);
    k[32] = WR_WAIT;
    memcpy(k + 33, parent, 32);
    memcpy(k + 65, held, 32);
}

static void held_key(uint8_t k[HELD_KEY_LEN], const uint8_t obj[32],
                     const uint8_t id[32]) {
    memcpy(k, obj, 32);
    k[32] = WR_HELD;
    memcpy(k + 33, id, 32);
}

static void hadd_key(uint8_t k[HADD_KEY_LEN], const uint8_t obj[32],
                     const uint8_t org[32], const uint8_t id[32]) {
    memcpy(k, obj, 32);
    k[32] = WR_HADD;
    memcpy(k + 33, org, 32);
    memcpy(k + 65, id, 32);
}

/* Deletes key if it exists (no write when it does not). */
static int del_if(ent_txn *txn, ent_table t, const uint8_t *k, size_t klen) {
    const void *v;
    size_t vlen;
    if (ent_txn_get(txn, t, k, klen, &v, &vlen) != ENT_OK)
        return ENT_OK;
    return ent_txn_del(txn, t, k, klen);
}

int ent__obj_unhold(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                    uint64_t *held_at) {
    uint8_t k[HADD_KEY_LEN];
    const uint8_t *v;
    size_t vlen;
    int rc;
    if (held_at != NULL)
        *held_at = 0;
    memcpy(k, obj, 32);
    memcpy(k + 32, op->id, 32);
    if ((rc = del_if(txn, ENT_TBL_PENDING, k, 64)) != ENT_OK)
        return rc;
    for (size_t i = 0; i < op->h.nparents; i++) {
        ent__obj_wait_key(k, obj, op->h.parents[i], op->id);
        if ((rc = del_if(txn, ENT_TBL_WRITES, k, OBJ_WAIT_KEY_LEN)) != ENT_OK)
            return rc;
    }
    ent__obj_wait_key(k, obj, no_parent, op->id);
    if ((rc = del_if(txn, ENT_TBL_WRITES, k, OBJ_WAIT_KEY_LEN)) != ENT_OK)
        return rc;
    held_key(k, obj, op->id);
    if (ent_txn_get(txn, ENT_TBL_WRITES, k, HELD_KEY_LEN, (const void **)&v,
                    &vlen) != ENT_OK)
        return ENT_OK; /* held by an older binary: no held row */
    uint8_t target[32];
    bool add = vlen == HELD_VAL_MIN + 32;
    if (add)
        memcpy(target, v + HELD_VAL_MIN, 32);
    if (held_at != NULL && vlen >= 8)
        *held_at = ent_be64_get(v);
    if ((rc = ent_txn_del(txn, ENT_TBL_WRITES, k, HELD_KEY_LEN)) != ENT_OK)
        return rc;
    if (add) {
        hadd_key(k, obj, target, op->id);
        rc = del_if(txn, ENT_TBL_WRITES, k, HADD_KEY_LEN);
    }
    return rc;
}

/* Drops held op id of obj (its pending row and every row that names it). */
static int drop_id(ent_txn *txn, const uint8_t obj[32], const uint8_t id[32]) {
    uint8_t pk[64], hk[HELD_KEY_LEN];
    const void *v;
    size_t vlen;
    ent_op *op = NULL;
    uint8_t *raw = NULL;
    int rc;
    memcpy(pk, obj, 32);
    memcpy(pk + 32, id, 32);
    held_key(hk, obj, id);
    if (ent_txn_get(txn, ENT_TBL_PENDING, pk, 64, &v, &vlen) != ENT_OK)
        return del_if(txn, ENT_TBL_WRITES, hk, HELD_KEY_LEN); /* stale row */
    if ((raw = malloc(vlen ? vlen : 1)) == NULL)
        return ENT_ENOMEM;
    memcpy(raw, v, vlen); /* the row goes before we are done with it */
    rc = ent_op_decode(&op, raw, vlen);
    if (rc == ENT_OK) {
        rc = ent__obj_unhold(txn, obj, op, NULL);
    } else if (rc != ENT_ENOMEM) { /* damaged: its rows cannot be named */
        rc = ent_txn_del(txn, ENT_TBL_PENDING, pk, 64);
        if (rc == ENT_OK)
            rc = del_if(txn, ENT_TBL_WRITES, hk, HELD_KEY_LEN);
    }
    ent_op_free(op);
    free(raw);
    return rc;
}

/* ------------------------------------------------------------- held rows */

typedef struct held_row {
    uint8_t id[32];
    uint8_t author[32];
    uint64_t at;
    uint32_t len;
    bool stranger; /* in the strangers' share */
    bool gone;     /* dropped during this hold */
} held_row;

typedef struct held_rows {
    held_row *v;
    size_t n;
} held_rows;

static int rows_scan(void *data, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    held_rows *r = data;
    const uint8_t *v = val;
    if (klen != HELD_KEY_LEN ||
        (vlen != HELD_VAL_MIN && vlen != HELD_VAL_MIN + 32))
        return ENT_ECORRUPT;
    int rc = ent__obj_grow((void **)&r->v, r->n, sizeof(*r->v));
    if (rc != ENT_OK)
        return rc;
    held_row *h = &r->v[r->n++];
    memcpy(h->id, (const uint8_t *)key + 33, 32);
    h->at = ent_be64_get(v);
    h->len = ent__rd32(v + 8);
    memcpy(h->author, v + 12, 32);
    h->stranger = (v[44] & HELD_STRANGER) != 0;
    h->gone = false;
    return 0;
}

static int rows_get(ent_txn *txn, const uint8_t obj[32], held_rows *r) {
    uint8_t pre[33];
    memcpy(pre, obj, 32);
    pre[32] = WR_HELD;
    r->v = NULL;
    r->n = 0;
    return ent_txn_scan(txn, ENT_TBL_WRITES, pre, 33, rows_scan, r);
}

/* Ops and bytes held of obj: in all, by author a, in the strangers'
 * share. */
typedef struct tally {
    size_t n, an, sn;
    uint64_t bytes, abytes, sbytes;
} tally;

static tally tally_of(const held_rows *r, const uint8_t a[32]) {
    tally t = {0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].gone)
            continue;
        t.n++;
        t.bytes += r->v[i].len;
        if (r->v[i].stranger) {
            t.sn++;
            t.sbytes += r->v[i].len;
        }
        if (memcmp(r->v[i].author, a, 32) == 0) {
            t.an++;
            t.abytes += r->v[i].len;
        }
    }
    return t;
}

/* The oldest row of the strangers' share (held first, then lowest op
 * id), or NULL. */
static held_row *oldest_stranger(held_rows *r) {
    held_row *best = NULL;
    for (size_t i = 0; i < r->n; i++) {
        held_row *h = &r->v[i];
        if (h->gone || !h->stranger)
            continue;
        if (best == NULL || h->at < best->at ||
            (h->at == best->at && memcmp(h->id, best->id, 32) < 0))
            best = h;
    }
    return best;
}

/* Rows in (author, held_at, op id) order, so each author's rows are one
 * run with its oldest first. */
static int row_cmp(const void *x, const void *y) {
    const held_row *a = x, *b = y;
    int c = memcmp(a->author, b->author, 32);
    if (c != 0)
        return c;
    if (a->at != b->at)
        return a->at < b->at ? -1 : 1;
    return memcmp(a->id, b->id, 32);
}

/*
 * The row to evict to make room for an op of author a: the oldest (held
 * first, then lowest op id) of the author holding the most ops of the
 * object (ties: more bytes, then the lower author key), provided that
 * author holds more ops than a does. NULL when there is none. Sorts r.
 */
static held_row *victim(held_rows *r, const uint8_t a[32]) {
    held_row *best = NULL;
    size_t best_n = 0, a_n = tally_of(r, a).an;
    uint64_t best_b = 0;
    qsort(r->v, r->n, sizeof(*r->v), row_cmp);
    for (size_t i = 0; i < r->n;) {
        size_t j = i, n = 0;
        uint64_t bytes = 0;
        held_row *first = NULL;
        for (; j < r->n && memcmp(r->v[j].author, r->v[i].author, 32) == 0;
             j++) {
            if (r->v[j].gone || r->v[j].stranger)
                continue;
            if (first == NULL)
                first = &r->v[j];
            n++;
            bytes += r->v[j].len;
        }
        if (first != NULL && (n > best_n || (n == best_n && bytes > best_b))) {
            best = first;
            best_n = n;
            best_b = bytes;
        }
        i = j;
    }
    return best != NULL && best_n > a_n ? best : NULL;
}

/* ----------------------------------------------------------- eligibility */

static int any_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    *(bool *)data = true;
    return 1;
}

/*
 * Whether org could be a member of obj, as far as this node knows: the
 * owner, an org with a row in the members table (any role, any status), an
 * org with an applied op in the object (author index), or the org a held
 * add_member op adds (WR_HADD).
 */
static int could_be_member(ent_txn *txn, const uint8_t obj[32],
                           const uint8_t owner[32], const uint8_t org[32],
                           bool *yes) {
    uint8_t k[65];
    const void *v;
    size_t vlen;
    *yes = memcmp(org, owner, 32) == 0;
    memcpy(k, obj, 32);
    memcpy(k + 32, org, 32);
    if (!*yes && ent_txn_get(txn, ENT_TBL_MEMBERS, k, 64, &v, &vlen) == ENT_OK)
        *yes = true;
    k[32] = WR_AUTHOR;
    memcpy(k + 33, org, 32);
    if (!*yes && ent_txn_get(txn, ENT_TBL_WRITES, k, 65, &v, &vlen) == ENT_OK)
        *yes = true;
    k[32] = WR_HADD;
    if (!*yes)
        return ent_txn_scan(txn, ENT_TBL_WRITES, k, 65, any_scan, yes);
    return ENT_OK;
}

/* Whether org may add members as far as the members table says (owner, or
 * an active admin): only such an author's held add vouches for its
 * target. */
static bool may_add(ent_txn *txn, const uint8_t obj[32],
                    const uint8_t owner[32], const uint8_t org[32]) {
    bool active = false;
    uint8_t role = ENT_ROLE_VIEWER;
    if (memcmp(org, owner, 32) == 0)
        return true;
    return ent__obj_member_get(txn, obj, org, &active, &role) == ENT_OK &&
           active && (role == ENT_ROLE_OWNER || role == ENT_ROLE_ADMIN);
}

/* ------------------------------------------------------------------ caps */

/* Drops the held ops of r that have expired at now; counts them. */
static int expire_rows(ent_txn *txn, const uint8_t obj[32], held_rows *r,
                       uint64_t now, ent_obj_stats *delta) {
    int rc = ENT_OK;
    for (size_t i = 0; i < r->n && rc == ENT_OK; i++) {
        if (r->v[i].gone || r->v[i].at + ENT_OBJ_HELD_TTL_MS > now)
            continue;
        r->v[i].gone = true;
        if ((rc = drop_id(txn, obj, r->v[i].id)) == ENT_OK && delta != NULL)
            delta->held_expired++;
    }
    return rc;
}

/* Pending rows per object, from one pass over the pending table: the
 * object with the most (ties: the lower id). */
typedef struct biggest {
    uint8_t cur[32], best[32];
    size_t cur_n, best_n;
    bool any;
} biggest;

static int biggest_scan(void *data, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    biggest *b = data;
    if (klen != 64)
        return ENT_ECORRUPT;
    if (b->cur_n == 0 || memcmp(b->cur, key, 32) != 0) {
        memcpy(b->cur, key, 32);
        b->cur_n = 0;
    }
    if (++b->cur_n > b->best_n) {
        memcpy(b->best, b->cur, 32);
        b->best_n = b->cur_n;
        b->any = true;
    }
    return 0;
}

/*
 * The store holds ENT_OBJ_HELD_TOTAL_MAX ops: makes room for one more op in
 * obj (which holds obj_n) by evicting from the object holding the most,
 * when it holds more than obj does: its oldest stranger's op, else (for a
 * newcomer that could be a member only) the oldest op of its biggest
 * holder. ENT_ELIMIT otherwise.
 */
static int total_room(ent_txn *txn, const uint8_t obj[32], size_t obj_n,
                      bool stranger, ent_obj_stats *delta) {
    biggest b;
    held_rows r = {NULL, 0};
    memset(&b, 0, sizeof(b));
    int rc = ent_txn_scan(txn, ENT_TBL_PENDING, NULL, 0, biggest_scan, &b);
    if (rc != ENT_OK)
        goto out;
    rc = ENT_ELIMIT;
    if (!b.any || b.best_n <= obj_n || memcmp(b.best, obj, 32) == 0)
        goto out;
    if ((rc = rows_get(txn, b.best, &r)) != ENT_OK)
        goto out;
    /* the newcomer's author does not hold any op of that object */
    static const uint8_t nobody[32];
    held_row *h = oldest_stranger(&r);
    if (h == NULL && !stranger)
        h = victim(&r, nobody);
    rc = ENT_ELIMIT;
    if (h == NULL)
        goto out;
    if ((rc = drop_id(txn, b.best, h->id)) == ENT_OK && delta != NULL)
        delta->held_evicted++;
out:
    free(r.v);
    return rc;
}

int ent__obj_hold(ent_objects *eng, ent_txn *txn, const ent_op *op,
                  const uint8_t obj[32], const uint8_t *owner,
                  const uint8_t *target, const ent_hold_opts *o,
                  ent_apply_info *info) {
    uint8_t k[HADD_KEY_LEN], hv[HELD_VAL_MIN + 32];
    held_rows r = {NULL, 0};
    uint64_t now = ent__obj_wall(eng);
    uint64_t at = o->rehold && o->held_at != 0 ? o->held_at : now;
    const void *v;
    size_t vlen, missing = 0;
    int rc = ENT_OK;
    /* an org that could not be a member has ops held only in the
     * strangers' share (judged again when a held op is held again) */
    bool yes = true;
    if (owner != NULL &&
        (rc = could_be_member(txn, obj, owner, op->h.author, &yes)) != ENT_OK)
        goto out;
    bool stranger = !yes;
    if (!o->rehold) {
        if ((rc = rows_get(txn, obj, &r)) != ENT_OK ||
            (rc = expire_rows(txn, obj, &r, now, o->delta)) != ENT_OK)
            goto out;
        tally t = tally_of(&r, op->h.author);
        size_t npend = 0; /* with rows an older binary held */
        if ((rc = ent_txn_scan(txn, ENT_TBL_PENDING, obj, 32,
                               ent__obj_count_scan, &npend)) != ENT_OK)
            goto out;
        if (t.an + 1 > ENT_OBJ_HELD_AUTHOR_MAX ||
            t.abytes + op->rawlen > ENT_OBJ_HELD_AUTHOR_BYTES) {
            rc = ENT_ELIMIT;
            goto out;
        }
        /* room: the strangers' share makes room for a stranger (oldest
         * first); a full object makes room for anyone from the strangers'
         * share first, then, for a possible member only, from the biggest
         * holder if it holds more than the newcomer's author */
        for (;;) {
            bool share_full =
                stranger && (t.sn + 1 > ENT_OBJ_HELD_STRANGER_MAX ||
                             t.sbytes + op->rawlen >
                                 ENT_OBJ_HELD_STRANGER_BYTES);
            bool obj_full = npend + 1 > ENT_OBJ_PENDING_MAX ||
                            t.bytes + op->rawlen > ENT_OBJ_HELD_OBJECT_BYTES;
            if (!share_full && !obj_full)
                break;
            held_row *h = oldest_stranger(&r);
            if (h == NULL && !share_full && !stranger)
                h = victim(&r, op->h.author);
            if (h == NULL) {
                rc = ENT_ELIMIT;
                goto out;
            }
            h->gone = true;
            if ((rc = drop_id(txn, obj, h->id)) != ENT_OK)
                goto out;
            if (o->delta != NULL)
                o->delta->held_evicted++;
            npend--;
            t = tally_of(&r, op->h.author);
        }
        if (stranger && o->delta != NULL)
            o->delta->held_strangers++;
        uint64_t total = 0;
        if ((rc = ent_txn_count(txn, ENT_TBL_PENDING, &total)) != ENT_OK)
            goto out;
        if (total >= ENT_OBJ_HELD_TOTAL_MAX &&
            (rc = total_room(txn, obj, npend, stranger, o->delta)) !=
                ENT_OK)
            goto out;
    }
    memcpy(k, obj, 32);
    memcpy(k + 32, op->id, 32);
    if ((rc = ent_txn_put(txn, ENT_TBL_PENDING, k, 64, op->raw, op->rawlen,
                          0)) != ENT_OK)
        goto out;
    for (size_t i = 0; i < op->h.nparents; i++) {
        if (ent_op_index_get(txn, op->h.parents[i], &v, &vlen) == ENT_OK)
            continue;
        missing++;
        ent__obj_wait_key(k, obj, op->h.parents[i], op->id);
        if ((rc = ent_txn_put(txn, ENT_TBL_WRITES, k, OBJ_WAIT_KEY_LEN, "", 0,
                              0)) != ENT_OK)
            goto out;
    }
    if (missing == 0) {
        ent__obj_wait_key(k, obj, no_parent, op->id);
        if ((rc = ent_txn_put(txn, ENT_TBL_WRITES, k, OBJ_WAIT_KEY_LEN, "", 0,
                              0)) != ENT_OK)
            goto out;
    }
    /* the held row; an add by the owner or an admin vouches for its org */
    bool vouch = target != NULL && owner != NULL &&
                 may_add(txn, obj, owner, op->h.author);
    ent_be64_put(hv, at);
    ent__be32(hv + 8, (uint32_t)op->rawlen);
    memcpy(hv + 12, op->h.author, 32);
    hv[44] = stranger ? HELD_STRANGER : 0;
    if (vouch)
        memcpy(hv + HELD_VAL_MIN, target, 32);
    held_key(k, obj, op->id);
    if ((rc = ent_txn_put(txn, ENT_TBL_WRITES, k, HELD_KEY_LEN, hv,
                          vouch ? HELD_VAL_MIN + 32 : HELD_VAL_MIN, 0)) !=
        ENT_OK)
        goto out;
    if (vouch) {
        hadd_key(k, obj, target, op->id);
        if ((rc = ent_txn_put(txn, ENT_TBL_WRITES, k, HADD_KEY_LEN, "", 0,
                              0)) != ENT_OK)
            goto out;
    }
    if (info != NULL)
        info->pending = true;
out:
    free(r.v);
    return rc;
}

/* ----------------------------------------------------------------- sweep */

/* Object ids of the pending table, each once (rows sorted by object). */
typedef struct objlist {
    uint8_t (*v)[32];
    size_t n;
} objlist;

static int objs_scan(void *data, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    objlist *l = data;
    if (klen != 64)
        return ENT_ECORRUPT;
    if (l->n > 0 && memcmp(l->v[l->n - 1], key, 32) == 0)
        return 0;
    int rc = ent__obj_grow((void **)&l->v, l->n, sizeof(*l->v));
    if (rc == ENT_OK)
        memcpy(l->v[l->n++], key, 32);
    return rc;
}

/* Pending op ids of one object. */
static int ids_scan(void *data, const void *key, size_t klen,
                    const void *val, size_t vlen) {
    objlist *l = data;
    if (klen != 64)
        return ENT_ECORRUPT;
    int rc = ent__obj_grow((void **)&l->v, l->n, sizeof(*l->v));
    if (rc == ENT_OK)
        memcpy(l->v[l->n++], (const uint8_t *)key + 32, 32);
    return rc;
}

typedef struct sweep_ctx {
    uint64_t now;
    ent_obj_stats delta;
} sweep_ctx;

static int sweep_fn(ent_txn *txn, void *data) {
    sweep_ctx *c = data;
    objlist objs = {NULL, 0};
    memset(&c->delta, 0, sizeof(c->delta));
    int rc = ent_txn_scan(txn, ENT_TBL_PENDING, NULL, 0, objs_scan, &objs);
    for (size_t i = 0; i < objs.n && rc == ENT_OK; i++) {
        held_rows r = {NULL, 0};
        objlist ids = {NULL, 0};
        if ((rc = rows_get(txn, objs.v[i], &r)) == ENT_OK)
            rc = expire_rows(txn, objs.v[i], &r, c->now, &c->delta);
        if (rc == ENT_OK)
            rc = ent_txn_scan(txn, ENT_TBL_PENDING, objs.v[i], 32, ids_scan,
                              &ids);
        /* a pending row without a held row (an older binary held it) has
         * no known age: it goes at the first sweep */
        for (size_t j = 0; j < ids.n && rc == ENT_OK; j++) {
            uint8_t hk[HELD_KEY_LEN];
            const void *v;
            size_t vlen;
            held_key(hk, objs.v[i], ids.v[j]);
            if (ent_txn_get(txn, ENT_TBL_WRITES, hk, HELD_KEY_LEN, &v,
                            &vlen) == ENT_OK)
                continue;
            if ((rc = drop_id(txn, objs.v[i], ids.v[j])) == ENT_OK)
                c->delta.held_expired++;
        }
        free(ids.v);
        free(r.v);
    }
    free(objs.v);
    return rc;
}

int ent_obj_expire_held(ent_objects *eng, size_t *dropped) {
    sweep_ctx c;
    memset(&c, 0, sizeof(c));
    if (dropped != NULL)
        *dropped = 0;
    if (eng == NULL)
        return ENT_EINVAL;
    c.now = ent__obj_wall(eng);
    int rc = ent_store_write(eng->store, sweep_fn, &c);
    if (rc == ENT_OK) {
        eng->stats.held_expired += c.delta.held_expired;
        if (dropped != NULL)
            *dropped = (size_t)c.delta.held_expired;
    }
    return rc;
}
