/*
 * object_int.h - internals shared by the files of the object engine. Not a
 * public API: symbols are ent__obj_*. The files, each calling only those
 * listed after it:
 *
 *   member.c        add and remove members, accept keys, rotate the key
 *   object.c        the engine handle; create, set, stage, comment
 *   object_show.c   show, list, the shared-state encoding, op iteration
 *   object_apply.c  received ops: batch, authenticity, held ops, release
 *   object_commit.c writing an accepted op into the tables
 *   object_merge.c  field writes into field values (LWW, owner-only)
 *   object_check.c  the refusal rules: roles, author, body, equivocation
 *   object_fold.c   membership fold, epoch keys, the rotation rule
 *   object_rows.c   row encodings, value blobs, the wall clock
 *
 * Table layouts are in spec/storage.md ("Object engine tables"). An "order
 * key" is the 72 bytes hlc (8, big-endian) || author (32) || op id (32): it
 * sorts writes by (HLC, author, op id), the order every merge rule uses.
 */
#ifndef ENT_OBJECT_INT_H
#define ENT_OBJECT_INT_H

#include "node/objects/hlc.h"
#include "node/objects/object.h"

#define OBJ_ORDER_LEN 72
#define OBJ_REC_VERSION 1
#define OBJ_STATUS_ACTIVE 0
#define OBJ_STATUS_REMOVED 1

/* Tags of the first byte after the object id in the writes table. */
#define WR_FIELD 0x00   /* obj||0||name||0||order -> opid-less field write */
#define WR_MEMBER 0x01  /* obj||1||order -> kind, org, role */
#define WR_COMMENT 0x02 /* obj||2||order -> text */
#define WR_EPOCH 0x03   /* obj||3||epoch(8)||opid -> author */
#define WR_WAIT 0x04    /* obj||4||parent||held opid -> "" (held ops) */

#define FW_OWNER_ONLY 0x01 /* field write flag */
/* fields row flag: no write of the field that counts carries FW_OWNER_ONLY,
 * so the row holds the greatest counting write (merge fast path). */
#define FW_PLAIN 0x02

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
};

/* The object record (objects table). */
typedef struct obj_rec {
    uint8_t status;
    uint8_t owner[ENT_PK_LEN];
    uint64_t hlc; /* of the genesis op */
    char type[ENT_OP_NAME_MAX + 1];
} obj_rec;

/* One membership write (writes table, tag WR_MEMBER). */
typedef struct mrec {
    uint8_t order[OBJ_ORDER_LEN];
    uint8_t kind; /* ENT_OP_ADD_MEMBER or ENT_OP_REMOVE_MEMBER */
    uint8_t org[ENT_PK_LEN];
    uint8_t role;
} mrec;

typedef struct mlog {
    mrec *v;
    size_t n;
} mlog;

typedef struct mstate {
    uint8_t org[ENT_PK_LEN];
    uint8_t role;
    bool active;
} mstate;

/* A membership state: the fold of membership writes in order. */
typedef struct mset {
    mstate *v;
    size_t n, cap;
    uint8_t owner[ENT_PK_LEN];
    size_t next; /* index of the next mlog entry to fold */
} mset;

/* ------------------------------------------------------- object_rows.c */

/* The engine's wall clock in ms since the epoch (the configured one, else
 * the real one). */
uint64_t ent__obj_wall(const ent_objects *eng);
void ent__be64(uint8_t out[8], uint64_t v);
uint64_t ent__rd64(const uint8_t in[8]);
void ent__obj_order(uint8_t out[OBJ_ORDER_LEN], uint64_t hlc,
                    const uint8_t author[32], const uint8_t opid[32]);
/* An ent_txn_scan() callback counting rows: data is a size_t, incremented
 * once per row. */
int ent__obj_count_scan(void *data, const void *key, size_t klen,
                        const void *val, size_t vlen);

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

/* ------------------------------------------------------- object_fold.c */

/* Membership fold. */
int ent__obj_mlog_load(ent_txn *txn, const uint8_t obj[32], mlog *out);
void ent__obj_mlog_free(mlog *l);
void ent__obj_mset_init(mset *s, const uint8_t owner[32]);
void ent__obj_mset_free(mset *s);
/* Folds mlog entries whose order is below limit (all when limit NULL). */
int ent__obj_mset_fold(mset *s, const mlog *l, const uint8_t *limit);
const mstate *ent__obj_mset_find(const mset *s, const uint8_t org[32]);
/* The full current membership state of obj. */
int ent__obj_members(ent_txn *txn, const uint8_t obj[32],
                     const uint8_t owner[32], mset *out);

/* Epoch keys. */
int ent__obj_key_put(ent_txn *txn, const uint8_t obj[32], uint64_t epoch,
                     const uint8_t key[ENT_KEY_LEN], const uint8_t *creator);
/* The current epoch (highest with a key) and its chosen key.
 * @return ENT_OK or ENT_ENOENT (no key at all). */
int ent__obj_current_key(ent_txn *txn, const uint8_t obj[32], uint64_t *epoch,
                         uint8_t key[ENT_KEY_LEN]);
/* The chosen key of one epoch. @return ENT_OK or ENT_ENOENT. */
int ent__obj_epoch_key(ent_txn *txn, const uint8_t obj[32], uint64_t epoch,
                       uint8_t key[ENT_KEY_LEN]);
/* Highest epoch named by any epoch op or key of obj. */
int ent__obj_max_epoch(ent_txn *txn, const uint8_t obj[32], uint64_t *out);

/*
 * The rotation rule (spec/membership.md), after an epoch-changing op for
 * epoch: two or more epoch ops for the highest epoch make the lowest
 * active owner/admin org rotate; sets info->rotate_needed (info may be
 * NULL) when that org is us.
 */
int ent__obj_check_rotation(ent_objects *eng, ent_txn *txn,
                            const uint8_t obj[32], uint64_t epoch,
                            ent_apply_info *info);

/* ------------------------------------------------------ object_check.c */

/* True if st (NULL: not a member) may make a change of kind. */
bool ent__obj_role_allows(const mstate *st, uint8_t kind);

/* The author of op (not a genesis) is an active member of obj whose role
 * allows the op's kind, at the op's order (the fold of the membership
 * writes below it; owner: the object's owner).
 * @return ENT_OK, ENT_ENOTMEMBER, ENT_EDENIED or a storage error. */
int ent__obj_check_author(ent_txn *txn, const uint8_t obj[32], const ent_op *op,
                          const uint8_t owner[32]);

/* What op's decoded body b may say: no membership change names the owner
 * (owner: the object's owner, not read for a genesis) or gives the owner
 * role; an epoch change names the next epoch; a genesis is seq 1, epoch 0.
 * @return ENT_OK, ENT_EDENIED or ENT_ECORRUPT. */
int ent__obj_check_body(const ent_op *op, const ent_op_body *b,
                        const uint8_t owner[32]);

/* Whether obj already holds another op of op's author with op's sequence;
 * if so both encodings are kept as proof (equivocation table).
 * @return ENT_OK (none), ENT_ECONFLICT or a storage error. */
int ent__obj_check_equivocation(ent_txn *txn, const uint8_t obj[32],
                                const ent_op *op, bool *known);

/* For an object we were removed from: we hold a key of op's epoch.
 * @return ENT_OK, ENT_EDECRYPT or a storage error. */
int ent__obj_check_removed_epoch(ent_txn *txn, const uint8_t obj[32],
                                 const ent_op *op);

/* ------------------------------------------------------ object_merge.c */

/*
 * Keeps one field write of op (value v, owner_only flag) and merges it
 * into the field, judging authority with the membership log ml of obj
 * (owner: the object's owner).
 */
int ent__obj_put_field_write(ent_txn *txn, const uint8_t obj[32],
                             const ent_op *op, const char *name,
                             const ent_value *v, bool owner_only,
                             const uint8_t owner[32], const mlog *ml);

/*
 * After a membership change of obj: rewrites the members table and our own
 * status (info->removed when this change removed us; info may be NULL),
 * and merges every field again (authority is judged at each write's order).
 */
int ent__obj_refresh_membership(ent_objects *eng, ent_txn *txn,
                                const uint8_t obj[32], ent_apply_info *info);

/* ----------------------------------------------------- object_commit.c */

/*
 * Commits op (already checked; b its decoded body) into obj: ops, op id
 * index, heads, writes, materialized state, keys. info may be NULL.
 */
int ent__obj_commit(ent_objects *eng, ent_txn *txn, const ent_op *op,
                    const ent_op_body *b, const uint8_t obj[32],
                    ent_apply_info *info);

/* ------------------------------------------------------------ object.c */

/*
 * Fills the header of a new non-genesis op of obj by this org: parents =
 * the current heads (at most ENT_OP_MAX_PARENTS, in id order), seq = our
 * next, epoch and key = the current ones (key wiped by the caller), hlc =
 * now and later than every head.
 */
int ent__obj_new_header(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                        uint8_t kind, ent_op_header *h,
                        uint8_t key[ENT_KEY_LEN]);

/* Encodes b, seals it under h and key, commits it (ent__obj_commit) and
 * hands the op out (*op_out, freed by the caller). */
int ent__obj_seal_commit(ent_objects *eng, ent_txn *txn, const uint8_t obj[32],
                         const ent_op_header *h, const ent_op_body *b,
                         const uint8_t key[ENT_KEY_LEN], ent_op **op_out);

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

#endif
