/*
 * overlap_store.c - the rows of the account-overlap layer in
 * ENT_TBL_OVERLAP (spec/overlap.md §9): shares, the day's limits, the
 * baseline salt, the last result, and the one write that records a
 * change or a run with its activity-log entry; see overlap_int.h.
 */
#include "node/overlap/overlap_int.h"
#include "crypto/crypto.h"
#include "node/err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

uint64_t ent__ovl_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ent__ovl_key_of(uint8_t *k, char tag, const uint8_t org[32]) {
    k[0] = (uint8_t)tag;
    memcpy(k + 1, org, 32);
}

/* ---- settings and limits in storage ------------------------------------- */

int ent__ovl_share_get(ent_txn *txn, const uint8_t org[32], share *s) {
    uint8_t k[33];
    const uint8_t *v;
    size_t n;
    memset(s, 0, sizeof(*s));
    ent__ovl_key_of(k, 's', org);
    int rc = ent_txn_get(txn, ENT_TBL_OVERLAP, k, sizeof(k),
                         (const void **)&v, &n);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc != ENT_OK)
        return rc;
    if (n != 16 || v[0] != 1 || v[1] > 3)
        return ENT_ECORRUPT;
    s->level = v[1];
    s->population = v[2];
    s->flags = v[3];
    s->suspended = v[4] != 0;
    return ENT_OK;
}

int ent__ovl_share_put(ent_txn *txn, const uint8_t org[32], const share *s) {
    uint8_t k[33], v[16] = {1};
    uint64_t now = ent__ovl_wall_ms();
    ent__ovl_key_of(k, 's', org);
    v[1] = (uint8_t)s->level;
    v[2] = (uint8_t)s->population;
    v[3] = (uint8_t)s->flags;
    v[4] = s->suspended;
    for (int i = 0; i < 8; i++)
        v[8 + i] = (uint8_t)(now >> (56 - 8 * i));
    return ent_txn_put(txn, ENT_TBL_OVERLAP, k, sizeof(k), v, sizeof(v), 0);
}


static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int ent__ovl_limits_get(ent_txn *txn, const uint8_t org[32], limits_rec *l) {
    uint8_t k[33];
    const uint8_t *v;
    size_t n;
    memset(l, 0, sizeof(*l));
    ent__ovl_key_of(k, 'd', org);
    int rc = ent_txn_get(txn, ENT_TBL_OVERLAP, k, sizeof(k),
                         (const void **)&v, &n);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc != ENT_OK || n != 16)
        return rc != ENT_OK ? rc : ENT_ECORRUPT;
    l->day = be32(v);
    l->runs = be32(v + 4);
    l->their_m = be32(v + 8);
    l->mine_n = be32(v + 12);
    if (l->day != (uint32_t)(ent__ovl_wall_ms() / 86400000u))
        l->runs = 0; /* a new day */
    return ENT_OK;
}

int ent__ovl_limits_put(ent_txn *txn, const uint8_t org[32],
                      const limits_rec *l) {
    uint8_t k[33], v[16];
    ent__ovl_key_of(k, 'd', org);
    put32(v, (uint32_t)(ent__ovl_wall_ms() / 86400000u));
    put32(v + 4, l->runs);
    put32(v + 8, l->their_m);
    put32(v + 12, l->mine_n);
    return ent_txn_put(txn, ENT_TBL_OVERLAP, k, sizeof(k), v, sizeof(v), 0);
}

int ent__ovl_salt_get(ent_txn *txn, uint8_t salt[32], bool create) {
    const void *v;
    size_t n;
    int rc = ent_txn_get(txn, ENT_TBL_OVERLAP, "salt", 4, &v, &n);
    if (rc == ENT_OK && n == 32) {
        memcpy(salt, v, 32);
        return ENT_OK;
    }
    if (!create)
        return rc == ENT_OK ? ENT_ECORRUPT : rc;
    ent_random(salt, 32);
    return ent_txn_put(txn, ENT_TBL_OVERLAP, "salt", 4, salt, 32, 0);
}

int ent__ovl_cmp8(const void *a, const void *b) {
    return memcmp(a, b, 8);
}

int ent__ovl_log_fn(ent_txn *txn, void *data) {
    log_ctx *c = data;
    ent_actlog_entry e;
    uint8_t k[33];
    int rc = ENT_OK;
    if (c->s != NULL) {
        if ((rc = ent__ovl_share_put(txn, c->org, c->s)) != ENT_OK)
            return rc;
        ent__ovl_key_of(k, 'b', c->org); /* new consent: baselines start again */
        ent_txn_del(txn, ENT_TBL_OVERLAP, k, sizeof(k));
        ent__ovl_key_of(k, 'd', c->org);
        limits_rec l;
        if ((rc = ent__ovl_limits_get(txn, c->org, &l)) != ENT_OK)
            return rc;
        l.their_m = 0;
        if ((rc = ent__ovl_limits_put(txn, c->org, &l)) != ENT_OK)
            return rc;
    }
    if (c->l != NULL) {
        limits_rec old;
        if ((rc = ent__ovl_limits_get(txn, c->org, &old)) != ENT_OK)
            return rc;
        c->l->runs = old.runs;
        if ((rc = ent__ovl_limits_put(txn, c->org, c->l)) != ENT_OK)
            return rc;
    }
    if (c->result != NULL) {
        ent__ovl_key_of(k, 'r', c->org);
        if ((rc = ent_txn_put(txn, ENT_TBL_OVERLAP, k, sizeof(k), c->result,
                              strlen(c->result), 0)) != ENT_OK)
            return rc;
    }
    if (c->base != NULL) {
        ent__ovl_key_of(k, 'b', c->org);
        if ((rc = ent_txn_put(txn, ENT_TBL_OVERLAP, k, sizeof(k), c->base,
                              c->nbase * 8, 0)) != ENT_OK)
            return rc;
    }
    if (c->suspend) {
        share s;
        if ((rc = ent__ovl_share_get(txn, c->org, &s)) != ENT_OK)
            return rc;
        s.suspended = true;
        if ((rc = ent__ovl_share_put(txn, c->org, &s)) != ENT_OK)
            return rc;
    }
    memset(&e, 0, sizeof(e));
    e.time = ent__ovl_wall_ms();
    e.kind = (uint8_t)c->kind;
    e.has_org = true;
    memcpy(e.org, c->org, 32);
    e.reason_len = strlen(c->reason);
    memcpy(e.reason, c->reason, e.reason_len + 1);
    return ent_actlog_append(txn, &e, NULL);
}

/* The previous result's match keys (level accounts and up) or count. */

int ent__ovl_prev_fn(ent_txn *txn, void *data) {
    prev_ctx *c = data;
    uint8_t k[33];
    const void *v;
    size_t n;
    json_error_t je;
    ent__ovl_key_of(k, 'r', c->org);
    int rc = ent_txn_get(txn, ENT_TBL_OVERLAP, k, sizeof(k), &v, &n);
    if (rc == ENT_OK)
        c->res = json_loadb(v, n, 0, &je);
    return rc == ENT_ENOENT ? ENT_OK : rc;
}
