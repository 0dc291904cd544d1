/*
 * api_crm.c - POST /v1/crm/import and POST /v1/crm/export (api_crm.h,
 * spec/api.md "CRM sync"). The CLI reads the CSV and the mapping file and
 * sends rows already mapped; the node upserts a batch in one transaction
 * (node/crm/crm_import.h) and hands the ops, in row order, to the peer
 * layer right after the commit, so they leave as one run of OPS messages.
 */
#include "node/api/api_crm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/crm/crm_export.h"
#include "node/crm/crm_import.h"
#include "node/err.h"
#include "node/node.h"

/* Unknown keys of o: a 400 naming the first. */
static int check_keys(const json_t *o, const char *const *keys,
                      const char *where, ent_http_response *resp) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k) != 0)
            i++;
        if (keys[i] == NULL)
            return ent_http_response_error_field(resp, 400, ENT_EINVAL, k,
                                                 "%s: unknown key \"%.64s\"",
                                                 where, k);
    }
    return ENT_OK;
}

/* The {"field": "text"} map key of row into in[*n] with how. */
static int read_map(const json_t *row, const char *key, uint8_t how,
                    ent_obj_input *in, size_t *n, size_t r,
                    ent_http_response *resp) {
    const json_t *m = json_object_get(row, key);
    const char *k;
    json_t *v;
    if (m == NULL)
        return ENT_OK;
    if (!json_is_object(m))
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, key,
                                             "rows[%zu].%s: an object of "
                                             "strings",
                                             r, key);
    json_object_foreach((json_t *)m, k, v) {
        if (!json_is_string(v))
            return ent_http_response_error_field(
                resp, 400, ENT_EINVAL, k,
                "rows[%zu].%s.%.64s: the value is a string", r, key, k);
        if (*n >= ENT_CRM_ROW_INPUTS_MAX)
            return ent_http_response_error(resp, 400, ENT_ELIMIT,
                                           "rows[%zu]: more than %d fields", r,
                                           ENT_CRM_ROW_INPUTS_MAX);
        in[*n].name = k;
        in[*n].text = json_string_value(v);
        in[*n].how = how;
        (*n)++;
    }
    return ENT_OK;
}

int ent_api_crm_import(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp) {
    static const char *const keys[] = {"type", "source", "dry_run", "rows",
                                       NULL};
    static const char *const rkeys[] = {"extid", "set", "private", "custom",
                                        NULL};
    json_t *body = NULL, *rows, *out = NULL, *results = NULL;
    ent_crm_row *rr = NULL;
    ent_obj_input *in = NULL;
    ent_crm_result *res = NULL;
    ent_op **ops = NULL;
    size_t nrows, nops = 0, used = 0, count[4] = {0, 0, 0, 0};
    const char *type, *source;
    int rc;
    if ((rc = ent_api_body_object(req, resp, &body)) != ENT_OK)
        goto out;
    if ((rc = check_keys(body, keys, "body", resp)) != ENT_OK)
        goto out;
    type = json_string_value(json_object_get(body, "type"));
    source = json_string_value(json_object_get(body, "source"));
    rows = json_object_get(body, "rows");
    if (type == NULL || !ent_template_type_valid(type)) {
        rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "type",
                                           "\"type\": an object type");
        goto out;
    }
    if (source == NULL || strlen(source) > ENT_CRM_SOURCE_MAX ||
        !ent_template_name_valid(source)) {
        rc = ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "source",
            "\"source\": a name [a-z][a-z0-9_]{0,31}");
        goto out;
    }
    if (json_object_get(body, "dry_run") != NULL &&
        !json_is_boolean(json_object_get(body, "dry_run"))) {
        rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "dry_run",
                                           "\"dry_run\": true or false");
        goto out;
    }
    nrows = json_array_size(rows);
    if (!json_is_array(rows) || nrows > ENT_CRM_BATCH_MAX) {
        rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "rows",
                                           "\"rows\": an array of at most "
                                           "%d rows",
                                           ENT_CRM_BATCH_MAX);
        goto out;
    }
    /* room for every field the rows name (each row's own bound is checked
     * as they are read) */
    size_t total = 0;
    for (size_t i = 0; i < nrows; i++) {
        json_t *row = json_array_get(rows, i);
        static const char *const maps[] = {"set", "private", "custom"};
        for (size_t k = 0; k < 3; k++)
            total += json_object_size(json_object_get(row, maps[k]));
    }
    rr = calloc(nrows + 1, sizeof(*rr));
    in = calloc(total + 1, sizeof(*in));
    res = calloc(nrows + 1, sizeof(*res));
    if (rr == NULL || in == NULL || res == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nrows; i++) {
        json_t *row = json_array_get(rows, i);
        size_t k = 0;
        ent_obj_input *ri = in + used;
        if (!json_is_object(row)) {
            rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "rows",
                                               "rows[%zu]: an object", i);
            goto out;
        }
        if ((rc = check_keys(row, rkeys, "row", resp)) != ENT_OK)
            goto out;
        rr[i].extid = json_string_value(json_object_get(row, "extid"));
        if (rr[i].extid == NULL) {
            rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "extid",
                                               "rows[%zu].extid: a string", i);
            goto out;
        }
        if ((rc = read_map(row, "set", ENT_IN_SHARED, ri, &k, i, resp)) !=
                ENT_OK ||
            (rc = read_map(row, "private", ENT_IN_PRIVATE, ri, &k, i, resp)) !=
                ENT_OK ||
            (rc = read_map(row, "custom", ENT_IN_CUSTOM, ri, &k, i, resp)) !=
                ENT_OK)
            goto out;
        rr[i].in = ri;
        rr[i].n = k;
        used += k;
    }
    rc = ent_crm_import_batch(
        ent_node_objects(n), ent_node_store(n), type, source, rr, nrows,
        json_is_true(json_object_get(body, "dry_run")), res, &ops, &nops);
    if (rc != ENT_OK) {
        rc = ent_http_response_error(
            resp, rc == ENT_ENOENT ? 404 : ent_api_error_status(rc), rc,
            "import of type %s: %s", type,
            rc == ENT_ENOENT ? "no such template" : ent_strerror(rc));
        goto out;
    }
    /* to the members, in row order, right after the one commit */
    for (size_t i = 0; i < nops; i++)
        ent_node_op_created(n, ops[i]);
    results = json_array();
    if (results == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nrows; i++) {
        char hex[65];
        json_t *r;
        count[res[i].outcome]++;
        ent_hex_encode(hex, res[i].id, 32);
        if (res[i].outcome == ENT_CRM_REJECTED)
            r = json_pack("{s:s,s:s}", "outcome", "rejected", "error",
                          res[i].err);
        else
            r = json_pack("{s:s,s:s,s:I}", "outcome",
                          ent_crm_outcome_name(res[i].outcome), "id", hex,
                          "changed", (json_int_t)res[i].changed);
        if (r == NULL || json_array_append_new(results, r) != 0) {
            rc = ENT_ENOMEM;
            goto out;
        }
    }
    out =
        json_pack("{s:O,s:I,s:I,s:I,s:I,s:I}", "results", results, "created",
                  (json_int_t)count[ENT_CRM_CREATED], "updated",
                  (json_int_t)count[ENT_CRM_UPDATED], "unchanged",
                  (json_int_t)count[ENT_CRM_UNCHANGED], "rejected",
                  (json_int_t)count[ENT_CRM_REJECTED], "ops", (json_int_t)nops);
    if (out == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    ent_http_response_json(resp, 200, out);
    rc = ENT_OK;
out:
    free(ops);
    json_decref(results);
    free(res);
    free(in);
    free(rr);
    json_decref(body);
    return rc;
}

typedef struct export_ctx {
    ent_crm_export_opts o;
    json_t *out;
    char err[512];
} export_ctx;

static int export_fn(ent_txn *txn, void *data) {
    export_ctx *c = data;
    return ent_crm_export(txn, &c->o, &c->out, c->err, sizeof(c->err));
}

int ent_api_crm_export(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp) {
    static const char *const keys[] = {
        "type", "where", "hide_private", "since", "after", "limit", NULL};
    json_t *body = NULL, *v;
    export_ctx c;
    uint8_t after[32];
    int rc;
    memset(&c, 0, sizeof(c));
    if ((rc = ent_api_body_object(req, resp, &body)) != ENT_OK)
        goto out;
    if ((rc = check_keys(body, keys, "body", resp)) != ENT_OK)
        goto out;
    c.o.type = json_string_value(json_object_get(body, "type"));
    if (c.o.type == NULL || !ent_template_type_valid(c.o.type)) {
        rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "type",
                                           "\"type\": an object type");
        goto out;
    }
    if ((v = json_object_get(body, "where")) != NULL) {
        if (!json_is_string(v)) {
            rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "where",
                                               "\"where\": a string");
            goto out;
        }
        c.o.where = json_string_value(v);
    }
    v = json_object_get(body, "hide_private");
    if (v != NULL && !json_is_boolean(v)) {
        rc = ent_http_response_error_field(resp, 400, ENT_EINVAL,
                                           "hide_private", "true or false");
        goto out;
    }
    c.o.hide_private = json_is_true(v);
    if ((v = json_object_get(body, "since")) != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "since",
                                               "\"since\": an event id (an "
                                               "integer >= 0)");
            goto out;
        }
        c.o.since_set = true;
        c.o.since = (uint64_t)json_integer_value(v);
    }
    if ((v = json_object_get(body, "after")) != NULL) {
        if (!json_is_string(v) || strlen(json_string_value(v)) != 64 ||
            ent_hex_decode(after, 32, json_string_value(v)) != ENT_OK) {
            rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "after",
                                               "\"after\": an object id (64 "
                                               "hex digits)");
            goto out;
        }
        c.o.after = after;
    }
    if ((v = json_object_get(body, "limit")) != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > ENT_CRM_EXPORT_PAGE) {
            rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "limit",
                                               "\"limit\": 1..%d",
                                               ENT_CRM_EXPORT_PAGE);
            goto out;
        }
        c.o.limit = (size_t)json_integer_value(v);
    }
    rc = ent_store_read(ent_node_store(n), export_fn, &c);
    if (rc != ENT_OK) {
        rc = ent_http_response_error(
            resp, rc == ENT_ENOENT ? 404 : ent_api_error_status(rc), rc, "%s",
            c.err[0] ? c.err : ent_strerror(rc));
        goto out;
    }
    ent_http_response_json(resp, 200, c.out);
    c.out = NULL;
    rc = ENT_OK;
out:
    json_decref(c.out);
    json_decref(body);
    return rc;
}
