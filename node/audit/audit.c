/*
 * audit.c - offline verification of activity-log exports (spec/audit.md
 * §10); the export itself is in audit_export.c.
 */
#include "node/audit/audit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/audit/audit_int.h"
#include "node/audit/directory.h"
#include "node/audit/witness.h"
#include "node/err.h"
#include "protocol/cbor.h"
#include "protocol/op.h"

#define EXPORT_ITEMS ENT__AUDIT_ITEMS
#define HL ENT_MERKLE_HASH_LEN

/* ================================================================ verify */

typedef struct vop {
    uint8_t id[32];
    uint8_t author[32];
    uint8_t object[32];
    uint8_t kind;
    uint64_t seq;
    int rc; /* decode/authentication result (ent_op_authenticate) */
    bool used;
    bool erased;         /* an erased op record, not an op */
    uint8_t eraser[32];  /* erased: the erase op named */
    uint64_t hlc;        /* the op's hlc (of an erased op: its record's) */
    size_t pos; /* position in the ops array */
    const uint8_t *raw; /* its bytes, inside the file */
    size_t len;
} vop;

static int cmp_vop(const void *a, const void *b) {
    return memcmp(((const vop *)a)->id, ((const vop *)b)->id, 32);
}

static int fail(ent_audit_result *res, int rc, bool has_index, uint64_t index,
                const char *fmt, ...) {
    va_list ap;
    res->ok = false;
    res->err = rc;
    res->has_fail_index = has_index;
    res->fail_index = has_index ? index : 0;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
    va_end(ap);
    return rc;
}

static void hex8(char out[17], const uint8_t *p) { ent_hex_encode(out, p, 8); }

/* Reads one whole item and returns its span. */
static int read_span(ent_cbor_reader *r, const uint8_t **p, size_t *n) {
    size_t start = r->pos;
    int rc = ent_cbor_skip(r);
    if (rc != ENT_OK)
        return rc;
    *p = r->buf + start;
    *n = r->pos - start;
    return ENT_OK;
}

/* Reads a proof: a byte string of a multiple of 32 bytes, at most 64
 * hashes. */
static int read_proof(ent_cbor_reader *r, const uint8_t (**path)[HL],
                      size_t *n) {
    const uint8_t *p;
    size_t len;
    int rc = ent_cbor_read_bytes(r, &p, &len);
    if (rc != ENT_OK)
        return rc;
    if (len % HL != 0 || len / HL > ENT_MERKLE_MAX_PROOF)
        return ENT_ECORRUPT;
    *path = (const uint8_t(*)[HL])p;
    *n = len / HL;
    return ENT_OK;
}

/* Witness heads sorted by size, checked as the leaves are replayed. */
typedef struct wit {
    const ent_actlog_head *h;
    bool done;
} wit;

static int cmp_wit(const void *a, const void *b) {
    uint64_t x = ((const wit *)a)->h->size, y = ((const wit *)b)->h->size;
    return x < y ? -1 : x > y;
}

struct vctx {
    const uint8_t *buf;
    size_t len;
    ent_audit_result *res;
    unsigned version; /* ENT_AUDIT_VERSION, or ENT_AUDIT_VERSION_V2 */
    size_t items;     /* of the file: 14, or 13 for version 2 */
    ent_cbor_reader frontier, entries, proofs, history, witnesses, ops, dirrecs;
    size_t nfrontier, nentries, nproofs, nhistory, nwitnesses, nops, ndirrecs;
    size_t sig_pos;
    uint8_t sig[ENT_SIG_LEN];
    ent_actlog_head head;
    vop *vops;
    bool ops_order_bad;
    wit *wits;
    size_t nwits;
    /* object export: the indexes of its entries, whether the first is its
     * object's first entry; the sizes of the history heads and of the
     * directory records, both increasing */
    uint64_t *idx;
    bool first_is_genesis;
    uint64_t *hsizes, *rsizes;
    size_t nhsizes, nrsizes;
    /* whole-log export: the replayed directory */
    ent_dir *dir;
};

static int parse_top(struct vctx *c, const uint8_t *expected_org) {
    ent_audit_result *res = c->res;
    ent_cbor_limits lim = {
        .max_depth = 5, /* file > ops > op > header > parents */
        .max_items = c->len,
        .max_total = c->len,
        .max_str = ENT_OP_MAX_SIZE,
        .max_size = ENT_AUDIT_MAX_SIZE,
    };
    ent_cbor_reader r;
    const char *s;
    const uint8_t *p;
    size_t n;
    uint64_t v;
    int rc;
    if ((rc = ent_cbor_check(c->buf, c->len, &lim)) != ENT_OK)
        return fail(res, rc, false, 0, "not canonical CBOR within limits: %s",
                    ent_strerror(rc));
    ent_cbor_reader_init(&r, c->buf, c->len);
    if ((rc = ent_cbor_read_array(&r, &c->items)) != ENT_OK ||
        (c->items != EXPORT_ITEMS && c->items != ENT__AUDIT_ITEMS_V2) ||
        (rc = ent_cbor_read_text(&r, &s, &n)) != ENT_OK ||
        n != strlen(ENT_AUDIT_MAGIC) || memcmp(s, ENT_AUDIT_MAGIC, n) != 0)
        return fail(res, ENT_ECORRUPT, false, 0, "not an Entente audit export");
    if ((rc = ent_cbor_read_uint(&r, &v)) != ENT_OK)
        return fail(res, ENT_ECORRUPT, false, 0, "bad export version");
    if (v != ENT_AUDIT_VERSION && v != ENT_AUDIT_VERSION_V2)
        return fail(res, ENT_EVERSION, false, 0,
                    "export version %llu is not supported (this verifier "
                    "reads versions %d and %d%s)",
                    (unsigned long long)v, ENT_AUDIT_VERSION_V2,
                    ENT_AUDIT_VERSION,
                    v == 1 ? "; version 1 exports, with signed entries, "
                             "are no longer read"
                           : "");
    c->version = (unsigned)v;
    if (c->items != (v == ENT_AUDIT_VERSION ? EXPORT_ITEMS
                                            : ENT__AUDIT_ITEMS_V2))
        return fail(res, ENT_ECORRUPT, false, 0,
                    "not an Entente audit export (%zu items for version "
                    "%llu)",
                    c->items, (unsigned long long)v);
    if ((rc = ent_cbor_read_bytes_exact(&r, res->org, ENT_PK_LEN)) != ENT_OK)
        return fail(res, ENT_ECORRUPT, false, 0, "bad org key");
    if (expected_org != NULL && memcmp(expected_org, res->org, ENT_PK_LEN) != 0)
        return fail(res, ENT_EDENIED, false, 0,
                    "the export is of another org than --org");
    if ((rc = ent_cbor_read_text(&r, &s, &n)) != ENT_OK ||
        n > ENT_AUDIT_NAME_MAX || memchr(s, 0, n) != NULL)
        return fail(res, ENT_ECORRUPT, false, 0, "bad org name");
    memcpy(res->name, s, n);
    res->name[n] = '\0';
    if ((rc = ent_cbor_read_array(&r, &n)) != ENT_OK || n != 2 ||
        (rc = ent_cbor_read_uint(&r, &res->since)) != ENT_OK ||
        (rc = ent_cbor_read_bytes(&r, &p, &n)) != ENT_OK ||
        (n != 0 && n != 32))
        return fail(res, ENT_ECORRUPT, false, 0, "bad scope");
    res->has_object = n == 32;
    if (n == 32)
        memcpy(res->object, p, 32);
    if (res->has_object && c->version == ENT_AUDIT_VERSION_V2)
        return fail(res, ENT_EVERSION, false, 0,
                    "export version 2 of one object is not supported: it "
                    "cannot show that it holds every entry of the object "
                    "(export it again with this version)");
    if ((rc = read_span(&r, &p, &n)) != ENT_OK ||
        (rc = ent_actlog_head_decode(&c->head, p, n)) != ENT_OK)
        return fail(res, rc ? rc : ENT_ECORRUPT, false, 0,
                    "bad signed tree head");
    struct {
        ent_cbor_reader *r;
        size_t *n;
        const char *what;
    } sec[] = {
        {&c->frontier, &c->nfrontier, "frontier"},
        {&c->entries, &c->nentries, "entries"},
        {&c->proofs, &c->nproofs, "proofs"},
        {&c->history, &c->nhistory, "history"},
        {&c->witnesses, &c->nwitnesses, "equivocations"},
        {&c->ops, &c->nops, "ops"},
        {&c->dirrecs, &c->ndirrecs, "directory"},
    };
    size_t nsec = sizeof(sec) / sizeof(sec[0]);
    if (c->version == ENT_AUDIT_VERSION_V2)
        nsec--; /* no directory records */
    for (size_t i = 0; i < nsec; i++) {
        ent_cbor_reader start = r;
        if ((rc = ent_cbor_read_array(&start, sec[i].n)) != ENT_OK ||
            (rc = ent_cbor_skip(&r)) != ENT_OK)
            return fail(res, ENT_ECORRUPT, false, 0, "bad %s section",
                        sec[i].what);
        *sec[i].r = start;
    }
    c->sig_pos = r.pos;
    if ((rc = ent_cbor_read_bytes_exact(&r, c->sig, ENT_SIG_LEN)) != ENT_OK ||
        (rc = ent_cbor_read_end(&r)) != ENT_OK)
        return fail(res, ENT_ECORRUPT, false, 0, "bad export signature field");
    return ENT_OK;
}

/* Ops held at once when some signatures fail and chains must be judged
 * (below); a file that needs more is refused. */
#define AUDIT_AUTH_MAX 65536

/* author || object of an op whose own signature failed, and its lowest
 * seq: only ops of the same author and object, with a higher seq, can
 * vouch for it (spec/records.md section 2.5). */
typedef struct failed_ao {
    uint8_t ao[64];
    uint64_t min_seq;
} failed_ao;

static int cmp_ao(const void *a, const void *b) {
    return memcmp(a, b, 64);
}

/*
 * Decodes the ops one at a time and checks each one's own signature, so
 * that memory stays at one small record per op whatever the file. Only
 * when some signatures fail does it judge chains: the failed ops and the
 * ops that could vouch for them (same author and object, higher seq; at
 * most AUDIT_AUTH_MAX) are decoded again and authenticated together
 * (ent_op_authenticate). Does not fail on a bad op: that is reported
 * through the first entry that refers to it, or at the end.
 */
static int load_ops(struct vctx *c) {
    ent_op **ops = NULL;
    int *rcs = NULL, rc = ENT_OK;
    failed_ao *fa = NULL;
    size_t nfail = 0, nfa = 0, nset = 0;
    size_t *set = NULL;
    if (c->nops == 0)
        return ENT_OK;
    if ((c->vops = calloc(c->nops, sizeof(vop))) == NULL) {
        rc = fail(c->res, ENT_ENOMEM, false, 0, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < c->nops; i++) {
        vop *o = &c->vops[i];
        ent_op *op = NULL;
        o->pos = i;
        if (read_span(&c->ops, &o->raw, &o->len) != ENT_OK) {
            rc = fail(c->res, ENT_ECORRUPT, false, 0, "bad ops section");
            goto out;
        }
        if (o->len > 0 && o->raw[0] == 0x87) { /* an erased op record */
            ent_op_erased er;
            o->rc = ent_op_erased_decode(&er, o->raw, o->len);
            o->erased = true;
            memcpy(o->id, er.id, 32);
            memcpy(o->eraser, er.eraser, 32);
            memcpy(o->author, er.author, 32);
            memcpy(o->object, er.object, 32);
            o->kind = er.kind;
            o->seq = er.seq;
            o->hlc = er.hlc;
            if (i > 0 && memcmp(c->vops[i - 1].id, o->id, 32) >= 0)
                c->ops_order_bad = true;
            continue;
        }
        ent_hash(o->id, o->raw, o->len);
        o->rc = ent_op_decode(&op, o->raw, o->len);
        if (o->rc == ENT_ENOMEM) {
            rc = fail(c->res, ENT_ENOMEM, false, 0, "out of memory");
            goto out;
        }
        if (o->rc == ENT_OK) {
            memcpy(o->author, op->h.author, 32);
            memcpy(o->object, op->h.genesis ? op->id : op->h.object, 32);
            o->kind = op->h.kind;
            o->seq = op->h.seq;
            o->hlc = op->h.hlc;
            o->rc = ent_op_verify(op);
            nfail += o->rc != ENT_OK;
        }
        ent_op_free(op);
        if (i > 0 && memcmp(c->vops[i - 1].id, o->id, 32) >= 0)
            c->ops_order_bad = true;
    }
    if (nfail > 0) {
        /* the (author, object) pairs with a failed op, and the ops that
         * belong to the same chains */
        if ((fa = calloc(nfail, sizeof(*fa))) == NULL ||
            (set = calloc(c->nops, sizeof(*set))) == NULL) {
            rc = fail(c->res, ENT_ENOMEM, false, 0, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < c->nops; i++) {
            const vop *o = &c->vops[i];
            if (o->rc != ENT_EBADSIG)
                continue;
            memcpy(fa[nfa].ao, o->author, 32);
            memcpy(fa[nfa].ao + 32, o->object, 32);
            fa[nfa++].min_seq = o->seq;
        }
        qsort(fa, nfa, sizeof(*fa), cmp_ao);
        size_t w = 0;
        for (size_t i = 0; i < nfa; i++) { /* one per pair, lowest seq */
            if (w > 0 && memcmp(fa[w - 1].ao, fa[i].ao, 64) == 0) {
                if (fa[i].min_seq < fa[w - 1].min_seq)
                    fa[w - 1].min_seq = fa[i].min_seq;
                continue;
            }
            fa[w++] = fa[i];
        }
        nfa = w;
        for (size_t i = 0; i < c->nops; i++) {
            const vop *o = &c->vops[i];
            uint8_t ao[64];
            if ((o->rc != ENT_OK && o->rc != ENT_EBADSIG) || o->erased)
                continue;
            memcpy(ao, o->author, 32);
            memcpy(ao + 32, o->object, 32);
            const failed_ao *f = bsearch(ao, fa, nfa, sizeof(*fa), cmp_ao);
            if (f != NULL && o->seq >= f->min_seq)
                set[nset++] = i;
        }
        if (nset > AUDIT_AUTH_MAX) {
            rc = fail(c->res, ENT_ELIMIT, false, 0,
                      "%zu ops do not verify on their own and %zu would have "
                      "to be judged together (at most %d)",
                      nfail, nset, AUDIT_AUTH_MAX);
            goto out;
        }
        if ((ops = calloc(nset, sizeof(*ops))) == NULL ||
            (rcs = calloc(nset, sizeof(*rcs))) == NULL) {
            rc = fail(c->res, ENT_ENOMEM, false, 0, "out of memory");
            goto out;
        }
        for (size_t k = 0; k < nset; k++) {
            const vop *o = &c->vops[set[k]];
            if (ent_op_decode(&ops[k], o->raw, o->len) != ENT_OK) {
                rc = fail(c->res, ENT_ENOMEM, false, 0, "out of memory");
                goto out;
            }
        }
        if (ent_op_authenticate(ops, nset, rcs, NULL) != ENT_OK) {
            rc = fail(c->res, ENT_ENOMEM, false, 0, "out of memory");
            goto out;
        }
        for (size_t k = 0; k < nset; k++)
            c->vops[set[k]].rc = rcs[k];
    }
    if (c->nops > 1)
        qsort(c->vops, c->nops, sizeof(vop), cmp_vop);
out:
    if (ops != NULL)
        for (size_t k = 0; k < nset; k++)
            ent_op_free(ops[k]);
    free(ops);
    free(rcs);
    free(fa);
    free(set);
    return rc;
}

/* The op-related checks of entry e. */
static int check_entry_op(struct vctx *c, const ent_actlog_entry *e) {
    ent_audit_result *res = c->res;
    char h[17];
    if (e->kind == ENT_LOG_OP_AUTHORED &&
        (!e->has_org || memcmp(e->org, res->org, 32) != 0))
        return fail(res, ENT_ECORRUPT, true, e->index,
                    "entry %llu: op_authored by another org",
                    (unsigned long long)e->index);
    if (!ent__audit_needs_op(e->kind))
        return ENT_OK;
    if (!e->has_op || !e->has_object)
        return fail(res, ENT_ECORRUPT, true, e->index,
                    "entry %llu: %s without op or object",
                    (unsigned long long)e->index,
                    ent_actlog_kind_name(e->kind));
    hex8(h, e->op);
    vop key;
    memcpy(key.id, e->op, 32);
    vop *o = c->nops ? bsearch(&key, c->vops, c->nops, sizeof(vop), cmp_vop)
                     : NULL;
    if (o == NULL)
        return fail(res, ENT_ECORRUPT, true, e->index,
                    "entry %llu: op %s is not in the export",
                    (unsigned long long)e->index, h);
    if (o->rc != ENT_OK)
        return fail(res, o->rc, true, e->index, "entry %llu: op %s: %s",
                    (unsigned long long)e->index, h, ent_strerror(o->rc));
    o->used = true;
    if (memcmp(o->object, e->object, 32) != 0)
        return fail(res, ENT_ECORRUPT, true, e->index,
                    "entry %llu: op %s belongs to another object",
                    (unsigned long long)e->index, h);
    if ((e->kind == ENT_LOG_OP_AUTHORED || e->kind == ENT_LOG_OP_ACCEPTED) &&
        (!e->has_org || memcmp(o->author, e->org, 32) != 0))
        return fail(res, ENT_ECORRUPT, true, e->index,
                    "entry %llu: op %s has another author",
                    (unsigned long long)e->index, h);
    bool kind_ok = true;
    if (e->kind == ENT_LOG_MEMBER_ADDED)
        kind_ok = o->kind == ENT_OP_ADD_MEMBER;
    else if (e->kind == ENT_LOG_MEMBER_REMOVED)
        kind_ok = o->kind == ENT_OP_REMOVE_MEMBER;
    else if (e->kind == ENT_LOG_KEY_ROTATED)
        kind_ok =
            o->kind == ENT_OP_ROTATE_KEY || o->kind == ENT_OP_REMOVE_MEMBER;
    if (!kind_ok)
        return fail(res, ENT_ECORRUPT, true, e->index,
                    "entry %llu: op %s is not a %s op",
                    (unsigned long long)e->index, h,
                    ent_actlog_kind_name(e->kind));
    return ENT_OK;
}

/*
 * Every erased op record must name an erase op that is in the export,
 * authentic, of kind erase, of the same object, by the author of the
 * object's genesis op (its owner) when that op or its record is in the
 * export (spec/audit.md §10 step 8). Counts the erasures for the report.
 */
static int check_erased(struct vctx *c) {
    ent_audit_result *res = c->res;
    for (size_t i = 0; i < c->nops; i++) {
        vop *o = &c->vops[i];
        char h[17], eh[17];
        if (!o->erased)
            continue;
        hex8(h, o->id);
        hex8(eh, o->eraser);
        vop key;
        memcpy(key.id, o->eraser, 32);
        vop *e = bsearch(&key, c->vops, c->nops, sizeof(vop), cmp_vop);
        if (e == NULL || e->erased || e->rc != ENT_OK ||
            e->kind != ENT_OP_ERASE || memcmp(e->object, o->object, 32) != 0)
            return fail(res, ENT_ECORRUPT, false, 0,
                        "op %s: erased by %s, which is not an erase op of its "
                        "object in the export",
                        h, eh);
        memcpy(key.id, o->object, 32);
        vop *g = bsearch(&key, c->vops, c->nops, sizeof(vop), cmp_vop);
        if (g != NULL && memcmp(g->author, e->author, 32) != 0)
            return fail(res, ENT_EDENIED, false, 0,
                        "op %s: erased by %s, whose author is not the "
                        "object's owner",
                        h, eh);
        res->erased++;
    }
    for (size_t i = 0; i < c->nops; i++) {
        vop *e = &c->vops[i];
        if (e->erased || e->rc != ENT_OK || e->kind != ENT_OP_ERASE)
            continue;
        if (res->nerasures < ENT_AUDIT_MAX_ERASURES) {
            ent_audit_erasure *x = &res->erasures[res->nerasures];
            memcpy(x->op, e->id, 32);
            memcpy(x->object, e->object, 32);
            memcpy(x->by, e->author, 32);
            x->seq = e->seq;
            x->time_ms = e->hlc >> 16;
            for (size_t j = 0; j < c->nops; j++)
                if (c->vops[j].erased &&
                    memcmp(c->vops[j].eraser, e->id, 32) == 0)
                    x->ops++;
        }
        res->nerasures++;
    }
    return ENT_OK;
}

/* Checks witness heads of size up to f->size against the replayed root. */
static int check_wits(struct vctx *c, const ent_merkle_frontier *f) {
    for (size_t i = 0; i < c->nwits; i++) {
        wit *w = &c->wits[i];
        if (w->done || w->h->size != f->size)
            continue;
        uint8_t root[HL];
        ent_merkle_frontier_root(f, root);
        w->done = true;
        if (memcmp(root, w->h->root, HL) != 0)
            return fail(c->res, ENT_ECORRUPT, false, 0,
                        "the log was rewritten: the given head of size %llu "
                        "is not a prefix of this log",
                        (unsigned long long)w->h->size);
    }
    return ENT_OK;
}

/*
 * Entry e (raw bytes p[0..len), just read from c->entries) does not link
 * to the entry before it. Names the entry that was most likely changed: e
 * itself when it is entry 0, in an object export (where every entry has
 * passed its inclusion proof already), or when the entry after it in a
 * whole-log export does not link to e either; otherwise the one before
 * (whose bytes no longer hash to e's prev), also when no entry follows.
 */
static int chain_fail(struct vctx *c, const ent_actlog_entry *e,
                      const uint8_t *p, size_t len, bool whole) {
    ent_cbor_reader peek = c->entries;
    ent_actlog_entry next;
    const uint8_t *q;
    size_t qlen;
    uint8_t h[HL];
    bool self = !whole || e->index == 0; /* entry 0 has none before it */
    if (!self && read_span(&peek, &q, &qlen) == ENT_OK &&
        ent_actlog_entry_decode(&next, q, qlen) == ENT_OK &&
        next.index == e->index + 1) {
        ent_hash(h, p, len);
        self = memcmp(h, next.prev, HL) != 0;
    }
    if (self)
        return fail(c->res, ENT_ECORRUPT, true, e->index,
                    "entry %llu: broken hash chain (its prev is not the "
                    "hash of entry %llu)",
                    (unsigned long long)e->index,
                    (unsigned long long)(e->index - 1));
    return fail(c->res, ENT_ECORRUPT, true, e->index - 1,
                "entry %llu: altered (its hash is not the prev of entry "
                "%llu)",
                (unsigned long long)(e->index - 1),
                (unsigned long long)e->index);
}

/*
 * The object links of entry e (spec/audit.md §10 step 6). In an object
 * export: e is of version 3 and names as its object's previous entry the
 * exported entry before it, or, for the first one, an entry below since
 * or none (oprev = index). In a whole-log export, against the replayed
 * directory: oprev is the object's latest entry so far (an object not
 * seen yet: none, or below since), and a checkpoint commits to the
 * directory of the entries before it (only with since = 0, when the
 * replay has seen them all).
 */
static int check_links(struct vctx *c, const ent_actlog_entry *e, size_t i,
                       uint64_t prev_index) {
    ent_audit_result *res = c->res;
    uint64_t want;
    int rc;
    if (res->has_object) {
        if (e->version != ENT_ACTLOG_VERSION)
            return fail(res, ENT_EVERSION, true, e->index,
                        "entry %llu: version %u names no previous entry of "
                        "its object, so an object export cannot show that "
                        "none is missing (export the whole log)",
                        (unsigned long long)e->index, e->version);
        bool genesis = e->oprev == e->index;
        if (i == 0) {
            c->first_is_genesis = genesis;
            res->has_first = genesis;
            res->first = genesis ? e->index : 0;
            if (genesis || e->oprev < res->since)
                return ENT_OK;
            return fail(res, ENT_ECORRUPT, true, e->oprev,
                        "entry %llu is missing: the object's entry %llu "
                        "names it as the object's previous entry",
                        (unsigned long long)e->oprev,
                        (unsigned long long)e->index);
        }
        if (e->oprev == prev_index)
            return ENT_OK;
        if (!genesis && e->oprev > prev_index)
            return fail(res, ENT_ECORRUPT, true, e->oprev,
                        "entry %llu is missing: the object's entry %llu "
                        "names it as the object's previous entry",
                        (unsigned long long)e->oprev,
                        (unsigned long long)e->index);
        return fail(res, ENT_ECORRUPT, true, e->index,
                    "entry %llu: names %s as its object's previous entry, "
                    "not entry %llu before it",
                    (unsigned long long)e->index,
                    genesis ? "no entry" : "an earlier entry",
                    (unsigned long long)prev_index);
    }
    if (e->kind == ENT_LOG_CHECKPOINT && res->since == 0) {
        uint8_t root[HL];
        ent_dir_root(c->dir, root);
        if (e->dir_size != ent_dir_size(c->dir) ||
            memcmp(root, e->dir_root, HL) != 0)
            return fail(res, ENT_ECORRUPT, true, e->index,
                        "entry %llu: checkpoint: its directory is not that "
                        "of the %llu objects of the entries before it",
                        (unsigned long long)e->index,
                        (unsigned long long)ent_dir_size(c->dir));
    }
    if (!e->has_object)
        return ENT_OK;
    if ((rc = ent_dir_note(c->dir, e->object, e->index, &want)) != ENT_OK)
        return fail(res, rc, false, 0, "object directory: %s",
                    ent_strerror(rc));
    if (e->version != ENT_ACTLOG_VERSION || e->oprev == want ||
        (want == e->index && e->oprev < res->since))
        return ENT_OK;
    if (want == e->index)
        return fail(res, ENT_ECORRUPT, true, e->index,
                    "entry %llu: names entry %llu as its object's previous "
                    "entry, but the log has no earlier entry of the object",
                    (unsigned long long)e->index,
                    (unsigned long long)e->oprev);
    return fail(res, ENT_ECORRUPT, true, e->index,
                "entry %llu: names entry %llu as its object's previous "
                "entry, but that is entry %llu",
                (unsigned long long)e->index, (unsigned long long)e->oprev,
                (unsigned long long)want);
}

static int check_entries(struct vctx *c) {
    ent_audit_result *res = c->res;
    const uint64_t n = c->head.size;
    ent_merkle_frontier *f = NULL;
    ent_actlog_entry e;
    const uint8_t *prev_raw = NULL;
    size_t prev_len = 0;
    uint64_t prev_index = 0;
    int rc = ENT_OK;
    if ((f = malloc(sizeof(*f))) == NULL)
        return fail(res, ENT_ENOMEM, false, 0, "out of memory");
    if (!res->has_object) {
        /* the frontier of the first `since` leaves, then every entry */
        if (res->since > n || c->nentries != n - res->since ||
            c->nproofs != 0 || c->ndirrecs != 0 ||
            c->nfrontier != (size_t)__builtin_popcountll(res->since)) {
            rc = fail(res, ENT_ECORRUPT, false, 0,
                      "the entries do not cover the signed tree head");
            goto out;
        }
        if (ent_dir_new(&c->dir) != ENT_OK) {
            rc = fail(res, ENT_ENOMEM, false, 0, "out of memory");
            goto out;
        }
        ent_merkle_frontier_init(f);
        f->size = res->since;
        for (size_t i = 0; i < c->nfrontier; i++) {
            if (ent_cbor_read_bytes_exact(&c->frontier, f->hashes[i], HL) !=
                ENT_OK) {
                rc = fail(res, ENT_ECORRUPT, false, 0, "bad frontier hash");
                goto out;
            }
        }
        if ((rc = check_wits(c, f)) != ENT_OK)
            goto out;
    } else {
        if (res->since > n) {
            rc = fail(res, ENT_ECORRUPT, false, 0,
                      "since (%llu) is beyond the signed tree head (%llu)",
                      (unsigned long long)res->since,
                      (unsigned long long)n);
            goto out;
        }
        if (c->nfrontier != 0 || c->nproofs != c->nentries ||
            c->nentries > n) {
            rc = fail(res, ENT_ECORRUPT, false, 0,
                      "an object export needs one inclusion proof per entry "
                      "and no frontier");
            goto out;
        }
        if (c->nwitnesses != 0) {
            rc = fail(res, ENT_ECORRUPT, false, 0,
                      "an object export carries no equivocation proofs");
            goto out;
        }
        if (c->nentries > 0 &&
            (c->idx = calloc(c->nentries, sizeof(*c->idx))) == NULL) {
            rc = fail(res, ENT_ENOMEM, false, 0, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < c->nentries; i++) {
        const uint8_t *p;
        size_t len;
        uint8_t leaf[HL], link[HL];
        uint64_t want = res->since + i;
        bool has_want = !res->has_object;
        if (read_span(&c->entries, &p, &len) != ENT_OK ||
            (rc = ent_actlog_entry_decode(&e, p, len)) != ENT_OK) {
            rc = fail(res, rc ? rc : ENT_ECORRUPT, has_want, want,
                      "entry %s%llu: malformed (%s)", has_want ? "" : "#",
                      (unsigned long long)(has_want ? want : i),
                      ent_strerror(rc ? rc : ENT_ECORRUPT));
            goto out;
        }
        if (has_want ? e.index != want
                     : (e.index >= n || e.index < res->since ||
                        (i > 0 && e.index <= prev_index) || !e.has_object ||
                        memcmp(e.object, res->object, 32) != 0)) {
            rc = fail(res, ENT_ECORRUPT, true, has_want ? want : e.index,
                      "entry %llu: out of sequence or out of scope",
                      (unsigned long long)(has_want ? want : e.index));
            goto out;
        }
        /* entries carry no signature: an object export proves each one by
         * its inclusion proof, a whole-log export by the hash chain and,
         * at the end, the signed root */
        ent_merkle_leaf_hash(leaf, p, len);
        if (res->has_object) {
            const uint8_t(*path)[HL];
            size_t plen;
            if (read_proof(&c->proofs, &path, &plen) != ENT_OK ||
                ent_merkle_verify_inclusion(e.index, n, leaf, path, plen,
                                            c->head.root) != ENT_OK) {
                rc = fail(res, ENT_ECORRUPT, true, e.index,
                          "entry %llu: inclusion proof does not verify",
                          (unsigned long long)e.index);
                goto out;
            }
            c->idx[i] = e.index;
        }
        bool linked = e.index == 0 ||
                      (prev_raw != NULL && prev_index + 1 == e.index);
        if (e.index == 0)
            memset(link, 0, HL);
        else if (linked)
            ent_hash(link, prev_raw, prev_len);
        if (linked && memcmp(link, e.prev, HL) != 0) {
            rc = chain_fail(c, &e, p, len, has_want);
            goto out;
        }
        if ((rc = check_links(c, &e, i, prev_index)) != ENT_OK)
            goto out;
        if (!res->has_object) {
            /* heads of size e.index: every leaf before this entry is now
             * pinned by its prev */
            if ((rc = check_wits(c, f)) != ENT_OK ||
                (rc = ent_merkle_frontier_append(f, leaf)) != ENT_OK)
                goto out;
        }
        if ((rc = check_entry_op(c, &e)) != ENT_OK)
            goto out;
        prev_raw = p;
        prev_len = len;
        prev_index = e.index;
        res->entries++;
    }
    if (!res->has_object) {
        uint8_t root[HL];
        ent_merkle_frontier_root(f, root);
        if (memcmp(root, c->head.root, HL) != 0) {
            /* with since = 0 the chain pins every entry to the last one:
             * a single change that gets this far is in the last entry */
            if (res->since == 0 && n > 0)
                rc = fail(res, ENT_ECORRUPT, true, n - 1,
                          "entry %llu: the entries do not hash to the "
                          "signed root",
                          (unsigned long long)(n - 1));
            else
                rc = fail(res, ENT_ECORRUPT, false, 0,
                          "the entries do not hash to the signed root");
            goto out;
        }
    }
out:
    free(f);
    return rc;
}


/* The first exported index >= i, or UINT64_MAX. */
static uint64_t next_held(const struct vctx *c, uint64_t i) {
    size_t lo = 0, hi = c->nentries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->idx[mid] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->nentries ? c->idx[lo] : UINT64_MAX;
}

/* Whether v is in the increasing array a of n values. */
static bool sorted_has(const uint64_t *a, size_t n, uint64_t v) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == v;
}

/*
 * The directory records of an object export (spec/audit.md §10 step 10):
 * each proves, at the checkpoint that ends the head of size m, the
 * index `last` of the object's latest entry below m; the exported entries
 * must then be exactly those of the object in [since, m) as far as that
 * bound goes: `last` itself when it is >= since, and none between `last`
 * (or since) and m. The latest head must have one.
 */
static int check_records(struct vctx *c) {
    ent_audit_result *res = c->res;
    const uint64_t n = c->head.size;
    uint64_t lastm = 0;
    if (c->ndirrecs > 0 &&
        (c->rsizes = calloc(c->ndirrecs, sizeof(*c->rsizes))) == NULL)
        return fail(res, ENT_ENOMEM, false, 0, "out of memory");
    for (size_t i = 0; i < c->ndirrecs; i++) {
        ent_actlog_entry cp;
        const uint8_t *p;
        const uint8_t(*cpath)[HL], (*dpath)[HL];
        size_t k, len, cplen, dplen;
        uint64_t m, pos, last;
        uint8_t leaf[HL];
        if (ent_cbor_read_array(&c->dirrecs, &k) != ENT_OK || k != 6 ||
            ent_cbor_read_uint(&c->dirrecs, &m) != ENT_OK ||
            read_span(&c->dirrecs, &p, &len) != ENT_OK ||
            ent_actlog_entry_decode(&cp, p, len) != ENT_OK ||
            read_proof(&c->dirrecs, &cpath, &cplen) != ENT_OK ||
            ent_cbor_read_uint(&c->dirrecs, &pos) != ENT_OK ||
            ent_cbor_read_uint(&c->dirrecs, &last) != ENT_OK ||
            read_proof(&c->dirrecs, &dpath, &dplen) != ENT_OK)
            return fail(res, ENT_ECORRUPT, false, 0,
                        "directory record %zu: malformed", i);
        if (m <= lastm || m > n ||
            (m != n && !sorted_has(c->hsizes, c->nhsizes, m)))
            return fail(res, ENT_ECORRUPT, false, 0,
                        "directory record %zu: size %llu is not a head of "
                        "this export in increasing order",
                        i, (unsigned long long)m);
        if (cp.kind != ENT_LOG_CHECKPOINT || cp.index != m - 1)
            return fail(res, ENT_ECORRUPT, true, m - 1,
                        "directory record of size %llu: entry %llu is not "
                        "a checkpoint",
                        (unsigned long long)m, (unsigned long long)(m - 1));
        ent_merkle_leaf_hash(leaf, p, len);
        if (ent_merkle_verify_inclusion(cp.index, n, leaf, cpath, cplen,
                                        c->head.root) != ENT_OK)
            return fail(res, ENT_ECORRUPT, true, cp.index,
                        "entry %llu: checkpoint: inclusion proof does not "
                        "verify",
                        (unsigned long long)cp.index);
        ent_dir_leaf_hash(leaf, res->object, last);
        if (last >= cp.index || pos >= cp.dir_size ||
            ent_merkle_verify_inclusion(pos, cp.dir_size, leaf, dpath, dplen,
                                        cp.dir_root) != ENT_OK)
            return fail(res, ENT_ECORRUPT, true, cp.index,
                        "entry %llu: checkpoint: the directory proof of the "
                        "object does not verify",
                        (unsigned long long)cp.index);
        /* completeness up to m */
        if (last >= res->since && !sorted_has(c->idx, c->nentries, last))
            return fail(res, ENT_ECORRUPT, true, last,
                        "entry %llu is missing: it is the object's latest "
                        "entry below the head of size %llu",
                        (unsigned long long)last, (unsigned long long)m);
        uint64_t from = last >= res->since ? last + 1 : res->since;
        uint64_t extra = next_held(c, from);
        if (extra < m)
            return fail(res, ENT_ECORRUPT, true, extra,
                        "entry %llu: the checkpoint of the head of size "
                        "%llu lists entry %llu as the object's latest",
                        (unsigned long long)extra, (unsigned long long)m,
                        (unsigned long long)last);
        c->rsizes[c->nrsizes++] = m;
        lastm = m;
    }
    if (lastm != n)
        return fail(res, ENT_ECORRUPT, false, 0,
                    "no directory record for the signed tree head: the "
                    "export cannot show that it holds every entry of the "
                    "object");
    return ENT_OK;
}

static int check_history(struct vctx *c) {
    ent_audit_result *res = c->res;
    uint64_t last = 0;
    if (c->nhistory > 0 &&
        (c->hsizes = calloc(c->nhistory, sizeof(*c->hsizes))) == NULL)
        return fail(res, ENT_ENOMEM, false, 0, "out of memory");
    for (size_t i = 0; i < c->nhistory; i++) {
        ent_actlog_head h;
        const uint8_t *p;
        const uint8_t(*path)[HL];
        size_t n, plen;
        if (ent_cbor_read_array(&c->history, &n) != ENT_OK || n != 2 ||
            read_span(&c->history, &p, &n) != ENT_OK ||
            ent_actlog_head_decode(&h, p, n) != ENT_OK ||
            read_proof(&c->history, &path, &plen) != ENT_OK)
            return fail(res, ENT_ECORRUPT, false, 0, "earlier head %zu: malformed",
                        i);
        if (memcmp(h.org, res->org, 32) != 0 || h.size == 0 ||
            h.size <= last || h.size >= c->head.size)
            return fail(res, ENT_ECORRUPT, false, 0,
                        "earlier head %zu: wrong org or size order", i);
        if (ent_actlog_head_verify(&h) != ENT_OK)
            return fail(res, ENT_EBADSIG, false, 0,
                        "earlier head of size %llu: bad signature",
                        (unsigned long long)h.size);
        if (ent_merkle_verify_consistency(h.size, c->head.size, h.root,
                                          c->head.root, path, plen) != ENT_OK)
            return fail(res, ENT_ECORRUPT, false, 0,
                        "earlier head of size %llu: not consistent with the "
                        "latest head (history rewritten)",
                        (unsigned long long)h.size);
        /* a given witness head of this size must have this root */
        for (size_t k = 0; k < c->nwits; k++) {
            wit *w = &c->wits[k];
            if (w->done || w->h->size != h.size)
                continue;
            w->done = true;
            if (memcmp(w->h->root, h.root, HL) != 0)
                return fail(res, ENT_ECORRUPT, false, 0,
                            "the log was rewritten: two signed heads of size "
                            "%llu differ",
                            (unsigned long long)h.size);
        }
        last = h.size;
        c->hsizes[c->nhsizes++] = h.size;
        res->heads++;
    }
    return ENT_OK;
}

/*
 * In an object export, each given head of size m > since must be one the
 * export shows the object complete up to: a directory record of size m,
 * or the object's very first entry exported at an index >= m (then it had
 * none below m).
 */
static int check_wits_complete(struct vctx *c) {
    ent_audit_result *res = c->res;
    for (size_t i = 0; i < c->nwits; i++) {
        uint64_t m = c->wits[i].h->size;
        bool ok = m <= res->since ||
                  (c->nentries > 0 && c->first_is_genesis && c->idx[0] >= m) ||
                  sorted_has(c->rsizes, c->nrsizes, m);
        if (!ok)
            return fail(res, ENT_ECORRUPT, false, 0,
                        "the given head of size %llu: the export has no "
                        "directory record of that size, so it cannot show "
                        "that it holds every entry of the object up to it",
                        (unsigned long long)m);
    }
    return ENT_OK;
}

static bool head_eq(const ent_actlog_head *a, const ent_actlog_head *b) {
    return memcmp(a->org, b->org, 32) == 0 && a->size == b->size &&
           memcmp(a->root, b->root, HL) == 0 && a->time == b->time &&
           memcmp(a->sig, b->sig, ENT_SIG_LEN) == 0;
}

/*
 * The heads to check against the export (spec/audit.md §11.1): the given
 * heads, less those that are the lost head of a given rewind of this org,
 * plus the base head of each such rewind. Every rewind of this org must
 * be signed by it. *out (malloc'ed, the caller frees) receives *n heads.
 */
static int given_heads(const ent_audit_opts *o, ent_audit_result *res,
                       ent_actlog_head **out, size_t *n) {
    size_t cap = o->nheads + o->nrewinds;
    ent_actlog_head *v = calloc(cap ? cap : 1, sizeof(*v));
    *out = v;
    *n = 0;
    if (v == NULL)
        return fail(res, ENT_ENOMEM, false, 0, "out of memory");
    for (size_t i = 0; i < o->nrewinds; i++) {
        const ent_rewind *r = &o->rewinds[i];
        if (memcmp(r->org, res->org, 32) != 0)
            continue;
        if (ent_rewind_verify(r) != ENT_OK)
            return fail(res, ENT_EBADSIG, false, 0,
                        "given rewind %zu: bad signature", i);
        if (res->nrewinds < ENT_AUDIT_MAX_REWINDS)
            res->rewinds[res->nrewinds] = (ent_audit_rewind){
                r->base.size, r->lost.size, r->time, r->lost.time};
        res->nrewinds++;
        v[(*n)++] = r->base;
    }
    for (size_t i = 0; i < o->nheads; i++) {
        bool lost = false;
        for (size_t j = 0; j < o->nrewinds && !lost; j++)
            lost = memcmp(o->rewinds[j].org, res->org, 32) == 0 &&
                   head_eq(&o->heads[i], &o->rewinds[j].lost);
        if (lost)
            res->rewound++;
        else
            v[(*n)++] = o->heads[i];
    }
    return ENT_OK;
}

int ent_audit_verify_ex(const uint8_t *buf, size_t len,
                        const ent_audit_opts *opts, ent_audit_result *res) {
    struct vctx c;
    uint8_t *msg = NULL;
    ent_actlog_head *given = NULL;
    size_t ngiven = 0;
    int rc;
    if (res == NULL)
        return ENT_EINVAL;
    memset(res, 0, sizeof(*res));
    memset(&c, 0, sizeof(c));
    c.buf = buf;
    c.len = len;
    c.res = res;
    if (buf == NULL && len > 0)
        return fail(res, ENT_EINVAL, false, 0, "no input");
    if (len > ENT_AUDIT_MAX_SIZE)
        return fail(res, ENT_ETOOBIG, false, 0, "export larger than %zu bytes",
                    (size_t)ENT_AUDIT_MAX_SIZE);
    if (opts != NULL && ((opts->nheads > 0 && opts->heads == NULL) ||
                         (opts->nrewinds > 0 && opts->rewinds == NULL)))
        return fail(res, ENT_EINVAL, false, 0, "no heads");
    if ((rc = ent_crypto_init()) != ENT_OK)
        return fail(res, rc, false, 0, "crypto init failed");
    if ((rc = parse_top(&c, opts ? opts->expected_org : NULL)) != ENT_OK)
        goto out;
    res->tree_size = c.head.size;
    if (memcmp(c.head.org, res->org, 32) != 0) {
        rc = fail(res, ENT_ECORRUPT, false, 0, "tree head of another org");
        goto out;
    }
    if (ent_actlog_head_verify(&c.head) != ENT_OK) {
        rc = fail(res, ENT_EBADSIG, false, 0, "tree head: bad signature");
        goto out;
    }
    res->heads++;
    /* heads the auditor holds: those of this org (others are skipped: a
     * partner's file holds the heads of every org it witnesses) must be
     * signed by it and no larger than the log */
    if (opts != NULL && opts->nheads + opts->nrewinds > 0) {
        if ((rc = given_heads(opts, res, &given, &ngiven)) != ENT_OK)
            goto out;
        if ((c.wits = calloc(ngiven ? ngiven : 1, sizeof(wit))) == NULL) {
            rc = fail(res, ENT_ENOMEM, false, 0, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < ngiven; i++) {
            const ent_actlog_head *h = &given[i];
            if (memcmp(h->org, res->org, 32) != 0)
                continue;
            wit *w = &c.wits[c.nwits++];
            w->h = h;
            if (ent_actlog_head_verify(h) != ENT_OK) {
                rc = fail(res, ENT_EBADSIG, false, 0,
                          "given head %zu: bad signature", i);
                goto out;
            }
            if (h->size > c.head.size) {
                rc = fail(res, ENT_ECORRUPT, false, 0,
                          "the log was truncated: a given head has size "
                          "%llu, the export %llu",
                          (unsigned long long)h->size,
                          (unsigned long long)c.head.size);
                goto out;
            }
            if (h->size == c.head.size) {
                w->done = true;
                if (memcmp(h->root, c.head.root, HL) != 0) {
                    rc = fail(res, ENT_ECORRUPT, false, 0,
                              "the log was rewritten: two signed heads of "
                              "size %llu differ",
                              (unsigned long long)h->size);
                    goto out;
                }
            }
        }
        if (c.nwits == 0 && res->rewound == 0) {
            rc = fail(res, ENT_ENOENT, false, 0,
                      "none of the %zu given heads is of this org",
                      opts->nheads);
            goto out;
        }
        qsort(c.wits, c.nwits, sizeof(wit), cmp_wit);
    }
    if ((rc = load_ops(&c)) != ENT_OK || (rc = check_entries(&c)) != ENT_OK ||
        (rc = check_erased(&c)) != ENT_OK)
        goto out;
    for (size_t i = 0; i < c.nops; i++) {
        vop *o = &c.vops[i];
        char h[17];
        hex8(h, o->id);
        if (o->rc != ENT_OK) {
            rc = fail(res, o->rc, false, 0, "op %s: %s", h,
                      ent_strerror(o->rc));
            goto out;
        }
        if (!o->used) {
            rc = fail(res, ENT_ECORRUPT, false, 0,
                      "op %s is not referred to by any entry", h);
            goto out;
        }
        if (i > 0 && memcmp(c.vops[i - 1].id, o->id, 32) == 0)
            c.ops_order_bad = true;
    }
    if (c.ops_order_bad) {
        rc = fail(res, ENT_ECORRUPT, false, 0,
                  "ops are not in increasing op id order");
        goto out;
    }
    res->ops = c.nops;
    if ((rc = check_history(&c)) != ENT_OK)
        goto out;
    if (res->has_object && (rc = check_records(&c)) != ENT_OK)
        goto out;
    for (size_t i = 0; i < c.nwits; i++) {
        if (!c.wits[i].done) {
            rc = fail(res, ENT_ECORRUPT, false, 0,
                      "a given head of size %llu is not covered by this "
                      "export",
                      (unsigned long long)c.wits[i].h->size);
            goto out;
        }
        res->heads++;
        res->witnessed++;
    }
    if (res->has_object && (rc = check_wits_complete(&c)) != ENT_OK)
        goto out;
    /* every equivocation proof must be valid on its own (§12) */
    for (size_t i = 0; i < c.nwitnesses; i++) {
        const uint8_t *p;
        size_t n;
        int erc;
        if (read_span(&c.witnesses, &p, &n) != ENT_OK ||
            (erc = ent_equiv_verify(p, n, NULL, NULL)) != ENT_OK) {
            rc = fail(res, ENT_ECORRUPT, false, 0,
                      "equivocation proof %zu is not valid", i);
            goto out;
        }
        res->equivocations++;
    }
    /* the org's signature over the unsigned form: array(13) || items
     * (array(12) in version 2) */
    if ((msg = malloc(c.sig_pos)) == NULL) {
        rc = fail(res, ENT_ENOMEM, false, 0, "out of memory");
        goto out;
    }
    memcpy(msg, buf, c.sig_pos);
    msg[0] = (uint8_t)(0x80 | (c.items - 1));
    if ((rc = ent_sig_verify(res->org, ENT_SIGCTX_TREE_HEAD, msg, c.sig_pos,
                             c.sig)) != ENT_OK) {
        rc = fail(res, rc == ENT_ENOMEM ? rc : ENT_EBADSIG, false, 0,
                  "export signature does not verify");
        goto out;
    }
    res->ok = true;
    res->err = ENT_OK;
    rc = ENT_OK;
out:
    free(msg);
    free(given);
    free(c.vops);
    free(c.wits);
    free(c.idx);
    free(c.hsizes);
    free(c.rsizes);
    ent_dir_free(c.dir);
    return rc;
}

int ent_audit_verify(const uint8_t *buf, size_t len,
                     const uint8_t *expected_org, ent_audit_result *res) {
    ent_audit_opts o = {.expected_org = expected_org};
    return ent_audit_verify_ex(buf, len, &o, res);
}

/* Walks the ops section of an export (no checks beyond the layout: run
 * ent_audit_verify first). */
int ent_audit_foreach_op(const uint8_t *buf, size_t len,
                         int (*fn)(void *data, const uint8_t *op, size_t n),
                         void *data) {
    struct vctx c;
    ent_audit_result res;
    int rc;
    memset(&c, 0, sizeof(c));
    memset(&res, 0, sizeof(res));
    c.buf = buf;
    c.len = len;
    c.res = &res;
    if ((rc = parse_top(&c, NULL)) != ENT_OK)
        return rc;
    for (size_t i = 0; i < c.nops; i++) {
        const uint8_t *p;
        size_t n;
        if ((rc = read_span(&c.ops, &p, &n)) != ENT_OK)
            return rc;
        if ((rc = fn(data, p, n)) != 0)
            return rc < 0 ? rc : ENT_OK;
    }
    return ENT_OK;
}
