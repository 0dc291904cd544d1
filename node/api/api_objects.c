/*
 * api_objects.c - the object, template and configuration endpoints of the
 * local API; see api_objects.h and spec/api.md.
 */
#include "node/api/api_objects.h"
#include "crypto/crypto.h"
#include "node/err.h"
#include "node/home.h"
#include "node/objects/object.h"
#include "node/objects/template.h"
#include "node/peers/advertise.h"
#include "node/reports/derive.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_VERSION_LEN 16 /* bytes of a configuration table's version */

#define OBJECTS_PREFIX "/v1/objects/"
#define TEMPLATES_PREFIX "/v1/templates/"
#define CONFIG_PREFIX "/v1/config/"
#define QUERY_MAX ENT_API_QUERY_MAX

/* ---- input helpers ------------------------------------------------------- */

int ent_api_obj_id_parse(const char *s, uint8_t id[32]) {
    if (s == NULL || strlen(s) != ENT_API_OBJ_ID_HEX)
        return ENT_EINVAL;
    for (size_t i = 0; i < ENT_API_OBJ_ID_HEX; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return ENT_EINVAL;
    }
    return ent_hex_decode(id, 32, s);
}

/*
 * Answers 400 unless every key of the JSON object body is one of allowed
 * (NULL-terminated).
 */
static int check_keys(const json_t *body, const char *const *allowed,
                      ent_http_response *resp) {
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)body, key, val) {
        bool ok = false;
        for (const char *const *a = allowed; *a != NULL; a++)
            if (strcmp(key, *a) == 0)
                ok = true;
        if (!ok)
            return ent_http_response_error_field(
                resp, 400, ENT_EINVAL, key, "unknown key \"%.64s\" in body",
                key);
    }
    return ENT_OK;
}

typedef ent_api_query query;

/*
 * Splits req->query into q, answering 400 for an over-long query, a key not
 * in allowed (NULL-terminated) or a key given twice.
 */
/* Decodes %XX and '+' in s in place; false for a bad escape or a NUL. */
static bool percent_decode(char *s) {
    char *o = s;
    for (const char *p = s; *p; p++) {
        if (*p == '+') {
            *o++ = ' ';
        } else if (*p == '%') {
            int v = 0;
            for (int i = 1; i <= 2; i++) {
                char h = p[i];
                int d = h >= '0' && h <= '9'   ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                               : -1;
                if (d < 0)
                    return false;
                v = v * 16 + d;
            }
            if (v == 0)
                return false;
            *o++ = (char)v;
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return true;
}

int ent_api_query_parse(const ent_http_request *req, const char *const *allowed,
                       query *q, ent_http_response *resp) {
    q->n = 0;
    if (req->query == NULL || req->query[0] == '\0')
        return ENT_OK;
    if (strlen(req->query) > QUERY_MAX)
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "query string too long");
    strcpy(q->buf, req->query);
    char *save = NULL;
    for (char *item = strtok_r(q->buf, "&", &save); item != NULL;
         item = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(item, '=');
        char *v = eq != NULL ? eq + 1 : item + strlen(item);
        if (eq != NULL)
            *eq = '\0';
        if (!percent_decode(v))
            return ent_http_response_error(resp, 400, ENT_EINVAL,
                                           "bad percent-encoding in query "
                                           "parameter \"%.64s\"",
                                           item);
        bool ok = false;
        for (const char *const *a = allowed; *a != NULL; a++)
            if (strcmp(item, *a) == 0)
                ok = true;
        if (!ok)
            return ent_http_response_error_field(
                resp, 400, ENT_EINVAL, item,
                "unknown query parameter \"%.64s\"", item);
        for (size_t i = 0; i < q->n; i++)
            if (strcmp(q->key[i], item) == 0)
                return ent_http_response_error_field(
                    resp, 400, ENT_EINVAL, item,
                    "query parameter \"%.64s\" repeated", item);
        if (q->n == ENT_API_QUERY_PARAMS)
            return ent_http_response_error(resp, 400, ENT_EINVAL,
                                           "too many query parameters");
        q->key[q->n] = item;
        q->val[q->n] = v;
        q->n++;
    }
    return ENT_OK;
}

static int key_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ent_api_query_once(const ent_http_request *req, ent_http_response *resp) {
    size_t ql = req->query != NULL ? strlen(req->query) : 0, n = 0;
    char *buf = NULL, **keys = NULL, *save = NULL;
    int rc = ENT_OK;
    if (ql == 0)
        goto out;
    buf = malloc(ql + 1);
    keys = calloc(ql / 2 + 1, sizeof(*keys));
    if (buf == NULL || keys == NULL) {
        rc = ent_http_response_error(resp, 500, ENT_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(buf, req->query, ql + 1);
    for (char *item = strtok_r(buf, "&", &save); item != NULL;
         item = strtok_r(NULL, "&", &save)) {
        item[strcspn(item, "=")] = '\0';
        (void)percent_decode(item); /* a bad escape: left for the handler */
        keys[n++] = item;
    }
    qsort(keys, n, sizeof(*keys), key_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0) {
            rc = ent_http_response_error_field(
                resp, 400, ENT_EINVAL, keys[i],
                "query parameter \"%.64s\" repeated", keys[i]);
            goto out;
        }
out:
    free(keys);
    free(buf);
    return rc;
}

const char *ent_api_query_get(const query *q, const char *key) {
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->key[i], key) == 0)
            return q->val[i];
    return NULL;
}

/*
 * Appends the members of the JSON object body[key] (absent or null: none)
 * to in[*n] as field inputs. Values must be strings; names non-empty. The
 * strings stay borrowed from body.
 */
static int read_inputs(const json_t *body, const char *key, uint8_t how,
                       ent_obj_input *in, size_t *n, ent_http_response *resp) {
    const json_t *o = json_object_get(body, key);
    const char *name;
    json_t *val;
    if (o == NULL || json_is_null(o))
        return ENT_OK;
    if (!json_is_object(o))
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, key,
                                             "\"%s\" must be an object of "
                                             "field name to text value",
                                             key);
    json_object_foreach((json_t *)o, name, val) {
        if (name[0] == '\0')
            return ent_http_response_error_field(
                resp, 400, ENT_EINVAL, key, "empty field name in \"%s\"", key);
        if (!json_is_string(val))
            return ent_http_response_error_field(
                resp, 400, ENT_EINVAL, name,
                "field %.64s: value must be a string (as typed on the command "
                "line)",
                name);
        if (*n == ENT_API_OBJ_MAX_INPUTS)
            return ent_http_response_error(resp, 400, ENT_ELIMIT,
                                           "more than %d fields in one request",
                                           ENT_API_OBJ_MAX_INPUTS);
        in[*n] = (ent_obj_input){
            .name = name, .text = json_string_value(val), .how = how};
        (*n)++;
    }
    return ENT_OK;
}

/* Appends the custom fields named by the JSON array body["remove"] (absent
 * or null: none) to in[*n] as removals; names borrowed from body. */
static int read_removals(const json_t *body, ent_obj_input *in, size_t *n,
                         ent_http_response *resp) {
    const json_t *a = json_object_get(body, "remove");
    size_t i;
    json_t *val;
    if (a == NULL || json_is_null(a))
        return ENT_OK;
    if (!json_is_array(a))
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "remove",
                                             "\"remove\" must be an array of "
                                             "field names");
    json_array_foreach((json_t *)a, i, val) {
        const char *name = json_string_value(val);
        if (name == NULL || name[0] == '\0')
            return ent_http_response_error_field(resp, 400, ENT_EINVAL,
                                                 "remove",
                                                 "\"remove\" must be an array "
                                                 "of field names");
        if (*n == ENT_API_OBJ_MAX_INPUTS)
            return ent_http_response_error(resp, 400, ENT_ELIMIT,
                                           "more than %d fields in one request",
                                           ENT_API_OBJ_MAX_INPUTS);
        in[*n] = (ent_obj_input){.name = name, .text = "", .how = ENT_IN_REMOVE};
        (*n)++;
    }
    return ENT_OK;
}

/* The input of in[n] that the engine's reason is about: the engine names
 * a field as "field NAME" (spec/objects.md); NULL when it names none of
 * the request's fields. */
static const char *input_named(const char *err, const ent_obj_input *in,
                               size_t n) {
    for (size_t i = 0; err != NULL && i < n; i++) {
        size_t l = strlen(in[i].name);
        for (const char *p = strstr(err, "field "); p != NULL;
             p = strstr(p + 1, "field ")) {
            const char *q = p + strlen("field ");
            if (strncmp(q, in[i].name, l) != 0)
                continue; /* q[l] is only read once q holds the name */
            char after = q[l];
            if (!(after == '_' || (after >= 'a' && after <= 'z') ||
                  (after >= '0' && after <= '9')))
                return in[i].name;
        }
    }
    return NULL;
}

/* Answers a refusal of the object engine with its own reason, naming the
 * field it is about (in, n: the request's inputs; may be empty). A value
 * out of range (ENT_ELIMIT) is a bad request here, not an overload. */
static int engine_error_in(ent_http_response *resp, int rc, const char *err,
                           const ent_obj_input *in, size_t n) {
    int status = rc == ENT_ELIMIT ? 400 : ent_api_error_status(rc);
    return ent_http_response_error_field(
        resp, status, rc, input_named(err, in, n), "%s",
        err != NULL && err[0] ? err : ent_strerror(rc));
}

static int engine_error(ent_http_response *resp, int rc, const char *err) {
    return engine_error_in(resp, rc, err, NULL, 0);
}

static int respond_id(ent_http_response *resp, int status,
                      const uint8_t id[32]) {
    char hex[ENT_API_OBJ_ID_HEX + 1];
    ent_hex_encode(hex, id, 32);
    json_t *o = json_pack("{s:s}", "id", hex);
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, status, o);
    return ENT_OK;
}

/* ---- objects ------------------------------------------------------------- */

int ent_api_objects_create(ent_node *n, const ent_http_request *req,
                           ent_http_response *resp) {
    json_t *body = NULL;
    int rc = ent_api_body_object(req, resp, &body);
    if (rc == ENT_OK)
        rc = ent__api_obj_create_body(n, body, resp);
    json_decref(body);
    return rc;
}

int ent__api_obj_create_body(ent_node *n, const json_t *body,
                             ent_http_response *resp) {
    static const char *const keys[] = {"type", "set", "private", "custom",
                                       NULL};
    ent_obj_input *in = NULL;
    size_t nin = 0;
    ent_op *op = NULL;
    uint8_t id[ENT_OBJ_ID_LEN];
    char err[ENT_OBJ_ERR_MAX] = "";
    int rc;
    if ((rc = check_keys(body, keys, resp)) != ENT_OK)
        goto out;
    const char *type = json_string_value(json_object_get(body, "type"));
    if (type == NULL) {
        rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "type",
                                           "\"type\" (a string) is required");
        goto out;
    }
    if (!ent_template_type_valid(type)) {
        rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "type",
                                           "invalid type name \"%.64s\" (want "
                                           "[a-z][a-z0-9_]{0,31})",
                                           type);
        goto out;
    }
    if ((in = calloc(ENT_API_OBJ_MAX_INPUTS, sizeof(*in))) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    if ((rc = read_inputs(body, "set", ENT_IN_SHARED, in, &nin, resp)) !=
            ENT_OK ||
        (rc = read_inputs(body, "private", ENT_IN_PRIVATE, in, &nin, resp)) !=
            ENT_OK ||
        (rc = read_inputs(body, "custom", ENT_IN_CUSTOM, in, &nin, resp)) !=
            ENT_OK)
        goto out;
    rc = ent_obj_create(ent_node_objects(n), type, in, nin, id, &op, err,
                        sizeof(err));
    if (rc != ENT_OK) {
        ent_op_free(op);
        op = NULL;
        engine_error_in(resp, rc, err, in, nin);
        goto out;
    }
    ent_node_op_created(n, op);
    op = NULL;
    rc = respond_id(resp, 201, id);
out:
    free(in);
    return rc;
}

/* "id", "title", "stage", "date", "type", each optionally after "-"
 * (descending). */
static bool parse_sort(const char *s, ent_obj_list_opts *o) {
    static const struct {
        const char *name;
        ent_obj_sort sort;
    } keys[] = {{"id", ENT_OBJ_SORT_ID},
                {"title", ENT_OBJ_SORT_TITLE},
                {"stage", ENT_OBJ_SORT_STAGE},
                {"date", ENT_OBJ_SORT_DATE},
                {"type", ENT_OBJ_SORT_TYPE}};
    o->descending = s[0] == '-';
    if (o->descending)
        s++;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(s, keys[i].name) == 0) {
            o->sort = keys[i].sort;
            return true;
        }
    return false;
}

int ent_api_objects_list(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp) {
    static const char *const params[] = {"type",   "stage",  "sort", "limit",
                                         "prefix", "after", NULL};
    ent_obj_list_opts o = {0};
    uint8_t after[32];
    query q;
    json_t *arr = NULL;
    int rc = ent_api_query_parse(req, params, &q, resp);
    if (rc != ENT_OK)
        return rc;
    const char *type = ent_api_query_get(&q, "type");
    const char *sort = ent_api_query_get(&q, "sort");
    const char *limit = ent_api_query_get(&q, "limit");
    const char *prefix = ent_api_query_get(&q, "prefix");
    if (type != NULL && !ent_template_type_valid(type))
        return ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "type", "invalid type name \"%.64s\"", type);
    o.type = type;
    o.stage = ent_api_query_get(&q, "stage");
    if (o.stage != NULL && o.stage[0] == '\0')
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "stage",
                                             "stage must not be empty");
    if (sort != NULL && !parse_sort(sort, &o))
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "sort",
                                             "sort must be id, title, stage, "
                                             "date or type, optionally after "
                                             "'-'");
    if (limit != NULL) {
        char *end = NULL;
        unsigned long long v = strtoull(limit, &end, 10);
        if (limit[0] < '1' || limit[0] > '9' || *end != '\0' ||
            v > ENT_API_OBJ_MAX_LIMIT)
            return ent_http_response_error_field(
                resp, 400, ENT_EINVAL, "limit",
                "limit must be a number from 1 to %d", ENT_API_OBJ_MAX_LIMIT);
        o.limit = (size_t)v;
    }
    if (prefix != NULL) {
        size_t pl = strlen(prefix);
        bool ok = pl >= 1 && pl <= ENT_API_OBJ_ID_HEX;
        for (size_t i = 0; ok && i < pl; i++)
            ok = (prefix[i] >= '0' && prefix[i] <= '9') ||
                 (prefix[i] >= 'a' && prefix[i] <= 'f');
        if (!ok)
            return ent_http_response_error_field(resp, 400, ENT_EINVAL,
                                                 "prefix",
                                                 "prefix must be 1 to 64 "
                                                 "lowercase hex characters");
        o.prefix = prefix;
    }
    const char *aft = ent_api_query_get(&q, "after");
    if (aft != NULL) {
        if (ent_api_obj_id_parse(aft, after) != ENT_OK)
            return ent_http_response_error(resp, 400, ENT_EINVAL,
                                           "after must be an object id (64 "
                                           "lowercase hex characters)");
        if (o.sort != ENT_OBJ_SORT_ID || o.descending)
            return ent_http_response_error(resp, 400, ENT_EINVAL,
                                           "after pages in id order only "
                                           "(no sort, or sort=id)");
        o.after = after;
    }
    rc = ent_obj_list_json_ex(ent_node_objects(n), &o, &arr);
    if (rc != ENT_OK)
        return engine_error(resp, rc, NULL);
    ent_http_response_json(resp, 200, arr);
    return ENT_OK;
}

int ent_api_obj_path(const ent_http_request *req, uint8_t id[32],
                     const char **rest, ent_http_response *resp) {
    const char *p = req->path + strlen(OBJECTS_PREFIX);
    char hex[ENT_API_OBJ_ID_HEX + 1];
    size_t l = strcspn(p, "/");
    if (strncmp(req->path, OBJECTS_PREFIX, strlen(OBJECTS_PREFIX)) != 0 ||
        l == 0)
        return ent_http_response_error(resp, 404, ENT_ENOENT,
                                       "no such endpoint");
    if (l != ENT_API_OBJ_ID_HEX)
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "id",
                                             "invalid object id (want 64 "
                                             "lowercase hex characters)");
    memcpy(hex, p, l);
    hex[l] = '\0';
    if (ent_api_obj_id_parse(hex, id) != ENT_OK)
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "id",
                                             "invalid object id (want 64 "
                                             "lowercase hex characters)");
    *rest = p + l;
    return ENT_OK;
}

/* The derived fields of a shown object (spec/reports.md "Derived
 * fields"), from this org's template of its type; none without one. */
typedef struct derive_ctx {
    json_t *obj;
    const uint8_t *id;
    bool hide;
    uint64_t now_ms;
} derive_ctx;

static int derive_fn(ent_txn *txn, void *data) {
    derive_ctx *c = data;
    ent_template *t = NULL;
    const char *type = json_string_value(json_object_get(c->obj, "type"));
    int rc = type != NULL ? ent_template_get(txn, type, &t) : ENT_ENOENT;
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc == ENT_OK)
        rc = ent_derive_show(txn, t, c->id, c->now_ms, c->hide, c->obj);
    ent_template_free(t);
    return rc;
}

int ent_api_object_get(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp) {
    static const char *const params[] = {"hide_private", NULL};
    uint8_t id[32];
    const char *rest;
    query q;
    json_t *o = NULL;
    int rc = ent_api_obj_path(req, id, &rest, resp);
    if (rc != ENT_OK)
        return rc;
    if (strcmp(rest, "/rules") == 0) {
        if (req->query != NULL && req->query[0] != '\0')
            return ent_http_response_error(resp, 400, ENT_EINVAL,
                                           "no query parameters are "
                                           "accepted here");
        rc = ent_obj_rules_json(ent_node_objects(n), id, &o);
        if (rc == ENT_ENOENT)
            return ent_http_response_error(resp, 404, ENT_ENOENT,
                                           "no such object");
        if (rc != ENT_OK)
            return engine_error(resp, rc, NULL);
        ent_http_response_json(resp, 200, o);
        return ENT_OK;
    }
    if (rest[0] != '\0')
        return ent_http_response_error(resp, 404, ENT_ENOENT,
                                       "no such endpoint");
    if ((rc = ent_api_query_parse(req, params, &q, resp)) != ENT_OK)
        return rc;
    const char *hp = ent_api_query_get(&q, "hide_private");
    bool hide = false;
    if (hp != NULL) {
        if (strcmp(hp, "1") == 0 || strcmp(hp, "true") == 0)
            hide = true;
        else if (strcmp(hp, "0") != 0 && strcmp(hp, "false") != 0)
            return ent_http_response_error_field(resp, 400, ENT_EINVAL,
                                                 "hide_private",
                                                 "hide_private must be 1, 0, "
                                                 "true or false");
    }
    rc = ent_obj_show_json(ent_node_objects(n), id, hide, &o);
    if (rc == ENT_ENOENT)
        return ent_http_response_error(resp, 404, ENT_ENOENT, "no such object");
    if (rc == ENT_OK) {
        derive_ctx dc = {o, id, hide,
                         ent_obj_wall_ms(ent_node_objects(n))};
        rc = ent_store_read(ent_node_store(n), derive_fn, &dc);
    }
    if (rc != ENT_OK) {
        json_decref(o);
        return engine_error(resp, rc, NULL);
    }
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}

/* The body of POST /v1/objects/ID: set fields. */
int ent__api_obj_set_body(ent_node *n, const uint8_t id[32],
                          const json_t *body, ent_http_response *resp) {
    static const char *const keys[] = {"set", "private", "custom", "remove",
                                       NULL};
    ent_obj_input *in = NULL;
    size_t nin = 0;
    ent_op *op = NULL;
    char err[ENT_OBJ_ERR_MAX] = "";
    int rc;
    if ((rc = check_keys(body, keys, resp)) != ENT_OK)
        goto out;
    if ((in = calloc(ENT_API_OBJ_MAX_INPUTS, sizeof(*in))) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    if ((rc = read_inputs(body, "set", ENT_IN_SHARED, in, &nin, resp)) !=
            ENT_OK ||
        (rc = read_inputs(body, "private", ENT_IN_PRIVATE, in, &nin, resp)) !=
            ENT_OK ||
        (rc = read_inputs(body, "custom", ENT_IN_CUSTOM, in, &nin, resp)) !=
            ENT_OK ||
        (rc = read_removals(body, in, &nin, resp)) != ENT_OK)
        goto out;
    if (nin == 0) {
        rc = ent_http_response_error(resp, 400, ENT_EINVAL,
                                     "nothing to set: give \"set\", "
                                     "\"private\", \"custom\" or "
                                     "\"remove\" fields");
        goto out;
    }
    rc = ent_obj_set(ent_node_objects(n), id, in, nin, &op, err, sizeof(err));
    if (rc != ENT_OK) {
        ent_op_free(op);
        op = NULL;
        engine_error_in(resp, rc,
                        rc == ENT_ENOENT && !err[0] ? "no such object" : err,
                        in, nin);
        goto out;
    }
    ent_node_op_created(n, op); /* NULL when only private fields changed */
    rc = respond_id(resp, 200, id);
out:
    free(in);
    return rc;
}

/* POST /v1/objects/ID/stage {"stage"} or /comments {"text"}. */
int ent__api_obj_stage_body(ent_node *n, const uint8_t id[32],
                            const json_t *body, bool stage,
                            ent_http_response *resp) {
    const char *key = stage ? "stage" : "text";
    const char *const keys[] = {key, NULL};
    ent_op *op = NULL;
    char err[ENT_OBJ_ERR_MAX] = "";
    int rc = check_keys(body, keys, resp);
    if (rc != ENT_OK)
        return rc;
    const char *v = json_string_value(json_object_get(body, key));
    if (v == NULL || v[0] == '\0')
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, key,
                                             "\"%s\" (a non-empty string) is "
                                             "required",
                                             key);
    if (stage)
        rc = ent_obj_stage(ent_node_objects(n), id, v, &op, err, sizeof(err));
    else
        rc = ent_obj_comment(ent_node_objects(n), id, v, &op, err, sizeof(err));
    if (rc != ENT_OK) {
        ent_op_free(op);
        int st = rc == ENT_ELIMIT ? 400 : ent_api_error_status(rc);
        /* a bad stage or comment text is about the one key of the body */
        return ent_http_response_error_field(
            resp, st, rc, st == 400 || st == 413 ? key : NULL, "%s",
            rc == ENT_ENOENT && !err[0] ? "no such object"
            : err[0]                    ? err
                                        : ent_strerror(rc));
    }
    ent_node_op_created(n, op);
    return respond_id(resp, 200, id);
}

/* POST /v1/objects/ID/approve {"step"?, "comment"?, "expires"?} or
 * /reject {"step"?, "reason"} (spec/workflows.md §5, §9). */
static int object_approve(ent_node *n, const uint8_t id[32],
                          const json_t *body, bool reject,
                          ent_http_response *resp) {
    const char *const keys[] = {"step", reject ? "reason" : "comment",
                                reject ? NULL : "expires", NULL};
    ent_op *ops[2] = {NULL, NULL};
    char err[ENT_OBJ_ERR_MAX] = "";
    int rc = check_keys(body, keys, resp);
    if (rc != ENT_OK)
        return rc;
    const json_t *st = json_object_get(body, "step");
    const json_t *cm = json_object_get(body, keys[1]);
    if ((st != NULL && (!json_is_string(st) || json_string_length(st) == 0 ||
                        json_string_length(st) > ENT_OP_NAME_MAX)) ||
        (cm != NULL && !json_is_string(cm)))
        return ent_http_response_error(
            resp, 400, ENT_EINVAL,
            "\"step\" is a name of 1 to 64 bytes and \"%s\" a string",
            keys[1]);
    if (reject && (cm == NULL || json_string_length(cm) == 0))
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "a rejection needs a \"reason\"");
    if (cm != NULL && strlen(json_string_value(cm)) != json_string_length(cm))
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "\"%s\" holds a NUL byte", keys[1]);
    const json_t *ex = reject ? NULL : json_object_get(body, "expires");
    if (ex != NULL &&
        (!json_is_string(ex) || json_string_length(ex) != 10 ||
         strlen(json_string_value(ex)) != 10))
        return ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "expires",
            "\"expires\" is a date, YYYY-MM-DD");
    rc = ent_obj_decide(ent_node_objects(n), id,
                        st ? json_string_value(st) : NULL, reject,
                        cm ? json_string_value(cm) : NULL,
                        ex ? json_string_value(ex) : NULL, ops, err,
                        sizeof(err));
    for (size_t i = 0; i < 2; i++) /* made, even when the next failed */
        if (ops[i] != NULL)
            ent_node_op_created(n, ops[i]);
    if (rc != ENT_OK)
        return engine_error(
            resp, rc, rc == ENT_ENOENT && !err[0] ? "no such object" : err);
    return respond_id(resp, 200, id);
}

int ent_api_object_convert(ent_node *n, const ent_http_request *req,
                           ent_http_response *resp) {
    static const char *const keys[] = {"to", NULL};
    uint8_t id[32], nid[32];
    const char *rest;
    json_t *body = NULL;
    ent_op *cop = NULL, *sop = NULL;
    char err[ENT_OBJ_ERR_MAX] = "";
    int rc = ent_api_obj_path(req, id, &rest, resp);
    if (rc != ENT_OK)
        return rc;
    if (req->query != NULL && req->query[0] != '\0')
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "no query parameters are accepted here");
    if ((rc = ent_api_body_object(req, resp, &body)) != ENT_OK)
        return rc;
    if ((rc = check_keys(body, keys, resp)) != ENT_OK)
        goto out;
    const char *to = json_string_value(json_object_get(body, "to"));
    if (to == NULL) {
        rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "to",
                                           "\"to\" (a type name) is required");
        goto out;
    }
    rc = ent_obj_convert(ent_node_objects(n), id, to, nid, &cop, &sop, err,
                         sizeof(err));
    if (cop != NULL)
        ent_node_op_created(n, cop); /* made, even when the set failed */
    if (sop != NULL)
        ent_node_op_created(n, sop);
    if (rc != ENT_OK) {
        engine_error(resp, rc,
                     rc == ENT_ENOENT && !err[0] ? "no such object" : err);
        goto out;
    }
    char h1[ENT_API_OBJ_ID_HEX + 1], h2[ENT_API_OBJ_ID_HEX + 1];
    ent_hex_encode(h1, nid, 32);
    ent_hex_encode(h2, id, 32);
    json_t *o = json_pack("{s:s, s:s}", "id", h1, "from", h2);
    if (o == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    ent_http_response_json(resp, 201, o);
out:
    json_decref(body);
    return rc;
}

int ent_api_object_put(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp) {
    uint8_t id[32];
    const char *rest;
    json_t *body = NULL;
    ent_op *op = NULL;
    char err[ENT_OBJ_ERR_MAX] = "";
    int rc = ent_api_obj_path(req, id, &rest, resp);
    if (rc != ENT_OK)
        return rc;
    if (strcmp(rest, "/rules") != 0)
        return ent_http_response_error(resp, 404, ENT_ENOENT,
                                       "no such endpoint");
    if (req->query != NULL && req->query[0] != '\0')
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "no query parameters are accepted here");
    if ((rc = ent_api_body_object(req, resp, &body)) != ENT_OK)
        return rc;
    rc = ent_obj_set_rules_json(ent_node_objects(n), id, body, &op, err,
                                sizeof(err));
    json_decref(body);
    if (rc != ENT_OK) {
        ent_op_free(op);
        return engine_error(
            resp, rc, rc == ENT_ENOENT && !err[0] ? "no such object" : err);
    }
    ent_node_op_created(n, op);
    return respond_id(resp, 200, id);
}

/* POST /v1/objects/{id}[/stage|/comments|/approve|/reject]: what names
 * the change. */
/* POST /v1/objects/{id}/erase {"field"?}: an erase op (the owner only;
 * spec/objects.md "Erasure"). */
static int object_erase(ent_node *n, const uint8_t id[32], const json_t *body,
                        ent_http_response *resp) {
    const char *const keys[] = {"field", NULL};
    ent_op *op = NULL;
    char err[ENT_OBJ_ERR_MAX] = "";
    int rc = check_keys(body, keys, resp);
    if (rc != ENT_OK)
        return rc;
    const json_t *f = json_object_get(body, "field");
    if (f != NULL && (!json_is_string(f) || json_string_length(f) == 0 ||
                      json_string_length(f) > ENT_OP_NAME_MAX ||
                      strlen(json_string_value(f)) != json_string_length(f)))
        return ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "field",
            "\"field\" is a field name of 1 to 64 bytes");
    rc = ent_obj_erase(ent_node_objects(n), id, f ? json_string_value(f) : NULL,
                       &op, err, sizeof(err));
    if (rc != ENT_OK) {
        ent_op_free(op);
        return engine_error(
            resp, rc, rc == ENT_ENOENT && !err[0] ? "no such object" : err);
    }
    ent_node_op_created(n, op);
    return respond_id(resp, 200, id);
}

enum { POST_SET, POST_STAGE, POST_COMMENT, POST_APPROVE, POST_REJECT,
       POST_ERASE };

static int object_post(ent_node *n, const ent_http_request *req, int what,
                       ent_http_response *resp) {
    uint8_t id[32];
    const char *rest;
    json_t *body = NULL;
    int rc = ent_api_obj_path(req, id, &rest, resp);
    if (rc != ENT_OK)
        return rc;
    if (req->query != NULL && req->query[0] != '\0')
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "no query parameters are accepted here");
    if ((rc = ent_api_body_object(req, resp, &body)) != ENT_OK)
        return rc;
    if (what == POST_SET)
        rc = ent__api_obj_set_body(n, id, body, resp);
    else if (what == POST_APPROVE || what == POST_REJECT)
        rc = object_approve(n, id, body, what == POST_REJECT, resp);
    else if (what == POST_ERASE)
        rc = object_erase(n, id, body, resp);
    else
        rc = ent__api_obj_stage_body(n, id, body, what == POST_STAGE, resp);
    json_decref(body);
    return rc;
}

int ent_api_object_set(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp) {
    return object_post(n, req, POST_SET, resp);
}

int ent_api_object_stage(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp) {
    return object_post(n, req, POST_STAGE, resp);
}

int ent_api_object_comment(ent_node *n, const ent_http_request *req,
                           ent_http_response *resp) {
    return object_post(n, req, POST_COMMENT, resp);
}

int ent_api_object_approve(ent_node *n, const ent_http_request *req,
                           ent_http_response *resp) {
    return object_post(n, req, POST_APPROVE, resp);
}

int ent_api_object_reject(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp) {
    return object_post(n, req, POST_REJECT, resp);
}

int ent_api_object_erase(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp) {
    return object_post(n, req, POST_ERASE, resp);
}

/* ---- templates ----------------------------------------------------------- */

typedef struct tpl_list_ctx {
    json_t *arr;
} tpl_list_ctx;

static bool is_builtin(const char *type) {
    for (const char *const *b = ent_template_builtin_types(); *b != NULL; b++)
        if (strcmp(*b, type) == 0)
            return true;
    return false;
}

static int tpl_list_fn(ent_txn *txn, void *data) {
    tpl_list_ctx *c = data;
    ent_strlist l = {0};
    int rc = ent_template_list(txn, &l);
    if (rc != ENT_OK)
        return rc;
    json_decref(c->arr); /* a retried transaction starts over */
    if ((c->arr = json_array()) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < l.n; i++) {
        const void *v;
        size_t vl;
        int g = ent_txn_get(txn, ENT_TBL_TEMPLATES, l.v[i], strlen(l.v[i]), &v,
                            &vl);
        if (g != ENT_OK && g != ENT_ENOENT) {
            rc = g;
            goto out;
        }
        json_t *o = json_pack("{s:s,s:b,s:b}", "type", l.v[i], "builtin",
                              is_builtin(l.v[i]), "stored", g == ENT_OK);
        if (o == NULL || json_array_append_new(c->arr, o) != 0) {
            rc = ENT_ENOMEM;
            goto out;
        }
    }
out:
    ent_strlist_free(&l);
    return rc;
}

int ent_api_templates_list(ent_node *n, const ent_http_request *req,
                           ent_http_response *resp) {
    tpl_list_ctx c = {NULL};
    int rc = ent_store_read(ent_node_store(n), tpl_list_fn, &c);
    if (rc != ENT_OK) {
        json_decref(c.arr);
        return ent_http_response_error(resp, 500, rc, "reading templates: %s",
                                       ent_strerror(rc));
    }
    ent_http_response_json(resp, 200, c.arr);
    return ENT_OK;
}

/* The TYPE of /v1/templates/TYPE, validated (400) into type. */
static int template_path(const ent_http_request *req,
                         char type[ENT_TPL_TYPE_MAX + 1],
                         ent_http_response *resp) {
    const char *p = req->path + strlen(TEMPLATES_PREFIX);
    if (strlen(p) > ENT_TPL_TYPE_MAX || !ent_template_type_valid(p))
        return ent_http_response_error_field(
            resp, p[0] ? 400 : 404, p[0] ? ENT_EINVAL : ENT_ENOENT, "type",
            "invalid type name (want "
            "[a-z][a-z0-9_]{0,31})");
    if (req->query != NULL && req->query[0] != '\0')
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "no query parameters are accepted here");
    strcpy(type, p);
    return ENT_OK;
}

typedef struct tpl_get_ctx {
    const char *type;
    ent_template *t;
} tpl_get_ctx;

static int tpl_get_fn(ent_txn *txn, void *data) {
    tpl_get_ctx *c = data;
    return ent_template_get(txn, c->type, &c->t);
}

int ent_api_template_get(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp) {
    char type[ENT_TPL_TYPE_MAX + 1];
    tpl_get_ctx c = {type, NULL};
    json_t *j = NULL;
    int rc = template_path(req, type, resp);
    if (rc != ENT_OK)
        return rc;
    rc = ent_store_read(ent_node_store(n), tpl_get_fn, &c);
    if (rc == ENT_ENOENT)
        return ent_http_response_error(resp, 404, rc, "no template of type %s",
                                       type);
    if (rc == ENT_OK)
        rc = ent_template_to_json(c.t, &j);
    ent_template_free(c.t);
    if (rc != ENT_OK)
        return ent_http_response_error(resp, 500, rc, "template %s: %s", type,
                                       ent_strerror(rc));
    ent_http_response_json(resp, 200, j);
    return ENT_OK;
}

static int tpl_put_fn(ent_txn *txn, void *data) {
    return ent_template_put(txn, data);
}

int ent_api_template_put(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp) {
    char type[ENT_TPL_TYPE_MAX + 1];
    char err[256] = "";
    json_t *body = NULL, *j = NULL;
    ent_template *t = NULL;
    int rc = template_path(req, type, resp);
    if (rc != ENT_OK)
        return rc;
    if ((rc = ent_api_body_object(req, resp, &body)) != ENT_OK)
        return rc;
    rc = ent_template_from_json(body, &t, err, sizeof(err));
    if (rc == ENT_OK)
        rc = ent_derive_check(t, err, sizeof(err));
    if (rc != ENT_OK) {
        ent_http_response_error(resp, rc == ENT_ENOMEM ? 500 : 400, rc,
                                "invalid template: %s",
                                err[0] ? err : ent_strerror(rc));
        goto out;
    }
    if (strcmp(t->type, type) != 0) {
        rc = ent_http_response_error(resp, 400, ENT_EINVAL,
                                     "template type \"%s\" does not match the "
                                     "path type \"%s\"",
                                     t->type, type);
        goto out;
    }
    rc = ent_store_write(ent_node_store(n), tpl_put_fn, t);
    if (rc == ENT_OK)
        rc = ent_template_to_json(t, &j);
    if (rc != ENT_OK) {
        ent_http_response_error(resp, ent_api_error_status(rc), rc,
                                "storing template %s: %s", type,
                                ent_strerror(rc));
        goto out;
    }
    ent_http_response_json(resp, 200, j);
out:
    ent_template_free(t);
    json_decref(body);
    return rc;
}

static int tpl_del_fn(ent_txn *txn, void *data) {
    return ent_template_del(txn, data);
}

int ent_api_template_delete(ent_node *n, const ent_http_request *req,
                            ent_http_response *resp) {
    char type[ENT_TPL_TYPE_MAX + 1];
    int rc = template_path(req, type, resp);
    if (rc != ENT_OK)
        return rc;
    rc = ent_store_write(ent_node_store(n), tpl_del_fn, type);
    if (rc == ENT_ENOENT)
        return ent_http_response_error(resp, 404, rc,
                                       "no stored template of type %s", type);
    if (rc != ENT_OK)
        return ent_http_response_error(resp, 500, rc, "%s", ent_strerror(rc));
    json_t *o = json_pack("{s:s}", "type", type);
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}

/* ---- configuration ------------------------------------------------------- */

/* The node's settings of GET and PUT /v1/config. */
typedef struct node_conf {
    char cur[4];
    char advertise[ENT_ADDR_STRLEN]; /* "": not set */
    const char *set_cur;             /* put: NULL, or the new value */
    const char *set_advertise;       /* put: NULL, "" (unset) or the value */
} node_conf;

static int conf_get_fn(ent_txn *txn, void *data) {
    node_conf *c = data;
    int rc = ent_config_default_currency(txn, c->cur);
    if (rc != ENT_OK)
        return rc;
    rc = ent_home_meta_get(txn, ENT_META_ADVERTISE, c->advertise,
                           sizeof(c->advertise));
    if (rc == ENT_ENOENT) {
        c->advertise[0] = '\0';
        rc = ENT_OK;
    }
    return rc;
}

static int config_respond(ent_node *n, ent_http_response *resp) {
    node_conf c;
    int rc = ent_store_read(ent_node_store(n), conf_get_fn, &c);
    if (rc != ENT_OK)
        return ent_http_response_error(resp, 500, rc, "%s", ent_strerror(rc));
    json_t *o =
        json_pack("{s:s,s:o}", "default_currency", c.cur, "advertise",
                  c.advertise[0] ? json_string(c.advertise) : json_null());
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}

int ent_api_config_get(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp) {
    if (req->query != NULL && req->query[0] != '\0')
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "no query parameters are accepted here");
    return config_respond(n, resp);
}

static int conf_set_fn(ent_txn *txn, void *data) {
    const node_conf *c = data;
    int rc = ENT_OK;
    if (c->set_cur != NULL)
        rc = ent_config_set_default_currency(txn, c->set_cur);
    if (rc == ENT_OK && c->set_advertise != NULL)
        rc = ent_home_meta_put(txn, ENT_META_ADVERTISE, c->set_advertise);
    return rc;
}

/* Each key given is set, together, in one transaction; at least one. */
int ent_api_config_put(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp) {
    static const char *const keys[] = {"default_currency", "advertise", NULL};
    node_conf c = {.set_cur = NULL, .set_advertise = NULL};
    json_t *body = NULL;
    int rc = ent_api_body_object(req, resp, &body);
    if (rc != ENT_OK)
        return rc;
    if ((rc = check_keys(body, keys, resp)) != ENT_OK)
        goto out;
    const json_t *jc = json_object_get(body, "default_currency");
    const json_t *ja = json_object_get(body, "advertise");
    if (jc == NULL && ja == NULL) {
        rc = ent_http_response_error(resp, 400, ENT_EINVAL,
                                     "give \"default_currency\" or "
                                     "\"advertise\"");
        goto out;
    }
    c.set_cur = json_string_value(jc);
    if (jc != NULL && (c.set_cur == NULL || strlen(c.set_cur) != 3 ||
                       !ent_currency_known(c.set_cur))) {
        rc = ent_http_response_error_field(resp, 400, ENT_EINVAL,
                                           "default_currency",
                                           "\"default_currency\" must be a "
                                           "known ISO 4217 code in upper case");
        goto out;
    }
    /* advertise: HOST:PORT, or null / "" to go back to the default */
    c.set_advertise = json_is_null(ja) ? "" : json_string_value(ja);
    if (ja != NULL &&
        (c.set_advertise == NULL || (c.set_advertise[0] != '\0' &&
                                     !ent_advertise_valid(c.set_advertise)))) {
        rc = ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "advertise",
            "\"advertise\" must be HOST:PORT (an IPv4 address, [IPv6] or "
            "a DNS name, port 1-65535), or null");
        goto out;
    }
    rc = ent_store_write(ent_node_store(n), conf_set_fn, &c);
    if (rc != ENT_OK) {
        ent_http_response_error(resp, ent_api_error_status(rc), rc, "%s",
                                ent_strerror(rc));
        goto out;
    }
    rc = config_respond(n, resp);
out:
    json_decref(body);
    return rc;
}

/* The NAME of /v1/config/NAME, validated (400). */
static int config_path(const ent_http_request *req,
                       char name[ENT_TPL_NAME_MAX + 1],
                       ent_http_response *resp) {
    const char *p = req->path + strlen(CONFIG_PREFIX);
    if (strlen(p) > ENT_TPL_NAME_MAX || !ent_template_name_valid(p))
        return ent_http_response_error_field(
            resp, p[0] ? 400 : 404, p[0] ? ENT_EINVAL : ENT_ENOENT, "name",
            "invalid configuration table name "
            "(want [a-z][a-z0-9_]{0,63})");
    if (req->query != NULL && req->query[0] != '\0')
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "no query parameters are accepted here");
    strcpy(name, p);
    return ENT_OK;
}

typedef struct cfg_ctx {
    const char *name;
    ent_strlist l;
    const char **values;    /* put */
    size_t n;
    const char *if_version; /* put: only over this version, or NULL */
    char version[2 * CFG_VERSION_LEN + 1]; /* put: the one found instead */
} cfg_ctx;

/* The version of a table's list (spec/api.md "Configuration"): the first
 * 16 bytes of BLAKE2b-256 over each value followed by one 0 byte, in the
 * list's order, as lowercase hex. */
static void cfg_version(const ent_strlist *l, char out[2 * CFG_VERSION_LEN + 1]) {
    uint8_t h[ENT_HASH_LEN];
    size_t len = 0;
    for (size_t i = 0; i < l->n; i++)
        len += strlen(l->v[i]) + 1;
    uint8_t *buf = malloc(len ? len : 1), *p = buf;
    if (buf == NULL) { /* never equal to a version read */
        memset(out, 'x', 2 * CFG_VERSION_LEN);
        out[2 * CFG_VERSION_LEN] = '\0';
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        size_t k = strlen(l->v[i]) + 1;
        memcpy(p, l->v[i], k);
        p += k;
    }
    ent_hash(h, buf, len);
    free(buf);
    ent_hex_encode(out, h, CFG_VERSION_LEN);
}

static int cfg_get_fn(ent_txn *txn, void *data) {
    cfg_ctx *c = data;
    ent_strlist_free(&c->l);
    return ent_config_get_list(txn, c->name, &c->l);
}

static int cfg_put_fn(ent_txn *txn, void *data) {
    cfg_ctx *c = data;
    if (c->if_version != NULL) { /* compared in the writing transaction */
        ent_strlist cur = {0};
        int rc = ent_config_get_list(txn, c->name, &cur);
        if (rc != ENT_OK && rc != ENT_ENOENT)
            return rc;
        cfg_version(&cur, c->version);
        ent_strlist_free(&cur);
        if (strcmp(c->version, c->if_version) != 0)
            return ENT_ECONFLICT;
    }
    return ent_config_put_list(txn, c->name, c->values, c->n);
}

static int config_list_respond(ent_node *n, const char *name,
                               ent_http_response *resp) {
    cfg_ctx c = {.name = name};
    json_t *arr = NULL;
    int rc = ent_store_read(ent_node_store(n), cfg_get_fn, &c);
    if (rc == ENT_ENOENT) {
        rc = ent_http_response_error(resp, 404, rc, "no configuration table %s",
                                     name);
        goto out;
    }
    if (rc != ENT_OK) {
        rc = ent_http_response_error(resp, 500, rc, "%s", ent_strerror(rc));
        goto out;
    }
    if ((arr = json_array()) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < c.l.n; i++) {
        if (json_array_append_new(arr, json_string(c.l.v[i])) != 0) {
            rc = ENT_ENOMEM;
            goto out;
        }
    }
    char version[2 * CFG_VERSION_LEN + 1];
    cfg_version(&c.l, version);
    json_t *o = json_pack("{s:s,s:o,s:s}", "name", name, "values", arr,
                          "version", version);
    arr = NULL;
    if (o == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    ent_http_response_json(resp, 200, o);
out:
    json_decref(arr);
    ent_strlist_free(&c.l);
    return rc;
}

int ent_api_config_list_get(ent_node *n, const ent_http_request *req,
                            ent_http_response *resp) {
    char name[ENT_TPL_NAME_MAX + 1];
    int rc = config_path(req, name, resp);
    if (rc != ENT_OK)
        return rc;
    return config_list_respond(n, name, resp);
}

int ent_api_config_list_put(ent_node *n, const ent_http_request *req,
                            ent_http_response *resp) {
    static const char *const keys[] = {"values", "if_version", NULL};
    char name[ENT_TPL_NAME_MAX + 1];
    json_t *body = NULL;
    cfg_ctx c = {.name = name};
    int rc = config_path(req, name, resp);
    if (rc != ENT_OK)
        return rc;
    if (strcmp(name, "stages") == 0) /* one list: the template's */
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "the workflow stages of a type are its "
                                       "template's \"stages\" (PUT "
                                       "/v1/templates/TYPE), not a table");
    if ((rc = ent_api_body_object(req, resp, &body)) != ENT_OK)
        return rc;
    if ((rc = check_keys(body, keys, resp)) != ENT_OK)
        goto out;
    const json_t *arr = json_object_get(body, "values");
    if (!json_is_array(arr) || json_array_size(arr) > ENT_TPL_MAX_VALUES) {
        rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "values",
                                           "\"values\" must be an array of at "
                                           "most %d strings",
                                           ENT_TPL_MAX_VALUES);
        goto out;
    }
    const json_t *iv = json_object_get(body, "if_version");
    if (iv != NULL) {
        c.if_version = json_string_value(iv);
        size_t k = c.if_version != NULL ? strlen(c.if_version) : 0;
        bool hex = k == 2 * CFG_VERSION_LEN;
        for (size_t i = 0; hex && i < k; i++)
            hex = (c.if_version[i] >= '0' && c.if_version[i] <= '9') ||
                  (c.if_version[i] >= 'a' && c.if_version[i] <= 'f');
        if (!hex) {
            rc = ent_http_response_error_field(
                resp, 400, ENT_EINVAL, "if_version",
                "\"if_version\" must be the \"version\" a GET answered: %d "
                "lowercase hex digits",
                2 * CFG_VERSION_LEN);
            goto out;
        }
    }
    c.n = json_array_size(arr);
    if ((c.values = calloc(c.n + 1, sizeof(*c.values))) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < c.n; i++) {
        c.values[i] = json_string_value(json_array_get(arr, i));
        if (c.values[i] == NULL) {
            rc = ent_http_response_error_field(
                resp, 400, ENT_EINVAL, "values",
                "\"values\"[%zu] is not a string", i);
            goto out;
        }
    }
    rc = ent_store_write(ent_node_store(n), cfg_put_fn, &c);
    if (rc == ENT_ECONFLICT) {
        rc = ent_http_response_error_field(
            resp, 409, rc, "if_version",
            "%s changed since version %s was read (it is %s now); nothing "
            "stored: read it again",
            name, c.if_version, c.version);
        goto out;
    }
    if (rc == ENT_EINVAL) {
        rc = ent_http_response_error_field(
            resp, 400, rc, "values",
            "invalid values for %s: non-empty, "
            "distinct text of at most %d bytes each",
            name, ENT_TPL_VALUE_MAX);
        goto out;
    }
    if (rc != ENT_OK) {
        rc = ent_http_response_error(resp, ent_api_error_status(rc), rc, "%s",
                                     ent_strerror(rc));
        goto out;
    }
    rc = config_list_respond(n, name, resp);
out:
    free(c.values);
    json_decref(body);
    return rc;
}

typedef struct tables_ctx {
    json_t *arr;
} tables_ctx;

static int tables_fn(ent_txn *txn, void *data) {
    tables_ctx *c = data;
    ent_strlist stored = {0}, all = {0};
    json_decref(c->arr);
    c->arr = json_array();
    int rc = c->arr != NULL ? ent_config_tables(txn, &stored, &all)
                            : ENT_ENOMEM;
    for (size_t i = 0; rc == ENT_OK && i < all.n; i++) {
        ent_strlist l = {0};
        json_t *vals = json_array(), *row;
        bool st = false;
        for (size_t k = 0; k < stored.n && !st; k++)
            st = strcmp(stored.v[k], all.v[i]) == 0;
        if (vals == NULL) {
            rc = ENT_ENOMEM;
            break;
        }
        char version[2 * CFG_VERSION_LEN + 1];
        rc = ent_config_get_list(txn, all.v[i], &l);
        for (size_t k = 0; rc == ENT_OK && k < l.n; k++)
            if (json_array_append_new(vals, json_string(l.v[k])) != 0)
                rc = ENT_ENOMEM;
        cfg_version(&l, version);
        ent_strlist_free(&l);
        row = rc == ENT_OK ? json_pack("{s:s,s:b,s:b,s:O,s:s}", "name",
                                       all.v[i], "builtin",
                                       ent_config_builtin_table(all.v[i]),
                                       "stored", st, "values", vals,
                                       "version", version)
                           : NULL;
        json_decref(vals);
        if (rc == ENT_OK && (row == NULL || json_array_append_new(c->arr, row)))
            rc = ENT_ENOMEM;
    }
    ent_strlist_free(&stored);
    ent_strlist_free(&all);
    return rc;
}

int ent_api_config_tables(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp) {
    tables_ctx c = {0};
    if (req->query != NULL && req->query[0] != '\0')
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "no query parameters are accepted here");
    int rc = ent_store_read(ent_node_store(n), tables_fn, &c);
    if (rc != ENT_OK) {
        json_decref(c.arr);
        return rc;
    }
    ent_http_response_json(resp, 200, c.arr);
    return ENT_OK;
}
