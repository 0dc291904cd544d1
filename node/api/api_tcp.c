/*
 * api_tcp.c - the local API on TCP: the listener, its connections (plain
 * or TLS through tls.h, keep-alive, one request at a time), the bounds of
 * spec/api.md "The TCP API" (connections, head and body deadlines,
 * requests per connection, requests per second per credential) and the
 * loopback-or-TLS rule. Requests go through the same dispatch and access
 * guard as the Unix socket, marked ENT_HTTP_TCP or ENT_HTTP_TLS so that
 * none of them is the operator's. See api_tcp.h.
 */
#include "node/api/api_tcp.h"
#include "node/api/api.h"
#include "node/api/http.h"
#include "node/api/ratelimit.h"
#include "node/api/tls.h"
#include "node/access/policy.h"
#include "node/web/web.h"
#include "node/err.h"
#include "node/home.h"
#include "node/log.h"

#include <uv.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE_SLOTS 4096          /* credentials and addresses tracked */
#define PENDING_MAX (64u * 1024) /* pipelined bytes kept while answering */

typedef struct tcp_conn tcp_conn;
typedef struct ent_api_tcp ent_api_tcp;

struct ent_api_tcp {
    ent_node *node;
    char addr_conf[ENT_ADDR_STRLEN]; /* as configured */
    char addr[ENT_ADDR_STRLEN];      /* actual, once listening */
    ent_tls_ctx *tls;                /* NULL: plain HTTP */
    ent_ratelimit *rl;
    unsigned max_conns, head_ms, body_ms, max_requests;
    unsigned max_per_ip; /* 0: no per-address bound */
    uv_tcp_t listener;
    int listener_open; /* 1 open, 2 closing, 0 closed */
    bool closing;
    tcp_conn *conns;
    size_t nconns;
    size_t nstreams; /* connections streaming an answer (events) */
    void (*closed_cb)(void *data);
    void *closed_data;
};

struct tcp_conn {
    ent_api_stream stream; /* first: the handlers' view of a streamed
                              answer (route.h), cast back to the conn */
    const ent_http_stream_ops *sops; /* a streamed answer, owned from its
                                        start until closed() */
    void *sdata;
    ent_api_tcp *srv;
    uv_tcp_t tcp;
    uv_timer_t timer;
    int open_handles;
    bool closing;
    bool refused;     /* over a bound: answered 503 (or closed) */
    bool busy;        /* a response is being written */
    bool head_seen;   /* the current request's head is complete */
    bool last;        /* close once the response is written */
    ent_tls *tls;     /* NULL: plain */
    ent_http_parser *parser;
    unsigned nreq;    /* requests answered on this connection */
    uint8_t *pending; /* plaintext that came after the current request */
    size_t npending;
    char ip[INET6_ADDRSTRLEN + 4];
    tcp_conn *prev, *next;
    char rbuf[16384];
    uint8_t pbuf[16384]; /* decrypted plaintext */
};

typedef struct tcp_write {
    uv_write_t req;
    tcp_conn *c;
    uint8_t *buf;
    bool end_of_response; /* the last write of one answer */
} tcp_write;

static int tcp_start(void *state);
static void tcp_close(void *state, void (*cb)(void *data), void *data);
static void tcp_free(void *state);
static const char *tcp_address(void *state, bool *tls);

/* How the API server (api.c) drives this one. */
static const ent_api_ext tcp_ext = {tcp_start, tcp_close, tcp_free,
                                    tcp_address};

/* ---- configuration --------------------------------------------------------
 */

static bool is_loopback(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    return false;
}

int ent_api_tcp_configure(ent_node *n, const ent_api_tcp_config *cfg,
                          char *err, size_t errcap) {
    ent_api *api = ent__node_api(n);
    ent_api_tcp *t = NULL;
    struct sockaddr_storage ss;
    char addr[ENT_ADDR_STRLEN], why[200];
    int rc = ENT_EINVAL;
    err[0] = '\0';
    if (api == NULL || cfg->addr == NULL) {
        snprintf(err, errcap, "no API to serve on TCP");
        return ENT_EINVAL;
    }
    /* "PORT" alone: loopback */
    size_t dl = strspn(cfg->addr, "0123456789");
    if (dl > 0 && cfg->addr[dl] == '\0')
        snprintf(addr, sizeof(addr), "%s:%s", ENT_API_TCP_PORT_DEFAULT_HOST,
                 cfg->addr);
    else
        snprintf(addr, sizeof(addr), "%s", cfg->addr);
    if (strlen(cfg->addr) >= ENT_ADDR_STRLEN - 12 ||
        ent_home_addr_check(addr, why, sizeof(why)) != ENT_OK ||
        ent_home_parse_addr(addr, &ss) != ENT_OK) {
        snprintf(err, errcap, "invalid API address '%.80s': %s", cfg->addr,
                 why);
        return ENT_EINVAL;
    }
    if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
        snprintf(err, errcap, "TLS needs both --tls-cert and --tls-key");
        return ENT_EINVAL;
    }
    if (cfg->tls_cert == NULL && !is_loopback(&ss) && !cfg->insecure_http) {
        snprintf(err, errcap,
                 "refusing to serve the API on %s without TLS: give "
                 "--tls-cert FILE --tls-key FILE, or --insecure-http to "
                 "send tokens and cookies in the clear",
                 addr);
        return ENT_EINSECURE;
    }
    if ((t = calloc(1, sizeof(*t))) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    t->node = n;
    snprintf(t->addr_conf, sizeof(t->addr_conf), "%s", addr);
    if (cfg->tls_cert != NULL &&
        (rc = ent_tls_ctx_new(&t->tls, cfg->tls_cert, cfg->tls_key, err,
                              errcap)) != ENT_OK)
        goto out;
    t->max_conns = cfg->max_conns ? cfg->max_conns : ENT_API_TCP_MAX_CONNS;
    t->max_per_ip = cfg->max_conns_per_ip < 0    ? 0
                    : cfg->max_conns_per_ip == 0 ? ENT_API_TCP_MAX_CONNS_PER_IP
                                                 : (unsigned)cfg->max_conns_per_ip;
    t->head_ms = cfg->head_ms ? cfg->head_ms : ENT_API_TCP_HEAD_MS;
    t->body_ms = cfg->body_ms ? cfg->body_ms : ENT_API_TCP_BODY_MS;
    t->max_requests =
        cfg->max_requests ? cfg->max_requests : ENT_API_TCP_MAX_REQUESTS;
    double rate = cfg->rate < 0 ? 0 : cfg->rate > 0 ? cfg->rate
                                                    : ENT_API_TCP_RATE;
    double burst = cfg->burst >= 1 ? cfg->burst
                   : cfg->rate > 0 ? 2 * cfg->rate
                                   : ENT_API_TCP_BURST;
    if ((rc = ent_ratelimit_new(&t->rl, rate, burst, RATE_SLOTS)) != ENT_OK) {
        snprintf(err, errcap, "bad rate limit");
        goto out;
    }
    ent__api_set_ext(api, &tcp_ext, t);
    t = NULL;
    rc = ENT_OK;
out:
    if (rc != ENT_OK && err[0] == '\0')
        snprintf(err, errcap, "%s", ent_strerror(rc));
    tcp_free(t);
    return rc;
}

static const char *tcp_address(void *state, bool *tls) {
    ent_api_tcp *t = state;
    if (tls != NULL)
        *tls = t != NULL && t->tls != NULL;
    return t != NULL && t->listener_open == 1 ? t->addr : "";
}

const char *ent_api_tcp_address(ent_node *n, bool *tls) {
    return tcp_address(ent__api_ext_state(ent__node_api(n), &tcp_ext), tls);
}

/* ---- connections ----------------------------------------------------------
 */

static void srv_maybe_closed(ent_api_tcp *t) {
    if (t->closing && t->nconns == 0 && t->listener_open == 0 &&
        t->closed_cb != NULL) {
        void (*cb)(void *) = t->closed_cb;
        t->closed_cb = NULL;
        cb(t->closed_data);
    }
}

static void conn_handle_closed(uv_handle_t *h) {
    tcp_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    ent_api_tcp *t = c->srv;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    t->nconns--;
    if (c->sops != NULL) { /* the stream's handler lets go of it */
        t->nstreams--;
        if (c->sops->closed != NULL)
            c->sops->closed(c->sdata);
        c->sops = NULL;
    }
    ent_http_parser_free(c->parser);
    ent_tls_free(c->tls);
    free(c->pending);
    free(c);
    srv_maybe_closed(t);
}

static void conn_close(tcp_conn *c) {
    if (c->closing)
        return;
    c->closing = true;
    ent__api_unhold(ent__node_api(c->srv->node), c);
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void conn_timeout(uv_timer_t *tm) {
    tcp_conn *c = tm->data;
    ENT_DEBUG(ent_node_log(c->srv->node),
              "api-tcp: %s: request not sent in time, closed", c->ip);
    conn_close(c);
}

/* Restarts the deadline: ms from now. */
static void conn_deadline(tcp_conn *c, unsigned ms) {
    if (!c->closing)
        uv_timer_start(&c->timer, conn_timeout, ms, 0);
}

static void conn_after_response(tcp_conn *c);
static void conn_release(void *conn, ent_http_response *resp, bool keep);
static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn_written(uv_write_t *wr, int status) {
    tcp_write *w = wr->data;
    tcp_conn *c = w->c;
    bool end = w->end_of_response;
    free(w->buf);
    free(w);
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (end)
        conn_after_response(c);
    else if (c->sops != NULL && c->sops->drain != NULL &&
             uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0)
        c->sops->drain(c->sdata); /* the stream may write more */
}

/* Writes buf (taken over) to the socket. */
static int conn_send(tcp_conn *c, uint8_t *buf, size_t len, bool end) {
    tcp_write *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        free(buf);
        return ENT_ENOMEM;
    }
    w->c = c;
    w->buf = buf;
    w->end_of_response = end;
    w->req.data = w;
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, conn_written) != 0) {
        free(buf);
        free(w);
        return ENT_EIO;
    }
    return ENT_OK;
}

/* Sends what TLS has to send (handshake, alerts, records); end marks the
 * last write of a response (an empty one if nothing is pending). */
static int conn_flush_tls(tcp_conn *c, bool end) {
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = ent_tls_take_out(c->tls, &out, &len);
    if (rc != ENT_OK)
        return rc;
    if (out == NULL && !end)
        return ENT_OK;
    if (out == NULL && (out = malloc(1)) == NULL)
        return ENT_ENOMEM;
    return conn_send(c, out, len, end);
}

/* ---- streamed answers (route.h), as on the socket (api.c) ---- */

/* Plaintext to the client: encrypted under TLS. buf is borrowed. */
static int conn_write_copy(tcp_conn *c, const char *buf, size_t len) {
    if (c->tls != NULL) {
        int rc = ent_tls_write(c->tls, (const uint8_t *)buf, len);
        return rc == ENT_OK ? conn_flush_tls(c, false) : rc;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return ENT_ENOMEM;
    memcpy(copy, buf, len);
    return conn_send(c, copy, len, false);
}

static size_t tstream_queued(const ent_api_stream *s) {
    const tcp_conn *c = (const tcp_conn *)s;
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

static int tstream_write(ent_api_stream *s, const char *buf, size_t len) {
    tcp_conn *c = (tcp_conn *)s;
    if (c->closing)
        return ENT_ECLOSED;
    if (tstream_queued(s) + len > ENT_API_STREAM_MAX_QUEUED) {
        ENT_INFO(ent_node_log(c->srv->node),
                 "api-tcp: %s: stream reader too slow (%zu bytes queued): "
                 "dropped",
                 c->ip, tstream_queued(s));
        conn_close(c);
        return ENT_ELIMIT;
    }
    int rc = conn_write_copy(c, buf, len);
    if (rc != ENT_OK)
        conn_close(c);
    return rc;
}

static void tstream_end(ent_api_stream *s) {
    conn_close((tcp_conn *)s);
}

/* Sends the head of resp's stream and hands the stream to its handler
 * (ENT_OK); or sets a 503 (ENT_API_MAX_STREAMS streams) or 500 in resp. */
static int conn_stream(tcp_conn *c, ent_http_response *resp) {
    const ent_http_stream_ops *ops = resp->stream;
    char *head = NULL;
    size_t len = 0;
    if (c->srv->nstreams >= ENT_API_MAX_STREAMS) {
        ENT_WARN(ent_node_log(c->srv->node),
                 "api-tcp: more than %d streams, refusing one",
                 ENT_API_MAX_STREAMS);
        return ent_http_response_error(resp, 503, ENT_ELIMIT,
                                       "too many streams");
    }
    if (ent_http_stream_head_serialize(ops, &head, &len) != ENT_OK)
        return ent_http_response_error(resp, 500, ENT_ENOMEM,
                                       "out of memory");
    c->sops = ops; /* the connection owns the stream from here on */
    c->sdata = resp->stream_data;
    resp->stream = NULL;
    resp->stream_data = NULL;
    c->srv->nstreams++;
    c->stream.write = tstream_write;
    c->stream.queued = tstream_queued;
    c->stream.end = tstream_end;
    c->busy = true;
    c->last = true;
    uv_timer_stop(&c->timer); /* the handler keeps it alive (heartbeats) */
    int rc = conn_write_copy(c, head, len);
    free(head);
    if (rc != ENT_OK) {
        conn_close(c);
        return ENT_OK;
    }
    /* reading goes on: it tells when the client is gone (the request
     * was read in a read callback, so reading is usually still on: libuv
     * answers UV_EALREADY then) */
    int r = uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
    if (r != 0 && r != UV_EALREADY) {
        conn_close(c);
        return ENT_OK;
    }
    if (ops->start != NULL)
        ops->start(c->sdata, &c->stream);
    return ENT_OK;
}

/* Serialises resp and writes it; the connection stays open for the next
 * request when keep is true. A streamed answer stays open instead. */
static void conn_respond(tcp_conn *c, ent_http_response *resp, bool keep) {
    ent_node_counters *ctr = ent__node_counters(c->srv->node);
    char *out = NULL;
    size_t len = 0;
    int rc;
    if (resp->stream != NULL && resp->status == 200 &&
        conn_stream(c, resp) == ENT_OK && c->sops != NULL) {
        ctr->api_requests++;
        return;
    }
    ctr->api_requests++;
    if (resp->status >= 400)
        ctr->api_errors++;
    c->busy = true;
    c->last = !keep;
    c->nreq++;
    uv_read_stop((uv_stream_t *)&c->tcp);
    /* a client that does not read its answer is closed in time too */
    conn_deadline(c, c->srv->body_ms);
    rc = ent_http_response_serialize_tcp(resp, keep, &out, &len);
    if (rc == ENT_OK && c->tls != NULL) {
        rc = ent_tls_write(c->tls, (const uint8_t *)out, len);
        if (rc == ENT_OK && c->last)
            ent_tls_shutdown(c->tls);
        if (rc == ENT_OK)
            rc = conn_flush_tls(c, true);
        free(out);
    } else if (rc == ENT_OK) {
        rc = conn_send(c, (uint8_t *)out, len, true);
    }
    if (rc != ENT_OK)
        conn_close(c);
}

static void conn_error(tcp_conn *c, int status, int err, const char *why) {
    ent_http_response resp = {0};
    ent_http_response_error(&resp, status, err, "%s", why);
    conn_respond(c, &resp, false);
    ent_http_response_clear(&resp);
}

/* The rate limit (spec/api.md "The TCP API"): per credential once
 * authenticated, else per client address. */
static bool conn_admit(void *data, const ent_principal *who,
                       uint64_t *retry_ms) {
    tcp_conn *c = data;
    char key[ENT_RATELIMIT_KEY_MAX + 1];
    if (who != NULL)
        snprintf(key, sizeof(key), "%c:%s", who->session ? 's' : 't',
                 who->token);
    else
        snprintf(key, sizeof(key), "a:%s", c->ip);
    return ent_ratelimit_take(c->srv->rl, key,
                              uv_now(ent_node_loop(c->srv->node)), retry_ms);
}

/*
 * The web page's files (spec/web.md): a GET of one of them is answered
 * here, before the API's dispatch, without a credential (they hold no
 * data: every byte of data comes from the API). true when answered.
 */
static bool conn_web(tcp_conn *c, const ent_http_request *req,
                     ent_http_response *resp) {
    if (strcmp(req->method, "GET") != 0)
        return false;
    const ent_web_file *f = ent_web_find(req->path);
    if (f == NULL)
        return false;
    uint64_t retry_ms = 0;
    if (!conn_admit(c, NULL, &retry_ms)) {
        ent_http_response_error(resp, 429, ENT_ELIMIT,
                                "too many requests; try again in %llu ms",
                                (unsigned long long)retry_ms);
        resp->retry_after = (unsigned)((retry_ms + 999) / 1000);
        return true;
    }
    char *copy = malloc(f->len ? f->len : 1);
    if (copy == NULL) {
        ent_http_response_error(resp, 500, ENT_ENOMEM, "out of memory");
        return true;
    }
    memcpy(copy, f->data, f->len);
    ent_http_response_text(resp, 200, f->content_type, copy, f->len);
    resp->headers = ENT_WEB_HEADERS;
    return true;
}

/* One whole request: dispatched with the TCP transport, answered. */
static void conn_request(tcp_conn *c) {
    ent_http_request *req = ent_http_parser_request(c->parser);
    ent_http_response resp = {0};
    ent_api_tcp *t = c->srv;
    req->transport = c->tls != NULL ? ENT_HTTP_TLS : ENT_HTTP_TCP;
    bool held = false;
    if (!conn_web(c, req, &resp))
        held = ent__api_dispatch_held(t->node, req, &resp, conn_admit, c);
    ENT_DEBUG(ent_node_log(t->node), "api-tcp: %s %s %s -> %d", c->ip,
              req->method, req->path, resp.status);
    bool keep = req->keep_alive && !t->closing &&
                c->nreq + 1 < t->max_requests;
    if (held) {
        /* answered once its group commit is durable (conn_release); what
         * the client pipelines meanwhile waits in c->pending */
        c->busy = true;
        uv_read_stop((uv_stream_t *)&c->tcp);
        if (ent__api_hold(ent__node_api(t->node), c, &resp, keep,
                          conn_release) == ENT_OK)
            return;
        int err = ent_store_group_commit(ent_node_store(t->node));
        ent__node_ops_release(t->node, err);
        if (err != ENT_OK) {
            ent_http_response_clear(&resp);
            ent_http_response_error(&resp, 500, err,
                                    "storage commit failed: %s (the change "
                                    "was not made)",
                                    ent_strerror(err));
        }
    }
    conn_respond(c, &resp, keep);
    ent_http_response_clear(&resp);
}

/* A held answer, now that its group is durable (api.c). */
static void conn_release(void *conn, ent_http_response *resp, bool keep) {
    tcp_conn *c = conn;
    conn_respond(c, resp, keep && !c->srv->closing);
}

/*
 * Feeds plaintext to the request being read. Bytes after a complete
 * request (pipelining) are kept for after its answer, at most
 * PENDING_MAX; the connection is closed beyond that.
 */
static void conn_plain(tcp_conn *c, const uint8_t *buf, size_t len) {
    const ent_log *lg = ent_node_log(c->srv->node);
    bool complete = false;
    size_t trailing = 0;
    if (c->closing || len == 0)
        return;
    if (c->busy) {
        if (len > PENDING_MAX - c->npending) {
            conn_close(c);
            return;
        }
        uint8_t *p = realloc(c->pending, c->npending + len);
        if (p == NULL) {
            conn_close(c);
            return;
        }
        memcpy(p + c->npending, buf, len);
        c->pending = p;
        c->npending += len;
        return;
    }
    int rc = ent_http_parser_feed(c->parser, buf, len, &complete, &trailing);
    if (rc != ENT_OK) {
        const char *why = ent_http_parser_reason(c->parser);
        ENT_DEBUG(lg, "api-tcp: %s: bad request: %s", c->ip, why);
        conn_error(c, rc == ENT_ETOOBIG ? 413 : 400,
                   rc == ENT_ETOOBIG ? ENT_ETOOBIG : ENT_EPROTO, why);
        return;
    }
    if (!c->head_seen && ent_http_parser_head_done(c->parser)) {
        c->head_seen = true;
        conn_deadline(c, c->srv->body_ms);
    }
    if (!complete)
        return;
    conn_request(c);
    if (trailing > 0 && !c->closing)
        conn_plain(c, buf + len - trailing, trailing); /* kept: busy */
}

/* Decrypts what TLS holds and hands it on; sends handshake bytes. */
static void conn_tls_drain(tcp_conn *c) {
    for (;;) {
        size_t n = 0;
        if (c->closing)
            return;
        int rc = ent_tls_read(c->tls, c->pbuf, sizeof(c->pbuf), &n);
        if (rc != ENT_OK) {
            ENT_DEBUG(ent_node_log(c->srv->node), "api-tcp: %s: TLS: %s",
                      c->ip,
                      rc == ENT_ECLOSED ? "closed" : ent_tls_reason(c->tls));
            c->busy = true; /* nothing more is read */
            c->last = true;
            uv_read_stop((uv_stream_t *)&c->tcp);
            if (conn_flush_tls(c, true) != ENT_OK) /* the alert */
                conn_close(c);
            return;
        }
        if (n == 0)
            break;
        conn_plain(c, c->pbuf, n);
    }
    if (!c->closing && !c->busy && conn_flush_tls(c, false) != ENT_OK)
        conn_close(c);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
    tcp_conn *c = h->data;
    buf->base = c->rbuf;
    buf->len = sizeof(c->rbuf);
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    tcp_conn *c = s->data;
    if (c->closing || nread == 0)
        return;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (c->sops != NULL)
        return; /* streaming: what the client sends after is ignored */
    if (c->tls == NULL) {
        conn_plain(c, (const uint8_t *)buf->base, (size_t)nread);
        return;
    }
    if (ent_tls_feed(c->tls, (const uint8_t *)buf->base, (size_t)nread) !=
        ENT_OK) {
        conn_close(c);
        return;
    }
    conn_tls_drain(c);
}

/* After an answer is written: close, or get ready for the next request
 * (what came pipelined first, then what TLS still holds, then the
 * socket). */
static void conn_after_response(tcp_conn *c) {
    if (c->last || c->srv->closing) {
        conn_close(c);
        return;
    }
    ent_http_parser_free(c->parser);
    c->parser = NULL;
    if (ent_http_parser_new(&c->parser) != ENT_OK) {
        conn_close(c);
        return;
    }
    c->busy = false;
    c->head_seen = false;
    conn_deadline(c, c->srv->head_ms);
    uint8_t *p = c->pending;
    size_t n = c->npending;
    c->pending = NULL;
    c->npending = 0;
    conn_plain(c, p, n);
    free(p);
    if (!c->closing && !c->busy && c->tls != NULL)
        conn_tls_drain(c);
    if (!c->closing && !c->busy &&
        uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read) != 0)
        conn_close(c);
}

static void conn_peer_ip(tcp_conn *c) {
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    strcpy(c->ip, "?");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET)
        uv_ip4_name((struct sockaddr_in *)&ss, c->ip, sizeof(c->ip));
    else if (ss.ss_family == AF_INET6)
        uv_ip6_name((struct sockaddr_in6 *)&ss, c->ip, sizeof(c->ip));
}

/* The connections that count against the bounds, c included: all but
 * those refused or being closed (their deadlines end them); *from_ip
 * those of them from c's address. A linear walk of the open ones. */
static size_t conns_counted(const ent_api_tcp *t, const tcp_conn *c,
                            size_t *from_ip) {
    size_t n = 0;
    *from_ip = 0;
    for (const tcp_conn *o = t->conns; o != NULL; o = o->next) {
        if (o->closing || o->refused)
            continue;
        n++;
        if (strcmp(o->ip, c->ip) == 0)
            (*from_ip)++;
    }
    return n;
}

static void on_connection(uv_stream_t *server, int status) {
    ent_api_tcp *t = server->data;
    const ent_log *lg = ent_node_log(t->node);
    if (status < 0 || t->closing) {
        ENT_WARN(lg, "api-tcp: accept: %s", uv_strerror(status));
        return;
    }
    tcp_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->srv = t;
    uv_tcp_init(server->loop, &c->tcp);
    uv_timer_init(server->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    c->next = t->conns;
    if (t->conns != NULL)
        t->conns->prev = c;
    t->conns = c;
    t->nconns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    conn_peer_ip(c);
    size_t from_ip = 0;
    bool all = conns_counted(t, c, &from_ip) > t->max_conns;
    if (all || (t->max_per_ip > 0 && from_ip > t->max_per_ip)) {
        c->refused = true;
        ent__node_counters(t->node)->api_rejected++;
        ENT_WARN(lg, "api-tcp: more than %u connections%s, refusing %s",
                 all ? t->max_conns : t->max_per_ip,
                 all ? "" : " from one address", c->ip);
        if (t->tls != NULL) {
            conn_close(c); /* no handshake to answer in */
        } else {
            conn_deadline(c, t->head_ms);
            conn_error(c, 503, ENT_ELIMIT,
                       all ? "too many API connections"
                           : "too many API connections from this address");
        }
        return;
    }
    conn_deadline(c, t->head_ms);
    if (ent_http_parser_new(&c->parser) != ENT_OK ||
        (t->tls != NULL && ent_tls_new(&c->tls, t->tls) != ENT_OK) ||
        uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read) != 0)
        conn_close(c);
}

/* ---- the listener ---------------------------------------------------------
 */

static int tcp_start(void *state) {
    ent_api_tcp *t = state;
    const ent_log *lg = ent_node_log(t->node);
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    int rc = ENT_OK;
    if (ent_home_parse_addr(t->addr_conf, &ss) != ENT_OK)
        return ENT_EINVAL;
    int r = uv_tcp_init(ent_node_loop(t->node), &t->listener);
    if (r != 0)
        return ent_err_from_errno(-r);
    t->listener.data = t;
    t->listener_open = 1;
    if ((r = uv_tcp_bind(&t->listener, (struct sockaddr *)&ss, 0)) != 0 ||
        (r = uv_listen((uv_stream_t *)&t->listener, 128, on_connection)) !=
            0) {
        ENT_WARN(lg, "api-tcp: listen %s: %s", t->addr_conf, uv_strerror(r));
        rc = r == UV_EADDRINUSE ? ENT_EBUSY : ent_err_from_errno(-r);
        t->addr[0] = '\0';
        return rc;
    }
    if (uv_tcp_getsockname(&t->listener, (struct sockaddr *)&ss, &len) == 0) {
        char ip[INET6_ADDRSTRLEN] = "";
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
            snprintf(t->addr, sizeof(t->addr), "[%s]:%u", ip,
                     ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
            snprintf(t->addr, sizeof(t->addr), "%s:%u", ip,
                     ntohs(((struct sockaddr_in *)&ss)->sin_port));
        }
    }
    ENT_INFO(lg, "api: serving on tcp %s (%s)", t->addr,
             t->tls != NULL ? "TLS" : "plain HTTP");
    return ENT_OK;
}

static void listener_closed(uv_handle_t *h) {
    ent_api_tcp *t = h->data;
    t->listener_open = 0;
    srv_maybe_closed(t);
}

static void tcp_close(void *state, void (*cb)(void *data), void *data) {
    ent_api_tcp *t = state;
    t->closing = true;
    t->closed_cb = cb;
    t->closed_data = data;
    if (t->listener_open == 1) {
        t->listener_open = 2;
        uv_close((uv_handle_t *)&t->listener, listener_closed);
    }
    for (tcp_conn *c = t->conns; c != NULL; c = c->next)
        conn_close(c);
    srv_maybe_closed(t);
}

static void tcp_free(void *state) {
    ent_api_tcp *t = state;
    if (t == NULL)
        return;
    ent_tls_ctx_free(t->tls);
    ent_ratelimit_free(t->rl);
    free(t);
}
