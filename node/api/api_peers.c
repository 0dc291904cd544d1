/*
 * api_peers.c - the network endpoints of the local API (spec/api.md
 * "Partners"): invites, joins, member removal, peers. Routes are listed in
 * builtin_routes in node/api/api.c; the work is done by node/peers/peer_join.c.
 */
#include "node/api/api_peers.h"
#include "node/objects/object.h"
#include "node/api/route.h"
#include "node/api/api_objects.h"
#include "node/err.h"
#include "node/peers/invite.h"
#include "node/peers/peer.h"
#include "protocol/op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JOINS_PREFIX "/v1/joins/"

/* The id and member org of "/v1/objects/{id}/members/{org}[/...]"
 * (answered 400, field "id" or "org", when malformed). */
static int member_path(const ent_http_request *req, uint8_t id[32],
                       uint8_t org[ENT_PK_LEN], ent_http_response *resp) {
    const char *rest, *pre = "/members/";
    char s[ENT_ORG_ID_LEN + 1];
    int rc = ent_api_obj_path(req, id, &rest, resp);
    if (rc != ENT_OK)
        return rc;
    if (strncmp(rest, pre, strlen(pre)) != 0)
        return ent_http_response_error(resp, 404, ENT_ENOENT,
                                       "no such endpoint");
    rest += strlen(pre);
    size_t l = strcspn(rest, "/");
    if (l != ENT_ORG_ID_LEN)
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "org",
                                             "invalid org id (want %d "
                                             "lowercase base32 characters)",
                                             ENT_ORG_ID_LEN);
    memcpy(s, rest, l);
    s[l] = '\0';
    if (ent_org_id_parse(org, s) != ENT_OK)
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "org",
                                             "invalid org id (want %d "
                                             "lowercase base32 characters)",
                                             ENT_ORG_ID_LEN);
    return ENT_OK;
}

static int parse_role(const char *s, uint8_t *role) {
    if (strcmp(s, "member") == 0)
        *role = ENT_ROLE_MEMBER;
    else if (strcmp(s, "admin") == 0)
        *role = ENT_ROLE_ADMIN;
    else if (strcmp(s, "viewer") == 0)
        *role = ENT_ROLE_VIEWER;
    else
        return ENT_EINVAL;
    return ENT_OK;
}

static int invite(ent_node *n, const uint8_t id[32],
                  const ent_http_request *req, ent_http_response *resp) {
    json_t *body = NULL;
    uint8_t role = ENT_ROLE_MEMBER;
    uint64_t ttl = ENT_INVITE_DEFAULT_TTL;
    char *token = NULL, iid[33];
    uint64_t expiry = 0;
    int rc = ENT_OK;
    if (req->body_len > 0) {
        if ((rc = ent_api_body_object(req, resp, &body)) != ENT_OK)
            return rc;
        const char *k;
        json_t *v;
        json_object_foreach(body, k, v) {
            if (strcmp(k, "role") == 0) {
                if (!json_is_string(v) ||
                    parse_role(json_string_value(v), &role) != ENT_OK) {
                    rc = ent_http_response_error_field(
                        resp, 400, ENT_EINVAL, "role",
                        "\"role\" must be member, admin or viewer");
                    goto out;
                }
            } else if (strcmp(k, "ttl") == 0) {
                int d = ENT_EINVAL;
                if (json_is_string(v)) {
                    d = ent_duration_parse(json_string_value(v), &ttl);
                } else if (json_is_integer(v) && json_integer_value(v) > 0) {
                    char num[32];
                    snprintf(num, sizeof(num), "%lld",
                             (long long)json_integer_value(v));
                    d = ent_duration_parse(num, &ttl);
                }
                if (d != ENT_OK) {
                    rc = ent_http_response_error_field(
                        resp, 400, ENT_EINVAL, "ttl",
                        "\"ttl\" must be a duration like 90s, 15m, 2h or 7d "
                        "(1 second to 90 days)");
                    goto out;
                }
            } else {
                rc = ent_http_response_error_field(
                    resp, 400, ENT_EINVAL, k, "unknown key \"%.64s\" in body",
                    k);
                goto out;
            }
        }
    }
    rc = ent_peers_invite(ent_node_peers(n), id, role, ttl, &token, &expiry,
                          iid);
    if (rc == ENT_ENOENT) {
        rc = ent_http_response_error(resp, 404, rc, "no such object");
        goto out;
    }
    if (rc == ENT_EDENIED) {
        rc = ent_http_response_error(
            resp, 403, rc, "only an active owner or admin may invite");
        goto out;
    }
    if (rc != ENT_OK)
        goto out;
    json_t *o = json_pack("{s:s,s:o,s:s}", "token", token, "expires",
                          ent_api_time_json(expiry * 1000), "invite_id", iid);
    if (o == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    ent_http_response_json(resp, 201, o);
out:
    if (token != NULL) {
        ent_wipe(token, strlen(token));
        free(token);
    }
    json_decref(body);
    return rc;
}

static int remove_member(ent_node *n, const uint8_t id[32],
                         const uint8_t org[ENT_PK_LEN],
                         ent_http_response *resp) {
    int rc = ent_peers_remove_member(ent_node_peers(n), id, org);
    switch (rc) {
    case ENT_OK:
        break;
    case ENT_ENOENT:
        return ent_http_response_error(resp, 404, rc, "no such object");
    case ENT_ENOTMEMBER:
        return ent_http_response_error(resp, 404, rc,
                                       "that org is not an active member");
    case ENT_EDENIED:
        return ent_http_response_error(
            resp, 403, rc,
            "only an active owner or admin may remove members, never the "
            "owner");
    default:
        return rc;
    }
    char hex[65], o[ENT_ORG_ID_LEN + 1];
    ent_hex_encode(hex, id, 32);
    ent_org_id_format(o, org);
    json_t *body = json_pack("{s:s,s:s}", "id", hex, "removed", o);
    if (body == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, body);
    return ENT_OK;
}

/* POST /v1/objects/ID/members/ORG/role {"role"}: another role for an
 * active member. */
static int member_role(ent_node *n, const uint8_t id[32],
                       const uint8_t org[ENT_PK_LEN],
                       const ent_http_request *req, ent_http_response *resp) {
    json_t *body = NULL;
    uint8_t role = 0;
    int rc = ent_api_body_object(req, resp, &body);
    if (rc != ENT_OK)
        return rc;
    const json_t *r = json_object_get(body, "role");
    if (json_object_size(body) != 1 || !json_is_string(r) ||
        parse_role(json_string_value(r), &role) != ENT_OK) {
        rc = ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "role",
            "body must be {\"role\":\"admin|member|"
            "viewer\"}");
        goto out;
    }
    rc = ent_peers_set_role(ent_node_peers(n), id, org, role);
    switch (rc) {
    case ENT_OK:
        break;
    case ENT_ENOENT:
        rc = ent_http_response_error(resp, 404, rc, "no such object");
        goto out;
    case ENT_ENOTMEMBER:
        rc = ent_http_response_error(resp, 404, rc,
                                     "that org is not an active member (a new "
                                     "member comes with an invite)");
        goto out;
    case ENT_EEXIST:
        rc = ent_http_response_error(resp, 409, rc,
                                     "that org already has role %s",
                                     json_string_value(r));
        goto out;
    case ENT_EINVAL:
        rc = ent_http_response_error(resp, 403, ENT_EDENIED,
                                     "the owner's role never changes");
        goto out;
    case ENT_EDENIED:
        rc = ent_http_response_error(
            resp, 403, rc,
            "only an active owner or admin may change roles, and an admin "
            "only of admins appointed after it");
        goto out;
    default:
        goto out;
    }
    char hex[65], o[ENT_ORG_ID_LEN + 1];
    ent_hex_encode(hex, id, 32);
    ent_org_id_format(o, org);
    json_t *ans = json_pack("{s:s,s:s,s:s}", "id", hex, "org", o, "role",
                            json_string_value(r));
    if (ans == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    ent_http_response_json(resp, 200, ans);
out:
    json_decref(body);
    return rc;
}

/* POST /v1/objects/ID/leave: this org leaves the object. */
static int leave(ent_node *n, const uint8_t id[32], ent_http_response *resp) {
    int rc = ent_peers_leave(ent_node_peers(n), id);
    switch (rc) {
    case ENT_OK:
        break;
    case ENT_ENOENT:
        return ent_http_response_error(resp, 404, rc, "no such object");
    case ENT_ENOTMEMBER:
        return ent_http_response_error(resp, 409, rc,
                                       "this org is not an active member "
                                       "any more");
    case ENT_EDENIED:
        return ent_http_response_error(resp, 403, rc,
                                       "the owner cannot leave its object");
    default:
        return rc;
    }
    char hex[65];
    ent_hex_encode(hex, id, 32);
    json_t *ans = json_pack("{s:s,s:b}", "id", hex, "left", 1);
    if (ans == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, ans);
    return ENT_OK;
}

int ent_api_object_invite(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp) {
    uint8_t id[32];
    const char *rest;
    int rc = ent_api_obj_path(req, id, &rest, resp);
    return rc != ENT_OK ? rc : invite(n, id, req, resp);
}

int ent_api_object_leave(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp) {
    uint8_t id[32];
    const char *rest;
    int rc = ent_api_obj_path(req, id, &rest, resp);
    return rc != ENT_OK ? rc : leave(n, id, resp);
}

int ent_api_member_remove(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp) {
    uint8_t id[32], org[ENT_PK_LEN];
    int rc = member_path(req, id, org, resp);
    return rc != ENT_OK ? rc : remove_member(n, id, org, resp);
}

int ent_api_member_role(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp) {
    uint8_t id[32], org[ENT_PK_LEN];
    int rc = member_path(req, id, org, resp);
    return rc != ENT_OK ? rc : member_role(n, id, org, req, resp);
}

/* The times of an invites row (Unix seconds from the peer layer) as the
 * API's RFC 3339 values; used_at 0 is null. */
static int invite_row_values(json_t *row) {
    static const char *const keys[] = {"created", "expires", "used_at"};
    for (size_t i = 0; i < 3; i++) {
        json_int_t v = json_integer_value(json_object_get(row, keys[i]));
        if (json_object_set_new(
                row, keys[i],
                ent_api_time_json(v > 0 ? (uint64_t)v * 1000 : 0)) != 0)
            return ENT_ENOMEM;
    }
    return ENT_OK;
}

int ent_api_invites_list(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp) {
    static const char *const params[] = {"object", NULL};
    uint8_t obj[32];
    ent_api_query q;
    bool filter = false;
    json_t *arr = NULL, *row;
    size_t i;
    int rc = ent_api_query_parse(req, params, &q, resp);
    if (rc != ENT_OK)
        return rc;
    const char *id = ent_api_query_get(&q, "object"); /* percent-decoded */
    if (id != NULL) {
        if (ent_api_obj_id_parse(id, obj) != ENT_OK)
            return ent_http_response_error_field(
                resp, 400, ENT_EINVAL, "object",
                "\"object\": 64 lowercase hex");
        filter = true;
    }
    rc = ent_peers_invites_json(ent_node_peers(n), filter ? obj : NULL, &arr);
    if (rc != ENT_OK)
        return rc;
    json_array_foreach(arr, i, row) {
        if ((rc = invite_row_values(row)) != ENT_OK) {
            json_decref(arr);
            return rc;
        }
    }
    ent_http_response_json(resp, 200, arr);
    return ENT_OK;
}

int ent_api_inbox(ent_node *n, const ent_http_request *req,
                  ent_http_response *resp) {
    json_t *appr = NULL, *inv = NULL, *pending = NULL, *o = NULL, *row,
           *claims = NULL, *regs = NULL;
    size_t i;
    int rc;
    if (req->query != NULL && req->query[0] != '\0')
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "no query parameters are accepted here");
    if ((rc = ent_obj_inbox_json(ent_node_objects(n), &appr)) != ENT_OK ||
        (rc = ent_obj_claims_json(ent_node_objects(n), &claims)) != ENT_OK ||
        (rc = ent_obj_registrations_json(ent_node_objects(n), &regs)) != ENT_OK)
        goto out;
    if (ent_node_peers(n) != NULL &&
        (rc = ent_peers_invites_json(ent_node_peers(n), NULL, &inv)) != ENT_OK)
        goto out;
    rc = ENT_ENOMEM;
    if ((pending = json_array()) == NULL)
        goto out;
    json_array_foreach(inv, i, row) {
        const char *st = json_string_value(json_object_get(row, "status"));
        if (st == NULL || strcmp(st, "pending") != 0)
            continue;
        if (invite_row_values(row) != ENT_OK ||
            json_array_append(pending, row) != 0)
            goto out;
    }
    o = json_pack("{s:O, s:O, s:O, s:O}", "approvals", appr, "invites", pending,
                  "claims", claims, "registrations", regs);
    if (o == NULL)
        goto out;
    ent_http_response_json(resp, 200, o);
    rc = ENT_OK;
out:
    json_decref(appr);
    json_decref(inv);
    json_decref(pending);
    json_decref(claims);
    json_decref(regs);
    return rc;
}

int ent_api_invite_delete(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp) {
    const char *s = req->path + strlen("/v1/invites/");
    uint8_t id[16];
    bool ok = strlen(s) == 32;
    for (size_t i = 0; ok && i < 32; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
    if (!ok || ent_hex_decode(id, sizeof(id), s) != ENT_OK)
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "invite_id",
                                             "an invite id is 32 lowercase "
                                             "hex characters");
    int rc = ent_peers_invite_revoke(ent_node_peers(n), id);
    if (rc == ENT_ENOENT)
        return ent_http_response_error(resp, 404, rc, "no such invite");
    if (rc == ENT_EUSED)
        return ent_http_response_error(resp, 409, rc,
                                       "the invite was already used; it is "
                                       "kept as history");
    if (rc != ENT_OK)
        return rc;
    json_t *ans = json_pack("{s:s,s:b}", "invite_id", s, "revoked", 1);
    if (ans == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, ans);
    return ENT_OK;
}

/* The body {"token":"ent1..."} of a join or its preview: *body (the
 * caller json_decref()s it, also on error) and its token *t; 400 (the
 * response set) for any other body. */
static int token_body(const ent_http_request *req, ent_http_response *resp,
                      json_t **body, const json_t **t) {
    int rc = ent_api_body_object(req, resp, body);
    if (rc != ENT_OK)
        return rc;
    *t = json_object_get(*body, "token");
    if (!json_is_string(*t) || json_object_size(*body) != 1)
        return ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "token",
            "body must be {\"token\":\"ent1...\"}");
    return ENT_OK;
}

int ent_api_join(ent_node *n, const ent_http_request *req,
                 ent_http_response *resp) {
    json_t *body = NULL;
    const json_t *t;
    char err[256] = "";
    uint64_t jid = 0;
    int rc = token_body(req, resp, &body, &t);
    if (rc != ENT_OK)
        goto out;
    rc = ent_peers_join(ent_node_peers(n), json_string_value(t),
                        json_string_length(t), &jid, err, sizeof(err));
    if (rc != ENT_OK) {
        int st = rc == ENT_EEXIST                        ? 409
                 : rc == ENT_ELIMIT || rc == ENT_ECLOSED ? 503
                                                         : 400;
        rc = ent_http_response_error(resp, st, rc, "%s", err);
        goto out;
    }
    json_t *o = json_pack("{s:I}", "join", (json_int_t)jid);
    if (o == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    ent_http_response_json(resp, 202, o);
out:
    json_decref(body);
    return rc;
}

int ent_api_join_preview(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp) {
    json_t *body = NULL;
    const json_t *t;
    ent_invite inv;
    (void)n;
    int rc = token_body(req, resp, &body, &t);
    if (rc != ENT_OK)
        goto out;
    rc = ent_invite_token_parse(json_string_value(t), json_string_length(t),
                                &inv);
    if (rc != ENT_OK) {
        rc = ent_http_response_error_field(resp, 400, rc, "token", "%s",
                                           ent_invite_parse_error(rc));
        goto out;
    }
    json_t *o = ent_invite_describe(&inv, (uint64_t)time(NULL));
    ent_invite_clear(&inv);
    if (o == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    ent_http_response_json(resp, 200, o);
out:
    json_decref(body);
    return rc;
}

int ent_api_join_get(ent_node *n, const ent_http_request *req,
                     ent_http_response *resp) {
    const char *s = req->path + strlen(JOINS_PREFIX);
    char *end = NULL;
    if (*s < '1' || *s > '9' || strlen(s) > 19)
        return ent_http_response_error(resp, 404, ENT_ENOENT, "no such join");
    unsigned long long id = strtoull(s, &end, 10);
    if (*end != '\0')
        return ent_http_response_error(resp, 404, ENT_ENOENT, "no such join");
    json_t *o = NULL;
    int rc = ent_peers_join_json(ent_node_peers(n), id, &o);
    if (rc == ENT_ENOENT)
        return ent_http_response_error(resp, 404, rc, "no such join");
    if (rc != ENT_OK)
        return rc;
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}

/*
 * The peer layer reports last contact in Unix seconds (0: never) and an
 * unknown name as ""; the API's values are RFC 3339 and null (spec/api.md
 * "Values"), so each row is brought to them here.
 */
static int peer_row_values(json_t *row) {
    json_t *ls = json_object_get(row, "last_seen");
    const char *name = json_string_value(json_object_get(row, "name"));
    uint64_t secs = json_is_integer(ls) && json_integer_value(ls) > 0
                        ? (uint64_t)json_integer_value(ls)
                        : 0;
    if (json_object_set_new(row, "last_seen", ent_api_time_json(secs * 1000)) !=
        0)
        return ENT_ENOMEM;
    if ((name == NULL || name[0] == '\0') &&
        json_object_set_new(row, "name", json_null()) != 0)
        return ENT_ENOMEM;
    return ENT_OK;
}

int ent_api_peers_list(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp) {
    json_t *o = NULL, *row;
    size_t i;
    int rc = ent_peers_list_json(ent_node_peers(n), &o);
    if (rc != ENT_OK)
        return rc;
    json_array_foreach(o, i, row) {
        if ((rc = peer_row_values(row)) != ENT_OK) {
            json_decref(o);
            return rc;
        }
    }
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}
