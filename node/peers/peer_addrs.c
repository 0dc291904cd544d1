/*
 * peer_addrs.c - signed address records between members (spec/gossip.md
 * §10): this node's own record (re-signed when the advertised address
 * changes), the ADDRS message it sends a fellow member each anti-entropy
 * round when the set of records that member may use changed (or once a
 * minute), and the records it takes from ADDRS: verified, newer than the
 * one held, of an org that is an active member of an object this node is
 * active in. A record taken replaces the addresses of the org's peers row,
 * so that peer_dial.c dials that org directly. It calls peer_dial.c
 * (ent_peers_advertised), peer_send.c and peer_table.c only.
 */
#include "node/peers/advertise.h"
#include "node/peers/peer_int.h"
#include "protocol/addr_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Re-signs our record when the advertised address changed (or there is
 * none yet). seq: our wall clock in ms, above every seq we signed. */
static void self_refresh(ent_peers *p) {
    char adv[ENT_ADDR_STRLEN];
    ent_peers_advertised(p, adv);
    if (adv[0] == '\0' || !ent_advertise_valid(adv))
        return;
    if (p->self_rec != NULL && strcmp(adv, p->self_addr) == 0)
        return;
    uint64_t seq = ent__peers_wall_ms();
    if (seq <= p->self_seq)
        seq = p->self_seq + 1;
    const char *addrs[1] = {adv};
    uint8_t *rec = NULL;
    size_t len = 0;
    int rc = ent_addr_record_sign(p->id, seq, addrs, 1, &rec, &len);
    if (rc != ENT_OK) {
        ENT_WARN(p->log, "peers: signing our address record: %s",
                 ent_strerror(rc));
        return;
    }
    free(p->self_rec);
    p->self_rec = rec;
    p->self_len = len;
    p->self_seq = seq;
    snprintf(p->self_addr, sizeof(p->self_addr), "%s", adv);
}

void ent__addrs_free(ent_peers *p) {
    free(p->self_rec);
    p->self_rec = NULL;
}

/* Sends recs[0..n) to c in ADDRS messages of at most 16 records. */
static void send_recs(conn *c, ent_wire_bytes *recs, size_t n) {
    for (size_t i = 0; i < n; i += ENT_WIRE_MAX_ADDR_RECS) {
        ent_wire_msg m;
        memset(&m, 0, sizeof(m));
        m.type = ENT_WIRE_ADDRS;
        m.u.addrs.recs = recs + i;
        m.u.addrs.nrecs = n - i < ENT_WIRE_MAX_ADDR_RECS
                              ? n - i
                              : ENT_WIRE_MAX_ADDR_RECS;
        if (ent__peers_send(c, &m) == ENT_OK)
            c->p->stats.addrs_sent += m.u.addrs.nrecs;
    }
}

/*
 * The records c's org may use: ours, and those of every other org that is
 * an active member of an object where both this org and c's org are
 * active (in this node's view). They go out when their hash differs from
 * the last set sent on c, or after ENT_PEERS_ADDRS_REFRESH_MS (a record
 * the peer could not take yet, its membership not arrived, comes again).
 */
void ent__addrs_round(conn *c) {
    ent_peers *p = c->p;
    uint8_t (*objs)[32] = NULL;
    size_t nobjs = 0;
    ent_wire_bytes *recs = NULL;
    if (!c->has_org || c->join != NULL || c->guest || c->former)
        return;
    if (ent__peers_shared(p, c->org, &objs, &nobjs) != ENT_OK || nobjs == 0)
        goto out;
    self_refresh(p);
    recs = calloc(p->npeers + 1, sizeof(*recs));
    if (recs == NULL)
        goto out;
    size_t n = 0;
    if (p->self_rec != NULL)
        recs[n++] = (ent_wire_bytes){p->self_rec, p->self_len};
    for (size_t i = 0; i < p->npeers; i++) {
        const peer_ent *e = &p->peers[i];
        if (e->rec == NULL || memcmp(e->org, c->org, 32) == 0)
            continue;
        if (ent__peers_active_in_any(p, (const uint8_t (*)[32])objs, nobjs,
                                     e->org))
            recs[n++] = (ent_wire_bytes){e->rec, e->reclen};
    }
    /* the hash of the set, chained over the records in order (each record
     * is one self-delimiting CBOR item) */
    uint8_t h[32] = {0}, t[32];
    for (size_t i = 0; i < n; i++) {
        ent_hash2(t, h, 32, recs[i].p, recs[i].len);
        memcpy(h, t, 32);
    }
    uint64_t now = uv_now(p->loop);
    if (n == 0 || (c->addrs_at != 0 && memcmp(h, c->addrs_hash, 32) == 0 &&
                   now - c->addrs_at < ENT_PEERS_ADDRS_REFRESH_MS))
        goto out;
    memcpy(c->addrs_hash, h, 32);
    c->addrs_at = now;
    send_recs(c, recs, n);
out:
    free(recs);
    free(objs);
}

/* One record from c: ENT_OK (taken or ignored), or ENT_EPROTO when it is
 * not a valid signed record (the sender relays only verified ones). */
static int take(conn *c, const uint8_t *buf, size_t len, uint64_t now_wall) {
    ent_peers *p = c->p;
    ent_addr_record r;
    peer_ent *e;
    /* the very record we hold: nothing to check */
    for (size_t i = 0; i < p->npeers; i++) {
        e = &p->peers[i];
        if (e->rec != NULL && e->reclen == len && memcmp(e->rec, buf, len) == 0)
            goto ignored;
    }
    if (ent_addr_record_decode(&r, buf, len) != ENT_OK)
        return ENT_EPROTO;
    if (memcmp(r.org, ent_identity_public(p->id), 32) == 0 ||
        r.seq > now_wall + ENT_PEERS_ADDRS_FUTURE_MS)
        goto ignored;
    e = ent__peers_find(p, r.org);
    if (e != NULL && e->rec != NULL && r.seq <= e->rec_seq)
        goto ignored; /* older, or the same seq: the first one stays */
    if (!ent__peers_shares_any(p, r.org))
        goto ignored; /* only fellow members fill the peers table */
    char addrs[ENT_ADDR_RECORD_MAX_ADDRS][ENT_WIRE_MAX_ADDR_LEN + 1];
    size_t na = 0;
    for (size_t i = 0; i < r.naddrs; i++)
        if (ent_advertise_valid(r.addrs[i]))
            memcpy(addrs[na++], r.addrs[i], sizeof(addrs[0]));
    if (na == 0)
        goto ignored;
    if (e == NULL) {
        /* a new row: no name yet (its HELLO gives one) */
        if (ent__peers_upsert(p, r.org, NULL, addrs, na) != ENT_OK ||
            (e = ent__peers_find(p, r.org)) == NULL)
            return ENT_OK;
    }
    if (ent__peers_set_record(p, e, buf, len, r.seq, addrs, na) == ENT_OK) {
        p->stats.addrs_stored++;
        char org[ENT_ORG_ID_LEN + 1];
        ent_org_id_format(org, r.org);
        ENT_DEBUG(p->log, "peers: address of %s is %s (record %llu)", org,
                  addrs[0], (unsigned long long)r.seq);
    }
    return ENT_OK;
ignored:
    p->stats.addrs_ignored++;
    return ENT_OK;
}

void ent__addrs_receive(conn *c, const ent_wire_addrs *a) {
    ent_peers *p = c->p;
    uint64_t now = uv_now(p->loop), wall = ent__peers_wall_ms();
    if (c->addrs_win == 0 || now - c->addrs_win >= p->sync_ms) {
        c->addrs_win = now;
        c->addrs_budget = ENT_PEERS_ADDRS_BUDGET;
    }
    for (size_t i = 0; i < a->nrecs; i++) {
        if (c->addrs_budget == 0) {
            p->stats.addrs_ignored += a->nrecs - i;
            return;
        }
        c->addrs_budget--;
        if (take(c, a->recs[i].p, a->recs[i].len, wall) != ENT_OK) {
            ent__peers_violation(c, ENT_EPROTO, "bad address record");
            return;
        }
    }
}
