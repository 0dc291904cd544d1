/*
 * home.h - a node's home folder: creation (entente init), paths and the lock.
 *
 * Layout in node/node.h; the names of its files are below. ent_home_init builds the whole home in a sibling
 * temporary folder and renames it into place, so a failure leaves nothing
 * half-written and an existing home is never touched.
 */
#ifndef ENT_HOME_H
#define ENT_HOME_H

#include <stddef.h>

#include "crypto/crypto.h"
#include "node/log.h"
#include "storage/store.h"

#define ENT_NAME_MAX 64 /* bytes in an org name */

/* Names of files in a home folder. */
#define ENT_HOME_KEY "identity.key"
#define ENT_HOME_DB "db"
#define ENT_HOME_LOCK "serve.lock"
#define ENT_HOME_SOCK "api.sock"

/* Keys of the meta table written by ent_home_init (values: UTF-8, no NUL). */
#define ENT_META_NAME "name"     /* org display name */
/* present while a node restored from a backup has not caught up with its
 * partners (spec/operations.md §3): JSON {"restored","backup_created"} */
#define ENT_META_RESTORED "restored"
#define ENT_META_LISTEN "listen" /* configured peer address "HOST:PORT" */
#define ENT_META_ADVERTISE "advertise" /* optional: "HOST:PORT" partners
                                          dial (node/peers/advertise.h) */

/* Default peer listen address when init is given no --listen. */
#define ENT_DEFAULT_LISTEN "0.0.0.0:7411"

/* Longest "HOST:PORT" text (bracketed IPv6 + port). */
#define ENT_ADDR_STRLEN 64


/*
 * Parses "HOST:PORT" (IPv4 dotted quad, or [IPv6]) into a sockaddr (a
 * struct sockaddr_storage, passed as void * to keep socket headers out).
 * @return ENT_OK or ENT_EINVAL.
 */
int ent_home_parse_addr(const char *s, void *sockaddr_storage);

/*
 * Why s is not an address ent_home_parse_addr() takes, in words for an
 * error message (no port, a port out of range, an IPv6 address without
 * brackets, a host name: names are not resolved...), written to why (cap
 * bytes). @return ENT_OK (s is fine, why is "") or ENT_EINVAL.
 */
int ent_home_addr_check(const char *s, char *why, size_t cap);

/*
 * Writes the default home to out: $ENTENTE_HOME, else $HOME/.entente.
 * @return ENT_OK, ENT_ENOENT (neither variable set), ENT_ETOOBIG.
 */
int ent_home_default(char *out, size_t cap);

/* Writes "home/file" to out. @return ENT_OK or ENT_ETOOBIG. */
int ent_home_path(char *out, size_t cap, const char *home, const char *file);

/*
 * Checks an org name: 1..ENT_NAME_MAX bytes of valid UTF-8 without control
 * characters. @return ENT_OK or ENT_EINVAL.
 */
int ent_home_check_name(const char *name);

/* What a new home holds besides its identity (ent_home_create). */
typedef struct ent_home_conf {
    const char *name;      /* org display name, required */
    const char *listen;    /* NULL: ENT_DEFAULT_LISTEN */
    const char *advertise; /* NULL or "": none (meta key left out); the
                              caller checks it (ent_advertise_valid) */
} ent_home_conf;

/*
 * Creates the home folder home: a fresh identity in identity.key (0600) and
 * the store in db/ with the meta entries name, listen and, if given,
 * advertise. Otherwise as ent_home_init(). @return as ent_home_init();
 * ENT_EINVAL also for an advertise value of ENT_ADDR_STRLEN bytes or more.
 */
int ent_home_create(const char *home, const ent_home_conf *conf,
                    const ent_log *log, char org_out[ENT_ORG_ID_LEN + 1]);

/*
 * Creates the home folder home: a fresh identity in identity.key (0600) and
 * the store in db/ with the meta entries name and listen (listen NULL:
 * ENT_DEFAULT_LISTEN). The parent folder must exist. Writes the org id to
 * org_out. log may be NULL.
 * @return ENT_OK; ENT_EEXIST (home exists and is not an empty folder;
 *         nothing is touched); ENT_EINVAL (bad name or listen address);
 *         ENT_ENOENT (no parent folder); ENT_EPERM, ENT_ENOSPC, ENT_EIO,
 *         ENT_ESTORAGE.
 */
int ent_home_init(const char *home, const char *name, const char *listen,
                  const ent_log *log, char org_out[ENT_ORG_ID_LEN + 1]);

/*
 * Takes the exclusive lock HOME/serve.lock without blocking and writes the
 * caller's pid into it. *fd_out holds the lock until ent_home_unlock(). Two
 * locks on one home conflict even within one process.
 * @return ENT_OK, ENT_EBUSY (*holder_pid set to the holder's pid, or 0),
 *         ENT_ENOENT, ENT_EPERM, ENT_EIO.
 */
int ent_home_lock(const char *home, int *fd_out, long *holder_pid);

/* Releases a lock from ent_home_lock. Accepts -1. */
void ent_home_unlock(int fd);

/*
 * Reads the meta entry key (ENT_META_*) into out as a NUL-terminated string.
 * @return ENT_OK; ENT_ENOENT (no such entry); ENT_ECORRUPT (it does not fit
 *         in cap bytes with its NUL, or holds a NUL); ENT_ESTORAGE.
 */
int ent_home_meta_get(ent_txn *txn, const char *key, char *out, size_t cap);

/*
 * Stores value under the meta entry key in txn; value NULL or "" deletes the
 * entry (ENT_OK when there was none). The caller checks the value.
 * @return ENT_OK, ENT_ESTORAGE, ENT_EMAPFULL.
 */
int ent_home_meta_put(ent_txn *txn, const char *key, const char *value);

/*
 * Whether the store of txn carries the restore mark (ENT_META_RESTORED):
 * a node restored from a backup signs nothing on an existing object and
 * no tree head until it has caught up (spec/operations.md §3).
 * @return ENT_OK (no mark), ENT_ERESTORING (marked), storage errors.
 */
int ent_home_restoring(ent_txn *txn);

#endif
