/*
 * api.c - the local API server: it listens on HOME/api.sock (mode 0600),
 * owns every API connection (limits, idle timeout, keep-alive), holds the
 * route table that lists the endpoint modules' handlers, dispatches each
 * request to its route (405 with Allow, 404) and answers GET /v1/status.
 * See api.h and spec/api.md.
 */
#include "node/api/api.h"
#include "node/api/api_access.h"
#include "node/api/api_log.h"
#include "node/api/api_objects.h"
#include "node/api/api_peers.h"
#include "node/api/api_reports.h"
#include "node/api/api_users.h"
#include "node/audit/witness.h"
#include "node/err.h"
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

/* The built-in routes. Modules that own endpoints add their lines here. */
static const ent_api_route builtin_routes[] = {
    {"GET", "/v1/status", false, ent_api_status},
    {"GET", "/v1/log", false, ent_api_log_get}, /* node/api/api_log.c */
    {"GET", "/v1/audit/export", false, ent_api_audit_export},
    {"GET", "/v1/audit/heads", false, ent_api_audit_heads},
    {"GET", "/v1/object-keys/", true, ent_api_object_keys},
    /* objects, templates, configuration: node/api/api_objects.c */
    {"POST", "/v1/objects", false, ent_api_objects_create},
    {"GET", "/v1/objects", false, ent_api_objects_list},
    {"GET", "/v1/objects/", true, ent_api_object_get},
    /* invites, joins, members, peers: node/api/api_peers.c (its POST handler
     * passes other object paths on to ent_api_object_post) */
    {"POST", "/v1/objects/", true, ent_api_peers_object_post},
    {"DELETE", "/v1/objects/", true, ent_api_peers_object_delete},
    {"POST", "/v1/join", false, ent_api_join},
    {"GET", "/v1/joins/", true, ent_api_join_get},
    {"GET", "/v1/peers", false, ent_api_peers_list},
    {"POST", "/v1/objects/", true, ent_api_object_post},
    {"GET", "/v1/templates", false, ent_api_templates_list},
    {"GET", "/v1/templates/", true, ent_api_template_get},
    {"PUT", "/v1/templates/", true, ent_api_template_put},
    {"DELETE", "/v1/templates/", true, ent_api_template_delete},
    {"GET", "/v1/config", false, ent_api_config_get},
    {"PUT", "/v1/config", false, ent_api_config_put},
    {"GET", "/v1/config/", true, ent_api_config_list_get},
    {"PUT", "/v1/config/", true, ent_api_config_list_put},
    {"GET", "/v1/config-tables", false, ent_api_config_tables},
    {"GET", "/v1/invites", false, ent_api_invites_list},
    {"DELETE", "/v1/invites/", true, ent_api_invite_delete},
    /* users, tokens, policies, login: node/api/api_users.c */
    {"GET", "/v1/users", false, ent_api_users_list},
    {"POST", "/v1/users", false, ent_api_users_create},
    {"GET", "/v1/users/", true, ent_api_user_get},
    {"POST", "/v1/users/", true, ent_api_user_set},
    {"DELETE", "/v1/users/", true, ent_api_user_delete},
    {"GET", "/v1/tokens", false, ent_api_tokens_list},
    {"POST", "/v1/tokens", false, ent_api_tokens_create},
    {"DELETE", "/v1/tokens/", true, ent_api_token_delete},
    {"GET", "/v1/policies", false, ent_api_policies_list},
    {"POST", "/v1/policies", false, ent_api_policies_create},
    {"POST", "/v1/policies/test", false, ent_api_policies_test},
    {"GET", "/v1/policies/", true, ent_api_policy_get},
    {"DELETE", "/v1/policies/", true, ent_api_policy_delete},
    {"POST", "/v1/login", false, ent_api_login},
    {"GET", "/v1/access/me", false, ent_api_me},
    /* reports: node/api/api_reports.c */
    {"GET", "/v1/reports/", true, ent_api_report_get},
    {"GET", "/v1/views", false, ent_api_views_list},
    {"GET", "/v1/views/", true, ent_api_view_get},
    {"PUT", "/v1/views/", true, ent_api_view_put},
    {"DELETE", "/v1/views/", true, ent_api_view_delete},
};

typedef struct api_conn api_conn;

struct ent_api {
    ent_node *node;
    uv_pipe_t listener;
    bool listening;
    bool closing;
    int listener_open; /* 1 while the listener handle is initialised */
    api_conn *conns;   /* doubly linked list of open connections */
    size_t nconns;
    ent_api_route routes[ENT_API_MAX_ROUTES];
    size_t nroutes;
    void (*closed_cb)(void *data);
    void *closed_data;
};

struct api_conn {
    ent_api *api;
    uv_pipe_t pipe;
    uv_timer_t timer;
    uv_write_t wr;
    ent_http_parser *parser;
    char *out; /* serialised response while it is written */
    int open_handles;
    bool closing;
    api_conn *prev, *next;
    char rbuf[16384];
};

/* ---- routing --------------------------------------------------------------- */


static bool route_matches(const ent_api_route *r, const char *path) {
    if (r->prefix)
        return strncmp(path, r->path, strlen(r->path)) == 0;
    return strcmp(path, r->path) == 0;
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

static void route_request(ent_node *n, const ent_http_request *req,
                          ent_http_response *resp) {
    size_t nextra = 0;
    ent_api *api = ent__node_api(n);
    const ent_api_route *extra = api ? ent__api_routes(api, &nextra) : NULL;
    const ent_api_route *hit = NULL;
    bool path_known = false;
    char allow[sizeof(resp->allow)] = "";

    for (size_t pass = 0; pass < 2 && hit == NULL; pass++) {
        const ent_api_route *tab = pass == 0 ? extra : builtin_routes;
        size_t cnt = pass == 0 ? nextra
                               : sizeof(builtin_routes) / sizeof(builtin_routes[0]);
        for (size_t i = 0; i < cnt; i++) {
            if (!route_matches(&tab[i], req->path))
                continue;
            path_known = true;
            if (strcmp(tab[i].method, req->method) == 0) {
                hit = &tab[i];
                break;
            }
            allow_add(allow, sizeof(allow), tab[i].method);
        }
    }
    if (hit == NULL) {
        if (path_known) {
            ent_http_response_error(resp, 405, ENT_EINVAL,
                                    "method %s not allowed on %s",
                                    req->method, req->path);
            snprintf(resp->allow, sizeof(resp->allow), "%s", allow);
        } else {
            ent_http_response_error(resp, 404, ENT_ENOENT, "no such endpoint");
        }
        return;
    }
    int rc = hit->fn(n, req, resp);
    if (rc != ENT_OK && (resp->status < 400 || resp->body == NULL))
        ent_http_response_error(resp, ent_api_error_status(rc), rc, "%s",
                                ent_strerror(rc));
    if (resp->status == 0)
        ent_http_response_error(resp, 500, ENT_EINVAL,
                                "handler gave no response");
}

/* Every request passes the access guard (node/api/api_access.h): who
 * calls, whether the policies allow it, and what the answer may carry. */
void ent_api_dispatch(ent_node *n, const ent_http_request *req,
                      ent_http_response *resp) {
    ent_http_request r = *req; /* shallow: the guard may set principal and
                                  query; nothing of it is freed here */
    ent_principal who;
    ent_api_guard g;
    if (ent_api_access_begin(n, &r, &who, &g, resp) == ENT_OK)
        route_request(n, &r, resp);
    ent_api_access_end(n, &r, &who, &g, resp);
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

/* ---- GET /v1/status ------------------------------------------------------- */

struct counts {
    uint64_t peers;
    uint64_t objects;
    uint64_t equivocations; /* node/audit/witness.h */
};

static int count_tables(ent_txn *txn, void *data) {
    struct counts *c = data;
    int rc = ent_txn_count(txn, ENT_TBL_PEERS, &c->peers);
    if (rc == ENT_OK)
        rc = ent_txn_count(txn, ENT_TBL_OBJECTS, &c->objects);
    if (rc == ENT_OK)
        rc = ent_witness_count(txn, &c->equivocations);
    return rc;
}

int ent_api_status(ent_node *n, const ent_http_request *req,
                   ent_http_response *resp) {
    struct counts c = {0, 0, 0};
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
    json_t *body = json_pack(
        "{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:o,s:o,s:o}", "org", ent_node_org_id(n),
        "name", ent_node_name(n), "listen", ent_node_listen(n), "advertise",
        adv, "peers", (json_int_t)c.peers, "objects", (json_int_t)c.objects,
        "equivocations", (json_int_t)c.equivocations, "syncs", syncs,
        "sessions", sessions, "received", received);
    if (body == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, body);
    return ENT_OK;
}

/* ---- server ---------------------------------------------------------------- */

static void api_maybe_closed(ent_api *api) {
    if (api->closing && api->nconns == 0 && api->listener_open == 0 &&
        api->closed_cb != NULL) {
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
    ent_http_parser_free(c->parser);
    free(c->out);
    free(c);
    api_maybe_closed(api);
}

static void conn_close(api_conn *c) {
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->pipe, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void conn_timeout(uv_timer_t *t) {
    api_conn *c = t->data;
    ENT_DEBUG(ent_node_log(c->api->node), "api: idle connection closed");
    conn_close(c);
}

static void conn_written(uv_write_t *wr, int status) {
    api_conn *c = wr->data;
    free(c->out);
    c->out = NULL;
    conn_close(c);
}

/* Serialises resp, counts it and writes it; the connection closes after. */
static void conn_respond(api_conn *c, ent_http_response *resp) {
    ent_node_counters *ctr = ent__node_counters(c->api->node);
    size_t len = 0;
    ctr->api_requests++;
    if (resp->status >= 400)
        ctr->api_errors++;
    uv_read_stop((uv_stream_t *)&c->pipe);
    if (ent_http_response_serialize(resp, &c->out, &len) != ENT_OK) {
        conn_close(c);
        return;
    }
    uv_buf_t b = uv_buf_init(c->out, (unsigned)len);
    c->wr.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->pipe, &b, 1, conn_written) != 0)
        conn_close(c);
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
        conn_respond(c, &resp);
    } else if (complete) {
        const ent_http_request *req = ent_http_parser_request(c->parser);
        ent_api_dispatch(c->api->node, req, &resp);
        ENT_DEBUG(lg, "api: %s %s -> %d", req->method, req->path,
                  resp.status);
        conn_respond(c, &resp);
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
    if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, conn_timeout, ENT_API_IDLE_MS, ENT_API_IDLE_MS);
    if (api->nconns > ENT_API_MAX_CONNS) {
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
out:
    if (rc != ENT_OK) {
        unlink(path);
        /* the caller's stop path closes the listener handle */
    }
    return rc;
}

void ent__api_close(ent_api *api, void (*cb)(void *data), void *data) {
    api->closing = true;
    api->closed_cb = cb;
    api->closed_data = data;
    if (api->listener_open == 1) {
        api->listener_open = 2; /* closing */
        uv_close((uv_handle_t *)&api->listener, listener_closed);
    }
    for (api_conn *c = api->conns; c != NULL; c = c->next)
        conn_close(c);
    api_maybe_closed(api);
}

void ent__api_free(ent_api *api) {
    free(api);
}
