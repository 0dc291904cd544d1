/*
 * peer.c - sessions, HELLO, the peers table, dialling, push, relay and
 * catch-up; see peer.h. The join flow is in peer_join.c, which shares the
 * internals of peer_int.h.
 */
#include "node/peers/peer_int.h"
#include "node/audit/witness.h"
#include "node/peers/gossip.h"
#include "node/peers/verify.h"

#include <uv.h>

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

static void be64(uint8_t out[8], uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t rd64(const uint8_t *in) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | in[i];
    return v;
}

void ent__peers_org_str(char out[ENT_ORG_ID_LEN + 1], const uint8_t org[32]) {
    ent_org_id_format(out, org);
}

static uint32_t env_ms(const char *name, uint32_t def) {
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

/* version(1)=2 | last_seen ms (8) | failures (4) | score (4) | namelen (1) |
 * name | naddrs (1) | { addrlen (1) | addr }*. Version 1 records (no score)
 * are still read, with score 0. */
static int rec_encode(const peer_ent *e, uint8_t *buf, size_t cap,
                      size_t *len) {
    size_t nl = strlen(e->name), o = 0;
    if (cap < 19 + nl)
        return ENT_ETOOBIG;
    buf[o++] = 2;
    be64(buf + o, e->last_seen);
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
    *len = o;
    return ENT_OK;
}

static int rec_decode(peer_ent *e, const uint8_t *v, size_t n) {
    size_t o = 0;
    if (n < 15 || (v[0] != 1 && v[0] != 2) || (v[0] == 2 && n < 19))
        return ENT_ECORRUPT;
    o = 1;
    e->last_seen = rd64(v + o);
    o += 8;
    e->failures = (uint32_t)v[o] << 24 | (uint32_t)v[o + 1] << 16 |
                  (uint32_t)v[o + 2] << 8 | v[o + 3];
    o += 4;
    e->score = 0;
    if (v[0] == 2) {
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
        ENT_WARN(p->log, "peers: skipping an unreadable peer record");
        return 0;
    }
    peer_ent *e = peer_add(p, key);
    if (e == NULL)
        return ENT_ENOMEM;
    memcpy(tmp.org, key, 32);
    *e = tmp;
    return 0;
}

static int load_fn(ent_txn *txn, void *data) {
    ent_peers *p = data;
    p->npeers = 0;
    return ent_txn_scan(txn, ENT_TBL_PEERS, NULL, 0, load_scan, p);
}

static int save_fn(ent_txn *txn, void *data) {
    const peer_ent *e = data;
    uint8_t buf[20 + ENT_WIRE_MAX_NAME_LEN +
                ENT_WIRE_MAX_ADDRS * (1 + ENT_WIRE_MAX_ADDR_LEN)];
    size_t len;
    int rc = rec_encode(e, buf, sizeof(buf), &len);
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_PEERS, e->org, 32, buf, len, 0);
    return rc;
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

static bool shares_any(ent_peers *p, const uint8_t org[32]) {
    uint8_t (*v)[32] = NULL;
    size_t n = 0;
    ent__peers_shared(p, org, &v, &n);
    free(v);
    return n > 0;
}

/* ---- sending --------------------------------------------------------------- */

static void q_free(qmsg *q) {
    while (q != NULL) {
        qmsg *nx = q->next;
        free(q);
        q = nx;
    }
}

static void jobs_free(sync_job *j) {
    while (j != NULL) {
        sync_job *nx = j->next;
        free(j->keys);
        free(j);
        j = nx;
    }
}

/* Tries to send q; ENT_OK when it went out, ENT_ELIMIT to retry later. */
static int send_raw(conn *c, const uint8_t *buf, size_t len) {
    int rc = ent_session_send(c->s, buf, len);
    if (rc != ENT_OK && rc != ENT_ELIMIT && !c->closing) {
        ENT_DEBUG(c->p->log, "peers: send to %s: %s",
                  ent_session_peer_addr(c->s), ent_strerror(rc));
    }
    return rc;
}

typedef struct batch {
    ent_wire_bytes ops[ENT_WIRE_MAX_OPS];
    size_t n, size;
} batch;

/* The OPS message of one job batch, read in one transaction. */
typedef struct job_read {
    conn *c;
    sync_job *j;
    uint8_t *out;
    size_t len;
    size_t taken;
    size_t nops;
} job_read;

static int job_fn(ent_txn *txn, void *data) {
    job_read *r = data;
    sync_job *j = r->j;
    batch b;
    ent_wire_msg m;
    size_t base;
    b.n = 0;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_OPS;
    memcpy(m.u.ops.object, j->obj, 32);
    m.u.ops.ops = b.ops;
    base = 0;
    r->taken = 0;
    r->nops = 0;
    free(r->out);
    r->out = NULL;
    for (size_t i = j->i; i < j->n && b.n < ENT_WIRE_MAX_OPS; i++) {
        uint8_t k[72];
        const void *v;
        size_t vl;
        memcpy(k, j->obj, 32);
        memcpy(k + 32, j->keys[i].author, 32);
        be64(k + 64, j->keys[i].seq);
        int rc = ent_txn_get(txn, ENT_TBL_OPS, k, 72, &v, &vl);
        r->taken++;
        if (rc == ENT_ENOENT)
            continue;
        if (rc != ENT_OK)
            return rc;
        b.ops[b.n] = (ent_wire_bytes){v, vl};
        m.u.ops.nops = b.n + 1;
        size_t sz = ent_wire_encoded_size(&m);
        if (sz == 0 || sz > ENT_WIRE_MAX_MSG) {
            if (b.n == 0) /* cannot be sent at all: skip it */
                continue;
            r->taken--;
            break;
        }
        b.n++;
        base = sz;
    }
    (void)base;
    if (b.n == 0)
        return ENT_OK;
    m.u.ops.nops = b.n;
    r->nops = b.n;
    return ent_wire_encode(&m, &r->out, &r->len);
}

/*
 * Sends what c may send now: control messages first, then OPS while fewer
 * than ENT_WIRE_PEER_MAX_INFLIGHT are unacknowledged, from the queue and
 * then from catch-up jobs. Stops at the first ENT_ELIMIT (the session's
 * pending bytes are full); the tick retries.
 */
static void pump(conn *c) {
    if (!c->open || c->closing)
        return;
    while (c->ctl != NULL) {
        qmsg *q = c->ctl;
        int rc = send_raw(c, q->data, q->len);
        if (rc == ENT_ELIMIT)
            return;
        c->ctl = q->next;
        if (c->ctl == NULL)
            c->ctl_tail = NULL;
        c->queued -= q->len;
        free(q);
        if (rc != ENT_OK)
            return;
    }
    while (c->inflight < ENT_WIRE_PEER_MAX_INFLIGHT) {
        if (c->ops != NULL) {
            qmsg *q = c->ops;
            int rc = send_raw(c, q->data, q->len);
            if (rc == ENT_ELIMIT)
                return;
            c->ops = q->next;
            if (c->ops == NULL)
                c->ops_tail = NULL;
            c->queued -= q->len;
            free(q);
            if (rc != ENT_OK)
                return;
            c->inflight++;
            c->p->stats.ops_msgs_sent++;
            continue;
        }
        sync_job *j = c->jobs;
        if (j == NULL)
            return;
        if (j->i >= j->n) {
            c->jobs = j->next;
            c->njobs--;
            free(j->keys);
            free(j);
            continue;
        }
        if (ent_session_pending(c->s) + ENT_WIRE_MAX_FRAME + 32 >
            ENT_SESSION_MAX_PENDING)
            return; /* the tick comes back once some went out */
        job_read r = {.c = c, .j = j};
        int rc = ent_store_read(c->p->store, job_fn, &r);
        if (rc != ENT_OK) {
            ENT_WARN(c->p->log, "peers: reading ops to send: %s",
                     ent_strerror(rc));
            free(r.out);
            j->i = j->n;
            continue;
        }
        j->i += r.taken;
        if (r.out == NULL)
            continue;
        rc = send_raw(c, r.out, r.len);
        if (rc == ENT_OK) {
            c->inflight++;
            c->p->stats.ops_msgs_sent++;
            c->p->stats.ops_sent += r.nops;
        }
        free(r.out);
        if (rc != ENT_OK)
            return; /* an unsent batch is found again by the next HAVE */
    }
}

int ent__peers_send(conn *c, const ent_wire_msg *m) {
    uint8_t *buf = NULL;
    size_t len = 0;
    if (c->closing)
        return ENT_ECLOSED;
    int rc = ent_wire_encode(m, &buf, &len);
    if (rc != ENT_OK) {
        ENT_WARN(c->p->log, "peers: cannot encode %s: %s",
                 ent_wire_type_name(m->type), ent_strerror(rc));
        return rc;
    }
    bool is_ops = m->type == ENT_WIRE_OPS;
    if (is_ops && c->queued + len > ENT_PEERS_MAX_QUEUE) {
        c->p->stats.queue_dropped++;
        free(buf);
        return ENT_ELIMIT;
    }
    qmsg *q = malloc(sizeof(*q) + len);
    if (q == NULL) {
        free(buf);
        return ENT_ENOMEM;
    }
    q->next = NULL;
    q->len = len;
    memcpy(q->data, buf, len);
    free(buf);
    qmsg **head = is_ops ? &c->ops : &c->ctl;
    qmsg **tail = is_ops ? &c->ops_tail : &c->ctl_tail;
    if (*tail != NULL)
        (*tail)->next = q;
    else
        *head = q;
    *tail = q;
    c->queued += len;
    if (is_ops)
        c->p->stats.ops_sent += m->u.ops.nops;
    pump(c);
    return ENT_OK;
}

void ent__peers_fail(conn *c, int type, int32_t code, const char *text,
                     int reason) {
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.u.error.code = code;
    snprintf(m.u.error.text, sizeof(m.u.error.text), "%s", text);
    if (!c->closing) {
        ent__peers_send(c, &m);
        if (type == ENT_WIRE_JOIN_ERR) {
            m.type = ENT_WIRE_GOODBYE;
            ent__peers_send(c, &m);
        }
        c->closing = true;
        ent_session_close(c->s, reason);
    }
}

/* Builds OPS messages of up to 256 ops within the size limit. */
static void send_ops(conn *c, const uint8_t obj[32],
                     const uint8_t *const *raws, const size_t *lens,
                     size_t n) {
    ent_wire_msg m;
    ent_wire_bytes *ops = calloc(n ? n : 1, sizeof(*ops));
    if (ops == NULL)
        return;
    size_t i = 0;
    while (i < n) {
        memset(&m, 0, sizeof(m));
        m.type = ENT_WIRE_OPS;
        memcpy(m.u.ops.object, obj, 32);
        m.u.ops.ops = ops + i;
        size_t k = 0;
        while (i + k < n && k < ENT_WIRE_MAX_OPS) {
            ops[i + k] = (ent_wire_bytes){raws[i + k], lens[i + k]};
            m.u.ops.nops = k + 1;
            size_t sz = ent_wire_encoded_size(&m);
            if (sz == 0 || sz > ENT_WIRE_MAX_MSG)
                break;
            k++;
        }
        if (k == 0) { /* one op too big for a frame: never sendable */
            i++;
            continue;
        }
        m.u.ops.nops = k;
        ent__peers_send(c, &m);
        i += k;
    }
    free(ops);
}

void ent__peers_push(ent_peers *p, const uint8_t obj[32],
                     const uint8_t *const *raws, const size_t *lens, size_t n,
                     const conn *except, const uint8_t *extra) {
    if (n == 0 || p->mgr == NULL)
        return;
    for (conn *c = p->conns; c != NULL; c = c->next) {
        if (c == except || !c->open || c->closing || !c->has_org)
            continue;
        /* one session per org */
        bool dup = false;
        for (conn *d = p->conns; d != c && !dup; d = d->next)
            dup = d != except && d->open && !d->closing && d->has_org &&
                  memcmp(d->org, c->org, 32) == 0;
        if (dup)
            continue;
        bool to = extra != NULL && memcmp(extra, c->org, 32) == 0;
        if (!to && !ent__peers_is_member(p, obj, c->org, NULL))
            continue;
        send_ops(c, obj, raws, lens, n);
    }
}

/* The op hook of the node: every op this node commits goes to the members. */
static void on_local_op(ent_node *n, const uint8_t *raw, size_t len,
                        const uint8_t object[32], void *data) {
    ent_peers *p = data;
    const uint8_t *raws[1] = {raw};
    size_t lens[1] = {len};
    if (p->extra_org != NULL) /* a removal: to every member and to org */
        ent__peers_push(p, object, raws, lens, 1, NULL, p->extra_org);
    else /* bounded fanout (spec/gossip.md "Dissemination") */
        ent_gossip_push(p->gossip, object, raws, lens, 1, NULL);
}

/* ---- version vectors and catch-up ----------------------------------------- */

/* Starts an anti-entropy round with c (spec/gossip.md): one DIGEST. */
static void send_haves(conn *c) {
    if (!c->has_org)
        return;
    int rc = ent_gossip_round(c->p->gossip, c->org);
    if (rc != ENT_OK && rc != ENT_ENOENT)
        ENT_DEBUG(c->p->log, "peers: gossip round: %s", ent_strerror(rc));
    c->last_have = uv_now(c->p->loop);
}

int ent__peers_job_add(conn *c, const uint8_t obj[32], const uint8_t *vv,
                       size_t n_vv, uint64_t *nops) {
    if (nops != NULL)
        *nops = 0;
    for (sync_job *j = c->jobs; j != NULL; j = j->next)
        if (memcmp(j->obj, obj, 32) == 0 && vv != NULL)
            return ENT_OK; /* one at a time per object; the next HAVE rechecks */
    if (c->njobs >= ENT_PEERS_MAX_JOBS)
        return ENT_ELIMIT;
    /* the ops the peer lacks, in causal (HLC) order */
    sync_key *keys = NULL;
    size_t n = 0;
    int rc = ent_gossip_missing(c->p->gossip, obj, vv, n_vv, &keys, &n);
    if (rc != ENT_OK || n == 0) {
        free(keys);
        return rc;
    }
    sync_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        free(keys);
        return ENT_ENOMEM;
    }
    memcpy(j->obj, obj, 32);
    j->keys = keys;
    j->n = n;
    sync_job **pp = &c->jobs;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = j;
    c->njobs++;
    if (nops != NULL)
        *nops = n;
    pump(c);
    return ENT_OK;
}

/* ---- receiving -------------------------------------------------------------- */

static uint64_t backoff(ent_peers *p, uint32_t failures);

/* A protocol violation scores the peer down (spec/sessions.md "Scoring"):
 * its record's failures and score go up and are saved, and it is not
 * dialled again before backoff(failures + score). */
static void score_down(conn *c) {
    ent_peers *p = c->p;
    peer_ent *e = c->has_org ? ent__peers_find(p, c->org) : NULL;
    if (e == NULL)
        return;
    if (e->failures < UINT32_MAX / 2)
        e->failures++;
    if (e->score < UINT32_MAX / 2)
        e->score++;
    e->next_dial = uv_now(p->loop) + backoff(p, e->failures + e->score);
    int rc = ent_store_write(p->store, save_fn, e);
    if (rc != ENT_OK)
        ENT_WARN(p->log, "peers: saving a peer record: %s", ent_strerror(rc));
}

static void violation(conn *c, int rc, const char *what) {
    char org[ENT_ORG_ID_LEN + 1] = "?";
    if (c->has_org)
        ent_org_id_format(org, c->org);
    ENT_WARN(c->p->log, "peers: dropping %s (%s): %s: %s",
             ent_session_peer_addr(c->s), org, what, ent_strerror(rc));
    c->p->stats.violations++;
    score_down(c);
    ent__peers_fail(c, ENT_WIRE_ERROR, ent_wire_code_from_err(rc), what, rc);
}

static void handle_hello(conn *c, const ent_wire_hello *h) {
    ent_peers *p = c->p;
    if (h->version < 1) {
        ent__peers_fail(c, ENT_WIRE_ERROR, ENT_WIRE_C_VERSION,
                        "no common version", ENT_EVERSION);
        return;
    }
    c->got_hello = true;
    snprintf(c->name, sizeof(c->name), "%s", h->name);
    c->naddrs = h->naddrs;
    for (size_t i = 0; i < h->naddrs; i++)
        snprintf(c->addrs[i], sizeof(c->addrs[i]), "%s", h->addrs[i]);
    if (!c->known && shares_any(p, c->org))
        c->known = true;
    if (c->known && c->join == NULL)
        ent__peers_upsert(p, c->org, c->name, c->addrs, c->naddrs);
    ent__peers_join_open(c);
    ent__witness_open(c); /* our signed tree head (spec/audit.md §11) */
    if (c->known)
        send_haves(c);
}

/* False only for an op that decodes and belongs to another object than
 * obj (a genesis op's object is its own id): the engine would hold such an
 * op as pending for an object this node never asked for, so an attacker
 * could fill the store through OPS of an object it is a member of. Ops that
 * do not decode go on to the engine, which refuses and counts them. */
static bool op_in_object(const uint8_t *raw, size_t len,
                         const uint8_t obj[32]) {
    ent_op *op = NULL;
    if (ent_op_decode(&op, raw, len) != ENT_OK)
        return true;
    bool ok = memcmp(op->h.genesis ? op->id : op->h.object, obj, 32) == 0;
    ent_op_free(op);
    return ok;
}

/* The op token rate per session: ENT_WIRE_PEER_OPS_PER_SEC, or
 * $ENTENTE_PEER_OPS_PER_SEC (for benchmarks of backlog sync, which the
 * default rate would bound at 2,000 ops/s); the burst is twice the rate. */
static int64_t ops_rate(void) {
    return env_ms("ENTENTE_PEER_OPS_PER_SEC", ENT_WIRE_PEER_OPS_PER_SEC);
}

static int64_t ops_burst(void) {
    int64_t r = ops_rate();
    return r == ENT_WIRE_PEER_OPS_PER_SEC ? ENT_WIRE_PEER_OPS_BURST : 2 * r;
}

/*
 * Applies m ops of obj that arrived from org on c (c NULL: the session is
 * gone; nothing is ACKed) in one transaction, ACKs them, relays the new ones
 * (ent_gossip_apply_ex) and rotates the key when a conflict asks for it.
 * verified (may be NULL) marks ops whose signature the pool checked. The ops
 * are those of nmsg OPS messages back to back: message k kept msg_m[k] of
 * them and carried msg_nrecv[k] records; each gets its own ACK.
 */
static void apply_msgs(ent_peers *p, conn *c, const uint8_t org[32],
                       const uint8_t obj[32], const uint8_t *const *raws,
                       const size_t *lens, size_t m, const bool *verified,
                       const ent_obj_opened *opened, const size_t *msg_m,
                       const size_t *msg_nrecv, size_t nmsg) {
    ent_wire_msg ack;
    memset(&ack, 0, sizeof(ack));
    ack.type = ENT_WIRE_ACK;
    memcpy(ack.u.ack.object, obj, 32);
    size_t n1 = m ? m : 1;
    ent_apply_info *infos = calloc(n1, sizeof(*infos));
    int *rcs = calloc(n1, sizeof(*rcs));
    uint8_t (*ids)[32] = calloc(n1, 32);
    size_t nids = 0, nfw = 0;
    bool rotate = false;
    if (!infos || !rcs || !ids)
        goto out;
    /* applies and relays the new ops to at most fanout other members */
    int rc = m > 0 ? ent_gossip_apply_ex(p->gossip, org, obj, raws, lens, m,
                                         verified, opened, infos, rcs)
                   : ENT_OK;
    if (rc != ENT_OK) {
        ENT_WARN(p->log, "peers: applying %zu ops: %s", m, ent_strerror(rc));
        goto out;
    }
    /* one ACK per OPS message, of that message's applied ops */
    for (size_t k = 0, from = 0; k < nmsg; from += msg_m[k], k++) {
        uint64_t nstored = 0, nrefused = msg_nrecv[k] > msg_m[k]
                                              ? msg_nrecv[k] - msg_m[k]
                                              : 0;
        nids = 0;
        for (size_t i = from; i < from + msg_m[k] && i < m; i++) {
            if (rcs[i] != ENT_OK) {
                p->stats.ops_rejected++;
                nrefused++;
                continue;
            }
            if (infos[i].rotate_needed)
                rotate = true;
            if (infos[i].pending)
                continue;
            nstored++;
            memcpy(ids[nids++], infos[i].op_id, 32);
            if (!infos[i].duplicate) {
                p->stats.ops_applied++;
                nfw++;
            }
            if (infos[i].removed) {
                char hex[65];
                ent_hex_encode(hex, obj, 32);
                ENT_INFO(p->log,
                         "peers: this org was removed from object %s", hex);
            }
        }
        ack.u.ack.ids = ids;
        ack.u.ack.nids = nids;
        if (c != NULL && !c->closing)
            ent__peers_send(c, &ack);
        /* backlog progress (peer_sync.c) */
        ent__sync_processed(p, org, obj, msg_nrecv[k], nstored, nrefused);
    }
    if (nfw > 0 && ent__peers_obj_active(p, obj))
        p->stats.ops_relayed += nfw; /* ent_gossip_apply relayed them */
    if (rotate) {
        ent_op *op = NULL;
        int r2 = ent_obj_rotate_key(p->eng, obj, &op);
        if (r2 == ENT_OK)
            ent_node_op_created(p->node, op);
        else
            ENT_WARN(p->log, "peers: key rotation: %s", ent_strerror(r2));
    }
    for (size_t k = 0; k < nmsg; k++)
        if (c != NULL && !c->closing)
            ent__peers_join_ops(c, obj, msg_nrecv[k]);
out:
    free(infos);
    free(rcs);
    free(ids);
}

/* apply_msgs for the ops of one OPS message. */
static void apply_ops(ent_peers *p, conn *c, const uint8_t org[32],
                      const uint8_t obj[32], const uint8_t *const *raws,
                      const size_t *lens, size_t m, const bool *verified,
                      size_t nrecv) {
    apply_msgs(p, c, org, obj, raws, lens, m, verified, NULL, &m, &nrecv, 1);
}

/* A batch of OPS in the thread pool: what the callback needs. */
typedef struct ops_batch {
    ent_peers *p;
    uint8_t org[32];
    uint8_t obj[32];
} ops_batch;

/* Batches applied in one transaction at most (group commit). */
#define OPS_GROUP_MAX 32

/* OPS batches of one session in the pool at most: reading from the
 * session stops at this many (2 MiB of op records) and resumes below. The
 * sender's window (ENT_WIRE_PEER_MAX_INFLIGHT) is twice as wide, so that
 * while this node applies and commits one group, the next one already
 * waits in the socket. */
#define OPS_POOL_MAX 32

/* One OPS message's checked batch (verify.h). */
typedef struct ops_view {
    ops_batch *b;
    const void *owner;
    const uint8_t *const *raws;
    const size_t *lens;
    size_t n;
    const int *vrcs;
    const uint8_t (*objs)[32];
    const ent_obj_opened *opened; /* NULL: submitted without keys */
} ops_view;

/* Applies views[from, to), all of one session, org and object, in one
 * transaction: keeps the ops of the message's object, marks the verified
 * ones, ACKs each message, and resumes reading from the session once its
 * queue of batches is short again. */
static void apply_views(ent_peers *p, const ops_view *views, size_t from,
                        size_t to) {
    const ops_view *v0 = &views[from];
    conn *c = (conn *)v0->owner;
    size_t total = 0, nmsg = to - from, m = 0, dropped = 0;
    for (size_t k = from; k < to; k++)
        total += views[k].n;
    const uint8_t **keep = calloc(total ? total : 1, sizeof(*keep));
    size_t *klen = calloc(total ? total : 1, sizeof(*klen));
    bool *ok = calloc(total ? total : 1, sizeof(*ok));
    ent_obj_opened *opened = calloc(total ? total : 1, sizeof(*opened));
    size_t *msg_m = calloc(nmsg, sizeof(*msg_m));
    size_t *msg_nrecv = calloc(nmsg, sizeof(*msg_nrecv));
    if (!keep || !klen || !ok || !opened || !msg_m || !msg_nrecv) {
        ENT_WARN(p->log, "peers: applying %zu ops: %s", total,
                 ent_strerror(ENT_ENOMEM));
        goto out;
    }
    for (size_t k = from; k < to; k++) {
        const ops_view *w = &views[k];
        size_t before = m;
        for (size_t i = 0; i < w->n; i++) {
            bool decoded = w->vrcs[i] == ENT_OK || w->vrcs[i] == ENT_EBADSIG;
            /* ops that do not decode go on to the engine, which refuses and
             * counts them; an op of another object is refused here (see
             * op_in_object) */
            if (decoded && memcmp(w->objs[i], v0->b->obj, 32) != 0) {
                p->stats.ops_rejected++;
                dropped++;
                continue;
            }
            keep[m] = w->raws[i];
            klen[m] = w->lens[i];
            if (w->opened != NULL)
                opened[m] = w->opened[i];
            ok[m++] = w->vrcs[i] == ENT_OK;
        }
        msg_m[k - from] = m - before;
        msg_nrecv[k - from] = w->n;
    }
    if (dropped > 0)
        ENT_WARN(p->log, "peers: dropped %zu ops of another object", dropped);
    apply_msgs(p, c != NULL && !c->closing ? c : NULL, v0->b->org, v0->b->obj,
               keep, klen, m, ok, opened, msg_m, msg_nrecv, nmsg);
    if (c != NULL && !c->closing && !c->read_stopped &&
        ent_verifier_pending(ent_gossip_verifier(p->gossip), c) <
            OPS_POOL_MAX)
        ent_session_read_start(c->s);
out:
    free(keep);
    free(klen);
    free(ok);
    free(opened);
    free(msg_m);
    free(msg_nrecv);
}

/* Loop thread, after the pool checked the batch's signatures (verify.h).
 * Group commit: the batches after it that the pool already checked are
 * taken too (ent_verifier_take), and each run of them from one session,
 * org and object is applied in one transaction, so one durable commit
 * serves several OPS messages; each message still gets its own ACK, in
 * arrival order. */
static void ops_verified(void *data, const void *owner,
                         const uint8_t *const *raws, const size_t *lens,
                         size_t n, const int *vrcs, const uint8_t (*objs)[32],
                         const ent_obj_opened *opened, bool aborted) {
    ops_batch *b = data;
    ent_peers *p = b->p;
    ent_verifier *v = ent_gossip_verifier(p->gossip);
    ops_view views[OPS_GROUP_MAX];
    ent_verified more[OPS_GROUP_MAX];
    size_t nv = 1;
    if (aborted) {
        free(b);
        return;
    }
    views[0] = (ops_view){b, owner, raws, lens, n, vrcs, objs, opened};
    while (nv < OPS_GROUP_MAX && ent_verifier_take(v, ops_verified, &more[nv])) {
        ent_verified *t = &more[nv];
        views[nv++] = (ops_view){t->data, t->owner, t->raws,  t->lens,
                                 t->n,    t->rcs,   t->objs,  t->opened};
    }
    for (size_t i = 0; i < nv;) {
        size_t j = i + 1;
        while (j < nv && views[j].owner == views[i].owner &&
               memcmp(views[j].b->org, views[i].b->org, 32) == 0 &&
               memcmp(views[j].b->obj, views[i].b->obj, 32) == 0)
            j++;
        apply_views(p, views, i, j);
        i = j;
    }
    for (size_t i = 1; i < nv; i++) {
        free(views[i].b);
        ent_verified_free(&more[i]);
    }
    free(b);
}

/* OPS from c: only from an active member of the object (or the inviter
 * during our join). With a verifier the signatures are checked on the
 * thread pool and the batch is applied, ACKed and relayed in ops_verified,
 * in arrival order; reading from c stops while OPS_POOL_MAX of its
 * batches are in the pool. Without one, all of it happens here. */
static void handle_ops(conn *c, const ent_wire_ops *o) {
    ent_peers *p = c->p;
    uint64_t now = uv_now(p->loop);
    size_t n = o->nops;
    int64_t rate = ops_rate(), burst = ops_burst();
    p->stats.ops_received += n;
    /* records that answer a request of ours (a join's history, the gap a
     * VV exchange found) are admitted on that request's credit; the rest
     * pays one token per record (spec/protocol.md section 5) */
    uint64_t credited = ent__sync_on_ops(p, c->org, o->object, n);
    uint64_t metered = n - credited;
    p->stats.ops_credited += credited;
    p->stats.ops_metered += metered;
    c->tokens += (int64_t)(now - c->tokens_at) * rate;
    c->tokens_at = now;
    if (c->tokens > burst * 1000)
        c->tokens = burst * 1000;
    c->tokens -= (int64_t)metered * 1000;
    if (c->tokens < -burst * 1000) {
        violation(c, ENT_ELIMIT, "ops rate");
        return;
    }
    if (c->tokens < 0 && !c->read_stopped) {
        ent_session_read_stop(c->s);
        c->read_stopped = true;
        p->stats.rate_stops++;
    }

    bool joining = c->join != NULL && c->join->state == ENT_JOIN_SYNCING &&
                   memcmp(c->join->obj, o->object, 32) == 0;
    if (!joining && (!ent__peers_is_member(p, o->object, c->org, NULL) ||
                     !ent__peers_is_member(p, o->object,
                                           ent_identity_public(p->id), NULL))) {
        char org[ENT_ORG_ID_LEN + 1];
        ent_org_id_format(org, c->org);
        p->stats.ops_nonmember += n;
        ENT_WARN(p->log, "peers: dropped %zu ops from %s: not a member of "
                         "that object", n, org);
        ent_wire_msg ack;
        memset(&ack, 0, sizeof(ack));
        ack.type = ENT_WIRE_ACK;
        memcpy(ack.u.ack.object, o->object, 32);
        ent__peers_send(c, &ack);
        ent_wire_msg e;
        memset(&e, 0, sizeof(e));
        e.type = ENT_WIRE_ERROR;
        e.u.error.code = ENT_WIRE_C_NOTMEMBER;
        snprintf(e.u.error.text, sizeof(e.u.error.text), "not a member");
        ent__peers_send(c, &e);
        return;
    }
    const uint8_t **raws = calloc(n ? n : 1, sizeof(*raws));
    size_t *lens = calloc(n ? n : 1, sizeof(*lens));
    ent_verifier *v = ent_gossip_verifier(p->gossip);
    ops_batch *b = NULL;
    if (!raws || !lens)
        goto out;
    if (v != NULL && n > 0) {
        for (size_t i = 0; i < n; i++) {
            raws[i] = o->ops[i].p;
            lens[i] = o->ops[i].len;
        }
        if ((b = calloc(1, sizeof(*b))) == NULL)
            goto out;
        b->p = p;
        memcpy(b->org, c->org, 32);
        memcpy(b->obj, o->object, 32);
        /* the object's epoch keys go along, so the pool also decrypts */
        ent_obj_key *keys = NULL;
        size_t nkeys = 0;
        if (ent_obj_epoch_keys(p->eng, o->object, &keys, &nkeys) != ENT_OK)
            nkeys = 0; /* the engine decrypts them itself */
        int src = ent_verifier_submit_keys(v, c, raws, lens, n, keys, nkeys,
                                           ops_verified, b);
        ent_obj_keys_free(keys, nkeys);
        if (src != ENT_OK) {
            free(b);
            goto out;
        }
        if (ent_verifier_pending(v, c) >= OPS_POOL_MAX)
            ent_session_read_stop(c->s);
        goto out;
    }
    size_t m = 0; /* the ops of o->object; any other is refused here */
    for (size_t i = 0; i < n; i++) {
        if (!op_in_object(o->ops[i].p, o->ops[i].len, o->object)) {
            p->stats.ops_rejected++;
            continue;
        }
        raws[m] = o->ops[i].p;
        lens[m++] = o->ops[i].len;
    }
    if (m < n)
        ENT_WARN(p->log, "peers: dropped %zu ops of another object", n - m);
    apply_ops(p, c, c->org, o->object, raws, lens, m, NULL, n);
out:
    free(raws);
    free(lens);
}

static void handle_have(conn *c, const ent_wire_summary *s) {
    ent_peers *p = c->p;
    if (s->len % ENT_PEERS_VV_ENTRY != 0) {
        violation(c, ENT_EPROTO, "bad HAVE summary");
        return;
    }
    if (!ent__peers_is_member(p, s->object, c->org, NULL) ||
        !ent__peers_obj_active(p, s->object)) {
        ent_wire_msg e;
        memset(&e, 0, sizeof(e));
        e.type = ENT_WIRE_ERROR;
        e.u.error.code = ENT_WIRE_C_NOTMEMBER;
        snprintf(e.u.error.text, sizeof(e.u.error.text), "not a member");
        ent__peers_send(c, &e);
        return;
    }
    int rc = ent__peers_job_add(c, s->object, s->bytes ? s->bytes : (const uint8_t *)"",
                                s->len / ENT_PEERS_VV_ENTRY, NULL);
    if (rc != ENT_OK && rc != ENT_ELIMIT)
        ENT_WARN(p->log, "peers: catch-up: %s", ent_strerror(rc));
}

static void on_message(ent_session *s, const uint8_t *msg, size_t len,
                       void *data) {
    conn *c = ent_session_data(s);
    ent_wire_msg m;
    if (c == NULL || c->closing)
        return;
    c->last_rx = uv_now(c->p->loop);
    c->pings = 0;
    int rc = ent_wire_decode(&m, msg, len);
    if (rc != ENT_OK) {
        violation(c, rc, "malformed message");
        return;
    }
    if (m.type == ENT_WIRE_UNKNOWN)
        goto out;
    if (!c->got_hello) {
        if (m.type == ENT_WIRE_HELLO)
            handle_hello(c, &m.u.hello);
        else
            violation(c, ENT_EPROTO, "message before HELLO");
        goto out;
    }
    /* an org we do not know yet may only join */
    if (!c->known && m.type != ENT_WIRE_JOIN && m.type != ENT_WIRE_PING &&
        m.type != ENT_WIRE_PONG && m.type != ENT_WIRE_GOODBYE &&
        m.type != ENT_WIRE_ERROR) {
        c->p->stats.denied++;
        ENT_WARN(c->p->log, "peers: %s from a non-member: denied",
                 ent_wire_type_name(m.type));
        ent__peers_fail(c, ENT_WIRE_ERROR, ENT_WIRE_C_DENIED, "not allowed",
                        ENT_EDENIED);
        goto out;
    }
    switch (m.type) {
    case ENT_WIRE_HELLO:
        violation(c, ENT_EPROTO, "second HELLO");
        break;
    case ENT_WIRE_JOIN:
        if (c->join_seen || ent_session_is_initiator(s))
            violation(c, ENT_EPROTO, "unexpected JOIN");
        else
            ent__peers_handle_join(c, &m.u.join);
        break;
    case ENT_WIRE_JOIN_OK:
    case ENT_WIRE_JOIN_ERR:
        ent__peers_join_message(c, &m);
        break;
    case ENT_WIRE_OPS:
        handle_ops(c, &m.u.ops);
        break;
    case ENT_WIRE_ACK:
        if (c->inflight > 0)
            c->inflight--;
        pump(c);
        break;
    case ENT_WIRE_HAVE:
        handle_have(c, &m.u.summary);
        break;
    case ENT_WIRE_WANT:
        break; /* version 1 nodes answer HAVE only */
    case ENT_WIRE_VV:
        /* what the peer holds and we lack: progress and credit */
        ent__sync_vv(c, m.u.vv.object, m.u.vv.bytes,
                     m.u.vv.len / ENT_PEERS_VV_ENTRY);
        /* fall through */
    case ENT_WIRE_DIGEST:
    case ENT_WIRE_DIGESTS:
        rc = ent_gossip_on_message(c->p->gossip, c->org, &m);
        if (rc == ENT_EPROTO)
            violation(c, rc, "bad gossip message");
        else if (rc != ENT_OK)
            ENT_WARN(c->p->log, "peers: gossip: %s", ent_strerror(rc));
        break;
    case ENT_WIRE_HEAD:
    case ENT_WIRE_CONSISTENCY:
        ent__witness_message(c, &m);
        break;
    case ENT_WIRE_PING: {
        ent_wire_msg r = m;
        r.type = ENT_WIRE_PONG;
        ent__peers_send(c, &r);
        break;
    }
    case ENT_WIRE_PONG:
        break;
    case ENT_WIRE_ERROR:
        ENT_INFO(c->p->log, "peers: %s says ERROR %d: %s",
                 ent_session_peer_addr(s), (int)m.u.error.code,
                 m.u.error.text);
        if (m.u.error.code >= ENT_WIRE_C_PROTO &&
            m.u.error.code <= ENT_WIRE_C_LIMIT) {
            c->closing = true;
            ent_session_close(s, ent_wire_code_to_err(m.u.error.code));
        }
        break;
    case ENT_WIRE_GOODBYE:
        c->closing = true;
        ent_session_close(s, ENT_OK);
        break;
    default:
        violation(c, ENT_EPROTO, "unexpected message");
        break;
    }
out:
    ent_wire_msg_clear(&m);
}

/* ---- session callbacks -------------------------------------------------------- */

static conn *conn_new(ent_peers *p) {
    conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->p = p;
    c->tokens = (int64_t)ENT_WIRE_PEER_OPS_BURST * 1000;
    c->tokens_at = uv_now(p->loop);
    c->last_rx = c->tokens_at;
    c->next = p->conns;
    if (p->conns != NULL)
        p->conns->prev = c;
    p->conns = c;
    return c;
}

static void conn_free(conn *c) {
    ent_peers *p = c->p;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    /* batches of c still in the pool are applied without an ACK */
    ent_verifier_detach(ent_gossip_verifier(p->gossip), c);
    q_free(c->ctl);
    q_free(c->ops);
    jobs_free(c->jobs);
    free(c);
}

/* Whether an unknown org may come in (as a guest: HELLO and JOIN only). */
typedef struct pend_ctx {
    uint64_t now;
    bool any;
} pend_ctx;

/* Any invite record, pending, used or expired: a joiner with a used or
 * expired token then gets a JOIN_ERR that says so. A node that never made
 * an invite lets no stranger in. */
static int pend_rec(void *data, const ent_invite_record *r) {
    pend_ctx *c = data;
    c->any = true;
    return 1;
}

static int pend_fn(ent_txn *txn, void *data) {
    return ent_invite_list(txn, pend_rec, data);
}

static bool authorize(ent_session *s, const uint8_t org[ENT_PK_LEN],
                      void *data) {
    ent_peers *p = data;
    conn *c = ent_session_data(s);
    if (memcmp(org, ent_identity_public(p->id), 32) == 0)
        return false; /* ourselves */
    if (c == NULL) {
        bool known = shares_any(p, org);
        if (!known) {
            pend_ctx pc = {.now = ent__peers_wall_ms() / 1000};
            ent_store_read(p->store, pend_fn, &pc);
            if (!pc.any)
                return false;
        }
        if ((c = conn_new(p)) == NULL)
            return false;
        c->s = s;
        c->known = known;
        ent_session_set_data(s, c);
    } else {
        c->known = true; /* we dialled this org on purpose */
    }
    memcpy(c->org, org, 32);
    c->has_org = true;
    return true;
}

void ent_peers_advertised(ent_peers *p, char out[ENT_ADDR_STRLEN]) {
    const char *env = getenv("ENTENTE_ADVERTISE");
    const char *l = ent_node_listen(p->node);
    if (env != NULL && *env != '\0' && strlen(env) < ENT_ADDR_STRLEN) {
        snprintf(out, ENT_ADDR_STRLEN, "%s", env);
    } else if (strncmp(l, "0.0.0.0:", 8) == 0) {
        snprintf(out, ENT_ADDR_STRLEN, "127.0.0.1:%s", l + 8);
    } else if (strncmp(l, "[::]:", 5) == 0) {
        snprintf(out, ENT_ADDR_STRLEN, "[::1]:%s", l + 5);
    } else {
        snprintf(out, ENT_ADDR_STRLEN, "%s", l);
    }
}

static void established(ent_session *s, void *data) {
    ent_peers *p = data;
    conn *c = ent_session_data(s);
    if (c == NULL)
        return;
    ent_wire_msg m;
    char adv[ENT_ADDR_STRLEN];
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_HELLO;
    m.u.hello.version = ENT_WIRE_VERSION;
    snprintf(m.u.hello.name, sizeof(m.u.hello.name), "%s",
             ent_node_name(p->node));
    ent_peers_advertised(p, adv);
    if (adv[0] != '\0') {
        snprintf(m.u.hello.addrs[0], sizeof(m.u.hello.addrs[0]), "%s", adv);
        m.u.hello.naddrs = 1;
    }
    c->open = true;
    p->stats.sessions_opened++;
    if (c->for_peer) {
        peer_ent *e = ent__peers_find(p, c->org);
        if (e != NULL)
            e->failures = 0;
    }
    ent__peers_send(c, &m);
}

static uint64_t backoff(ent_peers *p, uint32_t failures) {
    uint64_t d = p->dial_base_ms;
    for (uint32_t i = 0; i < failures && d < ENT_PEERS_DIAL_CAP_MS; i++)
        d *= 2;
    if (d > ENT_PEERS_DIAL_CAP_MS)
        d = ENT_PEERS_DIAL_CAP_MS;
    uint32_t r;
    ent_random(&r, sizeof(r));
    return d / 2 + r % (d / 2 + 1); /* jitter: [d/2, d] */
}

static void closed(ent_session *s, int reason, void *data) {
    ent_peers *p = data;
    conn *c = ent_session_data(s);
    if (c == NULL)
        return;
    if (c->has_org) {
        peer_ent *e = ent__peers_find(p, c->org);
        if (e != NULL && c->for_peer) {
            e->dialling = false;
            if (!c->open)
                e->failures++;
            uint64_t nd = uv_now(p->loop) + backoff(p, e->failures + e->score);
            if (nd > e->next_dial) /* keep a longer violation backoff */
                e->next_dial = nd;
        } else if (e != NULL && c->open) {
            uint64_t nd = uv_now(p->loop) + backoff(p, e->score);
            if (nd > e->next_dial)
                e->next_dial = nd;
        }
    }
    ent__peers_join_closed(c, reason);
    ent__witness_closed(c);
    if (c->has_org && c->open) {
        bool other = false;
        for (conn *d = p->conns; d != NULL && !other; d = d->next)
            other = d != c && d->open && !d->closing && d->has_org &&
                    memcmp(d->org, c->org, 32) == 0;
        if (!other)
            ent__sync_closed(p, c->org);
    }
    ent_session_set_data(s, NULL);
    conn_free(c);
}

conn *ent__peers_dial(ent_peers *p, const char *addr, const uint8_t org[32]) {
    ent_session *s = NULL;
    if (p->mgr == NULL || p->stopping)
        return NULL;
    conn *c = conn_new(p);
    if (c == NULL)
        return NULL;
    int rc = ent_session_dial(p->mgr, addr, org, &s);
    if (rc != ENT_OK) {
        ENT_INFO(p->log, "peers: dial %s: %s", addr, ent_strerror(rc));
        conn_free(c);
        return NULL;
    }
    c->s = s;
    ent_session_set_data(s, c);
    return c;
}

static void on_accept(ent_node *n, struct uv_stream_s *server, void *data) {
    ent_peers *p = data;
    if (p->mgr != NULL && !p->stopping)
        ent_session_mgr_accept(p->mgr, server);
}

/* ---- timer: back-pressure, rate, pings, anti-entropy, dialling ------------- */

static bool connected_any(ent_peers *p, const uint8_t org[32]) {
    for (conn *c = p->conns; c != NULL; c = c->next)
        if (c->has_org && memcmp(c->org, org, 32) == 0 && !c->closing)
            return true;
    return false;
}

static void dial_known(ent_peers *p, uint64_t now) {
    for (size_t i = 0; i < p->npeers; i++) {
        peer_ent *e = &p->peers[i];
        if (e->dialling || e->naddrs == 0 || now < e->next_dial ||
            connected_any(p, e->org))
            continue;
        if (!shares_any(p, e->org))
            continue;
        const char *addr = e->addrs[e->failures % e->naddrs];
        conn *c = ent__peers_dial(p, addr, e->org);
        if (c == NULL) {
            e->failures++;
            e->next_dial = now + backoff(p, e->failures);
            continue;
        }
        memcpy(c->org, e->org, 32);
        c->has_org = true;
        c->for_peer = true;
        e->dialling = true;
    }
}

static void on_tick(uv_timer_t *t) {
    ent_peers *p = t->data;
    uint64_t now = uv_now(p->loop);
    for (conn *c = p->conns, *nx; c != NULL; c = nx) {
        nx = c->next;
        if (!c->open || c->closing)
            continue;
        if (c->read_stopped) {
            c->tokens += (int64_t)(now - c->tokens_at) * ops_rate();
            c->tokens_at = now;
            if (c->tokens >= 0) {
                c->read_stopped = false;
                ent_session_read_start(c->s);
            }
        }
        if (now - c->last_rx > p->keepalive_ms &&
            c->pings < ENT_WIRE_PEER_MAX_PINGS &&
            now - c->last_rx > (uint64_t)p->keepalive_ms *
                                   (c->pings + 1)) {
            ent_wire_msg m;
            memset(&m, 0, sizeof(m));
            m.type = ENT_WIRE_PING;
            ent_random(m.u.nonce, sizeof(m.u.nonce));
            c->pings++;
            ent__peers_send(c, &m);
        }
        if (c->got_hello && c->known && now - c->last_have >= p->sync_ms)
            send_haves(c);
        pump(c);
    }
    if (now - p->last_dial_scan >= 200 || p->last_dial_scan == 0) {
        p->last_dial_scan = now;
        dial_known(p, now);
    }
    ent__peers_joins_tick(p, now);
    ent__sync_tick(p, now);
    ent__witness_tick(p, now);
}

/* ---- gossip transport (node/gossip.h) over the sessions ---------------------- */

static conn *conn_of(ent_peers *p, const uint8_t org[32]) {
    for (conn *c = p->conns; c != NULL; c = c->next)
        if (c->open && !c->closing && c->has_org && c->got_hello &&
            memcmp(c->org, org, 32) == 0)
            return c;
    return NULL;
}

static int gossip_send(void *data, const uint8_t org[32],
                       const ent_wire_msg *m) {
    conn *c = conn_of(data, org);
    return c != NULL ? ent__peers_send(c, m) : ENT_ECLOSED;
}

/* Distinct orgs with an open session (guests too: gossip checks that each
 * is an active member of the object before it sends anything). */
static size_t gossip_peers(void *data, uint8_t (*out)[32], size_t cap) {
    ent_peers *p = data;
    size_t n = 0;
    for (conn *c = p->conns; c != NULL && n < cap; c = c->next) {
        if (!c->open || c->closing || !c->has_org || !c->got_hello)
            continue;
        bool dup = false;
        for (size_t i = 0; i < n && !dup; i++)
            dup = memcmp(out[i], c->org, 32) == 0;
        if (!dup)
            memcpy(out[n++], c->org, 32);
    }
    return n;
}

static int gossip_catch_up(void *data, const uint8_t org[32],
                           const uint8_t obj[32], const uint8_t *vv,
                           size_t n_vv) {
    conn *c = conn_of(data, org);
    if (c == NULL)
        return ENT_ECLOSED;
    int rc = ent__peers_job_add(c, obj, vv ? vv : (const uint8_t *)"", n_vv,
                                NULL);
    return rc == ENT_ELIMIT ? ENT_OK : rc; /* the next round retries */
}

/* ---- life cycle -------------------------------------------------------------- */

int ent_peers_new(ent_peers **out, ent_node *n) {
    *out = NULL;
    ent_peers *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return ENT_ENOMEM;
    p->node = n;
    p->eng = ent_node_objects(n);
    p->store = ent_node_store(n);
    p->log = ent_node_log(n);
    p->id = ent_node_identity(n);
    p->loop = ent_node_loop(n);
    p->dial_base_ms = env_ms("ENTENTE_DIAL_BASE_MS", ENT_PEERS_DIAL_BASE_MS);
    p->sync_ms = env_ms("ENTENTE_SYNC_MS", ENT_PEERS_SYNC_MS);
    p->keepalive_ms = env_ms("ENTENTE_KEEPALIVE_MS", ENT_WIRE_PING_INTERVAL_MS);
    ent_gossip_config gc = {.store = p->store,
                            .eng = p->eng,
                            .id = p->id,
                            .log = p->log,
                            .tr = {.send = gossip_send,
                                   .peers = gossip_peers,
                                   .catch_up = gossip_catch_up,
                                   .data = p},
                            .loop = p->loop};
    if (ent_gossip_new(&p->gossip, &gc) != ENT_OK) {
        ent_peers_free(p);
        return ENT_ENOMEM;
    }
    int rc = ent_store_read(p->store, load_fn, p);
    if (rc != ENT_OK) {
        ent_peers_free(p);
        return rc;
    }
    *out = p;
    return ENT_OK;
}

int ent_peers_start(ent_peers *p) {
    ent_session_callbacks cb = {authorize, established, on_message, closed};
    if (p->started)
        return ENT_EINVAL;
    int rc = ent_session_mgr_new(&p->mgr, p->loop, p->id, p->log, &cb, p);
    if (rc != ENT_OK)
        return rc;
    uv_timer_init(p->loop, &p->tick);
    p->tick.data = p;
    p->started = true;
    uv_timer_start(&p->tick, on_tick, ENT_PEERS_TICK_MS, ENT_PEERS_TICK_MS);
    ent_node_set_peer_accept_cb(p->node, on_accept, p);
    ent_node_set_op_cb(p->node, on_local_op, p);
    return ENT_OK;
}

static void stop_one(ent_peers *p) {
    if (--p->pending > 0)
        return;
    if (p->stop_cb != NULL) {
        void (*cb)(void *) = p->stop_cb;
        p->stop_cb = NULL;
        cb(p->stop_data);
    }
}

static void mgr_closed(ent_session_mgr *m, void *data) {
    ent_peers *p = data;
    p->mgr = NULL;
    stop_one(p);
}

static void tick_closed(uv_handle_t *h) {
    stop_one(h->data);
}

static void verifier_drained(void *data) {
    stop_one(data);
}

void ent_peers_stop(ent_peers *p, void (*cb)(void *data), void *data) {
    if (p == NULL || p->stopping) {
        return;
    }
    p->stopping = true;
    ent_node_set_op_cb(p->node, NULL, NULL);
    ent_node_set_peer_accept_cb(p->node, NULL, NULL);
    if (!p->started) {
        if (cb != NULL)
            cb(data);
        return;
    }
    p->stop_cb = cb;
    p->stop_data = data;
    p->pending = 4; /* tick, session manager, verifier, this call */
    uv_close((uv_handle_t *)&p->tick, tick_closed);
    for (conn *c = p->conns; c != NULL; c = c->next) {
        if (c->open && !c->closing) {
            ent_wire_msg m;
            memset(&m, 0, sizeof(m));
            m.type = ENT_WIRE_GOODBYE;
            m.u.error.code = ENT_WIRE_C_SHUTDOWN;
            ent__peers_send(c, &m);
        }
    }
    ent_session_mgr_close(p->mgr, mgr_closed, p);
    /* batches in the thread pool are applied before the node stops */
    ent_verifier_drain(ent_gossip_verifier(p->gossip), verifier_drained, p);
    stop_one(p);
}

void ent_peers_free(ent_peers *p) {
    if (p == NULL)
        return;
    while (p->conns != NULL)
        conn_free(p->conns);
    ent__peers_joins_free(p);
    ent__witness_free(p);
    ent_gossip_free(p->gossip);
    free(p->peers);
    free(p);
}

void ent_peers_stats_get(const ent_peers *p, ent_peers_stats *out) {
    *out = p->stats;
}

size_t ent_peers_connected(const ent_peers *p, const uint8_t org[ENT_PK_LEN]) {
    size_t n = 0;
    for (const conn *c = p->conns; c != NULL; c = c->next)
        if (c->open && !c->closing && c->has_org &&
            memcmp(c->org, org, 32) == 0)
            n++;
    return n;
}

/* ---- GET /v1/peers -------------------------------------------------------------- */

int ent_peers_list_json(ent_peers *p, json_t **out) {
    json_t *arr = json_array();
    if (arr == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < p->npeers; i++) {
        const peer_ent *e = &p->peers[i];
        char org[ENT_ORG_ID_LEN + 1], safety[ENT_SAFETY_CODE_LEN + 1];
        ent_org_id_format(org, e->org);
        ent_safety_code(ent_identity_public(p->id), e->org, safety);
        json_t *addrs = json_array();
        for (size_t k = 0; addrs != NULL && k < e->naddrs; k++)
            json_array_append_new(addrs, json_string(e->addrs[k]));
        json_t *o = json_pack("{s:s,s:s,s:o,s:b,s:s,s:I,s:I,s:I}", "org", org,
                              "name",
                              e->name, "addrs", addrs ? addrs : json_array(),
                              "connected", ent_peers_connected(p, e->org) > 0,
                              "safety", safety, "last_seen",
                              (json_int_t)(e->last_seen / 1000), "failures",
                              (json_int_t)e->failures, "score",
                              (json_int_t)e->score);
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return ENT_ENOMEM;
        }
    }
    *out = arr;
    return ENT_OK;
}
