/*
 * overlap.h - account mapping between partners (spec/overlap.md): what
 * this org reveals to each partner (sharing levels, per population), runs
 * of the PSI protocol over peer sessions (OVERLAP messages, §5), the
 * limits against probing (§7), the results (§8) and the activity-log
 * entries of every run, on both sides.
 *
 * One ent_overlap per serving node (node part ENT_NODE_OVERLAP, created by
 * node/daemon/). It installs itself as the peer layer's ent_peers_ext. The
 * scalar multiplications run on the libuv thread pool, in pieces, so that
 * every core works; everything else runs on the loop thread.
 */
#ifndef ENT_OVERLAP_H
#define ENT_OVERLAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "node/node.h"

typedef struct ent_overlap ent_overlap;

/* Sharing levels (spec/overlap.md §6), in increasing order. */
#define ENT_OVERLAP_NONE 0
#define ENT_OVERLAP_COUNTS 1
#define ENT_OVERLAP_ACCOUNTS 2
#define ENT_OVERLAP_FLAGS 3

/* Limits (spec/overlap.md §7); the per-day and share limits can be set
 * per node with ent_overlap_set_limits (tests, operators). */
#define ENT_OVERLAP_RUNS_PER_DAY 4    /* runs with one partner per UTC day */
#define ENT_OVERLAP_CHANGE_PCT 25     /* largest change since the last run */
#define ENT_OVERLAP_CHURN_FLOOR 8     /* matches that may change at least */
#define ENT_OVERLAP_MAX_RUNS 4        /* runs at once (all partners) */
#define ENT_OVERLAP_TIMEOUT_MS 120000 /* a run that makes no progress */
#define ENT_OVERLAP_QUEUE_MAX (1u << 20) /* bytes queued before we wait */
#define ENT_OVERLAP_PIECES 8          /* thread-pool jobs per phase */

typedef struct ent_overlap_limits {
    uint32_t runs_per_day;
    uint32_t change_pct;
} ent_overlap_limits;

/* Level name ("none", "counts", "accounts", "flags") <-> value; -1 when
 * unknown. */
const char *ent_overlap_level_name(int level);
int ent_overlap_level_parse(const char *s);

/* @return ENT_OK, ENT_ENOMEM. n is borrowed. */
int ent_overlap_new(ent_overlap **out, ent_node *n);
/* Installs the peer hook and the timer. @return ENT_OK, ENT_ENOENT (no
 * peer layer). */
int ent_overlap_start(ent_overlap *o);
/* Aborts runs, waits for thread-pool jobs, closes the timer; done(arg)
 * once it is all over. */
void ent_overlap_stop(ent_overlap *o, void (*done)(void *arg), void *arg);
/* Frees a stopped (or never started) o. Accepts NULL. */
void ent_overlap_free(ent_overlap *o);

void ent_overlap_set_limits(ent_overlap *o, const ent_overlap_limits *l);

/*
 * Sets what this org reveals to partner org: level, population (a mask of
 * ENT_ACCOUNT_* flags: only accounts with one of them take part; 0: all)
 * and flags (which status flags a match may reveal at level flags). Logs
 * an overlap_share entry. Setting it again (even to the same values)
 * resets the baselines of §7 and lifts a suspension. Level none revokes:
 * a run in progress with org is aborted.
 * @return ENT_OK, ENT_ENOENT (not an active partner), ENT_EINVAL, storage
 *         errors.
 */
int ent_overlap_share(ent_overlap *o, const uint8_t org[32], int level,
                      uint32_t population, uint32_t flags);

/*
 * Starts a run with partner org (spec/overlap.md §5); *run gets its id (32
 * hex digits). Progress and result: ent_overlap_json().
 * @return ENT_OK; ENT_ENOENT (not a partner); ENT_EDENIED (this org shares
 *         nothing with org, or runs are suspended); ENT_ELIMIT (runs per
 *         day, runs at once, list changed too much: err says which);
 *         ENT_EBUSY (a run with org is going on); ENT_ECLOSED (no session
 *         with org now); ENT_ENOMEM.
 */
int ent_overlap_run(ent_overlap *o, const uint8_t org[32], char run[33],
                    char *err, size_t errlen);

/*
 * {"partner","share":{"level","population","flags","suspended"},
 *  "runs_today","run":{"id","state","error"}|null,"result":{…}|null}
 * for partner org (spec/overlap.md §8); the caller json_decref()s.
 * @return ENT_OK, ENT_ENOENT (not a partner), ENT_ENOMEM, storage errors.
 */
int ent_overlap_json(ent_overlap *o, const uint8_t org[32], json_t **out);

#endif
