/* fuzz_http.c - the local API's HTTP request parser (node/api/http.c).
 *
 * Parses the input in one piece with ent_http_parse(), then again fed in
 * pieces whose sizes come from the first byte, and checks both agree: the
 * head limit and header splitting must not depend on how bytes arrive.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/api/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ent_http_request req;
    int rc = ent_http_parse(data, size, &req);
    if (rc == ENT_OK) {
        if (req.path == NULL || req.path[0] != '/')
            abort();
        if (req.body_len > ENT_HTTP_MAX_BODY)
            abort();
        if (req.nheaders > ENT_HTTP_MAX_HEADERS)
            abort();
        json_t *j = NULL;
        if (ent_http_request_json(&req, &j) == ENT_OK)
            json_decref(j);
    }

    if (size > 0) {
        size_t step = (size_t)(data[0] % 17) + 1;
        ent_http_parser *p = NULL;
        bool complete = false;
        size_t trailing = 0, total_trailing = 0;
        int rc2 = ENT_OK;
        if (ent_http_parser_new(&p) != ENT_OK)
            abort();
        for (size_t off = 0; off < size && rc2 == ENT_OK; off += step) {
            size_t n = size - off < step ? size - off : step;
            rc2 = ent_http_parser_feed(p, data + off, n, &complete, &trailing);
            total_trailing += trailing;
        }
        if (rc2 == ENT_OK && !complete)
            rc2 = ENT_EAGAIN;
        if (rc2 == ENT_OK && total_trailing != 0)
            rc2 = ENT_EPROTO;
        if (rc == ENT_OK && rc2 == ENT_OK) {
            ent_http_request *r2 = ent_http_parser_request(p);
            if (strcmp(r2->path, req.path) != 0 || r2->body_len != req.body_len ||
                r2->nheaders != req.nheaders ||
                (req.body_len && memcmp(r2->body, req.body, req.body_len)))
                abort();
        }
        /* chunking may only change the answer between "incomplete" and an
         * error found later; a success must be a success either way */
        if ((rc == ENT_OK) != (rc2 == ENT_OK))
            abort();
        ent_http_parser_free(p);
    }
    ent_http_request_clear(&req);
    return 0;
}
