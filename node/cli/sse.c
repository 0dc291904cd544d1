/*
 * sse.c - the Server-Sent Events parser of sse.h: bytes to lines to
 * fields to events, with the limits checked while the bytes arrive.
 */
#include "node/cli/sse.h"
#include "node/err.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

struct ent_sse_parser {
    buf line; /* the line being read */
    buf id, event, data;
    bool has_data; /* a data field was seen in this event */
    bool after_cr; /* the last byte was CR: a following LF belongs to it */
    bool dead;     /* an error happened: nothing more is accepted */
};

static int put(buf *b, const char *s, size_t n, size_t max) {
    if (b->len + n > max)
        return ENT_ETOOBIG;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (np == NULL)
            return ENT_ENOMEM;
        b->p = np;
        b->cap = nc;
    }
    if (n > 0)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return ENT_OK;
}

static void clear(buf *b) {
    b->len = 0;
    if (b->p != NULL)
        b->p[0] = '\0';
}

int ent_sse_parser_new(ent_sse_parser **out) {
    ent_sse_parser *p = calloc(1, sizeof(*p));
    *out = p;
    if (p == NULL)
        return ENT_ENOMEM;
    if (put(&p->id, "", 0, 1) != ENT_OK || put(&p->event, "", 0, 1) != ENT_OK ||
        put(&p->data, "", 0, 1) != ENT_OK) {
        ent_sse_parser_free(p);
        *out = NULL;
        return ENT_ENOMEM;
    }
    return ENT_OK;
}

void ent_sse_parser_free(ent_sse_parser *p) {
    if (p == NULL)
        return;
    free(p->line.p);
    free(p->id.p);
    free(p->event.p);
    free(p->data.p);
    free(p);
}

/* One whole line (without its end). */
static int line(ent_sse_parser *p,
                int (*fn)(void *data, const ent_sse_event *ev), void *data) {
    const char *s = p->line.p != NULL ? p->line.p : "";
    size_t n = p->line.len;
    int rc = ENT_OK;
    if (n == 0) { /* dispatch */
        if (p->has_data) {
            ent_sse_event ev = {p->id.p, p->event.p, p->data.p, p->data.len};
            rc = fn(data, &ev);
        }
        clear(&p->event);
        clear(&p->data);
        p->has_data = false;
        return rc;
    }
    if (s[0] == ':')
        return ENT_OK; /* a comment */
    const char *colon = memchr(s, ':', n);
    size_t fl = colon != NULL ? (size_t)(colon - s) : n;
    const char *v = colon != NULL ? colon + 1 : s + n;
    if (v < s + n && *v == ' ')
        v++;
    size_t vl = (size_t)(s + n - v);
    if (fl == 4 && memcmp(s, "data", 4) == 0) {
        if (p->has_data &&
            (rc = put(&p->data, "\n", 1, ENT_SSE_DATA_MAX)) != ENT_OK)
            return rc;
        p->has_data = true;
        return put(&p->data, v, vl, ENT_SSE_DATA_MAX);
    }
    if (fl == 5 && memcmp(s, "event", 5) == 0) {
        clear(&p->event);
        return put(&p->event, v, vl, ENT_SSE_LINE_MAX);
    }
    if (fl == 2 && memcmp(s, "id", 2) == 0 && memchr(v, '\0', vl) == NULL) {
        clear(&p->id);
        return put(&p->id, v, vl, ENT_SSE_LINE_MAX);
    }
    return ENT_OK; /* retry and unknown fields */
}

int ent_sse_parser_feed(ent_sse_parser *p, const uint8_t *in, size_t len,
                        int (*fn)(void *data, const ent_sse_event *ev),
                        void *data) {
    int rc = ENT_OK;
    if (p->dead)
        return ENT_EPROTO;
    for (size_t i = 0; i < len && rc == ENT_OK; i++) {
        char c = (char)in[i];
        if (c == '\n' && p->after_cr) {
            p->after_cr = false;
            continue;
        }
        p->after_cr = c == '\r';
        if (c == '\n' || c == '\r') {
            rc = line(p, fn, data);
            clear(&p->line);
            continue;
        }
        /* a run of ordinary bytes at once */
        size_t j = i;
        while (j < len && in[j] != '\n' && in[j] != '\r')
            j++;
        rc = put(&p->line, (const char *)in + i, j - i, ENT_SSE_LINE_MAX);
        i = j - 1;
    }
    if (rc == ENT_ETOOBIG || rc == ENT_ENOMEM)
        p->dead = true;
    return rc;
}
