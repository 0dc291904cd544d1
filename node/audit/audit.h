/*
 * audit.h - export of the signed activity log as one file, and its offline
 * verification with public keys only (spec/audit.md §9-§10).
 *
 * The export is one deterministic CBOR item: the org key and name, the
 * scope, a signed tree head over the whole log, the entries of the scope,
 * what proves them against the head (a frontier or inclusion proofs),
 * earlier signed heads with consistency proofs, the ops the entries refer
 * to, for one object the directory records that show the export complete,
 * and the org's signature over all of it. Entries carry no signature of
 * their own: the signed head commits to every leaf. An object export is
 * complete or fails: each entry names its object's previous entry, and
 * the checkpoint each head ends in commits to every object's latest entry
 * (spec/audit.md section 7.1). ent_audit_verify checks every byte of it: no
 * node, no network. Memory: the ops are decoded one at a time and each one's own
 * signature is checked, keeping a record of about 170 bytes per op beyond
 * the file (about 1.1 times a hostile file of minimal 152-byte ops); only
 * when some signatures fail are the failed ops and those that could vouch
 * for them (same author and object) decoded together and authenticated as
 * a set (ent_op_authenticate), at most 65,536 of them (a file that needs
 * more fails with ENT_ELIMIT); a whole-log export replays the object
 * directory (about 180 bytes per object, fewer objects than entries);
 * nothing else grows with the input beyond its own size.
 */
#ifndef ENT_AUDIT_H
#define ENT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "node/audit/actlog.h"
#include "node/audit/witness.h"
#include "storage/store.h"

#define ENT_AUDIT_MAGIC "entente-audit"
#define ENT_AUDIT_VERSION 3 /* with directory records; 2 is read, 1 refused */
#define ENT_AUDIT_VERSION_V2 2 /* still verified without object scope */
#define ENT_AUDIT_MAX_SIZE ((size_t)256 << 20) /* bytes of one export */
#define ENT_AUDIT_NAME_MAX 256                 /* bytes of the org name */
#define ENT_AUDIT_MAX_HISTORY 256 /* earlier heads carried in one export */
#define ENT_AUDIT_REASON_MAX 256

/* What to export. A zeroed filter (or NULL) exports the whole log. */
typedef struct ent_audit_filter {
    const uint8_t *object; /* NULL, or only the entries of this object */
    uint64_t since;        /* first entry index exported */
} ent_audit_filter;

/*
 * Signs (and stores) a tree head over the current log at time now_ms
 * (which may append a checkpoint, actlog.h), then writes the export of the
 * log up to that head into *out (malloc'ed, the caller frees with free()).
 * An object export replays the whole log in memory (about 64 bytes per
 * entry) for its inclusion proofs and directory records.
 * @return ENT_OK, ENT_EINVAL (since beyond the log), ENT_ENOENT (no entry
 *         names the object), ENT_EVERSION (an entry of the object in scope
 *         is of version 2: it cannot be shown complete), ENT_ECORRUPT (the
 *         log refers to an op the node does not hold, a checkpoint that is
 *         not the replayed directory, damaged store), ENT_ETOOBIG (above
 *         ENT_AUDIT_MAX_SIZE), ENT_ENOMEM, storage errors.
 */
int ent_audit_export(ent_store *store, const ent_identity *id,
                     uint64_t now_ms, const ent_audit_filter *filter,
                     uint8_t **out, size_t *len);

/* Verification options; a zeroed struct (or NULL) checks the file alone. */
typedef struct ent_audit_opts {
    const uint8_t *expected_org; /* NULL, or the org the file must be of */
    /* heads this auditor already holds (e.g. from a partner or an earlier
     * export): those of the export's org must be signed by it and be a
     * prefix of the exported log (and, for an object export, be shown
     * complete); heads of other orgs are skipped, but at least one must
     * be of this org. Borrowed for the call. */
    const ent_actlog_head *heads;
    size_t nheads;
    /* rewinds a witness kept (spec/audit.md §11.1), decoded with
     * ent_rewind_decode: those of the export's org must be signed by it;
     * each one's base head is checked like a given head (it must be a
     * prefix of the exported log), and a given head that is exactly its
     * lost head is excused (reported as rewound, not checked). Borrowed
     * for the call. */
    const ent_rewind *rewinds;
    size_t nrewinds;
} ent_audit_opts;

/* One rewind of the export's org that the auditor gave (§11.1). */
#define ENT_AUDIT_MAX_REWINDS 16
typedef struct ent_audit_rewind {
    uint64_t base;      /* entries kept: the base head's size */
    uint64_t lost;      /* the lost head's size */
    uint64_t time;      /* when the org declared it (ms, its clock) */
    uint64_t lost_time; /* when it had signed the lost head */
} ent_audit_rewind;

/* The outcome of a verification. Plain value. */
/* One erase op of an export (spec/audit.md §10): its id, object, author,
 * seq and time (the wall-clock part of its signed HLC, ms since the
 * epoch: the author's clock), and how many erased op records name it. */
#define ENT_AUDIT_MAX_ERASURES 16
typedef struct ent_audit_erasure {
    uint8_t op[32];
    uint8_t object[32];
    uint8_t by[32];
    uint64_t seq;
    uint64_t time_ms;
    uint64_t ops;
} ent_audit_erasure;

typedef struct ent_audit_result {
    bool ok;
    int err; /* ENT_OK, or the error of the first failing check */
    uint8_t org[ENT_PK_LEN];
    char name[ENT_AUDIT_NAME_MAX + 1];
    uint64_t tree_size; /* size of the signed head */
    uint64_t since;
    bool has_object;
    uint8_t object[32];
    /* an object export whose first entry is the object's first in the log
     * (it names no previous entry): that entry's index, the order in which
     * the org first recorded the object (spec/workflows.md §9) */
    bool has_first;
    uint64_t first;
    uint64_t entries; /* entries checked */
    uint64_t heads;   /* signed heads checked (latest, history, given) */
    uint64_t witnessed; /* given heads of this org checked (others skipped) */
    uint64_t rewound;   /* given heads excused by a rewind (not checked) */
    uint64_t nrewinds;  /* given rewinds of this org, the first
                           ENT_AUDIT_MAX_REWINDS in rewinds[] */
    ent_audit_rewind rewinds[ENT_AUDIT_MAX_REWINDS];
    uint64_t ops;     /* ops checked */
    uint64_t equivocations; /* valid equivocation proofs carried */
    uint64_t erased;  /* erased op records checked (bodies dropped) */
    uint64_t nerasures; /* erase ops in the export; the first
                           ENT_AUDIT_MAX_ERASURES in erasures[] */
    ent_audit_erasure erasures[ENT_AUDIT_MAX_ERASURES];
    bool has_fail_index;
    uint64_t fail_index; /* index of the failing entry, if any */
    char reason[ENT_AUDIT_REASON_MAX]; /* first failure, "" when ok */
} ent_audit_result;

/*
 * Verifies an export (spec/audit.md §10). Pure: reads only buf.
 * @return ENT_OK when every check passed (res->ok), otherwise the error of
 *         the first failing check (also in res->err, with res->reason and,
 *         when an entry is at fault, res->fail_index): ENT_ETOOBIG,
 *         ENT_ENONCANON, ENT_ETRUNCATED, ENT_ECORRUPT, ENT_EVERSION,
 *         ENT_EBADSIG, ENT_EDENIED (not the expected org), ENT_ENOENT
 *         (heads given, none of this org), ENT_ELIMIT, ENT_ENOMEM.
 */
int ent_audit_verify(const uint8_t *buf, size_t len,
                     const uint8_t *expected_org, ent_audit_result *res);
int ent_audit_verify_ex(const uint8_t *buf, size_t len,
                        const ent_audit_opts *opts, ent_audit_result *res);

/*
 * Calls fn(data, op, n) for every op record of the export, in file order
 * (selective disclosure: the caller decrypts the ops it holds keys for).
 * Checks the layout only: verify the file first. op is borrowed from buf.
 * fn returns 0 to go on, > 0 to stop, < 0 to stop with that error.
 * @return ENT_OK, fn's error, or a layout error (ENT_ECORRUPT...).
 */
int ent_audit_foreach_op(const uint8_t *buf, size_t len,
                         int (*fn)(void *data, const uint8_t *op, size_t n),
                         void *data);

#endif
