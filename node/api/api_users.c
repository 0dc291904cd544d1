/*
 * api_users.c - the endpoints of the org's people (spec/access.md "API"):
 * users, tokens, policies and their test, login, and whoami. The work is
 * done by node/access/access.c; the guard (api_access.c) has already
 * decided that the caller may manage (the operator, or a user allowed
 * manage), except for login and whoami, which every caller may use.
 */
#include "node/api/api_users.h"
#include "node/api/api_access.h"
#include "node/api/api_objects.h"
#include "node/api/api_session.h"
#include "node/err.h"
#include "node/objects/object.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERS_PREFIX "/v1/users/"
#define TOKENS_PREFIX "/v1/tokens/"
#define POLICIES_PREFIX "/v1/policies/"
#define MAX_EXPIRY_S (3650ull * 86400ull)

/* ---- helpers --------------------------------------------------------------
 */

static int check_keys(const json_t *body, const char *const *allowed,
                      ent_http_response *resp) {
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)body, key, val) {
        bool ok = false;
        for (const char *const *a = allowed; *a != NULL; a++)
            ok = ok || strcmp(key, *a) == 0;
        if (!ok)
            return ent_http_response_error_field(
                resp, 400, ENT_EINVAL, key, "unknown key \"%.64s\" in body",
                key);
    }
    return ENT_OK;
}

static int no_query(const ent_http_request *req, ent_http_response *resp) {
    if (req->query != NULL && req->query[0] != '\0')
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "no query parameters are accepted here");
    return ENT_OK;
}

/* A stored time in ms as the API's time value (0: null). */
static void time_key(json_t *o, const char *k) {
    json_int_t v = json_integer_value(json_object_get(o, k));
    json_object_set_new(o, k, ent_api_time_json(v > 0 ? (uint64_t)v : 0));
}

static json_t *user_out(json_t *u) {
    time_key(u, "created");
    time_key(u, "locked_until");
    return u;
}

static json_t *token_out(json_t *t) {
    time_key(t, "created");
    time_key(t, "expires");
    time_key(t, "last_used");
    return t;
}

/* Parses "90s", "15m", "12h", "30d" (1 s to 10 years) or "never" (0). */
static int expiry_parse(const char *s, uint64_t now, uint64_t *out) {
    char *end = NULL;
    if (strcmp(s, "never") == 0) {
        *out = 0;
        return ENT_OK;
    }
    if (s[0] < '1' || s[0] > '9')
        return ENT_EINVAL;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned long long mul = end[0] == 's'   ? 1
                             : end[0] == 'm' ? 60
                             : end[0] == 'h' ? 3600
                             : end[0] == 'd' ? 86400
                                             : 0;
    if (mul == 0 || end[1] != '\0' || v > MAX_EXPIRY_S / mul)
        return ENT_EINVAL;
    *out = now + v * mul * 1000u;
    return ENT_OK;
}

/* The attribute changes of a body's "attrs": strings set, nulls unset. */
typedef struct attr_lists {
    const char *set_k[ENT_POLICY_MAX_ATTRS + 1],
        *set_v[ENT_POLICY_MAX_ATTRS + 1];
    const char *unset[64];
    size_t nset, nunset;
} attr_lists;

static int read_attrs(const json_t *body, attr_lists *a, ent_user_spec *u,
                      ent_http_response *resp) {
    const json_t *attrs = json_object_get(body, "attrs");
    const char *k;
    json_t *v;
    memset(a, 0, sizeof(*a));
    if (attrs == NULL)
        return ENT_OK;
    if (!json_is_object(attrs))
        return ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "attrs",
            "\"attrs\" must be an object of name "
            "to text (null removes one)");
    json_object_foreach((json_t *)attrs, k, v) {
        if (json_is_null(v) && a->nunset < 64) {
            a->unset[a->nunset++] = k;
        } else if (json_is_string(v) && a->nset < ENT_POLICY_MAX_ATTRS + 1) {
            a->set_k[a->nset] = k;
            a->set_v[a->nset++] = json_string_value(v);
        } else {
            return ent_http_response_error_field(
                resp, 400, ENT_EINVAL, "attrs",
                "\"attrs\": at most %d text values (null removes one)",
                ENT_POLICY_MAX_ATTRS);
        }
    }
    u->set_keys = a->set_k;
    u->set_vals = a->set_v;
    u->nset = a->nset;
    u->unset_keys = a->unset;
    u->nunset = a->nunset;
    return ENT_OK;
}

static int access_error(ent_http_response *resp, int rc, const char *err,
                        const char *what) {
    int st = rc == ENT_EINVAL   ? 400
             : rc == ENT_ELIMIT ? 400
                                : ent_api_error_status(rc);
    return ent_http_response_error(resp, st, rc, "%s",
                                   err != NULL && err[0] ? err
                                   : rc == ENT_ENOENT    ? what
                                                         : ent_strerror(rc));
}

/* ---- users ----------------------------------------------------------------
 */

static int respond_user(ent_node *n, const char *name, int status,
                        ent_http_response *resp) {
    json_t *u = NULL;
    int rc = ent_access_user_json(ent_node_store(n), name, &u);
    if (rc != ENT_OK)
        return access_error(resp, rc, NULL, "no such user");
    ent_http_response_json(resp, status, user_out(u));
    return ENT_OK;
}

int ent_api_users_list(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp) {
    json_t *arr = NULL;
    size_t i;
    json_t *u;
    int rc = no_query(req, resp);
    if (rc != ENT_OK)
        return rc;
    if ((rc = ent_access_users_json(ent_node_store(n), &arr)) != ENT_OK)
        return rc;
    json_array_foreach(arr, i, u) user_out(u);
    ent_http_response_json(resp, 200, arr);
    return ENT_OK;
}

/* Reads role, attrs, password and disabled of a body into u. */
static int user_body(const json_t *body, ent_user_spec *u, attr_lists *a,
                     ent_http_response *resp) {
    const json_t *role = json_object_get(body, "role");
    const json_t *pw = json_object_get(body, "password");
    const json_t *dis = json_object_get(body, "disabled");
    if (role != NULL && !json_is_string(role))
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "role",
                                             "\"role\" must be a string");
    u->role = json_string_value(role);
    if (pw != NULL && !json_is_string(pw) && !json_is_null(pw))
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "password",
                                             "\"password\" must be a string or "
                                             "null");
    u->password = json_string_value(pw);
    u->clear_password = json_is_null(pw);
    if (dis != NULL && !json_is_boolean(dis))
        return ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "disabled",
            "\"disabled\" must be true or false");
    u->disabled = dis == NULL ? -1 : json_is_true(dis);
    return read_attrs(body, a, u, resp);
}

int ent_api_users_create(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp) {
    static const char *const keys[] = {"name",     "role",     "attrs",
                                       "password", "disabled", NULL};
    json_t *body = NULL;
    ent_user_spec u;
    attr_lists a;
    char err[ENT_ACCESS_ERR_MAX] = "";
    int rc = ent_api_body_object(req, resp, &body);
    if (rc != ENT_OK)
        return rc;
    memset(&u, 0, sizeof(u));
    if ((rc = check_keys(body, keys, resp)) != ENT_OK ||
        (rc = user_body(body, &u, &a, resp)) != ENT_OK)
        goto out;
    u.name = json_string_value(json_object_get(body, "name"));
    if (u.name == NULL || u.role == NULL) {
        rc =
            ent_http_response_error_field(resp, 400, ENT_EINVAL, "name",
                                          "\"name\" and \"role\" are required");
        goto out;
    }
    rc = ent_access_user_add(ent_node_store(n), &u, NULL, ent_api_now_ms(), err,
                             sizeof(err));
    if (rc != ENT_OK) {
        access_error(resp, rc, err, "no such user");
        goto out;
    }
    rc = respond_user(n, u.name, 201, resp);
out:
    json_decref(body);
    return rc;
}

/* The NAME of /v1/users/NAME, or NULL after a 400 (field "name"). */
static const char *user_path(const ent_http_request *req,
                             ent_http_response *resp) {
    const char *name = req->path + strlen(USERS_PREFIX);
    if (!ent_policy_user_valid(name)) {
        ent_http_response_error_field(resp, 400, ENT_EINVAL, "name",
                                      "invalid user name");
        return NULL;
    }
    return name;
}

int ent_api_user_get(ent_node *n, const ent_http_request *req,
                     ent_http_response *resp) {
    const char *name = user_path(req, resp);
    int rc = name != NULL ? no_query(req, resp) : ENT_EINVAL;
    return rc != ENT_OK ? rc : respond_user(n, name, 200, resp);
}

int ent_api_user_set(ent_node *n, const ent_http_request *req,
                     ent_http_response *resp) {
    static const char *const keys[] = {"role", "attrs", "password", "disabled",
                                       NULL};
    json_t *body = NULL;
    ent_user_spec u;
    attr_lists a;
    char err[ENT_ACCESS_ERR_MAX] = "";
    const char *name = user_path(req, resp);
    if (name == NULL)
        return ENT_EINVAL;
    int rc = ent_api_body_object(req, resp, &body);
    if (rc != ENT_OK)
        return rc;
    memset(&u, 0, sizeof(u));
    u.name = name;
    if ((rc = check_keys(body, keys, resp)) != ENT_OK ||
        (rc = user_body(body, &u, &a, resp)) != ENT_OK)
        goto out;
    rc = ent_access_user_set(ent_node_store(n), &u, NULL, err, sizeof(err));
    if (rc != ENT_OK) {
        access_error(resp, rc, err, "no such user");
        goto out;
    }
    rc = respond_user(n, u.name, 200, resp);
out:
    json_decref(body);
    return rc;
}

/* 200 {KEY: VAL, DONE: true}: the answer of a removal or revocation. */
static int respond_done(ent_http_response *resp, const char *key,
                        const char *val, const char *done) {
    json_t *o = json_pack("{s:s,s:b}", key, val, done, 1);
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}

int ent_api_user_delete(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp) {
    const char *name = user_path(req, resp);
    int rc = name != NULL ? no_query(req, resp) : ENT_EINVAL;
    if (rc != ENT_OK)
        return rc;
    rc = ent_access_user_remove(ent_node_store(n), name);
    if (rc != ENT_OK)
        return access_error(resp, rc, NULL, "no such user");
    return respond_done(resp, "name", name, "removed");
}

/* ---- tokens ---------------------------------------------------------------
 */

int ent_api_tokens_list(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp) {
    static const char *const params[] = {"user", NULL};
    ent_api_query q;
    json_t *arr = NULL, *t;
    size_t i;
    int rc = ent_api_query_parse(req, params, &q, resp);
    if (rc != ENT_OK)
        return rc;
    const char *user = ent_api_query_get(&q, "user"); /* percent-decoded */
    if (user != NULL && !ent_policy_user_valid(user))
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "user",
                                             "the one query parameter is "
                                             "user=NAME");
    rc = ent_access_tokens_json(ent_node_store(n), user, &arr);
    if (rc != ENT_OK)
        return rc;
    json_array_foreach(arr, i, t) token_out(t);
    ent_http_response_json(resp, 200, arr);
    return ENT_OK;
}

/* Scopes: an array of action names, or a string "*" / "read,change". */
static int scopes_read(const json_t *v, uint32_t *mask) {
    if (v == NULL) {
        *mask = ENT_ACT_ALL;
        return ENT_OK;
    }
    if (json_is_string(v))
        return ent_action_list_parse(json_string_value(v), mask);
    if (!json_is_array(v) || json_array_size(v) == 0)
        return ENT_EINVAL;
    size_t i;
    json_t *e;
    *mask = 0;
    json_array_foreach(v, i, e) {
        uint32_t m;
        if (!json_is_string(e) ||
            ent_action_list_parse(json_string_value(e), &m) != ENT_OK ||
            (*mask & m) != 0)
            return ENT_EINVAL;
        *mask |= m;
    }
    return ENT_OK;
}

/* Creates a token (a login token when login: every scope, ended by a new
 * password) and answers status {"id","token","user","scopes","expires"}:
 * the one time the token is shown. */
static int issue(ent_node *n, const char *user, uint32_t scopes,
                 uint64_t expires, bool login, int status,
                 ent_http_response *resp) {
    char token[ENT_TOKEN_STRLEN + 1], id[ENT_TOKEN_ID_HEX + 1], sc[256];
    int rc = login ? ent_access_login_token_create(ent_node_store(n), user,
                                                   expires, ent_api_now_ms(),
                                                   token, id)
                   : ent_access_token_create(ent_node_store(n), user, scopes,
                                             expires, ent_api_now_ms(), token,
                                             id);
    if (rc == ENT_EDENIED)
        return ent_http_response_error(resp, 409, rc, "user %s is disabled",
                                       user);
    if (rc != ENT_OK)
        return access_error(resp, rc, NULL, "no such user");
    ent_action_list_format(scopes, sc, sizeof(sc));
    json_t *arr = json_array();
    for (uint32_t b = 1; arr != NULL && b <= ENT_ACT_LAST; b <<= 1)
        if ((scopes & b) != 0)
            json_array_append_new(arr, json_string(ent_action_name(b)));
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:o,s:o}", "id", id, "token", token, "user",
                  user, "scopes", arr, "expires", ent_api_time_json(expires));
    ent_wipe(token, sizeof(token));
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, status, o);
    return ENT_OK;
}

int ent_api_tokens_create(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp) {
    static const char *const keys[] = {"user", "scopes", "expires", NULL};
    json_t *body = NULL;
    uint32_t scopes = 0;
    uint64_t expires = 0, now = ent_api_now_ms();
    int rc = ent_api_body_object(req, resp, &body);
    if (rc != ENT_OK)
        return rc;
    if ((rc = check_keys(body, keys, resp)) != ENT_OK)
        goto out;
    const char *user = json_string_value(json_object_get(body, "user"));
    const json_t *exp = json_object_get(body, "expires");
    if (user == NULL) {
        rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "user",
                                           "\"user\" is required");
        goto out;
    }
    if (scopes_read(json_object_get(body, "scopes"), &scopes) != ENT_OK) {
        rc = ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "scopes",
            "\"scopes\": * or action names (read, "
            "create, change, comment, invite, "
            "approve, remove_member, join, export, "
            "log, configure, manage, metrics)");
        goto out;
    }
    if (exp == NULL) {
        expires = now + 90ull * 86400u * 1000u;
    } else if (!json_is_string(exp) ||
               expiry_parse(json_string_value(exp), now, &expires) != ENT_OK) {
        rc = ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "expires",
            "\"expires\": a duration (90s, 15m, 12h, "
            "30d; at most 3650d) or never");
        goto out;
    }
    rc = issue(n, user, scopes, expires, false, 201, resp);
out:
    json_decref(body);
    return rc;
}

int ent_api_token_delete(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp) {
    const char *id = req->path + strlen(TOKENS_PREFIX);
    int rc = no_query(req, resp);
    if (rc != ENT_OK)
        return rc;
    rc = ent_access_token_revoke(ent_node_store(n), id);
    if (rc != ENT_OK)
        return access_error(resp, rc, NULL, "no such token");
    return respond_done(resp, "id", id, "revoked");
}

/* ---- policies -------------------------------------------------------------
 */

int ent_api_policies_list(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp) {
    json_t *arr = NULL;
    int rc = no_query(req, resp);
    if (rc != ENT_OK)
        return rc;
    if ((rc = ent_access_policies_json(ent_node_store(n), &arr)) != ENT_OK)
        return rc;
    ent_http_response_json(resp, 200, arr);
    return ENT_OK;
}

/* The rule with id from the stored list, answered as {"id","effect",
 * "rule"}. */
static int respond_policy(ent_node *n, uint32_t id, int status,
                          ent_http_response *resp) {
    json_t *arr = NULL, *r;
    size_t i;
    int rc = ent_access_policies_json(ent_node_store(n), &arr);
    if (rc != ENT_OK)
        return rc;
    json_array_foreach(arr, i, r) {
        if (json_integer_value(json_object_get(r, "id")) == (json_int_t)id) {
            ent_http_response_json(resp, status, json_incref(r));
            json_decref(arr);
            return ENT_OK;
        }
    }
    json_decref(arr);
    return ent_http_response_error(resp, 404, ENT_ENOENT, "no rule %u", id);
}

int ent_api_policies_create(ent_node *n, const ent_http_request *req,
                            ent_http_response *resp) {
    static const char *const keys[] = {"rule", NULL};
    json_t *body = NULL;
    char err[ENT_ACCESS_ERR_MAX] = "";
    uint32_t id = 0;
    int rc = ent_api_body_object(req, resp, &body);
    if (rc != ENT_OK)
        return rc;
    if ((rc = check_keys(body, keys, resp)) != ENT_OK)
        goto out;
    const char *text = json_string_value(json_object_get(body, "rule"));
    if (text == NULL) {
        rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "rule",
                                           "\"rule\" (a string) is required");
        goto out;
    }
    rc = ent_access_policy_add(ent_node_store(n), text, &id, err, sizeof(err));
    if (rc != ENT_OK) {
        ent_http_response_error(resp, 400, rc, "invalid rule: %s",
                                err[0] ? err : ent_strerror(rc));
        goto out;
    }
    rc = respond_policy(n, id, 201, resp);
out:
    json_decref(body);
    return rc;
}

static int policy_id(const ent_http_request *req, uint32_t *id) {
    const char *s = req->path + strlen(POLICIES_PREFIX);
    char *end = NULL;
    if (s[0] < '1' || s[0] > '9')
        return ENT_EINVAL;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v > UINT32_MAX)
        return ENT_EINVAL;
    *id = (uint32_t)v;
    return ENT_OK;
}

int ent_api_policy_get(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp) {
    uint32_t id;
    if (policy_id(req, &id) != ENT_OK)
        return ent_http_response_error(resp, 404, ENT_ENOENT, "no such rule");
    return respond_policy(n, id, 200, resp);
}

int ent_api_policy_delete(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp) {
    uint32_t id;
    if (policy_id(req, &id) != ENT_OK)
        return ent_http_response_error(resp, 404, ENT_ENOENT, "no such rule");
    int rc = ent_access_policy_remove(ent_node_store(n), id);
    if (rc != ENT_OK)
        return access_error(resp, rc, NULL, "no such rule");
    json_t *o = json_pack("{s:I,s:b}", "id", (json_int_t)id, "removed", 1);
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}

struct test_ctx {
    ent_rule *rules;
    size_t n;
};

static int test_load(ent_txn *txn, void *data) {
    struct test_ctx *c = data;
    free(c->rules);
    c->rules = NULL;
    return ent_access_policies_load(txn, &c->rules, &c->n);
}

/* POST /v1/policies/test {"user","action","type","field","object","values",
 * "creator"}: the decision for a hypothetical request. */
int ent_api_policies_test(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp) {
    static const char *const keys[] = {"user",   "action", "type",    "field",
                                       "object", "values", "creator", NULL};
    json_t *body = NULL, *state = NULL;
    ent_principal p;
    struct test_ctx c = {NULL, 0};
    char text[ENT_POLICY_TEXT_MAX + 256] = "";
    int rc = ent_api_body_object(req, resp, &body);
    if (rc != ENT_OK)
        return rc;
    if ((rc = check_keys(body, keys, resp)) != ENT_OK)
        goto out;
    const char *user = json_string_value(json_object_get(body, "user"));
    const char *act = json_string_value(json_object_get(body, "action"));
    const char *type = json_string_value(json_object_get(body, "type"));
    const char *field = json_string_value(json_object_get(body, "field"));
    const char *obj = json_string_value(json_object_get(body, "object"));
    const char *creator = json_string_value(json_object_get(body, "creator"));
    const json_t *values = json_object_get(body, "values");
    uint32_t action = act != NULL ? ent_action_parse(act, strlen(act)) : 0;
    if (user == NULL || action == 0) {
        rc =
            ent_http_response_error_field(resp, 400, ENT_EINVAL, "user",
                                          "\"user\" and \"action\" (one action "
                                          "name) are required");
        goto out;
    }
    rc = ent_access_principal(ent_node_store(n), user, &p);
    if (rc != ENT_OK) {
        access_error(resp, rc, NULL, "no such user");
        goto out;
    }
    if (obj != NULL) {
        uint8_t id[32];
        if (ent_api_obj_id_parse(obj, id) != ENT_OK) {
            rc = ent_http_response_error_field(resp, 400, ENT_EINVAL, "object",
                                               "\"object\": 64 lowercase hex");
            goto out;
        }
        rc = ent_obj_show_json(ent_node_objects(n), id, false, &state);
        if (rc != ENT_OK) {
            access_error(resp, rc, NULL, "no such object");
            goto out;
        }
        if (type == NULL)
            type = json_string_value(json_object_get(state, "type"));
    } else if (values != NULL) {
        if (!json_is_object(values)) {
            rc = ent_http_response_error_field(
                resp, 400, ENT_EINVAL, "values",
                "\"values\": an object of field to "
                "text");
            goto out;
        }
        state = json_pack("{s:O,s:{}}", "shared", values, "private");
    }
    if ((rc = ent_store_read(ent_node_store(n), test_load, &c)) != ENT_OK)
        goto out;
    ent_access_req r = {action, type, field, state, creator};
    ent_decision d;
    ent_policy_decide(c.rules, c.n, &p, &r, &d);
    for (size_t i = 0; d.why == ENT_WHY_RULE && i < c.n; i++)
        if (c.rules[i].id == d.rule)
            ent_rule_format(&c.rules[i], text, sizeof(text));
    json_t *o = json_pack(
        "{s:s,s:s,s:o,s:o}", "decision", d.allow ? "allow" : "deny", "reason",
        ent_decision_why_name(d.why), "rule",
        d.why == ENT_WHY_RULE ? json_integer(d.rule) : json_null(), "text",
        d.why == ENT_WHY_RULE ? json_string(text) : json_null());
    if (o == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    ent_http_response_json(resp, 200, o);
out:
    free(c.rules);
    json_decref(state);
    json_decref(body);
    return rc;
}

/* ---- login and whoami -----------------------------------------------------
 */

/* A login on the TCP API: a session cookie and its CSRF token
 * (spec/access.md §2.3). */
static int login_session(ent_node *n, const ent_http_request *req,
                         const char *user, uint64_t now,
                         ent_http_response *resp) {
    char token[ENT_TOKEN_STRLEN + 1], id[ENT_TOKEN_ID_HEX + 1],
        csrf[ENT_CSRF_STRLEN + 1];
    int rc = ent_access_session_create(ent_node_store(n), user, now, token, id);
    if (rc == ENT_EDENIED)
        return ent_http_response_error(resp, 401, rc, "the user is disabled");
    if (rc != ENT_OK)
        return access_error(resp, rc, NULL, "no such user");
    ent_access_session_csrf(token, csrf);
    json_t *arr = json_array();
    for (uint32_t b = 1; arr != NULL && b <= ENT_ACT_MANAGE; b <<= 1)
        json_array_append_new(arr, json_string(ent_action_name(b)));
    json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:s}", "id", id, "user", user,
                          "scopes", arr, "expires",
                          ent_api_time_json(now + ENT_SESSION_MS), "csrf",
                          csrf);
    if (o == NULL) {
        rc = ENT_ENOMEM;
    } else {
        ent_http_response_json(resp, 200, o);
        ent_api_session_set_cookie(resp, token, ENT_SESSION_MS / 1000,
                                   req->transport == ENT_HTTP_TLS);
    }
    ent_wipe(token, sizeof(token));
    ent_wipe(csrf, sizeof(csrf));
    return rc;
}

int ent_api_logout(ent_node *n, const ent_http_request *req,
                   ent_http_response *resp) {
    const ent_principal *p = req->principal;
    if (p == NULL || p->kind != ENT_PRINCIPAL_USER || !p->session)
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "not a session (a bearer token is "
                                       "revoked with DELETE /v1/tokens/ID)");
    int rc = ent_access_token_revoke(ent_node_store(n), p->token);
    if (rc != ENT_OK && rc != ENT_ENOENT)
        return ent_http_response_error(resp, 500, rc, "ending the session: %s",
                                       ent_strerror(rc));
    json_t *o = json_pack("{s:s,s:b}", "id", p->token, "ended", 1);
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, o);
    ent_api_session_set_cookie(resp, NULL, 0, req->transport == ENT_HTTP_TLS);
    return ENT_OK;
}

int ent_api_login(ent_node *n, const ent_http_request *req,
                  ent_http_response *resp) {
    static const char *const keys[] = {"user", "password", "token", NULL};
    json_t *body = NULL;
    uint64_t retry = 0, now = ent_api_now_ms();
    int rc = ent_api_body_object(req, resp, &body);
    if (rc != ENT_OK)
        return rc;
    if ((rc = check_keys(body, keys, resp)) != ENT_OK)
        goto out;
    const char *user = json_string_value(json_object_get(body, "user"));
    const char *pw = json_string_value(json_object_get(body, "password"));
    const json_t *want_token = json_object_get(body, "token");
    if (want_token != NULL && !json_is_boolean(want_token)) {
        rc = ent_http_response_error(resp, 400, ENT_EINVAL,
                                     "\"token\" is true or false");
        goto out;
    }
    if (user == NULL || pw == NULL) {
        rc = ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "user",
            "\"user\" and \"password\" are required");
        goto out;
    }
    rc = ent_access_login(ent_node_store(n), user, pw, now, &retry);
    if (rc != ENT_OK) {
        /* unknown user, wrong password, locked: one answer, so that it
         * tells nothing; only the right password learns of a disabled
         * user (spec/access.md §1) */
        rc = ent_http_response_error(resp, 401, ENT_EAUTH,
                                     rc == ENT_EDENIED
                                         ? "the user is disabled"
                                         : "wrong user name or password");
        goto out;
    }
    if (req->transport != ENT_HTTP_UNIX && !json_is_true(want_token))
        rc = login_session(n, req, user, now, resp);
    else
        rc = issue(n, user, ENT_ACT_ALL, now + ENT_LOGIN_TOKEN_MS, true, 200,
                   resp);
out:
    json_decref(body);
    return rc;
}

int ent_api_me(ent_node *n, const ent_http_request *req,
               ent_http_response *resp) {
    const ent_principal *p = req->principal;
    json_t *attrs = json_object(), *sc = json_array();
    if (attrs == NULL || sc == NULL) {
        json_decref(attrs);
        json_decref(sc);
        return ENT_ENOMEM;
    }
    bool op = p == NULL || p->kind == ENT_PRINCIPAL_OPERATOR;
    for (size_t i = 0; !op && i < p->nattrs; i++)
        json_object_set_new(attrs, p->attr_key[i], json_string(p->attr_val[i]));
    for (uint32_t b = 1; b <= ENT_ACT_LAST; b <<= 1)
        if (op || (p->scopes & b) != 0)
            json_array_append_new(sc, json_string(ent_action_name(b)));
    /* a session's CSRF token, for the page to send with its writes */
    char tok[ENT_TOKEN_STRLEN + 1], csrf[ENT_CSRF_STRLEN + 1] = "";
    if (!op && p->session && ent_api_session_cookie(req, tok) == ENT_OK) {
        ent_access_session_csrf(tok, csrf);
        ent_wipe(tok, sizeof(tok));
    }
    json_t *o = json_pack("{s:b,s:o,s:o,s:o,s:o,s:o,s:b,s:o}", "operator", op,
                          "user", op ? json_null() : json_string(p->user),
                          "role", op ? json_null() : json_string(p->role),
                          "attrs", attrs, "scopes", sc, "token",
                          op ? json_null() : json_string(p->token), "session",
                          !op && p->session, "csrf",
                          csrf[0] ? json_string(csrf) : json_null());
    ent_wipe(csrf, sizeof(csrf));
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}
