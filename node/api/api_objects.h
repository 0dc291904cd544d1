/*
 * api_objects.h - the object, template and configuration endpoints of the
 * local API (spec/api.md "Objects", "Templates", "Configuration").
 *
 * Object ids appear everywhere (paths, JSON, CLI) in one printable form: the
 * 64 lowercase hex characters of the 32-byte id. Every handler validates its
 * whole input (path, query, JSON body with no unknown keys) before it calls
 * the object engine or the template module; a refused request changes
 * nothing. Handlers follow the ent_api_handler contract (node/api/api.h); the
 * routes are listed in builtin_routes in node/api/api.c.
 */
#ifndef ENT_API_OBJECTS_H
#define ENT_API_OBJECTS_H

#include <stdint.h>

#include "node/api/route.h"

#define ENT_API_OBJ_MAX_INPUTS 256 /* fields in one create or set request */
#define ENT_API_BATCH_MAX 1000 /* changes in one POST /v1/objects/batch */
#define ENT_API_OBJ_ID_HEX 64      /* printable object id length */
#define ENT_API_OBJ_MAX_LIMIT 1000000 /* largest limit= of GET /v1/objects */

/*
 * Parses a printable object id: exactly 64 lowercase hex characters.
 * @return ENT_OK or ENT_EINVAL.
 */
/* A query string split into key=value pairs, values percent-decoded
 * ('+' is a space) in place. */
#define ENT_API_QUERY_MAX 4096  /* bytes of a query string */
#define ENT_API_QUERY_PARAMS 12 /* parameters of one query string */
typedef struct ent_api_query {
    char buf[ENT_API_QUERY_MAX + 1];
    const char *key[ENT_API_QUERY_PARAMS];
    const char *val[ENT_API_QUERY_PARAMS];
    size_t n;
} ent_api_query;

/*
 * Splits req->query into q, answering 400 into resp for an over-long
 * query, a bad escape, a key not in allowed (NULL-terminated), a key
 * given twice or too many keys. @return ENT_OK or ENT_EINVAL.
 */
int ent_api_query_parse(const ent_http_request *req,
                        const char *const *allowed, ent_api_query *q,
                        ent_http_response *resp);

/*
 * Answers 400 into resp, naming the key in "field", when a key of
 * req->query (percent-decoded) is given more than once: every query
 * parameter of the API is single-valued, and the access guard and the
 * handler must never read different values of one (spec/api.md). The
 * dispatcher calls it once for every request, before authentication and
 * any decision. @return ENT_OK, ENT_EINVAL or ENT_ENOMEM.
 */
int ent_api_query_once(const ent_http_request *req, ent_http_response *resp);

/* The value of key in q, or NULL; borrowed from q. */
const char *ent_api_query_get(const ent_api_query *q, const char *key);

int ent_api_obj_id_parse(const char *s, uint8_t id[32]);

/* POST /v1/objects {"type","set":{},"private":{}} -> 201 {"id"} */
int ent_api_objects_create(ent_node *n, const ent_http_request *req,
                           ent_http_response *resp);
/* GET /v1/objects[?type=T&stage=S&sort=[-]KEY&limit=N&prefix=HEX] ->
 * [{"id","type","epoch","status","title","stage","date"}]
 * (ent_obj_list_json_ex) */
int ent_api_objects_list(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp);
/* GET /v1/objects/ID[?hide_private=1] -> the object (ent_obj_show_json) */
int ent_api_object_get(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp);
/* POST /v1/objects/ID {"set","private","custom","remove"} -> 200 {"id"} */
int ent_api_object_set(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp);
/* POST /v1/objects/ID/stage {"stage"} -> 200 {"id"} */
int ent_api_object_stage(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp);
/* POST /v1/objects/ID/comments {"text"} -> 200 {"id"} */
int ent_api_object_comment(ent_node *n, const ent_http_request *req,
                           ent_http_response *resp);
/* POST /v1/objects/batch {"changes":[...]} -> 200 {"results":[...]}
 * (node/api/api_batch.c, spec/api.md "Batches") */
int ent_api_objects_batch(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp);

/* The handlers above on a parsed JSON body (borrowed), for the batch
 * endpoint: create ({"type","set","private","custom"}), set ({"set",
 * "private","custom","remove"}), stage ({"stage"}) or comment ({"text"},
 * stage false). They answer into resp like the routes do. */
int ent__api_obj_create_body(ent_node *n, const json_t *body,
                             ent_http_response *resp);
int ent__api_obj_set_body(ent_node *n, const uint8_t id[32],
                          const json_t *body, ent_http_response *resp);
int ent__api_obj_stage_body(ent_node *n, const uint8_t id[32],
                            const json_t *body, bool stage,
                            ent_http_response *resp);

/*
 * Splits req->path "/v1/objects/ID[/REST]" into the object id and REST (""
 * when absent; borrowed from req). Answers 404 into resp for a path that
 * is not an object path, 400 (field "id") for a malformed id.
 * @return ENT_OK, ENT_ENOENT, ENT_EINVAL.
 */
int ent_api_obj_path(const ent_http_request *req, uint8_t id[32],
                     const char **rest, ent_http_response *resp);

/* PUT /v1/objects/ID/rules: new workflow rules (spec/workflows.md §5). */
int ent_api_object_put(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp);
/* POST /v1/objects/ID/convert {"to":"opportunity"}: a lead becomes an
 * opportunity, both linked (spec/objects.md "Converting a lead"); 201
 * {"id": the new object, "from": the lead}. */
int ent_api_object_convert(ent_node *n, const ent_http_request *req,
                           ent_http_response *resp);

/* POST /v1/objects/ID/approve {"step"?,"comment"?} and /reject {"step"?,
 * "reason"} -> 200 {"id"} (spec/workflows.md §5) */
int ent_api_object_approve(ent_node *n, const ent_http_request *req,
                           ent_http_response *resp);
int ent_api_object_reject(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp);
/* POST /v1/objects/{id}/erase: erase a field or the whole object. */
int ent_api_object_erase(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp);

/* GET /v1/templates -> [{"type","builtin","stored"}] */
int ent_api_templates_list(ent_node *n, const ent_http_request *req,
                           ent_http_response *resp);
/* GET /v1/templates/TYPE -> the template JSON */
int ent_api_template_get(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp);
/* PUT /v1/templates/TYPE (body: template JSON) -> 200 the stored template */
int ent_api_template_put(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp);
/* DELETE /v1/templates/TYPE -> 200 {"type"}: the built-in applies again */
int ent_api_template_delete(ent_node *n, const ent_http_request *req,
                            ent_http_response *resp);

/* GET /v1/config -> {"default_currency"}; PUT /v1/config {"default_currency"}
 */
int ent_api_config_get(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp);
int ent_api_config_put(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp);
/* GET /v1/config/NAME -> {"name","values"}; PUT /v1/config/NAME {"values"} */
int ent_api_config_list_get(ent_node *n, const ent_http_request *req,
                            ent_http_response *resp);
int ent_api_config_list_put(ent_node *n, const ent_http_request *req,
                            ent_http_response *resp);
/* GET /v1/config-tables -> [{"name","builtin","stored","values"}], sorted */
int ent_api_config_tables(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp);

#endif
