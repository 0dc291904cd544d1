/*
 * fuzz_erased.c - ent_op_erased_decode (the erased op record of an audit
 * export, spec/records.md §3) and ent_op_stub_read (an erased op's `ops`
 * row) over arbitrary bytes. A record that decodes must re-encode to
 * exactly the input; a stub that reads must be made again byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "protocol/op.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ent_op_erased e;
    uint8_t buf[ENT_OP_ERASED_MAX], stub[ENT_OP_STUB_LEN];
    size_t len;
    static const uint8_t obj[32];
    if (ent_op_erased_decode(&e, data, size) == ENT_OK) {
        if (ent_op_erased_encode(&e, buf, &len) != ENT_OK || len != size ||
            memcmp(buf, data, size) != 0)
            abort();
    }
    if (ent_op_stub_read(data, size, obj, &e) == ENT_OK) {
        ent_op_stub_make(&e, stub);
        if (size != sizeof(stub) || memcmp(stub, data, size) != 0)
            abort();
    }
    return 0;
}
