/*
 * object_check.c - the refusal rules for a received op that do not depend
 * on membership: its structure against its causal past (S1 its hlc above
 * its parents', S2 its author's chain continues, S3 it has parents, its
 * epoch no higher than any epoch of its past), what its body may say
 * (nobody adds, removes or makes an owner; an epoch change names the next
 * epoch; an add hands out keys of no later epoch than its own; only the
 * owner flags a write owner-only), forks (same author and sequence,
 * other bytes: both are stored, the proof is kept), the value rules on
 * what a body carries (ent__obj_check_values, the checks of value.c that
 * local writes pass too), and the removed-object rule
 * (an epoch we hold no key for is never read). Whether the author may
 * make the change at all is object_fold.c's (ent__obj_check_authority).
 * Each check returns ENT_OK or the refusal; none writes. The fork note
 * (called by the commit) keeps the equivocation proof. The order in which an op meets them is in
 * object_apply.c (apply_one); our own changes are checked before they are
 * made (object.c, member.c).
 */
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/objects/object_int.h"
#include "node/objects/template.h"
#include "node/objects/value.h"

/* ------------------------------------------------------------ structure */

/* S1, S2 and the epoch bound (spec/membership.md "Structure"). */
int ent__obj_check_structure(const ent_op *op, const pvinfo *pi) {
    if (op->h.genesis)
        return op->h.seq == 1 && op->h.epoch == 0 ? ENT_OK : ENT_ECORRUPT;
    if (op->h.nparents == 0) /* S3 */
        return ENT_ECORRUPT;
    if (op->h.hlc <= pi->top_hlc) /* S1 */
        return ENT_ECORRUPT;
    if (pi->prev_seq != op->h.seq - 1) /* S2 */
        return ENT_ECORRUPT;
    if (op->h.epoch > pi->past_ep || op->h.epoch > OBJ_EPOCH_MAX)
        return ENT_ECORRUPT;
    return ENT_OK;
}

/* What the body may say. */
int ent__obj_check_body(const ent_op *op, const ent_op_body *b,
                        const uint8_t owner[32]) {
    int rc = ENT_OK;
    switch (op->h.kind) {
    case ENT_OP_ADD_MEMBER:
        if (b->role == ENT_ROLE_OWNER || memcmp(b->org, owner, 32) == 0)
            rc = ENT_EDENIED;
        /* keys of epochs up to the one the adder writes in, no more */
        for (size_t i = 0; i < b->nekeys && rc == ENT_OK; i++)
            if (b->ekeys[i].epoch > op->h.epoch)
                rc = ENT_ECORRUPT;
        break;
    case ENT_OP_REMOVE_MEMBER:
        if (memcmp(b->org, owner, 32) == 0)
            rc = ENT_EDENIED;
        /* fall through */
    case ENT_OP_ROTATE_KEY:
        if (rc == ENT_OK &&
            (op->h.epoch >= OBJ_EPOCH_MAX || b->epoch != op->h.epoch + 1))
            rc = ENT_ECORRUPT;
        break;
    case ENT_OP_CREATE:
        if (op->h.epoch != 0 || op->h.seq != 1)
            rc = ENT_ECORRUPT;
        break;
    case ENT_OP_SET:
        /* only the object's owner writes an owner-only field (C2) */
        for (size_t i = 0; i < b->nfields && rc == ENT_OK; i++)
            if (b->fields[i].owner_only && memcmp(op->h.author, owner, 32) != 0)
                rc = ENT_EDENIED;
        break;
    default:
        break;
    }
    return rc;
}

int ent__obj_check_values(const ent_op_body *b) {
    int rc = ENT_OK;
    switch (b->kind) {
    case ENT_OP_CREATE:
        if (!ent_template_type_valid(b->type))
            rc = ENT_EBADVALUE;
        /* fall through */
    case ENT_OP_SET:
        for (size_t i = 0; i < b->nfields && rc == ENT_OK; i++)
            if (!ent_value_name_valid(b->fields[i].name) ||
                ent_value_check(&b->fields[i].v) != ENT_OK)
                rc = ENT_EBADVALUE;
        break;
    case ENT_OP_STAGE:
        if (b->text == NULL || b->textlen == 0 ||
            b->textlen > ENT_VALUE_ENUM_MAX ||
            !ent_text_valid(b->text, b->textlen))
            rc = ENT_EBADVALUE;
        break;
    case ENT_OP_COMMENT:
        if ((b->text == NULL && b->textlen > 0) ||
            !ent_text_valid(b->text, b->textlen))
            rc = ENT_EBADVALUE;
        break;
    case ENT_OP_APPROVE: /* a step name and a comment (spec/workflows.md) */
        if (b->step[0] == '\0' || !ent_text_valid(b->step, strlen(b->step)) ||
            (b->text == NULL && b->textlen > 0) ||
            (b->textlen > 0 && !ent_text_valid(b->text, b->textlen)))
            rc = ENT_EBADVALUE;
        break;
    default:
        break;
    }
    return rc;
}

/* --------------------------------------------------------- equivocation */

static int any_row(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    *(bool *)data = true;
    return 1;
}

/* Puts the evidence of an equivocation: the encoding of op under its own
 * (author, seq, op id) row (an existing row is left as it is). */
static int keep_version(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                        const uint8_t id[32], const void *raw, size_t len) {
    uint8_t k[104];
    const void *v;
    size_t vlen;
    memcpy(k, obj, 32);
    memcpy(k + 32, op->h.author, 32);
    ent_be64_put(k + 64, op->h.seq);
    memcpy(k + 72, id, 32);
    if (ent_txn_get(txn, ENT_TBL_EQUIV, k, 104, &v, &vlen) == ENT_OK)
        return ENT_OK;
    return ent_txn_put(txn, ENT_TBL_EQUIV, k, 104, raw, len, 0);
}

/* Same author and sequence, other bytes: a fork (spec/objects.md
 * "Equivocation"). The first version stored holds the 72-byte ops key;
 * its encoding and op's go into the equivocations table, where the
 * witnessing code builds kind 3 proofs from them (spec/audit.md §12). */
int ent__obj_note_fork(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                       bool *fork, bool *first) {
    uint8_t okey[72], oid[32];
    const void *v;
    size_t vlen;
    int rc;
    *fork = *first = false;
    memcpy(okey, obj, 32);
    memcpy(okey + 32, op->h.author, 32);
    ent_be64_put(okey + 64, op->h.seq);
    if (ent_txn_get(txn, ENT_TBL_OPS, okey, 72, &v, &vlen) != ENT_OK)
        return ENT_OK;
    *fork = true;
    bool known = false;
    if ((rc = ent_txn_scan(txn, ENT_TBL_EQUIV, okey, 72, any_row, &known)) !=
        ENT_OK)
        return rc;
    *first = !known;
    if (ent_op_is_stub(v, vlen)) /* the first version was erased: no proof */
        return keep_version(txn, obj, op, op->id, op->raw, op->rawlen);
    ent_hash(oid, v, vlen);
    if ((rc = keep_version(txn, obj, op, oid, v, vlen)) != ENT_OK)
        return rc;
    return keep_version(txn, obj, op, op->id, op->raw, op->rawlen);
}

/* -------------------------------------------------------------- removal */

/* Removed from the object: an epoch we hold no key for is one we must
 * never read, whatever its parents. */
int ent__obj_check_removed_epoch(ent_txn *txn, const uint8_t obj[32],
                                 const ent_op *op) {
    uint8_t kpre[40];
    size_t n = 0;
    memcpy(kpre, obj, 32);
    ent_be64_put(kpre + 32, op->h.epoch);
    int rc = ent_txn_scan(txn, ENT_TBL_KEYS, kpre, 40, ent__obj_count_scan, &n);
    if (rc == ENT_OK && n == 0)
        rc = ENT_EDECRYPT;
    return rc;
}
