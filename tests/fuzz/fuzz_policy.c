/*
 * fuzz_policy.c - arbitrary bytes as one access rule (spec/access.md §3).
 *
 * ent_rule_parse() must refuse or accept without crashing; an accepted rule
 * prints (ent_rule_format) to a canonical text that parses back to a rule
 * printing the same text, and deciding a few requests with it must not
 * crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/access/policy.h"
#include "node/err.h"

#define MAX_INPUT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ent_rule r, r2;
    char err[256], out[ENT_POLICY_TEXT_MAX + 512],
        out2[ENT_POLICY_TEXT_MAX + 512];
    if (size > MAX_INPUT)
        return 0;
    if (ent_rule_parse((const char *)data, size, &r, err, sizeof(err)) !=
        ENT_OK)
        return 0;
    if (ent_rule_format(&r, out, sizeof(out)) != ENT_OK)
        abort();
    if (ent_rule_parse(out, strlen(out), &r2, err, sizeof(err)) != ENT_OK)
        abort();
    if (ent_rule_format(&r2, out2, sizeof(out2)) != ENT_OK ||
        strcmp(out, out2) != 0)
        abort();
    /* decide: a user with a role and an attribute, on a small state */
    ent_principal p;
    memset(&p, 0, sizeof(p));
    p.kind = ENT_PRINCIPAL_USER;
    strcpy(p.user, "alice");
    strcpy(p.role, "rep");
    strcpy(p.attr_key[0], "region");
    strcpy(p.attr_val[0], "EMEA");
    p.nattrs = 1;
    p.scopes = ENT_ACT_ALL;
    json_t *st =
        json_pack("{s:{s:s,s:i},s:{s:{s:s}}}", "shared", "region", "EMEA", "n",
                  5, "private", "deal_size", "amount", "1.00");
    const char *types[] = {NULL, "opportunity", r.type[0] ? r.type : "lead"};
    const char *fields[] = {NULL, "deal_size", r.field[0] ? r.field : "x"};
    for (uint32_t a = 1; a <= ENT_ACT_LAST; a <<= 1)
        for (int t = 0; t < 3; t++)
            for (int f = 0; f < 3; f++) {
                ent_access_req q = {a, types[t], fields[f], st, "alice"};
                ent_decision d;
                ent_policy_decide(&r, 1, &p, &q, &d);
                if (d.allow == r.deny && d.why == ENT_WHY_RULE)
                    abort(); /* a rule decides as its effect says */
            }
    json_decref(st);
    return 0;
}
