/*
 * fault_test.c - storage fault injection across the object engine
 * (spec/reliability.md "Storage fault injection").
 *
 * For each engine operation the test arms ent_store_fail_after(store, n)
 * for n = 1, 2, 3, ... and runs the operation again on the same node (a
 * failed call must leave it exactly as it was). Each round asserts one of:
 *
 *  - the call failed with ENT_EIO (the injected code, propagated as is),
 *    the injected fault fired exactly once, and a dump of every table is
 *    byte-identical to the dump taken before the call (and the engine's
 *    counters did not move); or
 *  - the call succeeded, and then the fault did not fire (n is past the
 *    last write site: the loop ends) and the node's state is complete:
 *    equal to a reference node with the same identity that made the same
 *    calls without faults (show JSON, canonical shared state, entry count
 *    of every table, every stored op reachable through its op-id row), and
 *    a fresh member that syncs from it reaches the same shared state.
 *
 * The number of write sites (puts, dels and the commit) that each operation
 * went through is printed, one line per operation:
 *   fault: NAME: N write sites (P put, D del, C commit)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "protocol/op.h"
#include "tests/object_fixture.h"
#include "storage/op_index.h"

#define FAULT_MAX_SITES 2000 /* a loop that never succeeds is a bug */

/* ---------------------------------------------------------------- nodes */

/* What the store logged: injected faults by site, and write functions that
 * returned ENT_OK over a poisoned transaction (an error swallowed). */
typedef struct fcap {
    unsigned fired, put, del, commit;
    unsigned ignored;
} fcap;

static void cap_sink(void *data, ent_log_level level, const char *line) {
    fcap *c = data;
    if (strstr(line, "injected fault") != NULL) {
        c->fired++;
        if (strstr(line, "storage: put:") != NULL)
            c->put++;
        else if (strstr(line, "storage: del:") != NULL)
            c->del++;
        else if (strstr(line, "storage: commit:") != NULL)
            c->commit++;
    }
    if (strstr(line, "write function ignored") != NULL)
        c->ignored++;
}

typedef struct fnode {
    tnode t;
    ent_log slog; /* the store's logger: captures fault lines */
    fcap cap;
} fnode;

/* As tnode_open, with a store logger that records injected faults. The
 * fnode must not move after this (the logger points into it). */
static void fnode_open(fnode *f, uint8_t s) {
    memset(f, 0, sizeof(*f));
    f->slog.level = ENT_LOG_WARN;
    f->slog.sink = cap_sink;
    f->slog.data = &f->cap;
    f->slog.name = "store";
    assert_int_equal(tnode_open_ex(&f->t, s, ENT_LOG_OFF, &f->slog), 0);
}

static void fnode_close(fnode *f) {
    tnode_close(&f->t);
}

/* ------------------------------------------------------------ the loop */

/* One operation under test, run on node n (arg: the case's own data). */
typedef int (*fault_op)(fnode *n, void *arg);

typedef struct sites {
    unsigned total, put, del, commit;
} sites;

/*
 * Runs op on victim with a fault armed at the n-th write site, n = 1, 2,
 * ..., until it succeeds. Every failure must be ENT_EIO, fire exactly one
 * fault and change nothing (tables and engine counters); the success must
 * fire none, and no write function may swallow an error. Fills *st with the
 * sites that failed. @return NULL, or what went wrong (in why).
 */
static const char *fault_run(fnode *v, fault_op op, void *arg, sites *st,
                             char *why, size_t whylen) {
    memset(st, 0, sizeof(*st));
    for (unsigned n = 1; n < FAULT_MAX_SITES; n++) {
        tdump before = tnode_dump(&v->t), after = {0};
        ent_obj_stats s0, s1;
        ent_obj_stats_get(v->t.eng, &s0);
        fcap c0 = v->cap;
        ent_store_fail_after(v->t.store, n);
        int rc = op(v, arg);
        ent_store_fail_after(v->t.store, 0);
        unsigned fired = v->cap.fired - c0.fired;
        ent_obj_stats_get(v->t.eng, &s1);
        if (rc != ENT_OK)
            after = tnode_dump(&v->t);
        why[0] = '\0';
        if (before.buf == NULL || (rc != ENT_OK && after.buf == NULL))
            snprintf(why, whylen, "site %u: cannot dump the store", n);
        else if (v->cap.ignored != c0.ignored)
            snprintf(why, whylen, "site %u: a write function ignored %s", n,
                     "an injected fault");
        else if (rc == ENT_OK && fired != 0)
            snprintf(why, whylen, "site %u: fault fired but call succeeded", n);
        else if (rc != ENT_OK && rc != ENT_EIO)
            snprintf(why, whylen, "site %u: returned %s, want ENT_EIO", n,
                     ent_err_name(rc));
        else if (rc != ENT_OK && fired != 1)
            snprintf(why, whylen, "site %u: failed with %u faults fired", n,
                     fired);
        else if (rc != ENT_OK && !tdump_equal(&before, &after))
            snprintf(why, whylen, "site %u: failed call changed the database",
                     n);
        else if (rc != ENT_OK && memcmp(&s0, &s1, sizeof(s0)) != 0)
            snprintf(why, whylen, "site %u: failed call moved the counters", n);
        free(before.buf);
        free(after.buf);
        if (why[0] != '\0')
            return why;
        if (rc == ENT_OK)
            return NULL;
        st->total++;
        st->put += v->cap.put - c0.put;
        st->del += v->cap.del - c0.del;
        st->commit += v->cap.commit - c0.commit;
    }
    snprintf(why, whylen, "never succeeded in %u sites", FAULT_MAX_SITES);
    return why;
}

/* fault_run that must pass, with one committed transaction; prints the
 * count of write sites. */
static sites fault_loop(const char *name, fnode *v, fault_op op, void *arg) {
    sites st;
    char why[160];
    const char *bad = fault_run(v, op, arg, &st, why, sizeof(why));
    if (bad != NULL)
        fail_msg("%s: %s", name, bad);
    assert_int_equal(st.commit, 1); /* one transaction per operation */
    printf("fault: %s: %u write sites (%u put, %u del, %u commit)\n", name,
           st.total, st.put, st.del, st.commit);
    fflush(stdout);
    return st;
}

/* ------------------------------------------------------------- checks */

typedef struct counts {
    uint64_t n[ENT_TBL__COUNT];
} counts;

static int counts_fn(ent_txn *txn, void *data) {
    counts *c = data;
    for (int t = 0; t < ENT_TBL__COUNT; t++) {
        int rc = ent_txn_count(txn, (ent_table)t, &c->n[t]);
        if (rc != ENT_OK)
            return rc;
    }
    return ENT_OK;
}

static counts node_counts(fnode *f) {
    counts c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(ent_store_read(f->t.store, counts_fn, &c), ENT_OK);
    return c;
}

/* Every stored op of obj has its op-id row pointing at its ops key. */
typedef struct idx_req {
    const uint8_t *obj;
    size_t n, ok;
} idx_req;

typedef struct idx_scan_ctx {
    ent_txn *txn;
    idx_req *r;
} idx_scan_ctx;

static int idx_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    idx_scan_ctx *c = data;
    uint8_t id[32];
    const void *ref;
    size_t rlen;
    c->r->n++;
    ent_hash(id, val, vlen);
    if (ent_op_index_get(c->txn, id, &ref, &rlen) == ENT_OK && rlen == klen &&
        memcmp(ref, key, klen) == 0)
        c->r->ok++;
    return 0;
}

static int idx_fn(ent_txn *txn, void *data) {
    idx_scan_ctx c = {.txn = txn, .r = data};
    return ent_txn_scan(txn, ENT_TBL_OPS, c.r->obj, 32, idx_scan, &c);
}

static size_t check_op_index(fnode *f, const uint8_t obj[32]) {
    idx_req r = {.obj = obj};
    assert_int_equal(ent_store_read(f->t.store, idx_fn, &r), ENT_OK);
    assert_true(r.n > 0);
    assert_int_equal(r.ok, r.n);
    return r.n;
}

static void assert_same_state(fnode *x, const uint8_t xid[32], fnode *y,
                              const uint8_t yid[32]) {
    uint8_t *s1, *s2;
    size_t l1, l2;
    assert_int_equal(ent_obj_state_encode(x->t.eng, xid, &s1, &l1), ENT_OK);
    assert_int_equal(ent_obj_state_encode(y->t.eng, yid, &s2, &l2), ENT_OK);
    assert_int_equal(l1, l2);
    assert_memory_equal(s1, s2, l1);
    free(s1);
    free(s2);
}

/*
 * The victim v (object vid) holds the same state as reference r (object
 * rid), which made the same calls without faults: show JSON (without "id"
 * when the ids differ), canonical shared state, every table's entry count,
 * the op-id index; with equal ids the full dumps must be identical too.
 */
static void assert_complete(fnode *v, const uint8_t vid[32], fnode *r,
                            const uint8_t rid[32]) {
    json_t *jv, *jr;
    bool same_id = memcmp(vid, rid, 32) == 0;
    assert_int_equal(ent_obj_show_json(v->t.eng, vid, false, &jv), ENT_OK);
    assert_int_equal(ent_obj_show_json(r->t.eng, rid, false, &jr), ENT_OK);
    if (!same_id) {
        json_object_del(jv, "id");
        json_object_del(jr, "id");
    }
    if (!json_equal(jv, jr)) {
        char *a = json_dumps(jv, JSON_SORT_KEYS);
        char *b = json_dumps(jr, JSON_SORT_KEYS);
        print_error("victim:    %s\nreference: %s\n", a, b);
        free(a);
        free(b);
        fail_msg("show JSON differs from the reference");
    }
    json_decref(jv);
    json_decref(jr);
    assert_same_state(v, vid, r, rid);
    counts cv = node_counts(v), cr = node_counts(r);
    for (int t = 0; t < ENT_TBL__COUNT; t++)
        if (cv.n[t] != cr.n[t])
            fail_msg("table %d: %llu entries, reference %llu", t,
                     (unsigned long long)cv.n[t], (unsigned long long)cr.n[t]);
    assert_int_equal(check_op_index(v, vid), check_op_index(r, rid));
    if (same_id) {
        tdump a = tnode_dump(&v->t), b = tnode_dump(&r->t);
        assert_true(tdump_equal(&a, &b));
        free(a.buf);
        free(b.buf);
    }
}

/* A fresh node (seed s) joins v's object as a member and syncs: it must
 * apply every op and reach v's shared state (the ops v committed after
 * faults form a valid, complete history). */
static void assert_peer_converges(fnode *v, const uint8_t id[32], uint8_t s) {
    fnode p;
    fnode_open(&p, s);
    assert_int_equal(
        tnode_join(&v->t, &p.t, id, ENT_ROLE_MEMBER, NULL, NULL), ENT_OK);
    assert_same_state(v, id, &p, id);
    fnode_close(&p);
}

/* ------------------------------------------------------------- inputs */

#define CANARY "CANARY-FAULT-PRIV-77"

static const ent_obj_input create_in[] = {
    {"name", "Acme rollout", false},  {"customer_account", "Acme Corp", false},
    {"region", "emea", false},        {"deal_size", "1200000.50 EUR", true},
    {"internal_notes", CANARY, true},
};

static const ent_obj_input set_in[] = {
    {"next_step", "workshop in March", false},
    {"customer_account", "Acme Europe", false},
    {"deal_size", "1500000.00 EUR", true},
    {"internal_notes", "second private note", true},
};

static const ent_obj_input set_priv_in[] = {
    {"deal_size", "99.00 EUR", true},
};

static void create_obj(fnode *f, uint8_t id[32]) {
    char err[ENT_OBJ_ERR_MAX];
    assert_int_equal(ent_obj_create(f->t.eng, "opportunity", create_in, 5, id,
                                    NULL, err, sizeof(err)),
                     ENT_OK);
}

/* V (seed 1) and its reference R (the same org), each with an object made
 * by create_obj (vid, rid). */
static void vr_open(fnode *v, fnode *r, uint8_t vid[32], uint8_t rid[32]) {
    fnode_open(v, 1);
    fnode_open(r, 1);
    create_obj(v, vid);
    create_obj(r, rid);
}

/* ---------------------------------------------------------- operations */

typedef struct create_arg {
    uint8_t id[32];
} create_arg;

static int op_create(fnode *n, void *arg) {
    create_arg *a = arg;
    char err[ENT_OBJ_ERR_MAX];
    ent_op *op = NULL;
    int rc = ent_obj_create(n->t.eng, "opportunity", create_in, 5, a->id, &op,
                            err, sizeof(err));
    assert_true(rc == ENT_OK ? op != NULL : op == NULL);
    ent_op_free(op);
    return rc;
}

static void test_create(void **state) {
    fnode v, r;
    create_arg a, ra;
    fnode_open(&v, 1);
    fnode_open(&r, 1);
    /* a second object first, so that tables are not empty */
    uint8_t other[32];
    create_obj(&v, other);
    create_obj(&r, other);
    fault_loop("create", &v, op_create, &a);
    assert_int_equal(op_create(&r, &ra), ENT_OK);
    assert_complete(&v, a.id, &r, ra.id);
    assert_peer_converges(&v, a.id, 9);
    fnode_close(&v);
    fnode_close(&r);
}

typedef struct set_arg {
    const uint8_t *id;
    const ent_obj_input *in;
    size_t n;
    bool want_op;
} set_arg;

static int op_set(fnode *n, void *arg) {
    set_arg *a = arg;
    char err[ENT_OBJ_ERR_MAX];
    ent_op *op = NULL;
    int rc = ent_obj_set(n->t.eng, a->id, a->in, a->n, &op, err, sizeof(err));
    if (rc == ENT_OK)
        assert_true(a->want_op ? op != NULL : op == NULL);
    else
        assert_null(op);
    ent_op_free(op);
    return rc;
}

static void test_set(void **state) {
    fnode v, r;
    uint8_t vid[32], rid[32];
    vr_open(&v, &r, vid, rid);
    /* shared + private fields: one op and private rows */
    set_arg a = {.id = vid, .in = set_in, .n = 4, .want_op = true};
    set_arg ra = {.id = rid, .in = set_in, .n = 4, .want_op = true};
    fault_loop("set (shared + private)", &v, op_set, &a);
    assert_int_equal(op_set(&r, &ra), ENT_OK);
    assert_complete(&v, vid, &r, rid);
    /* private only: no op, one private row */
    set_arg p = {.id = vid, .in = set_priv_in, .n = 1, .want_op = false};
    set_arg rp = {.id = rid, .in = set_priv_in, .n = 1, .want_op = false};
    fault_loop("set (private only)", &v, op_set, &p);
    assert_int_equal(op_set(&r, &rp), ENT_OK);
    assert_complete(&v, vid, &r, rid);
    assert_peer_converges(&v, vid, 9);
    fnode_close(&v);
    fnode_close(&r);
}

/* ---- apply_batch and accept_keys: ops received from an author node */

typedef struct received {
    uint8_t id[32];
    tops ops;                /* every op of the author's object */
    ent_op_epoch_key *boxes; /* the epoch keys, sealed to the receiver */
    size_t nboxes;
} received;

/*
 * Author x creates an object, adds the receiver (seed rs) as a member, sets
 * fields, comments and moves the stage; rec gets the ops and key boxes.
 */
static void author_history(fnode *x, uint8_t rs, received *rec) {
    char err[ENT_OBJ_ERR_MAX];
    ent_op *op = NULL;
    fnode tmp;
    fnode_open(&tmp, rs); /* only for its public key */
    memset(rec, 0, sizeof(*rec));
    create_obj(x, rec->id);
    assert_int_equal(ent_obj_add_member(x->t.eng, rec->id, tnode_pk(&tmp.t),
                                        ENT_ROLE_MEMBER, &op, &rec->boxes,
                                        &rec->nboxes),
                     ENT_OK);
    ent_op_free(op);
    fnode_close(&tmp);
    for (int i = 0; i < 3; i++) {
        char text[32];
        snprintf(text, sizeof(text), "step %d", i);
        const ent_obj_input in[] = {{"next_step", text, false}};
        x->t.now += 1000;
        assert_int_equal(
            ent_obj_set(x->t.eng, rec->id, in, 1, NULL, err, sizeof(err)),
            ENT_OK);
    }
    assert_int_equal(ent_obj_comment(x->t.eng, rec->id, "kick-off done", NULL,
                                     err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_obj_stage(x->t.eng, rec->id, "Qualification", NULL,
                                   err, sizeof(err)),
                     ENT_OK);
    rec->ops = tnode_ops(&x->t, rec->id);
    assert_true(rec->ops.n >= 6);
}

static void received_free(received *rec) {
    tops_free(&rec->ops);
    free(rec->boxes);
}

typedef struct batch_arg {
    const uint8_t **raws;
    size_t *lens;
    size_t n;
    int *rcs;
} batch_arg;

static int op_batch(fnode *n, void *arg) {
    batch_arg *a = arg;
    return ent_obj_apply_batch(n->t.eng, a->raws, a->lens, a->n, NULL, a->rcs);
}

/* The batch of rec's ops, in order or reversed (then all but the last are
 * held first and released by the genesis at the end). */
static batch_arg make_batch(const received *rec, bool reverse) {
    batch_arg b = {.n = rec->ops.n};
    b.raws = calloc(b.n, sizeof(*b.raws));
    b.lens = calloc(b.n, sizeof(*b.lens));
    b.rcs = calloc(b.n, sizeof(*b.rcs));
    assert_non_null(b.raws);
    assert_non_null(b.lens);
    assert_non_null(b.rcs);
    for (size_t i = 0; i < b.n; i++) {
        size_t j = reverse ? b.n - 1 - i : i;
        b.raws[i] = rec->ops.raw[j];
        b.lens[i] = rec->ops.len[j];
    }
    return b;
}

static void batch_free(batch_arg *b) {
    free(b->raws);
    free(b->lens);
    free(b->rcs);
}

/* The end of a case where V and its reference R received X's history rec
 * (through b): V is complete and holds X's state; everything is freed. */
static void received_end(fnode *x, fnode *v, fnode *r, received *rec,
                         batch_arg *b) {
    assert_complete(v, rec->id, r, rec->id);
    assert_same_state(v, rec->id, x, rec->id);
    batch_free(b);
    received_free(rec);
    fnode_close(x);
    fnode_close(v);
    fnode_close(r);
}

static void run_batch_case(bool reverse) {
    fnode x, v, r;
    received rec;
    char name[96];
    fnode_open(&x, 3);
    fnode_open(&v, 4);
    fnode_open(&r, 4); /* same org as v */
    author_history(&x, 4, &rec);
    assert_int_equal(
        ent_obj_accept_keys(v.t.eng, rec.id, rec.boxes, rec.nboxes), ENT_OK);
    assert_int_equal(
        ent_obj_accept_keys(r.t.eng, rec.id, rec.boxes, rec.nboxes), ENT_OK);
    batch_arg b = make_batch(&rec, reverse);
    snprintf(name, sizeof(name), "apply_batch (%zu ops, %s)", rec.ops.n,
             reverse ? "reversed: held, then released" : "in order");
    fault_loop(name, &v, op_batch, &b);
    for (size_t i = 0; i < b.n; i++)
        assert_int_equal(b.rcs[i], ENT_OK);
    ent_obj_stats sv, sr;
    ent_obj_stats_get(v.t.eng, &sv);
    assert_int_equal(op_batch(&r, &b), ENT_OK);
    ent_obj_stats_get(r.t.eng, &sr);
    assert_memory_equal(&sv, &sr, sizeof(sv));
    assert_int_equal(sv.applied, rec.ops.n);
    assert_int_equal(sv.rejected, 0);
    received_end(&x, &v, &r, &rec, &b);
}

static void test_apply_batch_in_order(void **state) {
    run_batch_case(false);
}

static void test_apply_batch_reversed(void **state) {
    run_batch_case(true);
}

typedef struct keys_arg {
    const uint8_t *id;
    const ent_op_epoch_key *boxes;
    size_t n;
} keys_arg;

static int op_accept(fnode *n, void *arg) {
    keys_arg *a = arg;
    return ent_obj_accept_keys(n->t.eng, a->id, a->boxes, a->n);
}

/* The joiner receives the object's ops before its keys: every op is held;
 * accept_keys stores the keys and releases them all in one transaction. */
static void test_accept_keys(void **state) {
    fnode x, v, r;
    received rec;
    fnode_open(&x, 3);
    fnode_open(&v, 4);
    fnode_open(&r, 4);
    author_history(&x, 4, &rec);
    batch_arg b = make_batch(&rec, false);
    assert_int_equal(op_batch(&v, &b), ENT_OK);
    assert_int_equal(op_batch(&r, &b), ENT_OK);
    ent_obj_stats sv;
    ent_obj_stats_get(v.t.eng, &sv);
    assert_int_equal(sv.pending, rec.ops.n);
    assert_int_equal(sv.applied, 0);
    keys_arg k = {rec.id, rec.boxes, rec.nboxes};
    char name[96];
    snprintf(name, sizeof(name), "accept_keys (releases %zu held ops)",
             rec.ops.n);
    fault_loop(name, &v, op_accept, &k);
    assert_int_equal(op_accept(&r, &k), ENT_OK);
    ent_obj_stats_get(v.t.eng, &sv);
    assert_int_equal(sv.applied, rec.ops.n);
    received_end(&x, &v, &r, &rec, &b);
}

/* ---- membership */

typedef struct member_arg {
    const uint8_t *id;
    const uint8_t *org;
    ent_op_epoch_key *boxes; /* add: the boxes of the successful call */
    size_t nboxes;
} member_arg;

/* B opens the key boxes of a's successful add to V's object vid and
 * applies every op V holds of it. */
static void b_joins(fnode *b, fnode *v, const uint8_t vid[32],
                    const member_arg *a) {
    assert_int_equal(ent_obj_accept_keys(b->t.eng, vid, a->boxes, a->nboxes),
                     ENT_OK);
    assert_int_equal(tnode_sync(&b->t, &v->t, vid), 0);
}

static int op_add(fnode *n, void *arg) {
    member_arg *a = arg;
    ent_op *op = NULL;
    ent_op_epoch_key *boxes = NULL;
    size_t nb = 0;
    int rc = ent_obj_add_member(n->t.eng, a->id, a->org, ENT_ROLE_MEMBER, &op,
                                &boxes, &nb);
    if (rc == ENT_OK) {
        assert_non_null(op);
        assert_true(nb >= 1);
        free(a->boxes);
        a->boxes = boxes;
        a->nboxes = nb;
    } else {
        assert_null(op);
    }
    ent_op_free(op);
    return rc;
}

static int op_remove(fnode *n, void *arg) {
    member_arg *a = arg;
    ent_op *op = NULL;
    int rc = ent_obj_remove_member(n->t.eng, a->id, a->org, &op);
    if (rc == ENT_OK) {
        assert_non_null(op);
        assert_int_equal(op->h.epoch, 0);
    } else {
        assert_null(op);
    }
    ent_op_free(op);
    return rc;
}

static void test_add_member(void **state) {
    fnode v, r, b;
    uint8_t vid[32], rid[32];
    vr_open(&v, &r, vid, rid);
    fnode_open(&b, 2);
    member_arg a = {.id = vid, .org = tnode_pk(&b.t)};
    member_arg ra = {.id = rid, .org = tnode_pk(&b.t)};
    fault_loop("add_member", &v, op_add, &a);
    assert_int_equal(op_add(&r, &ra), ENT_OK);
    assert_complete(&v, vid, &r, rid);
    /* the boxes of the successful call let B join and converge */
    b_joins(&b, &v, vid, &a);
    assert_same_state(&v, vid, &b, vid);
    free(a.boxes);
    free(ra.boxes);
    fnode_close(&v);
    fnode_close(&r);
    fnode_close(&b);
}

static void test_remove_member(void **state) {
    fnode v, r, b, c;
    uint8_t vid[32], rid[32];
    vr_open(&v, &r, vid, rid);
    fnode_open(&b, 2);
    fnode_open(&c, 5);
    member_arg ab = {.id = vid, .org = tnode_pk(&b.t)};
    member_arg ac = {.id = vid, .org = tnode_pk(&c.t)};
    member_arg rb = {.id = rid, .org = tnode_pk(&b.t)};
    member_arg rc_ = {.id = rid, .org = tnode_pk(&c.t)};
    assert_int_equal(op_add(&v, &ab), ENT_OK);
    assert_int_equal(op_add(&v, &ac), ENT_OK);
    assert_int_equal(op_add(&r, &rb), ENT_OK);
    assert_int_equal(op_add(&r, &rc_), ENT_OK);
    /* B joins v's object before the removal */
    b_joins(&b, &v, vid, &ab);
    fault_loop("remove_member (new epoch for 2 members)", &v, op_remove, &ac);
    assert_int_equal(op_remove(&r, &rc_), ENT_OK);
    assert_complete(&v, vid, &r, rid);
    json_t *j;
    assert_int_equal(ent_obj_show_json(v.t.eng, vid, true, &j), ENT_OK);
    assert_int_equal(json_integer_value(json_object_get(j, "epoch")), 1);
    json_decref(j);
    /* B follows into epoch 1 and converges */
    assert_int_equal(tnode_sync(&b.t, &v.t, vid), 0);
    assert_same_state(&v, vid, &b, vid);
    free(ab.boxes);
    free(ac.boxes);
    free(rb.boxes);
    free(rc_.boxes);
    fnode_close(&v);
    fnode_close(&r);
    fnode_close(&b);
    fnode_close(&c);
}

/* ---- stage, comment, rotate_key: ops whose HLC shows in the state.
 * Each attempt moves the fake clock 1 ms, so the attempt that succeeds has
 * a wall time later than every failed one; the reference makes its one call
 * at that same wall time and must then get the same HLC. */

typedef struct text_arg {
    const uint8_t *id;
    int kind; /* 0: comment, 1: stage, 2: rotate_key */
} text_arg;

static int op_text(fnode *n, void *arg) {
    text_arg *a = arg;
    char err[ENT_OBJ_ERR_MAX];
    ent_op *op = NULL;
    int rc;
    n->t.now += 1;
    if (a->kind == 0)
        rc = ent_obj_comment(n->t.eng, a->id, "pipeline review: go", &op, err,
                             sizeof(err));
    else if (a->kind == 1)
        rc = ent_obj_stage(n->t.eng, a->id, "Solution", &op, err, sizeof(err));
    else
        rc = ent_obj_rotate_key(n->t.eng, a->id, &op);
    assert_true(rc == ENT_OK ? op != NULL : op == NULL);
    ent_op_free(op);
    return rc;
}

static void test_comment_stage_rotate(void **state) {
    static const char *const names[] = {"comment", "stage",
                                        "rotate_key (2 members)"};
    fnode v, r, b;
    uint8_t vid[32], rid[32];
    vr_open(&v, &r, vid, rid);
    fnode_open(&b, 2);
    member_arg ab = {.id = vid, .org = tnode_pk(&b.t)};
    member_arg rb = {.id = rid, .org = tnode_pk(&b.t)};
    assert_int_equal(op_add(&v, &ab), ENT_OK);
    assert_int_equal(op_add(&r, &rb), ENT_OK);
    for (int kind = 0; kind < 3; kind++) {
        text_arg a = {.id = vid, .kind = kind}, ra = {.id = rid, .kind = kind};
        fault_loop(names[kind], &v, op_text, &a);
        r.t.now = v.t.now - 1;
        assert_int_equal(op_text(&r, &ra), ENT_OK);
        assert_complete(&v, vid, &r, rid);
    }
    b_joins(&b, &v, vid, &ab);
    assert_same_state(&v, vid, &b, vid);
    free(ab.boxes);
    free(rb.boxes);
    fnode_close(&v);
    fnode_close(&r);
    fnode_close(&b);
}

/* ---- negative controls: the checker catches each kind of bug */

typedef struct bug_arg {
    int kind; /* 0: two transactions, 1: swallowed error, 2: other code */
    int step;
} bug_arg;

static int bug_fn(ent_txn *txn, void *data) {
    bug_arg *b = data;
    char key[16];
    int rc;
    snprintf(key, sizeof(key), "bug-%d", b->step);
    rc = ent_txn_put(txn, ENT_TBL_CONFIG, key, strlen(key), "x", 1, 0);
    if (b->kind == 1) /* ignores the first put's result */
        rc = ent_txn_put(txn, ENT_TBL_CONFIG, "bug-z", 5, "y", 1, 0);
    if (rc != ENT_OK && b->kind == 2)
        rc = ENT_ECORRUPT;
    return rc;
}

static int op_bug(fnode *n, void *arg) {
    bug_arg *b = arg;
    int rc;
    b->step = 0;
    rc = ent_store_write(n->t.store, bug_fn, b);
    if (rc == ENT_OK && b->kind == 0) { /* a second transaction */
        b->step = 1;
        rc = ent_store_write(n->t.store, bug_fn, b);
    }
    return rc;
}

static void test_checker_catches_bugs(void **state) {
    static const char *const want[] = {"changed the database", "ignored",
                                       "want ENT_EIO"};
    for (int kind = 0; kind < 3; kind++) {
        fnode v;
        sites st;
        char why[160];
        bug_arg b = {.kind = kind};
        fnode_open(&v, 1);
        const char *bad = fault_run(&v, op_bug, &b, &st, why, sizeof(why));
        assert_non_null(bad);
        if (strstr(bad, want[kind]) == NULL)
            fail_msg("control %d: %s", kind, bad);
        fnode_close(&v);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_apply_batch_in_order),
        cmocka_unit_test(test_apply_batch_reversed),
        cmocka_unit_test(test_accept_keys),
        cmocka_unit_test(test_add_member),
        cmocka_unit_test(test_remove_member),
        cmocka_unit_test(test_comment_stage_rotate),
        cmocka_unit_test(test_checker_catches_bugs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
