/*
 * crypto.c - the project's cryptographic API over libsodium.
 *
 * Every primitive here is libsodium's; this file only fixes sizes, the
 * signature domain separation, the text encodings (base32, hex) and the
 * translation of libsodium's return codes into ent_err codes. The exact
 * definitions live in spec/crypto.md.
 */
#include "crypto/crypto.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <errno.h>
#include <unistd.h>

#include "node/err.h"

/* The sizes in crypto.h must be libsodium's. */
_Static_assert(ENT_PK_LEN == crypto_sign_PUBLICKEYBYTES, "pk size");
_Static_assert(ENT_SK_LEN == crypto_sign_SECRETKEYBYTES, "sk size");
_Static_assert(ENT_SIG_LEN == crypto_sign_BYTES, "sig size");
_Static_assert(ENT_X25519_LEN == crypto_scalarmult_BYTES, "x25519 size");
_Static_assert(ENT_X25519_LEN == crypto_scalarmult_SCALARBYTES, "x25519 sk");
_Static_assert(ENT_HASH_LEN == crypto_generichash_BYTES, "hash size");
_Static_assert(ENT_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
               "aead key size");
_Static_assert(ENT_AEAD_NONCE_LEN ==
                   crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
               "aead nonce size");
_Static_assert(ENT_AEAD_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES,
               "aead tag size");
_Static_assert(ENT_SEAL_OVERHEAD == crypto_box_SEALBYTES, "seal overhead");
_Static_assert(ENT_SIG_SEED_LEN == crypto_sign_SEEDBYTES, "seed size");

/* Signed messages up to this size are assembled on the stack. */
#define SIG_STACK_MAX 512

static const char *const sig_ctx_strings[ENT_SIGCTX__COUNT] = {
    [ENT_SIGCTX_OP] = "entente/v1/op",
    [ENT_SIGCTX_TREE_HEAD] = "entente/v1/tree-head",
    [ENT_SIGCTX_LOG_ENTRY] = "entente/v1/log-entry",
    [ENT_SIGCTX_INVITE] = "entente/v1/invite",
    [ENT_SIGCTX_JOIN] = "entente/v1/join",
    [ENT_SIGCTX_KEYS] = "entente/v1/keys",
    [ENT_SIGCTX_HANDSHAKE] = "entente/v1/handshake",
    [ENT_SIGCTX_ADDR] = "entente/v1/addr",
};

int ent_crypto_init(void) {
    /* sodium_init() returns 0 the first time, 1 when already initialised. */
    return sodium_init() < 0 ? ENT_ECRYPTO : ENT_OK;
}

const char *ent_sig_ctx_string(ent_sig_ctx ctx) {
    if ((int)ctx < 0 || ctx >= ENT_SIGCTX__COUNT)
        return NULL;
    return sig_ctx_strings[ctx];
}

void ent_random(void *buf, size_t len) {
    randombytes_buf(buf, len);
}

void ent_wipe(void *p, size_t len) {
    if (p != NULL)
        sodium_memzero(p, len);
}

bool ent_memeq(const void *a, const void *b, size_t len) {
    if (len == 0)
        return true;
    return sodium_memcmp(a, b, len) == 0;
}

void ent_hash(uint8_t out[ENT_HASH_LEN], const void *in, size_t len) {
    crypto_generichash(out, ENT_HASH_LEN, in, len, NULL, 0);
}

int ent_hash_fd(int fd, uint8_t out[ENT_HASH_LEN], uint64_t *len) {
    crypto_generichash_state st;
    uint64_t total = 0;
    uint8_t *buf = malloc(65536);
    if (buf == NULL)
        return ENT_ENOMEM;
    crypto_generichash_init(&st, NULL, 0, ENT_HASH_LEN);
    for (;;) {
        ssize_t n = read(fd, buf, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buf);
            return ENT_EIO;
        }
        if (n == 0)
            break;
        crypto_generichash_update(&st, buf, (size_t)n);
        total += (uint64_t)n;
    }
    free(buf);
    crypto_generichash_final(&st, out, ENT_HASH_LEN);
    if (len != NULL)
        *len = total;
    return ENT_OK;
}

void ent_hash2(uint8_t out[ENT_HASH_LEN], const void *a, size_t alen,
               const void *b, size_t blen) {
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, ENT_HASH_LEN);
    if (alen > 0)
        crypto_generichash_update(&st, a, alen);
    if (blen > 0)
        crypto_generichash_update(&st, b, blen);
    crypto_generichash_final(&st, out, ENT_HASH_LEN);
}

/*
 * Builds the message that Ed25519 actually signs for a record of context
 * ctx: the context string, one 0x00 byte, then msg. Small messages go into
 * the caller's stack buffer, larger ones onto the heap; *heap tells the caller
 * whether to free *out.
 */
static int sig_message(uint8_t **out, size_t *outlen, bool *heap,
                       uint8_t stackbuf[SIG_STACK_MAX], ent_sig_ctx ctx,
                       const uint8_t *msg, size_t len) {
    const char *cs = ent_sig_ctx_string(ctx);
    size_t cslen, total;
    uint8_t *m;

    if (cs == NULL || (msg == NULL && len > 0))
        return ENT_EINVAL;
    cslen = strlen(cs);
    if (len > SIZE_MAX - cslen - 1)
        return ENT_ETOOBIG;
    total = cslen + 1 + len;
    if (total <= SIG_STACK_MAX) {
        m = stackbuf;
        *heap = false;
    } else {
        m = malloc(total);
        if (m == NULL)
            return ENT_ENOMEM;
        *heap = true;
    }
    memcpy(m, cs, cslen);
    m[cslen] = 0x00;
    if (len > 0)
        memcpy(m + cslen + 1, msg, len);
    *out = m;
    *outlen = total;
    return ENT_OK;
}

int ent__sig_sign(uint8_t sig[ENT_SIG_LEN], const uint8_t sk[ENT_SK_LEN],
                  ent_sig_ctx ctx, const uint8_t *msg, size_t len) {
    uint8_t stackbuf[SIG_STACK_MAX];
    uint8_t *m = NULL;
    size_t mlen = 0;
    bool heap = false;
    int rc;

    if (sig == NULL || sk == NULL)
        return ENT_EINVAL;
    rc = sig_message(&m, &mlen, &heap, stackbuf, ctx, msg, len);
    if (rc != ENT_OK)
        return rc;
    if (crypto_sign_detached(sig, NULL, m, mlen, sk) != 0)
        rc = ENT_ECRYPTO;
    if (heap)
        free(m);
    return rc;
}

int ent_sig_verify(const uint8_t pk[ENT_PK_LEN], ent_sig_ctx ctx,
                   const uint8_t *msg, size_t len,
                   const uint8_t sig[ENT_SIG_LEN]) {
    uint8_t stackbuf[SIG_STACK_MAX];
    uint8_t *m = NULL;
    size_t mlen = 0;
    bool heap = false;
    int rc;

    if (pk == NULL || sig == NULL)
        return ENT_EINVAL;
    rc = sig_message(&m, &mlen, &heap, stackbuf, ctx, msg, len);
    if (rc != ENT_OK)
        return rc;
    if (crypto_sign_verify_detached(sig, m, mlen, pk) != 0)
        rc = ENT_EBADSIG;
    if (heap)
        free(m);
    return rc;
}

int ent_pk_to_x25519(uint8_t xpk[ENT_X25519_LEN],
                     const uint8_t pk[ENT_PK_LEN]) {
    if (crypto_sign_ed25519_pk_to_curve25519(xpk, pk) != 0)
        return ENT_ECRYPTO;
    return ENT_OK;
}

int ent_x25519_shared(uint8_t out[ENT_X25519_LEN],
                      const uint8_t sk[ENT_X25519_LEN],
                      const uint8_t pk[ENT_X25519_LEN]) {
    /* libsodium refuses a result of all zeros (a low-order public key). */
    if (crypto_scalarmult(out, sk, pk) != 0) {
        ent_wipe(out, ENT_X25519_LEN);
        return ENT_ECRYPTO;
    }
    return ENT_OK;
}

void ent_x25519_keypair(uint8_t xpk[ENT_X25519_LEN],
                        uint8_t xsk[ENT_X25519_LEN]) {
    crypto_box_keypair(xpk, xsk);
}

int ent_aead_seal(uint8_t *ct, uint8_t nonce[ENT_AEAD_NONCE_LEN],
                  const uint8_t *pt, size_t ptlen, const uint8_t *ad,
                  size_t adlen, const uint8_t key[ENT_KEY_LEN]) {
    unsigned long long clen = 0;

    if (ct == NULL || nonce == NULL || key == NULL ||
        (pt == NULL && ptlen > 0) || (ad == NULL && adlen > 0))
        return ENT_EINVAL;
    if (ptlen > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX)
        return ENT_ETOOBIG;
    randombytes_buf(nonce, ENT_AEAD_NONCE_LEN);
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(
            ct, &clen, pt, ptlen, ad, adlen, NULL, nonce, key) != 0)
        return ENT_ECRYPTO;
    return ENT_OK;
}

int ent_aead_open(uint8_t *pt, const uint8_t *ct, size_t ctlen,
                  const uint8_t nonce[ENT_AEAD_NONCE_LEN], const uint8_t *ad,
                  size_t adlen, const uint8_t key[ENT_KEY_LEN]) {
    unsigned long long plen = 0;

    if (ct == NULL || ctlen < ENT_AEAD_TAG_LEN || nonce == NULL ||
        key == NULL || (ad == NULL && adlen > 0) ||
        (pt == NULL && ctlen > ENT_AEAD_TAG_LEN))
        return ENT_EDECRYPT;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            pt, &plen, NULL, ct, ctlen, ad, adlen, nonce, key) != 0) {
        ent_wipe(pt, ctlen - ENT_AEAD_TAG_LEN);
        return ENT_EDECRYPT;
    }
    return ENT_OK;
}

int ent_seal_to(uint8_t *out, const uint8_t *msg, size_t len,
                const uint8_t xpk[ENT_X25519_LEN]) {
    if (out == NULL || xpk == NULL || (msg == NULL && len > 0))
        return ENT_EINVAL;
    if (len > crypto_box_MESSAGEBYTES_MAX - ENT_SEAL_OVERHEAD)
        return ENT_ETOOBIG;
    if (crypto_box_seal(out, msg, len, xpk) != 0)
        return ENT_ECRYPTO;
    return ENT_OK;
}

int ent_seal_open(uint8_t *out, const uint8_t *c, size_t clen,
                  const uint8_t xpk[ENT_X25519_LEN],
                  const uint8_t xsk[ENT_X25519_LEN]) {
    if (c == NULL || clen < ENT_SEAL_OVERHEAD || xpk == NULL || xsk == NULL ||
        (out == NULL && clen > ENT_SEAL_OVERHEAD))
        return ENT_EDECRYPT;
    if (crypto_box_seal_open(out, c, clen, xpk, xsk) != 0) {
        ent_wipe(out, clen - ENT_SEAL_OVERHEAD);
        return ENT_EDECRYPT;
    }
    return ENT_OK;
}

/* ---- base32 (RFC 4648 section 6, lowercase, no padding) ---- */

static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

/* The 5-bit value of lowercase base32 character c, or -1. */
static int b32_value(unsigned char c) {
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

size_t ent_base32_encoded_len(size_t len) {
    return (len / 5) * 8 + (len % 5 * 8 + 4) / 5;
}

int ent_base32_encode(char *out, size_t outcap, const uint8_t *in, size_t len) {
    size_t need, o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;

    if (out == NULL || (in == NULL && len > 0))
        return ENT_EINVAL;
    if (len > (SIZE_MAX - 8) / 8 * 5)
        return ENT_ETOOBIG;
    need = ent_base32_encoded_len(len) + 1;
    if (outcap < need)
        return ENT_ETOOBIG;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32_alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return ENT_OK;
}

int ent_base32_decode(uint8_t *out, size_t outcap, size_t *outlen,
                      const char *in, size_t inlen) {
    size_t n, o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;

    if (outlen != NULL)
        *outlen = 0;
    if (in == NULL && inlen > 0)
        return ENT_EINVAL;
    /* A final group of 1, 3 or 6 characters cannot come from whole bytes. */
    switch (inlen % 8) {
    case 1:
    case 3:
    case 6:
        return ENT_EINVAL;
    default:
        break;
    }
    n = inlen / 8 * 5 + (inlen % 8) * 5 / 8;
    if (n > outcap || (out == NULL && n > 0))
        return ENT_ETOOBIG;
    for (size_t i = 0; i < inlen; i++) {
        int v = b32_value((unsigned char)in[i]);
        if (v < 0)
            return ENT_EINVAL;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
        acc &= (1u << bits) - 1;
    }
    /* Canonical form: the unused low bits of the last character are zero. */
    if (acc != 0)
        return ENT_EINVAL;
    if (outlen != NULL)
        *outlen = o;
    return ENT_OK;
}

void ent_org_id_format(char out[ENT_ORG_ID_LEN + 1],
                       const uint8_t pk[ENT_PK_LEN]) {
    (void)ent_base32_encode(out, ENT_ORG_ID_LEN + 1, pk, ENT_PK_LEN);
}

int ent_org_id_parse(uint8_t pk[ENT_PK_LEN], const char *s) {
    char lower[ENT_ORG_ID_LEN];
    uint8_t tmp[ENT_PK_LEN];
    size_t n = 0;

    if (pk == NULL || s == NULL ||
        strnlen(s, ENT_ORG_ID_LEN + 1) != ENT_ORG_ID_LEN)
        return ENT_EINVAL;
    for (size_t i = 0; i < ENT_ORG_ID_LEN; i++) {
        char c = s[i];
        lower[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    if (ent_base32_decode(tmp, sizeof(tmp), &n, lower, ENT_ORG_ID_LEN) !=
            ENT_OK ||
        n != ENT_PK_LEN)
        return ENT_EINVAL;
    memcpy(pk, tmp, ENT_PK_LEN);
    return ENT_OK;
}

/* ---- hex ---- */

void ent_hex_encode(char *out, const uint8_t *in, size_t len) {
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ent_hex_decode(uint8_t *out, size_t outlen, const char *in) {
    if (in == NULL || (out == NULL && outlen > 0) || outlen > SIZE_MAX / 2)
        return ENT_EINVAL;
    /* Exactly 2*outlen digits, then the NUL. */
    if (strnlen(in, 2 * outlen + 1) != 2 * outlen)
        return ENT_EINVAL;
    for (size_t i = 0; i < outlen; i++) {
        int hi = hex_value((unsigned char)in[2 * i]);
        int lo = hex_value((unsigned char)in[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            memset(out, 0, outlen);
            return ENT_EINVAL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return ENT_OK;
}

/* ---- keyed BLAKE2b MAC ---- */

_Static_assert(ENT_MAC_LEN == crypto_generichash_BYTES, "mac size");
_Static_assert(ENT_KEY_LEN >= crypto_generichash_KEYBYTES_MIN &&
                   ENT_KEY_LEN <= crypto_generichash_KEYBYTES_MAX,
               "mac key size");

int ent_mac(uint8_t out[ENT_MAC_LEN], const uint8_t key[ENT_KEY_LEN],
            const void *msg, size_t len) {
    if (out == NULL || key == NULL || (msg == NULL && len > 0))
        return ENT_EINVAL;
    if (crypto_generichash(out, ENT_MAC_LEN, msg, len, key, ENT_KEY_LEN) != 0) {
        ent_wipe(out, ENT_MAC_LEN);
        return ENT_ECRYPTO;
    }
    return ENT_OK;
}

int ent_mac_verify(const uint8_t tag[ENT_MAC_LEN],
                   const uint8_t key[ENT_KEY_LEN], const void *msg,
                   size_t len) {
    uint8_t want[ENT_MAC_LEN];
    int rc;

    if (tag == NULL)
        return ENT_EINVAL;
    rc = ent_mac(want, key, msg, len);
    if (rc == ENT_OK && !ent_memeq(want, tag, ENT_MAC_LEN))
        rc = ENT_EBADSIG;
    ent_wipe(want, sizeof(want));
    return rc;
}

/* ---- password hashing ------------------------------------------------ */

void ent_pwhash_cost_default(ent_pwhash_cost *out) {
    out->ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    out->mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
}

void ent_pwhash_cost_min(ent_pwhash_cost *out) {
    out->ops = crypto_pwhash_OPSLIMIT_MIN;
    out->mem = crypto_pwhash_MEMLIMIT_MIN;
}

int ent_pwhash_str(char out[ENT_PWHASH_STR_LEN], const char *pw, size_t len,
                   const ent_pwhash_cost *cost) {
    ent_pwhash_cost c;
    if (out == NULL || (pw == NULL && len > 0))
        return ENT_EINVAL;
    if (cost != NULL)
        c = *cost;
    else
        ent_pwhash_cost_default(&c);
    if (c.ops < crypto_pwhash_OPSLIMIT_MIN ||
        c.ops > crypto_pwhash_OPSLIMIT_MAX ||
        c.mem < crypto_pwhash_MEMLIMIT_MIN ||
        c.mem > crypto_pwhash_MEMLIMIT_MAX)
        return ENT_EINVAL;
    if (ent_crypto_init() != ENT_OK)
        return ENT_ECRYPTO;
    /* crypto_pwhash_str uses Argon2id (crypto_pwhash_ALG_DEFAULT) */
    if (crypto_pwhash_str_alg(out, pw != NULL ? pw : "", len, c.ops, c.mem,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return ENT_ENOMEM;
    return ENT_OK;
}

int ent_pwhash_verify(const char *str, const char *pw, size_t len) {
    if (str == NULL || (pw == NULL && len > 0))
        return ENT_EINVAL;
    if (strncmp(str, crypto_pwhash_argon2id_STRPREFIX,
                strlen(crypto_pwhash_argon2id_STRPREFIX)) != 0 ||
        strnlen(str, ENT_PWHASH_STR_LEN) >= ENT_PWHASH_STR_LEN)
        return ENT_EBADSIG;
    if (ent_crypto_init() != ENT_OK)
        return ENT_ECRYPTO;
    return crypto_pwhash_str_verify(str, pw != NULL ? pw : "", len) == 0
               ? ENT_OK
               : ENT_EBADSIG;
}

void ent_hmac_sha256(uint8_t out[ENT_HMAC_SHA256_LEN], const uint8_t *key,
                     size_t klen, const void *const *parts,
                     const size_t *lens, size_t nparts) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, klen);
    for (size_t i = 0; i < nparts; i++)
        crypto_auth_hmacsha256_update(&st, parts[i], lens[i]);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

int ent_base64_encode(char *out, size_t outcap, const uint8_t *in,
                      size_t len) {
    if (outcap < ENT_BASE64_LEN(len))
        return ENT_ETOOBIG;
    sodium_bin2base64(out, outcap, in, len, sodium_base64_VARIANT_ORIGINAL);
    return ENT_OK;
}

int ent_base64_decode(uint8_t *out, size_t outcap, size_t *outlen,
                      const char *text, size_t len) {
    const char *end = NULL;
    size_t pad = 0, bin = 0;
    *outlen = 0;
    if (len % 4 != 0)
        return ENT_EINVAL;
    if (len == 0)
        return ENT_OK;
    pad = (text[len - 1] == '=') + (text[len - 2] == '=');
    /* the alphabet is checked here: libsodium (1.0.18) takes some bytes
     * over 0x7f for letters */
    for (size_t i = 0; i < len - pad; i++) {
        unsigned char c = (unsigned char)text[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return ENT_EINVAL;
    }
    if (outcap < ENT_BASE64_DECODED_MAX(len) - pad)
        return ENT_ETOOBIG;
    /* libsodium refuses bad padding and non-zero unused bits; end shows
     * where it stopped */
    if (sodium_base642bin(out, outcap, text, len, NULL, &bin, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != text + len || bin != ENT_BASE64_DECODED_MAX(len) - pad)
        return ENT_EINVAL;
    *outlen = bin;
    return ENT_OK;
}
