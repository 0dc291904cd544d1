/*
 * api_overlap.h - the account-mapping endpoints of the local API
 * (spec/api.md "Account mapping", spec/overlap.md). Handlers follow the
 * ent_api_handler contract; routes are in builtin_routes (node/api/api.c).
 */
#ifndef ENT_API_OVERLAP_H
#define ENT_API_OVERLAP_H

#include "node/api/route.h"

#define ENT_API_ACCOUNTS_ADD_MAX 5000   /* accounts in one POST */
#define ENT_API_ACCOUNTS_LIST_MAX 1000  /* accounts in one GET */

/* GET /v1/accounts -> {"count","accounts":[first 1000 by key]} */
int ent_api_accounts_list(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp);
/* POST /v1/accounts {"accounts":[{...}]} -> 200 {"stored"}; all or none */
int ent_api_accounts_add(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp);
/* GET /v1/partners -> [{"org","name","state","side","since","connected",
 * "share"}] */
int ent_api_partners_list(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp);
/* POST /v1/partners/invites {"ttl"?} -> 201 {"token","expires",
 * "invite_id"} */
int ent_api_partner_invite(ent_node *n, const ent_http_request *req,
                           ent_http_response *resp);
/* PUT /v1/partners/ORG/share {"level","population","flags"} -> 200 the
 * overlap view (as GET .../overlap) */
int ent_api_partner_share(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp);
/* POST /v1/partners/ORG/runs -> 202 {"run"} */
int ent_api_partner_run(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp);
/* GET /v1/partners/ORG/overlap -> ent_overlap_json() */
int ent_api_partner_overlap(ent_node *n, const ent_http_request *req,
                            ent_http_response *resp);
/* POST /v1/partners/ORG/seed {"account","type"?} -> 201 {"id","token",
 * "invite_id","expires"} */
int ent_api_partner_seed(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp);

#endif
