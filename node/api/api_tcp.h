/*
 * api_tcp.h - the local API on TCP (spec/api.md "The TCP API"): the same
 * routes as HOME/api.sock, for the web page and CRMs, where no request is
 * the operator's: each needs a bearer token or a session cookie
 * (spec/access.md §2.3). Plain HTTP on a loopback address; any other
 * address needs TLS (tls.h) unless the operator said --insecure-http.
 * HTTP/1.1 keep-alive, one request at a time per connection, and bounds on
 * connections, time to send a request, requests per connection and
 * requests per second per credential (ratelimit.h).
 *
 * `serve` calls ent_api_tcp_configure() before ent_node_start(); the API
 * part then listens on the address after HOME/api.sock.
 */
#ifndef ENT_API_TCP_H
#define ENT_API_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/node.h"

#define ENT_API_TCP_MAX_CONNS 64      /* concurrent TCP connections */
#define ENT_API_TCP_MAX_CONNS_PER_IP 32 /* of them from one address: half */
#define ENT_API_TCP_HEAD_MS 10000     /* a request's head must arrive in */
#define ENT_API_TCP_BODY_MS 30000     /* then the rest of it in */
#define ENT_API_TCP_MAX_REQUESTS 1000 /* requests on one connection */
#define ENT_API_TCP_RATE 50           /* requests/s per credential */
#define ENT_API_TCP_BURST 100         /* and the burst allowed */
#define ENT_API_TCP_PORT_DEFAULT_HOST "127.0.0.1"

typedef struct ent_api_tcp_config {
    const char *addr;     /* "HOST:PORT", "[V6]:PORT" or "PORT" (loopback);
                             port 0 picks a free one */
    const char *tls_cert; /* PEM certificate chain, or NULL: plain HTTP */
    const char *tls_key;  /* PEM private key (mode 0600); with tls_cert */
    bool insecure_http;   /* allow plain HTTP on a non-loopback address */
    /* bounds; 0 takes the default above (rate: a negative value means no
     * limit, for benchmarks) */
    unsigned max_conns;
    int max_conns_per_ip; /* 0: the default; negative: no per-address bound
                             (a reverse proxy on the same host shows every
                             client as one address) */
    unsigned head_ms;
    unsigned body_ms;
    unsigned max_requests;
    double rate;
    double burst;
} ent_api_tcp_config;

/*
 * Checks cfg and keeps it for the next ent_node_start() of n (whose API
 * part must be attached): the address parses; a non-loopback address has
 * TLS or insecure_http; a certificate comes with its key and they load
 * and match (tls.h). Binds nothing. On failure err holds the reason.
 * @return ENT_OK; ENT_EINVAL (bad address, cert without key...);
 *         ENT_EINSECURE (non-loopback without TLS); the errors of
 *         ent_tls_ctx_new().
 */
int ent_api_tcp_configure(ent_node *n, const ent_api_tcp_config *cfg,
                          char *err, size_t errcap);

/* The address the TCP API listens on ("127.0.0.1:PORT", the real port),
 * "" when it does not; *tls whether under TLS (may be NULL). Borrowed. */
const char *ent_api_tcp_address(ent_node *n, bool *tls);

#endif
