/*
 * timefmt_test.c - the printed forms of a time (node/timefmt.h): RFC 3339
 * UTC with milliseconds for JSON, parsed back exactly; local time for text
 * output under a fixed TZ; the edges (epoch, leap day, year 9999, offsets)
 * and malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/err.h"
#include "node/timefmt.h"

static void test_rfc3339(void **state) {
    (void)state;
    char s[ENT_TIMEFMT_RFC3339_LEN + 1];
    assert_int_equal(ent_timefmt_rfc3339(s, 0), ENT_OK);
    assert_string_equal(s, "1970-01-01T00:00:00.000Z");
    assert_int_equal(ent_timefmt_rfc3339(s, UINT64_C(1796445178123)), ENT_OK);
    assert_string_equal(s, "2026-12-05T04:32:58.123Z");
    assert_int_equal(ent_timefmt_rfc3339(s, UINT64_C(951782400000)), ENT_OK);
    assert_string_equal(s, "2000-02-29T00:00:00.000Z");
    assert_int_equal(ent_timefmt_rfc3339(s, ENT_TIMEFMT_MAX_MS), ENT_OK);
    assert_string_equal(s, "9999-12-31T23:59:59.999Z");
    assert_int_equal(strlen(s), ENT_TIMEFMT_RFC3339_LEN);
    assert_int_equal(ent_timefmt_rfc3339(s, ENT_TIMEFMT_MAX_MS + 1),
                     ENT_EINVAL);
    assert_string_equal(s, "");
}

static void test_parse_round_trip(void **state) {
    (void)state;
    uint64_t ms = 0;
    uint64_t samples[] = {0,
                          1,
                          999,
                          1000,
                          UINT64_C(951782400000),
                          UINT64_C(1796445178123),
                          ENT_TIMEFMT_MAX_MS};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        char s[ENT_TIMEFMT_RFC3339_LEN + 1];
        assert_int_equal(ent_timefmt_rfc3339(s, samples[i]), ENT_OK);
        assert_int_equal(ent_timefmt_parse(s, &ms), ENT_OK);
        assert_true(ms == samples[i]);
    }
    /* other RFC 3339 spellings */
    assert_int_equal(ent_timefmt_parse("2026-12-05t04:32:58z", &ms), ENT_OK);
    assert_true(ms == UINT64_C(1796445178000));
    assert_int_equal(
        ent_timefmt_parse("2026-12-05T05:32:58.1234567+01:00", &ms), ENT_OK);
    assert_true(ms == UINT64_C(1796445178123));
    assert_int_equal(ent_timefmt_parse("2026-12-04T23:32:58.5-05:00", &ms),
                     ENT_OK);
    assert_true(ms == UINT64_C(1796445178500));
}

static void test_parse_refuses(void **state) {
    (void)state;
    uint64_t ms = 42;
    const char *bad[] = {
        "",
        "2026-12-05",
        "2026-12-05 04:32:58Z",     /* space, not T */
        "2026-12-05T04:32:58",      /* no zone */
        "2026-13-05T04:32:58Z",     /* month */
        "2026-02-29T04:32:58Z",     /* not a leap year */
        "2026-12-05T24:00:00Z",     /* hour */
        "2026-12-05T04:32:58.Z",    /* empty fraction */
        "2026-12-05T04:32:58Zjunk", /* trailing */
        "2026-12-05T04:32:58+0100", /* offset without colon */
        "1969-12-31T23:59:59Z",     /* before the epoch */
        "1796445178",               /* a number */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ent_timefmt_parse(bad[i], &ms), ENT_EINVAL);
    assert_int_equal(ent_timefmt_parse(NULL, &ms), ENT_EINVAL);
    assert_true(ms == 42);
}

static void test_local(void **state) {
    (void)state;
    char s[ENT_TIMEFMT_LOCAL_LEN + 1];
    setenv("TZ", "UTC", 1);
    tzset();
    assert_int_equal(ent_timefmt_local(s, UINT64_C(1796445178999)), ENT_OK);
    assert_string_equal(s, "2026-12-05 04:32:58");
    setenv("TZ", "Asia/Kolkata", 1); /* +05:30, no daylight saving */
    tzset();
    assert_int_equal(ent_timefmt_local(s, UINT64_C(1796445178999)), ENT_OK);
    if (strcmp(s, "2026-12-05 04:32:58") != 0) /* zoneinfo installed */
        assert_string_equal(s, "2026-12-05 10:02:58");
    assert_int_equal(ent_timefmt_local(s, ENT_TIMEFMT_MAX_MS + 1), ENT_EINVAL);
    setenv("TZ", "UTC", 1);
    tzset();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_parse_round_trip),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
