/*
 * api_access.c - the policy guard around every request of the local API:
 * authentication, the decision before a handler runs, the filtering of
 * what an answer carries, and the private note of which user made each
 * local op and object. See api_access.h and spec/access.md.
 */
#include "node/api/api_access.h"
#include "node/api/api_objects.h"
#include "node/api/api_session.h"
#include "node/audit/actlog.h"
#include "node/err.h"
#include "node/log.h"
#include "node/objects/object.h"
#include "node/objects/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OBJ_PREFIX "/v1/objects/"

/* The classes of routes (spec/access.md "Enforcement"). */
enum {
    G_OPERATOR = 0, /* the operator: nothing to decide or filter */
    G_FREE,         /* any authenticated caller (status, templates...) */
    G_PLAIN,        /* one action on no object, decided before */
    G_CREATE,       /* POST /v1/objects */
    G_LIST,         /* GET /v1/objects: filtered after */
    G_SHOW,         /* GET /v1/objects/ID: read, fields filtered after */
    G_OBJECT,       /* a write on one object, decided before */
    G_LOG,          /* GET /v1/log: log, entries filtered after */
    G_RULES,        /* GET /v1/objects/ID/rules: read, stage filtered after */
    G_INBOX,        /* GET /v1/inbox: approve, rows filtered after */
    G_STATUS,       /* GET /v1/status: free, syncs filtered after */
};

uint64_t ent_api_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- decisions ------------------------------------------------------------
 */

static int load_fn(ent_txn *txn, void *data) {
    ent_api_guard *g = data;
    free(g->rules);
    g->rules = NULL;
    return ent_access_policies_load(txn, &g->rules, &g->nrules);
}

/* Answers 403 for a denial: the deciding rule, the field, the reason. */
static int deny(ent_http_response *resp, const ent_principal *p,
                const ent_decision *d, uint32_t action, const char *type,
                const char *field, const ent_rule *rules, size_t n) {
    char what[256], why[ENT_POLICY_TEXT_MAX + 300],
        text[ENT_POLICY_TEXT_MAX + 256];
    snprintf(what, sizeof(what), "%s%s%s%s%s", ent_action_name(action),
             type != NULL || field != NULL ? " " : "", type != NULL ? type : "",
             field != NULL ? "." : "", field != NULL ? field : "");
    if (d->why == ENT_WHY_RULE) {
        text[0] = '\0';
        for (size_t i = 0; i < n; i++)
            if (rules[i].id == d->rule)
                ent_rule_format(&rules[i], text, sizeof(text));
        snprintf(why, sizeof(why), "denied by rule %u (%s)", d->rule, text);
    } else if (d->why == ENT_WHY_SCOPE) {
        snprintf(why, sizeof(why), "the token's scopes do not include %s",
                 ent_action_name(action));
    } else {
        snprintf(why, sizeof(why), "no rule allows it (default deny)");
    }
    char msg[2048];
    snprintf(msg, sizeof(msg), "user %s may not %s: %s", p->user, what, why);
    json_t *e =
        json_pack("{s:{s:s,s:s,s:o,s:o,s:s}}", "error", "code",
                  ent_err_name(ENT_EDENIED), "message", msg, "field",
                  field != NULL ? json_string(field) : json_null(), "rule",
                  d->why == ENT_WHY_RULE ? json_integer(d->rule) : json_null(),
                  "reason", ent_decision_why_name(d->why));
    if (e == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 403, e);
    return ENT_EDENIED;
}

static bool decide(const ent_api_guard *g, const ent_principal *p,
                   uint32_t action, const char *type, const char *field,
                   const json_t *state, const char *creator, ent_decision *d) {
    ent_access_req r = {action, type, field, state, creator};
    ent_policy_decide(g->rules, g->nrules, p, &r, d);
    return d->allow;
}

/* Checks one decision, answering 403 when denied. */
static int need(const ent_api_guard *g, const ent_principal *p, uint32_t action,
                const char *type, const char *field, const json_t *state,
                const char *creator, ent_http_response *resp) {
    ent_decision d;
    if (decide(g, p, action, type, field, state, creator, &d))
        return ENT_OK;
    return deny(resp, p, &d, action, type, field, g->rules, g->nrules);
}

/* An object's state for the conditions: its show JSON (shared, private,
 * type) and its creator; *state NULL when there is no such object. */
struct obj_ctx {
    const uint8_t *id;
    char creator[ENT_POLICY_VALUE_MAX + 1];
};

static int creator_fn(ent_txn *txn, void *data) {
    struct obj_ctx *c = data;
    int rc = ent_access_creator(txn, c->id, c->creator);
    return rc == ENT_ENOENT ? ENT_OK : rc;
}

static int object_state(ent_node *n, const uint8_t id[32], json_t **state,
                        char creator[ENT_POLICY_VALUE_MAX + 1]) {
    struct obj_ctx c = {id, ""};
    *state = NULL;
    creator[0] = '\0';
    int rc = ent_obj_show_json(ent_node_objects(n), id, false, state);
    if (rc != ENT_OK)
        return rc;
    rc = ent_store_read(ent_node_store(n), creator_fn, &c);
    strcpy(creator, c.creator);
    return rc;
}

/* ---- before the handler ---------------------------------------------------
 */

/* "/v1/objects/ID<rest>" -> id, rest; false for anything else. */
static bool object_path(const char *path, uint8_t id[32], const char **rest) {
    char hex[ENT_API_OBJ_ID_HEX + 1];
    size_t pl = strlen(OBJ_PREFIX);
    if (strncmp(path, OBJ_PREFIX, pl) != 0 ||
        strlen(path + pl) < ENT_API_OBJ_ID_HEX)
        return false;
    memcpy(hex, path + pl, ENT_API_OBJ_ID_HEX);
    hex[ENT_API_OBJ_ID_HEX] = '\0';
    if (ent_api_obj_id_parse(hex, id) != ENT_OK)
        return false;
    *rest = path + pl + ENT_API_OBJ_ID_HEX;
    return true;
}

static bool starts(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The field maps of a body {"set":{..},"private":{..},"custom":{..},
 * "remove":[..]} as a state to test conditions on, laid over base (may be
 * NULL): "set" and "custom" are shared values, "remove" takes a field
 * away. New reference or NULL. */
static json_t *overlay(const json_t *base, const json_t *body) {
    json_t *st = base != NULL ? json_deep_copy(base)
                              : json_pack("{s:{},s:{}}", "shared", "private");
    if (st == NULL)
        return NULL;
    static const char *const maps[][2] = {{"set", "shared"},
                                          {"private", "private"},
                                          {"custom", "shared"}};
    json_t *sh = json_object_get(st, "shared");
    json_t *pr = json_object_get(st, "private");
    for (size_t m = 0; m < 3; m++) {
        const json_t *in = json_object_get(body, maps[m][0]);
        const char *k;
        json_t *v;
        if (!json_is_object(in))
            continue;
        json_object_foreach((json_t *)in, k, v) {
            json_object_del(sh, k);
            json_object_del(pr, k);
            if (json_is_string(v) && json_string_length(v) > 0)
                json_object_set(strcmp(maps[m][1], "shared") == 0 ? sh : pr,
                                k, v);
        }
    }
    const json_t *rm = json_object_get(body, "remove");
    size_t i;
    json_t *v;
    if (json_is_array(rm))
        json_array_foreach((json_t *)rm, i, v) {
            if (json_is_string(v)) {
                json_object_del(sh, json_string_value(v));
                json_object_del(pr, json_string_value(v));
            }
        }
    return st;
}

/* Every field the body writes needs action: the names of its "set",
 * "private" and "custom" maps and of its "remove" array. */
static int need_fields(const ent_api_guard *g, const ent_principal *p,
                       uint32_t action, const char *type, const json_t *body,
                       const json_t *state, const char *creator,
                       ent_http_response *resp) {
    static const char *const maps[] = {"set", "private", "custom"};
    for (size_t m = 0; m < 3; m++) {
        const json_t *in = json_object_get(body, maps[m]);
        const char *k;
        json_t *v;
        if (!json_is_object(in))
            continue;
        json_object_foreach((json_t *)in, k, v) {
            int rc = need(g, p, action, type, k, state, creator, resp);
            if (rc != ENT_OK)
                return rc;
        }
    }
    const json_t *rm = json_object_get(body, "remove");
    size_t i;
    json_t *v;
    if (json_is_array(rm))
        json_array_foreach((json_t *)rm, i, v) {
            const char *k = json_string_value(v);
            int rc = k != NULL ? need(g, p, action, type, k, state, creator,
                                      resp)
                               : ENT_OK;
            if (rc != ENT_OK)
                return rc;
        }
    return ENT_OK;
}

/* POST /v1/objects: create, with the given values as the state. */
static int before_create(ent_node *n, const ent_http_request *req,
                         const ent_principal *p, ent_api_guard *g,
                         ent_http_response *resp) {
    json_t *body = NULL, *st = NULL;
    int rc = ENT_OK;
    if (ent_http_request_json(req, &body) != ENT_OK || !json_is_object(body))
        goto out; /* the handler refuses it */
    const char *type = json_string_value(json_object_get(body, "type"));
    if (type == NULL)
        goto out;
    if ((st = overlay(NULL, body)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    rc = need(g, p, ENT_ACT_CREATE, type, NULL, st, p->user, resp);
    if (rc == ENT_OK)
        rc = need_fields(g, p, ENT_ACT_CREATE, type, body, st, p->user, resp);
out:
    json_decref(st);
    json_decref(body);
    return rc;
}

/*
 * POST /v1/objects/LEAD/convert {"to"}: the lead's change (converted_to,
 * status and stage, spec/objects.md "Converting a lead") field by field
 * and as it would be, then the create of the new object, with the values
 * the conversion maps from the lead, each field of them included.
 */
static int need_convert(ent_node *n, const ent_http_request *req,
                        const ent_principal *p, const ent_api_guard *g,
                        const char *type, const json_t *state,
                        const char *cr, ent_http_response *resp) {
    static const char *const map[][2] = {
        {"company", "name"},       {"company", "customer_account"},
        {"region", "region"},      {"industry", "industry"},
        {"need", "next_step"},     {"referred_by", "sourced_by"},
        {"estimated_value", "deal_size"}};
    json_t *body = NULL, *lead = NULL, *after = NULL, *made = NULL;
    int rc = ENT_OK;
    (void)n;
    if (ent_http_request_json(req, &body) != ENT_OK || !json_is_object(body))
        goto out; /* the handler refuses it */
    const char *to = json_string_value(json_object_get(body, "to"));
    if (to == NULL || strcmp(to, "opportunity") != 0 || type == NULL ||
        strcmp(type, "lead") != 0)
        goto out; /* the handler refuses it (400) */
    lead = json_pack("{s:{s:s,s:s,s:s}}", "set", "converted_to", "x",
                     "status", "Converted", "stage", "Converted");
    made = json_pack("{s:{},s:{}}", "shared", "private");
    if (lead == NULL || made == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    if ((rc = need_fields(g, p, ENT_ACT_CHANGE, type, lead, state, cr,
                          resp)) != ENT_OK)
        goto out;
    if ((after = overlay(state, lead)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    if ((rc = need(g, p, ENT_ACT_CHANGE, type, NULL, after, cr, resp)) !=
        ENT_OK)
        goto out;
    /* the new object's values: the lead's (its private value first) */
    json_t *sh = json_object_get(made, "shared");
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        json_t *v = json_object_get(json_object_get(state, "private"),
                                    map[i][0]);
        if (v == NULL || json_is_null(v))
            v = json_object_get(json_object_get(state, "shared"), map[i][0]);
        if (v != NULL && !json_is_null(v))
            json_object_set(sh, map[i][1], v);
    }
    rc = need(g, p, ENT_ACT_CREATE, to, NULL, made, p->user, resp);
    const char *k;
    json_t *v;
    json_object_foreach(sh, k, v) {
        if (rc != ENT_OK)
            break;
        rc = need(g, p, ENT_ACT_CREATE, to, k, made, p->user, resp);
    }
    if (rc == ENT_OK)
        rc = need(g, p, ENT_ACT_CREATE, to, "lead", made, p->user, resp);
out:
    json_decref(made);
    json_decref(after);
    json_decref(lead);
    json_decref(body);
    return rc;
}

/* A write on one object: decided on the object as it is and, for field
 * changes, as it would be. */
static int before_object(ent_node *n, const ent_http_request *req,
                         const ent_principal *p, ent_api_guard *g,
                         const uint8_t id[32], const char *rest,
                         ent_http_response *resp) {
    json_t *state = NULL, *body = NULL, *after = NULL;
    char creator[ENT_POLICY_VALUE_MAX + 1];
    uint32_t action;
    int rc = object_state(n, id, &state, creator);
    if (rc == ENT_ENOENT)
        return ENT_OK; /* the handler answers 404 */
    if (rc != ENT_OK)
        return rc;
    const char *type = json_string_value(json_object_get(state, "type"));
    const char *cr = creator[0] ? creator : NULL;
    bool is_delete = strcmp(req->method, "DELETE") == 0;
    if (is_delete || starts(rest, "/members/"))
        action = ENT_ACT_REMOVE_MEMBER;
    else if (strcmp(rest, "/invites") == 0)
        action = ENT_ACT_INVITE;
    else if (strcmp(rest, "/comments") == 0)
        action = ENT_ACT_COMMENT;
    else if (strcmp(rest, "/approve") == 0 || strcmp(rest, "/reject") == 0)
        action = ENT_ACT_APPROVE; /* spec/workflows.md §5 */
    else if (strcmp(rest, "/rules") == 0)
        action = ENT_ACT_CHANGE; /* new rules: the owner's engine decides */
    else if (strcmp(rest, "/convert") == 0)
        action = ENT_ACT_CHANGE; /* the lead changes; a new object is made */
    else if (strcmp(rest, "/attachments") == 0)
        action = ENT_ACT_CHANGE; /* a new attachment: no field changes */
    else if (strcmp(rest, "/attachments/fetch") == 0 ||
             strcmp(rest, "/attachments/save") == 0 ||
             strcmp(rest, "/attachments/read") == 0)
        action = ENT_ACT_READ; /* reading what the object holds */
    else if (strcmp(rest, "/stage") == 0 || rest[0] == '\0')
        action = ENT_ACT_CHANGE;
    else
        action = ENT_ACT_MANAGE; /* a sub-path this guard does not know */
    rc = need(g, p, action, type, NULL, state, cr, resp);
    if (rc == ENT_OK && strcmp(rest, "/convert") == 0)
        rc = need_convert(n, req, p, g, type, state, cr, resp);
    if (rc != ENT_OK || action != ENT_ACT_CHANGE || strcmp(rest, "/rules") == 0 ||
        strcmp(rest, "/convert") == 0 ||
        strcmp(rest, "/attachments") == 0)
        goto out;
    if (ent_http_request_json(req, &body) != ENT_OK || !json_is_object(body))
        goto out;
    if (strcmp(rest, "/stage") == 0) {
        const json_t *s = json_object_get(body, "stage");
        json_t *wrap = json_pack("{s:{s:O}}", "set", "stage",
                                 json_is_string(s) ? (json_t *)s : json_null());
        if (wrap == NULL) {
            rc = ENT_ENOMEM;
            goto out;
        }
        json_decref(body);
        body = wrap;
    }
    if ((rc = need_fields(g, p, ENT_ACT_CHANGE, type, body, state, cr, resp)) !=
        ENT_OK)
        goto out;
    if ((after = overlay(state, body)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    rc = need(g, p, ENT_ACT_CHANGE, type, NULL, after, cr, resp);
out:
    json_decref(after);
    json_decref(body);
    json_decref(state);
    return rc;
}

static int hexdig(char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Removes limit=N from the query of GET /v1/objects: the rows are
 * filtered first, then cut. */
static int strip_limit(ent_http_request *req, ent_api_guard *g) {
    if (req->query == NULL)
        return ENT_OK;
    size_t ql = strlen(req->query);
    if ((g->query = calloc(1, ql + 1)) == NULL)
        return ENT_ENOMEM;
    const char *p = req->query;
    while (*p) {
        size_t l = strcspn(p, "&");
        if (l >= 6 && strncmp(p, "stage=", 6) == 0)
            g->stage_filter = true;
        if (l >= 5 && strncmp(p, "sort=", 5) == 0) {
            /* the key as the handler reads it: percent-decoded, after an
             * optional '-' */
            char key[16];
            size_t o = 0;
            for (size_t k = 5; k < l && o + 1 < sizeof(key); k++) {
                int hi, lo;
                if (p[k] == '%' && k + 2 < l &&
                    (hi = hexdig(p[k + 1])) >= 0 &&
                    (lo = hexdig(p[k + 2])) >= 0) {
                    key[o++] = (char)(hi * 16 + lo);
                    k += 2;
                } else {
                    key[o++] = p[k];
                }
            }
            key[o] = '\0';
            const char *kk = key[0] == '-' ? key + 1 : key;
            if (strcmp(kk, "title") == 0 || strcmp(kk, "date") == 0 ||
                strcmp(kk, "stage") == 0)
                strcpy(g->sort_col, kk);
        }
        if (l > 6 && strncmp(p, "limit=", 6) == 0 && g->limit == 0) {
            char num[16] = "";
            if (l - 6 < sizeof(num)) {
                memcpy(num, p + 6, l - 6);
                char *end = NULL;
                unsigned long long v = strtoull(num, &end, 10);
                if (num[0] >= '1' && num[0] <= '9' && *end == '\0' &&
                    v <= ENT_API_OBJ_MAX_LIMIT) {
                    g->limit = (size_t)v;
                    p += l + (p[l] == '&');
                    continue;
                }
            }
        }
        if (g->query[0] != '\0')
            strcat(g->query, "&");
        strncat(g->query, p, l);
        p += l + (p[l] == '&');
    }
    req->query = g->query;
    return ENT_OK;
}

/* Nobody: a TCP request before (or without) authentication. */
static void principal_none(ent_principal *p) {
    memset(p, 0, sizeof(*p));
    p->kind = ENT_PRINCIPAL_NONE;
}

/* Answers 401 for a credential ent_access_*authenticate refused. */
static int refuse(ent_http_request *req, ent_principal *p, int rc,
                  bool session, ent_http_response *resp) {
    principal_none(p);
    req->principal = NULL;
    const char *why =
        rc == ENT_EEXPIRED
            ? (session ? "the session has expired" : "the token has expired")
        : rc == ENT_EDENIED
            ? (session ? "the session's user is disabled or removed"
                       : "the token's user is disabled or removed")
        : rc == ENT_EPERM
            ? (session ? "invalid or ended session" : "invalid or revoked token")
            : ent_strerror(rc);
    /* 401 says ENT_EAUTH, or ENT_EEXPIRED for a token or session past its
     * time (spec/api.md "Errors") */
    bool unauth = rc == ENT_EPERM || rc == ENT_EEXPIRED || rc == ENT_EDENIED;
    return ent_http_response_error(
        resp, unauth ? 401 : 500,
        unauth && rc != ENT_EEXPIRED ? ENT_EAUTH : rc, "%s", why);
}

/*
 * A request of the TCP API without an Authorization header
 * (spec/access.md §2.3): POST /v1/login is let through as nobody (a
 * same-origin check only); anything else needs the session cookie, and a
 * state-changing request also a same-origin Origin / Sec-Fetch-Site and
 * the session's CSRF token. Never the operator.
 */
static int begin_cookie(ent_node *n, ent_http_request *req, ent_principal *p,
                        ent_api_guard *g, ent_http_response *resp) {
    char tok[ENT_TOKEN_STRLEN + 1];
    bool tls = req->transport == ENT_HTTP_TLS;
    bool unsafe = ent_api_method_unsafe(req->method);
    int rc;
    principal_none(p);
    if (strcmp(req->method, "POST") == 0 && strcmp(req->path, "/v1/login") == 0) {
        if (!ent_api_same_origin(req, tls))
            return ent_http_response_error(resp, 403, ENT_EDENIED,
                                           "cross-site request refused");
        g->kind = G_FREE;
        return ENT_OK;
    }
    rc = ent_api_session_cookie(req, tok);
    if (rc == ENT_ENOENT) {
        req->principal = NULL;
        return ent_http_response_error(resp, 401, ENT_EAUTH,
                                       "authentication required: send "
                                       "Authorization: Bearer TOKEN, or log in "
                                       "(POST /v1/login)");
    }
    if (rc != ENT_OK) {
        req->principal = NULL;
        return ent_http_response_error(resp, 401, ENT_EAUTH,
                                       "malformed session cookie");
    }
    if (unsafe && !ent_api_same_origin(req, tls)) {
        rc = ent_http_response_error(resp, 403, ENT_EDENIED,
                                     "cross-site request refused");
        goto out;
    }
    rc = ent_access_session_authenticate(ent_node_store(n), tok,
                                         ent_api_now_ms(), p);
    if (rc != ENT_OK) {
        rc = refuse(req, p, rc, true, resp);
        goto out;
    }
    if (ent_api_csrf_check(req, tok) != ENT_OK) {
        principal_none(p);
        req->principal = NULL;
        rc = ent_http_response_error(resp, 403, ENT_EDENIED,
                                     "missing or wrong " "X-CSRF-Token header "
                                     "(GET /v1/access/me gives it)");
    }
out:
    ent_wipe(tok, sizeof(tok));
    return rc;
}

static int begin(ent_node *n, ent_http_request *req, ent_principal *p,
                 ent_api_guard *g, ent_http_response *resp) {
    const char *auth = ent_http_request_header(req, "authorization");
    const char *path = req->path, *m = req->method, *rest = NULL;
    uint8_t id[32];
    int rc;
    memset(g, 0, sizeof(*g));
    /* a repeated query parameter: 400 for everyone, before anything is
     * decided on one value of it and done on another */
    if ((rc = ent_api_query_once(req, resp)) != ENT_OK) {
        principal_none(p);
        req->principal = NULL;
        return rc;
    }
    ent_principal_operator(p);
    req->principal = p;
    if (auth == NULL && req->transport == ENT_HTTP_UNIX) {
        g->kind = strcmp(path, "/v1/log") == 0 ? G_LOG : G_OPERATOR;
        return ENT_OK; /* the socket's operator */
    }
    if (auth == NULL) {
        if ((rc = begin_cookie(n, req, p, g, resp)) != ENT_OK ||
            g->kind == G_FREE)
            return rc;
    } else if (strncmp(auth, "Bearer ", 7) != 0) {
        principal_none(p);
        req->principal = NULL;
        return ent_http_response_error(resp, 401, ENT_EAUTH,
                                       "Authorization: want Bearer TOKEN");
    } else if ((rc = ent_access_authenticate(ent_node_store(n), auth + 7,
                                             ent_api_now_ms(), p)) != ENT_OK) {
        return refuse(req, p, rc, false, resp);
    }
    if ((rc = ent_store_read(ent_node_store(n), load_fn, g)) != ENT_OK)
        return ent_http_response_error(resp, 500, rc, "loading policies: %s",
                                       ent_strerror(rc));
    bool get = strcmp(m, "GET") == 0;
    /* GET /metrics: the action metrics, decided as any other (scope,
     * rules, admin); a token made for nothing but metrics needs no rule
     * (spec/access.md "Metrics") */
    if (get && strcmp(path, "/metrics") == 0) {
        ent_decision d;
        g->kind = G_FREE;
        decide(g, p, ENT_ACT_METRICS, NULL, NULL, NULL, NULL, &d);
        if (d.allow ||
            (d.why == ENT_WHY_DEFAULT && p->scopes == ENT_ACT_METRICS))
            return ENT_OK;
        return deny(resp, p, &d, ENT_ACT_METRICS, NULL, NULL, g->rules,
                    g->nrules);
    }
    /* what every authenticated caller may read: no object data */
    if ((get &&
         (strcmp(path, "/v1/status") == 0 || strcmp(path, "/v1/peers") == 0 ||
          strcmp(path, "/v1/templates") == 0 ||
          starts(path, "/v1/templates/") || strcmp(path, "/v1/config") == 0 ||
          starts(path, "/v1/config/") || strcmp(path, "/v1/access/me") == 0 ||
          starts(path, "/v1/fieldmaps") ||
          /* each event is filtered for the caller (access_events.h) */
          strcmp(path, "/v1/events") == 0)) ||
        (strcmp(m, "POST") == 0 && (strcmp(path, "/v1/login") == 0 ||
                                    strcmp(path, "/v1/logout") == 0))) {
        g->kind = G_FREE;
        /* the status's syncs name objects: each is decided after, unless
         * the caller may read everything */
        if (get && strcmp(path, "/v1/status") == 0 &&
            !ent_policy_allows_all(g->rules, g->nrules, p, ENT_ACT_READ))
            g->kind = G_STATUS;
        return ENT_OK;
    }
    /* reports decide each object and each field they use themselves
     * (node/api/api_reports.c, under the same policies) */
    if (get && (starts(path, "/v1/reports/") ||
                strcmp(path, "/v1/views") == 0 || starts(path, "/v1/views/"))) {
        g->kind = G_FREE;
        return ENT_OK;
    }
    g->kind = G_PLAIN;
    if (strcmp(path, "/v1/objects") == 0 && strcmp(m, "POST") == 0) {
        g->kind = G_CREATE;
        return before_create(n, req, p, g, resp);
    }
    if (strcmp(path, "/v1/objects") == 0 && get) {
        /* a caller that may read everything: the engine's list as it is,
         * limit included (a page costs its rows, not the rest of the
         * list); no object's state is read to decide */
        if (ent_policy_allows_all(g->rules, g->nrules, p, ENT_ACT_READ)) {
            g->kind = G_FREE;
            return ENT_OK;
        }
        g->kind = G_LIST; /* each object is decided on its own */
        return strip_limit(req, g);
    }
    if (object_path(path, id, &rest)) {
        if (get) {
            bool rules = strcmp(rest, "/rules") == 0 ||
                         strcmp(rest, "/attachments") == 0;
            if (rest[0] != '\0' && !rules)
                return ENT_OK; /* G_PLAIN with no action: 404 below */
            if (!rules)
                g->kind = G_SHOW;
            else if (strcmp(rest, "/rules") == 0)
                g->kind = G_RULES; /* its one field value: the stage */
            /* kept for end(): a GET changes nothing in between */
            rc = object_state(n, id, &g->state, g->creator);
            if (rc == ENT_ENOENT)
                return ENT_OK;
            if (rc == ENT_OK)
                rc = need(g, p, ENT_ACT_READ,
                          json_string_value(json_object_get(g->state, "type")),
                          NULL, g->state, g->creator[0] ? g->creator : NULL,
                          resp);
            return rc;
        }
        g->kind = G_OBJECT;
        return before_object(n, req, p, g, id, rest, resp);
    }
    uint32_t action = ENT_ACT_MANAGE;
    if (strcmp(path, "/v1/log") == 0 && get) {
        g->kind = G_LOG;
        action = ENT_ACT_LOG;
    } else if (starts(path, "/v1/audit/") || starts(path, "/v1/object-keys/")) {
        action = ENT_ACT_EXPORT;
    } else if (strcmp(path, "/v1/join") == 0 ||
               strcmp(path, "/v1/join/preview") == 0 ||
               starts(path, "/v1/joins/")) {
        action = ENT_ACT_JOIN;
    } else if (starts(path, "/v1/templates") || starts(path, "/v1/config") ||
               starts(path, "/v1/views/") || starts(path, "/v1/fieldmaps")) {
        action = ENT_ACT_CONFIGURE;
    } else if (strcmp(path, "/v1/inbox") == 0 && get) {
        action = ENT_ACT_APPROVE; /* what waits on the org's approvers */
        g->kind = G_INBOX;
    }
    return need(g, p, action, NULL, NULL, NULL, NULL, resp);
}

int ent_api_access_check(ent_node *n, const ent_http_request *req,
                         uint32_t action, const char *type, const char *field,
                         const json_t *state, const char *creator,
                         ent_http_response *resp) {
    ent_api_guard g;
    ent_principal op;
    const ent_principal *p = req->principal;
    memset(&g, 0, sizeof(g));
    if (p == NULL) {
        ent_principal_operator(&op);
        p = &op;
    }
    if (p->kind == ENT_PRINCIPAL_OPERATOR)
        return ENT_OK;
    int rc = ent_store_read(ent_node_store(n), load_fn, &g);
    if (rc == ENT_OK)
        rc = need(&g, p, action, type, field, state, creator, resp);
    free(g.rules);
    return rc;
}

/* ---- after the handler ----------------------------------------------------
 */

/* Leaves out of an object's JSON every field the principal may not read,
 * and of its links what they would tell of such a field or of a linked
 * object the principal may not read. */
static void filter_fields(ent_node *n, const ent_api_guard *g,
                          const ent_principal *p, json_t *obj,
                          const json_t *state, const char *creator) {
    const char *type = json_string_value(json_object_get(obj, "type"));
    static const char *const maps[] = {"shared", "private", "derived"};
    bool cut = false;
    for (size_t m = 0; m < 3; m++) {
        json_t *fields = json_object_get(obj, maps[m]);
        const char *k;
        json_t *v;
        void *tmp;
        ent_decision d;
        if (!json_is_object(fields))
            continue;
        json_object_foreach_safe(fields, tmp, k, v) {
            if (!decide(g, p, ENT_ACT_READ, type, k, state, creator, &d)) {
                json_object_del(fields, k);
                cut = true;
            }
        }
    }
    /* "links" (spec/objects.md "Links"): an entry tells its ref field's
     * value, so it goes with the field; the linked object's type and name
     * stay only for a caller who may read that object */
    json_t *links = json_object_get(obj, "links");
    const char *lk;
    json_t *lv;
    void *ltmp;
    if (json_is_object(links)) {
        json_object_foreach_safe(links, ltmp, lk, lv) {
            ent_decision d;
            if (!decide(g, p, ENT_ACT_READ, type, lk, state, creator, &d)) {
                json_object_del(links, lk);
                continue;
            }
            if (json_object_get(lv, "type") == NULL &&
                json_object_get(lv, "name") == NULL)
                continue;
            const char *lh = json_string_value(json_object_get(lv, "id"));
            uint8_t lid[32];
            json_t *ls = NULL;
            char lc[ENT_POLICY_VALUE_MAX + 1];
            bool ok = lh != NULL && ent_api_obj_id_parse(lh, lid) == ENT_OK &&
                      object_state(n, lid, &ls, lc) == ENT_OK &&
                      decide(g, p, ENT_ACT_READ,
                             json_string_value(json_object_get(ls, "type")),
                             NULL, ls, lc[0] ? lc : NULL, &d);
            json_decref(ls);
            if (!ok) {
                json_object_del(lv, "type");
                json_object_del(lv, "name");
            }
        }
    }
    /* a formula could give away a field left out: derived values only for
     * a caller who reads every field (spec/reports.md "Derived fields");
     * so are a deal registration's conflicts, which name other objects'
     * accounts (spec/workflows.md §9.3) */
    if (cut) {
        json_object_del(obj, "derived");
        json_object_del(obj, "registration");
    }
}

/* Whether every mdf_request this node holds that links the budget hex is
 * one the principal may read, with the fields its budget use adds up. */
struct use_ctx {
    const ent_api_guard *g;
    const ent_principal *p;
    const char *budget;
    ent_txn *txn;
    bool hidden;
};

static int use_one(void *data, const ent_obj_info *oi) {
    struct use_ctx *c = data;
    static const char *const used[] = {NULL, "budget", "stage",
                                       "amount_requested", "amount_approved",
                                       "amount_claimed"};
    json_t *st = NULL;
    char creator[ENT_POLICY_VALUE_MAX + 1] = "";
    int rc = ent_obj_state_json_txn(c->txn, oi->id, &st);
    if (rc != ENT_OK)
        return rc == ENT_ENOENT ? ENT_OK : rc;
    const char *b = json_string_value(
        json_object_get(json_object_get(st, "shared"), "budget"));
    if (b == NULL)
        b = json_string_value(
            json_object_get(json_object_get(st, "private"), "budget"));
    if (b != NULL && strcmp(b, c->budget) == 0) {
        rc = ent_access_creator(c->txn, oi->id, creator);
        if (rc == ENT_ENOENT)
            rc = ENT_OK;
        for (size_t i = 0; rc == ENT_OK && !c->hidden &&
                           i < sizeof(used) / sizeof(used[0]);
             i++) {
            ent_decision d;
            c->hidden = !decide(c->g, c->p, ENT_ACT_READ, "mdf_request",
                                used[i], st, creator[0] ? creator : NULL, &d);
        }
    }
    json_decref(st);
    return rc;
}

static int use_fn(ent_txn *txn, void *data) {
    struct use_ctx *c = data;
    c->txn = txn;
    c->hidden = false;
    return ent_obj_scan(txn, "mdf_request", NULL, use_one, c);
}

/* The state of the object row["object"] names (*st, the caller's to
 * decref; creator: its creator or ""): false when the id is bad or this
 * node does not hold the object. */
static bool row_object(ent_node *n, const json_t *row, json_t **st,
                       char creator[ENT_POLICY_VALUE_MAX + 1]) {
    const char *hex = json_string_value(json_object_get(row, "object"));
    uint8_t id[32];
    *st = NULL;
    creator[0] = '\0';
    return hex != NULL && ent_api_obj_id_parse(hex, id) == ENT_OK &&
           object_state(n, id, st, creator) == ENT_OK;
}

/* Whether the principal may read field (NULL: the object itself) of the
 * object whose state and creator row_object gave. */
static bool may_read(const ent_api_guard *g, const ent_principal *p,
                     const json_t *st, const char *creator,
                     const char *field) {
    ent_decision d;
    return decide(g, p, ENT_ACT_READ,
                  json_string_value(json_object_get(st, "type")), field, st,
                  creator[0] ? creator : NULL, &d);
}

/* Whether the principal may read every object a deal registration's
 * conflicts name (spec/workflows.md §9.3), with the fields they show. */

static bool conflicts_readable(ent_node *n, const ent_api_guard *g,
                               const ent_principal *p, const json_t *reg) {
    static const char *const used[] = {NULL,       "customer_account",
                                       "account_domain", "name",
                                       "solution", "stage", "expires"};
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(reg, "conflicts"), i, c) {
        json_t *st;
        char creator[ENT_POLICY_VALUE_MAX + 1];
        bool ok = row_object(n, c, &st, creator);
        for (size_t f = 0; ok && f < sizeof(used) / sizeof(used[0]); f++)
            ok = may_read(g, p, st, creator, used[f]);
        json_decref(st);
        if (!ok)
            return false;
    }
    return true;
}

/*
 * GET /v1/inbox: every row names an object ("object"); a row of an object
 * the principal may not read is left out, and so is a registration row
 * one of whose fields or conflicts it may not read; in the rows left, an
 * approval's stage and a claim's values from a field it may not read are
 * null.
 */
static void filter_inbox(ent_node *n, const ent_api_guard *g,
                         const ent_principal *p, json_t *body) {
    static const char *const lists[] = {"approvals", "claims", "registrations",
                                        "invites"};
    /* row key -> field, per list (NULL-terminated) */
    static const char *const cols[][5][2] = {
        {{"stage", "stage"}, {NULL, NULL}},
        {{"name", "name"},
         {"claimed", "amount_claimed"},
         {"approved", "amount_approved"},
         {"proof_of_performance", "proof_of_performance"},
         {NULL, NULL}},
        {{NULL, NULL}},
        {{NULL, NULL}}};
    static const char *const reg_fields[] = {
        "name", "customer_account", "account_domain", "solution", "amount",
        "close_date", "program", "stage"};
    for (size_t l = 0; l < 4; l++) {
        json_t *arr = json_object_get(body, lists[l]);
        size_t i = 0;
        while (json_is_array(arr) && i < json_array_size(arr)) {
            json_t *row = json_array_get(arr, i);
            json_t *st;
            char creator[ENT_POLICY_VALUE_MAX + 1];
            bool keep = row_object(n, row, &st, creator) &&
                        may_read(g, p, st, creator, NULL);
            for (size_t f = 0; keep && l == 2 &&
                               f < sizeof(reg_fields) / sizeof(reg_fields[0]);
                 f++)
                keep = may_read(g, p, st, creator, reg_fields[f]);
            if (keep && l == 2)
                keep = conflicts_readable(n, g, p, row);
            for (size_t c = 0; keep && cols[l][c][0] != NULL; c++)
                if (!may_read(g, p, st, creator, cols[l][c][1]))
                    json_object_set_new(row, cols[l][c][0], json_null());
            json_decref(st);
            if (keep)
                i++;
            else
                json_array_remove(arr, i);
        }
    }
}

/* Leaves out of GET /v1/status's "syncs" every entry of an object the
 * principal may not read, or that this node does not hold (yet): no state
 * to decide on. */
static void filter_syncs(ent_node *n, const ent_api_guard *g,
                         const ent_principal *p, json_t *body) {
    json_t *arr = json_object_get(body, "syncs");
    size_t i = 0;
    while (json_is_array(arr) && i < json_array_size(arr)) {
        json_t *row = json_array_get(arr, i);
        json_t *st;
        char creator[ENT_POLICY_VALUE_MAX + 1];
        bool keep = row_object(n, row, &st, creator) &&
                    may_read(g, p, st, creator, NULL);
        json_decref(st);
        if (keep)
            i++;
        else
            json_array_remove(arr, i);
    }
}

/* The names of the fields a list row's title and date come from. */
struct tpl_ctx {
    const char *type;
    char title[ENT_TPL_NAME_MAX + 1], date[ENT_TPL_NAME_MAX + 1];
};

static int tpl_fn(ent_txn *txn, void *data) {
    struct tpl_ctx *c = data;
    ent_template *t = NULL;
    c->title[0] = c->date[0] = '\0';
    int rc = ent_template_get(txn, c->type, &t);
    if (rc != ENT_OK)
        return rc == ENT_ENOENT ? ENT_OK : rc;
    for (size_t i = 0; i < t->nfields; i++) {
        if (t->fields[i].type == ENT_VT_TEXT && c->title[0] == '\0')
            strcpy(c->title, t->fields[i].name);
        if (t->fields[i].type == ENT_VT_DATE && c->date[0] == '\0')
            strcpy(c->date, t->fields[i].name);
    }
    ent_template_free(t);
    return ENT_OK;
}

static int row_id_cmp(const void *a, const void *b) {
    const char *x = json_string_value(json_object_get(*(json_t *const *)a,
                                                      "id"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b,
                                                      "id"));
    return strcmp(x != NULL ? x : "", y != NULL ? y : "");
}

/* Puts the rows of tail among the rows at the end of arr whose column col
 * is null (the engine's rows without the key), all of them in id order. */
static void sort_tail(json_t *arr, json_t *tail, const char *col) {
    size_t z = json_array_size(arr), nt = json_array_size(tail), nn;
    while (z > 0 && json_is_null(json_object_get(json_array_get(arr, z - 1),
                                                 col)))
        z--;
    nn = json_array_size(arr) - z + nt;
    json_t **v = calloc(nn, sizeof(*v));
    if (v == NULL) { /* the rows at the end, in the engine's order */
        json_array_extend(arr, tail);
        return;
    }
    size_t k = 0;
    for (size_t i = z; i < json_array_size(arr); i++)
        v[k++] = json_incref(json_array_get(arr, i));
    for (size_t i = 0; i < nt; i++)
        v[k++] = json_incref(json_array_get(tail, i));
    qsort(v, nn, sizeof(*v), row_id_cmp);
    while (json_array_size(arr) > z)
        json_array_remove(arr, z);
    for (size_t i = 0; i < nn; i++)
        json_array_append_new(arr, v[i]);
    free(v);
}

/* GET /v1/objects: rows of objects the principal may not read are left
 * out; a title, stage or date from a field it may not read is null. */
static void filter_list(ent_node *n, const ent_api_guard *g,
                        const ent_principal *p, json_t *arr) {
    size_t i = 0;
    /* the title and date fields of the last row's type (a list is mostly
     * of one type: its template is read once, not per row) */
    char last_type[ENT_TPL_NAME_MAX + 1] = "";
    struct tpl_ctx t = {NULL, "", ""};
    bool have_tpl = false;
    /* sorted by a field: a row whose key the caller may not read sorts as
     * a row without the key (last, in id order), so that its place tells
     * nothing of the value; such rows wait in tail */
    bool part = g->sort_col[0] != '\0';
    json_t *tail = part ? json_array() : NULL;
    /* once limit rows are kept the rest is cut without deciding it: a page
     * of a long list costs its rows' decisions, not the list's (not when
     * rows may move to the end) */
    while (i < json_array_size(arr) &&
           (part || g->limit == 0 || i < g->limit)) {
        json_t *row = json_array_get(arr, i);
        const char *hex = json_string_value(json_object_get(row, "id"));
        uint8_t id[32];
        json_t *state = NULL;
        char creator[ENT_POLICY_VALUE_MAX + 1];
        ent_decision d;
        if (hex == NULL || ent_api_obj_id_parse(hex, id) != ENT_OK ||
            object_state(n, id, &state, creator) != ENT_OK) {
            json_array_remove(arr, i);
            continue;
        }
        const char *cr = creator[0] ? creator : NULL;
        const char *type = json_string_value(json_object_get(row, "type"));
        /* a stage filter the caller may not read the stage for would
         * tell the stage: such a row is left out */
        if (!decide(g, p, ENT_ACT_READ, type, NULL, state, cr, &d) ||
            (g->stage_filter &&
             !decide(g, p, ENT_ACT_READ, type, "stage", state, cr, &d))) {
            json_decref(state);
            json_array_remove(arr, i);
            continue;
        }
        if (type == NULL || strlen(type) >= sizeof(last_type)) {
            t.title[0] = t.date[0] = '\0';
            have_tpl = false;
        } else if (!have_tpl || strcmp(type, last_type) != 0) {
            t.type = type;
            if (ent_store_read(ent_node_store(n), tpl_fn, &t) != ENT_OK)
                t.title[0] = t.date[0] = '\0';
            strcpy(last_type, type);
            have_tpl = true;
        }
        const char *cols[][2] = {
            {"title", t.title}, {"date", t.date}, {"stage", "stage"}};
        bool moved = false;
        for (size_t c = 0; c < 3; c++) {
            if (cols[c][1][0] == '\0') {
                if (c < 2) /* no template: the engine shows null anyway */
                    json_object_set_new(row, cols[c][0], json_null());
                continue;
            }
            if (!decide(g, p, ENT_ACT_READ, type, cols[c][1], state, cr, &d)) {
                moved |= part && !json_is_null(json_object_get(row,
                                                               cols[c][0])) &&
                         strcmp(cols[c][0], g->sort_col) == 0;
                json_object_set_new(row, cols[c][0], json_null());
            }
        }
        json_decref(state);
        if (moved && tail != NULL && json_array_append(tail, row) == 0) {
            json_array_remove(arr, i);
            continue;
        }
        i++;
    }
    if (tail != NULL && json_array_size(tail) > 0)
        sort_tail(arr, tail, g->sort_col);
    json_decref(tail);
    if (g->limit > 0)
        while (json_array_size(arr) > g->limit)
            json_array_remove(arr, json_array_size(arr) - 1);
}

/* GET /v1/log: every entry gets "user" (who made the op, local only) and
 * "user_removed" (that user has been removed since); a user does not see
 * the entries of objects it may not read. */
struct log_ctx {
    json_t *entries;
    const ent_principal *p;
};

static int log_users_fn(ent_txn *txn, void *data) {
    json_t *entries = data;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        const char *op = json_string_value(json_object_get(e, "op"));
        uint8_t id[32];
        char user[ENT_POLICY_VALUE_MAX + 1];
        bool removed = false;
        json_t *u = json_null();
        if (op != NULL && ent_api_obj_id_parse(op, id) == ENT_OK &&
            ent_access_op_user(txn, id, user, &removed) == ENT_OK)
            u = json_string(user);
        json_object_set_new(e, "user", u);
        json_object_set_new(e, "user_removed", json_boolean(removed));
    }
    return ENT_OK;
}

static void filter_log(ent_node *n, const ent_api_guard *g,
                       const ent_principal *p, json_t *body) {
    json_t *entries = json_object_get(body, "entries");
    if (!json_is_array(entries))
        return;
    ent_store_read(ent_node_store(n), log_users_fn, entries);
    if (p->kind == ENT_PRINCIPAL_OPERATOR)
        return;
    json_t *seen = json_object(); /* object hex -> true/false */
    size_t i = 0;
    while (seen != NULL && i < json_array_size(entries)) {
        json_t *e = json_array_get(entries, i);
        const char *hex = json_string_value(json_object_get(e, "object"));
        if (hex == NULL) {
            i++;
            continue;
        }
        json_t *known = json_object_get(seen, hex);
        if (known == NULL) {
            uint8_t id[32];
            json_t *state = NULL;
            char creator[ENT_POLICY_VALUE_MAX + 1];
            ent_decision d = {false, ENT_WHY_DEFAULT, 0};
            if (ent_api_obj_id_parse(hex, id) == ENT_OK &&
                object_state(n, id, &state, creator) == ENT_OK)
                decide(g, p, ENT_ACT_READ,
                       json_string_value(json_object_get(state, "type")), NULL,
                       state, creator[0] ? creator : NULL, &d);
            json_decref(state);
            known = json_boolean(d.allow);
            json_object_set_new(seen, hex, known);
        }
        if (json_is_true(known))
            i++;
        else
            json_array_remove(entries, i);
    }
    json_decref(seen);
}

/* Notes the user of each op the request added to the log and the creator
 * of an object it created, in one transaction. */
struct note_ctx {
    const ent_principal *p;
    uint64_t from;
    const uint8_t *created; /* NULL: none */
};

struct note_txn {
    struct note_ctx *c;
    ent_txn *txn;
};

static int note_write(void *data, const ent_actlog_entry *e, const uint8_t *raw,
                      size_t len) {
    struct note_txn *t = data;
    (void)raw;
    (void)len;
    if (!e->has_op || e->kind != ENT_LOG_OP_AUTHORED)
        return 0;
    return ent_access_note_op(t->txn, e->op, t->c->p->user, t->c->p->uid);
}

static int note_fn(ent_txn *txn, void *data) {
    struct note_ctx *c = data;
    struct note_txn t = {c, txn};
    int rc = ent_actlog_foreach(txn, c->from, note_write, &t);
    if (rc == ENT_OK && c->created != NULL)
        rc = ent_access_note_creator(txn, c->created, c->p->user, c->p->uid);
    return rc;
}

static int size_fn(ent_txn *txn, void *data) {
    uint8_t root[ENT_MERKLE_HASH_LEN];
    return ent_actlog_root(txn, data, root);
}

int ent_api_access_begin(ent_node *n, ent_http_request *req, ent_principal *p,
                         ent_api_guard *g, ent_http_response *resp) {
    int rc = begin(n, req, p, g, resp);
    /* the log's size before a user's write: end() attributes the ops the
     * handler appends after it */
    if (rc == ENT_OK && p->kind == ENT_PRINCIPAL_USER &&
        (g->kind == G_CREATE || g->kind == G_OBJECT || g->kind == G_PLAIN) &&
        ent_store_read(ent_node_store(n), size_fn, &g->log_size) != ENT_OK)
        g->log_size = UINT64_MAX;
    return rc;
}

void ent_api_access_end(ent_node *n, const ent_http_request *req,
                        const ent_principal *p, ent_api_guard *g,
                        ent_http_response *resp) {
    if (p->kind == ENT_PRINCIPAL_USER && resp->status >= 200 &&
        resp->status < 300 && g->log_size != UINT64_MAX &&
        (g->kind == G_CREATE || g->kind == G_OBJECT || g->kind == G_PLAIN)) {
        uint8_t created[32];
        const char *hex = json_string_value(json_object_get(resp->body, "id"));
        struct note_ctx c = {p, g->log_size, NULL};
        /* a create, or a lead's conversion (201 with the new object) */
        bool made = g->kind == G_CREATE ||
                    (g->kind == G_OBJECT && resp->status == 201 &&
                     strcmp(req->method, "POST") == 0 &&
                     strlen(req->path) > 8 &&
                     strcmp(req->path + strlen(req->path) - 8, "/convert") ==
                         0);
        if (made && hex != NULL &&
            ent_api_obj_id_parse(hex, created) == ENT_OK)
            c.created = created;
        int rc = ent_store_write(ent_node_store(n), note_fn, &c);
        if (rc != ENT_OK)
            ENT_WARN(ent_node_log(n), "access: noting the user of a change: %s",
                     ent_strerror(rc));
    }
    if (resp->status == 200 && resp->body != NULL) {
        if (g->kind == G_SHOW) {
            uint8_t id[32];
            const char *rest;
            json_t *state = g->state;
            char creator[ENT_POLICY_VALUE_MAX + 1];
            strcpy(creator, g->creator);
            if (state != NULL)
                json_incref(state);
            else if (!object_path(req->path, id, &rest) ||
                     object_state(n, id, &state, creator) != ENT_OK)
                state = NULL;
            if (state != NULL)
                filter_fields(n, g, p, resp->body, state,
                              creator[0] ? creator : NULL);
            else
                ent_http_response_error(resp, 500, ENT_EDENIED,
                                        "the object changed while shown");
            /* a budget's use adds up its requests: shown only when each
             * of them is the caller's to read (spec/workflows.md §8) */
            struct use_ctx uc = {
                g, p, json_string_value(json_object_get(resp->body, "id")),
                NULL, false};
            if (state != NULL && p->kind == ENT_PRINCIPAL_USER &&
                json_object_get(resp->body, "budget_use") != NULL &&
                (uc.budget == NULL ||
                 ent_store_read(ent_node_store(n), use_fn, &uc) != ENT_OK ||
                 uc.hidden))
                json_object_del(resp->body, "budget_use");
            /* a registration's conflicts name other objects: shown only
             * when each of them is the caller's to read */
            const json_t *reg = json_object_get(resp->body, "registration");
            if (state != NULL && p->kind == ENT_PRINCIPAL_USER &&
                reg != NULL && !conflicts_readable(n, g, p, reg))
                json_object_del(resp->body, "registration");
            json_decref(state);
        } else if (g->kind == G_RULES && g->state != NULL &&
                   json_is_object(resp->body)) {
            /* the stage, and the steps that wait on it, for a caller who
             * may read the field stage only */
            ent_decision d;
            if (!decide(g, p, ENT_ACT_READ,
                        json_string_value(json_object_get(g->state, "type")),
                        "stage", g->state, g->creator[0] ? g->creator : NULL,
                        &d)) {
                json_object_set_new(resp->body, "stage", json_null());
                json_object_set_new(resp->body, "waiting", json_array());
            }
        } else if (g->kind == G_INBOX && json_is_object(resp->body) &&
                   p->kind == ENT_PRINCIPAL_USER) {
            filter_inbox(n, g, p, resp->body);
        } else if (g->kind == G_STATUS && json_is_object(resp->body) &&
                   p->kind == ENT_PRINCIPAL_USER) {
            filter_syncs(n, g, p, resp->body);
        } else if (g->kind == G_LIST && json_is_array(resp->body)) {
            filter_list(n, g, p, resp->body);
        } else if (g->kind == G_LOG) {
            filter_log(n, g, p, resp->body);
        }
    }
    free(g->rules);
    free(g->query);
    json_decref(g->state);
    memset(g, 0, sizeof(*g));
}
