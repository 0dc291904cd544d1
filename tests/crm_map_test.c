/* crm_map_test.c - mapping files (node/crm/crm_map.h, spec/crm.md §2):
 * parse and bind errors that name the entry, header matching, the value
 * transforms of a row with errors naming file, line and column, and the
 * export of the same map in reverse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/crm/crm_map.h"
#include "node/err.h"

static const char MAP[] =
    "{\"entente_map\":1,\"name\":\"SF\",\"type\":\"opportunity\","
    "\"source\":\"salesforce\",\"columns\":["
    "{\"column\":\"Opportunity ID\",\"field\":\"salesforce_id\","
    "\"external_id\":true},"
    "{\"column\":\"Opportunity Name\",\"field\":\"name\"},"
    "{\"column\":\"Stage\",\"field\":\"stage\",\"values\":"
    "{\"Id. Decision Makers\":\"Qualification\",\"Closed Won\":\"Closed "
    "Won\"}},"
    "{\"column\":\"Close Date\",\"field\":\"close_date\",\"date\":"
    "\"MM/DD/YYYY\"},"
    "{\"column\":\"Amount\",\"field\":\"deal_size\",\"currency_column\":"
    "\"Opportunity Currency\",\"default_currency\":\"USD\"},"
    "{\"column\":\"Partner\",\"field\":\"influenced_by\",\"orgs\":"
    "{\"Globex\":\""
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "\"}},"
    "{\"column\":\"Probability (%)\",\"field\":\"probability\","
    "\"visibility\":\"private\",\"optional\":true},"
    "{\"column\":\"Description\",\"field\":\"internal_notes\","
    "\"empty\":\"clear\"}]}";

static ent_crm_map *load(const char *json, int want, const char *words) {
    ent_crm_map *m = NULL;
    ent_template *t = NULL;
    char err[ENT_CRM_ERR_MAX] = "";
    int rc = ent_crm_map_parse(&m, (const uint8_t *)json, strlen(json),
                               "m.json", err, sizeof(err));
    if (rc == ENT_OK) {
        assert_int_equal(ent_template_builtin(ent_crm_map_type(m), &t), ENT_OK);
        rc = ent_crm_map_bind(m, t, err, sizeof(err));
        ent_template_free(t);
    }
    if (rc != want || (words && strstr(err, words) == NULL))
        fail_msg("want %d got %d: %s", want, rc, err);
    if (words)
        assert_true(strncmp(err, "m.json", 6) == 0);
    if (rc != ENT_OK) {
        ent_crm_map_free(m);
        return NULL;
    }
    return m;
}

/* A CSV row out of cells (NULL-terminated). */
typedef struct row {
    const char *cells[16];
    size_t lens[16];
    ent_csv_row r;
} row;

static void mkrow(row *w, unsigned long line, const char *const *cells) {
    size_t n = 0;
    for (; cells[n]; n++) {
        w->cells[n] = cells[n];
        w->lens[n] = strlen(cells[n]);
    }
    w->r.ncols = n;
    w->r.cells = w->cells;
    w->r.lens = w->lens;
    w->r.line = w->r.line_end = line;
}

static const char *HDR[] = {"Opportunity ID", "opportunity name ",
                            "Stage",          "Close Date",
                            "Amount",         "Opportunity Currency",
                            "Partner",        "Description",
                            "Ignored",        NULL};

static const char *find(const ent_crm_values *v, const char *field,
                        bool *priv) {
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->v[i].field, field) == 0) {
            if (priv)
                *priv = v->v[i].private_;
            return v->v[i].text;
        }
    return NULL;
}

static void test_parse_and_bind_errors(void **state) {
    (void)state;
    ent_crm_map *m = load(MAP, ENT_OK, NULL);
    assert_string_equal(ent_crm_map_source(m), "salesforce");
    assert_string_equal(ent_crm_map_extid_field(m), "salesforce_id");
    ent_crm_map_free(m);
    load("{\"entente_map\":1,\"type\":\"opportunity\",\"columns\":[{"
         "\"column\":\"A\",\"field\":\"close_dat\"}]}",
         ENT_ESCHEMA,
         "columns[0] (\"A\"): unknown field close_dat in "
         "template opportunity (did you mean close_date?)");
    load("{\"entente_map\":1,\"type\":\"opportunity\",\"columns\":[{"
         "\"column\":\"A\",\"field\":\"name\",\"type\":\"datetime\"}]}",
         ENT_EINVAL, "unknown type \"datetime\"");
    load("{\"entente_map\":1,\"type\":\"opportunity\",\"columns\":[{"
         "\"column\":\"A\",\"field\":\"name\",\"type\":\"date\"}]}",
         ENT_ESCHEMA, "field name is of type text, not date");
    load("{\"entente_map\":1,\"type\":\"opportunity\",\"columns\":[{"
         "\"column\":\"A\",\"field\":\"deal_size\",\"visibility\":"
         "\"shared\"}]}",
         ENT_ESCHEMA, "private in template opportunity");
    load("{\"entente_map\":1,\"type\":\"opportunity\",\"columns\":[{"
         "\"column\":\"A\",\"field\":\"name\",\"colour\":1}]}",
         ENT_EINVAL, "columns[0]: unknown key \"colour\"");
    load("{\"entente_map\":1,\"type\":\"opportunity\",\"columns\":[{"
         "\"column\":\"A\",\"field\":\"name\",\"date\":\"MM/DD/YYYY\"}]}",
         ENT_ESCHEMA, "does not fit field name");
    load("{\"entente_map\":1,\"type\":\"opportunity\",\"columns\":[{"
         "\"column\":\"A\",\"field\":\"stage\",\"values\":{\"X\":\"Won\"}}]}",
         ENT_ESCHEMA, "not a value of field stage");
    load("{\"entente_map\":1,\"type\":\"opportunity\",\"columns\":[{"
         "\"column\":\"A\",\"field\":\"x\",\"external_id\":true}]}",
         ENT_EINVAL, "needs a \"source\"");
    load("{\"entente_map\":1,\"type\":\"opportunity\",\"source\":\"s\","
         "\"columns\":[{\"column\":\"A\",\"field\":\"name\","
         "\"external_id\":true}]}",
         ENT_ESCHEMA, "the external id is private");
    load("{\"entente_map\":1,\"type\":\"opportunity\",\"columns\":[{"
         "\"column\":\"A\",\"field\":\"name\"},{\"column\":\"a\","
         "\"field\":\"next_step\"}]}",
         ENT_EINVAL, "column named twice");
    load("{\"entente_map\":2}", ENT_EINVAL, "\"entente_map\" must be 1");
    load("{\"entente_map\":1,", ENT_EINVAL, "not JSON");
    load("[]", ENT_EINVAL, "a JSON object");
    /* the map's type must have a template */
    ent_crm_map *m2 = NULL;
    ent_template *t = NULL;
    char err[ENT_CRM_ERR_MAX];
    static const char lead[] =
        "{\"entente_map\":1,\"type\":\"lead\",\"columns\":[{\"column\":"
        "\"A\",\"field\":\"company\"}]}";
    assert_int_equal(ent_crm_map_parse(&m2, (const uint8_t *)lead, strlen(lead),
                                       "l.json", err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_template_builtin("opportunity", &t), ENT_OK);
    assert_int_equal(ent_crm_map_bind(m2, t, err, sizeof(err)), ENT_ESCHEMA);
    assert_non_null(strstr(err, "for type lead, not opportunity"));
    ent_template_free(t);
    /* a derived field (computed when read) takes no column */
    static const char dtpl[] =
        "{\"type\":\"lead\",\"fields\":[{\"name\":\"company\",\"type\":"
        "\"text\"},{\"name\":\"score\",\"type\":\"integer\",\"derived\":"
        "\"1\"}]}";
    json_t *dj = json_loads(dtpl, 0, NULL);
    ent_template *dt = NULL;
    static const char dmap[] =
        "{\"entente_map\":1,\"type\":\"lead\",\"columns\":[{\"column\":"
        "\"Score\",\"field\":\"score\"}]}";
    ent_crm_map *dm = NULL;
    assert_non_null(dj);
    assert_int_equal(ent_template_from_json(dj, &dt, err, sizeof(err)), ENT_OK);
    assert_int_equal(ent_crm_map_parse(&dm, (const uint8_t *)dmap, strlen(dmap),
                                       "d.json", err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_crm_map_bind(dm, dt, err, sizeof(err)), ENT_ESCHEMA);
    assert_non_null(strstr(err, "field score of template lead is derived"));
    ent_crm_map_free(dm);
    ent_template_free(dt);
    json_decref(dj);
    /* plain fields (the account import) */
    static const ent_crm_field acc[] = {
        {"company", ENT_VT_TEXT, ENT_VIS_SHARED}};
    assert_int_equal(ent_crm_map_bind_fields(m2, acc, 1, err, sizeof(err)),
                     ENT_OK);
    ent_crm_map_free(m2);
}

static void test_header_and_rows(void **state) {
    ent_crm_map *m = load(MAP, ENT_OK, NULL);
    char err[ENT_CRM_ERR_MAX];
    ent_crm_values v = {0};
    row h, r;
    bool priv = false;
    (void)state;
    mkrow(&h, 1, HDR);
    assert_int_equal(ent_crm_map_header(m, &h.r, "d.csv", err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_crm_map_ncols(m), 9);
    static const char *r1[] = {"006A1",
                               "Big deal",
                               "id. decision makers",
                               "3/31/2027",
                               "1,200,000.50",
                               "eur",
                               "Globex",
                               "line one\r\nline two",
                               "x",
                               NULL};
    mkrow(&r, 2, r1);
    assert_int_equal(
        ent_crm_map_row(m, &r.r, "d.csv", NULL, &v, err, sizeof(err)), ENT_OK);
    assert_string_equal(v.extid, "006A1");
    assert_string_equal(find(&v, "salesforce_id", &priv), "006A1");
    assert_true(priv);
    assert_string_equal(find(&v, "name", &priv), "Big deal");
    assert_false(priv);
    assert_string_equal(find(&v, "stage", NULL), "Qualification");
    assert_string_equal(find(&v, "close_date", NULL), "2027-03-31");
    assert_string_equal(find(&v, "deal_size", &priv), "1200000.5 EUR");
    assert_true(priv);
    assert_string_equal(find(&v, "influenced_by", NULL),
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_string_equal(find(&v, "internal_notes", NULL), "line one line two");
    assert_null(find(&v, "probability", NULL));
    /* empty cells: nothing, or a clearing value with "empty": "clear";
     * no currency cell: the default currency */
    static const char *r2[] = {
        "006A2", "", "Unmapped Stage", "", "12", "", "Initech", "", "", NULL};
    mkrow(&r, 3, r2);
    assert_int_equal(
        ent_crm_map_row(m, &r.r, "d.csv", NULL, &v, err, sizeof(err)), ENT_OK);
    assert_null(find(&v, "name", NULL));
    assert_null(find(&v, "close_date", NULL));
    assert_string_equal(find(&v, "stage", NULL), "Unmapped Stage");
    assert_string_equal(find(&v, "deal_size", NULL), "12 USD");
    assert_string_equal(find(&v, "influenced_by", NULL), "Initech");
    assert_string_equal(find(&v, "internal_notes", NULL), "");

    /* bad values: file, line, column and header name */
    struct {
        const char *cells[10];
        const char *words;
    } bad[] = {
        {{"006A3", "n", "s", "31/12/2026", "1", "", "", "", "", NULL},
         "d.csv: line 4, column 4 (Close Date): \"31/12/2026\" is not a date "
         "in the format MM/DD/YYYY"},
        {{"006A3", "n", "s", "", "twelve", "", "", "", "", NULL},
         "d.csv: line 4, column 5 (Amount): \"twelve\" is not an amount"},
        {{"006A3", "n", "s", "", "12", "EURO", "", "", "", NULL},
         "column 6 (Opportunity Currency) is not a currency code"},
        {{"", "n", "s", "", "", "", "", "", "", NULL},
         "d.csv: line 4, column 1 (Opportunity ID): the external id is "
         "empty"},
        {{"006A3", "n", "s", "", "", NULL},
         "d.csv: line 4: 5 cells where the header has 9"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mkrow(&r, 4, bad[i].cells);
        assert_int_equal(
            ent_crm_map_row(m, &r.r, "d.csv", NULL, &v, err, sizeof(err)),
            ENT_EINVAL);
        if (strstr(err, bad[i].words) == NULL)
            fail_msg("%zu: %s", i, err);
        assert_int_equal(v.n, 0);
    }
    ent_crm_values_clear(&v);

    /* a header without a required column, a header naming one twice */
    static const char *h2[] = {"Opportunity ID", "Stage", NULL};
    mkrow(&h, 1, h2);
    assert_int_equal(ent_crm_map_header(m, &h.r, "d.csv", err, sizeof(err)),
                     ENT_ESCHEMA);
    assert_non_null(strstr(err, "d.csv: line 1: no column \"Opportunity "
                                "Name\" in the header"));
    static const char *h3[] = {"Opportunity ID", "Opportunity Name", "Stage",
                               "Close Date",     "Amount",           "STAGE",
                               "Partner",        "Description",      NULL};
    mkrow(&h, 1, h3);
    assert_int_equal(ent_crm_map_header(m, &h.r, "d.csv", err, sizeof(err)),
                     ENT_ESCHEMA);
    assert_non_null(strstr(err, "names column \"Stage\" twice"));
    ent_crm_map_free(m);
}

static void test_dates_and_numbers(void **state) {
    int32_t d, e;
    (void)state;
    assert_int_equal(ent_crm_parse_date("2026-03-31", ENT_CRM_DATE_ISO, &d),
                     ENT_OK);
    assert_int_equal(
        ent_crm_parse_date("2026-03-31T17:00:00Z", ENT_CRM_DATE_ISO, &e),
        ENT_OK);
    assert_int_equal(d, e);
    assert_int_equal(ent_crm_parse_date("3/31/2026", ENT_CRM_DATE_MDY, &e),
                     ENT_OK);
    assert_int_equal(d, e);
    assert_int_equal(
        ent_crm_parse_date("03/31/2026 5:00 PM", ENT_CRM_DATE_MDY, &e), ENT_OK);
    assert_int_equal(d, e);
    assert_int_equal(ent_crm_parse_date("31.03.2026", ENT_CRM_DATE_DMY_DOT, &e),
                     ENT_OK);
    assert_int_equal(d, e);
    assert_int_equal(ent_crm_parse_date("31/03/2026", ENT_CRM_DATE_DMY, &e),
                     ENT_OK);
    assert_int_equal(d, e);
    assert_int_equal(ent_crm_parse_date("02/30/2026", ENT_CRM_DATE_MDY, &e),
                     ENT_EINVAL);
    assert_int_equal(ent_crm_parse_date("2026-3-31x", ENT_CRM_DATE_ISO, &e),
                     ENT_EINVAL);
    assert_int_equal(ent_crm_parse_date("31/03/26", ENT_CRM_DATE_DMY, &e),
                     ENT_EINVAL);
    assert_int_equal(ent_crm_parse_date("", ENT_CRM_DATE_ISO, &e), ENT_EINVAL);

    /* European amounts: decimal comma, dot thousands */
    static const char eu[] =
        "{\"entente_map\":1,\"type\":\"opportunity\",\"columns\":["
        "{\"column\":\"Betrag\",\"field\":\"deal_size\",\"decimal\":\",\","
        "\"default_currency\":\"EUR\"},"
        "{\"column\":\"Datum\",\"field\":\"close_date\",\"date\":"
        "\"DD.MM.YYYY\"}]}";
    ent_crm_map *m = load(eu, ENT_OK, NULL);
    static const char *hh[] = {"Betrag", "Datum", NULL};
    static const char *rr[] = {"1.200.000,50", "01.02.2027", NULL};
    row h, r;
    ent_crm_values v = {0};
    char err[ENT_CRM_ERR_MAX];
    mkrow(&h, 1, hh);
    mkrow(&r, 2, rr);
    assert_int_equal(ent_crm_map_header(m, &h.r, "eu.csv", err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(
        ent_crm_map_row(m, &r.r, "eu.csv", NULL, &v, err, sizeof(err)), ENT_OK);
    assert_string_equal(find(&v, "deal_size", NULL), "1200000.5 EUR");
    assert_string_equal(find(&v, "close_date", NULL), "2027-02-01");
    /* export in reverse */
    json_t *sh = json_pack("{s:s}", "close_date", "2027-02-01");
    json_t *pv =
        json_pack("{s:{s:s,s:s,s:I}}", "deal_size", "amount", "1200000.50",
                  "currency", "EUR", "minor", (json_int_t)120000050);
    char **cells;
    size_t n;
    assert_int_equal(ent_crm_map_export_row(m, sh, pv, NULL, false, &cells, &n),
                     ENT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(cells[0], "1200000,50");
    assert_string_equal(cells[1], "01.02.2027");
    ent_crm_cells_free(cells, n);
    assert_int_equal(ent_crm_map_export_row(m, sh, pv, NULL, true, &cells, &n),
                     ENT_OK);
    assert_string_equal(cells[0], "");
    ent_crm_cells_free(cells, n);
    /* another currency than the column's default: the code goes with the
     * amount, and comes back from it */
    json_t *pv2 = json_pack("{s:{s:s,s:s,s:I}}", "deal_size", "amount", "99.50",
                            "currency", "USD", "minor", (json_int_t)9950);
    assert_int_equal(
        ent_crm_map_export_row(m, sh, pv2, NULL, false, &cells, &n), ENT_OK);
    assert_string_equal(cells[0], "99,50 USD");
    mkrow(&r, 3, (const char *const *)cells);
    assert_int_equal(
        ent_crm_map_row(m, &r.r, "eu.csv", NULL, &v, err, sizeof(err)), ENT_OK);
    assert_string_equal(find(&v, "deal_size", NULL), "99.5 USD");
    ent_crm_cells_free(cells, n);
    json_decref(pv2);
    static const char *rc1[] = {"gbp 1.000,00", "", NULL};
    mkrow(&r, 4, rc1);
    assert_int_equal(
        ent_crm_map_row(m, &r.r, "eu.csv", NULL, &v, err, sizeof(err)), ENT_OK);
    assert_string_equal(find(&v, "deal_size", NULL), "1000 GBP");
    static const char *rc2[] = {"1.000,00 XYZ", "", NULL};
    mkrow(&r, 5, rc2);
    assert_int_equal(
        ent_crm_map_row(m, &r.r, "eu.csv", NULL, &v, err, sizeof(err)),
        ENT_EINVAL);
    assert_non_null(strstr(err, "eu.csv: line 5, column 1 (Betrag): "
                                "\"1.000,00 XYZ\": XYZ is not a currency "
                                "code"));
    json_decref(sh);
    json_decref(pv);
    ent_crm_values_clear(&v);
    ent_crm_map_free(m);
}

/* Export then import with the same map gives the same values back. */
static void test_export_round_trip(void **state) {
    ent_crm_map *m = load(MAP, ENT_OK, NULL);
    char err[ENT_CRM_ERR_MAX];
    size_t nh, n;
    const char *const *hdr = ent_crm_map_export_header(m, &nh);
    char **cells;
    row h, r;
    ent_crm_values v = {0};
    (void)state;
    assert_int_equal(nh, 9);
    assert_string_equal(hdr[4], "Amount");
    assert_string_equal(hdr[5], "Opportunity Currency");
    json_t *sh =
        json_pack("{s:s,s:s,s:s,s:s}", "name", "Big, \"quoted\" deal", "stage",
                  "Qualification", "close_date", "2027-03-31", "influenced_by",
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    json_t *pv = json_pack("{s:s,s:{s:s,s:s,s:I},s:s}", "salesforce_id", "006X",
                           "deal_size", "amount", "10.50", "currency", "GBP",
                           "minor", (json_int_t)1050, "internal_notes", "n");
    assert_int_equal(ent_crm_map_export_row(m, sh, pv, NULL, false, &cells, &n),
                     ENT_OK);
    assert_string_equal(cells[0], "006X");
    assert_string_equal(cells[2], "Id. Decision Makers");
    assert_string_equal(cells[3], "03/31/2027");
    assert_string_equal(cells[4], "10.50");
    assert_string_equal(cells[5], "GBP");
    assert_string_equal(cells[6], "Globex");
    mkrow(&h, 1, (const char *const *)hdr);
    assert_int_equal(ent_crm_map_header(m, &h.r, "x.csv", err, sizeof(err)),
                     ENT_OK);
    mkrow(&r, 2, (const char *const *)cells);
    assert_int_equal(
        ent_crm_map_row(m, &r.r, "x.csv", NULL, &v, err, sizeof(err)), ENT_OK);
    assert_string_equal(find(&v, "stage", NULL), "Qualification");
    assert_string_equal(find(&v, "close_date", NULL), "2027-03-31");
    assert_string_equal(find(&v, "deal_size", NULL), "10.5 GBP");
    assert_string_equal(find(&v, "name", NULL), "Big, \"quoted\" deal");
    ent_crm_cells_free(cells, n);
    /* hide_private: private columns empty, the external id too */
    assert_int_equal(ent_crm_map_export_row(m, sh, pv, NULL, true, &cells, &n),
                     ENT_OK);
    assert_string_equal(cells[0], "");
    assert_string_equal(cells[4], "");
    assert_string_equal(cells[5], "");
    assert_string_equal(cells[1], "Big, \"quoted\" deal");
    ent_crm_cells_free(cells, n);
    json_decref(sh);
    json_decref(pv);
    ent_crm_values_clear(&v);
    ent_crm_map_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_bind_errors),
        cmocka_unit_test(test_header_and_rows),
        cmocka_unit_test(test_dates_and_numbers),
        cmocka_unit_test(test_export_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
