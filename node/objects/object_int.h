/*
 * object_int.h - internals shared by the files of the object engine. Not a
 * public API: symbols are ent__obj_*. The files, each calling only those
 * listed after it:
 *
 *   member.c        add and remove members, accept keys, rotate the key
 *   object.c        the engine handle; create, set, stage, comment
 *   object_show.c   show, list, the shared-state encoding, op iteration
 *   object_removal.c the past of an org's removal (what it may be sent)
 *   object_apply.c  received ops: batch, authenticity, held ops, release
 *   object_held.c   the bounds on held ops: who, how many, eviction, expiry
 *   object_commit.c writing an accepted op into the tables; bringing an
 *                   object of an older store up to date (backfill)
 *   object_merge.c  field writes into field values (LWW, owner-only), the
 *                   recompute after a membership change
 *   object_work.c   the workflow rules an object carries: which stage
 *                   moves, approvals and owned-field writes count
 *                   (spec/workflows.md), judged with node/work
 *   object_attach.c attachments: chunks, manifests, fetch and read
 *   object_erase.c  erasure: the erase op's body, what it drops, stubs
 *   object_keys.c   epoch keys: which key is usable, current, the rotation
 *                   rule
 *   object_check.c  the refusal rules: structure, body, equivocation
 *   object_fold.c   authority by causal history: which membership ops
 *                   count (the rounds), the members table, judging an op,
 *                   the receipt check of authority
 *   object_pv.c     past vectors: the author index, PV rows, the causal
 *                   past of an op
 *   object_rows.c   row encodings, varints, value blobs, the wall clock
 *
 * Table layouts are in spec/storage.md ("Object engine tables"). An "order
 * key" is the 72 bytes hlc (8, big-endian) || author (32) || op id (32): it
 * sorts writes by (HLC, author, op id), the order every merge rule uses.
 * Authority (spec/membership.md) never reads an HLC: it is decided by the
 * past vector (PV) of each op, derived locally from its parents.
 */
#ifndef ENT_OBJECT_INT_H
#define ENT_OBJECT_INT_H

#include "node/bytes.h"
#include "node/objects/hlc.h"
#include "node/jtext.h"
#include "node/objects/object.h"

#define OBJ_ORDER_LEN 72
#define OBJ_REC_VERSION 1
#define OBJ_STATUS_ACTIVE 0
#define OBJ_STATUS_REMOVED 1

/* Epochs are bounded far below any wrap (spec/membership.md "Epochs"). */
#define OBJ_EPOCH_MAX ((UINT64_C(1) << 32) - 1)

/* Tags of the first byte after the object id in the writes table. */
#define WR_FIELD 0x00   /* obj||0||name||0||order -> opid-less field write */
#define WR_MEMBER 0x01  /* obj||1||order -> kind, org, role */
#define WR_COMMENT 0x02 /* obj||2||order -> text */
#define WR_EPOCH 0x03   /* obj||3||epoch(8)||opid -> author */
#define WR_WAIT 0x04    /* obj||4||parent||held opid -> "" (held ops) */
#define WR_PV 0x05      /* obj||5||author||seq(8)||opid -> hlc, maxep, PV */
#define WR_AUTHOR 0x06  /* obj||6||org -> author index (u32) */
#define WR_ANEXT 0x07   /* obj||7 -> next author index (u32) */
#define WR_MOP 0x08     /* obj||8||opid -> membership/epoch op record */
#define WR_FRONT 0x09   /* obj||9 -> PV: highest seq of each author's mops */
#define WR_CSHOW 0x0a   /* obj||10||order -> text of a comment that counts */
#define WR_AVER 0x0b    /* obj||11 -> 1: the object's rows have PVs */
#define WR_HELD 0x0c    /* obj||12||held opid -> held_at, len, author[, org] */
#define WR_HADD 0x0d    /* obj||13||org||held add opid -> "" */
#define WR_RULES 0x0e   /* obj||14||owner seq(8) -> workflow rules */
#define WR_APPR 0x0f    /* obj||15||order -> decision, steplen, step, comment */
#define WR_ERASED 0x20 /* obj||0x20||erase opid -> field ("" : all) */
#define WR_ATTACH 0x22 /* obj||0x22||name||0||order -> epoch(8), manifest */
#define WR_CHUNK 0x23  /* obj||0x23||chunk hash -> attach op id */
#define WR_STEP 0x10    /* obj||16||decision||steplen||step||order -> "" */
#define WR_PRUNED 0x11  /* obj||17 -> "": field writes may be missing */

/* A wait row's key: obj || WR_WAIT || parent || held op id. */
#define OBJ_WAIT_KEY_LEN (33 + 32 + 32)

#define FW_OWNER_ONLY 0x01 /* field write flag */
/* fields row flag: no write of the field that counts carries FW_OWNER_ONLY,
 * so the row holds the greatest counting write (merge fast path). */
#define FW_PLAIN 0x02

/* Flags of a WR_MOP row, as the last recompute decided them: the op
 * counts (spec/membership.md "Counting"); an epoch op whose key new local
 * ops may use; an epoch op without every counting removal in its past or
 * itself (its key is not fresh). 0x02 is not used. */
#define MOP_COUNTS 0x01
#define MOP_USABLE 0x04
#define MOP_STALE 0x08

struct ent_objects {
    ent_store *store;
    const ent_identity *id;
    const ent_log *log;
    uint64_t (*clock)(void *data);
    void *clock_data;
    const char *(*org_name)(void *data, const uint8_t org[ENT_PK_LEN]);
    void *org_name_data;
    uint8_t me[ENT_PK_LEN];
    ent_hlc hlc;
    ent_obj_stats stats;
    struct ent_template *builtin; /* the last built-in template parsed, kept
                                     for the next change (owned) */
    char actor[65]; /* the local user of the changes made now; "" none */
    char wf_why[256]; /* why the last local op was refused by the object's
                         workflow rules (object_work.c) */
    struct wf_set *wf_cache; /* the last object's decoded rules
                                (object_work.c; shared, counted) */
};

/* The object record (objects table). */
typedef struct obj_rec {
    uint8_t status;
    uint8_t owner[ENT_PK_LEN];
    uint64_t hlc; /* of the genesis op */
    char type[ENT_OP_NAME_MAX + 1];
} obj_rec;

/* ------------------------------------------------------- object_rows.c */

/* The engine's wall clock in ms since the epoch (the configured one, else
 * the real one). */
uint64_t ent__obj_wall(const ent_objects *eng);
void ent__be32(uint8_t out[4], uint32_t v);
uint32_t ent__rd32(const uint8_t in[4]);
void ent__obj_order(uint8_t out[OBJ_ORDER_LEN], uint64_t hlc,
                    const uint8_t author[32], const uint8_t opid[32]);
/* Unsigned LEB128: ent__uvar_put writes v at out (at most 10 bytes) and
 * returns the bytes written; ent__uvar_get reads one from [*p, end),
 * advancing *p. @return ENT_OK or ENT_ECORRUPT (truncated, too long). */
size_t ent__uvar_put(uint8_t *out, uint64_t v);
int ent__uvar_get(const uint8_t **p, const uint8_t *end, uint64_t *v);
/* An ent_txn_scan() callback counting rows: data is a size_t, incremented
 * once per row. */
int ent__obj_count_scan(void *data, const void *key, size_t klen,
                        const void *val, size_t vlen);
/* An ent_txn_scan() callback that stops at the first row: data is a bool,
 * set true. */
int ent__obj_any_scan(void *data, const void *key, size_t klen, const void *val,
                      size_t vlen);

/*
 * Makes room for element n of an array *v of elements of size elem that
 * holds n elements and grew only through this function: capacity doubles
 * (8, 16, 32, ...), so appending n elements costs O(n) copies, also under
 * ASan, whose realloc always moves. @return ENT_OK or ENT_ENOMEM (*v kept).
 */
int ent__obj_grow(void **v, size_t n, size_t elem);

int ent__obj_rec_get(ent_txn *txn, const uint8_t obj[32], obj_rec *out);
int ent__obj_rec_put(ent_txn *txn, const uint8_t obj[32], const obj_rec *r);

/* Value blobs: the CBOR [type, payload] of spec/records.md. */
int ent__obj_value_encode(const ent_value *v, uint8_t **out, size_t *len);
int ent__obj_value_decode(const uint8_t *buf, size_t len, ent_value *v);

/* --------------------------------------------------------- object_pv.c */

/* One entry of a past vector: author index a, highest seq s. */
typedef struct pv_ent {
    uint32_t a;
    uint64_t s;
} pv_ent;

/* A past vector, sorted by author index, no zero seq. */
typedef struct pvec {
    pv_ent *v;
    size_t n, cap;
} pvec;

void ent__pv_free(pvec *p);
/* The highest seq of author a in p (0: none). */
uint64_t ent__pv_at(const pvec *p, uint32_t a);
/* p[a] = max(p[a], s). @return ENT_OK or ENT_ENOMEM. */
int ent__pv_raise(pvec *p, uint32_t a, uint64_t s);
/* dst = elementwise max(dst, src). */
int ent__pv_merge(pvec *dst, const pvec *src);
/* True when every entry of f is at most the entry of p. */
bool ent__pv_covers(const pvec *p, const pvec *f);
/* Encoding: uvarint n, then n (uvarint index delta, uvarint seq). *out is
 * malloc'ed. Decoding appends to an empty p and returns the bytes read. */
int ent__pv_encode(const pvec *p, uint8_t **out, size_t *len);
int ent__pv_decode(const uint8_t **cur, const uint8_t *end, pvec *p);

/* What is derived of one op from its parents (never sent). */
typedef struct pvinfo {
    uint32_t a;        /* the author's index */
    uint64_t hlc;      /* the op's own hlc */
    uint64_t maxep;    /* highest epoch in the op's past or the op itself */
    uint64_t past_ep;  /* highest epoch in its past only (0: genesis) */
    uint64_t top_hlc;  /* highest hlc among its parents (0: none) */
    uint64_t prev_seq; /* max over parents of PV[author]: S2 wants seq-1 */
    pvec pv;           /* the past vector, the op itself included */
} pvinfo;

void ent__pvinfo_free(pvinfo *i);

/*
 * The author index of org in obj. With create, a new index is assigned
 * and stored when org has none; without, *idx is the index it would get
 * (nothing written). @return ENT_OK or a storage error.
 */
int ent__obj_author_idx(ent_txn *txn, const uint8_t obj[32],
                        const uint8_t org[32], bool create, uint32_t *idx);
/* The index of org when it has one: ENT_OK, ENT_ENOENT. */
int ent__obj_author_find(ent_txn *txn, const uint8_t obj[32],
                         const uint8_t org[32], uint32_t *idx);

/*
 * Derives op's pvinfo from its parents' PV rows (which must all be there;
 * ENT_ENOENT otherwise). The author index is looked up without assigning
 * one (the commit assigns it). body_epoch: the new epoch an epoch op's
 * body names, or 0. @return ENT_OK, ENT_ENOENT, ENT_ECORRUPT, ENT_ENOMEM.
 */
int ent__obj_pv_derive(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                       pvinfo *out);
/* Reads the PV row of the op with id opid: ENT_OK, ENT_ENOENT. */
int ent__obj_pv_load(ent_txn *txn, const uint8_t obj[32],
                     const uint8_t opid[32], pvinfo *out);
/* Writes op's PV row (in->maxep must already include a body epoch). */
int ent__obj_pv_put(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                    const pvinfo *in);

/* ------------------------------------------------------- object_fold.c */

/* Forks (spec/membership.md "Forks"): per equivocating author, the lowest
 * seq of which the object holds two or more ops. */
typedef struct ofork {
    uint8_t author[32];
    uint64_t seq;
} ofork;

typedef struct oforks {
    ofork *v; /* sorted by author */
    size_t n;
} oforks;

/* Loads the forks of obj from the equivocations table (empty: none).
 * @return ENT_OK, ENT_ENOMEM or a storage error. */
int ent__obj_forks_load(ent_txn *txn, const uint8_t obj[32], oforks *out);
void ent__obj_forks_free(oforks *f);
/* C4: an op of author with seq counts for nothing, being at or after the
 * author's lowest forked seq. */
bool ent__obj_forked(const oforks *f, const uint8_t author[32], uint64_t seq);

/* One membership or epoch op (add_member, remove_member, rotate_key) as
 * the authority rules see it. */
typedef struct omop {
    uint8_t id[32];
    uint8_t order[OBJ_ORDER_LEN];
    uint8_t kind, role, flags;
    uint32_t a, t;       /* author and target indexes (t 0: rotate) */
    uint64_t seq, epoch; /* the author's seq, the body's new epoch */
    uint8_t target[32];
    pvec pv;
    uint8_t *raw; /* the row value as stored (owned) */
    size_t rawlen;
} omop;

/* Everything the authority rules need of one object. */
typedef struct oauth {
    uint8_t owner[32];
    uint32_t owner_a; /* the owner's author index (0: unknown) */
    omop *v;          /* sorted by order key: a linear extension of
                        causality (S1) */
    size_t n;
    size_t *by_t;    /* indexes into v, grouped by target */
    size_t *t_start; /* for target slot k: by_t[t_start[k] ..
                        t_start[k + 1]) */
    uint32_t *t_idx; /* target index of slot k */
    size_t nt;
    uint8_t *cnt; /* the final decision, per op (0/1) */
    oforks forks; /* C4: equivocating authors */
} oauth;

/* Writes the WR_MOP row of a membership or epoch op (flags 0 until the
 * recompute; t: the target's author index, 0 for a rotate). */
int ent__obj_mop_put(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                     const ent_op_body *b, const pvinfo *pi, uint32_t t);
/* Whether pv covers WR_FRONT: every membership and epoch op of obj is in
 * the past it describes. */
int ent__obj_covers_front(ent_txn *txn, const uint8_t obj[32],
                          const pvec *pv, bool *covers);
/* WR_FRONT[a] = max(WR_FRONT[a], seq). */
int ent__obj_front_raise(ent_txn *txn, const uint8_t obj[32], uint32_t a,
                         uint64_t seq);

/* Loads every WR_MOP row of obj, with the flags of the last recompute. */
int ent__obj_auth_load(ent_txn *txn, const uint8_t obj[32],
                       const uint8_t owner[32], oauth *out);
void ent__obj_auth_free(oauth *au);
/* Runs the rounds (spec/membership.md "Counting"): fills au->cnt from the
 * set alone. */
int ent__obj_auth_solve(oauth *au);
/* Whether the org of author index a may now change target t (index; 0:
 * none) under the seniority rule, with the decision in au. */
bool ent__obj_auth_senior(const oauth *au, uint32_t a, uint32_t t);
/*
 * Stores the decision of au: the WR_MOP flags (counts, usable, stale) and
 * the members table (the owner and every org with a counting op). *me_listed /
 * *me_active: our own row. *restand: an org that has authored ops of obj
 * changed standing (its ops must be judged again).
 */
int ent__obj_auth_store(ent_txn *txn, const uint8_t obj[32], oauth *au,
                        const uint8_t me[32], bool *me_active, bool *me_listed,
                        bool *restand);

/*
 * Whether an op of author (index a), seq, past vector pv and kind counts
 * by C1 and C3 against the decision in au (C2 is the caller's).
 */
bool ent__obj_auth_counts(const oauth *au, const uint8_t author[32], uint32_t a,
                          uint64_t seq, const pvec *pv, uint8_t kind);

/*
 * The receipt check of a non-genesis op (spec/membership.md "Receipt"):
 * refuses what can never count, whatever else arrives. Reads the WR_MOP
 * rows of obj. *leave_only: a remove_member passes only as a leave (its
 * author's role allows no other removal): the caller refuses it with
 * ENT_EDENIED once the body shows another target. @return ENT_OK,
 * ENT_ENOTMEMBER, ENT_EDENIED or a storage error.
 */
int ent__obj_check_authority(ent_txn *txn, const uint8_t obj[32],
                             const uint8_t owner[32], const ent_op *op,
                             const pvinfo *pi, bool *leave_only);

/*
 * Judges ops of obj: the fast path (the op's past holds every membership
 * op: the members table answers) or the rules against the stored
 * decision, loaded once. Not thread-safe; one per transaction.
 */
typedef struct judge {
    ent_txn *txn;
    const uint8_t *obj;
    const uint8_t *owner;
    oauth *au; /* borrowed, or loaded on first need (au_owned) */
    bool au_owned;
    bool have_front;
    pvec front; /* WR_FRONT, loaded on first need */
    bool have_forks;
    oforks forks; /* C4, loaded on first need */
    struct wfctx *wf; /* workflow rules and decisions, loaded on first need
                         (object_work.c) */
    ent_objects *eng; /* may be NULL: then the rules' cache is not used */
    bool pruned; /* the object's 0x11 row is known to be there */
    /* memo of judged op ids (open addressing) */
    uint8_t (*memo_id)[32];
    uint8_t *memo_val; /* 0 empty, 1 no, 2 yes */
    size_t memo_cap, memo_n;
} judge;

void ent__obj_judge_init(judge *j, ent_txn *txn, const uint8_t obj[32],
                         const uint8_t owner[32], oauth *au);
void ent__obj_judge_free(judge *j);
/* Whether the op (author, index a, seq, pv, kind) counts (C1, C3). */
int ent__obj_judge_op(judge *j, const uint8_t author[32], uint32_t a,
                      uint64_t seq, const pvec *pv, uint8_t kind, bool *counts);
/* The same for a stored op known by its order key (memoized by op id). */
int ent__obj_judge_stored(judge *j, const uint8_t order[OBJ_ORDER_LEN],
                          uint8_t kind, bool *counts);

/* The standing of author (index a) in the state of the past pv: *active
 * and *role (the owner: active, role owner), with the stored decision. */
int ent__obj_judge_party(judge *j, const uint8_t author[32], uint32_t a,
                         const pvec *pv, bool *active, uint8_t *role);

/* The role of org in obj from the members table: ENT_OK with *active and
 * *role, ENT_ENOENT (not listed). */
int ent__obj_member_get(ent_txn *txn, const uint8_t obj[32],
                        const uint8_t org[32], bool *active, uint8_t *role);
/* A pseudo kind for judging only: a remove_member that names its own
 * author (a leave), which any active role may make. */
#define OBJ_KIND_LEAVE 0xfe
/* True if an active org of role may make a change of kind. */
bool ent__obj_role_allows(bool active, uint8_t role, uint8_t kind);
/* The MOP_* flags of the membership or epoch op opid: ENT_OK, ENT_ENOENT
 * (not such an op of obj). */
int ent__obj_mop_flags(ent_txn *txn, const uint8_t obj[32],
                       const uint8_t opid[32], uint8_t *flags);

/* ------------------------------------------------------- object_keys.c */

int ent__obj_key_put(ent_txn *txn, const uint8_t obj[32], uint64_t epoch,
                     const uint8_t key[ENT_KEY_LEN], const uint8_t *creator);
/* The highest epoch named by the ops of obj (the largest maxep among the
 * heads' PV rows). */
int ent__obj_dag_epoch(ent_txn *txn, const uint8_t obj[32], uint64_t *out);
/*
 * The current epoch and its key for new local ops (spec/membership.md
 * "Keys"): among usable keys of epochs up to the highest any op names,
 * the highest epoch with a fresh one, else the highest usable.
 * @param[out] creator_fresh (may be NULL) false when the chosen key
 *             predates a counting removal (the rotation rule then asks).
 * @return ENT_OK or ENT_ENOENT (no usable key at all).
 */
int ent__obj_current_key(ent_txn *txn, const uint8_t obj[32], uint64_t *epoch,
                         uint8_t key[ENT_KEY_LEN], bool *fresh);
/* The chosen usable key of one epoch. @return ENT_OK or ENT_ENOENT. */
int ent__obj_epoch_key(ent_txn *txn, const uint8_t obj[32], uint64_t epoch,
                       uint8_t key[ENT_KEY_LEN]);

/*
 * The rotation rule after a recompute: rotate when two usable epoch ops
 * name the highest usable epoch, or when the current key predates a
 * counting removal; only the lowest active owner/admin org is asked
 * (info->rotate_needed when that is us).
 */
int ent__obj_check_rotation(ent_objects *eng, ent_txn *txn,
                            const uint8_t obj[32], const oauth *au,
                            ent_apply_info *info);

/* ------------------------------------------------------ object_check.c */

/*
 * The structural rules of a received non-genesis op, with its pvinfo
 * (spec/membership.md "Structure"): S1 hlc above every parent's, S2 the
 * author's chain continues, the header epoch no higher than any epoch of
 * its past. @return ENT_OK or ENT_ECORRUPT.
 */
int ent__obj_check_structure(const ent_op *op, const pvinfo *pi);

/* What op's decoded body b may say: no membership change names the owner
 * (owner: the object's owner, not read for a genesis) or gives the owner
 * role; an epoch change names the next epoch; an add hands out keys of
 * epochs up to its own; only the owner flags a write owner-only; a
 * genesis is seq 1, epoch 0.
 * @return ENT_OK, ENT_EDENIED or ENT_ECORRUPT. */
int ent__obj_check_body(const ent_op *op, const ent_op_body *b,
                        const uint8_t owner[32]);
/* The value rules on what a create, set, stage or comment body carries
 * (spec/objects.md "Values"), for received ops and our own alike: field
 * names and the type name by the template's name rules, each value by
 * ent_value_check, a stage as an enum value, a comment as text.
 * @return ENT_OK or ENT_EBADVALUE. */
int ent__obj_check_values(const ent_op_body *b);

/* Whether obj already holds another op of op's author with op's sequence
 * (*fork); if so the encodings of both are kept as proof (equivocation
 * table), and *first tells that this (author, seq) had no proof before
 * (one activity-log entry per proven equivocation).
 * @return ENT_OK or a storage error. */
int ent__obj_note_fork(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                       bool *fork, bool *first);

/* For an object we were removed from: we hold a key of op's epoch.
 * @return ENT_OK, ENT_EDECRYPT or a storage error. */
int ent__obj_check_removed_epoch(ent_txn *txn, const uint8_t obj[32],
                                 const ent_op *op);

/* ------------------------------------------------------- object_work.c */

/* One kept field write: its order key, flags and value blob (valid during
 * the transaction). */
typedef struct obj_fwr {
    uint8_t order[OBJ_ORDER_LEN];
    uint8_t flags;
    const uint8_t *val;
    size_t vlen;
} obj_fwr;

struct wfctx;
void ent__obj_wf_free(struct wfctx *w);
/* Drops the engine's cache of decoded rules (ent_objects_free). */
void ent__obj_wf_cache_free(ent_objects *eng);
/* Whether the writes of field name are governed by the object's rules
 * (the field "stage", or a field an owner rule names): the merge fast path
 * is then skipped. */
int ent__obj_wf_governs(judge *j, const char *name, bool *gov);
/* The workflow rules on the n kept writes v of field name (sorted by order
 * key): clears ok[i] of each write the rules do not allow (spec/workflows.md
 * §3). ok[] comes in with C1-C4 and C2 applied. */
int ent__obj_wf_filter(judge *j, const char *name, const obj_fwr *v, size_t n,
                       bool *ok);
/* The merge's fast path for a stage write at order (value blob) whose op
 * counts by C1-C4 (counts): when the stage's current winner is in its past,
 * the write wins if its move is allowed from that stage, else the row
 * stays (*done true); otherwise *done false (recompute the field). */
int ent__obj_wf_stage_fast(judge *j, const uint8_t order[OBJ_ORDER_LEN],
                           const uint8_t *blob, size_t blen, bool counts,
                           bool *done);
/* Clears *counts when the write at order of an owned field name is not by
 * the party the rules in force name. */
/* object_mdf.c: a set op of this node writing amount_approved of an
 * mdf_request must stay within what the linked budget has left, as this
 * node computes it (spec/workflows.md §8). @return ENT_OK or ENT_EDENIED
 * (why says so), storage errors. */
int ent__obj_mdf_check(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                       const ent_op_body *b, char *why, size_t whylen);
/* object_mdf.c: the shared value of field name of obj (null when unset;
 * the caller clears it); order (may be NULL) gets the order key of its
 * winning write. @return ENT_OK, ENT_ENOMEM, storage errors. */
int ent__obj_field_value(ent_txn *txn, const uint8_t obj[32],
                         const char *name, ent_value *out, uint8_t *order);
/* object_mdf.c: the org the rules obj's owner gave last name as the one
 * party that writes field (*ok false: none, or not one org). */
int ent__obj_rules_field_org(ent_txn *txn, const uint8_t obj[32],
                             const char *field, uint8_t org[32], bool *ok);
/* object_work.c: calls fn(data, to, step) for every approval step that
 * waits now (on anyone) to move obj from its current stage to `to`. */
typedef int (*ent__obj_wait_fn)(void *data, const char *to, const char *step);
int ent__obj_wf_waiting(ent_txn *txn, const uint8_t obj[32],
                        ent__obj_wait_fn fn, void *data);
/* object_dealreg.c: a stage write, or a write of expires, of a
 * deal_registration by this node that leaves it Approved must leave at
 * most one approved, unexpired registration per account and solution (and
 * approver) among those this node holds, and a move to Approved must carry
 * an expiry from today on; an expiry before today without a move ends the
 * registration and passes (spec/workflows.md §9.4). @return ENT_OK or
 * ENT_EDENIED (why says so), ENT_ENOMEM, storage errors. */
int ent__obj_dealreg_check(ent_objects *eng, ent_txn *txn,
                           const uint8_t obj[32], const ent_op_header *h,
                           const ent_op_body *b, char *why, size_t whylen);
/* object_dealreg.c: the registration block of object show for a
 * deal_registration whose approver (the org its rules give "expires") is
 * this node's org: {"approver","log_index","conflicts":[...]}; *out NULL
 * otherwise. */
int ent__obj_dealreg_show(const ent_objects *eng, ent_txn *txn,
                          const uint8_t obj[32], json_t **out);
int ent__obj_wf_write_counts(judge *j, const char *name,
                             const uint8_t order[OBJ_ORDER_LEN],
                             const uint8_t *blob, size_t blen, bool *counts);
/*
 * The workflow judgment of a new op of obj (received, or our own before it
 * is committed), with its decoded body and pvinfo: a rules op must carry
 * valid rules; an approval must name a step of the rules in force; a stage
 * move and the writes of owned fields must be allowed. why gets a reason.
 * @return ENT_OK, ENT_EDENIED, ENT_ECORRUPT (rules that do not decode) or a
 *         storage error.
 */
int ent__obj_wf_check(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                      const uint8_t owner[32], const ent_op *op,
                      const ent_op_body *b, const pvinfo *pi, char *why,
                      size_t whylen);
/* The steps that wait on org me in obj now (spec/workflows.md §5): of the
 * transitions leaving the current stage under the rules in force, the
 * steps whose party me matches and that me has not decided since the
 * stage was reached. *n gets how many; first the first one's name. */
int ent__obj_wf_my_step(ent_txn *txn, const uint8_t obj[32],
                        const uint8_t owner[32], const uint8_t me[32],
                        char first[ENT_OP_NAME_MAX + 1], size_t *n);
/* The rows of a committed rules, create (with rules) or approve op. */
int ent__obj_wf_commit(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                       const ent_op_body *b);

/* ------------------------------------------------------ object_merge.c */

/*
 * Keeps one field write of op (value v, owner_only flag) and merges it
 * into the field; counts: whether op counts by C1 and C3 (the caller
 * judged it once per op); j judges the field's other writes when the
 * field must be recomputed; keep_row: store the write's row even when
 * the fast path settles it (an op that carries workflow rules).
 */
int ent__obj_put_field_write(ent_txn *txn, const uint8_t obj[32],
                             const ent_op *op, const char *name,
                             const ent_value *v, bool owner_only,
                             const uint8_t owner[32], bool counts, judge *j,
                             bool keep_row);

/* ------------------------------------------------------ object_prune.c */

/* *yes: obj has the WR_PRUNED marker (some plain-field writes have no
 * writes row). */
int ent__obj_writes_pruned(ent_txn *txn, const uint8_t obj[32], bool *yes);

/* *yes: a write of field name (owner_only flag) that the merge fast path
 * settled may go without its writes row: not owner-only, not `stage`, and
 * obj carries no workflow rules (spec/storage.md "Pruned field writes"). */
int ent__obj_write_prunable(ent_txn *txn, const uint8_t obj[32],
                            const char *name, bool owner_only, bool *yes);

/* Sets the WR_PRUNED marker of obj (one get when it is there). */
int ent__obj_writes_mark(ent_txn *txn, const uint8_t obj[32]);

/* When obj is marked: puts the writes row of every field write of its
 * stored create and set ops that lacks one (derived from the op, opened
 * with its epoch's key; erased ops are skipped) and drops the marker.
 * Every reader of WR_FIELD rows calls it first (in a write transaction). */
int ent__obj_writes_fill(ent_txn *txn, const uint8_t obj[32]);

/* Recomputes every field and every comment of obj with j. */
int ent__obj_remerge_all(ent_txn *txn, const uint8_t obj[32],
                         const uint8_t owner[32], judge *j);

/*
 * After a membership or epoch op of obj was committed (its WR_MOP row
 * written): recomputes which membership ops count, the members table, our
 * own status (info->removed), the usable keys, and, when a member's
 * standing changed, every field and comment; then the rotation rule
 * (info->rotate_needed). info may be NULL.
 */
int ent__obj_refresh_authority(ent_objects *eng, ent_txn *txn,
                               const uint8_t obj[32], ent_apply_info *info);

/* ------------------------------------------------------ object_erase.c */

/* The body of an erase op of obj by this node: field (NULL or "": the
 * whole object) and the ops that carry its values here. err says why on
 * failure. @return ENT_OK, ENT_EINVAL, ENT_ENOENT (nothing writes the
 * field), ENT_ELIMIT (more than ENT_OP_ERASE_MAX ops), ENT_ENOMEM. */
int ent__obj_erase_body(ent_txn *txn, const uint8_t obj[32], const char *field,
                        ent_op_body *b, char *err, size_t errlen);
/* What a committed erase op e (body b) drops here (spec/objects.md
 * "Erasure"); marks the transaction for a scrub of free pages. */
int ent__obj_erase_commit(ent_objects *eng, ent_txn *txn, const ent_op *e,
                          const ent_op_body *b, const uint8_t obj[32]);

/* ----------------------------------------------------- object_attach.c */

/* The rows of a committed attach op (spec/storage.md). */
int ent__obj_attach_commit(ent_txn *txn, const uint8_t obj[32],
                           const ent_op *op, const ent_op_body *b);

/* ----------------------------------------------------- object_commit.c */

/*
 * Commits op (already checked; b its decoded body; pi its pvinfo, or NULL
 * for a local op, derived here) into obj: ops, op id index, heads, PV row,
 * writes, materialized state, keys. info may be NULL; ev_pre: the data of
 * a genesis's object.created rendered before (ent__obj_ev_op), or NULL.
 */
int ent__obj_commit(ent_objects *eng, ent_txn *txn, const ent_op *op,
                    const ent_op_body *b, const uint8_t obj[32],
                    const pvinfo *pi, ent_apply_info *info,
                    const ent_jtext *ev_pre);

/*
 * Objects whose rows predate past vectors (no WR_AVER row): derives every
 * PV, author index and WR_MOP row from the stored ops and the membership
 * and epoch rows, writes the marker, then recomputes authority. A no-op
 * for an up-to-date object. @return ENT_OK or a storage error.
 */
int ent__obj_backfill(ent_objects *eng, ent_txn *txn, const uint8_t obj[32]);
/* The same, whatever the marker says (a parent without a PV row: an older
 * binary wrote to the store after the upgrade). */
int ent__obj_backfill_again(ent_objects *eng, ent_txn *txn,
                            const uint8_t obj[32]);

/* ------------------------------------------------------------ object.c */

/*
 * Fills the header of a new non-genesis op of obj by this org: parents =
 * the current heads (at most ENT_OP_MAX_PARENTS, in id order, keeping one
 * that holds our last op and one that names the current epoch), seq = our
 * next, epoch and key = the current ones (key wiped by the caller), hlc =
 * now and later than every parent. ENT_ERESTORING while the store carries
 * the restore mark (ent_home_restoring): every op we sign on an existing
 * object passes here.
 */
/* Our role in obj, an active member (ENT_EDENIED otherwise, ENT_ENOENT: no
 * object); *r gets the object record. */
int ent__obj_my_role(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                     obj_rec *r, uint8_t *role);
int ent__obj_new_header(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                        uint8_t kind, ent_op_header *h,
                        uint8_t key[ENT_KEY_LEN]);

/* Encodes b, seals it under h and key, commits it (ent__obj_commit) and
 * hands the op out (*op_out, freed by the caller). */
int ent__obj_seal_commit(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                         const ent_op_header *h, const ent_op_body *b,
                         const uint8_t key[ENT_KEY_LEN], ent_op **op_out);

/* ------------------------------------------------------- object_held.c */

/* The key of a wait row (parent all-zero: waiting for no parent). */
void ent__obj_wait_key(uint8_t k[OBJ_WAIT_KEY_LEN], const uint8_t obj[32],
                       const uint8_t parent[32], const uint8_t held[32]);

/* How an op is put on hold. */
typedef struct ent_hold_opts {
    bool rehold;          /* a held op retried: admitted before, no caps */
    uint64_t held_at;     /* rehold: when it was first held (0: now) */
    ent_obj_stats *delta; /* counts refusals, evictions, expiries (may be
                             NULL) */
} ent_hold_opts;

/*
 * Puts op of obj on hold (spec/objects.md "Held ops"): its pending row,
 * its wait rows, its held row and, for an add_member op of the owner or an
 * active admin whose body named target (may be NULL), the row that lets
 * target's ops be held as a possible member's. owner NULL: no object
 * record yet (every author counts as a possible member). An author that
 * could not be a member is held in the strangers' share. A new hold may
 * expire and evict other held ops first; it is refused with ENT_ELIMIT
 * beyond the author's caps or when no room can be made.
 */
int ent__obj_hold(ent_objects *eng, ent_txn *txn, const ent_op *op,
                  const uint8_t obj[32], const uint8_t *owner,
                  const uint8_t *target, const ent_hold_opts *o,
                  ent_apply_info *info);

/* Deletes op's pending row, wait rows, held row and add row (those that
 * exist); *held_at (may be NULL) gets when it was held, 0 if unknown. */
int ent__obj_unhold(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                    uint64_t *held_at);

/* ------------------------------------------------------ object_apply.c */

/*
 * Retries the held ops of obj that a change may let through, following the
 * wait entries (WR_WAIT): those waiting on op id `applied` (may be NULL),
 * then, transitively, those waiting on each op released in turn; with keys
 * true (an epoch key or the object record may have arrived) also the ops
 * waiting with no missing parent. Each held op is retried only when one of
 * its missing parents has just been applied, so the work is linear in the
 * ops released. Adds to *released and to delta.
 */
int ent__obj_release(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                     const uint8_t *applied, bool keys, ent_obj_stats *delta,
                     size_t *released);

/* ----------------------------------------------------- object_events.c */

/* An object's members table, before and after a change, to tell which
 * members joined, left or changed role (spec/events.md section 3). */
typedef struct ev_member {
    uint8_t org[32];
    uint8_t role;
    bool active;
} ev_member;

typedef struct ev_members {
    ev_member *v;
    size_t n;
} ev_members;

void ent__obj_ev_members_free(ev_members *m);
/* Reads obj's members table into *m (empty when the object is new). */
int ent__obj_ev_members_take(ent_txn *txn, const uint8_t obj[32],
                             ev_members *m);
/* Appends member.joined, member.left and member.role_changed events for
 * what differs between before and obj's members now; op made the change. */
int ent__obj_ev_members_diff(ent_objects *eng, ent_txn *txn,
                             const uint8_t obj[32], const ent_op *op,
                             const ent_op_body *b, const ev_members *before);
/* The events of one committed op (object.created, fields.changed with the
 * fields the op now holds, comment.added, key.rotated); counts as the
 * judge decided it; pre: a genesis's object.created data as
 * ent__obj_ev_create_data rendered it before, or NULL (made here). */
int ent__obj_ev_op(ent_objects *eng, ent_txn *txn, const ent_op *op,
                   const ent_op_body *b, const uint8_t obj[32], bool counts,
                   const ent_jtext *pre);
/* The data text of genesis op's object.created into d; no store, no
 * engine (any thread). ENT_ENOMEM as a jansson refusal would be. */
int ent__obj_ev_create_data(const ent_op *op, const ent_op_body *b,
                            ent_jtext *d);
/* equivocation.detected for op, the first proof of its (author, seq). */
int ent__obj_ev_equivocation(ent_objects *eng, ent_txn *txn, const ent_op *op,
                             const uint8_t obj[32]);
/* private.changed for the private fields given: names[i] -> vals[i] (a
 * NULL value: removed, shown as null). Nothing when n is 0. */
int ent__obj_ev_private(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                        const char *const *names, const ent_value *const *vals,
                        size_t n);
/* ent__obj_ev_private in two: the data text into d (no store, no engine:
 * any thread), then its event appended. */
int ent__obj_ev_private_data(const char *const *names,
                             const ent_value *const *vals, size_t n,
                             ent_jtext *d);
int ent__obj_ev_private_text(ent_objects *eng, ent_txn *txn,
                             const uint8_t obj[32], const ent_jtext *d);

#endif
