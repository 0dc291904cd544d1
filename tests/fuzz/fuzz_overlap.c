/*
 * fuzz_overlap.c - libFuzzer target for every decoder of account mapping
 * (spec/overlap.md): the OVERLAP wire message (protocol/wire_overlap.c,
 * through ent_wire_decode), a PSI run fed the decoded BLINDED / DOUBLED
 * points the way node/overlap/overlap.c feeds them, the account JSON
 * parser (ent_account_from_json) and the matching-key normalisation of
 * domains and names.
 *
 * The first byte picks the decoder; the rest is its input. A decoded
 * OVERLAP message must re-encode to the same bytes; a normalised key must
 * normalise to itself (idempotent) and stay within its bounds.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/overlap/accounts.h"
#include "node/norm.h"
#include "node/overlap/psi_run.h"
#include "protocol/wire.h"

static void wire(const uint8_t *buf, size_t len) {
    ent_wire_msg m;
    uint8_t *enc = NULL;
    size_t elen = 0;
    if (ent_wire_decode(&m, buf, len) != ENT_OK)
        return;
    if (m.type != ENT_WIRE_OVERLAP) {
        ent_wire_msg_clear(&m);
        return;
    }
    if (ent_wire_encode(&m, &enc, &elen) != ENT_OK || elen > len ||
        elen != ent_wire_encoded_size(&m))
        abort();
    ent_wire_msg m2;
    if (ent_wire_decode(&m2, enc, elen) != ENT_OK ||
        m2.u.overlap.len != m.u.overlap.len ||
        (m.u.overlap.len &&
         memcmp(m2.u.overlap.data, m.u.overlap.data, m.u.overlap.len) != 0))
        abort();
    ent_wire_msg_clear(&m2);
    free(enc);
    /* into a run of 64 slots, as the overlap layer does */
    const ent_wire_overlap *o = &m.u.overlap;
    ent_psi_run *r = NULL;
    if (ent_psi_run_new(&r, 0) == ENT_OK) {
        size_t k = o->b;
        if (o->len == k * 32 && k <= 2040) {
            if (o->kind == 4 && ent_psi_partner_begin(r, 64) == ENT_OK &&
                ent_psi_partner_put(r, (size_t)o->a, o->data, k) == ENT_OK)
                ent_psi_double_range(r, 0, k < 4 ? k : 4);
            if (o->kind == 5 && ent_psi_returned_begin(r) == ENT_OK)
                ent_psi_returned_put(r, (size_t)o->a, o->data, k);
        }
        ent_psi_run_free(r);
    }
    ent_wire_msg_clear(&m);
}

static void account(const uint8_t *buf, size_t len) {
    json_error_t je;
    char err[128];
    ent_account a;
    json_t *j = json_loadb((const char *)buf, len, JSON_DECODE_ANY, &je);
    if (j == NULL)
        return;
    if (ent_account_from_json(j, &a, err, sizeof(err)) == ENT_OK) {
        if (strlen(a.key) < 3 || strlen(a.key) >= ENT_NORM_KEY_MAX)
            abort();
        json_t *back = ent_account_json(&a);
        json_object_del(back, "key");
        ent_account b;
        if (ent_account_from_json(back, &b, err, sizeof(err)) != ENT_OK ||
            strcmp(a.key, b.key) != 0 || a.flags != b.flags)
            abort(); /* what is stored reads back the same */
        json_decref(back);
    }
    json_decref(j);
}

static void norm(const uint8_t *buf, size_t len) {
    char d[ENT_NORM_DOMAIN_MAX + 1], d2[ENT_NORM_DOMAIN_MAX + 1];
    char n[ENT_NORM_NAME_MAX + 1], n2[ENT_NORM_NAME_MAX + 1];
    if (ent_norm_domain(d, (const char *)buf, len) == ENT_OK) {
        if (strlen(d) > ENT_NORM_DOMAIN_MAX ||
            ent_norm_domain(d2, d, strlen(d)) != ENT_OK || strcmp(d, d2) != 0)
            abort();
    }
    if (ent_norm_name(n, (const char *)buf, len) == ENT_OK) {
        if (strlen(n) > ENT_NORM_NAME_MAX ||
            ent_norm_name(n2, n, strlen(n)) != ENT_OK || strcmp(n, n2) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int inited;
    if (!inited) {
        if (ent_crypto_init() != ENT_OK)
            abort();
        inited = 1;
    }
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0: wire(data + 1, size - 1); break;
    case 1: account(data + 1, size - 1); break;
    default: norm(data + 1, size - 1); break;
    }
    return 0;
}
