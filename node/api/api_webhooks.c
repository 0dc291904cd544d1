/*
 * api_webhooks.c - the endpoints of webhooks (api_webhooks.h,
 * spec/webhooks.md §6): add, list, show, remove, pause, resume, replay,
 * test and the delivery log. Records: node/webhooks/webhook.c; deliveries:
 * node/webhooks/outbox.c, told of every change.
 */
#include "node/api/api_webhooks.h"
#include "node/api/api_access.h"
#include "node/err.h"
#include "node/webhooks/outbox.h"
#include "node/webhooks/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "/v1/webhooks/"

static int no_query(const ent_http_request *req, ent_http_response *resp) {
    if (req->query != NULL && req->query[0] != '\0')
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "no query parameters are accepted here");
    return ENT_OK;
}

static int check_keys(const json_t *body, const char *const *allowed,
                      ent_http_response *resp) {
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)body, key, val) {
        bool ok = false;
        for (const char *const *a = allowed; *a != NULL; a++)
            ok = ok || strcmp(key, *a) == 0;
        if (!ok)
            return ent_http_response_error(
                resp, 400, ENT_EINVAL, "unknown key \"%.64s\" in body", key);
    }
    return ENT_OK;
}

/* A stored time in ms as the API's time value (0: null). */
static void time_key(json_t *o, const char *k) {
    json_int_t v = json_integer_value(json_object_get(o, k));
    json_object_set_new(o, k, ent_api_time_json(v > 0 ? (uint64_t)v : 0));
}

/* ---- the JSON of a webhook ------------------------------------------------- */

struct view_ctx {
    const char *id;
    ent_webhook *h;
    uint64_t cursor, last;
    json_t *log;
    bool want_log;
};

static int view_fn(ent_txn *txn, void *data) {
    struct view_ctx *c = data;
    char cur[32];
    int rc = ent_webhook_get(txn, c->id, c->h);
    if (rc != ENT_OK)
        return rc;
    ent_webhook_cursor_name(cur, c->id);
    rc = ent_events_cursor_get(txn, cur, &c->cursor);
    if (rc == ENT_ENOENT) {
        c->cursor = 0;
        rc = ENT_OK;
    }
    if (rc == ENT_OK)
        rc = ent_events_last(txn, &c->last);
    if (rc == ENT_OK && c->want_log)
        rc = ent_webhook_log_json(txn, c->id, &c->log);
    return rc;
}

/* Whether the owner may receive events: exists, is enabled and, when the
 * webhook has owner_id, is that very user (spec/webhooks.md §5). */
static bool owner_usable(ent_node *n, const char *owner,
                         const char *owner_id) {
    json_t *u = NULL;
    if (owner[0] == '\0')
        return true;
    if (ent_access_user_json(ent_node_store(n), owner, &u) != ENT_OK)
        return false;
    const char *uid = json_string_value(json_object_get(u, "id"));
    bool ok = !json_is_true(json_object_get(u, "disabled")) &&
              (owner_id[0] == '\0' ||
               (uid != NULL && strcmp(uid, owner_id) == 0));
    json_decref(u);
    return ok;
}

/*
 * The webhook as the API shows it: the record (never the secret) with
 * times as RFC 3339, "state" (active, paused, blocked, failing), "cursor"
 * (the last event delivered), "backlog" (events after it) and what is
 * being tried now ("event", "attempt", "retry_at").
 */
static json_t *hook_out(ent_node *n, const ent_webhook *h, uint64_t cursor,
                        uint64_t last) {
    ent_webhook_live live;
    ent_webhooks_live(ent_webhooks_of(n), h->id, &live);
    json_t *o = ent_webhook_json(h, false);
    if (o == NULL)
        return NULL;
    const char *state = h->paused                                ? "paused"
                        : !owner_usable(n, h->owner, h->owner_id)  ? "blocked"
                        : h->failures >= ENT_WEBHOOK_FAILING_AFTER ? "failing"
                                                                   : "active";
    time_key(o, "created");
    time_key(o, "failing_since");
    json_object_set_new(o, "state", json_string(state));
    json_object_set_new(o, "cursor", json_integer((json_int_t)cursor));
    json_object_set_new(
        o, "backlog",
        json_integer((json_int_t)(last > cursor ? last - cursor : 0)));
    json_object_set_new(o, "in_flight", json_boolean(live.in_flight));
    json_object_set_new(o, "attempt", json_integer((json_int_t)live.attempt));
    json_object_set_new(o, "retry_at", ent_api_time_json(live.retry_at));
    return o;
}

static int respond_hook(ent_node *n, const char *id, int status,
                        const char *secret, ent_http_response *resp) {
    ent_webhook *h = malloc(sizeof(*h));
    struct view_ctx c = {.id = id, .h = h};
    if (h == NULL)
        return ENT_ENOMEM;
    int rc = ent_store_read(ent_node_store(n), view_fn, &c);
    if (rc != ENT_OK) {
        free(h);
        return rc == ENT_ENOENT ? ent_http_response_error(resp, 404, rc,
                                                          "no such webhook")
                                : rc;
    }
    json_t *o = hook_out(n, h, c.cursor, c.last);
    free(h);
    if (o == NULL)
        return ENT_ENOMEM;
    if (secret != NULL)
        json_object_set_new(o, "secret", json_string(secret));
    ent_http_response_json(resp, status, o);
    return ENT_OK;
}

/* ---- list ------------------------------------------------------------------ */

struct list_ctx {
    ent_node *n;
    json_t *arr;
    ent_txn *txn;
    uint64_t last;
};

static int list_one(void *data, const ent_webhook *h) {
    struct list_ctx *c = data;
    char cur[32];
    uint64_t cursor = 0;
    ent_webhook_cursor_name(cur, h->id);
    int rc = ent_events_cursor_get(c->txn, cur, &cursor);
    if (rc != ENT_OK && rc != ENT_ENOENT)
        return rc;
    json_t *o = hook_out(c->n, h, rc == ENT_OK ? cursor : 0, c->last);
    return o != NULL && json_array_append_new(c->arr, o) == 0 ? 0 : ENT_ENOMEM;
}

static int list_fn(ent_txn *txn, void *data) {
    struct list_ctx *c = data;
    c->txn = txn;
    int rc = ent_events_last(txn, &c->last);
    return rc == ENT_OK ? ent_webhook_each(txn, list_one, c) : rc;
}

int ent_api_webhooks_list(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp) {
    struct list_ctx c = {n, json_array(), NULL, 0};
    int rc = no_query(req, resp);
    ent_webhooks_flush(ent_webhooks_of(n)); /* show what is acknowledged */
    if (rc != ENT_OK || c.arr == NULL) {
        json_decref(c.arr);
        return rc != ENT_OK ? rc : ENT_ENOMEM;
    }
    rc = ent_store_read(ent_node_store(n), list_fn, &c);
    if (rc != ENT_OK) {
        json_decref(c.arr);
        return rc;
    }
    ent_http_response_json(resp, 200, c.arr);
    return ENT_OK;
}

/* ---- create ------------------------------------------------------------------ */

struct add_ctx {
    ent_webhook *h;
};

static int add_fn(ent_txn *txn, void *data) {
    struct add_ctx *c = data;
    size_t count;
    uint64_t last;
    char cur[32];
    int rc = ent_webhook_count(txn, &count);
    if (rc != ENT_OK)
        return rc;
    if (count >= ENT_WEBHOOK_MAX)
        return ENT_ELIMIT;
    if ((rc = ent_events_last(txn, &last)) != ENT_OK)
        return rc;
    ent_webhook_cursor_name(cur, c->h->id);
    /* a new webhook gets the events from now on */
    rc = ent_webhook_put(txn, c->h);
    return rc == ENT_OK ? ent_events_cursor_set(txn, cur, last) : rc;
}

/* The filter of a body: "a,b" or ["a","b"] or "*" (absent: "*"). */
static int kinds_of(ent_webhook *h, const json_t *v, char *err, size_t cap) {
    char buf[ENT_WEBHOOK_KINDS_MAX * (ENT_EVENT_KIND_MAX + 3) + 1];
    size_t o = 0, i;
    json_t *e;
    if (v == NULL)
        return ent_webhook_kinds_parse(h, "*", err, cap);
    if (json_is_string(v))
        return ent_webhook_kinds_parse(h, json_string_value(v), err, cap);
    if (!json_is_array(v) || json_array_size(v) == 0 ||
        json_array_size(v) > ENT_WEBHOOK_KINDS_MAX) {
        snprintf(err, cap, "\"events\": a list of 1 to 16 event kinds");
        return ENT_EINVAL;
    }
    json_array_foreach(v, i, e) {
        const char *s = json_string_value(e);
        size_t l = s != NULL ? strlen(s) : 0;
        if (l == 0 || l > ENT_EVENT_KIND_MAX + 2 || strchr(s, ',') != NULL) {
            snprintf(err, cap, "\"events\": each entry is one event kind");
            return ENT_EINVAL;
        }
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? "," : "",
                              s);
    }
    return ent_webhook_kinds_parse(h, buf, err, cap);
}

int ent_api_webhooks_create(ent_node *n, const ent_http_request *req,
                            ent_http_response *resp) {
    static const char *const keys[] = {"url", "events", "secret", "as", NULL};
    json_t *body = NULL;
    char err[256] = "";
    ent_webhook *h = calloc(1, sizeof(*h));
    int rc = h != NULL ? ent_api_body_object(req, resp, &body) : ENT_ENOMEM;
    if (rc != ENT_OK)
        goto out;
    if ((rc = check_keys(body, keys, resp)) != ENT_OK)
        goto out;
    const json_t *url = json_object_get(body, "url");
    const json_t *secret = json_object_get(body, "secret");
    const json_t *as = json_object_get(body, "as");
    const ent_principal *p = req->principal;
    if (!json_is_string(url) ||
        ent_webhook_url_check(json_string_value(url), err, sizeof(err)) !=
            ENT_OK) {
        rc = ent_http_response_error(resp, 400, ENT_EINVAL, "\"url\": %s",
                                     err[0] ? err : "a string is required");
        goto out;
    }
    if (kinds_of(h, json_object_get(body, "events"), err, sizeof(err)) !=
        ENT_OK) {
        rc = ent_http_response_error(resp, 400, ENT_EINVAL, "\"events\": %s",
                                     err);
        goto out;
    }
    if (secret != NULL &&
        (!json_is_string(secret) ||
         ent_webhook_secret_check(json_string_value(secret), err,
                                  sizeof(err)) != ENT_OK)) {
        rc = ent_http_response_error(resp, 400, ENT_EINVAL, "\"secret\": %s",
                                     err[0] ? err : "a string is required");
        goto out;
    }
    if (as != NULL && !json_is_string(as)) {
        rc = ent_http_response_error(resp, 400, ENT_EINVAL,
                                     "\"as\": a user name");
        goto out;
    }
    /* the owner: the user named by "as", else the caller (a user), else
     * the operator, whose webhooks see everything */
    const char *owner = json_string_value(as);
    if (owner == NULL && p != NULL && p->kind == ENT_PRINCIPAL_USER)
        owner = p->user;
    if (owner != NULL) {
        json_t *u = NULL;
        if (ent_access_user_json(ent_node_store(n), owner, &u) != ENT_OK) {
            rc = ent_http_response_error(resp, 400, ENT_EINVAL,
                                         "\"as\": no user %.64s", owner);
            goto out;
        }
        const char *uid = json_string_value(json_object_get(u, "id"));
        if (uid != NULL)
            snprintf(h->owner_id, sizeof(h->owner_id), "%s", uid);
        json_decref(u);
        snprintf(h->owner, sizeof(h->owner), "%s", owner);
    }
    snprintf(h->url, sizeof(h->url), "%s", json_string_value(url));
    if (secret != NULL)
        snprintf(h->secret, sizeof(h->secret), "%s",
                 json_string_value(secret));
    else
        ent_webhook_secret_new(h->secret);
    ent_webhook_id_new(h->id);
    h->created = ent_api_now_ms();
    struct add_ctx c = {h};
    rc = ent_store_write(ent_node_store(n), add_fn, &c);
    if (rc == ENT_ELIMIT) {
        rc = ent_http_response_error(resp, 409, rc,
                                     "at most %d webhooks per node",
                                     ENT_WEBHOOK_MAX);
        goto out;
    }
    if (rc != ENT_OK)
        goto out;
    ent_webhooks_changed(ent_webhooks_of(n), NULL);
    rc = respond_hook(n, h->id, 201, h->secret, resp);
out:
    if (h != NULL)
        ent_wipe(h->secret, sizeof(h->secret));
    free(h);
    json_decref(body);
    return rc;
}

/* ---- one webhook ---------------------------------------------------------------- */

/* Splits /v1/webhooks/ID[/ACTION] into id and action ("" when none). */
static int path_parts(const ent_http_request *req, char id[ENT_WEBHOOK_ID_HEX + 1],
                      const char **action) {
    const char *s = req->path + strlen(PREFIX);
    const char *slash = strchr(s, '/');
    size_t len = slash != NULL ? (size_t)(slash - s) : strlen(s);
    if (len != ENT_WEBHOOK_ID_HEX)
        return ENT_ENOENT;
    memcpy(id, s, len);
    id[len] = '\0';
    if (!ent_webhook_id_valid(id))
        return ENT_ENOENT;
    *action = slash != NULL ? slash + 1 : "";
    return ENT_OK;
}

int ent_api_webhook_get(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp) {
    char id[ENT_WEBHOOK_ID_HEX + 1];
    const char *action;
    int rc = no_query(req, resp);
    ent_webhooks_flush(ent_webhooks_of(n)); /* show what is acknowledged */
    if (rc != ENT_OK)
        return rc;
    if (path_parts(req, id, &action) != ENT_OK)
        return ent_http_response_error(resp, 404, ENT_ENOENT,
                                       "no such webhook");
    if (action[0] == '\0')
        return respond_hook(n, id, 200, NULL, resp);
    if (strcmp(action, "deliveries") != 0)
        return ent_http_response_error(resp, 404, ENT_ENOENT,
                                       "no such endpoint");
    ent_webhook *h = malloc(sizeof(*h));
    struct view_ctx c = {.id = id, .h = h, .want_log = true};
    if (h == NULL)
        return ENT_ENOMEM;
    rc = ent_store_read(ent_node_store(n), view_fn, &c);
    free(h);
    if (rc != ENT_OK)
        return rc == ENT_ENOENT ? ent_http_response_error(resp, 404, rc,
                                                          "no such webhook")
                                : rc;
    size_t i;
    json_t *row;
    json_array_foreach(c.log, i, row) time_key(row, "time");
    ent_http_response_json(resp, 200, c.log);
    return ENT_OK;
}

struct change_ctx {
    const char *id;
    const char *action;
    uint64_t from;     /* replay */
    uint64_t first;    /* oldest event kept (replay's error) */
    uint64_t event;    /* test: the event appended */
    const char *user;  /* test: who asked */
};

static int change_fn(ent_txn *txn, void *data) {
    struct change_ctx *c = data;
    ent_webhook *h = malloc(sizeof(*h));
    char cur[32];
    uint64_t last;
    if (h == NULL)
        return ENT_ENOMEM;
    int rc = ent_webhook_get(txn, c->id, h);
    if (rc != ENT_OK)
        goto out;
    if (strcmp(c->action, "pause") == 0 || strcmp(c->action, "resume") == 0) {
        h->paused = strcmp(c->action, "pause") == 0;
        rc = ent_webhook_put(txn, h);
    } else if (strcmp(c->action, "replay") == 0) {
        if ((rc = ent_events_first(txn, &c->first)) != ENT_OK ||
            (rc = ent_events_last(txn, &last)) != ENT_OK)
            goto out;
        if (c->from > last + 1 || (c->first > 0 && c->from < c->first) ||
            (c->first == 0 && c->from != last + 1)) {
            rc = ENT_EEXPIRED;
            goto out;
        }
        ent_webhook_cursor_name(cur, c->id);
        rc = ent_events_cursor_set(txn, cur, c->from - 1);
    } else { /* test */
        json_t *d = json_pack("{s:s}", "webhook", c->id);
        ent_event ev = {.kind = "webhook.test", .user = c->user, .data = d};
        rc = d != NULL ? ent_events_append(txn, &ev, ent_api_now_ms(),
                                           &c->event)
                       : ENT_ENOMEM;
        json_decref(d);
    }
out:
    free(h);
    return rc;
}

int ent_api_webhook_post(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp) {
    char id[ENT_WEBHOOK_ID_HEX + 1];
    const char *action;
    json_t *body = NULL;
    int rc = no_query(req, resp);
    ent_webhooks_flush(ent_webhooks_of(n)); /* show what is acknowledged */
    if (rc != ENT_OK)
        return rc;
    if (path_parts(req, id, &action) != ENT_OK)
        return ent_http_response_error(resp, 404, ENT_ENOENT,
                                       "no such webhook");
    struct change_ctx c = {.id = id, .action = action};
    if (strcmp(action, "replay") == 0) {
        static const char *const keys[] = {"from", NULL};
        if ((rc = ent_api_body_object(req, resp, &body)) != ENT_OK)
            return rc;
        json_t *from = json_object_get(body, "from");
        if ((rc = check_keys(body, keys, resp)) != ENT_OK)
            goto out;
        if (!json_is_integer(from) || json_integer_value(from) < 1) {
            rc = ent_http_response_error(resp, 400, ENT_EINVAL,
                                         "\"from\": an event id (1 or more)");
            goto out;
        }
        c.from = (uint64_t)json_integer_value(from);
    } else if (strcmp(action, "test") == 0) {
        const ent_principal *p = req->principal;
        c.user = p != NULL && p->kind == ENT_PRINCIPAL_USER ? p->user : NULL;
    } else if (strcmp(action, "pause") != 0 && strcmp(action, "resume") != 0) {
        return ent_http_response_error(resp, 404, ENT_ENOENT,
                                       "no such endpoint");
    }
    rc = ent_store_write(ent_node_store(n), change_fn, &c);
    if (rc == ENT_ENOENT) {
        rc = ent_http_response_error(resp, 404, rc, "no such webhook");
        goto out;
    }
    if (rc == ENT_EEXPIRED) {
        rc = ent_http_response_error(
            resp, 409, rc,
            "event %llu is not kept: replay from %llu up to the newest "
            "event + 1",
            (unsigned long long)c.from, (unsigned long long)c.first);
        goto out;
    }
    if (rc != ENT_OK)
        goto out;
    /* a test ping waits its turn; the others start over from the stored
     * state (a pending retry delay is forgotten) */
    ent_webhooks_changed(ent_webhooks_of(n),
                         strcmp(action, "test") == 0 ? NULL : id);
    if (strcmp(action, "test") == 0) {
        json_t *o = json_pack("{s:s,s:I}", "id", id, "event",
                              (json_int_t)c.event);
        rc = o != NULL ? ENT_OK : ENT_ENOMEM;
        if (o != NULL)
            ent_http_response_json(resp, 202, o);
        goto out;
    }
    rc = respond_hook(n, id, 200, NULL, resp);
out:
    json_decref(body);
    return rc;
}

static int del_fn(ent_txn *txn, void *data) {
    return ent_webhook_del(txn, data);
}

int ent_api_webhook_delete(ent_node *n, const ent_http_request *req,
                           ent_http_response *resp) {
    char id[ENT_WEBHOOK_ID_HEX + 1];
    const char *action;
    int rc = no_query(req, resp);
    ent_webhooks_flush(ent_webhooks_of(n)); /* show what is acknowledged */
    if (rc != ENT_OK)
        return rc;
    if (path_parts(req, id, &action) != ENT_OK || action[0] != '\0')
        return ent_http_response_error(resp, 404, ENT_ENOENT,
                                       "no such webhook");
    rc = ent_store_write(ent_node_store(n), del_fn, id);
    if (rc == ENT_ENOENT)
        return ent_http_response_error(resp, 404, rc, "no such webhook");
    if (rc != ENT_OK)
        return rc;
    ent_webhooks_changed(ent_webhooks_of(n), NULL);
    json_t *o = json_pack("{s:s,s:b}", "id", id, "removed", 1);
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}
