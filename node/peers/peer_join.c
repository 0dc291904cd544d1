/*
 * peer_join.c - invites, the join flow on both sides, member removal and
 * the join status (spec/invites.md section 7); see peer.h.
 */
#include "node/peers/peer_join.h"
#include "node/peers/peer_int.h"
#include "node/audit/actlog.h"
#include "node/peers/partner.h"
#include "node/events/event.h"
#include "node/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *state_name(ent_join_state s) {
    switch (s) {
    case ENT_JOIN_DIALLING: return "dialling";
    case ENT_JOIN_JOINING: return "joining";
    case ENT_JOIN_SYNCING: return "syncing";
    case ENT_JOIN_DONE: return "done";
    default: return "failed";
    }
}

/* ---- invite ------------------------------------------------------------------ */

static const char *const invite_roles[] = {"owner", "admin", "member",
                                           "viewer"};

/* An invite.* event (spec/events.md section 3) in txn: data {"invite",
 * "role"} and, when given, "expires" (RFC 3339) and "member" (the
 * joiner). */
static int invite_event(ent_txn *txn, const char *kind, const uint8_t obj[32],
                        const uint8_t id[ENT_INVITE_ID_LEN], uint8_t role,
                        uint64_t expiry_s, const uint8_t *joiner,
                        const char *user, uint64_t now_ms) {
    char iid[2 * ENT_INVITE_ID_LEN + 1], t[ENT_TIMEFMT_RFC3339_LEN + 1];
    ent_hex_encode(iid, id, ENT_INVITE_ID_LEN);
    json_t *d = json_pack("{s:s,s:s}", "invite", iid, "role",
                          role < 4 ? invite_roles[role] : "?");
    int rc = d != NULL ? ENT_OK : ENT_ENOMEM;
    if (rc == ENT_OK && expiry_s != 0 &&
        ent_timefmt_rfc3339(t, expiry_s * 1000) == ENT_OK &&
        json_object_set_new(d, "expires", json_string(t)) != 0)
        rc = ENT_ENOMEM;
    if (rc == ENT_OK && joiner != NULL) {
        char org[ENT_ORG_ID_LEN + 1];
        ent_org_id_format(org, joiner);
        if (json_object_set_new(d, "member", json_string(org)) != 0)
            rc = ENT_ENOMEM;
    }
    if (rc == ENT_OK) {
        ent_event ev = {.kind = kind,
                        .has_object = true,
                        .has_org = joiner != NULL,
                        .user = user,
                        .data = d};
        memcpy(ev.object, obj, 32);
        if (joiner != NULL)
            memcpy(ev.org, joiner, 32);
        rc = ent_events_append(txn, &ev, now_ms, NULL);
    }
    json_decref(d);
    return rc;
}

static int exists_fn(ent_txn *txn, void *data) {
    const void *v;
    size_t n;
    return ent_txn_get(txn, ENT_TBL_OBJECTS, data, 32, &v, &n);
}

typedef struct type_ctx {
    const uint8_t *obj;
    char type[ENT_OP_NAME_MAX + 1];
} type_ctx;

/* The object exists; its type (from the genesis) goes into the token. */
static int type_fn(ent_txn *txn, void *data) {
    type_ctx *t = data;
    return ent_obj_type_get(txn, t->obj, t->type);
}

typedef struct put_ctx {
    const ent_invite *inv;
    const ent_identity *id;
    const char *user; /* the local user asking, NULL: none */
    uint64_t now;    /* s */
    uint64_t now_ms; /* log entry time */
} put_ctx;

/* The invite record and its invite_issued log entry, in one transaction
 * (spec/audit.md §7). */
static int put_fn(ent_txn *txn, void *data) {
    put_ctx *c = data;
    ent_actlog_entry e;
    int rc = ent_invite_record_put(txn, c->inv, c->now);
    if (rc != ENT_OK)
        return rc;
    memset(&e, 0, sizeof(e));
    e.time = c->now_ms;
    e.kind = ENT_LOG_INVITE_ISSUED;
    e.has_object = true;
    memcpy(e.object, c->inv->object, 32);
    if ((rc = ent_actlog_append(txn, &e, NULL)) != ENT_OK)
        return rc;
    return invite_event(txn, ENT_EV_INVITE_CREATED, c->inv->object,
                        c->inv->id, c->inv->role, c->inv->expiry, NULL,
                        c->user, c->now_ms);
}

int ent_peers_invite(ent_peers *p, const uint8_t obj[32], uint8_t role,
                     uint64_t ttl, char **token, uint64_t *expiry,
                     char invite_id[33]) {
    ent_invite inv;
    uint8_t myrole = 0;
    char adv[ENT_ADDR_STRLEN];
    *token = NULL;
    type_ctx tc = {obj, ""};
    int rc = ent_store_read(p->store, type_fn, &tc);
    if (rc != ENT_OK)
        return rc;
    if (!ent__peers_obj_active(p, obj) ||
        !ent__peers_is_member(p, obj, ent_identity_public(p->id), &myrole) ||
        myrole > ENT_ROLE_ADMIN)
        return ENT_EDENIED;
    uint64_t now_ms = ent__peers_wall_ms();
    uint64_t now = now_ms / 1000;
    rc = ent_invite_init(&inv, ent_identity_public(p->id), obj, tc.type,
                         role, now + ttl);
    if (rc != ENT_OK)
        return rc;
    ent_peers_advertised(p, adv);
    if ((rc = ent_invite_add_addr(&inv, adv)) != ENT_OK) {
        ENT_WARN(p->log, "invite: cannot advertise '%s' (set the address "
                         "partners reach with: entente config set advertise "
                         "HOST:PORT)", adv);
        goto out;
    }
    put_ctx pc = {&inv, p->id, ent_obj_actor(p->eng), now, now_ms};
    if ((rc = ent_store_write(p->store, put_fn, &pc)) != ENT_OK)
        goto out;
    if ((rc = ent_invite_token_encode(&inv, token)) != ENT_OK)
        goto out;
    *expiry = inv.expiry;
    ent_hex_encode(invite_id, inv.id, ENT_INVITE_ID_LEN);
out:
    ent_invite_clear(&inv);
    return rc;
}

/* ---- joiner ------------------------------------------------------------------ */

static void join_fail(ent_peers *p, join *j, const char *fmt,
                      const char *arg) {
    ent__sync_join_end(p, j->id, false);
    j->state = ENT_JOIN_FAILED;
    snprintf(j->error, sizeof(j->error), fmt, arg);
    ent_invite_clear(&j->inv);
    if (j->c != NULL) {
        conn *c = j->c;
        c->join = NULL;
        j->c = NULL;
        if (!c->closing) {
            c->closing = true;
            ent_session_close(c->s, ENT_OK);
        }
    }
}

/* Dials the next address of the token; fails the join when none is left. */
static void join_dial(ent_peers *p, join *j, const char *last_err) {
    while (j->addr_i < j->inv.n_addrs) {
        conn *c = ent__peers_dial(p, j->inv.addrs[j->addr_i], j->inviter);
        if (c != NULL) {
            c->join = j;
            j->c = c;
            return;
        }
        j->addr_i++;
    }
    char what[ENT_INVITE_MAX_ADDRS * (ENT_INVITE_MAX_ADDR_LEN + 2) + 64];
    size_t o = 0;
    what[0] = '\0';
    for (size_t i = 0; i < j->inv.n_addrs && o < sizeof(what); i++)
        o += (size_t)snprintf(what + o, sizeof(what) - o, "%s%s",
                              i ? ", " : "", j->inv.addrs[i]);
    if (o < sizeof(what) && last_err != NULL)
        snprintf(what + o, sizeof(what) - o, " (%s)", last_err);
    join_fail(p, j, "cannot reach the inviter at %s", what);
}

int ent_peers_join(ent_peers *p, const char *token, size_t len, uint64_t *id,
                   char *err, size_t errlen) {
    ent_invite inv;
    join *j = NULL;
    int rc;
    if (!p->started || p->stopping) {
        snprintf(err, errlen, "the node is not running");
        return ENT_ECLOSED;
    }
    rc = ent_invite_token_parse(token, len, &inv);
    if (rc != ENT_OK) {
        snprintf(err, errlen, "%s", ent_invite_parse_error(rc));
        return rc == ENT_EINVAL ? ENT_ECORRUPT : rc;
    }
    if (ent_invite_check_expiry(&inv, ent__peers_wall_ms() / 1000) != ENT_OK) {
        snprintf(err, errlen, "the invite has expired");
        rc = ENT_EEXPIRED;
        goto out;
    }
    if (memcmp(inv.inviter, ent_identity_public(p->id), 32) == 0) {
        snprintf(err, errlen, "this invite was made by this node");
        rc = ENT_EINVAL;
        goto out;
    }
    if (inv.role == ENT_INVITE_ROLE_PARTNER
            ? ent_peers_is_partner(p, inv.inviter)
            : ent__peers_obj_active(p, inv.object)) {
        snprintf(err, errlen, inv.role == ENT_INVITE_ROLE_PARTNER
                                  ? "already a partner of this org"
                                  : "already a member of this object");
        rc = ENT_EEXIST;
        goto out;
    }
    for (size_t i = 0; i < ENT_PEERS_MAX_JOINS; i++) {
        join *x = &p->joins[i];
        if (x->id != 0 && x->state < ENT_JOIN_DONE &&
            memcmp(x->inv.id, inv.id, ENT_INVITE_ID_LEN) == 0) {
            *id = x->id; /* the same token twice: the same join */
            goto out;
        }
    }
    for (size_t i = 0; i < ENT_PEERS_MAX_JOINS; i++) {
        join *x = &p->joins[i];
        if (x->id == 0 || x->state >= ENT_JOIN_DONE) {
            if (j == NULL || x->id == 0 || (j->id != 0 && x->id < j->id))
                j = x;
        }
    }
    if (j == NULL) {
        snprintf(err, errlen, "too many joins running");
        rc = ENT_ELIMIT;
        goto out;
    }
    /* the caller may have kept the loop busy for a while (a test or an
     * embedding that made a backlog first): the dial and handshake timers
     * below must start from the real time, not the loop's cached one */
    uv_update_time(p->loop);
    memset(j, 0, sizeof(*j));
    j->id = ++p->next_join;
    j->state = ENT_JOIN_DIALLING;
    j->inv = inv;
    memcpy(j->obj, inv.object, 32);
    memcpy(j->inviter, inv.inviter, 32);
    j->started = uv_now(p->loop);
    ent_safety_code(ent_identity_public(p->id), inv.inviter, j->safety);
    *id = j->id;
    join_dial(p, j, NULL);
out:
    ent_invite_clear(&inv);
    return rc;
}

void ent__peers_join_open(conn *c) {
    join *j = c->join;
    ent_peers *p = c->p;
    if (j == NULL || j->state != ENT_JOIN_DIALLING)
        return;
    const uint8_t *hh = ent_session_handshake_hash(c->s);
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_JOIN;
    memcpy(m.u.join.invite_id, j->inv.id, ENT_INVITE_ID_LEN);
    if (hh == NULL ||
        ent_invite_proof(m.u.join.proof, &j->inv, hh,
                         ent_identity_public(p->id)) != ENT_OK) {
        join_fail(p, j, "%s", "cannot compute the join proof");
        return;
    }
    snprintf(m.u.join.name, sizeof(m.u.join.name), "%s",
             ent_node_name(p->node));
    j->state = ENT_JOIN_JOINING;
    ent__peers_send(c, &m);
    ent_wipe(m.u.join.proof, sizeof(m.u.join.proof));
}

static const char *join_err_text(int32_t code) {
    switch (code) {
    case ENT_WIRE_C_INVITE_UNKNOWN: return "unknown invite";
    case ENT_WIRE_C_INVITE_EXPIRED: return "invite expired";
    case ENT_WIRE_C_INVITE_USED: return "invite already used";
    case ENT_WIRE_C_BAD_PROOF: return "invalid proof";
    case ENT_WIRE_C_DENIED: return "refused by the inviter";
    default: return "the inviter failed";
    }
}

/* The reason of a refused JOIN in the refusal summary (static strings). */
static const char *join_refusal(int32_t code) {
    switch (code) {
    case ENT_WIRE_C_INVITE_UNKNOWN: return "JOIN: unknown invite";
    case ENT_WIRE_C_INVITE_EXPIRED: return "JOIN: invite expired";
    case ENT_WIRE_C_INVITE_USED: return "JOIN: invite already used";
    case ENT_WIRE_C_BAD_PROOF: return "JOIN: invalid proof";
    default: return "JOIN: failed";
    }
}

static void join_check_done(conn *c, join *j) {
    ent_peers *p = c->p;
    if (j->received < j->expected || !ent__peers_obj_active(p, j->obj))
        return;
    char hex[65];
    j->state = ENT_JOIN_DONE;
    ent__sync_join_end(p, j->id, true);
    ent_hex_encode(hex, j->obj, 32);
    ENT_INFO(p->log, "join: object %s arrived (%llu ops); safety code %s",
             hex, (unsigned long long)j->received, j->safety);
    c->join = NULL;
    j->c = NULL;
}

void ent__peers_join_message(conn *c, const ent_wire_msg *m) {
    ent_peers *p = c->p;
    join *j = c->join;
    if (j == NULL || j->state != ENT_JOIN_JOINING) {
        ent__peers_fail(c, ENT_WIRE_ERROR, ENT_WIRE_C_PROTO,
                        "unexpected join answer", ENT_EPROTO);
        return;
    }
    if (m->type == ENT_WIRE_JOIN_ERR) {
        const char *why = join_err_text(m->u.error.code);
        /* the inviter's text is usually our own text for the code: once */
        bool same = strcmp(why, m->u.error.text) == 0;
        ENT_WARN(p->log, "join: refused by the inviter: %s%s%s%s", why,
                 same ? "" : " (", same ? "" : m->u.error.text,
                 same ? "" : ")");
        join_fail(p, j, "%s", join_err_text(m->u.error.code));
        return;
    }
    const ent_wire_join_ok *ok = &m->u.join_ok;
    if (memcmp(ok->object, j->obj, 32) != 0) {
        join_fail(p, j, "%s", "the inviter answered for another object");
        return;
    }
    if (j->inv.role == ENT_INVITE_ROLE_PARTNER) {
        int prc = ent__partner_joined(c, j->inv.id, j->inv.addrs,
                                      j->inv.n_addrs);
        if (prc != ENT_OK) {
            join_fail(p, j, "cannot record the partnership: %s",
                      ent_strerror(prc));
            return;
        }
        ent_invite_clear(&j->inv);
        j->state = ENT_JOIN_DONE;
        c->join = NULL;
        j->c = NULL;
        ENT_INFO(p->log, "join: partnership with %s recorded; safety code %s",
                 c->name, j->safety);
        return;
    }
    ent_op_epoch_key *boxes = calloc(ok->nkeys ? ok->nkeys : 1,
                                     sizeof(*boxes));
    if (boxes == NULL) {
        join_fail(p, j, "%s", "out of memory");
        return;
    }
    for (size_t i = 0; i < ok->nkeys; i++) {
        boxes[i].epoch = ok->keys[i].epoch;
        memcpy(boxes[i].box, ok->keys[i].box, ENT_OP_BOX_LEN);
    }
    int rc = ent_obj_accept_keys(p->eng, j->obj, boxes, ok->nkeys);
    free(boxes);
    if (rc != ENT_OK) {
        join_fail(p, j, "cannot open the object keys: %s", ent_strerror(rc));
        return;
    }
    /* the inviter is a peer from now on: its HELLO addresses, else the
     * token's */
    if (c->naddrs > 0) {
        ent__peers_upsert(p, c->org, c->name, c->addrs, c->naddrs);
    } else {
        char a[ENT_WIRE_MAX_ADDRS][ENT_WIRE_MAX_ADDR_LEN + 1];
        for (size_t i = 0; i < j->inv.n_addrs; i++)
            snprintf(a[i], sizeof(a[i]), "%s", j->inv.addrs[i]);
        ent__peers_upsert(p, c->org, c->name, a, j->inv.n_addrs);
    }
    ent_invite_clear(&j->inv);
    j->state = ENT_JOIN_SYNCING;
    j->expected = ok->nops;
    /* the history is a request of ours: its progress, and as many ops
     * admitted without rate tokens (peer_sync.c) */
    ent__sync_start(p, c->org, j->obj, j->id, true, ok->nops);
    join_check_done(c, j);
}

void ent__peers_join_ops(conn *c, const uint8_t obj[32], size_t nops) {
    join *j = c->join;
    if (j == NULL || j->state != ENT_JOIN_SYNCING ||
        memcmp(obj, j->obj, 32) != 0)
        return;
    j->received += nops;
    join_check_done(c, j);
}

void ent__peers_join_closed(conn *c, int reason) {
    join *j = c->join;
    if (j == NULL)
        return;
    j->c = NULL;
    c->join = NULL;
    if (j->state == ENT_JOIN_DIALLING && !c->open) {
        j->addr_i++;
        join_dial(c->p, j, ent_strerror(reason));
    } else if (j->state < ENT_JOIN_DONE) {
        ent_peers *p = c->p;
        join_fail(p, j, "the connection to the inviter closed (%s)",
                  ent_strerror(reason));
    }
}

void ent__peers_joins_tick(ent_peers *p, uint64_t now) {
    for (size_t i = 0; i < ENT_PEERS_MAX_JOINS; i++) {
        join *j = &p->joins[i];
        if (j->id != 0 && j->state < ENT_JOIN_DONE &&
            now - j->started > ENT_PEERS_JOIN_TIMEOUT_MS)
            join_fail(p, j, "%s", "timed out");
    }
}

void ent__peers_joins_free(ent_peers *p) {
    for (size_t i = 0; i < ENT_PEERS_MAX_JOINS; i++)
        ent_invite_clear(&p->joins[i].inv);
}

int ent_peers_join_json(ent_peers *p, uint64_t id, json_t **out) {
    for (size_t i = 0; i < ENT_PEERS_MAX_JOINS; i++) {
        join *j = &p->joins[i];
        if (j->id != id || id == 0)
            continue;
        char hex[65], org[ENT_ORG_ID_LEN + 1];
        ent_peers_sync_info in;
        memset(&in, 0, sizeof(in));
        const sync_prog *s = ent__sync_of_join(p, j->id);
        uint64_t now = uv_now(p->loop);
        if (s != NULL)
            ent__sync_info(p, s, now, &in);
        else /* not syncing yet */
            in.elapsed_ms = now - j->started;
        ent_hex_encode(hex, j->obj, 32);
        ent_org_id_format(org, j->inviter);
        json_t *eta = json_null();
        if (j->state == ENT_JOIN_DONE) {
            eta = json_integer(0);
        } else if (j->state == ENT_JOIN_SYNCING && in.ops_per_sec > 0) {
            uint64_t left = j->expected > in.applied ? j->expected - in.applied
                                                     : 0;
            eta = json_integer(
                (json_int_t)((left + in.ops_per_sec - 1) / in.ops_per_sec));
        }
        /* "expected" is 0 until JOIN_OK tells it */
        *out = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:o,s:I,s:s,s:s,s:s}",
                         "join", (json_int_t)j->id, "state",
                         state_name(j->state), "object", hex, "ops",
                         (json_int_t)j->received, "expected",
                         (json_int_t)j->expected, "applied",
                         (json_int_t)in.applied, "ops_per_sec",
                         (json_int_t)in.ops_per_sec, "eta_seconds", eta,
                         "elapsed_ms", (json_int_t)in.elapsed_ms, "error",
                         j->error, "inviter", org, "safety", j->safety);
        return *out != NULL ? ENT_OK : ENT_ENOMEM;
    }
    return ENT_ENOENT;
}

/* ---- inviter -------------------------------------------------------------------- */

typedef struct grant_ctx {
    ent_objects *eng;
    const ent_identity *id;
    const uint8_t *invite_id, *proof, *hh, *joiner;
    uint64_t now_ms;
    ent_join_grant *g;
} grant_ctx;

/* One attempt of the join transaction; ent_store_write may run it again
 * after growing the map, so what an earlier attempt handed out goes first. */
static int grant_fn(ent_txn *txn, void *data) {
    grant_ctx *c = data;
    ent_join_grant *g = c->g;
    ent_invite_record rec;
    ent_actlog_entry e;
    ent_peers_join_grant_clear(g);
    int rc = ent_invite_redeem(txn, c->invite_id, c->proof, c->hh, c->joiner,
                               c->id, c->now_ms / 1000, &rec);
    if (rc != ENT_OK)
        return rc;
    g->invite_ok = true;
    memcpy(g->object, rec.object, ENT_OBJ_ID_LEN);
    g->role = rec.role;
    if (rec.role == ENT_INVITE_ROLE_PARTNER) {
        g->partner = true;
        return ent_partner_put(txn, c->joiner, ENT_PARTNER_INVITER, c->now_ms,
                               rec.id);
    }
    memset(&e, 0, sizeof(e));
    e.time = c->now_ms;
    e.kind = ENT_LOG_INVITE_USED;
    e.has_object = e.has_org = true;
    memcpy(e.object, rec.object, 32);
    memcpy(e.org, c->joiner, 32);
    if ((rc = ent_actlog_append(txn, &e, NULL)) != ENT_OK ||
        (rc = invite_event(txn, ENT_EV_INVITE_REDEEMED, rec.object, rec.id,
                           rec.role, 0, c->joiner, NULL, c->now_ms)) != ENT_OK)
        return rc;
    return ent_obj_add_member_txn(c->eng, txn, rec.object, c->joiner,
                                  rec.role, &g->op, &g->boxes, &g->nboxes);
}

void ent_peers_join_grant_clear(ent_join_grant *g) {
    if (g == NULL)
        return;
    ent_op_free(g->op);
    free(g->boxes);
    memset(g, 0, sizeof(*g));
}

int ent_peers_join_grant(ent_store *store, ent_objects *eng,
                         const ent_identity *id,
                         const uint8_t invite_id[ENT_INVITE_ID_LEN],
                         const uint8_t proof[ENT_INVITE_PROOF_LEN],
                         const uint8_t hh[ENT_HASH_LEN],
                         const uint8_t joiner[ENT_PK_LEN], uint64_t now_ms,
                         ent_join_grant *out) {
    if (out == NULL)
        return ENT_EINVAL;
    memset(out, 0, sizeof(*out));
    if (store == NULL || eng == NULL || id == NULL || invite_id == NULL ||
        proof == NULL || hh == NULL || joiner == NULL)
        return ENT_EINVAL;
    grant_ctx c = {.eng = eng,
                   .id = id,
                   .invite_id = invite_id,
                   .proof = proof,
                   .hh = hh,
                   .joiner = joiner,
                   .now_ms = now_ms,
                   .g = out};
    int rc = ent_store_write(store, grant_fn, &c);
    if (rc != ENT_OK) {
        bool invite_ok = out->invite_ok;
        ent_peers_join_grant_clear(out);
        out->invite_ok = invite_ok;
    }
    return rc;
}

/*
 * JOIN from c: in one transaction, redeem the invite (one-time, bound to
 * this session's handshake hash and the org it authenticated) and add the
 * org as a member (ent_peers_join_grant); then answer JOIN_OK with its key
 * boxes and the number of history ops, send the history in causal order
 * and tell the other members about the new member.
 */
void ent__peers_handle_join(conn *c, const ent_wire_join *jm) {
    ent_peers *p = c->p;
    char org[ENT_ORG_ID_LEN + 1], hex[65];
    ent_join_grant g;
    memset(&g, 0, sizeof(g));
    c->join_seen = true;
    ent_org_id_format(org, c->org);
    const uint8_t *hh = ent_session_handshake_hash(c->s);
    int rc = hh != NULL ? ent_peers_join_grant(p->store, p->eng, p->id,
                                               jm->invite_id, jm->proof, hh,
                                               c->org, ent__peers_wall_ms(),
                                               &g)
                        : ENT_EINVAL;
    if (rc != ENT_OK && (hh == NULL || !g.invite_ok)) {
        int32_t code = rc == ENT_ENOENT    ? ENT_WIRE_C_INVITE_UNKNOWN
                       : rc == ENT_EEXPIRED ? ENT_WIRE_C_INVITE_EXPIRED
                       : rc == ENT_EUSED    ? ENT_WIRE_C_INVITE_USED
                       : rc == ENT_EDENIED  ? ENT_WIRE_C_BAD_PROOF
                                            : ENT_WIRE_C_INTERNAL;
        p->stats.joins_failed++;
        /* counted in the refusal summary: a line per attempt would let
         * anyone write the log */
        ent_session_mgr_refused(p->mgr, ent_session_peer_host(c->s),
                                join_refusal(code));
        ENT_DEBUG(p->log, "join from %s refused: %s", org, join_err_text(code));
        ent__peers_fail(c, ENT_WIRE_JOIN_ERR, code, join_err_text(code),
                        ENT_EDENIED);
        return;
    }
    if (rc != ENT_OK) {
        /* the invite was good, the add failed: nothing committed, the
         * invite is still unused */
        ent_hex_encode(hex, g.object, 32);
        p->stats.joins_failed++;
        ENT_WARN(p->log, "join from %s: adding the member to %s: %s", org, hex,
                 ent_strerror(rc));
        ent__peers_fail(c, ENT_WIRE_JOIN_ERR,
                        rc == ENT_EEXIST ? ENT_WIRE_C_DENIED
                                         : ENT_WIRE_C_INTERNAL,
                        rc == ENT_EEXIST ? "already a member" : "internal error",
                        ENT_EDENIED);
        return;
    }
    if (g.partner) {
        ent__partner_granted(c, jm->name);
        p->stats.joins_ok++;
        ent_peers_join_grant_clear(&g);
        return;
    }
    const uint8_t *obj = g.object;
    ent_op_epoch_key *boxes = g.boxes;
    size_t nboxes = g.nboxes;
    ent_hex_encode(hex, obj, 32);
    ent__guard_member(c); /* a member now, no longer a guest */
    ent__peers_upsert(p, c->org, jm->name, c->addrs, c->naddrs);

    /* the history, read a window at a time: nothing before the first op
     * grows with the object's ops (spec/gossip.md "Growth") */
    uint64_t nops = 0;
    ent_gossip_hist *hist = NULL;
    if (ent_gossip_hist_open(p->gossip, obj, &hist, &nops) != ENT_OK)
        ENT_WARN(p->log, "join: reading the history of %s", hex);
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_JOIN_OK;
    memcpy(m.u.join_ok.object, obj, 32);
    ent_wire_join_key *keys = calloc(nboxes ? nboxes : 1, sizeof(*keys));
    if (keys != NULL) {
        for (size_t i = 0; i < nboxes && i < ENT_WIRE_MAX_JOIN_KEYS; i++) {
            keys[i].epoch = boxes[i].epoch;
            memcpy(keys[i].box, boxes[i].box, ENT_WIRE_BOX_LEN);
        }
        m.u.join_ok.keys = keys;
        m.u.join_ok.nkeys = nboxes;
    }
    m.u.join_ok.nops = nops;
    ent__peers_send(c, &m);
    free(keys);
    if (hist != NULL)
        ent__peers_job_add_hist(c, obj, hist);
    if (g.op != NULL) {
        const uint8_t *raws[1] = {g.op->raw};
        size_t lens[1] = {g.op->rawlen};
        ent__peers_flush(p); /* after the local ops before it, in order */
        ent__peers_push(p, obj, raws, lens, 1, c, NULL);
    }
    p->stats.joins_ok++;
    char safety[ENT_SAFETY_CODE_LEN + 1];
    ent_safety_code(ent_identity_public(p->id), c->org, safety);
    ENT_INFO(p->log, "join: %s (%s) joined object %s; safety code %s", org,
             jm->name, hex, safety);
    ent_peers_join_grant_clear(&g);
}

/* ---- removal ------------------------------------------------------------------- */

int ent_peers_remove_member(ent_peers *p, const uint8_t obj[32],
                            const uint8_t org[ENT_PK_LEN]) {
    ent_op *op = NULL;
    int rc = ent_obj_remove_member(p->eng, obj, org, &op);
    if (rc != ENT_OK)
        return rc;
    /* the removed org reads this op (old epoch key) and learns it is out;
     * from now on it is not a member, so nothing else goes to it */
    p->extra_org = org;
    ent_node_op_created(p->node, op);
    p->extra_org = NULL;
    return ENT_OK;
}

int ent_peers_set_role(ent_peers *p, const uint8_t obj[32],
                       const uint8_t org[ENT_PK_LEN], uint8_t role) {
    ent_op *op = NULL;
    ent_op_epoch_key *boxes = NULL;
    size_t nboxes = 0;
    uint8_t now = 0;
    int rc = ent_store_read(p->store, exists_fn, (void *)obj);
    if (rc != ENT_OK)
        return rc;
    if (!ent__peers_is_member(p, obj, org, &now))
        return ENT_ENOTMEMBER; /* a new member comes by invite */
    rc = ent_obj_add_member(p->eng, obj, org, role, &op, &boxes, &nboxes);
    free(boxes);
    if (rc != ENT_OK)
        return rc;
    ent_node_op_created(p->node, op);
    return ENT_OK;
}

int ent_peers_leave(ent_peers *p, const uint8_t obj[32]) {
    ent_op *op = NULL;
    int rc = ent_obj_leave(p->eng, obj, &op);
    if (rc != ENT_OK)
        return rc;
    /* this org is out once it applied its own leave: the op goes to every
     * connected member (as a removal does), whose lowest owner/admin then
     * rotates the key */
    p->extra_org = ent_identity_public(p->id);
    ent_node_op_created(p->node, op);
    p->extra_org = NULL;
    return ENT_OK;
}

/* ---- invites: list, revoke --------------------------------------------------- */

typedef struct inv_list_ctx {
    const uint8_t *obj; /* NULL: all */
    uint64_t now;       /* s */
    json_t *arr;
} inv_list_ctx;

static int inv_row(void *data, const ent_invite_record *rec) {
    inv_list_ctx *c = data;
    static const char *const roles[] = {"owner", "admin", "member", "viewer"};
    char iid[2 * ENT_INVITE_ID_LEN + 1], obj[65], by[ENT_ORG_ID_LEN + 1];
    if (c->obj != NULL && memcmp(c->obj, rec->object, 32) != 0)
        return 0;
    ent_hex_encode(iid, rec->id, ENT_INVITE_ID_LEN);
    ent_hex_encode(obj, rec->object, 32);
    if (rec->used)
        ent_org_id_format(by, rec->used_by);
    const char *status = rec->used             ? "used"
                         : c->now >= rec->expiry ? "expired"
                                                 : "pending";
    json_t *row = json_pack(
        "{s:s,s:s,s:s,s:I,s:I,s:s,s:o,s:I}", "invite_id", iid, "object", obj,
        "role", rec->role < 4 ? roles[rec->role] : "?", "created",
        (json_int_t)rec->created, "expires", (json_int_t)rec->expiry, "status",
        status, "used_by", rec->used ? json_string(by) : json_null(),
        "used_at", (json_int_t)rec->used_at);
    if (row == NULL || json_array_append_new(c->arr, row) != 0)
        return ENT_ENOMEM;
    return 0;
}

static int inv_list_fn(ent_txn *txn, void *data) {
    inv_list_ctx *c = data;
    json_array_clear(c->arr);
    return ent_invite_list(txn, inv_row, c);
}

int ent_peers_invites_json(ent_peers *p, const uint8_t *obj, json_t **out) {
    inv_list_ctx c = {.obj = obj, .now = ent__peers_wall_ms() / 1000};
    *out = NULL;
    if ((c.arr = json_array()) == NULL)
        return ENT_ENOMEM;
    int rc = ent_store_read(p->store, inv_list_fn, &c);
    if (rc != ENT_OK) {
        json_decref(c.arr);
        return rc;
    }
    *out = c.arr;
    return ENT_OK;
}

typedef struct revoke_ctx {
    const uint8_t *id;
    const char *user;
} revoke_ctx;

static int revoke_fn(ent_txn *txn, void *data) {
    revoke_ctx *c = data;
    ent_invite_record rec;
    int rc = ent_invite_record_get(txn, c->id, &rec);
    if (rc == ENT_OK)
        rc = ent_invite_revoke(txn, c->id);
    if (rc == ENT_OK)
        rc = invite_event(txn, ENT_EV_INVITE_REVOKED, rec.object, rec.id,
                          rec.role, 0, NULL, c->user, ent__peers_wall_ms());
    return rc;
}

int ent_peers_invite_revoke(ent_peers *p, const uint8_t id[16]) {
    revoke_ctx c = {id, ent_obj_actor(p->eng)};
    return ent_store_write(p->store, revoke_fn, &c);
}
