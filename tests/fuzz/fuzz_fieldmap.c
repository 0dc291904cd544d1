/*
 * fuzz_fieldmap.c - libFuzzer target for field maps
 * (node/objects/fieldmap.h).
 *
 * The input is a map document, then optionally a NUL byte and command-line
 * arguments separated by newlines. The document goes through
 * ent_fieldmap_parse() and, when it parses, is checked again against the
 * built-in template of its type; a map that passes must translate both
 * ways consistently (own -> shared -> own gives the own name back, for
 * fields and values) and give the same map through its canonical JSON.
 * The arguments go through ent_fieldmap_doc_from_args() and the result
 * through ent_fieldmap_from_json().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/fieldmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (128 * 1024)
#define MAX_ARGS 64

static void check_map(const ent_fieldmap *m) {
    json_t *j = ent_fieldmap_to_json(m), *v;
    const char *k, *k2;
    json_t *vals;
    if (j == NULL)
        return;
    json_object_foreach(json_object_get(j, "fields"), k, v) {
        const char *sh = ent_fieldmap_shared_name(m, k, strlen(k));
        const char *own = sh ? ent_fieldmap_own_name(m, sh) : NULL;
        if (sh == NULL || strcmp(sh, json_string_value(v)) != 0 ||
            own == NULL || strcmp(own, k) != 0)
            abort();
    }
    json_object_foreach(json_object_get(j, "values"), k, vals) {
        json_object_foreach(vals, k2, v) {
            const char *sh = ent_fieldmap_shared_value(m, k, k2, strlen(k2));
            const char *own =
                sh ? ent_fieldmap_own_value(m, k, sh, strlen(sh)) : NULL;
            if (sh == NULL || own == NULL || strcmp(own, k2) != 0)
                abort();
        }
    }
    ent_fieldmap *again = NULL;
    char err[ENT_FM_ERR_MAX];
    if (ent_fieldmap_from_json(j, NULL, NULL, &again, err, sizeof(err)) !=
        ENT_OK)
        abort(); /* a checked map's canonical form checks */
    ent_fieldmap_free(again);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[ENT_FM_ERR_MAX];
    ent_fieldmap *m = NULL;
    if (size > MAX_INPUT)
        return 0;
    const uint8_t *nul = memchr(data, 0, size);
    size_t mlen = nul ? (size_t)(nul - data) : size;
    if (ent_fieldmap_parse(data, mlen, &m, err, sizeof(err)) == ENT_OK) {
        ent_template *t = NULL;
        check_map(m);
        if (ent_template_builtin(ent_fieldmap_type(m), &t) == ENT_OK) {
            json_t *j = ent_fieldmap_to_json(m);
            ent_fieldmap *b = NULL;
            if (j != NULL && ent_fieldmap_from_json(j, t, NULL, &b, err,
                                                    sizeof(err)) == ENT_OK)
                check_map(b);
            ent_fieldmap_free(b);
            json_decref(j);
        }
        ent_template_free(t);
        ent_fieldmap_free(m);
    }
    if (nul == NULL)
        return 0;
    /* the arguments: NUL-terminated copies of newline-separated lines */
    size_t alen = size - mlen - 1;
    char *buf = malloc(alen + 1);
    const char *args[MAX_ARGS];
    size_t n = 0;
    if (buf == NULL)
        return 0;
    memcpy(buf, nul + 1, alen);
    buf[alen] = '\0';
    for (char *p = buf; n < MAX_ARGS;) {
        char *e = memchr(p, '\n', strlen(p));
        args[n++] = p;
        if (e == NULL)
            break;
        *e = '\0';
        p = e + 1;
    }
    json_t *doc = NULL;
    if (ent_fieldmap_doc_from_args("opportunity", args, n, &doc, err,
                                   sizeof(err)) == ENT_OK) {
        ent_template *t = NULL;
        if (ent_template_builtin("opportunity", &t) == ENT_OK &&
            ent_fieldmap_from_json(doc, t, NULL, &m, err, sizeof(err)) ==
                ENT_OK) {
            check_map(m);
            ent_fieldmap_free(m);
        }
        ent_template_free(t);
    } else if (doc != NULL) {
        abort(); /* refused: no document */
    }
    json_decref(doc);
    free(buf);
    return 0;
}
