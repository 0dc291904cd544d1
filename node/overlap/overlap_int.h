/*
 * overlap_int.h - internals of the account-overlap layer shared by
 * overlap.c (runs) and overlap_store.c (its rows in ENT_TBL_OVERLAP, the
 * layouts of spec/overlap.md §9). Not a public API: symbols ent__ovl_*.
 */
#ifndef ENT_OVERLAP_INT_H
#define ENT_OVERLAP_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "node/audit/actlog.h"
#include "storage/store.h"

/* This org's share for one partner (§6). */
typedef struct share {
    int level;
    uint32_t population, flags;
    bool suspended;
} share;

/* The "d" row: the day's runs and the last run's sizes (§7). */
typedef struct limits_rec {
    uint32_t day, runs, their_m, mine_n;
} limits_rec;

/* What one write of ent__ovl_log_fn does (all in one transaction): the
 * share (and baselines reset), the limits, the result, the baseline, the
 * suspension, then the activity-log entry of kind with reason. */
typedef struct log_ctx {
    const uint8_t *org;
    int kind;
    char reason[ENT_ACTLOG_REASON_MAX + 1];
    const share *s;   /* overlap_share: the new setting */
    const char *result; /* overlap_run: the result JSON text, or NULL */
    limits_rec *l;    /* overlap_run: counted */
    const uint8_t *base; /* overlap_run done: new baseline */
    size_t nbase;
    bool suspend;
} log_ctx;

/* The last result of org (ent__ovl_prev_fn). */
typedef struct prev_ctx {
    const uint8_t *org;
    json_t *res;
} prev_ctx;

/* The wall clock in ms; the 33-byte row key tag || org. */
uint64_t ent__ovl_wall_ms(void);
void ent__ovl_key_of(uint8_t *k, char tag, const uint8_t org[32]);

/* Rows of ENT_TBL_OVERLAP (@return ENT_OK, ENT_ECORRUPT, storage errors;
 * a missing row reads as zeros). */
int ent__ovl_share_get(ent_txn *txn, const uint8_t org[32], share *s);
int ent__ovl_share_put(ent_txn *txn, const uint8_t org[32], const share *s);
int ent__ovl_limits_get(ent_txn *txn, const uint8_t org[32], limits_rec *l);
int ent__ovl_limits_put(ent_txn *txn, const uint8_t org[32],
                        const limits_rec *l);
/* This node's salt of the baselines; create: make it when missing. */
int ent__ovl_salt_get(ent_txn *txn, uint8_t salt[32], bool create);
/* memcmp of 8 bytes (qsort, bsearch of baselines). */
int ent__ovl_cmp8(const void *a, const void *b);
/* ent_store_write body: a log_ctx. */
int ent__ovl_log_fn(ent_txn *txn, void *data);
/* ent_store_read body: a prev_ctx (res NULL when there is none). */
int ent__ovl_prev_fn(ent_txn *txn, void *data);

#endif
