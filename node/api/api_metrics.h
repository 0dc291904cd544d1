/*
 * api_metrics.h - GET /metrics: the node's numbers in the Prometheus text
 * exposition format 0.0.4 (spec/api.md "Metrics"): peers, sessions, ops in
 * and out, refusals by reason, backlog syncs, the activity log, LMDB map
 * use, then every collector registered with ent_node_metrics() (the API's
 * requests by route and status, webhooks, ...). Only counts and sizes:
 * never an object id, an org id or name, a field name or value.
 */
#ifndef ENT_API_METRICS_H
#define ENT_API_METRICS_H

#include "node/api/route.h"

/* 200 text/plain; version=0.0.4. The guard decides the action metrics:
 * the operator, admins, users a rule allows, tokens made for metrics alone
 * (spec/access.md "Metrics"). */
int ent_api_metrics(ent_node *n, const ent_http_request *req,
                    ent_http_response *resp);

#endif
