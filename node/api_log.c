/*
 * api_log.c - the activity-log endpoints of the local API; see api_log.h.
 */
#include "node/api_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "node/actlog.h"
#include "node/audit.h"
#include "node/err.h"

/* Exports above this are refused over the API (hex doubles them and the
 * client accepts ENT_HTTP_MAX_RESPONSE bytes). */
#define EXPORT_API_MAX ((ENT_HTTP_MAX_RESPONSE - 4096) / 2)

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Reads the query parameters since (decimal) and object (64 hex). */
static int parse_query(const ent_http_request *req, bool allow_object,
                       uint64_t *since, bool *has_object, uint8_t obj[32],
                       ent_http_response *resp) {
    char buf[256];
    *since = 0;
    *has_object = false;
    if (req->query == NULL || req->query[0] == '\0')
        return ENT_OK;
    if (strlen(req->query) >= sizeof(buf))
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "query string too long");
    strcpy(buf, req->query);
    char *save = NULL;
    for (char *it = strtok_r(buf, "&", &save); it != NULL;
         it = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(it, '=');
        if (eq == NULL)
            return ent_http_response_error(resp, 400, ENT_EINVAL,
                                           "bad query parameter");
        *eq++ = '\0';
        if (strcmp(it, "since") == 0) {
            char *end = NULL;
            if (eq[0] < '0' || eq[0] > '9')
                return ent_http_response_error(resp, 400, ENT_EINVAL,
                                               "bad since");
            unsigned long long v = strtoull(eq, &end, 10);
            if (*end != '\0')
                return ent_http_response_error(resp, 400, ENT_EINVAL,
                                               "bad since");
            *since = v;
        } else if (allow_object && strcmp(it, "object") == 0) {
            if (strlen(eq) != 64 || ent_hex_decode(obj, 32, eq) != ENT_OK)
                return ent_http_response_error(resp, 400, ENT_EINVAL,
                                               "bad object id");
            *has_object = true;
        } else {
            return ent_http_response_error(resp, 400, ENT_EINVAL,
                                           "unknown query parameter");
        }
    }
    return ENT_OK;
}

static json_t *hex_or_null(bool has, const uint8_t id[32]) {
    char hex[65];
    if (!has)
        return json_null();
    ent_hex_encode(hex, id, 32);
    return json_string(hex);
}

struct list_ctx {
    uint64_t since;
    json_t *arr;
    uint64_t size;
    uint8_t root[32];
};

static int entry_json(void *data, const ent_actlog_entry *e,
                      const uint8_t *raw, size_t len) {
    struct list_ctx *c = data;
    json_t *o = json_pack(
        "{s:I,s:I,s:s,s:o,s:o,s:o,s:s%}", "index", (json_int_t)e->index,
        "time", (json_int_t)e->time, "kind", ent_actlog_kind_name(e->kind),
        "object", hex_or_null(e->has_object, e->object), "op",
        hex_or_null(e->has_op, e->op), "org",
        hex_or_null(e->has_org, e->org), "reason", e->reason, e->reason_len);
    if (o == NULL || json_array_append_new(c->arr, o) != 0)
        return ENT_ENOMEM;
    return 0;
}

static int list_fn(ent_txn *txn, void *data) {
    struct list_ctx *c = data;
    int rc = ent_actlog_root(txn, &c->size, c->root);
    if (rc != ENT_OK)
        return rc;
    json_array_clear(c->arr);
    return ent_actlog_foreach(txn, c->since, entry_json, c);
}

int ent_api_log_get(ent_node *n, const ent_http_request *req,
                    ent_http_response *resp) {
    struct list_ctx c = {0};
    bool has_obj;
    uint8_t obj[32];
    char root[65];
    int rc = parse_query(req, false, &c.since, &has_obj, obj, resp);
    if (rc != ENT_OK || resp->status != 0)
        return rc;
    if ((c.arr = json_array()) == NULL)
        return ENT_ENOMEM;
    rc = ent_store_read(ent_node_store(n), list_fn, &c);
    if (rc != ENT_OK) {
        json_decref(c.arr);
        return ent_http_response_error(resp, ent_api_error_status(rc), rc,
                                       "%s", ent_strerror(rc));
    }
    ent_hex_encode(root, c.root, 32);
    json_t *o = json_pack("{s:I,s:s,s:o}", "size", (json_int_t)c.size, "root",
                          root, "entries", c.arr);
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}

int ent_api_audit_export(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp) {
    ent_audit_filter f = {0};
    bool has_obj;
    uint8_t obj[32];
    uint8_t *buf = NULL;
    size_t len = 0;
    char *hex = NULL;
    int rc = parse_query(req, true, &f.since, &has_obj, obj, resp);
    if (rc != ENT_OK || resp->status != 0)
        return rc;
    if (has_obj)
        f.object = obj;
    rc = ent_audit_export(ent_node_store(n), ent_node_identity(n), now_ms(),
                          &f, &buf, &len);
    if (rc != ENT_OK) {
        int st = rc == ENT_EINVAL ? 400 : ent_api_error_status(rc);
        return ent_http_response_error(resp, st, rc, "%s",
                                       rc == ENT_EINVAL
                                           ? "since is beyond the log"
                                           : ent_strerror(rc));
    }
    if (len > EXPORT_API_MAX) {
        free(buf);
        return ent_http_response_error(resp, 413, ENT_ETOOBIG,
                                       "export of %zu bytes is too large for "
                                       "the API",
                                       len);
    }
    ent_audit_result res;
    if ((hex = malloc(2 * len + 1)) == NULL) {
        free(buf);
        return ENT_ENOMEM;
    }
    ent_hex_encode(hex, buf, len);
    /* the node checks its own export before handing it out */
    memset(&res, 0, sizeof(res));
    rc = ent_audit_verify(buf, len, ent_identity_public(ent_node_identity(n)),
                          &res);
    free(buf);
    if (rc != ENT_OK) {
        free(hex);
        return ent_http_response_error(resp, 500, rc,
                                       "the export does not verify: %s",
                                       res.reason);
    }
    json_t *o = json_pack("{s:I,s:I,s:s}", "bytes", (json_int_t)len,
                          "tree_size", (json_int_t)res.tree_size, "export",
                          hex);
    free(hex);
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}
