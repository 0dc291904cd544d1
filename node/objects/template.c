/*
 * template.c - each org's own object templates (fields, types, visibility,
 * stages, defaults, strictness) and configuration tables: the built-in
 * templates, their JSON form, validation, storage in the templates table,
 * and resolving a user's `--set`/`--private` input into typed values.
 * See template.h and spec/objects.md.
 */
#include "node/objects/template.h"
#include "node/work/rules.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/err.h"

/* Keys in the "config" table (spec/objects.md, "Configuration tables"). */
#define CONFIG_LIST_PREFIX "list/"
#define CONFIG_CURRENCY_KEY "default_currency"
#define DEFAULT_CURRENCY "USD"

/*
 * Built-in templates, as the JSON an org would store. They are parsed with
 * ent_template_from_json(), so they obey exactly the rules of stored ones.
 */
static const struct builtin {
    const char *type;
    const char *json;
} builtins[] = {
    {"opportunity",
     "{\"type\":\"opportunity\",\"strict\":false,\"fields\":["
     "{\"name\":\"name\",\"type\":\"text\",\"label\":\"Opportunity name\"},"
     "{\"name\":\"customer_account\",\"type\":\"text\",\"label\":\"Customer "
     "account\"},"
     "{\"name\":\"stage\",\"type\":\"enum\","
     "\"default\":\"Prospecting\",\"label\":\"Stage\"},"
     "{\"name\":\"close_date\",\"type\":\"date\",\"label\":\"Close date\"},"
     "{\"name\":\"next_step\",\"type\":\"text\",\"label\":\"Next step\"},"
     "{\"name\":\"region\",\"type\":\"enum\",\"table\":\"regions\","
     "\"label\":\"Region\"},"
     "{\"name\":\"industry\",\"type\":\"enum\",\"table\":\"industries\","
     "\"label\":\"Industry\"},"
     "{\"name\":\"sourced_by\",\"type\":\"org\",\"owner_only\":true,"
     "\"label\":\"Sourced by\"},"
     "{\"name\":\"influenced_by\",\"type\":\"org\",\"or_text\":true,"
     "\"label\":\"Influenced by\"},"
     "{\"name\":\"lead\",\"type\":\"ref\",\"target\":\"lead\","
     "\"label\":\"Converted from lead\"},"
     "{\"name\":\"plan\",\"type\":\"ref\",\"target\":\"sales_plan\","
     "\"label\":\"Sales plan\"},"
     "{\"name\":\"deal_size\",\"type\":\"money\",\"visibility\":\"private\","
     "\"label\":\"Deal size\"},"
     "{\"name\":\"forecast_category\",\"type\":\"enum\","
     "\"table\":\"forecast_categories\",\"visibility\":\"private\","
     "\"label\":\"Forecast category\"},"
     "{\"name\":\"internal_notes\",\"type\":\"text\",\"visibility\":"
     "\"private\",\"label\":\"Internal notes\"}],"
     "\"stages\":[\"Prospecting\",\"Qualification\",\"Solution\","
     "\"Proposal\",\"Negotiation\",\"Closed Won\",\"Closed Lost\"]}"},
    {"lead",
     "{\"type\":\"lead\",\"strict\":false,\"fields\":["
     "{\"name\":\"company\",\"type\":\"text\",\"label\":\"Company\"},"
     "{\"name\":\"contact_name\",\"type\":\"text\",\"label\":\"Contact\"},"
     "{\"name\":\"contact_email\",\"type\":\"text\",\"label\":\"Contact "
     "e-mail\"},"
     "{\"name\":\"region\",\"type\":\"enum\",\"table\":\"regions\"},"
     "{\"name\":\"industry\",\"type\":\"enum\",\"table\":\"industries\"},"
     "{\"name\":\"source\",\"type\":\"enum\",\"values\":[\"Event\","
     "\"Webinar\",\"Referral\",\"Website\",\"Marketplace\",\"Outbound\"]},"
     "{\"name\":\"status\",\"type\":\"enum\",\"values\":[\"New\",\"Working\","
     "\"Qualified\",\"Converted\",\"Disqualified\"],\"default\":\"New\"},"
     "{\"name\":\"referred_by\",\"type\":\"org\",\"owner_only\":true},"
     "{\"name\":\"need\",\"type\":\"text\",\"label\":\"Customer need\"},"
     "{\"name\":\"converted_to\",\"type\":\"ref\",\"target\":"
     "\"opportunity\",\"label\":\"Converted to\"},"
     "{\"name\":\"estimated_value\",\"type\":\"money\",\"visibility\":"
     "\"private\"},"
     "{\"name\":\"lead_score\",\"type\":\"integer\",\"visibility\":"
     "\"private\"},"
     "{\"name\":\"internal_notes\",\"type\":\"text\",\"visibility\":"
     "\"private\"}],"
     "\"stages\":[\"New\",\"Working\",\"Qualified\",\"Converted\","
     "\"Disqualified\"]}"},
    {"solution",
     "{\"type\":\"solution\",\"strict\":false,\"fields\":["
     "{\"name\":\"name\",\"type\":\"text\",\"label\":\"Solution name\"},"
     "{\"name\":\"description\",\"type\":\"text\"},"
     "{\"name\":\"solution_type\",\"type\":\"enum\",\"values\":["
     "\"Integration\",\"Managed Service\",\"Bundle\",\"Marketplace "
     "Listing\"]},"
     "{\"name\":\"industry\",\"type\":\"enum\",\"table\":\"industries\"},"
     "{\"name\":\"status\",\"type\":\"enum\",\"values\":[\"Idea\",\"Design\","
     "\"Build\",\"Validate\",\"Launched\",\"Retired\"],\"default\":\"Idea\"},"
     "{\"name\":\"lead_partner\",\"type\":\"org\",\"owner_only\":true},"
     "{\"name\":\"launch_date\",\"type\":\"date\"},"
     "{\"name\":\"listing_url\",\"type\":\"text\"},"
     "{\"name\":\"investment\",\"type\":\"money\",\"visibility\":"
     "\"private\"},"
     "{\"name\":\"priority\",\"type\":\"enum\",\"values\":[\"Low\","
     "\"Medium\",\"High\"],\"visibility\":\"private\"},"
     "{\"name\":\"internal_notes\",\"type\":\"text\",\"visibility\":"
     "\"private\"}],"
     "\"stages\":[\"Idea\",\"Design\",\"Build\",\"Validate\",\"Launched\","
     "\"Retired\"]}"},
    {"sales_plan",
     "{\"type\":\"sales_plan\",\"strict\":false,\"fields\":["
     "{\"name\":\"name\",\"type\":\"text\",\"label\":\"Plan name\"},"
     "{\"name\":\"fiscal_period\",\"type\":\"text\",\"label\":\"Fiscal "
     "period\"},"
     "{\"name\":\"region\",\"type\":\"enum\",\"table\":\"regions\"},"
     "{\"name\":\"industry\",\"type\":\"enum\",\"table\":\"industries\"},"
     "{\"name\":\"joint_target\",\"type\":\"money\",\"label\":\"Joint "
     "revenue target\"},"
     "{\"name\":\"target_accounts\",\"type\":\"integer\"},"
     "{\"name\":\"start_date\",\"type\":\"date\"},"
     "{\"name\":\"end_date\",\"type\":\"date\"},"
     "{\"name\":\"status\",\"type\":\"enum\",\"values\":[\"Draft\","
     "\"Agreed\",\"Active\",\"Closed\"],\"default\":\"Draft\"},"
     "{\"name\":\"internal_quota\",\"type\":\"money\",\"visibility\":"
     "\"private\"},"
     "{\"name\":\"internal_notes\",\"type\":\"text\",\"visibility\":"
     "\"private\"}],"
     "\"stages\":[\"Draft\",\"Agreed\",\"Active\",\"Closed\"]}"},
    {"mdf_budget", ent__tpl_mdf_budget},
    {"mdf_request", ent__tpl_mdf_request},
    {"deal_registration", ent__tpl_deal_registration},
    {"account_plan",
     "{\"type\":\"account_plan\",\"strict\":false,\"fields\":["
     "{\"name\":\"account_name\",\"type\":\"text\",\"label\":\"Account\"},"
     "{\"name\":\"region\",\"type\":\"enum\",\"table\":\"regions\"},"
     "{\"name\":\"industry\",\"type\":\"enum\",\"table\":\"industries\"},"
     "{\"name\":\"plan_period\",\"type\":\"text\"},"
     "{\"name\":\"objectives\",\"type\":\"text\"},"
     "{\"name\":\"whitespace\",\"type\":\"text\",\"label\":\"Whitespace "
     "opportunities\"},"
     "{\"name\":\"executive_sponsor\",\"type\":\"text\"},"
     "{\"name\":\"next_review\",\"type\":\"date\"},"
     "{\"name\":\"status\",\"type\":\"enum\",\"values\":[\"Nominated\","
     "\"Planning\",\"Active\",\"Review\"],\"default\":\"Nominated\"},"
     "{\"name\":\"account_revenue\",\"type\":\"money\",\"visibility\":"
     "\"private\"},"
     "{\"name\":\"relationship_health\",\"type\":\"enum\",\"values\":["
     "\"Red\",\"Amber\",\"Green\"],\"visibility\":\"private\"},"
     "{\"name\":\"internal_notes\",\"type\":\"text\",\"visibility\":"
     "\"private\"}],"
     "\"stages\":[\"Nominated\",\"Planning\",\"Active\",\"Review\"]}"},
    {"program",
     "{\"type\":\"program\",\"strict\":false,\"fields\":["
     "{\"name\":\"name\",\"type\":\"text\",\"label\":\"Program name\"},"
     "{\"name\":\"program_type\",\"type\":\"enum\",\"values\":[\"Co-sell\","
     "\"Co-marketing\",\"Build-with\",\"Incentive\",\"Enablement\"]},"
     "{\"name\":\"tier\",\"type\":\"enum\",\"values\":[\"Registered\","
     "\"Silver\",\"Gold\",\"Platinum\"]},"
     "{\"name\":\"region\",\"type\":\"enum\",\"table\":\"regions\"},"
     "{\"name\":\"benefits\",\"type\":\"text\"},"
     "{\"name\":\"requirements\",\"type\":\"text\"},"
     "{\"name\":\"mdf_budget\",\"type\":\"money\",\"owner_only\":true},"
     "{\"name\":\"start_date\",\"type\":\"date\"},"
     "{\"name\":\"end_date\",\"type\":\"date\"},"
     "{\"name\":\"status\",\"type\":\"enum\",\"values\":[\"Draft\","
     "\"Active\",\"Closed\"],\"default\":\"Draft\"},"
     "{\"name\":\"partner_rating\",\"type\":\"integer\",\"visibility\":"
     "\"private\"},"
     "{\"name\":\"internal_notes\",\"type\":\"text\",\"visibility\":"
     "\"private\"}],"
     "\"stages\":[\"Draft\",\"Active\",\"Closed\"]}"},
};

#define NBUILTINS (sizeof(builtins) / sizeof(builtins[0]))

static const char *const builtin_type_names[] = {
    "opportunity", "lead",         "solution", "sales_plan", "mdf_budget",
    "mdf_request", "account_plan", "program",  "deal_registration", NULL,
};

/* Built-in configuration tables: the defaults until an org stores its own. */
static const char *const cfg_regions[] = {"North America", "Latin America",
                                          "EMEA", "APAC", NULL};
static const char *const cfg_industries[] = {"Financial Services",
                                             "Healthcare",
                                             "Manufacturing",
                                             "Retail",
                                             "Public Sector",
                                             "Technology",
                                             "Telecommunications",
                                             "Energy",
                                             "Media",
                                             "Education",
                                             NULL};
static const char *const cfg_forecast[] = {"Pipeline", "Best Case", "Commit",
                                           "Closed",   "Omitted",   NULL};
static const char *const cfg_mdf_activity[] = {
    "Event", "Webinar", "Digital Campaign", "Content", "Training",
    "Other", NULL};

static const struct builtin_table {
    const char *name;
    const char *const *values;
} builtin_tables[] = {
    {"regions", cfg_regions},
    {"industries", cfg_industries},
    {"forecast_categories", cfg_forecast},
    {"mdf_activity_types", cfg_mdf_activity},
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- names and string lists -------------------------------------------- */

static bool name_valid(const char *s, size_t max) {
    size_t n = strlen(s);
    if (n == 0 || n > max || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

bool ent_template_type_valid(const char *s) {
    return name_valid(s, ENT_TPL_TYPE_MAX);
}

bool ent_template_name_valid(const char *s) {
    return name_valid(s, ENT_TPL_NAME_MAX);
}

void ent_strlist_free(ent_strlist *l) {
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int strlist_push(ent_strlist *l, const char *s, size_t len) {
    char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (nv == NULL)
        return ENT_ENOMEM;
    l->v = nv;
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return ENT_ENOMEM;
    memcpy(copy, s, len);
    copy[len] = '\0';
    l->v[l->n++] = copy;
    return ENT_OK;
}

static bool strlist_equal(const ent_strlist *a, const ent_strlist *b) {
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i], b->v[i]) != 0)
            return false;
    }
    return true;
}

static bool ascii_caseeq(const char *a, const char *b) {
    for (;; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
        if (x == '\0')
            return true;
    }
}

/* The string of a JSON string without embedded NULs, or NULL. */
static const char *json_str(const json_t *j, size_t *len) {
    if (!json_is_string(j))
        return NULL;
    const char *s = json_string_value(j);
    size_t n = json_string_length(j);
    if (strlen(s) != n)
        return NULL;
    if (len != NULL)
        *len = n;
    return s;
}

/*
 * Reads a JSON array of allowed values (enum values, stages, config table)
 * into out: strings of 1..ENT_TPL_VALUE_MAX bytes of valid text, distinct
 * ignoring ASCII case, at most max of them. what names the list in errors.
 */
static int read_value_list(const json_t *arr, size_t max, bool allow_empty,
                           ent_strlist *out, const char *what, char *err,
                           size_t errlen) {
    int rc = ENT_EINVAL;
    if (!json_is_array(arr)) {
        set_err(err, errlen, "%s: must be an array of strings", what);
        goto out;
    }
    size_t n = json_array_size(arr);
    if (n == 0 && !allow_empty) {
        set_err(err, errlen, "%s: needs at least one value", what);
        goto out;
    }
    if (n > max) {
        set_err(err, errlen, "%s: more than %zu values", what, max);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *s = json_str(json_array_get(arr, i), &len);
        if (s == NULL) {
            set_err(err, errlen, "%s: value %zu is not a string", what, i);
            goto out;
        }
        if (len == 0 || len > ENT_TPL_VALUE_MAX || !ent_text_valid(s, len)) {
            set_err(err, errlen,
                    "%s: value %zu is empty, longer than %d bytes or has "
                    "control characters",
                    what, i, ENT_TPL_VALUE_MAX);
            goto out;
        }
        for (size_t k = 0; k < out->n; k++) {
            if (ascii_caseeq(out->v[k], s)) {
                set_err(err, errlen, "%s: duplicate value \"%s\"", what, s);
                goto out;
            }
        }
        if (strlist_push(out, s, len) != ENT_OK) {
            rc = ENT_ENOMEM;
            goto out;
        }
    }
    rc = ENT_OK;
out:
    if (rc != ENT_OK)
        ent_strlist_free(out);
    return rc;
}

static json_t *strlist_to_json(const ent_strlist *l) {
    json_t *a = json_array();
    if (a == NULL)
        return NULL;
    for (size_t i = 0; i < l->n; i++) {
        if (json_array_append_new(a, json_string(l->v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* ---- templates: JSON ---------------------------------------------------- */

static void field_free(ent_tpl_field *f) {
    free(f->derived);
    free(f->label);
    free(f->default_text);
    ent_strlist_free(&f->values);
}

void ent_template_free(ent_template *t) {
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nfields; i++)
        field_free(&t->fields[i]);
    free(t->fields);
    ent_strlist_free(&t->stages);
    free(t->stage_pct);
    free(t->rules);
    free(t);
}

static bool key_in(const char *key, const char *const *keys) {
    for (; *keys != NULL; keys++) {
        if (strcmp(key, *keys) == 0)
            return true;
    }
    return false;
}

/* Fails with the first key of obj that is not in keys. */
static int check_keys(const json_t *obj, const char *const *keys,
                      const char *where, char *err, size_t errlen) {
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        (void)val;
        if (!key_in(key, keys)) {
            set_err(err, errlen, "%s: unknown key \"%.64s\"", where, key);
            return ENT_EINVAL;
        }
    }
    return ENT_OK;
}

static char *dup_str(const char *s, size_t len) {
    char *c = malloc(len + 1);
    if (c != NULL) {
        memcpy(c, s, len);
        c[len] = '\0';
    }
    return c;
}

/* Checks a field's default against its type (enum tables: text only). */
static int check_default(const ent_tpl_field *f, const char *where, char *err,
                         size_t errlen) {
    char why[256] = "";
    ent_value v;
    ent_value_opts opts = {0};
    int rc;
    if (f->type == ENT_VT_ENUM &&
        (f->table[0] != '\0' || strcmp(f->name, ENT_TPL_STAGE_FIELD) == 0)) {
        /* a table's values are read when used; the stage field's are the
         * template's stages, checked once they are read */
        rc = ent_value_parse(&v, ENT_VT_TEXT, f->default_text, NULL, why,
                             sizeof(why));
    } else {
        opts.allowed = (const char *const *)f->values.v;
        opts.nallowed = f->values.n;
        rc = ent_value_parse(&v, f->type, f->default_text, &opts, why,
                             sizeof(why));
        if (rc != ENT_OK && f->type == ENT_VT_ORG && f->or_text)
            rc = ent_value_parse(&v, ENT_VT_TEXT, f->default_text, NULL, why,
                                 sizeof(why));
    }
    ent_value_clear(&v);
    if (rc != ENT_OK) {
        set_err(err, errlen, "%s: bad default: %s", where, why);
        rc = rc == ENT_ENOMEM ? ENT_ENOMEM : ENT_EINVAL;
    }
    return rc;
}

/* The "derived" key of field f (spec/reports.md "Derived fields"): the
 * bounds and the combinations here; the formula's syntax and types in
 * node/reports/derive.c. Private unless "visibility" says shared. */
static int derived_from_json(const json_t *jf, const json_t *v,
                             ent_tpl_field *f, const char *where, char *err,
                             size_t errlen) {
    size_t len;
    const char *s = json_str(v, &len);
    if (s == NULL || len == 0 || len > ENT_TPL_DERIVED_MAX ||
        !ent_text_valid(s, len)) {
        set_err(err, errlen,
                "%s: \"derived\" must be a formula of 1 to %d bytes of text",
                where, ENT_TPL_DERIVED_MAX);
        return ENT_EINVAL;
    }
    if (f->type == ENT_VT_ENUM || f->type == ENT_VT_ORG ||
        strcmp(f->name, ENT_TPL_STAGE_FIELD) == 0) {
        set_err(err, errlen,
                "%s: a derived field is of type text, integer, money or "
                "date, and is not the stage",
                where);
        return ENT_EINVAL;
    }
    if (f->default_text != NULL || f->owner_only) {
        set_err(err, errlen,
                "%s: a derived field is computed, so it has no \"default\" "
                "and no \"owner_only\"",
                where);
        return ENT_EINVAL;
    }
    if (json_object_get(jf, "visibility") == NULL)
        f->visibility = ENT_VIS_PRIVATE;
    if ((f->derived = dup_str(s, len)) == NULL)
        return ENT_ENOMEM;
    return ENT_OK;
}

/* "stage_probability": {"STAGE": percent 0..100, ...} over t's stages. */
static int stage_pct_from_json(ent_template *t, const json_t *v,
                               const char *where, char *err, size_t errlen) {
    const char *key;
    const json_t *jv;
    if (!json_is_object(v) || t->stages.n == 0) {
        set_err(err, errlen,
                "%s: \"stage_probability\" must be an object of stages "
                "(listed in \"stages\") to percents",
                where);
        return ENT_EINVAL;
    }
    if ((t->stage_pct = malloc(t->stages.n * sizeof(int))) == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < t->stages.n; i++)
        t->stage_pct[i] = -1;
    json_object_foreach((json_t *)v, key, jv) {
        size_t i = 0;
        while (i < t->stages.n && strcmp(t->stages.v[i], key) != 0)
            i++;
        if (i == t->stages.n) {
            set_err(err, errlen,
                    "%s: \"stage_probability\": \"%.64s\" is not one of "
                    "the \"stages\"",
                    where, key);
            return ENT_EINVAL;
        }
        if (!json_is_integer(jv) || json_integer_value(jv) < 0 ||
            json_integer_value(jv) > 100) {
            set_err(err, errlen,
                    "%s: \"stage_probability\": %.64s must be a whole "
                    "percent from 0 to 100",
                    where, key);
            return ENT_EINVAL;
        }
        t->stage_pct[i] = (int)json_integer_value(jv);
    }
    return ENT_OK;
}

static int field_from_json(const json_t *jf, size_t idx, ent_tpl_field *f,
                           char *err, size_t errlen) {
    static const char *const keys[] = {
        "name",  "type",    "visibility", "owner_only", "or_text",
        "label", "default", "table",      "values",     "target",
        "derived", NULL};
    char where[96];
    int rc = ENT_EINVAL;
    const json_t *v;
    const char *s;
    size_t len;
    snprintf(where, sizeof(where), "field %zu", idx);
    if (!json_is_object(jf)) {
        set_err(err, errlen, "%s: must be an object", where);
        goto out;
    }
    s = json_str(json_object_get(jf, "name"), NULL);
    if (s == NULL || !ent_template_name_valid(s)) {
        set_err(err, errlen,
                "%s: \"name\" must be a string matching [a-z][a-z0-9_]{0,63}",
                where);
        goto out;
    }
    strcpy(f->name, s);
    snprintf(where, sizeof(where), "field %s", f->name);
    if (check_keys(jf, keys, where, err, errlen) != ENT_OK)
        goto out;
    s = json_str(json_object_get(jf, "type"), NULL);
    if (s == NULL || ent_vtype_parse(s, &f->type) != ENT_OK) {
        set_err(err, errlen,
                "%s: \"type\" must be one of text, integer, money, date, "
                "enum, org, ref",
                where);
        goto out;
    }
    f->visibility = ENT_VIS_SHARED;
    if ((v = json_object_get(jf, "visibility")) != NULL) {
        s = json_str(v, NULL);
        if (s != NULL && strcmp(s, "shared") == 0) {
            f->visibility = ENT_VIS_SHARED;
        } else if (s != NULL && strcmp(s, "private") == 0) {
            f->visibility = ENT_VIS_PRIVATE;
        } else {
            set_err(err, errlen,
                    "%s: \"visibility\" must be \"shared\" or \"private\"",
                    where);
            goto out;
        }
    }
    if ((v = json_object_get(jf, "owner_only")) != NULL) {
        if (!json_is_boolean(v)) {
            set_err(err, errlen, "%s: \"owner_only\" must be true or false",
                    where);
            goto out;
        }
        f->owner_only = json_is_true(v);
    }
    if ((v = json_object_get(jf, "or_text")) != NULL) {
        if (!json_is_boolean(v) || f->type != ENT_VT_ORG) {
            set_err(err, errlen,
                    "%s: \"or_text\" is a boolean and only for type org",
                    where);
            goto out;
        }
        f->or_text = json_is_true(v);
    }
    if ((v = json_object_get(jf, "target")) != NULL) {
        s = json_str(v, NULL);
        if (s == NULL || f->type != ENT_VT_REF ||
            !ent_template_type_valid(s)) {
            set_err(err, errlen,
                    "%s: \"target\" is a type name ([a-z][a-z0-9_]{0,31}) "
                    "and only for type ref",
                    where);
            goto out;
        }
        strcpy(f->target, s);
    }
    if ((v = json_object_get(jf, "label")) != NULL) {
        s = json_str(v, &len);
        if (s == NULL || len > ENT_TPL_LABEL_MAX || !ent_text_valid(s, len)) {
            set_err(err, errlen,
                    "%s: \"label\" must be text of at most %d bytes", where,
                    ENT_TPL_LABEL_MAX);
            goto out;
        }
        if ((f->label = dup_str(s, len)) == NULL) {
            rc = ENT_ENOMEM;
            goto out;
        }
    }
    const json_t *jt = json_object_get(jf, "table");
    const json_t *jv = json_object_get(jf, "values");
    if (strcmp(f->name, ENT_TPL_STAGE_FIELD) == 0) {
        /* one stage list: the template's "stages" (spec/objects.md) */
        if (f->type != ENT_VT_ENUM || jt != NULL || jv != NULL) {
            set_err(err, errlen,
                    "%s: the workflow stage is an enum whose values are the "
                    "template's \"stages\" (type enum, without \"table\" "
                    "or \"values\")",
                    where);
            goto out;
        }
    } else if (f->type != ENT_VT_ENUM) {
        if (jt != NULL || jv != NULL) {
            set_err(err, errlen,
                    "%s: \"table\" and \"values\" are only for type enum",
                    where);
            goto out;
        }
    } else if ((jt == NULL) == (jv == NULL)) {
        set_err(err, errlen,
                "%s: an enum needs exactly one of \"table\" (a configuration "
                "table) or \"values\" (a list)",
                where);
        goto out;
    } else if (jt != NULL) {
        s = json_str(jt, NULL);
        if (s == NULL || !ent_template_name_valid(s)) {
            set_err(err, errlen,
                    "%s: \"table\" must be a string matching "
                    "[a-z][a-z0-9_]{0,63}",
                    where);
            goto out;
        }
        strcpy(f->table, s);
    } else {
        char what[128];
        snprintf(what, sizeof(what), "%s: \"values\"", where);
        rc = read_value_list(jv, ENT_TPL_MAX_VALUES, false, &f->values, what,
                             err, errlen);
        if (rc != ENT_OK)
            goto out;
        rc = ENT_EINVAL;
    }
    if ((v = json_object_get(jf, "default")) != NULL) {
        s = json_str(v, &len);
        if (s == NULL || len == 0 || len > ENT_VALUE_TEXT_MAX) {
            set_err(err, errlen,
                    "%s: \"default\" must be a non-empty string of at most %d "
                    "bytes",
                    where, ENT_VALUE_TEXT_MAX);
            goto out;
        }
        if ((f->default_text = dup_str(s, len)) == NULL) {
            rc = ENT_ENOMEM;
            goto out;
        }
        if ((rc = check_default(f, where, err, errlen)) != ENT_OK)
            goto out;
    }
    if ((v = json_object_get(jf, "derived")) != NULL &&
        (rc = derived_from_json(jf, v, f, where, err, errlen)) != ENT_OK)
        goto out;
    rc = ENT_OK;
out:
    return rc;
}

/* The field "stage", when listed, needs the template's stages, and its
 * default must be one of them. */
static int check_stage_field(const ent_template *t, const char *where,
                             char *err, size_t errlen) {
    const ent_tpl_field *f = ent_template_field(t, ENT_TPL_STAGE_FIELD);
    if (f == NULL)
        return ENT_OK;
    if (t->stages.n == 0) {
        set_err(err, errlen,
                "%s: field stage needs the workflow stages: list them in "
                "\"stages\"",
                where);
        return ENT_EINVAL;
    }
    if (f->default_text == NULL)
        return ENT_OK;
    for (size_t i = 0; i < t->stages.n; i++)
        if (strcasecmp(t->stages.v[i], f->default_text) == 0)
            return ENT_OK;
    set_err(err, errlen,
            "%s: field stage: bad default: \"%.64s\" is not one of its "
            "\"stages\"",
            where, f->default_text);
    return ENT_EINVAL;
}

/* The "workflow" section: rules over the template's stages
 * (spec/workflows.md §1), kept encoded as the genesis op will carry them. */
static int workflow_from_json(ent_template *t, const json_t *v,
                              const char *where, char *err, size_t errlen) {
    char msg[200];
    ent_wf_rules *r = malloc(sizeof(*r));
    int rc;
    if (r == NULL)
        return ENT_ENOMEM;
    rc = ent_wf_from_json(r, v, (const char *const *)t->stages.v, t->stages.n,
                          msg, sizeof(msg));
    if (rc == ENT_OK)
        rc = ent_wf_encode(r, &t->rules, &t->ruleslen);
    else
        set_err(err, errlen, "%s: %s", where, msg);
    free(r);
    return rc == ENT_ESCHEMA ? ENT_EINVAL : rc;
}

int ent_template_from_json(const json_t *j, ent_template **out, char *err,
                           size_t errlen) {
    static const char *const keys[] = {
        "type", "strict", "fields", "stages", "workflow", "stage_probability",
        NULL};
    int rc = ENT_EINVAL;
    ent_template *t = NULL;
    const json_t *v;
    const char *s;
    *out = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (!json_is_object(j)) {
        set_err(err, errlen, "template: must be a JSON object");
        goto out;
    }
    if ((t = calloc(1, sizeof(*t))) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    s = json_str(json_object_get(j, "type"), NULL);
    if (s == NULL || !ent_template_type_valid(s)) {
        set_err(err, errlen,
                "template: \"type\" must be a string matching "
                "[a-z][a-z0-9_]{0,31}");
        goto out;
    }
    strcpy(t->type, s);
    char where[64];
    snprintf(where, sizeof(where), "template %s", t->type);
    if (check_keys(j, keys, where, err, errlen) != ENT_OK)
        goto out;
    if ((v = json_object_get(j, "strict")) != NULL) {
        if (!json_is_boolean(v)) {
            set_err(err, errlen, "%s: \"strict\" must be true or false", where);
            goto out;
        }
        t->strict = json_is_true(v);
    }
    const json_t *jfields = json_object_get(j, "fields");
    if (!json_is_array(jfields)) {
        set_err(err, errlen, "%s: \"fields\" must be an array", where);
        goto out;
    }
    size_t n = json_array_size(jfields);
    if (n > ENT_TPL_MAX_FIELDS) {
        set_err(err, errlen, "%s: more than %d fields", where,
                ENT_TPL_MAX_FIELDS);
        goto out;
    }
    if (n > 0 && (t->fields = calloc(n, sizeof(*t->fields))) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        /* count the field first so that ent_template_free frees it */
        t->nfields = i + 1;
        rc = field_from_json(json_array_get(jfields, i), i, &t->fields[i], err,
                             errlen);
        if (rc != ENT_OK)
            goto out;
        rc = ENT_EINVAL;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(t->fields[k].name, t->fields[i].name) == 0) {
                set_err(err, errlen, "%s: duplicate field %s", where,
                        t->fields[i].name);
                goto out;
            }
        }
    }
    if ((v = json_object_get(j, "stages")) != NULL) {
        char what[96];
        snprintf(what, sizeof(what), "%s: \"stages\"", where);
        rc = read_value_list(v, ENT_TPL_MAX_STAGES, true, &t->stages, what, err,
                             errlen);
        if (rc != ENT_OK)
            goto out;
    }
    if ((rc = check_stage_field(t, where, err, errlen)) != ENT_OK)
        goto out;
    if ((v = json_object_get(j, "stage_probability")) != NULL &&
        (rc = stage_pct_from_json(t, v, where, err, errlen)) != ENT_OK)
        goto out;
    if ((v = json_object_get(j, "workflow")) != NULL &&
        (rc = workflow_from_json(t, v, where, err, errlen)) != ENT_OK)
        goto out;
    *out = t;
    t = NULL;
out:
    ent_template_free(t);
    return rc;
}

static json_t *field_to_json(const ent_tpl_field *f) {
    json_t *o = json_object();
    int bad = o == NULL;
    if (bad)
        return NULL;
    bad |= json_object_set_new(o, "name", json_string(f->name));
    bad |= json_object_set_new(o, "type", json_string(ent_vtype_name(f->type)));
    bad |= json_object_set_new(
        o, "visibility",
        json_string(f->visibility == ENT_VIS_PRIVATE ? "private" : "shared"));
    if (f->owner_only)
        bad |= json_object_set_new(o, "owner_only", json_true());
    if (f->or_text)
        bad |= json_object_set_new(o, "or_text", json_true());
    if (f->target[0] != '\0')
        bad |= json_object_set_new(o, "target", json_string(f->target));
    if (f->label != NULL)
        bad |= json_object_set_new(o, "label", json_string(f->label));
    if (f->default_text != NULL)
        bad |= json_object_set_new(o, "default", json_string(f->default_text));
    if (f->derived != NULL)
        bad |= json_object_set_new(o, "derived", json_string(f->derived));
    /* the stage field's values are the template's stages */
    if (f->type == ENT_VT_ENUM && strcmp(f->name, ENT_TPL_STAGE_FIELD) != 0) {
        if (f->table[0] != '\0')
            bad |= json_object_set_new(o, "table", json_string(f->table));
        else
            bad |=
                json_object_set_new(o, "values", strlist_to_json(&f->values));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int ent_template_to_json(const ent_template *t, json_t **out) {
    int rc = ENT_ENOMEM;
    json_t *o = json_object(), *fields = json_array();
    *out = NULL;
    if (o == NULL || fields == NULL)
        goto out;
    for (size_t i = 0; i < t->nfields; i++) {
        if (json_array_append_new(fields, field_to_json(&t->fields[i])) != 0)
            goto out;
    }
    int bad = json_object_set_new(o, "type", json_string(t->type));
    bad |= json_object_set_new(o, "strict", json_boolean(t->strict));
    bad |= json_object_set(o, "fields", fields);
    if (t->stages.n > 0)
        bad |= json_object_set_new(o, "stages", strlist_to_json(&t->stages));
    if (t->stage_pct != NULL) {
        json_t *sp = json_object();
        bad |= sp == NULL;
        for (size_t i = 0; sp != NULL && i < t->stages.n; i++)
            if (t->stage_pct[i] >= 0)
                bad |= json_object_set_new(sp, t->stages.v[i],
                                           json_integer(t->stage_pct[i]));
        bad |= json_object_set_new(o, "stage_probability", sp);
    }
    if (t->ruleslen > 0) {
        ent_wf_rules *r = malloc(sizeof(*r));
        json_t *wf = NULL;
        if (r != NULL && ent_wf_decode(r, t->rules, t->ruleslen) == ENT_OK &&
            (wf = ent_wf_to_json(r)) != NULL) {
            json_object_del(wf, "stages");
            bad |= json_object_set_new(o, "workflow", wf);
        } else {
            bad = 1;
        }
        free(r);
    }
    if (bad)
        goto out;
    *out = o;
    o = NULL;
    rc = ENT_OK;
out:
    json_decref(fields);
    json_decref(o);
    return rc;
}

static bool opt_str_equal(const char *a, const char *b) {
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

bool ent_template_equal(const ent_template *a, const ent_template *b) {
    if (strcmp(a->type, b->type) != 0 || a->strict != b->strict ||
        a->nfields != b->nfields || !strlist_equal(&a->stages, &b->stages) ||
        a->ruleslen != b->ruleslen ||
        (a->ruleslen && memcmp(a->rules, b->rules, a->ruleslen) != 0) ||
        (a->stage_pct == NULL) != (b->stage_pct == NULL) ||
        (a->stage_pct != NULL &&
         memcmp(a->stage_pct, b->stage_pct, a->stages.n * sizeof(int)) != 0))
        return false;
    for (size_t i = 0; i < a->nfields; i++) {
        const ent_tpl_field *x = &a->fields[i], *y = &b->fields[i];
        if (strcmp(x->name, y->name) != 0 || x->type != y->type ||
            x->visibility != y->visibility || x->owner_only != y->owner_only ||
            x->or_text != y->or_text || strcmp(x->target, y->target) != 0 || !opt_str_equal(x->label, y->label) ||
            !opt_str_equal(x->default_text, y->default_text) ||
            strcmp(x->table, y->table) != 0 ||
            !strlist_equal(&x->values, &y->values) ||
            !opt_str_equal(x->derived, y->derived))
            return false;
    }
    return true;
}

const ent_tpl_field *ent_template_field(const ent_template *t,
                                        const char *name) {
    for (size_t i = 0; i < t->nfields; i++) {
        if (strcmp(t->fields[i].name, name) == 0)
            return &t->fields[i];
    }
    return NULL;
}

/* ---- built-ins ------------------------------------------------------------
 */

const char *const *ent_template_builtin_types(void) {
    return builtin_type_names;
}

int ent_template_builtin(const char *type, ent_template **out) {
    *out = NULL;
    for (size_t i = 0; i < NBUILTINS; i++) {
        if (strcmp(builtins[i].type, type) != 0)
            continue;
        json_error_t jerr;
        json_t *j = json_loads(builtins[i].json, JSON_REJECT_DUPLICATES, &jerr);
        if (j == NULL)
            return ENT_ENOMEM; /* the built-in texts are valid JSON */
        int rc = ent_template_from_json(j, out, NULL, 0);
        json_decref(j);
        return rc;
    }
    return ENT_ENOENT;
}

/* ---- storage --------------------------------------------------------------
 */

/* Parses a stored template; anything wrong with it is ENT_ECORRUPT. */
static int template_from_stored(const char *type, const void *val, size_t vlen,
                                ent_template **out) {
    int rc = ENT_ECORRUPT;
    json_error_t jerr;
    json_t *j = NULL;
    *out = NULL;
    if (vlen > ENT_TPL_JSON_MAX)
        goto out;
    j = json_loadb(val, vlen, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL)
        goto out;
    rc = ent_template_from_json(j, out, NULL, 0);
    if (rc == ENT_EINVAL)
        rc = ENT_ECORRUPT;
    if (rc == ENT_OK && strcmp((*out)->type, type) != 0) {
        ent_template_free(*out);
        *out = NULL;
        rc = ENT_ECORRUPT;
    }
out:
    json_decref(j);
    return rc;
}

int ent_template_get(ent_txn *txn, const char *type, ent_template **out) {
    const void *val;
    size_t vlen;
    *out = NULL;
    if (!ent_template_type_valid(type))
        return ENT_EINVAL;
    int rc =
        ent_txn_get(txn, ENT_TBL_TEMPLATES, type, strlen(type), &val, &vlen);
    if (rc == ENT_ENOENT)
        return ent_template_builtin(type, out);
    if (rc != ENT_OK)
        return rc;
    return template_from_stored(type, val, vlen, out);
}

int ent_template_put(ent_txn *txn, const ent_template *t) {
    json_t *j = NULL;
    char *text = NULL;
    int rc = ent_template_to_json(t, &j);
    if (rc != ENT_OK)
        goto out;
    text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    if (text == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    size_t len = strlen(text);
    if (len > ENT_TPL_JSON_MAX) {
        rc = ENT_ETOOBIG;
        goto out;
    }
    rc = ent_txn_put(txn, ENT_TBL_TEMPLATES, t->type, strlen(t->type), text,
                     len, 0);
out:
    free(text);
    json_decref(j);
    return rc;
}

int ent_template_del(ent_txn *txn, const char *type) {
    if (!ent_template_type_valid(type))
        return ENT_EINVAL;
    return ent_txn_del(txn, ENT_TBL_TEMPLATES, type, strlen(type));
}

static int collect_key(void *data, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    ent_strlist *l = data;
    char name[ENT_TPL_TYPE_MAX + 1];
    (void)val;
    (void)vlen;
    if (klen == 0 || klen > ENT_TPL_TYPE_MAX)
        return 0; /* not a type name: not ours to list */
    memcpy(name, key, klen);
    name[klen] = '\0';
    if (strlen(name) != klen || !ent_template_type_valid(name))
        return 0;
    return strlist_push(l, name, klen);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ent_template_list(ent_txn *txn, ent_strlist *out) {
    ent_strlist l = {0};
    int rc = ent_txn_scan(txn, ENT_TBL_TEMPLATES, NULL, 0, collect_key, &l);
    if (rc != ENT_OK)
        goto out;
    for (size_t i = 0; i < NBUILTINS; i++) {
        if ((rc = strlist_push(&l, builtins[i].type,
                               strlen(builtins[i].type))) != ENT_OK)
            goto out;
    }
    if (l.n > 0)
        qsort(l.v, l.n, sizeof(*l.v), cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (w > 0 && strcmp(l.v[w - 1], l.v[i]) == 0)
            free(l.v[i]);
        else
            l.v[w++] = l.v[i];
    }
    l.n = w;
out:
    if (rc != ENT_OK)
        ent_strlist_free(&l);
    *out = l;
    return rc;
}

/* ---- configuration tables --------------------------------------------------
 */

static int config_builtin(const char *name, ent_strlist *out) {
    for (size_t i = 0; i < sizeof(builtin_tables) / sizeof(builtin_tables[0]);
         i++) {
        if (strcmp(builtin_tables[i].name, name) != 0)
            continue;
        for (const char *const *v = builtin_tables[i].values; *v != NULL; v++) {
            if (strlist_push(out, *v, strlen(*v)) != ENT_OK) {
                ent_strlist_free(out);
                return ENT_ENOMEM;
            }
        }
        return ENT_OK;
    }
    return ENT_ENOENT;
}

static int config_key(char *key, size_t cap, const char *name, size_t *klen) {
    if (!ent_template_name_valid(name))
        return ENT_EINVAL;
    int n = snprintf(key, cap, "%s%s", CONFIG_LIST_PREFIX, name);
    *klen = (size_t)n;
    return ENT_OK;
}

int ent_config_get_list(ent_txn *txn, const char *name, ent_strlist *out) {
    char key[sizeof(CONFIG_LIST_PREFIX) + ENT_TPL_NAME_MAX];
    size_t klen;
    const void *val;
    size_t vlen;
    json_t *j = NULL;
    int rc;
    out->v = NULL;
    out->n = 0;
    if ((rc = config_key(key, sizeof(key), name, &klen)) != ENT_OK)
        goto out;
    rc = txn != NULL ? ent_txn_get(txn, ENT_TBL_CONFIG, key, klen, &val, &vlen)
                     : ENT_ENOENT;
    if (rc == ENT_ENOENT) {
        rc = config_builtin(name, out);
        goto out;
    }
    if (rc != ENT_OK)
        goto out;
    json_error_t jerr;
    if (vlen > ENT_TPL_JSON_MAX ||
        (j = json_loadb(val, vlen, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    rc = read_value_list(j, ENT_TPL_MAX_VALUES, false, out, name, NULL, 0);
    if (rc == ENT_EINVAL)
        rc = ENT_ECORRUPT;
out:
    json_decref(j);
    return rc;
}

static int collect_table(void *data, const void *key, size_t klen,
                         const void *val, size_t vlen) {
    ent_strlist *l = data;
    size_t pl = strlen(CONFIG_LIST_PREFIX);
    char name[ENT_TPL_NAME_MAX + 1];
    (void)val;
    (void)vlen;
    if (klen <= pl || klen - pl > ENT_TPL_NAME_MAX)
        return 0;
    memcpy(name, (const char *)key + pl, klen - pl);
    name[klen - pl] = '\0';
    if (strlen(name) != klen - pl || !ent_template_name_valid(name))
        return 0;
    return strlist_push(l, name, klen - pl);
}

int ent_config_tables(ent_txn *txn, ent_strlist *stored, ent_strlist *all) {
    int rc;
    stored->v = all->v = NULL;
    stored->n = all->n = 0;
    rc = ent_txn_scan(txn, ENT_TBL_CONFIG, CONFIG_LIST_PREFIX,
                      strlen(CONFIG_LIST_PREFIX), collect_table, stored);
    for (size_t i = 0; rc == ENT_OK && i < stored->n; i++)
        rc = strlist_push(all, stored->v[i], strlen(stored->v[i]));
    for (size_t i = 0;
         rc == ENT_OK && i < sizeof(builtin_tables) / sizeof(builtin_tables[0]);
         i++)
        rc = strlist_push(all, builtin_tables[i].name,
                          strlen(builtin_tables[i].name));
    if (rc == ENT_OK && all->n > 0) {
        qsort(all->v, all->n, sizeof(*all->v), cmp_str);
        size_t w = 0;
        for (size_t i = 0; i < all->n; i++) {
            if (w > 0 && strcmp(all->v[w - 1], all->v[i]) == 0)
                free(all->v[i]);
            else
                all->v[w++] = all->v[i];
        }
        all->n = w;
    }
    if (rc != ENT_OK) {
        ent_strlist_free(stored);
        ent_strlist_free(all);
    }
    return rc;
}

bool ent_config_builtin_table(const char *name) {
    for (size_t i = 0; i < sizeof(builtin_tables) / sizeof(builtin_tables[0]);
         i++)
        if (strcmp(builtin_tables[i].name, name) == 0)
            return true;
    return false;
}

int ent_config_put_list(ent_txn *txn, const char *name,
                        const char *const *values, size_t n) {
    char key[sizeof(CONFIG_LIST_PREFIX) + ENT_TPL_NAME_MAX];
    size_t klen;
    json_t *arr = NULL;
    ent_strlist check = {0};
    char *text = NULL;
    int rc;
    if ((rc = config_key(key, sizeof(key), name, &klen)) != ENT_OK)
        goto out;
    if ((arr = json_array()) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_string(values[i]); /* NULL on invalid UTF-8 */
        if (s == NULL) {
            rc = ENT_EINVAL;
            goto out;
        }
        if (json_array_append_new(arr, s) != 0) {
            rc = ENT_ENOMEM;
            goto out;
        }
    }
    /* the same rules as enum lists: non-empty, distinct, valid text */
    if ((rc = read_value_list(arr, ENT_TPL_MAX_VALUES, false, &check, name,
                              NULL, 0)) != ENT_OK)
        goto out;
    if ((text = json_dumps(arr, JSON_COMPACT)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    rc = ent_txn_put(txn, ENT_TBL_CONFIG, key, klen, text, strlen(text), 0);
out:
    free(text);
    ent_strlist_free(&check);
    json_decref(arr);
    return rc;
}

int ent_config_default_currency(ent_txn *txn, char out[4]) {
    const void *val;
    size_t vlen;
    int rc = txn != NULL ? ent_txn_get(txn, ENT_TBL_CONFIG, CONFIG_CURRENCY_KEY,
                                       strlen(CONFIG_CURRENCY_KEY), &val, &vlen)
                         : ENT_ENOENT;
    if (rc == ENT_ENOENT) {
        memcpy(out, DEFAULT_CURRENCY, 4);
        return ENT_OK;
    }
    if (rc != ENT_OK)
        return rc;
    if (vlen != 3)
        return ENT_ECORRUPT;
    memcpy(out, val, 3);
    out[3] = '\0';
    return ent_currency_known(out) ? ENT_OK : ENT_ECORRUPT;
}

int ent_config_set_default_currency(ent_txn *txn, const char *code) {
    if (strlen(code) != 3 || !ent_currency_known(code))
        return ENT_EINVAL;
    return ent_txn_put(txn, ENT_TBL_CONFIG, CONFIG_CURRENCY_KEY,
                       strlen(CONFIG_CURRENCY_KEY), code, 3, 0);
}

/* ---- resolution ------------------------------------------------------------
 */

/* Configuration table name as ent_config_get_list answers, without copying
 * a built-in one: *v points into it, or into *owned (the caller frees). */
static int config_list_view(ent_txn *txn, const char *name,
                            ent_strlist *owned, const char *const **v,
                            size_t *n) {
    char key[sizeof(CONFIG_LIST_PREFIX) + ENT_TPL_NAME_MAX];
    size_t klen, vlen, i = 0, k = 0;
    const void *val;
    int rc = config_key(key, sizeof(key), name, &klen);
    if (rc == ENT_OK)
        rc = txn != NULL
                 ? ent_txn_get(txn, ENT_TBL_CONFIG, key, klen, &val, &vlen)
                 : ENT_ENOENT;
    if (rc == ENT_ENOENT) {
        while (i < sizeof(builtin_tables) / sizeof(builtin_tables[0]) &&
               strcmp(builtin_tables[i].name, name) != 0)
            i++;
        if (i == sizeof(builtin_tables) / sizeof(builtin_tables[0]))
            return ENT_ENOENT;
        for (*v = builtin_tables[i].values; (*v)[k] != NULL; k++)
            ;
        *n = k;
        return ENT_OK;
    }
    if (rc == ENT_OK && (rc = ent_config_get_list(txn, name, owned)) == ENT_OK)
        *v = (const char *const *)owned->v, *n = owned->n;
    return rc;
}

/* Parses text as the value of template field f. */
static int resolve_value(const ent_template *tpl, ent_txn *txn,
                         const ent_tpl_field *f, const char *text,
                         ent_value *out, char *err, size_t errlen) {
    ent_value_opts opts = {0};
    ent_strlist table = {0};
    char cur[4];
    char why[512] = "";
    int rc;
    if (f->type == ENT_VT_MONEY) {
        if ((rc = ent_config_default_currency(txn, cur)) != ENT_OK) {
            set_err(err, errlen, "field %s: cannot read the default currency",
                    f->name);
            goto out;
        }
        opts.default_currency = cur;
    } else if (f->type == ENT_VT_ENUM && f->table[0] != '\0') {
        rc = config_list_view(txn, f->table, &table, &opts.allowed,
                              &opts.nallowed);
        if (rc == ENT_ENOENT) {
            set_err(err, errlen,
                    "field %s: configuration table %s does not exist", f->name,
                    f->table);
            rc = ENT_ESCHEMA;
            goto out;
        }
        if (rc != ENT_OK) {
            set_err(err, errlen, "field %s: cannot read configuration table %s",
                    f->name, f->table);
            goto out;
        }
    } else if (f->type == ENT_VT_ENUM &&
               strcmp(f->name, ENT_TPL_STAGE_FIELD) == 0) {
        opts.allowed = (const char *const *)tpl->stages.v; /* one list */
        opts.nallowed = tpl->stages.n;
    } else if (f->type == ENT_VT_ENUM) {
        opts.allowed = (const char *const *)f->values.v;
        opts.nallowed = f->values.n;
    }
    rc = ent_value_parse(out, f->type, text, &opts, why, sizeof(why));
    if (rc != ENT_OK && rc != ENT_ENOMEM && f->type == ENT_VT_ORG && f->or_text)
        rc = ent_value_parse(out, ENT_VT_TEXT, text, NULL, why, sizeof(why));
    if (rc != ENT_OK)
        set_err(err, errlen, "field %s of %s: %s", f->name, tpl->type, why);
out:
    ent_strlist_free(&table);
    return rc;
}

/* Levenshtein distance of a and b (both at most ENT_TPL_NAME_MAX bytes). */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    size_t row[ENT_TPL_NAME_MAX + 2];
    if (la > ENT_TPL_NAME_MAX || lb > ENT_TPL_NAME_MAX)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *ent_template_suggest(const ent_template *tpl, const char *name) {
    const char *best = NULL;
    size_t bd = SIZE_MAX, n = strlen(name);
    size_t max = n >= 9 ? 3 : n >= 4 ? 2 : 1;
    for (size_t i = 0; i <= tpl->nfields; i++) {
        const char *cand = i < tpl->nfields ? tpl->fields[i].name
                           : tpl->stages.n > 0 ? ENT_TPL_STAGE_FIELD
                                               : NULL;
        if (cand == NULL)
            continue;
        size_t d = edit_distance(name, cand);
        if (d < bd) {
            bd = d;
            best = cand;
        }
    }
    return bd <= max ? best : NULL;
}

/* The field "stage" a template with stages has even when it does not list
 * it: a shared enum of its stages (spec/objects.md "Workflow stages"). */
static const ent_tpl_field implicit_stage = {
    .name = ENT_TPL_STAGE_FIELD, .type = ENT_VT_ENUM,
    .visibility = ENT_VIS_SHARED};

int ent_template_resolve_as(const ent_template *tpl, ent_txn *txn,
                            const char *field, const char *text,
                            ent_resolve_mode mode, ent_resolved *out,
                            char *err, size_t errlen) {
    int rc = ENT_EINVAL;
    char why[128] = "";
    bool want_private = mode == ENT_RESOLVE_PRIVATE;
    memset(out, 0, sizeof(*out));
    out->value.type = ENT_VT_NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (!ent_template_name_valid(field)) {
        set_err(err, errlen,
                "bad field name \"%.64s\" (use [a-z][a-z0-9_]{0,63})", field);
        goto out;
    }
    strcpy(out->field, field);
    const ent_tpl_field *f = ent_template_field(tpl, field);
    if (f == NULL && tpl->stages.n > 0 &&
        strcmp(field, ENT_TPL_STAGE_FIELD) == 0)
        f = &implicit_stage;
    if (f != NULL && mode == ENT_RESOLVE_CUSTOM) {
        set_err(err, errlen,
                "field %s is in template %s, so it is not a custom field; "
                "give it with --set or --private",
                field, tpl->type);
        rc = ENT_ESCHEMA;
        goto out;
    }
    if (f == NULL) {
        if (tpl->strict) {
            set_err(err, errlen,
                    "template %s is strict and has no field %s (add it to "
                    "the template first)",
                    tpl->type, field);
            rc = ENT_ESCHEMA;
            goto out;
        }
        if (mode == ENT_RESOLVE_SHARED) {
            /* a typo must not become a shared field at every partner */
            const char *near = ent_template_suggest(tpl, field);
            set_err(err, errlen,
                    "template %s has no field %s%s%s%s (to share a new "
                    "custom field with every member: --custom %s=VALUE)",
                    tpl->type, field, near ? "; did you mean " : "",
                    near ? near : "", near ? "?" : "", field);
            rc = ENT_ESCHEMA;
            goto out;
        }
        out->custom = true;
        out->visibility = want_private ? ENT_VIS_PRIVATE : ENT_VIS_SHARED;
        if (text[0] == '\0') {
            rc = ENT_OK;
            goto out;
        }
        rc = ent_value_parse(&out->value, ENT_VT_TEXT, text, NULL, why,
                             sizeof(why));
        if (rc != ENT_OK)
            set_err(err, errlen, "field %s: %s", field, why);
        goto out;
    }
    if (f->derived != NULL) {
        set_err(err, errlen,
                "field %s is derived (%.200s): it is computed, not set", field,
                f->derived);
        rc = ENT_ESCHEMA;
        goto out;
    }
    if (f->visibility == ENT_VIS_PRIVATE && !want_private) {
        set_err(err, errlen,
                "field %s is private in template %s; use --private", field,
                tpl->type);
        rc = ENT_ESCHEMA;
        goto out;
    }
    out->visibility = want_private ? ENT_VIS_PRIVATE : f->visibility;
    out->owner_only = f->owner_only;
    if (text[0] == '\0') {
        rc = ENT_OK;
        goto out;
    }
    rc = resolve_value(tpl, txn, f, text, &out->value, err, errlen);
out:
    if (rc != ENT_OK)
        ent_value_clear(&out->value);
    return rc;
}

int ent_template_resolve(const ent_template *tpl, ent_txn *txn,
                         const char *field, const char *text, bool want_private,
                         ent_resolved *out, char *err, size_t errlen) {
    return ent_template_resolve_as(
        tpl, txn, field, text,
        want_private ? ENT_RESOLVE_PRIVATE : ENT_RESOLVE_SHARED, out, err,
        errlen);
}
