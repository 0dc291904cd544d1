/*
 * api_webhooks.h - the endpoints of webhooks (spec/webhooks.md §6):
 *
 *   GET /v1/webhooks, POST /v1/webhooks
 *   GET|DELETE /v1/webhooks/ID, GET /v1/webhooks/ID/deliveries
 *   POST /v1/webhooks/ID/pause|resume|test, POST /v1/webhooks/ID/replay
 *
 * Every route needs the action manage (the guard of api_access.c decides
 * it before the handler runs). The records live in node/webhooks/webhook.h;
 * the engine that delivers is told of each change (node/webhooks/outbox.h).
 * Handlers follow the ent_api_handler contract (node/api/route.h).
 */
#ifndef ENT_API_WEBHOOKS_H
#define ENT_API_WEBHOOKS_H

#include "node/api/route.h"

int ent_api_webhooks_list(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp);
int ent_api_webhooks_create(ent_node *n, const ent_http_request *req,
                            ent_http_response *resp);
int ent_api_webhook_get(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp);
int ent_api_webhook_post(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp);
int ent_api_webhook_delete(ent_node *n, const ent_http_request *req,
                           ent_http_response *resp);

#endif
