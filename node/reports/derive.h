/*
 * derive.h - derived fields of templates (spec/reports.md "Derived
 * fields"): a formula in the expression language of expr.h over the
 * object's own fields, computed on this node when it is read, never
 * stored and never sent.
 *
 *   {"name": "weighted_amount", "type": "money",
 *    "derived": "deal_size * stage_probability / 100"}
 *   {"name": "days_in_stage", "type": "integer",
 *    "derived": "today - stage_since"}
 *   {"name": "health", "type": "text", "derived":
 *    "if close_date < today and stage_probability < 100 then \"late\"
 *     else \"on track\""}
 *
 * A formula names the template's stored fields (not other derived fields,
 * so there is no cycle) and four built-in names, each of which a stored
 * field of the same name hides: today (date, this node's day in UTC),
 * created (date of the genesis op's HLC), stage_since (date of the write
 * of the current stage), stage_probability (integer percent of the
 * current stage from the template's "stage_probability"). A derived field
 * is private unless its template says "visibility": "shared"; a shared one
 * may name only shared fields, so that no private value reaches what the
 * org shows as shared.
 */
#ifndef ENT_DERIVE_H
#define ENT_DERIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "node/objects/template.h"
#include "node/reports/expr.h"
#include "storage/store.h"

/* The built-in names of formulas and of --where. */
typedef enum ent_derive_builtin {
    ENT_DB_TODAY = 0,
    ENT_DB_CREATED,
    ENT_DB_STAGE_SINCE,
    ENT_DB_STAGE_PROBABILITY,
    ENT_DB__COUNT
} ent_derive_builtin;

/* What an object's built-in names are computed from. */
typedef struct ent_derive_facts {
    uint64_t now_ms;         /* "today" */
    uint64_t created_ms;     /* 0: unknown (created is null) */
    uint64_t stage_since_ms; /* 0: unknown (stage_since is null) */
} ent_derive_facts;

/*
 * Whether name (len bytes) is a built-in name that t does not hide with a
 * field of its own; sets *which and *type (ENT_VT_DATE or ENT_VT_INT).
 */
bool ent_derive_builtin_find(const ent_template *t, const char *name,
                             size_t len, ent_derive_builtin *which,
                             ent_vtype *type);

/*
 * The value of built-in which for an object: stage is the object's stage
 * value (NULL: none), facts the rest. *out is NULL-typed when unknown.
 */
void ent_derive_builtin_value(const ent_template *t, ent_derive_builtin which,
                              const ent_value *stage,
                              const ent_derive_facts *facts, ent_value *out);

/*
 * The wall-clock ms of the latest stored write of obj's stage whose value
 * is stage (ASCII case ignored) into *ms, 0 when none: the built-in
 * stage_since. @return ENT_OK, ENT_ECORRUPT, ENT_ENOMEM, storage errors.
 */
int ent_derive_stage_since(ent_txn *txn, const uint8_t obj[32],
                           const ent_value *stage, uint64_t *ms);

/*
 * Checks every derived field of t: its formula compiles against the
 * template's stored fields and the built-in names, its type fits the
 * field's (integer from a number, rounded half away from zero; money,
 * date and text as they are), and a shared one names no private field.
 * On failure writes "field NAME: at N: why" into err.
 * @return ENT_OK, ENT_EINVAL, ENT_ELIMIT, ENT_ENOMEM.
 */
int ent_derive_check(const ent_template *t, char *err, size_t errlen);

/*
 * Compiles the formula of derived field f of t with the caller's lookup
 * (which must resolve the names ent_derive_check allows).
 * @return as ent_expr_compile().
 */
int ent_derive_compile(const ent_template *t, const ent_tpl_field *f,
                       ent_expr_lookup lookup, void *data, ent_expr **out,
                       char *err, size_t errlen);

/*
 * The result x of a formula as a value of field type vt into *out (NULL
 * typed when x is null or does not fit). @return ENT_OK, ENT_ENOMEM.
 */
int ent_derive_value(const ent_xval *x, ent_vtype vt, ent_value *out);

/*
 * Adds "derived": {NAME: VALUE|null, ...} to shown, the JSON of
 * ent_obj_show_json() for object id of template t, read in txn at now_ms;
 * with hide_private the private derived fields are left out, and the
 * shared ones see shared fields only. Every derived field of t is listed
 * (null when a name it uses is unset), in template order; a template with
 * no derived field adds nothing.
 * @return ENT_OK, ENT_ENOMEM, storage errors.
 */
int ent_derive_show(ent_txn *txn, const ent_template *t,
                    const uint8_t id[32], uint64_t now_ms, bool hide_private,
                    json_t *shown);

#endif
