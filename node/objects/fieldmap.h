/*
 * fieldmap.h - an org's own names for the fields and values of an object
 * type (spec/reports.md "Field maps"): own field name -> the shared field
 * name of the type's template, and, per shared field, own value -> shared
 * value ("opp_title" -> "name"; stage "Qualify" -> "Qualification").
 * Reports, CRM mapping files and the CLI take and print the org's own
 * names through it.
 *
 * A map is local configuration: it is kept in this node's "config" table
 * (key "fieldmap/TYPE", compact JSON) and never leaves the node in any
 * form; ops, templates and objects always carry the shared names.
 *
 * The JSON form, the canonical one stored and answered by the API:
 *
 *   {"type": "opportunity",
 *    "fields": {"opp_title": "name", "deal_stage": "stage"},
 *    "values": {"stage": {"Qualify": "Qualification"}}}
 *
 * "values" is keyed by the shared field name (an own name is accepted and
 * stored as its shared name). A map is a plain value: build one with
 * ent_fieldmap_from_json() and free it with ent_fieldmap_free().
 */
#ifndef ENT_FIELDMAP_H
#define ENT_FIELDMAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/objects/template.h"
#include "storage/store.h"

#define ENT_FM_FIELDS_MAX 256  /* field entries of one map */
#define ENT_FM_VFIELDS_MAX 64  /* fields with a value map */
#define ENT_FM_VALUES_MAX 1024 /* value entries of one field */
#define ENT_FM_JSON_MAX 65536  /* bytes of one map document */
#define ENT_FM_ERR_MAX 512     /* bytes of an error message */
#define ENT_FM_ARGS_MAX 1024   /* arguments of ent_fieldmap_doc_from_args */

typedef struct ent_fieldmap ent_fieldmap;

/*
 * Checks doc and builds the map. tpl, when not NULL, is the org's template
 * of doc's type: every shared name must be one of its fields (or "stage"
 * when it has stages), a shared value one of the field's allowed values
 * (inline values and stages; with txn not NULL, a configuration table's
 * too), an own name none of its fields. Refused, with err saying which
 * entry and why: unknown keys, an own or shared name that is not a field
 * name ([a-z][a-z0-9_]{0,63}: an overlong one says so), a name or value
 * mapped onto itself, two own names (values) onto one shared name (value),
 * a cycle or chain (an own name that is another entry's shared name),
 * a reserved own name (partner, partnered, month, quarter, year, none), a
 * value map of a field that is not text or enum, an empty map, the bounds
 * above. doc is borrowed; free *out with ent_fieldmap_free().
 * @return ENT_OK, ENT_EINVAL, ENT_ELIMIT, ENT_ENOMEM, storage errors.
 */
int ent_fieldmap_from_json(const json_t *doc, const ent_template *tpl,
                           ent_txn *txn, ent_fieldmap **out, char *err,
                           size_t errlen);

/* ent_fieldmap_from_json() of the JSON text buf (len bytes, at most
 * ENT_FM_JSON_MAX, duplicate keys refused), shape checks only (no
 * template). @return as ent_fieldmap_from_json, ENT_ETOOBIG. */
int ent_fieldmap_parse(const uint8_t *buf, size_t len, ent_fieldmap **out,
                       char *err, size_t errlen);

/*
 * The map document of command-line arguments (spec/cli.md "fieldmap"):
 * each argument is OWN=SHARED (a field name) or FIELD:OWN=SHARED (a value
 * of FIELD, given by its own or shared name; the value text is what
 * follows the first ':' up to the first '='). Shapes only: the caller
 * checks the result with ent_fieldmap_from_json(). *doc is a new
 * reference. @return ENT_OK, ENT_EINVAL (err names the argument),
 * ENT_ELIMIT, ENT_ENOMEM.
 */
int ent_fieldmap_doc_from_args(const char *type, const char *const *args,
                               size_t n, json_t **doc, char *err,
                               size_t errlen);

/* Frees m. Accepts NULL. */
void ent_fieldmap_free(ent_fieldmap *m);

/* The map's type. Borrowed from m. */
const char *ent_fieldmap_type(const ent_fieldmap *m);

/* The canonical JSON form of m (new reference, NULL on ENOMEM). */
json_t *ent_fieldmap_to_json(const ent_fieldmap *m);

/*
 * Translations; every result is borrowed from m (valid until it is freed)
 * and NULL when m (which may be NULL) does not map the name or value.
 * Names are compared exactly, values ignoring ASCII case.
 */
/* own field name (len bytes) -> shared name */
const char *ent_fieldmap_shared_name(const ent_fieldmap *m, const char *own,
                                     size_t len);
/* shared field name -> own name */
const char *ent_fieldmap_own_name(const ent_fieldmap *m, const char *shared);
/* own value of shared field -> shared value */
const char *ent_fieldmap_shared_value(const ent_fieldmap *m,
                                      const char *shared_field, const char *own,
                                      size_t len);
/* shared value of shared field -> own value */
const char *ent_fieldmap_own_value(const ent_fieldmap *m,
                                   const char *shared_field, const char *shared,
                                   size_t len);
/* true if shared_field has a value map */
bool ent_fieldmap_has_values(const ent_fieldmap *m, const char *shared_field);
/* The value pairs of shared_field: *n pairs, own[i] -> shared[i], borrowed
 * from m (NULL, 0 when none). */
void ent_fieldmap_values(const ent_fieldmap *m, const char *shared_field,
                         const char *const **own, const char *const **shared,
                         size_t *n);

/*
 * The fields object of an object's JSON (spec/objects.md: field name ->
 * value; "shared" or "private" of `object show`) in the org's own names: a
 * new object (NULL on ENOMEM) whose keys are own names where m maps them
 * and whose text values are own values where m maps them; other keys and
 * values are copied. fields is borrowed; m may be NULL (a copy).
 */
json_t *ent_fieldmap_own_fields(const ent_fieldmap *m, const json_t *fields);

/* ---- storage (the "config" table, key "fieldmap/TYPE") ----------------- */

/*
 * Checks doc against the org's template of its type (as
 * ent_fieldmap_from_json) and stores its canonical form, replacing the
 * type's map. Nothing is written when it is refused.
 * @return ENT_OK, ENT_EINVAL, ENT_ELIMIT (as above), ENT_ENOENT (no
 *         template of the type), ENT_ENOMEM, storage errors.
 */
int ent_fieldmap_put(ent_txn *txn, const json_t *doc, char *err, size_t errlen);

/* The stored map of type into *out (shape-checked only: the template may
 * have changed since). @return ENT_OK, ENT_ENOENT (none), ENT_ECORRUPT,
 * ENT_ENOMEM, storage errors. */
int ent_fieldmap_get(ent_txn *txn, const char *type, ent_fieldmap **out);

/* Removes the map of type. @return ENT_OK, ENT_ENOENT, storage errors. */
int ent_fieldmap_del(ent_txn *txn, const char *type);

/* Every stored map, in type order, as an array of documents (new
 * reference). @return ENT_OK, ENT_ECORRUPT, ENT_ENOMEM, storage errors. */
int ent_fieldmap_list(ent_txn *txn, json_t **out);

#endif
