/* cbor_test.c - the deterministic CBOR checker, reader and writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/err.h"
#include "protocol/cbor.h"
#include "tests/cbor_copy.h"

static size_t unhex(uint8_t *out, size_t cap, const char *hex) {
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

static int check_hex(const char *hex) {
    uint8_t buf[256];
    size_t n = unhex(buf, sizeof(buf), hex);
    return ent_cbor_check(buf, n, NULL);
}

static void assert_copies_exactly(const uint8_t *buf, size_t len) {
    uint8_t out[512];
    assert_true(len <= sizeof(out));
    ent_cbor_reader r;
    ent_cbor_writer w;
    ent_cbor_reader_init(&r, buf, len);
    ent_cbor_writer_init(&w, out, sizeof(out));
    assert_int_equal(cbor_copy_item(&r, &w, 0), ENT_OK);
    assert_int_equal(ent_cbor_read_end(&r), ENT_OK);
    assert_int_equal(w.err, ENT_OK);
    assert_int_equal(w.len, len);
    assert_memory_equal(out, buf, len);
    /* skip agrees with the structured read */
    ent_cbor_reader_init(&r, buf, len);
    assert_int_equal(ent_cbor_skip(&r), ENT_OK);
    assert_int_equal(r.pos, len);
}

/* RFC 8949 Appendix A: what the profile accepts, what it refuses. */
static void test_rfc8949_vectors(void **state) {
    (void)state;
    json_error_t jerr;
    /* integers beyond int64 appear in the file: read numbers as reals, we
     * only need "hex" and "roundtrip" */
    json_t *all = json_load_file("tests/vectors/cbor-rfc8949-appendix-a.json",
                                 JSON_DECODE_INT_AS_REAL, &jerr);
    if (all == NULL)
        fail_msg("vectors: %s (line %d)", jerr.text, jerr.line);
    assert_true(json_is_array(all));
    size_t accepted = 0, rejected_nonrt = 0, rejected_profile = 0, floats = 0;
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e) {
        const char *hex = json_string_value(json_object_get(e, "hex"));
        json_t *rt = json_object_get(e, "roundtrip");
        assert_non_null(hex);
        assert_true(json_is_boolean(rt));
        uint8_t buf[256];
        size_t n = unhex(buf, sizeof(buf), hex);
        int rc = ent_cbor_check(buf, n, NULL);
        uint8_t b0 = buf[0];
        bool is_float = b0 == 0xf9 || b0 == 0xfa || b0 == 0xfb;
        bool is_tag = (b0 >> 5) == ENT_CBOR_TAG; /* also bignums */
        bool is_simple = (b0 >> 5) == ENT_CBOR_SIMPLE &&
                         b0 != 0xf4 && b0 != 0xf5 && b0 != 0xf6;
        if (!json_is_true(rt)) {
            if (rc == ENT_OK)
                fail_msg("accepted non-deterministic %s", hex);
            rejected_nonrt++;
        } else if (is_float || is_tag || is_simple) {
            if (rc == ENT_OK)
                fail_msg("accepted %s outside the profile", hex);
            /* f818 ("simple(24)") is ill-formed under RFC 8949 §3.3 */
            if (b0 == 0xf8 && n == 2 && buf[1] < 32)
                assert_int_equal(rc, ENT_ECORRUPT);
            else
                assert_int_equal(rc, ENT_ENONCANON);
            rejected_profile++;
            floats += is_float;
        } else {
            if (rc != ENT_OK)
                fail_msg("rejected %s: %s", hex, ent_err_name(rc));
            assert_copies_exactly(buf, n);
            accepted++;
        }
    }
    json_decref(all);
    print_message("appendix A: %zu accepted, %zu non-deterministic rejected, "
                  "%zu outside the profile rejected (%zu floats)\n",
                  accepted, rejected_nonrt, rejected_profile, floats);
    assert_true(accepted >= 30);
    assert_true(rejected_nonrt >= 10);
    assert_true(rejected_profile > 0);
    assert_true(floats >= 10);
}

static void test_non_shortest(void **state) {
    (void)state;
    const char *bad[] = {
        "1817",               /* 23 in one extra byte */
        "1800",
        "190001",             /* 1 in two bytes */
        "1900ff",             /* 255 in two bytes */
        "1a0000ffff",         /* 65535 in four */
        "1b00000000ffffffff", /* 2^32-1 in eight */
        "3817",               /* -24 long form */
        "390001",
        "5801ff",             /* byte string length 1 long form */
        "7800",               /* empty text, long form */
        "790001ff",
        "9800",               /* empty array, long form */
        "980101",
        "b800",               /* empty map, long form */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (check_hex(bad[i]) != ENT_ENONCANON)
            fail_msg("%s: %s", bad[i], ent_err_name(check_hex(bad[i])));
    /* the shortest forms at each boundary pass */
    const char *good[] = {"17", "1818", "18ff", "190100", "19ffff",
                          "1a00010000", "1b0000000100000000", "37", "3818",
                          "5818000102030405060708090a0b0c0d0e0f1011121314151617"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(check_hex(good[i]), ENT_OK);
}

static void test_indefinite_and_profile(void **state) {
    (void)state;
    assert_int_equal(check_hex("9fff"), ENT_ENONCANON);
    assert_int_equal(check_hex("9f01ff"), ENT_ENONCANON);
    assert_int_equal(check_hex("bfff"), ENT_ENONCANON);
    assert_int_equal(check_hex("5fff"), ENT_ENONCANON);
    assert_int_equal(check_hex("5f4101ff"), ENT_ENONCANON);
    assert_int_equal(check_hex("7fff"), ENT_ENONCANON);
    assert_int_equal(check_hex("8201" "9fff"), ENT_ENONCANON);
    assert_int_equal(check_hex("f93c00"), ENT_ENONCANON);  /* half float */
    assert_int_equal(check_hex("fa47c35000"), ENT_ENONCANON);
    assert_int_equal(check_hex("fb3ff199999999999a"), ENT_ENONCANON);
    assert_int_equal(check_hex("c11a514b67b0"), ENT_ENONCANON); /* tag */
    assert_int_equal(check_hex("f7"), ENT_ENONCANON);          /* undefined */
    assert_int_equal(check_hex("e0"), ENT_ENONCANON);          /* simple(0) */
    assert_int_equal(check_hex("f820"), ENT_ENONCANON);        /* simple(32) */
    assert_int_equal(check_hex("f801"), ENT_ECORRUPT); /* ill-formed simple */
    assert_int_equal(check_hex("ff"), ENT_ECORRUPT);   /* stray break */
    assert_int_equal(check_hex("8101ff"), ENT_ECORRUPT);
    assert_int_equal(check_hex("1c"), ENT_ECORRUPT); /* reserved ai 28 */
    assert_int_equal(check_hex("5d"), ENT_ECORRUPT);
    assert_int_equal(check_hex("1f"), ENT_ECORRUPT); /* indefinite uint */
    assert_int_equal(check_hex("f4"), ENT_OK);
    assert_int_equal(check_hex("f5"), ENT_OK);
    assert_int_equal(check_hex("f6"), ENT_OK);
}

static void test_map_order(void **state) {
    (void)state;
    assert_int_equal(check_hex("a201000200"), ENT_OK);
    assert_int_equal(check_hex("a202000100"), ENT_ENONCANON); /* unsorted */
    assert_int_equal(check_hex("a201000100"), ENT_ENONCANON); /* duplicate */
    assert_int_equal(check_hex("a3010002000100"), ENT_ENONCANON);
    /* bytewise order of encodings: 10 (0x0a) < 100 (0x1864) < -1 (0x20) <
     * "a" (0x6161) < "aa" (0x626161) < [] (0x80) */
    assert_int_equal(check_hex("a60a00186400200061610062616100" "8000"),
                     ENT_OK);
    assert_int_equal(check_hex("a2186400" "0a00"), ENT_ENONCANON);
    assert_int_equal(check_hex("a2626161006162" "00"), ENT_ENONCANON);
    assert_int_equal(check_hex("a2616200626161" "00"), ENT_OK);
    /* duplicate keys that are themselves containers */
    assert_int_equal(check_hex("a28101008101" "00"), ENT_ENONCANON);
    /* nested maps keep their own order state */
    assert_int_equal(check_hex("a201a2010002000200"), ENT_OK);
    assert_int_equal(check_hex("a201a2020001000200"), ENT_ENONCANON);
    /* a map missing its last value */
    assert_int_equal(check_hex("a20100" "02"), ENT_ETRUNCATED);
}

static void test_trailing_bytes(void **state) {
    (void)state;
    assert_int_equal(check_hex("0000"), ENT_ECORRUPT);
    assert_int_equal(check_hex("8000"), ENT_ECORRUPT);
    assert_int_equal(check_hex("820102" "03"), ENT_ECORRUPT);
    assert_int_equal(check_hex("a0f6"), ENT_ECORRUPT);
}

/* A record-like encoding with every accepted kind of item. */
static void emit_sample(ent_cbor_writer *w, const void *data) {
    (void)data;
    static const uint8_t id[32] = {1, 2, 3};
    ent_cbor_write_array(w, 6);
    ent_cbor_write_uint(w, 1);
    ent_cbor_write_bytes(w, id, sizeof(id));
    ent_cbor_write_int(w, -300);
    ent_cbor_write_text(w, "z\xc3\xbcrich", 7);
    ent_cbor_write_map(w, 3);
    ent_cbor_write_uint(w, 0);
    ent_cbor_write_null(w);
    ent_cbor_write_uint(w, 70000);
    ent_cbor_write_bool(w, true);
    ent_cbor_write_text(w, "k", 1);
    ent_cbor_write_array(w, 2);
    ent_cbor_write_uint(w, UINT64_MAX);
    ent_cbor_write_bool(w, false);
    ent_cbor_write_array(w, 0);
}

static void test_truncated_every_length(void **state) {
    (void)state;
    uint8_t *buf;
    size_t len;
    assert_int_equal(ent_cbor_encode(&buf, &len, 1024, emit_sample, NULL),
                     ENT_OK);
    assert_int_equal(ent_cbor_check(buf, len, NULL), ENT_OK);
    assert_copies_exactly(buf, len);
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* ASan sees any over-read */
        memcpy(copy, buf, n);
        int rc = ent_cbor_check(copy, n, NULL);
        if (rc != ENT_ETRUNCATED)
            fail_msg("prefix %zu of %zu: %s", n, len, ent_err_name(rc));
        ent_cbor_reader r;
        ent_cbor_reader_init(&r, copy, n);
        assert_int_not_equal(ent_cbor_skip(&r), ENT_OK);
        free(copy);
    }
    free(buf);
}

static void test_depth_bomb(void **state) {
    (void)state;
    size_t n = 10000;
    uint8_t *buf = malloc(n + 1);
    memset(buf, 0x81, n);
    buf[n] = 0x00;
    clock_t t0 = clock();
    assert_int_equal(ent_cbor_check(buf, n + 1, NULL), ENT_ETOOBIG);
    /* a limit above the hard cap is clamped, not honoured */
    ent_cbor_limits lim;
    ent_cbor_limits_default(&lim);
    lim.max_depth = 100000;
    assert_int_equal(ent_cbor_check(buf, n + 1, &lim), ENT_ETOOBIG);
    /* 10,000 nested maps too */
    memset(buf, 0xa1, n);
    assert_int_equal(ent_cbor_check(buf, n + 1, NULL), ENT_ETOOBIG);
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 0.5);
    /* exactly at the limit passes, one more fails */
    lim.max_depth = 4;
    memset(buf, 0x81, 4);
    buf[4] = 0x00;
    assert_int_equal(ent_cbor_check(buf, 5, &lim), ENT_OK);
    memset(buf, 0x81, 5);
    buf[5] = 0x80; /* an empty array still counts as a level */
    assert_int_equal(ent_cbor_check(buf, 6, &lim), ENT_ETOOBIG);
    free(buf);
}

static void test_huge_length_prefixes(void **state) {
    (void)state;
    /* limits first: nothing is sized from the prefix */
    assert_int_equal(check_hex("9affffffff"), ENT_ETOOBIG);
    assert_int_equal(check_hex("9bffffffffffffffff"), ENT_ETOOBIG);
    assert_int_equal(check_hex("bbffffffffffffffff"), ENT_ETOOBIG);
    assert_int_equal(check_hex("5bffffffffffffffff"), ENT_ETOOBIG);
    assert_int_equal(check_hex("7affffffff61"), ENT_ETOOBIG);
    /* with limits wide open, the bytes that remain bound the claim */
    ent_cbor_limits lim = {.max_depth = 8, .max_items = SIZE_MAX,
                           .max_total = SIZE_MAX, .max_str = SIZE_MAX,
                           .max_size = SIZE_MAX};
    uint8_t a[] = {0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
    uint8_t m[] = {0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    uint8_t s[] = {0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
    assert_int_equal(ent_cbor_check(a, sizeof(a), &lim), ENT_ETRUNCATED);
    assert_int_equal(ent_cbor_check(m, sizeof(m), &lim), ENT_ETRUNCATED);
    assert_int_equal(ent_cbor_check(s, sizeof(s), &lim), ENT_ETRUNCATED);
    ent_cbor_reader r;
    size_t n;
    const uint8_t *p;
    ent_cbor_reader_init(&r, a, sizeof(a));
    assert_int_equal(ent_cbor_read_array(&r, &n), ENT_ETRUNCATED);
    ent_cbor_reader_init(&r, m, sizeof(m));
    assert_int_equal(ent_cbor_read_map(&r, &n), ENT_ETRUNCATED);
    ent_cbor_reader_init(&r, s, sizeof(s));
    assert_int_equal(ent_cbor_read_bytes(&r, &p, &n), ENT_ETRUNCATED);
    assert_int_equal(ent_cbor_skip(&r), ENT_ETRUNCATED);
    assert_int_equal(r.pos, 0);
}

static void test_utf8(void **state) {
    (void)state;
    assert_int_equal(check_hex("62c3bc"), ENT_OK);
    assert_int_equal(check_hex("63e6b0b4"), ENT_OK);
    assert_int_equal(check_hex("64f0908591"), ENT_OK);
    assert_int_equal(check_hex("64f48fbfbf"), ENT_OK); /* U+10FFFF */
    assert_int_equal(check_hex("62c328"), ENT_ECORRUPT);   /* bad continuation */
    assert_int_equal(check_hex("6180"), ENT_ECORRUPT);     /* lone continuation */
    assert_int_equal(check_hex("62c080"), ENT_ECORRUPT);   /* overlong NUL */
    assert_int_equal(check_hex("63e08080"), ENT_ECORRUPT); /* overlong */
    assert_int_equal(check_hex("63eda080"), ENT_ECORRUPT); /* surrogate */
    assert_int_equal(check_hex("64f4908080"), ENT_ECORRUPT); /* > U+10FFFF */
    assert_int_equal(check_hex("61ff"), ENT_ECORRUPT);
    assert_int_equal(check_hex("62e6b0"), ENT_ECORRUPT); /* cut sequence */
    assert_int_equal(check_hex("a162c32800"), ENT_ECORRUPT); /* as a key */
    /* byte strings are not text */
    assert_int_equal(check_hex("42c328"), ENT_OK);
}

static void test_limits(void **state) {
    (void)state;
    ent_cbor_limits lim = {.max_depth = 2, .max_items = 3, .max_total = 7,
                           .max_str = 4, .max_size = 16};
    uint8_t b[32];
    size_t n;
    n = unhex(b, sizeof(b), "83010203");
    assert_int_equal(ent_cbor_check(b, n, &lim), ENT_OK);
    n = unhex(b, sizeof(b), "8401020304");
    assert_int_equal(ent_cbor_check(b, n, &lim), ENT_ETOOBIG); /* items */
    n = unhex(b, sizeof(b), "a3010002000300");
    assert_int_equal(ent_cbor_check(b, n, &lim), ENT_OK);
    n = unhex(b, sizeof(b), "a40100020003000400");
    assert_int_equal(ent_cbor_check(b, n, &lim), ENT_ETOOBIG); /* pairs */
    n = unhex(b, sizeof(b), "8283010203820405");
    assert_int_equal(ent_cbor_check(b, n, &lim), ENT_ETOOBIG); /* total 8 > 7 */
    n = unhex(b, sizeof(b), "828201028103");
    assert_int_equal(ent_cbor_check(b, n, &lim), ENT_OK); /* total 6 */
    n = unhex(b, sizeof(b), "4401020304");
    assert_int_equal(ent_cbor_check(b, n, &lim), ENT_OK);
    n = unhex(b, sizeof(b), "450102030405");
    assert_int_equal(ent_cbor_check(b, n, &lim), ENT_ETOOBIG); /* string */
    memset(b, 0, sizeof(b));
    b[0] = 0x51; /* 17-byte encoding; string limit lifted */
    lim.max_str = 100;
    assert_int_equal(ent_cbor_check(b, 17, &lim), ENT_ETOOBIG); /* size */
    b[0] = 0x4f;
    assert_int_equal(ent_cbor_check(b, 16, &lim), ENT_OK);
    assert_int_equal(ent_cbor_check(b, 0, &lim), ENT_ETRUNCATED);
}

static void test_writer_ints(void **state) {
    (void)state;
    static const struct {
        int64_t v;
        size_t len;
    } cases[] = {
        {0, 1}, {23, 1}, {24, 2}, {255, 2}, {256, 3}, {65535, 3},
        {65536, 5}, {4294967295LL, 5}, {4294967296LL, 9}, {INT64_MAX, 9},
        {-1, 1}, {-24, 1}, {-25, 2}, {-256, 2}, {-257, 3}, {INT64_MIN, 9},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t buf[9];
        ent_cbor_writer w;
        ent_cbor_writer_init(&w, buf, sizeof(buf));
        ent_cbor_write_int(&w, cases[i].v);
        assert_int_equal(w.err, ENT_OK);
        assert_int_equal(w.len, cases[i].len);
        assert_int_equal(ent_cbor_check(buf, w.len, NULL), ENT_OK);
        ent_cbor_reader r;
        int64_t got;
        ent_cbor_reader_init(&r, buf, w.len);
        assert_int_equal(ent_cbor_read_int(&r, &got), ENT_OK);
        assert_true(got == cases[i].v);
        assert_int_equal(ent_cbor_read_end(&r), ENT_OK);
    }
    /* values that do not fit int64 are refused by read_int, not wrapped */
    uint8_t big[] = {0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0};
    uint8_t neg[] = {0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0};
    ent_cbor_reader r;
    int64_t v;
    uint64_t u;
    ent_cbor_reader_init(&r, big, sizeof(big));
    assert_int_equal(ent_cbor_read_int(&r, &v), ENT_ECORRUPT);
    assert_int_equal(r.pos, 0);
    assert_int_equal(ent_cbor_read_uint(&r, &u), ENT_OK);
    assert_true(u == (1ULL << 63));
    ent_cbor_reader_init(&r, neg, sizeof(neg));
    assert_int_equal(ent_cbor_read_int(&r, &v), ENT_ECORRUPT);
    /* a too-small buffer is a sticky ETOOBIG, never an overrun */
    uint8_t small[3];
    ent_cbor_writer w;
    ent_cbor_writer_init(&w, small, sizeof(small));
    ent_cbor_write_uint(&w, 1);
    ent_cbor_write_uint(&w, 1000);
    assert_int_equal(w.err, ENT_ETOOBIG);
    ent_cbor_write_uint(&w, 1);
    assert_int_equal(w.err, ENT_ETOOBIG);
    assert_int_equal(w.len, 1);
}

static void test_reader_types(void **state) {
    (void)state;
    uint8_t b[64];
    size_t n = unhex(b, sizeof(b), "8543010203616101f5f6");
    ent_cbor_reader r;
    size_t cnt;
    uint8_t three[3];
    uint8_t two[2];
    const char *s;
    bool bo;
    uint64_t u;
    ent_cbor_reader_init(&r, b, n);
    assert_int_equal(ent_cbor_read_map(&r, &cnt), ENT_ECORRUPT);
    assert_int_equal(ent_cbor_read_array(&r, &cnt), ENT_OK);
    assert_int_equal(cnt, 5);
    assert_int_equal(ent_cbor_read_bytes_exact(&r, two, 2), ENT_ECORRUPT);
    assert_int_equal(ent_cbor_read_text(&r, &s, &cnt), ENT_ECORRUPT);
    assert_int_equal(ent_cbor_read_bytes_exact(&r, three, 3), ENT_OK);
    assert_int_equal(three[2], 3);
    assert_int_equal(ent_cbor_read_text(&r, &s, &cnt), ENT_OK);
    assert_int_equal(cnt, 1);
    assert_int_equal(s[0], 'a');
    assert_int_equal(ent_cbor_read_bool(&r, &bo), ENT_ECORRUPT);
    assert_int_equal(ent_cbor_read_uint(&r, &u), ENT_OK);
    assert_int_equal(ent_cbor_read_null(&r), ENT_ECORRUPT);
    assert_int_equal(ent_cbor_read_bool(&r, &bo), ENT_OK);
    assert_true(bo);
    assert_int_equal(ent_cbor_read_end(&r), ENT_ECORRUPT);
    assert_true(ent_cbor_peek_null(&r));
    assert_int_equal(ent_cbor_read_null(&r), ENT_OK);
    assert_int_equal(ent_cbor_read_end(&r), ENT_OK);
    assert_int_equal(ent_cbor_read_uint(&r, &u), ENT_ETRUNCATED);
    assert_int_equal(ent_cbor_peek(&r), ENT_ETRUNCATED);
    /* the reader refuses long-form heads by itself */
    n = unhex(b, sizeof(b), "1817");
    ent_cbor_reader_init(&r, b, n);
    assert_int_equal(ent_cbor_read_uint(&r, &u), ENT_ENONCANON);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8949_vectors),
        cmocka_unit_test(test_non_shortest),
        cmocka_unit_test(test_indefinite_and_profile),
        cmocka_unit_test(test_map_order),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_depth_bomb),
        cmocka_unit_test(test_huge_length_prefixes),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_writer_ints),
        cmocka_unit_test(test_reader_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
