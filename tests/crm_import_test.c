/* crm_import_test.c - upsert of CRM rows by external id in one write
 * transaction per batch (node/crm/crm_import.h, spec/crm.md §3): created,
 * then unchanged with no op, only changed fields written, a private change
 * without an op, bad rows rejected whole while the others commit,
 * duplicate ids in a batch, external ids the CLI would refuse, a dry run
 * that changes nothing, the shipped Salesforce sample through its
 * shipped map, and a schema-5 store's external ids read after the step to
 * schema 6. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "node/crm/crm_export.h"
#include "node/crm/crm_import.h"
#include "tests/object_fixture.h"

static int count_fn(ent_txn *txn, void *data) {
    return ent_txn_count(txn, ENT_TBL_OPS, data);
}

static uint64_t nops_stored(tnode *n) {
    uint64_t c = 0;
    assert_int_equal(ent_store_read(n->store, count_fn, &c), ENT_OK);
    return c;
}

typedef struct look {
    const char *extid;
    uint8_t id[32];
} look;

static int look_fn(ent_txn *txn, void *data) {
    look *l = data;
    return ent_crm_lookup(txn, "salesforce", "opportunity", l->extid, l->id);
}

typedef struct ids_run {
    const uint8_t *id;
    json_t *ids;
} ids_run;

static int ids_fn(ent_txn *txn, void *data) {
    ids_run *r = data;
    return ent_crm_external_ids(txn, r->id, &r->ids);
}

static const char *shared_of(tnode *n, const uint8_t id[32], const char *f,
                             char *buf, size_t cap) {
    json_t *o = NULL;
    assert_int_equal(ent_obj_show_json(n->eng, id, false, &o), ENT_OK);
    json_t *v = json_object_get(json_object_get(o, "shared"), f);
    if (v == NULL)
        v = json_object_get(json_object_get(o, "private"), f);
    if (json_is_object(v))
        v = json_object_get(v, "amount");
    snprintf(buf, cap, "%s", json_is_string(v) ? json_string_value(v) : "-");
    json_decref(o);
    return buf;
}

#define IN(f, t, h)                                                            \
    { f, t, h }

static void free_ops(ent_op **ops, size_t n) {
    for (size_t i = 0; i < n; i++)
        ent_op_free(ops[i]);
    free(ops);
}

static void test_upsert(void **state) {
    tnode a;
    ent_crm_result res[4];
    ent_op **ops;
    size_t nops;
    char buf[64];
    (void)state;
    assert_int_equal(tnode_open(&a, 1), 0);
    ent_obj_input r1[] = {IN("salesforce_id", "006A", ENT_IN_PRIVATE),
                          IN("name", "Alpha", ENT_IN_SHARED),
                          IN("deal_size", "1000 USD", ENT_IN_PRIVATE)};
    ent_obj_input r2[] = {IN("salesforce_id", "006B", ENT_IN_PRIVATE),
                          IN("name", "Beta", ENT_IN_SHARED),
                          IN("stage", "proposal", ENT_IN_SHARED)};
    ent_obj_input bad[] = {IN("salesforce_id", "006C", ENT_IN_PRIVATE),
                           IN("name", "Gamma", ENT_IN_SHARED),
                           IN("stage", "Nowhere", ENT_IN_SHARED)};
    ent_crm_row rows[] = {
        {"006A", r1, 3}, {"006B", r2, 3}, {"006C", bad, 3}, {"006A", r1, 3}};
    assert_int_equal(ent_crm_import_batch(a.eng, a.store, "opportunity",
                                          "salesforce", rows, 4, false, res,
                                          &ops, &nops),
                     ENT_OK);
    assert_int_equal(res[0].outcome, ENT_CRM_CREATED);
    assert_int_equal(res[1].outcome, ENT_CRM_CREATED);
    assert_int_equal(res[2].outcome, ENT_CRM_REJECTED);
    assert_non_null(strstr(res[2].err, "Nowhere"));
    assert_int_equal(res[3].outcome, ENT_CRM_REJECTED);
    assert_non_null(strstr(res[3].err, "already on an earlier row"));
    assert_int_equal(nops, 2);
    /* the creates, signed on the batch's second thread: in row order, each
     * the genesis of its row's object, each verifying once encoded and read
     * back as a partner reads it */
    assert_memory_equal(ops[0]->id, res[0].id, 32);
    assert_memory_equal(ops[1]->id, res[1].id, 32);
    for (size_t i = 0; i < nops; i++) {
        uint8_t *enc = NULL;
        size_t elen = 0;
        ent_op *back = NULL;
        assert_int_equal(ent_op_encode(ops[i], &enc, &elen), ENT_OK);
        assert_int_equal(ent_op_decode(&back, enc, elen), ENT_OK);
        assert_int_equal(ent_op_verify(back), ENT_OK);
        assert_memory_equal(back->id, ops[i]->id, 32);
        ent_op_free(back);
        free(enc);
    }
    free_ops(ops, nops);
    uint64_t stored = nops_stored(&a);
    look l = {"006B", {0}};
    assert_int_equal(ent_store_read(a.store, look_fn, &l), ENT_OK);
    assert_memory_equal(l.id, res[1].id, 32);
    assert_string_equal(shared_of(&a, l.id, "stage", buf, sizeof(buf)),
                        "Proposal");
    l.extid = "006C";
    assert_int_equal(ent_store_read(a.store, look_fn, &l), ENT_ENOENT);
    /* the reverse row: what the operator's webhooks carry */
    ids_run ir = {res[0].id, NULL};
    assert_int_equal(ent_store_read(a.store, ids_fn, &ir), ENT_OK);
    assert_string_equal(
        json_string_value(json_object_get(ir.ids, "salesforce")), "006A");
    assert_int_equal(json_object_size(ir.ids), 1);
    json_decref(ir.ids);

    /* the same rows again: unchanged, no op, nothing stored */
    assert_int_equal(ent_crm_import_batch(a.eng, a.store, "opportunity",
                                          "salesforce", rows, 2, false, res,
                                          &ops, &nops),
                     ENT_OK);
    assert_int_equal(res[0].outcome, ENT_CRM_UNCHANGED);
    assert_int_equal(res[1].outcome, ENT_CRM_UNCHANGED);
    assert_int_equal(nops, 0);
    free(ops);
    assert_int_equal(nops_stored(&a), stored);

    /* one shared change: one op with one field; a private change: no op */
    r2[1].text = "Beta 2";
    r1[2].text = "2000 USD";
    assert_int_equal(ent_crm_import_batch(a.eng, a.store, "opportunity",
                                          "salesforce", rows, 2, false, res,
                                          &ops, &nops),
                     ENT_OK);
    assert_int_equal(res[0].outcome, ENT_CRM_UPDATED);
    assert_int_equal(res[0].changed, 1);
    assert_int_equal(res[1].outcome, ENT_CRM_UPDATED);
    assert_int_equal(res[1].changed, 1);
    assert_int_equal(nops, 1);
    free_ops(ops, nops);
    assert_int_equal(nops_stored(&a), stored + 1);
    assert_string_equal(shared_of(&a, res[1].id, "name", buf, sizeof(buf)),
                        "Beta 2");
    assert_string_equal(shared_of(&a, res[0].id, "deal_size", buf, sizeof(buf)),
                        "2000.00");

    /* dry run: outcomes as a real run, nothing changes */
    r2[1].text = "Beta 3";
    ent_obj_input r4[] = {IN("salesforce_id", "006D", ENT_IN_PRIVATE),
                          IN("name", "Delta", ENT_IN_SHARED)};
    ent_crm_row dry[] = {{"006B", r2, 3}, {"006D", r4, 2}};
    assert_int_equal(ent_crm_import_batch(a.eng, a.store, "opportunity",
                                          "salesforce", dry, 2, true, res, &ops,
                                          &nops),
                     ENT_OK);
    assert_int_equal(res[0].outcome, ENT_CRM_UPDATED);
    assert_int_equal(res[1].outcome, ENT_CRM_CREATED);
    assert_int_equal(nops, 0);
    free(ops);
    assert_int_equal(nops_stored(&a), stored + 1);
    assert_string_equal(shared_of(&a, res[0].id, "name", buf, sizeof(buf)),
                        "Beta 2");
    l.extid = "006D";
    assert_int_equal(ent_store_read(a.store, look_fn, &l), ENT_ENOENT);
    tnode_close(&a);
}

/* A denied write after the row began writing (an owner-only field of an
 * object we do not own is checked by the engine): covered by the rerun;
 * here a strict refusal of a custom field the template does not list. */
static void test_rejects_are_whole(void **state) {
    tnode a;
    ent_crm_result res[3];
    ent_op **ops;
    size_t nops;
    (void)state;
    assert_int_equal(tnode_open(&a, 2), 0);
    ent_obj_input r1[] = {IN("salesforce_id", "1", ENT_IN_PRIVATE),
                          IN("name", "One", ENT_IN_SHARED)};
    ent_obj_input r2[] = {IN("salesforce_id", "2", ENT_IN_PRIVATE),
                          IN("name", "Two", ENT_IN_SHARED),
                          IN("close_date", "31/12/2026", ENT_IN_SHARED)};
    ent_obj_input r3[] = {IN("salesforce_id", "3", ENT_IN_PRIVATE),
                          IN("nmae", "Three", ENT_IN_SHARED)};
    ent_crm_row rows[] = {{"1", r1, 2}, {"2", r2, 3}, {"3", r3, 2}};
    assert_int_equal(ent_crm_import_batch(a.eng, a.store, "opportunity",
                                          "salesforce", rows, 3, false, res,
                                          &ops, &nops),
                     ENT_OK);
    assert_int_equal(res[0].outcome, ENT_CRM_CREATED);
    assert_int_equal(res[1].outcome, ENT_CRM_REJECTED);
    assert_non_null(strstr(res[1].err, "31/12/2026"));
    assert_int_equal(res[2].outcome, ENT_CRM_REJECTED);
    assert_non_null(strstr(res[2].err, "nmae"));
    assert_int_equal(nops, 1);
    assert_int_equal(nops_stored(&a), 1);
    free_ops(ops, nops);
    tnode_close(&a);
}

/* Runs the rows of test_rejects_are_whole, one known, as one batch into a,
 * inside a group when group is set; res gets the outcomes. */
static size_t mixed_batch(tnode *a, bool group, ent_crm_result res[4]) {
    ent_op **ops;
    size_t nops;
    ent_obj_input r0[] = {IN("salesforce_id", "0", ENT_IN_PRIVATE),
                          IN("name", "Zero", ENT_IN_SHARED)};
    ent_obj_input r1[] = {IN("salesforce_id", "1", ENT_IN_PRIVATE),
                          IN("name", "One", ENT_IN_SHARED)};
    ent_obj_input r2[] = {IN("salesforce_id", "2", ENT_IN_PRIVATE),
                          IN("name", "Two", ENT_IN_SHARED),
                          IN("close_date", "31/12/2026", ENT_IN_SHARED)};
    ent_obj_input r3[] = {IN("salesforce_id", "3", ENT_IN_PRIVATE),
                          IN("nmae", "Three", ENT_IN_SHARED)};
    ent_obj_input r0b[] = {IN("salesforce_id", "0", ENT_IN_PRIVATE),
                           IN("name", "Zero again", ENT_IN_SHARED)};
    ent_crm_row first[] = {{"0", r0, 2}};
    ent_crm_row rows[] = {{"1", r1, 2}, {"2", r2, 3}, {"0", r0b, 2},
                          {"3", r3, 2}};
    assert_int_equal(ent_crm_import_batch(a->eng, a->store, "opportunity",
                                          "salesforce", first, 1, false, res,
                                          &ops, &nops),
                     ENT_OK);
    free_ops(ops, nops);
    if (group)
        ent_store_group_enter(a->store);
    assert_int_equal(ent_crm_import_batch(a->eng, a->store, "opportunity",
                                          "salesforce", rows, 4, false, res,
                                          &ops, &nops),
                     ENT_OK);
    if (group) {
        assert_int_equal(ent_store_group_commit(a->store), ENT_OK);
        ent_store_group_leave(a->store);
    }
    free_ops(ops, nops);
    return nops;
}

/* The creates of a batch are prepared on another thread in a read
 * transaction beside the batch's; inside a group that transaction would
 * miss the group's earlier writes, so the batch's own thread prepares
 * them: both give the same outcomes, reasons and ops. */
static void test_prepare_beside_or_not(void **state) {
    tnode a, b;
    ent_crm_result ra[4], rb[4];
    (void)state;
    assert_int_equal(tnode_open(&a, 2), 0);
    assert_int_equal(tnode_open(&b, 3), 0);
    assert_int_equal(mixed_batch(&a, false, ra), 2);
    assert_int_equal(mixed_batch(&b, true, rb), 2);
    static const ent_crm_outcome want[] = {ENT_CRM_CREATED, ENT_CRM_REJECTED,
                                           ENT_CRM_UPDATED, ENT_CRM_REJECTED};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ra[i].outcome, want[i]);
        assert_int_equal(rb[i].outcome, want[i]);
        assert_string_equal(ra[i].err, rb[i].err);
    }
    assert_non_null(strstr(ra[1].err, "31/12/2026"));
    assert_non_null(strstr(ra[3].err, "nmae"));
    assert_int_equal(nops_stored(&a), 3);
    assert_int_equal(nops_stored(&b), 3);
    tnode_close(&a);
    tnode_close(&b);
}

/* Imports the CSV (a file, or len bytes at mem) with the map at mpath into
 * a; counts[outcome] += rows; returns the ops made. */
static size_t import_csv(tnode *a, const char *mpath, const char *file,
                         const char *mem, size_t len, size_t counts[4]) {
    ent_crm_map *m = NULL;
    ent_template *t = NULL;
    ent_csv *csv = NULL;
    ent_csv_row row;
    char err[ENT_CRM_ERR_MAX] = "";
    ent_crm_values vals[16];
    ent_obj_input in[16][32];
    ent_crm_row rows[16];
    ent_crm_result res[16];
    size_t n = 0, total_ops = 0;
    memset(vals, 0, sizeof(vals));
    if (ent_crm_map_load(&m, mpath, err, sizeof(err)) != ENT_OK)
        fail_msg("%s", err);
    assert_int_equal(ent_template_builtin(ent_crm_map_type(m), &t), ENT_OK);
    if (ent_crm_map_bind(m, t, err, sizeof(err)) != ENT_OK)
        fail_msg("%s", err);
    ent_csv_opts o = {.sep = ent_crm_map_sep(m)};
    if (mem != NULL)
        assert_int_equal(
            ent_csv_open_mem(&csv, (const uint8_t *)mem, len, "export.csv", &o),
            ENT_OK);
    else
        assert_int_equal(ent_csv_open_file(&csv, file, NULL, &o), ENT_OK);
    assert_int_equal(ent_csv_next(csv, &row), ENT_OK);
    if (ent_crm_map_header(m, &row, file, err, sizeof(err)) != ENT_OK)
        fail_msg("%s", err);
    while (ent_csv_next(csv, &row) == ENT_OK) {
        assert_true(n < 16);
        if (ent_crm_map_row(m, &row, file, NULL, &vals[n], err, sizeof(err)) !=
            ENT_OK)
            fail_msg("%s", err);
        for (size_t k = 0; k < vals[n].n; k++) {
            in[n][k].name = vals[n].v[k].field;
            in[n][k].text = vals[n].v[k].text;
            in[n][k].how = vals[n].v[k].private_ ? ENT_IN_PRIVATE
                           : vals[n].v[k].custom ? ENT_IN_CUSTOM
                                                 : ENT_IN_SHARED;
        }
        rows[n].extid = vals[n].extid;
        rows[n].in = in[n];
        rows[n].n = vals[n].n;
        n++;
    }
    ent_op **ops;
    assert_int_equal(ent_crm_import_batch(a->eng, a->store, ent_crm_map_type(m),
                                          ent_crm_map_source(m), rows, n, false,
                                          res, &ops, &total_ops),
                     ENT_OK);
    for (size_t i = 0; i < n; i++) {
        if (res[i].outcome == ENT_CRM_REJECTED)
            fail_msg("%s row %zu: %s", file, i, res[i].err);
        counts[res[i].outcome]++;
    }
    free_ops(ops, total_ops);
    for (size_t i = 0; i < n; i++)
        ent_crm_values_clear(&vals[i]);
    ent_csv_free(csv);
    ent_template_free(t);
    ent_crm_map_free(m);
    return total_ops;
}

typedef struct exp_run {
    const char *type;
    json_t *page;
} exp_run;

static int exp_fn(ent_txn *txn, void *data) {
    exp_run *e = data;
    ent_crm_export_opts o = {.type = e->type};
    char err[256];
    return ent_crm_export(txn, &o, &e->page, err, sizeof(err));
}

/* The CSV export of type with the map at mpath, as ent_csv_write_row
 * writes it. */
static char *export_csv(tnode *a, const char *mpath, size_t *len) {
    ent_crm_map *m = NULL;
    ent_template *t = NULL;
    char err[ENT_CRM_ERR_MAX];
    char *buf = NULL;
    size_t nh, i;
    json_t *o;
    assert_int_equal(ent_crm_map_load(&m, mpath, err, sizeof(err)), ENT_OK);
    assert_int_equal(ent_template_builtin(ent_crm_map_type(m), &t), ENT_OK);
    assert_int_equal(ent_crm_map_bind(m, t, err, sizeof(err)), ENT_OK);
    exp_run e = {ent_crm_map_type(m), NULL};
    assert_int_equal(ent_store_read(a->store, exp_fn, &e), ENT_OK);
    FILE *f = open_memstream(&buf, len);
    char sep = ent_crm_map_sep(m) ? ent_crm_map_sep(m) : ',';
    const char *const *hdr = ent_crm_map_export_header(m, &nh);
    assert_int_equal(ent_csv_write_row(f, sep, hdr, NULL, nh), ENT_OK);
    json_array_foreach(json_object_get(e.page, "objects"), i, o) {
        char **cells;
        size_t n;
        assert_int_equal(ent_crm_map_export_row(m, json_object_get(o, "shared"),
                                                json_object_get(o, "private"),
                                                NULL, false, &cells, &n),
                         ENT_OK);
        assert_int_equal(
            ent_csv_write_row(f, sep, (const char *const *)cells, NULL, n),
            ENT_OK);
        ent_crm_cells_free(cells, n);
    }
    fclose(f);
    json_decref(e.page);
    ent_template_free(t);
    ent_crm_map_free(m);
    return buf;
}

/* Every shipped map over its sample: every row imported, the values as
 * the CRM meant them; the same file again and the export of the result
 * change nothing and make no op. */
static void test_shipped_maps(void **state) {
    static const struct {
        const char *map, *csv;
        size_t rows;
    } cases[] = {
        {"node/crm/maps/salesforce_opportunity.json",
         "tests/fixtures/crm/salesforce_opportunities.csv", 5},
        {"node/crm/maps/salesforce_lead.json",
         "tests/fixtures/crm/salesforce_leads.csv", 3},
        {"node/crm/maps/hubspot_deals.json",
         "tests/fixtures/crm/hubspot_deals.csv", 3},
        {"node/crm/maps/hubspot_companies.json",
         "tests/fixtures/crm/hubspot_companies.csv", 3},
    };
    tnode a;
    char buf[128];
    (void)state;
    /* one node per source: an export holds every object of the type */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t c1[4] = {0}, c2[4] = {0}, c3[4] = {0}, len;
        assert_int_equal(tnode_open(&a, (uint8_t)(10 + i)), 0);
        size_t ops = import_csv(&a, cases[i].map, cases[i].csv, NULL, 0, c1);
        assert_int_equal(c1[ENT_CRM_CREATED], cases[i].rows);
        assert_int_equal(ops, cases[i].rows);
        assert_int_equal(
            import_csv(&a, cases[i].map, cases[i].csv, NULL, 0, c2), 0);
        assert_int_equal(c2[ENT_CRM_UNCHANGED], cases[i].rows);
        char *csv = export_csv(&a, cases[i].map, &len);
        assert_int_equal(
            import_csv(&a, cases[i].map, "export.csv", csv, len, c3), 0);
        if (c3[ENT_CRM_UNCHANGED] != cases[i].rows)
            fail_msg("%s: export round trip changed rows:\n%s", cases[i].map,
                     csv);
        free(csv);
        tnode_close(&a);
    }
    assert_int_equal(tnode_open(&a, 3), 0);
    size_t c0[4] = {0};
    assert_int_equal(import_csv(&a, cases[0].map, cases[0].csv, NULL, 0, c0),
                     5);
    /* what the CRM meant */
    look l = {"0065e00000AbCdE1", {0}};
    assert_int_equal(ent_store_read(a.store, look_fn, &l), ENT_OK);
    assert_string_equal(shared_of(&a, l.id, "stage", buf, sizeof(buf)),
                        "Negotiation");
    assert_string_equal(shared_of(&a, l.id, "close_date", buf, sizeof(buf)),
                        "2027-06-30");
    assert_string_equal(shared_of(&a, l.id, "deal_size", buf, sizeof(buf)),
                        "1250000.00");
    assert_string_equal(shared_of(&a, l.id, "industry", buf, sizeof(buf)),
                        "Financial Services");
    assert_string_equal(shared_of(&a, l.id, "internal_notes", buf, sizeof(buf)),
                        "Renewal with expansion to EMEA. Partner leads the "
                        "integration work.");
    json_t *o = NULL;
    assert_int_equal(ent_obj_show_json(a.eng, l.id, false, &o), ENT_OK);
    /* the external id and the amount are private: never in shared */
    assert_null(json_object_get(json_object_get(o, "shared"), "salesforce_id"));
    assert_null(json_object_get(json_object_get(o, "shared"), "deal_size"));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(o, "private"), "salesforce_id")),
                        "0065e00000AbCdE1");
    json_decref(o);
    tnode_close(&a);
}

typedef struct exp_q {
    ent_crm_export_opts o;
    json_t *page;
    char err[256];
} exp_q;

static int expq_fn(ent_txn *txn, void *data) {
    exp_q *q = data;
    return ent_crm_export(txn, &q->o, &q->page, q->err, sizeof(q->err));
}

/* --where, --hide-private, --since and paging of the export. */
static void test_export_options(void **state) {
    tnode a;
    size_t c0[4] = {0};
    exp_q q;
    (void)state;
    assert_int_equal(tnode_open(&a, 4), 0);
    assert_int_equal(
        import_csv(&a, "node/crm/maps/salesforce_opportunity.json",
                   "tests/fixtures/crm/salesforce_opportunities.csv", NULL, 0,
                   c0),
        5);
    memset(&q, 0, sizeof(q));
    q.o.type = "opportunity";
    q.o.where = "stage in (\"Closed Won\", \"Closed Lost\") and "
                "deal_size >= 100000 GBP";
    assert_int_equal(ent_store_read(a.store, expq_fn, &q), ENT_OK);
    json_t *objs = json_object_get(q.page, "objects");
    assert_int_equal(json_array_size(objs), 1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(objs, 0), "shared"), "name")),
        "Tailspin POS Upgrade");
    assert_non_null(json_object_get(json_array_get(objs, 0), "private"));
    json_int_t cursor = json_integer_value(json_object_get(q.page, "cursor"));
    assert_true(cursor > 0);
    json_decref(q.page);
    /* with hide_private the filter reads no private value either: the
     * private deal_size is null to it, so no object passes (a filter on a
     * private value would tell which objects hold what) */
    q.o.hide_private = true;
    q.page = NULL;
    assert_int_equal(ent_store_read(a.store, expq_fn, &q), ENT_OK);
    assert_int_equal(json_array_size(json_object_get(q.page, "objects")), 0);
    json_decref(q.page);
    q.o.where = "deal_size is null and stage = \"Closed Won\"";
    q.page = NULL;
    assert_int_equal(ent_store_read(a.store, expq_fn, &q), ENT_OK);
    assert_int_equal(json_array_size(json_object_get(q.page, "objects")), 1);
    json_decref(q.page);
    q.o.hide_private = false;
    /* a bad expression: its position */
    q.o.where = "stage = ";
    q.page = NULL;
    assert_int_equal(ent_store_read(a.store, expq_fn, &q), ENT_EINVAL);
    assert_non_null(strstr(q.err, "--where: at "));
    q.o.where = "deal_size";
    assert_int_equal(ent_store_read(a.store, expq_fn, &q), ENT_EINVAL);
    assert_non_null(strstr(q.err, "not a condition"));
    /* hide_private: no private map; pages of 2 */
    q.o.where = NULL;
    q.o.hide_private = true;
    q.o.limit = 2;
    size_t seen = 0, pages = 0;
    uint8_t after[32];
    do {
        q.page = NULL;
        assert_int_equal(ent_store_read(a.store, expq_fn, &q), ENT_OK);
        objs = json_object_get(q.page, "objects");
        for (size_t i = 0; i < json_array_size(objs); i++)
            assert_null(json_object_get(json_array_get(objs, i), "private"));
        seen += json_array_size(objs);
        pages++;
        const char *next = json_string_value(json_object_get(q.page, "next"));
        if (next != NULL) {
            assert_int_equal(ent_hex_decode(after, 32, next), ENT_OK);
            q.o.after = after;
        } else {
            q.o.after = NULL;
        }
        json_decref(q.page);
    } while (q.o.after != NULL);
    assert_int_equal(seen, 5);
    assert_int_equal(pages, 3);
    /* --since: nothing after the cursor, then the one object changed */
    q.o.hide_private = false;
    q.o.limit = 0;
    q.o.since_set = true;
    q.o.since = (uint64_t)cursor;
    q.page = NULL;
    assert_int_equal(ent_store_read(a.store, expq_fn, &q), ENT_OK);
    assert_int_equal(json_array_size(json_object_get(q.page, "objects")), 0);
    json_decref(q.page);
    ent_obj_input r1[] = {
        IN("salesforce_id", "0065e00000AbCdE3", ENT_IN_PRIVATE),
        IN("next_step", "Call the CFO", ENT_IN_SHARED)};
    ent_crm_row rows[] = {{"0065e00000AbCdE3", r1, 2}};
    ent_crm_result res[1];
    ent_op **ops;
    size_t nops;
    assert_int_equal(ent_crm_import_batch(a.eng, a.store, "opportunity",
                                          "salesforce", rows, 1, false, res,
                                          &ops, &nops),
                     ENT_OK);
    assert_int_equal(res[0].outcome, ENT_CRM_UPDATED);
    free_ops(ops, nops);
    q.page = NULL;
    assert_int_equal(ent_store_read(a.store, expq_fn, &q), ENT_OK);
    objs = json_object_get(q.page, "objects");
    assert_int_equal(json_array_size(objs), 1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(objs, 0), "shared"), "next_step")),
        "Call the CFO");
    json_decref(q.page);
    tnode_close(&a);
}

static int link_fn(ent_txn *txn, void *data) {
    const uint8_t *id = data;
    static const char key[] = "salesforce\0opportunity\0"
                              "006V";
    return ent_txn_put(txn, ENT_TBL_CRM_IDS, key, sizeof(key) - 1, id, 32, 0);
}

/* A refusal that comes from the engine after the row's checks (here: this
 * org only views the object its id names) rejects that row and runs the
 * batch again without it: the rows before and after it commit once,
 * nothing of it does. */
/* A page of the export stops before its objects' JSON passes
 * ENT_CRM_EXPORT_PAGE_BYTES (the CLI reads an answer of 64 MiB at most,
 * and 1,000 objects of one create each, whose event holds 64 KiB, reach
 * that): 160 objects of 56 KB each (14 private fields of 4,000 bytes)
 * come over two pages, each object once. */
static void test_export_page_bytes(void **state) {
    enum { NOBJ = 160, NF = 14 };
    tnode a;
    exp_q q;
    static char big[4001];
    static char names[NF][8];
    ent_obj_input in[NOBJ][NF + 1];
    ent_crm_row rows[NOBJ];
    ent_crm_result res[NOBJ];
    char ext[NOBJ][8];
    ent_op **ops;
    size_t nops;
    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    assert_int_equal(tnode_open(&a, 7), 0);
    for (size_t k = 0; k < NF; k++)
        snprintf(names[k], sizeof(names[k]), "p%zu", k);
    for (size_t i = 0; i < NOBJ; i++) {
        snprintf(ext[i], sizeof(ext[i]), "B%zu", i);
        in[i][0] = (ent_obj_input)IN("salesforce_id", ext[i], ENT_IN_PRIVATE);
        for (size_t k = 0; k < NF; k++)
            in[i][k + 1] = (ent_obj_input)IN(names[k], big, ENT_IN_PRIVATE);
        rows[i] = (ent_crm_row){ext[i], in[i], NF + 1};
    }
    assert_int_equal(ent_crm_import_batch(a.eng, a.store, "opportunity",
                                          "salesforce", rows, NOBJ, false, res,
                                          &ops, &nops),
                     ENT_OK);
    for (size_t i = 0; i < NOBJ; i++)
        if (res[i].outcome != ENT_CRM_CREATED)
            fail_msg("row %zu: %s", i, res[i].err);
    free_ops(ops, nops);
    memset(&q, 0, sizeof(q));
    q.o.type = "opportunity";
    size_t seen = 0, pages = 0;
    uint8_t after[32];
    do {
        q.page = NULL;
        assert_int_equal(ent_store_read(a.store, expq_fn, &q), ENT_OK);
        json_t *objs = json_object_get(q.page, "objects");
        char *text = json_dumps(json_object_get(q.page, "objects"),
                                JSON_COMPACT);
        assert_non_null(text);
        assert_true(json_array_size(objs) >= 1);
        assert_true(json_array_size(objs) == 1 ||
                    strlen(text) <= ENT_CRM_EXPORT_PAGE_BYTES);
        free(text);
        seen += json_array_size(objs);
        pages++;
        const char *next = json_string_value(json_object_get(q.page, "next"));
        if (next != NULL) {
            assert_int_equal(ent_hex_decode(after, 32, next), ENT_OK);
            q.o.after = after;
        } else {
            q.o.after = NULL;
        }
        json_decref(q.page);
    } while (q.o.after != NULL);
    assert_int_equal(seen, NOBJ);
    assert_true(pages >= 2);
    tnode_close(&a);
}

static void test_refusal_reruns_batch(void **state) {
    tnode a, b;
    uint8_t obj[32];
    ent_obj_input in[] = {{"name", "Owned by B", ENT_IN_SHARED}};
    ent_op *op = NULL;
    char err[256];
    (void)state;
    assert_int_equal(tnodes_open(TNODES(&b, &a), 5), 0);
    assert_int_equal(
        ent_obj_create(b.eng, "opportunity", in, 1, obj, &op, err, sizeof(err)),
        ENT_OK);
    ent_op_free(op);
    assert_int_equal(tnode_join(&b, &a, obj, ENT_ROLE_VIEWER, NULL, NULL), 0);
    assert_int_equal(ent_store_write(a.store, link_fn, obj), ENT_OK);
    look lk = {"006V", {0}};
    assert_int_equal(ent_store_read(a.store, look_fn, &lk), ENT_OK);
    assert_memory_equal(lk.id, obj, 32);
    json_t *st0 = NULL;
    assert_int_equal(ent_obj_show_json(a.eng, obj, false, &st0), ENT_OK);
    json_decref(st0);
    uint64_t before = nops_stored(&a);
    ent_obj_input r1[] = {IN("salesforce_id", "006U", ENT_IN_PRIVATE),
                          IN("name", "Mine", ENT_IN_SHARED)};
    ent_obj_input r2[] = {IN("salesforce_id", "006V", ENT_IN_PRIVATE),
                          IN("name", "Viewer write", ENT_IN_SHARED)};
    ent_obj_input r3[] = {IN("salesforce_id", "006W", ENT_IN_PRIVATE),
                          IN("name", "Mine too", ENT_IN_SHARED)};
    ent_crm_row rows[] = {{"006U", r1, 2}, {"006V", r2, 2}, {"006W", r3, 2}};
    ent_crm_result res[3];
    ent_op **ops;
    size_t nops;
    assert_int_equal(ent_crm_import_batch(a.eng, a.store, "opportunity",
                                          "salesforce", rows, 3, false, res,
                                          &ops, &nops),
                     ENT_OK);
    assert_int_equal(res[0].outcome, ENT_CRM_CREATED);
    assert_int_equal(res[1].outcome, ENT_CRM_REJECTED);
    assert_non_null(strstr(res[1].err, "viewer"));
    assert_int_equal(res[2].outcome, ENT_CRM_CREATED);
    assert_int_equal(nops, 2);
    free_ops(ops, nops);
    assert_int_equal(nops_stored(&a), before + 2);
    char buf[64];
    assert_string_equal(shared_of(&a, obj, "name", buf, sizeof(buf)),
                        "Owned by B");
    /* nothing of the refused row: not even its private external id */
    json_t *o = NULL;
    assert_int_equal(ent_obj_show_json(a.eng, obj, false, &o), ENT_OK);
    assert_null(
        json_object_get(json_object_get(o, "private"), "salesforce_id"));
    json_decref(o);
    tnodes_close(TNODES(&a, &b));
}

/* A batch that fails at a storage write anywhere in it (a crash) commits
 * nothing of itself and nothing is lost of the batches before; the same
 * import run again finds those by external id (unchanged, no op) and
 * creates the rest: the import goes on where it stopped. */
static void test_failed_batch_then_rerun(void **state) {
    tnode a;
    enum { N = 6 };
    char ids[N][16];
    ent_obj_input in[N][2];
    ent_crm_row rows[N];
    ent_crm_result res[N];
    ent_op **ops;
    size_t nops;
    (void)state;
    assert_int_equal(tnode_open(&a, 6), 0);
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "R%d", i);
        in[i][0] = (ent_obj_input){"salesforce_id", ids[i], ENT_IN_PRIVATE};
        in[i][1] = (ent_obj_input){"name", ids[i], ENT_IN_SHARED};
        rows[i] = (ent_crm_row){ids[i], in[i], 2};
    }
    /* batch 1 (rows 0-2) commits */
    assert_int_equal(ent_crm_import_batch(a.eng, a.store, "opportunity",
                                          "salesforce", rows, 3, false, res,
                                          &ops, &nops),
                     ENT_OK);
    free_ops(ops, nops);
    uint64_t after1 = nops_stored(&a);
    /* batch 2 (rows 3-5) dies at its 5th storage write: nothing of it */
    ent_store_fail_after(a.store, 5);
    assert_int_equal(ent_crm_import_batch(a.eng, a.store, "opportunity",
                                          "salesforce", rows + 3, 3, false, res,
                                          &ops, &nops),
                     ENT_EIO);
    ent_store_fail_after(a.store, 0);
    assert_null(ops);
    assert_int_equal(nops_stored(&a), after1);
    for (int i = 3; i < N; i++) {
        look l = {ids[i], {0}};
        assert_int_equal(ent_store_read(a.store, look_fn, &l), ENT_ENOENT);
    }
    /* the whole import again, in one batch */
    assert_int_equal(ent_crm_import_batch(a.eng, a.store, "opportunity",
                                          "salesforce", rows, N, false, res,
                                          &ops, &nops),
                     ENT_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(res[i].outcome,
                         i < 3 ? ENT_CRM_UNCHANGED : ENT_CRM_CREATED);
    assert_int_equal(nops, 3);
    free_ops(ops, nops);
    assert_int_equal(nops_stored(&a), after1 + 3);
    tnode_close(&a);
}

/* Duplicate external ids in a batch, out of order and three times: the
 * first row of each id is kept, every later one rejected, whatever the
 * order of the ids (the check sorts them). */
static void test_duplicate_ids(void **state) {
    tnode a;
    ent_crm_result res[7];
    ent_op **ops;
    size_t nops;
    (void)state;
    assert_int_equal(tnode_open(&a, 1), 0);
    ent_obj_input rb[] = {IN("salesforce_id", "006B", ENT_IN_PRIVATE),
                          IN("name", "Beta", ENT_IN_SHARED)};
    ent_obj_input ra[] = {IN("salesforce_id", "006A", ENT_IN_PRIVATE),
                          IN("name", "Alpha", ENT_IN_SHARED)};
    ent_obj_input rc_[] = {IN("salesforce_id", "006C", ENT_IN_PRIVATE),
                           IN("name", "Gamma", ENT_IN_SHARED)};
    ent_crm_row rows[] = {{"006B", rb, 2},  {"006A", ra, 2}, {"006B", rb, 2},
                          {"006C", rc_, 2}, {"006A", ra, 2}, {"006B", rb, 2},
                          {NULL, ra, 2}};
    assert_int_equal(ent_crm_import_batch(a.eng, a.store, "opportunity",
                                          "salesforce", rows, 7, false, res,
                                          &ops, &nops),
                     ENT_OK);
    const ent_crm_outcome want[] = {
        ENT_CRM_CREATED,  ENT_CRM_CREATED,  ENT_CRM_REJECTED, ENT_CRM_CREATED,
        ENT_CRM_REJECTED, ENT_CRM_REJECTED, ENT_CRM_REJECTED};
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(res[i].outcome, want[i]);
    assert_non_null(strstr(res[2].err, "\"006B\" is already on an earlier"));
    assert_non_null(strstr(res[4].err, "\"006A\" is already on an earlier"));
    assert_non_null(strstr(res[5].err, "\"006B\" is already on an earlier"));
    assert_non_null(strstr(res[6].err, "no external id"));
    assert_int_equal(nops, 3);
    free_ops(ops, nops);
    tnode_close(&a);
}

/* External ids the node receives (POST /v1/crm/import) pass the CLI's rule
 * (ent_crm_extid_check): one with a control character, DEL, invalid UTF-8,
 * empty or over 255 bytes rejects its row with the reason; the other rows
 * of the batch are imported, a tab is allowed, and the ids stored are
 * read back (webhooks' external_ids). */
static void test_bad_external_ids(void **state) {
    tnode a;
    ent_crm_result res[7];
    ent_op **ops;
    size_t nops;
    char longid[ENT_CRM_EXTID_MAX + 2];
    (void)state;
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    assert_int_equal(tnode_open(&a, 1), 0);
    ent_obj_input r[] = {IN("name", "Row", ENT_IN_SHARED)};
    ent_crm_row rows[] = {{"006\001X", r, 1}, {"006OK", r, 1},
                          {"006\177", r, 1},  {"006\xc3", r, 1},
                          {"", r, 1},          {longid, r, 1},
                          {"006\tT", r, 1}};
    assert_int_equal(ent_crm_import_batch(a.eng, a.store, "opportunity",
                                          "salesforce", rows, 7, false, res,
                                          &ops, &nops),
                     ENT_OK);
    const ent_crm_outcome want[] = {
        ENT_CRM_REJECTED, ENT_CRM_CREATED,  ENT_CRM_REJECTED, ENT_CRM_REJECTED,
        ENT_CRM_REJECTED, ENT_CRM_REJECTED, ENT_CRM_CREATED};
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(res[i].outcome, want[i]);
    assert_string_equal(res[0].err, "the external id must be 1..255 bytes of "
                                    "text without control characters");
    assert_string_equal(res[2].err, res[0].err);
    assert_string_equal(res[3].err, res[0].err);
    assert_string_equal(res[4].err, "the external id is empty");
    assert_string_equal(res[5].err, res[0].err);
    assert_int_equal(nops, 2);
    free_ops(ops, nops);
    for (size_t i = 1; i < 7; i += 5) {
        ids_run ir = {res[i].id, NULL};
        assert_int_equal(ent_store_read(a.store, ids_fn, &ir), ENT_OK);
        assert_non_null(ir.ids);
        assert_string_equal(
            json_string_value(json_object_get(ir.ids, "salesforce")),
            rows[i].extid);
        json_decref(ir.ids);
    }
    tnode_close(&a);
}

/* The reverse rows of schema 5: "crm_ids" 0x01 || object || source ->
 * external id, for obj (data) and two sources. */
static int v5_ids_fn(ent_txn *txn, void *data) {
    uint8_t k[1 + 32 + 10];
    k[0] = 0x01;
    memcpy(k + 1, data, 32);
    memcpy(k + 33, "salesforce", 10);
    int rc = ent_txn_put(txn, ENT_TBL_CRM_IDS, k, 43, "006A", 4, 0);
    memcpy(k + 33, "hubspot", 7);
    return rc == ENT_OK ? ent_txn_put(txn, ENT_TBL_CRM_IDS, k, 40, "H-1", 3, 0)
                        : rc;
}

/* A store of schema 5 opens at schema 6 with the same external ids of an
 * object (its reverse rows moved to "obj_local"). */
static void test_schema5_external_ids(void **state) {
    char dir[128];
    ent_store *s = NULL;
    ent_store_opts o5 = {.schema = 5};
    uint8_t obj[32], other[32];
    (void)state;
    memset(obj, 0xc4, 32);
    memset(other, 0xc5, 32);
    assert_int_equal(tmp_dir(dir, sizeof(dir), "crm5"), 0);
    assert_int_equal(ent_store_open_ex(&s, dir, ENT_STORE_CREATE, NULL, &o5),
                     ENT_OK);
    assert_int_equal(ent_store_write(s, v5_ids_fn, obj), ENT_OK);
    ent_store_close(s);
    assert_int_equal(ent_store_open(&s, dir, 0, NULL), ENT_OK);
    ids_run ir = {obj, NULL};
    assert_int_equal(ent_store_read(s, ids_fn, &ir), ENT_OK);
    char *text = json_dumps(ir.ids, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(text, "{\"hubspot\":\"H-1\",\"salesforce\":\"006A\"}");
    free(text);
    json_decref(ir.ids);
    ir = (ids_run){other, NULL};
    assert_int_equal(ent_store_read(s, ids_fn, &ir), ENT_OK);
    assert_null(ir.ids);
    ent_store_close(s);
    rm_tree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upsert),
        cmocka_unit_test(test_schema5_external_ids),
        cmocka_unit_test(test_duplicate_ids),
        cmocka_unit_test(test_bad_external_ids),
        cmocka_unit_test(test_rejects_are_whole),
        cmocka_unit_test(test_shipped_maps),
        cmocka_unit_test(test_export_options),
        cmocka_unit_test(test_export_page_bytes),
        cmocka_unit_test(test_refusal_reruns_batch),
        cmocka_unit_test(test_failed_batch_then_rerun),
        cmocka_unit_test(test_prepare_beside_or_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
