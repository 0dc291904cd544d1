/*
 * peer_dial.c - the set of sessions and how it is kept up: a conn for every
 * session (made on accept or dial, freed when the session closes), dialling
 * an address, the address this node advertises, and reconnecting known
 * peers that share an active object with this org, with exponential
 * backoff and jitter ($ENTENTE_DIAL_BASE_MS, cap ENT_PEERS_DIAL_CAP_MS). A
 * protocol violation drops the session and scores the peer down, which
 * delays its next dial (spec/sessions.md "Scoring") and is a strike
 * (peer_guard.c). It calls down into peer_guard.c, peer_table.c,
 * peer_send.c and advertise.c only.
 */
#include "node/home.h"
#include "node/peers/advertise.h"
#include "node/peers/peer_int.h"
#include "node/peers/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the session set ----------------------------------------------------- */

conn *ent__peers_conn_new(ent_peers *p) {
    conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->p = p;
    c->tokens = (int64_t)ENT_WIRE_PEER_OPS_BURST * 1000;
    c->tokens_at = uv_now(p->loop);
    c->last_rx = c->tokens_at;
    c->throttle_win = c->tokens_at;
    c->next = p->conns;
    if (p->conns != NULL)
        p->conns->prev = c;
    p->conns = c;
    return c;
}

void ent__peers_conn_free(conn *c) {
    ent_peers *p = c->p;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    ent__guard_conn_gone(c);
    /* batches of c still in the pool are applied without an ACK */
    ent_verifier_detach(ent_gossip_verifier(p->gossip), c);
    ent__peers_queues_free(c);
    free(c);
}

/* ---- dialling and reconnecting ------------------------------------------- */

static int read_advertise(ent_txn *txn, void *data) {
    int rc = ent_home_meta_get(txn, ENT_META_ADVERTISE, data, ENT_ADDR_STRLEN);
    return rc == ENT_ENOENT ? ENT_OK : rc;
}

/* The setting is read from the store each time (a read transaction, on a
 * session's start or an invite), so that `entente config set advertise` on
 * the running node applies to the next invite and HELLO. */
void ent_peers_advertised(ent_peers *p, char out[ENT_ADDR_STRLEN]) {
    char conf[ENT_ADDR_STRLEN] = "";
    int rc = ent_store_read(p->store, read_advertise, conf);
    if (rc != ENT_OK) {
        ENT_WARN(p->log, "peers: reading the advertise setting: %s",
                 ent_strerror(rc));
        conf[0] = '\0';
    }
    ent_advertise_pick(out, getenv("ENTENTE_ADVERTISE"), conf,
                       ent_node_listen(p->node), NULL, NULL, NULL);
}

uint64_t ent__peers_backoff(ent_peers *p, uint32_t failures) {
    uint64_t d = p->dial_base_ms;
    for (uint32_t i = 0; i < failures && d < ENT_PEERS_DIAL_CAP_MS; i++)
        d *= 2;
    if (d > ENT_PEERS_DIAL_CAP_MS)
        d = ENT_PEERS_DIAL_CAP_MS;
    uint32_t r;
    ent_random(&r, sizeof(r));
    return d / 2 + r % (d / 2 + 1); /* jitter: [d/2, d] */
}

conn *ent__peers_dial(ent_peers *p, const char *addr, const uint8_t org[32]) {
    ent_session *s = NULL;
    if (p->mgr == NULL || p->stopping)
        return NULL;
    conn *c = ent__peers_conn_new(p);
    if (c == NULL)
        return NULL;
    int rc = ent_session_dial(p->mgr, addr, org, &s);
    if (rc != ENT_OK) {
        ENT_INFO(p->log, "peers: dial %s: %s", addr, ent_strerror(rc));
        ent__peers_conn_free(c);
        return NULL;
    }
    c->s = s;
    ent_session_set_data(s, c);
    return c;
}

static bool connected_any(ent_peers *p, const uint8_t org[32]) {
    for (conn *c = p->conns; c != NULL; c = c->next)
        if (c->has_org && memcmp(c->org, org, 32) == 0 && !c->closing)
            return true;
    return false;
}

/* Sessions this node dialled to known peers and has not closed. */
static size_t dialled(ent_peers *p) {
    size_t n = 0;
    for (conn *c = p->conns; c != NULL; c = c->next)
        n += c->for_peer && !c->closing;
    return n;
}

/* Every fellow member whose address is known (HELLO, invite or a signed
 * record, spec/gossip.md §10) and that has no session is dialled when
 * due, at most max_dialled (ENT_PEERS_MAX_DIALLED) sessions at once, so
 * that direct connections stay within the session manager's caps
 * (peer_guard.c keeps the limit with the other admission limits). */
void ent__peers_dial_known(ent_peers *p, uint64_t now) {
    size_t nd = dialled(p);
    for (size_t i = 0; i < p->npeers && nd < p->lim.max_dialled; i++) {
        peer_ent *e = &p->peers[i];
        if (e->dialling || e->naddrs == 0 || now < e->next_dial ||
            connected_any(p, e->org))
            continue;
        if (!ent__peers_shares_any(p, e->org))
            continue;
        const char *addr = e->addrs[e->failures % e->naddrs];
        conn *c = ent__peers_dial(p, addr, e->org);
        if (c == NULL) {
            e->failures++;
            e->next_dial = now + ent__peers_backoff(p, e->failures);
            continue;
        }
        memcpy(c->org, e->org, 32);
        c->has_org = true;
        c->for_peer = true;
        e->dialling = true;
        nd++;
    }
}

/* ---- scoring ------------------------------------------------------------- */

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
    e->next_dial =
        uv_now(p->loop) + ent__peers_backoff(p, e->failures + e->score);
    int rc = ent__peers_save(p, e);
    if (rc != ENT_OK)
        ENT_WARN(p->log, "peers: saving a peer record: %s", ent_strerror(rc));
}

void ent__peers_violation(conn *c, int rc, const char *what) {
    char org[ENT_ORG_ID_LEN + 1] = "?";
    if (c->has_org)
        ent_org_id_format(org, c->org);
    ENT_WARN(c->p->log, "peers: dropping %s (%s): %s: %s",
             ent_session_peer_addr(c->s), org, what, ent_strerror(rc));
    c->p->stats.violations++;
    score_down(c);
    ent__peers_fail(c, ENT_WIRE_ERROR, ent_wire_code_from_err(rc), what, rc);
    ent__guard_strike(c, what); /* repeated: a ban (peer_guard.c) */
}
