/*
 * group_test.c - group commit (spec/storage.md "Group commit") and the
 * batch endpoint (spec/api.md "Batches") on a real node:
 *
 *   store   writes in a group are one commit; a failing write vanishes
 *           alone; the group reads its own writes, nobody else does before
 *           the commit; a write outside the group commits it first
 *   held    three requests of one loop iteration (one refused) are
 *           answered only by the loop's check phase, after one commit,
 *           each with its own result; their ops are pushed only then;
 *           the metrics count the group and its answers
 *   failed  a group whose commit fails answers 500 to each request,
 *           pushes nothing and leaves nothing applied
 *   batch   per-change results, one commit; malformed batches and bounds
 *           refused with the change named and nothing applied
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
#include "node/api/api_objects.h"
#include "protocol/op.h"

typedef struct fx {
    char tmp[PATH_MAX];
    char home[PATH_MAX];
    uv_loop_t loop;
    ent_node *n;
    int pushed; /* ops handed to the peer layer */
    /* answers released by the API (ent__api_hold) */
    int nrel;
    int status[4];
    char code[4][32];
} fx;

static void on_op(ent_node *n, const uint8_t *raw, size_t len,
                  const uint8_t object[32], void *data) {
    (void)n, (void)raw, (void)len, (void)object;
    ((fx *)data)->pushed++;
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(ent_crypto_init(), ENT_OK);
    nodes_tmpdir(f->tmp, "/tmp", "group-test");
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
    uv_run(&f->loop, UV_RUN_DEFAULT); /* the API's closed handles */
    uv_loop_close(&f->loop);
    rm_tree(f->tmp);
    free(f);
    return 0;
}

static void parse(const char *method, const char *path, const char *body,
                  ent_http_request *req) {
    char text[1 << 16];
    size_t bl = body ? strlen(body) : 0;
    int n = snprintf(text, sizeof(text),
                     "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
                     "\r\n%s",
                     method, path, bl, body ? body : "");
    assert_true(n > 0 && (size_t)n < sizeof(text));
    assert_int_equal(ent_http_parse((const uint8_t *)text, (size_t)n, req),
                     ENT_OK);
}

/* A whole request answered now (ent_api_dispatch commits its group). */
static int call(fx *f, const char *method, const char *path, const char *body,
                json_t **out) {
    ent_http_request req;
    ent_http_response resp = {0};
    parse(method, path, body, &req);
    ent_api_dispatch(f->n, &req, &resp);
    ent_http_request_clear(&req);
    int st = resp.status;
    if (out != NULL) {
        *out = resp.body;
        resp.body = NULL;
    }
    ent_http_response_clear(&resp);
    return st;
}

static uint64_t generation(fx *f) {
    uint64_t g = 0;
    assert_int_equal(ent_store_generation(ent_node_store(f->n), &g), ENT_OK);
    return g;
}

static void create(fx *f, char hex[65]) {
    json_t *j = NULL;
    assert_int_equal(call(f, "POST", "/v1/objects",
                          "{\"type\":\"opportunity\",\"set\":{\"name\":"
                          "\"Deal\"}}",
                          &j),
                     201);
    strcpy(hex, json_string_value(json_object_get(j, "id")));
    json_decref(j);
}

/* The shared field name of object hex as the API shows it ("" none). */
static void field(fx *f, const char *hex, const char *name, char *out,
                  size_t cap) {
    char path[128];
    json_t *j = NULL;
    snprintf(path, sizeof(path), "/v1/objects/%s", hex);
    assert_int_equal(call(f, "GET", path, NULL, &j), 200);
    const json_t *v = json_object_get(json_object_get(j, "shared"), name);
    snprintf(out, cap, "%s", json_is_string(v) ? json_string_value(v) : "");
    json_decref(j);
}

/* ---- the store ---------------------------------------------------------- */

typedef struct kv {
    const char *key, *val;
    bool fail;  /* put, then fail */
    bool found; /* read: the key is there */
} kv;

static int put_fn(ent_txn *txn, void *data) {
    kv *k = data;
    int rc = ent_txn_put(txn, ENT_TBL_CONFIG, k->key, strlen(k->key), k->val,
                         strlen(k->val), 0);
    return rc == ENT_OK && k->fail ? ENT_EINVAL : rc;
}

static int get_fn(ent_txn *txn, void *data) {
    kv *k = data;
    const void *v;
    size_t vl;
    k->found = ent_txn_get(txn, ENT_TBL_CONFIG, k->key, strlen(k->key), &v,
                           &vl) == ENT_OK;
    return ENT_OK;
}

static bool has(ent_store *s, const char *key) {
    kv k = {.key = key};
    assert_int_equal(ent_store_read(s, get_fn, &k), ENT_OK);
    return k.found;
}

static void test_store(void **state) {
    fx *f = *state;
    ent_store *s = ent_node_store(f->n);
    uint64_t g0 = generation(f);
    kv a = {"zz-group-a", "1", false, false},
       b = {"zz-group-b", "2", true, false}, c = {"zz-group-c", "3", false,
                                                   false};
    ent_store_group_enter(s);
    assert_true(ent_store_group_active(s));
    assert_int_equal(ent_store_write(s, put_fn, &a), ENT_OK);
    assert_int_equal(ent_store_write(s, put_fn, &b), ENT_EINVAL);
    assert_int_equal(ent_store_write(s, put_fn, &c), ENT_OK);
    /* the group reads its own writes, not the failed one */
    assert_true(has(s, "zz-group-a"));
    assert_false(has(s, "zz-group-b"));
    assert_true(has(s, "zz-group-c"));
    ent_store_group_leave(s);
    /* outside the group: nothing committed yet */
    assert_false(has(s, "zz-group-a"));
    assert_int_equal(generation(f), g0);
    assert_int_equal(ent_store_group_commit(s), ENT_OK);
    assert_int_equal(generation(f), g0 + 1); /* one commit for both */
    assert_true(has(s, "zz-group-a"));
    assert_false(has(s, "zz-group-b"));
    assert_true(has(s, "zz-group-c"));
    assert_int_equal(ent_store_group_commit(s), ENT_OK); /* nothing left */
    assert_int_equal(generation(f), g0 + 1);
    /* a write outside the group commits the group first */
    kv d = {"zz-group-d", "4", false, false}, e = {"zz-group-e", "5", false,
                                                   false};
    ent_store_group_enter(s);
    assert_int_equal(ent_store_write(s, put_fn, &d), ENT_OK);
    ent_store_group_leave(s);
    assert_int_equal(ent_store_write(s, put_fn, &e), ENT_OK);
    assert_int_equal(generation(f), g0 + 3);
    assert_true(has(s, "zz-group-d"));
    assert_int_equal(ent_store_group_commit(s), ENT_OK);
}

/* ---- held answers ------------------------------------------------------- */

static void on_release(void *c, ent_http_response *resp, bool keep) {
    fx *f = *(fx **)c;
    (void)keep;
    assert_true(f->nrel < 4);
    f->status[f->nrel] = resp->status;
    const char *code = json_string_value(
        json_object_get(json_object_get(resp->body, "error"), "code"));
    snprintf(f->code[f->nrel], sizeof(f->code[0]), "%s", code ? code : "");
    f->nrel++;
}

/* Dispatches the n requests as a transport does within one loop
 * iteration: each is held, none answered. */
static void dispatch_held(fx *f, const char *const *paths,
                          const char *const *bodies, int n, fx **conns) {
    for (int i = 0; i < n; i++) {
        ent_http_request req;
        ent_http_response resp = {0};
        parse("POST", paths[i], bodies[i], &req);
        assert_true(ent__api_dispatch_held(f->n, &req, &resp, NULL, NULL));
        conns[i] = f;
        assert_int_equal(ent__api_hold(ent__node_api(f->n), &conns[i], &resp,
                                       true, on_release),
                         ENT_OK);
        assert_int_equal(resp.status, 0); /* taken */
        ent_http_request_clear(&req);
    }
}

static void test_held(void **state) {
    fx *f = *state;
    char x[65], p1[128], p2[128], v[64];
    fx *conns[3];
    create(f, x);
    snprintf(p1, sizeof(p1), "/v1/objects/%s", x);
    snprintf(p2, sizeof(p2), "/v1/objects/%064d", 7); /* no such object */
    const char *paths[3] = {p1, p2, p1};
    const char *bodies[3] = {"{\"set\":{\"name\":\"One\"}}",
                             "{\"set\":{\"name\":\"Nope\"}}",
                             "{\"set\":{\"next_step\":\"Two\"}}"};
    uint64_t g0 = generation(f);
    f->pushed = 0;
    dispatch_held(f, paths, bodies, 3, conns);
    assert_int_equal(f->nrel, 0);     /* nobody answered yet */
    assert_int_equal(f->pushed, 0);   /* no op sent */
    assert_int_equal(generation(f), g0); /* nothing committed */
    assert_int_equal(uv_run(&f->loop, UV_RUN_NOWAIT) >= 0, 1);
    assert_int_equal(f->nrel, 3);
    assert_int_equal(f->status[0], 200);
    assert_int_equal(f->status[1], 404);
    assert_int_equal(f->status[2], 200);
    assert_int_equal(generation(f), g0 + 1); /* one commit */
    assert_int_equal(f->pushed, 2);
    /* the metrics count one group and its three answers */
    ent_http_request req;
    ent_http_response resp = {0};
    parse("GET", "/metrics", NULL, &req);
    ent_api_dispatch(f->n, &req, &resp);
    ent_http_request_clear(&req);
    assert_int_equal(resp.status, 200);
    assert_non_null(resp.text);
    assert_non_null(strstr(resp.text, "\nentente_api_group_commits_total 1\n"));
    assert_non_null(strstr(resp.text, "\nentente_api_group_answers_total 3\n"));
    ent_http_response_clear(&resp);
    field(f, x, "name", v, sizeof(v));
    assert_string_equal(v, "One");
    field(f, x, "next_step", v, sizeof(v));
    assert_string_equal(v, "Two");
}

static void test_failed(void **state) {
    fx *f = *state;
    char x[65], p1[128], v[64];
    fx *conns[2];
    create(f, x);
    snprintf(p1, sizeof(p1), "/v1/objects/%s", x);
    const char *paths[2] = {p1, p1};
    const char *bodies[2] = {"{\"set\":{\"name\":\"Lost\"}}",
                             "{\"set\":{\"next_step\":\"Lost\"}}"};
    uint64_t g0 = generation(f);
    f->pushed = 0;
    dispatch_held(f, paths, bodies, 2, conns);
    ent_store_fail_after(ent_node_store(f->n), 1); /* the group's commit */
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(f->nrel, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(f->status[i], 500);
        assert_string_equal(f->code[i], "ENT_EIO");
    }
    assert_int_equal(f->pushed, 0);
    assert_int_equal(generation(f), g0);
    field(f, x, "name", v, sizeof(v));
    assert_string_equal(v, "Deal");
    /* the node goes on: the next write works and is pushed */
    assert_int_equal(call(f, "POST", p1, "{\"set\":{\"name\":\"Kept\"}}", NULL),
                     200);
    assert_int_equal(f->pushed, 1);
    field(f, x, "name", v, sizeof(v));
    assert_string_equal(v, "Kept");
}

/* ---- the batch endpoint ------------------------------------------------- */

static size_t count_objects(fx *f) {
    json_t *j = NULL;
    assert_int_equal(call(f, "GET", "/v1/objects", NULL, &j), 200);
    size_t n = json_array_size(j);
    json_decref(j);
    return n;
}

/* A batch refused whole: status, code and field; nothing applied. */
static void refused(fx *f, const char *body, int status, const char *code,
                    const char *fieldname) {
    json_t *j = NULL;
    size_t before = count_objects(f);
    int pushed = f->pushed;
    uint64_t g0 = generation(f);
    assert_int_equal(call(f, "POST", "/v1/objects/batch", body, &j), status);
    const json_t *e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    const char *fl = json_string_value(json_object_get(e, "field"));
    if (fieldname != NULL) {
        assert_non_null(fl);
        assert_string_equal(fl, fieldname);
    }
    json_decref(j);
    assert_int_equal(count_objects(f), before);
    assert_int_equal(f->pushed, pushed);
    assert_int_equal(generation(f), g0);
}

static void test_batch(void **state) {
    fx *f = *state;
    char x[65], body[1024], v[64];
    json_t *j = NULL;
    create(f, x);
    size_t before = count_objects(f);
    uint64_t g0 = generation(f);
    f->pushed = 0;
    snprintf(body, sizeof(body),
             "{\"changes\":["
             "{\"op\":\"create\",\"type\":\"opportunity\",\"set\":{\"name\":"
             "\"B1\"}},"
             "{\"op\":\"set\",\"id\":\"%064d\",\"set\":{\"name\":\"No\"}},"
             "{\"op\":\"set\",\"id\":\"%s\",\"set\":{\"name\":\"B2\"}},"
             "{\"op\":\"stage\",\"id\":\"%s\",\"stage\":\"NoSuchStage\"},"
             "{\"op\":\"comment\",\"id\":\"%s\",\"text\":\"hello\"}]}",
             7, x, x, x);
    assert_int_equal(call(f, "POST", "/v1/objects/batch", body, &j), 200);
    const json_t *r = json_object_get(j, "results");
    assert_int_equal(json_array_size(r), 5);
    static const int want[5] = {201, 404, 200, 400, 200};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(json_integer_value(json_object_get(
                             json_array_get(r, i), "status")),
                         want[i]);
    assert_non_null(json_object_get(json_array_get(r, 1), "error"));
    assert_int_equal(json_integer_value(json_object_get(j, "applied")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "failed")), 2);
    json_decref(j);
    assert_int_equal(generation(f), g0 + 1); /* one durable commit */
    assert_int_equal(f->pushed, 3);
    assert_int_equal(count_objects(f), before + 1);
    field(f, x, "name", v, sizeof(v));
    assert_string_equal(v, "B2");

    /* malformed: the change and key named, nothing applied */
    refused(f,
            "{\"changes\":[{\"op\":\"create\",\"type\":\"opportunity\"},"
            "{\"op\":\"bogus\"}]}",
            400, "ENT_EINVAL", "changes[1].op");
    refused(f,
            "{\"changes\":[{\"op\":\"create\",\"type\":\"opportunity\"},"
            "{\"op\":\"set\",\"id\":\"xyz\",\"set\":{\"a\":\"b\"}}]}",
            400, "ENT_EINVAL", "changes[1].id");
    refused(f,
            "{\"changes\":[{\"op\":\"create\",\"type\":\"opportunity\","
            "\"set\":{\"name\":3}}]}",
            400, "ENT_EINVAL", "changes[0].set");
    refused(f,
            "{\"changes\":[{\"op\":\"create\",\"type\":\"opportunity\","
            "\"id\":\"x\"}]}",
            400, "ENT_EINVAL", "changes[0]");
    refused(f, "{\"changes\":[]}", 400, "ENT_EINVAL", "changes");
    refused(f, "{\"changes\":{}}", 400, "ENT_EINVAL", "changes");
    refused(f, "{\"changes\":[{\"op\":\"create\"}],\"x\":1}", 400,
            "ENT_EINVAL", "changes");
    refused(f, "[1]", 400, "ENT_EPROTO", NULL);
    /* bounds: one change too many */
    size_t cap = (ENT_API_BATCH_MAX + 1) * 48 + 64, off = 0;
    char *big = malloc(cap);
    assert_non_null(big);
    off += (size_t)snprintf(big + off, cap - off, "{\"changes\":[");
    for (int i = 0; i <= ENT_API_BATCH_MAX; i++)
        off += (size_t)snprintf(big + off, cap - off,
                                "%s{\"op\":\"create\",\"type\":\"task\"}",
                                i ? "," : "");
    snprintf(big + off, cap - off, "]}");
    refused(f, big, 400, "ENT_ELIMIT", "changes");
    free(big);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
