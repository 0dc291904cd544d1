/*
 * bench_proofs.c - the cost of consistency proofs over a large activity
 * log and what a member flooding proof requests does to the local API
 * (issue 11, point 5; spec/audit.md §4.3):
 *
 *  a) one consistency proof over a log of N entries (N = 1,000,000; 100,000
 *     with --quick), built directly in the store with ent_actlog_append:
 *     from the kept subtrees (ent_actlog_consistency_proof) and, for
 *     comparison, recomputed from every leaf as before
 *     (ent_merkle_consistency_proof over the stored leaf hashes);
 *  b) the local API's latency (GET /v1/status over HOME/api.sock, p50 and
 *     p99 of 1,000 requests from another thread) while the node's loop
 *     answers 500 CONSISTENCY requests a second with the code its session
 *     handler runs (ent_witness_answer: the proof and its signature), i.e.
 *     a member sending that many with no per-session rate limit at all
 *     (the limit, ENT_PEERS_PROOFS_PER_SEC, would let 10 a second through);
 *     and the longest time one answer held the loop.
 */
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "crypto/crypto.h"
#include "crypto/merkle.h"
#include "node/audit/actlog.h"
#include "node/audit/witness.h"
#include "node/cli/client.h"
#include "node/daemon/daemon.h"
#include "node/err.h"
#include "node/home.h"
#include "node/node.h"
#include "tests/bench/bench.h"

#define FILL_BATCH 20000
#define FLOOD_MS 2 /* one request per 2 ms: 500 a second */
#define API_REQUESTS 1000

typedef struct pbench {
    uv_loop_t loop;
    uv_timer_t flood;
    uv_async_t stop;
    uv_thread_t thread;
    ent_node *n;
    ent_log log;
    uint64_t size, next;
    uint64_t answered, failed;
    double answer_sum, answer_max; /* seconds */
    volatile int flooding;
} pbench;

static int rm_cb(const char *p, const struct stat *sb, int flag,
                 struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

struct fill {
    uint64_t from, count;
};

static int fill_fn(ent_txn *txn, void *data) {
    struct fill *f = data;
    for (uint64_t i = 0; i < f->count; i++) {
        ent_actlog_entry e;
        memset(&e, 0, sizeof(e));
        e.time = 1700000000000ULL + f->from + i;
        e.kind = ENT_LOG_OP_ACCEPTED;
        e.has_op = true;
        uint64_t k = f->from + i;
        ent_hash(e.op, &k, sizeof(k));
        e.has_org = true;
        memset(e.org, 0xa5, 32);
        int rc = ent_actlog_append(txn, &e, NULL);
        if (rc != ENT_OK)
            return rc;
    }
    return ENT_OK;
}

static int leaf_fn(void *data, uint64_t i, uint8_t out[32]) {
    const uint8_t *b;
    size_t n;
    return ent_actlog_get(data, i, &b, &n, out);
}

struct one_proof {
    uint64_t m, n;
    bool old;
    double s;
    int rc;
};

static int proof_fn(ent_txn *txn, void *data) {
    struct one_proof *p = data;
    uint8_t path[ENT_MERKLE_MAX_PROOF][32];
    size_t len;
    double t0 = ent_bench_now();
    p->rc = p->old ? ent_merkle_consistency_proof(p->m, p->n, leaf_fn, txn,
                                                  path, ENT_MERKLE_MAX_PROOF,
                                                  &len)
                   : ent_actlog_consistency_proof(txn, p->m, p->n, path,
                                                  ENT_MERKLE_MAX_PROOF, &len);
    p->s = ent_bench_now() - t0;
    return ENT_OK;
}

/* The node's loop: one CONSISTENCY answer per tick, as peer_witness.c
 * gives it (from a changing old size to the whole log). */
static void on_flood(uv_timer_t *t) {
    pbench *w = t->data;
    ent_wire_consistency c;
    if (!w->flooding)
        return;
    uint64_t from = 1 + (w->next++ * 7919) % (w->size - 1);
    double t0 = ent_bench_now();
    int rc = ent_witness_answer(ent_node_store(w->n), ent_node_identity(w->n),
                                from, w->size, &c);
    double dt = ent_bench_now() - t0;
    if (rc == ENT_OK)
        w->answered++;
    else
        w->failed++;
    w->answer_sum += dt;
    if (dt > w->answer_max)
        w->answer_max = dt;
}

static void on_node_stopped(ent_node *n, void *data) {
    pbench *w = data;
    (void)n;
    uv_close((uv_handle_t *)&w->flood, NULL);
    uv_close((uv_handle_t *)&w->stop, NULL);
}

static void on_stop(uv_async_t *h) {
    pbench *w = h->data;
    uv_timer_stop(&w->flood);
    ent_node_stop(w->n, on_node_stopped, w);
}

static void thread_fn(void *arg) {
    pbench *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

static int dcmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* p50 and p99 in ms of API_REQUESTS GET /v1/status; false on failure. */
static bool api_latency(const char *home, double *p50, double *p99) {
    double *lat = calloc(API_REQUESTS, sizeof(*lat));
    bool ok = lat != NULL;
    for (int i = 0; ok && i < API_REQUESTS; i++) {
        int status = 0;
        json_t *out = NULL;
        double t0 = ent_bench_now();
        int rc = ent_client_request_timeout(home, "GET", "/v1/status", NULL,
                                            10000, &status, &out);
        lat[i] = (ent_bench_now() - t0) * 1e3;
        json_decref(out);
        if (rc != ENT_OK || status != 200) {
            fprintf(stderr, "bench_proofs: GET /v1/status: %s (%d)\n",
                    ent_strerror(rc), status);
            ok = false;
        }
    }
    if (ok) {
        qsort(lat, API_REQUESTS, sizeof(*lat), dcmp);
        *p50 = lat[API_REQUESTS / 2];
        *p99 = lat[API_REQUESTS * 99 / 100];
    }
    free(lat);
    return ok;
}

void ent_bench_proofs(ent_bench_report *r, int quick) {
    pbench *w = calloc(1, sizeof(*w));
    uint64_t n = quick ? 100000 : 1000000;
    char tmp[64], home[128], org[ENT_ORG_ID_LEN + 1], name[64];
    bool started = false, thread = false;
    if (w == NULL)
        return;
    if (getenv("ENT_BENCH_PROOFS_N") != NULL)
        n = strtoull(getenv("ENT_BENCH_PROOFS_N"), NULL, 10);
    ent_log_init(&w->log, ENT_LOG_ERROR, "bench");
    snprintf(tmp, sizeof(tmp), "%s/ent-bench-proofs.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(tmp) == NULL)
        goto out;
    snprintf(home, sizeof(home), "%s/P", tmp);
    if (ent_home_init(home, "P", "127.0.0.1:0", NULL, org) != ENT_OK ||
        uv_loop_init(&w->loop) != 0 ||
        ent_daemon_open(&w->n, &w->loop, home, &w->log) != ENT_OK)
        goto out;
    /* a) the log, built directly in the store */
    fprintf(stderr, "bench_proofs: building a log of %llu entries...\n",
            (unsigned long long)n);
    double t0 = ent_bench_now();
    for (uint64_t at = 0; at < n; at += FILL_BATCH) {
        struct fill f = {at, n - at < FILL_BATCH ? n - at : FILL_BATCH};
        if (ent_store_write(ent_node_store(w->n), fill_fn, &f) != ENT_OK) {
            fprintf(stderr, "bench_proofs: filling the log failed\n");
            r->failed = 1;
            goto out;
        }
    }
    fprintf(stderr, "bench_proofs: %.1f s (%.0f appends/s)\n",
            ent_bench_now() - t0, (double)n / (ent_bench_now() - t0));
    w->size = n;
    struct one_proof p = {.m = n / 3 + 1, .n = n, .old = false};
    double times[21];
    for (int i = 0; i < 21; i++) {
        p.m = 1 + (uint64_t)i * 104729 % (n - 1);
        ent_store_read(ent_node_store(w->n), proof_fn, &p);
        if (p.rc != ENT_OK)
            r->failed = 1;
        times[i] = p.s;
    }
    qsort(times, 21, sizeof(times[0]), dcmp);
    snprintf(name, sizeof(name), "consistency proof, %lluk entries, median",
             (unsigned long long)(n / 1000));
    ent_bench_add(r, name, times[10] * 1e6, "us", "", 0);
    ent_bench_add(r, "  the same, slowest of 21", times[20] * 1e6, "us", "",
                  0);
    p.old = true;
    p.m = n / 3 + 1;
    ent_store_read(ent_node_store(w->n), proof_fn, &p);
    snprintf(name, sizeof(name), "  the same, every leaf read (before)");
    ent_bench_add(r, name, p.s * 1e6, "us", "", 0);

    /* b) the API while the loop answers 500 proofs a second */
    if (ent_node_start(w->n, NULL) != ENT_OK)
        goto out;
    started = true;
    uv_timer_init(&w->loop, &w->flood);
    uv_async_init(&w->loop, &w->stop, on_stop);
    w->flood.data = w->stop.data = w;
    uv_timer_start(&w->flood, on_flood, FLOOD_MS, FLOOD_MS);
    if (uv_thread_create(&w->thread, thread_fn, w) != 0)
        goto out;
    thread = true;
    double p50 = 0, p99 = 0, b50 = 0, b99 = 0;
    if (!api_latency(home, &b50, &b99)) { /* idle, for reference */
        r->failed = 1;
        goto out;
    }
    w->flooding = 1;
    usleep(200000);
    uint64_t a0 = w->answered;
    double t1 = ent_bench_now();
    if (!api_latency(home, &p50, &p99))
        r->failed = 1;
    double rate = (double)(w->answered - a0) / (ent_bench_now() - t1);
    w->flooding = 0;
    ent_bench_add(r, "local API p50, idle", b50, "ms", "", 0);
    ent_bench_add(r, "local API p99, idle", b99, "ms", "", 0);
    snprintf(name, sizeof(name), "proof requests answered on the loop");
    ent_bench_add(r, name, rate, "/s", "", 0);
    ent_bench_add(r, "local API p50 under proof flood", p50, "ms", "", 0);
    ent_bench_add(r, "local API p99 under proof flood", p99, "ms", "", 0);
    ent_bench_add(r, "  longest one proof answer held the loop",
                  w->answer_max * 1e3, "ms", "", 0);
    if (w->failed > 0 || p99 > 50) {
        fprintf(stderr,
                "bench_proofs: %llu answers failed; API p99 %.1f ms (goal "
                "<= 50 ms)\n",
                (unsigned long long)w->failed, p99);
        if (w->failed > 0)
            r->failed = 1;
    }
out:
    if (thread) {
        uv_async_send(&w->stop);
        uv_thread_join(&w->thread);
    } else if (started) {
        ent_node_stop(w->n, NULL, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
    }
    if (w->n != NULL) {
        ent_node_free(w->n);
        uv_loop_close(&w->loop);
    }
    if (tmp[0] != '\0')
        nftw(tmp, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    free(w);
}
