/*
 * jtext_test.c - the compact JSON text writer (node/jtext.h): a text that
 * starts in the caller's array and moves to the heap keeps its bytes,
 * taking it always hands out malloc'ed text, and each writer gives what
 * json_dumps(JSON_COMPACT) gives (event_test.c compares whole documents).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "node/jtext.h"

static void assert_take(ent_jtext *t, const char *want) {
    char *got = ent_jtext_take(t);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(t->len, 0); /* emptied */
}

static void writers(void **state) {
    (void)state;
    char arr[8];
    ent_jtext t;
    bool first = true;
    const uint8_t b[3] = {0x00, 0xab, 0xff};
    ent_jtext_init(&t, arr, sizeof(arr));
    ENT_JTEXT_LIT(&t, "{");
    assert_false(t.heap); /* still the caller's */
    ent_jtext_key(&t, &first, "a\"b");
    ent_jtext_int(&t, INT64_MIN);
    ent_jtext_key(&t, &first, "max");
    ent_jtext_int(&t, INT64_MAX);
    ent_jtext_key(&t, &first, "hex");
    ent_jtext_hex(&t, b, sizeof(b));
    ent_jtext_key(&t, &first, "s");
    ent_jtext_str(&t, "x\0\x1f\\\"\xc3\xa9/", 8);
    ENT_JTEXT_LIT(&t, "}");
    assert_true(t.heap);
    assert_false(t.oom);
    assert_take(&t, "{\"a\\\"b\":-9223372036854775808,"
                    "\"max\":9223372036854775807,\"hex\":\"00abff\","
                    "\"s\":\"x\\u0000\\u001F\\\\\\\"\xc3\xa9/\"}");

    /* a text that fits the array is copied out when taken */
    ent_jtext_init(&t, arr, sizeof(arr));
    ent_jtext_int(&t, 0);
    assert_false(t.heap);
    assert_take(&t, "0");

    /* no array at all; free accepts NULL and an unused text */
    ent_jtext_init(&t, NULL, 0);
    ent_jtext_str(&t, "", 0);
    assert_take(&t, "\"\"");
    ent_jtext_free(NULL);
    ent_jtext_init(&t, arr, sizeof(arr));
    ent_jtext_free(&t);
}

static void values(void **state) {
    (void)state;
    json_t *v = json_pack("{s:[i,b,n,f,{}],s:s}", "a", 7, 0, 0.5, "k", "v");
    ent_jtext t;
    ent_jtext_init(&t, NULL, 0);
    ent_jtext_value(&t, v);
    char *want = json_dumps(v, JSON_COMPACT);
    assert_take(&t, want);
    free(want);
    json_decref(v);

    /* deeper than 1,000 levels: refused, nothing handed out */
    json_t *deep = json_array();
    for (int i = 0; i < 1100; i++) {
        json_t *up = json_array();
        json_array_append_new(up, deep);
        deep = up;
    }
    ent_jtext_init(&t, NULL, 0);
    ent_jtext_value(&t, deep);
    assert_true(t.oom);
    assert_null(ent_jtext_take(&t));
    json_decref(deep);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writers),
        cmocka_unit_test(values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
