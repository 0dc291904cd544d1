/*
 * crm_import.h - upsert of CRM rows by external id, a batch per durable
 * commit (spec/crm.md §3), and the rows of an export (§4).
 *
 * A batch is a list of rows already turned into field assignments by the
 * mapping (crm_map.h). ent_crm_import_batch() runs the whole batch in ONE
 * write transaction: each row's external id is looked up in the "crm_ids"
 * table; a known id updates that object with only the fields whose values
 * differ (no op, no write when none does), an unknown one creates an object
 * and records the id (and, in "obj_local", the object's id in the source).
 * A row that the template or the object's rules refuse is rejected with
 * its reason and the transaction is run again without it, so a row is
 * either wholly in the commit or not at all. With dry_run the transaction
 * is aborted after the same work: nothing changes, the outcomes are what a
 * real run would give.
 *
 * Not thread-safe; run it on the node's loop thread (it uses the engine).
 */
#ifndef ENT_CRM_IMPORT_H
#define ENT_CRM_IMPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/crm/crm_map.h"
#include "node/objects/object.h"
#include "storage/store.h"

#define ENT_CRM_BATCH_MAX 1000 /* rows of one batch */
#define ENT_CRM_ROW_INPUTS_MAX ENT_CRM_MAP_COLUMNS_MAX

typedef enum ent_crm_outcome {
    ENT_CRM_CREATED = 0,
    ENT_CRM_UPDATED,   /* at least one field changed */
    ENT_CRM_UNCHANGED, /* every value already held: nothing written */
    ENT_CRM_REJECTED,
} ent_crm_outcome;

/* One row of a batch; strings borrowed for the call. */
typedef struct ent_crm_row {
    const char *extid;       /* 1..ENT_CRM_EXTID_MAX bytes */
    const ent_obj_input *in; /* its assignments (how: ENT_IN_SHARED,
                                ENT_IN_PRIVATE or ENT_IN_CUSTOM) */
    size_t n;
} ent_crm_row;

/* What became of one row. */
typedef struct ent_crm_result {
    ent_crm_outcome outcome;
    uint8_t id[ENT_OBJ_ID_LEN]; /* the object (not for a rejected row) */
    size_t changed;             /* fields written */
    char err[ENT_OBJ_ERR_MAX];  /* why a row was rejected */
} ent_crm_result;

/*
 * Upserts n rows (at most ENT_CRM_BATCH_MAX) of object type type whose
 * external ids live in namespace source, in one write transaction of
 * store (the engine's store). res gets n results. On success *ops (may be
 * NULL) gets the ops made, in row order (*nops of them; the caller hands
 * each to ent_node_op_created() or frees it with ent_op_free(), and frees
 * the array); a dry run makes none. A second row with an external id of an
 * earlier row in the batch is rejected.
 * @return ENT_OK (see res for each row), ENT_EINVAL (bad arguments),
 *         ENT_ENOENT (no template of type), or a storage / memory error
 *         (nothing committed).
 */
int ent_crm_import_batch(ent_objects *eng, ent_store *store, const char *type,
                         const char *source, const ent_crm_row *rows, size_t n,
                         bool dry_run, ent_crm_result *res, ent_op ***ops,
                         size_t *nops);

/*
 * The object of external id extid, inside txn. @return ENT_OK, ENT_ENOENT,
 * ENT_EINVAL, storage errors.
 */
int ent_crm_lookup(ent_txn *txn, const char *source, const char *type,
                   const char *extid, uint8_t id[ENT_OBJ_ID_LEN]);

/*
 * The external ids of object id, inside txn: *out is {"SOURCE":"ID",...}
 * (new reference), or NULL when the object has none. Webhooks of the
 * operator carry it (spec/crm.md §7).
 * @return ENT_OK, ENT_ENOMEM, ENT_ECORRUPT, storage errors.
 */
int ent_crm_external_ids(ent_txn *txn, const uint8_t id[ENT_OBJ_ID_LEN],
                         json_t **out);

/* Name of an outcome: "created", "updated", "unchanged", "rejected". */
const char *ent_crm_outcome_name(ent_crm_outcome o);

#endif
