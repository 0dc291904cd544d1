/*
 * migrate.c - the data migrations of the store's schema steps
 * (spec/storage.md "Schema versions"). Each runs inside the open's single
 * write transaction with every table open; an error aborts the open and
 * leaves the database as it was.
 *
 * Schema 1 -> 2: one stage list. Up to schema 1 a template's field "stage"
 * could take its values from the configuration table "stages"
 * ("table":"stages"), which disagreed with the template's own "stages"
 * list; since schema 2 the template's "stages" is the one list and a stage
 * field names no table. Every stored template whose field "stage" names a
 * table loses that member (and gets the table's values as its "stages"
 * when it had none); the configuration table list/stages, if stored, is
 * kept untouched as an ordinary table. A template that is not JSON is
 * left as it is (the template layer reports it on load, as before).
 *
 * Schema 2 -> 3: the op index (storage/op_index.h). Every row of "op_ids"
 * (op id -> ops key) is put into "op_order" and "op_index", in the order
 * of "op_ids" (arrival numbers are local), then "op_ids" is emptied.
 *
 * Schema 5 -> 6: two kinds of per-object rows that a tag byte kept in
 * front of the object id (so at random places) move to the numbered table
 * "obj_local", where a new object's rows go to the end: "log_meta" 'o' ||
 * obj -> directory row becomes obj || 'd', "crm_ids" 0x01 || obj || source
 * -> external id becomes obj || 'x' || source. A plain move of bytes: the
 * step checks the lengths spec/storage.md gives and nothing else.
 */
#include "storage/store.h"
#include "node/err.h"
#include "storage/op_index.h"

#include <jansson.h>

#include <stdlib.h>
#include <string.h>

#define MIG_TEMPLATES_MAX 4096 /* stored templates one step rewrites */

struct row {
    char *key;
    size_t klen;
    char *val;
    size_t vlen;
};

/* Rows copied out of a scan: at most max, then the scan stops with full
 * (an error, or 1: a batch is complete). */
struct rows {
    struct row *v;
    size_t n, max;
    int full;
};

static void rows_clear(struct rows *r) {
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].key);
        free(r->v[i].val);
    }
    r->n = 0;
}

static int collect(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    struct rows *r = data;
    if (r->n == r->max)
        return r->full;
    struct row *w = &r->v[r->n];
    w->key = malloc(klen);
    w->val = malloc(vlen);
    if (w->key == NULL || w->val == NULL) {
        free(w->key);
        free(w->val);
        return ENT_ENOMEM;
    }
    memcpy(w->key, key, klen);
    memcpy(w->val, val, vlen);
    w->klen = klen;
    w->vlen = vlen;
    r->n++;
    return 0;
}

/* The values of the stored configuration table "stages" as a JSON array,
 * or NULL when it is not stored or not an array of strings. */
static json_t *stored_stages(ent_txn *txn) {
    static const char key[] = "list/stages";
    const void *v;
    size_t n;
    if (ent_txn_get(txn, ENT_TBL_CONFIG, key, sizeof(key) - 1, &v, &n) !=
        ENT_OK)
        return NULL;
    json_t *a = json_loadb(v, n, 0, NULL);
    size_t i;
    json_t *e;
    if (!json_is_array(a) || json_array_size(a) == 0)
        goto bad;
    json_array_foreach(a, i, e) if (!json_is_string(e)) goto bad;
    return a;
bad:
    json_decref(a);
    return NULL;
}

/* The built-in opportunity stages of schema 1, for a template that had
 * neither its own "stages" nor a stored table. */
static json_t *default_stages(void) {
    return json_pack("[s,s,s,s,s,s,s]", "Prospecting", "Qualification",
                     "Solution", "Proposal", "Negotiation", "Closed Won",
                     "Closed Lost");
}

/* Rewrites one template; *changed tells whether it did. */
static int rewrite(json_t *t, json_t *table_stages, bool *changed) {
    json_t *fields = json_object_get(t, "fields"), *f;
    size_t i;
    *changed = false;
    if (!json_is_array(fields))
        return ENT_OK;
    json_array_foreach(fields, i, f) {
        if (!json_is_object(f) ||
            !json_is_string(json_object_get(f, "name")) ||
            strcmp(json_string_value(json_object_get(f, "name")), "stage") !=
                0 ||
            json_object_get(f, "table") == NULL)
            continue;
        json_object_del(f, "table");
        *changed = true;
        if (!json_is_array(json_object_get(t, "stages"))) {
            json_t *s = table_stages != NULL ? json_deep_copy(table_stages)
                                             : default_stages();
            if (s == NULL || json_object_set_new(t, "stages", s) != 0)
                return ENT_ENOMEM;
        }
    }
    return ENT_OK;
}

int ent__store_migrate_1_2(ent_txn *txn, void *data) {
    (void)data;
    struct rows r = {.v = calloc(MIG_TEMPLATES_MAX, sizeof(struct row)),
                     .max = MIG_TEMPLATES_MAX,
                     .full = ENT_ELIMIT};
    if (r.v == NULL)
        return ENT_ENOMEM;
    json_t *stages = stored_stages(txn);
    int rc = ent_txn_scan(txn, ENT_TBL_TEMPLATES, NULL, 0, collect, &r);
    for (size_t i = 0; rc == ENT_OK && i < r.n; i++) {
        json_t *t = json_loadb(r.v[i].val, r.v[i].vlen, 0, NULL);
        bool changed = false;
        if (json_is_object(t))
            rc = rewrite(t, stages, &changed);
        if (rc == ENT_OK && changed) {
            char *text = json_dumps(t, JSON_COMPACT);
            rc = text == NULL
                     ? ENT_ENOMEM
                     : ent_txn_put(txn, ENT_TBL_TEMPLATES, r.v[i].key,
                                   r.v[i].klen, text, strlen(text), 0);
            free(text);
        }
        json_decref(t);
    }
    rows_clear(&r);
    free(r.v);
    json_decref(stages);
    return rc;
}

/* One "op_ids" row into the op index (the scan writes other tables only). */
static int move_op_id(void *data, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    ent_txn *txn = data;
    if (klen != 32 || vlen == 0 || vlen > 255)
        return ENT_ECORRUPT;
    return ent_op_index_put(txn, key, val, vlen);
}

int ent__store_migrate_2_3(ent_txn *txn, void *data) {
    (void)data;
    int rc = ent_txn_scan(txn, ENT_TBL_OP_IDS, NULL, 0, move_op_id, txn);
    if (rc == ENT_OK)
        rc = ent_txn_clear(txn, ENT_TBL_OP_IDS);
    return rc;
}

/* Schema 3 -> 4: no row changes. Schema 4 allows an object's plain-field
 * writes to be missing from "writes" when the object's marker row says so
 * (spec/storage.md "Pruned field writes"); a schema-3 store has every
 * write and no marker, which is a valid schema-4 store. The step exists
 * so that a schema-3 binary refuses a store that may lack writes. */
int ent__store_migrate_3_4(ent_txn *txn, void *data) {
    (void)txn;
    (void)data;
    return ENT_OK;
}

/* ---- schema 5 -> 6 ---- */

#define MIG_BATCH 1024 /* rows one scan of the step 5 -> 6 copies out */
#define OBJ_LEN 32

/* One kind of row the step 5 -> 6 moves: the rows of table t whose key
 * starts with the byte prefix, of key (prefix included) and value lengths
 * in the given ranges. */
struct move {
    ent_table t;
    uint8_t prefix, tag;
    size_t kmin, kmax, vmin, vmax;
};

/* The moves of spec/storage.md "Schema version and migrations", 5 -> 6:
 * the audit directory rows (33-byte key, 16-byte value), then the reverse
 * rows of the CRM external ids (a source of 1..32 bytes, an id of 1..255
 * bytes). */
static const struct move moves_5_6[] = {
    {ENT_TBL_LOG_META, 'o', 'd', 1 + OBJ_LEN, 1 + OBJ_LEN, 16, 16},
    {ENT_TBL_CRM_IDS, 0x01, 'x', 1 + OBJ_LEN + 1, 1 + OBJ_LEN + 32, 1, 255},
};

/* Moves row w of m's table to obj_local: obj || tag || the key's rest. */
static int move_row(ent_txn *txn, const struct move *m, const struct row *w) {
    uint8_t key[1 + OBJ_LEN + 255];
    if (w->klen < m->kmin || w->klen > m->kmax || w->vlen < m->vmin ||
        w->vlen > m->vmax || w->klen > sizeof(key))
        return ENT_ECORRUPT;
    memcpy(key, w->key + 1, OBJ_LEN);
    key[OBJ_LEN] = m->tag;
    memcpy(key + OBJ_LEN + 1, w->key + 1 + OBJ_LEN, w->klen - 1 - OBJ_LEN);
    int rc =
        ent_txn_put(txn, ENT_TBL_OBJ_LOCAL, key, w->klen, w->val, w->vlen, 0);
    return rc == ENT_OK ? ent_txn_del(txn, m->t, w->key, w->klen) : rc;
}

/* Every row of move m, a batch at a time: each scan finds the rows the
 * batches before left (they are gone from the table). */
static int move_all(ent_txn *txn, const struct move *m) {
    struct rows r = {.v = calloc(MIG_BATCH, sizeof(struct row)),
                     .max = MIG_BATCH,
                     .full = 1};
    int rc = r.v == NULL ? ENT_ENOMEM : ENT_OK;
    do {
        rows_clear(&r);
        if (rc == ENT_OK)
            rc = ent_txn_scan(txn, m->t, &m->prefix, 1, collect, &r);
        for (size_t i = 0; rc == ENT_OK && i < r.n; i++)
            rc = move_row(txn, m, &r.v[i]);
    } while (rc == ENT_OK && r.n == MIG_BATCH);
    rows_clear(&r);
    free(r.v);
    return rc;
}

int ent__store_migrate_5_6(ent_txn *txn, void *data) {
    (void)data;
    size_t n = sizeof(moves_5_6) / sizeof(moves_5_6[0]);
    int rc = ENT_OK;
    for (size_t i = 0; rc == ENT_OK && i < n; i++)
        rc = move_all(txn, &moves_5_6[i]);
    return rc;
}
