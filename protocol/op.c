/*
 * op.c - the signed op record and its bodies (see op.h, spec/records.md).
 *
 * Wire form:  op     = [header, nonce: bstr 24, ct: bstr, sig: bstr 64]
 *             header = [version, object: bstr 0|32, author: bstr 32, seq,
 *                       hlc, parents: [* bstr 32], epoch, kind]
 * The signature covers op[1 .. end of ct): the encoded header, nonce item
 * and ciphertext item, exactly as they appear in the op.
 */
#include "protocol/op.h"

#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "protocol/cbor.h"

#define OP_ITEMS 4
#define HDR_ITEMS 8

/* ----------------------------------------------------------------- header */

static bool parents_sorted(const ent_op_header *h) {
    for (size_t i = 1; i < h->nparents; i++)
        if (memcmp(h->parents[i - 1], h->parents[i], 32) >= 0)
            return false;
    return true;
}

/* The rules every header obeys, whether we build it or read it. */
static int header_valid(const ent_op_header *h) {
    if (h->version != ENT_OP_VERSION || h->kind >= ENT_OP_KIND__COUNT)
        return ENT_EVERSION;
    if (h->seq == 0 || h->nparents > ENT_OP_MAX_PARENTS)
        return ENT_EINVAL;
    if (h->genesis != (h->kind == ENT_OP_CREATE))
        return ENT_EINVAL;
    if (h->genesis && h->nparents != 0)
        return ENT_EINVAL;
    if (!parents_sorted(h))
        return ENT_EINVAL;
    return ENT_OK;
}

static void emit_header(ent_cbor_writer *w, const ent_op_header *h) {
    ent_cbor_write_array(w, HDR_ITEMS);
    ent_cbor_write_uint(w, h->version);
    ent_cbor_write_bytes(w, h->object, h->genesis ? 0 : 32);
    ent_cbor_write_bytes(w, h->author, 32);
    ent_cbor_write_uint(w, h->seq);
    ent_cbor_write_uint(w, h->hlc);
    ent_cbor_write_array(w, h->nparents);
    for (size_t i = 0; i < h->nparents; i++)
        ent_cbor_write_bytes(w, h->parents[i], 32);
    ent_cbor_write_uint(w, h->epoch);
    ent_cbor_write_uint(w, h->kind);
}

/* Parses the header array; the version is read before the shape is judged
 * so that a future version is reported as such. */
static int read_header(ent_cbor_reader *r, ent_op_header *h) {
    size_t n;
    uint64_t u;
    const uint8_t *p;
    int rc;
    memset(h, 0, sizeof(*h));
    if ((rc = ent_cbor_read_array(r, &n)) != ENT_OK)
        return rc;
    if (n < 1)
        return ENT_ECORRUPT;
    if ((rc = ent_cbor_read_uint(r, &u)) != ENT_OK)
        return rc;
    if (u != ENT_OP_VERSION)
        return ENT_EVERSION;
    h->version = (uint8_t)u;
    if (n != HDR_ITEMS)
        return ENT_ECORRUPT;
    if ((rc = ent_cbor_read_bytes(r, &p, &n)) != ENT_OK)
        return rc;
    if (n == 0)
        h->genesis = true;
    else if (n == 32)
        memcpy(h->object, p, 32);
    else
        return ENT_ECORRUPT;
    if ((rc = ent_cbor_read_bytes_exact(r, h->author, 32)) != ENT_OK ||
        (rc = ent_cbor_read_uint(r, &h->seq)) != ENT_OK ||
        (rc = ent_cbor_read_uint(r, &h->hlc)) != ENT_OK ||
        (rc = ent_cbor_read_array(r, &n)) != ENT_OK)
        return rc;
    if (n > ENT_OP_MAX_PARENTS)
        return ENT_ECORRUPT;
    for (size_t i = 0; i < n; i++)
        if ((rc = ent_cbor_read_bytes_exact(r, h->parents[i], 32)) != ENT_OK)
            return rc;
    h->nparents = n;
    if ((rc = ent_cbor_read_uint(r, &h->epoch)) != ENT_OK ||
        (rc = ent_cbor_read_uint(r, &u)) != ENT_OK)
        return rc;
    if (u >= ENT_OP_KIND__COUNT)
        return ENT_EVERSION;
    h->kind = (uint8_t)u;
    if (!parents_sorted(h))
        return ENT_ENONCANON;
    rc = header_valid(h);
    return rc == ENT_EINVAL ? ENT_ECORRUPT : rc;
}

/* --------------------------------------------------------------------- op */

void ent_op_free(ent_op *op) {
    if (op == NULL)
        return;
    free(op->raw);
    free(op);
}

int ent_op_seal(ent_op **out, const ent_op_header *h, const uint8_t *body,
                size_t blen, const uint8_t key[ENT_KEY_LEN],
                const ent_identity *id) {
    ent_op *op = NULL;
    ent_cbor_writer w;
    int rc;
    *out = NULL;
    if (h == NULL || key == NULL || id == NULL || (body == NULL && blen > 0))
        return ENT_EINVAL;
    if ((rc = header_valid(h)) != ENT_OK)
        return rc;
    if (memcmp(ent_identity_public(id), h->author, 32) != 0)
        return ENT_EINVAL;
    if (blen > ENT_OP_MAX_SIZE)
        return ENT_ETOOBIG;
    size_t ctlen = blen + ENT_AEAD_TAG_LEN;

    /* size pass */
    ent_cbor_writer_init(&w, NULL, 0);
    ent_cbor_write_array(&w, OP_ITEMS);
    emit_header(&w, h);
    ent_cbor_write_bytes_reserve(&w, ENT_AEAD_NONCE_LEN);
    ent_cbor_write_bytes_reserve(&w, ctlen);
    ent_cbor_write_bytes_reserve(&w, ENT_SIG_LEN);
    if (w.err != ENT_OK)
        return w.err;
    if (w.len > ENT_OP_MAX_SIZE)
        return ENT_ETOOBIG;

    op = calloc(1, sizeof(*op));
    if (op == NULL || (op->raw = malloc(w.len)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    op->rawlen = w.len;

    /* write pass: the nonce and ciphertext land in place */
    ent_cbor_writer_init(&w, op->raw, op->rawlen);
    ent_cbor_write_array(&w, OP_ITEMS);
    op->hdr_off = w.len;
    emit_header(&w, h);
    op->hdr_len = w.len - op->hdr_off;
    uint8_t *nonce = ent_cbor_write_bytes_reserve(&w, ENT_AEAD_NONCE_LEN);
    uint8_t *ct = ent_cbor_write_bytes_reserve(&w, ctlen);
    op->signed_len = w.len - 1;
    uint8_t *sig = ent_cbor_write_bytes_reserve(&w, ENT_SIG_LEN);
    if (w.err != ENT_OK || w.len != op->rawlen || sig == NULL) {
        rc = w.err != ENT_OK ? w.err : ENT_EINVAL;
        goto out;
    }
    rc = ent_aead_seal(ct, nonce, body, blen, op->raw + op->hdr_off,
                       op->hdr_len, key);
    if (rc != ENT_OK)
        goto out;
    rc = ent_identity_sign(id, ENT_SIGCTX_OP, op->raw + 1, op->signed_len,
                           sig);
    if (rc != ENT_OK)
        goto out;

    op->h = *h;
    if (op->h.genesis)
        memset(op->h.object, 0, 32);
    for (size_t i = h->nparents; i < ENT_OP_MAX_PARENTS; i++)
        memset(op->h.parents[i], 0, 32);
    memcpy(op->nonce, nonce, ENT_AEAD_NONCE_LEN);
    op->ct = ct;
    op->ctlen = ctlen;
    memcpy(op->sig, sig, ENT_SIG_LEN);
    ent_hash(op->id, op->raw, op->rawlen);
    *out = op;
    op = NULL;
out:
    ent_op_free(op);
    return rc;
}

int ent_op_decode(ent_op **out, const uint8_t *buf, size_t len) {
    static const ent_cbor_limits lim = {
        .max_depth = 3,  /* op > header > parents */
        .max_items = 32, /* a little room for a future header */
        .max_total = 64,
        .max_str = ENT_OP_MAX_SIZE,
        .max_size = ENT_OP_MAX_SIZE,
    };
    ent_op *op = NULL;
    ent_cbor_reader r;
    const uint8_t *ct;
    size_t n;
    int rc;
    *out = NULL;
    if (buf == NULL && len > 0)
        return ENT_EINVAL;
    if (len > ENT_OP_MAX_SIZE)
        return ENT_ETOOBIG;
    if ((rc = ent_cbor_check(buf, len, &lim)) != ENT_OK)
        return rc;
    op = calloc(1, sizeof(*op));
    if (op == NULL || (op->raw = malloc(len)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    memcpy(op->raw, buf, len);
    op->rawlen = len;
    ent_cbor_reader_init(&r, op->raw, len);
    if ((rc = ent_cbor_read_array(&r, &n)) != ENT_OK)
        goto out;
    op->hdr_off = r.pos;
    if ((rc = read_header(&r, &op->h)) != ENT_OK)
        goto out;
    op->hdr_len = r.pos - op->hdr_off;
    if (n != OP_ITEMS) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    if ((rc = ent_cbor_read_bytes_exact(&r, op->nonce, sizeof(op->nonce))) !=
            ENT_OK ||
        (rc = ent_cbor_read_bytes(&r, &ct, &op->ctlen)) != ENT_OK)
        goto out;
    if (op->ctlen < ENT_AEAD_TAG_LEN) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    op->ct = ct;
    op->signed_len = r.pos - 1;
    if ((rc = ent_cbor_read_bytes_exact(&r, op->sig, sizeof(op->sig))) !=
            ENT_OK ||
        (rc = ent_cbor_read_end(&r)) != ENT_OK)
        goto out;
    ent_hash(op->id, op->raw, op->rawlen);
    *out = op;
    op = NULL;
out:
    ent_op_free(op);
    return rc;
}

static void emit_op(ent_cbor_writer *w, const void *data) {
    const ent_op *op = data;
    int rc = header_valid(&op->h);
    if (rc != ENT_OK) {
        ent_cbor_writer_fail(w, rc);
        return;
    }
    ent_cbor_write_array(w, OP_ITEMS);
    emit_header(w, &op->h);
    ent_cbor_write_bytes(w, op->nonce, sizeof(op->nonce));
    ent_cbor_write_bytes(w, op->ct, op->ctlen);
    ent_cbor_write_bytes(w, op->sig, sizeof(op->sig));
}

int ent_op_encode(const ent_op *op, uint8_t **out, size_t *len) {
    if (op == NULL || (op->ct == NULL && op->ctlen > 0) ||
        op->ctlen < ENT_AEAD_TAG_LEN)
        return ENT_EINVAL;
    return ent_cbor_encode(out, len, ENT_OP_MAX_SIZE, emit_op, op);
}

int ent_op_verify(const ent_op *op) {
    if (op == NULL || op->raw == NULL || op->signed_len + 1 > op->rawlen)
        return ENT_EINVAL;
    int rc = ent_sig_verify(op->h.author, ENT_SIGCTX_OP, op->raw + 1,
                            op->signed_len, op->sig);
    return rc == ENT_OK ? ENT_OK : ENT_EBADSIG;
}

static const uint8_t *op_object(const ent_op *op) {
    return op->h.genesis ? op->id : op->h.object;
}

typedef struct auth_ref {
    const ent_op *op;
    size_t i;
} auth_ref;

static int by_seq_desc(const void *a, const void *b) {
    const auth_ref *x = a, *y = b;
    if (x->op->h.seq != y->op->h.seq)
        return x->op->h.seq < y->op->h.seq ? 1 : -1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int by_id(const void *a, const void *b) {
    const auth_ref *x = a, *y = b;
    int c = memcmp(x->op->id, y->op->id, ENT_HASH_LEN);
    return c != 0 ? c : (x->i < y->i ? -1 : x->i > y->i);
}

/* Marks as vouched every op of ids[0..m) with id p, author and object of
 * child, and a lower seq. */
static void vouch(const auth_ref *ids, size_t m, const ent_op *child,
                  const uint8_t p[ENT_HASH_LEN], bool *vouched) {
    size_t lo = 0, hi = m;
    while (lo < hi) { /* first entry whose id >= p */
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(ids[mid].op->id, p, ENT_HASH_LEN) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < m && memcmp(ids[lo].op->id, p, ENT_HASH_LEN) == 0; lo++) {
        const ent_op *par = ids[lo].op;
        if (par->h.seq < child->h.seq &&
            memcmp(par->h.author, child->h.author, ENT_PK_LEN) == 0 &&
            memcmp(op_object(par), op_object(child), ENT_HASH_LEN) == 0)
            vouched[ids[lo].i] = true;
    }
}

int ent_op_authenticate(ent_op *const *ops, size_t n, int *rcs,
                        size_t *nchecks) {
    size_t m = 0, checks = 0;
    if (nchecks != NULL)
        *nchecks = 0;
    for (size_t i = 0; i < n; i++)
        m += ops[i] != NULL;
    if (m == 0)
        return ENT_OK;
    auth_ref *order = malloc(m * sizeof(*order));
    auth_ref *ids = malloc(m * sizeof(*ids));
    bool *vouched = calloc(n, sizeof(*vouched));
    int rc = ENT_ENOMEM;
    if (order == NULL || ids == NULL || vouched == NULL)
        goto out;
    for (size_t i = 0, k = 0; i < n; i++)
        if (ops[i] != NULL)
            order[k++] = (auth_ref){ops[i], i};
    memcpy(ids, order, m * sizeof(*ids));
    /* a parent by the same author has a lower seq, so walking by falling
     * seq judges every child before the parents it may vouch for */
    qsort(order, m, sizeof(*order), by_seq_desc);
    qsort(ids, m, sizeof(*ids), by_id);
    for (size_t k = 0; k < m; k++) {
        const ent_op *op = order[k].op;
        size_t i = order[k].i;
        if (!vouched[i]) {
            checks++;
            if (ent_op_verify(op) != ENT_OK) {
                rcs[i] = ENT_EBADSIG;
                continue;
            }
        }
        rcs[i] = ENT_OK;
        for (size_t p = 0; p < op->h.nparents; p++)
            vouch(ids, m, op, op->h.parents[p], vouched);
    }
    rc = ENT_OK;
    if (nchecks != NULL)
        *nchecks = checks;
out:
    free(order);
    free(ids);
    free(vouched);
    return rc;
}

int ent_op_open(const ent_op *op, const uint8_t key[ENT_KEY_LEN],
                uint8_t **body, size_t *blen) {
    *body = NULL;
    *blen = 0;
    if (op == NULL || key == NULL || op->raw == NULL || op->ct == NULL ||
        op->ctlen < ENT_AEAD_TAG_LEN || op->hdr_off + op->hdr_len > op->rawlen)
        return ENT_EINVAL;
    size_t n = op->ctlen - ENT_AEAD_TAG_LEN;
    uint8_t *pt = malloc(n > 0 ? n : 1);
    if (pt == NULL)
        return ENT_ENOMEM;
    int rc = ent_aead_open(pt, op->ct, op->ctlen, op->nonce,
                           op->raw + op->hdr_off, op->hdr_len, key);
    if (rc != ENT_OK) {
        free(pt);
        return ENT_EDECRYPT;
    }
    *body = pt;
    *blen = n;
    return ENT_OK;
}

/* ----------------------------------------------------------------- bodies */

/* A name (field, type, stage): 1..ENT_OP_NAME_MAX bytes of UTF-8 without
 * NUL, held NUL-terminated in a char[ENT_OP_NAME_MAX + 1]. */
static bool name_valid(const char *s, size_t *len) {
    const char *end = memchr(s, '\0', ENT_OP_NAME_MAX + 1);
    if (end == NULL || end == s)
        return false;
    *len = (size_t)(end - s);
    return ent_cbor_utf8_valid(s, *len);
}

static bool currency_valid(const char cur[4]) {
    for (int i = 0; i < 3; i++)
        if (cur[i] < 'A' || cur[i] > 'Z')
            return false;
    return cur[3] == '\0';
}

static bool text_valid(const char *s, size_t len, size_t max) {
    return (s != NULL || len == 0) && len <= max &&
           (len == 0 || memchr(s, '\0', len) == NULL);
}

/* A value is [type, payload]; a field value written under an owner-only
 * template field is [type, payload, 1] (flags; 1 = owner-only). */
static void emit_value(ent_cbor_writer *w, const ent_value *v, bool owner_only) {
    ent_cbor_write_array(w, owner_only ? 3 : 2);
    ent_cbor_write_uint(w, (uint64_t)v->type);
    switch (v->type) {
    case ENT_VT_NULL:
        ent_cbor_write_null(w);
        break;
    case ENT_VT_TEXT:
    case ENT_VT_ENUM:
        if (!text_valid(v->u.text.s, v->u.text.len, ENT_VALUE_TEXT_MAX) ||
            (v->type == ENT_VT_ENUM && v->u.text.len == 0))
            ent_cbor_writer_fail(w, ENT_EINVAL);
        else
            ent_cbor_write_text(w, v->u.text.s, v->u.text.len);
        break;
    case ENT_VT_INT:
        ent_cbor_write_int(w, v->u.i);
        break;
    case ENT_VT_MONEY:
        if (!currency_valid(v->u.money.cur))
            ent_cbor_writer_fail(w, ENT_EINVAL);
        ent_cbor_write_array(w, 2);
        ent_cbor_write_int(w, v->u.money.minor);
        ent_cbor_write_text(w, v->u.money.cur, 3);
        break;
    case ENT_VT_DATE:
        ent_cbor_write_int(w, v->u.days);
        break;
    case ENT_VT_ORG:
        ent_cbor_write_bytes(w, v->u.org, 32);
        break;
    case ENT_VT_REF:
        ent_cbor_write_bytes(w, v->u.ref, 32);
        break;
    default:
        ent_cbor_writer_fail(w, ENT_EINVAL);
    }
    if (owner_only)
        ent_cbor_write_uint(w, 1);
}

/* Deterministic order of text keys: by encoding, i.e. shorter names first,
 * then bytewise. */
static int field_cmp(const void *a, const void *b) {
    const ent_op_field *x = *(const ent_op_field *const *)a;
    const ent_op_field *y = *(const ent_op_field *const *)b;
    size_t xl = strnlen(x->name, sizeof(x->name));
    size_t yl = strnlen(y->name, sizeof(y->name));
    if (xl != yl)
        return xl < yl ? -1 : 1;
    return memcmp(x->name, y->name, xl);
}

typedef struct body_ctx {
    const ent_op_body *b;
    const ent_op_field **order; /* fields sorted by field_cmp */
} body_ctx;

static void emit_fields(ent_cbor_writer *w, const body_ctx *c) {
    ent_cbor_write_map(w, c->b->nfields);
    for (size_t i = 0; i < c->b->nfields; i++) {
        const ent_op_field *f = c->order[i];
        size_t nlen;
        if (!name_valid(f->name, &nlen)) {
            ent_cbor_writer_fail(w, ENT_EINVAL);
            return;
        }
        ent_cbor_write_text(w, f->name, nlen);
        emit_value(w, &f->v, f->owner_only);
    }
}

static void emit_member_keys(ent_cbor_writer *w, const ent_op_body *b) {
    ent_cbor_write_array(w, b->nmkeys);
    for (size_t i = 0; i < b->nmkeys; i++) {
        if (i > 0 && memcmp(b->mkeys[i - 1].org, b->mkeys[i].org, 32) >= 0)
            ent_cbor_writer_fail(w, ENT_EINVAL);
        ent_cbor_write_array(w, 2);
        ent_cbor_write_bytes(w, b->mkeys[i].org, 32);
        ent_cbor_write_bytes(w, b->mkeys[i].box, ENT_OP_BOX_LEN);
    }
}

static void emit_body(ent_cbor_writer *w, const void *data) {
    const body_ctx *c = data;
    const ent_op_body *b = c->b;
    size_t len;
    switch (b->kind) {
    case ENT_OP_CREATE:
        if (!name_valid(b->type, &len)) {
            ent_cbor_writer_fail(w, ENT_EINVAL);
            return;
        }
        if (b->ruleslen > ENT_OP_RULES_MAX || (b->ruleslen && !b->rules)) {
            ent_cbor_writer_fail(w, ENT_EINVAL);
            return;
        }
        ent_cbor_write_array(w, b->ruleslen ? 3 : 2);
        ent_cbor_write_text(w, b->type, len);
        emit_fields(w, c);
        if (b->ruleslen)
            ent_cbor_write_bytes(w, b->rules, b->ruleslen);
        break;
    case ENT_OP_RULES:
        if (b->ruleslen == 0 || b->ruleslen > ENT_OP_RULES_MAX ||
            b->rules == NULL) {
            ent_cbor_writer_fail(w, ENT_EINVAL);
            return;
        }
        ent_cbor_write_array(w, 1);
        ent_cbor_write_bytes(w, b->rules, b->ruleslen);
        break;
    case ENT_OP_ERASE:
        len = strnlen(b->field, sizeof(b->field));
        if ((len > 0 && !name_valid(b->field, &len)) || b->nerased == 0 ||
            b->nerased > ENT_OP_ERASE_MAX || b->erased == NULL) {
            ent_cbor_writer_fail(w, ENT_EINVAL);
            return;
        }
        ent_cbor_write_array(w, 2);
        ent_cbor_write_text(w, b->field, len);
        ent_cbor_write_array(w, b->nerased);
        for (size_t i = 0; i < b->nerased; i++) {
            if (i > 0 &&
                memcmp(b->erased + (i - 1) * 32, b->erased + i * 32, 32) >= 0)
                ent_cbor_writer_fail(w, ENT_EINVAL);
            ent_cbor_write_bytes(w, b->erased + i * 32, 32);
        }
        break;
    case ENT_OP_ATTACH:
        len = strnlen(b->fname, sizeof(b->fname));
        if (!ent_op_file_name_valid(b->fname, len) || b->fsize == 0 ||
            b->fsize > ENT_OP_FILE_MAX || b->chunks == NULL ||
            b->nchunks != (b->fsize + ENT_OP_CHUNK - 1) / ENT_OP_CHUNK) {
            ent_cbor_writer_fail(w, ENT_EINVAL);
            return;
        }
        ent_cbor_write_array(w, 4);
        ent_cbor_write_text(w, b->fname, len);
        ent_cbor_write_uint(w, b->fsize);
        ent_cbor_write_bytes(w, b->fhash, 32);
        ent_cbor_write_array(w, b->nchunks);
        for (size_t i = 0; i < b->nchunks; i++)
            ent_cbor_write_bytes(w, b->chunks + i * 32, 32);
        break;
    case ENT_OP_APPROVE:
        if (!name_valid(b->step, &len) || b->decision > 1 ||
            !text_valid(b->text ? b->text : "", b->textlen,
                        ENT_VALUE_TEXT_MAX)) {
            ent_cbor_writer_fail(w, ENT_EINVAL);
            return;
        }
        ent_cbor_write_array(w, 3);
        ent_cbor_write_text(w, b->step, len);
        ent_cbor_write_uint(w, b->decision);
        ent_cbor_write_text(w, b->text ? b->text : "", b->textlen);
        break;
    case ENT_OP_SET:
        ent_cbor_write_array(w, 1);
        emit_fields(w, c);
        break;
    case ENT_OP_ADD_MEMBER:
        if (b->role >= ENT_ROLE__COUNT)
            ent_cbor_writer_fail(w, ENT_EINVAL);
        ent_cbor_write_array(w, 3);
        ent_cbor_write_bytes(w, b->org, 32);
        ent_cbor_write_uint(w, b->role);
        ent_cbor_write_array(w, b->nekeys);
        for (size_t i = 0; i < b->nekeys; i++) {
            if (i > 0 && b->ekeys[i - 1].epoch >= b->ekeys[i].epoch)
                ent_cbor_writer_fail(w, ENT_EINVAL);
            ent_cbor_write_array(w, 2);
            ent_cbor_write_uint(w, b->ekeys[i].epoch);
            ent_cbor_write_bytes(w, b->ekeys[i].box, ENT_OP_BOX_LEN);
        }
        break;
    case ENT_OP_REMOVE_MEMBER:
        ent_cbor_write_array(w, 3);
        ent_cbor_write_bytes(w, b->org, 32);
        ent_cbor_write_uint(w, b->epoch);
        emit_member_keys(w, b);
        break;
    case ENT_OP_ROTATE_KEY:
        ent_cbor_write_array(w, 2);
        ent_cbor_write_uint(w, b->epoch);
        emit_member_keys(w, b);
        break;
    case ENT_OP_STAGE:
    case ENT_OP_COMMENT:
        if (!text_valid(b->text, b->textlen,
                        b->kind == ENT_OP_STAGE ? ENT_OP_NAME_MAX
                                                : ENT_VALUE_TEXT_MAX) ||
            (b->kind == ENT_OP_STAGE && b->textlen == 0)) {
            ent_cbor_writer_fail(w, ENT_EINVAL);
            return;
        }
        ent_cbor_write_array(w, 1);
        ent_cbor_write_text(w, b->text ? b->text : "", b->textlen);
        break;
    default:
        ent_cbor_writer_fail(w, ENT_EINVAL);
    }
}

int ent_op_body_encode(const ent_op_body *b, uint8_t **out, size_t *len) {
    const ent_op_field **order = NULL;
    int rc;
    *out = NULL;
    *len = 0;
    if (b == NULL || b->nfields > ENT_OP_MAX_FIELDS ||
        b->nekeys > ENT_OP_MAX_KEYS || b->nmkeys > ENT_OP_MAX_KEYS ||
        (b->fields == NULL && b->nfields > 0) ||
        (b->ekeys == NULL && b->nekeys > 0) ||
        (b->mkeys == NULL && b->nmkeys > 0))
        return ENT_EINVAL;
    if (b->kind == ENT_OP_CREATE || b->kind == ENT_OP_SET) {
        order = malloc((b->nfields ? b->nfields : 1) * sizeof(*order));
        if (order == NULL)
            return ENT_ENOMEM;
        for (size_t i = 0; i < b->nfields; i++)
            order[i] = &b->fields[i];
        qsort(order, b->nfields, sizeof(*order), field_cmp);
        for (size_t i = 1; i < b->nfields; i++)
            if (field_cmp(&order[i - 1], &order[i]) == 0) {
                rc = ENT_EINVAL; /* duplicate field name */
                goto out;
            }
    }
    body_ctx c = {.b = b, .order = order};
    rc = ent_cbor_encode(out, len, ENT_OP_MAX_SIZE, emit_body, &c);
out:
    free(order);
    return rc;
}

static void value_clear(ent_value *v) {
    if (v->type == ENT_VT_TEXT || v->type == ENT_VT_ENUM)
        free(v->u.text.s);
    memset(v, 0, sizeof(*v));
}

void ent_op_body_clear(ent_op_body *b) {
    if (b == NULL)
        return;
    for (size_t i = 0; b->fields != NULL && i < b->nfields; i++)
        value_clear(&b->fields[i].v);
    free(b->fields);
    free(b->ekeys);
    free(b->mkeys);
    free(b->text);
    free(b->rules);
    free(b->erased);
    free(b->chunks);
    memset(b, 0, sizeof(*b));
}

/* Reads a text item of 0..max bytes without NUL into a fresh string. */
static int read_string_dup(ent_cbor_reader *r, size_t max, char **out,
                           size_t *outlen) {
    const char *s;
    size_t n;
    int rc = ent_cbor_read_text(r, &s, &n);
    if (rc != ENT_OK)
        return rc;
    if (!text_valid(s, n, max))
        return ENT_ECORRUPT;
    char *d = malloc(n + 1);
    if (d == NULL)
        return ENT_ENOMEM;
    memcpy(d, s, n);
    d[n] = '\0';
    *out = d;
    *outlen = n;
    return ENT_OK;
}

static int read_name(ent_cbor_reader *r, char out[ENT_OP_NAME_MAX + 1]) {
    const char *s;
    size_t n;
    int rc = ent_cbor_read_text(r, &s, &n);
    if (rc != ENT_OK)
        return rc;
    if (n == 0 || !text_valid(s, n, ENT_OP_NAME_MAX))
        return ENT_ECORRUPT;
    memcpy(out, s, n);
    out[n] = '\0';
    return ENT_OK;
}

static int read_value(ent_cbor_reader *r, ent_value *v, bool *owner_only) {
    size_t n;
    uint64_t t;
    int64_t i;
    const char *s;
    int rc;
    if ((rc = ent_cbor_read_array(r, &n)) != ENT_OK ||
        (rc = ent_cbor_read_uint(r, &t)) != ENT_OK)
        return rc;
    if (n != 2 && n != 3)
        return ENT_ECORRUPT;
    size_t items = n;
    switch (t) {
    case ENT_VT_NULL:
        rc = ent_cbor_read_null(r);
        break;
    case ENT_VT_TEXT:
    case ENT_VT_ENUM:
        rc = read_string_dup(r, ENT_VALUE_TEXT_MAX, &v->u.text.s,
                             &v->u.text.len);
        if (rc == ENT_OK && t == ENT_VT_ENUM && v->u.text.len == 0) {
            free(v->u.text.s);
            v->u.text.s = NULL;
            rc = ENT_ECORRUPT;
        }
        break;
    case ENT_VT_INT:
        rc = ent_cbor_read_int(r, &v->u.i);
        break;
    case ENT_VT_MONEY:
        if ((rc = ent_cbor_read_array(r, &n)) != ENT_OK)
            break;
        if (n != 2) {
            rc = ENT_ECORRUPT;
            break;
        }
        if ((rc = ent_cbor_read_int(r, &v->u.money.minor)) != ENT_OK ||
            (rc = ent_cbor_read_text(r, &s, &n)) != ENT_OK)
            break;
        if (n != 3) {
            rc = ENT_ECORRUPT;
            break;
        }
        memcpy(v->u.money.cur, s, 3);
        v->u.money.cur[3] = '\0';
        if (!currency_valid(v->u.money.cur))
            rc = ENT_ECORRUPT;
        break;
    case ENT_VT_DATE:
        if ((rc = ent_cbor_read_int(r, &i)) != ENT_OK)
            break;
        if (i < INT32_MIN || i > INT32_MAX)
            rc = ENT_ECORRUPT;
        else
            v->u.days = (int32_t)i;
        break;
    case ENT_VT_ORG:
        rc = ent_cbor_read_bytes_exact(r, v->u.org, 32);
        break;
    case ENT_VT_REF:
        rc = ent_cbor_read_bytes_exact(r, v->u.ref, 32);
        break;
    default:
        rc = ENT_ECORRUPT;
    }
    if (rc == ENT_OK)
        v->type = (ent_vtype)t; /* only now does clear own a string */
    *owner_only = false;
    if (rc == ENT_OK && items == 3) {
        uint64_t flags;
        if ((rc = ent_cbor_read_uint(r, &flags)) == ENT_OK && flags != 1)
            rc = flags == 0 ? ENT_ENONCANON : ENT_ECORRUPT;
        *owner_only = rc == ENT_OK;
    }
    return rc;
}

/* The map's order and uniqueness were checked by ent_cbor_check. */
static int read_fields(ent_cbor_reader *r, ent_op_body *b) {
    size_t n;
    int rc = ent_cbor_read_map(r, &n);
    if (rc != ENT_OK)
        return rc;
    if (n > ENT_OP_MAX_FIELDS)
        return ENT_ECORRUPT;
    b->fields = calloc(n ? n : 1, sizeof(*b->fields));
    if (b->fields == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        ent_op_field *f = &b->fields[i];
        b->nfields = i + 1;
        if ((rc = read_name(r, f->name)) != ENT_OK ||
            (rc = read_value(r, &f->v, &f->owner_only)) != ENT_OK)
            return rc;
    }
    b->nfields = n;
    return ENT_OK;
}

static int read_member_keys(ent_cbor_reader *r, ent_op_body *b) {
    size_t n, m;
    int rc = ent_cbor_read_array(r, &n);
    if (rc != ENT_OK)
        return rc;
    if (n > ENT_OP_MAX_KEYS)
        return ENT_ECORRUPT;
    b->mkeys = calloc(n ? n : 1, sizeof(*b->mkeys));
    if (b->mkeys == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        ent_op_member_key *k = &b->mkeys[i];
        if ((rc = ent_cbor_read_array(r, &m)) != ENT_OK)
            return rc;
        if (m != 2)
            return ENT_ECORRUPT;
        if ((rc = ent_cbor_read_bytes_exact(r, k->org, 32)) != ENT_OK ||
            (rc = ent_cbor_read_bytes_exact(r, k->box, ENT_OP_BOX_LEN)) !=
                ENT_OK)
            return rc;
        if (i > 0 && memcmp(b->mkeys[i - 1].org, k->org, 32) >= 0)
            return ENT_ENONCANON;
    }
    b->nmkeys = n;
    return ENT_OK;
}

static int read_epoch_keys(ent_cbor_reader *r, ent_op_body *b) {
    size_t n, m;
    int rc = ent_cbor_read_array(r, &n);
    if (rc != ENT_OK)
        return rc;
    if (n > ENT_OP_MAX_KEYS)
        return ENT_ECORRUPT;
    b->ekeys = calloc(n ? n : 1, sizeof(*b->ekeys));
    if (b->ekeys == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        ent_op_epoch_key *k = &b->ekeys[i];
        if ((rc = ent_cbor_read_array(r, &m)) != ENT_OK)
            return rc;
        if (m != 2)
            return ENT_ECORRUPT;
        if ((rc = ent_cbor_read_uint(r, &k->epoch)) != ENT_OK ||
            (rc = ent_cbor_read_bytes_exact(r, k->box, ENT_OP_BOX_LEN)) !=
                ENT_OK)
            return rc;
        if (i > 0 && b->ekeys[i - 1].epoch >= k->epoch)
            return ENT_ENONCANON;
    }
    b->nekeys = n;
    return ENT_OK;
}

/* The rules of a create or rules body: a byte string of 1 ..
 * ENT_OP_RULES_MAX bytes, copied (node/work decodes it). */
static int read_rules(ent_cbor_reader *r, ent_op_body *b) {
    const uint8_t *p;
    size_t n;
    int rc = ent_cbor_read_bytes(r, &p, &n);
    if (rc != ENT_OK)
        return rc;
    if (n == 0 || n > ENT_OP_RULES_MAX)
        return ENT_ECORRUPT;
    if ((b->rules = malloc(n)) == NULL)
        return ENT_ENOMEM;
    memcpy(b->rules, p, n);
    b->ruleslen = n;
    return ENT_OK;
}

/* The body of an erase op after its array head: a field name of 0 ..
 * ENT_OP_NAME_MAX bytes ("" : the whole object) and 1 .. ENT_OP_ERASE_MAX
 * op ids, ascending and unique. */
static int read_erase(ent_cbor_reader *r, ent_op_body *b) {
    const char *s;
    size_t n;
    int rc = ent_cbor_read_text(r, &s, &n);
    if (rc != ENT_OK)
        return rc;
    if (n > 0 && !text_valid(s, n, ENT_OP_NAME_MAX))
        return ENT_ECORRUPT;
    memcpy(b->field, s, n);
    b->field[n] = '\0';
    if ((rc = ent_cbor_read_array(r, &n)) != ENT_OK)
        return rc;
    if (n == 0 || n > ENT_OP_ERASE_MAX)
        return ENT_ECORRUPT;
    if ((b->erased = malloc(n * 32)) == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if ((rc = ent_cbor_read_bytes_exact(r, b->erased + i * 32, 32)) !=
            ENT_OK)
            return rc;
        if (i > 0 &&
            memcmp(b->erased + (i - 1) * 32, b->erased + i * 32, 32) >= 0)
            return ENT_ENONCANON;
        b->nerased = i + 1;
    }
    return ENT_OK;
}

bool ent_op_file_name_valid(const char *s, size_t len) {
    if (s == NULL || len == 0 || len > ENT_OP_FILE_NAME_MAX ||
        (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '/' ||
            s[i] == '\\')
            return false;
    return true;
}

/* The body of an attach op after its array head (spec/records.md §3). */
static int read_attach(ent_cbor_reader *r, ent_op_body *b) {
    const char *s;
    size_t n;
    int rc = ent_cbor_read_text(r, &s, &n);
    if (rc != ENT_OK)
        return rc;
    if (!ent_op_file_name_valid(s, n))
        return ENT_ECORRUPT;
    memcpy(b->fname, s, n);
    b->fname[n] = '\0';
    if ((rc = ent_cbor_read_uint(r, &b->fsize)) != ENT_OK ||
        (rc = ent_cbor_read_bytes_exact(r, b->fhash, 32)) != ENT_OK ||
        (rc = ent_cbor_read_array(r, &n)) != ENT_OK)
        return rc;
    if (b->fsize == 0 || b->fsize > ENT_OP_FILE_MAX ||
        n != (b->fsize + ENT_OP_CHUNK - 1) / ENT_OP_CHUNK)
        return ENT_ECORRUPT;
    if ((b->chunks = malloc(n * 32)) == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if ((rc = ent_cbor_read_bytes_exact(r, b->chunks + i * 32, 32)) !=
            ENT_OK)
            return rc;
        b->nchunks = i + 1;
    }
    return ENT_OK;
}

static int read_body(ent_cbor_reader *r, ent_op_body *b) {
    static const size_t items[ENT_OP_KIND__COUNT] = {2, 1, 3, 3, 2,
                                                     1, 1, 3, 1, 2, 4};
    size_t n;
    uint64_t u;
    int rc = ent_cbor_read_array(r, &n);
    if (rc != ENT_OK)
        return rc;
    if (n != items[b->kind] && !(b->kind == ENT_OP_CREATE && n == 3))
        return ENT_ECORRUPT;
    switch (b->kind) {
    case ENT_OP_CREATE:
        if ((rc = read_name(r, b->type)) != ENT_OK ||
            (rc = read_fields(r, b)) != ENT_OK)
            return rc;
        return n == 3 ? read_rules(r, b) : ENT_OK;
    case ENT_OP_RULES:
        return read_rules(r, b);
    case ENT_OP_ERASE:
        return read_erase(r, b);
    case ENT_OP_ATTACH:
        return read_attach(r, b);
    case ENT_OP_APPROVE:
        if ((rc = read_name(r, b->step)) != ENT_OK ||
            (rc = ent_cbor_read_uint(r, &u)) != ENT_OK)
            return rc;
        if (u > 1)
            return ENT_ECORRUPT;
        b->decision = (uint8_t)u;
        return read_string_dup(r, ENT_VALUE_TEXT_MAX, &b->text, &b->textlen);
    case ENT_OP_SET:
        return read_fields(r, b);
    case ENT_OP_ADD_MEMBER:
        if ((rc = ent_cbor_read_bytes_exact(r, b->org, 32)) != ENT_OK ||
            (rc = ent_cbor_read_uint(r, &u)) != ENT_OK)
            return rc;
        if (u >= ENT_ROLE__COUNT)
            return ENT_ECORRUPT;
        b->role = (uint8_t)u;
        return read_epoch_keys(r, b);
    case ENT_OP_REMOVE_MEMBER:
        if ((rc = ent_cbor_read_bytes_exact(r, b->org, 32)) != ENT_OK)
            return rc;
        /* the rest is rotate_key's */
        /* fall through */
    case ENT_OP_ROTATE_KEY:
        if ((rc = ent_cbor_read_uint(r, &b->epoch)) != ENT_OK)
            return rc;
        return read_member_keys(r, b);
    default: /* stage, comment */
        rc = read_string_dup(r,
                             b->kind == ENT_OP_STAGE ? ENT_OP_NAME_MAX
                                                     : ENT_VALUE_TEXT_MAX,
                             &b->text, &b->textlen);
        if (rc == ENT_OK && b->kind == ENT_OP_STAGE && b->textlen == 0)
            rc = ENT_ECORRUPT;
        return rc;
    }
}

int ent_op_body_decode(ent_op_body *b, uint8_t kind, const uint8_t *buf,
                       size_t len) {
    static const ent_cbor_limits lim = {
        .max_depth = 4, /* body > fields > value > money */
        .max_items = ENT_OP_ERASE_MAX, /* the largest of the kinds' counts
                                          (each kind checks its own) */
        .max_total = 8 + 7 * ENT_OP_MAX_FIELDS, /* >= 8 + ENT_OP_ERASE_MAX */
        .max_str = ENT_VALUE_TEXT_MAX,
        .max_size = ENT_OP_MAX_SIZE,
    };
    ent_cbor_reader r;
    int rc;
    memset(b, 0, sizeof(*b));
    if (buf == NULL && len > 0)
        return ENT_EINVAL;
    if (kind >= ENT_OP_KIND__COUNT)
        return ENT_EVERSION;
    b->kind = kind;
    if ((rc = ent_cbor_check(buf, len, &lim)) != ENT_OK)
        goto out;
    ent_cbor_reader_init(&r, buf, len);
    if ((rc = read_body(&r, b)) != ENT_OK)
        goto out;
    rc = ent_cbor_read_end(&r);
out:
    if (rc != ENT_OK)
        ent_op_body_clear(b);
    return rc;
}

/* ------------------------------------------------------------ erased ops */

static void emit_erased(ent_cbor_writer *w, const void *data) {
    const ent_op_erased *e = data;
    ent_cbor_write_array(w, 7);
    ent_cbor_write_bytes(w, e->id, 32);
    ent_cbor_write_bytes(w, e->eraser, 32);
    ent_cbor_write_bytes(w, e->object, 32);
    ent_cbor_write_bytes(w, e->author, 32);
    ent_cbor_write_uint(w, e->kind);
    ent_cbor_write_uint(w, e->seq);
    ent_cbor_write_uint(w, e->hlc);
}

int ent_op_erased_encode(const ent_op_erased *e, uint8_t *out, size_t *len) {
    uint8_t *buf = NULL;
    size_t n = 0;
    if (e == NULL || out == NULL || len == NULL ||
        e->kind >= ENT_OP_KIND__COUNT)
        return ENT_EINVAL;
    int rc = ent_cbor_encode(&buf, &n, ENT_OP_ERASED_MAX, emit_erased, e);
    if (rc == ENT_OK) {
        memcpy(out, buf, n);
        *len = n;
    }
    free(buf);
    return rc;
}

int ent_op_erased_decode(ent_op_erased *e, const uint8_t *buf, size_t len) {
    static const ent_cbor_limits lim = {
        .max_depth = 1,
        .max_items = 7,
        .max_total = 8,
        .max_str = 32,
        .max_size = ENT_OP_ERASED_MAX,
    };
    ent_cbor_reader r;
    size_t n;
    uint64_t kind;
    int rc;
    memset(e, 0, sizeof(*e));
    if (buf == NULL)
        return ENT_EINVAL;
    if ((rc = ent_cbor_check(buf, len, &lim)) != ENT_OK)
        return rc;
    ent_cbor_reader_init(&r, buf, len);
    if ((rc = ent_cbor_read_array(&r, &n)) != ENT_OK)
        return rc;
    if (n != 7)
        return ENT_ECORRUPT;
    if ((rc = ent_cbor_read_bytes_exact(&r, e->id, 32)) != ENT_OK ||
        (rc = ent_cbor_read_bytes_exact(&r, e->eraser, 32)) != ENT_OK ||
        (rc = ent_cbor_read_bytes_exact(&r, e->object, 32)) != ENT_OK ||
        (rc = ent_cbor_read_bytes_exact(&r, e->author, 32)) != ENT_OK ||
        (rc = ent_cbor_read_uint(&r, &kind)) != ENT_OK ||
        (rc = ent_cbor_read_uint(&r, &e->seq)) != ENT_OK ||
        (rc = ent_cbor_read_uint(&r, &e->hlc)) != ENT_OK)
        goto out;
    if (kind >= ENT_OP_KIND__COUNT || e->seq == 0) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    e->kind = (uint8_t)kind;
    rc = ent_cbor_read_end(&r);
out:
    if (rc != ENT_OK)
        memset(e, 0, sizeof(*e));
    return rc;
}

bool ent_op_is_stub(const void *val, size_t len) {
    return len == ENT_OP_STUB_LEN && ((const uint8_t *)val)[0] == 0x00;
}

void ent_op_stub_make(const ent_op_erased *e, uint8_t out[ENT_OP_STUB_LEN]) {
    out[0] = 0x00;
    memcpy(out + 1, e->id, 32);
    memcpy(out + 33, e->eraser, 32);
    memcpy(out + 65, e->author, 32);
    out[97] = e->kind;
    for (int i = 0; i < 8; i++) {
        out[98 + i] = (uint8_t)(e->seq >> (56 - 8 * i));
        out[106 + i] = (uint8_t)(e->hlc >> (56 - 8 * i));
    }
}

int ent_op_stub_read(const void *val, size_t len, const uint8_t obj[32],
                     ent_op_erased *out) {
    const uint8_t *p = val;
    memset(out, 0, sizeof(*out));
    if (!ent_op_is_stub(val, len) || p[97] >= ENT_OP_KIND__COUNT)
        return ENT_ECORRUPT;
    memcpy(out->id, p + 1, 32);
    memcpy(out->eraser, p + 33, 32);
    memcpy(out->object, obj, 32);
    memcpy(out->author, p + 65, 32);
    out->kind = p[97];
    for (int i = 0; i < 8; i++) {
        out->seq = out->seq << 8 | p[98 + i];
        out->hlc = out->hlc << 8 | p[106 + i];
    }
    return ENT_OK;
}
