/*
 * bench_work.c - the cost of workflow rules (spec/workflows.md): 10,000
 * ops applied by a member's engine on an object whose rules govern its
 * stage and an owned field, against the same ops on an object of a type
 * without rules, in one run. Each round of ten ops is seven writes of a
 * plain field, one of the owned field, one stage move and one approve op
 * (on the object without rules, a comment takes the approve op's place:
 * such an object has no step to approve). The moves cycle Draft ->
 * Submitted -> Approved (needing the owner's approval, given just before)
 * -> Draft. Reported: both rates and the cost of the rules, 1 - with/without
 * (the bound: at most 15 %).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "node/err.h"
#include "node/objects/object.h"
#include "node/objects/template.h"
#include "storage/store.h"
#include "tests/bench/bench.h"
#include "tests/object_fixture.h"

#define BATCH 1000

#define WB_TPL                                                                 \
    "{\"type\":\"%s\",\"fields\":["                                            \
    "{\"name\":\"name\",\"type\":\"text\",\"visibility\":\"shared\"},"         \
    "{\"name\":\"next_step\",\"type\":\"text\",\"visibility\":\"shared\"},"    \
    "{\"name\":\"amount_approved\",\"type\":\"money\","                        \
    "\"visibility\":\"shared\"},"                                              \
    "{\"name\":\"amount_requested\",\"type\":\"money\","                       \
    "\"visibility\":\"shared\"},"                                              \
    "{\"name\":\"stage\",\"type\":\"enum\",\"visibility\":\"shared\","         \
    "\"default\":\"Draft\"}],"                                                 \
    "\"stages\":[\"Draft\",\"Submitted\",\"Approved\"]%s}"

#define WB_FLOW                                                                \
    ",\"workflow\":{\"transitions\":["                                         \
    "{\"from\":\"Draft\",\"to\":\"Submitted\"},"                               \
    "{\"from\":\"Submitted\",\"to\":\"Approved\",\"approvals\":"              \
    "[{\"step\":\"ok\",\"by\":\"owner\",\"self\":true}]},"                    \
    "{\"from\":\"Approved\",\"to\":\"Draft\",\"who\":[\"owner\"]}],"          \
    "\"field_owners\":{\"amount_approved\":\"owner\"},"                        \
    "\"limits\":{\"amount_approved\":\"amount_requested\"}}"

typedef struct wnode {
    char dir[64];
    ent_store *store;
    ent_identity *id;
    ent_objects *eng;
} wnode;

static void wnode_close(wnode *n) {
    ent_objects_free(n->eng);
    ent_store_close(n->store);
    ent_identity_free(n->id);
    if (n->dir[0])
        rm_tree(n->dir);
    memset(n, 0, sizeof(*n));
}

/* A store under base: the applier's on the real disk (/tmp), as a node's;
 * the author's, whose 10,000 single-op commits only prepare the input, in
 * memory (/dev/shm) when there is one. */
static int wnode_open(wnode *n, const char *base) {
    memset(n, 0, sizeof(*n));
    if (access(base, W_OK) != 0)
        base = "/tmp";
    if (tmp_dir_at(n->dir, sizeof(n->dir), base, "bench_work") != 0)
        return -1;
    if (ent_store_open(&n->store, n->dir, ENT_STORE_CREATE, NULL) != ENT_OK ||
        ent_identity_generate(&n->id) != ENT_OK)
        return -1;
    ent_objects_config cfg = {.store = n->store, .id = n->id};
    return ent_objects_new(&n->eng, &cfg) == ENT_OK ? 0 : -1;
}

static int tpl_fn(ent_txn *txn, void *data) {
    json_error_t je;
    ent_template *t = NULL;
    char err[256];
    json_t *j = json_loads(data, 0, &je);
    if (j == NULL)
        return ENT_EINVAL;
    int rc = ent_template_from_json(j, &t, err, sizeof(err));
    json_decref(j);
    if (rc == ENT_OK)
        rc = ent_template_put(txn, t);
    ent_template_free(t);
    return rc;
}

/* The member every run adds, and whose identity each applying node takes. */
static const uint8_t member_seed[32] = {7, 7, 7};
static uint8_t member_pk[32];

/* A fresh member node (the member's identity, on the real disk) applies
 * every op of c in batches; returns its ops/s, 0 when not every op applied
 * or its state differs from a's. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double apply_all(wnode *a, const uint8_t id[32], tops *c,
                        const ent_op_epoch_key *boxes, size_t nboxes,
                        const char *tpl, double *cpu_rate) {
    wnode b;
    double rate = 0;
    int *rcs = calloc(BATCH, sizeof(*rcs));
    if (rcs == NULL || wnode_open(&b, "/tmp") != 0 ||
        ent_store_write(b.store, tpl_fn, (void *)tpl) != ENT_OK)
        goto out;
    ent_objects_free(b.eng);
    ent_identity_free(b.id);
    b.eng = NULL;
    ent_objects_config cfg = {.store = b.store};
    if (ent_identity_from_seed(&b.id, member_seed) != ENT_OK)
        goto out;
    cfg.id = b.id;
    if (ent_objects_new(&b.eng, &cfg) != ENT_OK ||
        ent_obj_accept_keys(b.eng, id, boxes, nboxes) != ENT_OK)
        goto out;
    double t0 = ent_bench_now(), c0 = cpu_now();
    for (size_t i = 0; i < c->n; i += BATCH) {
        size_t k = c->n - i < BATCH ? c->n - i : BATCH;
        if (ent_obj_apply_batch(b.eng, (const uint8_t *const *)c->raw + i,
                                c->len + i, k, NULL, rcs) != ENT_OK)
            goto out;
    }
    double dt = ent_bench_now() - t0, dc = cpu_now() - c0;
    ent_obj_stats st;
    ent_obj_stats_get(b.eng, &st);
    uint8_t *sa = NULL, *sb = NULL;
    size_t la = 0, lb = 0;
    bool same = ent_obj_state_encode(a->eng, id, &sa, &la) == ENT_OK &&
                ent_obj_state_encode(b.eng, id, &sb, &lb) == ENT_OK &&
                la == lb && memcmp(sa, sb, la) == 0;
    free(sa);
    free(sb);
    if (getenv("WB_DEBUG"))
        fprintf(stderr, "apply: applied %llu pending %llu rejected %llu "
                        "wf_denied %llu wf_ignored %llu n %zu wall %.3f cpu "
                        "%.3f\n",
                (unsigned long long)st.applied,
                (unsigned long long)st.pending,
                (unsigned long long)st.rejected,
                (unsigned long long)st.wf_denied,
                (unsigned long long)st.wf_ignored, c->n, dt, dc);
    if (st.applied + 2 >= c->n && same) { /* genesis, add: with the keys */
        rate = (double)c->n / dt;
        *cpu_rate = (double)c->n / dc;
    }
    else
        fprintf(stderr, "bench_work: %llu of %zu ops applied, states %s\n",
                (unsigned long long)st.applied, c->n,
                same ? "equal" : "differ");
out:
    free(rcs);
    wnode_close(&b);
    return rate;
}

/* The input of one configuration: the author's node, the object, its ops,
 * the member's key boxes and the template. */
typedef struct winput {
    wnode a;
    uint8_t id[32];
    tops c;
    ent_op_epoch_key *boxes;
    size_t nboxes;
    char tpl[2048];
} winput;

static void winput_free(winput *w) {
    tops_free(&w->c);
    free(w->boxes);
    wnode_close(&w->a);
}

/* A makes nops ops on a new object of type (rules: with the approve ops).
 * @return 0, or -1 (winput_free frees what was made). */
static int prepare(winput *w, const char *type, bool rules, size_t nops) {
    char err[256], text[64];
    static const char *const cycle[] = {"Submitted", "Approved", "Draft"};
    memset(w, 0, sizeof(*w));
    snprintf(w->tpl, sizeof(w->tpl), WB_TPL, type, rules ? WB_FLOW : "");
    if (wnode_open(&w->a, "/dev/shm") != 0 ||
        ent_store_write(w->a.store, tpl_fn, w->tpl) != ENT_OK)
        return -1;
    const ent_obj_input in[] = {{"name", "bench", false}};
    if (ent_obj_create(w->a.eng, type, in, 1, w->id, NULL, err,
                       sizeof(err)) != ENT_OK ||
        ent_obj_add_member(w->a.eng, w->id, member_pk, ENT_ROLE_MEMBER, NULL,
                           &w->boxes, &w->nboxes) != ENT_OK)
        return -1;
    size_t moves = 0;
    for (size_t i = 0; i < nops; i++) {
        int rc;
        ent_obj_input s = {"next_step", text, false};
        snprintf(text, sizeof(text), "step %zu", i);
        switch (i % 10) {
        case 6: /* the bound of the limited field */
            s.name = "amount_requested";
            snprintf(text, sizeof(text), "%zu EUR", 1000 + i);
            rc = ent_obj_set(w->a.eng, w->id, &s, 1, NULL, err, sizeof(err));
            break;
        case 7: /* owned and limited (spec/workflows.md §8) */
            s.name = "amount_approved";
            snprintf(text, sizeof(text), "%zu EUR", 500 + i);
            rc = ent_obj_set(w->a.eng, w->id, &s, 1, NULL, err, sizeof(err));
            break;
        case 8:
            rc = rules ? ent_obj_approve(w->a.eng, w->id, "ok", false, NULL,
                                         NULL, err, sizeof(err))
                       : ent_obj_comment(w->a.eng, w->id, "ok", NULL, err,
                                         sizeof(err));
            break;
        case 9:
            rc = ent_obj_stage(w->a.eng, w->id, cycle[moves++ % 3], NULL, err,
                               sizeof(err));
            break;
        default:
            rc = ent_obj_set(w->a.eng, w->id, &s, 1, NULL, err, sizeof(err));
        }
        if (rc != ENT_OK) {
            fprintf(stderr, "bench_work: op %zu: %s: %s\n", i,
                    ent_err_name(rc), err);
            return -1;
        }
    }
    return ent_obj_ops_foreach(w->a.eng, w->id, tops_cb, &w->c) == ENT_OK
               ? 0
               : -1;
}

void ent_bench_work(ent_bench_report *r, int quick) {
    size_t nops = quick ? 2000 : 10000;
    ent_identity *m = NULL;
    if (ent_crypto_init() != ENT_OK ||
        ent_identity_from_seed(&m, member_seed) != ENT_OK)
        return;
    memcpy(member_pk, ent_identity_public(m), 32);
    ent_identity_free(m);
    winput wp, wr;
    double plain = 0, ruled = 0, plain_cpu = 0, ruled_cpu = 0;
    memset(&wp, 0, sizeof(wp));
    memset(&wr, 0, sizeof(wr));
    if (prepare(&wp, "wb_plain", false, nops) == 0 &&
        prepare(&wr, "wb_rules", true, nops) == 0) {
        /* the best of five applies of each, taken in turn (each into a
         * fresh member node), so that both meet the same disk */
        for (int round = 0; round < 5; round++) {
            double pc = 0, qc = 0;
            double p = apply_all(&wp.a, wp.id, &wp.c, wp.boxes, wp.nboxes,
                                 wp.tpl, &pc);
            double q = apply_all(&wr.a, wr.id, &wr.c, wr.boxes, wr.nboxes,
                                 wr.tpl, &qc);
            if (p <= 0 || q <= 0) {
                plain = ruled = 0;
                break;
            }
            plain = p > plain ? p : plain;
            ruled = q > ruled ? q : ruled;
            plain_cpu = pc > plain_cpu ? pc : plain_cpu;
            ruled_cpu = qc > ruled_cpu ? qc : ruled_cpu;
        }
    }
    winput_free(&wp);
    winput_free(&wr);
    if (plain <= 0 || ruled <= 0) {
        r->failed = 1;
        return;
    }
    ent_bench_add(r, "ops applied, object without rules", plain, "ops/s",
                  "ed25519 verify", r->lim.verify);
    ent_bench_add(r, "ops applied, object with rules", ruled, "ops/s",
                  "no rules", plain);
    /* the cost of the checks, on the applying thread's CPU time (the
     * disk's commit time, shared with everything else, is left out):
     * 1 - with/without, bound 15 % (issue 15) */
    ent_bench_add(r, "ops applied (CPU), without rules", plain_cpu, "ops/s",
                  "-", 0);
    ent_bench_add(r, "ops applied (CPU), with rules", ruled_cpu, "ops/s",
                  "no rules", plain_cpu);
    double cost = 100.0 * (1.0 - ruled_cpu / plain_cpu);
    ent_bench_add(r, "workflow rules cost (CPU %, bound 15)", cost, "%", "-",
                  0);
    fprintf(stderr,
            "bench_work: %zu ops: %.0f ops/s without rules, %.0f with "
            "(wall); CPU: %.0f, %.0f: cost %.1f %%\n",
            nops, plain, ruled, plain_cpu, ruled_cpu, cost);
}
