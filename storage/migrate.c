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

struct rows {
    struct row *v;
    size_t n;
};

static int collect(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    struct rows *r = data;
    if (r->n == MIG_TEMPLATES_MAX)
        return ENT_ELIMIT;
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
    struct rows r = {.v = calloc(MIG_TEMPLATES_MAX, sizeof(struct row))};
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
    for (size_t i = 0; i < r.n; i++) {
        free(r.v[i].key);
        free(r.v[i].val);
    }
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
