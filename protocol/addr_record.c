/*
 * addr_record.c - encoding, signing, decoding and verifying the signed
 * address record (addr_record.h, spec/records.md §5). Decoding runs the
 * bounded CBOR check first (ent_cbor_check), then reads with the typed
 * cursor; nothing is allocated and nothing is sized from a length prefix.
 */
#include "protocol/addr_record.h"
#include "node/err.h"
#include "protocol/cbor.h"

#include <stdlib.h>
#include <string.h>

/* 3..128 bytes of 0x21..0x7e with a ':' that is neither first nor last. */
static bool addr_ok(const char *s, size_t n) {
    bool colon = false;
    if (n < ENT_ADDR_RECORD_MIN_ADDR_LEN || n > ENT_ADDR_RECORD_MAX_ADDR_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e)
            return false;
        if (c == ':' && i > 0 && i + 1 < n)
            colon = true;
    }
    return colon;
}

/* Bytewise order of the encodings: shorter first, then bytes (the same
 * order as CBOR map keys, spec/records.md §1 rule 6). */
static int addr_cmp(const char *a, size_t al, const char *b, size_t bl) {
    if (al != bl)
        return al < bl ? -1 : 1;
    return memcmp(a, b, al);
}

typedef struct rec_in {
    const uint8_t *org;
    uint64_t seq;
    const char *addrs[ENT_ADDR_RECORD_MAX_ADDRS];
    size_t lens[ENT_ADDR_RECORD_MAX_ADDRS];
    size_t n;
    size_t signed_off, signed_len; /* set by emit */
} rec_in;

static void emit_rec(ent_cbor_writer *w, const void *data) {
    rec_in *r = (rec_in *)data; /* emit writes the signed span back */
    ent_cbor_write_array(w, 5);
    r->signed_off = w->len;
    ent_cbor_write_uint(w, ENT_ADDR_RECORD_VERSION);
    ent_cbor_write_bytes(w, r->org, ENT_PK_LEN);
    ent_cbor_write_uint(w, r->seq);
    ent_cbor_write_array(w, r->n);
    for (size_t i = 0; i < r->n; i++)
        ent_cbor_write_text(w, r->addrs[i], r->lens[i]);
    r->signed_len = w->len - r->signed_off;
    uint8_t zero[ENT_SIG_LEN] = {0};
    ent_cbor_write_bytes(w, zero, ENT_SIG_LEN);
}

int ent_addr_record_sign(const ent_identity *id, uint64_t seq,
                         const char *const *addrs, size_t n, uint8_t **out,
                         size_t *len) {
    rec_in r;
    int rc;
    *out = NULL;
    *len = 0;
    memset(&r, 0, sizeof(r));
    r.org = ent_identity_public(id);
    r.seq = seq;
    for (size_t i = 0; i < n; i++) {
        size_t l = addrs[i] != NULL ? strlen(addrs[i]) : 0;
        if (!addr_ok(addrs[i], l))
            return ENT_EINVAL;
        /* insertion in order, dropping duplicates */
        size_t k = 0;
        while (k < r.n && addr_cmp(r.addrs[k], r.lens[k], addrs[i], l) < 0)
            k++;
        if (k < r.n && addr_cmp(r.addrs[k], r.lens[k], addrs[i], l) == 0)
            continue;
        if (r.n == ENT_ADDR_RECORD_MAX_ADDRS)
            return ENT_EINVAL;
        memmove(&r.addrs[k + 1], &r.addrs[k], (r.n - k) * sizeof(r.addrs[0]));
        memmove(&r.lens[k + 1], &r.lens[k], (r.n - k) * sizeof(r.lens[0]));
        r.addrs[k] = addrs[i];
        r.lens[k] = l;
        r.n++;
    }
    if (r.n == 0)
        return ENT_EINVAL;
    uint8_t *buf = NULL;
    size_t blen = 0;
    rc = ent_cbor_encode(&buf, &blen, ENT_ADDR_RECORD_MAX, emit_rec, &r);
    if (rc != ENT_OK)
        return rc;
    /* the sig is the last 64 bytes, after its 2-byte head (0x58 0x40) */
    rc = ent_identity_sign(id, ENT_SIGCTX_ADDR, buf + r.signed_off,
                           r.signed_len, buf + blen - ENT_SIG_LEN);
    if (rc != ENT_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = blen;
    return ENT_OK;
}

static int decode(ent_addr_record *out, const uint8_t *buf, size_t len) {
    ent_cbor_limits lim = {.max_depth = 2,
                           .max_items = 5,
                           .max_total = 6 + ENT_ADDR_RECORD_MAX_ADDRS,
                           .max_str = ENT_ADDR_RECORD_MAX_ADDR_LEN,
                           .max_size = ENT_ADDR_RECORD_MAX};
    ent_cbor_reader r;
    size_t n, na;
    uint64_t version;
    const uint8_t *sig;
    int rc;

    if (len > ENT_ADDR_RECORD_MAX)
        return ENT_ETOOBIG;
    if ((rc = ent_cbor_check(buf, len, &lim)) != ENT_OK)
        return rc;
    ent_cbor_reader_init(&r, buf, len);
    if ((rc = ent_cbor_read_array(&r, &n)) != ENT_OK)
        return rc;
    if (n != 5)
        return ENT_ECORRUPT;
    size_t signed_off = r.pos;
    if ((rc = ent_cbor_read_uint(&r, &version)) != ENT_OK)
        return rc;
    if (version != ENT_ADDR_RECORD_VERSION)
        return ENT_EVERSION;
    if ((rc = ent_cbor_read_bytes_exact(&r, out->org, ENT_PK_LEN)) != ENT_OK ||
        (rc = ent_cbor_read_uint(&r, &out->seq)) != ENT_OK ||
        (rc = ent_cbor_read_array(&r, &na)) != ENT_OK)
        return rc;
    if (na == 0 || na > ENT_ADDR_RECORD_MAX_ADDRS)
        return ENT_ECORRUPT;
    for (size_t i = 0; i < na; i++) {
        const char *s;
        size_t l;
        if ((rc = ent_cbor_read_text(&r, &s, &l)) != ENT_OK)
            return rc;
        if (!addr_ok(s, l))
            return ENT_ECORRUPT;
        if (i > 0 && addr_cmp(out->addrs[i - 1], strlen(out->addrs[i - 1]), s,
                              l) >= 0)
            return ENT_ENONCANON; /* unsorted or duplicate */
        memcpy(out->addrs[i], s, l);
        out->addrs[i][l] = '\0';
    }
    out->naddrs = na;
    size_t signed_len = r.pos - signed_off;
    if ((rc = ent_cbor_read_bytes(&r, &sig, &n)) != ENT_OK)
        return rc;
    if (n != ENT_SIG_LEN)
        return ENT_ECORRUPT;
    if ((rc = ent_cbor_read_end(&r)) != ENT_OK)
        return rc;
    if (ent_sig_verify(out->org, ENT_SIGCTX_ADDR, buf + signed_off,
                       signed_len, sig) != ENT_OK)
        return ENT_EBADSIG;
    return ENT_OK;
}

int ent_addr_record_decode(ent_addr_record *out, const uint8_t *buf,
                           size_t len) {
    memset(out, 0, sizeof(*out));
    int rc = buf == NULL && len > 0 ? ENT_EINVAL : decode(out, buf, len);
    if (rc != ENT_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}
