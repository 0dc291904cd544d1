/*
 * verify.c - the verification pool: received ops' signatures are checked
 * (chain authentication, spec/records.md §2.5) and their bodies opened on
 * the libuv thread pool, and the results handed back to the loop in
 * arrival order for the engine's batch apply. See verify.h.
 */
#include "node/peers/verify.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "protocol/op.h"

#define MIN_CHUNK 16 /* fewer ops than this per job are not worth a job */

typedef struct vbatch vbatch;

/* One chunk of a batch: ops [from, to). */
typedef struct vjob {
    uv_work_t req;
    vbatch *b;
    size_t from, to;
} vjob;

struct vbatch {
    vbatch *next;
    ent_verifier *v; /* NULL: the verifier was freed */
    const void *owner;
    bool has_owner;
    ent_verify_cb cb;
    void *data;
    size_t n;
    uint8_t *buf; /* every op's bytes, back to back */
    const uint8_t **raws;
    size_t *lens;
    int *rcs;
    uint8_t (*objs)[32];
    ent_obj_key *keys; /* copies of the object's epoch keys (may be NULL) */
    size_t nkeys;
    ent_obj_opened *opened; /* bodies the jobs opened (NULL without keys);
                               each owned by the batch, wiped on free */
    unsigned njobs, left;
    atomic_uint worked; /* jobs whose work() returned (pool threads) */
    atomic_size_t checks; /* signature checks its jobs made */
    atomic_size_t nopened; /* bodies its jobs opened */
    bool done;
    bool taken;    /* ent_verifier_take() unlinked it */
    bool released; /* ... and ent_verified_free() gave it back */
    vjob jobs[];
};

struct ent_verifier {
    uv_loop_t *loop;
    unsigned jobs;
    vbatch *head, *tail; /* submission order */
    size_t pending;
    uint64_t ops;
    uint64_t checks; /* signature checks made for them */
    uint64_t opened; /* bodies opened for them */
    void (*drain_cb)(void *data);
    void *drain_data;
};

int ent_verifier_new(ent_verifier **out, struct uv_loop_s *loop,
                     unsigned jobs) {
    *out = NULL;
    if (loop == NULL)
        return ENT_EINVAL;
    ent_verifier *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return ENT_ENOMEM;
    if (jobs == 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = ncpu > 2 ? (unsigned)(ncpu < 64 ? ncpu : 64) : 2;
    }
    v->loop = loop;
    v->jobs = jobs;
    *out = v;
    return ENT_OK;
}

static void batch_free(vbatch *b) {
    if (b->opened != NULL)
        for (size_t i = 0; i < b->n; i++)
            if (b->opened[i].body != NULL) {
                ent_wipe((uint8_t *)b->opened[i].body, b->opened[i].len);
                free((uint8_t *)b->opened[i].body);
            }
    free(b->opened);
    ent_obj_keys_free(b->keys, b->nkeys);
    free(b->buf);
    free(b->raws);
    free(b->lens);
    free(b->rcs);
    free(b->objs);
    free(b);
}

static void call(vbatch *b, bool aborted) {
    b->cb(b->data, b->has_owner ? b->owner : NULL,
          (const uint8_t *const *)b->raws, b->lens, b->n, b->rcs,
          (const uint8_t (*)[32])b->objs, b->opened, aborted);
}

void ent_verifier_free(ent_verifier *v) {
    if (v == NULL)
        return;
    vbatch *b = v->head;
    while (b != NULL) {
        vbatch *nx = b->next;
        if (b->done) {
            call(b, true);
            batch_free(b);
        } else {
            b->v = NULL; /* after_work frees it */
        }
        b = nx;
    }
    free(v);
}

/* Pool thread: opens op's body with a key of its epoch among the batch's
 * copies, into b->opened[idx]. Returns 1 when it did; 0 leaves the engine
 * to do it (no keys given, no key of that epoch, a key that does not open
 * it, or no memory). */
static size_t open_body(vbatch *b, const ent_op *op, size_t idx) {
    if (b->opened == NULL) /* &b->opened[idx] would be NULL + idx */
        return 0;
    ent_obj_opened *out = &b->opened[idx];
    for (size_t k = 0; k < b->nkeys; k++) {
        uint8_t *body = NULL;
        size_t blen = 0;
        if (b->keys[k].epoch != op->h.epoch ||
            ent_op_open(op, b->keys[k].key, &body, &blen) != ENT_OK)
            continue;
        out->body = body;
        out->len = blen;
        return 1;
    }
    return 0;
}

/* Pool thread: decode and authenticate ops [from, to) (a chain of one
 * author's ops costs one signature check: ent_op_authenticate). Touches
 * only the batch's own arrays, each index by exactly one job. */
static void work(uv_work_t *req) {
    vjob *j = req->data;
    vbatch *b = j->b;
    size_t n = j->to - j->from;
    ent_op **ops = calloc(n, sizeof(*ops));
    size_t checks = 0;
    for (size_t i = j->from; i < j->to; i++) {
        ent_op *op = NULL;
        int rc = ent_op_decode(&op, b->raws[i], b->lens[i]);
        if (rc == ENT_OK) {
            memcpy(b->objs[i], op->h.genesis ? op->id : op->h.object, 32);
            if (ops == NULL) { /* no memory for the set: one by one */
                rc = ent_op_verify(op);
                checks++;
            }
        }
        b->rcs[i] = rc;
        if (ops != NULL)
            ops[i - j->from] = op;
        else
            ent_op_free(op);
    }
    if (ops != NULL &&
        ent_op_authenticate(ops, n, b->rcs + j->from, &checks) != ENT_OK)
        for (size_t i = 0; i < n; i++) /* the engine checks them */
            if (ops[i] != NULL)
                b->rcs[j->from + i] = ENT_EAGAIN;
    size_t opened = 0;
    if (ops != NULL)
        for (size_t i = 0; i < n; i++) {
            if (ops[i] != NULL && b->rcs[j->from + i] == ENT_OK)
                opened += open_body(b, ops[i], j->from + i);
            ent_op_free(ops[i]);
        }
    atomic_fetch_add_explicit(&b->nopened, opened, memory_order_relaxed);
    free(ops);
    atomic_fetch_add_explicit(&b->checks, checks, memory_order_relaxed);
    /* release: ent_verifier_take() reads rcs/objs after seeing the count */
    atomic_fetch_add_explicit(&b->worked, 1, memory_order_release);
}

/* Calls back, in submission order, every batch at the head that is done. */
static void deliver(ent_verifier *v) {
    while (v->head != NULL && v->head->done) {
        vbatch *b = v->head;
        v->head = b->next;
        if (v->head == NULL)
            v->tail = NULL;
        v->pending--;
        v->ops += b->n;
        v->checks += atomic_load(&b->checks);
        v->opened += atomic_load(&b->nopened);
        call(b, false); /* may submit more: the list is consistent */
        batch_free(b);
    }
    if (v->pending == 0 && v->drain_cb != NULL) {
        void (*cb)(void *) = v->drain_cb;
        v->drain_cb = NULL;
        cb(v->drain_data);
    }
}

static void after_work(uv_work_t *req, int status) {
    vjob *j = req->data;
    vbatch *b = j->b;
    if (status != 0) /* cancelled (ENT_EAGAIN): the engine checks them */
        for (size_t i = j->from; i < j->to; i++)
            b->rcs[i] = ENT_EAGAIN;
    if (--b->left > 0)
        return;
    b->done = true;
    if (b->taken) { /* the taker applied it: free it once it gave it back */
        if (b->released)
            batch_free(b);
        return;
    }
    if (b->v == NULL) {
        call(b, true);
        batch_free(b);
        return;
    }
    deliver(b->v);
}

int ent_verifier_submit(ent_verifier *v, const void *owner,
                        const uint8_t *const *raws, const size_t *lens,
                        size_t n, ent_verify_cb cb, void *data) {
    return ent_verifier_submit_keys(v, owner, raws, lens, n, NULL, 0, cb,
                                    data);
}

int ent_verifier_submit_keys(ent_verifier *v, const void *owner,
                             const uint8_t *const *raws, const size_t *lens,
                             size_t n, const ent_obj_key *keys, size_t nkeys,
                             ent_verify_cb cb, void *data) {
    if (v == NULL || n == 0 || raws == NULL || lens == NULL || cb == NULL ||
        (nkeys > 0 && keys == NULL))
        return ENT_EINVAL;
    unsigned njobs = (unsigned)((n + MIN_CHUNK - 1) / MIN_CHUNK);
    if (njobs > v->jobs)
        njobs = v->jobs;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += lens[i];
    vbatch *b = calloc(1, sizeof(*b) + njobs * sizeof(vjob));
    if (b == NULL)
        return ENT_ENOMEM;
    b->buf = malloc(total ? total : 1);
    b->raws = calloc(n, sizeof(*b->raws));
    b->lens = calloc(n, sizeof(*b->lens));
    b->rcs = calloc(n, sizeof(*b->rcs));
    b->objs = calloc(n, sizeof(*b->objs));
    if (nkeys > 0) {
        b->keys = malloc(nkeys * sizeof(*b->keys));
        b->opened = calloc(n, sizeof(*b->opened));
        if (b->keys != NULL) {
            memcpy(b->keys, keys, nkeys * sizeof(*b->keys));
            b->nkeys = nkeys;
        }
    }
    if (b->buf == NULL || b->raws == NULL || b->lens == NULL ||
        b->rcs == NULL || b->objs == NULL ||
        (nkeys > 0 && (b->keys == NULL || b->opened == NULL))) {
        batch_free(b);
        return ENT_ENOMEM;
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] > 0)
            memcpy(b->buf + off, raws[i], lens[i]);
        b->raws[i] = b->buf + off;
        b->lens[i] = lens[i];
        off += lens[i];
    }
    atomic_init(&b->worked, 0);
    atomic_init(&b->checks, 0);
    atomic_init(&b->nopened, 0);
    b->v = v;
    b->owner = owner;
    b->has_owner = true;
    b->cb = cb;
    b->data = data;
    b->n = n;
    b->njobs = njobs;
    b->left = njobs;
    if (v->tail != NULL)
        v->tail->next = b;
    else
        v->head = b;
    v->tail = b;
    v->pending++;
    size_t per = n / njobs, extra = n % njobs, from = 0;
    for (unsigned k = 0; k < njobs; k++) {
        vjob *j = &b->jobs[k];
        j->b = b;
        j->from = from;
        j->to = from + per + (k < extra ? 1 : 0);
        from = j->to;
        j->req.data = j;
        /* fails only for a NULL work function (UV_EINVAL) */
        (void)uv_queue_work(v->loop, &j->req, work, after_work);
    }
    return ENT_OK;
}

void ent_verifier_detach(ent_verifier *v, const void *owner) {
    if (v == NULL)
        return;
    for (vbatch *b = v->head; b != NULL; b = b->next)
        if (b->has_owner && b->owner == owner)
            b->has_owner = false;
}

size_t ent_verifier_pending(const ent_verifier *v, const void *owner) {
    if (v == NULL)
        return 0;
    if (owner == NULL)
        return v->pending;
    size_t n = 0;
    for (const vbatch *b = v->head; b != NULL; b = b->next)
        if (b->has_owner && b->owner == owner)
            n++;
    return n;
}

void ent_verifier_drain(ent_verifier *v, void (*cb)(void *data), void *data) {
    if (v == NULL || v->pending == 0) {
        if (cb != NULL)
            cb(data);
        return;
    }
    v->drain_cb = cb;
    v->drain_data = data;
}

bool ent_verifier_take(ent_verifier *v, ent_verify_cb cb, ent_verified *out) {
    memset(out, 0, sizeof(*out));
    vbatch *b = v != NULL ? v->head : NULL;
    /* v->head is the next batch: deliver() unlinks a batch before its call.
     * A batch whose jobs all returned from the pool is complete even when
     * libuv has not run their after_work yet (it runs them one per call,
     * and this is what lets one callback take the batches behind it). */
    if (b == NULL || b->cb != cb || b->taken ||
        (!b->done && atomic_load_explicit(&b->worked, memory_order_acquire) !=
                         b->njobs))
        return false;
    b->taken = true;
    v->head = b->next;
    if (v->head == NULL)
        v->tail = NULL;
    v->pending--;
    v->ops += b->n;
    v->checks += atomic_load(&b->checks);
    v->opened += atomic_load(&b->nopened);
    out->owner = b->has_owner ? b->owner : NULL;
    out->data = b->data;
    out->raws = (const uint8_t *const *)b->raws;
    out->lens = b->lens;
    out->n = b->n;
    out->rcs = b->rcs;
    out->objs = (const uint8_t (*)[32])b->objs;
    out->opened = b->opened;
    out->priv = b;
    return true;
}

void ent_verified_free(ent_verified *out) {
    if (out == NULL || out->priv == NULL)
        return;
    vbatch *b = out->priv;
    out->priv = NULL;
    if (b->done) /* every after_work ran */
        batch_free(b);
    else
        b->released = true; /* the last after_work frees it */
}

uint64_t ent_verifier_ops(const ent_verifier *v) {
    return v != NULL ? v->ops : 0;
}

uint64_t ent_verifier_checks(const ent_verifier *v) {
    return v != NULL ? v->checks : 0;
}

uint64_t ent_verifier_opened(const ent_verifier *v) {
    return v != NULL ? v->opened : 0;
}
