/*
 * outbox.h - the webhook delivery engine of a serving node (slot
 * ENT_NODE_WEBHOOKS, spec/webhooks.md §4).
 *
 * Each webhook delivers the events after its durable cursor "hook:ID", in
 * event-id order, one request in flight at a time, through libcurl's multi
 * socket interface driven by the node's libuv loop. A 2xx answer moves the
 * cursor past the event in the same transaction that writes the delivery
 * log row; anything else leaves the cursor and retries the same event after
 * an exponential backoff with jitter. The engine wakes when the events hub
 * says new events were committed, when a webhook changes (changed()), and
 * every few seconds (a webhook whose owner was disabled, a missed wake).
 */
#ifndef ENT_OUTBOX_H
#define ENT_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "node/access/access.h"
#include "node/events/event.h"
#include "node/node.h"

typedef struct ent_webhooks ent_webhooks;

/* What serve configures; a zeroed struct means the defaults. */
typedef struct ent_webhooks_config {
    uint64_t backoff_ms;     /* first retry delay (0: 1 s) */
    uint64_t backoff_max_ms; /* longest retry delay (0: 10 min) */
    const char *ca_file;     /* PEM CA bundle for https (NULL: the system's);
                                copied */
} ent_webhooks_config;

/* Creates the engine of node n; it delivers nothing until started.
 * @return ENT_OK, ENT_ENOMEM, ENT_EIO (libcurl would not initialise). */
int ent_webhooks_new(ent_webhooks **out, ent_node *n,
                     const ent_webhooks_config *cfg);

/* Starts delivering (on the node's loop). @return ENT_OK, ENT_EIO. */
int ent_webhooks_start(ent_webhooks *w);

/* Cancels what is in flight (the cursor stays: it is sent again after a
 * restart) and closes every handle; done(arg) runs once they are closed. */
void ent_webhooks_stop(ent_webhooks *w, void (*done)(void *arg), void *arg);

/* Frees a stopped (or never started) engine. Accepts NULL. */
void ent_webhooks_free(ent_webhooks *w);

/* The engine of a serving node, NULL when none. */
ent_webhooks *ent_webhooks_of(ent_node *n);

/*
 * Writes the acknowledgements the engine holds in memory (it batches them,
 * spec/webhooks.md §4.4). The API calls it before it reads or changes a
 * webhook, so that what it shows is current and a replay is not undone.
 */
void ent_webhooks_flush(ent_webhooks *w);

/*
 * A webhook was added, removed, paused, resumed or replayed (after
 * ent_webhooks_flush and the change's own transaction): reload the table;
 * id (may be NULL) also forgets its backoff, its cancelled attempt and its
 * cursor held in memory, and retries at once.
 */
void ent_webhooks_changed(ent_webhooks *w, const char *id);

/* What the engine knows of one webhook right now. */
typedef struct ent_webhook_live {
    bool in_flight;       /* a request is on the way */
    bool blocked;         /* its owner is disabled or removed */
    uint64_t event;       /* the event being tried (0: none) */
    uint32_t attempt;     /* attempts made at that event */
    uint64_t retry_at;    /* ms when the next retry starts (0: none) */
} ent_webhook_live;

/* Fills *out for webhook id (zeroed when the engine has no such hook). */
void ent_webhooks_live(ent_webhooks *w, const char *id, ent_webhook_live *out);

/*
 * For metrics (GET /metrics, when it exists): *queue_depth, the events after
 * each webhook's cursor summed over the webhooks (of every kind, before
 * filtering); *failures, failed attempts ever, summed (the stored "failed"
 * counters). @return ENT_OK or a store error.
 */
int ent_webhooks_metrics(ent_webhooks *w, uint64_t *queue_depth,
                         uint64_t *failures);

/*
 * The event as owner may see it, for a delivery: the operator (owner "")
 * sees ent_event_json(ev); a user sees what its policies allow, or nothing
 * (*out NULL). New reference in *out.
 */
int ent__webhooks_view(ent_txn *txn, const ent_principal *who,
                       const ent_event *ev, json_t **out);

#endif
