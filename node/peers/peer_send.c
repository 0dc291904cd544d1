/*
 * peer_send.c - everything this node sends on a session: the two queues of
 * a conn (control messages, never gated, and OPS, gated by at most
 * ENT_WIRE_PEER_MAX_INFLIGHT unacknowledged), the pump that drains them,
 * closing a session with an error, pushing ops to the sessions of an
 * object's active members, and catch-up jobs (the ops a peer lacks, read
 * from the store batch by batch in causal order as the window opens). It
 * calls down into peer_table.c (membership) and gossip.h only.
 */
#include "node/bytes.h"
#include "node/peers/peer_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The seq at the end of an ops table key, big-endian. */
/* ---- sending --------------------------------------------------------------- */

static void q_free(qmsg *q) {
    while (q != NULL) {
        qmsg *nx = q->next;
        free(q);
        q = nx;
    }
}

static void jobs_free(sync_job *j) {
    while (j != NULL) {
        sync_job *nx = j->next;
        ent_gossip_hist_free(j->hist);
        free(j->keys);
        free(j);
        j = nx;
    }
}

void ent__peers_queues_free(conn *c) {
    c->p->acks_owed -= c->acks_owed; /* a closed session is owed nothing */
    c->acks_owed = 0;
    q_free(c->ctl);
    q_free(c->ops);
    jobs_free(c->jobs);
}

/* Tries to send q; ENT_OK when it went out, ENT_ELIMIT to retry later. */
static int send_raw(conn *c, const uint8_t *buf, size_t len) {
    int rc = ent_session_send(c->s, buf, len);
    if (rc == ENT_OK)
        c->stuck_at = 0;
    else if (rc == ENT_ELIMIT && c->stuck_at == 0)
        c->stuck_at = uv_now(c->p->loop) ? uv_now(c->p->loop) : 1;
    if (rc != ENT_OK && rc != ENT_ELIMIT && !c->closing) {
        ENT_DEBUG(c->p->log, "peers: send to %s: %s",
                  ent_session_peer_addr(c->s), ent_strerror(rc));
    }
    return rc;
}

typedef struct batch {
    ent_wire_bytes ops[ENT_WIRE_MAX_OPS];
    size_t n, size;
} batch;

/* The OPS message of one job batch, read in one transaction. */
typedef struct job_read {
    conn *c;
    sync_job *j;
    uint8_t *out;
    size_t len;
    size_t taken;
    size_t nops;
} job_read;

static int job_fn(ent_txn *txn, void *data) {
    job_read *r = data;
    sync_job *j = r->j;
    batch b;
    ent_wire_msg m;
    size_t base;
    b.n = 0;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_OPS;
    memcpy(m.u.ops.object, j->obj, 32);
    m.u.ops.ops = b.ops;
    base = 0;
    r->taken = 0;
    r->nops = 0;
    free(r->out);
    r->out = NULL;
    for (size_t i = j->i; i < j->n && b.n < ENT_WIRE_MAX_OPS; i++) {
        uint8_t k[104];
        const void *v;
        size_t vl;
        size_t kl = ent_gossip_key_ops(&j->keys[i], j->obj, k);
        int rc = ent_txn_get(txn, ENT_TBL_OPS, k, kl, &v, &vl);
        r->taken++;
        if (rc == ENT_ENOENT)
            continue;
        if (rc != ENT_OK)
            return rc;
        b.ops[b.n] = (ent_wire_bytes){v, vl};
        m.u.ops.nops = b.n + 1;
        size_t sz = ent_wire_encoded_size(&m);
        if (sz == 0 || sz > ENT_WIRE_MAX_MSG) {
            if (b.n == 0) /* cannot be sent at all: skip it */
                continue;
            r->taken--;
            break;
        }
        b.n++;
        base = sz;
    }
    (void)base;
    if (b.n == 0)
        return ENT_OK;
    m.u.ops.nops = b.n;
    r->nops = b.n;
    return ent_wire_encode(&m, &r->out, &r->len);
}

/*
 * Sends what c may send now: control messages first, then OPS while fewer
 * than ENT_WIRE_PEER_MAX_INFLIGHT are unacknowledged, from the queue and
 * then from catch-up jobs. Stops at the first ENT_ELIMIT (the session's
 * pending bytes are full); the tick retries.
 */
void ent__peers_pump(conn *c) {
    if (!c->open || c->closing)
        return;
    while (c->ctl != NULL) {
        qmsg *q = c->ctl;
        int rc = send_raw(c, q->data, q->len);
        if (rc == ENT_ELIMIT)
            return;
        c->ctl = q->next;
        if (c->ctl == NULL)
            c->ctl_tail = NULL;
        c->queued -= q->len;
        c->ctl_queued -= q->len;
        free(q);
        if (rc != ENT_OK)
            return;
    }
    while (c->inflight < ENT_WIRE_PEER_MAX_INFLIGHT) {
        if (c->ops != NULL) {
            qmsg *q = c->ops;
            int rc = send_raw(c, q->data, q->len);
            if (rc == ENT_ELIMIT)
                return;
            c->ops = q->next;
            if (c->ops == NULL)
                c->ops_tail = NULL;
            c->queued -= q->len;
            free(q);
            if (rc != ENT_OK)
                return;
            c->inflight++;
            c->p->stats.ops_msgs_sent++;
            continue;
        }
        sync_job *j = c->jobs;
        if (j == NULL)
            return;
        if (j->i >= j->n && j->hist != NULL) { /* the next window */
            size_t n = 0;
            int rc = ent_gossip_hist_next(c->p->gossip, j->hist, j->keys,
                                          ENT_PEERS_HIST_WINDOW, &n);
            if (rc != ENT_OK)
                ENT_WARN(c->p->log, "peers: reading a history: %s",
                         ent_strerror(rc));
            j->i = 0;
            j->n = rc == ENT_OK ? n : 0;
            if (j->n == 0) {
                ent_gossip_hist_free(j->hist);
                j->hist = NULL;
            }
        }
        if (j->i >= j->n) {
            c->jobs = j->next;
            c->njobs--;
            ent_gossip_hist_free(j->hist);
            free(j->keys);
            free(j);
            continue;
        }
        if (!ent_session_can_send(c->s, ENT_WIRE_MAX_MSG)) {
            if (c->stuck_at == 0)
                c->stuck_at = uv_now(c->p->loop) ? uv_now(c->p->loop) : 1;
            return; /* the tick (or the peer's CREDIT) comes back */
        }
        job_read r = {.c = c, .j = j};
        int rc = ent_store_read(c->p->store, job_fn, &r);
        if (rc != ENT_OK) {
            ENT_WARN(c->p->log, "peers: reading ops to send: %s",
                     ent_strerror(rc));
            free(r.out);
            j->i = j->n;
            continue;
        }
        j->i += r.taken;
        if (r.out == NULL)
            continue;
        rc = send_raw(c, r.out, r.len);
        if (rc == ENT_OK) {
            c->inflight++;
            c->p->stats.ops_msgs_sent++;
            c->p->stats.ops_sent += r.nops;
        }
        free(r.out);
        if (rc != ENT_OK)
            return; /* an unsent batch is found again by the next HAVE */
    }
}

/*
 * Control messages that are never dropped for a full queue: one each per
 * session (HELLO, JOIN and its answer, GOODBYE), or answers to OPS the
 * peer sent (ACK, ACKS), without which its in-flight window stays shut.
 * Every other one answers a request or starts a round that comes again
 * (spec/protocol.md §5).
 */
static bool ctl_kept(int type) {
    return type == ENT_WIRE_HELLO || type == ENT_WIRE_GOODBYE ||
           type == ENT_WIRE_JOIN || type == ENT_WIRE_JOIN_OK ||
           type == ENT_WIRE_JOIN_ERR || type == ENT_WIRE_ACK ||
           type == ENT_WIRE_ACKS;
}

int ent__peers_send(conn *c, const ent_wire_msg *m) {
    uint8_t *buf = NULL;
    size_t len = 0;
    if (c->closing)
        return ENT_ECLOSED;
    int rc = ent_wire_encode(m, &buf, &len);
    if (rc != ENT_OK) {
        ENT_WARN(c->p->log, "peers: cannot encode %s: %s",
                 ent_wire_type_name(m->type), ent_strerror(rc));
        return rc;
    }
    bool is_ops = m->type == ENT_WIRE_OPS;
    if (is_ops && c->queued + len > ENT_PEERS_MAX_QUEUE) {
        c->p->stats.queue_dropped++;
        free(buf);
        return ENT_ELIMIT;
    }
    /* a peer that sends requests and reads none of the answers would have
     * them pile up here without end (the session holds only
     * ENT_WIRE_PEER_MAX_PENDING): past ENT_PEERS_MAX_QUEUE of control
     * messages, the ones that come again are dropped */
    if (!is_ops && c->ctl_queued + len > ENT_PEERS_MAX_QUEUE &&
        !ctl_kept(m->type)) {
        c->p->stats.queue_dropped++;
        free(buf);
        return ENT_ELIMIT;
    }
    qmsg *q = malloc(sizeof(*q) + len);
    if (q == NULL) {
        free(buf);
        return ENT_ENOMEM;
    }
    q->next = NULL;
    q->len = len;
    memcpy(q->data, buf, len);
    free(buf);
    qmsg **head = is_ops ? &c->ops : &c->ctl;
    qmsg **tail = is_ops ? &c->ops_tail : &c->ctl_tail;
    if (*tail != NULL)
        (*tail)->next = q;
    else
        *head = q;
    *tail = q;
    c->queued += len;
    if (!is_ops)
        c->ctl_queued += len;
    if (m->type == ENT_WIRE_DIGEST) { /* its DIGESTS listing may come */
        c->dgs_asked = true;
        c->dgs_started = false;
    }
    if (is_ops)
        c->p->stats.ops_sent += m->u.ops.nops;
    ent__peers_pump(c);
    return ENT_OK;
}

void ent__peers_send_error(conn *c, int32_t code, const char *text) {
    ent_wire_msg e;
    memset(&e, 0, sizeof(e));
    e.type = ENT_WIRE_ERROR;
    e.u.error.code = code;
    snprintf(e.u.error.text, sizeof(e.u.error.text), "%s", text);
    ent__peers_send(c, &e);
}

void ent__peers_fail(conn *c, int type, int32_t code, const char *text,
                     int reason) {
    ent_wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.u.error.code = code;
    snprintf(m.u.error.text, sizeof(m.u.error.text), "%s", text);
    if (!c->closing) {
        ent__peers_send(c, &m);
        if (type == ENT_WIRE_JOIN_ERR) {
            m.type = ENT_WIRE_GOODBYE;
            ent__peers_send(c, &m);
        }
        c->closing = true;
        ent_session_close(c->s, reason);
    }
}

/* Builds OPS messages of up to 256 ops within the size limit. */
static void send_ops(conn *c, const uint8_t obj[32],
                     const uint8_t *const *raws, const size_t *lens,
                     size_t n) {
    ent_wire_msg m;
    ent_wire_bytes *ops = calloc(n ? n : 1, sizeof(*ops));
    if (ops == NULL)
        return;
    size_t i = 0;
    while (i < n) {
        memset(&m, 0, sizeof(m));
        m.type = ENT_WIRE_OPS;
        memcpy(m.u.ops.object, obj, 32);
        m.u.ops.ops = ops + i;
        size_t k = 0;
        while (i + k < n && k < ENT_WIRE_MAX_OPS) {
            ops[i + k] = (ent_wire_bytes){raws[i + k], lens[i + k]};
            m.u.ops.nops = k + 1;
            size_t sz = ent_wire_encoded_size(&m);
            if (sz == 0 || sz > ENT_WIRE_MAX_MSG)
                break;
            k++;
        }
        if (k == 0) { /* one op too big for a frame: never sendable */
            i++;
            continue;
        }
        m.u.ops.nops = k;
        ent__peers_send(c, &m);
        i += k;
    }
    free(ops);
}

void ent__peers_push(ent_peers *p, const uint8_t obj[32],
                     const uint8_t *const *raws, const size_t *lens, size_t n,
                     const conn *except, const uint8_t *extra) {
    if (n == 0 || p->mgr == NULL)
        return;
    for (conn *c = p->conns; c != NULL; c = c->next) {
        if (c == except || !c->open || c->closing || !c->has_org)
            continue;
        /* one session per org */
        bool dup = false;
        for (conn *d = p->conns; d != c && !dup; d = d->next)
            dup = d != except && d->open && !d->closing && d->has_org &&
                  memcmp(d->org, c->org, 32) == 0;
        if (dup)
            continue;
        bool to = extra != NULL && memcmp(extra, c->org, 32) == 0;
        if (!to && !ent__peers_is_member(p, obj, c->org, NULL))
            continue;
        send_ops(c, obj, raws, lens, n);
    }
}

/* ---- catch-up jobs ------------------------------------------------------- */

int ent__peers_job_add_hist(conn *c, const uint8_t obj[32],
                            ent_gossip_hist *h) {
    sync_job *j = NULL;
    if (c->njobs >= ENT_PEERS_MAX_JOBS) {
        ent_gossip_hist_free(h);
        return ENT_ELIMIT;
    }
    if ((j = calloc(1, sizeof(*j))) == NULL ||
        (j->keys = calloc(ENT_PEERS_HIST_WINDOW, sizeof(*j->keys))) == NULL) {
        free(j);
        ent_gossip_hist_free(h);
        return ENT_ENOMEM;
    }
    memcpy(j->obj, obj, 32);
    j->hist = h; /* n == 0: the pump reads the first window */
    sync_job **pp = &c->jobs;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = j;
    c->njobs++;
    ent__peers_pump(c);
    return ENT_OK;
}

int ent__peers_job_add(conn *c, const uint8_t obj[32], const uint8_t *vv,
                       size_t n_vv, uint64_t *nops) {
    if (nops != NULL)
        *nops = 0;
    for (sync_job *j = c->jobs; j != NULL; j = j->next)
        if (memcmp(j->obj, obj, 32) == 0 && vv != NULL)
            return ENT_OK; /* one at a time per object; the next HAVE rechecks */
    if (c->njobs >= ENT_PEERS_MAX_JOBS)
        return ENT_ELIMIT;
    if (n_vv == 0) {
        /* an empty vector: the peer lacks the whole history, read a window
         * at a time from a cursor as a join's (spec/gossip.md §12), not
         * built and sorted at once */
        ent_gossip_hist *h = NULL;
        uint64_t total = 0;
        int rc = ent_gossip_hist_open(c->p->gossip, obj, &h, &total);
        if (rc != ENT_OK || total == 0) {
            ent_gossip_hist_free(h);
            return rc;
        }
        if (nops != NULL)
            *nops = total;
        return ent__peers_job_add_hist(c, obj, h);
    }
    /* the ops the peer lacks, in causal (HLC) order */
    sync_key *keys = NULL;
    size_t n = 0;
    int rc = ent_gossip_missing(c->p->gossip, obj, vv, n_vv, &keys, &n);
    if (rc != ENT_OK || n == 0) {
        free(keys);
        return rc;
    }
    sync_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        free(keys);
        return ENT_ENOMEM;
    }
    memcpy(j->obj, obj, 32);
    j->keys = keys;
    j->n = n;
    sync_job **pp = &c->jobs;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = j;
    c->njobs++;
    if (nops != NULL)
        *nops = n;
    ent__peers_pump(c);
    return ENT_OK;
}

/* ---- local ops, pushed per loop turn --------------------------------------- */

/* Bytes of local ops held for the next flush at most: past it they go at
 * once (a group commit of thousands of ops still makes few OPS). */
#define LOCAL_MAX (8u << 20)

void ent__peers_flush(ent_peers *p) {
    const uint8_t **raws = NULL;
    size_t *lens = NULL;
    size_t n = p->nlops;
    if (uv_is_active((uv_handle_t *)&p->flush) && p->acks_owed == 0)
        uv_idle_stop(&p->flush);
    if (n == 0)
        return;
    raws = calloc(n, sizeof(*raws));
    lens = calloc(n, sizeof(*lens));
    if (raws != NULL && lens != NULL) {
        for (size_t i = 0; i < n;) {
            size_t j = i;
            for (; j < n && memcmp(p->lops[j].obj, p->lops[i].obj, 32) == 0;
                 j++) {
                raws[j - i] = p->lbuf + p->lops[j].off;
                lens[j - i] = p->lops[j].len;
            }
            /* bounded fanout (spec/gossip.md "Dissemination") */
            ent_gossip_push(p->gossip, p->lops[i].obj, raws, lens, j - i, NULL);
            i = j;
        }
    }
    free(raws);
    free(lens);
    p->nlops = 0;
    p->llen = 0;
}

static void on_flush(uv_idle_t *h) {
    ent__peers_acks_flush(h->data); /* first: then flush stops the idle */
    ent__peers_flush(h->data);
}

/* ---- ACKs, coalesced per loop turn ----------------------------------------- */

void ent__peers_ack(conn *c, const ent_wire_msg *ack) {
    ent_peers *p = c->p;
    if (c->closing)
        return;
    if (c->ops_unanswered > 0) /* the peer's in-flight OPS (peer.c) */
        c->ops_unanswered--;
    if (!c->acks) { /* an older peer: one ACK per OPS, with its ids */
        if (ent__peers_send(c, ack) == ENT_OK)
            p->stats.acks_msgs_sent++;
        return;
    }
    c->acks_owed++;
    p->acks_owed++;
    p->stats.acks_coalesced++;
    if (p->stopping || c->acks_owed >= ENT_WIRE_MAX_ACKS_COUNT) {
        /* no idle turn comes after stop; a full ACKS goes at once */
        ent__peers_acks_flush(p);
        return;
    }
    if (!uv_is_active((uv_handle_t *)&p->flush))
        uv_idle_start(&p->flush, on_flush);
}

void ent__peers_acks_flush(ent_peers *p) {
    if (p->acks_owed == 0)
        return;
    for (conn *c = p->conns; c != NULL; c = c->next) {
        while (c->acks_owed > 0) {
            ent_wire_msg m;
            unsigned k = c->acks_owed < ENT_WIRE_MAX_ACKS_COUNT
                             ? c->acks_owed
                             : ENT_WIRE_MAX_ACKS_COUNT;
            memset(&m, 0, sizeof(m));
            m.type = ENT_WIRE_ACKS;
            m.u.acks.count = k;
            c->acks_owed -= k;
            p->acks_owed -= k;
            if (!c->closing && ent__peers_send(c, &m) == ENT_OK)
                p->stats.acks_sent++;
        }
    }
}

void ent__peers_local_op(ent_peers *p, const uint8_t obj[32],
                         const uint8_t *raw, size_t len) {
    const uint8_t *raws[1] = {raw};
    size_t lens[1] = {len};
    if (p->nlops == p->caplops) {
        size_t nc = p->caplops ? 2 * p->caplops : 256;
        struct lop *nl = realloc(p->lops, nc * sizeof(*nl));
        if (nl == NULL)
            goto now;
        p->lops = nl;
        p->caplops = nc;
    }
    if (p->llen + len > p->lcap) {
        size_t nc = p->lcap ? p->lcap : 65536;
        while (nc < p->llen + len)
            nc *= 2;
        uint8_t *nb = realloc(p->lbuf, nc);
        if (nb == NULL)
            goto now;
        p->lbuf = nb;
        p->lcap = nc;
    }
    memcpy(p->lops[p->nlops].obj, obj, 32);
    p->lops[p->nlops].off = p->llen;
    p->lops[p->nlops++].len = len;
    memcpy(p->lbuf + p->llen, raw, len);
    p->llen += len;
    if (p->llen >= LOCAL_MAX)
        ent__peers_flush(p);
    else if (!uv_is_active((uv_handle_t *)&p->flush))
        uv_idle_start(&p->flush, on_flush);
    return;
now: /* out of memory: this one alone, in order */
    ent__peers_flush(p);
    ent_gossip_push(p->gossip, obj, raws, lens, 1, NULL);
}
