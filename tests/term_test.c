/*
 * term_test.c - escaping text from outside for the terminal (node/term.h)
 * and the logger that uses it: every control character, invalid UTF-8 and
 * bidirectional override shows as a visible escape; ordinary text,
 * including multi-byte UTF-8 and backslashes, prints unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/log.h"
#include "node/term.h"

/* The escaped form of s (NUL-terminated) through all three entry points,
 * which must agree; returns a string to free. */
static char *esc(const char *s) {
    char *a = NULL, *b = NULL;
    size_t blen = 0;
    assert_int_equal(ent_term_escape(&a, s, strlen(s)), ENT_OK);
    FILE *f = open_memstream(&b, &blen);
    assert_non_null(f);
    assert_int_equal(ent_term_fputs(f, s), ENT_OK);
    fclose(f);
    assert_string_equal(a, b);
    char buf[1024];
    size_t n = ent_term_escape_buf(buf, sizeof(buf), s, strlen(s));
    assert_int_equal(n, strlen(a));
    assert_string_equal(buf, a);
    free(b);
    return a;
}

static void check(const char *in, const char *want) {
    char *got = esc(in);
    assert_string_equal(got, want);
    free(got);
}

static void test_plain_text_unchanged(void **state) {
    (void)state;
    check("", "");
    check("Acme Corp", "Acme Corp");
    check("Zürich – Café 東京 😀", "Zürich – Café 東京 😀");
    check("C:\\temp\\x1b", "C:\\temp\\x1b"); /* backslashes stay */
}

static void test_controls_escaped(void **state) {
    (void)state;
    check("\x1b[2J\x07", "\\x1b[2J\\x07");
    check("a\nb\rc\td", "a\\nb\\rc\\td");
    check("nul\x01\x1f\x7f", "nul\\x01\\x1f\\x7f");
    /* C1 controls in UTF-8 (CSI U+009B, NEL U+0085) */
    check("\xc2\x9b"
          "31m\xc2\x85",
          "\\u009b31m\\u0085");
    /* bidi override and isolates, line separator */
    check("abc\xe2\x80\xae"
          "fed\xe2\x81\xa6",
          "abc\\u202efed\\u2066");
    check("x\xe2\x80\xa8y", "x\\u2028y");
}

static void test_invalid_utf8_escaped(void **state) {
    (void)state;
    check("\x9b"
          "2J",
          "\\x9b2J");                                  /* raw 8-bit CSI */
    check("\xc3", "\\xc3");                            /* truncated */
    check("\xc0\xaf", "\\xc0\\xaf");                   /* overlong */
    check("\xed\xa0\x80", "\\xed\\xa0\\x80");          /* surrogate */
    check("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
    check("ok\xff", "ok\\xff");
}

static void test_buffer_never_cuts_an_escape(void **state) {
    (void)state;
    char buf[8];
    /* "ab\x1b" fits as "ab\\x1b" (6 bytes) + NUL */
    assert_int_equal(ent_term_escape_buf(buf, sizeof(buf), "ab\x1b", 3), 6);
    assert_string_equal(buf, "ab\\x1b");
    /* "abcd\x1b": the escape does not fit after abcd: stop before it */
    assert_int_equal(ent_term_escape_buf(buf, sizeof(buf), "abcd\x1b", 5), 4);
    assert_string_equal(buf, "abcd");
    /* a 4-byte character is kept whole or not at all */
    assert_int_equal(ent_term_escape_buf(buf, 7, "abc\xf0\x9f\x98\x80", 7), 3);
    assert_string_equal(buf, "abc");
    assert_int_equal(ent_term_escape_buf(buf, 1, "abc", 3), 0);
    assert_string_equal(buf, "");
}

static void test_json_output(void **state) {
    (void)state;
    char *b = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&b, &blen);
    assert_non_null(f);
    /* as jansson writes it: C0 already escaped, C1/bidi/DEL raw */
    assert_int_equal(ent_term_fputs_json(f, "{\"name\":\"Evil\\u001b[2J"
                                            "\xc2\x9b\xe2\x80\xae\x7f"
                                            "Z\xc3\xbcrich\"}"),
                     ENT_OK);
    fclose(f);
    assert_string_equal(b, "{\"name\":\"Evil\\u001b[2J\\u009b\\u202e"
                           "\\u007fZ\xc3\xbcrich\"}");
    free(b);
}

static void test_width(void **state) {
    (void)state;
    assert_int_equal(ent_term_width("Acme", 4), 4);
    assert_int_equal(ent_term_width("Zürich", strlen("Zürich")), 6);
    assert_int_equal(ent_term_width("a\x1b", 2), 5); /* a + \x1b */
    assert_int_equal(ent_term_width("\\", 1), 1);
    assert_int_equal(ent_term_width("\xe2\x80\xae", 3), 6); /* \u202e */
}

struct capture {
    char line[2048];
};

static void sink(void *data, ent_log_level level, const char *line) {
    struct capture *c = data;
    (void)level;
    snprintf(c->line, sizeof(c->line), "%s", line);
}

static void test_log_lines_escaped(void **state) {
    (void)state;
    struct capture cap = {{0}};
    ent_log lg;
    ent_log_init(&lg, ENT_LOG_INFO, NULL);
    lg.sink = sink;
    lg.data = &cap;
    ENT_INFO(&lg, "peer %s joined", "Evil\x1b[2J\x07\nINFO  forged");
    assert_non_null(strstr(cap.line, "peer Evil\\x1b[2J\\x07\\nINFO  forged "
                                     "joined"));
    assert_null(strchr(cap.line, '\x1b'));
    assert_null(strchr(cap.line, '\n'));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_unchanged),
        cmocka_unit_test(test_controls_escaped),
        cmocka_unit_test(test_invalid_utf8_escaped),
        cmocka_unit_test(test_buffer_never_cuts_an_escape),
        cmocka_unit_test(test_json_output),
        cmocka_unit_test(test_width),
        cmocka_unit_test(test_log_lines_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
