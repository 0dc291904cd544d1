/* bench_entente.c - Entente's own throughput, as ratios to the limits.
 * Figures are added here as modules land (ops, sync). */
#include "tests/bench/bench.h"

void ent_bench_entente(ent_bench_report *r, int quick) {
    (void)r;
    (void)quick;
}
