/*
 * gossip.c - digest anti-entropy, version-vector repair and bounded-fanout
 * push; see gossip.h and spec/gossip.md.
 */
#include "node/bytes.h"
#include "node/peers/gossip.h"
#include "node/peers/gossip_int.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/growbuf.h"
#include "node/peers/verify.h"
#include "storage/op_index.h"

#define SET_CTX "entente/v1/gossip-set"

static int ensure_fn(ent_txn *txn, void *data) {
    return ent_setdig_ensure(txn, data);
}

int ent_gossip_new(ent_gossip **out, const ent_gossip_config *cfg) {
    *out = NULL;
    if (cfg == NULL || cfg->store == NULL || cfg->eng == NULL ||
        cfg->id == NULL || cfg->tr.send == NULL || cfg->tr.peers == NULL)
        return ENT_EINVAL;
    /* the fingerprints of a store made before them (spec/gossip.md §13) */
    int brc = ent_store_write(cfg->store, ensure_fn,
                              (void *)ent_identity_public(cfg->id));
    if (brc != ENT_OK)
        return brc;
    ent_gossip *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return ENT_ENOMEM;
    g->cfg = *cfg;
    g->fanout = cfg->fanout ? cfg->fanout : ENT_GOSSIP_FANOUT;
    if (cfg->loop != NULL) {
        int rc = ent_verifier_new(&g->verifier, cfg->loop, cfg->verify_jobs);
        if (rc != ENT_OK) {
            free(g);
            return rc;
        }
    }
    *out = g;
    return ENT_OK;
}

void ent_gossip_free(ent_gossip *g) {
    if (g == NULL)
        return;
    ent_verifier_free(g->verifier);
    free(g);
}

ent_verifier *ent_gossip_verifier(ent_gossip *g) {
    return g != NULL ? g->verifier : NULL;
}

void ent_gossip_stats_get(const ent_gossip *g, ent_gossip_stats *out) {
    *out = g->stats;
}

static uint32_t rnd(ent_gossip *g) {
    if (g->cfg.tr.random != NULL)
        return g->cfg.tr.random(g->cfg.tr.data);
    uint32_t r;
    ent_random(&r, sizeof(r));
    return r;
}

static int send_msg(ent_gossip *g, const uint8_t org[32],
                    const ent_wire_msg *m) {
    return g->cfg.tr.send(g->cfg.tr.data, org, m);
}

int ent__gossip_send(ent_gossip *g, const uint8_t org[32],
                     const ent_wire_msg *m) {
    return send_msg(g, org, m);
}

/* ---- membership (spec/storage.md: objects, members) ---------------------- */

static bool active_in(ent_txn *txn, const uint8_t *obj, const uint8_t *org) {
    uint8_t k[64];
    const void *v;
    size_t n;
    memcpy(k, obj, 32);
    memcpy(k + 32, org, 32);
    return ent_txn_get(txn, ENT_TBL_MEMBERS, k, 64, &v, &n) == ENT_OK &&
           n == 2 && ((const uint8_t *)v)[1] == 1;
}

static bool obj_active(ent_txn *txn, const uint8_t *obj, const uint8_t *self) {
    const void *v;
    size_t n;
    if (ent_txn_get(txn, ENT_TBL_OBJECTS, obj, 32, &v, &n) != ENT_OK ||
        n < 2 || ((const uint8_t *)v)[1] != 0)
        return false;
    return active_in(txn, obj, self);
}

typedef struct held_q {
    const uint8_t *obj;
    bool held;
} held_q;

static int held_fn(ent_txn *txn, void *data) {
    held_q *q = data;
    const void *v;
    size_t n;
    q->held = ent_txn_get(txn, ENT_TBL_OBJECTS, q->obj, 32, &v, &n) == ENT_OK;
    return ENT_OK;
}

bool ent__gossip_holds(ent_gossip *g, const uint8_t obj[32]) {
    held_q q = {.obj = obj};
    ent_store_read(g->cfg.store, held_fn, &q);
    return q.held;
}

typedef struct pair_q {
    const uint8_t *obj, *org, *self;
    bool ok;
} pair_q;

static int pair_fn(ent_txn *txn, void *data) {
    pair_q *q = data;
    q->ok = obj_active(txn, q->obj, q->self) && active_in(txn, q->obj, q->org);
    return ENT_OK;
}

static int self_fn(ent_txn *txn, void *data) {
    pair_q *q = data;
    q->ok = obj_active(txn, q->obj, q->self);
    return ENT_OK;
}

/* True if we hold obj and are an active member. */
static bool self_active(ent_gossip *g, const uint8_t obj[32]) {
    pair_q q = {.obj = obj, .self = ent_identity_public(g->cfg.id)};
    ent_store_read(g->cfg.store, self_fn, &q);
    return q.ok;
}

/* True if we hold obj, are an active member, and org is one too. */
static bool shared_with(ent_gossip *g, const uint8_t obj[32],
                        const uint8_t org[32]) {
    pair_q q = {.obj = obj, .org = org,
                .self = ent_identity_public(g->cfg.id)};
    ent_store_read(g->cfg.store, pair_fn, &q);
    return q.ok;
}

/* ---- digests ------------------------------------------------------------- */

/* The object digest inside txn (zeros when no head is stored). */
static int obj_digest_txn(ent_txn *txn, const uint8_t obj[32],
                          uint8_t out[32]) {
    return ent_setdig_object_digest(txn, obj, out);
}

typedef struct dig_q {
    const uint8_t *obj;
    uint8_t *out;
} dig_q;

static int dig_fn(ent_txn *txn, void *data) {
    dig_q *q = data;
    return obj_digest_txn(txn, q->obj, q->out);
}

int ent_gossip_object_digest(ent_gossip *g, const uint8_t obj[32],
                             uint8_t out[32]) {
    dig_q q = {.obj = obj, .out = out};
    return ent_store_read(g->cfg.store, dig_fn, &q);
}

/* The list of (object id || object digest) shared with org, in id order. */
typedef struct list_ctx {
    const uint8_t *org, *self;
    ent_txn *txn;
    ent_growbuf b;
    size_t n;
} list_ctx;

static int list_scan(void *data, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    list_ctx *c = data;
    const uint8_t *v = val;
    uint8_t d[32];
    if (klen != 32 || vlen < 2 || v[1] != 0)
        return 0;
    if (!active_in(c->txn, key, c->self) || !active_in(c->txn, key, c->org))
        return 0;
    int rc = obj_digest_txn(c->txn, key, d);
    if (rc != ENT_OK)
        return rc;
    ent_growbuf_add(&c->b, key, 32);
    ent_growbuf_add(&c->b, d, 32);
    c->n++;
    return c->b.err;
}

static int list_fn(ent_txn *txn, void *data) {
    list_ctx *c = data;
    c->txn = txn;
    c->b.n = 0;
    c->n = 0;
    return ent_txn_scan(txn, ENT_TBL_OBJECTS, NULL, 0, list_scan, c);
}

/* *out (malloc'ed, n * 64 bytes, may be NULL when n is 0): the caller
 * frees it. */
static int shared_list(ent_gossip *g, const uint8_t org[32], uint8_t **out,
                       size_t *n) {
    list_ctx c = {.org = org, .self = ent_identity_public(g->cfg.id)};
    int rc = ent_store_read(g->cfg.store, list_fn, &c);
    if (rc != ENT_OK) {
        free(c.b.p);
        *out = NULL;
        *n = 0;
        return rc;
    }
    *out = c.b.p;
    *n = c.n;
    return ENT_OK;
}

/*
 * The set digest shared with org, from the cache while the store's
 * generation is the one it was computed at (spec/gossip.md "Digest cache"):
 * the generation is read before the scan, so a write racing it only makes
 * the entry older than it is, never newer.
 */
int ent_gossip_set_digest(ent_gossip *g, const uint8_t org[32],
                          uint8_t out[32], uint64_t *nobjects) {
    uint64_t gen = 0;
    set_cache *e = &g->cache[ent_be64_get(org) % ENT_GOSSIP_DIGEST_CACHE];
    int rc = ent_store_generation(g->cfg.store, &gen);
    if (rc == ENT_OK && e->used && e->gen == gen &&
        memcmp(e->org, org, 32) == 0) {
        memcpy(out, e->digest, 32);
        if (nobjects != NULL)
            *nobjects = e->nobjects;
        return ENT_OK;
    }
    uint8_t *list = NULL;
    size_t n = 0;
    if (rc == ENT_OK)
        rc = shared_list(g, org, &list, &n);
    if (rc == ENT_OK) {
        ent_hash2(out, SET_CTX, sizeof(SET_CTX) - 1, list, n * 64);
        g->stats.digest_computed++;
        memcpy(e->org, org, 32);
        memcpy(e->digest, out, 32);
        e->gen = gen;
        e->nobjects = n;
        e->used = true;
    }
    if (nobjects != NULL)
        *nobjects = rc == ENT_OK ? n : 0;
    free(list);
    return rc;
}

int ent_gossip_round(ent_gossip *g, const uint8_t org[32]) {
    ent_wire_msg m;
    ent_setfp fp;
    int rc;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_DIGEST;
    if (ent__gossip_recon(g, org)) { /* one read (spec/gossip.md §13) */
        rc = ent_gossip_set_fp(g, org, &fp);
        memcpy(m.u.digest.digest, fp.sum, 32);
        m.u.digest.nobjects = fp.count;
    } else {
        rc = ent_gossip_set_digest(g, org, m.u.digest.digest,
                                   &m.u.digest.nobjects);
    }
    if (rc != ENT_OK)
        return rc;
    if (m.u.digest.nobjects == 0)
        return ENT_ENOENT;
    g->stats.rounds++;
    return send_msg(g, org, &m);
}

/* DIGEST from org: equal ends the round, else our per-object list. */
static int on_digest(ent_gossip *g, const uint8_t org[32],
                     const ent_wire_digest *d) {
    uint8_t *list = NULL;
    size_t n = 0;
    uint8_t mine[32];
    bool equal = false;
    int rc;
    if (ent__gossip_recon(g, org)) {
        rc = ent__gossip_recon_digest(g, org, d, &equal);
        if (rc != ENT_OK || !equal)
            goto out; /* RANGES sent */
    } else if ((rc = ent_gossip_set_digest(g, org, mine, NULL)) != ENT_OK) {
        goto out;
    } else {
        equal = ent_memeq(mine, d->digest, 32);
    }
    if (equal) {
        g->stats.in_sync++;
        if (g->cfg.in_sync != NULL)
            g->cfg.in_sync(g, org, g->cfg.in_sync_data);
        goto out;
    }
    /* they differ: the listing itself is O(objects), and sent whole */
    rc = shared_list(g, org, &list, &n);
    if (rc != ENT_OK)
        goto out;
    size_t i = 0;
    do { /* an empty listing is sent too: "I share nothing with you" */
        ent_wire_msg m;
        size_t k = n - i < ENT_WIRE_MAX_DIGESTS ? n - i : ENT_WIRE_MAX_DIGESTS;
        memset(&m, 0, sizeof(m));
        m.type = ENT_WIRE_DIGESTS;
        m.u.digests.total = n;
        m.u.digests.n = k;
        m.u.digests.entries = k ? (uint8_t(*)[64])(list + i * 64) : NULL;
        g->stats.digests_sent++;
        rc = send_msg(g, org, &m);
        i += k;
    } while (i < n && rc == ENT_OK);
out:
    free(list);
    return rc;
}

static int entry_cmp(const void *a, const void *b) {
    return memcmp(a, b, 32);
}

/*
 * DIGESTS from org: a VV asking for a reply for every listed object whose
 * digest differs from ours (or that we do not hold), and, when the listing
 * is complete, for every object we share with org that it left out.
 */
static int on_digests(ent_gossip *g, const uint8_t org[32],
                      const ent_wire_digests *d) {
    uint8_t *list = NULL;
    size_t n = 0;
    int rc = ENT_OK;
    for (size_t i = 1; i < d->n; i++)
        if (memcmp(d->entries[i - 1], d->entries[i], 32) >= 0)
            return ENT_EPROTO; /* must be sorted and distinct */
    rc = shared_list(g, org, &list, &n);
    if (rc != ENT_OK)
        goto out;
    for (size_t i = 0; i < d->n && rc == ENT_OK; i++) {
        const uint8_t *e = d->entries[i];
        const uint8_t *mine = bsearch(e, list, n, 64, entry_cmp);
        if (mine != NULL && memcmp(mine + 32, e + 32, 32) == 0)
            continue;
        if (mine == NULL && ent__gossip_holds(g, e))
            continue; /* held but not shared with org in our view */
        rc = ent_gossip_send_vv(g, org, e, ENT_WIRE_VV_REPLY);
    }
    if (d->total == d->n) {
        for (size_t i = 0; i < n && rc == ENT_OK; i++) {
            const uint8_t *mine = list + i * 64;
            if (d->n == 0 || bsearch(mine, d->entries, d->n, 64,
                                     entry_cmp) == NULL)
                rc = ent_gossip_send_vv(g, org, mine, ENT_WIRE_VV_REPLY);
        }
    }
out:
    free(list);
    return rc;
}

/* ---- version vectors ----------------------------------------------------- */

typedef struct vv_ctx {
    uint8_t *buf;  /* ENT_WIRE_MAX_VV entries */
    uint8_t *tips; /* as many op ids */
    size_t n;
    bool full;
    const void *last; /* the encoding of the last entry's op (in the txn) */
    size_t lastlen;
} vv_ctx;

/* The tip of entry n - 1: the id of the first version of its op. */
static void vv_tip(vv_ctx *c) {
    if (c->n > 0 && c->last != NULL && ent_op_is_stub(c->last, c->lastlen))
        memcpy(c->tips + (c->n - 1) * 32, (const uint8_t *)c->last + 1,
               32); /* an erased op: its stub keeps its id */
    else if (c->n > 0 && c->last != NULL)
        ent_hash(c->tips + (c->n - 1) * 32, c->last, c->lastlen);
    c->last = NULL;
}

static int vv_scan(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    vv_ctx *c = data;
    const uint8_t *k = key;
    if (klen != 72)
        return 0; /* a fork's second version: its seq is counted already */
    if (c->n > 0 && memcmp(c->buf + (c->n - 1) * 40, k + 32, 32) == 0) {
        memcpy(c->buf + (c->n - 1) * 40 + 32, k + 64, 8);
        c->last = val;
        c->lastlen = vlen;
        return 0;
    }
    vv_tip(c);
    if (c->n == ENT_WIRE_MAX_VV) {
        c->full = true;
        return 1;
    }
    memcpy(c->buf + c->n * 40, k + 32, 40);
    c->n++;
    c->last = val;
    c->lastlen = vlen;
    return 0;
}

typedef struct vv_read {
    const uint8_t *obj;
    vv_ctx c;
} vv_read;

static int vv_fn(ent_txn *txn, void *data) {
    vv_read *r = data;
    r->c.n = 0;
    r->c.full = false;
    r->c.last = NULL;
    int rc = ent_txn_scan(txn, ENT_TBL_OPS, r->obj, 32, vv_scan, &r->c);
    if (rc == ENT_OK)
        vv_tip(&r->c);
    return rc;
}

int ent_gossip_send_vv(ent_gossip *g, const uint8_t org[32],
                       const uint8_t obj[32], uint32_t flags) {
    uint8_t *buf = malloc(ENT_WIRE_MAX_VV * ENT_WIRE_VV_ENTRY);
    uint8_t *tips = malloc(ENT_WIRE_MAX_VV * 32);
    int rc = ENT_ENOMEM;
    if (buf == NULL || tips == NULL)
        goto out;
    vv_read r = {.obj = obj, .c = {.buf = buf, .tips = tips}};
    rc = ent_store_read(g->cfg.store, vv_fn, &r);
    if (rc == ENT_OK) {
        ent_wire_msg m;
        memset(&m, 0, sizeof(m));
        m.type = ENT_WIRE_VV;
        memcpy(m.u.vv.object, obj, 32);
        m.u.vv.bytes = r.c.n ? buf : NULL;
        m.u.vv.len = r.c.n * ENT_WIRE_VV_ENTRY;
        m.u.vv.flags = flags;
        m.u.vv.has_tips = true;
        m.u.vv.tips = r.c.n ? tips : NULL;
        g->stats.vv_sent++;
        rc = send_msg(g, org, &m);
    }
out:
    free(buf);
    free(tips);
    return rc;
}

/*
 * Forks (spec/gossip.md §3): a peer's vector says "up to seq s of author
 * X", but X may have signed two versions of a seq, and the peer may hold
 * the other one. So for each author of the peer's vector, the seq from
 * which we send is lowered to what precedes a fork:
 *  - we know a fork of X at seq f <= s (equivocations table): from f, so
 *    that the peer gets every version we hold;
 *  - the peer's tip (its op at s) is not an op we applied while we hold X
 *    up to s or beyond: its chain and ours differ somewhere at or below s,
 *    so from 1.
 * out (n entries of 40 bytes) starts as a copy of vv.
 */
typedef struct fork_q {
    const uint8_t *obj, *tips;
    uint8_t *vv;
    size_t n;
    uint64_t lowered; /* entries lowered */
} fork_q;

static int first_seq(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    if (klen >= 72)
        *(uint64_t *)data = ent_be64_get((const uint8_t *)key + 64);
    return 1;
}

static int fork_fn(ent_txn *txn, void *data) {
    fork_q *q = data;
    uint8_t pre[64];
    memcpy(pre, q->obj, 32);
    for (size_t i = 0; i < q->n; i++) {
        uint8_t *e = q->vv + i * 40;
        uint64_t theirs = ent_be64_get(e + 32), from = theirs + 1, f = 0,
                 mine = 0;
        const void *v;
        size_t vl;
        memcpy(pre + 32, e, 32);
        int rc = ent_txn_scan(txn, ENT_TBL_EQUIV, pre, 64, first_seq, &f);
        if (rc != ENT_OK)
            return rc;
        if (f != 0 && f <= theirs)
            from = f;
        if (q->tips != NULL && theirs > 0 &&
            ent_op_index_get(txn, q->tips + i * 32, &v, &vl) != ENT_OK) {
            if ((rc = ent_txn_scan_reverse(txn, ENT_TBL_OPS, pre, 64,
                                           first_seq, &mine)) != ENT_OK)
                return rc;
            if (mine >= theirs)
                from = 1;
        }
        if (from <= theirs) {
            ent_be64_put(e + 32, from - 1);
            q->lowered++;
        }
    }
    return ENT_OK;
}

/* out: a malloc'ed copy of vv (n entries) lowered for forks, or NULL when
 * n is 0. */
static int fork_adjust(ent_gossip *g, const uint8_t obj[32],
                       const ent_wire_vv *v, uint8_t **out) {
    size_t n = v->len / ENT_WIRE_VV_ENTRY;
    *out = NULL;
    if (n == 0)
        return ENT_OK;
    if ((*out = malloc(v->len)) == NULL)
        return ENT_ENOMEM;
    memcpy(*out, v->bytes, v->len);
    fork_q q = {.obj = obj, .tips = v->has_tips ? v->tips : NULL,
                .vv = *out, .n = n};
    int rc = ent_store_read(g->cfg.store, fork_fn, &q);
    if (rc == ENT_OK && q.lowered > 0)
        g->stats.vv_forks += q.lowered;
    if (rc != ENT_OK) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

typedef struct job_build {
    const uint8_t *obj;
    const uint8_t *vv;
    size_t n_vv;
    ent_gossip_key *keys;
    size_t n, cap;
} job_build;

static int vv_cmp(const void *a, const void *b) {
    return memcmp(a, b, 32);
}

/* The peer's seq for author (0: none). vv is sorted by author when it
 * comes from a VV we checked; HAVE vectors may not be, so scan those. */
static uint64_t vv_seq(const job_build *b, const uint8_t *author) {
    const uint8_t *e = bsearch(author, b->vv, b->n_vv, 40, vv_cmp);
    if (e != NULL)
        return ent_be64_get(e + 32);
    for (size_t i = 0; i < b->n_vv; i++)
        if (memcmp(b->vv + i * 40, author, 32) == 0)
            return ent_be64_get(b->vv + i * 40 + 32);
    return 0;
}

static int job_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    job_build *b = data;
    const uint8_t *k = key;
    if (klen != 72 && klen != 104) /* 104: a fork's second version */
        return 0;
    uint64_t seq = ent_be64_get(k + 64);
    if (b->vv != NULL && seq <= vv_seq(b, k + 32))
        return 0;
    ent_op *op = NULL;
    if (ent_op_decode(&op, val, vlen) != ENT_OK)
        return 0;
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 64;
        ent_gossip_key *nv = realloc(b->keys, nc * sizeof(*nv));
        if (nv == NULL) {
            ent_op_free(op);
            return ENT_ENOMEM;
        }
        b->keys = nv;
        b->cap = nc;
    }
    ent_gossip_key *sk = &b->keys[b->n++];
    sk->hlc = op->h.hlc;
    memcpy(sk->author, k + 32, 32);
    sk->seq = seq;
    sk->is_fork = klen == 104;
    if (sk->is_fork)
        memcpy(sk->fork, k + 72, 32);
    ent_op_free(op);
    return 0;
}

typedef struct job_author {
    job_build *b;
    const uint8_t *prefix; /* obj || author */
    uint8_t first[72];     /* job_first: the first op key found */
    bool found;
} job_author;

/* The first op key at or after the scan's start under the object. */
static int job_first(void *data, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    job_author *a = data;
    (void)val, (void)vlen;
    if (klen < 32 || memcmp(key, a->b->obj, 32) != 0)
        return 1;
    if (klen != 72 && klen != 104)
        return 0;
    memcpy(a->first, key, 72);
    a->found = true;
    return 1;
}

/* job_scan while the keys are one author's. */
static int job_scan_author(void *data, const void *key, size_t klen,
                           const void *val, size_t vlen) {
    job_author *a = data;
    if (klen < 64 || memcmp(key, a->prefix, 64) != 0)
        return 1;
    return job_scan(a->b, key, klen, val, vlen);
}

/*
 * With a vector, each author's rows are read from the first seq the peer
 * lacks (a seek per author of the object): O(authors x log n + gap), not a
 * walk of every op of the object. Without one, everything.
 */
static int job_build_fn(ent_txn *txn, void *data) {
    job_build *b = data;
    b->n = 0;
    if (b->vv == NULL || b->n_vv == 0)
        return ent_txn_scan(txn, ENT_TBL_OPS, b->obj, 32, job_scan, b);
    uint8_t start[104];
    size_t slen = 32;
    memcpy(start, b->obj, 32);
    for (;;) {
        job_author a = {.b = b};
        int rc = ent_txn_scan_from(txn, ENT_TBL_OPS, start, slen, job_first,
                                   &a);
        if (rc != ENT_OK || !a.found)
            return rc;
        uint64_t have = vv_seq(b, a.first + 32);
        if (have < UINT64_MAX) {
            uint8_t seek[72];
            memcpy(seek, a.first, 64);
            ent_be64_put(seek + 64, have + 1);
            a.prefix = a.first;
            rc = ent_txn_scan_from(txn, ENT_TBL_OPS, seek, sizeof(seek),
                                   job_scan_author, &a);
            if (rc != ENT_OK)
                return rc;
        }
        /* past every key of this author: obj || author || ff x 40 */
        memcpy(start, a.first, 64);
        memset(start + 64, 0xff, 40);
        slen = 104;
    }
}

static int key_cmp(const void *a, const void *b) {
    const ent_gossip_key *x = a, *y = b;
    if (x->hlc != y->hlc)
        return x->hlc < y->hlc ? -1 : 1;
    int c = memcmp(x->author, y->author, 32);
    if (c != 0)
        return c;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    if (x->is_fork != y->is_fork)
        return x->is_fork ? 1 : -1;
    return memcmp(x->fork, y->fork, 32);
}

size_t ent_gossip_key_ops(const ent_gossip_key *k, const uint8_t obj[32],
                          uint8_t out[104]) {
    memcpy(out, obj, 32);
    memcpy(out + 32, k->author, 32);
    ent_be64_put(out + 64, k->seq);
    if (!k->is_fork)
        return 72;
    memcpy(out + 72, k->fork, 32);
    return 104;
}

int ent_gossip_missing(ent_gossip *g, const uint8_t obj[32],
                       const uint8_t *vv, size_t n_vv, ent_gossip_key **keys,
                       size_t *n) {
    job_build b = {.obj = obj, .vv = vv, .n_vv = vv ? n_vv : 0};
    *keys = NULL;
    *n = 0;
    int rc = ent_store_read(g->cfg.store, job_build_fn, &b);
    if (rc != ENT_OK || b.n == 0) {
        free(b.keys);
        return rc;
    }
    /* HLC order is a causal order: every op's HLC exceeds its parents'. */
    qsort(b.keys, b.n, sizeof(*b.keys), key_cmp);
    *keys = b.keys;
    *n = b.n;
    return ENT_OK;
}

/* ---- a history read a window at a time ---------------------------------- */

/* One author's cursor: head is its next op to hand out. */
typedef struct hist_author {
    ent_gossip_key head;
    uint8_t key[104]; /* head's ops key */
    size_t klen;
    bool done;
} hist_author;

struct ent_gossip_hist {
    uint8_t obj[32];
    hist_author *a;
    size_t n, cap;
};

typedef struct hist_step {
    const uint8_t *prefix; /* obj (32) or obj || author (64) */
    size_t plen;
    hist_author *out;
    bool found;
} hist_step;

/* The first op at or after the scan's start under prefix that is not a
 * stub and decodes: out->head, out->key. */
static int hist_scan(void *data, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    hist_step *st = data;
    if (klen < st->plen || memcmp(key, st->prefix, st->plen) != 0)
        return 1; /* past the prefix */
    if (klen != 72 && klen != 104)
        return 0;
    ent_op *op = NULL;
    if (ent_op_is_stub(val, vlen) || ent_op_decode(&op, val, vlen) != ENT_OK)
        return 0;
    const uint8_t *k = key;
    hist_author *h = st->out;
    memset(&h->head, 0, sizeof(h->head));
    h->head.hlc = op->h.hlc;
    memcpy(h->head.author, k + 32, 32);
    h->head.seq = ent_be64_get(k + 64);
    h->head.is_fork = klen == 104;
    if (h->head.is_fork)
        memcpy(h->head.fork, k + 72, 32);
    memcpy(h->key, key, klen);
    h->klen = klen;
    ent_op_free(op);
    st->found = true;
    return 1;
}

/* The last key under obj || author: its seq (0: none). */
static int hist_last(void *data, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    (void)val, (void)vlen;
    if (klen == 72 || klen == 104)
        *(uint64_t *)data = ent_be64_get((const uint8_t *)key + 64);
    return 1;
}

/* Counts the op records under obj that are not stubs: JOIN_OK's count,
 * the records the history hands out. A walk of the keys, no decoding. */
static int hist_count(void *data, const void *key, size_t klen,
                      const void *val, size_t vlen) {
    (void)key, (void)klen;
    if (!ent_op_is_stub(val, vlen))
        (*(uint64_t *)data)++;
    return 0;
}

/* Moves a's cursor to its author's next op after the current one. */
static int hist_advance(ent_txn *txn, const uint8_t obj[32], hist_author *a) {
    uint8_t start[105], prefix[64];
    memcpy(start, a->key, a->klen);
    start[a->klen] = 0; /* the smallest key after a->key */
    memcpy(prefix, obj, 32);
    memcpy(prefix + 32, a->head.author, 32);
    hist_step st = {.prefix = prefix, .plen = 64, .out = a};
    int rc = ent_txn_scan_from(txn, ENT_TBL_OPS, start, a->klen + 1,
                               hist_scan, &st);
    if (rc == ENT_OK && !st.found)
        a->done = true;
    return rc;
}

typedef struct hist_open_ctx {
    ent_gossip_hist *h;
    uint64_t total;
} hist_open_ctx;

static int hist_open_fn(ent_txn *txn, void *data) {
    hist_open_ctx *c = data;
    ent_gossip_hist *h = c->h;
    uint8_t start[104];
    size_t slen = 32;
    memcpy(start, h->obj, 32);
    bool walk = false;
    c->total = 0;
    h->n = 0;
    /* JOIN_OK's count: the sum of each author's last seq when that is
     * exact (two seeks per author), else a walk of the rows */
    int rc = ent_obj_ops_irregular(txn, h->obj, &walk);
    if (rc != ENT_OK)
        return rc;
    for (;;) {
        if (h->n == h->cap) {
            size_t nc = h->cap ? h->cap * 2 : 8;
            hist_author *na = realloc(h->a, nc * sizeof(*na));
            if (na == NULL)
                return ENT_ENOMEM;
            h->a = na;
            h->cap = nc;
        }
        hist_author *a = &h->a[h->n];
        memset(a, 0, sizeof(*a));
        /* the next author's first op that is not a stub */
        hist_step st = {.prefix = h->obj, .plen = 32, .out = a};
        rc = ent_txn_scan_from(txn, ENT_TBL_OPS, start, slen, hist_scan,
                                   &st);
        if (rc != ENT_OK)
            return rc;
        if (!st.found)
            break;
        /* no stub, no fork, seqs from 1: the author's rows are 1..last */
        if (!walk && a->head.seq == 1 && !a->head.is_fork) {
            uint64_t last = 0;
            rc = ent_txn_scan_reverse(txn, ENT_TBL_OPS, a->key, 64, hist_last,
                                      &last);
            if (rc != ENT_OK)
                return rc;
            c->total += last;
        } else {
            walk = true;
        }
        h->n++;
        /* past every key of this author: obj || author || ff x 40 */
        memcpy(start, a->key, 64);
        memset(start + 64, 0xff, 40);
        slen = 104;
    }
    if (!walk)
        return ENT_OK;
    c->total = 0;
    return ent_txn_scan(txn, ENT_TBL_OPS, h->obj, 32, hist_count, &c->total);
}

int ent_gossip_hist_open(ent_gossip *g, const uint8_t obj[32],
                         ent_gossip_hist **out, uint64_t *total) {
    if (out != NULL)
        *out = NULL;
    if (total != NULL)
        *total = 0;
    if (g == NULL || obj == NULL || out == NULL)
        return ENT_EINVAL;
    ent_gossip_hist *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return ENT_ENOMEM;
    memcpy(h->obj, obj, 32);
    hist_open_ctx c = {.h = h};
    int rc = ent_store_read(g->cfg.store, hist_open_fn, &c);
    if (rc != ENT_OK) {
        ent_gossip_hist_free(h);
        return rc;
    }
    if (total != NULL)
        *total = c.total;
    *out = h;
    return ENT_OK;
}

typedef struct hist_next_ctx {
    ent_gossip_hist *h;
    ent_gossip_key *keys;
    size_t max, n;
} hist_next_ctx;

static int hist_next_fn(ent_txn *txn, void *data) {
    hist_next_ctx *c = data;
    ent_gossip_hist *h = c->h;
    c->n = 0;
    while (c->n < c->max) {
        hist_author *best = NULL;
        for (size_t i = 0; i < h->n; i++)
            if (!h->a[i].done &&
                (best == NULL || key_cmp(&h->a[i].head, &best->head) < 0))
                best = &h->a[i];
        if (best == NULL)
            break;
        c->keys[c->n++] = best->head;
        int rc = hist_advance(txn, h->obj, best);
        if (rc != ENT_OK)
            return rc;
    }
    return ENT_OK;
}

int ent_gossip_hist_next(ent_gossip *g, ent_gossip_hist *h,
                         ent_gossip_key *keys, size_t max, size_t *n) {
    if (n != NULL)
        *n = 0;
    if (g == NULL || h == NULL || keys == NULL || n == NULL)
        return ENT_EINVAL;
    hist_next_ctx c = {.h = h, .keys = keys, .max = max};
    int rc = ent_store_read(g->cfg.store, hist_next_fn, &c);
    if (rc == ENT_OK)
        *n = c.n;
    return rc;
}

void ent_gossip_hist_free(ent_gossip_hist *h) {
    if (h == NULL)
        return;
    free(h->a);
    free(h);
}

typedef struct ops_send {
    ent_gossip *g;
    const uint8_t *org, *obj;
    const ent_gossip_key *keys;
    size_t n;
} ops_send;

/* Reads the ops and sends them in OPS messages of at most 256 records
 * within ENT_WIRE_MAX_MSG; a record too big for any message is skipped. */
static int ops_send_fn(ent_txn *txn, void *data) {
    ops_send *s = data;
    ent_wire_bytes batch[ENT_WIRE_MAX_OPS];
    ent_wire_msg m;
    size_t i = 0;
    int rc = ENT_OK;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_OPS;
    memcpy(m.u.ops.object, s->obj, 32);
    m.u.ops.ops = batch;
    while (i < s->n && rc == ENT_OK) {
        size_t k = 0;
        while (i < s->n && k < ENT_WIRE_MAX_OPS) {
            uint8_t key[104];
            const void *v;
            size_t vl;
            size_t kl = ent_gossip_key_ops(&s->keys[i], s->obj, key);
            rc = ent_txn_get(txn, ENT_TBL_OPS, key, kl, &v, &vl);
            if (rc == ENT_ENOENT) {
                rc = ENT_OK;
                i++;
                continue;
            }
            if (rc != ENT_OK)
                return rc;
            batch[k] = (ent_wire_bytes){v, vl};
            m.u.ops.nops = k + 1;
            size_t sz = ent_wire_encoded_size(&m);
            if (sz == 0 || sz > ENT_WIRE_MAX_MSG) {
                if (k == 0)
                    i++; /* never sendable */
                break;
            }
            k++;
            i++;
        }
        if (k == 0)
            continue;
        m.u.ops.nops = k;
        s->g->stats.ops_sent += k;
        send_msg(s->g, s->org, &m); /* a lost batch is found again */
    }
    return rc;
}

int ent_gossip_send_ops(ent_gossip *g, const uint8_t org[32],
                        const uint8_t obj[32], const ent_gossip_key *keys,
                        size_t n) {
    ops_send s = {.g = g, .org = org, .obj = obj, .keys = keys, .n = n};
    if (n == 0)
        return ENT_OK;
    return ent_store_read(g->cfg.store, ops_send_fn, &s);
}

/* Sends org what it lacks of obj according to vv (n_vv entries). */
static int catch_up(ent_gossip *g, const uint8_t org[32],
                    const uint8_t obj[32], const uint8_t *vv, size_t n_vv) {
    if (g->cfg.tr.catch_up != NULL)
        return g->cfg.tr.catch_up(g->cfg.tr.data, org, obj, vv, n_vv);
    ent_gossip_key *keys = NULL;
    size_t n = 0;
    int rc = ent_gossip_missing(g, obj, vv, n_vv, &keys, &n);
    if (rc == ENT_OK)
        rc = ent_gossip_send_ops(g, org, obj, keys, n);
    free(keys);
    return rc;
}

/*
 * org is not an active member of obj, which we share with nobody as far as
 * org goes: if org was removed from it (spec/gossip.md §11), send it the
 * ops of the past of its removal that its vector lacks (the removal
 * included), so that it learns it was removed; never anything later, and
 * never our vector. ENT_ENOENT: org was not removed, or lacks nothing.
 */
static int tell_removed(ent_gossip *g, const uint8_t org[32],
                        const ent_wire_vv *v, size_t n_vv) {
    uint8_t *rv = NULL;
    size_t rn = 0, k = 0, n = 0;
    ent_gossip_key *keys = NULL;
    /* at most once per (org, object) within ENT_GOSSIP_TELL_MS: each
     * telling reads the removal's whole past, a VV is 50 bytes (without a
     * loop, the simulator, every time) */
    uint64_t now = g->cfg.loop != NULL ? uv_now(g->cfg.loop) : 0;
    told_cache *t = &g->told[(ent_be64_get(org) ^ ent_be64_get(v->object)) %
                             ENT_GOSSIP_TOLD_CACHE];
    if (g->cfg.loop != NULL && t->used && now - t->at < ENT_GOSSIP_TELL_MS &&
        memcmp(t->org, org, 32) == 0 && memcmp(t->obj, v->object, 32) == 0) {
        g->stats.removed_repeated++;
        return ENT_OK;
    }
    int rc = ent_obj_removal_vv(g->cfg.eng, v->object, org, &rv, &rn);
    if (rc == ENT_OK) { /* org was removed: this VV is answered */
        memcpy(t->org, org, 32);
        memcpy(t->obj, v->object, 32);
        t->at = now;
        t->used = true;
        rc = ent_gossip_missing(g, v->object, v->bytes, n_vv, &keys, &n);
    }
    for (size_t i = 0; rc == ENT_OK && i < n; i++) {
        uint64_t top = 0; /* the removal's past holds seqs up to top */
        for (size_t a = 0; a < rn; a++)
            if (memcmp(rv + a * 40, keys[i].author, 32) == 0)
                top = ent_be64_get(rv + a * 40 + 32);
        if (keys[i].seq <= top)
            keys[k++] = keys[i];
    }
    if (rc == ENT_OK && k == 0)
        rc = ENT_ENOENT;
    if (rc == ENT_OK && (rc = ent_gossip_send_ops(g, org, v->object, keys,
                                                  k)) == ENT_OK)
        g->stats.removed_told++;
    free(keys);
    free(rv);
    return rc;
}

/* VV from org: send what it lacks, and our own vector when asked. An object
 * we do not hold gets, when asked, our empty vector (send me everything). */
static int on_vv(ent_gossip *g, const uint8_t org[32], const ent_wire_vv *v) {
    size_t n_vv = v->len / ENT_WIRE_VV_ENTRY;
    for (size_t i = 1; i < n_vv; i++)
        if (memcmp(v->bytes + (i - 1) * 40, v->bytes + i * 40, 32) >= 0)
            return ENT_EPROTO; /* sorted by author, distinct */
    if (!ent__gossip_holds(g, v->object)) {
        if (v->flags & ENT_WIRE_VV_REPLY)
            return ent_gossip_send_vv(g, org, v->object, 0);
        return ENT_OK;
    }
    if (!shared_with(g, v->object, org)) {
        if (self_active(g, v->object) && tell_removed(g, org, v, n_vv) == ENT_OK)
            return ENT_OK;
        g->stats.denied++;
        return ENT_OK; /* invariant 2: nothing of it goes to a non-member */
    }
    uint8_t *adj = NULL;
    int rc = fork_adjust(g, v->object, v, &adj);
    if (rc == ENT_OK)
        rc = catch_up(g, org, v->object, adj, n_vv);
    free(adj);
    if (rc == ENT_OK && (v->flags & ENT_WIRE_VV_REPLY))
        rc = ent_gossip_send_vv(g, org, v->object, 0);
    return rc;
}

/* ---- push, relay, apply -------------------------------------------------- */

typedef struct cand_q {
    const uint8_t *obj;
    uint8_t (*orgs)[32];
    size_t n;
    const uint8_t *except;
    bool *ok;
} cand_q;

static int cand_fn(ent_txn *txn, void *data) {
    cand_q *q = data;
    for (size_t i = 0; i < q->n; i++)
        q->ok[i] = (q->except == NULL || memcmp(q->orgs[i], q->except, 32)) &&
                   active_in(txn, q->obj, q->orgs[i]);
    return ENT_OK;
}

size_t ent_gossip_push(ent_gossip *g, const uint8_t obj[32],
                       const uint8_t *const *raws, const size_t *lens,
                       size_t n, const uint8_t *except) {
    size_t sent = 0;
    if (n == 0)
        return 0;
    uint8_t (*orgs)[32] = malloc(ENT_GOSSIP_MAX_PEERS * 32);
    bool *ok = calloc(ENT_GOSSIP_MAX_PEERS, sizeof(bool));
    ent_wire_bytes *ops = calloc(n, sizeof(*ops));
    if (orgs == NULL || ok == NULL || ops == NULL)
        goto out;
    size_t np = g->cfg.tr.peers(g->cfg.tr.data, orgs, ENT_GOSSIP_MAX_PEERS);
    if (np > ENT_GOSSIP_MAX_PEERS)
        np = ENT_GOSSIP_MAX_PEERS;
    cand_q q = {.obj = obj, .orgs = orgs, .n = np, .except = except, .ok = ok};
    if (ent_store_read(g->cfg.store, cand_fn, &q) != ENT_OK)
        goto out;
    size_t nc = 0;
    for (size_t i = 0; i < np; i++)
        if (ok[i])
            memmove(orgs[nc++], orgs[i], 32);
    /* partial Fisher-Yates: the first min(fanout, nc) are a random pick */
    size_t k = nc < g->fanout ? nc : g->fanout;
    for (size_t i = 0; i < k; i++) {
        size_t j = i + rnd(g) % (nc - i);
        uint8_t t[32];
        memcpy(t, orgs[i], 32);
        memcpy(orgs[i], orgs[j], 32);
        memcpy(orgs[j], t, 32);
    }
    for (size_t t = 0; t < k; t++) {
        size_t i = 0;
        while (i < n) {
            ent_wire_msg m;
            memset(&m, 0, sizeof(m));
            m.type = ENT_WIRE_OPS;
            memcpy(m.u.ops.object, obj, 32);
            m.u.ops.ops = ops + i;
            size_t c = 0;
            while (i + c < n && c < ENT_WIRE_MAX_OPS) {
                ops[i + c] = (ent_wire_bytes){raws[i + c], lens[i + c]};
                m.u.ops.nops = c + 1;
                size_t sz = ent_wire_encoded_size(&m);
                if (sz == 0 || sz > ENT_WIRE_MAX_MSG)
                    break;
                c++;
            }
            if (c == 0) { /* one op too big for a frame: never sendable */
                i++;
                continue;
            }
            m.u.ops.nops = c;
            g->stats.ops_sent += c;
            send_msg(g, orgs[t], &m);
            i += c;
        }
        sent++;
    }
out:
    free(orgs);
    free(ok);
    free(ops);
    return sent;
}

typedef struct act_q {
    const uint8_t *obj, *self;
    bool ok;
} act_q;

static int act_fn(ent_txn *txn, void *data) {
    act_q *q = data;
    q->ok = obj_active(txn, q->obj, q->self);
    return ENT_OK;
}

/* The first stored version of the (author, seq) of the fork raw, copied
 * into *out (malloc'ed; NULL when there is none other than raw itself). */
typedef struct first_q {
    uint8_t key[72];
    const uint8_t *self;
    uint8_t *out;
    size_t len;
} first_q;

static int first_fn(ent_txn *txn, void *data) {
    first_q *q = data;
    const void *v;
    size_t vl;
    uint8_t id[32];
    if (ent_txn_get(txn, ENT_TBL_OPS, q->key, 72, &v, &vl) != ENT_OK ||
        ent_op_is_stub(v, vl)) /* none, or erased: nothing to send */
        return ENT_OK;
    ent_hash(id, v, vl);
    if (memcmp(id, q->self, 32) == 0)
        return ENT_OK;
    if ((q->out = malloc(vl)) == NULL)
        return ENT_ENOMEM;
    memcpy(q->out, v, vl);
    q->len = vl;
    return ENT_OK;
}

static void fork_first(ent_gossip *g, const uint8_t obj[32],
                       const uint8_t *raw, size_t len, uint8_t **out,
                       size_t *olen) {
    ent_op *op = NULL;
    *out = NULL;
    *olen = 0;
    if (ent_op_decode(&op, raw, len) != ENT_OK)
        return;
    first_q q = {.self = op->id};
    memcpy(q.key, obj, 32);
    memcpy(q.key + 32, op->h.author, 32);
    ent_be64_put(q.key + 64, op->h.seq);
    if (ent_store_read(g->cfg.store, first_fn, &q) == ENT_OK) {
        *out = q.out;
        *olen = q.len;
    } else {
        free(q.out);
    }
    ent_op_free(op);
}

int ent_gossip_apply(ent_gossip *g, const uint8_t *org, const uint8_t obj[32],
                     const uint8_t *const *raws, const size_t *lens, size_t n,
                     ent_apply_info *infos, int *rcs) {
    return ent_gossip_apply_ex(g, org, obj, raws, lens, n, NULL, NULL, infos,
                               rcs);
}

int ent_gossip_apply_ex(ent_gossip *g, const uint8_t *org,
                        const uint8_t obj[32], const uint8_t *const *raws,
                        const size_t *lens, size_t n, const bool *verified,
                        const ent_obj_opened *opened, ent_apply_info *infos,
                        int *rcs) {
    ent_apply_info *inf = infos ? infos : calloc(n ? n : 1, sizeof(*inf));
    int *rc_v = rcs ? rcs : calloc(n ? n : 1, sizeof(*rc_v));
    /* room for a fork's first version next to each op */
    const uint8_t **fw = calloc(2 * n + 1, sizeof(*fw));
    size_t *fwl = calloc(2 * n + 1, sizeof(*fwl));
    uint8_t **firsts = calloc(n + 1, sizeof(*firsts));
    size_t nfw = 0, nfirst = 0;
    int rc = ENT_ENOMEM;
    if (inf == NULL || rc_v == NULL || fw == NULL || fwl == NULL ||
        firsts == NULL)
        goto out;
    rc = ent_obj_apply_batch_ex(g->cfg.eng, raws, lens, n, verified, opened,
                                inf, rc_v);
    if (rc != ENT_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (rc_v[i] != ENT_OK) {
            g->stats.ops_rejected++;
        } else if (inf[i].pending) {
            g->stats.ops_held++;
        } else if (inf[i].duplicate) {
            g->stats.ops_duplicate++;
        } else {
            g->stats.ops_applied++;
            fw[nfw] = raws[i];
            fwl[nfw++] = lens[i];
            /* a new fork: the relay carries the proof, both versions
             * (spec/gossip.md §3 "Forks") */
            size_t fl = 0;
            if (inf[i].fork) {
                fork_first(g, obj, raws[i], lens[i], &firsts[nfirst], &fl);
                if (firsts[nfirst] != NULL) {
                    fw[nfw] = firsts[nfirst++];
                    fwl[nfw++] = fl;
                }
            }
        }
    }
    act_q q = {.obj = obj, .self = ent_identity_public(g->cfg.id)};
    if (nfw > 0 && ent_store_read(g->cfg.store, act_fn, &q) == ENT_OK && q.ok)
        ent_gossip_push(g, obj, fw, fwl, nfw, org);
out:
    if (infos == NULL)
        free(inf);
    if (rcs == NULL)
        free(rc_v);
    for (size_t i = 0; i < nfirst; i++)
        free(firsts[i]);
    free(firsts);
    free(fw);
    free(fwl);
    return rc;
}

/* OPS from org (simulator path; peer_ops.c does its own admission and ACK). */
static int on_ops(ent_gossip *g, const uint8_t org[32],
                  const ent_wire_ops *o) {
    if (!shared_with(g, o->object, org)) {
        /* a fresh member receives history before it holds the object */
        if (ent__gossip_holds(g, o->object)) {
            g->stats.denied++;
            return ENT_OK;
        }
    }
    const uint8_t **raws = calloc(o->nops, sizeof(*raws));
    size_t *lens = calloc(o->nops, sizeof(*lens));
    int rc = ENT_ENOMEM;
    if (raws != NULL && lens != NULL) {
        for (size_t i = 0; i < o->nops; i++) {
            raws[i] = o->ops[i].p;
            lens[i] = o->ops[i].len;
        }
        rc = ent_gossip_apply(g, org, o->object, raws, lens, o->nops, NULL,
                              NULL);
    }
    free(raws);
    free(lens);
    return rc;
}

int ent_gossip_on_message(ent_gossip *g, const uint8_t org[32],
                          const ent_wire_msg *m) {
    switch (m->type) {
    case ENT_WIRE_DIGEST:
        return on_digest(g, org, &m->u.digest);
    case ENT_WIRE_DIGESTS:
        return on_digests(g, org, &m->u.digests);
    case ENT_WIRE_RANGES:
        return ent__gossip_on_ranges(g, org, &m->u.ranges);
    case ENT_WIRE_LEAF:
        return ent__gossip_on_leaf(g, org, &m->u.leaf);
    case ENT_WIRE_VV:
        return on_vv(g, org, &m->u.vv);
    case ENT_WIRE_OPS:
        return on_ops(g, org, &m->u.ops);
    default:
        return ENT_OK;
    }
}
