/*
 * event.h - the node's local event stream (spec/events.md).
 *
 * Every change of this node's shared or private state, and every
 * membership, invite, approval and equivocation happening, becomes one
 * event: an id (1, 2, 3, ... in commit order, never reused), a wall-clock
 * time, a kind, the object and org it concerns, the local user who caused
 * it (NULL for changes that arrived from partners) and kind-specific data.
 * Events live in the "events" table (spec/storage.md), keyed by big-endian
 * id, and are written in the same LMDB write transaction as the change they
 * describe (ent_events_append), so an aborted change leaves no event and a
 * committed one always has its event. They are local: never sent to
 * partners, never in an op.
 *
 * Readers (the SSE endpoint, webhooks) keep a cursor, the last id they
 * handled, and read what follows it with ent_events_read. To learn that new
 * events exist without polling, they subscribe to the hub (below): after a
 * write transaction that appended events commits, the hub calls each
 * subscriber once, from the loop.
 *
 * The data of an event may carry private values and field names; whoever
 * outputs events filters them through the reader's access policy first.
 */
#ifndef ENT_EVENT_H
#define ENT_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "storage/store.h"

struct uv_loop_s;
struct ent_log;

#define ENT_EVENT_KIND_MAX 48      /* bytes of a kind name */
#define ENT_EVENT_USER_MAX 64      /* bytes of a user name */
#define ENT_EVENT_MAX (64u << 10)  /* bytes of one stored event (JSON) */

/* The kinds (spec/events.md section 3, which gives each kind's data). */
#define ENT_EV_OBJECT_CREATED "object.created"
#define ENT_EV_FIELDS_CHANGED "fields.changed"
#define ENT_EV_PRIVATE_CHANGED "private.changed"
#define ENT_EV_COMMENT_ADDED "comment.added"
#define ENT_EV_MEMBER_JOINED "member.joined"
#define ENT_EV_MEMBER_LEFT "member.left"
#define ENT_EV_MEMBER_ROLE "member.role_changed"
#define ENT_EV_KEY_ROTATED "key.rotated"
#define ENT_EV_INVITE_CREATED "invite.created"
#define ENT_EV_INVITE_REDEEMED "invite.redeemed"
#define ENT_EV_INVITE_REVOKED "invite.revoked"
#define ENT_EV_EQUIVOCATION "equivocation.detected"
#define ENT_EV_REWIND "rewind.recorded"
#define ENT_EV_APPROVAL_REQUESTED "approval.requested"
#define ENT_EV_APPROVAL_GIVEN "approval.given"

/*
 * One event. On append, id and time_ms are assigned by the store (the
 * caller's values are ignored); kind is required ([a-z_.]+); data is
 * borrowed and may be NULL (then the stored text has no "data" member and
 * ent_event_json shows {}).
 */
typedef struct ent_event {
    uint64_t id;
    uint64_t time_ms;      /* ms since the Unix epoch */
    const char *kind;      /* e.g. "object.created", "fields.changed" */
    bool has_object;
    uint8_t object[32];
    bool has_org;          /* the org whose op or action caused it */
    uint8_t org[32];
    const char *user;      /* local user, NULL when none */
    json_t *data;          /* kind-specific, borrowed */
} ent_event;

/*
 * Appends ev in txn with the next id and the time now_ms; marks txn with
 * ENT_TXN_MARK_EVENTS. *id_out (may be NULL) gets the id.
 * @return ENT_OK, ENT_EINVAL (bad kind or user), ENT_ETOOBIG, store errors.
 */
int ent_events_append(ent_txn *txn, const ent_event *ev, uint64_t now_ms,
                      uint64_t *id_out);

/*
 * ent_events_append with the data given as text: data (dlen bytes) is the
 * compact JSON text of an object, exactly as ent_events_json_compact would
 * write it (node/jtext.h writes such text without a jansson value); it is
 * stored as it is, unchecked. ev->data must be NULL.
 * @return as ent_events_append.
 */
int ent_events_append_text(ent_txn *txn, const ent_event *ev,
                           const char *data, size_t dlen, uint64_t now_ms,
                           uint64_t *id_out);

/*
 * The JSON text of v exactly as json_dumps(v, JSON_COMPACT) writes it
 * (insertion order, no spaces, the same escapes) at a fraction of its
 * cost: the text ent_events_append stores. malloc'ed; NULL on no memory.
 */
char *ent_events_json_compact(const json_t *v);

/* The id of the newest event (0 when there is none). */
int ent_events_last(ent_txn *txn, uint64_t *id_out);

/* The id of the oldest event still kept (0 when there is none). */
int ent_events_first(ent_txn *txn, uint64_t *id_out);

/*
 * Calls fn for each event with an id greater than after, in id order, at
 * most max of them (0: no limit). ev and its data are valid only during
 * the call. fn returning non-zero stops the walk with that value.
 */
int ent_events_read(ent_txn *txn, uint64_t after, size_t max,
                    int (*fn)(void *data, const ent_event *ev), void *data);

/*
 * The event as the API shows it: {"id","time","kind","object","org",
 * "user","data"}, object as hex, org as its base32 id, time RFC 3339 (ms,
 * UTC); absent members are null. New reference, NULL when out of memory.
 */
json_t *ent_event_json(const ent_event *ev);

/*
 * Deletes events with ids <= upto (retention), except the newest event,
 * which always stays so that ids are never reused. *deleted (may be NULL)
 * gets the count.
 */
int ent_events_prune(ent_txn *txn, uint64_t upto, uint64_t *deleted);

/*
 * Deletes event id (an erasure: its text may hold erased values), first
 * overwriting its bytes with zeros. The newest event's row stays, emptied
 * (a row of no bytes, which every reader passes over), so that its id is
 * never given again. ENT_OK also when there is no such event.
 */
int ent_events_erase(ent_txn *txn, uint64_t id);

/* ---- retention (spec/events.md section 6) ------------------------------ */

#define ENT_EVENTS_KEEP 100000u                       /* events kept */
#define ENT_EVENTS_MAX_AGE_MS (30ull * 24 * 3600 * 1000) /* 30 days */
#define ENT_EVENTS_HARD_CAP 1000000u /* pruned past a durable cursor */
#define ENT_EVENTS_PRUNE_BATCH 10000u /* events deleted per run, at most */
#define ENT_EVENTS_RETAIN_MS 60000u   /* the hub runs retention this often */

typedef struct ent_events_retention {
    uint64_t keep;       /* events kept at most (0: no count limit) */
    uint64_t max_age_ms; /* events older than this go (0: no age limit) */
    uint64_t hard_cap;   /* beyond this, prune past durable cursors */
    uint64_t batch;      /* events deleted per call, at most (>= 1) */
} ent_events_retention;

/* What one retention run did. */
typedef struct ent_events_retained {
    uint64_t deleted; /* events deleted */
    uint64_t upto;    /* the newest id deleted (0: none) */
    bool held;        /* a durable cursor kept events that would go */
    bool forced;      /* the hard cap pruned past a durable cursor */
    bool more;        /* the batch limit stopped it: run again soon */
} ent_events_retained;

/* The defaults above. */
void ent_events_retention_default(ent_events_retention *r);

/*
 * One retention run in txn at time now_ms: deletes from the front the
 * events beyond r->keep and those older than r->max_age_ms, but none
 * after the smallest durable cursor, unless the table holds more than
 * r->hard_cap events (then down to the hard cap, out->forced); at most
 * r->batch events; never the newest one. out may be NULL.
 * @return ENT_OK, ENT_EINVAL, ENT_ECORRUPT, store errors.
 */
int ent_events_retain(ent_txn *txn, uint64_t now_ms,
                      const ent_events_retention *r, ent_events_retained *out);

/*
 * Durable cursors: a reader that must not miss events across restarts
 * (a webhook) keeps the last id it handled under a name ([a-z0-9_.:-],
 * 1..64 bytes) in the "meta" table, key "evcur/" NAME, value u64
 * big-endian. Retention never prunes an event after the smallest durable
 * cursor (up to its hard cap, spec/events.md).
 */
int ent_events_cursor_set(ent_txn *txn, const char *name, uint64_t id);
/* ENT_ENOENT when name has no cursor. */
int ent_events_cursor_get(ent_txn *txn, const char *name, uint64_t *id);
int ent_events_cursor_del(ent_txn *txn, const char *name);
/* The smallest durable cursor, UINT64_MAX when there is none. */
int ent_events_cursor_min(ent_txn *txn, uint64_t *id);

/*
 * Appends an approval.requested (given false) or approval.given (given
 * true) event on object obj in txn: data {"approval": name, "stage":
 * stage or absent, "decision": decision or absent ("approved",
 * "rejected")}; org (may be NULL) the org that asked or answered, user
 * (may be NULL) the local user. For the workflows of node/work.
 * @return as ent_events_append, ENT_EINVAL for an empty name.
 */
int ent_events_approval(ent_txn *txn, bool given, const uint8_t obj[32],
                        const uint8_t *org, const char *user, const char *name,
                        const char *stage, const char *decision,
                        uint64_t now_ms, uint64_t *id_out);

/* ---- the hub: who wants to hear about new events --------------------------- */

typedef struct ent_events_hub ent_events_hub;
typedef struct ent_events_sub ent_events_sub;

/* Creates a hub for store s; it wakes nobody until started. */
int ent_events_hub_new(ent_events_hub **out, ent_store *s);
/* The logger of the hub's retention warnings (borrowed; NULL: none). */
void ent_events_hub_set_log(ent_events_hub *h, const struct ent_log *log);
/* Initialises the hub's handles on loop and sets the store's commit hook;
 * retention (ent_events_retain with the defaults) runs every
 * ENT_EVENTS_RETAIN_MS, and again after 1 s while a run left more to do.
 * Stop with ent_events_hub_close(), then ent_events_hub_free(). */
int ent_events_hub_start(ent_events_hub *h, struct uv_loop_s *loop);
/* Stops calling subscribers and closes the hub's handle; done(arg) runs
 * when it is closed (from the loop). */
void ent_events_hub_close(ent_events_hub *h, void (*done)(void *arg),
                          void *arg);
void ent_events_hub_free(ent_events_hub *h);

/* The hub of a serving node (slot ENT_NODE_EVENTS), NULL when none. */
struct ent_node;
ent_events_hub *ent_events_hub_of(struct ent_node *n);

/*
 * fn(data) runs on the loop after each commit that appended events (calls
 * coalesce: one call may cover several commits). @return ENT_OK, ENT_ENOMEM.
 */
int ent_events_subscribe(ent_events_hub *h, void (*fn)(void *data),
                         void *data, ent_events_sub **out);
/* Removes a subscription; safe from inside its own callback. */
void ent_events_unsubscribe(ent_events_sub *sub);

#endif
