/*
 * fuzz_csv.c - libFuzzer target for the streaming CSV reader
 * (node/crm/csv.h) over arbitrary bytes, and for the writer.
 *
 * The first byte picks the separator (detected, ',', ';' or tab) and small
 * limits, so that every bound is reached. Every record the reader hands out
 * must keep the promises of csv.h: at most max_cols cells of at most
 * max_cell bytes, each NUL-free valid UTF-8, lines that never go back. A
 * file read without error is written back with ent_csv_write_row() and
 * read again: the same records must come out.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/crm/csv.h"
#include "node/err.h"
#include "protocol/cbor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (256 * 1024)
#define MAX_KEEP 64

typedef struct rec {
    size_t n;
    char **cells;
    size_t *lens;
} rec;

static void keep(rec *r, const ent_csv_row *row) {
    r->n = row->ncols;
    r->cells = calloc(row->ncols + 1, sizeof(char *));
    r->lens = calloc(row->ncols + 1, sizeof(size_t));
    if (r->cells == NULL || r->lens == NULL)
        abort();
    for (size_t i = 0; i < row->ncols; i++) {
        r->cells[i] = malloc(row->lens[i] + 1);
        if (r->cells[i] == NULL)
            abort();
        memcpy(r->cells[i], row->cells[i], row->lens[i] + 1);
        r->lens[i] = row->lens[i];
    }
}

static void drop(rec *r) {
    for (size_t i = 0; i < r->n; i++)
        free(r->cells[i]);
    free(r->cells);
    free(r->lens);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char seps[] = {0, ',', ';', '\t'};
    ent_csv_opts o;
    ent_csv *c = NULL;
    ent_csv_row row;
    rec recs[MAX_KEEP];
    size_t nrecs = 0;
    unsigned long last = 0;
    bool all = true;
    int rc;
    if (size < 1 || size > MAX_INPUT)
        return 0;
    memset(&o, 0, sizeof(o));
    o.sep = seps[data[0] & 3];
    if (data[0] & 4) {
        o.limits.max_cell = 16;
        o.limits.max_cols = 8;
        o.limits.max_line = 64;
        o.limits.max_record = 128;
    }
    if (ent_csv_open_mem(&c, data + 1, size - 1, "fuzz.csv", &o) != ENT_OK)
        abort();
    size_t max_cell = o.limits.max_cell ? o.limits.max_cell : ENT_CSV_MAX_CELL;
    size_t max_cols = o.limits.max_cols ? o.limits.max_cols : ENT_CSV_MAX_COLS;
    while ((rc = ent_csv_next(c, &row)) == ENT_OK) {
        if (row.ncols == 0 || row.ncols > max_cols || row.line < last ||
            row.line_end < row.line)
            abort();
        last = row.line;
        for (size_t i = 0; i < row.ncols; i++) {
            if (row.lens[i] > max_cell || row.cells[i][row.lens[i]] != '\0' ||
                memchr(row.cells[i], 0, row.lens[i]) != NULL ||
                !ent_cbor_utf8_valid(row.cells[i], row.lens[i]))
                abort();
        }
        if (nrecs < MAX_KEEP)
            keep(&recs[nrecs++], &row);
        else
            all = false;
    }
    if (rc != ENT_ENOENT && ent_csv_error(c)[0] == '\0')
        abort();
    char sep = ent_csv_sep(c);
    ent_csv_free(c);
    if (rc == ENT_ENOENT && all && nrecs > 0 && !(data[0] & 4)) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (f == NULL)
            abort();
        for (size_t i = 0; i < nrecs; i++)
            if (ent_csv_write_row(f, sep, (const char *const *)recs[i].cells,
                                  recs[i].lens, recs[i].n) != ENT_OK)
                abort();
        fclose(f);
        ent_csv_opts o2 = {.sep = sep};
        if (ent_csv_open_mem(&c, (uint8_t *)buf, len, "again", &o2) != ENT_OK)
            abort();
        for (size_t i = 0; i < nrecs; i++) {
            if (ent_csv_next(c, &row) != ENT_OK || row.ncols != recs[i].n)
                abort();
            for (size_t k = 0; k < row.ncols; k++)
                if (row.lens[k] != recs[i].lens[k] ||
                    memcmp(row.cells[k], recs[i].cells[k], row.lens[k]) != 0)
                    abort();
        }
        if (ent_csv_next(c, &row) != ENT_ENOENT)
            abort();
        ent_csv_free(c);
        free(buf);
    }
    for (size_t i = 0; i < nrecs; i++)
        drop(&recs[i]);
    return 0;
}
