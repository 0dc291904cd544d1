/*
 * api_crm_test.c - POST /v1/crm/import and POST /v1/crm/export on a real
 * node, without sockets (spec/api.md "CRM sync"): a batch answers each
 * row's outcome in order and hands exactly its ops to the op hook after
 * the commit, none of them carrying a private value; the same batch again
 * makes no op; a dry run makes none either and changes nothing; bad bodies
 * are 400s naming the key; an unknown type is a 404; the export pages
 * and filters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "nodes_fixture.h"

#include "node/api/api.h"

#define CANARY "CANARY-CRM-API-5521"

typedef struct fx {
    char tmp[PATH_MAX];
    char home[PATH_MAX];
    uv_loop_t loop;
    ent_node *n;
    int ops;
    bool canary_seen;
} fx;

static void on_op(ent_node *n, const uint8_t *raw, size_t len,
                  const uint8_t object[32], void *data) {
    fx *f = data;
    (void)n;
    (void)object;
    f->ops++;
    if (memmem(raw, len, CANARY, strlen(CANARY)) != NULL ||
        memmem(raw, len, "006API", 6) != NULL)
        f->canary_seen = true;
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(ent_crypto_init(), ENT_OK);
    nodes_tmpdir(f->tmp, "/tmp", "apicrm-test");
    node_home(f->home, f->tmp, "home", "Acme", NULL);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    node_open(&f->n, &f->loop, f->home, NULL);
    ent_node_set_op_cb(f->n, on_op, f);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    ent_node_free(f->n);
    uv_loop_close(&f->loop);
    rm_tree(f->tmp);
    free(f);
    return 0;
}

static int call(fx *f, const char *path, const char *body, json_t **out) {
    size_t bl = strlen(body), cap = strlen(path) + bl + 256;
    char *text = malloc(cap);
    ent_http_request req;
    ent_http_response resp = {0};
    assert_non_null(text);
    int n = snprintf(text, cap,
                     "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
                     "\r\n%s",
                     path, bl, body);
    assert_int_equal(ent_http_parse((const uint8_t *)text, (size_t)n, &req),
                     ENT_OK);
    ent_api_dispatch(f->n, &req, &resp);
    ent_http_request_clear(&req);
    int status = resp.status;
    *out = resp.body;
    resp.body = NULL;
    ent_http_response_clear(&resp);
    free(text);
    return status;
}

static const char *field_of(const json_t *j) {
    return json_string_value(
        json_object_get(json_object_get(j, "error"), "field"));
}

#define BATCH(dry, name2)                                                      \
    "{\"type\":\"opportunity\",\"source\":\"salesforce\",\"dry_run\":" dry     \
    ",\"rows\":[{\"extid\":\"006API1\",\"set\":{\"name\":\"One\",\"stage\":"   \
    "\"proposal\"},\"private\":{\"salesforce_id\":\"006API1\","                \
    "\"internal_notes\":\"" CANARY "\"}},{\"extid\":\"006API2\",\"set\":"      \
    "{\"name\":\"" name2 "\"},\"private\":{\"salesforce_id\":\"006API2\"}},"   \
    "{\"extid\":\"006API3\",\"set\":{\"close_date\":\"31/12/2026\"}}]}"

static void test_import(void **state) {
    fx *f = *state;
    json_t *j = NULL;
    /* a dry run: outcomes, no op, nothing stored */
    assert_int_equal(call(f, "/v1/crm/import", BATCH("true", "Two"), &j), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "created")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "rejected")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "ops")), 0);
    json_decref(j);
    assert_int_equal(f->ops, 0);
    /* the batch: rows in order, the bad one rejected with its reason */
    assert_int_equal(call(f, "/v1/crm/import", BATCH("false", "Two"), &j), 200);
    json_t *res = json_object_get(j, "results");
    assert_int_equal(json_array_size(res), 3);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(res, 0), "outcome")),
        "created");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(res, 2), "outcome")),
        "rejected");
    assert_non_null(strstr(
        json_string_value(json_object_get(json_array_get(res, 2), "error")),
        "31/12/2026"));
    assert_int_equal(json_integer_value(json_object_get(j, "ops")), 2);
    json_decref(j);
    assert_int_equal(f->ops, 2);
    assert_false(f->canary_seen);
    /* the same again: unchanged, no op; one name changed: one op */
    assert_int_equal(call(f, "/v1/crm/import", BATCH("false", "Two"), &j), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "unchanged")), 2);
    json_decref(j);
    assert_int_equal(f->ops, 2);
    assert_int_equal(call(f, "/v1/crm/import", BATCH("false", "Two B"), &j),
                     200);
    assert_int_equal(json_integer_value(json_object_get(j, "updated")), 1);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_array_get(json_object_get(j, "results"), 1), "changed")),
        1);
    json_decref(j);
    assert_int_equal(f->ops, 3);
    assert_false(f->canary_seen);
    /* an external id the CLI would refuse (a control character) rejects
     * its row with the reason; the other row of the batch goes on (a dry
     * run: the rest of the test counts the objects and ops) */
    assert_int_equal(
        call(f, "/v1/crm/import",
             "{\"type\":\"opportunity\",\"source\":\"salesforce\","
             "\"dry_run\":true,\"rows\":[{\"extid\":\"006\\u0001X\","
             "\"set\":{\"name\":\"Bad\"}},"
             "{\"extid\":\"006API4\",\"set\":{\"name\":\"Four\"}}]}",
             &j),
        200);
    res = json_object_get(j, "results");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(res, 0), "outcome")),
        "rejected");
    assert_non_null(strstr(
        json_string_value(json_object_get(json_array_get(res, 0), "error")),
        "without control characters"));
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(res, 1), "outcome")),
        "created");
    json_decref(j);
    assert_int_equal(f->ops, 3);

    /* bad bodies */
    static const struct {
        const char *body, *field;
        int status;
    } bad[] = {
        {"{\"type\":\"opportunity\",\"source\":\"s\",\"rows\":[],\"x\":1}", "x",
         400},
        {"{\"type\":\"opportunity\",\"source\":\"Bad Source\",\"rows\":[]}",
         "source", 400},
        {"{\"type\":\"opportunity\",\"source\":\"s\",\"rows\":[{\"extid\":"
         "\"1\",\"set\":{\"name\":5}}]}",
         "name", 400},
        {"{\"type\":\"opportunity\",\"source\":\"s\",\"rows\":[{\"set\":{}}]}",
         "extid", 400},
        {"{\"type\":\"opportunity\",\"source\":\"s\",\"rows\":{}}", "rows",
         400},
        {"{\"type\":\"opportunity\",\"source\":\"s\",\"dry_run\":1,"
         "\"rows\":[]}",
         "dry_run", 400},
        {"{\"type\":\"nosuchtype\",\"source\":\"s\",\"rows\":[{\"extid\":"
         "\"1\"}]}",
         NULL, 404},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(call(f, "/v1/crm/import", bad[i].body, &j),
                         bad[i].status);
        if (bad[i].field != NULL &&
            (field_of(j) == NULL || strcmp(field_of(j), bad[i].field) != 0))
            fail_msg("%zu: field %s", i, field_of(j) ? field_of(j) : "-");
        json_decref(j);
    }
    /* more than 1,000 rows */
    size_t cap = 64 + 1001 * 16;
    char *big = malloc(cap);
    assert_non_null(big);
    size_t o = (size_t)snprintf(
        big, cap, "{\"type\":\"opportunity\",\"source\":\"s\",\"rows\":[");
    for (int i = 0; i < 1001; i++)
        o += (size_t)snprintf(big + o, cap - o, "%s{\"extid\":\"%d\"}",
                              i ? "," : "", i);
    snprintf(big + o, cap - o, "]}");
    assert_int_equal(call(f, "/v1/crm/import", big, &j), 400);
    assert_string_equal(field_of(j), "rows");
    json_decref(j);
    free(big);
    assert_int_equal(f->ops, 3);

    /* the export: a page, the filter, hide_private, bad requests */
    assert_int_equal(call(f, "/v1/crm/export",
                          "{\"type\":\"opportunity\",\"where\":\"stage = "
                          "\\\"Proposal\\\"\",\"hide_private\":true}",
                          &j),
                     200);
    json_t *objs = json_object_get(j, "objects");
    assert_int_equal(json_array_size(objs), 1);
    assert_null(json_object_get(json_array_get(objs, 0), "private"));
    assert_true(json_is_null(json_object_get(j, "next")));
    json_decref(j);
    assert_int_equal(
        call(f, "/v1/crm/export", "{\"type\":\"opportunity\",\"limit\":1}", &j),
        200);
    assert_true(json_is_string(json_object_get(j, "next")));
    assert_non_null(json_object_get(
        json_array_get(json_object_get(j, "objects"), 0), "private"));
    json_decref(j);
    assert_int_equal(call(f, "/v1/crm/export",
                          "{\"type\":\"opportunity\",\"where\":\"stage =\"}",
                          &j),
                     400);
    json_decref(j);
    assert_int_equal(
        call(f, "/v1/crm/export", "{\"type\":\"opportunity\",\"limit\":0}", &j),
        400);
    assert_string_equal(field_of(j), "limit");
    json_decref(j);
    assert_int_equal(call(f, "/v1/crm/export", "{\"type\":\"nosuchtype\"}", &j),
                     404);
    json_decref(j);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_import, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
