/* hlc_test.c - the hybrid logical clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node/err.h"
#include "node/objects/hlc.h"

static void test_monotonic(void **state) {
    ent_hlc c;
    uint64_t a, b, v;
    ent_hlc_init(&c);
    assert_int_equal(ent_hlc_now(&c, 1000, &a), ENT_OK);
    assert_int_equal(ent_hlc_ms(a), 1000);
    assert_int_equal(ent_hlc_counter(a), 0);
    /* same millisecond: the counter moves */
    assert_int_equal(ent_hlc_now(&c, 1000, &b), ENT_OK);
    assert_true(b > a);
    assert_int_equal(ent_hlc_counter(b), 1);
    /* wall clock going backwards never makes the clock go backwards */
    assert_int_equal(ent_hlc_now(&c, 10, &v), ENT_OK);
    assert_true(v > b);
    assert_int_equal(ent_hlc_ms(v), 1000);
    /* wall clock going forward resets the counter */
    assert_int_equal(ent_hlc_now(&c, 2000, &v), ENT_OK);
    assert_int_equal(v, ent_hlc_make(2000, 0));
    /* counter overflow carries into the ms part, still strictly greater */
    c.last = ent_hlc_make(3000, 0xffff);
    assert_int_equal(ent_hlc_now(&c, 3000, &v), ENT_OK);
    assert_int_equal(v, ent_hlc_make(3001, 0));
}

static void test_observe(void **state) {
    ent_hlc c;
    uint64_t v;
    ent_hlc_init(&c);
    uint64_t remote = ent_hlc_make(5000, 7);
    assert_int_equal(ent_hlc_observe(&c, 4000, remote), ENT_OK);
    assert_int_equal(ent_hlc_now(&c, 4000, &v), ENT_OK);
    assert_true(v > remote);
    /* an old remote value does not move the clock back */
    assert_int_equal(ent_hlc_observe(&c, 4000, ent_hlc_make(1, 0)), ENT_OK);
    uint64_t w;
    assert_int_equal(ent_hlc_now(&c, 4000, &w), ENT_OK);
    assert_true(w > v);
    /* too far in the future: refused, clock untouched */
    uint64_t before = c.last;
    uint64_t far = ent_hlc_make(4000 + ENT_HLC_MAX_DRIFT_MS + 1, 0);
    assert_int_equal(ent_hlc_observe(&c, 4000, far), ENT_EPROTO);
    assert_int_equal(c.last, before);
    /* exactly at the limit: accepted */
    uint64_t edge = ent_hlc_make(4000 + ENT_HLC_MAX_DRIFT_MS, 0);
    assert_int_equal(ent_hlc_observe(&c, 4000, edge), ENT_OK);
    assert_int_equal(c.last, edge);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monotonic),
        cmocka_unit_test(test_observe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
