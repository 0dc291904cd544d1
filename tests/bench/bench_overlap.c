/*
 * bench_overlap.c - account mapping (spec/overlap.md §11): one run of the
 * private set intersection between two real nodes in this process, on one
 * uv loop, over loopback TCP and their Noise session, with 100,000
 * accounts on each side and 5 % of them in common (10,000 and 5 % with
 * --quick). Reported: the run's wall time (from ent_overlap_run to both
 * sides done), the bytes both nodes sent meanwhile, and the elements
 * compared per second against the limit measured in the same run: the
 * single-core ristretto255 scalar multiplication rate x 2 cores / 4
 * multiplications per element (per side: its owner blinds its own element
 * and doubles the partner's, so each of the m padded elements of a side
 * costs two multiplications on each side, spec/overlap.md §4), elements
 * counted per side (both pad to the same size; the rate measured before
 * and after the run, averaged). Both cores work: the multiplications go to the
 * libuv thread pool in pieces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "crypto/crypto.h"
#include "crypto/psi.h"
#include "node/daemon/daemon.h"
#include "node/err.h"
#include "node/home.h"
#include "node/node.h"
#include "node/overlap/accounts.h"
#include "node/overlap/overlap.h"
#include "node/overlap/psi_run.h"
#include "node/peers/peer.h"
#include "protocol/session.h"
#include "tests/bench/bench.h"
#include "tests/store_fixture.h"

typedef struct ow {
    uv_loop_t loop;
    uv_timer_t wake;
    ent_log log;
    char tmp[128], home[2][160];
    ent_node *n[2];
    int stopped;
} ow;

static void on_wake(uv_timer_t *t) { (void)t; }

static bool run_until(ow *w, bool (*pred)(ow *w), double secs) {
    double end = ent_bench_now() + secs;
    while (!pred(w) && ent_bench_now() < end)
        uv_run(&w->loop, UV_RUN_ONCE);
    return pred(w);
}

static const uint8_t *org(ow *w, int i) {
    return ent_identity_public(ent_node_identity(w->n[i]));
}

static ent_peers *peers(ow *w, int i) { return ent_node_peers(w->n[i]); }

static ent_overlap *ovl(ow *w, int i) {
    return ent_node_part_state(w->n[i], ENT_NODE_OVERLAP);
}

static uint64_t join_id;

static bool joined(ow *w) {
    json_t *j = NULL;
    bool done = false;
    if (ent_peers_join_json(peers(w, 1), join_id, &j) == ENT_OK) {
        const char *st = json_string_value(json_object_get(j, "state"));
        done = st != NULL && (strcmp(st, "done") == 0 ||
                              strcmp(st, "failed") == 0);
    }
    json_decref(j);
    return done;
}

static bool ready(ow *w) {
    return ent_peers_ready(peers(w, 0), org(w, 1)) &&
           ent_peers_ready(peers(w, 1), org(w, 0));
}

static const char *state_of(ow *w, int i) {
    static char st[2][16];
    json_t *j = NULL;
    st[i][0] = '\0';
    if (ent_overlap_json(ovl(w, i), org(w, 1 - i), &j) == ENT_OK)
        snprintf(st[i], sizeof(st[i]), "%s",
                 json_string_value(json_object_get(json_object_get(j, "run"),
                                                   "state"))
                     ?: "");
    json_decref(j);
    return st[i];
}

static bool both_done(ow *w) {
    const char *a = state_of(w, 0), *b = state_of(w, 1);
    return a[0] && b[0] && strcmp(a, "running") != 0 &&
           strcmp(b, "running") != 0;
}

typedef struct acc_ctx {
    size_t from, to;
} acc_ctx;

static int acc_fn(ent_txn *txn, void *data) {
    acc_ctx *c = data;
    ent_account a;
    for (size_t i = c->from; i < c->to; i++) {
        memset(&a, 0, sizeof(a));
        snprintf(a.name, sizeof(a.name), "Company %zu", i);
        snprintf(a.domain, sizeof(a.domain), "company%zu.example", i);
        snprintf(a.key, sizeof(a.key), "d:%s", a.domain);
        a.flags = i % 4 == 0 ? ENT_ACCOUNT_CUSTOMER : ENT_ACCOUNT_PROSPECT;
        int rc = ent_accounts_put(txn, &a);
        if (rc != ENT_OK)
            return rc;
    }
    return ENT_OK;
}

static void do_mul(void *ctx, uint64_t iters) {
    uint8_t *p = ctx; /* scalar (32) || point (32) */
    for (uint64_t i = 0; i < iters; i++)
        ent_psi_mul(p + 32, p, p + 32);
}

static bool node_stopped_all(ow *w) { return w->stopped == 2; }

static void on_stopped(ent_node *n, void *data) {
    ((ow *)data)->stopped++;
}

void ent_bench_overlap(ent_bench_report *r, int quick) {
    ow *w = calloc(1, sizeof(*w));
    size_t n = quick ? 10000 : 100000, common = n / 20;
    char id[ENT_ORG_ID_LEN + 1], err[256], *token = NULL, iid[33], run[33];
    uint64_t expiry;
    if (w == NULL)
        return;
    fprintf(stderr, "overlap: %zu accounts each side, %zu in common...\n", n,
            common);
    /* the limit: one core's scalar multiplications */
    uint8_t mc[64];
    ent_psi_scalar_random(mc);
    ent_psi_random_point(mc + 32);
    double mul = ent_bench_rate(do_mul, mc, quick ? 0.2 : 0.5);

    setenv("ENTENTE_DIAL_BASE_MS", "50", 1);
    ent_log_init(&w->log, ENT_LOG_ERROR, "bench");
    if (tmp_dir(w->tmp, sizeof(w->tmp), "bench_overlap") != 0)
        goto out;
    for (int i = 0; i < 2; i++) {
        snprintf(w->home[i], sizeof(w->home[i]), "%s/%c", w->tmp, "AB"[i]);
        if (ent_home_init(w->home[i], i ? "B" : "A", "127.0.0.1:0", NULL,
                          id) != ENT_OK)
            goto out;
    }
    if (uv_loop_init(&w->loop) != 0)
        goto out;
    uv_timer_init(&w->loop, &w->wake);
    uv_timer_start(&w->wake, on_wake, 5, 5);
    for (int i = 0; i < 2; i++)
        if (ent_daemon_open(&w->n[i], &w->loop, w->home[i], &w->log) !=
                ENT_OK ||
            ent_node_start(w->n[i], NULL) != ENT_OK)
            goto stop;
    if (ent_peers_partner_invite(peers(w, 0), 3600, &token, &expiry, iid) !=
            ENT_OK ||
        ent_peers_join(peers(w, 1), token, strlen(token), &join_id, err,
                       sizeof(err)) != ENT_OK ||
        !run_until(w, joined, 10) || !run_until(w, ready, 10)) {
        fprintf(stderr, "overlap: the partnership failed\n");
        r->failed = 1;
        goto stop;
    }
    acc_ctx a = {0, n}, b = {n - common, 2 * n - common};
    if (ent_store_write(ent_node_store(w->n[0]), acc_fn, &a) != ENT_OK ||
        ent_store_write(ent_node_store(w->n[1]), acc_fn, &b) != ENT_OK ||
        ent_overlap_share(ovl(w, 0), org(w, 1), ENT_OVERLAP_ACCOUNTS, 0, 0) !=
            ENT_OK ||
        ent_overlap_share(ovl(w, 1), org(w, 0), ENT_OVERLAP_ACCOUNTS, 0, 0) !=
            ENT_OK)
        goto stop;
    ent_session_stats s0a, s0b, s1a, s1b;
    ent_peers_session_stats(peers(w, 0), &s0a);
    ent_peers_session_stats(peers(w, 1), &s0b);
    uv_update_time(&w->loop);
    double t0 = ent_bench_now();
    if (ent_overlap_run(ovl(w, 0), org(w, 1), run, err, sizeof(err)) !=
            ENT_OK ||
        !run_until(w, both_done, 120)) {
        fprintf(stderr, "overlap: the run failed: %s\n", err);
        r->failed = 1;
        goto stop;
    }
    double dt = ent_bench_now() - t0;
    /* the limit again, after the run: the mean of both, so that a change
     * of the machine's load during the run counts on both sides */
    double mul2 = ent_bench_rate(do_mul, mc, quick ? 0.2 : 0.5);
    mul = (mul + mul2) / 2;
    ent_peers_session_stats(peers(w, 0), &s1a);
    ent_peers_session_stats(peers(w, 1), &s1b);
    json_t *j = NULL;
    ent_overlap_json(ovl(w, 0), org(w, 1), &j);
    json_t *res = json_object_get(j, "result");
    size_t matches = (size_t)json_integer_value(json_object_get(res,
                                                                "matches"));
    if (strcmp(state_of(w, 0), "done") != 0 || matches != common) {
        fprintf(stderr, "overlap: %s, %zu matches, want %zu\n",
                state_of(w, 0), matches, common);
        r->failed = 1;
    }
    json_decref(j);
    /* elements per side (both sides pad to the same bucket): each costs
     * four multiplications in all, two on each side (its owner blinds it
     * and doubles the partner's element of the same count), so the two
     * cores together allow 2 x mul / 4 of them per second, and no run can
     * be shorter than 4m / (2 x mul) */
    size_t m = ent_psi_bucket(n);
    double elems = (double)m;
    double bytes = (double)(s1a.bytes_out - s0a.bytes_out) +
                   (double)(s1b.bytes_out - s0b.bytes_out);
    char name[64];
    snprintf(name, sizeof(name), "overlap run %zuk x %zuk accounts, wall",
             n / 1000, n / 1000);
    ent_bench_add(r, name, dt, "s", "", 0);
    ent_bench_add(r, "ristretto255 scalar mult (one core, this run)", mul,
                  "/s", "", 0);
    ent_bench_add(r, "overlap run, bytes on the wire (both ways)", bytes,
                  "bytes", "", 0);
    ent_bench_add(r, "overlap run, padded elements per side/s", elems / dt,
                  "elems/s", "2 cores x mul / 4", 2.0 * mul / 4.0);
    ent_bench_add(r, "overlap run, shortest possible wall", 4.0 * elems /
                  (2.0 * mul), "s", "", 0);
    fprintf(stderr,
            "overlap: %.2f s, %.1f MB, %.0f elements per side/s, limit %.0f "
            "(ristretto255 mul %.0f/s on one core; no run shorter than "
            "%.2f s)\n",
            dt, bytes / 1e6, elems / dt, 2.0 * mul / 4.0, mul,
            4.0 * elems / (2.0 * mul));
stop:
    for (int i = 0; i < 2; i++)
        if (w->n[i] != NULL)
            ent_node_stop(w->n[i], on_stopped, w);
        else
            w->stopped++;
    run_until(w, node_stopped_all, 20);
    uv_close((uv_handle_t *)&w->wake, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 2; i++)
        ent_node_free(w->n[i]);
    uv_loop_close(&w->loop);
out:
    if (token != NULL)
        ent_wipe(token, strlen(token));
    free(token);
    if (w->tmp[0])
        rm_tree(w->tmp);
    free(w);
}
