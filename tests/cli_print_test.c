/*
 * cli_print_test.c - the text printers of the command line, fed the JSON
 * the node answers with: what came from outside (a partner's name, a
 * comment, field names and values, log reasons, addresses, an error reason)
 * holding ESC[2J and BEL prints as visible escapes, never raw; times print
 * as local dates; no line ends in a blank.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "node/cli/cli_int.h"
#include "node/err.h"

#define EVIL "\x1b[2J\x07"
#define SHOWN "\\x1b[2J\\x07"
#define Z60 "000000000000000000000000000000000000000000000000000000000000"
#define EVIL_JSON "\\u001b[2J\\u0007" /* EVIL inside a JSON string */

/* Runs fn(f, j) into a memory stream and returns what it wrote. */
static char *capture(void (*fn)(FILE *, const json_t *), const json_t *j) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    fn(f, j);
    fclose(f);
    return buf;
}

/* No raw control character but newline, no blank before a newline. */
static void assert_clean(const char *out) {
    for (const char *p = out; *p; p++) {
        unsigned char c = (unsigned char)*p;
        assert_false(c < 0x20 && c != '\n');
        assert_false(c == 0x7f);
        if (*p == '\n' && p > out)
            assert_false(p[-1] == ' ');
    }
    size_t l = strlen(out);
    assert_true(l > 0 && out[l - 1] == '\n');
}

static json_t *load(const char *text) {
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (j == NULL)
        fail_msg("bad test JSON: %s", e.text);
    return j;
}

/* What fn prints of the JSON text, in UTC, checked by assert_clean(). */
static char *print_clean(void (*fn)(FILE *, const json_t *), const char *text) {
    json_t *j = load(text);
    setenv("TZ", "UTC", 1);
    tzset();
    char *out = capture(fn, j);
    json_decref(j);
    assert_clean(out);
    return out;
}

static void show_object(FILE *f, const json_t *j) {
    ent__cli_print_object(f, j, false);
}

static void test_object_show_escapes(void **state) {
    (void)state;
    char *out = print_clean(
        show_object,
        "{\"id\":\"00ff\",\"type\":\"opportunity\",\"epoch\":0,"
        "\"status\":\"active\",\"members\":["
        "{\"org\":\"abc\",\"name\":\"Evil\\u001b[2J\\u0007\",\"role\":"
        "\"member\",\"status\":\"active\"},"
        "{\"org\":\"def\",\"name\":null,\"role\":\"owner\","
        "\"status\":\"active\"}],"
        "\"shared\":{\"na\\u001bme\":\"x\\u001b[2J\\u0007y\","
        "\"note\":\"two\\nlines\\u009b\"},"
        "\"private\":{\"deal_size\":{\"amount\":\"5.00\",\"currency\":"
        "\"EUR\",\"minor\":500}},"
        "\"comments\":[{\"org\":\"abc\",\"name\":\"Evil\\u001b[2J\\u0007\","
        "\"time\":\"2026-12-05T04:52:58.123Z\","
        "\"text\":\"hi\\u001b[2J\\u0007\"}]}");
    assert_non_null(strstr(out, "Evil" SHOWN "\n"));      /* name */
    assert_non_null(strstr(out, "  na\\x1bme"));          /* field */
    assert_non_null(strstr(out, "x" SHOWN "y\n"));        /* value */
    assert_non_null(strstr(out, "two\\nlines\\u009b\n")); /* newline */
    assert_non_null(strstr(out, "2026-12-05 04:52:58  Evil" SHOWN ": hi" SHOWN
                                "\n")); /* comment with its local date */
    assert_non_null(strstr(out, "5.00 EUR"));
    /* an unknown name leaves the line without a trailing blank */
    assert_non_null(strstr(out, "owner     active\n"));
    free(out);
}

static void test_log_escapes(void **state) {
    (void)state;
    char *out = print_clean(
        ent__cli_print_log,
        "{\"size\":1,\"root\":\"ab\",\"entries\":[{\"index\":0,"
        "\"time\":\"2026-12-05T04:52:58.123Z\",\"kind\":\"op_rejected\","
        "\"object\":null,\"op\":null,\"org\":\"abcdefghijklmnop\","
        "\"name\":\"Evil\\u001b[2J\\u0007\",\"reason\":\"bad" EVIL_JSON "\"},"
        "{\"index\":1,\"time\":\"2026-12-05T04:52:59.000Z\",\"kind\":"
        "\"invite_issued\",\"object\":\"0011\",\"op\":null,\"org\":null,"
        "\"name\":null,\"reason\":\"\"}]}");
    assert_non_null(strstr(out, "     0  2026-12-05 04:52:58  op_rejected"));
    assert_non_null(strstr(out, "Evil" SHOWN "  bad\\x1b[2J\\x07\n"));
    assert_non_null(strstr(out, "obj 0011"));
    free(out);
}

static void test_peers_escapes(void **state) {
    (void)state;
    char *out = print_clean(
        ent__cli_print_peers,
        "[{\"org\":\"abc\",\"name\":\"Evil\\u001b[2J\\u0007\",\"addrs\":"
        "[\"127.0.0.1:1\\u0007\"],\"connected\":true,\"safety\":\"1 2\","
        "\"last_seen\":\"2026-12-05T04:52:58.123Z\",\"failures\":0,"
        "\"score\":0},"
        "{\"org\":\"def\",\"name\":null,\"addrs\":[],\"connected\":false,"
        "\"safety\":\"3 4\",\"last_seen\":null,\"failures\":1,\"score\":2}]");
    assert_non_null(strstr(out, "Evil" SHOWN));
    assert_non_null(strstr(out, "127.0.0.1:1\\x07\n"));
    assert_non_null(strstr(out, "last seen:    2026-12-05 04:52:58\n"));
    assert_non_null(strstr(out, "last seen:    never\n"));
    assert_non_null(strstr(out, "score 2"));
    free(out);
}

static void test_template_show(void **state) {
    (void)state;
    char *out = print_clean(
        ent__cli_print_template,
        "{\"type\":\"lead\",\"strict\":false,\"stages\":[\"New\",\"Won\"],"
        "\"fields\":[{\"name\":\"source\",\"type\":\"enum\",\"visibility\":"
        "\"shared\",\"label\":\"Lead source\",\"values\":[\"Event\","
        "\"Web" EVIL_JSON "\"],\"default\":\"Event\"},{\"name\":\"note\","
        "\"type\":\"text\",\"visibility\":\"private\"},{\"name\":"
        "\"stage\",\"type\":\"enum\",\"visibility\":\"shared\","
        "\"default\":\"New\"}]}");
    assert_non_null(strstr(out, "stages:  \"New\", \"Won\"\n"));
    assert_non_null(strstr(out, "label \"Lead source\"; values \"Event\", "
                                "\"Web" SHOWN "\"; default \"Event\"\n"));
    assert_non_null(strstr(out, "  note                  text     private\n"));
    /* the stage field's values are the template's stages: one list */
    assert_non_null(strstr(out, "  stage                 enum     shared   "
                                "values from the stages; default \"New\"\n"));
    free(out);
}

static void test_object_list(void **state) {
    (void)state;
    char *out = print_clean(
        ent__cli_print_object_list,
        "[{\"id\":\"aaaa1111222233334444aaaa1111222233334444aaaa1111222233334"
        "444aaaa\",\"type\":\"opportunity\",\"epoch\":0,\"status\":"
        "\"active\",\"title\":\"Deal\\u001b[2J\\u0007\",\"stage\":"
        "\"Closed Won\",\"date\":\"2027-03-31\"},"
        "{\"id\":\"aaaa1111222233334444bbbb1111222233334444aaaa1111222233334"
        "444aaaa\",\"type\":\"lead\",\"epoch\":1,\"status\":\"removed\","
        "\"title\":null,\"stage\":null,\"date\":null}]");
    /* ids long enough to tell the two apart: 20 shared digits + 1 */
    assert_non_null(strstr(out, "ID                     TYPE"));
    assert_non_null(strstr(out, "aaaa1111222233334444a  opportunity   Closed "
                                "Won      2027-03-31  Deal" SHOWN "\n"));
    assert_non_null(strstr(out, "aaaa1111222233334444b  lead          -      "
                                "         -           -  (this org was "
                                "removed)\n"));
    free(out);
    json_t *j = load("[]");
    out = capture(ent__cli_print_object_list, j);
    assert_true(out == NULL || out[0] == '\0'); /* nothing, not a header */
    free(out);
    json_decref(j);
}

/* What `object show PREFIX` makes of the node's rows for the prefix. */
static void test_pick_object(void **state) {
    (void)state;
    char hex[65], why[512];
    json_t *none = load("[]");
    assert_int_equal(ent__cli_pick_object(none, "abcd", hex, why, sizeof(why)),
                     ENT_ENOENT);
    assert_string_equal(why, "no object has an id starting with abcd");
    json_decref(none);

    json_t *one = load("[{\"id\":\"abcd" Z60 "\",\"type\":\"lead\"}]");
    assert_int_equal(ent__cli_pick_object(one, "abcd", hex, why, sizeof(why)),
                     ENT_OK);
    assert_string_equal(hex, "abcd" Z60);
    /* an answer that does not match the prefix is not taken */
    assert_int_equal(ent__cli_pick_object(one, "abce", hex, why, sizeof(why)),
                     ENT_EPROTO);
    json_decref(one);

    /* six rows (the CLI asks for candidates + 1): five named, then ... */
    json_t *many = json_array();
    for (int i = 0; i < 6; i++) {
        char id[65], title[16];
        memset(id, '0', 64);
        id[64] = '\0';
        memcpy(id, "abcd", 4);
        id[5] = (char)('0' + i);
        snprintf(title, sizeof(title), "Deal %d", i % 10);
        json_array_append_new(many, json_pack("{s:s,s:s,s:s}", "id", id, "type",
                                              "opportunity", "title", title));
    }
    assert_int_equal(ent__cli_pick_object(many, "abcd", hex, why, sizeof(why)),
                     ENT_EEXIST);
    assert_string_equal(
        why, "object id prefix abcd is ambiguous: it matches abcd00000000 "
             "(opportunity, Deal 0), abcd01000000 (opportunity, Deal 1), "
             "abcd02000000 (opportunity, Deal 2), abcd03000000 (opportunity, "
             "Deal 3), abcd04000000 (opportunity, Deal 4), ...; give more "
             "characters");
    json_decref(many);
}

/* Errors carry the node's reason: escaped on stderr too. */
static void test_error_escaped(void **state) {
    (void)state;
    char path[] = "/tmp/ent-cli-print-test.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fd, 2) == 2);
    assert_int_equal(
        ent__cli_failw("object show", "field %s: %s", "na" EVIL, "bad" EVIL),
        1);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    close(fd);
    unlink(path);
    assert_string_equal(buf, "entente: object show: field na" SHOWN
                             ": bad" SHOWN "\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_show_escapes),
        cmocka_unit_test(test_log_escapes),
        cmocka_unit_test(test_peers_escapes),
        cmocka_unit_test(test_template_show),
        cmocka_unit_test(test_object_list),
        cmocka_unit_test(test_pick_object),
        cmocka_unit_test(test_error_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
