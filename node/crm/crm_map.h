/*
 * crm_map.h - mapping files: which CSV column fills which field, and the
 * per-row value transforms between a CRM's cells and Entente values.
 *
 * A mapping file is a JSON document (spec/crm.md §2 specifies every key):
 *
 *   {"entente_map": 1, "name": "Salesforce Opportunity export",
 *    "type": "opportunity", "source": "salesforce", "separator": ",",
 *    "columns": [
 *      {"column": "Opportunity ID", "field": "salesforce_id",
 *       "external_id": true},
 *      {"column": "Stage", "field": "stage",
 *       "values": {"Id. Decision Makers": "Qualification"}},
 *      {"column": "Close Date", "field": "close_date",
 *       "date": "MM/DD/YYYY"},
 *      {"column": "Amount", "field": "deal_size", "visibility": "private",
 *       "currency_column": "Opportunity Currency",
 *       "default_currency": "USD", "decimal": "."},
 *      {"column": "Partner Account", "field": "influenced_by",
 *       "orgs": {"Globex Partners": "<org id>"}}]}
 *
 * The life of a map: ent_crm_map_parse() checks the document alone (keys,
 * value shapes, bounds); ent_crm_map_bind() checks it against the fields
 * of the target (an object template, or any list of typed fields such as
 * the account list's) and learns each field's type; ent_crm_map_header()
 * finds the map's columns in a CSV header; then ent_crm_map_row() turns
 * each record into field assignments, and ent_crm_map_export_*() turns
 * values back into cells (the same map in reverse: exporting and
 * importing again gives the same values).
 *
 * Every error names where it is: for a map, the file and the column entry
 * ("opp.json: columns[3] (\"Close Date\"): unknown field \"close_dat\"
 * (did you mean close_date?)"); for a row, the CSV file, line and column
 * ("deals.csv: line 12, column 5 (Close Date): \"31/12/2026\" is not a
 * date in the format MM/DD/YYYY").
 *
 * This header is the stable interface the account import (node/overlap/)
 * shares with the CRM import. A map is immutable after ent_crm_map_header()
 * and may then be read from several threads.
 */
#ifndef ENT_CRM_MAP_H
#define ENT_CRM_MAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "node/crm/csv.h"
#include "node/objects/fieldmap.h"
#include "node/objects/template.h"
#include "node/objects/value.h"

#define ENT_CRM_MAP_FILE_MAX (1024u * 1024) /* bytes of a mapping file */
#define ENT_CRM_MAP_COLUMNS_MAX 256         /* column entries of a map */
#define ENT_CRM_MAP_VALUES_MAX 1024         /* entries of a values/orgs map */
#define ENT_CRM_MAP_NAME_MAX 256            /* bytes of a column name */
#define ENT_CRM_EXTID_MAX 255               /* bytes of an external id */
#define ENT_CRM_SOURCE_MAX 32               /* bytes of a source name */
#define ENT_CRM_ERR_MAX 512                 /* bytes of an error message */

typedef struct ent_crm_map ent_crm_map;

/* Date formats of a "date" column. ISO also takes a date-time
 * ("2026-03-31T17:00:00Z", "2026-03-31 17:00"): its date part counts. */
typedef enum ent_crm_date_fmt {
    ENT_CRM_DATE_ISO = 0, /* "YYYY-MM-DD" */
    ENT_CRM_DATE_MDY,     /* "MM/DD/YYYY" (US; 1 or 2 digit month, day) */
    ENT_CRM_DATE_DMY,     /* "DD/MM/YYYY" */
    ENT_CRM_DATE_DMY_DOT, /* "DD.MM.YYYY" (German locales) */
} ent_crm_date_fmt;

/* A field a map may fill (the target of ent_crm_map_bind_fields()). */
typedef struct ent_crm_field {
    const char *name;          /* [a-z][a-z0-9_]{0,63} */
    ent_vtype type;            /* ENT_VT_TEXT .. ENT_VT_ORG */
    ent_visibility visibility; /* its default visibility */
} ent_crm_field;

/* How one field is given by a row (ent_crm_values.v). */
typedef struct ent_crm_value {
    const char *field; /* borrowed from the map */
    /* the value in the --set syntax of spec/cli.md ("1200.50 EUR",
     * "2026-03-31", an org id, text); "" clears the field. Owned by the
     * ent_crm_values. */
    char *text;
    bool private_;        /* goes to the private table (never sent) */
    bool custom;          /* a shared field the template does not list */
    unsigned long column; /* CSV column it came from, 1-based */
} ent_crm_value;

/* The assignments of one row; ent_crm_values_clear() frees what it owns. */
typedef struct ent_crm_values {
    char extid[ENT_CRM_EXTID_MAX + 1]; /* the external id ("" if none) */
    ent_crm_value *v;
    size_t n, cap;
} ent_crm_values;

/* Resolves an org name of an "org" column that the map's "orgs" table does
 * not hold (e.g. against the names of known partners): copies the org id
 * (ENT_ORG_ID_LEN characters) into id. @return ENT_OK or ENT_ENOENT. */
typedef int (*ent_crm_org_lookup)(void *data, const char *name,
                                  char id[ENT_ORG_ID_LEN + 1]);

/* Options of ent_crm_map_row(); zeroed: no lookup. */
typedef struct ent_crm_row_opts {
    ent_crm_org_lookup org_lookup; /* may be NULL */
    void *org_lookup_data;
} ent_crm_row_opts;

/*
 * Parses a mapping document of len bytes at buf. name is what errors call
 * the file. Checks shapes and bounds only (bind checks the fields).
 * Unknown keys, a duplicate column or field, a second external id, bad
 * date/decimal/visibility/empty words, a "values" map with a non-string
 * value, a source or field name that breaks the name rule: ENT_EINVAL with
 * err saying where. Free *out with ent_crm_map_free().
 * @return ENT_OK, ENT_EINVAL, ENT_ETOOBIG (over ENT_CRM_MAP_FILE_MAX or a
 *         bound above), ENT_ENOMEM.
 */
int ent_crm_map_parse(ent_crm_map **out, const uint8_t *buf, size_t len,
                      const char *name, char *err, size_t errlen);

/* ent_crm_map_parse() of the file at path (errors call it by path).
 * @return as ent_crm_map_parse, ENT_ENOENT, ENT_EPERM, ENT_EIO. */
int ent_crm_map_load(ent_crm_map **out, const char *path, char *err,
                     size_t errlen);

/* Frees m. Accepts NULL. */
void ent_crm_map_free(ent_crm_map *m);

/* The map's "type" (the object type, or e.g. "account"), "source" (the
 * external id's namespace, "" if none), "name", and separator (0: detect).
 * Borrowed from m. */
const char *ent_crm_map_type(const ent_crm_map *m);
const char *ent_crm_map_source(const ent_crm_map *m);
const char *ent_crm_map_name(const ent_crm_map *m);
char ent_crm_map_sep(const ent_crm_map *m);

/* The field the external id column fills (NULL: the map has none). */
const char *ent_crm_map_extid_field(const ent_crm_map *m);

/*
 * Binds m to the template tpl: every field a column names must be listed
 * by tpl (or be marked "custom": true, a shared text field, or be private:
 * a private custom text field; a strict template takes neither), a column
 * "type" must equal the field's type, a shared column may not fill a field
 * the template keeps private, "date" only on date fields, currency keys only
 * on money fields, "orgs" only on org fields. A field's "values" targets
 * are checked against its allowed values when they are inline (a config
 * table is checked row by row). m's type must equal tpl's type.
 * @return ENT_OK or ENT_ESCHEMA (err names the column entry).
 */
int ent_crm_map_bind(ent_crm_map *m, const ent_template *tpl, char *err,
                     size_t errlen);

/*
 * Translates the org's own names in m with its field map fm of m's type
 * (spec/crm.md §2.5), before ent_crm_map_bind(): a column's "field" that
 * is an own field name becomes the shared name, a "values" target that is
 * an own value of the field becomes the shared value, and every own value
 * of the field that the column's "values" does not already map is added
 * to it (own -> shared), so that cells holding the org's own values
 * import, and an export writes them where the CRM's names do not apply.
 * fm NULL: nothing. Two columns that then fill one field, or more than
 * ENT_CRM_MAP_VALUES_MAX values: ENT_EINVAL, err naming the entry.
 * @return ENT_OK, ENT_EINVAL, ENT_ENOMEM.
 */
int ent_crm_map_apply_fieldmap(ent_crm_map *m, const ent_fieldmap *fm,
                               char *err, size_t errlen);

/* As ent_crm_map_bind, against n plain fields (no custom fields).
 * @return ENT_OK or ENT_ESCHEMA. */
int ent_crm_map_bind_fields(ent_crm_map *m, const ent_crm_field *fields,
                            size_t n, char *err, size_t errlen);

/*
 * Finds the map's columns in the header record hdr of the CSV file file
 * (matched exactly, then ignoring ASCII case and surrounding spaces). A
 * column of the map that is missing, unless "optional": true, and a column
 * name that the header holds twice: ENT_ESCHEMA, err naming the file,
 * line 1 and the column. Columns the map does not name are ignored.
 * @return ENT_OK, ENT_ESCHEMA, ENT_EINVAL (not bound yet).
 */
int ent_crm_map_header(ent_crm_map *m, const ent_csv_row *hdr, const char *file,
                       char *err, size_t errlen);

/* Number of cells the header had (every row must have as many). */
size_t ent_crm_map_ncols(const ent_crm_map *m);

/*
 * The rule for an external id, the same for a CSV cell (the CLI) and a row
 * the node receives (POST /v1/crm/import): 1..ENT_CRM_EXTID_MAX bytes of
 * text that passes ent_text_valid() (valid UTF-8, no control character
 * but tab). Returns ENT_OK, or ENT_EINVAL with the reason in why (whylen
 * bytes, NUL-terminated; why may be NULL).
 */
int ent_crm_extid_check(const char *s, size_t len, char *why, size_t whylen);

/*
 * Turns the record row of file into field assignments: the external id
 * (required and non-empty when the map has one, at most ENT_CRM_EXTID_MAX
 * bytes of text), then one ent_crm_value per column that has a value: a
 * picklist value through "values" (ASCII case ignored; unmapped values
 * pass as they are), a date into YYYY-MM-DD by the column's format, an
 * amount (thousands separators and the column's decimal mark) with the
 * code of its currency column or its default currency, an integer without
 * thousands separators, an org name through "orgs", then opts->org_lookup,
 * else as it is (the template decides whether text is allowed). An empty
 * cell gives nothing, or a clearing value with "empty": "clear". A row
 * with another number of cells than the header (a file cut off mid-row):
 * refused. out is cleared first; on error it holds nothing.
 * @return ENT_OK, ENT_EINVAL (a bad value: err "FILE: line L, column C
 *         (NAME): why"), ENT_ENOMEM.
 */
int ent_crm_map_row(const ent_crm_map *m, const ent_csv_row *row,
                    const char *file, const ent_crm_row_opts *opts,
                    ent_crm_values *out, char *err, size_t errlen);

/* Frees what v owns and empties it (v stays usable). Accepts NULL. */
void ent_crm_values_clear(ent_crm_values *v);

/*
 * Export, the map in reverse. The header: every column of the map in
 * order, each currency column right after the amount column that names it
 * (once). The cells array of *n strings is borrowed from m.
 */
const char *const *ent_crm_map_export_header(const ent_crm_map *m, size_t *n);

/*
 * One export row of an object: shared and private are the maps of
 * ent_obj_show_json() (field name -> ent_value_to_json() form; private may
 * be NULL), extid its external id (NULL: taken from the private field the
 * external id column fills). With hide_private, columns that fill private
 * fields are written empty (the external id too, unless given). Cells are
 * the reverse of ent_crm_map_row(): a value mapped by "values" as the first
 * key that maps onto it, dates in the column's format, amounts with the
 * column's decimal mark and no thousands separators (the code in the
 * currency column), org ids through "orgs" in reverse. *cells is an array
 * of *n malloc'd strings in header order; free it with
 * ent_crm_cells_free().
 * @return ENT_OK, ENT_ENOMEM, ENT_EINVAL (not bound).
 */
int ent_crm_map_export_row(const ent_crm_map *m, const json_t *shared,
                           const json_t *private_, const char *extid,
                           bool hide_private, char ***cells, size_t *n);

/* Frees n strings and the array of ent_crm_map_export_row(). */
void ent_crm_cells_free(char **cells, size_t n);

/* Parses the date text s in format fmt into days since 1970-01-01
 * (exposed for tests). @return ENT_OK or ENT_EINVAL. */
int ent_crm_parse_date(const char *s, ent_crm_date_fmt fmt, int32_t *days);

#endif
