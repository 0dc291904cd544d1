/*
 * wire.c - frame reader, bounded msgpack pre-scan, message codec.
 *
 * See wire.h and spec/protocol.md. Nothing here touches the network: the
 * session layer feeds socket bytes to ent_wire_reader_feed(), decrypts each
 * frame with Noise, and hands the plaintext to ent_wire_decode().
 */
#include "protocol/wire.h"
#include "protocol/wire_int.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "protocol/wire_int.h"

/* ======================================================================== */
/* Framing                                                                   */
/* ======================================================================== */

/* A buffer larger than this is released once its frame has been delivered,
 * so that an idle peer does not keep 64 KiB. */
#define READER_KEEP_CAP 16384

struct ent_wire_reader {
    size_t max_frame;
    int err;                           /* sticky; ENT_OK while usable */
    uint8_t hdr[ENT_WIRE_PREFIX_LEN];  /* partial length prefix */
    size_t hdr_len;
    size_t need;                       /* body length, 0 while in the prefix */
    uint8_t *buf;                      /* partial body */
    size_t cap;
    size_t have;
};

int ent_wire_reader_new(ent_wire_reader **out, size_t max_frame) {
    int rc = ENT_OK;
    ent_wire_reader *r = NULL;

    if (out == NULL || max_frame > ENT_WIRE_MAX_FRAME) {
        rc = ENT_EINVAL;
        goto out;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    r->max_frame = max_frame == 0 ? ENT_WIRE_MAX_FRAME : max_frame;
    *out = r;
out:
    return rc;
}

void ent_wire_reader_free(ent_wire_reader *r) {
    if (r == NULL)
        return;
    free(r->buf);
    free(r);
}

int ent_wire_reader_set_max(ent_wire_reader *r, size_t max_frame) {
    if (r == NULL || max_frame > ENT_WIRE_MAX_FRAME)
        return ENT_EINVAL;
    r->max_frame = max_frame == 0 ? ENT_WIRE_MAX_FRAME : max_frame;
    return ENT_OK;
}

size_t ent_wire_reader_buffered(const ent_wire_reader *r) {
    return r == NULL ? 0 : r->hdr_len + r->have;
}

int ent_wire_reader_error(const ent_wire_reader *r) {
    return r == NULL ? ENT_EINVAL : r->err;
}

int ent_wire_frame_header(uint8_t out[ENT_WIRE_PREFIX_LEN], size_t len) {
    if (out == NULL || len == 0)
        return ENT_EINVAL;
    if (len > ENT_WIRE_MAX_FRAME)
        return ENT_ETOOBIG;
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    return ENT_OK;
}

/* Starts the next frame: forget the prefix and the body. */
static void reader_reset(ent_wire_reader *r) {
    r->hdr_len = 0;
    r->need = 0;
    r->have = 0;
    if (r->cap > READER_KEEP_CAP) {
        free(r->buf);
        r->buf = NULL;
        r->cap = 0;
    }
}

/*
 * The loop alternates between two states: collecting the 4-byte prefix
 * (need == 0) and collecting need body bytes. A body that lies whole inside
 * the caller's chunk is delivered in place; otherwise it is copied into
 * r->buf, which is sized to the announced length only after that length
 * passed the max_frame check, so a peer can never make us hold more than
 * prefix + max_frame bytes.
 */
int ent_wire_reader_feed(ent_wire_reader *r, const uint8_t *buf, size_t len,
                         ent_wire_frame_cb cb, void *data) {
    int rc = ENT_OK;

    if (r == NULL || cb == NULL || (buf == NULL && len > 0))
        return ENT_EINVAL;
    if (r->err != ENT_OK)
        return r->err;

    while (len > 0) {
        if (r->need == 0) {
            size_t take = ENT_WIRE_PREFIX_LEN - r->hdr_len;
            if (take > len)
                take = len;
            memcpy(r->hdr + r->hdr_len, buf, take);
            r->hdr_len += take;
            buf += take;
            len -= take;
            if (r->hdr_len < ENT_WIRE_PREFIX_LEN)
                break;
            uint32_t n = (uint32_t)r->hdr[0] << 24 | (uint32_t)r->hdr[1] << 16 |
                         (uint32_t)r->hdr[2] << 8 | (uint32_t)r->hdr[3];
            if (n == 0) {
                rc = ENT_EPROTO;
                goto out;
            }
            if (n > r->max_frame) {
                rc = ENT_ETOOBIG;
                goto out;
            }
            r->need = n;
            r->have = 0;
            continue;
        }

        if (r->have == 0 && len >= r->need) {
            /* whole body in the caller's chunk: no copy */
            const uint8_t *frame = buf;
            size_t flen = r->need;
            buf += flen;
            len -= flen;
            reader_reset(r);
            rc = cb(r, frame, flen, data);
            if (rc != ENT_OK)
                goto out;
            continue;
        }

        if (r->cap < r->need) {
            uint8_t *nb = realloc(r->buf, r->need);
            if (nb == NULL) {
                rc = ENT_ENOMEM;
                goto out;
            }
            r->buf = nb;
            r->cap = r->need;
        }
        size_t take = r->need - r->have;
        if (take > len)
            take = len;
        memcpy(r->buf + r->have, buf, take);
        r->have += take;
        buf += take;
        len -= take;
        if (r->have == r->need) {
            size_t flen = r->need;
            r->hdr_len = 0;
            r->need = 0;
            r->have = 0;
            rc = cb(r, r->buf, flen, data);
            reader_reset(r);
            if (rc != ENT_OK)
                goto out;
        }
    }
out:
    if (rc != ENT_OK)
        r->err = rc;
    return rc;
}

/* ======================================================================== */
/* Bounded msgpack pre-scan                                                  */
/* ======================================================================== */

/* Reads an n-byte big-endian unsigned integer at buf[*pos], if present. */
static int read_be(const uint8_t *buf, size_t len, size_t *pos, size_t n,
                   uint64_t *out) {
    if (len - *pos < n)
        return ENT_EPROTO;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | buf[*pos + i];
    *pos += n;
    *out = v;
    return ENT_OK;
}

/*
 * Walks the msgpack in buf as a flat sequence of headers, keeping on a small
 * fixed stack how many objects each open container still expects. Payloads
 * of str and bin are skipped after their length has been checked against
 * both the field cap and the bytes that remain; a container's count is
 * checked against the container cap, the total object cap and the bytes
 * that remain (every object takes at least one byte) before it is pushed.
 * Nothing is allocated and each byte of header is looked at once, so even
 * hostile input costs O(len).
 */
int ent_wire_prescan(const uint8_t *buf, size_t len) {
    uint32_t stack[ENT_WIRE_MAX_DEPTH]; /* objects left per open container */
    size_t depth = 0;
    size_t pos = 0;
    size_t objects = 0;
    bool top_done = false;
    int rc = ENT_OK;

    if (buf == NULL && len > 0)
        return ENT_EINVAL;
    if (len > ENT_WIRE_MAX_MSG)
        return ENT_ETOOBIG;
    if (len == 0)
        return ENT_EPROTO;

    for (;;) {
        while (depth > 0 && stack[depth - 1] == 0)
            depth--;
        if (depth == 0) {
            if (top_done)
                break;
            top_done = true;
        } else {
            stack[depth - 1]--;
        }
        if (++objects > ENT_WIRE_MAX_OBJECTS) {
            rc = ENT_ETOOBIG;
            goto out;
        }
        if (pos >= len) {
            rc = ENT_EPROTO;
            goto out;
        }

        uint8_t b = buf[pos++];
        uint64_t n = 0;     /* payload bytes or container count */
        int kind = 0;       /* 0 scalar, 1 bytes, 2 array, 3 map */
        size_t skip = 0;    /* fixed payload of a scalar */

        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            /* fixint, nil, bool */
        } else if (b >= 0x80 && b <= 0x8f) {
            kind = 3;
            n = b & 0x0f;
        } else if (b >= 0x90 && b <= 0x9f) {
            kind = 2;
            n = b & 0x0f;
        } else if (b >= 0xa0 && b <= 0xbf) {
            kind = 1;
            n = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4: case 0xd9: kind = 1; rc = read_be(buf, len, &pos, 1, &n); break;
            case 0xc5: case 0xda: kind = 1; rc = read_be(buf, len, &pos, 2, &n); break;
            case 0xc6: case 0xdb: kind = 1; rc = read_be(buf, len, &pos, 4, &n); break;
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: skip = 4; break;
            case 0xcf: case 0xd3: skip = 8; break;
            case 0xdc: kind = 2; rc = read_be(buf, len, &pos, 2, &n); break;
            case 0xdd: kind = 2; rc = read_be(buf, len, &pos, 4, &n); break;
            case 0xde: kind = 3; rc = read_be(buf, len, &pos, 2, &n); break;
            case 0xdf: kind = 3; rc = read_be(buf, len, &pos, 4, &n); break;
            default:
                /* 0xc1 never used; 0xc7-0xc9, 0xd4-0xd8 ext; 0xca-0xcb float */
                rc = ENT_EPROTO;
                break;
            }
            if (rc != ENT_OK)
                goto out;
        }

        if (kind == 0) {
            if (len - pos < skip) {
                rc = ENT_EPROTO;
                goto out;
            }
            pos += skip;
        } else if (kind == 1) {
            if (n > ENT_WIRE_MAX_BYTES_FIELD) {
                rc = ENT_ETOOBIG;
                goto out;
            }
            if (n > len - pos) {
                rc = ENT_EPROTO;
                goto out;
            }
            pos += (size_t)n;
        } else {
            if (n > ENT_WIRE_MAX_CONTAINER) {
                rc = ENT_ETOOBIG;
                goto out;
            }
            uint64_t items = kind == 3 ? 2 * n : n;
            if (items > ENT_WIRE_MAX_OBJECTS - objects) {
                rc = ENT_ETOOBIG;
                goto out;
            }
            if (items > len - pos) {
                rc = ENT_EPROTO;
                goto out;
            }
            if (items > 0) {
                if (depth >= ENT_WIRE_MAX_DEPTH) {
                    rc = ENT_ETOOBIG;
                    goto out;
                }
                stack[depth++] = (uint32_t)items;
            } else if (depth >= ENT_WIRE_MAX_DEPTH) {
                /* an empty container still counts as one level */
                rc = ENT_ETOOBIG;
                goto out;
            }
        }
    }
    if (pos != len)
        rc = ENT_EPROTO;
out:
    return rc;
}

/* ======================================================================== */
/* Field rules shared by encoder and decoder                                 */
/* ======================================================================== */

/*
 * Text (names, reasons): valid UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) and no C0 control characters or DEL.
 */
static bool text_ok(const uint8_t *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i - 1 < n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* Capability: 1..32 bytes of printable ASCII without space. */
static bool cap_ok(const uint8_t *s, size_t len) {
    if (len == 0 || len > ENT_WIRE_MAX_CAP_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return true;
}

static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static bool is_hostname_char(uint8_t c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '.' || c == '-' || c == '_';
}

static bool is_ipv6_char(uint8_t c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
           c == ':' || c == '.';
}

/*
 * Listen address: "host:port", 3..128 bytes. host is a name or IPv4
 * literal ([A-Za-z0-9._-]+) or a bracketed IPv6 literal ("[" [0-9A-Fa-f:.]+
 * "]"); port is 1..65535 in decimal without leading zeros.
 */
static bool addr_ok(const uint8_t *s, size_t len) {
    if (len < 3 || len > ENT_WIRE_MAX_ADDR_LEN)
        return false;
    size_t colon = len;
    while (colon > 0 && s[colon - 1] != ':')
        colon--;
    if (colon == 0)
        return false;
    colon--; /* index of the last ':' */
    size_t plen = len - colon - 1;
    if (plen == 0 || plen > 5 || s[colon + 1] == '0')
        return false;
    uint32_t port = 0;
    for (size_t i = colon + 1; i < len; i++) {
        if (!is_digit(s[i]))
            return false;
        port = port * 10 + (uint32_t)(s[i] - '0');
    }
    if (port == 0 || port > 65535)
        return false;
    if (colon == 0)
        return false;
    if (s[0] == '[') {
        if (colon < 3 || s[colon - 1] != ']')
            return false;
        for (size_t i = 1; i < colon - 1; i++)
            if (!is_ipv6_char(s[i]))
                return false;
    } else {
        for (size_t i = 0; i < colon; i++)
            if (!is_hostname_char(s[i]))
                return false;
    }
    return true;
}

/* Length of a NUL-terminated string within cap bytes (cap if no NUL). */
static size_t bounded_len(const char *s, size_t cap) {
    const char *z = memchr(s, 0, cap);
    return z == NULL ? cap : (size_t)(z - s);
}

/* ======================================================================== */
/* Sizes                                                                     */
/* ======================================================================== */

static size_t uint_size(uint64_t v) {
    if (v <= 0x7f)
        return 1;
    if (v <= 0xff)
        return 2;
    if (v <= 0xffff)
        return 3;
    if (v <= 0xffffffffu)
        return 5;
    return 9;
}

static size_t int32_size(int32_t v) {
    if (v >= 0)
        return uint_size((uint64_t)v);
    if (v >= -32)
        return 1;
    if (v >= -128)
        return 2;
    if (v >= -32768)
        return 3;
    return 5;
}

static size_t str_size(size_t len) {
    if (len <= 31)
        return 1 + len;
    if (len <= 0xff)
        return 2 + len;
    if (len <= 0xffff)
        return 3 + len;
    return 5 + len;
}

static size_t bin_size(size_t len) {
    if (len <= 0xff)
        return 2 + len;
    if (len <= 0xffff)
        return 3 + len;
    return 5 + len;
}

static size_t array_size(size_t n) {
    if (n <= 15)
        return 1;
    if (n <= 0xffff)
        return 3;
    return 5;
}

/*
 * Checks m against the rules of its type (the same ones the decoder
 * applies) and computes its exact msgpack size.
 * @return ENT_OK or ENT_EINVAL.
 */
static int msg_size(const ent_wire_msg *m, size_t *out) {
    size_t sz = 0;
    if (m == NULL)
        return ENT_EINVAL;
    switch (m->type) {
    case ENT_WIRE_HELLO: {
        const ent_wire_hello *h = &m->u.hello;
        size_t nl = bounded_len(h->name, sizeof(h->name));
        if (h->version == 0 || h->ncaps > ENT_WIRE_MAX_CAPS ||
            h->naddrs > ENT_WIRE_MAX_ADDRS || nl == 0 ||
            nl > ENT_WIRE_MAX_NAME_LEN || !text_ok((const uint8_t *)h->name, nl))
            return ENT_EINVAL;
        sz = array_size(5) + 1 + uint_size(h->version) + array_size(h->ncaps) +
             str_size(nl) + array_size(h->naddrs);
        for (size_t i = 0; i < h->ncaps; i++) {
            size_t l = bounded_len(h->caps[i], sizeof(h->caps[i]));
            if (!cap_ok((const uint8_t *)h->caps[i], l))
                return ENT_EINVAL;
            sz += str_size(l);
        }
        for (size_t i = 0; i < h->naddrs; i++) {
            size_t l = bounded_len(h->addrs[i], sizeof(h->addrs[i]));
            if (!addr_ok((const uint8_t *)h->addrs[i], l))
                return ENT_EINVAL;
            sz += str_size(l);
        }
        break;
    }
    case ENT_WIRE_JOIN: {
        const ent_wire_join *j = &m->u.join;
        size_t nl = bounded_len(j->name, sizeof(j->name));
        if (nl == 0 || nl > ENT_WIRE_MAX_NAME_LEN ||
            !text_ok((const uint8_t *)j->name, nl))
            return ENT_EINVAL;
        sz = array_size(4) + 1 + bin_size(ENT_WIRE_INVITE_ID_LEN) +
             bin_size(ENT_WIRE_PROOF_LEN) + str_size(nl);
        break;
    }
    case ENT_WIRE_JOIN_OK: {
        const ent_wire_join_ok *j = &m->u.join_ok;
        if (j->nkeys > ENT_WIRE_MAX_JOIN_KEYS || (j->nkeys > 0 && j->keys == NULL))
            return ENT_EINVAL;
        sz = array_size(4) + 1 + bin_size(ENT_WIRE_ID_LEN) +
             array_size(j->nkeys) + uint_size(j->nops);
        for (size_t i = 0; i < j->nkeys; i++)
            sz += array_size(2) + uint_size(j->keys[i].epoch) +
                  bin_size(ENT_WIRE_BOX_LEN);
        break;
    }
    case ENT_WIRE_JOIN_ERR:
    case ENT_WIRE_ERROR:
    case ENT_WIRE_GOODBYE: {
        const ent_wire_error *e = &m->u.error;
        size_t tl = bounded_len(e->text, sizeof(e->text));
        if (tl > ENT_WIRE_MAX_TEXT || !text_ok((const uint8_t *)e->text, tl))
            return ENT_EINVAL;
        sz = array_size(3) + 1 + int32_size(e->code) + str_size(tl);
        break;
    }
    case ENT_WIRE_OPS: {
        const ent_wire_ops *o = &m->u.ops;
        if (o->nops == 0 || o->nops > ENT_WIRE_MAX_OPS || o->ops == NULL)
            return ENT_EINVAL;
        sz = array_size(3) + 1 + bin_size(ENT_WIRE_ID_LEN) + array_size(o->nops);
        for (size_t i = 0; i < o->nops; i++) {
            if (o->ops[i].len == 0 || o->ops[i].len > ENT_WIRE_MAX_OP_LEN ||
                o->ops[i].p == NULL)
                return ENT_EINVAL;
            sz += bin_size(o->ops[i].len);
        }
        break;
    }
    case ENT_WIRE_ADDRS: {
        const ent_wire_addrs *a = &m->u.addrs;
        if (a->nrecs == 0 || a->nrecs > ENT_WIRE_MAX_ADDR_RECS ||
            a->recs == NULL)
            return ENT_EINVAL;
        sz = array_size(2) + 1 + array_size(a->nrecs);
        for (size_t i = 0; i < a->nrecs; i++) {
            if (a->recs[i].len == 0 || a->recs[i].len > ENT_WIRE_MAX_ADDR_REC ||
                a->recs[i].p == NULL)
                return ENT_EINVAL;
            sz += bin_size(a->recs[i].len);
        }
        break;
    }
    case ENT_WIRE_ACK: {
        const ent_wire_ack *a = &m->u.ack;
        if (a->nids > ENT_WIRE_MAX_ACK_IDS || (a->nids > 0 && a->ids == NULL))
            return ENT_EINVAL;
        sz = array_size(3) + 1 + bin_size(ENT_WIRE_ID_LEN) + array_size(a->nids) +
             a->nids * bin_size(ENT_WIRE_ID_LEN);
        break;
    }
    case ENT_WIRE_HAVE:
    case ENT_WIRE_WANT: {
        const ent_wire_summary *s = &m->u.summary;
        if (s->len > ENT_WIRE_MAX_SUMMARY || (s->len > 0 && s->bytes == NULL))
            return ENT_EINVAL;
        sz = array_size(3) + 1 + bin_size(ENT_WIRE_ID_LEN) + bin_size(s->len);
        break;
    }
    case ENT_WIRE_DIGEST:
        sz = array_size(3) + 1 + bin_size(ENT_WIRE_DIGEST_LEN) +
             uint_size(m->u.digest.nobjects);
        break;
    case ENT_WIRE_DIGESTS: {
        const ent_wire_digests *d = &m->u.digests;
        if (d->n > ENT_WIRE_MAX_DIGESTS || (d->n > 0 && d->entries == NULL))
            return ENT_EINVAL;
        if (d->total < d->n)
            return ENT_EINVAL;
        sz = array_size(3) + 1 + uint_size(d->total) +
             bin_size(d->n * ENT_WIRE_DIGEST_ENTRY);
        break;
    }
    case ENT_WIRE_VV: {
        const ent_wire_vv *v = &m->u.vv;
        if (v->len > ENT_WIRE_MAX_VV * ENT_WIRE_VV_ENTRY ||
            v->len % ENT_WIRE_VV_ENTRY != 0 || (v->len > 0 && v->bytes == NULL) ||
            v->flags > ENT_WIRE_VV_REPLY ||
            (v->has_tips && v->len > 0 && v->tips == NULL))
            return ENT_EINVAL;
        sz = array_size(v->has_tips ? 5 : 4) + 1 + bin_size(ENT_WIRE_ID_LEN) +
             bin_size(v->len) + uint_size(v->flags);
        if (v->has_tips)
            sz += bin_size(v->len / ENT_WIRE_VV_ENTRY * ENT_WIRE_ID_LEN);
        break;
    }
    case ENT_WIRE_PING:
    case ENT_WIRE_PONG:
        sz = array_size(2) + 1 + bin_size(ENT_WIRE_NONCE_LEN);
        break;
    case ENT_WIRE_HEAD:
    case ENT_WIRE_CONSISTENCY:
    case ENT_WIRE_REWIND:
        return ent__wire_witness_size(m, out);
    case ENT_WIRE_CHUNK_WANT:
    case ENT_WIRE_CHUNK:
        return ent__wire_chunk_size(m, out);
    case ENT_WIRE_RANGES:
    case ENT_WIRE_LEAF:
        return ent__wire_recon_size(m, out);
    case ENT_WIRE_OVERLAP:
        return ent__wire_overlap_size(&m->u.overlap, out);
    case ENT_WIRE_CREDIT:
        sz = array_size(3) + 1 + uint_size(m->u.credit.frames) +
             uint_size(m->u.credit.bytes);
        break;
    case ENT_WIRE_ACKS:
        if (m->u.acks.count < 1 || m->u.acks.count > ENT_WIRE_MAX_ACKS_COUNT)
            return ENT_EINVAL;
        sz = array_size(2) + 1 + uint_size(m->u.acks.count);
        break;
    default:
        return ENT_EINVAL;
    }
    *out = sz;
    return ENT_OK;
}

size_t ent_wire_encoded_size(const ent_wire_msg *m) {
    size_t sz = 0;
    return msg_size(m, &sz) == ENT_OK ? sz : 0;
}

/* ======================================================================== */
/* Encoder                                                                   */
/* ======================================================================== */

struct sink {
    uint8_t *p;
    size_t cap;
    size_t len;
};

static int sink_write(void *data, const char *buf, size_t len) {
    struct sink *s = data;
    if (len > s->cap - s->len)
        return -1;
    memcpy(s->p + s->len, buf, len);
    s->len += len;
    return 0;
}

static int pack_str(msgpack_packer *pk, const char *s, size_t len) {
    int r = msgpack_pack_str(pk, len);
    if (r == 0 && len > 0)
        r = msgpack_pack_str_body(pk, s, len);
    return r;
}

/* Packs m, already validated by msg_size(); nonzero when the sink is full. */
static int pack_msg(msgpack_packer *pk, const ent_wire_msg *m) {
    int r = 0;
    switch (m->type) {
    case ENT_WIRE_HELLO: {
        const ent_wire_hello *h = &m->u.hello;
        r |= msgpack_pack_array(pk, 5);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= msgpack_pack_uint32(pk, h->version);
        r |= msgpack_pack_array(pk, h->ncaps);
        for (size_t i = 0; i < h->ncaps; i++)
            r |= pack_str(pk, h->caps[i], bounded_len(h->caps[i], sizeof(h->caps[i])));
        r |= pack_str(pk, h->name, bounded_len(h->name, sizeof(h->name)));
        r |= msgpack_pack_array(pk, h->naddrs);
        for (size_t i = 0; i < h->naddrs; i++)
            r |= pack_str(pk, h->addrs[i],
                          bounded_len(h->addrs[i], sizeof(h->addrs[i])));
        break;
    }
    case ENT_WIRE_JOIN: {
        const ent_wire_join *j = &m->u.join;
        r |= msgpack_pack_array(pk, 4);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= ent__wire_pack_bin(pk, j->invite_id, sizeof(j->invite_id));
        r |= ent__wire_pack_bin(pk, j->proof, sizeof(j->proof));
        r |= pack_str(pk, j->name, bounded_len(j->name, sizeof(j->name)));
        break;
    }
    case ENT_WIRE_JOIN_OK: {
        const ent_wire_join_ok *j = &m->u.join_ok;
        r |= msgpack_pack_array(pk, 4);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= ent__wire_pack_bin(pk, j->object, ENT_WIRE_ID_LEN);
        r |= msgpack_pack_array(pk, j->nkeys);
        for (size_t i = 0; i < j->nkeys; i++) {
            r |= msgpack_pack_array(pk, 2);
            r |= msgpack_pack_uint64(pk, j->keys[i].epoch);
            r |= ent__wire_pack_bin(pk, j->keys[i].box, ENT_WIRE_BOX_LEN);
        }
        r |= msgpack_pack_uint64(pk, j->nops);
        break;
    }
    case ENT_WIRE_JOIN_ERR:
    case ENT_WIRE_ERROR:
    case ENT_WIRE_GOODBYE:
        r |= msgpack_pack_array(pk, 3);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= msgpack_pack_int32(pk, m->u.error.code);
        r |= pack_str(pk, m->u.error.text,
                      bounded_len(m->u.error.text, sizeof(m->u.error.text)));
        break;
    case ENT_WIRE_OPS: {
        const ent_wire_ops *o = &m->u.ops;
        r |= msgpack_pack_array(pk, 3);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= ent__wire_pack_bin(pk, o->object, ENT_WIRE_ID_LEN);
        r |= msgpack_pack_array(pk, o->nops);
        for (size_t i = 0; i < o->nops; i++)
            r |= ent__wire_pack_bin(pk, o->ops[i].p, o->ops[i].len);
        break;
    }
    case ENT_WIRE_ADDRS: {
        const ent_wire_addrs *a = &m->u.addrs;
        r |= msgpack_pack_array(pk, 2);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= msgpack_pack_array(pk, a->nrecs);
        for (size_t i = 0; i < a->nrecs; i++)
            r |= ent__wire_pack_bin(pk, a->recs[i].p, a->recs[i].len);
        break;
    }
    case ENT_WIRE_ACK: {
        const ent_wire_ack *a = &m->u.ack;
        r |= msgpack_pack_array(pk, 3);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= ent__wire_pack_bin(pk, a->object, ENT_WIRE_ID_LEN);
        r |= msgpack_pack_array(pk, a->nids);
        for (size_t i = 0; i < a->nids; i++)
            r |= ent__wire_pack_bin(pk, a->ids[i], ENT_WIRE_ID_LEN);
        break;
    }
    case ENT_WIRE_HAVE:
    case ENT_WIRE_WANT:
        r |= msgpack_pack_array(pk, 3);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= ent__wire_pack_bin(pk, m->u.summary.object, ENT_WIRE_ID_LEN);
        r |= ent__wire_pack_bin(pk, m->u.summary.bytes, m->u.summary.len);
        break;
    case ENT_WIRE_DIGEST:
        r |= msgpack_pack_array(pk, 3);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= ent__wire_pack_bin(pk, m->u.digest.digest, ENT_WIRE_DIGEST_LEN);
        r |= msgpack_pack_uint64(pk, m->u.digest.nobjects);
        break;
    case ENT_WIRE_DIGESTS:
        r |= msgpack_pack_array(pk, 3);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= msgpack_pack_uint64(pk, m->u.digests.total);
        r |= ent__wire_pack_bin(pk, m->u.digests.entries,
                      m->u.digests.n * ENT_WIRE_DIGEST_ENTRY);
        break;
    case ENT_WIRE_VV:
        r |= msgpack_pack_array(pk, m->u.vv.has_tips ? 5 : 4);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= ent__wire_pack_bin(pk, m->u.vv.object, ENT_WIRE_ID_LEN);
        r |= ent__wire_pack_bin(pk, m->u.vv.bytes, m->u.vv.len);
        r |= msgpack_pack_uint32(pk, m->u.vv.flags);
        if (m->u.vv.has_tips)
            r |= ent__wire_pack_bin(pk, m->u.vv.tips,
                          m->u.vv.len / ENT_WIRE_VV_ENTRY * ENT_WIRE_ID_LEN);
        break;
    case ENT_WIRE_PING:
    case ENT_WIRE_PONG:
        r |= msgpack_pack_array(pk, 2);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= ent__wire_pack_bin(pk, m->u.nonce, ENT_WIRE_NONCE_LEN);
        break;
    case ENT_WIRE_HEAD:
    case ENT_WIRE_CONSISTENCY:
    case ENT_WIRE_REWIND:
        r |= ent__wire_witness_pack(pk, m);
        break;
    case ENT_WIRE_CHUNK_WANT:
    case ENT_WIRE_CHUNK:
        r |= ent__wire_chunk_pack(pk, m);
        break;
    case ENT_WIRE_RANGES:
    case ENT_WIRE_LEAF:
        r |= ent__wire_recon_pack(pk, m);
        break;
    case ENT_WIRE_OVERLAP:
        r = ent__wire_overlap_pack(pk, &m->u.overlap);
        break;
    case ENT_WIRE_CREDIT:
        r |= msgpack_pack_array(pk, 3);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= msgpack_pack_uint64(pk, m->u.credit.frames);
        r |= msgpack_pack_uint64(pk, m->u.credit.bytes);
        break;
    case ENT_WIRE_ACKS:
        r |= msgpack_pack_array(pk, 2);
        r |= msgpack_pack_uint32(pk, (uint32_t)m->type);
        r |= msgpack_pack_uint32(pk, m->u.acks.count);
        break;
    default:
        r = -1;
        break;
    }
    return r;
}

int ent_wire_encode_to(const ent_wire_msg *m, uint8_t *buf, size_t cap,
                       size_t *len) {
    int rc;
    size_t sz = 0;
    struct sink s = {buf, cap, 0};
    msgpack_packer pk;

    if (len == NULL || (buf == NULL && cap > 0)) {
        rc = ENT_EINVAL;
        goto out;
    }
    rc = msg_size(m, &sz);
    if (rc != ENT_OK)
        goto out;
    if (sz > ENT_WIRE_MAX_MSG || sz > cap) {
        rc = ENT_ETOOBIG;
        goto out;
    }
    msgpack_packer_init(&pk, &s, sink_write);
    if (pack_msg(&pk, m) != 0 || s.len != sz) {
        rc = ENT_EINVAL; /* msg_size() and pack_msg() disagree: a bug */
        goto out;
    }
    *len = sz;
out:
    return rc;
}

int ent_wire_encode(const ent_wire_msg *m, uint8_t **out, size_t *len) {
    int rc;
    size_t sz = 0;
    uint8_t *buf = NULL;

    if (out == NULL || len == NULL)
        return ENT_EINVAL;
    *out = NULL;
    rc = msg_size(m, &sz);
    if (rc != ENT_OK)
        goto out;
    if (sz > ENT_WIRE_MAX_MSG) {
        rc = ENT_ETOOBIG;
        goto out;
    }
    buf = malloc(sz);
    if (buf == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    rc = ent_wire_encode_to(m, buf, sz, len);
    if (rc != ENT_OK)
        goto out;
    *out = buf;
    buf = NULL;
out:
    free(buf);
    return rc;
}

/* ======================================================================== */
/* Decoder                                                                   */
/* ======================================================================== */

static int get_bin_fixed(const msgpack_object *o, uint8_t *out, size_t n) {
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != n)
        return ENT_EPROTO;
    memcpy(out, o->via.bin.ptr, n);
    return ENT_OK;
}

/* A str of min..max bytes passing ok(), copied NUL-terminated into dst. */
static int get_str(const msgpack_object *o, size_t min, size_t max,
                   bool (*ok)(const uint8_t *, size_t), char *dst) {
    if (o->type != MSGPACK_OBJECT_STR)
        return ENT_EPROTO;
    size_t l = o->via.str.size;
    const uint8_t *p = (const uint8_t *)o->via.str.ptr;
    if (l < min || l > max || (l > 0 && !ok(p, l)))
        return ENT_EPROTO;
    if (l > 0)
        memcpy(dst, p, l);
    dst[l] = '\0';
    return ENT_OK;
}

static bool name_ok(const uint8_t *s, size_t len) { return text_ok(s, len); }

static int decode_hello(ent_wire_msg *m, const msgpack_object *f) {
    ent_wire_hello *h = &m->u.hello;

    if (f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[1].via.u64 == 0 ||
        f[1].via.u64 > UINT32_MAX)
        return ENT_EPROTO;
    h->version = (uint32_t)f[1].via.u64;
    if (f[2].type != MSGPACK_OBJECT_ARRAY ||
        f[2].via.array.size > ENT_WIRE_MAX_CAPS)
        return ENT_EPROTO;
    h->ncaps = f[2].via.array.size;
    for (size_t i = 0; i < h->ncaps; i++)
        if (get_str(&f[2].via.array.ptr[i], 1, ENT_WIRE_MAX_CAP_LEN, cap_ok,
                    h->caps[i]) != ENT_OK)
            return ENT_EPROTO;
    if (get_str(&f[3], 1, ENT_WIRE_MAX_NAME_LEN, name_ok, h->name) != ENT_OK)
        return ENT_EPROTO;
    if (f[4].type != MSGPACK_OBJECT_ARRAY ||
        f[4].via.array.size > ENT_WIRE_MAX_ADDRS)
        return ENT_EPROTO;
    h->naddrs = f[4].via.array.size;
    for (size_t i = 0; i < h->naddrs; i++)
        if (get_str(&f[4].via.array.ptr[i], 3, ENT_WIRE_MAX_ADDR_LEN, addr_ok,
                    h->addrs[i]) != ENT_OK)
            return ENT_EPROTO;
    return ENT_OK;
}

static int decode_error(ent_wire_msg *m, const msgpack_object *f) {
    int64_t code;
    if (f[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (f[1].via.u64 > INT32_MAX)
            return ENT_EPROTO;
        code = (int64_t)f[1].via.u64;
    } else if (f[1].type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        if (f[1].via.i64 < INT32_MIN)
            return ENT_EPROTO;
        code = f[1].via.i64;
    } else {
        return ENT_EPROTO;
    }
    m->u.error.code = (int32_t)code;
    return get_str(&f[2], 0, ENT_WIRE_MAX_TEXT, text_ok, m->u.error.text);
}

/* A non-empty array of at most max bins of 1..maxlen bytes, copied into
 * one allocation that holds the descriptor array and then every record. */
static int decode_bins(const msgpack_object *f, size_t max, size_t maxlen,
                       ent_wire_bytes **out, size_t *nout) {
    size_t total = 0;
    if (f->type != MSGPACK_OBJECT_ARRAY || f->via.array.size == 0 ||
        f->via.array.size > max)
        return ENT_EPROTO;
    size_t n = f->via.array.size;
    const msgpack_object *a = f->via.array.ptr;
    for (size_t i = 0; i < n; i++) {
        if (a[i].type != MSGPACK_OBJECT_BIN || a[i].via.bin.size == 0 ||
            a[i].via.bin.size > maxlen)
            return ENT_EPROTO;
        total += a[i].via.bin.size; /* bounded by the message size */
    }
    uint8_t *block = malloc(n * sizeof(ent_wire_bytes) + total);
    if (block == NULL)
        return ENT_ENOMEM;
    ent_wire_bytes *v = (ent_wire_bytes *)block;
    uint8_t *p = block + n * sizeof(ent_wire_bytes);
    for (size_t i = 0; i < n; i++) {
        memcpy(p, a[i].via.bin.ptr, a[i].via.bin.size);
        v[i].p = p;
        v[i].len = a[i].via.bin.size;
        p += a[i].via.bin.size;
    }
    *out = v;
    *nout = n;
    return ENT_OK;
}

static int decode_ops(ent_wire_msg *m, const msgpack_object *f) {
    ent_wire_ops *o = &m->u.ops;
    if (get_bin_fixed(&f[1], o->object, ENT_WIRE_ID_LEN) != ENT_OK)
        return ENT_EPROTO;
    return decode_bins(&f[2], ENT_WIRE_MAX_OPS, ENT_WIRE_MAX_OP_LEN, &o->ops,
                       &o->nops);
}

static int decode_ack(ent_wire_msg *m, const msgpack_object *f) {
    ent_wire_ack *a = &m->u.ack;
    if (get_bin_fixed(&f[1], a->object, ENT_WIRE_ID_LEN) != ENT_OK)
        return ENT_EPROTO;
    if (f[2].type != MSGPACK_OBJECT_ARRAY ||
        f[2].via.array.size > ENT_WIRE_MAX_ACK_IDS)
        return ENT_EPROTO;
    size_t n = f[2].via.array.size;
    const msgpack_object *ids = f[2].via.array.ptr;
    for (size_t i = 0; i < n; i++)
        if (ids[i].type != MSGPACK_OBJECT_BIN ||
            ids[i].via.bin.size != ENT_WIRE_ID_LEN)
            return ENT_EPROTO;
    if (n == 0)
        return ENT_OK;
    a->ids = malloc(n * ENT_WIRE_ID_LEN);
    if (a->ids == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < n; i++)
        memcpy(a->ids[i], ids[i].via.bin.ptr, ENT_WIRE_ID_LEN);
    a->nids = n;
    return ENT_OK;
}

/* [3, object, [[epoch, box]...], nops]: every element checked before the
 * one allocation of the keys array. */
static int decode_join_ok(ent_wire_msg *m, const msgpack_object *f) {
    ent_wire_join_ok *j = &m->u.join_ok;
    if (get_bin_fixed(&f[1], j->object, ENT_WIRE_ID_LEN) != ENT_OK)
        return ENT_EPROTO;
    if (f[2].type != MSGPACK_OBJECT_ARRAY ||
        f[2].via.array.size > ENT_WIRE_MAX_JOIN_KEYS ||
        f[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return ENT_EPROTO;
    size_t n = f[2].via.array.size;
    const msgpack_object *a = f[2].via.array.ptr;
    for (size_t i = 0; i < n; i++) {
        if (a[i].type != MSGPACK_OBJECT_ARRAY || a[i].via.array.size != 2)
            return ENT_EPROTO;
        const msgpack_object *k = a[i].via.array.ptr;
        if (k[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            k[1].type != MSGPACK_OBJECT_BIN ||
            k[1].via.bin.size != ENT_WIRE_BOX_LEN)
            return ENT_EPROTO;
    }
    j->nops = f[3].via.u64;
    if (n == 0)
        return ENT_OK;
    j->keys = malloc(n * sizeof(*j->keys));
    if (j->keys == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *k = a[i].via.array.ptr;
        j->keys[i].epoch = k[0].via.u64;
        memcpy(j->keys[i].box, k[1].via.bin.ptr, ENT_WIRE_BOX_LEN);
    }
    j->nkeys = n;
    return ENT_OK;
}

static int decode_summary(ent_wire_msg *m, const msgpack_object *f) {
    ent_wire_summary *s = &m->u.summary;
    if (get_bin_fixed(&f[1], s->object, ENT_WIRE_ID_LEN) != ENT_OK)
        return ENT_EPROTO;
    if (f[2].type != MSGPACK_OBJECT_BIN ||
        f[2].via.bin.size > ENT_WIRE_MAX_SUMMARY)
        return ENT_EPROTO;
    size_t n = f[2].via.bin.size;
    if (n == 0)
        return ENT_OK;
    s->bytes = malloc(n);
    if (s->bytes == NULL)
        return ENT_ENOMEM;
    memcpy(s->bytes, f[2].via.bin.ptr, n);
    s->len = n;
    return ENT_OK;
}

/* VV: [15, object, bin of n * 40 bytes, flags 0|1] or the same with a
 * fifth element, bin of n * 32 bytes (tips). nf: the element count. */
static int decode_vv(ent_wire_msg *m, const msgpack_object *f, size_t nf) {
    ent_wire_vv *v = &m->u.vv;
    if (get_bin_fixed(&f[1], v->object, ENT_WIRE_ID_LEN) != ENT_OK)
        return ENT_EPROTO;
    if (f[2].type != MSGPACK_OBJECT_BIN ||
        f[2].via.bin.size % ENT_WIRE_VV_ENTRY != 0 ||
        f[2].via.bin.size > ENT_WIRE_MAX_VV * ENT_WIRE_VV_ENTRY ||
        f[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        f[3].via.u64 > ENT_WIRE_VV_REPLY)
        return ENT_EPROTO;
    v->flags = (uint32_t)f[3].via.u64;
    size_t n = f[2].via.bin.size;
    size_t nt = n / ENT_WIRE_VV_ENTRY * ENT_WIRE_ID_LEN;
    if (nf == 5 &&
        (f[4].type != MSGPACK_OBJECT_BIN || f[4].via.bin.size != nt))
        return ENT_EPROTO;
    v->has_tips = nf == 5;
    if (n == 0)
        return ENT_OK;
    v->bytes = malloc(n);
    if (v->bytes == NULL)
        return ENT_ENOMEM;
    memcpy(v->bytes, f[2].via.bin.ptr, n);
    v->len = n;
    if (v->has_tips) {
        if ((v->tips = malloc(nt)) == NULL)
            return ENT_ENOMEM;
        memcpy(v->tips, f[4].via.bin.ptr, nt);
    }
    return ENT_OK;
}

/* Number of array elements (type included) of each known type. */
static size_t field_count(int type) {
    switch (type) {
    case ENT_WIRE_HELLO: return 5;
    case ENT_WIRE_JOIN: return 4;
    case ENT_WIRE_JOIN_OK: return 4;
    case ENT_WIRE_JOIN_ERR: return 3;
    case ENT_WIRE_OPS: return 3;
    case ENT_WIRE_ACK: return 3;
    case ENT_WIRE_HAVE: return 3;
    case ENT_WIRE_WANT: return 3;
    case ENT_WIRE_PING: return 2;
    case ENT_WIRE_PONG: return 2;
    case ENT_WIRE_ERROR: return 3;
    case ENT_WIRE_GOODBYE: return 3;
    case ENT_WIRE_HEAD: return 2;
    case ENT_WIRE_CONSISTENCY: return 5;
    case ENT_WIRE_REWIND: return 3;
    case ENT_WIRE_DIGEST: return 3;
    case ENT_WIRE_DIGESTS: return 3;
    case ENT_WIRE_VV: return 4;
    case ENT_WIRE_ADDRS: return 2;
    case ENT_WIRE_OVERLAP: return 6;
    case ENT_WIRE_CREDIT: return 3;
    case ENT_WIRE_ACKS: return 2;
    case ENT_WIRE_CHUNK_WANT: return 3;
    case ENT_WIRE_CHUNK: return 3;
    case ENT_WIRE_RANGES: return 5;
    case ENT_WIRE_LEAF: return 5;
    default: return 0;
    }
}

/*
 * The pre-scan runs first, so msgpack-c only ever sees one bounded object
 * of at most ENT_WIRE_MAX_OBJECTS objects, 16 deep, with no ext or float.
 * Then the top-level array's first element selects the layout, the element
 * count must match it exactly, and every field is checked for type and
 * length before it is copied out of msgpack-c's zone.
 */
int ent_wire_decode(ent_wire_msg *m, const uint8_t *buf, size_t len) {
    int rc;
    size_t off = 0;
    msgpack_unpacked u;
    bool inited = false;

    if (m == NULL)
        return ENT_EINVAL;
    memset(m, 0, sizeof(*m));
    rc = ent_wire_prescan(buf, len);
    if (rc != ENT_OK)
        goto out;

    msgpack_unpacked_init(&u);
    inited = true;
    msgpack_unpack_return ur =
        msgpack_unpack_next(&u, (const char *)buf, len, &off);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        rc = ENT_ENOMEM;
        goto out;
    }
    if ((ur != MSGPACK_UNPACK_SUCCESS && ur != MSGPACK_UNPACK_EXTRA_BYTES) ||
        off != len) {
        rc = ENT_EPROTO;
        goto out;
    }

    const msgpack_object *top = &u.data;
    if (top->type != MSGPACK_OBJECT_ARRAY || top->via.array.size == 0) {
        rc = ENT_EPROTO;
        goto out;
    }
    const msgpack_object *f = top->via.array.ptr;
    if (f[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        f[0].via.u64 > ENT_WIRE_TYPE_MAX || f[0].via.u64 == 0) {
        rc = ENT_EPROTO;
        goto out;
    }
    int type = (int)f[0].via.u64;
    size_t want = field_count(type);
    if (want == 0) {
        if (type >= ENT_WIRE_TYPE_IGNORE_MIN) {
            m->type = ENT_WIRE_UNKNOWN;
            m->u.unknown_type = type;
        } else {
            rc = ENT_EPROTO;
        }
        goto out;
    }
    if (top->via.array.size != want &&
        !(type == ENT_WIRE_VV && top->via.array.size == want + 1)) {
        rc = ENT_EPROTO;
        goto out;
    }
    m->type = type;

    switch (type) {
    case ENT_WIRE_HELLO:
        rc = decode_hello(m, f);
        break;
    case ENT_WIRE_JOIN:
        rc = get_bin_fixed(&f[1], m->u.join.invite_id, ENT_WIRE_INVITE_ID_LEN);
        if (rc == ENT_OK)
            rc = get_bin_fixed(&f[2], m->u.join.proof, ENT_WIRE_PROOF_LEN);
        if (rc == ENT_OK)
            rc = get_str(&f[3], 1, ENT_WIRE_MAX_NAME_LEN, name_ok,
                         m->u.join.name);
        break;
    case ENT_WIRE_JOIN_OK:
        rc = decode_join_ok(m, f);
        break;
    case ENT_WIRE_JOIN_ERR:
    case ENT_WIRE_ERROR:
    case ENT_WIRE_GOODBYE:
        rc = decode_error(m, f);
        break;
    case ENT_WIRE_OPS:
        rc = decode_ops(m, f);
        break;
    case ENT_WIRE_ACK:
        rc = decode_ack(m, f);
        break;
    case ENT_WIRE_HAVE:
    case ENT_WIRE_WANT:
        rc = decode_summary(m, f);
        break;
    case ENT_WIRE_CHUNK_WANT:
    case ENT_WIRE_CHUNK:
        rc = ent__wire_chunk_decode(m, f);
        break;
    case ENT_WIRE_RANGES:
    case ENT_WIRE_LEAF:
        rc = ent__wire_recon_decode(m, f);
        break;
    case ENT_WIRE_PING:
    case ENT_WIRE_PONG:
        rc = get_bin_fixed(&f[1], m->u.nonce, ENT_WIRE_NONCE_LEN);
        break;
    case ENT_WIRE_HEAD:
    case ENT_WIRE_CONSISTENCY:
    case ENT_WIRE_REWIND:
        rc = ent__wire_witness_decode(m, f);
        break;
    case ENT_WIRE_DIGEST:
        rc = get_bin_fixed(&f[1], m->u.digest.digest, ENT_WIRE_DIGEST_LEN);
        if (rc == ENT_OK && f[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            rc = ENT_EPROTO;
        if (rc == ENT_OK)
            m->u.digest.nobjects = f[2].via.u64;
        break;
    case ENT_WIRE_DIGESTS:
        rc = ent__wire_digests_decode(m, f);
        break;
    case ENT_WIRE_VV:
        rc = decode_vv(m, f, top->via.array.size);
        break;
    case ENT_WIRE_ADDRS:
        rc = decode_bins(&f[1], ENT_WIRE_MAX_ADDR_RECS, ENT_WIRE_MAX_ADDR_REC,
                         &m->u.addrs.recs, &m->u.addrs.nrecs);
        break;
    case ENT_WIRE_OVERLAP:
        rc = ent__wire_overlap_decode(&m->u.overlap, f);
        break;
    case ENT_WIRE_CREDIT:
        if (f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            f[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            rc = ENT_EPROTO;
        else
            m->u.credit = (ent_wire_credit){f[1].via.u64, f[2].via.u64};
        break;
    case ENT_WIRE_ACKS:
        if (f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            f[1].via.u64 < 1 || f[1].via.u64 > ENT_WIRE_MAX_ACKS_COUNT)
            rc = ENT_EPROTO;
        else
            m->u.acks.count = (uint32_t)f[1].via.u64;
        break;
    default:
        rc = ENT_EPROTO;
        break;
    }
out:
    if (inited)
        msgpack_unpacked_destroy(&u);
    if (rc != ENT_OK)
        ent_wire_msg_clear(m);
    return rc;
}

void ent_wire_msg_clear(ent_wire_msg *m) {
    if (m == NULL)
        return;
    switch (m->type) {
    case ENT_WIRE_OPS:
        free((void *)m->u.ops.ops);
        break;
    case ENT_WIRE_ADDRS:
        free((void *)m->u.addrs.recs);
        break;
    case ENT_WIRE_OVERLAP:
        free(m->u.overlap.data);
        break;
    case ENT_WIRE_ACK:
        free(m->u.ack.ids);
        break;
    case ENT_WIRE_JOIN_OK:
        free(m->u.join_ok.keys);
        break;
    case ENT_WIRE_HAVE:
    case ENT_WIRE_WANT:
        free(m->u.summary.bytes);
        break;
    case ENT_WIRE_DIGESTS:
        free(m->u.digests.entries);
        break;
    case ENT_WIRE_LEAF:
        free(m->u.leaf.entries);
        break;
    case ENT_WIRE_VV:
        free(m->u.vv.bytes);
        free(m->u.vv.tips);
        break;
    case ENT_WIRE_CHUNK:
        free((void *)m->u.chunk.data);
        break;
    default:
        break;
    }
    memset(m, 0, sizeof(*m));
}

/* ======================================================================== */
/* Names and codes                                                           */
/* ======================================================================== */

const char *ent_wire_type_name(int type) {
    switch (type) {
    case ENT_WIRE_UNKNOWN: return "UNKNOWN";
    case ENT_WIRE_HELLO: return "HELLO";
    case ENT_WIRE_JOIN: return "JOIN";
    case ENT_WIRE_JOIN_OK: return "JOIN_OK";
    case ENT_WIRE_JOIN_ERR: return "JOIN_ERR";
    case ENT_WIRE_OPS: return "OPS";
    case ENT_WIRE_ACK: return "ACK";
    case ENT_WIRE_HAVE: return "HAVE";
    case ENT_WIRE_WANT: return "WANT";
    case ENT_WIRE_PING: return "PING";
    case ENT_WIRE_PONG: return "PONG";
    case ENT_WIRE_ERROR: return "ERROR";
    case ENT_WIRE_GOODBYE: return "GOODBYE";
    case ENT_WIRE_HEAD: return "HEAD";
    case ENT_WIRE_CONSISTENCY: return "CONSISTENCY";
    case ENT_WIRE_REWIND: return "REWIND";
    case ENT_WIRE_DIGEST: return "DIGEST";
    case ENT_WIRE_DIGESTS: return "DIGESTS";
    case ENT_WIRE_VV: return "VV";
    case ENT_WIRE_ADDRS: return "ADDRS";
    case ENT_WIRE_OVERLAP: return "OVERLAP";
    case ENT_WIRE_CREDIT: return "CREDIT";
    case ENT_WIRE_ACKS: return "ACKS";
    case ENT_WIRE_CHUNK_WANT: return "CHUNK_WANT";
    case ENT_WIRE_CHUNK: return "CHUNK";
    case ENT_WIRE_RANGES: return "RANGES";
    case ENT_WIRE_LEAF: return "LEAF";
    default: return "?";
    }
}

int ent_wire_code_to_err(int32_t code) {
    switch (code) {
    case ENT_WIRE_C_NONE: return ENT_OK;
    case ENT_WIRE_C_PROTO: return ENT_EPROTO;
    case ENT_WIRE_C_VERSION: return ENT_EVERSION;
    case ENT_WIRE_C_TOOBIG: return ENT_ETOOBIG;
    case ENT_WIRE_C_LIMIT: return ENT_ELIMIT;
    case ENT_WIRE_C_DENIED: return ENT_EDENIED;
    case ENT_WIRE_C_NOTMEMBER: return ENT_ENOTMEMBER;
    case ENT_WIRE_C_SHUTDOWN: return ENT_ECLOSED;
    case ENT_WIRE_C_UNKNOWN_ORG: return ENT_EDENIED;
    case ENT_WIRE_C_INVITE_UNKNOWN: return ENT_ENOENT;
    case ENT_WIRE_C_INVITE_EXPIRED: return ENT_EEXPIRED;
    case ENT_WIRE_C_INVITE_USED: return ENT_EUSED;
    case ENT_WIRE_C_BAD_PROOF: return ENT_EDENIED;
    default: return ENT_EIO; /* INTERNAL and codes we do not know */
    }
}

int32_t ent_wire_code_from_err(int err) {
    switch (err) {
    case ENT_OK: return ENT_WIRE_C_NONE;
    case ENT_EPROTO: return ENT_WIRE_C_PROTO;
    case ENT_EVERSION: return ENT_WIRE_C_VERSION;
    case ENT_ETOOBIG: return ENT_WIRE_C_TOOBIG;
    case ENT_ELIMIT: return ENT_WIRE_C_LIMIT;
    case ENT_EDENIED: return ENT_WIRE_C_DENIED;
    case ENT_ENOTMEMBER: return ENT_WIRE_C_NOTMEMBER;
    case ENT_ECLOSED: return ENT_WIRE_C_SHUTDOWN;
    case ENT_EEXPIRED: return ENT_WIRE_C_INVITE_EXPIRED;
    case ENT_EUSED: return ENT_WIRE_C_INVITE_USED;
    default: return ENT_WIRE_C_INTERNAL;
    }
}
