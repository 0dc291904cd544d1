/*
 * accounts.h - an org's private account list (spec/overlap.md §1): name,
 * web domain, country, owner region and status flags, kept in
 * ENT_TBL_ACCOUNTS under the account's matching key (node/norm.h).
 * Nothing here ever leaves the node; the overlap protocol sends only
 * blinded points of the keys.
 */
#ifndef ENT_ACCOUNTS_H
#define ENT_ACCOUNTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/norm.h"
#include "storage/store.h"

#define ENT_ACCOUNT_NAME_MAX 200
#define ENT_ACCOUNT_REGION_MAX 64
#define ENT_ACCOUNT_ID_MAX 64     /* the CRM's own id, optional */
#define ENT_ACCOUNTS_MAX 250000   /* accounts one node holds */
/* A stored account: version (1) | flags (1) | the account as compact JSON
 * without "key" (the row's key). */
#define ENT_ACCOUNT_REC_VERSION 1

/* Status flags (spec/overlap.md §1): what a run may reveal of a match. */
#define ENT_ACCOUNT_CUSTOMER 0x1u
#define ENT_ACCOUNT_PROSPECT 0x2u
#define ENT_ACCOUNT_OPPORTUNITY 0x4u /* an open opportunity */
#define ENT_ACCOUNT_FLAGS_ALL 0x7u

typedef struct ent_account {
    char key[ENT_NORM_KEY_MAX];          /* "d:example.com" / "n:acme" */
    char id[ENT_ACCOUNT_ID_MAX + 1];     /* "" when none */
    char name[ENT_ACCOUNT_NAME_MAX + 1]; /* as given */
    char domain[ENT_NORM_DOMAIN_MAX + 1]; /* normalised, "" when none */
    char country[3];                     /* ISO 3166 alpha-2, "" */
    char region[ENT_ACCOUNT_REGION_MAX + 1];
    uint32_t flags;                      /* ENT_ACCOUNT_* */
} ent_account;

/* "customer", "prospect", "opportunity" -> bit; 0 when unknown. */
uint32_t ent_account_flag(const char *name);

/* The flag names of flags as a JSON array (new reference, NULL: ENOMEM). */
json_t *ent_account_flags_json(uint32_t flags);

/*
 * Parses flags given as a JSON array of names or a comma-separated string
 * ("customer,opportunity"; "" and null: none) into *out.
 * @return ENT_OK, ENT_EINVAL (unknown name: err says which).
 */
int ent_account_flags_parse(const json_t *v, uint32_t *out, char *err,
                            size_t errlen);

/*
 * Builds an account from {"name","domain","country","region","flags",
 * "id"} (only name or domain required; unknown keys refused). err
 * (errlen bytes) names the field at fault.
 * @return ENT_OK, ENT_EINVAL.
 */
int ent_account_from_json(const json_t *o, ent_account *out, char *err,
                          size_t errlen);

/* {"key","id","name","domain","country","region","flags":[...]}; new
 * reference, NULL when out of memory. */
json_t *ent_account_json(const ent_account *a);

/* Stores a (replacing the account with the same key). Refuses a new key
 * past ENT_ACCOUNTS_MAX accounts. @return ENT_OK, ENT_ELIMIT, ENT_ENOMEM,
 * storage errors. */
int ent_accounts_put(ent_txn *txn, const ent_account *a);

/* Removes the account of key. @return ENT_OK, ENT_ENOENT. */
int ent_accounts_del(ent_txn *txn, const char *key);

/* Reads the account of key. @return ENT_OK, ENT_ENOENT, ENT_ECORRUPT. */
int ent_accounts_get(ent_txn *txn, const char *key, ent_account *out);

/* Calls fn for every account in key order; fn returns 0 to go on, > 0 to
 * stop, < 0 to fail with that code. a is valid during the call. */
int ent_accounts_foreach(ent_txn *txn,
                         int (*fn)(void *data, const ent_account *a),
                         void *data);

/* The fast scan of a run (spec/overlap.md §4): fn(data, key, klen, flags)
 * for every account in key order, from the row's key and flags byte only
 * (key borrowed for the call, not NUL-terminated). */
int ent_accounts_foreach_key(ent_txn *txn,
                             int (*fn)(void *data, const char *key,
                                       size_t klen, uint32_t flags),
                             void *data);

#endif
