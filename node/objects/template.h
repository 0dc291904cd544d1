/*
 * template.h - an org's own definition of an object type, and its
 * configuration tables.
 *
 * A template names an object type ("opportunity"), lists its fields with a
 * type, a default visibility (shared or private), an owner-only flag and, for
 * enums, where the allowed values come from (an inline list or an org
 * configuration table such as "regions"), and may list the ordered workflow
 * stages of the type (the one list the field "stage" takes its values
 * from). A strict template refuses fields it does not list; a loose one
 * takes them as custom text fields when they are given as such (--custom). Built-in templates exist for
 * opportunity, lead, solution, sales_plan, mdf_request, account_plan and
 * program; an org overrides one by storing its own.
 *
 * Templates are stored as canonical JSON in the "templates" table, keyed by
 * type name; configuration tables and the default currency live in the
 * "config" table. The JSON form, the resolution rules and what happens to
 * existing data when a template changes are specified in spec/objects.md.
 *
 * A template is a plain value (no handles inside): build one with
 * ent_template_from_json() or ent_template_builtin(), free it with
 * ent_template_free().
 */
#ifndef ENT_TEMPLATE_H
#define ENT_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "node/objects/value.h"
#include "storage/store.h"

#define ENT_TPL_TYPE_MAX 32      /* type name: [a-z][a-z0-9_]{0,31} */
#define ENT_TPL_NAME_MAX 64      /* field/table name: [a-z][a-z0-9_]{0,63} */
#define ENT_TPL_MAX_FIELDS 256   /* fields in one template */
#define ENT_TPL_MAX_VALUES 1024  /* values in one enum list or config table */
#define ENT_TPL_MAX_STAGES 64    /* workflow stages of one template */
#define ENT_TPL_VALUE_MAX 256    /* bytes of one allowed value or stage */
#define ENT_TPL_LABEL_MAX 256    /* bytes of a label */
#define ENT_TPL_JSON_MAX 1048576 /* bytes of one stored template */
#define ENT_TPL_STAGE_FIELD "stage" /* the field of the workflow stage */
#define ENT_TPL_DERIVED_MAX 1024 /* bytes of a derived field's formula */

typedef enum ent_visibility {
    ENT_VIS_SHARED = 0,  /* sent, encrypted, to the members */
    ENT_VIS_PRIVATE = 1, /* never leaves the node */
} ent_visibility;

/* A list of strings; every pointer owned by the list. */
typedef struct ent_strlist {
    char **v;
    size_t n;
} ent_strlist;

/* Frees the strings and the array and zeroes l. Accepts NULL. */
void ent_strlist_free(ent_strlist *l);

typedef struct ent_tpl_field {
    char name[ENT_TPL_NAME_MAX + 1];
    ent_vtype type;            /* ENT_VT_TEXT .. ENT_VT_REF */
    ent_visibility visibility; /* default visibility */
    bool owner_only;           /* only the object's owner org may write it */
    bool or_text;              /* org only: not an org id -> taken as text */
    /* ref only: the type of the objects it links to ("" any) */
    char target[ENT_TPL_TYPE_MAX + 1];
    char *label;               /* owned, NULL if none */
    char *default_text;        /* owned, NULL if none: in --set syntax */
    /* enum only: exactly one of table (a config table name) or values */
    char table[ENT_TPL_NAME_MAX + 1]; /* "" if none */
    ent_strlist values;
    /* a derived field: its formula in the expression language of
     * spec/reports.md, computed on this node when read and never stored
     * or sent (type text, integer, money or date; private unless the
     * template shares it); owned, NULL for a stored field. The syntax and
     * types are checked by node/reports/derive.h, which this folder
     * cannot include: ent_template_from_json checks only the bounds. */
    char *derived;
} ent_tpl_field;

typedef struct ent_template {
    char type[ENT_TPL_TYPE_MAX + 1];
    bool strict;
    ent_tpl_field *fields; /* owned, nfields entries, in order */
    size_t nfields;
    ent_strlist stages; /* ordered workflow stages; may be empty */
    /* "stage_probability": per stage (same index), the probability of
     * winning in percent 0..100, or -1 when not given; owned, NULL when
     * the template gives none (spec/reports.md "Derived fields") */
    int *stage_pct;
    /* the "workflow" section as the rules CBOR an object carries
     * (spec/workflows.md), owned; NULL when the template has none */
    uint8_t *rules;
    size_t ruleslen;
} ent_template;

/* The result of resolving one field assignment (ent_template_resolve). */
typedef struct ent_resolved {
    char field[ENT_TPL_NAME_MAX + 1];
    ent_visibility visibility; /* where the value goes */
    bool owner_only;
    bool custom;     /* the template does not list this field */
    ent_value value; /* owned: ent_value_clear(); ENT_VT_NULL clears */
} ent_resolved;

/* Frees t and everything it owns. Accepts NULL and half-built templates. */
void ent_template_free(ent_template *t);

/*
 * Validates j and builds a template from it. On failure writes a reason that
 * names the bad key or field into err (errlen bytes, may be NULL).
 * The caller frees *out with ent_template_free(). j is borrowed.
 * @return ENT_OK, ENT_EINVAL (bad template), ENT_ENOMEM.
 */
int ent_template_from_json(const json_t *j, ent_template **out, char *err,
                           size_t errlen);

/*
 * The JSON form of t (new reference; the caller json_decref()s it). Keys
 * whose value is the default are left out, so that equal templates give
 * equal JSON. @return ENT_OK, ENT_ENOMEM.
 */
int ent_template_to_json(const ent_template *t, json_t **out);

/* True if a and b describe the same template (field order matters). */
bool ent_template_equal(const ent_template *a, const ent_template *b);

/* The field of t called name, or NULL. Borrowed from t. */
const ent_tpl_field *ent_template_field(const ent_template *t,
                                        const char *name);

/* True if s is a valid type name ([a-z][a-z0-9_]{0,31}). */
bool ent_template_type_valid(const char *s);
/* True if s is a valid field or table name ([a-z][a-z0-9_]{0,63}). */
bool ent_template_name_valid(const char *s);

/*
 * The built-in template of type (a new template the caller frees).
 * @return ENT_OK, ENT_ENOENT (no built-in of that type), ENT_ENOMEM.
 */
int ent_template_builtin(const char *type, ent_template **out);

/* Names of the built-in types, in a fixed order, NULL-terminated. Static. */
const char *const *ent_template_builtin_types(void);

/*
 * The template of type for this org: the stored one, or else the built-in.
 * @return ENT_OK, ENT_ENOENT (neither), ENT_ECORRUPT (stored JSON does not
 *         parse or validate), ENT_EINVAL (bad type name), ENT_ENOMEM, or a
 *         storage error.
 */
int ent_template_get(ent_txn *txn, const char *type, ent_template **out);

/*
 * Stores t (canonical JSON: sorted keys, compact) under its type, replacing
 * the org's previous template of that type. Stored objects are not touched.
 * @return ENT_OK, ENT_ENOMEM, ENT_ETOOBIG, or a storage error.
 */
int ent_template_put(ent_txn *txn, const ent_template *t);

/*
 * Deletes the org's stored template of type, so that the built-in applies
 * again. @return ENT_OK or ENT_ENOENT.
 */
int ent_template_del(ent_txn *txn, const char *type);

/*
 * The type names that have a template: every stored one and every built-in,
 * sorted, without duplicates. The caller frees *out with ent_strlist_free().
 * @return ENT_OK, ENT_ENOMEM, or a storage error.
 */
int ent_template_list(ent_txn *txn, ent_strlist *out);

/*
 * The org configuration table name (e.g. "regions"): the stored list, or the
 * built-in default list. The caller frees *out with ent_strlist_free().
 * @return ENT_OK, ENT_ENOENT (neither), ENT_ECORRUPT, ENT_ENOMEM, or a
 *         storage error.
 */
int ent_config_get_list(ent_txn *txn, const char *name, ent_strlist *out);

/*
 * The configuration tables: *stored the names this org stored (key order),
 * *all those and the built-in ones, sorted, once each. The caller frees
 * both with ent_strlist_free(). @return ENT_OK, ENT_ENOMEM, storage errors.
 */
int ent_config_tables(ent_txn *txn, ent_strlist *stored, ent_strlist *all);

/* True if name is a built-in configuration table (it has defaults). */
bool ent_config_builtin_table(const char *name);

/*
 * Stores the configuration table name: n distinct, non-empty values of at
 * most ENT_TPL_VALUE_MAX bytes of valid text (ENT_TPL_MAX_VALUES at most).
 * Stored values that use an old entry keep it (see spec/objects.md).
 * @return ENT_OK, ENT_EINVAL, ENT_ENOMEM, or a storage error.
 */
int ent_config_put_list(ent_txn *txn, const char *name,
                        const char *const *values, size_t n);

/*
 * The org's default currency (ISO 4217, upper case) into out: the stored one
 * or "USD". @return ENT_OK, ENT_ECORRUPT, or a storage error.
 */
int ent_config_default_currency(ent_txn *txn, char out[4]);

/* Sets the org's default currency (a known ISO 4217 code).
 * @return ENT_OK, ENT_EINVAL, or a storage error. */
int ent_config_set_default_currency(ent_txn *txn, const char *code);

/* How a user gave a field (ent_template_resolve_as). */
typedef enum ent_resolve_mode {
    ENT_RESOLVE_SHARED = 0,  /* --set: a field the template lists */
    ENT_RESOLVE_PRIVATE = 1, /* --private: listed or a private custom one */
    ENT_RESOLVE_CUSTOM = 2,  /* --custom: a shared field it does not list */
} ent_resolve_mode;

/*
 * The field of tpl whose name is nearest to name by edit distance (at most
 * 1 for names under 4 bytes, 2 under 9, else 3), "stage" included when tpl
 * has stages; NULL when none is that near. Borrowed from tpl (or static).
 */
const char *ent_template_suggest(const ent_template *tpl, const char *name);

/*
 * As ent_template_resolve, with the way the field was given:
 * ENT_RESOLVE_SHARED refuses a field the template does not list with
 * ENT_ESCHEMA, naming the nearest known field (ent_template_suggest) and
 * --custom: a typo never becomes a shared field at every partner;
 * ENT_RESOLVE_CUSTOM takes only such a field (a listed one: ENT_ESCHEMA),
 * as shared text; ENT_RESOLVE_PRIVATE takes both (a private custom field
 * never leaves the node). A strict template refuses unlisted fields in
 * every mode. The field "stage" of a template with stages is an enum of
 * those stages, listed or not: the one stage list.
 */
int ent_template_resolve_as(const ent_template *tpl, ent_txn *txn,
                            const char *field, const char *text,
                            ent_resolve_mode mode, ent_resolved *out,
                            char *err, size_t errlen);

/*
 * Resolves one field assignment typed by a user: `--set field=text`
 * (want_private false) or `--private field=text` (want_private true).
 *
 * - A field the template lists is parsed as its type (enum values from its
 *   list or its config table, money without a code in the org's default
 *   currency). Empty text clears the field (ENT_VT_NULL).
 * - A field the template marks private refuses --set: ENT_ESCHEMA, "field
 *   deal_size is private in template opportunity; use --private". A shared
 *   field given with --private is kept private (never sent).
 * - A field the template does not list is refused for --set (ENT_ESCHEMA,
 *   see ent_template_resolve_as: shared custom fields need --custom) and
 *   is a private custom text field for --private; a strict template
 *   refuses it with ENT_ESCHEMA.
 *
 * txn may be NULL: the built-in configuration tables and "USD" apply then.
 * Defaults are applied by resolving field->default_text the same way.
 * On success the caller clears out->value.
 * @return ENT_OK, ENT_EINVAL (bad field name or value), ENT_ESCHEMA,
 *         ENT_ETOOBIG, ENT_ELIMIT, ENT_ENOMEM, or a storage error; err says
 *         why.
 */
int ent_template_resolve(const ent_template *tpl, ent_txn *txn,
                         const char *field, const char *text, bool want_private,
                         ent_resolved *out, char *err, size_t errlen);

/* The JSON of the built-in mdf_budget and mdf_request templates
 * (template_mdf.c) and deal_registration (template_deal.c), for
 * template.c's table of built-ins. */
extern const char ent__tpl_mdf_budget[];
extern const char ent__tpl_mdf_request[];
extern const char ent__tpl_deal_registration[];

#endif
