/*
 * api_users.h - the endpoints of the org's people (spec/access.md "API"):
 *
 *   GET /v1/users, POST /v1/users, GET|POST|DELETE /v1/users/NAME
 *   GET /v1/tokens[?user=U], POST /v1/tokens, DELETE /v1/tokens/ID
 *   GET /v1/policies, POST /v1/policies, GET|DELETE /v1/policies/ID,
 *   POST /v1/policies/test
 *   POST /v1/login, GET /v1/access/me
 *
 * Handlers follow the ent_api_handler contract (node/api/route.h); the
 * routes are listed in builtin_routes in node/api/api.c.
 */
#ifndef ENT_API_USERS_H
#define ENT_API_USERS_H

#include "node/api/route.h"

int ent_api_users_list(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp);
int ent_api_users_create(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp);
int ent_api_user_get(ent_node *n, const ent_http_request *req,
                     ent_http_response *resp);
int ent_api_user_set(ent_node *n, const ent_http_request *req,
                     ent_http_response *resp);
int ent_api_user_delete(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp);
int ent_api_tokens_list(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp);
int ent_api_tokens_create(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp);
int ent_api_token_delete(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp);
int ent_api_policies_list(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp);
int ent_api_policies_create(ent_node *n, const ent_http_request *req,
                            ent_http_response *resp);
int ent_api_policy_get(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp);
int ent_api_policy_delete(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp);
int ent_api_policies_test(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp);
/* POST /v1/logout: ends the session of a cookie request (TCP API). */
int ent_api_logout(ent_node *n, const ent_http_request *req,
                   ent_http_response *resp);
int ent_api_login(ent_node *n, const ent_http_request *req,
                  ent_http_response *resp);
int ent_api_me(ent_node *n, const ent_http_request *req,
               ent_http_response *resp);

#endif
