/*
 * route.c - the helpers every endpoint handler of the local API uses; see
 * route.h.
 */
#include "node/api/route.h"
#include "crypto/crypto.h"
#include "node/err.h"
#include "node/peers/peer.h"
#include "node/timefmt.h"

#include <string.h>

int ent_api_error_status(int err) {
    switch (err) {
    case ENT_EINVAL:
    case ENT_EPROTO:
    case ENT_EUSAGE:
    case ENT_ESCHEMA:
    case ENT_ENONCANON:
    case ENT_EBADVALUE:
        return 400;
    case ENT_EAUTH:
        return 401;
    case ENT_EPERM:
    case ENT_EDENIED:
    case ENT_ENOTMEMBER:
        return 403;
    case ENT_ENOENT:
        return 404;
    case ENT_EMETHOD:
        return 405;
    case ENT_EEXIST:
    case ENT_ECONFLICT:
    case ENT_EUSED:
        return 409;
    case ENT_ETOOBIG:
        return 413;
    case ENT_ELIMIT:
    case ENT_EBUSY:
    case ENT_ERESTORING:
        return 503;
    default:
        return 500;
    }
}

int ent_api_body_object(const ent_http_request *req, ent_http_response *resp,
                        json_t **out) {
    int rc = ent_http_request_json(req, out);
    if (rc == ENT_ENOENT)
        return ent_http_response_error(resp, 400, ENT_EPROTO,
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

/* ---- values -------------------------------------------------------------- */

json_t *ent_api_time_json(uint64_t ms) {
    char s[ENT_TIMEFMT_RFC3339_LEN + 1];
    if (ms == 0 || ent_timefmt_rfc3339(s, ms) != ENT_OK)
        return json_null();
    return json_string(s);
}

json_t *ent_api_org_name_json(ent_node *n, const uint8_t org[32]) {
    const char *name = NULL;
    if (memcmp(org, ent_identity_public(ent_node_identity(n)), 32) == 0)
        name = ent_node_name(n);
    else if (ent_node_peers(n) != NULL)
        name = ent_peers_org_name(ent_node_peers(n), org);
    return name != NULL && name[0] != '\0' ? json_string(name) : json_null();
}

int ent_api_stream_write(ent_api_stream *s, const char *buf, size_t len) {
    return s->write(s, buf, len);
}

size_t ent_api_stream_queued(const ent_api_stream *s) {
    return s->queued(s);
}

void ent_api_stream_end(ent_api_stream *s) {
    s->end(s);
}
