/*
 * cbor.c - deterministic CBOR: checker, reader and writer (see cbor.h and
 * spec/records.md). libcbor supplies the encoding of item heads; nothing
 * here calls libcbor's allocating decoder.
 */
#include "protocol/cbor.h"

#include <cbor.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"

void ent_cbor_limits_default(ent_cbor_limits *lim) {
    lim->max_depth = 16;
    lim->max_items = 1024;
    lim->max_total = 65536;
    lim->max_str = 65536;
    lim->max_size = 1024 * 1024;
}

/* ------------------------------------------------------------- item heads */

/* Additional information 31: indefinite length or break. */
#define AI_INDEF 31

typedef struct head {
    int major;
    uint8_t ai;
    uint64_t val; /* argument; for ai < 24 the ai itself */
    size_t size;  /* bytes of the head */
} head;

/*
 * Parses the head at buf[pos..len). Checks bounds, reserved additional
 * information (28-30: ENT_ECORRUPT) and, outside major type 7, that the
 * argument uses the shortest form (ENT_ENONCANON). Indefinite lengths are
 * returned with ai == AI_INDEF for the caller to judge.
 */
static int read_head(const uint8_t *buf, size_t len, size_t pos, head *h) {
    if (pos >= len)
        return ENT_ETRUNCATED;
    uint8_t b = buf[pos];
    h->major = b >> 5;
    h->ai = b & 0x1f;
    h->size = 1;
    h->val = h->ai;
    if (h->ai < 24 || h->ai == AI_INDEF)
        return ENT_OK;
    if (h->ai > 27)
        return ENT_ECORRUPT;
    size_t n = (size_t)1 << (h->ai - 24); /* 1, 2, 4 or 8 bytes */
    if (len - pos - 1 < n)
        return ENT_ETRUNCATED;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | buf[pos + 1 + i];
    h->val = v;
    h->size = 1 + n;
    if (h->major == ENT_CBOR_SIMPLE)
        return ENT_OK;
    static const uint64_t min[4] = {24, 0x100, 0x10000, 0x100000000ULL};
    if (v < min[h->ai - 24])
        return ENT_ENONCANON;
    return ENT_OK;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    if (n > 0 && s == NULL)
        return false;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, lo;
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
            lo = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
            lo = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
            lo = 0x10000;
        } else {
            return false;
        }
        if (n - i - 1 < k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            uint8_t d = s[i + j];
            if ((d & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (d & 0x3f);
        }
        if (cp < lo || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

bool ent_cbor_utf8_valid(const void *s, size_t n) {
    return utf8_valid(s, n);
}

/* ---------------------------------------------------------------- checker */

typedef struct frame {
    uint64_t left;    /* items still to come (keys and values for a map) */
    bool map;
    size_t key_start; /* offset of the key being read */
    size_t prev_off;  /* previous key's encoding, when has_prev */
    size_t prev_len;
    bool has_prev;
} frame;

/* Bytewise order of two encodings (RFC 8949 §4.2.1): a proper prefix sorts
 * first. */
static int enc_cmp(const uint8_t *a, size_t alen, const uint8_t *b,
                   size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/*
 * Marks the item that ends at pos as complete: checks map key order when it
 * was a key, and pops every container that this completes in turn.
 */
static int complete(const uint8_t *buf, frame *st, size_t *nf, size_t pos) {
    while (*nf > 0) {
        frame *f = &st[*nf - 1];
        if (f->map && f->left % 2 == 0) {
            size_t klen = pos - f->key_start;
            if (f->has_prev &&
                enc_cmp(buf + f->prev_off, f->prev_len, buf + f->key_start,
                        klen) >= 0)
                return ENT_ENONCANON; /* unsorted or duplicate key */
            f->prev_off = f->key_start;
            f->prev_len = klen;
            f->has_prev = true;
        }
        if (--f->left > 0)
            return ENT_OK;
        (*nf)--; /* the container itself is complete: go on in its parent */
    }
    return ENT_OK;
}

/*
 * The walker keeps one frame per open container on a fixed stack, so depth
 * costs no allocation and no recursion. Every length is compared with the
 * limits first (ENT_ETOOBIG) and with the bytes left second (ENT_ETRUNCATED:
 * each item takes at least one byte, so a container cannot hold more items
 * than bytes remain).
 */
int ent_cbor_check(const uint8_t *buf, size_t len, const ent_cbor_limits *lim) {
    ent_cbor_limits def;
    if (lim == NULL) {
        ent_cbor_limits_default(&def);
        lim = &def;
    }
    if (buf == NULL && len > 0)
        return ENT_EINVAL;
    if (len > lim->max_size)
        return ENT_ETOOBIG;
    size_t max_depth = lim->max_depth < ENT_CBOR_DEPTH_CAP
                           ? lim->max_depth
                           : ENT_CBOR_DEPTH_CAP;
    frame st[ENT_CBOR_DEPTH_CAP];
    size_t nf = 0, pos = 0, total = 0;
    int rc;
    for (;;) {
        if (nf > 0 && st[nf - 1].map && st[nf - 1].left % 2 == 0)
            st[nf - 1].key_start = pos;
        head h;
        rc = read_head(buf, len, pos, &h);
        if (rc != ENT_OK)
            return rc;
        if (++total > lim->max_total)
            return ENT_ETOOBIG;
        pos += h.size;
        switch (h.major) {
        case ENT_CBOR_UINT:
        case ENT_CBOR_NEGINT:
            if (h.ai == AI_INDEF)
                return ENT_ECORRUPT;
            break;
        case ENT_CBOR_BYTES:
        case ENT_CBOR_TEXT:
            if (h.ai == AI_INDEF)
                return ENT_ENONCANON;
            if (h.val > lim->max_str)
                return ENT_ETOOBIG;
            if (h.val > len - pos)
                return ENT_ETRUNCATED;
            if (h.major == ENT_CBOR_TEXT &&
                !utf8_valid(buf + pos, (size_t)h.val))
                return ENT_ECORRUPT;
            pos += (size_t)h.val;
            break;
        case ENT_CBOR_ARRAY:
        case ENT_CBOR_MAP: {
            if (h.ai == AI_INDEF)
                return ENT_ENONCANON;
            if (h.val > lim->max_items || nf + 1 > max_depth)
                return ENT_ETOOBIG;
            if (h.val > len - pos)
                return ENT_ETRUNCATED;
            uint64_t items = h.major == ENT_CBOR_MAP ? 2 * h.val : h.val;
            if (items > len - pos)
                return ENT_ETRUNCATED;
            if (items == 0)
                break;
            st[nf] = (frame){.left = items, .map = h.major == ENT_CBOR_MAP};
            nf++;
            continue; /* completes when its last item does */
        }
        case ENT_CBOR_TAG:
            return h.ai == AI_INDEF ? ENT_ECORRUPT : ENT_ENONCANON;
        default: /* ENT_CBOR_SIMPLE */
            if (h.ai == 20 || h.ai == 21 || h.ai == 22)
                break; /* false, true, null */
            if (h.ai == AI_INDEF)
                return ENT_ECORRUPT; /* break outside indefinite item */
            if (h.ai == 24 && h.val < 32)
                return ENT_ECORRUPT; /* ill-formed two-byte simple */
            return ENT_ENONCANON;    /* undefined, simple(n), floats */
        }
        rc = complete(buf, st, &nf, pos);
        if (rc != ENT_OK)
            return rc;
        if (nf == 0)
            return pos == len ? ENT_OK : ENT_ECORRUPT;
    }
}

/* ----------------------------------------------------------------- reader */

void ent_cbor_reader_init(ent_cbor_reader *r, const uint8_t *buf, size_t len) {
    r->buf = buf;
    r->len = buf ? len : 0;
    r->pos = 0;
}

int ent_cbor_peek(const ent_cbor_reader *r) {
    if (r->pos >= r->len)
        return ENT_ETRUNCATED;
    return r->buf[r->pos] >> 5;
}

bool ent_cbor_peek_null(const ent_cbor_reader *r) {
    return r->pos < r->len && r->buf[r->pos] == 0xf6;
}

/* Reads a head of the given major type with a definite argument. */
static int expect(const ent_cbor_reader *r, int major, head *h) {
    int rc = read_head(r->buf, r->len, r->pos, h);
    if (rc != ENT_OK)
        return rc;
    if (h->major != major)
        return ENT_ECORRUPT;
    if (h->ai == AI_INDEF)
        return ENT_ENONCANON;
    return ENT_OK;
}

int ent_cbor_read_uint(ent_cbor_reader *r, uint64_t *v) {
    head h;
    int rc = expect(r, ENT_CBOR_UINT, &h);
    if (rc != ENT_OK)
        return rc;
    *v = h.val;
    r->pos += h.size;
    return ENT_OK;
}

int ent_cbor_read_negint(ent_cbor_reader *r, uint64_t *n) {
    head h;
    int rc = expect(r, ENT_CBOR_NEGINT, &h);
    if (rc != ENT_OK)
        return rc;
    *n = h.val;
    r->pos += h.size;
    return ENT_OK;
}

int ent_cbor_read_int(ent_cbor_reader *r, int64_t *v) {
    head h;
    int rc = read_head(r->buf, r->len, r->pos, &h);
    if (rc != ENT_OK)
        return rc;
    if ((h.major != ENT_CBOR_UINT && h.major != ENT_CBOR_NEGINT) ||
        h.ai == AI_INDEF || h.val > (uint64_t)INT64_MAX)
        return ENT_ECORRUPT;
    *v = h.major == ENT_CBOR_UINT ? (int64_t)h.val : -1 - (int64_t)h.val;
    r->pos += h.size;
    return ENT_OK;
}

int ent_cbor_read_bool(ent_cbor_reader *r, bool *v) {
    if (r->pos >= r->len)
        return ENT_ETRUNCATED;
    uint8_t b = r->buf[r->pos];
    if (b != 0xf4 && b != 0xf5)
        return ENT_ECORRUPT;
    *v = b == 0xf5;
    r->pos++;
    return ENT_OK;
}

int ent_cbor_read_null(ent_cbor_reader *r) {
    if (r->pos >= r->len)
        return ENT_ETRUNCATED;
    if (r->buf[r->pos] != 0xf6)
        return ENT_ECORRUPT;
    r->pos++;
    return ENT_OK;
}

static int read_string(ent_cbor_reader *r, int major, const uint8_t **p,
                       size_t *n) {
    head h;
    int rc = expect(r, major, &h);
    if (rc != ENT_OK)
        return rc;
    size_t start = r->pos + h.size;
    if (h.val > r->len - start)
        return ENT_ETRUNCATED;
    *p = r->buf + start;
    *n = (size_t)h.val;
    r->pos = start + (size_t)h.val;
    return ENT_OK;
}

int ent_cbor_read_bytes(ent_cbor_reader *r, const uint8_t **p, size_t *n) {
    return read_string(r, ENT_CBOR_BYTES, p, n);
}

int ent_cbor_read_bytes_exact(ent_cbor_reader *r, uint8_t *out, size_t n) {
    size_t save = r->pos, got;
    const uint8_t *p;
    int rc = read_string(r, ENT_CBOR_BYTES, &p, &got);
    if (rc != ENT_OK)
        return rc;
    if (got != n) {
        r->pos = save;
        return ENT_ECORRUPT;
    }
    memcpy(out, p, n);
    return ENT_OK;
}

int ent_cbor_read_text(ent_cbor_reader *r, const char **s, size_t *n) {
    const uint8_t *p;
    int rc = read_string(r, ENT_CBOR_TEXT, &p, n);
    if (rc == ENT_OK)
        *s = (const char *)p;
    return rc;
}

static int read_container(ent_cbor_reader *r, int major, size_t *n) {
    head h;
    int rc = expect(r, major, &h);
    if (rc != ENT_OK)
        return rc;
    uint64_t items = major == ENT_CBOR_MAP ? 2 * h.val : h.val;
    if (h.val > r->len || items > r->len - r->pos - h.size)
        return ENT_ETRUNCATED;
    *n = (size_t)h.val;
    r->pos += h.size;
    return ENT_OK;
}

int ent_cbor_read_array(ent_cbor_reader *r, size_t *n) {
    return read_container(r, ENT_CBOR_ARRAY, n);
}

int ent_cbor_read_map(ent_cbor_reader *r, size_t *n) {
    return read_container(r, ENT_CBOR_MAP, n);
}

/* Skipping counts the items still owed instead of recursing; the count
 * never exceeds twice the bytes left, so it cannot overflow. */
int ent_cbor_skip(ent_cbor_reader *r) {
    size_t pos = r->pos;
    uint64_t owed = 1;
    while (owed > 0) {
        head h;
        int rc = read_head(r->buf, r->len, pos, &h);
        if (rc != ENT_OK)
            return rc;
        pos += h.size;
        owed--;
        switch (h.major) {
        case ENT_CBOR_UINT:
        case ENT_CBOR_NEGINT:
            if (h.ai == AI_INDEF)
                return ENT_ECORRUPT;
            break;
        case ENT_CBOR_BYTES:
        case ENT_CBOR_TEXT:
            if (h.ai == AI_INDEF)
                return ENT_ENONCANON;
            if (h.val > r->len - pos)
                return ENT_ETRUNCATED;
            pos += (size_t)h.val;
            break;
        case ENT_CBOR_ARRAY:
        case ENT_CBOR_MAP:
            if (h.ai == AI_INDEF)
                return ENT_ENONCANON;
            if (h.val > r->len - pos)
                return ENT_ETRUNCATED;
            owed += h.major == ENT_CBOR_MAP ? 2 * h.val : h.val;
            break;
        case ENT_CBOR_TAG:
            return ENT_ENONCANON;
        default:
            if (h.ai < 20 || h.ai > 22)
                return h.ai == AI_INDEF ? ENT_ECORRUPT : ENT_ENONCANON;
        }
    }
    r->pos = pos;
    return ENT_OK;
}

int ent_cbor_read_end(const ent_cbor_reader *r) {
    return r->pos == r->len ? ENT_OK : ENT_ECORRUPT;
}

/* ----------------------------------------------------------------- writer */

void ent_cbor_writer_init(ent_cbor_writer *w, uint8_t *buf, size_t cap) {
    w->buf = buf;
    w->cap = buf ? cap : SIZE_MAX;
    w->len = 0;
    w->err = ENT_OK;
}

void ent_cbor_writer_fail(ent_cbor_writer *w, int err) {
    if (w->err == ENT_OK && err < 0)
        w->err = err;
}

/* Appends n bytes (p may be NULL to reserve them); returns where they go,
 * or NULL in the size pass and on error. */
static uint8_t *put(ent_cbor_writer *w, const void *p, size_t n) {
    if (w->err != ENT_OK)
        return NULL;
    if (n > w->cap - w->len) {
        w->err = ENT_ETOOBIG;
        return NULL;
    }
    uint8_t *dst = w->buf ? w->buf + w->len : NULL;
    if (dst != NULL && p != NULL && n > 0)
        memcpy(dst, p, n);
    w->len += n;
    return dst;
}

/* libcbor's encoders always choose the shortest head; a result of 0 would
 * mean our scratch buffer was too small, which cannot happen for 9 bytes. */
static void put_head(ent_cbor_writer *w, size_t n, const unsigned char *tmp) {
    if (n == 0)
        ent_cbor_writer_fail(w, ENT_EINVAL);
    else
        put(w, tmp, n);
}

void ent_cbor_write_uint(ent_cbor_writer *w, uint64_t v) {
    unsigned char tmp[9];
    put_head(w, cbor_encode_uint(v, tmp, sizeof(tmp)), tmp);
}

void ent_cbor_write_int(ent_cbor_writer *w, int64_t v) {
    unsigned char tmp[9];
    if (v >= 0)
        put_head(w, cbor_encode_uint((uint64_t)v, tmp, sizeof(tmp)), tmp);
    else
        put_head(w, cbor_encode_negint((uint64_t)(-1 - v), tmp, sizeof(tmp)),
                 tmp);
}

void ent_cbor_write_negint(ent_cbor_writer *w, uint64_t n) {
    unsigned char tmp[9];
    put_head(w, cbor_encode_negint(n, tmp, sizeof(tmp)), tmp);
}

void ent_cbor_write_bool(ent_cbor_writer *w, bool v) {
    unsigned char tmp[1];
    put_head(w, cbor_encode_bool(v, tmp, sizeof(tmp)), tmp);
}

void ent_cbor_write_null(ent_cbor_writer *w) {
    unsigned char tmp[1];
    put_head(w, cbor_encode_null(tmp, sizeof(tmp)), tmp);
}

uint8_t *ent_cbor_write_bytes_reserve(ent_cbor_writer *w, size_t n) {
    unsigned char tmp[9];
    put_head(w, cbor_encode_bytestring_start(n, tmp, sizeof(tmp)), tmp);
    return put(w, NULL, n);
}

void ent_cbor_write_bytes(ent_cbor_writer *w, const void *p, size_t n) {
    uint8_t *dst = ent_cbor_write_bytes_reserve(w, n);
    if (dst != NULL && n > 0)
        memcpy(dst, p, n);
}

void ent_cbor_write_text(ent_cbor_writer *w, const char *s, size_t n) {
    unsigned char tmp[9];
    if (!utf8_valid((const uint8_t *)s, n)) {
        ent_cbor_writer_fail(w, ENT_EINVAL);
        return;
    }
    put_head(w, cbor_encode_string_start(n, tmp, sizeof(tmp)), tmp);
    put(w, s, n);
}

void ent_cbor_write_array(ent_cbor_writer *w, size_t n) {
    unsigned char tmp[9];
    put_head(w, cbor_encode_array_start(n, tmp, sizeof(tmp)), tmp);
}

void ent_cbor_write_map(ent_cbor_writer *w, size_t n) {
    unsigned char tmp[9];
    put_head(w, cbor_encode_map_start(n, tmp, sizeof(tmp)), tmp);
}

void ent_cbor_write_raw(ent_cbor_writer *w, const void *p, size_t n) {
    put(w, p, n);
}

int ent_cbor_encode(uint8_t **out, size_t *len, size_t max,
                    void (*emit)(ent_cbor_writer *w, const void *data),
                    const void *data) {
    ent_cbor_writer w;
    uint8_t *buf = NULL;
    int rc;
    *out = NULL;
    *len = 0;
    ent_cbor_writer_init(&w, NULL, 0);
    emit(&w, data);
    if (w.err != ENT_OK) {
        rc = w.err;
        goto out;
    }
    if (w.len > max) {
        rc = ENT_ETOOBIG;
        goto out;
    }
    size_t need = w.len;
    buf = malloc(need > 0 ? need : 1);
    if (buf == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    ent_cbor_writer_init(&w, buf, need);
    emit(&w, data);
    if (w.err != ENT_OK || w.len != need) {
        rc = w.err != ENT_OK ? w.err : ENT_EINVAL;
        goto out;
    }
    *out = buf;
    *len = need;
    buf = NULL;
    rc = ENT_OK;
out:
    free(buf);
    return rc;
}
