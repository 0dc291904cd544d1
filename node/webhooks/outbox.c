/*
 * outbox.c - delivers webhook events (outbox.h, spec/webhooks.md §4):
 * per webhook, the events after its durable cursor, in id order, one POST
 * in flight, through libcurl's multi socket interface on the libuv loop
 * (CURLMOPT_SOCKETFUNCTION -> uv_poll, CURLMOPT_TIMERFUNCTION -> uv_timer,
 * curl_multi_socket_action from their callbacks).
 */
#include "node/webhooks/outbox.h"
#include "crypto/crypto.h"
#include "node/access/access_events.h"
#include "node/crm/crm_import.h"
#include "node/err.h"
#include "node/metrics.h"
#include "node/log.h"
#include "node/webhooks/curl_dl.h"
#include "node/webhooks/webhook.h"

#include <uv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCAN_BATCH 256               /* events looked at per transaction */
#define TICK_MS 5000                 /* periodic wake-up */
#define CONNECT_TIMEOUT_MS 10000L
#define TOTAL_TIMEOUT_MS 30000L
#define RESPONSE_MAX (64u << 10)     /* bytes of a receiver's answer read */
#define USER_AGENT "Entente-Webhooks/1"

/* libcurl's functions (curl_dl.h), set by ent_webhooks_new before any use */
static const ent_curl *cu;
#define FLUSH_MS 50                  /* acknowledgements written within */
#define PEND_MAX 64                  /* ... or once this many wait */

typedef struct hook hook;
typedef struct sock_ctx sock_ctx;

struct ent_webhooks {
    ent_node *node;
    bool collecting; /* webhooks_collect is registered for GET /metrics */
    uv_loop_t *loop;
    ent_webhooks_config cfg;
    char *ca_file;
    CURLM *multi;
    bool curl_inited;
    uv_timer_t curl_timer, tick, flush_timer;
    bool flush_armed;
    int open_handles; /* uv handles not yet closed */
    bool started, closing;
    ent_events_sub *sub;
    hook *hooks;
    sock_ctx *socks;
    void (*done)(void *arg);
    void *done_arg;
};

/* An acknowledged delivery not yet written (flush_all). */
typedef struct pend_row {
    uint64_t event, duration_ms, time;
    uint32_t attempt;
    int status;
} pend_row;

struct hook {
    ent_webhooks *w;
    uint64_t acked;      /* the cursor as far as this engine knows */
    bool acked_valid;    /* acked is at least the stored cursor */
    bool acked_dirty;    /* acked is not yet written */
    pend_row pend[PEND_MAX];
    size_t npend;
    char id[ENT_WEBHOOK_ID_HEX + 1];
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    uint64_t event;    /* the event in flight or waiting for a retry */
    uint32_t attempt;  /* attempts at event */
    uint64_t started;  /* ms */
    uint64_t retry_at; /* ms; 0: no retry pending */
    size_t resp_bytes;
    bool in_flight, waiting, blocked, gone, seen;
    uv_timer_t timer;
    char errbuf[CURL_ERROR_SIZE];
    hook *next;
};

struct sock_ctx {
    ent_webhooks *w;
    uv_poll_t poll;
    curl_socket_t fd;
    sock_ctx *prev, *next;
};

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const ent_log *wlog(ent_webhooks *w) {
    return ent_node_log(w->node);
}

static void kick(hook *h);
static void handle_closed(uv_handle_t *hd);

/* ---- the view ---------------------------------------------------------------- */

/* The operator's deliveries of an event on an object imported from a CRM
 * carry its external ids ({"salesforce":"006..."}, spec/crm.md §7), so a
 * CRM's inbound endpoint finds its record. Only the operator's: a user's
 * policy may deny the private field the id also lives in. Local only:
 * webhooks go to this org's own endpoints. */
static int add_external_ids(ent_txn *txn, const ent_event *ev, json_t *v) {
    json_t *ids = NULL;
    int rc;
    if (!ev->has_object)
        return ENT_OK;
    rc = ent_crm_external_ids(txn, ev->object, &ids);
    if (rc != ENT_OK || ids == NULL)
        return rc == ENT_ENOMEM ? rc : ENT_OK; /* the event goes anyway */
    return json_object_set_new(v, "external_ids", ids) == 0 ? ENT_OK
                                                            : ENT_ENOMEM;
}

int ent__webhooks_view(ent_txn *txn, const ent_principal *who,
                       const ent_event *ev, json_t **out) {
    *out = NULL;
    /* a test ping carries no object data: every owner gets it */
    if (who->kind == ENT_PRINCIPAL_OPERATOR ||
        strcmp(ev->kind, "webhook.test") == 0) {
        *out = ent_event_json(ev);
        if (*out == NULL)
            return ENT_ENOMEM;
        return who->kind == ENT_PRINCIPAL_OPERATOR
                   ? add_external_ids(txn, ev, *out)
                   : ENT_OK;
    }
    return ent_access_event_view(txn, who, ev, out);
}

/* ---- libcurl on the loop ----------------------------------------------------- */

static void check_done(ent_webhooks *w);

static void on_poll(uv_poll_t *p, int status, int events) {
    sock_ctx *s = p->data;
    ent_webhooks *w = s->w;
    int running, flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else
        flags = ((events & UV_READABLE) ? CURL_CSELECT_IN : 0) |
                ((events & UV_WRITABLE) ? CURL_CSELECT_OUT : 0);
    cu->multi_socket_action(w->multi, s->fd, flags, &running);
    check_done(w);
}

static void sock_close(sock_ctx *s) {
    ent_webhooks *w = s->w;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        w->socks = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, handle_closed);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *data,
                     void *sockp) {
    ent_webhooks *w = data;
    sock_ctx *s = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            if (!w->closing)
                cu->multi_assign(w->multi, fd, NULL);
            sock_close(s);
        }
        return 0;
    }
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            return -1;
        if (uv_poll_init_socket(w->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->w = w;
        s->fd = fd;
        s->poll.data = s;
        w->open_handles++;
        s->next = w->socks;
        if (w->socks != NULL)
            w->socks->prev = s;
        w->socks = s;
        cu->multi_assign(w->multi, fd, s);
    }
    int ev = ((what & CURL_POLL_IN) ? UV_READABLE : 0) |
             ((what & CURL_POLL_OUT) ? UV_WRITABLE : 0);
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

static void on_curl_timeout(uv_timer_t *t) {
    ent_webhooks *w = t->data;
    int running;
    cu->multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(w);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *data) {
    ent_webhooks *w = data;
    if (w->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&w->curl_timer);
    else
        uv_timer_start(&w->curl_timer, on_curl_timeout, (uint64_t)timeout_ms,
                       0);
    return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *data) {
    hook *h = data;
    size_t n = size * nmemb;
    h->resp_bytes += n;
    return h->resp_bytes > RESPONSE_MAX ? 0 : n; /* read, discarded */
}

/* ---- hooks ------------------------------------------------------------------- */

static void hook_free(hook *h) {
    if (h->easy != NULL)
        cu->easy_cleanup(h->easy);
    cu->slist_free_all(h->headers);
    free(h->body);
    free(h);
}

/* One uv handle of the engine is closed; the last one ends the stop. */
static void handle_gone(ent_webhooks *w) {
    if (--w->open_handles == 0 && w->closing && w->done != NULL) {
        void (*done)(void *) = w->done;
        w->done = NULL;
        done(w->done_arg);
    }
}

static void handle_closed(uv_handle_t *hd) {
    ent_webhooks *w;
    if (hd->type == UV_POLL) {
        sock_ctx *s = hd->data;
        w = s->w;
        free(s);
    } else {
        hook *h = hd->data;
        w = h->w;
        hook_free(h);
    }
    handle_gone(w);
}

static void engine_timer_closed(uv_handle_t *hd) {
    handle_gone(hd->data);
}

static void hook_cancel(hook *h) {
    ent_webhooks *w = h->w;
    if (h->in_flight)
        cu->multi_remove_handle(w->multi, h->easy);
    h->in_flight = false;
    uv_timer_stop(&h->timer);
    h->waiting = false;
    h->retry_at = 0;
}

/* Unlinks h and closes its timer; it is freed in the close callback. */
static void hook_drop(hook *h) {
    ent_webhooks *w = h->w;
    for (hook **p = &w->hooks; *p != NULL; p = &(*p)->next)
        if (*p == h) {
            *p = h->next;
            break;
        }
    hook_cancel(h);
    uv_close((uv_handle_t *)&h->timer, handle_closed);
}

static hook *hook_find(ent_webhooks *w, const char *id) {
    for (hook *h = w->hooks; h != NULL; h = h->next)
        if (strcmp(h->id, id) == 0)
            return h;
    return NULL;
}

static void on_retry(uv_timer_t *t) {
    hook *h = t->data;
    h->waiting = false;
    h->retry_at = 0;
    kick(h);
}

static hook *hook_add(ent_webhooks *w, const char *id) {
    hook *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->w = w;
    snprintf(h->id, sizeof(h->id), "%s", id);
    h->easy = cu->easy_init();
    if (h->easy == NULL || uv_timer_init(w->loop, &h->timer) != 0) {
        hook_free(h);
        return NULL;
    }
    h->timer.data = h;
    w->open_handles++;
    h->next = w->hooks;
    w->hooks = h;
    return h;
}

struct sync_ctx {
    ent_webhooks *w;
};

static int sync_one(void *data, const ent_webhook *r) {
    struct sync_ctx *c = data;
    hook *h = hook_find(c->w, r->id);
    if (h == NULL)
        h = hook_add(c->w, r->id);
    if (h != NULL)
        h->seen = true;
    return 0;
}

static int sync_fn(ent_txn *txn, void *data) {
    return ent_webhook_each(txn, sync_one, data);
}

/* Makes the hook list match the table and kicks every hook. */
static void sync_hooks(ent_webhooks *w) {
    struct sync_ctx c = {w};
    for (hook *h = w->hooks; h != NULL; h = h->next)
        h->seen = false;
    int rc = ent_store_read(ent_node_store(w->node), sync_fn, &c);
    if (rc != ENT_OK) {
        ENT_WARN(wlog(w), "webhooks: reading the table: %s", ent_strerror(rc));
        return;
    }
    for (hook *h = w->hooks, *nx; h != NULL; h = nx) {
        nx = h->next;
        if (!h->seen)
            hook_drop(h);
    }
    for (hook *h = w->hooks; h != NULL; h = h->next)
        kick(h);
}

/* ---- finding the next event ---------------------------------------------- */

struct next_ctx {
    hook *h;
    ent_txn *txn;
    const ent_webhook *rec;
    const ent_principal *who;
    ent_rule *rules;
    size_t nrules;
    uint64_t cursor;  /* the stored cursor */
    uint64_t skip_to; /* the last event looked at, none of them for us */
    size_t seen;
    uint64_t gap_to;  /* events cursor+1..gap_to were pruned unsent */
    json_t *body;     /* the event to send, as its owner may see it */
    uint64_t event;
    char kind[ENT_EVENT_KIND_MAX + 1];
};

static int next_one(void *data, const ent_event *ev) {
    struct next_ctx *c = data;
    json_t *v = NULL;
    int rc = ENT_OK;
    if (c->seen++ == 0 && ev->id > c->cursor + 1)
        c->gap_to = ev->id - 1; /* ids are dense but for retention */
    bool want = ent_webhook_kind_match(c->rec, ev->kind);
    if (strcmp(ev->kind, "webhook.test") == 0) {
        /* a test ping goes to the webhook it names, whatever its filter */
        const char *to =
            json_string_value(json_object_get(ev->data, "webhook"));
        want = to != NULL && strcmp(to, c->h->id) == 0;
    }
    if (want && (c->who->kind == ENT_PRINCIPAL_OPERATOR ||
                 strcmp(ev->kind, "webhook.test") == 0)) {
        v = ent_event_json(ev);
        rc = v != NULL ? ENT_OK : ENT_ENOMEM;
        if (rc == ENT_OK && c->who->kind == ENT_PRINCIPAL_OPERATOR)
            rc = add_external_ids(c->txn, ev, v);
    } else if (want) {
        rc = ent_access_event_view_rules(c->txn, c->rules, c->nrules, c->who,
                                         ev, &v);
    }
    if (rc != ENT_OK)
        return rc;
    if (v == NULL) {
        c->skip_to = ev->id;
        return 0;
    }
    c->body = v;
    c->event = ev->id;
    snprintf(c->kind, sizeof(c->kind), "%s", ev->kind);
    return 1;
}

static int next_fn(ent_txn *txn, void *data) {
    struct next_ctx *c = data;
    char cur[32];
    c->txn = txn;
    ent_webhook_cursor_name(cur, c->h->id);
    int rc = ent_events_cursor_get(txn, cur, &c->cursor);
    if (rc == ENT_ENOENT) {
        c->cursor = 0;
        rc = ENT_OK;
    }
    if (c->h->acked_valid && c->h->acked > c->cursor)
        c->cursor = c->h->acked; /* acknowledged, not yet written */
    if (rc == ENT_OK && c->who->kind != ENT_PRINCIPAL_OPERATOR)
        rc = ent_access_policies_load(txn, &c->rules, &c->nrules);
    if (rc == ENT_OK) {
        rc = ent_events_read(txn, c->cursor, SCAN_BATCH, next_one, c);
        if (rc > 0)
            rc = ENT_OK;
    }
    return rc;
}

struct rec_ctx {
    const char *id;
    ent_webhook *rec;
};

struct gap_ctx {
    const char *id;
    uint64_t from, to, now;
};

/* Notes in the delivery log that retention removed events before they
 * were sent (spec/webhooks.md §1). */
static int gap_fn(ent_txn *txn, void *data) {
    struct gap_ctx *c = data;
    char err[ENT_WEBHOOK_ERR_MAX];
    ent_webhook rec;
    int rc = ent_webhook_get(txn, c->id, &rec);
    if (rc != ENT_OK)
        return rc;
    snprintf(err, sizeof(err),
             "events %llu to %llu were removed by retention before delivery",
             (unsigned long long)c->from, (unsigned long long)c->to);
    ent_webhook_attempt a = {.event = c->to, .error = err, .time = c->now};
    rc = ent_webhook_log_add(txn, &rec, &a);
    return rc == ENT_OK ? ent_webhook_put(txn, &rec) : rc;
}

static int rec_fn(ent_txn *txn, void *data) {
    struct rec_ctx *c = data;
    return ent_webhook_get(txn, c->id, c->rec);
}

/* Whether owner may receive events now: the user exists, is enabled and,
 * when the webhook has owner_id, is that very user (not a later user of
 * the same name). Fills *who. */
static bool owner_ok(ent_webhooks *w, const char *owner, const char *owner_id,
                     ent_principal *who) {
    json_t *u = NULL;
    if (owner[0] == '\0') {
        ent_principal_operator(who);
        return true;
    }
    if (ent_access_user_json(ent_node_store(w->node), owner, &u) != ENT_OK)
        return false;
    const char *uid = json_string_value(json_object_get(u, "id"));
    bool ok = !json_is_true(json_object_get(u, "disabled")) &&
              (owner_id[0] == '\0' ||
               (uid != NULL && strcmp(uid, owner_id) == 0));
    json_decref(u);
    return ok && ent_access_principal(ent_node_store(w->node), owner, who) ==
                     ENT_OK;
}

/* ---- writing acknowledgements -------------------------------------------- */

/*
 * Acknowledgements (the cursor, the counters, the delivery-log rows of
 * successes) are written in one transaction for every webhook at most
 * FLUSH_MS after the first of them, or once PEND_MAX of a webhook wait:
 * one durable commit per batch instead of one per delivery. A crash before
 * the write sends those events again (at-least-once, spec/webhooks.md
 * §4.4). Failures are written at once, after the successes before them.
 */
static int flush_one(ent_txn *txn, hook *h) {
    ent_webhook rec;
    char cur[32];
    if (!h->acked_dirty && h->npend == 0)
        return ENT_OK;
    int rc = ent_webhook_get(txn, h->id, &rec);
    if (rc == ENT_ENOENT)
        return ENT_OK; /* removed: nothing to keep */
    if (rc == ENT_OK && h->acked_dirty) {
        ent_webhook_cursor_name(cur, h->id);
        rc = ent_events_cursor_set(txn, cur, h->acked);
    }
    for (size_t i = 0; rc == ENT_OK && i < h->npend; i++) {
        ent_webhook_attempt a = {.event = h->pend[i].event,
                                 .attempt = h->pend[i].attempt,
                                 .status = h->pend[i].status,
                                 .duration_ms = h->pend[i].duration_ms,
                                 .time = h->pend[i].time};
        rc = ent_webhook_log_add(txn, &rec, &a);
    }
    if (rc == ENT_OK && h->npend > 0) {
        rec.delivered += h->npend;
        rec.failures = 0;
        rec.failing_since = 0;
        rec.last_error[0] = '\0';
    }
    return rc == ENT_OK ? ent_webhook_put(txn, &rec) : rc;
}

static int flush_fn(ent_txn *txn, void *data) {
    ent_webhooks *w = data;
    int rc = ENT_OK;
    for (hook *h = w->hooks; rc == ENT_OK && h != NULL; h = h->next)
        rc = flush_one(txn, h);
    return rc;
}

/* Writes every webhook's pending acknowledgements now. */
static void flush_all(ent_webhooks *w) {
    bool any = false;
    for (hook *h = w->hooks; h != NULL && !any; h = h->next)
        any = h->acked_dirty || h->npend > 0;
    if (w->flush_armed) {
        uv_timer_stop(&w->flush_timer);
        w->flush_armed = false;
    }
    if (!any)
        return;
    int rc = ent_store_write(ent_node_store(w->node), flush_fn, w);
    if (rc != ENT_OK) {
        /* kept in memory; tried again */
        ENT_WARN(wlog(w), "webhooks: recording deliveries: %s",
                 ent_strerror(rc));
        return;
    }
    for (hook *h = w->hooks; h != NULL; h = h->next) {
        h->acked_dirty = false;
        h->npend = 0;
    }
}

static void on_flush(uv_timer_t *t) {
    ent_webhooks *w = t->data;
    w->flush_armed = false;
    flush_all(w);
}

static void arm_flush(ent_webhooks *w) {
    if (!w->flush_armed && !w->closing) {
        w->flush_armed = true;
        uv_timer_start(&w->flush_timer, on_flush, FLUSH_MS, 0);
    }
}

/* The events up to id are done for h (delivered or not for it). */
static void mark_acked(hook *h, uint64_t id) {
    h->acked = id;
    h->acked_valid = true;
    h->acked_dirty = true;
    arm_flush(h->w);
}

/* ---- one delivery ------------------------------------------------------------ */

static void wait_then_kick(hook *h, uint64_t delay) {
    h->waiting = true;
    h->retry_at = now_ms() + delay;
    uv_timer_start(&h->timer, on_retry, delay, 0);
}

static int send_event(hook *h, const ent_webhook *rec, uint64_t event,
                      const char *kind, json_t *body) {
    ent_webhooks *w = h->w;
    char sig[ENT_WEBHOOK_SIG_MAX], line[ENT_WEBHOOK_SIG_MAX + 64];
    free(h->body);
    h->body = json_dumps(body, JSON_COMPACT);
    if (h->body == NULL)
        return ENT_ENOMEM;
    size_t len = strlen(h->body);
    if (event != h->event) {
        h->event = event;
        h->attempt = 0;
    }
    h->attempt++;
    uint64_t t = now_ms() / 1000u;
    ent_webhook_sign(sig, rec->secret, t, h->body, len);
    cu->slist_free_all(h->headers);
    h->headers = NULL;
    const char *fixed[] = {"Content-Type: application/json", "Expect:"};
    for (size_t i = 0; i < 2; i++)
        h->headers = cu->slist_append(h->headers, fixed[i]);
    snprintf(line, sizeof(line), "Entente-Event-Id: %llu",
             (unsigned long long)event);
    h->headers = cu->slist_append(h->headers, line);
    snprintf(line, sizeof(line), "Entente-Event-Kind: %s", kind);
    h->headers = cu->slist_append(h->headers, line);
    snprintf(line, sizeof(line), "Entente-Webhook-Id: %s", h->id);
    h->headers = cu->slist_append(h->headers, line);
    snprintf(line, sizeof(line), "Entente-Delivery-Attempt: %u", h->attempt);
    h->headers = cu->slist_append(h->headers, line);
    snprintf(line, sizeof(line), "Entente-Signature: %s", sig);
    h->headers = cu->slist_append(h->headers, line);
    if (h->headers == NULL)
        return ENT_ENOMEM;
    CURL *e = h->easy;
    h->errbuf[0] = '\0';
    h->resp_bytes = 0;
    cu->easy_setopt(e, CURLOPT_URL, rec->url);
    cu->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    cu->easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    cu->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    cu->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    cu->easy_setopt(e, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
    cu->easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
    cu->easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
    cu->easy_setopt(e, CURLOPT_POST, 1L);
    cu->easy_setopt(e, CURLOPT_POSTFIELDS, h->body);
    cu->easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
    cu->easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    cu->easy_setopt(e, CURLOPT_WRITEDATA, h);
    cu->easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
    cu->easy_setopt(e, CURLOPT_PRIVATE, h);
    cu->easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    cu->easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (w->ca_file != NULL)
        cu->easy_setopt(e, CURLOPT_CAINFO, w->ca_file);
    h->started = now_ms();
    if (cu->multi_add_handle(w->multi, e) != CURLM_OK)
        return ENT_EIO;
    h->in_flight = true;
    return ENT_OK;
}

/*
 * Looks for the next event this webhook delivers and sends it; moves the
 * cursor over events that are not for it (other kinds, or hidden from its
 * owner). Does nothing while a request is in flight or a retry waits.
 */
static void kick(hook *h) {
    ent_webhooks *w = h->w;
    ent_webhook *rec = NULL;
    ent_principal who;
    struct next_ctx c;
    memset(&c, 0, sizeof(c));
    if (w->closing || !w->started || h->in_flight || h->waiting || h->gone)
        return;
    rec = malloc(sizeof(*rec));
    if (rec == NULL)
        return;
    struct rec_ctx rc_ = {h->id, rec};
    int rc = ent_store_read(ent_node_store(w->node), rec_fn, &rc_);
    if (rc != ENT_OK || rec->paused)
        goto out; /* removed (the table sync drops it) or paused */
    h->blocked = !owner_ok(w, rec->owner, rec->owner_id, &who);
    if (h->blocked)
        goto out; /* the tick tries again */
    c.h = h;
    c.rec = rec;
    c.who = &who;
    rc = ent_store_read(ent_node_store(w->node), next_fn, &c);
    if (rc != ENT_OK) {
        ENT_WARN(wlog(w), "webhooks: %s: reading events: %s", h->id,
                 ent_strerror(rc));
        wait_then_kick(h, TICK_MS);
        goto out;
    }
    if (c.gap_to > 0) {
        struct gap_ctx g = {h->id, c.cursor + 1, c.gap_to, now_ms()};
        ENT_WARN(wlog(w),
                 "webhooks: %s: events %llu to %llu were removed by retention "
                 "before delivery",
                 h->id, (unsigned long long)g.from, (unsigned long long)g.to);
        flush_all(w);
        if (ent_store_write(ent_node_store(w->node), gap_fn, &g) == ENT_OK)
            mark_acked(h, c.gap_to);
    }
    if (c.body != NULL) {
        rc = send_event(h, rec, c.event, c.kind, c.body);
        if (rc != ENT_OK) {
            ENT_WARN(wlog(w), "webhooks: %s: starting a request: %s", h->id,
                     ent_strerror(rc));
            wait_then_kick(h, TICK_MS);
        }
        goto out;
    }
    if (c.skip_to > c.cursor)
        mark_acked(h, c.skip_to);
    if (c.seen == SCAN_BATCH)
        wait_then_kick(h, 0); /* more to look at: go on from the loop */
out:
    json_decref(c.body);
    free(c.rules);
    free(rec);
}

struct done_ctx { /* a failed attempt */
    hook *h;
    bool ok;
    ent_webhook_attempt a;
    uint64_t now;
    bool failing; /* it just became failing */
};

static int done_fn(ent_txn *txn, void *data) {
    struct done_ctx *c = data;
    ent_webhook rec;
    int rc = ent_webhook_get(txn, c->h->id, &rec);
    if (rc != ENT_OK)
        return rc;
    rec.failed++;
    rec.failures++;
    c->failing = rec.failures == ENT_WEBHOOK_FAILING_AFTER;
    if (rec.failing_since == 0)
        rec.failing_since = c->now;
    snprintf(rec.last_error, sizeof(rec.last_error), "%s", c->a.error);
    rc = ent_webhook_log_add(txn, &rec, &c->a);
    if (rc == ENT_OK)
        rc = ent_webhook_put(txn, &rec);
    return rc;
}

static void finished(hook *h, CURLcode res) {
    ent_webhooks *w = h->w;
    long status = 0;
    char err[ENT_WEBHOOK_ERR_MAX];
    cu->easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
    cu->multi_remove_handle(w->multi, h->easy);
    h->in_flight = false;
    struct done_ctx c = {.h = h, .now = now_ms()};
    c.ok = res == CURLE_OK && status >= 200 && status <= 299;
    if (c.ok) {
        if (h->npend == PEND_MAX)
            flush_all(w);
        h->pend[h->npend++] = (pend_row){.event = h->event,
                                         .attempt = h->attempt,
                                         .status = (int)status,
                                         .duration_ms = c.now - h->started,
                                         .time = c.now};
        mark_acked(h, h->event);
        h->event = 0;
        h->attempt = 0;
        kick(h);
        return;
    }
    if (res == CURLE_WRITE_ERROR && h->resp_bytes > RESPONSE_MAX)
        snprintf(err, sizeof(err), "the answer is longer than 64 KiB");
    else if (res != CURLE_OK)
        snprintf(err, sizeof(err), "%.150s",
                 h->errbuf[0] ? h->errbuf : cu->easy_strerror(res));
    else
        snprintf(err, sizeof(err), "HTTP %ld", status);
    c.a = (ent_webhook_attempt){.event = h->event,
                                .attempt = h->attempt,
                                .status = (int)status,
                                .error = c.ok ? NULL : err,
                                .duration_ms = c.now - h->started,
                                .time = c.now};
    flush_all(w); /* the successes before it first */
    int rc = ent_store_write(ent_node_store(w->node), done_fn, &c);
    if (rc == ENT_ENOENT) {
        h->gone = true; /* removed meanwhile */
        return;
    }
    if (rc != ENT_OK)
        ENT_WARN(wlog(w), "webhooks: %s: recording a delivery: %s", h->id,
                 ent_strerror(rc));
    ENT_DEBUG(wlog(w), "webhooks: %s: event %llu attempt %u: %s", h->id,
              (unsigned long long)h->event, h->attempt, err);
    if (c.failing)
        ENT_WARN(wlog(w),
                 "webhooks: %s: %d failures in a row, last: %s (the events "
                 "wait; nothing is dropped)",
                 h->id, ENT_WEBHOOK_FAILING_AFTER, err);
    uint32_t rnd;
    ent_random(&rnd, sizeof(rnd));
    wait_then_kick(h, ent_webhook_backoff_ms(h->attempt, w->cfg.backoff_ms,
                                             w->cfg.backoff_max_ms, rnd));
}

static void check_done(ent_webhooks *w) {
    CURLMsg *m;
    int left;
    while ((m = cu->multi_info_read(w->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        hook *h = NULL;
        CURL *e = m->easy_handle;
        CURLcode res = m->data.result;
        cu->easy_getinfo(e, CURLINFO_PRIVATE, (char **)&h);
        if (h != NULL)
            finished(h, res);
        else
            cu->multi_remove_handle(w->multi, e);
    }
}

/* ---- the engine ---------------------------------------------------------------- */

static void on_events(void *data) {
    ent_webhooks *w = data;
    for (hook *h = w->hooks; h != NULL; h = h->next)
        kick(h);
}

static void on_tick(uv_timer_t *t) {
    on_events(t->data);
}

/* GET /metrics: the backlog behind every webhook's cursor and the failed
 * attempts (spec/api.md "Metrics"). */
static void webhooks_collect(ent_metrics_out *o, void *data) {
    ent_webhooks *w = data;
    uint64_t depth = 0, failures = 0;
    if (ent_webhooks_metrics(w, &depth, &failures) != ENT_OK)
        return;
    ent_metrics_family(o, "entente_webhook_queue_depth", ENT_METRIC_GAUGE,
                       "events not yet delivered, summed over the webhooks");
    ent_metrics_sample(o, (double)depth, NULL);
    ent_metrics_family(o, "entente_webhook_failures_total", ENT_METRIC_COUNTER,
                       "webhook delivery attempts that failed");
    ent_metrics_sample(o, (double)failures, NULL);
}

int ent_webhooks_new(ent_webhooks **out, ent_node *n,
                     const ent_webhooks_config *cfg) {
    ent_webhooks *w = calloc(1, sizeof(*w));
    *out = NULL;
    if (w == NULL)
        return ENT_ENOMEM;
    w->node = n;
    w->loop = ent_node_loop(n);
    if (cfg != NULL)
        w->cfg = *cfg;
    if (w->cfg.backoff_ms == 0)
        w->cfg.backoff_ms = ENT_WEBHOOK_BACKOFF_MS;
    if (w->cfg.backoff_max_ms == 0)
        w->cfg.backoff_max_ms = ENT_WEBHOOK_BACKOFF_MAX_MS;
    if (w->cfg.backoff_max_ms < w->cfg.backoff_ms)
        w->cfg.backoff_max_ms = w->cfg.backoff_ms;
    if (cfg != NULL && cfg->ca_file != NULL &&
        (w->ca_file = strdup(cfg->ca_file)) == NULL) {
        free(w);
        return ENT_ENOMEM;
    }
    w->cfg.ca_file = w->ca_file;
    char lib_err[256];
    if ((cu = ent_curl_get(lib_err, sizeof(lib_err))) == NULL) {
        ent_log_write(ent_node_log(n), ENT_LOG_ERROR, "webhooks: %s", lib_err);
        ent_webhooks_free(w);
        return ENT_EIO;
    }
    if (cu->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ent_webhooks_free(w);
        return ENT_EIO;
    }
    w->curl_inited = true;
    if (ent_metrics_collector_add(ent_node_metrics(n), webhooks_collect, w) !=
        ENT_OK) {
        ent_webhooks_free(w);
        return ENT_ENOMEM;
    }
    w->collecting = true;
    *out = w;
    return ENT_OK;
}

int ent_webhooks_start(ent_webhooks *w) {
    ent_events_hub *hub = ent_events_hub_of(w->node);
    if (w->started || w->closing)
        return ENT_EINVAL;
    w->multi = cu->multi_init();
    if (w->multi == NULL)
        return ENT_EIO;
    cu->multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    cu->multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
    cu->multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    cu->multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
    uv_timer_init(w->loop, &w->curl_timer);
    uv_timer_init(w->loop, &w->tick);
    uv_timer_init(w->loop, &w->flush_timer);
    w->curl_timer.data = w;
    w->tick.data = w;
    w->flush_timer.data = w;
    w->open_handles += 3;
    w->started = true;
    if (hub != NULL) {
        int rc = ent_events_subscribe(hub, on_events, w, &w->sub);
        if (rc != ENT_OK)
            return rc;
    }
    uv_timer_start(&w->tick, on_tick, TICK_MS, TICK_MS);
    sync_hooks(w);
    return ENT_OK;
}

void ent_webhooks_stop(ent_webhooks *w, void (*done)(void *arg), void *arg) {
    if (w == NULL || !w->started || w->closing) {
        if (done != NULL)
            done(arg);
        return;
    }
    w->closing = true;
    w->done = done;
    w->done_arg = arg;
    ent_events_unsubscribe(w->sub);
    w->sub = NULL;
    flush_all(w); /* what was acknowledged stays acknowledged */
    while (w->hooks != NULL)
        hook_drop(w->hooks);
    cu->multi_cleanup(w->multi); /* closes its sockets: socket_cb */
    w->multi = NULL;
    while (w->socks != NULL)
        sock_close(w->socks);
    uv_close((uv_handle_t *)&w->curl_timer, engine_timer_closed);
    uv_close((uv_handle_t *)&w->tick, engine_timer_closed);
    uv_close((uv_handle_t *)&w->flush_timer, engine_timer_closed);
}

void ent_webhooks_free(ent_webhooks *w) {
    if (w == NULL)
        return;
    if (w->collecting)
        ent_metrics_collector_remove(ent_node_metrics(w->node),
                                     webhooks_collect, w);
    if (w->multi != NULL)
        cu->multi_cleanup(w->multi);
    if (w->curl_inited)
        cu->global_cleanup();
    free(w->ca_file);
    free(w);
}

ent_webhooks *ent_webhooks_of(ent_node *n) {
    return ent_node_part_state(n, ENT_NODE_WEBHOOKS);
}

void ent_webhooks_changed(ent_webhooks *w, const char *id) {
    if (w == NULL || !w->started || w->closing)
        return;
    hook *h = id != NULL ? hook_find(w, id) : NULL;
    if (h != NULL) {
        hook_cancel(h);
        h->event = 0;
        h->attempt = 0;
        h->acked_valid = false; /* the stored cursor decides (replay) */
        h->acked_dirty = false; /* ent_webhooks_flush ran before */
    }
    sync_hooks(w);
}

void ent_webhooks_live(ent_webhooks *w, const char *id, ent_webhook_live *out) {
    memset(out, 0, sizeof(*out));
    hook *h = w != NULL ? hook_find(w, id) : NULL;
    if (h == NULL)
        return;
    out->in_flight = h->in_flight;
    out->blocked = h->blocked;
    out->event = h->event;
    out->attempt = h->attempt;
    out->retry_at = h->waiting ? h->retry_at : 0;
}

void ent_webhooks_flush(ent_webhooks *w) {
    if (w != NULL && w->started && !w->closing)
        flush_all(w);
}

struct metrics_ctx {
    ent_webhooks *w;
    ent_txn *txn;
    uint64_t last, depth, failures;
};

static int metrics_one(void *data, const ent_webhook *r) {
    struct metrics_ctx *c = data;
    char cur[32];
    uint64_t at = 0;
    ent_webhook_cursor_name(cur, r->id);
    int rc = ent_events_cursor_get(c->txn, cur, &at);
    if (rc != ENT_OK && rc != ENT_ENOENT)
        return rc;
    hook *h = c->w != NULL ? hook_find(c->w, r->id) : NULL;
    if (h != NULL && h->acked_valid && h->acked > at)
        at = h->acked;
    c->depth += c->last > at ? c->last - at : 0;
    c->failures += r->failed;
    return 0;
}

static int metrics_fn(ent_txn *txn, void *data) {
    struct metrics_ctx *c = data;
    c->txn = txn;
    int rc = ent_events_last(txn, &c->last);
    return rc == ENT_OK ? ent_webhook_each(txn, metrics_one, c) : rc;
}

int ent_webhooks_metrics(ent_webhooks *w, uint64_t *queue_depth,
                         uint64_t *failures) {
    struct metrics_ctx c = {.w = w};
    *queue_depth = *failures = 0;
    if (w == NULL)
        return ENT_OK;
    int rc = ent_store_read(ent_node_store(w->node), metrics_fn, &c);
    if (rc == ENT_OK) {
        *queue_depth = c.depth;
        *failures = c.failures;
    }
    return rc;
}
