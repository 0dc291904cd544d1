/*
 * route.h - what every endpoint module of the local API implements and
 * shares: the handler and route types, and the helpers handlers use (the
 * HTTP status of an error code, the JSON body of a request). Endpoint
 * modules (api_log.c, api_objects.c, api_peers.c) include this header, not
 * api.h: the server (api.c) sits above them and lists their routes, so no
 * endpoint calls back into the server.
 */
#ifndef ENT_API_ROUTE_H
#define ENT_API_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "node/api/http.h"
#include "node/node.h"

/*
 * A handler fills resp (usually with ent_http_response_json()) and returns
 * ENT_OK. It may instead return a negative error without setting resp: the
 * server then answers with ent_api_error_status(err) and the error JSON
 * {"error":{"code":"ENT_E...","message":"..."}}. req and n are borrowed for
 * the call. Handlers run on the loop thread and must not block for long.
 */
typedef int (*ent_api_handler)(ent_node *n, const ent_http_request *req,
                               ent_http_response *resp);

typedef struct ent_api_route {
    const char *method; /* "GET", "POST", "PUT", "DELETE", ... */
    const char *path;   /* template ("/v1/objects/{id}", node/api/api.h),
                           or prefix when prefix is true */
    bool prefix;
    ent_api_handler fn;
} ent_api_route;

/* The HTTP status for an error code (ENT_ENOENT -> 404, ...). */
int ent_api_error_status(int err);

/*
 * JSON body helper: parses req's body as a JSON object into *out (caller
 * json_decref()s). On failure sets a 400 ENT_EPROTO error response in resp
 * (no body, not JSON, not an object) and returns ENT_EPROTO.
 */
int ent_api_body_object(const ent_http_request *req, ent_http_response *resp,
                        json_t **out);

/*
 * One encoding per kind of value in every answer (spec/api.md "Values"):
 * a time is RFC 3339 in UTC with milliseconds, an org's display name is
 * the one this node knows or null. These build the JSON (new references,
 * NULL when out of memory).
 *
 * ent_api_time_json: ms since the Unix epoch as "2026-12-05T04:52:58.123Z";
 *   0 (never) and times past year 9999 give null.
 * ent_api_org_name_json: this org's own name for itself, the name the peer
 *   layer holds for a partner, else null (never the org id).
 */
json_t *ent_api_time_json(uint64_t ms);
json_t *ent_api_org_name_json(ent_node *n, const uint8_t org[32]);

/*
 * A streamed answer's connection, as a handler sees it (spec/api.md
 * "Streams"): the server (api.c) fills the function table; handlers call
 * the functions below, never the server itself. Valid from the stream's
 * start() until its closed() (node/api/http.h).
 */
typedef struct ent_api_stream ent_api_stream;
struct ent_api_stream {
    int (*write)(ent_api_stream *s, const char *buf, size_t len);
    size_t (*queued)(const ent_api_stream *s);
    void (*end)(ent_api_stream *s);
};

#define ENT_API_STREAM_MAX_QUEUED (1u << 20) /* bytes a stream may queue */

/*
 * Queues len bytes of buf (copied) to the client. A write that would put
 * more than ENT_API_STREAM_MAX_QUEUED bytes in the queue drops the client
 * (too slow): the stream closes. @return ENT_OK, ENT_ELIMIT (dropped),
 * ENT_ECLOSED (the stream is ending), ENT_ENOMEM.
 */
int ent_api_stream_write(ent_api_stream *s, const char *buf, size_t len);

/* Bytes written but not yet sent to the client. */
size_t ent_api_stream_queued(const ent_api_stream *s);

/* Ends the stream: queued bytes are dropped, closed() follows. */
void ent_api_stream_end(ent_api_stream *s);

#endif
