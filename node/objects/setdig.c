/*
 * setdig.c - reconciliation fingerprints kept on commit; see setdig.h and
 * spec/gossip.md §13.
 *
 * Rows of table "set_digests":
 *   'o' || object id            -> object digest (32) || orgs (32 each,
 *                                  ascending): the partners whose
 *                                  fingerprints hold the object's term now
 *   'T' || org                  -> fingerprint of everything shared with org
 *   'B' || org || id[0]         -> fingerprint of the ids starting with id[0]
 *   'L' || org || id[0] || id[1] -> the same for the first two bytes
 * A fingerprint row is sum (32, little-endian) || count (u64 big-endian);
 * rows whose count falls to 0 are deleted.
 */
#include "node/objects/setdig.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/bytes.h"
#include "node/err.h"
#include "node/growbuf.h"

#define OBJ_CTX "entente/v1/gossip-obj"
#define TERM_CTX "entente/v1/gossip-term"
#define META_KEY "set_digests"
#define FP_LEN 40

/* ---- object digests and terms ------------------------------------------ */

static int heads_scan(void *data, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    ent_growbuf *b = data;
    (void)val;
    (void)vlen;
    if (klen == 64)
        ent_growbuf_add(b, (const uint8_t *)key + 32, 32);
    return b->err;
}

int ent_setdig_object_digest(ent_txn *txn, const uint8_t obj[32],
                             uint8_t out[32]) {
    ent_growbuf b = {0};
    ent_growbuf_add(&b, OBJ_CTX, sizeof(OBJ_CTX) - 1);
    ent_growbuf_add(&b, obj, 32);
    size_t base = b.n;
    int rc = ent_txn_scan(txn, ENT_TBL_HEADS, obj, 32, heads_scan, &b);
    if (rc == ENT_OK)
        rc = b.err;
    if (rc == ENT_OK) {
        if (b.n == base)
            memset(out, 0, 32);
        else
            ent_hash(out, b.p, b.n);
    }
    free(b.p);
    return rc;
}

void ent_setdig_term(const uint8_t obj[32], const uint8_t digest[32],
                     uint8_t out[32]) {
    uint8_t in[sizeof(TERM_CTX) - 1 + 64];
    memcpy(in, TERM_CTX, sizeof(TERM_CTX) - 1);
    memcpy(in + sizeof(TERM_CTX) - 1, obj, 32);
    memcpy(in + sizeof(TERM_CTX) - 1 + 32, digest, 32);
    ent_hash(out, in, sizeof(in));
}

void ent_setdig_add(uint8_t a[32], const uint8_t b[32], bool add) {
    unsigned c = 0;
    for (int i = 0; i < 32; i++) {
        if (add) {
            unsigned s = (unsigned)a[i] + b[i] + c;
            a[i] = (uint8_t)s;
            c = s >> 8;
        } else {
            unsigned s = (unsigned)a[i] - b[i] - c;
            a[i] = (uint8_t)s;
            c = (s >> 8) & 1;
        }
    }
}

static void fp_get(const uint8_t *v, ent_setfp *fp) {
    memcpy(fp->sum, v, 32);
    fp->count = ent_be64_get(v + 32);
}

/* ---- the object's current state ---------------------------------------- */

typedef struct state {
    uint8_t digest[32];
    uint8_t *orgs; /* k * 32, ascending */
    size_t k;
} state;

typedef struct mem_scan {
    const uint8_t *me;
    ent_growbuf b;
    bool me_active;
} mem_scan;

static int members_scan(void *data, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    mem_scan *m = data;
    const uint8_t *v = val;
    if (klen != 64 || vlen != 2 || v[1] != 1)
        return 0;
    if (memcmp((const uint8_t *)key + 32, m->me, 32) == 0)
        m->me_active = true;
    else
        ent_growbuf_add(&m->b, (const uint8_t *)key + 32, 32);
    return m->b.err;
}

/* The partners obj counts for now: none unless the object is active and
 * me an active member; then every other active member. */
static int state_now(ent_txn *txn, const uint8_t me[32], const uint8_t obj[32],
                     state *s) {
    const uint8_t *v;
    size_t n;
    mem_scan m = {.me = me};
    memset(s, 0, sizeof(*s));
    int rc = ent_txn_get(txn, ENT_TBL_OBJECTS, obj, 32, (const void **)&v, &n);
    if (rc == ENT_ENOENT || (rc == ENT_OK && (n < 2 || v[1] != 0)))
        return ENT_OK;
    if (rc != ENT_OK)
        return rc;
    rc = ent_txn_scan(txn, ENT_TBL_MEMBERS, obj, 32, members_scan, &m);
    if (rc == ENT_OK)
        rc = m.b.err;
    if (rc != ENT_OK || !m.me_active || m.b.n == 0) {
        free(m.b.p);
        return rc;
    }
    s->orgs = m.b.p;
    s->k = m.b.n / 32;
    rc = ent_setdig_object_digest(txn, obj, s->digest);
    if (rc != ENT_OK) {
        free(s->orgs);
        memset(s, 0, sizeof(*s));
    }
    return rc;
}

/* ---- fingerprint rows -------------------------------------------------- */

/* Adds term (add) or takes it away from the row key, and the count by
 * dcount. */
static int row_apply(ent_txn *txn, const uint8_t *key, size_t klen,
                     const uint8_t term[32], int dsum, int dcount) {
    const uint8_t *v;
    size_t n;
    ent_setfp fp;
    uint8_t out[FP_LEN];
    memset(&fp, 0, sizeof(fp));
    int rc =
        ent_txn_get(txn, ENT_TBL_SET_DIGESTS, key, klen, (const void **)&v, &n);
    if (rc == ENT_OK) {
        if (n != FP_LEN)
            return ENT_ECORRUPT;
        fp_get(v, &fp);
    } else if (rc != ENT_ENOENT) {
        return rc;
    }
    if (dsum != 0)
        ent_setdig_add(fp.sum, term, dsum > 0);
    fp.count += (uint64_t)(int64_t)dcount;
    if (fp.count == 0)
        return rc == ENT_OK ? ent_txn_del(txn, ENT_TBL_SET_DIGESTS, key, klen)
                            : ENT_OK;
    memcpy(out, fp.sum, 32);
    ent_be64_put(out + 32, fp.count);
    return ent_txn_put(txn, ENT_TBL_SET_DIGESTS, key, klen, out, FP_LEN, 0);
}

/* The three rows of org for obj: total, first byte, first two bytes. */
static int rows_apply(ent_txn *txn, const uint8_t org[32],
                      const uint8_t obj[32], const uint8_t term[32], int dsum,
                      int dcount) {
    uint8_t k[35];
    memcpy(k + 1, org, 32);
    k[33] = obj[0];
    k[34] = obj[1];
    k[0] = 'T';
    int rc = row_apply(txn, k, 33, term, dsum, dcount);
    k[0] = 'B';
    if (rc == ENT_OK)
        rc = row_apply(txn, k, 34, term, dsum, dcount);
    k[0] = 'L';
    if (rc == ENT_OK)
        rc = row_apply(txn, k, 35, term, dsum, dcount);
    return rc;
}

/* Moves obj's terms from the state recorded in its 'o' row to now. */
static int refresh_one(ent_txn *txn, const uint8_t me[32],
                       const uint8_t obj[32]) {
    uint8_t ok[33], told[32], tnew[32];
    const uint8_t *v;
    size_t n;
    state now;
    ok[0] = 'o';
    memcpy(ok + 1, obj, 32);
    int rc = state_now(txn, me, obj, &now);
    if (rc != ENT_OK)
        return rc;
    const uint8_t *od = NULL, *oorgs = NULL;
    size_t ok_n = 0;
    rc = ent_txn_get(txn, ENT_TBL_SET_DIGESTS, ok, 33, (const void **)&v, &n);
    if (rc == ENT_OK) {
        if (n < 64 || n % 32 != 0) {
            rc = ENT_ECORRUPT;
            goto out;
        }
        od = v;
        oorgs = v + 32;
        ok_n = n / 32 - 1;
    } else if (rc != ENT_ENOENT) {
        goto out;
    }
    rc = ENT_OK;
    if (ok_n == now.k &&
        (now.k == 0 || (memcmp(od, now.digest, 32) == 0 &&
                        memcmp(oorgs, now.orgs, now.k * 32) == 0)))
        goto out; /* nothing changed */
    /* copy the old row out: the puts below may move it */
    uint8_t *old = NULL;
    if (ok_n > 0) {
        old = malloc(32 * (ok_n + 1));
        if (old == NULL) {
            rc = ENT_ENOMEM;
            goto out;
        }
        memcpy(old, od, 32 * (ok_n + 1));
        ent_setdig_term(obj, old, told);
    }
    if (now.k > 0)
        ent_setdig_term(obj, now.digest, tnew);
    bool same_digest =
        ok_n > 0 && now.k > 0 && memcmp(old, now.digest, 32) == 0;
    size_t i = 0, j = 0;
    while (rc == ENT_OK && (i < ok_n || j < now.k)) {
        const uint8_t *a = i < ok_n ? old + 32 * (i + 1) : NULL;
        const uint8_t *b = j < now.k ? now.orgs + 32 * j : NULL;
        int c = a == NULL ? 1 : b == NULL ? -1 : memcmp(a, b, 32);
        if (c < 0) { /* no longer counts for a */
            rc = rows_apply(txn, a, obj, told, -1, -1);
            i++;
        } else if (c > 0) { /* newly counts for b */
            rc = rows_apply(txn, b, obj, tnew, 1, 1);
            j++;
        } else {
            if (!same_digest) {
                uint8_t d[32];
                memcpy(d, tnew, 32);
                ent_setdig_add(d, told, false);
                rc = rows_apply(txn, a, obj, d, 1, 0);
            }
            i++;
            j++;
        }
    }
    free(old);
    if (rc != ENT_OK)
        goto out;
    if (now.k == 0) {
        rc = ok_n > 0 ? ent_txn_del(txn, ENT_TBL_SET_DIGESTS, ok, 33) : ENT_OK;
    } else {
        uint8_t *row = malloc(32 * (now.k + 1));
        if (row == NULL) {
            rc = ENT_ENOMEM;
            goto out;
        }
        memcpy(row, now.digest, 32);
        memcpy(row + 32, now.orgs, 32 * now.k);
        rc = ent_txn_put(txn, ENT_TBL_SET_DIGESTS, ok, 33, row,
                         32 * (now.k + 1), 0);
        free(row);
    }
out:
    free(now.orgs);
    return rc;
}

/* ---- building ---------------------------------------------------------- */

bool ent_setdig_built(ent_txn *txn) {
    const void *v;
    size_t n;
    return ent_txn_get(txn, ENT_TBL_META, META_KEY, sizeof(META_KEY) - 1, &v,
                       &n) == ENT_OK;
}

static int all_keys(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    ent_growbuf *b = data;
    uint8_t k[36] = {0};
    (void)val;
    (void)vlen;
    if (klen > 35)
        return ENT_ECORRUPT;
    k[0] = (uint8_t)klen;
    memcpy(k + 1, key, klen);
    ent_growbuf_add(b, k, sizeof(k));
    return b->err;
}

static int obj_ids(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    ent_growbuf *b = data;
    (void)val;
    (void)vlen;
    if (klen == 32)
        ent_growbuf_add(b, key, 32);
    return b->err;
}

int ent_setdig_ensure(ent_txn *txn, const uint8_t me[32]) {
    if (ent_setdig_built(txn))
        return ENT_OK;
    ent_growbuf k = {0}, ids = {0};
    /* rows left by a build that did not record its flag: start afresh */
    int rc = ent_txn_scan(txn, ENT_TBL_SET_DIGESTS, NULL, 0, all_keys, &k);
    for (size_t i = 0; rc == ENT_OK && i < k.n / 36; i++)
        rc = ent_txn_del(txn, ENT_TBL_SET_DIGESTS, k.p + 36 * i + 1,
                         k.p[36 * i]);
    if (rc == ENT_OK)
        rc = ent_txn_scan(txn, ENT_TBL_OBJECTS, NULL, 0, obj_ids, &ids);
    if (rc == ENT_OK)
        rc = ids.err;
    for (size_t i = 0; rc == ENT_OK && i < ids.n / 32; i++)
        rc = refresh_one(txn, me, ids.p + 32 * i);
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_META, META_KEY, sizeof(META_KEY) - 1,
                         "\x01", 1, 0);
    free(k.p);
    free(ids.p);
    return rc;
}

int ent_setdig_refresh(ent_txn *txn, const uint8_t me[32],
                       const uint8_t obj[32]) {
    if (!ent_setdig_built(txn))
        return ent_setdig_ensure(txn, me); /* refreshes every object */
    return refresh_one(txn, me, obj);
}

/* ---- reading ----------------------------------------------------------- */

typedef struct agg {
    size_t at;    /* index in the key of the byte that varies */
    uint8_t mask; /* rows kept: (key[at] & mask) == want */
    uint8_t want;
    unsigned shift; /* child: (key[at] >> shift) & 15; 8: all into 0 */
    ent_setfp *out;
    int err;
} agg;

static int agg_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    agg *a = data;
    const uint8_t *k = key;
    ent_setfp fp;
    if (klen != a->at + 1 || vlen != FP_LEN)
        return klen == a->at + 1 ? ENT_ECORRUPT : 0;
    if ((k[a->at] & a->mask) != a->want)
        return 0;
    fp_get(val, &fp);
    ent_setfp *o = &a->out[a->shift >= 8 ? 0 : (k[a->at] >> a->shift) & 15];
    ent_setdig_add(o->sum, fp.sum, true);
    o->count += fp.count;
    return 0;
}

static int fp_row(ent_txn *txn, const uint8_t *key, size_t klen,
                  ent_setfp *out) {
    const void *v;
    size_t n;
    memset(out, 0, sizeof(*out));
    int rc = ent_txn_get(txn, ENT_TBL_SET_DIGESTS, key, klen, &v, &n);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc == ENT_OK && n != FP_LEN)
        rc = ENT_ECORRUPT;
    if (rc == ENT_OK)
        fp_get(v, out);
    return rc;
}

/* Sums the rows under tag || org || (prefix[0] when tag is 'L') whose
 * next byte passes (mask, want), by child (shift). */
static int agg_rows(ent_txn *txn, const uint8_t org[32], char tag,
                    const uint8_t prefix[2], uint8_t mask, unsigned shift,
                    ent_setfp *out) {
    uint8_t k[34];
    size_t plen = tag == 'L' ? 34 : 33;
    k[0] = (uint8_t)tag;
    memcpy(k + 1, org, 32);
    k[33] = prefix[0];
    agg a = {.at = plen,
             .mask = mask,
             .want = (uint8_t)(prefix[plen - 33] & mask),
             .shift = shift,
             .out = out};
    return ent_txn_scan(txn, ENT_TBL_SET_DIGESTS, k, plen, agg_scan, &a);
}

int ent_setdig_range(ent_txn *txn, const uint8_t org[32],
                     const uint8_t prefix[2], unsigned bits, ent_setfp *out) {
    uint8_t k[35];
    memset(out, 0, sizeof(*out));
    if (bits > ENT_SETDIG_LEAF_BITS || bits % 4 != 0)
        return ENT_EINVAL;
    if (!ent_setdig_built(txn))
        return ENT_ENOENT;
    memcpy(k + 1, org, 32);
    k[33] = prefix[0];
    k[34] = prefix[1];
    switch (bits) {
    case 0:
        k[0] = 'T';
        return fp_row(txn, k, 33, out);
    case 8:
        k[0] = 'B';
        return fp_row(txn, k, 34, out);
    case 16:
        k[0] = 'L';
        return fp_row(txn, k, 35, out);
    case 4:
        return agg_rows(txn, org, 'B', prefix, 0xf0, 8, out);
    default:
        return agg_rows(txn, org, 'L', prefix, 0xf0, 8, out);
    }
}

int ent_setdig_children(ent_txn *txn, const uint8_t org[32],
                        const uint8_t prefix[2], unsigned bits,
                        ent_setfp out[ENT_SETDIG_FANOUT]) {
    memset(out, 0, sizeof(*out) * ENT_SETDIG_FANOUT);
    if (bits >= ENT_SETDIG_LEAF_BITS || bits % 4 != 0)
        return ENT_EINVAL;
    if (!ent_setdig_built(txn))
        return ENT_ENOENT;
    switch (bits) {
    case 0:
        return agg_rows(txn, org, 'B', prefix, 0x00, 4, out);
    case 4:
        return agg_rows(txn, org, 'B', prefix, 0xf0, 0, out);
    case 8:
        return agg_rows(txn, org, 'L', prefix, 0x00, 4, out);
    default:
        return agg_rows(txn, org, 'L', prefix, 0xf0, 0, out);
    }
}

typedef struct ent_scan {
    const uint8_t *org;
    const uint8_t *prefix;
    unsigned bits;
    ent_growbuf b;
} ent_scan;

static bool in_range(const uint8_t *id, const uint8_t *prefix, unsigned bits) {
    size_t full = bits / 8;
    if (memcmp(id, prefix, full) != 0)
        return false;
    return bits % 8 == 0 || (id[full] & 0xf0) == (prefix[full] & 0xf0);
}

static int entries_scan(void *data, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    ent_scan *s = data;
    const uint8_t *k = key, *v = val;
    if (klen != 33 || vlen < 64 || vlen % 32 != 0)
        return klen == 33 ? ENT_ECORRUPT : 0;
    if (!in_range(k + 1, s->prefix, s->bits))
        return 0;
    size_t cnt = vlen / 32 - 1, lo = 0, hi = cnt; /* the orgs, sorted */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (memcmp(v + 32 + 32 * mid, s->org, 32) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == cnt || memcmp(v + 32 + 32 * lo, s->org, 32) != 0)
        return 0;
    ent_growbuf_add(&s->b, k + 1, 32);
    ent_growbuf_add(&s->b, v, 32);
    return s->b.err;
}

/* The second id bytes of org's 'L' rows under its first byte (s, 8 or 12
 * bits): the 16-bit ranges where org shares an object, ascending. */
typedef struct l_scan {
    const uint8_t *prefix;
    unsigned bits;
    uint8_t second[256];
    size_t n;
} l_scan;

static int l_rows(void *data, const void *key, size_t klen, const void *val,
                  size_t vlen) {
    l_scan *l = data;
    const uint8_t *k = key;
    if (klen != 35)
        return ENT_ECORRUPT;
    if (l->bits == 12 && (k[34] & 0xf0) != (l->prefix[1] & 0xf0))
        return 0;
    if (l->n < sizeof(l->second))
        l->second[l->n++] = k[34];
    return 0;
}

/* At most this many 16-bit ranges are read one by one (below). */
#define ENTRIES_GUIDED_MAX 32

/*
 * An 8- or 12-bit range where org's 'L' rows show objects in at most
 * ENTRIES_GUIDED_MAX 16-bit ranges reads the 'o' rows of just those 2 id
 * bytes: what it reads follows org's few objects in the range, not the
 * node's (every 'o' row of the first byte is 1/256 of all objects, shared
 * with org or not: what a LEAF answer to a partner sharing a few cost
 * before, spec/gossip.md §13.3). With more, one scan of the first byte's
 * 'o' rows costs less than as many seeks (measured: 256 seeks of 3 rows
 * 2.7 times one scan of 781 rows). A 16-bit range is one 'o' prefix
 * anyway, and wider ones (no peer asks for them) read every 'o' row of
 * theirs.
 */
int ent_setdig_entries(ent_txn *txn, const uint8_t org[32],
                       const uint8_t prefix[2], unsigned bits,
                       ent_setdig_entry **out, size_t *n) {
    uint8_t k[35] = {'o', prefix[0], prefix[1]};
    ent_scan s = {.org = org, .prefix = prefix, .bits = bits};
    int rc = ENT_OK;
    *out = NULL;
    *n = 0;
    if (bits > ENT_SETDIG_LEAF_BITS || bits % 4 != 0)
        return ENT_EINVAL;
    if (bits == 8 || bits == 12) {
        l_scan l = {.prefix = prefix, .bits = bits};
        k[0] = 'L';
        memcpy(k + 1, org, 32);
        k[33] = prefix[0];
        rc = ent_txn_scan(txn, ENT_TBL_SET_DIGESTS, k, 34, l_rows, &l);
        k[0] = 'o';
        k[1] = prefix[0];
        if (l.n > ENTRIES_GUIDED_MAX && rc == ENT_OK)
            rc = ent_txn_scan(txn, ENT_TBL_SET_DIGESTS, k, 2, entries_scan,
                              &s);
        for (size_t i = 0; i < l.n && l.n <= ENTRIES_GUIDED_MAX &&
                           rc == ENT_OK;
             i++) {
            k[2] = l.second[i];
            rc = ent_txn_scan(txn, ENT_TBL_SET_DIGESTS, k, 3, entries_scan,
                              &s);
        }
    } else {
        rc = ent_txn_scan(txn, ENT_TBL_SET_DIGESTS, k, 1 + bits / 8,
                          entries_scan, &s);
    }
    if (rc == ENT_OK)
        rc = s.b.err;
    if (rc != ENT_OK) {
        free(s.b.p);
        return rc;
    }
    *out = (ent_setdig_entry *)s.b.p;
    *n = s.b.n / 64;
    return ENT_OK;
}

/* ---- verification ------------------------------------------------------ */

typedef struct vrow {
    uint8_t key[35];
    uint8_t klen;
    ent_setfp fp;
} vrow;

static int vrow_cmp(const void *a, const void *b) {
    const vrow *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c != 0 ? c : (int)x->klen - (int)y->klen;
}

typedef struct vcheck {
    vrow *rows;
    size_t n, i;
    bool equal;
} vcheck;

static int vcheck_scan(void *data, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    vcheck *c = data;
    const uint8_t *k = key;
    ent_setfp fp;
    if (klen == 0 || k[0] == 'o')
        return 0;
    if (c->i >= c->n || vlen != FP_LEN || klen != c->rows[c->i].klen ||
        memcmp(k, c->rows[c->i].key, klen) != 0) {
        c->equal = false;
        return 1;
    }
    fp_get(val, &fp);
    if (memcmp(fp.sum, c->rows[c->i].fp.sum, 32) != 0 ||
        fp.count != c->rows[c->i].fp.count)
        c->equal = false;
    c->i++;
    return c->equal ? 0 : 1;
}

int ent_setdig_verify(ent_txn *txn, const uint8_t me[32], bool *equal) {
    ent_growbuf ids = {0};
    vrow *rows = NULL;
    size_t n = 0, cap = 0;
    *equal = true;
    if (!ent_setdig_built(txn))
        return ENT_ENOENT;
    int rc = ent_txn_scan(txn, ENT_TBL_OBJECTS, NULL, 0, obj_ids, &ids);
    if (rc == ENT_OK)
        rc = ids.err;
    for (size_t i = 0; rc == ENT_OK && i < ids.n / 32; i++) {
        const uint8_t *obj = ids.p + 32 * i;
        state s;
        uint8_t ok[33], t[32];
        const uint8_t *v;
        size_t vn;
        if ((rc = state_now(txn, me, obj, &s)) != ENT_OK)
            break;
        ok[0] = 'o';
        memcpy(ok + 1, obj, 32);
        int g = ent_txn_get(txn, ENT_TBL_SET_DIGESTS, ok, 33, (const void **)&v,
                            &vn);
        if (s.k == 0 ? g != ENT_ENOENT
                     : (g != ENT_OK || vn != 32 * (s.k + 1) ||
                        memcmp(v, s.digest, 32) != 0 ||
                        memcmp(v + 32, s.orgs, 32 * s.k) != 0))
            *equal = false;
        if (s.k > 0)
            ent_setdig_term(obj, s.digest, t);
        for (size_t j = 0; j < s.k && rc == ENT_OK; j++) {
            if (n + 3 > cap) {
                size_t nc = cap ? cap * 2 : 64;
                vrow *nr = realloc(rows, nc * sizeof(*nr));
                if (nr == NULL) {
                    rc = ENT_ENOMEM;
                    break;
                }
                rows = nr;
                cap = nc;
            }
            for (int l = 0; l < 3; l++) {
                vrow *r = &rows[n++];
                memset(r, 0, sizeof(*r));
                r->key[0] = (uint8_t) "TBL"[l];
                memcpy(r->key + 1, s.orgs + 32 * j, 32);
                memcpy(r->key + 33, obj, 2);
                r->klen = (uint8_t)(33 + l);
                memcpy(r->fp.sum, t, 32);
                r->fp.count = 1;
            }
        }
        free(s.orgs);
    }
    if (rc == ENT_OK && n > 0) {
        qsort(rows, n, sizeof(*rows), vrow_cmp);
        size_t w = 0;
        for (size_t i = 0; i < n; i++) {
            if (w > 0 && vrow_cmp(&rows[w - 1], &rows[i]) == 0) {
                ent_setdig_add(rows[w - 1].fp.sum, rows[i].fp.sum, true);
                rows[w - 1].fp.count += rows[i].fp.count;
            } else {
                rows[w++] = rows[i];
            }
        }
        n = w;
    }
    if (rc == ENT_OK) {
        vcheck c = {.rows = rows, .n = n, .equal = true};
        rc = ent_txn_scan(txn, ENT_TBL_SET_DIGESTS, NULL, 0, vcheck_scan, &c);
        if (!c.equal || c.i != n)
            *equal = false;
    }
    free(rows);
    free(ids.p);
    return rc;
}
