/*
 * fuzz_sse.c - arbitrary bytes as a Server-Sent Events stream
 * (node/cli/sse.h), what `entente events --follow` reads from the node.
 *
 * The input is fed twice: at once, and in pieces whose sizes come from
 * the input itself; both feeds must give the same events (same ids, names
 * and data) or the same error, within the parser's limits, without a
 * crash.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli/sse.h"
#include "node/err.h"

#define MAX_INPUT 65536

struct seen {
    uint64_t h; /* a running hash of everything the events held */
    size_t n;
};

static uint64_t mix(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h ^ 0xff;
}

static int on_event(void *data, const ent_sse_event *ev) {
    struct seen *s = data;
    if (ev->data_len > ENT_SSE_DATA_MAX || strlen(ev->data) > ev->data_len)
        abort();
    s->h = mix(s->h, ev->id, strlen(ev->id));
    s->h = mix(s->h, ev->event, strlen(ev->event));
    s->h = mix(s->h, ev->data, ev->data_len);
    s->n++;
    return 0;
}

static int run(const uint8_t *data, size_t size, bool pieces, struct seen *s) {
    ent_sse_parser *p;
    int rc = ENT_OK;
    if (ent_sse_parser_new(&p) != ENT_OK)
        return ENT_ENOMEM;
    for (size_t off = 0; off < size && rc == ENT_OK;) {
        size_t n = pieces ? 1 + data[off] % 17 : size;
        if (n > size - off)
            n = size - off;
        rc = ent_sse_parser_feed(p, data + off, n, on_event, s);
        off += n;
    }
    ent_sse_parser_free(p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct seen a = {1469598103934665603ull, 0}, b = a;
    if (size > MAX_INPUT)
        return 0;
    int ra = run(data, size, false, &a);
    int rb = run(data, size, true, &b);
    if (ra == ENT_ENOMEM || rb == ENT_ENOMEM)
        return 0;
    if (ra != rb || a.n != b.n || a.h != b.h)
        abort();
    return 0;
}
