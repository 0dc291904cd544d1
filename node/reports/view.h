/*
 * view.h - saved report views (spec/reports.md "Saved views"): a named
 * report with its options, kept in this node's config table (key
 * "view/NAME"), optionally limited to some roles and users. Local only,
 * never sent. Running a view runs its report for the caller, under the
 * caller's own policies: a view never widens what a caller may read.
 */
#ifndef ENT_VIEW_H
#define ENT_VIEW_H

#include <jansson.h>
#include <stdbool.h>

#include "node/access/policy.h"
#include "node/reports/report.h"
#include "storage/store.h"

#define ENT_VIEW_NAME_MAX 64    /* [a-z][a-z0-9_-]{0,63} */
#define ENT_VIEW_MAX 256        /* views of one node */
#define ENT_VIEW_WHO_MAX 16     /* roles, users of one view */
#define ENT_VIEW_PARAM_MAX 1024 /* bytes of one option's value */

/* True if s is a view name. */
bool ent_view_name_valid(const char *s);

/*
 * Checks a view document {"report":KIND,"params":{by,where,from,to,
 * currency,amount,date,type,hide_private},"roles":[..],"users":[..]}
 * (params, roles, users optional; param values strings, hide_private a
 * bool) and writes its canonical form into *out (the caller decrefs).
 * @return ENT_OK or ENT_EINVAL with the reason in err.
 */
int ent_view_check(const json_t *doc, json_t **out, char *err, size_t errlen);

/* Stores (replaces) view name. @return ENT_OK, ENT_EINVAL (err says why),
 * ENT_ELIMIT (ENT_VIEW_MAX views), storage errors. */
int ent_view_put(ent_txn *txn, const char *name, const json_t *doc, char *err,
                 size_t errlen);

/* View name's document with "name" into *out. @return ENT_OK, ENT_ENOENT,
 * ENT_ECORRUPT, storage errors. */
int ent_view_get(ent_txn *txn, const char *name, json_t **out);

/* Removes view name. @return ENT_OK, ENT_ENOENT, storage errors. */
int ent_view_del(ent_txn *txn, const char *name);

/* Every view (by name) that p may run (NULL: all) as an array of
 * documents. @return ENT_OK, ENT_ECORRUPT, ENT_ENOMEM, storage errors. */
int ent_view_list(ent_txn *txn, const ent_principal *p, json_t **out);

/* True if p (NULL or the operator: yes) may run the view doc: no limit, or
 * p's role or name is listed. */
bool ent_view_allows(const json_t *doc, const ent_principal *p);

/* The report options of doc into *o (strings borrowed from doc).
 * @return ENT_OK or ENT_ECORRUPT. */
int ent_view_opts(const json_t *doc, ent_rpt_opts *o);

#endif
