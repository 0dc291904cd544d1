/*
 * addr_record_test.c - the signed address record (protocol/addr_record.h,
 * spec/records.md §5): the test vector of the spec, round trips (addresses
 * sorted, duplicates dropped), what the signer refuses, and the decoder
 * against hostile input: a flipped byte anywhere, trailing and truncated
 * bytes, another version, unsorted or duplicate addresses, bad addresses,
 * too many addresses and oversized records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "node/err.h"
#include "protocol/addr_record.h"
#include "protocol/cbor.h"

static ent_identity *fixed_id(void) {
    uint8_t seed[32];
    ent_identity *id = NULL;
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
    assert_int_equal(ent_identity_from_seed(&id, seed), ENT_OK);
    return id;
}

static void hex(char *out, const uint8_t *p, size_t n) {
    ent_hex_encode(out, p, n);
}

/* The vector of spec/records.md §5: seed 00 01 .. 1f, seq 1700000000000,
 * one address 127.0.0.1:7400. */
static void test_vector(void **state) {
    (void)state;
    ent_identity *id = fixed_id();
    const char *addrs[1] = {"127.0.0.1:7400"};
    uint8_t *rec = NULL;
    size_t len = 0;
    char h[2 * ENT_ADDR_RECORD_MAX + 1];
    assert_int_equal(
        ent_addr_record_sign(id, UINT64_C(1700000000000), addrs, 1, &rec, &len),
        ENT_OK);
    hex(h, rec, len);
    if (getenv("ENT_PRINT_VECTOR") != NULL)
        printf("vector: %s\n", h);
    /* array(5), 1, bstr(32) org, uint64 seq, array(1) text(14), bstr(64) */
    assert_int_equal(len, 1 + 1 + 2 + 32 + 9 + 1 + 15 + 2 + 64);
    assert_string_equal(
        h, "8501582003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664"
           "125531b81b0000018bcfe56800816e3132372e302e302e313a3734303058"
           "40dffdda3bece192c31cc35b9b6943fa6e30bd04f78b81b945f4de466465a9"
           "7ccded0fd967117c72694a9a0fc1a88e50314e751215891279efc70715e501"
           "af1902");
    assert_int_equal(ent_cbor_check(rec, len, NULL), ENT_OK);
    ent_addr_record r;
    assert_int_equal(ent_addr_record_decode(&r, rec, len), ENT_OK);
    assert_memory_equal(r.org, ent_identity_public(id), 32);
    assert_true(r.seq == UINT64_C(1700000000000));
    assert_int_equal(r.naddrs, 1);
    assert_string_equal(r.addrs[0], "127.0.0.1:7400");
    /* Ed25519 is deterministic: the same inputs sign to the same bytes */
    uint8_t *again = NULL;
    size_t alen = 0;
    assert_int_equal(
        ent_addr_record_sign(id, UINT64_C(1700000000000), addrs, 1, &again,
                             &alen),
        ENT_OK);
    assert_int_equal(alen, len);
    assert_memory_equal(again, rec, len);
    free(again);
    /* every single-byte change is refused */
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            rec[i] ^= (uint8_t)(1u << bit);
            assert_int_not_equal(ent_addr_record_decode(&r, rec, len), ENT_OK);
            rec[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* truncated at every length, one byte trailing */
    for (size_t i = 0; i < len; i++)
        assert_int_not_equal(ent_addr_record_decode(&r, rec, i), ENT_OK);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, rec, len);
    longer[len] = 0;
    assert_int_equal(ent_addr_record_decode(&r, longer, len + 1), ENT_ECORRUPT);
    free(longer);
    free(rec);
    ent_identity_free(id);
}

static void test_sort_dedup_and_refusals(void **state) {
    (void)state;
    ent_identity *id = fixed_id();
    uint8_t *rec = NULL;
    size_t len = 0;
    ent_addr_record r;
    const char *three[4] = {"[::1]:9", "b.example:1", "a.example:1",
                            "b.example:1"};
    assert_int_equal(ent_addr_record_sign(id, 5, three, 4, &rec, &len), ENT_OK);
    assert_int_equal(ent_addr_record_decode(&r, rec, len), ENT_OK);
    assert_int_equal(r.naddrs, 3);
    /* by encoding: shorter first, then bytes */
    assert_string_equal(r.addrs[0], "[::1]:9");
    assert_string_equal(r.addrs[1], "a.example:1");
    assert_string_equal(r.addrs[2], "b.example:1");
    free(rec);

    const char *five[5] = {"a:1", "b:1", "c:1", "d:1", "e:1"};
    assert_int_equal(ent_addr_record_sign(id, 5, five, 5, &rec, &len),
                     ENT_EINVAL);
    assert_int_equal(ent_addr_record_sign(id, 5, five, 0, &rec, &len),
                     ENT_EINVAL);
    const char *bad[] = {"", "ab", "noport", ":1", "a:", "a b:1", "a:1\n",
                         "\x7f:1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *one[1] = {bad[i]};
        assert_int_equal(ent_addr_record_sign(id, 5, one, 1, &rec, &len),
                         ENT_EINVAL);
    }
    char big[ENT_ADDR_RECORD_MAX_ADDR_LEN + 2];
    memset(big, 'a', sizeof(big));
    big[0] = 'x';
    big[sizeof(big) - 3] = ':';
    big[sizeof(big) - 2] = '1';
    big[sizeof(big) - 1] = '\0'; /* 129 bytes */
    const char *one[1] = {big};
    assert_int_equal(ent_addr_record_sign(id, 5, one, 1, &rec, &len),
                     ENT_EINVAL);
    big[sizeof(big) - 4] = ':';
    big[sizeof(big) - 3] = '1';
    big[sizeof(big) - 2] = '\0'; /* 128 bytes: the largest */
    assert_int_equal(ent_addr_record_sign(id, 5, one, 1, &rec, &len), ENT_OK);
    assert_int_equal(ent_addr_record_decode(&r, rec, len), ENT_OK);
    free(rec);
    ent_identity_free(id);
}

/* A hand-made record: array(5) [version, org, seq, addrs..., sig] signed
 * as the spec says, so that shapes the signer never makes can be tried. */
static size_t forge(const ent_identity *id, uint64_t version, size_t n,
                    const char *const *addrs, uint8_t *out, size_t cap) {
    ent_cbor_writer w;
    ent_cbor_writer_init(&w, out, cap);
    ent_cbor_write_array(&w, 5);
    size_t off = w.len;
    ent_cbor_write_uint(&w, version);
    ent_cbor_write_bytes(&w, ent_identity_public(id), 32);
    ent_cbor_write_uint(&w, 9);
    ent_cbor_write_array(&w, n);
    for (size_t i = 0; i < n; i++)
        ent_cbor_write_text(&w, addrs[i], strlen(addrs[i]));
    size_t slen = w.len - off;
    uint8_t *sig = ent_cbor_write_bytes_reserve(&w, 64);
    assert_int_equal(w.err, ENT_OK);
    assert_int_equal(ent_identity_sign(id, ENT_SIGCTX_ADDR, out + off, slen,
                                       sig),
                     ENT_OK);
    return w.len;
}

static void test_hostile_shapes(void **state) {
    (void)state;
    ent_identity *id = fixed_id();
    uint8_t buf[4096];
    ent_addr_record r;
    const char *ok2[2] = {"a:1", "b:1"};
    size_t n = forge(id, 1, 2, ok2, buf, sizeof(buf));
    assert_int_equal(ent_addr_record_decode(&r, buf, n), ENT_OK);
    /* another version */
    n = forge(id, 2, 2, ok2, buf, sizeof(buf));
    assert_int_equal(ent_addr_record_decode(&r, buf, n), ENT_EVERSION);
    /* unsorted, duplicate */
    const char *uns[2] = {"b:1", "a:1"};
    n = forge(id, 1, 2, uns, buf, sizeof(buf));
    assert_int_equal(ent_addr_record_decode(&r, buf, n), ENT_ENONCANON);
    const char *dup[2] = {"a:1", "a:1"};
    n = forge(id, 1, 2, dup, buf, sizeof(buf));
    assert_int_equal(ent_addr_record_decode(&r, buf, n), ENT_ENONCANON);
    /* none, five, a bad one: refused even though signed */
    n = forge(id, 1, 0, ok2, buf, sizeof(buf));
    assert_int_equal(ent_addr_record_decode(&r, buf, n), ENT_ECORRUPT);
    const char *five[5] = {"a:1", "b:1", "c:1", "d:1", "e:1"};
    n = forge(id, 1, 5, five, buf, sizeof(buf));
    assert_int_equal(ent_addr_record_decode(&r, buf, n), ENT_ETOOBIG);
    const char *sp[1] = {"a b:1"};
    n = forge(id, 1, 1, sp, buf, sizeof(buf));
    assert_int_equal(ent_addr_record_decode(&r, buf, n), ENT_ECORRUPT);
    /* a string over 128 bytes is over the limit before any other check */
    char big[300];
    memset(big, 'a', sizeof(big));
    strcpy(big + 290, ":1");
    const char *b1[1] = {big};
    n = forge(id, 1, 1, b1, buf, sizeof(buf));
    assert_int_equal(ent_addr_record_decode(&r, buf, n), ENT_ETOOBIG);
    /* over 1024 bytes in all */
    memset(buf, 0, sizeof(buf));
    assert_int_equal(ent_addr_record_decode(&r, buf, 1025), ENT_ETOOBIG);
    /* the signature of another org */
    ent_identity *other = NULL;
    assert_int_equal(ent_identity_generate(&other), ENT_OK);
    n = forge(id, 1, 2, ok2, buf, sizeof(buf));
    uint8_t sig[64];
    assert_int_equal(ent_identity_sign(other, ENT_SIGCTX_ADDR, buf + 1,
                                       n - 1 - 66, sig),
                     ENT_OK);
    memcpy(buf + n - 64, sig, 64);
    assert_int_equal(ent_addr_record_decode(&r, buf, n), ENT_EBADSIG);
    /* signed under another context (an op's) */
    assert_int_equal(ent_identity_sign(id, ENT_SIGCTX_OP, buf + 1, n - 1 - 66,
                                       sig),
                     ENT_OK);
    memcpy(buf + n - 64, sig, 64);
    assert_int_equal(ent_addr_record_decode(&r, buf, n), ENT_EBADSIG);
    ent_identity_free(other);
    ent_identity_free(id);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector),
        cmocka_unit_test(test_sort_dedup_and_refusals),
        cmocka_unit_test(test_hostile_shapes),
    };
    if (ent_crypto_init() != ENT_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
