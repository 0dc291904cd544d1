/*
 * audit_int.h - what the export (audit_export.c) and the offline verifier
 * (audit.c) share: the file layout of spec/audit.md §9. Internal to
 * node/audit/.
 */
#ifndef ENT_AUDIT_INT_H
#define ENT_AUDIT_INT_H

#include <stdbool.h>

#include "node/audit/actlog.h"

#define ENT__AUDIT_ITEMS 14    /* magic .. sig, version 3 */
#define ENT__AUDIT_ITEMS_V2 13 /* version 2: no directory records */

/* Kinds whose entries name an op that the export must carry. */
static inline bool ent__audit_needs_op(unsigned kind) {
    return kind == ENT_LOG_OP_AUTHORED || kind == ENT_LOG_OP_ACCEPTED ||
           kind == ENT_LOG_MEMBER_ADDED || kind == ENT_LOG_MEMBER_REMOVED ||
           kind == ENT_LOG_KEY_ROTATED;
}

#endif
