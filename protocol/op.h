/*
 * op.h - the signed op record: one change to the shared state of a joint
 * object (spec/records.md, "The op record").
 *
 * An op is a deterministic CBOR array [header, nonce, ciphertext, signature].
 * The header is in clear (object, author, sequence, HLC, parents, epoch,
 * kind); the body is deterministic CBOR sealed with XChaCha20-Poly1305 under
 * the object's epoch key with the encoded header as associated data; the
 * author signs (context ENT_SIGCTX_OP) the encoding of header, nonce and
 * ciphertext; the op id is BLAKE2b-256 of the whole encoding. One op has
 * exactly one encoding: decoding rejects anything non-canonical.
 */
#ifndef ENT_OP_H
#define ENT_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "protocol/value.h"

#define ENT_OP_VERSION 1
#define ENT_OP_MAX_SIZE 65000   /* bytes of one op encoding: fits one OPS
                                   frame (protocol/wire.h allows 65,479) */
#define ENT_OP_MAX_PARENTS 16   /* causal parents of one op */
#define ENT_OP_MAX_FIELDS 256   /* fields of one create/set body */
#define ENT_OP_MAX_KEYS 256     /* sealed keys of one membership body */
#define ENT_OP_NAME_MAX 64      /* bytes of a field name, type or stage */
#define ENT_OP_RULES_MAX 4096  /* bytes of the rules an op carries (the
                                  encoding is spec/workflows.md's) */
#define ENT_OP_ERASE_MAX 1024 /* op ids one erase op names */
#define ENT_OP_FILE_NAME_MAX 128 /* bytes of an attachment's name */
#define ENT_OP_FILE_MAX ((uint64_t)25 << 20) /* bytes of an attachment */
#define ENT_OP_CHUNK 49152 /* plaintext bytes of a chunk (the last: fewer) */
#define ENT_OP_CHUNKS_MAX 534 /* chunks of a 25 MiB file */
#define ENT_OP_BOX_LEN (ENT_KEY_LEN + ENT_SEAL_OVERHEAD) /* 80: sealed key */

typedef enum ent_op_kind {
    ENT_OP_CREATE = 0,
    ENT_OP_SET = 1,
    ENT_OP_ADD_MEMBER = 2,
    ENT_OP_REMOVE_MEMBER = 3,
    ENT_OP_ROTATE_KEY = 4,
    ENT_OP_STAGE = 5,
    ENT_OP_COMMENT = 6,
    ENT_OP_APPROVE = 7, /* an approval or rejection of a workflow step */
    ENT_OP_RULES = 8,   /* new workflow rules (spec/workflows.md) */
    ENT_OP_ERASE = 9,   /* erase a field or the whole object (spec/objects.md
                           "Erasure") */
    ENT_OP_ATTACH = 10, /* an attachment's manifest (spec/objects.md
                           "Attachments") */
    ENT_OP_KIND__COUNT
} ent_op_kind;

typedef enum ent_op_role {
    ENT_ROLE_OWNER = 0,
    ENT_ROLE_ADMIN = 1,
    ENT_ROLE_MEMBER = 2,
    ENT_ROLE_VIEWER = 3,
    ENT_ROLE__COUNT
} ent_op_role;

typedef struct ent_op_header {
    uint8_t version;    /* ENT_OP_VERSION */
    uint8_t object[32]; /* object id; all zero (and absent on the wire) when
                           genesis: the object id is then the op's own id */
    bool genesis;       /* true exactly for kind ENT_OP_CREATE */
    uint8_t author[32]; /* author org's Ed25519 public key */
    uint64_t seq;       /* author's sequence in this object, from 1 */
    uint64_t hlc;       /* 48-bit ms wall clock << 16 | 16-bit counter */
    uint8_t parents[ENT_OP_MAX_PARENTS][32]; /* sorted ascending, unique */
    size_t nparents;    /* 0 for genesis */
    uint64_t epoch;
    uint8_t kind;       /* ent_op_kind */
} ent_op_header;

typedef struct ent_op {
    ent_op_header h;
    uint8_t nonce[ENT_AEAD_NONCE_LEN];
    const uint8_t *ct; /* ciphertext (body + 16-byte tag); points into raw */
    size_t ctlen;
    uint8_t sig[ENT_SIG_LEN];
    uint8_t id[ENT_HASH_LEN]; /* BLAKE2b-256 of raw */
    uint8_t *raw;             /* the exact encoding; owned by the op */
    size_t rawlen;
    size_t hdr_off, hdr_len;  /* the encoded header inside raw (the AEAD
                                 associated data) */
    size_t signed_len;        /* raw[1 .. 1 + signed_len) is signed */
} ent_op;

/*
 * Encrypts body under key with the encoded header as associated data, signs
 * with id (whose public key must equal h->author) and encodes. h must be
 * valid: version 1, a known kind, genesis exactly when kind is create (then
 * no parents), seq >= 1, parents sorted and unique.
 * @param[out] out  the new op; free with ent_op_free().
 * @return ENT_OK, ENT_EINVAL, ENT_EVERSION, ENT_ETOOBIG (encoding above
 *         ENT_OP_MAX_SIZE), ENT_ENOMEM, ENT_ECRYPTO.
 */
int ent_op_seal(ent_op **out, const ent_op_header *h, const uint8_t *body,
                size_t blen, const uint8_t key[ENT_KEY_LEN],
                const ent_identity *id);

/*
 * Checks that buf is one canonical op within the limits and parses it. Does
 * NOT verify the signature (ent_op_verify) nor decrypt (ent_op_open). The op
 * owns a copy of buf; buf may be freed afterwards.
 * @return ENT_OK, ENT_ETOOBIG, ENT_ENONCANON, ENT_ETRUNCATED, ENT_ECORRUPT
 *         (not an op: wrong shape, sizes, unsorted parents...),
 *         ENT_EVERSION (version other than 1, or an unknown kind),
 *         ENT_ENOMEM.
 */
int ent_op_decode(ent_op **out, const uint8_t *buf, size_t len);

/*
 * Re-encodes op from its fields (not from raw) into a fresh buffer that the
 * caller frees with free(). For a decoded op the result equals op->raw.
 * @return ENT_OK, ENT_EINVAL, ENT_ETOOBIG, ENT_ENOMEM.
 */
int ent_op_encode(const ent_op *op, uint8_t **out, size_t *len);

/* Verifies the signature by op->h.author. @return ENT_OK or ENT_EBADSIG. */
int ent_op_verify(const ent_op *op);

/*
 * Authenticates a set of decoded ops with as few signature checks as their
 * chains allow (spec/records.md §2.5): an op is authentic when its own
 * signature verifies, or when an authentic op of the same author and
 * object, with a higher seq, names it among its parents (that op's signed
 * header commits to the parent's id, the BLAKE2b-256 of its whole
 * encoding). A backlog of one author's ops in one object therefore costs
 * one signature check, of its newest op. ops[i] may be NULL (op i did not
 * decode: rcs[i] is left alone); for every other op rcs[i] becomes ENT_OK
 * or ENT_EBADSIG. The order of ops does not matter.
 * @param[out] nchecks  signature checks made (may be NULL)
 * @return ENT_OK, or ENT_ENOMEM (rcs untouched).
 */
int ent_op_authenticate(ent_op *const *ops, size_t n, int *rcs,
                        size_t *nchecks);

/*
 * Decrypts the body. On ENT_OK *body is a malloc'ed buffer of *blen bytes
 * (at least one byte is allocated) that the caller wipes if it must and
 * frees with free(). @return ENT_OK, ENT_EDECRYPT, ENT_ENOMEM.
 */
int ent_op_open(const ent_op *op, const uint8_t key[ENT_KEY_LEN],
                uint8_t **body, size_t *blen);

/* Frees op and everything it owns. Accepts NULL. */
void ent_op_free(ent_op *op);

/* ------------------------------------------------------------------ bodies */

typedef struct ent_op_field {
    char name[ENT_OP_NAME_MAX + 1]; /* shared field name, NUL-terminated */
    ent_value v;                    /* text/enum strings owned by the body */
    bool owner_only; /* the writer's template marks the field owner-only:
                        encoded as a third value item (spec/records.md) */
} ent_op_field;

/* An epoch key sealed to the new member (add_member). */
typedef struct ent_op_epoch_key {
    uint64_t epoch;
    uint8_t box[ENT_OP_BOX_LEN];
} ent_op_epoch_key;

/* The new epoch key sealed to one remaining member (remove, rotate). */
typedef struct ent_op_member_key {
    uint8_t org[ENT_PK_LEN];
    uint8_t box[ENT_OP_BOX_LEN];
} ent_op_member_key;

/*
 * The plaintext of an op, by kind. Only the members that the kind uses are
 * encoded; the others must be zero/NULL when encoding and are zero after
 * decoding. Arrays and strings are owned by the body and released by
 * ent_op_body_clear() (which assumes they came from malloc).
 */
typedef struct ent_op_body {
    uint8_t kind; /* ent_op_kind */
    /* create: type; create, set: fields (any order; encoded sorted) */
    char type[ENT_OP_NAME_MAX + 1];
    ent_op_field *fields;
    size_t nfields;
    /* add_member, remove_member: the org; add_member: its role */
    uint8_t org[ENT_PK_LEN];
    uint8_t role;
    ent_op_epoch_key *ekeys; /* add_member */
    size_t nekeys;
    /* remove_member, rotate_key: the new epoch and its sealed keys */
    uint64_t epoch;
    ent_op_member_key *mkeys;
    size_t nmkeys;
    /* stage, comment; approve: the comment (may be empty) */
    char *text; /* NUL-terminated UTF-8 */
    size_t textlen;
    /* approve: the step and the decision (0 approve, 1 reject) */
    char step[ENT_OP_NAME_MAX + 1];
    uint8_t decision;
    /* create (optional), rules: the workflow rules, opaque here: 1 ..
     * ENT_OP_RULES_MAX bytes that node/work decodes (spec/workflows.md) */
    uint8_t *rules;
    size_t ruleslen;
    /* erase: the shared field erased ("" : the whole object) and the ids
     * of the ops erased, 32 bytes each, ascending and unique, 1 ..
     * ENT_OP_ERASE_MAX of them */
    char field[ENT_OP_NAME_MAX + 1];
    uint8_t *erased;
    size_t nerased;
    /* attach: the file's name (1 .. ENT_OP_FILE_NAME_MAX bytes, no '/',
     * NUL or control character), size (1 .. ENT_OP_FILE_MAX), BLAKE2b-256
     * of its bytes, and the BLAKE2b-256 of each sealed chunk, in file
     * order: ceil(size / ENT_OP_CHUNK) of them */
    char fname[ENT_OP_FILE_NAME_MAX + 1];
    uint64_t fsize;
    uint8_t fhash[32];
    uint8_t *chunks; /* nchunks * 32 bytes */
    size_t nchunks;
} ent_op_body;

/* Whether s (len bytes) is a valid attachment name. */
bool ent_op_file_name_valid(const char *s, size_t len);

/*
 * Encodes b (validating names, values and counts) into a malloc'ed buffer
 * that the caller frees with free(). @return ENT_OK, ENT_EINVAL (bad kind,
 * name, value, duplicate field name...), ENT_ETOOBIG, ENT_ENOMEM.
 */
int ent_op_body_encode(const ent_op_body *b, uint8_t **out, size_t *len);

/*
 * Decodes the body of an op of the given kind into *b, which is overwritten
 * (not freed) first; on failure *b is left cleared. Release with
 * ent_op_body_clear(). @return ENT_OK, ENT_ENONCANON, ENT_ETRUNCATED,
 * ENT_ETOOBIG, ENT_ECORRUPT, ENT_EVERSION (unknown kind), ENT_ENOMEM.
 */
int ent_op_body_decode(ent_op_body *b, uint8_t kind, const uint8_t *buf,
                       size_t len);

/* ------------------------------------------------------------ erased ops */

/*
 * What stays of an op whose body an erase op dropped (spec/records.md
 * "Erased op record"): the deterministic CBOR array [op id, erase op id,
 * object, author, kind, seq, hlc] (7 items; an op is a 4-item array).
 * The audit export carries it in place of the op.
 */
typedef struct ent_op_erased {
    uint8_t id[32];
    uint8_t eraser[32];
    uint8_t object[32];
    uint8_t author[32];
    uint8_t kind;
    uint64_t seq;
    uint64_t hlc;
} ent_op_erased;

#define ENT_OP_ERASED_MAX 160 /* bytes of one encoding, at most */

/* An erased op's row in the `ops` table (spec/storage.md): 0x00 || op id
 * (32) || erase op id (32) || author (32) || kind (1) || seq (u64 BE) ||
 * hlc (u64 BE), 114 bytes; an op encoding starts with 0x84 instead. */
#define ENT_OP_STUB_LEN 114
bool ent_op_is_stub(const void *val, size_t len);
/* The stub of e (e->object is not stored: the row key holds it). */
void ent_op_stub_make(const ent_op_erased *e, uint8_t out[ENT_OP_STUB_LEN]);
/* The record of a stub row of object obj. @return ENT_OK, ENT_ECORRUPT. */
int ent_op_stub_read(const void *val, size_t len, const uint8_t obj[32],
                     ent_op_erased *out);

/* Encodes e into out (ENT_OP_ERASED_MAX bytes). @return ENT_OK, ENT_EINVAL
 * (unknown kind). */
int ent_op_erased_encode(const ent_op_erased *e, uint8_t *out, size_t *len);
/* Decodes one canonical record, nothing after it. @return ENT_OK,
 * ENT_ETOOBIG, ENT_ENONCANON, ENT_ETRUNCATED, ENT_ECORRUPT. */
int ent_op_erased_decode(ent_op_erased *e, const uint8_t *buf, size_t len);

/* Frees what b owns and zeroes it. Accepts a zeroed body. */
void ent_op_body_clear(ent_op_body *b);

#endif
