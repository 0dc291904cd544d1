/* value_test.c - parsing and formatting typed field values (node/objects/value.c). */
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
#include "node/objects/value.h"

/* Parses text as type and returns the error code; *v holds the result. */
static int parse(ent_value *v, ent_vtype type, const char *text,
                 const char *defcur) {
    ent_value_opts o = {.default_currency = defcur};
    char err[256];
    return ent_value_parse(v, type, text, &o, err, sizeof(err));
}

/* Formats v and checks the text. */
static void assert_formats(const ent_value *v, const char *want) {
    char *s = NULL;
    assert_int_equal(ent_value_format(v, &s), ENT_OK);
    assert_string_equal(s, want);
    free(s);
}

static void test_type_names(void **state) {
    (void)state;
    ent_vtype t;
    const char *names[] = {"text", "integer", "money", "date",
                           "enum", "org",     "ref"};
    for (unsigned i = 0; i < 7; i++) {
        assert_int_equal(ent_vtype_parse(names[i], &t), ENT_OK);
        assert_int_equal(t, (ent_vtype)(i + 1));
        assert_string_equal(ent_vtype_name(t), names[i]);
    }
    assert_int_equal(ent_vtype_parse("float", &t), ENT_EINVAL);
    assert_int_equal(ent_vtype_parse("null", &t), ENT_EINVAL);
    assert_int_equal(ent_vtype_parse("Text", &t), ENT_EINVAL);
    assert_null(ent_vtype_name((ent_vtype)99));
}

static void test_text(void **state) {
    (void)state;
    ent_value v;
    assert_int_equal(
        parse(&v, ENT_VT_TEXT, "  Acme\tCorp \xc3\xa9\xe2\x82\xac", NULL),
        ENT_OK);
    assert_int_equal(v.type, ENT_VT_TEXT);
    /* taken as is: no trimming of text */
    assert_string_equal(v.u.text.s, "  Acme\tCorp \xc3\xa9\xe2\x82\xac");
    assert_int_equal(v.u.text.len, strlen("  Acme\tCorp \xc3\xa9\xe2\x82\xac"));
    assert_formats(&v, "  Acme\tCorp \xc3\xa9\xe2\x82\xac");
    ent_value_clear(&v);
    assert_int_equal(v.type, ENT_VT_NULL);

    const char *bad[] = {
        "line\nbreak",      /* C0 control */
        "bell\x07",         /* C0 control */
        "del\x7f",          /* DEL */
        "c1\xc2\x85",       /* C1 control U+0085 */
        "\xc0\x80",         /* overlong NUL */
        "\xe0\x80\xaf",     /* overlong '/' */
        "\xed\xa0\x80",     /* surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xc3",             /* truncated */
        "\xff",             /* invalid byte */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(&v, ENT_VT_TEXT, bad[i], NULL), ENT_EINVAL);
        assert_int_equal(v.type, ENT_VT_NULL);
    }
    /* an embedded NUL through the length-based setter */
    assert_int_equal(ent_value_set_text(&v, ENT_VT_TEXT, "a\0b", 3),
                     ENT_EINVAL);
    assert_true(ent_text_valid("\xf0\x9f\x98\x80", 4)); /* U+1F600 */

    char *big = malloc(ENT_VALUE_TEXT_MAX + 2);
    assert_non_null(big);
    memset(big, 'x', ENT_VALUE_TEXT_MAX);
    big[ENT_VALUE_TEXT_MAX] = '\0';
    assert_int_equal(parse(&v, ENT_VT_TEXT, big, NULL), ENT_OK);
    assert_int_equal(v.u.text.len, ENT_VALUE_TEXT_MAX);
    ent_value_clear(&v);
    big[ENT_VALUE_TEXT_MAX] = 'x';
    big[ENT_VALUE_TEXT_MAX + 1] = '\0';
    assert_int_equal(parse(&v, ENT_VT_TEXT, big, NULL), ENT_ETOOBIG);
    free(big);
}

static void test_integer(void **state) {
    (void)state;
    ent_value v;
    assert_int_equal(parse(&v, ENT_VT_INT, "42", NULL), ENT_OK);
    assert_int_equal(v.type, ENT_VT_INT);
    assert_int_equal(v.u.i, 42);
    assert_int_equal(parse(&v, ENT_VT_INT, " -7\t", NULL), ENT_OK);
    assert_int_equal(v.u.i, -7);
    assert_formats(&v, "-7");
    assert_int_equal(parse(&v, ENT_VT_INT, "9223372036854775807", NULL),
                     ENT_OK);
    assert_true(v.u.i == INT64_MAX);
    assert_formats(&v, "9223372036854775807");
    assert_int_equal(parse(&v, ENT_VT_INT, "-9223372036854775808", NULL),
                     ENT_OK);
    assert_true(v.u.i == INT64_MIN);
    assert_formats(&v, "-9223372036854775808");
    assert_int_equal(parse(&v, ENT_VT_INT, "9223372036854775808", NULL),
                     ENT_ELIMIT);
    assert_int_equal(parse(&v, ENT_VT_INT, "-9223372036854775809", NULL),
                     ENT_ELIMIT);
    assert_int_equal(parse(&v, ENT_VT_INT, "99999999999999999999999", NULL),
                     ENT_ELIMIT);
    const char *junk[] = {"",     "-",   "+5",  "12a", "1.5",
                          "0x10", "1 2", "--1", "1e3", " "};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        assert_int_equal(parse(&v, ENT_VT_INT, junk[i], NULL), ENT_EINVAL);
        assert_int_equal(v.type, ENT_VT_NULL);
    }
}

static void check_money(const char *text, const char *defcur, int64_t minor,
                        const char *cur, const char *formatted) {
    ent_value v;
    assert_int_equal(parse(&v, ENT_VT_MONEY, text, defcur), ENT_OK);
    assert_int_equal(v.type, ENT_VT_MONEY);
    assert_true(v.u.money.minor == minor);
    assert_string_equal(v.u.money.cur, cur);
    assert_formats(&v, formatted);
    /* the formatted text parses back to the same value */
    ent_value w;
    assert_int_equal(parse(&w, ENT_VT_MONEY, formatted, NULL), ENT_OK);
    assert_true(ent_value_equal(&v, &w));
}

static void test_money(void **state) {
    (void)state;
    unsigned exp;
    assert_int_equal(ent_currency_exponent("USD", &exp), ENT_OK);
    assert_int_equal(exp, 2);
    assert_int_equal(ent_currency_exponent("JPY", &exp), ENT_OK);
    assert_int_equal(exp, 0);
    assert_int_equal(ent_currency_exponent("KRW", &exp), ENT_OK);
    assert_int_equal(exp, 0);
    assert_int_equal(ent_currency_exponent("BHD", &exp), ENT_OK);
    assert_int_equal(exp, 3);
    assert_int_equal(ent_currency_exponent("KWD", &exp), ENT_OK);
    assert_int_equal(exp, 3);
    assert_int_equal(ent_currency_exponent("XYZ", &exp), ENT_EINVAL);
    assert_int_equal(ent_currency_exponent("usd", &exp), ENT_EINVAL);

    check_money("1200000", "USD", 120000000, "USD", "1200000.00 USD");
    check_money("1200000", "EUR", 120000000, "EUR", "1200000.00 EUR");
    check_money("1200000.50 EUR", NULL, 120000050, "EUR", "1200000.50 EUR");
    check_money("EUR 1200000.50", NULL, 120000050, "EUR", "1200000.50 EUR");
    check_money("  eur   1200000.5 ", NULL, 120000050, "EUR", "1200000.50 EUR");
    check_money("-5.5 USD", NULL, -550, "USD", "-5.50 USD");
    check_money("0.05 EUR", NULL, 5, "EUR", "0.05 EUR");
    check_money("-0.05 EUR", NULL, -5, "EUR", "-0.05 EUR");
    check_money("1200 JPY", "EUR", 1200, "JPY", "1200 JPY");
    check_money("1200", "JPY", 1200, "JPY", "1200 JPY");
    check_money("1.234 BHD", NULL, 1234, "BHD", "1.234 BHD");
    check_money("1.2 BHD", NULL, 1200, "BHD", "1.200 BHD");
    check_money("7 KWD", NULL, 7000, "KWD", "7.000 KWD");
    check_money("92233720368547758.07 USD", NULL, INT64_MAX, "USD",
                "92233720368547758.07 USD");
    check_money("-92233720368547758.07 USD", NULL, -INT64_MAX, "USD",
                "-92233720368547758.07 USD");

    ent_value v;
    /* more decimals than the currency has */
    assert_int_equal(parse(&v, ENT_VT_MONEY, "1.234 EUR", NULL), ENT_EINVAL);
    assert_int_equal(parse(&v, ENT_VT_MONEY, "1.5 JPY", NULL), ENT_EINVAL);
    assert_int_equal(parse(&v, ENT_VT_MONEY, "1.2345 BHD", NULL), ENT_EINVAL);
    assert_int_equal(parse(&v, ENT_VT_MONEY, "1.230 EUR", NULL), ENT_EINVAL);
    /* overflow */
    assert_int_equal(parse(&v, ENT_VT_MONEY, "92233720368547758.08 USD", NULL),
                     ENT_ELIMIT);
    assert_int_equal(parse(&v, ENT_VT_MONEY, "9223372036854775808 JPY", NULL),
                     ENT_ELIMIT);
    assert_int_equal(
        parse(&v, ENT_VT_MONEY, "99999999999999999999999999 EUR", NULL),
        ENT_ELIMIT);
    assert_int_equal(parse(&v, ENT_VT_MONEY, "9223372036854775807 BHD", NULL),
                     ENT_ELIMIT);
    /* unknown or missing currency, junk */
    assert_int_equal(parse(&v, ENT_VT_MONEY, "5 XYZ", NULL), ENT_EINVAL);
    assert_int_equal(parse(&v, ENT_VT_MONEY, "5", NULL), ENT_EINVAL);
    const char *junk[] = {"",       "EUR",       "1,200 EUR", ".5 EUR",
                          "5. EUR", "1.2.3 EUR", "5 EUR USD", "5 EURO",
                          "+5 EUR", "- 5 EUR",   "5e3 EUR",   "EUR EUR",
                          "5 5",    "--5 EUR",   "0x10 EUR",  "5 E1R"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        assert_int_not_equal(parse(&v, ENT_VT_MONEY, junk[i], "USD"), ENT_OK);
        assert_int_equal(v.type, ENT_VT_NULL);
    }

    /* formatting never overflows, even for a value no parser produced */
    v.type = ENT_VT_MONEY;
    v.u.money.minor = INT64_MIN;
    memcpy(v.u.money.cur, "USD", 4);
    assert_formats(&v, "-92233720368547758.08 USD");
    memcpy(v.u.money.cur, "XYZ", 4);
    char *s = NULL;
    assert_int_equal(ent_value_format(&v, &s), ENT_EINVAL);
    assert_null(s);
}

static void check_date(const char *text, int32_t days) {
    ent_value v;
    assert_int_equal(parse(&v, ENT_VT_DATE, text, NULL), ENT_OK);
    assert_int_equal(v.type, ENT_VT_DATE);
    assert_int_equal(v.u.days, days);
    assert_formats(&v, text);
}

static void test_date(void **state) {
    (void)state;
    check_date("1970-01-01", 0);
    check_date("1970-01-02", 1);
    check_date("1969-12-31", -1);
    check_date("2000-02-29", 11016);
    check_date("2000-03-01", 11017);
    check_date("2024-02-29", 19782);
    check_date("2026-03-31", 20543);
    check_date("0001-01-01", -719162);
    check_date("9999-12-31", 2932896);
    const char *bad[] = {"1900-02-29",  "2023-02-29", "2100-02-29",
                         "2024-04-31",  "2024-13-01", "2024-00-10",
                         "2024-01-00",  "2024-01-32", "0000-01-01",
                         "2024-1-01",   "24-01-01",   "2024/01/01",
                         "2024-01-01x", "",           "2024-01-01 12:00"};
    ent_value v;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(&v, ENT_VT_DATE, bad[i], NULL), ENT_EINVAL);
        assert_int_equal(v.type, ENT_VT_NULL);
    }
    /* every day of years 1..9999 maps to a distinct, consecutive day number */
    int32_t first, last;
    assert_int_equal(ent_date_from_ymd(1, 1, 1, &first), ENT_OK);
    assert_int_equal(ent_date_from_ymd(9999, 12, 31, &last), ENT_OK);
    int64_t leap_days = 0;
    for (int32_t d = first; d <= last; d++) {
        int y, m, dd;
        int32_t back;
        assert_int_equal(ent_date_to_ymd(d, &y, &m, &dd), ENT_OK);
        assert_int_equal(ent_date_from_ymd(y, m, dd, &back), ENT_OK);
        if (back != d)
            fail_msg("day %d -> %04d-%02d-%02d -> %d", d, y, m, dd, back);
        if (m == 2 && dd == 29)
            leap_days++;
    }
    /* 9999 years have 2424 leap years (every 4th, not 100th, but 400th) */
    assert_int_equal(leap_days, 2499 - 99 + 24);
    int y, m, d;
    assert_int_equal(ent_date_to_ymd(first - 1, &y, &m, &d), ENT_EINVAL);
    assert_int_equal(ent_date_to_ymd(last + 1, &y, &m, &d), ENT_EINVAL);
    assert_int_equal(ent_date_to_ymd(INT32_MIN, &y, &m, &d), ENT_EINVAL);
    v.type = ENT_VT_DATE;
    v.u.days = INT32_MAX;
    char *s = NULL;
    assert_int_equal(ent_value_format(&v, &s), ENT_EINVAL);
}

static void test_enum(void **state) {
    (void)state;
    const char *allowed[] = {"EMEA", "North America", "APAC"};
    ent_value_opts o = {.allowed = allowed, .nallowed = 3};
    ent_value v;
    char err[256];
    assert_int_equal(
        ent_value_parse(&v, ENT_VT_ENUM, "north america", &o, err, sizeof(err)),
        ENT_OK);
    assert_int_equal(v.type, ENT_VT_ENUM);
    assert_string_equal(v.u.text.s, "North America"); /* allowed spelling */
    assert_formats(&v, "North America");
    ent_value_clear(&v);
    assert_int_equal(
        ent_value_parse(&v, ENT_VT_ENUM, " EMEA ", &o, err, sizeof(err)),
        ENT_OK);
    assert_string_equal(v.u.text.s, "EMEA");
    ent_value_clear(&v);
    assert_int_equal(
        ent_value_parse(&v, ENT_VT_ENUM, "Mars", &o, err, sizeof(err)),
        ENT_EINVAL);
    assert_non_null(strstr(err, "\"Mars\" is not one of"));
    assert_non_null(strstr(err, "\"APAC\""));
    o.nallowed = 0;
    assert_int_equal(
        ent_value_parse(&v, ENT_VT_ENUM, "EMEA", &o, err, sizeof(err)),
        ENT_EINVAL);
    /* a tiny error buffer is never overrun */
    o.nallowed = 3;
    char tiny[8];
    assert_int_equal(
        ent_value_parse(&v, ENT_VT_ENUM, "Mars", &o, tiny, sizeof(tiny)),
        ENT_EINVAL);
    assert_true(strlen(tiny) < sizeof(tiny));
}

static void test_org(void **state) {
    (void)state;
    uint8_t pk[32];
    for (int i = 0; i < 32; i++)
        pk[i] = (uint8_t)(i * 7 + 3);
    char id[ENT_ORG_ID_LEN + 1];
    ent_org_id_format(id, pk);
    ent_value v;
    assert_int_equal(parse(&v, ENT_VT_ORG, id, NULL), ENT_OK);
    assert_int_equal(v.type, ENT_VT_ORG);
    assert_memory_equal(v.u.org, pk, 32);
    assert_formats(&v, id);
    json_t *j = NULL;
    assert_int_equal(ent_value_to_json(&v, &j), ENT_OK);
    assert_string_equal(json_string_value(j), id);
    json_decref(j);

    char upper[ENT_ORG_ID_LEN + 1];
    for (int i = 0; i <= ENT_ORG_ID_LEN; i++)
        upper[i] = (char)(id[i] >= 'a' && id[i] <= 'z' ? id[i] - 32 : id[i]);
    ent_value w;
    assert_int_equal(parse(&w, ENT_VT_ORG, upper, NULL), ENT_OK);
    assert_true(ent_value_equal(&v, &w));

    char shortid[ENT_ORG_ID_LEN];
    memcpy(shortid, id, ENT_ORG_ID_LEN - 1);
    shortid[ENT_ORG_ID_LEN - 1] = '\0';
    assert_int_equal(parse(&w, ENT_VT_ORG, shortid, NULL), ENT_EINVAL);
    char badch[ENT_ORG_ID_LEN + 1];
    memcpy(badch, id, sizeof(badch));
    badch[10] = '1'; /* not in the base32 alphabet */
    assert_int_equal(parse(&w, ENT_VT_ORG, badch, NULL), ENT_EINVAL);
    assert_int_equal(parse(&w, ENT_VT_ORG, "Acme Corp", NULL), ENT_EINVAL);
}

/* A link: the object id as 64 hex characters, either case, round trip. */
static void test_ref(void **state) {
    (void)state;
    static const char id[] =
        "00ff10aa3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";
    ent_value v, w;
    assert_int_equal(parse(&v, ENT_VT_REF, id, NULL), ENT_OK);
    assert_int_equal(v.type, ENT_VT_REF);
    assert_int_equal(v.u.ref[0], 0x00);
    assert_int_equal(v.u.ref[1], 0xff);
    assert_int_equal(v.u.ref[31], 0xe7);
    assert_formats(&v, id);
    json_t *j = NULL;
    assert_int_equal(ent_value_to_json(&v, &j), ENT_OK);
    assert_string_equal(json_string_value(j), id);
    json_decref(j);
    char upper[65];
    for (int i = 0; i <= 64; i++)
        upper[i] = (char)(id[i] >= 'a' && id[i] <= 'f' ? id[i] - 32 : id[i]);
    assert_int_equal(parse(&w, ENT_VT_REF, upper, NULL), ENT_OK);
    assert_true(ent_value_equal(&v, &w));
    w.u.ref[5] ^= 1;
    assert_false(ent_value_equal(&v, &w));
    assert_int_equal(ent_value_check(&v), ENT_OK);
    char bad[66];
    memcpy(bad, id, 65);
    bad[63] = '\0'; /* 63 characters */
    assert_int_equal(parse(&w, ENT_VT_REF, bad, NULL), ENT_EINVAL);
    memcpy(bad, id, 65);
    bad[7] = 'g';
    assert_int_equal(parse(&w, ENT_VT_REF, bad, NULL), ENT_EINVAL);
    memcpy(bad, id, 65);
    bad[64] = '0';
    bad[65] = '\0'; /* 65 characters */
    assert_int_equal(parse(&w, ENT_VT_REF, bad, NULL), ENT_EINVAL);
    assert_int_equal(parse(&w, ENT_VT_REF, "Q3 budget", NULL), ENT_EINVAL);
}

static void test_copy_equal_json(void **state) {
    (void)state;
    ent_value a, b, c;
    assert_int_equal(parse(&a, ENT_VT_TEXT, "hello", NULL), ENT_OK);
    assert_int_equal(ent_value_copy(&b, &a), ENT_OK);
    assert_ptr_not_equal(a.u.text.s, b.u.text.s);
    assert_true(ent_value_equal(&a, &b));
    b.u.text.s[0] = 'j';
    assert_false(ent_value_equal(&a, &b));
    ent_value_clear(&b);
    ent_value_clear(&b); /* clearing twice is harmless */

    /* same bytes, different type: not equal */
    assert_int_equal(ent_value_set_text(&c, ENT_VT_ENUM, "hello", 5), ENT_OK);
    assert_false(ent_value_equal(&a, &c));
    ent_value_clear(&c);
    ent_value_clear(&a);

    assert_int_equal(parse(&a, ENT_VT_MONEY, "5 EUR", NULL), ENT_OK);
    assert_int_equal(parse(&b, ENT_VT_MONEY, "5 USD", NULL), ENT_OK);
    assert_false(ent_value_equal(&a, &b));
    assert_int_equal(ent_value_copy(&c, &a), ENT_OK);
    assert_true(ent_value_equal(&a, &c));

    json_t *j = NULL;
    assert_int_equal(parse(&a, ENT_VT_MONEY, "1200000.50 EUR", NULL), ENT_OK);
    assert_int_equal(ent_value_to_json(&a, &j), ENT_OK);
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(
        s,
        "{\"amount\":\"1200000.50\",\"currency\":\"EUR\",\"minor\":120000050}");
    free(s);
    json_decref(j);

    assert_int_equal(parse(&a, ENT_VT_INT, "-12", NULL), ENT_OK);
    assert_int_equal(ent_value_to_json(&a, &j), ENT_OK);
    assert_true(json_is_integer(j));
    assert_int_equal(json_integer_value(j), -12);
    json_decref(j);

    assert_int_equal(parse(&a, ENT_VT_DATE, "2024-02-29", NULL), ENT_OK);
    assert_int_equal(ent_value_to_json(&a, &j), ENT_OK);
    assert_string_equal(json_string_value(j), "2024-02-29");
    json_decref(j);

    assert_int_equal(parse(&a, ENT_VT_TEXT, "caf\xc3\xa9", NULL), ENT_OK);
    assert_int_equal(ent_value_to_json(&a, &j), ENT_OK);
    assert_string_equal(json_string_value(j), "caf\xc3\xa9");
    json_decref(j);
    ent_value_clear(&a);

    /* exact JSON for values we cannot format (a partner's data) */
    a.type = ENT_VT_MONEY;
    a.u.money.minor = 250000;
    memcpy(a.u.money.cur, "XYZ", 4);
    assert_int_equal(ent_value_to_json(&a, &j), ENT_OK);
    s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(s, "{\"currency\":\"XYZ\",\"minor\":250000}");
    free(s);
    json_decref(j);
    a.type = ENT_VT_DATE;
    a.u.days = INT32_MIN;
    assert_int_equal(ent_value_to_json(&a, &j), ENT_OK);
    s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(s, "{\"days\":-2147483648}");
    free(s);
    json_decref(j);

    a.type = ENT_VT_NULL;
    assert_int_equal(ent_value_to_json(&a, &j), ENT_OK);
    assert_true(json_is_null(j));
    json_decref(j);
    assert_formats(&a, "");
}

/* The text of every kind of value as JSON (ent_value_json_text) is what
 * json_dumps writes for ent_value_to_json's value, and money and dates
 * format as printf did: minor units at their extremes in every exponent
 * (CLF 4, BHD 3, EUR 2, JPY 0) and an unknown currency, dates from year 1
 * to 9999 and beyond, text with every escape, orgs, refs, null. */
static void assert_text_as_json(const ent_value *v) {
    json_t *j = NULL;
    ent_jtext t;
    char arr[16]; /* small: the text moves to the heap */
    assert_int_equal(ent_value_to_json(v, &j), ENT_OK);
    char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    ent_jtext_init(&t, arr, sizeof(arr));
    assert_int_equal(ent_value_json_text(v, &t), ENT_OK);
    char *got = ent_jtext_take(&t);
    assert_non_null(want);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(want);
    free(got);
    json_decref(j);
}

static void test_json_text(void **state) {
    (void)state;
    const char *curs[] = {"CLF", "BHD", "EUR", "JPY", "XYZ"};
    const unsigned exps[] = {4, 3, 2, 0, 0};
    const int64_t minors[] = {0,         1,         -1,        5,
                              -5,        99,        100,       -100,
                              101,       12345,     -12345,    1000000,
                              INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (size_t c = 0; c < 5; c++)
        for (size_t i = 0; i < sizeof(minors) / sizeof(minors[0]); i++) {
            ent_value v = {.type = ENT_VT_MONEY};
            v.u.money.minor = minors[i];
            memcpy(v.u.money.cur, curs[c], 4);
            assert_text_as_json(&v);
            if (c == 4)
                continue;
            /* the text form, against printf */
            char want[80], amt[40], *got = NULL;
            int64_t m = minors[i];
            uint64_t mag = m < 0 ? 0 - (uint64_t)m : (uint64_t)m, p = 1;
            for (unsigned k = 0; k < exps[c]; k++)
                p *= 10;
            if (exps[c] == 0)
                snprintf(amt, sizeof(amt), "%s%llu", m < 0 ? "-" : "",
                         (unsigned long long)mag);
            else
                snprintf(amt, sizeof(amt), "%s%llu.%0*llu", m < 0 ? "-" : "",
                         (unsigned long long)(mag / p), (int)exps[c],
                         (unsigned long long)(mag % p));
            snprintf(want, sizeof(want), "%s %s", amt, curs[c]);
            assert_int_equal(ent_value_format(&v, &got), ENT_OK);
            assert_string_equal(got, want);
            free(got);
        }
    for (int64_t d = -800000; d <= 3000000; d += 997) {
        ent_value v = {.type = ENT_VT_DATE};
        int y, mo, dd;
        v.u.days = (int32_t)d;
        assert_text_as_json(&v);
        if (ent_date_to_ymd(v.u.days, &y, &mo, &dd) == ENT_OK) {
            char want[32], *got = NULL;
            snprintf(want, sizeof(want), "%04d-%02d-%02d", y, mo, dd);
            assert_int_equal(ent_value_format(&v, &got), ENT_OK);
            assert_string_equal(got, want);
            free(got);
        }
    }
    const int64_t ints[] = {0, 1, -1, 42, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        ent_value v = {.type = ENT_VT_INT};
        v.u.i = ints[i];
        assert_text_as_json(&v);
    }
    const char *texts[] = {"", "Deal", "a \"quoted\" \\ back/slash\ttab",
                           "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e",
                           "\x01\x1f\x7f ctl", "0123456789abcdef0123"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        for (int e = 0; e < 2; e++) {
            ent_value v = {.type = e ? ENT_VT_ENUM : ENT_VT_TEXT};
            v.u.text.s = (char *)texts[i];
            v.u.text.len = strlen(texts[i]);
            assert_text_as_json(&v);
        }
    ent_value v = {.type = ENT_VT_NULL};
    assert_text_as_json(&v);
    v.type = ENT_VT_ORG;
    memset(v.u.org, 0x5a, sizeof(v.u.org));
    assert_text_as_json(&v);
    v.type = ENT_VT_REF;
    memset(v.u.ref, 0xc3, sizeof(v.u.ref));
    assert_text_as_json(&v);
    /* text that is not UTF-8: refused as ent_value_to_json refuses it */
    ent_jtext t;
    json_t *j = NULL;
    ent_jtext_init(&t, NULL, 0);
    v.type = ENT_VT_TEXT;
    v.u.text.s = (char *)"a\xc3";
    v.u.text.len = 2;
    assert_int_equal(ent_value_to_json(&v, &j), ENT_EINVAL);
    assert_int_equal(ent_value_json_text(&v, &t), ENT_EINVAL);
    ent_jtext_free(&t);
}

int main(void) {
    assert_int_equal(ent_crypto_init(), ENT_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_integer),
        cmocka_unit_test(test_money),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_enum),
        cmocka_unit_test(test_org),
        cmocka_unit_test(test_ref),
        cmocka_unit_test(test_copy_equal_json),
        cmocka_unit_test(test_json_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
