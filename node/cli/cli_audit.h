/*
 * cli_audit.h - the `entente log` and `entente audit export|verify`
 * commands (spec/cli.md), called by node/cli/cli.c. Each returns the process
 * exit status (0, 1, or 2 for a usage error) and prints errors to stderr
 * as "entente: WORDS: why".
 */
#ifndef ENT_CLI_AUDIT_H
#define ENT_CLI_AUDIT_H

#include <stdbool.h>

/* `entente log [--since N] [--json]`: asks the running node of home. */
int ent_cli_log(const char *words, const char *home, const char *since,
                bool json);

/* `entente audit export [--out FILE] [--object OBJ] [--since N]`: the file
 * is written 0600 atomically (temporary file, fsync, rename), or to stdout
 * without --out. */
int ent_cli_audit_export(const char *words, const char *home, const char *out,
                         const char *object, const char *since, bool json);

/* `entente audit verify FILE [--org ORG] [--json]`: offline, no daemon. */
int ent_cli_audit_verify(const char *words, const char *file, const char *org,
                         const char *witness, const char *key, bool json);

/* `entente audit heads [--org ORG] [--json]`: the partners' tree heads this
 * node keeps as a witness (GET /v1/audit/heads). */
int ent_cli_audit_heads(const char *words, const char *home, const char *org,
                        bool json);

/* `entente object key OBJ [--json]`: the object's epoch keys, printed as
 * OBJ:KEY,KEY... for `audit verify --key` (GET /v1/object-keys/OBJ). */
int ent_cli_object_key(const char *words, const char *home, const char *obj,
                       bool json);

#endif
