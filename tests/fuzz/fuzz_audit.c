/*
 * fuzz_audit.c - the offline verifier of activity-log exports
 * (node/audit/audit.h: versions 3 and 2, whole-log, partial and object
 * exports with their directory records), the entry and tree-head decoders
 * (node/audit/actlog.h: entries of versions 3 and 2, checkpoints) and the
 * equivocation-proof decoder (node/audit/witness.h) on hostile input.
 *
 * The whole input is an export handed to ent_audit_verify; it is also
 * decoded as one entry, as one head and as one equivocation proof.
 * Nothing may crash or leak; an entry or head that decodes must re-encode
 * to exactly the input (one encoding per record, the entry rules of
 * spec/audit.md section 7 applied alike both ways), and a verifier that
 * says ok must have filled in a result consistent with itself. Seeds:
 * tests/fuzz/corpus/audit (v3_* exports and entries, older version-2 and
 * version-1 files).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/audit/actlog.h"
#include "node/audit/audit.h"
#include "node/audit/witness.h"
#include "node/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ent_audit_result res;
    int rc = ent_audit_verify(data, size, NULL, &res);
    if ((rc == ENT_OK) != res.ok || (rc != ENT_OK && res.reason[0] == 0))
        abort();
    if (res.ok && (res.entries > res.tree_size ||
                   (res.has_object && res.since > res.tree_size)))
        abort();

    ent_actlog_entry e;
    if (ent_actlog_entry_decode(&e, data, size) == ENT_OK) {
        uint8_t *re = NULL;
        size_t n = 0;
        if (ent_actlog_entry_encode(&e, &re, &n) != ENT_OK ||
            n != size || memcmp(re, data, size) != 0)
            abort();
        free(re);
    }
    ent_actlog_head h;
    if (ent_actlog_head_decode(&h, data, size) == ENT_OK) {
        uint8_t buf[ENT_ACTLOG_HEAD_MAX];
        size_t n = 0;
        if (ent_actlog_head_encode(&h, true, buf, sizeof(buf), &n) != ENT_OK ||
            n != size || memcmp(buf, data, size) != 0)
            abort();
        (void)ent_actlog_head_verify(&h);
    }
    int kind = 0;
    uint8_t org[32];
    if (ent_equiv_verify(data, size, org, &kind) == ENT_OK &&
        (kind < ENT_EQUIV_HEADS || kind > ENT_EQUIV_OPS))
        abort();
    return 0;
}
