/*
 * ratelimit.h - request rates of the TCP API per credential or client
 * address (spec/api.md "The TCP API"): one token bucket per key, refilled
 * at `rate` per second up to `burst`. Pure: the caller passes the time, so
 * tests drive it with a fake clock. Keys live in a fixed table; when the
 * slots a key may use are all taken, the one seen longest ago is reused.
 */
#ifndef ENT_RATELIMIT_H
#define ENT_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENT_RATELIMIT_KEY_MAX 63 /* bytes of a key (longer keys are cut) */

typedef struct ent_ratelimit ent_ratelimit;

/*
 * A limiter of rate requests per second with bursts of burst (at least 1)
 * over slots keys (a power of two is not needed). rate 0: no limit.
 * Free with ent_ratelimit_free(). @return ENT_OK, ENT_EINVAL, ENT_ENOMEM.
 */
int ent_ratelimit_new(ent_ratelimit **out, double rate, double burst,
                      size_t slots);

/* Frees r. Accepts NULL. */
void ent_ratelimit_free(ent_ratelimit *r);

/*
 * Takes one request from key's bucket at time now_ms (monotonic ms).
 * @return true when admitted; false when the bucket is empty, with
 *         *retry_ms (may be NULL) the time until one request is back.
 */
bool ent_ratelimit_take(ent_ratelimit *r, const char *key, uint64_t now_ms,
                        uint64_t *retry_ms);

#endif
