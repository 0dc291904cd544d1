/*
 * fuzz_crm_map.c - libFuzzer target for mapping files and the value
 * transforms (node/crm/crm_map.h).
 *
 * The input is a mapping document, then a NUL byte, then CSV text. The
 * document goes through ent_crm_map_parse() and, when it parses, is bound
 * to the built-in template of its type; a bound map takes the CSV's first
 * record as its header and every further record through ent_crm_map_row().
 * Every value a row gives must be text the map promised (a field it names,
 * a column inside the row); every export row must have as many cells as
 * the export header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/crm/crm_map.h"
#include "node/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (128 * 1024)

static int lookup(void *data, const char *name, char id[ENT_ORG_ID_LEN + 1]) {
    (void)data;
    if (strcmp(name, "Globex") != 0)
        return ENT_ENOENT;
    memset(id, 'b', ENT_ORG_ID_LEN);
    id[ENT_ORG_ID_LEN] = '\0';
    return ENT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul;
    ent_crm_map *m = NULL;
    ent_template *t = NULL;
    ent_csv *c = NULL;
    ent_csv_row row;
    ent_crm_values v = {0};
    ent_crm_row_opts opts = {lookup, NULL};
    char err[ENT_CRM_ERR_MAX];
    size_t mlen;
    if (size > MAX_INPUT)
        return 0;
    nul = memchr(data, 0, size);
    mlen = nul ? (size_t)(nul - data) : size;
    if (ent_crm_map_parse(&m, data, mlen, "fuzz.json", err, sizeof(err)) !=
        ENT_OK)
        goto out;
    if (ent_template_builtin(ent_crm_map_type(m), &t) != ENT_OK ||
        ent_crm_map_bind(m, t, err, sizeof(err)) != ENT_OK || nul == NULL)
        goto out;
    if (ent_csv_open_mem(&c, nul + 1, size - mlen - 1, "fuzz.csv", NULL) !=
            ENT_OK ||
        ent_csv_next(c, &row) != ENT_OK ||
        ent_crm_map_header(m, &row, "fuzz.csv", err, sizeof(err)) != ENT_OK)
        goto out;
    while (ent_csv_next(c, &row) == ENT_OK) {
        if (ent_crm_map_row(m, &row, "fuzz.csv", &opts, &v, err, sizeof(err)) !=
            ENT_OK) {
            if (v.n != 0)
                abort();
            continue;
        }
        json_t *sh = json_object(), *pv = json_object();
        for (size_t i = 0; i < v.n; i++) {
            if (v.v[i].text == NULL || v.v[i].column == 0 ||
                v.v[i].column > row.ncols ||
                !ent_template_name_valid(v.v[i].field))
                abort();
            json_object_set_new(v.v[i].private_ ? pv : sh, v.v[i].field,
                                json_string(v.v[i].text));
        }
        char **cells;
        size_t n, nh;
        ent_crm_map_export_header(m, &nh);
        if (ent_crm_map_export_row(m, sh, pv, NULL, false, &cells, &n) ==
            ENT_OK) {
            if (n != nh)
                abort();
            ent_crm_cells_free(cells, n);
        }
        json_decref(sh);
        json_decref(pv);
    }
out:
    ent_crm_values_clear(&v);
    ent_csv_free(c);
    ent_template_free(t);
    ent_crm_map_free(m);
    return 0;
}
