/*
 * fuzz_events_query.c - arbitrary bytes as the query, Last-Event-ID and
 * Accept of GET /v1/events (node/api/api_events.h, spec/api.md "Events").
 *
 * The input is split at its first two NUL bytes into query, Last-Event-ID
 * and Accept (missing parts: absent). ent_api_events_query_parse() must
 * refuse or accept without crashing; an accepted query holds no more than
 * its limits: at most 16 kinds of [a-z_.]{1,48}, a cursor below 2^63, a
 * page limit of 1 to 1000.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/api/api_events.h"
#include "node/err.h"

#define MAX_INPUT 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf, *parts[3] = {NULL, NULL, NULL}, err[256];
    ent_events_query q;
    if (size > MAX_INPUT || (buf = malloc(size + 1)) == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *p = buf;
    for (int i = 0; i < 3 && p != NULL && p <= buf + size; i++) {
        parts[i] = p;
        size_t l = strlen(p);
        p = p + l < buf + size ? p + l + 1 : NULL;
    }
    if (ent_api_events_query_parse(parts[0], parts[1], parts[2], &q, err,
                                   sizeof(err)) == ENT_OK) {
        if (q.nkinds > ENT_API_EVENTS_MAX_KINDS ||
            q.after > (uint64_t)INT64_MAX || q.limit < 1 ||
            q.limit > ENT_API_EVENTS_PAGE_MAX)
            abort();
        for (size_t i = 0; i < q.nkinds; i++) {
            size_t l = strlen(q.kinds[i]);
            if (l == 0 || l > ENT_EVENT_KIND_MAX ||
                strspn(q.kinds[i], "abcdefghijklmnopqrstuvwxyz_.") != l)
                abort();
        }
    } else if (strlen(err) == 0) {
        abort(); /* a refusal always says why */
    }
    free(buf);
    return 0;
}
