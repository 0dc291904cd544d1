/*
 * sim.c - the gossip network simulator: many nodes (store, identity, object
 * engine, gossip) in one process with a simulated clock, joined by a
 * seeded in-memory network with per-link latency, loss and partitions,
 * used by tests and benchmarks to check convergence at scale. See sim.h
 * and spec/gossip.md.
 */
#include "node/peers/sim.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "node/err.h"
#include "storage/store.h"

#define SIM_WALL0 1700000000000ULL /* simulated wall clock at t = 0 */

typedef struct sim_node {
    ent_sim *s;
    size_t idx;
    char dir[128];
    ent_store *store;
    ent_identity *id;
    ent_objects *eng;
    ent_gossip *g;
    int group;
    bool no_recon; /* this node does not speak recon/1 */
} sim_node;

/* One message in flight. */
typedef struct sim_ev {
    uint64_t at, seq;
    uint32_t from, to;
    size_t len;
    uint8_t *data;
} sim_ev;

struct ent_sim {
    ent_sim_config cfg;
    char root[96];
    sim_node *nodes;
    size_t n;
    uint64_t now, seq, rng;
    sim_ev *heap;
    size_t nheap, capheap;
    ent_log log;
    ent_sim_stats stats;
};

static uint64_t rng_next(ent_sim *s) {
    uint64_t x = s->rng; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 2685821657736338717ULL;
}

static uint64_t sim_clock(void *data) {
    const ent_sim *s = data;
    return SIM_WALL0 + s->now;
}

/* Latency of the link a -> b: a fixed draw per (a, b) from the seed. */
static uint64_t link_latency(const ent_sim *s, size_t a, size_t b) {
    uint32_t lo = s->cfg.latency_min_ms, hi = s->cfg.latency_max_ms;
    if (hi <= lo)
        return lo;
    uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15ULL ^
                 ((uint64_t)b + 1) * 0xC2B2AE3D27D4EB4FULL ^ s->cfg.seed;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 29;
    return lo + h % (hi - lo + 1);
}

static bool ev_less(const sim_ev *x, const sim_ev *y) {
    return x->at != y->at ? x->at < y->at : x->seq < y->seq;
}

static int heap_push(ent_sim *s, sim_ev e) {
    if (s->nheap == s->capheap) {
        size_t nc = s->capheap ? s->capheap * 2 : 1024;
        sim_ev *nh = realloc(s->heap, nc * sizeof(*nh));
        if (nh == NULL)
            return ENT_ENOMEM;
        s->heap = nh;
        s->capheap = nc;
    }
    size_t i = s->nheap++;
    s->heap[i] = e;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ev_less(&s->heap[i], &s->heap[p]))
            break;
        sim_ev t = s->heap[i];
        s->heap[i] = s->heap[p];
        s->heap[p] = t;
        i = p;
    }
    return ENT_OK;
}

static sim_ev heap_pop(ent_sim *s) {
    sim_ev top = s->heap[0];
    s->heap[0] = s->heap[--s->nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->nheap && ev_less(&s->heap[l], &s->heap[m]))
            m = l;
        if (r < s->nheap && ev_less(&s->heap[r], &s->heap[m]))
            m = r;
        if (m == i)
            break;
        sim_ev t = s->heap[i];
        s->heap[i] = s->heap[m];
        s->heap[m] = t;
        i = m;
    }
    return top;
}

static sim_node *node_by_org(ent_sim *s, const uint8_t org[32]) {
    for (size_t i = 0; i < s->n; i++)
        if (memcmp(ent_identity_public(s->nodes[i].id), org, 32) == 0)
            return &s->nodes[i];
    return NULL;
}

/* ---- the transport of one simulated node --------------------------------- */

static int tr_send(void *data, const uint8_t org[32], const ent_wire_msg *m) {
    sim_node *from = data;
    ent_sim *s = from->s;
    sim_node *to = node_by_org(s, org);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (to == NULL)
        return ENT_ENOENT;
    int rc = ent_wire_encode(m, &buf, &len);
    if (rc != ENT_OK)
        return rc;
    s->stats.msgs_sent++;
    s->stats.bytes_sent += len;
    if (m->type >= 0 && m->type < ENT_SIM_TYPES) {
        s->stats.by_type[m->type]++;
        s->stats.bytes_by_type[m->type] += len;
    }
    if (from->group != to->group) {
        s->stats.msgs_cut++;
        free(buf);
        return ENT_OK;
    }
    if (s->cfg.loss_ppm > 0 && rng_next(s) % 1000000u < s->cfg.loss_ppm) {
        s->stats.msgs_lost++;
        free(buf);
        return ENT_OK; /* like a dropped session: the sender cannot tell */
    }
    sim_ev e = {.at = s->now + link_latency(s, from->idx, to->idx),
                .seq = s->seq++,
                .from = (uint32_t)from->idx,
                .to = (uint32_t)to->idx,
                .len = len,
                .data = buf};
    rc = heap_push(s, e);
    if (rc != ENT_OK)
        free(buf);
    return rc;
}

static size_t tr_peers(void *data, uint8_t (*out)[32], size_t cap) {
    sim_node *self = data;
    ent_sim *s = self->s;
    size_t k = 0;
    for (size_t i = 0; i < s->n && k < cap; i++)
        if (i != self->idx && s->nodes[i].group == self->group)
            memcpy(out[k++], ent_identity_public(s->nodes[i].id), 32);
    return k;
}

/* Both ends speak recon/1 unless one was told not to (ent_sim_set_recon). */
static bool tr_recon(void *data, const uint8_t org[32]) {
    sim_node *self = data;
    sim_node *to = node_by_org(self->s, org);
    return !self->no_recon && to != NULL && !to->no_recon;
}

ent_store *ent_sim_store(ent_sim *s, size_t i) {
    return i < s->n ? s->nodes[i].store : NULL;
}

void ent_sim_set_recon(ent_sim *s, size_t i, bool on) {
    if (i < s->n)
        s->nodes[i].no_recon = !on;
}

static uint32_t tr_random(void *data) {
    sim_node *self = data;
    return (uint32_t)(rng_next(self->s) >> 32);
}

/* ---- life cycle ----------------------------------------------------------- */

static int rm_cb(const char *p, const struct stat *sb, int flag,
                 struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int node_open(ent_sim *s, sim_node *nd, size_t i) {
    nd->s = s;
    nd->idx = i;
    snprintf(nd->dir, sizeof(nd->dir), "%s/n%zu", s->root, i);
    if (mkdir(nd->dir, 0700) != 0)
        return ENT_EIO;
    ent_store_opts o = {.map_size = s->cfg.map_size};
    int rc = ent_store_open_ex(&nd->store, nd->dir, ENT_STORE_CREATE, NULL,
                               &o);
    if (rc == ENT_OK)
        rc = ent_identity_generate(&nd->id);
    if (rc != ENT_OK)
        return rc;
    ent_objects_config ec = {.store = nd->store,
                             .id = nd->id,
                             .log = &s->log,
                             .clock = sim_clock,
                             .clock_data = s};
    if ((rc = ent_objects_new(&nd->eng, &ec)) != ENT_OK)
        return rc;
    ent_gossip_config gc = {.store = nd->store,
                            .eng = nd->eng,
                            .id = nd->id,
                            .log = &s->log,
                            .tr = {.send = tr_send,
                                   .peers = tr_peers,
                                   .random = tr_random,
                                   .recon = tr_recon,
                                   .data = nd},
                            .fanout = s->cfg.fanout,
                            .in_sync = s->cfg.in_sync,
                            .in_sync_data = s->cfg.in_sync_data};
    return ent_gossip_new(&nd->g, &gc);
}

int ent_sim_new(ent_sim **out, const ent_sim_config *cfg) {
    *out = NULL;
    if (cfg == NULL || cfg->nodes == 0)
        return ENT_EINVAL;
    int rc = ent_crypto_init();
    if (rc != ENT_OK)
        return rc;
    ent_sim *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return ENT_ENOMEM;
    s->cfg = *cfg;
    if (s->cfg.seed == 0)
        s->cfg.seed = 1;
    if (s->cfg.map_size == 0)
        s->cfg.map_size = (size_t)2 << 20;
    if (s->cfg.round_ms == 0)
        s->cfg.round_ms = 100;
    s->rng = s->cfg.seed * 0x9E3779B97F4A7C15ULL | 1;
    ent_log_init(&s->log, ENT_LOG_OFF, "sim");
    snprintf(s->root, sizeof(s->root), "%s/ent_sim_XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(s->root) == NULL) {
        s->root[0] = '\0';
        rc = ENT_EIO;
        goto out;
    }
    s->nodes = calloc(cfg->nodes, sizeof(*s->nodes));
    if (s->nodes == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < cfg->nodes; i++) {
        s->n = i + 1;
        if ((rc = node_open(s, &s->nodes[i], i)) != ENT_OK)
            goto out;
    }
    *out = s;
    s = NULL;
out:
    ent_sim_free(s);
    return rc;
}

void ent_sim_free(ent_sim *s) {
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        sim_node *nd = &s->nodes[i];
        ent_gossip_free(nd->g);
        ent_objects_free(nd->eng);
        ent_store_close(nd->store);
        ent_identity_free(nd->id);
    }
    for (size_t i = 0; i < s->nheap; i++)
        free(s->heap[i].data);
    free(s->heap);
    free(s->nodes);
    if (s->root[0])
        nftw(s->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(s);
}

size_t ent_sim_nodes(const ent_sim *s) { return s->n; }
ent_objects *ent_sim_engine(ent_sim *s, size_t i) { return s->nodes[i].eng; }
ent_gossip *ent_sim_gossip(ent_sim *s, size_t i) { return s->nodes[i].g; }
const ent_identity *ent_sim_identity(const ent_sim *s, size_t i) {
    return s->nodes[i].id;
}
uint64_t ent_sim_now(const ent_sim *s) { return s->now; }
size_t ent_sim_queued(const ent_sim *s) { return s->nheap; }

const uint8_t *ent_sim_org(const ent_sim *s, size_t i) {
    return ent_identity_public(s->nodes[i].id);
}

void ent_sim_stats_get(const ent_sim *s, ent_sim_stats *out) {
    *out = s->stats;
}

void ent_sim_set_loss(ent_sim *s, uint32_t loss_ppm) {
    s->cfg.loss_ppm = loss_ppm;
}

void ent_sim_set_group(ent_sim *s, size_t i, int g) {
    s->nodes[i].group = g;
}

void ent_sim_local_op(ent_sim *s, size_t i, const ent_op *op) {
    const uint8_t *raws[1] = {op->raw};
    size_t lens[1] = {op->rawlen};
    ent_gossip_push(s->nodes[i].g, op->h.object, raws, lens, 1, NULL);
}

/* ---- running ---------------------------------------------------------------- */

static void deliver(ent_sim *s, sim_ev *e) {
    sim_node *to = &s->nodes[e->to];
    const sim_node *from = &s->nodes[e->from];
    ent_wire_msg m;
    s->stats.msgs_delivered++;
    if (from->group != to->group) { /* partitioned while in flight */
        s->stats.msgs_cut++;
        return;
    }
    if (ent_wire_decode(&m, e->data, e->len) != ENT_OK)
        return;
    ent_gossip_on_message(to->g, ent_identity_public(from->id), &m);
    ent_wire_msg_clear(&m);
}

void ent_sim_run(ent_sim *s, uint64_t ms) {
    uint64_t end = s->now + ms;
    while (s->nheap > 0 && s->heap[0].at <= end) {
        sim_ev e = heap_pop(s);
        if (e.at > s->now)
            s->now = e.at;
        deliver(s, &e);
        free(e.data);
    }
    s->now = end;
}

void ent_sim_round(ent_sim *s) {
    for (size_t i = 0; i < s->n; i++) {
        if (s->n < 2)
            break;
        for (int tries = 0; tries < 4; tries++) {
            size_t j = rng_next(s) % (s->n - 1);
            if (j >= i)
                j++;
            if (s->nodes[j].group != s->nodes[i].group)
                continue;
            if (ent_gossip_round(s->nodes[i].g, ent_sim_org(s, j)) !=
                ENT_ENOENT)
                break;
        }
    }
    ent_sim_run(s, s->cfg.round_ms);
}

/* ---- the convergence scenario (spec/gossip.md "Simulator") ---------------- */

typedef struct sim_hist {
    ent_op **v;
    size_t n, cap;
} sim_hist;

static int hist_cb(void *data, const uint8_t *raw, size_t len) {
    sim_hist *h = data;
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 64;
        ent_op **nv = realloc(h->v, nc * sizeof(*nv));
        if (nv == NULL)
            return ENT_ENOMEM;
        h->v = nv;
        h->cap = nc;
    }
    int rc = ent_op_decode(&h->v[h->n], raw, len);
    if (rc == ENT_OK)
        h->n++;
    return rc;
}

int ent_sim_make_object(ent_sim *s, size_t m, uint8_t id[32]) {
    char err[256];
    ent_objects *own = ent_sim_engine(s, 0);
    ent_op_epoch_key **boxes = NULL;
    size_t *nb = NULL;
    const uint8_t **raws = NULL;
    size_t *lens = NULL;
    int *rcs = NULL;
    sim_hist h = {0};
    if (m < 1 || m > s->n)
        return ENT_EINVAL;
    int rc = ent_obj_create(own, "opportunity", NULL, 0, id, NULL, err,
                            sizeof(err));
    if (rc != ENT_OK)
        return rc;
    boxes = calloc(m, sizeof(*boxes));
    nb = calloc(m, sizeof(*nb));
    if (boxes == NULL || nb == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 1; i < m; i++) {
        ent_op *op = NULL;
        rc = ent_obj_add_member(own, id, ent_sim_org(s, i), ENT_ROLE_MEMBER,
                                &op, &boxes[i], &nb[i]);
        ent_op_free(op);
        if (rc != ENT_OK)
            goto out;
    }
    if ((rc = ent_obj_ops_foreach(own, id, hist_cb, &h)) != ENT_OK)
        goto out;
    raws = calloc(h.n + 1, sizeof(*raws));
    lens = calloc(h.n + 1, sizeof(*lens));
    rcs = calloc(h.n + 1, sizeof(*rcs));
    if (raws == NULL || lens == NULL || rcs == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t k = 0; k < h.n; k++) {
        raws[k] = h.v[k]->raw;
        lens[k] = h.v[k]->rawlen;
    }
    for (size_t i = 1; i < m; i++) {
        rc = ent_obj_accept_keys(ent_sim_engine(s, i), id, boxes[i], nb[i]);
        if (rc == ENT_OK)
            rc = ent_obj_apply_batch(ent_sim_engine(s, i), raws, lens, h.n,
                                     NULL, rcs);
        for (size_t k = 0; rc == ENT_OK && k < h.n; k++)
            rc = rcs[k];
        if (rc != ENT_OK)
            goto out;
    }
out:
    for (size_t i = 0; boxes != NULL && i < m; i++)
        free(boxes[i]);
    for (size_t k = 0; k < h.n; k++)
        ent_op_free(h.v[k]);
    free(h.v);
    free(raws);
    free(lens);
    free(rcs);
    free(boxes);
    free(nb);
    return rc;
}

bool ent_sim_converged(ent_sim *s, size_t m, const uint8_t id[32]) {
    uint8_t *ref = NULL, *cur = NULL;
    size_t rl = 0, cl = 0;
    bool same = true;
    if (ent_obj_state_encode(ent_sim_engine(s, 0), id, &ref, &rl) != ENT_OK)
        return false;
    for (size_t i = 1; i < m && same; i++) {
        cur = NULL;
        same = ent_obj_state_encode(ent_sim_engine(s, i), id, &cur, &cl) ==
                   ENT_OK &&
               cl == rl && memcmp(cur, ref, rl) == 0;
        free(cur);
    }
    free(ref);
    return same;
}

static int count_cb(void *data, const uint8_t *raw, size_t len) {
    (void)raw;
    (void)len;
    (*(size_t *)data)++;
    return 0;
}

size_t ent_sim_nops(ent_sim *s, size_t i, const uint8_t id[32]) {
    size_t n = 0;
    ent_obj_ops_foreach(ent_sim_engine(s, i), id, count_cb, &n);
    return n;
}

int ent_sim_comment(ent_sim *s, size_t i, const uint8_t id[32], bool push) {
    char text[64], err[256];
    ent_op *op = NULL;
    snprintf(text, sizeof(text), "note from node %zu at %llu", i,
             (unsigned long long)ent_sim_now(s));
    int rc = ent_obj_comment(ent_sim_engine(s, i), id, text, &op, err,
                             sizeof(err));
    if (rc != ENT_OK)
        return rc;
    if (push)
        ent_sim_local_op(s, i, op);
    ent_op_free(op);
    return ENT_OK;
}

int ent_sim_converge(size_t m, uint64_t seed, int max_rounds,
                     ent_sim_conv *out) {
    ent_sim *s = NULL;
    ent_sim_config cfg = {.nodes = m, .latency_min_ms = 10,
                          .latency_max_ms = 60, .loss_ppm = 50000,
                          .seed = seed, .round_ms = 100};
    ent_sim_stats a, b;
    ent_gossip_stats g1a, g1b;
    uint8_t id[32];
    memset(out, 0, sizeof(*out));
    if (m < 2)
        return ENT_EINVAL;
    int rc = ent_sim_new(&s, &cfg);
    if (rc == ENT_OK)
        rc = ent_sim_make_object(s, m, id);
    if (rc != ENT_OK)
        goto out;
    ent_sim_stats_get(s, &a);
    ent_gossip_stats_get(ent_sim_gossip(s, 1), &g1a);
    for (size_t i = 0; i < m && rc == ENT_OK; i++) /* all edit at t = 0 */
        rc = ent_sim_comment(s, i, id, true);
    if (rc != ENT_OK)
        goto out;
    ent_gossip_stats_get(ent_sim_gossip(s, 1), &g1b);
    out->author_sent = g1b.ops_sent - g1a.ops_sent;
    while (!ent_sim_converged(s, m, id) && out->rounds < max_rounds) {
        ent_sim_round(s);
        out->rounds++;
    }
    out->converged = ent_sim_converged(s, m, id);
    for (size_t i = 0; i < m && out->converged; i++)
        out->converged = ent_sim_nops(s, i, id) == 2 * m;
    ent_sim_stats_get(s, &b);
    out->msgs = b.msgs_sent - a.msgs_sent;
    out->bytes = b.bytes_sent - a.bytes_sent;
    out->lost = b.msgs_lost - a.msgs_lost;
out:
    ent_sim_free(s);
    return rc;
}
