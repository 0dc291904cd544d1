/*
 * hlc.c - the hybrid logical clock of one node (Kulkarni et al.): the next
 * timestamp for a local op, observing a received op's timestamp, and the
 * drift bound that refuses timestamps too far ahead of the wall clock.
 * See hlc.h.
 */
#include "node/objects/hlc.h"

#include "node/err.h"

void ent_hlc_init(ent_hlc *clk) {
    clk->last = 0;
}

int ent_hlc_check(uint64_t wall_ms, uint64_t remote) {
    if (ent_hlc_ms(remote) > wall_ms + ENT_HLC_MAX_DRIFT_MS)
        return ENT_EPROTO;
    return ENT_OK;
}

int ent_hlc_now(ent_hlc *clk, uint64_t wall_ms, uint64_t *out) {
    uint64_t wall =
        ent_hlc_make(wall_ms > ENT_HLC_MS_MAX ? ENT_HLC_MS_MAX : wall_ms, 0);
    if (clk->last == UINT64_MAX)
        return ENT_ELIMIT;
    uint64_t v = clk->last + 1;
    if (wall > v)
        v = wall;
    clk->last = v;
    *out = v;
    return ENT_OK;
}

int ent_hlc_observe(ent_hlc *clk, uint64_t wall_ms, uint64_t remote) {
    int rc = ent_hlc_check(wall_ms, remote);
    if (rc != ENT_OK)
        return rc;
    if (remote > clk->last)
        clk->last = remote;
    return ENT_OK;
}
