/* invite_test.c - invite tokens, join proofs, invite records, safety codes,
 * durations and the keyed BLAKE2b MAC (crypto.h). */
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
#include "node/err.h"
#include "node/peers/invite.h"
#include "node/log.h"
#include "storage/store.h"
#include "tests/store_fixture.h"

#define NOW 1700000000ull

static const char B32[] = "abcdefghijklmnopqrstuvwxyz234567";

/* ---- helpers ---- */

static ent_identity *identity(uint8_t fill) {
    uint8_t seed[ENT_SIG_SEED_LEN];
    ent_identity *id = NULL;

    memset(seed, fill, sizeof(seed));
    assert_int_equal(ent_identity_from_seed(&id, seed), ENT_OK);
    return id;
}

static void make_invite(ent_invite *inv, const uint8_t inviter[ENT_PK_LEN],
                        uint8_t role) {
    uint8_t object[ENT_INVITE_OBJECT_LEN];

    memset(object, 0x5a, sizeof(object));
    assert_int_equal(
        ent_invite_init(inv, inviter, object, "opportunity", role, NOW + 3600),
        ENT_OK);
    assert_int_equal(ent_invite_add_addr(inv, "203.0.113.7:7400"), ENT_OK);
    assert_int_equal(ent_invite_add_addr(inv, "[2001:db8::7]:7400"), ENT_OK);
    assert_int_equal(ent_invite_add_addr(inv, "node.acme.example:65535"),
                     ENT_OK);
}

static void assert_invite_equal(const ent_invite *a, const ent_invite *b) {
    assert_int_equal(a->version, b->version);
    assert_memory_equal(a->inviter, b->inviter, ENT_PK_LEN);
    assert_memory_equal(a->object, b->object, ENT_INVITE_OBJECT_LEN);
    assert_string_equal(a->type, b->type);
    assert_int_equal(a->role, b->role);
    assert_true(a->expiry == b->expiry);
    assert_memory_equal(a->id, b->id, ENT_INVITE_ID_LEN);
    assert_memory_equal(a->secret, b->secret, ENT_INVITE_SECRET_LEN);
    assert_int_equal(a->n_addrs, b->n_addrs);
    for (unsigned i = 0; i < a->n_addrs; i++)
        assert_string_equal(a->addrs[i], b->addrs[i]);
}

static int parse_str(const char *s, ent_invite *out) {
    return ent_invite_token_parse(s, strlen(s), out);
}

/*
 * Builds "ent1" + base32(payload || checksum) from raw payload bytes, with
 * the checksum of spec/invites.md, so tests can forge well-checksummed
 * tokens with bad fields. The caller frees the result.
 */
static char *token_from_payload(const uint8_t *p, size_t len) {
    static const char dom[] = "entente/v1/invite-checksum";
    uint8_t buf[1024];
    uint8_t h[ENT_HASH_LEN];
    size_t tlen;
    char *t;

    assert_true(len + ENT_INVITE_CHECKSUM_LEN <= sizeof(buf));
    memcpy(buf, p, len);
    ent_hash2(h, dom, sizeof(dom), p, len);
    memcpy(buf + len, h, ENT_INVITE_CHECKSUM_LEN);
    len += ENT_INVITE_CHECKSUM_LEN;
    tlen = 4 + ent_base32_encoded_len(len) + 1;
    t = malloc(tlen);
    assert_non_null(t);
    memcpy(t, "ent1", 4);
    assert_int_equal(ent_base32_encode(t + 4, tlen - 4, buf, len), ENT_OK);
    return t;
}

/* Decodes a token made by ent_invite_token_encode into its payload (without
 * the checksum). */
static size_t token_payload(const char *tok, uint8_t *out, size_t cap) {
    size_t n = 0;
    assert_int_equal(ent_base32_decode(out, cap, &n, tok + 4, strlen(tok) - 4),
                     ENT_OK);
    assert_true(n > ENT_INVITE_CHECKSUM_LEN);
    return n - ENT_INVITE_CHECKSUM_LEN;
}

/* Offsets in the payload (spec/invites.md section 1). */
#define P_VERSION 0
#define P_ROLE 65
#define P_NADDRS 122
#define P_ADDR0 123
/* Version 2, one 16-byte address: the type length after it. */
#define P_TYPE_LEN (P_ADDR0 + 1 + 16)

/* ---- keyed MAC (crypto.h) ---- */

static void test_mac(void **state) {
    /* BLAKE2b-256 keyed with "k"*32 over "abc": Python hashlib.blake2b(
     * b"abc", key=b"k"*32, digest_size=32). */
    static const char want_hex[] =
        "0a9b1f4f633832a535f3e4539d906998c3814fbcd4cc136e57e8ea742ac36b61";
    uint8_t key[ENT_KEY_LEN], want[ENT_MAC_LEN], tag[ENT_MAC_LEN];

    memset(key, 'k', sizeof(key));
    assert_int_equal(ent_hex_decode(want, sizeof(want), want_hex), ENT_OK);
    assert_int_equal(ent_mac(tag, key, "abc", 3), ENT_OK);
    assert_memory_equal(tag, want, sizeof(tag));
    assert_int_equal(ent_mac_verify(tag, key, "abc", 3), ENT_OK);
    assert_int_equal(ent_mac_verify(tag, key, "abd", 3), ENT_EBADSIG);
    tag[31] ^= 1;
    assert_int_equal(ent_mac_verify(tag, key, "abc", 3), ENT_EBADSIG);
    tag[31] ^= 1;
    key[0] ^= 1;
    assert_int_equal(ent_mac_verify(tag, key, "abc", 3), ENT_EBADSIG);
    /* A keyed MAC is not the plain hash. */
    ent_hash(want, "abc", 3);
    assert_memory_not_equal(tag, want, sizeof(tag));
    assert_int_equal(ent_mac(tag, key, NULL, 0), ENT_OK);
    assert_int_equal(ent_mac(tag, key, NULL, 1), ENT_EINVAL);
}

/* ---- tokens ---- */

/* The token of a fresh invite (make_invite) of role by id's org, *len
 * its length; *inv is the invite. The caller frees the token. */
static char *token_new(ent_invite *inv, const ent_identity *id, uint8_t role,
                       size_t *len) {
    char *tok = NULL;
    make_invite(inv, ent_identity_public(id), role);
    assert_int_equal(ent_invite_token_encode(inv, &tok), ENT_OK);
    *len = strlen(tok);
    return tok;
}

static void test_token_round_trip(void **state) {
    ent_identity *id = identity(1);
    ent_invite inv, back;
    char *tok = NULL;

    for (uint8_t role = 1; role <= 3; role++) {
        make_invite(&inv, ent_identity_public(id), role);
        assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_OK);
        assert_non_null(tok);
        assert_memory_equal(tok, "ent1", 4);
        for (size_t i = 4; tok[i] != '\0'; i++)
            assert_non_null(strchr(B32, tok[i]));
        assert_true(strlen(tok) < ENT_INVITE_MAX_TEXT);
        assert_int_equal(parse_str(tok, &back), ENT_OK);
        assert_invite_equal(&inv, &back);
        assert_int_equal(back.version, ENT_INVITE_VERSION);
        assert_string_equal(back.type, "opportunity");
        assert_int_equal(ent_invite_check_expiry(&back, NOW), ENT_OK);
        ent_wipe(tok, strlen(tok));
        free(tok);
        tok = NULL;
    }

    /* Two invites of the same object differ in id and secret. */
    make_invite(&back, ent_identity_public(id), 2);
    assert_memory_not_equal(inv.id, back.id, ENT_INVITE_ID_LEN);
    assert_memory_not_equal(inv.secret, back.secret, ENT_INVITE_SECRET_LEN);

    /* The largest invite: 8 addresses of 64 bytes and a 32-byte type. */
    make_invite(&inv, ent_identity_public(id), 2);
    memset(inv.type, 'x', ENT_INVITE_MAX_TYPE_LEN);
    inv.type[ENT_INVITE_MAX_TYPE_LEN] = '\0';
    inv.n_addrs = 0;
    for (int i = 0; i < ENT_INVITE_MAX_ADDRS; i++) {
        char a[ENT_INVITE_MAX_ADDR_LEN + 1];
        memset(a, 'a' + i, 58);
        memcpy(a + 58, ".x:123", 7); /* 64 bytes */
        a[4] = '.';
        assert_int_equal(strlen(a), ENT_INVITE_MAX_ADDR_LEN);
        assert_int_equal(ent_invite_add_addr(&inv, a), ENT_OK);
    }
    assert_int_equal(ent_invite_add_addr(&inv, "a.b:1"), ENT_ELIMIT);
    assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_OK);
    assert_int_equal(strlen(tok), 1099); /* spec/invites.md section 2 */
    assert_int_equal(parse_str(tok, &back), ENT_OK);
    assert_invite_equal(&inv, &back);
    free(tok);

    /* The encoder refuses what the parser would refuse. */
    inv.n_addrs = 0;
    assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_EINVAL);
    assert_null(tok);
    make_invite(&inv, ent_identity_public(id), 2);
    inv.role = 0;
    assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_EINVAL);
    inv.role = 2;
    strcpy(inv.addrs[0], "bad address");
    assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_EINVAL);
    strcpy(inv.addrs[0], "a.b:1");
    strcpy(inv.type, "Opportunity");
    assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_EINVAL);
    inv.type[0] = '\0'; /* version 2 needs a type */
    assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_EINVAL);
    inv.version = ENT_INVITE_VERSION_1; /* and version 1 has none */
    assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_OK);
    free(tok);
    tok = NULL;
    strcpy(inv.type, "deal");
    assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_EINVAL);
    inv.version = 3;
    assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_EINVAL);
    assert_null(tok);

    /* The type is a type name ([a-z][a-z0-9_]{0,31}), as for templates. */
    uint8_t objx[ENT_INVITE_OBJECT_LEN];
    memset(objx, 0x5a, sizeof(objx));
    static const char *const bad_types[] = {
        "",
        "Deal",
        "1deal",
        "_deal",
        "deal-x",
        "deal x",
        "d\xc3\xa9"
        "al",
        "abcdefghijklmnopqrstuvwxyz0123456"}; /* 33 bytes */
    for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++)
        assert_int_equal(ent_invite_init(&inv, ent_identity_public(id), objx,
                                         bad_types[i], 2, NOW + 1),
                         ENT_EINVAL);
    assert_int_equal(ent_invite_init(&inv, ent_identity_public(id), objx,
                                     "abcdefghijklmnopqrstuvwxyz012345", 2,
                                     NOW + 1),
                     ENT_OK);
    assert_false(ent_invite_type_valid("deal\0x", 6));
    assert_true(ent_invite_type_valid("deal\0x", 4));

    /* A version-1 invite (type NULL) round-trips as version 1. */
    make_invite(&inv, ent_identity_public(id), 2);
    assert_int_equal(
        ent_invite_init(&inv, ent_identity_public(id), objx, NULL, 2, NOW + 1),
        ENT_OK);
    assert_int_equal(ent_invite_add_addr(&inv, "a.b:1"), ENT_OK);
    assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_OK);
    assert_int_equal(parse_str(tok, &back), ENT_OK);
    assert_int_equal(back.version, ENT_INVITE_VERSION_1);
    assert_string_equal(back.type, "");
    assert_invite_equal(&inv, &back);
    free(tok);
    tok = NULL;

    /* Owner is never invitable. */
    assert_int_equal(ent_invite_init(&inv, ent_identity_public(id), inv.object,
                                     "deal", 0, NOW + 1),
                     ENT_EINVAL);
    assert_int_equal(ent_invite_init(&inv, ent_identity_public(id), inv.object,
                                     "deal", 4, NOW + 1),
                     ENT_EINVAL);

    /* clear wipes the secret */
    make_invite(&inv, ent_identity_public(id), 2);
    ent_invite_clear(&inv);
    uint8_t zero[ENT_INVITE_SECRET_LEN] = {0};
    assert_memory_equal(inv.secret, zero, sizeof(zero));
    ent_identity_free(id);
}

/*
 * Every single-character substitution in the base32 part is rejected: the
 * parser never accepts a mistyped token as some other valid invite.
 */
static void substitutions(int version) {
    ent_identity *id = identity(2);
    ent_invite inv, back;
    char *tok = NULL;
    size_t len, tried = 0, checksum = 0;
    static const char others[] = "ABZ0189 -=_.\t";

    make_invite(&inv, ent_identity_public(id), 2);
    if (version == ENT_INVITE_VERSION_1) {
        inv.version = ENT_INVITE_VERSION_1;
        inv.type[0] = '\0';
    }
    assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_OK);
    len = strlen(tok);
    for (size_t i = 4; i < len; i++) {
        char orig = tok[i];
        for (const char *c = B32; *c != '\0'; c++) {
            if (*c == orig)
                continue;
            tok[i] = *c;
            int rc = ent_invite_token_parse(tok, len, &back);
            assert_true(rc == ENT_ECHECKSUM || rc == ENT_ECORRUPT);
            if (rc == ENT_ECHECKSUM)
                checksum++;
            tried++;
        }
        for (const char *c = others; *c != '\0'; c++) {
            tok[i] = *c;
            int rc = ent_invite_token_parse(tok, len, &back);
            if (i == len - 1 && (*c == ' ' || *c == '\t'))
                /* trailing white space is trimmed: one character short,
                 * which decodes when the dropped character's bits happen
                 * to be unused (about 1 run in 20) and fails the checksum */
                assert_true(rc == ENT_ECORRUPT || rc == ENT_ECHECKSUM ||
                            rc == ENT_ETRUNCATED);
            else
                assert_int_equal(rc, ENT_ECORRUPT);
        }
        tok[i] = orig;
    }
    /* Only the last character (its unused low bits) may fail to decode. */
    assert_true(checksum + 31 >= tried);
    assert_int_equal(ent_invite_token_parse(tok, len, &back), ENT_OK);
    /* Adjacent transpositions are caught too. */
    for (size_t i = 4; i + 1 < len; i++) {
        if (tok[i] == tok[i + 1])
            continue;
        char t = tok[i];
        tok[i] = tok[i + 1];
        tok[i + 1] = t;
        int rc = ent_invite_token_parse(tok, len, &back);
        assert_true(rc == ENT_ECHECKSUM || rc == ENT_ECORRUPT);
        tok[i + 1] = tok[i];
        tok[i] = t;
    }
    free(tok);
    ent_identity_free(id);
}

static void test_token_substitutions(void **state) {
    substitutions(ENT_INVITE_VERSION);
    substitutions(ENT_INVITE_VERSION_1);
}

static void test_token_truncated_extended(void **state) {
    ent_identity *id = identity(3);
    ent_invite inv, back;
    char *tok = NULL, buf[ENT_INVITE_MAX_TEXT + 16];
    size_t len;

    tok = token_new(&inv, id, 2, &len);
    for (size_t n = 0; n < len; n++) {
        int rc = ent_invite_token_parse(tok, n, &back);
        assert_int_not_equal(rc, ENT_OK);
        if (n >= 8)
            assert_true(rc == ENT_ECHECKSUM || rc == ENT_ECORRUPT ||
                        rc == ENT_ETRUNCATED);
    }
    /* Dropping characters at the front of the base32 part. */
    for (size_t n = 1; n < 20; n++) {
        snprintf(buf, sizeof(buf), "ent1%s", tok + 4 + n);
        assert_int_not_equal(parse_str(buf, &back), ENT_OK);
    }
    /* Extra base32 characters at the end. */
    for (size_t n = 1; n <= 16; n++) {
        memcpy(buf, tok, len);
        memset(buf + len, 'a', n);
        buf[len + n] = '\0';
        int rc = parse_str(buf, &back);
        assert_true(rc == ENT_ECHECKSUM || rc == ENT_ECORRUPT);
    }
    /* Two tokens pasted together. */
    snprintf(buf, sizeof(buf), "%s%s", tok, tok + 4);
    assert_int_not_equal(parse_str(buf, &back), ENT_OK);
    /* Too long, even if mostly whitespace. */
    memset(buf, ' ', ENT_INVITE_MAX_TEXT + 1);
    memcpy(buf, tok, len);
    assert_int_equal(
        ent_invite_token_parse(buf, ENT_INVITE_MAX_TEXT + 1, &back),
        ENT_ETOOBIG);
    assert_int_equal(ent_invite_token_parse(buf, ENT_INVITE_MAX_TEXT, &back),
                     ENT_OK);
    /* A failed parse leaves no secret behind. */
    memset(&back, 0xff, sizeof(back));
    assert_int_equal(ent_invite_token_parse(tok, len - 1, &back) == ENT_OK, 0);
    uint8_t zero[ENT_INVITE_SECRET_LEN] = {0};
    assert_memory_equal(back.secret, zero, sizeof(zero));
    free(tok);
    ent_identity_free(id);
}

static void test_token_prefix_and_whitespace(void **state) {
    ent_identity *id = identity(4);
    ent_invite inv, back;
    char *tok = NULL, buf[ENT_INVITE_MAX_TEXT + 16];
    size_t len;

    tok = token_new(&inv, id, 3, &len);

    snprintf(buf, sizeof(buf), "  \t%s\r\n", tok);
    assert_int_equal(parse_str(buf, &back), ENT_OK);
    assert_invite_equal(&inv, &back);
    snprintf(buf, sizeof(buf), "%s\n", tok);
    assert_int_equal(parse_str(buf, &back), ENT_OK);

    /* Inner whitespace, uppercase: not strict base32. */
    snprintf(buf, sizeof(buf), "%.*s %s", 20, tok, tok + 20);
    assert_int_equal(parse_str(buf, &back), ENT_ECORRUPT);
    snprintf(buf, sizeof(buf), "%.*s\n%s", 20, tok, tok + 20);
    assert_int_equal(parse_str(buf, &back), ENT_ECORRUPT);
    snprintf(buf, sizeof(buf), "%s", tok);
    for (size_t i = 4; i < len; i++)
        if (buf[i] >= 'a' && buf[i] <= 'z')
            buf[i] = (char)(buf[i] - 'a' + 'A');
    assert_int_equal(parse_str(buf, &back), ENT_ECORRUPT);
    /* An embedded NUL within len. */
    memcpy(buf, tok, len);
    buf[10] = '\0';
    assert_int_equal(ent_invite_token_parse(buf, len, &back), ENT_ECORRUPT);

    /* Prefix: other text-form versions, not a token at all. */
    snprintf(buf, sizeof(buf), "ent2%s", tok + 4);
    assert_int_equal(parse_str(buf, &back), ENT_EVERSION);
    snprintf(buf, sizeof(buf), "ent0%s", tok + 4);
    assert_int_equal(parse_str(buf, &back), ENT_EVERSION);
    snprintf(buf, sizeof(buf), "enx1%s", tok + 4);
    assert_int_equal(parse_str(buf, &back), ENT_EINVAL);
    snprintf(buf, sizeof(buf), "enta%s", tok + 4);
    assert_int_equal(parse_str(buf, &back), ENT_EINVAL);
    assert_int_equal(parse_str("", &back), ENT_EINVAL);
    assert_int_equal(parse_str(" \n", &back), ENT_EINVAL);
    assert_int_equal(parse_str("ent", &back), ENT_EINVAL);
    assert_int_equal(parse_str("ent1", &back), ENT_ETRUNCATED);
    assert_int_equal(parse_str("ent1aaaaaaaa", &back), ENT_ETRUNCATED);
    assert_int_equal(ent_invite_token_parse(NULL, 0, &back), ENT_EINVAL);
    free(tok);
    ent_identity_free(id);
}

/* Forged tokens with a correct checksum but bad fields. */
static void test_token_bad_fields(void **state) {
    ent_identity *id = identity(5);
    ent_invite inv, back;
    uint8_t p[1024], q[1024];
    char *tok = NULL, *t;
    size_t n;

    /* Version 1 (the v2 type is checked in test_token_v2_type). */
    make_invite(&inv, ent_identity_public(id), 2);
    inv.version = ENT_INVITE_VERSION_1;
    inv.type[0] = '\0';
    inv.n_addrs = 1; /* "203.0.113.7:7400" */
    assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_OK);
    n = token_payload(tok, p, sizeof(p));
    assert_int_equal(n, P_ADDR0 + 1 + 16);
    assert_int_equal(p[P_VERSION], 1);
    assert_int_equal(p[P_ROLE], 2);
    assert_int_equal(p[P_NADDRS], 1);
    assert_int_equal(p[P_ADDR0], 16);

    /* The forging helper itself reproduces the real token. */
    t = token_from_payload(p, n);
    assert_string_equal(t, tok);
    free(t);

    static const struct {
        size_t off;
        uint8_t val;
        int want;
    } cases[] = {
        {P_VERSION, 0, ENT_EVERSION},      {P_VERSION, 3, ENT_EVERSION},
        {P_VERSION, 2, ENT_ECORRUPT}, /* version 2 wants a type after */
        {P_VERSION, 255, ENT_EVERSION},    {P_ROLE, 0, ENT_ECORRUPT},
        {P_ROLE, 4, ENT_ECORRUPT},         {P_ROLE, 255, ENT_ECORRUPT},
        {P_NADDRS, 0, ENT_ECORRUPT},       {P_NADDRS, 2, ENT_ECORRUPT},
        {P_NADDRS, 9, ENT_ECORRUPT},       {P_ADDR0, 0, ENT_ECORRUPT},
        {P_ADDR0, 15, ENT_ECORRUPT},       {P_ADDR0, 17, ENT_ECORRUPT},
        {P_ADDR0, 255, ENT_ECORRUPT},      {P_ADDR0 + 1, '/', ENT_ECORRUPT},
        {P_ADDR0 + 12, 'x', ENT_ECORRUPT}, /* no ':' left */
        {P_ADDR0 + 1, 0, ENT_ECORRUPT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(q, p, n);
        q[cases[i].off] = cases[i].val;
        t = token_from_payload(q, n);
        assert_int_equal(parse_str(t, &back), cases[i].want);
        free(t);
    }
    /* Trailing byte after the last address; one byte short. */
    memcpy(q, p, n);
    q[n] = 0;
    t = token_from_payload(q, n + 1);
    assert_int_equal(parse_str(t, &back), ENT_ECORRUPT);
    free(t);
    t = token_from_payload(q, n - 1);
    assert_int_equal(parse_str(t, &back), ENT_ECORRUPT);
    free(t);
    /* Version 3 with a shorter layout is still "unsupported version". */
    memcpy(q, p, n);
    q[P_VERSION] = 3;
    t = token_from_payload(q, 40);
    assert_int_equal(parse_str(t, &back), ENT_EVERSION);
    free(t);
    /* Version 1 or 2 but shorter than the fixed fields. */
    q[P_VERSION] = 1;
    t = token_from_payload(q, 40);
    assert_int_equal(parse_str(t, &back), ENT_ETRUNCATED);
    free(t);
    q[P_VERSION] = 2;
    t = token_from_payload(q, P_NADDRS);
    assert_int_equal(parse_str(t, &back), ENT_ETRUNCATED);
    free(t);

    /* Expiry is checked separately, against a given now. */
    assert_int_equal(parse_str(tok, &back), ENT_OK);
    assert_int_equal(ent_invite_check_expiry(&back, NOW), ENT_OK);
    assert_int_equal(ent_invite_check_expiry(&back, NOW + 3599), ENT_OK);
    assert_int_equal(ent_invite_check_expiry(&back, NOW + 3600), ENT_EEXPIRED);
    assert_int_equal(ent_invite_check_expiry(&back, UINT64_MAX), ENT_EEXPIRED);
    free(tok);
    ent_identity_free(id);
}

/* Version 2: the type length and name after the addresses. */
static void test_token_v2_type(void **state) {
    ent_identity *id = identity(6);
    ent_invite inv, back;
    uint8_t p[1024], q[1024];
    char *tok = NULL, *t;
    size_t n;

    make_invite(&inv, ent_identity_public(id), 2);
    inv.n_addrs = 1; /* "203.0.113.7:7400" */
    strcpy(inv.type, "deal");
    assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_OK);
    n = token_payload(tok, p, sizeof(p));
    assert_int_equal(n, P_TYPE_LEN + 1 + 4);
    assert_int_equal(p[P_VERSION], 2);
    assert_int_equal(p[P_TYPE_LEN], 4);
    assert_memory_equal(p + P_TYPE_LEN + 1, "deal", 4);
    t = token_from_payload(p, n);
    assert_string_equal(t, tok);
    free(t);
    assert_int_equal(parse_str(tok, &back), ENT_OK);
    assert_string_equal(back.type, "deal");

    static const struct {
        size_t off;
        uint8_t val;
    } cases[] = {
        {P_TYPE_LEN, 0},       {P_TYPE_LEN, 3},       {P_TYPE_LEN, 5},
        {P_TYPE_LEN, 33},      {P_TYPE_LEN, 255},     {P_TYPE_LEN + 1, 'D'},
        {P_TYPE_LEN + 1, '1'}, {P_TYPE_LEN + 1, '_'}, {P_TYPE_LEN + 2, '-'},
        {P_TYPE_LEN + 2, 0},   {P_TYPE_LEN + 4, ' '}, {P_TYPE_LEN + 4, 0xc3},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(q, p, n);
        q[cases[i].off] = cases[i].val;
        t = token_from_payload(q, n);
        assert_int_equal(parse_str(t, &back), ENT_ECORRUPT);
        free(t);
    }
    /* No type at all, a cut type, a trailing byte. */
    memcpy(q, p, n);
    q[n] = 'x';
    for (size_t m = P_TYPE_LEN; m <= n + 1; m++) {
        if (m == n)
            continue;
        t = token_from_payload(q, m);
        assert_int_equal(parse_str(t, &back), ENT_ECORRUPT);
        free(t);
    }
    /* A 32-byte type is the longest. */
    memcpy(q, p, P_TYPE_LEN);
    q[P_TYPE_LEN] = 32;
    memset(q + P_TYPE_LEN + 1, 'z', 32);
    t = token_from_payload(q, P_TYPE_LEN + 33);
    assert_int_equal(parse_str(t, &back), ENT_OK);
    assert_int_equal(strlen(back.type), 32);
    free(t);
    /* Version 1 with a type after the addresses: trailing bytes. */
    memcpy(q, p, n);
    q[P_VERSION] = 1;
    t = token_from_payload(q, n);
    assert_int_equal(parse_str(t, &back), ENT_ECORRUPT);
    free(t);
    free(tok);
    ent_identity_free(id);
}

static void test_addr_syntax(void **state) {
    static const char *good[] = {
        "10.0.0.1:7400",
        "0.0.0.0:1",
        "255.255.255.255:65535",
        "[::1]:7400",
        "[2001:db8::7]:80",
        "[::ffff:192.0.2.1]:9",
        "localhost:7400",
        "node.acme.example:7400",
        "a:1",
        "A-b.C9:12",
        "xn--bcher-kva.example:443",
        "1a.example:8",
    };
    static const char *bad[] = {
        "",
        ":",
        "a:",
        ":1",
        "a:0",
        "a:65536",
        "a:99999",
        "a:123456",
        "a:07400",
        "a:+1",
        "a:-1",
        "a: 1",
        "a:1 ",
        " a:1",
        "a",
        "a:1:2",
        "::1:7400",
        "[::1]",
        "[::1]:",
        "[]:1",
        "[::1:1",
        "::1]:1",
        "[::1%eth0]:1",
        "[1.2.3.4]:1",
        "1.2.3:1",
        "1.2.3.4.5:1",
        "256.1.1.1:1",
        "1.2.3.4.:1",
        "-a:1",
        "a-:1",
        "a..b:1",
        ".a:1",
        "a.:1",
        "a_b:1",
        "a/b:1",
        "host name:1",
        "ho\tst:1",
        "é.example:1",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b:1",
        "a.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb:1",
    };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!ent_invite_addr_valid(good[i], strlen(good[i])))
            fail_msg("rejected %s", good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ent_invite_addr_valid(bad[i], strlen(bad[i])))
            fail_msg("accepted %s", bad[i]);
    }
    /* Embedded NUL: "[::1" NUL "]:1". */
    assert_false(ent_invite_addr_valid("[::1\0]:1", 8));
    assert_false(ent_invite_addr_valid("a\0b:1", 5));
    assert_false(ent_invite_addr_valid(NULL, 0));
}

/* ---- store fixture ---- */

struct fx {
    char dir[64];
    ent_log log;
    ent_store *store;
    ent_identity *inviter;
    ent_identity *joiner;
    ent_identity *other;
    ent_invite inv;
    uint8_t hh[ENT_HASH_LEN];
};

static int setup(void **state) {
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    if (tmp_dir_at(f->dir, sizeof(f->dir), tmp_base(), "invite") != 0)
        return -1;
    ent_log_init(&f->log, ENT_LOG_ERROR, "invite_test");
    unsetenv("ENTENTE_MAP_SIZE");
    if (ent_store_open(&f->store, f->dir, ENT_STORE_CREATE, &f->log) != ENT_OK)
        return -1;
    f->inviter = identity(0x11);
    f->joiner = identity(0x22);
    f->other = identity(0x33);
    make_invite(&f->inv, ent_identity_public(f->inviter), 2);
    memset(f->hh, 0x77, sizeof(f->hh));
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fx *f = *state;
    ent_store_close(f->store);
    rm_tree(f->dir);
    ent_identity_free(f->inviter);
    ent_identity_free(f->joiner);
    ent_identity_free(f->other);
    ent_invite_clear(&f->inv);
    free(f);
    return 0;
}

/* One call of record_put, redeem, get or revoke inside a transaction. */
struct call {
    struct fx *f;
    const ent_invite *inv;
    uint64_t now;
    const uint8_t *id;
    const uint8_t *proof;
    const uint8_t *hh;
    const uint8_t *joiner;
    const ent_identity *inviter;
    ent_invite_record rec;
    int rc;           /* what the function returned */
    uint8_t raw[256]; /* the stored value, for get_raw */
    size_t raw_len;
};

static int put_fn(ent_txn *txn, void *data) {
    struct call *c = data;
    c->rc = ent_invite_record_put(txn, c->inv, c->now);
    return c->rc;
}

/* Commits whatever redeem did even when it fails: a failed redeem must
 * have written nothing by itself, not only thanks to an abort. */
static int redeem_fn(ent_txn *txn, void *data) {
    struct call *c = data;
    c->rc = ent_invite_redeem(txn, c->id, c->proof, c->hh, c->joiner,
                              c->inviter, c->now, &c->rec);
    return ENT_OK;
}

static int get_raw_fn(ent_txn *txn, void *data) {
    struct call *c = data;
    const void *v = NULL;
    c->rc = ent_txn_get(txn, ENT_TBL_INVITES, c->id, ENT_INVITE_ID_LEN, &v,
                        &c->raw_len);
    if (c->rc == ENT_OK) {
        assert_true(c->raw_len <= sizeof(c->raw));
        memcpy(c->raw, v, c->raw_len);
        c->rc = ent_invite_record_get(txn, c->id, &c->rec);
    }
    return ENT_OK;
}

static int revoke_fn(ent_txn *txn, void *data) {
    struct call *c = data;
    c->rc = ent_invite_revoke(txn, c->id);
    return c->rc;
}

static void put(struct fx *f, const ent_invite *inv, int want) {
    struct call c = {.f = f, .inv = inv, .now = NOW};
    int rc = ent_store_write(f->store, put_fn, &c);
    assert_int_equal(c.rc, want);
    assert_int_equal(rc, want);
}

static int redeem(struct fx *f, const uint8_t *id, const uint8_t *proof,
                  const uint8_t *hh, const ent_identity *joiner,
                  const ent_identity *inviter, uint64_t now,
                  ent_invite_record *rec) {
    struct call c = {.f = f,
                     .id = id,
                     .proof = proof,
                     .hh = hh,
                     .joiner = ent_identity_public(joiner),
                     .inviter = inviter,
                     .now = now};
    assert_int_equal(ent_store_write(f->store, redeem_fn, &c), ENT_OK);
    if (rec != NULL)
        *rec = c.rec;
    return c.rc;
}

static struct call get_raw(struct fx *f, const uint8_t *id) {
    struct call c = {.f = f, .id = id};
    assert_int_equal(ent_store_read(f->store, get_raw_fn, &c), ENT_OK);
    return c;
}

/* ---- redeem ---- */

static void test_redeem_once(void **state) {
    struct fx *f = *state;
    uint8_t proof[ENT_INVITE_PROOF_LEN];
    ent_invite_record rec;
    struct call before, after;
    uint8_t zero[ENT_PK_LEN] = {0};

    put(f, &f->inv, ENT_OK);
    put(f, &f->inv, ENT_EEXIST); /* same id twice */
    before = get_raw(f, f->inv.id);
    assert_int_equal(before.rc, ENT_OK);
    assert_false(before.rec.used);
    assert_true(before.rec.created == NOW);
    assert_true(before.rec.expiry == NOW + 3600);
    assert_int_equal(before.rec.role, 2);
    assert_memory_equal(before.rec.object, f->inv.object, 32);
    assert_memory_equal(before.rec.used_by, zero, ENT_PK_LEN);

    assert_int_equal(
        ent_invite_proof(proof, &f->inv, f->hh, ent_identity_public(f->joiner)),
        ENT_OK);
    assert_int_equal(redeem(f, f->inv.id, proof, f->hh, f->joiner, f->inviter,
                            NOW + 10, &rec),
                     ENT_OK);
    assert_true(rec.used);
    assert_true(rec.used_at == NOW + 10);
    assert_memory_equal(rec.used_by, ent_identity_public(f->joiner),
                        ENT_PK_LEN);
    assert_memory_equal(rec.object, f->inv.object, 32);
    assert_int_equal(rec.role, 2);
    after = get_raw(f, f->inv.id);
    assert_true(after.rec.used);
    assert_memory_equal(after.rec.used_by, ent_identity_public(f->joiner),
                        ENT_PK_LEN);

    /* The same proof again, or anyone else's, is refused and changes
     * nothing. */
    assert_int_equal(redeem(f, f->inv.id, proof, f->hh, f->joiner, f->inviter,
                            NOW + 20, NULL),
                     ENT_EUSED);
    assert_int_equal(
        ent_invite_proof(proof, &f->inv, f->hh, ent_identity_public(f->other)),
        ENT_OK);
    assert_int_equal(redeem(f, f->inv.id, proof, f->hh, f->other, f->inviter,
                            NOW + 20, NULL),
                     ENT_EUSED);
    before = get_raw(f, f->inv.id);
    assert_int_equal(before.raw_len, after.raw_len);
    assert_memory_equal(before.raw, after.raw, after.raw_len);

    /* Unknown invite. */
    uint8_t unknown[ENT_INVITE_ID_LEN];
    memset(unknown, 0xee, sizeof(unknown));
    assert_int_equal(
        redeem(f, unknown, proof, f->hh, f->joiner, f->inviter, NOW, NULL),
        ENT_ENOENT);
    /* A used invite cannot be revoked (kept as history). */
    struct call c = {.f = f, .id = f->inv.id};
    assert_int_equal(ent_store_write(f->store, revoke_fn, &c), ENT_EUSED);
}

static void test_redeem_wrong_proof(void **state) {
    struct fx *f = *state;
    uint8_t proof[ENT_INVITE_PROOF_LEN], hh2[ENT_HASH_LEN];
    struct call before, after;
    ent_invite other_secret;

    put(f, &f->inv, ENT_OK);
    before = get_raw(f, f->inv.id);

    /* A proof captured in one session, replayed in another. */
    assert_int_equal(
        ent_invite_proof(proof, &f->inv, f->hh, ent_identity_public(f->joiner)),
        ENT_OK);
    memcpy(hh2, f->hh, sizeof(hh2));
    hh2[0] ^= 1;
    assert_int_equal(
        redeem(f, f->inv.id, proof, hh2, f->joiner, f->inviter, NOW, NULL),
        ENT_EDENIED);
    /* The right session, presented by another org. */
    assert_int_equal(
        redeem(f, f->inv.id, proof, f->hh, f->other, f->inviter, NOW, NULL),
        ENT_EDENIED);
    /* Another secret (a guessed or different invite). */
    other_secret = f->inv;
    other_secret.secret[5] ^= 0x20;
    assert_int_equal(ent_invite_proof(proof, &other_secret, f->hh,
                                      ent_identity_public(f->joiner)),
                     ENT_OK);
    assert_int_equal(
        redeem(f, f->inv.id, proof, f->hh, f->joiner, f->inviter, NOW, NULL),
        ENT_EDENIED);
    /* A token naming another inviter org. */
    other_secret = f->inv;
    memcpy(other_secret.inviter, ent_identity_public(f->other), ENT_PK_LEN);
    assert_int_equal(ent_invite_proof(proof, &other_secret, f->hh,
                                      ent_identity_public(f->joiner)),
                     ENT_OK);
    assert_int_equal(
        redeem(f, f->inv.id, proof, f->hh, f->joiner, f->inviter, NOW, NULL),
        ENT_EDENIED);
    /* The right proof checked by a node with the database but without the
     * inviter's identity key (a stolen database). */
    assert_int_equal(
        ent_invite_proof(proof, &f->inv, f->hh, ent_identity_public(f->joiner)),
        ENT_OK);
    assert_int_equal(
        redeem(f, f->inv.id, proof, f->hh, f->joiner, f->other, NOW, NULL),
        ENT_EDENIED);
    /* Flipping any single bit of a good proof. */
    for (int bit = 0; bit < 8 * ENT_INVITE_PROOF_LEN; bit += 13) {
        proof[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(redeem(f, f->inv.id, proof, f->hh, f->joiner,
                                f->inviter, NOW, NULL),
                         ENT_EDENIED);
        proof[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    after = get_raw(f, f->inv.id);
    assert_false(after.rec.used);
    assert_int_equal(before.raw_len, after.raw_len);
    assert_memory_equal(before.raw, after.raw, after.raw_len);

    /* Expired: refused even with a good proof, and still unused. */
    assert_int_equal(redeem(f, f->inv.id, proof, f->hh, f->joiner, f->inviter,
                            NOW + 3600, NULL),
                     ENT_EEXPIRED);
    after = get_raw(f, f->inv.id);
    assert_false(after.rec.used);
    assert_memory_equal(before.raw, after.raw, after.raw_len);

    /* The honest joiner still gets in after all that. */
    assert_int_equal(redeem(f, f->inv.id, proof, f->hh, f->joiner, f->inviter,
                            NOW + 3599, NULL),
                     ENT_OK);
}

/* The proof depends on every input; the joiner and the inviter agree. */
static void test_proof_binding(void **state) {
    struct fx *f = *state;
    uint8_t a[ENT_INVITE_PROOF_LEN], b[ENT_INVITE_PROOF_LEN];
    uint8_t hh2[ENT_HASH_LEN];
    ent_invite inv2 = f->inv;

    assert_int_equal(
        ent_invite_proof(a, &f->inv, f->hh, ent_identity_public(f->joiner)),
        ENT_OK);
    assert_int_equal(
        ent_invite_proof(b, &f->inv, f->hh, ent_identity_public(f->joiner)),
        ENT_OK);
    assert_memory_equal(a, b, sizeof(a));
    memcpy(hh2, f->hh, sizeof(hh2));
    hh2[31] ^= 0x80;
    assert_int_equal(
        ent_invite_proof(b, &f->inv, hh2, ent_identity_public(f->joiner)),
        ENT_OK);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(
        ent_invite_proof(b, &f->inv, f->hh, ent_identity_public(f->other)),
        ENT_OK);
    assert_memory_not_equal(a, b, sizeof(a));
    inv2.id[0] ^= 1;
    assert_int_equal(
        ent_invite_proof(b, &inv2, f->hh, ent_identity_public(f->joiner)),
        ENT_OK);
    assert_memory_not_equal(a, b, sizeof(a));
    /* The proof is not simply a MAC keyed by a hash of the secret, which a
     * stolen database would let anyone compute. */
    uint8_t k[ENT_HASH_LEN];
    ent_hash(k, f->inv.secret, ENT_INVITE_SECRET_LEN);
    assert_int_equal(ent_mac(b, k, f->hh, sizeof(f->hh)), ENT_OK);
    assert_memory_not_equal(a, b, sizeof(a));
}

static void test_redeem_expired_and_put_rules(void **state) {
    struct fx *f = *state;
    uint8_t proof[ENT_INVITE_PROOF_LEN];
    ent_invite inv = f->inv;
    struct call c;

    inv.expiry = NOW; /* already expired when issued */
    put(f, &inv, ENT_EINVAL);
    inv.expiry = NOW + 1;
    inv.role = 0;
    put(f, &inv, ENT_EINVAL);
    inv.role = 3;
    put(f, &inv, ENT_OK);
    assert_int_equal(
        ent_invite_proof(proof, &inv, f->hh, ent_identity_public(f->joiner)),
        ENT_OK);
    assert_int_equal(
        redeem(f, inv.id, proof, f->hh, f->joiner, f->inviter, NOW + 1, NULL),
        ENT_EEXPIRED);
    assert_int_equal(redeem(f, inv.id, proof, f->hh, f->joiner, f->inviter,
                            NOW + 1000000, NULL),
                     ENT_EEXPIRED);
    c = get_raw(f, inv.id);
    assert_false(c.rec.used);
    assert_int_equal(c.rec.role, 3);
}

/* Neither the secret, nor the token, nor the scalar derived from it are
 * ever written to the database file. */
static bool file_contains(const char *path, const uint8_t *needle,
                          size_t nlen) {
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;
    bool found;

    assert_non_null(fp);
    for (;;) {
        if (len + 65536 > cap) {
            cap = cap * 2 + 65536;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        n = fread(buf + len, 1, cap - len, fp);
        if (n == 0)
            break;
        len += n;
    }
    fclose(fp);
    found = memmem(buf, len, needle, nlen) != NULL;
    free(buf);
    return found;
}

struct scan_ctx {
    const uint8_t *secret;
    int entries;
    bool leaked;
};

static int scan_fn(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    struct scan_ctx *s = data;
    s->entries++;
    if (memmem(val, vlen, s->secret, ENT_INVITE_SECRET_LEN) != NULL ||
        memmem(key, klen, s->secret, ENT_INVITE_SECRET_LEN) != NULL)
        s->leaked = true;
    return 0;
}

static int scan_all_fn(ent_txn *txn, void *data) {
    return ent_txn_scan(txn, ENT_TBL_INVITES, NULL, 0, scan_fn, data);
}

static void test_db_never_holds_secret(void **state) {
    struct fx *f = *state;
    uint8_t proof[ENT_INVITE_PROOF_LEN], h[ENT_HASH_LEN];
    char path[128];
    ent_invite invs[4];

    for (int i = 0; i < 4; i++) {
        make_invite(&invs[i], ent_identity_public(f->inviter), 2);
        put(f, &invs[i], ENT_OK);
    }
    assert_int_equal(ent_invite_proof(proof, &invs[0], f->hh,
                                      ent_identity_public(f->joiner)),
                     ENT_OK);
    assert_int_equal(
        redeem(f, invs[0].id, proof, f->hh, f->joiner, f->inviter, NOW, NULL),
        ENT_OK);
    for (int i = 0; i < 4; i++) {
        struct scan_ctx s = {.secret = invs[i].secret};
        assert_int_equal(ent_store_read(f->store, scan_all_fn, &s), ENT_OK);
        assert_int_equal(s.entries, 4);
        assert_false(s.leaked);
    }
    ent_store_close(f->store);
    f->store = NULL;
    snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
    /* The scan is meaningful: the ids are in the file. */
    assert_true(file_contains(path, invs[1].id, ENT_INVITE_ID_LEN));
    for (int i = 0; i < 4; i++) {
        assert_false(file_contains(path, invs[i].secret, 16));
        assert_false(file_contains(path, invs[i].secret + 16, 16));
        ent_hash(h, invs[i].secret, ENT_INVITE_SECRET_LEN);
        assert_false(file_contains(path, h, 16));
        ent_invite_clear(&invs[i]);
    }
}

static int count_fn(void *data, const ent_invite_record *rec) {
    int *n = data;
    (*n)++;
    return 0;
}

static int list_fn(ent_txn *txn, void *data) {
    return ent_invite_list(txn, count_fn, data);
}

static void test_list_revoke(void **state) {
    struct fx *f = *state;
    uint8_t proof[ENT_INVITE_PROOF_LEN];
    ent_invite inv2;
    int n = 0;
    struct call c;

    put(f, &f->inv, ENT_OK);
    make_invite(&inv2, ent_identity_public(f->inviter), 1);
    put(f, &inv2, ENT_OK);
    assert_int_equal(ent_store_read(f->store, list_fn, &n), ENT_OK);
    assert_int_equal(n, 2);

    c = (struct call){.f = f, .id = f->inv.id};
    assert_int_equal(ent_store_write(f->store, revoke_fn, &c), ENT_OK);
    assert_int_equal(ent_store_write(f->store, revoke_fn, &c), ENT_ENOENT);
    n = 0;
    assert_int_equal(ent_store_read(f->store, list_fn, &n), ENT_OK);
    assert_int_equal(n, 1);
    /* A revoked invite cannot be redeemed. */
    assert_int_equal(
        ent_invite_proof(proof, &f->inv, f->hh, ent_identity_public(f->joiner)),
        ENT_OK);
    assert_int_equal(
        redeem(f, f->inv.id, proof, f->hh, f->joiner, f->inviter, NOW, NULL),
        ENT_ENOENT);
}

/*
 * Known answers computed with an independent implementation (Python hashlib
 * and cryptography) from the definitions in spec/invites.md: inviter seed
 * 0x11 * 32, joiner seed 0x22 * 32, secret 00..1f, id 40..4f, object
 * 0x5a * 32, role member, expiry 1700003600, one address, handshake hash
 * 0x77 * 32.
 */
static const char kat_token[] =
    "ent1ahievmrsoqv3jkz2cnul2rqv4ttnaiskw4nac25pquqkgmwjo6dtows2ljnfuws2ljnf"
    "uws2ljnfuws2ljnfuws2ljnfuws2ljnfuws2aiaaaaaamvj76ecaifbegrcfizduqskkjnge"
    "2tspaaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypqcebsgazs4mbogeyt"
    "glrxhi3timbqkxdrrv4jiof42";
/* The same invite as version 2, object type "opportunity" (same proof). */
static const char kat_token_v2[] =
    "ent1alievmrsoqv3jkz2cnul2rqv4ttnaiskw4nac25pquqkgmwjo6dtows2ljnfuws2ljnf"
    "uws2ljnfuws2ljnfuws2ljnfuws2ljnfuws2aiaaaaaamvj76ecaifbegrcfizduqskkjnge"
    "2tspaaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypqcebsgazs4mbogeyt"
    "glrxhi3timbqbnxxa4dpoj2hk3tjor4v2x4qpgbzogmc";
static const char kat_proof[] =
    "2a90e35451efa78bbfc9e5ad090203b4647fd1915512b6d0411f8dbeb4825172";
static const char kat_safety[] = "54193 26969 68676 90667 15386 87994";

/* type NULL: the version-1 known answer. */
static void kat_invite(ent_invite *inv, const uint8_t inviter[ENT_PK_LEN],
                       const char *type) {
    uint8_t object[ENT_INVITE_OBJECT_LEN];

    memset(object, 0x5a, sizeof(object));
    assert_int_equal(ent_invite_init(inv, inviter, object, type, 2, NOW + 3600),
                     ENT_OK);
    for (int i = 0; i < ENT_INVITE_SECRET_LEN; i++)
        inv->secret[i] = (uint8_t)i;
    for (int i = 0; i < ENT_INVITE_ID_LEN; i++)
        inv->id[i] = (uint8_t)(0x40 + i);
    assert_int_equal(ent_invite_add_addr(inv, "203.0.113.7:7400"), ENT_OK);
}

static void test_known_answers(void **state) {
    ent_identity *inviter = identity(0x11), *joiner = identity(0x22);
    uint8_t hh[ENT_HASH_LEN], proof[ENT_INVITE_PROOF_LEN];
    char hex[2 * ENT_INVITE_PROOF_LEN + 1];
    char code[ENT_SAFETY_CODE_LEN + 1];
    ent_invite inv, back;
    char *tok = NULL;

    kat_invite(&inv, ent_identity_public(inviter), "opportunity");
    assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_OK);
    assert_string_equal(tok, kat_token_v2);
    free(tok);
    assert_int_equal(parse_str(kat_token_v2, &back), ENT_OK);
    assert_invite_equal(&inv, &back);
    assert_string_equal(back.type, "opportunity");
    memset(hh, 0x77, sizeof(hh));
    assert_int_equal(
        ent_invite_proof(proof, &back, hh, ent_identity_public(joiner)),
        ENT_OK);
    ent_hex_encode(hex, proof, sizeof(proof));
    assert_string_equal(hex, kat_proof);

    /* Version 1 still parses (no type) and encodes back to itself. */
    kat_invite(&inv, ent_identity_public(inviter), NULL);
    assert_int_equal(ent_invite_token_encode(&inv, &tok), ENT_OK);
    assert_string_equal(tok, kat_token);
    assert_int_equal(parse_str(kat_token, &back), ENT_OK);
    assert_invite_equal(&inv, &back);
    assert_int_equal(back.version, ENT_INVITE_VERSION_1);
    assert_string_equal(back.type, "");
    memset(hh, 0x77, sizeof(hh));
    assert_int_equal(
        ent_invite_proof(proof, &back, hh, ent_identity_public(joiner)),
        ENT_OK);
    ent_hex_encode(hex, proof, sizeof(proof));
    assert_string_equal(hex, kat_proof);
    ent_safety_code(ent_identity_public(inviter), ent_identity_public(joiner),
                    code);
    assert_string_equal(code, kat_safety);
    free(tok);
    ent_identity_free(inviter);
    ent_identity_free(joiner);
}

/* The known-answer proof redeems against the stored record. */
static void test_known_answer_redeem(void **state) {
    struct fx *f = *state;
    uint8_t proof[ENT_INVITE_PROOF_LEN];
    ent_invite inv;
    ent_invite_record rec;

    kat_invite(&inv, ent_identity_public(f->inviter), "opportunity");
    put(f, &inv, ENT_OK);
    assert_int_equal(ent_hex_decode(proof, sizeof(proof), kat_proof), ENT_OK);
    assert_int_equal(
        redeem(f, inv.id, proof, f->hh, f->joiner, f->inviter, NOW, &rec),
        ENT_OK);
    assert_true(rec.used);
}

/* ---- durations ---- */

static void test_duration(void **state) {
    static const struct {
        const char *s;
        int rc;
        uint64_t v;
    } cases[] = {
        {"90s", ENT_OK, 90},
        {"15m", ENT_OK, 900},
        {"2h", ENT_OK, 7200},
        {"7d", ENT_OK, 604800},
        {"3600", ENT_OK, 3600},
        {"1", ENT_OK, 1},
        {"1s", ENT_OK, 1},
        {"90d", ENT_OK, 7776000},
        {"2160h", ENT_OK, 7776000},
        {"7776000", ENT_OK, 7776000},
        {"007m", ENT_OK, 420},
        {"91d", ENT_ETOOBIG, 0},
        {"2161h", ENT_ETOOBIG, 0},
        {"7776001", ENT_ETOOBIG, 0},
        {"18446744073709551615", ENT_ETOOBIG, 0},
        {"18446744073709551616", ENT_ETOOBIG, 0},
        {"99999999999999999999999999d", ENT_ETOOBIG, 0},
        {"213503982334601d", ENT_ETOOBIG, 0}, /* v * 86400 wraps */
        {"0", ENT_EINVAL, 0},
        {"0s", ENT_EINVAL, 0},
        {"0d", ENT_EINVAL, 0},
        {"", ENT_EINVAL, 0},
        {"s", ENT_EINVAL, 0},
        {"m5", ENT_EINVAL, 0},
        {"-5m", ENT_EINVAL, 0},
        {"+5m", ENT_EINVAL, 0},
        {" 5m", ENT_EINVAL, 0},
        {"5m ", ENT_EINVAL, 0},
        {"5 m", ENT_EINVAL, 0},
        {"5M", ENT_EINVAL, 0},
        {"5w", ENT_EINVAL, 0},
        {"5ms", ENT_EINVAL, 0},
        {"1h30m", ENT_EINVAL, 0},
        {"1.5h", ENT_EINVAL, 0},
        {"0x10", ENT_EINVAL, 0},
        {"99999999999999999999999x", ENT_EINVAL, 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 12345;
        int rc = ent_duration_parse(cases[i].s, &v);
        if (rc != cases[i].rc)
            fail_msg("\"%s\": got %s, want %s", cases[i].s, ent_err_name(rc),
                     ent_err_name(cases[i].rc));
        if (rc == ENT_OK)
            assert_true(v == cases[i].v);
        else
            assert_true(v == 12345);
    }
    assert_int_equal(ent_duration_parse(NULL, NULL), ENT_EINVAL);
}

/* ---- safety codes ---- */

static void test_safety_code(void **state) {
    ent_identity *a = identity(0xa1), *b = identity(0xb2), *c = identity(0xc3);
    char ab[ENT_SAFETY_CODE_LEN + 1], ba[ENT_SAFETY_CODE_LEN + 1];
    char ac[ENT_SAFETY_CODE_LEN + 1], bc[ENT_SAFETY_CODE_LEN + 1];
    char aa[ENT_SAFETY_CODE_LEN + 1];
    uint8_t pk[ENT_PK_LEN];

    ent_safety_code(ent_identity_public(a), ent_identity_public(b), ab);
    ent_safety_code(ent_identity_public(b), ent_identity_public(a), ba);
    ent_safety_code(ent_identity_public(a), ent_identity_public(c), ac);
    ent_safety_code(ent_identity_public(b), ent_identity_public(c), bc);
    ent_safety_code(ent_identity_public(a), ent_identity_public(a), aa);
    assert_string_equal(ab, ba);
    assert_string_not_equal(ab, ac);
    assert_string_not_equal(ab, bc);
    assert_string_not_equal(ac, bc);
    assert_string_not_equal(ab, aa);
    assert_int_equal(strlen(ab), ENT_SAFETY_CODE_LEN);
    for (int i = 0; i < ENT_SAFETY_CODE_LEN; i++) {
        if (i % 6 == 5)
            assert_int_equal(ab[i], ' ');
        else
            assert_true(ab[i] >= '0' && ab[i] <= '9');
    }
    /* One bit of either key changes the code. */
    memcpy(pk, ent_identity_public(b), ENT_PK_LEN);
    pk[31] ^= 1;
    ent_safety_code(ent_identity_public(a), pk, ba);
    assert_string_not_equal(ab, ba);
    ent_identity_free(a);
    ent_identity_free(b);
    ent_identity_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mac),
        cmocka_unit_test(test_token_round_trip),
        cmocka_unit_test(test_token_substitutions),
        cmocka_unit_test(test_token_truncated_extended),
        cmocka_unit_test(test_token_prefix_and_whitespace),
        cmocka_unit_test(test_token_bad_fields),
        cmocka_unit_test(test_token_v2_type),
        cmocka_unit_test(test_addr_syntax),
        cmocka_unit_test_setup_teardown(test_redeem_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redeem_wrong_proof, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_proof_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redeem_expired_and_put_rules,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_never_holds_secret, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_list_revoke, setup, teardown),
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test_setup_teardown(test_known_answer_redeem, setup,
                                        teardown),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_safety_code),
    };

    if (ent_crypto_init() != ENT_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
