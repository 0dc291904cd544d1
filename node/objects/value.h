/*
 * value.h - parsing, formatting and comparing typed field values.
 *
 * The value struct itself (ent_value) lives in protocol/value.h because it is
 * part of op bodies. This module turns what people type on the command line
 * or in the local API ("1200000.50 EUR", "2026-03-31", an org id) into an
 * ent_value of a given field type and formats values back, as text and as
 * JSON. Everything is exact: money is integer minor units using the ISO 4217
 * minor-unit exponent of its currency, and no floating point is used
 * anywhere. The accepted syntax is specified in spec/objects.md ("Values").
 *
 * Every parse function writes a human-readable reason into err (errlen bytes,
 * NUL-terminated, may be NULL) when it fails, and leaves *out as ENT_VT_NULL.
 */
#ifndef ENT_NODE_VALUE_H
#define ENT_NODE_VALUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/jtext.h"
#include "protocol/value.h"

#define ENT_CURRENCY_EXP_MAX 4 /* largest minor-unit exponent we know */
#define ENT_DATE_MIN_YEAR 1    /* dates are 0001-01-01 .. 9999-12-31 */
#define ENT_DATE_MAX_YEAR 9999

/* Options for ent_value_parse(). Pointers are borrowed for the call. */
typedef struct ent_value_opts {
    /* money typed without a currency code takes this one; NULL: the code is
     * required */
    const char *default_currency;
    /* enum: the allowed values (matched ignoring ASCII case; the stored value
     * is the allowed spelling). nallowed 0 means no value is allowed. */
    const char *const *allowed;
    size_t nallowed;
} ent_value_opts;

/* Field type names: "text", "integer", "money", "date", "enum", "org",
 * "ref"; "null"
 * for ENT_VT_NULL. Static storage; NULL for an unknown type. */
const char *ent_vtype_name(ent_vtype t);

/* Parses a field type name (not "null"). @return ENT_OK or ENT_EINVAL. */
int ent_vtype_parse(const char *s, ent_vtype *out);

/* Frees what v owns and sets it to ENT_VT_NULL. Accepts NULL. */
void ent_value_clear(ent_value *v);

/*
 * Deep copy of src into dst. dst is overwritten without being cleared first
 * (clear it yourself if it held text); the caller clears dst later.
 * @return ENT_OK or ENT_ENOMEM (dst is ENT_VT_NULL then).
 */
int ent_value_copy(ent_value *dst, const ent_value *src);

/* True if a and b have the same type and the same content. */
bool ent_value_equal(const ent_value *a, const ent_value *b);

/*
 * True if the len bytes at s are acceptable text: valid UTF-8 (no overlong
 * forms, no surrogates, nothing above U+10FFFF), at most ENT_VALUE_TEXT_MAX
 * bytes, and no control characters (C0, DEL, C1) except tab.
 */
bool ent_text_valid(const char *s, size_t len);

#define ENT_VALUE_ENUM_MAX 256 /* bytes of an enum value (an allowed value) */

/*
 * The value rules (spec/objects.md "Values"), the one check for values this
 * node writes and values received from partners: text passes
 * ent_text_valid(); an enum value is 1..ENT_VALUE_ENUM_MAX bytes of such
 * text; money has a currency of three upper-case ASCII letters; the type
 * is one of ent_vtype. Integers, dates and org ids have no further rule
 * (a partner's date or currency this node cannot print is still kept).
 * @return ENT_OK or ENT_EBADVALUE.
 */
int ent_value_check(const ent_value *v);

/*
 * True if s is a field name by the value rules: [a-z][a-z0-9_]{0,63}
 * (the template's field name rule, spec/objects.md "Templates").
 */
bool ent_value_name_valid(const char *s);

/*
 * Sets *out to a text (ENT_VT_TEXT) or enum (ENT_VT_ENUM) value holding a
 * copy of the len bytes at s, which must pass ent_text_valid().
 * @return ENT_OK, ENT_EINVAL, ENT_ENOMEM.
 */
int ent_value_set_text(ent_value *out, ent_vtype type, const char *s,
                       size_t len);

/*
 * Parses text (NUL-terminated, what a person typed) as a value of field type
 * type. Text is taken as is; for the other types leading and trailing spaces
 * and tabs are ignored. See spec/objects.md for each syntax.
 * @return ENT_OK, ENT_EINVAL (bad syntax, unknown currency, not an allowed
 *         enum value, ...), ENT_ETOOBIG (text too long), ENT_ELIMIT (number
 *         out of range), ENT_ENOMEM. err says why.
 */
int ent_value_parse(ent_value *out, ent_vtype type, const char *text,
                    const ent_value_opts *opts, char *err, size_t errlen);

/*
 * Minor-unit exponent of an ISO 4217 currency code (upper case, 3 letters):
 * 2 for USD, 0 for JPY, 3 for BHD. @return ENT_OK or ENT_EINVAL (unknown).
 */
int ent_currency_exponent(const char *code, unsigned *exp);

/* True if code is a currency this build knows (upper case). */
bool ent_currency_known(const char *code);

/*
 * Days since 1970-01-01 of a calendar date (proleptic Gregorian).
 * @return ENT_OK, or ENT_EINVAL for a date that does not exist or lies
 *         outside years ENT_DATE_MIN_YEAR..ENT_DATE_MAX_YEAR.
 */
int ent_date_from_ymd(int y, int m, int d, int32_t *days);

/* Calendar date of days since 1970-01-01. @return ENT_OK or ENT_EINVAL
 * (outside years ENT_DATE_MIN_YEAR..ENT_DATE_MAX_YEAR). */
int ent_date_to_ymd(int32_t days, int *y, int *m, int *d);

/* Formats an object id (a ref value's payload) as 64 lower-case hex
 * characters and a NUL into out. */
void ent_value_ref_format(char out[65], const uint8_t ref[32]);

/*
 * Formats v as text, in the syntax ent_value_parse() accepts: money as
 * "1200000.50 EUR", dates as "YYYY-MM-DD", orgs as their 52-character id, refs
 * as the linked object's 64-hex-character id, null as "". *out is malloc'd; the
 * caller frees it.
 * @return ENT_OK, ENT_EINVAL (unknown currency, date out of range, bad
 *         type), ENT_ENOMEM.
 */
int ent_value_format(const ent_value *v, char **out);

/*
 * v as a new JSON value (the caller json_decref()s *out): text, enum and date
 * as strings, integer as integer, money as
 * {"amount":"1200000.50","currency":"EUR","minor":120000050}, org as its id
 * string, null as null. Values this node cannot format but may receive from
 * a partner stay exact: money in a currency missing from our table is
 * {"currency":"XYZ","minor":250000} (no "amount"), a date outside years
 * 1..9999 is {"days":N}. @return ENT_OK, ENT_EINVAL (bad type), ENT_ENOMEM.
 */
int ent_value_to_json(const ent_value *v, json_t **out);

/*
 * v appended to t as JSON text: exactly what ent_events_json_compact()
 * writes for ent_value_to_json()'s value, without making that value.
 * @return ENT_OK, ENT_EINVAL (bad type, text that is not valid UTF-8),
 *         ENT_ENOMEM (t->oom).
 */
int ent_value_json_text(const ent_value *v, ent_jtext *t);

/* True if the alen bytes at a equal the string b, ASCII letters compared
 * without case (enum values, stage and field names: spec/objects.md). */
bool ent_ascii_caseeq(const char *a, size_t alen, const char *b);

#endif
