/*
 * tls.c - the OpenSSL glue of the TCP API: the server context (protocol
 * versions, ciphers, certificate and key) and one connection's SSL object
 * between two memory BIOs. See tls.h and spec/api.md "TLS".
 */
#include "node/api/tls.h"
#include "node/err.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* TLS 1.2: ECDHE key exchange and AEAD ciphers only, in this order. */
#define TLS12_CIPHERS                                                          \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"               \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"               \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

struct ent_tls_ctx {
    SSL_CTX *ssl;
};

struct ent_tls {
    SSL *ssl;
    BIO *in, *out; /* owned by ssl */
    char reason[160];
};

/* The first queued OpenSSL error as text (and the queue emptied). */
static void ssl_reason(char *buf, size_t cap) {
    unsigned long e = ERR_get_error();
    if (e == 0)
        snprintf(buf, cap, "unknown TLS error");
    else
        ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
}

static int file_check(const char *path, const char *what, bool secret,
                      char *err, size_t errcap) {
    struct stat st;
    if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
        snprintf(err, errcap, "%s file %s: %s", what, path, strerror(errno));
        return ENT_ENOENT;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errcap, "%s file %s: not a regular file", what, path);
        return ENT_EINVAL;
    }
    if (secret && (st.st_mode & 077) != 0) {
        snprintf(err, errcap,
                 "%s file %s: readable by others (chmod 600)", what, path);
        return ENT_EINSECURE;
    }
    return ENT_OK;
}

int ent_tls_ctx_new(ent_tls_ctx **out, const char *cert, const char *key,
                    char *err, size_t errcap) {
    ent_tls_ctx *c = NULL;
    char why[160];
    int rc;
    *out = NULL;
    err[0] = '\0';
    if ((rc = file_check(cert, "certificate", false, err, errcap)) != ENT_OK ||
        (rc = file_check(key, "key", true, err, errcap)) != ENT_OK)
        return rc;
    ERR_clear_error();
    if ((c = calloc(1, sizeof(*c))) == NULL ||
        (c->ssl = SSL_CTX_new(TLS_server_method())) == NULL) {
        rc = ENT_ENOMEM;
        snprintf(err, errcap, "cannot make a TLS context");
        goto out;
    }
    SSL_CTX_set_options(c->ssl, SSL_OP_NO_RENEGOTIATION |
                                    SSL_OP_NO_COMPRESSION |
                                    SSL_OP_CIPHER_SERVER_PREFERENCE |
                                    SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(c->ssl, 0); /* TLS 1.3: no tickets either */
    rc = ENT_EINVAL;
    if (SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(c->ssl, TLS12_CIPHERS) != 1) {
        ssl_reason(why, sizeof(why));
        snprintf(err, errcap, "TLS settings: %s", why);
        goto out;
    }
    if (SSL_CTX_use_certificate_chain_file(c->ssl, cert) != 1) {
        ssl_reason(why, sizeof(why));
        snprintf(err, errcap, "certificate file %s: not a PEM certificate (%s)",
                 cert, why);
        goto out;
    }
    if (SSL_CTX_use_PrivateKey_file(c->ssl, key, SSL_FILETYPE_PEM) != 1) {
        ssl_reason(why, sizeof(why));
        snprintf(err, errcap, "key file %s: not a PEM private key, or not "
                 "the certificate's (%s)", key, why);
        goto out;
    }
    if (SSL_CTX_check_private_key(c->ssl) != 1) {
        ssl_reason(why, sizeof(why));
        snprintf(err, errcap, "key file %s does not match certificate %s (%s)",
                 key, cert, why);
        goto out;
    }
    rc = ENT_OK;
    *out = c;
    c = NULL;
out:
    ent_tls_ctx_free(c);
    return rc;
}

void ent_tls_ctx_free(ent_tls_ctx *ctx) {
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl);
    free(ctx);
}

int ent_tls_new(ent_tls **out, ent_tls_ctx *ctx) {
    ent_tls *t = calloc(1, sizeof(*t));
    *out = NULL;
    if (t == NULL)
        return ENT_ENOMEM;
    t->ssl = SSL_new(ctx->ssl);
    t->in = BIO_new(BIO_s_mem());
    t->out = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->in == NULL || t->out == NULL) {
        BIO_free(t->in);
        BIO_free(t->out);
        SSL_free(t->ssl);
        free(t);
        return ENT_ENOMEM;
    }
    SSL_set_bio(t->ssl, t->in, t->out);
    SSL_set_accept_state(t->ssl);
    *out = t;
    return ENT_OK;
}

void ent_tls_free(ent_tls *t) {
    if (t == NULL)
        return;
    SSL_free(t->ssl); /* frees both BIOs */
    free(t);
}

int ent_tls_feed(ent_tls *t, const uint8_t *in, size_t len) {
    size_t done = 0;
    if (len == 0)
        return ENT_OK;
    if (BIO_write_ex(t->in, in, len, &done) != 1 || done != len)
        return ENT_ENOMEM;
    return ENT_OK;
}

int ent_tls_read(ent_tls *t, uint8_t *out, size_t cap, size_t *n) {
    size_t got = 0;
    *n = 0;
    ERR_clear_error();
    if (SSL_read_ex(t->ssl, out, cap, &got) == 1) {
        *n = got;
        return ENT_OK;
    }
    switch (SSL_get_error(t->ssl, 0)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return ENT_OK;
    case SSL_ERROR_ZERO_RETURN:
        return ENT_ECLOSED;
    default:
        ssl_reason(t->reason, sizeof(t->reason));
        return ENT_EPROTO;
    }
}

int ent_tls_write(ent_tls *t, const uint8_t *in, size_t len) {
    size_t done = 0;
    ERR_clear_error();
    if (SSL_write_ex(t->ssl, in, len, &done) != 1 || done != len) {
        ssl_reason(t->reason, sizeof(t->reason));
        return ENT_EPROTO;
    }
    return ENT_OK;
}

void ent_tls_shutdown(ent_tls *t) {
    ERR_clear_error();
    if (SSL_is_init_finished(t->ssl))
        SSL_shutdown(t->ssl);
    ERR_clear_error();
}

int ent_tls_take_out(ent_tls *t, uint8_t **out, size_t *len) {
    size_t pend = BIO_ctrl_pending(t->out), got = 0;
    *out = NULL;
    *len = 0;
    if (pend == 0)
        return ENT_OK;
    uint8_t *b = malloc(pend);
    if (b == NULL)
        return ENT_ENOMEM;
    if (BIO_read_ex(t->out, b, pend, &got) != 1) {
        free(b);
        return ENT_OK;
    }
    *out = b;
    *len = got;
    return ENT_OK;
}

bool ent_tls_ready(const ent_tls *t) {
    return SSL_is_init_finished(t->ssl) == 1;
}

const char *ent_tls_reason(const ent_tls *t) {
    return t->reason[0] ? t->reason : "no error";
}
