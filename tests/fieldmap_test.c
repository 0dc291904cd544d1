/* fieldmap_test.c - an org's own names (node/objects/fieldmap.h): the
 * checks of a map against the template, the translations both ways, the
 * command-line form, the config-table row, the --where literals of
 * reports (ent_expr_map_text) and CRM mapping files in own names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/crm/crm_map.h"
#include "node/err.h"
#include "node/objects/fieldmap.h"
#include "node/objects/template.h"
#include "node/reports/expr.h"
#include "storage/store.h"
#include "tests/store_fixture.h"

#define GOOD                                                                   \
    "{\"type\":\"opportunity\",\"fields\":{\"opp_title\":\"name\","            \
    "\"deal_stage\":\"stage\",\"area\":\"region\"},"                           \
    "\"values\":{\"deal_stage\":{\"Qualify\":\"qualification\","               \
    "\"Offer\":\"Proposal\"},\"region\":{\"Europe\":\"EMEA\"}}}"

static ent_template *opp(void) {
    ent_template *t = NULL;
    assert_int_equal(ent_template_builtin("opportunity", &t), ENT_OK);
    return t;
}

/* Checks json against the built-in opportunity template: rc, and err
 * holding want. */
static ent_fieldmap *check(const char *json, int rc, const char *want) {
    json_error_t je;
    json_t *d = json_loads(json, 0, &je);
    ent_template *t = opp();
    ent_fieldmap *m = NULL;
    char err[ENT_FM_ERR_MAX] = "";
    assert_non_null(d);
    int got = ent_fieldmap_from_json(d, t, NULL, &m, err, sizeof(err));
    if (got != rc || (want != NULL && strstr(err, want) == NULL))
        fail_msg("%s: rc %d (want %d), err \"%s\" (want \"%s\")", json, got, rc,
                 err, want ? want : "");
    if (rc != ENT_OK)
        assert_null(m);
    json_decref(d);
    ent_template_free(t);
    return m;
}

static void test_translate(void **state) {
    (void)state;
    ent_fieldmap *m = check(GOOD, ENT_OK, NULL);
    assert_string_equal(ent_fieldmap_shared_name(m, "opp_title", 9), "name");
    assert_null(ent_fieldmap_shared_name(m, "name", 4));
    assert_null(ent_fieldmap_shared_name(m, "opp_titl", 8));
    assert_string_equal(ent_fieldmap_own_name(m, "stage"), "deal_stage");
    assert_null(ent_fieldmap_own_name(m, "deal_size"));
    /* the target is stored in the template's spelling; values ignore case */
    assert_string_equal(ent_fieldmap_shared_value(m, "stage", "QUALIFY", 7),
                        "Qualification");
    assert_string_equal(ent_fieldmap_own_value(m, "stage", "qualification", 13),
                        "Qualify");
    assert_string_equal(ent_fieldmap_own_value(m, "region", "EMEA", 4),
                        "Europe");
    assert_null(ent_fieldmap_own_value(m, "stage", "Negotiation", 11));
    assert_null(ent_fieldmap_shared_value(NULL, "stage", "x", 1));
    assert_true(ent_fieldmap_has_values(m, "stage"));
    assert_false(ent_fieldmap_has_values(m, "name"));
    /* the canonical form: values keyed by the shared name */
    json_t *j = ent_fieldmap_to_json(m);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(j, "values"), "stage"), "Offer")),
        "Proposal");
    assert_null(json_object_get(json_object_get(j, "values"), "deal_stage"));
    json_decref(j);
    /* an object's fields in own names */
    json_t *f =
        json_pack("{s:s,s:s,s:{s:s},s:s}", "name", "Deal", "stage", "Proposal",
                  "deal_size", "amount", "1.00", "region", "APAC");
    json_t *o = ent_fieldmap_own_fields(m, f);
    assert_string_equal(json_string_value(json_object_get(o, "deal_stage")),
                        "Offer");
    assert_string_equal(json_string_value(json_object_get(o, "opp_title")),
                        "Deal");
    assert_string_equal(json_string_value(json_object_get(o, "area")), "APAC");
    assert_non_null(json_object_get(o, "deal_size"));
    assert_null(json_object_get(o, "stage"));
    json_decref(o);
    json_decref(f);
    ent_fieldmap_free(m);
}

static void test_refused(void **state) {
    (void)state;
    char longname[128];
    memset(longname, 'x', 70);
    longname[70] = '\0';
    char buf[512];
    snprintf(buf, sizeof(buf),
             "{\"type\":\"opportunity\",\"fields\":{\"%s\":\"name\"}}",
             longname);
    check(buf, ENT_EINVAL, "is longer than 64 bytes");
    check("{\"type\":\"opportunity\",\"fields\":{\"t\":\"nme\"}}", ENT_EINVAL,
          "has no field nme (did you mean name?)");
    check("{\"type\":\"opportunity\",\"fields\":{\"a\":\"name\",\"b\":"
          "\"name\"}}",
          ENT_EINVAL, "two own names onto one shared name");
    check("{\"type\":\"opportunity\",\"fields\":{\"name\":\"region\","
          "\"region\":\"name\"}}",
          ENT_EINVAL, "a cycle");
    check("{\"type\":\"opportunity\",\"fields\":{\"a\":\"region\","
          "\"region\":\"name\"}}",
          ENT_EINVAL, "a chain");
    check("{\"type\":\"opportunity\",\"fields\":{\"region\":\"industry\"}}",
          ENT_EINVAL, "already a field of template opportunity");
    check("{\"type\":\"opportunity\",\"fields\":{\"partner\":\"name\"}}",
          ENT_EINVAL, "reserved");
    check("{\"type\":\"opportunity\",\"fields\":{\"name\":\"name\"}}",
          ENT_EINVAL, "onto itself");
    check("{\"type\":\"opportunity\",\"fields\":{\"Name\":\"name\"}}",
          ENT_EINVAL, "not a field name");
    check("{\"type\":\"opportunity\",\"fields\":{\"t\":3}}", ENT_EINVAL,
          "want the shared field name");
    check("{\"type\":\"opportunity\",\"values\":{\"stage\":{\"Q\":"
          "\"Qualifikation\"}}}",
          ENT_EINVAL, "not a value of field stage");
    check("{\"type\":\"opportunity\",\"values\":{\"stage\":{\"Q\":"
          "\"Proposal\",\"P\":\"proposal\"}}}",
          ENT_EINVAL, "two own values onto one shared value");
    check("{\"type\":\"opportunity\",\"values\":{\"stage\":{\"Proposal\":"
          "\"Negotiation\"}}}",
          ENT_EINVAL, "already a value of field stage");
    check("{\"type\":\"opportunity\",\"values\":{\"name\":{\"a\":\"b\","
          "\"b\":\"a\"}}}",
          ENT_EINVAL, "a cycle");
    check("{\"type\":\"opportunity\",\"values\":{\"name\":{\"a\":\"A\"}}}",
          ENT_EINVAL, "onto itself");
    check("{\"type\":\"opportunity\",\"values\":{\"deal_size\":{\"a\":"
          "\"b\"}}}",
          ENT_EINVAL, "text and enum fields only");
    check("{\"type\":\"opportunity\",\"values\":{\"stage\":{}}}", ENT_EINVAL,
          "non-empty");
    check("{\"type\":\"opportunity\"}", ENT_EINVAL, "an empty map");
    check("{\"type\":\"opportunity\",\"fieldz\":{}}", ENT_EINVAL,
          "unknown key");
    check("{\"type\":\"lead\",\"fields\":{\"t\":\"name\"}}", ENT_EINVAL,
          "type: lead, not opportunity");
    /* bounds */
    json_t *d = json_pack("{s:s,s:{}}", "type", "opportunity", "fields");
    for (int i = 0; i <= ENT_FM_FIELDS_MAX; i++) {
        char k[16];
        snprintf(k, sizeof(k), "f%d", i);
        json_object_set_new(json_object_get(d, "fields"), k,
                            json_string("name"));
    }
    ent_fieldmap *m = NULL;
    char err[ENT_FM_ERR_MAX];
    assert_int_equal(
        ent_fieldmap_from_json(d, NULL, NULL, &m, err, sizeof(err)),
        ENT_ELIMIT);
    json_decref(d);
    /* bytes: duplicate keys, not JSON, too long */
    const char *dup = "{\"type\":\"opportunity\",\"fields\":{\"a\":\"name\","
                      "\"a\":\"region\"}}";
    assert_int_equal(ent_fieldmap_parse((const uint8_t *)dup, strlen(dup), &m,
                                        err, sizeof(err)),
                     ENT_EINVAL);
    assert_int_equal(
        ent_fieldmap_parse((const uint8_t *)"{", 1, &m, err, sizeof(err)),
        ENT_EINVAL);
    assert_int_equal(ent_fieldmap_parse((const uint8_t *)dup,
                                        ENT_FM_JSON_MAX + 1, &m, err,
                                        sizeof(err)),
                     ENT_ETOOBIG);
    assert_null(m);
}

static void test_args(void **state) {
    (void)state;
    const char *ok[] = {"deal_stage:Qualify=Qualification", "opp_title=name",
                        "deal_stage=stage", "stage:A=B=C", "region:x:y=EMEA"};
    json_t *d = NULL;
    char err[ENT_FM_ERR_MAX] = "";
    assert_int_equal(
        ent_fieldmap_doc_from_args("opportunity", ok, 5, &d, err, sizeof(err)),
        ENT_OK);
    json_t *v = json_object_get(d, "values");
    /* a value's field by its own name is keyed by the shared one */
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(v, "stage"), "Qualify")),
                        "Qualification");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(v, "stage"), "A")),
        "B=C");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(v, "region"), "x:y")),
        "EMEA");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(d, "fields"), "opp_title")),
                        "name");
    json_decref(d);
    const char *bad[][2] = {{"nothing", "want OWN=SHARED"},
                            {"=name", "want OWN=SHARED"},
                            {"a=", "want OWN=SHARED"},
                            {"stage:=x", "want OWN=SHARED"},
                            {":a=b", "want OWN=SHARED"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d = NULL;
        assert_int_equal(ent_fieldmap_doc_from_args("opportunity", &bad[i][0],
                                                    1, &d, err, sizeof(err)),
                         ENT_EINVAL);
        assert_non_null(strstr(err, bad[i][1]));
        assert_null(d);
    }
    const char *twice[] = {"a=name", "a=region"};
    assert_int_equal(ent_fieldmap_doc_from_args("opportunity", twice, 2, &d,
                                                err, sizeof(err)),
                     ENT_EINVAL);
    assert_non_null(strstr(err, "given twice"));
}

/* ---- the config-table row ------------------------------------------------ */

typedef struct io {
    const char *json;
    int rc;
    char err[ENT_FM_ERR_MAX];
} io;

static int put_fn(ent_txn *txn, void *data) {
    io *x = data;
    json_t *d = json_loads(x->json, 0, NULL);
    x->rc = ent_fieldmap_put(txn, d, x->err, sizeof(x->err));
    json_decref(d);
    return x->rc;
}

static int get_fn(ent_txn *txn, void *data) {
    ent_fieldmap **m = data;
    return ent_fieldmap_get(txn, "opportunity", m);
}

static int del_fn(ent_txn *txn, void *data) {
    (void)data;
    return ent_fieldmap_del(txn, "opportunity");
}

static int list_fn(ent_txn *txn, void *data) {
    return ent_fieldmap_list(txn, (json_t **)data);
}

static void test_store(void **state) {
    (void)state;
    char dir[64];
    ent_store *s = NULL;
    ent_fieldmap *m = NULL;
    json_t *l = NULL;
    assert_int_equal(tmp_store(&s, dir, sizeof(dir), "fieldmap", NULL), 0);
    assert_int_equal(ent_store_read(s, get_fn, &m), ENT_ENOENT);
    io good = {.json = GOOD};
    assert_int_equal(ent_store_write(s, put_fn, &good), ENT_OK);
    assert_int_equal(ent_store_read(s, get_fn, &m), ENT_OK);
    assert_string_equal(ent_fieldmap_own_name(m, "region"), "area");
    ent_fieldmap_free(m);
    m = NULL;
    /* refused: nothing changes */
    io badm = {.json = "{\"type\":\"opportunity\",\"fields\":{\"x\":"
                       "\"nope\"}}"};
    assert_int_equal(ent_store_write(s, put_fn, &badm), ENT_EINVAL);
    assert_non_null(strstr(badm.err, "no field nope"));
    io notype = {.json = "{\"type\":\"no_such_type\",\"fields\":{\"x\":"
                         "\"name\"}}"};
    assert_int_equal(ent_store_write(s, put_fn, &notype), ENT_ENOENT);
    assert_int_equal(ent_store_read(s, get_fn, &m), ENT_OK);
    assert_string_equal(ent_fieldmap_own_name(m, "region"), "area");
    ent_fieldmap_free(m);
    m = NULL;
    /* a configuration table of the same name is another row */
    assert_int_equal(ent_store_read(s, list_fn, &l), ENT_OK);
    assert_int_equal(json_array_size(l), 1);
    json_decref(l);
    assert_int_equal(ent_store_write(s, del_fn, NULL), ENT_OK);
    assert_int_equal(ent_store_write(s, del_fn, NULL), ENT_ENOENT);
    assert_int_equal(ent_store_read(s, get_fn, &m), ENT_ENOENT);
    ent_store_close(s);
    rm_tree(dir);
}

/* ---- --where literals ---------------------------------------------------- */

static bool lookup(void *data, const char *name, size_t len, ent_vtype *type,
                   unsigned *slot) {
    (void)data;
    if (len == 5 && memcmp(name, "stage", 5) == 0) {
        *type = ENT_VT_ENUM;
        *slot = 0;
        return true;
    }
    return false;
}

static const char *map_text(void *data, unsigned slot, const char *s,
                            size_t len) {
    return slot == 0 ? ent_fieldmap_shared_value(data, "stage", s, len) : NULL;
}

static ent_value stage_val;
static const ent_value *slot_fn(void *data, unsigned i) {
    (void)data;
    return i == 0 ? &stage_val : NULL;
}

static void test_where(void **state) {
    (void)state;
    ent_fieldmap *m = check(GOOD, ENT_OK, NULL);
    const char *exprs[] = {"stage = \"Offer\"", "\"offer\" = stage",
                           "stage in (\"Qualify\", \"Offer\")",
                           "not stage != \"Offer\""};
    stage_val.type = ENT_VT_ENUM;
    stage_val.u.text.s = "Proposal";
    stage_val.u.text.len = 8;
    for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
        ent_expr *e = NULL;
        char err[ENT_EXPR_ERR_MAX];
        assert_int_equal(
            ent_expr_compile(exprs[i], lookup, NULL, &e, err, sizeof(err)),
            ENT_OK);
        assert_false(ent_expr_test(e, slot_fn, NULL));
        ent_expr_map_text(e, map_text, m);
        if (!ent_expr_test(e, slot_fn, NULL))
            fail_msg("%s: not true after the map", exprs[i]);
        ent_expr_free(e);
    }
    ent_fieldmap_free(m);
}

/* ---- CRM mapping files in own names ---------------------------------------
 */

static void test_crm(void **state) {
    (void)state;
    const char *map =
        "{\"entente_map\":1,\"type\":\"opportunity\",\"source\":\"crm\","
        "\"columns\":[{\"column\":\"Id\",\"field\":\"crm_id\","
        "\"external_id\":true},{\"column\":\"Title\",\"field\":"
        "\"opp_title\"},{\"column\":\"Stage\",\"field\":\"deal_stage\","
        "\"values\":{\"Q\":\"Qualify\"}}]}";
    const char *csv = "Id,Title,Stage\nX1,Deal,Q\nX2,Other,offer\n";
    ent_fieldmap *fm = check(GOOD, ENT_OK, NULL);
    ent_template *t = opp();
    ent_crm_map *m = NULL;
    ent_csv *c = NULL;
    ent_csv_row row;
    ent_crm_values v = {0};
    char err[ENT_CRM_ERR_MAX] = "";
    assert_int_equal(ent_crm_map_parse(&m, (const uint8_t *)map, strlen(map),
                                       "m.json", err, sizeof(err)),
                     ENT_OK);
    /* without the field map, the own names are unknown fields */
    assert_int_equal(ent_crm_map_apply_fieldmap(m, fm, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_crm_map_bind(m, t, err, sizeof(err)), ENT_OK);
    assert_int_equal(
        ent_csv_open_mem(&c, (const uint8_t *)csv, strlen(csv), "in.csv", NULL),
        ENT_OK);
    assert_int_equal(ent_csv_next(c, &row), ENT_OK);
    assert_int_equal(ent_crm_map_header(m, &row, "in.csv", err, sizeof(err)),
                     ENT_OK);
    const char *want[] = {"Qualification", "Proposal"};
    for (int r = 0; r < 2; r++) {
        assert_int_equal(ent_csv_next(c, &row), ENT_OK);
        assert_int_equal(
            ent_crm_map_row(m, &row, "in.csv", NULL, &v, err, sizeof(err)),
            ENT_OK);
        bool seen_stage = false, seen_name = false;
        for (size_t i = 0; i < v.n; i++) {
            if (strcmp(v.v[i].field, "stage") == 0) {
                assert_string_equal(v.v[i].text, want[r]);
                seen_stage = true;
            }
            seen_name |= strcmp(v.v[i].field, "name") == 0;
        }
        assert_true(seen_stage && seen_name);
    }
    /* export: the CRM's name first, else the org's own */
    json_t *sh = json_pack("{s:s,s:s}", "name", "Other", "stage", "Proposal");
    json_t *pv = json_pack("{s:s}", "crm_id", "X2");
    char **cells = NULL;
    size_t n = 0;
    assert_int_equal(ent_crm_map_export_row(m, sh, pv, NULL, false, &cells, &n),
                     ENT_OK);
    assert_int_equal(n, 3);
    assert_string_equal(cells[2], "Offer");
    ent_crm_cells_free(cells, n);
    json_object_set_new(sh, "stage", json_string("Qualification"));
    assert_int_equal(ent_crm_map_export_row(m, sh, pv, NULL, false, &cells, &n),
                     ENT_OK);
    assert_string_equal(cells[2], "Q");
    ent_crm_cells_free(cells, n);
    json_decref(sh);
    json_decref(pv);
    ent_crm_values_clear(&v);
    ent_csv_free(c);
    ent_crm_map_free(m);
    /* two columns onto one field once translated */
    const char *twice =
        "{\"entente_map\":1,\"type\":\"opportunity\",\"columns\":["
        "{\"column\":\"A\",\"field\":\"opp_title\"},{\"column\":\"B\","
        "\"field\":\"name\"}]}";
    assert_int_equal(ent_crm_map_parse(&m, (const uint8_t *)twice,
                                       strlen(twice), "t.json", err,
                                       sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_crm_map_apply_fieldmap(m, fm, err, sizeof(err)),
                     ENT_EINVAL);
    assert_non_null(strstr(err, "field name filled twice"));
    ent_crm_map_free(m);
    ent_template_free(t);
    ent_fieldmap_free(fm);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_translate), cmocka_unit_test(test_refused),
        cmocka_unit_test(test_args),      cmocka_unit_test(test_store),
        cmocka_unit_test(test_where),     cmocka_unit_test(test_crm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
