/*
 * witness.c - witnessing of partners' tree heads and equivocation proofs
 * (spec/audit.md §11-§12): the pure part (consistency statements, checking
 * a proof) and the storage part (kept heads, proofs, answers). Sending and
 * receiving HEAD and CONSISTENCY over sessions is node/peers/peer_witness.c,
 * which calls this file; nothing here knows the peer layer.
 */
#include "node/audit/witness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/bytes.h"
#include "node/err.h"
#include "node/events/event.h"
#include "protocol/cbor.h"
#include "protocol/op.h"

#define HL ENT_MERKLE_HASH_LEN
#define STATEMENT_TAG "entente-consistency"
#define KEY_KEPT 'h'  /* 'h' || org -> kept head */
#define KEY_PROOF 'e' /* 'e' || HASH(proof) -> proof */
#define KEY_REWIND 'r' /* 'r' || org || n (u64 BE) -> rewind record */

/* ================================================================ pure */

struct stmt {
    const uint8_t *org;
    uint64_t from, to;
    const uint8_t (*path)[32];
    size_t n;
};

static void emit_stmt(ent_cbor_writer *w, const void *data) {
    const struct stmt *s = data;
    ent_cbor_write_array(w, 5);
    ent_cbor_write_text(w, STATEMENT_TAG, strlen(STATEMENT_TAG));
    ent_cbor_write_bytes(w, s->org, ENT_PK_LEN);
    ent_cbor_write_uint(w, s->from);
    ent_cbor_write_uint(w, s->to);
    ent_cbor_write_bytes(w, s->path, s->n * 32);
}

int ent_witness_sign_statement(const ent_identity *id, uint64_t from,
                               uint64_t to, const uint8_t (*path)[32],
                               size_t n, uint8_t sig[ENT_SIG_LEN]) {
    struct stmt s = {ent_identity_public(id), from, to, path, n};
    uint8_t *buf = NULL;
    size_t len = 0;
    if (n > ENT_MERKLE_MAX_PROOF)
        return ENT_EINVAL;
    int rc = ent_cbor_encode(&buf, &len, 4096, emit_stmt, &s);
    if (rc == ENT_OK)
        rc = ent_identity_sign(id, ENT_SIGCTX_TREE_HEAD, buf, len, sig);
    free(buf);
    return rc;
}

int ent_witness_verify_statement(const uint8_t org[ENT_PK_LEN], uint64_t from,
                                 uint64_t to, const uint8_t (*path)[32],
                                 size_t n, const uint8_t sig[ENT_SIG_LEN]) {
    struct stmt s = {org, from, to, path, n};
    uint8_t *buf = NULL;
    size_t len = 0;
    if (n > ENT_MERKLE_MAX_PROOF)
        return ENT_EINVAL;
    int rc = ent_cbor_encode(&buf, &len, 4096, emit_stmt, &s);
    if (rc == ENT_OK &&
        ent_sig_verify(org, ENT_SIGCTX_TREE_HEAD, buf, len, sig) != ENT_OK)
        rc = ENT_EBADSIG;
    free(buf);
    return rc;
}

/* A proof under construction: [1, kind, org, first, second, path, sig]. */
struct proof {
    int kind;
    const uint8_t *org;
    const uint8_t *a, *b;
    size_t alen, blen;
    const uint8_t *path; /* n * 32 bytes */
    size_t n;
    const uint8_t *sig; /* NULL: empty */
};

static void emit_proof(ent_cbor_writer *w, const void *data) {
    const struct proof *p = data;
    ent_cbor_write_array(w, 7);
    ent_cbor_write_uint(w, ENT_EQUIV_VERSION);
    ent_cbor_write_uint(w, (uint64_t)p->kind);
    ent_cbor_write_bytes(w, p->org, ENT_PK_LEN);
    ent_cbor_write_bytes(w, p->a, p->alen);
    ent_cbor_write_bytes(w, p->b, p->blen);
    ent_cbor_write_bytes(w, p->path, p->n * 32);
    ent_cbor_write_bytes(w, p->sig, p->sig ? ENT_SIG_LEN : 0);
}

/* Decodes a head that must be signed by org. */
/* Whether buf is len bytes of well-formed CBOR within these bounds before
 * a decoder reads it (arrays nested at most depth deep, at most items
 * entries in one, no string over max_str bytes, at most max_size bytes in
 * all): ent_cbor_check's answer. */
static int cbor_bounded(const uint8_t *buf, size_t len, size_t depth,
                        size_t items, size_t max_str, size_t max_size) {
    ent_cbor_limits lim;
    ent_cbor_limits_default(&lim);
    lim.max_depth = depth;
    lim.max_items = items;
    lim.max_total = len;
    lim.max_str = max_str;
    lim.max_size = max_size;
    return ent_cbor_check(buf, len, &lim);
}

static int signed_head(ent_actlog_head *h, const uint8_t *p, size_t n,
                       const uint8_t org[ENT_PK_LEN]) {
    int rc = ent_actlog_head_decode(h, p, n);
    if (rc != ENT_OK)
        return rc;
    if (memcmp(h->org, org, ENT_PK_LEN) != 0)
        return ENT_ECORRUPT;
    return ent_actlog_head_verify(h) == ENT_OK ? ENT_OK : ENT_EBADSIG;
}

static const uint8_t *op_object(const ent_op *op) {
    return op->h.genesis ? op->id : op->h.object;
}

/* Two ops by org, same object and seq, different ids in increasing order. */
static int check_ops(const uint8_t *a, size_t alen, const uint8_t *b,
                     size_t blen, const uint8_t org[ENT_PK_LEN]) {
    ent_op *x = NULL, *y = NULL;
    int rc;
    if ((rc = ent_op_decode(&x, a, alen)) != ENT_OK ||
        (rc = ent_op_decode(&y, b, blen)) != ENT_OK)
        goto out;
    if (ent_op_verify(x) != ENT_OK || ent_op_verify(y) != ENT_OK) {
        rc = ENT_EBADSIG;
        goto out;
    }
    if (memcmp(x->h.author, org, 32) != 0 ||
        memcmp(y->h.author, org, 32) != 0 || x->h.seq != y->h.seq ||
        memcmp(op_object(x), op_object(y), 32) != 0 ||
        memcmp(x->id, y->id, 32) >= 0)
        rc = ENT_ECORRUPT;
out:
    ent_op_free(x);
    ent_op_free(y);
    return rc;
}

int ent_equiv_verify(const uint8_t *buf, size_t len, uint8_t org[ENT_PK_LEN],
                     int *kind) {
    ent_cbor_reader r;
    uint8_t who[ENT_PK_LEN];
    const uint8_t *a, *b, *path, *sig;
    size_t n, alen, blen, plen, slen;
    uint64_t v, k;
    ent_actlog_head h1, h2;
    int rc;
    if (buf == NULL || len > ENT_EQUIV_MAX_SIZE)
        return ENT_ECORRUPT;
    if ((rc = cbor_bounded(buf, len, 2, 16, ENT_OP_MAX_SIZE,
                           ENT_EQUIV_MAX_SIZE)) != ENT_OK)
        return rc;
    ent_cbor_reader_init(&r, buf, len);
    if (ent_cbor_read_array(&r, &n) != ENT_OK || n != 7 ||
        ent_cbor_read_uint(&r, &v) != ENT_OK)
        return ENT_ECORRUPT;
    if (v != ENT_EQUIV_VERSION)
        return ENT_EVERSION;
    if (ent_cbor_read_uint(&r, &k) != ENT_OK ||
        ent_cbor_read_bytes_exact(&r, who, ENT_PK_LEN) != ENT_OK ||
        ent_cbor_read_bytes(&r, &a, &alen) != ENT_OK ||
        ent_cbor_read_bytes(&r, &b, &blen) != ENT_OK ||
        ent_cbor_read_bytes(&r, &path, &plen) != ENT_OK ||
        ent_cbor_read_bytes(&r, &sig, &slen) != ENT_OK ||
        ent_cbor_read_end(&r) != ENT_OK)
        return ENT_ECORRUPT;
    switch (k) {
    case ENT_EQUIV_HEADS:
        if (plen != 0 || slen != 0)
            return ENT_ECORRUPT;
        if ((rc = signed_head(&h1, a, alen, who)) != ENT_OK ||
            (rc = signed_head(&h2, b, blen, who)) != ENT_OK)
            return rc;
        /* one size, two roots, the smaller root first */
        if (h1.size != h2.size || memcmp(h1.root, h2.root, HL) >= 0)
            return ENT_ECORRUPT;
        break;
    case ENT_EQUIV_CONSISTENCY:
        if (plen % 32 != 0 || plen / 32 > ENT_MERKLE_MAX_PROOF ||
            slen != ENT_SIG_LEN)
            return ENT_ECORRUPT;
        if ((rc = signed_head(&h1, a, alen, who)) != ENT_OK ||
            (rc = signed_head(&h2, b, blen, who)) != ENT_OK)
            return rc;
        if (h1.size == 0 || h1.size >= h2.size)
            return ENT_ECORRUPT;
        if (ent_witness_verify_statement(who, h1.size, h2.size,
                                         (const uint8_t(*)[32])path, plen / 32,
                                         sig) != ENT_OK)
            return ENT_EBADSIG;
        /* the org's own signed proof must fail to connect its own heads */
        if (ent_merkle_verify_consistency(h1.size, h2.size, h1.root, h2.root,
                                          (const uint8_t(*)[32])path,
                                          plen / 32) == ENT_OK)
            return ENT_ECORRUPT;
        break;
    case ENT_EQUIV_OPS:
        if (plen != 0 || slen != 0)
            return ENT_ECORRUPT;
        if ((rc = check_ops(a, alen, b, blen, who)) != ENT_OK)
            return rc;
        break;
    default:
        return ENT_ECORRUPT;
    }
    if (org != NULL)
        memcpy(org, who, ENT_PK_LEN);
    if (kind != NULL)
        *kind = (int)k;
    return ENT_OK;
}

/* ---------------------------------------------------- rewind statements */

struct rw {
    const uint8_t *org;
    const uint8_t *base, *lost;
    size_t blen, llen;
    uint64_t time;
    const uint8_t *sig; /* NULL: the signed part (5 items) */
};

static void emit_rw(ent_cbor_writer *w, const void *data) {
    const struct rw *x = data;
    ent_cbor_write_array(w, x->sig ? 6 : 5);
    ent_cbor_write_text(w, ENT_REWIND_TAG, strlen(ENT_REWIND_TAG));
    ent_cbor_write_bytes(w, x->org, ENT_PK_LEN);
    ent_cbor_write_bytes(w, x->base, x->blen);
    ent_cbor_write_bytes(w, x->lost, x->llen);
    ent_cbor_write_uint(w, x->time);
    if (x->sig)
        ent_cbor_write_bytes(w, x->sig, ENT_SIG_LEN);
}

/* The encodings of r's two heads, and the struct that emits r. */
static int rw_of(const ent_rewind *r, uint8_t hb[ENT_ACTLOG_HEAD_MAX],
                 uint8_t hl[ENT_ACTLOG_HEAD_MAX], struct rw *x) {
    memset(x, 0, sizeof(*x));
    int rc = ent_actlog_head_encode(&r->base, true, hb, ENT_ACTLOG_HEAD_MAX,
                                    &x->blen);
    if (rc == ENT_OK)
        rc = ent_actlog_head_encode(&r->lost, true, hl, ENT_ACTLOG_HEAD_MAX,
                                    &x->llen);
    x->org = r->org;
    x->base = hb;
    x->lost = hl;
    x->time = r->time;
    return rc;
}

/* r as CBOR in *out (malloc'ed): the signed part (5 items) or, with_sig,
 * the whole record. */
static int rw_encode(const ent_rewind *r, bool with_sig, uint8_t **out,
                     size_t *len) {
    uint8_t hb[ENT_ACTLOG_HEAD_MAX], hl[ENT_ACTLOG_HEAD_MAX];
    struct rw x;
    int rc = rw_of(r, hb, hl, &x);
    x.sig = with_sig ? r->sig : NULL;
    return rc == ENT_OK ? ent_cbor_encode(out, len, ENT_REWIND_MAX, emit_rw, &x)
                        : rc;
}

int ent_rewind_sign(const ent_identity *id, const ent_actlog_head *base,
                    const ent_actlog_head *lost, uint64_t time, uint8_t *buf,
                    size_t cap, size_t *len) {
    uint8_t *msg = NULL;
    size_t mlen = 0;
    ent_rewind r;
    const uint8_t *me = ent_identity_public(id);
    if (memcmp(base->org, me, ENT_PK_LEN) != 0 ||
        memcmp(lost->org, me, ENT_PK_LEN) != 0 || base->size == 0 ||
        base->size >= lost->size)
        return ENT_EINVAL;
    memset(&r, 0, sizeof(r));
    memcpy(r.org, me, ENT_PK_LEN);
    r.base = *base;
    r.lost = *lost;
    r.time = time;
    int rc = rw_encode(&r, false, &msg, &mlen);
    if (rc == ENT_OK)
        rc = ent_identity_sign(id, ENT_SIGCTX_TREE_HEAD, msg, mlen, r.sig);
    free(msg);
    return rc == ENT_OK ? ent_rewind_encode(&r, buf, cap, len) : rc;
}

int ent_rewind_decode(ent_rewind *r, const uint8_t *buf, size_t len) {
    ent_cbor_reader rd;
    const char *tag;
    const uint8_t *hb, *hl;
    size_t n, tlen, blen, llen;
    int rc;
    memset(r, 0, sizeof(*r));
    if (buf == NULL || len == 0)
        return ENT_ETRUNCATED;
    if (len > ENT_REWIND_MAX)
        return ENT_ETOOBIG;
    if ((rc = cbor_bounded(buf, len, 1, 8, ENT_ACTLOG_HEAD_MAX,
                           ENT_REWIND_MAX)) != ENT_OK)
        return rc;
    ent_cbor_reader_init(&rd, buf, len);
    if (ent_cbor_read_array(&rd, &n) != ENT_OK || n != 6 ||
        ent_cbor_read_text(&rd, &tag, &tlen) != ENT_OK ||
        tlen != strlen(ENT_REWIND_TAG) ||
        memcmp(tag, ENT_REWIND_TAG, tlen) != 0 ||
        ent_cbor_read_bytes_exact(&rd, r->org, ENT_PK_LEN) != ENT_OK ||
        ent_cbor_read_bytes(&rd, &hb, &blen) != ENT_OK ||
        ent_cbor_read_bytes(&rd, &hl, &llen) != ENT_OK ||
        ent_cbor_read_uint(&rd, &r->time) != ENT_OK ||
        ent_cbor_read_bytes_exact(&rd, r->sig, ENT_SIG_LEN) != ENT_OK ||
        ent_cbor_read_end(&rd) != ENT_OK)
        rc = ENT_ECORRUPT;
    else if (ent_actlog_head_decode(&r->base, hb, blen) != ENT_OK ||
             ent_actlog_head_decode(&r->lost, hl, llen) != ENT_OK)
        rc = ENT_ECORRUPT;
    else if (memcmp(r->base.org, r->org, ENT_PK_LEN) != 0 ||
             memcmp(r->lost.org, r->org, ENT_PK_LEN) != 0 ||
             r->base.size == 0 || r->base.size >= r->lost.size)
        rc = ENT_ECORRUPT; /* a rewind to nothing, or of nothing */
    if (rc != ENT_OK)
        memset(r, 0, sizeof(*r));
    return rc;
}

int ent_rewind_encode(const ent_rewind *r, uint8_t *buf, size_t cap,
                      size_t *len) {
    uint8_t *out = NULL;
    size_t olen = 0;
    int rc = rw_encode(r, true, &out, &olen);
    if (rc == ENT_OK && olen > cap)
        rc = ENT_EINVAL;
    if (rc == ENT_OK) {
        memcpy(buf, out, olen);
        *len = olen;
    }
    free(out);
    return rc;
}

int ent_rewind_verify(const ent_rewind *r) {
    uint8_t *msg = NULL;
    size_t mlen = 0;
    int rc = rw_encode(r, false, &msg, &mlen);
    if (rc == ENT_OK &&
        (ent_sig_verify(r->org, ENT_SIGCTX_TREE_HEAD, msg, mlen, r->sig) !=
             ENT_OK ||
         ent_actlog_head_verify(&r->base) != ENT_OK ||
         ent_actlog_head_verify(&r->lost) != ENT_OK))
        rc = ENT_EBADSIG;
    free(msg);
    return rc == ENT_EINVAL ? ENT_ECORRUPT : rc;
}

/* ================================================================ storage */

int ent_witness_kept(ent_txn *txn, const uint8_t org[ENT_PK_LEN],
                     ent_actlog_head *out) {
    uint8_t key[1 + ENT_PK_LEN];
    const void *v;
    size_t vlen;
    key[0] = KEY_KEPT;
    memcpy(key + 1, org, ENT_PK_LEN);
    int rc = ent_txn_get(txn, ENT_TBL_WITNESSED, key, sizeof(key), &v, &vlen);
    if (rc != ENT_OK)
        return rc;
    if (ent_actlog_head_decode(out, v, vlen) != ENT_OK ||
        memcmp(out->org, org, ENT_PK_LEN) != 0)
        return ENT_ECORRUPT;
    return ENT_OK;
}

static int put_kept(ent_txn *txn, const ent_actlog_head *h) {
    uint8_t key[1 + ENT_PK_LEN], buf[ENT_ACTLOG_HEAD_MAX];
    size_t n = 0;
    int rc = ent_actlog_head_encode(h, true, buf, sizeof(buf), &n);
    if (rc != ENT_OK)
        return rc;
    key[0] = KEY_KEPT;
    memcpy(key + 1, h->org, ENT_PK_LEN);
    return ent_txn_put(txn, ENT_TBL_WITNESSED, key, sizeof(key), buf, n, 0);
}

/* Appends a local event (spec/events.md) of kind about org, on no object;
 * takes d (NULL: out of memory). */
static int org_event(ent_txn *txn, uint64_t now, const char *kind,
                     const uint8_t org[ENT_PK_LEN], json_t *d) {
    ent_event ev = {.kind = kind, .has_org = true, .data = d};
    memcpy(ev.org, org, ENT_PK_LEN);
    int rc = d != NULL ? ent_events_append(txn, &ev, now, NULL) : ENT_ENOMEM;
    json_decref(d);
    return rc;
}

/* Stores proof p and appends its `equivocation` log entry: one entry per
 * proof, so a proof found again (the same heads offered once more, the
 * same failing answer) is neither stored nor logged twice. */
static int put_proof(ent_txn *txn, uint64_t now, const struct proof *p,
                     const char *why) {
    uint8_t *buf = NULL, key[1 + ENT_HASH_LEN];
    const void *v;
    size_t len = 0, vlen;
    ent_actlog_entry e;
    int rc = ent_cbor_encode(&buf, &len, ENT_EQUIV_MAX_SIZE, emit_proof, p);
    if (rc != ENT_OK)
        return rc;
    key[0] = KEY_PROOF;
    ent_hash(key + 1, buf, len);
    rc = ent_txn_get(txn, ENT_TBL_WITNESSED, key, sizeof(key), &v, &vlen);
    if (rc == ENT_OK || rc != ENT_ENOENT) {
        free(buf);
        return rc; /* ENT_OK: known already */
    }
    rc = ent_txn_put(txn, ENT_TBL_WITNESSED, key, sizeof(key), buf, len, 0);
    free(buf);
    if (rc != ENT_OK)
        return rc;
    memset(&e, 0, sizeof(e));
    e.time = now;
    e.kind = ENT_LOG_EQUIVOCATION;
    e.has_org = true;
    memcpy(e.org, p->org, ENT_PK_LEN);
    e.reason_len = (size_t)snprintf(e.reason, sizeof(e.reason), "%s", why);
    if ((rc = ent_actlog_append(txn, &e, NULL)) != ENT_OK) /* unsigned */
        return rc;
    /* the local event: a log's fork */
    return org_event(
        txn, now, ENT_EV_EQUIVOCATION, p->org,
        json_pack("{s:s,s:s}", "proof",
                  p->kind == ENT_EQUIV_HEADS ? "heads" : "consistency",
                  "reason", why));
}

/* A heads proof from two heads of one size: smaller root first. */
static int heads_proof(ent_txn *txn, uint64_t now, const ent_actlog_head *x,
                       const ent_actlog_head *y) {
    uint8_t ba[ENT_ACTLOG_HEAD_MAX], bb[ENT_ACTLOG_HEAD_MAX];
    size_t na = 0, nb = 0;
    int rc;
    if (memcmp(x->root, y->root, HL) > 0) {
        const ent_actlog_head *t = x;
        x = y;
        y = t;
    }
    if ((rc = ent_actlog_head_encode(x, true, ba, sizeof(ba), &na)) != ENT_OK ||
        (rc = ent_actlog_head_encode(y, true, bb, sizeof(bb), &nb)) != ENT_OK)
        return rc;
    struct proof p = {ENT_EQUIV_HEADS, x->org, ba, bb, na, nb, NULL, 0, NULL};
    return put_proof(txn, now, &p, "two signed tree heads of one size");
}

struct offer {
    uint64_t now;
    ent_actlog_head h, kept;
    bool has_kept;
    const ent_wire_consistency *ans;
    int outcome;
};

static int offer_fn(ent_txn *txn, void *data) {
    struct offer *o = data;
    int rc = ent_witness_kept(txn, o->h.org, &o->kept);
    o->has_kept = rc == ENT_OK;
    if (rc == ENT_ENOENT) {
        o->outcome = ENT_WITNESS_KEPT;
        return put_kept(txn, &o->h);
    }
    if (rc != ENT_OK)
        return rc;
    if (o->kept.size != o->h.size) {
        o->outcome = ENT_WITNESS_NEED_PROOF;
        return ENT_OK;
    }
    if (memcmp(o->kept.root, o->h.root, HL) == 0) {
        o->outcome = ENT_WITNESS_SAME;
        return ENT_OK;
    }
    o->outcome = ENT_WITNESS_EQUIVOCATION;
    return heads_proof(txn, o->now, &o->kept, &o->h);
}

int ent_witness_offer(ent_store *store, uint64_t now, const uint8_t *head,
                      size_t len, const uint8_t *from, int *outcome,
                      ent_actlog_head *kept) {
    struct offer o;
    memset(&o, 0, sizeof(o));
    o.now = now;
    int rc = ent_actlog_head_decode(&o.h, head, len);
    if (rc != ENT_OK)
        return rc;
    if (from != NULL && memcmp(o.h.org, from, ENT_PK_LEN) != 0)
        return ENT_EDENIED;
    if (ent_actlog_head_verify(&o.h) != ENT_OK)
        return ENT_EBADSIG;
    if (o.h.size == 0) { /* the empty log commits to nothing */
        *outcome = ENT_WITNESS_SAME;
        return ENT_OK;
    }
    if ((rc = ent_store_write(store, offer_fn, &o)) != ENT_OK)
        return rc;
    *outcome = o.outcome;
    if (kept != NULL && o.has_kept)
        *kept = o.kept;
    return ENT_OK;
}

static int settle_fn(ent_txn *txn, void *data) {
    struct offer *o = data;
    const ent_wire_consistency *a = o->ans;
    int rc = ent_witness_kept(txn, o->h.org, &o->kept);
    if (rc != ENT_OK)
        return rc;
    const ent_actlog_head *lo = o->kept.size < o->h.size ? &o->kept : &o->h;
    const ent_actlog_head *hi = lo == &o->h ? &o->kept : &o->h;
    if (lo->size == hi->size || a->from != lo->size || a->to != hi->size ||
        !a->has_sig)
        return ENT_EINVAL;
    if (ent_witness_verify_statement(o->h.org, a->from, a->to,
                                     (const uint8_t(*)[32])a->hashes,
                                     a->nhashes, a->sig) != ENT_OK)
        return ENT_EBADSIG;
    if (ent_merkle_verify_consistency(lo->size, hi->size, lo->root, hi->root,
                                      (const uint8_t(*)[32])a->hashes,
                                      a->nhashes) == ENT_OK) {
        if (hi == &o->h) {
            o->outcome = ENT_WITNESS_KEPT;
            return put_kept(txn, &o->h);
        }
        o->outcome = ENT_WITNESS_SAME;
        return ENT_OK;
    }
    uint8_t ba[ENT_ACTLOG_HEAD_MAX], bb[ENT_ACTLOG_HEAD_MAX];
    size_t na = 0, nb = 0;
    if ((rc = ent_actlog_head_encode(lo, true, ba, sizeof(ba), &na)) !=
            ENT_OK ||
        (rc = ent_actlog_head_encode(hi, true, bb, sizeof(bb), &nb)) != ENT_OK)
        return rc;
    struct proof p = {ENT_EQUIV_CONSISTENCY, o->h.org, ba, bb, na, nb,
                      (const uint8_t *)a->hashes, a->nhashes, a->sig};
    o->outcome = ENT_WITNESS_EQUIVOCATION;
    return put_proof(txn, o->now, &p,
                     "signed consistency proof between two heads fails");
}

int ent_witness_settle(ent_store *store, uint64_t now, const uint8_t *head,
                       size_t len, const ent_wire_consistency *answer,
                       int *outcome) {
    struct offer o;
    memset(&o, 0, sizeof(o));
    o.now = now;
    o.ans = answer;
    int rc = ent_actlog_head_decode(&o.h, head, len);
    if (rc != ENT_OK)
        return rc;
    if (ent_actlog_head_verify(&o.h) != ENT_OK)
        return ENT_EBADSIG;
    if ((rc = ent_store_write(store, settle_fn, &o)) != ENT_OK)
        return rc;
    *outcome = o.outcome;
    return ENT_OK;
}

/* ------------------------------------------------------------ rewinds */

struct rewind_ctx {
    const uint8_t *rec;
    size_t len;
    ent_rewind r;
    uint64_t count; /* rewinds of the org kept */
    bool same;      /* this very record is kept already */
    uint64_t proven; /* largest head size of a head proof against org */
    uint64_t now;    /* ms, the event's time */
    int outcome;
};

static int rewind_count_fn(void *data, const void *key, size_t klen,
                           const void *val, size_t vlen) {
    struct rewind_ctx *x = data;
    x->count++;
    if (vlen == x->len && memcmp(val, x->rec, vlen) == 0)
        x->same = true;
    return 0;
}

/* The larger head of every kind 1 or 2 proof against the org (the second
 * half: a kind 1 proof's heads share one size, a kind 2 proof's second
 * is the larger). */
static int proven_fn(void *data, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    struct rewind_ctx *x = data;
    ent_cbor_reader r;
    size_t n, alen, blen;
    uint64_t v, k;
    uint8_t who[ENT_PK_LEN];
    const uint8_t *a, *b;
    ent_actlog_head h;
    ent_cbor_reader_init(&r, val, vlen);
    if (ent_cbor_read_array(&r, &n) != ENT_OK || n != 7 ||
        ent_cbor_read_uint(&r, &v) != ENT_OK ||
        ent_cbor_read_uint(&r, &k) != ENT_OK ||
        ent_cbor_read_bytes_exact(&r, who, ENT_PK_LEN) != ENT_OK ||
        ent_cbor_read_bytes(&r, &a, &alen) != ENT_OK ||
        ent_cbor_read_bytes(&r, &b, &blen) != ENT_OK)
        return ENT_ECORRUPT;
    if (memcmp(who, x->r.org, ENT_PK_LEN) != 0 ||
        (k != ENT_EQUIV_HEADS && k != ENT_EQUIV_CONSISTENCY))
        return 0;
    if (ent_actlog_head_decode(&h, b, blen) != ENT_OK)
        return ENT_ECORRUPT;
    if (h.size > x->proven)
        x->proven = h.size;
    return 0;
}

static bool same_head(const ent_actlog_head *a, const ent_actlog_head *b) {
    return memcmp(a->org, b->org, ENT_PK_LEN) == 0 && a->size == b->size &&
           memcmp(a->root, b->root, HL) == 0 && a->time == b->time &&
           memcmp(a->sig, b->sig, ENT_SIG_LEN) == 0;
}

static int rewind_fn(ent_txn *txn, void *data) {
    struct rewind_ctx *x = data;
    uint8_t pre[1 + ENT_PK_LEN], key[1 + ENT_PK_LEN + 8], e = KEY_PROOF;
    ent_actlog_head kept;
    pre[0] = KEY_REWIND;
    memcpy(pre + 1, x->r.org, ENT_PK_LEN);
    int rc = ent_txn_scan(txn, ENT_TBL_WITNESSED, pre, sizeof(pre),
                          rewind_count_fn, x);
    if (rc != ENT_OK)
        return rc;
    if (x->same) {
        x->outcome = ENT_WITNESS_SAME;
        return ENT_OK;
    }
    if ((rc = ent_witness_kept(txn, x->r.org, &kept)) != ENT_OK)
        return rc;
    /* the statement must name the very head this witness keeps */
    if (!same_head(&kept, &x->r.lost))
        return ENT_EINVAL;
    /* proofs are never removed, and none may lie inside the rewound part */
    if ((rc = ent_txn_scan(txn, ENT_TBL_WITNESSED, &e, 1, proven_fn, x)) !=
        ENT_OK)
        return rc;
    if (x->proven > x->r.base.size)
        return ENT_EDENIED;
    if (x->count >= ENT_WITNESS_MAX_REWINDS)
        return ENT_ELIMIT;
    memcpy(key, pre, sizeof(pre));
    ent_be64_put(key + sizeof(pre), x->count);
    if ((rc = ent_txn_put(txn, ENT_TBL_WITNESSED, key, sizeof(key), x->rec,
                          x->len, 0)) != ENT_OK)
        return rc;
    x->outcome = ENT_WITNESS_REWOUND;
    if ((rc = put_kept(txn, &x->r.base)) != ENT_OK)
        return rc;
    /* the local event: the partner's log goes back from the lost head to
     * the base */
    return org_event(txn, x->now, ENT_EV_REWIND, x->r.org,
                     json_pack("{s:I,s:I}", "base", (json_int_t)x->r.base.size,
                               "lost", (json_int_t)x->r.lost.size));
}

int ent_witness_rewind(ent_store *store, uint64_t now, const uint8_t *rec,
                       size_t len, const uint8_t *from, int *outcome) {
    struct rewind_ctx x;
    memset(&x, 0, sizeof(x));
    x.now = now;
    x.rec = rec;
    x.len = len;
    int rc = ent_rewind_decode(&x.r, rec, len);
    if (rc != ENT_OK)
        return rc;
    if (from != NULL && memcmp(x.r.org, from, ENT_PK_LEN) != 0)
        return ENT_EDENIED;
    if ((rc = ent_rewind_verify(&x.r)) != ENT_OK)
        return rc;
    if ((rc = ent_store_write(store, rewind_fn, &x)) != ENT_OK)
        return rc;
    *outcome = x.outcome;
    return ENT_OK;
}

struct rewind_scan {
    int (*fn)(void *data, const uint8_t *rec, size_t len);
    void *data;
};

static int rewind_scan_fn(void *data, const void *key, size_t klen,
                          const void *val, size_t vlen) {
    struct rewind_scan *s = data;
    if (klen != 1 + ENT_PK_LEN + 8)
        return ENT_ECORRUPT;
    return s->fn(s->data, val, vlen);
}

int ent_witness_rewinds_foreach(ent_txn *txn,
                                int (*fn)(void *data, const uint8_t *rec,
                                          size_t len),
                                void *data) {
    struct rewind_scan s = {fn, data};
    uint8_t pre = KEY_REWIND;
    return ent_txn_scan(txn, ENT_TBL_WITNESSED, &pre, 1, rewind_scan_fn, &s);
}

struct answer {
    const ent_identity *id;
    uint64_t from, to;
    ent_wire_consistency *out;
};

static int answer_fn(ent_txn *txn, void *data) {
    struct answer *a = data;
    uint64_t size;
    uint8_t root[HL];
    int rc = ent_actlog_root(txn, &size, root);
    if (rc != ENT_OK)
        return rc;
    if (a->from == 0 || a->from > a->to || a->to > size)
        return ENT_EINVAL;
    return ent_actlog_consistency_proof(txn, a->from, a->to, a->out->hashes,
                                        ENT_WIRE_MAX_CPROOF,
                                        &a->out->nhashes);
}

int ent_witness_answer(ent_store *store, const ent_identity *id,
                       uint64_t from, uint64_t to, ent_wire_consistency *out) {
    struct answer a = {id, from, to, out};
    memset(out, 0, sizeof(*out));
    out->from = from;
    out->to = to;
    int rc = ent_store_read(store, answer_fn, &a);
    if (rc == ENT_OK)
        rc = ent_witness_sign_statement(id, from, to,
                                        (const uint8_t(*)[32])out->hashes,
                                        out->nhashes, out->sig);
    out->has_sig = rc == ENT_OK;
    return rc;
}

struct kept_scan {
    int (*fn)(void *data, const ent_actlog_head *h);
    void *data;
};

static int kept_scan_fn(void *data, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    struct kept_scan *k = data;
    ent_actlog_head h;
    if (klen != 1 + ENT_PK_LEN || ent_actlog_head_decode(&h, val, vlen) != 0)
        return ENT_ECORRUPT;
    return k->fn(k->data, &h);
}

int ent_witness_kept_foreach(ent_txn *txn,
                             int (*fn)(void *data, const ent_actlog_head *h),
                             void *data) {
    struct kept_scan k = {fn, data};
    uint8_t pre = KEY_KEPT;
    return ent_txn_scan(txn, ENT_TBL_WITNESSED, &pre, 1, kept_scan_fn, &k);
}

struct proof_scan {
    int (*fn)(void *data, const uint8_t *proof, size_t len);
    void *data;
    /* op proofs: the previous row of "equivocations" */
    uint8_t prefix[72];
    const uint8_t *first;
    size_t flen;
    bool have_first, emitted;
    uint64_t count;
};

static int head_proof_fn(void *data, const void *key, size_t klen,
                         const void *val, size_t vlen) {
    struct proof_scan *s = data;
    s->count++;
    return s->fn ? s->fn(s->data, val, vlen) : 0;
}

/* Rows come sorted: obj || author || seq || op id. The first two of one
 * (obj, author, seq) make the proof (op ids increasing). */
static int op_proof_fn(void *data, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    struct proof_scan *s = data;
    if (klen != 104)
        return ENT_ECORRUPT;
    if (!s->have_first || memcmp(s->prefix, key, 72) != 0) {
        memcpy(s->prefix, key, 72);
        s->first = val;
        s->flen = vlen;
        s->have_first = true;
        s->emitted = false;
        return 0;
    }
    if (s->emitted)
        return 0;
    s->emitted = true;
    s->count++;
    if (s->fn == NULL)
        return 0;
    struct proof p = {ENT_EQUIV_OPS, s->prefix + 32, s->first, val,
                      s->flen, vlen, NULL, 0, NULL};
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = ent_cbor_encode(&buf, &len, ENT_EQUIV_MAX_SIZE, emit_proof, &p);
    if (rc == ENT_OK)
        rc = s->fn(s->data, buf, len);
    free(buf);
    return rc;
}

static int proofs_scan(ent_txn *txn, struct proof_scan *s) {
    uint8_t pre = KEY_PROOF;
    int rc = ent_txn_scan(txn, ENT_TBL_WITNESSED, &pre, 1, head_proof_fn, s);
    if (rc == ENT_OK)
        rc = ent_txn_scan(txn, ENT_TBL_EQUIV, NULL, 0, op_proof_fn, s);
    return rc;
}

int ent_witness_proofs_foreach(ent_txn *txn,
                               int (*fn)(void *data, const uint8_t *proof,
                                         size_t len),
                               void *data) {
    struct proof_scan s;
    memset(&s, 0, sizeof(s));
    s.fn = fn;
    s.data = data;
    return proofs_scan(txn, &s);
}

int ent_witness_count(ent_txn *txn, uint64_t *n) {
    struct proof_scan s;
    memset(&s, 0, sizeof(s));
    int rc = proofs_scan(txn, &s);
    *n = s.count;
    return rc;
}
