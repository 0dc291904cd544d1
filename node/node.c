/*
 * node.c - the node handle: home folder, identity, lock, store, the peer
 * listener, the op hook and the table of attached parts; see node.h.
 *
 * The handle knows the subsystems above it (object engine, peers, API) only
 * as opaque parts in a small dispatch table that the composition
 * (node/daemon/daemon.c) fills: it starts them in the order they were
 * attached, stops them all asynchronously and frees them in reverse order.
 * Nothing here includes a header of a subsystem.
 */
#include "node/node.h"
#include "node/metrics.h"
#include "node/err.h"
#include "node/home.h"
#include "protocol/op.h"

#include <uv.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

struct ent_node {
    uv_loop_t *loop;              /* borrowed */
    const ent_log *log;           /* borrowed, may be NULL */
    char home[PATH_MAX];
    char api_path[PATH_MAX];
    char org[ENT_ORG_ID_LEN + 1];
    char name[ENT_NAME_MAX + 1];
    char conf_listen[ENT_ADDR_STRLEN]; /* from the meta table */
    char listen[ENT_ADDR_STRLEN];      /* actual, once started */
    ent_identity *id;
    ent_store *store;
    int lock_fd;
    /* local ops of a store group not yet committed, or queued behind such
     * ops, pushed in order by ent__node_ops_release (spec/storage.md
     * "Group commit"); owned */
    ent_op **held_ops;
    size_t nheld, capheld;
    struct {
        const ent_node_part *part; /* NULL: slot empty */
        void *state;
    } parts[ENT_NODE_NSLOTS];
    uv_tcp_t peer;
    bool peer_open;
    bool started;
    bool stopping;
    int pending_closes;
    ent_node_stop_cb stop_cb;
    void *stop_data;
    ent_node_peer_accept_cb peer_cb;
    void *peer_data;
    ent_node_counters counters;
    ent_node_op_cb op_cb;
    void *op_data;
    ent_metrics *metrics; /* collectors of GET /metrics */
};

/* ---- addresses --------------------------------------------------------------- */


static void format_addr(char out[ENT_ADDR_STRLEN],
                        const struct sockaddr_storage *ss) {
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, ip, sizeof(ip));
        snprintf(out, ENT_ADDR_STRLEN, "[%s]:%u", ip, ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, ip, sizeof(ip));
        snprintf(out, ENT_ADDR_STRLEN, "%s:%u", ip, ntohs(a->sin_port));
    }
}

/* ---- open / free ----------------------------------------------------------- */

struct meta_read {
    char *name;
    char *listen;
};

static int read_meta(ent_txn *txn, void *data) {
    struct meta_read *m = data;
    int rc = ent_home_meta_get(txn, ENT_META_NAME, m->name, ENT_NAME_MAX + 1);
    if (rc == ENT_OK)
        rc = ent_home_meta_get(txn, ENT_META_LISTEN, m->listen, ENT_ADDR_STRLEN);
    return rc;
}

static void diag_set(ent_node_diag *d, const char *home, const char *file) {
    if (d == NULL)
        return;
    if (file != NULL)
        snprintf(d->what, sizeof(d->what), "%s/%s", home, file);
    else
        snprintf(d->what, sizeof(d->what), "%s", home);
}

/*
 * Opens in the order identity, lock, store: the key file is only read, and
 * the store must not be opened twice in one process (LMDB's locks are per
 * process), so the lock comes before it.
 */
int ent_node_open_diag(ent_node **out, uv_loop_t *loop, const char *home,
                       const ent_log *log, ent_node_diag *diag) {
    char path[PATH_MAX];
    int rc;
    *out = NULL;
    if (diag != NULL) {
        diag->what[0] = '\0';
        diag->pid = 0;
    }
    ent_node *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return ENT_ENOMEM;
    n->loop = loop;
    n->log = log;
    n->lock_fd = -1;
    if ((rc = ent_metrics_new(&n->metrics)) != ENT_OK)
        goto out;
    diag_set(diag, home, NULL);
    if (strlen(home) >= sizeof(n->home)) {
        rc = ENT_ETOOBIG;
        goto out;
    }
    strcpy(n->home, home);
    if ((rc = ent_home_path(n->api_path, sizeof(n->api_path), home,
                            ENT_HOME_SOCK)) != ENT_OK)
        goto out;

    diag_set(diag, home, ENT_HOME_KEY);
    if ((rc = ent_home_path(path, sizeof(path), home, ENT_HOME_KEY)) != ENT_OK)
        goto out;
    rc = ent_identity_load(&n->id, path);
    if (rc != ENT_OK)
        goto out;
    ent_identity_org_id(n->id, n->org);

    diag_set(diag, home, NULL);
    rc = ent_home_lock(home, &n->lock_fd, diag != NULL ? &diag->pid : NULL);
    if (rc != ENT_OK)
        goto out;

    diag_set(diag, home, ENT_HOME_DB);
    if ((rc = ent_home_path(path, sizeof(path), home, ENT_HOME_DB)) != ENT_OK)
        goto out;
    rc = ent_store_open(&n->store, path, 0, log);
    if (rc != ENT_OK)
        goto out;
    struct meta_read m = {n->name, n->conf_listen};
    rc = ent_store_read(n->store, read_meta, &m);
    if (rc != ENT_OK)
        goto out;

    if (diag != NULL)
        diag->what[0] = '\0';
    *out = n;
    n = NULL;
out:
    ent_node_free(n);
    return rc;
}

int ent_node_open(ent_node **out, uv_loop_t *loop, const char *home,
                  const ent_log *log) {
    return ent_node_open_diag(out, loop, home, log, NULL);
}

void ent_node_free(ent_node *n) {
    if (n == NULL)
        return;
    if (n->started && n->pending_closes > 0)
        ENT_ERROR(n->log, "node freed before its handles were closed");
    for (int i = ENT_NODE_NSLOTS - 1; i >= 0; i--)
        if (n->parts[i].part != NULL && n->parts[i].part->free != NULL)
            n->parts[i].part->free(n->parts[i].state);
    ent__node_ops_release(n, ENT_ECLOSED); /* never pushed: not durable */
    free(n->held_ops);
    ent_store_close(n->store);
    ent_home_unlock(n->lock_fd);
    ent_identity_free(n->id);
    ent_metrics_free(n->metrics);
    free(n);
}

/* ---- start / stop ---------------------------------------------------------- */

static void peer_closed_politely(uv_handle_t *h) {
    free(h);
}

static void on_peer_connection(uv_stream_t *server, int status) {
    ent_node *n = server->data;
    if (status < 0) {
        ENT_WARN(n->log, "peer accept: %s", uv_strerror(status));
        return;
    }
    if (n->stopping)
        return;
    n->counters.peer_accepted++;
    if (n->peer_cb != NULL) {
        n->peer_cb(n, server, n->peer_data);
        return;
    }
    uv_tcp_t *c = malloc(sizeof(*c));
    if (c == NULL)
        return;
    uv_tcp_init(server->loop, c);
    if (uv_accept(server, (uv_stream_t *)c) == 0)
        ENT_DEBUG(n->log, "peer connection closed: no session layer");
    uv_close((uv_handle_t *)c, peer_closed_politely);
}

int ent_node_start(ent_node *n, const char *listen_override) {
    struct sockaddr_storage ss;
    int namelen = sizeof(ss);
    const char *addr = listen_override ? listen_override : n->conf_listen;
    int rc = ent_home_parse_addr(addr, &ss);
    if (rc != ENT_OK) {
        ENT_DEBUG(n->log, "bad listen address: %s", addr);
        return rc;
    }
    if (n->started)
        return ENT_EINVAL;
    int r = uv_tcp_init(n->loop, &n->peer);
    if (r != 0)
        return ent_err_from_errno(-r);
    n->peer.data = n;
    n->peer_open = true;
    n->started = true;
    r = uv_tcp_bind(&n->peer, (const struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&n->peer, 128, on_peer_connection);
    if (r != 0) {
        ENT_DEBUG(n->log, "listen %s: %s", addr, uv_strerror(r));
        rc = r == UV_EADDRINUSE ? ENT_EBUSY : ent_err_from_errno(-r);
        goto out;
    }
    r = uv_tcp_getsockname(&n->peer, (struct sockaddr *)&ss, &namelen);
    if (r != 0) {
        rc = ent_err_from_errno(-r);
        goto out;
    }
    format_addr(n->listen, &ss);
    for (int i = 0; i < ENT_NODE_NSLOTS && rc == ENT_OK; i++)
        if (n->parts[i].part != NULL && n->parts[i].part->start != NULL)
            rc = n->parts[i].part->start(n->parts[i].state, n);
    if (rc != ENT_OK)
        goto out;
    ENT_INFO(n->log, "listening on %s (org %s), api %s", n->listen, n->org,
             n->api_path);
out:
    if (rc != ENT_OK)
        n->listen[0] = '\0';
    return rc;
}

static void stop_one_done(ent_node *n) {
    if (--n->pending_closes > 0)
        return;
    unlink(n->api_path);
    ENT_DEBUG(n->log, "node stopped");
    if (n->stop_cb != NULL) {
        ent_node_stop_cb cb = n->stop_cb;
        n->stop_cb = NULL;
        cb(n, n->stop_data);
    }
}

static void peer_listener_closed(uv_handle_t *h) {
    ent_node *n = h->data;
    n->peer_open = false;
    stop_one_done(n);
}

static void part_stopped(void *data) {
    stop_one_done(data);
}

void ent_node_stop(ent_node *n, ent_node_stop_cb cb, void *data) {
    if (n->stopping)
        return;
    n->stopping = true;
    n->stop_cb = cb;
    n->stop_data = data;
    if (!n->started) {
        if (cb != NULL)
            cb(n, data);
        return;
    }
    /* One extra count so callbacks run synchronously cannot finish early. */
    n->pending_closes = 1;
    if (n->peer_open) {
        n->pending_closes++;
        uv_close((uv_handle_t *)&n->peer, peer_listener_closed);
    }
    for (int i = 0; i < ENT_NODE_NSLOTS; i++)
        if (n->parts[i].part != NULL && n->parts[i].part->stop != NULL) {
            n->pending_closes++;
            n->parts[i].part->stop(n->parts[i].state, part_stopped, n);
        }
    stop_one_done(n);
}

void ent_node_set_peer_accept_cb(ent_node *n, ent_node_peer_accept_cb cb,
                                 void *data) {
    n->peer_cb = cb;
    n->peer_data = data;
}

void ent_node_set_op_cb(ent_node *n, ent_node_op_cb cb, void *data) {
    n->op_cb = cb;
    n->op_data = data;
}

static void op_push(ent_node *n, ent_op *op) {
    if (n->op_cb != NULL)
        n->op_cb(n, op->raw, op->rawlen,
                 op->h.genesis ? op->id : op->h.object, n->op_data);
    ent_op_free(op);
}

/*
 * An op of a store group is held until the group is durable (an op sent
 * and then lost locally would be signed again with other content: a fork);
 * ops after it queue behind it, so a partner gets them in order.
 */
void ent_node_op_created(ent_node *n, ent_op *op) {
    if (op == NULL)
        return;
    n->counters.ops_created++;
    if (ent_store_group_active(n->store) || n->nheld > 0) {
        if (n->nheld == n->capheld) {
            size_t cap = n->capheld ? n->capheld * 2 : 64;
            ent_op **v = realloc(n->held_ops, cap * sizeof(*v));
            if (v == NULL) {
                /* not pushed now: anti-entropy sends it later */
                ENT_WARN(n->log, "node: out of memory holding an op");
                ent_op_free(op);
                return;
            }
            n->held_ops = v;
            n->capheld = cap;
        }
        n->held_ops[n->nheld++] = op;
        return;
    }
    op_push(n, op);
}

void ent__node_ops_release(ent_node *n, int err) {
    for (size_t i = 0; i < n->nheld; i++) {
        if (err == ENT_OK)
            op_push(n, n->held_ops[i]);
        else
            ent_op_free(n->held_ops[i]);
    }
    n->nheld = 0;
}

/* ---- accessors --------------------------------------------------------------- */

const char *ent_node_org_id(const ent_node *n) { return n->org; }
ent_metrics *ent_node_metrics(ent_node *n) { return n->metrics; }
const char *ent_node_name(const ent_node *n) { return n->name; }
const char *ent_node_home(const ent_node *n) { return n->home; }
const char *ent_node_listen(const ent_node *n) { return n->listen; }
const char *ent_node_api_path(const ent_node *n) { return n->api_path; }
ent_store *ent_node_store(ent_node *n) { return n->store; }
struct ent_objects *ent_node_objects(ent_node *n) {
    return ent_node_part_state(n, ENT_NODE_OBJECTS);
}
struct ent_peers *ent_node_peers(ent_node *n) {
    return ent_node_part_state(n, ENT_NODE_PEERS);
}
const ent_identity *ent_node_identity(const ent_node *n) { return n->id; }
const ent_log *ent_node_log(const ent_node *n) { return n->log; }
uv_loop_t *ent_node_loop(ent_node *n) { return n->loop; }
ent_node_counters *ent__node_counters(ent_node *n) { return &n->counters; }

int ent_node_attach(ent_node *n, ent_node_slot slot, const ent_node_part *part,
                    void *state) {
    if ((unsigned)slot >= ENT_NODE_NSLOTS || part == NULL || n->started ||
        n->parts[slot].part != NULL)
        return ENT_EINVAL;
    n->parts[slot].part = part;
    n->parts[slot].state = state;
    return ENT_OK;
}

void *ent_node_part_state(ent_node *n, ent_node_slot slot) {
    if ((unsigned)slot >= ENT_NODE_NSLOTS || n->parts[slot].part == NULL)
        return NULL;
    return n->parts[slot].state;
}

void ent_node_counters_get(const ent_node *n, ent_node_counters *out) {
    *out = n->counters;
}
