/*
 * tls.h - TLS for the TCP API over OpenSSL's libssl (spec/api.md "TLS"),
 * driven through memory BIOs so that libuv owns the socket: the server
 * feeds what it read (ent_tls_feed), takes the plaintext out
 * (ent_tls_read, which also runs the handshake), encrypts its answers
 * (ent_tls_write) and sends what is pending (ent_tls_take_out). Only this
 * file's .c includes OpenSSL.
 *
 * The context allows TLS 1.2 and 1.3 only; for 1.2 only ECDHE key
 * exchange with AEAD ciphers (AES-GCM, ChaCha20-Poly1305); 1.3 with
 * OpenSSL's default suites; no renegotiation, no compression, no session
 * tickets or cache.
 */
#ifndef ENT_TLS_H
#define ENT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ent_tls_ctx ent_tls_ctx;
typedef struct ent_tls ent_tls;

/*
 * Loads the certificate chain (PEM) and private key (PEM) and checks that
 * they match. The key file must not be readable by group or others.
 * On failure err holds a sentence naming the file and the cause.
 * @return ENT_OK; ENT_ENOENT (a file missing or unreadable); ENT_EINSECURE
 *         (key file readable by others); ENT_EINVAL (not a certificate or
 *         key, or they do not match); ENT_ENOMEM.
 */
int ent_tls_ctx_new(ent_tls_ctx **out, const char *cert, const char *key,
                    char *err, size_t errcap);

/* Frees ctx (connections hold their own reference). Accepts NULL. */
void ent_tls_ctx_free(ent_tls_ctx *ctx);

/* A server side connection state. @return ENT_OK, ENT_ENOMEM. */
int ent_tls_new(ent_tls **out, ent_tls_ctx *ctx);

/* Frees t. Accepts NULL. */
void ent_tls_free(ent_tls *t);

/* Hands len bytes read from the network to t. @return ENT_OK, ENT_ENOMEM. */
int ent_tls_feed(ent_tls *t, const uint8_t *in, size_t len);

/*
 * Runs the handshake and decrypts: up to cap bytes of plaintext into out,
 * their count in *n (0: nothing yet; call again after the next feed).
 * Handshake messages to send are left for ent_tls_take_out().
 * @return ENT_OK; ENT_ECLOSED (the peer sent close_notify); ENT_EPROTO (a
 *         TLS failure: bad record, refused version or cipher, ...; the
 *         alert to send is pending).
 */
int ent_tls_read(ent_tls *t, uint8_t *out, size_t cap, size_t *n);

/* Encrypts len bytes of plaintext (after the handshake). @return ENT_OK,
 * ENT_EPROTO. */
int ent_tls_write(ent_tls *t, const uint8_t *in, size_t len);

/* Queues a close_notify alert. */
void ent_tls_shutdown(ent_tls *t);

/*
 * Takes the bytes waiting to be sent: *out is malloc'ed (caller frees),
 * NULL with *len 0 when there are none. @return ENT_OK, ENT_ENOMEM.
 */
int ent_tls_take_out(ent_tls *t, uint8_t **out, size_t *len);

/* Whether the handshake has finished. */
bool ent_tls_ready(const ent_tls *t);

/* The reason of the last failure (OpenSSL's text), for the log. */
const char *ent_tls_reason(const ent_tls *t);

#endif
