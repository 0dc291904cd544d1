/*
 * fuzz_invite.c - libFuzzer target for the invite token parser, the --ttl
 * duration parser and the address syntax check (node/peers/invite.h).
 *
 * A token that parses must re-encode to exactly its input without the
 * surrounding whitespace (one text form per invite, in the token's own
 * payload version: a version-1 token re-encodes as version 1, without a
 * type) and parse back to the same invite. A duration that parses must lie
 * within its bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/peers/invite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_ws(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void check_token(const uint8_t *data, size_t size) {
    ent_invite inv, back;
    char *tok = NULL;
    size_t b = 0, e = size;
    int rc;

    rc = ent_invite_token_parse((const char *)data, size, &inv);
    if (rc == ENT_OK) {
        if (size > ENT_INVITE_MAX_TEXT)
            abort();
        while (b < e && is_ws(data[b]))
            b++;
        while (e > b && is_ws(data[e - 1]))
            e--;
        if ((inv.version == ENT_INVITE_VERSION_1) != (inv.type[0] == '\0'))
            abort(); /* a type exactly when the version carries one */
        if (ent_invite_token_encode(&inv, &tok) != ENT_OK)
            abort();
        if (strlen(tok) != e - b || memcmp(tok, data + b, e - b) != 0)
            abort();
        if (ent_invite_token_parse(tok, strlen(tok), &back) != ENT_OK ||
            memcmp(&inv, &back, sizeof(inv)) != 0)
            abort();
        free(tok);
        ent_invite_clear(&back);
    } else if (rc >= 0) {
        abort();
    }
    ent_invite_clear(&inv);
}

static void check_duration(const uint8_t *data, size_t size) {
    char buf[64];
    uint64_t secs = 0;
    size_t n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;

    memcpy(buf, data, n);
    buf[n] = '\0';
    if (ent_duration_parse(buf, &secs) == ENT_OK &&
        (secs < ENT_DURATION_MIN || secs > ENT_DURATION_MAX))
        abort();
    (void)ent_invite_addr_valid(buf, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (ent_crypto_init() != ENT_OK)
        abort();
    check_token(data, size);
    check_duration(data, size);
    return 0;
}
