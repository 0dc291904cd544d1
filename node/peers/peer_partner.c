/*
 * peer_partner.c - partnerships over sessions (spec/overlap.md §3, §5):
 * partnership invites and both ends of their redemption, the list of
 * partners, and the small interface through which a layer above
 * (node/overlap/) receives OVERLAP messages and session changes and sends
 * its own (ent_peers_ext; the peer layer never includes that layer).
 */
#include "node/audit/actlog.h"
#include "node/peers/partner.h"
#include "node/peers/peer_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int active_fn(ent_txn *txn, void *data) {
    const uint8_t *org = data;
    ent_partner pr;
    int rc = ent_partner_get(txn, org, &pr);
    if (rc != ENT_OK)
        return rc;
    return pr.state == ENT_PARTNER_ACTIVE ? ENT_OK : ENT_ENOENT;
}

bool ent_peers_is_partner(ent_peers *p, const uint8_t org[32]) {
    return ent_store_read(p->store, active_fn, (void *)org) == ENT_OK;
}

typedef struct pinv_ctx {
    const ent_invite *inv;
    uint64_t now_ms;
} pinv_ctx;

/* The invite record and its invite_issued entry (no object). */
static int pinv_fn(ent_txn *txn, void *data) {
    pinv_ctx *c = data;
    ent_actlog_entry e;
    int rc = ent_invite_record_put(txn, c->inv, c->now_ms / 1000);
    if (rc != ENT_OK)
        return rc;
    memset(&e, 0, sizeof(e));
    e.time = c->now_ms;
    e.kind = ENT_LOG_INVITE_ISSUED;
    return ent_actlog_append(txn, &e, NULL);
}

int ent_peers_partner_invite(ent_peers *p, uint64_t ttl, char **token,
                             uint64_t *expiry, char invite_id[33]) {
    static const uint8_t none[32];
    ent_invite inv;
    char adv[ENT_ADDR_STRLEN];
    *token = NULL;
    uint64_t now_ms = ent__peers_wall_ms();
    int rc = ent_invite_init(&inv, ent_identity_public(p->id), none,
                             ENT_INVITE_PARTNER_TYPE, ENT_INVITE_ROLE_PARTNER,
                             now_ms / 1000 + ttl);
    if (rc != ENT_OK)
        return rc;
    ent_peers_advertised(p, adv);
    if ((rc = ent_invite_add_addr(&inv, adv)) != ENT_OK)
        goto out;
    pinv_ctx pc = {&inv, now_ms};
    if ((rc = ent_store_write(p->store, pinv_fn, &pc)) != ENT_OK ||
        (rc = ent_invite_token_encode(&inv, token)) != ENT_OK)
        goto out;
    *expiry = inv.expiry;
    ent_hex_encode(invite_id, inv.id, ENT_INVITE_ID_LEN);
out:
    ent_invite_clear(&inv);
    return rc;
}

/* A session with a partner is ready: tell the layer above. */
void ent__partner_session(conn *c, bool open) {
    ent_peers *p = c->p;
    if (p->ext.on_session != NULL && c->has_org)
        p->ext.on_session(p->ext.data, c->org, open);
}

void ent__partner_granted(conn *c, const char *name) {
    ent_peers *p = c->p;
    char org[ENT_ORG_ID_LEN + 1], safety[ENT_SAFETY_CODE_LEN + 1];
    ent_wire_msg m;
    ent__guard_member(c);
    ent__peers_upsert(p, c->org, name, c->addrs, c->naddrs);
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_JOIN_OK; /* object all zeros, no keys, no ops */
    ent__peers_send(c, &m);
    ent_org_id_format(org, c->org);
    ent_safety_code(ent_identity_public(p->id), c->org, safety);
    ENT_INFO(p->log, "partner: %s (%s) accepted our partnership invite; "
                     "safety code %s",
             org, name, safety);
    ent__partner_session(c, true);
}

typedef struct pjoin_ctx {
    const uint8_t *org, *invite;
} pjoin_ctx;

static int pjoin_fn(ent_txn *txn, void *data) {
    pjoin_ctx *c = data;
    return ent_partner_put(txn, c->org, ENT_PARTNER_JOINER,
                           ent__peers_wall_ms(), c->invite);
}

int ent__partner_joined(conn *c, const uint8_t invite[16],
                        const char (*taddrs)[ENT_INVITE_MAX_ADDR_LEN + 1],
                        size_t ntaddrs) {
    ent_peers *p = c->p;
    pjoin_ctx pc = {c->org, invite};
    int rc = ent_store_write(p->store, pjoin_fn, &pc);
    if (rc != ENT_OK && rc != ENT_EEXIST)
        return rc;
    if (c->naddrs > 0) {
        ent__peers_upsert(p, c->org, c->name, c->addrs, c->naddrs);
    } else {
        char a[ENT_WIRE_MAX_ADDRS][ENT_WIRE_MAX_ADDR_LEN + 1];
        for (size_t i = 0; i < ntaddrs && i < ENT_WIRE_MAX_ADDRS; i++)
            snprintf(a[i], sizeof(a[i]), "%s", taddrs[i]);
        ent__peers_upsert(p, c->org, c->name, a, ntaddrs);
    }
    c->known = true;
    ent__partner_session(c, true);
    return ENT_OK;
}

typedef struct plist_ctx {
    ent_peers *p;
    json_t *arr;
} plist_ctx;

static int plist_row(void *data, const ent_partner *pr) {
    plist_ctx *c = data;
    char org[ENT_ORG_ID_LEN + 1];
    ent_org_id_format(org, pr->org);
    peer_ent *e = ent__peers_find(c->p, pr->org);
    json_t *o = json_pack(
        "{s:s,s:s?,s:s,s:s,s:I,s:b}", "org", org, "name",
        e != NULL && e->name[0] ? e->name : NULL, "state",
        pr->state == ENT_PARTNER_ACTIVE ? "active" : "ended", "side",
        pr->side == ENT_PARTNER_INVITER ? "inviter" : "joiner", "since_ms",
        (json_int_t)pr->since, "connected",
        ent_peers_connected(c->p, pr->org) > 0);
    if (o == NULL || json_array_append_new(c->arr, o) != 0)
        return ENT_ENOMEM;
    return 0;
}

static int plist_fn(ent_txn *txn, void *data) {
    return ent_partner_foreach(txn, plist_row, data);
}

int ent_peers_partners_json(ent_peers *p, json_t **out) {
    plist_ctx c = {p, json_array()};
    *out = NULL;
    if (c.arr == NULL)
        return ENT_ENOMEM;
    int rc = ent_store_read(p->store, plist_fn, &c);
    if (rc != ENT_OK) {
        json_decref(c.arr);
        return rc;
    }
    *out = c.arr;
    return ENT_OK;
}

void ent_peers_set_ext(ent_peers *p, const ent_peers_ext *ext) {
    if (ext != NULL)
        p->ext = *ext;
    else
        memset(&p->ext, 0, sizeof(p->ext));
}

/* The open session with org that has said HELLO, or NULL. */
static conn *ready_conn(ent_peers *p, const uint8_t org[32]) {
    for (conn *c = p->conns; c != NULL; c = c->next)
        if (c->has_org && c->open && c->got_hello && !c->closing &&
            !c->guest && c->join == NULL && memcmp(c->org, org, 32) == 0)
            return c;
    return NULL;
}

bool ent_peers_ready(ent_peers *p, const uint8_t org[32]) {
    return ready_conn(p, org) != NULL;
}

int ent_peers_overlap_send(ent_peers *p, const uint8_t org[32],
                           const ent_wire_overlap *o) {
    conn *c = ready_conn(p, org);
    if (c == NULL)
        return ENT_ECLOSED;
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_OVERLAP;
    m.u.overlap = *o;
    return ent__peers_send(c, &m);
}

size_t ent_peers_queued(ent_peers *p, const uint8_t org[32]) {
    conn *c = ready_conn(p, org);
    return c != NULL ? c->queued : 0;
}

void ent__partner_message(conn *c, const ent_wire_overlap *o) {
    ent_peers *p = c->p;
    if (p->ext.on_overlap == NULL || !ent_peers_is_partner(p, c->org)) {
        ent__peers_send_error(c, ENT_WIRE_C_DENIED, "not a partner");
        return;
    }
    p->ext.on_overlap(p->ext.data, c->org, o);
}
