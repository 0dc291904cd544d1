/*
 * flow.c - credit accounting of one session (flow.h, spec/protocol.md
 * section 3.9).
 */
#include "protocol/flow.h"

#include <string.h>

#include "node/err.h"

void ent_flow_init(ent_flow *f, bool use) {
    memset(f, 0, sizeof(*f));
    f->mode = use ? ENT_FLOW_PROBE : ENT_FLOW_OFF;
    f->tx_max_frames = f->rx_max_frames = ENT_FLOW_INIT_FRAMES;
    f->tx_max_bytes = f->rx_max_bytes = ENT_FLOW_INIT_BYTES;
    f->window_frames = ENT_FLOW_WINDOW_FRAMES;
    f->window_bytes = ENT_FLOW_WINDOW_BYTES;
}

void ent_flow_peer(ent_flow *f, bool peer_has) {
    if (f->mode == ENT_FLOW_PROBE)
        f->mode = peer_has ? ENT_FLOW_ON : ENT_FLOW_OFF;
}

bool ent_flow_can_send(const ent_flow *f, size_t len) {
    if (f->mode == ENT_FLOW_OFF)
        return true;
    return f->tx_frames < f->tx_max_frames &&
           f->tx_bytes + len <= f->tx_max_bytes;
}

void ent_flow_sent(ent_flow *f, size_t len) {
    f->tx_frames++;
    f->tx_bytes += len;
}

int ent_flow_received(ent_flow *f, size_t len) {
    f->rx_frames++;
    f->rx_bytes += len;
    if (f->mode == ENT_FLOW_ON &&
        (f->rx_frames > f->rx_max_frames || f->rx_bytes > f->rx_max_bytes))
        return ENT_ELIMIT;
    return ENT_OK;
}

bool ent_flow_grant_now(ent_flow *f, uint64_t *frames, uint64_t *bytes) {
    if (f->mode != ENT_FLOW_ON)
        return false;
    f->rx_max_frames = f->rx_frames + f->window_frames;
    f->rx_max_bytes = f->rx_bytes + f->window_bytes;
    *frames = f->rx_max_frames;
    *bytes = f->rx_max_bytes;
    return true;
}

bool ent_flow_grant(ent_flow *f, uint64_t *frames, uint64_t *bytes) {
    if (f->mode != ENT_FLOW_ON)
        return false;
    /* rx never passes the grant in mode ON (ent_flow_received) */
    if (f->rx_max_frames - f->rx_frames >= f->window_frames / 2 &&
        f->rx_max_bytes - f->rx_bytes >= f->window_bytes / 2)
        return false;
    return ent_flow_grant_now(f, frames, bytes);
}

int ent_flow_credit(ent_flow *f, uint64_t frames, uint64_t bytes, bool *more) {
    *more = false;
    if (f->mode != ENT_FLOW_ON || frames < f->tx_max_frames ||
        bytes < f->tx_max_bytes)
        return ENT_EPROTO;
    *more = frames > f->tx_max_frames || bytes > f->tx_max_bytes;
    f->tx_max_frames = frames;
    f->tx_max_bytes = bytes;
    return ENT_OK;
}
