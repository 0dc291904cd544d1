/* template_test.c - templates, config tables and field resolution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/objects/template.h"
#include "storage/store.h"
#include "tests/store_fixture.h"

/* ---- helpers ---------------------------------------------------------- */

static json_t *load(const char *text) {
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL)
        fail_msg("bad test JSON at %d: %s: %s", jerr.position, jerr.text, text);
    return j;
}

static ent_template *tpl_from(const char *text) {
    json_t *j = load(text);
    ent_template *t = NULL;
    char err[256] = "";
    int rc = ent_template_from_json(j, &t, err, sizeof(err));
    json_decref(j);
    if (rc != ENT_OK)
        fail_msg("template rejected: %s", err);
    return t;
}

static char *canonical(const ent_template *t) {
    json_t *j = NULL;
    assert_int_equal(ent_template_to_json(t, &j), ENT_OK);
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    assert_non_null(s);
    return s;
}

struct fixture {
    char dir[64];
    ent_store *store;
};

static int setup(void **state) {
    struct fixture *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    if (tmp_dir_at(f->dir, sizeof(f->dir), "/tmp", "template") != 0)
        return -1;
    if (ent_store_open(&f->store, f->dir, ENT_STORE_CREATE, NULL) != ENT_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fixture *f = *state;
    ent_store_close(f->store);
    rm_tree(f->dir);
    free(f);
    return 0;
}

/* Runs a test body inside one write transaction. */
static int run_write(struct fixture *f, int (*fn)(ent_txn *, void *),
                     void *data) {
    return ent_store_write(f->store, fn, data);
}

/* ---- pure parts --------------------------------------------------------- */

static void test_builtins_round_trip(void **state) {
    (void)state;
    const char *const *types = ent_template_builtin_types();
    size_t n = 0;
    for (; types[n] != NULL; n++) {
        ent_template *t = NULL, *u = NULL;
        assert_int_equal(ent_template_builtin(types[n], &t), ENT_OK);
        assert_string_equal(t->type, types[n]);
        assert_true(t->nfields >= 8);
        assert_true(t->stages.n >= 3);
        /* every built-in keeps something private */
        const ent_tpl_field *notes = ent_template_field(t, "internal_notes");
        assert_non_null(notes);
        assert_int_equal(notes->visibility, ENT_VIS_PRIVATE);

        json_t *j = NULL;
        assert_int_equal(ent_template_to_json(t, &j), ENT_OK);
        char err[256] = "";
        assert_int_equal(ent_template_from_json(j, &u, err, sizeof(err)),
                         ENT_OK);
        json_decref(j);
        assert_true(ent_template_equal(t, u));
        char *a = canonical(t), *b = canonical(u);
        assert_string_equal(a, b);
        /* and through text, as stored */
        ent_template *w = tpl_from(a);
        assert_true(ent_template_equal(t, w));
        free(a);
        free(b);
        ent_template_free(w);
        ent_template_free(u);
        ent_template_free(t);
    }
    assert_int_equal(n, 9);
    ent_template *t = NULL;
    assert_int_equal(ent_template_builtin("widget", &t), ENT_ENOENT);
    assert_null(t);
}

static void test_opportunity_fields(void **state) {
    (void)state;
    ent_template *t = NULL;
    assert_int_equal(ent_template_builtin("opportunity", &t), ENT_OK);
    assert_false(t->strict);
    static const struct {
        const char *name;
        ent_vtype type;
        ent_visibility vis;
    } want[] = {
        {"name", ENT_VT_TEXT, ENT_VIS_SHARED},
        {"customer_account", ENT_VT_TEXT, ENT_VIS_SHARED},
        {"stage", ENT_VT_ENUM, ENT_VIS_SHARED},
        {"close_date", ENT_VT_DATE, ENT_VIS_SHARED},
        {"next_step", ENT_VT_TEXT, ENT_VIS_SHARED},
        {"sourced_by", ENT_VT_ORG, ENT_VIS_SHARED},
        {"influenced_by", ENT_VT_ORG, ENT_VIS_SHARED},
        {"deal_size", ENT_VT_MONEY, ENT_VIS_PRIVATE},
        {"forecast_category", ENT_VT_ENUM, ENT_VIS_PRIVATE},
        {"internal_notes", ENT_VT_TEXT, ENT_VIS_PRIVATE},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const ent_tpl_field *f = ent_template_field(t, want[i].name);
        if (f == NULL)
            fail_msg("opportunity has no field %s", want[i].name);
        assert_int_equal(f->type, want[i].type);
        assert_int_equal(f->visibility, want[i].vis);
    }
    /* one stage list: the field stage takes the template's stages */
    assert_string_equal(ent_template_field(t, "stage")->table, "");
    assert_int_equal(ent_template_field(t, "stage")->values.n, 0);
    assert_string_equal(t->stages.v[0], "Prospecting");
    assert_string_equal(ent_template_field(t, "stage")->default_text,
                        "Prospecting");
    assert_true(ent_template_field(t, "influenced_by")->or_text);
    assert_true(ent_template_field(t, "sourced_by")->owner_only);
    assert_string_equal(t->stages.v[0], "Prospecting");
    assert_null(ent_template_field(t, "nope"));
    ent_template_free(t);

    assert_int_equal(ent_template_builtin("mdf_request", &t), ENT_OK);
    assert_int_equal(ent_template_field(t, "amount_requested")->type,
                     ENT_VT_MONEY);
    assert_int_equal(ent_template_field(t, "amount_requested")->visibility,
                     ENT_VIS_SHARED);
    assert_int_equal(ent_template_field(t, "budget")->type, ENT_VT_REF);
    assert_string_equal(ent_template_field(t, "budget")->target, "mdf_budget");
    assert_true(t->ruleslen > 0); /* the MDF workflow, spec/workflows.md §8 */
    assert_string_equal(ent_template_field(t, "activity_type")->table,
                        "mdf_activity_types");
    ent_template_free(t);
}

#define FULL_TEMPLATE                                                          \
    "{\"type\":\"partner_review\",\"strict\":true,\"fields\":["                \
    "{\"name\":\"title\",\"type\":\"text\",\"label\":\"Title\","               \
    "\"default\":\"Untitled\"},"                                               \
    "{\"name\":\"score\",\"type\":\"integer\",\"visibility\":\"private\","     \
    "\"default\":\"-3\"},"                                                     \
    "{\"name\":\"budget\",\"type\":\"money\",\"owner_only\":true,"             \
    "\"default\":\"10.5 EUR\"},"                                               \
    "{\"name\":\"due\",\"type\":\"date\",\"default\":\"2024-02-29\"},"         \
    "{\"name\":\"rating\",\"type\":\"enum\",\"values\":[\"Low\",\"High\"],"    \
    "\"default\":\"high\"},"                                                   \
    "{\"name\":\"region\",\"type\":\"enum\",\"table\":\"regions\"},"           \
    "{\"name\":\"reviewer\",\"type\":\"org\",\"or_text\":true}],"              \
    "\"stages\":[\"Open\",\"Done\"]}"

static void test_full_round_trip_and_equal(void **state) {
    (void)state;
    ent_template *t = tpl_from(FULL_TEMPLATE);
    assert_true(t->strict);
    assert_int_equal(t->nfields, 7);
    assert_int_equal(ent_template_field(t, "score")->visibility,
                     ENT_VIS_PRIVATE);
    assert_true(ent_template_field(t, "budget")->owner_only);
    assert_int_equal(ent_template_field(t, "rating")->values.n, 2);
    char *s = canonical(t);
    ent_template *u = tpl_from(s);
    assert_true(ent_template_equal(t, u));
    /* the canonical form leaves defaults out and sorts keys */
    assert_non_null(strstr(s, "\"visibility\":\"shared\""));
    assert_null(strstr(s, "\"owner_only\":false"));
    assert_int_equal(s[0], '{');
    assert_int_equal(strncmp(s, "{\"fields\":", 10), 0);
    free(s);

    /* every attribute takes part in equality */
    u->strict = false;
    assert_false(ent_template_equal(t, u));
    u->strict = true;
    u->fields[1].visibility = ENT_VIS_SHARED;
    assert_false(ent_template_equal(t, u));
    u->fields[1].visibility = ENT_VIS_PRIVATE;
    u->fields[2].owner_only = false;
    assert_false(ent_template_equal(t, u));
    u->fields[2].owner_only = true;
    u->fields[4].values.v[0][0] = 'l';
    assert_false(ent_template_equal(t, u));
    u->fields[4].values.v[0][0] = 'L';
    u->fields[5].table[0] = 'x';
    assert_false(ent_template_equal(t, u));
    u->fields[5].table[0] = 'r';
    u->stages.v[1][0] = 'd';
    assert_false(ent_template_equal(t, u));
    u->stages.v[1][0] = 'D';
    assert_true(ent_template_equal(t, u));
    ent_template_free(u);
    ent_template_free(t);
}

static void test_validation_errors(void **state) {
    (void)state;
    static const struct {
        const char *json;
        const char *msg; /* a piece of the expected error text */
    } cases[] = {
        {"[]", "must be a JSON object"},
        /* one stage list: the field stage takes the template's stages */
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"stage\","
         "\"type\":\"enum\",\"table\":\"stages\"}],\"stages\":[\"A\"]}",
         "field stage: the workflow stage is an enum whose values are the "
         "template's \"stages\""},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"stage\","
         "\"type\":\"text\"}],\"stages\":[\"A\"]}",
         "the workflow stage is an enum"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"stage\","
         "\"type\":\"enum\"}]}",
         "template deal: field stage needs the workflow stages"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"stage\","
         "\"type\":\"enum\",\"default\":\"B\"}],\"stages\":[\"A\"]}",
         "field stage: bad default: \"B\" is not one of its \"stages\""},
        {"{\"fields\":[]}", "\"type\" must be"},
        {"{\"type\":\"Opportunity\",\"fields\":[]}", "\"type\" must be"},
        {"{\"type\":\"1deal\",\"fields\":[]}", "\"type\" must be"},
        {"{\"type\":\"a23456789012345678901234567890123\",\"fields\":[]}",
         "\"type\" must be"},
        {"{\"type\":\"deal\",\"fields\":[],\"colour\":1}",
         "template deal: unknown key \"colour\""},
        {"{\"type\":\"deal\",\"strict\":\"yes\",\"fields\":[]}",
         "\"strict\" must be"},
        {"{\"type\":\"deal\"}", "\"fields\" must be an array"},
        {"{\"type\":\"deal\",\"fields\":{}}", "\"fields\" must be an array"},
        {"{\"type\":\"deal\",\"fields\":[3]}", "field 0: must be an object"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"Deal-Size\","
         "\"type\":\"text\"}]}",
         "field 0: \"name\" must be"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"a0123456789012345678"
         "901234567890123456789012345678901234567890123\",\"type\":\"text\"}]}",
         "field 0: \"name\" must be"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"size\","
         "\"type\":\"float\"}]}",
         "field size: \"type\" must be one of"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"size\"}]}",
         "field size: \"type\" must be one of"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"size\",\"type\":\"text\","
         "\"colour\":\"red\"}]}",
         "field size: unknown key \"colour\""},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"tier\","
         "\"type\":\"enum\"}]}",
         "field tier: an enum needs exactly one of"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"tier\",\"type\":\"enum\","
         "\"values\":[\"a\"],\"table\":\"tiers\"}]}",
         "field tier: an enum needs exactly one of"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"tier\",\"type\":\"enum\","
         "\"values\":[]}]}",
         "field tier: \"values\": needs at least one value"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"tier\",\"type\":\"enum\","
         "\"values\":[\"Gold\",\"gold\"]}]}",
         "field tier: \"values\": duplicate value \"gold\""},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"tier\",\"type\":\"enum\","
         "\"values\":[\"Gold\",\"\"]}]}",
         "field tier: \"values\": value 1 is empty"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"tier\",\"type\":\"enum\","
         "\"values\":[\"Gold\",7]}]}",
         "field tier: \"values\": value 1 is not a string"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"tier\",\"type\":\"enum\","
         "\"table\":\"Tiers\"}]}",
         "field tier: \"table\" must be"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"note\",\"type\":\"text\","
         "\"values\":[\"a\"]}]}",
         "field note: \"table\" and \"values\" are only for type enum"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"note\",\"type\":\"text\","
         "\"or_text\":true}]}",
         "field note: \"or_text\" is a boolean and only for type org"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"note\",\"type\":\"text\","
         "\"visibility\":\"secret\"}]}",
         "field note: \"visibility\" must be"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"note\",\"type\":\"text\","
         "\"owner_only\":1}]}",
         "field note: \"owner_only\" must be"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"note\",\"type\":\"text\"},"
         "{\"name\":\"note\",\"type\":\"date\"}]}",
         "template deal: duplicate field note"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"due\",\"type\":\"date\","
         "\"default\":\"1900-02-29\"}]}",
         "field due: bad default: no such date"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"size\",\"type\":\"money\","
         "\"default\":\"100\"}]}",
         "field size: bad default: money amount \"100\" needs a currency"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"size\",\"type\":\"money\","
         "\"default\":\"1.234 EUR\"}]}",
         "field size: bad default: EUR has 2 decimals"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"tier\",\"type\":\"enum\","
         "\"values\":[\"Gold\"],\"default\":\"Silver\"}]}",
         "field tier: bad default: \"Silver\" is not one of"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"n\",\"type\":\"integer\","
         "\"default\":\"\"}]}",
         "field n: \"default\" must be a non-empty string"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"n\",\"type\":\"integer\","
         "\"default\":5}]}",
         "field n: \"default\" must be a non-empty string"},
        {"{\"type\":\"deal\",\"fields\":[{\"name\":\"n\",\"type\":\"text\","
         "\"label\":\"a\\nb\"}]}",
         "field n: \"label\" must be text"},
        {"{\"type\":\"deal\",\"fields\":[],\"stages\":[\"Open\",\"OPEN\"]}",
         "template deal: \"stages\": duplicate value \"OPEN\""},
        {"{\"type\":\"deal\",\"fields\":[],\"stages\":\"Open\"}",
         "template deal: \"stages\": must be an array"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = load(cases[i].json);
        ent_template *t = (ent_template *)1;
        char err[256] = "";
        int rc = ent_template_from_json(j, &t, err, sizeof(err));
        json_decref(j);
        if (rc != ENT_EINVAL || strstr(err, cases[i].msg) == NULL)
            fail_msg("case %zu: rc %d, error \"%s\", want \"%s\"", i, rc, err,
                     cases[i].msg);
        assert_null(t);
    }
    /* too many fields */
    json_t *j = load("{\"type\":\"deal\",\"fields\":[]}");
    json_t *fields = json_object_get(j, "fields");
    for (int i = 0; i <= ENT_TPL_MAX_FIELDS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%d", i);
        json_array_append_new(
            fields, json_pack("{s:s,s:s}", "name", name, "type", "text"));
    }
    ent_template *t = NULL;
    char err[256] = "";
    assert_int_equal(ent_template_from_json(j, &t, err, sizeof(err)),
                     ENT_EINVAL);
    assert_non_null(strstr(err, "more than 256 fields"));
    json_array_remove(fields, 0);
    assert_int_equal(ent_template_from_json(j, &t, err, sizeof(err)), ENT_OK);
    assert_int_equal(t->nfields, ENT_TPL_MAX_FIELDS);
    ent_template_free(t);
    json_decref(j);
    /* the longest names are accepted */
    char longest[256];
    snprintf(
        longest, sizeof(longest),
        "{\"type\":\"%s\",\"fields\":[{\"name\":\"%s\",\"type\":"
        "\"enum\",\"table\":\"%s\"}]}",
        "t2345678901234567890123456789012",
        "f234567890123456789012345678901234567890123456789012345678901234",
        "x234567890123456789012345678901234567890123456789012345678901234");
    t = tpl_from(longest);
    assert_int_equal(strlen(t->type), ENT_TPL_TYPE_MAX);
    assert_int_equal(strlen(t->fields[0].name), ENT_TPL_NAME_MAX);
    assert_int_equal(strlen(t->fields[0].table), ENT_TPL_NAME_MAX);
    ent_template_free(t);
    /* NULL error buffer is fine */
    j = load("{\"type\":\"X\"}");
    assert_int_equal(ent_template_from_json(j, &t, NULL, 0), ENT_EINVAL);
    json_decref(j);
}

/* ---- storage ----------------------------------------------------------- */

static int store_body(ent_txn *txn, void *data) {
    (void)data;
    ent_template *t = NULL, *b = NULL;
    /* nothing stored: the built-in */
    assert_int_equal(ent_template_get(txn, "opportunity", &t), ENT_OK);
    assert_int_equal(ent_template_builtin("opportunity", &b), ENT_OK);
    assert_true(ent_template_equal(t, b));
    ent_template_free(t);
    assert_int_equal(ent_template_get(txn, "widget", &t), ENT_ENOENT);
    assert_int_equal(ent_template_get(txn, "Bad Type", &t), ENT_EINVAL);

    /* the org's own opportunity: strict, one more field, deal_size shared */
    json_t *j = NULL;
    assert_int_equal(ent_template_to_json(b, &j), ENT_OK);
    json_object_set_new(j, "strict", json_true());
    json_array_append_new(
        json_object_get(j, "fields"),
        json_pack("{s:s,s:s}", "name", "partner_tier", "type", "text"));
    ent_template *mine = NULL;
    char err[256];
    assert_int_equal(ent_template_from_json(j, &mine, err, sizeof(err)),
                     ENT_OK);
    json_decref(j);
    assert_int_equal(ent_template_put(txn, mine), ENT_OK);
    assert_int_equal(ent_template_get(txn, "opportunity", &t), ENT_OK);
    assert_true(ent_template_equal(t, mine));
    assert_false(ent_template_equal(t, b));
    ent_template_free(t);

    /* stored as canonical JSON under the type name */
    const void *val;
    size_t vlen;
    assert_int_equal(
        ent_txn_get(txn, ENT_TBL_TEMPLATES, "opportunity", 11, &val, &vlen),
        ENT_OK);
    char *want = canonical(mine);
    assert_int_equal(vlen, strlen(want));
    assert_memory_equal(val, want, vlen);
    free(want);

    /* a new type */
    ent_template *review = tpl_from(FULL_TEMPLATE);
    assert_int_equal(ent_template_put(txn, review), ENT_OK);
    ent_strlist l = {0};
    assert_int_equal(ent_template_list(txn, &l), ENT_OK);
    static const char *const sorted[] = {
        "account_plan", "deal_registration", "lead",       "mdf_budget",
        "mdf_request",  "opportunity",       "partner_review", "program",
        "sales_plan",   "solution"};
    assert_int_equal(l.n, 10);
    for (size_t i = 0; i < l.n; i++)
        assert_string_equal(l.v[i], sorted[i]);
    ent_strlist_free(&l);
    assert_int_equal(ent_template_get(txn, "partner_review", &t), ENT_OK);
    assert_true(ent_template_equal(t, review));
    ent_template_free(t);

    /* deleting the org's template brings back the built-in */
    assert_int_equal(ent_template_del(txn, "opportunity"), ENT_OK);
    assert_int_equal(ent_template_get(txn, "opportunity", &t), ENT_OK);
    assert_true(ent_template_equal(t, b));
    ent_template_free(t);
    assert_int_equal(ent_template_del(txn, "opportunity"), ENT_ENOENT);

    /* corrupt stored templates are reported, not trusted */
    const char *junk = "{\"type\":\"lead\",\"fields\":[";
    assert_int_equal(
        ent_txn_put(txn, ENT_TBL_TEMPLATES, "lead", 4, junk, strlen(junk), 0),
        ENT_OK);
    assert_int_equal(ent_template_get(txn, "lead", &t), ENT_ECORRUPT);
    const char *other = "{\"type\":\"program\",\"fields\":[]}";
    assert_int_equal(
        ent_txn_put(txn, ENT_TBL_TEMPLATES, "lead", 4, other, strlen(other), 0),
        ENT_OK);
    assert_int_equal(ent_template_get(txn, "lead", &t), ENT_ECORRUPT);
    assert_null(t);

    ent_template_free(review);
    ent_template_free(mine);
    ent_template_free(b);
    return ENT_OK;
}

static void test_store_load_list(void **state) {
    struct fixture *f = *state;
    assert_int_equal(run_write(f, store_body, NULL), ENT_OK);
}

static int persisted_body(ent_txn *txn, void *data) {
    ent_template *t = NULL;
    assert_int_equal(ent_template_get(txn, "partner_review", &t), ENT_OK);
    assert_true(t->strict);
    ent_template_free(t);
    char cur[4];
    assert_int_equal(ent_config_default_currency(txn, cur), ENT_OK);
    assert_string_equal(cur, "EUR");
    return ENT_OK;
}

static int config_body(ent_txn *txn, void *data) {
    (void)data;
    ent_strlist l = {0};
    assert_int_equal(ent_config_get_list(txn, "regions", &l), ENT_OK);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.v[2], "EMEA");
    ent_strlist_free(&l);
    /* the stages are the templates' own, no table's */
    assert_int_equal(ent_config_get_list(txn, "stages", &l), ENT_ENOENT);
    assert_false(ent_config_builtin_table("stages"));
    assert_true(ent_config_builtin_table("regions"));
    assert_int_equal(ent_config_get_list(txn, "colours", &l), ENT_ENOENT);
    assert_int_equal(ent_config_get_list(txn, "Bad Name", &l), ENT_EINVAL);

    const char *mine[] = {"Nordics", "DACH", "Benelux"};
    assert_int_equal(ent_config_put_list(txn, "regions", mine, 3), ENT_OK);
    assert_int_equal(ent_config_get_list(txn, "regions", &l), ENT_OK);
    assert_int_equal(l.n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(l.v[i], mine[i]);
    ent_strlist_free(&l);
    /* an org may add tables of its own */
    const char *colours[] = {"Red", "Green"};
    assert_int_equal(ent_config_put_list(txn, "colours", colours, 2), ENT_OK);
    assert_int_equal(ent_config_get_list(txn, "colours", &l), ENT_OK);
    assert_int_equal(l.n, 2);
    ent_strlist_free(&l);

    /* an enum field's values are its table's: the built-in list until the
     * store holds one of that name, then the stored one */
    ent_template *opp = NULL;
    ent_resolved r;
    char why[256];
    assert_int_equal(ent_template_builtin("opportunity", &opp), ENT_OK);
    assert_int_equal(ent_template_resolve_as(opp, txn, "industry", "retail",
                                             ENT_RESOLVE_SHARED, &r, why,
                                             sizeof(why)),
                     ENT_OK);
    assert_string_equal(r.value.u.text.s, "Retail");
    ent_value_clear(&r.value);
    const char *ships[] = {"Shipping"};
    assert_int_equal(ent_config_put_list(txn, "industries", ships, 1), ENT_OK);
    assert_int_not_equal(ent_template_resolve_as(opp, txn, "industry",
                                                 "Retail", ENT_RESOLVE_SHARED,
                                                 &r, why, sizeof(why)),
                         ENT_OK);
    assert_int_equal(ent_template_resolve_as(opp, txn, "industry", "shipping",
                                             ENT_RESOLVE_SHARED, &r, why,
                                             sizeof(why)),
                     ENT_OK);
    assert_string_equal(r.value.u.text.s, "Shipping");
    ent_value_clear(&r.value);
    ent_template_free(opp);

    const char *dup[] = {"DACH", "dach"};
    assert_int_equal(ent_config_put_list(txn, "regions", dup, 2), ENT_EINVAL);
    assert_int_equal(ent_config_put_list(txn, "regions", dup, 0), ENT_EINVAL);
    const char *ctl[] = {"a\nb"};
    assert_int_equal(ent_config_put_list(txn, "regions", ctl, 1), ENT_EINVAL);
    const char *badutf[] = {"\xff"};
    assert_int_equal(ent_config_put_list(txn, "regions", badutf, 1),
                     ENT_EINVAL);
    /* the failed puts changed nothing */
    assert_int_equal(ent_config_get_list(txn, "regions", &l), ENT_OK);
    assert_int_equal(l.n, 3);
    ent_strlist_free(&l);

    char cur[4];
    assert_int_equal(ent_config_default_currency(txn, cur), ENT_OK);
    assert_string_equal(cur, "USD");
    assert_int_equal(ent_config_set_default_currency(txn, "EUR"), ENT_OK);
    assert_int_equal(ent_config_default_currency(txn, cur), ENT_OK);
    assert_string_equal(cur, "EUR");
    assert_int_equal(ent_config_set_default_currency(txn, "XYZ"), ENT_EINVAL);
    assert_int_equal(ent_config_set_default_currency(txn, "eur"), ENT_EINVAL);
    assert_int_equal(ent_config_set_default_currency(txn, "EURO"), ENT_EINVAL);

    ent_template *review = tpl_from(FULL_TEMPLATE);
    assert_int_equal(ent_template_put(txn, review), ENT_OK);
    ent_template_free(review);
    return ENT_OK;
}

static void test_config_tables(void **state) {
    struct fixture *f = *state;
    assert_int_equal(run_write(f, config_body, NULL), ENT_OK);
    /* committed: a later read transaction sees it */
    assert_int_equal(ent_store_read(f->store, persisted_body, NULL), ENT_OK);
}

/* ---- resolution -----------------------------------------------------------
 */

/* Resolves and checks the result's visibility and formatted value. */
static void check_resolve(const ent_template *t, ent_txn *txn,
                          const char *field, const char *text, bool priv,
                          ent_visibility vis, ent_vtype type,
                          const char *formatted) {
    ent_resolved r;
    char err[256] = "";
    int rc =
        ent_template_resolve(t, txn, field, text, priv, &r, err, sizeof(err));
    if (rc != ENT_OK)
        fail_msg("%s=%s: %s", field, text, err);
    assert_string_equal(r.field, field);
    assert_int_equal(r.visibility, vis);
    assert_int_equal(r.value.type, type);
    char *s = NULL;
    assert_int_equal(ent_value_format(&r.value, &s), ENT_OK);
    assert_string_equal(s, formatted);
    free(s);
    ent_value_clear(&r.value);
}

/* Resolves, expects rc and an error containing msg. */
static void check_refused(const ent_template *t, ent_txn *txn,
                          const char *field, const char *text, bool priv,
                          int want, const char *msg) {
    ent_resolved r;
    char err[256] = "";
    int rc =
        ent_template_resolve(t, txn, field, text, priv, &r, err, sizeof(err));
    if (rc != want || strstr(err, msg) == NULL)
        fail_msg("%s=%s: rc %d \"%s\", want %d \"%s\"", field, text, rc, err,
                 want, msg);
    assert_int_equal(r.value.type, ENT_VT_NULL);
}

static int resolve_body(ent_txn *txn, void *data) {
    (void)data;
    ent_template *t = NULL;
    ent_resolved r;
    char err[256] = "";
    assert_int_equal(ent_template_get(txn, "opportunity", &t), ENT_OK);

    /* a private field with --set is refused, with the documented text */
    assert_int_equal(ent_template_resolve(t, txn, "deal_size", "1200000", false,
                                          &r, err, sizeof(err)),
                     ENT_ESCHEMA);
    assert_string_equal(
        err, "field deal_size is private in template opportunity; use "
             "--private");
    check_refused(t, txn, "internal_notes", "x", false, ENT_ESCHEMA,
                  "use --private");
    /* with --private it is money in the org's default currency */
    check_resolve(t, txn, "deal_size", "1200000", true, ENT_VIS_PRIVATE,
                  ENT_VT_MONEY, "1200000.00 USD");
    check_resolve(t, txn, "deal_size", "EUR 99.5", true, ENT_VIS_PRIVATE,
                  ENT_VT_MONEY, "99.50 EUR");
    check_refused(t, txn, "deal_size", "1.234 EUR", true, ENT_EINVAL,
                  "field deal_size of opportunity: EUR has 2 decimals");
    assert_int_equal(ent_config_set_default_currency(txn, "JPY"), ENT_OK);
    check_resolve(t, txn, "deal_size", "1200000", true, ENT_VIS_PRIVATE,
                  ENT_VT_MONEY, "1200000 JPY");
    check_refused(t, txn, "deal_size", "10.5", true, ENT_EINVAL,
                  "JPY has 0 decimals");

    /* shared fields with --set; a shared field may be kept private */
    check_resolve(t, txn, "name", "Acme rollout", false, ENT_VIS_SHARED,
                  ENT_VT_TEXT, "Acme rollout");
    check_resolve(t, txn, "next_step", "call CFO", true, ENT_VIS_PRIVATE,
                  ENT_VT_TEXT, "call CFO");
    check_resolve(t, txn, "close_date", "2024-02-29", false, ENT_VIS_SHARED,
                  ENT_VT_DATE, "2024-02-29");
    check_refused(t, txn, "close_date", "2023-02-29", false, ENT_EINVAL,
                  "field close_date of opportunity: no such date");

    /* enum from the "stages" configuration table */
    check_resolve(t, txn, "stage", "closed won", false, ENT_VIS_SHARED,
                  ENT_VT_ENUM, "Closed Won");
    check_resolve(t, txn, "stage", t->fields[2].default_text, false,
                  ENT_VIS_SHARED, ENT_VT_ENUM, "Prospecting");
    check_refused(t, txn, "stage", "Won-ish", false, ENT_EINVAL,
                  "field stage of opportunity: \"Won-ish\" is not one of");
    check_resolve(t, txn, "forecast_category", "Commit", true, ENT_VIS_PRIVATE,
                  ENT_VT_ENUM, "Commit");

    /* enum values follow the org's configuration table when it changes */
    check_resolve(t, txn, "region", "emea", false, ENT_VIS_SHARED, ENT_VT_ENUM,
                  "EMEA");
    const char *regions[] = {"Nordics", "DACH"};
    assert_int_equal(ent_config_put_list(txn, "regions", regions, 2), ENT_OK);
    check_refused(t, txn, "region", "EMEA", false, ENT_EINVAL,
                  "\"EMEA\" is not one of: \"Nordics\", \"DACH\"");
    check_resolve(t, txn, "region", "dach", false, ENT_VIS_SHARED, ENT_VT_ENUM,
                  "DACH");
    /* without a transaction the built-in tables apply */
    check_resolve(t, NULL, "region", "EMEA", false, ENT_VIS_SHARED, ENT_VT_ENUM,
                  "EMEA");
    check_resolve(t, NULL, "deal_size", "5", true, ENT_VIS_PRIVATE,
                  ENT_VT_MONEY, "5.00 USD");

    /* org references; influenced_by also takes text */
    uint8_t pk[32];
    memset(pk, 0x42, sizeof(pk));
    char id[ENT_ORG_ID_LEN + 1];
    ent_org_id_format(id, pk);
    assert_int_equal(ent_template_resolve(t, txn, "sourced_by", id, false, &r,
                                          err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(r.value.type, ENT_VT_ORG);
    assert_memory_equal(r.value.u.org, pk, 32);
    assert_true(r.owner_only);
    assert_false(r.custom);
    check_refused(t, txn, "sourced_by", "Deloitte", false, ENT_EINVAL,
                  "not an org id");
    check_resolve(t, txn, "influenced_by", id, false, ENT_VIS_SHARED,
                  ENT_VT_ORG, id);
    check_resolve(t, txn, "influenced_by", "Deloitte", false, ENT_VIS_SHARED,
                  ENT_VT_TEXT, "Deloitte");

    /* empty text clears the field */
    check_resolve(t, txn, "close_date", "", false, ENT_VIS_SHARED, ENT_VT_NULL,
                  "");

    /* fields the template does not know: --set refuses them, naming the
     * nearest known field; --custom takes them as shared text */
    check_refused(t, txn, "clos_date", "2026-01-01", false, ENT_ESCHEMA,
                  "template opportunity has no field clos_date; did you mean "
                  "close_date? (to share a new custom field with every "
                  "member: --custom clos_date=VALUE)");
    check_refused(t, txn, "partner_tier", "Gold", false, ENT_ESCHEMA,
                  "template opportunity has no field partner_tier (to share");
    assert_string_equal(ent_template_suggest(t, "nxt_step"), "next_step");
    assert_string_equal(ent_template_suggest(t, "stge"), "stage");
    assert_string_equal(ent_template_suggest(t, "customer_acount"),
                        "customer_account");
    assert_null(ent_template_suggest(t, "partner_tier"));
    assert_int_equal(ent_template_resolve_as(t, txn, "close_date", "x",
                                             ENT_RESOLVE_CUSTOM, &r, err,
                                             sizeof(err)),
                     ENT_ESCHEMA);
    assert_non_null(strstr(err, "not a custom field"));
    assert_int_equal(ent_template_resolve_as(t, txn, "partner_tier", "Gold",
                                             ENT_RESOLVE_CUSTOM, &r, err,
                                             sizeof(err)),
                     ENT_OK);
    assert_true(r.custom);
    assert_false(r.owner_only);
    assert_int_equal(r.visibility, ENT_VIS_SHARED);
    assert_int_equal(r.value.type, ENT_VT_TEXT);
    ent_value_clear(&r.value);
    check_resolve(t, txn, "partner_tier", "Gold", true, ENT_VIS_PRIVATE,
                  ENT_VT_TEXT, "Gold");
    check_refused(t, txn, "partner_tier", "bad\x01", true, ENT_EINVAL,
                  "field partner_tier");
    /* the stage: the template's stages, whether --set or object stage */
    check_resolve(t, txn, "stage", "closed won", false, ENT_VIS_SHARED,
                  ENT_VT_ENUM, "Closed Won");
    check_refused(t, txn, "stage", "Discovery", false, ENT_EINVAL,
                  "Prospecting");
    check_refused(t, txn, "Bad-Name", "x", false, ENT_EINVAL,
                  "bad field name \"Bad-Name\"");
    check_refused(t, txn, "", "x", false, ENT_EINVAL, "bad field name");
    ent_template_free(t);

    /* a strict template refuses them */
    t = tpl_from(FULL_TEMPLATE);
    check_refused(t, txn, "partner_tier", "Gold", false, ENT_ESCHEMA,
                  "template partner_review is strict and has no field "
                  "partner_tier");
    check_refused(t, txn, "partner_tier", "Gold", true, ENT_ESCHEMA,
                  "is strict");
    check_resolve(t, txn, "rating", "LOW", false, ENT_VIS_SHARED, ENT_VT_ENUM,
                  "Low");
    check_resolve(t, txn, "score", "-3", true, ENT_VIS_PRIVATE, ENT_VT_INT,
                  "-3");
    check_refused(t, txn, "score", "3", false, ENT_ESCHEMA, "use --private");
    check_refused(t, txn, "score", "99999999999999999999", true, ENT_ELIMIT,
                  "out of range");
    ent_template_free(t);

    /* a template with other stages: --set stage= takes exactly those,
     * listed field or not */
    t = tpl_from("{\"type\":\"deal\",\"fields\":[{\"name\":\"stage\","
                 "\"type\":\"enum\",\"default\":\"discovery\"}],"
                 "\"stages\":[\"Discovery\",\"Won\"]}");
    check_resolve(t, txn, "stage", "discovery", false, ENT_VIS_SHARED,
                  ENT_VT_ENUM, "Discovery");
    check_refused(t, txn, "stage", "Prospecting", false, ENT_EINVAL,
                  "\"Discovery\", \"Won\"");
    ent_template_free(t);
    t = tpl_from("{\"type\":\"deal\",\"fields\":[],"
                 "\"stages\":[\"Discovery\",\"Won\"]}");
    check_resolve(t, txn, "stage", "won", false, ENT_VIS_SHARED, ENT_VT_ENUM,
                  "Won");
    ent_template_free(t);

    /* an enum naming a table nobody defined */
    t = tpl_from("{\"type\":\"deal\",\"fields\":[{\"name\":\"tier\","
                 "\"type\":\"enum\",\"table\":\"tiers\"}]}");
    check_refused(t, txn, "tier", "Gold", false, ENT_ESCHEMA,
                  "configuration table tiers does not exist");
    const char *tiers[] = {"Gold"};
    assert_int_equal(ent_config_put_list(txn, "tiers", tiers, 1), ENT_OK);
    check_resolve(t, txn, "tier", "gold", false, ENT_VIS_SHARED, ENT_VT_ENUM,
                  "Gold");
    ent_template_free(t);
    return ENT_OK;
}

static void test_resolve(void **state) {
    struct fixture *f = *state;
    assert_int_equal(run_write(f, resolve_body, NULL), ENT_OK);
}

int main(void) {
    assert_int_equal(ent_crypto_init(), ENT_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtins_round_trip),
        cmocka_unit_test(test_opportunity_fields),
        cmocka_unit_test(test_full_round_trip_and_equal),
        cmocka_unit_test(test_validation_errors),
        cmocka_unit_test_setup_teardown(test_store_load_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
