/*
 * report.h - reports over the objects this node holds (spec/reports.md):
 * pipeline, attribution, win-rate, deal-size and cycle-time, grouped by
 * fields, filtered by an expression (node/reports/expr.h) and a date
 * range, with money kept per currency or converted with the org's
 * exchange-rate table, for one caller under its access policy.
 *
 * A report reads one LMDB read transaction: the objects of the type, each
 * object's shared fields and (unless hide_private) this org's private
 * ones. Nothing leaves the node; nothing is written.
 */
#ifndef ENT_REPORT_H
#define ENT_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/access/policy.h"
#include "storage/store.h"

#define ENT_RPT_BY_MAX 4        /* fields of --by */
#define ENT_RPT_GROUPS_MAX 10000 /* groups of one report */
#define ENT_RPT_ERR_MAX 512
#define ENT_RPT_RATES_TABLE "rates" /* config table of exchange rates */

typedef enum ent_rpt_kind {
    ENT_RPT_PIPELINE = 0,
    ENT_RPT_ATTRIBUTION,
    ENT_RPT_WIN_RATE,
    ENT_RPT_DEAL_SIZE,
    ENT_RPT_CYCLE_TIME,
    ENT_RPT_MDF,  /* report_link.c: budget use per program and partner */
    ENT_RPT_PLAN, /* report_link.c: plans against their targets */
    ENT_RPT__COUNT
} ent_rpt_kind;

/* What to report; every string is borrowed for the call, NULL: default. */
typedef struct ent_rpt_opts {
    ent_rpt_kind kind;
    const char *type;     /* object type; NULL: "opportunity" */
    const char *by;       /* FIELD[:BUCKET][,...]; NULL: the report's */
    const char *where;    /* expression (expr.h); NULL: every object */
    const char *from;     /* YYYY-MM-DD: date field on or after; NULL */
    const char *to;       /* YYYY-MM-DD: date field on or before; NULL */
    const char *currency; /* convert every amount to it; NULL: per currency */
    const char *amount;   /* money field; NULL: "deal_size"; "none": none */
    const char *date;     /* date field of --from/--to and buckets;
                             NULL: "close_date" */
    bool hide_private;    /* read shared fields only */
    bool shared_names;    /* ignore the org's field map (fieldmap.h):
                             take and print the shared names only */
    const uint8_t *me;    /* this org's key (32 bytes; mdf: which budgets
                             it holds and owns); NULL: none */
    uint64_t now_ms;      /* "today" of formulas, ms; 0: the real clock */
    /* the caller: NULL principal or the operator: everything */
    const ent_principal *principal;
    const ent_rule *rules;
    size_t nrules;
} ent_rpt_opts;

/* "pipeline", "attribution", "win-rate", "deal-size", "cycle-time",
 * "mdf", "plan". */
const char *ent_rpt_kind_name(ent_rpt_kind k);

/* The kind of a name. @return ENT_OK or ENT_EINVAL. */
int ent_rpt_kind_parse(const char *s, ent_rpt_kind *out);

/*
 * Runs the report in the caller's read transaction txn and builds its JSON
 * (spec/reports.md "Output"); the caller json_decref()s *out. On failure
 * err says why (option, position in an expression, the denying rule).
 * @return ENT_OK; ENT_EINVAL (a bad option or expression; nothing read);
 *         ENT_ENOENT (no template of the type, a missing exchange rate);
 *         ENT_EDENIED (the report would use a field the caller may not
 *         read); ENT_ELIMIT (too many groups, a sum beyond int64);
 *         ENT_ENOMEM; ENT_ECORRUPT; storage errors.
 */
int ent_report_run(ent_txn *txn, const ent_rpt_opts *o, json_t **out,
                   char *err, size_t errlen);

/*
 * The report JSON as CSV (RFC 4180: CRLF, quotes doubled): one line per
 * group then a "total" line; key columns first, then every measure, money
 * as one column per currency ("amount USD"). *out is malloc'ed,
 * NUL-terminated; the caller frees it. @return ENT_OK, ENT_EINVAL (not a
 * report), ENT_ENOMEM.
 */
int ent_report_csv(const json_t *report, char **out);

/*
 * The report JSON as a table: an array of rows, each an array of strings,
 * the header first, then the groups, then the total; the columns of
 * ent_report_csv(). The caller json_decref()s *out.
 * @return ENT_OK, ENT_EINVAL (not a report), ENT_ENOMEM.
 */
int ent_report_table(const json_t *report, json_t **out);

/*
 * The report JSON as an SVG chart (report_svg.c; spec/reports.md
 * "Charts"): bars per group, stacked sourced/influenced for attribution, a
 * line of the win rate; labels XML-escaped. *out is malloc'ed; the caller
 * frees it. @return ENT_OK, ENT_EINVAL (not a report), ENT_ENOMEM.
 */
int ent_report_svg(const json_t *report, char **out);

#endif
