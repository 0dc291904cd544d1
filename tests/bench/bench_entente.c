/* bench_entente.c - Entente's own throughput, as ratios to the limits.
 * Each module's benchmark appends its rows to the report. */
#include "tests/bench/bench.h"

void ent_bench_entente(ent_bench_report *r, int quick) {
    ent_bench_objects(r, quick);
    ent_bench_sync(r, quick);
}
