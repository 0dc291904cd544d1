/*
 * outbox_test.c - the webhook delivery engine (node/webhooks/outbox.h) in
 * one process: a serving node (ent_daemon_open) and a small HTTP/1.1
 * receiver on the same libuv loop that notes the Entente-Event-Id of each
 * request and answers 200 (or 503 while told to fail).
 *
 *  - events queued before start arrive once each, in id order, and the
 *    acknowledgements held in memory are written when the node stops (the
 *    stored cursor is the last event, though the 50 ms batch never ran);
 *  - a 503 keeps the cursor: the same event is sent again, then the rest;
 *  - events removed by retention before delivery leave a note in the
 *    delivery log and the webhook goes on with the oldest kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <strings.h>
#include <uv.h>

#include "node/daemon/daemon.h"
#include "node/err.h"
#include "node/events/event.h"
#include "node/home.h"
#include "node/node.h"
#include "node/webhooks/outbox.h"
#include "node/webhooks/webhook.h"
#include "store_fixture.h"

#define HOOK "00000000000000c1"
#define MAX_SEEN 1024

typedef struct fx {
    char dir[256], home[300];
    uv_loop_t loop;
    ent_node *n;
    uv_tcp_t listener;
    int port;
    uint64_t seen[MAX_SEEN]; /* Entente-Event-Id of each request */
    size_t nseen;
    int fail_left; /* answer 503 to this many requests */
    uint64_t want;  /* stop the loop once this many requests came ... */
    uv_timer_t guard, poll; /* ... and the engine took every answer */
} fx;

typedef struct conn {
    uv_tcp_t tcp;
    fx *f;
    char buf[65536];
    size_t len;
} conn;

static const char OK[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
static const char BUSY[] =
    "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n";

static void conn_closed(uv_handle_t *h) {
    free(h->data);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
    conn *c = h->data;
    b->base = c->buf + c->len;
    b->len = sizeof(c->buf) - c->len;
}

static void on_written(uv_write_t *w, int status) {
    free(w);
}

static void serve(conn *c) {
    fx *f = c->f;
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (end == NULL)
            return;
        size_t head = (size_t)(end - c->buf) + 4, body = 0;
        uint64_t id = 0;
        for (char *p = c->buf; p < end; p++) {
            if (strncasecmp(p, "\r\ncontent-length:", 17) == 0)
                body = strtoul(p + 17, NULL, 10);
            if (strncasecmp(p, "\r\nentente-event-id:", 19) == 0)
                id = strtoull(p + 19, NULL, 10);
        }
        if (c->len < head + body)
            return;
        memmove(c->buf, c->buf + head + body, c->len - head - body);
        c->len -= head + body;
        if (f->nseen < MAX_SEEN)
            f->seen[f->nseen++] = id;
        bool fail = f->fail_left > 0;
        f->fail_left -= fail;
        uv_write_t *w = malloc(sizeof(*w));
        uv_buf_t b = fail ? uv_buf_init((char *)BUSY, sizeof(BUSY) - 1)
                          : uv_buf_init((char *)OK, sizeof(OK) - 1);
        assert_int_equal(uv_write(w, (uv_stream_t *)&c->tcp, &b, 1,
                                  on_written),
                         0);
    }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    conn *c = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
        return;
    }
    c->len += (size_t)n;
    serve(c);
}

static void on_conn(uv_stream_t *srv, int status) {
    fx *f = srv->data;
    conn *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->f = f;
    uv_tcp_init(&f->loop, &c->tcp);
    c->tcp.data = c;
    assert_int_equal(uv_accept(srv, (uv_stream_t *)&c->tcp), 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static int hook_fn(ent_txn *txn, void *data) {
    fx *f = data;
    ent_webhook h;
    char err[64];
    memset(&h, 0, sizeof(h));
    snprintf(h.id, sizeof(h.id), HOOK);
    snprintf(h.url, sizeof(h.url), "http://127.0.0.1:%d/t", f->port);
    assert_int_equal(ent_webhook_kinds_parse(&h, "*", err, sizeof(err)),
                     ENT_OK);
    snprintf(h.secret, sizeof(h.secret), "outbox-test-secret");
    int rc = ent_webhook_put(txn, &h);
    return rc == ENT_OK ? ent_events_cursor_set(txn, "hook:" HOOK, 0) : rc;
}

struct app {
    uint64_t n, prune_upto;
};

static int append_fn(ent_txn *txn, void *data) {
    struct app *a = data;
    ent_event ev = {.kind = "fields.changed", .has_object = true};
    memset(ev.object, 0x11, 32);
    for (uint64_t i = 0; i < a->n; i++)
        assert_int_equal(ent_events_append(txn, &ev, 1700000000000ull + i,
                                           NULL),
                         ENT_OK);
    return a->prune_upto > 0 ? ent_events_prune(txn, a->prune_upto, NULL)
                             : ENT_OK;
}

static void on_guard(uv_timer_t *t) {
    fail_msg("timed out waiting for deliveries");
}

static void on_poll(uv_timer_t *t) {
    fx *f = t->data;
    uint64_t depth, failures;
    if (f->nseen < f->want)
        return;
    assert_int_equal(ent_webhooks_metrics(ent_webhooks_of(f->n), &depth,
                                          &failures),
                     ENT_OK);
    if (depth == 0)
        uv_stop(&f->loop);
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    char org[ENT_ORG_ID_LEN + 1];
    struct sockaddr_in a;
    struct sockaddr_storage got;
    int len = sizeof(got);
    assert_int_equal(tmp_dir(f->dir, sizeof(f->dir), "outbox"), 0);
    snprintf(f->home, sizeof(f->home), "%s/h", f->dir);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(ent_home_init(f->home, "T", "127.0.0.1:0", NULL, org),
                     ENT_OK);
    assert_int_equal(ent_daemon_open(&f->n, &f->loop, f->home, NULL), ENT_OK);
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(&f->loop, &f->listener);
    f->listener.data = f;
    assert_int_equal(uv_tcp_bind(&f->listener, (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&f->listener, 16, on_conn), 0);
    uv_tcp_getsockname(&f->listener, (struct sockaddr *)&got, &len);
    f->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    assert_int_equal(ent_store_write(ent_node_store(f->n), hook_fn, f),
                     ENT_OK);
    uv_timer_init(&f->loop, &f->guard);
    uv_timer_init(&f->loop, &f->poll);
    f->poll.data = f;
    *state = f;
    return 0;
}

static void close_all(uv_handle_t *h, void *arg) {
    if (!uv_is_closing(h))
        uv_close(h, h->type == UV_TCP && h->data != arg ? conn_closed : NULL);
}

static int teardown(void **state) {
    fx *f = *state;
    uv_walk(&f->loop, close_all, f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    ent_node_free(f->n);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    rm_tree(f->dir);
    free(f);
    return 0;
}

/* Starts the node and runs the loop until want requests came. */
static void run(fx *f, uint64_t want) {
    f->want = want;
    uv_timer_start(&f->guard, on_guard, 60000, 0);
    uv_timer_start(&f->poll, on_poll, 1, 1);
    assert_int_equal(ent_node_start(f->n, NULL), ENT_OK);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_timer_stop(&f->guard);
    uv_timer_stop(&f->poll);
}

/* Stops the node (the engine writes what it holds) and lets it close. */
static void stop(fx *f) {
    ent_node_stop(f->n, NULL, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

static int cursor_fn(ent_txn *txn, void *data) {
    return ent_events_cursor_get(txn, "hook:" HOOK, data);
}

static uint64_t stored_cursor(fx *f) {
    uint64_t c = 0;
    assert_int_equal(ent_store_read(ent_node_store(f->n), cursor_fn, &c),
                     ENT_OK);
    return c;
}

static void test_order_and_flush_at_stop(void **state) {
    fx *f = *state;
    struct app a = {300, 0};
    assert_int_equal(ent_store_write(ent_node_store(f->n), append_fn, &a),
                     ENT_OK);
    run(f, 300);
    /* the last answers are acknowledged in memory; the 50 ms batch has
     * (most likely) not written them yet: stopping writes them */
    assert_true(stored_cursor(f) <= 300);
    stop(f);
    assert_int_equal(f->nseen, 300);
    for (size_t i = 0; i < f->nseen; i++)
        assert_int_equal(f->seen[i], i + 1);
    assert_int_equal(stored_cursor(f), 300);
}

static void test_retry_keeps_the_cursor(void **state) {
    fx *f = *state;
    struct app a = {5, 0};
    assert_int_equal(ent_store_write(ent_node_store(f->n), append_fn, &a),
                     ENT_OK);
    f->fail_left = 2; /* events 1 and 1 again answered 503 */
    run(f, 7);
    stop(f);
    uint64_t want[] = {1, 1, 1, 2, 3, 4, 5};
    assert_int_equal(f->nseen, 7);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(f->seen[i], want[i]);
    assert_int_equal(stored_cursor(f), 5);
}

struct log_ctx {
    json_t *log;
};

static int log_fn(ent_txn *txn, void *data) {
    return ent_webhook_log_json(txn, HOOK, &((struct log_ctx *)data)->log);
}

static void test_pruned_before_delivery(void **state) {
    fx *f = *state;
    struct app a = {10, 6}; /* 1..6 removed before the webhook sent them */
    assert_int_equal(ent_store_write(ent_node_store(f->n), append_fn, &a),
                     ENT_OK);
    run(f, 4);
    stop(f);
    assert_int_equal(f->nseen, 4);
    assert_int_equal(f->seen[0], 7);
    assert_int_equal(f->seen[3], 10);
    struct log_ctx c = {NULL};
    assert_int_equal(ent_store_read(ent_node_store(f->n), log_fn, &c), ENT_OK);
    json_t *first = json_array_get(c.log, 0);
    assert_int_equal(json_integer_value(json_object_get(first, "event")), 6);
    assert_non_null(strstr(json_string_value(json_object_get(first, "error")),
                           "events 1 to 6 were removed by retention"));
    assert_int_equal(json_array_size(c.log), 5);
    json_decref(c.log);
}

int main(void) {
    setenv("ENTENTE_WEBHOOK_BACKOFF_MS", "10", 1); /* read by serve's parts */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_and_flush_at_stop, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retry_keeps_the_cursor, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pruned_before_delivery, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
