/*
 * api_overlap.c - the account-mapping endpoints of the local API
 * (spec/api.md "Account mapping", spec/overlap.md): the private account
 * list, partnerships, sharing levels, runs, results and seeding a joint
 * object from a match. Routes are in builtin_routes (node/api/api.c).
 */
#include "node/api/api_overlap.h"
#include "node/api/http.h"
#include "node/err.h"
#include "node/objects/object.h"
#include "node/overlap/accounts.h"
#include "node/overlap/overlap.h"
#include "node/peers/invite.h"
#include "node/peers/peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARTNERS_PREFIX "/v1/partners/"

static ent_overlap *ov(ent_node *n) {
    return ent_node_part_state(n, ENT_NODE_OVERLAP);
}

/* 503 when this node has no peer layer or overlap part (a node opened
 * without them, as some tests do). */
static int need_parts(ent_node *n, ent_http_response *resp) {
    if (ent_node_peers(n) == NULL || ov(n) == NULL)
        return ent_http_response_error(resp, 503, ENT_ECLOSED,
                                       "no peer layer on this node");
    return ENT_OK;
}

/* "/v1/partners/ORG/..." -> org; 400 for a bad org id. */
static int partner_path(const ent_http_request *req, uint8_t org[32],
                        ent_http_response *resp) {
    const char *s = req->path + strlen(PARTNERS_PREFIX);
    char id[ENT_ORG_ID_LEN + 1];
    size_t l = strcspn(s, "/");
    if (l != ENT_ORG_ID_LEN)
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "org",
                                             "invalid org id (want %d "
                                             "lowercase base32 characters)",
                                             ENT_ORG_ID_LEN);
    memcpy(id, s, l);
    id[l] = '\0';
    if (ent_org_id_parse(org, id) != ENT_OK)
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "org",
                                             "invalid org id");
    return ENT_OK;
}

/* ---- accounts ---------------------------------------------------------- */

typedef struct list_ctx {
    json_t *arr;
    size_t n;
} list_ctx;

static int list_row(void *data, const ent_account *a) {
    list_ctx *c = data;
    if (c->n++ >= ENT_API_ACCOUNTS_LIST_MAX)
        return 0;
    json_t *o = ent_account_json(a);
    if (o == NULL || json_array_append_new(c->arr, o) != 0)
        return ENT_ENOMEM;
    return 0;
}

static int list_fn(ent_txn *txn, void *data) {
    return ent_accounts_foreach(txn, list_row, data);
}

int ent_api_accounts_list(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp) {
    list_ctx c = {json_array(), 0};
    if (c.arr == NULL)
        return ENT_ENOMEM;
    int rc = ent_store_read(ent_node_store(n), list_fn, &c);
    if (rc != ENT_OK) {
        json_decref(c.arr);
        return rc;
    }
    json_t *o = json_pack("{s:I,s:o}", "count", (json_int_t)c.n, "accounts",
                          c.arr);
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}

typedef struct add_ctx {
    ent_account *a;
    size_t n;
} add_ctx;

static int add_fn(ent_txn *txn, void *data) {
    add_ctx *c = data;
    for (size_t i = 0; i < c->n; i++) {
        int rc = ent_accounts_put(txn, &c->a[i]);
        if (rc != ENT_OK)
            return rc;
    }
    return ENT_OK;
}

int ent_api_accounts_add(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp) {
    json_t *body = NULL, *x;
    char err[160];
    add_ctx c = {NULL, 0};
    size_t i;
    int rc = ent_api_body_object(req, resp, &body);
    if (rc != ENT_OK)
        return rc;
    json_t *arr = json_object_get(body, "accounts");
    if (!json_is_array(arr) || json_object_size(body) != 1 ||
        json_array_size(arr) == 0 ||
        json_array_size(arr) > ENT_API_ACCOUNTS_ADD_MAX) {
        rc = ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "accounts",
            "body must be {\"accounts\":[{...}]} with 1..%d accounts",
            ENT_API_ACCOUNTS_ADD_MAX);
        goto out;
    }
    if ((c.a = calloc(json_array_size(arr), sizeof(*c.a))) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    /* all checked first: one bad account changes nothing */
    json_array_foreach(arr, i, x) {
        if (ent_account_from_json(x, &c.a[i], err, sizeof(err)) != ENT_OK) {
            rc = ent_http_response_error_field(resp, 400, ENT_EINVAL,
                                               "accounts",
                                               "account %zu: %s", i + 1, err);
            goto out;
        }
    }
    c.n = json_array_size(arr);
    rc = ent_store_write(ent_node_store(n), add_fn, &c);
    if (rc == ENT_ELIMIT) {
        rc = ent_http_response_error(resp, 409, rc,
                                     "at most %d accounts on one node",
                                     ENT_ACCOUNTS_MAX);
        goto out;
    }
    if (rc != ENT_OK)
        goto out;
    ent_http_response_json(resp, 200, json_pack("{s:I}", "stored",
                                                (json_int_t)c.n));
out:
    free(c.a);
    json_decref(body);
    return rc;
}

/* ---- partners -------------------------------------------------------- */

int ent_api_partners_list(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp) {
    if (need_parts(n, resp) != ENT_OK)
        return ENT_ECLOSED;
    json_t *arr = NULL, *row;
    size_t i;
    int rc = ent_peers_partners_json(ent_node_peers(n), &arr);
    if (rc != ENT_OK)
        return rc;
    json_array_foreach(arr, i, row) {
        uint8_t org[32];
        json_t *ov_j = NULL;
        if (ent_org_id_parse(org, json_string_value(json_object_get(
                                      row, "org"))) == ENT_OK &&
            ent_overlap_json(ov(n), org, &ov_j) == ENT_OK) {
            json_object_set(row, "share", json_object_get(ov_j, "share"));
            json_decref(ov_j);
        }
        json_int_t since = json_integer_value(json_object_get(row,
                                                              "since_ms"));
        json_object_del(row, "since_ms");
        json_object_set_new(row, "since", ent_api_time_json((uint64_t)since));
        if (json_is_null(json_object_get(row, "name")) ||
            json_object_get(row, "name") == NULL)
            json_object_set_new(row, "name", json_null());
    }
    ent_http_response_json(resp, 200, arr);
    return ENT_OK;
}

int ent_api_partner_invite(ent_node *n, const ent_http_request *req,
                           ent_http_response *resp) {
    if (need_parts(n, resp) != ENT_OK)
        return ENT_ECLOSED;
    json_t *body = NULL;
    char *token = NULL, iid[33];
    uint64_t expiry = 0, ttl = ENT_INVITE_DEFAULT_TTL;
    int rc = ENT_OK;
    if (req->body_len > 0 &&
        (rc = ent_api_body_object(req, resp, &body)) != ENT_OK)
        return rc;
    json_t *t = json_object_get(body, "ttl");
    if (t != NULL) {
        if (!json_is_integer(t) || json_integer_value(t) < ENT_DURATION_MIN ||
            (uint64_t)json_integer_value(t) > ENT_DURATION_MAX) {
            rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "ttl",
                                               "ttl: seconds, 1..%llu",
                                               (unsigned long long)
                                                   ENT_DURATION_MAX);
            goto out;
        }
        ttl = (uint64_t)json_integer_value(t);
    }
    rc = ent_peers_partner_invite(ent_node_peers(n), ttl, &token, &expiry,
                                  iid);
    if (rc != ENT_OK)
        goto out;
    ent_http_response_json(resp, 201,
                           json_pack("{s:s,s:o,s:s}", "token", token,
                                     "expires",
                                     ent_api_time_json(expiry * 1000),
                                     "invite_id", iid));
out:
    if (token != NULL)
        ent_wipe(token, strlen(token));
    free(token);
    json_decref(body);
    return rc;
}

/* ---- sharing, runs, results ------------------------------------------ */

int ent_api_partner_share(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp) {
    if (need_parts(n, resp) != ENT_OK)
        return ENT_ECLOSED;
    uint8_t org[32];
    json_t *body = NULL, *out = NULL;
    char err[160];
    uint32_t pop = 0, flags = 0;
    int rc = partner_path(req, org, resp);
    if (rc != ENT_OK || (rc = ent_api_body_object(req, resp, &body)) != ENT_OK)
        return rc;
    const char *lv = json_string_value(json_object_get(body, "level"));
    int level = lv != NULL ? ent_overlap_level_parse(lv) : -1;
    json_t *pj = json_object_get(body, "population");
    if (level < 0) {
        rc = ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "level",
            "level: none, counts, accounts or flags");
        goto out;
    }
    if (json_is_string(pj) && strcmp(json_string_value(pj), "all") == 0)
        pj = NULL;
    if (ent_account_flags_parse(pj, &pop, err, sizeof(err)) != ENT_OK) {
        rc = ent_http_response_error_field(resp, 400, ENT_EINVAL,
                                           "population", "population: %s",
                                           err);
        goto out;
    }
    if (ent_account_flags_parse(json_object_get(body, "flags"), &flags, err,
                                sizeof(err)) != ENT_OK) {
        rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "flags",
                                           "flags: %s", err);
        goto out;
    }
    rc = ent_overlap_share(ov(n), org, level, pop, flags);
    if (rc == ENT_ENOENT) {
        rc = ent_http_response_error(resp, 404, rc, "not a partner");
        goto out;
    }
    if (rc != ENT_OK || (rc = ent_overlap_json(ov(n), org, &out)) != ENT_OK)
        goto out;
    ent_http_response_json(resp, 200, out);
out:
    json_decref(body);
    return rc;
}

int ent_api_partner_run(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp) {
    if (need_parts(n, resp) != ENT_OK)
        return ENT_ECLOSED;
    uint8_t org[32];
    char run[33], err[256] = "";
    int rc = partner_path(req, org, resp);
    if (rc != ENT_OK)
        return rc;
    rc = ent_overlap_run(ov(n), org, run, err, sizeof(err));
    if (rc != ENT_OK) {
        int st = rc == ENT_ENOENT   ? 404
                 : rc == ENT_EDENIED ? 403
                 : rc == ENT_ELIMIT  ? 429
                 : rc == ENT_EBUSY   ? 409
                 : rc == ENT_ECLOSED ? 503
                                     : 500;
        return ent_http_response_error(resp, st, rc, "%s",
                                       err[0] ? err : ent_strerror(rc));
    }
    ent_http_response_json(resp, 202, json_pack("{s:s}", "run", run));
    return ENT_OK;
}

int ent_api_partner_overlap(ent_node *n, const ent_http_request *req,
                            ent_http_response *resp) {
    if (need_parts(n, resp) != ENT_OK)
        return ENT_ECLOSED;
    uint8_t org[32];
    json_t *out = NULL;
    int rc = partner_path(req, org, resp);
    if (rc != ENT_OK)
        return rc;
    rc = ent_overlap_json(ov(n), org, &out);
    if (rc == ENT_ENOENT)
        return ent_http_response_error(resp, 404, rc, "not a partner");
    if (rc != ENT_OK)
        return rc;
    ent_http_response_json(resp, 200, out);
    return ENT_OK;
}

/* The matched account of the last result whose key, name or domain is
 * what (borrowed from res), or NULL. */
static json_t *find_match(json_t *res, const char *what) {
    json_t *arr = json_object_get(json_object_get(res, "result"), "accounts");
    json_t *a;
    size_t i;
    json_array_foreach(arr, i, a) {
        const char *k[] = {"key", "name", "domain"};
        for (size_t j = 0; j < 3; j++) {
            const char *v = json_string_value(json_object_get(a, k[j]));
            if (v != NULL && v[0] != '\0' && strcmp(v, what) == 0)
                return a;
        }
    }
    return NULL;
}

int ent_api_partner_seed(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp) {
    if (need_parts(n, resp) != ENT_OK)
        return ENT_ECLOSED;
    uint8_t org[32], id[32];
    json_t *body = NULL, *res = NULL;
    char err[256] = "", hex[65], *token = NULL, iid[33];
    ent_op *op = NULL;
    uint64_t expiry = 0;
    int rc = partner_path(req, org, resp);
    if (rc != ENT_OK || (rc = ent_api_body_object(req, resp, &body)) != ENT_OK)
        return rc;
    const char *what = json_string_value(json_object_get(body, "account"));
    const char *type = json_string_value(json_object_get(body, "type"));
    if (type == NULL)
        type = "opportunity";
    if (what == NULL) {
        rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "account",
                                           "account: the key, name or "
                                           "domain of a matched account");
        goto out;
    }
    if ((rc = ent_overlap_json(ov(n), org, &res)) != ENT_OK) {
        if (rc == ENT_ENOENT)
            rc = ent_http_response_error(resp, 404, rc, "not a partner");
        goto out;
    }
    json_t *a = find_match(res, what);
    if (a == NULL) {
        rc = ent_http_response_error_field(
            resp, 404, ENT_ENOENT, "account",
            "'%.80s' is not among the matches of the last run", what);
        goto out;
    }
    const char *name = json_string_value(json_object_get(a, "name"));
    const char *dom = json_string_value(json_object_get(a, "domain"));
    const char *label = name && name[0] ? name : dom;
    ent_obj_input in[2] = {
        {strcmp(type, "account_plan") == 0     ? "account_name"
         : strcmp(type, "opportunity") == 0    ? "customer_account"
                                               : "account",
         label,
         strcmp(type, "account_plan") == 0 || strcmp(type, "opportunity") == 0
             ? ENT_IN_SHARED
             : ENT_IN_CUSTOM},
        {"name", label, ENT_IN_SHARED},
    };
    size_t nin = strcmp(type, "opportunity") == 0 ? 2 : 1;
    rc = ent_obj_create(ent_node_objects(n), type, in, nin, id, &op, err,
                        sizeof(err));
    if (rc != ENT_OK) {
        ent_op_free(op);
        rc = ent_http_response_error(resp, rc == ENT_ENOENT ? 404 : 400, rc,
                                     "creating the %s: %s", type,
                                     err[0] ? err : ent_strerror(rc));
        goto out;
    }
    ent_node_op_created(n, op);
    rc = ent_peers_invite(ent_node_peers(n), id, ENT_INVITE_ROLE_MEMBER,
                          ENT_INVITE_DEFAULT_TTL, &token, &expiry, iid);
    if (rc != ENT_OK)
        goto out;
    ent_hex_encode(hex, id, 32);
    ent_http_response_json(resp, 201,
                           json_pack("{s:s,s:s,s:s,s:o}", "id", hex, "token",
                                     token, "invite_id", iid, "expires",
                                     ent_api_time_json(expiry * 1000)));
out:
    if (token != NULL)
        ent_wipe(token, strlen(token));
    free(token);
    json_decref(res);
    json_decref(body);
    return rc;
}
