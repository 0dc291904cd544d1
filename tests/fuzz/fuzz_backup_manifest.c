/*
 * fuzz_backup_manifest.c - arbitrary bytes as a backup's MANIFEST.json
 * (spec/operations.md §2.2 steps 1-2): ent_backup_manifest_parse() must
 * refuse or accept without crashing, and an accepted manifest has every
 * member verify then reads, of the right type.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/backup/backup.h"
#include "node/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char why[256];
    json_t *m = NULL;
    int rc = ent_backup_manifest_parse((const char *)data, size, &m, why,
                                       sizeof(why));
    if (rc != ENT_OK) {
        if (m != NULL || why[0] == '\0')
            abort();
        return 0;
    }
    json_t *f = json_object_get(m, "files");
    if (!json_is_string(json_object_get(m, "org")) ||
        !json_is_integer(json_object_get(m, "schema")) ||
        !json_is_string(json_object_get(json_object_get(f, "db/data.mdb"),
                                        "blake2b")) ||
        !json_is_integer(json_object_get(json_object_get(f, "identity.key"),
                                         "size")))
        abort();
    json_decref(m);
    return 0;
}
