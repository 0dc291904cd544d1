/*
 * witness_test.c - witnessing of tree heads and equivocation proofs
 * (node/audit/witness.h, spec/audit.md §11-§12): a partner keeps a head, accepts
 * a consistent successor only with the org's signed proof, turns two heads
 * of one size or a failing signed proof into a stored, logged, exported and
 * independently verifiable proof, and does the same for two ops of one
 * author and sequence. Each proof is logged once, however often the same
 * contradiction is offered again; its halves are byte strings holding the
 * signed records, and a proof that nests them as arrays is refused.
 * Rewinds (§11.1): a restored org's signed statement that its log beyond a
 * base was lost is kept and excuses the lost head, while a forged,
 * mismatched or tampered one, one that would cover a proven equivocation,
 * or one beyond the bound, is refused and changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "crypto/merkle.h"
#include "node/audit/actlog.h"
#include "node/audit/audit.h"
#include "node/err.h"
#include "node/audit/witness.h"
#include "node/events/event.h"
#include "protocol/cbor.h"
#include "protocol/op.h"
#include "storage/store.h"
#include "tests/store_fixture.h"

typedef struct node {
    char dir[64];
    ent_store *store;
} node;

struct fx {
    ent_identity *a, *b;
    node na, na2, nb; /* A's log, A's rewritten log (same key), B */
};

static void node_open(node *n) {
    assert_int_equal(tmp_store(&n->store, n->dir, sizeof(n->dir), "wit", NULL),
                     ENT_OK);
}

static void node_close(node *n) {
    ent_store_close(n->store);
    rm_tree(n->dir);
}

static int setup(void **state) {
    struct fx *f = calloc(1, sizeof(*f));
    uint8_t seed[ENT_SIG_SEED_LEN];
    assert_int_equal(ent_crypto_init(), ENT_OK);
    memset(seed, 1, sizeof(seed));
    assert_int_equal(ent_identity_from_seed(&f->a, seed), ENT_OK);
    memset(seed, 2, sizeof(seed));
    assert_int_equal(ent_identity_from_seed(&f->b, seed), ENT_OK);
    node_open(&f->na);
    node_open(&f->na2);
    node_open(&f->nb);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fx *f = *state;
    node_close(&f->na);
    node_close(&f->na2);
    node_close(&f->nb);
    ent_identity_free(f->a);
    ent_identity_free(f->b);
    free(f);
    return 0;
}

struct app {
    const ent_identity *id;
    uint64_t n;
    uint8_t tag; /* makes the entries of two logs differ */
};

static int append_fn(ent_txn *txn, void *data) {
    struct app *a = data;
    for (uint64_t i = 0; i < a->n; i++) {
        ent_actlog_entry e;
        memset(&e, 0, sizeof(e));
        e.time = 1700000000000ULL + i;
        e.kind = ENT_LOG_INVITE_ISSUED;
        e.has_object = true;
        memset(e.object, a->tag, 32);
        int rc = ent_actlog_append(txn, &e, NULL);
        if (rc != ENT_OK)
            return rc;
    }
    return ENT_OK;
}

static void append(node *n, const ent_identity *id, uint64_t k, uint8_t tag) {
    struct app a = {id, k, tag};
    assert_int_equal(ent_store_write(n->store, append_fn, &a), ENT_OK);
}

struct sign {
    const ent_identity *id;
    ent_actlog_head h;
};

static int sign_fn(ent_txn *txn, void *data) {
    struct sign *s = data;
    return ent_actlog_sign_head(txn, s->id, 1700000001000ULL, &s->h);
}

/* Signs the current head of n, encoded into buf. */
static size_t head(node *n, const ent_identity *id, uint8_t *buf) {
    struct sign s;
    memset(&s, 0, sizeof(s));
    s.id = id;
    size_t len = 0;
    assert_int_equal(ent_store_write(n->store, sign_fn, &s), ENT_OK);
    assert_int_equal(
        ent_actlog_head_encode(&s.h, true, buf, ENT_ACTLOG_HEAD_MAX, &len),
        ENT_OK);
    return len;
}

struct kept {
    const uint8_t *org;
    ent_actlog_head h;
    int rc;
};

static int kept_fn(ent_txn *txn, void *data) {
    struct kept *k = data;
    k->rc = ent_witness_kept(txn, k->org, &k->h);
    return ENT_OK;
}

static uint64_t kept_size(node *n, const uint8_t *org) {
    struct kept k;
    memset(&k, 0, sizeof(k));
    k.org = org;
    assert_int_equal(ent_store_read(n->store, kept_fn, &k), ENT_OK);
    assert_int_equal(k.rc, ENT_OK);
    return k.h.size;
}

static int count_fn(ent_txn *txn, void *data) {
    return ent_witness_count(txn, data);
}

/* The events of one kind on n: how many, and the last one's org and (a
 * rewind's) data base/lost sizes. */
struct kind_events {
    const char *kind;
    uint64_t n, base, lost;
    uint8_t org[32];
};

static int kind_ev_fn(void *data, const ent_event *ev) {
    struct kind_events *r = data;
    if (strcmp(ev->kind, r->kind) != 0)
        return 0;
    r->n++;
    assert_true(ev->has_org);
    assert_false(ev->has_object);
    memcpy(r->org, ev->org, 32);
    r->base = (uint64_t)json_integer_value(json_object_get(ev->data, "base"));
    r->lost = (uint64_t)json_integer_value(json_object_get(ev->data, "lost"));
    return 0;
}

static int kind_ev_txn(ent_txn *txn, void *data) {
    return ent_events_read(txn, 0, 0, kind_ev_fn, data);
}

static struct kind_events events_of(node *n, const char *kind) {
    struct kind_events r;
    memset(&r, 0, sizeof(r));
    r.kind = kind;
    assert_int_equal(ent_store_read(n->store, kind_ev_txn, &r), ENT_OK);
    return r;
}

static struct kind_events rewind_events(node *n) {
    return events_of(n, ENT_EV_REWIND);
}

static uint64_t nproofs(node *n) {
    uint64_t c = 0;
    assert_int_equal(ent_store_read(n->store, count_fn, &c), ENT_OK);
    return c;
}

/* Collects the proofs (copies) of a node. */
struct coll {
    uint8_t *p[8];
    size_t len[8];
    size_t n;
};

static int coll_fn(void *data, const uint8_t *proof, size_t len) {
    struct coll *c = data;
    if (c->n == 8)
        return ENT_ELIMIT;
    c->p[c->n] = malloc(len);
    memcpy(c->p[c->n], proof, len);
    c->len[c->n++] = len;
    return ENT_OK;
}

static int coll_txn(ent_txn *txn, void *data) {
    return ent_witness_proofs_foreach(txn, coll_fn, data);
}

static void coll_free(struct coll *c) {
    for (size_t i = 0; i < c->n; i++)
        free(c->p[i]);
    c->n = 0;
}

/* Every single-byte change of a valid proof makes it invalid. */
static void assert_tamper_fails(const uint8_t *p, size_t len) {
    uint8_t *q = malloc(len);
    for (size_t i = 0; i < len; i++) {
        memcpy(q, p, len);
        q[i] ^= 0x01;
        assert_int_not_equal(ent_equiv_verify(q, len, NULL, NULL), ENT_OK);
    }
    assert_int_not_equal(ent_equiv_verify(p, len - 1, NULL, NULL), ENT_OK);
    free(q);
}

static int equiv_entries_fn(void *data, const ent_actlog_entry *e,
                            const uint8_t *raw, size_t len) {
    (void)raw, (void)len;
    if (e->kind == ENT_LOG_EQUIVOCATION)
        (*(uint64_t *)data)++;
    return 0;
}

static int equiv_entries_txn(ent_txn *txn, void *data) {
    return ent_actlog_foreach(txn, 0, equiv_entries_fn, data);
}

static uint64_t equiv_entries(node *n) {
    uint64_t k = 0;
    assert_int_equal(ent_store_read(n->store, equiv_entries_txn, &k), ENT_OK);
    return k;
}

/* The proof p with its two halves (items 3 and 4, byte strings holding
 * encoded records) written as the records themselves, nested arrays: what
 * an implementation that misread §12 would produce. */
static size_t nest_halves(const uint8_t *p, size_t len, uint8_t *out,
                          size_t cap) {
    ent_cbor_reader r;
    ent_cbor_writer w;
    size_t n, at;
    uint64_t v;
    const uint8_t *b;
    ent_cbor_reader_init(&r, p, len);
    ent_cbor_writer_init(&w, out, cap);
    assert_int_equal(ent_cbor_read_array(&r, &n), ENT_OK);
    ent_cbor_write_array(&w, n);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ent_cbor_read_uint(&r, &v), ENT_OK);
        ent_cbor_write_uint(&w, v);
    }
    at = r.pos;
    assert_int_equal(ent_cbor_skip(&r), ENT_OK);
    ent_cbor_write_raw(&w, p + at, r.pos - at); /* org */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ent_cbor_read_bytes(&r, &b, &n), ENT_OK);
        ent_cbor_write_raw(&w, b, n);
    }
    ent_cbor_write_raw(&w, p + r.pos, len - r.pos); /* path, sig */
    assert_int_equal(w.err, ENT_OK);
    return w.len;
}

/* B's witness is offered A's head h (hl bytes) at time now: taken in
 * (ENT_OK); kept (may be NULL) gets the head B holds. @return the outcome,
 * an ENT_WITNESS_* value. */
static int offer_ok(struct fx *f, uint64_t now, const uint8_t *h, size_t hl,
                    ent_actlog_head *kept) {
    int out = -1;
    assert_int_equal(ent_witness_offer(f->nb.store, now, h, hl,
                                       ent_identity_public(f->a), &out, kept),
                     ENT_OK);
    return out;
}

static void test_heads(void **state) {
    struct fx *f = *state;
    const uint8_t *apk = ent_identity_public(f->a);
    uint8_t h[ENT_ACTLOG_HEAD_MAX];
    size_t hl;
    int out = -1;
    ent_actlog_head kept;
    ent_wire_consistency ans;

    /* first head: kept (3 entries and the checkpoint signing appends) */
    append(&f->na, f->a, 3, 0xaa);
    hl = head(&f->na, f->a, h);
    assert_int_equal(offer_ok(f, 1, h, hl, NULL), ENT_WITNESS_KEPT);
    assert_int_equal(kept_size(&f->nb, apk), 4);
    /* the same head again: nothing new */
    assert_int_equal(offer_ok(f, 1, h, hl, NULL), ENT_WITNESS_SAME);
    /* A's head offered by B's session with another org: refused */
    assert_int_equal(ent_witness_offer(f->nb.store, 1, h, hl,
                                       ent_identity_public(f->b), &out, NULL),
                     ENT_EDENIED);
    /* a head with a broken signature: refused */
    h[hl - 1] ^= 1;
    assert_int_equal(ent_witness_offer(f->nb.store, 1, h, hl, apk, &out,
                                       NULL),
                     ENT_EBADSIG);

    /* a consistent successor needs A's signed proof */
    append(&f->na, f->a, 2, 0xaa);
    hl = head(&f->na, f->a, h);
    assert_int_equal(offer_ok(f, 1, h, hl, &kept), ENT_WITNESS_NEED_PROOF);
    assert_int_equal(kept.size, 4);
    /* an answer signed by someone else proves nothing and changes nothing */
    assert_int_equal(ent_witness_answer(f->na.store, f->b, 4, 7, &ans),
                     ENT_OK);
    assert_int_equal(ent_witness_settle(f->nb.store, 1, h, hl, &ans,
                                        &out),
                     ENT_EBADSIG);
    assert_int_equal(kept_size(&f->nb, apk), 4);
    /* an answer for other sizes */
    assert_int_equal(ent_witness_answer(f->na.store, f->a, 2, 7, &ans),
                     ENT_OK);
    assert_int_equal(ent_witness_settle(f->nb.store, 1, h, hl, &ans,
                                        &out),
                     ENT_EINVAL);
    /* beyond A's log: A cannot answer */
    assert_int_equal(ent_witness_answer(f->na.store, f->a, 4, 9, &ans),
                     ENT_EINVAL);
    assert_int_equal(ent_witness_answer(f->na.store, f->a, 4, 7, &ans),
                     ENT_OK);
    assert_true(ans.has_sig);
    assert_int_equal(ent_witness_settle(f->nb.store, 1, h, hl, &ans,
                                        &out),
                     ENT_OK);
    assert_int_equal(out, ENT_WITNESS_KEPT);
    assert_int_equal(kept_size(&f->nb, apk), 7);
    assert_int_equal(nproofs(&f->nb), 0);

    /* A rewrites its log (same key, other entries): same size, other root */
    uint8_t forked[ENT_ACTLOG_HEAD_MAX];
    size_t forkedlen;
    append(&f->na2, f->a, 6, 0xbb);
    forkedlen = head(&f->na2, f->a, forked);
    assert_int_equal(offer_ok(f, 2, forked, forkedlen, NULL),
                     ENT_WITNESS_EQUIVOCATION);
    assert_int_equal(kept_size(&f->nb, apk), 7); /* never replaced */
    assert_int_equal(nproofs(&f->nb), 1);
    assert_int_equal(equiv_entries(&f->nb), 1);
    struct kind_events eq = events_of(&f->nb, ENT_EV_EQUIVOCATION);
    assert_int_equal(eq.n, 1);
    assert_memory_equal(eq.org, apk, 32);
    /* the same head again (a partner resends its head on every session):
     * the same proof, neither stored nor logged a second time */
    assert_int_equal(offer_ok(f, 5, forked, forkedlen, NULL),
                     ENT_WITNESS_EQUIVOCATION);
    assert_int_equal(nproofs(&f->nb), 1);
    assert_int_equal(equiv_entries(&f->nb), 1);
    assert_int_equal(events_of(&f->nb, ENT_EV_EQUIVOCATION).n, 1);

    /* ... and grows it: its own signed proof fails against the kept head */
    append(&f->na2, f->a, 2, 0xbb);
    hl = head(&f->na2, f->a, h);
    assert_int_equal(offer_ok(f, 3, h, hl, &kept), ENT_WITNESS_NEED_PROOF);
    assert_int_equal(ent_witness_answer(f->na2.store, f->a, 7, 10, &ans),
                     ENT_OK);
    assert_int_equal(ent_witness_settle(f->nb.store, 3, h, hl, &ans,
                                        &out),
                     ENT_OK);
    assert_int_equal(out, ENT_WITNESS_EQUIVOCATION);
    assert_int_equal(kept_size(&f->nb, apk), 7);
    assert_int_equal(nproofs(&f->nb), 2);
    assert_int_equal(equiv_entries(&f->nb), 2);
    /* offered and answered again: one proof, one entry */
    assert_int_equal(offer_ok(f, 6, h, hl, &kept), ENT_WITNESS_NEED_PROOF);
    assert_int_equal(ent_witness_settle(f->nb.store, 6, h, hl, &ans,
                                        &out),
                     ENT_OK);
    assert_int_equal(out, ENT_WITNESS_EQUIVOCATION);
    assert_int_equal(nproofs(&f->nb), 2);
    assert_int_equal(equiv_entries(&f->nb), 2);

    /* both proofs verify alone, accuse A, and break under any change */
    struct coll c = {{0}, {0}, 0};
    assert_int_equal(ent_store_read(f->nb.store, coll_txn, &c), ENT_OK);
    assert_int_equal(c.n, 2);
    int kinds = 0;
    for (size_t i = 0; i < c.n; i++) {
        uint8_t org[ENT_PK_LEN];
        int kind = 0;
        assert_int_equal(ent_equiv_verify(c.p[i], c.len[i], org, &kind),
                         ENT_OK);
        assert_memory_equal(org, apk, ENT_PK_LEN);
        kinds |= 1 << kind;
        assert_tamper_fails(c.p[i], c.len[i]);
    }
    assert_int_equal(kinds, (1 << ENT_EQUIV_HEADS) |
                                (1 << ENT_EQUIV_CONSISTENCY));

    /* the halves are byte strings holding the signed heads (§12), not
     * nested arrays: as arrays, the same proof is refused */
    assert_int_equal(c.p[0][0], 0x87);
    ent_cbor_reader r;
    size_t items;
    uint64_t v;
    const uint8_t *half;
    size_t halflen;
    ent_cbor_reader_init(&r, c.p[0], c.len[0]);
    assert_int_equal(ent_cbor_read_array(&r, &items), ENT_OK);
    assert_int_equal(ent_cbor_read_uint(&r, &v), ENT_OK);
    assert_int_equal(ent_cbor_read_uint(&r, &v), ENT_OK);
    assert_int_equal(ent_cbor_skip(&r), ENT_OK); /* org */
    assert_int_equal(ent_cbor_read_bytes(&r, &half, &halflen), ENT_OK);
    ent_actlog_head hh;
    assert_int_equal(ent_actlog_head_decode(&hh, half, halflen), ENT_OK);
    assert_int_equal(ent_cbor_read_bytes(&r, &half, &halflen), ENT_OK);
    assert_int_equal(ent_actlog_head_decode(&hh, half, halflen), ENT_OK);
    uint8_t nested[2 * ENT_ACTLOG_HEAD_MAX + 256];
    size_t nl = nest_halves(c.p[0], c.len[0], nested, sizeof(nested));
    assert_int_equal(ent_equiv_verify(nested, nl, NULL, NULL), ENT_ECORRUPT);
    coll_free(&c);

    /* B's export carries them and verifies; the kept head of A verifies
     * A's honest export and catches the rewritten one */
    uint8_t *buf = NULL;
    size_t len = 0;
    ent_audit_result res;
    assert_int_equal(ent_audit_export(f->nb.store, f->b, 9, NULL, &buf, &len),
                     ENT_OK);
    assert_int_equal(ent_audit_verify(buf, len, NULL, &res), ENT_OK);
    assert_int_equal(res.equivocations, 2);
    free(buf);

    struct kept k;
    memset(&k, 0, sizeof(k));
    k.org = apk;
    assert_int_equal(ent_store_read(f->nb.store, kept_fn, &k), ENT_OK);
    ent_audit_opts o = {.heads = &k.h, .nheads = 1};
    assert_int_equal(ent_audit_export(f->na.store, f->a, 9, NULL, &buf, &len),
                     ENT_OK);
    assert_int_equal(ent_audit_verify_ex(buf, len, &o, &res), ENT_OK);
    free(buf);
    assert_int_equal(ent_audit_export(f->na2.store, f->a, 9, NULL, &buf, &len),
                     ENT_OK);
    assert_int_equal(ent_audit_verify(buf, len, NULL, &res), ENT_OK);
    assert_int_not_equal(ent_audit_verify_ex(buf, len, &o, &res), ENT_OK);
    free(buf);
}

/* Seals an op of A: comment `text` on obj with sequence seq. */
static ent_op *mkop(const ent_identity *id, const uint8_t obj[32], uint64_t seq,
                    const char *text) {
    ent_op_header h;
    ent_op_body b;
    uint8_t key[ENT_KEY_LEN], *body = NULL;
    size_t blen = 0;
    ent_op *op = NULL;
    memset(&h, 0, sizeof(h));
    memset(&b, 0, sizeof(b));
    memset(key, 3, sizeof(key));
    h.version = ENT_OP_VERSION;
    memcpy(h.object, obj, 32);
    memcpy(h.author, ent_identity_public(id), 32);
    h.seq = seq;
    h.hlc = (uint64_t)1700000000000ULL << 16;
    h.nparents = 1;
    memset(h.parents[0], 9, 32);
    h.kind = ENT_OP_COMMENT;
    b.kind = ENT_OP_COMMENT;
    b.text = (char *)text;
    b.textlen = strlen(text);
    assert_int_equal(ent_op_body_encode(&b, &body, &blen), ENT_OK);
    assert_int_equal(ent_op_seal(&op, &h, body, blen, key, id), ENT_OK);
    free(body);
    return op;
}

static int put_equiv_fn(ent_txn *txn, void *data) {
    ent_op **ops = data;
    for (int i = 0; i < 2; i++) {
        uint8_t k[104];
        memcpy(k, ops[i]->h.object, 32);
        memcpy(k + 32, ops[i]->h.author, 32);
        for (int j = 0; j < 8; j++)
            k[64 + j] = (uint8_t)(ops[i]->h.seq >> (56 - 8 * j));
        memcpy(k + 72, ops[i]->id, 32);
        int rc = ent_txn_put(txn, ENT_TBL_EQUIV, k, 104, ops[i]->raw,
                             ops[i]->rawlen, 0);
        if (rc != ENT_OK)
            return rc;
    }
    return ENT_OK;
}

static void test_ops(void **state) {
    struct fx *f = *state;
    uint8_t obj[32];
    memset(obj, 5, sizeof(obj));
    ent_op *ops[2] = {mkop(f->a, obj, 4, "one"), mkop(f->a, obj, 4, "two")};
    assert_int_equal(ent_store_write(f->nb.store, put_equiv_fn, ops), ENT_OK);
    assert_int_equal(nproofs(&f->nb), 1);
    struct coll c = {{0}, {0}, 0};
    assert_int_equal(ent_store_read(f->nb.store, coll_txn, &c), ENT_OK);
    assert_int_equal(c.n, 1);
    uint8_t org[ENT_PK_LEN];
    int kind = 0;
    assert_int_equal(ent_equiv_verify(c.p[0], c.len[0], org, &kind), ENT_OK);
    assert_int_equal(kind, ENT_EQUIV_OPS);
    assert_memory_equal(org, ent_identity_public(f->a), ENT_PK_LEN);
    assert_tamper_fails(c.p[0], c.len[0]);
    coll_free(&c);
    ent_op_free(ops[0]);
    ent_op_free(ops[1]);

    /* two ops of different sequences are no equivocation */
    node n2;
    node_open(&n2);
    ent_op *ok[2] = {mkop(f->a, obj, 4, "one"), mkop(f->a, obj, 5, "two")};
    assert_int_equal(ent_store_write(n2.store, put_equiv_fn, ok), ENT_OK);
    assert_int_equal(nproofs(&n2), 0);
    ent_op_free(ok[0]);
    ent_op_free(ok[1]);
    node_close(&n2);
}

static void test_statement(void **state) {
    struct fx *f = *state;
    uint8_t path[2][32], sig[ENT_SIG_LEN];
    memset(path, 4, sizeof(path));
    assert_int_equal(ent_witness_sign_statement(f->a, 3, 7,
                                                (const uint8_t(*)[32])path, 2,
                                                sig),
                     ENT_OK);
    const uint8_t *apk = ent_identity_public(f->a);
    assert_int_equal(ent_witness_verify_statement(
                         apk, 3, 7, (const uint8_t(*)[32])path, 2, sig),
                     ENT_OK);
    assert_int_equal(ent_witness_verify_statement(
                         apk, 3, 8, (const uint8_t(*)[32])path, 2, sig),
                     ENT_EBADSIG);
    assert_int_equal(ent_witness_verify_statement(
                         apk, 3, 7, (const uint8_t(*)[32])path, 1, sig),
                     ENT_EBADSIG);
    assert_int_equal(ent_witness_verify_statement(
                         ent_identity_public(f->b), 3, 7,
                         (const uint8_t(*)[32])path, 2, sig),
                     ENT_EBADSIG);
}

/* ------------------------------------------------------------ rewinds */

static int leaf_at(void *data, uint64_t i, uint8_t out[32]) {
    const uint8_t *b;
    size_t n;
    return ent_actlog_get(data, i, &b, &n, out);
}

/* ent_actlog_root_at equals the root recomputed from every leaf. */
static int root_at_fn(ent_txn *txn, void *data) {
    uint8_t r1[32], r2[32];
    uint64_t n;
    (void)data;
    assert_int_equal(ent_actlog_root(txn, &n, r1), ENT_OK);
    for (uint64_t m = 1; m <= n; m++) {
        assert_int_equal(ent_actlog_root_at(txn, m, r1), ENT_OK);
        assert_int_equal(ent_merkle_root(m, leaf_at, txn, r2), ENT_OK);
        assert_memory_equal(r1, r2, 32);
    }
    assert_int_equal(ent_actlog_root_at(txn, 0, r1), ENT_EINVAL);
    assert_int_equal(ent_actlog_root_at(txn, n + 1, r1), ENT_EINVAL);
    return ENT_OK;
}

struct prefix {
    const ent_identity *id;
    uint64_t m;
    ent_actlog_head h;
};

static int prefix_fn(ent_txn *txn, void *data) {
    struct prefix *p = data;
    return ent_actlog_prefix_head(txn, p->id, p->m, 1700000002000ULL, &p->h);
}

static ent_actlog_head prefix_head(node *n, const ent_identity *id,
                                   uint64_t m) {
    struct prefix p = {id, m, {{0}, 0, {0}, 0, {0}}};
    assert_int_equal(ent_store_read(n->store, prefix_fn, &p), ENT_OK);
    return p.h;
}

static ent_actlog_head decoded(const uint8_t *h, size_t hl) {
    ent_actlog_head x;
    assert_int_equal(ent_actlog_head_decode(&x, h, hl), ENT_OK);
    return x;
}

static int nrw_fn(void *data, const uint8_t *rec, size_t len) {
    ent_rewind r;
    assert_int_equal(ent_rewind_decode(&r, rec, len), ENT_OK);
    ++*(uint64_t *)data;
    return 0;
}

static int nrw_txn(ent_txn *txn, void *data) {
    return ent_witness_rewinds_foreach(txn, nrw_fn, data);
}

static uint64_t nrewinds(node *n) {
    uint64_t k = 0;
    assert_int_equal(ent_store_read(n->store, nrw_txn, &k), ENT_OK);
    return k;
}

/* Offers A's current head of log n to witness w and settles it with n's
 * signed consistency answer. @return the final outcome. */
static int witness_head(node *w, node *n, const ent_identity *a) {
    uint8_t h[ENT_ACTLOG_HEAD_MAX];
    size_t hl = head(n, a, h);
    ent_actlog_head kept, x = decoded(h, hl);
    ent_wire_consistency ans;
    int out = -1;
    assert_int_equal(ent_witness_offer(w->store, 1, h, hl,
                                       ent_identity_public(a), &out, &kept),
                     ENT_OK);
    if (out != ENT_WITNESS_NEED_PROOF)
        return out;
    uint64_t lo = kept.size < x.size ? kept.size : x.size;
    uint64_t hi = kept.size < x.size ? x.size : kept.size;
    assert_int_equal(ent_witness_answer(n->store, a, lo, hi, &ans), ENT_OK);
    assert_int_equal(ent_witness_settle(w->store, 1, h, hl, &ans, &out),
                     ENT_OK);
    return out;
}

/* A record with any fields, signed by id over its first five items. */
static size_t craft(const ent_identity *id, const uint8_t *org,
                    const ent_actlog_head *base, const ent_actlog_head *lost,
                    uint8_t *out) {
    uint8_t hb[ENT_ACTLOG_HEAD_MAX], hl[ENT_ACTLOG_HEAD_MAX], msg[600],
        sig[ENT_SIG_LEN];
    size_t nb = 0, nl = 0;
    ent_cbor_writer w;
    assert_int_equal(ent_actlog_head_encode(base, true, hb, sizeof(hb), &nb),
                     ENT_OK);
    assert_int_equal(ent_actlog_head_encode(lost, true, hl, sizeof(hl), &nl),
                     ENT_OK);
    for (int pass = 0; pass < 2; pass++) {
        ent_cbor_writer_init(&w, pass ? out : msg, pass ? ENT_REWIND_MAX : 600);
        ent_cbor_write_array(&w, pass ? 6 : 5);
        ent_cbor_write_text(&w, ENT_REWIND_TAG, strlen(ENT_REWIND_TAG));
        ent_cbor_write_bytes(&w, org, 32);
        ent_cbor_write_bytes(&w, hb, nb);
        ent_cbor_write_bytes(&w, hl, nl);
        ent_cbor_write_uint(&w, 1700000003000ULL);
        if (pass)
            ent_cbor_write_bytes(&w, sig, ENT_SIG_LEN);
        else
            assert_int_equal(ent_identity_sign(id, ENT_SIGCTX_TREE_HEAD, msg,
                                               w.len, sig),
                             ENT_OK);
        assert_int_equal(w.err, ENT_OK);
    }
    return w.len;
}

static void test_rewind(void **state) {
    struct fx *f = *state;
    const uint8_t *apk = ent_identity_public(f->a);
    uint8_t rec[ENT_REWIND_MAX], bad[ENT_REWIND_MAX];
    size_t len = 0;
    int out = -1;

    /* A's log and its backup share 5 entries and a head of size 6 */
    append(&f->na, f->a, 5, 0xaa);
    append(&f->na2, f->a, 5, 0xaa);
    uint8_t h[ENT_ACTLOG_HEAD_MAX];
    size_t hl = head(&f->na, f->a, h);
    ent_actlog_head h6 = decoded(h, hl);
    assert_int_equal(witness_head(&f->nb, &f->na, f->a), ENT_WITNESS_KEPT);
    hl = head(&f->na2, f->a, h);
    assert_memory_equal(decoded(h, hl).root, h6.root, 32);
    /* A goes on to 11 entries, B keeps that head; then A is lost */
    append(&f->na, f->a, 4, 0xaa);
    assert_int_equal(witness_head(&f->nb, &f->na, f->a), ENT_WITNESS_KEPT);
    assert_int_equal(kept_size(&f->nb, apk), 11);
    hl = head(&f->na, f->a, h);
    ent_actlog_head lost = decoded(h, hl);
    /* the restored log (from the backup) regrows with other entries */
    append(&f->na2, f->a, 9, 0xbb);
    assert_int_equal(ent_store_read(f->na2.store, root_at_fn, NULL), ENT_OK);
    ent_actlog_head base = prefix_head(&f->na2, f->a, 6);
    assert_memory_equal(base.root, h6.root, 32);
    ent_actlog_head base5 = prefix_head(&f->na2, f->a, 5); /* signed now */
    assert_int_equal(ent_actlog_head_verify(&base5), ENT_OK);

    /* the regrown log's head against the lost one would be an
     * equivocation: first the rewind, signed by A */
    assert_int_equal(ent_rewind_sign(f->a, &base, &lost, 1700000003000ULL,
                                     rec, sizeof(rec), &len),
                     ENT_OK);
    assert_int_equal(ent_rewind_sign(f->a, &lost, &base, 1, rec + 0, 0, &len),
                     ENT_EINVAL); /* base larger than lost */
    assert_int_equal(ent_rewind_sign(f->b, &base, &lost, 1, bad, sizeof(bad),
                                     &len),
                     ENT_EINVAL); /* not B's heads */
    assert_int_equal(ent_rewind_sign(f->a, &base, &lost, 1700000003000ULL,
                                     rec, sizeof(rec), &len),
                     ENT_OK);

    /* hostile: every flipped byte, every truncation is refused */
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, rec, len);
        bad[i] ^= 0x01;
        assert_int_not_equal(
            ent_witness_rewind(f->nb.store, 1, bad, len, apk, &out), ENT_OK);
    }
    for (size_t i = 0; i < len; i++)
        assert_int_not_equal(
            ent_witness_rewind(f->nb.store, 1, rec, i, apk, &out), ENT_OK);
    /* from another org's session */
    assert_int_equal(ent_witness_rewind(f->nb.store, 1, rec, len,
                                        ent_identity_public(f->b), &out),
                     ENT_EDENIED);
    /* signed by B over A's heads */
    size_t bl = craft(f->b, apk, &base, &lost, bad);
    assert_int_equal(ent_witness_rewind(f->nb.store, 1, bad, bl, apk, &out),
                     ENT_EBADSIG);
    /* sizes that do not fit: base not below lost, a lost head that is not
     * the kept one */
    bl = craft(f->a, apk, &lost, &lost, bad);
    assert_int_equal(ent_witness_rewind(f->nb.store, 1, bad, bl, apk, &out),
                     ENT_ECORRUPT);
    bl = craft(f->a, apk, &base, &h6, bad);
    assert_int_equal(ent_witness_rewind(f->nb.store, 1, bad, bl, apk, &out),
                     ENT_ECORRUPT);
    ent_actlog_head other = prefix_head(&f->na2, f->a, 12);
    bl = craft(f->a, apk, &base, &other, bad);
    assert_int_equal(ent_witness_rewind(f->nb.store, 1, bad, bl, apk, &out),
                     ENT_EINVAL);
    /* nothing changed */
    assert_int_equal(kept_size(&f->nb, apk), 11);
    assert_int_equal(nrewinds(&f->nb), 0);
    assert_int_equal(nproofs(&f->nb), 0);
    assert_int_equal(rewind_events(&f->nb).n, 0);

    /* the statement: kept for good, the base becomes the kept head, and
     * one rewind.recorded event names A and both sizes */
    assert_int_equal(ent_witness_rewind(f->nb.store, 1, rec, len, apk, &out),
                     ENT_OK);
    assert_int_equal(out, ENT_WITNESS_REWOUND);
    assert_int_equal(kept_size(&f->nb, apk), 6);
    struct kind_events ev = rewind_events(&f->nb);
    assert_int_equal(ev.n, 1);
    assert_memory_equal(ev.org, apk, 32);
    assert_int_equal(ev.base, 6);
    assert_int_equal(ev.lost, 11);
    assert_int_equal(ent_witness_rewind(f->nb.store, 1, rec, len, apk, &out),
                     ENT_OK);
    assert_int_equal(out, ENT_WITNESS_SAME);
    assert_int_equal(nrewinds(&f->nb), 1);
    assert_int_equal(rewind_events(&f->nb).n, 1); /* not raised twice */
    /* the regrown log, past the lost size, is consistent with the base */
    assert_int_equal(witness_head(&f->nb, &f->na2, f->a), ENT_WITNESS_KEPT);
    assert_int_equal(kept_size(&f->nb, apk), 16); /* with its checkpoint */
    assert_int_equal(nproofs(&f->nb), 0);
    /* an auditor: the lost head alone fails A's export, with the rewind
     * it is excused and the base is checked */
    uint8_t *exp = NULL;
    size_t elen = 0;
    ent_audit_result res;
    ent_rewind rw;
    assert_int_equal(ent_audit_export(f->na2.store, f->a, 1700000004000ULL,
                                      NULL, &exp, &elen),
                     ENT_OK);
    ent_audit_opts o = {.heads = &lost, .nheads = 1};
    assert_int_equal(ent_audit_verify_ex(exp, elen, &o, &res), ENT_ECORRUPT);
    assert_int_equal(ent_rewind_decode(&rw, rec, len), ENT_OK);
    o.rewinds = &rw;
    o.nrewinds = 1;
    assert_int_equal(ent_audit_verify_ex(exp, elen, &o, &res), ENT_OK);
    assert_int_equal(res.rewound, 1);
    assert_int_equal(res.nrewinds, 1);
    assert_int_equal(res.rewinds[0].base, 6);
    assert_int_equal(res.rewinds[0].lost, 11);
    /* a forged rewind is no excuse */
    rw.sig[0] ^= 1;
    assert_int_equal(ent_audit_verify_ex(exp, elen, &o, &res), ENT_EBADSIG);
    free(exp);
    /* a rewind whose base is not a prefix of the exported log fails */
    exp = NULL;
    assert_int_equal(ent_audit_export(f->na.store, f->a, 1700000004000ULL,
                                      NULL, &exp, &elen),
                     ENT_OK);
    ent_actlog_head b8 = prefix_head(&f->na2, f->a, 8);
    ent_actlog_head b15 = prefix_head(&f->na2, f->a, 15);
    bl = craft(f->a, apk, &b8, &b15, bad);
    assert_int_equal(ent_rewind_decode(&rw, bad, bl), ENT_OK);
    o.heads = NULL;
    o.nheads = 0;
    assert_int_equal(ent_audit_verify_ex(exp, elen, &o, &res), ENT_ECORRUPT);
    free(exp);

    /* the lost log, grown on, shown again: a fork of the kept head, proven */
    append(&f->na, f->a, 9, 0xaa);
    assert_int_equal(witness_head(&f->nb, &f->na, f->a),
                     ENT_WITNESS_EQUIVOCATION);
    assert_int_equal(nproofs(&f->nb), 1);
    /* and a rewind never covers a proven equivocation */
    ent_actlog_head b16 = prefix_head(&f->na2, f->a, 16); /* the kept one */
    assert_int_equal(ent_rewind_sign(f->a, &base, &b16, 1700000005000ULL, rec,
                                     sizeof(rec), &len),
                     ENT_OK);
    assert_int_equal(ent_witness_rewind(f->nb.store, 1, rec, len, apk, &out),
                     ENT_EDENIED);
    assert_int_equal(kept_size(&f->nb, apk), 16);
    assert_int_equal(nrewinds(&f->nb), 1);
    assert_int_equal(nproofs(&f->nb), 1);
}

/* At most ENT_WITNESS_MAX_REWINDS rewinds per org. */
static void test_rewind_bound(void **state) {
    struct fx *f = *state;
    const uint8_t *apk = ent_identity_public(f->a);
    uint8_t rec[ENT_REWIND_MAX];
    size_t len = 0;
    int out = -1;
    append(&f->na, f->a, 3, 0xaa);
    assert_int_equal(witness_head(&f->nb, &f->na, f->a), ENT_WITNESS_KEPT);
    append(&f->na, f->a, 3, 0xaa);
    for (uint64_t i = 0; i <= ENT_WITNESS_MAX_REWINDS; i++) {
        assert_int_equal(witness_head(&f->nb, &f->na, f->a),
                         ENT_WITNESS_KEPT);
        ent_actlog_head b = prefix_head(&f->na, f->a, 4);
        struct kept k = {apk, {{0}, 0, {0}, 0, {0}}, 0};
        assert_int_equal(ent_store_read(f->nb.store, kept_fn, &k), ENT_OK);
        assert_int_equal(ent_rewind_sign(f->a, &b, &k.h, 1700000003000ULL + i,
                                         rec, sizeof(rec), &len),
                         ENT_OK);
        int rc = ent_witness_rewind(f->nb.store, 1, rec, len, apk, &out);
        assert_int_equal(rc, i < ENT_WITNESS_MAX_REWINDS ? ENT_OK : ENT_ELIMIT);
    }
    assert_int_equal(nrewinds(&f->nb), ENT_WITNESS_MAX_REWINDS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_heads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewind_bound, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
