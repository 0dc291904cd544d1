/*
 * fieldmap.c - an org's own names for fields and values (fieldmap.h,
 * spec/reports.md "Field maps"): the document's checks, the translations
 * both ways, and its row in the config table.
 */
#include "node/objects/fieldmap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/value.h"

#define FM_PREFIX "fieldmap/"

typedef struct fm_pair {
    char *own, *shared;
} fm_pair;

typedef struct fm_vals {
    char field[ENT_TPL_NAME_MAX + 1]; /* shared name */
    fm_pair *v;
    size_t n;
    const char **own, **shared; /* views of v for ent_fieldmap_values */
} fm_vals;

struct ent_fieldmap {
    char type[ENT_TPL_TYPE_MAX + 1];
    fm_pair *f;
    size_t nf;
    fm_vals *vals;
    size_t nvals;
};

static const char *const reserved[] = {
    "partner", "partnered", "month", "quarter", "year", "none", NULL};

static int bad(char *err, size_t errlen, int rc, const char *fmt, ...) {
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static bool ieq(const char *a, const char *b) {
    return ent_ascii_caseeq(a, strlen(a), b);
}

void ent_fieldmap_free(ent_fieldmap *m) {
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nf; i++) {
        free(m->f[i].own);
        free(m->f[i].shared);
    }
    free(m->f);
    for (size_t i = 0; i < m->nvals; i++) {
        for (size_t k = 0; k < m->vals[i].n; k++) {
            free(m->vals[i].v[k].own);
            free(m->vals[i].v[k].shared);
        }
        free(m->vals[i].v);
        free(m->vals[i].own);
        free(m->vals[i].shared);
    }
    free(m->vals);
    free(m);
}

const char *ent_fieldmap_type(const ent_fieldmap *m) {
    return m->type;
}

/* ---- checks -------------------------------------------------------------- */

/* A name rule failure of s ("own name", "shared name") into err. */
static int bad_name(char *err, size_t errlen, const char *what, const char *s) {
    size_t l = strlen(s);
    if (l > ENT_TPL_NAME_MAX)
        return bad(err, errlen, ENT_EINVAL,
                   "%s \"%.40s...\" is longer than %d bytes", what, s,
                   ENT_TPL_NAME_MAX);
    return bad(err, errlen, ENT_EINVAL,
               "%s \"%.64s\" is not a field name ([a-z][a-z0-9_]{0,63})", what,
               s);
}

/* The shared field called name in tpl: its type and allowed values (a
 * list, or a table name; both empty: any). */
static bool tpl_field(const ent_template *tpl, const char *name, ent_vtype *vt,
                      const ent_strlist **list, const char **table) {
    const ent_tpl_field *f = ent_template_field(tpl, name);
    *list = NULL;
    *table = NULL;
    if (strcmp(name, ENT_TPL_STAGE_FIELD) == 0 && tpl->stages.n > 0) {
        *vt = ENT_VT_ENUM;
        *list = &tpl->stages;
        return true;
    }
    if (f == NULL)
        return false;
    *vt = f->type;
    if (f->type == ENT_VT_ENUM) {
        if (f->table[0] != '\0')
            *table = f->table;
        else
            *list = &f->values;
    }
    return true;
}

static bool is_tpl_field(const ent_template *tpl, const char *name) {
    ent_vtype vt;
    const ent_strlist *l;
    const char *t;
    return tpl_field(tpl, name, &vt, &l, &t);
}

/* "fields": own name -> shared name. */
static int check_fields(ent_fieldmap *m, const json_t *fields,
                        const ent_template *tpl, char *err, size_t errlen) {
    const char *own;
    json_t *v;
    if (!json_is_object(fields))
        return bad(err, errlen, ENT_EINVAL,
                   "fields: want an object {\"OWN\": \"SHARED\"}");
    if (json_object_size(fields) > ENT_FM_FIELDS_MAX)
        return bad(err, errlen, ENT_ELIMIT, "fields: more than %d entries",
                   ENT_FM_FIELDS_MAX);
    m->f = calloc(json_object_size(fields) + 1, sizeof(*m->f));
    if (m->f == NULL)
        return ENT_ENOMEM;
    json_object_foreach((json_t *)fields, own, v) {
        const char *sh = json_string_value(v);
        if (!ent_template_name_valid(own))
            return bad_name(err, errlen, "fields: own name", own);
        if (sh == NULL)
            return bad(err, errlen, ENT_EINVAL,
                       "fields: \"%s\": want the shared field name as text",
                       own);
        if (!ent_template_name_valid(sh))
            return bad_name(err, errlen, "fields: shared name", sh);
        if (strcmp(own, sh) == 0)
            return bad(err, errlen, ENT_EINVAL,
                       "fields: \"%s\" is mapped onto itself", own);
        for (size_t k = 0; reserved[k] != NULL; k++)
            if (strcmp(own, reserved[k]) == 0)
                return bad(err, errlen, ENT_EINVAL,
                           "fields: own name \"%s\" is reserved (a report "
                           "column: partner, partnered, month, quarter, "
                           "year, none)",
                           own);
        for (size_t k = 0; k < m->nf; k++)
            if (strcmp(m->f[k].shared, sh) == 0)
                return bad(err, errlen, ENT_EINVAL,
                           "fields: two own names onto one shared name: "
                           "\"%s\" and \"%s\" -> \"%s\"",
                           m->f[k].own, own, sh);
        if (tpl != NULL && !is_tpl_field(tpl, sh)) {
            const char *near = ent_template_suggest(tpl, sh);
            return bad(err, errlen, ENT_EINVAL,
                       "fields: \"%s\" -> \"%s\": template %s has no field "
                       "%s%s%s%s",
                       own, sh, tpl->type, sh, near ? " (did you mean " : "",
                       near ? near : "", near ? "?)" : "");
        }
        if ((m->f[m->nf].own = strdup(own)) == NULL ||
            (m->f[m->nf].shared = strdup(sh)) == NULL) {
            free(m->f[m->nf].own);
            m->f[m->nf].own = NULL;
            return ENT_ENOMEM;
        }
        m->nf++;
    }
    /* a cycle or chain: an own name that is also a shared name */
    for (size_t i = 0; i < m->nf; i++)
        for (size_t k = 0; k < m->nf; k++)
            if (strcmp(m->f[i].own, m->f[k].shared) == 0) {
                if (strcmp(m->f[i].shared, m->f[k].own) == 0)
                    return bad(err, errlen, ENT_EINVAL,
                               "fields: a cycle: \"%s\" -> \"%s\" -> \"%s\"",
                               m->f[k].own, m->f[i].own, m->f[i].shared);
                return bad(err, errlen, ENT_EINVAL,
                           "fields: a chain: \"%s\" -> \"%s\" -> \"%s\" (an "
                           "own name may not be a shared name)",
                           m->f[k].own, m->f[i].own, m->f[i].shared);
            }
    for (size_t i = 0; tpl != NULL && i < m->nf; i++)
        if (is_tpl_field(tpl, m->f[i].own))
            return bad(err, errlen, ENT_EINVAL,
                       "fields: own name \"%s\" is already a field of "
                       "template %s",
                       m->f[i].own, tpl->type);
    return ENT_OK;
}

/* The allowed value of list that v equals (ASCII case ignored), or NULL. */
static const char *in_list(const ent_strlist *l, const char *v) {
    for (size_t i = 0; l != NULL && i < l->n; i++)
        if (ieq(v, l->v[i]))
            return l->v[i];
    return NULL;
}

static bool value_ok(const char *s) {
    size_t l = strlen(s);
    return l > 0 && l <= ENT_TPL_VALUE_MAX && ent_text_valid(s, l);
}

/* One field's value map: own value -> shared value. */
static int check_values_one(fm_vals *fv, const json_t *vals,
                            const ent_template *tpl, ent_txn *txn, char *err,
                            size_t errlen) {
    const char *own;
    json_t *v;
    const ent_strlist *list = NULL;
    const char *table = NULL;
    ent_strlist tl = {0};
    ent_vtype vt = ENT_VT_TEXT;
    int rc = ENT_OK;
    if (!json_is_object(vals) || json_object_size(vals) == 0)
        return bad(err, errlen, ENT_EINVAL,
                   "values: %s: want a non-empty object {\"OWN\": "
                   "\"SHARED\"}",
                   fv->field);
    if (json_object_size(vals) > ENT_FM_VALUES_MAX)
        return bad(err, errlen, ENT_ELIMIT, "values: %s: more than %d entries",
                   fv->field, ENT_FM_VALUES_MAX);
    if (tpl != NULL) {
        if (!tpl_field(tpl, fv->field, &vt, &list, &table)) {
            const char *near = ent_template_suggest(tpl, fv->field);
            return bad(err, errlen, ENT_EINVAL,
                       "values: template %s has no field %s%s%s%s", tpl->type,
                       fv->field, near ? " (did you mean " : "",
                       near ? near : "", near ? "?)" : "");
        }
        if (vt != ENT_VT_ENUM && vt != ENT_VT_TEXT)
            return bad(err, errlen, ENT_EINVAL,
                       "values: %s is a %s field; values are mapped for text "
                       "and enum fields only",
                       fv->field, ent_vtype_name(vt));
        if (table != NULL && txn != NULL) {
            rc = ent_config_get_list(txn, table, &tl);
            if (rc == ENT_OK)
                list = &tl;
            else if (rc != ENT_ENOENT)
                return rc;
            rc = ENT_OK;
        }
    }
    fv->v = calloc(json_object_size(vals), sizeof(*fv->v));
    if (fv->v == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    json_object_foreach((json_t *)vals, own, v) {
        const char *sh = json_string_value(v);
        if (!value_ok(own) || sh == NULL || !value_ok(sh)) {
            rc = bad(err, errlen, ENT_EINVAL,
                     "values: %s: \"%.64s\": own and shared values are text "
                     "of 1..%d bytes",
                     fv->field, own, ENT_TPL_VALUE_MAX);
            goto out;
        }
        if (ieq(own, sh)) {
            rc = bad(err, errlen, ENT_EINVAL,
                     "values: %s: \"%.64s\" is mapped onto itself", fv->field,
                     own);
            goto out;
        }
        if (list != NULL) {
            const char *canon = in_list(list, sh);
            if (canon == NULL) {
                rc = bad(err, errlen, ENT_EINVAL,
                         "values: %s: \"%.64s\" -> \"%.64s\": not a value of "
                         "field %s",
                         fv->field, own, sh, fv->field);
                goto out;
            }
            if (in_list(list, own) != NULL) {
                rc = bad(err, errlen, ENT_EINVAL,
                         "values: %s: own value \"%.64s\" is already a value "
                         "of field %s",
                         fv->field, own, fv->field);
                goto out;
            }
            sh = canon;
        }
        for (size_t k = 0; k < fv->n; k++) {
            if (ieq(fv->v[k].own, own)) {
                rc = bad(err, errlen, ENT_EINVAL,
                         "values: %s: own value \"%.64s\" given twice",
                         fv->field, own);
                goto out;
            }
            if (ieq(fv->v[k].shared, sh)) {
                rc = bad(err, errlen, ENT_EINVAL,
                         "values: %s: two own values onto one shared value: "
                         "\"%.64s\" and \"%.64s\" -> \"%.64s\"",
                         fv->field, fv->v[k].own, own, sh);
                goto out;
            }
        }
        if ((fv->v[fv->n].own = strdup(own)) == NULL ||
            (fv->v[fv->n].shared = strdup(sh)) == NULL) {
            free(fv->v[fv->n].own);
            fv->v[fv->n].own = NULL;
            rc = ENT_ENOMEM;
            goto out;
        }
        fv->n++;
    }
    for (size_t i = 0; i < fv->n; i++)
        for (size_t k = 0; k < fv->n; k++)
            if (ieq(fv->v[i].own, fv->v[k].shared)) {
                rc = bad(err, errlen, ENT_EINVAL,
                         "values: %s: a %s: \"%.64s\" -> \"%.64s\" -> "
                         "\"%.64s\" (an own value may not be a shared value)",
                         fv->field,
                         ieq(fv->v[i].shared, fv->v[k].own) ? "cycle" : "chain",
                         fv->v[k].own, fv->v[i].own, fv->v[i].shared);
                goto out;
            }
    fv->own = calloc(fv->n, sizeof(*fv->own));
    fv->shared = calloc(fv->n, sizeof(*fv->shared));
    if (fv->own == NULL || fv->shared == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < fv->n; i++) {
        fv->own[i] = fv->v[i].own;
        fv->shared[i] = fv->v[i].shared;
    }
out:
    ent_strlist_free(&tl);
    return rc;
}

static int check_values(ent_fieldmap *m, const json_t *values,
                        const ent_template *tpl, ent_txn *txn, char *err,
                        size_t errlen) {
    const char *key;
    json_t *v;
    if (!json_is_object(values))
        return bad(err, errlen, ENT_EINVAL,
                   "values: want an object {\"FIELD\": {\"OWN\": "
                   "\"SHARED\"}}");
    if (json_object_size(values) > ENT_FM_VFIELDS_MAX)
        return bad(err, errlen, ENT_ELIMIT, "values: more than %d fields",
                   ENT_FM_VFIELDS_MAX);
    m->vals = calloc(json_object_size(values) + 1, sizeof(*m->vals));
    if (m->vals == NULL)
        return ENT_ENOMEM;
    json_object_foreach((json_t *)values, key, v) {
        /* keyed by the shared name; an own name stands for its shared one */
        const char *sh = ent_fieldmap_shared_name(m, key, strlen(key));
        if (sh == NULL)
            sh = key;
        if (!ent_template_name_valid(sh))
            return bad_name(err, errlen, "values: field", sh);
        for (size_t k = 0; k < m->nvals; k++)
            if (strcmp(m->vals[k].field, sh) == 0)
                return bad(err, errlen, ENT_EINVAL,
                           "values: field %s given twice", sh);
        fm_vals *fv = &m->vals[m->nvals++];
        snprintf(fv->field, sizeof(fv->field), "%s", sh);
        int rc = check_values_one(fv, v, tpl, txn, err, errlen);
        if (rc != ENT_OK)
            return rc;
    }
    return ENT_OK;
}

int ent_fieldmap_from_json(const json_t *doc, const ent_template *tpl,
                           ent_txn *txn, ent_fieldmap **out, char *err,
                           size_t errlen) {
    const char *key, *type;
    json_t *v;
    ent_fieldmap *m = NULL;
    int rc;
    *out = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (!json_is_object(doc))
        return bad(err, errlen, ENT_EINVAL,
                   "a field map is a JSON object {\"type\",\"fields\","
                   "\"values\"}");
    json_object_foreach((json_t *)doc, key, v) {
        if (strcmp(key, "type") != 0 && strcmp(key, "fields") != 0 &&
            strcmp(key, "values") != 0)
            return bad(err, errlen, ENT_EINVAL,
                       "unknown key \"%.64s\" (type, fields, values)", key);
    }
    type = json_string_value(json_object_get(doc, "type"));
    if (type == NULL || !ent_template_type_valid(type))
        return bad(err, errlen, ENT_EINVAL,
                   "type: want an object type ([a-z][a-z0-9_]{0,31})");
    if (tpl != NULL && strcmp(tpl->type, type) != 0)
        return bad(err, errlen, ENT_EINVAL, "type: %s, not %s", type,
                   tpl->type);
    if ((m = calloc(1, sizeof(*m))) == NULL)
        return ENT_ENOMEM;
    snprintf(m->type, sizeof(m->type), "%s", type);
    json_t *fields = json_object_get(doc, "fields");
    json_t *values = json_object_get(doc, "values");
    rc = fields != NULL ? check_fields(m, fields, tpl, err, errlen) : ENT_OK;
    if (rc == ENT_OK && values != NULL)
        rc = check_values(m, values, tpl, txn, err, errlen);
    if (rc == ENT_OK && m->nf == 0 && m->nvals == 0)
        rc = bad(err, errlen, ENT_EINVAL,
                 "an empty map (remove it instead: entente fieldmap remove "
                 "%s)",
                 type);
    if (rc != ENT_OK) {
        if (rc != ENT_ENOMEM && err != NULL && errlen > 0) {
            char tmp[ENT_FM_ERR_MAX];
            snprintf(tmp, sizeof(tmp), "%s", err);
            snprintf(err, errlen, "field map %s: %s", type, tmp);
        }
        ent_fieldmap_free(m);
        return rc;
    }
    *out = m;
    return ENT_OK;
}

int ent_fieldmap_parse(const uint8_t *buf, size_t len, ent_fieldmap **out,
                       char *err, size_t errlen) {
    json_error_t je;
    *out = NULL;
    if (len > ENT_FM_JSON_MAX)
        return bad(err, errlen, ENT_ETOOBIG, "field map longer than %d bytes",
                   ENT_FM_JSON_MAX);
    json_t *doc =
        json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL)
        return bad(err, errlen, ENT_EINVAL, "not JSON: %s (at byte %d)",
                   je.text, je.position);
    int rc = ent_fieldmap_from_json(doc, NULL, NULL, out, err, errlen);
    json_decref(doc);
    return rc;
}

/* ---- command-line arguments ---------------------------------------------- */

int ent_fieldmap_doc_from_args(const char *type, const char *const *args,
                               size_t n, json_t **doc, char *err,
                               size_t errlen) {
    json_t *d = NULL, *fields = json_object(), *values = json_object();
    int rc = ENT_ENOMEM;
    *doc = NULL;
    if (n > ENT_FM_ARGS_MAX) {
        rc = bad(err, errlen, ENT_ELIMIT, "more than %d mappings",
                 ENT_FM_ARGS_MAX);
        goto out;
    }
    if (fields == NULL || values == NULL)
        goto out;
    /* field names first: a value's FIELD may be an own name */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            const char *a = args[i];
            const char *eq = strchr(a, '=');
            size_t nl = strcspn(a, ":=");
            bool isval = a[nl] == ':';
            if (eq == NULL || nl == 0 || (isval && eq == a + nl + 1) ||
                eq[1] == '\0') {
                rc = bad(err, errlen, ENT_EINVAL,
                         "\"%.80s\": want OWN=SHARED or FIELD:OWN=SHARED", a);
                goto out;
            }
            if ((pass == 0) == isval)
                continue;
            char name[4 * ENT_TPL_NAME_MAX]; /* checked later, by name */
            if (nl >= sizeof(name)) {
                rc = bad(err, errlen, ENT_EINVAL,
                         "\"%.40s...\": a field name is at most %d bytes", a,
                         ENT_TPL_NAME_MAX);
                goto out;
            }
            memcpy(name, a, nl);
            name[nl] = '\0';
            if (!isval) {
                if (json_object_get(fields, name) != NULL) {
                    rc = bad(err, errlen, ENT_EINVAL,
                             "\"%.80s\": own name %s given twice", a, name);
                    goto out;
                }
                if (json_object_set_new(fields, name, json_string(eq + 1)) !=
                    0) {
                    rc = bad(err, errlen, ENT_EINVAL,
                             "\"%.80s\": not valid text", a);
                    goto out;
                }
                continue;
            }
            const char *sh = json_string_value(json_object_get(fields, name));
            json_t *fv = json_object_get(values, sh ? sh : name);
            if (fv == NULL) {
                if ((fv = json_object()) == NULL ||
                    json_object_set_new(values, sh ? sh : name, fv) != 0)
                    goto out;
            }
            size_t ol = (size_t)(eq - (a + nl + 1));
            char *own = strndup(a + nl + 1, ol);
            if (own == NULL)
                goto out;
            bool dup = json_object_get(fv, own) != NULL;
            int e =
                dup ? -1 : json_object_set_new(fv, own, json_string(eq + 1));
            free(own);
            if (e != 0) {
                rc = bad(err, errlen, ENT_EINVAL,
                         dup ? "\"%.80s\": own value given twice"
                             : "\"%.80s\": not valid text",
                         a);
                goto out;
            }
        }
    d = json_pack("{s:s,s:O,s:O}", "type", type ? type : "", "fields", fields,
                  "values", values);
    if (d == NULL)
        goto out;
    if (json_object_size(fields) == 0)
        json_object_del(d, "fields");
    if (json_object_size(values) == 0)
        json_object_del(d, "values");
    *doc = d;
    rc = ENT_OK;
out:
    json_decref(fields);
    json_decref(values);
    return rc;
}

/* ---- translation --------------------------------------------------------- */

const char *ent_fieldmap_shared_name(const ent_fieldmap *m, const char *own,
                                     size_t len) {
    for (size_t i = 0; m != NULL && i < m->nf; i++)
        if (strlen(m->f[i].own) == len && memcmp(m->f[i].own, own, len) == 0)
            return m->f[i].shared;
    return NULL;
}

const char *ent_fieldmap_own_name(const ent_fieldmap *m, const char *shared) {
    for (size_t i = 0; m != NULL && i < m->nf; i++)
        if (strcmp(m->f[i].shared, shared) == 0)
            return m->f[i].own;
    return NULL;
}

static const fm_vals *vals_of(const ent_fieldmap *m, const char *field) {
    for (size_t i = 0; m != NULL && field != NULL && i < m->nvals; i++)
        if (strcmp(m->vals[i].field, field) == 0)
            return &m->vals[i];
    return NULL;
}

const char *ent_fieldmap_shared_value(const ent_fieldmap *m,
                                      const char *shared_field, const char *own,
                                      size_t len) {
    const fm_vals *fv = vals_of(m, shared_field);
    for (size_t i = 0; fv != NULL && i < fv->n; i++)
        if (ent_ascii_caseeq(own, len, fv->v[i].own))
            return fv->v[i].shared;
    return NULL;
}

const char *ent_fieldmap_own_value(const ent_fieldmap *m,
                                   const char *shared_field, const char *shared,
                                   size_t len) {
    const fm_vals *fv = vals_of(m, shared_field);
    for (size_t i = 0; fv != NULL && i < fv->n; i++)
        if (ent_ascii_caseeq(shared, len, fv->v[i].shared))
            return fv->v[i].own;
    return NULL;
}

bool ent_fieldmap_has_values(const ent_fieldmap *m, const char *shared_field) {
    return vals_of(m, shared_field) != NULL;
}

void ent_fieldmap_values(const ent_fieldmap *m, const char *shared_field,
                         const char *const **own, const char *const **shared,
                         size_t *n) {
    const fm_vals *fv = vals_of(m, shared_field);
    *own = fv ? (const char *const *)fv->own : NULL;
    *shared = fv ? (const char *const *)fv->shared : NULL;
    *n = fv ? fv->n : 0;
}

json_t *ent_fieldmap_to_json(const ent_fieldmap *m) {
    json_t *d =
        json_pack("{s:s,s:{},s:{}}", "type", m->type, "fields", "values");
    json_t *f = json_object_get(d, "fields"), *v = json_object_get(d, "values");
    for (size_t i = 0; d != NULL && i < m->nf; i++)
        if (json_object_set_new(f, m->f[i].own, json_string(m->f[i].shared)) !=
            0)
            goto fail;
    for (size_t i = 0; d != NULL && i < m->nvals; i++) {
        json_t *o = json_object();
        if (o == NULL || json_object_set_new(v, m->vals[i].field, o) != 0)
            goto fail;
        for (size_t k = 0; k < m->vals[i].n; k++)
            if (json_object_set_new(o, m->vals[i].v[k].own,
                                    json_string(m->vals[i].v[k].shared)) != 0)
                goto fail;
    }
    return d;
fail:
    json_decref(d);
    return NULL;
}

json_t *ent_fieldmap_own_fields(const ent_fieldmap *m, const json_t *fields) {
    json_t *out = json_object(), *v;
    const char *k;
    json_object_foreach((json_t *)fields, k, v) {
        const char *own = ent_fieldmap_own_name(m, k);
        const char *s = json_string_value(v);
        const char *ov =
            s != NULL ? ent_fieldmap_own_value(m, k, s, strlen(s)) : NULL;
        if (out == NULL ||
            json_object_set_new(out, own != NULL ? own : k,
                                ov != NULL ? json_string(ov)
                                           : json_incref(v)) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* ---- storage ------------------------------------------------------------- */

static size_t fm_key(char *key, const char *type) {
    return (size_t)snprintf(key, sizeof(FM_PREFIX) + ENT_TPL_TYPE_MAX, "%s%s",
                            FM_PREFIX, type);
}

int ent_fieldmap_put(ent_txn *txn, const json_t *doc, char *err,
                     size_t errlen) {
    char key[sizeof(FM_PREFIX) + ENT_TPL_TYPE_MAX];
    ent_template *tpl = NULL;
    ent_fieldmap *m = NULL;
    json_t *c = NULL;
    char *text = NULL;
    const char *type = json_string_value(json_object_get(doc, "type"));
    int rc;
    if (type == NULL || !ent_template_type_valid(type))
        return bad(err, errlen, ENT_EINVAL,
                   "type: want an object type ([a-z][a-z0-9_]{0,31})");
    if ((rc = ent_template_get(txn, type, &tpl)) != ENT_OK) {
        if (rc == ENT_ENOENT)
            bad(err, errlen, rc, "no template of type %s", type);
        goto out;
    }
    if ((rc = ent_fieldmap_from_json(doc, tpl, txn, &m, err, errlen)) != ENT_OK)
        goto out;
    rc = ENT_ENOMEM;
    if ((c = ent_fieldmap_to_json(m)) == NULL ||
        (text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
        goto out;
    if (strlen(text) > ENT_FM_JSON_MAX) {
        rc = bad(err, errlen, ENT_ELIMIT, "field map %s: longer than %d bytes",
                 type, ENT_FM_JSON_MAX);
        goto out;
    }
    rc = ent_txn_put(txn, ENT_TBL_CONFIG, key, fm_key(key, type), text,
                     strlen(text), 0);
out:
    free(text);
    json_decref(c);
    ent_fieldmap_free(m);
    ent_template_free(tpl);
    return rc;
}

static int load(const void *val, size_t vlen, ent_fieldmap **out) {
    char err[ENT_FM_ERR_MAX];
    int rc = ent_fieldmap_parse(val, vlen, out, err, sizeof(err));
    return rc == ENT_ENOMEM ? rc : rc != ENT_OK ? ENT_ECORRUPT : ENT_OK;
}

int ent_fieldmap_get(ent_txn *txn, const char *type, ent_fieldmap **out) {
    char key[sizeof(FM_PREFIX) + ENT_TPL_TYPE_MAX];
    const void *val;
    size_t vlen;
    *out = NULL;
    if (type == NULL || !ent_template_type_valid(type))
        return ENT_ENOENT;
    int rc =
        ent_txn_get(txn, ENT_TBL_CONFIG, key, fm_key(key, type), &val, &vlen);
    return rc != ENT_OK ? rc : load(val, vlen, out);
}

int ent_fieldmap_del(ent_txn *txn, const char *type) {
    char key[sizeof(FM_PREFIX) + ENT_TPL_TYPE_MAX];
    if (type == NULL || !ent_template_type_valid(type))
        return ENT_ENOENT;
    return ent_txn_del(txn, ENT_TBL_CONFIG, key, fm_key(key, type));
}

static int list_cb(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    json_t *arr = data;
    ent_fieldmap *m = NULL;
    (void)key;
    (void)klen;
    int rc = load(val, vlen, &m);
    if (rc != ENT_OK)
        return rc;
    json_t *d = ent_fieldmap_to_json(m);
    ent_fieldmap_free(m);
    if (d == NULL || json_array_append_new(arr, d) != 0)
        return ENT_ENOMEM;
    return 0;
}

int ent_fieldmap_list(ent_txn *txn, json_t **out) {
    json_t *arr = json_array();
    *out = NULL;
    if (arr == NULL)
        return ENT_ENOMEM;
    int rc = ent_txn_scan(txn, ENT_TBL_CONFIG, FM_PREFIX, strlen(FM_PREFIX),
                          list_cb, arr);
    if (rc != ENT_OK) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return ENT_OK;
}
