/*
 * api_attach.h - the attachment endpoints of the local API (api_attach.c;
 * spec/api.md, spec/objects.md "Attachments").
 */
#ifndef ENT_API_ATTACH_H
#define ENT_API_ATTACH_H

#include "node/api/http.h"

struct ent_node;

/* GET /v1/objects/ID/attachments; POST /v1/objects/ID/attachments
 * {"path","name"?}, .../attachments/fetch {"name"} and .../attachments/save
 * {"name","out"} (paths: the local socket only). */
int ent_api_attachments(struct ent_node *n, const ent_http_request *req,
                        ent_http_response *resp);

#endif
