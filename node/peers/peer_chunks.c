/*
 * peer_chunks.c - attachment chunks between members (spec/protocol.md
 * "CHUNK_WANT and CHUNK"). A node fetches an attachment on demand
 * (ent_peers_fetch, from the API): it asks each connected fellow member of
 * the object for the next chunks it lacks, at most ENT_PEERS_CHUNKS_OWED
 * outstanding per session, and asks again as they arrive; the chunks it
 * stored survive a restart, so a fetch resumes with the missing ones only.
 * A CHUNK_WANT is answered only to an active member of an object this
 * node is an active member of (else one ERROR NOTMEMBER and nothing
 * else), within a per-session token bucket and the session's queue bound.
 * A received chunk is hashed and checked against the manifests at once;
 * the checked chunks are committed 16 at a time (one durable commit), and
 * always before the next ask (the commit checks them again). A CHUNK is read
 * only when this node asked that session for chunks (else it is dropped unread
 * and counted), and kept only when the engine finds its hash in a manifest of
 * the object (ent_obj_chunk_put): a tampered chunk hashes to nothing listed, is
 * dropped, and the session is dropped as for any protocol violation.
 */
#include "node/peers/peer_int.h"

#include <stdlib.h>
#include <string.h>

/* The attachments being fetched: object, name, until when (loop ms). */
#define CHUNKS_MAX_FETCHES 8

typedef struct fetch {
    bool used;
    uint8_t obj[32];
    char name[ENT_OP_FILE_NAME_MAX + 1];
    uint64_t until;
} fetch;

/* Chunks received from one session, committed together (one durable
 * commit per CHUNKS_BATCH chunks instead of one per chunk). */
#define CHUNKS_BATCH 16
#define CHUNKS_MAX_BATCHES 8

typedef struct cbatch {
    conn *c; /* NULL: free slot */
    uint8_t obj[32];
    size_t n;
    uint8_t *data[CHUNKS_BATCH];
    size_t len[CHUNKS_BATCH];
} cbatch;

typedef struct ent_chunks {
    fetch f[CHUNKS_MAX_FETCHES];
    cbatch b[CHUNKS_MAX_BATCHES];
} ent_chunks;

static ent_chunks *state(ent_peers *p) {
    if (p->chunks == NULL)
        p->chunks = calloc(1, sizeof(*p->chunks));
    return p->chunks;
}

static bool fellow(const conn *c) {
    return c->open && c->got_hello && c->known && c->has_org && !c->closing &&
           c->join == NULL && !c->guest;
}

/* The per-session bucket of asked chunks (as DIGEST frames in peer.c). */
static bool chunk_tokens(conn *c, size_t n, uint64_t now) {
    int64_t burst = (int64_t)ENT_PEERS_CHUNKS_BURST * 1000;
    if (!c->chunk_tokens_set) {
        c->chunk_tokens_set = true;
        c->chunk_tokens = burst;
        c->chunk_tokens_at = now;
    }
    c->chunk_tokens +=
        (int64_t)(now - c->chunk_tokens_at) * ENT_PEERS_CHUNKS_PER_SEC;
    c->chunk_tokens_at = now;
    if (c->chunk_tokens > burst)
        c->chunk_tokens = burst;
    if (c->chunk_tokens < (int64_t)n * 1000)
        return false;
    c->chunk_tokens -= (int64_t)n * 1000;
    return true;
}

/* CHUNK_WANT from c: the chunks we hold, to a member only. */
static void on_want(conn *c, const ent_wire_chunk_want *w) {
    ent_peers *p = c->p;
    if (!ent__peers_is_member(p, w->object, c->org, NULL) ||
        !ent__peers_obj_active(p, w->object)) {
        p->stats.chunks_refused += w->n;
        ent__peers_send_error(c, ENT_WIRE_C_NOTMEMBER, "not a member");
        return;
    }
    if (!chunk_tokens(c, w->n, uv_now(p->loop))) {
        p->stats.chunks_refused += w->n; /* unanswered: it asks again */
        return;
    }
    for (size_t i = 0; i < w->n; i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        if (c->queued + ENT_WIRE_MAX_CHUNK + 64 > ENT_PEERS_MAX_QUEUE) {
            p->stats.chunks_refused += w->n - i; /* it asks again later */
            break;
        }
        if (ent_obj_chunk_get(p->eng, w->object, w->hashes[i], &data, &len) !=
            ENT_OK)
            continue; /* not held here: another member may have it */
        ent_wire_msg m;
        memset(&m, 0, sizeof(m));
        m.type = ENT_WIRE_CHUNK;
        memcpy(m.u.chunk.object, w->object, 32);
        m.u.chunk.data = data;
        m.u.chunk.len = len;
        if (ent__peers_send(c, &m) == ENT_OK)
            p->stats.chunks_sent++;
        free(data);
    }
}

static fetch *fetch_find(ent_chunks *s, const uint8_t obj[32],
                         const char *name) {
    for (size_t i = 0; i < CHUNKS_MAX_FETCHES; i++)
        if (s->f[i].used && memcmp(s->f[i].obj, obj, 32) == 0 &&
            (name == NULL || strcmp(s->f[i].name, name) == 0))
            return &s->f[i];
    return NULL;
}

/* Asks c for the missing chunks of f after the first skip ones (so that
 * sessions asked in one round ask for different chunks). */
static size_t ask(conn *c, const fetch *f, size_t skip, size_t *total) {
    ent_peers *p = c->p;
    uint8_t hashes[(ENT_PEERS_CHUNKS_OWED + ENT_WIRE_MAX_CHUNK_WANT) * 32];
    size_t n = 0, room = ENT_PEERS_CHUNKS_OWED - c->chunks_owed;
    size_t max = skip + room;
    if (max > sizeof(hashes) / 32)
        max = sizeof(hashes) / 32;
    if (ent_obj_attachment_missing(p->eng, f->obj, f->name, hashes, max, &n,
                                   total) != ENT_OK)
        return 0;
    size_t sent = 0;
    for (size_t i = skip; i < n;) {
        ent_wire_msg m;
        memset(&m, 0, sizeof(m));
        m.type = ENT_WIRE_CHUNK_WANT;
        memcpy(m.u.chunk_want.object, f->obj, 32);
        size_t k =
            n - i < ENT_WIRE_MAX_CHUNK_WANT ? n - i : ENT_WIRE_MAX_CHUNK_WANT;
        memcpy(m.u.chunk_want.hashes, hashes + i * 32, k * 32);
        m.u.chunk_want.n = k;
        if (ent__peers_send(c, &m) != ENT_OK)
            break;
        c->chunks_owed += (uint32_t)k;
        c->chunks_asked_at = uv_now(p->loop);
        sent += k;
        i += k;
    }
    return sent;
}

/* One round of asking for f: every fellow member session of its object
 * that owes less than a full window (an ask unanswered for
 * ENT_PEERS_CHUNK_STALE_MS is forgotten). */
static void round_for(ent_peers *p, const fetch *f, size_t *total) {
    uint64_t now = uv_now(p->loop);
    size_t skip = 0;
    for (conn *c = p->conns; c != NULL; c = c->next) {
        if (!fellow(c) || !ent__peers_is_member(p, f->obj, c->org, NULL))
            continue;
        if (c->chunks_owed > 0 &&
            now - c->chunks_asked_at > ENT_PEERS_CHUNK_STALE_MS)
            c->chunks_owed = 0;
        if (c->chunks_owed > ENT_PEERS_CHUNKS_OWED / 2)
            continue;
        skip += ask(c, f, skip, total);
    }
}

static void batch_clear(cbatch *b) {
    for (size_t i = 0; i < b->n; i++)
        free(b->data[i]);
    memset(b, 0, sizeof(*b));
}

/* Commits b's chunks; a chunk whose hash no manifest lists drops the
 * session. @return false when the session was dropped. */
static bool batch_flush(ent_peers *p, cbatch *b) {
    int rcs[CHUNKS_BATCH];
    bool ok = true;
    conn *c = b->c;
    int rc = ent_obj_chunk_put_batch(
        p->eng, b->obj, (const uint8_t *const *)b->data, b->len, b->n, rcs);
    for (size_t i = 0; rc == ENT_OK && i < b->n; i++) {
        if (rcs[i] == ENT_OK)
            p->stats.chunks_received++;
        else if (rcs[i] == ENT_EDENIED || rcs[i] == ENT_ETOOBIG)
            ok = false;
    }
    if (rc != ENT_OK)
        ENT_WARN(p->log, "peers: storing chunks: %s", ent_strerror(rc));
    batch_clear(b);
    if (!ok) {
        p->stats.chunks_bad++;
        ent__peers_violation(c, ENT_ECHECKSUM,
                             "a CHUNK whose hash no manifest lists");
    }
    return ok;
}

static cbatch *batch_of(ent_chunks *s, conn *c) {
    cbatch *free_slot = NULL;
    for (size_t i = 0; i < CHUNKS_MAX_BATCHES; i++) {
        if (s->b[i].c == c)
            return &s->b[i];
        if (s->b[i].c == NULL && free_slot == NULL)
            free_slot = &s->b[i];
    }
    return free_slot;
}

/* CHUNK from c: kept if we asked c and a manifest lists its hash. */
static void on_chunk(conn *c, const ent_wire_chunk *k) {
    ent_peers *p = c->p;
    ent_chunks *s = state(p);
    if (c->chunks_owed == 0 || s == NULL) { /* unasked, or after the ask
                                               went stale: dropped unread */
        p->stats.chunks_bad++;
        return;
    }
    c->chunks_owed--;
    uint8_t hash[32];
    ent_hash(hash, k->data, k->len);
    if (k->len > ENT_AEAD_NONCE_LEN + ENT_OP_CHUNK + ENT_AEAD_TAG_LEN ||
        !ent_obj_chunk_listed(p->eng, k->object, hash)) { /* tampered */
        p->stats.chunks_bad++;
        ent__peers_violation(c, ENT_ECHECKSUM,
                             "a CHUNK whose hash no manifest lists");
        return;
    }
    cbatch *b = batch_of(s, c);
    if (b != NULL && b->c == c && memcmp(b->obj, k->object, 32) != 0 &&
        !batch_flush(p, b))
        return;
    uint8_t *copy = malloc(k->len);
    if (b == NULL || copy == NULL) { /* no slot: this one alone */
        free(copy);
        cbatch one = {.c = c, .n = 1};
        memcpy(one.obj, k->object, 32);
        if ((one.data[0] = malloc(k->len)) == NULL)
            return;
        memcpy(one.data[0], k->data, k->len);
        one.len[0] = k->len;
        if (!batch_flush(p, &one))
            return;
    } else {
        b->c = c;
        memcpy(b->obj, k->object, 32);
        memcpy(copy, k->data, k->len);
        b->data[b->n] = copy;
        b->len[b->n++] = k->len;
        /* committed before asking again, and at the end */
        if ((b->n == CHUNKS_BATCH ||
             c->chunks_owed <= ENT_PEERS_CHUNKS_OWED / 2) &&
            !batch_flush(p, b))
            return;
    }
    fetch *f = fetch_find(s, k->object, NULL);
    size_t total = 0;
    if (f != NULL && uv_now(p->loop) < f->until &&
        c->chunks_owed <= ENT_PEERS_CHUNKS_OWED / 2) {
        ask(c, f, 0, &total);
        if (total == 0)
            f->used = false; /* complete */
    }
}

void ent__chunks_message(conn *c, const ent_wire_msg *m) {
    if (!fellow(c)) {
        ent__peers_violation(c, ENT_EPROTO, "CHUNK message from a stranger");
        return;
    }
    if (m->type == ENT_WIRE_CHUNK_WANT)
        on_want(c, &m->u.chunk_want);
    else
        on_chunk(c, &m->u.chunk);
}

int ent_peers_fetch(ent_peers *p, const uint8_t obj[32], const char *name,
                    size_t *have, size_t *total) {
    size_t n = 0, t = 0;
    *have = *total = 0;
    ent_obj_attachment *v = NULL;
    size_t nv = 0;
    int rc = ent_obj_attachments(p->eng, obj, &v, &nv);
    for (size_t i = 0; rc == ENT_OK && i < nv; i++)
        if (strcmp(v[i].name, name) == 0) {
            *total = v[i].nchunks;
            n = v[i].have;
        }
    free(v);
    if (rc != ENT_OK)
        return rc;
    if (*total == 0)
        return ENT_ENOENT;
    *have = n;
    if (n == *total)
        return ENT_OK;
    ent_chunks *s = state(p);
    if (s == NULL)
        return ENT_ENOMEM;
    fetch *f = fetch_find(s, obj, name);
    for (size_t i = 0; f == NULL && i < CHUNKS_MAX_FETCHES; i++)
        if (!s->f[i].used || uv_now(p->loop) >= s->f[i].until)
            f = &s->f[i];
    if (f == NULL)
        f = &s->f[0]; /* the oldest slot goes */
    f->used = true;
    memcpy(f->obj, obj, 32);
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->until = uv_now(p->loop) + ENT_PEERS_FETCH_MS;
    round_for(p, f, &t);
    return ENT_OK;
}

void ent__chunks_closed(conn *c) {
    ent_chunks *s = c->p->chunks;
    for (size_t i = 0; s != NULL && i < CHUNKS_MAX_BATCHES; i++)
        if (s->b[i].c == c)
            batch_clear(&s->b[i]); /* uncommitted: asked again later */
}

void ent__chunks_free(ent_peers *p) {
    for (size_t i = 0; p->chunks != NULL && i < CHUNKS_MAX_BATCHES; i++)
        batch_clear(&p->chunks->b[i]);
    free(p->chunks);
    p->chunks = NULL;
}
