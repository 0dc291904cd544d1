/*
 * peer_table.c - what the peer layer knows about other orgs from storage:
 * the peers table (spec/storage.md "peers": org -> name, addresses, last
 * seen, failures and score), mirrored in memory and loaded once by
 * ent_peers_new, and the membership view read from the members and objects
 * tables (who is an active member of what, which objects two orgs share).
 * It also holds the small helpers the other peer_*.c files share (the wall
 * clock, millisecond settings from the environment). It calls nothing else
 * of the layer; every other peer_*.c file calls into it.
 */
#include "node/bytes.h"
#include "node/peers/peer_int.h"
#include "protocol/addr_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- small helpers ------------------------------------------------------- */

uint64_t ent__peers_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint32_t ent__peers_env_ms(const char *name, uint32_t def) {
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return def;
    char *end;
    unsigned long x = strtoul(v, &end, 10);
    if (*end != '\0' || x == 0 || x > 3600000ul)
        return def;
    return (uint32_t)x;
}

/* ---- peers table (spec/storage.md "peers") -------------------------------- */

/* version(1)=3 | last_seen ms (8) | failures (4) | score (4) | namelen (1) |
 * name | naddrs (1) | { addrlen (1) | addr }* | reclen (2, big-endian) |
 * the org's signed address record (reclen bytes, 0: none). Version 1
 * records (no score) and 2 (no record) are still read. */
static int rec_encode(const peer_ent *e, uint8_t *buf, size_t cap,
                      size_t *len) {
    size_t nl = strlen(e->name), o = 0;
    if (cap < 19 + nl)
        return ENT_ETOOBIG;
    buf[o++] = 3;
    ent_be64_put(buf + o, e->last_seen);
    o += 8;
    buf[o++] = (uint8_t)(e->failures >> 24);
    buf[o++] = (uint8_t)(e->failures >> 16);
    buf[o++] = (uint8_t)(e->failures >> 8);
    buf[o++] = (uint8_t)e->failures;
    buf[o++] = (uint8_t)(e->score >> 24);
    buf[o++] = (uint8_t)(e->score >> 16);
    buf[o++] = (uint8_t)(e->score >> 8);
    buf[o++] = (uint8_t)e->score;
    buf[o++] = (uint8_t)nl;
    memcpy(buf + o, e->name, nl);
    o += nl;
    buf[o++] = e->naddrs;
    for (size_t i = 0; i < e->naddrs; i++) {
        size_t al = strlen(e->addrs[i]);
        if (o + 1 + al > cap)
            return ENT_ETOOBIG;
        buf[o++] = (uint8_t)al;
        memcpy(buf + o, e->addrs[i], al);
        o += al;
    }
    size_t rl = e->rec != NULL ? e->reclen : 0;
    if (o + 2 + rl > cap || rl > ENT_ADDR_RECORD_MAX)
        return ENT_ETOOBIG;
    buf[o++] = (uint8_t)(rl >> 8);
    buf[o++] = (uint8_t)rl;
    if (rl > 0)
        memcpy(buf + o, e->rec, rl);
    o += rl;
    *len = o;
    return ENT_OK;
}

static int rec_decode(peer_ent *e, const uint8_t *v, size_t n) {
    size_t o = 0;
    if (n < 15 || v[0] < 1 || v[0] > 3 || (v[0] >= 2 && n < 19))
        return ENT_ECORRUPT;
    o = 1;
    e->last_seen = ent_be64_get(v + o);
    o += 8;
    e->failures = (uint32_t)v[o] << 24 | (uint32_t)v[o + 1] << 16 |
                  (uint32_t)v[o + 2] << 8 | v[o + 3];
    o += 4;
    e->score = 0;
    if (v[0] >= 2) {
        e->score = (uint32_t)v[o] << 24 | (uint32_t)v[o + 1] << 16 |
                   (uint32_t)v[o + 2] << 8 | v[o + 3];
        o += 4;
    }
    size_t nl = v[o++];
    if (nl > ENT_WIRE_MAX_NAME_LEN || o + nl + 1 > n)
        return ENT_ECORRUPT;
    memcpy(e->name, v + o, nl);
    e->name[nl] = '\0';
    o += nl;
    size_t na = v[o++];
    if (na > ENT_WIRE_MAX_ADDRS)
        return ENT_ECORRUPT;
    for (size_t i = 0; i < na; i++) {
        if (o >= n)
            return ENT_ECORRUPT;
        size_t al = v[o++];
        if (al == 0 || al > ENT_WIRE_MAX_ADDR_LEN || o + al > n)
            return ENT_ECORRUPT;
        memcpy(e->addrs[i], v + o, al);
        e->addrs[i][al] = '\0';
        o += al;
    }
    e->naddrs = (uint8_t)na;
    e->rec = NULL;
    e->reclen = 0;
    e->rec_seq = 0;
    if (v[0] == 3) {
        ent_addr_record r;
        if (o + 2 > n)
            return ENT_ECORRUPT;
        size_t rl = (size_t)v[o] << 8 | v[o + 1];
        o += 2;
        if (rl > ENT_ADDR_RECORD_MAX || o + rl != n)
            return ENT_ECORRUPT;
        /* checked again: our own store, but the record is signed input */
        if (rl > 0 && ent_addr_record_decode(&r, v + o, rl) == ENT_OK) {
            if ((e->rec = malloc(rl)) == NULL)
                return ENT_ENOMEM;
            memcpy(e->rec, v + o, rl);
            e->reclen = rl;
            e->rec_seq = r.seq;
        }
        o += rl;
    }
    return o == n ? ENT_OK : ENT_ECORRUPT;
}

peer_ent *ent__peers_find(ent_peers *p, const uint8_t org[32]) {
    for (size_t i = 0; i < p->npeers; i++)
        if (memcmp(p->peers[i].org, org, 32) == 0)
            return &p->peers[i];
    return NULL;
}

static peer_ent *peer_add(ent_peers *p, const uint8_t org[32]) {
    peer_ent *e = ent__peers_find(p, org);
    if (e != NULL)
        return e;
    if (p->npeers == p->cappeers) {
        size_t nc = p->cappeers ? p->cappeers * 2 : 16;
        peer_ent *nv = realloc(p->peers, nc * sizeof(*nv));
        if (nv == NULL)
            return NULL;
        p->peers = nv;
        p->cappeers = nc;
    }
    e = &p->peers[p->npeers++];
    memset(e, 0, sizeof(*e));
    memcpy(e->org, org, 32);
    return e;
}

static int load_scan(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    ent_peers *p = data;
    peer_ent tmp;
    memset(&tmp, 0, sizeof(tmp));
    if (klen != 32 || rec_decode(&tmp, val, vlen) != ENT_OK) {
        free(tmp.rec);
        ENT_WARN(p->log, "peers: skipping an unreadable peer record");
        return 0;
    }
    peer_ent *e = peer_add(p, key);
    if (e == NULL) {
        free(tmp.rec);
        return ENT_ENOMEM;
    }
    free(e->rec);
    memcpy(tmp.org, key, 32);
    *e = tmp;
    return 0;
}

static int load_fn(ent_txn *txn, void *data) {
    ent_peers *p = data;
    ent__peers_rows_free(p);
    return ent_txn_scan(txn, ENT_TBL_PEERS, NULL, 0, load_scan, p);
}

static int save_fn(ent_txn *txn, void *data) {
    const peer_ent *e = data;
    uint8_t buf[22 + ENT_WIRE_MAX_NAME_LEN +
                ENT_WIRE_MAX_ADDRS * (1 + ENT_WIRE_MAX_ADDR_LEN) +
                ENT_ADDR_RECORD_MAX];
    size_t len;
    int rc = rec_encode(e, buf, sizeof(buf), &len);
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_PEERS, e->org, 32, buf, len, 0);
    return rc;
}

/* Reads the whole peers table into p->peers (ent_peers_new). */
int ent__peers_load(ent_peers *p) {
    return ent_store_read(p->store, load_fn, p);
}

/* Writes e's row of the peers table. */
int ent__peers_save(ent_peers *p, peer_ent *e) {
    return ent_store_write(p->store, save_fn, e);
}

/*
 * Records org as a peer: name and addresses replace the stored ones when
 * given (non-empty), last seen = now. Mirrors the row in memory.
 */
int ent__peers_upsert(ent_peers *p, const uint8_t org[32], const char *name,
                      const char (*addrs)[ENT_WIRE_MAX_ADDR_LEN + 1],
                      size_t naddrs) {
    if (memcmp(org, ent_identity_public(p->id), 32) == 0)
        return ENT_OK;
    peer_ent *e = peer_add(p, org);
    if (e == NULL)
        return ENT_ENOMEM;
    if (name != NULL && name[0] != '\0')
        snprintf(e->name, sizeof(e->name), "%s", name);
    if (naddrs > 0) {
        if (naddrs > ENT_WIRE_MAX_ADDRS)
            naddrs = ENT_WIRE_MAX_ADDRS;
        for (size_t i = 0; i < naddrs; i++)
            snprintf(e->addrs[i], sizeof(e->addrs[i]), "%s", addrs[i]);
        e->naddrs = (uint8_t)naddrs;
    }
    e->last_seen = ent__peers_wall_ms();
    int rc = ent_store_write(p->store, save_fn, e);
    if (rc != ENT_OK)
        ENT_WARN(p->log, "peers: saving a peer record: %s", ent_strerror(rc));
    return rc;
}

void ent__peers_rows_free(ent_peers *p) {
    for (size_t i = 0; i < p->npeers; i++)
        free(p->peers[i].rec);
    p->npeers = 0;
}

/* The row keeps the record's addresses: a record replaces what HELLO or an
 * invite said, and a later HELLO of the org itself replaces it in turn. */
int ent__peers_set_record(ent_peers *p, peer_ent *e, const uint8_t *rec,
                          size_t len, uint64_t seq,
                          const char (*addrs)[ENT_WIRE_MAX_ADDR_LEN + 1],
                          size_t n) {
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return ENT_ENOMEM;
    memcpy(copy, rec, len);
    free(e->rec);
    e->rec = copy;
    e->reclen = len;
    e->rec_seq = seq;
    if (n > ENT_WIRE_MAX_ADDRS)
        n = ENT_WIRE_MAX_ADDRS;
    for (size_t i = 0; i < n; i++)
        snprintf(e->addrs[i], sizeof(e->addrs[i]), "%s", addrs[i]);
    e->naddrs = (uint8_t)n;
    int rc = ent_store_write(p->store, save_fn, e);
    if (rc != ENT_OK)
        ENT_WARN(p->log, "peers: saving a peer record: %s", ent_strerror(rc));
    return rc;
}

const char *ent_peers_org_name(ent_peers *p, const uint8_t org[ENT_PK_LEN]) {
    if (p == NULL)
        return NULL;
    peer_ent *e = ent__peers_find(p, org);
    return e != NULL && e->name[0] != '\0' ? e->name : NULL;
}

/* ---- membership view (spec/storage.md: objects, members) ------------------ */

typedef struct memb_q {
    const uint8_t *obj, *org;
    uint8_t role;
    bool active;
} memb_q;

static int member_fn(ent_txn *txn, void *data) {
    memb_q *q = data;
    uint8_t k[64];
    const uint8_t *v;
    size_t n;
    q->active = false;
    memcpy(k, q->obj, 32);
    memcpy(k + 32, q->org, 32);
    int rc = ent_txn_get(txn, ENT_TBL_MEMBERS, k, 64, (const void **)&v, &n);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc != ENT_OK)
        return rc;
    if (n != 2)
        return ENT_ECORRUPT;
    q->role = v[0];
    q->active = v[1] == 1;
    return ENT_OK;
}

/* True if org is an active member of obj in this node's view (the members
 * table, which the engine rewrites with every membership change). */
bool ent__peers_is_member(ent_peers *p, const uint8_t obj[32],
                          const uint8_t org[32], uint8_t *role) {
    memb_q q = {.obj = obj, .org = org};
    if (ent_store_read(p->store, member_fn, &q) != ENT_OK)
        return false;
    if (role != NULL)
        *role = q.role;
    return q.active;
}

static int obj_status_fn(ent_txn *txn, void *data) {
    const uint8_t *obj = data;
    const uint8_t *v;
    size_t n;
    int rc = ent_txn_get(txn, ENT_TBL_OBJECTS, obj, 32, (const void **)&v, &n);
    if (rc != ENT_OK)
        return rc;
    return n >= 2 && v[1] == 0 ? ENT_OK : ENT_EDENIED;
}

/* True if we hold obj and have not been removed from it. */
bool ent__peers_obj_active(ent_peers *p, const uint8_t obj[32]) {
    return ent_store_read(p->store, obj_status_fn, (void *)obj) == ENT_OK &&
           ent__peers_is_member(p, obj, ent_identity_public(p->id), NULL);
}

typedef struct shared_ctx {
    ent_peers *p;
    const uint8_t *org;
    uint8_t (*v)[32];
    size_t n, cap;
    ent_txn *txn;
} shared_ctx;

static bool active_in(ent_txn *txn, const void *obj, const uint8_t *org) {
    uint8_t k[64];
    const uint8_t *v;
    size_t n;
    memcpy(k, obj, 32);
    memcpy(k + 32, org, 32);
    return ent_txn_get(txn, ENT_TBL_MEMBERS, k, 64, (const void **)&v, &n) ==
               ENT_OK &&
           n == 2 && v[1] == 1;
}

static int shared_scan(void *data, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    shared_ctx *c = data;
    if (klen != 32 || vlen < 2 || ((const uint8_t *)val)[1] != 0)
        return 0;
    if (!active_in(c->txn, key, ent_identity_public(c->p->id)))
        return 0;
    if (c->org != NULL && !active_in(c->txn, key, c->org))
        return 0;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        uint8_t (*nv)[32] = realloc(c->v, nc * 32);
        if (nv == NULL)
            return ENT_ENOMEM;
        c->v = nv;
        c->cap = nc;
    }
    memcpy(c->v[c->n++], key, 32);
    return 0;
}

static int shared_fn(ent_txn *txn, void *data) {
    shared_ctx *c = data;
    c->n = 0;
    c->txn = txn;
    return ent_txn_scan(txn, ENT_TBL_OBJECTS, NULL, 0, shared_scan, c);
}

/* The objects where this org and org are both active members (org NULL:
 * where this org is). *out is malloc'ed (*n ids); the caller frees it. */
int ent__peers_shared(ent_peers *p, const uint8_t *org, uint8_t (**out)[32],
                      size_t *n) {
    shared_ctx c = {.p = p, .org = org};
    int rc = ent_store_read(p->store, shared_fn, &c);
    if (rc != ENT_OK) {
        free(c.v);
        c.v = NULL;
        c.n = 0;
    }
    *out = c.v;
    *n = c.n;
    return rc;
}

typedef struct any_q {
    const uint8_t (*objs)[32];
    size_t n;
    const uint8_t *org;
    bool yes;
} any_q;

static int any_fn(ent_txn *txn, void *data) {
    any_q *q = data;
    for (size_t i = 0; i < q->n && !q->yes; i++)
        q->yes = active_in(txn, q->objs[i], q->org);
    return ENT_OK;
}

bool ent__peers_active_in_any(ent_peers *p, const uint8_t (*objs)[32],
                              size_t n, const uint8_t org[32]) {
    any_q q = {.objs = objs, .n = n, .org = org, .yes = false};
    return ent_store_read(p->store, any_fn, &q) == ENT_OK && q.yes;
}

typedef struct former_q {
    const uint8_t *me, *org;
    ent_txn *txn;
    bool yes;
} former_q;

static int former_scan(void *data, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    former_q *q = data;
    uint8_t k[64];
    const uint8_t *v;
    size_t n;
    if (klen != 32 || vlen < 2 || ((const uint8_t *)val)[1] != 0 ||
        !active_in(q->txn, key, q->me))
        return 0;
    memcpy(k, key, 32);
    memcpy(k + 32, q->org, 32);
    if (ent_txn_get(q->txn, ENT_TBL_MEMBERS, k, 64, (const void **)&v, &n) ==
            ENT_OK &&
        n == 2 && v[1] == 0) {
        q->yes = true;
        return 1; /* stop */
    }
    return 0;
}

static int former_fn(ent_txn *txn, void *data) {
    former_q *q = data;
    q->txn = txn;
    int rc = ent_txn_scan(txn, ENT_TBL_OBJECTS, NULL, 0, former_scan, q);
    return rc > 0 ? ENT_OK : rc;
}

bool ent__peers_was_member(ent_peers *p, const uint8_t org[32]) {
    former_q q = {.me = ent_identity_public(p->id), .org = org};
    return ent_store_read(p->store, former_fn, &q) == ENT_OK && q.yes;
}

bool ent__peers_shares_any(ent_peers *p, const uint8_t org[32]) {
    uint8_t (*v)[32] = NULL;
    size_t n = 0;
    ent__peers_shared(p, org, &v, &n);
    free(v);
    /* a partner (spec/overlap.md §3) is a fellow member without objects */
    return n > 0 || ent_peers_is_partner(p, org);
}
