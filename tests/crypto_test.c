/* crypto_test.c - signatures, encodings, AEAD, sealed boxes, X25519. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "node/err.h"

/* Known-answer values computed with an independent Ed25519 implementation
 * (Python cryptography) from the definitions in spec/crypto.md. */
static const char kat_pk_hex[] =
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char kat_org_id[] =
    "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4a";
/* Ed25519("entente/v1/op" || 0x00 || "hello") */
static const char kat_sig_op_hello[] =
    "acbc72829e4725e6aa91e5dbb735b1cf1be51aa3495935e5830ae0f3e8f222ad"
    "e7f5f1122e23179b67806c01ff3e30f1adfecf337beb9031f71c4515ea10f104";
/* Ed25519("entente/v1/invite" || 0x00) */
static const char kat_sig_invite_empty[] =
    "31797dae9b7018c704e96bee1b45fe0b0186bdd13d7d0b2f4f6389ff1e739f38"
    "9c91a99f808b504cba7e409ac1bcaa67a36d04c197066a91523cd60b4352f20c";

static ent_identity *kat_identity(void) {
    uint8_t seed[ENT_SIG_SEED_LEN];
    ent_identity *id = NULL;

    for (int i = 0; i < ENT_SIG_SEED_LEN; i++)
        seed[i] = (uint8_t)i;
    assert_int_equal(ent_identity_from_seed(&id, seed), ENT_OK);
    return id;
}

static void test_init_idempotent(void **state) {
    (void)state;
    assert_int_equal(ent_crypto_init(), ENT_OK);
    assert_int_equal(ent_crypto_init(), ENT_OK);
}

static void test_ctx_strings(void **state) {
    (void)state;
    assert_string_equal(ent_sig_ctx_string(ENT_SIGCTX_OP), "entente/v1/op");
    assert_string_equal(ent_sig_ctx_string(ENT_SIGCTX_TREE_HEAD),
                        "entente/v1/tree-head");
    assert_string_equal(ent_sig_ctx_string(ENT_SIGCTX_LOG_ENTRY),
                        "entente/v1/log-entry");
    assert_string_equal(ent_sig_ctx_string(ENT_SIGCTX_INVITE),
                        "entente/v1/invite");
    assert_string_equal(ent_sig_ctx_string(ENT_SIGCTX_JOIN), "entente/v1/join");
    assert_string_equal(ent_sig_ctx_string(ENT_SIGCTX_KEYS), "entente/v1/keys");
    assert_string_equal(ent_sig_ctx_string(ENT_SIGCTX_HANDSHAKE),
                        "entente/v1/handshake");
    assert_null(ent_sig_ctx_string(ENT_SIGCTX__COUNT));
    assert_null(ent_sig_ctx_string((ent_sig_ctx)-1));
}

static void test_sign_known_answer(void **state) {
    ent_identity *id = kat_identity();
    uint8_t pk[ENT_PK_LEN], sig[ENT_SIG_LEN], want[ENT_SIG_LEN];
    char org[ENT_ORG_ID_LEN + 1];
    (void)state;

    assert_int_equal(ent_hex_decode(pk, sizeof(pk), kat_pk_hex), ENT_OK);
    assert_memory_equal(ent_identity_public(id), pk, ENT_PK_LEN);
    ent_identity_org_id(id, org);
    assert_string_equal(org, kat_org_id);

    assert_int_equal(
        ent_identity_sign(id, ENT_SIGCTX_OP, (const uint8_t *)"hello", 5, sig),
        ENT_OK);
    assert_int_equal(ent_hex_decode(want, sizeof(want), kat_sig_op_hello),
                     ENT_OK);
    assert_memory_equal(sig, want, ENT_SIG_LEN);
    assert_int_equal(
        ent_sig_verify(pk, ENT_SIGCTX_OP, (const uint8_t *)"hello", 5, want),
        ENT_OK);

    assert_int_equal(ent_identity_sign(id, ENT_SIGCTX_INVITE, NULL, 0, sig),
                     ENT_OK);
    assert_int_equal(ent_hex_decode(want, sizeof(want), kat_sig_invite_empty),
                     ENT_OK);
    assert_memory_equal(sig, want, ENT_SIG_LEN);
    ent_identity_free(id);
}

/* Round trip, every flipped bit of msg and sig, and every other context. */
static void check_sign_verify(size_t len) {
    ent_identity *id = NULL;
    const uint8_t *pk;
    uint8_t *msg = malloc(len + 1);
    uint8_t sig[ENT_SIG_LEN];

    assert_non_null(msg);
    assert_int_equal(ent_identity_generate(&id), ENT_OK);
    pk = ent_identity_public(id);
    ent_random(msg, len);
    for (int c = 0; c < ENT_SIGCTX__COUNT; c++) {
        assert_int_equal(ent_identity_sign(id, (ent_sig_ctx)c, msg, len, sig),
                         ENT_OK);
        assert_int_equal(ent_sig_verify(pk, (ent_sig_ctx)c, msg, len, sig),
                         ENT_OK);
        for (int d = 0; d < ENT_SIGCTX__COUNT; d++)
            if (d != c)
                assert_int_equal(
                    ent_sig_verify(pk, (ent_sig_ctx)d, msg, len, sig),
                    ENT_EBADSIG);
    }
    /* sig is now under the last context */
    const ent_sig_ctx ctx = (ent_sig_ctx)(ENT_SIGCTX__COUNT - 1);
    /* every bit of short messages; 64 spread-out bits of long ones */
    size_t nbits = len <= 600 ? len * 8 : 64;
    for (size_t b = 0; b < nbits; b++) {
        size_t bit = len <= 600 ? b : (b * 131071) % (len * 8);
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(ent_sig_verify(pk, ctx, msg, len, sig), ENT_EBADSIG);
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (size_t bit = 0; bit < ENT_SIG_LEN * 8; bit += len <= 600 ? 1 : 7) {
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(ent_sig_verify(pk, ctx, msg, len, sig), ENT_EBADSIG);
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* one byte more or less is another message */
    assert_int_equal(ent_sig_verify(pk, ctx, msg, len + 1, sig), ENT_EBADSIG);
    if (len > 0)
        assert_int_equal(ent_sig_verify(pk, ctx, msg, len - 1, sig),
                         ENT_EBADSIG);
    assert_int_equal(ent_sig_verify(pk, ctx, msg, len, sig), ENT_OK);

    /* another key does not verify it */
    ent_identity *other = NULL;
    assert_int_equal(ent_identity_generate(&other), ENT_OK);
    assert_int_equal(
        ent_sig_verify(ent_identity_public(other), ctx, msg, len, sig),
        ENT_EBADSIG);
    ent_identity_free(other);
    ent_identity_free(id);
    free(msg);
}

static void test_sign_verify_small(void **state) {
    (void)state;
    check_sign_verify(0);
    check_sign_verify(1);
    check_sign_verify(100);
}

/* Past the stack buffer (heap path), the same definition holds. */
static void test_sign_verify_large(void **state) {
    (void)state;
    check_sign_verify(490);
    check_sign_verify(600);
    check_sign_verify(1 << 20);
}

/* The context is prefix-free: "op" || 0 || "x" differs from a context that
 * would end where the message starts. */
static void test_sign_bad_args(void **state) {
    ent_identity *id = NULL;
    uint8_t sig[ENT_SIG_LEN] = {0}, msg[4] = {1, 2, 3, 4};
    (void)state;

    assert_int_equal(ent_identity_generate(&id), ENT_OK);
    assert_int_equal(
        ent_identity_sign(id, ENT_SIGCTX__COUNT, msg, sizeof(msg), sig),
        ENT_EINVAL);
    assert_int_equal(ent_identity_sign(id, ENT_SIGCTX_OP, NULL, 4, sig),
                     ENT_EINVAL);
    assert_int_equal(
        ent_sig_verify(ent_identity_public(id), ENT_SIGCTX__COUNT, msg, 4, sig),
        ENT_EINVAL);
    assert_int_equal(ent_identity_sign(NULL, ENT_SIGCTX_OP, msg, 4, sig),
                     ENT_EINVAL);
    ent_identity_free(id);
}

static void test_hash(void **state) {
    uint8_t h[ENT_HASH_LEN], h2[ENT_HASH_LEN], want[ENT_HASH_LEN];
    (void)state;

    ent_hash(h, "", 0);
    assert_int_equal(
        ent_hex_decode(want, sizeof(want),
                       "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45"
                       "cdf12fe3a8"),
        ENT_OK);
    assert_memory_equal(h, want, ENT_HASH_LEN);
    ent_hash(h, "abc", 3);
    assert_int_equal(
        ent_hex_decode(want, sizeof(want),
                       "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8"
                       "c068d52319"),
        ENT_OK);
    assert_memory_equal(h, want, ENT_HASH_LEN);
    ent_hash2(h2, "a", 1, "bc", 2);
    assert_memory_equal(h2, want, ENT_HASH_LEN);
    ent_hash2(h2, "abc", 3, NULL, 0);
    assert_memory_equal(h2, want, ENT_HASH_LEN);
    ent_hash2(h2, NULL, 0, "abc", 3);
    assert_memory_equal(h2, want, ENT_HASH_LEN);
}

static void test_memeq_wipe(void **state) {
    uint8_t a[40], b[40], zero[40] = {0};
    (void)state;

    ent_random(a, sizeof(a));
    memcpy(b, a, sizeof(a));
    assert_true(ent_memeq(a, b, sizeof(a)));
    b[39] ^= 1;
    assert_false(ent_memeq(a, b, sizeof(a)));
    assert_true(ent_memeq(a, b, 0));
    ent_wipe(a, sizeof(a));
    assert_memory_equal(a, zero, sizeof(a));
    ent_wipe(NULL, 10);
    /* two random draws differ */
    ent_random(a, sizeof(a));
    ent_random(b, sizeof(b));
    assert_false(ent_memeq(a, b, sizeof(a)));
}

/* RFC 4648 section 10, lowercased, without padding. */
static const struct {
    const char *raw, *b32;
} b32_vectors[] = {
    {"", ""},
    {"f", "my"},
    {"fo", "mzxq"},
    {"foo", "mzxw6"},
    {"foob", "mzxw6yq"},
    {"fooba", "mzxw6ytb"},
    {"foobar", "mzxw6ytboi"},
};

static void test_base32_vectors(void **state) {
    char out[32];
    uint8_t raw[16];
    size_t n;
    (void)state;

    for (size_t i = 0; i < sizeof(b32_vectors) / sizeof(b32_vectors[0]); i++) {
        const char *r = b32_vectors[i].raw, *e = b32_vectors[i].b32;
        assert_int_equal(
            ent_base32_encode(out, sizeof(out), (const uint8_t *)r, strlen(r)),
            ENT_OK);
        assert_string_equal(out, e);
        assert_int_equal(ent_base32_encoded_len(strlen(r)), strlen(e));
        n = 99;
        assert_int_equal(ent_base32_decode(raw, sizeof(raw), &n, e, strlen(e)),
                         ENT_OK);
        assert_int_equal(n, strlen(r));
        assert_memory_equal(raw, r, n);
    }
}

static void test_base32_rejects(void **state) {
    uint8_t raw[16];
    char out[16];
    size_t n;
    static const char *bad[] = {
        "MY",       /* uppercase: not canonical */
        "my======", /* padding */
        "m",        /* 1, 3 and 6 characters cannot end a group */
        "mzx",      "mzxw6y",  "mz", /* trailing bits 01 */
        "mzxr", /* trailing bits set in the last character */
        "mzxw7",    "mzxw6yr", "mzxw6ytboj", "m1", /* 0, 1, 8, 9 are not in the
                                                      alphabet */
        "m0",       "m8",      "m9",         "m ya", "mzx\n",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = 99;
        assert_int_equal(
            ent_base32_decode(raw, sizeof(raw), &n, bad[i], strlen(bad[i])),
            ENT_EINVAL);
        assert_int_equal(n, 0);
    }
    /* an embedded NUL is a bad character, not the end */
    assert_int_equal(ent_base32_decode(raw, sizeof(raw), &n, "m\0", 2),
                     ENT_EINVAL);
    /* output too small */
    assert_int_equal(ent_base32_decode(raw, 5, &n, "mzxw6ytboi", 10),
                     ENT_ETOOBIG);
    assert_int_equal(ent_base32_decode(raw, 6, &n, "mzxw6ytboi", 10), ENT_OK);
    assert_int_equal(ent_base32_encode(out, 10, (const uint8_t *)"foobar", 6),
                     ENT_ETOOBIG);
    assert_int_equal(ent_base32_encode(out, 11, (const uint8_t *)"foobar", 6),
                     ENT_OK);
}

static void test_base32_roundtrip_random(void **state) {
    uint8_t in[64], back[64];
    char enc[128];
    size_t n;
    (void)state;

    for (size_t len = 0; len <= sizeof(in); len++) {
        ent_random(in, len);
        assert_int_equal(ent_base32_encode(enc, sizeof(enc), in, len), ENT_OK);
        assert_int_equal(strlen(enc), ent_base32_encoded_len(len));
        assert_int_equal(
            ent_base32_decode(back, sizeof(back), &n, enc, strlen(enc)),
            ENT_OK);
        assert_int_equal(n, len);
        assert_memory_equal(back, in, len);
    }
}

static void test_org_id(void **state) {
    uint8_t pk[ENT_PK_LEN], back[ENT_PK_LEN];
    char id[ENT_ORG_ID_LEN + 1], tmp[ENT_ORG_ID_LEN + 2];
    (void)state;

    for (int round = 0; round < 50; round++) {
        ent_random(pk, sizeof(pk));
        ent_org_id_format(id, pk);
        assert_int_equal(strlen(id), ENT_ORG_ID_LEN);
        for (size_t i = 0; i < ENT_ORG_ID_LEN; i++)
            assert_true((id[i] >= 'a' && id[i] <= 'z') ||
                        (id[i] >= '2' && id[i] <= '7'));
        /* 256 bits in 52 characters: the last one carries 1 bit + 4 zeros */
        assert_true(id[ENT_ORG_ID_LEN - 1] == 'a' ||
                    id[ENT_ORG_ID_LEN - 1] == 'q');
        memset(back, 0, sizeof(back));
        assert_int_equal(ent_org_id_parse(back, id), ENT_OK);
        assert_memory_equal(back, pk, ENT_PK_LEN);
    }
    /* case-insensitive */
    strcpy(tmp, id);
    for (size_t i = 0; i < ENT_ORG_ID_LEN; i++)
        if (tmp[i] >= 'a' && tmp[i] <= 'z')
            tmp[i] = (char)(tmp[i] - 'a' + 'A');
    assert_int_equal(ent_org_id_parse(back, tmp), ENT_OK);
    assert_memory_equal(back, pk, ENT_PK_LEN);
    /* wrong lengths, characters and trailing bits */
    strcpy(tmp, id);
    tmp[ENT_ORG_ID_LEN - 1] = '\0';
    assert_int_equal(ent_org_id_parse(back, tmp), ENT_EINVAL);
    strcpy(tmp, id);
    strcat(tmp, "a");
    assert_int_equal(ent_org_id_parse(back, tmp), ENT_EINVAL);
    strcpy(tmp, id);
    tmp[ENT_ORG_ID_LEN - 1] = 'b';
    assert_int_equal(ent_org_id_parse(back, tmp), ENT_EINVAL);
    strcpy(tmp, id);
    tmp[10] = '1';
    assert_int_equal(ent_org_id_parse(back, tmp), ENT_EINVAL);
    assert_int_equal(ent_org_id_parse(back, ""), ENT_EINVAL);
    assert_int_equal(ent_org_id_parse(back, NULL), ENT_EINVAL);
}

static void test_hex(void **state) {
    uint8_t in[4] = {0x00, 0x9f, 0xa0, 0xff}, out[4];
    char s[9];
    (void)state;

    ent_hex_encode(s, in, sizeof(in));
    assert_string_equal(s, "009fa0ff");
    assert_int_equal(ent_hex_decode(out, 4, "009fa0ff"), ENT_OK);
    assert_memory_equal(out, in, 4);
    assert_int_equal(ent_hex_decode(out, 4, "009FA0FF"), ENT_OK);
    assert_memory_equal(out, in, 4);
    assert_int_equal(ent_hex_decode(out, 4, "009fa0f"), ENT_EINVAL);
    assert_int_equal(ent_hex_decode(out, 4, "009fa0ff0"), ENT_EINVAL);
    assert_int_equal(ent_hex_decode(out, 4, "009fa0fg"), ENT_EINVAL);
    assert_int_equal(ent_hex_decode(out, 4, " 09fa0ff"), ENT_EINVAL);
    assert_int_equal(ent_hex_decode(out, 0, ""), ENT_OK);
    ent_hex_encode(s, in, 0);
    assert_string_equal(s, "");
}

/* An AEAD message: the ciphertext (tag included) and what opens it. */
typedef struct aead_msg {
    const uint8_t *ct;
    size_t ctlen;
    const uint8_t *nonce, *ad;
    size_t adlen;
    const uint8_t *key;
} aead_msg;

/* Flips each bit of field (n bytes: m's ciphertext, ad or nonce) in turn:
 * opening m must then fail with ENT_EDECRYPT and leave the output wiped.
 * The field is restored after each bit. */
static void each_flip_refused(const aead_msg *m, uint8_t *field, size_t n) {
    uint8_t out[256], zero[sizeof(out)] = {0};
    size_t outlen = m->ctlen - ENT_AEAD_TAG_LEN;
    assert_true(outlen <= sizeof(out));
    for (size_t bit = 0; bit < n * 8; bit++) {
        field[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        memset(out, 0xaa, outlen);
        assert_int_equal(ent_aead_open(out, m->ct, m->ctlen, m->nonce, m->ad,
                                       m->adlen, m->key),
                         ENT_EDECRYPT);
        assert_memory_equal(out, zero, outlen); /* wiped */
        field[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}

static void test_aead(void **state) {
    uint8_t key[ENT_KEY_LEN], key2[ENT_KEY_LEN];
    uint8_t nonce[ENT_AEAD_NONCE_LEN], nonce2[ENT_AEAD_NONCE_LEN];
    uint8_t pt[100], ad[20], ct[sizeof(pt) + ENT_AEAD_TAG_LEN], ct2[sizeof(ct)];
    uint8_t out[sizeof(pt)];
    (void)state;

    ent_random(key, sizeof(key));
    ent_random(pt, sizeof(pt));
    ent_random(ad, sizeof(ad));
    assert_int_equal(
        ent_aead_seal(ct, nonce, pt, sizeof(pt), ad, sizeof(ad), key), ENT_OK);
    assert_int_equal(
        ent_aead_open(out, ct, sizeof(ct), nonce, ad, sizeof(ad), key), ENT_OK);
    assert_memory_equal(out, pt, sizeof(pt));
    /* ciphertext is not the plaintext; a second seal picks another nonce */
    assert_memory_not_equal(ct, pt, sizeof(pt));
    assert_int_equal(
        ent_aead_seal(ct2, nonce2, pt, sizeof(pt), ad, sizeof(ad), key),
        ENT_OK);
    assert_memory_not_equal(nonce, nonce2, sizeof(nonce));
    assert_memory_not_equal(ct, ct2, sizeof(ct));

    /* any flipped bit of ct (body and tag), ad or nonce is refused */
    aead_msg m = {ct, sizeof(ct), nonce, ad, sizeof(ad), key};
    each_flip_refused(&m, ct, sizeof(ct));
    each_flip_refused(&m, ad, sizeof(ad));
    each_flip_refused(&m, nonce, sizeof(nonce));
    /* wrong key, missing ad, truncated ct */
    memcpy(key2, key, sizeof(key));
    key2[0] ^= 1;
    assert_int_equal(
        ent_aead_open(out, ct, sizeof(ct), nonce, ad, sizeof(ad), key2),
        ENT_EDECRYPT);
    assert_int_equal(ent_aead_open(out, ct, sizeof(ct), nonce, NULL, 0, key),
                     ENT_EDECRYPT);
    assert_int_equal(
        ent_aead_open(out, ct, sizeof(ct) - 1, nonce, ad, sizeof(ad), key),
        ENT_EDECRYPT);
    assert_int_equal(ent_aead_open(out, ct, ENT_AEAD_TAG_LEN - 1, nonce, ad,
                                   sizeof(ad), key),
                     ENT_EDECRYPT);
    /* still opens after all that */
    assert_int_equal(
        ent_aead_open(out, ct, sizeof(ct), nonce, ad, sizeof(ad), key), ENT_OK);
    assert_memory_equal(out, pt, sizeof(pt));

    /* empty plaintext, no ad */
    uint8_t tag_only[ENT_AEAD_TAG_LEN];
    assert_int_equal(ent_aead_seal(tag_only, nonce, NULL, 0, NULL, 0, key),
                     ENT_OK);
    assert_int_equal(
        ent_aead_open(NULL, tag_only, sizeof(tag_only), nonce, NULL, 0, key),
        ENT_OK);
    tag_only[0] ^= 1;
    assert_int_equal(
        ent_aead_open(NULL, tag_only, sizeof(tag_only), nonce, NULL, 0, key),
        ENT_EDECRYPT);
}

static void test_sealed_box(void **state) {
    ent_identity *a = NULL, *b = NULL;
    uint8_t xpk_a[ENT_X25519_LEN], xsk_a[ENT_X25519_LEN];
    uint8_t xpk_b[ENT_X25519_LEN], xsk_b[ENT_X25519_LEN];
    uint8_t key[ENT_KEY_LEN], c[ENT_KEY_LEN + ENT_SEAL_OVERHEAD], c2[sizeof(c)],
        out[ENT_KEY_LEN];
    (void)state;

    assert_int_equal(ent_identity_generate(&a), ENT_OK);
    assert_int_equal(ent_identity_generate(&b), ENT_OK);
    assert_int_equal(ent_identity_x25519(a, xpk_a, xsk_a), ENT_OK);
    assert_int_equal(ent_identity_x25519(b, xpk_b, xsk_b), ENT_OK);
    ent_random(key, sizeof(key));

    /* a sender only needs the recipient's Ed25519 org key */
    uint8_t xpk_from_org[ENT_X25519_LEN];
    assert_int_equal(ent_pk_to_x25519(xpk_from_org, ent_identity_public(a)),
                     ENT_OK);
    assert_memory_equal(xpk_from_org, xpk_a, ENT_X25519_LEN);

    assert_int_equal(ent_seal_to(c, key, sizeof(key), xpk_from_org), ENT_OK);
    assert_int_equal(ent_seal_open(out, c, sizeof(c), xpk_a, xsk_a), ENT_OK);
    assert_memory_equal(out, key, sizeof(key));
    /* sealing is randomised */
    assert_int_equal(ent_seal_to(c2, key, sizeof(key), xpk_a), ENT_OK);
    assert_memory_not_equal(c, c2, sizeof(c));
    /* only a can open it */
    assert_int_equal(ent_seal_open(out, c, sizeof(c), xpk_b, xsk_b),
                     ENT_EDECRYPT);
    for (size_t i = 0; i < sizeof(c); i++) {
        c[i] ^= 0x40;
        assert_int_equal(ent_seal_open(out, c, sizeof(c), xpk_a, xsk_a),
                         ENT_EDECRYPT);
        c[i] ^= 0x40;
    }
    assert_int_equal(ent_seal_open(out, c, sizeof(c) - 1, xpk_a, xsk_a),
                     ENT_EDECRYPT);
    assert_int_equal(ent_seal_open(out, c, ENT_SEAL_OVERHEAD - 1, xpk_a, xsk_a),
                     ENT_EDECRYPT);
    ent_wipe(xsk_a, sizeof(xsk_a));
    ent_wipe(xsk_b, sizeof(xsk_b));
    ent_identity_free(a);
    ent_identity_free(b);
}

/* Base64 (RFC 4648 §4 test vectors) both ways; the decoder refuses every
 * form ent_base64_encode does not write. */
static void test_base64(void **state) {
    (void)state;
    static const char *const vec[][2] = {{"", ""},
                                         {"f", "Zg=="},
                                         {"fo", "Zm8="},
                                         {"foo", "Zm9v"},
                                         {"foob", "Zm9vYg=="},
                                         {"fooba", "Zm9vYmE="},
                                         {"foobar", "Zm9vYmFy"}};
    uint8_t out[16];
    char txt[ENT_BASE64_LEN(6)];
    size_t n;
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        assert_int_equal(ent_base64_encode(txt, sizeof(txt),
                                           (const uint8_t *)vec[i][0],
                                           strlen(vec[i][0])),
                         ENT_OK);
        assert_string_equal(txt, vec[i][1]);
        assert_int_equal(ent_base64_decode(out, sizeof(out), &n, vec[i][1],
                                           strlen(vec[i][1])),
                         ENT_OK);
        assert_int_equal(n, strlen(vec[i][0]));
        assert_memory_equal(out, vec[i][0], n);
    }
    static const char *const bad[] = {"Zg",
                                      "Zg=",
                                      "Zh==",
                                      "Zm9v\n",
                                      "Zm 9",
                                      "Zm9-",
                                      "Zm9_",
                                      "=Zm9",
                                      "Zg==Zg==x",
                                      "Z===",
                                      "Zm8=Zm9v",
                                      "\xaa\x98\xc2"
                                      "B"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(
            ent_base64_decode(out, sizeof(out), &n, bad[i], strlen(bad[i])),
            ENT_EINVAL);
    assert_int_equal(ent_base64_decode(out, 2, &n, "Zm9v", 4), ENT_ETOOBIG);
    assert_int_equal(ent_base64_decode(out, 2, &n, "Zm8=", 4), ENT_OK);
    assert_int_equal(n, 2);
}

static void test_x25519(void **state) {
    ent_identity *a = NULL, *b = NULL;
    uint8_t xpk_a[32], xsk_a[32], xpk_b[32], xsk_b[32];
    uint8_t s1[32], s2[32], e_pk[32], e_sk[32], zero[32] = {0};
    (void)state;

    assert_int_equal(ent_identity_generate(&a), ENT_OK);
    assert_int_equal(ent_identity_generate(&b), ENT_OK);
    assert_int_equal(ent_identity_x25519(a, xpk_a, xsk_a), ENT_OK);
    assert_int_equal(ent_identity_x25519(b, xpk_b, xsk_b), ENT_OK);
    assert_int_equal(ent_x25519_shared(s1, xsk_a, xpk_b), ENT_OK);
    assert_int_equal(ent_x25519_shared(s2, xsk_b, xpk_a), ENT_OK);
    assert_memory_equal(s1, s2, 32);
    assert_memory_not_equal(s1, zero, 32);
    /* an ephemeral key agrees with a static one too */
    ent_x25519_keypair(e_pk, e_sk);
    assert_int_equal(ent_x25519_shared(s1, e_sk, xpk_a), ENT_OK);
    assert_int_equal(ent_x25519_shared(s2, xsk_a, e_pk), ENT_OK);
    assert_memory_equal(s1, s2, 32);
    /* a low-order point gives all zeros and is refused */
    assert_int_equal(ent_x25519_shared(s1, xsk_a, zero), ENT_ECRYPTO);
    assert_memory_equal(s1, zero, 32);
    ent_identity_free(a);
    ent_identity_free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_idempotent),
        cmocka_unit_test(test_ctx_strings),
        cmocka_unit_test(test_sign_known_answer),
        cmocka_unit_test(test_sign_verify_small),
        cmocka_unit_test(test_sign_verify_large),
        cmocka_unit_test(test_sign_bad_args),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_memeq_wipe),
        cmocka_unit_test(test_base32_vectors),
        cmocka_unit_test(test_base32_rejects),
        cmocka_unit_test(test_base32_roundtrip_random),
        cmocka_unit_test(test_org_id),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_aead),
        cmocka_unit_test(test_sealed_box),
        cmocka_unit_test(test_x25519),
        cmocka_unit_test(test_base64),
    };
    if (ent_crypto_init() != ENT_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
