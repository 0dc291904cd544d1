/*
 * invite.h - invite tokens, join proofs, invite records and safety codes.
 *
 * An invite lets one partner org join one joint object. The inviter prints a
 * single-line token ("ent1" + lowercase base32, spec/invites.md) that carries
 * its org key, the object and (payload version 2) its type, the role, the
 * expiry, a 16-byte invite id, a 32-byte one-time secret and the addresses to
 * dial. The joiner dials, runs the Noise handshake and sends JOIN with a
 * 32-byte proof computed by ent_invite_proof(): it is bound to the session's
 * handshake hash and to the joiner's org key, so a captured proof is useless in
 * any other session.
 *
 * The inviter keeps only a public verifier of the secret in ENT_TBL_INVITES
 * (never the secret, never a symmetric key derived from it alone): checking a
 * proof also needs the inviter's own X25519 identity key, which lives in the
 * key file and not in the database, so a stolen database cannot redeem
 * invites. The record functions take an ent_txn so the caller commits them
 * together with its other writes (e.g. the add_member op) in one transaction.
 */
#ifndef ENT_INVITE_H
#define ENT_INVITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "storage/store.h"

#define ENT_INVITE_VERSION 2   /* payload version of new tokens */
#define ENT_INVITE_VERSION_1 1 /* older payload: no object type */
/* text form, for every payload version: prefix + base32(payload) */
#define ENT_INVITE_PREFIX "ent1"
#define ENT_INVITE_ID_LEN 16 /* = ENT_WIRE_INVITE_ID_LEN */
#define ENT_INVITE_SECRET_LEN 32
#define ENT_INVITE_PROOF_LEN 32  /* = the JOIN message's proof */
#define ENT_INVITE_OBJECT_LEN 32 /* object id */
#define ENT_INVITE_MAX_ADDRS 8
#define ENT_INVITE_MAX_ADDR_LEN 64 /* "host:port", bytes, without NUL */
#define ENT_INVITE_CHECKSUM_LEN 8
#define ENT_INVITE_MAX_TEXT 2048   /* longest input, whitespace included */
#define ENT_INVITE_MAX_TYPE_LEN 32 /* = ENT_TPL_TYPE_MAX (node/objects) */

/* Roles an invite can grant (the values of ent_op_role in protocol/op.h;
 * owner (0) is never invitable). */
#define ENT_INVITE_ROLE_ADMIN 1
#define ENT_INVITE_ROLE_MEMBER 2
#define ENT_INVITE_ROLE_VIEWER 3
/* A partnership invite (spec/overlap.md §3): role 4, object all zeros,
 * type "partnership"; redeeming it joins no object and records consent. */
#define ENT_INVITE_ROLE_PARTNER 4
#define ENT_INVITE_PARTNER_TYPE "partnership"

/* --ttl bounds and default, in seconds. */
#define ENT_DURATION_MIN 1
#define ENT_DURATION_MAX (90ull * 24 * 3600)
#define ENT_INVITE_DEFAULT_TTL (7ull * 24 * 3600)

/* "12345 67890 12345 67890 12345 67890": 6 groups of 5 digits. */
#define ENT_SAFETY_CODE_LEN 35

/*
 * The content of an invite token. A plain value: the caller owns it and
 * wipes the secret with ent_invite_clear() when done.
 */
typedef struct ent_invite {
    uint8_t version; /* ENT_INVITE_VERSION or ENT_INVITE_VERSION_1 */
    uint8_t inviter[ENT_PK_LEN];           /* inviter org Ed25519 key */
    uint8_t object[ENT_INVITE_OBJECT_LEN]; /* joint object id */
    /* The object's type name as the inviter states it (a claim: the joiner
     * learns the real one from the object's genesis), NUL-terminated;
     * "" in a version-1 invite, which does not carry it. */
    char type[ENT_INVITE_MAX_TYPE_LEN + 1];
    uint8_t role;                          /* ENT_INVITE_ROLE_* */
    uint64_t expiry;                       /* unix seconds */
    uint8_t id[ENT_INVITE_ID_LEN];         /* random invite id */
    uint8_t secret[ENT_INVITE_SECRET_LEN]; /* random one-time secret */
    uint8_t n_addrs;                       /* 1..ENT_INVITE_MAX_ADDRS */
    char addrs[ENT_INVITE_MAX_ADDRS][ENT_INVITE_MAX_ADDR_LEN + 1];
} ent_invite;

/*
 * What the inviter stores about an invite (without its secret verifier),
 * as returned by redeem and list.
 */
typedef struct ent_invite_record {
    uint8_t id[ENT_INVITE_ID_LEN];
    uint8_t object[ENT_INVITE_OBJECT_LEN];
    uint8_t role;
    uint64_t expiry;  /* unix seconds */
    uint64_t created; /* unix seconds */
    bool used;
    uint64_t used_at;            /* 0 while unused */
    uint8_t used_by[ENT_PK_LEN]; /* joiner org; zeros while unused */
} ent_invite_record;

/*
 * Starts a fresh invite: zeroes inv, sets the version, inviter, object,
 * object type, role and expiry, and draws a random id and secret. Add at
 * least one address with ent_invite_add_addr() before encoding. type is the
 * object's type name (copied); NULL makes a version-1 invite, which carries
 * no type (kept so that older tokens can be made again, in tests).
 * @return ENT_OK, or ENT_EINVAL (NULL pointers, role not admin/member/viewer,
 *         type not a valid type name, see ent_invite_type_valid).
 */
int ent_invite_init(ent_invite *inv, const uint8_t inviter[ENT_PK_LEN],
                    const uint8_t object[ENT_INVITE_OBJECT_LEN],
                    const char *type, uint8_t role, uint64_t expiry);

/*
 * True if the len bytes at s are a valid object type name, the rule of
 * ent_template_type_valid() (node/objects/template.h): 1..32 bytes, a
 * lowercase letter, then lowercase letters, digits and '_'.
 */
bool ent_invite_type_valid(const char *s, size_t len);

/*
 * Appends addr ("host:port", NUL-terminated) to inv's addresses.
 * @return ENT_OK, ENT_EINVAL (bad syntax, see ent_invite_addr_valid),
 *         ENT_ELIMIT (already ENT_INVITE_MAX_ADDRS addresses).
 */
int ent_invite_add_addr(ent_invite *inv, const char *addr);

/*
 * True if the len bytes at s are a valid "host:port": port 1..65535 in
 * decimal without leading zeros; host an IPv4 address, an IPv6 address in
 * brackets, or a DNS name (labels of letters, digits and '-', 1..63 bytes,
 * not starting or ending with '-'); at most ENT_INVITE_MAX_ADDR_LEN bytes.
 */
bool ent_invite_addr_valid(const char *s, size_t len);

/* Wipes the whole invite, secret included. Accepts NULL. */
void ent_invite_clear(ent_invite *inv);

/*
 * Encodes inv as a NUL-terminated single-line token into *out, which the
 * caller frees with free() (it holds the secret: wipe it first with
 * ent_wipe(*out, strlen(*out))).
 * The payload layout follows inv->version: version 2 carries inv->type,
 * version 1 (with an empty type) does not, so a parsed token of either
 * version encodes back to the same text.
 * @return ENT_OK, ENT_EINVAL (bad version, role, address count, address or
 *         type), ENT_ENOMEM.
 */
int ent_invite_token_encode(const ent_invite *inv, char **out);

/*
 * Parses a token (len bytes at s, not necessarily NUL-terminated). Leading
 * and trailing whitespace (space, tab, CR, LF) is ignored. Does not look at
 * the expiry: see ent_invite_check_expiry(). On error *out is wiped.
 * @return ENT_OK, or
 *         ENT_ETOOBIG   more than ENT_INVITE_MAX_TEXT bytes;
 *         ENT_EINVAL    not an invite token (no "ent" prefix) or NULL args;
 *         ENT_EVERSION  "entN" with N != 1, or a payload version other
 *                       than 1 and 2;
 *         ENT_ECORRUPT  not strict lowercase base32, bad field (role, address
 *                       count, address syntax, type length or name), or
 *                       trailing bytes;
 *         ENT_ETRUNCATED too short for a checksum and version, or for the
 *                       fixed fields;
 *         ENT_ECHECKSUM the checksum does not match (typing error).
 */
int ent_invite_token_parse(const char *s, size_t len, ent_invite *out);

/* What a person is told when ent_invite_token_parse() returns rc ("the
 * token has a typo (checksum mismatch): copy it again"). Static text. */
const char *ent_invite_parse_error(int rc);

/* @return ENT_OK, or ENT_EEXPIRED if now >= inv->expiry. */
int ent_invite_check_expiry(const ent_invite *inv, uint64_t now);

/*
 * What a token holds, for a person to look at before joining (`entente
 * invite inspect --json`, POST /v1/join/preview): {"object" (64 hex),
 * "type" (null in a version-1 token), "inviter" (org id), "role" (owner,
 * admin, member, viewer; "?" for another), "expires" (RFC 3339),
 * "expired" (at now, seconds), "addrs" ([HOST:PORT]), "invite_id" (32
 * hex)}. NULL when out of memory.
 */
struct json_t;
struct json_t *ent_invite_describe(const ent_invite *inv, uint64_t now);

/*
 * Joiner side: the 32-byte JOIN proof for inv in the session whose Noise
 * handshake hash is handshake_hash, sent by org joiner_org_pk (the joiner's
 * own org key, the one it proved in the handshake).
 * @return ENT_OK, ENT_EINVAL, ENT_ECRYPTO (inviter key in the token is not a
 *         usable Ed25519 point).
 */
int ent_invite_proof(uint8_t out[ENT_INVITE_PROOF_LEN], const ent_invite *inv,
                     const uint8_t handshake_hash[ENT_HASH_LEN],
                     const uint8_t joiner_org_pk[ENT_PK_LEN]);

/*
 * Inviter side: stores the record of inv (issued at now) in ENT_TBL_INVITES
 * under its id: object, role, expiry, created, unused, and the secret's
 * public verifier (never the secret).
 * @return ENT_OK, ENT_EINVAL (bad role, expiry <= now), ENT_EEXIST (id
 *         taken), store errors.
 */
int ent_invite_record_put(ent_txn *txn, const ent_invite *inv, uint64_t now);

/*
 * Inviter side: redeems invite id for org joiner_org_pk, which sent proof in
 * the session with handshake hash handshake_hash. inviter is this node's
 * identity (its X25519 key takes part in the proof check). Checks, in this
 * order: the record exists (ENT_ENOENT), now < expiry (ENT_EEXPIRED), unused
 * (ENT_EUSED), proof (ENT_EDENIED, constant-time). On success marks the
 * record used by joiner_org_pk at now, in txn, and copies it (used) to *out
 * (out may be NULL). Any failure writes nothing.
 * @return the codes above, ENT_ECORRUPT (unreadable record), ENT_EINVAL,
 *         store errors.
 */
int ent_invite_redeem(ent_txn *txn, const uint8_t id[ENT_INVITE_ID_LEN],
                      const uint8_t proof[ENT_INVITE_PROOF_LEN],
                      const uint8_t handshake_hash[ENT_HASH_LEN],
                      const uint8_t joiner_org_pk[ENT_PK_LEN],
                      const ent_identity *inviter, uint64_t now,
                      ent_invite_record *out);

/* Reads the record of invite id. @return ENT_OK, ENT_ENOENT, ENT_ECORRUPT. */
int ent_invite_record_get(ent_txn *txn, const uint8_t id[ENT_INVITE_ID_LEN],
                          ent_invite_record *out);

/*
 * Calls fn(data, rec) for every stored invite in id order; rec is valid
 * during the call. fn returns 0 to go on, > 0 to stop, < 0 to stop with
 * that error. @return ENT_OK, fn's error, ENT_ECORRUPT.
 */
int ent_invite_list(ent_txn *txn,
                    int (*fn)(void *data, const ent_invite_record *rec),
                    void *data);

/*
 * Deletes an unused invite so it can never be redeemed.
 * @return ENT_OK, ENT_ENOENT, ENT_EUSED (already redeemed: kept as history).
 */
int ent_invite_revoke(ent_txn *txn, const uint8_t id[ENT_INVITE_ID_LEN]);

/*
 * Parses a --ttl duration: decimal digits with an optional unit s, m, h or d
 * ("90s", "15m", "2h", "7d", "3600" = seconds). Bounds: ENT_DURATION_MIN ..
 * ENT_DURATION_MAX. @return ENT_OK, ENT_EINVAL (syntax, zero), ENT_ETOOBIG
 * (over 90 days or overflow). *seconds is set only on success.
 */
int ent_duration_parse(const char *s, uint64_t *seconds);

/*
 * The safety code of two org keys, the same whichever order they are given
 * in: BLAKE2b-256 of a domain prefix and the two keys sorted, rendered as 6
 * groups of 5 decimal digits separated by spaces. out holds
 * ENT_SAFETY_CODE_LEN + 1 bytes.
 */
void ent_safety_code(const uint8_t a[ENT_PK_LEN], const uint8_t b[ENT_PK_LEN],
                     char out[ENT_SAFETY_CODE_LEN + 1]);

#endif
