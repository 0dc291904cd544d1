/*
 * gossip_int.h - internals of gossip shared by gossip.c and
 * gossip_recon.c (fingerprints and range reconciliation, spec/gossip.md
 * §13). Not a public API (ent__gossip_*).
 */
#ifndef ENT_GOSSIP_INT_H
#define ENT_GOSSIP_INT_H

#include "node/peers/gossip.h"
#include "node/peers/verify.h"

/* A set digest kept for one partner org at one store generation. */
typedef struct set_cache {
    uint8_t org[32];
    uint8_t digest[32];
    uint64_t gen;
    uint64_t nobjects;
    bool used;
} set_cache;

/* A removed org told the past of its removal from an object (gossip.c's
 * tell_removed), at loop ms at. */
typedef struct told_cache {
    uint8_t org[32];
    uint8_t obj[32];
    uint64_t at;
    bool used;
} told_cache;

struct ent_gossip {
    ent_gossip_config cfg;
    unsigned fanout;
    ent_gossip_stats stats;
    ent_verifier *verifier;                   /* NULL without cfg.loop */
    set_cache cache[ENT_GOSSIP_DIGEST_CACHE]; /* direct-mapped by org */
    told_cache told[ENT_GOSSIP_TOLD_CACHE];   /* by org and object */
};

/* Sends m to org through the transport. */
int ent__gossip_send(ent_gossip *g, const uint8_t org[32],
                     const ent_wire_msg *m);

/* True if the store holds obj (whatever its status). */
bool ent__gossip_holds(ent_gossip *g, const uint8_t obj[32]);

/* Whether org's session speaks recon/1 (the transport says). */
bool ent__gossip_recon(ent_gossip *g, const uint8_t org[32]);

/* DIGEST from a recon/1 peer: equal to our fingerprint ends the round
 * (*equal), else RANGES of the root. */
int ent__gossip_recon_digest(ent_gossip *g, const uint8_t org[32],
                             const ent_wire_digest *d, bool *equal);

/* RANGES and LEAF from org. @return ENT_OK, ENT_EPROTO (org does not speak
 * recon/1), storage and memory errors, what send returned. */
int ent__gossip_on_ranges(ent_gossip *g, const uint8_t org[32],
                          const ent_wire_ranges *r);
int ent__gossip_on_leaf(ent_gossip *g, const uint8_t org[32],
                        const ent_wire_leaf *l);

#endif
