/*
 * api_crm.h - the CRM sync endpoints of the local API (spec/api.md "CRM
 * sync", spec/crm.md):
 *
 *   POST /v1/crm/import   one batch of rows, upserted by external id in one
 *                         durable commit; the ops go to the members
 *   POST /v1/crm/export   one page of the objects of a type, with their
 *                         shared and private fields
 *
 * Both need the manage right (the access guard; the operator on the Unix
 * socket has it).
 */
#ifndef ENT_API_CRM_H
#define ENT_API_CRM_H

#include "node/api/route.h"

/* 200 {"results":[{"outcome","id","changed","error"}],"created","updated",
 * "unchanged","rejected","ops"}; 400 a bad body (more than 1,000 rows, a
 * value that is not a string...), 404 no template of the type. */
int ent_api_crm_import(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp);

/* 200 {"objects":[{"id","shared","private"}],"next","cursor"}; 400 a bad
 * body or --where, 404 no template of the type. */
int ent_api_crm_export(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp);

#endif
