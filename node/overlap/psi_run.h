/*
 * psi_run.h - one side of one private set intersection run
 * (spec/overlap.md §4), as pure computation: no network, no clock, no
 * storage. node/overlap/overlap.c moves the arrays between the two sides
 * in OVERLAP messages and calls the range functions from worker threads.
 *
 * For a set of n keys and a bucket size m >= n, the side draws a fresh
 * scalar a and a random permutation of m slots: n slots hold a*H(key),
 * the others random points (padding). It receives the partner's m' points
 * B_j, returns D_j = a*B_j (in the order received, or shuffled when only
 * counts are revealed), and receives E_i = b*(a*H(x_i)) for its own slots.
 * Key i is in the intersection iff E_slot(i) is among the D_j.
 *
 * The range functions touch disjoint slots and may run in parallel on
 * different threads for one run; everything else runs on one thread.
 */
#ifndef ENT_PSI_RUN_H
#define ENT_PSI_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/psi.h"

#define ENT_PSI_MIN_BUCKET 64
#define ENT_PSI_MAX_BUCKET 262144 /* largest padded set either side sends */
#define ENT_PSI_TAG_LEN 16        /* FLAGS: tag of one match */

typedef struct ent_psi_run ent_psi_run;

/*
 * The padded size of a set of n elements: the smallest m * 2^k >= n with
 * m in 8..15 (at most 1/8 above n), and at least ENT_PSI_MIN_BUCKET. A
 * partner learns this, not n. 0 when n > ENT_PSI_MAX_BUCKET.
 */
size_t ent_psi_bucket(size_t n);

/* True if m is a value ent_psi_bucket() can return. */
bool ent_psi_bucket_valid(size_t m);

/*
 * A run over n keys, padded to ent_psi_bucket(n) slots, with a fresh
 * scalar and permutation. Nothing is computed yet: call
 * ent_psi_blind_range() over [0, ent_psi_size()).
 * @return ENT_OK, ENT_EINVAL (n above ENT_PSI_MAX_BUCKET), ENT_ENOMEM.
 */
int ent_psi_run_new(ent_psi_run **out, size_t n);

/* Wipes the scalar and frees everything. Accepts NULL. */
void ent_psi_run_free(ent_psi_run *r);

/* Own set size and padded size (slots). */
size_t ent_psi_count(const ent_psi_run *r);
size_t ent_psi_size(const ent_psi_run *r);

/* Slots [from, to): hash key k = keys[k] (lens[k] bytes; the caller's
 * arrays of the n keys, not kept) to a point and blind it, or draw a
 * random point for padding. Thread-safe per range. */
void ent_psi_blind_range(ent_psi_run *r, const char *const *keys,
                         const size_t *lens, size_t from, size_t to);

/* The blinded slots (ent_psi_size() * 32 bytes), valid while r lives. */
const uint8_t *ent_psi_blinded(const ent_psi_run *r);

/*
 * Gets ready for the partner's m blinded points (m must be a valid
 * bucket). @return ENT_OK, ENT_EPROTO (invalid size, or called twice),
 * ENT_ENOMEM.
 */
int ent_psi_partner_begin(ent_psi_run *r, size_t m);

/* Copies k partner points at offset off. @return ENT_OK, ENT_EPROTO
 * (outside [0, m) or overlapping what came before: they must arrive in
 * order). */
int ent_psi_partner_put(ent_psi_run *r, size_t off, const uint8_t *pts,
                        size_t k);

/* True once all m partner points are in. */
bool ent_psi_partner_full(const ent_psi_run *r);

/*
 * D_j = a * B_j for j in [from, to). An invalid point (not a canonical
 * ristretto255 encoding) is counted and its D_j set to a random point.
 * Thread-safe per range.
 */
void ent_psi_double_range(ent_psi_run *r, size_t from, size_t to);

/* Invalid partner points seen by ent_psi_double_range (any thread, after
 * all ranges are done). */
size_t ent_psi_invalid(const ent_psi_run *r);

/*
 * What goes back to the partner: the D_j in received order, or, when
 * shuffle is true (counts only), in a fresh random order. The array
 * (m * 32 bytes) is valid while r lives; the first call fixes the order.
 */
const uint8_t *ent_psi_doubled(ent_psi_run *r, bool shuffle);

/* Gets ready for the E of our own slots. @return ENT_OK, ENT_EPROTO. */
int ent_psi_returned_begin(ent_psi_run *r);

/* Copies k returned points at offset off (in order).
 * @return ENT_OK, ENT_EPROTO. */
int ent_psi_returned_put(ent_psi_run *r, size_t off, const uint8_t *pts,
                         size_t k);

/* True once all own slots' E are in. */
bool ent_psi_returned_full(const ent_psi_run *r);

/*
 * Intersects: the number of E among the D (*count) and, when which is not
 * NULL, which[i] = true for every own key i that matched. When the
 * partner returned its E shuffled (counts only), only *count means
 * anything: pass which NULL. Needs all D computed and all E received.
 * @return ENT_OK, ENT_EPROTO (not ready), ENT_ENOMEM.
 */
int ent_psi_match(ent_psi_run *r, size_t *count, bool *which);

/*
 * The FLAGS tag of own key i (after a match): BLAKE2b-128 keyed with the
 * run id over E_slot(i): BLAKE2b-256(run || E) cut to 16 bytes. The
 * partner holds the same point for the same key (its own E), so both sides
 * name a match by the same tag without a permutation to share.
 */
void ent_psi_tag_own(const ent_psi_run *r, size_t i, const uint8_t run[16],
                     uint8_t tag[ENT_PSI_TAG_LEN]);

#endif
