/*
 * api_peers.h - the partner endpoints of the local API (spec/api.md
 * "Partners"): invites, joins, member removal and the peers list. Handlers
 * follow the ent_api_handler contract (node/api/api.h); routes are listed in
 * builtin_routes in node/api/api.c.
 */
#ifndef ENT_API_PEERS_H
#define ENT_API_PEERS_H

#include "node/api/route.h"

/* POST /v1/objects/ID/invites {"role","ttl"} -> 201 {"token","expires",
 * "invite_id"} */
int ent_api_object_invite(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp);
/* POST /v1/objects/ID/leave -> 200 {"id","left":true} */
int ent_api_object_leave(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp);
/* DELETE /v1/objects/ID/members/ORG and POST /v1/objects/ID/members/ORG/
 * remove -> 200 {"id","removed"} */
int ent_api_member_remove(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp);
/* POST /v1/objects/ID/members/ORG/role {"role"} -> 200 {"id","org","role"} */
int ent_api_member_role(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp);
/* POST /v1/join/preview {"token"}: what the token holds (200,
 * ent_invite_describe), or 400 naming what is wrong with it. Reads no
 * state and joins nothing. */
int ent_api_join_preview(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp);
/* POST /v1/join {"token"} -> 202 {"join"} (400 with the reason for a bad,
 * mistyped or expired token) */
int ent_api_join(ent_node *n, const ent_http_request *req,
                 ent_http_response *resp);
/* GET /v1/joins/ID -> {"join","state","object","ops","expected","error",
 * "inviter","safety"} */
int ent_api_join_get(ent_node *n, const ent_http_request *req,
                     ent_http_response *resp);
/* GET /v1/peers -> [{"org","name","addrs","connected","safety",
 * "last_seen"}] */
int ent_api_peers_list(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp);

/* GET /v1/invites[?object=ID] -> [{"invite_id","object","role","created",
 * "expires","status","used_by","used_at"}]; DELETE /v1/invites/ID revokes
 * an unused invite -> {"invite_id","revoked":true} (spec/api.md). */
int ent_api_invites_list(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp);
int ent_api_invite_delete(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp);

/* GET /v1/inbox: what waits on this org (spec/workflows.md §5): the
 * approval steps it may give, its pending invites, claims to review. */
int ent_api_inbox(ent_node *n, const ent_http_request *req,
                  ent_http_response *resp);

#endif
