/*
 * partner.c - partnership consent records; see partner.h and
 * spec/overlap.md §3.
 */
#include "node/peers/partner.h"
#include "node/audit/actlog.h"
#include "node/bytes.h"
#include "node/err.h"

#include <string.h>

static int decode(const uint8_t *org, const uint8_t *v, size_t n,
                  ent_partner *out) {
    if (n != ENT_PARTNER_REC_LEN || v[0] != 1 ||
        (v[1] != ENT_PARTNER_ACTIVE && v[1] != ENT_PARTNER_ENDED) ||
        (v[2] != ENT_PARTNER_INVITER && v[2] != ENT_PARTNER_JOINER))
        return ENT_ECORRUPT;
    memcpy(out->org, org, 32);
    out->state = v[1];
    out->side = v[2];
    out->since = 0;
    for (size_t i = 0; i < 8; i++)
        out->since = out->since << 8 | v[3 + i];
    memcpy(out->invite, v + 11, 16);
    return ENT_OK;
}

int ent_partner_get(ent_txn *txn, const uint8_t org[32], ent_partner *out) {
    const void *v;
    size_t n;
    int rc = ent_txn_get(txn, ENT_TBL_PARTNERS, org, 32, &v, &n);
    return rc != ENT_OK ? rc : decode(org, v, n, out);
}

int ent_partner_put(ent_txn *txn, const uint8_t org[32], uint8_t side,
                    uint64_t now_ms, const uint8_t invite[16]) {
    ent_partner old;
    uint8_t v[ENT_PARTNER_REC_LEN];
    ent_actlog_entry e;
    if (ent_partner_get(txn, org, &old) == ENT_OK &&
        old.state == ENT_PARTNER_ACTIVE)
        return ENT_EEXIST;
    v[0] = 1;
    v[1] = ENT_PARTNER_ACTIVE;
    v[2] = side;
    for (size_t i = 0; i < 8; i++)
        v[3 + i] = (uint8_t)(now_ms >> (56 - 8 * i));
    memcpy(v + 11, invite, 16);
    int rc = ent_txn_put(txn, ENT_TBL_PARTNERS, org, 32, v, sizeof(v), 0);
    if (rc != ENT_OK)
        return rc;
    memset(&e, 0, sizeof(e));
    e.time = now_ms;
    e.kind = ENT_LOG_PARTNER_ADDED;
    e.has_org = true;
    memcpy(e.org, org, 32);
    return ent_actlog_append(txn, &e, NULL);
}

typedef struct each_ctx {
    int (*fn)(void *data, const ent_partner *p);
    void *data;
} each_ctx;

static int each_row(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    each_ctx *c = data;
    ent_partner p;
    if (klen != 32 || decode(key, val, vlen, &p) != ENT_OK)
        return ENT_ECORRUPT;
    return c->fn(c->data, &p);
}

int ent_partner_foreach(ent_txn *txn,
                        int (*fn)(void *data, const ent_partner *p),
                        void *data) {
    each_ctx c = {fn, data};
    return ent_txn_scan(txn, ENT_TBL_PARTNERS, NULL, 0, each_row, &c);
}
