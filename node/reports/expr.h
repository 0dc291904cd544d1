/*
 * expr.h - the small expression language of reports (spec/reports.md
 * "Expressions"): `--where` filters, and later the derived fields of
 * templates.
 *
 *   stage in ("Proposal", "Negotiation") and deal_size >= 100000 USD
 *   close_date >= 2026-01-01 and not region = "EMEA"
 *
 * An expression is compiled once against the fields it may name (a lookup
 * callback gives each field's type and a slot number), type-checked at
 * compile time, then evaluated once per object over the values of those
 * slots. There are no loops, no calls and no recursion at run time beyond
 * the tree itself: the cost of one evaluation is bounded by the number of
 * nodes (at most ENT_EXPR_NODES_MAX). Numbers are exact (integers and
 * decimals with up to 6 digits after the point, int64 scaled by 10^6);
 * money stays integer minor units, money × number stays money. Nothing
 * here touches the store.
 */
#ifndef ENT_EXPR_H
#define ENT_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/value.h"

#define ENT_EXPR_TEXT_MAX 1024 /* bytes of an expression */
#define ENT_EXPR_NODES_MAX 128 /* nodes of the compiled tree */
#define ENT_EXPR_DEPTH_MAX 32  /* nesting of the compiled tree */
#define ENT_EXPR_ERR_MAX 256   /* size of an error message buffer */
#define ENT_EXPR_SCALE 1000000 /* a number is int64 scaled by this */

/* The static type of an expression. */
typedef enum ent_xtype {
    ENT_XT_NULL = 0, /* the literal null */
    ENT_XT_BOOL,
    ENT_XT_NUM,   /* integer or decimal */
    ENT_XT_MONEY, /* minor units of one currency */
    ENT_XT_DATE,  /* days since 1970-01-01 */
    ENT_XT_TEXT,  /* text, enum and org values */
} ent_xtype;

/* A run-time value. Text points into the expression or into a slot value
 * and is valid for the evaluation. */
typedef struct ent_xval {
    ent_xtype t; /* ENT_XT_NULL: null (unknown) */
    union {
        bool b;
        int64_t n; /* NUM: scaled by ENT_EXPR_SCALE */
        struct {
            int64_t minor;
            char cur[4];
        } m;
        int32_t d;
        struct {
            const char *s;       /* NULL for an org value */
            size_t len;
            const uint8_t *org; /* an org value: its 32-byte key */
        } s;
    } u;
} ent_xval;

typedef struct ent_expr ent_expr;

/*
 * Resolves a field name (len bytes, not NUL-terminated) for the compiler:
 * sets *type (ENT_VT_TEXT.. ENT_VT_ORG) and *slot (0..255) and returns
 * true, or false for a field the caller does not offer.
 */
typedef bool (*ent_expr_lookup)(void *data, const char *name, size_t len,
                                ent_vtype *type, unsigned *slot);

/*
 * Compiles text (NUL-terminated, at most ENT_EXPR_TEXT_MAX bytes). On
 * failure writes "at N: why" (N the 1-based byte position) into err and
 * leaves *out NULL. The caller frees *out with ent_expr_free().
 * @return ENT_OK, ENT_EINVAL (syntax, unknown field, type error),
 *         ENT_ELIMIT (too long, too many nodes, too deep), ENT_ENOMEM.
 */
int ent_expr_compile(const char *text, ent_expr_lookup lookup, void *data,
                     ent_expr **out, char *err, size_t errlen);

/* The static type of a compiled expression. */
ent_xtype ent_expr_type(const ent_expr *e);

/* Frees e. Accepts NULL. */
void ent_expr_free(ent_expr *e);

/*
 * Evaluates e. slot(data, i) gives the value of slot i (NULL: the field is
 * absent). The result's text, if any, is borrowed from e or the slots.
 * Errors at run time (a sum that overflows, money of two currencies, a
 * division by zero) give null, never a failure.
 */
void ent_expr_eval(const ent_expr *e,
                   const ent_value *(*slot)(void *data, unsigned i),
                   void *data, ent_xval *out);

/* True if e evaluates to the boolean true (a filter keeps the object). */
bool ent_expr_test(const ent_expr *e,
                   const ent_value *(*slot)(void *data, unsigned i),
                   void *data);

/*
 * Rewrites the text literals compared with a field: FIELD = "x", FIELD !=
 * "x", "x" = FIELD (and != ) and FIELD in ("x", ...). fn(data, slot, s,
 * len) gets the field's slot and the literal and returns its replacement
 * (NUL-terminated; it must outlive e) or NULL to keep it. Reports use it
 * for an org's own value names (node/objects/fieldmap.h).
 */
void ent_expr_map_text(ent_expr *e,
                       const char *(*fn)(void *data, unsigned slot,
                                         const char *s, size_t len),
                       void *data);

/* Name of a type ("bool", "number", "money", "date", "text", "null"). */
const char *ent_xtype_name(ent_xtype t);

#endif
