/*
 * peer_restore.c - a node restored from a backup catches up before it signs
 * (spec/operations.md §3). While the store carries the restore mark
 * (ENT_META_RESTORED, node/home.h) the engine signs no op on an existing
 * object and the activity log no tree head. At start the layer lists the
 * partners: the orgs of the peers table that share at least one object
 * with this org. Each counts as caught up once it has sent a DIGEST equal
 * to ours (ent_gossip_config.in_sync), which can only happen after it has
 * given back every op of ours it holds. When all have, the mark is
 * cleared. The operator can clear it earlier (ent_peers_restore_done).
 */
#include "node/home.h"
#include "node/peers/gossip.h"
#include "node/peers/peer_int.h"

#include <stdlib.h>
#include <string.h>

struct ent_restore {
    uint8_t (*orgs)[32]; /* the partners to hear from */
    bool *in_sync;
    size_t n, done;
};

static int marked_fn(ent_txn *txn, void *data) {
    int rc = ent_home_restoring(txn);
    *(bool *)data = rc == ENT_ERESTORING;
    return rc == ENT_ERESTORING ? ENT_OK : rc;
}

static int clear_fn(ent_txn *txn, void *data) {
    return ent_home_meta_put(txn, ENT_META_RESTORED, NULL);
}

static void restore_free(ent_peers *p) {
    if (p->restore == NULL)
        return;
    free(p->restore->orgs);
    free(p->restore->in_sync);
    free(p->restore);
    p->restore = NULL;
}

/* Clears the mark; the state goes with it. */
static int finish(ent_peers *p) {
    int rc = ent_store_write(p->store, clear_fn, NULL);
    if (rc != ENT_OK) {
        ENT_ERROR(p->log, "restore: clearing the mark failed: %s",
                  ent_strerror(rc));
        return rc;
    }
    restore_free(p);
    return ENT_OK;
}

int ent__restore_init(ent_peers *p) {
    bool marked = false;
    int rc = ent_store_read(p->store, marked_fn, &marked);
    if (rc != ENT_OK || !marked)
        return rc;
    struct ent_restore *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return ENT_ENOMEM;
    p->restore = r;
    if (p->npeers > 0 &&
        ((r->orgs = calloc(p->npeers, 32)) == NULL ||
         (r->in_sync = calloc(p->npeers, sizeof(bool))) == NULL)) {
        restore_free(p);
        return ENT_ENOMEM;
    }
    const uint8_t *me = ent_identity_public(p->id);
    for (size_t i = 0; i < p->npeers; i++) {
        const uint8_t *org = p->peers[i].org;
        if (memcmp(org, me, 32) != 0 && ent__peers_shares_any(p, org))
            memcpy(r->orgs[r->n++], org, 32);
    }
    if (r->n == 0) {
        ENT_INFO(p->log, "restore: no partner shares an object with this "
                         "node; local writes allowed");
        return finish(p);
    }
    ENT_WARN(p->log,
             "restore: this node was restored from a backup; local writes "
             "wait until %zu partners have given back our newer ops",
             r->n);
    return ENT_OK;
}

void ent__restore_in_sync(ent_gossip *g, const uint8_t org[32], void *data) {
    ent_peers *p = data;
    struct ent_restore *r = p->restore;
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++) {
        if (r->in_sync[i] || memcmp(r->orgs[i], org, 32) != 0)
            continue;
        r->in_sync[i] = true;
        r->done++;
        const char *name = ent_peers_org_name(p, org);
        ENT_INFO(p->log, "restore: in sync with %s (%zu of %zu)",
                 name != NULL ? name : "a partner", r->done, r->n);
    }
    if (r->done == r->n) {
        size_t n = r->n;
        if (finish(p) == ENT_OK)
            ENT_INFO(p->log,
                     "restore: caught up with %zu partners; local writes "
                     "allowed",
                     n);
    }
}

void ent__restore_free(ent_peers *p) {
    restore_free(p);
}

void ent_peers_restore_get(const ent_peers *p, ent_peers_restore_info *out) {
    memset(out, 0, sizeof(*out));
    if (p == NULL || p->restore == NULL)
        return;
    out->catching_up = true;
    out->partners = p->restore->n;
    out->in_sync = p->restore->done;
}

int ent_peers_restore_done(ent_peers *p) {
    int rc;
    if (p->restore == NULL) {
        /* no state (not started, or already caught up): the mark may still
         * be there */
        rc = ent_store_write(p->store, clear_fn, NULL);
    } else {
        ENT_WARN(p->log,
                 "restore: the operator allowed local writes before %zu of "
                 "%zu partners were in sync: an op signed now may repeat a "
                 "sequence number a partner still holds (equivocation)",
                 p->restore->n - p->restore->done, p->restore->n);
        rc = finish(p);
    }
    return rc;
}
