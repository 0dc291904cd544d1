/*
 * fuzz_dealreg.c - libFuzzer target for the matching key of deal
 * registrations (node/work/dealreg.c, spec/workflows.md §9): the input is
 * split at the first two 0x00 bytes into a name, a domain and a solution,
 * made into a key, and scored against a second key made from the same
 * parts in another order. A key stays within its bounds, a solution is
 * normalised to itself (idempotent), and a score is symmetric, at most
 * 100, and 100 against itself when the key has a domain.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/work/dealreg.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len) {
    const char *p[3] = {(const char *)buf, NULL, NULL};
    size_t l[3] = {len, 0, 0};
    for (int k = 1; k < 3; k++) {
        const uint8_t *z = memchr(p[k - 1], 0, l[k - 1]);
        if (z == NULL)
            break;
        p[k] = (const char *)z + 1;
        l[k] = l[k - 1] - (size_t)((const char *)z + 1 - p[k - 1]);
        l[k - 1] = (size_t)((const char *)z - p[k - 1]);
    }
    ent_dr_key a, b, c;
    ent_dr_key_make(&a, p[0], l[0], p[1], l[1], p[2], l[2]);
    ent_dr_key_make(&b, p[1], l[1], p[0], l[0], p[2], l[2]);
    if (strlen(a.domain) > ENT_NORM_DOMAIN_MAX ||
        strlen(a.name) > ENT_NORM_NAME_MAX ||
        strlen(a.solution) > ENT_DR_SOLUTION_MAX)
        abort();
    ent_dr_key_make(&c, NULL, 0, NULL, 0, a.solution, strlen(a.solution));
    if (strcmp(c.solution, a.solution) != 0)
        abort();
    ent_dr_match m1, m2;
    unsigned s1 = ent_dr_score(&a, &b, &m1), s2 = ent_dr_score(&b, &a, &m2);
    if (s1 != s2 || m1 != m2 || s1 > 100)
        abort();
    if (a.domain[0] && ent_dr_score(&a, &a, NULL) != 100)
        abort();
    return 0;
}
