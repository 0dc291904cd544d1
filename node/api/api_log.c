/*
 * api_log.c - the activity-log endpoints of the local API; see api_log.h.
 */
#include "node/api/api_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "node/api/api_objects.h"
#include "node/api/route.h"
#include "node/audit/actlog.h"
#include "node/audit/audit.h"
#include "node/err.h"
#include "node/audit/witness.h"
#include "protocol/op.h"

/* Exports above this are refused over the API (hex doubles them and the
 * client accepts ENT_HTTP_MAX_RESPONSE bytes). */
#define EXPORT_API_MAX ((ENT_HTTP_MAX_RESPONSE - 4096) / 2)

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Reads the query parameters since (decimal) and object (64 hex),
 * percent-decoded by ent_api_query_parse like every route's. */
static int parse_query(const ent_http_request *req, bool allow_object,
                       uint64_t *since, bool *has_object, uint8_t obj[32],
                       ent_http_response *resp) {
    static const char *const with_object[] = {"since", "object", NULL};
    static const char *const since_only[] = {"since", NULL};
    ent_api_query q;
    *since = 0;
    *has_object = false;
    int rc = ent_api_query_parse(req, allow_object ? with_object : since_only,
                                 &q, resp);
    if (rc != ENT_OK)
        return rc;
    const char *v = ent_api_query_get(&q, "since");
    if (v != NULL) {
        char *end = NULL;
        if (v[0] < '0' || v[0] > '9')
            return ent_http_response_error(resp, 400, ENT_EINVAL,
                                           "bad since");
        unsigned long long n = strtoull(v, &end, 10);
        if (*end != '\0')
            return ent_http_response_error(resp, 400, ENT_EINVAL,
                                           "bad since");
        *since = n;
    }
    v = ent_api_query_get(&q, "object");
    if (v != NULL) {
        if (strlen(v) != 64 || ent_hex_decode(obj, 32, v) != ENT_OK)
            return ent_http_response_error(resp, 400, ENT_EINVAL,
                                           "bad object id");
        *has_object = true;
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
    ent_node *n;
    uint64_t since;
    json_t *arr;
    uint64_t size;
    uint8_t root[32];
};

/* One entry of GET /v1/log: ids in their printed forms (object and op in
 * hex, org in base32 with its name), time in RFC 3339. */
static int entry_json(void *data, const ent_actlog_entry *e,
                      const uint8_t *raw, size_t len) {
    struct list_ctx *c = data;
    char org[ENT_ORG_ID_LEN + 1];
    if (e->has_org)
        ent_org_id_format(org, e->org);
    json_t *o = json_pack(
        "{s:I,s:o,s:s,s:o,s:o,s:o,s:o,s:s%}", "index", (json_int_t)e->index,
        "time", ent_api_time_json(e->time), "kind",
        ent_actlog_kind_name(e->kind), "object",
        hex_or_null(e->has_object, e->object), "op",
        hex_or_null(e->has_op, e->op), "org",
        e->has_org ? json_string(org) : json_null(), "name",
        e->has_org ? ent_api_org_name_json(c->n, e->org) : json_null(),
        "reason", e->reason, e->reason_len);
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
    struct list_ctx c = {.n = n};
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
        return ent_http_response_error_field(
            resp, st, rc,
            rc == ENT_EINVAL              ? "since"
            : rc == ENT_ENOENT && has_obj ? "object"
                                          : NULL,
            "%s",
            rc == ENT_EINVAL              ? "since is beyond the log"
            : rc == ENT_ENOENT && has_obj ? "no such object in the log"
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

/* ---- witnessing (spec/audit.md §11) ------------------------------------- */

struct heads_ctx {
    ent_node *n;
    bool has_org;
    uint8_t org[ENT_PK_LEN];
    json_t *arr;
    json_t *rw; /* rewinds */
};

static int heads_one(void *data, const ent_actlog_head *h) {
    struct heads_ctx *c = data;
    char org[ENT_ORG_ID_LEN + 1], root[2 * ENT_MERKLE_HASH_LEN + 1];
    char hex[2 * ENT_ACTLOG_HEAD_MAX + 1];
    uint8_t buf[ENT_ACTLOG_HEAD_MAX];
    size_t n = 0;
    if (c->has_org && memcmp(c->org, h->org, ENT_PK_LEN) != 0)
        return 0;
    int rc = ent_actlog_head_encode(h, true, buf, sizeof(buf), &n);
    if (rc != ENT_OK)
        return rc;
    ent_org_id_format(org, h->org);
    ent_hex_encode(root, h->root, ENT_MERKLE_HASH_LEN);
    ent_hex_encode(hex, buf, n);
    json_t *o = json_pack("{s:s,s:o,s:I,s:s,s:o,s:s}", "org", org, "name",
                          ent_api_org_name_json(c->n, h->org), "size",
                          (json_int_t)h->size, "root", root, "time",
                          ent_api_time_json(h->time), "head", hex);
    if (o == NULL || json_array_append_new(c->arr, o) != 0)
        return ENT_ENOMEM;
    return 0;
}

/* One rewind record kept (spec/audit.md §11.1). */
static int rewinds_one(void *data, const uint8_t *rec, size_t len) {
    struct heads_ctx *c = data;
    char org[ENT_ORG_ID_LEN + 1], hex[2 * ENT_REWIND_MAX + 1];
    ent_rewind r;
    if (len > ENT_REWIND_MAX || ent_rewind_decode(&r, rec, len) != ENT_OK)
        return ENT_ECORRUPT;
    if (c->has_org && memcmp(c->org, r.org, ENT_PK_LEN) != 0)
        return 0;
    ent_org_id_format(org, r.org);
    ent_hex_encode(hex, rec, len);
    json_t *o = json_pack("{s:s,s:o,s:I,s:I,s:o,s:o,s:s}", "org", org, "name",
                          ent_api_org_name_json(c->n, r.org), "base",
                          (json_int_t)r.base.size, "lost",
                          (json_int_t)r.lost.size, "time",
                          ent_api_time_json(r.time), "lost_time",
                          ent_api_time_json(r.lost.time), "rewind", hex);
    if (o == NULL || json_array_append_new(c->rw, o) != 0)
        return ENT_ENOMEM;
    return 0;
}

static int heads_fn(ent_txn *txn, void *data) {
    int rc = ent_witness_kept_foreach(txn, heads_one, data);
    return rc == ENT_OK ? ent_witness_rewinds_foreach(txn, rewinds_one, data)
                        : rc;
}

int ent_api_audit_heads(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp) {
    struct heads_ctx c;
    memset(&c, 0, sizeof(c));
    c.n = n;
    static const char *const params[] = {"org", NULL};
    ent_api_query q;
    int rc = ent_api_query_parse(req, params, &q, resp);
    if (rc != ENT_OK)
        return rc;
    const char *org = ent_api_query_get(&q, "org");
    if (org != NULL) {
        if (ent_org_id_parse(c.org, org) != ENT_OK)
            return ent_http_response_error(resp, 400, ENT_EINVAL,
                                           "bad org id");
        c.has_org = true;
    }
    if ((c.arr = json_array()) == NULL || (c.rw = json_array()) == NULL) {
        json_decref(c.arr);
        return ENT_ENOMEM;
    }
    rc = ent_store_read(ent_node_store(n), heads_fn, &c);
    if (rc != ENT_OK) {
        json_decref(c.arr);
        json_decref(c.rw);
        return rc;
    }
    json_t *body = json_pack("{s:o,s:o}", "heads", c.arr, "rewinds", c.rw);
    if (body == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, body);
    return ENT_OK;
}

/* ---- epoch keys for an auditor (spec/audit.md §13) ---------------------- */

struct keys_ctx {
    const uint8_t *obj;
    const uint8_t *self;
    int role; /* -1: not an active member */
    json_t *arr;
};

static int key_one(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    struct keys_ctx *c = data;
    char hex[65];
    uint64_t epoch = 0;
    if (klen != 72 || vlen < 32)
        return ENT_ECORRUPT;
    for (int i = 0; i < 8; i++)
        epoch = epoch << 8 | ((const uint8_t *)key)[32 + i];
    ent_hex_encode(hex, val, 32);
    json_t *o = json_pack("{s:I,s:s}", "epoch", (json_int_t)epoch, "key", hex);
    ent_wipe(hex, sizeof(hex));
    if (o == NULL || json_array_append_new(c->arr, o) != 0)
        return ENT_ENOMEM;
    return 0;
}

static int keys_fn(ent_txn *txn, void *data) {
    struct keys_ctx *c = data;
    uint8_t mk[64];
    const void *v;
    size_t vlen;
    memcpy(mk, c->obj, 32);
    memcpy(mk + 32, c->self, 32);
    c->role = -1;
    if (ent_txn_get(txn, ENT_TBL_OBJECTS, c->obj, 32, &v, &vlen) != ENT_OK)
        return ENT_ENOENT;
    if (ent_txn_get(txn, ENT_TBL_MEMBERS, mk, 64, &v, &vlen) == ENT_OK &&
        vlen == 2 && ((const uint8_t *)v)[1] == 1)
        c->role = ((const uint8_t *)v)[0];
    if (c->role != ENT_ROLE_OWNER && c->role != ENT_ROLE_ADMIN)
        return ENT_EDENIED;
    return ent_txn_scan(txn, ENT_TBL_KEYS, c->obj, 32, key_one, c);
}

int ent_api_object_keys(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp) {
    const char *id = req->path + strlen("/v1/object-keys/");
    uint8_t obj[32];
    struct keys_ctx c;
    char hex[65];
    if (strlen(id) != 64 || ent_hex_decode(obj, 32, id) != ENT_OK)
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "id",
                                             "bad object id");
    memset(&c, 0, sizeof(c));
    c.obj = obj;
    c.self = ent_identity_public(ent_node_identity(n));
    if ((c.arr = json_array()) == NULL)
        return ENT_ENOMEM;
    int rc = ent_store_read(ent_node_store(n), keys_fn, &c);
    if (rc == ENT_EDENIED) {
        json_decref(c.arr);
        return ent_http_response_error(
            resp, 403, rc, "only the object's owner or an admin may hand "
                           "out its keys");
    }
    if (rc == ENT_ENOENT) {
        json_decref(c.arr);
        return ent_http_response_error(resp, 404, rc, "no such object");
    }
    if (rc != ENT_OK) {
        json_decref(c.arr);
        return rc;
    }
    ent_hex_encode(hex, obj, 32);
    json_t *body = json_pack("{s:s,s:o}", "object", hex, "keys", c.arr);
    if (body == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, body);
    return ENT_OK;
}
