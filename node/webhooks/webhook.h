/*
 * webhook.h - webhook records, their validation, the signature of a
 * delivery, the retry schedule and the delivery log (spec/webhooks.md).
 *
 * A webhook is a row of the "webhooks" table (spec/storage.md): a URL the
 * node POSTs events to, the event kinds it wants, the secret that signs
 * each delivery, the local user whose policies filter what it carries, and
 * its delivery counters. Its outbox is the event table itself plus one
 * durable event cursor, "hook:ID" (node/events/event.h): the last event id
 * the receiver acknowledged. The engine that delivers is outbox.h.
 *
 * Functions that take an ent_txn run inside the caller's transaction.
 * Times are ms since the Unix epoch, passed in (no clock in here).
 */
#ifndef ENT_WEBHOOK_H
#define ENT_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "node/access/policy.h"
#include "node/events/event.h"
#include "storage/store.h"

#define ENT_WEBHOOK_ID_HEX 16      /* id: 8 random bytes in lowercase hex */
#define ENT_WEBHOOK_URL_MAX 2048   /* bytes of a URL */
#define ENT_WEBHOOK_SECRET_MIN 16  /* bytes of a secret given by the user */
#define ENT_WEBHOOK_SECRET_MAX 128
#define ENT_WEBHOOK_KINDS_MAX 16   /* entries of an event filter */
#define ENT_WEBHOOK_MAX 64         /* webhooks of one node */
#define ENT_WEBHOOK_LOG_MAX 100    /* delivery attempts kept per webhook */
#define ENT_WEBHOOK_ERR_MAX 160    /* bytes of a stored error text */
#define ENT_WEBHOOK_FAILING_AFTER 10 /* consecutive failures: "failing" */
#define ENT_WEBHOOK_SIG_MAX 96     /* "t=T,v1=HEX" with its NUL */
#define ENT_WEBHOOK_BACKOFF_MS 1000u          /* first retry delay */
#define ENT_WEBHOOK_BACKOFF_MAX_MS 600000u    /* longest retry delay */

/* One webhook. Plain data, copied freely. */
typedef struct ent_webhook {
    char id[ENT_WEBHOOK_ID_HEX + 1];
    char url[ENT_WEBHOOK_URL_MAX + 1];
    size_t nkinds; /* 0 never: "*" is one entry */
    char kinds[ENT_WEBHOOK_KINDS_MAX][ENT_EVENT_KIND_MAX + 3];
    char secret[ENT_WEBHOOK_SECRET_MAX + 1];
    char owner[ENT_EVENT_USER_MAX + 1]; /* "": the operator */
    char owner_id[ENT_POLICY_UID_HEX + 1]; /* owner's user id, "": none */
    uint64_t created;
    bool paused;            /* paused by a person (pause / resume) */
    uint32_t failures;      /* consecutive failed attempts */
    uint64_t failing_since; /* first of those failures, 0: none */
    uint64_t delivered;     /* events acknowledged, ever */
    uint64_t failed;        /* failed attempts, ever */
    uint64_t log_next;      /* sequence of the next delivery-log row */
    char last_error[ENT_WEBHOOK_ERR_MAX];
} ent_webhook;

/* One delivery attempt, as the delivery log keeps it. */
typedef struct ent_webhook_attempt {
    uint64_t event;       /* event id */
    uint32_t attempt;     /* 1 for the first try of this event */
    int status;           /* HTTP status, 0 when none came */
    const char *error;    /* NULL on success */
    uint64_t duration_ms;
    uint64_t time;        /* when it ended */
} ent_webhook_attempt;

/*
 * Checks a webhook URL: http:// or https://, at most ENT_WEBHOOK_URL_MAX
 * bytes of printable ASCII without spaces, a host, no user name or
 * password (credentials in a URL end up in logs; the secret authenticates).
 * @return ENT_OK or ENT_EINVAL with the reason in err.
 */
int ent_webhook_url_check(const char *url, char *err, size_t errcap);

/*
 * Parses an event filter: "*" or a comma-separated list of at most
 * ENT_WEBHOOK_KINDS_MAX kinds ([a-z_.]{1,48}), each possibly ending in
 * ".*" (every kind under that prefix), into h->kinds.
 * @return ENT_OK or ENT_EINVAL with the reason in err.
 */
int ent_webhook_kinds_parse(ent_webhook *h, const char *list, char *err,
                            size_t errcap);

/* Whether the filter of h takes events of kind. */
bool ent_webhook_kind_match(const ent_webhook *h, const char *kind);

/*
 * Checks a secret given by a user: ENT_WEBHOOK_SECRET_MIN to _MAX bytes of
 * printable ASCII (0x21-0x7e). @return ENT_OK or ENT_EINVAL (reason in err).
 */
int ent_webhook_secret_check(const char *secret, char *err, size_t errcap);

/* A fresh secret: 32 random bytes in standard base64 (44 characters). */
void ent_webhook_secret_new(char out[ENT_WEBHOOK_SECRET_MAX + 1]);

/* A fresh id: 8 random bytes in lowercase hex. */
void ent_webhook_id_new(char out[ENT_WEBHOOK_ID_HEX + 1]);

/* Whether id is 16 lowercase hex digits. */
bool ent_webhook_id_valid(const char *id);

/*
 * The Entente-Signature header value of a delivery: "t=T,v1=HEX" where HEX
 * is lowercase hex of HMAC-SHA256 under the secret's bytes of the decimal
 * T, ".", and the body's exact bytes.
 */
void ent_webhook_sign(char out[ENT_WEBHOOK_SIG_MAX], const char *secret,
                      uint64_t t, const char *body, size_t len);

/*
 * The delay before retry number attempt (1: after the first failure):
 * d = min(max_ms, base_ms * 2^(attempt-1)), then a random point of
 * [d/2, d] chosen by rnd (equal jitter).
 */
uint64_t ent_webhook_backoff_ms(uint32_t attempt, uint64_t base_ms,
                                uint64_t max_ms, uint32_t rnd);

/* The durable cursor name of webhook id: "hook:" id (out: 22 bytes). */
void ent_webhook_cursor_name(char out[32], const char *id);

/* ---- the table ------------------------------------------------------------ */

/* Writes h (a new one or a change). @return ENT_OK, store errors. */
int ent_webhook_put(ent_txn *txn, const ent_webhook *h);

/* Reads webhook id into *h. @return ENT_OK, ENT_ENOENT, ENT_ECORRUPT. */
int ent_webhook_get(ent_txn *txn, const char *id, ent_webhook *h);

/* Deletes webhook id, its delivery log and its cursor.
 * @return ENT_OK, ENT_ENOENT. */
int ent_webhook_del(ent_txn *txn, const char *id);

/* Calls fn for each webhook in id order; fn returning non-zero stops
 * (negative: that error). h is valid during the call. */
int ent_webhook_each(ent_txn *txn, int (*fn)(void *data, const ent_webhook *h),
                     void *data);

/* The number of webhooks. */
int ent_webhook_count(ent_txn *txn, size_t *out);

/*
 * Appends attempt a to the delivery log of h (h->log_next advances; the
 * caller writes h back with ent_webhook_put) and deletes the row that
 * falls out of the last ENT_WEBHOOK_LOG_MAX.
 */
int ent_webhook_log_add(ent_txn *txn, ent_webhook *h,
                        const ent_webhook_attempt *a);

/*
 * The delivery log of webhook id, oldest first, as [{"seq","event",
 * "attempt","status","error","duration_ms","time"}] (time in ms). New
 * reference in *out.
 */
int ent_webhook_log_json(ent_txn *txn, const char *id, json_t **out);

/*
 * h as JSON: {"id","url","events":[..],"owner","created","paused",
 * "failures","failing_since","delivered","failed","last_error"} (times in
 * ms, 0: never; owner null for the operator), with "secret" only when
 * with_secret. NULL when out of memory.
 */
json_t *ent_webhook_json(const ent_webhook *h, bool with_secret);

#endif
