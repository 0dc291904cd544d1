/*
 * api.c - the local API server: it listens on HOME/api.sock (mode 0600),
 * owns every API connection (limits, idle timeout, keep-alive), holds the
 * route table that lists the endpoint modules' handlers, dispatches each
 * request to its route (405 with Allow, 404), counts the answers by route
 * and status for GET /metrics and answers GET /v1/status.
 * See api.h and spec/api.md.
 */
#include "node/api/api.h"
#include "node/api/api_access.h"
#include "node/api/api_overlap.h"
#include "node/api/api_events.h"
#include "node/api/api_log.h"
#include "node/api/api_metrics.h"
#include "node/api/api_attach.h"
#include "node/api/api_objects.h"
#include "node/api/api_peers.h"
#include "node/api/api_crm.h"
#include "node/api/api_reports.h"
#include "node/api/api_users.h"
#include "node/api/api_webhooks.h"
#include "node/audit/witness.h"
#include "node/err.h"
#include "node/metrics.h"
#include "node/objects/object.h"
#include "node/peers/peer.h"

#include <uv.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void restoring_error(ent_node *n, ent_http_response *resp);

/*
 * The built-in routes: the one list of what the API serves. Paths are
 * templates: a segment "{name}" matches one non-empty path segment, which
 * the handler reads from req->path. spec/openapi.yaml describes each line
 * (tests/openapi_test.c holds them to each other). Modules that own
 * endpoints add their lines here.
 */
static const ent_api_route builtin_routes[] = {
    {"GET", "/metrics", false, ent_api_metrics}, /* api_metrics.c */
    {"GET", "/v1/status", false, ent_api_status},
    {"POST", "/v1/restore/done", false, ent_api_restore_done},
    {"GET", "/v1/log", false, ent_api_log_get}, /* node/api/api_log.c */
    {"GET", "/v1/events", false, ent_api_events_get}, /* api_events.c */
    {"GET", "/v1/audit/export", false, ent_api_audit_export},
    {"GET", "/v1/audit/heads", false, ent_api_audit_heads},
    {"GET", "/v1/object-keys/{id}", false, ent_api_object_keys},
    /* objects, templates, configuration: node/api/api_objects.c */
    {"POST", "/v1/objects", false, ent_api_objects_create},
    {"POST", "/v1/objects/batch", false, ent_api_objects_batch},
    {"GET", "/v1/objects", false, ent_api_objects_list},
    {"GET", "/v1/objects/{id}", false, ent_api_object_get},
    {"POST", "/v1/objects/{id}", false, ent_api_object_set},
    {"POST", "/v1/objects/{id}/stage", false, ent_api_object_stage},
    {"POST", "/v1/objects/{id}/comments", false, ent_api_object_comment},
    {"POST", "/v1/objects/{id}/approve", false, ent_api_object_approve},
    {"POST", "/v1/objects/{id}/reject", false, ent_api_object_reject},
    {"POST", "/v1/objects/{id}/convert", false, ent_api_object_convert},
    {"POST", "/v1/objects/{id}/erase", false, ent_api_object_erase},
    /* attachments: node/api/api_attach.c */
    {"GET", "/v1/objects/{id}/attachments", false, ent_api_attachments},
    {"POST", "/v1/objects/{id}/attachments", false, ent_api_attachments},
    {"POST", "/v1/objects/{id}/attachments/fetch", false, ent_api_attachments},
    {"POST", "/v1/objects/{id}/attachments/save", false, ent_api_attachments},
    {"POST", "/v1/objects/{id}/attachments/read", false, ent_api_attachments},
    {"GET", "/v1/objects/{id}/rules", false, ent_api_object_get},
    {"PUT", "/v1/objects/{id}/rules", false, ent_api_object_put},
    /* invites, joins, members, peers: node/api/api_peers.c */
    {"POST", "/v1/objects/{id}/invites", false, ent_api_object_invite},
    {"POST", "/v1/objects/{id}/leave", false, ent_api_object_leave},
    {"DELETE", "/v1/objects/{id}/members/{org}", false, ent_api_member_remove},
    {"POST", "/v1/objects/{id}/members/{org}/remove", false,
     ent_api_member_remove},
    {"POST", "/v1/objects/{id}/members/{org}/role", false, ent_api_member_role},
    {"POST", "/v1/join", false, ent_api_join},
    {"POST", "/v1/join/preview", false, ent_api_join_preview},
    {"GET", "/v1/joins/{join}", false, ent_api_join_get},
    {"GET", "/v1/peers", false, ent_api_peers_list},
    {"GET", "/v1/invites", false, ent_api_invites_list},
    {"DELETE", "/v1/invites/{invite_id}", false, ent_api_invite_delete},
    {"GET", "/v1/inbox", false, ent_api_inbox},
    {"GET", "/v1/templates", false, ent_api_templates_list},
    {"GET", "/v1/templates/{type}", false, ent_api_template_get},
    {"PUT", "/v1/templates/{type}", false, ent_api_template_put},
    {"DELETE", "/v1/templates/{type}", false, ent_api_template_delete},
    {"GET", "/v1/config", false, ent_api_config_get},
    {"PUT", "/v1/config", false, ent_api_config_put},
    {"GET", "/v1/config/{name}", false, ent_api_config_list_get},
    {"PUT", "/v1/config/{name}", false, ent_api_config_list_put},
    {"GET", "/v1/config-tables", false, ent_api_config_tables},
    /* users, tokens, policies, login: node/api/api_users.c */
    {"GET", "/v1/users", false, ent_api_users_list},
    {"POST", "/v1/users", false, ent_api_users_create},
    {"GET", "/v1/users/{name}", false, ent_api_user_get},
    {"POST", "/v1/users/{name}", false, ent_api_user_set},
    {"DELETE", "/v1/users/{name}", false, ent_api_user_delete},
    {"GET", "/v1/tokens", false, ent_api_tokens_list},
    {"POST", "/v1/tokens", false, ent_api_tokens_create},
    {"DELETE", "/v1/tokens/{id}", false, ent_api_token_delete},
    {"GET", "/v1/policies", false, ent_api_policies_list},
    {"POST", "/v1/policies", false, ent_api_policies_create},
    {"POST", "/v1/policies/test", false, ent_api_policies_test},
    {"GET", "/v1/policies/{id}", false, ent_api_policy_get},
    {"DELETE", "/v1/policies/{id}", false, ent_api_policy_delete},
    {"POST", "/v1/login", false, ent_api_login},
    {"POST", "/v1/logout", false, ent_api_logout},
    {"GET", "/v1/access/me", false, ent_api_me},
    /* webhooks: node/api/api_webhooks.c */
    {"GET", "/v1/webhooks", false, ent_api_webhooks_list},
    {"POST", "/v1/webhooks", false, ent_api_webhooks_create},
    {"GET", "/v1/webhooks/{webhook}", false, ent_api_webhook_get},
    {"DELETE", "/v1/webhooks/{webhook}", false, ent_api_webhook_delete},
    {"GET", "/v1/webhooks/{webhook}/deliveries", false, ent_api_webhook_get},
    {"POST", "/v1/webhooks/{webhook}/pause", false, ent_api_webhook_post},
    {"POST", "/v1/webhooks/{webhook}/resume", false, ent_api_webhook_post},
    {"POST", "/v1/webhooks/{webhook}/replay", false, ent_api_webhook_post},
    {"POST", "/v1/webhooks/{webhook}/test", false, ent_api_webhook_post},
    /* account mapping: node/api/api_overlap.c */
    {"GET", "/v1/accounts", false, ent_api_accounts_list},
    {"POST", "/v1/accounts", false, ent_api_accounts_add},
    {"GET", "/v1/partners", false, ent_api_partners_list},
    {"POST", "/v1/partners/invites", false, ent_api_partner_invite},
    {"PUT", "/v1/partners/{org}/share", false, ent_api_partner_share},
    {"POST", "/v1/partners/{org}/runs", false, ent_api_partner_run},
    {"GET", "/v1/partners/{org}/overlap", false, ent_api_partner_overlap},
    {"POST", "/v1/partners/{org}/seed", false, ent_api_partner_seed},
    /* reports: node/api/api_reports.c */
    {"GET", "/v1/reports/{kind}", false, ent_api_report_get},
    {"GET", "/v1/views", false, ent_api_views_list},
    {"GET", "/v1/views/{name}", false, ent_api_view_get},
    {"GET", "/v1/views/{name}/run", false, ent_api_view_get},
    {"PUT", "/v1/views/{name}", false, ent_api_view_put},
    {"DELETE", "/v1/views/{name}", false, ent_api_view_delete},
    {"GET", "/v1/fieldmaps", false, ent_api_fieldmaps},
    {"GET", "/v1/fieldmaps/{type}", false, ent_api_fieldmaps},
    {"PUT", "/v1/fieldmaps/{type}", false, ent_api_fieldmaps},
    {"DELETE", "/v1/fieldmaps/{type}", false, ent_api_fieldmaps},
    /* CRM sync: node/api/api_crm.c */
    {"POST", "/v1/crm/import", false, ent_api_crm_import},
    {"POST", "/v1/crm/export", false, ent_api_crm_export},
};

const ent_api_route *ent_api_builtin_routes(size_t *n) {
    *n = sizeof(builtin_routes) / sizeof(builtin_routes[0]);
    return builtin_routes;
}

typedef struct api_conn api_conn;

struct ent_api {
    ent_node *node;
    uv_pipe_t listener;
    bool listening;
    bool closing;
    int listener_open; /* 1 while the listener handle is initialised */
    api_conn *conns;   /* doubly linked list of open connections */
    size_t nconns;
    /* connections not closing: what the limit and the gauge count (a
     * closing one is gone for its client, whose next connection may come
     * before the close callback) */
    size_t nopen;
    size_t nstreams; /* connections streaming an answer */
    ent_api_route routes[ENT_API_MAX_ROUTES];
    size_t nroutes;
    struct api_stat *stats; /* requests by route and status (GET /metrics) */
    size_t nstats, capstats;
    void (*closed_cb)(void *data);
    void *closed_data;
    const ent_api_ext *ext; /* the TCP API (api_tcp.c), NULL when none */
    void *ext_state;
    bool ext_open;          /* its listener or connections are open */
    /* answers waiting for the group commit (ent__api_hold) */
    struct api_held *held;
    size_t nheld, capheld;
    uv_check_t *check; /* commits the group after the poll phase */
    uv_idle_t *idle;   /* keeps the poll from blocking while answers wait */
    uint64_t groups;        /* group commits that released answers */
    uint64_t group_answers; /* answers released by them */
    uint64_t group_failed;  /* group commits that failed */
};

/* An answer waiting for its group's commit. */
typedef struct api_held {
    void *conn;
    ent__api_release_fn release;
    ent_http_response resp;
    bool keep;
} api_held;

struct api_conn {
    ent_api_stream stream; /* the handlers' view of a streamed answer */
    ent_api *api;
    uv_pipe_t pipe;
    uv_timer_t timer;
    ent_http_parser *parser;
    int open_handles;
    bool closing;
    bool answered; /* a whole (not streamed) answer is on its way */
    /* a streamed answer (ent_http_stream_ops), owned from its start until
     * its closed() */
    const ent_http_stream_ops *sops;
    void *sdata;
    api_conn *prev, *next;
    char rbuf[16384];
};

/* One write in flight: its request and the bytes it owns. */
typedef struct conn_write {
    uv_write_t req;
    api_conn *c;
    char *buf;
} conn_write;

/* ---- routing --------------------------------------------------------------- */

/* A template segment "{name}" matches one non-empty segment of path. */
static bool template_matches(const char *tpl, const char *path) {
    while (*tpl != '\0' && *path != '\0') {
        if (*tpl == '{') {
            const char *close = strchr(tpl, '}');
            size_t seg = strcspn(path, "/");
            if (close == NULL || seg == 0)
                return false;
            tpl = close + 1;
            path += seg;
        } else if (*tpl++ != *path++) {
            return false;
        }
    }
    return *tpl == '\0' && *path == '\0';
}

static bool route_matches(const ent_api_route *r, const char *path) {
    if (r->prefix)
        return strncmp(path, r->path, strlen(r->path)) == 0;
    return template_matches(r->path, path);
}

/* Adds method to the comma-separated list allow (no duplicates). */
static void allow_add(char *allow, size_t cap, const char *method) {
    size_t ml = strlen(method);
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += ml) {
        if ((p == allow || p[-1] == ' ') && (p[ml] == ',' || p[ml] == '\0'))
            return;
    }
    size_t al = strlen(allow);
    snprintf(allow + al, cap - al, "%s%s", al ? ", " : "", method);
}

/* How literal a route is: the characters of its template outside "{...}"
 * (a prefix route: its length). */
static size_t route_literal(const ent_api_route *r) {
    size_t n = 0;
    bool in = false;
    for (const char *p = r->path; *p; p++) {
        if (*p == '{')
            in = true;
        else if (*p == '}')
            in = false;
        else if (!in)
            n++;
    }
    return n;
}

/*
 * The route of req, or NULL; then *path_known says whether another method
 * would have matched, and allow lists them. Of the routes whose template
 * matches the path only the most literal ones count ("/v1/policies/test"
 * before "/v1/policies/{id}"), per-node routes before built-in ones.
 */
static const ent_api_route *route_find(ent_node *n, const ent_http_request *req,
                                       bool *path_known, char *allow,
                                       size_t cap) {
    size_t nextra = 0, best = 0;
    ent_api *api = ent__node_api(n);
    const ent_api_route *extra = api ? ent__api_routes(api, &nextra) : NULL;
    const ent_api_route *hit = NULL;
    *path_known = false;
    allow[0] = '\0';
    for (int round = 0; round < 2; round++) {
        for (size_t pass = 0; pass < 2; pass++) {
            const ent_api_route *tab = pass == 0 ? extra : builtin_routes;
            size_t cnt =
                pass == 0 ? nextra
                          : sizeof(builtin_routes) / sizeof(builtin_routes[0]);
            for (size_t i = 0; i < cnt; i++) {
                if (!route_matches(&tab[i], req->path))
                    continue;
                size_t lit = route_literal(&tab[i]);
                if (round == 0) {
                    best = lit > best ? lit : best;
                    continue;
                }
                if (lit != best)
                    continue;
                *path_known = true;
                if (strcmp(tab[i].method, req->method) == 0) {
                    if (hit == NULL)
                        hit = &tab[i];
                } else {
                    allow_add(allow, cap, tab[i].method);
                }
            }
        }
    }
    return hit;
}

static void route_request(ent_node *n, const ent_http_request *req,
                          const ent_api_route *hit, bool path_known,
                          const char *allow, ent_http_response *resp) {
    if (hit == NULL) {
        if (path_known) {
            ent_http_response_error(resp, 405, ENT_EMETHOD,
                                    "method %s not allowed on %s", req->method,
                                    req->path);
            snprintf(resp->allow, sizeof(resp->allow), "%s", allow);
        } else {
            ent_http_response_error(resp, 404, ENT_ENOENT, "no such endpoint");
        }
        return;
    }
    int rc = hit->fn(n, req, resp);
    if (rc == ENT_ERESTORING)
        restoring_error(n, resp);
    if (rc != ENT_OK && (resp->status < 400 || resp->body == NULL))
        ent_http_response_error(resp, ent_api_error_status(rc), rc, "%s",
                                ent_strerror(rc));
    if (resp->status == 0)
        ent_http_response_error(resp, 500, ENT_EINVAL,
                                "handler gave no response");
}

/* ---- requests by route and status (GET /metrics) --------------------------- */

struct api_stat {
    const ent_api_route *route; /* NULL: no route (404, 405, unparsed) */
    bool parsed;                /* false: refused before it was parsed */
    int status;
    uint64_t n;
};

static void stat_count(ent_api *api, const ent_api_route *route, bool parsed,
                       int status) {
    if (api == NULL)
        return;
    for (size_t i = 0; i < api->nstats; i++) {
        struct api_stat *st = &api->stats[i];
        if (st->route == route && st->parsed == parsed &&
            st->status == status) {
            st->n++;
            return;
        }
    }
    if (api->nstats == api->capstats) {
        size_t cap = api->capstats ? api->capstats * 2 : 32;
        void *p = realloc(api->stats, cap * sizeof(*api->stats));
        if (p == NULL)
            return; /* the count is lost, not the request */
        api->stats = p;
        api->capstats = cap;
    }
    api->stats[api->nstats++] = (struct api_stat){route, parsed, status, 1};
}

/* entente_api_requests_total{method,route,status}: the route is the
 * template, never the path with its ids. */
static void api_collect(ent_metrics_out *o, void *data) {
    ent_api *api = data;
    ent_node_counters c;
    ent_node_counters_get(api->node, &c);
    ent_metrics_family(o, "entente_api_requests_total", ENT_METRIC_COUNTER,
                       "API requests answered, by route template, method "
                       "and status");
    for (size_t i = 0; i < api->nstats; i++) {
        const struct api_stat *st = &api->stats[i];
        char status[16];
        snprintf(status, sizeof(status), "%d", st->status);
        ent_metrics_sample(o, (double)st->n, "method",
                           st->route != NULL ? st->route->method : "", "route",
                           st->route != NULL ? st->route->path
                           : st->parsed      ? "(unmatched)"
                                             : "(unparsed)",
                           "status", status, NULL);
    }
    ent_metrics_family(o, "entente_api_connections_refused_total",
                       ENT_METRIC_COUNTER,
                       "API connections refused over the connection limit");
    ent_metrics_sample(o, (double)c.api_rejected, NULL);
    ent_metrics_family(o, "entente_api_connections", ENT_METRIC_GAUGE,
                       "API connections open now");
    ent_metrics_sample(o, (double)api->nopen, NULL);
    ent_metrics_family(o, "entente_api_group_commits_total",
                       ENT_METRIC_COUNTER,
                       "group commits of API writes (one per loop turn "
                       "with writes)");
    ent_metrics_sample(o, (double)api->groups, NULL);
    ent_metrics_family(o, "entente_api_group_answers_total",
                       ENT_METRIC_COUNTER,
                       "API answers held for a group commit and released");
    ent_metrics_sample(o, (double)api->group_answers, NULL);
    ent_metrics_family(o, "entente_api_group_commit_failures_total",
                       ENT_METRIC_COUNTER,
                       "group commits that failed (their requests answered "
                       "500)");
    ent_metrics_sample(o, (double)api->group_failed, NULL);
}

/*
 * The routes whose writes join the store's group commit and whose answers
 * wait for it (spec/storage.md "Group commit"): handlers whose only output
 * before the answer is the answer itself and ent_node_op_created (held by
 * the node until the group is durable).
 */
static bool route_grouped(const ent_api_route *r) {
    static const ent_api_handler grouped[] = {
        ent_api_objects_create, ent_api_object_set, ent_api_object_stage,
        ent_api_object_comment, ent_api_objects_batch,
    };
    for (size_t i = 0; i < sizeof(grouped) / sizeof(grouped[0]); i++)
        if (r->fn == grouped[i])
            return true;
    return false;
}

/* Every request passes the access guard (node/api/api_access.h): who
 * calls, whether the policies allow it, and what the answer may carry. */
void ent_api_dispatch(ent_node *n, const ent_http_request *req,
                      ent_http_response *resp) {
    ent__api_dispatch_admit(n, req, resp, NULL, NULL);
}

bool ent__api_dispatch_held(ent_node *n, const ent_http_request *req,
                            ent_http_response *resp,
                            bool (*admit)(void *data, const ent_principal *who,
                                          uint64_t *retry_ms),
                            void *data) {
    ent_http_request r = *req; /* shallow: the guard may set principal and
                                  query; nothing of it is freed here */
    ent_principal who;
    ent_api_guard g;
    char allow[sizeof(resp->allow)];
    bool known = false;
    const ent_api_route *hit = route_find(n, req, &known, allow, sizeof(allow));
    uint64_t retry = 0;
    ent_store *st = ent_node_store(n);
    bool group = hit != NULL && route_grouped(hit) && st != NULL;
    if (group)
        ent_store_group_enter(st);
    int rc = ent_api_access_begin(n, &r, &who, &g, resp);
    if (admit != NULL &&
        !admit(data, who.kind == ENT_PRINCIPAL_USER ? &who : NULL, &retry)) {
        ent_http_response_clear(resp);
        ent_http_response_error(resp, 429, ENT_ELIMIT,
                                "too many requests; try again in %llu ms",
                                (unsigned long long)retry);
        resp->retry_after = (unsigned)((retry + 999) / 1000);
        rc = ENT_ELIMIT;
    }
    if (rc == ENT_OK) {
        /* the user of the events the handler's changes raise */
        ent_obj_set_actor(ent_node_objects(n), who.kind == ENT_PRINCIPAL_USER
                                                   ? who.user
                                                   : NULL);
        route_request(n, &r, hit, known, allow, resp);
        ent_obj_set_actor(ent_node_objects(n), NULL);
    }
    ent_api_access_end(n, &r, &who, &g, resp);
    if (group)
        ent_store_group_leave(st);
    stat_count(ent__node_api(n), hit, true, resp->status);
    return group;
}

/* The answer of a held request whose group failed to commit. */
static void not_durable(ent_http_response *resp, int err) {
    ent_http_response_clear(resp);
    ent_http_response_error(resp, 500, err,
                            "storage commit failed: %s (the group of writes "
                            "it was in was rolled back: the change was not "
                            "made)",
                            ent_strerror(err));
}

/* A caller that cannot wait (tests, in-process use): the group commits
 * now, before the answer is returned. */
void ent__api_dispatch_admit(ent_node *n, const ent_http_request *req,
                             ent_http_response *resp,
                             bool (*admit)(void *data, const ent_principal *who,
                                           uint64_t *retry_ms),
                             void *data) {
    if (!ent__api_dispatch_held(n, req, resp, admit, data))
        return;
    int err = ent_store_group_commit(ent_node_store(n));
    ent__node_ops_release(n, err);
    if (err != ENT_OK)
        not_durable(resp, err);
}

/*
 * Once per loop iteration while answers wait: one durable commit for every
 * request of the iteration, then the answers and the ops go out (in that
 * order nothing leaves before it is durable).
 */
static void api_release(ent_api *api) {
    int err = ent_store_group_commit(ent_node_store(api->node));
    api_held *v = api->held;
    size_t n = api->nheld;
    api->groups++;
    api->group_answers += n;
    api->group_failed += err != ENT_OK;
    api->held = NULL; /* a release may close a connection (unhold) */
    api->nheld = api->capheld = 0;
    if (api->check != NULL)
        uv_check_stop(api->check);
    if (api->idle != NULL)
        uv_idle_stop(api->idle);
    for (size_t i = 0; i < n; i++) {
        if (v[i].conn == NULL) {
            ent_http_response_clear(&v[i].resp);
            continue;
        }
        if (err != ENT_OK)
            not_durable(&v[i].resp, err);
        v[i].release(v[i].conn, &v[i].resp, v[i].keep);
        ent_http_response_clear(&v[i].resp);
    }
    free(v);
    ent__node_ops_release(api->node, err);
}

static void group_check(uv_check_t *h) {
    api_release(h->data);
}

static void group_idle(uv_idle_t *h) {
    (void)h; /* only there to keep the poll phase from blocking */
}

static void handle_free(uv_handle_t *h) {
    free(h);
}

int ent__api_hold(ent_api *api, void *conn, ent_http_response *resp,
                  bool keep, ent__api_release_fn release) {
    uv_loop_t *loop = ent_node_loop(api->node);
    if (api->check == NULL) {
        api->check = malloc(sizeof(*api->check));
        api->idle = malloc(sizeof(*api->idle));
        if (api->check == NULL || api->idle == NULL) {
            free(api->check);
            free(api->idle);
            api->check = NULL;
            api->idle = NULL;
            return ENT_ENOMEM;
        }
        uv_check_init(loop, api->check);
        uv_idle_init(loop, api->idle);
        api->check->data = api;
        api->idle->data = api;
    }
    if (api->nheld == api->capheld) {
        size_t cap = api->capheld ? api->capheld * 2 : 16;
        api_held *v = realloc(api->held, cap * sizeof(*v));
        if (v == NULL)
            return ENT_ENOMEM;
        api->held = v;
        api->capheld = cap;
    }
    api_held *h = &api->held[api->nheld++];
    h->conn = conn;
    h->release = release;
    h->resp = *resp;
    h->keep = keep;
    memset(resp, 0, sizeof(*resp));
    uv_check_start(api->check, group_check);
    uv_idle_start(api->idle, group_idle);
    return ENT_OK;
}

void ent__api_unhold(ent_api *api, void *conn) {
    for (size_t i = 0; api != NULL && i < api->nheld; i++)
        if (api->held[i].conn == conn)
            api->held[i].conn = NULL; /* cleared when released */
}

void ent__api_set_ext(ent_api *api, const ent_api_ext *ext, void *state) {
    if (api->ext != NULL)
        api->ext->free(api->ext_state);
    api->ext = ext;
    api->ext_state = state;
}

void *ent__api_ext_state(ent_api *api, const ent_api_ext *ext) {
    return api != NULL && api->ext == ext ? api->ext_state : NULL;
}

int ent__api_route_add(ent_api *api, const ent_api_route *route) {
    if (route == NULL || route->method == NULL || route->path == NULL ||
        route->fn == NULL || route->path[0] != '/')
        return ENT_EINVAL;
    if (api->nroutes == ENT_API_MAX_ROUTES)
        return ENT_ELIMIT;
    api->routes[api->nroutes++] = *route;
    return ENT_OK;
}

int ent_api_route_add(ent_node *n, const ent_api_route *route) {
    return ent__api_route_add(ent__node_api(n), route);
}

const ent_api_route *ent__api_routes(const ent_api *api, size_t *n) {
    *n = api->nroutes;
    return api->routes;
}

/* ---- restore (spec/operations.md §3) -------------------------------------- */

static json_t *restore_json(ent_node *n) {
    ent_peers_restore_info ri;
    ent_peers_restore_get(ent_node_peers(n), &ri);
    if (!ri.catching_up)
        return json_null();
    return json_pack("{s:s,s:I,s:I}", "state", "catching_up", "partners",
                     (json_int_t)ri.partners, "in_sync",
                     (json_int_t)ri.in_sync);
}

int ent_api_restore_done(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp) {
    ent_peers_restore_info ri;
    ent_peers_restore_get(ent_node_peers(n), &ri);
    if (ent_node_peers(n) == NULL)
        return ent_http_response_error(resp, 503, ENT_EBUSY,
                                       "the peer layer is not running");
    int rc = ent_peers_restore_done(ent_node_peers(n));
    if (rc != ENT_OK)
        return rc;
    ent_http_response_json(resp, 200,
                           json_pack("{s:b,s:I,s:I}", "was_catching_up",
                                     ri.catching_up, "partners",
                                     (json_int_t)ri.partners, "in_sync",
                                     (json_int_t)ri.in_sync));
    return ENT_OK;
}

/* The answer to a write refused while catching up: 503 with Retry-After
 * (ent_http_response_serialize) and the words the CLI prints. */
static void restoring_error(ent_node *n, ent_http_response *resp) {
    ent_peers_restore_info ri;
    ent_peers_restore_get(ent_node_peers(n), &ri);
    ent_http_response_clear(resp);
    ent_http_response_error(
        resp, 503, ENT_ERESTORING,
        "this node was restored from a backup and is fetching its own newer "
        "ops back from its partners (%zu of %zu in sync); `entente restore "
        "done` forces it, risking equivocation if a partner still holds "
        "newer ops",
        ri.in_sync, ri.partners);
}

/* ---- GET /v1/status ------------------------------------------------------- */

struct counts {
    uint64_t peers;
    uint64_t objects;
    uint64_t equivocations; /* node/audit/witness.h */
    uint64_t rewinds;       /* rewinds of partners kept as a witness */
};

static int count_rewind(void *data, const uint8_t *rec, size_t len) {
    (void)rec;
    (void)len;
    ++*(uint64_t *)data;
    return 0;
}

static int count_tables(ent_txn *txn, void *data) {
    struct counts *c = data;
    int rc = ent_txn_count(txn, ENT_TBL_PEERS, &c->peers);
    if (rc == ENT_OK)
        rc = ent_txn_count(txn, ENT_TBL_OBJECTS, &c->objects);
    if (rc == ENT_OK)
        rc = ent_witness_count(txn, &c->equivocations);
    if (rc == ENT_OK)
        rc = ent_witness_rewinds_foreach(txn, count_rewind, &c->rewinds);
    return rc;
}

int ent_api_status(ent_node *n, const ent_http_request *req,
                   ent_http_response *resp) {
    struct counts c = {0, 0, 0, 0};
    int rc = ent_store_read(ent_node_store(n), count_tables, &c);
    if (rc != ENT_OK)
        return ent_http_response_error(resp, 500, rc, "reading the store: %s",
                                       ent_strerror(rc));
    /* backlog syncs in progress or just finished (node/peers/peer_sync.c) */
    json_t *syncs = NULL, *sessions = NULL;
    if (ent_node_peers(n) == NULL) {
        syncs = json_array();
        sessions = json_object();
    } else if ((rc = ent_peers_syncs_json(ent_node_peers(n), &syncs)) !=
               ENT_OK) {
        return rc;
    } else if ((rc = ent_peers_sessions_json(ent_node_peers(n), &sessions)) !=
               ENT_OK) {
        json_decref(syncs);
        return rc;
    }
    /* the address partners are told to dial (node/peers/advertise.h) */
    char adv[ENT_ADDR_STRLEN] = "";
    if (ent_node_peers(n) != NULL)
        ent_peers_advertised(ent_node_peers(n), adv);
    /* what the engine did with ops from partners (node/objects/object.h) */
    ent_obj_stats st;
    memset(&st, 0, sizeof(st));
    if (ent_node_objects(n) != NULL)
        ent_obj_stats_get(ent_node_objects(n), &st);
    json_t *received = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "applied",
        (json_int_t)st.applied,
        "held", (json_int_t)st.pending, "rejected", (json_int_t)st.rejected,
        "not_member", (json_int_t)st.notmember, "limit",
        (json_int_t)st.limit, "held_strangers", (json_int_t)st.held_strangers,
        "held_evicted", (json_int_t)st.held_evicted, "held_expired",
        (json_int_t)st.held_expired, "bad_value", (json_int_t)st.bad_value,
        "corrupt", (json_int_t)st.corrupt);
    /* sessions: guests and refusals (node/peers/peer_guard.c) */
    /* the TCP API's address (api_tcp.c), null when it is off */
    bool tls = false;
    ent_api *api = ent__node_api(n);
    const char *tcp = api != NULL && api->ext != NULL
                          ? api->ext->address(api->ext_state, &tls)
                          : "";
    json_t *body = json_pack(
        "{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:b,s:o}", "org",
        ent_node_org_id(n),
        "name", ent_node_name(n), "listen", ent_node_listen(n), "advertise",
        adv, "peers", (json_int_t)c.peers, "objects", (json_int_t)c.objects,
        "equivocations", (json_int_t)c.equivocations, "rewinds",
        (json_int_t)c.rewinds, "syncs", syncs,
        "sessions", sessions, "received", received, "api_tcp",
        tcp[0] ? json_string(tcp) : json_null(), "api_tls", tls, "restore",
        restore_json(n));
    if (body == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, body);
    return ENT_OK;
}

/* ---- server ---------------------------------------------------------------- */

static void api_maybe_closed(ent_api *api) {
    if (api->closing && api->nconns == 0 && api->listener_open == 0 &&
        !api->ext_open && api->closed_cb != NULL) {
        void (*cb)(void *) = api->closed_cb;
        api->closed_cb = NULL;
        cb(api->closed_data);
    }
}

static void conn_handle_closed(uv_handle_t *h) {
    api_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    ent_api *api = c->api;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        api->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    api->nconns--;
    if (c->sops != NULL) {
        api->nstreams--;
        if (c->sops->closed != NULL)
            c->sops->closed(c->sdata);
    }
    ent_http_parser_free(c->parser);
    free(c);
    api_maybe_closed(api);
}

/*
 * The transport: conn_send() and conn_close() are the only functions that
 * touch the connection's socket for output (a TLS connection routes them
 * through its session).
 */
static void conn_close(api_conn *c) {
    if (c->closing)
        return;
    c->closing = true;
    c->api->nopen--;
    ent__api_unhold(c->api, c);
    uv_close((uv_handle_t *)&c->pipe, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

/* Bytes handed to the socket and not yet sent. */
static size_t conn_queued(const api_conn *c) {
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->pipe);
}

static void conn_sent(uv_write_t *wr, int status) {
    conn_write *w = wr->data;
    api_conn *c = w->c;
    free(w->buf);
    free(w);
    if (c->closing)
        return;
    if (status < 0 || c->answered) {
        conn_close(c); /* a whole answer is out, or the client is gone */
        return;
    }
    if (c->sops != NULL && c->sops->drain != NULL && conn_queued(c) == 0)
        c->sops->drain(c->sdata);
}

/* Writes buf (len bytes, malloc'ed, taken whatever happens). */
static int conn_send(api_conn *c, char *buf, size_t len) {
    conn_write *w = c->closing ? NULL : malloc(sizeof(*w));
    if (w == NULL) {
        free(buf);
        return c->closing ? ENT_ECLOSED : ENT_ENOMEM;
    }
    w->c = c;
    w->buf = buf;
    w->req.data = w;
    uv_buf_t b = uv_buf_init(buf, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, conn_sent) != 0) {
        free(buf);
        free(w);
        conn_close(c);
        return ENT_ECLOSED;
    }
    return ENT_OK;
}

static void conn_timeout(uv_timer_t *t) {
    api_conn *c = t->data;
    ENT_DEBUG(ent_node_log(c->api->node), "api: idle connection closed");
    conn_close(c);
}

/* ---- streamed answers (route.h) ---- */

static int stream_write(ent_api_stream *s, const char *buf, size_t len) {
    api_conn *c = (api_conn *)s;
    if (c->closing)
        return ENT_ECLOSED;
    if (conn_queued(c) + len > ENT_API_STREAM_MAX_QUEUED) {
        ENT_INFO(ent_node_log(c->api->node),
                 "api: stream reader too slow (%zu bytes queued): dropped",
                 conn_queued(c));
        conn_close(c);
        return ENT_ELIMIT;
    }
    char *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return ENT_ENOMEM;
    memcpy(copy, buf, len);
    return conn_send(c, copy, len);
}

static size_t stream_queued(const ent_api_stream *s) {
    return conn_queued((const api_conn *)s);
}

static void stream_end(ent_api_stream *s) {
    conn_close((api_conn *)s);
}

/* Sends the head of resp's stream and hands the stream to its handler; or
 * 503 when ENT_API_MAX_STREAMS are open. */
static void conn_stream(api_conn *c, ent_http_response *resp) {
    const ent_http_stream_ops *ops = resp->stream;
    char *head = NULL;
    size_t len = 0;
    if (c->api->nstreams >= ENT_API_MAX_STREAMS) {
        ENT_WARN(ent_node_log(c->api->node),
                 "api: more than %d streams, refusing one",
                 ENT_API_MAX_STREAMS);
        ent_http_response_error(resp, 503, ENT_ELIMIT, "too many streams");
        return;
    }
    if (ent_http_stream_head_serialize(ops, &head, &len) != ENT_OK) {
        ent_http_response_error(resp, 500, ENT_ENOMEM, "out of memory");
        return;
    }
    c->sops = ops; /* the connection owns the stream from here on */
    c->sdata = resp->stream_data;
    resp->stream = NULL;
    resp->stream_data = NULL;
    c->api->nstreams++;
    c->stream.write = stream_write;
    c->stream.queued = stream_queued;
    c->stream.end = stream_end;
    uv_timer_stop(&c->timer); /* the handler keeps it alive (heartbeats) */
    if (conn_send(c, head, len) == ENT_OK && ops->start != NULL)
        ops->start(c->sdata, &c->stream);
}

/* Serialises resp, counts it and writes it; the connection closes after.
 * A streamed answer stays open instead. */
static void conn_respond(api_conn *c, ent_http_response *resp) {
    ent_node_counters *ctr = ent__node_counters(c->api->node);
    char *out = NULL;
    size_t len = 0;
    ctr->api_requests++;
    if (resp->stream != NULL && resp->status == 200) {
        conn_stream(c, resp);
        if (c->sops != NULL)
            return; /* reading goes on: it tells when the client is gone */
    }
    if (resp->status >= 400)
        ctr->api_errors++;
    uv_read_stop((uv_stream_t *)&c->pipe);
    if (ent_http_response_serialize(resp, &out, &len) != ENT_OK) {
        conn_close(c);
        return;
    }
    c->answered = true;
    conn_send(c, out, len);
}

/* A held answer, now that its group is durable. */
static void conn_release(void *conn, ent_http_response *resp, bool keep) {
    (void)keep; /* one request per connection */
    conn_respond(conn, resp);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
    api_conn *c = h->data;
    buf->base = c->rbuf;
    buf->len = sizeof(c->rbuf);
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    api_conn *c = s->data;
    const ent_log *lg = ent_node_log(c->api->node);
    bool complete = false;
    if (c->closing || nread == 0)
        return;
    if (nread < 0) {
        if (nread != UV_EOF)
            ENT_DEBUG(lg, "api: read: %s", uv_strerror((int)nread));
        conn_close(c);
        return;
    }
    if (c->sops != NULL)
        return; /* streaming: what the client sends after is ignored */
    uv_timer_again(&c->timer);
    int rc = ent_http_parser_feed(c->parser, (const uint8_t *)buf->base,
                                  (size_t)nread, &complete, NULL);
    ent_http_response resp = {0};
    if (rc != ENT_OK) {
        const char *why = ent_http_parser_reason(c->parser);
        ENT_DEBUG(lg, "api: bad request: %s", why);
        ent_http_response_error(&resp, rc == ENT_ETOOBIG ? 413 : 400,
                                rc == ENT_ETOOBIG ? ENT_ETOOBIG : ENT_EPROTO,
                                "%s", why);
        stat_count(c->api, NULL, false, resp.status);
        conn_respond(c, &resp);
    } else if (complete) {
        const ent_http_request *req = ent_http_parser_request(c->parser);
        bool held = ent__api_dispatch_held(c->api->node, req, &resp, NULL,
                                           NULL);
        ENT_DEBUG(lg, "api: %s %s -> %d", req->method, req->path,
                  resp.status);
        if (!held) {
            conn_respond(c, &resp);
        } else {
            uv_read_stop((uv_stream_t *)&c->pipe);
            if (ent__api_hold(c->api, c, &resp, false, conn_release) !=
                ENT_OK) {
                int err = ent_store_group_commit(ent_node_store(c->api->node));
                ent__node_ops_release(c->api->node, err);
                if (err != ENT_OK)
                    not_durable(&resp, err);
                conn_respond(c, &resp);
            }
        }
    }
    ent_http_response_clear(&resp);
}

static void on_api_connection(uv_stream_t *server, int status) {
    ent_api *api = server->data;
    const ent_log *lg = ent_node_log(api->node);
    if (status < 0 || api->closing) {
        ENT_WARN(lg, "api: accept: %s", uv_strerror(status));
        return;
    }
    api_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->api = api;
    uv_pipe_init(server->loop, &c->pipe, 0);
    uv_timer_init(server->loop, &c->timer);
    c->pipe.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    c->next = api->conns;
    if (api->conns != NULL)
        api->conns->prev = c;
    api->conns = c;
    api->nconns++;
    api->nopen++;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, conn_timeout, ENT_API_IDLE_MS, ENT_API_IDLE_MS);
    if (api->nopen > ENT_API_MAX_CONNS) {
        ent_http_response resp = {0};
        ent__node_counters(api->node)->api_rejected++;
        ENT_WARN(lg, "api: more than %d connections, refusing one",
                 ENT_API_MAX_CONNS);
        ent_http_response_error(&resp, 503, ENT_ELIMIT,
                                "too many API connections");
        conn_respond(c, &resp);
        ent_http_response_clear(&resp);
        return;
    }
    if (ent_http_parser_new(&c->parser) != ENT_OK ||
        uv_read_start((uv_stream_t *)&c->pipe, conn_alloc, conn_read) != 0)
        conn_close(c);
}

ent_api *ent__node_api(ent_node *n) {
    return ent_node_part_state(n, ENT_NODE_API);
}

int ent__api_new(ent_api **out, ent_node *n) {
    ent_api *api = calloc(1, sizeof(*api));
    *out = NULL;
    if (api == NULL)
        return ENT_ENOMEM;
    api->node = n;
    if (ent_node_metrics(n) != NULL &&
        ent_metrics_collector_add(ent_node_metrics(n), api_collect, api) !=
            ENT_OK) {
        free(api);
        return ENT_ENOMEM;
    }
    *out = api;
    return ENT_OK;
}

static int uv_to_ent(int uverr) {
    return uverr < 0 ? ent_err_from_errno(-uverr) : ENT_OK;
}

static void listener_closed(uv_handle_t *h) {
    ent_api *api = h->data;
    api->listener_open = 0;
    api_maybe_closed(api);
}

int ent__api_listen(ent_api *api, const char *path) {
    const ent_log *lg = ent_node_log(api->node);
    struct sockaddr_un sun;
    uv_loop_t *loop = ent_node_loop(api->node);
    int rc = ENT_OK;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        ENT_DEBUG(lg, "api: socket path too long: %s", path);
        return ENT_ETOOBIG;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        /* We hold the home lock: a socket left here is stale. */
        if (S_ISDIR(st.st_mode))
            return ENT_EEXIST;
        ENT_INFO(lg, "api: removing stale %s", path);
        if (unlink(path) != 0)
            return ent_err_from_errno(errno);
    }
    int r = uv_pipe_init(loop, &api->listener, 0);
    if (r != 0)
        return uv_to_ent(r);
    api->listener.data = api;
    api->listener_open = 1;
    r = uv_pipe_bind(&api->listener, path);
    if (r != 0) {
        ENT_DEBUG(lg, "api: bind %s: %s", path, uv_strerror(r));
        rc = uv_to_ent(r);
        goto out;
    }
    /* No client can connect before listen(), and HOME is 0700 anyway. */
    if (chmod(path, 0600) != 0) {
        rc = ent_err_from_errno(errno);
        goto out;
    }
    r = uv_listen((uv_stream_t *)&api->listener, 128, on_api_connection);
    if (r != 0) {
        ENT_DEBUG(lg, "api: listen %s: %s", path, uv_strerror(r));
        rc = uv_to_ent(r);
        goto out;
    }
    api->listening = true;
    if (api->ext != NULL) {
        api->ext_open = true;
        rc = api->ext->start(api->ext_state);
    }
out:
    if (rc != ENT_OK) {
        unlink(path);
        /* the caller's stop path closes the listener handle */
    }
    return rc;
}

static void ext_closed(void *data) {
    ent_api *api = data;
    api->ext_open = false;
    api_maybe_closed(api);
}

void ent__api_close(ent_api *api, void (*cb)(void *data), void *data) {
    if (api->nheld > 0)
        api_release(api); /* what was written is answered first */
    if (api->check != NULL) {
        uv_close((uv_handle_t *)api->check, handle_free);
        uv_close((uv_handle_t *)api->idle, handle_free);
        api->check = NULL;
        api->idle = NULL;
    }
    api->closing = true;
    api->closed_cb = cb;
    api->closed_data = data;
    if (api->listener_open == 1) {
        api->listener_open = 2; /* closing */
        uv_close((uv_handle_t *)&api->listener, listener_closed);
    }
    for (api_conn *c = api->conns; c != NULL; c = c->next)
        conn_close(c);
    if (api->ext_open)
        api->ext->close(api->ext_state, ext_closed, api);
    api_maybe_closed(api);
}

void ent__api_free(ent_api *api) {
    if (api == NULL)
        return;
    ent_metrics_collector_remove(ent_node_metrics(api->node), api_collect, api);
    for (size_t i = 0; i < api->nheld; i++)
        ent_http_response_clear(&api->held[i].resp);
    free(api->held);
    if (api->check != NULL) { /* a node freed unstarted: gone on the next
                                 run of its loop */
        uv_close((uv_handle_t *)api->check, handle_free);
        uv_close((uv_handle_t *)api->idle, handle_free);
    }
    free(api->stats);
    if (api->ext != NULL)
        api->ext->free(api->ext_state);
    free(api);
}
