/*
 * bench_objects.c - object engine throughput: ops created per second
 * (ent_obj_set, one signed, encrypted op committed per call) and ops
 * verified + applied per second (ent_obj_apply_batch of received ops into a
 * second store, one transaction per batch of 1,000). Stores live in a
 * temporary folder on the real disk, so commits are durable as in a node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "node/err.h"
#include "node/objects/object.h"
#include "storage/store.h"
#include "tests/bench/bench.h"
#include "tests/object_fixture.h"

#define BATCH 1000

typedef struct bnode {
    char dir[64];
    ent_store *store;
    ent_identity *id;
    ent_objects *eng;
} bnode;

static void bnode_close(bnode *n) {
    ent_objects_free(n->eng);
    ent_store_close(n->store);
    ent_identity_free(n->id);
    rm_tree(n->dir);
    memset(n, 0, sizeof(*n));
}

/* A store on the real disk (/tmp), as a node's: commits are durable. */
static int bnode_open(bnode *n) {
    memset(n, 0, sizeof(*n));
    if (tmp_dir_at(n->dir, sizeof(n->dir), "/tmp", "bench_obj") != 0)
        return -1;
    if (ent_store_open(&n->store, n->dir, ENT_STORE_CREATE, NULL) != ENT_OK ||
        ent_identity_generate(&n->id) != ENT_OK)
        return -1;
    ent_objects_config cfg = {.store = n->store, .id = n->id};
    return ent_objects_new(&n->eng, &cfg) == ENT_OK ? 0 : -1;
}

void ent_bench_objects(ent_bench_report *r, int quick) {
    bnode a, b;
    uint8_t id[32];
    char err[256], text[64];
    size_t nops = quick ? 400 : 4000;
    tops c = {0};
    ent_op_epoch_key *boxes = NULL;
    size_t nboxes = 0;
    if (ent_crypto_init() != ENT_OK || bnode_open(&a) != 0 ||
        bnode_open(&b) != 0)
        goto out;
    const ent_obj_input in[] = {{"name", "bench", false}};
    if (ent_obj_create(a.eng, "opportunity", in, 1, id, NULL, err,
                       sizeof(err)) != ENT_OK ||
        ent_obj_add_member(a.eng, id, ent_identity_public(b.id),
                           ENT_ROLE_MEMBER, NULL, &boxes, &nboxes) != ENT_OK ||
        ent_obj_accept_keys(b.eng, id, boxes, nboxes) != ENT_OK)
        goto out;

    /* ops created: one set per call, each its own durable commit */
    double t0 = ent_bench_now();
    for (size_t i = 0; i < nops; i++) {
        ent_obj_input s = {"next_step", text, false};
        snprintf(text, sizeof(text), "step %zu", i);
        if (ent_obj_set(a.eng, id, &s, 1, NULL, err, sizeof(err)) != ENT_OK)
            goto out;
    }
    double dt = ent_bench_now() - t0;
    ent_bench_add(r, "ops created", (double)nops / dt, "ops/s", "ed25519 sign",
                  r->lim.sign);
    /* each local op is one durable commit: the disk's commit rate bounds it */
    ent_bench_add(r, "ops created", (double)nops / dt, "ops/s",
                  "lmdb commit", r->lim.lmdb_commit);

    /* ops verified + applied: everything A holds, into B, in batches */
    if (ent_obj_ops_foreach(a.eng, id, tops_cb, &c) != ENT_OK)
        goto out;
    /* ops_foreach yields (author, seq) order: causal for a single author */
    int *rcs = calloc(BATCH, sizeof(*rcs));
    if (rcs == NULL)
        goto out;
    t0 = ent_bench_now();
    for (size_t i = 0; i < c.n; i += BATCH) {
        size_t k = c.n - i < BATCH ? c.n - i : BATCH;
        if (ent_obj_apply_batch(b.eng, (const uint8_t *const *)c.raw + i,
                                c.len + i, k, NULL, rcs) != ENT_OK)
            break;
    }
    dt = ent_bench_now() - t0;
    free(rcs);
    ent_obj_stats st;
    ent_obj_stats_get(b.eng, &st);
    if (st.applied >= c.n - 1) /* all but none refused */
        ent_bench_add(r, "ops verified+applied", (double)c.n / dt, "ops/s",
                      "ed25519 verify", r->lim.verify);
    else
        fprintf(stderr, "bench_objects: only %llu of %zu ops applied\n",
                (unsigned long long)st.applied, c.n);
out:
    tops_free(&c);
    free(boxes);
    bnode_close(&a);
    bnode_close(&b);
}
