/*
 * fuzz_rules.c - arbitrary bytes as the workflow rules an object carries
 * (spec/workflows.md §2).
 *
 * ent_wf_decode() must refuse or accept without crashing; accepted rules
 * re-encode (ent_wf_encode) to exactly the input, go through their JSON
 * form (ent_wf_to_json, ent_wf_from_json) back to the same bytes, and
 * judging a move between any two of their stages with a few decisions
 * must not crash.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/work/rules.h"

static bool none_before(void *data, size_t i, size_t k) {
    (void)data;
    return i < k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ent_wf_rules r, r2;
    uint8_t *enc = NULL, *enc2 = NULL;
    size_t len, len2;
    if (ent_wf_decode(&r, data, size) != ENT_OK)
        return 0;
    if (ent_wf_encode(&r, &enc, &len) != ENT_OK || len != size ||
        memcmp(enc, data, size) != 0)
        abort();
    json_t *j = ent_wf_to_json(&r);
    if (j == NULL)
        abort();
    json_object_del(j, "stages");
    const char *names[ENT_WF_MAX_STAGES];
    for (size_t i = 0; i < r.nstages; i++)
        names[i] = r.stages[i];
    if (ent_wf_from_json(&r2, j, names, r.nstages, NULL, 0) != ENT_OK ||
        ent_wf_encode(&r2, &enc2, &len2) != ENT_OK || len2 != len ||
        memcmp(enc2, enc, len) != 0)
        abort();
    json_decref(j);
    uint8_t a[32] = {1}, b[32] = {2};
    ent_wf_party owner = {.org = a, .owner = true, .active = true},
                 mem = {.org = b, .active = true, .role = 2};
    ent_wf_decision ds[2] = {{.step = "finance", .by = owner},
                             {.step = "finance", .reject = true, .by = mem}};
    char why[200];
    for (size_t f = 0; f < r.nstages; f++)
        for (size_t t = 0; t < r.nstages; t++) {
            (void)ent_wf_transition_ok(&r, f ? r.stages[f] : NULL,
                                       r.stages[t], &mem, ds, 2, none_before,
                                       NULL, why, sizeof(why));
            if (r.nstages > 8)
                break;
        }
    for (size_t i = 0; i < r.nfields; i++)
        (void)ent_wf_who_matches(ent_wf_field_owner(&r, r.fields[i].name),
                                 &owner);
    free(enc);
    free(enc2);
    return 0;
}
