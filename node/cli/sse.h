/*
 * sse.h - a parser of Server-Sent Events (the text/event-stream format of
 * the HTML standard, "Parsing an event stream"), for `entente events
 * --follow` reading GET /v1/events (spec/api.md "Events").
 *
 * Bytes from the node arrive in pieces of any size; lines end in LF, CRLF
 * or CR; a line starting with ':' is a comment; "field: value" sets id,
 * event or data (several data lines join with LF; retry and unknown fields
 * are ignored); a blank line dispatches the event if it has data. Limits
 * are hard: a line over ENT_SSE_LINE_MAX bytes or an event's data over
 * ENT_SSE_DATA_MAX is ENT_ETOOBIG and the parser accepts nothing more.
 * Fuzzed by tests/fuzz/fuzz_sse.c.
 */
#ifndef ENT_SSE_H
#define ENT_SSE_H

#include <stddef.h>
#include <stdint.h>

#define ENT_SSE_LINE_MAX (256u << 10) /* bytes of one line */
#define ENT_SSE_DATA_MAX (1u << 20)   /* bytes of one event's data */

/* One event; strings are NUL-terminated, borrowed for the callback. */
typedef struct ent_sse_event {
    const char *id;    /* the last id: field seen, "" when none */
    const char *event; /* "" when the event named none ("message") */
    const char *data;
    size_t data_len;
} ent_sse_event;

typedef struct ent_sse_parser ent_sse_parser;

/* @return ENT_OK, ENT_ENOMEM. Free with ent_sse_parser_free(). */
int ent_sse_parser_new(ent_sse_parser **out);

/* Accepts NULL. */
void ent_sse_parser_free(ent_sse_parser *p);

/*
 * Feeds len bytes; calls fn(data, ev) for each event completed by them.
 * fn returning non-zero stops the feed with that value.
 * @return ENT_OK, fn's value, ENT_ETOOBIG, ENT_ENOMEM.
 */
int ent_sse_parser_feed(ent_sse_parser *p, const uint8_t *buf, size_t len,
                        int (*fn)(void *data, const ent_sse_event *ev),
                        void *data);

#endif
