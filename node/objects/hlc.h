/*
 * hlc.h - hybrid logical clock (Kulkarni et al.) of one node.
 *
 * A value is a 64-bit integer: the 48-bit wall clock in milliseconds since
 * the Unix epoch, shifted left by 16, or'ed with a 16-bit logical counter.
 * Values compare as plain integers. A clock is a plain value owned by its
 * node (no globals); the wall clock is passed in by the caller so that tests
 * and the network simulator can use a fake clock.
 *
 * Remote values more than ENT_HLC_MAX_DRIFT_MS ahead of our wall clock are
 * refused (ENT_EPROTO) and do not move the clock, so that one peer with a
 * wrong clock (or a hostile one) cannot drag every node into the future and
 * win every last-writer-wins merge for ever.
 */
#ifndef ENT_HLC_H
#define ENT_HLC_H

#include <stdint.h>

#define ENT_HLC_MAX_DRIFT_MS (10u * 60u * 1000u) /* 10 minutes */
#define ENT_HLC_MS_MAX ((UINT64_C(1) << 48) - 1)

typedef struct ent_hlc {
    uint64_t last; /* the largest value issued or observed; 0 at start */
} ent_hlc;

/* The wall-clock part (ms) of an HLC value. */
static inline uint64_t ent_hlc_ms(uint64_t v) {
    return v >> 16;
}
/* The counter part of an HLC value. */
static inline uint16_t ent_hlc_counter(uint64_t v) {
    return (uint16_t)v;
}
/* Builds an HLC value. */
static inline uint64_t ent_hlc_make(uint64_t ms, uint16_t c) {
    return (ms & ENT_HLC_MS_MAX) << 16 | c;
}

/* Starts a clock at zero. */
void ent_hlc_init(ent_hlc *clk);

/*
 * A new value for a local event, strictly greater than every value this
 * clock issued or observed: max(wall_ms << 16, last + 1). When the counter
 * would overflow the value simply carries into the millisecond part (the
 * clock runs ahead of the wall for a moment), so it never fails.
 * @param[in] wall_ms  the current wall clock in ms since the epoch.
 * @param[out] out     the new value.
 * @return ENT_OK, or ENT_ELIMIT once the 48-bit millisecond space is used up.
 */
int ent_hlc_now(ent_hlc *clk, uint64_t wall_ms, uint64_t *out);

/*
 * Takes a value received from another node into account: afterwards every
 * ent_hlc_now() value is greater than remote.
 * @return ENT_OK, or ENT_EPROTO when remote lies more than
 *         ENT_HLC_MAX_DRIFT_MS ahead of wall_ms (the clock is not moved).
 */
int ent_hlc_observe(ent_hlc *clk, uint64_t wall_ms, uint64_t remote);

/* ENT_OK if remote is not too far ahead of wall_ms, else ENT_EPROTO. Does
 * not touch any clock. */
int ent_hlc_check(uint64_t wall_ms, uint64_t remote);

#endif
