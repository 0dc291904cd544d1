/*
 * noise.c - Noise Protocol Framework, revision 34, on libsodium.
 *
 * The handshake patterns are data (token lists); one write and one read
 * routine interpret them, following sections 5.1 to 5.3 of the Noise
 * specification: CipherState, SymmetricState and HandshakeState are folded
 * into struct ent_noise. Only DH = 25519, cipher = ChaChaPoly and hash =
 * SHA256 are implemented; HASHLEN = DHLEN = 32, so no key truncation occurs.
 */
#include "crypto/noise.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"

/* ---- patterns as data ------------------------------------------------- */

_Static_assert(sizeof ENT_NOISE_PROLOGUE - 1 == ENT_NOISE_PROLOGUE_LEN,
               "ENT_NOISE_PROLOGUE_LEN");

enum tok { T_END = 0, T_E, T_S, T_EE, T_ES, T_SE, T_SS };

#define MAX_MSGS 3
#define MAX_TOKENS 5

struct pattern {
    const char *name;                   /* "XX" */
    uint8_t pre_init[2];                /* initiator's pre-message */
    uint8_t pre_resp[2];                /* responder's pre-message */
    uint8_t nmsgs;                      /* messages in the handshake */
    uint8_t msgs[MAX_MSGS][MAX_TOKENS]; /* even index: initiator sends */
};

static const struct pattern patterns[] = {
    [ENT_NOISE_NN] = {"NN", {T_END}, {T_END}, 2, {{T_E}, {T_E, T_EE}}},
    [ENT_NOISE_XX] = {"XX",
                      {T_END},
                      {T_END},
                      3,
                      {{T_E}, {T_E, T_EE, T_S, T_ES}, {T_S, T_SE}}},
    [ENT_NOISE_IK] =
        {"IK", {T_END}, {T_S}, 2, {{T_E, T_ES, T_S, T_SS}, {T_E, T_EE, T_SE}}},
};

#define NPATTERNS (sizeof patterns / sizeof patterns[0])

enum { ST_RUN, ST_DONE, ST_SPLIT, ST_FAILED };

/* ---- state ------------------------------------------------------------- */

struct ent_noise_cipher {
    uint8_t k[32];
    uint64_t n;
};

struct ent_noise {
    const struct pattern *pat;
    bool initiator;
    int state;
    uint8_t msg_index;
    /* SymmetricState */
    uint8_t ck[32];
    uint8_t h[32];
    /* its CipherState */
    uint8_t k[32];
    uint64_t n;
    bool has_k;
    /* HandshakeState keys */
    uint8_t s_sk[32], s_pk[32];
    uint8_t e_sk[32], e_pk[32];
    uint8_t rs[32], re[32];
    bool has_s, has_e, has_rs, has_re;
};

/* ---- primitives -------------------------------------------------------- */

/* HMAC-SHA256(key, a || b); either part may be empty. */
static void hmac(uint8_t out[32], const uint8_t key[32], const uint8_t *a,
                 size_t alen, const uint8_t *b, size_t blen) {
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, key, 32);
    if (alen > 0)
        crypto_auth_hmacsha256_update(&st, a, alen);
    if (blen > 0)
        crypto_auth_hmacsha256_update(&st, b, blen);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

/*
 * Noise HKDF with two outputs: temp = HMAC(ck, ikm), o1 = HMAC(temp, 0x01),
 * o2 = HMAC(temp, o1 || 0x02). o1 may alias ck.
 */
static void hkdf2(const uint8_t ck[32], const uint8_t *ikm, size_t ilen,
                  uint8_t o1[32], uint8_t o2[32]) {
    static const uint8_t one = 1, two = 2;
    uint8_t temp[32];

    hmac(temp, ck, ikm, ilen, NULL, 0);
    hmac(o1, temp, &one, 1, NULL, 0);
    hmac(o2, temp, o1, 32, &two, 1);
    sodium_memzero(temp, sizeof temp);
}

/* The ChaChaPoly nonce: 32 bits of zeros, then n as 64-bit little-endian. */
static void make_nonce(uint8_t out[12], uint64_t n) {
    memset(out, 0, 4);
    for (int i = 0; i < 8; i++)
        out[4 + i] = (uint8_t)(n >> (8 * i));
}

static void aead_encrypt(uint8_t *out, const uint8_t k[32], uint64_t n,
                         const uint8_t *ad, size_t adlen, const uint8_t *pt,
                         size_t len) {
    uint8_t nonce[12];
    unsigned long long clen;

    make_nonce(nonce, n);
    crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, pt, len, ad, adlen,
                                              NULL, nonce, k);
}

/* len >= 16; out receives len - 16 bytes. @return 0 or -1. */
static int aead_decrypt(uint8_t *out, const uint8_t k[32], uint64_t n,
                        const uint8_t *ad, size_t adlen, const uint8_t *ct,
                        size_t len) {
    uint8_t nonce[12];
    unsigned long long mlen;

    make_nonce(nonce, n);
    return crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, ct, len,
                                                     ad, adlen, nonce, k);
}

/* ---- SymmetricState ---------------------------------------------------- */

static void mix_hash(ent_noise *n, const uint8_t *data, size_t len) {
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, n->h, 32);
    if (len > 0)
        crypto_hash_sha256_update(&st, data, len);
    crypto_hash_sha256_final(&st, n->h);
}

static void mix_key(ent_noise *n, const uint8_t ikm[32]) {
    hkdf2(n->ck, ikm, 32, n->ck, n->k);
    n->n = 0;
    n->has_k = true;
}

/* EncryptAndHash: out receives len (+16 once a key exists) bytes. */
static int encrypt_and_hash(ent_noise *n, const uint8_t *pt, size_t len,
                            uint8_t *out) {
    if (!n->has_k) {
        if (len > 0)
            memmove(out, pt, len);
        mix_hash(n, out, len);
        return ENT_OK;
    }
    if (n->n == UINT64_MAX)
        return ENT_ELIMIT;
    aead_encrypt(out, n->k, n->n, n->h, 32, pt, len);
    n->n++;
    mix_hash(n, out, len + ENT_NOISE_TAG_LEN);
    return ENT_OK;
}

/*
 * DecryptAndHash: out receives len (- 16 once a key exists) bytes. The new h
 * is computed over the ciphertext first, so out may alias ct.
 */
static int decrypt_and_hash(ent_noise *n, const uint8_t *ct, size_t len,
                            uint8_t *out) {
    crypto_hash_sha256_state st;
    uint8_t h2[32];

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, n->h, 32);
    if (len > 0)
        crypto_hash_sha256_update(&st, ct, len);
    crypto_hash_sha256_final(&st, h2);
    if (!n->has_k) {
        if (len > 0)
            memmove(out, ct, len);
    } else {
        if (len < ENT_NOISE_TAG_LEN)
            return ENT_EPROTO;
        if (n->n == UINT64_MAX)
            return ENT_ELIMIT;
        if (aead_decrypt(out, n->k, n->n, n->h, 32, ct, len) != 0)
            return ENT_EDECRYPT;
        n->n++;
    }
    memcpy(n->h, h2, 32);
    return ENT_OK;
}

/* ---- HandshakeState ---------------------------------------------------- */

static void wipe_secrets(ent_noise *n) {
    sodium_memzero(n->ck, sizeof n->ck);
    sodium_memzero(n->k, sizeof n->k);
    sodium_memzero(n->s_sk, sizeof n->s_sk);
    sodium_memzero(n->e_sk, sizeof n->e_sk);
    n->has_k = false;
}

static bool sender_is_initiator(uint8_t msg_index) {
    return msg_index % 2 == 0;
}

/* Whether side (initiator or not) of pattern p needs a static key pair. */
static bool needs_static(const struct pattern *p, bool initiator) {
    const uint8_t *pre = initiator ? p->pre_init : p->pre_resp;

    for (size_t i = 0; i < sizeof p->pre_init && pre[i] != T_END; i++)
        if (pre[i] == T_S)
            return true;
    for (uint8_t m = 0; m < p->nmsgs; m++) {
        if (sender_is_initiator(m) != initiator)
            continue;
        for (size_t i = 0; i < MAX_TOKENS && p->msgs[m][i] != T_END; i++)
            if (p->msgs[m][i] == T_S)
                return true;
    }
    return false;
}

/* Whether the pre-message of side contains its static key. */
static bool pre_static(const struct pattern *p, bool initiator) {
    const uint8_t *pre = initiator ? p->pre_init : p->pre_resp;

    for (size_t i = 0; i < sizeof p->pre_init && pre[i] != T_END; i++)
        if (pre[i] == T_S)
            return true;
    return false;
}

/*
 * The size of the current message carrying a payload of plen bytes: the
 * cipher key comes into existence at the first DH token, after which static
 * keys and the payload carry a tag.
 */
static size_t message_size(const ent_noise *n, size_t plen) {
    const uint8_t *toks = n->pat->msgs[n->msg_index];
    bool hk = n->has_k;
    size_t size = 0;

    for (size_t i = 0; i < MAX_TOKENS && toks[i] != T_END; i++) {
        switch (toks[i]) {
        case T_E:
            size += 32;
            break;
        case T_S:
            size += 32 + (hk ? ENT_NOISE_TAG_LEN : 0);
            break;
        default:
            hk = true;
            break;
        }
    }
    return size + plen + (hk ? ENT_NOISE_TAG_LEN : 0);
}

/* MixKey(DH(...)) for one of ee, es, se, ss, from our point of view. */
static int mix_dh(ent_noise *n, int tok) {
    const uint8_t *sk = NULL, *pk = NULL;
    bool ok = false;
    uint8_t shared[32];
    int rc = ENT_OK;

    switch (tok) {
    case T_EE:
        sk = n->e_sk, pk = n->re, ok = n->has_e && n->has_re;
        break;
    case T_ES:
        if (n->initiator)
            sk = n->e_sk, pk = n->rs, ok = n->has_e && n->has_rs;
        else
            sk = n->s_sk, pk = n->re, ok = n->has_s && n->has_re;
        break;
    case T_SE:
        if (n->initiator)
            sk = n->s_sk, pk = n->re, ok = n->has_s && n->has_re;
        else
            sk = n->e_sk, pk = n->rs, ok = n->has_e && n->has_rs;
        break;
    case T_SS:
        sk = n->s_sk, pk = n->rs, ok = n->has_s && n->has_rs;
        break;
    default:
        break;
    }
    if (!ok) {
        rc = ENT_EPROTO;
        goto out;
    }
    /* crypto_scalarmult refuses low-order points (all-zero output). */
    if (crypto_scalarmult(shared, sk, pk) != 0) {
        rc = ENT_EPROTO;
        goto out;
    }
    mix_key(n, shared);
out:
    sodium_memzero(shared, sizeof shared);
    return rc;
}

int ent_noise_new(ent_noise **out, ent_noise_pattern p, bool initiator,
                  const uint8_t *prologue, size_t plen, const uint8_t *s_sk,
                  const uint8_t *rs_pk, const uint8_t *e_sk) {
    ent_noise *n = NULL;
    const struct pattern *pat;
    char name[64];
    size_t nlen;
    int rc = ENT_OK;

    if (out == NULL)
        return ENT_EINVAL;
    *out = NULL;
    if ((unsigned)p >= NPATTERNS || (prologue == NULL && plen > 0))
        return ENT_EINVAL;
    pat = &patterns[p];
    if ((s_sk != NULL) != needs_static(pat, initiator) ||
        (rs_pk != NULL) != pre_static(pat, !initiator))
        return ENT_EINVAL;
    if (sodium_init() < 0)
        return ENT_ECRYPTO;
    n = calloc(1, sizeof *n);
    if (n == NULL)
        return ENT_ENOMEM;
    n->pat = pat;
    n->initiator = initiator;
    n->state = ST_RUN;
    if (s_sk != NULL) {
        memcpy(n->s_sk, s_sk, 32);
        if (crypto_scalarmult_base(n->s_pk, n->s_sk) != 0) {
            rc = ENT_EINVAL;
            goto out;
        }
        n->has_s = true;
    }
    if (e_sk != NULL) {
        memcpy(n->e_sk, e_sk, 32);
        if (crypto_scalarmult_base(n->e_pk, n->e_sk) != 0) {
            rc = ENT_EINVAL;
            goto out;
        }
        n->has_e = true;
    }
    if (rs_pk != NULL) {
        memcpy(n->rs, rs_pk, 32);
        n->has_rs = true;
    }

    /* InitializeSymmetric(protocol_name) */
    nlen = (size_t)snprintf(name, sizeof name,
                            "Noise_%s_25519_ChaChaPoly_SHA256", pat->name);
    if (nlen <= 32) {
        memset(n->h, 0, 32);
        memcpy(n->h, name, nlen);
    } else {
        crypto_hash_sha256(n->h, (const uint8_t *)name, nlen);
    }
    memcpy(n->ck, n->h, 32);
    mix_hash(n, prologue, plen);

    /* Pre-messages: the initiator's keys first, then the responder's. */
    for (int side = 0; side < 2; side++) {
        bool init_side = side == 0;
        const uint8_t *pre = init_side ? pat->pre_init : pat->pre_resp;
        bool mine = init_side == initiator;

        for (size_t i = 0; i < sizeof pat->pre_init && pre[i] != T_END; i++) {
            if (pre[i] == T_S) {
                mix_hash(n, mine ? n->s_pk : n->rs, 32);
            } else {
                /* No supported pattern has an ephemeral pre-message. */
                rc = ENT_EINVAL;
                goto out;
            }
        }
    }
    *out = n;
    n = NULL;
out:
    ent_noise_free(n);
    return rc;
}

bool ent_noise_done(const ent_noise *n) {
    return n != NULL && (n->state == ST_DONE || n->state == ST_SPLIT);
}

bool ent_noise_failed(const ent_noise *n) {
    return n != NULL && n->state == ST_FAILED;
}

bool ent_noise_is_my_turn(const ent_noise *n) {
    return n != NULL && n->state == ST_RUN &&
           sender_is_initiator(n->msg_index) == n->initiator;
}

static void advance(ent_noise *n) {
    n->msg_index++;
    if (n->msg_index == n->pat->nmsgs)
        n->state = ST_DONE;
}

static void fail(ent_noise *n) {
    wipe_secrets(n);
    n->state = ST_FAILED;
}

/*
 * WriteMessage: walks the tokens of the current message, then encrypts the
 * payload. Sizes are checked before any state changes, so a too-small buffer
 * can be retried.
 */
int ent_noise_write(ent_noise *n, const uint8_t *payload, size_t plen,
                    uint8_t *out, size_t cap, size_t *outlen) {
    const uint8_t *toks;
    size_t need, off = 0;
    int rc = ENT_OK;

    if (n == NULL || outlen == NULL || (payload == NULL && plen > 0) ||
        (out == NULL && cap > 0))
        return ENT_EINVAL;
    *outlen = 0;
    if (!ent_noise_is_my_turn(n))
        return ENT_EINVAL;
    if (plen > ENT_NOISE_MAX_MSG)
        return ENT_ETOOBIG;
    need = message_size(n, plen);
    if (need > ENT_NOISE_MAX_MSG)
        return ENT_ETOOBIG;
    if (need > cap) {
        *outlen = need;
        return ENT_ETOOBIG;
    }

    toks = n->pat->msgs[n->msg_index];
    for (size_t i = 0; i < MAX_TOKENS && toks[i] != T_END; i++) {
        switch (toks[i]) {
        case T_E:
            if (!n->has_e) {
                randombytes_buf(n->e_sk, 32);
                if (crypto_scalarmult_base(n->e_pk, n->e_sk) != 0) {
                    rc = ENT_ECRYPTO;
                    goto out;
                }
                n->has_e = true;
            }
            memcpy(out + off, n->e_pk, 32);
            mix_hash(n, n->e_pk, 32);
            off += 32;
            break;
        case T_S: {
            size_t sz = 32 + (n->has_k ? ENT_NOISE_TAG_LEN : 0);

            rc = encrypt_and_hash(n, n->s_pk, 32, out + off);
            if (rc != ENT_OK)
                goto out;
            off += sz;
            break;
        }
        default:
            rc = mix_dh(n, toks[i]);
            if (rc != ENT_OK)
                goto out;
            break;
        }
    }
    rc = encrypt_and_hash(n, payload, plen, out + off);
    if (rc != ENT_OK)
        goto out;
    *outlen = need;
    advance(n);
out:
    if (rc != ENT_OK) {
        sodium_memzero(out, need);
        fail(n);
    }
    return rc;
}

/*
 * ReadMessage: the message is hostile. Its length is checked against what
 * the pattern requires before any token is consumed; any failure after that
 * kills the handshake.
 */
int ent_noise_read(ent_noise *n, const uint8_t *msg, size_t len,
                   uint8_t *payload, size_t cap, size_t *plen) {
    const uint8_t *toks;
    size_t fixed, off = 0;
    int rc = ENT_OK;

    if (n == NULL || plen == NULL || (msg == NULL && len > 0) ||
        (payload == NULL && cap > 0))
        return ENT_EINVAL;
    *plen = 0;
    if (n->state != ST_RUN || ent_noise_is_my_turn(n))
        return ENT_EINVAL;
    if (len > ENT_NOISE_MAX_MSG) {
        rc = ENT_ETOOBIG;
        goto out;
    }
    fixed = message_size(n, 0);
    if (len < fixed) {
        rc = ENT_EPROTO;
        goto out;
    }
    if (len - fixed > cap) {
        rc = ENT_ETOOBIG;
        goto out;
    }

    toks = n->pat->msgs[n->msg_index];
    for (size_t i = 0; i < MAX_TOKENS && toks[i] != T_END; i++) {
        switch (toks[i]) {
        case T_E:
            memcpy(n->re, msg + off, 32);
            n->has_re = true;
            mix_hash(n, n->re, 32);
            off += 32;
            break;
        case T_S: {
            size_t sz = 32 + (n->has_k ? ENT_NOISE_TAG_LEN : 0);
            uint8_t rs[32];

            rc = decrypt_and_hash(n, msg + off, sz, rs);
            if (rc != ENT_OK)
                goto out;
            memcpy(n->rs, rs, 32);
            n->has_rs = true;
            off += sz;
            break;
        }
        default:
            rc = mix_dh(n, toks[i]);
            if (rc != ENT_OK)
                goto out;
            break;
        }
    }
    rc = decrypt_and_hash(n, msg + off, len - off, payload);
    if (rc != ENT_OK)
        goto out;
    *plen = len - fixed;
    advance(n);
out:
    if (rc != ENT_OK) {
        if (cap > 0)
            sodium_memzero(payload, cap);
        fail(n);
    }
    return rc;
}

int ent_noise_remote_static(const ent_noise *n, uint8_t out[32]) {
    if (n == NULL || out == NULL)
        return ENT_EINVAL;
    if (!n->has_rs)
        return ENT_ENOENT;
    memcpy(out, n->rs, 32);
    return ENT_OK;
}

int ent_noise_local_static(const ent_noise *n, uint8_t out[32]) {
    if (n == NULL || out == NULL)
        return ENT_EINVAL;
    if (!n->has_s)
        return ENT_ENOENT;
    memcpy(out, n->s_pk, 32);
    return ENT_OK;
}

const uint8_t *ent_noise_handshake_hash(const ent_noise *n) {
    return n == NULL ? NULL : n->h;
}

int ent_noise_split(ent_noise *n, ent_noise_cipher **send,
                    ent_noise_cipher **recv) {
    ent_noise_cipher *c1 = NULL, *c2 = NULL;
    int rc = ENT_OK;

    if (send == NULL || recv == NULL)
        return ENT_EINVAL;
    *send = *recv = NULL;
    if (n == NULL || n->state != ST_DONE)
        return ENT_EINVAL;
    c1 = calloc(1, sizeof *c1);
    c2 = calloc(1, sizeof *c2);
    if (c1 == NULL || c2 == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    /* Split(): k1, k2 = HKDF(ck, zerolen); c1 sends initiator->responder. */
    hkdf2(n->ck, NULL, 0, c1->k, c2->k);
    wipe_secrets(n);
    n->state = ST_SPLIT;
    if (n->initiator) {
        *send = c1;
        *recv = c2;
    } else {
        *send = c2;
        *recv = c1;
    }
    c1 = c2 = NULL;
out:
    ent_noise_cipher_free(c1);
    ent_noise_cipher_free(c2);
    return rc;
}

/* ---- transport CipherState --------------------------------------------- */

int ent_noise_encrypt(ent_noise_cipher *c, const uint8_t *ad, size_t adlen,
                      const uint8_t *pt, size_t len, uint8_t *out) {
    if (c == NULL || out == NULL || (ad == NULL && adlen > 0) ||
        (pt == NULL && len > 0))
        return ENT_EINVAL;
    if (len > ENT_NOISE_MAX_PLAINTEXT)
        return ENT_ETOOBIG;
    /* 2^64-1 is reserved (Rekey); never wrap, never reuse. */
    if (c->n == UINT64_MAX)
        return ENT_ELIMIT;
    aead_encrypt(out, c->k, c->n, ad, adlen, pt, len);
    c->n++;
    return ENT_OK;
}

int ent_noise_decrypt(ent_noise_cipher *c, const uint8_t *ad, size_t adlen,
                      const uint8_t *ct, size_t len, uint8_t *out) {
    if (c == NULL || out == NULL || (ad == NULL && adlen > 0) ||
        (ct == NULL && len > 0))
        return ENT_EINVAL;
    if (len > ENT_NOISE_MAX_MSG)
        return ENT_ETOOBIG;
    if (len < ENT_NOISE_TAG_LEN)
        return ENT_EPROTO;
    if (c->n == UINT64_MAX)
        return ENT_ELIMIT;
    if (aead_decrypt(out, c->k, c->n, ad, adlen, ct, len) != 0) {
        sodium_memzero(out, len - ENT_NOISE_TAG_LEN);
        return ENT_EDECRYPT;
    }
    c->n++;
    return ENT_OK;
}

int ent_noise_rekey(ent_noise_cipher *c) {
    static const uint8_t zeros[32];
    uint8_t tmp[32 + ENT_NOISE_TAG_LEN];

    if (c == NULL)
        return ENT_EINVAL;
    aead_encrypt(tmp, c->k, UINT64_MAX, NULL, 0, zeros, sizeof zeros);
    memcpy(c->k, tmp, 32);
    sodium_memzero(tmp, sizeof tmp);
    return ENT_OK;
}

uint64_t ent_noise_nonce(const ent_noise_cipher *c) {
    return c == NULL ? 0 : c->n;
}

void ent__noise_cipher_set_nonce(ent_noise_cipher *c, uint64_t n) {
    if (c != NULL)
        c->n = n;
}

void ent_noise_free(ent_noise *n) {
    if (n == NULL)
        return;
    sodium_memzero(n, sizeof *n);
    free(n);
}

void ent_noise_cipher_free(ent_noise_cipher *c) {
    if (c == NULL)
        return;
    sodium_memzero(c, sizeof *c);
    free(c);
}
