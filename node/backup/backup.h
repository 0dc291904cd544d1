/*
 * backup.h - consistent copies of a node's home, taken while it runs, and
 * their offline check (spec/operations.md §2).
 *
 * A backup is a folder (mode 0700) holding
 *
 *   db/data.mdb     a compacted copy of the LMDB store (one read
 *                   transaction's view: consistent while the node writes)
 *   identity.key    the org's key file, as in the home (mode 0600)
 *   MANIFEST.json   what the backup is: format, org, name, schema, time,
 *                   and the size and BLAKE2b-256 of each file above
 *
 * The store holds the node's configuration (settings, templates, tables,
 * users and policies), so these files are the whole node. A backup holds
 * the org's private key and private data: keep it as safe as the home.
 *
 * ent_backup_create builds the backup in a temporary sibling folder and
 * renames it into place, so a failure leaves nothing behind and an
 * existing backup is never touched.
 */
#ifndef ENT_BACKUP_H
#define ENT_BACKUP_H

#include <stddef.h>

#include <jansson.h>

#include "node/log.h"

#define ENT_BACKUP_FORMAT 1
#define ENT_BACKUP_MANIFEST "MANIFEST.json"
#define ENT_BACKUP_MANIFEST_MAX (64u << 10) /* bytes of a manifest read */

/*
 * Backs up home into dir (which must not exist, or be an empty folder).
 * version is the software's version for the manifest. *manifest (may be
 * NULL) gets the manifest (caller json_decref()s). On failure, why (cap
 * bytes) says what went wrong in words.
 * @return ENT_OK, ENT_ENOENT (no home), ENT_EEXIST (dir not empty),
 *         ENT_EIO, store errors.
 */
int ent_backup_create(const char *home, const char *dir, const char *version,
                      const ent_log *log, json_t **manifest, char *why,
                      size_t cap);

/*
 * Checks the backup in dir offline: the manifest is well formed and names
 * exactly the files above; each file has its size and hash; the key file
 * loads and is the manifest's org; the store opens read-only, has a schema
 * this software reads and the manifest's name; every table can be walked;
 * the activity log's entries hash to their stored leaves, and the newest
 * signed tree head verifies under the org's key and is the root of the
 * log's first entries. *report (may be NULL) gets {"ok":true,"org","name",
 * "schema","created","bytes","objects","ops","log_size","heads"}.
 * @return ENT_OK, or an error with why set: ENT_ENOENT, ENT_EPROTO (bad
 *         manifest), ENT_ECORRUPT (a file or the store does not match),
 *         ENT_EVERSION (a schema newer than this software).
 */
int ent_backup_verify(const char *dir, const ent_log *log, json_t **report,
                      char *why, size_t cap);

/*
 * The manifest part of verify, pure: parses len bytes as a manifest and
 * checks its shape (step 1 and the shape of step 2 of spec/operations.md
 * §2.2). *out (may be NULL) gets the parsed manifest.
 * @return ENT_OK, ENT_EPROTO, ENT_EVERSION, ENT_ETOOBIG (why set).
 */
int ent_backup_manifest_parse(const char *buf, size_t len, json_t **out,
                              char *why, size_t cap);

#endif
