/*
 * bench_sync.c - replication figures (issue 5, spec/gossip.md "Benchmarks"):
 *
 *  a) bytes of one anti-entropy round between two in-sync nodes sharing
 *     1,000 and 10,000 objects (the simulator: the same gossip code and
 *     wire bytes as `entente serve`, without sessions);
 *  b) backlog sync to a new member over loopback TCP: two real nodes in
 *     this process, each on its own uv loop and thread; A holds one object with N set ops of
 *     about 300 bytes, B joins with an invite, and the time until B has
 *     applied all of them gives ops/s, compared with the single-core
 *     Ed25519 verify rate measured in the same run; for B (disk) also the
 *     pages its LMDB commits wrote per op (ent_store_pages_written), the
 *     kernel's write_bytes per op in 4-KiB pages, ops per commit, and
 *     the transport frames per op and the ACK frames per OPS on its side;
 *  c) push latency of one edit A -> B (p50, p99 of 200 edits): from
 *     ent_obj_set on A to the op applied in B's engine;
 *  d) RSS of a node process that is idle and of one whose store holds the
 *     backlog (a real `entente serve` process on that home, read from /proc).
 *
 * A's home is on /dev/shm when writable: making the backlog one durable
 * commit per op would take minutes on a disk, and only B's side is timed.
 * B's home is on /tmp. The ops set 500 different fields (BACKLOG_FIELDS).
 * The per-session op rate limit stays at its default (2,000 ops/s,
 * spec/protocol.md §5): ops B asked for (the join's history) are credited
 * and do not pay it.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/peers/gossip.h"
#include "node/home.h"
#include "node/daemon/daemon.h"
#include "node/node.h"
#include "node/objects/object.h"
#include "node/peers/peer.h"
#include "node/peers/peer_int.h" /* the session manager's counters */
#include "node/peers/sim.h"
#include "storage/store.h"
#include "tests/bench/bench.h"
#include "tests/store_fixture.h"

/* The backlog's set ops are spread over this many shared fields: applying
 * a write recomputes its field's winner from every write kept for that
 * field (node/objects/object_apply.c recompute_field), so 100,000 writes to ONE
 * field would cost O(n^2) and measure that, not sync. */
#define BACKLOG_FIELDS 500

/* ---- a) bytes per in-sync round ------------------------------------------ */

static int collect_one(void *data, const uint8_t *raw, size_t len) {
    ent_objects *eng = data;
    return ent_obj_apply(eng, raw, len, NULL);
}

static void round_bytes(ent_bench_report *r, size_t nobj) {
    ent_sim *s = NULL;
    ent_sim_config cfg = {.nodes = 2,
                          .latency_min_ms = 1,
                          .latency_max_ms = 1,
                          .seed = 7,
                          .map_size = (size_t)256 << 20};
    char err[256], name[64];
    if (ent_sim_new(&s, &cfg) != ENT_OK)
        goto out;
    ent_objects *a = ent_sim_engine(s, 0), *b = ent_sim_engine(s, 1);
    for (size_t i = 0; i < nobj; i++) {
        uint8_t id[32];
        ent_op_epoch_key *boxes = NULL;
        size_t nb = 0;
        const ent_obj_input in[] = {{"name", "shared", false}};
        if (ent_obj_create(a, "opportunity", in, 1, id, NULL, err,
                           sizeof(err)) != ENT_OK ||
            ent_obj_add_member(a, id, ent_sim_org(s, 1), ENT_ROLE_MEMBER,
                               NULL, &boxes, &nb) != ENT_OK ||
            ent_obj_accept_keys(b, id, boxes, nb) != ENT_OK ||
            ent_obj_ops_foreach(a, id, collect_one, b) != ENT_OK) {
            free(boxes);
            fprintf(stderr, "bench_sync: round setup failed at %zu\n", i);
            goto out;
        }
        free(boxes);
    }
    ent_sim_run(s, 1000); /* nothing queued: the history was handed over */
    ent_sim_stats s0, s1;
    ent_sim_stats_get(s, &s0);
    if (ent_gossip_round(ent_sim_gossip(s, 0), ent_sim_org(s, 1)) != ENT_OK)
        goto out;
    ent_sim_run(s, 1000);
    ent_sim_stats_get(s, &s1);
    ent_gossip_stats g;
    ent_gossip_stats_get(ent_sim_gossip(s, 1), &g);
    snprintf(name, sizeof(name), "in-sync round, %zu objects", nobj);
    if (g.in_sync != 1)
        fprintf(stderr, "bench_sync: %zu objects: nodes not in sync\n", nobj);
    ent_bench_add(r, name, (double)(s1.bytes_sent - s0.bytes_sent), "bytes",
                  "", 0);
out:
    ent_sim_free(s);
}

/* ---- b, c) two nodes, each on its own loop and thread ------------------ */

/*
 * A runs on its own thread and loop, as it would in its own process: the
 * sender's reads, encryption and sends do not share a thread with B's
 * apply. The main thread drives B's loop; it asks A's thread for an edit
 * or for a stop through async handles.
 */
typedef struct world {
    uv_loop_t loop, loop_a;
    uv_timer_t wake;
    uv_async_t edit_a, stop_a;
    uv_thread_t thread_a;
    bool thread_started;
    char tmp_a[64], tmp_b[64];
    char home_a[128], home_b[128];
    ent_log log, log_a;
    ent_node *a, *b, *c;
    char tmp_c[64], home_c[128];
    uint8_t obj[32];
    uv_mutex_t mu;
    int edits_asked, edits_done, edit_rc;
    int stopped;
} world;

static void on_wake(uv_timer_t *t) { (void)t; }

static uint64_t applied(ent_node *n) {
    ent_obj_stats st;
    ent_obj_stats_get(ent_node_objects(n), &st);
    return st.applied;
}

/* Runs B's loop until B's engine applied at least want ops or ms pass. */
static bool run_until_applied(world *w, ent_node *n, uint64_t want,
                              uint64_t ms) {
    uv_update_time(&w->loop);
    uint64_t end = uv_now(&w->loop) + ms;
    while (applied(n) < want && uv_now(&w->loop) < end)
        uv_run(&w->loop, UV_RUN_ONCE);
    return applied(n) >= want;
}

/* The disk join's write cost, set by join_rate: 4-KiB pages LMDB's
 * commits wrote per op (ent_store_pages_written), the kernel's count of
 * bytes written to the disk per op in 4-KiB units, and ops per commit. */
typedef struct join_cost {
    double pages_per_op, kernel_per_op, ops_per_commit;
    double frames_per_kop; /* transport frames n received and sent, per
                              1,000 ops */
    double acks_per_ops;  /* ACK and ACKS frames n sent per OPS received */
} join_cost;

/* b) n joins with token (B on disk, C on tmpfs) and receives the whole
 * history of want ops: ops/s, or 0 on failure; *cost (may be NULL) gets
 * the pages and commits it took. */
static double join_rate(world *w, ent_node *n, const char *who,
                        const char *token, uint64_t want, join_cost *cost) {
    char err[ENT_OBJ_ERR_MAX];
    uint64_t jid = 0, g0 = 0, g1 = 0, p0 = 0, p1 = 0;
    uint64_t io0 = ent_bench_io_write_bytes();
    ent_store_generation(ent_node_store(n), &g0);
    ent_store_count_pages(ent_node_store(n));
    ent_store_pages_written(ent_node_store(n), &p0);
    ent_session_stats ss0, ss1;
    ent_peers_stats ps0, ps1;
    ent_session_mgr_stats(ent_node_peers(n)->mgr, &ss0);
    ent_peers_stats_get(ent_node_peers(n), &ps0);
    double t0 = ent_bench_now();
    if (ent_peers_join(ent_node_peers(n), token, strlen(token), &jid, err,
                       sizeof(err)) != ENT_OK) {
        fprintf(stderr, "bench_sync: %s: join: %s\n", who, err);
        return 0;
    }
    if (!run_until_applied(w, n, want, 600000)) {
        fprintf(stderr, "bench_sync: %s applied %llu of %llu ops\n", who,
                (unsigned long long)applied(n), (unsigned long long)want);
        return 0;
    }
    double rate = (double)want / (ent_bench_now() - t0);
    ent_store_generation(ent_node_store(n), &g1);
    ent_store_pages_written(ent_node_store(n), &p1);
    for (int i = 0; i < 4; i++) /* the last answers go out */
        uv_run(&w->loop, UV_RUN_NOWAIT);
    ent_session_mgr_stats(ent_node_peers(n)->mgr, &ss1);
    ent_peers_stats_get(ent_node_peers(n), &ps1);
    if (cost != NULL) {
        uint64_t fr = ss1.frames_in - ss0.frames_in + ss1.frames_out -
                      ss0.frames_out;
        uint64_t acks = ps1.acks_msgs_sent - ps0.acks_msgs_sent +
                        ps1.acks_sent - ps0.acks_sent;
        uint64_t opsn = ps1.acks_msgs_sent - ps0.acks_msgs_sent +
                        ps1.acks_coalesced - ps0.acks_coalesced;
        cost->frames_per_kop = 1000.0 * (double)fr / (double)want;
        cost->acks_per_ops = opsn ? (double)acks / (double)opsn : 0;
        cost->pages_per_op = (double)(p1 - p0) / (double)want;
        cost->kernel_per_op =
            (double)(ent_bench_io_write_bytes() - io0) / 4096.0 / (double)want;
        cost->ops_per_commit = g1 > g0 ? (double)want / (double)(g1 - g0) : 0;
    }
    return rate;
}

/* A's thread: one edit of next_step for each one asked. */
static void on_edit_a(uv_async_t *h) {
    world *w = h->data;
    char err[ENT_OBJ_ERR_MAX], text[64];
    uv_mutex_lock(&w->mu);
    int want = w->edits_asked;
    uv_mutex_unlock(&w->mu);
    for (int i; (i = w->edits_done) < want;) {
        ent_op *op = NULL;
        snprintf(text, sizeof(text), "latency %d", i);
        ent_obj_input s = {"next_step", text, false};
        int rc = ent_obj_set(ent_node_objects(w->a), w->obj, &s, 1, &op, err,
                             sizeof(err));
        if (rc == ENT_OK)
            ent_node_op_created(w->a, op);
        uv_mutex_lock(&w->mu);
        w->edits_done++;
        if (rc != ENT_OK)
            w->edit_rc = rc;
        uv_mutex_unlock(&w->mu);
    }
}

static void on_stopped_a(ent_node *n, void *data) {
    world *w = data;
    (void)n;
    uv_close((uv_handle_t *)&w->edit_a, NULL);
    uv_close((uv_handle_t *)&w->stop_a, NULL);
}

static void on_stop_a(uv_async_t *h) {
    world *w = h->data;
    ent_node_stop(w->a, on_stopped_a, w);
}

static void thread_a(void *arg) {
    world *w = arg;
    uv_run(&w->loop_a, UV_RUN_DEFAULT);
}

static void on_stopped(ent_node *n, void *data) {
    (void)n;
    ((world *)data)->stopped++;
}
static int dcmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static void sync_bench(ent_bench_report *r, int quick) {
    world *w = calloc(1, sizeof(*w));
    size_t nops = quick ? 10000 : 100000;
    if (getenv("ENT_BENCH_SYNC_OPS") != NULL) /* for profiling one size */
        nops = strtoul(getenv("ENT_BENCH_SYNC_OPS"), NULL, 10);
    size_t nlat = quick ? 50 : 200;
    char org[ENT_ORG_ID_LEN + 1], err[ENT_OBJ_ERR_MAX], text[256];
    uint8_t *obj;
    double *lat = calloc(nlat, sizeof(*lat));
    char *token = NULL, *token_c = NULL;
    if (w == NULL || lat == NULL)
        goto out;
    obj = w->obj;
    signal(SIGPIPE, SIG_IGN); /* as entente serve does (node/cli/cli.c) */
    setenv("ENTENTE_SYNC_MS", "200", 1);
    setenv("ENTENTE_DIAL_BASE_MS", "100", 1);
    ent_log_init(&w->log,
                 getenv("ENT_BENCH_SYNC_LOG") ? ENT_LOG_INFO : ENT_LOG_ERROR,
                 "bench");
    snprintf(w->tmp_a, sizeof(w->tmp_a), "%s/ent-bench-sync.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    snprintf(w->tmp_b, sizeof(w->tmp_b), "/tmp/ent-bench-sync.XXXXXX");
    if (mkdtemp(w->tmp_a) == NULL || mkdtemp(w->tmp_b) == NULL)
        goto out;
    snprintf(w->home_a, sizeof(w->home_a), "%s/A", w->tmp_a);
    snprintf(w->home_b, sizeof(w->home_b), "%s/B", w->tmp_b);
    if (ent_home_init(w->home_a, "A", "127.0.0.1:0", NULL, org) != ENT_OK ||
        ent_home_init(w->home_b, "B", "127.0.0.1:0", NULL, org) != ENT_OK)
        goto out;
    /* C: the same join with the store on tmpfs, when there is one */
    snprintf(w->tmp_c, sizeof(w->tmp_c), "/dev/shm/ent-bench-sync.XXXXXX");
    if (access("/dev/shm", W_OK) == 0 && mkdtemp(w->tmp_c) != NULL) {
        snprintf(w->home_c, sizeof(w->home_c), "%s/C", w->tmp_c);
        if (ent_home_init(w->home_c, "C", "127.0.0.1:0", NULL, org) != ENT_OK)
            goto out;
    } else {
        w->tmp_c[0] = '\0';
    }

    /* d) an idle node: a fresh home, nothing in it */
    long rss_idle = ent_bench_serve_rss(w->home_b);

    if (uv_loop_init(&w->loop) != 0 || uv_loop_init(&w->loop_a) != 0)
        goto out;
    uv_mutex_init(&w->mu);
    w->log_a = w->log;
    uv_timer_init(&w->loop, &w->wake);
    uv_timer_start(&w->wake, on_wake, 5, 5);
    uv_async_init(&w->loop_a, &w->edit_a, on_edit_a);
    uv_async_init(&w->loop_a, &w->stop_a, on_stop_a);
    w->edit_a.data = w->stop_a.data = w;
    if (ent_daemon_open(&w->a, &w->loop_a, w->home_a, &w->log_a) != ENT_OK ||
        ent_daemon_open(&w->b, &w->loop, w->home_b, &w->log) != ENT_OK ||
        ent_node_start(w->a, NULL) != ENT_OK ||
        ent_node_start(w->b, NULL) != ENT_OK ||
        (w->tmp_c[0] &&
         (ent_daemon_open(&w->c, &w->loop, w->home_c, &w->log) != ENT_OK ||
          ent_node_start(w->c, NULL) != ENT_OK)))
        goto stop;
    ent_objects *ea = ent_node_objects(w->a);
    const ent_obj_input in[] = {{"name", "Backlog", false}};
    ent_op *op = NULL;
    if (ent_obj_create(ea, "opportunity", in, 1, obj, &op, err,
                       sizeof(err)) != ENT_OK)
        goto stop;
    ent_node_op_created(w->a, op);
    /* the backlog: about 300-byte ops (a 150-character shared value) */
    double t0 = ent_bench_now();
    for (size_t i = 0; i < nops; i++) {
        snprintf(text, sizeof(text),
                 "step %08zu: call the partner's architect about the joint "
                 "reference design, then review pricing with the account "
                 "team and update the forecast notes.", i);
        char field[32];
        snprintf(field, sizeof(field), "note_%03zu", i % BACKLOG_FIELDS);
        ent_obj_input s = {field, text, ENT_IN_CUSTOM};
        if (ent_obj_set(ea, obj, &s, 1, NULL, err, sizeof(err)) != ENT_OK) {
            fprintf(stderr, "bench_sync: set: %s\n", err);
            goto stop;
        }
    }
    double gen = ent_bench_now() - t0;
    fprintf(stderr, "bench_sync: made %zu ops on A in %.1f s\n", nops, gen);

    /* b) B (store on disk) joins and receives the whole history, then C
     * (store on tmpfs, where a durable commit costs no disk flush) */
    char iid[33];
    uint64_t expiry;
    if (ent_peers_invite(ent_node_peers(w->a), obj, ENT_ROLE_MEMBER, 3600,
                         &token, &expiry, iid) != ENT_OK ||
        (w->c != NULL &&
         ent_peers_invite(ent_node_peers(w->a), obj, ENT_ROLE_MEMBER, 3600,
                          &token_c, &expiry, iid) != ENT_OK))
        goto stop;
    /* the loops did not run while the backlog was made: refresh their
     * clocks, or the join's handshake timer would start tens of seconds
     * late; from here on A's loop belongs to A's thread */
    uv_update_time(&w->loop);
    uv_update_time(&w->loop_a);
    if (uv_thread_create(&w->thread_a, thread_a, w) != 0)
        goto stop;
    w->thread_started = true;
    /* create, the add of B, the sets; C also gets the add of C */
    join_cost cost = {0};
    double rate = join_rate(w, w->b, "B", token, nops + 2, &cost);
    if (rate <= 0)
        goto stop;
    ent_bench_add(r, "backlog sync to a new member (disk)", rate,
                  "ops/s", "ed25519 verify", r->lim.verify);
    ent_bench_add(r, "backlog sync (disk): pages written per op",
                  cost.pages_per_op, "pages", "", 0);
    ent_bench_add(r, "backlog sync (disk): kernel pages per op",
                  cost.kernel_per_op, "pages", "", 0);
    ent_bench_add(r, "backlog sync (disk): ops per commit", cost.ops_per_commit,
                  "ops", "", 0);
    ent_bench_add(r, "backlog sync (disk): frames per 1,000 ops",
                  cost.frames_per_kop, "frames", "", 0);
    ent_bench_add(r, "backlog sync (disk): ACK frames per OPS",
                  cost.acks_per_ops, "frames", "", 0);
    if (w->c != NULL) {
        double disk = rate;
        rate = join_rate(w, w->c, "C", token_c, nops + 3, NULL);
        if (rate <= 0)
            goto stop;
        ent_bench_add(r, "backlog sync to a new member (tmpfs)", rate,
                      "ops/s", "ed25519 verify", r->lim.verify);
        ent_bench_add(r, "backlog sync: disk row / tmpfs row", disk / rate,
                      "ratio", "", 0);
    }

    /* c) push latency: one edit on A until B applied it */
    for (size_t i = 0; i < nlat; i++) {
        uint64_t before = applied(w->b);
        t0 = ent_bench_now();
        uv_mutex_lock(&w->mu);
        w->edits_asked++;
        uv_mutex_unlock(&w->mu);
        uv_async_send(&w->edit_a);
        if (!run_until_applied(w, w->b, before + 1, 10000) ||
            w->edit_rc != ENT_OK)
            goto stop;
        lat[i] = (ent_bench_now() - t0) * 1000.0;
    }
    qsort(lat, nlat, sizeof(*lat), dcmp);
    ent_bench_add(r, "push latency A->B p50", lat[nlat / 2], "ms", "", 0);
    ent_bench_add(r, "push latency A->B p99",
                  lat[(nlat * 99) / 100 < nlat ? (nlat * 99) / 100 : nlat - 1],
                  "ms", "", 0);
stop:
    if (w->thread_started) {
        uv_async_send(&w->stop_a);
        uv_thread_join(&w->thread_a);
    } else {
        if (w->a != NULL)
            ent_node_stop(w->a, on_stopped_a, w);
        else
            on_stopped_a(NULL, w);
        uv_run(&w->loop_a, UV_RUN_DEFAULT);
    }
    if (w->b != NULL)
        ent_node_stop(w->b, on_stopped, w);
    if (w->c != NULL)
        ent_node_stop(w->c, on_stopped, w);
    uv_close((uv_handle_t *)&w->wake, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    ent_node_free(w->a);
    ent_node_free(w->b);
    ent_node_free(w->c);
    w->a = w->b = w->c = NULL;
    uv_loop_close(&w->loop);
    uv_loop_close(&w->loop_a);
    uv_mutex_destroy(&w->mu);
    /* d) a node whose store holds the backlog */
    if (rss_idle > 0)
        ent_bench_add(r, "RSS of an idle node", (double)rss_idle / 1024.0,
                      "MiB", "", 0);
    long rss_full = ent_bench_serve_rss(w->home_b);
    if (rss_full > 0) {
        char name[64];
        snprintf(name, sizeof(name), "RSS of a node holding %zu ops", nops);
        ent_bench_add(r, name, (double)rss_full / 1024.0, "MiB", "", 0);
    }
out:
    if (token != NULL) {
        memset(token, 0, strlen(token));
        free(token);
    }
    if (token_c != NULL) {
        memset(token_c, 0, strlen(token_c));
        free(token_c);
    }
    if (w != NULL) {
        rm_tree(w->tmp_a);
        if (getenv("ENT_BENCH_SYNC_KEEP") != NULL) /* for mdb_stat */
            fprintf(stderr, "bench_sync: kept %s\n", w->home_b);
        else
            rm_tree(w->tmp_b);
        rm_tree(w->tmp_c);
    }
    free(lat);
    free(w);
}

/* ---- e) rounds to converge, 25..200 members, 5% loss ------------------- */

/* The issue-5 scenario in the simulator (node/peers/sim.c ent_sim_converge):
 * every member edits at t = 0; rounds and messages until all members hold
 * byte-identical state. Any size that does not converge fails the bench. */
static void converge_rows(ent_bench_report *r) {
    static const size_t ms[] = {25, 50, 100, 200};
    char name[64];
    size_t ok = 0;
    for (size_t k = 0; k < sizeof(ms) / sizeof(ms[0]); k++) {
        ent_sim_conv c;
        double t0 = ent_bench_now();
        int rc = ent_sim_converge(ms[k], 1000 + ms[k], 100, &c);
        fprintf(stderr, "gossip: %zu members: %d rounds, %llu messages, "
                "%llu lost, %.1f s\n", ms[k], c.rounds,
                (unsigned long long)c.msgs, (unsigned long long)c.lost,
                ent_bench_now() - t0);
        if (rc != ENT_OK || !c.converged) {
            fprintf(stderr, "entente: bench: %zu members did not converge "
                    "(%s)\n", ms[k], ent_strerror(rc));
            r->failed = 1;
            continue;
        }
        ok += ms[k] == 200;
        snprintf(name, sizeof(name), "gossip rounds to converge, %zu members",
                 ms[k]);
        ent_bench_add(r, name, c.rounds, "rounds", "", 0);
        snprintf(name, sizeof(name), "gossip messages to converge, %zu mbrs",
                 ms[k]);
        ent_bench_add(r, name, (double)c.msgs, "msgs", "", 0);
    }
    ent_bench_add(r, "200 members converged identically, 5% loss",
                  (double)ok, "yes=1", "", 0);
    if (ok != 1)
        r->failed = 1;
}

void ent_bench_sync(ent_bench_report *r, int quick) {
    if (ent_crypto_init() != ENT_OK)
        return;
    if (getenv("ENT_BENCH_SYNC_ONLY") == NULL) {
        round_bytes(r, 1000);
        round_bytes(r, quick ? 2000 : 10000);
        converge_rows(r);
    }
    sync_bench(r, quick);
}
