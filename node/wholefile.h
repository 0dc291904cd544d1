/*
 * wholefile.h - a file written whole or not at all.
 *
 * The bytes go into a new temporary file beside the target (PATH.tmpXXXXXX,
 * created exclusively, close-on-exec, mode 0600: it may hold private
 * values), which is flushed, synced and renamed onto PATH, and then the
 * folder holding PATH is synced too, so that the new entry survives a
 * crash (as crypto/identity.c does for the identity file). The rename
 * replaces a symbolic link at PATH rather than following it. On any
 * failure the temporary file is removed and PATH is as it was (except
 * when only the folder's sync fails: the rename is done, not durable).
 * Used by the CLI's output files (node/cli/cli.c, cli_audit.c) and by the
 * API's attachment saves (node/api/api_attach.c). A leaf module: it
 * depends on nothing but err.h and the C library.
 */
#ifndef ENT_WHOLEFILE_H
#define ENT_WHOLEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One file being written. The caller writes into f between _open and
 * _commit; the other fields are the module's. */
typedef struct ent_wholefile {
    FILE *f;         /* the temporary file; NULL once committed or aborted */
    char *tmp;       /* its path (malloc'ed); NULL once gone */
    bool dir_synced; /* set by _commit once the folder's fsync succeeded */
} ent_wholefile;

/*
 * Creates the temporary file for path.
 * @param[out] w     filled in; pass it to _commit or _abort.
 * @param[in]  path  the target; borrowed for the call only.
 * @return ENT_OK, ENT_ENOMEM, or the errno of the failed step translated
 *         (errno is left set to it); on failure nothing is left to free.
 */
int ent_wholefile_open(ent_wholefile *w, const char *path);

/*
 * Flushes, fsyncs and closes w's file, renames it onto path (the path
 * given to _open) and fsyncs path's folder. The temporary file is gone
 * either way, and w needs no _abort after.
 * @return ENT_OK, or the errno of the failed step translated (errno is
 *         left set to it).
 */
int ent_wholefile_commit(ent_wholefile *w, const char *path);

/* Closes and removes the temporary file; accepts a w never opened (zeroed),
 * failed to open or already committed. */
void ent_wholefile_abort(ent_wholefile *w);

/*
 * _open, len bytes of buf, _commit.
 * @return ENT_OK, or as _open and _commit (errno is left set to the cause).
 */
int ent_wholefile_write(const char *path, const void *buf, size_t len);

#endif
