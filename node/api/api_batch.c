/*
 * api_batch.c - POST /v1/objects/batch: many object changes in one request
 * (spec/api.md "Batches"). The whole request is checked first (shape,
 * bounds, ids, field values): a bad change refuses the request and nothing
 * is applied. Then each change runs as its own request would (one write,
 * atomic), in order; a change the object engine refuses gets its error in
 * its result and does not undo the others. The route joins the store's
 * group commit (spec/storage.md "Group commit"): the changes are committed
 * in one durable commit and the answer waits for it.
 */
#include "node/api/api_objects.h"
#include "node/api/http.h"
#include "node/err.h"
#include "node/objects/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { B_CREATE, B_SET, B_STAGE, B_COMMENT } batch_kind;

static const struct {
    const char *name;
    const char *const keys[6]; /* the keys a change of this kind may have */
} kinds[] = {
    [B_CREATE] = {"create", {"op", "type", "set", "private", "custom", NULL}},
    [B_SET] = {"set", {"op", "id", "set", "private", "custom", "remove"}},
    [B_STAGE] = {"stage", {"op", "id", "stage", NULL}},
    [B_COMMENT] = {"comment", {"op", "id", "text", NULL}},
};

/* Refuses the request: 400 naming change i and what is wrong with it. */
static int bad(ent_http_response *resp, size_t i, const char *key,
               const char *why) {
    char field[64];
    snprintf(field, sizeof(field), "changes[%zu]%s%s", i, key ? "." : "",
             key ? key : "");
    return ent_http_response_error_field(resp, 400, ENT_EINVAL, field,
                                         "change %zu: %s (nothing was "
                                         "applied)",
                                         i, why);
}

/* Counts the fields of the object c[key] (absent/null: none), each value a
 * string; -1 when it is not such an object. */
static long count_fields(const json_t *c, const char *key) {
    const json_t *o = json_object_get(c, key);
    const char *name;
    json_t *v;
    long n = 0;
    if (o == NULL || json_is_null(o))
        return 0;
    if (!json_is_object(o))
        return -1;
    json_object_foreach((json_t *)o, name, v) {
        if (name[0] == '\0' || !json_is_string(v))
            return -1;
        n++;
    }
    return n;
}

/* Checks change i: its kind into *kind, or a 400 into resp. */
static int check_change(const json_t *c, size_t i, batch_kind *kind,
                        ent_http_response *resp) {
    uint8_t id[32];
    const char *key;
    json_t *v;
    if (!json_is_object(c))
        return bad(resp, i, NULL, "a change must be a JSON object");
    const char *op = json_string_value(json_object_get(c, "op"));
    if (op == NULL)
        return bad(resp, i, "op",
                   "\"op\" (create, set, stage or comment) is required");
    size_t k = 0;
    while (k < sizeof(kinds) / sizeof(kinds[0]) && strcmp(kinds[k].name, op))
        k++;
    if (k == sizeof(kinds) / sizeof(kinds[0]))
        return bad(resp, i, "op",
                   "unknown \"op\" (want create, set, stage or comment)");
    *kind = (batch_kind)k;
    json_object_foreach((json_t *)c, key, v) {
        bool ok = false;
        for (size_t j = 0; j < 6 && kinds[k].keys[j] != NULL; j++)
            ok = ok || strcmp(kinds[k].keys[j], key) == 0;
        if (!ok)
            return bad(resp, i, NULL,
                       "unknown key in this kind of change (see spec/api.md "
                       "\"Batches\")");
    }
    if (*kind == B_CREATE) {
        const char *type = json_string_value(json_object_get(c, "type"));
        if (type == NULL || !ent_template_type_valid(type))
            return bad(resp, i, "type",
                       "\"type\" (a type name [a-z][a-z0-9_]{0,31}) is "
                       "required");
    } else if (ent_api_obj_id_parse(
                   json_string_value(json_object_get(c, "id")), id) !=
               ENT_OK) {
        return bad(resp, i, "id",
                   "\"id\" (an object id, 64 lowercase hex digits) is "
                   "required");
    }
    if (*kind == B_CREATE || *kind == B_SET) {
        static const char *const maps[] = {"set", "private", "custom"};
        long total = 0;
        for (size_t j = 0; j < 3; j++) {
            long n = count_fields(c, maps[j]);
            if (n < 0)
                return bad(resp, i, maps[j],
                           "must be an object of field name to text value");
            total += n;
        }
        const json_t *rm = json_object_get(c, "remove");
        if (rm != NULL && !json_is_null(rm)) {
            size_t j;
            if (!json_is_array(rm))
                return bad(resp, i, "remove",
                           "\"remove\" must be an array of field names");
            json_array_foreach((json_t *)rm, j, v) {
                const char *s = json_string_value(v);
                if (s == NULL || s[0] == '\0')
                    return bad(resp, i, "remove",
                               "\"remove\" must be an array of field names");
            }
            total += (long)json_array_size(rm);
        }
        if (total > ENT_API_OBJ_MAX_INPUTS)
            return bad(resp, i, NULL, "too many fields in one change");
        if (*kind == B_SET && total == 0)
            return bad(resp, i, NULL,
                       "nothing to set: give \"set\", \"private\", "
                       "\"custom\" or \"remove\" fields");
    } else {
        const char *key1 = *kind == B_STAGE ? "stage" : "text";
        const char *s = json_string_value(json_object_get(c, key1));
        if (s == NULL || s[0] == '\0')
            return bad(resp, i, key1, *kind == B_STAGE
                                          ? "\"stage\" (a non-empty string) "
                                            "is required"
                                          : "\"text\" (a non-empty string) "
                                            "is required");
    }
    return ENT_OK;
}

/* Applies change c (checked) as its own request would; its result:
 * {"status", "id"} or {"status", "error"}. NULL: out of memory. */
static json_t *apply_change(ent_node *n, const json_t *c, batch_kind kind) {
    ent_http_response r = {0};
    uint8_t id[32];
    json_t *body = json_copy((json_t *)c), *out = NULL;
    int rc = body != NULL ? ENT_OK : ENT_ENOMEM;
    if (rc == ENT_OK && kind != B_CREATE)
        rc = ent_api_obj_id_parse(json_string_value(json_object_get(c, "id")),
                                  id);
    if (rc == ENT_OK) {
        json_object_del(body, "op");
        json_object_del(body, "id");
        if (kind == B_CREATE)
            rc = ent__api_obj_create_body(n, body, &r);
        else if (kind == B_SET)
            rc = ent__api_obj_set_body(n, id, body, &r);
        else
            rc = ent__api_obj_stage_body(n, id, body, kind == B_STAGE, &r);
    }
    if (r.status == 0) /* a handler's error without an answer */
        ent_http_response_error(&r, ent_api_error_status(rc), rc, "%s",
                                ent_strerror(rc));
    out = r.body != NULL ? json_copy(r.body) : json_object();
    if (out != NULL &&
        json_object_set_new(out, "status", json_integer(r.status)) != 0) {
        json_decref(out);
        out = NULL;
    }
    ent_http_response_clear(&r);
    json_decref(body);
    return out;
}

int ent_api_objects_batch(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp) {
    json_t *body = NULL, *results = NULL;
    batch_kind *kind = NULL;
    size_t i, ok = 0;
    json_t *c;
    int rc;
    if (req->query != NULL && req->query[0] != '\0')
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "no query parameters are accepted here");
    if ((rc = ent_api_body_object(req, resp, &body)) != ENT_OK)
        return rc;
    const json_t *changes = json_object_get(body, "changes");
    if (json_object_size(body) != 1 || !json_is_array(changes) ||
        json_array_size(changes) == 0) {
        rc = ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "changes",
            "want {\"changes\": [change, ...]} with 1 to %d changes",
            ENT_API_BATCH_MAX);
        goto out;
    }
    if (json_array_size(changes) > ENT_API_BATCH_MAX) {
        rc = ent_http_response_error_field(
            resp, 400, ENT_ELIMIT, "changes",
            "%zu changes in one batch: at most %d (nothing was applied)",
            json_array_size(changes), ENT_API_BATCH_MAX);
        goto out;
    }
    if ((kind = calloc(json_array_size(changes), sizeof(*kind))) == NULL ||
        (results = json_array()) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    json_array_foreach((json_t *)changes, i, c) {
        if ((rc = check_change(c, i, &kind[i], resp)) != ENT_OK)
            goto out;
    }
    json_array_foreach((json_t *)changes, i, c) {
        json_t *res = apply_change(n, c, kind[i]);
        if (res == NULL || json_array_append_new(results, res) != 0) {
            /* the changes before stay applied: say which */
            rc = ent_http_response_error(resp, 500, ENT_ENOMEM,
                                         "out of memory after %zu of %zu "
                                         "changes",
                                         i, json_array_size(changes));
            goto out;
        }
        json_int_t st = json_integer_value(json_object_get(res, "status"));
        ok += st >= 200 && st < 300;
    }
    json_t *o = json_pack("{s:o,s:I,s:I}", "results", results, "applied",
                          (json_int_t)ok, "failed",
                          (json_int_t)(json_array_size(changes) - ok));
    results = NULL; /* taken by json_pack, even when it fails */
    if (o == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    ent_http_response_json(resp, 200, o);
    rc = ENT_OK;
out:
    json_decref(results);
    free(kind);
    json_decref(body);
    return rc;
}
