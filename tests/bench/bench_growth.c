/*
 * bench_growth.c - cost per op as the store grows (issue 20 point 9,
 * spec/gossip.md §12). $ENT_BENCH_ONLY=growth runs only this.
 *
 * Ops sweep: one object on A (a store on /dev/shm) grows to 10k, 100k and,
 * with ENT_BENCH_GROWTH_MAX=1000000, 1M set ops of about 300 bytes over 500
 * fields; at each size, a fresh node home B (on /tmp, the disk) receives
 * the whole history:
 *  - sync rate: B verifies and applies A's ops (ent_obj_apply_batch in
 *    batches of 1,000, one durable commit each), as ops/s against the
 *    single-core Ed25519 verify rate of this run;
 *  - database size per op: B's data.mdb (blocks allocated) / ops;
 *  - pages written per op: the pages B's commits wrote during the apply
 *    (ent_store_pages_written, spec/storage.md "Pages written") / ops;
 *  - RSS of a real `entente serve` on B's home ($ENTENTE or ./entente);
 *  - `object list` first page (limit 100) on B;
 *  - the inviter's work before the first op of a join is sent: what
 *    ent__peers_handle_join does on A before the history job sends its
 *    first OPS (open the history cursor, read its first window), as ms
 *    and heap bytes; and, for comparison, the whole sorted key list of
 *    ent_gossip_missing (what the join did before, O(n) decodes).
 * Objects sweep: two in-sync simulator nodes sharing 1k, 10k and (with
 * ENT_BENCH_GROWTH_MAX=1000000) 100k objects: bytes and CPU of one
 * anti-entropy round (both sides, the average of 5 rounds after a warm
 * one), and the object list's first page.
 * Flatness rows: per-op cost at the largest size / at the smallest
 * (1.00 = flat); for the join's work before its first op and the round's
 * CPU, the whole cost (it should not grow at all). --quick runs 1k and
 * 10k ops, 100 and 1k objects.
 */
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "node/daemon/daemon.h"
#include "node/err.h"
#include "node/home.h"
#include "node/node.h"
#include "node/objects/object.h"
#include "node/peers/gossip.h"
#include "node/peers/sim.h"
#include "storage/store.h"
#include "tests/bench/bench.h"
#include "tests/object_fixture.h"
#include "tests/store_fixture.h"

#define FIELDS 500
#define BATCH 1000
#define MAX_SIZES 4

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This thread's CPU time: what a measured call costs, whatever else the
 * (shared) machine runs meanwhile. */
static double thread_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Best of 5: ms for the first page (limit 100) of the object list. */
static double list_ms(ent_objects *eng) {
    double best = 1e9;
    for (int k = 0; k < 5; k++) {
        json_t *page = NULL;
        ent_obj_list_opts o = {.limit = 100};
        double t0 = thread_s();
        int rc = ent_obj_list_json_ex(eng, &o, &page);
        double dt = thread_s() - t0;
        json_decref(page);
        if (rc != ENT_OK)
            return -1;
        if (dt < best)
            best = dt;
    }
    return best * 1000.0;
}

static int no_send(void *data, const uint8_t org[32], const ent_wire_msg *m) {
    (void)data, (void)org, (void)m;
    return ENT_OK;
}
static size_t no_peers(void *data, uint8_t (*out)[32], size_t cap) {
    (void)data, (void)out, (void)cap;
    return 0;
}

typedef struct src {
    char dir[64];
    ent_store *store;
    ent_identity *id;
    ent_objects *eng;
    ent_gossip *g;
    uint8_t obj[32];
    size_t nops; /* sets made so far */
} src;

static int make_sets(src *a, size_t upto) {
    char err[256], text[256], field[32];
    for (; a->nops < upto; a->nops++) {
        snprintf(text, sizeof(text),
                 "step %08zu: call the partner's architect about the joint "
                 "reference design, then review pricing with the account "
                 "team and update the forecast notes.", a->nops);
        snprintf(field, sizeof(field), "note_%03zu", a->nops % FIELDS);
        ent_obj_input s = {field, text, ENT_IN_CUSTOM};
        if (ent_obj_set(a->eng, a->obj, &s, 1, NULL, err, sizeof(err)) !=
            ENT_OK) {
            fprintf(stderr, "bench_growth: set: %s\n", err);
            return -1;
        }
    }
    return 0;
}

/* What the inviter does before the first op of a join leaves
 * (node/peers/peer_join.c ent__peers_handle_join, then the pump of
 * peer_send.c): open the history cursor (JOIN_OK's op count) and read its
 * first window of keys (1,024, ENT_PEERS_HIST_WINDOW). *ms and *heap
 * (bytes in use at the end over what was in use before) out. */
static int join_work(src *a, double *ms, double *heap) {
    struct mallinfo2 m0 = mallinfo2();
    double t0 = thread_s();
    uint64_t nops = 0;
    ent_gossip_hist *h = NULL;
    ent_gossip_key *keys = calloc(1024, sizeof(*keys));
    size_t n = 0;
    int rc = keys != NULL ? ent_gossip_hist_open(a->g, a->obj, &h, &nops)
                          : ENT_ENOMEM;
    if (rc == ENT_OK)
        rc = ent_gossip_hist_next(a->g, h, keys, 1024, &n);
    *ms = (thread_s() - t0) * 1000.0;
    struct mallinfo2 m1 = mallinfo2();
    *heap = (double)m1.uordblks - (double)m0.uordblks;
    ent_gossip_hist_free(h);
    free(keys);
    if (rc == ENT_OK && (nops < a->nops || n == 0))
        rc = ENT_ECORRUPT;
    return rc;
}

/* The same history as one sorted key list (ent_gossip_missing with no
 * vector: what the join did before the cursor, and what anti-entropy
 * still does for a member whose vector is empty). */
static int missing_work(src *a, double *ms) {
    double t0 = thread_s();
    ent_gossip_key *keys = NULL;
    size_t n = 0;
    int rc = ent_gossip_missing(a->g, a->obj, NULL, 0, &keys, &n);
    *ms = (thread_s() - t0) * 1000.0;
    free(keys);
    return rc == ENT_OK && n < a->nops ? ENT_ECORRUPT : rc;
}

typedef struct ops_row {
    size_t n;
    double rate, db_per_op, rss_mib, list, join_ms, join_heap, missing_ms;
    double pages_per_op; /* ent_store_pages_written during the apply */
    double cpu_us;       /* process CPU per op of the apply (all threads) */
    double set_us;       /* A: CPU per local set made up to this size */
} ops_row;

/* B: a fresh home on /tmp, added on A as a member, receives A's whole
 * history. */
static int sync_into_home(src *a, ops_row *row) {
    char tmp[64], home[128], org[ENT_ORG_ID_LEN + 1], path[256];
    uv_loop_t loop;
    ent_log log;
    ent_node *b = NULL;
    tops c = {0};
    int *rcs = NULL;
    ent_op_epoch_key *boxes = NULL;
    size_t nb = 0;
    int ret = -1;
    snprintf(tmp, sizeof(tmp), "/tmp/ent-bench-growth.XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return -1;
    snprintf(home, sizeof(home), "%s/B", tmp);
    ent_log_init(&log, ENT_LOG_ERROR, "bench");
    if (uv_loop_init(&loop) != 0)
        goto out_tmp;
    if (ent_home_init(home, "B", "127.0.0.1:0", NULL, org) != ENT_OK ||
        ent_daemon_open(&b, &loop, home, &log) != ENT_OK)
        goto out;
    ent_objects *eb = ent_node_objects(b);
    if (ent_obj_add_member(a->eng, a->obj,
                           ent_identity_public(ent_node_identity(b)),
                           ENT_ROLE_MEMBER, NULL, &boxes, &nb) != ENT_OK ||
        ent_obj_accept_keys(eb, a->obj, boxes, nb) != ENT_OK ||
        ent_obj_ops_foreach(a->eng, a->obj, tops_cb, &c) != ENT_OK ||
        (rcs = calloc(BATCH, sizeof(*rcs))) == NULL)
        goto out;
    uint64_t p0 = 0, p1 = 0;
    ent_store_count_pages(ent_node_store(b));
    ent_store_pages_written(ent_node_store(b), &p0);
    double t0 = ent_bench_now(), c0 = cpu_s();
    for (size_t i = 0; i < c.n; i += BATCH) {
        size_t k = c.n - i < BATCH ? c.n - i : BATCH;
        if (ent_obj_apply_batch(eb, (const uint8_t *const *)c.raw + i,
                                c.len + i, k, NULL, rcs) != ENT_OK)
            goto out;
    }
    double dt = ent_bench_now() - t0;
    row->cpu_us = (cpu_s() - c0) * 1e6 / (double)c.n;
    ent_obj_stats st;
    ent_obj_stats_get(eb, &st);
    if (st.applied < c.n) {
        fprintf(stderr, "bench_growth: B applied %llu of %zu ops\n",
                (unsigned long long)st.applied, c.n);
        goto out;
    }
    row->rate = (double)c.n / dt;
    ent_store_pages_written(ent_node_store(b), &p1);
    row->pages_per_op = (double)(p1 - p0) / (double)c.n;
    row->list = list_ms(eb);
    ent_node_free(b);
    b = NULL;
    struct stat sb;
    snprintf(path, sizeof(path), "%s/db/data.mdb", home);
    if (stat(path, &sb) == 0)
        row->db_per_op = (double)sb.st_blocks * 512.0 / (double)c.n;
    long kib = ent_bench_serve_rss(home);
    row->rss_mib = kib > 0 ? (double)kib / 1024.0 : -1;
    ret = 0;
out:
    free(boxes);
    free(rcs);
    tops_free(&c);
    ent_node_free(b);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
out_tmp:
    rm_tree(tmp);
    return ret;
}

/* "10k", "1M", "100" */
static const char *scale(char *buf, size_t cap, size_t n) {
    if (n >= 1000000 && n % 1000000 == 0)
        snprintf(buf, cap, "%zuM", n / 1000000);
    else if (n >= 1000 && n % 1000 == 0)
        snprintf(buf, cap, "%zuk", n / 1000);
    else
        snprintf(buf, cap, "%zu", n);
    return buf;
}

/* A row whose value is the per-unit cost at the largest size and whose
 * limit is the same cost at the smallest: ratio 1.00 = flat. */
static void flat_row(ent_bench_report *r, const char *what, const char *unit,
                     double small, double large, size_t ns, size_t nl) {
    char name[80], a[24], b[24];
    if (small <= 0 || large <= 0)
        return;
    snprintf(name, sizeof(name), "flat? %s, %s vs %s", what,
             scale(a, sizeof(a), nl), scale(b, sizeof(b), ns));
    ent_bench_add(r, name, large, unit, "smallest size", small);
}

static void ops_sweep(ent_bench_report *r, const size_t *sizes, size_t nsz) {
    src a;
    ops_row rows[MAX_SIZES];
    size_t done = 0;
    char err[256], name[64];
    memset(&a, 0, sizeof(a));
    memset(rows, 0, sizeof(rows));
    if (tmp_dir_at(a.dir, sizeof(a.dir),
                   access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
                   "bench_growth") != 0)
        return;
    ent_gossip_config gc = {.tr = {.send = no_send, .peers = no_peers}};
    ent_objects_config oc = {0};
    const ent_obj_input in[] = {{"name", "Growth", false}};
    if (ent_store_open(&a.store, a.dir, ENT_STORE_CREATE, NULL) != ENT_OK ||
        ent_identity_generate(&a.id) != ENT_OK)
        goto out;
    oc.store = a.store;
    oc.id = a.id;
    if (ent_objects_new(&a.eng, &oc) != ENT_OK)
        goto out;
    gc.store = a.store;
    gc.eng = a.eng;
    gc.id = a.id;
    if (ent_gossip_new(&a.g, &gc) != ENT_OK ||
        ent_obj_create(a.eng, "opportunity", in, 1, a.obj, NULL, err,
                       sizeof(err)) != ENT_OK)
        goto out;
    for (size_t k = 0; k < nsz; k++) {
        double t0 = ent_bench_now(), c0 = thread_s();
        size_t from = a.nops;
        if (make_sets(&a, sizes[k]) != 0)
            goto out;
        rows[k].set_us =
            (thread_s() - c0) * 1e6 / (double)(sizes[k] - from);
        fprintf(stderr,
                "bench_growth: A holds %zu sets (%.1f s; %.0f us CPU a set "
                "from %zu)\n",
                a.nops, ent_bench_now() - t0, rows[k].set_us, from);
        rows[k].n = sizes[k];
        if (join_work(&a, &rows[k].join_ms, &rows[k].join_heap) != ENT_OK ||
            missing_work(&a, &rows[k].missing_ms) != ENT_OK ||
            sync_into_home(&a, &rows[k]) != 0) {
            fprintf(stderr, "bench_growth: %zu ops failed\n", sizes[k]);
            r->failed = 1;
            goto out;
        }
        done = k + 1;
    }
out:
    for (size_t k = 0; k < done; k++) {
        char n[24];
        scale(n, sizeof(n), rows[k].n);
        snprintf(name, sizeof(name), "growth sync (verify+apply), %s ops", n);
        ent_bench_add(r, name, rows[k].rate, "ops/s", "ed25519 verify",
                      r->lim.verify);
        snprintf(name, sizeof(name), "growth sync CPU per op, %s ops", n);
        ent_bench_add(r, name, rows[k].cpu_us, "us", "", 0);
        snprintf(name, sizeof(name), "A: local set CPU, up to %s ops", n);
        ent_bench_add(r, name, rows[k].set_us, "us", "", 0);
        snprintf(name, sizeof(name), "growth db size per op, %s ops", n);
        ent_bench_add(r, name, rows[k].db_per_op, "bytes", "", 0);
        snprintf(name, sizeof(name), "growth pages written per op, %s ops",
                 n);
        ent_bench_add(r, name, rows[k].pages_per_op, "pages", "", 0);
        if (rows[k].rss_mib > 0) {
            snprintf(name, sizeof(name), "growth RSS of serve, %s ops", n);
            ent_bench_add(r, name, rows[k].rss_mib, "MiB", "", 0);
        }
        snprintf(name, sizeof(name), "growth list 1st page, %s ops", n);
        ent_bench_add(r, name, rows[k].list, "ms", "", 0);
        snprintf(name, sizeof(name), "join: inviter before 1st op, %s ops",
                 n);
        ent_bench_add(r, name, rows[k].join_ms, "ms", "", 0);
        snprintf(name, sizeof(name), "join: inviter heap, %s ops", n);
        ent_bench_add(r, name, rows[k].join_heap / 1048576.0, "MiB", "", 0);
        snprintf(name, sizeof(name), "all missing keys, empty vv, %s ops", n);
        ent_bench_add(r, name, rows[k].missing_ms, "ms", "", 0);
    }
    if (done >= 2) {
        const ops_row *s0 = &rows[0], *s1 = &rows[done - 1];
        flat_row(r, "sync per op", "us", 1e6 / s0->rate, 1e6 / s1->rate,
                 s0->n, s1->n);
        flat_row(r, "sync CPU per op", "us", s0->cpu_us, s1->cpu_us, s0->n,
                 s1->n);
        flat_row(r, "local set CPU", "us", s0->set_us, s1->set_us, s0->n,
                 s1->n);
        flat_row(r, "db per op", "bytes", s0->db_per_op, s1->db_per_op,
                 s0->n, s1->n);
        /* the join's work before its first op should not grow at all:
         * the whole of it, not per op */
        flat_row(r, "join before 1st op", "ms", s0->join_ms, s1->join_ms,
                 s0->n, s1->n);
    }
    ent_gossip_free(a.g);
    ent_objects_free(a.eng);
    ent_store_close(a.store);
    ent_identity_free(a.id);
    rm_tree(a.dir);
}

/* ---- objects sweep: in-sync rounds in the simulator -------------------- */

static int hand_over(void *data, const uint8_t *raw, size_t len) {
    return ent_obj_apply(data, raw, len, NULL);
}

typedef struct obj_row {
    size_t n;
    double bytes, cpu_ms, list;
    double w_cpu_ms;     /* recon/1, a write between rounds */
    double old_cpu_ms;   /* DIGEST/DIGESTS, a write between rounds */
    double miss_bytes, miss_ms, miss_msgs; /* one missing op, recon/1 */
    double old_miss_bytes, old_miss_ms;    /* the same with DIGESTS */
} obj_row;

/* A write on node 0 that changes nothing shared (a comment on an object
 * only node 0 holds): the store's generation moves, as between two rounds
 * of a busy node. */
static int unrelated_write(ent_sim *s, const uint8_t priv[32]) {
    return ent_sim_comment(s, 0, priv, false);
}

/* CPU of k in-sync rounds from node 0, each after an unrelated write (not
 * counted). */
static double rounds_cpu(ent_sim *s, const uint8_t priv[32], int k,
                         bool *ok) {
    double total = 0;
    ent_gossip_stats g0, g1;
    ent_gossip_stats_get(ent_sim_gossip(s, 1), &g0);
    for (int i = 0; i < k; i++) {
        if (unrelated_write(s, priv) != ENT_OK)
            *ok = false;
        double c0 = cpu_s();
        if (ent_gossip_round(ent_sim_gossip(s, 0), ent_sim_org(s, 1)) !=
            ENT_OK)
            *ok = false;
        ent_sim_run(s, 1000);
        total += cpu_s() - c0;
    }
    ent_gossip_stats_get(ent_sim_gossip(s, 1), &g1);
    if (g1.in_sync - g0.in_sync != (uint64_t)k)
        *ok = false;
    return total * 1000.0 / k;
}

/* One op on node 0 (a comment on shared object obj) that node 1 lacks,
 * found by one round from node 1: bytes, messages and CPU until both hold
 * it. */
static int one_missing(ent_sim *s, const uint8_t obj[32], double *bytes,
                       double *ms, double *msgs) {
    ent_sim_stats s0, s1;
    if (ent_sim_comment(s, 0, obj, false) != ENT_OK)
        return -1;
    ent_sim_stats_get(s, &s0);
    double c0 = cpu_s();
    if (ent_gossip_round(ent_sim_gossip(s, 1), ent_sim_org(s, 0)) != ENT_OK)
        return -1;
    ent_sim_run(s, 1000);
    *ms = (cpu_s() - c0) * 1000.0;
    ent_sim_stats_get(s, &s1);
    *bytes = (double)(s1.bytes_sent - s0.bytes_sent);
    if (msgs != NULL)
        *msgs = (double)(s1.msgs_sent - s0.msgs_sent);
    return ent_sim_converged(s, 2, obj) ? 0 : -1;
}

/* Grows the shared set of the two simulator nodes to n objects and
 * measures in-sync rounds (without and with a write between them, with
 * recon/1 and without) and one missing op. */
static int objs_at(ent_sim *s, size_t *have, size_t n, obj_row *row,
                   const uint8_t priv[32]) {
    char err[256];
    uint8_t last[32] = {0};
    ent_objects *a = ent_sim_engine(s, 0), *b = ent_sim_engine(s, 1);
    for (; *have < n; (*have)++) {
        uint8_t id[32];
        ent_op_epoch_key *boxes = NULL;
        size_t nb = 0;
        const ent_obj_input in[] = {{"name", "shared", false}};
        int rc = ent_obj_create(a, "opportunity", in, 1, id, NULL, err,
                                sizeof(err));
        if (rc == ENT_OK)
            rc = ent_obj_add_member(a, id, ent_sim_org(s, 1), ENT_ROLE_MEMBER,
                                    NULL, &boxes, &nb);
        if (rc == ENT_OK)
            rc = ent_obj_accept_keys(b, id, boxes, nb);
        if (rc == ENT_OK)
            rc = ent_obj_ops_foreach(a, id, hand_over, b);
        free(boxes);
        if (rc != ENT_OK)
            return rc;
        memcpy(last, id, 32);
    }
    ent_sim_run(s, 1000);
    /* one warm round (a digest cache may fill), then 5 measured */
    if (ent_gossip_round(ent_sim_gossip(s, 0), ent_sim_org(s, 1)) != ENT_OK)
        return -1;
    ent_sim_run(s, 1000);
    ent_sim_stats s0, s1;
    ent_gossip_stats g0, g1;
    ent_sim_stats_get(s, &s0);
    ent_gossip_stats_get(ent_sim_gossip(s, 1), &g0);
    double c0 = cpu_s();
    for (int k = 0; k < 5; k++) {
        if (ent_gossip_round(ent_sim_gossip(s, 0), ent_sim_org(s, 1)) !=
            ENT_OK)
            return -1;
        ent_sim_run(s, 1000);
    }
    row->cpu_ms = (cpu_s() - c0) * 1000.0 / 5;
    ent_sim_stats_get(s, &s1);
    ent_gossip_stats_get(ent_sim_gossip(s, 1), &g1);
    if (g1.in_sync - g0.in_sync != 5)
        fprintf(stderr, "bench_growth: %zu objects: not in sync\n", n);
    row->bytes = (double)(s1.bytes_sent - s0.bytes_sent) / 5;
    row->list = list_ms(a);
    row->n = n;
    bool ok = true;
    row->w_cpu_ms = rounds_cpu(s, priv, 5, &ok);
    ent_sim_set_recon(s, 1, false); /* an older peer: DIGEST and DIGESTS */
    row->old_cpu_ms = rounds_cpu(s, priv, 3, &ok);
    if (n <= 10000 &&
        one_missing(s, last, &row->old_miss_bytes, &row->old_miss_ms, NULL))
        ok = false;
    ent_sim_set_recon(s, 1, true);
    if (one_missing(s, last, &row->miss_bytes, &row->miss_ms,
                    &row->miss_msgs) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "bench_growth: %zu objects: a round failed\n", n);
    return 0;
}

static void objs_sweep(ent_bench_report *r, const size_t *sizes, size_t nsz) {
    ent_sim *s = NULL;
    ent_sim_config cfg = {.nodes = 2,
                          .latency_min_ms = 1,
                          .latency_max_ms = 1,
                          .seed = 9,
                          .map_size = (size_t)4 << 30};
    obj_row rows[MAX_SIZES];
    size_t have = 0, done = 0;
    char name[96], err[256];
    uint8_t priv[32];
    memset(rows, 0, sizeof(rows));
    if (ent_sim_new(&s, &cfg) != ENT_OK ||
        ent_obj_create(ent_sim_engine(s, 0), "opportunity", NULL, 0, priv,
                       NULL, err, sizeof(err)) != ENT_OK)
        goto out;
    for (size_t k = 0; k < nsz; k++) {
        double t0 = ent_bench_now();
        if (objs_at(s, &have, sizes[k], &rows[k], priv) != 0) {
            fprintf(stderr, "bench_growth: %zu objects failed\n", sizes[k]);
            r->failed = 1;
            break;
        }
        fprintf(stderr, "bench_growth: %zu shared objects (%.1f s)\n",
                sizes[k], ent_bench_now() - t0);
        done = k + 1;
    }
    for (size_t k = 0; k < done; k++) {
        char n[24];
        const obj_row *o = &rows[k];
        scale(n, sizeof(n), o->n);
        snprintf(name, sizeof(name), "in-sync round bytes, %s objects", n);
        ent_bench_add(r, name, o->bytes, "bytes", "", 0);
        snprintf(name, sizeof(name), "in-sync round CPU, %s objects", n);
        ent_bench_add(r, name, o->cpu_ms * 1e3, "us", "", 0);
        snprintf(name, sizeof(name),
                 "in-sync round CPU after a write, recon/1, %s objects", n);
        ent_bench_add(r, name, o->w_cpu_ms * 1e3, "us", "", 0);
        snprintf(name, sizeof(name),
                 "in-sync round CPU after a write, DIGEST, %s objects", n);
        ent_bench_add(r, name, o->old_cpu_ms * 1e3, "us", "", 0);
        snprintf(name, sizeof(name), "1 missing op, recon/1, %s objects", n);
        ent_bench_add(r, name, o->miss_bytes, "bytes", "", 0);
        snprintf(name, sizeof(name), "1 missing op CPU, recon/1, %s objects",
                 n);
        ent_bench_add(r, name, o->miss_ms, "ms", "", 0);
        snprintf(name, sizeof(name), "1 missing op msgs, recon/1, %s objects",
                 n);
        ent_bench_add(r, name, o->miss_msgs, "msgs", "", 0);
        if (o->old_miss_bytes > 0) {
            snprintf(name, sizeof(name), "1 missing op, DIGESTS, %s objects",
                     n);
            ent_bench_add(r, name, o->old_miss_bytes, "bytes", "", 0);
            snprintf(name, sizeof(name),
                     "1 missing op CPU, DIGESTS, %s objects", n);
            ent_bench_add(r, name, o->old_miss_ms, "ms", "", 0);
        }
        snprintf(name, sizeof(name), "list 1st page, %s objects", n);
        ent_bench_add(r, name, o->list, "ms", "", 0);
    }
    if (done >= 2) {
        const obj_row *o0 = &rows[0], *o1 = &rows[done - 1];
        flat_row(r, "round CPU", "us", 1e3 * o0->cpu_ms, 1e3 * o1->cpu_ms,
                 o0->n, o1->n);
        flat_row(r, "round CPU after a write", "us", 1e3 * o0->w_cpu_ms,
                 1e3 * o1->w_cpu_ms, o0->n, o1->n);
        flat_row(r, "list 1st page", "ms", o0->list, o1->list, o0->n, o1->n);
    }
out:
    ent_sim_free(s);
}

void ent_bench_growth(ent_bench_report *r, int quick) {
    size_t max = quick ? 10000 : 100000;
    if (getenv("ENT_BENCH_GROWTH_MAX") != NULL)
        max = strtoul(getenv("ENT_BENCH_GROWTH_MAX"), NULL, 10);
    size_t ops[MAX_SIZES], objs[MAX_SIZES], nops = 0, nobj = 0;
    for (size_t n = quick ? 1000 : 10000; n <= max && nops < MAX_SIZES;
         n *= 10)
        ops[nops++] = n;
    /* ENT_BENCH_GROWTH_OBJS: the objects sweep's largest size (default
     * max / 10); with ENT_BENCH_GROWTH_MAX=0 only the objects sweep runs */
    size_t omax = max / 10;
    if (getenv("ENT_BENCH_GROWTH_OBJS") != NULL)
        omax = strtoul(getenv("ENT_BENCH_GROWTH_OBJS"), NULL, 10);
    for (size_t n = quick ? 100 : 1000; n <= omax && nobj < MAX_SIZES;
         n *= 10)
        objs[nobj++] = n;
    if (ent_crypto_init() != ENT_OK)
        return;
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "bench_growth: up to %zu ops and %zu objects; the full "
            "table: ENT_BENCH_ONLY=growth ENT_BENCH_GROWTH_MAX=1000000 "
            "build/rel/bench\n", max, omax);
    if (nops > 0)
        ops_sweep(r, ops, nops);
    objs_sweep(r, objs, nobj);
}
