/*
 * crm_map.c - mapping files (crm_map.h): parsing, binding to fields,
 * header matching, and the value transforms of import and export.
 *
 * A map is parsed into plain C (no JSON kept), so the per-row work is
 * string handling only. Every value a row gives is produced in the
 * typed-in syntax of spec/objects.md "Values" and parsed by the template
 * afterwards: this module transforms, the template decides.
 */
#include "node/crm/crm_map.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "protocol/cbor.h"

typedef struct kv {
    char *k, *v;
} kv;

typedef struct mcol {
    char *column;
    char *field;
    bool extid, custom, optional, empty_clear;
    int vis;  /* -1: the field's default, else ent_visibility */
    int decl; /* -1: no "type" key, else ent_vtype */
    bool has_date;
    ent_crm_date_fmt date;
    char decimal; /* '.' or ',' */
    char *cur_col;
    char def_cur[4];
    kv *vals;
    size_t nvals;
    kv *orgs;
    size_t norgs;
    /* bound */
    ent_vtype type;
    bool priv, is_custom;
    /* header */
    size_t pos, cur_pos;
    bool present, cur_present;
} mcol;

struct ent_crm_map {
    char file[256];
    char name[ENT_CRM_MAP_NAME_MAX + 1];
    char type[ENT_TPL_TYPE_MAX + 1];
    char source[ENT_CRM_SOURCE_MAX + 1];
    char sep;
    mcol *cols;
    size_t n;
    bool bound, headed;
    size_t hdr_ncols;
    const char **exp_hdr;
    size_t nexp;
};

static void say(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool ascii_ieq(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

/* True if s is text a map may hold: valid UTF-8, no control characters,
 * 1..max bytes. */
static bool text_ok(const char *s, size_t max) {
    size_t n = strlen(s);
    if (n == 0 || n > max || !ent_cbor_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

int ent_crm_extid_check(const char *s, size_t len, char *why, size_t whylen) {
    if (len > 0 && len <= ENT_CRM_EXTID_MAX && ent_text_valid(s, len))
        return ENT_OK;
    if (why != NULL && whylen > 0)
        snprintf(why, whylen,
                 len == 0 ? "the external id is empty"
                          : "the external id must be 1..%d bytes of "
                            "text without control characters",
                 ENT_CRM_EXTID_MAX);
    return ENT_EINVAL;
}

static void col_free(mcol *c) {
    free(c->column);
    free(c->field);
    free(c->cur_col);
    for (size_t i = 0; i < c->nvals; i++) {
        free(c->vals[i].k);
        free(c->vals[i].v);
    }
    free(c->vals);
    for (size_t i = 0; i < c->norgs; i++) {
        free(c->orgs[i].k);
        free(c->orgs[i].v);
    }
    free(c->orgs);
}

void ent_crm_map_free(ent_crm_map *m) {
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++)
        col_free(&m->cols[i]);
    free(m->cols);
    free(m->exp_hdr);
    free(m);
}

static const char *jstr(const json_t *j) {
    return json_is_string(j) ? json_string_value(j) : NULL;
}

/* Reads a {"text": "text"} table of at most ENT_CRM_MAP_VALUES_MAX
 * entries into *out. */
static int read_table(const json_t *t, kv **out, size_t *n, const char *what,
                      const char *where, char *err, size_t errlen) {
    const char *k;
    json_t *v;
    size_t i = 0;
    if (!json_is_object(t)) {
        say(err, errlen, "%s: \"%s\" must be an object of strings", where,
            what);
        return ENT_EINVAL;
    }
    if (json_object_size(t) > ENT_CRM_MAP_VALUES_MAX) {
        say(err, errlen, "%s: \"%s\" has more than %u entries", where, what,
            ENT_CRM_MAP_VALUES_MAX);
        return ENT_ETOOBIG;
    }
    *out = calloc(json_object_size(t) + 1, sizeof(kv));
    if (*out == NULL)
        return ENT_ENOMEM;
    json_object_foreach((json_t *)t, k, v) {
        const char *s = jstr(v);
        if (!text_ok(k, ENT_VALUE_TEXT_MAX) || s == NULL ||
            !text_ok(s, ENT_VALUE_TEXT_MAX)) {
            say(err, errlen,
                "%s: \"%s\": every key and value must be non-empty text "
                "without control characters",
                where, what);
            *n = i;
            return ENT_EINVAL;
        }
        (*out)[i].k = strdup(k);
        (*out)[i].v = strdup(s);
        i++;
        *n = i;
        if ((*out)[i - 1].k == NULL || (*out)[i - 1].v == NULL)
            return ENT_ENOMEM;
    }
    return ENT_OK;
}

static int parse_col(ent_crm_map *m, size_t idx, const json_t *j, char *err,
                     size_t errlen) {
    static const char *const keys[] = {"column",
                                       "field",
                                       "visibility",
                                       "external_id",
                                       "custom",
                                       "optional",
                                       "type",
                                       "date",
                                       "decimal",
                                       "currency_column",
                                       "default_currency",
                                       "values",
                                       "orgs",
                                       "empty",
                                       NULL};
    mcol *c = &m->cols[idx];
    char where[ENT_CRM_MAP_NAME_MAX + 64];
    const char *k, *s;
    json_t *v;
    int rc;
    snprintf(where, sizeof(where), "%s: columns[%zu]", m->file, idx);
    c->vis = -1;
    c->decl = -1;
    c->decimal = '.';
    if (!json_is_object(j)) {
        say(err, errlen, "%s: must be an object", where);
        return ENT_EINVAL;
    }
    json_object_foreach((json_t *)j, k, v) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k) != 0)
            i++;
        if (keys[i] == NULL) {
            say(err, errlen, "%s: unknown key \"%.64s\"", where, k);
            return ENT_EINVAL;
        }
    }
    s = jstr(json_object_get(j, "column"));
    if (s == NULL || !text_ok(s, ENT_CRM_MAP_NAME_MAX)) {
        say(err, errlen,
            "%s: \"column\" must be the column's header name (1..%u bytes of "
            "text)",
            where, ENT_CRM_MAP_NAME_MAX);
        return ENT_EINVAL;
    }
    if ((c->column = strdup(s)) == NULL)
        return ENT_ENOMEM;
    snprintf(where, sizeof(where), "%s: columns[%zu] (\"%s\")", m->file, idx,
             c->column);
    s = jstr(json_object_get(j, "field"));
    if (s == NULL || !ent_template_name_valid(s)) {
        say(err, errlen, "%s: \"field\" must be a field name ([a-z][a-z0-9_]*)",
            where);
        return ENT_EINVAL;
    }
    if ((c->field = strdup(s)) == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < idx; i++) {
        if (ascii_ieq(m->cols[i].column, c->column)) {
            say(err, errlen, "%s: column named twice (also columns[%zu])",
                where, i);
            return ENT_EINVAL;
        }
        if (strcmp(m->cols[i].field, c->field) == 0) {
            say(err, errlen, "%s: field %s filled twice (also columns[%zu])",
                where, c->field, i);
            return ENT_EINVAL;
        }
    }
#define BOOLKEY(name, dst)                                                     \
    do {                                                                       \
        json_t *b_ = json_object_get(j, name);                                 \
        if (b_ != NULL && !json_is_boolean(b_)) {                              \
            say(err, errlen, "%s: \"%s\" must be true or false", where, name); \
            return ENT_EINVAL;                                                 \
        }                                                                      \
        dst = json_is_true(b_);                                                \
    } while (0)
    BOOLKEY("external_id", c->extid);
    BOOLKEY("custom", c->custom);
    BOOLKEY("optional", c->optional);
#undef BOOLKEY
    if ((v = json_object_get(j, "visibility")) != NULL) {
        s = jstr(v);
        if (s && strcmp(s, "shared") == 0)
            c->vis = ENT_VIS_SHARED;
        else if (s && strcmp(s, "private") == 0)
            c->vis = ENT_VIS_PRIVATE;
        else {
            say(err, errlen,
                "%s: \"visibility\" must be \"shared\" or "
                "\"private\"",
                where);
            return ENT_EINVAL;
        }
    }
    if ((v = json_object_get(j, "type")) != NULL) {
        ent_vtype t;
        s = jstr(v);
        if (s == NULL || ent_vtype_parse(s, &t) != ENT_OK) {
            say(err, errlen,
                "%s: unknown type \"%.32s\" (text, integer, money, date, "
                "enum or org)",
                where, s ? s : "");
            return ENT_EINVAL;
        }
        c->decl = (int)t;
    }
    if ((v = json_object_get(j, "date")) != NULL) {
        s = jstr(v);
        c->has_date = true;
        if (s && strcmp(s, "YYYY-MM-DD") == 0)
            c->date = ENT_CRM_DATE_ISO;
        else if (s && strcmp(s, "MM/DD/YYYY") == 0)
            c->date = ENT_CRM_DATE_MDY;
        else if (s && strcmp(s, "DD/MM/YYYY") == 0)
            c->date = ENT_CRM_DATE_DMY;
        else if (s && strcmp(s, "DD.MM.YYYY") == 0)
            c->date = ENT_CRM_DATE_DMY_DOT;
        else {
            say(err, errlen,
                "%s: unknown date format \"%.32s\" (YYYY-MM-DD, MM/DD/YYYY, "
                "DD/MM/YYYY or DD.MM.YYYY)",
                where, s ? s : "");
            return ENT_EINVAL;
        }
    }
    if ((v = json_object_get(j, "decimal")) != NULL) {
        s = jstr(v);
        if (s == NULL || (strcmp(s, ".") != 0 && strcmp(s, ",") != 0)) {
            say(err, errlen, "%s: \"decimal\" must be \".\" or \",\"", where);
            return ENT_EINVAL;
        }
        c->decimal = s[0];
    }
    if ((v = json_object_get(j, "currency_column")) != NULL) {
        s = jstr(v);
        if (s == NULL || !text_ok(s, ENT_CRM_MAP_NAME_MAX)) {
            say(err, errlen, "%s: \"currency_column\" must be a column name",
                where);
            return ENT_EINVAL;
        }
        if ((c->cur_col = strdup(s)) == NULL)
            return ENT_ENOMEM;
    }
    if ((v = json_object_get(j, "default_currency")) != NULL) {
        s = jstr(v);
        if (s == NULL || !ent_currency_known(s)) {
            say(err, errlen,
                "%s: \"default_currency\" must be a known ISO 4217 code in "
                "upper case",
                where);
            return ENT_EINVAL;
        }
        memcpy(c->def_cur, s, 4);
    }
    if ((v = json_object_get(j, "empty")) != NULL) {
        s = jstr(v);
        if (s && strcmp(s, "clear") == 0)
            c->empty_clear = true;
        else if (!s || strcmp(s, "ignore") != 0) {
            say(err, errlen, "%s: \"empty\" must be \"ignore\" or \"clear\"",
                where);
            return ENT_EINVAL;
        }
    }
    if ((v = json_object_get(j, "values")) != NULL &&
        (rc = read_table(v, &c->vals, &c->nvals, "values", where, err,
                         errlen)) != ENT_OK)
        return rc;
    if ((v = json_object_get(j, "orgs")) != NULL &&
        (rc = read_table(v, &c->orgs, &c->norgs, "orgs", where, err, errlen)) !=
            ENT_OK)
        return rc;
    if (c->extid) {
        if (c->vis == ENT_VIS_SHARED || c->custom) {
            say(err, errlen,
                "%s: the external id is private: no \"visibility\": "
                "\"shared\" or \"custom\"",
                where);
            return ENT_EINVAL;
        }
        if (c->optional || c->has_date || c->cur_col || c->nvals || c->norgs ||
            c->empty_clear || (c->decl >= 0 && c->decl != ENT_VT_TEXT)) {
            say(err, errlen,
                "%s: the external id column takes no transform (it is text)",
                where);
            return ENT_EINVAL;
        }
        c->vis = ENT_VIS_PRIVATE;
    }
    if (c->custom && c->vis == ENT_VIS_PRIVATE) {
        say(err, errlen,
            "%s: \"custom\" is for shared fields (a private field the "
            "template does not list needs no flag)",
            where);
        return ENT_EINVAL;
    }
    return ENT_OK;
}

int ent_crm_map_parse(ent_crm_map **out, const uint8_t *buf, size_t len,
                      const char *name, char *err, size_t errlen) {
    static const char *const keys[] = {
        "entente_map", "name", "type", "source", "separator", "columns", NULL};
    ent_crm_map *m = NULL;
    json_t *j = NULL, *cols, *v;
    json_error_t jerr;
    const char *k, *s;
    size_t nextid = 0;
    int rc = ENT_EINVAL;
    if (out == NULL || (buf == NULL && len > 0))
        return ENT_EINVAL;
    *out = NULL;
    if (name == NULL)
        name = "map";
    if (len > ENT_CRM_MAP_FILE_MAX) {
        say(err, errlen, "%s: mapping file larger than %u bytes", name,
            ENT_CRM_MAP_FILE_MAX);
        return ENT_ETOOBIG;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return ENT_ENOMEM;
    snprintf(m->file, sizeof(m->file), "%s", name);
    j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        say(err, errlen, "%s: line %d, column %d: not JSON: %s", m->file,
            jerr.line, jerr.column, jerr.text);
        goto out;
    }
    if (!json_is_object(j)) {
        say(err, errlen, "%s: a mapping file is a JSON object", m->file);
        goto out;
    }
    json_object_foreach(j, k, v) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k) != 0)
            i++;
        if (keys[i] == NULL) {
            say(err, errlen, "%s: unknown key \"%.64s\"", m->file, k);
            goto out;
        }
    }
    v = json_object_get(j, "entente_map");
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        say(err, errlen,
            "%s: \"entente_map\" must be 1 (the version of the format)",
            m->file);
        goto out;
    }
    s = jstr(json_object_get(j, "type"));
    if (s == NULL || !ent_template_type_valid(s)) {
        say(err, errlen,
            "%s: \"type\" must be an object type ([a-z][a-z0-9_]{0,31})",
            m->file);
        goto out;
    }
    snprintf(m->type, sizeof(m->type), "%s", s);
    if ((v = json_object_get(j, "name")) != NULL) {
        s = jstr(v);
        if (s == NULL || !text_ok(s, ENT_CRM_MAP_NAME_MAX)) {
            say(err, errlen, "%s: \"name\" must be text", m->file);
            goto out;
        }
        snprintf(m->name, sizeof(m->name), "%s", s);
    }
    if ((v = json_object_get(j, "source")) != NULL) {
        s = jstr(v);
        if (s == NULL || strlen(s) > ENT_CRM_SOURCE_MAX ||
            !ent_template_name_valid(s)) {
            say(err, errlen,
                "%s: \"source\" must be a name ([a-z][a-z0-9_]{0,31})",
                m->file);
            goto out;
        }
        snprintf(m->source, sizeof(m->source), "%s", s);
    }
    if ((v = json_object_get(j, "separator")) != NULL) {
        s = jstr(v);
        if (s == NULL ||
            (strcmp(s, ",") && strcmp(s, ";") && strcmp(s, "\t"))) {
            say(err, errlen,
                "%s: \"separator\" must be \",\", \";\" or \"\\t\"", m->file);
            goto out;
        }
        m->sep = s[0];
    }
    cols = json_object_get(j, "columns");
    if (!json_is_array(cols) || json_array_size(cols) == 0) {
        say(err, errlen, "%s: \"columns\" must be a non-empty array", m->file);
        goto out;
    }
    if (json_array_size(cols) > ENT_CRM_MAP_COLUMNS_MAX) {
        say(err, errlen, "%s: more than %u columns", m->file,
            ENT_CRM_MAP_COLUMNS_MAX);
        rc = ENT_ETOOBIG;
        goto out;
    }
    m->cols = calloc(json_array_size(cols), sizeof(mcol));
    if (m->cols == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < json_array_size(cols); i++) {
        m->n = i + 1;
        rc = parse_col(m, i, json_array_get(cols, i), err, errlen);
        if (rc != ENT_OK)
            goto out;
        if (m->cols[i].extid)
            nextid++;
    }
    rc = ENT_EINVAL;
    if (nextid > 1) {
        say(err, errlen, "%s: more than one column is \"external_id\"",
            m->file);
        goto out;
    }
    if (nextid == 1 && m->source[0] == '\0') {
        say(err, errlen,
            "%s: a map with an external id needs a \"source\" (the "
            "namespace of its ids, e.g. \"salesforce\")",
            m->file);
        goto out;
    }
    for (size_t i = 0; i < m->n; i++) {
        const char *cc = m->cols[i].cur_col;
        for (size_t k2 = 0; cc && k2 < m->n; k2++)
            if (ascii_ieq(cc, m->cols[k2].column)) {
                say(err, errlen,
                    "%s: columns[%zu] (\"%s\"): its currency column is also "
                    "mapped as columns[%zu]",
                    m->file, i, m->cols[i].column, k2);
                goto out;
            }
    }
    rc = ENT_OK;
    *out = m;
    m = NULL;
out:
    json_decref(j);
    ent_crm_map_free(m);
    return rc;
}

int ent_crm_map_load(ent_crm_map **out, const char *path, char *err,
                     size_t errlen) {
    FILE *f;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;
    if (out == NULL || path == NULL)
        return ENT_EINVAL;
    *out = NULL;
    f = fopen(path, "rb");
    if (f == NULL) {
        rc = ent_err_from_errno(errno);
        say(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    buf = malloc(ENT_CRM_MAP_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        return ENT_ENOMEM;
    }
    len = fread(buf, 1, ENT_CRM_MAP_FILE_MAX + 1, f);
    if (ferror(f)) {
        say(err, errlen, "%s: read error", path);
        rc = ENT_EIO;
    } else {
        rc = ent_crm_map_parse(out, buf, len, path, err, errlen);
    }
    fclose(f);
    free(buf);
    return rc;
}

const char *ent_crm_map_type(const ent_crm_map *m) {
    return m->type;
}
const char *ent_crm_map_source(const ent_crm_map *m) {
    return m->source;
}
const char *ent_crm_map_name(const ent_crm_map *m) {
    return m->name;
}
char ent_crm_map_sep(const ent_crm_map *m) {
    return m->sep;
}
size_t ent_crm_map_ncols(const ent_crm_map *m) {
    return m->hdr_ncols;
}

const char *ent_crm_map_extid_field(const ent_crm_map *m) {
    for (size_t i = 0; i < m->n; i++)
        if (m->cols[i].extid)
            return m->cols[i].field;
    return NULL;
}

/* The checks of one column against its field's type, shared by both binds. */
static int bind_col(ent_crm_map *m, size_t i, ent_vtype type, bool priv,
                    char *err, size_t errlen) {
    mcol *c = &m->cols[i];
    const char *tn = ent_vtype_name(type);
    if (c->decl >= 0 && (ent_vtype)c->decl != type) {
        say(err, errlen,
            "%s: columns[%zu] (\"%s\"): field %s is of type %s, not %s",
            m->file, i, c->column, c->field, tn,
            ent_vtype_name((ent_vtype)c->decl));
        return ENT_ESCHEMA;
    }
    if ((c->has_date && type != ENT_VT_DATE) ||
        ((c->cur_col || c->def_cur[0]) && type != ENT_VT_MONEY) ||
        (c->norgs && type != ENT_VT_ORG) ||
        (c->nvals && type != ENT_VT_ENUM && type != ENT_VT_TEXT) ||
        (c->decimal != '.' && type != ENT_VT_MONEY && type != ENT_VT_INT)) {
        say(err, errlen,
            "%s: columns[%zu] (\"%s\"): a transform that does not fit field "
            "%s of type %s",
            m->file, i, c->column, c->field, tn);
        return ENT_ESCHEMA;
    }
    if (c->extid && type != ENT_VT_TEXT) {
        say(err, errlen,
            "%s: columns[%zu] (\"%s\"): the external id fills a text field, "
            "%s is %s",
            m->file, i, c->column, c->field, tn);
        return ENT_ESCHEMA;
    }
    c->type = type;
    c->priv = priv;
    return ENT_OK;
}

static const char *kv_find(const kv *t, size_t n, const char *k);

int ent_crm_map_apply_fieldmap(ent_crm_map *m, const ent_fieldmap *fm,
                               char *err, size_t errlen) {
    if (m == NULL || m->bound)
        return ENT_EINVAL;
    if (fm == NULL)
        return ENT_OK;
    if (strcmp(ent_fieldmap_type(fm), m->type) != 0) {
        say(err, errlen, "%s: the field map is for type %s, not %s", m->file,
            ent_fieldmap_type(fm), m->type);
        return ENT_EINVAL;
    }
    for (size_t i = 0; i < m->n; i++) {
        mcol *c = &m->cols[i];
        const char *sh = ent_fieldmap_shared_name(fm, c->field,
                                                  strlen(c->field));
        if (sh != NULL) {
            char *f = strdup(sh);
            if (f == NULL)
                return ENT_ENOMEM;
            free(c->field);
            c->field = f;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(m->cols[k].field, c->field) == 0) {
                say(err, errlen,
                    "%s: columns[%zu] (\"%s\"): field %s filled twice (also "
                    "columns[%zu], by the org's own name)",
                    m->file, i, c->column, c->field, k);
                return ENT_EINVAL;
            }
        for (size_t k = 0; k < c->nvals; k++) {
            const char *v = ent_fieldmap_shared_value(fm, c->field, c->vals[k].v,
                                                      strlen(c->vals[k].v));
            char *t = v != NULL ? strdup(v) : NULL;
            if (v != NULL && t == NULL)
                return ENT_ENOMEM;
            if (t != NULL) {
                free(c->vals[k].v);
                c->vals[k].v = t;
            }
        }
        const char *const *own, *const *shv;
        size_t n;
        ent_fieldmap_values(fm, c->field, &own, &shv, &n);
        for (size_t k = 0; k < n; k++) {
            if (kv_find(c->vals, c->nvals, own[k]) != NULL)
                continue; /* the CRM's own entry for it wins */
            if (c->nvals >= ENT_CRM_MAP_VALUES_MAX) {
                say(err, errlen,
                    "%s: columns[%zu] (\"%s\"): more than %u values with "
                    "the org's own values of %s",
                    m->file, i, c->column, ENT_CRM_MAP_VALUES_MAX, c->field);
                return ENT_EINVAL;
            }
            kv *nv = realloc(c->vals, (c->nvals + 1) * sizeof(*nv));
            if (nv == NULL)
                return ENT_ENOMEM;
            c->vals = nv;
            nv[c->nvals].k = strdup(own[k]);
            nv[c->nvals].v = strdup(shv[k]);
            if (nv[c->nvals].k == NULL || nv[c->nvals].v == NULL) {
                free(nv[c->nvals].k);
                free(nv[c->nvals].v);
                return ENT_ENOMEM;
            }
            c->nvals++;
        }
    }
    return ENT_OK;
}

int ent_crm_map_bind(ent_crm_map *m, const ent_template *tpl, char *err,
                     size_t errlen) {
    if (m == NULL || tpl == NULL)
        return ENT_EINVAL;
    if (strcmp(m->type, tpl->type) != 0) {
        say(err, errlen, "%s: the map is for type %s, not %s", m->file, m->type,
            tpl->type);
        return ENT_ESCHEMA;
    }
    for (size_t i = 0; i < m->n; i++) {
        mcol *c = &m->cols[i];
        const ent_tpl_field *f = ent_template_field(tpl, c->field);
        const ent_strlist *allowed;
        bool priv;
        int rc;
        c->is_custom = false;
        if (f == NULL && strcmp(c->field, ENT_TPL_STAGE_FIELD) == 0 &&
            tpl->stages.n > 0) {
            rc = bind_col(m, i, ENT_VT_ENUM, c->vis == ENT_VIS_PRIVATE, err,
                          errlen);
            if (rc != ENT_OK)
                return rc;
            continue;
        }
        if (f == NULL) {
            const char *near = ent_template_suggest(tpl, c->field);
            if (tpl->strict || (!c->custom && c->vis != ENT_VIS_PRIVATE)) {
                say(err, errlen,
                    "%s: columns[%zu] (\"%s\"): unknown field %s in template "
                    "%s%s%s%s",
                    m->file, i, c->column, c->field, tpl->type,
                    near ? " (did you mean " : "", near ? near : "",
                    near ? "?)"
                    : tpl->strict
                        ? ""
                        : "; a field of your own needs \"custom\": true "
                          "(shared) or \"visibility\": \"private\"");
                return ENT_ESCHEMA;
            }
            c->is_custom = c->vis != ENT_VIS_PRIVATE;
            rc = bind_col(m, i, ENT_VT_TEXT, c->vis == ENT_VIS_PRIVATE, err,
                          errlen);
            if (rc != ENT_OK)
                return rc;
            continue;
        }
        if (f->derived != NULL) {
            say(err, errlen,
                "%s: columns[%zu] (\"%s\"): field %s of template %s is "
                "derived (computed when read, never stored): nothing can be "
                "imported into it",
                m->file, i, c->column, c->field, tpl->type);
            return ENT_ESCHEMA;
        }
        if (c->custom) {
            say(err, errlen,
                "%s: columns[%zu] (\"%s\"): field %s is listed by template "
                "%s: drop \"custom\"",
                m->file, i, c->column, c->field, tpl->type);
            return ENT_ESCHEMA;
        }
        if (c->vis == ENT_VIS_SHARED && f->visibility == ENT_VIS_PRIVATE) {
            say(err, errlen,
                "%s: columns[%zu] (\"%s\"): field %s is private in template "
                "%s; it cannot be shared",
                m->file, i, c->column, c->field, tpl->type);
            return ENT_ESCHEMA;
        }
        if (c->extid && f->visibility != ENT_VIS_PRIVATE) {
            say(err, errlen,
                "%s: columns[%zu] (\"%s\"): the external id is private, but "
                "template %s shares field %s; name a private field",
                m->file, i, c->column, tpl->type, c->field);
            return ENT_ESCHEMA;
        }
        priv = c->vis == ENT_VIS_PRIVATE || f->visibility == ENT_VIS_PRIVATE;
        rc = bind_col(m, i, f->type, priv, err, errlen);
        if (rc != ENT_OK)
            return rc;
        allowed = &f->values;
        if (strcmp(c->field, ENT_TPL_STAGE_FIELD) == 0 && tpl->stages.n > 0)
            allowed = &tpl->stages;
        for (size_t k = 0; k < c->nvals && allowed->n > 0; k++) {
            bool ok = false;
            for (size_t a = 0; a < allowed->n && !ok; a++)
                ok = ascii_ieq(c->vals[k].v, allowed->v[a]);
            if (!ok) {
                say(err, errlen,
                    "%s: columns[%zu] (\"%s\"): \"%s\" maps onto \"%s\", "
                    "which is not a value of field %s",
                    m->file, i, c->column, c->vals[k].k, c->vals[k].v,
                    c->field);
                return ENT_ESCHEMA;
            }
        }
    }
    m->bound = true;
    return ENT_OK;
}

int ent_crm_map_bind_fields(ent_crm_map *m, const ent_crm_field *fields,
                            size_t n, char *err, size_t errlen) {
    if (m == NULL || (fields == NULL && n > 0))
        return ENT_EINVAL;
    for (size_t i = 0; i < m->n; i++) {
        mcol *c = &m->cols[i];
        const ent_crm_field *f = NULL;
        int rc;
        for (size_t k = 0; k < n && f == NULL; k++)
            if (strcmp(fields[k].name, c->field) == 0)
                f = &fields[k];
        if (f == NULL || c->custom) {
            say(err, errlen,
                "%s: columns[%zu] (\"%s\"): unknown field %s of "
                "%s",
                m->file, i, c->column, c->field, m->type);
            return ENT_ESCHEMA;
        }
        if (c->vis == ENT_VIS_SHARED && f->visibility == ENT_VIS_PRIVATE) {
            say(err, errlen,
                "%s: columns[%zu] (\"%s\"): field %s is private; it cannot "
                "be shared",
                m->file, i, c->column, c->field);
            return ENT_ESCHEMA;
        }
        rc = bind_col(m, i, f->type,
                      c->vis == ENT_VIS_PRIVATE ||
                          f->visibility == ENT_VIS_PRIVATE,
                      err, errlen);
        if (rc != ENT_OK)
            return rc;
    }
    m->bound = true;
    return ENT_OK;
}

/* Header cell s (len bytes) names column name: exactly, or ignoring ASCII
 * case and surrounding spaces. */
static bool hdr_match(const char *s, size_t len, const char *name) {
    size_t nl = strlen(name);
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len != nl)
        return false;
    for (size_t i = 0; i < len; i++)
        if (tolower((unsigned char)s[i]) != tolower((unsigned char)name[i]))
            return false;
    return true;
}

/* Finds name in hdr: *pos, or ENT_ENOENT; a second match: ENT_ECONFLICT. */
static int hdr_find(const ent_csv_row *hdr, const char *name, size_t *pos) {
    size_t found = (size_t)-1;
    for (size_t k = 0; k < hdr->ncols; k++) {
        if (!hdr_match(hdr->cells[k], hdr->lens[k], name))
            continue;
        if (found != (size_t)-1)
            return ENT_ECONFLICT;
        found = k;
    }
    if (found == (size_t)-1)
        return ENT_ENOENT;
    *pos = found;
    return ENT_OK;
}

int ent_crm_map_header(ent_crm_map *m, const ent_csv_row *hdr, const char *file,
                       char *err, size_t errlen) {
    if (m == NULL || hdr == NULL || !m->bound)
        return ENT_EINVAL;
    if (file == NULL)
        file = "-";
    free(m->exp_hdr);
    m->exp_hdr = NULL;
    for (size_t i = 0; i < m->n; i++) {
        mcol *c = &m->cols[i];
        int rc = hdr_find(hdr, c->column, &c->pos);
        c->present = rc == ENT_OK;
        if (rc == ENT_ECONFLICT) {
            say(err, errlen,
                "%s: line %lu: the header names column \"%s\" twice", file,
                hdr->line, c->column);
            return ENT_ESCHEMA;
        }
        if (rc == ENT_ENOENT && (!c->optional || c->extid)) {
            say(err, errlen,
                "%s: line %lu: no column \"%s\" in the header (the map %s "
                "needs it for field %s)",
                file, hdr->line, c->column, m->file, c->field);
            return ENT_ESCHEMA;
        }
        c->cur_present = false;
        if (c->cur_col != NULL) {
            rc = hdr_find(hdr, c->cur_col, &c->cur_pos);
            if (rc == ENT_ECONFLICT) {
                say(err, errlen,
                    "%s: line %lu: the header names column \"%s\" twice", file,
                    hdr->line, c->cur_col);
                return ENT_ESCHEMA;
            }
            c->cur_present = rc == ENT_OK;
        }
    }
    m->hdr_ncols = hdr->ncols;
    m->headed = true;
    return ENT_OK;
}

void ent_crm_values_clear(ent_crm_values *v) {
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n; i++)
        free(v->v[i].text);
    free(v->v);
    memset(v, 0, sizeof(*v));
}

/* ------------------------------------------------------- value transforms */

static int read_num(const char **p, int maxd, int *out) {
    int n = 0, d = 0;
    while (isdigit((unsigned char)**p) && d < maxd) {
        n = n * 10 + (**p - '0');
        (*p)++;
        d++;
    }
    if (d == 0 || isdigit((unsigned char)**p))
        return ENT_EINVAL;
    *out = n;
    return ENT_OK;
}

int ent_crm_parse_date(const char *s, ent_crm_date_fmt fmt, int32_t *days) {
    int y = 0, mo = 0, d = 0;
    const char *p = s;
    char sep = fmt == ENT_CRM_DATE_DMY_DOT ? '.' : '/';
    while (*p == ' ' || *p == '\t')
        p++;
    if (fmt == ENT_CRM_DATE_ISO) {
        if (read_num(&p, 4, &y) || p - s < 4 || *p++ != '-' ||
            read_num(&p, 2, &mo) || *p++ != '-' || read_num(&p, 2, &d))
            return ENT_EINVAL;
        /* a date-time: its date part */
        if (*p == 'T' || *p == ' ')
            p += strlen(p);
    } else {
        int a, b;
        if (read_num(&p, 2, &a) || *p++ != sep || read_num(&p, 2, &b) ||
            *p++ != sep || read_num(&p, 4, &y))
            return ENT_EINVAL;
        if (fmt == ENT_CRM_DATE_MDY) {
            mo = a;
            d = b;
        } else {
            d = a;
            mo = b;
        }
        /* a date-time: its date part ("03/31/2026 5:00 PM") */
        if (*p == ' ')
            p += strlen(p);
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0' || y < 1000)
        return ENT_EINVAL;
    return ent_date_from_ymd(y, mo, d, days);
}

/*
 * An amount or integer cell into the plain syntax: optional '-', digits,
 * then for money '.' and the fraction without trailing zeros. Thousands
 * separators (',' or '.', whichever is not the decimal mark, apostrophes
 * and spaces) go, but only between digits.
 */
static int norm_number(const char *s, char dec, bool frac_ok, char *out,
                       size_t cap) {
    size_t o = 0, nd = 0;
    char thou = dec == '.' ? ',' : '.';
    bool neg = false, seen_dec = false;
    size_t dot = 0;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '-') {
        neg = true;
        s++;
    }
    if (neg)
        out[o++] = '-';
    for (; *s; s++) {
        char ch = *s;
        if (o + 2 >= cap)
            return ENT_ETOOBIG;
        if (isdigit((unsigned char)ch)) {
            out[o++] = ch;
            nd++;
        } else if (ch == dec && frac_ok && !seen_dec && nd > 0 &&
                   isdigit((unsigned char)s[1])) {
            seen_dec = true;
            dot = o;
            out[o++] = '.';
        } else if ((ch == thou || ch == '\'' || ch == ' ') && !seen_dec &&
                   nd > 0 && isdigit((unsigned char)s[1])) {
            continue;
        } else {
            break;
        }
    }
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s != '\0' || nd == 0)
        return ENT_EINVAL;
    out[o] = '\0';
    if (seen_dec) {
        while (o > dot + 1 && out[o - 1] == '0')
            out[--o] = '\0';
        if (o == dot + 1)
            out[dot] = '\0';
    }
    return ENT_OK;
}

/* An amount cell with a currency code before or after it, separated by
 * spaces ("1200.00 EUR", "eur 1200"): the amount into amt, the code (upper
 * case) into code; false when the cell has no such code. */
static bool split_code(const char *s, char *amt, size_t cap, char code[4]) {
    size_t n = strlen(s), b = 0, e = n;
    while (b < e && (s[b] == ' ' || s[b] == '\t'))
        b++;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
        e--;
    if (e - b < 5 || e - b >= cap)
        return false;
    const char *p = NULL;
    size_t ab = b, ae = e;
    if (isalpha((unsigned char)s[e - 1]) && isalpha((unsigned char)s[e - 2]) &&
        isalpha((unsigned char)s[e - 3]) &&
        (s[e - 4] == ' ' || s[e - 4] == '\t')) {
        p = s + e - 3;
        ae = e - 4;
    } else if (isalpha((unsigned char)s[b]) &&
               isalpha((unsigned char)s[b + 1]) &&
               isalpha((unsigned char)s[b + 2]) &&
               (s[b + 3] == ' ' || s[b + 3] == '\t')) {
        p = s + b;
        ab = b + 4;
    }
    if (p == NULL)
        return false;
    for (int i = 0; i < 3; i++)
        code[i] = (char)toupper((unsigned char)p[i]);
    code[3] = '\0';
    memcpy(amt, s + ab, ae - ab);
    amt[ae - ab] = '\0';
    return true;
}

static const char *kv_find(const kv *t, size_t n, const char *k) {
    for (size_t i = 0; i < n; i++)
        if (ascii_ieq(t[i].k, k))
            return t[i].v;
    return NULL;
}

static const char *kv_rfind(const kv *t, size_t n, const char *v) {
    for (size_t i = 0; i < n; i++)
        if (ascii_ieq(t[i].v, v))
            return t[i].k;
    return NULL;
}

static int push(ent_crm_values *out, const mcol *c, unsigned long column,
                const char *text) {
    ent_crm_value *v;
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 16;
        v = realloc(out->v, cap * sizeof(*v));
        if (v == NULL)
            return ENT_ENOMEM;
        out->v = v;
        out->cap = cap;
    }
    v = &out->v[out->n];
    v->text = strdup(text);
    if (v->text == NULL)
        return ENT_ENOMEM;
    v->field = c->field;
    v->private_ = c->priv;
    v->custom = c->is_custom;
    v->column = column;
    out->n++;
    return ENT_OK;
}

/* Text: line breaks (CRLF, LF, CR) become one space each. */
static int text_cell(const char *s, size_t len, char **out) {
    char *t = malloc(len + 1);
    size_t o = 0;
    if (t == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\r' || s[i] == '\n') {
            if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
                i++;
            t[o++] = ' ';
        } else {
            t[o++] = s[i];
        }
    }
    t[o] = '\0';
    *out = t;
    return ENT_OK;
}

/* One cell of column c (CSV column col) into out; *why on a bad value. */
static int cell_value(const ent_crm_map *m, const mcol *c,
                      const ent_csv_row *row, const ent_crm_row_opts *opts,
                      ent_crm_values *out, char *why, size_t whylen) {
    const char *s = row->cells[c->pos];
    unsigned long col = (unsigned long)c->pos + 1;
    char buf[128];
    char *t = NULL;
    const char *val = NULL;
    int rc = ENT_OK;
    (void)m;
    if (row->lens[c->pos] == 0)
        return c->empty_clear ? push(out, c, col, "") : ENT_OK;
    switch (c->type) {
    case ENT_VT_DATE: {
        int32_t days;
        int y, mo, d;
        if (ent_crm_parse_date(s, c->has_date ? c->date : ENT_CRM_DATE_ISO,
                               &days) != ENT_OK ||
            ent_date_to_ymd(days, &y, &mo, &d) != ENT_OK) {
            static const char *const fmts[] = {"YYYY-MM-DD", "MM/DD/YYYY",
                                               "DD/MM/YYYY", "DD.MM.YYYY"};
            snprintf(why, whylen, "\"%.64s\" is not a date in the format %s", s,
                     fmts[c->has_date ? c->date : 0]);
            return ENT_EINVAL;
        }
        snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, mo, d);
        val = buf;
        break;
    }
    case ENT_VT_MONEY:
    case ENT_VT_INT: {
        char num[96], amt[128], ccode[4] = "";
        const char *code = c->def_cur[0] ? c->def_cur : NULL;
        const char *src = s;
        char cbuf[4];
        /* "1200.00 EUR" or "EUR 1200.00": the amount names its currency */
        if (c->type == ENT_VT_MONEY && split_code(s, amt, sizeof(amt), ccode)) {
            if (!ent_currency_known(ccode)) {
                snprintf(why, whylen, "\"%.64s\": %s is not a currency code", s,
                         ccode);
                return ENT_EINVAL;
            }
            src = amt;
            code = ccode;
        }
        rc = norm_number(src, c->decimal, c->type == ENT_VT_MONEY, num,
                         sizeof(num));
        if (rc != ENT_OK) {
            snprintf(why, whylen, "\"%.64s\" is not %s", s,
                     c->type == ENT_VT_MONEY ? "an amount" : "an integer");
            return ENT_EINVAL;
        }
        if (c->type == ENT_VT_MONEY && c->cur_present &&
            row->lens[c->cur_pos] > 0) {
            const char *cs = row->cells[c->cur_pos];
            size_t cl = row->lens[c->cur_pos];
            while (cl > 0 && (*cs == ' ' || *cs == '\t')) {
                cs++;
                cl--;
            }
            while (cl > 0 && (cs[cl - 1] == ' ' || cs[cl - 1] == '\t'))
                cl--;
            for (size_t i = 0; i < cl && i < 3; i++)
                cbuf[i] = (char)toupper((unsigned char)cs[i]);
            cbuf[cl < 3 ? cl : 3] = '\0';
            if (cl != 3 || !ent_currency_known(cbuf)) {
                snprintf(why, whylen,
                         "\"%.64s\" in column %lu (%s) is not a currency code",
                         row->cells[c->cur_pos], (unsigned long)c->cur_pos + 1,
                         c->cur_col);
                return ENT_EINVAL;
            }
            if (ccode[0] && strcmp(ccode, cbuf) != 0) {
                snprintf(
                    why, whylen, "\"%.64s\" is in %s, column %lu (%s) says %s",
                    s, ccode, (unsigned long)c->cur_pos + 1, c->cur_col, cbuf);
                return ENT_EINVAL;
            }
            code = cbuf;
        }
        if (code != NULL)
            snprintf(buf, sizeof(buf), "%s %s", num, code);
        else
            snprintf(buf, sizeof(buf), "%s", num);
        val = buf;
        break;
    }
    case ENT_VT_ENUM:
        val = kv_find(c->vals, c->nvals, s);
        if (val == NULL) {
            rc = text_cell(s, row->lens[c->pos], &t);
            val = t;
        }
        break;
    case ENT_VT_ORG: {
        char id[ENT_ORG_ID_LEN + 1];
        val = kv_find(c->orgs, c->norgs, s);
        if (val == NULL && opts && opts->org_lookup &&
            opts->org_lookup(opts->org_lookup_data, s, id) == ENT_OK) {
            id[ENT_ORG_ID_LEN] = '\0';
            snprintf(buf, sizeof(buf), "%s", id);
            val = buf;
        }
        if (val == NULL) {
            rc = text_cell(s, row->lens[c->pos], &t);
            val = t;
        }
        break;
    }
    default:
        val = kv_find(c->vals, c->nvals, s);
        if (val == NULL) {
            rc = text_cell(s, row->lens[c->pos], &t);
            val = t;
        }
        break;
    }
    if (rc == ENT_OK)
        rc = push(out, c, col, val);
    free(t);
    return rc;
}

int ent_crm_map_row(const ent_crm_map *m, const ent_csv_row *row,
                    const char *file, const ent_crm_row_opts *opts,
                    ent_crm_values *out, char *err, size_t errlen) {
    char why[ENT_CRM_ERR_MAX];
    int rc = ENT_OK;
    if (m == NULL || row == NULL || out == NULL || !m->headed)
        return ENT_EINVAL;
    if (file == NULL)
        file = "-";
    ent_crm_values_clear(out);
    if (row->ncols != m->hdr_ncols) {
        say(err, errlen,
            "%s: line %lu: %zu cells where the header has %zu (a row cut "
            "short, or a separator too many?)",
            file, row->line, row->ncols, m->hdr_ncols);
        return ENT_EINVAL;
    }
    for (size_t i = 0; i < m->n && rc == ENT_OK; i++) {
        const mcol *c = &m->cols[i];
        if (!c->present)
            continue;
        if (c->extid) {
            const char *s = row->cells[c->pos];
            size_t l = row->lens[c->pos];
            if (ent_crm_extid_check(s, l, why, sizeof(why)) != ENT_OK) {
                rc = ENT_EINVAL;
            } else {
                memcpy(out->extid, s, l);
                out->extid[l] = '\0';
                rc = push(out, c, (unsigned long)c->pos + 1, out->extid);
            }
        } else {
            rc = cell_value(m, c, row, opts, out, why, sizeof(why));
        }
        if (rc == ENT_EINVAL)
            say(err, errlen, "%s: line %lu, column %zu (%s): %s", file,
                row->line, c->pos + 1, c->column, why);
    }
    if (rc != ENT_OK)
        ent_crm_values_clear(out);
    return rc;
}

/* ----------------------------------------------------------------- export */

const char *const *ent_crm_map_export_header(const ent_crm_map *m, size_t *n) {
    ent_crm_map *w = (ent_crm_map *)m;
    if (w->exp_hdr == NULL) {
        size_t k = 0;
        w->exp_hdr = calloc(2 * m->n + 1, sizeof(char *));
        if (w->exp_hdr == NULL) {
            *n = 0;
            return NULL;
        }
        for (size_t i = 0; i < m->n; i++) {
            w->exp_hdr[k++] = m->cols[i].column;
            if (m->cols[i].cur_col != NULL) {
                bool dup = false;
                for (size_t j = 0; j < k; j++)
                    dup |= ascii_ieq(w->exp_hdr[j], m->cols[i].cur_col);
                if (!dup)
                    w->exp_hdr[k++] = m->cols[i].cur_col;
            }
        }
        w->nexp = k;
    }
    *n = w->nexp;
    return w->exp_hdr;
}

void ent_crm_cells_free(char **cells, size_t n) {
    if (cells == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(cells[i]);
    free(cells);
}

/* The cell of value v (JSON form) in column c; *cur the currency code of
 * a money value (else untouched). */
static int export_cell(const mcol *c, const json_t *v, char **out,
                       char cur[4]) {
    char buf[128];
    const char *s = NULL;
    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        s = "";
    } else if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        s = buf;
    } else if (json_is_object(v)) {
        /* money: {"amount","currency","minor"} */
        const char *a = jstr(json_object_get(v, "amount"));
        const char *code = jstr(json_object_get(v, "currency"));
        if (a == NULL || code == NULL || strlen(code) != 3)
            return ENT_EINVAL;
        snprintf(buf, sizeof(buf), "%s", a);
        if (c->decimal != '.') {
            char *dot = strchr(buf, '.');
            if (dot)
                *dot = c->decimal;
        }
        if (c->cur_col != NULL)
            memcpy(cur, code, 4);
        else if (!c->def_cur[0] || strcmp(code, c->def_cur) != 0) {
            /* no currency column and another currency: keep the code */
            size_t l = strlen(buf);
            snprintf(buf + l, sizeof(buf) - l, " %s", code);
        }
        s = buf;
    } else if (json_is_string(v)) {
        s = json_string_value(v);
        if (c->type == ENT_VT_DATE && c->has_date &&
            c->date != ENT_CRM_DATE_ISO) {
            int y, mo, d;
            if (sscanf(s, "%4d-%2d-%2d", &y, &mo, &d) == 3) {
                if (c->date == ENT_CRM_DATE_MDY)
                    snprintf(buf, sizeof(buf), "%02d/%02d/%04d", mo, d, y);
                else
                    snprintf(buf, sizeof(buf),
                             c->date == ENT_CRM_DATE_DMY ? "%02d/%02d/%04d"
                                                         : "%02d.%02d.%04d",
                             d, mo, y);
                s = buf;
            }
        } else if (c->type == ENT_VT_ORG && c->norgs) {
            const char *k = kv_rfind(c->orgs, c->norgs, s);
            s = k ? k : s;
        } else if (c->nvals) {
            const char *k = kv_rfind(c->vals, c->nvals, s);
            s = k ? k : s;
        }
    } else {
        return ENT_EINVAL;
    }
    *out = strdup(s);
    return *out ? ENT_OK : ENT_ENOMEM;
}

int ent_crm_map_export_row(const ent_crm_map *m, const json_t *shared,
                           const json_t *private_, const char *extid,
                           bool hide_private, char ***cells, size_t *n) {
    size_t nh, k = 0;
    const char *const *hdr;
    char **out;
    int rc = ENT_OK;
    if (m == NULL || cells == NULL || n == NULL || !m->bound)
        return ENT_EINVAL;
    hdr = ent_crm_map_export_header(m, &nh);
    if (hdr == NULL)
        return ENT_ENOMEM;
    out = calloc(nh + 1, sizeof(char *));
    if (out == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < m->n && rc == ENT_OK; i++) {
        const mcol *c = &m->cols[i];
        const json_t *v = NULL;
        char cur[4] = "";
        if (c->extid && extid != NULL)
            rc = (out[k] = strdup(extid)) ? ENT_OK : ENT_ENOMEM;
        else {
            if (!c->priv)
                v = shared ? json_object_get(shared, c->field) : NULL;
            else if (!hide_private && private_ != NULL)
                v = json_object_get(private_, c->field);
            rc = export_cell(c, v, &out[k], cur);
        }
        k++;
        if (rc == ENT_OK && c->cur_col != NULL) {
            /* the currency column, unless an earlier column wrote it */
            size_t at = k;
            for (size_t j = 0; j < k; j++)
                if (ascii_ieq(hdr[j], c->cur_col))
                    at = j;
            if (at == k) {
                rc = (out[k] = strdup(cur)) ? ENT_OK : ENT_ENOMEM;
                k++;
            } else if (cur[0] && out[at] != NULL && out[at][0] == '\0') {
                free(out[at]);
                rc = (out[at] = strdup(cur)) ? ENT_OK : ENT_ENOMEM;
            }
        }
    }
    if (rc != ENT_OK) {
        ent_crm_cells_free(out, nh);
        return rc;
    }
    *cells = out;
    *n = nh;
    return ENT_OK;
}
