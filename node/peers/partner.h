/*
 * partner.h - partnerships without a shared object (spec/overlap.md §3):
 * the consent record each side keeps in ENT_TBL_PARTNERS once a
 * partnership invite (an invite token of role ENT_INVITE_ROLE_PARTNER,
 * spec/invites.md) has been redeemed, and its activity-log entry. Pure
 * storage functions on a caller's transaction; the session side is in
 * peer_partner.c (peer.h).
 *
 * Record (value of key org, 27 bytes): version (1) | state (1: 1 active,
 * 2 ended) | side (1: 1 we invited, 2 we joined) | since (u64 BE, ms) |
 * invite id (16).
 */
#ifndef ENT_PARTNER_H
#define ENT_PARTNER_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/store.h"

#define ENT_PARTNER_REC_LEN 27
#define ENT_PARTNER_ACTIVE 1
#define ENT_PARTNER_ENDED 2
#define ENT_PARTNER_INVITER 1
#define ENT_PARTNER_JOINER 2

typedef struct ent_partner {
    uint8_t org[32];
    uint8_t state, side;
    uint64_t since; /* ms */
    uint8_t invite[16];
} ent_partner;

/* Records an active partnership with org (replacing an ended one) and a
 * partner_added activity-log entry naming org, in txn.
 * @return ENT_OK, ENT_EEXIST (already an active partner), storage
 * errors. */
int ent_partner_put(ent_txn *txn, const uint8_t org[32], uint8_t side,
                    uint64_t now_ms, const uint8_t invite[16]);

/* The record of org. @return ENT_OK, ENT_ENOENT, ENT_ECORRUPT. */
int ent_partner_get(ent_txn *txn, const uint8_t org[32], ent_partner *out);

/* Calls fn for every record in org order (0: go on, > 0 stop, < 0 fail). */
int ent_partner_foreach(ent_txn *txn,
                        int (*fn)(void *data, const ent_partner *p),
                        void *data);

#endif
