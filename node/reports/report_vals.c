/*
 * report_vals.c - the value cache of a report (spec/reports.md
 * "Performance"): each distinct encoding of a used field is decoded once
 * per report, and keeps the key text of each --by column and the stage's
 * state once worked out; the memo maps the cached values of an object's
 * --by columns (their ids) to the group they made, so that most objects
 * find their group without formatting or hashing key texts. Both only
 * ever repeat what the first object with the same encodings computed.
 */
#include "node/reports/report_int.h"

#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/value.h"

/* Hashes len bytes, eight at a time (the last eight overlapping the
 * ones before when len is not a multiple of eight). */
static uint64_t blob_hash(const uint8_t *p, size_t len) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w = 0;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    if (i < len && len >= 8) {
        memcpy(&w, p + len - 8, 8);
    } else {
        w = 0;
        for (; i < len; i++)
            w = w << 8 | p[i];
    }
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

/* The encoded value types worth keeping: [type, value] with type text,
 * integer, date, enum, org or ref (money and null are decoded each time:
 * no allocation, and amounts seldom repeat). */
static bool kept(const uint8_t *blob, size_t len) {
    return len >= 2 && blob[0] == 0x82 &&
           (blob[1] == ENT_VT_TEXT || blob[1] == ENT_VT_INT ||
            blob[1] == ENT_VT_DATE || blob[1] == ENT_VT_ENUM ||
            blob[1] == ENT_VT_ORG || blob[1] == ENT_VT_REF);
}

static int vals_grow(rvals *c) {
    size_t ncap = c->cap ? c->cap * 2 : 64;
    uint32_t *t = calloc(ncap, sizeof(*t));
    rval **nv = realloc(c->vals, ncap / 2 * sizeof(*nv));
    if (nv != NULL)
        c->vals = nv;
    if (t == NULL || nv == NULL) {
        free(t);
        return ENT_ENOMEM;
    }
    for (size_t i = 0; i < c->n; i++) {
        size_t k = c->vals[i]->hash & (ncap - 1);
        while (t[k] != 0)
            k = (k + 1) & (ncap - 1);
        t[k] = (uint32_t)(i + 1);
    }
    free(c->table);
    c->table = t;
    c->cap = ncap;
    return ENT_OK;
}

int ent__rpt_val(rpt *r, rslot *s, const uint8_t *blob, size_t len,
                 rval **out) {
    rvals *c = &s->cache;
    *out = NULL;
    if (c->full || !kept(blob, len))
        return ENT_OK;
    uint64_t h = blob_hash(blob, len);
    size_t k = 0;
    if (c->cap > 0)
        for (k = h & (c->cap - 1); c->table[k] != 0;
             k = (k + 1) & (c->cap - 1)) {
            rval *x = c->vals[c->table[k] - 1];
            if (x->hash == h && x->blen == len &&
                memcmp(x->blob, blob, len) == 0) {
                *out = x;
                return ENT_OK;
            }
        }
    if (c->n == RPT_VALS_MAX) {
        c->full = true;
        return ENT_OK;
    }
    rval *x = malloc(sizeof(*x) + len);
    if (x == NULL)
        return ENT_ENOMEM;
    int rc = ent_obj_value_decode(blob, len, &x->v);
    if (rc != ENT_OK) {
        free(x);
        return rc;
    }
    if ((c->n + 1) * 2 > c->cap) {
        if ((rc = vals_grow(c)) != ENT_OK) {
            ent_value_clear(&x->v);
            free(x);
            return rc;
        }
        for (k = h & (c->cap - 1); c->table[k] != 0;)
            k = (k + 1) & (c->cap - 1);
    }
    x->hash = h;
    x->id = ++r->nvals;
    x->state = -1;
    memset(x->keyed, 0, sizeof(x->keyed));
    memset(x->key, 0, sizeof(x->key));
    x->blen = len;
    memcpy(x->blob, blob, len);
    c->vals[c->n++] = x;
    c->table[k] = (uint32_t)c->n;
    *out = x;
    return ENT_OK;
}

/* ---- the memo ------------------------------------------------------------ */

static size_t ids_slot(const uint32_t *ids, size_t n, size_t cap) {
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ ids[i]) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return (size_t)h & (cap - 1);
}

rgroup *ent__rpt_memo_get(rpt *r, const uint32_t *ids) {
    if (r->memocap == 0)
        return NULL;
    for (size_t k = ids_slot(ids, r->nby, r->memocap); r->memo[k].g != NULL;
         k = (k + 1) & (r->memocap - 1))
        if (memcmp(r->memo[k].ids, ids, r->nby * sizeof(*ids)) == 0)
            return r->memo[k].g;
    return NULL;
}

static void memo_insert(rmemo *t, size_t cap, size_t nby, const uint32_t *ids,
                        rgroup *g) {
    size_t k = ids_slot(ids, nby, cap);
    while (t[k].g != NULL)
        k = (k + 1) & (cap - 1);
    memcpy(t[k].ids, ids, nby * sizeof(*ids));
    t[k].g = g;
}

int ent__rpt_memo_put(rpt *r, const uint32_t *ids, rgroup *g) {
    if (r->nmemo == RPT_MEMO_MAX)
        return ENT_OK;
    if ((r->nmemo + 1) * 2 > r->memocap) {
        size_t ncap = r->memocap ? r->memocap * 2 : 256;
        rmemo *t = calloc(ncap, sizeof(*t));
        if (t == NULL)
            return ENT_ENOMEM;
        for (size_t i = 0; i < r->memocap; i++)
            if (r->memo[i].g != NULL)
                memo_insert(t, ncap, r->nby, r->memo[i].ids, r->memo[i].g);
        free(r->memo);
        r->memo = t;
        r->memocap = ncap;
    }
    memo_insert(r->memo, r->memocap, r->nby, ids, g);
    r->nmemo++;
    return ENT_OK;
}

void ent__rpt_vals_free(rpt *r) {
    for (size_t i = 0; i < r->nslots; i++) {
        rvals *c = &r->slots[i].cache;
        for (size_t j = 0; j < c->n; j++) {
            ent_value_clear(&c->vals[j]->v);
            for (size_t b = 0; b < ENT_RPT_BY_MAX; b++)
                free(c->vals[j]->key[b]);
            free(c->vals[j]);
        }
        free(c->vals);
        free(c->table);
        memset(c, 0, sizeof(*c));
    }
    free(r->memo);
    r->memo = NULL;
    r->nmemo = r->memocap = 0;
}
