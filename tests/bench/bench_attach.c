/*
 * bench_attach.c - attachment transfer between two nodes on loopback
 * (spec/objects.md "Attachments", spec/protocol.md §3.8): A attaches a
 * file (25 MiB; 8 MiB with --quick) to an object B is a member of; B
 * fetches every chunk on demand (CHUNK_WANT / CHUNK over the Noise session,
 * each chunk hashed, checked against the manifest and committed durably to
 * B's store on disk) and opens the file (every chunk decrypted, the file's
 * hash checked). Reported in MB/s of file bytes, against the
 * XChaCha20-Poly1305 rate measured in the same run (the sealing alone of
 * those bytes). Both nodes share one loop and one thread here, so sender
 * and receiver work add up.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "crypto/crypto.h"
#include "node/daemon/daemon.h"
#include "node/err.h"
#include "node/home.h"
#include "node/node.h"
#include "node/objects/object.h"
#include "node/peers/peer.h"
#include "tests/bench/bench.h"
#include "tests/store_fixture.h"

typedef struct world {
    uv_loop_t loop;
    uv_timer_t wake;
    char tmp[64], home_a[128], home_b[128];
    ent_log log;
    ent_node *a, *b;
    uint8_t obj[32];
    int stopped;
} world;

static void on_wake(uv_timer_t *t) {
    (void)t;
}
static void on_stopped(ent_node *n, void *data) {
    (void)n;
    ((world *)data)->stopped++;
}

static bool b_lists(world *w, const char *name) {
    ent_obj_attachment *v = NULL;
    size_t n = 0;
    bool ok = false;
    if (ent_obj_attachments(ent_node_objects(w->b), w->obj, &v, &n) == ENT_OK)
        for (size_t i = 0; i < n; i++)
            ok |= strcmp(v[i].name, name) == 0;
    free(v);
    return ok;
}

static bool run_until_listed(world *w, const char *name, double secs) {
    double end = ent_bench_now() + secs;
    while (!b_lists(w, name) && ent_bench_now() < end)
        uv_run(&w->loop, UV_RUN_ONCE);
    return b_lists(w, name);
}

void ent_bench_attach(ent_bench_report *r, int quick) {
    world *w = calloc(1, sizeof(*w));
    size_t size = quick ? (size_t)8 << 20 : (size_t)25 << 20;
    uint8_t *file = malloc(size);
    char org[ENT_ORG_ID_LEN + 1], err[ENT_OBJ_ERR_MAX], iid[33];
    char *token = NULL;
    uint64_t expiry, jid = 0;
    ent_op *op = NULL;
    if (w == NULL || file == NULL)
        goto out;
    signal(SIGPIPE, SIG_IGN);
    setenv("ENTENTE_SYNC_MS", "200", 1);
    setenv("ENTENTE_DIAL_BASE_MS", "100", 1);
    ent_log_init(&w->log, ENT_LOG_ERROR, "bench");
    snprintf(w->tmp, sizeof(w->tmp), "/tmp/ent-bench-attach.XXXXXX");
    if (mkdtemp(w->tmp) == NULL)
        goto out;
    snprintf(w->home_a, sizeof(w->home_a), "%s/A", w->tmp);
    snprintf(w->home_b, sizeof(w->home_b), "%s/B", w->tmp);
    if (ent_home_init(w->home_a, "A", "127.0.0.1:0", NULL, org) != ENT_OK ||
        ent_home_init(w->home_b, "B", "127.0.0.1:0", NULL, org) != ENT_OK ||
        uv_loop_init(&w->loop) != 0)
        goto out;
    uv_timer_init(&w->loop, &w->wake);
    uv_timer_start(&w->wake, on_wake, 5, 5);
    if (ent_daemon_open(&w->a, &w->loop, w->home_a, &w->log) != ENT_OK ||
        ent_daemon_open(&w->b, &w->loop, w->home_b, &w->log) != ENT_OK ||
        ent_node_start(w->a, NULL) != ENT_OK ||
        ent_node_start(w->b, NULL) != ENT_OK)
        goto stop;
    const ent_obj_input in[] = {{"name", "Joint brief", false}};
    if (ent_obj_create(ent_node_objects(w->a), "solution", in, 1, w->obj, &op,
                       err, sizeof(err)) != ENT_OK)
        goto stop;
    ent_node_op_created(w->a, op);
    if (ent_peers_invite(ent_node_peers(w->a), w->obj, ENT_ROLE_MEMBER, 3600,
                         &token, &expiry, iid) != ENT_OK ||
        ent_peers_join(ent_node_peers(w->b), token, strlen(token), &jid, err,
                       sizeof(err)) != ENT_OK)
        goto stop;
    ent_random(file, size);
    if (ent_obj_attach(ent_node_objects(w->a), w->obj, "payload.bin", file,
                       size, &op, err, sizeof(err)) != ENT_OK)
        goto stop;
    ent_node_op_created(w->a, op);
    if (!run_until_listed(w, "payload.bin", 60)) {
        fprintf(stderr, "bench_attach: B never learnt the manifest\n");
        r->failed = 1;
        goto stop;
    }
    double t0 = ent_bench_now(), end = t0 + 300;
    size_t have = 0, total = 1;
    while (have < total && ent_bench_now() < end) {
        if (ent_peers_fetch(ent_node_peers(w->b), w->obj, "payload.bin", &have,
                            &total) != ENT_OK)
            break;
        uv_run(&w->loop, UV_RUN_ONCE);
    }
    uint8_t *got = NULL;
    size_t glen = 0;
    int rc = ent_obj_attachment_read(ent_node_objects(w->b), w->obj,
                                     "payload.bin", &got, &glen);
    double secs = ent_bench_now() - t0;
    if (rc != ENT_OK || glen != size || memcmp(got, file, size) != 0) {
        fprintf(stderr, "bench_attach: B has %zu of %zu chunks: %s\n", have,
                total, ent_strerror(rc));
        r->failed = 1;
    } else {
        ent_bench_add(r, "attachment transfer A->B, loopback",
                      size / secs / 1e6, "MB/s", "xchacha20-poly1305",
                      r->lim.aead_mbs);
    }
    free(got);
stop:
    if (w->a != NULL)
        ent_node_stop(w->a, on_stopped, w);
    if (w->b != NULL)
        ent_node_stop(w->b, on_stopped, w);
    uv_close((uv_handle_t *)&w->wake, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    ent_node_free(w->a);
    ent_node_free(w->b);
    uv_loop_close(&w->loop);
    rm_tree(w->tmp);
out:
    free(token);
    free(file);
    free(w);
}
