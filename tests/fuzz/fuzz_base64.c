/*
 * fuzz_base64.c - libFuzzer target for ent_base64_decode (crypto/crypto.h),
 * which reads the attachment content the web page uploads.
 *
 * Any bytes: the decoder either refuses them or decodes exactly what
 * ent_base64_encode would write back byte for byte (one text per byte
 * string), never writing past the output it was given: the output buffer
 * is sized exactly, so ASan sees any overrun.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 64 * 1024)
        return 0;
    size_t cap = ENT_BASE64_DECODED_MAX(size);
    uint8_t *out = malloc(cap ? cap : 1);
    char *back = malloc(ENT_BASE64_LEN(cap));
    size_t n = 0;
    if (out == NULL || back == NULL)
        abort();
    int rc = ent_base64_decode(out, cap, &n, (const char *)data, size);
    if (rc == ENT_OK) {
        if (n > cap ||
            ent_base64_encode(back, ENT_BASE64_LEN(cap), out, n) != ENT_OK ||
            strlen(back) != size || memcmp(back, data, size) != 0)
            abort();
    } else if (rc != ENT_EINVAL) {
        abort();
    }
    free(out);
    free(back);
    return 0;
}
