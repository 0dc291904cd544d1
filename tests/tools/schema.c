/*
 * schema.c - a test-only tool: writes a schema version into a stopped
 * node's store, raw, to play a database written by a newer entente
 * (tests/e2e/upgrade.sh). Never built into the entente binary.
 *
 *   schema DBDIR N     sets meta/schema of the store in DBDIR to N
 *
 * The store is opened with a migration table of steps that do nothing,
 * from every version below N up to N, so that it writes N itself. Exit 0, 1 on error, 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>

#include "node/err.h"
#include "storage/store.h"

static int noop(ent_txn *txn, void *data) {
    (void)txn;
    (void)data;
    return ENT_OK;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: schema DBDIR N\n");
        return 2;
    }
    char *end;
    unsigned long n = strtoul(argv[2], &end, 10);
    if (*end != '\0' || n == 0 || n > 1000000) {
        fprintf(stderr, "schema: bad version '%s'\n", argv[2]);
        return 2;
    }
    /* steps that do nothing from every version below N up to N: the
     * store writes N as its new version (a store already at N or above
     * is refused as newer, and left alone) */
    ent_store_migration *m = calloc(n, sizeof(*m));
    if (m == NULL)
        return 1;
    for (unsigned long i = 1; i < n; i++)
        m[i - 1] = (ent_store_migration){(uint32_t)i, noop};
    ent_store_opts o = {.schema = (uint32_t)n, .migrations = m,
                        .n_migrations = n - 1};
    ent_store *s = NULL;
    int rc = ent_store_open_ex(&s, argv[1], 0, NULL, &o);
    ent_store_close(s);
    free(m);
    if (rc != ENT_OK) {
        fprintf(stderr, "schema: %s: %s\n", argv[1], ent_strerror(rc));
        return 1;
    }
    return 0;
}
