/* op_test.c - the signed op record and its bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "node/err.h"
#include "protocol/cbor.h"
#include "protocol/op.h"

typedef struct fixture {
    ent_identity *alice;
    ent_identity *bob;
    uint8_t key[ENT_KEY_LEN];
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof(*f));
    if (f == NULL || ent_crypto_init() != ENT_OK ||
        ent_identity_generate(&f->alice) != ENT_OK ||
        ent_identity_generate(&f->bob) != ENT_OK)
        return -1;
    ent_random(f->key, sizeof(f->key));
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    ent_identity_free(f->alice);
    ent_identity_free(f->bob);
    ent_wipe(f->key, sizeof(f->key));
    free(f);
    return 0;
}

static ent_op_header header(const ent_identity *author, uint8_t kind,
                            uint64_t seq) {
    ent_op_header h;
    memset(&h, 0, sizeof(h));
    h.version = ENT_OP_VERSION;
    h.kind = kind;
    h.genesis = kind == ENT_OP_CREATE;
    if (!h.genesis) {
        memset(h.object, 0x0b, 32);
        h.nparents = 2;
        memset(h.parents[0], 0x11, 32);
        memset(h.parents[1], 0x22, 32);
    }
    memcpy(h.author, ent_identity_public(author), 32);
    h.seq = seq;
    h.hlc = (1700000000000ULL << 16) | 7;
    h.epoch = 3;
    return h;
}

static void set_text(ent_value *v, ent_vtype t, const char *s) {
    v->type = t;
    v->u.text.s = strdup(s);
    v->u.text.len = strlen(s);
}

/* A body of the given kind with something in every member it uses. */
static void make_body(ent_op_body *b, uint8_t kind, const fixture *f) {
    memset(b, 0, sizeof(*b));
    b->kind = kind;
    switch (kind) {
    case ENT_OP_CREATE:
    case ENT_OP_SET:
        if (kind == ENT_OP_CREATE)
            strcpy(b->type, "opportunity");
        b->nfields = 8;
        b->fields = calloc(b->nfields, sizeof(*b->fields));
        /* deliberately unsorted: the encoder sorts */
        strcpy(b->fields[0].name, "stage_note");
        set_text(&b->fields[0].v, ENT_VT_TEXT, "Z\xc3\xbcrich kickoff");
        strcpy(b->fields[1].name, "amount");
        b->fields[1].v.type = ENT_VT_MONEY;
        b->fields[1].v.u.money.minor = -12345678901LL;
        strcpy(b->fields[1].v.u.money.cur, "EUR");
        strcpy(b->fields[2].name, "seats");
        b->fields[2].v.type = ENT_VT_INT;
        b->fields[2].v.u.i = INT64_MIN;
        strcpy(b->fields[3].name, "close");
        b->fields[3].v.type = ENT_VT_DATE;
        b->fields[3].v.u.days = -20000;
        strcpy(b->fields[4].name, "region");
        set_text(&b->fields[4].v, ENT_VT_ENUM, "emea");
        strcpy(b->fields[5].name, "partner");
        b->fields[5].v.type = ENT_VT_ORG;
        memcpy(b->fields[5].v.u.org, ent_identity_public(f->bob), 32);
        strcpy(b->fields[6].name, "cleared");
        b->fields[6].v.type = ENT_VT_NULL;
        strcpy(b->fields[7].name, "budget"); /* a link */
        b->fields[7].v.type = ENT_VT_REF;
        for (int i = 0; i < 32; i++)
            b->fields[7].v.u.ref[i] = (uint8_t)(0xa0 + i);
        break;
    case ENT_OP_ADD_MEMBER: {
        memcpy(b->org, ent_identity_public(f->bob), 32);
        b->role = ENT_ROLE_ADMIN;
        b->nekeys = 2;
        b->ekeys = calloc(2, sizeof(*b->ekeys));
        uint8_t xpk[ENT_X25519_LEN];
        assert_int_equal(ent_pk_to_x25519(xpk, b->org), ENT_OK);
        for (size_t i = 0; i < 2; i++) {
            b->ekeys[i].epoch = 2 + i;
            assert_int_equal(ent_seal_to(b->ekeys[i].box, f->key, ENT_KEY_LEN,
                                         xpk),
                             ENT_OK);
        }
        break;
    }
    case ENT_OP_REMOVE_MEMBER:
    case ENT_OP_ROTATE_KEY:
        if (kind == ENT_OP_REMOVE_MEMBER)
            memset(b->org, 0x5a, 32);
        b->epoch = 4;
        b->nmkeys = 3;
        b->mkeys = calloc(3, sizeof(*b->mkeys));
        for (size_t i = 0; i < 3; i++) {
            memset(b->mkeys[i].org, (int)(0x10 * (i + 1)), 32);
            ent_random(b->mkeys[i].box, ENT_OP_BOX_LEN);
        }
        break;
    case ENT_OP_RULES:
        /* [1, ["A"], [], []]: node/work reads it, the record only carries it */
        b->rules = malloc(7);
        memcpy(b->rules, "\x84\x01\x81\x61\x41\x80\x80", 7);
        b->ruleslen = 7;
        break;
    case ENT_OP_ERASE:
        strcpy(b->field, "contact_email");
        b->nerased = 2;
        b->erased = calloc(2, 32);
        memset(b->erased, 0x11, 32);
        memset(b->erased + 32, 0x22, 32);
        break;
    case ENT_OP_ATTACH:
        strcpy(b->fname, "SOW v1.pdf");
        b->fsize = ENT_OP_CHUNK + 1; /* two chunks */
        memset(b->fhash, 0x33, 32);
        b->nchunks = 2;
        b->chunks = calloc(2, 32);
        memset(b->chunks, 0x44, 64);
        break;
    case ENT_OP_APPROVE:
        strcpy(b->step, "finance");
        b->decision = 1;
        /* the comment below */
        /* fall through */
    default:
        b->text = strdup(kind == ENT_OP_STAGE ? "qualified"
                                              : "call with \xe6\xb0\xb4 team");
        b->textlen = strlen(b->text);
    }
    if (kind == ENT_OP_CREATE) { /* a genesis may carry rules */
        b->rules = malloc(7);
        memcpy(b->rules, "\x84\x01\x81\x61\x41\x80\x80", 7);
        b->ruleslen = 7;
    }
}

static const ent_op_field *find_field(const ent_op_body *b, const char *n) {
    for (size_t i = 0; i < b->nfields; i++)
        if (strcmp(b->fields[i].name, n) == 0)
            return &b->fields[i];
    return NULL;
}

static void assert_value_equal(const ent_value *a, const ent_value *b) {
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case ENT_VT_TEXT:
    case ENT_VT_ENUM:
        assert_int_equal(a->u.text.len, b->u.text.len);
        assert_string_equal(a->u.text.s, b->u.text.s);
        break;
    case ENT_VT_INT:
        assert_true(a->u.i == b->u.i);
        break;
    case ENT_VT_MONEY:
        assert_true(a->u.money.minor == b->u.money.minor);
        assert_string_equal(a->u.money.cur, b->u.money.cur);
        break;
    case ENT_VT_DATE:
        assert_int_equal(a->u.days, b->u.days);
        break;
    case ENT_VT_ORG:
        assert_memory_equal(a->u.org, b->u.org, 32);
        break;
    case ENT_VT_REF:
        assert_memory_equal(a->u.ref, b->u.ref, 32);
        break;
    default:
        break;
    }
}

static void assert_body_equal(const ent_op_body *a, const ent_op_body *b) {
    assert_int_equal(a->kind, b->kind);
    assert_string_equal(a->type, b->type);
    assert_int_equal(a->nfields, b->nfields);
    for (size_t i = 0; i < a->nfields; i++) {
        const ent_op_field *g = find_field(b, a->fields[i].name);
        assert_non_null(g);
        assert_value_equal(&a->fields[i].v, &g->v);
    }
    assert_memory_equal(a->org, b->org, 32);
    assert_int_equal(a->role, b->role);
    assert_true(a->epoch == b->epoch);
    assert_int_equal(a->nekeys, b->nekeys);
    for (size_t i = 0; i < a->nekeys; i++) {
        assert_true(a->ekeys[i].epoch == b->ekeys[i].epoch);
        assert_memory_equal(a->ekeys[i].box, b->ekeys[i].box, ENT_OP_BOX_LEN);
    }
    assert_int_equal(a->nmkeys, b->nmkeys);
    for (size_t i = 0; i < a->nmkeys; i++) {
        assert_memory_equal(a->mkeys[i].org, b->mkeys[i].org, 32);
        assert_memory_equal(a->mkeys[i].box, b->mkeys[i].box, ENT_OP_BOX_LEN);
    }
    assert_int_equal(a->textlen, b->textlen);
    if (a->textlen)
        assert_memory_equal(a->text, b->text, a->textlen);
    assert_string_equal(a->step, b->step);
    assert_int_equal(a->decision, b->decision);
    assert_int_equal(a->ruleslen, b->ruleslen);
    if (a->ruleslen)
        assert_memory_equal(a->rules, b->rules, a->ruleslen);
    assert_string_equal(a->field, b->field);
    assert_string_equal(a->fname, b->fname);
    assert_true(a->fsize == b->fsize && a->nchunks == b->nchunks);
    assert_memory_equal(a->fhash, b->fhash, 32);
    if (a->nchunks)
        assert_memory_equal(a->chunks, b->chunks, a->nchunks * 32);
    assert_int_equal(a->nerased, b->nerased);
    if (a->nerased)
        assert_memory_equal(a->erased, b->erased, a->nerased * 32);
}

static void assert_header_equal(const ent_op_header *a,
                                const ent_op_header *b) {
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->genesis, b->genesis);
    if (!a->genesis)
        assert_memory_equal(a->object, b->object, 32);
    assert_memory_equal(a->author, b->author, 32);
    assert_true(a->seq == b->seq && a->hlc == b->hlc && a->epoch == b->epoch);
    assert_int_equal(a->nparents, b->nparents);
    for (size_t i = 0; i < a->nparents; i++)
        assert_memory_equal(a->parents[i], b->parents[i], 32);
    assert_int_equal(a->kind, b->kind);
}

/* Seals a body of each kind and takes it all the way back. */
static void test_round_trip_every_kind(void **state) {
    fixture *f = *state;
    for (uint8_t kind = 0; kind < ENT_OP_KIND__COUNT; kind++) {
        ent_op_body body, back;
        uint8_t *enc, *plain, *re;
        size_t enclen, plainlen, relen;
        ent_op *op, *dec;
        make_body(&body, kind, f);
        assert_int_equal(ent_op_body_encode(&body, &enc, &enclen), ENT_OK);
        assert_int_equal(ent_cbor_check(enc, enclen, NULL), ENT_OK);

        ent_op_header h = header(f->alice, kind, kind + 1);
        assert_int_equal(ent_op_seal(&op, &h, enc, enclen, f->key, f->alice),
                         ENT_OK);
        assert_int_equal(ent_op_verify(op), ENT_OK);
        uint8_t id[32];
        ent_hash(id, op->raw, op->rawlen);
        assert_memory_equal(id, op->id, 32);

        assert_int_equal(ent_op_decode(&dec, op->raw, op->rawlen), ENT_OK);
        assert_header_equal(&h, &dec->h);
        assert_memory_equal(dec->id, op->id, 32);
        assert_memory_equal(dec->nonce, op->nonce, ENT_AEAD_NONCE_LEN);
        assert_memory_equal(dec->sig, op->sig, ENT_SIG_LEN);
        assert_int_equal(dec->ctlen, enclen + ENT_AEAD_TAG_LEN);
        assert_int_equal(ent_op_verify(dec), ENT_OK);

        /* re-encoding the decoded op gives the same bytes and id */
        assert_int_equal(ent_op_encode(dec, &re, &relen), ENT_OK);
        assert_int_equal(relen, op->rawlen);
        assert_memory_equal(re, op->raw, relen);
        ent_hash(id, re, relen);
        assert_memory_equal(id, op->id, 32);
        free(re);

        assert_int_equal(ent_op_open(dec, f->key, &plain, &plainlen), ENT_OK);
        assert_int_equal(plainlen, enclen);
        assert_memory_equal(plain, enc, enclen);
        assert_int_equal(ent_op_body_decode(&back, kind, plain, plainlen),
                         ENT_OK);
        assert_body_equal(&body, &back);
        /* the body re-encodes to the same bytes too */
        assert_int_equal(ent_op_body_encode(&back, &re, &relen), ENT_OK);
        assert_int_equal(relen, enclen);
        assert_memory_equal(re, enc, enclen);
        free(re);

        if (kind == ENT_OP_ADD_MEMBER) { /* the sealed key reaches bob */
            uint8_t xpk[32], xsk[32], k[ENT_KEY_LEN];
            assert_int_equal(ent_identity_x25519(f->bob, xpk, xsk), ENT_OK);
            assert_int_equal(ent_seal_open(k, back.ekeys[1].box,
                                           ENT_OP_BOX_LEN, xpk, xsk),
                             ENT_OK);
            assert_memory_equal(k, f->key, ENT_KEY_LEN);
            ent_wipe(xsk, sizeof(xsk));
        }
        /* decoding under another kind fails cleanly */
        ent_op_body other;
        uint8_t wrong = kind == ENT_OP_SET ? ENT_OP_ROTATE_KEY : ENT_OP_SET;
        assert_int_not_equal(ent_op_body_decode(&other, wrong, plain, plainlen),
                             ENT_OK);
        assert_null(other.fields);
        assert_null(other.text);

        ent_op_body_clear(&back);
        ent_op_body_clear(&body);
        free(plain);
        free(enc);
        ent_op_free(dec);
        ent_op_free(op);
    }
}

static ent_op *sealed_set_op(const fixture *f, const char *note) {
    ent_op_body b;
    uint8_t *enc;
    size_t len;
    ent_op *op;
    make_body(&b, ENT_OP_SET, f);
    if (note != NULL) {
        free(b.fields[0].v.u.text.s);
        set_text(&b.fields[0].v, ENT_VT_TEXT, note);
    }
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_OK);
    ent_op_header h = header(f->alice, ENT_OP_SET, 9);
    assert_int_equal(ent_op_seal(&op, &h, enc, len, f->key, f->alice), ENT_OK);
    free(enc);
    ent_op_body_clear(&b);
    return op;
}

/* Every single flipped bit is caught by decode, verify or open. */
static void test_every_bit_flip_detected(void **state) {
    fixture *f = *state;
    ent_op *op = sealed_set_op(f, NULL);
    uint8_t *buf = malloc(op->rawlen);
    size_t by_decode = 0, by_verify = 0, by_open = 0;
    for (size_t bit = 0; bit < op->rawlen * 8; bit++) {
        memcpy(buf, op->raw, op->rawlen);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ent_op *d;
        if (ent_op_decode(&d, buf, op->rawlen) != ENT_OK) {
            by_decode++;
            continue;
        }
        assert_memory_not_equal(d->id, op->id, 32);
        if (ent_op_verify(d) != ENT_OK) {
            by_verify++;
        } else {
            uint8_t *pt;
            size_t ptlen;
            if (ent_op_open(d, f->key, &pt, &ptlen) == ENT_OK)
                fail_msg("bit %zu flipped undetected", bit);
            by_open++;
        }
        ent_op_free(d);
    }
    /* the signature covers everything a flip can reach and still parse */
    assert_int_equal(by_decode + by_verify, op->rawlen * 8);
    assert_int_equal(by_open, 0);
    assert_true(by_decode > 0 && by_verify > 0);
    free(buf);
    ent_op_free(op);
}

static void test_wrong_key_and_author(void **state) {
    fixture *f = *state;
    ent_op *op = sealed_set_op(f, NULL);
    uint8_t other[ENT_KEY_LEN];
    uint8_t *pt = (uint8_t *)"x";
    size_t ptlen = 1;
    ent_random(other, sizeof(other));
    assert_int_equal(ent_op_open(op, other, &pt, &ptlen), ENT_EDECRYPT);
    assert_null(pt);
    assert_int_equal(ptlen, 0);
    /* the same op claimed by bob does not verify */
    ent_op copy = *op;
    memcpy(copy.h.author, ent_identity_public(f->bob), 32);
    assert_int_equal(ent_op_verify(&copy), ENT_EBADSIG);
    /* sealing in someone else's name is refused */
    ent_op_header h = header(f->bob, ENT_OP_SET, 1);
    ent_op *bad;
    assert_int_equal(ent_op_seal(&bad, &h, (const uint8_t *)"\x80", 1, f->key,
                                 f->alice),
                     ENT_EINVAL);
    assert_null(bad);
    ent_op_free(op);
}

/* A set op of author in object obj (fill byte) with one parent (or none). */
static ent_op *chain_op(const fixture *f, const ent_identity *author,
                        uint8_t obj, uint64_t seq, const uint8_t *parent) {
    ent_op_body b;
    uint8_t *enc;
    size_t len;
    ent_op *op;
    make_body(&b, ENT_OP_SET, f);
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_OK);
    ent_op_header h = header(author, ENT_OP_SET, seq);
    memset(h.object, obj, 32);
    h.nparents = parent != NULL;
    if (parent != NULL)
        memcpy(h.parents[0], parent, 32);
    assert_int_equal(ent_op_seal(&op, &h, enc, len, f->key, author), ENT_OK);
    free(enc);
    ent_op_body_clear(&b);
    return op;
}

/* The same op with one byte of its signature flipped (a new id). */
static ent_op *bad_sig(ent_op *op) {
    uint8_t *buf = malloc(op->rawlen);
    ent_op *d;
    memcpy(buf, op->raw, op->rawlen);
    buf[op->rawlen - 5] ^= 0x40;
    assert_int_equal(ent_op_decode(&d, buf, op->rawlen), ENT_OK);
    assert_int_equal(ent_op_verify(d), ENT_EBADSIG);
    free(buf);
    ent_op_free(op);
    return d;
}

static size_t auth(ent_op *const *ops, size_t n, int *rcs) {
    size_t checks = 99;
    for (size_t i = 0; i < n; i++)
        rcs[i] = 12345;
    assert_int_equal(ent_op_authenticate(ops, n, rcs, &checks), ENT_OK);
    return checks;
}

/*
 * Chains: one check authenticates a backlog of one author's ops in one
 * object; nothing vouches across authors, objects or upwards in seq; a
 * forged op nobody names is refused; the order of the set does not matter.
 */
static void test_authenticate_chains(void **state) {
    fixture *f = *state;
    enum { N = 8 };
    ent_op *ops[N + 4] = {0};
    int rcs[N + 4];
    /* alice, object 0x0b, seq 1..N, each naming the previous one; op 3 is
     * made with a broken signature before op 4 names it */
    for (size_t i = 0; i < N; i++) {
        ops[i] = chain_op(f, f->alice, 0x0b, i + 1, i ? ops[i - 1]->id : NULL);
        if (i == 2)
            ops[i] = bad_sig(ops[i]);
    }
    /* bob names alice's op 6 as a parent: it vouches for nothing of hers */
    ops[N] = chain_op(f, f->bob, 0x0b, 1, ops[5]->id);
    assert_int_equal(auth(ops, N + 1, rcs), 2); /* alice's op N, bob's op */
    for (size_t i = 0; i < N + 1; i++)
        assert_int_equal(rcs[i], ENT_OK);

    /* any order: reverse it */
    ent_op *rev[N + 1];
    int rrcs[N + 1];
    for (size_t i = 0; i < N + 1; i++)
        rev[i] = ops[N - i];
    assert_int_equal(auth(rev, N + 1, rrcs), 2);
    for (size_t i = 0; i < N + 1; i++)
        assert_int_equal(rrcs[i], ENT_OK);

    /* without the op that vouches for it, op 3 is refused on its own, and
     * ops 1-2 are then vouched by nothing newer than op 2 (which verifies) */
    assert_int_equal(auth(ops, 3, rcs), 2);
    assert_int_equal(rcs[0], ENT_OK);
    assert_int_equal(rcs[1], ENT_OK);
    assert_int_equal(rcs[2], ENT_EBADSIG);

    /* the newest op's signature broken: it is refused, and op N-1 must
     * then prove itself */
    ops[N - 1] = bad_sig(ops[N - 1]);
    assert_int_equal(auth(ops, N, rcs), 2);
    assert_int_equal(rcs[N - 1], ENT_EBADSIG);
    for (size_t i = 0; i < N - 1; i++)
        assert_int_equal(rcs[i], ENT_OK);

    /* a forged "alice" op that bob names as parent stays forged */
    ent_op *forged = bad_sig(chain_op(f, f->alice, 0x0b, 1, NULL));
    ops[N + 1] = forged;
    ops[N + 2] = chain_op(f, f->bob, 0x0b, 2, forged->id);
    assert_int_equal(auth(ops + N + 1, 2, rcs), 2);
    assert_int_equal(rcs[0], ENT_EBADSIG);
    assert_int_equal(rcs[1], ENT_OK);

    /* same author, other object: no vouching; a parent claimed with an
     * equal or higher seq: no vouching */
    ent_op *x1 = bad_sig(chain_op(f, f->alice, 0x0c, 1, NULL));
    ent_op *x2 = chain_op(f, f->alice, 0x0b, 2, x1->id);
    ent_op *y1 = bad_sig(chain_op(f, f->alice, 0x0b, 5, NULL));
    ent_op *y2 = chain_op(f, f->alice, 0x0b, 5, y1->id);
    ent_op *set[5] = {x1, x2, NULL, y1, y2};
    int src[5];
    src[2] = 777; /* a NULL entry is left alone */
    assert_int_equal(auth(set, 5, src), 4);
    assert_int_equal(src[0], ENT_EBADSIG);
    assert_int_equal(src[1], ENT_OK);
    assert_int_equal(src[2], 12345);
    assert_int_equal(src[3], ENT_EBADSIG);
    assert_int_equal(src[4], ENT_OK);
    assert_int_equal(auth(set, 0, src), 0);

    ent_op_free(x1);
    ent_op_free(x2);
    ent_op_free(y1);
    ent_op_free(y2);
    for (size_t i = 0; i < N + 3; i++)
        ent_op_free(ops[i]);
}

static void test_version_and_kind(void **state) {
    fixture *f = *state;
    ent_op *op = sealed_set_op(f, NULL), *d;
    ent_op_header h = header(f->alice, ENT_OP_SET, 1);
    h.version = 2;
    assert_int_equal(ent_op_seal(&d, &h, NULL, 0, f->key, f->alice),
                     ENT_EVERSION);
    uint8_t *buf = malloc(op->rawlen);
    memcpy(buf, op->raw, op->rawlen);
    assert_int_equal(buf[0], 0x84); /* [header, nonce, ct, sig] */
    assert_int_equal(buf[1], 0x88); /* header: 8 items */
    assert_int_equal(buf[2], 0x01); /* version 1 */
    buf[2] = 0x02;
    assert_int_equal(ent_op_decode(&d, buf, op->rawlen), ENT_EVERSION);
    buf[2] = 0x00;
    assert_int_equal(ent_op_decode(&d, buf, op->rawlen), ENT_EVERSION);
    /* a future version may change the op's shape: still EVERSION */
    uint8_t future[16];
    ent_cbor_writer w;
    ent_cbor_writer_init(&w, future, sizeof(future));
    ent_cbor_write_array(&w, 2);
    ent_cbor_write_array(&w, 2);
    ent_cbor_write_uint(&w, 2);
    ent_cbor_write_text(&w, "new", 3);
    ent_cbor_write_bytes(&w, "", 0);
    assert_int_equal(w.err, ENT_OK);
    assert_int_equal(ent_op_decode(&d, future, w.len), ENT_EVERSION);
    memcpy(buf, op->raw, op->rawlen);
    size_t kind_at = op->hdr_off + op->hdr_len - 1;
    assert_int_equal(buf[kind_at], ENT_OP_SET);
    buf[kind_at] = ENT_OP_KIND__COUNT; /* no such kind */
    assert_int_equal(ent_op_decode(&d, buf, op->rawlen), ENT_EVERSION);
    free(buf);
    ent_op_free(op);
}

static void test_sizes_and_trailing(void **state) {
    fixture *f = *state;
    ent_op *op = sealed_set_op(f, NULL), *d;
    /* trailing byte */
    uint8_t *buf = malloc(ENT_OP_MAX_SIZE + 16);
    memcpy(buf, op->raw, op->rawlen);
    buf[op->rawlen] = 0x00;
    assert_int_equal(ent_op_decode(&d, buf, op->rawlen + 1), ENT_ECORRUPT);
    assert_null(d);
    /* every truncation */
    for (size_t n = 0; n < op->rawlen; n++)
        assert_int_equal(ent_op_decode(&d, buf, n), ENT_ETRUNCATED);
    /* oversize input is refused before anything is parsed */
    memset(buf, 0, ENT_OP_MAX_SIZE + 1);
    assert_int_equal(ent_op_decode(&d, buf, ENT_OP_MAX_SIZE + 1),
                     ENT_ETOOBIG);
    /* a body that would push the op over 64 KiB cannot be sealed; one that
     * fits can, and decodes */
    ent_op_header h = header(f->alice, ENT_OP_COMMENT, 2);
    memset(buf, 'a', ENT_OP_MAX_SIZE);
    assert_int_equal(ent_op_seal(&d, &h, buf, ENT_OP_MAX_SIZE - 100, f->key,
                                 f->alice),
                     ENT_ETOOBIG);
    assert_int_equal(ent_op_seal(&d, &h, buf, ENT_OP_MAX_SIZE + 1, f->key,
                                 f->alice),
                     ENT_ETOOBIG);
    assert_int_equal(ent_op_seal(&d, &h, buf, ENT_OP_MAX_SIZE - 500, f->key,
                                 f->alice),
                     ENT_OK);
    assert_true(d->rawlen <= ENT_OP_MAX_SIZE);
    ent_op *d2;
    assert_int_equal(ent_op_decode(&d2, d->raw, d->rawlen), ENT_OK);
    assert_int_equal(ent_op_verify(d2), ENT_OK);
    ent_op_free(d2);
    ent_op_free(d);
    free(buf);
    ent_op_free(op);
}

/* The body is encrypted: neither a shared value nor a field name is
 * visible in the op, and a private value was never in it. */
static void test_body_is_encrypted(void **state) {
    fixture *f = *state;
    const char *private_canary = "PRIVATE-CANARY-7f3a9c";
    const char *shared = "SHARED-PLAINTEXT-51be";
    ent_op *op = sealed_set_op(f, shared);
    assert_null(memmem(op->raw, op->rawlen, private_canary,
                       strlen(private_canary)));
    assert_null(memmem(op->raw, op->rawlen, shared, strlen(shared)));
    assert_null(memmem(op->raw, op->rawlen, "stage_note", 10));
    assert_null(memmem(op->raw, op->rawlen, "EUR", 3));
    /* ...while the opened body does hold the shared value */
    uint8_t *pt;
    size_t ptlen;
    assert_int_equal(ent_op_open(op, f->key, &pt, &ptlen), ENT_OK);
    assert_non_null(memmem(pt, ptlen, shared, strlen(shared)));
    assert_null(memmem(pt, ptlen, private_canary, strlen(private_canary)));
    free(pt);
    ent_op_free(op);
}

static void test_genesis_and_header_rules(void **state) {
    fixture *f = *state;
    ent_op *g, *d, *x;
    ent_op_header h = header(f->alice, ENT_OP_CREATE, 1);
    memset(h.object, 0xee, 32); /* ignored for a genesis op */
    assert_int_equal(ent_op_seal(&g, &h, NULL, 0, f->key, f->alice), ENT_OK);
    assert_int_equal(ent_op_decode(&d, g->raw, g->rawlen), ENT_OK);
    assert_true(d->h.genesis);
    assert_int_equal(d->h.nparents, 0);
    static const uint8_t zero[32];
    assert_memory_equal(d->h.object, zero, 32);
    assert_memory_equal(g->h.object, zero, 32);
    /* the object id is the genesis op's id; later ops name it */
    ent_op_header s = header(f->alice, ENT_OP_SET, 2);
    memcpy(s.object, d->id, 32);
    s.nparents = 1;
    memcpy(s.parents[0], d->id, 32);
    assert_int_equal(ent_op_seal(&x, &s, NULL, 0, f->key, f->alice), ENT_OK);
    assert_memory_equal(x->h.object, g->id, 32);
    ent_op_free(x);

    /* rules at seal time */
    ent_op_header bad = header(f->alice, ENT_OP_SET, 1);
    bad.genesis = true;
    assert_int_equal(ent_op_seal(&x, &bad, NULL, 0, f->key, f->alice),
                     ENT_EINVAL);
    bad = header(f->alice, ENT_OP_SET, 0); /* seq starts at 1 */
    assert_int_equal(ent_op_seal(&x, &bad, NULL, 0, f->key, f->alice),
                     ENT_EINVAL);
    bad = header(f->alice, ENT_OP_SET, 1);
    memset(bad.parents[1], 0x01, 32); /* unsorted */
    assert_int_equal(ent_op_seal(&x, &bad, NULL, 0, f->key, f->alice),
                     ENT_EINVAL);
    memcpy(bad.parents[1], bad.parents[0], 32); /* duplicate */
    assert_int_equal(ent_op_seal(&x, &bad, NULL, 0, f->key, f->alice),
                     ENT_EINVAL);
    bad = header(f->alice, ENT_OP_SET, 1);
    bad.nparents = ENT_OP_MAX_PARENTS + 1;
    assert_int_equal(ent_op_seal(&x, &bad, NULL, 0, f->key, f->alice),
                     ENT_EINVAL);
    bad = header(f->alice, ENT_OP_CREATE, 1);
    bad.nparents = 1;
    assert_int_equal(ent_op_seal(&x, &bad, NULL, 0, f->key, f->alice),
                     ENT_EINVAL);
    /* sixteen parents are fine */
    bad = header(f->alice, ENT_OP_SET, 1);
    bad.nparents = ENT_OP_MAX_PARENTS;
    for (size_t i = 0; i < ENT_OP_MAX_PARENTS; i++)
        memset(bad.parents[i], (int)i + 1, 32);
    assert_int_equal(ent_op_seal(&x, &bad, NULL, 0, f->key, f->alice), ENT_OK);
    ent_op_free(x);

    /* rules at decode time: swap the two parents of a sealed op */
    ent_op *op = sealed_set_op(f, NULL);
    uint8_t *buf = malloc(op->rawlen);
    memcpy(buf, op->raw, op->rawlen);
    uint8_t *p0 = memmem(buf, op->rawlen, op->h.parents[0], 32);
    uint8_t *p1 = memmem(buf, op->rawlen, op->h.parents[1], 32);
    assert_non_null(p0);
    assert_true(p1 == p0 + 34); /* bstr head 0x58 0x20 between */
    memcpy(p0, op->h.parents[1], 32);
    memcpy(p1, op->h.parents[0], 32);
    assert_int_equal(ent_op_decode(&x, buf, op->rawlen), ENT_ENONCANON);
    memcpy(p1, op->h.parents[1], 32); /* duplicate */
    assert_int_equal(ent_op_decode(&x, buf, op->rawlen), ENT_ENONCANON);
    free(buf);
    ent_op_free(op);
    ent_op_free(d);
    ent_op_free(g);
}

static void test_body_rules(void **state) {
    fixture *f = *state;
    ent_op_body b;
    uint8_t *enc;
    size_t len;
    /* fields come out sorted by encoded name, whatever the input order */
    make_body(&b, ENT_OP_SET, f);
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_OK);
    uint8_t *close = memmem(enc, len, "\x65" "close", 6);
    uint8_t *seats = memmem(enc, len, "\x65" "seats", 6);
    uint8_t *amount = memmem(enc, len, "\x66" "amount", 7);
    uint8_t *note = memmem(enc, len, "\x6a" "stage_note", 11);
    assert_true(close && seats && amount && note);
    assert_true(close < seats && seats < amount && amount < note);
    free(enc);

    /* duplicate name */
    strcpy(b.fields[1].name, "close");
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    strcpy(b.fields[1].name, "amount");
    /* bad currency */
    strcpy(b.fields[1].v.u.money.cur, "eur");
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    strcpy(b.fields[1].v.u.money.cur, "EUR");
    /* empty and over-long names */
    b.fields[2].name[0] = '\0';
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    memset(b.fields[2].name, 'n', sizeof(b.fields[2].name)); /* no NUL */
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    memset(b.fields[2].name, 'n', ENT_OP_NAME_MAX);
    b.fields[2].name[ENT_OP_NAME_MAX] = '\0'; /* exactly 64: fine */
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_OK);
    free(enc);
    /* invalid UTF-8 and over-long text values */
    free(b.fields[0].v.u.text.s);
    set_text(&b.fields[0].v, ENT_VT_TEXT, "bad \xc3\x28");
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    free(b.fields[0].v.u.text.s);
    b.fields[0].v.u.text.s = malloc(ENT_VALUE_TEXT_MAX + 2);
    memset(b.fields[0].v.u.text.s, 'x', ENT_VALUE_TEXT_MAX + 1);
    b.fields[0].v.u.text.s[ENT_VALUE_TEXT_MAX + 1] = '\0';
    b.fields[0].v.u.text.len = ENT_VALUE_TEXT_MAX + 1;
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    b.fields[0].v.u.text.len = ENT_VALUE_TEXT_MAX;
    b.fields[0].v.u.text.s[ENT_VALUE_TEXT_MAX] = '\0';
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_OK);
    free(enc);
    /* unknown value type */
    b.fields[6].v.type = (ent_vtype)9;
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    b.fields[6].v.type = ENT_VT_NULL;
    /* too many fields */
    size_t n = b.nfields;
    b.nfields = ENT_OP_MAX_FIELDS + 1;
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    b.nfields = n;
    ent_op_body_clear(&b);
    assert_null(b.fields);

    /* roles, key order, stage length */
    make_body(&b, ENT_OP_ADD_MEMBER, f);
    b.role = ENT_ROLE__COUNT;
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    b.role = ENT_ROLE_VIEWER;
    b.ekeys[1].epoch = b.ekeys[0].epoch;
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    ent_op_body_clear(&b);
    make_body(&b, ENT_OP_ROTATE_KEY, f);
    memset(b.mkeys[2].org, 0x01, 32);
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    ent_op_body_clear(&b);
    make_body(&b, ENT_OP_STAGE, f);
    free(b.text);
    b.text = calloc(1, 1);
    b.textlen = 0;
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
    ent_op_body_clear(&b);
    b.kind = ENT_OP_KIND__COUNT;
    assert_int_equal(ent_op_body_encode(&b, &enc, &len), ENT_EINVAL);
}

static void test_body_decode_rejects(void **state) {
    (void)state;
    ent_op_body b;
    /* hand-made bodies that are canonical CBOR but not valid bodies */
    static const struct {
        uint8_t kind;
        const char *hex;
        int rc;
    } cases[] = {
        {ENT_OP_SET, "81a0", ENT_OK},                       /* no fields */
        {ENT_OP_SET, "81a16161820200", ENT_OK},             /* a: int 0 */
        {ENT_OP_SET, "81a16161820900", ENT_ECORRUPT},       /* type 9 */
        {ENT_OP_SET, "81a1616182075820" /* a ref: 32 bytes */
                     "0102030405060708090a0b0c0d0e0f10"
                     "1112131415161718191a1b1c1d1e1f20", ENT_OK},
        {ENT_OP_SET, "81a1616182075819" /* a ref of 25 bytes */
                     "0102030405060708090a0b0c0d0e0f10"
                     "111213141516171819", ENT_ECORRUPT},
        {ENT_OP_SET, "81a16161820761" "61", ENT_ECORRUPT}, /* ref as text */
        {ENT_OP_SET, "81a1616182020000", ENT_ECORRUPT},     /* trailing */
        {ENT_OP_SET, "81a16161830200", ENT_ETRUNCATED},
        {ENT_OP_SET, "81a1616182031b", ENT_ETRUNCATED},
        {ENT_OP_SET, "81a16161820382016345", ENT_ETRUNCATED},
        {ENT_OP_SET, "81a161618203820163455552", ENT_OK},   /* 1 EUR... */
        {ENT_OP_SET, "81a161618203820163657572", ENT_ECORRUPT}, /* eur */
        {ENT_OP_SET, "81a16161820262c328", ENT_ECORRUPT},   /* bad UTF-8 */
        {ENT_OP_SET, "81a1616182021b8000000000000000", ENT_ECORRUPT},
        {ENT_OP_SET, "81a16161820161" "00", ENT_ECORRUPT},  /* NUL in text */
        {ENT_OP_SET, "81a1608202" "00", ENT_ECORRUPT},      /* empty name */
        {ENT_OP_SET, "81a2616182020061618202" "00", ENT_ENONCANON}, /* dup */
        {ENT_OP_SET, "81a1616182f5f5", ENT_ECORRUPT},       /* wrong shape */
        {ENT_OP_SET, "81a1616182041a80000000", ENT_ECORRUPT}, /* date > int32 */
        {ENT_OP_SET, "82a0a0", ENT_ECORRUPT},               /* 2 items */
        {ENT_OP_SET, "81f93c00", ENT_ENONCANON},            /* float */
        {ENT_OP_STAGE, "8160", ENT_ECORRUPT},               /* empty stage */
        {ENT_OP_COMMENT, "8160", ENT_OK},
        {ENT_OP_APPROVE, "836161" "00" "60", ENT_OK},
        {ENT_OP_APPROVE, "836161" "02" "60", ENT_ECORRUPT},  /* decision 2 */
        {ENT_OP_APPROVE, "8360" "00" "60", ENT_ECORRUPT},    /* empty step */
        {ENT_OP_APPROVE, "826161" "00", ENT_ECORRUPT},       /* 2 items */
        {ENT_OP_RULES, "8140", ENT_ECORRUPT},                /* no rules */
        {ENT_OP_RULES, "814101", ENT_OK},   /* opaque to the record */
        {ENT_OP_CREATE, "836161a04101", ENT_OK},             /* with rules */
        {ENT_OP_CREATE, "836161a040", ENT_ECORRUPT},         /* empty rules */
        {ENT_OP_ROTATE_KEY, "820180", ENT_OK},
        {ENT_OP_ADD_MEMBER, "83582000000000000000000000000000000000000000"
                            "000000000000000000000000000480",
         ENT_ECORRUPT}, /* role 4 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t buf[128];
        size_t n = strlen(cases[i].hex) / 2;
        assert_true(n <= sizeof(buf));
        for (size_t j = 0; j < n; j++) {
            unsigned v;
            sscanf(cases[i].hex + 2 * j, "%2x", &v);
            buf[j] = (uint8_t)v;
        }
        int rc = ent_op_body_decode(&b, cases[i].kind, buf, n);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): got %s want %s", i, cases[i].hex,
                     ent_err_name(rc), ent_err_name(cases[i].rc));
        if (rc != ENT_OK) {
            assert_null(b.fields);
            assert_int_equal(b.nfields, 0);
        }
        ent_op_body_clear(&b);
    }
    assert_int_equal(ent_op_body_decode(&b, ENT_OP_KIND__COUNT,
                                        (const uint8_t *)"\x80", 1),
                     ENT_EVERSION);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_kind),
        cmocka_unit_test(test_every_bit_flip_detected),
        cmocka_unit_test(test_wrong_key_and_author),
        cmocka_unit_test(test_authenticate_chains),
        cmocka_unit_test(test_version_and_kind),
        cmocka_unit_test(test_sizes_and_trailing),
        cmocka_unit_test(test_body_is_encrypted),
        cmocka_unit_test(test_genesis_and_header_rules),
        cmocka_unit_test(test_body_rules),
        cmocka_unit_test(test_body_decode_rejects),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
