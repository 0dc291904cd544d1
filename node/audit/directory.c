/*
 * directory.c - the object directory (spec/audit.md §7.1); see
 * directory.h.
 */
#include "node/audit/directory.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"

#define HL ENT_MERKLE_HASH_LEN
#define LEVELS 64

/* ---------------------------------------------------------------- tree */

/*
 * The tree as levels: level j holds the hashes of the complete aligned
 * blocks of 2^j leaves, so size >> j of them. Appending a leaf completes
 * at most one block per level; replacing one rehashes one block per
 * level; any range of the RFC's recursion is an aligned block or splits
 * into one and a shorter range, so its hash costs O(log n).
 */
struct ent_mtree {
    uint8_t (*lv[LEVELS])[HL];
    uint64_t cap[LEVELS];
    uint64_t n;
};

int ent_mtree_new(ent_mtree **out) {
    *out = calloc(1, sizeof(**out));
    return *out != NULL ? ENT_OK : ENT_ENOMEM;
}

void ent_mtree_free(ent_mtree *t) {
    if (t == NULL)
        return;
    for (int j = 0; j < LEVELS; j++)
        free(t->lv[j]);
    free(t);
}

uint64_t ent_mtree_size(const ent_mtree *t) { return t->n; }

int ent_mtree_append(ent_mtree *t, const uint8_t leaf[HL]) {
    uint64_t m = t->n + 1;
    if (t->n >= ENT_MERKLE_MAX_SIZE)
        return ENT_ELIMIT;
    /* reserve first, so that a failure leaves t unchanged */
    for (int j = 0; j < LEVELS && (m >> j) > (t->n >> j); j++) {
        if ((m >> j) <= t->cap[j])
            continue;
        uint64_t cap = t->cap[j] ? t->cap[j] * 2 : 16;
        void *p = realloc(t->lv[j], cap * HL);
        if (p == NULL)
            return ENT_ENOMEM;
        t->lv[j] = p;
        t->cap[j] = cap;
    }
    memcpy(t->lv[0][t->n], leaf, HL);
    for (int j = 1; j < LEVELS && (m >> j) > (t->n >> j); j++) {
        uint64_t q = (m >> j) - 1;
        ent_merkle_node_hash(t->lv[j][q], t->lv[j - 1][2 * q],
                             t->lv[j - 1][2 * q + 1]);
    }
    t->n = m;
    return ENT_OK;
}

int ent_mtree_set(ent_mtree *t, uint64_t pos, const uint8_t leaf[HL]) {
    if (pos >= t->n)
        return ENT_EINVAL;
    memcpy(t->lv[0][pos], leaf, HL);
    for (int j = 1; j < LEVELS; j++) {
        uint64_t q = pos >> j;
        if (q >= (t->n >> j))
            break;
        ent_merkle_node_hash(t->lv[j][q], t->lv[j - 1][2 * q],
                             t->lv[j - 1][2 * q + 1]);
    }
    return ENT_OK;
}

static int ilog2(uint64_t v) { return 63 - __builtin_clzll(v); }

/* MTH(D[a:b]), 0 <= a < b <= size, for the ranges the RFC's recursion
 * visits: an aligned power-of-two block, or such a block on the left of a
 * shorter range. */
static void range_hash(const ent_mtree *t, uint64_t a, uint64_t b,
                       uint8_t out[HL]) {
    uint64_t w = b - a;
    if ((w & (w - 1)) == 0 && (a & (w - 1)) == 0) {
        memcpy(out, t->lv[ilog2(w)][a >> ilog2(w)], HL);
        return;
    }
    uint64_t k = (uint64_t)1 << ilog2(w - 1); /* largest power of 2 < w */
    uint8_t l[HL], r[HL];
    range_hash(t, a, a + k, l);
    range_hash(t, a + k, b, r);
    ent_merkle_node_hash(out, l, r);
}

void ent_mtree_root(const ent_mtree *t, uint64_t n, uint8_t root[HL]) {
    if (n == 0 || n > t->n)
        ent_merkle_empty_root(root);
    else
        range_hash(t, 0, n, root);
}

int ent_mtree_path(const ent_mtree *t, uint64_t pos, uint64_t n,
                   uint8_t (*path)[HL], size_t cap, size_t *len) {
    uint64_t a = 0, b = n;
    /* the siblings from the root down, then reversed: deepest first */
    uint8_t sib[ENT_MERKLE_MAX_PROOF][HL];
    size_t k = 0;
    if (len == NULL || n > t->n || pos >= n)
        return ENT_EINVAL;
    while (b - a > 1) {
        uint64_t h = (uint64_t)1 << ilog2(b - a - 1);
        if (pos < a + h) {
            range_hash(t, a + h, b, sib[k++]);
            b = a + h;
        } else {
            range_hash(t, a, a + h, sib[k++]);
            a += h;
        }
    }
    *len = k;
    if (cap < k)
        return ENT_ETOOBIG;
    for (size_t i = 0; i < k; i++)
        memcpy(path[i], sib[k - 1 - i], HL);
    return ENT_OK;
}

/* ----------------------------------------------------------- directory */

typedef struct slot {
    uint8_t object[32];
    uint64_t pos;
    uint64_t last;
    bool used;
} slot;

/* A salted hash table from object id to (position, latest index), and the
 * leaves (object, latest index) in an ent_mtree by position. */
struct ent_dir {
    uint8_t salt[16]; /* object ids may come from a hostile file */
    slot *tab;
    size_t cap, n; /* cap: power of two, n <= cap / 2 */
    ent_mtree *t;
};

void ent_dir_leaf_hash(uint8_t out[HL], const uint8_t object[32],
                       uint64_t last) {
    uint8_t buf[ENT_DIR_LEAF_LEN];
    memcpy(buf, object, 32);
    for (int i = 7; i >= 0; i--) {
        buf[32 + i] = (uint8_t)last;
        last >>= 8;
    }
    ent_merkle_leaf_hash(out, buf, sizeof(buf));
}

int ent_dir_new(ent_dir **out) {
    ent_dir *d = calloc(1, sizeof(*d));
    *out = NULL;
    if (d == NULL)
        return ENT_ENOMEM;
    if (ent_mtree_new(&d->t) != ENT_OK) {
        free(d);
        return ENT_ENOMEM;
    }
    ent_random(d->salt, sizeof(d->salt));
    *out = d;
    return ENT_OK;
}

void ent_dir_free(ent_dir *d) {
    if (d == NULL)
        return;
    ent_mtree_free(d->t);
    free(d->tab);
    free(d);
}

uint64_t ent_dir_size(const ent_dir *d) { return d->t->n; }

static size_t bucket(const ent_dir *d, const uint8_t object[32]) {
    uint8_t h[ENT_HASH_LEN];
    uint64_t v = 0;
    ent_hash2(h, d->salt, sizeof(d->salt), object, 32);
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return (size_t)v & (d->cap - 1);
}

static slot *lookup(const ent_dir *d, const uint8_t object[32]) {
    if (d->cap == 0)
        return NULL;
    for (size_t i = bucket(d, object);; i = (i + 1) & (d->cap - 1)) {
        slot *s = &d->tab[i];
        if (!s->used)
            return NULL;
        if (memcmp(s->object, object, 32) == 0)
            return s;
    }
}

static slot *insert_slot(ent_dir *d, const uint8_t object[32]) {
    size_t i = bucket(d, object);
    while (d->tab[i].used)
        i = (i + 1) & (d->cap - 1);
    memcpy(d->tab[i].object, object, 32);
    d->tab[i].used = true;
    d->n++;
    return &d->tab[i];
}

static int grow_table(ent_dir *d) {
    size_t ncap = d->cap ? d->cap * 2 : 64;
    slot *old = d->tab;
    size_t ocap = d->cap;
    slot *tab = calloc(ncap, sizeof(*tab));
    if (tab == NULL)
        return ENT_ENOMEM;
    d->tab = tab;
    d->cap = ncap;
    d->n = 0;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].used)
            continue;
        slot *s = insert_slot(d, old[i].object);
        s->pos = old[i].pos;
        s->last = old[i].last;
    }
    free(old);
    return ENT_OK;
}

int ent_dir_note(ent_dir *d, const uint8_t object[32], uint64_t index,
                 uint64_t *oprev) {
    uint8_t leaf[HL];
    slot *s = lookup(d, object);
    int rc;
    ent_dir_leaf_hash(leaf, object, index);
    if (s != NULL) {
        if (oprev != NULL)
            *oprev = s->last;
        s->last = index;
        return ent_mtree_set(d->t, s->pos, leaf);
    }
    if (d->t->n >= ENT_DIR_MAX)
        return ENT_ELIMIT;
    if ((d->n + 1) * 2 > d->cap && (rc = grow_table(d)) != ENT_OK)
        return rc;
    if ((rc = ent_mtree_append(d->t, leaf)) != ENT_OK)
        return rc;
    s = insert_slot(d, object);
    s->pos = d->t->n - 1;
    s->last = index;
    if (oprev != NULL)
        *oprev = index;
    return ENT_OK;
}

int ent_dir_find(const ent_dir *d, const uint8_t object[32], uint64_t *pos,
                 uint64_t *last) {
    const slot *s = lookup(d, object);
    if (s == NULL)
        return ENT_ENOENT;
    if (pos != NULL)
        *pos = s->pos;
    if (last != NULL)
        *last = s->last;
    return ENT_OK;
}

void ent_dir_root(const ent_dir *d, uint8_t root[HL]) {
    ent_mtree_root(d->t, d->t->n, root);
}

int ent_dir_path(const ent_dir *d, uint64_t pos, uint8_t (*path)[HL],
                 size_t cap, size_t *len) {
    return ent_mtree_path(d->t, pos, d->t->n, path, cap, len);
}
