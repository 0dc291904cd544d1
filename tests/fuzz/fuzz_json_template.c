/*
 * fuzz_json_template.c - arbitrary bytes as a template JSON document.
 *
 * Parses the input with jansson (size cap, duplicate keys rejected), then
 * ent_template_from_json(). Every accepted template must survive a round
 * trip through ent_template_to_json() unchanged, and resolving each field
 * (its default and a plain value, without a store) must not crash, nor
 * may checking its derived fields' formulas (node/reports/derive.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/template.h"
#include "node/reports/derive.h"

#define MAX_INPUT (64 * 1024)

static void resolve_all(const ent_template *t) {
    static const char *const inputs[] = {"x", "12", "1.5 EUR", "2024-02-29",
                                         ""};
    for (size_t i = 0; i < t->nfields; i++) {
        const ent_tpl_field *f = &t->fields[i];
        for (int priv = 0; priv < 2; priv++) {
            ent_resolved r;
            char err[128];
            for (size_t k = 0; k < sizeof(inputs) / sizeof(inputs[0]); k++) {
                if (ent_template_resolve(t, NULL, f->name, inputs[k], priv, &r,
                                         err, sizeof(err)) == ENT_OK)
                    ent_value_clear(&r.value);
            }
            if (f->default_text != NULL &&
                ent_template_resolve(t, NULL, f->name, f->default_text, priv,
                                     &r, err, sizeof(err)) == ENT_OK)
                ent_value_clear(&r.value);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_error_t jerr;
    json_t *j = NULL, *k = NULL;
    ent_template *t = NULL, *u = NULL;
    char err[256];
    if (size > MAX_INPUT)
        return 0;
    j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL)
        goto out;
    if (ent_template_from_json(j, &t, err, sizeof(err)) != ENT_OK)
        goto out;
    if (ent_template_to_json(t, &k) != ENT_OK)
        abort();
    if (ent_template_from_json(k, &u, err, sizeof(err)) != ENT_OK ||
        !ent_template_equal(t, u))
        abort();
    resolve_all(t);
    (void)ent_derive_check(t, err, sizeof(err));
out:
    ent_template_free(u);
    ent_template_free(t);
    json_decref(k);
    json_decref(j);
    return 0;
}
