/*
 * gossip_recon.c - fingerprints and range reconciliation between nodes
 * that both speak "recon/1" (spec/gossip.md §13): DIGEST carries the
 * fingerprint kept on commit (node/objects/setdig.h), a difference is
 * narrowed with RANGES (16 child fingerprints of a range of object ids)
 * down to LEAF listings, and the objects that differ go to the VV exchange
 * of §3.
 */
#include "node/peers/gossip_int.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/bytes.h"
#include "node/err.h"

/* A range of at least RECON_LIST_BITS bits whose two fingerprints both
 * count at most RECON_LIST_MAX objects is listed at once (LEAF) instead of
 * split further (listing a range reads the rows of every object of this
 * node in it: at least 8 bits keeps that to 1/256 of them). */
#define RECON_LIST_MAX 8
#define RECON_LIST_BITS 8

bool ent__gossip_recon(ent_gossip *g, const uint8_t org[32]) {
    return g->cfg.tr.recon != NULL && g->cfg.tr.recon(g->cfg.tr.data, org);
}

typedef struct fp_q {
    const uint8_t *org;
    uint8_t prefix[2];
    unsigned bits;
    ent_setfp *out; /* 1 (range) or 16 (children) */
    bool children;
    ent_setdig_entry *e; /* entries */
    size_t n;
    bool entries;
} fp_q;

static int fp_fn(ent_txn *txn, void *data) {
    fp_q *q = data;
    if (q->entries)
        return ent_setdig_entries(txn, q->org, q->prefix, q->bits, &q->e,
                                  &q->n);
    if (q->children)
        return ent_setdig_children(txn, q->org, q->prefix, q->bits, q->out);
    return ent_setdig_range(txn, q->org, q->prefix, q->bits, q->out);
}

int ent_gossip_set_fp(ent_gossip *g, const uint8_t org[32], ent_setfp *out) {
    fp_q q = {.org = org, .out = out};
    return ent_store_read(g->cfg.store, fp_fn, &q);
}

static void fp_put(uint8_t out[ENT_WIRE_RECON_FP], const ent_setfp *fp) {
    memcpy(out, fp->sum, 32);
    ent_be64_put(out + 32, fp->count);
}

/* Sends RANGES for (prefix, bits): our fingerprints of its children. */
static int send_ranges(ent_gossip *g, const uint8_t org[32],
                       const uint8_t prefix[2], unsigned bits) {
    ent_setfp fps[ENT_SETDIG_FANOUT];
    fp_q q = {.org = org, .bits = bits, .out = fps, .children = true};
    memcpy(q.prefix, prefix, 2);
    int rc = ent_store_read(g->cfg.store, fp_fn, &q);
    if (rc != ENT_OK)
        return rc;
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_RANGES;
    memcpy(m.u.ranges.prefix, prefix, 2);
    m.u.ranges.bits = bits;
    for (int j = 0; j < ENT_SETDIG_FANOUT; j++)
        fp_put(m.u.ranges.fps[j], &fps[j]);
    g->stats.ranges_sent++;
    return ent__gossip_send(g, org, &m);
}

/* The objects of (prefix, bits) we share with org. */
static int range_entries(ent_gossip *g, const uint8_t org[32],
                         const uint8_t prefix[2], unsigned bits,
                         ent_setdig_entry **e, size_t *n) {
    fp_q q = {.org = org, .bits = bits, .entries = true};
    memcpy(q.prefix, prefix, 2);
    int rc = ent_store_read(g->cfg.store, fp_fn, &q);
    *e = q.e;
    *n = q.n;
    return rc;
}

/* Sends LEAF for (prefix, bits): our entries, in chunks of at most
 * ENT_WIRE_MAX_DIGESTS (an empty range is sent too). */
static int send_leaf(ent_gossip *g, const uint8_t org[32],
                     const uint8_t prefix[2], unsigned bits) {
    ent_setdig_entry *e = NULL;
    size_t n = 0, i = 0;
    int rc = range_entries(g, org, prefix, bits, &e, &n);
    if (rc != ENT_OK)
        return rc;
    do {
        ent_wire_msg m;
        size_t k = n - i < ENT_WIRE_MAX_DIGESTS ? n - i : ENT_WIRE_MAX_DIGESTS;
        memset(&m, 0, sizeof(m));
        m.type = ENT_WIRE_LEAF;
        memcpy(m.u.leaf.prefix, prefix, 2);
        m.u.leaf.bits = bits;
        m.u.leaf.total = n;
        m.u.leaf.n = k;
        m.u.leaf.entries = k ? (uint8_t(*)[64])(e + i) : NULL;
        g->stats.leaves_sent++;
        rc = ent__gossip_send(g, org, &m);
        i += k;
    } while (i < n && rc == ENT_OK);
    free(e);
    return rc;
}

int ent__gossip_recon_digest(ent_gossip *g, const uint8_t org[32],
                             const ent_wire_digest *d, bool *equal) {
    ent_setfp fp;
    static const uint8_t root[2] = {0, 0};
    *equal = false;
    int rc = ent_gossip_set_fp(g, org, &fp);
    if (rc != ENT_OK)
        return rc;
    if (fp.count == d->nobjects && ent_memeq(fp.sum, d->digest, 32)) {
        *equal = true;
        return ENT_OK;
    }
    return send_ranges(g, org, root, 0);
}

/*
 * RANGES from org: for each child of the range whose fingerprint differs
 * from ours, our LEAF when it is a deepest range or both sides count few
 * objects in it, else our RANGES for it (one level down).
 */
int ent__gossip_on_ranges(ent_gossip *g, const uint8_t org[32],
                          const ent_wire_ranges *r) {
    ent_setfp mine[ENT_SETDIG_FANOUT];
    if (!ent__gossip_recon(g, org))
        return ENT_EPROTO;
    fp_q q = {.org = org, .bits = r->bits, .out = mine, .children = true};
    memcpy(q.prefix, r->prefix, 2);
    int rc = ent_store_read(g->cfg.store, fp_fn, &q);
    for (unsigned j = 0; j < ENT_SETDIG_FANOUT && rc == ENT_OK; j++) {
        const uint8_t *theirs = r->fps[j];
        uint64_t tcount = ent_be64_get(theirs + 32);
        if (tcount == mine[j].count && ent_memeq(theirs, mine[j].sum, 32))
            continue;
        unsigned bits = r->bits + 4;
        uint16_t p = (uint16_t)(r->prefix[0] << 8 | r->prefix[1]);
        p |= (uint16_t)(j << (16 - bits));
        uint8_t child[2] = {(uint8_t)(p >> 8), (uint8_t)p};
        if (bits == ENT_SETDIG_LEAF_BITS ||
            (bits >= RECON_LIST_BITS && tcount <= RECON_LIST_MAX &&
             mine[j].count <= RECON_LIST_MAX))
            rc = send_leaf(g, org, child, bits);
        else
            rc = send_ranges(g, org, child, bits);
    }
    return rc;
}

static int entry_cmp(const void *a, const void *b) {
    return memcmp(a, b, 32);
}

/*
 * LEAF from org: a VV asking for a reply for every listed object whose
 * digest differs from ours (or that we do not hold), and, when the listing
 * is the whole range, for every object of the range we share with org
 * that it leaves out (as DIGESTS, §3 step 3, for one range).
 */
int ent__gossip_on_leaf(ent_gossip *g, const uint8_t org[32],
                        const ent_wire_leaf *l) {
    ent_setdig_entry *e = NULL;
    size_t n = 0;
    if (!ent__gossip_recon(g, org) || l->bits < RECON_LIST_BITS)
        return ENT_EPROTO; /* a wide range would read too many rows */
    int rc = range_entries(g, org, l->prefix, l->bits, &e, &n);
    for (size_t i = 0; i < l->n && rc == ENT_OK; i++) {
        const uint8_t *t = l->entries[i];
        const ent_setdig_entry *m =
            n > 0 ? bsearch(t, e, n, sizeof(*e), entry_cmp) : NULL;
        if (m != NULL && memcmp(m->digest, t + 32, 32) == 0)
            continue;
        if (m == NULL && ent__gossip_holds(g, t))
            continue; /* held but not shared with org in our view */
        rc = ent_gossip_send_vv(g, org, t, ENT_WIRE_VV_REPLY);
    }
    if (l->total == l->n)
        for (size_t i = 0; i < n && rc == ENT_OK; i++)
            if (l->n == 0 || bsearch(e[i].id, l->entries, l->n,
                                     ENT_WIRE_DIGEST_ENTRY, entry_cmp) == NULL)
                rc = ent_gossip_send_vv(g, org, e[i].id, ENT_WIRE_VV_REPLY);
    free(e);
    return rc;
}
