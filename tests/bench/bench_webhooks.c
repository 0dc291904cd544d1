/*
 * bench_webhooks.c - webhook deliveries (spec/webhooks.md): a serving node
 * (ent_daemon_open) and a tiny HTTP/1.1 receiver on the same libuv loop
 * (keep-alive, answers 200 to every POST), one webhook owned by the
 * operator, events appended straight into the store:
 *
 *  a) deliveries per second: N events queued, the node started, time until
 *     the webhook's cursor reaches the last one. Each delivery is one
 *     signed POST and one durable LMDB commit (cursor, counters, log row),
 *     so the limit it is compared to is LMDB's durable commits of one put;
 *  b) drain after an outage: the receiver stops listening, 10,000 events
 *     are appended (attempts fail, the default backoff grows: 1 s, 2 s..),
 *     after 2 s it listens again; the time from then until the last event
 *     is acknowledged (the pending backoff delay included).
 */
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#include "node/daemon/daemon.h"
#include "node/err.h"
#include "node/events/event.h"
#include "node/home.h"
#include "node/node.h"
#include "node/webhooks/webhook.h"
#include "tests/bench/bench.h"

#define APPEND_BATCH 1000
#define RECV_BUF_MAX (1u << 20)

typedef struct rconn {
    uv_tcp_t tcp;
    char *buf;
    size_t len, cap;
    struct wbench *w;
    struct rconn *prev, *next;
} rconn;

typedef struct wbench {
    uv_loop_t loop;
    ent_node *n;
    ent_log log;
    uv_tcp_t listener;
    bool listening;
    int port;
    uint64_t received;
    rconn *conns; /* open connections, closed when the receiver stops */
    uv_timer_t check;
    uint64_t target; /* stop the loop once the cursor reaches it */
    bool done;
    uint64_t received0; /* run_until: received when it began */
    double first;       /* run_until: when the first request came, 0 */
} wbench;

static const char OK[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

static int rm_cb(const char *p, const struct stat *sb, int flag,
                 struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* ---- the receiver --------------------------------------------------------- */

static void rconn_closed(uv_handle_t *h) {
    rconn *c = h->data;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        c->w->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    free(c->buf);
    free(c);
}

static void r_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
    rconn *c = h->data;
    if (c->cap - c->len < 16384 && c->cap < RECV_BUF_MAX) {
        size_t cap = c->cap ? c->cap * 2 : 32768;
        char *nb = realloc(c->buf, cap);
        if (nb != NULL) {
            c->buf = nb;
            c->cap = cap;
        }
    }
    b->base = c->buf + c->len;
    b->len = c->cap - c->len;
}

static void r_written(uv_write_t *wr, int status) {
    free(wr);
}

/* Answers every complete request in the buffer. */
static void r_serve(rconn *c) {
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (end == NULL)
            return;
        size_t head = (size_t)(end - c->buf) + 4, body = 0;
        for (char *p = c->buf; p < end; p++)
            if (strncasecmp(p, "\r\ncontent-length:", 17) == 0) {
                body = strtoul(p + 17, NULL, 10);
                break;
            }
        if (c->len < head + body)
            return;
        memmove(c->buf, c->buf + head + body, c->len - head - body);
        c->len -= head + body;
        c->w->received++;
        uv_write_t *wr = malloc(sizeof(*wr));
        uv_buf_t b = uv_buf_init((char *)OK, sizeof(OK) - 1);
        if (wr == NULL ||
            uv_write(wr, (uv_stream_t *)&c->tcp, &b, 1, r_written) != 0)
            free(wr);
    }
}

static void r_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    rconn *c = s->data;
    if (n < 0) {
        if (!uv_is_closing((uv_handle_t *)&c->tcp))
            uv_close((uv_handle_t *)&c->tcp, rconn_closed);
        return;
    }
    c->len += (size_t)n;
    r_serve(c);
}

static void r_accept(uv_stream_t *srv, int status) {
    wbench *w = srv->data;
    rconn *c = calloc(1, sizeof(*c));
    if (status < 0 || c == NULL) {
        free(c);
        return;
    }
    c->w = w;
    uv_tcp_init(&w->loop, &c->tcp);
    c->tcp.data = c;
    c->next = w->conns;
    if (w->conns != NULL)
        w->conns->prev = c;
    w->conns = c;
    if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, r_alloc, r_read) != 0)
        uv_close((uv_handle_t *)&c->tcp, rconn_closed);
}

/* Listens on 127.0.0.1:port (0: a free one, then kept in w->port). */
static int r_listen(wbench *w) {
    struct sockaddr_in a;
    struct sockaddr_storage got;
    int len = sizeof(got);
    uv_ip4_addr("127.0.0.1", w->port, &a);
    uv_tcp_init(&w->loop, &w->listener);
    w->listener.data = w;
    if (uv_tcp_bind(&w->listener, (const struct sockaddr *)&a, 0) != 0 ||
        uv_listen((uv_stream_t *)&w->listener, 64, r_accept) != 0 ||
        uv_tcp_getsockname(&w->listener, (struct sockaddr *)&got, &len) != 0) {
        uv_close((uv_handle_t *)&w->listener, NULL);
        return -1;
    }
    w->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    w->listening = true;
    return 0;
}

/* The receiver goes away: no listener, every connection closed. */
static void r_unlisten(wbench *w) {
    if (w->listening)
        uv_close((uv_handle_t *)&w->listener, NULL);
    w->listening = false;
    for (rconn *c = w->conns; c != NULL; c = c->next)
        if (!uv_is_closing((uv_handle_t *)&c->tcp))
            uv_close((uv_handle_t *)&c->tcp, rconn_closed);
}

/* ---- the node's side ---------------------------------------------------- */

struct append {
    uint64_t count, last;
};

static int append_fn(ent_txn *txn, void *data) {
    struct append *a = data;
    json_t *d = json_pack("{s:{s:s,s:s}}", "shared", "next_step",
                          "call the customer back", "stage", "proposal");
    ent_event ev = {.kind = "fields.changed", .has_object = true,
                    .has_org = true, .data = d};
    memset(ev.object, 0x5a, 32);
    memset(ev.org, 0xa5, 32);
    int rc = d != NULL ? ENT_OK : ENT_ENOMEM;
    for (uint64_t i = 0; rc == ENT_OK && i < a->count; i++)
        rc = ent_events_append(txn, &ev, 1700000000000ull + i, &a->last);
    json_decref(d);
    return rc;
}

static uint64_t append_events(wbench *w, uint64_t n) {
    uint64_t last = 0;
    for (uint64_t at = 0; at < n; at += APPEND_BATCH) {
        struct append a = {n - at < APPEND_BATCH ? n - at : APPEND_BATCH, 0};
        if (ent_store_write(ent_node_store(w->n), append_fn, &a) != ENT_OK)
            return 0;
        last = a.last;
    }
    return last;
}

static int hook_fn(ent_txn *txn, void *data) {
    wbench *w = data;
    ent_webhook h;
    char err[64];
    memset(&h, 0, sizeof(h));
    snprintf(h.id, sizeof(h.id), "00000000000000be");
    snprintf(h.url, sizeof(h.url), "http://127.0.0.1:%d/bench", w->port);
    ent_webhook_kinds_parse(&h, "*", err, sizeof(err));
    ent_webhook_secret_new(h.secret);
    int rc = ent_webhook_put(txn, &h);
    return rc == ENT_OK ? ent_events_cursor_set(txn, "hook:00000000000000be",
                                                0)
                        : rc;
}

static int cursor_fn(ent_txn *txn, void *data) {
    return ent_events_cursor_get(txn, "hook:00000000000000be", data);
}

static void on_check(uv_timer_t *t) {
    wbench *w = t->data;
    uint64_t c = 0;
    if (w->first == 0 && w->received > w->received0)
        w->first = ent_bench_now();
    if (ent_store_read(ent_node_store(w->n), cursor_fn, &c) == ENT_OK &&
        c >= w->target) {
        w->done = true;
        uv_stop(&w->loop);
    }
}

/* Runs the loop until the cursor reaches target or limit_s passes;
 * returns the seconds it took, or -1. */
static double run_until(wbench *w, uint64_t target, double limit_s) {
    double t0 = ent_bench_now();
    w->target = target;
    w->done = false;
    w->received0 = w->received;
    w->first = 0;
    uv_timer_start(&w->check, on_check, 2, 2);
    while (!w->done && ent_bench_now() - t0 < limit_s)
        uv_run(&w->loop, UV_RUN_ONCE);
    uv_timer_stop(&w->check);
    return w->done ? ent_bench_now() - t0 : -1;
}

static void on_pause(uv_timer_t *t) {
    uv_stop(t->loop);
}

/* Runs the loop for ms milliseconds. */
static void run_for(wbench *w, uint64_t ms) {
    uv_timer_t t;
    uv_timer_init(&w->loop, &t);
    uv_timer_start(&t, on_pause, ms, 0);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&w->loop, UV_RUN_NOWAIT);
}

static void close_walk(uv_handle_t *h, void *arg) {
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void ent_bench_webhooks(ent_bench_report *r, int quick) {
    wbench *w = calloc(1, sizeof(*w));
    uint64_t n = quick ? 2000 : 10000, drain_n = 10000;
    char tmp[64] = "", home[128], org[ENT_ORG_ID_LEN + 1];
    bool started = false;
    if (w == NULL)
        return;
    ent_log_init(&w->log, ENT_LOG_ERROR, "bench");
    snprintf(tmp, sizeof(tmp), "/tmp/ent-bench-hooks.XXXXXX");
    if (mkdtemp(tmp) == NULL || uv_loop_init(&w->loop) != 0) {
        fprintf(stderr, "bench_webhooks: no temporary folder or loop\n");
        r->failed = 1;
        free(w);
        return;
    }
    snprintf(home, sizeof(home), "%s/W", tmp);
    uv_timer_init(&w->loop, &w->check); /* closed at out */
    w->check.data = w;
    if (ent_home_init(home, "W", "127.0.0.1:0", NULL, org) != ENT_OK ||
        ent_daemon_open(&w->n, &w->loop, home, &w->log) != ENT_OK ||
        r_listen(w) != 0 ||
        ent_store_write(ent_node_store(w->n), hook_fn, w) != ENT_OK)
        goto fail;

    /* a) deliveries per second */
    fprintf(stderr, "bench_webhooks: %llu deliveries to a local receiver...\n",
            (unsigned long long)n);
    uint64_t last = append_events(w, n);
    if (last == 0 || ent_node_start(w->n, NULL) != ENT_OK)
        goto fail;
    started = true;
    double dt = run_until(w, last, 300);
    if (dt <= 0)
        goto fail;
    ent_bench_add(r, "webhook deliveries, local receiver", (double)n / dt,
                  "/s", "lmdb commit", r->lim.lmdb_commit);

    /* b) drain after an outage */
    fprintf(stderr, "bench_webhooks: %llu events queued while the receiver "
                    "is down...\n",
            (unsigned long long)drain_n);
    r_unlisten(w);
    run_for(w, 50);
    last = append_events(w, drain_n);
    if (last == 0)
        goto fail;
    run_for(w, 2000);
    if (r_listen(w) != 0)
        goto fail;
    dt = run_until(w, last, 600);
    if (dt <= 0)
        goto fail;
    double wait = w->first > 0 ? w->first - (ent_bench_now() - dt) : 0;
    ent_bench_add(r, "webhooks: 10k queued drained after outage", dt, "s", "",
                  0);
    ent_bench_add(r, "  of which the pending retry delay", wait, "s", "", 0);
    ent_bench_add(r, "  deliveries/s once resumed",
                  (double)drain_n / (dt - wait), "/s", "lmdb commit",
                  r->lim.lmdb_commit);
    goto out;
fail:
    fprintf(stderr, "bench_webhooks: failed\n");
    r->failed = 1;
out:
    if (started)
        ent_node_stop(w->n, NULL, NULL);
    r_unlisten(w);
    uv_close((uv_handle_t *)&w->check, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT); /* the receiver's conns end at EOF */
    uv_walk(&w->loop, close_walk, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    ent_node_free(w->n);
    uv_loop_close(&w->loop);
    if (tmp[0] != '\0')
        nftw(tmp, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    free(w);
}
