/*
 * object_rows.c - the bottom layer of the object engine: how its table rows
 * are encoded (big-endian integers, the 72-byte order key, the object
 * record, value blobs), a scan callback that counts rows, and the engine's
 * wall clock, which stamps ops and activity-log entries. Every other engine
 * file builds on these and this file calls none of them, so the engine's
 * files call each other in one direction only (object_int.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/err.h"
#include "node/objects/object_int.h"
#include "node/objects/value.h"
#include "protocol/cbor.h"

/* ------------------------------------------------------------ wall clock */

uint64_t ent__obj_wall(const ent_objects *eng) {
    if (eng->clock != NULL)
        return eng->clock(eng->clock_data);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t ent_obj_wall_ms(const ent_objects *eng) { return ent__obj_wall(eng); }

/* ------------------------------------------------------------ small bits */

void ent__be32(uint8_t out[4], uint32_t v) {
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

uint32_t ent__rd32(const uint8_t in[4]) {
    return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 |
           (uint32_t)in[2] << 8 | in[3];
}

size_t ent__uvar_put(uint8_t *out, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

int ent__uvar_get(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return ENT_ECORRUPT;
        uint8_t b = *(*p)++;
        if (shift == 63 && b > 1)
            return ENT_ECORRUPT;
        r |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *v = r;
            return ENT_OK;
        }
    }
    return ENT_ECORRUPT;
}

void ent__obj_order(uint8_t out[OBJ_ORDER_LEN], uint64_t hlc,
                    const uint8_t author[32], const uint8_t opid[32]) {
    ent_be64_put(out, hlc);
    memcpy(out + 8, author, 32);
    memcpy(out + 40, opid, 32);
}

int ent__obj_count_scan(void *data, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    (*(size_t *)data)++;
    return 0;
}

int ent__obj_any_scan(void *data, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    *(bool *)data = true;
    return 1;
}

/* ------------------------------------------------------- object records */

/* Layout: version(1) status(1) owner(32) hlc(8) typelen(1) type. */
int ent__obj_rec_get(ent_txn *txn, const uint8_t obj[32], obj_rec *out) {
    const uint8_t *v;
    size_t n;
    int rc = ent_txn_get(txn, ENT_TBL_OBJECTS, obj, 32, (const void **)&v, &n);
    if (rc != ENT_OK)
        return rc;
    if (n < 43 || v[0] != OBJ_REC_VERSION || v[42] == 0 ||
        v[42] > ENT_OP_NAME_MAX || n != 43u + v[42])
        return ENT_ECORRUPT;
    memset(out, 0, sizeof(*out));
    out->status = v[1];
    memcpy(out->owner, v + 2, 32);
    out->hlc = ent_be64_get(v + 34);
    memcpy(out->type, v + 43, v[42]);
    return ENT_OK;
}

int ent_obj_type_get(ent_txn *txn, const uint8_t id[ENT_OBJ_ID_LEN],
                     char type[ENT_OP_NAME_MAX + 1]) {
    obj_rec r;
    int rc = ent__obj_rec_get(txn, id, &r);
    if (rc == ENT_OK)
        memcpy(type, r.type, sizeof(r.type));
    return rc;
}

int ent__obj_rec_put(ent_txn *txn, const uint8_t obj[32], const obj_rec *r) {
    uint8_t buf[43 + ENT_OP_NAME_MAX];
    size_t tl = strlen(r->type);
    buf[0] = OBJ_REC_VERSION;
    buf[1] = r->status;
    memcpy(buf + 2, r->owner, 32);
    ent_be64_put(buf + 34, r->hlc);
    buf[42] = (uint8_t)tl;
    memcpy(buf + 43, r->type, tl);
    return ent_txn_put(txn, ENT_TBL_OBJECTS, obj, 32, buf, 43 + tl, 0);
}

/* ---------------------------------------------------------- value blobs */

static void emit_value(ent_cbor_writer *w, const void *data) {
    const ent_value *v = data;
    ent_cbor_write_array(w, 2);
    ent_cbor_write_uint(w, (uint64_t)v->type);
    switch (v->type) {
    case ENT_VT_NULL:
        ent_cbor_write_null(w);
        break;
    case ENT_VT_TEXT:
    case ENT_VT_ENUM:
        ent_cbor_write_text(w, v->u.text.s ? v->u.text.s : "", v->u.text.len);
        break;
    case ENT_VT_INT:
        ent_cbor_write_int(w, v->u.i);
        break;
    case ENT_VT_MONEY:
        ent_cbor_write_array(w, 2);
        ent_cbor_write_int(w, v->u.money.minor);
        ent_cbor_write_text(w, v->u.money.cur, strnlen(v->u.money.cur, 3));
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
}

int ent__obj_value_encode(const ent_value *v, uint8_t **out, size_t *len) {
    return ent_cbor_encode(out, len, ENT_VALUE_TEXT_MAX + 64, emit_value, v);
}

static int read_value(ent_cbor_reader *r, ent_value *v) {
    size_t n;
    uint64_t t;
    int64_t i;
    const char *s;
    int rc;
    memset(v, 0, sizeof(*v));
    if ((rc = ent_cbor_read_array(r, &n)) != ENT_OK ||
        (rc = ent_cbor_read_uint(r, &t)) != ENT_OK)
        return rc;
    if (n != 2)
        return ENT_ECORRUPT;
    switch (t) {
    case ENT_VT_NULL:
        return ent_cbor_read_null(r);
    case ENT_VT_TEXT:
    case ENT_VT_ENUM:
        if ((rc = ent_cbor_read_text(r, &s, &n)) != ENT_OK)
            return rc;
        rc = ent_value_set_text(v, (ent_vtype)t, s, n);
        return rc == ENT_OK || rc == ENT_ENOMEM ? rc : ENT_ECORRUPT;
    case ENT_VT_INT:
        v->type = ENT_VT_INT;
        return ent_cbor_read_int(r, &v->u.i);
    case ENT_VT_MONEY:
        if ((rc = ent_cbor_read_array(r, &n)) != ENT_OK)
            return rc;
        if (n != 2)
            return ENT_ECORRUPT;
        if ((rc = ent_cbor_read_int(r, &v->u.money.minor)) != ENT_OK ||
            (rc = ent_cbor_read_text(r, &s, &n)) != ENT_OK)
            return rc;
        if (n != 3)
            return ENT_ECORRUPT;
        memcpy(v->u.money.cur, s, 3);
        v->type = ENT_VT_MONEY;
        return ENT_OK;
    case ENT_VT_DATE:
        if ((rc = ent_cbor_read_int(r, &i)) != ENT_OK)
            return rc;
        if (i < INT32_MIN || i > INT32_MAX)
            return ENT_ECORRUPT;
        v->u.days = (int32_t)i;
        v->type = ENT_VT_DATE;
        return ENT_OK;
    case ENT_VT_ORG:
        v->type = ENT_VT_ORG;
        return ent_cbor_read_bytes_exact(r, v->u.org, 32);
    case ENT_VT_REF:
        v->type = ENT_VT_REF;
        return ent_cbor_read_bytes_exact(r, v->u.ref, 32);
    default:
        return ENT_ECORRUPT;
    }
}

/*
 * The usual money blob, [3, [minor, "CUR"]] with minor in its shortest
 * form, read without the general reader (a report reads one per object).
 * False sends anything else to read_value(), which takes or refuses it:
 * what is taken here read_value() takes too, with the same value.
 */
static bool money_quick(const uint8_t *b, size_t len, ent_value *v) {
    static const uint64_t min[4] = {24, 0x100, 0x10000, 0x100000000ULL};
    if (len < 8 || b[0] != 0x82 || b[1] != ENT_VT_MONEY || b[2] != 0x82)
        return false;
    unsigned major = b[3] >> 5, ai = b[3] & 0x1f;
    if (major > 1 || ai > 27)
        return false;
    size_t n = ai < 24 ? 0 : (size_t)1 << (ai - 24);
    if (len != 8 + n || b[4 + n] != 0x63)
        return false;
    uint64_t u = ai < 24 ? ai : 0;
    for (size_t i = 0; i < n; i++)
        u = u << 8 | b[4 + i];
    if ((n > 0 && u < min[ai - 24]) || u > (uint64_t)INT64_MAX)
        return false;
    memset(v, 0, sizeof(*v));
    v->type = ENT_VT_MONEY;
    v->u.money.minor = major == 0 ? (int64_t)u : -1 - (int64_t)u;
    memcpy(v->u.money.cur, b + 5 + n, 3);
    return true;
}

int ent__obj_value_decode(const uint8_t *buf, size_t len, ent_value *v) {
    ent_cbor_reader r;
    if (money_quick(buf, len, v))
        return ENT_OK;
    ent_cbor_reader_init(&r, buf, len);
    int rc = read_value(&r, v);
    if (rc == ENT_OK)
        rc = ent_cbor_read_end(&r);
    if (rc != ENT_OK)
        ent_value_clear(v);
    return rc;
}

int ent__obj_grow(void **v, size_t n, size_t elem) {
    if (n != 0 && (n < 8 || (n & (n - 1)) != 0))
        return ENT_OK; /* room left */
    size_t cap = n == 0 ? 8 : n * 2;
    if (cap > SIZE_MAX / elem)
        return ENT_ENOMEM;
    void *nv = realloc(*v, cap * elem);
    if (nv == NULL)
        return ENT_ENOMEM;
    *v = nv;
    return ENT_OK;
}
