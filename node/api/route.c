/*
 * route.c - the helpers every endpoint handler of the local API uses; see
 * route.h.
 */
#include "node/api/route.h"
#include "node/err.h"

#include <string.h>

int ent_api_error_status(int err) {
    switch (err) {
    case ENT_EINVAL:
    case ENT_EPROTO:
    case ENT_EUSAGE:
    case ENT_ESCHEMA:
    case ENT_ENONCANON:
        return 400;
    case ENT_EPERM:
    case ENT_EDENIED:
    case ENT_ENOTMEMBER:
        return 403;
    case ENT_ENOENT:
        return 404;
    case ENT_EEXIST:
    case ENT_ECONFLICT:
    case ENT_EUSED:
        return 409;
    case ENT_ETOOBIG:
        return 413;
    case ENT_ELIMIT:
    case ENT_EBUSY:
        return 503;
    default:
        return 500;
    }
}

int ent_api_body_object(const ent_http_request *req, ent_http_response *resp,
                        json_t **out) {
    int rc = ent_http_request_json(req, out);
    if (rc == ENT_ENOENT)
        return ent_http_response_error(resp, 400, ENT_ENOENT,
                                       "a JSON object body is required");
    if (rc != ENT_OK)
        return ent_http_response_error(resp, 400, ENT_EPROTO,
                                       "body is not valid JSON");
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return ent_http_response_error(resp, 400, ENT_EPROTO,
                                       "body must be a JSON object");
    }
    return ENT_OK;
}
