/*
 * daemon.c - composes a serving node: the handle, the object engine, the
 * peer layer and the local API, wired together; see daemon.h.
 */
#include "node/daemon/daemon.h"
#include "node/api/api.h"
#include "node/err.h"
#include "node/events/event.h"
#include "node/objects/object.h"
#include "node/overlap/overlap.h"
#include "node/peers/peer.h"
#include "node/webhooks/outbox.h"

#include <stdlib.h>

#include <string.h>

/* ---- the parts' tables ------------------------------------------------------ */

static int events_start(void *state, ent_node *n) {
    return ent_events_hub_start(state, ent_node_loop(n));
}

static void events_stop(void *state, void (*done)(void *), void *arg) {
    ent_events_hub_close(state, done, arg);
}

static void events_free(void *state) {
    ent_events_hub_free(state);
}

static const ent_node_part events_part = {
    .name = "events",
    .start = events_start,
    .stop = events_stop,
    .free = events_free,
};

static void objects_free(void *state) {
    ent_objects_free(state);
}

static const ent_node_part objects_part = {
    .name = "objects",
    .free = objects_free,
};

static int peers_start(void *state, ent_node *n) {
    return ent_peers_start(state);
}

static void peers_stop(void *state, void (*done)(void *), void *arg) {
    ent_peers_stop(state, done, arg);
}

static void peers_free(void *state) {
    ent_peers_free(state);
}

static int overlap_start(void *state, ent_node *n) {
    return ent_overlap_start(state);
}

static void overlap_stop(void *state, void (*done)(void *), void *arg) {
    ent_overlap_stop(state, done, arg);
}

static void overlap_free(void *state) {
    ent_overlap_free(state);
}

static const ent_node_part overlap_part = {
    .name = "overlap",
    .start = overlap_start,
    .stop = overlap_stop,
    .free = overlap_free,
};

static const ent_node_part peers_part = {
    .name = "peers",
    .start = peers_start,
    .stop = peers_stop,
    .free = peers_free,
};

static int webhooks_start(void *state, ent_node *n) {
    return ent_webhooks_start(state);
}

static void webhooks_stop(void *state, void (*done)(void *), void *arg) {
    ent_webhooks_stop(state, done, arg);
}

static void webhooks_free(void *state) {
    ent_webhooks_free(state);
}

static const ent_node_part webhooks_part = {
    .name = "webhooks",
    .start = webhooks_start,
    .stop = webhooks_stop,
    .free = webhooks_free,
};

static int api_start(void *state, ent_node *n) {
    return ent__api_listen(state, ent_node_api_path(n));
}

static void api_stop(void *state, void (*done)(void *), void *arg) {
    ent__api_close(state, done, arg);
}

static void api_free(void *state) {
    ent__api_free(state);
}

static const ent_node_part api_part = {
    .name = "api",
    .start = api_start,
    .stop = api_stop,
    .free = api_free,
};

/* ---- wiring ----------------------------------------------------------------- */

/* Display names for the object engine (comments, activity): our own name,
 * else what the peer layer knows of the org (NULL: the caller shows the id). */
static const char *org_name(void *data, const uint8_t org[ENT_PK_LEN]) {
    ent_node *n = data;
    if (memcmp(org, ent_identity_public(ent_node_identity(n)), ENT_PK_LEN) == 0)
        return ent_node_name(n);
    ent_peers *p = ent_node_peers(n);
    return p != NULL ? ent_peers_org_name(p, org) : NULL;
}

/* A duration in ms from the environment (tests shorten webhook retries,
 * spec/webhooks.md §4.3); 0 (the default) when unset or not a number in
 * 1..86,400,000. */
static uint64_t env_ms(const char *name) {
    const char *v = getenv(name);
    char *end = NULL;
    if (v == NULL || v[0] < '0' || v[0] > '9')
        return 0;
    unsigned long long ms = strtoull(v, &end, 10);
    return *end == '\0' && ms <= 86400000ull ? ms : 0;
}

int ent_daemon_open_diag(ent_node **out, struct uv_loop_s *loop,
                         const char *home, const ent_log *log,
                         ent_node_diag *diag) {
    ent_node *n = NULL;
    ent_events_hub *hub = NULL;
    ent_objects *objects = NULL;
    ent_peers *peers = NULL;
    ent_api *api = NULL;
    ent_webhooks *hooks = NULL;
    ent_overlap *ov = NULL;
    *out = NULL;
    int rc = ent_node_open_diag(&n, loop, home, log, diag);
    if (rc != ENT_OK)
        goto out;
    if ((rc = ent_events_hub_new(&hub, ent_node_store(n))) != ENT_OK ||
        (rc = ent_node_attach(n, ENT_NODE_EVENTS, &events_part, hub)) != ENT_OK)
        goto out;
    ent_events_hub_set_log(hub, ent_node_log(n));
    hub = NULL; /* the node owns it now */
    ent_objects_config ocfg = {.store = ent_node_store(n),
                               .id = ent_node_identity(n),
                               .log = log,
                               .org_name = org_name,
                               .org_name_data = n};
    if ((rc = ent_objects_new(&objects, &ocfg)) != ENT_OK ||
        (rc = ent_node_attach(n, ENT_NODE_OBJECTS, &objects_part, objects)) !=
            ENT_OK)
        goto out;
    objects = NULL; /* the node owns it now */
    if ((rc = ent_peers_new(&peers, n)) != ENT_OK ||
        (rc = ent_node_attach(n, ENT_NODE_PEERS, &peers_part, peers)) != ENT_OK)
        goto out;
    peers = NULL;
    if ((rc = ent_overlap_new(&ov, n)) != ENT_OK ||
        (rc = ent_node_attach(n, ENT_NODE_OVERLAP, &overlap_part, ov)) !=
            ENT_OK)
        goto out;
    ov = NULL;
    ent_webhooks_config wcfg = {
        .backoff_ms = env_ms("ENTENTE_WEBHOOK_BACKOFF_MS"),
        .backoff_max_ms = env_ms("ENTENTE_WEBHOOK_BACKOFF_MAX_MS"),
        .ca_file = getenv("ENTENTE_WEBHOOK_CA_FILE"),
    };
    if ((rc = ent_webhooks_new(&hooks, n, &wcfg)) != ENT_OK ||
        (rc = ent_node_attach(n, ENT_NODE_WEBHOOKS, &webhooks_part, hooks)) !=
            ENT_OK)
        goto out;
    hooks = NULL;
    if ((rc = ent__api_new(&api, n)) != ENT_OK ||
        (rc = ent_node_attach(n, ENT_NODE_API, &api_part, api)) != ENT_OK)
        goto out;
    api = NULL;
    *out = n;
    n = NULL;
out:
    ent__api_free(api);
    ent_webhooks_free(hooks);
    ent_overlap_free(ov);
    ent_peers_free(peers);
    ent_objects_free(objects);
    ent_events_hub_free(hub);
    ent_node_free(n);
    return rc;
}

int ent_daemon_open(ent_node **out, struct uv_loop_s *loop, const char *home,
                    const ent_log *log) {
    return ent_daemon_open_diag(out, loop, home, log, NULL);
}

void ent_daemon_advertised(ent_node *n, char out[ENT_ADDR_STRLEN]) {
    ent_peers *p = ent_node_peers(n);
    out[0] = '\0';
    if (p != NULL)
        ent_peers_advertised(p, out);
}
