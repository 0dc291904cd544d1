/*
 * audit_export.c - the activity-log export (spec/audit.md §9); the
 * verifier is in audit.c.
 */
#include "node/audit/audit.h"

#include <stdlib.h>
#include <string.h>

#include "node/audit/audit_int.h"
#include "node/audit/directory.h"
#include "node/audit/witness.h"
#include "node/err.h"
#include "protocol/cbor.h"
#include "protocol/op.h"
#include "storage/op_index.h"

#define EXPORT_ITEMS ENT__AUDIT_ITEMS
#define HL ENT_MERKLE_HASH_LEN

static const uint8_t ZERO32[32];

static int cmp32(const void *a, const void *b) { return memcmp(a, b, 32); }

/* ================================================================ export */

/* A growable byte buffer with a sticky error. */
typedef struct dbuf {
    uint8_t *p;
    size_t len, cap;
    int err;
} dbuf;

static void db_put(dbuf *b, const void *p, size_t n) {
    if (b->err != ENT_OK)
        return;
    if (n > ENT_AUDIT_MAX_SIZE - b->len) {
        b->err = ENT_ETOOBIG;
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (q == NULL) {
            b->err = ENT_ENOMEM;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* Appends a CBOR byte string of n bytes (n < 2^32: shortest head). */
static void db_bstr(dbuf *b, const void *p, size_t n) {
    uint8_t hd[5];
    size_t h = 0;
    if (n < 24) {
        hd[h++] = (uint8_t)(0x40 | n);
    } else if (n < 0x100) {
        hd[h++] = 0x58;
        hd[h++] = (uint8_t)n;
    } else if (n < 0x10000) {
        hd[h++] = 0x59;
        hd[h++] = (uint8_t)(n >> 8);
        hd[h++] = (uint8_t)n;
    } else {
        hd[h++] = 0x5a;
        for (int i = 3; i >= 0; i--)
            hd[h++] = (uint8_t)(n >> (8 * i));
    }
    db_put(b, hd, h);
    db_put(b, p, n);
}

/* A directory record in the making (spec/audit.md §9, item 12): all but
 * the checkpoint's inclusion proof, which needs every leaf up to n. */
typedef struct rec {
    uint64_t m; /* head size: the checkpoint is entry m - 1 */
    uint8_t cp[ENT_ACTLOG_ENTRY_MAX];
    size_t cplen;
    uint64_t pos, last;
    uint8_t path[ENT_MERKLE_MAX_PROOF][HL];
    size_t plen;
} rec;

struct exp {
    ent_store *store;
    const ent_identity *id;
    uint64_t now;
    const uint8_t *object; /* filter */
    uint64_t since;
    ent_actlog_head head;
    /* sections, each the concatenation of its encoded items */
    dbuf entries, proofs, history, ops, frontier, equiv, dirrecs;
    size_t nentries, nproofs, nhistory, nops, nfrontier, nequiv, ndirrecs;
    uint8_t (*opids)[32];
    size_t nopids, capopids;
    char name[ENT_AUDIT_NAME_MAX + 1];
    size_t namelen;
    ent_txn *txn;
    /* history: the ENT_AUDIT_MAX_HISTORY latest heads below n, a ring */
    ent_actlog_head *hist;
    size_t nhist, hfirst;
    /* object export: the replay (log leaves, directory), the indexes of
     * the exported entries and the records */
    ent_mtree *leaves;
    ent_dir *dir;
    uint64_t *idx;
    size_t nidx, capidx;
    rec *recs;
    size_t nrecs, nextrec; /* nextrec: next head size to make a record of */
    uint64_t *recsizes;    /* history sizes, then n */
    size_t nrecsizes;
};

static int sign_fn(ent_txn *txn, void *data) {
    struct exp *x = data;
    return ent_actlog_sign_head(txn, x->id, x->now, &x->head);
}

static int note_op(struct exp *x, const ent_actlog_entry *e) {
    if (!ent__audit_needs_op(e->kind) || !e->has_op)
        return ENT_OK;
    if (x->nopids == x->capopids) {
        size_t cap = x->capopids ? 2 * x->capopids : 64;
        uint8_t(*q)[32] = realloc(x->opids, cap * 32);
        if (q == NULL)
            return ENT_ENOMEM;
        x->opids = q;
        x->capopids = cap;
    }
    memcpy(x->opids[x->nopids++], e->op, 32);
    return ENT_OK;
}

/* Whole-log export: entries since .. n-1. */
static int entry_fn(void *data, const ent_actlog_entry *e, const uint8_t *raw,
                    size_t len) {
    struct exp *x = data;
    int rc;
    if (e->index >= x->head.size)
        return 1;
    db_put(&x->entries, raw, len);
    x->nentries++;
    if ((rc = note_op(x, e)) != ENT_OK)
        return rc;
    return x->entries.err;
}

/* The directory record of the checkpoint e (raw bytes) for the head of
 * size e->index + 1, when the object is in its directory. */
static int make_rec(struct exp *x, const ent_actlog_entry *e,
                    const uint8_t *raw, size_t len) {
    rec *r = &x->recs[x->nrecs];
    int rc;
    if (ent_dir_find(x->dir, x->object, &r->pos, &r->last) != ENT_OK)
        return ENT_OK; /* not listed: nothing to prove at this head */
    r->m = e->index + 1;
    memcpy(r->cp, raw, len);
    r->cplen = len;
    if ((rc = ent_dir_path(x->dir, r->pos, r->path, ENT_MERKLE_MAX_PROOF,
                           &r->plen)) != ENT_OK)
        return rc;
    x->nrecs++;
    return ENT_OK;
}

/*
 * Object export: replays the whole log up to n, for the leaves (inclusion
 * proofs come after, from the complete tree) and the directory (each
 * checkpoint's own commitment is checked against the replay: a mismatch
 * is a damaged store). Keeps the object's entries from since on, and the
 * directory records at the history heads and at n.
 */
static int replay_fn(void *data, const ent_actlog_entry *e,
                     const uint8_t *raw, size_t len) {
    struct exp *x = data;
    uint8_t leaf[HL];
    uint64_t oprev;
    int rc;
    if (e->index >= x->head.size)
        return 1;
    ent_merkle_leaf_hash(leaf, raw, len);
    if ((rc = ent_mtree_append(x->leaves, leaf)) != ENT_OK)
        return rc;
    if (e->kind == ENT_LOG_CHECKPOINT) {
        uint8_t root[HL];
        ent_dir_root(x->dir, root);
        if (e->dir_size != ent_dir_size(x->dir) ||
            memcmp(root, e->dir_root, HL) != 0)
            return ENT_ECORRUPT;
        while (x->nextrec < x->nrecsizes &&
               x->recsizes[x->nextrec] < e->index + 1)
            x->nextrec++;
        if (x->nextrec < x->nrecsizes &&
            x->recsizes[x->nextrec] == e->index + 1 &&
            (rc = make_rec(x, e, raw, len)) != ENT_OK)
            return rc;
        return ENT_OK;
    }
    if (!e->has_object)
        return ENT_OK;
    if ((rc = ent_dir_note(x->dir, e->object, e->index, &oprev)) != ENT_OK)
        return rc;
    if (e->version == ENT_ACTLOG_VERSION && oprev != e->oprev)
        return ENT_ECORRUPT;
    if (memcmp(e->object, x->object, 32) != 0 || e->index < x->since)
        return ENT_OK;
    /* a version-2 entry names no previous entry: its object's export
     * could not be shown complete */
    if (e->version != ENT_ACTLOG_VERSION)
        return ENT_EVERSION;
    if (x->nidx == x->capidx) {
        size_t cap = x->capidx ? 2 * x->capidx : 64;
        uint64_t *q = realloc(x->idx, cap * sizeof(*q));
        if (q == NULL)
            return ENT_ENOMEM;
        x->idx = q;
        x->capidx = cap;
    }
    x->idx[x->nidx++] = e->index;
    db_put(&x->entries, raw, len);
    x->nentries++;
    if ((rc = note_op(x, e)) != ENT_OK)
        return rc;
    return x->entries.err;
}

static int head_fn(void *data, const ent_actlog_head *h) {
    struct exp *x = data;
    if (h->size == 0 || h->size >= x->head.size)
        return 0;
    if (x->nhist < ENT_AUDIT_MAX_HISTORY) {
        x->hist[x->nhist++] = *h;
    } else { /* by increasing size: the oldest goes */
        x->hist[x->hfirst] = *h;
        x->hfirst = (x->hfirst + 1) % ENT_AUDIT_MAX_HISTORY;
    }
    return 0;
}

/* The kept history heads, oldest first, with consistency proofs to n. */
static int emit_history(struct exp *x) {
    uint8_t path[ENT_MERKLE_MAX_PROOF][HL], buf[ENT_ACTLOG_HEAD_MAX];
    int rc;
    for (size_t i = 0; i < x->nhist; i++) {
        const ent_actlog_head *h =
            &x->hist[(x->hfirst + i) % ENT_AUDIT_MAX_HISTORY];
        size_t plen = 0, n = 0;
        if ((rc = ent_actlog_consistency_proof(x->txn, h->size, x->head.size,
                                               path, ENT_MERKLE_MAX_PROOF,
                                               &plen)) != ENT_OK ||
            (rc = ent_actlog_head_encode(h, true, buf, sizeof(buf), &n)) !=
                ENT_OK)
            return rc;
        db_put(&x->history, "\x82", 1);
        db_put(&x->history, buf, n);
        db_bstr(&x->history, path, plen * HL);
        x->nhistory++;
    }
    return x->history.err;
}

static void db_uint(dbuf *b, uint64_t v) {
    uint8_t buf[9];
    ent_cbor_writer w;
    ent_cbor_writer_init(&w, buf, sizeof(buf));
    ent_cbor_write_uint(&w, v);
    db_put(b, buf, w.len);
}

/* After the replay: the entries' inclusion proofs and the records. */
static int emit_object(struct exp *x) {
    uint8_t path[ENT_MERKLE_MAX_PROOF][HL];
    size_t plen;
    int rc;
    if (x->nrecs == 0 || x->recs[x->nrecs - 1].m != x->head.size)
        return ENT_ENOENT; /* no entry of this object up to the head */
    for (size_t i = 0; i < x->nidx; i++) {
        if ((rc = ent_mtree_path(x->leaves, x->idx[i], x->head.size, path,
                                 ENT_MERKLE_MAX_PROOF, &plen)) != ENT_OK)
            return rc;
        db_bstr(&x->proofs, path, plen * HL);
        x->nproofs++;
    }
    for (size_t i = 0; i < x->nrecs; i++) {
        const rec *r = &x->recs[i];
        if ((rc = ent_mtree_path(x->leaves, r->m - 1, x->head.size, path,
                                 ENT_MERKLE_MAX_PROOF, &plen)) != ENT_OK)
            return rc;
        db_put(&x->dirrecs, "\x86", 1);
        db_uint(&x->dirrecs, r->m);
        db_put(&x->dirrecs, r->cp, r->cplen);
        db_bstr(&x->dirrecs, path, plen * HL);
        db_uint(&x->dirrecs, r->pos);
        db_uint(&x->dirrecs, r->last);
        db_bstr(&x->dirrecs, r->path, r->plen * HL);
        x->ndirrecs++;
    }
    return x->proofs.err != ENT_OK ? x->proofs.err : x->dirrecs.err;
}

static int leaf_fn(void *data, uint64_t index, uint8_t out[HL]) {
    const uint8_t *b;
    size_t n;
    int rc = ent_actlog_get(data, index, &b, &n, out);
    return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
}

/* One equivocation proof (spec/audit.md §12) into the evidence section. */
static int equiv_fn(void *data, const uint8_t *proof, size_t len) {
    struct exp *x = data;
    db_put(&x->equiv, proof, len);
    x->nequiv++;
    return x->equiv.err;
}

static int collect_fn(ent_txn *txn, void *data) {
    struct exp *x = data;
    const void *v;
    size_t vlen;
    int rc;
    x->txn = txn;
    if (ent_txn_get(txn, ENT_TBL_META, "name", 4, &v, &vlen) == ENT_OK) {
        if (vlen > ENT_AUDIT_NAME_MAX || !ent_cbor_utf8_valid(v, vlen))
            return ENT_ECORRUPT;
        memcpy(x->name, v, vlen);
        x->namelen = vlen;
    }
    /* the earlier heads with consistency proofs: at most
     * ENT_AUDIT_MAX_HISTORY, the most recent */
    if ((rc = ent_actlog_heads_foreach(txn, head_fn, x)) != ENT_OK ||
        (rc = emit_history(x)) != ENT_OK)
        return rc;
    if (x->object == NULL && x->since > 0) {
        ent_merkle_frontier f;
        if ((rc = ent_merkle_frontier_build(&f, x->since, leaf_fn, txn)) !=
            ENT_OK)
            return rc;
        for (int i = 0; i < __builtin_popcountll(f.size); i++)
            db_bstr(&x->frontier, f.hashes[i], HL);
        x->nfrontier = (size_t)__builtin_popcountll(f.size);
    }
    if (x->object == NULL) {
        if ((rc = ent_actlog_foreach(txn, x->since, entry_fn, x)) != ENT_OK)
            return rc;
    } else {
        /* the records: at every history head and at n */
        if ((x->recsizes = calloc(x->nhist + 1, sizeof(uint64_t))) == NULL ||
            (x->recs = calloc(x->nhist + 1, sizeof(rec))) == NULL ||
            ent_mtree_new(&x->leaves) != ENT_OK ||
            ent_dir_new(&x->dir) != ENT_OK)
            return ENT_ENOMEM;
        for (size_t i = 0; i < x->nhist; i++)
            x->recsizes[i] =
                x->hist[(x->hfirst + i) % ENT_AUDIT_MAX_HISTORY].size;
        x->recsizes[x->nhist] = x->head.size;
        x->nrecsizes = x->nhist + 1;
        if ((rc = ent_actlog_foreach(txn, 0, replay_fn, x)) != ENT_OK ||
            (rc = emit_object(x)) != ENT_OK)
            return rc;
    }
    /* ops: unique, by increasing id */
    if (x->nopids > 0)
        qsort(x->opids, x->nopids, 32, cmp32);
    for (size_t i = 0; i < x->nopids; i++) {
        const void *okey, *raw;
        size_t klen, rlen;
        if (i > 0 && memcmp(x->opids[i], x->opids[i - 1], 32) == 0)
            continue;
        if (ent_op_index_get(txn, x->opids[i], &okey, &klen) != ENT_OK ||
            ent_txn_get(txn, ENT_TBL_OPS, okey, klen, &raw, &rlen) != ENT_OK)
            return ENT_ECORRUPT;
        if (ent_op_is_stub(raw, rlen)) {
            /* its body was erased: the erased op record (spec/audit.md §9) */
            ent_op_erased e;
            uint8_t erec[ENT_OP_ERASED_MAX];
            size_t reclen;
            if ((rc = ent_op_stub_read(raw, rlen, okey, &e)) != ENT_OK ||
                (rc = ent_op_erased_encode(&e, erec, &reclen)) != ENT_OK)
                return rc;
            db_put(&x->ops, erec, reclen);
            x->nops++;
            continue;
        }
        db_put(&x->ops, raw, rlen);
        x->nops++;
    }
    /* equivocation proofs: whole-log exports only (an object export
     * discloses one object, not the node's evidence about other orgs) */
    if (x->object == NULL &&
        (rc = ent_witness_proofs_foreach(txn, equiv_fn, x)) != ENT_OK)
        return rc;
    const dbuf *all[] = {&x->entries, &x->proofs, &x->history, &x->ops,
                         &x->frontier, &x->equiv, &x->dirrecs};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (all[i]->err != ENT_OK)
            return all[i]->err;
    return ENT_OK;
}

static void emit_export(ent_cbor_writer *w, const void *data) {
    const struct exp *x = data;
    uint8_t hbuf[ENT_ACTLOG_HEAD_MAX];
    size_t hlen = 0;
    int rc = ent_actlog_head_encode(&x->head, true, hbuf, sizeof(hbuf), &hlen);
    if (rc != ENT_OK) {
        ent_cbor_writer_fail(w, rc);
        return;
    }
    ent_cbor_write_array(w, EXPORT_ITEMS - 1); /* unsigned form */
    ent_cbor_write_text(w, ENT_AUDIT_MAGIC, strlen(ENT_AUDIT_MAGIC));
    ent_cbor_write_uint(w, ENT_AUDIT_VERSION);
    ent_cbor_write_bytes(w, x->head.org, ENT_PK_LEN);
    ent_cbor_write_text(w, x->name, x->namelen);
    ent_cbor_write_array(w, 2);
    ent_cbor_write_uint(w, x->since);
    ent_cbor_write_bytes(w, x->object ? x->object : ZERO32,
                         x->object ? 32 : 0);
    ent_cbor_write_raw(w, hbuf, hlen);
    ent_cbor_write_array(w, x->nfrontier);
    ent_cbor_write_raw(w, x->frontier.p, x->frontier.len);
    ent_cbor_write_array(w, x->nentries);
    ent_cbor_write_raw(w, x->entries.p, x->entries.len);
    ent_cbor_write_array(w, x->nproofs);
    ent_cbor_write_raw(w, x->proofs.p, x->proofs.len);
    ent_cbor_write_array(w, x->nhistory);
    ent_cbor_write_raw(w, x->history.p, x->history.len);
    ent_cbor_write_array(w, x->nequiv); /* equivocation proofs */
    ent_cbor_write_raw(w, x->equiv.p, x->equiv.len);
    ent_cbor_write_array(w, x->nops);
    ent_cbor_write_raw(w, x->ops.p, x->ops.len);
    ent_cbor_write_array(w, x->ndirrecs); /* directory records */
    ent_cbor_write_raw(w, x->dirrecs.p, x->dirrecs.len);
}

int ent_audit_export(ent_store *store, const ent_identity *id,
                     uint64_t now_ms, const ent_audit_filter *filter,
                     uint8_t **out, size_t *len) {
    struct exp *x = NULL;
    uint8_t *body = NULL, *file = NULL;
    size_t blen = 0;
    uint8_t sig[ENT_SIG_LEN];
    int rc;
    if (out == NULL || len == NULL)
        return ENT_EINVAL;
    *out = NULL;
    *len = 0;
    if (store == NULL || id == NULL)
        return ENT_EINVAL;
    if ((x = calloc(1, sizeof(*x))) == NULL ||
        (x->hist = calloc(ENT_AUDIT_MAX_HISTORY, sizeof(*x->hist))) == NULL) {
        free(x);
        return ENT_ENOMEM;
    }
    x->store = store;
    x->id = id;
    x->now = now_ms;
    if (filter != NULL) {
        x->object = filter->object;
        x->since = filter->since;
    }
    if ((rc = ent_store_write(store, sign_fn, x)) != ENT_OK)
        goto out;
    if (x->since > x->head.size) {
        rc = ENT_EINVAL;
        goto out;
    }
    if ((rc = ent_store_read(store, collect_fn, x)) != ENT_OK)
        goto out;
    if ((rc = ent_cbor_encode(&body, &blen, ENT_AUDIT_MAX_SIZE - 66,
                              emit_export, x)) != ENT_OK)
        goto out;
    /* the org signs the unsigned form (array of 12); the file is the array
     * of 13 with the signature appended */
    if ((rc = ent_identity_sign(id, ENT_SIGCTX_TREE_HEAD, body, blen, sig)) !=
        ENT_OK)
        goto out;
    if ((file = malloc(blen + 2 + ENT_SIG_LEN)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    memcpy(file, body, blen);
    file[0] = 0x80 | EXPORT_ITEMS;
    file[blen] = 0x58;
    file[blen + 1] = ENT_SIG_LEN;
    memcpy(file + blen + 2, sig, ENT_SIG_LEN);
    *out = file;
    *len = blen + 2 + ENT_SIG_LEN;
    file = NULL;
out:
    free(body);
    free(file);
    if (x != NULL) {
        free(x->entries.p);
        free(x->proofs.p);
        free(x->history.p);
        free(x->ops.p);
        free(x->frontier.p);
        free(x->equiv.p);
        free(x->dirrecs.p);
        free(x->opids);
        free(x->hist);
        ent_mtree_free(x->leaves);
        ent_dir_free(x->dir);
        free(x->idx);
        free(x->recs);
        free(x->recsizes);
        free(x);
    }
    return rc;
}
