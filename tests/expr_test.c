/* expr_test.c - the expression language of reports (spec/reports.md
 * "Expressions"): syntax, static types, errors with their position,
 * bounds, three-valued evaluation, exact money and dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/objects/value.h"
#include "node/reports/expr.h"

enum { F_STAGE, F_NAME, F_DEAL, F_CLOSE, F_SCORE, F_SRC, F_N };

static const struct {
    const char *name;
    ent_vtype type;
} fields[F_N] = {{"stage", ENT_VT_ENUM},     {"name", ENT_VT_TEXT},
                 {"deal_size", ENT_VT_MONEY}, {"close_date", ENT_VT_DATE},
                 {"score", ENT_VT_INT},       {"sourced_by", ENT_VT_ORG}};

static bool lookup(void *data, const char *name, size_t len, ent_vtype *type,
                   unsigned *slot) {
    for (unsigned i = 0; i < F_N; i++)
        if (strlen(fields[i].name) == len &&
            memcmp(fields[i].name, name, len) == 0) {
            *type = fields[i].type;
            *slot = i;
            return true;
        }
    return false;
}

typedef struct obj {
    ent_value v[F_N];
    bool has[F_N];
} obj;

static const ent_value *slot(void *data, unsigned i) {
    obj *o = data;
    return i < F_N && o->has[i] ? &o->v[i] : NULL;
}

static void set_text(obj *o, int f, const char *s) {
    o->v[f].type = fields[f].type;
    o->v[f].u.text.s = (char *)s;
    o->v[f].u.text.len = strlen(s);
    o->has[f] = true;
}

/* A sample object: Proposal, "Acme", 1500.00 USD, 2026-03-31, score 7. */
static void sample(obj *o) {
    memset(o, 0, sizeof(*o));
    set_text(o, F_STAGE, "Proposal");
    set_text(o, F_NAME, "Acme");
    o->v[F_DEAL].type = ENT_VT_MONEY;
    o->v[F_DEAL].u.money.minor = 150000;
    memcpy(o->v[F_DEAL].u.money.cur, "USD", 3);
    o->has[F_DEAL] = true;
    o->v[F_CLOSE].type = ENT_VT_DATE;
    assert_int_equal(ent_date_from_ymd(2026, 3, 31, &o->v[F_CLOSE].u.days),
                     ENT_OK);
    o->has[F_CLOSE] = true;
    o->v[F_SCORE].type = ENT_VT_INT;
    o->v[F_SCORE].u.i = 7;
    o->has[F_SCORE] = true;
    o->v[F_SRC].type = ENT_VT_ORG;
    memset(o->v[F_SRC].u.org, 0x11, 32);
    o->has[F_SRC] = true;
}

static bool holds(const char *text, obj *o) {
    ent_expr *e = NULL;
    char err[ENT_EXPR_ERR_MAX];
    int rc = ent_expr_compile(text, lookup, NULL, &e, err, sizeof(err));
    if (rc != ENT_OK)
        fail_msg("%s: %s", text, err);
    assert_int_equal(ent_expr_type(e), ENT_XT_BOOL);
    bool r = ent_expr_test(e, slot, o);
    ent_expr_free(e);
    return r;
}

/* Compiling text fails with rc and an error starting "at POS:". */
static void refused(const char *text, int rc, int pos, const char *why) {
    ent_expr *e = NULL;
    char err[ENT_EXPR_ERR_MAX], want[32];
    assert_int_equal(ent_expr_compile(text, lookup, NULL, &e, err,
                                      sizeof(err)),
                     rc);
    assert_null(e);
    snprintf(want, sizeof(want), "at %d: ", pos);
    if (strncmp(err, want, strlen(want)) != 0 || strstr(err, why) == NULL)
        fail_msg("%s: got \"%s\", want \"%s...%s\"", text, err, want, why);
}

static void test_compare_and_logic(void **state) {
    obj o;
    sample(&o);
    assert_true(holds("stage = \"proposal\"", &o)); /* case ignored */
    assert_true(holds("stage in ('Qualification', 'PROPOSAL')", &o));
    assert_false(holds("stage in (\"Closed Won\")", &o));
    assert_true(holds("deal_size >= 1500 USD and deal_size < 1500.01 usd", &o));
    assert_false(holds("deal_size > 1000 EUR", &o)); /* other currency */
    assert_false(holds("not deal_size > 1000 EUR", &o)); /* null, not true */
    assert_true(holds("deal_size != 1000 EUR", &o));
    assert_true(holds("close_date >= 2026-01-01 and close_date <= 2026-03-31",
                      &o));
    assert_true(holds("close_date - 2026-03-01 = 30", &o));
    assert_true(holds("close_date + 1 = 2026-04-01", &o));
    assert_true(holds("score * 2.5 = 17.5 and score / 2 = 3.5", &o));
    assert_true(holds("deal_size * 0.1 = 150 USD", &o)); /* money stays */
    assert_true(holds("deal_size / deal_size = 1", &o));
    assert_true(holds("deal_size / 3 = 500 USD", &o));
    assert_true(holds("-score < 0 and -(deal_size) < 0 USD", &o));
    assert_true(holds("NOT stage = 'Lost' AND (name < \"B\" OR false)", &o));
    assert_true(holds("name is not null and stage <> null", &o));
    /* an org equals its id as text */
    char id[ENT_ORG_ID_LEN + 1], text[128];
    ent_org_id_format(id, o.v[F_SRC].u.org);
    snprintf(text, sizeof(text), "sourced_by = \"%s\"", id);
    assert_true(holds(text, &o));
    assert_false(holds("sourced_by = \"someone\"", &o));
    /* absent fields: null; three-valued logic */
    o.has[F_DEAL] = o.has[F_STAGE] = false;
    assert_true(holds("deal_size is null and stage = null", &o));
    assert_false(holds("deal_size > 0 USD", &o));
    assert_false(holds("not (deal_size > 0 USD)", &o));
    assert_true(holds("deal_size > 0 USD or true", &o));
    assert_false(holds("deal_size > 0 USD and true", &o));
    assert_false(holds("stage in ('Proposal')", &o));
}

static void test_exact_money(void **state) {
    obj o;
    sample(&o);
    /* 1500.00 * 0.333333 = 499.9995 -> 500.00 (half away from zero) */
    assert_true(holds("deal_size * 0.333333 = 500 USD", &o));
    o.v[F_DEAL].u.money.minor = -150000;
    assert_true(holds("deal_size * 0.333333 = -500 USD", &o));
    /* overflow gives null, never a wrapped value */
    o.v[F_DEAL].u.money.minor = INT64_MAX;
    assert_false(holds("deal_size + 0.01 USD > 0 USD", &o));
    assert_true(holds("deal_size + 0.01 USD is null", &o));
    assert_true(holds("deal_size / 0 is null", &o));
    /* JPY has no decimals, BHD three */
    assert_true(holds("1200 JPY = 1200 jpy and 1.2 BHD = 1.200 BHD", &o));
}

static void test_errors(void **state) {
    refused("deal_size > 500", ENT_EINVAL, 11, "cannot compare money with "
                                               "number (give the amount");
    refused("dael_size > 5", ENT_EINVAL, 1, "unknown field 'dael_size'");
    refused("stage = ", ENT_EINVAL, 9, "unexpected end");
    refused("stage = \"x", ENT_EINVAL, 9, "unterminated string");
    refused("score + \"a\" > 1", ENT_EINVAL, 7, "cannot add number and text");
    refused("stage and true", ENT_EINVAL, 7, "'and' wants bools");
    refused("score > 1 )", ENT_EINVAL, 11, "unexpected ')' after");
    refused("1.2345678 > score", ENT_EINVAL, 1, "more than 6 decimals");
    refused("1.234 USD > deal_size", ENT_EINVAL, 1, "more than 2 decimals");
    refused("5 XYZ > deal_size", ENT_EINVAL, 3, "unknown currency XYZ");
    refused("close_date > 2026-02-30", ENT_EINVAL, 14, "no such date");
    refused("stage in (name)", ENT_EINVAL, 11, "values only");
    refused("score ! 3", ENT_EINVAL, 7, "'!' must be '!='");
    refused("score = 3 ; drop", ENT_EINVAL, 11, "unexpected character ';'");
    refused("", ENT_EINVAL, 1, "empty expression");
    refused("not 5", ENT_EINVAL, 1, "'not' wants a bool");
    refused("true < false", ENT_EINVAL, 6, "cannot compare bool with bool");
    refused("99999999999999 > score", ENT_EINVAL, 1, "out of range");
}

static void test_bounds(void **state) {
    char text[ENT_EXPR_TEXT_MAX + 64];
    /* nesting */
    memset(text, '(', 40);
    strcpy(text + 40, "true");
    memset(text + 44, ')', 40);
    text[84] = '\0';
    refused(text, ENT_ELIMIT, 33, "nested too deeply");
    /* too many nodes */
    text[0] = '\0';
    for (int i = 0; i < 70; i++)
        strcat(text, i ? " or true" : "true");
    refused(text, ENT_ELIMIT, 510, "expression too large");
    /* too long */
    memset(text, ' ', ENT_EXPR_TEXT_MAX + 1);
    text[ENT_EXPR_TEXT_MAX + 1] = '\0';
    ent_expr *e = NULL;
    char err[ENT_EXPR_ERR_MAX];
    assert_int_equal(ent_expr_compile(text, lookup, NULL, &e, err,
                                      sizeof(err)),
                     ENT_ELIMIT);
    /* not text */
    assert_int_equal(ent_expr_compile("stage = \"\x01\"", lookup, NULL, &e,
                                      err, sizeof(err)),
                     ENT_EINVAL);
    assert_null(e);
}

/* if C then A else B: typed branches, false and null take else, nests in
 * parentheses, and bad forms are refused where they go wrong. */
static void test_if(void **state) {
    obj o;
    (void)state;
    sample(&o);
    assert_true(holds("(if score > 5 then 'big' else 'small') = 'big'", &o));
    assert_true(holds("(if score > 9 then 'big' else 'small') = 'small'", &o));
    /* null condition: else */
    assert_true(holds("(if deal_size > 1 EUR then 1 else 2) = 2", &o));
    /* money branches, in arithmetic */
    assert_true(holds("(if stage = 'Proposal' then deal_size * 0.5 else "
                      "deal_size) + 0.01 USD = 750.01 USD",
                      &o));
    /* a null branch takes the other's type */
    assert_true(holds("(if score > 9 then 1 else null) is null", &o));
    /* nested, in the else branch */
    assert_true(holds("(if score > 9 then 'a' else if score > 5 then 'b' "
                      "else 'c') = 'b'",
                      &o));
    refused("if score then 1 else 2", ENT_EINVAL, 1, "condition");
    refused("if score > 1 then 1 else 'a'", ENT_EINVAL, 1, "one type");
    refused("if score > 1 1 else 2", ENT_EINVAL, 14, "'then'");
    refused("if score > 1 then 1", ENT_EINVAL, 20, "'else'");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare_and_logic),
        cmocka_unit_test(test_exact_money),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_if),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
