/*
 * api_events.c - GET /v1/events: the caller's view of the node's events,
 * streamed as Server-Sent Events or answered as one JSON page (spec/api.md
 * "Events"). A stream keeps a cursor (the last id it examined), reads what
 * follows it whenever the events hub says that something was committed,
 * passes each event through the access view of its reader and writes it
 * out; it waits for the client to read before reading more, sends a
 * comment line every 15 s, checks the reader's token again at each one
 * and ends when the token no longer holds.
 */
#include "node/api/api_events.h"
#include "crypto/crypto.h"
#include "node/access/access.h"
#include "node/access/access_events.h"
#include "node/api/api_session.h"
#include "node/err.h"
#include "node/log.h"

#include <uv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 256             /* events read in one transaction */
#define ROUNDS 64             /* batches in one loop turn, at most */
#define LOW_WATER (64u << 10) /* queued bytes above which reading waits */

static uint64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the query -------------------------------------------------------------
 */

static int bad(char *err, size_t errlen, const char *what, const char *why) {
    if (errlen > 0)
        snprintf(err, errlen, "%s: %s", what, why);
    return ENT_EINVAL;
}

static int hexval(char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decodes [s, s+len) into out (cap bytes, NUL-terminated). */
static int unescape(const char *s, size_t len, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= len || (hi = hexval(s[i + 1])) < 0 ||
                (lo = hexval(s[i + 2])) < 0)
                return ENT_EINVAL;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == '\0' || o + 1 >= cap)
            return ENT_EINVAL;
        out[o++] = c;
    }
    out[o] = '\0';
    return ENT_OK;
}

/* A decimal id: "0" or [1-9][0-9]*, at most 2^63 - 1. */
static int parse_id(const char *s, uint64_t *out) {
    uint64_t v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 19 || (s[0] == '0' && n > 1))
        return ENT_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ENT_EINVAL;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return ENT_EINVAL;
    *out = v;
    return ENT_OK;
}

static bool kind_char(char c) {
    return (c >= 'a' && c <= 'z') || c == '_' || c == '.';
}

static int parse_kinds(const char *v, ent_events_query *q) {
    const char *p = v;
    for (;;) {
        size_t l = strcspn(p, ",");
        if (l == 0 || l > ENT_EVENT_KIND_MAX ||
            q->nkinds == ENT_API_EVENTS_MAX_KINDS)
            return ENT_EINVAL;
        for (size_t i = 0; i < l; i++)
            if (!kind_char(p[i]))
                return ENT_EINVAL;
        memcpy(q->kinds[q->nkinds], p, l);
        q->kinds[q->nkinds++][l] = '\0';
        if (p[l] == '\0')
            return ENT_OK;
        p += l + 1;
    }
}

int ent_api_events_query_parse(const char *query, const char *last_event_id,
                               const char *accept, ent_events_query *q,
                               char *err, size_t errlen) {
    unsigned seen = 0;
    memset(q, 0, sizeof(*q));
    q->limit = ENT_API_EVENTS_PAGE;
    q->follow = accept == NULL || strstr(accept, "text/event-stream") != NULL ||
                strstr(accept, "application/json") == NULL;
    if (errlen > 0)
        err[0] = '\0';
    for (const char *p = query; p != NULL && *p != '\0';) {
        size_t l = strcspn(p, "&");
        const char *eq = memchr(p, '=', l);
        char name[16], val[1024];
        size_t nl = eq != NULL ? (size_t)(eq - p) : l;
        if (l == 0) {
            p += 1;
            continue;
        }
        if (eq == NULL || nl == 0 || nl >= sizeof(name))
            return bad(err, errlen, "query", "want NAME=VALUE pairs");
        memcpy(name, p, nl);
        name[nl] = '\0';
        if (unescape(eq + 1, l - nl - 1, val, sizeof(val)) != ENT_OK)
            return bad(err, errlen, name, "bad percent-encoding or too long");
        static const char *const names[] = {"after", "kinds", "object",
                                            "follow", "limit"};
        unsigned bit = 0;
        for (unsigned i = 0; i < 5; i++)
            if (strcmp(name, names[i]) == 0)
                bit = 1u << i;
        if (bit == 0)
            return bad(err, errlen, name,
                       "unknown parameter (after, kinds, object, follow, "
                       "limit)");
        if (seen & bit)
            return bad(err, errlen, name, "given twice");
        seen |= bit;
        if (bit == 1) {
            if (parse_id(val, &q->after) != ENT_OK)
                return bad(err, errlen, "after", "not an event id");
            q->has_after = true;
        } else if (bit == 2) {
            if (parse_kinds(val, q) != ENT_OK)
                return bad(err, errlen, "kinds",
                           "want up to 16 comma-separated kinds");
        } else if (bit == 4) {
            if (strlen(val) != 64 ||
                ent_hex_decode(q->object, 32, val) != ENT_OK)
                return bad(err, errlen, "object", "want 64 hex digits");
            q->has_object = true;
        } else if (bit == 8) {
            if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0)
                return bad(err, errlen, "follow", "want true or false");
            q->follow = strcmp(val, "true") == 0;
        } else {
            uint64_t v;
            if (parse_id(val, &v) != ENT_OK || v < 1 ||
                v > ENT_API_EVENTS_PAGE_MAX)
                return bad(err, errlen, "limit", "want 1 to 1000");
            q->limit = (size_t)v;
        }
        p += l + (p[l] == '&');
    }
    if (last_event_id != NULL) {
        if (parse_id(last_event_id, &q->after) != ENT_OK)
            return bad(err, errlen, "Last-Event-ID", "not an event id");
        q->has_after = true;
    }
    return ENT_OK;
}

static bool wanted(const ent_events_query *q, const ent_event *ev) {
    if (q->has_object &&
        (!ev->has_object || memcmp(q->object, ev->object, 32) != 0))
        return false;
    if (q->nkinds == 0)
        return true;
    for (size_t i = 0; i < q->nkinds; i++)
        if (strcmp(q->kinds[i], ev->kind) == 0)
            return true;
    return false;
}

/* ---- a page -----------------------------------------------------------------
 */

struct page {
    const ent_events_query *q;
    const ent_principal *who;
    ent_rule *rules;
    size_t nrules;
    ent_txn *txn;
    json_t *events;
    uint64_t first, last, next;
    bool reset, beyond;
    size_t examined;
};

static int page_one(void *data, const ent_event *ev) {
    struct page *p = data;
    json_t *v = NULL;
    p->next = ev->id;
    if (!wanted(p->q, ev))
        return 0;
    int rc = ent_access_event_view_rules(p->txn, p->rules, p->nrules, p->who,
                                         ev, &v);
    if (rc != ENT_OK)
        return rc;
    if (v != NULL && json_array_append_new(p->events, v) != 0)
        return ENT_ENOMEM;
    return json_array_size(p->events) >= p->q->limit ? 1 : 0;
}

/* The rules of a user (none for the operator), loaded in txn. */
static int load_rules(ent_txn *txn, const ent_principal *who, ent_rule **rules,
                      size_t *n) {
    free(*rules);
    *rules = NULL;
    *n = 0;
    if (who->kind == ENT_PRINCIPAL_OPERATOR)
        return ENT_OK;
    return ent_access_policies_load(txn, rules, n);
}

static int page_fn(ent_txn *txn, void *data) {
    struct page *p = data;
    p->txn = txn;
    json_array_clear(p->events);
    int rc = ent_events_first(txn, &p->first);
    if (rc == ENT_OK)
        rc = ent_events_last(txn, &p->last);
    if (rc == ENT_OK)
        rc = load_rules(txn, p->who, &p->rules, &p->nrules);
    if (rc != ENT_OK)
        return rc;
    uint64_t after = p->q->has_after ? p->q->after : 0;
    if (after > p->last) {
        p->beyond = true;
        return ENT_OK;
    }
    p->reset = after > 0 && p->first > after + 1;
    p->next = after;
    rc = ent_events_read(txn, after, ENT_API_EVENTS_SCAN, page_one, p);
    return rc == 1 ? ENT_OK : rc;
}

static int answer_page(ent_node *n, const ent_principal *who,
                       const ent_events_query *q, ent_http_response *resp) {
    struct page p = {.q = q, .who = who, .events = json_array()};
    if (p.events == NULL)
        return ENT_ENOMEM;
    int rc = ent_store_read(ent_node_store(n), page_fn, &p);
    free(p.rules);
    if (rc != ENT_OK) {
        json_decref(p.events);
        return rc;
    }
    if (p.beyond) {
        json_decref(p.events);
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "after: %llu is beyond the newest "
                                       "event (%llu)",
                                       (unsigned long long)q->after,
                                       (unsigned long long)p.last);
    }
    json_t *o = json_pack("{s:o,s:I,s:I,s:I,s:b}", "events", p.events, "next",
                          (json_int_t)p.next, "first", (json_int_t)p.first,
                          "last", (json_int_t)p.last, "reset", p.reset);
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}

/* ---- a stream
 * ---------------------------------------------------------------- */

typedef struct sse {
    ent_node *n;
    ent_api_stream *s; /* NULL until started and after closed */
    ent_events_query q;
    ent_principal who;
    char *token; /* the bearer token or session, checked again at each
                    heartbeat */
    bool session; /* token is a session (the cookie of the TCP API) */
    uint64_t cursor;
    bool reset_first; /* send the reset line before anything else */
    uint64_t reset_first_id;
    ent_events_sub *sub;
    uv_timer_t beat, kick;
    int handles;            /* timers still open */
    uint64_t stalled_since; /* ms: bytes queued and none sent since */
    ent_rule *rules;
    size_t nrules;
    bool dead;
} sse;

static void sse_free(sse *x) {
    free(x->rules);
    if (x->token != NULL) {
        ent_wipe(x->token, strlen(x->token));
        free(x->token);
    }
    free(x);
}

static void timer_closed(uv_handle_t *h) {
    sse *x = h->data;
    if (--x->handles == 0)
        sse_free(x);
}

struct pump_ctx {
    sse *x;
    ent_txn *txn;
    size_t n; /* events read */
    int wrc;  /* the first failed write */
};

static int pump_one(void *data, const ent_event *ev) {
    struct pump_ctx *c = data;
    sse *x = c->x;
    json_t *v = NULL;
    c->n++;
    x->cursor = ev->id;
    if (!wanted(&x->q, ev))
        return 0;
    int rc = ent_access_event_view_rules(c->txn, x->rules, x->nrules, &x->who,
                                         ev, &v);
    if (rc != ENT_OK || v == NULL)
        return rc;
    char *text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (text == NULL)
        return ENT_ENOMEM;
    size_t tl = strlen(text), cap = tl + ENT_EVENT_KIND_MAX + 64;
    char *line = malloc(cap);
    int len = line != NULL
                  ? snprintf(line, cap, "id: %llu\nevent: %s\ndata: %s\n\n",
                             (unsigned long long)ev->id, ev->kind, text)
                  : -1;
    free(text);
    if (len < 0 || (size_t)len >= cap) {
        free(line);
        return ENT_ENOMEM;
    }
    c->wrc = ent_api_stream_write(x->s, line, (size_t)len);
    free(line);
    return c->wrc != ENT_OK ? c->wrc : 0;
}

static int pump_fn(ent_txn *txn, void *data) {
    struct pump_ctx *c = data;
    c->txn = txn;
    c->n = 0;
    int rc = load_rules(txn, &c->x->who, &c->x->rules, &c->x->nrules);
    if (rc == ENT_OK)
        rc = ent_events_read(txn, c->x->cursor, BATCH, pump_one, c);
    return rc;
}

static void kick_cb(uv_timer_t *t);

/*
 * Reads and writes what follows the cursor, a batch at a time, until none
 * is left, the client has LOW_WATER bytes still to read (drain() calls
 * again) or ROUNDS batches were read (the kick timer calls again).
 */
static void pump(sse *x) {
    if (x->dead || x->s == NULL)
        return;
    if (x->reset_first) {
        char line[128];
        int l = snprintf(line, sizeof(line),
                         "event: reset\ndata: {\"after\":%llu,\"first\":%llu}"
                         "\n\n",
                         (unsigned long long)x->q.after,
                         (unsigned long long)x->reset_first_id);
        x->reset_first = false;
        if (ent_api_stream_write(x->s, line, (size_t)l) != ENT_OK)
            return;
    }
    for (int round = 0; round < ROUNDS; round++) {
        if (ent_api_stream_queued(x->s) > LOW_WATER)
            return;
        struct pump_ctx c = {x, NULL, 0, ENT_OK};
        int rc = ent_store_read(ent_node_store(x->n), pump_fn, &c);
        if (c.wrc != ENT_OK)
            return; /* the stream is ending */
        if (rc != ENT_OK) {
            ENT_WARN(ent_node_log(x->n), "api: events: reading: %s",
                     ent_strerror(rc));
            ent_api_stream_end(x->s);
            return;
        }
        if (c.n < BATCH)
            return;
    }
    uv_timer_start(&x->kick, kick_cb, 0, 0);
}

static void kick_cb(uv_timer_t *t) {
    pump(t->data);
}

static void woken(void *data) {
    pump(data);
}

/* Every 15 s: a comment line (keeps proxies and readers awake), the
 * reader's token or session checked again, a reader that read nothing for
 * a minute dropped. */
static void beat(sse *x) {
    uint64_t now = wall_ms();
    if (x->dead || x->s == NULL)
        return;
    if (x->token != NULL) {
        ent_principal p;
        int rc = x->session ? ent_access_session_authenticate(
                                  ent_node_store(x->n), x->token, now, &p)
                            : ent_access_authenticate(ent_node_store(x->n),
                                                      x->token, now, &p);
        if (rc != ENT_OK) {
            ENT_INFO(ent_node_log(x->n),
                     "api: events: %s's token no longer holds: stream ended",
                     x->who.user);
            ent_api_stream_end(x->s);
            return;
        }
        x->who = p; /* role and attributes as they are now */
    }
    if (ent_api_stream_queued(x->s) == 0) {
        x->stalled_since = 0;
    } else if (x->stalled_since == 0) {
        x->stalled_since = now;
    } else if (now - x->stalled_since >= ENT_API_EVENTS_STALL_MS) {
        ENT_INFO(ent_node_log(x->n), "api: events: reader stalled: dropped");
        ent_api_stream_end(x->s);
        return;
    }
    static const char ping[] = ": ping\n\n";
    ent_api_stream_write(x->s, ping, sizeof(ping) - 1);
}

static void beat_cb(uv_timer_t *t) {
    beat(t->data);
}

void ent__api_events_beat(void *stream_data) {
    beat(stream_data);
}

static void sse_start(void *data, ent_api_stream *s) {
    sse *x = data;
    x->s = s;
    static const char hello[] = ": entente events\nretry: 3000\n\n";
    if (ent_api_stream_write(s, hello, sizeof(hello) - 1) != ENT_OK)
        return;
    pump(x);
}

static void sse_drain(void *data) {
    sse *x = data;
    x->stalled_since = 0;
    pump(x);
}

static void sse_closed(void *data) {
    sse *x = data;
    x->dead = true;
    x->s = NULL;
    ent_events_unsubscribe(x->sub);
    x->sub = NULL;
    if (x->handles == 0) {
        sse_free(x);
        return;
    }
    uv_close((uv_handle_t *)&x->beat, timer_closed);
    uv_close((uv_handle_t *)&x->kick, timer_closed);
}

static const ent_http_stream_ops sse_ops = {
    .content_type = "text/event-stream",
    .start = sse_start,
    .drain = sse_drain,
    .closed = sse_closed,
};

struct bounds {
    uint64_t first, last;
};

static int bounds_fn(ent_txn *txn, void *data) {
    struct bounds *b = data;
    int rc = ent_events_first(txn, &b->first);
    return rc == ENT_OK ? ent_events_last(txn, &b->last) : rc;
}

static int answer_stream(ent_node *n, const ent_http_request *req,
                         const ent_principal *who, const ent_events_query *q,
                         ent_http_response *resp) {
    ent_events_hub *hub = ent_events_hub_of(n);
    struct bounds b = {0, 0};
    if (hub == NULL)
        return ent_http_response_error(resp, 503, ENT_ENOTRUNNING,
                                       "this node streams no events");
    int rc = ent_store_read(ent_node_store(n), bounds_fn, &b);
    if (rc != ENT_OK)
        return rc;
    if (q->has_after && q->after > b.last)
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "after: %llu is beyond the newest event "
                                       "(%llu)",
                                       (unsigned long long)q->after,
                                       (unsigned long long)b.last);
    sse *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return ENT_ENOMEM;
    x->n = n;
    x->q = *q;
    x->who = *who;
    x->cursor = q->has_after ? q->after : b.last;
    if (q->has_after && q->after > 0 && b.first > q->after + 1) {
        x->reset_first = true; /* events after the cursor were pruned */
        x->reset_first_id = b.first;
    }
    /* the credential the heartbeat checks again: the bearer token, or for
     * a request without one the session of its cookie (the web page) */
    const char *auth = ent_http_request_header(req, "authorization");
    char cookie[ENT_TOKEN_STRLEN + 1] = "";
    const char *cred = NULL;
    if (who->kind == ENT_PRINCIPAL_USER && auth != NULL &&
        strncmp(auth, "Bearer ", 7) == 0) {
        cred = auth + 7;
    } else if (who->kind == ENT_PRINCIPAL_USER && who->session &&
               auth == NULL && ent_api_session_cookie(req, cookie) == ENT_OK) {
        cred = cookie;
        x->session = true;
    }
    if (cred != NULL)
        x->token = strdup(cred);
    ent_wipe(cookie, sizeof(cookie));
    if (cred != NULL && x->token == NULL) {
        free(x);
        return ENT_ENOMEM;
    }
    uv_loop_t *loop = ent_node_loop(n);
    uv_timer_init(loop, &x->beat);
    uv_timer_init(loop, &x->kick);
    x->beat.data = x->kick.data = x;
    x->handles = 2;
    if ((rc = ent_events_subscribe(hub, woken, x, &x->sub)) != ENT_OK) {
        sse_closed(x);
        return rc;
    }
    uv_timer_start(&x->beat, beat_cb, ENT_API_EVENTS_HEARTBEAT_MS,
                   ENT_API_EVENTS_HEARTBEAT_MS);
    ent_http_response_stream(resp, &sse_ops, x);
    return ENT_OK;
}

int ent_api_events_get(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp) {
    ent_events_query q;
    ent_principal op;
    char err[256];
    const ent_principal *who = req->principal;
    if (who == NULL) {
        ent_principal_operator(&op);
        who = &op;
    }
    if (ent_api_events_query_parse(
            req->query, ent_http_request_header(req, "last-event-id"),
            ent_http_request_header(req, "accept"), &q, err,
            sizeof(err)) != ENT_OK)
        return ent_http_response_error(resp, 400, ENT_EINVAL, "%s", err);
    if (!q.follow)
        return answer_page(n, who, &q, resp);
    return answer_stream(n, req, who, &q, resp);
}
