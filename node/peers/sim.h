/*
 * sim.h - a network simulator for gossip at scale (spec/gossip.md
 * "Simulator"): many nodes (store + identity + object engine + gossip) in
 * one process, one synchronous event queue, a simulated clock, and a
 * simulated network with per-link latency, message loss and partitions.
 *
 * Every message a node's gossip sends is encoded with ent_wire_encode(),
 * queued with a delivery time, and decoded with ent_wire_decode() at the
 * receiver before ent_gossip_on_message(): the same bytes and the same code
 * as `entente serve`, only the sessions are replaced by the queue. The
 * simulator's random numbers come from its seed (xorshift), so a run is
 * reproducible. No globals.
 */
#ifndef ENT_SIM_H
#define ENT_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "node/peers/gossip.h"
#include "node/objects/object.h"

typedef struct ent_sim ent_sim;

#define ENT_SIM_TYPES 24 /* wire types counted per type: 0..23 */

typedef struct ent_sim_config {
    size_t nodes;            /* required, >= 1 */
    uint32_t latency_min_ms; /* per-link one-way latency range; each link */
    uint32_t latency_max_ms; /* draws its own latency in [min, max] */
    uint32_t loss_ppm;       /* messages lost per million */
    uint64_t seed;           /* 0: 1 */
    size_t map_size;         /* initial LMDB map per node; 0: 2 MiB */
    unsigned fanout;         /* 0: ENT_GOSSIP_FANOUT */
    uint32_t round_ms;       /* one anti-entropy round; 0: 100 */
    /* optional, every node's ent_gossip_config.in_sync (data: in_sync_data) */
    void (*in_sync)(ent_gossip *g, const uint8_t org[32], void *data);
    void *in_sync_data;
} ent_sim_config;

typedef struct ent_sim_stats {
    uint64_t msgs_sent, msgs_lost, msgs_cut, msgs_delivered;
    uint64_t bytes_sent;     /* encoded message bytes handed to the network */
    uint64_t by_type[ENT_SIM_TYPES]; /* messages sent per wire type */
    uint64_t bytes_by_type[ENT_SIM_TYPES];
} ent_sim_stats;

/*
 * Creates the simulator: one folder per node under a fresh temporary
 * folder (/dev/shm when writable, else /tmp), an LMDB store, a fresh
 * identity, an engine on the simulated clock and a gossip over the queue.
 * @return ENT_OK, ENT_EINVAL, ENT_ENOMEM, storage or crypto errors.
 */
int ent_sim_new(ent_sim **out, const ent_sim_config *cfg);

/* Closes every node and removes the folders. Accepts NULL. */
void ent_sim_free(ent_sim *s);

size_t ent_sim_nodes(const ent_sim *s);
ent_objects *ent_sim_engine(ent_sim *s, size_t i);
ent_gossip *ent_sim_gossip(ent_sim *s, size_t i);
const uint8_t *ent_sim_org(const ent_sim *s, size_t i);
/* Node i's identity (borrowed, valid until ent_sim_free): tests sign ops
 * a node's engine would never make, such as a second version of a seq. */
const ent_identity *ent_sim_identity(const ent_sim *s, size_t i);
uint64_t ent_sim_now(const ent_sim *s); /* simulated ms since the start */
void ent_sim_stats_get(const ent_sim *s, ent_sim_stats *out);

/* Message loss in parts per million from now on. */
void ent_sim_set_loss(ent_sim *s, uint32_t loss_ppm);

/* Whether node i speaks recon/1 (spec/gossip.md §13; the default). Two
 * nodes reconcile by ranges only when both do, else by DIGESTS. */
void ent_sim_set_recon(ent_sim *s, size_t i, bool on);

/* Node i's store (borrowed, lives as long as s). */
ent_store *ent_sim_store(ent_sim *s, size_t i);

/* Puts node i in partition group g (all start in 0). Messages between
 * different groups are cut, and nodes only see peers of their group. */
void ent_sim_set_group(ent_sim *s, size_t i, int g);

/* Node i created op (ent_obj_set...): pushes it like peer.c does
 * (ent_gossip_push to at most fanout members). The op stays the caller's. */
void ent_sim_local_op(ent_sim *s, size_t i, const ent_op *op);

/* Advances the clock by ms, delivering every message due on the way. */
void ent_sim_run(ent_sim *s, uint64_t ms);

/* One anti-entropy round: every node sends a DIGEST to one random peer of
 * its group it shares an object with, then the clock runs round_ms. */
void ent_sim_round(ent_sim *s);

/* Messages waiting in the queue. */
size_t ent_sim_queued(const ent_sim *s);

/* ---- the convergence scenario (tests/sim_test.c, `make bench`) ----------- */

/* Node 0 creates an "opportunity" object and adds nodes 1..m-1 as members;
 * each gets its key boxes and the owner's history directly (what a join
 * delivers). id receives the object id.
 * @return ENT_OK, ENT_EINVAL (m == 0 or m > nodes), engine errors. */
int ent_sim_make_object(ent_sim *s, size_t m, uint8_t id[32]);

/* True when nodes 0..m-1 encode byte-identical shared state of id. */
bool ent_sim_converged(ent_sim *s, size_t m, const uint8_t id[32]);

/* Ops of id node i holds. */
size_t ent_sim_nops(ent_sim *s, size_t i, const uint8_t id[32]);

/* Node i comments on id; push: also pushes the op (ent_sim_local_op). */
int ent_sim_comment(ent_sim *s, size_t i, const uint8_t id[32], bool push);

typedef struct ent_sim_conv {
    int rounds;           /* anti-entropy rounds run */
    bool converged;       /* all m byte-identical, each with 2m ops */
    uint64_t msgs, bytes, lost; /* from the first edit on */
    uint64_t author_sent; /* op records node 1 pushed for its own edit */
} ent_sim_conv;

/*
 * The issue-5 scenario: m nodes, one object with m members, latency
 * 10-60 ms, 5% message loss, round 100 ms; every member comments at t = 0
 * (pushed to fanout members), then rounds run until all m converge or
 * max_rounds. A fresh simulator from seed; freed before returning.
 * @return ENT_OK (see out->converged), ENT_EINVAL (m < 2), other errors.
 */
int ent_sim_converge(size_t m, uint64_t seed, int max_rounds,
                     ent_sim_conv *out);

#endif
