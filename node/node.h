/*
 * node.h - one Entente node: a value, not a process.
 *
 * All state of a node hangs off an ent_node: its home folder, identity,
 * store, logger, the peer TCP listener, its counters, and a small table of
 * attached parts (the object engine, the peer layer, the local API) that the
 * composition, node/daemon/daemon.h, creates and attaches. The handle never
 * calls a subsystem by name: it starts, stops and frees the parts through
 * their ent_node_part tables, the way libuv hands events to its users. The
 * libuv loop is borrowed, so many nodes can share one loop in one process
 * (tests, the network simulator).
 *
 * Life cycle (ent_daemon_open() does the first two steps for `serve`):
 *
 *   ent_node_open()   load HOME/identity.key, take the exclusive lock
 *                     HOME/serve.lock, open the store HOME/db
 *   ent_node_attach() attach the parts, lowest first
 *   ent_node_start()  bind the peer listener, start each part in order
 *   ... run the loop ...
 *   ent_node_stop()   close every handle; stop_cb runs once all are closed
 *   ent_node_free()   close the store, release the lock, free the node
 *
 * Layout of a home folder (spec/cli.md):
 *
 *   HOME/identity.key   the org key (0600)
 *   HOME/db/            the LMDB environment (meta: "name", "listen",
 *                       optionally "advertise")
 *   HOME/serve.lock     flock()ed by the running node, holds its pid
 *   HOME/api.sock       the local API (0600), present while a node runs
 */
#ifndef ENT_NODE_H
#define ENT_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "node/home.h"
#include "node/log.h"
#include "storage/store.h"

struct uv_loop_s;
struct uv_stream_s;

typedef struct ent_node ent_node;

/*
 * Where ent_node_open_diag() failed, for error messages: what names the file
 * or folder concerned ("HOME/identity.key"); pid is the process that holds
 * the lock when the error is ENT_EBUSY (0 if unknown).
 */
typedef struct ent_node_diag {
    char what[4096];
    long pid;
} ent_node_diag;

/* Counters, for status and tests. */
typedef struct ent_node_counters {
    uint64_t api_requests;  /* requests answered */
    uint64_t api_errors;    /* answered with a status >= 400 */
    uint64_t api_rejected;  /* connections refused over the limit */
    uint64_t peer_accepted; /* peer TCP connections accepted */
    uint64_t ops_created;   /* local ops committed (ent_node_op_created) */
} ent_node_counters;

/*
 * Opens the node whose home folder is home (which ent_home_init made).
 * loop and log are borrowed and must outlive the node; log may be NULL.
 * @return ENT_OK; ENT_ENOENT (no such home or key file); ENT_EINSECURE,
 *         ENT_ETRUNCATED, ENT_ECORRUPT, ENT_EVERSION (key file); ENT_EBUSY
 *         (another node holds the lock, in this or another process);
 *         ENT_ESTORAGE, ENT_EPERM, ENT_ENOMEM.
 */
int ent_node_open(ent_node **out, struct uv_loop_s *loop, const char *home,
                  const ent_log *log);

/* ent_node_open() that also says where it failed (diag may be NULL). */
int ent_node_open_diag(ent_node **out, struct uv_loop_s *loop,
                       const char *home, const ent_log *log,
                       ent_node_diag *diag);

/*
 * Binds the peer listener on listen_override ("HOST:PORT"; NULL: the address
 * stored at init; port 0 picks a free port), then starts the attached parts
 * in slot order (the API part removes a stale HOME/api.sock and serves the
 * local API there with mode 0600). Logs "listening on ..." at INFO. @return ENT_OK, ENT_EINVAL (bad address), ENT_EBUSY (address in
 * use), ENT_ETOOBIG (socket path too long), ENT_EPERM, ENT_EIO. After a
 * failure, ent_node_stop() the node before freeing it.
 */
int ent_node_start(ent_node *n, const char *listen_override);

/* Called once every handle of n is closed; n may then be freed. */
typedef void (*ent_node_stop_cb)(ent_node *n, void *data);

/*
 * Closes the peer listener, stops every attached part (closing their
 * connections) and removes HOME/api.sock.
 * Asynchronous: cb (may be NULL) runs from the loop once all handles are
 * closed. Calling it on a node that was never started calls cb at once.
 */
void ent_node_stop(ent_node *n, ent_node_stop_cb cb, void *data);

/*
 * Closes the store, releases the lock and frees n. The node must be stopped
 * (or never started). Accepts NULL.
 */
void ent_node_free(ent_node *n);

/*
 * Hook for accepted peer connections (the session layer). cb is called with
 * the listening stream each time a peer connects and must uv_accept() the
 * connection into a handle it owns. Without a hook the node accepts and
 * closes the connection at once.
 */
typedef void (*ent_node_peer_accept_cb)(ent_node *n,
                                        struct uv_stream_s *server,
                                        void *data);
void ent_node_set_peer_accept_cb(ent_node *n, ent_node_peer_accept_cb cb,
                                 void *data);

/*
 * Hook for ops this node creates (the network layer pushes them to the
 * members). cb runs on the loop thread after each local create, set, stage,
 * comment or membership op has been committed, with the op's exact bytes
 * (borrowed for the call) and its object id (for a genesis op: the op id).
 * One hook per node; cb NULL removes it.
 */
typedef void (*ent_node_op_cb)(ent_node *n, const uint8_t *raw, size_t len,
                               const uint8_t object[32], void *data);
void ent_node_set_op_cb(ent_node *n, ent_node_op_cb cb, void *data);

/*
 * Hands an op that this node just committed to the hook, then frees it
 * (ent_op_free). Every local caller of the object engine that gets an
 * op_out back passes it here. Accepts NULL (no op: nothing happens).
 */
struct ent_op;
void ent_node_op_created(ent_node *n, struct ent_op *op);
/*
 * Pushes the ops ent_node_op_created held for a store group once the group
 * committed (err ENT_OK), in the order they were made; drops them otherwise
 * (a failed commit: they may not be durable, anti-entropy offers what is).
 */
void ent__node_ops_release(ent_node *n, int err);

/* ---- attached parts ------------------------------------------------------ */

/* The slots of the part table, in start order (freed in reverse order). */
typedef enum ent_node_slot {
    ENT_NODE_EVENTS = 0,  /* struct ent_events_hub: wakes event readers */
    ENT_NODE_OBJECTS,     /* struct ent_objects: the object engine */
    ENT_NODE_PEERS,       /* struct ent_peers: sessions with partner nodes */
    ENT_NODE_OVERLAP,     /* struct ent_overlap: account mapping (PSI) */
    ENT_NODE_WEBHOOKS,    /* struct ent_webhooks: webhook deliveries */
    ENT_NODE_API,         /* struct ent_api: the local API on HOME/api.sock */
    ENT_NODE_NSLOTS
} ent_node_slot;

/*
 * What the handle may do with a part; each member may be NULL.
 * start:  called by ent_node_start() after the peer listener is bound, in
 *         slot order; a failure stops the start with that error.
 * stop:   called by ent_node_stop(); closes the part's handles and calls
 *         done(arg) exactly once when they are closed (from the loop or at
 *         once).
 * free:   called by ent_node_free() in reverse slot order; frees state.
 */
typedef struct ent_node_part {
    const char *name;
    int (*start)(void *state, ent_node *n);
    void (*stop)(void *state, void (*done)(void *arg), void *arg);
    void (*free)(void *state);
} ent_node_part;

/*
 * Attaches a part in slot; the node owns state from then on (it is freed by
 * part->free in ent_node_free, also after a failed start). part is borrowed
 * and must outlive n (a static table). @return ENT_OK; ENT_EINVAL (bad slot,
 * slot taken, or the node is already started).
 */
int ent_node_attach(ent_node *n, ent_node_slot slot, const ent_node_part *part,
                    void *state);

/* The state of the part in slot, NULL when none is attached. */
void *ent_node_part_state(ent_node *n, ent_node_slot slot);

/* ---- accessors: borrowed, valid as long as n ----------------------------- */

const char *ent_node_org_id(const ent_node *n);   /* base32 org id */
const char *ent_node_name(const ent_node *n);     /* display name */
const char *ent_node_home(const ent_node *n);     /* home folder */
const char *ent_node_listen(const ent_node *n);   /* "127.0.0.1:PORT" once
                                                     started, else "" */
const char *ent_node_api_path(const ent_node *n); /* HOME/api.sock */
ent_store *ent_node_store(ent_node *n);
struct ent_objects;
struct ent_objects *ent_node_objects(ent_node *n); /* the object engine */
struct ent_peers;
struct ent_peers *ent_node_peers(ent_node *n); /* the peer layer or NULL */
const ent_identity *ent_node_identity(const ent_node *n);
const ent_log *ent_node_log(const ent_node *n);
struct uv_loop_s *ent_node_loop(ent_node *n);
void ent_node_counters_get(const ent_node *n, ent_node_counters *out);
ent_node_counters *ent__node_counters(ent_node *n);
/* The registry of GET /metrics collectors (node/metrics.h): a part adds
 * its collector there once it has numbers to show. */
struct ent_metrics;
struct ent_metrics *ent_node_metrics(ent_node *n);

#endif
