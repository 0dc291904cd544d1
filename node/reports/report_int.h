/*
 * report_int.h - the internals shared by report.c (options, the scan, one
 * object) and report_out.c (groups, their measures, JSON and CSV). Not for
 * use outside node/reports/.
 */
#ifndef ENT_REPORT_INT_H
#define ENT_REPORT_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "node/access/policy.h"
#include "node/objects/fieldmap.h"
#include "node/objects/template.h"
#include "node/reports/derive.h"
#include "node/reports/expr.h"
#include "node/reports/report.h"

#define RPT_SLOTS_MAX 32  /* distinct fields one report reads */
#define RPT_RATES_MAX 256 /* exchange rates kept from the rates table */
#define RPT_RANK_TEXT 0x10000 /* a key column's rank: text order */
#define RPT_RANK_NONE 0x20000 /* null: last */

/* One field the report reads, and its value for the current object. */
typedef struct rslot {
    char name[ENT_TPL_NAME_MAX + 1];
    size_t nlen;
    ent_vtype vt; /* the template's type */
    bool listed;  /* the template lists it */
    bool used;    /* read for each object */
    bool have;    /* v holds the object's value (not null) */
    ent_value v;
    /* computed, not read: a derived field (its formula, compiled once the
     * options are read) or a built-in name (derive.h) */
    const ent_tpl_field *derived;
    ent_expr *dx;
    int builtin; /* ent_derive_builtin, or -1 */
} rslot;

enum { BY_FIELD = 0, BY_PARTNER, BY_PARTNERED, BY_ROLE_PARTNER };

/* One --by column. */
typedef struct rby {
    int kind;
    int slot, slot2; /* PARTNER*: sourced_by, influenced_by */
    int bucket;      /* date: 0 day, 1 month, 2 quarter, 3 year */
    bool is_stage;   /* ordered by the template's stages */
    char label[ENT_TPL_NAME_MAX + 16];
} rby;

typedef struct rrate {
    char from[4], to[4];
    int64_t scaled; /* the rate times 10^9 */
    char text[48];
    bool used;
} rrate;

/* What one object brings to a group. */
typedef struct robj {
    int state; /* 0 open, 1 won, 2 lost */
    bool has_amount;
    char cur[4];
    int64_t minor;
    int64_t stage_ms[ENT_TPL_MAX_STAGES]; /* cycle-time: -1 never reached */
    int64_t close_ms;
} robj;

typedef struct rmoney {
    char cur[4];
    int64_t sum;
} rmoney;

typedef struct rmlist {
    rmoney *v;
    size_t n;
} rmlist;

/* Attribution: a partner's sourced (0) or influenced (1) share. */
typedef struct rrole {
    uint64_t count, open, won, lost;
    rmlist open_amt, won_amt;
} rrole;

typedef struct rwon {
    char cur[4];
    int64_t minor;
} rwon;

typedef struct rgroup {
    char *text[ENT_RPT_BY_MAX]; /* owned; NULL: null */
    int rank[ENT_RPT_BY_MAX];
    uint64_t hash;
    uint64_t count, open, won, lost;
    rmlist amt, open_amt, won_amt;
    rrole role[2];
    rwon *wv; /* deal-size: every won amount, for the median */
    size_t nwv, capwv;
    int64_t stage_sum[ENT_TPL_MAX_STAGES]; /* cycle-time, ms */
    uint64_t stage_n[ENT_TPL_MAX_STAGES];
    int64_t close_sum;
    uint64_t close_n;
} rgroup;

/* A field row of a used slot, read and decoded by the one-cursor pass. */
typedef struct rrow {
    uint8_t obj[32]; /* a copy: compared while walking, kept in cache */
    ent_value v;     /* decoded while the row's page is hot; owned until
                        moved into its slot */
    uint8_t slot;
} rrow;

typedef struct rrows {
    rrow *v;
    size_t n, cap, at;
} rrows;

typedef struct rpt {
    ent_txn *txn;
    const ent_rpt_opts *o;
    char *err;
    size_t errlen;
    int rc;
    ent_template *tpl;
    ent_fieldmap *fm; /* the org's own names of the type; NULL: none */
    rslot slots[RPT_SLOTS_MAX];
    size_t nslots;
    rby by[ENT_RPT_BY_MAX];
    size_t nby;
    char datef[ENT_TPL_NAME_MAX + 1];
    int stage_slot, amount_slot, date_slot;
    int32_t from, to;
    bool has_from, has_to;
    ent_expr *where;
    bool in_formula;   /* compiling a formula: no derived names */
    bool uses_since;   /* a used slot is the built-in stage_since */
    uint64_t now_ms;   /* "today" */
    char cur[4]; /* "" : per currency */
    rrate rates[RPT_RATES_MAX];
    size_t nrates;
    json_t *state; /* a user's: the object's fields for the conditions */
    char creator[ENT_POLICY_VALUE_MAX + 1];
    uint32_t deny_rule;
    char deny_field[ENT_TPL_NAME_MAX + 1];
    uint64_t objects;
    bool bulk;          /* fields read by rows[], not per object */
    rrows rows[2];      /* shared, private: the used slots' rows */
    rgroup **groups;
    size_t ngroups, cap;
    uint32_t *table; /* open addressing: group index + 1, 0 empty */
    size_t tcap;
    rgroup total;
} rpt;

/* The group of key (texts/ranks of r->nby columns), made when new.
 * @return ENT_OK, ENT_ELIMIT (ENT_RPT_GROUPS_MAX), ENT_ENOMEM. */
int ent__rpt_group(rpt *r, const char *const *texts, const int *ranks,
                   rgroup **out);

/* Adds ob to g (which: attribution role). @return ENT_OK, ENT_ELIMIT
 * (overflow), ENT_ENOMEM. */
int ent__rpt_add(rpt *r, rgroup *g, int which, const robj *ob);

/* The report's JSON. */
int ent__rpt_json(rpt *r, json_t **out);

/* report_link.c: the mdf and plan reports (spec/reports.md "MDF and
 * plans"), as ent_report_run. */
int ent__rpt_links_run(ent_txn *txn, const ent_rpt_opts *o, json_t **out,
                       char *err, size_t errlen);

/* Frees the groups and the total's lists. */
void ent__rpt_groups_free(rpt *r);

#endif
