/*
 * event.c - the local event stream: the "events" table and the hub that
 * wakes its readers (event.h, spec/events.md).
 *
 * A stored event is the JSON text of {"time","kind","object","org","user",
 * "data"} (object and org as hex; absent ones left out), under its id as 8
 * big-endian bytes, so a scan in key order is a walk in id order and the
 * last key is the newest id.
 */
#include "node/events/event.h"
#include "crypto/crypto.h"
#include "protocol/cbor.h"
#include "node/bytes.h"
#include "node/err.h"
#include "node/jtext.h"
#include "node/log.h"
#include "node/node.h"
#include "node/timefmt.h"

#include <uv.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the table ------------------------------------------------------------ */

static bool kind_ok(const char *k) {
    size_t n = k != NULL ? strlen(k) : 0;
    if (n == 0 || n > ENT_EVENT_KIND_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || k[i] == '_' || k[i] == '.'))
            return false;
    return true;
}

static int last_fn(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    (void)val;
    (void)vlen;
    if (klen != 8)
        return ENT_ECORRUPT;
    *(uint64_t *)data = ent_be64_get(key);
    return 1;
}

int ent_events_last(ent_txn *txn, uint64_t *id_out) {
    uint8_t key[16];
    size_t klen;
    *id_out = 0;
    int rc = ent_txn_last_key(txn, ENT_TBL_EVENTS, key, sizeof(key), &klen);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc == ENT_ETOOBIG || (rc == ENT_OK && klen != 8))
        return ENT_ECORRUPT;
    if (rc == ENT_OK)
        *id_out = ent_be64_get(key);
    return rc;
}

int ent_events_first(ent_txn *txn, uint64_t *id_out) {
    *id_out = 0;
    return ent_txn_scan(txn, ENT_TBL_EVENTS, NULL, 0, last_fn, id_out);
}

char *ent_events_json_compact(const json_t *v) {
    ent_jtext t;
    if (v == NULL)
        return NULL;
    ent_jtext_init(&t, NULL, 0);
    ent_jtext_value(&t, v);
    return ent_jtext_take(&t);
}

/* ent_events_append with the data as a jansson value (data) or as its
 * text (dtext, dlen bytes); neither: none. */
static int append(ent_txn *txn, const ent_event *ev, const char *dtext,
                  size_t dlen, uint64_t now_ms, uint64_t *id_out) {
    size_t ulen = ev != NULL && ev->user != NULL ? strlen(ev->user) : 0;
    if (ev == NULL || !kind_ok(ev->kind) ||
        (ev->user != NULL &&
         (ulen == 0 || ulen > ENT_EVENT_USER_MAX ||
          !ent_cbor_utf8_valid(ev->user, ulen))) ||
        (ev->data != NULL && (dtext != NULL || !json_is_object(ev->data))))
        return ENT_EINVAL;
    uint64_t last;
    int rc = ent_events_last(txn, &last);
    if (rc != ENT_OK)
        return rc;
    /* the members in the order the stored text has always had them */
    char arr[2048];
    ent_jtext t;
    ent_jtext_init(&t, arr, sizeof(arr));
    ENT_JTEXT_LIT(&t, "{\"time\":");
    ent_jtext_int(&t, (int64_t)now_ms);
    ENT_JTEXT_LIT(&t, ",\"kind\":");
    ent_jtext_str(&t, ev->kind, strlen(ev->kind));
    if (ev->has_object) {
        ENT_JTEXT_LIT(&t, ",\"object\":");
        ent_jtext_hex(&t, ev->object, 32);
    }
    if (ev->has_org) {
        ENT_JTEXT_LIT(&t, ",\"org\":");
        ent_jtext_hex(&t, ev->org, 32);
    }
    if (ev->user != NULL) {
        ENT_JTEXT_LIT(&t, ",\"user\":");
        ent_jtext_str(&t, ev->user, ulen);
    }
    if (ev->data != NULL || dtext != NULL) {
        ENT_JTEXT_LIT(&t, ",\"data\":");
        if (dtext != NULL)
            ent_jtext_raw(&t, dtext, dlen);
        else
            ent_jtext_value(&t, ev->data);
    }
    ENT_JTEXT_LIT(&t, "}");
    if (t.oom)
        rc = ENT_ENOMEM;
    else if (t.len > ENT_EVENT_MAX)
        rc = ENT_ETOOBIG;
    uint8_t key[8];
    ent_be64_put(key, last + 1);
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_EVENTS, key, sizeof(key), t.p, t.len,
                         ENT_PUT_NOOVERWRITE | ENT_PUT_APPEND);
    ent_jtext_free(&t);
    if (rc != ENT_OK)
        return rc;
    ent_txn_mark(txn, ENT_TXN_MARK_EVENTS);
    if (id_out != NULL)
        *id_out = last + 1;
    return ENT_OK;
}

int ent_events_append(ent_txn *txn, const ent_event *ev, uint64_t now_ms,
                      uint64_t *id_out) {
    return append(txn, ev, NULL, 0, now_ms, id_out);
}

int ent_events_append_text(ent_txn *txn, const ent_event *ev,
                           const char *data, size_t dlen, uint64_t now_ms,
                           uint64_t *id_out) {
    if (data == NULL || dlen == 0)
        return ENT_EINVAL;
    return append(txn, ev, data, dlen, now_ms, id_out);
}

static int get_hex(json_t *o, const char *name, uint8_t out[32], bool *has) {
    json_t *v = json_object_get(o, name);
    *has = false;
    if (v == NULL)
        return ENT_OK;
    if (!json_is_string(v) || strlen(json_string_value(v)) != 64 ||
        ent_hex_decode(out, 32, json_string_value(v)) != ENT_OK)
        return ENT_ECORRUPT;
    *has = true;
    return ENT_OK;
}

/* Decodes one stored event into ev; its strings and data belong to *root,
 * which the caller json_decref()s. */
static int decode(const void *key, size_t klen, const void *val, size_t vlen,
                  ent_event *ev, json_t **root) {
    *root = NULL;
    if (klen != 8 || vlen > ENT_EVENT_MAX)
        return ENT_ECORRUPT;
    json_t *o = json_loadb(val, vlen, JSON_REJECT_DUPLICATES, NULL);
    json_t *t = json_object_get(o, "time"), *k = json_object_get(o, "kind"),
           *u = json_object_get(o, "user"), *d = json_object_get(o, "data");
    memset(ev, 0, sizeof(*ev));
    if (!json_is_object(o) || !json_is_integer(t) || json_integer_value(t) < 0 ||
        !json_is_string(k) || (u != NULL && !json_is_string(u)) ||
        (d != NULL && !json_is_object(d))) {
        json_decref(o);
        return ENT_ECORRUPT;
    }
    ev->id = ent_be64_get(key);
    ev->time_ms = (uint64_t)json_integer_value(t);
    ev->kind = json_string_value(k);
    ev->user = u != NULL ? json_string_value(u) : NULL;
    ev->data = d;
    int rc = get_hex(o, "object", ev->object, &ev->has_object);
    if (rc == ENT_OK)
        rc = get_hex(o, "org", ev->org, &ev->has_org);
    if (rc != ENT_OK) {
        json_decref(o);
        return rc;
    }
    *root = o;
    return ENT_OK;
}

struct read_ctx {
    int (*fn)(void *data, const ent_event *ev);
    void *data;
    size_t max, seen;
    int stop; /* fn's non-zero answer */
};

static int read_one(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    struct read_ctx *c = data;
    ent_event ev;
    json_t *root;
    if (vlen == 0 && klen == 8)
        return 0; /* an erased newest event (ent_events_erase) */
    int rc = decode(key, klen, val, vlen, &ev, &root);
    if (rc != ENT_OK)
        return rc;
    int r = c->fn(c->data, &ev);
    json_decref(root);
    if (r != 0) {
        c->stop = r;
        return r < 0 ? r : 1;
    }
    return c->max != 0 && ++c->seen >= c->max ? 1 : 0;
}

int ent_events_read(ent_txn *txn, uint64_t after, size_t max,
                    int (*fn)(void *data, const ent_event *ev), void *data) {
    if (fn == NULL)
        return ENT_EINVAL;
    if (after == UINT64_MAX)
        return ENT_OK;
    struct read_ctx c = {.fn = fn, .data = data, .max = max};
    uint8_t key[8];
    ent_be64_put(key, after + 1);
    int rc = ent_txn_scan_from(txn, ENT_TBL_EVENTS, key, sizeof(key), read_one,
                               &c);
    if (rc == ENT_OK && c.stop != 0)
        return c.stop;
    return rc;
}

json_t *ent_event_json(const ent_event *ev) {
    char t[ENT_TIMEFMT_RFC3339_LEN + 1], obj[65], org[ENT_ORG_ID_LEN + 1];
    json_t *tj = ent_timefmt_rfc3339(t, ev->time_ms) == ENT_OK ? json_string(t)
                                                               : json_null();
    json_t *oj = json_null(), *gj = json_null();
    if (ev->has_object) {
        ent_hex_encode(obj, ev->object, 32);
        oj = json_string(obj);
    }
    if (ev->has_org) {
        ent_org_id_format(org, ev->org);
        gj = json_string(org);
    }
    json_t *dj = ev->data != NULL ? json_deep_copy(ev->data) : json_object();
    return json_pack("{s:I,s:o,s:s,s:o,s:o,s:o,s:o}", "id", (json_int_t)ev->id,
                     "time", tj, "kind", ev->kind, "object", oj, "org", gj,
                     "user", ev->user ? json_string(ev->user) : json_null(),
                     "data", dj);
}

struct prune_ctx {
    uint64_t upto, n;
    uint8_t (*keys)[8];
    size_t cap;
};

static int prune_collect(void *data, const void *key, size_t klen,
                         const void *val, size_t vlen) {
    (void)val;
    (void)vlen;
    struct prune_ctx *c = data;
    if (klen != 8)
        return ENT_ECORRUPT;
    if (ent_be64_get(key) > c->upto || c->n == c->cap)
        return 1;
    memcpy(c->keys[c->n++], key, 8);
    return 0;
}

int ent_events_prune(ent_txn *txn, uint64_t upto, uint64_t *deleted) {
    uint64_t total = 0, last;
    int rc = ent_events_last(txn, &last);
    if (rc != ENT_OK)
        return rc;
    if (upto >= last) /* the newest event stays: it holds the next id */
        upto = last - (last > 0);
    struct prune_ctx c = {.upto = upto, .cap = 4096};
    c.keys = malloc(c.cap * sizeof(*c.keys));
    if (c.keys == NULL)
        return ENT_ENOMEM;
    do { /* collect a batch of keys, then delete it (no cursor is open) */
        c.n = 0;
        rc = ent_txn_scan(txn, ENT_TBL_EVENTS, NULL, 0, prune_collect, &c);
        for (size_t i = 0; rc == ENT_OK && i < c.n; i++)
            rc = ent_txn_del(txn, ENT_TBL_EVENTS, c.keys[i], 8);
        total += rc == ENT_OK ? c.n : 0;
    } while (rc == ENT_OK && c.n == c.cap);
    free(c.keys);
    if (deleted != NULL)
        *deleted = total;
    return rc;
}

int ent_events_erase(ent_txn *txn, uint64_t id) {
    uint8_t key[8];
    uint64_t last;
    int rc = ent_events_last(txn, &last);
    if (rc != ENT_OK)
        return rc;
    ent_be64_put(key, id);
    if ((rc = ent_txn_wipe(txn, ENT_TBL_EVENTS, key, 8)) != ENT_OK)
        return rc == ENT_ENOENT ? ENT_OK : rc;
    if (id == last) /* the newest: its row keeps its id taken */
        return ent_txn_put(txn, ENT_TBL_EVENTS, key, 8, "", 0, 0);
    return ent_txn_del(txn, ENT_TBL_EVENTS, key, 8);
}

int ent_events_approval(ent_txn *txn, bool given, const uint8_t obj[32],
                        const uint8_t *org, const char *user, const char *name,
                        const char *stage, const char *decision,
                        uint64_t now_ms, uint64_t *id_out) {
    if (obj == NULL || name == NULL || name[0] == '\0')
        return ENT_EINVAL;
    json_t *d = json_pack("{s:s}", "approval", name);
    int rc = d != NULL ? ENT_OK : ENT_ENOMEM;
    if (rc == ENT_OK && stage != NULL &&
        json_object_set_new(d, "stage", json_string(stage)) != 0)
        rc = ENT_ENOMEM;
    if (rc == ENT_OK && decision != NULL &&
        json_object_set_new(d, "decision", json_string(decision)) != 0)
        rc = ENT_ENOMEM;
    if (rc == ENT_OK) {
        ent_event ev = {.kind = given ? ENT_EV_APPROVAL_GIVEN
                                      : ENT_EV_APPROVAL_REQUESTED,
                        .has_object = true,
                        .has_org = org != NULL,
                        .user = user,
                        .data = d};
        memcpy(ev.object, obj, 32);
        if (org != NULL)
            memcpy(ev.org, org, 32);
        rc = ent_events_append(txn, &ev, now_ms, id_out);
    }
    json_decref(d);
    return rc;
}

/* ---- retention ------------------------------------------------------------ */

void ent_events_retention_default(ent_events_retention *r) {
    r->keep = ENT_EVENTS_KEEP;
    r->max_age_ms = ENT_EVENTS_MAX_AGE_MS;
    r->hard_cap = ENT_EVENTS_HARD_CAP;
    r->batch = ENT_EVENTS_PRUNE_BATCH;
}

/* Walks from the oldest event while it is older than cutoff, at most
 * limit of them; *upto gets the newest such id. */
struct age_ctx {
    uint64_t cutoff, limit, seen, upto;
};

static int age_fn(void *data, const void *key, size_t klen, const void *val,
                  size_t vlen) {
    struct age_ctx *c = data;
    ent_event ev;
    json_t *root;
    if (vlen == 0 && klen == 8) { /* an erased event: as old as any */
        c->upto = ent_be64_get(key);
        return ++c->seen >= c->limit ? 1 : 0;
    }
    int rc = decode(key, klen, val, vlen, &ev, &root);
    if (rc != ENT_OK)
        return rc;
    json_decref(root);
    if (ev.time_ms >= c->cutoff)
        return 1;
    c->upto = ev.id;
    return ++c->seen >= c->limit ? 1 : 0;
}

int ent_events_retain(ent_txn *txn, uint64_t now_ms,
                      const ent_events_retention *r, ent_events_retained *out) {
    ent_events_retained res;
    uint64_t first, last, cmin, upto = 0;
    memset(&res, 0, sizeof(res));
    if (r == NULL || r->batch == 0)
        return ENT_EINVAL;
    int rc = ent_events_first(txn, &first);
    if (rc == ENT_OK)
        rc = ent_events_last(txn, &last);
    if (rc != ENT_OK || last == 0)
        goto out;
    uint64_t count = last - first + 1; /* ids are dense from the front */
    if (r->keep > 0 && count > r->keep)
        upto = last - r->keep;
    if (r->max_age_ms > 0 && now_ms > r->max_age_ms) {
        struct age_ctx a = {now_ms - r->max_age_ms, r->batch, 0, 0};
        if ((rc = ent_txn_scan(txn, ENT_TBL_EVENTS, NULL, 0, age_fn, &a)) !=
            ENT_OK)
            goto out;
        if (a.upto > upto)
            upto = a.upto;
        res.more = a.seen >= r->batch;
    }
    if ((rc = ent_events_cursor_min(txn, &cmin)) != ENT_OK)
        goto out;
    if (upto > cmin) {
        upto = cmin;
        res.held = true;
    }
    if (r->hard_cap > 0 && count > r->hard_cap && last - r->hard_cap > upto) {
        upto = last - r->hard_cap;
        res.forced = upto > cmin;
    }
    if (upto < first)
        goto out;
    if (upto - first + 1 > r->batch) {
        upto = first + r->batch - 1;
        res.more = true;
    }
    rc = ent_events_prune(txn, upto, &res.deleted);
    res.upto = res.deleted > 0 ? upto : 0;
out:
    if (out != NULL)
        *out = res;
    return rc;
}

/* ---- durable cursors ------------------------------------------------------ */

#define CURSOR_PREFIX "evcur/"
#define CURSOR_NAME_MAX 64

static int cursor_key(const char *name, char key[sizeof(CURSOR_PREFIX) +
                                                CURSOR_NAME_MAX],
                      size_t *klen) {
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n > CURSOR_NAME_MAX)
        return ENT_EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == ':' || c == '-'))
            return ENT_EINVAL;
    }
    memcpy(key, CURSOR_PREFIX, sizeof(CURSOR_PREFIX) - 1);
    memcpy(key + sizeof(CURSOR_PREFIX) - 1, name, n);
    *klen = sizeof(CURSOR_PREFIX) - 1 + n;
    return ENT_OK;
}

int ent_events_cursor_set(ent_txn *txn, const char *name, uint64_t id) {
    char key[sizeof(CURSOR_PREFIX) + CURSOR_NAME_MAX];
    size_t klen;
    int rc = cursor_key(name, key, &klen);
    if (rc != ENT_OK)
        return rc;
    uint8_t v[8];
    ent_be64_put(v, id);
    return ent_txn_put(txn, ENT_TBL_META, key, klen, v, sizeof(v), 0);
}

int ent_events_cursor_get(ent_txn *txn, const char *name, uint64_t *id) {
    char key[sizeof(CURSOR_PREFIX) + CURSOR_NAME_MAX];
    size_t klen, vlen;
    const void *v;
    int rc = cursor_key(name, key, &klen);
    if (rc == ENT_OK)
        rc = ent_txn_get(txn, ENT_TBL_META, key, klen, &v, &vlen);
    if (rc != ENT_OK)
        return rc;
    if (vlen != 8)
        return ENT_ECORRUPT;
    *id = ent_be64_get(v);
    return ENT_OK;
}

int ent_events_cursor_del(ent_txn *txn, const char *name) {
    char key[sizeof(CURSOR_PREFIX) + CURSOR_NAME_MAX];
    size_t klen;
    int rc = cursor_key(name, key, &klen);
    return rc == ENT_OK ? ent_txn_del(txn, ENT_TBL_META, key, klen) : rc;
}

static int cursor_min_fn(void *data, const void *key, size_t klen,
                         const void *val, size_t vlen) {
    (void)key;
    (void)klen;
    if (vlen != 8)
        return ENT_ECORRUPT;
    uint64_t *m = data, id = ent_be64_get(val);
    if (id < *m)
        *m = id;
    return 0;
}

int ent_events_cursor_min(ent_txn *txn, uint64_t *id) {
    *id = UINT64_MAX;
    return ent_txn_scan(txn, ENT_TBL_META, CURSOR_PREFIX,
                        sizeof(CURSOR_PREFIX) - 1, cursor_min_fn, id);
}

/* ---- the hub --------------------------------------------------------------- */

struct ent_events_sub {
    ent_events_hub *hub;
    void (*fn)(void *data);
    void *data;
    bool dead; /* unsubscribed during a wake-up; freed after it */
    ent_events_sub *next;
};

/* The wall clock in ms since the Unix epoch. */
static uint64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct ent_events_hub {
    ent_store *store;
    const ent_log *log;
    uv_async_t async;
    uv_timer_t timer; /* retention */
    bool open;        /* handles initialised and not closing */
    bool waking;      /* inside wake(): unsubscribes are deferred */
    int closing;      /* handles still to close */
    bool warned;      /* the hard-cap warning was logged once */
    ent_events_sub *subs;
    void (*done)(void *arg);
    void *done_arg;
};

static void commit_hook(void *data, unsigned marks) {
    ent_events_hub *h = data;
    if ((marks & ENT_TXN_MARK_EVENTS) && h->open)
        uv_async_send(&h->async);
}

static void sweep(ent_events_hub *h) {
    for (ent_events_sub **p = &h->subs; *p != NULL;) {
        ent_events_sub *s = *p;
        if (s->dead) {
            *p = s->next;
            free(s);
        } else {
            p = &s->next;
        }
    }
}

static void wake(uv_async_t *a) {
    ent_events_hub *h = a->data;
    h->waking = true;
    for (ent_events_sub *s = h->subs; s != NULL && h->open; s = s->next)
        if (!s->dead)
            s->fn(s->data);
    h->waking = false;
    sweep(h);
}

struct retain_ctx {
    uint64_t now;
    ent_events_retained res;
};

static int retain_fn(ent_txn *txn, void *data) {
    struct retain_ctx *c = data;
    ent_events_retention r;
    ent_events_retention_default(&r);
    return ent_events_retain(txn, c->now, &r, &c->res);
}

/* One retention run; again after 1 s while there is more to delete. */
static void retain_tick(uv_timer_t *t) {
    ent_events_hub *h = t->data;
    struct retain_ctx c = {wall_ms(), {0}};
    int rc = ent_store_write(h->store, retain_fn, &c);
    if (rc != ENT_OK)
        ENT_WARN(h->log, "events: retention: %s", ent_strerror(rc));
    else if (c.res.forced && !h->warned)
        ENT_WARN(h->log,
                 "events: more than %u events kept for a durable reader: "
                 "deleted up to id %llu anyway; that reader will see a reset",
                 ENT_EVENTS_HARD_CAP, (unsigned long long)c.res.upto);
    h->warned = h->warned || c.res.forced;
    if (rc == ENT_OK && c.res.more && h->open)
        uv_timer_start(&h->timer, retain_tick, 1000, 0);
    else if (h->open)
        uv_timer_start(&h->timer, retain_tick, ENT_EVENTS_RETAIN_MS, 0);
}

int ent_events_hub_new(ent_events_hub **out, ent_store *s) {
    ent_events_hub *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return ENT_ENOMEM;
    h->store = s;
    *out = h;
    return ENT_OK;
}

void ent_events_hub_set_log(ent_events_hub *h, const ent_log *log) {
    if (h != NULL)
        h->log = log;
}

int ent_events_hub_start(ent_events_hub *h, uv_loop_t *loop) {
    if (h->open)
        return ENT_EINVAL;
    if (uv_async_init(loop, &h->async, wake) != 0)
        return ENT_EIO;
    h->async.data = h;
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    uv_unref((uv_handle_t *)&h->timer); /* it never keeps the loop alive */
    uv_timer_start(&h->timer, retain_tick, 1000, 0);
    h->open = true;
    ent_store_set_commit_hook(h->store, commit_hook, h);
    return ENT_OK;
}

ent_events_hub *ent_events_hub_of(struct ent_node *n) {
    return ent_node_part_state(n, ENT_NODE_EVENTS);
}

static void hub_closed(uv_handle_t *hd) {
    ent_events_hub *h = hd->data;
    if (--h->closing == 0 && h->done != NULL)
        h->done(h->done_arg);
}

void ent_events_hub_close(ent_events_hub *h, void (*done)(void *arg),
                          void *arg) {
    if (h == NULL || !h->open) {
        if (done != NULL)
            done(arg);
        return;
    }
    h->open = false;
    ent_store_set_commit_hook(h->store, NULL, NULL);
    h->done = done;
    h->done_arg = arg;
    h->closing = 2;
    uv_close((uv_handle_t *)&h->async, hub_closed);
    uv_close((uv_handle_t *)&h->timer, hub_closed);
}

void ent_events_hub_free(ent_events_hub *h) {
    if (h == NULL)
        return;
    for (ent_events_sub *s = h->subs, *nx; s != NULL; s = nx) {
        nx = s->next;
        free(s);
    }
    free(h);
}

int ent_events_subscribe(ent_events_hub *h, void (*fn)(void *data),
                         void *data, ent_events_sub **out) {
    if (h == NULL || fn == NULL)
        return ENT_EINVAL;
    ent_events_sub *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return ENT_ENOMEM;
    s->hub = h;
    s->fn = fn;
    s->data = data;
    s->next = h->subs;
    h->subs = s;
    if (out != NULL)
        *out = s;
    return ENT_OK;
}

void ent_events_unsubscribe(ent_events_sub *sub) {
    if (sub == NULL)
        return;
    sub->dead = true;
    if (!sub->hub->waking)
        sweep(sub->hub);
}
