/*
 * api_events.h - the event stream endpoint of the local API (spec/api.md
 * "Events", spec/events.md):
 *
 *   GET /v1/events[?after=ID][&kinds=K,K][&object=HEX][&follow=false]
 *                 [&limit=N]          (header Last-Event-ID: ID)
 *
 * streams the caller's view of the node's events as Server-Sent Events
 * (text/event-stream), or answers one JSON page for scripts. Every event
 * passes ent_access_event_view() for the caller (node/access/
 * access_events.h) first.
 */
#ifndef ENT_API_EVENTS_H
#define ENT_API_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/api/route.h"
#include "node/events/event.h"

#define ENT_API_EVENTS_MAX_KINDS 16  /* kinds in one ?kinds= */
#define ENT_API_EVENTS_PAGE 100      /* events in a page by default */
#define ENT_API_EVENTS_PAGE_MAX 1000 /* ... at most (?limit=) */
#define ENT_API_EVENTS_SCAN 10000    /* events one page examines, at most */
#define ENT_API_EVENTS_HEARTBEAT_MS 15000 /* a comment line this often */
#define ENT_API_EVENTS_STALL_MS 60000 /* a reader reading nothing: dropped */

/* What the query and headers of GET /v1/events ask for. */
typedef struct ent_events_query {
    bool has_after; /* ?after= or Last-Event-ID given */
    uint64_t after; /* the last id the reader has */
    size_t nkinds;  /* 0: every kind */
    char kinds[ENT_API_EVENTS_MAX_KINDS][ENT_EVENT_KIND_MAX + 1];
    bool has_object;
    uint8_t object[32];
    bool follow;  /* stream (true) or one JSON page (false) */
    size_t limit; /* events in a page */
} ent_events_query;

/*
 * Parses the query string (may be NULL; without the '?'), the
 * Last-Event-ID header (may be NULL; it wins over ?after=) and the Accept
 * header (may be NULL: "application/json" without "text/event-stream"
 * means a page, unless ?follow=true). Parameters: after (decimal id,
 * 0..2^63-1, no sign or leading zero), kinds (comma-separated kinds, each
 * [a-z_.]{1,48}, at most 16), object (64 hex digits), follow (true or
 * false), limit (1..1000); values may be percent-encoded; an unknown or
 * repeated parameter is refused. On error writes the reason into err.
 * @return ENT_OK or ENT_EINVAL.
 */
int ent_api_events_query_parse(const char *query, const char *last_event_id,
                               const char *accept, ent_events_query *out,
                               char *err, size_t errlen);

/* GET /v1/events: see above and spec/api.md. */
int ent_api_events_get(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp);

/*
 * The heartbeat of the stream whose ops data (ent_http_response's
 * stream_data) is stream_data, now instead of at its 15 s timer (tests):
 * the reader's token or session is checked again and the stream ends
 * when it no longer holds; else a ": ping" line is written.
 */
void ent__api_events_beat(void *stream_data);

#endif
