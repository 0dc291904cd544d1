/*
 * report_int.h - the internals shared by report.c (options, the scan, one
 * object), report_vals.c (the value cache and the memo of groups) and
 * report_out.c (groups, their measures, JSON and CSV). Not for use outside
 * node/reports/.
 */
#ifndef ENT_REPORT_INT_H
#define ENT_REPORT_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "node/access/policy.h"
#include "node/objects/fieldmap.h"
#include "node/objects/object.h"
#include "node/objects/template.h"
#include "node/reports/derive.h"
#include "node/reports/expr.h"
#include "node/reports/report.h"

#define RPT_SLOTS_MAX 32      /* distinct fields one report reads */
#define RPT_RATES_MAX 256     /* exchange rates kept from the rates table */
#define RPT_RANK_TEXT 0x10000 /* a key column's rank: text order */
#define RPT_RANK_NONE 0x20000 /* null: last */
#define RPT_VALS_MAX 65536    /* distinct values cached per field */
#define RPT_MEMO_MAX 262144   /* keys of cached values remembered */

/* One distinct stored value of a slot, kept by its encoding (the value
 * cache, report_vals.c): decoded once per report, with the key text of
 * each --by column and the stage's state worked out on first use. */
typedef struct rval {
    uint64_t hash;
    uint32_t id;  /* 1.., unique in the report */
    int8_t state; /* stage_state(); -1 not yet */
    ent_value v;  /* owned */
    bool keyed[ENT_RPT_BY_MAX];
    int rank[ENT_RPT_BY_MAX];
    char *key[ENT_RPT_BY_MAX]; /* owned; NULL when keyed: null */
    size_t blen;
    uint8_t blob[]; /* the encoding */
} rval;

/* The value cache of one slot: open addressing over vals. */
typedef struct rvals {
    rval **vals;
    size_t n;
    bool full;       /* RPT_VALS_MAX values: the others are decoded each time */
    uint32_t *table; /* index + 1, 0 empty */
    size_t cap;
} rvals;

/* One field the report reads, and its value for the current object. */
typedef struct rslot {
    char name[ENT_TPL_NAME_MAX + 1];
    size_t nlen;
    ent_vtype vt; /* the template's type */
    bool listed;  /* the template lists it */
    bool used;    /* read for each object */
    bool have;    /* v holds the object's value (not null) */
    ent_value v;  /* owned, unless iv is set */
    rval *iv;     /* v is a shallow copy of this cached value */
    rvals cache;  /* stored fields: the distinct values read */
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

/* A cursor over a field table, one row ahead of the object walk. */
typedef struct rcur {
    ent_obj_fields_iter *it;
    bool have; /* the row below is read */
    const uint8_t *obj;
    const char *name;
    size_t nlen;
    const uint8_t *blob;
    size_t blen;
} rcur;

/* A remembered group of a key of cached values (their ids). */
typedef struct rmemo {
    uint32_t ids[ENT_RPT_BY_MAX];
    rgroup *g; /* NULL: empty */
} rmemo;

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
    bool in_formula; /* compiling a formula: no derived names */
    bool uses_since; /* a used slot is the built-in stage_since */
    uint64_t now_ms; /* "today" */
    char cur[4];     /* "" : per currency */
    rrate rates[RPT_RATES_MAX];
    size_t nrates;
    json_t *state; /* a user's: the object's fields for the conditions */
    char creator[ENT_POLICY_VALUE_MAX + 1];
    uint32_t deny_rule;
    char deny_field[ENT_TPL_NAME_MAX + 1];
    uint64_t objects;
    bool bulk;    /* fields read by rows[], not per object */
    rcur rows[2]; /* shared, private: walked beside the objects */
    uint8_t stored[RPT_SLOTS_MAX]; /* the used slots read from rows */
    size_t nstored;
    uint32_t first[256]; /* a name's first byte -> bits of stored[] */
    bool computes;       /* a used slot is a built-in or a formula */
    uint32_t nvals;      /* values cached, all slots */
    rmemo *memo;         /* ids of the --by columns -> group */
    size_t nmemo, memocap;
    rgroup **groups;
    size_t ngroups, cap;
    uint32_t *table; /* open addressing: group index + 1, 0 empty */
    size_t tcap;
    rgroup total;
} rpt;

#define RPT_VAL_NONE UINT32_MAX /* a key column not from the cache */

/* The cached value of slot for the encoding blob (len bytes), decoded and
 * added when new; *out NULL when the encoding is not of a kept type
 * (text, enum, org, ref, date, integer) or the cache is full, and then the
 * caller decodes it itself. @return ENT_OK, ENT_ECORRUPT, ENT_ENOMEM. */
int ent__rpt_val(rpt *r, rslot *s, const uint8_t *blob, size_t len, rval **out);

/* The group remembered for ids (r->nby of them), or NULL. */
rgroup *ent__rpt_memo_get(rpt *r, const uint32_t *ids);

/* Remembers g for ids (nothing when the memo is full).
 * @return ENT_OK, ENT_ENOMEM. */
int ent__rpt_memo_put(rpt *r, const uint32_t *ids, rgroup *g);

/* Frees the value caches and the memo. */
void ent__rpt_vals_free(rpt *r);

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
