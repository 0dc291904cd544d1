/*
 * noise.h - the Noise Protocol Framework (revision 34) on libsodium.
 *
 * Entente sessions use Noise_XX_25519_ChaChaPoly_SHA256 with the prologue
 * "entente/1" (spec/handshake.md). NN and IK are implemented as well, from
 * the same token lists, so that the published test vectors can be checked.
 *
 * Primitives (none written by hand): X25519 = crypto_scalarmult, ChaChaPoly =
 * crypto_aead_chacha20poly1305_ietf with the nonce 4 zero bytes || 64-bit
 * little-endian counter, SHA256 = crypto_hash_sha256, HMAC-SHA256 =
 * crypto_auth_hmacsha256, HKDF as in Noise section 4.3.
 *
 * Life of a handshake:
 *
 *     ent_noise_new()                      one per side
 *     ent_noise_write() / ent_noise_read() alternately, until ent_noise_done()
 *     ent_noise_remote_static()            check it against the expected org
 *     ent_noise_split()                    two transport ciphers
 *     ent_noise_free()                     the handshake state (the ciphers
 *                                          live on: ent_noise_cipher_free())
 *
 * Every secret (chaining key, cipher keys, static and ephemeral secret keys,
 * DH outputs) is wiped with sodium_memzero on every path, including the free
 * functions. Nothing here is thread-safe: one handshake or cipher belongs to
 * one thread at a time. There is no global state.
 */
#ifndef ENT_NOISE_H
#define ENT_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENT_NOISE_MAX_MSG 65535 /* Noise: no message is longer than this */
#define ENT_NOISE_TAG_LEN 16    /* ChaChaPoly authentication tag */
#define ENT_NOISE_KEY_LEN 32    /* X25519 public or secret key */
#define ENT_NOISE_HASH_LEN 32   /* SHA-256 */
/* Largest transport plaintext: one Noise message minus the tag. */
#define ENT_NOISE_MAX_PLAINTEXT (ENT_NOISE_MAX_MSG - ENT_NOISE_TAG_LEN)
/* Entente's prologue (spec/handshake.md), without a terminating NUL. */
#define ENT_NOISE_PROLOGUE "entente/1"
#define ENT_NOISE_PROLOGUE_LEN 9

typedef struct ent_noise ent_noise;               /* handshake state */
typedef struct ent_noise_cipher ent_noise_cipher; /* transport CipherState */

typedef enum ent_noise_pattern {
    ENT_NOISE_NN = 0, /* -> e; <- e, ee */
    ENT_NOISE_XX = 1, /* -> e; <- e, ee, s, es; -> s, se   (Entente) */
    ENT_NOISE_IK = 2, /* <- s ...; -> e, es, s, ss; <- e, ee, se */
} ent_noise_pattern;

/*
 * Starts a handshake as initiator or responder.
 *
 * @param[out] out      the new state; free with ent_noise_free().
 * @param[in]  p        the handshake pattern.
 * @param[in]  initiator true for the side that writes the first message.
 * @param[in]  prologue bytes both sides must agree on (may be NULL if plen 0);
 *                      copied into the hash at once, not kept.
 * @param[in]  s_sk     local static X25519 secret key (32 bytes), copied.
 *                      Required by XX (both sides) and IK (both sides); must
 *                      be NULL for NN.
 * @param[in]  rs_pk    the remote static public key known in advance: required
 *                      for the IK initiator, NULL otherwise.
 * @param[in]  e_sk     fixed ephemeral secret key, for test vectors and fuzz
 *                      targets only; NULL (always, in production) draws a
 *                      fresh random one.
 * @return ENT_OK, ENT_EINVAL (unknown pattern, a required key missing or an
 *         unexpected one given), ENT_ENOMEM, ENT_ECRYPTO (libsodium not
 *         initialisable).
 */
int ent_noise_new(ent_noise **out, ent_noise_pattern p, bool initiator,
                  const uint8_t *prologue, size_t plen, const uint8_t *s_sk,
                  const uint8_t *rs_pk, const uint8_t *e_sk);

/*
 * Writes the next handshake message, carrying payload (encrypted once a key
 * has been agreed, i.e. from message 2 of NN/XX and message 1 of IK).
 *
 * Errors found before anything changes leave the state as it was:
 * ENT_EINVAL (NULL argument, not our turn, handshake finished or failed) and
 * ENT_ETOOBIG (the message would exceed ENT_NOISE_MAX_MSG or cap; *outlen is
 * then set to the size needed if that is <= ENT_NOISE_MAX_MSG, else 0).
 * A DH failure (the peer sent a low-order point) returns ENT_EPROTO and
 * leaves the handshake unusable.
 *
 * @param[out] out    cap bytes; receives *outlen bytes.
 * @return ENT_OK, ENT_EINVAL, ENT_ETOOBIG, ENT_EPROTO, ENT_ELIMIT.
 */
int ent_noise_write(ent_noise *n, const uint8_t *payload, size_t plen,
                    uint8_t *out, size_t cap, size_t *outlen);

/*
 * Reads the next handshake message msg (hostile bytes) and writes its
 * decrypted payload to payload (cap bytes; ENT_NOISE_MAX_MSG is always
 * enough), its length to *plen.
 *
 * ENT_EINVAL (NULL argument, not our turn, handshake finished or failed)
 * changes nothing. Every other error leaves the handshake unusable (further
 * calls return ENT_EINVAL) and the payload buffer wiped:
 * ENT_ETOOBIG (len > ENT_NOISE_MAX_MSG, or the payload does not fit cap),
 * ENT_EPROTO (too short for the pattern, or a low-order DH input),
 * ENT_EDECRYPT (authentication failed: tampered or wrong keys).
 */
int ent_noise_read(ent_noise *n, const uint8_t *msg, size_t len,
                   uint8_t *payload, size_t cap, size_t *plen);

/* True once every message of the pattern has been written or read. */
bool ent_noise_done(const ent_noise *n);

/* True if n is a handshake that failed (a bad read, a failed DH). */
bool ent_noise_failed(const ent_noise *n);

/* True if it is our turn to write (false when done or failed). */
bool ent_noise_is_my_turn(const ent_noise *n);

/*
 * Copies the remote static public key, once it is known (from the start for
 * the IK initiator, after the message that carries it otherwise). The session
 * layer must compare it with the key of the org it expects (spec/handshake.md).
 * @return ENT_OK, ENT_ENOENT (not known yet / pattern has none), ENT_EINVAL.
 */
int ent_noise_remote_static(const ent_noise *n, uint8_t out[32]);

/* Copies the local static public key.
 * @return ENT_OK, ENT_ENOENT (NN has none), ENT_EINVAL. */
int ent_noise_local_static(const ent_noise *n, uint8_t out[32]);

/*
 * The current handshake hash h (ENT_NOISE_HASH_LEN bytes). After the
 * handshake it is the channel-binding value; before, it is the transcript
 * hash so far (what spec/handshake.md has the payload signatures cover).
 * Borrowed: the pointer stays valid until ent_noise_free(n), but the bytes
 * change with every write/read, so copy them to keep the value of a given
 * point of the handshake.
 */
const uint8_t *ent_noise_handshake_hash(const ent_noise *n);

/*
 * Splits a finished handshake into the two transport ciphers: send encrypts
 * what we send, recv decrypts what we receive. May be called once; the
 * chaining key is wiped afterwards (the handshake hash stays readable).
 * The caller frees both with ent_noise_cipher_free(); they do not depend on n.
 * @return ENT_OK, ENT_EINVAL (not done, already split, NULL), ENT_ENOMEM.
 */
int ent_noise_split(ent_noise *n, ent_noise_cipher **send,
                    ent_noise_cipher **recv);

/*
 * Encrypts len bytes of pt (len <= ENT_NOISE_MAX_PLAINTEXT) with associated
 * data ad (may be NULL if adlen is 0) into out, which holds
 * len + ENT_NOISE_TAG_LEN bytes (out may equal pt). Uses and advances the
 * nonce. A nonce is never reused: when the counter has reached 2^64-1 (the
 * value Noise reserves for rekey) it returns ENT_ELIMIT and the session must
 * reconnect; the session layer rekeys long before that (every 2^32 messages,
 * see spec/handshake.md), so in practice this never happens.
 * @return ENT_OK, ENT_EINVAL, ENT_ETOOBIG, ENT_ELIMIT.
 */
int ent_noise_encrypt(ent_noise_cipher *c, const uint8_t *ad, size_t adlen,
                      const uint8_t *pt, size_t len, uint8_t *out);

/*
 * Decrypts len bytes of ct (ENT_NOISE_TAG_LEN <= len <= ENT_NOISE_MAX_MSG)
 * into out (len - ENT_NOISE_TAG_LEN bytes; out may equal ct). The nonce
 * advances only on success; a failed message leaves out wiped.
 * @return ENT_OK, ENT_EINVAL, ENT_ETOOBIG, ENT_EPROTO (shorter than a tag),
 *         ENT_EDECRYPT, ENT_ELIMIT.
 */
int ent_noise_decrypt(ent_noise_cipher *c, const uint8_t *ad, size_t adlen,
                      const uint8_t *ct, size_t len, uint8_t *out);

/*
 * Noise Rekey(): k = the first 32 bytes of ENCRYPT(k, 2^64-1, "", 32 zeros).
 * The nonce counter is not reset. Both sides must rekey at the same point of
 * the message stream. @return ENT_OK or ENT_EINVAL.
 */
int ent_noise_rekey(ent_noise_cipher *c);

/* The next nonce the cipher will use (the number of messages so far). */
uint64_t ent_noise_nonce(const ent_noise_cipher *c);

/* Wipes and frees. Accept NULL and half-built states. */
void ent_noise_free(ent_noise *n);
void ent_noise_cipher_free(ent_noise_cipher *c);

/*
 * Internal, for tests only: sets the nonce counter of c, so that nonce
 * exhaustion can be tested without 2^64 messages. Never call it elsewhere:
 * moving the counter backwards reuses nonces.
 */
void ent__noise_cipher_set_nonce(ent_noise_cipher *c, uint64_t n);

#endif
