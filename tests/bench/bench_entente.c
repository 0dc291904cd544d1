/* bench_entente.c - Entente's own throughput, as ratios to the limits.
 * Each module's benchmark appends its rows to the report;
 * $ENT_BENCH_ONLY=proofs runs only bench_proofs.c (objects, sync,
 * proofs, api_tcp, group, webhooks, work, reports, crm, overlap,
 * attach, growth). */
#include <stdlib.h>
#include <string.h>

#include "tests/bench/bench.h"

void ent_bench_entente(ent_bench_report *r, int quick) {
    const char *only = getenv("ENT_BENCH_ONLY");
    if (only == NULL || strcmp(only, "objects") == 0)
        ent_bench_objects(r, quick);
    if (only == NULL || strcmp(only, "sync") == 0)
        ent_bench_sync(r, quick);
    if (only == NULL || strcmp(only, "proofs") == 0)
        ent_bench_proofs(r, quick);
    if (only == NULL || strcmp(only, "api_tcp") == 0)
        ent_bench_api_tcp(r, quick);
    if (only == NULL || strcmp(only, "group") == 0)
        ent_bench_api_group(r, quick);
    if (only == NULL || strcmp(only, "webhooks") == 0)
        ent_bench_webhooks(r, quick);
    if (only == NULL || strcmp(only, "work") == 0)
        ent_bench_work(r, quick);
    if (only == NULL || strcmp(only, "reports") == 0)
        ent_bench_reports(r, quick);
    if (only == NULL || strcmp(only, "overlap") == 0)
        ent_bench_overlap(r, quick);
    if (only == NULL || strcmp(only, "crm") == 0)
        ent_bench_crm(r, quick);
    if (only == NULL || strcmp(only, "attach") == 0)
        ent_bench_attach(r, quick);
    if (only == NULL || strcmp(only, "growth") == 0)
        ent_bench_growth(r, quick);
}
