/*
 * peer_sync.c - progress of backlog syncs and the credit of requested ops
 * (spec/protocol.md section 5, spec/gossip.md "Rate limit and requested
 * ops", spec/api.md GET /v1/status "syncs").
 *
 * A backlog sync is the ops of one object that this node asked one peer
 * for: a join's history (JOIN_OK says how many) or what a version vector
 * exchange found missing (the sum over authors of the peer's seq minus
 * ours). For each, the node keeps in memory how many ops it expects, how
 * many arrived and were stored, when it started and the recent rate; at
 * most ENT_PEERS_MAX_SYNCS of them, finished ones for ENT_PEERS_SYNC_KEEP_MS.
 *
 * The same count is a credit: that many op records of that object from
 * that peer are admitted without taking tokens from the session's bucket,
 * since they answer our own request. Anything beyond it, or of an object
 * nothing was asked for, still pays. A refused op ends the credit.
 */
#include "node/bytes.h"
#include "node/peers/peer_int.h"

#include <stdlib.h>
#include <string.h>

/* Largest gap credited at once: a peer's claims are its own. */
#define SYNC_MAX_GAP ((uint64_t)1 << 40)

static sync_prog *running(ent_peers *p, const uint8_t peer[32],
                          const uint8_t obj[32]) {
    for (size_t i = 0; i < ENT_PEERS_MAX_SYNCS; i++) {
        sync_prog *s = &p->syncs[i];
        if (s->id != 0 && s->state == ENT_SYNC_RECEIVING &&
            memcmp(s->peer, peer, 32) == 0 && memcmp(s->obj, obj, 32) == 0)
            return s;
    }
    return NULL;
}

/* A free slot, else the oldest finished sync's, else the oldest one's. */
static sync_prog *slot(ent_peers *p) {
    sync_prog *fin = NULL, *any = NULL;
    for (size_t i = 0; i < ENT_PEERS_MAX_SYNCS; i++) {
        sync_prog *s = &p->syncs[i];
        if (s->id == 0)
            return s;
        if (s->state != ENT_SYNC_RECEIVING && (fin == NULL || s->id < fin->id))
            fin = s;
        if (any == NULL || s->id < any->id)
            any = s;
    }
    return fin != NULL ? fin : any;
}

static void finish(sync_prog *s, ent_sync_state st, uint64_t now) {
    s->state = st;
    s->ended = now;
    s->credit = 0;
}

sync_prog *ent__sync_start(ent_peers *p, const uint8_t peer[32],
                           const uint8_t obj[32], uint64_t join_id, bool known,
                           uint64_t expected) {
    uint64_t now = uv_now(p->loop);
    if (expected > SYNC_MAX_GAP)
        expected = SYNC_MAX_GAP;
    sync_prog *s = running(p, peer, obj);
    if (s != NULL) {
        /* expected counts what is not stored yet, which includes records
         * received and not yet processed: they took credit already */
        uint64_t inflight = s->received - s->processed;
        uint64_t rest = expected > inflight ? expected - inflight : 0;
        if (join_id != 0)
            s->join = join_id;
        if (known) {
            if (!s->expected_known || s->expected < s->processed + expected)
                s->expected = s->processed + expected;
            s->expected_known = true;
            if (s->credit < rest)
                s->credit = rest;
        }
        return s;
    }
    s = slot(p);
    memset(s, 0, sizeof(*s));
    s->id = ++p->next_sync;
    s->state = ENT_SYNC_RECEIVING;
    memcpy(s->peer, peer, 32);
    memcpy(s->obj, obj, 32);
    s->join = join_id;
    s->expected_known = known;
    s->expected = known ? expected : 0;
    s->credit = known ? expected : 0;
    s->started = s->last_rx = s->win_at = now;
    return s;
}

/* ---- the gap of a version vector ----------------------------------------- */

typedef struct gap_q {
    const uint8_t *obj, *vv;
    size_t n_vv;
    uint64_t gap, seq;
} gap_q;

static int last_seq(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    gap_q *q = data;
    if (klen == 72 || klen == 104) /* 104: a fork's second version */
        q->seq = ent_be64_get((const uint8_t *)key + 64);
    return 1;
}

static int gap_fn(ent_txn *txn, void *data) {
    gap_q *q = data;
    uint8_t prefix[64];
    q->gap = 0;
    memcpy(prefix, q->obj, 32);
    for (size_t i = 0; i < q->n_vv; i++) {
        const uint8_t *e = q->vv + i * ENT_PEERS_VV_ENTRY;
        uint64_t theirs = ent_be64_get(e + 32);
        memcpy(prefix + 32, e, 32);
        q->seq = 0;
        int rc = ent_txn_scan_reverse(txn, ENT_TBL_OPS, prefix, 64, last_seq,
                                      q);
        if (rc != ENT_OK)
            return rc;
        if (theirs > q->seq) {
            uint64_t d = theirs - q->seq;
            q->gap = d > SYNC_MAX_GAP - q->gap ? SYNC_MAX_GAP : q->gap + d;
        }
    }
    return ENT_OK;
}

void ent__sync_vv(conn *c, const uint8_t obj[32], const uint8_t *vv,
                  size_t n_vv) {
    ent_peers *p = c->p;
    if (!c->has_org || (n_vv > 0 && vv == NULL))
        return;
    for (size_t i = 1; i < n_vv; i++)
        if (memcmp(vv + (i - 1) * 40, vv + i * 40, 32) >= 0)
            return; /* gossip refuses it */
    sync_prog *s = running(p, c->org, obj);
    if (s == NULL && (!ent__peers_obj_active(p, obj) ||
                      !ent__peers_is_member(p, obj, c->org, NULL)))
        return;
    gap_q q = {.obj = obj, .vv = vv, .n_vv = n_vv};
    if (ent_store_read(p->store, gap_fn, &q) != ENT_OK)
        return;
    if (q.gap > 0)
        ent__sync_start(p, c->org, obj, 0, true, q.gap);
    else if (s != NULL && s->join == 0) /* others delivered the rest */
        finish(s, ENT_SYNC_DONE, uv_now(p->loop));
}

/* ---- counting ------------------------------------------------------------- */

uint64_t ent__sync_on_ops(ent_peers *p, const uint8_t peer[32],
                          const uint8_t obj[32], uint64_t n) {
    sync_prog *s = running(p, peer, obj);
    if (s == NULL)
        return 0;
    s->received += n;
    s->last_rx = uv_now(p->loop);
    uint64_t take = n < s->credit ? n : s->credit;
    s->credit -= take;
    return take;
}

void ent__sync_processed(ent_peers *p, const uint8_t peer[32],
                         const uint8_t obj[32], uint64_t nrecv,
                         uint64_t napplied, uint64_t nrefused) {
    sync_prog *s = running(p, peer, obj);
    if (s == NULL)
        return;
    if (s->processed + nrecv > s->received) {
        /* records that were on their way when the sync started: they are
         * part of the gap, so they use up credit too */
        uint64_t extra = s->processed + nrecv - s->received;
        s->received += extra;
        s->credit -= extra < s->credit ? extra : s->credit;
    }
    s->processed += nrecv;
    s->applied += napplied;
    if (nrefused > 0)
        s->credit = 0;
    if (s->join == 0 && s->expected_known && s->processed >= s->expected)
        finish(s, ENT_SYNC_DONE, uv_now(p->loop));
}

void ent__sync_closed(ent_peers *p, const uint8_t peer[32]) {
    uint64_t now = uv_now(p->loop);
    for (size_t i = 0; i < ENT_PEERS_MAX_SYNCS; i++) {
        sync_prog *s = &p->syncs[i];
        if (s->id != 0 && s->state == ENT_SYNC_RECEIVING && s->join == 0 &&
            memcmp(s->peer, peer, 32) == 0)
            finish(s, ENT_SYNC_FAILED, now);
    }
}

void ent__sync_join_end(ent_peers *p, uint64_t join_id, bool done) {
    for (size_t i = 0; i < ENT_PEERS_MAX_SYNCS; i++) {
        sync_prog *s = &p->syncs[i];
        if (s->id != 0 && s->join == join_id &&
            s->state == ENT_SYNC_RECEIVING)
            finish(s, done ? ENT_SYNC_DONE : ENT_SYNC_FAILED,
                   uv_now(p->loop));
    }
}

const sync_prog *ent__sync_of_join(const ent_peers *p, uint64_t join_id) {
    const sync_prog *best = NULL;
    for (size_t i = 0; i < ENT_PEERS_MAX_SYNCS && join_id != 0; i++) {
        const sync_prog *s = &p->syncs[i];
        if (s->id != 0 && s->join == join_id && (best == NULL || s->id > best->id))
            best = s;
    }
    return best;
}

void ent__sync_tick(ent_peers *p, uint64_t now) {
    for (size_t i = 0; i < ENT_PEERS_MAX_SYNCS; i++) {
        sync_prog *s = &p->syncs[i];
        if (s->id == 0)
            continue;
        if (s->state != ENT_SYNC_RECEIVING) {
            if (now - s->ended > ENT_PEERS_SYNC_KEEP_MS)
                memset(s, 0, sizeof(*s));
            continue;
        }
        if (s->join == 0 && now - s->last_rx > ENT_PEERS_SYNC_IDLE_MS) {
            finish(s, ENT_SYNC_FAILED, now);
            continue;
        }
        if (now - s->win_at >= ENT_PEERS_SYNC_WINDOW_MS) {
            uint64_t inst = (s->applied - s->win_applied) * 1000 /
                            (now - s->win_at);
            s->rate = s->has_rate ? (s->rate + inst) / 2 : inst;
            s->has_rate = true;
            s->win_at = now;
            s->win_applied = s->applied;
        }
    }
}

/* ---- reporting ------------------------------------------------------------ */

void ent__sync_info(const ent_peers *p, const sync_prog *s, uint64_t now,
                    ent_peers_sync_info *out) {
    memset(out, 0, sizeof(*out));
    memcpy(out->object, s->obj, 32);
    memcpy(out->peer, s->peer, 32);
    out->state = s->state;
    out->join = s->join;
    out->expected_known = s->expected_known;
    out->expected = s->expected;
    out->received = s->received;
    out->applied = s->applied;
    out->credit = s->credit;
    uint64_t end = s->state == ENT_SYNC_RECEIVING ? now : s->ended;
    out->elapsed_ms = end > s->started ? end - s->started : 0;
    if (s->state == ENT_SYNC_RECEIVING && s->has_rate)
        out->ops_per_sec = s->rate;
    else if (out->elapsed_ms > 0)
        out->ops_per_sec = s->applied * 1000 / out->elapsed_ms;
    else
        out->ops_per_sec = 0;
}

int ent_peers_sync_get(const ent_peers *p, const uint8_t obj[32],
                       ent_peers_sync_info *out) {
    const sync_prog *best = NULL;
    for (size_t i = 0; i < ENT_PEERS_MAX_SYNCS; i++) {
        const sync_prog *s = &p->syncs[i];
        if (s->id != 0 && memcmp(s->obj, obj, 32) == 0 &&
            (best == NULL || s->id > best->id))
            best = s;
    }
    if (best == NULL)
        return ENT_ENOENT;
    ent__sync_info(p, best, uv_now(p->loop), out);
    return ENT_OK;
}

static const char *state_name(ent_sync_state st) {
    switch (st) {
    case ENT_SYNC_RECEIVING: return "receiving";
    case ENT_SYNC_DONE: return "done";
    default: return "failed";
    }
}

static json_t *sync_json(ent_peers *p, const sync_prog *s, uint64_t now) {
    ent_peers_sync_info in;
    char hex[65], org[ENT_ORG_ID_LEN + 1];
    ent__sync_info(p, s, now, &in);
    ent_hex_encode(hex, in.object, 32);
    ent_org_id_format(org, in.peer);
    const char *name = ent_peers_org_name(p, in.peer);
    json_t *eta = json_null();
    if (in.state == ENT_SYNC_RECEIVING && in.expected_known &&
        in.ops_per_sec > 0) {
        uint64_t left = in.expected > in.applied ? in.expected - in.applied : 0;
        eta = json_integer(
            (json_int_t)((left + in.ops_per_sec - 1) / in.ops_per_sec));
    } else if (in.state == ENT_SYNC_DONE) {
        eta = json_integer(0);
    }
    return json_pack("{s:s,s:s,s:o,s:o,s:s,s:o,s:I,s:I,s:I,s:o,s:I}",
                     "object", hex, "peer", org, "peer_name",
                     name != NULL ? json_string(name) : json_null(), "join",
                     in.join ? json_integer((json_int_t)in.join) : json_null(),
                     "state", state_name(in.state), "expected",
                     in.expected_known ? json_integer((json_int_t)in.expected)
                                       : json_null(),
                     "received", (json_int_t)in.received, "applied",
                     (json_int_t)in.applied, "ops_per_sec",
                     (json_int_t)in.ops_per_sec, "eta_seconds", eta,
                     "elapsed_ms", (json_int_t)in.elapsed_ms);
}

int ent_peers_syncs_json(ent_peers *p, json_t **out) {
    const sync_prog *order[ENT_PEERS_MAX_SYNCS];
    size_t n = 0;
    uint64_t now = uv_now(p->loop);
    *out = NULL;
    for (size_t i = 0; i < ENT_PEERS_MAX_SYNCS; i++)
        if (p->syncs[i].id != 0)
            order[n++] = &p->syncs[i];
    /* newest first (insertion sort: at most 64) */
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && order[k]->id > order[k - 1]->id; k--) {
            const sync_prog *t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    json_t *arr = json_array();
    if (arr == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *o = sync_json(p, order[i], now);
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return ENT_ENOMEM;
        }
    }
    *out = arr;
    return ENT_OK;
}
