/*
 * crypto.h - the project's small cryptographic API over libsodium.
 *
 * Only crypto/ includes sodium.h. Everyone else hashes, signs, seals and
 * compares through these functions. All sizes are fixed; secrets are
 * fixed-size arrays that the caller wipes with ent_wipe().
 */
#ifndef ENT_CRYPTO_H
#define ENT_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENT_PK_LEN 32         /* Ed25519 public key = org key */
#define ENT_SK_LEN 64         /* Ed25519 secret key (seed || pk) */
#define ENT_SIG_LEN 64        /* Ed25519 signature */
#define ENT_X25519_LEN 32     /* X25519 public or secret key */
#define ENT_HASH_LEN 32       /* BLAKE2b-256 */
#define ENT_KEY_LEN 32        /* symmetric key (epoch key) */
#define ENT_AEAD_NONCE_LEN 24 /* XChaCha20-Poly1305 nonce */
#define ENT_AEAD_TAG_LEN 16
#define ENT_SEAL_OVERHEAD 48  /* crypto_box_seal: ephemeral pk + tag */
#define ENT_ORG_ID_LEN 52     /* lowercase base32 (RFC 4648, no padding) of a pk */

/* Domain-separation contexts: every signature names the kind of record. */
typedef enum ent_sig_ctx {
    ENT_SIGCTX_OP = 0,        /* "entente/v1/op" */
    ENT_SIGCTX_TREE_HEAD = 1, /* "entente/v1/tree-head" */
    ENT_SIGCTX_LOG_ENTRY = 2, /* "entente/v1/log-entry" */
    ENT_SIGCTX_INVITE = 3,    /* "entente/v1/invite" */
    ENT_SIGCTX_JOIN = 4,      /* "entente/v1/join" */
    ENT_SIGCTX_KEYS = 5,      /* "entente/v1/keys" */
    ENT_SIGCTX_HANDSHAKE = 6, /* "entente/v1/handshake" */
    ENT_SIGCTX_ADDR = 7,      /* "entente/v1/addr" */
    ENT_SIGCTX__COUNT
} ent_sig_ctx;

/*
 * Initialises libsodium. Idempotent and thread-safe; call before anything
 * else in this header. @return ENT_OK or ENT_ECRYPTO.
 */
int ent_crypto_init(void);

/* Returns the context string of ctx ("entente/v1/op"), or NULL if unknown. */
const char *ent_sig_ctx_string(ent_sig_ctx ctx);

/* Fills buf with len random bytes. */
void ent_random(void *buf, size_t len);

/* Wipes len bytes at p so the compiler cannot elide it. */
void ent_wipe(void *p, size_t len);

/* Constant-time comparison of two len-byte buffers. */
bool ent_memeq(const void *a, const void *b, size_t len);

/* BLAKE2b-256 of in. */
void ent_hash(uint8_t out[ENT_HASH_LEN], const void *in, size_t len);

/*
 * BLAKE2b-256 of everything read from fd until end of file, in 64 KiB
 * reads; *len (may be NULL) gets the number of bytes.
 * @return ENT_OK or ENT_EIO.
 */
int ent_hash_fd(int fd, uint8_t out[ENT_HASH_LEN], uint64_t *len);

/* BLAKE2b-256 of the concatenation a || b (either may be empty). */
void ent_hash2(uint8_t out[ENT_HASH_LEN], const void *a, size_t alen,
               const void *b, size_t blen);

/*
 * Verifies an Ed25519 signature made with ent_identity_sign() (identity.h)
 * under context ctx over msg. @return ENT_OK, ENT_EBADSIG, ENT_EINVAL
 * (unknown ctx, NULL pointers), ENT_ENOMEM (messages over 512 bytes are
 * assembled on the heap).
 */
int ent_sig_verify(const uint8_t pk[ENT_PK_LEN], ent_sig_ctx ctx,
                   const uint8_t *msg, size_t len,
                   const uint8_t sig[ENT_SIG_LEN]);

/*
 * Converts an Ed25519 public key into its X25519 public key.
 * @return ENT_OK, or ENT_ECRYPTO for a key that is not a valid point.
 */
int ent_pk_to_x25519(uint8_t xpk[ENT_X25519_LEN], const uint8_t pk[ENT_PK_LEN]);

/*
 * XChaCha20-Poly1305 seal with a fresh random nonce written to nonce.
 * ct must hold ptlen + ENT_AEAD_TAG_LEN bytes. ad may be NULL when adlen is 0.
 */
int ent_aead_seal(uint8_t *ct, uint8_t nonce[ENT_AEAD_NONCE_LEN],
                  const uint8_t *pt, size_t ptlen, const uint8_t *ad,
                  size_t adlen, const uint8_t key[ENT_KEY_LEN]);

/*
 * Opens ct (ctlen >= ENT_AEAD_TAG_LEN) into pt (ctlen - tag bytes).
 * @return ENT_OK or ENT_EDECRYPT (pt is wiped then).
 */
int ent_aead_open(uint8_t *pt, const uint8_t *ct, size_t ctlen,
                  const uint8_t nonce[ENT_AEAD_NONCE_LEN], const uint8_t *ad,
                  size_t adlen, const uint8_t key[ENT_KEY_LEN]);

/*
 * Anonymous sealed box (crypto_box_seal) of msg to an X25519 public key;
 * out holds len + ENT_SEAL_OVERHEAD bytes. Used to deliver epoch keys.
 */
int ent_seal_to(uint8_t *out, const uint8_t *msg, size_t len,
                const uint8_t xpk[ENT_X25519_LEN]);

/* Opens a sealed box; out holds clen - ENT_SEAL_OVERHEAD bytes. */
int ent_seal_open(uint8_t *out, const uint8_t *c, size_t clen,
                  const uint8_t xpk[ENT_X25519_LEN],
                  const uint8_t xsk[ENT_X25519_LEN]);

/*
 * Org ids: lowercase RFC 4648 base32 of the 32-byte public key, no padding,
 * ENT_ORG_ID_LEN characters. out holds ENT_ORG_ID_LEN + 1 bytes.
 */
void ent_org_id_format(char out[ENT_ORG_ID_LEN + 1],
                       const uint8_t pk[ENT_PK_LEN]);

/* Parses an org id (case-insensitive). @return ENT_OK or ENT_EINVAL. */
int ent_org_id_parse(uint8_t pk[ENT_PK_LEN], const char *s);

/* Generic base32 (lowercase, no padding). outcap includes the NUL. */
int ent_base32_encode(char *out, size_t outcap, const uint8_t *in, size_t len);
/* @return ENT_OK, ENT_EINVAL (bad character or trailing bits), ENT_ETOOBIG. */
int ent_base32_decode(uint8_t *out, size_t outcap, size_t *outlen,
                      const char *in, size_t inlen);

/* Lowercase hex; out holds 2*len + 1 bytes. */
void ent_hex_encode(char *out, const uint8_t *in, size_t len);
/* @return ENT_OK or ENT_EINVAL unless exactly outlen bytes are decoded. */
int ent_hex_decode(uint8_t *out, size_t outlen, const char *in);

/* ---- additions (appended; the declarations above are the contract) ---- */

#define ENT_SIG_SEED_LEN 32 /* Ed25519 seed, the secret in the key file */

/*
 * X25519 Diffie-Hellman: out = sk * pk. @return ENT_OK, or ENT_ECRYPTO when
 * the result is all zeros (pk of low order); out is wiped then. The caller
 * wipes out and sk after use.
 */
int ent_x25519_shared(uint8_t out[ENT_X25519_LEN],
                      const uint8_t sk[ENT_X25519_LEN],
                      const uint8_t pk[ENT_X25519_LEN]);

/* A fresh random X25519 key pair (e.g. Noise ephemeral keys). The caller
 * wipes xsk after use. */
void ent_x25519_keypair(uint8_t xpk[ENT_X25519_LEN],
                        uint8_t xsk[ENT_X25519_LEN]);

/* Number of base32 characters (no padding, no NUL) that encode len bytes. */
size_t ent_base32_encoded_len(size_t len);

/*
 * Internal to crypto/ (identity.c uses it; everyone else signs through
 * ent_identity_sign()).
 *
 * ent__sig_sign signs ctx_string || 0x00 || msg with the 64-byte Ed25519
 * secret key sk. @return ENT_OK, ENT_EINVAL, ENT_ENOMEM, ENT_ECRYPTO.
 */
int ent__sig_sign(uint8_t sig[ENT_SIG_LEN], const uint8_t sk[ENT_SK_LEN],
                  ent_sig_ctx ctx, const uint8_t *msg, size_t len);

/* ---- keyed BLAKE2b MAC (node/invite.c: join proofs) ---- */

#define ENT_MAC_LEN 32 /* keyed BLAKE2b-256 tag */

/*
 * out = keyed BLAKE2b-256 (crypto_generichash with a 32-byte key) of msg.
 * msg may be NULL when len is 0. @return ENT_OK, ENT_EINVAL, ENT_ECRYPTO.
 */
int ent_mac(uint8_t out[ENT_MAC_LEN], const uint8_t key[ENT_KEY_LEN],
            const void *msg, size_t len);

/*
 * Recomputes the MAC of msg under key and compares it with tag in constant
 * time. @return ENT_OK, ENT_EBADSIG (mismatch), ENT_EINVAL, ENT_ECRYPTO.
 */
int ent_mac_verify(const uint8_t tag[ENT_MAC_LEN],
                   const uint8_t key[ENT_KEY_LEN], const void *msg, size_t len);

/* ---- password hashing (node/access: people's passwords) ---- */

#define ENT_PWHASH_STR_LEN 128 /* crypto_pwhash_STRBYTES, with the NUL */

/* The cost of ent_pwhash_str: opslimit (passes) and memlimit (bytes). */
typedef struct ent_pwhash_cost {
    unsigned long long ops;
    size_t mem;
} ent_pwhash_cost;

/* libsodium's interactive Argon2id cost (2 passes, 64 MiB): the default
 * of node/access. */
void ent_pwhash_cost_default(ent_pwhash_cost *out);
/* The cheapest cost libsodium accepts (1 pass, 8 KiB): tests only. */
void ent_pwhash_cost_min(ent_pwhash_cost *out);

/*
 * Hashes the password pw (len bytes) with Argon2id and a random salt into
 * the self-describing string out ("$argon2id$v=19$m=...,t=...,p=1$...",
 * NUL-terminated, at most ENT_PWHASH_STR_LEN bytes). cost NULL: the
 * default. @return ENT_OK, ENT_EINVAL (cost out of libsodium's range),
 * ENT_ENOMEM (the memory cost could not be allocated).
 */
int ent_pwhash_str(char out[ENT_PWHASH_STR_LEN], const char *pw, size_t len,
                   const ent_pwhash_cost *cost);

/*
 * Checks pw against a string made by ent_pwhash_str (the cost and salt are
 * read from it). @return ENT_OK, ENT_EBADSIG (wrong password or a string
 * that is not an Argon2id hash), ENT_EINVAL.
 */
int ent_pwhash_verify(const char *str, const char *pw, size_t len);

/* ---- webhooks (node/webhooks, spec/webhooks.md) ---- */

#define ENT_HMAC_SHA256_LEN 32

/*
 * HMAC-SHA256 (libsodium crypto_auth_hmacsha256, RFC 2104 with any key
 * length) of the concatenation of the nparts byte strings parts[i] (lens[i]
 * bytes each) under key (klen bytes).
 */
void ent_hmac_sha256(uint8_t out[ENT_HMAC_SHA256_LEN], const uint8_t *key,
                     size_t klen, const void *const *parts,
                     const size_t *lens, size_t nparts);

/* The length of the standard base64 text (RFC 4648 §4, with padding) of
 * len bytes, its terminating NUL included. */
#define ENT_BASE64_LEN(len) ((((len) + 2) / 3) * 4 + 1)

/* Standard base64 with padding of in into out (ENT_BASE64_LEN(len)
 * bytes). @return ENT_OK or ENT_ETOOBIG (outcap too small). */
int ent_base64_encode(char *out, size_t outcap, const uint8_t *in,
                      size_t len);

/* The bytes that standard base64 text of len characters decodes to at
 * most (padding not subtracted). */
#define ENT_BASE64_DECODED_MAX(len) (((len) / 4) * 3)

/* Decodes text (len bytes, no NUL needed): standard base64 with padding
 * exactly as ent_base64_encode writes it (RFC 4648 §4): a length that is a
 * multiple of 4, the standard alphabet, padding, zero unused bits; no
 * whitespace. Writes *outlen bytes to out (outcap bytes).
 * @return ENT_OK; ENT_EINVAL text that is not such base64 (nothing
 * meaningful is in out); ENT_ETOOBIG outcap is smaller than
 * ENT_BASE64_DECODED_MAX(len) minus the padding. */
int ent_base64_decode(uint8_t *out, size_t outcap, size_t *outlen,
                      const char *text, size_t len);

#endif
