/*
 * flow.h - credit-based flow control of one session, both directions
 * (spec/protocol.md section 3.9, "flow/1"). Pure accounting: no network,
 * no clock. The session layer (session.c) owns one per session, asks it
 * whether a message may go out, tells it what was sent and received, and
 * sends the CREDIT messages it asks for.
 *
 * Counting: every transport message of the session except CREDIT is one
 * frame and its plaintext length in bytes, from the first message (HELLO)
 * on. Each side grants the other absolute totals ("you may have sent up to
 * F frames and B bytes in all"); until the first grant arrives the totals
 * are ENT_FLOW_INIT_FRAMES and ENT_FLOW_INIT_BYTES.
 */
#ifndef ENT_FLOW_H
#define ENT_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENT_FLOW_CAP "flow/1"            /* the HELLO capability */
#define ENT_FLOW_INIT_FRAMES 32          /* credit before any CREDIT */
#define ENT_FLOW_INIT_BYTES (256 * 1024)
#define ENT_FLOW_WINDOW_FRAMES 256       /* what a receiver grants ahead */
#define ENT_FLOW_WINDOW_BYTES (2 * 1024 * 1024)

/* Modes: OFF no limits (a peer without flow/1, or a manager that does not
 * use flow control); PROBE this side advertised flow/1 and does not know
 * the peer's answer yet: it keeps to the initial credit, enforces nothing;
 * ON both advertised it: both directions are counted and enforced. */
enum { ENT_FLOW_OFF = 0, ENT_FLOW_PROBE = 1, ENT_FLOW_ON = 2 };

typedef struct ent_flow {
    int mode;
    uint64_t tx_frames, tx_bytes; /* what this side sent, counted */
    uint64_t tx_max_frames, tx_max_bytes; /* what the peer granted */
    uint64_t rx_frames, rx_bytes; /* what this side received, counted */
    uint64_t rx_max_frames, rx_max_bytes; /* what this side granted */
    uint64_t window_frames, window_bytes; /* grant sizes */
} ent_flow;

/* Starts f in mode PROBE (use) or OFF, the initial credit both ways and
 * the default window. */
void ent_flow_init(ent_flow *f, bool use);

/* The peer's HELLO said whether it speaks flow/1: PROBE becomes ON or OFF;
 * OFF stays OFF. */
void ent_flow_peer(ent_flow *f, bool peer_has);

/* True if a message of len bytes may go out now (always in mode OFF). */
bool ent_flow_can_send(const ent_flow *f, size_t len);

/* Counts a message of len bytes that went out (not a CREDIT). */
void ent_flow_sent(ent_flow *f, size_t len);

/* Counts a message of len bytes received (not a CREDIT).
 * @return ENT_OK, or ENT_ELIMIT in mode ON when it is over what this side
 *         granted (the peer ignored its credit: close the session). */
int ent_flow_received(ent_flow *f, size_t len);

/* After a received message was handled: true when this side should grant
 * more (mode ON, and less than half a window of frames or bytes left);
 * then *frames and *bytes are the new totals to send in a CREDIT, already
 * recorded as granted. */
bool ent_flow_grant(ent_flow *f, uint64_t *frames, uint64_t *bytes);

/* The totals of the first grant, sent as soon as mode is ON (true), or
 * false when not ON. Recorded as granted. */
bool ent_flow_grant_now(ent_flow *f, uint64_t *frames, uint64_t *bytes);

/* A CREDIT from the peer with totals frames and bytes.
 * @return ENT_OK (*more: the credit grew), ENT_EPROTO (mode not ON, or a
 *         total below one granted before: a violation). */
int ent_flow_credit(ent_flow *f, uint64_t frames, uint64_t bytes, bool *more);

#endif
