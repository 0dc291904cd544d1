/*
 * audit_test.c - export and offline verification of the activity log
 * (node/audit/audit.h).
 *
 * A log is built the way the node builds it: ops sealed and stored in the
 * ops tables, entries appended in the same write transactions. Then:
 * the export (version 2, unsigned entries) verifies; at least 10,000
 * random mutations of it (bit flips, deleted, inserted and changed bytes,
 * truncations) are ALL rejected; a changed entry is named; structural
 * changes that the org itself re-signs (swapped or dropped entries,
 * reordered, dropped, duplicated or foreign ops, a changed scope) are
 * rejected by the inner checks; version-1 exports and entries are refused;
 * an op whose signature is broken passes only when a signed later op of
 * its author and object names it as a parent; partial (--since) and
 * per-object exports verify; and a history rewritten after a head was
 * signed is caught, both with the auditor's older head and through the
 * consistency proof of an earlier head.
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
#include "node/audit/actlog.h"
#include "node/audit/audit.h"
#include "node/audit/directory.h"
#include "node/err.h"
#include "protocol/cbor.h"
#include "protocol/op.h"
#include "storage/store.h"
#include "tests/object_fixture.h"
#include "storage/op_index.h"

#define MUTATIONS 10000

typedef struct tlog {
    char dir[64];
    ent_store *store;
    ent_identity *id; /* the org */
    ent_identity *b;  /* a partner */
    uint64_t seq;
    uint64_t now;
    uint8_t obj1[32], obj2[32];
    ent_op *spare; /* a valid op that the log never refers to */
} tlog;

static void tlog_close(tlog *t) {
    ent_store_close(t->store);
    ent_identity_free(t->id);
    ent_identity_free(t->b);
    ent_op_free(t->spare);
    rm_tree(t->dir);
    free(t);
}

static tlog *tlog_open(uint8_t seed_byte) {
    tlog *t = calloc(1, sizeof(*t));
    uint8_t seed[ENT_SIG_SEED_LEN];
    assert_int_equal(ent_crypto_init(), ENT_OK);
    assert_int_equal(tmp_store(&t->store, t->dir, sizeof(t->dir), "audit", NULL),
                     ENT_OK);
    memset(seed, seed_byte, sizeof(seed));
    assert_int_equal(ent_identity_from_seed(&t->id, seed), ENT_OK);
    memset(seed, 0x42, sizeof(seed));
    assert_int_equal(ent_identity_from_seed(&t->b, seed), ENT_OK);
    t->now = 1700000000000ULL;
    return t;
}

/* An op by `by` in obj (NULL: a create), naming np parents. */
static ent_op *mk_op_p(tlog *t, const ent_identity *by, const uint8_t *obj,
                       uint8_t kind, const char *body,
                       const uint8_t (*parents)[32], size_t np) {
    ent_op_header h;
    uint8_t key[ENT_KEY_LEN];
    ent_op *op = NULL;
    memset(&h, 0, sizeof(h));
    h.version = ENT_OP_VERSION;
    h.genesis = kind == ENT_OP_CREATE;
    if (!h.genesis)
        memcpy(h.object, obj, 32);
    memcpy(h.author, ent_identity_public(by), 32);
    h.seq = ++t->seq;
    h.hlc = (t->now << 16) | (t->seq & 0xffff);
    h.kind = kind;
    for (size_t i = 0; i < np; i++)
        memcpy(h.parents[i], parents[i], 32);
    h.nparents = np;
    ent_random(key, sizeof(key));
    assert_int_equal(ent_op_seal(&op, &h, (const uint8_t *)body, strlen(body),
                                 key, by),
                     ENT_OK);
    return op;
}

static ent_op *mk_op(tlog *t, const ent_identity *by, const uint8_t *obj,
                     uint8_t kind, const char *body) {
    return mk_op_p(t, by, obj, kind, body, NULL, 0);
}

/* A copy of op with one byte of its signature changed: it still decodes
 * (with another id) but its own signature no longer verifies. Frees op. */
static ent_op *break_sig(ent_op *op) {
    ent_op *bad = NULL;
    op->raw[op->rawlen - 1] ^= 0x01; /* the last byte of the signature */
    assert_int_equal(ent_op_decode(&bad, op->raw, op->rawlen), ENT_OK);
    assert_int_equal(ent_op_verify(bad), ENT_EBADSIG);
    ent_op_free(op);
    return bad;
}

struct change {
    tlog *t;
    ent_op *op; /* stored and logged; NULL: entry only */
    ent_actlog_entry e[3];
    size_t ne;
};

static int change_fn(ent_txn *txn, void *data) {
    struct change *c = data;
    int rc;
    if (c->op != NULL) {
        uint8_t okey[72];
        const uint8_t *obj = c->op->h.genesis ? c->op->id : c->op->h.object;
        memcpy(okey, obj, 32);
        memcpy(okey + 32, c->op->h.author, 32);
        for (int i = 0; i < 8; i++)
            okey[64 + i] = (uint8_t)(c->op->h.seq >> (56 - 8 * i));
        if ((rc = ent_txn_put(txn, ENT_TBL_OPS, okey, 72, c->op->raw,
                              c->op->rawlen, 0)) != ENT_OK ||
            (rc = ent_op_index_put(txn, c->op->id, okey, 72)) != ENT_OK)
            return rc;
    }
    for (size_t i = 0; i < c->ne; i++)
        if ((rc = ent_actlog_append(txn, &c->e[i], NULL)) != ENT_OK)
            return rc;
    return ENT_OK;
}

/* One change: op (may be NULL) stored with entries of the given kinds. */
static void log_change(tlog *t, ent_op *op, const uint8_t *kinds, size_t n,
                       const uint8_t *org, const char *reason) {
    struct change c = {.t = t, .op = op, .ne = n};
    for (size_t i = 0; i < n; i++) {
        ent_actlog_entry *e = &c.e[i];
        memset(e, 0, sizeof(*e));
        e->time = ++t->now;
        e->kind = kinds[i];
        if (op != NULL) {
            e->has_op = e->has_object = true;
            memcpy(e->op, op->id, 32);
            memcpy(e->object, op->h.genesis ? op->id : op->h.object, 32);
        }
        const uint8_t *who = org;
        if (op != NULL && (kinds[i] == ENT_LOG_OP_AUTHORED ||
                           kinds[i] == ENT_LOG_OP_ACCEPTED))
            who = op->h.author;
        if (who != NULL) {
            e->has_org = true;
            memcpy(e->org, who, 32);
        }
        if (reason != NULL) {
            e->reason_len = strlen(reason);
            memcpy(e->reason, reason, e->reason_len);
        }
    }
    assert_int_equal(ent_store_write(t->store, change_fn, &c), ENT_OK);
}

static void one(tlog *t, ent_op *op, uint8_t kind) {
    log_change(t, op, &kind, 1, NULL, NULL);
    ent_op_free(op);
}

/* Builds a log of 16 entries referring to 11 ops over two objects. */
static void build_log(tlog *t, const char *tag) {
    ent_op *op = mk_op(t, t->id, NULL, ENT_OP_CREATE, tag);
    memcpy(t->obj1, op->id, 32);
    one(t, op, ENT_LOG_OP_AUTHORED);
    for (int i = 0; i < 3; i++)
        one(t, mk_op(t, t->id, t->obj1, ENT_OP_SET, "set"),
            ENT_LOG_OP_AUTHORED);
    uint8_t k2[2] = {ENT_LOG_OP_AUTHORED, ENT_LOG_MEMBER_ADDED};
    op = mk_op(t, t->id, t->obj1, ENT_OP_ADD_MEMBER, "add b");
    log_change(t, op, k2, 2, ent_identity_public(t->b), NULL);
    ent_op_free(op);
    one(t, mk_op(t, t->b, t->obj1, ENT_OP_SET, "b sets"),
        ENT_LOG_OP_ACCEPTED);
    op = mk_op(t, t->id, NULL, ENT_OP_CREATE, "second");
    memcpy(t->obj2, op->id, 32);
    one(t, op, ENT_LOG_OP_AUTHORED);
    uint8_t kr = ENT_LOG_OP_REJECTED;
    log_change(t, NULL, &kr, 1, ent_identity_public(t->b),
               "signature does not verify");
    one(t, mk_op(t, t->id, t->obj2, ENT_OP_SET, "s2"), ENT_LOG_OP_AUTHORED);
    one(t, mk_op(t, t->id, t->obj2, ENT_OP_COMMENT, "c2"),
        ENT_LOG_OP_AUTHORED);
    uint8_t k3[3] = {ENT_LOG_OP_AUTHORED, ENT_LOG_MEMBER_REMOVED,
                     ENT_LOG_KEY_ROTATED};
    op = mk_op(t, t->id, t->obj1, ENT_OP_REMOVE_MEMBER, "rm b");
    log_change(t, op, k3, 3, ent_identity_public(t->b), NULL);
    ent_op_free(op);
    one(t, mk_op(t, t->id, t->obj1, ENT_OP_STAGE, "won"),
        ENT_LOG_OP_AUTHORED);
    uint8_t ki = ENT_LOG_INVITE_ISSUED;
    log_change(t, NULL, &ki, 1, NULL, NULL);
    t->spare = mk_op(t, t->id, t->obj2, ENT_OP_SET, "never logged");
}

static void export(tlog *t, const ent_audit_filter *f, uint8_t **buf,
                   size_t *len) {
    assert_int_equal(ent_audit_export(t->store, t->id, ++t->now, f, buf, len),
                     ENT_OK);
}

static int verify(const uint8_t *buf, size_t len, ent_audit_result *res) {
    return ent_audit_verify(buf, len, NULL, res);
}

/* ------------------------------------------------------------ re-signing */

/* The export taken apart: the 13 unsigned items, and the elements of the
 * seven section arrays (items 6..12). */
typedef struct span {
    const uint8_t *p;
    size_t n;
} span;

#define UNSIGNED_ITEMS 13
#define MAX_EL 128

typedef struct parts {
    span top[UNSIGNED_ITEMS];
    span el[UNSIGNED_ITEMS][MAX_EL];
    size_t nel[UNSIGNED_ITEMS];
} parts;

static void split(const uint8_t *buf, size_t len, parts *p) {
    ent_cbor_reader r;
    size_t n;
    memset(p, 0, sizeof(*p));
    ent_cbor_reader_init(&r, buf, len);
    assert_int_equal(ent_cbor_read_array(&r, &n), ENT_OK);
    assert_int_equal(n, UNSIGNED_ITEMS + 1);
    for (int i = 0; i < UNSIGNED_ITEMS; i++) {
        size_t s = r.pos;
        if (i >= 6) {
            ent_cbor_reader q = r;
            assert_int_equal(ent_cbor_read_array(&q, &n), ENT_OK);
            assert_true(n <= MAX_EL);
            p->nel[i] = n;
            for (size_t k = 0; k < n; k++) {
                size_t e = q.pos;
                assert_int_equal(ent_cbor_skip(&q), ENT_OK);
                p->el[i][k] = (span){buf + e, q.pos - e};
            }
        }
        assert_int_equal(ent_cbor_skip(&r), ENT_OK);
        p->top[i] = (span){buf + s, r.pos - s};
    }
}

/* Reassembles p (sections from el) and signs it with id, as the org would. */
static void join(const parts *p, const ent_identity *id, uint8_t **out,
                 size_t *len) {
    size_t cap = 1 << 20;
    uint8_t *b = malloc(cap);
    ent_cbor_writer w;
    ent_cbor_writer_init(&w, b, cap);
    ent_cbor_write_array(&w, UNSIGNED_ITEMS);
    for (int i = 0; i < UNSIGNED_ITEMS; i++) {
        if (i < 6) {
            ent_cbor_write_raw(&w, p->top[i].p, p->top[i].n);
            continue;
        }
        ent_cbor_write_array(&w, p->nel[i]);
        for (size_t k = 0; k < p->nel[i]; k++)
            ent_cbor_write_raw(&w, p->el[i][k].p, p->el[i][k].n);
    }
    assert_int_equal(w.err, ENT_OK);
    uint8_t sig[64];
    assert_int_equal(
        ent_identity_sign(id, ENT_SIGCTX_TREE_HEAD, b, w.len, sig), ENT_OK);
    b[0] = 0x80 | (UNSIGNED_ITEMS + 1);
    b[w.len] = 0x58;
    b[w.len + 1] = 64;
    memcpy(b + w.len + 2, sig, 64);
    *out = b;
    *len = w.len + 66;
}

/* Removes element k of section sec. */
static void drop_el(parts *p, int sec, size_t k) {
    memmove(&p->el[sec][k], &p->el[sec][k + 1],
            (p->nel[sec] - k - 1) * sizeof(span));
    p->nel[sec]--;
}

enum {
    S_FRONTIER = 6,
    S_ENTRIES,
    S_PROOFS,
    S_HISTORY,
    S_WITNESS,
    S_OPS,
    S_DIR
};

/* A log of build_log(t, "one") with seed 7, exported whole into *buf
 * (malloc'ed) and split into *p. */
static tlog *tlog_split(uint8_t **buf, size_t *len, parts *p) {
    tlog *t = tlog_open(7);
    build_log(t, "one");
    export(t, NULL, buf, len);
    split(*buf, *len, p);
    return t;
}

/* The whole export of t verified: @return verify's code, *res its result. */
static int verify_whole(tlog *t, ent_audit_result *res) {
    uint8_t *buf;
    size_t len;
    export(t, NULL, &buf, &len);
    int rc = verify(buf, len, res);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ tests */

static void test_export_verify(void **state) {
    tlog *t = tlog_open(7);
    uint8_t *buf;
    size_t len;
    ent_audit_result res;
    build_log(t, "one");
    export(t, NULL, &buf, &len);
    assert_int_equal(verify(buf, len, &res), ENT_OK);
    assert_true(res.ok);
    /* the 16 entries and the checkpoint the export's head ends in */
    assert_int_equal(res.entries, 17);
    assert_int_equal(res.tree_size, 17);
    assert_int_equal(res.ops, 11);
    assert_int_equal(res.heads, 1);
    assert_memory_equal(res.org, ent_identity_public(t->id), 32);
    assert_string_equal(res.reason, "");
    /* --org */
    assert_int_equal(ent_audit_verify(buf, len, ent_identity_public(t->id),
                                      &res),
                     ENT_OK);
    assert_int_equal(ent_audit_verify(buf, len, ent_identity_public(t->b),
                                      &res),
                     ENT_EDENIED);
    assert_false(res.ok);
    free(buf);
    tlog_close(t);
}

/* Every random mutation of the export fails verification. */
static void test_random_mutations(void **state) {
    tlog *t = tlog_open(7);
    uint8_t *buf, *m;
    size_t len;
    ent_audit_result res;
    uint64_t rng = 0x9e3779b97f4a7c15ULL, failed = 0;
    size_t kinds[5] = {0};
    build_log(t, "one");
    export(t, NULL, &buf, &len);
    m = malloc(len + 16);
    for (int i = 0; i < MUTATIONS; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        size_t pos = (size_t)(rng >> 8) % len, mlen = len;
        int kind = (int)(rng % 5);
        memcpy(m, buf, len);
        switch (kind) {
        case 0: /* one bit */
            m[pos] ^= (uint8_t)(1u << ((rng >> 40) & 7));
            break;
        case 1: /* delete a byte */
            memmove(m + pos, m + pos + 1, len - pos - 1);
            mlen--;
            break;
        case 2: /* insert a byte */
            memmove(m + pos + 1, m + pos, len - pos);
            m[pos] = (uint8_t)(rng >> 32);
            mlen++;
            break;
        case 3: /* truncate */
            mlen = pos;
            break;
        default: /* replace a byte with a different one */
            m[pos] ^= (uint8_t)(1 + ((rng >> 32) % 255));
            break;
        }
        kinds[kind]++;
        int rc = verify(m, mlen, &res);
        if (rc != ENT_OK && !res.ok)
            failed++;
        else
            fail_msg("mutation %d (kind %d at %zu) verified", i, kind, pos);
    }
    printf("audit: %llu of %d random mutations rejected (flip %zu, delete "
           "%zu, insert %zu, truncate %zu, change %zu)\n",
           (unsigned long long)failed, MUTATIONS, kinds[0], kinds[1],
           kinds[2], kinds[3], kinds[4]);
    assert_int_equal(failed, MUTATIONS);
    free(m);
    free(buf);
    tlog_close(t);
}

/* With the byte at off of the export flipped, verification fails naming
 * entry idx, with what in its reason; the byte is then restored. */
static void flip_names(uint8_t *buf, size_t len, size_t off, uint64_t idx,
                       const char *what) {
    ent_audit_result res;
    buf[off] ^= 1;
    assert_int_equal(verify(buf, len, &res), ENT_ECORRUPT);
    assert_true(res.has_fail_index);
    assert_int_equal(res.fail_index, idx);
    assert_non_null(strstr(res.reason, what));
    buf[off] ^= 1;
}

/* A flipped byte inside an entry names that entry. */
static void test_failure_names_entry(void **state) {
    uint8_t *buf;
    size_t len;
    parts p;
    tlog *t = tlog_split(&buf, &len, &p);
    /* the time field of entry 5 (third item: after 0x8b, 0x03, 0x05):
     * entries are not signed, so this is found through the prev of entry
     * 6, and entry 5 (not 6) is named */
    assert_int_equal(p.el[S_ENTRIES][5].p[0], 0x8b);
    assert_int_equal(p.el[S_ENTRIES][5].p[1], 0x03);
    size_t off = (size_t)(p.el[S_ENTRIES][5].p - buf) + 4;
    flip_names(buf, len, off, 5, "entry 5");
    /* a changed prev of entry 5 (the last byte before oprev and dir):
     * entry 5 itself is named (entry 6 does not link to it either) */
    size_t poff = (size_t)(p.el[S_ENTRIES][5].p - buf) +
                  p.el[S_ENTRIES][5].n - 3;
    flip_names(buf, len, poff, 5, "entry 5: broken hash chain");
    /* a nonzero prev in entry 0 names entry 0 */
    poff = (size_t)(p.el[S_ENTRIES][0].p - buf) + p.el[S_ENTRIES][0].n - 3;
    flip_names(buf, len, poff, 0, "entry 0: broken hash chain");
    /* the last entry (the checkpoint), which no prev covers: the signed
     * root names it */
    off = (size_t)(p.el[S_ENTRIES][16].p - buf) + 4;
    flip_names(buf, len, off, 16, "signed root");
    ent_audit_result res;
    assert_int_equal(verify(buf, len, &res), ENT_OK);
    free(buf);
    tlog_close(t);
}

/* Export version 1 (whose entries were signed) is refused as such, and so
 * are version-1 entries inside a version-3 export. */
static void test_old_versions_refused(void **state) {
    uint8_t *buf, *b;
    size_t len, n;
    ent_audit_result res;
    parts p, q;
    tlog *t = tlog_split(&buf, &len, &p);
    assert_int_equal(p.top[1].n, 1);
    assert_int_equal(p.top[1].p[0], 0x03); /* export version 3 */
    q = p;
    uint8_t v1 = 0x01;
    q.top[1] = (span){&v1, 1};
    join(&q, t->id, &b, &n);
    assert_int_equal(verify(b, n, &res), ENT_EVERSION);
    assert_non_null(strstr(res.reason, "version 1"));
    assert_non_null(strstr(res.reason, "not supported"));
    free(b);
    /* entry 0 in the old shape: version 1, ten items, a signature (its
     * first nine items, without oprev 0x00 and the empty dir 0x40) */
    uint8_t old[ENT_ACTLOG_ENTRY_MAX + 80];
    const span *e0 = &p.el[S_ENTRIES][0];
    size_t n9 = e0->n - 2;
    assert_int_equal(e0->p[n9], 0x00);
    assert_int_equal(e0->p[n9 + 1], 0x40);
    assert_true(n9 + 66 <= sizeof(old));
    memcpy(old, e0->p, n9);
    old[0] = 0x8a;
    old[1] = 0x01;
    old[n9] = 0x58;
    old[n9 + 1] = 64;
    memset(old + n9 + 2, 0x77, 64);
    q = p;
    q.el[S_ENTRIES][0] = (span){old, n9 + 66};
    join(&q, t->id, &b, &n);
    assert_int_equal(verify(b, n, &res), ENT_EVERSION);
    assert_int_equal(res.fail_index, 0);
    free(b);
    free(buf);
    tlog_close(t);
}

/*
 * A forged op of t's own on obj1 (its signature broken), then an op text
 * that names it as a parent but cannot vouch for it: by another author
 * (logged as accepted), on another object, or itself broken. The export is
 * refused at the forged op's entry.
 */
static void not_vouched(bool other_author, bool other_object, bool broken,
                        const char *text) {
    ent_audit_result res;
    uint8_t par[1][32];
    tlog *t = tlog_open(7);
    build_log(t, "one");
    ent_op *old = break_sig(mk_op(t, t->id, t->obj1, ENT_OP_SET, "forged"));
    memcpy(par[0], old->id, 32);
    ent_op *top = mk_op_p(t, other_author ? t->b : t->id,
                          other_object ? t->obj2 : t->obj1, ENT_OP_SET, text,
                          par, 1);
    if (broken)
        top = break_sig(top);
    one(t, old, ENT_LOG_OP_AUTHORED);
    one(t, top, other_author ? ENT_LOG_OP_ACCEPTED : ENT_LOG_OP_AUTHORED);
    assert_int_equal(verify_whole(t, &res), ENT_EBADSIG);
    assert_int_equal(res.fail_index, 16);
    tlog_close(t);
}

/* Ops are authenticated as a set (ent_op_authenticate): an op whose own
 * signature is broken passes when a correctly signed later op of the same
 * author and object names it as a parent, and fails otherwise. */
static void test_vouched_ops(void **state) {
    ent_audit_result res;
    uint8_t *buf;
    size_t len;
    uint8_t par[1][32];

    /* vouched: old op with a broken signature, named by a signed newer op
     * of the same author and object */
    tlog *t = tlog_open(7);
    build_log(t, "one");
    ent_op *old = break_sig(mk_op(t, t->id, t->obj1, ENT_OP_SET, "older"));
    memcpy(par[0], old->id, 32);
    ent_op *mid = mk_op_p(t, t->id, t->obj1, ENT_OP_SET, "newer", par, 1);
    memcpy(par[0], mid->id, 32);
    ent_op *top = mk_op_p(t, t->id, t->obj1, ENT_OP_COMMENT, "newest", par, 1);
    assert_int_equal(ent_op_verify(mid), ENT_OK);
    one(t, old, ENT_LOG_OP_AUTHORED);
    one(t, mid, ENT_LOG_OP_AUTHORED);
    one(t, top, ENT_LOG_OP_AUTHORED);
    if (verify_whole(t, &res) != ENT_OK)
        fail_msg("vouched op refused: %s", res.reason);
    assert_int_equal(res.ops, 14);
    assert_int_equal(res.entries, 20);
    tlog_close(t);

    /* a whole vouched chain: only the newest op's signature is valid */
    t = tlog_open(7);
    build_log(t, "one");
    old = break_sig(mk_op(t, t->id, t->obj2, ENT_OP_SET, "a"));
    memcpy(par[0], old->id, 32);
    mid = break_sig(mk_op_p(t, t->id, t->obj2, ENT_OP_SET, "b", par, 1));
    memcpy(par[0], mid->id, 32);
    top = mk_op_p(t, t->id, t->obj2, ENT_OP_SET, "c", par, 1);
    one(t, old, ENT_LOG_OP_AUTHORED);
    one(t, mid, ENT_LOG_OP_AUTHORED);
    one(t, top, ENT_LOG_OP_AUTHORED);
    if (verify_whole(t, &res) != ENT_OK)
        fail_msg("vouched chain refused: %s", res.reason);
    /* and so does the object export of obj2 */
    ent_audit_filter f = {.object = t->obj2};
    export(t, &f, &buf, &len);
    if (verify(buf, len, &res) != ENT_OK)
        fail_msg("vouched chain refused (object export): %s", res.reason);
    free(buf);
    tlog_close(t);

    /* forged: a broken signature that nothing vouches for */
    t = tlog_open(7);
    build_log(t, "one");
    old = break_sig(mk_op(t, t->id, t->obj1, ENT_OP_SET, "forged"));
    one(t, old, ENT_LOG_OP_AUTHORED);
    assert_int_equal(verify_whole(t, &res), ENT_EBADSIG);
    assert_false(res.ok);
    assert_true(res.has_fail_index);
    assert_int_equal(res.fail_index, 16);
    assert_non_null(strstr(res.reason, "entry 16: op"));
    tlog_close(t);

    /* named as a parent by another author's op: proves nothing */
    not_vouched(true, false, false, "b names it");
    /* named by a same-author op of another object: proves nothing */
    not_vouched(false, true, false, "other object");
    /* named by a newer op whose own signature is broken too */
    not_vouched(false, false, true, "bad");
}

static void expect_fail(tlog *t, const parts *p, const char *what) {
    uint8_t *b;
    size_t n;
    ent_audit_result res;
    join(p, t->id, &b, &n);
    int rc = verify(b, n, &res);
    if (rc == ENT_OK || res.ok)
        fail_msg("re-signed export with %s verified", what);
    print_message("  %-28s -> %s\n", what, res.reason);
    free(b);
}

/* Changes that the org re-signs are still caught by the inner checks. */
static void test_resigned_structure(void **state) {
    uint8_t *buf, *b;
    size_t len, n;
    ent_audit_result res;
    parts p, q;
    tlog *t = tlog_split(&buf, &len, &p);
    /* the re-assembly itself is faithful */
    join(&p, t->id, &b, &n);
    assert_int_equal(verify(b, n, &res), ENT_OK);
    assert_int_equal(n, len);
    assert_memory_equal(b, buf, len);
    free(b);

    q = p; /* swap two entries */
    q.el[S_ENTRIES][3] = p.el[S_ENTRIES][4];
    q.el[S_ENTRIES][4] = p.el[S_ENTRIES][3];
    expect_fail(t, &q, "swapped entries");
    q = p; /* drop an entry in the middle */
    memmove(&q.el[S_ENTRIES][7], &q.el[S_ENTRIES][8], 8 * sizeof(span));
    q.nel[S_ENTRIES]--;
    expect_fail(t, &q, "dropped entry");
    q = p; /* drop the last entry */
    q.nel[S_ENTRIES]--;
    expect_fail(t, &q, "dropped last entry");
    q = p; /* duplicate an entry */
    q.el[S_ENTRIES][q.nel[S_ENTRIES]++] = p.el[S_ENTRIES][16];
    expect_fail(t, &q, "duplicated entry");
    q = p; /* reorder ops */
    q.el[S_OPS][0] = p.el[S_OPS][1];
    q.el[S_OPS][1] = p.el[S_OPS][0];
    expect_fail(t, &q, "reordered ops");
    q = p; /* drop an op */
    q.nel[S_OPS]--;
    expect_fail(t, &q, "dropped op");
    q = p; /* duplicate an op */
    q.el[S_OPS][q.nel[S_OPS]++] = p.el[S_OPS][10];
    expect_fail(t, &q, "duplicated op");
    q = p; /* add a valid op that no entry refers to */
    q.el[S_OPS][q.nel[S_OPS]++] = (span){t->spare->raw, t->spare->rawlen};
    expect_fail(t, &q, "unreferenced op");
    q = p; /* replace an op by another valid op */
    q.el[S_OPS][4] = (span){t->spare->raw, t->spare->rawlen};
    expect_fail(t, &q, "replaced op");
    q = p; /* claim a partial scope over the full entries */
    uint8_t scope[3] = {0x82, 0x01, 0x40};
    q.top[4] = (span){scope, 3};
    expect_fail(t, &q, "changed scope");
    q = p; /* a witnessed head in version 1 */
    q.el[S_WITNESS][0] = p.top[5];
    q.nel[S_WITNESS] = 1;
    expect_fail(t, &q, "witness array not empty");
    q = p; /* an inclusion proof where none belongs */
    uint8_t proof[1] = {0x40};
    q.el[S_PROOFS][0] = (span){proof, 1};
    q.nel[S_PROOFS] = 1;
    expect_fail(t, &q, "stray proof");
    q = p; /* a directory record in a whole-log export */
    q.el[S_DIR][0] = (span){proof, 1};
    q.nel[S_DIR] = 1;
    expect_fail(t, &q, "stray directory record");
    free(buf);
    tlog_close(t);
}

struct hw {
    tlog *t;
    ent_actlog_head h;
};

static int sign_fn(ent_txn *txn, void *data) {
    struct hw *w = data;
    return ent_actlog_sign_head(txn, w->t->id, ++w->t->now, &w->h);
}

/* Earlier heads travel with consistency proofs; partial and per-object
 * exports verify; a rewritten history is caught. */
static void test_history_and_rewrite(void **state) {
    tlog *a = tlog_open(7), *b = tlog_open(7); /* same org identity */
    uint8_t *buf, *bb, *m;
    size_t len, blen, mlen;
    ent_audit_result res;
    struct hw wa = {.t = a}, wb = {.t = b};
    parts pa, pb;

    build_log(a, "history A");
    assert_int_equal(ent_store_write(a->store, sign_fn, &wa), ENT_OK);
    assert_int_equal(wa.h.size, 17); /* 16 entries and a checkpoint */
    /* A grows after its head was signed */
    one(a, mk_op(a, a->id, a->obj2, ENT_OP_SET, "more"), ENT_LOG_OP_AUTHORED);
    one(a, mk_op(a, a->b, a->obj2, ENT_OP_SET, "more b"),
        ENT_LOG_OP_ACCEPTED);
    export(a, NULL, &buf, &len);
    assert_int_equal(verify(buf, len, &res), ENT_OK);
    assert_int_equal(res.tree_size, 20);
    assert_int_equal(res.heads, 2); /* latest + the one of size 17 */
    /* the auditor's copy of the old head is consistent with it */
    ent_audit_opts o = {.heads = &wa.h, .nheads = 1};
    assert_int_equal(ent_audit_verify_ex(buf, len, &o, &res), ENT_OK);

    /* partial export: entries 5.. with the frontier of 5 leaves */
    ent_audit_filter f = {.since = 5};
    uint8_t *pbuf;
    size_t plen;
    export(a, &f, &pbuf, &plen);
    assert_int_equal(verify(pbuf, plen, &res), ENT_OK);
    assert_int_equal(res.since, 5);
    assert_int_equal(res.entries, 15);
    assert_int_equal(ent_audit_verify_ex(pbuf, plen, &o, &res), ENT_OK);
    parts pp;
    split(pbuf, plen, &pp);
    assert_int_equal(pp.nel[S_FRONTIER], 2); /* 5 = 4 + 1 */
    pp.el[S_FRONTIER][0] = pp.el[S_FRONTIER][1];
    expect_fail(a, &pp, "wrong frontier");
    free(pbuf);

    /* per-object export: inclusion proof per entry */
    f = (ent_audit_filter){.object = a->obj2};
    export(a, &f, &pbuf, &plen);
    assert_int_equal(verify(pbuf, plen, &res), ENT_OK);
    assert_true(res.has_object);
    assert_memory_equal(res.object, a->obj2, 32);
    assert_int_equal(res.entries, 5);
    assert_int_equal(res.ops, 5);
    split(pbuf, plen, &pp);
    assert_int_equal(pp.nel[S_PROOFS], 5);
    pp.el[S_PROOFS][2] = pp.el[S_PROOFS][3];
    expect_fail(a, &pp, "swapped inclusion proofs");
    for (size_t i = 0; i < 300; i++) {
        uint8_t *x = malloc(plen);
        memcpy(x, pbuf, plen);
        x[(i * 7919) % plen] ^= (uint8_t)(1u << (i % 8));
        assert_int_not_equal(verify(x, plen, &res), ENT_OK);
        free(x);
    }
    free(pbuf);

    /* B: the same org rewrites its history, 18 other entries */
    build_log(b, "history B");
    one(b, mk_op(b, b->id, b->obj2, ENT_OP_SET, "x"), ENT_LOG_OP_AUTHORED);
    one(b, mk_op(b, b->id, b->obj2, ENT_OP_SET, "y"), ENT_LOG_OP_AUTHORED);
    assert_int_equal(ent_store_write(b->store, sign_fn, &wb), ENT_OK);
    one(b, mk_op(b, b->id, b->obj2, ENT_OP_SET, "z"), ENT_LOG_OP_AUTHORED);
    export(b, NULL, &bb, &blen);
    /* alone it looks fine ... */
    assert_int_equal(verify(bb, blen, &res), ENT_OK);
    /* ... but not to an auditor holding A's head of size 17 */
    assert_int_equal(ent_audit_verify_ex(bb, blen, &o, &res), ENT_ECORRUPT);
    assert_non_null(strstr(res.reason, "rewritten"));
    /* nor with A's latest head (size 20 < 21) */
    ent_audit_result ra;
    assert_int_equal(verify(buf, len, &ra), ENT_OK);
    split(buf, len, &pa);
    ent_actlog_head ha20;
    assert_int_equal(ent_actlog_head_decode(&ha20, pa.top[5].p, pa.top[5].n),
                     ENT_OK);
    o.heads = &ha20;
    assert_int_equal(ent_audit_verify_ex(bb, blen, &o, &res), ENT_ECORRUPT);
    /* a head of a larger size than the export: truncated log */
    ent_actlog_head hb21;
    split(bb, blen, &pb);
    assert_int_equal(ent_actlog_head_decode(&hb21, pb.top[5].p, pb.top[5].n),
                     ENT_OK);
    o.heads = &hb21;
    assert_int_equal(ent_audit_verify_ex(buf, len, &o, &res), ENT_ECORRUPT);
    assert_non_null(strstr(res.reason, "truncated"));

    /* B's export carrying A's older head with B's consistency proof: the
     * consistency check fails even though the org re-signed everything */
    assert_int_equal(pb.nel[S_HISTORY], 1);
    uint8_t hist[512];
    size_t hl = 0;
    ent_cbor_writer w;
    ent_cbor_reader r;
    size_t k;
    const uint8_t *proof;
    size_t prooflen;
    ent_cbor_reader_init(&r, pb.el[S_HISTORY][0].p, pb.el[S_HISTORY][0].n);
    assert_int_equal(ent_cbor_read_array(&r, &k), ENT_OK);
    assert_int_equal(ent_cbor_skip(&r), ENT_OK);
    assert_int_equal(ent_cbor_read_bytes(&r, &proof, &prooflen), ENT_OK);
    uint8_t hbuf[ENT_ACTLOG_HEAD_MAX];
    ent_actlog_head ha = wa.h;
    ha.size = wb.h.size; /* re-sign A's root at B's size: a forged head */
    uint8_t sb[ENT_ACTLOG_HEAD_MAX];
    size_t sbn;
    assert_int_equal(ent_actlog_head_encode(&ha, false, sb, sizeof(sb), &sbn),
                     ENT_OK);
    assert_int_equal(
        ent_identity_sign(a->id, ENT_SIGCTX_TREE_HEAD, sb, sbn, ha.sig),
        ENT_OK);
    size_t hn;
    assert_int_equal(ent_actlog_head_encode(&ha, true, hbuf, sizeof(hbuf), &hn),
                     ENT_OK);
    ent_cbor_writer_init(&w, hist, sizeof(hist));
    ent_cbor_write_array(&w, 2);
    ent_cbor_write_raw(&w, hbuf, hn);
    ent_cbor_write_bytes(&w, proof, prooflen);
    assert_int_equal(w.err, ENT_OK);
    hl = w.len;
    parts pq = pb;
    pq.el[S_HISTORY][0] = (span){hist, hl};
    join(&pq, b->id, &m, &mlen);
    assert_int_equal(verify(m, mlen, &res), ENT_ECORRUPT);
    assert_non_null(strstr(res.reason, "not consistent"));
    free(m);

    free(buf);
    free(bb);
    tlog_close(a);
    tlog_close(b);
}

/* ------------------------------------------------ object completeness */

/* Entry k of section S_ENTRIES, decoded. */
static ent_actlog_entry entry_of(const parts *p, size_t k) {
    ent_actlog_entry e;
    assert_int_equal(ent_actlog_entry_decode(&e, p->el[S_ENTRIES][k].p,
                                             p->el[S_ENTRIES][k].n),
                     ENT_OK);
    return e;
}

/* Drops exported entry k, its inclusion proof and, when no other exported
 * entry names it, its op: what an org that hides an entry would do. Every
 * remaining proof stays valid. Returns the dropped entry's index. */
static uint64_t hide_entry(parts *q, size_t k) {
    ent_actlog_entry e = entry_of(q, k);
    drop_el(q, S_ENTRIES, k);
    drop_el(q, S_PROOFS, k);
    bool named = false;
    for (size_t i = 0; i < q->nel[S_ENTRIES]; i++) {
        ent_actlog_entry o = entry_of(q, i);
        named = named || (o.has_op && e.has_op && memcmp(o.op, e.op, 32) == 0);
    }
    for (size_t i = 0; e.has_op && !named && i < q->nel[S_OPS]; i++) {
        uint8_t id[32];
        ent_hash(id, q->el[S_OPS][i].p, q->el[S_OPS][i].n);
        if (memcmp(id, e.op, 32) == 0) {
            drop_el(q, S_OPS, i);
            break;
        }
    }
    return e.index;
}

/* Re-signs q and expects verification (with the given heads) to fail with
 * rc, naming entry `idx` (UINT64_MAX: no entry) and saying `what`. */
static void expect_fail_at(tlog *t, const parts *q, const ent_actlog_head *hs,
                           size_t nh, int want_rc, uint64_t idx,
                           const char *what, const char *label) {
    uint8_t *b;
    size_t n;
    ent_audit_result res;
    ent_audit_opts o = {.heads = hs, .nheads = nh};
    join(q, t->id, &b, &n);
    int rc = ent_audit_verify_ex(b, n, &o, &res);
    print_message("  %-34s -> %s\n", label, res.reason);
    if (rc == ENT_OK || res.ok)
        fail_msg("%s: verified", label);
    assert_int_equal(rc, want_rc);
    if (idx != UINT64_MAX) {
        assert_true(res.has_fail_index);
        assert_int_equal(res.fail_index, idx);
    }
    if (strstr(res.reason, what) == NULL)
        fail_msg("%s: reason '%s' lacks '%s'", label, res.reason, what);
    free(b);
}

/* Re-signs q and expects it to verify (with the given heads). */
static void expect_ok(tlog *t, const parts *q, const ent_actlog_head *hs,
                      size_t nh, const char *label) {
    uint8_t *b;
    size_t n;
    ent_audit_result res;
    ent_audit_opts o = {.heads = hs, .nheads = nh};
    join(q, t->id, &b, &n);
    if (ent_audit_verify_ex(b, n, &o, &res) != ENT_OK)
        fail_msg("%s: %s", label, res.reason);
    free(b);
}

/*
 * The security fix: an object export holds every entry of its object up
 * to its signed head, or fails. The org drops one entry of the object
 * (and its op when no other entry names it), re-encodes and re-signs the
 * file, every remaining inclusion proof valid: whichever entry it is,
 * verification fails and names it (spec/audit.md §10). So do a dropped
 * tail, a dropped directory record, and a record proven for another
 * object. Before entries named their object's previous entry and heads
 * ended in a checkpoint, all of these verified.
 */
static void test_object_export_complete(void **state) {
    tlog *t = tlog_open(7);
    uint8_t *buf, *b2;
    size_t len, l2;
    ent_audit_result res;
    parts p, q, p2;
    build_log(t, "one");
    ent_audit_filter f = {.object = t->obj1};
    export(t, &f, &buf, &len);
    /* complete: it verifies, with every entry of obj1 (0-6 and 11-14) */
    if (verify(buf, len, &res) != ENT_OK)
        fail_msg("complete object export refused: %s", res.reason);
    assert_true(res.has_object);
    assert_int_equal(res.entries, 11);
    assert_int_equal(res.tree_size, 17);
    split(buf, len, &p);
    assert_int_equal(p.nel[S_ENTRIES], 11);
    assert_int_equal(p.nel[S_DIR], 1); /* the record at the head, 17 */
    assert_int_equal(p.nel[S_WITNESS], 0);
    expect_ok(t, &p, NULL, 0, "re-signed as is");
    /* any one entry dropped */
    for (size_t k = 0; k < p.nel[S_ENTRIES]; k++) {
        q = p;
        uint64_t idx = hide_entry(&q, k);
        char label[64];
        snprintf(label, sizeof(label), "entry %llu dropped",
                 (unsigned long long)idx);
        char what[64];
        snprintf(what, sizeof(what), "entry %llu is missing",
                 (unsigned long long)idx);
        expect_fail_at(t, &q, NULL, 0, ENT_ECORRUPT, idx, what, label);
    }
    /* the last three dropped: the record names the latest, 14 */
    q = p;
    for (int i = 0; i < 3; i++)
        hide_entry(&q, q.nel[S_ENTRIES] - 1);
    expect_fail_at(t, &q, NULL, 0, ENT_ECORRUPT, 14, "entry 14 is missing",
                   "tail of three dropped");
    /* the directory record dropped, with or without the last entry */
    q = p;
    drop_el(&q, S_DIR, 0);
    expect_fail_at(t, &q, NULL, 0, ENT_ECORRUPT, UINT64_MAX,
                   "no directory record", "record dropped");
    hide_entry(&q, q.nel[S_ENTRIES] - 1);
    expect_fail_at(t, &q, NULL, 0, ENT_ECORRUPT, UINT64_MAX,
                   "no directory record", "record and last entry dropped");
    /* obj2's record (a valid proof, of another leaf) in obj1's export */
    ent_audit_filter f2 = {.object = t->obj2};
    export(t, &f2, &b2, &l2);
    assert_int_equal(verify(b2, l2, &res), ENT_OK);
    assert_int_equal(res.entries, 3); /* 7, 9, 10 */
    split(b2, l2, &p2);
    q = p;
    q.el[S_DIR][0] = p2.el[S_DIR][0];
    expect_fail_at(t, &q, NULL, 0, ENT_ECORRUPT, 16,
                   "directory proof of the object does not verify",
                   "another object's record");
    /* an entry of another object slipped in: out of scope */
    q = p;
    q.el[S_ENTRIES][3] = p2.el[S_ENTRIES][1];
    expect_fail_at(t, &q, NULL, 0, ENT_ECORRUPT, 9, "out of scope",
                   "other object's entry");
    free(b2);
    free(buf);
    tlog_close(t);
}

/* The since bound of an object export: exactly the object's entries of
 * index >= since, the first one naming an earlier entry or none. */
static void test_object_export_since(void **state) {
    tlog *t = tlog_open(7);
    uint8_t *buf, *b;
    size_t len, n;
    ent_audit_result res;
    parts p, q;
    build_log(t, "one");
    ent_audit_filter f = {.object = t->obj1, .since = 5};
    export(t, &f, &buf, &len);
    if (verify(buf, len, &res) != ENT_OK)
        fail_msg("object export since 5 refused: %s", res.reason);
    assert_int_equal(res.since, 5);
    assert_int_equal(res.entries, 6); /* 5, 6, 11..14 */
    split(buf, len, &p);
    assert_int_equal(entry_of(&p, 0).oprev, 4); /* below since: fine */
    /* its first entry dropped: entry 6 names 5, which is in scope */
    q = p;
    hide_entry(&q, 0);
    expect_fail_at(t, &q, NULL, 0, ENT_ECORRUPT, 5, "entry 5 is missing",
                   "first in-scope entry dropped");
    /* the scope claimed from 0, or from 7, over the same entries */
    uint8_t scope[40];
    ent_cbor_writer w;
    ent_cbor_writer_init(&w, scope, sizeof(scope));
    ent_cbor_write_array(&w, 2);
    ent_cbor_write_uint(&w, 0);
    ent_cbor_write_bytes(&w, t->obj1, 32);
    q = p;
    q.top[4] = (span){scope, w.len};
    expect_fail_at(t, &q, NULL, 0, ENT_ECORRUPT, 4, "entry 4 is missing",
                   "since lowered to 0");
    scope[1] = 7;
    q = p;
    q.top[4] = (span){scope, w.len};
    expect_fail_at(t, &q, NULL, 0, ENT_ECORRUPT, 5, "out of scope",
                   "since raised to 7");
    scope[1] = 0x18; /* uint 100, beyond the head */
    memmove(scope + 3, scope + 2, 34);
    scope[2] = 100;
    q = p;
    q.top[4] = (span){scope, w.len + 1};
    expect_fail_at(t, &q, NULL, 0, ENT_ECORRUPT, UINT64_MAX,
                   "beyond the signed tree head", "since beyond the head");
    free(buf);
    /* since past the object's latest entry: none exported, and that is
     * complete (its record says the latest is 14) */
    f.since = 15;
    export(t, &f, &buf, &len);
    if (verify(buf, len, &res) != ENT_OK)
        fail_msg("empty object export refused: %s", res.reason);
    assert_int_equal(res.entries, 0);
    free(buf);
    /* beyond the head, or an object the log never named: no export */
    f.since = 99;
    assert_int_equal(ent_audit_export(t->store, t->id, ++t->now, &f, &b, &n),
                     ENT_EINVAL);
    uint8_t none[32];
    memset(none, 0x77, sizeof(none));
    f = (ent_audit_filter){.object = none};
    assert_int_equal(ent_audit_export(t->store, t->id, ++t->now, &f, &b, &n),
                     ENT_ENOENT);
    tlog_close(t);
}

/* An object export carries no equivocation proofs. */
static void test_object_export_no_equivocations(void **state) {
    tlog *t = tlog_open(7);
    uint8_t *buf;
    size_t len;
    parts p, q;
    build_log(t, "one");
    ent_audit_filter f = {.object = t->obj2};
    export(t, &f, &buf, &len);
    split(buf, len, &p);
    q = p;
    q.el[S_WITNESS][0] = p.top[5]; /* any item: its count alone fails */
    q.nel[S_WITNESS] = 1;
    expect_fail_at(t, &q, NULL, 0, ENT_ECORRUPT, UINT64_MAX,
                   "no equivocation proofs", "equivocation proof carried");
    free(buf);
    tlog_close(t);
}

/* ---- the org that forges its latest checkpoint --------------------------- */

typedef struct leaves {
    uint8_t (*h)[32];
    uint64_t n;
} leaves;

static int leaves_fn(ent_txn *txn, void *data) {
    leaves *l = data;
    for (uint64_t i = 0; i < l->n; i++) {
        const uint8_t *b;
        size_t len;
        int rc = ent_actlog_get(txn, i, &b, &len, l->h[i]);
        if (rc != ENT_OK)
            return rc;
    }
    return ENT_OK;
}

static int leaf_arr(void *data, uint64_t i, uint8_t out[32]) {
    memcpy(out, ((leaves *)data)->h[i], 32);
    return ENT_OK;
}

struct replay_skip {
    ent_dir *d;
    uint64_t skip, n;
};

static int replay_skip_fn(void *data, const ent_actlog_entry *e,
                          const uint8_t *raw, size_t len) {
    struct replay_skip *r = data;
    if (e->index >= r->n)
        return 1;
    if (e->has_object && e->index != r->skip)
        return ent_dir_note(r->d, e->object, e->index, NULL);
    return 0;
}

static int replay_skip_txn(ent_txn *txn, void *data) {
    return ent_actlog_foreach(txn, 0, replay_skip_fn, data);
}

/* A directory record [m, checkpoint, cproof, pos, last, dpath]. */
static size_t write_rec(uint8_t *out, size_t cap, uint64_t m,
                        const uint8_t *cp, size_t cplen,
                        const uint8_t (*cpath)[32], size_t cn, uint64_t pos,
                        uint64_t last, const uint8_t (*dpath)[32],
                        size_t dn) {
    ent_cbor_writer w;
    ent_cbor_writer_init(&w, out, cap);
    ent_cbor_write_array(&w, 6);
    ent_cbor_write_uint(&w, m);
    ent_cbor_write_raw(&w, cp, cplen);
    ent_cbor_write_bytes(&w, cpath, cn * 32);
    ent_cbor_write_uint(&w, pos);
    ent_cbor_write_uint(&w, last);
    ent_cbor_write_bytes(&w, dpath, dn * 32);
    assert_int_equal(w.err, ENT_OK);
    return w.len;
}

/*
 * Witnessed heads pin the object's history too. A partner keeps the
 * org's head of size 17, whose checkpoint lists entry 14 as obj1's
 * latest. Later the org hides entry 14: it re-signs an export whose new
 * latest checkpoint claims 13, with every root, proof and signature
 * redone. Alone, that export cannot be told from an honest one (the lie
 * is in the org's own signed log, where a whole-log audit finds it, test
 * below); against the witnessed head it fails, whether the org keeps the
 * record of size 17 (which names 14) or drops it. Heads of the org from
 * before the object existed need no record: its first entry is exported.
 */
static void test_object_export_witnessed(void **state) {
    tlog *t = tlog_open(7);
    uint8_t *buf;
    size_t len;
    ent_audit_result res;
    struct hw wa = {.t = t};
    parts p, q;
    build_log(t, "one");
    assert_int_equal(ent_store_write(t->store, sign_fn, &wa), ENT_OK);
    assert_int_equal(wa.h.size, 17); /* witnessed by a partner */
    one(t, mk_op(t, t->id, t->obj2, ENT_OP_SET, "later"),
        ENT_LOG_OP_AUTHORED);
    ent_op *c3 = mk_op(t, t->id, NULL, ENT_OP_CREATE, "third");
    uint8_t obj3[32];
    memcpy(obj3, c3->id, 32);
    one(t, c3, ENT_LOG_OP_AUTHORED); /* index 18 */
    ent_audit_filter f = {.object = t->obj1};
    export(t, &f, &buf, &len);
    ent_audit_opts o = {.heads = &wa.h, .nheads = 1};
    if (ent_audit_verify_ex(buf, len, &o, &res) != ENT_OK)
        fail_msg("witnessed object export refused: %s", res.reason);
    assert_int_equal(res.tree_size, 20);
    assert_int_equal(res.witnessed, 1);
    split(buf, len, &p);
    assert_int_equal(p.nel[S_HISTORY], 1);
    assert_int_equal(p.nel[S_DIR], 2); /* at 17 and at 20 */
    /* the record of size 17 dropped: fine alone, not with the head */
    q = p;
    drop_el(&q, S_DIR, 0);
    expect_ok(t, &q, NULL, 0, "history record dropped");
    expect_fail_at(t, &q, &wa.h, 1, ENT_ECORRUPT, UINT64_MAX,
                   "the given head of size 17", "history record dropped");

    /* the forgery: leaves of the real log, checkpoint 19 replaced */
    leaves lv = {calloc(20, 32), 20};
    assert_int_equal(ent_store_read(t->store, leaves_fn, &lv), ENT_OK);
    struct replay_skip rs = {NULL, 14, 19};
    assert_int_equal(ent_dir_new(&rs.d), ENT_OK);
    assert_int_equal(ent_store_read(t->store, replay_skip_txn, &rs), ENT_OK);
    const span *rec20 = &p.el[S_DIR][1];
    ent_cbor_reader r;
    size_t k;
    uint64_t m;
    const uint8_t *cpb;
    ent_cbor_reader_init(&r, rec20->p, rec20->n);
    assert_int_equal(ent_cbor_read_array(&r, &k), ENT_OK);
    assert_int_equal(ent_cbor_read_uint(&r, &m), ENT_OK);
    assert_int_equal(m, 20);
    size_t at = r.pos;
    assert_int_equal(ent_cbor_skip(&r), ENT_OK);
    cpb = rec20->p + at;
    ent_actlog_entry cp;
    assert_int_equal(ent_actlog_entry_decode(&cp, cpb, r.pos - at), ENT_OK);
    assert_int_equal(cp.kind, ENT_LOG_CHECKPOINT);
    ent_dir_root(rs.d, cp.dir_root); /* obj1's latest: 13 */
    uint8_t *fcp = NULL;
    size_t fcplen = 0;
    assert_int_equal(ent_actlog_entry_encode(&cp, &fcp, &fcplen), ENT_OK);
    ent_merkle_leaf_hash(lv.h[19], fcp, fcplen);
    ent_mtree *tree = NULL;
    assert_int_equal(ent_mtree_new(&tree), ENT_OK);
    for (uint64_t i = 0; i < 20; i++)
        assert_int_equal(ent_mtree_append(tree, lv.h[i]), ENT_OK);
    /* the new head, signed by the org */
    ent_actlog_head h;
    assert_int_equal(ent_actlog_head_decode(&h, p.top[5].p, p.top[5].n),
                     ENT_OK);
    ent_mtree_root(tree, 20, h.root);
    uint8_t hb[ENT_ACTLOG_HEAD_MAX];
    size_t hn;
    assert_int_equal(ent_actlog_head_encode(&h, false, hb, sizeof(hb), &hn),
                     ENT_OK);
    assert_int_equal(
        ent_identity_sign(t->id, ENT_SIGCTX_TREE_HEAD, hb, hn, h.sig), ENT_OK);
    assert_int_equal(ent_actlog_head_encode(&h, true, hb, sizeof(hb), &hn),
                     ENT_OK);
    q = p;
    q.top[5] = (span){hb, hn};
    hide_entry(&q, q.nel[S_ENTRIES] - 1); /* entry 14 */
    /* every inclusion proof against the new root */
    ent_cbor_writer w_dummy;
    uint8_t (*proofs)[3 + 64 * 32] = calloc(MAX_EL, sizeof(*proofs));
    for (size_t i = 0; i < q.nel[S_ENTRIES]; i++) {
        uint8_t path[ENT_MERKLE_MAX_PROOF][32];
        size_t plen;
        assert_int_equal(ent_mtree_path(tree, entry_of(&q, i).index, 20, path,
                                        ENT_MERKLE_MAX_PROOF, &plen),
                         ENT_OK);
        ent_cbor_writer_init(&w_dummy, proofs[i], sizeof(proofs[i]));
        ent_cbor_write_bytes(&w_dummy, path, plen * 32);
        q.el[S_PROOFS][i] = (span){proofs[i], w_dummy.len};
    }
    /* the history head's consistency proof to the new root */
    uint8_t hist[1024];
    {
        uint8_t path[ENT_MERKLE_MAX_PROOF][32];
        size_t plen;
        uint8_t whb[ENT_ACTLOG_HEAD_MAX];
        size_t whn;
        assert_int_equal(ent_merkle_consistency_proof(17, 20, leaf_arr, &lv,
                                                      path,
                                                      ENT_MERKLE_MAX_PROOF,
                                                      &plen),
                         ENT_OK);
        assert_int_equal(
            ent_actlog_head_encode(&wa.h, true, whb, sizeof(whb), &whn),
            ENT_OK);
        ent_cbor_writer_init(&w_dummy, hist, sizeof(hist));
        ent_cbor_write_array(&w_dummy, 2);
        ent_cbor_write_raw(&w_dummy, whb, whn);
        ent_cbor_write_bytes(&w_dummy, path, plen * 32);
        q.el[S_HISTORY][0] = (span){hist, w_dummy.len};
    }
    /* the records: the forged one at 20, the honest one at 17 re-proven */
    uint8_t r17[4096], r20[4096];
    {
        uint8_t cpath[ENT_MERKLE_MAX_PROOF][32], dpath[ENT_MERKLE_MAX_PROOF][32];
        size_t cn, dn;
        uint64_t pos, last;
        assert_int_equal(ent_dir_find(rs.d, t->obj1, &pos, &last), ENT_OK);
        assert_int_equal(last, 13);
        assert_int_equal(ent_dir_path(rs.d, pos, dpath, ENT_MERKLE_MAX_PROOF,
                                      &dn),
                         ENT_OK);
        assert_int_equal(ent_mtree_path(tree, 19, 20, cpath,
                                        ENT_MERKLE_MAX_PROOF, &cn),
                         ENT_OK);
        q.el[S_DIR][1] = (span){r20, write_rec(r20, sizeof(r20), 20, fcp,
                                               fcplen,
                                               (const uint8_t(*)[32])cpath,
                                               cn, pos, last,
                                               (const uint8_t(*)[32])dpath,
                                               dn)};
        /* record 17 as exported, its checkpoint proof redone */
        const span *rec17 = &p.el[S_DIR][0];
        ent_cbor_reader_init(&r, rec17->p, rec17->n);
        assert_int_equal(ent_cbor_read_array(&r, &k), ENT_OK);
        assert_int_equal(ent_cbor_read_uint(&r, &m), ENT_OK);
        at = r.pos;
        assert_int_equal(ent_cbor_skip(&r), ENT_OK);
        const uint8_t *cp17 = rec17->p + at;
        size_t cp17len = r.pos - at;
        const uint8_t *skip;
        size_t skiplen;
        uint64_t pos17, last17;
        const uint8_t *dp17;
        size_t dp17len;
        assert_int_equal(ent_cbor_read_bytes(&r, &skip, &skiplen), ENT_OK);
        assert_int_equal(ent_cbor_read_uint(&r, &pos17), ENT_OK);
        assert_int_equal(ent_cbor_read_uint(&r, &last17), ENT_OK);
        assert_int_equal(last17, 14);
        assert_int_equal(ent_cbor_read_bytes(&r, &dp17, &dp17len), ENT_OK);
        assert_int_equal(ent_mtree_path(tree, 16, 20, cpath,
                                        ENT_MERKLE_MAX_PROOF, &cn),
                         ENT_OK);
        q.el[S_DIR][0] = (span){r17, write_rec(r17, sizeof(r17), 17, cp17,
                                               cp17len,
                                               (const uint8_t(*)[32])cpath,
                                               cn, pos17, last17,
                                               (const uint8_t(*)[32])dp17,
                                               dp17len / 32)};
    }
    /* with the honest record of 17: entry 14 is missing */
    expect_fail_at(t, &q, NULL, 0, ENT_ECORRUPT, 14, "entry 14 is missing",
                   "forged checkpoint, record 17 kept");
    /* without it: alone, indistinguishable; against the head, refused */
    drop_el(&q, S_DIR, 0);
    expect_ok(t, &q, NULL, 0, "forged checkpoint, record 17 dropped");
    expect_fail_at(t, &q, &wa.h, 1, ENT_ECORRUPT, UINT64_MAX,
                   "the given head of size 17",
                   "forged checkpoint against the head");
    free(buf);

    /* obj3 was created after the head of size 17: no record needed */
    f.object = obj3;
    export(t, &f, &buf, &len);
    split(buf, len, &p);
    if (ent_audit_verify_ex(buf, len, &o, &res) != ENT_OK)
        fail_msg("object born after the witnessed head: %s", res.reason);
    assert_int_equal(res.entries, 1);
    for (size_t i = 0; i < p.nel[S_DIR]; i++) {
        ent_cbor_reader_init(&r, p.el[S_DIR][i].p, p.el[S_DIR][i].n);
        assert_int_equal(ent_cbor_read_array(&r, &k), ENT_OK);
        assert_int_equal(ent_cbor_read_uint(&r, &m), ENT_OK);
        assert_true(m > 18); /* no record where obj3 did not exist */
    }
    free(buf);
    free(proofs);
    free(fcp);
    free(lv.h);
    ent_mtree_free(tree);
    ent_dir_free(rs.d);
    tlog_close(t);
}

/* A whole-log export checks every object link and every checkpoint
 * against the entries before it: an org that signs a log whose checkpoint
 * or oprev lies, all roots and signatures redone, is caught. */
static void test_whole_log_checks_links(void **state) {
    tlog *t = tlog_open(7);
    uint8_t *buf;
    size_t len;
    parts p, q;
    build_log(t, "one");
    export(t, NULL, &buf, &len);
    split(buf, len, &p);
    assert_int_equal(p.nel[S_ENTRIES], 17);
    uint8_t *enc[17] = {0};
    /* rebuilds entries from `from` on (prev links), the root and head */
    ent_actlog_entry es[17];
    for (size_t i = 0; i < 17; i++)
        es[i] = entry_of(&p, i);
    uint8_t hb[ENT_ACTLOG_HEAD_MAX];
    struct {
        const char *label, *what;
        uint64_t idx;
    } cases[2] = {
        {"checkpoint directory forged", "checkpoint: its directory", 16},
        {"oprev of entry 14 forged", "names entry 12", 14},
    };
    for (int c = 0; c < 2; c++) {
        ent_actlog_entry x[17];
        memcpy(x, es, sizeof(x));
        if (c == 0)
            x[16].dir_root[0] ^= 1;
        else
            x[14].oprev = 12;
        leaves lv = {calloc(17, 32), 17};
        uint8_t prev[32] = {0};
        q = p;
        for (size_t i = 0; i < 17; i++) {
            size_t n;
            memcpy(x[i].prev, prev, 32);
            free(enc[i]);
            assert_int_equal(ent_actlog_entry_encode(&x[i], &enc[i], &n),
                             ENT_OK);
            ent_hash(prev, enc[i], n);
            ent_merkle_leaf_hash(lv.h[i], enc[i], n);
            q.el[S_ENTRIES][i] = (span){enc[i], n};
        }
        ent_actlog_head h;
        size_t hn;
        assert_int_equal(ent_actlog_head_decode(&h, p.top[5].p, p.top[5].n),
                         ENT_OK);
        assert_int_equal(ent_merkle_root(17, leaf_arr, &lv, h.root), ENT_OK);
        assert_int_equal(
            ent_actlog_head_encode(&h, false, hb, sizeof(hb), &hn), ENT_OK);
        assert_int_equal(
            ent_identity_sign(t->id, ENT_SIGCTX_TREE_HEAD, hb, hn, h.sig),
            ENT_OK);
        assert_int_equal(ent_actlog_head_encode(&h, true, hb, sizeof(hb), &hn),
                         ENT_OK);
        q.top[5] = (span){hb, hn};
        expect_fail_at(t, &q, NULL, 0, ENT_ECORRUPT, cases[c].idx,
                       cases[c].what, cases[c].label);
        free(lv.h);
    }
    for (size_t i = 0; i < 17; i++)
        free(enc[i]);
    free(buf);
    tlog_close(t);
}

/* --witness files hold the heads of every org a partner witnesses: the
 * verifier uses this org's and skips the others; a file with none of this
 * org's fails, and so does a head of this org with a bad signature. */
static void test_witness_heads_of_other_orgs(void **state) {
    tlog *a = tlog_open(7), *b = tlog_open(9);
    uint8_t *buf;
    size_t len;
    ent_audit_result res;
    struct hw wa = {.t = a}, wb = {.t = b};
    build_log(a, "A");
    build_log(b, "B");
    assert_int_equal(ent_store_write(a->store, sign_fn, &wa), ENT_OK);
    assert_int_equal(ent_store_write(b->store, sign_fn, &wb), ENT_OK);
    one(a, mk_op(a, a->id, a->obj1, ENT_OP_SET, "more"), ENT_LOG_OP_AUTHORED);
    ent_actlog_head hs[3] = {wb.h, wa.h, wb.h};
    hs[2].sig[0] ^= 1; /* another org's head, even a broken one: skipped */
    for (int obj = 0; obj < 2; obj++) {
        ent_audit_filter f = {.object = obj ? a->obj1 : NULL};
        export(a, &f, &buf, &len);
        ent_audit_opts o = {.heads = hs, .nheads = 3};
        if (ent_audit_verify_ex(buf, len, &o, &res) != ENT_OK)
            fail_msg("mixed witness heads refused: %s", res.reason);
        assert_int_equal(res.witnessed, 1);
        /* the export's own head, after another org's */
        parts p;
        split(buf, len, &p);
        ent_actlog_head hs2[2] = {wb.h};
        assert_int_equal(
            ent_actlog_head_decode(&hs2[1], p.top[5].p, p.top[5].n), ENT_OK);
        o = (ent_audit_opts){.heads = hs2, .nheads = 2};
        if (ent_audit_verify_ex(buf, len, &o, &res) != ENT_OK)
            fail_msg("the export's own head, second: %s", res.reason);
        assert_int_equal(res.witnessed, 1);
        /* none of this org's */
        o = (ent_audit_opts){.heads = &wb.h, .nheads = 1};
        assert_int_equal(ent_audit_verify_ex(buf, len, &o, &res), ENT_ENOENT);
        assert_non_null(strstr(res.reason, "of this org"));
        /* this org's, badly signed */
        ent_actlog_head bad[2] = {wb.h, wa.h};
        bad[1].sig[5] ^= 1;
        o = (ent_audit_opts){.heads = bad, .nheads = 2};
        assert_int_equal(ent_audit_verify_ex(buf, len, &o, &res), ENT_EBADSIG);
        free(buf);
    }
    tlog_close(a);
    tlog_close(b);
}

/* Version-2 exports (written before entries named their object's previous
 * entry) still verify as whole logs; a version-2 object export is refused
 * as such: it cannot show that it is complete. The files are exports made
 * by the version-2 code, kept under tests/vectors/. */
static void test_v2_exports(void **state) {
    static const struct {
        const char *path;
        int rc;
    } files[] = {
        {"tests/vectors/audit-v2-whole.export", ENT_OK},
        {"tests/vectors/audit-v2-since-history.export", ENT_OK},
        {"tests/vectors/audit-v2-object.export", ENT_EVERSION},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        FILE *fp = fopen(files[i].path, "rb");
        uint8_t buf[65536];
        ent_audit_result res;
        assert_non_null(fp);
        size_t n = fread(buf, 1, sizeof(buf), fp);
        fclose(fp);
        assert_true(n > 0 && n < sizeof(buf));
        assert_int_equal(verify(buf, n, &res), files[i].rc);
        if (files[i].rc == ENT_EVERSION)
            assert_non_null(strstr(res.reason, "every entry of the object"));
    }
}

/* The empty log exports and verifies; malformed inputs are refused. */
static void test_empty_and_edges(void **state) {
    tlog *t = tlog_open(9);
    uint8_t *buf;
    size_t len;
    ent_audit_result res;
    export(t, NULL, &buf, &len);
    assert_int_equal(verify(buf, len, &res), ENT_OK);
    assert_int_equal(res.entries, 0);
    assert_int_equal(res.tree_size, 0);
    free(buf);
    ent_audit_filter f = {.since = 1};
    assert_int_equal(ent_audit_export(t->store, t->id, 1, &f, &buf, &len),
                     ENT_EINVAL);
    assert_int_not_equal(verify((const uint8_t *)"", 0, &res), ENT_OK);
    assert_int_not_equal(verify((const uint8_t *)"\x80", 1, &res), ENT_OK);
    assert_int_equal(verify(NULL, (size_t)ENT_AUDIT_MAX_SIZE + 1, &res),
                     ENT_EINVAL);
    tlog_close(t);
}


struct kinds {
    uint8_t k[64];
    size_t n;
    char reason[ENT_ACTLOG_REASON_MAX + 1];
};

static int kinds_cb(void *data, const ent_actlog_entry *e, const uint8_t *raw,
                    size_t len) {
    struct kinds *k = data;
    if (k->n < 64)
        k->k[k->n++] = e->kind;
    if (e->kind == ENT_LOG_OP_REJECTED)
        memcpy(k->reason, e->reason, e->reason_len + 1);
    return 0;
}

static int kinds_fn(ent_txn *txn, void *data) {
    return ent_actlog_foreach(txn, 0, kinds_cb, data);
}

static void export_ok(tnode *n, uint64_t want_entries) {
    uint8_t *buf;
    size_t len;
    ent_audit_result res;
    assert_int_equal(ent_audit_export(n->store, n->id, n->now, NULL, &buf,
                                      &len),
                     ENT_OK);
    if (ent_audit_verify(buf, len, tnode_pk(n), &res) != ENT_OK)
        fail_msg("engine export does not verify: %s", res.reason);
    assert_int_equal(res.entries, want_entries);
    free(buf);
}

/* The object engine writes the entries: authored, accepted, rejected (with
 * its reason), member added/removed, key rotated; and both nodes' exports
 * verify, ops included. */
static void test_engine_entries(void **state) {
    tnode a, b;
    uint8_t id[32];
    ent_op *op = NULL, *add = NULL, *rm = NULL;
    ent_op_epoch_key *boxes = NULL;
    size_t nboxes = 0;
    char err[ENT_OBJ_ERR_MAX];
    assert_int_equal(tnodes_open(TNODES(&a, &b), 1), 0);
    assert_int_equal(
        ent_obj_create(a.eng, "lead", NULL, 0, id, &op, err, sizeof(err)),
        ENT_OK);
    ent_op_free(op);
    assert_int_equal(ent_obj_comment(a.eng, id, "hello", &op, err,
                                     sizeof(err)),
                     ENT_OK);
    ent_op_free(op);
    assert_int_equal(ent_obj_add_member(a.eng, id, tnode_pk(&b),
                                        ENT_ROLE_MEMBER, &add, &boxes,
                                        &nboxes),
                     ENT_OK);
    assert_int_equal(ent_obj_accept_keys(b.eng, id, boxes, nboxes), ENT_OK);
    assert_int_equal(tnode_sync(&b, &a, id), 0);
    b.now += 10;
    assert_int_equal(ent_obj_comment(b.eng, id, "from b", &op, err,
                                     sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_obj_apply(a.eng, op->raw, op->rawlen, NULL), ENT_OK);
    /* the same op with one ciphertext byte changed: bad signature */
    op->raw[op->rawlen - 70] ^= 1;
    assert_int_not_equal(ent_obj_apply(a.eng, op->raw, op->rawlen, NULL),
                         ENT_OK);
    ent_op_free(op);
    assert_int_equal(ent_obj_remove_member(a.eng, id, tnode_pk(&b), &rm),
                     ENT_OK);

    struct kinds ka = {0}, kb = {0};
    assert_int_equal(ent_store_read(a.store, kinds_fn, &ka), ENT_OK);
    const uint8_t want_a[] = {
        ENT_LOG_OP_AUTHORED,  ENT_LOG_OP_AUTHORED,    ENT_LOG_OP_AUTHORED,
        ENT_LOG_MEMBER_ADDED, ENT_LOG_OP_ACCEPTED,    ENT_LOG_OP_REJECTED,
        ENT_LOG_OP_AUTHORED,  ENT_LOG_MEMBER_REMOVED, ENT_LOG_KEY_ROTATED};
    assert_int_equal(ka.n, sizeof(want_a));
    assert_memory_equal(ka.k, want_a, sizeof(want_a));
    assert_non_null(strstr(ka.reason, "ENT_E"));
    assert_int_equal(ent_store_read(b.store, kinds_fn, &kb), ENT_OK);
    const uint8_t want_b[] = {ENT_LOG_OP_ACCEPTED, ENT_LOG_OP_ACCEPTED,
                              ENT_LOG_OP_ACCEPTED, ENT_LOG_MEMBER_ADDED,
                              ENT_LOG_OP_AUTHORED};
    assert_int_equal(kb.n, sizeof(want_b));
    assert_memory_equal(kb.k, want_b, sizeof(want_b));
    /* and the checkpoint of each export's head */
    export_ok(&a, sizeof(want_a) + 1);
    export_ok(&b, sizeof(want_b) + 1);
    free(boxes);
    ent_op_free(add);
    ent_op_free(rm);
    tnodes_close(TNODES(&a, &b));
}

struct kind_count {
    uint8_t kind;
    uint64_t n;
};

static int count_kind_cb(void *data, const ent_actlog_entry *e,
                         const uint8_t *raw, size_t len) {
    struct kind_count *c = data;
    if (e->kind == c->kind)
        c->n++;
    return 0;
}

static int count_kind_fn(ent_txn *txn, void *data) {
    return ent_actlog_foreach(txn, 0, count_kind_cb, data);
}

static uint64_t kind_entries(tnode *n, uint8_t kind) {
    struct kind_count c = {kind, 0};
    assert_int_equal(ent_store_read(n->store, count_kind_fn, &c), ENT_OK);
    return c.n;
}

static uint64_t equivocation_entries(tnode *n) {
    return kind_entries(n, ENT_LOG_EQUIVOCATION);
}

/* o's header with a comment body `text`, sealed with key and signed by
 * id: another op of the same author and sequence. */
static ent_op *twin(const ent_op *o, const uint8_t key[ENT_KEY_LEN],
                    const ent_identity *id, const char *text) {
    ent_op_body b;
    uint8_t *body = NULL;
    size_t blen = 0;
    ent_op *op = NULL;
    memset(&b, 0, sizeof(b));
    b.kind = ENT_OP_COMMENT;
    b.text = (char *)text;
    b.textlen = strlen(text);
    assert_int_equal(ent_op_body_encode(&b, &body, &blen), ENT_OK);
    assert_int_equal(ent_op_seal(&op, &o->h, body, blen, key, id), ENT_OK);
    free(body);
    return op;
}

/* One activity-log entry per detected equivocation: the engine stores
 * every version of an (author, sequence) (spec/objects.md "Equivocation")
 * and logs the (author, sequence) once as `equivocation`, when its second
 * version arrives; that op arriving again is a duplicate, a third version
 * is stored without a second entry. The export carries one proof. */
static void test_engine_equivocation_once(void **state) {
    tnode a, b;
    uint8_t id[32];
    ent_op *op = NULL, *add = NULL;
    ent_op_epoch_key *boxes = NULL;
    ent_obj_key *keys = NULL;
    size_t nboxes = 0, nkeys = 0;
    char err[ENT_OBJ_ERR_MAX];
    assert_int_equal(tnodes_open(TNODES(&a, &b), 1), 0);
    assert_int_equal(
        ent_obj_create(a.eng, "lead", NULL, 0, id, &op, err, sizeof(err)),
        ENT_OK);
    ent_op_free(op);
    assert_int_equal(ent_obj_add_member(a.eng, id, tnode_pk(&b),
                                        ENT_ROLE_MEMBER, &add, &boxes,
                                        &nboxes),
                     ENT_OK);
    assert_int_equal(ent_obj_accept_keys(b.eng, id, boxes, nboxes), ENT_OK);
    assert_int_equal(tnode_sync(&b, &a, id), 0);
    b.now += 10;
    assert_int_equal(ent_obj_comment(b.eng, id, "one", &op, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_obj_apply(a.eng, op->raw, op->rawlen, NULL), ENT_OK);
    assert_int_equal(ent_obj_epoch_keys(b.eng, id, &keys, &nkeys), ENT_OK);
    assert_true(nkeys >= 1);
    ent_op *o2 = twin(op, keys[0].key, b.id, "two");
    ent_op *o3 = twin(op, keys[0].key, b.id, "three");
    assert_int_equal(equivocation_entries(&a), 0);
    assert_int_equal(ent_obj_apply(a.eng, o2->raw, o2->rawlen, NULL),
                     ENT_OK);
    assert_int_equal(equivocation_entries(&a), 1);
    /* the same second op again (a partner offers what this node lacks) */
    int rc = ent_obj_apply(a.eng, o2->raw, o2->rawlen, NULL);
    print_message("  the same equivocating op again: %s, %llu entries\n",
                  ent_err_name(rc),
                  (unsigned long long)equivocation_entries(&a));
    assert_int_equal(equivocation_entries(&a), 1);
    /* a third op of the same author and sequence: the same equivocation */
    rc = ent_obj_apply(a.eng, o3->raw, o3->rawlen, NULL);
    print_message("  a third op of the sequence: %s, %llu entries\n",
                  ent_err_name(rc),
                  (unsigned long long)equivocation_entries(&a));
    assert_int_equal(equivocation_entries(&a), 1);
    assert_int_equal(rc, ENT_OK);
    assert_int_equal(kind_entries(&a, ENT_LOG_OP_REJECTED), 0);
    uint8_t *buf;
    size_t len;
    ent_audit_result res;
    assert_int_equal(ent_audit_export(a.store, a.id, a.now, NULL, &buf, &len),
                     ENT_OK);
    if (ent_audit_verify(buf, len, tnode_pk(&a), &res) != ENT_OK)
        fail_msg("export with an equivocation: %s", res.reason);
    assert_int_equal(res.equivocations, 1);
    free(buf);
    ent_obj_keys_free(keys, nkeys);
    ent_op_free(op);
    ent_op_free(o2);
    ent_op_free(o3);
    ent_op_free(add);
    free(boxes);
    tnodes_close(TNODES(&a, &b));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_verify),
        cmocka_unit_test(test_random_mutations),
        cmocka_unit_test(test_failure_names_entry),
        cmocka_unit_test(test_old_versions_refused),
        cmocka_unit_test(test_vouched_ops),
        cmocka_unit_test(test_resigned_structure),
        cmocka_unit_test(test_history_and_rewrite),
        cmocka_unit_test(test_object_export_complete),
        cmocka_unit_test(test_object_export_since),
        cmocka_unit_test(test_object_export_no_equivocations),
        cmocka_unit_test(test_object_export_witnessed),
        cmocka_unit_test(test_whole_log_checks_links),
        cmocka_unit_test(test_witness_heads_of_other_orgs),
        cmocka_unit_test(test_v2_exports),
        cmocka_unit_test(test_empty_and_edges),
        cmocka_unit_test(test_engine_entries),
        cmocka_unit_test(test_engine_equivocation_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
