/*
 * overlap_test.c - account mapping (node/overlap/): matching keys
 * (normalisation tables), the account store, the size buckets, and the PSI
 * math with both sides of a run in one process: the intersection each side
 * finds, counts-only runs that hide which slots matched, padding that
 * never matches, partner points that are not valid encodings, and the
 * OVERLAP wire message.
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
#include "node/err.h"
#include "node/overlap/accounts.h"
#include "node/norm.h"
#include "node/overlap/psi_run.h"
#include "protocol/wire.h"
#include "tests/store_fixture.h"

static void test_domain(void **st) {
    static const struct {
        const char *in, *out;
        int rc;
    } t[] = {
        {"example.com", "example.com", ENT_OK},
        {"  WWW.Example.COM ", "example.com", ENT_OK},
        {"https://www.example.com/about?x=1#top", "example.com", ENT_OK},
        {"http://user@shop.example.co.uk:8080/", "example.co.uk", ENT_OK},
        {"sales.eu.example.com.au", "example.com.au", ENT_OK},
        {"example.com.", "example.com", ENT_OK},
        {"www.www.acme.de", "acme.de", ENT_OK},
        {"foo.github.io", "foo.github.io", ENT_OK}, /* a private suffix */
        {"co.uk", "", ENT_EINVAL},                  /* a suffix itself */
        {"localhost", "", ENT_EINVAL},
        {"192.168.1.1", "", ENT_EINVAL},
        {"1hta8.8.0/x", "", ENT_EINVAL}, /* a numeric top-level label */
        {"exa mple.com", "", ENT_EINVAL},
        {"a..b.com", "", ENT_EINVAL},
        {"   ", "", ENT_ENOENT},
        {"", "", ENT_ENOENT},
    };
    char out[ENT_NORM_DOMAIN_MAX + 1];
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int rc = ent_norm_domain(out, t[i].in, strlen(t[i].in));
        if (rc != t[i].rc || (rc == ENT_OK && strcmp(out, t[i].out) != 0))
            fail_msg("domain '%s': got %d '%s', want %d '%s'", t[i].in, rc,
                     out, t[i].rc, t[i].out);
    }
    char big[ENT_NORM_MAX_IN + 2];
    memset(big, 'a', sizeof(big));
    assert_int_equal(ent_norm_domain(out, big, sizeof(big)), ENT_EINVAL);
}

static void test_name(void **st) {
    static const struct {
        const char *in, *out;
        int rc;
    } t[] = {
        {"Acme Inc.", "acme", ENT_OK},
        {"ACME, Inc", "acme", ENT_OK},
        {"Acme GmbH & Co. KG", "acme", ENT_OK},
        {"Johnson & Johnson", "johnson and johnson", ENT_OK},
        {"Müller GmbH", "müller", ENT_OK}, /* non-ASCII bytes kept as is */
        {"Globex Corporation Ltd", "globex", ENT_OK},
        {"Initech S.A.", "initech", ENT_OK},
        {"McDonald's Corp", "mcdonalds", ENT_OK},
        {"  Soylent   -  Green  LLC ", "soylent green", ENT_OK},
        {"Inc", "inc", ENT_OK}, /* one word stays */
        {"The Limited Company Ltd", "the", ENT_OK},
        {"...", "", ENT_ENOENT},
        {"bad \xff utf8", "", ENT_EINVAL},
    };
    char out[ENT_NORM_NAME_MAX + 1];
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int rc = ent_norm_name(out, t[i].in, strlen(t[i].in));
        if (rc != t[i].rc || (rc == ENT_OK && strcmp(out, t[i].out) != 0))
            fail_msg("name '%s': got %d '%s', want %d '%s'", t[i].in, rc,
                     out, t[i].rc, t[i].out);
    }
    char k[ENT_NORM_KEY_MAX];
    assert_int_equal(ent_norm_key(k, "Acme Inc", "https://www.acme.com/"),
                     ENT_OK);
    assert_string_equal(k, "d:acme.com");
    assert_int_equal(ent_norm_key(k, "Acme Inc", NULL), ENT_OK);
    assert_string_equal(k, "n:acme");
    assert_int_equal(ent_norm_key(k, "Acme", "not a domain"), ENT_EINVAL);
    assert_int_equal(ent_norm_key(k, NULL, NULL), ENT_ENOENT);
}

static int count_fn(void *data, const ent_account *a) {
    (*(int *)data)++;
    return 0;
}

typedef struct acc_ctx {
    ent_account a;
    int rc;
} acc_ctx;

static int put_fn(ent_txn *txn, void *data) {
    return ent_accounts_put(txn, data);
}

static int get_fn(ent_txn *txn, void *data) {
    acc_ctx *c = data;
    return ent_accounts_get(txn, c->a.key, &c->a);
}

static int list_fn(ent_txn *txn, void *data) {
    return ent_accounts_foreach(txn, count_fn, data);
}

static void test_accounts(void **st) {
    char dir[64], err[128];
    ent_store *s = NULL;
    ent_account a;
    json_error_t je;
    assert_int_equal(tmp_store(&s, dir, sizeof(dir), "acc", NULL), ENT_OK);
    json_t *o = json_loads("{\"name\":\"Acme Inc\",\"domain\":\"www.acme.com\","
                           "\"country\":\"de\",\"flags\":\"customer, "
                           "opportunity\",\"region\":\"EMEA\"}",
                           0, &je);
    assert_int_equal(ent_account_from_json(o, &a, err, sizeof(err)), ENT_OK);
    json_decref(o);
    assert_string_equal(a.key, "d:acme.com");
    assert_string_equal(a.country, "DE");
    assert_int_equal(a.flags, ENT_ACCOUNT_CUSTOMER | ENT_ACCOUNT_OPPORTUNITY);
    assert_int_equal(ent_store_write(s, put_fn, &a), ENT_OK);
    acc_ctx c = {.a = {.key = "d:acme.com"}};
    assert_int_equal(ent_store_read(s, get_fn, &c), ENT_OK);
    assert_string_equal(c.a.name, "Acme Inc");
    assert_string_equal(c.a.region, "EMEA");
    assert_int_equal(c.a.flags, a.flags);
    /* refused: what is wrong is named */
    static const char *bad[] = {
        "{\"name\":\"x\",\"flags\":[\"vip\"]}", "{\"country\":\"DE\"}",
        "{\"name\":\"x\",\"deal_size\":5}", "{\"domain\":\"co.uk\"}",
        "{\"name\":\"x\",\"country\":\"D1\"}", "[1]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o = json_loads(bad[i], JSON_DECODE_ANY, &je);
        assert_non_null(o);
        err[0] = '\0';
        assert_int_equal(ent_account_from_json(o, &a, err, sizeof(err)),
                         ENT_EINVAL);
        assert_true(err[0] != '\0');
        json_decref(o);
    }
    int n = 0;
    assert_int_equal(ent_store_read(s, list_fn, &n), ENT_OK);
    assert_int_equal(n, 1);
    ent_store_close(s);
    rm_tree(dir);
}

static void test_bucket(void **st) {
    assert_int_equal(ent_psi_bucket(0), ENT_PSI_MIN_BUCKET);
    assert_int_equal(ent_psi_bucket(64), 64);
    assert_int_equal(ent_psi_bucket(65), 72);
    assert_int_equal(ent_psi_bucket(100000), 106496);
    assert_int_equal(ent_psi_bucket(ENT_PSI_MAX_BUCKET), ENT_PSI_MAX_BUCKET);
    assert_int_equal(ent_psi_bucket(ENT_PSI_MAX_BUCKET + 1), 0);
    /* every size maps to a bucket at most 1/8 above it, itself a bucket */
    for (size_t n = 1; n < 5000; n += 7) {
        size_t m = ent_psi_bucket(n);
        assert_true(m >= n && ent_psi_bucket_valid(m));
        assert_true(m <= ENT_PSI_MIN_BUCKET || m * 8 <= n * 9 + 8);
    }
    assert_false(ent_psi_bucket_valid(100));
    assert_false(ent_psi_bucket_valid(32));
}

/* Keys "d:acct-I.example" for i in [from, to). */
static void mk_keys(char ***keys, size_t **lens, size_t from, size_t to) {
    size_t n = to - from;
    *keys = calloc(n ? n : 1, sizeof(char *));
    *lens = calloc(n ? n : 1, sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        char b[64];
        snprintf(b, sizeof(b), "d:acct-%zu.example", from + i);
        (*keys)[i] = strdup(b);
        (*lens)[i] = strlen(b);
    }
}

static void free_keys(char **keys, size_t *lens, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    free(lens);
}

/* One full exchange between A (keys a0..a1) and B (b0..b1). */
static void exchange(ent_psi_run *ra, ent_psi_run *rb, bool shuffle) {
    assert_int_equal(ent_psi_partner_begin(ra, ent_psi_size(rb)), ENT_OK);
    assert_int_equal(ent_psi_partner_begin(rb, ent_psi_size(ra)), ENT_OK);
    /* in two pieces, as messages bring them */
    size_t h = ent_psi_size(rb) / 2;
    assert_int_equal(ent_psi_partner_put(ra, 0, ent_psi_blinded(rb), h),
                     ENT_OK);
    assert_int_equal(ent_psi_partner_put(ra, h + 1, ent_psi_blinded(rb), 1),
                     ENT_EPROTO); /* a gap */
    assert_int_equal(ent_psi_partner_put(ra, h, ent_psi_blinded(rb) + h * 32,
                                         ent_psi_size(rb) - h),
                     ENT_OK);
    assert_int_equal(ent_psi_partner_put(rb, 0, ent_psi_blinded(ra),
                                         ent_psi_size(ra)),
                     ENT_OK);
    assert_true(ent_psi_partner_full(ra) && ent_psi_partner_full(rb));
    ent_psi_double_range(ra, 0, ent_psi_size(rb));
    ent_psi_double_range(rb, 0, 10);
    ent_psi_double_range(rb, 10, ent_psi_size(ra));
    assert_int_equal(ent_psi_returned_begin(ra), ENT_OK);
    assert_int_equal(ent_psi_returned_begin(rb), ENT_OK);
    assert_int_equal(ent_psi_returned_put(ra, 0, ent_psi_doubled(rb, shuffle),
                                          ent_psi_size(ra)),
                     ENT_OK);
    assert_int_equal(ent_psi_returned_put(rb, 0, ent_psi_doubled(ra, shuffle),
                                          ent_psi_size(rb)),
                     ENT_OK);
}

static void test_psi(void **st) {
    char **ka, **kb;
    size_t *la, *lb, ca, cb;
    /* A holds 0..300, B holds 250..400: 50 in common */
    mk_keys(&ka, &la, 0, 300);
    mk_keys(&kb, &lb, 250, 400);
    ent_psi_run *ra, *rb;
    assert_int_equal(ent_psi_run_new(&ra, 300), ENT_OK);
    assert_int_equal(ent_psi_run_new(&rb, 150), ENT_OK);
    assert_int_equal(ent_psi_size(ra), ent_psi_bucket(300));
    assert_int_equal(ent_psi_size(rb), ent_psi_bucket(150));
    ent_psi_blind_range(ra, (const char *const *)ka, la, 0, 100);
    ent_psi_blind_range(ra, (const char *const *)ka, la, 100,
                        ent_psi_size(ra));
    ent_psi_blind_range(rb, (const char *const *)kb, lb, 0, ent_psi_size(rb));
    /* no blinded point equals the plain hash of its key: a sees nothing */
    uint8_t h[32];
    ent_psi_hash_point(h, ka[260], la[260]);
    for (size_t s = 0; s < ent_psi_size(ra); s++)
        assert_memory_not_equal(ent_psi_blinded(ra) + s * 32, h, 32);
    exchange(ra, rb, false);
    bool wa[300], wb[150];
    assert_int_equal(ent_psi_match(ra, &ca, wa), ENT_OK);
    assert_int_equal(ent_psi_match(rb, &cb, wb), ENT_OK);
    assert_int_equal(ca, 50);
    assert_int_equal(cb, 50);
    for (size_t i = 0; i < 300; i++)
        assert_int_equal(wa[i], i >= 250);
    for (size_t i = 0; i < 150; i++)
        assert_int_equal(wb[i], i < 50);
    /* both sides name each match by the same tag */
    uint8_t run[16] = {1}, ta[ENT_PSI_TAG_LEN], tb[ENT_PSI_TAG_LEN];
    ent_psi_tag_own(ra, 270, run, ta);
    ent_psi_tag_own(rb, 20, run, tb);
    assert_memory_equal(ta, tb, ENT_PSI_TAG_LEN);
    ent_psi_tag_own(rb, 21, run, tb);
    assert_memory_not_equal(ta, tb, ENT_PSI_TAG_LEN);
    ent_psi_run_free(ra);
    ent_psi_run_free(rb);

    /* counts only: the count is right, the order of the returned points
     * is not the slots' (so the slot of a match is hidden) */
    assert_int_equal(ent_psi_run_new(&ra, 300), ENT_OK);
    assert_int_equal(ent_psi_run_new(&rb, 150), ENT_OK);
    ent_psi_blind_range(ra, (const char *const *)ka, la, 0, ent_psi_size(ra));
    ent_psi_blind_range(rb, (const char *const *)kb, lb, 0, ent_psi_size(rb));
    exchange(ra, rb, true);
    assert_int_equal(ent_psi_match(ra, &ca, NULL), ENT_OK);
    assert_int_equal(ent_psi_match(rb, &cb, NULL), ENT_OK);
    assert_int_equal(ca, 50);
    assert_int_equal(cb, 50);
    assert_memory_not_equal(ent_psi_doubled(rb, true),
                            ent_psi_doubled(rb, false),
                            ent_psi_size(ra) * 32);
    ent_psi_run_free(ra);
    ent_psi_run_free(rb);
    free_keys(ka, la, 300);
    free_keys(kb, lb, 150);
}

static void test_psi_hostile(void **st) {
    char **ka;
    size_t *la, c;
    mk_keys(&ka, &la, 0, 10);
    ent_psi_run *r;
    assert_int_equal(ent_psi_run_new(&r, 10), ENT_OK);
    ent_psi_blind_range(r, (const char *const *)ka, la, 0, ent_psi_size(r));
    assert_int_equal(ent_psi_match(r, &c, NULL), ENT_EPROTO); /* not ready */
    assert_int_equal(ent_psi_partner_begin(r, 65), ENT_EPROTO);
    assert_int_equal(ent_psi_partner_begin(r, 64), ENT_OK);
    assert_int_equal(ent_psi_partner_begin(r, 64), ENT_EPROTO);
    uint8_t junk[64 * 32];
    memset(junk, 0xff, sizeof(junk)); /* not canonical encodings */
    assert_int_equal(ent_psi_partner_put(r, 0, junk, 65), ENT_EPROTO);
    assert_int_equal(ent_psi_partner_put(r, 0, junk, 64), ENT_OK);
    ent_psi_double_range(r, 0, 64);
    assert_int_equal(ent_psi_invalid(r), 64);
    ent_psi_run_free(r);
    assert_int_equal(ent_psi_run_new(&r, ENT_PSI_MAX_BUCKET + 1), ENT_EINVAL);
    free_keys(ka, la, 10);
}

/* The OVERLAP message (spec/overlap.md §5): round trip at the largest
 * size, and what the codec refuses. */
static void test_wire(void **st) {
    static uint8_t pts[ENT_WIRE_OVERLAP_MAX_DATA + 1];
    ent_wire_msg m, back;
    uint8_t *enc = NULL;
    size_t len = 0;
    memset(&m, 0, sizeof(m));
    m.type = ENT_WIRE_OVERLAP;
    m.u.overlap.kind = 4;
    memset(m.u.overlap.run, 7, sizeof(m.u.overlap.run));
    m.u.overlap.a = 262144;
    m.u.overlap.b = 2040;
    for (size_t i = 0; i < sizeof(pts); i++)
        pts[i] = (uint8_t)i;
    m.u.overlap.data = pts;
    m.u.overlap.len = ENT_WIRE_OVERLAP_MAX_DATA; /* 2040 points */
    assert_int_equal(ent_wire_encode(&m, &enc, &len), ENT_OK);
    assert_true(len <= ENT_WIRE_MAX_MSG);
    assert_int_equal(len, ent_wire_encoded_size(&m));
    assert_int_equal(ent_wire_decode(&back, enc, len), ENT_OK);
    assert_int_equal(back.type, ENT_WIRE_OVERLAP);
    assert_int_equal(back.u.overlap.kind, 4);
    assert_int_equal(back.u.overlap.a, 262144);
    assert_int_equal(back.u.overlap.b, 2040);
    assert_memory_equal(back.u.overlap.run, m.u.overlap.run, 16);
    assert_memory_equal(back.u.overlap.data, pts, ENT_WIRE_OVERLAP_MAX_DATA);
    ent_wire_msg_clear(&back);
    /* a kind out of range in the encoding: refused by the decoder */
    uint8_t *kpos = memchr(enc, 4, 8);
    assert_non_null(kpos);
    *kpos = 16;
    assert_int_equal(ent_wire_decode(&back, enc, len), ENT_EPROTO);
    free(enc);
    /* refused by the encoder: kind 0, data over the bound */
    m.u.overlap.kind = 0;
    assert_int_equal(ent_wire_encode(&m, &enc, &len), ENT_EINVAL);
    m.u.overlap.kind = 5;
    m.u.overlap.len = ENT_WIRE_OVERLAP_MAX_DATA + 1;
    assert_int_equal(ent_wire_encode(&m, &enc, &len), ENT_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain),     cmocka_unit_test(test_name),
        cmocka_unit_test(test_accounts),   cmocka_unit_test(test_bucket),
        cmocka_unit_test(test_psi),        cmocka_unit_test(test_psi_hostile),
        cmocka_unit_test(test_wire),
    };
    if (ent_crypto_init() != ENT_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
