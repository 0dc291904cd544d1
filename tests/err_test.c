/* err_test.c - the error table and the logger. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "node/err.h"
#include "node/log.h"

static void test_names_and_texts(void **state) {
    (void)state;
    assert_string_equal(ent_err_name(ENT_OK), "ENT_OK");
    assert_string_equal(ent_err_name(ENT_EINVAL), "ENT_EINVAL");
    assert_string_equal(ent_strerror(ENT_EINSECURE),
                        "file is readable by others");
    assert_string_equal(ent_strerror(12345), "unknown error");
    /* every code in the table has a distinct name and a text */
#define CHECK(name, code, text)                                                \
    assert_true((code) < 0);                                                   \
    assert_string_equal(ent_err_name(code), "ENT_E" #name);                    \
    assert_string_equal(ent_strerror(code), text);
    ENT_ERR_MAP(CHECK)
#undef CHECK
}

static void test_errno(void **state) {
    (void)state;
    assert_int_equal(ent_err_from_errno(ENOENT), ENT_ENOENT);
    assert_int_equal(ent_err_from_errno(EACCES), ENT_EPERM);
    assert_int_equal(ent_err_from_errno(ENOSPC), ENT_ENOSPC);
    assert_int_equal(ent_err_from_errno(EXDEV), ENT_EIO);
}

struct capture {
    int n;
    ent_log_level last;
    char line[1024];
};

static void sink(void *data, ent_log_level level, const char *line) {
    struct capture *c = data;
    c->n++;
    c->last = level;
    strncpy(c->line, line, sizeof(c->line) - 1);
}

static void test_log_levels(void **state) {
    (void)state;
    struct capture cap = {0};
    ent_log lg;
    ent_log_init(&lg, ENT_LOG_WARN, "n1");
    lg.sink = sink;
    lg.data = &cap;
    ENT_INFO(&lg, "dropped %d", 1);
    assert_int_equal(cap.n, 0);
    ENT_ERROR(&lg, "kept %d", 2);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.last, ENT_LOG_ERROR);
    assert_non_null(strstr(cap.line, "ERROR [n1] kept 2"));
    /* ISO-8601 UTC timestamp first */
    assert_int_equal(cap.line[4], '-');
    assert_int_equal(cap.line[10], 'T');
    assert_non_null(strchr(cap.line, 'Z'));
    ENT_ERROR(NULL, "a NULL logger discards"); /* must not crash */

    ent_log_level l;
    assert_int_equal(ent_log_level_parse("debug", &l), ENT_OK);
    assert_int_equal(l, ENT_LOG_DEBUG);
    assert_int_equal(ent_log_level_parse("Warn", &l), ENT_OK);
    assert_int_equal(l, ENT_LOG_WARN);
    assert_int_equal(ent_log_level_parse("loud", &l), ENT_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_texts),
        cmocka_unit_test(test_errno),
        cmocka_unit_test(test_log_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
