/* report.c - prints the bench report as a table and as JSON. */
#include <stdio.h>
#include <string.h>

#include "tests/bench/bench.h"

void ent_bench_report_init(ent_bench_report *r) {
    memset(r, 0, sizeof(*r));
}

void ent_bench_add(ent_bench_report *r, const char *name, double value,
                   const char *unit, const char *limit, double limit_value) {
    if (r->nrows >= ENT_BENCH_MAX_ROWS)
        return;
    ent_bench_row *row = &r->rows[r->nrows++];
    snprintf(row->name, sizeof(row->name), "%s", name);
    snprintf(row->unit, sizeof(row->unit), "%s", unit);
    snprintf(row->limit, sizeof(row->limit), "%s", limit);
    row->value = value;
    row->limit_value = limit_value;
}

int ent_bench_report_print(const ent_bench_report *r, const char *json_path) {
    const ent_bench_limits *l = &r->lim;
    printf("\nMachine limits (measured in this run)\n");
    printf("  %-44s %14.0f /s\n", "ed25519 sign", l->sign);
    printf("  %-44s %14.0f /s\n", "ed25519 verify", l->verify);
    printf("  %-44s %14.1f MB/s\n", "xchacha20-poly1305 (64 KiB msgs)",
           l->aead_mbs);
    printf("  %-44s %14.0f /s\n", "xchacha20-poly1305 (128 B msgs)",
           l->aead_small);
    printf("  %-44s %14.0f ns\n", "blake2b-256 of 64 B", l->blake_ns);
    printf("  %-44s %14.0f /s\n", "lmdb durable puts, batch 1000, seq keys",
           l->lmdb_seq);
    printf("  %-44s %14.0f /s\n", "lmdb durable puts, batch 1000, rand keys",
           l->lmdb_rand);
    printf("  %-44s %14.0f /s\n", "lmdb durable commits of one put",
           l->lmdb_commit);
    if (r->nrows > 0) {
        printf("\nEntente (ratio = Entente / limit)\n");
        printf("  %-36s %12s %-8s %-16s %7s\n", "what", "value", "unit",
               "limit", "ratio");
        for (int i = 0; i < r->nrows; i++) {
            const ent_bench_row *row = &r->rows[i];
            /* small figures (ms, MiB) keep two decimals; a row without
             * a limit (limit_value 0) prints "-" for its ratio */
            printf("  %-36s %12.*f %-8s %-16s ", row->name,
                   row->value < 100 ? 2 : 0, row->value, row->unit,
                   row->limit);
            if (row->limit_value > 0)
                printf("%7.3f\n", row->value / row->limit_value);
            else
                printf("%7s\n", "-");
        }
    }
    if (json_path == NULL)
        return 0;
    FILE *f = fopen(json_path, "w");
    if (f == NULL) {
        perror(json_path);
        return 1;
    }
    fprintf(f,
            "{\"limits\":{\"ed25519_sign_per_s\":%.0f,"
            "\"ed25519_verify_per_s\":%.0f,\"xchacha_mb_per_s\":%.1f,"
            "\"xchacha_small_per_s\":%.0f,\"blake2b_64_ns\":%.1f,"
            "\"lmdb_seq_puts_per_s\":%.0f,\"lmdb_rand_puts_per_s\":%.0f,"
            "\"lmdb_commits_per_s\":%.0f},"
            "\"entente\":[",
            l->sign, l->verify, l->aead_mbs, l->aead_small, l->blake_ns,
            l->lmdb_seq, l->lmdb_rand, l->lmdb_commit);
    for (int i = 0; i < r->nrows; i++) {
        const ent_bench_row *row = &r->rows[i];
        fprintf(f,
                "%s{\"name\":\"%s\",\"value\":%.1f,\"unit\":\"%s\","
                "\"limit\":\"%s\",\"limit_value\":%.1f,\"ratio\":%.4f}",
                i ? "," : "", row->name, row->value, row->unit, row->limit,
                row->limit_value,
                row->limit_value > 0 ? row->value / row->limit_value : 0);
    }
    fprintf(f, "]}\n");
    fclose(f);
    printf("\nwrote %s\n", json_path);
    return 0;
}
