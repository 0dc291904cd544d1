/*
 * crm_export.h - the rows of `entente export` (spec/crm.md §4): one page of
 * the objects of a type, filtered by a --where expression of the report
 * language or by the event cursor (--since), as JSON that the CLI turns
 * into CSV with the map in reverse (crm_map.h).
 */
#ifndef ENT_CRM_EXPORT_H
#define ENT_CRM_EXPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

#define ENT_CRM_EXPORT_PAGE 1000 /* objects of one page, at most */
/* JSON of one page's objects, at most (compact; an object larger than
 * this comes alone): the answer stays far under what the CLI reads */
#define ENT_CRM_EXPORT_PAGE_BYTES (8u << 20)

/* What ent_crm_export() reads; zeroed: every object of type, private
 * fields included, in id order from the first. */
typedef struct ent_crm_export_opts {
    const char *type;  /* required */
    const char *where; /* a --where expression (spec/reports.md), or NULL */
    bool hide_private; /* leave "private" out */
    bool since_set;    /* only objects changed after event id since */
    uint64_t since;
    const uint8_t *after; /* paging: objects after this id (NULL: first) */
    size_t limit;         /* rows at most (1..ENT_CRM_EXPORT_PAGE; 0: max) */
} ent_crm_export_opts;

/*
 * One page of an export inside read transaction txn: *out is
 * {"objects":[{"id","shared","private"}],"next":HEX|null,"cursor":N}:
 * objects of o->type this node holds (as ent_obj_show_json() shows their
 * fields), that o->where keeps, in id order; "next" the id to pass as
 * after for the next page (null on the last); "cursor" the last event id
 * at read time, the --since for the next run (spec/crm.md §4). With
 * since_set only objects with an object.created, fields.changed or
 * private.changed event after since are read.
 * @return ENT_OK, ENT_EINVAL (err: a bad --where, bad type), ENT_ENOENT
 *         (no template of type), ENT_ENOMEM, storage errors.
 */
int ent_crm_export(ent_txn *txn, const ent_crm_export_opts *o, json_t **out,
                   char *err, size_t errlen);

#endif
