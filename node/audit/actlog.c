/*
 * actlog.c - the activity log (spec/audit.md §7-§8, storage in
 * spec/storage.md "log", "log_meta" and "obj_local"): entries, the
 * frontier, signed heads, the object directory, and the kept subtrees of
 * the Merkle tree that make an inclusion or consistency proof cost
 * O(log n) reads.
 */
#include "node/bytes.h"
#include "node/audit/actlog.h"

#include <stdlib.h>
#include <string.h>

#include "node/audit/directory.h"
#include "node/err.h"
#include "node/home.h"
#include "protocol/cbor.h"

#define ENTRY_ITEMS 11   /* version .. prev, oprev, dir */
#define ENTRY_ITEMS_V2 9 /* version .. prev */
#define HEAD_ITEMS 5     /* org, size, root, time, sig */

/* What the entry decoder reads before it judges: large enough for any
 * entry of version 1 (10 items, at most 482 bytes) to be refused as
 * ENT_EVERSION rather than as too big or misshapen. A valid entry is at
 * most ENT_ACTLOG_ENTRY_MAX bytes. */
#define ENTRY_READ_MAX 512
#define ENTRY_READ_ITEMS 11

static const char FRONTIER_KEY[] = "frontier";
static const char HEAD_PREFIX[] = "head";
#define HEAD_KEY_LEN (sizeof(HEAD_PREFIX) - 1 + 8)
/* the object directory (spec/audit.md §7.1): "dirsize" -> number of
 * objects (present once the directory is built); in table "obj_local",
 * object || 'd' -> its leaf position || its latest entry index (a
 * numbered table: a new object's row goes to the end). One get and one
 * put of the same row per append; a checkpoint reads every row and orders
 * them by position. */
static const char DIRSIZE_KEY[] = "dirsize";
#define OBJ_KEY_LEN 33
#define OBJ_VAL_LEN 16
#define DIR_TAG 'd'

static void dir_key(uint8_t key[OBJ_KEY_LEN], const uint8_t object[32]) {
    memcpy(key, object, 32);
    key[32] = DIR_TAG;
}
/* the kept subtrees of the Merkle tree (spec/audit.md §4.3): "tree" ||
 * level (1) || index (8, big-endian) -> the hash of the perfect subtree
 * of 2^level leaves starting at leaf index * 2^level, for every level >=
 * ENT_ACTLOG_TREE_MIN_LEVEL that the log has completed; "treeto" -> the
 * log size (8, big-endian) up to which they are all there. */
static const char TREE_PREFIX[] = "tree";
#define TREE_KEY_LEN (sizeof(TREE_PREFIX) - 1 + 1 + 8)
static const char TREETO_KEY[] = "treeto";

static const char *const kind_names[ENT_LOG_KIND__COUNT] = {
    "op_authored",    "op_accepted", "op_rejected",
    "member_added",   "member_removed", "key_rotated",
    "invite_issued",  "invite_used", "equivocation",
    "checkpoint",     "partner_added", "overlap_share",
    "overlap_run",
};

const char *ent_actlog_kind_name(unsigned kind) {
    return kind < ENT_LOG_KIND__COUNT ? kind_names[kind] : NULL;
}

static bool all_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* ------------------------------------------------------------- entries */

static unsigned version_of(const ent_actlog_entry *e) {
    return e->version == 0 ? ENT_ACTLOG_VERSION : e->version;
}

/*
 * The rules of spec/audit.md §7 that one entry can be checked against on
 * its own; the encoder and the decoder apply the same ones, so that every
 * entry that decodes also encodes, to the same bytes.
 */
static int entry_rules(const ent_actlog_entry *e) {
    unsigned v = version_of(e);
    bool cp = e->kind == ENT_LOG_CHECKPOINT;
    if (v != ENT_ACTLOG_VERSION && v != ENT_ACTLOG_VERSION_V2)
        return ENT_EINVAL;
    if (e->kind >= ENT_LOG_KIND__COUNT ||
        e->reason_len > ENT_ACTLOG_REASON_MAX ||
        memchr(e->reason, 0, e->reason_len) != NULL ||
        !ent_cbor_utf8_valid(e->reason, e->reason_len))
        return ENT_EINVAL;
    if ((!e->has_object && !all_zero(e->object, 32)) ||
        (!e->has_op && !all_zero(e->op, 32)) ||
        (!e->has_org && !all_zero(e->org, 32)) ||
        (!e->has_dir && (e->dir_size != 0 ||
                         !all_zero(e->dir_root, sizeof(e->dir_root)))))
        return ENT_EINVAL;
    if (v == ENT_ACTLOG_VERSION_V2)
        return cp || e->has_dir || e->oprev != e->index ? ENT_EINVAL : ENT_OK;
    if (e->oprev > e->index || (!e->has_object && e->oprev != e->index))
        return ENT_EINVAL;
    if (cp != e->has_dir)
        return ENT_EINVAL;
    if (cp && (e->has_object || e->has_op || e->has_org || e->reason_len > 0))
        return ENT_EINVAL;
    return ENT_OK;
}

static void write_opt(ent_cbor_writer *w, bool has, const uint8_t id[32]) {
    ent_cbor_write_bytes(w, id, has ? 32 : 0);
}

/* Writes the entry into buf; buf of ENT_ACTLOG_ENTRY_MAX always fits. */
static int entry_write(const ent_actlog_entry *e, uint8_t *buf, size_t cap,
                       size_t *len) {
    ent_cbor_writer w;
    unsigned v = version_of(e);
    int rc = entry_rules(e);
    if (rc != ENT_OK)
        return rc;
    ent_cbor_writer_init(&w, buf, cap);
    ent_cbor_write_array(&w, v == ENT_ACTLOG_VERSION ? ENTRY_ITEMS
                                                     : ENTRY_ITEMS_V2);
    ent_cbor_write_uint(&w, v);
    ent_cbor_write_uint(&w, e->index);
    ent_cbor_write_uint(&w, e->time);
    ent_cbor_write_uint(&w, e->kind);
    write_opt(&w, e->has_object, e->object);
    write_opt(&w, e->has_op, e->op);
    write_opt(&w, e->has_org, e->org);
    ent_cbor_write_text(&w, e->reason, e->reason_len);
    ent_cbor_write_bytes(&w, e->prev, sizeof(e->prev));
    if (v == ENT_ACTLOG_VERSION) {
        uint8_t dir[ENT_DIR_COMMIT_LEN];
        ent_cbor_write_uint(&w, e->oprev);
        ent_be64_put(dir, e->dir_size);
        memcpy(dir + 8, e->dir_root, ENT_MERKLE_HASH_LEN);
        ent_cbor_write_bytes(&w, dir, e->has_dir ? sizeof(dir) : 0);
    }
    if (w.err != ENT_OK)
        return w.err;
    *len = w.len;
    return ENT_OK;
}

int ent_actlog_entry_encode(const ent_actlog_entry *e, uint8_t **out,
                            size_t *len) {
    uint8_t buf[ENT_ACTLOG_ENTRY_MAX];
    size_t n = 0;
    int rc;
    *out = NULL;
    *len = 0;
    if ((rc = entry_write(e, buf, sizeof(buf), &n)) != ENT_OK)
        return rc;
    if ((*out = malloc(n)) == NULL)
        return ENT_ENOMEM;
    memcpy(*out, buf, n);
    *len = n;
    return ENT_OK;
}

static int read_opt(ent_cbor_reader *r, bool *has, uint8_t id[32]) {
    const uint8_t *p;
    size_t n;
    int rc = ent_cbor_read_bytes(r, &p, &n);
    if (rc != ENT_OK)
        return rc;
    if (n != 0 && n != 32)
        return ENT_ECORRUPT;
    *has = n == 32;
    memset(id, 0, 32);
    if (n == 32)
        memcpy(id, p, 32);
    return ENT_OK;
}

int ent_actlog_entry_decode(ent_actlog_entry *e, const uint8_t *buf,
                            size_t len) {
    static const ent_cbor_limits lim = {
        .max_depth = 1,
        .max_items = ENTRY_READ_ITEMS,
        .max_total = ENTRY_READ_ITEMS + 1,
        .max_str = ENT_ACTLOG_REASON_MAX,
        .max_size = ENTRY_READ_MAX,
    };
    ent_cbor_reader r;
    uint64_t v, kind;
    const char *s;
    const uint8_t *p;
    size_t n;
    int rc;
    memset(e, 0, sizeof(*e));
    if (buf == NULL)
        return ENT_EINVAL;
    if ((rc = ent_cbor_check(buf, len, &lim)) != ENT_OK)
        goto out;
    ent_cbor_reader_init(&r, buf, len);
    /* the version first: an entry of another version is refused as such,
     * whatever its shape */
    if ((rc = ent_cbor_read_array(&r, &n)) != ENT_OK)
        goto out;
    if (n == 0) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    if ((rc = ent_cbor_read_uint(&r, &v)) != ENT_OK)
        goto out;
    if (v != ENT_ACTLOG_VERSION && v != ENT_ACTLOG_VERSION_V2) {
        rc = ENT_EVERSION;
        goto out;
    }
    if (n != (v == ENT_ACTLOG_VERSION ? ENTRY_ITEMS : ENTRY_ITEMS_V2)) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    e->version = (uint8_t)v;
    if ((rc = ent_cbor_read_uint(&r, &e->index)) != ENT_OK ||
        (rc = ent_cbor_read_uint(&r, &e->time)) != ENT_OK ||
        (rc = ent_cbor_read_uint(&r, &kind)) != ENT_OK)
        goto out;
    if (kind >= ENT_LOG_KIND__COUNT ||
        (v == ENT_ACTLOG_VERSION_V2 && kind == ENT_LOG_CHECKPOINT)) {
        rc = ENT_EVERSION;
        goto out;
    }
    e->kind = (uint8_t)kind;
    if ((rc = read_opt(&r, &e->has_object, e->object)) != ENT_OK ||
        (rc = read_opt(&r, &e->has_op, e->op)) != ENT_OK ||
        (rc = read_opt(&r, &e->has_org, e->org)) != ENT_OK ||
        (rc = ent_cbor_read_text(&r, &s, &n)) != ENT_OK)
        goto out;
    if (n > ENT_ACTLOG_REASON_MAX || memchr(s, 0, n) != NULL) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    memcpy(e->reason, s, n);
    e->reason[n] = '\0';
    e->reason_len = n;
    if ((rc = ent_cbor_read_bytes_exact(&r, e->prev, sizeof(e->prev))) !=
        ENT_OK)
        goto out;
    e->oprev = e->index;
    if (v == ENT_ACTLOG_VERSION) {
        if ((rc = ent_cbor_read_uint(&r, &e->oprev)) != ENT_OK ||
            (rc = ent_cbor_read_bytes(&r, &p, &n)) != ENT_OK)
            goto out;
        if (n != 0 && n != ENT_DIR_COMMIT_LEN) {
            rc = ENT_ECORRUPT;
            goto out;
        }
        e->has_dir = n == ENT_DIR_COMMIT_LEN;
        if (e->has_dir) {
            e->dir_size = ent_be64_get(p);
            memcpy(e->dir_root, p + 8, sizeof(e->dir_root));
        }
    }
    if ((rc = ent_cbor_read_end(&r)) != ENT_OK)
        goto out;
    if (entry_rules(e) != ENT_OK)
        rc = ENT_ECORRUPT;
out:
    if (rc != ENT_OK)
        memset(e, 0, sizeof(*e));
    return rc;
}

/* --------------------------------------------------------------- heads */

int ent_actlog_head_encode(const ent_actlog_head *h, bool with_sig,
                           uint8_t *buf, size_t cap, size_t *len) {
    ent_cbor_writer w;
    if (h->size > ENT_MERKLE_MAX_SIZE)
        return ENT_EINVAL;
    ent_cbor_writer_init(&w, buf, cap);
    ent_cbor_write_array(&w, with_sig ? HEAD_ITEMS : HEAD_ITEMS - 1);
    ent_cbor_write_bytes(&w, h->org, sizeof(h->org));
    ent_cbor_write_uint(&w, h->size);
    ent_cbor_write_bytes(&w, h->root, sizeof(h->root));
    ent_cbor_write_uint(&w, h->time);
    if (with_sig)
        ent_cbor_write_bytes(&w, h->sig, sizeof(h->sig));
    if (w.err != ENT_OK)
        return w.err;
    *len = w.len;
    return ENT_OK;
}

int ent_actlog_head_decode(ent_actlog_head *h, const uint8_t *buf,
                           size_t len) {
    static const ent_cbor_limits lim = {
        .max_depth = 1,
        .max_items = HEAD_ITEMS,
        .max_total = HEAD_ITEMS + 1,
        .max_str = ENT_SIG_LEN,
        .max_size = ENT_ACTLOG_HEAD_MAX,
    };
    ent_cbor_reader r;
    size_t n;
    int rc;
    memset(h, 0, sizeof(*h));
    if (buf == NULL)
        return ENT_EINVAL;
    if ((rc = ent_cbor_check(buf, len, &lim)) != ENT_OK)
        goto out;
    ent_cbor_reader_init(&r, buf, len);
    if ((rc = ent_cbor_read_array(&r, &n)) != ENT_OK)
        goto out;
    if (n != HEAD_ITEMS) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    if ((rc = ent_cbor_read_bytes_exact(&r, h->org, sizeof(h->org))) !=
            ENT_OK ||
        (rc = ent_cbor_read_uint(&r, &h->size)) != ENT_OK ||
        (rc = ent_cbor_read_bytes_exact(&r, h->root, sizeof(h->root))) !=
            ENT_OK ||
        (rc = ent_cbor_read_uint(&r, &h->time)) != ENT_OK ||
        (rc = ent_cbor_read_bytes_exact(&r, h->sig, sizeof(h->sig))) !=
            ENT_OK ||
        (rc = ent_cbor_read_end(&r)) != ENT_OK)
        goto out;
    if (h->size > ENT_MERKLE_MAX_SIZE)
        rc = ENT_ECORRUPT;
out:
    if (rc != ENT_OK)
        memset(h, 0, sizeof(*h));
    return rc;
}

int ent_actlog_head_verify(const ent_actlog_head *h) {
    uint8_t buf[ENT_ACTLOG_HEAD_MAX];
    size_t n = 0;
    if (ent_actlog_head_encode(h, false, buf, sizeof(buf), &n) != ENT_OK)
        return ENT_EBADSIG;
    int rc = ent_sig_verify(h->org, ENT_SIGCTX_TREE_HEAD, buf, n, h->sig);
    return rc == ENT_OK || rc == ENT_ENOMEM ? rc : ENT_EBADSIG;
}

/* ------------------------------------------------------------- storage */

static int load_frontier(ent_txn *txn, ent_merkle_frontier *f) {
    const void *v;
    size_t vlen;
    int rc = ent_txn_get(txn, ENT_TBL_LOG_META, FRONTIER_KEY,
                         sizeof(FRONTIER_KEY) - 1, &v, &vlen);
    if (rc == ENT_ENOENT) {
        ent_merkle_frontier_init(f);
        return ENT_OK;
    }
    if (rc != ENT_OK)
        return rc;
    if (ent_merkle_frontier_decode(f, v, vlen) != ENT_OK)
        return ENT_ECORRUPT;
    return ENT_OK;
}

int ent_actlog_get(ent_txn *txn, uint64_t index, const uint8_t **buf,
                   size_t *len, uint8_t leaf[ENT_MERKLE_HASH_LEN]) {
    uint8_t key[8];
    const void *v;
    size_t vlen;
    ent_be64_put(key, index);
    int rc = ent_txn_get(txn, ENT_TBL_LOG, key, sizeof(key), &v, &vlen);
    if (rc != ENT_OK)
        return rc;
    if (vlen <= ENT_MERKLE_HASH_LEN)
        return ENT_ECORRUPT;
    if (leaf != NULL)
        memcpy(leaf, v, ENT_MERKLE_HASH_LEN);
    *buf = (const uint8_t *)v + ENT_MERKLE_HASH_LEN;
    *len = vlen - ENT_MERKLE_HASH_LEN;
    return ENT_OK;
}

/* ------------------------------------------------- the object directory */

static int dir_size_get(ent_txn *txn, uint64_t *m) {
    const void *v;
    size_t vlen;
    int rc = ent_txn_get(txn, ENT_TBL_LOG_META, DIRSIZE_KEY,
                         sizeof(DIRSIZE_KEY) - 1, &v, &vlen);
    if (rc != ENT_OK)
        return rc;
    if (vlen != 8)
        return ENT_ECORRUPT;
    *m = ent_be64_get(v);
    return ENT_OK;
}

static int dir_size_put(ent_txn *txn, uint64_t m) {
    uint8_t v[8];
    ent_be64_put(v, m);
    return ent_txn_put(txn, ENT_TBL_LOG_META, DIRSIZE_KEY,
                       sizeof(DIRSIZE_KEY) - 1, v, sizeof(v), 0);
}

/*
 * Entry `index` names object: its directory row becomes (position, index),
 * a new row at position M when the object is new. *oprev receives the
 * object's previous latest index, or index itself for a new object.
 */
static int dir_note(ent_txn *txn, const uint8_t object[32], uint64_t index,
                    uint64_t *oprev) {
    uint8_t key[OBJ_KEY_LEN], row[OBJ_VAL_LEN];
    const void *v;
    size_t vlen;
    uint64_t m;
    int rc;
    dir_key(key, object);
    rc = ent_txn_get(txn, ENT_TBL_OBJ_LOCAL, key, sizeof(key), &v, &vlen);
    if (rc == ENT_OK) {
        if (vlen != OBJ_VAL_LEN)
            return ENT_ECORRUPT;
        memcpy(row, v, 8);
        *oprev = ent_be64_get((const uint8_t *)v + 8);
        if (*oprev >= index)
            return ENT_ECORRUPT;
        ent_be64_put(row + 8, index);
        return ent_txn_put(txn, ENT_TBL_OBJ_LOCAL, key, sizeof(key), row,
                           sizeof(row), 0);
    }
    if (rc != ENT_ENOENT)
        return rc;
    if ((rc = dir_size_get(txn, &m)) != ENT_OK)
        return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
    ent_be64_put(row, m);
    ent_be64_put(row + 8, index);
    *oprev = index;
    if ((rc = ent_txn_put(txn, ENT_TBL_OBJ_LOCAL, key, sizeof(key), row,
                          sizeof(row), 0)) != ENT_OK)
        return rc;
    return dir_size_put(txn, m + 1);
}

static int build_scan(void *data, const void *key, size_t klen,
                      const void *val, size_t vlen) {
    ent_txn *txn = data;
    ent_actlog_entry e;
    uint64_t oprev;
    if (klen != 8 || vlen <= ENT_MERKLE_HASH_LEN ||
        ent_actlog_entry_decode(&e, (const uint8_t *)val + ENT_MERKLE_HASH_LEN,
                                vlen - ENT_MERKLE_HASH_LEN) != ENT_OK ||
        e.index != ent_be64_get(key))
        return ENT_ECORRUPT;
    if (!e.has_object)
        return 0;
    int rc = dir_note(txn, e.object, e.index, &oprev);
    if (rc == ENT_OK && e.version == ENT_ACTLOG_VERSION && oprev != e.oprev)
        rc = ENT_ECORRUPT;
    return rc;
}

/* Makes sure the directory rows exist: a log written before version 3
 * has none, and gets them from its stored entries, once. */
static int dir_ready(ent_txn *txn) {
    uint64_t m;
    int rc = dir_size_get(txn, &m);
    if (rc != ENT_ENOENT)
        return rc;
    if ((rc = dir_size_put(txn, 0)) != ENT_OK)
        return rc;
    return ent_txn_scan(txn, ENT_TBL_LOG, NULL, 0, build_scan, txn);
}

/* The directory rows, read in object order and put in position order. */
typedef struct dir_row {
    uint8_t object[32];
    uint64_t last;
    bool seen;
} dir_row;

struct dir_rows {
    dir_row *rows;
    uint64_t m;
};

/* A row of "obj_local": the directory rows are taken, the object's other
 * local rows (other tags) passed over. */
static int rows_scan(void *data, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    struct dir_rows *d = data;
    if (klen <= 32 || ((const uint8_t *)key)[32] != DIR_TAG)
        return 0;
    if (klen != OBJ_KEY_LEN || vlen != OBJ_VAL_LEN)
        return ENT_ECORRUPT;
    uint64_t pos = ent_be64_get(val);
    if (pos >= d->m || d->rows[pos].seen)
        return ENT_ECORRUPT;
    memcpy(d->rows[pos].object, key, 32);
    d->rows[pos].last = ent_be64_get((const uint8_t *)val + 8);
    d->rows[pos].seen = true;
    return 0;
}

static int replay_scan(void *data, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    ent_actlog_entry e;
    if (klen != 8 || vlen <= ENT_MERKLE_HASH_LEN ||
        ent_actlog_entry_decode(&e, (const uint8_t *)val + ENT_MERKLE_HASH_LEN,
                                vlen - ENT_MERKLE_HASH_LEN) != ENT_OK)
        return ENT_ECORRUPT;
    return e.has_object ? ent_dir_note(data, e.object, e.index, NULL) : 0;
}

int ent_actlog_directory(ent_txn *txn, uint64_t *size,
                         uint8_t root[ENT_MERKLE_HASH_LEN]) {
    uint64_t m;
    int rc = dir_size_get(txn, &m);
    if (rc == ENT_ENOENT) {
        /* not built yet (a read transaction cannot build it): replay */
        ent_dir *r = NULL;
        if ((rc = ent_dir_new(&r)) == ENT_OK &&
            (rc = ent_txn_scan(txn, ENT_TBL_LOG, NULL, 0, replay_scan, r)) ==
                ENT_OK) {
            *size = ent_dir_size(r);
            ent_dir_root(r, root);
        }
        ent_dir_free(r);
        return rc;
    }
    if (rc != ENT_OK)
        return rc;
    if (m > ENT_DIR_MAX)
        return ENT_ECORRUPT;
    struct dir_rows d = {NULL, m};
    ent_merkle_frontier *f = malloc(sizeof(*f));
    if (f == NULL || (m > 0 && (d.rows = calloc(m, sizeof(dir_row))) == NULL)) {
        free(f);
        return ENT_ENOMEM;
    }
    ent_merkle_frontier_init(f);
    /* in stored order: the rows are put in position order below */
    rc = ent_txn_scan_stored(txn, ENT_TBL_OBJ_LOCAL, rows_scan, &d);
    for (uint64_t i = 0; rc == ENT_OK && i < m; i++) {
        uint8_t leaf[ENT_MERKLE_HASH_LEN];
        if (!d.rows[i].seen) {
            rc = ENT_ECORRUPT;
            break;
        }
        ent_dir_leaf_hash(leaf, d.rows[i].object, d.rows[i].last);
        rc = ent_merkle_frontier_append(f, leaf);
    }
    if (rc == ENT_OK) {
        *size = m;
        ent_merkle_frontier_root(f, root);
    }
    free(d.rows);
    free(f);
    return rc;
}

/* ----------------------------------------------------- kept subtrees */

static void tree_key(uint8_t key[TREE_KEY_LEN], unsigned level,
                     uint64_t index) {
    memcpy(key, TREE_PREFIX, sizeof(TREE_PREFIX) - 1);
    key[sizeof(TREE_PREFIX) - 1] = (uint8_t)level;
    ent_be64_put(key + sizeof(TREE_PREFIX), index);
}

static int tree_put(void *data, unsigned level, uint64_t index,
                    const uint8_t h[ENT_MERKLE_HASH_LEN]) {
    uint8_t key[TREE_KEY_LEN];
    if (level < ENT_ACTLOG_TREE_MIN_LEVEL)
        return ENT_OK;
    tree_key(key, level, index);
    return ent_txn_put(data, ENT_TBL_LOG_META, key, sizeof(key), h,
                       ENT_MERKLE_HASH_LEN, 0);
}

/* The subtree accessor of the proofs: kept rows only. */
static int tree_get(void *data, unsigned level, uint64_t index,
                    uint8_t out[ENT_MERKLE_HASH_LEN]) {
    uint8_t key[TREE_KEY_LEN];
    const void *v;
    size_t vlen;
    if (level < ENT_ACTLOG_TREE_MIN_LEVEL)
        return ENT_ENOENT;
    tree_key(key, level, index);
    int rc = ent_txn_get(data, ENT_TBL_LOG_META, key, sizeof(key), &v, &vlen);
    if (rc != ENT_OK)
        return rc;
    if (vlen != ENT_MERKLE_HASH_LEN)
        return ENT_ECORRUPT;
    memcpy(out, v, ENT_MERKLE_HASH_LEN);
    return ENT_OK;
}

static int tree_to_get(ent_txn *txn, uint64_t *to) {
    const void *v;
    size_t vlen;
    int rc = ent_txn_get(txn, ENT_TBL_LOG_META, TREETO_KEY,
                         sizeof(TREETO_KEY) - 1, &v, &vlen);
    *to = 0;
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc != ENT_OK)
        return rc;
    if (vlen != 8)
        return ENT_ECORRUPT;
    *to = ent_be64_get(v);
    return ENT_OK;
}

static int tree_to_put(ent_txn *txn, uint64_t to) {
    uint8_t v[8];
    ent_be64_put(v, to);
    return ent_txn_put(txn, ENT_TBL_LOG_META, TREETO_KEY,
                       sizeof(TREETO_KEY) - 1, v, sizeof(v), 0);
}

/*
 * Keeps the subtrees of the first `size` leaves when they are not all kept
 * (a log an older binary wrote): one pass over the leaves, O(n) once.
 */
static int tree_catch_up(ent_txn *txn, uint64_t size) {
    ent_merkle_frontier f;
    uint8_t leaf[ENT_MERKLE_HASH_LEN];
    uint64_t to;
    int rc = tree_to_get(txn, &to);
    if (rc != ENT_OK || to == size)
        return rc;
    ent_merkle_frontier_init(&f);
    for (uint64_t i = 0; i < size && rc == ENT_OK; i++) {
        const uint8_t *b;
        size_t n;
        if ((rc = ent_actlog_get(txn, i, &b, &n, leaf)) != ENT_OK)
            break;
        if ((rc = ent_merkle_frontier_completed(&f, leaf, tree_put, txn)) ==
            ENT_OK)
            rc = ent_merkle_frontier_append(&f, leaf);
    }
    if (rc == ENT_ENOENT)
        rc = ENT_ECORRUPT;
    return rc == ENT_OK ? tree_to_put(txn, size) : rc;
}

/* ------------------------------------------------------------- append */

/* Appends x (kind, time, ids, reason and, for a checkpoint, dir filled
 * in): sets version, index, prev and oprev, then stores it. */
static int append_entry(ent_txn *txn, ent_actlog_entry *x,
                        uint64_t *index_out) {
    ent_merkle_frontier f;
    uint8_t val[ENT_MERKLE_HASH_LEN + ENT_ACTLOG_ENTRY_MAX];
    uint8_t fbuf[ENT_MERKLE_FRONTIER_MAX_LEN];
    uint8_t key[8];
    size_t n = 0, flen = 0;
    int rc;
    if ((rc = load_frontier(txn, &f)) != ENT_OK)
        return rc;
    if (f.size >= ENT_MERKLE_MAX_SIZE)
        return ENT_ELIMIT;
    if ((rc = dir_ready(txn)) != ENT_OK)
        return rc;
    x->version = ENT_ACTLOG_VERSION;
    x->index = f.size;
    x->oprev = x->index;
    memset(x->prev, 0, sizeof(x->prev));
    if (x->index > 0) {
        const uint8_t *pb;
        size_t plen;
        if ((rc = ent_actlog_get(txn, x->index - 1, &pb, &plen, NULL)) !=
            ENT_OK)
            return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
        ent_hash(x->prev, pb, plen);
    }
    if (x->has_object &&
        (rc = dir_note(txn, x->object, x->index, &x->oprev)) != ENT_OK)
        return rc;
    if ((rc = entry_write(x, val + ENT_MERKLE_HASH_LEN,
                          sizeof(val) - ENT_MERKLE_HASH_LEN, &n)) != ENT_OK)
        return rc;
    ent_merkle_leaf_hash(val, val + ENT_MERKLE_HASH_LEN, n);
    /* the subtrees this leaf completes are kept for O(log n) proofs */
    if ((rc = tree_catch_up(txn, f.size)) != ENT_OK ||
        (rc = ent_merkle_frontier_completed(&f, val, tree_put, txn)) !=
            ENT_OK ||
        (rc = tree_to_put(txn, f.size + 1)) != ENT_OK)
        return rc;
    if ((rc = ent_merkle_frontier_append(&f, val)) != ENT_OK)
        return rc;
    ent_be64_put(key, x->index);
    if ((rc = ent_txn_put(txn, ENT_TBL_LOG, key, sizeof(key), val,
                          ENT_MERKLE_HASH_LEN + n, ENT_PUT_APPEND)) != ENT_OK)
        return rc;
    if ((rc = ent_merkle_frontier_encode(&f, fbuf, sizeof(fbuf), &flen)) !=
            ENT_OK ||
        (rc = ent_txn_put(txn, ENT_TBL_LOG_META, FRONTIER_KEY,
                          sizeof(FRONTIER_KEY) - 1, fbuf, flen, 0)) != ENT_OK)
        return rc;
    if (index_out != NULL)
        *index_out = x->index;
    return ENT_OK;
}

int ent_actlog_append(ent_txn *txn, const ent_actlog_entry *e,
                      uint64_t *index_out) {
    ent_actlog_entry x;
    if (txn == NULL || e == NULL || e->kind == ENT_LOG_CHECKPOINT ||
        e->has_dir)
        return ENT_EINVAL;
    x = *e;
    x.version = ENT_ACTLOG_VERSION;
    x.index = x.oprev = 0;
    if (entry_rules(&x) != ENT_OK)
        return ENT_EINVAL;
    return append_entry(txn, &x, index_out);
}

/* Appends a checkpoint unless the last entry of a non-empty log is one. */
static int checkpoint(ent_txn *txn, uint64_t time) {
    ent_actlog_entry last, x;
    ent_merkle_frontier f;
    const uint8_t *b;
    size_t n;
    int rc;
    if ((rc = load_frontier(txn, &f)) != ENT_OK)
        return rc;
    if (f.size == 0)
        return ENT_OK;
    if ((rc = ent_actlog_get(txn, f.size - 1, &b, &n, NULL)) != ENT_OK)
        return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
    if (ent_actlog_entry_decode(&last, b, n) != ENT_OK)
        return ENT_ECORRUPT;
    if (last.kind == ENT_LOG_CHECKPOINT)
        return ENT_OK;
    if ((rc = dir_ready(txn)) != ENT_OK)
        return rc;
    memset(&x, 0, sizeof(x));
    x.time = time;
    x.kind = ENT_LOG_CHECKPOINT;
    x.has_dir = true;
    if ((rc = ent_actlog_directory(txn, &x.dir_size, x.dir_root)) != ENT_OK)
        return rc;
    return append_entry(txn, &x, NULL);
}

int ent_actlog_root(ent_txn *txn, uint64_t *size,
                    uint8_t root[ENT_MERKLE_HASH_LEN]) {
    ent_merkle_frontier f;
    int rc = load_frontier(txn, &f);
    if (rc != ENT_OK)
        return rc;
    *size = f.size;
    ent_merkle_frontier_root(&f, root);
    return ENT_OK;
}

struct foreach_ctx {
    int (*fn)(void *data, const ent_actlog_entry *e, const uint8_t *raw,
              size_t len);
    void *data;
    uint64_t next;
    ent_actlog_entry e;
};

static int foreach_scan(void *data, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    struct foreach_ctx *c = data;
    if (klen != 8 || vlen <= ENT_MERKLE_HASH_LEN)
        return ENT_ECORRUPT;
    uint64_t idx = ent_be64_get(key);
    if (idx < c->next)
        return 0;
    const uint8_t *raw = (const uint8_t *)val + ENT_MERKLE_HASH_LEN;
    size_t len = vlen - ENT_MERKLE_HASH_LEN;
    if (idx != c->next ||
        ent_actlog_entry_decode(&c->e, raw, len) != ENT_OK ||
        c->e.index != idx)
        return ENT_ECORRUPT;
    c->next++;
    return c->fn(c->data, &c->e, raw, len);
}

int ent_actlog_foreach(ent_txn *txn, uint64_t from,
                       int (*fn)(void *data, const ent_actlog_entry *e,
                                 const uint8_t *raw, size_t len),
                       void *data) {
    struct foreach_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ENT_ENOMEM;
    c->fn = fn;
    c->data = data;
    c->next = from;
    /* LMDB keys are big-endian indexes: the scan seeks to from's key and
     * visits the entries in index order from there (a write's note of the
     * entries it appended reads those only, not the whole log). */
    uint8_t key[8];
    ent_be64_put(key, from);
    int rc = from == 0
                 ? ent_txn_scan(txn, ENT_TBL_LOG, NULL, 0, foreach_scan, c)
                 : ent_txn_scan_from(txn, ENT_TBL_LOG, key, sizeof(key),
                                     foreach_scan, c);
    free(c);
    return rc;
}

static int leaf_fn(void *data, uint64_t index,
                   uint8_t out[ENT_MERKLE_HASH_LEN]) {
    const uint8_t *b;
    size_t n;
    int rc = ent_actlog_get(data, index, &b, &n, out);
    return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
}

static int size_ok(ent_txn *txn, uint64_t n) {
    uint8_t root[ENT_MERKLE_HASH_LEN];
    uint64_t size;
    int rc = ent_actlog_root(txn, &size, root);
    if (rc != ENT_OK)
        return rc;
    return n <= size ? ENT_OK : ENT_EINVAL;
}

int ent_actlog_inclusion_proof(ent_txn *txn, uint64_t index, uint64_t n,
                               uint8_t (*path)[ENT_MERKLE_HASH_LEN],
                               size_t cap, size_t *len) {
    int rc = size_ok(txn, n);
    if (rc != ENT_OK)
        return rc;
    return ent_merkle_inclusion_proof_ex(index, n, leaf_fn, tree_get, txn, path,
                                         cap, len);
}

int ent_actlog_consistency_proof(ent_txn *txn, uint64_t m, uint64_t n,
                                 uint8_t (*path)[ENT_MERKLE_HASH_LEN],
                                 size_t cap, size_t *len) {
    int rc = size_ok(txn, n);
    if (rc != ENT_OK)
        return rc;
    return ent_merkle_consistency_proof_ex(m, n, leaf_fn, tree_get, txn, path,
                                           cap, len);
}

static void head_key(uint8_t key[HEAD_KEY_LEN], uint64_t size) {
    memcpy(key, HEAD_PREFIX, sizeof(HEAD_PREFIX) - 1);
    ent_be64_put(key + sizeof(HEAD_PREFIX) - 1, size);
}

int ent_actlog_sign_head(ent_txn *txn, const ent_identity *id, uint64_t time,
                         ent_actlog_head *head) {
    uint8_t buf[ENT_ACTLOG_HEAD_MAX], key[HEAD_KEY_LEN];
    const void *v;
    size_t n = 0, vlen;
    int rc;
    if (txn == NULL || id == NULL || head == NULL)
        return ENT_EINVAL;
    memset(head, 0, sizeof(*head));
    /* a restored node's log lacks what it logged after the backup: a head
     * now would contradict the heads it signed then (spec/operations.md
     * §3.4) */
    if ((rc = ent_home_restoring(txn)) != ENT_OK ||
        (rc = checkpoint(txn, time)) != ENT_OK ||
        (rc = ent_actlog_root(txn, &head->size, head->root)) != ENT_OK)
        return rc;
    head_key(key, head->size);
    if (head->size > 0 &&
        ent_txn_get(txn, ENT_TBL_LOG_META, key, sizeof(key), &v, &vlen) ==
            ENT_OK) {
        ent_actlog_head old;
        if (ent_actlog_head_decode(&old, v, vlen) != ENT_OK ||
            old.size != head->size ||
            memcmp(old.root, head->root, sizeof(old.root)) != 0)
            return ENT_ECORRUPT;
        *head = old;
        return ENT_OK;
    }
    memcpy(head->org, ent_identity_public(id), ENT_PK_LEN);
    head->time = time;
    if ((rc = ent_actlog_head_encode(head, false, buf, sizeof(buf), &n)) !=
            ENT_OK ||
        (rc = ent_identity_sign(id, ENT_SIGCTX_TREE_HEAD, buf, n,
                                head->sig)) != ENT_OK)
        return rc;
    if (head->size == 0)
        return ENT_OK;
    if ((rc = ent_actlog_head_encode(head, true, buf, sizeof(buf), &n)) !=
        ENT_OK)
        return rc;
    return ent_txn_put(txn, ENT_TBL_LOG_META, key, sizeof(key), buf, n, 0);
}

int ent_actlog_root_at(ent_txn *txn, uint64_t m,
                       uint8_t root[ENT_MERKLE_HASH_LEN]) {
    uint8_t path[ENT_MERKLE_MAX_PROOF][ENT_MERKLE_HASH_LEN],
        r[ENT_MERKLE_HASH_LEN];
    uint64_t n;
    size_t len = 0;
    int rc = ent_actlog_root(txn, &n, r);
    if (rc != ENT_OK)
        return rc;
    if (m == 0 || m > n)
        return ENT_EINVAL;
    if (m < n) {
        if ((rc = ent_merkle_inclusion_proof_ex(m - 1, m, leaf_fn, tree_get,
                                                txn, path,
                                                ENT_MERKLE_MAX_PROOF, &len)) !=
                ENT_OK ||
            (rc = leaf_fn(txn, m - 1, r)) != ENT_OK)
            return rc;
        /* RFC 9162 §2.1.3.2 for the last leaf (fn = sn): the root */
        uint64_t fn = m - 1, sn = m - 1;
        for (size_t i = 0; i < len; i++) {
            if ((fn & 1) || fn == sn) {
                ent_merkle_node_hash(r, path[i], r);
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else
                ent_merkle_node_hash(r, r, path[i]);
            fn >>= 1;
            sn >>= 1;
        }
    }
    memcpy(root, r, ENT_MERKLE_HASH_LEN);
    return ENT_OK;
}

int ent_actlog_prefix_head(ent_txn *txn, const ent_identity *id, uint64_t m,
                           uint64_t time, ent_actlog_head *head) {
    uint8_t buf[ENT_ACTLOG_HEAD_MAX], key[HEAD_KEY_LEN];
    const void *v;
    size_t n = 0, vlen;
    memset(head, 0, sizeof(*head));
    int rc = ent_actlog_root_at(txn, m, head->root);
    if (rc != ENT_OK)
        return rc;
    head_key(key, m);
    if (ent_txn_get(txn, ENT_TBL_LOG_META, key, sizeof(key), &v, &vlen) ==
        ENT_OK) {
        ent_actlog_head old;
        if (ent_actlog_head_decode(&old, v, vlen) != ENT_OK || old.size != m ||
            memcmp(old.root, head->root, sizeof(old.root)) != 0)
            return ENT_ECORRUPT;
        *head = old;
        return ENT_OK;
    }
    memcpy(head->org, ent_identity_public(id), ENT_PK_LEN);
    head->size = m;
    head->time = time;
    if ((rc = ent_actlog_head_encode(head, false, buf, sizeof(buf), &n)) !=
        ENT_OK)
        return rc;
    return ent_identity_sign(id, ENT_SIGCTX_TREE_HEAD, buf, n, head->sig);
}

static const char REWIND_KEY[] = "rewind";

int ent_actlog_rewind_base(ent_txn *txn, uint64_t *size) {
    const void *v;
    size_t vlen;
    int rc = ent_txn_get(txn, ENT_TBL_LOG_META, REWIND_KEY,
                         sizeof(REWIND_KEY) - 1, &v, &vlen);
    if (rc != ENT_OK)
        return rc;
    if (vlen != 8)
        return ENT_ECORRUPT;
    *size = ent_be64_get(v);
    return ENT_OK;
}

int ent_actlog_rewind_mark(ent_txn *txn) {
    uint8_t root[ENT_MERKLE_HASH_LEN], v[8];
    uint64_t n, old;
    int rc = ent_actlog_root(txn, &n, root);
    if (rc != ENT_OK || n == 0)
        return rc;
    rc = ent_actlog_rewind_base(txn, &old);
    if (rc == ENT_OK && old <= n)
        return ENT_OK;
    if (rc != ENT_OK && rc != ENT_ENOENT)
        return rc;
    ent_be64_put(v, n);
    return ent_txn_put(txn, ENT_TBL_LOG_META, REWIND_KEY,
                       sizeof(REWIND_KEY) - 1, v, 8, 0);
}

struct heads_ctx {
    int (*fn)(void *data, const ent_actlog_head *h);
    void *data;
};

static int heads_scan(void *data, const void *key, size_t klen,
                      const void *val, size_t vlen) {
    struct heads_ctx *c = data;
    ent_actlog_head h;
    if (klen != HEAD_KEY_LEN || ent_actlog_head_decode(&h, val, vlen) != ENT_OK ||
        h.size != ent_be64_get((const uint8_t *)key + sizeof(HEAD_PREFIX) - 1))
        return ENT_ECORRUPT;
    return c->fn(c->data, &h);
}

int ent_actlog_heads_foreach(ent_txn *txn,
                             int (*fn)(void *data, const ent_actlog_head *h),
                             void *data) {
    struct heads_ctx c = {fn, data};
    return ent_txn_scan(txn, ENT_TBL_LOG_META, HEAD_PREFIX,
                        sizeof(HEAD_PREFIX) - 1, heads_scan, &c);
}

int ent_actlog_object_first(ent_txn *txn, const uint8_t object[32],
                            uint64_t *index) {
    uint8_t key[OBJ_KEY_LEN];
    const void *v;
    size_t vlen;
    dir_key(key, object);
    int rc = ent_txn_get(txn, ENT_TBL_OBJ_LOCAL, key, sizeof(key), &v, &vlen);
    if (rc != ENT_OK)
        return rc;
    if (vlen != OBJ_VAL_LEN)
        return ENT_ECORRUPT;
    uint64_t at = ent_be64_get((const uint8_t *)v + 8);
    for (;;) { /* oprev < index: the walk ends */
        const uint8_t *buf;
        size_t len;
        ent_actlog_entry e;
        if ((rc = ent_actlog_get(txn, at, &buf, &len, NULL)) != ENT_OK ||
            (rc = ent_actlog_entry_decode(&e, buf, len)) != ENT_OK)
            return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
        if (!e.has_object || memcmp(e.object, object, 32) != 0 ||
            e.oprev > e.index)
            return ENT_ECORRUPT;
        if (e.oprev == e.index) {
            *index = e.index;
            return ENT_OK;
        }
        at = e.oprev;
    }
}
