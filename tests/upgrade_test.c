/*
 * upgrade_test.c - the schema 1 -> 2 migration (storage/migrate.c) on the
 * checked-in database of the previous release (tests/fixtures/schema1):
 * without the step its stored template does not load (so the fixture
 * really is of the old format); with it the store is at the latest
 * schema, the template loads with the stage field naming no table and its
 * own stages,
 * a second open migrates nothing, and a store whose template is damaged
 * JSON still migrates (the template layer reports it, as before).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node/objects/template.h"
#include "storage/store.h"
#include "store_fixture.h"

struct fx {
    char dir[256];
};

static int copy_fixture(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "cp tests/fixtures/schema1/data.mdb %s/", dir);
    return system(cmd);
}

static int setup(void **state) {
    struct fx *f = calloc(1, sizeof(*f));
    assert_int_equal(tmp_dir(f->dir, sizeof(f->dir), "upgrade"), 0);
    assert_int_equal(copy_fixture(f->dir), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fx *f = *state;
    rm_tree(f->dir);
    free(f);
    return 0;
}

struct tq {
    int rc;
    ent_template *t;
};

static int get_fn(ent_txn *txn, void *data) {
    struct tq *q = data;
    q->rc = ent_template_get(txn, "opportunity", &q->t);
    return ENT_OK;
}

static int noop(ent_txn *txn, void *data) {
    (void)txn;
    (void)data;
    return ENT_OK;
}

static void fixture_needs_the_step(void **state) {
    struct fx *f = *state;
    ent_store *s = NULL;
    const ent_store_migration m[] = {{1, noop}};
    ent_store_opts o = {.schema = 2, .migrations = m, .n_migrations = 1};
    assert_int_equal(ent_store_open_ex(&s, f->dir, 0, NULL, &o), ENT_OK);
    struct tq q = {0};
    assert_int_equal(ent_store_read(s, get_fn, &q), ENT_OK);
    assert_int_not_equal(q.rc, ENT_OK); /* "table":"stages" is refused */
    ent_template_free(q.t);
    ent_store_close(s);
}

static void migrates_in_place(void **state) {
    struct fx *f = *state;
    ent_store *s = NULL;
    assert_int_equal(ent_store_open(&s, f->dir, 0, NULL), ENT_OK);
    uint32_t v = 0;
    assert_int_equal(ent_store_schema(s, &v), ENT_OK);
    assert_int_equal(v, ENT_STORE_SCHEMA);
    struct tq q = {0};
    assert_int_equal(ent_store_read(s, get_fn, &q), ENT_OK);
    assert_int_equal(q.rc, ENT_OK);
    json_t *j = NULL;
    assert_int_equal(ent_template_to_json(q.t, &j), ENT_OK);
    json_t *fields = json_object_get(j, "fields"), *fl, *stage = NULL;
    size_t i;
    json_array_foreach(fields, i, fl) {
        if (strcmp(json_string_value(json_object_get(fl, "name")), "stage") ==
            0)
            stage = fl;
    }
    assert_non_null(stage);
    assert_null(json_object_get(stage, "table"));
    assert_string_equal(json_string_value(json_object_get(stage, "label")),
                        "Sales stage");
    json_t *st = json_object_get(j, "stages");
    assert_int_equal(json_array_size(st), 5);
    assert_string_equal(json_string_value(json_array_get(st, 0)), "Discovery");
    json_decref(j);
    ent_template_free(q.t);
    ent_store_close(s);
    /* again: at the current schema nothing runs (a failing step would
     * show) */
    const ent_store_migration bad[] = {{1, NULL}, {2, NULL}};
    ent_store_opts o = {.schema = ENT_STORE_SCHEMA, .migrations = bad,
                        .n_migrations = 2};
    assert_int_equal(ent_store_open_ex(&s, f->dir, 0, NULL, &o), ENT_OK);
    ent_store_close(s);
}

static int damage_fn(ent_txn *txn, void *data) {
    (void)data;
    return ent_txn_put(txn, ENT_TBL_TEMPLATES, "lead", 4, "{not json", 9, 0);
}

static void damaged_template_kept(void **state) {
    struct fx *f = *state;
    ent_store *s = NULL;
    const ent_store_migration m[] = {{1, noop}};
    ent_store_opts o = {.schema = 1, .migrations = m, .n_migrations = 1};
    assert_int_equal(ent_store_open_ex(&s, f->dir, 0, NULL, &o), ENT_OK);
    assert_int_equal(ent_store_write(s, damage_fn, NULL), ENT_OK);
    ent_store_close(s);
    assert_int_equal(ent_store_open(&s, f->dir, 0, NULL), ENT_OK);
    struct tq q = {0};
    assert_int_equal(ent_store_read(s, get_fn, &q), ENT_OK);
    assert_int_equal(q.rc, ENT_OK); /* the good one was still rewritten */
    ent_template_free(q.t);
    ent_store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(fixture_needs_the_step, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(migrates_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(damaged_template_kept, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
