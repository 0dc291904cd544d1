/*
 * peer_witness.c - the session glue of witnessing (spec/audit.md §11-§12):
 * on every session with a fellow member it sends this node's signed tree
 * head (HEAD) when the session opens and, at most every
 * ENT_WITNESS_INTERVAL_MS, after new log entries; it offers the heads
 * partners send to the witness store, asks for a consistency proof
 * (CONSISTENCY) when a head's size differs from the kept one and keeps it
 * pending until the answer comes, and answers such requests against this
 * node's own log, at most ENT_PEERS_PROOFS_PER_SEC a second per session.
 * A restored node (a rewind base in its store) first asks each partner
 * that speaks rewind/1 which head of ours it keeps and declares a signed
 * rewind when that head was lost (REWIND, spec/audit.md §11.1); as a
 * witness it answers those questions and keeps the records. The checks,
 * proofs and storage are in
 * node/audit/witness.c; this file only moves their messages over the
 * sessions of the peer layer (hooks declared in peer_int.h).
 */
#include "node/peers/peer_int.h"
#include "node/audit/witness.h"
#include "node/timefmt.h"

#include <stdlib.h>
#include <string.h>

typedef struct pending {
    bool used;
    uint8_t org[ENT_PK_LEN];
    uint8_t head[ENT_ACTLOG_HEAD_MAX];
    size_t len;
    uint64_t at; /* loop ms */
} pending;

typedef struct ent_witness {
    uint64_t sent_size; /* log size of the last head broadcast */
    uint64_t sent_at;   /* loop ms of that broadcast */
    bool sent_any;
    pending pend[ENT_WITNESS_MAX_PENDING];
} ent_witness;

static ent_witness *state(ent_peers *p) {
    if (p->wit == NULL)
        p->wit = calloc(1, sizeof(*p->wit));
    return p->wit;
}

static bool fellow(const conn *c) {
    return c->open && c->got_hello && c->known && c->has_org &&
           !c->closing && c->join == NULL;
}

static int sign_fn(ent_txn *txn, void *data) {
    ent_peers *p = ((void **)data)[0];
    ent_actlog_head *h = ((void **)data)[1];
    return ent_actlog_sign_head(txn, p->id, ent__peers_wall_ms(), h);
}

/* Signs (or reuses) the head over the current log; *size (may be NULL)
 * receives its size, which counts the checkpoint that signing may append
 * (spec/audit.md §8). */
static int current_head(ent_peers *p, ent_wire_msg *m, uint64_t *size) {
    ent_actlog_head h;
    void *args[2] = {p, &h};
    int rc = ent_store_write(p->store, sign_fn, args);
    if (rc != ENT_OK)
        return rc;
    if (h.size == 0)
        return ENT_ENOENT;
    if (size != NULL)
        *size = h.size;
    memset(m, 0, sizeof(*m));
    m->type = ENT_WIRE_HEAD;
    return ent_actlog_head_encode(&h, true, m->u.head.bytes,
                                  sizeof(m->u.head.bytes), &m->u.head.len);
}

static int base_fn(ent_txn *txn, void *data) {
    return ent_actlog_rewind_base(txn, data);
}

static void send_rewind(conn *c, uint32_t kind, const uint8_t *b, size_t n) {
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_REWIND;
    m.u.rewind.kind = kind;
    m.u.rewind.len = n;
    if (n > 0)
        memcpy(m.u.rewind.bytes, b, n);
    ent__peers_send(c, &m);
}

/*
 * On a new session: our signed tree head. A node restored from a backup
 * (a rewind base is recorded, spec/audit.md §11.1) first asks a partner
 * that speaks rewind/1 which head of ours it keeps, and holds its HEAD on
 * this session until the answer (at most 30 s), so that a rewind it must
 * declare reaches the witness before any head of the regrown log.
 */
void ent__witness_open(conn *c) {
    ent_wire_msg m;
    uint64_t base = 0;
    if (!fellow(c) || state(c->p) == NULL)
        return;
    if (c->rewind && ent_store_read(c->p->store, base_fn, &base) == ENT_OK) {
        c->rewind_wait = true;
        c->rewind_asked_at = uv_now(c->p->loop);
        send_rewind(c, ENT_WIRE_REWIND_ASK, NULL, 0);
        return;
    }
    if (current_head(c->p, &m, NULL) == ENT_OK)
        ent__peers_send(c, &m);
}

static pending *pend_find(ent_witness *w, const uint8_t org[32], bool add,
                          uint64_t now) {
    pending *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < ENT_WITNESS_MAX_PENDING; i++) {
        pending *q = &w->pend[i];
        if (q->used && memcmp(q->org, org, 32) == 0)
            return q;
        if (!q->used && free_slot == NULL)
            free_slot = q;
        if (q->used && (oldest == NULL || q->at < oldest->at))
            oldest = q;
    }
    if (!add)
        return NULL;
    pending *q = free_slot ? free_slot : oldest;
    memset(q, 0, sizeof(*q));
    q->used = true;
    q->at = now;
    memcpy(q->org, org, 32);
    return q;
}

static void report(conn *c, int outcome) {
    char org[ENT_ORG_ID_LEN + 1];
    ent_org_id_format(org, c->org);
    if (outcome == ENT_WITNESS_EQUIVOCATION)
        ENT_WARN(c->p->log, "witness: %s signed two tree heads that cannot "
                            "both be true: equivocation proof stored",
                 org);
    else if (outcome == ENT_WITNESS_KEPT)
        ENT_DEBUG(c->p->log, "witness: kept a new head of %s", org);
}

static void on_head(conn *c, const ent_wire_head *hd) {
    ent_peers *p = c->p;
    ent_witness *w = state(p);
    ent_actlog_head kept, h;
    int outcome = ENT_WITNESS_SAME;
    if (w == NULL)
        return;
    int rc = ent_witness_offer(p->store, ent__peers_wall_ms(), hd->bytes,
                               hd->len, c->org, &outcome, &kept);
    if (rc != ENT_OK) {
        ENT_WARN(p->log, "witness: HEAD refused: %s", ent_strerror(rc));
        return;
    }
    report(c, outcome);
    if (outcome != ENT_WITNESS_NEED_PROOF ||
        ent_actlog_head_decode(&h, hd->bytes, hd->len) != ENT_OK)
        return;
    pending *q = pend_find(w, c->org, true, uv_now(p->loop));
    memcpy(q->head, hd->bytes, hd->len);
    q->len = hd->len;
    q->at = uv_now(p->loop);
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_CONSISTENCY;
    m.u.cons.from = kept.size < h.size ? kept.size : h.size;
    m.u.cons.to = kept.size < h.size ? h.size : kept.size;
    ent__peers_send(c, &m);
}

/*
 * The per-session bucket of CONSISTENCY requests: ENT_PEERS_PROOFS_PER_SEC
 * tokens a second, at most ENT_PEERS_PROOFS_BURST; a request takes one or
 * is refused. A proof costs O(log n) reads (node/audit/actlog.c), so the
 * bucket bounds what one member can make this loop do, not the proof.
 */
static bool proof_token(conn *c, uint64_t now) {
    int64_t burst = (int64_t)ENT_PEERS_PROOFS_BURST * 1000;
    if (!c->proof_tokens_set) {
        c->proof_tokens_set = true;
        c->proof_tokens = burst;
        c->proof_tokens_at = now;
    }
    c->proof_tokens +=
        (int64_t)(now - c->proof_tokens_at) * ENT_PEERS_PROOFS_PER_SEC;
    c->proof_tokens_at = now;
    if (c->proof_tokens > burst)
        c->proof_tokens = burst;
    if (c->proof_tokens < 1000)
        return false;
    c->proof_tokens -= 1000;
    return true;
}

static void on_consistency(conn *c, const ent_wire_consistency *k) {
    ent_peers *p = c->p;
    ent_witness *w = state(p);
    int outcome = ENT_WITNESS_SAME, rc;
    if (w == NULL)
        return;
    if (!k->has_sig) { /* a request: prove our own log */
        if (!proof_token(c, uv_now(p->loop))) {
            p->stats.proofs_refused++;
            ent__peers_send_error(c, ENT_WIRE_C_LIMIT, "consistency rate");
            return;
        }
        ent_wire_msg *m = calloc(1, sizeof(*m));
        if (m == NULL)
            return;
        m->type = ENT_WIRE_CONSISTENCY;
        rc = ent_witness_answer(p->store, p->id, k->from, k->to, &m->u.cons);
        if (rc == ENT_OK) {
            p->stats.proofs_answered++;
            ent__peers_send(c, m);
        }
        else
            ENT_WARN(p->log, "witness: cannot prove %llu..%llu: %s",
                     (unsigned long long)k->from, (unsigned long long)k->to,
                     ent_strerror(rc));
        free(m);
        return;
    }
    pending *q = pend_find(w, c->org, false, 0);
    if (q == NULL)
        return; /* not asked, or already settled */
    rc = ent_witness_settle(p->store, ent__peers_wall_ms(), q->head, q->len, k,
                            &outcome);
    if (rc == ENT_EINVAL)
        return; /* an answer to another question: keep waiting */
    q->used = false;
    if (rc != ENT_OK)
        ENT_WARN(p->log, "witness: CONSISTENCY refused: %s", ent_strerror(rc));
    else
        report(c, outcome);
}

/* What a restored node makes of the head of its own that a witness keeps
 * (spec/audit.md §11.1): nothing when the head is a prefix of the log it
 * holds now; else, when the head is larger than the rewind base, a signed
 * rewind record (base head, that head, now) into rec. */
struct lost {
    ent_peers *p;
    ent_actlog_head kept;
    uint64_t base, size;
    bool declare;
    uint8_t rec[ENT_REWIND_MAX];
    size_t len;
};

static int lost_fn(ent_txn *txn, void *data) {
    struct lost *x = data;
    uint8_t root[ENT_MERKLE_HASH_LEN];
    ent_actlog_head base;
    int rc = ent_actlog_root(txn, &x->size, root);
    if (rc != ENT_OK ||
        (rc = ent_actlog_rewind_base(txn, &x->base)) != ENT_OK)
        return rc;
    if (x->kept.size <= x->size &&
        ent_actlog_root_at(txn, x->kept.size, root) == ENT_OK &&
        memcmp(root, x->kept.root, sizeof(root)) == 0)
        return ENT_OK; /* a prefix of our log: nothing was lost there */
    if (x->kept.size <= x->base || x->base > x->size)
        return ENT_ECONFLICT; /* not a head beyond the base */
    uint64_t now = ent__peers_wall_ms();
    if ((rc = ent_actlog_prefix_head(txn, x->p->id, x->base, now, &base)) !=
        ENT_OK)
        return rc;
    x->declare = true;
    return ent_rewind_sign(x->p->id, &base, &x->kept, now, x->rec,
                           sizeof(x->rec), &x->len);
}

static void on_rewind_kept(conn *c, const ent_wire_rewind *w) {
    ent_peers *p = c->p;
    struct lost x;
    ent_wire_msg m;
    char name[ENT_ORG_ID_LEN + 1];
    int rc = ENT_OK;
    if (!c->rewind_wait)
        return; /* not asked */
    c->rewind_wait = false;
    ent_org_id_format(name, c->org);
    memset(&x, 0, sizeof(x));
    x.p = p;
    if (w->len > 0 &&
        (ent_actlog_head_decode(&x.kept, w->bytes, w->len) != ENT_OK ||
         memcmp(x.kept.org, ent_identity_public(p->id), ENT_PK_LEN) != 0 ||
         ent_actlog_head_verify(&x.kept) != ENT_OK))
        rc = ENT_EBADSIG;
    else if (w->len > 0)
        rc = ent_store_read(p->store, lost_fn, &x);
    if (rc != ENT_OK)
        ENT_WARN(p->log, "witness: cannot declare a rewind to %s (it keeps a "
                         "head of ours of size %llu): %s",
                 name, (unsigned long long)x.kept.size, ent_strerror(rc));
    else if (x.declare) {
        send_rewind(c, ENT_WIRE_REWIND_DECLARE, x.rec, x.len);
        ENT_WARN(p->log, "witness: declared a rewind to %s: our log beyond "
                         "%llu entries was lost with the restore (it keeps "
                         "a head of ours of size %llu)",
                 name, (unsigned long long)x.base,
                 (unsigned long long)x.kept.size);
    }
    if (current_head(p, &m, NULL) == ENT_OK)
        ent__peers_send(c, &m);
}

struct kept_of {
    const uint8_t *org;
    uint8_t buf[ENT_ACTLOG_HEAD_MAX];
    size_t len;
};

static int kept_of_fn(ent_txn *txn, void *data) {
    struct kept_of *k = data;
    ent_actlog_head h;
    int rc = ent_witness_kept(txn, k->org, &h);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc != ENT_OK)
        return rc;
    return ent_actlog_head_encode(&h, true, k->buf, sizeof(k->buf), &k->len);
}

static void on_rewind(conn *c, const ent_wire_rewind *w) {
    ent_peers *p = c->p;
    ent_witness *wit = state(p);
    char name[ENT_ORG_ID_LEN + 1];
    int outcome = ENT_WITNESS_SAME, rc;
    if (wit == NULL)
        return;
    if (w->kind == ENT_WIRE_REWIND_KEPT) {
        on_rewind_kept(c, w);
        return;
    }
    /* ASK and DECLARE cost a read or a write: the CONSISTENCY bucket */
    if (!proof_token(c, uv_now(p->loop))) {
        p->stats.proofs_refused++;
        ent__peers_send_error(c, ENT_WIRE_C_LIMIT, "rewind rate");
        return;
    }
    if (w->kind == ENT_WIRE_REWIND_ASK) {
        struct kept_of k = {c->org, {0}, 0};
        if (ent_store_read(p->store, kept_of_fn, &k) == ENT_OK)
            send_rewind(c, ENT_WIRE_REWIND_KEPT, k.buf, k.len);
        return;
    }
    ent_org_id_format(name, c->org);
    rc = ent_witness_rewind(p->store, ent__peers_wall_ms(), w->bytes, w->len,
                            c->org, &outcome);
    if (rc != ENT_OK) {
        ENT_WARN(p->log, "witness: REWIND of %s refused: %s", name,
                 ent_strerror(rc));
        return;
    }
    if (outcome != ENT_WITNESS_REWOUND)
        return;
    ent_rewind r;
    char at[ENT_TIMEFMT_RFC3339_LEN + 1] = "?";
    if (ent_rewind_decode(&r, w->bytes, w->len) == ENT_OK)
        ent_timefmt_rfc3339(at, r.time);
    ENT_WARN(p->log, "witness: %s declared a rewind of its activity log at "
                     "%s: entries beyond %llu lost, with the head of size "
                     "%llu kept here; recorded as a rewind, not an "
                     "equivocation",
             name, at, (unsigned long long)r.base.size,
             (unsigned long long)r.lost.size);
    pending *q = pend_find(wit, c->org, false, 0);
    if (q != NULL)
        q->used = false; /* its head is judged against the base now */
}

void ent__witness_message(conn *c, const ent_wire_msg *m) {
    /* a HEAD costs a signature check and a write transaction, whoever
     * sends it and however often: it takes a token of the same bucket as
     * CONSISTENCY requests, or is dropped (a peer sends one per
     * ENT_WITNESS_INTERVAL_MS at most) */
    if (m->type == ENT_WIRE_HEAD && !proof_token(c, uv_now(c->p->loop)))
        c->p->stats.proofs_refused++;
    else if (m->type == ENT_WIRE_HEAD)
        on_head(c, &m->u.head);
    else if (m->type == ENT_WIRE_CONSISTENCY)
        on_consistency(c, &m->u.cons);
    else if (m->type == ENT_WIRE_REWIND)
        on_rewind(c, &m->u.rewind);
}

static int size_fn(ent_txn *txn, void *data) {
    uint8_t root[ENT_MERKLE_HASH_LEN];
    return ent_actlog_root(txn, data, root);
}

void ent__witness_tick(ent_peers *p, uint64_t now) {
    ent_witness *w = state(p);
    uint64_t size = 0;
    ent_wire_msg m;
    if (w == NULL)
        return;
    for (size_t i = 0; i < ENT_WITNESS_MAX_PENDING; i++)
        if (w->pend[i].used && now - w->pend[i].at > 30000)
            w->pend[i].used = false;
    for (conn *c = p->conns; c != NULL; c = c->next)
        if (c->rewind_wait && now - c->rewind_asked_at > 30000)
            c->rewind_wait = false; /* no answer: heads go as usual */
    if (w->sent_any && now - w->sent_at < ENT_WITNESS_INTERVAL_MS)
        return;
    w->sent_at = now;
    w->sent_any = true;
    if (ent_store_read(p->store, size_fn, &size) != ENT_OK ||
        size == w->sent_size || size == 0)
        return;
    bool any = false;
    for (conn *c = p->conns; c != NULL; c = c->next)
        any = any || (fellow(c) && !c->rewind_wait);
    /* signing appends a checkpoint: remember the size with it, or the
     * next tick would take the checkpoint for new entries */
    if (!any || current_head(p, &m, &size) != ENT_OK)
        return;
    w->sent_size = size;
    for (conn *c = p->conns, *nx; c != NULL; c = nx) {
        nx = c->next;
        if (fellow(c) && !c->rewind_wait)
            ent__peers_send(c, &m);
    }
}

void ent__witness_closed(conn *c) {
    if (c->p->wit == NULL || !c->has_org)
        return;
    pending *q = pend_find(c->p->wit, c->org, false, 0);
    if (q != NULL)
        q->used = false;
}

void ent__witness_free(ent_peers *p) {
    if (p == NULL)
        return;
    free(p->wit);
    p->wit = NULL;
}
