/*
 * psi_run.c - one side of a private set intersection run; see psi_run.h
 * and spec/overlap.md §4.
 */
#include "node/overlap/psi_run.h"
#include "crypto/crypto.h"
#include "node/err.h"

#include <stdlib.h>
#include <string.h>

#define PT ENT_PSI_POINT_LEN

struct ent_psi_run {
    uint8_t scalar[ENT_PSI_SCALAR_LEN];
    size_t n, m;          /* own keys, own slots */
    int32_t *slot_of;     /* n: own key -> slot */
    int32_t *key_of;      /* m: slot -> own key, -1 padding */
    uint8_t *blinded;     /* m * 32: a * H, or random */
    size_t pm;            /* partner slots; 0 until begin */
    size_t pin;           /* partner points received */
    uint8_t *partner;     /* pm * 32: B_j, then D_j in place */
    uint8_t *sent;        /* pm * 32: D in the order sent (shuffled) */
    size_t invalid;
    size_t rin;           /* E received */
    bool rbegun;
    uint8_t *returned;    /* m * 32: E of own slots */
};

size_t ent_psi_bucket(size_t n) {
    if (n > ENT_PSI_MAX_BUCKET)
        return 0;
    if (n <= ENT_PSI_MIN_BUCKET)
        return ENT_PSI_MIN_BUCKET;
    size_t k = 0;
    while ((15u << k) < n)
        k++;
    for (size_t m = 8; m <= 15; m++)
        if ((m << k) >= n)
            return m << k;
    return 0; /* not reached */
}

bool ent_psi_bucket_valid(size_t m) {
    return m >= ENT_PSI_MIN_BUCKET && m <= ENT_PSI_MAX_BUCKET &&
           ent_psi_bucket(m) == m;
}

/* A uniform integer in [0, n), n >= 1 (rejection sampling). */
static uint32_t uniform(uint32_t n) {
    uint32_t x, lim = (uint32_t)(0x100000000ull - 0x100000000ull % n);
    do
        ent_random(&x, sizeof(x));
    while (lim != 0 && x >= lim);
    return x % n;
}

int ent_psi_run_new(ent_psi_run **out, size_t n) {
    *out = NULL;
    size_t m = ent_psi_bucket(n);
    if (m == 0)
        return ENT_EINVAL;
    ent_psi_run *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return ENT_ENOMEM;
    r->n = n;
    r->m = m;
    r->slot_of = malloc((n ? n : 1) * sizeof(int32_t));
    r->key_of = malloc(m * sizeof(int32_t));
    r->blinded = malloc(m * PT);
    if (r->slot_of == NULL || r->key_of == NULL ||
        r->blinded == NULL) {
        ent_psi_run_free(r);
        return ENT_ENOMEM;
    }
    ent_psi_scalar_random(r->scalar);
    /* a random permutation of the slots: keys first, then padding */
    for (size_t s = 0; s < m; s++)
        r->key_of[s] = s < n ? (int32_t)s : -1;
    for (size_t s = m - 1; s > 0; s--) {
        size_t t = uniform((uint32_t)s + 1);
        int32_t x = r->key_of[s];
        r->key_of[s] = r->key_of[t];
        r->key_of[t] = x;
    }
    for (size_t s = 0; s < m; s++)
        if (r->key_of[s] >= 0)
            r->slot_of[r->key_of[s]] = (int32_t)s;
    *out = r;
    return ENT_OK;
}

void ent_psi_run_free(ent_psi_run *r) {
    if (r == NULL)
        return;
    ent_wipe(r->scalar, sizeof(r->scalar));
    free(r->slot_of);
    free(r->key_of);
    free(r->blinded);
    free(r->partner);
    free(r->sent);
    free(r->returned);
    free(r);
}

size_t ent_psi_count(const ent_psi_run *r) {
    return r->n;
}

size_t ent_psi_size(const ent_psi_run *r) {
    return r->m;
}

void ent_psi_blind_range(ent_psi_run *r, const char *const *keys,
                         const size_t *lens, size_t from, size_t to) {
    uint8_t h[PT];
    for (size_t s = from; s < to && s < r->m; s++) {
        int32_t k = r->key_of[s];
        if (k >= 0)
            ent_psi_hash_point(h, keys[k], lens[k]);
        if (k < 0 || ent_psi_mul(r->blinded + s * PT, r->scalar, h) != ENT_OK)
            ent_psi_random_point(r->blinded + s * PT);
    }
    ent_wipe(h, sizeof(h));
}

const uint8_t *ent_psi_blinded(const ent_psi_run *r) {
    return r->blinded;
}

int ent_psi_partner_begin(ent_psi_run *r, size_t m) {
    if (r->partner != NULL || !ent_psi_bucket_valid(m))
        return ENT_EPROTO;
    if ((r->partner = malloc(m * PT)) == NULL)
        return ENT_ENOMEM;
    r->pm = m;
    r->pin = 0;
    return ENT_OK;
}

int ent_psi_partner_put(ent_psi_run *r, size_t off, const uint8_t *pts,
                        size_t k) {
    if (r->partner == NULL || off != r->pin || k > r->pm - r->pin)
        return ENT_EPROTO;
    memcpy(r->partner + off * PT, pts, k * PT);
    r->pin += k;
    return ENT_OK;
}

bool ent_psi_partner_full(const ent_psi_run *r) {
    return r->partner != NULL && r->pin == r->pm;
}

void ent_psi_double_range(ent_psi_run *r, size_t from, size_t to) {
    size_t bad = 0;
    for (size_t j = from; j < to && j < r->pm; j++) {
        uint8_t *p = r->partner + j * PT;
        if (ent_psi_mul(p, r->scalar, p) != ENT_OK) {
            ent_psi_random_point(p);
            bad++;
        }
    }
    if (bad > 0)
        __atomic_add_fetch(&r->invalid, bad, __ATOMIC_RELAXED);
}

size_t ent_psi_invalid(const ent_psi_run *r) {
    return __atomic_load_n(&r->invalid, __ATOMIC_RELAXED);
}

const uint8_t *ent_psi_doubled(ent_psi_run *r, bool shuffle) {
    if (r->partner == NULL)
        return NULL;
    if (!shuffle)
        return r->partner;
    if (r->sent == NULL) {
        if ((r->sent = malloc(r->pm * PT)) == NULL)
            return NULL;
        memcpy(r->sent, r->partner, r->pm * PT);
        uint8_t t[PT];
        for (size_t j = r->pm - 1; j > 0; j--) {
            size_t u = uniform((uint32_t)j + 1);
            memcpy(t, r->sent + j * PT, PT);
            memcpy(r->sent + j * PT, r->sent + u * PT, PT);
            memcpy(r->sent + u * PT, t, PT);
        }
    }
    return r->sent;
}

int ent_psi_returned_begin(ent_psi_run *r) {
    if (r->rbegun)
        return ENT_EPROTO;
    if ((r->returned = malloc(r->m * PT)) == NULL)
        return ENT_ENOMEM;
    r->rbegun = true;
    r->rin = 0;
    return ENT_OK;
}

int ent_psi_returned_put(ent_psi_run *r, size_t off, const uint8_t *pts,
                         size_t k) {
    if (!r->rbegun || off != r->rin || k > r->m - r->rin)
        return ENT_EPROTO;
    memcpy(r->returned + off * PT, pts, k * PT);
    r->rin += k;
    return ENT_OK;
}

bool ent_psi_returned_full(const ent_psi_run *r) {
    return r->rbegun && r->rin == r->m;
}

static int cmp_pt(const void *a, const void *b) {
    return memcmp(a, b, PT);
}

int ent_psi_match(ent_psi_run *r, size_t *count, bool *which) {
    *count = 0;
    if (!ent_psi_partner_full(r) || !ent_psi_returned_full(r))
        return ENT_EPROTO;
    uint8_t *d = malloc(r->pm * PT);
    if (d == NULL)
        return ENT_ENOMEM;
    memcpy(d, r->partner, r->pm * PT);
    qsort(d, r->pm, PT, cmp_pt);
    if (which != NULL)
        memset(which, 0, r->n * sizeof(bool));
    /* every own slot, padding included: a padding E matches nothing but
     * with negligible probability; in counts-only runs the partner's
     * order hides which slot is which, so each slot is counted once */
    for (size_t s = 0; s < r->m; s++) {
        if (bsearch(r->returned + s * PT, d, r->pm, PT, cmp_pt) == NULL)
            continue;
        (*count)++;
        if (which != NULL && r->key_of[s] >= 0)
            which[r->key_of[s]] = true;
    }
    free(d);
    return ENT_OK;
}

void ent_psi_tag_own(const ent_psi_run *r, size_t i, const uint8_t run[16],
                     uint8_t tag[ENT_PSI_TAG_LEN]) {
    uint8_t h[ENT_HASH_LEN];
    ent_hash2(h, run, 16, r->returned + (size_t)r->slot_of[i] * PT, PT);
    memcpy(tag, h, ENT_PSI_TAG_LEN);
}
