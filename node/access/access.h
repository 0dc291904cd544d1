/*
 * access.h - the people of one org's node and what they may do
 * (spec/access.md): local users with a role and attributes, their
 * passwords (Argon2id) and login lockout, API tokens stored only as a hash,
 * access policies, and the private record of which user created each
 * object and made each local op.
 *
 * Everything lives in the store's "access" table (spec/storage.md) and is
 * never sent to partners nor put in an op. Functions that take an ent_store
 * run their own transaction; those that take an ent_txn run inside the
 * caller's. Times are milliseconds since the Unix epoch, passed in by the
 * caller (no clock in here).
 */
#ifndef ENT_ACCESS_H
#define ENT_ACCESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "node/access/policy.h"
#include "storage/store.h"

#define ENT_ACCESS_ERR_MAX 256
#define ENT_PASSWORD_MIN 12       /* bytes of a password, at least */
#define ENT_PASSWORD_MAX 1024     /* bytes of a password, at most */
#define ENT_TOKEN_ID_HEX 16       /* a token's public id: 8 random bytes */
#define ENT_TOKEN_STRLEN 85       /* "ent_" ID(16) "_" SECRET(64 hex), no NUL */
#define ENT_LOGIN_FREE_FAILURES 3 /* failures before the first lockout */
#define ENT_LOGIN_MAX_LOCK_MS (3600u * 1000u) /* longest lockout */
#define ENT_TOKEN_TOUCH_MS 60000 /* last_used is rewritten at most this often  \
                                  */
#define ENT_LOGIN_TOKEN_MS (12u * 3600u * 1000u) /* a login's token lifetime   \
                                                  */
#define ENT_SESSION_MS (12u * 3600u * 1000u) /* a login session's lifetime */
#define ENT_CSRF_STRLEN 64                   /* a session's CSRF token, hex */

/* ---- users ----------------------------------------------------------------
 */

/* What `user add` and `user set` give. NULL / -1 members are left as they
 * are by ent_access_user_set. */
typedef struct ent_user_spec {
    const char *name;            /* [a-z0-9][a-z0-9._-]{0,63} */
    const char *role;            /* [a-z][a-z0-9_-]{0,31}; add: required */
    const char *const *set_keys; /* attributes to set (nset of them) */
    const char *const *set_vals;
    size_t nset;
    const char *const *unset_keys; /* attributes to remove */
    size_t nunset;
    int disabled;         /* -1: unchanged (add: enabled), 0, 1 */
    const char *password; /* NULL: none / unchanged */
    bool clear_password;  /* set: remove the password */
} ent_user_spec;

/*
 * Checks the strength rule of spec/access.md: ENT_PASSWORD_MIN to
 * ENT_PASSWORD_MAX bytes, characters of at least two classes (lower case,
 * upper case, digits, other), not the user name (ignoring case).
 * @return ENT_OK or ENT_EINVAL with the reason in err.
 */
int ent_access_password_strength(const char *user, const char *pw, char *err,
                                 size_t errcap);

/*
 * Adds a user, with a new random id (8 bytes) that tells it apart from any
 * earlier user of the same name. cost: the Argon2id cost (NULL:
 * ent_pwhash_cost_default).
 * @return ENT_OK, ENT_EINVAL (bad name, role, attribute, weak password;
 *         reason in err), ENT_EEXIST, ENT_ELIMIT (too many attributes),
 *         storage errors.
 */
int ent_access_user_add(ent_store *s, const ent_user_spec *u,
                        const ent_pwhash_cost *cost, uint64_t now, char *err,
                        size_t errcap);

/* Changes a user (see ent_user_spec). A new password, or clearing it,
 * deletes the user's sessions and login tokens (not its other tokens) in
 * the same transaction.
 * @return as add, ENT_ENOENT. */
int ent_access_user_set(ent_store *s, const ent_user_spec *u,
                        const ent_pwhash_cost *cost, char *err, size_t errcap);

/* Removes a user and every token of it. @return ENT_OK, ENT_ENOENT. */
int ent_access_user_remove(ent_store *s, const char *name);

/*
 * A user as JSON (never the password hash): {"name","role","attrs":{},
 * "disabled","password":bool,"created","failures","locked_until","id"}
 * with times in ms (0: never) and id the user's never-reused id (16 hex;
 * null for a user added before users had ids). *out is the caller's.
 * @return ENT_OK, ENT_ENOENT.
 */
int ent_access_user_json(ent_store *s, const char *name, json_t **out);

/* Every user as an array of the above, by name. */
int ent_access_users_json(ent_store *s, json_t **out);

/*
 * Checks a user's password with the lockout of spec/access.md. A failure
 * is counted and persisted; from the ENT_LOGIN_FREE_FAILURES-th failure on
 * the user is locked for 2^(failures - FREE) s (at most an hour); a try
 * while locked is refused and not counted. A success resets the count.
 * *retry_ms receives the time left of a lockout. Every valid name costs
 * one Argon2id verification, an unknown one against a fixed dummy hash,
 * so the time taken does not tell which names exist. A disabled user's
 * wrong passwords are counted like any other.
 * @return ENT_OK; ENT_EPERM (unknown user, no password, wrong password);
 *         ENT_EDENIED (user disabled, right password); ENT_ELIMIT (locked,
 *         whatever the password). Callers answer all but ENT_OK and
 *         ENT_EDENIED alike (spec/access.md §1).
 */
int ent_access_login(ent_store *s, const char *name, const char *pw,
                     uint64_t now, uint64_t *retry_ms);

/* How many password verifications ent_access_login has run in this
 * process (all stores); for tests. */
unsigned long ent__access_login_hashes(void);

/* ---- tokens ---------------------------------------------------------------
 */

/*
 * Creates a token of user for the actions in scopes (ENT_ACT_*), valid
 * until expires (ms; 0: no expiry). Writes the token (printed once, then
 * only its BLAKE2b-256 hash is kept) as a NUL-terminated string into token,
 * and its public id into id. @return ENT_OK, ENT_ENOENT (no such user),
 * ENT_EDENIED (user disabled), ENT_EINVAL, storage errors.
 */
int ent_access_token_create(ent_store *s, const char *user, uint32_t scopes,
                            uint64_t expires, uint64_t now,
                            char token[ENT_TOKEN_STRLEN + 1],
                            char id[ENT_TOKEN_ID_HEX + 1]);

/* ent_access_token_create() of every scope for a login (POST /v1/login
 * with "token":true, or on the socket): stored with "login":true, so that
 * a new password, or clearing it, deletes it like a session
 * (spec/access.md §2.3). @return as ent_access_token_create. */
int ent_access_login_token_create(ent_store *s, const char *user,
                                  uint64_t expires, uint64_t now,
                                  char token[ENT_TOKEN_STRLEN + 1],
                                  char id[ENT_TOKEN_ID_HEX + 1]);

/* Revokes (deletes) a token by its id. @return ENT_OK, ENT_ENOENT. */
int ent_access_token_revoke(ent_store *s, const char *id);

/* Tokens as [{"id","user","scopes":[..],"expires","created","last_used"}]
 * (times in ms, 0: never), by id; user NULL: every user's. */
int ent_access_tokens_json(ent_store *s, const char *user, json_t **out);

/*
 * Who a bearer token stands for: looks the token up by its id, compares
 * the hash in constant time, checks expiry and the user, fills *out with
 * the user's role, attributes and the token's scopes, and notes the use
 * (at most every ENT_TOKEN_TOUCH_MS). @return ENT_OK; ENT_EPERM (malformed,
 * unknown, revoked or wrong token); ENT_EEXPIRED; ENT_EDENIED (user
 * disabled or removed).
 */
int ent_access_authenticate(ent_store *s, const char *token, uint64_t now,
                            ent_principal *out);

/*
 * Creates a login session of user for the TCP API (spec/access.md §2.3):
 * a token of every scope, valid ENT_SESSION_MS from now, stored (as its
 * hash) with kind "session" so that it is only accepted as a cookie, never
 * as a bearer token. token and id as in ent_access_token_create; the
 * caller wipes token. @return as ent_access_token_create.
 */
int ent_access_session_create(ent_store *s, const char *user, uint64_t now,
                              char token[ENT_TOKEN_STRLEN + 1],
                              char id[ENT_TOKEN_ID_HEX + 1]);

/* ent_access_authenticate() for a session cookie: refuses bearer tokens
 * (ENT_EPERM) and sets out->session. */
int ent_access_session_authenticate(ent_store *s, const char *token,
                                    uint64_t now, ent_principal *out);

/*
 * The CSRF token of a session: lowercase hex of BLAKE2b-256("entente csrf
 * v1" NUL || the session token text), NUL-terminated into out. Knowing it
 * takes the session cookie, which a page of another site cannot read.
 */
void ent_access_session_csrf(const char *token, char out[ENT_CSRF_STRLEN + 1]);

/* Loads a user's principal (kind USER, every scope). @return ENT_OK,
 * ENT_ENOENT. */
int ent_access_principal(ent_store *s, const char *user, ent_principal *out);

/* ---- policies -------------------------------------------------------------
 */

/*
 * Parses text as a rule (policy.h) and stores it under the next id, which
 * goes to *id. @return ENT_OK, ENT_EINVAL (reason in err), ENT_ELIMIT.
 */
int ent_access_policy_add(ent_store *s, const char *text, uint32_t *id,
                          char *err, size_t errcap);

/* Removes rule id. @return ENT_OK, ENT_ENOENT. */
int ent_access_policy_remove(ent_store *s, uint32_t id);

/*
 * Every rule in id order (the evaluation order) into a malloc'ed array
 * (*rules, caller frees; NULL when n is 0). @return ENT_OK, ENT_ECORRUPT,
 * ENT_ENOMEM.
 */
int ent_access_policies_load(ent_txn *txn, ent_rule **rules, size_t *n);

/* The rules as [{"id","rule"}] in id order. */
int ent_access_policies_json(ent_store *s, json_t **out);

/* ---- who did what (local only) --------------------------------------------
 */

/*
 * Records that user created object obj / made the op with id op. uid: the
 * user's id (ent_principal.uid, 16 hex), stored with the name so that a
 * later user given the same name is not taken for this one; NULL or "" for
 * a user added before users had ids (the row then holds the name alone).
 * @return ENT_OK, ENT_EINVAL (bad name or id), storage errors.
 */
int ent_access_note_creator(ent_txn *txn, const uint8_t obj[32],
                            const char *user, const char *uid);
int ent_access_note_op(ent_txn *txn, const uint8_t op[32], const char *user,
                       const char *uid);

/* What ent_access_creator gives for an object whose creating user has been
 * removed since: no user name, rule value or attribute value equals it
 * ('#' is in none of them), so creator= never holds and creator!= holds. */
#define ENT_ACCESS_CREATOR_REMOVED "#removed"

/*
 * The user that created obj into out (ENT_POLICY_VALUE_MAX + 1 bytes): its
 * name when that user is the user of that name now (same id, or neither
 * has one: spec/access.md §5), else ENT_ACCESS_CREATOR_REMOVED.
 * @return ENT_OK, ENT_ENOENT (the operator, a partner, or before users
 * existed), ENT_ECORRUPT.
 */
int ent_access_creator(ent_txn *txn, const uint8_t obj[32],
                       char out[ENT_POLICY_VALUE_MAX + 1]);

/*
 * The name of the user that made op into out, and *removed true when that
 * user has been removed since (a user of that name now, if any, is another
 * one). @return as ent_access_creator.
 */
int ent_access_op_user(ent_txn *txn, const uint8_t op[32],
                       char out[ENT_POLICY_VALUE_MAX + 1], bool *removed);

#endif
