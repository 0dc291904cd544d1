/*
 * object.h - the object engine: joint objects, their ops, merge, membership
 * and epochs (spec/objects.md "Merge" and "Object state",
 * spec/membership.md, spec/storage.md "Object engine tables").
 *
 * The engine is the local half of the data model. It turns what users type
 * into signed, encrypted ops (ent_obj_create, ent_obj_set, membership
 * changes), and applies raw op bytes received from other nodes
 * (ent_obj_apply). Everything one call changes is committed in one LMDB
 * write transaction; a refused input changes nothing (only an in-memory
 * counter and one WARN log line).
 *
 * An engine is a handle over borrowed things (store, identity, logger, clock
 * function); it holds no globals, so many engines live in one process.
 * It is not thread-safe: use it from the node's loop thread.
 */
#ifndef ENT_OBJECT_H
#define ENT_OBJECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "node/log.h"
#include "protocol/op.h"
#include "node/objects/template.h"
#include "storage/store.h"

#define ENT_OBJ_ID_LEN 32
#define ENT_OBJ_PENDING_MAX 1024 /* held ops per object (see spec) */
/* The other bounds on held ops (spec/objects.md "Held ops"). */
#define ENT_OBJ_HELD_AUTHOR_MAX 256                  /* per author, object */
#define ENT_OBJ_HELD_AUTHOR_BYTES ((uint64_t)4 << 20) /* per author, object */
#define ENT_OBJ_HELD_OBJECT_BYTES ((uint64_t)16 << 20) /* per object */
#define ENT_OBJ_HELD_STRANGER_MAX 64  /* per object, of non-members */
#define ENT_OBJ_HELD_STRANGER_BYTES ((uint64_t)1 << 20)
#define ENT_OBJ_HELD_TOTAL_MAX 65536  /* held ops in the whole store */
#define ENT_OBJ_HELD_TTL_MS 3600000u  /* a held op expires after 1 h */
#define ENT_OBJ_ERR_MAX 256      /* size of an error message buffer */

typedef struct ent_objects ent_objects;

/* Engine configuration; every pointer is borrowed for the engine's life. */
typedef struct ent_objects_config {
    ent_store *store;       /* required */
    const ent_identity *id; /* required: this org */
    const ent_log *log;     /* may be NULL */
    /* wall clock in ms since the epoch; NULL: the real clock */
    uint64_t (*clock)(void *data);
    void *clock_data;
    /* display name of an org for show_json ("name"); NULL or a NULL result:
     * the org id. The returned string is borrowed until the next call. */
    const char *(*org_name)(void *data, const uint8_t org[ENT_PK_LEN]);
    void *org_name_data;
} ent_objects_config;

/* How a field is given (ent_obj_input.how). ENT_IN_SHARED and
 * ENT_IN_PRIVATE are 0 and 1, so {name, text, false|true} reads as before. */
enum {
    ENT_IN_SHARED = 0,  /* --set F=V: a field the template lists */
    ENT_IN_PRIVATE = 1, /* --private F=V: kept on this node only */
    ENT_IN_CUSTOM = 2,  /* --custom F=V: a shared field the template does
                           not list (a typo never becomes one silently) */
    ENT_IN_REMOVE = 3,  /* --remove F: a custom field goes (text ignored):
                           its shared value is cleared and no longer shown,
                           its private value deleted */
};

/* One field assignment as typed by a user (spec/cli.md "Field
 * assignments"); the strings are borrowed for the call. */
typedef struct ent_obj_input {
    const char *name;
    const char *text;
    uint8_t how; /* ENT_IN_* */
} ent_obj_input;

/* Why an op was refused, counted per engine (ent_obj_stats). */
typedef struct ent_obj_stats {
    uint64_t applied;   /* ops accepted from others */
    uint64_t duplicate; /* ops already known */
    uint64_t pending;   /* ops put on hold (cumulative) */
    uint64_t rejected;  /* every refusal below, summed */
    uint64_t badsig, denied, notmember, decrypt, corrupt, conflict, proto,
        limit;
    /* held ops (spec/objects.md "Held ops"): held in the strangers' share
     * (the author was not known to be a member), evicted to make room for
     * another op, dropped when they expired */
    uint64_t held_strangers, held_evicted, held_expired;
    /* refused because a value breaks the value rules (ENT_EBADVALUE,
     * spec/objects.md "Values") */
    uint64_t bad_value;
    /* the object's workflow rules (spec/workflows.md §4): refused at
     * receipt (also counted in denied), or kept but counting for nothing */
    uint64_t wf_denied, wf_ignored;
} ent_obj_stats;

/* What ent_obj_apply did with one op. */
typedef struct ent_apply_info {
    uint8_t op_id[32];
    uint8_t object[32];
    bool duplicate; /* known already; nothing changed */
    bool pending;   /* held until its parents or key arrive */
    bool removed;   /* this op removed us from the object */
    /* this op is a second version of its (author, seq): stored as one more
     * fork, its author's ops from the fork on count for nothing
     * (spec/membership.md C4); peers relay both versions */
    bool fork;
    /* an epoch-changing conflict was seen and this node is the owner/admin
     * that must resolve it: call ent_obj_rotate_key() (spec/membership.md) */
    bool rotate_needed;
    size_t released; /* held ops that this apply let through */
} ent_apply_info;

/*
 * Creates an engine. *out is freed with ent_objects_free().
 * @return ENT_OK, ENT_EINVAL (missing store or identity), ENT_ENOMEM.
 */
int ent_objects_new(ent_objects **out, const ent_objects_config *cfg);

/* Frees the engine (not what it borrows). Accepts NULL. */
void ent_objects_free(ent_objects *eng);

/*
 * Names the local user on whose behalf the engine's next local changes are
 * made: the "user" of their events (spec/events.md). The API sets it
 * around a request's handler and clears it (NULL) after; ops that arrive
 * from partners never carry it. user is copied (at most 64 bytes; a longer
 * or empty name counts as NULL).
 */
void ent_obj_set_actor(ent_objects *eng, const char *user);

/* The current actor, NULL when none; valid until the next set. */
const char *ent_obj_actor(const ent_objects *eng);

/* Counters since the engine was created. */
void ent_obj_stats_get(const ent_objects *eng, ent_obj_stats *out);

/*
 * Drops every held op that has been held ENT_OBJ_HELD_TTL_MS or longer by
 * the engine's clock, and every held op an older binary left without a
 * held row, in one write transaction (spec/objects.md "Held ops"). The
 * peer layer calls it once a minute. *dropped (may be NULL) gets how many.
 * @return ENT_OK, ENT_EINVAL, or a storage error.
 */
int ent_obj_expire_held(ent_objects *eng, size_t *dropped);

/*
 * Creates a joint object of type with this org as owner. Every input is
 * resolved through the org's template (ent_template_get/resolve); template
 * defaults fill shared fields not given. A refused input (bad value, strict
 * template, --set on a private field) changes nothing and writes the reason
 * into err (errlen bytes, may be NULL).
 * @param[out] id_out  the object id (= the genesis op id).
 * @param[out] op_out  the genesis op to send; the caller frees it with
 *                     ent_op_free(). May be NULL.
 * @return ENT_OK, ENT_EINVAL, ENT_ESCHEMA, ENT_ENOENT (no template of that
 *         type), ENT_ETOOBIG, ENT_ELIMIT, ENT_ENOMEM, or a storage error.
 */
int ent_obj_create(ent_objects *eng, const char *type,
                   const ent_obj_input *inputs, size_t n,
                   uint8_t id_out[ENT_OBJ_ID_LEN], ent_op **op_out, char *err,
                   size_t errlen);

/*
 * Sets fields of an object. Shared values become one set op (parents = the
 * current heads, next sequence, current epoch, hlc = now); private values go
 * to the private table only. Without shared values no op is made
 * (*op_out = NULL).
 * @return ENT_OK, ENT_ENOENT (unknown object), ENT_EDENIED (viewer, removed
 *         from the object, or an owner-only field owned by another org),
 *         ENT_EINVAL, ENT_ESCHEMA, ENT_ETOOBIG, ENT_ENOMEM, storage errors.
 */
int ent_obj_set(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                const ent_obj_input *inputs, size_t n, ent_op **op_out,
                char *err, size_t errlen);

/*
 * ent_obj_create and ent_obj_set inside the caller's write transaction txn,
 * so that many changes commit together (the CRM import commits a batch of
 * rows at once, spec/crm.md §3). Everything is written in txn; nothing
 * elsewhere but the engine's clock. *op_out is fresh on every call and the
 * caller's from the return on, whatever becomes of txn (a function run by
 * ent_store_write may run again: free what an earlier attempt got). On an
 * error *op_out is NULL and the caller must not commit txn as it is (some
 * writes may be done): abort it, or run it again without this change.
 * ent_obj_set_txn with private values only makes no op (*op_out NULL).
 * @return as ent_obj_create / ent_obj_set (ENT_EINVAL also for NULL txn).
 */
int ent_obj_create_txn(ent_objects *eng, ent_txn *txn, const char *type,
                       const ent_obj_input *inputs, size_t n,
                       uint8_t id_out[ENT_OBJ_ID_LEN], ent_op **op_out,
                       char *err, size_t errlen);
/*
 * ent_obj_create_txn in three steps, so that the signature of one create
 * can be made on another thread while the caller commits another (the CRM
 * import, spec/crm.md §8): prepare reads the store (template, values,
 * rules) and builds the op's header and body, writing nothing; seal
 * encrypts and signs it, and writes the data of its two events (the
 * commit appends them), and touches neither the store nor the engine (any
 * thread, once); finish commits it in txn as ent_obj_create_txn does (a
 * prepared create not sealed yet is sealed there). The object id is the
 * sealed op's id. Errors as ent_obj_create_txn: prepare's leave txn as it
 * was; finish's may have written (abort txn or run it again without this
 * create). free accepts NULL.
 */
typedef struct ent_obj_prepared ent_obj_prepared;
int ent_obj_create_prepare_txn(ent_objects *eng, ent_txn *txn,
                               const char *type, const ent_obj_input *in,
                               size_t n, ent_obj_prepared **out, char *err,
                               size_t errlen);
/*
 * prepare in two: ent_obj_hlc_take gives the next header time of this
 * node's ops (what prepare takes itself); ent_obj_create_prepare_as
 * prepares with that time and template tpl (the type's, as
 * ent_template_get answers in txn) and changes nothing of the engine, so
 * it may run on another thread in a read transaction beside the writer's
 * (ent_store_read_beside) while the engine's writer works in its own.
 */
int ent_obj_hlc_take(ent_objects *eng, uint64_t *hlc);
int ent_obj_create_prepare_as(ent_objects *eng, ent_txn *txn,
                              const ent_template *tpl, uint64_t hlc,
                              const ent_obj_input *in, size_t n,
                              ent_obj_prepared **out, char *err,
                              size_t errlen);
int ent_obj_prepared_seal(ent_obj_prepared *p);
int ent_obj_create_finish_txn(ent_txn *txn, ent_obj_prepared *p,
                              uint8_t id_out[ENT_OBJ_ID_LEN],
                              ent_op **op_out, char *err, size_t errlen);
void ent_obj_prepared_free(ent_obj_prepared *p);

int ent_obj_set_txn(ent_objects *eng, ent_txn *txn,
                    const uint8_t id[ENT_OBJ_ID_LEN],
                    const ent_obj_input *inputs, size_t n, ent_op **op_out,
                    char *err, size_t errlen);

/*
 * Moves the object to a workflow stage (a stage op; the value lands in the
 * last-writer-wins field "stage"). With a template that lists stages, stage
 * must be one of them (matched ignoring case). @return as ent_obj_set.
 */
int ent_obj_stage(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                  const char *stage, ent_op **op_out, char *err, size_t errlen);

/*
 * Approves (reject false) or rejects a workflow step of the object (an
 * approve op, spec/workflows.md): step NULL takes the one step that waits
 * on this org (ENT_EINVAL when none or several); comment may be NULL.
 * @return as ent_obj_set; ENT_EDENIED when the object's rules have no such
 *         step (err says why).
 */
int ent_obj_approve(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                    const char *step, bool reject, const char *comment,
                    ent_op **op_out, char *err, size_t errlen);

/*
 * A decision on a workflow step as `entente approve/reject` makes it
 * (spec/workflows.md §5, §9): for a deal_registration, an approval needs
 * expires ("YYYY-MM-DD") and makes the approve op of step "registration"
 * (*ops_out[0]) and a set of expires and stage Approved (*ops_out[1]),
 * after checking that the move would be allowed (at most one approved,
 * unexpired registration per account and solution: ENT_EDENIED naming
 * the one that holds); a rejection makes the approve op with decision 1
 * and a move to Rejected. Any other object: ent_obj_approve (expires must
 * be NULL). The ops are the caller's to send and free, also on an error
 * (the first may be made when the second failed).
 * @return as ent_obj_approve; ENT_EINVAL (bad or missing expires).
 */
int ent_obj_decide(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                   const char *step, bool reject, const char *comment,
                   const char *expires, ent_op *ops_out[2], char *err,
                   size_t errlen);

/*
 * The deal registrations that wait on this org (spec/workflows.md §9):
 * those at stage Submitted whose rules give this org their expiry, each
 * {"object","name","customer_account","account_domain","solution",
 * "amount","close_date","account","log_index","holds","conflicts":[...],
 * "more"}. The caller json_decref()s *out.
 * @return ENT_OK, ENT_ENOMEM, storage errors.
 */
int ent_obj_registrations_json(ent_objects *eng, json_t **out);

/*
 * Erases personal data (an erase op, spec/objects.md "Erasure"; the
 * owner only): field NULL or "" erases the whole object (every field,
 * comment, private value and epoch key; op bodies), else the shared field
 * of that name (its writes, its value, this node's private value of that
 * name, and the bodies of the ops that wrote it). Every member drops the
 * same when it commits the op.
 * @return as ent_obj_set; ENT_EDENIED (not the owner), ENT_ENOENT (no op
 *         writes the field), ENT_ELIMIT (more than ENT_OP_ERASE_MAX ops
 *         to erase).
 */
int ent_obj_erase(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                  const char *field, ent_op **op_out, char *err,
                  size_t errlen);

/* ------------------------------------------------------------ attachments */

/* One attachment (an attach op's manifest, spec/objects.md "Attachments"):
 * its name, size and BLAKE2b-256, the epoch whose key sealed its chunks,
 * the attach op, its author and HLC, and how many of its chunks this node
 * holds. */
typedef struct ent_obj_attachment {
    char name[ENT_OP_FILE_NAME_MAX + 1];
    uint64_t size;
    uint8_t hash[32];
    uint64_t epoch;
    uint8_t op[32];
    uint8_t by[32];
    uint64_t hlc;
    size_t nchunks, have;
} ent_obj_attachment;

/*
 * Attaches a file (len bytes, 1 .. ENT_OP_FILE_MAX) to the object under
 * name: seals its chunks under the current epoch key, stores them and
 * makes the attach op, in one transaction. A later attachment of the same
 * name replaces it for `get`.
 * @return as ent_obj_set; ENT_EINVAL (bad name, empty file), ENT_ETOOBIG.
 */
int ent_obj_attach(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                   const char *name, const uint8_t *data, size_t len,
                   ent_op **op_out, char *err, size_t errlen);

/* Every attachment of the object, in (name, order) order; *out is
 * malloc'ed (free()). */
int ent_obj_attachments(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                        ent_obj_attachment **out, size_t *n);

/* The chunk hashes of the latest attachment named name that this node
 * lacks: the first max into hashes (32 bytes each), *n of them, *total in
 * all. @return ENT_OK, ENT_ENOENT (no such attachment). */
int ent_obj_attachment_missing(ent_objects *eng,
                               const uint8_t id[ENT_OBJ_ID_LEN],
                               const char *name, uint8_t *hashes, size_t max,
                               size_t *n, size_t *total);

/* The sealed chunk of object id with that hash (malloc'ed, free()).
 * @return ENT_OK, ENT_ENOENT. */
int ent_obj_chunk_get(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                      const uint8_t hash[32], uint8_t **out, size_t *len);

/* Stores a sealed chunk fetched from a member: hash gets its BLAKE2b-256,
 * which must be listed by a manifest of object id. @return ENT_OK,
 * ENT_EDENIED (no manifest of the object lists it: tampered or foreign),
 * ENT_EEXIST (held already), ENT_ETOOBIG (not a chunk's size). */
int ent_obj_chunk_put(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                      const uint8_t *data, size_t len, uint8_t hash[32]);

/* The attachment chunks this node stores, of every object, and their
 * bytes (GET /metrics). */
int ent_obj_chunk_usage(ent_objects *eng, uint64_t *chunks, uint64_t *bytes);

/* Whether a manifest of object id lists a chunk of that hash. */
bool ent_obj_chunk_listed(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                          const uint8_t hash[32]);

/* ent_obj_chunk_put of n chunks in one transaction (one durable commit):
 * rcs[i] gets each chunk's result (ENT_OK, ENT_EDENIED, ENT_EEXIST,
 * ENT_ETOOBIG). @return ENT_OK, or a storage error (nothing stored). */
int ent_obj_chunk_put_batch(ent_objects *eng,
                            const uint8_t id[ENT_OBJ_ID_LEN],
                            const uint8_t *const *datas, const size_t *lens,
                            size_t n, int *rcs);

/* The bytes of the latest attachment named name, every chunk opened and
 * the file's hash checked (malloc'ed, free()). @return ENT_OK, ENT_ENOENT,
 * ENT_EAGAIN (chunks missing: fetch them), ENT_EDECRYPT (no key of its
 * epoch), ENT_ECHECKSUM (a chunk or the file does not check). */
int ent_obj_attachment_read(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                            const char *name, uint8_t **out, size_t *len);

/* One erasure of an object: the erase op, its author and HLC (zero when
 * the erase op itself is not readable here) and the field ("" : all). */
typedef struct ent_obj_erasure {
    uint8_t op[32];
    uint8_t by[32];
    uint64_t hlc;
    char field[ENT_OP_NAME_MAX + 1];
} ent_obj_erasure;

/* The erasures committed for object id, in erase op id order; *out is
 * malloc'ed (free()), *n its count. @return ENT_OK, ENT_EINVAL, storage
 * errors. */
int ent_obj_erasures(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                     ent_obj_erasure **out, size_t *n);

/*
 * Replaces the object's workflow rules (a rules op; the owner only): rules
 * is the CBOR of spec/workflows.md §2, 1..ENT_OP_RULES_MAX bytes.
 * @return as ent_obj_set; ENT_EDENIED (not the owner), ENT_ECORRUPT (rules
 *         that do not decode).
 */
int ent_obj_set_rules(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                      const uint8_t *rules, size_t len, ent_op **op_out,
                      char *err, size_t errlen);

/*
 * ent_obj_set_rules from a template-style "workflow" section (JSON, as in
 * spec/workflows.md §1) over the stages of the rules in force, or of this
 * org's template of the type when the object has none.
 * @return as ent_obj_set_rules; ENT_EINVAL with err for a bad section.
 */
int ent_obj_set_rules_json(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                           const json_t *workflow, ent_op **op_out, char *err,
                           size_t errlen);

/*
 * The object's workflow as JSON: {"rules": RULES or null, "stage",
 * "decisions": [{"org","name","step","decision","comment","time",
 * "counts"}], "waiting": [{"step","by","to"}]} (spec/workflows.md §5).
 * *out is a new reference. @return ENT_OK, ENT_ENOENT, ENT_ENOMEM, storage
 * errors.
 */
int ent_obj_rules_json(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                       json_t **out);

/*
 * What waits on this org: for every object this org is an active member
 * of, the approval steps it may give now and has not ([{"object","type",
 * "stage","step","to"}]). *out is a new reference.
 */
int ent_obj_inbox_json(ent_objects *eng, json_t **out);

/* Adds a comment (a comment op). @return as ent_obj_set. */
int ent_obj_comment(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                    const char *text, ent_op **op_out, char *err,
                    size_t errlen);

/*
 * Applies one op received from another node: decode, duplicate check,
 * signature, equivocation check, causal parents, the structure rules and
 * whether its author could ever make the change, both read from its causal
 * past (spec/membership.md "Structure", "Receipt"), decryption, body
 * checks, merge; committed in one transaction. Whether it then counts is
 * decided from the whole set of ops (spec/membership.md "Counting").
 * An op whose object, parents or epoch key are not known yet is held
 * (ENT_OK with info->pending) and retried after every later apply of that
 * object and every ent_obj_accept_keys(). info may be NULL.
 * @return ENT_OK (applied, duplicate or held), ENT_ECORRUPT / ENT_ENONCANON
 *         / ENT_ETRUNCATED / ENT_ETOOBIG / ENT_EVERSION (not an op;
 *         ENT_ECORRUPT also for a broken structure rule or epoch bound),
 *         ENT_EBADSIG, ENT_ENOTMEMBER, ENT_EDENIED, ENT_EDECRYPT,
 *         ENT_ECONFLICT (same author and sequence, other content: both kept
 *         as proof), ENT_EPROTO (HLC too far in the future), ENT_ELIMIT
 *         (pending table full), ENT_ENOMEM, storage errors.
 */
int ent_obj_apply(ent_objects *eng, const uint8_t *raw, size_t len,
                  ent_apply_info *info);

/*
 * Applies n ops in one write transaction. Each op is judged alone: a refused
 * op changes nothing, the others are still applied. infos (n entries) and
 * rcs (n entries, each as ent_obj_apply would return) may be NULL.
 * @return ENT_OK if the transaction committed (see rcs for each op), or a
 *         storage / memory error (nothing committed).
 */
int ent_obj_apply_batch(ent_objects *eng, const uint8_t *const *raws,
                        const size_t *lens, size_t n, ent_apply_info *infos,
                        int *rcs);

/* The body of an op, opened by the caller with one of this store's keys
 * of the op's epoch (ent_obj_epoch_keys, ent_op_open): body NULL when it
 * was not. */
typedef struct ent_obj_opened {
    const uint8_t *body;
    size_t len;
} ent_obj_opened;

/*
 * As ent_obj_apply_batch, but verified (n entries, may be NULL) marks ops
 * whose Ed25519 signature the caller has already checked on these exact
 * bytes (ent_op_decode + ent_op_verify, e.g. on the libuv thread pool,
 * node/peers/verify.h): the engine skips only that check for them and still does
 * every other one (duplicate, HLC, equivocation, parents, membership and
 * role, epoch key, decryption, body, merge). An op marked false is checked
 * in full, as by ent_obj_apply_batch, so a forged signature is refused and
 * counted as badsig. Marking an op true that was not verified breaks
 * invariant 3: only pass what ent_op_verify (or ent_op_authenticate)
 * accepted. opened (n entries, may be NULL) gives bodies the caller
 * already decrypted with keys this store holds: the engine then skips only
 * the decryption (every check before and after it still runs); an entry
 * without a body is decrypted by the engine.
 * @return as ent_obj_apply_batch.
 */
int ent_obj_apply_batch_ex(ent_objects *eng, const uint8_t *const *raws,
                           const size_t *lens, size_t n, const bool *verified,
                           const ent_obj_opened *opened, ent_apply_info *infos,
                           int *rcs);

/* An epoch key of an object, as the store holds it. */
typedef struct ent_obj_key {
    uint64_t epoch;
    uint8_t key[ENT_KEY_LEN];
} ent_obj_key;

/*
 * Copies every epoch key this node holds for obj (any order; none: *n = 0)
 * so that op bodies can be opened off the loop (node/peers/verify.h). Release
 * with ent_obj_keys_free(), which wipes them.
 * @return ENT_OK, ENT_ENOMEM, storage errors.
 */
int ent_obj_epoch_keys(ent_objects *eng, const uint8_t obj[32],
                       ent_obj_key **out, size_t *n);

/* Wipes and frees n keys from ent_obj_epoch_keys(). Accepts NULL. */
void ent_obj_keys_free(ent_obj_key *keys, size_t n);

/*
 * The object as JSON: {"id","type","epoch","status","members":[{"org",
 * "name","role","status"}],"shared":{...},"private":{...},"comments":[{
 * "org","name","time","text"}]}. Keys of "shared" and "private" are
 * sorted. A "name" is what the config's org_name callback knows, else null;
 * a comment's "time" is its HLC's wall clock as RFC 3339 (node/timefmt.h).
 * With hide_private the "private" key is left out entirely. The caller
 * json_decref()s *out.
 * @return ENT_OK, ENT_ENOENT, ENT_ENOMEM, ENT_ECORRUPT, storage errors.
 */
int ent_obj_show_json(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                      bool hide_private, json_t **out);

/*
 * The values of object id that access decisions read, inside the caller's
 * transaction txn: {"type","shared":{...},"private":{...}}, the maps as
 * ent_obj_show_json() has them (but a removed custom field shows as null,
 * not absent). The caller json_decref()s *out.
 * @return ENT_OK, ENT_ENOENT, ENT_ENOMEM, ENT_ECORRUPT, storage errors.
 */
int ent_obj_state_json_txn(ent_txn *txn, const uint8_t id[ENT_OBJ_ID_LEN],
                           json_t **out);

/* The engine's wall clock in ms since the epoch (its configured clock,
 * else the real one): the "today" of derived fields. */
uint64_t ent_obj_wall_ms(const ent_objects *eng);

/* Orders of ent_obj_list_json_ex(). */
typedef enum ent_obj_sort {
    ENT_OBJ_SORT_ID = 0, /* object id */
    ENT_OBJ_SORT_TITLE,  /* title text (byte order) */
    ENT_OBJ_SORT_STAGE,  /* the template's stage order, then stage text */
    ENT_OBJ_SORT_DATE,   /* date (YYYY-MM-DD) */
    ENT_OBJ_SORT_TYPE,   /* type name */
} ent_obj_sort;

/* What ent_obj_list_json_ex() lists; zeroed: everything, in id order. */
typedef struct ent_obj_list_opts {
    const char *type;   /* only objects of this type; NULL: any */
    const char *stage;  /* only objects at this stage (ASCII case ignored) */
    const char *prefix; /* only ids that start with these lowercase hex
                           digits (0..64 of them); NULL: any */
    ent_obj_sort sort;
    bool descending; /* reverse the order (rows without the key last) */
    size_t limit;    /* at most this many rows after sorting; 0: all */
    /* pagination: only ids after this one (id order, ascending only);
     * NULL: from the first. The next page starts after the last row. */
    const uint8_t *after;
} ent_obj_list_opts;

/*
 * The objects this node holds as a JSON array of {"id","type","epoch",
 * "status","title","stage","date"}: what tells objects apart. "title" is
 * the shared value of the first text field of the type's template (name,
 * company, account_name...), "date" that of its first date field
 * (close_date for an opportunity), "stage" the field stage; each is a
 * string, or null when unset or when this org has no template of the type.
 * Rows without the sort key come last whatever the direction; ties go in
 * id order. With after (sort by id, ascending) the scan starts right after
 * that id, so a page of limit rows costs limit rows, whatever the store
 * holds. The caller json_decref()s *out.
 * @return ENT_OK, ENT_EINVAL (bad prefix or sort, after with another
 *         order), ENT_ENOMEM,
 *         ENT_ECORRUPT, storage errors.
 */
int ent_obj_list_json_ex(ent_objects *eng, const ent_obj_list_opts *opts,
                         json_t **out);

/* ent_obj_list_json_ex() of one type (NULL: all), in id order. */
int ent_obj_list_json(ent_objects *eng, const char *type, json_t **out);

/*
 * Whether the op rows of object id in txn may be other than "seqs 1..last
 * of each author, one row each": an op of id was erased (its row is a
 * stub, spec/objects.md "Erasure") or an author equivocated in it (a second
 * version is kept). Two seeks, whatever the number of ops. *out is set on
 * ENT_OK. @return ENT_OK, ENT_EINVAL, storage errors.
 */
int ent_obj_ops_irregular(ent_txn *txn, const uint8_t id[ENT_OBJ_ID_LEN],
                          bool *out);

/*
 * The type name of object id, as its genesis op set it, copied
 * NUL-terminated into type, read inside the caller's transaction txn.
 * @return ENT_OK, ENT_ENOENT (no such object), ENT_ECORRUPT, storage errors.
 */
int ent_obj_type_get(ent_txn *txn, const uint8_t id[ENT_OBJ_ID_LEN],
                     char type[ENT_OP_NAME_MAX + 1]);

/*
 * The canonical encoding of the object's SHARED state (spec/objects.md
 * "Object state"): equal on every member that applied the same ops, whatever
 * the order. *out is malloc'ed; the caller frees it.
 */
int ent_obj_state_encode(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                         uint8_t **out, size_t *len);

/* The use of one MDF budget (spec/workflows.md §8), in minor units of its
 * currency, computed from the fund requests this node holds. */
typedef struct ent_budget_use {
    bool held;        /* this org is an active member of the budget here */
    bool complete;    /* this org owns the budget: every approval counted
                         against it was made here, so the figures are whole */
    bool owner_known; /* the node holds the budget's record */
    uint8_t owner[32];
    bool have_amount; /* the budget's amount is known (held, set) */
    char cur[4];      /* the budget's currency ("" when unknown) */
    int64_t amount, requested, approved, claimed, paid, left;
    size_t nrequests; /* requests linking the budget that this node holds */
    size_t nover;     /* approvals beyond what was left at their turn */
    size_t nforeign;  /* requests whose rules do not give the budget's owner
                         the approval: not counted */
} ent_budget_use;

/* One request of a budget, as ent_obj_budget_use() judged it (pointers
 * valid during the callback). */
typedef struct ent_budget_req {
    const uint8_t *id, *owner; /* the request; its owner (the partner) */
    const char *stage;
    const ent_value *requested, *approved, *claimed;
    bool counted; /* its rules give the budget's owner the approval */
    bool within;  /* its approval is counted (within the budget) */
    bool over;    /* its approval came when the budget had less left */
    /* what it adds to the budget's figures, in minor units of cur (the
     * budget's currency): the one definition the report sums */
    const char *cur;
    int64_t add_requested, add_approved, add_claimed, add_paid;
} ent_budget_req;

typedef int (*ent_budget_req_fn)(void *data, const ent_budget_req *r);

/*
 * Computes the use of budget (an mdf_budget's id) in the caller's read or
 * write transaction: requested, approved, claimed, paid and left over the
 * mdf_request objects this node holds whose field budget links it (skip:
 * one to leave out, may be NULL), approvals counted in the order of their
 * amount_approved write's order key (spec/workflows.md §8). fn (may be
 * NULL) is called for each request in that order.
 * @return ENT_OK, fn's error, ENT_ENOMEM, storage errors.
 */
int ent_obj_budget_use(ent_txn *txn, const uint8_t me[32],
                       const uint8_t budget[ENT_OBJ_ID_LEN],
                       const uint8_t *skip, ent_budget_use *u,
                       ent_budget_req_fn fn, void *data);

/*
 * The MDF claims that wait on this org (spec/workflows.md §5, §8): the
 * mdf_request objects at stage Claimed whose rules name this org as the
 * one that writes amount_approved: [{"object","name","claimed",
 * "approved","proof_of_performance"}]. The caller json_decref()s *out.
 * @return ENT_OK, ENT_ENOMEM, storage errors.
 */
int ent_obj_claims_json(ent_objects *eng, json_t **out);

/*
 * Converts lead (an object of type lead) into a new object of type to
 * (only "opportunity"): the opportunity is created, owned by this org,
 * with the lead's mapped fields (spec/objects.md "Converting a lead") and
 * the ref field lead naming it; then the lead gets the ref field
 * converted_to naming the opportunity and status and stage Converted.
 * The two ops (*create_out, *set_out) are the caller's to send and free
 * (ent_op_free). The opportunity has this org as its only member.
 * @return ENT_OK, ENT_ENOENT (no lead), ENT_EINVAL (not a lead, another
 *         target type), ENT_EDENIED (not an active member of the lead, or a
 *         rule refused), the errors of ent_obj_create and ent_obj_set; err
 *         says why. When the create worked and the set failed, id_out and
 *         *create_out are set and err says so.
 */
int ent_obj_convert(ent_objects *eng, const uint8_t lead[ENT_OBJ_ID_LEN],
                    const char *to, uint8_t id_out[ENT_OBJ_ID_LEN],
                    ent_op **create_out, ent_op **set_out, char *err,
                    size_t errlen);

/*
 * Adds org as a member with role (admin, member or viewer); owner/admin
 * only. The op carries every epoch key this node holds for the object (one
 * per epoch: the current choice) sealed to org's X25519 key; the same boxes
 * are returned in *boxes (malloc'ed, *nboxes entries, the caller frees) for
 * the join flow, because the joiner cannot decrypt the add op itself.
 * @return ENT_OK, ENT_ENOENT, ENT_EDENIED, ENT_EINVAL (bad role, org is the
 *         owner), ENT_EEXIST (already an active member), ENT_ECRYPTO (org
 *         key is not a valid point), ENT_ENOMEM, storage errors.
 */
int ent_obj_add_member(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                       const uint8_t org[ENT_PK_LEN], uint8_t role,
                       ent_op **op_out, ent_op_epoch_key **boxes,
                       size_t *nboxes);

/*
 * As ent_obj_add_member, but inside the caller's write transaction txn, so
 * that the add commits or aborts together with the caller's other writes
 * (the join flow redeems the invite in the same transaction,
 * spec/invites.md section 7). The op's rows and its activity-log entries
 * (op_authored, member_added) are written in txn; nothing is written
 * elsewhere. *op_out and *boxes are fresh on every call and owned by the
 * caller from the return on, whatever becomes of txn: a function run by
 * ent_store_write, which may run again after growing the map, frees what
 * an earlier attempt handed out before calling again. On an error *op_out
 * and *boxes are NULL and txn must be aborted (some writes may be done).
 * @return as ent_obj_add_member (ENT_EINVAL also for a NULL txn).
 */
int ent_obj_add_member_txn(ent_objects *eng, ent_txn *txn,
                           const uint8_t id[ENT_OBJ_ID_LEN],
                           const uint8_t org[ENT_PK_LEN], uint8_t role,
                           ent_op **op_out, ent_op_epoch_key **boxes,
                           size_t *nboxes);

/*
 * Joiner side: opens boxes sealed to this org and stores the epoch keys, so
 * that the object's ops (starting with its genesis) can be applied; then
 * retries held ops of the object. @return ENT_OK, ENT_EDECRYPT (a box does
 * not open), ENT_EINVAL, storage errors.
 */
int ent_obj_accept_keys(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                        const ent_op_epoch_key *boxes, size_t n);

/*
 * Removes org (owner/admin; never the owner). The op is encrypted under the
 * current epoch key and carries a fresh key for epoch + 1 sealed to each
 * remaining active member. @return ENT_OK, ENT_ENOENT, ENT_EDENIED,
 * ENT_ENOTMEMBER (org is not an active member), ENT_ENOMEM, storage errors.
 */
int ent_obj_remove_member(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                          const uint8_t org[ENT_PK_LEN], ent_op **op_out);

/*
 * This org leaves the object on its own (any role but the owner): a
 * remove_member op naming itself, sealed and sent like a removal. Its
 * author being gone, the key it makes is never used; the lowest active
 * owner/admin that applies it rotates the key (info->rotate_needed), so
 * the leaver reads nothing written after (spec/membership.md "Leaving").
 * This node marks the object removed. @return ENT_OK, ENT_ENOENT (no
 * object), ENT_EDENIED (the owner), ENT_ENOTMEMBER (not an active
 * member), ENT_ENOMEM, storage errors.
 */
int ent_obj_leave(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                  ent_op **op_out);

/*
 * Moves the object to a fresh epoch (the current epoch + 1) whose key is
 * sealed to exactly the current active members (owner/admin only).
 * @return as ent_obj_remove_member.
 */
int ent_obj_rotate_key(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                       ent_op **op_out);

/*
 * What org, removed from id, may still be sent (spec/gossip.md §11): the
 * version vector of the causal past of its removal, the removal included
 * (the union over the causally maximal counting remove_member ops that
 * target org), as *n entries author (32) || seq (u64 big-endian),
 * ascending by author. *vv is malloc'ed; the caller frees it.
 * @return ENT_OK; ENT_ENOENT (org is not removed: no counting removal of
 *         it, or a counting add follows every one); ENT_EINVAL; storage
 *         errors; ENT_ENOMEM.
 */
int ent_obj_removal_vv(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                       const uint8_t org[ENT_PK_LEN], uint8_t **vv, size_t *n);

/*
 * Calls fn for every op this node stores for object id, in (author, seq)
 * order (the raw bytes are valid during the call); erased ops (stubs,
 * spec/objects.md "Erasure") are skipped. For sync and tests.
 */
int ent_obj_ops_foreach(ent_objects *eng, const uint8_t id[ENT_OBJ_ID_LEN],
                        int (*fn)(void *data, const uint8_t *raw, size_t len),
                        void *data);

/* ---- reading many objects inside one read transaction (reports) ---------
 * Implemented in object_scan.c. Every pointer handed to a callback is
 * valid until the callback returns; callbacks return 0 to go on, > 0 to
 * stop (the scan returns ENT_OK), < 0 to fail with that error. */

/* What ent_obj_scan() tells about one object. */
typedef struct ent_obj_info {
    const uint8_t *id;                /* 32 bytes */
    char type[ENT_OP_NAME_MAX + 1];   /* from the genesis op */
    bool active;                      /* this org is still a member */
    const uint8_t *owner;             /* 32 bytes: the genesis author */
    uint64_t created_ms;              /* wall clock of the genesis HLC */
} ent_obj_info;

/*
 * Calls fn for every object this node holds, in id order, starting after
 * id after (NULL: from the first); type NULL: every type.
 * @return ENT_OK, ENT_ECORRUPT, fn's error, storage errors.
 */
int ent_obj_scan(ent_txn *txn, const char *type,
                 const uint8_t after[ENT_OBJ_ID_LEN],
                 int (*fn)(void *data, const ent_obj_info *o), void *data);

/*
 * Calls fn for every stored field of obj: first the shared ones (priv
 * false; the merged winner, null when cleared), in name byte order, then,
 * when with_private, this org's private ones (priv true). blob is the
 * value's encoding: ent_obj_value_decode() reads it, so a caller decodes
 * only what it needs.
 */
int ent_obj_fields_scan(ent_txn *txn, const uint8_t obj[ENT_OBJ_ID_LEN],
                        bool with_private,
                        int (*fn)(void *data, const char *name, size_t nlen,
                                  bool priv, const uint8_t *blob,
                                  size_t blen),
                        void *data);

/*
 * A cursor over every row of the shared fields (priv false) or of this
 * org's private fields (priv true) of every object, in (object id, name)
 * order: a report walks the objects and both field tables side by side
 * (a merge by id) instead of one scan per object. The caller frees it
 * with ent_obj_fields_iter_free() before txn ends.
 * @return ENT_OK, ENT_EINVAL, ENT_ENOMEM, storage errors.
 */
typedef struct ent_obj_fields_iter ent_obj_fields_iter;
int ent_obj_fields_iter_open(ent_txn *txn, bool priv,
                             ent_obj_fields_iter **out);

/*
 * The next row: obj (32 bytes), name (nlen bytes, no NUL) and blob (as
 * for ent_obj_fields_scan()) are valid until the transaction ends.
 * @return ENT_OK, ENT_ENOENT after the last row, ENT_ECORRUPT, storage
 * errors.
 */
int ent_obj_fields_iter_next(ent_obj_fields_iter *f, const uint8_t **obj,
                             const char **name, size_t *nlen,
                             const uint8_t **blob, size_t *blen);

/* Closes f. Accepts NULL. */
void ent_obj_fields_iter_free(ent_obj_fields_iter *f);

/* Decodes a value blob of ent_obj_fields_scan() or
 * ent_obj_field_history() into *v (the caller clears it).
 * @return ENT_OK, ENT_ECORRUPT, ENT_ENOMEM. */
int ent_obj_value_decode(const uint8_t *blob, size_t len, ent_value *v);

/*
 * Calls fn for every write of shared field name of obj that this node
 * stores (those of ops that no longer count included), in the order of
 * their order key (HLC, author, op id): ms is the write's HLC wall clock.
 * Complete for `stage`, for fields with owner-only writes and for objects
 * with workflow rules; a plain field's writes may be pruned (schema 4,
 * spec/storage.md "Pruned field writes") and are then not listed.
 */
int ent_obj_field_history(ent_txn *txn, const uint8_t obj[ENT_OBJ_ID_LEN],
                          const char *name,
                          int (*fn)(void *data, uint64_t ms,
                                    const uint8_t *blob, size_t blen),
                          void *data);

#endif
