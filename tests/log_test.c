/*
 * log_test.c - node/log.c: text and JSON records, what a message from a
 * partner may hold (control characters, invalid UTF-8) stays one line and
 * valid JSON, levels filter, and the file sink appends (mode 0600) and
 * reopens a moved file, also while another thread writes (every line of
 * 3,000 lands whole across 200 rotations).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/log.h"

struct cap {
    char line[2048];
    int n;
};

static void capture(void *data, ent_log_level level, const char *line) {
    struct cap *c = data;
    (void)level;
    snprintf(c->line, sizeof(c->line), "%s", line);
    c->n++;
}

static void text_and_json(void **state) {
    (void)state;
    struct cap c = {0};
    ent_log lg;
    ent_log_init(&lg, ENT_LOG_INFO, "peers");
    lg.sink = capture;
    lg.data = &c;
    ENT_DEBUG(&lg, "hidden");
    assert_int_equal(c.n, 0);
    ENT_INFO(&lg, "name %s", "Acme\x1b[2J");
    assert_int_equal(c.n, 1);
    assert_non_null(strstr(c.line, " INFO  [peers] name Acme"));
    assert_null(strchr(c.line, '\x1b')); /* escaped, not raw */

    lg.json = 1;
    ENT_WARN(&lg, "from partner: %s", "bad\x1b\n\xff\xfe name \"q\"");
    json_error_t e;
    json_t *j = json_loads(c.line, 0, &e);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(j, "name")), "peers");
    const char *msg = json_string_value(json_object_get(j, "msg"));
    assert_non_null(msg);
    assert_non_null(strstr(msg, "from partner: bad"));
    assert_null(strchr(msg, '\x1b'));
    assert_null(strchr(c.line, '\n'));
    assert_int_equal(strlen(json_string_value(json_object_get(j, "time"))), 24);
    json_decref(j);
    ENT_ERROR(&lg, "plain \"quoted\" \xc3\xa9t\xc3\xa9");
    j = json_loads(c.line, 0, &e);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "msg")),
                        "plain \"quoted\" \xc3\xa9t\xc3\xa9");
    json_decref(j);
}

static void file_sink_reopens(void **state) {
    (void)state;
    char dir[] = "/tmp/ent_log_XXXXXX", path[64], moved[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/n.log", dir);
    snprintf(moved, sizeof(moved), "%s/n.log.1", dir);
    ent_log_file lf;
    assert_int_equal(ent_log_file_open(&lf, path), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    ent_log lg;
    ent_log_init(&lg, ENT_LOG_INFO, NULL);
    lg.sink = ent_log_file_sink;
    lg.data = &lf;
    ENT_INFO(&lg, "one");
    assert_int_equal(rename(path, moved), 0);
    ENT_INFO(&lg, "two"); /* still the moved file until reopened */
    assert_int_equal(ent_log_file_reopen(&lf), 0);
    ENT_INFO(&lg, "three");
    ent_log_file_close(&lf);
    char buf[512];
    FILE *f = fopen(moved, "r");
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    assert_non_null(strstr(buf, "INFO  one\n"));
    assert_non_null(strstr(buf, "INFO  two\n"));
    assert_null(strstr(buf, "three"));
    f = fopen(path, "r");
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    assert_non_null(strstr(buf, "INFO  three\n"));
    unlink(path);
    unlink(moved);
    rmdir(dir);
    assert_int_not_equal(ent_log_file_open(&lf, "/nonexistent/dir/x.log"), 0);
}

struct writer {
    ent_log *lg;
    int n;
};

static void *write_lines(void *arg) {
    struct writer *w = arg;
    for (int i = 0; i < w->n; i++)
        ENT_INFO(w->lg, "line %d", i);
    return NULL;
}

/* Lines from another thread while the file is reopened again and again
 * (a rotation per reopen): every line lands in one of the files, whole. */
static void file_sink_threads(void **state) {
    (void)state;
    char dir[] = "/tmp/entente-logtest-XXXXXX", path[256], moved[300];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/n.log", dir);
    ent_log_file lf;
    assert_int_equal(ent_log_file_open(&lf, path), 0);
    ent_log lg;
    ent_log_init(&lg, ENT_LOG_INFO, NULL);
    lg.sink = ent_log_file_sink;
    lg.data = &lf;
    struct writer w = {&lg, 3000};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, write_lines, &w), 0);
    int k = 0;
    for (; k < 200; k++) {
        snprintf(moved, sizeof(moved), "%s/n.log.%d", dir, k);
        assert_int_equal(rename(path, moved), 0);
        assert_int_equal(ent_log_file_reopen(&lf), 0);
    }
    pthread_join(th, NULL);
    ent_log_file_close(&lf);
    int lines = 0;
    char buf[256];
    for (int i = 0; i <= k; i++) {
        if (i < k)
            snprintf(moved, sizeof(moved), "%s/n.log.%d", dir, i);
        else
            snprintf(moved, sizeof(moved), "%s", path);
        FILE *f = fopen(moved, "r");
        assert_non_null(f);
        while (fgets(buf, sizeof(buf), f) != NULL) {
            assert_non_null(strstr(buf, "INFO  line "));
            lines++;
        }
        fclose(f);
        unlink(moved);
    }
    rmdir(dir);
    assert_int_equal(lines, 3000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_and_json),
        cmocka_unit_test(file_sink_reopens),
        cmocka_unit_test(file_sink_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
