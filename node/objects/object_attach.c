/*
 * object_attach.c - attachments (spec/objects.md "Attachments"): a file of
 * up to 25 MiB cut into chunks of ENT_OP_CHUNK bytes, each sealed with
 * XChaCha20-Poly1305 under the object's epoch key (associated data: the
 * object id, the file's hash and the chunk's index) and stored under the
 * BLAKE2b-256 of its sealed bytes in the `chunks` table; an attach op
 * (kind 10) carries the manifest (name, size, file hash, chunk hashes) to
 * every member. A member stores a chunk it fetched only when its hash is
 * one a manifest of that object lists; reading a file opens every chunk
 * and checks the file's hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/objects/object_int.h"
#include "storage/store.h"

/* associated data of chunk i of file fhash in object obj */
static void chunk_ad(uint8_t ad[68], const uint8_t obj[32],
                     const uint8_t fhash[32], uint32_t i) {
    memcpy(ad, obj, 32);
    memcpy(ad + 32, fhash, 32);
    ent__be32(ad + 64, i);
}

/* ------------------------------------------------------------- commit */

/* The rows of a committed attach op: the manifest under its name and
 * order, and one index row per chunk hash (which object lists it). */
int ent__obj_attach_commit(ent_txn *txn, const uint8_t obj[32],
                           const ent_op *op, const ent_op_body *b) {
    size_t nl = strlen(b->fname);
    uint8_t k[34 + ENT_OP_FILE_NAME_MAX + OBJ_ORDER_LEN];
    uint8_t *enc = NULL, *val = NULL;
    size_t elen;
    int rc = ent_op_body_encode(b, &enc, &elen);
    if (rc != ENT_OK)
        return rc;
    if ((val = malloc(8 + elen)) == NULL) {
        free(enc);
        return ENT_ENOMEM;
    }
    ent_be64_put(val, op->h.epoch);
    memcpy(val + 8, enc, elen);
    memcpy(k, obj, 32);
    k[32] = WR_ATTACH;
    memcpy(k + 33, b->fname, nl);
    k[33 + nl] = 0;
    ent__obj_order(k + 34 + nl, op->h.hlc, op->h.author, op->id);
    rc = ent_txn_put(txn, ENT_TBL_WRITES, k, 34 + nl + OBJ_ORDER_LEN, val,
                     8 + elen, 0);
    k[32] = WR_CHUNK;
    for (size_t i = 0; i < b->nchunks && rc == ENT_OK; i++) {
        memcpy(k + 33, b->chunks + i * 32, 32);
        rc = ent_txn_put(txn, ENT_TBL_WRITES, k, 65, op->id, 32, 0);
    }
    free(val);
    free(enc);
    return rc;
}

/* ------------------------------------------------------------- attach */

typedef struct attach_ctx {
    ent_objects *eng;
    const uint8_t *obj;
    const char *name;
    const uint8_t *data;
    size_t len;
    ent_op *op;
    char *err;
    size_t errlen;
} attach_ctx;

static int attach_fn(ent_txn *txn, void *data) {
    attach_ctx *c = data;
    obj_rec r;
    uint8_t role = ENT_ROLE_VIEWER, key[ENT_KEY_LEN], ad[68];
    uint8_t *sealed = NULL;
    ent_op_header h;
    ent_op_body b;
    int rc;
    memset(&b, 0, sizeof(b));
    ent_op_free(c->op);
    c->op = NULL;
    if ((rc = ent__obj_my_role(c->eng, txn, c->obj, &r, &role)) != ENT_OK) {
        snprintf(c->err, c->errlen, "%s",
                 rc == ENT_ENOENT ? "no such object"
                                  : "this org is not a member any more");
        return rc;
    }
    if (role > ENT_ROLE_MEMBER) {
        snprintf(c->err, c->errlen, "role viewer may not attach files");
        return ENT_EDENIED;
    }
    if ((rc = ent__obj_new_header(c->eng, txn, c->obj, ENT_OP_ATTACH, &h,
                                  key)) != ENT_OK)
        return rc;
    b.kind = ENT_OP_ATTACH;
    memcpy(b.fname, c->name, strlen(c->name) + 1);
    b.fsize = c->len;
    ent_hash(b.fhash, c->data, c->len);
    b.nchunks = (c->len + ENT_OP_CHUNK - 1) / ENT_OP_CHUNK;
    if ((b.chunks = malloc(b.nchunks * 32)) == NULL ||
        (sealed = malloc(ENT_AEAD_NONCE_LEN + ENT_OP_CHUNK +
                         ENT_AEAD_TAG_LEN)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    uint8_t ck[64];
    memcpy(ck, c->obj, 32);
    for (size_t i = 0; i < b.nchunks && rc == ENT_OK; i++) {
        size_t off = i * ENT_OP_CHUNK;
        size_t n = c->len - off < ENT_OP_CHUNK ? c->len - off : ENT_OP_CHUNK;
        chunk_ad(ad, c->obj, b.fhash, (uint32_t)i);
        if ((rc = ent_aead_seal(sealed + ENT_AEAD_NONCE_LEN, sealed,
                                c->data + off, n, ad, sizeof(ad), key)) !=
            ENT_OK)
            break;
        size_t slen = ENT_AEAD_NONCE_LEN + n + ENT_AEAD_TAG_LEN;
        ent_hash(b.chunks + i * 32, sealed, slen);
        memcpy(ck + 32, b.chunks + i * 32, 32);
        rc = ent_txn_put(txn, ENT_TBL_CHUNKS, ck, 64, sealed, slen, 0);
    }
    if (rc == ENT_OK)
        rc = ent__obj_seal_commit(c->eng, txn, c->obj, &h, &b, key, &c->op);
out:
    ent_wipe(key, sizeof(key));
    free(sealed);
    ent_op_body_clear(&b);
    return rc;
}

int ent_obj_attach(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                   const char *name, const uint8_t *data, size_t len,
                   ent_op **op_out, char *err, size_t errlen) {
    char dummy[1];
    attach_ctx c = {.eng = eng,
                    .obj = id,
                    .name = name,
                    .data = data,
                    .len = len,
                    .err = err ? err : dummy,
                    .errlen = err ? errlen : sizeof(dummy)};
    if (op_out != NULL)
        *op_out = NULL;
    c.err[0] = '\0';
    if (eng == NULL || id == NULL || name == NULL || (data == NULL && len))
        return ENT_EINVAL;
    if (!ent_op_file_name_valid(name, strlen(name))) {
        snprintf(c.err, c.errlen,
                 "attachment name \"%.64s\" is not 1 to %d bytes without '/', "
                 "'\\' or control characters",
                 name, ENT_OP_FILE_NAME_MAX);
        return ENT_EINVAL;
    }
    if (len == 0 || len > ENT_OP_FILE_MAX) {
        snprintf(c.err, c.errlen,
                 "the file is %zu bytes; an attachment is 1 byte to 25 MiB",
                 len);
        return len == 0 ? ENT_EINVAL : ENT_ETOOBIG;
    }
    int rc = ent_store_write(eng->store, attach_fn, &c);
    if (rc != ENT_OK || op_out == NULL)
        ent_op_free(c.op);
    else
        *op_out = c.op;
    return rc;
}

/* ------------------------------------------------------------ listing */

/* One manifest row: the attachment and, with want, its missing chunks. */
typedef struct att_ctx {
    ent_txn *txn;
    const uint8_t *obj;
    const char *only; /* a name, or NULL for every attachment */
    ent_obj_attachment *v;
    size_t n;
    ent_op_body last; /* the manifest of the last row read */
    int err;
} att_ctx;

static size_t count_have(ent_txn *txn, const uint8_t obj[32],
                         const ent_op_body *b) {
    uint8_t ck[64];
    const void *v;
    size_t vl, have = 0;
    memcpy(ck, obj, 32);
    for (size_t i = 0; i < b->nchunks; i++) {
        memcpy(ck + 32, b->chunks + i * 32, 32);
        have += ent_txn_get(txn, ENT_TBL_CHUNKS, ck, 64, &v, &vl) == ENT_OK;
    }
    return have;
}

static int att_scan(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    att_ctx *c = data;
    const uint8_t *k = key;
    if (klen < 34 + OBJ_ORDER_LEN + 1 || vlen < 9)
        return ENT_ECORRUPT;
    size_t nl = klen - 34 - OBJ_ORDER_LEN;
    if (c->only != NULL &&
        (strlen(c->only) != nl || memcmp(c->only, k + 33, nl) != 0))
        return 0;
    ent_op_body_clear(&c->last);
    int rc = ent_op_body_decode(&c->last, ENT_OP_ATTACH,
                                (const uint8_t *)val + 8, vlen - 8);
    if (rc != ENT_OK)
        return rc == ENT_ENOMEM ? rc : ENT_ECORRUPT;
    if (ent__obj_grow((void **)&c->v, c->n, sizeof(*c->v)) != ENT_OK)
        return ENT_ENOMEM;
    ent_obj_attachment *a = &c->v[c->n++];
    memset(a, 0, sizeof(*a));
    memcpy(a->name, c->last.fname, strlen(c->last.fname) + 1);
    a->size = c->last.fsize;
    memcpy(a->hash, c->last.fhash, 32);
    a->epoch = ent_be64_get(val);
    const uint8_t *order = k + 34 + nl;
    a->hlc = ent_be64_get(order);
    memcpy(a->by, order + 8, 32);
    memcpy(a->op, order + 40, 32);
    a->nchunks = c->last.nchunks;
    a->have = count_have(c->txn, c->obj, &c->last);
    return 0;
}

static int att_fn(ent_txn *txn, void *data) {
    att_ctx *c = data;
    uint8_t pre[34 + ENT_OP_FILE_NAME_MAX];
    size_t plen = 33;
    obj_rec r;
    int rc = ent__obj_rec_get(txn, c->obj, &r); /* ENT_ENOENT: no object */
    if (rc != ENT_OK)
        return rc;
    memcpy(pre, c->obj, 32);
    pre[32] = WR_ATTACH;
    if (c->only != NULL) {
        size_t nl = strlen(c->only);
        memcpy(pre + 33, c->only, nl);
        pre[33 + nl] = 0;
        plen = 34 + nl;
    }
    c->txn = txn;
    c->n = 0;
    return ent_txn_scan(txn, ENT_TBL_WRITES, pre, plen, att_scan, c);
}

int ent_obj_attachments(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                        ent_obj_attachment **out, size_t *n) {
    att_ctx c = {.obj = id};
    *out = NULL;
    *n = 0;
    if (eng == NULL || id == NULL)
        return ENT_EINVAL;
    int rc = ent_store_read(eng->store, att_fn, &c);
    ent_op_body_clear(&c.last);
    if (rc != ENT_OK) {
        free(c.v);
        return rc;
    }
    *out = c.v;
    *n = c.n;
    return ENT_OK;
}

/* The latest manifest named name (in c->last), with its row's facts. */
static int latest(ent_txn *txn, att_ctx *c, const char *name) {
    c->only = name;
    int rc = att_fn(txn, c);
    if (rc == ENT_OK && c->n == 0)
        rc = ENT_ENOENT;
    return rc;
}

/* ------------------------------------------------------------ missing */

typedef struct miss_ctx {
    const uint8_t *obj;
    const char *name;
    uint8_t *hashes;
    size_t max, n, total;
} miss_ctx;

static int miss_fn(ent_txn *txn, void *data) {
    miss_ctx *m = data;
    att_ctx c = {.obj = m->obj};
    uint8_t ck[64];
    const void *v;
    size_t vl;
    int rc = latest(txn, &c, m->name);
    m->n = 0;
    m->total = 0;
    if (rc == ENT_OK) {
        memcpy(ck, m->obj, 32);
        for (size_t i = 0; i < c.last.nchunks; i++) {
            memcpy(ck + 32, c.last.chunks + i * 32, 32);
            if (ent_txn_get(txn, ENT_TBL_CHUNKS, ck, 64, &v, &vl) == ENT_OK)
                continue;
            if (m->n < m->max)
                memcpy(m->hashes + m->n++ * 32, ck + 32, 32);
            m->total++;
        }
    }
    free(c.v);
    ent_op_body_clear(&c.last);
    return rc;
}

int ent_obj_attachment_missing(ent_objects *eng,
                               const uint8_t id[ENT_OBJ_ID_LEN],
                               const char *name, uint8_t *hashes, size_t max,
                               size_t *n, size_t *total) {
    miss_ctx m = {.obj = id, .name = name, .hashes = hashes, .max = max};
    if (eng == NULL || id == NULL || name == NULL || (max && !hashes))
        return ENT_EINVAL;
    int rc = ent_store_read(eng->store, miss_fn, &m);
    *n = m.n;
    *total = m.total;
    return rc;
}

/* ------------------------------------------------------------- chunks */

typedef struct chunk_ctx {
    const uint8_t *obj;
    const uint8_t *hash;
    const uint8_t *data;
    size_t len;
    uint8_t *out;
} chunk_ctx;

static int chunk_get_fn(ent_txn *txn, void *data) {
    chunk_ctx *c = data;
    uint8_t ck[64];
    const void *v;
    memcpy(ck, c->obj, 32);
    memcpy(ck + 32, c->hash, 32);
    int rc = ent_txn_get(txn, ENT_TBL_CHUNKS, ck, 64, &v, &c->len);
    if (rc != ENT_OK)
        return rc;
    if ((c->out = malloc(c->len)) == NULL)
        return ENT_ENOMEM;
    memcpy(c->out, v, c->len);
    return ENT_OK;
}

int ent_obj_chunk_get(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                      const uint8_t hash[32], uint8_t **out, size_t *len) {
    chunk_ctx c = {.obj = id, .hash = hash};
    *out = NULL;
    *len = 0;
    if (eng == NULL || id == NULL || hash == NULL)
        return ENT_EINVAL;
    int rc = ent_store_read(eng->store, chunk_get_fn, &c);
    if (rc != ENT_OK) {
        free(c.out);
        return rc;
    }
    *out = c.out;
    *len = c.len;
    return ENT_OK;
}

static int chunk_put_fn(ent_txn *txn, void *data) {
    chunk_ctx *c = data;
    uint8_t wk[65], ck[64];
    const void *v;
    size_t vl;
    memcpy(wk, c->obj, 32);
    wk[32] = WR_CHUNK;
    memcpy(wk + 33, c->hash, 32);
    int rc = ent_txn_get(txn, ENT_TBL_WRITES, wk, 65, &v, &vl);
    if (rc != ENT_OK) /* no manifest of the object lists it */
        return rc == ENT_ENOENT ? ENT_EDENIED : rc;
    memcpy(ck, c->obj, 32);
    memcpy(ck + 32, c->hash, 32);
    return ent_txn_put(txn, ENT_TBL_CHUNKS, ck, 64, c->data, c->len,
                       ENT_PUT_NOOVERWRITE);
}

static int listed_fn(ent_txn *txn, void *data) {
    const uint8_t *k = data;
    const void *v;
    size_t vl;
    return ent_txn_get(txn, ENT_TBL_WRITES, k, 65, &v, &vl);
}

bool ent_obj_chunk_listed(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                          const uint8_t hash[32]) {
    uint8_t k[65];
    if (eng == NULL || id == NULL || hash == NULL)
        return false;
    memcpy(k, id, 32);
    k[32] = WR_CHUNK;
    memcpy(k + 33, hash, 32);
    return ent_store_read(eng->store, listed_fn, k) == ENT_OK;
}

typedef struct batch_ctx {
    const uint8_t *obj;
    const uint8_t *const *datas;
    const size_t *lens;
    size_t n;
    int *rcs;
} batch_ctx;

static int batch_fn(ent_txn *txn, void *data) {
    batch_ctx *b = data;
    int rc = ENT_OK;
    for (size_t i = 0; i < b->n && rc == ENT_OK; i++) {
        uint8_t h[32];
        chunk_ctx c = {
            .obj = b->obj, .hash = h, .data = b->datas[i], .len = b->lens[i]};
        if (c.len < ENT_AEAD_NONCE_LEN + ENT_AEAD_TAG_LEN + 1 ||
            c.len > ENT_AEAD_NONCE_LEN + ENT_OP_CHUNK + ENT_AEAD_TAG_LEN) {
            b->rcs[i] = ENT_ETOOBIG;
            continue;
        }
        ent_hash(h, c.data, c.len);
        b->rcs[i] = chunk_put_fn(txn, &c);
        if (b->rcs[i] != ENT_OK && b->rcs[i] != ENT_EDENIED &&
            b->rcs[i] != ENT_EEXIST)
            rc = b->rcs[i]; /* storage: the whole batch fails */
    }
    return rc;
}

int ent_obj_chunk_put_batch(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                            const uint8_t *const *datas, const size_t *lens,
                            size_t n, int *rcs) {
    batch_ctx b = {.obj = id, .datas = datas, .lens = lens, .n = n, .rcs = rcs};
    if (eng == NULL || id == NULL || (n > 0 && (!datas || !lens || !rcs)))
        return ENT_EINVAL;
    return n == 0 ? ENT_OK : ent_store_write(eng->store, batch_fn, &b);
}

int ent_obj_chunk_put(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                      const uint8_t *data, size_t len, uint8_t hash[32]) {
    chunk_ctx c = {.obj = id, .hash = hash, .data = data, .len = len};
    if (eng == NULL || id == NULL || data == NULL || hash == NULL)
        return ENT_EINVAL;
    if (len < ENT_AEAD_NONCE_LEN + ENT_AEAD_TAG_LEN + 1 ||
        len > ENT_AEAD_NONCE_LEN + ENT_OP_CHUNK + ENT_AEAD_TAG_LEN)
        return ENT_ETOOBIG;
    ent_hash(hash, data, len); /* content-addressed: the key is checked */
    return ent_store_write(eng->store, chunk_put_fn, &c);
}

/* --------------------------------------------------------------- read */

typedef struct read_ctx {
    const uint8_t *obj;
    const char *name;
    uint8_t *out;
    size_t len;
} read_ctx;

static int read_fn(ent_txn *txn, void *data) {
    read_ctx *r = data;
    att_ctx c = {.obj = r->obj};
    uint8_t key[ENT_KEY_LEN], ck[64], ad[68], h[32];
    const void *v;
    size_t vl;
    int rc = latest(txn, &c, r->name);
    free(r->out);
    r->out = NULL;
    if (rc != ENT_OK)
        goto out;
    if ((rc = ent__obj_epoch_key(txn, r->obj, c.v[c.n - 1].epoch, key)) !=
        ENT_OK) {
        rc = ENT_EDECRYPT; /* no key of that epoch here */
        goto out;
    }
    if ((r->out = malloc(c.last.fsize)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    r->len = c.last.fsize;
    memcpy(ck, r->obj, 32);
    for (size_t i = 0; i < c.last.nchunks && rc == ENT_OK; i++) {
        size_t off = i * ENT_OP_CHUNK;
        size_t n = r->len - off < ENT_OP_CHUNK ? r->len - off : ENT_OP_CHUNK;
        memcpy(ck + 32, c.last.chunks + i * 32, 32);
        if ((rc = ent_txn_get(txn, ENT_TBL_CHUNKS, ck, 64, &v, &vl)) != ENT_OK)
            rc = rc == ENT_ENOENT ? ENT_EAGAIN : rc; /* not fetched yet */
        else if (vl != ENT_AEAD_NONCE_LEN + n + ENT_AEAD_TAG_LEN)
            rc = ENT_ECHECKSUM;
        if (rc != ENT_OK)
            break;
        chunk_ad(ad, r->obj, c.last.fhash, (uint32_t)i);
        rc =
            ent_aead_open(r->out + off, (const uint8_t *)v + ENT_AEAD_NONCE_LEN,
                          vl - ENT_AEAD_NONCE_LEN, v, ad, sizeof(ad), key);
    }
    if (rc == ENT_OK) {
        ent_hash(h, r->out, r->len);
        if (memcmp(h, c.last.fhash, 32) != 0)
            rc = ENT_ECHECKSUM;
    }
out:
    ent_wipe(key, sizeof(key));
    free(c.v);
    ent_op_body_clear(&c.last);
    return rc;
}

int ent_obj_attachment_read(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                            const char *name, uint8_t **out, size_t *len) {
    read_ctx r = {.obj = id, .name = name};
    *out = NULL;
    *len = 0;
    if (eng == NULL || id == NULL || name == NULL)
        return ENT_EINVAL;
    int rc = ent_store_read(eng->store, read_fn, &r);
    if (rc != ENT_OK) {
        free(r.out);
        return rc;
    }
    *out = r.out;
    *len = r.len;
    return ENT_OK;
}

/* ------------------------------------------------------------- usage */

static int usage_scan(void *data, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    uint64_t *u = data;
    (void)key;
    (void)klen;
    (void)val;
    u[0]++;
    u[1] += vlen;
    return 0;
}

static int usage_fn(ent_txn *txn, void *data) {
    return ent_txn_scan(txn, ENT_TBL_CHUNKS, NULL, 0, usage_scan, data);
}

int ent_obj_chunk_usage(ent_objects *eng, uint64_t *chunks, uint64_t *bytes) {
    uint64_t u[2] = {0, 0};
    int rc = eng ? ent_store_read(eng->store, usage_fn, u) : ENT_EINVAL;
    *chunks = u[0];
    *bytes = u[1];
    return rc;
}
