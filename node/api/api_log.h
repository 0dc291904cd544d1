/*
 * api_log.h - the activity-log endpoints of the local API (spec/api.md):
 *
 *   GET /v1/log[?since=N]                  the entries from index N (0)
 *   GET /v1/audit/export[?since=N][&object=HEX]
 *                                          a freshly signed export
 */
#ifndef ENT_API_LOG_H
#define ENT_API_LOG_H

#include "node/api/route.h"

/* 200 {"size","root","entries":[{"index","time","kind","object","op","org",
 * "reason"}]}: ids in hex, absent ones null. */
int ent_api_log_get(ent_node *n, const ent_http_request *req,
                    ent_http_response *resp);

/* Signs a tree head and answers 200 {"bytes","tree_size","export"} with the
 * export file (node/audit/audit.h) in lowercase hex. */
int ent_api_audit_export(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp);

/* 200 {"heads":[{"org","size","root","time","head"}]}: the tree heads of
 * partners this node keeps as a witness (?org=ORG: that org's only); head is
 * the signed head in hex (spec/audit.md §8). */
int ent_api_audit_heads(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp);

/* GET /v1/object-keys/OBJ: 200 {"object","keys":[{"epoch","key"}]}, the
 * object's epoch keys in hex, for an auditor (owner or admin only: 403
 * otherwise; 404 for an unknown object). */
int ent_api_object_keys(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp);

#endif
