/*
 * verify_test.c - signature checks on the libuv thread pool (node/peers/verify.h)
 * and the pre-verified apply entry point (ent_obj_apply_batch_ex).
 *
 * Owner A creates an object, adds member B (who takes the epoch key) and
 * makes N set ops; B receives A's whole history through the pool:
 *   - good ops: every op is verified in the pool, applied with
 *     ent_obj_apply_batch_ex, and B ends with A's exact shared state;
 *   - forged signatures: the pool reports ENT_EBADSIG for exactly the forged
 *     ops and the engine refuses them as before (same return codes as
 *     ent_obj_apply_batch on a third node C, counted as badsig);
 *   - order: batches come back in submission order, each with its ops in
 *     the order given, whatever their sizes;
 *   - the loop stays responsive: a 1 ms uv_timer keeps firing while one
 *     large batch is verified (the longest stall is printed, not asserted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "object_fixture.h"

#include "node/peers/verify.h"

#define NOPS 500 /* set ops made by A (ASan build: a few seconds) */

typedef struct hist {
    uint8_t **raw;
    size_t *len;
    size_t n, cap;
} hist;

static int collect(void *data, const uint8_t *raw, size_t len) {
    hist *h = data;
    if (h->n == h->cap)
        return ENT_ENOMEM;
    if ((h->raw[h->n] = malloc(len)) == NULL)
        return ENT_ENOMEM;
    memcpy(h->raw[h->n], raw, len);
    h->len[h->n++] = len;
    return ENT_OK;
}

typedef struct fix {
    tnode a, b, c;
    uint8_t obj[32];
    hist h; /* A's history, causal (one author: seq order) */
    uv_loop_t loop;
    ent_verifier *v;
} fix;

static int setup(void **state) {
    fix *f = calloc(1, sizeof(*f));
    char err[256], text[64];
    ent_op_epoch_key *boxes = NULL;
    size_t nboxes = 0;
    assert_non_null(f);
    assert_int_equal(tnode_open(&f->a, 1), 0);
    assert_int_equal(tnode_open(&f->b, 2), 0);
    assert_int_equal(tnode_open(&f->c, 3), 0);
    const ent_obj_input in[] = {{"name", "pool", false}};
    assert_int_equal(ent_obj_create(f->a.eng, "opportunity", in, 1, f->obj,
                                    NULL, err, sizeof(err)),
                     ENT_OK);
    for (tnode *m = &f->b; m <= &f->c; m++) {
        assert_int_equal(ent_obj_add_member(f->a.eng, f->obj, tnode_pk(m),
                                            ENT_ROLE_MEMBER, NULL, &boxes,
                                            &nboxes),
                         ENT_OK);
        assert_int_equal(ent_obj_accept_keys(m->eng, f->obj, boxes, nboxes),
                         ENT_OK);
        free(boxes);
        boxes = NULL;
    }
    for (int i = 0; i < NOPS; i++) {
        ent_obj_input s = {"next_step", text, false};
        snprintf(text, sizeof(text), "step %d", i);
        f->a.now += 1;
        assert_int_equal(
            ent_obj_set(f->a.eng, f->obj, &s, 1, NULL, err, sizeof(err)),
            ENT_OK);
    }
    f->h.cap = NOPS + 8;
    f->h.raw = calloc(f->h.cap, sizeof(*f->h.raw));
    f->h.len = calloc(f->h.cap, sizeof(*f->h.len));
    assert_int_equal(ent_obj_ops_foreach(f->a.eng, f->obj, collect, &f->h),
                     ENT_OK);
    assert_int_equal(f->h.n, NOPS + 3); /* create, 2 adds, sets */
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(ent_verifier_new(&f->v, &f->loop, 0), ENT_OK);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fix *f = *state;
    ent_verifier_free(f->v);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    for (size_t i = 0; i < f->h.n; i++)
        free(f->h.raw[i]);
    free(f->h.raw);
    free(f->h.len);
    tnode_close(&f->a);
    tnode_close(&f->b);
    tnode_close(&f->c);
    free(f);
    return 0;
}

/* What one callback saw, in callback order. */
typedef struct seen {
    ent_objects *eng; /* apply into this engine (NULL: do not apply) */
    size_t calls;
    size_t tags[64];   /* data tag of each call */
    size_t ops;        /* ops seen so far over all calls */
    int rcs[NOPS + 8]; /* pool result per op, over all calls */
    int apply_rcs[NOPS + 8];
    uint8_t objs[NOPS + 8][32];
    const hist *h;     /* what was submitted, to compare bytes */
    size_t h_next;     /* next index of h expected */
    bool order_ok;
    int apply_rc;
    void *user; /* test_take_groups_checked_batches: its grab */
} seen;

/* A fresh seen over the history h, applying into eng (NULL: verify only). */
static seen *seen_new(ent_objects *eng, const hist *h) {
    seen *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->eng = eng;
    s->h = h;
    s->order_ok = true;
    return s;
}

/* s saw k calls, tagged 0..k-1 in order, and n ops in order, all ENT_OK. */
static void assert_calls_in_order(const seen *s, size_t k, size_t n) {
    assert_int_equal(s->calls, k);
    for (size_t i = 0; i < k; i++)
        assert_int_equal(s->tags[i], i);
    assert_true(s->order_ok);
    assert_int_equal(s->ops, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(s->rcs[i], ENT_OK);
}

typedef struct tag {
    seen *s;
    size_t id;
} tag;

static void on_done(void *data, const void *owner, const uint8_t *const *raws,
                    const size_t *lens, size_t n, const int *rcs,
                    const uint8_t (*objs)[32], const ent_obj_opened *opened,
                    bool aborted) {
    tag *t = data;
    seen *s = t->s;
    if (aborted) {
        free(t);
        return;
    }
    s->tags[s->calls++ % 64] = t->id;
    bool ok[NOPS + 8];
    for (size_t i = 0; i < n; i++) {
        size_t k = s->h_next++;
        if (k >= s->h->n || lens[i] != s->h->len[k] ||
            memcmp(raws[i], s->h->raw[k], lens[i]) != 0)
            s->order_ok = false;
        s->rcs[s->ops + i] = rcs[i];
        memcpy(s->objs[s->ops + i], objs[i], 32);
        ok[i] = rcs[i] == ENT_OK;
    }
    if (s->eng != NULL) {
        int rc = ent_obj_apply_batch_ex(s->eng, raws, lens, n, ok, opened, NULL,
                                        s->apply_rcs + s->ops);
        if (rc != ENT_OK)
            s->apply_rc = rc;
    }
    s->ops += n;
    (void)owner;
    free(t);
}

static void submit(fix *f, seen *s, size_t id, size_t from, size_t n) {
    tag *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->s = s;
    t->id = id;
    assert_int_equal(ent_verifier_submit(f->v, f, (const uint8_t *const *)
                                                      f->h.raw + from,
                                         f->h.len + from, n, on_done, t),
                     ENT_OK);
}

static void assert_same_state(tnode *x, tnode *y, const uint8_t obj[32]) {
    uint8_t *e1 = NULL, *e2 = NULL;
    size_t l1 = 0, l2 = 0;
    assert_int_equal(ent_obj_state_encode(x->eng, obj, &e1, &l1), ENT_OK);
    assert_int_equal(ent_obj_state_encode(y->eng, obj, &e2, &l2), ENT_OK);
    assert_int_equal(l1, l2);
    assert_memory_equal(e1, e2, l1);
    free(e1);
    free(e2);
}

/* Good ops: all verified in the pool, applied pre-verified, same state. */
static void test_pool_applies_good_ops(void **state) {
    fix *f = *state;
    seen *s = seen_new(f->b.eng, &f->h);
    for (size_t i = 0, k = 0; i < f->h.n; i += 256, k++)
        submit(f, s, k, i, f->h.n - i < 256 ? f->h.n - i : 256);
    assert_int_equal(ent_verifier_pending(f->v, NULL), (f->h.n + 255) / 256);
    assert_int_equal(ent_verifier_pending(f->v, f), (f->h.n + 255) / 256);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(ent_verifier_pending(f->v, NULL), 0);
    assert_int_equal(s->ops, f->h.n);
    assert_true(s->order_ok);
    assert_int_equal(s->apply_rc, ENT_OK);
    for (size_t i = 0; i < f->h.n; i++) {
        assert_int_equal(s->rcs[i], ENT_OK);
        assert_int_equal(s->apply_rcs[i], ENT_OK);
        assert_memory_equal(s->objs[i], f->obj, 32);
    }
    ent_obj_stats st;
    ent_obj_stats_get(f->b.eng, &st);
    /* B's own add op included: it applies every op of A's history */
    assert_int_equal(st.applied, f->h.n);
    assert_int_equal(st.rejected, 0);
    assert_int_equal(ent_verifier_ops(f->v), f->h.n);
    /* A's history is one chain (each op names A's previous one): each job
     * checks one signature, of its newest op, and vouches for the rest */
    size_t nbatches = (f->h.n + 255) / 256;
    assert_true(ent_verifier_checks(f->v) >= nbatches);
    assert_true(ent_verifier_checks(f->v) <= nbatches * (256 / 16));
    assert_true(ent_verifier_checks(f->v) * 8 < f->h.n);
    assert_same_state(&f->a, &f->b, f->obj);
    free(s);
}

/* Submits A's history to B's engine in batches of 256 with keys. */
static void submit_all_keys(fix *f, seen *s, const ent_obj_key *keys,
                            size_t nkeys) {
    for (size_t i = 0, k = 0; i < f->h.n; i += 256, k++) {
        tag *t = calloc(1, sizeof(*t));
        assert_non_null(t);
        t->s = s;
        t->id = k;
        size_t n = f->h.n - i < 256 ? f->h.n - i : 256;
        assert_int_equal(ent_verifier_submit_keys(
                             f->v, f, (const uint8_t *const *)f->h.raw + i,
                             f->h.len + i, n, keys, nkeys, on_done, t),
                         ENT_OK);
    }
}

/*
 * With B's epoch keys the pool also decrypts: every op's body is opened
 * off the loop and the engine, given them, reaches A's exact state. With
 * a key that opens nothing, nothing is opened in the pool and the engine
 * decrypts itself: same state.
 */
static void test_pool_decrypts(void **state) {
    fix *f = *state;
    ent_obj_key *keys = NULL;
    size_t nkeys = 0;
    assert_int_equal(ent_obj_epoch_keys(f->b.eng, f->obj, &keys, &nkeys),
                     ENT_OK);
    assert_int_equal(nkeys, 1);
    assert_int_equal(keys[0].epoch, 0);
    seen *s = seen_new(f->b.eng, &f->h);
    submit_all_keys(f, s, keys, nkeys);
    ent_obj_keys_free(keys, nkeys);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_true(s->order_ok);
    assert_int_equal(s->ops, f->h.n);
    assert_int_equal(ent_verifier_opened(f->v), f->h.n);
    for (size_t i = 0; i < f->h.n; i++)
        assert_int_equal(s->apply_rcs[i], ENT_OK);
    assert_same_state(&f->a, &f->b, f->obj);

    /* C, with a wrong key of epoch 0 handed to the pool */
    ent_obj_key wrong = {.epoch = 0};
    ent_random(wrong.key, sizeof(wrong.key));
    memset(s, 0, sizeof(*s));
    s->eng = f->c.eng;
    s->h = &f->h;
    s->order_ok = true;
    submit_all_keys(f, s, &wrong, 1);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(s->ops, f->h.n);
    assert_int_equal(ent_verifier_opened(f->v), f->h.n); /* none more */
    for (size_t i = 0; i < f->h.n; i++)
        assert_int_equal(s->apply_rcs[i], ENT_OK);
    assert_same_state(&f->a, &f->c, f->obj);
    free(s);
}

/* Forged signatures: refused exactly as by ent_obj_apply_batch. */
static void test_pool_rejects_forged(void **state) {
    fix *f = *state;
    size_t forged[] = {5, 77, 300, 301, 450};
    size_t nf = sizeof(forged) / sizeof(forged[0]);
    for (size_t k = 0; k < nf; k++)
        f->h.raw[forged[k]][f->h.len[forged[k]] - 1] ^= 0x01; /* in the sig */
    seen *s = seen_new(f->b.eng, &f->h);
    submit(f, s, 0, 0, 400); /* one batch, split over the pool's jobs */
    submit(f, s, 1, 400, f->h.n - 400);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_true(s->order_ok);
    assert_int_equal(s->ops, f->h.n);
    /* the same ops through the engine's own checks, on C */
    int *ref = calloc(f->h.n, sizeof(*ref));
    assert_int_equal(ent_obj_apply_batch(f->c.eng,
                                         (const uint8_t *const *)f->h.raw,
                                         f->h.len, f->h.n, NULL, ref),
                     ENT_OK);
    size_t bad = 0;
    for (size_t i = 0; i < f->h.n; i++) {
        bool is_forged = false;
        for (size_t k = 0; k < nf; k++)
            is_forged |= forged[k] == i;
        assert_int_equal(s->rcs[i], is_forged ? ENT_EBADSIG : ENT_OK);
        assert_int_equal(s->apply_rcs[i], ref[i]);
        if (is_forged)
            assert_int_equal(s->apply_rcs[i], ENT_EBADSIG);
        bad += s->apply_rcs[i] == ENT_EBADSIG;
    }
    assert_int_equal(bad, nf);
    ent_obj_stats sb, sc;
    ent_obj_stats_get(f->b.eng, &sb);
    ent_obj_stats_get(f->c.eng, &sc);
    assert_int_equal(sb.badsig, nf);
    assert_int_equal(sb.badsig, sc.badsig);
    assert_int_equal(sb.applied, sc.applied);
    assert_int_equal(sb.pending, sc.pending);
    assert_int_equal(sb.rejected, sc.rejected);
    /* ops after a forged one are held (their parent is missing) on both */
    assert_true(sb.pending > 0);
    assert_same_state(&f->b, &f->c, f->obj);
    free(ref);
    free(s);
}

/* Batches of very different sizes come back in submission order. */
static void test_pool_keeps_order(void **state) {
    fix *f = *state;
    seen *s = seen_new(NULL, &f->h); /* verify only */
    size_t sizes[] = {200, 1, 3, 150, 1, 17, 64, 1};
    size_t from = 0, k = 0;
    for (; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        submit(f, s, k, from, sizes[k]);
        from += sizes[k];
    }
    submit(f, s, k++, from, f->h.n - from);
    /* detaching an owner keeps the batches, without their owner */
    ent_verifier_detach(f->v, f);
    assert_int_equal(ent_verifier_pending(f->v, f), 0);
    assert_int_equal(ent_verifier_pending(f->v, NULL), k);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_calls_in_order(s, k, f->h.n);
    free(s);
}

typedef struct ticker {
    uv_timer_t t;
    ent_verifier *v;
    uint64_t last_ns, max_gap_ns;
    size_t ticks_busy; /* ticks while a batch was in the pool */
} ticker;

static void on_tick(uv_timer_t *t) {
    ticker *k = t->data;
    uint64_t now = uv_hrtime();
    if (now - k->last_ns > k->max_gap_ns)
        k->max_gap_ns = now - k->last_ns;
    k->last_ns = now;
    if (ent_verifier_pending(k->v, NULL) > 0)
        k->ticks_busy++;
    else
        uv_timer_stop(t);
}

/* The loop keeps running timers while a large batch is verified. */
static void test_loop_stays_responsive(void **state) {
    fix *f = *state;
    seen *s = seen_new(NULL, &f->h);
    ticker k = {.v = f->v};
    uv_timer_init(&f->loop, &k.t);
    k.t.data = &k;
    /* one batch: every op of the history, as one OPS backlog */
    uint64_t t0 = uv_hrtime();
    submit(f, s, 0, 0, f->h.n);
    k.last_ns = uv_hrtime();
    uv_timer_start(&k.t, on_tick, 1, 1);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    double pool_ms = (double)(uv_hrtime() - t0) / 1e6;
    uv_close((uv_handle_t *)&k.t, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(s->ops, f->h.n);
    assert_true(k.ticks_busy > 0);
    /* the same checks on the loop thread, for comparison */
    t0 = uv_hrtime();
    for (size_t i = 0; i < f->h.n; i++) {
        ent_op *op = NULL;
        assert_int_equal(ent_op_decode(&op, f->h.raw[i], f->h.len[i]), ENT_OK);
        assert_int_equal(ent_op_verify(op), ENT_OK);
        ent_op_free(op);
    }
    double inline_ms = (double)(uv_hrtime() - t0) / 1e6;
    printf("verify_test: %zu ops: pool %.1f ms, timer ticks while busy %zu, "
           "longest loop stall %.2f ms (inline on the loop: %.1f ms)\n",
           f->h.n, pool_ms, k.ticks_busy, (double)k.max_gap_ns / 1e6,
           inline_ms);
    free(s);
}

/* Group commit (ent_verifier_take): a callback takes the checked batches
 * behind it; each is handled once, in submission order, and its own
 * callback never runs. */
typedef struct grab {
    fix *f;
    seen *s;
    size_t taken, groups;
} grab;

static void on_group(void *data, const void *owner,
                     const uint8_t *const *raws, const size_t *lens, size_t n,
                     const int *rcs, const uint8_t (*objs)[32],
                     const ent_obj_opened *opened, bool aborted);

static void handle(tag *t, const uint8_t *const *raws, const size_t *lens,
                   size_t n, const int *rcs, const uint8_t (*objs)[32],
                   const ent_obj_opened *opened) {
    on_done(t, NULL, raws, lens, n, rcs, objs, opened, false); /* frees t */
}

static grab *g_of(void *data) { return ((tag *)data)->s->user; }

static void on_group(void *data, const void *owner,
                     const uint8_t *const *raws, const size_t *lens, size_t n,
                     const int *rcs, const uint8_t (*objs)[32],
                     const ent_obj_opened *opened, bool aborted) {
    tag *t = data;
    if (aborted) {
        free(t);
        return;
    }
    grab *g = g_of(t);
    handle(t, raws, lens, n, rcs, objs, opened);
    ent_verified more;
    g->groups++;
    while (ent_verifier_take(g->f->v, on_group, &more)) {
        assert_ptr_equal(more.owner, g->f);
        handle(more.data, more.raws, more.lens, more.n, more.rcs, more.objs,
               more.opened);
        ent_verified_free(&more);
        g->taken++;
    }
    (void)owner;
}

static void test_take_groups_checked_batches(void **state) {
    fix *f = *state;
    seen *s = seen_new(NULL, &f->h); /* verify only */
    grab g = {.f = f, .s = s};
    s->user = &g;
    /* nothing is checked yet: nothing to take */
    ent_verified none;
    assert_false(ent_verifier_take(f->v, on_group, &none));
    size_t k = 6, per = f->h.n / k, from = 0;
    for (size_t i = 0; i < k; i++) {
        size_t n = i + 1 < k ? per : f->h.n - from;
        tag *t = calloc(1, sizeof(*t));
        assert_non_null(t);
        t->s = s;
        t->id = i;
        assert_int_equal(
            ent_verifier_submit(f->v, f,
                                (const uint8_t *const *)f->h.raw + from,
                                f->h.len + from, n, on_group, t),
            ENT_OK);
        from += n;
    }
    /* let the pool finish every batch before the loop runs any callback:
     * the first callback then takes the other five, whose after_work has
     * not run yet (they are freed when it does) */
    for (int i = 0; i < 400; i++)
        uv_sleep(10);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_calls_in_order(s, k, f->h.n);
    assert_int_equal(g.groups + g.taken, k);
    assert_int_equal(g.groups, 1);
    assert_int_equal(ent_verifier_pending(f->v, NULL), 0);
    assert_int_equal(ent_verifier_ops(f->v), f->h.n);
    free(s);
}

/* Freeing the verifier with batches in flight: callbacks say aborted. */
typedef struct abort_count {
    size_t aborted, normal;
} abort_count;

static void on_abort(void *data, const void *owner, const uint8_t *const *raws,
                     const size_t *lens, size_t n, const int *rcs,
                     const uint8_t (*objs)[32], const ent_obj_opened *opened,
                     bool aborted) {
    abort_count *a = data;
    if (aborted)
        a->aborted++;
    else
        a->normal++;
}

static void test_free_with_batches_in_flight(void **state) {
    fix *f = *state;
    abort_count a = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(ent_verifier_submit(f->v, NULL,
                                             (const uint8_t *const *)f->h.raw,
                                             f->h.len, f->h.n, on_abort, &a),
                         ENT_OK);
    ent_verifier_free(f->v);
    f->v = NULL;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(a.aborted, 3);
    assert_int_equal(a.normal, 0);
    assert_int_equal(ent_verifier_new(&f->v, &f->loop, 2), ENT_OK);
}

/* Seals a set of next_step on obj in a's name with the epoch-0 key; with
 * broken, one byte of its signature is then flipped (a new id). */
static ent_op *forge(fix *f, const uint8_t key[32], uint64_t seq,
                     const uint8_t (*parents)[32], size_t np, bool broken,
                     const char *text) {
    ent_op *d = NULL;
    ent_op_field fl = tfield_text("next_step", text, false);
    ent_op *op = tforge_set(f->a.id, f->obj, &fl, seq,
                            ((f->a.now + seq) << 16) + 1, 0, parents, np, key);
    assert_non_null(op);
    if (!broken)
        return op;
    op->raw[op->rawlen - 3] ^= 0x20;
    assert_int_equal(ent_op_decode(&d, op->raw, op->rawlen), ENT_OK);
    assert_int_equal(ent_op_verify(d), ENT_EBADSIG);
    ent_op_free(op);
    return d;
}

/*
 * An op whose own signature is broken but that a correctly signed later op
 * of the same author names as a parent is authentic (spec/records.md
 * §2.5), by whatever path it arrives: in one pooled batch with its
 * voucher, or alone after the voucher was held for want of it. Alone and
 * unvouched, it is refused. B and C end identical.
 */
static void test_vouched_chain(void **state) {
    fix *f = *state;
    ent_op_header heads;
    uint8_t key[32];
    assert_int_equal(tstore_epoch_key(f->a.store, f->obj, 0, key), ENT_OK);
    assert_int_equal(tstore_heads(f->a.store, f->obj, &heads), ENT_OK);
    assert_int_equal(tnode_sync(&f->b, &f->a, f->obj), 0);
    assert_int_equal(tnode_sync(&f->c, &f->a, f->obj), 0);
    uint64_t seq = NOPS + 4; /* create, two adds, NOPS sets */
    ent_op *o1 = forge(f, key, seq, heads.parents, heads.nparents, true,
                       "vouched for");
    ent_op *o2 = forge(f, key, seq + 1, &o1->id, 1, false, "voucher");
    const uint8_t *raws[2] = {o1->raw, o2->raw};
    size_t lens[2] = {o1->rawlen, o2->rawlen};

    /* C: the broken op alone is refused (nothing vouches for it) */
    assert_int_equal(ent_obj_apply(f->c.eng, o1->raw, o1->rawlen, NULL),
                     ENT_EBADSIG);
    /* then the voucher alone is held, and the broken op, arriving again,
     * is vouched for by it: both applied */
    ent_apply_info info;
    assert_int_equal(ent_obj_apply(f->c.eng, o2->raw, o2->rawlen, &info),
                     ENT_OK);
    assert_true(info.pending);
    assert_int_equal(ent_obj_apply(f->c.eng, o1->raw, o1->rawlen, &info),
                     ENT_OK);
    assert_false(info.pending);
    assert_int_equal(info.released, 1);

    /* B: both in one batch through the pool */
    hist h2 = {.raw = (uint8_t **)raws, .len = lens, .n = 2, .cap = 2};
    seen *s = seen_new(f->b.eng, &h2);
    tag *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->s = s;
    assert_int_equal(ent_verifier_submit(f->v, f, raws, lens, 2, on_done, t),
                     ENT_OK);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(s->ops, 2);
    assert_int_equal(s->rcs[0], ENT_OK);
    assert_int_equal(s->rcs[1], ENT_OK);
    assert_int_equal(s->apply_rcs[0], ENT_OK);
    assert_int_equal(s->apply_rcs[1], ENT_OK);
    assert_int_equal(ent_verifier_checks(f->v), 1);
    assert_same_state(&f->b, &f->c, f->obj);

    /* the engine's own batch path (no pool) vouches the same way, and a
     * forged op of A's that nothing names stays refused */
    ent_op *lone = forge(f, key, seq + 2, &o2->id, 1, true, "forged");
    int rcs[3];
    const uint8_t *raws3[3] = {o1->raw, o2->raw, lone->raw};
    size_t lens3[3] = {o1->rawlen, o2->rawlen, lone->rawlen};
    assert_int_equal(ent_obj_apply_batch(f->b.eng, raws3, lens3, 3, NULL, rcs),
                     ENT_OK);
    assert_int_equal(rcs[0], ENT_OK); /* duplicates on B */
    assert_int_equal(rcs[1], ENT_OK);
    assert_int_equal(rcs[2], ENT_EBADSIG);
    ent_op_free(lone);
    ent_op_free(o1);
    ent_op_free(o2);
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pool_applies_good_ops, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pool_rejects_forged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pool_keeps_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_loop_stays_responsive, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_free_with_batches_in_flight,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_groups_checked_batches,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_vouched_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_decrypts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
